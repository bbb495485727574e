//! `billfleet prolong --period N`: prices the renewal of every live fleet service with the
//! billing's own preview, guards the budget, confirms, then renews through the executor.

use std::collections::HashMap;

use super::jobs::{Prolong, Read};
use super::{Context, Member, settle, stopped};
use crate::api::ProlongInfo;
use crate::cli::ProlongArgs;
use crate::commands::{CmdError, CmdResult, confirm};
use crate::executor::{JobResult, Outcome};
use crate::money::Money;
use crate::report::{ReportRow, RowOutcome};

/// Statuses that can be renewed: active and suspended.
const RENEWABLE: [u8; 2] = [2, 3];

/// `billfleet prolong`.
pub async fn prolong(args: &ProlongArgs) -> CmdResult {
    let loaded = crate::manifest::load_file(&args.manifest)?;
    if args.period == 0 {
        return Err(CmdError::bad_input("--period must be at least 1 month"));
    }
    confirm::require_yes_or_terminal(args.confirm.yes, "prolong").map_err(CmdError::bad_input)?;
    let ctx = Context::open(loaded, &args.billing, &args.confirm, &args.targets).await?;
    let targets: Vec<&Member> = ctx.fleet.with_status(&RENEWABLE).collect();
    let runner = ctx.runner();
    let quotes = runner
        .run(quote_jobs(&ctx, &targets, args.period), None)
        .await;
    let mut rows = base_rows(&ctx);
    for (member, quote) in targets.iter().zip(&quotes) {
        if let Some(row) = rows.get_mut(&member.key) {
            settle(row, quote);
            // Pricing is not the renewal: only a failure counts.
            row.attempts = 0;
            row.duration_ms = None;
        }
    }
    if stopped(&quotes) {
        return abort(&ctx, rows, "the renewal could not be priced");
    }
    let priced: Vec<(&Member, &ProlongInfo)> = targets
        .iter()
        .zip(&quotes)
        .filter_map(|(m, q)| match &q.outcome {
            Outcome::Done(info) => Some((*m, info)),
            _ => None,
        })
        .collect();
    let total = total_cost(&priced);
    if let Err(reason) = budget(&ctx, total.as_ref()).await {
        return abort(&ctx, rows, &reason);
    }
    let cost_text = total
        .as_ref()
        .map_or_else(|| "unknown".to_owned(), ToString::to_string);
    let services = crate::report::plural(priced.len(), "service");
    let months = crate::report::plural(args.period as usize, "month");
    crate::report::eprint_line(&format!(
        "prolong: {services} by {months}, total {cost_text}"
    ));
    ctx.confirm(&format!("Renew {services} for {months} at {cost_text}?"))?;
    let jobs = renew_jobs(&ctx, &priced, args.period);
    let results = runner.run(jobs, Some("prolong")).await;
    for ((member, quote), result) in priced.iter().zip(&results) {
        if let Some(row) = rows.get_mut(&member.key) {
            record(row, quote, result);
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
        .map(|m| (m.key.clone(), m.row(RowOutcome::Skipped)))
        .collect()
}

fn record(row: &mut ReportRow, quote: &ProlongInfo, result: &JobResult<ProlongInfo>) {
    row.outcome = RowOutcome::Prolonged;
    row.cost = quote.cost.as_ref().map(Money::amount);
    settle(row, result);
    if let Outcome::Done(done) = &result.outcome {
        row.expiredate = done
            .new_expiredate
            .clone()
            .or_else(|| quote.new_expiredate.clone())
            .or_else(|| row.expiredate.clone());
    }
}

/// The sum of the previews; `None` when one of them states no price.
fn total_cost(priced: &[(&Member, &ProlongInfo)]) -> Option<Money> {
    priced.iter().try_fold(Money::default(), |sum, (_, info)| {
        let cost = info.cost.as_ref()?;
        let mut next = sum.plus(cost);
        if next.currency.is_empty() {
            next.currency.clone_from(&cost.currency);
        }
        Some(next)
    })
}

/// Refuses when the total exceeds `execution.max_spend` (or cannot be known while a limit is
/// set), or the balance.
async fn budget(ctx: &Context, total: Option<&Money>) -> Result<(), String> {
    let max_spend = ctx.manifest().execution.max_spend;
    let Some(total) = total else {
        return match max_spend {
            Some(max) => Err(format!(
                "the billing states no price for some renewals; cannot check max_spend {max}"
            )),
            None => Ok(()),
        };
    };
    if let Some(max) = max_spend {
        // max_spend is a plain amount of the account's currency.
        if total.exceeds(max) {
            return Err(format!(
                "budget guard: the renewal costs {total}, max_spend is {max}"
            ));
        }
    }
    let account = ctx.conn.client.whoami().await.map_err(|e| e.to_string())?;
    if account.balance.value() < total.value() {
        return Err(format!(
            "insufficient balance: the renewal costs {total}, the balance is {}",
            account.balance
        ));
    }
    Ok(())
}

/// Writes the report (nothing renewed) and aborts with exit 3.
fn abort(ctx: &Context, rows: HashMap<String, ReportRow>, reason: &str) -> CmdResult {
    let rows: Vec<ReportRow> = rows.into_values().collect();
    ctx.finish(&rows, true)?;
    Err(CmdError::aborted(reason))
}
