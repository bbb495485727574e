//! Unit tests of the planner: keys, per-dialect parameters, reconciliation, output.

use super::*;
use crate::manifest::Manifest;
use crate::report::plan as render;

fn manifest(yaml: &str) -> Manifest {
    serde_norway::from_str(yaml).unwrap()
}

fn fleet(dialect: &str, extra: &str) -> Manifest {
    manifest(&format!(
        "version: 1\nbilling: {{dialect: {dialect}}}\nfleet:\n  name: web\n  count: 3\n  \
         domain: \"web-{{seq:03}}.example.com\"\n  pricelist: 6\n{extra}"
    ))
}

fn params(call: &OrderCall) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = call
        .params()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    p.sort();
    p
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = list
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    p.sort();
    p
}

const FULL: &str = "  datacenter: 1\n  period: 3\n  autoprolong: off\n  ostempl: Debian-12\n  \
                    addons: {11: 256, 7: 5000}\n  enums: {1112: 21}\n";

#[test]
fn keys_are_stable_when_count_grows() {
    let small = plan_offline(&fleet("bm5", ""));
    let mut grown = fleet("bm5", "");
    if let Some(g) = grown.fleet.as_mut() {
        g.count = 10;
    }
    let grown = plan_offline(&grown);
    assert_eq!(small.servers.len(), 3);
    assert_eq!(grown.servers.len(), 10);
    for (a, b) in small.servers.iter().zip(&grown.servers) {
        assert_eq!((&a.key, &a.domain, a.seq), (&b.key, &b.domain, b.seq));
    }
    assert_eq!(grown.servers[9].key, "web-10");
    assert_eq!(
        grown.servers[9].domain.as_deref(),
        Some("web-010.example.com")
    );
}

#[test]
fn start_offsets_sequence_numbers() {
    let plan = plan_offline(&fleet("bm5", "  start: 41\n"));
    let keys: Vec<&str> = plan.servers.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["web-41", "web-42", "web-43"]);
}

#[test]
fn bm5_parameters() {
    let plan = plan_offline(&fleet("bm5", FULL));
    let call = plan.servers[1].call.as_ref().unwrap();
    assert_eq!(&*call.func, "vds.order.param");
    let expected = [
        ("pricelist", "6"),
        ("datacenter", "1"),
        ("period", "3"),
        ("autoprolong", "null"),
        ("ostempl", "Debian-12"),
        ("addon_7", "5000"),
        ("addon_11", "256"),
        ("enum_1112", "21"),
        ("skipbasket", "on"),
        ("sok", "ok"),
        ("domain", "web-002.example.com"),
        ("remoteid", "web-2"),
    ];
    assert_eq!(params(call), pairs(&expected));
    // addons in numeric order, per-server parameters last
    let order: Vec<&str> = call.params().map(|(k, _)| k).collect();
    assert_eq!(&order[5..7], ["addon_7", "addon_11"]);
    assert_eq!(&order[10..], ["domain", "remoteid"]);
}

#[test]
fn bm5_without_remoteid_and_basket() {
    let m = fleet("bm5", "  payment: basket\n");
    let mut m = m;
    m.billing.remoteid = false;
    let call = plan_offline(&m).servers[0].call.clone().unwrap();
    assert_eq!(call.get("remoteid"), None);
    assert_eq!(call.get("skipbasket"), None);
    assert_eq!(call.get("domain"), Some("web-001.example.com"));
}

#[test]
fn bm6_parameters() {
    let mut m = fleet("bm6", FULL);
    m.billing.remoteid = false; // bm6 always sends it
    let call = plan_offline(&m).servers[0].call.clone().unwrap();
    assert_eq!(&*call.func, "v2.vds.order.param");
    assert_eq!(call.get("order_period"), Some("3"));
    assert_eq!(call.get("period"), None);
    assert_eq!(call.get("licence_agreement"), Some("on"));
    assert_eq!(call.get("remoteid"), Some("web-1"));
    assert_eq!(call.get("skipbasket"), Some("on"));
}

#[test]
fn bm4_parameters() {
    let plan = plan_offline(&fleet("bm4", FULL));
    let call = plan.servers[0].call.as_ref().unwrap();
    assert_eq!(&*call.func, "vds.order.7");
    let expected = [
        ("price", "6"),
        ("datacenter", "1"),
        ("period", "3"),
        ("autoprolong", "null"),
        ("ostempl", "Debian-12"),
        ("addon_7", "5000"),
        ("addon_11", "256"),
        ("enum_1112", "21"),
        ("agree", "on"),
        ("payfrom", "neworder"),
        ("sok", "ok"),
        ("domain", "web-001.example.com"),
    ];
    assert_eq!(params(call), pairs(&expected));
}

#[test]
fn license_parameters() {
    let m = manifest(
        "version: 1\nfleet: {name: lic, type: soft, count: 2, pricelist: 55163, period: -100, \
         autoprolong: 12, addons: {55165: 1}}\n",
    );
    let plan = plan_offline(&m);
    let call = plan.servers[1].call.as_ref().unwrap();
    assert_eq!(plan.servers[1].domain, None);
    assert_eq!(&*call.func, "soft.order.param");
    let expected = [
        ("pricelist", "55163"),
        ("clicked_button", "finish"),
        ("period", "-100"),
        ("autoprolong", "12"),
        ("addon_55165", "1"),
        ("skipbasket", "on"),
        ("sok", "ok"),
        ("remoteid", "lic-2"),
    ];
    assert_eq!(params(call), pairs(&expected));
    // bm6 licenses keep the plain function and `period`
    let mut m6 = m.clone();
    m6.billing.dialect = crate::manifest::Dialect::Bm6;
    let call = plan_offline(&m6).servers[0].call.clone().unwrap();
    assert_eq!(&*call.func, "soft.order.param");
    assert_eq!(call.get("period"), Some("-100"));
}

#[test]
fn raw_params_override_but_never_carry_credentials() {
    let m = fleet(
        "bm5",
        "  params: {period: 12, comment: fleet, authinfo: \"u:p\", password: x, out: xml, lang: ru}\n",
    );
    let call = plan_offline(&m).servers[0].call.clone().unwrap();
    assert_eq!(call.get("comment"), Some("fleet"));
    for key in ["authinfo", "password", "out", "lang", "auth", "username"] {
        assert_eq!(call.get(key), None, "{key}");
    }
    let m = fleet("bm5", "  period: 1\n  params: {period: 12}\n");
    let call = plan_offline(&m).servers[0].call.clone().unwrap();
    assert_eq!(call.params().filter(|(k, _)| *k == "period").count(), 1);
    assert_eq!(call.get("period"), Some("12"));
}

#[test]
fn preview_and_domain_moves() {
    let m = fleet("bm5", "  period: 1\n");
    let group = m.groups().next().unwrap();
    let preview = preview_call(&m, group);
    assert_eq!(preview.get("sok"), None);
    assert_eq!(preview.get("domain"), None);
    assert_eq!(preview.get("remoteid"), None);
    assert_eq!(preview.get("pricelist"), Some("6"));
    let call = order_call(&m, group, 7, Some("web-007.example.com"));
    assert_eq!(call.get("remoteid"), Some("web-7"));
    let moved = call.with_domain("web-104.example.com");
    assert_eq!(moved.get("domain"), Some("web-104.example.com"));
    assert_eq!(moved.get("remoteid"), Some("web-7"));
    assert_eq!(moved.params().count(), call.params().count());
    assert!(Arc::ptr_eq(&moved.common, &call.common));
}

fn service(id: &str, domain: &str, remoteid: &str, status: u8, pricelist: &str) -> Existing {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Existing {
        id: id.to_owned(),
        domain: opt(domain),
        remoteid: opt(remoteid),
        status,
        pricelist: opt(pricelist),
        item_type: "vds".to_owned(),
    }
}

#[test]
fn reconcile_rules() {
    let mut m = fleet("bm5", "");
    if let Some(g) = m.fleet.as_mut() {
        g.count = 6;
    }
    let existing = vec![
        // 1: matched by remoteid although the domain differs
        service("101", "other.example.com", "web-1", 2, "6"),
        // 2: matched by domain, case-insensitive, no remoteid
        service("102", "WEB-002.example.com", "", 3, "6"),
        // 3: deleted: ordered again
        service("103", "web-003.example.com", "web-3", 4, "6"),
        // 4: same domain, another tariff
        service("104", "web-004.example.com", "", 2, "7"),
        // 5: same domain, another remoteid
        service("105", "web-005.example.com", "shop-5", 5, "6"),
        // 6: same remoteid but another item type
        Existing {
            item_type: "vhost".into(),
            ..service("106", "web-006.example.com", "web-6", 2, "6")
        },
    ];
    let plan = plan_against(&m, &existing);
    let got: Vec<(Action, Option<&str>)> = plan
        .servers
        .iter()
        .map(|s| (s.action, s.existing.as_ref().map(|e| e.id.as_str())))
        .collect();
    assert_eq!(
        got,
        [
            (Action::Exists, Some("101")),
            (Action::Exists, Some("102")),
            (Action::Order, None),
            (Action::Conflict, Some("104")),
            (Action::Conflict, Some("105")),
            (Action::Order, None),
        ]
    );
    assert!(plan.servers[0].call.is_none());
    assert!(plan.servers[2].call.is_some());
    let s = plan.summary();
    assert_eq!((s.order, s.exists, s.conflict), (2, 2, 2));
    assert_eq!(plan.orders_per_group(), vec![(Arc::from("web"), 2)]);
}

#[test]
fn undeclared_services_that_look_like_the_fleet() {
    let m = fleet("bm5", "");
    let existing = vec![
        service("1", "web-001.example.com", "", 2, "6"), // declared
        service("2", "web-077.example.com", "", 2, "6"), // pattern shape, beyond count
        service("3", "random.example.com", "web-40", 1, "6"), // remoteid prefix
        service("4", "web-050.example.com", "", 4, "6"), // deleted
        service("5", "db-001.example.com", "db-1", 2, "6"), // another fleet
        service("6", "web-x.example.com", "web-x", 2, "6"), // not a seq
    ];
    let ids: Vec<&str> = undeclared(&m, &existing)
        .iter()
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(ids, ["2", "3"]);
}

#[test]
fn json_shape() {
    let mut m = fleet("bm5", "  period: 1\n");
    if let Some(g) = m.fleet.as_mut() {
        g.count = 2;
    }
    let existing = [service("9", "web-002.example.com", "web-2", 2, "6")];
    let mut plan = plan_against(&m, &existing);
    plan.cost = Some(crate::money::Money::new(1250, "EUR"));
    let mut out = Vec::new();
    render::json(&plan, &mut out).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let expected = serde_json::json!({
        "servers": [
            {"group": "web", "seq": 1, "key": "web-1", "domain": "web-001.example.com",
             "action": "order", "call": {"func": "vds.order.param", "params": {
                "pricelist": "6", "period": "1", "skipbasket": "on", "sok": "ok",
                "domain": "web-001.example.com", "remoteid": "web-1"}}},
            {"group": "web", "seq": 2, "key": "web-2", "domain": "web-002.example.com",
             "action": "exists", "service_id": "9"}
        ],
        "undeclared": [],
        "summary": {"order": 1, "exists": 1, "update": 0, "conflict": 0, "orphan": 0,
                    "delete": 0},
        "cost": {"total": "12.50", "currency": "EUR"},
        "update_cost": null,
        "balance": null
    });
    assert_eq!(value, expected);
    assert!(out.ends_with(b"}\n"));
}

#[test]
fn text_abridges_long_groups_but_keeps_conflicts() {
    let mut m = fleet("bm5", "  period: 1\n");
    if let Some(g) = m.fleet.as_mut() {
        g.count = 120;
    }
    let existing = [service("77", "web-060.example.com", "", 2, "9")];
    let plan = plan_against(&m, &existing);
    let mut out = Vec::new();
    render::text(&plan, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "group web (vds, 120 servers): vds.order.param");
    assert_eq!(
        lines[1],
        "  common: pricelist=6 period=1 skipbasket=on sok=ok"
    );
    assert_eq!(lines[2], "  action    key      domain               params");
    assert_eq!(
        lines[3],
        "  order     web-1    web-001.example.com  remoteid=web-1"
    );
    assert!(text.contains("  … 49 more\n"));
    assert!(text.contains("  … 55 more\n"));
    assert!(text.contains("service 77 (status 2), pricelist 9"));
    assert!(text.contains("web-120"));
    assert!(!text.contains("web-100 "));
    assert_eq!(
        lines.last(),
        Some(&"119 to order, 0 to update, 0 to delete, 0 unchanged, 1 in conflict")
    );
    // group header 2, column header, head 10 + conflict 1 + tail 5 rows, 2 elisions, blank, totals
    assert_eq!(lines.len(), 2 + 1 + 10 + 1 + 5 + 2 + 1 + 1);
}

#[test]
fn lowered_count_leaves_orphans_by_remoteid_only() {
    let mut m = fleet("bm5", "");
    if let Some(g) = m.fleet.as_mut() {
        g.count = 3;
    }
    let existing = vec![
        service("1", "web-001.example.com", "web-1", 2, "6"),
        // collision-moved: its remoteid is in range, it is web-2
        service("2", "web-009.example.com", "web-2", 2, "6"),
        service("4", "web-004.example.com", "web-4", 2, "6"),
        service("5", "web-005.example.com", "web-5", 3, "6"),
        // no remoteid: never pruned, whatever its domain
        service("6", "web-006.example.com", "", 2, "6"),
        // another group, not declared
        service("7", "db-001.example.com", "db-7", 2, "6"),
        // deleted already
        service("8", "web-008.example.com", "web-8", 4, "6"),
        // padded seq is not a key
        service("10", "web-010.example.com", "web-010", 2, "6"),
    ];
    let mut plan = plan_against(&m, &existing);
    let keys: Vec<(&str, &str)> = plan
        .undeclared
        .iter()
        .map(|u| (u.key.as_str(), u.service.id.as_str()))
        .collect();
    assert_eq!(keys, [("web-4", "4"), ("web-5", "5")]);
    let s = plan.summary();
    assert_eq!((s.exists, s.order, s.orphan, s.delete), (2, 1, 2, 0));
    assert!(s.has_changes());
    plan.prune();
    let s = plan.summary();
    assert_eq!((s.orphan, s.delete), (0, 2));
    let call = plan.undeclared[0].delete_call();
    assert_eq!(&*call.func, "vds.delete");
    assert_eq!(call.get("elid"), Some("4"));
}

#[test]
fn forms_turn_present_servers_into_updates_or_conflicts() {
    let m = fleet("bm5", "  addons: {11: 512}\n");
    let existing = vec![service("9", "web-001.example.com", "web-1", 2, "6")];
    let mut plan = plan_against(&m, &existing);
    assert_eq!(plan.forms_needed(), [("vds".to_owned(), "9".to_owned())]);
    let form: std::collections::BTreeMap<String, String> =
        [("addon_11".to_owned(), "1024".to_owned())].into();
    plan.with_forms(&m, |id| (id == "9").then_some(&form));
    let server = &plan.servers[0];
    assert_eq!(server.action, Action::Update);
    let call = server.drift.as_ref().unwrap().call();
    assert_eq!(&*call.func, "vds.edit");
    let params: Vec<(&str, &str)> = call.params().collect();
    // Paid from the balance (the default): charged at once, not parked in the cart.
    assert_eq!(
        params,
        [
            ("elid", "9"),
            ("addon_11", "512"),
            ("skipbasket", "on"),
            ("sok", "ok")
        ]
    );
    assert_eq!(server.order_action(), Action::Exists);
    let mut out = Vec::new();
    render::json(&plan, &mut out).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        value["servers"][0]["changes"],
        serde_json::json!({"addon_11": {"from": "1024", "to": "512"}})
    );
    assert_eq!(value["summary"]["update"], 1);
    let moved: std::collections::BTreeMap<String, String> = [
        ("pricelist".to_owned(), "7".to_owned()),
        ("addon_11".to_owned(), "512".to_owned()),
    ]
    .into();
    let mut plan = plan_against(&m, &existing);
    plan.with_forms(&m, |_| Some(&moved));
    assert_eq!(plan.servers[0].action, Action::Conflict);
    assert!(plan.servers[0].reason().contains("pricelist: 7 → 6"));
}
