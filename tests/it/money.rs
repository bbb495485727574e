//! Amounts as billings print them, read exactly through the binary: a localized balance keeps
//! its value and precision, and an amount that stays ambiguous (`1,234` alone) stops the plan
//! instead of being guessed 1000× wrong.

use billfleet::sim::{Faults, SimConfig, SimDialect};
use serde_json::Value;

use super::harness::{self, Billfleet};

const MANIFEST: &str = "version: 1\nbilling:\n  dialect: bm5\nfleet:\n  name: web\n  type: vds\n  \
    count: 2\n  domain: \"web-{seq:03}.example.com\"\n  pricelist: 6\n  datacenter: 1\n  \
    period: 1\n  ostempl: ISPsystem__CentOS-7-amd64\n  addons: {10: 1, 11: 1024}\n\
    execution:\n  rate: 100\n";

/// `plan --output json` against a billing whose whoami writes the balance as `text`.
async fn plan_with_balance(text: &str) -> harness::Ran {
    let sim = harness::sim(SimConfig {
        dialect: SimDialect::Bm5,
        faults: Faults {
            balance_text: Some(text.to_owned()),
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    Billfleet::new()
        .manifest("web.yaml", MANIFEST)
        .billing(&sim)
        .args(["plan", "web.yaml", "--output", "json"])
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localized_balances_keep_their_value_and_precision() {
    for (shown, amount) in [
        ("1 234,56", "1234.56"),
        ("1,234.56 EUR", "1234.56"),
        ("1.234,56", "1234.56"),
        ("0.005", "0.005"),
        ("12.3456 EUR", "12.3456"),
    ] {
        let ran = plan_with_balance(shown).await;
        ran.code(0);
        let plan: Value = serde_json::from_str(&ran.stdout).unwrap();
        assert_eq!(plan["balance"]["amount"], amount, "{shown}: {plan}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_balance_stops_the_plan_instead_of_a_guess() {
    let ran = plan_with_balance("1,234").await;
    assert_ne!(ran.code, Some(0), "{}", ran.stdout);
    assert!(ran.stdout.is_empty(), "no plan printed: {}", ran.stdout);
    assert!(ran.stderr.contains("1,234"), "{}", ran.stderr);
}
