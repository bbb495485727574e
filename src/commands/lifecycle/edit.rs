//! `billfleet edit`: compares each fleet service's edit form with the manifest's addons and
//! autoprolong (the planner's diff, [`crate::plan::drift`]), prints the difference as a plan,
//! then sends `<type>.edit` only where something changed. Tariff, OS template and recipe
//! cannot be changed from a customer account: a difference there is only noted.

use std::collections::HashMap;
use std::io::Write;

use super::jobs::{Edit, Read};
use super::{Context, Member, settle, stopped};
use crate::api::EditForm;
use crate::commands::{CmdError, CmdResult};
use crate::executor::Outcome;
use crate::manifest::{Group, Payment};
use crate::plan::drift::{Diff, EDITABLE, diff};
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
        .map(|m| (m.key.clone(), m.row(RowOutcome::Skipped)))
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
    print_plan(&planned)?;
    let changed: Vec<&(&Member, Diff)> = planned
        .iter()
        .filter(|(_, d)| !d.changes.is_empty())
        .collect();
    if !changed.is_empty() {
        ctx.confirm(&format!(
            "Edit {} (the billing prices changed addons itself; no cost is known here)?",
            crate::report::plural(changed.len(), "service")
        ))?;
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

/// Prints the plan on stdout: one line per changed field, notes, and a count.
fn print_plan(planned: &[(&Member, Diff)]) -> Result<(), CmdError> {
    let mut out = std::io::BufWriter::new(crate::report::stdout());
    let mut write = || -> std::io::Result<()> {
        for (member, diff) in planned {
            let id = member.service().map_or("-", |s| s.id.as_str());
            for change in &diff.changes {
                let old = change.from.as_deref().unwrap_or("(none)");
                writeln!(
                    out,
                    "{} (id {id}, {}): {}: {old} → {}",
                    member.key,
                    member.domain(),
                    change.field,
                    change.to
                )?;
            }
            for note in &diff.notes() {
                writeln!(out, "{} (id {id}): note: {note}", member.key)?;
            }
        }
        let changed = planned
            .iter()
            .filter(|(_, d)| !d.changes.is_empty())
            .count();
        writeln!(
            out,
            "edit: {changed} to change, {} unchanged",
            planned.len() - changed
        )?;
        out.flush()
    };
    write().map_err(|e| CmdError::aborted(format!("cannot write the plan: {e}")))
}
