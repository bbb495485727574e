//! `billfleet prolong --period N`: prices the renewal of every live fleet service with the
//! billing's own preview, guards the budget ([`crate::plan::renewal`]), confirms, then
//! renews through the executor.

use std::collections::HashMap;

use super::jobs::{Prolong, Read};
use super::{Context, Member, settle, stopped};
use crate::api::ProlongInfo;
use crate::cli::ProlongArgs;
use crate::commands::{CmdError, CmdResult, confirm};
use crate::executor::Outcome;
use crate::money::Money;
use crate::plan::budget::{self, Estimate};
use crate::plan::renewal::{self, RENEWABLE};
use crate::report::lifecycle::{announce_renewal, member_row, renewed};
use crate::report::{ReportRow, RowOutcome};

/// `billfleet prolong`.
pub async fn prolong(args: &ProlongArgs) -> CmdResult {
    let loaded = crate::manifest::load_file(&args.manifest)?;
    if args.period == 0 {
        return Err(CmdError::bad_input("--period must be at least 1 month"));
    }
    let settings = super::settings(&loaded, &args.confirm)?;
    confirm::require_yes_or_terminal(args.confirm.yes, "prolong").map_err(CmdError::bad_input)?;
    let ctx = Context::open(
        loaded,
        settings,
        &args.billing,
        &args.confirm,
        &args.targets,
    )
    .await?;
    let result = run(&ctx, args.period).await;
    ctx.conn.client.logout().await;
    result
}

/// Prices, guards, confirms and renews the fleet's renewable services.
async fn run(ctx: &Context, period: u32) -> CmdResult {
    let targets: Vec<&Member> = ctx.fleet.with_status(&RENEWABLE).collect();
    let runner = ctx.runner();
    let quotes = runner.run(quote_jobs(ctx, &targets, period), None).await;
    let mut rows = base_rows(ctx);
    for (member, quote) in targets.iter().zip(&quotes) {
        if let Some(row) = rows.get_mut(&member.key) {
            settle(row, quote);
            // Pricing is not the renewal: only a failure counts.
            row.attempts = 0;
            row.duration_ms = None;
        }
    }
    if stopped(&quotes) {
        return abort(ctx, rows, "the renewal could not be priced");
    }
    let priced: Vec<(&Member, &ProlongInfo)> = targets
        .iter()
        .zip(&quotes)
        .filter_map(|(m, q)| match &q.outcome {
            Outcome::Done(info) => Some((*m, info)),
            _ => None,
        })
        .collect();
    let total = renewal::total(priced.iter().map(|(_, info)| info.cost.as_ref()));
    if let Err(reason) = budget(ctx, priced.len(), total.clone()).await {
        return abort(ctx, rows, &reason);
    }
    ctx.confirm(&announce_renewal(priced.len(), period, total.as_ref()))?;
    let jobs = renew_jobs(ctx, &priced, period);
    let results = runner.run(jobs, Some("prolong")).await;
    for ((member, quote), result) in priced.iter().zip(&results) {
        if let Some(row) = rows.get_mut(&member.key) {
            renewed(row, quote, result);
        }
    }
    let rows: Vec<ReportRow> = rows.into_values().collect();
    ctx.finish(&rows, stopped(&results))
}

/// One renewal per priced service (every target has a service: `with_status` chose them).
fn renew_jobs(ctx: &Context, priced: &[(&Member, &ProlongInfo)], period: u32) -> Vec<Prolong> {
    priced
        .iter()
        .filter_map(|(m, info)| {
            let s = m.service()?;
            Some(Prolong {
                client: ctx.conn.client.clone(),
                key: m.key.clone(),
                item_type: m.item_type.to_string(),
                id: s.id.clone(),
                period,
                old_expiry: s.expiredate.clone().or_else(|| info.expiredate.clone()),
                new_expiry: info.new_expiredate.clone(),
            })
        })
        .collect()
}

fn quote_jobs(ctx: &Context, targets: &[&Member], period: u32) -> Vec<Read<ProlongInfo>> {
    targets
        .iter()
        .filter_map(|m| {
            let client = ctx.conn.client.clone();
            let id = m.service()?.id.clone();
            Some(Read::new(m.key.clone(), move || {
                let (client, id) = (client.clone(), id.clone());
                async move { client.prolong_quote(&id, period).await }
            }))
        })
        .collect()
}

/// One row per declared server: renewable ones start `skipped` until renewed; the others
/// are `skipped` for good (absent, processing, conflict).
fn base_rows(ctx: &Context) -> HashMap<String, ReportRow> {
    ctx.fleet
        .members
        .iter()
        .map(|m| (m.key.clone(), member_row(m, RowOutcome::Skipped)))
        .collect()
}

/// The budget guard of the renewal: `execution.max_spend`, then (only when the total is
/// known and within it) the balance.
async fn budget(ctx: &Context, count: usize, total: Option<Money>) -> Result<(), String> {
    let max_spend = ctx.manifest().execution.max_spend;
    let estimate = Estimate::renewal(count, total);
    // The balance matters only for a renewal with a price, or a limit to check.
    if estimate.total.is_none() && max_spend.is_none() {
        return Ok(());
    }
    let account = ctx.conn.client.whoami().await.map_err(|e| e.to_string())?;
    budget::guard(
        &estimate,
        max_spend,
        &account.balance,
        "nothing was renewed",
    )
}

/// Writes the report (nothing renewed) and aborts with exit 3.
fn abort(ctx: &Context, rows: HashMap<String, ReportRow>, reason: &str) -> CmdResult {
    let rows: Vec<ReportRow> = rows.into_values().collect();
    ctx.finish(&rows, true)?;
    Err(CmdError::aborted(reason))
}
