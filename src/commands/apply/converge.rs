//! Convergence beyond ordering: the survey's second half (each present service's edit form,
//! so the planner can tell `exists` from `update`), `--target` and `--prune` applied to the
//! plan, and the execution of the plan's updates (`<type>.edit`) and deletes
//! (`<type>.delete`) as executor jobs.

use std::collections::{BTreeMap, HashMap};

use tokio_util::sync::CancellationToken;

use super::rows::{Entry, Tally};
use crate::api::{Action as ListAction, BillingClient, EditForm};
use crate::commands::CmdError;
use crate::commands::connect::Connection;
use crate::commands::lifecycle::jobs::{Act, Edit, Read, Runner};
use crate::executor::{ErrorClass, Interrupt, JobResult, Outcome, Policy};
use crate::manifest::Manifest;
use crate::money::Money;
use crate::plan::{Action, Leftover, Plan, Targets};
use crate::report::{ReportRow, RowOutcome};

/// How the plan is completed after the survey.
pub(crate) struct Completion<'a> {
    /// `--target` (or a saved plan's targets).
    pub targets: Option<&'a Targets>,
    /// `--prune`.
    pub prune: bool,
    /// Concurrency and retries of the form reads.
    pub policy: Policy,
    /// Ctrl-C.
    pub cancel: CancellationToken,
}

/// Restricts the plan to the targets, reads the present servers' edit forms (drift), marks the
/// undeclared services for deletion with `--prune`, and prices the targeted orders.
pub(crate) async fn complete(
    client: &BillingClient,
    manifest: &Manifest,
    plan: &mut Plan,
    unit_prices: &[Option<Money>],
    how: Completion<'_>,
) -> Result<(), CmdError> {
    if let Some(targets) = how.targets {
        plan.select(targets);
        let currency = plan
            .balance
            .as_ref()
            .map_or_else(String::new, |b| b.currency.clone());
        plan.cost = plan.cost_of_orders(unit_prices, &currency);
    }
    let forms = read_forms(client, plan, how.policy, how.cancel).await?;
    plan.with_forms(manifest, |id| forms.get(id));
    if how.prune {
        plan.prune();
    }
    Ok(())
}

/// The edit forms the plan needs, by service id. A form that cannot be read blocks its group
/// (the plan cannot be completed); a fatal refusal or an interruption stops.
async fn read_forms(
    client: &BillingClient,
    plan: &mut Plan,
    policy: Policy,
    cancel: CancellationToken,
) -> Result<HashMap<String, BTreeMap<String, String>>, CmdError> {
    let needed = plan.forms_needed();
    if needed.is_empty() {
        return Ok(HashMap::new());
    }
    let jobs: Vec<Read<EditForm>> = needed
        .into_iter()
        .map(|(item_type, id)| {
            let client = client.clone();
            Read::new(id.clone(), move || {
                let (client, item_type, id) = (client.clone(), item_type.clone(), id.clone());
                async move { client.edit_form(&item_type, &id).await }
            })
        })
        .collect();
    let runner = Runner { policy, cancel };
    let mut forms = HashMap::new();
    for result in runner.run(jobs, None).await {
        match result.outcome {
            Outcome::Done(form) => {
                forms.insert(result.key, form.values);
            }
            Outcome::Failed {
                error,
                class: ErrorClass::Fatal,
            } => {
                return Err(CmdError::aborted(format!("the billing refused: {error}")));
            }
            Outcome::Failed { error, .. } => block_service(plan, &result.key, &error),
            Outcome::Skipped { reason } => return Err(CmdError::aborted(reason)),
        }
    }
    Ok(forms)
}

/// Blocks the group of the server whose service `id` could not be read.
fn block_service(plan: &mut Plan, id: &str, error: &str) {
    let found = plan
        .servers
        .iter()
        .find(|s| s.existing.as_ref().is_some_and(|e| e.id == id))
        .map(|s| (s.group_index, s.group.to_string(), s.key.clone()));
    if let Some((index, group, key)) = found {
        plan.block(
            index,
            &group,
            format!("cannot read the current values of {key} (service {id}): {error}"),
        );
    }
}

/// The plan as the order path sees it: targeted servers only, each present server `exists`
/// whatever drifted (updates and drift conflicts are this module's business).
pub(super) fn order_view(plan: &Plan) -> Plan {
    let servers = plan
        .servers
        .iter()
        .filter(|s| s.targeted)
        .map(|s| {
            let mut s = s.clone();
            s.action = s.order_action();
            s
        })
        .collect();
    Plan {
        servers,
        cost: plan.cost.clone(),
        balance: plan.balance.clone(),
        undeclared: Vec::new(),
        blocked: plan.blocked.clone(),
    }
}

/// Rows the order path does not make: `skipped` for servers `--target` left out, `failed`
/// for orders of blocked groups (nothing is sent for them), and the undeclared services
/// (after the declared ones).
pub(super) fn adjust_entries(plan: &Plan, entries: &mut Vec<Entry>) {
    for entry in entries.iter_mut() {
        if let Some(reason) = plan.blocked_reason(entry.group_index)
            && entry.slot.is_some()
        {
            entry.slot = None;
            entry.row.outcome = RowOutcome::Failed;
            entry.row.error = Some(format!("the plan cannot be completed: {reason}"));
        }
    }
    for s in plan.servers.iter().filter(|s| !s.targeted) {
        let domain = s.domain.clone().unwrap_or_default();
        let mut row = ReportRow::new(&*s.group, s.seq, domain, RowOutcome::Skipped);
        row.remoteid = Some(s.key.clone());
        row.service_id = s.existing.as_ref().map(|e| e.id.clone());
        entries.push(entry(row, s.key.clone(), s.group_index, &s.item_type));
    }
    for u in plan.undeclared.iter().filter(|u| u.targeted) {
        let domain = u.service.domain.clone().unwrap_or_default();
        let mut row = ReportRow::new(&*u.group, u.seq, domain, RowOutcome::Skipped);
        row.remoteid = Some(u.key.clone());
        row.service_id = Some(u.service.id.clone());
        row.status = Some(u.service.status.to_string());
        entries.push(entry(
            row,
            u.key.clone(),
            u.group_index,
            &u.service.item_type,
        ));
    }
}

fn entry(row: ReportRow, key: String, group_index: usize, item_type: &str) -> Entry {
    Entry {
        row,
        key,
        group_index,
        item_type: item_type.to_owned(),
        declared: None,
        slot: None,
    }
}

impl super::Apply<'_> {
    /// The survey's second half: targets, drift (edit forms), prune; with a saved plan, the
    /// check that it still holds. Returns the whole plan (the survey keeps its own).
    pub(super) async fn complete_plan(
        &self,
        conn: &Connection,
        survey: &mut super::survey::Survey,
    ) -> Result<Plan, CmdError> {
        let how = Completion {
            targets: self.targets,
            prune: self.args.prune,
            policy: self.settings.policy.clone(),
            cancel: self.interrupt.stop.clone(),
        };
        let unit_prices = survey.unit_prices.clone();
        complete(
            &conn.client,
            self.manifest,
            &mut survey.plan,
            &unit_prices,
            how,
        )
        .await?;
        if let Some(saved) = self.saved {
            super::planfile::check(saved, conn, &survey.plan)?;
        }
        for server in survey.plan.servers.iter().filter(|s| s.targeted) {
            if server.action == Action::Conflict && server.drift.is_some() {
                tracing::warn!("{}: {}; left as it is", server.key, server.reason());
            }
        }
        let kept: Vec<&str> = survey
            .plan
            .undeclared
            .iter()
            .filter(|u| u.targeted && u.action == Leftover::Orphan)
            .map(|u| u.key.as_str())
            .collect();
        if !kept.is_empty() {
            tracing::warn!(
                "{} undeclared services of the fleet are kept ({}); `apply --prune` deletes them",
                kept.len(),
                kept.join(", ")
            );
        }
        for blocked in &survey.plan.blocked {
            tracing::error!(
                "group `{}`: {}; nothing is ordered for it",
                blocked.group,
                blocked.reason
            );
        }
        Ok(survey.plan.clone())
    }

    /// After the orders: the updates, then with `--prune` the deletes (unless stopped).
    pub(super) async fn converge(
        &self,
        conn: &Connection,
        plan: &Plan,
        entries: &mut [Entry],
        tally: &mut Tally,
    ) {
        let runner = runner(&self.settings.policy, self.interrupt);
        if tally.stopped.is_none() && push_updates(&conn.client, &runner, plan, entries).await {
            tally
                .stopped
                .get_or_insert_with(|| "stopped while updating".to_owned());
        }
        if tally.stopped.is_none() && prune(&conn.client, &runner, plan, entries).await {
            tally
                .stopped
                .get_or_insert_with(|| "stopped while pruning".to_owned());
        }
    }
}

/// The lifecycle commands' job runner with apply's policy and Ctrl-C.
fn runner(policy: &Policy, interrupt: &Interrupt) -> Runner {
    Runner {
        policy: policy.clone(),
        cancel: interrupt.stop.clone(),
    }
}

/// Counts of what convergence will do, for the confirmation.
pub(super) fn pending(plan: &Plan) -> (usize, usize) {
    let summary = plan.summary();
    (summary.update, summary.delete)
}

/// Pushes every targeted update (`<type>.edit`); rows become `updated` or `failed`.
/// Returns true when the run was stopped.
pub(super) async fn push_updates(
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
    settle_all(entries, &results, RowOutcome::Updated)
}

/// Deletes every targeted undeclared service marked `delete` (`<type>.delete`, one service
/// per call); rows become `deleted` or `failed`. Returns true when the run was stopped.
pub(super) async fn prune(
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
            crate::commands::lifecycle::settle(&mut entry.row, result);
            if done == RowOutcome::Deleted && entry.row.outcome == done {
                entry.row.status = Some("4".to_owned());
            }
        }
    }
    crate::commands::lifecycle::stopped(results)
}
