//! `billfleet edit`: reads each fleet service's edit form, compares it with the manifest's
//! addons and autoprolong (the planner's diff, [`crate::plan::drift`]), has
//! `report::lifecycle` print the difference as a plan, then sends `<type>.edit` only where
//! something changed. Tariff, OS template and recipe
//! cannot be changed from a customer account: a difference there is only noted.

use std::collections::HashMap;

use super::jobs::{Edit, Read};
use super::{Context, Member, settle, stopped};
use crate::api::EditForm;
use crate::commands::{CmdError, CmdResult};
use crate::executor::Outcome;
use crate::manifest::{Group, Payment};
use crate::plan::drift::{Diff, EDITABLE, diff};
use crate::report::lifecycle::{edit_question, member_row, print_edit_plan};
use crate::report::{ReportRow, RowOutcome};

/// `billfleet edit`.
pub async fn run(ctx: &Context) -> CmdResult {
    let targets: Vec<&Member> = ctx.fleet.with_status(&EDITABLE).collect();
    let runner = ctx.runner();
    let reads = read_jobs(ctx, &targets);
    let forms = runner.run(reads, None).await;
    let mut rows: HashMap<String, ReportRow> = ctx
        .fleet
        .members
        .iter()
        .map(|m| (m.key.clone(), member_row(m, RowOutcome::Skipped)))
        .collect();
    let mut planned: Vec<(&Member, Diff)> = Vec::new();
    for (member, read) in targets.iter().zip(&forms) {
        let Some(row) = rows.get_mut(&member.key) else {
            continue;
        };
        settle(row, read);
        row.attempts = 0;
        row.duration_ms = None;
        let (Outcome::Done(form), Some(group)) = (&read.outcome, group_of(ctx, member)) else {
            continue;
        };
        row.outcome = RowOutcome::Unchanged;
        planned.push((member, diff(group, &form.values)));
    }
    if stopped(&forms) {
        let rows: Vec<ReportRow> = rows.into_values().collect();
        ctx.finish(&rows, true)?;
        return Err(CmdError::aborted(
            "the services' current values could not be read",
        ));
    }
    print_edit_plan(&planned).map_err(CmdError::aborted)?;
    let changed: Vec<&(&Member, Diff)> = planned
        .iter()
        .filter(|(_, d)| !d.changes.is_empty())
        .collect();
    if !changed.is_empty() {
        ctx.confirm(&edit_question(changed.len()))?;
    }
    let jobs = changed
        .iter()
        .filter_map(|(m, d)| {
            Some(Edit {
                client: ctx.conn.client.clone(),
                key: m.key.clone(),
                item_type: m.item_type.to_string(),
                id: m.service()?.id.clone(),
                // A group paid from the balance also sends `skipbasket=on`, so an addon change
                // is charged at once instead of waiting unpaid in the cart (BILLmanager 6
                // "Service management via API", `vds.edit … skipbasket=on`).
                params: crate::plan::drift::edit_params(
                    d,
                    group_of(ctx, m).is_some_and(|g| g.payment == Payment::Balance),
                ),
            })
        })
        .collect();
    let results = runner.run(jobs, Some("edit")).await;
    for ((member, _), result) in changed.iter().zip(&results) {
        if let Some(row) = rows.get_mut(&member.key) {
            row.outcome = RowOutcome::Edited;
            settle(row, result);
        }
    }
    let rows: Vec<ReportRow> = rows.into_values().collect();
    ctx.finish(&rows, stopped(&results))
}

/// One form read per target (every target has a service: `with_status` chose them).
fn read_jobs(ctx: &Context, targets: &[&Member]) -> Vec<Read<EditForm>> {
    targets
        .iter()
        .filter_map(|m| {
            let client = ctx.conn.client.clone();
            let item_type = m.item_type.to_string();
            let id = m.service()?.id.clone();
            Some(Read::new(m.key.clone(), move || {
                let (client, item_type, id) = (client.clone(), item_type.clone(), id.clone());
                async move { client.edit_form(&item_type, &id).await }
            }))
        })
        .collect()
}

fn group_of<'a>(ctx: &'a Context, member: &Member) -> Option<&'a Group> {
    ctx.manifest().groups().find(|g| *g.name == *member.group)
}
