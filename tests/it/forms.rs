//! Every generation's documented calls in one simulator and the funds error shape, driven
//! over HTTP with plain requests; then each publicly seen order-form shape (old and v2 forms,
//! `total_summary`, `pricelist_summary`, `orderinfo`, list-type addons, `off` values,
//! `item.id`) produced by the simulator and read back by billfleet's client, in JSON and XML,
//! and through the binary (`validate --online`, `plan`).

use std::sync::Arc;
use std::time::Duration;

use billfleet::api::{BillingClient, ClientOptions, EditForm};
use billfleet::manifest::{Dialect, Format, LoginMode};
use billfleet::money::Money;
use billfleet::pace::Pacer;
use billfleet::secret::Secret;
use billfleet::sim::{
    Faults, FormShapes, NewService, PriceShape, SimConfig, SimDialect, SimHandle,
};
use serde_json::Value;

use crate::harness::{self, Billfleet};

/// GETs a seed-style URL (query string after the base URL).
async fn get(h: &SimHandle, query: &str) -> String {
    reqwest::get(format!("{}?{query}", h.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn post_json(h: &SimHandle, params: &[(&str, &str)]) -> Value {
    let mut form = vec![("out", "json"), ("authinfo", "demo:demo")];
    form.extend_from_slice(params);
    let text = reqwest::Client::new()
        .post(&h.url)
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Seed 002's BILLmanager 4 order (the tariff table's KVM Ferrum, period id 1210).
const SEED_002: &str = "authinfo=demo:demo&addon_1101=20&addon_1103=1&addon_1104=1&addon_1110=1&addon_1791=4&enum_1112=21&enum_1106=25&agree=on&domain=gen4.example.com&ostempl=%20Centos-6.7-x86_64-minimal&period=1210&price=1100&autoprolong=1210&payfrom=neworder&func=vds.order.7&sok=ok";

#[tokio::test]
async fn one_sandbox_answers_bm4_bm5_bm6_and_license_orders_whatever_its_dialect() {
    for dialect in [SimDialect::Bm4, SimDialect::Bm5, SimDialect::Bm6] {
        let h = harness::sim(SimConfig {
            dialect,
            ..SimConfig::default()
        })
        .await;
        let page = get(&h, SEED_002).await;
        assert!(
            page.contains("fr_master('startpage=vds', 'top.')"),
            "{dialect:?}: {page}"
        );
        let bm5 = post_json(
            &h,
            &[
                ("func", "vds.order.param"),
                ("pricelist", "6"),
                ("period", "1"),
                ("domain", "gen5.example.com"),
                ("skipbasket", "on"),
                ("sok", "ok"),
            ],
        )
        .await;
        assert!(bm5["doc"]["id"]["$"].is_string(), "{dialect:?}: {bm5}");
        let bm6 = post_json(
            &h,
            &[
                ("func", "v2.vds.order.param"),
                ("pricelist", "6"),
                ("order_period", "1"),
                ("remoteid", "web-1"),
                ("domain", "gen6.example.com"),
                ("skipbasket", "on"),
                ("sok", "ok"),
            ],
        )
        .await;
        assert!(bm6["doc"]["item.id"]["$"].is_string(), "{dialect:?}: {bm6}");
        let license = post_json(
            &h,
            &[
                ("func", "soft.order.param"),
                ("pricelist", "3001"),
                ("period", "-100"),
                ("clicked_button", "finish"),
                ("skipbasket", "on"),
                ("sok", "ok"),
            ],
        )
        .await;
        assert!(
            license["doc"]["id"]["$"].is_string(),
            "{dialect:?}: {license}"
        );
        let services = h.sim.services();
        assert_eq!(services.len(), 4, "{dialect:?}");
        assert!(
            services
                .iter()
                .any(|s| s.pricelist == 1100 && s.period == 1)
        );
        assert!(
            services
                .iter()
                .any(|s| s.remoteid.as_deref() == Some("web-1"))
        );
    }
}

#[tokio::test]
async fn bm4_calls_keep_legacy_errors_in_a_bm6_sandbox() {
    let h = harness::sim(SimConfig::default()).await;
    get(&h, SEED_002).await;
    let again = get(&h, SEED_002).await;
    assert!(
        again.contains("<error code=\"2\" obj=\"domain\" val=\"gen4.example.com\"/>"),
        "{again}"
    );
}

#[tokio::test]
async fn not_enough_money_has_the_documented_shape_in_json_and_xml() {
    let h = harness::sim(SimConfig {
        balance_cents: 100,
        ..SimConfig::default()
    })
    .await;
    let order = [
        ("func", "vds.order.param"),
        ("pricelist", "6"),
        ("period", "12"),
        ("skipbasket", "on"),
        ("sok", "ok"),
    ];
    let v = post_json(&h, &order).await;
    let error = &v["doc"]["error"];
    assert_eq!(error["$type"], "not_enough_money", "{v}");
    assert_eq!(error["$code"], "1");
    let params: Vec<(&str, &str)> = error["param"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["$name"].as_str().unwrap(), p["$"].as_str().unwrap()))
        .collect();
    let names: Vec<&str> = params.iter().map(|(n, _)| *n).collect();
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
    assert!(params.contains(&("amount", "60.00")));
    assert!(params.contains(&("have", "1.00")));
    assert!(params.contains(&("deficit", "59.00")));
    let mut form = vec![("out", "xml"), ("authinfo", "demo:demo")];
    form.extend_from_slice(&order);
    let xml = reqwest::Client::new()
        .post(&h.url)
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        xml.contains("<error type=\"not_enough_money\" code=\"1\" lang=\"en\">"),
        "{xml}"
    );
    assert!(
        xml.contains("<param name=\"deficit\">59.00</param>"),
        "{xml}"
    );
    assert!(h.sim.services().is_empty());
}

fn shaped(shapes: FormShapes) -> SimConfig {
    SimConfig {
        faults: Faults {
            shapes,
            ..Faults::default()
        },
        activation: Duration::from_millis(100),
        ..SimConfig::default()
    }
}

fn client(h: &SimHandle, format: Format) -> BillingClient {
    BillingClient::new(ClientOptions {
        base_url: h.url.clone(),
        dialect: Dialect::Bm6,
        format,
        login: LoginMode::Session,
        user: "demo".into(),
        password: Secret::new("demo"),
        timeout: Duration::from_secs(20),
        insecure_tls: false,
        pacer: Arc::new(Pacer::unlimited()),
    })
    .unwrap()
}

/// Every combination of the form shapes the simulator can produce.
fn all_shapes() -> Vec<FormShapes> {
    let mut all = Vec::new();
    for v2_form in [false, true] {
        for price in [
            PriceShape::PricelistSummary,
            PriceShape::TotalSummary,
            PriceShape::Orderinfo,
        ] {
            for words in [false, true] {
                all.push(FormShapes {
                    v2_form,
                    price,
                    slist_addons: words,
                    off_values: words,
                });
            }
        }
    }
    all
}

#[tokio::test]
async fn every_form_shape_round_trips_in_json_and_xml() {
    for shapes in all_shapes() {
        let h = harness::sim(shaped(shapes)).await;
        for format in [Format::Json, Format::Xml] {
            let case = format!("{shapes:?} {format:?}");
            let c = client(&h, format);
            let form = c.order_form("vds", "6").await.unwrap();
            let ids: Vec<&str> = form.addons.iter().map(|a| a.id.as_str()).collect();
            assert_eq!(
                ids,
                ["7", "9", "10", "11", "12", "13", "14", "15", "28"],
                "{case}"
            );
            let ram = form.addons.iter().find(|a| a.id == "11").unwrap();
            assert_eq!(ram.name.as_deref(), Some("RAM"), "{case}");
            assert_eq!(
                (ram.min.as_deref(), ram.max.as_deref(), ram.step.as_deref()),
                (Some("256"), Some("65536"), Some("256")),
                "{case}"
            );
            assert_eq!(ram.default.as_deref(), Some("1024"), "{case}");
            let ddos = form.addons.iter().find(|a| a.id == "15").unwrap();
            assert_eq!(ddos.name.as_deref(), Some("DDoS protection"), "{case}");
            if shapes.off_values {
                assert_eq!(ddos.default.as_deref(), Some("off"), "{case}");
                let keys: Vec<&str> = ddos.options.iter().map(|o| o.key.as_str()).collect();
                assert_eq!(keys, ["off", "on"], "{case}");
            } else {
                assert_eq!(ddos.default.as_deref(), Some("0"), "{case}");
                assert_eq!(ddos.max.as_deref(), Some("1"), "{case}");
            }
            assert_eq!(form.total, Some(Money::new(500, "EUR")), "{case}");
            let price = match shapes.price {
                PriceShape::PricelistSummary => "pricelist_summary",
                PriceShape::TotalSummary => "total_summary",
                _ => "orderinfo",
            };
            assert_eq!(form.shape.price, Some(price), "{case}");
            let limits = if shapes.v2_form {
                "metadata.form.page[].field[]"
            } else {
                "metadata.form.field[]"
            };
            assert_eq!(form.shape.limits, Some(limits), "{case}");
            // The total includes addons: 6 cores (5 above the default at 2.00) and DDoS on.
            let on = if shapes.off_values { "on" } else { "1" };
            let preview = [
                ("pricelist", "6"),
                ("order_period", "1"),
                ("addon_10", "6"),
                ("addon_15", on),
            ];
            let quote = c.quote("v2.vds.order.param", &preview).await.unwrap();
            assert_eq!(quote.total, Some(Money::new(2000, "EUR")), "{case}");
        }
    }
}

#[tokio::test]
async fn v2_orders_answer_item_id_and_take_word_values() {
    let words = FormShapes {
        slist_addons: true,
        off_values: true,
        ..FormShapes::default()
    };
    let h = harness::sim(shaped(words)).await;
    for (n, format) in [Format::Json, Format::Xml].into_iter().enumerate() {
        let c = client(&h, format);
        let domain = format!("word-{n}.example.com");
        let remoteid = format!("web-{n}");
        let order = [
            ("pricelist", "6"),
            ("order_period", "1"),
            ("addon_15", "off"),
            ("addon_28", "on"),
            ("domain", domain.as_str()),
            ("remoteid", remoteid.as_str()),
            ("skipbasket", "on"),
        ];
        let ack = c.order("v2.vds.order.param", &order).await.unwrap();
        let id = ack.service_id.expect("item.id");
        let service = h.sim.services().into_iter().find(|s| s.id == id).unwrap();
        assert_eq!(service.remoteid.as_deref(), Some(remoteid.as_str()));
        assert_eq!(service.addons.get(&28), Some(&1));
        assert_eq!(service.addons.get(&15), Some(&0));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let form: EditForm = c.edit_form("vds", &id).await.unwrap();
        assert_eq!(form.values.get("addon_15").map(String::as_str), Some("off"));
        assert_eq!(form.values.get("addon_28").map(String::as_str), Some("on"));
    }
}

#[tokio::test]
async fn a_form_without_a_price_reads_as_none() {
    let h = harness::sim(shaped(FormShapes {
        price: PriceShape::Missing,
        ..FormShapes::default()
    }))
    .await;
    for format in [Format::Json, Format::Xml] {
        let c = client(&h, format);
        let quote = c
            .quote("vds.order.param", &[("pricelist", "6"), ("period", "1")])
            .await
            .unwrap();
        assert_eq!(quote.total, None);
        assert!(quote.require_total("vds.order.param").is_err());
    }
}

const WORDS: &str = "version: 1
billing:
  dialect: bm6
fleet:
  name: web
  type: vds
  count: 2
  domain: \"web-{seq}.example.com\"
  pricelist: 6
  period: 1
  addons: {10: 2, 15: off, 28: on}
";

#[tokio::test]
async fn validate_online_plan_and_edit_accept_word_values_of_a_v2_install() {
    let h = harness::sim(shaped(FormShapes {
        v2_form: true,
        price: PriceShape::TotalSummary,
        slist_addons: true,
        off_values: true,
    }))
    .await;
    let bf = Billfleet::new().manifest("web.yaml", WORDS).billing(&h);
    let bf = bf.args(["validate", "web.yaml", "--online"]);
    bf.run().await.code(0);
    let bf = bf.args(["plan", "web.yaml", "--output", "json"]);
    let out = bf.run().await;
    out.code(0);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    // 2 × (5.00 + 1 core at 2.00 + control panel 3.00)
    assert_eq!(plan["cost"]["total"], "20.00", "{plan}");
    let params = &plan["servers"][0]["call"]["params"];
    assert_eq!(params["addon_15"], "off", "{plan}");
    let bf = bf.args(["apply", "web.yaml", "--yes"]);
    bf.run().await.code(0);
    // The form shows the words the manifest declares: nothing drifted.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let bf = bf.args(["plan", "web.yaml", "--output", "json"]);
    let out = bf.run().await;
    out.code(0);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["summary"]["exists"], 2, "{plan}");
    let bad = WORDS.replace("15: off", "15: maybe");
    let bf = bf
        .manifest("bad.yaml", &bad)
        .args(["validate", "bad.yaml", "--online"]);
    let out = bf.run().await;
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("maybe"), "{}", out.stderr);
}

#[tokio::test]
async fn a_plan_whose_price_cannot_be_read_is_an_error_naming_the_group() {
    let h = harness::sim(shaped(FormShapes {
        price: PriceShape::Missing,
        ..FormShapes::default()
    }))
    .await;
    let out = Billfleet::new()
        .manifest("web.yaml", &WORDS.replace("15: off, 28: on", "15: 0"))
        .billing(&h)
        .args(["plan", "web.yaml"])
        .run()
        .await;
    assert_ne!(out.code, Some(0), "{}", out.stdout);
    assert!(out.stderr.contains("group `web`"), "{}", out.stderr);
    assert!(out.stderr.contains("no price"), "{}", out.stderr);
}

#[tokio::test]
async fn edits_of_a_balance_group_are_charged_at_once_and_of_a_basket_group_are_not() {
    for (payment, charged) in [("balance", true), ("basket", false)] {
        let h = harness::sim(SimConfig::default()).await;
        h.sim.add_service(NewService {
            domain: "web-1.example.com".into(),
            remoteid: Some("web-1".into()),
            ..NewService::default()
        });
        let manifest = format!(
            "version: 1\nbilling:\n  dialect: bm6\nfleet:\n  name: web\n  type: vds\n  \
             count: 1\n  domain: \"web-{{seq}}.example.com\"\n  pricelist: 6\n  period: 1\n  \
             payment: {payment}\n  addons: {{10: 3}}\n"
        );
        Billfleet::new()
            .manifest("web.yaml", &manifest)
            .billing(&h)
            .args(["edit", "web.yaml", "--yes"])
            .run()
            .await
            .code(0);
        let edit = h
            .sim
            .requests()
            .into_iter()
            .find(|r| r.func == "vds.edit" && r.params.iter().any(|(k, _)| k == "sok"))
            .expect("an edit was sent");
        let skip = edit
            .params
            .iter()
            .any(|(k, v)| k == "skipbasket" && v == "on");
        assert_eq!(skip, charged, "{payment}: {:?}", edit.params);
        assert_eq!(h.sim.services()[0].addons.get(&10), Some(&3));
        // Two cores above the default at 2.00 a month.
        let cost = if charged { 400 } else { 0 };
        assert_eq!(h.sim.balance_cents(), 1_000_000 - cost, "{payment}");
    }
}

#[tokio::test]
async fn catalog_and_init_show_list_addons_and_word_values() {
    let h = harness::sim(shaped(FormShapes {
        v2_form: true,
        price: PriceShape::TotalSummary,
        slist_addons: true,
        off_values: true,
    }))
    .await;
    let bf = Billfleet::new().billing(&h);
    let bf = bf.args(["catalog", "--pricelist", "6", "--output", "json"]);
    let out = bf.run().await;
    out.code(0);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let ddos = v["addons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "15")
        .unwrap()
        .clone();
    assert_eq!(ddos["default"], "off", "{v}");
    assert_eq!(ddos["values"], serde_json::json!(["off", "on"]), "{v}");
    let bf = bf.args([
        "init",
        "--pricelist",
        "6",
        "--count",
        "2",
        "--domain",
        "web-{seq}.example.com",
        "-o",
        "web.yaml",
    ]);
    bf.run().await.code(0);
    let text = std::fs::read_to_string(bf.path("web.yaml")).unwrap();
    assert!(text.contains("one of off, on"), "{text}");
    let bf = bf.args(["validate", "web.yaml", "--online"]);
    bf.run().await.code(0);
}

#[tokio::test]
async fn bm6_basket_orders_go_to_the_dragon_cart_and_cart_orders_to_the_new_cart() {
    for (payment, cart) in [("basket", "dragon"), ("cart", "cart")] {
        let h = harness::sim(SimConfig::default()).await;
        let manifest = format!(
            "version: 1\nbilling:\n  dialect: bm6\nfleet:\n  name: web\n  type: vds\n  \
             count: 2\n  domain: \"web-{{seq}}.example.com\"\n  pricelist: 6\n  period: 1\n  \
             payment: {payment}\n"
        );
        Billfleet::new()
            .manifest("web.yaml", &manifest)
            .billing(&h)
            .args(["apply", "web.yaml", "--yes"])
            .run()
            .await
            .code(0);
        let orders: Vec<Vec<(String, String)>> = h
            .sim
            .requests()
            .into_iter()
            .filter(|r| r.func == "v2.vds.order.param" && r.params.iter().any(|(k, _)| k == "sok"))
            .map(|r| r.params)
            .collect();
        assert_eq!(orders.len(), 2, "{payment}");
        let has =
            |p: &[(String, String)], k: &str, v: &str| p.iter().any(|(a, b)| a == k && b == v);
        for p in &orders {
            assert!(
                !p.iter().any(|(k, _)| k == "skipbasket"),
                "{payment}: {p:?}"
            );
            if payment == "basket" {
                assert!(has(p, "theme", "dragon"), "{p:?}");
                assert!(has(p, "licence_agreement", "on"), "{p:?}");
                assert!(has(p, "header:ISP-Client", "Web-interface"), "{p:?}");
            } else {
                assert!(has(p, "clicked_button", "order"), "{p:?}");
                assert!(has(p, "force_use_new_cart", "on"), "{p:?}");
            }
        }
        let services = h.sim.services();
        assert!(
            services
                .iter()
                .all(|s| s.status == 1 && s.cart.as_deref() == Some(cart))
        );
        assert_eq!(
            h.sim.balance_cents(),
            1_000_000,
            "{payment}: nothing charged"
        );
        if cart == "cart" {
            let v = post_json(&h, &[("func", "cart")]).await;
            assert_eq!(v["doc"]["total"]["count"]["$"], "2", "{v}");
            assert_eq!(v["doc"]["total"]["cost"]["$"], "10.00", "{v}");
            assert_eq!(v["doc"]["list"]["$name"], "lineitems", "{v}");
        }
    }
}
