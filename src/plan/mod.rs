//! The planner: a pure function from a manifest (and, when known, the billing's services and
//! prices) to the exact calls `apply` would make.
//!
//! [`plan_offline`] expands every declared server into an order call; [`plan_against`] also
//! reconciles with the services the billing already has (and finds the fleet's leftovers:
//! services whose remoteid names a seq outside its group's range); [`Plan::with_forms`] turns
//! present servers whose edit form differs into updates or conflicts ([`drift`]);
//! [`Plan::select`] restricts a plan to `--target`s; [`resume`] adds what the journal of
//! earlier runs knows (pending calls, moved servers); [`budget`] is the one budget guard.
//! Nothing here does I/O: `report::plan` writes a plan to any `Write`, [`mod@file`] turns
//! saved plans into text and back (the files themselves: `crate::planfile`).

pub mod budget;
mod call;
mod complete;
pub mod drift;
pub mod file;
pub mod fleet;
mod reconcile;
pub mod renewal;
pub mod resume;
pub mod target;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;

use crate::manifest::{Group, Manifest};
use crate::money::Money;

pub use call::{OrderCall, order_call, preview_call};
pub use drift::{Change, Diff, Drift};
pub use target::Targets;

/// Everything `apply` would do, server by server, in manifest order (group, then seq).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// One entry per declared server.
    pub servers: Vec<PlannedServer>,
    /// Estimated cost of the servers to order, when prices are known.
    pub cost: Option<Money>,
    /// The account balance, when known.
    pub balance: Option<Money>,
    /// Live services of the fleet that are no longer declared (count lowered).
    pub undeclared: Vec<Undeclared>,
    /// Groups whose part of the plan cannot be completed, and why.
    pub blocked: Vec<Blocked>,
}

/// A group the plan cannot complete (a tariff the billing does not sell, a refused price
/// preview, an unreadable form): nothing is ordered for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// Position of the group in the manifest.
    pub group_index: usize,
    /// Group name.
    pub group: String,
    /// Why.
    pub reason: String,
}

/// A live service whose remoteid is `<group>-<seq>` of a declared group, with a seq outside
/// the group's current range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undeclared {
    /// Group name.
    pub group: Arc<str>,
    /// Position of the group in the manifest.
    pub group_index: usize,
    /// Its seq.
    pub seq: u64,
    /// Its key (= its remoteid).
    pub key: String,
    /// The service.
    pub service: Existing,
    /// Kept (`orphan`) or deleted (`delete`, with `--prune`).
    pub action: Leftover,
    /// False when `--target` left it out.
    pub targeted: bool,
}

impl Undeclared {
    /// The delete call: `<type>.delete elid=ID sok=ok`.
    pub fn delete_call(&self) -> OrderCall {
        OrderCall {
            func: format!("{}.delete", self.service.item_type).into(),
            common: Arc::new(Vec::new()),
            own: vec![
                ("elid".to_owned(), self.service.id.clone()),
                ("sok".to_owned(), "ok".to_owned()),
            ],
        }
    }
}

/// What happens to an undeclared service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Leftover {
    /// Reported, kept.
    Orphan,
    /// Deleted (`--prune`).
    Delete,
}

impl Leftover {
    /// The lowercase name used in JSON and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Leftover::Orphan => "orphan",
            Leftover::Delete => "delete",
        }
    }
}

/// One declared server and what happens to it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedServer {
    /// Group name.
    pub group: Arc<str>,
    /// Position of the group in the manifest.
    pub group_index: usize,
    /// Sequence number within the group.
    pub seq: u64,
    /// Stable key `<group>-<seq>` (sent as `remoteid`); it never changes when `count` grows.
    pub key: String,
    /// The domain from the group's pattern, if it has one.
    pub domain: Option<String>,
    /// Item type of the billing: `vds`, `vhost`, `dedic`, `soft`, `platform`, ...
    pub item_type: Arc<str>,
    /// What `apply` does with it.
    pub action: Action,
    /// The order call; `Some` for [`Action::Order`].
    pub call: Option<OrderCall>,
    /// The matched service, for [`Action::Exists`], [`Action::Update`] and
    /// [`Action::Conflict`].
    pub existing: Option<Existing>,
    /// For [`Action::Update`]: the edit call; for a conflict found in the service's form: what
    /// cannot be pushed.
    pub drift: Option<Drift>,
    /// False when `--target` left it out.
    pub targeted: bool,
}

impl PlannedServer {
    /// Why a conflict is one (empty for other actions).
    pub fn reason(&self) -> String {
        if self.action != Action::Conflict {
            return String::new();
        }
        if let Some(drift) = &self.drift {
            return drift.diff.notes().join("; ");
        }
        match &self.existing {
            Some(e) => format!(
                "domain {} belongs to service {} with another tariff or remoteid",
                self.domain.as_deref().unwrap_or("-"),
                e.id
            ),
            None => String::new(),
        }
    }

    /// The action as the order path sees it: a present server is present whatever drifted.
    pub fn order_action(&self) -> Action {
        match self.action {
            Action::Update => Action::Exists,
            Action::Conflict if self.drift.is_some() => Action::Exists,
            other => other,
        }
    }
}

/// What `apply` does with a declared server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Not present in the billing: order it.
    Order,
    /// Already present (same remoteid, or same domain and tariff) and matching: leave it.
    Exists,
    /// Present, but its addons or auto-renewal differ: `<type>.edit`.
    Update,
    /// Its domain belongs to a service with another tariff or another remoteid, or it differs
    /// in what cannot be pushed (tariff, OS template, recipe): leave it, report.
    Conflict,
}

impl Action {
    /// The lowercase name used in JSON and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Order => "order",
            Action::Exists => "exists",
            Action::Update => "update",
            Action::Conflict => "conflict",
        }
    }
}

/// What the billing already has (filled from the service list by the caller).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Existing {
    /// Service id (`elid`).
    pub id: String,
    /// The service's domain.
    pub domain: Option<String>,
    /// The service's remoteid, when it has one.
    pub remoteid: Option<String>,
    /// 1 ordered, 2 active, 3 suspended, 4 deleted, 5 processing.
    pub status: u8,
    /// Tariff id.
    pub pricelist: Option<String>,
    /// Item type the service was listed under (`vds`, `vhost`, ...).
    pub item_type: String,
}

/// Counts of every action (targeted servers only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    /// Servers to order.
    pub order: usize,
    /// Servers already present and matching.
    pub exists: usize,
    /// Present servers to update.
    pub update: usize,
    /// Servers in conflict with a service of the billing.
    pub conflict: usize,
    /// Undeclared services kept.
    pub orphan: usize,
    /// Undeclared services to delete.
    pub delete: usize,
}

impl Summary {
    /// True when applying would change something (orphans only reported do not count).
    pub fn has_changes(&self) -> bool {
        self.order + self.update + self.delete + self.conflict > 0
    }
}

impl Plan {
    /// Counts of servers per action.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for server in self.servers.iter().filter(|s| s.targeted) {
            match server.action {
                Action::Order => summary.order += 1,
                Action::Exists => summary.exists += 1,
                Action::Update => summary.update += 1,
                Action::Conflict => summary.conflict += 1,
            }
        }
        for leftover in self.undeclared.iter().filter(|u| u.targeted) {
            match leftover.action {
                Leftover::Orphan => summary.orphan += 1,
                Leftover::Delete => summary.delete += 1,
            }
        }
        summary
    }

    /// How many servers of each group are to be ordered, in manifest order (for cost estimates:
    /// the group's preview price times this count).
    pub fn orders_per_group(&self) -> Vec<(Arc<str>, u64)> {
        let mut counts: Vec<(Arc<str>, u64)> = Vec::new();
        for server in self.servers.iter().filter(|s| s.action == Action::Order) {
            match counts.last_mut() {
                Some((group, n)) if *group == server.group => *n += 1,
                _ => counts.push((Arc::clone(&server.group), 1)),
            }
        }
        counts
    }
}

/// Every declared server to be ordered; nothing is known of the billing, so `cost` and
/// `balance` are `None`.
pub fn plan_offline(manifest: &Manifest) -> Plan {
    build(manifest, |_, _, _| (Action::Order, None))
}

/// Reconciles against existing services: a declared server matched by remoteid (else by exact
/// domain, case-insensitive) to a LIVE service (status 1, 2, 3, 5; status 4 = deleted does not
/// count) of the same item type is Exists; matched by domain but with a different pricelist or a
/// different non-empty remoteid is Conflict; else Order. Live services whose remoteid is a key
/// of a declared group beyond its range (and matched to no declared server) are `undeclared`
/// orphans; services without a remoteid, or of groups not declared, never are.
pub fn plan_against(manifest: &Manifest, existing: &[Existing]) -> Plan {
    let index = reconcile::Index::new(existing);
    let mut matched: HashSet<*const Existing> = HashSet::new();
    let mut plan = build(manifest, |group, key, domain| {
        let (action, service) = index.decide(group, key, domain);
        if let Some(service) = service {
            matched.insert(std::ptr::from_ref(service));
        }
        (action, service)
    });
    plan.undeclared = reconcile::leftovers(manifest, existing, &matched);
    plan
}

/// The live services that look like the fleet's (same type, domain matching a group's pattern
/// shape or remoteid prefix `<group>-`) but are not declared, for `status`.
pub fn undeclared<'a>(manifest: &Manifest, existing: &'a [Existing]) -> Vec<&'a Existing> {
    let index = reconcile::Index::new(existing);
    let mut matched: HashSet<*const Existing> = HashSet::new();
    for_each_server(manifest, |group, seq, domain| {
        if let (_, Some(service)) = index.decide(group, &group.key(seq), domain) {
            matched.insert(std::ptr::from_ref(service));
        }
    });
    reconcile::undeclared(manifest, existing, &matched)
}

/// Calls `f(group, seq, domain)` for every declared server, reusing one buffer for the domain.
fn for_each_server(manifest: &Manifest, mut f: impl FnMut(&Group, u64, Option<&str>)) {
    let mut domain = String::new();
    for group in manifest.groups() {
        // A pattern that does not parse was reported by validation; such servers get no domain.
        let pattern = group.pattern().and_then(Result::ok);
        for seq in group.seqs() {
            let domain = pattern.as_ref().map(|p| {
                domain.clear();
                p.expand_into(&mut domain, &group.name, seq);
                domain.as_str()
            });
            f(group, seq, domain);
        }
    }
}

/// Builds the plan, asking `decide(group, key, domain)` what to do with each server.
fn build<'e>(
    manifest: &Manifest,
    mut decide: impl FnMut(&Group, &str, Option<&str>) -> (Action, Option<&'e Existing>),
) -> Plan {
    let total: u64 = manifest
        .groups()
        .map(|g| g.seqs().end - g.seqs().start)
        .sum();
    // Preallocate, but never trust a count so large that validation should have refused it.
    let mut servers = Vec::with_capacity(usize::try_from(total.min(1 << 20)).unwrap_or(0));
    for (group_index, group) in manifest.groups().enumerate() {
        let name: Arc<str> = Arc::from(group.name.as_str());
        let item_type: Arc<str> = Arc::from(group.kind.as_str());
        let calls = call::GroupCall::new(manifest, group);
        // A pattern that does not parse was reported by validation; such servers get no domain.
        let pattern = group.pattern().and_then(Result::ok);
        for seq in group.seqs() {
            let domain = pattern.as_ref().map(|p| p.expand(&group.name, seq));
            let key = group.key(seq);
            let (action, existing) = decide(group, &key, domain.as_deref());
            let call = (action == Action::Order).then(|| calls.server(&key, domain.as_deref()));
            servers.push(PlannedServer {
                group: Arc::clone(&name),
                group_index,
                seq,
                key,
                domain,
                item_type: Arc::clone(&item_type),
                action,
                call,
                existing: existing.cloned(),
                drift: None,
                targeted: true,
            });
        }
    }
    Plan {
        servers,
        ..Plan::default()
    }
}
