//! `billfleet plan`: the dry run. Offline it expands the manifest; online it also logs in,
//! lists what exists, prices each group with the billing's own order preview and reads the
//! balance — and never sends a paid call.

use std::io::Write;

use futures_util::future::join_all;

use tokio_util::sync::CancellationToken;

use super::apply::converge::{self, Completion};
use super::apply::planfile::{self, SaveContext};
use super::connect::{Connection, Pace, connect};
use super::{CmdError, CmdResult, fleet};
use crate::api::{ApiError, Service};
use crate::cli::{OutputFormat, PlanArgs};
use crate::executor::Policy;
use crate::exit;
use crate::manifest::{LoginMode, Manifest};
use crate::money::Money;
use crate::plan::{self, Plan, Targets};

/// What the billing says about a manifest before anything is ordered.
pub struct Survey {
    /// The reconciled plan, with cost and balance when known.
    pub plan: Plan,
    /// Every listed service of the manifest's item types.
    pub services: Vec<(String, Service)>,
    /// Price of one server per group (same order as the manifest's groups), when known.
    pub unit_prices: Vec<Option<Money>>,
}

/// A group that cannot be planned, because the list of its item type is not known complete:
/// a server missing from such a list may exist all the same.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Blocked {
    /// Position of the group in the manifest.
    pub group_index: usize,
    /// Its name.
    pub group: String,
    /// Why, in words.
    pub reason: String,
}

impl Blocked {
    /// The groups whose item type has a list gap.
    fn find(manifest: &Manifest, gaps: &[(String, String)]) -> Vec<Self> {
        manifest
            .groups()
            .enumerate()
            .filter_map(|(group_index, group)| {
                let (kind, why) = gaps.iter().find(|(kind, _)| *kind == group.kind)?;
                Some(Self {
                    group_index,
                    group: group.name.clone(),
                    reason: format!("the {kind} service list is not known to be complete ({why})"),
                })
            })
            .collect()
    }
}

/// Logs in, lists, reconciles and prices. A group whose list is not known complete is not
/// priced; it is named in the plan's `blocked` groups.
pub async fn survey(conn: &Connection, manifest: &Manifest) -> Result<Survey, ApiError> {
    // One first contact alone (the login; in `authinfo` mode the account read), so that a
    // refusing billing, a firewall or a redirect sees one request, not one per read. Then the
    // reads are independent: the account, the list of every item type and the price preview
    // of every group go out at once, so ordering can start one round trip after the lists are
    // complete. A preview of a group with nothing to order is one read too many, and cheaper
    // than a round trip of waiting.
    let first = match conn.client.options().login {
        LoginMode::Authinfo => Some(conn.client.whoami().await?),
        LoginMode::Session => {
            conn.client.login().await?;
            None
        }
    };
    let account = async {
        match first {
            Some(account) => Ok(account),
            None => conn.client.whoami().await,
        }
    };
    let previews = join_all(manifest.groups().map(|g| quote_group(conn, manifest, g)));
    let (account, lists, mut quotes) =
        tokio::join!(account, fleet::list_each(&conn.client, manifest), previews);
    let (account, lists) = (account?, lists?);
    let blocked = Blocked::find(manifest, &lists.gaps);
    let services = lists.services;
    let mut plan = plan::plan_against(manifest, &fleet::existing_all(&services));
    for b in &blocked {
        plan.block(b.group_index, &b.group, b.reason.clone());
    }
    let orders = plan.orders_per_group();
    let mut unit_prices = Vec::new();
    let mut total: Option<Money> = Some(Money::default());
    for (index, group) in manifest.groups().enumerate() {
        let planned = !blocked.iter().any(|b| b.group_index == index);
        let count = orders
            .iter()
            .find(|(g, _)| **g == *group.name && planned)
            .map_or(0, |(_, n)| *n);
        let quote = std::mem::replace(&mut quotes[index], Ok(None));
        let price = if count == 0 {
            None
        } else {
            quote.unwrap_or_else(|reason| {
                plan.block(index, &group.name, reason);
                None
            })
        };
        total = match (&price, total, count) {
            (_, None, _) => None,
            (_, Some(t), 0) => Some(t),
            (Some(p), Some(t), n) => Some(t.plus(&p.times(n))),
            (None, Some(_), _) => None,
        };
        unit_prices.push(price);
    }
    plan.cost = total.map(|t| with_currency(t, &account.balance));
    plan.balance = Some(account.balance);
    Ok(Survey {
        plan,
        services,
        unit_prices,
    })
}

/// The billing's price for one server of `group`: `Err(reason)` when the billing refuses the
/// preview (a tariff it does not sell, an invalid option) or states no price — the group's part
/// of the plan cannot be completed, and a plan never counts a server as free; `Ok(None)`
/// (logged) when the preview failed transiently.
async fn quote_group(
    conn: &Connection,
    manifest: &Manifest,
    group: &crate::manifest::Group,
) -> Result<Option<Money>, String> {
    let call = plan::preview_call(manifest, group);
    let params: Vec<(&str, &str)> = call.params().collect();
    match conn.client.quote(&call.func, &params).await {
        Ok(quote) => match quote.require_total(&call.func) {
            Ok(total) => Ok(Some(total)),
            Err(e) => Err(e.detail),
        },
        Err(e) if e.sent && !e.is_fatal() && !e.retryable() && !e.outcome_unknown() => Err(
            format!("the billing refused the price preview ({}): {e}", call.func),
        ),
        // The account and list reads sent at the same time fail the same way and say so.
        Err(e) if e.is_fatal() || !e.sent => Ok(None),
        Err(e) => {
            tracing::warn!("cannot price group `{}`: {e}", group.name);
            Ok(None)
        }
    }
}

/// A total with no currency of its own takes the balance's.
fn with_currency(total: Money, balance: &Money) -> Money {
    if total.currency.is_empty() {
        total.with_currency(balance.currency.clone())
    } else {
        total
    }
}

/// `billfleet plan`.
pub async fn run(args: &PlanArgs) -> CmdResult {
    let loaded = crate::manifest::load_file(&args.manifest)?;
    let manifest = &loaded.manifest;
    let targets = Targets::parse(manifest, &args.targets.target).map_err(CmdError::bad_input)?;
    let plan = if args.offline {
        let mut plan = plan::plan_offline(manifest);
        if let Some(targets) = &targets {
            plan.select(targets);
        }
        plan
    } else {
        let pace = Pace::from_execution(&manifest.execution, None);
        let conn = connect(&manifest.billing, &args.billing, Some(&args.manifest), pace).await?;
        let found = survey(&conn, manifest).await?;
        let mut plan = found.plan;
        let how = Completion {
            targets: targets.as_ref(),
            prune: args.prune,
            policy: read_policy(manifest),
            cancel: CancellationToken::new(),
        };
        converge::complete(&conn.client, manifest, &mut plan, &found.unit_prices, how).await?;
        if let (Some(out), true) = (&args.out, plan.blocked.is_empty()) {
            let how = SaveContext {
                manifest: &args.manifest,
                prune: args.prune,
                targets: &args.targets.target,
            };
            planfile::save(out, &how, &conn, &plan)?;
            tracing::info!(
                "plan saved to {}; `billfleet apply {}` applies it",
                out.display(),
                out.display()
            );
        }
        plan
    };
    if let Some(problem) = blocked_error(&plan) {
        return Err(problem);
    }
    let mut out = std::io::BufWriter::new(crate::report::stdout());
    let written = match args.output {
        OutputFormat::Json => plan::render::json(&plan, &mut out),
        OutputFormat::Text => plan::render::text(&plan, &mut out),
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| CmdError::aborted(format!("cannot write the plan: {e}")))?;
    if args.detailed_exitcode && plan.summary().has_changes() {
        return Ok(exit::CHANGES_PENDING);
    }
    Ok(exit::OK)
}

/// A plan that cannot be completed is an error (exit 1) naming every blocked group.
fn blocked_error(plan: &Plan) -> Option<CmdError> {
    if plan.blocked.is_empty() {
        return None;
    }
    let lines: Vec<String> = plan
        .blocked
        .iter()
        .map(|b| format!("group `{}`: {}", b.group, b.reason))
        .collect();
    Some(CmdError::some_failed(format!(
        "the plan cannot be completed; `apply` would order nothing for these groups:\n  {}",
        lines.join("\n  ")
    )))
}

/// Concurrency and retries of the plan's reads (the manifest's `execution`).
pub(super) fn read_policy(manifest: &Manifest) -> Policy {
    let execution = &manifest.execution;
    Policy {
        concurrency: usize::try_from(execution.concurrency).unwrap_or(1).max(1),
        retries: u32::try_from(execution.retries).unwrap_or(0),
        ..Policy::default()
    }
}
