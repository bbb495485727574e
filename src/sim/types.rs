//! The simulator's public inspection and setup types.

use std::collections::BTreeMap;

use super::state::Service;

/// Which of the publicly seen answer shapes the simulator's order forms use. Each is one a
/// real install was seen to send (see `billfleet::api::catalog` for the sources); the default
/// is billfleet's catalog convention.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FormShapes {
    /// BILLmanager 6 v2 forms: slider limits under
    /// `metadata.form.page[$name=page_pricelist_settings].field[]`
    /// and labels as the map `messages.msg.addon_N` (a plain string per addon in JSON),
    /// instead of `metadata.form.field[]` attributes and `messages.msg[$name=addon_N]`.
    pub v2_form: bool,
    /// Where the price preview states the total.
    pub price: PriceShape,
    /// On/off addons (range 0..1) as list-type addons, `slist[$name=addon_N]`.
    pub slist_addons: bool,
    /// On/off addons take the words `on`/`off` instead of `1`/`0`.
    pub off_values: bool,
}

/// Where an order form's price preview states the total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PriceShape {
    /// `list[$name=pricelist_summary]` and `orderinfo` (BILLmanager 5, 6 before 2024).
    #[default]
    PricelistSummary,
    /// `list[$name=total_summary]` (BILLmanager 6 since 2024), first row the total.
    TotalSummary,
    /// Only "Total amount: …" in `orderinfo`.
    Orderinfo,
    /// No price at all (a fault: billfleet must not take the server as free).
    Missing,
}

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
    /// Where an unpaid order waits: `basket`, `dragon` or `cart` (the new cart).
    pub cart: Option<String>,
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
        cart: s.cart.clone(),
    }
}
