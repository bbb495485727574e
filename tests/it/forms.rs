//! Every generation's documented calls in one simulator, and the funds error shape, driven
//! over HTTP with plain requests (not billfleet's client).

use billfleet::sim::{SimConfig, SimDialect, SimHandle};
use serde_json::Value;

use crate::harness;

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
