//! Drift: how a present service differs from its declaration, read from the service's edit
//! form (`<type>.edit elid=ID`). Addons (increases and decreases) and auto-renewal can be
//! pushed with `<type>.edit`; tariff, OS template and recipe cannot be changed from a
//! customer account (never a reinstall): such a difference makes the server a conflict.

use std::collections::BTreeMap;

use super::call::OrderCall;
use crate::manifest::Group;
use crate::money::Money;

/// Service statuses whose form may be edited: active and suspended (processing is busy).
pub const EDITABLE: [u8; 2] = [2, 3];

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Form field (`addon_11`, `autoprolong`, `pricelist`, `ostempl`, `recipe`).
    pub field: String,
    /// The current value (`None` when the form lacks the field).
    pub from: Option<String>,
    /// The declared value.
    pub to: String,
}

/// What differs for one service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    /// Fields `<type>.edit` can push.
    pub changes: Vec<Change>,
    /// Differences that cannot be pushed from a customer account.
    pub blocked: Vec<Change>,
}

impl Diff {
    /// True when nothing differs.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.blocked.is_empty()
    }

    /// The differences that cannot be pushed, as sentences.
    pub fn notes(&self) -> Vec<String> {
        self.blocked
            .iter()
            .map(|c| {
                let from = c.from.as_deref().unwrap_or("(none)");
                format!(
                    "{}: {from} → {} cannot be changed from a customer account",
                    c.field, c.to
                )
            })
            .collect()
    }
}

/// The update of one present service: the `<type>.edit` call and what it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// Item type (`vds`, ...): the call is `<type>.edit`.
    pub item_type: String,
    /// The service (`elid`).
    pub service_id: String,
    /// The difference.
    pub diff: Diff,
    /// The group pays from the balance: the change is sent with `skipbasket=on`, so it is
    /// charged at once instead of parked unpaid in the cart (as orders are).
    pub from_balance: bool,
    /// What the change adds to one period's price (negative when cheaper), when the billing's
    /// edit preview states it (`crate::api::price`); `None` is unknown, not free.
    pub price_change: Option<Money>,
}

impl Drift {
    /// The exact edit call: `elid`, the changed fields, `sok`.
    pub fn call(&self) -> OrderCall {
        let mut own = vec![("elid".to_owned(), self.service_id.clone())];
        own.extend(self.params());
        own.push(("sok".to_owned(), "ok".to_owned()));
        OrderCall {
            func: format!("{}.edit", self.item_type).into(),
            common: std::sync::Arc::new(Vec::new()),
            own,
        }
    }

    /// The fields to send and their values (without `elid` and `sok`).
    pub fn params(&self) -> Vec<(String, String)> {
        edit_params(&self.diff, self.from_balance)
    }
}

/// The fields of an edit call for `diff` (without `elid` and `sok`); `skipbasket=on` when the
/// group pays from the balance.
pub fn edit_params(diff: &Diff, from_balance: bool) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = diff
        .changes
        .iter()
        .map(|c| (c.field.clone(), c.to.clone()))
        .collect();
    if from_balance {
        params.push(("skipbasket".to_owned(), "on".to_owned()));
    }
    params
}

/// True for the ways of saying "auto-renewal off".
fn is_off(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "" | "off" | "null" | "none" | "0" | "false" | "no"
    )
}

/// True when the form's `current` value of `field` already is `desired`.
pub fn same_value(field: &str, current: Option<&str>, desired: &str) -> bool {
    let Some(current) = current else {
        return false;
    };
    if field == "autoprolong" && (is_off(current) || is_off(desired)) {
        return is_off(current) && is_off(desired);
    }
    // An on/off addon may be shown as a word (`addon_N=off`) and declared as a number.
    let switch = |v: &str| match v.trim() {
        "off" => "0".to_owned(),
        "on" => "1".to_owned(),
        other => other.to_owned(),
    };
    let (current, desired) = if field.starts_with("addon_") {
        (switch(current), switch(desired))
    } else {
        (current.to_owned(), desired.to_owned())
    };
    match (current.trim().parse::<f64>(), desired.trim().parse::<f64>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => current.trim() == desired.trim(),
    }
}

/// The difference between `group`'s declared values and a service's form `values`.
pub fn diff(group: &Group, values: &BTreeMap<String, String>) -> Diff {
    let mut wanted: Vec<(String, String)> = group
        .addons
        .iter()
        .map(|(id, v)| (format!("addon_{id}"), v.as_str().to_owned()))
        .collect();
    if let Some(auto) = &group.autoprolong {
        let value = if is_off(auto.as_str()) {
            "null"
        } else {
            auto.as_str()
        };
        wanted.push(("autoprolong".to_owned(), value.to_owned()));
    }
    let changes = wanted
        .into_iter()
        .filter_map(|(field, to)| {
            let from = values.get(&field).cloned();
            (!same_value(&field, from.as_deref(), &to)).then_some(Change { field, from, to })
        })
        .collect();
    Diff {
        changes,
        blocked: blocked(group, values),
    }
}

/// Tariff, OS template and recipe differences (only where both sides state a value).
fn blocked(group: &Group, values: &BTreeMap<String, String>) -> Vec<Change> {
    let mut out = Vec::new();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let pricelist = group.pricelist.as_str();
    if let Some(current) = values.get("pricelist")
        && digits(current)
        && digits(pricelist)
        && current != pricelist
    {
        out.push(Change {
            field: "pricelist".to_owned(),
            from: Some(current.clone()),
            to: pricelist.to_owned(),
        });
    }
    for (field, declared) in [("ostempl", &group.ostempl), ("recipe", &group.recipe)] {
        let current = values.get(field).filter(|v| !v.is_empty());
        if let (Some(declared), Some(current)) = (declared.as_deref(), current)
            && declared != "null"
            && declared != current
        {
            out.push(Change {
                field: field.to_owned(),
                from: Some(current.clone()),
                to: declared.to_owned(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(extra: &str) -> Group {
        let text = format!(
            "version: 1\nfleet:\n  name: web\n  count: 1\n  domain: a.example.com\n  pricelist: 6\n{extra}"
        );
        let loaded = crate::manifest::load_str(std::path::Path::new("m.yaml"), text).unwrap();
        loaded.manifest.fleet.unwrap()
    }

    fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn only_differing_fields_are_pushed() {
        let g = group("  addons: {10: 2, 11: 2048}\n  autoprolong: off\n");
        let d = diff(
            &g,
            &form(&[
                ("addon_10", "2"),
                ("addon_11", "1024"),
                ("autoprolong", "null"),
            ]),
        );
        assert_eq!(
            d.changes,
            [Change {
                field: "addon_11".into(),
                from: Some("1024".into()),
                to: "2048".into()
            }]
        );
        let d = diff(
            &g,
            &form(&[
                ("addon_10", "2.0"),
                ("addon_11", "2048"),
                ("autoprolong", "1"),
            ]),
        );
        assert_eq!(d.changes.len(), 1);
        assert_eq!(
            (d.changes[0].field.as_str(), d.changes[0].to.as_str()),
            ("autoprolong", "null")
        );
    }

    #[test]
    fn decreases_are_drift_too() {
        let g = group("  addons: {11: 512}\n");
        let d = diff(&g, &form(&[("addon_11", "1024")]));
        assert_eq!(d.changes[0].to, "512");
        assert_eq!(d.changes[0].from.as_deref(), Some("1024"));
    }

    #[test]
    fn autoprolong_months_and_missing_fields() {
        let g = group("  autoprolong: 3\n  addons: {12: 40}\n");
        let d = diff(&g, &form(&[("autoprolong", "")]));
        let fields: Vec<(&str, Option<&str>, &str)> = d
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.from.as_deref(), c.to.as_str()))
            .collect();
        assert_eq!(
            fields,
            [("addon_12", None, "40"), ("autoprolong", Some(""), "3")]
        );
        assert!(same_value("autoprolong", Some("off"), "null"));
        assert!(!same_value("autoprolong", Some("1"), "null"));
    }

    #[test]
    fn tariff_and_ostempl_differences_are_blocked() {
        let g = group("  ostempl: Debian-12\n");
        let d = diff(&g, &form(&[("ostempl", "CentOS-7"), ("pricelist", "7")]));
        assert!(d.changes.is_empty());
        let fields: Vec<&str> = d.blocked.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["pricelist", "ostempl"]);
        let notes = d.notes();
        assert!(notes[1].contains("CentOS-7 → Debian-12"), "{}", notes[1]);
    }
}
