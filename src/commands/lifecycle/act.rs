//! `billfleet suspend|resume|destroy`: list actions on the fleet's services, in batches of
//! [`BATCH`](crate::plan::fleet::BATCH) ids per call (one item type per call; which services
//! and how they are batched is [`ListSpec`] and [`batches`]). A batch the billing refuses as
//! a whole falls back to one call per service, so one refusal (e.g. `pricelist_min_order`)
//! does not fail the others.

use std::collections::HashMap;

use super::jobs::Act;
use super::{Context, FleetAction, Member, settle, stopped};
use crate::api::{Action, Service};
use crate::commands::{CmdError, CmdResult};
use crate::executor::{ErrorClass, Outcome};
use crate::plan::fleet::{ListSpec, batches, reached, status_word, target_status};
use crate::report::lifecycle::{act_question, member_row, print_doomed};
use crate::report::{ReportRow, RowOutcome};

/// `billfleet suspend|resume|destroy`.
pub async fn run(ctx: &Context, action: FleetAction) -> CmdResult {
    let spec = ListSpec::of(action);
    let mut rows: HashMap<String, ReportRow> = HashMap::new();
    for m in &ctx.fleet.members {
        let outcome = if spec.already.contains(&m.status()) {
            RowOutcome::Unchanged
        } else {
            RowOutcome::Skipped
        };
        rows.insert(m.key.clone(), member_row(m, outcome));
    }
    let targets: Vec<&Member> = ctx.fleet.with_status(spec.acts_on).collect();
    if action == FleetAction::Destroy {
        print_doomed(&targets).map_err(CmdError::aborted)?;
    }
    if !targets.is_empty() {
        ctx.confirm(&act_question(action.command(), targets.len()))?;
    }
    let batches = batches(&targets);
    let jobs: Vec<Act> = batches
        .iter()
        .map(|(kind, members)| act_job(ctx, kind, spec.action, members))
        .collect();
    let weights: Vec<usize> = batches.iter().map(|(_, m)| m.len()).collect();
    let results = ctx
        .runner()
        .run_weighted(jobs, Some(action.command()), weights)
        .await;
    let mut retry: Vec<&Member> = Vec::new();
    for ((_, members), result) in batches.iter().zip(&results) {
        let refused = matches!(&result.outcome,
            Outcome::Failed { class, .. } if *class != ErrorClass::Fatal);
        for member in members {
            let Some(row) = rows.get_mut(&member.key) else {
                continue;
            };
            row.outcome = spec.done;
            settle(row, result);
            if refused && !stopped(&results) {
                retry.push(member);
            }
        }
    }
    let mut halted = stopped(&results);
    if !retry.is_empty() {
        halted |= one_by_one(ctx, &spec, &retry, &mut rows).await?;
    }
    for row in rows.values_mut().filter(|r| r.outcome == spec.done) {
        row.status = Some(status_word(target_status(spec.action)).to_owned());
    }
    let rows: Vec<ReportRow> = rows.into_values().collect();
    ctx.finish(&rows, halted)
}

fn act_job(ctx: &Context, kind: &str, action: Action, members: &[&Member]) -> Act {
    let key = match members {
        [one] => one.key.clone(),
        [first, .., last] => format!("{}..{}", first.key, last.key),
        [] => kind.to_owned(),
    };
    Act {
        client: ctx.conn.client.clone(),
        key,
        item_type: kind.to_owned(),
        action,
        ids: members
            .iter()
            .filter_map(|m| m.service().map(|s| s.id.clone()))
            .collect(),
    }
}

/// After refused batches: re-reads the lists (a batch may have been partly done), then one
/// call per service still not in the wanted state. Returns whether the run was stopped.
async fn one_by_one(
    ctx: &Context,
    spec: &ListSpec,
    members: &[&Member],
    rows: &mut HashMap<String, ReportRow>,
) -> Result<bool, CmdError> {
    let mut listed: HashMap<(String, String), Service> = HashMap::new();
    let mut kinds: Vec<&str> = members.iter().map(|m| &*m.item_type).collect();
    kinds.sort_unstable();
    kinds.dedup();
    for kind in kinds {
        for s in ctx.conn.client.list_complete(kind).await? {
            listed.insert((kind.to_owned(), s.id.clone()), s);
        }
    }
    let mut pending: Vec<&Member> = Vec::new();
    for member in members {
        let Some(id) = member.service().map(|s| s.id.clone()) else {
            continue;
        };
        let now = listed.get(&(member.item_type.to_string(), id));
        let done = reached(spec.action, now);
        match rows.get_mut(&member.key) {
            Some(row) if done => {
                row.outcome = spec.done;
                row.error = None;
            }
            Some(_) => pending.push(member),
            None => {}
        }
    }
    let jobs: Vec<Act> = pending
        .iter()
        .map(|m| act_job(ctx, &m.item_type, spec.action, std::slice::from_ref(m)))
        .collect();
    let label = format!("{} (one by one)", spec.done);
    let results = ctx.runner().run(jobs, Some(&label)).await;
    for (member, result) in pending.iter().zip(&results) {
        if let Some(row) = rows.get_mut(&member.key) {
            row.outcome = spec.done;
            row.error = None;
            settle(row, result);
        }
    }
    Ok(stopped(&results))
}
