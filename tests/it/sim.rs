//! The simulator over HTTP, driven with plain reqwest (not billfleet's client): the seed
//! example calls, the answer shapes, sessions, money, lifecycle, faults and persistence.

use std::time::Duration;

use billfleet::sim::{self, Faults, NewService, SimConfig, SimDialect, SimHandle};
use serde_json::Value;

async fn start(config: SimConfig) -> SimHandle {
    sim::start(config).await.unwrap()
}

async fn start_default() -> SimHandle {
    start(SimConfig::default()).await
}

/// POSTs a form with `out=json` and `authinfo=demo:demo`, returns the parsed answer.
async fn call(h: &SimHandle, params: &[(&str, &str)]) -> Value {
    let mut form: Vec<(&str, &str)> = vec![("out", "json"), ("authinfo", "demo:demo")];
    form.extend_from_slice(params);
    post(h, &form).await
}

async fn post(h: &SimHandle, form: &[(&str, &str)]) -> Value {
    let text = reqwest::Client::new()
        .post(&h.url)
        .form(form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// GETs a seed-style URL (query string after the base URL).
async fn get(h: &SimHandle, query: &str) -> (u16, String) {
    let resp = reqwest::get(format!("{}?{query}", h.url)).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn error_type(v: &Value) -> Option<&str> {
    v["doc"]["error"]["$type"].as_str()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v["doc"][key]["$"].as_str().unwrap_or("")
}

fn order_vds(domain: &str) -> Vec<(&str, &str)> {
    vec![
        ("func", "vds.order.param"),
        ("pricelist", "6"),
        ("period", "1"),
        ("datacenter", "1"),
        ("skipbasket", "on"),
        ("domain", domain),
        ("sok", "ok"),
    ]
}

#[tokio::test]
async fn bm5_seed_calls_order_vhost_vds_and_dedic() {
    let h = start_default().await;
    let vhost = "authinfo=demo:demo&func=vhost.order.param&autoprolong=1&datacenter=1&domain=domain.name&period=1&pricelist=2&skipbasket=on&addon_5=10&sok=ok&out=json";
    let (status, body) = get(&h, vhost).await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["doc"]["ok"].is_object(), "{body}");
    assert!(text(&v, "billorder.id").parse::<u64>().is_ok());
    // The seed's stray space before `ostempl` and the encoded template name both work.
    let vds = "authinfo=demo:demo&func=vds.order.param&addon_10=6&addon_11=256&addon_12=500&addon_13=1&addon_14=28&addon_15=0&addon_28=1&addon_7=5000&addon_9=5&autoprolong=1&%20ostempl=ISPsystem%5F%5FCentOS%2D7%2Damd64&period=1&pricelist=6&skipbasket=on&domain=vds.test&sok=ok&out=json";
    let (_, body) = get(&h, vds).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    let vds_id = text(&v, "id").to_owned();
    let dedic = "authinfo=demo:demo&func=dedic.order.param&period=1&pricelist=32&datacenter=1&domain=dedic.name&addon_33=1&addon_35=1&sok=ok&out=json";
    let (_, body) = get(&h, dedic).await;
    assert!(
        error_type(&serde_json::from_str(&body).unwrap()).is_none(),
        "{body}"
    );

    let services = h.sim.services();
    assert_eq!(services.len(), 3);
    let vds = services.iter().find(|s| s.id == vds_id).unwrap();
    assert_eq!(vds.domain, "vds.test");
    assert_eq!(vds.addons.get(&10), Some(&6));
    assert_eq!(vds.status, 5);
    // vhost 2.50 + 5 sites above default × 0.20; vds 5.00 + 5 cores × 2.00 + 480 GB × 0.05
    // + panel 3.00. The dedic went to the basket: status 1, not charged.
    assert_eq!(vds.cost_cents, 500 + 1000 + 2400 + 300);
    let dedic = services.iter().find(|s| s.domain == "dedic.name").unwrap();
    assert_eq!(dedic.status, 1);
    assert_eq!(h.sim.balance_cents(), 1_000_000 - 350 - 4200);
}

#[tokio::test]
async fn without_out_the_answer_is_an_html_page() {
    let h = start_default().await;
    let (status, body) = get(&h, "authinfo=demo:demo&func=whoami").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("<!DOCTYPE html>"), "{body}");
    assert!(serde_json::from_str::<Value>(&body).is_err());
}

#[tokio::test]
async fn bm6_v2_order_answers_item_id_and_the_dragon_cart_needs_the_agreement() {
    let h = start_default().await;
    let base = [
        ("func", "v2.vhost.order.param"),
        ("pricelist", "2"),
        ("order_period", "3"),
        ("datacenter", "2"),
        ("skipbasket", "on"),
        ("remoteid", "web-1"),
        ("sok", "ok"),
    ];
    let mut dragon = base.to_vec();
    dragon.push(("theme", "dragon"));
    let v = call(&h, &dragon).await;
    assert_eq!(error_type(&v), Some("value"));
    assert_eq!(v["doc"]["error"]["$object"], "licence_agreement");
    assert!(h.sim.services().is_empty());
    // The documented API call orders without it.
    let v = call(&h, &base).await;
    let id = text(&v, "item.id");
    let s = &h.sim.services()[0];
    assert_eq!(s.id, id);
    assert_eq!(s.period, 3);
    assert_eq!(s.datacenter, Some(2));
    assert_eq!(s.remoteid.as_deref(), Some("web-1"));
    assert_eq!(h.sim.balance_cents(), 1_000_000 - 250 * 3);
}

#[tokio::test]
async fn a_bm5_sim_answers_v2_functions_too_and_lists_its_own_tariffs() {
    let h = start(SimConfig {
        dialect: SimDialect::Bm5,
        ..SimConfig::default()
    })
    .await;
    let v = call(&h, &[("func", "v2.vds.order.pricelist")]).await;
    assert_eq!(error_type(&v), None, "{v}");
    let v = call(&h, &[("func", "vds.order")]).await;
    let keys: Vec<&str> = v["doc"]["slist"]["val"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["$key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["6", "8"]);
}

#[tokio::test]
async fn bm4_order_7_answers_fr_master_and_legacy_errors() {
    let h = start(SimConfig {
        dialect: SimDialect::Bm4,
        ..SimConfig::default()
    })
    .await;
    let seed = "authinfo=demo:demo&addon_1101=20&addon_1103=1&addon_1104=1&addon_1110=1&addon_1791=4&enum_1112=21&enum_1106=25&agree=on&domain=test-for.habr&ostempl=%20Centos-6.7-x86_64-minimal&period=1210&price=1100&autoprolong=1210&payfrom=neworder&func=vds.order.7&sok=ok";
    let (status, body) = get(&h, seed).await;
    assert_eq!(status, 200);
    assert_eq!(
        body.trim(),
        "<script language='JavaScript'>fr_master('startpage=vds', 'top.');</script>"
    );
    let s = &h.sim.services()[0];
    assert_eq!(
        (s.domain.as_str(), s.pricelist, s.period),
        ("test-for.habr", 1100, 1)
    );
    assert_eq!(s.autoprolong, Some(1));
    assert_eq!(h.sim.balance_cents(), 1_000_000 - 350);
    // The same domain again: legacy code 2 (exists) naming the domain.
    let (_, body) = get(&h, seed).await;
    assert!(
        body.contains("<error code=\"2\" obj=\"domain\" val=\"test-for.habr\"/>"),
        "{body}"
    );
    let v = call(
        &h,
        &[
            ("func", "vds.order.7"),
            ("price", "1100"),
            ("period", "1"),
            ("agree", "on"),
            ("sok", "ok"),
        ],
    )
    .await;
    assert_eq!(v["doc"]["error"]["$code"], "4");
    assert_eq!(v["doc"]["error"]["$obj"], "period");
}

#[tokio::test]
async fn license_order_from_the_seed_answers_doc_id_in_xml() {
    let h = start_default().await;
    let (_, body) = get(&h, "authinfo=demo:demo&out=xml&func=platform.order.param&clicked_button=finish&period=1&pricelist=55163&addon_55165=1&autoprolong=1&sok=ok&skipbasket=on").await;
    let s = &h.sim.services()[0];
    assert!(
        body.contains(&format!("<doc><id>{}</id></doc>", s.id)),
        "{body}"
    );
    assert_eq!(s.item_type, "platform");
    let (_, body) = get(&h, "authinfo=demo:demo&out=xml&func=platform.order.param&period=-100&pricelist=55161&sok=ok&skipbasket=on").await;
    assert!(body.contains("<id>"), "{body}");
    assert_eq!(h.sim.balance_cents(), 1_000_000 - 1500);
}

#[tokio::test]
async fn lists_one_row_is_an_object_several_a_list_and_xml_uses_elem() {
    let h = start_default().await;
    call(&h, &order_vds("a.example.com")).await;
    let v = call(&h, &[("func", "vds")]).await;
    assert_eq!(v["doc"]["elem"]["domain"]["$"], "a.example.com");
    assert_eq!(v["doc"]["elem"]["item_status"]["$orig"], "5_open");
    assert_eq!(v["doc"]["elem"]["pricelist_id"]["$"], "6");
    assert_eq!(text(&v, "p_elems"), "1");
    call(&h, &order_vds("b.example.com")).await;
    let v = call(&h, &[("func", "vds")]).await;
    assert_eq!(v["doc"]["elem"][1]["domain"]["$"], "b.example.com");
    let v = call(&h, &[("func", "vds"), ("out", "sjson")]).await;
    assert_eq!(v["doc"]["p_elems"][0]["$"], "2");
    let (_, xml) = get(&h, "authinfo=demo:demo&func=vds&out=xml").await;
    assert_eq!(xml.matches("<elem>").count(), 2, "{xml}");
    assert!(xml.contains("<domain>a.example.com</domain>"));
}

#[tokio::test]
async fn sessions_login_expire_and_lock_out() {
    let h = start(SimConfig {
        faults: Faults {
            session_expiry_requests: Some(2),
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let v = post(
        &h,
        &[
            ("func", "auth"),
            ("username", "demo"),
            ("password", "demo"),
            ("out", "json"),
        ],
    )
    .await;
    let sid = v["doc"]["auth"]["$id"].as_str().unwrap().to_owned();
    assert_eq!(v["doc"]["auth"]["$"], sid.as_str());
    assert_eq!(v["doc"]["auth"]["$level"], "16");
    let whoami = [("func", "whoami"), ("auth", sid.as_str()), ("out", "json")];
    let v = post(&h, &whoami).await;
    assert_eq!(v["doc"]["user"]["$balance"], "10 000.00");
    assert_eq!(v["doc"]["user"]["$currency"], "EUR");
    assert!(error_type(&post(&h, &whoami).await).is_none());
    assert_eq!(error_type(&post(&h, &whoami).await), Some("access"));
    let v = post(
        &h,
        &[
            ("func", "whoami"),
            ("auth", "nosuchsession"),
            ("out", "json"),
        ],
    )
    .await;
    assert_eq!(error_type(&v), Some("access"));

    let bad = [
        ("func", "auth"),
        ("username", "demo"),
        ("password", "wrong"),
        ("out", "json"),
    ];
    for _ in 0..5 {
        let v = post(&h, &bad).await;
        assert_eq!(v["doc"]["error"]["$object"], "badpassword");
    }
    let good = [
        ("func", "auth"),
        ("username", "demo"),
        ("password", "demo"),
        ("out", "json"),
    ];
    let v = post(&h, &good).await;
    assert_eq!(error_type(&v), Some("auth"));
    assert_eq!(v["doc"]["error"]["$object"], "blocklogon");
    // Passwords and session ids never reach the request log.
    let logged = h.sim.requests();
    assert!(logged.len() >= 10);
    for (k, v) in logged.iter().flat_map(|r| r.params.iter()) {
        if matches!(k.as_str(), "password" | "auth") {
            assert_eq!(v, "***");
        }
        assert_ne!(v, &sid);
    }
}

#[tokio::test]
async fn taken_domain_is_refused_with_exists_and_the_value() {
    let h = start_default().await;
    h.sim.take_domain("Taken.example.com");
    let v = call(&h, &order_vds("taken.example.com")).await;
    assert_eq!(error_type(&v), Some("exists"));
    assert_eq!(v["doc"]["error"]["$object"], "domain");
    assert_eq!(v["doc"]["error"]["param"][1]["$name"], "value");
    assert_eq!(v["doc"]["error"]["param"][1]["$"], "taken.example.com");
    assert!(h.sim.services().is_empty());
    assert_eq!(h.sim.balance_cents(), 1_000_000);
    // A live service of another account holds its domain too.
    h.sim.add_account("other", "pw", 0);
    h.sim.add_service(NewService {
        account: Some("other".into()),
        domain: "theirs.example.com".into(),
        ..NewService::default()
    });
    let v = call(&h, &order_vds("theirs.example.com")).await;
    assert_eq!(error_type(&v), Some("exists"));
    // Another item type may use the same name (a vhost beside a vds).
    let v = call(
        &h,
        &[
            ("func", "vhost.order.param"),
            ("pricelist", "2"),
            ("period", "1"),
            ("domain", "theirs.example.com"),
            ("sok", "ok"),
        ],
    )
    .await;
    assert!(error_type(&v).is_none(), "{v}");
    // Their service does not show in our list.
    let v = call(&h, &[("func", "vds")]).await;
    assert_eq!(text(&v, "p_elems"), "0");
}

#[tokio::test]
async fn insufficient_funds_is_the_documented_not_enough_money_error() {
    let h = start(SimConfig {
        balance_cents: 100,
        ..SimConfig::default()
    })
    .await;
    let v = call(&h, &order_vds("poor.example.com")).await;
    assert_eq!(error_type(&v), Some("not_enough_money"));
    assert_eq!(v["doc"]["error"]["$code"], "1");
    let params = v["doc"]["error"]["param"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<_> = params.iter().filter_map(|p| p["$name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "amount",
            "have",
            "currency",
            "deficit",
            "limit",
            "reserved",
            "available"
        ]
    );
    assert!(h.sim.services().is_empty());
}

#[tokio::test]
async fn paid_service_becomes_active_with_an_ip_after_activation() {
    let h = start(SimConfig {
        activation: Duration::from_millis(150),
        ..SimConfig::default()
    })
    .await;
    call(&h, &order_vds("one.example.com")).await;
    call(&h, &order_vds("two.example.com")).await;
    let v = call(&h, &[("func", "vds")]).await;
    assert_eq!(v["doc"]["elem"][0]["status"]["$"], "5");
    assert!(v["doc"]["elem"][0].get("ip").is_none());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let v = call(&h, &[("func", "vds")]).await;
    assert_eq!(v["doc"]["elem"][0]["status"]["$"], "2");
    assert_eq!(v["doc"]["elem"][0]["ip"]["$"], "203.0.113.1");
    assert_eq!(v["doc"]["elem"][1]["ip"]["$"], "203.0.113.2");
}

#[tokio::test]
async fn prolong_previews_then_moves_the_expiry_by_months_and_charges() {
    let h = start_default().await;
    let id = h.sim.add_service(NewService {
        domain: "p.example.com".into(),
        ..NewService::default()
    });
    let before = h.sim.services()[0].expiredate.clone();
    let preview = [
        ("func", "service.prolong"),
        ("elid", id.as_str()),
        ("period", "3"),
    ];
    let v = call(&h, &preview).await;
    assert_eq!(text(&v, "expiredate"), before);
    assert_eq!(text(&v, "cost"), "15.00");
    let expected = text(&v, "newexpiredate").to_owned();
    assert_eq!(h.sim.services()[0].expiredate, before);
    let mut doit = preview.to_vec();
    doit.extend([("sok", "ok"), ("skipbasket", "on")]);
    let v = call(&h, &doit).await;
    assert_eq!(v["doc"]["doc"]["newexpiredate"]["$"], expected.as_str());
    assert_eq!(h.sim.services()[0].expiredate, expected);
    let b = chrono::NaiveDate::parse_from_str(&before, "%Y-%m-%d").unwrap();
    let e = chrono::NaiveDate::parse_from_str(&expected, "%Y-%m-%d").unwrap();
    assert_eq!(b.checked_add_months(chrono::Months::new(3)), Some(e));
    assert_eq!(h.sim.balance_cents(), 1_000_000 - 1500);
    let v = call(
        &h,
        &[
            ("func", "service.prolong"),
            ("elid", "999999"),
            ("sok", "ok"),
        ],
    )
    .await;
    assert_eq!(error_type(&v), Some("missed"));
}

#[tokio::test]
async fn suspend_resume_delete_and_edit() {
    let h = start_default().await;
    let a = h.sim.add_service(NewService {
        domain: "a.example.com".into(),
        ..NewService::default()
    });
    let b = h.sim.add_service(NewService {
        domain: "b.example.com".into(),
        ..NewService::default()
    });
    let busy = h.sim.add_service(NewService {
        domain: "c.example.com".into(),
        status: 5,
        ..NewService::default()
    });
    let both = format!("{a}, {b}");
    let status =
        |h: &SimHandle, id: &str| h.sim.services().iter().find(|s| s.id == id).unwrap().status;
    assert!(error_type(&call(&h, &[("func", "vds.suspend"), ("elid", &both)]).await).is_none());
    assert_eq!((status(&h, &a), status(&h, &b)), (3, 3));
    call(&h, &[("func", "vds.resume"), ("elid", &both)]).await;
    assert_eq!((status(&h, &a), status(&h, &b)), (2, 2));
    // A busy (5) service refuses suspend and edit; an unknown id fails the whole call.
    let v = call(&h, &[("func", "vds.suspend"), ("elid", &busy)]).await;
    assert_eq!(error_type(&v), Some("runningoperation"));
    let v = call(
        &h,
        &[
            ("func", "vds.edit"),
            ("elid", &busy),
            ("addon_11", "2048"),
            ("sok", "ok"),
        ],
    )
    .await;
    assert_eq!(error_type(&v), Some("runningoperation"));
    let v = call(
        &h,
        &[("func", "vds.delete"), ("elid", &format!("{a}, 424242"))],
    )
    .await;
    assert_eq!(error_type(&v), Some("missed"));
    assert_eq!(status(&h, &a), 2);
    // Edit: addons validated, autoprolong null = off, admin-only ip ignored.
    let v = call(
        &h,
        &[
            ("func", "vds.edit"),
            ("elid", &a),
            ("addon_11", "100"),
            ("sok", "ok"),
        ],
    )
    .await;
    assert_eq!(v["doc"]["error"]["$object"], "addon_11");
    let v = call(
        &h,
        &[
            ("func", "vds.edit"),
            ("elid", &a),
            ("addon_11", "2048"),
            ("autoprolong", "3"),
            ("ip", "8.8.8.8"),
            ("sok", "ok"),
        ],
    )
    .await;
    assert!(error_type(&v).is_none(), "{v}");
    let s = h.sim.services().into_iter().find(|s| s.id == a).unwrap();
    assert_eq!((s.addons.get(&11), s.autoprolong), (Some(&2048), Some(3)));
    assert_ne!(s.ip.as_deref(), Some("8.8.8.8"));
    let v = call(&h, &[("func", "vds.edit"), ("elid", &a)]).await;
    assert_eq!(text(&v, "addon_11"), "2048");
    call(
        &h,
        &[
            ("func", "vds.edit"),
            ("elid", &a),
            ("autoprolong", "null"),
            ("sok", "ok"),
        ],
    )
    .await;
    assert_eq!(
        h.sim
            .services()
            .into_iter()
            .find(|s| s.id == a)
            .unwrap()
            .autoprolong,
        None
    );
    call(
        &h,
        &[("func", "vds.delete"), ("elid", &both), ("sok", "ok")],
    )
    .await;
    assert_eq!((status(&h, &a), status(&h, &b)), (4, 4));
    let v = call(&h, &[("func", "vds.delete"), ("elid", &a)]).await;
    assert_eq!(error_type(&v), Some("missed"));
}

#[tokio::test]
async fn delete_inside_the_minimum_order_period_is_refused() {
    let h = start_default().await;
    let id = h.sim.add_service(NewService {
        pricelist: 8,
        domain: "promo.example.com".into(),
        ..NewService::default()
    });
    let v = call(&h, &[("func", "vds.delete"), ("elid", &id)]).await;
    assert_eq!(error_type(&v), Some("pricelist_min_order"));
    assert_eq!(v["doc"]["error"]["$object"], id.as_str());
    assert_eq!(h.sim.services()[0].status, 2);
}

#[tokio::test]
async fn paging_and_sticky_filters() {
    let h = start_default().await;
    for i in 1..=5 {
        let status = if i % 2 == 0 { 3 } else { 2 };
        h.sim.add_service(NewService {
            domain: format!("s{i}.example.com"),
            status,
            ..NewService::default()
        });
    }
    let v = call(&h, &[("func", "vds"), ("p_cnt", "2"), ("p_num", "3")]).await;
    assert_eq!(text(&v, "p_elems"), "5");
    assert_eq!(v["doc"]["elem"]["domain"]["$"], "s5.example.com");
    let v = call(&h, &[("func", "vds"), ("p_cnt", "2"), ("p_num", "2")]).await;
    assert_eq!(v["doc"]["elem"][0]["domain"]["$"], "s3.example.com");

    call(
        &h,
        &[("func", "vds.filter"), ("status", "3"), ("sok", "ok")],
    )
    .await;
    let v = call(&h, &[("func", "vds")]).await;
    assert_eq!(text(&v, "p_elems"), "2");
    let v = call(&h, &[("func", "vds.filter")]).await;
    assert_eq!(text(&v, "status"), "3");
    call(
        &h,
        &[
            ("func", "vds.filter"),
            ("status", ""),
            ("domain", ""),
            ("sok", "ok"),
        ],
    )
    .await;
    let v = call(&h, &[("func", "vds")]).await;
    assert_eq!(text(&v, "p_elems"), "5");
    // An inline filter (`filter=on&status=2`) applies to that call only.
    let v = call(&h, &[("func", "vds"), ("filter", "on"), ("status", "2")]).await;
    assert_eq!(text(&v, "p_elems"), "3");
    let v = call(&h, &[("func", "vds"), ("status", "2")]).await;
    assert_eq!(text(&v, "p_elems"), "5");
}

#[tokio::test]
async fn order_form_and_pricelist_show_prices() {
    let h = start_default().await;
    let v = call(
        &h,
        &[
            ("func", "v2.vds.order.param"),
            ("pricelist", "6"),
            ("order_period", "3"),
            ("addon_10", "2"),
        ],
    )
    .await;
    let summary = &v["doc"]["list"];
    assert_eq!(summary["$name"], "pricelist_summary");
    assert_eq!(summary["elem"]["cost"]["price"]["cost"]["$"], "21.00");
    assert!(text(&v, "orderinfo").ends_with("Total amount: 21.00 EUR"));
    assert_eq!(text(&v, "addon_10"), "2");
    let fields = v["doc"]["metadata"]["form"]["field"].as_array().unwrap();
    let ram = fields.iter().find(|f| f["$name"] == "addon_11").unwrap();
    assert_eq!(
        (
            ram["$min"].as_str(),
            ram["$max"].as_str(),
            ram["$step"].as_str()
        ),
        (Some("256"), Some("65536"), Some("256"))
    );
    assert!(h.sim.services().is_empty());

    let v = call(&h, &[("func", "v2.vds.order.pricelist")]).await;
    let rows = v["doc"]["list"]["elem"].as_array().unwrap();
    assert_eq!(rows[0]["id"]["$"], "6");
    let yearly = rows[0]["prices"]["price"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["period"]["$"] == "12")
        .unwrap();
    assert_eq!(yearly["cost"]["$"], "60.00");
    assert_eq!(v["doc"]["slist"]["$name"], "datacenter");
}

#[tokio::test]
async fn fail_before_answers_503_and_does_nothing() {
    let h = start(SimConfig {
        faults: Faults {
            fail_before: 1.0,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let resp = reqwest::Client::new()
        .post(&h.url)
        .form(&order_vds("x.example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    assert!(h.sim.services().is_empty());
    assert_eq!(h.sim.requests()[0].outcome, "fault:503");
}

#[tokio::test]
async fn drop_after_does_the_work_but_the_client_sees_an_error() {
    let h = start(SimConfig {
        faults: Faults {
            drop_after: 1.0,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let mut form = order_vds("dropped.example.com");
    form.extend([("out", "json"), ("authinfo", "demo:demo")]);
    let result = async {
        let resp = reqwest::Client::new()
            .post(&h.url)
            .form(&form)
            .send()
            .await?;
        resp.text().await
    }
    .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(h.sim.services()[0].domain, "dropped.example.com");
    assert_eq!(h.sim.requests()[0].outcome, "fault:dropped");
    // Reads are never dropped.
    assert!(error_type(&call(&h, &[("func", "whoami")]).await).is_none());
}

#[tokio::test]
async fn throttle_answers_429_with_retry_after() {
    let h = start(SimConfig {
        faults: Faults {
            throttle_rps: Some(2),
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    // Send until refused: how many requests fit in one second depends on the machine, and a
    // window may end between any two of them, so no fixed count is certain to see a 429.
    // Three requests within one second are; a bounded loop keeps a broken limit from hanging.
    while retry_after.is_none() && statuses.len() < 500 {
        let resp = client
            .post(&h.url)
            .form(&[
                ("func", "whoami"),
                ("out", "json"),
                ("authinfo", "demo:demo"),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
        if resp.status().as_u16() == 429 {
            retry_after = Some(
                resp.headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned()),
            );
        }
    }
    // The first two always pass: they are the first two of a window, or each the first of one.
    assert_eq!(&statuses[..2], &[200, 200]);
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert_eq!(retry_after, Some(Some("1".to_owned())));
    let log = h.sim.requests();
    assert_eq!(log.len(), statuses.len());
    let refused = log.last().unwrap();
    assert_eq!(
        (refused.status, refused.outcome.as_str()),
        (429, "fault:429")
    );
}

#[tokio::test]
async fn state_survives_a_restart_through_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("sandbox.json");
    let config = SimConfig {
        state_file: Some(path.clone()),
        ..SimConfig::default()
    };
    let h = start(config.clone()).await;
    call(&h, &order_vds("kept.example.com")).await;
    h.sim.take_domain("others.example.com");
    let balance = h.sim.balance_cents();
    let services = h.sim.services();
    h.stop().await.unwrap();
    assert!(path.exists());

    let h = start(config).await;
    assert_eq!(h.sim.balance_cents(), balance);
    assert_eq!(h.sim.services(), services);
    let v = call(&h, &order_vds("others.example.com")).await;
    assert_eq!(error_type(&v), Some("exists"));
    let v = call(&h, &order_vds("next.example.com")).await;
    let new_id: u64 = text(&v, "id").parse().unwrap();
    assert!(new_id > services[0].id.parse::<u64>().unwrap());
}
