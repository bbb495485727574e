//! `billfleet apply` end to end: the real binary against an in-process simulator on port 0.

use std::collections::HashSet;
use std::time::Duration;

use billfleet::report::RowOutcome;
use billfleet::sim::{Faults, LoggedRequest, Sim, SimConfig, SimDialect, SimService};

use super::harness::{self, Billfleet};

/// A one-group VPS manifest for `dialect`, with `execution` lines appended.
fn manifest(dialect: &str, count: u32, execution: &str) -> String {
    let group = if dialect == "bm4" {
        "  pricelist: 1100\n  period: 1210\n  ostempl: Centos-6.7-x86_64-minimal\n  \
         addons: {1101: 20, 1103: 1, 1104: 1, 1110: 1, 1791: 4}\n  \
         enums: {1106: 25, 1112: 21}\n"
    } else {
        "  pricelist: 6\n  datacenter: 1\n  period: 1\n  autoprolong: 1\n  \
         ostempl: ISPsystem__CentOS-7-amd64\n  addons: {10: 1, 11: 1024}\n  payment: balance\n"
    };
    let login = if dialect == "bm4" {
        "authinfo"
    } else {
        "session"
    };
    format!(
        "version: 1\nbilling:\n  dialect: {dialect}\n  login: {login}\nfleet:\n  name: web\n  \
         type: vds\n  count: {count}\n  domain: \"web-{{seq:03}}.example.com\"\n{group}\
         execution:\n{execution}"
    )
}

fn sim_config(dialect: SimDialect) -> SimConfig {
    SimConfig {
        dialect,
        activation: Duration::from_millis(200),
        ..SimConfig::default()
    }
}

fn live(sim: &Sim) -> Vec<SimService> {
    sim.services()
        .into_iter()
        .filter(|s| s.account == harness::USER && matches!(s.status, 1 | 2 | 3 | 5))
        .collect()
}

fn is_order(r: &LoggedRequest) -> bool {
    let order_func = r.func.ends_with(".order.param") || r.func.ends_with(".order.7");
    order_func && r.params.iter().any(|(k, v)| k == "sok" && v == "ok")
}

fn order_calls(requests: &[LoggedRequest]) -> usize {
    requests.iter().filter(|r| is_order(r)).count()
}

/// Asserts that no domain and no remoteid is held by two live services.
fn assert_unique(services: &[SimService]) {
    let domains: HashSet<&str> = services.iter().map(|s| s.domain.as_str()).collect();
    assert_eq!(domains.len(), services.len(), "a domain twice");
    let remoteids: HashSet<&str> = services
        .iter()
        .filter_map(|s| s.remoteid.as_deref())
        .collect();
    assert_eq!(
        remoteids.len(),
        services.len(),
        "a remoteid twice or missing"
    );
}

/// The largest number of logged requests within any one-second window.
fn busiest_second(requests: &[LoggedRequest]) -> usize {
    let mut at: Vec<u64> = requests.iter().map(|r| r.at_ms).collect();
    at.sort_unstable();
    let mut best = 0;
    let mut start = 0;
    for end in 0..at.len() {
        while at[end] - at[start] >= 1000 {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

fn apply(bf: Billfleet, sim: &billfleet::sim::SimHandle) -> Billfleet {
    bf.billing(sim).args(["apply", "web.yaml", "--yes"])
}

/// The rows of a stopped six-server run: the two that failed, then four never attempted.
fn assert_two_failed_then_skipped(rows: &[billfleet::report::ReportRow]) {
    let outcomes: Vec<RowOutcome> = rows.iter().map(|r| r.outcome).collect();
    let mut expected = vec![RowOutcome::Failed; 2];
    expected.extend([RowOutcome::Skipped; 4]);
    assert_eq!(outcomes, expected);
}

/// How many report rows have `outcome`.
fn count(rows: &[billfleet::report::ReportRow], outcome: RowOutcome) -> usize {
    rows.iter().filter(|r| r.outcome == outcome).count()
}

/// Starts a slow simulator (40 ms a call) and `apply` of `count` servers in the background,
/// and returns once `landed` services are live: the moment to interrupt it.
async fn apply_until_landed(
    count: u32,
    execution: &str,
    landed: usize,
) -> (billfleet::sim::SimHandle, Billfleet, tokio::process::Child) {
    let sim = harness::sim(SimConfig {
        faults: Faults {
            latency: Duration::from_millis(40),
            ..Faults::default()
        },
        ..sim_config(SimDialect::Bm5)
    })
    .await;
    let bf = apply(
        Billfleet::new().manifest("web.yaml", &manifest("bm5", count, execution)),
        &sim,
    );
    let child = bf.spawn();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while live(&sim.sim).len() < landed {
        assert!(tokio::time::Instant::now() < deadline, "no orders landed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (sim, bf, child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_servers_through_faults_then_nothing_the_second_time() {
    let sim = harness::sim(SimConfig {
        faults: Faults {
            seed: 7,
            latency: Duration::from_millis(20),
            jitter: Duration::from_millis(10),
            fail_before: 0.15,
            drop_after: 0.10,
            throttle_rps: Some(40),
            session_expiry_requests: None,
            ..Faults::default()
        },
        ..sim_config(SimDialect::Bm5)
    })
    .await;
    let exec = "  concurrency: 8\n  rate: 30\n  retries: 8\n";
    let bf = apply(
        Billfleet::new().manifest("web.yaml", &manifest("bm5", 300, exec)),
        &sim,
    );
    let first = bf.run().await;
    first.code(0);
    let services = live(&sim.sim);
    assert_eq!(services.len(), 300);
    assert_unique(&services);
    let rows = first.report("web.results.csv");
    assert_eq!(rows.len(), 300);
    assert!(
        rows.iter().all(|r| r.outcome == RowOutcome::Ordered),
        "{rows:?}"
    );
    assert_eq!(rows[41].seq, 42);
    assert_eq!(rows[41].domain, "web-042.example.com");
    assert_eq!(rows[41].remoteid.as_deref(), Some("web-42"));
    let requests = sim.sim.requests();
    let dropped = requests
        .iter()
        .filter(|r| r.outcome == "fault:dropped")
        .count();
    assert!(dropped > 0, "the faults were exercised");
    assert!(
        busiest_second(&requests) <= 31,
        "{} calls in one second",
        busiest_second(&requests)
    );

    let before = requests.len();
    let second = bf.run().await;
    second.code(0);
    let requests = sim.sim.requests();
    assert_eq!(order_calls(&requests[before..]), 0);
    assert_eq!(live(&sim.sim).len(), 300);
    let rows = second.report("web.results.csv");
    assert!(
        rows.iter().all(|r| r.outcome == RowOutcome::Exists),
        "{rows:?}"
    );
    assert!(rows.iter().all(|r| r.service_id.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_run_the_rerun_completes_without_duplicates() {
    let (sim, bf, mut child) = apply_until_landed(60, "  concurrency: 4\n  rate: 25\n", 12).await;
    child.kill().await.unwrap();
    let landed = live(&sim.sim).len();
    assert!(landed < 60, "killed too late: {landed}");
    // Let a call the dead process left on the wire finish in the billing.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let rerun = bf.run().await;
    rerun.code(0);
    let services = live(&sim.sim);
    assert_eq!(services.len(), 60);
    assert_unique(&services);
    let rows = rerun.report("web.results.csv");
    let exists = count(&rows, RowOutcome::Exists);
    let ordered = count(&rows, RowOutcome::Ordered);
    assert!(
        exists >= landed,
        "{exists} exists, {landed} landed before the kill"
    );
    assert_eq!(exists + ordered, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_domains_move_past_the_range_and_the_rerun_finds_them() {
    let sim = harness::sim(sim_config(SimDialect::Bm6)).await;
    sim.sim.take_domain("web-002.example.com");
    sim.sim.take_domain("web-004.example.com");
    let exec = "  concurrency: 2\n  rate: 50\n  on_collision: next\n";
    let bf = apply(
        Billfleet::new().manifest("web.yaml", &manifest("bm6", 5, exec)),
        &sim,
    );
    let ran = bf.run().await;
    ran.code(0);
    let services = live(&sim.sim);
    assert_eq!(services.len(), 5);
    assert_unique(&services);
    let domains: HashSet<&str> = services.iter().map(|s| s.domain.as_str()).collect();
    for d in ["web-001", "web-003", "web-005", "web-006", "web-007"] {
        assert!(
            domains.contains(format!("{d}.example.com").as_str()),
            "{domains:?}"
        );
    }
    let rows = ran.report("web.results.csv");
    let moved: Vec<(u64, &str, Option<&str>)> = rows
        .iter()
        .filter(|r| r.original_domain.is_some())
        .map(|r| (r.seq, r.domain.as_str(), r.original_domain.as_deref()))
        .collect();
    assert_eq!(moved.len(), 2, "{rows:?}");
    let mut new_domains: Vec<&str> = moved.iter().map(|m| m.1).collect();
    new_domains.sort_unstable();
    assert_eq!(new_domains, ["web-006.example.com", "web-007.example.com"]);
    assert_eq!(moved[0].0, 2);
    assert_eq!(moved[0].2, Some("web-002.example.com"));
    assert_eq!(moved[1].2, Some("web-004.example.com"));
    assert!(rows.iter().all(|r| r.outcome == RowOutcome::Ordered));
    assert!(
        rows[1].attempts >= 2,
        "the refused call counts: {:?}",
        rows[1]
    );

    let before = sim.sim.requests().len();
    let again = bf.run().await;
    again.code(0);
    assert_eq!(order_calls(&sim.sim.requests()[before..]), 0);
    let rows = again.report("web.results.csv");
    assert!(rows.iter().all(|r| r.outcome == RowOutcome::Exists));
    assert!(rows[1].domain.starts_with("web-00"), "{:?}", rows[1]);
    assert_eq!(
        rows[1].original_domain.as_deref(),
        Some("web-002.example.com")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bm4_moved_server_is_found_by_its_journaled_domain() {
    let sim = harness::sim(sim_config(SimDialect::Bm4)).await;
    sim.sim.take_domain("web-001.example.com");
    let exec = "  concurrency: 1\n  rate: 50\n  on_collision: next\n";
    let bf = apply(
        Billfleet::new().manifest("web.yaml", &manifest("bm4", 2, exec)),
        &sim,
    );
    bf.run().await.code(0);
    let mut domains: Vec<String> = live(&sim.sim).into_iter().map(|s| s.domain).collect();
    domains.sort();
    assert_eq!(domains, ["web-002.example.com", "web-003.example.com"]);

    let before = sim.sim.requests().len();
    let again = bf.run().await;
    again.code(0);
    assert_eq!(
        order_calls(&sim.sim.requests()[before..]),
        0,
        "{}",
        again.stderr
    );
    assert_eq!(live(&sim.sim).len(), 2);
    let rows = again.report("web.results.csv");
    assert_eq!(rows[0].outcome, RowOutcome::Exists);
    assert_eq!(rows[0].domain, "web-003.example.com");
    assert!(rows[0].service_id.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_domains_fail_with_on_collision_fail() {
    let sim = harness::sim(sim_config(SimDialect::Bm5)).await;
    sim.sim.take_domain("web-002.example.com");
    sim.sim.take_domain("web-004.example.com");
    let exec = "  concurrency: 2\n  rate: 50\n  on_collision: fail\n";
    let bf = apply(
        Billfleet::new().manifest("web.yaml", &manifest("bm5", 5, exec)),
        &sim,
    );
    let ran = bf.run().await;
    ran.code(1);
    assert_eq!(live(&sim.sim).len(), 3);
    let rows = ran.report("web.results.csv");
    let failed: Vec<u64> = rows
        .iter()
        .filter(|r| r.outcome == RowOutcome::Failed)
        .map(|r| r.seq)
        .collect();
    assert_eq!(failed, [2, 4]);
    let error = rows[1].error.as_deref().unwrap_or_default();
    assert!(error.contains("domain"), "{error}");
    assert_eq!(rows[1].domain, "web-002.example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_aborts_before_ordering_and_never_shows_it() {
    const WRONG: &str = "Wr0ng-pass-7f3a";
    let sim = harness::sim(sim_config(SimDialect::Bm5)).await;
    let bf = Billfleet::new()
        .manifest("web.yaml", &manifest("bm5", 3, "  rate: 50\n"))
        .credentials(&sim.url, harness::USER, WRONG)
        .args(["apply", "web.yaml", "--yes"]);
    let ran = bf.run().await;
    ran.code(3);
    let requests = sim.sim.requests();
    assert_eq!(order_calls(&requests), 0);
    let auth = requests.iter().filter(|r| r.func == "auth").count();
    assert!((1..=2).contains(&auth), "{auth} auth calls");
    assert!(
        ran.stderr.contains("authentication refused"),
        "{}",
        ran.stderr
    );
    assert!(!ran.stdout.contains(WRONG) && !ran.stderr.contains(WRONG));
    for name in [".billfleet/web.journal", "web.results.csv"] {
        if let Ok(text) = std::fs::read_to_string(bf.path(name)) {
            assert!(!text.contains(WRONG), "{name}");
        }
    }
    for r in &requests {
        assert!(r.params.iter().all(|(_, v)| !v.contains(WRONG)), "{r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_guard_and_short_balance_order_nothing() {
    let sim = harness::sim(sim_config(SimDialect::Bm5)).await;
    let over = manifest("bm5", 4, "  rate: 50\n  max_spend: 1\n");
    let bf = apply(Billfleet::new().manifest("web.yaml", &over), &sim);
    let ran = bf.run().await;
    ran.code(3);
    assert!(ran.stderr.contains("max_spend"), "{}", ran.stderr);
    assert_eq!(order_calls(&sim.sim.requests()), 0);
    let rows = ran.report("web.results.csv");
    assert!(rows.iter().all(|r| r.outcome == RowOutcome::Skipped));

    let poor = harness::sim(SimConfig {
        balance_cents: 100,
        ..sim_config(SimDialect::Bm5)
    })
    .await;
    let fine = manifest("bm5", 4, "  rate: 50\n");
    let bf = apply(Billfleet::new().manifest("web.yaml", &fine), &poor);
    let ran = bf.run().await;
    ran.code(3);
    assert!(ran.stderr.contains("balance"), "{}", ran.stderr);
    assert_eq!(order_calls(&poor.sim.requests()), 0);
    assert!(live(&poor.sim).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_canary_stops_the_rollout() {
    let sim = harness::sim(sim_config(SimDialect::Bm5)).await;
    sim.sim.take_domain("web-001.example.com");
    sim.sim.take_domain("web-002.example.com");
    let exec = "  concurrency: 2\n  rate: 50\n  on_collision: fail\n";
    let bf = apply(
        Billfleet::new().manifest("web.yaml", &manifest("bm5", 6, exec)),
        &sim,
    )
    .args(["apply", "web.yaml", "--yes", "--canary", "2"]);
    let ran = bf.run().await;
    ran.code(3);
    assert!(live(&sim.sim).is_empty());
    assert_eq!(order_calls(&sim.sim.requests()), 2);
    assert_two_failed_then_skipped(&ran.report("web.results.csv"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_then_wait_fills_status_ip_and_the_inventory() {
    let sim = harness::sim(sim_config(SimDialect::Bm5)).await;
    let exec = "  concurrency: 2\n  rate: 50\n";
    let bf = apply(
        Billfleet::new().manifest("web.yaml", &manifest("bm5", 4, exec)),
        &sim,
    )
    .args([
        "apply",
        "web.yaml",
        "--yes",
        "--canary",
        "1",
        "--wait",
        "--wait-timeout",
        "30",
        "--inventory",
        "hosts.yaml",
    ]);
    let ran = bf.run().await;
    ran.code(0);
    let rows = ran.report("web.results.csv");
    assert_eq!(rows.len(), 4);
    for row in &rows {
        assert_eq!(row.outcome, RowOutcome::Ordered);
        assert_eq!(row.status.as_deref(), Some("2"), "{row:?}");
        assert!(row.ip.is_some(), "{row:?}");
    }
    let inventory = std::fs::read_to_string(ran.dir.join("hosts.yaml")).unwrap();
    let value: serde_norway::Value = serde_norway::from_str(&inventory).unwrap();
    let hosts = value["all"]["children"]["web"]["hosts"]
        .as_mapping()
        .unwrap();
    assert_eq!(hosts.len(), 4);
    let first = hosts.get("web-001.example.com").unwrap();
    assert_eq!(first["ansible_host"].as_str(), rows[0].ip.as_deref());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_failures_stops_dispatching() {
    let sim = harness::sim(sim_config(SimDialect::Bm5)).await;
    for d in ["web-001", "web-002", "web-003"] {
        sim.sim.take_domain(&format!("{d}.example.com"));
    }
    let exec = "  concurrency: 1\n  rate: 50\n  on_collision: fail\n";
    let bf = apply(
        Billfleet::new().manifest("web.yaml", &manifest("bm5", 6, exec)),
        &sim,
    )
    .args(["apply", "web.yaml", "--yes", "--max-failures", "2"]);
    let ran = bf.run().await;
    ran.code(3);
    assert_eq!(order_calls(&sim.sim.requests()), 2);
    assert_two_failed_then_skipped(&ran.report("web.results.csv"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_without_yes_or_while_locked_and_sends_nothing() {
    let sim = harness::sim(sim_config(SimDialect::Bm5)).await;
    let bf = Billfleet::new()
        .manifest("web.yaml", &manifest("bm5", 2, "  rate: 50\n"))
        .billing(&sim)
        .args(["apply", "web.yaml"]);
    let ran = bf.run().await;
    ran.code(2);
    assert!(ran.stderr.contains("--yes"), "{}", ran.stderr);

    let lock = billfleet::executor::ApplyLock::acquire(&bf.path("web.yaml")).unwrap();
    let ran = bf.arg("--yes").run().await;
    ran.code(2);
    assert!(ran.stderr.contains("another run"), "{}", ran.stderr);
    drop(lock);
    assert!(sim.sim.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_in_the_sandbox() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.yaml");
    let bf = Billfleet::new()
        .manifest(
            "quickstart.yaml",
            &std::fs::read_to_string(example).unwrap(),
        )
        .args(["apply", "quickstart.yaml", "--sandbox", "--yes"]);
    let ran = bf.run().await;
    ran.code(0);
    let rows = ran.report("quickstart.results.csv");
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.outcome == RowOutcome::Ordered));
    assert!(bf.path(".billfleet/sandbox.json").exists());

    let plan = bf
        .args(["plan", "quickstart.yaml", "--sandbox", "--output", "json"])
        .run()
        .await;
    plan.code(0);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(json["summary"]["exists"], 5);
    assert_eq!(json["summary"]["order"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_dispatching_writes_the_report_and_the_rerun_finishes() {
    let (sim, bf, mut child) = apply_until_landed(40, "  concurrency: 2\n  rate: 20\n", 4).await;
    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(3));
    let rows = harness::read_report(&bf.path("web.results.csv"));
    let ordered = count(&rows, RowOutcome::Ordered);
    let skipped = count(&rows, RowOutcome::Skipped);
    assert_eq!(ordered + skipped, 40, "{rows:?}");
    assert!(skipped > 0 && ordered >= 4);
    assert_eq!(
        live(&sim.sim).len(),
        ordered,
        "calls in flight finished and were reported"
    );

    bf.run().await.code(0);
    let services = live(&sim.sim);
    assert_eq!(services.len(), 40);
    assert_unique(&services);
}
