//! The order call of a server: the function and the parameters each dialect expects.
//!
//! A group's parameters are computed once and shared by all its servers; only `domain` and
//! `remoteid` are per server. The plan holds business parameters only: transport parameters
//! (`out`, `lang`) and credentials are added by the client.

use std::sync::Arc;

use crate::manifest::{Billing, Dialect, Group, Manifest, Payment, Scalar};

/// Parameters that never belong to a plan: the client adds transport and credentials.
const RESERVED: [&str; 7] = [
    "func", "out", "lang", "auth", "authinfo", "password", "username",
];

/// One order call. The group's common parameters are shared (Arc) by all its servers so a
/// 100,000-server plan stays small; `own` holds the per-server ones (domain, remoteid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCall {
    /// The BILLmanager function (`vds.order.param`, `v2.vds.order.param`, `vds.order.7`).
    pub func: Arc<str>,
    /// Parameters shared by every server of the group.
    pub common: Arc<Vec<(String, String)>>,
    /// Per-server parameters; they override `common`.
    pub own: Vec<(String, String)>,
}

impl OrderCall {
    /// Every parameter in order: the common ones (unless overridden), then the server's own.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.common
            .iter()
            .filter(|(k, _)| !self.own.iter().any(|(o, _)| o == k))
            .chain(self.own.iter())
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of one parameter (`own` overrides `common`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.own
            .iter()
            .chain(self.common.iter())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The same call for another domain (a server moved after a domain collision).
    pub fn with_domain(&self, domain: &str) -> OrderCall {
        let mut own: Vec<(String, String)> = self
            .own
            .iter()
            .filter(|(k, _)| k != "domain")
            .cloned()
            .collect();
        own.insert(0, ("domain".to_owned(), domain.to_owned()));
        OrderCall {
            func: Arc::clone(&self.func),
            common: Arc::clone(&self.common),
            own,
        }
    }
}

/// The parts of a group's order calls that do not depend on the server.
#[derive(Debug, Clone)]
pub(crate) struct GroupCall {
    func: Arc<str>,
    common: Arc<Vec<(String, String)>>,
    remoteid: bool,
    /// `params:` sets `domain` itself: the pattern's domain is not sent.
    domain_fixed: bool,
}

impl GroupCall {
    /// Computes the function and common parameters of `group` once.
    pub(crate) fn new(manifest: &Manifest, group: &Group) -> Self {
        let billing = &manifest.billing;
        let mut common = common_params(billing, group);
        common.push(("sok".to_owned(), "ok".to_owned()));
        apply_overrides(&mut common, group);
        let remoteid = sends_remoteid(billing) && !group.params.contains_key("remoteid");
        Self {
            func: func_name(billing.dialect, group).into(),
            common: Arc::new(common),
            remoteid,
            domain_fixed: group.params.contains_key("domain"),
        }
    }

    /// The call of one server.
    pub(crate) fn server(&self, key: &str, domain: Option<&str>) -> OrderCall {
        let mut own = Vec::with_capacity(2);
        if let (Some(domain), false) = (domain, self.domain_fixed) {
            own.push(("domain".to_owned(), domain.to_owned()));
        }
        if self.remoteid {
            own.push(("remoteid".to_owned(), key.to_owned()));
        }
        OrderCall {
            func: Arc::clone(&self.func),
            common: Arc::clone(&self.common),
            own,
        }
    }

    /// The price-preview form call: the common parameters without `sok`.
    pub(crate) fn preview(&self) -> OrderCall {
        let common = self
            .common
            .iter()
            .filter(|(k, _)| k != "sok" && k != "domain" && k != "remoteid")
            .cloned()
            .collect();
        OrderCall {
            func: Arc::clone(&self.func),
            common: Arc::new(common),
            own: Vec::new(),
        }
    }
}

/// The order call of server `seq` of `group`, for `domain` (the group's pattern expanded, or
/// another domain after a collision move).
pub fn order_call(manifest: &Manifest, group: &Group, seq: u64, domain: Option<&str>) -> OrderCall {
    GroupCall::new(manifest, group).server(&group.key(seq), domain)
}

/// The price-preview form call for a group: same params without `sok` (and without
/// domain/remoteid).
pub fn preview_call(manifest: &Manifest, group: &Group) -> OrderCall {
    GroupCall::new(manifest, group).preview()
}

/// True for license reselling item types (`soft`, `platform`) outside BILLmanager 4.
fn is_license(dialect: Dialect, group: &Group) -> bool {
    dialect != Dialect::Bm4 && matches!(group.kind.as_str(), "soft" | "platform")
}

fn sends_remoteid(billing: &Billing) -> bool {
    match billing.dialect {
        Dialect::Bm4 => false,
        Dialect::Bm5 => billing.remoteid,
        Dialect::Bm6 => true,
    }
}

fn func_name(dialect: Dialect, group: &Group) -> String {
    let kind = &group.kind;
    match dialect {
        _ if is_license(dialect, group) => format!("{kind}.order.param"),
        Dialect::Bm4 => format!("{kind}.order.7"),
        Dialect::Bm5 => format!("{kind}.order.param"),
        Dialect::Bm6 => format!("v2.{kind}.order.param"),
    }
}

/// The dialect's parameters of a group, without `sok` and the per-server ones.
fn common_params(billing: &Billing, group: &Group) -> Vec<(String, String)> {
    let dialect = billing.dialect;
    let mut p = Params::default();
    if dialect == Dialect::Bm4 {
        p.add("price", Some(&group.pricelist));
    } else {
        p.add("pricelist", Some(&group.pricelist));
    }
    if is_license(dialect, group) {
        p.push("clicked_button", "finish");
    }
    p.add("datacenter", group.datacenter.as_ref());
    let period_key = match dialect {
        Dialect::Bm6 if !is_license(dialect, group) => "order_period",
        _ => "period",
    };
    p.add(period_key, group.period.as_ref());
    if let Some(auto) = &group.autoprolong {
        let value = match auto.as_str() {
            "off" | "null" | "" => "null",
            other => other,
        };
        p.push("autoprolong", value);
    }
    p.add_str("ostempl", group.ostempl.as_deref());
    p.add_str("recipe", group.recipe.as_deref());
    for (id, value) in sorted_numerically(&group.addons) {
        p.push(format!("addon_{id}"), value.as_str());
    }
    for (id, value) in sorted_numerically(&group.enums) {
        p.push(format!("enum_{id}"), value.as_str());
    }
    match dialect {
        Dialect::Bm4 => {
            p.push("agree", "on");
            p.push("payfrom", "neworder");
        }
        Dialect::Bm5 | Dialect::Bm6 => {
            if group.payment == Payment::Balance {
                p.push("skipbasket", "on");
            }
            if dialect == Dialect::Bm6 {
                p.push("licence_agreement", "on");
                cart_params(&mut p, group.payment, is_license(dialect, group));
            }
        }
    }
    p.0
}

/// BILLmanager 6 carts: `basket` goes to the web interface's Dragon cart (`theme=dragon`; the
/// client adds the `ISP-Client: Web-interface` header, "Service management via API"), `cart`
/// to the new cart ("New order API": `clicked_button=order`, `force_use_new_cart=on`; a
/// license keeps its `clicked_button=finish`).
fn cart_params(p: &mut Params, payment: Payment, license: bool) {
    match payment {
        Payment::Balance => {}
        Payment::Basket => p.push("theme", "dragon"),
        Payment::Cart => {
            if !license {
                p.push("clicked_button", "order");
            }
            p.push("force_use_new_cart", "on");
        }
    }
}

/// Adds the group's `params:` verbatim: an existing key is replaced in place, a new one appended.
/// Reserved keys (transport, credentials) are never taken. A `domain` or `remoteid` given here
/// is common to the group and replaces the per-server one.
fn apply_overrides(common: &mut Vec<(String, String)>, group: &Group) {
    for (key, value) in &group.params {
        if RESERVED.contains(&key.as_str()) {
            continue;
        }
        match common.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.as_str().to_owned(),
            None => common.push((key.clone(), value.as_str().to_owned())),
        }
    }
}

/// Map entries ordered by numeric id (`addon_7` before `addon_10`), then by text.
fn sorted_numerically(map: &std::collections::BTreeMap<Scalar, Scalar>) -> Vec<(&str, &Scalar)> {
    let mut entries: Vec<(&str, &Scalar)> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
    entries.sort_by(|a, b| {
        let key = |s: &str| s.parse::<i64>().ok();
        match (key(a.0), key(b.0)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.0.cmp(b.0),
        }
    });
    entries
}

/// An ordered parameter list under construction.
#[derive(Default)]
struct Params(Vec<(String, String)>);

impl Params {
    fn push(&mut self, key: impl Into<String>, value: &str) {
        self.0.push((key.into(), value.to_owned()));
    }

    fn add(&mut self, key: &str, value: Option<&Scalar>) {
        if let Some(value) = value {
            self.push(key, value.as_str());
        }
    }

    fn add_str(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.push(key, value);
        }
    }
}
