//! The lock of a billing account and fleet (not of a manifest's path), SIGTERM handled like
//! Ctrl-C, and what `apply` checks before it spends: the real binary against a simulator.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use billfleet::executor::{FleetLock, LockKey};
use billfleet::report::RowOutcome;
use billfleet::sim::{Faults, LoggedRequest, Sim, SimConfig, SimDialect, SimHandle, SimService};
use tempfile::TempDir;

use super::harness::{self, Billfleet};

/// A one-group bm5 VPS manifest of `count` servers.
fn manifest(count: u32, execution: &str) -> String {
    format!(
        "version: 1\nbilling:\n  dialect: bm5\nfleet:\n  name: web\n  type: vds\n  \
         count: {count}\n  domain: \"web-{{seq:03}}.example.com\"\n  pricelist: 6\n  \
         datacenter: 1\n  period: 1\n  autoprolong: 1\n  ostempl: ISPsystem__CentOS-7-amd64\n  \
         addons: {{10: 1, 11: 1024}}\n  payment: balance\nexecution:\n{execution}"
    )
}

/// A simulator answering every call after `latency_ms`.
async fn slow_sim(latency_ms: u64) -> SimHandle {
    harness::sim(SimConfig {
        dialect: SimDialect::Bm5,
        activation: Duration::from_millis(200),
        faults: Faults {
            latency: Duration::from_millis(latency_ms),
            ..Faults::default()
        },
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

fn order_calls(sim: &Sim) -> usize {
    sim.requests().iter().filter(|r| is_order(r)).count()
}

/// Asserts exactly `n` live services with distinct domains.
fn assert_exactly(sim: &Sim, n: usize) {
    let services = live(sim);
    let domains: HashSet<&str> = services.iter().map(|s| s.domain.as_str()).collect();
    assert_eq!(services.len(), n, "live services");
    assert_eq!(domains.len(), n, "a domain twice");
}

fn count(rows: &[billfleet::report::ReportRow], outcome: RowOutcome) -> usize {
    rows.iter().filter(|r| r.outcome == outcome).count()
}

/// `apply web.yaml --yes` of `count` servers from a checkout of its own, with the user's
/// state directory (where the locks live) at `state`.
fn checkout(sim: &SimHandle, state: &Path, count: u32) -> Billfleet {
    Billfleet::new()
        .manifest(
            "web.yaml",
            &manifest(count, "  concurrency: 2\n  rate: 20\n"),
        )
        .billing(sim)
        .env("XDG_STATE_HOME", state.to_str().unwrap())
        .args(["apply", "web.yaml", "--yes"])
}

/// Starts `bf` in the background and returns once `landed` services are live.
async fn start_until_landed(bf: &Billfleet, sim: &Sim, landed: usize) -> tokio::process::Child {
    let child = bf.spawn();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while live(sim).len() < landed {
        assert!(tokio::time::Instant::now() < deadline, "no orders landed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child
}

async fn wait_exit(child: &mut tokio::process::Child) -> Option<i32> {
    tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the run did not end")
        .unwrap()
        .code()
}

fn lock_files(state: &Path) -> Vec<PathBuf> {
    let dir = state.join("billfleet/locks");
    std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

fn send(signal: &str, pid: u32) {
    let sent = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_checkout_is_refused_naming_the_holder_and_orders_nothing() {
    let sim = slow_sim(40).await;
    let state = TempDir::new().unwrap();
    let first = checkout(&sim, state.path(), 40);
    let mut child = start_until_landed(&first, &sim.sim, 2).await;
    let pid = child.id().unwrap();

    let second = checkout(&sim, state.path(), 40).run().await;
    second.code(3);
    assert!(
        second.stderr.contains(&format!("pid {pid}")),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains("apply web.yaml --yes"),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains("--lock-timeout"),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains("billfleet unlock"),
        "{}",
        second.stderr
    );

    assert_eq!(wait_exit(&mut child).await, Some(0));
    assert_exactly(&sim.sim, 40);
    assert_eq!(order_calls(&sim.sim), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_checkout_waits_with_lock_timeout_then_orders_nothing() {
    let sim = slow_sim(20).await;
    let state = TempDir::new().unwrap();
    let first = checkout(&sim, state.path(), 40);
    let mut child = start_until_landed(&first, &sim.sim, 2).await;

    let second = checkout(&sim, state.path(), 40).args([
        "apply",
        "web.yaml",
        "--yes",
        "--lock-timeout",
        "120",
    ]);
    let ran = second.run().await;
    ran.code(0);
    assert!(
        ran.stderr.contains("waiting for the lock"),
        "{}",
        ran.stderr
    );
    assert_eq!(wait_exit(&mut child).await, Some(0));
    let rows = ran.report("web.results.csv");
    assert_eq!(count(&rows, RowOutcome::Exists), 40, "{rows:?}");
    assert_exactly(&sim.sim, 40);
    assert_eq!(order_calls(&sim.sim), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlinked_manifest_is_the_same_fleet() {
    let sim = slow_sim(40).await;
    let state = TempDir::new().unwrap();
    let first = checkout(&sim, state.path(), 20);
    let mut child = start_until_landed(&first, &sim.sim, 1).await;

    let other = Billfleet::new()
        .billing(&sim)
        .env("XDG_STATE_HOME", state.path().to_str().unwrap())
        .args(["apply", "linked.yaml", "--yes"]);
    std::os::unix::fs::symlink(first.path("web.yaml"), other.path("linked.yaml")).unwrap();
    let ran = other.run().await;
    ran.code(3);
    assert!(ran.stderr.contains("another run"), "{}", ran.stderr);

    assert_eq!(wait_exit(&mut child).await, Some(0));
    assert_exactly(&sim.sim, 20);
    assert_eq!(order_calls(&sim.sim), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_writes_the_report_exits_3_and_the_rerun_completes() {
    let sim = slow_sim(40).await;
    let state = TempDir::new().unwrap();
    let bf = checkout(&sim, state.path(), 40);
    let mut child = start_until_landed(&bf, &sim.sim, 4).await;
    send("-TERM", child.id().unwrap());
    assert_eq!(wait_exit(&mut child).await, Some(3));

    let rows = harness::read_report(&bf.path("web.results.csv"));
    let ordered = count(&rows, RowOutcome::Ordered);
    let skipped = count(&rows, RowOutcome::Skipped);
    assert_eq!(ordered + skipped, 40, "{rows:?}");
    assert!(skipped > 0 && ordered >= 4, "{rows:?}");
    assert_eq!(
        live(&sim.sim).len(),
        ordered,
        "calls in flight were reported"
    );

    let rerun = bf.run().await;
    rerun.code(0);
    let rows = rerun.report("web.results.csv");
    assert_eq!(count(&rows, RowOutcome::Exists), ordered);
    assert_exactly(&sim.sim, 40);
    assert_eq!(order_calls(&sim.sim), 40, "no order sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_report_path_exits_2_before_anything_is_sent() {
    let sim = slow_sim(0).await;
    let mut bf = Billfleet::new()
        .manifest("web.yaml", &manifest(3, "  rate: 50\n"))
        .billing(&sim);
    std::fs::create_dir(bf.path("reports")).unwrap();
    for report in ["missing/web.csv", "web.yaml/web.csv", "reports"] {
        bf = bf.args(["apply", "web.yaml", "--yes", "--report", report]);
        let ran = bf.run().await;
        ran.code(2);
        assert!(
            ran.stderr.contains("cannot write the report"),
            "{}",
            ran.stderr
        );
        assert!(ran.stderr.contains(report), "{}", ran.stderr);
    }
    assert!(sim.sim.requests().is_empty(), "{:?}", sim.sim.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_commands_take_the_same_lock() {
    let sim = slow_sim(0).await;
    let mut bf = Billfleet::new()
        .manifest("web.yaml", &manifest(2, "  rate: 50\n"))
        .billing(&sim);
    let key = LockKey::billing(&sim.url, harness::USER, "web").unwrap();
    let lock = FleetLock::acquire(&bf.path("billfleet/locks"), &[key], Duration::ZERO)
        .await
        .unwrap();
    for command in ["suspend", "destroy"] {
        bf = bf.args([command, "web.yaml", "--yes"]);
        let ran = bf.run().await;
        ran.code(3);
        assert!(
            ran.stderr.contains(&format!("pid {}", std::process::id())),
            "{}",
            ran.stderr
        );
    }
    bf = bf.args(["prolong", "web.yaml", "--period", "1", "--yes"]);
    bf.run().await.code(3);
    bf = bf.args(["unlock", "web.yaml"]);
    let ran = bf.run().await;
    ran.code(3);
    assert!(ran.stderr.contains("another run"), "{}", ran.stderr);
    drop(lock);
    assert!(sim.sim.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlock_removes_the_lock_a_killed_run_left() {
    let sim = slow_sim(40).await;
    let state = TempDir::new().unwrap();
    let bf = checkout(&sim, state.path(), 20);
    let mut child = start_until_landed(&bf, &sim.sim, 1).await;
    child.kill().await.unwrap();
    let left = lock_files(state.path());
    assert_eq!(left.len(), 1, "{left:?}");
    let text = std::fs::read_to_string(&left[0]).unwrap();
    assert!(text.contains("\"pid\""), "{text}");

    let bf = bf.args(["unlock", "web.yaml"]);
    let ran = bf.run().await;
    ran.code(0);
    assert!(ran.stdout.contains("removed the lock"), "{}", ran.stdout);
    assert!(lock_files(state.path()).is_empty());
    let ran = bf.run().await;
    ran.code(0);
    assert!(ran.stdout.contains("no lock"), "{}", ran.stdout);

    // Let a call the dead process left on the wire finish in the billing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bf = bf.args(["apply", "web.yaml", "--yes"]);
    bf.run().await.code(0);
    assert_exactly(&sim.sim, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_lifecycle_command_with_its_report() {
    let sim = slow_sim(20).await;
    let bf = Billfleet::new()
        .manifest("web.yaml", &manifest(20, "  concurrency: 4\n  rate: 50\n"))
        .billing(&sim)
        .args(["apply", "web.yaml", "--yes"]);
    bf.run().await.code(0);
    let renewals = |sim: &Sim| {
        sim.requests()
            .iter()
            .filter(|r| r.func == "service.prolong" && r.params.iter().any(|(k, _)| k == "sok"))
            .count()
    };
    let bf = bf.args([
        "prolong",
        "web.yaml",
        "--period",
        "1",
        "--yes",
        "--concurrency",
        "1",
        "--rate",
        "8",
        "--report",
        "prolong.csv",
    ]);
    let mut child = bf.spawn();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while renewals(&sim.sim) < 3 {
        assert!(tokio::time::Instant::now() < deadline, "no renewal started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    send("-TERM", child.id().unwrap());
    assert_eq!(wait_exit(&mut child).await, Some(3));
    let rows = harness::read_report(&bf.path("prolong.csv"));
    assert_eq!(rows.len(), 20, "{rows:?}");
    let prolonged = count(&rows, RowOutcome::Prolonged);
    assert_eq!(prolonged, renewals(&sim.sim), "{rows:?}");
    assert!(
        prolonged < 20 && count(&rows, RowOutcome::Skipped) > 0,
        "{rows:?}"
    );
}

/// One apply of 30 servers without retries against a simulator that answers a share of all
/// calls 503 before doing anything: the run, and the keys whose order was looked up and found
/// absent (`None` when the seed's faults stopped the run before ordering).
async fn apply_without_retries(seed: u64) -> Option<(Billfleet, Vec<String>)> {
    let sim = harness::sim(SimConfig {
        dialect: SimDialect::Bm5,
        faults: Faults {
            seed,
            fail_before: 0.1,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let bf = Billfleet::new()
        .manifest(
            "web.yaml",
            &manifest(30, "  concurrency: 1\n  rate: 200\n  retries: 0\n"),
        )
        .billing(&sim)
        .args(["apply", "web.yaml", "--yes"]);
    bf.run().await;
    let report = bf.path("web.results.csv");
    if !report.exists() {
        return None;
    }
    let checked = harness::read_report(&report)
        .into_iter()
        .filter(|r| {
            r.error
                .as_deref()
                .is_some_and(|e| e.contains("checked: not done"))
        })
        .map(|r| format!("{}-{}", r.group, r.seq))
        .collect();
    Some((bf, checked))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_checked_absent_is_closed_in_the_journal() {
    // An order answered 503 before the billing did anything: outcome unknown, looked up,
    // absent; without retries the run gives up on it right after the look-up. The faults
    // are dice: try seeds until one gives such an order (almost every seed does).
    let mut found = None;
    for seed in 1..=12 {
        if let Some((bf, checked)) = apply_without_retries(seed).await
            && !checked.is_empty()
        {
            found = Some((bf, checked));
            break;
        }
    }
    let (bf, checked) = found.expect("no seed gave an order checked absent");
    let (_, replay) =
        billfleet::executor::Journal::open(&bf.path(".billfleet/web.journal")).unwrap();
    for key in &checked {
        assert!(
            matches!(
                replay.state(key),
                Some(billfleet::executor::KeyState::Failed { .. })
            ),
            "{key}: {:?}",
            replay.state(key)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigterm_quits_at_once_and_the_rerun_is_safe() {
    let sim = slow_sim(40).await;
    let state = TempDir::new().unwrap();
    let bf = checkout(&sim, state.path(), 30);
    let mut child = start_until_landed(&bf, &sim.sim, 2).await;
    let pid = child.id().unwrap();
    send("-TERM", pid);
    tokio::time::sleep(Duration::from_millis(10)).await;
    send("-TERM", pid);
    assert_eq!(wait_exit(&mut child).await, Some(3));

    // Let a call the quitting process left on the wire finish in the billing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    bf.run().await.code(0);
    assert_exactly(&sim.sim, 30);
    assert_eq!(order_calls(&sim.sim), 30, "no order sent twice");
}
