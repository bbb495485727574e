//! The declared servers of a run as report rows: what each starts as (present, to order,
//! in conflict, not plannable, not targeted), what the executor made of it, and the exit code
//! the rows add up to. The plan and the journal decide; this only builds the rows and the
//! [`Slot`]s of the servers to order.

use std::collections::HashMap;
use std::sync::Arc;

use crate::api::Service;
use crate::executor::{ErrorClass, JobResult, Outcome, Replay};
use crate::exit;
use crate::manifest::{Group, Manifest, OnCollision};
use crate::money::Money;
use crate::plan::resume::{Decision, decide};
use crate::plan::{self, OrderCall, Plan, PlannedServer};
use crate::report::{ReportRow, RowOutcome};
use crate::survey::Survey;

use super::{Ctx, Placed, Slot};

/// One declared server through the run.
pub struct Entry {
    /// Its report row, kept up to date.
    pub row: ReportRow,
    /// `<group>-<seq>`.
    pub key: String,
    /// Position of its group in the manifest.
    pub group_index: usize,
    /// The billing's item type.
    pub item_type: String,
    /// The domain the manifest declares.
    pub declared: Option<String>,
    /// Set when the server is to be ordered.
    pub slot: Option<Arc<Slot>>,
}

impl Entry {
    /// True once the billing shows the service active with an address.
    pub fn is_ready(&self) -> bool {
        self.row.status.as_deref() == Some("2")
            && self.row.ip.as_deref().is_some_and(|ip| !ip.is_empty())
    }

    /// True for servers that exist after the run (ordered now or before, updated).
    pub fn is_present(&self) -> bool {
        matches!(
            self.row.outcome,
            RowOutcome::Ordered | RowOutcome::Exists | RowOutcome::Updated
        )
    }

    /// Takes the status, address and expiry of `service` into the row.
    pub fn observe(&mut self, service: &Service) {
        if self.row.service_id.is_none() {
            self.row.service_id = Some(service.id.clone());
        }
        self.row.status = Some(service.status.to_string());
        self.row.ip = service.ip.clone().filter(|ip| !ip.is_empty());
        self.row.expiredate = service.expiredate.clone();
    }

    fn set_domain(&mut self, domain: Option<String>) {
        let domain = domain.or_else(|| self.declared.clone()).unwrap_or_default();
        self.row.original_domain = match &self.declared {
            Some(d) if !d.eq_ignore_ascii_case(&domain) => Some(d.clone()),
            _ => None,
        };
        self.row.domain = domain;
    }
}

/// The rows of every declared server, with a [`Slot`] for each one to order.
pub fn entries(manifest: &Manifest, survey: &Survey, replay: &Replay, ctx: &Ctx) -> Vec<Entry> {
    let groups: Vec<&Group> = manifest.groups().collect();
    let sends_remoteid: Vec<bool> = groups
        .iter()
        .map(|g| {
            let call = plan::order_call(manifest, g, g.seqs().start, None);
            call.get("remoteid").is_some()
        })
        .collect();
    let by_id: HashMap<&str, &Service> = survey
        .services
        .iter()
        .map(|(_, s)| (s.id.as_str(), s))
        .collect();
    let mut entries = Vec::with_capacity(survey.plan.servers.len());
    for server in &survey.plan.servers {
        let mut entry = Entry {
            row: ReportRow::new(&*server.group, server.seq, "", RowOutcome::Skipped),
            key: server.key.clone(),
            group_index: server.group_index,
            item_type: server.item_type.to_string(),
            declared: server.domain.clone(),
            slot: None,
        };
        entry.set_domain(None);
        if sends_remoteid.get(server.group_index) == Some(&true) {
            entry.row.remoteid = Some(server.key.clone());
        }
        if let Some(reason) = survey.plan.blocked_reason(server.group_index) {
            entry.row.outcome = RowOutcome::Failed;
            entry.row.error = Some(format!("the plan cannot be completed: {reason}"));
            entries.push(entry);
            continue;
        }
        let call = match (&server.call, groups.get(server.group_index)) {
            (Some(call), _) => call.clone(),
            (None, Some(g)) => plan::order_call(manifest, g, server.seq, server.domain.as_deref()),
            (None, None) => continue,
        };
        match decide(server, &survey.services, replay) {
            Decision::Exists { service_id, domain } => {
                entry.row.outcome = RowOutcome::Exists;
                entry.set_domain(domain);
                if let Some(service) = by_id.get(service_id.as_str()) {
                    entry.observe(service);
                }
                entry.row.service_id = Some(service_id);
            }
            Decision::Order => entry.slot = Some(slot(server, call, server.domain.clone())),
            Decision::Conflict { service_id } => {
                conflict(&mut entry, server, call, ctx, &service_id)
            }
        }
        entries.push(entry);
    }
    entries
}

fn slot(server: &PlannedServer, call: OrderCall, domain: Option<String>) -> Arc<Slot> {
    Arc::new(Slot::new(
        server.key.clone(),
        server.group.to_string(),
        server.group_index,
        server.item_type.to_string(),
        call,
        domain,
    ))
}

/// A declared domain held by another service of the account: moved at once with
/// `on_collision: next`, failed with `fail`.
fn conflict(entry: &mut Entry, server: &PlannedServer, call: OrderCall, ctx: &Ctx, other: &str) {
    let declared = server.domain.as_deref().unwrap_or_default();
    let moved = (ctx.on_collision == OnCollision::Next)
        .then(|| ctx.allocator.next_domain(server.group_index))
        .flatten();
    match moved {
        Some(domain) => {
            tracing::info!(
                "{}: domain {declared} belongs to service {other} (another tariff or remoteid); \
                 ordering it as {domain}",
                server.key
            );
            entry.slot = Some(slot(server, call, Some(domain)));
        }
        None => {
            entry.row.outcome = RowOutcome::Failed;
            entry.row.error = Some(format!(
                "domain {declared} belongs to service {other} with another tariff or remoteid"
            ));
        }
    }
}

/// Rows the order path does not make: `skipped` for servers `--target` left out, `failed`
/// for orders of blocked groups (nothing is sent for them), and the undeclared services
/// (after the declared ones).
pub fn adjust_entries(plan: &Plan, entries: &mut Vec<Entry>) {
    for entry in entries.iter_mut() {
        if let Some(reason) = plan.blocked_reason(entry.group_index)
            && entry.slot.is_some()
        {
            entry.slot = None;
            entry.row.outcome = RowOutcome::Failed;
            entry.row.error = Some(format!("the plan cannot be completed: {reason}"));
        }
    }
    for s in plan.servers.iter().filter(|s| !s.targeted) {
        let domain = s.domain.clone().unwrap_or_default();
        let mut row = ReportRow::new(&*s.group, s.seq, domain, RowOutcome::Skipped);
        row.remoteid = Some(s.key.clone());
        row.service_id = s.existing.as_ref().map(|e| e.id.clone());
        entries.push(entry(row, s.key.clone(), s.group_index, &s.item_type));
    }
    for u in plan.undeclared.iter().filter(|u| u.targeted) {
        let domain = u.service.domain.clone().unwrap_or_default();
        let mut row = ReportRow::new(&*u.group, u.seq, domain, RowOutcome::Skipped);
        row.remoteid = Some(u.key.clone());
        row.service_id = Some(u.service.id.clone());
        row.status = Some(u.service.status.to_string());
        entries.push(entry(
            row,
            u.key.clone(),
            u.group_index,
            &u.service.item_type,
        ));
    }
}

fn entry(row: ReportRow, key: String, group_index: usize, item_type: &str) -> Entry {
    Entry {
        row,
        key,
        group_index,
        item_type: item_type.to_owned(),
        declared: None,
        slot: None,
    }
}

/// How many servers of each group (by position) are to be ordered, for the budget guard.
pub fn to_order(entries: &[Entry]) -> HashMap<usize, u64> {
    let mut per_group: HashMap<usize, u64> = HashMap::new();
    for entry in entries.iter().filter(|e| e.slot.is_some()) {
        *per_group.entry(entry.group_index).or_insert(0) += 1;
    }
    per_group
}

/// How the executor phases ended.
#[derive(Debug, Default)]
pub struct Tally {
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
}

/// Takes the results of one executor run into the rows; notes a stop (fatal error, failure
/// limit, Ctrl-C) in `tally`.
pub fn record(
    entries: &mut [Entry],
    index: &HashMap<String, usize>,
    results: Vec<JobResult<Placed>>,
    prices: &[Option<Money>],
    tally: &mut Tally,
) {
    for result in results {
        let Some(entry) = index.get(&result.key).and_then(|&i| entries.get_mut(i)) else {
            continue;
        };
        let Some(slot) = entry.slot.clone() else {
            continue;
        };
        entry.set_domain(slot.domain());
        entry.row.attempts = slot.calls();
        entry.row.duration_ms =
            Some(u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX));
        match result.outcome {
            Outcome::Done(placed) if placed.existed => {
                entry.row.outcome = RowOutcome::Exists;
                entry.row.service_id = placed.service_id;
            }
            Outcome::Done(placed) => {
                entry.row.outcome = RowOutcome::Ordered;
                entry.row.service_id = placed.service_id;
                entry.row.cost = prices
                    .get(entry.group_index)
                    .cloned()
                    .flatten()
                    .map(|p| p.amount());
            }
            Outcome::Failed { error, class } => {
                entry.row.outcome = RowOutcome::Failed;
                entry.row.error = Some(error.clone());
                if class == ErrorClass::Fatal {
                    tally
                        .stopped
                        .get_or_insert(format!("{}: {error}", entry.key));
                }
            }
            Outcome::Skipped { reason } => {
                entry.row.outcome = RowOutcome::Skipped;
                tally.stopped.get_or_insert(reason);
            }
        }
    }
}

/// The exit code the rows add up to.
pub fn exit_code(entries: &[Entry], tally: &Tally, not_ready: usize) -> u8 {
    if tally.stopped.is_some() {
        return exit::ABORTED;
    }
    let failed = entries
        .iter()
        .filter(|e| e.row.outcome == RowOutcome::Failed)
        .count();
    if failed > 0 || not_ready > 0 {
        exit::SOME_FAILED
    } else {
        exit::OK
    }
}
