//! The simulator's public inspection and setup types.

use std::collections::BTreeMap;

use super::state::Service;

/// One request as the simulator saw it (secrets masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Milliseconds since the simulator was created.
    pub at_ms: u64,
    /// The `func` parameter (empty when missing).
    pub func: String,
    /// HTTP method.
    pub method: String,
    /// All parameters; passwords and session ids as `***`.
    pub params: Vec<(String, String)>,
    /// HTTP status answered.
    pub status: u16,
    /// `ok`, `error:<type>`, `fault:503`, `fault:dropped` or `fault:429`.
    pub outcome: String,
}

/// A service as the billing holds it (for inspection in tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimService {
    /// Service id.
    pub id: String,
    /// Owning account.
    pub account: String,
    /// `vds`, `vhost`, `dedic`, `soft`, `platform`.
    pub item_type: String,
    /// Domain name.
    pub domain: String,
    /// The reseller's id, when given.
    pub remoteid: Option<String>,
    /// 1 ordered, 2 active, 3 suspended, 4 deleted, 5 processing.
    pub status: u8,
    /// Address, once active.
    pub ip: Option<String>,
    /// Tariff id.
    pub pricelist: u32,
    /// Datacenter id.
    pub datacenter: Option<u32>,
    /// Period in months (0 = trial).
    pub period: u32,
    /// Expiry date, `YYYY-MM-DD`.
    pub expiredate: String,
    /// Auto-renewal period in months, `None` = off.
    pub autoprolong: Option<u32>,
    /// Addon values by addon id.
    pub addons: BTreeMap<u32, i64>,
    /// Price of one period, in cents.
    pub cost_cents: i64,
    /// A license's key, once it is active.
    pub lickey: Option<String>,
}

/// A service made outside billfleet (test setup).
#[derive(Debug, Clone)]
pub struct NewService {
    /// Owning account; `None` = the configured user.
    pub account: Option<String>,
    /// Item type, e.g. `vds`.
    pub item_type: String,
    /// Tariff id.
    pub pricelist: u32,
    /// Domain name.
    pub domain: String,
    /// The reseller's id.
    pub remoteid: Option<String>,
    /// Status (default 2, active).
    pub status: u8,
    /// Period in months.
    pub period: u32,
    /// Addon values.
    pub addons: BTreeMap<u32, i64>,
}

impl Default for NewService {
    fn default() -> Self {
        Self {
            account: None,
            item_type: "vds".into(),
            pricelist: 6,
            domain: String::new(),
            remoteid: None,
            status: 2,
            period: 1,
            addons: BTreeMap::new(),
        }
    }
}

/// The inspection view of a stored service.
pub(super) fn inspect(s: &Service) -> SimService {
    SimService {
        id: s.id.to_string(),
        account: s.account.clone(),
        item_type: s.item_type.clone(),
        domain: s.domain.clone(),
        remoteid: s.remoteid.clone(),
        status: s.status,
        ip: if matches!(s.status, 2 | 3) {
            s.ip.clone()
        } else {
            None
        },
        pricelist: s.pricelist,
        datacenter: s.datacenter,
        period: s.period,
        expiredate: s.expiredate.format("%Y-%m-%d").to_string(),
        autoprolong: s.autoprolong,
        addons: s.addons.clone(),
        cost_cents: s.cost_cents,
        lickey: s.shown_lickey().map(str::to_owned),
    }
}
