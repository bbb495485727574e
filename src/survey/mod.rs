//! The survey stage: what the billing has before anything is decided. It logs in, lists
//! every item type the manifest uses ([`fleet`]), prices each group with the billing's own
//! order preview and reads the balance, all reads at once; [`forms`] then reads the edit
//! forms of present servers so the planner can tell `exists` from `update`. It does I/O and
//! hands plain values ([`Survey`], [`Plan`]) to the pure `plan` module and to the executor;
//! it never sends a paid call.

pub mod fleet;
pub mod forms;

use futures_util::future::join_all;

use crate::api::{ApiError, BillingClient, Service};
use crate::executor::retry::ReadRetry;
use crate::manifest::{Group, LoginMode, Manifest};
use crate::money::Money;
use crate::plan::{self, Action, Blocked, Plan};

/// What the billing says about a manifest before anything is ordered.
pub struct Survey {
    /// The reconciled plan, with cost and balance when known.
    pub plan: Plan,
    /// Every listed service of the manifest's item types.
    pub services: Vec<(String, Service)>,
    /// Price of one server per group (same order as the manifest's groups), when known.
    pub unit_prices: Vec<Option<Money>>,
    /// A list that failed transiently (its groups are blocked): worth surveying again.
    pub transient: Option<ApiError>,
}

/// The groups that cannot be planned: their item type's list has a gap or failed, so a
/// server missing from it may exist all the same.
fn blocked_groups(manifest: &Manifest, lists: &fleet::Lists) -> Vec<Blocked> {
    manifest
        .groups()
        .enumerate()
        .filter_map(|(group_index, group)| {
            let gap = lists.gaps.iter().find(|(kind, _)| *kind == group.kind);
            let failed = lists.failed.iter().find(|(kind, _)| *kind == group.kind);
            let reason = match (gap, failed) {
                (_, Some((kind, e))) => format!("the {kind} service list failed: {e}"),
                (Some((kind, why)), None) => {
                    format!("the {kind} service list is not known to be complete ({why})")
                }
                (None, None) => return None,
            };
            Some(Blocked {
                group_index,
                group: group.name.clone(),
                reason,
            })
        })
        .collect()
}

/// Logs in, lists, reconciles and prices. A group whose list is not known complete is not
/// priced; it is named in the plan's `blocked` groups.
pub async fn survey(client: &BillingClient, manifest: &Manifest) -> Result<Survey, ApiError> {
    // One first contact alone (the login; in `authinfo` mode the account read), so that a
    // refusing billing, a firewall or a redirect sees one request, not one per read. Then the
    // reads are independent: the account, the list of every item type and the price preview
    // of every group go out at once, so ordering can start one round trip after the lists are
    // complete. A preview of a group with nothing to order is one read too many, and cheaper
    // than a round trip of waiting.
    let first = match client.options().login {
        LoginMode::Authinfo => Some(client.whoami().await?),
        LoginMode::Session => {
            client.login().await?;
            None
        }
    };
    let account = async {
        match first {
            Some(account) => Ok(account),
            None => client.whoami().await,
        }
    };
    let previews = join_all(manifest.groups().map(|g| quote_group(client, manifest, g)));
    let (account, lists, mut quotes) =
        tokio::join!(account, fleet::list_each(client, manifest), previews);
    let (account, lists) = (account?, lists?);
    let blocked = blocked_groups(manifest, &lists);
    let transient = lists
        .failed
        .into_iter()
        .map(|(_, e)| e)
        .find(ApiError::retryable);
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
        transient,
    })
}

/// The billing's price for one server of `group`: `Err(reason)` when the billing refuses the
/// preview (a tariff it does not sell, an invalid option) or states no price — the group's part
/// of the plan cannot be completed, and a plan never counts a server as free; `Ok(None)`
/// (logged) when the preview failed transiently.
async fn quote_group(
    client: &BillingClient,
    manifest: &Manifest,
    group: &Group,
) -> Result<Option<Money>, String> {
    let call = plan::preview_call(manifest, group);
    let params: Vec<(&str, &str)> = call.params().collect();
    match client.quote(&call.func, &params).await {
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

/// Logs in, lists, plans and prices (the dry run's survey, retried on transient failures);
/// a group with servers to order that the survey could not price is asked again.
pub async fn survey_retried(
    client: &BillingClient,
    manifest: &Manifest,
    retry: ReadRetry,
) -> Result<Survey, ApiError> {
    let mut failures = 0u32;
    // A list that failed transiently blocks its groups in that survey: survey again (the
    // failed read was not cached, so it is read anew) until it succeeds or the retries are
    // used up; then the group stays blocked and nothing is ordered for it.
    let found = loop {
        let found = retry.run(|| survey(client, manifest)).await?;
        match &found.transient {
            Some(e) if failures < retry.retries => {
                let wait = retry.backoff.delay(failures, e.retry_after());
                tracing::debug!("{e}; surveying again in {:.1}s", wait.as_secs_f64());
                failures += 1;
                tokio::time::sleep(wait).await;
            }
            _ => break found,
        }
    };
    let balance = found.plan.balance.clone().unwrap_or_default();
    let mut unit_prices = found.unit_prices;
    for (index, group) in manifest.groups().enumerate() {
        let ordering = found
            .plan
            .servers
            .iter()
            .any(|s| s.group_index == index && s.action != Action::Exists);
        let blocked = found.plan.blocked_reason(index).is_some();
        if !ordering || blocked || unit_prices.get(index).is_some_and(Option::is_some) {
            continue;
        }
        let price = quote(client, manifest, group, retry).await?;
        let price = price.map(|p| with_currency(p, &balance));
        match unit_prices.get_mut(index) {
            Some(slot) => *slot = price,
            None => unit_prices.push(price),
        }
    }
    Ok(Survey {
        unit_prices,
        ..found
    })
}

/// The billing's price of one server of `group`; `None` (logged) when it states none.
/// Only a fatal error (credentials refused) stops the run here.
async fn quote(
    client: &BillingClient,
    manifest: &Manifest,
    group: &Group,
    retry: ReadRetry,
) -> Result<Option<Money>, ApiError> {
    let call = plan::preview_call(manifest, group);
    let params: Vec<(&str, &str)> = call.params().collect();
    match retry.run(|| client.quote(&call.func, &params)).await {
        Ok(quote) => Ok(quote.total),
        Err(e) if e.is_fatal() => Err(e),
        Err(e) => {
            tracing::warn!("cannot price group `{}`: {e}", group.name);
            Ok(None)
        }
    }
}
