//! Completing a plan after the survey: `--target` selection, the present servers' edit
//! forms (drift), `--prune`, groups that cannot be completed, the cost of the targeted orders.

use std::collections::BTreeMap;

use super::{Action, Blocked, Drift, Leftover, Plan, Targets, drift};
use crate::manifest::{Group, Manifest};
use crate::money::Money;

impl Plan {
    /// The cost of the targeted orders at `unit_prices` (one per group, manifest order);
    /// `None` when a group with orders has no price. A total with no currency takes
    /// `currency`.
    pub fn cost_of_orders(&self, unit_prices: &[Option<Money>], currency: &str) -> Option<Money> {
        let mut total = Money::default();
        for (index, price) in unit_prices.iter().enumerate() {
            let n = self
                .servers
                .iter()
                .filter(|s| s.targeted && s.group_index == index && s.action == Action::Order)
                .count() as u64;
            if n > 0 {
                total = total.plus(&price.as_ref()?.times(n));
            }
        }
        if total.currency.is_empty() {
            total.currency = currency.to_owned();
        }
        Some(total)
    }

    /// The known price changes of the targeted updates added up (per period), and how many
    /// updates have an unknown price change; `None` when no update's price is known.
    pub fn update_cost(&self) -> (Option<Money>, usize) {
        let mut total: Option<Money> = None;
        let mut unknown = 0;
        for s in self.servers.iter().filter(|s| s.targeted) {
            let Some(drift) = s.drift.as_ref().filter(|_| s.action == Action::Update) else {
                continue;
            };
            match &drift.price_change {
                Some(change) => {
                    total = Some(total.map_or_else(|| change.clone(), |t| t.plus(change)))
                }
                None => unknown += 1,
            }
        }
        (total, unknown)
    }

    /// The targeted updates, to price.
    pub fn updates_to_price(&self) -> Vec<&Drift> {
        self.servers
            .iter()
            .filter(|s| s.targeted && s.action == Action::Update)
            .filter_map(|s| s.drift.as_ref())
            .collect()
    }

    /// Sets the price change of the update of service `id`.
    pub fn set_price_change(&mut self, id: &str, change: Money) {
        let drift = self
            .servers
            .iter_mut()
            .filter(|s| s.action == Action::Update)
            .filter_map(|s| s.drift.as_mut())
            .find(|d| d.service_id == id);
        if let Some(drift) = drift {
            drift.price_change = Some(change);
        }
    }

    /// `--prune`: every undeclared service is to be deleted.
    pub fn prune(&mut self) {
        for leftover in &mut self.undeclared {
            leftover.action = Leftover::Delete;
        }
    }

    /// Notes that the plan cannot be completed for group `group_index`.
    pub fn block(&mut self, group_index: usize, group: &str, reason: impl Into<String>) {
        if !self.blocked.iter().any(|b| b.group_index == group_index) {
            self.blocked.push(Blocked {
                group_index,
                group: group.to_owned(),
                reason: reason.into(),
            });
        }
    }

    /// Why group `group_index` cannot be completed, if it cannot.
    pub fn blocked_reason(&self, group_index: usize) -> Option<&str> {
        self.blocked
            .iter()
            .find(|b| b.group_index == group_index)
            .map(|b| b.reason.as_str())
    }

    /// Restricts the plan to `targets`: other servers and undeclared services of groups not
    /// selected as a whole stay in the plan, marked as not targeted.
    pub fn select(&mut self, targets: &Targets) {
        for server in &mut self.servers {
            server.targeted = targets.selects(&server.group, &server.key);
        }
        for leftover in &mut self.undeclared {
            leftover.targeted = targets.selects_group(&leftover.group);
        }
    }

    /// The present services whose edit form the planner needs: `(item type, service id)` of
    /// every targeted present server whose status allows an edit.
    pub fn forms_needed(&self) -> Vec<(String, String)> {
        self.servers
            .iter()
            .filter(|s| s.targeted && s.action == Action::Exists)
            .filter_map(|s| s.existing.as_ref())
            .filter(|e| drift::EDITABLE.contains(&e.status))
            .map(|e| (e.item_type.clone(), e.id.clone()))
            .collect()
    }

    /// Compares each present server's edit form (`forms(service id)`) with its group: a
    /// pushable difference makes it an update, one that cannot be pushed a conflict.
    pub fn with_forms<'f>(
        &mut self,
        manifest: &Manifest,
        forms: impl Fn(&str) -> Option<&'f BTreeMap<String, String>>,
    ) {
        let groups: Vec<&Group> = manifest.groups().collect();
        for server in &mut self.servers {
            if server.action != Action::Exists {
                continue;
            }
            let (Some(existing), Some(group)) = (&server.existing, groups.get(server.group_index))
            else {
                continue;
            };
            let Some(values) = forms(&existing.id) else {
                continue;
            };
            let diff = drift::diff(group, values);
            if diff.is_empty() {
                continue;
            }
            server.action = if diff.blocked.is_empty() {
                Action::Update
            } else {
                Action::Conflict
            };
            server.drift = Some(Drift {
                item_type: existing.item_type.clone(),
                service_id: existing.id.clone(),
                diff,
                from_balance: group.payment == crate::manifest::Payment::Balance,
                price_change: None,
            });
        }
    }
}
