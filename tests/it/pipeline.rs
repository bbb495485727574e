//! The apply and plan pipeline's contract gaps: a failed list fails the plan for its group
//! (exit 1), a fatal refusal still aborts (exit 3), `plan` ends its session, its text fits
//! 80 columns, and the one settings merge refuses nonsense (exit 2) before anything is sent.

use std::time::Duration;

use billfleet::sim::{Faults, SimConfig, SimDialect, SimHandle};

use super::harness::{self, Billfleet};

fn manifest(count: u32, addons: &str) -> String {
    format!(
        "version: 1\nbilling:\n  dialect: bm5\n  login: session\nfleet:\n  name: web\n  \
         type: vds\n  count: {count}\n  domain: \"web-{{seq:03}}.example.com\"\n  \
         pricelist: 6\n  datacenter: 1\n  period: 1\n  autoprolong: 1\n  \
         ostempl: ISPsystem__CentOS-7-amd64\n  addons: {{{addons}}}\n  \
         payment: balance\nexecution:\n  rate: 100\n"
    )
}

async fn sim(faults: Faults) -> SimHandle {
    harness::sim(SimConfig {
        dialect: SimDialect::Bm5,
        activation: Duration::from_millis(100),
        faults,
        ..SimConfig::default()
    })
    .await
}

fn run(sim: &SimHandle, text: &str, args: &[&str]) -> Billfleet {
    Billfleet::new()
        .manifest("web.yaml", text)
        .billing(sim)
        .args(args.iter().copied())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_list_fails_the_plan_naming_the_group() {
    let sim = sim(Faults {
        refuse_lists: Some("query".into()),
        ..Faults::default()
    })
    .await;
    let ran = run(&sim, &manifest(2, "10: 1, 11: 1024"), &["plan", "web.yaml"])
        .run()
        .await;
    ran.code(1);
    assert!(ran.stderr.contains("group `web`"), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("vds service list failed"),
        "{}",
        ran.stderr
    );
    // `apply` sends no order for that group.
    let ran = run(
        &sim,
        &manifest(2, "10: 1, 11: 1024"),
        &["apply", "web.yaml", "--yes"],
    )
    .run()
    .await;
    ran.code(1);
    let ordered = sim.sim.requests().iter().any(|r| {
        r.func.ends_with(".order.param") && r.params.iter().any(|(k, v)| k == "sok" && v == "ok")
    });
    assert!(!ordered, "an order was sent for a group whose list failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_list_refusal_still_aborts_the_plan() {
    let sim = sim(Faults {
        refuse_lists: Some("access".into()),
        ..Faults::default()
    })
    .await;
    let ran = run(&sim, &manifest(2, "10: 1, 11: 1024"), &["plan", "web.yaml"])
        .run()
        .await;
    ran.code(3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_ends_its_session() {
    let sim = sim(Faults::default()).await;
    let ran = run(&sim, &manifest(2, "10: 1, 11: 1024"), &["plan", "web.yaml"])
        .run()
        .await;
    ran.code(0);
    let requests = sim.sim.requests();
    let last = requests.last().map(|r| r.func.as_str());
    assert_eq!(last, Some("logon"), "the session was not ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_failure_of_a_list_read_is_retried_not_a_blocked_group() {
    // The filter form and the first page each answer 503 once: read again, then planned.
    for func in ["vds.filter", "vds"] {
        let sim = sim(Faults {
            fail_first: Some((func.to_owned(), 1)),
            ..Faults::default()
        })
        .await;
        let text = manifest(3, "10: 1, 11: 1024");
        let plan = run(&sim, &text, &["plan", "web.yaml"]).run().await;
        plan.code(0);
        let failed = sim.sim.requests();
        assert!(
            failed
                .iter()
                .any(|r| r.func == func && r.outcome == "fault:503"),
            "{func} was not refused once"
        );
        assert!(
            plan.stdout.contains("3 to order"),
            "{func}: {}",
            plan.stdout
        );
        let ran = run(&sim, &text, &["apply", "web.yaml", "--yes"])
            .run()
            .await;
        ran.code(0);
        assert_eq!(sim.sim.services().len(), 3, "{func}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reading_command_ends_its_session() {
    let sim = sim(Faults::default()).await;
    let text = manifest(2, "10: 1, 11: 1024");
    let commands: [&[&str]; 5] = [
        &["plan", "web.yaml"],
        &["validate", "web.yaml", "--online"],
        &["doctor", "web.yaml"],
        &["catalog", "--type", "vds", "--dialect", "bm5"],
        &[
            "init",
            "--pricelist",
            "6",
            "--count",
            "2",
            "--domain",
            "a-{seq}.example.com",
            "--dialect",
            "bm5",
        ],
    ];
    for args in commands {
        let before = sim.sim.requests().len();
        let ran = run(&sim, &text, args).run().await;
        ran.code(0);
        let requests = sim.sim.requests();
        let last = requests.last().map(|r| r.func.as_str());
        assert!(requests.len() > before, "{args:?} sent nothing");
        assert_eq!(last, Some("logon"), "{args:?} did not end its session");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_text_fits_80_columns() {
    let sim = sim(Faults::default()).await;
    let ran = run(&sim, &manifest(3, "10: 1, 11: 1024"), &["plan", "web.yaml"])
        .run()
        .await;
    ran.code(0);
    for line in ran.stdout.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
    assert!(ran.stdout.contains("skipbasket=on"), "{}", ran.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonsense_settings_are_refused_before_anything_is_sent() {
    let sim = sim(Faults::default()).await;
    let text = manifest(2, "10: 1, 11: 1024");
    for bad in [
        &["--concurrency", "0"][..],
        &["--rate", "0"],
        &["--rate", "0.001"],
        &["--wait-timeout", "99999999"],
        &["--lock-timeout", "99999999"],
        &["--canary", "0"],
    ] {
        let mut args = vec!["apply", "web.yaml", "--yes"];
        args.extend_from_slice(bad);
        let ran = run(&sim, &text, &args).run().await;
        ran.code(2);
    }
    assert!(sim.sim.requests().is_empty());
}
