//! The simulator's persistent state: accounts, services, id counters, taken domains. It
//! serializes to JSON; a processing service (status 5) becomes active from wall-clock
//! timestamps, so activation survives a save and a reload.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::SimError;

/// A customer account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Account {
    pub password: String,
    pub balance_cents: i64,
    pub currency: String,
    /// Sticky list filters by item type: field → value.
    #[serde(default)]
    pub filters: BTreeMap<String, BTreeMap<String, String>>,
}

/// A service (one ordered item).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Service {
    pub id: u64,
    pub account: String,
    pub item_type: String,
    pub domain: String,
    pub remoteid: Option<String>,
    pub status: u8,
    /// The address assigned at order; shown once the service is active.
    pub ip: Option<String>,
    pub pricelist: u32,
    pub datacenter: Option<u32>,
    /// Period in months (0 = trial).
    pub period: u32,
    pub autoprolong: Option<u32>,
    pub addons: BTreeMap<u32, i64>,
    #[serde(default)]
    pub enums: BTreeMap<u32, String>,
    pub ostempl: Option<String>,
    pub recipe: Option<String>,
    pub opened_ms: i64,
    /// When a processing (5) service turns active (2).
    pub activate_ms: Option<i64>,
    pub expiredate: NaiveDate,
    /// Price of one period, in cents.
    pub cost_cents: i64,
    /// A license's activation key (licenses only), shown once the license is active.
    #[serde(default)]
    pub lickey: Option<String>,
    /// A license's name (`licname`), as the license module sends it.
    #[serde(default)]
    pub licname: Option<String>,
    /// Where an unpaid order waits: `basket` (the old one), `dragon` (the web interface's
    /// cart) or `cart` (BILLmanager 6's new cart); `None` once paid.
    #[serde(default)]
    pub cart: Option<String>,
}

impl Service {
    /// True for statuses 1, 2, 3 and 5.
    pub fn is_live(&self) -> bool {
        matches!(self.status, 1 | 2 | 3 | 5)
    }

    /// The license key, once the license is active (or suspended): the billing issues it on
    /// activation, so a processing license has none yet (ISPsystem's license module polls
    /// `soft.edit` until `/doc/lickey` is not empty).
    pub fn shown_lickey(&self) -> Option<&str> {
        self.lickey
            .as_deref()
            .filter(|_| matches!(self.status, 2 | 3))
    }
}

/// True for the license item types (`soft`, `platform`).
pub(crate) fn is_license(item_type: &str) -> bool {
    matches!(item_type, "soft" | "platform")
}

/// A fresh license key: 32 upper-case hex digits (the shape is the simulator's own; the
/// license module only reads it as text).
pub(crate) fn new_lickey() -> String {
    format!(
        "{:016X}{:016X}",
        rand::random::<u64>(),
        rand::random::<u64>()
    )
}

/// Everything that is saved.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct State {
    pub accounts: BTreeMap<String, Account>,
    pub services: BTreeMap<u64, Service>,
    pub next_service_id: u64,
    pub next_order_id: u64,
    pub next_ip: u32,
    pub taken_domains: BTreeSet<String>,
}

impl State {
    /// A fresh state with one account.
    pub fn fresh(user: &str, password: &str, balance_cents: i64, currency: &str) -> Self {
        let mut state = Self {
            next_service_id: 1001,
            next_order_id: 5001,
            ..Self::default()
        };
        state.add_account(user, password, balance_cents, currency);
        state
    }

    /// Adds (or replaces) an account.
    pub fn add_account(&mut self, user: &str, password: &str, balance_cents: i64, currency: &str) {
        self.accounts.insert(
            user.to_owned(),
            Account {
                password: password.to_owned(),
                balance_cents,
                currency: currency.to_owned(),
                filters: BTreeMap::new(),
            },
        );
    }

    /// Turns processing services whose activation time has come into active ones.
    pub fn settle(&mut self, now: DateTime<Utc>) {
        let now_ms = now.timestamp_millis();
        for service in self.services.values_mut() {
            if service.status == 5 && service.activate_ms.is_some_and(|t| t <= now_ms) {
                service.status = 2;
                service.activate_ms = None;
            }
        }
    }

    /// True when another customer holds the domain, or a live service of the same item type
    /// (of any account) does. Different types may share a name: the documented examples order
    /// a vhost and a dedic both as `domain.name`.
    pub fn domain_taken(&self, domain: &str, item_type: &str) -> bool {
        let domain = domain.to_ascii_lowercase();
        self.taken_domains.contains(&domain)
            || self.services.values().any(|s| {
                s.is_live() && s.item_type == item_type && s.domain.eq_ignore_ascii_case(&domain)
            })
    }

    /// A fresh service id.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_service_id;
        self.next_service_id += 1;
        id
    }

    /// A fresh order id.
    pub fn next_order(&mut self) -> u64 {
        let id = self.next_order_id;
        self.next_order_id += 1;
        id
    }

    /// The next unused address: 203.0.113.0/24, then 198.51.100.0/24, 192.0.2.0/24, then
    /// 100.64.0.0/10 (hosts .1 to .254 of each /24).
    pub fn next_ip(&mut self) -> String {
        let n = self.next_ip;
        self.next_ip += 1;
        let (block, host) = (n / 254, n % 254 + 1);
        match block {
            0 => format!("203.0.113.{host}"),
            1 => format!("198.51.100.{host}"),
            2 => format!("192.0.2.{host}"),
            b => {
                let b = b - 3;
                format!("100.{}.{}.{host}", 64 + (b / 256) % 64, b % 256)
            }
        }
    }

    /// Loads a saved state.
    pub fn load(path: &Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Io {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| SimError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// Saves atomically: a temporary file beside the target, then a rename.
    pub fn save(&self, path: &Path) -> Result<(), SimError> {
        let io = |source| SimError::Io {
            path: path.to_owned(),
            source,
        };
        let text = serde_json::to_string_pretty(self).map_err(|source| SimError::Parse {
            path: path.to_owned(),
            source,
        })?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut tmp_name = path.as_os_str().to_owned();
        tmp_name.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp_name);
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_unique_and_move_to_the_next_block() {
        let mut s = State::default();
        let ips: Vec<String> = (0..600).map(|_| s.next_ip()).collect();
        assert_eq!(ips[0], "203.0.113.1");
        assert_eq!(ips[253], "203.0.113.254");
        assert_eq!(ips[254], "198.51.100.1");
        assert_eq!(ips[508], "192.0.2.1");
        let unique: BTreeSet<&String> = ips.iter().collect();
        assert_eq!(unique.len(), 600);
    }
}
