//! billfleet's client against the embedded simulator over loopback HTTP. The two were written
//! independently from the same protocol description; here every typed call meets the other
//! side in every dialect (bm4, bm5, bm6) and answer format (json, xml), the planner's order
//! calls are accepted and reconciled, and the simulator's faults arrive as the right errors.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use billfleet::api::{Action, ApiError, BillingClient, ClientOptions, ErrorKind, Service};
use billfleet::manifest::{self, Dialect, Format, LoginMode, Manifest};
use billfleet::money::Money;
use billfleet::pace::Pacer;
use billfleet::plan::{self, Existing};
use billfleet::secret::Secret;
use billfleet::sim::{self, Faults, NewService, SimConfig, SimDialect, SimHandle};

const START_CENTS: i64 = 1_000_000;

/// One row of the table: a dialect and an answer format.
#[derive(Debug, Clone, Copy)]
struct Case {
    dialect: Dialect,
    format: Format,
}

/// Every (dialect × format) pair.
fn cases() -> Vec<Case> {
    let mut all = Vec::new();
    for dialect in [Dialect::Bm4, Dialect::Bm5, Dialect::Bm6] {
        for format in [Format::Json, Format::Xml] {
            all.push(Case { dialect, format });
        }
    }
    all
}

/// Runs `body` once per case, each against its own simulator; the case is printed first so a
/// failure names it.
async fn each<F, Fut>(cases: Vec<Case>, body: F)
where
    F: Fn(Case) -> Fut,
    Fut: Future<Output = ()>,
{
    for case in cases {
        eprintln!("case: {case:?}");
        body(case).await;
    }
}

/// What the tests order in each dialect: the seed tariffs, one addon above its default.
struct Vds {
    pricelist: &'static str,
    /// The wire value of one month (bm4: a period id).
    month: &'static str,
    /// The wire value of three months, for renewals.
    quarter: &'static str,
    /// The addon raised by one step above the default, and its new value.
    addon: (&'static str, &'static str),
    /// The price of one month with that addon, in cents.
    month_cents: i64,
}

fn vds(dialect: Dialect) -> Vds {
    match dialect {
        // KVM Ferrum: 3.50 a month, one more CPU at 2.00.
        Dialect::Bm4 => Vds {
            pricelist: "1100",
            month: "1210",
            quarter: "1213",
            addon: ("1104", "2"),
            month_cents: 550,
        },
        // VDS Start: 5.00 a month, one more core at 2.00.
        Dialect::Bm5 | Dialect::Bm6 => Vds {
            pricelist: "6",
            month: "1",
            quarter: "3",
            addon: ("10", "2"),
            month_cents: 700,
        },
    }
}

fn sim_dialect(d: Dialect) -> SimDialect {
    match d {
        Dialect::Bm4 => SimDialect::Bm4,
        Dialect::Bm5 => SimDialect::Bm5,
        Dialect::Bm6 => SimDialect::Bm6,
    }
}

fn dialect_name(d: Dialect) -> &'static str {
    match d {
        Dialect::Bm4 => "bm4",
        Dialect::Bm5 => "bm5",
        Dialect::Bm6 => "bm6",
    }
}

async fn start(case: Case, config: SimConfig) -> SimHandle {
    sim::start(SimConfig {
        dialect: sim_dialect(case.dialect),
        activation: Duration::from_millis(200),
        ..config
    })
    .await
    .unwrap()
}

fn client_as(h: &SimHandle, case: Case, login: LoginMode, password: &str) -> BillingClient {
    BillingClient::new(ClientOptions {
        base_url: h.url.clone(),
        dialect: case.dialect,
        format: case.format,
        login,
        user: "demo".into(),
        password: Secret::new(password),
        timeout: Duration::from_secs(20),
        insecure_tls: false,
        pacer: Arc::new(Pacer::unlimited()),
    })
    .unwrap()
}

fn client(h: &SimHandle, case: Case) -> BillingClient {
    client_as(h, case, LoginMode::Session, "demo")
}

/// A manifest of `count` servers of `kind` in the case's dialect (the url is never used: the
/// client is pointed at the simulator).
fn manifest(case: Case, body: &str) -> Manifest {
    let text = format!(
        "version: 1\nbilling:\n  url: http://127.0.0.1:9/billmgr\n  dialect: {}\nfleet:\n{body}",
        dialect_name(case.dialect)
    );
    match manifest::load_str(Path::new("roundtrip.yaml"), text) {
        Ok(loaded) => loaded.manifest,
        Err(d) => panic!("{d}"),
    }
}

fn vds_manifest(case: Case) -> Manifest {
    let v = vds(case.dialect);
    manifest(
        case,
        &format!(
            "  name: web\n  type: vds\n  count: 2\n  domain: \"web-{{seq:02}}.example.com\"\n  \
             pricelist: {}\n  datacenter: 1\n  period: {}\n  ostempl: ISPsystem__CentOS-7-amd64\n  \
             addons: {{{}: {}}}\n",
            v.pricelist, v.month, v.addon.0, v.addon.1
        ),
    )
}

/// The planner's order call of server `seq`, as borrowed pairs.
fn order_params(m: &Manifest, seq: u64, domain: &str) -> (String, Vec<(String, String)>) {
    let group = m.groups().next().unwrap();
    let domain = Some(domain).filter(|d| !d.is_empty());
    let call = plan::order_call(m, group, seq, domain);
    let params = call
        .params()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    (call.func.to_string(), params)
}

fn pairs(params: &[(String, String)]) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn eur(cents: i64) -> Money {
    Money::new(cents, "EUR")
}

fn sim_service(h: &SimHandle, id: &str) -> sim::SimService {
    h.sim.services().into_iter().find(|s| s.id == id).unwrap()
}

/// Lists until `n` services are active (the simulator activates them after a while).
async fn until_active(c: &BillingClient, item_type: &str, n: usize) -> Vec<Service> {
    for _ in 0..400 {
        let services = c.list_complete(item_type).await.unwrap();
        if services.iter().filter(|s| s.status == 2).count() >= n {
            return services;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("services never became active");
}

fn auth_calls(h: &SimHandle) -> usize {
    h.sim.requests().iter().filter(|r| r.func == "auth").count()
}

// ---------------------------------------------------------------- catalog and orders

#[tokio::test]
async fn catalog_quote_order_list_and_reconcile() {
    each(cases(), |case| async move {
        let h = start(case, SimConfig::default()).await;
        let c = client(&h, case);
        let v = vds(case.dialect);
        c.login().await.unwrap();
        let me = c.whoami().await.unwrap();
        assert_eq!(me.balance, eur(START_CENTS));
        assert_eq!(me.name.as_deref(), Some("demo"));

        let tariffs = c.pricelists("vds").await.unwrap();
        let ids: Vec<&str> = tariffs.iter().map(|t| t.id.as_str()).collect();
        match case.dialect {
            Dialect::Bm4 => assert_eq!(ids, ["1100", "1033", "2061"]),
            Dialect::Bm5 => assert_eq!(ids, ["6", "8"]),
            Dialect::Bm6 => {
                assert_eq!(ids, ["6", "8"]);
                // Only v2.*.order.pricelist has prices and datacenters.
                assert!(tariffs[0].prices.contains(&("12".into(), eur(6000))));
                assert_eq!(tariffs[0].datacenters[0], ("1".into(), "Amsterdam".into()));
            }
        }
        let form = c.order_form("vds", v.pricelist).await.unwrap();
        let addon = form.addons.iter().find(|a| a.id == v.addon.0).unwrap();
        assert_eq!(addon.default.as_deref(), Some("1"));
        assert!(addon.min.is_some() && addon.max.is_some() && addon.price.is_some());
        assert!(form.periods.iter().any(|p| p.key == v.quarter));
        assert!(
            form.ostempls
                .iter()
                .any(|o| o.key == "ISPsystem__CentOS-7-amd64")
        );
        assert_eq!(form.total, Some(eur(v.month_cents - 200)));
        if case.dialect == Dialect::Bm4 {
            let panel = form.enums.iter().find(|e| e.id == "1106").unwrap();
            assert_eq!(panel.default.as_deref(), Some("25"));
            assert_eq!(panel.options.len(), 2);
        }

        let m = vds_manifest(case);
        let group = m.groups().next().unwrap();
        let preview = plan::preview_call(&m, group);
        let preview: Vec<(String, String)> = preview
            .params()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let quote = c
            .quote(&plan::preview_call(&m, group).func, &pairs(&preview))
            .await
            .unwrap();
        assert_eq!(quote.total, Some(eur(v.month_cents)));
        assert!(h.sim.services().is_empty(), "a quote orders nothing");

        let mut acks = Vec::new();
        for seq in 1..=2 {
            let (func, params) = order_params(&m, seq, &format!("web-{seq:02}.example.com"));
            acks.push(c.order(&func, &pairs(&params)).await.unwrap());
        }
        assert_eq!(h.sim.balance_cents(), START_CENTS - 2 * v.month_cents);
        assert_eq!(
            c.whoami().await.unwrap().balance,
            eur(START_CENTS - 2 * v.month_cents)
        );

        let listed = c.list_complete("vds").await.unwrap();
        assert_eq!(listed.len(), 2);
        for (i, s) in listed.iter().enumerate() {
            let seq = i + 1;
            let held = sim_service(&h, &s.id);
            assert_eq!(s.domain.as_deref(), Some(held.domain.as_str()));
            assert_eq!(held.domain, format!("web-{seq:02}.example.com"));
            assert_eq!(s.pricelist.as_deref(), Some(v.pricelist), "the tariff id");
            assert_eq!((s.status, s.ip.as_deref()), (5, None));
            assert_eq!(s.item_status.as_deref(), Some("5_open"));
            assert_eq!(s.expiredate.as_deref(), Some(held.expiredate.as_str()));
            assert_eq!(s.datacenter.as_deref(), Some("1"));
            let remoteid = format!("web-{seq}");
            match case.dialect {
                Dialect::Bm4 => {
                    assert_eq!(acks[i].service_id, None, "bm4 answers a page, no id");
                    assert_eq!(s.remoteid, None);
                }
                Dialect::Bm5 => {
                    assert_eq!(acks[i].service_id.as_deref(), Some(s.id.as_str()));
                    assert!(acks[i].billorder_id.is_some());
                    assert_eq!(s.remoteid.as_deref(), Some(remoteid.as_str()));
                }
                Dialect::Bm6 => {
                    assert_eq!(acks[i].service_id.as_deref(), Some(s.id.as_str()));
                    assert_eq!(s.remoteid.as_deref(), Some(remoteid.as_str()));
                }
            }
        }

        // What the client lists, the planner recognises as the fleet (no conflicts).
        let existing: Vec<Existing> = listed
            .iter()
            .map(|s| Existing {
                id: s.id.clone(),
                domain: s.domain.clone(),
                remoteid: s.remoteid.clone(),
                status: s.status,
                pricelist: s.pricelist.clone(),
                item_type: "vds".into(),
            })
            .collect();
        let summary = plan::plan_against(&m, &existing).summary();
        assert_eq!((summary.order, summary.exists, summary.conflict), (0, 2, 0));

        // Processing (5) becomes active (2) with an address.
        let active = until_active(&c, "vds", 2).await;
        for s in &active {
            let held = sim_service(&h, &s.id);
            assert_eq!(s.ip, held.ip);
            assert!(s.ip.is_some());
        }

        // The same domain again: taken, with the value, and nothing charged.
        let (func, params) = order_params(&m, 1, "web-01.example.com");
        let err = c.order(&func, &pairs(&params)).await.unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::Exists {
                object: "domain".into(),
                value: Some("web-01.example.com".into())
            }
        );
        assert!(!err.outcome_unknown() && !err.retryable());
        assert_eq!(h.sim.balance_cents(), START_CENTS - 2 * v.month_cents);
        h.stop().await.unwrap();
    })
    .await;
}

// ---------------------------------------------------------------- managing services

#[tokio::test]
async fn prolong_edit_and_list_actions() {
    each(cases(), |case| async move {
        let h = start(case, SimConfig::default()).await;
        let c = client(&h, case);
        let v = vds(case.dialect);
        let m = vds_manifest(case);
        for seq in 1..=2 {
            let (func, params) = order_params(&m, seq, &format!("web-{seq:02}.example.com"));
            c.order(&func, &pairs(&params)).await.unwrap();
        }
        let ids: Vec<String> = until_active(&c, "vds", 2)
            .await
            .into_iter()
            .map(|s| s.id)
            .collect();
        let paid = START_CENTS - 2 * v.month_cents;

        // Renewal: a preview that charges nothing, then the expiry moves by three months.
        let before = sim_service(&h, &ids[0]).expiredate;
        let quarter: u32 = v.quarter.parse().unwrap();
        let preview = c.prolong_quote(&ids[0], quarter).await.unwrap();
        let expected = chrono::NaiveDate::parse_from_str(&before, "%Y-%m-%d")
            .unwrap()
            .checked_add_months(chrono::Months::new(3))
            .unwrap()
            .format("%Y-%m-%d")
            .to_string();
        assert_eq!(preview.expiredate.as_deref(), Some(before.as_str()));
        assert_eq!(preview.new_expiredate.as_deref(), Some(expected.as_str()));
        assert_eq!(preview.cost, Some(eur(3 * v.month_cents)));
        assert_eq!(h.sim.balance_cents(), paid);
        let done = c.prolong(&ids[0], quarter).await.unwrap();
        assert_eq!(done.new_expiredate.as_deref(), Some(expected.as_str()));
        assert_eq!(sim_service(&h, &ids[0]).expiredate, expected);
        assert_eq!(h.sim.balance_cents(), paid - 3 * v.month_cents);

        // Edit: the form shows the current addon; a change lands in the billing.
        let (addon, value) = (format!("addon_{}", v.addon.0), v.addon.1);
        let form = c.edit_form("vds", &ids[1]).await.unwrap();
        assert_eq!(form.values.get(&addon).map(String::as_str), Some(value));
        assert_eq!(
            form.values.get("domain").map(String::as_str),
            Some("web-02.example.com")
        );
        c.edit(
            "vds",
            &ids[1],
            &[(addon.as_str(), "3"), ("autoprolong", "null")],
        )
        .await
        .unwrap();
        let held = sim_service(&h, &ids[1]);
        let addon_id: u32 = v.addon.0.parse().unwrap();
        assert_eq!(
            (held.addons.get(&addon_id), held.autoprolong),
            (Some(&3), None)
        );
        let form = c.edit_form("vds", &ids[1]).await.unwrap();
        assert_eq!(form.values.get(&addon).map(String::as_str), Some("3"));

        // Suspend and resume several at once (`elid=1, 2`).
        let both: Vec<&str> = ids.iter().map(String::as_str).collect();
        let statuses =
            |h: &SimHandle| -> Vec<u8> { ids.iter().map(|id| sim_service(h, id).status).collect() };
        c.act("vds", Action::Suspend, &both).await.unwrap();
        assert_eq!(statuses(&h), [3, 3]);
        let listed: Vec<u8> = c
            .list_complete("vds")
            .await
            .unwrap()
            .iter()
            .map(|s| s.status)
            .collect();
        assert_eq!(listed, [3, 3]);
        c.act("vds", Action::Resume, &both).await.unwrap();
        assert_eq!(statuses(&h), [2, 2]);

        // A service of another customer does not exist for us.
        h.sim.add_account("other", "pw", 0);
        let foreign = h.sim.add_service(NewService {
            account: Some("other".into()),
            domain: "theirs.example.com".into(),
            ..NewService::default()
        });
        let err = c
            .act("vds", Action::Suspend, &[&foreign])
            .await
            .unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::Missing {
                object: "elid".into()
            }
        );
        let err = c.prolong(&foreign, 1).await.unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::Missing {
                object: "elid".into()
            }
        );
        assert_eq!(sim_service(&h, &foreign).status, 2);

        // Inside a tariff's minimum order period, deleting is refused.
        let promo = h.sim.add_service(NewService {
            pricelist: 8,
            domain: "promo.example.com".into(),
            ..NewService::default()
        });
        let err = c.act("vds", Action::Delete, &[&promo]).await.unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::Refused {
                kind: "pricelist_min_order".into(),
                object: promo.clone()
            }
        );
        assert_eq!(sim_service(&h, &promo).status, 2);

        c.act("vds", Action::Delete, &both).await.unwrap();
        assert_eq!(statuses(&h), [4, 4]);
        let listed = c.list_complete("vds").await.unwrap();
        let deleted = listed.iter().filter(|s| s.status == 4).count();
        assert_eq!(deleted, 2);
        h.stop().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn license_orders_with_finish_and_a_trial_period() {
    let modern: Vec<Case> = cases()
        .into_iter()
        .filter(|c| c.dialect != Dialect::Bm4)
        .collect();
    each(modern, |case| async move {
        let h = start(case, SimConfig::default()).await;
        let c = client(&h, case);
        let trial = manifest(
            case,
            "  name: lic\n  type: platform\n  count: 1\n  pricelist: 55161\n  period: -100\n",
        );
        let (func, params) = order_params(&trial, 1, "");
        assert_eq!(func, "platform.order.param");
        assert!(params.contains(&("clicked_button".into(), "finish".into())));
        let ack = c.order(&func, &pairs(&params)).await.unwrap();
        let id = ack.service_id.unwrap();
        let held = sim_service(&h, &id);
        assert_eq!(
            (held.pricelist, held.period, held.cost_cents),
            (55161, 0, 0)
        );
        assert_eq!(h.sim.balance_cents(), START_CENTS, "a trial costs nothing");

        let vm = manifest(
            case,
            "  name: vm\n  type: platform\n  count: 1\n  pricelist: 55163\n  period: 1\n  \
             addons: {55165: 2}\n",
        );
        let (func, params) = order_params(&vm, 1, "");
        let id = c
            .order(&func, &pairs(&params))
            .await
            .unwrap()
            .service_id
            .unwrap();
        // 15.00 a month and one more cluster node at 15.00.
        assert_eq!(h.sim.balance_cents(), START_CENTS - 3000);
        let soft = manifest(
            case,
            "  name: isp\n  type: soft\n  count: 1\n  pricelist: 3001\n  period: 12\n",
        );
        let (func, params) = order_params(&soft, 1, "");
        c.order(&func, &pairs(&params)).await.unwrap();
        assert_eq!(h.sim.balance_cents(), START_CENTS - 3000 - 6000);

        let platforms = c.list_complete("platform").await.unwrap();
        let vm_row = platforms.iter().find(|s| s.id == id).unwrap();
        assert_eq!(vm_row.pricelist.as_deref(), Some("55163"));
        assert_eq!(vm_row.remoteid.as_deref(), Some("vm-1"));
        assert_eq!(platforms.len(), 2);
        let softs = c.list_complete("soft").await.unwrap();
        assert_eq!(softs.len(), 1);
        assert_eq!(softs[0].pricelist.as_deref(), Some("3001"));
        h.stop().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn lists_longer_than_a_page_are_read_whole() {
    let bm5: Vec<Case> = cases()
        .into_iter()
        .filter(|c| c.dialect == Dialect::Bm5)
        .collect();
    each(bm5, |case| async move {
        let h = start(case, SimConfig::default()).await;
        let total = billfleet::api::PAGE_SIZE + 5;
        for i in 0..total {
            h.sim.add_service(NewService {
                domain: format!("n{i:04}.example.com"),
                ..NewService::default()
            });
        }
        let c = client(&h, case);
        let listed = c.list_complete("vds").await.unwrap();
        assert_eq!(listed.len(), total);
        assert_eq!(listed[0].domain.as_deref(), Some("n0000.example.com"));
        assert_eq!(
            listed[total - 1].domain.as_deref(),
            Some(format!("n{:04}.example.com", total - 1).as_str())
        );
        let pages: Vec<String> = h
            .sim
            .requests()
            .iter()
            .filter(|r| r.func == "vds")
            .filter_map(|r| {
                r.params
                    .iter()
                    .find(|(k, _)| k == "p_num")
                    .map(|(_, v)| v.clone())
            })
            .collect();
        assert_eq!(pages, ["1", "2"]);
        h.stop().await.unwrap();
    })
    .await;
}

// ---------------------------------------------------------------- refusals and sessions

#[tokio::test]
async fn insufficient_funds_stops_orders_and_renewals() {
    each(cases(), |case| async move {
        let h = start(
            case,
            SimConfig {
                balance_cents: 100,
                ..SimConfig::default()
            },
        )
        .await;
        let c = client(&h, case);
        let m = vds_manifest(case);
        let (func, params) = order_params(&m, 1, "web-01.example.com");
        let err = c.order(&func, &pairs(&params)).await.unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::InsufficientFunds { .. }),
            "{err}"
        );
        assert!(err.is_fatal());
        assert!(h.sim.services().is_empty());
        let id = h.sim.add_service(NewService {
            domain: "old.example.com".into(),
            pricelist: if case.dialect == Dialect::Bm4 {
                1100
            } else {
                6
            },
            ..NewService::default()
        });
        let quarter: u32 = vds(case.dialect).quarter.parse().unwrap();
        let err = c.prolong(&id, quarter).await.unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::InsufficientFunds { .. }),
            "{err}"
        );
        assert_eq!(h.sim.balance_cents(), 100);
        h.stop().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn an_expired_session_is_renewed_transparently() {
    each(cases(), |case| async move {
        let h = start(
            case,
            SimConfig {
                faults: Faults {
                    session_expiry_requests: Some(2),
                    ..Faults::default()
                },
                ..SimConfig::default()
            },
        )
        .await;
        let c = client(&h, case);
        let m = vds_manifest(case);
        for seq in 1..=3 {
            c.whoami().await.unwrap();
            let (func, params) = order_params(&m, seq, &format!("web-{seq:02}.example.com"));
            c.order(&func, &pairs(&params)).await.unwrap();
        }
        assert_eq!(c.list_complete("vds").await.unwrap().len(), 3);
        // Three services, not more: a refused call is repeated once, after the new login.
        assert_eq!(h.sim.services().len(), 3);
        let refused = h
            .sim
            .requests()
            .iter()
            .filter(|r| r.outcome == "error:access")
            .count();
        assert!(refused >= 2, "the session expired during the run");
        // One login, then at most one more per refusal (concurrent reads refused together
        // share one single-flight login).
        let logins = auth_calls(&h);
        assert!((2..=refused + 1).contains(&logins), "{logins} logins");
        h.stop().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_wrong_password_is_fatal_and_never_retried() {
    each(cases(), |case| async move {
        let h = start(case, SimConfig::default()).await;
        let c = client_as(&h, case, LoginMode::Session, "wrong");
        let err = c.whoami().await.unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::Auth {
                object: "badpassword".into()
            }
        );
        assert!(err.is_fatal() && !err.retryable());
        let again = c.list_complete("vds").await.unwrap_err();
        assert_eq!(again.kind, err.kind);
        assert_eq!(auth_calls(&h), 1);
        assert_eq!(h.sim.requests().len(), 1);

        // authinfo: the refusal comes with the first call (bm4's order.7 in the legacy
        // form, code 6 naming the bad password), and no later call carries the password.
        let h = start(case, SimConfig::default()).await;
        let c = client_as(&h, case, LoginMode::Authinfo, "wrong");
        let m = vds_manifest(case);
        let (func, params) = order_params(&m, 1, "web-01.example.com");
        let err = c.order(&func, &pairs(&params)).await.unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::Auth {
                object: "badpassword".into()
            }
        );
        let again = c.whoami().await.unwrap_err();
        assert!(again.is_fatal());
        assert_eq!(h.sim.requests().len(), 1);
        assert!(h.sim.services().is_empty());
    })
    .await;
}

#[tokio::test]
async fn authinfo_on_every_call_works_like_a_session() {
    each(cases(), |case| async move {
        let h = start(case, SimConfig::default()).await;
        let c = client_as(&h, case, LoginMode::Authinfo, "demo");
        let m = vds_manifest(case);
        let (func, params) = order_params(&m, 1, "web-01.example.com");
        c.order(&func, &pairs(&params)).await.unwrap();
        let listed = c.list_complete("vds").await.unwrap();
        assert_eq!(listed[0].domain.as_deref(), Some("web-01.example.com"));
        assert_eq!(auth_calls(&h), 0);
        let masked = h
            .sim
            .requests()
            .iter()
            .flat_map(|r| r.params.clone())
            .filter(|(k, _)| k == "authinfo")
            .all(|(_, v)| v == "demo:***");
        assert!(masked);
    })
    .await;
}

// ---------------------------------------------------------------- faults through the client

async fn faulty(case: Case, faults: Faults) -> (SimHandle, BillingClient) {
    let h = start(
        case,
        SimConfig {
            faults,
            ..SimConfig::default()
        },
    )
    .await;
    // authinfo: the fault hits the call under test, not a login before it.
    let c = client_as(&h, case, LoginMode::Authinfo, "demo");
    (h, c)
}

fn first_order(case: Case) -> (String, Vec<(String, String)>) {
    order_params(&vds_manifest(case), 1, "web-01.example.com")
}

#[tokio::test]
async fn unavailable_before_work_is_a_server_error() {
    each(cases(), |case| async move {
        let faults = Faults {
            fail_before: 1.0,
            ..Faults::default()
        };
        let (h, c) = faulty(case, faults).await;
        let (func, params) = first_order(case);
        let err: ApiError = c.order(&func, &pairs(&params)).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Server { status: 503 });
        // The client cannot know nothing happened: reconcile before ordering again.
        assert!(err.outcome_unknown());
        assert!(h.sim.services().is_empty());
        let err = c.whoami().await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Server { status: 503 });
        assert!(err.retryable(), "a read is safe to repeat");
    })
    .await;
}

#[tokio::test]
async fn a_connection_dropped_after_the_order_leaves_the_outcome_unknown() {
    each(cases(), |case| async move {
        let faults = Faults {
            drop_after: 1.0,
            ..Faults::default()
        };
        let (h, c) = faulty(case, faults).await;
        let (func, params) = first_order(case);
        let err = c.order(&func, &pairs(&params)).await.unwrap_err();
        assert!(err.outcome_unknown(), "{err}");
        assert!(!err.retryable());
        // The order was placed: the list (reads are never dropped) shows it.
        let listed = c.list_complete("vds").await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].domain.as_deref(), Some("web-01.example.com"));
        assert_eq!(h.sim.services()[0].domain, "web-01.example.com");
    })
    .await;
}

#[tokio::test]
async fn throttling_is_reported_with_retry_after() {
    each(cases(), |case| async move {
        // A limit of 0 refuses every request, whatever the clock says.
        let faults = Faults {
            throttle_rps: Some(0),
            ..Faults::default()
        };
        let (h, c) = faulty(case, faults).await;
        let err = c.whoami().await.unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::Throttled {
                retry_after: Some(Duration::from_secs(1))
            }
        );
        assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
        assert!(err.retryable());
        assert_eq!(h.sim.requests()[0].outcome, "fault:429");
    })
    .await;
}
