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
    /// Groups that cannot be planned: nothing may be ordered for them.
    pub blocked: Vec<Blocked>,
}

/// A group that cannot be planned, because the list of its item type is not known complete:
/// a server missing from such a list may exist all the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
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

    /// `group `web` cannot be planned: …`
    pub fn message(&self) -> String {
        format!(
            "group `{}` cannot be planned: {}; nothing is ordered for it",
            self.group, self.reason
        )
    }
}

/// Logs in, lists, reconciles and prices. A group whose list is not known complete is not
/// priced; it is named in [`Survey::blocked`].
pub async fn survey(conn: &Connection, manifest: &Manifest) -> Result<Survey, ApiError> {
    let account = conn.client.whoami().await?;
    let lists = fleet::list_each(&conn.client, manifest).await?;
    let blocked = Blocked::find(manifest, &lists.gaps);
    let services = lists.services;
    let mut plan = plan::plan_against(manifest, &fleet::existing_all(&services));
    let orders = plan.orders_per_group();
    let mut unit_prices = Vec::new();
    let mut total: Option<Money> = Some(Money::default());
    for (index, group) in manifest.groups().enumerate() {
        let planned = !blocked.iter().any(|b| b.group_index == index);
        let count = orders
            .iter()
            .find(|(g, _)| **g == *group.name && planned)
            .map_or(0, |(_, n)| *n);
        let price = if count == 0 {
            None
        } else {
            quote_group(conn, manifest, group).await
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
        blocked,
    })
}

/// The billing's price for one server of `group`, or `None` (logged) when it gives none.
async fn quote_group(
    conn: &Connection,
    manifest: &Manifest,
    group: &crate::manifest::Group,
) -> Option<Money> {
    let call = plan::preview_call(manifest, group);
    let params: Vec<(&str, &str)> = call.params().collect();
    match conn.client.quote(&call.func, &params).await {
        Ok(quote) if quote.total.is_some() => quote.total,
        Ok(_) => {
            tracing::warn!(
                "the billing's order preview for group `{}` states no price",
                group.name
            );
            None
        }
        Err(e) => {
            tracing::warn!("cannot price group `{}`: {e}", group.name);
            None
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
    let plan = if args.offline {
        plan::plan_offline(manifest)
    } else {
        let pace = Pace::from_execution(&manifest.execution, None);
        let conn = connect(&manifest.billing, &args.billing, Some(&args.manifest), pace).await?;
        let found = survey(&conn, manifest).await?;
        if !found.blocked.is_empty() {
            let lines: Vec<String> = found.blocked.iter().map(Blocked::message).collect();
            return Err(CmdError::some_failed(lines.join("\nerror: ")));
        }
        found.plan
    };
    let mut out = std::io::BufWriter::new(crate::report::stdout());
    let written = match args.output {
        OutputFormat::Json => plan::render::json(&plan, &mut out),
        OutputFormat::Text => plan::render::text(&plan, &mut out),
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| CmdError::aborted(format!("cannot write the plan: {e}")))?;
    Ok(exit::OK)
}
