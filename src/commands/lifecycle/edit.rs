//! `billfleet edit`: reads each fleet service's edit form, compares it with the manifest's
//! addons and autoprolong (the planner's diff, [`crate::plan::drift`]), has
//! `report::lifecycle` print the difference as a plan, then sends `<type>.edit` only where
//! something changed. Tariff, OS template and recipe
//! cannot be changed from a customer account: a difference there is only noted.

use std::collections::HashMap;

use super::jobs::{Edit, Read};
use super::{Context, Member, settle, stopped};
use crate::api::{EditForm, price_change};
use crate::commands::{CmdError, CmdResult};
use crate::executor::Outcome;
use crate::manifest::{Group, Payment};
use crate::money::Money;
use crate::plan::drift::{Diff, EDITABLE, diff, edit_params};
use crate::report::csv::IN_CART;
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
    let mut prices: HashMap<String, Money> = HashMap::new();
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
        if let Some(price) = &form.price {
            prices.insert(member.key.clone(), price.clone());
        }
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
        let price_changes = preview_prices(ctx, &changed, &prices).await;
        ctx.confirm(&edit_question(changed.len(), &price_changes))?;
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
                params: edit_params(
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
            let basket = group_of(ctx, member).is_some_and(|g| g.payment != Payment::Balance);
            if basket && row.outcome == RowOutcome::Edited {
                row.note = Some(IN_CART.to_owned());
            }
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

/// Each change's price per period, where the edit form (`prices`, by key) and the edit's
/// preview (`<type>.edit` with the changed fields, without `sok`) both state one; unknown
/// (`None`) otherwise, also when the preview fails (see `crate::api::price`).
async fn preview_prices(
    ctx: &Context,
    changed: &[&(&Member, Diff)],
    prices: &HashMap<String, Money>,
) -> Vec<Option<Money>> {
    let jobs: Vec<Read<EditForm>> = changed
        .iter()
        .filter(|(m, _)| prices.contains_key(&m.key))
        .filter_map(|(m, d)| {
            let (key, item_type) = (m.key.clone(), m.item_type.to_string());
            let id = m.service()?.id.clone();
            let params = edit_params(d, false);
            Some(Read::edit_preview(
                &ctx.conn.client,
                key,
                item_type,
                id,
                params,
            ))
        })
        .collect();
    let mut after: HashMap<String, Money> = HashMap::new();
    for result in ctx.runner().run(jobs, None).await {
        if let Outcome::Done(EditForm {
            price: Some(price), ..
        }) = result.outcome
        {
            after.insert(result.key, price);
        }
    }
    changed
        .iter()
        .map(|(m, _)| price_change(prices.get(&m.key), after.get(&m.key)))
        .collect()
}

fn group_of<'a>(ctx: &'a Context, member: &Member) -> Option<&'a Group> {
    ctx.manifest().groups().find(|g| *g.name == *member.group)
}
