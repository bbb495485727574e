//! The lifecycle commands (`status`, `edit`, `prolong`, `suspend`, `resume`, `destroy`) run as
//! the real binary against the simulator on a loopback port.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use billfleet::report::{ReportRow, RowOutcome};
use billfleet::sim::{NewService, SimConfig, SimDialect, SimHandle, SimService};
use chrono::{Months, NaiveDate};
use serde_json::Value;

/// A simulator (BILLmanager 5) whose new services turn active after a short while.
async fn start_sim() -> SimHandle {
    billfleet::sim::start(SimConfig {
        dialect: SimDialect::Bm5,
        activation: Duration::from_millis(300),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// What one run of the binary did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `billfleet ARGS` against the simulator at `url`, stdin not a terminal.
async fn billfleet(url: &str, args: &[&str]) -> Run {
    let url = url.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_billfleet"))
            .args(&args)
            .env("BILLFLEET_URL", url)
            .env("BILLFLEET_USER", "demo")
            .env("BILLFLEET_PASSWORD", "demo")
            // Locks live in the user's state directory: keep the tests' out of $HOME.
            .env(
                "XDG_STATE_HOME",
                std::env::temp_dir().join("billfleet-it-state"),
            )
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

/// Runs the binary with the manifest as the second argument and checks the exit code.
async fn run_ok(url: &str, command: &str, manifest: &Path, rest: &[&str], code: i32) -> Run {
    let manifest = manifest.to_str().unwrap();
    let mut args = vec![command, manifest];
    args.extend_from_slice(rest);
    let run = billfleet(url, &args).await;
    assert_eq!(
        run.code, code,
        "{command}: stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run
}

fn write_manifest(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("fleet.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Orders every declared server with `apply --wait` and checks the report: all `ordered`, each
/// active with an IP.
async fn create_fleet(url: &str, manifest: &Path) {
    let run = run_ok(
        url,
        "apply",
        manifest,
        &["--yes", "--wait", "--wait-timeout", "60"],
        0,
    )
    .await;
    let report = manifest.with_file_name(format!(
        "{}.results.csv",
        manifest.file_stem().unwrap().to_string_lossy()
    ));
    let text = std::fs::read_to_string(&report).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert!(!rows.is_empty(), "{}", run.stderr);
    for row in rows {
        assert!(row.contains(",ordered,"), "{row}");
    }
}

/// Polls `status --output json` until `n` servers are active with an IP.
async fn wait_active(url: &str, manifest: &Path, n: usize) -> Value {
    for _ in 0..100 {
        let run = run_ok(url, "status", manifest, &["--output", "json"], 0).await;
        let status: Value = serde_json::from_str(&run.stdout).unwrap();
        let active = status["servers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["status"] == "active" && s["ip"].is_string())
            .count();
        if active == n {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the fleet did not become active");
}

/// The report rows written beside the manifest.
fn report(manifest: &Path, command: &str) -> Vec<ReportRow> {
    let path = manifest.with_file_name(format!("fleet.{command}.csv"));
    csv::Reader::from_path(path)
        .unwrap()
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn outcomes(rows: &[ReportRow]) -> BTreeMap<RowOutcome, usize> {
    let mut counts = BTreeMap::new();
    for row in rows {
        *counts.entry(row.outcome).or_insert(0) += 1;
    }
    counts
}

/// The simulator's services that are the fleet's (remoteid `web-N` or `db-N`).
fn fleet_services(handle: &SimHandle) -> Vec<SimService> {
    handle
        .sim
        .services()
        .into_iter()
        .filter(|s| {
            s.remoteid
                .as_deref()
                .is_some_and(|r| r.starts_with("web-") || r.starts_with("db-"))
        })
        .collect()
}

/// Calls of `func` that changed something (`sok=ok`).
fn mutating_calls(handle: &SimHandle, func: &str) -> usize {
    handle
        .sim
        .requests()
        .iter()
        .filter(|r| r.func == func && r.params.iter().any(|(k, v)| k == "sok" && v == "ok"))
        .count()
}

const FLEET: &str = r#"version: 1
billing:
  dialect: bm5
fleets:
  - name: web
    type: vds
    count: 16
    domain: "web-{seq:03}.example.com"
    pricelist: 6
    period: 1
    autoprolong: 1
    ostempl: ISPsystem__CentOS-7-amd64
    addons: {11: 1024}
  - name: db
    type: vds
    count: 4
    domain: "db-{seq}.example.com"
    pricelist: 6
    period: 1
    autoprolong: 1
    addons: {11: DB_RAM}
execution:
  concurrency: 4
  rate: 200
  retries: 2
"#;

fn fleet_manifest(db_ram: u32) -> String {
    FLEET.replace("DB_RAM", &db_ram.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_life_of_a_twenty_server_fleet() {
    let handle = start_sim().await;
    let url = handle.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), &fleet_manifest(1024));
    let outsider = handle.sim.add_service(NewService {
        domain: "mail.example.org".into(),
        ..NewService::default()
    });
    let lookalike = handle.sim.add_service(NewService {
        domain: "web-099.example.com".into(),
        ..NewService::default()
    });

    create_fleet(&url, &manifest).await;
    let status = wait_active(&url, &manifest, 20).await;
    let servers = status["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 20);
    let sim_fleet = fleet_services(&handle);
    for server in servers {
        let own = sim_fleet
            .iter()
            .find(|s| s.remoteid.as_deref() == server["key"].as_str())
            .unwrap();
        assert_eq!(server["service_id"], own.id.as_str());
        assert_eq!(server["domain"], own.domain.as_str());
        // Money in JSON is `{amount, currency}` (the list's cost cell names no currency);
        // auto-renewal is a period or `off`.
        assert_eq!(server["cost"]["amount"], "5.00", "{server}");
        assert!(server["cost"]["currency"].is_null(), "{server}");
        assert!(server["autoprolong"].is_string(), "{server}");
    }
    let undeclared: Vec<&str> = status["undeclared"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["service_id"].as_str().unwrap())
        .collect();
    assert_eq!(undeclared, [lookalike.as_str()]);

    // the inventory lists every IP of the fleet exactly once
    let inventory = dir.path().join("inventory.yaml");
    run_ok(
        &url,
        "status",
        &manifest,
        &["--inventory", inventory.to_str().unwrap()],
        0,
    )
    .await;
    let yaml: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(&inventory).unwrap()).unwrap();
    let mut listed = Vec::new();
    for group in ["web", "db"] {
        let hosts = yaml["all"]["children"][group]["hosts"]
            .as_mapping()
            .unwrap();
        listed.extend(
            hosts
                .values()
                .map(|h| h["ansible_host"].as_str().unwrap().to_owned()),
        );
    }
    let expected: BTreeSet<String> = sim_fleet.iter().map(|s| s.ip.clone().unwrap()).collect();
    assert_eq!(listed.len(), 20);
    assert_eq!(listed.iter().cloned().collect::<BTreeSet<_>>(), expected);

    edit_touches_only_changed_services(&handle, &manifest).await;
    prolong_adds_exactly_one_month(&handle, &manifest).await;

    run_ok(&url, "suspend", &manifest, &["--yes"], 0).await;
    assert!(fleet_services(&handle).iter().all(|s| s.status == 3));
    assert_eq!(
        outcomes(&report(&manifest, "suspend")),
        BTreeMap::from([(RowOutcome::Suspended, 20)])
    );
    assert_eq!(
        mutating_calls(&handle, "vds.suspend"),
        1,
        "one batch of 20 ids"
    );

    run_ok(&url, "resume", &manifest, &["--yes"], 0).await;
    assert!(fleet_services(&handle).iter().all(|s| s.status == 2));
    assert_eq!(
        outcomes(&report(&manifest, "resume")),
        BTreeMap::from([(RowOutcome::Resumed, 20)])
    );

    let destroy = run_ok(&url, "destroy", &manifest, &["--yes"], 0).await;
    assert_eq!(
        destroy
            .stdout
            .lines()
            .filter(|l| l.contains(".example.com"))
            .count(),
        20
    );
    let after = handle.sim.services();
    assert_eq!(after.iter().filter(|s| s.status == 4).count(), 20);
    for id in [&outsider, &lookalike] {
        let s = after.iter().find(|s| &s.id == id).unwrap();
        assert_eq!(s.status, 2, "{} was touched", s.domain);
    }
    assert_eq!(
        outcomes(&report(&manifest, "destroy")),
        BTreeMap::from([(RowOutcome::Deleted, 20)])
    );
}

async fn edit_touches_only_changed_services(handle: &SimHandle, manifest: &Path) {
    std::fs::write(manifest, fleet_manifest(2048)).unwrap();
    let run = run_ok(&handle.url, "edit", manifest, &["--yes"], 0).await;
    assert!(run.stdout.contains("db-1 (id "), "{}", run.stdout);
    assert!(
        run.stdout.contains("addon_11: 1024 → 2048"),
        "{}",
        run.stdout
    );
    assert_eq!(mutating_calls(handle, "vds.edit"), 4);
    for s in fleet_services(handle) {
        let ram = if s.domain.starts_with("db-") {
            2048
        } else {
            1024
        };
        assert_eq!(s.addons.get(&11), Some(&ram), "{}", s.domain);
    }
    let expected = BTreeMap::from([(RowOutcome::Edited, 4), (RowOutcome::Unchanged, 16)]);
    assert_eq!(outcomes(&report(manifest, "edit")), expected);
    // a second run finds nothing to change
    run_ok(&handle.url, "edit", manifest, &["--yes"], 0).await;
    assert_eq!(mutating_calls(handle, "vds.edit"), 4);
    assert_eq!(
        outcomes(&report(manifest, "edit")),
        BTreeMap::from([(RowOutcome::Unchanged, 20)])
    );
}

async fn prolong_adds_exactly_one_month(handle: &SimHandle, manifest: &Path) {
    let before: BTreeMap<String, NaiveDate> = fleet_services(handle)
        .into_iter()
        .map(|s| (s.id, s.expiredate.parse().unwrap()))
        .collect();
    run_ok(
        &handle.url,
        "prolong",
        manifest,
        &["--period", "1", "--yes"],
        0,
    )
    .await;
    let after = fleet_services(handle);
    assert_eq!(after.len(), 20);
    for s in &after {
        let wanted = before[&s.id].checked_add_months(Months::new(1)).unwrap();
        assert_eq!(
            s.expiredate,
            wanted.format("%Y-%m-%d").to_string(),
            "{}",
            s.domain
        );
    }
    let rows = report(manifest, "prolong");
    assert_eq!(
        outcomes(&rows),
        BTreeMap::from([(RowOutcome::Prolonged, 20)])
    );
    for row in &rows {
        let s = after
            .iter()
            .find(|s| Some(&s.id) == row.service_id.as_ref())
            .unwrap();
        assert_eq!(row.expiredate.as_deref(), Some(s.expiredate.as_str()));
    }
    assert_eq!(mutating_calls(handle, "service.prolong"), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_without_yes_and_no_terminal_sends_nothing() {
    let handle = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), &fleet_manifest(1024));
    let run = run_ok(&handle.url, "destroy", &manifest, &[], 2).await;
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert!(handle.sim.requests().is_empty());
    assert!(!manifest.with_file_name("fleet.destroy.csv").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_min_order_refusal_fails_that_service_only() {
    let handle = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(
        dir.path(),
        "version: 1\nbilling: {dialect: bm5}\nfleets:\n\
         - {name: gone, count: 3, domain: \"gone-{seq}.example.com\", pricelist: 6}\n\
         - {name: promo, count: 2, domain: \"promo-{seq}.example.com\", pricelist: 8}\n\
         execution: {rate: 200, retries: 1}\n",
    );
    for (name, pricelist, count) in [("gone", 6, 3), ("promo", 8, 2)] {
        for seq in 1..=count {
            handle.sim.add_service(NewService {
                domain: format!("{name}-{seq}.example.com"),
                remoteid: Some(format!("{name}-{seq}")),
                pricelist,
                ..NewService::default()
            });
        }
    }
    run_ok(&handle.url, "destroy", &manifest, &["--yes"], 1).await;
    let rows = report(&manifest, "destroy");
    for row in &rows {
        if row.group == "promo" {
            assert_eq!(row.outcome, RowOutcome::Failed, "{row:?}");
            let error = row.error.as_deref().unwrap();
            assert!(error.contains("pricelist_min_order"), "{error}");
            // refused for good: the batch call, then one call of its own
            assert_eq!(row.attempts, 2, "{row:?}");
        } else {
            assert_eq!(row.outcome, RowOutcome::Deleted, "{row:?}");
        }
    }
    let statuses: BTreeMap<String, u8> = handle
        .sim
        .services()
        .into_iter()
        .map(|s| (s.domain, s.status))
        .collect();
    assert_eq!(statuses["gone-1.example.com"], 4);
    assert_eq!(statuses["gone-3.example.com"], 4);
    assert_eq!(statuses["promo-1.example.com"], 2);
    assert_eq!(statuses["promo-2.example.com"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_two_groups_of_different_item_types() {
    let handle = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(
        dir.path(),
        "version: 1\nbilling: {dialect: bm5}\nfleets:\n\
         - {name: web, type: vds, count: 2, domain: \"web-{seq}.example.com\", pricelist: 6}\n\
         - {name: site, type: vhost, count: 2, domain: \"site-{seq}.example.net\", pricelist: 2}\n",
    );
    let web1 = handle.sim.add_service(NewService {
        domain: "web-1.example.com".into(),
        remoteid: Some("web-1".into()),
        ..NewService::default()
    });
    handle.sim.add_service(NewService {
        domain: "web-2.example.com".into(),
        remoteid: Some("web-2".into()),
        status: 3,
        ..NewService::default()
    });
    // found by its exact domain (no remoteid), in another case
    let site1 = handle.sim.add_service(NewService {
        item_type: "vhost".into(),
        pricelist: 2,
        domain: "SITE-1.example.net".into(),
        ..NewService::default()
    });
    // a vds with a vhost's domain is not the vhost group's server
    handle.sim.add_service(NewService {
        domain: "site-2.example.net".into(),
        ..NewService::default()
    });

    let run = run_ok(&handle.url, "status", &manifest, &["--output", "json"], 0).await;
    let status: Value = serde_json::from_str(&run.stdout).unwrap();
    let rows: Vec<(&str, &str, &str, Option<&str>)> = status["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap(),
                s["type"].as_str().unwrap(),
                s["status"].as_str().unwrap(),
                s["service_id"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("web-1", "vds", "active", Some(web1.as_str())),
            ("web-2", "vds", "suspended", rows[1].3),
            ("site-1", "vhost", "active", Some(site1.as_str())),
            ("site-2", "vhost", "absent", None),
        ]
    );
    assert!(rows[1].3.is_some());

    let csv_run = run_ok(&handle.url, "status", &manifest, &["--output", "csv"], 0).await;
    let mut reader = csv::Reader::from_reader(csv_run.stdout.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "key");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let declared = records.iter().filter(|r| &r[12] == "true").count();
    assert_eq!(declared, 4);
    assert_eq!(&records[2][3], "vhost");

    let text = run_ok(&handle.url, "status", &manifest, &[], 0).await;
    assert!(
        text.stdout.contains("site-2.example.net"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("1 absent"), "{}", text.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_two_item_types_and_skip_the_already_suspended() {
    let handle = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(
        dir.path(),
        "version: 1\nbilling: {dialect: bm5}\nfleets:\n\
         - {name: web, type: vds, count: 2, domain: \"web-{seq}.example.com\", pricelist: 6}\n\
         - {name: site, type: vhost, count: 2, domain: \"site-{seq}.example.net\", pricelist: 2}\n\
         execution: {rate: 200}\n",
    );
    for (seq, status) in [(1, 2), (2, 3)] {
        handle.sim.add_service(NewService {
            domain: format!("web-{seq}.example.com"),
            remoteid: Some(format!("web-{seq}")),
            status,
            ..NewService::default()
        });
    }
    handle.sim.add_service(NewService {
        item_type: "vhost".into(),
        pricelist: 2,
        domain: "site-1.example.net".into(),
        ..NewService::default()
    });
    run_ok(&handle.url, "suspend", &manifest, &["--yes"], 0).await;
    let rows: Vec<(String, RowOutcome)> = report(&manifest, "suspend")
        .into_iter()
        .map(|r| (format!("{}-{}", r.group, r.seq), r.outcome))
        .collect();
    let expected = [
        ("site-1", RowOutcome::Suspended),
        ("site-2", RowOutcome::Skipped),
        ("web-1", RowOutcome::Suspended),
        ("web-2", RowOutcome::Unchanged),
    ]
    .map(|(k, o)| (k.to_owned(), o));
    assert_eq!(rows, expected);
    assert!(handle.sim.services().iter().all(|s| s.status == 3));
    assert_eq!(mutating_calls(&handle, "vds.suspend"), 1);
    assert_eq!(mutating_calls(&handle, "vhost.suspend"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prolong_over_max_spend_aborts_before_paying() {
    let handle = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(
        dir.path(),
        "version: 1\nbilling: {dialect: bm5}\n\
         fleet: {name: web, count: 2, domain: \"web-{seq}.example.com\", pricelist: 6}\n\
         execution: {rate: 200, max_spend: 1}\n",
    );
    for seq in 1..=2 {
        handle.sim.add_service(NewService {
            domain: format!("web-{seq}.example.com"),
            remoteid: Some(format!("web-{seq}")),
            ..NewService::default()
        });
    }
    let before = handle.sim.services();
    let balance = handle.sim.balance_cents();
    let run = run_ok(
        &handle.url,
        "prolong",
        &manifest,
        &["--period", "1", "--yes"],
        3,
    )
    .await;
    assert!(run.stderr.contains("max_spend"), "{}", run.stderr);
    assert_eq!(mutating_calls(&handle, "service.prolong"), 0);
    assert_eq!(handle.sim.services(), before);
    assert_eq!(handle.sim.balance_cents(), balance);
    let rows = report(&manifest, "prolong");
    assert_eq!(outcomes(&rows), BTreeMap::from([(RowOutcome::Skipped, 2)]));
}
