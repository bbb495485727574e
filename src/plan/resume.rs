//! What the journal of earlier runs adds to a plan before ordering: servers whose call was
//! pending (landed or not), servers moved to another domain, and the domains a moved server
//! must not take. Pure: plan + listed services + journal replay → decisions.

use std::collections::HashSet;

use crate::api::Service;
use crate::executor::{KeyState, Replay};
use crate::manifest::Manifest;
use crate::plan::{Action, Plan, PlannedServer};

/// A live service (ordered, active, suspended or processing).
pub fn is_live(service: &Service) -> bool {
    matches!(service.status, 1 | 2 | 3 | 5)
}

/// What the run does with one declared server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
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
pub fn decide(server: &PlannedServer, services: &[(String, Service)], replay: &Replay) -> Decision {
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
            is_live(s)
                && s.domain
                    .as_deref()
                    .is_some_and(|d| d.eq_ignore_ascii_case(journal_domain))
        })
}

/// Every domain a moved server must not take: live services, declared servers, and every
/// domain the journal mentions.
pub fn used_domains(
    services: &[(String, Service)],
    plan: &Plan,
    replay: &Replay,
) -> HashSet<String> {
    let mut used: HashSet<String> = services
        .iter()
        .filter(|(_, s)| is_live(s))
        .filter_map(|(_, s)| s.domain.as_deref())
        .map(str::to_ascii_lowercase)
        .collect();
    for server in &plan.servers {
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
pub fn group_ranges(
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

impl Plan {
    /// The plan as the order path sees it: targeted servers only, each present server `exists`
    /// whatever drifted (updates and drift conflicts are the converge step's business).
    pub fn order_view(&self) -> Plan {
        let servers = self
            .servers
            .iter()
            .filter(|s| s.targeted)
            .map(|s| {
                let mut s = s.clone();
                s.action = s.order_action();
                s
            })
            .collect();
        Plan {
            servers,
            cost: self.cost.clone(),
            balance: self.balance.clone(),
            undeclared: Vec::new(),
            blocked: self.blocked.clone(),
        }
    }
}
