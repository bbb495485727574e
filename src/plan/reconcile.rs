//! Matching declared servers to the services the billing already has.

use std::collections::{HashMap, HashSet};

use std::sync::Arc;

use super::{Action, Existing, Leftover, Undeclared};
use crate::manifest::pattern::DomainPattern;
use crate::manifest::{Group, Manifest};

/// Service statuses that count as present: ordered, active, suspended, processing.
/// Status 4 (deleted) does not count.
pub(crate) fn is_live(status: u8) -> bool {
    matches!(status, 1 | 2 | 3 | 5)
}

/// Live services indexed by remoteid and by lower-cased domain. The first service of the
/// list wins when several share a key.
pub(crate) struct Index<'a> {
    by_remoteid: HashMap<&'a str, &'a Existing>,
    by_domain: HashMap<String, &'a Existing>,
}

impl<'a> Index<'a> {
    /// Indexes the live services of `existing`.
    pub(crate) fn new(existing: &'a [Existing]) -> Self {
        let mut by_remoteid = HashMap::new();
        let mut by_domain = HashMap::new();
        for service in existing.iter().filter(|s| is_live(s.status)) {
            if let Some(rid) = service.remoteid.as_deref().filter(|r| !r.is_empty()) {
                by_remoteid.entry(rid).or_insert(service);
            }
            if let Some(domain) = service.domain.as_deref().filter(|d| !d.is_empty()) {
                by_domain
                    .entry(domain.to_ascii_lowercase())
                    .or_insert(service);
            }
        }
        Self {
            by_remoteid,
            by_domain,
        }
    }

    /// What to do with server `key` of `group` whose domain is `domain`, and the matched service.
    pub(crate) fn decide(
        &self,
        group: &Group,
        key: &str,
        domain: Option<&str>,
    ) -> (Action, Option<&'a Existing>) {
        let same_type = |s: &&&'a Existing| s.item_type == group.kind;
        if let Some(service) = self.by_remoteid.get(key).filter(same_type) {
            return (Action::Exists, Some(service));
        }
        let by_domain = domain.and_then(|d| self.by_domain.get(&d.to_ascii_lowercase()));
        match by_domain.filter(same_type) {
            Some(service) if conflicts(group, key, service) => (Action::Conflict, Some(service)),
            Some(service) => (Action::Exists, Some(service)),
            None => (Action::Order, None),
        }
    }
}

/// A service found by domain conflicts when its tariff or its (non-empty) remoteid differ.
/// Service lists show the tariff by name, not id, in most installs: only an id is compared.
fn conflicts(group: &Group, key: &str, service: &Existing) -> bool {
    let other_pricelist = service.pricelist.as_deref().is_some_and(|p| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p != group.pricelist.as_str()
    });
    let other_remoteid = service
        .remoteid
        .as_deref()
        .is_some_and(|r| !r.is_empty() && r != key);
    other_pricelist || other_remoteid
}

/// Recognises services that look like a group's servers: same item type and a domain of the
/// pattern's shape, or a remoteid `<group>-<digits>`.
pub(crate) struct Lookalike<'m> {
    group: &'m Group,
    pattern: Option<DomainPattern>,
}

impl<'m> Lookalike<'m> {
    pub(crate) fn new(group: &'m Group) -> Self {
        Self {
            group,
            pattern: group.pattern().and_then(Result::ok),
        }
    }

    /// True when `service` looks like one of the group's servers.
    pub(crate) fn matches(&self, service: &Existing) -> bool {
        if service.item_type != self.group.kind {
            return false;
        }
        let by_remoteid = service
            .remoteid
            .as_deref()
            .and_then(|r| r.strip_prefix(self.group.name.as_str()))
            .and_then(|r| r.strip_prefix('-'))
            .is_some_and(all_digits);
        let by_domain = match (&self.pattern, service.domain.as_deref()) {
            (Some(pattern), Some(domain)) => pattern.looks_like(&self.group.name, domain),
            _ => false,
        };
        by_remoteid || by_domain
    }
}

/// Every live service that looks like one of the fleet's but is not in `matched` (the services
/// matched to declared servers, by address).
pub(crate) fn undeclared<'a>(
    manifest: &Manifest,
    existing: &'a [Existing],
    matched: &HashSet<*const Existing>,
) -> Vec<&'a Existing> {
    let lookalikes: Vec<Lookalike<'_>> = manifest.groups().map(Lookalike::new).collect();
    existing
        .iter()
        .filter(|s| is_live(s.status))
        .filter(|s| !matched.contains(&std::ptr::from_ref(*s)))
        .filter(|s| lookalikes.iter().any(|l| l.matches(s)))
        .collect()
}

/// The fleet's leftovers: live services not in `matched` whose remoteid is `<group>-<seq>` of a
/// declared group of the same item type, with `seq` outside the group's range. Never by domain.
pub(crate) fn leftovers(
    manifest: &Manifest,
    existing: &[Existing],
    matched: &HashSet<*const Existing>,
) -> Vec<Undeclared> {
    let groups: Vec<(&Group, Arc<str>)> = manifest
        .groups()
        .map(|g| (g, Arc::from(g.name.as_str())))
        .collect();
    let position = |name: &Arc<str>| groups.iter().position(|(_, n)| n == name).unwrap_or(0);
    let mut out: Vec<Undeclared> = Vec::new();
    for service in existing.iter().filter(|s| is_live(s.status)) {
        if matched.contains(&std::ptr::from_ref(service)) {
            continue;
        }
        let Some(remoteid) = service.remoteid.as_deref() else {
            continue;
        };
        let found = groups.iter().find_map(|(g, name)| {
            let seq = remoteid
                .strip_prefix(g.name.as_str())?
                .strip_prefix('-')
                .and_then(super::target::canonical_seq)?;
            (g.kind == service.item_type && !g.seqs().contains(&seq)).then_some((name, seq))
        });
        if let Some((name, seq)) = found {
            out.push(Undeclared {
                group: Arc::clone(name),
                group_index: position(name),
                seq,
                key: remoteid.to_owned(),
                service: service.clone(),
                action: Leftover::Orphan,
                targeted: true,
            });
        }
    }
    out.sort_by_key(|u| (u.group_index, u.seq));
    out
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}
