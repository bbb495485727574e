//! Before anything is ordered: what the billing has (with transient read failures retried),
//! the plan against it, the prices, and what the journal of earlier runs adds (servers whose
//! call was pending, servers moved to another domain).

use std::collections::HashSet;
use std::future::Future;

use crate::api::{ApiError, Service};
use crate::commands::connect::Connection;
use crate::executor::{Backoff, KeyState, Replay};
use crate::manifest::{Group, Manifest};
use crate::money::Money;
use crate::plan::{self, Action, Plan, PlannedServer};

/// Retries of read calls (lists, whoami, previews) that failed transiently.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReadRetry {
    /// Further attempts after the first.
    pub retries: u32,
    /// Waits between attempts.
    pub backoff: Backoff,
}

impl ReadRetry {
    /// Runs `call` until it succeeds, fails for good, or the retries are used up.
    pub(super) async fn run<T, F, Fut>(&self, mut call: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut failures = 0u32;
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(e) if e.retryable() && failures < self.retries => {
                    let wait = self.backoff.delay(failures, e.retry_after());
                    tracing::debug!("{e}; retrying in {:.1}s", wait.as_secs_f64());
                    failures += 1;
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// What the billing says before anything is ordered.
pub(super) struct Survey {
    /// The account's balance.
    pub balance: Money,
    /// Every listed service, with the item type it was listed under.
    pub services: Vec<(String, Service)>,
    /// The plan against those services.
    pub plan: Plan,
    /// Price of one server per group (manifest order), when known.
    pub unit_prices: Vec<Option<Money>>,
}

/// Logs in, lists, plans and prices (the dry run's survey, retried on transient failures);
/// a group with servers to order that the survey could not price is asked again.
pub(super) async fn survey(
    conn: &Connection,
    manifest: &Manifest,
    retry: ReadRetry,
) -> Result<Survey, ApiError> {
    let found = retry
        .run(|| super::super::plan::survey(conn, manifest))
        .await?;
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
        let price = quote(conn, manifest, group, retry).await?;
        let price = price.map(|p| with_currency(p, &balance));
        match unit_prices.get_mut(index) {
            Some(slot) => *slot = price,
            None => unit_prices.push(price),
        }
    }
    Ok(Survey {
        balance,
        services: found.services,
        plan: found.plan,
        unit_prices,
    })
}

/// The billing's price of one server of `group`; `None` (logged) when it states none.
/// Only a fatal error (credentials refused) stops the run here.
async fn quote(
    conn: &Connection,
    manifest: &Manifest,
    group: &Group,
    retry: ReadRetry,
) -> Result<Option<Money>, ApiError> {
    let call = plan::preview_call(manifest, group);
    let params: Vec<(&str, &str)> = call.params().collect();
    match retry.run(|| conn.client.quote(&call.func, &params)).await {
        Ok(quote) => Ok(quote.total),
        Err(e) if e.is_fatal() => Err(e),
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

/// What the run does with one declared server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Decision {
    /// Present: the service and the domain it has.
    Exists {
        /// Its id.
        service_id: String,
        /// Its domain.
        domain: Option<String>,
    },
    /// To be ordered at the declared domain.
    Order,
    /// Its domain belongs to another service of the account (another tariff or remoteid).
    Conflict {
        /// That service.
        service_id: String,
    },
}

/// Decides each planned server, taking the journal into account: a server the journal
/// moved to another domain is present when a live service holds that domain (the only way to
/// find a moved server where no remoteid is sent), and a pending call found live is logged
/// as reconciled.
pub(super) fn decide(
    server: &PlannedServer,
    services: &[(String, Service)],
    replay: &Replay,
) -> Decision {
    let state = replay.state(&server.key);
    let pending = matches!(state, Some(KeyState::Pending { .. }));
    let decision = match (&server.action, &server.existing) {
        (Action::Exists, Some(existing)) => Decision::Exists {
            service_id: existing.id.clone(),
            domain: existing.domain.clone().or_else(|| server.domain.clone()),
        },
        (action, existing) => match moved_service(server, services, state) {
            Some(service) => Decision::Exists {
                service_id: service.id.clone(),
                domain: service.domain.clone(),
            },
            None => match (action, existing) {
                (Action::Conflict, Some(existing)) => Decision::Conflict {
                    service_id: existing.id.clone(),
                },
                _ => Decision::Order,
            },
        },
    };
    match (&decision, pending) {
        (Decision::Exists { service_id, .. }, true) => tracing::info!(
            "{}: the call an earlier run left unfinished did land (service {service_id}); \
             reconciled",
            server.key
        ),
        (Decision::Order, true) => tracing::info!(
            "{}: the call an earlier run left unfinished did not land; ordering it",
            server.key
        ),
        _ => {}
    }
    decision
}

/// The live service at the domain the journal last tried for `server`, when that differs
/// from the declared one.
fn moved_service<'a>(
    server: &PlannedServer,
    services: &'a [(String, Service)],
    state: Option<&KeyState>,
) -> Option<&'a Service> {
    let journal_domain = match state? {
        KeyState::Pending { domain, .. } | KeyState::Ordered { domain, .. } => domain,
        KeyState::Failed { .. } => return None,
    };
    let declared = server.domain.as_deref().unwrap_or_default();
    if journal_domain.is_empty() || journal_domain.eq_ignore_ascii_case(declared) {
        return None;
    }
    services
        .iter()
        .filter(|(kind, _)| *kind == *server.item_type)
        .map(|(_, s)| s)
        .find(|s| {
            super::lists::is_live(s)
                && s.domain
                    .as_deref()
                    .is_some_and(|d| d.eq_ignore_ascii_case(journal_domain))
        })
}

/// Every domain a moved server must not take: live services, declared servers, and every
/// domain the journal mentions.
pub(super) fn used_domains(survey: &Survey, replay: &Replay) -> HashSet<String> {
    let mut used: HashSet<String> = survey
        .services
        .iter()
        .filter(|(_, s)| super::lists::is_live(s))
        .filter_map(|(_, s)| s.domain.as_deref())
        .map(str::to_ascii_lowercase)
        .collect();
    for server in &survey.plan.servers {
        if let Some(d) = &server.domain {
            used.insert(d.to_ascii_lowercase());
        }
        match replay.state(&server.key) {
            Some(
                KeyState::Pending { domain, .. }
                | KeyState::Ordered { domain, .. }
                | KeyState::Failed { domain },
            ) if !domain.is_empty() => {
                used.insert(domain.to_ascii_lowercase());
            }
            _ => {}
        }
    }
    used
}

/// Per group (manifest order): its name, pattern and the first sequence number after its range.
pub(super) fn group_ranges(
    manifest: &Manifest,
) -> Vec<(String, Option<crate::manifest::pattern::DomainPattern>, u64)> {
    manifest
        .groups()
        .map(|g| {
            let pattern = g.pattern().and_then(Result::ok);
            (g.name.clone(), pattern, g.seqs().end)
        })
        .collect()
}
