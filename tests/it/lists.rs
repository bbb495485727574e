//! Service lists of unfriendly installs, through the binary: pages capped below `p_cnt`, no
//! total, paging ignored, lean rows, saved filters; and a domain refused as taken that turns
//! out to be this account's own service.

use std::time::Duration;

use billfleet::report::RowOutcome;
use billfleet::sim::{Faults, LoggedRequest, NewService, Sim, SimConfig, SimHandle, SimService};

use super::harness::{self, Billfleet, read_report};

/// A one-group BILLmanager 6 manifest of `count` servers `web-NNN.example.com`.
fn manifest(count: u32, execution: &str) -> String {
    manifest_in("json", count, execution)
}

/// The same, with answers asked for in `format` (`json` or `xml`).
fn manifest_in(format: &str, count: u32, execution: &str) -> String {
    format!(
        "version: 1\nbilling:\n  dialect: bm6\n  format: {format}\nfleet:\n  name: web\n  type: vds\n  \
         count: {count}\n  domain: \"web-{{seq:03}}.example.com\"\n  pricelist: 6\n  \
         datacenter: 1\n  period: 1\n  ostempl: ISPsystem__CentOS-7-amd64\n  \
         addons: {{10: 1, 11: 1024}}\n  payment: balance\nexecution:\n{execution}"
    )
}

const FAST: &str = "  concurrency: 8\n  rate: 200\n";

async fn sim(faults: Faults) -> SimHandle {
    harness::sim(SimConfig {
        faults,
        activation: Duration::from_millis(200),
        ..SimConfig::default()
    })
    .await
}

fn live(sim: &Sim) -> Vec<SimService> {
    sim.services()
        .into_iter()
        .filter(|s| s.account == harness::USER && matches!(s.status, 1 | 2 | 3 | 5))
        .collect()
}

fn is_order(r: &LoggedRequest) -> bool {
    r.func.ends_with(".order.param") && r.params.iter().any(|(k, v)| k == "sok" && v == "ok")
}

fn order_calls(requests: &[LoggedRequest]) -> usize {
    requests.iter().filter(|r| is_order(r)).count()
}

fn apply(count: u32, sim: &SimHandle) -> Billfleet {
    Billfleet::new()
        .manifest("web.yaml", &manifest(count, FAST))
        .billing(sim)
        .args(["apply", "web.yaml", "--yes"])
}

/// Applies `count` servers twice against `faults`: the second run orders nothing, and the
/// billing holds exactly `count` live services.
async fn rerun_orders_nothing(count: u32, faults: Faults) {
    rerun_orders_nothing_in("json", count, faults).await;
}

async fn rerun_orders_nothing_in(format: &str, count: u32, faults: Faults) {
    let sim = sim(faults).await;
    let bf = Billfleet::new()
        .manifest("web.yaml", &manifest_in(format, count, FAST))
        .billing(&sim)
        .args(["apply", "web.yaml", "--yes"]);
    bf.run().await.code(0);
    assert_eq!(live(&sim.sim).len(), count as usize);
    let before = sim.sim.requests().len();
    let second = bf.run().await;
    second.code(0);
    assert_eq!(order_calls(&sim.sim.requests()[before..]), 0);
    assert_eq!(live(&sim.sim).len(), count as usize);
    let rows = second.report("web.results.csv");
    assert_eq!(rows.len(), count as usize);
    assert!(
        rows.iter().all(|r| r.outcome == RowOutcome::Exists),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capped_pages_with_a_total_are_read_whole() {
    let faults = Faults {
        page_cap: Some(7),
        ..Faults::default()
    };
    rerun_orders_nothing(30, faults).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capped_pages_without_a_total_are_read_whole() {
    let faults = Faults {
        page_cap: Some(7),
        no_total: true,
        ..Faults::default()
    };
    rerun_orders_nothing(30, faults).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lean_rows_are_matched_by_item_status_and_domain() {
    let faults = Faults {
        lean_rows: true,
        page_cap: Some(7),
        ..Faults::default()
    };
    rerun_orders_nothing(20, faults).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lean_rows_in_xml_answers_too() {
    let faults = Faults {
        lean_rows: true,
        page_cap: Some(4),
        no_total: true,
        ..Faults::default()
    };
    rerun_orders_nothing_in("xml", 9, faults).await;
}

/// Ten services of the account that are not the fleet's, so that a list takes two pages.
fn unrelated_services(sim: &Sim, n: usize) {
    for i in 0..n {
        sim.add_service(NewService {
            domain: format!("other-{i}.example.org"),
            ..NewService::default()
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_billing_ignoring_paging_gets_no_order_and_the_plan_fails() {
    let sim = sim(Faults {
        page_cap: Some(7),
        ignore_paging: true,
        ..Faults::default()
    })
    .await;
    unrelated_services(&sim.sim, 10);
    let bf = apply(5, &sim);
    let ran = bf.run().await;
    ran.code(1);
    assert_eq!(order_calls(&sim.sim.requests()), 0);
    let rows = ran.report("web.results.csv");
    assert_eq!(rows.len(), 5);
    for row in &rows {
        assert_eq!(row.outcome, RowOutcome::Failed);
        let error = row.error.as_deref().unwrap_or_default();
        assert!(error.contains("cannot be completed"), "{error}");
        assert!(error.contains("not known to be complete"), "{error}");
    }
    assert!(
        ran.stderr
            .contains("group `web`: the vds service list is not known to be complete"),
        "{}",
        ran.stderr
    );

    let plan = bf.args(["plan", "web.yaml"]).run().await;
    plan.code(1);
    assert!(
        plan.stderr
            .contains("group `web`: the vds service list is not known to be complete"),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains("repeats"), "{}", plan.stderr);
    assert_eq!(order_calls(&sim.sim.requests()), 0);
}

/// Services of the fleet made outside billfleet, suspended: a saved "active only" filter
/// hides them.
fn suspended_fleet(sim: &Sim, n: u32) {
    for seq in 1..=n {
        sim.add_service(NewService {
            domain: format!("web-{seq:03}.example.com"),
            remoteid: Some(format!("web-{seq}")),
            status: 3,
            ..NewService::default()
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_filter_is_cleared_before_the_list_is_trusted() {
    let sim = sim(Faults {
        sticky_filter: true,
        ..Faults::default()
    })
    .await;
    suspended_fleet(&sim.sim, 4);
    let bf = apply(4, &sim);
    let ran = bf.run().await;
    ran.code(0);
    assert_eq!(order_calls(&sim.sim.requests()), 0);
    let rows = ran.report("web.results.csv");
    // Present, never ordered again (the services made here carry no addons, so apply may
    // push the manifest's addons to them).
    assert!(
        rows.iter()
            .all(|r| matches!(r.outcome, RowOutcome::Exists | RowOutcome::Updated)),
        "{rows:?}"
    );
    let reset = sim.sim.requests().into_iter().any(|r| {
        r.func == "vds.filter"
            && r.params.iter().any(|(k, v)| k == "status" && v.is_empty())
            && r.params.iter().any(|(k, v)| k == "sok" && v == "ok")
    });
    assert!(reset, "the filter form was submitted with its fields empty");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_that_cannot_be_cleared_orders_nothing() {
    let sim = sim(Faults {
        sticky_filter: true,
        filter_reset_ignored: true,
        ..Faults::default()
    })
    .await;
    suspended_fleet(&sim.sim, 3);
    let bf = apply(3, &sim);
    let ran = bf.run().await;
    ran.code(1);
    assert_eq!(order_calls(&sim.sim.requests()), 0);
    let rows = ran.report("web.results.csv");
    for row in &rows {
        assert_eq!(row.outcome, RowOutcome::Failed);
        let error = row.error.as_deref().unwrap_or_default();
        assert!(error.contains("filter"), "{error}");
    }
    assert_eq!(live(&sim.sim).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_taken_by_this_account_is_exists_not_moved() {
    let sim = harness::sim(SimConfig {
        faults: Faults {
            latency: Duration::from_millis(60),
            ..Faults::default()
        },
        activation: Duration::from_millis(200),
        ..SimConfig::default()
    })
    .await;
    let bf = Billfleet::new()
        .manifest("web.yaml", &manifest(3, "  concurrency: 1\n  rate: 50\n"))
        .billing(&sim)
        .args(["apply", "web.yaml", "--yes"]);
    let mut child = bf.spawn();
    // Another run (on another machine) orders web-003 once this run has planned.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while order_calls(&sim.sim.requests()) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no order was sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let theirs = sim.sim.add_service(NewService {
        domain: "web-003.example.com".into(),
        ..NewService::default()
    });
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(0));
    let rows = read_report(&bf.path("web.results.csv"));
    let outcomes: Vec<RowOutcome> = rows.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [RowOutcome::Ordered, RowOutcome::Ordered, RowOutcome::Exists]
    );
    assert_eq!(rows[2].service_id.as_deref(), Some(theirs.as_str()));
    assert_eq!(rows[2].domain, "web-003.example.com");
    let requests = sim.sim.requests();
    let moved = requests.iter().filter(|r| is_order(r)).any(|r| {
        r.params
            .iter()
            .any(|(k, v)| k == "domain" && v.starts_with("web-004"))
    });
    assert!(!moved, "the server was not moved");
    assert_eq!(live(&sim.sim).len(), 3);

    let before = sim.sim.requests().len();
    let again = bf.run().await;
    again.code(0);
    assert_eq!(order_calls(&sim.sim.requests()[before..]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_outcome_is_never_resent_on_an_incomplete_list() {
    // Three rows a page and paging ignored: the survey's list (empty) is complete, but once
    // orders land, a reconcile cannot see the whole list.
    let sim = sim(Faults {
        seed: 3,
        page_cap: Some(3),
        ignore_paging: true,
        drop_after: 0.5,
        ..Faults::default()
    })
    .await;
    let bf = apply(8, &sim);
    let ran = bf.run().await;
    ran.code(1);
    let requests = sim.sim.requests();
    assert!(requests.iter().any(|r| r.outcome == "fault:dropped"));
    let mut domains: Vec<&str> = requests
        .iter()
        .filter(|r| is_order(r))
        .filter_map(|r| r.params.iter().find(|(k, _)| k == "domain"))
        .map(|(_, v)| v.as_str())
        .collect();
    let sent = domains.len();
    domains.sort_unstable();
    domains.dedup();
    assert_eq!(domains.len(), sent, "an order was sent twice: {domains:?}");
    assert_eq!(live(&sim.sim).len(), sent);
    let rows = ran.report("web.results.csv");
    let unsure: Vec<_> = rows
        .iter()
        .filter(|r| r.outcome == RowOutcome::Failed)
        .collect();
    assert!(!unsure.is_empty());
    for row in unsure {
        let error = row.error.as_deref().unwrap_or_default();
        assert!(error.contains("not known to be complete"), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_commands_refuse_an_incomplete_list() {
    let sim = sim(Faults::default()).await;
    let bf = apply(9, &sim);
    bf.run().await.code(0);
    sim.sim.set_faults(Faults {
        page_cap: Some(4),
        ignore_paging: true,
        ..Faults::default()
    });
    let before = sim.sim.requests().len();
    let ran = bf.args(["destroy", "web.yaml", "--yes"]).run().await;
    ran.code(3);
    assert!(
        ran.stderr.contains("not known to be complete"),
        "{}",
        ran.stderr
    );
    let deletes = sim.sim.requests()[before..]
        .iter()
        .filter(|r| r.func.ends_with(".delete"))
        .count();
    assert_eq!(deletes, 0);
    assert_eq!(live(&sim.sim).len(), 9);
}

/// `billfleet sandbox` with the list fault flags, as a user starts it: the URL it announces.
async fn sandbox_with(flags: &[&str]) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_billfleet"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--activation-ms", "0"])
        .args(flags)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    // A guard against a hang, not a speed check.
    let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
        .await
        .expect("the sandbox announces its address")
        .unwrap()
        .expect("a line on stdout");
    let url = line.strip_prefix("listening on ").unwrap().to_owned();
    (child, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_flags_make_an_unfriendly_install_and_the_rerun_orders_nothing() {
    let flags = [
        "--page-cap",
        "5",
        "--no-total",
        "--lean-rows",
        "--sticky-filter",
    ];
    let (_sandbox, url) = sandbox_with(&flags).await;
    let bf = Billfleet::new()
        .manifest("web.yaml", &manifest(12, FAST))
        .credentials(&url, harness::USER, harness::PASSWORD)
        .args(["apply", "web.yaml", "--yes"]);
    let first = bf.run().await;
    first.code(0);
    let rows = first.report("web.results.csv");
    assert!(rows.iter().all(|r| r.outcome == RowOutcome::Ordered));
    let second = bf.run().await;
    second.code(0);
    let rows = second.report("web.results.csv");
    assert_eq!(rows.len(), 12);
    assert!(
        rows.iter().all(|r| r.outcome == RowOutcome::Exists),
        "{rows:?}"
    );

    let (_paging, url) = sandbox_with(&["--page-cap", "3", "--ignore-paging"]).await;
    let bf = bf.credentials(&url, harness::USER, harness::PASSWORD);
    bf.run().await.code(0);
    let plan = bf.args(["plan", "web.yaml"]).run().await;
    plan.code(1);
    assert!(
        plan.stderr
            .contains("group `web`: the vds service list is not known to be complete"),
        "{}",
        plan.stderr
    );
}
