//! The plan is the contract: drift as `update`, lowered counts as `orphan`/`delete`, saved
//! plans applied exactly or refused when stale, `--detailed-exitcode`, `--target`, and a
//! tariff the billing does not sell — all through the real binary against the simulator.

use std::time::Duration;

use billfleet::report::RowOutcome;
use billfleet::sim::{LoggedRequest, NewService, Sim, SimConfig, SimDialect, SimHandle};
use serde_json::Value;

use super::harness::{self, Billfleet, Ran};

/// A one-group VPS manifest (bm6) with `count` servers and RAM addon `ram`.
fn manifest(count: u32, ram: u32, pricelist: u32) -> String {
    format!(
        "version: 1\nbilling:\n  dialect: bm6\nfleet:\n  name: web\n  type: vds\n  count: {count}\n  \
         domain: \"web-{{seq:03}}.example.com\"\n  pricelist: {pricelist}\n  datacenter: 1\n  \
         period: 1\n  autoprolong: 1\n  ostempl: ISPsystem__CentOS-7-amd64\n  \
         addons: {{10: 1, 11: {ram}}}\n  payment: balance\nexecution:\n  concurrency: 4\n  \
         rate: 100\n  on_collision: next\n"
    )
}

async fn sim() -> SimHandle {
    harness::sim(SimConfig {
        dialect: SimDialect::Bm6,
        activation: Duration::from_millis(50),
        ..SimConfig::default()
    })
    .await
}

fn bf(sim: &SimHandle, yaml: &str) -> Billfleet {
    Billfleet::new().manifest("web.yaml", yaml).billing(sim)
}

async fn run(bf: Billfleet, args: &[&str]) -> (Billfleet, Ran) {
    let bf = bf.args(args.iter().copied());
    let ran = bf.run().await;
    (bf, ran)
}

fn json(ran: &Ran) -> Value {
    serde_json::from_str(&ran.stdout).unwrap_or_else(|e| panic!("{e}: {}", ran.stdout))
}

/// Calls that change something: orders, edits, deletes, renewals (with `sok`).
fn is_mutating(r: &LoggedRequest) -> bool {
    let sok = r.params.iter().any(|(k, v)| k == "sok" && v == "ok");
    let func = &r.func;
    sok && (func.contains(".order")
        || func.ends_with(".edit")
        || func.ends_with(".delete")
        || func == "service.prolong")
}

fn is_order(r: &LoggedRequest) -> bool {
    is_mutating(r) && r.func.contains(".order")
}

fn live_by_remoteid(sim: &Sim, remoteid: &str) -> Option<billfleet::sim::SimService> {
    sim.services()
        .into_iter()
        .find(|s| s.remoteid.as_deref() == Some(remoteid) && matches!(s.status, 1 | 2 | 3 | 5))
}

/// Applies `yaml` and waits until the services are active (editable).
async fn applied(sim: &SimHandle, yaml: &str) -> Billfleet {
    let (bf, ran) = run(bf(sim, yaml), &["apply", "web.yaml", "--yes", "--wait"]).await;
    ran.code(0);
    bf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_shows_as_update_and_apply_pushes_it() {
    let sim = sim().await;
    let bf = applied(&sim, &manifest(2, 1024, 6)).await;
    let bf = bf.manifest("web.yaml", &manifest(2, 512, 6));
    let (bf, ran) = run(bf, &["plan", "web.yaml", "--output", "json"]).await;
    ran.code(0);
    let plan = json(&ran);
    let id = live_by_remoteid(&sim.sim, "web-1").unwrap().id;
    let first = &plan["servers"][0];
    assert_eq!(first["action"], "update", "{plan}");
    assert_eq!(
        first["changes"],
        serde_json::json!({"addon_11": {"from": "1024", "to": "512"}})
    );
    assert_eq!(first["call"]["func"], "vds.edit");
    assert_eq!(first["call"]["params"]["elid"], id.as_str());
    assert_eq!(first["call"]["params"]["addon_11"], "512");
    assert_eq!(plan["summary"]["update"], 2);
    let (bf, text) = run(bf, &["plan", "web.yaml"]).await;
    assert!(
        text.stdout
            .contains("0 to order, 2 to update, 0 to delete, 0 unchanged"),
        "{}",
        text.stdout
    );

    let (bf, ran) = run(bf, &["apply", "web.yaml", "--yes"]).await;
    ran.code(0);
    let rows = ran.report("web.results.csv");
    assert!(
        rows.iter().all(|r| r.outcome == RowOutcome::Updated),
        "{rows:?}"
    );
    for key in ["web-1", "web-2"] {
        let service = live_by_remoteid(&sim.sim, key).unwrap();
        assert_eq!(service.addons.get(&11), Some(&512), "{key}");
    }
    let (_, ran) = run(bf, &["plan", "web.yaml", "--output", "json"]).await;
    assert_eq!(json(&ran)["summary"]["exists"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lowered_count_orphans_and_prune_deletes_exactly_those() {
    let sim = sim().await;
    // web-2 is moved past the range by a collision; it keeps its remoteid.
    sim.sim.take_domain("web-002.example.com");
    let bf = applied(&sim, &manifest(5, 1024, 6)).await;
    let moved = live_by_remoteid(&sim.sim, "web-2").unwrap();
    assert_ne!(moved.domain, "web-002.example.com");
    let other_group = sim.sim.add_service(NewService {
        domain: "db-009.example.com".into(),
        remoteid: Some("db-9".into()),
        ..NewService::default()
    });
    let no_remoteid = sim.sim.add_service(NewService {
        domain: "web-008.example.com".into(),
        ..NewService::default()
    });
    let bf = bf.manifest("web.yaml", &manifest(3, 1024, 6));
    let (bf, ran) = run(bf, &["plan", "web.yaml", "--output", "json"]).await;
    ran.code(0);
    let plan = json(&ran);
    let undeclared: Vec<(&str, &str)> = plan["undeclared"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["key"].as_str().unwrap(), u["action"].as_str().unwrap()))
        .collect();
    assert_eq!(undeclared, [("web-4", "orphan"), ("web-5", "orphan")]);
    assert_eq!(plan["summary"]["orphan"], 2);
    assert_eq!(plan["summary"]["exists"], 3);
    // orphans that are only reported are no pending change
    let (bf, ran) = run(bf, &["plan", "web.yaml", "--detailed-exitcode"]).await;
    ran.code(0);
    let (bf, ran) = run(bf, &["plan", "web.yaml", "--prune", "--output", "json"]).await;
    assert_eq!(json(&ran)["summary"]["delete"], 2);

    let (_bf, ran) = run(bf, &["apply", "web.yaml", "--yes", "--prune"]).await;
    ran.code(0);
    let rows = ran.report("web.results.csv");
    let deleted: Vec<u64> = rows
        .iter()
        .filter(|r| r.outcome == RowOutcome::Deleted)
        .map(|r| r.seq)
        .collect();
    assert_eq!(deleted, [4, 5], "{rows:?}");
    assert!(live_by_remoteid(&sim.sim, "web-4").is_none());
    assert!(live_by_remoteid(&sim.sim, "web-5").is_none());
    let live_ids: Vec<String> = sim
        .sim
        .services()
        .into_iter()
        .filter(|s| matches!(s.status, 1 | 2 | 3 | 5))
        .map(|s| s.id)
        .collect();
    for kept in [&moved.id, &other_group, &no_remoteid] {
        assert!(live_ids.contains(kept), "{kept} was deleted");
    }
    assert_eq!(live_ids.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_plan_is_applied_exactly() {
    let sim = sim().await;
    let (bf, ran) = run(
        bf(&sim, &manifest(3, 1024, 6)),
        &["plan", "web.yaml", "--out", "web.plan.json"],
    )
    .await;
    ran.code(0);
    let saved = std::fs::read_to_string(bf.path("web.plan.json")).unwrap();
    let doc: Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(doc["billfleet_plan"], 1);
    assert_eq!(doc["manifest"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(doc["billing"]["user"], harness::USER);
    assert_eq!(doc["actions"].as_array().unwrap().len(), 3);
    assert!(!saved.contains("authinfo") && !saved.contains("password"));
    let before = sim.sim.requests().len();
    let (bf, ran) = run(bf, &["apply", "web.plan.json", "--yes"]).await;
    ran.code(0);
    let orders: Vec<LoggedRequest> = sim.sim.requests()[before..]
        .iter()
        .filter(|r| is_order(r))
        .cloned()
        .collect();
    assert_eq!(orders.len(), 3);
    for action in doc["actions"].as_array().unwrap() {
        let planned = action["call"]["params"].as_object().unwrap();
        let sent = orders
            .iter()
            .find(|o| {
                o.params.iter().any(|(k, v)| {
                    k == "remoteid" && Some(v.as_str()) == planned["remoteid"].as_str()
                })
            })
            .unwrap_or_else(|| panic!("no order for {action}"));
        for (key, value) in planned {
            assert!(
                sent.params
                    .iter()
                    .any(|(k, v)| k == key && Some(v.as_str()) == value.as_str()),
                "{key}={value} planned, not sent: {:?}",
                sent.params
            );
        }
    }
    // The report is named after the manifest, not the plan file.
    assert_eq!(ran.report("web.results.csv").len(), 3);
    // Applied once, the saved plan is stale: its servers now exist.
    let before = sim.sim.requests().len();
    let (_, ran) = run(bf, &["apply", "web.plan.json", "--yes"]).await;
    ran.code(3);
    assert!(
        ran.stderr.contains("the saved plan is stale; plan again"),
        "{}",
        ran.stderr
    );
    assert!(!sim.sim.requests()[before..].iter().any(is_mutating));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_plan_made_before_a_manifest_edit_is_refused() {
    let sim = sim().await;
    let (bf, ran) = run(
        bf(&sim, &manifest(2, 1024, 6)),
        &["plan", "web.yaml", "--out", "p.json"],
    )
    .await;
    ran.code(0);
    let bf = bf.manifest("web.yaml", &manifest(3, 1024, 6));
    let (bf, ran) = run(bf, &["apply", "p.json", "--yes"]).await;
    ran.code(3);
    assert!(
        ran.stderr.contains("the saved plan is stale; plan again"),
        "{}",
        ran.stderr
    );
    assert!(!sim.sim.requests().iter().any(is_mutating));
    // flags that act at plan time are refused with a saved plan; --out needs the billing
    let (bf, ran) = run(bf, &["apply", "p.json", "--yes", "--prune"]).await;
    ran.code(2);
    let (bf, ran) = run(bf, &["apply", "p.json", "--yes", "--target", "web-1"]).await;
    ran.code(2);
    let (_, ran) = run(bf, &["plan", "web.yaml", "--offline", "--out", "q.json"]).await;
    ran.code(2);
    assert!(!sim.sim.requests().iter().any(is_mutating));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_plan_whose_server_appeared_is_refused() {
    let sim = sim().await;
    let (bf, ran) = run(
        bf(&sim, &manifest(2, 1024, 6)),
        &["plan", "web.yaml", "--out", "p.json"],
    )
    .await;
    ran.code(0);
    sim.sim.add_service(NewService {
        domain: "web-001.example.com".into(),
        remoteid: Some("web-1".into()),
        ..NewService::default()
    });
    let before = sim.sim.requests().len();
    let (_, ran) = run(bf, &["apply", "p.json", "--yes"]).await;
    ran.code(3);
    assert!(ran.stderr.contains("web-1"), "{}", ran.stderr);
    assert!(!sim.sim.requests()[before..].iter().any(is_mutating));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detailed_exitcode_is_4_then_0() {
    let sim = sim().await;
    let (bf, ran) = run(
        bf(&sim, &manifest(2, 1024, 6)),
        &["plan", "web.yaml", "--detailed-exitcode"],
    )
    .await;
    ran.code(4);
    let (bf, ran) = run(bf, &["apply", "web.yaml", "--yes", "--wait"]).await;
    ran.code(0);
    let (_, ran) = run(bf, &["plan", "web.yaml", "--detailed-exitcode"]).await;
    ran.code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_orders_one_server() {
    let sim = sim().await;
    let (bf, ran) = run(
        bf(&sim, &manifest(3, 1024, 6)),
        &["plan", "web.yaml", "--target", "web-2", "--output", "json"],
    )
    .await;
    ran.code(0);
    let plan = json(&ran);
    assert_eq!(plan["servers"].as_array().unwrap().len(), 1);
    assert_eq!(plan["servers"][0]["key"], "web-2");
    let (bf, ran) = run(bf, &["apply", "web.yaml", "--yes", "--target", "web-2"]).await;
    ran.code(0);
    assert_eq!(sim.sim.requests().iter().filter(|r| is_order(r)).count(), 1);
    assert!(live_by_remoteid(&sim.sim, "web-2").is_some());
    let outcomes: Vec<(u64, RowOutcome)> = ran
        .report("web.results.csv")
        .iter()
        .map(|r| (r.seq, r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            (1, RowOutcome::Skipped),
            (2, RowOutcome::Ordered),
            (3, RowOutcome::Skipped)
        ]
    );
    for bad in ["web-9", "nope", "web-02"] {
        let (_, ran) = run(
            Billfleet::new()
                .manifest("web.yaml", &manifest(3, 1024, 6))
                .billing(&sim),
            &["plan", "web.yaml", "--target", bad],
        )
        .await;
        ran.code(2);
    }
    let (_, ran) = run(
        bf,
        &["status", "web.yaml", "--target", "web", "--output", "json"],
    )
    .await;
    ran.code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tariff_fails_the_plan_and_apply_orders_nothing_for_it() {
    let sim = sim().await;
    let (bf, ran) = run(bf(&sim, &manifest(3, 1024, 999)), &["plan", "web.yaml"]).await;
    ran.code(1);
    assert!(ran.stderr.contains("group `web`"), "{}", ran.stderr);
    let (_bf, ran) = run(bf, &["apply", "web.yaml", "--yes"]).await;
    ran.code(1);
    assert_eq!(sim.sim.requests().iter().filter(|r| is_order(r)).count(), 0);
    let rows = ran.report("web.results.csv");
    assert!(
        rows.iter().all(|r| r.outcome == RowOutcome::Failed),
        "{rows:?}"
    );
    assert!(
        rows[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("cannot be completed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_commands_take_targets() {
    let sim = sim().await;
    let bf = applied(&sim, &manifest(3, 1024, 6)).await;
    let (bf, ran) = run(bf, &["suspend", "web.yaml", "--yes", "--target", "web-1"]).await;
    ran.code(0);
    let outcomes: Vec<(u64, RowOutcome)> = ran
        .report("web.suspend.csv")
        .iter()
        .map(|r| (r.seq, r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            (1, RowOutcome::Suspended),
            (2, RowOutcome::Skipped),
            (3, RowOutcome::Skipped)
        ]
    );
    let status = |key: &str| live_by_remoteid(&sim.sim, key).map(|s| s.status);
    assert_eq!(
        (status("web-1"), status("web-2"), status("web-3")),
        (Some(3), Some(2), Some(2))
    );
    let (_bf, ran) = run(bf, &["destroy", "web.yaml", "--yes", "--target", "web-7"]).await;
    ran.code(2);
    assert_eq!(status("web-1"), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tariff_drift_is_a_conflict_never_pushed_nor_reordered() {
    let sim = sim().await;
    sim.sim.add_service(NewService {
        domain: "web-001.example.com".into(),
        remoteid: Some("web-1".into()),
        pricelist: 8,
        ..NewService::default()
    });
    let (bf, ran) = run(
        bf(&sim, &manifest(2, 1024, 6)),
        &["plan", "web.yaml", "--output", "json"],
    )
    .await;
    ran.code(0);
    let plan = json(&ran);
    assert_eq!(plan["servers"][0]["action"], "conflict", "{plan}");
    let reason = plan["servers"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("pricelist: 8 → 6"), "{reason}");
    assert_eq!(plan["servers"][1]["action"], "order");
    let (bf, ran) = run(bf, &["plan", "web.yaml", "--detailed-exitcode"]).await;
    ran.code(4);
    let (_bf, ran) = run(bf, &["apply", "web.yaml", "--yes"]).await;
    ran.code(0);
    let requests = sim.sim.requests();
    let mutating: Vec<&LoggedRequest> = requests.iter().filter(|r| is_mutating(r)).collect();
    assert_eq!(mutating.len(), 1, "{mutating:?}");
    assert!(
        mutating[0]
            .params
            .iter()
            .any(|(k, v)| k == "remoteid" && v == "web-2")
    );
}
