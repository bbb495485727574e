//! `billfleet plan`: the dry run. Offline it expands the manifest; online it also logs in,
//! lists what exists, prices each group with the billing's own order preview and reads the
//! balance — and never sends a paid call.

use std::io::Write;

use super::connect::{Connection, Pace, connect};
use super::{CmdError, CmdResult, fleet};
use crate::api::{ApiError, Service};
use crate::cli::{OutputFormat, PlanArgs};
use crate::exit;
use crate::manifest::Manifest;
use crate::money::Money;
use crate::plan::{self, Plan};

/// What the billing says about a manifest before anything is ordered.
pub struct Survey {
    /// The reconciled plan, with cost and balance when known.
    pub plan: Plan,
    /// Every listed service of the manifest's item types.
    pub services: Vec<(String, Service)>,
    /// Price of one server per group (same order as the manifest's groups), when known.
    pub unit_prices: Vec<Option<Money>>,
}

/// Logs in, lists, reconciles and prices.
pub async fn survey(conn: &Connection, manifest: &Manifest) -> Result<Survey, ApiError> {
    let account = conn.client.whoami().await?;
    let services = fleet::list_all(&conn.client, manifest).await?;
    let mut plan = plan::plan_against(manifest, &fleet::existing_all(&services));
    let orders = plan.orders_per_group();
    let mut unit_prices = Vec::new();
    let mut total: Option<Money> = Some(Money::default());
    for group in manifest.groups() {
        let count = orders
            .iter()
            .find(|(g, _)| **g == *group.name)
            .map_or(0, |(_, n)| *n);
        let price = if count == 0 {
            None
        } else {
            Some(quote_group(conn, manifest, group).await?)
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

/// The billing's price for one server of `group`. A preview that states no price, or that
/// the billing refuses, is an error naming the group: a plan never counts a server as free.
async fn quote_group(
    conn: &Connection,
    manifest: &Manifest,
    group: &crate::manifest::Group,
) -> Result<Money, ApiError> {
    let call = plan::preview_call(manifest, group);
    let params: Vec<(&str, &str)> = call.params().collect();
    let named = |e: ApiError| {
        let detail = format!("group `{}`: cannot price it: {}", group.name, e.detail);
        e.with_detail(detail)
    };
    let quote = conn
        .client
        .quote(&call.func, &params)
        .await
        .map_err(named)?;
    quote.require_total(&call.func).map_err(named)
}

/// A total with no currency of its own takes the balance's.
fn with_currency(total: Money, balance: &Money) -> Money {
    if total.currency.is_empty() {
        Money::new(total.cents, balance.currency.clone())
    } else {
        total
    }
}

/// `billfleet plan`.
pub async fn run(args: &PlanArgs) -> CmdResult {
    let loaded = crate::manifest::load_file(&args.manifest)?;
    let manifest = &loaded.manifest;
    let plan = if args.offline {
        plan::plan_offline(manifest)
    } else {
        let pace = Pace::from_execution(&manifest.execution, None);
        let conn = connect(&manifest.billing, &args.billing, Some(&args.manifest), pace).await?;
        survey(&conn, manifest).await?.plan
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = match args.output {
        OutputFormat::Json => plan::render::json(&plan, &mut out),
        OutputFormat::Text => plan::render::text(&plan, &mut out),
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| CmdError::aborted(format!("cannot write the plan: {e}")))?;
    Ok(exit::OK)
}

impl From<ApiError> for CmdError {
    fn from(e: ApiError) -> Self {
        if e.is_fatal() {
            CmdError::aborted(format!("the billing refused: {e}"))
        } else {
            CmdError::aborted(format!("the billing call failed: {e}"))
        }
    }
}
