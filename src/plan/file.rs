//! Saved plans (`plan --out FILE`, `apply FILE`): a versioned JSON document holding the
//! manifest's path and content hash, the billing URL and user (never a secret), every action
//! with its exact call and what it depends on, and the cost.
//!
//! Applying a saved plan plans again and compares: the plan is stale when the manifest's
//! bytes changed or any action (or what it depends on) differs from what the billing shows
//! now. A changed balance is not staleness.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Action, Leftover, OrderCall, Plan};

/// The top-level marker (and its version) that tells a saved plan from a manifest.
pub const MARKER: &str = "billfleet_plan";
/// The saved-plan format this build writes and reads.
pub const VERSION: u32 = 1;

/// A saved plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Format version ([`VERSION`]), under the key [`MARKER`].
    pub billfleet_plan: u32,
    /// The manifest the plan was made from.
    pub manifest: ManifestRef,
    /// Where the plan was made.
    pub billing: BillingRef,
    /// `--prune` was given.
    pub prune: bool,
    /// The `--target` selectors given.
    pub targets: Vec<String>,
    /// Every action, in plan order: declared servers, then undeclared services.
    pub actions: Vec<SavedAction>,
    /// Estimated cost of the orders (decimal amount and currency), when known.
    pub cost: Option<String>,
    /// The balance when planned (informative; never compared).
    pub balance: Option<String>,
}

/// The manifest's path and content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRef {
    /// As given on the command line.
    pub path: String,
    /// Hex SHA-256 of its bytes.
    pub sha256: String,
}

/// The billing URL and user (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingRef {
    /// Base URL.
    pub url: String,
    /// User name.
    pub user: String,
}

/// One action and what it depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedAction {
    /// `<group>-<seq>`.
    pub key: String,
    /// Group name.
    pub group: String,
    /// `order`, `exists`, `update`, `conflict`, `orphan`, `delete`.
    pub action: String,
    /// The exact call, for `order`, `update` and `delete`.
    pub call: Option<SavedCall>,
    /// What must still hold when the plan is applied.
    pub depends_on: DependsOn,
}

/// A call: the function and every parameter except credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCall {
    /// The function.
    pub func: String,
    /// Its parameters.
    pub params: BTreeMap<String, String>,
}

impl SavedCall {
    fn of(call: &OrderCall) -> Self {
        Self {
            func: call.func.to_string(),
            params: call
                .params()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }
}

/// The precondition of an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DependsOn {
    /// `order`: no live service of this server existed.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub absent: bool,
    /// The service the action is about (present servers, undeclared services).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub service_id: Option<String>,
    /// `update`: the values the edit starts from.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub values: BTreeMap<String, String>,
    /// `delete`/`orphan`: the service's remoteid.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub remoteid: Option<String>,
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every targeted action of `plan` with its call and precondition.
pub fn actions(plan: &Plan) -> Vec<SavedAction> {
    let mut out = Vec::new();
    for s in plan.servers.iter().filter(|s| s.targeted) {
        let service_id = s.existing.as_ref().map(|e| e.id.clone());
        let mut depends_on = DependsOn {
            absent: s.action == Action::Order,
            service_id,
            ..DependsOn::default()
        };
        let call = match (&s.call, &s.drift, s.action) {
            (Some(call), _, _) => Some(SavedCall::of(call)),
            (None, Some(drift), Action::Update) => {
                depends_on.values = drift
                    .diff
                    .changes
                    .iter()
                    .map(|c| (c.field.clone(), c.from.clone().unwrap_or_default()))
                    .collect();
                Some(SavedCall::of(&drift.call()))
            }
            _ => None,
        };
        out.push(SavedAction {
            key: s.key.clone(),
            group: s.group.to_string(),
            action: s.action.as_str().to_owned(),
            call,
            depends_on,
        });
    }
    for u in plan.undeclared.iter().filter(|u| u.targeted) {
        out.push(SavedAction {
            key: u.key.clone(),
            group: u.group.to_string(),
            action: u.action.as_str().to_owned(),
            call: (u.action == Leftover::Delete).then(|| SavedCall::of(&u.delete_call())),
            depends_on: DependsOn {
                service_id: Some(u.service.id.clone()),
                remoteid: Some(u.key.clone()),
                ..DependsOn::default()
            },
        });
    }
    out
}

/// Why `saved` no longer describes `fresh` (the same manifest planned again now): one line per
/// difference, empty when the saved plan still holds.
pub fn differences(saved: &[SavedAction], fresh: &[SavedAction]) -> Vec<String> {
    let by_key: BTreeMap<(&str, &str), &SavedAction> = fresh
        .iter()
        .map(|a| ((a.group.as_str(), a.key.as_str()), a))
        .collect();
    let mut out = Vec::new();
    for a in saved {
        match by_key.get(&(a.group.as_str(), a.key.as_str())) {
            None => out.push(format!("{}: was `{}`, now not planned", a.key, a.action)),
            Some(now) if *now != a => out.push(describe(a, now)),
            Some(_) => {}
        }
    }
    let known: std::collections::HashSet<(&str, &str)> = saved
        .iter()
        .map(|a| (a.group.as_str(), a.key.as_str()))
        .collect();
    for a in fresh {
        if !known.contains(&(a.group.as_str(), a.key.as_str())) {
            out.push(format!(
                "{}: now `{}`, not in the saved plan",
                a.key, a.action
            ));
        }
    }
    out
}

fn describe(saved: &SavedAction, now: &SavedAction) -> String {
    if saved.action != now.action {
        return format!(
            "{}: was `{}`, now `{}`",
            saved.key, saved.action, now.action
        );
    }
    if saved.depends_on != now.depends_on {
        return format!(
            "{}: `{}` depended on {}, the billing now shows {}",
            saved.key,
            saved.action,
            brief(&saved.depends_on),
            brief(&now.depends_on)
        );
    }
    format!("{}: the `{}` call differs", saved.key, saved.action)
}

fn brief(d: &DependsOn) -> String {
    serde_json::to_string(d).unwrap_or_default()
}

impl SavedPlan {
    /// Reads a saved plan; `Ok(None)` when `text` is not one (no marker: a manifest).
    pub fn detect(text: &str) -> Result<Option<Self>, String> {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
            return Ok(None);
        };
        let Some(version) = value.get(MARKER) else {
            return Ok(None);
        };
        if version.as_u64() != Some(u64::from(VERSION)) {
            return Err(format!(
                "this saved plan has format {version}; this billfleet reads format {VERSION}"
            ));
        }
        serde_json::from_value(value)
            .map(Some)
            .map_err(|e| format!("unreadable saved plan: {e}"))
    }

    /// The document as pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_plans_not_manifests() {
        assert!(
            SavedPlan::detect("version: 1\nfleet: {}\n")
                .unwrap()
                .is_none()
        );
        assert!(SavedPlan::detect("{\"servers\": []}").unwrap().is_none());
        assert!(SavedPlan::detect("{\"billfleet_plan\": 9}").is_err());
        assert_eq!(sha256_hex(b"abc").len(), 64);
        assert!(sha256_hex(b"abc").starts_with("ba7816bf"));
    }

    #[test]
    fn differences_name_the_server() {
        let action = |key: &str, action: &str, id: Option<&str>| SavedAction {
            key: key.into(),
            group: "web".into(),
            action: action.into(),
            call: None,
            depends_on: DependsOn {
                service_id: id.map(str::to_owned),
                absent: action == "order",
                ..DependsOn::default()
            },
        };
        let saved = vec![
            action("web-1", "order", None),
            action("web-2", "exists", Some("9")),
        ];
        assert!(differences(&saved, &saved).is_empty());
        let fresh = vec![
            action("web-1", "exists", Some("10")),
            action("web-2", "exists", Some("9")),
        ];
        let diff = differences(&saved, &fresh);
        assert_eq!(diff.len(), 1);
        assert!(
            diff[0].contains("web-1: was `order`, now `exists`"),
            "{diff:?}"
        );
    }
}
