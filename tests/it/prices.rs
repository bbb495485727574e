//! The price of updates: the plan previews each `<type>.edit` (without `sok`) and shows what
//! the change adds per period, `apply` charges exactly that to a balance-paid group, a preview
//! never changes the service, a cart-paid change is noted as waiting in the cart, and an
//! install whose edit form states no price gives "price change unknown" — all through the real
//! binary against the simulator.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use billfleet::report::RowOutcome;
use billfleet::report::csv::IN_CART;
use billfleet::sim::{Faults, NewService, PriceShape, SimConfig, SimDialect, SimHandle};
use serde_json::{Value, json};

use super::harness::{self, Billfleet, Ran};

/// A one-group VPS manifest (bm6) with `count` servers, RAM addon `ram` and `payment`.
fn manifest(count: u32, ram: u32, payment: &str) -> String {
    format!(
        "version: 1\nbilling:\n  dialect: bm6\nfleet:\n  name: web\n  type: vds\n  count: {count}\n  \
         domain: \"web-{{seq:03}}.example.com\"\n  pricelist: 6\n  datacenter: 1\n  \
         period: 1\n  ostempl: ISPsystem__CentOS-7-amd64\n  \
         addons: {{10: 1, 11: {ram}}}\n  payment: {payment}\nexecution:\n  concurrency: 4\n  \
         rate: 100\n"
    )
}

async fn sim_with(faults: Faults) -> SimHandle {
    harness::sim(SimConfig {
        dialect: SimDialect::Bm6,
        activation: Duration::from_millis(50),
        faults,
        ..SimConfig::default()
    })
    .await
}

async fn run(bf: Billfleet, args: &[&str]) -> (Billfleet, Ran) {
    let bf = bf.args(args.iter().copied());
    let ran = bf.run().await;
    (bf, ran)
}

fn json_of(ran: &Ran) -> Value {
    serde_json::from_str(&ran.stdout).unwrap_or_else(|e| panic!("{e}: {}", ran.stdout))
}

/// `text` with every run of whitespace folded into one space.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Present services `web-1..=count` with RAM 1024, as if ordered earlier.
fn present(sim: &SimHandle, count: u32) {
    for seq in 1..=count {
        sim.sim.add_service(NewService {
            domain: format!("web-{seq:03}.example.com"),
            remoteid: Some(format!("web-{seq}")),
            addons: BTreeMap::from([(10, 1), (11, 1024)]),
            ..NewService::default()
        });
    }
}

/// Per service id: one period's price as the simulator holds it.
fn costs(sim: &SimHandle) -> BTreeMap<String, i64> {
    sim.sim
        .services()
        .into_iter()
        .map(|s| (s.id, s.cost_cents))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raised_addon_is_priced_by_plan_and_charged_by_apply() {
    let sim = sim_with(Faults::default()).await;
    let bf = Billfleet::new()
        .manifest("web.yaml", &manifest(2, 1024, "balance"))
        .billing(&sim);
    let (bf, ran) = run(bf, &["apply", "web.yaml", "--yes", "--wait"]).await;
    ran.code(0);
    let bf = bf.manifest("web.yaml", &manifest(2, 2048, "balance"));
    let before = sim.sim.services();
    let requests_before = sim.sim.requests().len();

    let (bf, ran) = run(bf, &["plan", "web.yaml", "--output", "json"]).await;
    ran.code(0);
    let plan = json_of(&ran);
    // A preview changes nothing: every service as it was.
    assert_eq!(sim.sim.services(), before);
    let previews: Vec<_> = sim.sim.requests()[requests_before..]
        .iter()
        .filter(|r| r.func == "vds.edit" && r.params.iter().any(|(k, _)| k == "addon_11"))
        .cloned()
        .collect();
    assert_eq!(previews.len(), 2, "{previews:?}");
    assert!(
        previews.iter().all(|r| !r
            .params
            .iter()
            .any(|(k, _)| k == "sok" || k == "skipbasket")),
        "{previews:?}"
    );
    for server in plan["servers"].as_array().unwrap() {
        assert_eq!(server["action"], "update", "{plan}");
        // RAM 1024 → 2048 MB at 1 cent per MB above the included 1024.
        assert_eq!(
            server["price_change"],
            json!({"amount": "10.24", "currency": "EUR"})
        );
    }
    assert_eq!(
        plan["update_cost"],
        json!({"amount": "20.48", "currency": "EUR"})
    );

    let (bf, text) = run(bf, &["plan", "web.yaml"]).await;
    text.code(0);
    // Long rows wrap at 80 columns: compare with the whitespace folded.
    let words = words(&text.stdout);
    assert!(words.contains("→ 2048; +10.24 EUR/period"), "{words}");
    assert!(words.contains("update cost: +20.48 EUR/period"), "{words}");

    let costs_before = costs(&sim);
    let balance = sim.sim.balance_cents();
    let (_bf, ran) = run(bf, &["apply", "web.yaml", "--yes"]).await;
    ran.code(0);
    let rows = ran.report("web.results.csv");
    assert!(
        rows.iter()
            .all(|r| r.outcome == RowOutcome::Updated && r.note.is_none()),
        "{rows:?}"
    );
    // The balance drops by exactly the plan's price change, which is the simulator's own
    // difference of the services' prices.
    assert_eq!(balance - sim.sim.balance_cents(), 2048);
    let costs_after = costs(&sim);
    for (id, cost) in &costs_before {
        assert_eq!(costs_after[id] - cost, 1024, "service {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cart_paid_update_is_noted_as_waiting_in_the_cart() {
    let sim = sim_with(Faults::default()).await;
    present(&sim, 1);
    let bf = Billfleet::new()
        .manifest("web.yaml", &manifest(1, 2048, "basket"))
        .billing(&sim);
    let balance = sim.sim.balance_cents();
    let (bf, ran) = run(bf, &["plan", "web.yaml", "--output", "json"]).await;
    ran.code(0);
    let plan = json_of(&ran);
    assert_eq!(plan["servers"][0]["action"], "update", "{plan}");
    assert_eq!(
        plan["servers"][0]["price_change"],
        json!({"amount": "10.24", "currency": "EUR"})
    );
    let (_bf, ran) = run(bf, &["apply", "web.yaml", "--yes"]).await;
    ran.code(0);
    let rows = ran.report("web.results.csv");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, RowOutcome::Updated);
    assert_eq!(rows[0].error, None);
    assert_eq!(rows[0].note.as_deref(), Some(IN_CART));
    assert!(
        ran.stderr.contains("1 change waits in the cart, not paid"),
        "{}",
        ran.stderr
    );
    // Sent without `skipbasket=on`: nothing was charged.
    assert_eq!(sim.sim.balance_cents(), balance);
    let edits: Vec<_> = sim
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.func == "vds.edit" && r.params.iter().any(|(k, v)| k == "sok" && v == "ok"))
        .collect();
    assert_eq!(edits.len(), 1, "{edits:?}");
    assert!(!edits[0].params.iter().any(|(k, _)| k == "skipbasket"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_command_notes_a_cart_paid_change() {
    let sim = sim_with(Faults::default()).await;
    present(&sim, 1);
    let bf = Billfleet::new()
        .manifest("web.yaml", &manifest(1, 2048, "basket"))
        .billing(&sim);
    let (_bf, ran) = run(bf, &["edit", "web.yaml", "--yes"]).await;
    ran.code(0);
    let rows = ran.report("web.edit.csv");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, RowOutcome::Edited);
    assert_eq!(rows[0].note.as_deref(), Some(IN_CART));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_preview_without_a_price_leaves_the_change_unknown() {
    let sim = sim_with(Faults {
        edit_price: PriceShape::Missing,
        ..Faults::default()
    })
    .await;
    present(&sim, 2);
    let bf = Billfleet::new()
        .manifest("web.yaml", &manifest(2, 2048, "balance"))
        .billing(&sim);
    let (bf, ran) = run(bf, &["plan", "web.yaml", "--output", "json"]).await;
    ran.code(0);
    let plan = json_of(&ran);
    for server in plan["servers"].as_array().unwrap() {
        assert_eq!(server["action"], "update", "{plan}");
        assert_eq!(server["price_change"], Value::Null, "{plan}");
    }
    assert_eq!(plan["update_cost"], Value::Null);
    let (_bf, text) = run(bf, &["plan", "web.yaml"]).await;
    text.code(0);
    let words = words(&text.stdout);
    assert!(words.contains("→ 2048; price change unknown"), "{words}");
    assert!(
        words.contains("update cost: price change unknown"),
        "{words}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_flag_selects_the_edit_price_shape() {
    let bf = Billfleet::new().args(["sandbox", "--edit-price-shape", "nowhere"]);
    let ran = bf.run().await;
    ran.code(2);
    assert!(ran.stderr.contains("--edit-price-shape"), "{}", ran.stderr);
}

/// Runs `billfleet ARGS` in `dir` under a pseudo-terminal (`script`) with no answer typed:
/// what the terminal showed, or `None` when there is no `script` utility.
fn asked(sim: &SimHandle, dir: &Path, args: &str) -> Option<String> {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let bin = env!("CARGO_BIN_EXE_billfleet");
    let out = Command::new(script)
        .current_dir(dir)
        .env("BILLFLEET_URL", &sim.url)
        .env("BILLFLEET_USER", harness::USER)
        .env("BILLFLEET_PASSWORD", harness::PASSWORD)
        .env("XDG_CONFIG_HOME", dir)
        .env("XDG_STATE_HOME", dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "200")
        .args(["-qec", &format!("{bin} {args}"), "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_and_edit_questions_show_the_price_of_the_updates() {
    let sim = sim_with(Faults::default()).await;
    present(&sim, 2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("web.yaml"), manifest(2, 2048, "balance")).unwrap();
    let before = sim.sim.services();
    let Some(apply) = asked(&sim, dir.path(), "apply web.yaml") else {
        eprintln!("skipped: no `script` utility for a pseudo-terminal");
        return;
    };
    let apply = words(&apply);
    assert!(
        apply.contains("update 2 (+20.48 EUR/period), delete 0?"),
        "{apply}"
    );
    let edit = words(&asked(&sim, dir.path(), "edit web.yaml").unwrap_or_default());
    assert!(
        edit.contains("Edit 2 services (+20.48 EUR/period)?"),
        "{edit}"
    );
    // Nobody said yes: nothing changed.
    assert_eq!(sim.sim.services(), before);
}
