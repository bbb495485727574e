//! Convergence beyond ordering: the plan's updates (`<type>.edit`) and, with `--prune`,
//! deletes (`<type>.delete`) run as executor jobs after the orders; their results go into the
//! rows of the same keys.

use std::collections::HashMap;

use std::sync::Arc;

use crate::api::{Action as ListAction, BillingClient};
use crate::executor::lifecycle::{Act, Edit, Runner, stopped};
use crate::executor::order::rows::{Entry, Tally};
use crate::executor::{Interrupt, JobResult, Policy};
use crate::plan::{Action, Leftover, Plan};
use crate::report::RowOutcome;
use crate::report::csv::IN_CART;
use crate::report::lifecycle::settle;

/// After the orders: the updates, then with `--prune` the deletes (unless stopped).
pub async fn converge(
    client: &BillingClient,
    policy: &Policy,
    interrupt: &Interrupt,
    plan: &Plan,
    entries: &mut [Entry],
    tally: &mut Tally,
) {
    let runner = runner(client, policy, interrupt);
    if tally.stopped.is_none() && push_updates(client, &runner, plan, entries).await {
        tally
            .stopped
            .get_or_insert_with(|| "stopped while updating".to_owned());
    }
    if tally.stopped.is_none() && prune(client, &runner, plan, entries).await {
        tally
            .stopped
            .get_or_insert_with(|| "stopped while pruning".to_owned());
    }
}

/// The lifecycle commands' job runner with apply's policy and Ctrl-C.
fn runner(client: &BillingClient, policy: &Policy, interrupt: &Interrupt) -> Runner {
    Runner {
        policy: policy.clone(),
        cancel: interrupt.stop.clone(),
        pacer: Arc::clone(&client.options().pacer),
    }
}

/// Pushes every targeted update (`<type>.edit`); rows become `updated` or `failed`.
/// Returns true when the run was stopped.
async fn push_updates(
    client: &BillingClient,
    runner: &Runner,
    plan: &Plan,
    entries: &mut [Entry],
) -> bool {
    let jobs: Vec<Edit> = plan
        .servers
        .iter()
        .filter(|s| s.targeted && s.action == Action::Update)
        .filter_map(|s| {
            let drift = s.drift.as_ref()?;
            Some(Edit {
                client: client.clone(),
                key: s.key.clone(),
                item_type: drift.item_type.clone(),
                id: drift.service_id.clone(),
                params: drift.params(),
            })
        })
        .collect();
    if jobs.is_empty() {
        return false;
    }
    let results = runner.run(jobs, Some("update")).await;
    let stopped = settle_all(entries, &results, RowOutcome::Updated);
    note_in_cart(plan, entries);
    stopped
}

/// Notes the updated rows of groups paid through the cart (`payment: basket`, sent without
/// `skipbasket=on`): the change was accepted but waits unpaid in the cart.
fn note_in_cart(plan: &Plan, entries: &mut [Entry]) {
    let carted: Vec<&str> = plan
        .servers
        .iter()
        .filter(|s| s.targeted && s.action == Action::Update)
        .filter(|s| s.drift.as_ref().is_some_and(|d| !d.from_balance))
        .map(|s| s.key.as_str())
        .collect();
    for entry in entries.iter_mut() {
        if entry.row.outcome == RowOutcome::Updated && carted.contains(&entry.key.as_str()) {
            entry.row.note = Some(IN_CART.to_owned());
        }
    }
}

/// Deletes every targeted undeclared service marked `delete` (`<type>.delete`, one service
/// per call); rows become `deleted` or `failed`. Returns true when the run was stopped.
async fn prune(
    client: &BillingClient,
    runner: &Runner,
    plan: &Plan,
    entries: &mut [Entry],
) -> bool {
    let jobs: Vec<Act> = plan
        .undeclared
        .iter()
        .filter(|u| u.targeted && u.action == Leftover::Delete)
        .map(|u| Act {
            client: client.clone(),
            key: u.key.clone(),
            item_type: u.service.item_type.clone(),
            action: ListAction::Delete,
            ids: vec![u.service.id.clone()],
        })
        .collect();
    if jobs.is_empty() {
        return false;
    }
    let results = runner.run(jobs, Some("prune")).await;
    settle_all(entries, &results, RowOutcome::Deleted)
}

/// Takes job results into the rows of the same key; true when the run was stopped.
fn settle_all(entries: &mut [Entry], results: &[JobResult<()>], done: RowOutcome) -> bool {
    let index: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.key.as_str(), i))
        .collect();
    let mut positions = Vec::with_capacity(results.len());
    for result in results {
        if let Some(&i) = index.get(result.key.as_str()) {
            positions.push((i, result));
        }
    }
    for (i, result) in positions {
        if let Some(entry) = entries.get_mut(i) {
            entry.row.outcome = done;
            settle(&mut entry.row, result);
            if done == RowOutcome::Deleted && entry.row.outcome == done {
                entry.row.status = Some("4".to_owned());
            }
        }
    }
    stopped(results)
}
