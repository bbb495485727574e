//! Fleet membership for the lifecycle commands (pure): which live services are the fleet's
//! own — the planner's reconciliation (remoteid equal to a declared key, else the exact
//! declared domain, case-insensitive; deleted services ignored) applied to the billing's
//! service lists — restricted to `--target`s, and what a list action (`suspend`, `resume`,
//! `destroy`) does to which of them, in batches of [`BATCH`] ids of one item type. Nothing
//! else of the account is ever touched.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::api::{Action as ListAction, Service};
use crate::manifest::Manifest;
use crate::plan::{self, Action};
use crate::report::RowOutcome;

/// One declared server and what the billing has of it.
#[derive(Debug, Clone)]
pub struct Member {
    /// Group name.
    pub group: Arc<str>,
    /// Sequence number in the group.
    pub seq: u64,
    /// The stable key `<group>-<seq>`.
    pub key: String,
    /// The domain the manifest declares, when the group has a pattern.
    pub declared_domain: Option<String>,
    /// Item type of the group (`vds`, `vhost`, …).
    pub item_type: Arc<str>,
    /// What the billing has.
    pub found: Found,
}

/// What the billing has of a declared server.
#[derive(Debug, Clone)]
pub enum Found {
    /// The fleet's own live service.
    Own(Service),
    /// Nothing live of that key or domain.
    Absent,
    /// The declared domain belongs to a live service that is not this server (another tariff
    /// or another remoteid): never touched.
    Conflict(Service),
}

impl Member {
    /// The fleet's own service, if it has one.
    pub fn service(&self) -> Option<&Service> {
        match &self.found {
            Found::Own(s) => Some(s),
            Found::Absent | Found::Conflict(_) => None,
        }
    }

    /// The status code of its own service (0 when it has none).
    pub fn status(&self) -> u8 {
        self.service().map_or(0, |s| s.status)
    }

    /// The domain it has in the billing, else the declared one, else the key.
    pub fn domain(&self) -> &str {
        self.service()
            .and_then(|s| s.domain.as_deref())
            .or(self.declared_domain.as_deref())
            .unwrap_or(&self.key)
    }

    /// The status in words (`active`, `absent`, `conflict`, …).
    pub fn state_word(&self) -> &'static str {
        match &self.found {
            Found::Own(s) => status_word(s.status),
            Found::Absent => "absent",
            Found::Conflict(_) => "conflict",
        }
    }
}

/// A service status code in words.
pub fn status_word(status: u8) -> &'static str {
    match status {
        1 => "ordered",
        2 => "active",
        3 => "suspended",
        4 => "deleted",
        5 => "processing",
        _ => "unknown",
    }
}

/// The fleet as the billing sees it.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    /// One entry per declared server, in manifest order.
    pub members: Vec<Member>,
    /// Live services that look like the fleet's but are not declared: `(item type, service)`.
    pub undeclared: Vec<(String, Service)>,
}

impl Fleet {
    /// Identifies the fleet's services among `services` (`(item type, service)` pairs);
    /// `existing` is the planner's view of the same services, in the same order.
    pub fn identify(
        manifest: &Manifest,
        services: &[(String, Service)],
        existing: &[plan::Existing],
    ) -> Self {
        let by_id: HashMap<(&str, &str), &Service> = services
            .iter()
            .map(|(kind, s)| ((kind.as_str(), s.id.as_str()), s))
            .collect();
        let lookup =
            |e: &plan::Existing| by_id.get(&(e.item_type.as_str(), e.id.as_str())).copied();
        let members = plan::plan_against(manifest, existing)
            .servers
            .into_iter()
            .map(|server| {
                let service = server.existing.as_ref().and_then(lookup).cloned();
                let found = match (server.action, service) {
                    (Action::Exists, Some(s)) => Found::Own(s),
                    (Action::Conflict, Some(s)) => Found::Conflict(s),
                    _ => Found::Absent,
                };
                Member {
                    group: server.group,
                    seq: server.seq,
                    key: server.key,
                    declared_domain: server.domain,
                    item_type: server.item_type,
                    found,
                }
            })
            .collect();
        let undeclared = plan::undeclared(manifest, existing)
            .into_iter()
            .filter_map(|e| Some((e.item_type.clone(), lookup(e)?.clone())))
            .collect();
        Self {
            members,
            undeclared,
        }
    }

    /// Keeps only the members `targets` selects (and the undeclared services of groups it
    /// selects as a whole); returns the members left out.
    pub fn restrict(&mut self, targets: &plan::Targets) -> Vec<Member> {
        let (kept, left_out) = std::mem::take(&mut self.members)
            .into_iter()
            .partition(|m| targets.selects(&m.group, &m.key));
        self.members = kept;
        left_out
    }

    /// The members whose own service has one of `statuses`.
    pub fn with_status<'a>(&'a self, statuses: &'a [u8]) -> impl Iterator<Item = &'a Member> {
        self.members
            .iter()
            .filter(move |m| m.service().is_some_and(|s| statuses.contains(&s.status)))
    }
}

/// Service ids per list call at most.
pub const BATCH: usize = 50;

/// Which fleet-wide action to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetAction {
    /// `<type>.edit` where the manifest differs.
    Edit,
    /// `<type>.suspend`.
    Suspend,
    /// `<type>.resume`.
    Resume,
    /// `<type>.delete`.
    Destroy,
}

impl FleetAction {
    /// The command's name.
    pub fn command(self) -> &'static str {
        match self {
            Self::Edit => "edit",
            Self::Suspend => "suspend",
            Self::Resume => "resume",
            Self::Destroy => "destroy",
        }
    }
}

/// What a list action does to which services.
#[derive(Debug, Clone, Copy)]
pub struct ListSpec {
    /// The billing's list action.
    pub action: ListAction,
    /// Statuses acted on.
    pub acts_on: &'static [u8],
    /// Statuses already in the wanted state (`unchanged`).
    pub already: &'static [u8],
    /// The outcome of a member acted on.
    pub done: RowOutcome,
}

impl ListSpec {
    /// The spec of `suspend`, `resume` or `destroy` (`edit` is no list action: destroy's).
    pub fn of(action: FleetAction) -> Self {
        match action {
            FleetAction::Suspend => Self {
                action: ListAction::Suspend,
                acts_on: &[2],
                already: &[3],
                done: RowOutcome::Suspended,
            },
            FleetAction::Resume => Self {
                action: ListAction::Resume,
                acts_on: &[3],
                already: &[2],
                done: RowOutcome::Resumed,
            },
            FleetAction::Destroy | FleetAction::Edit => Self {
                action: ListAction::Delete,
                acts_on: &[1, 2, 3, 5],
                already: &[],
                done: RowOutcome::Deleted,
            },
        }
    }
}

/// The status a service has once `action` is done.
pub fn target_status(action: ListAction) -> u8 {
    match action {
        ListAction::Suspend => 3,
        ListAction::Resume => 2,
        ListAction::Delete => 4,
    }
}

/// Whether a service is done with `action`: it has the target status, or (a delete) it is
/// gone from the list.
pub fn reached(action: ListAction, now: Option<&Service>) -> bool {
    now.map_or(action == ListAction::Delete, |s| {
        s.status == target_status(action)
    })
}

/// `targets` grouped by item type, in chunks of [`BATCH`].
pub fn batches<'a>(targets: &[&'a Member]) -> Vec<(String, Vec<&'a Member>)> {
    let mut by_type: BTreeMap<&str, Vec<&'a Member>> = BTreeMap::new();
    for &m in targets {
        by_type.entry(&*m.item_type).or_default().push(m);
    }
    by_type
        .into_iter()
        .flat_map(|(kind, members)| {
            members
                .chunks(BATCH)
                .map(|c| (kind.to_owned(), c.to_vec()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let text = "version: 1\nfleet:\n  name: web\n  count: 3\n  domain: \"web-{seq:03}.example.com\"\n  pricelist: 6\n";
        crate::manifest::load_str(std::path::Path::new("m.yaml"), text.to_owned())
            .unwrap()
            .manifest
    }

    fn identify(services: &[(String, Service)]) -> Fleet {
        let existing: Vec<plan::Existing> = services
            .iter()
            .map(|(kind, s)| plan::Existing {
                id: s.id.clone(),
                domain: s.domain.clone(),
                remoteid: s.remoteid.clone(),
                status: s.status,
                pricelist: s.pricelist.clone(),
                item_type: kind.clone(),
            })
            .collect();
        Fleet::identify(&manifest(), services, &existing)
    }

    fn svc(id: &str, domain: &str, remoteid: Option<&str>, status: u8) -> (String, Service) {
        let service = Service {
            id: id.into(),
            domain: Some(domain.into()),
            remoteid: remoteid.map(str::to_owned),
            status,
            pricelist: Some("6".into()),
            ..Service::default()
        };
        ("vds".to_owned(), service)
    }

    #[test]
    fn remoteid_domain_deleted_and_lookalikes() {
        let services = vec![
            // moved by a collision: found by remoteid
            svc("1", "web-004.example.com", Some("web-1"), 2),
            // found by exact domain, other case
            svc("2", "WEB-002.example.com", None, 3),
            // deleted: ignored, web-3 is absent
            svc("3", "web-003.example.com", Some("web-3"), 4),
            // looks like the fleet's but is not declared
            svc("4", "web-010.example.com", None, 2),
            // unrelated
            svc("5", "mail.example.org", None, 2),
        ];
        let fleet = identify(&services);
        let ids: Vec<Option<&str>> = fleet
            .members
            .iter()
            .map(|m| m.service().map(|s| s.id.as_str()))
            .collect();
        assert_eq!(ids, [Some("1"), Some("2"), None]);
        assert_eq!(fleet.members[2].state_word(), "absent");
        assert_eq!(fleet.members[0].domain(), "web-004.example.com");
        let undeclared: Vec<&str> = fleet
            .undeclared
            .iter()
            .map(|(_, s)| s.id.as_str())
            .collect();
        assert_eq!(undeclared, ["4"]);
        assert_eq!(fleet.with_status(&[3]).count(), 1);
    }

    #[test]
    fn a_domain_held_by_another_remoteid_is_a_conflict() {
        let services = vec![svc("9", "web-001.example.com", Some("other-1"), 2)];
        let fleet = identify(&services);
        assert!(matches!(fleet.members[0].found, Found::Conflict(_)));
        assert!(fleet.members[0].service().is_none());
    }

    #[test]
    fn list_actions_batch_by_type_and_settle_by_status() {
        let services = vec![
            svc("1", "web-001.example.com", Some("web-1"), 2),
            svc("2", "web-002.example.com", Some("web-2"), 2),
        ];
        let fleet = identify(&services);
        let spec = ListSpec::of(FleetAction::Suspend);
        let targets: Vec<&Member> = fleet.with_status(spec.acts_on).collect();
        let batches = batches(&targets);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].1.len(), 2);
        let (_, active) = &services[0];
        assert!(!reached(ListAction::Suspend, Some(active)));
        assert!(reached(ListAction::Resume, Some(active)));
        assert!(reached(ListAction::Delete, None));
        assert!(!reached(ListAction::Suspend, None));
    }
}
