//! The lifecycle commands' run settings and session, through the binary against the
//! simulator: `--concurrency 0` and `--rate 0` are refused (exit 2) before anything is sent,
//! and every lifecycle command ends its session (`func=logon sok=ok`) at the end.

use billfleet::sim::{NewService, SimConfig, SimDialect, SimHandle};

use super::harness::{self, Billfleet};

/// A one-group bm5 VPS manifest of two servers.
const MANIFEST: &str = "version: 1\nbilling:\n  dialect: bm5\nfleet:\n  name: web\n  type: vds\n  \
     count: 2\n  domain: \"web-{seq:03}.example.com\"\n  pricelist: 6\n  datacenter: 1\n  \
     period: 1\n  autoprolong: 1\n  ostempl: ISPsystem__CentOS-7-amd64\n  \
     addons: {10: 1, 11: 1024}\n  payment: balance\nexecution:\n  rate: 50\n";

/// A simulator holding the fleet's two active servers.
async fn sim_with_fleet() -> SimHandle {
    let sim = harness::sim(SimConfig {
        dialect: SimDialect::Bm5,
        ..SimConfig::default()
    })
    .await;
    for seq in 1..=2 {
        sim.sim.add_service(NewService {
            domain: format!("web-{seq:03}.example.com"),
            remoteid: Some(format!("web-{seq}")),
            status: 2,
            ..NewService::default()
        });
    }
    sim
}

/// Runs `args` against `sim` and returns the exit code and the requests it made.
async fn run(sim: &SimHandle, args: &[&str]) -> (Option<i32>, String, Vec<String>) {
    let before = sim.sim.requests().len();
    let ran = Billfleet::new()
        .manifest("web.yaml", MANIFEST)
        .billing(sim)
        .args(args.iter().copied())
        .run()
        .await;
    let funcs = sim.sim.requests()[before..]
        .iter()
        .map(|r| {
            let sok = r.params.iter().any(|(k, v)| k == "sok" && v == "ok");
            format!("{}{}", r.func, if sok { " sok" } else { "" })
        })
        .collect();
    (ran.code, ran.stderr, funcs)
}

#[tokio::test]
async fn concurrency_zero_is_refused_before_anything_is_sent() {
    let sim = sim_with_fleet().await;
    for args in [
        &[
            "prolong",
            "web.yaml",
            "--period",
            "1",
            "--yes",
            "--concurrency",
            "0",
        ][..],
        &["suspend", "web.yaml", "--yes", "--concurrency", "0"],
        &["destroy", "web.yaml", "--yes", "--concurrency", "0"],
        &["suspend", "web.yaml", "--yes", "--rate", "0"],
        &[
            "prolong", "web.yaml", "--period", "1", "--yes", "--rate", "0",
        ],
    ] {
        let (code, stderr, funcs) = run(&sim, args).await;
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("--concurrency must be at least 1")
                || stderr.contains("--rate must be a number"),
            "{args:?}: {stderr}"
        );
        assert!(funcs.is_empty(), "{args:?} sent {funcs:?}");
    }
    assert!(sim.sim.services().iter().all(|s| s.status == 2));
}

#[tokio::test]
async fn every_lifecycle_command_ends_its_session() {
    let sim = sim_with_fleet().await;
    for args in [
        &["status", "web.yaml"][..],
        &["edit", "web.yaml", "--yes"],
        &["prolong", "web.yaml", "--period", "1", "--yes"],
        &["suspend", "web.yaml", "--yes"],
        &["resume", "web.yaml", "--yes"],
        &["destroy", "web.yaml", "--yes"],
    ] {
        let (code, stderr, funcs) = run(&sim, args).await;
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert_eq!(
            funcs.last().map(String::as_str),
            Some("logon sok"),
            "{args:?} sent {funcs:?}"
        );
    }
}
