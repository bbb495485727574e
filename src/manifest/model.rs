//! The typed manifest, version 1 (CONTRACT.md "Manifest (YAML), version 1").
//!
//! Serde types with `deny_unknown_fields`; the JSON Schema in `schema/` is generated from
//! them, and the structural check of a manifest reads its keys, types, enum values and
//! numeric ranges from that schema (the `#[schemars(...)]` bounds below are enforced).
//! Semantic checks (patterns, duplicates, totals) live in `validate`.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::protocol::{Dialect, Format, LoginMode};

/// A whole manifest.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Manifest format version; only `1` exists.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Where the billing is and how to talk to it (never credentials).
    #[serde(default)]
    pub billing: Billing,
    /// A single group of servers. Use either `fleet` or `fleets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<Group>,
    /// Several groups of servers, each with a distinct `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleets: Option<Vec<Group>>,
    /// Pacing, retries and safety limits of the executor.
    #[serde(default)]
    pub execution: Execution,
}

impl Manifest {
    /// The groups, whether written as `fleet` or `fleets`.
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.fleet.iter().chain(self.fleets.iter().flatten())
    }
}

/// Billing location and protocol. Credentials never go here.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Billing {
    /// Base URL of the billing: `https://host/billmgr`, `https://host/manager/billmgr` or a bare
    /// host. `BILLFLEET_URL` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// API generation of the billing.
    #[serde(default)]
    pub dialect: Dialect,
    /// Response format requested with `out=`.
    #[serde(default)]
    pub format: Format,
    /// How to authenticate: a session (`func=auth`) or `authinfo` on every call.
    #[serde(default)]
    pub login: LoginMode,
    /// Send the stable server key as `remoteid` (bm5; bm6 always sends it, bm4 never).
    #[serde(default = "yes")]
    pub remoteid: bool,
}

impl Default for Billing {
    fn default() -> Self {
        Self {
            url: None,
            dialect: Dialect::default(),
            format: Format::default(),
            login: LoginMode::default(),
            remoteid: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// One group of identical servers.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Group name; part of each server's key `<name>-<seq>`.
    pub name: String,
    /// Item type of the billing: `vds`, `vhost`, `dedic`, `soft`, `platform`, ...
    #[serde(rename = "type", default = "default_type")]
    pub kind: String,
    /// How many servers the group declares.
    #[schemars(range(min = 0, max = 100_000))]
    pub count: i64,
    /// Domain pattern: `{seq}` or `{seq:0N}` (zero-padded), `{name}` = group name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// First sequence number.
    #[serde(default = "default_start")]
    #[schemars(range(min = 0))]
    pub start: i64,
    /// Tariff id (bm4: the `price` id).
    pub pricelist: Scalar,
    /// Datacenter id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datacenter: Option<Scalar>,
    /// Order period in months (bm4: the period id; licenses: 1, 12 or -100 for a trial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Scalar>,
    /// Auto-renewal period in months (bm4: period id), or `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoprolong: Option<Scalar>,
    /// OS template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ostempl: Option<String>,
    /// Recipe applied after the OS is installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<String>,
    /// Tariff addons: id to value, sent as `addon_<id>=<value>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": "^[1-9][0-9]*$" }))]
    pub addons: BTreeMap<Scalar, Scalar>,
    /// Enumerated options (bm4): id to value, sent as `enum_<id>=<value>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": "^[1-9][0-9]*$" }))]
    pub enums: BTreeMap<Scalar, Scalar>,
    /// `balance`: charge at once (`skipbasket=on`); `basket`: leave orders in the basket; `cart`:
    /// BILLmanager 6's new cart.
    #[serde(default)]
    pub payment: Payment,
    /// Extra raw parameters sent verbatim with every order (escape hatch).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Scalar>,
}

impl Group {
    /// The stable key of server `seq`: `<name>-<seq>` (sent as `remoteid`).
    pub fn key(&self, seq: u64) -> String {
        format!("{}-{}", self.name, seq)
    }

    /// The declared sequence numbers: `start .. start + count` (empty when either is negative).
    pub fn seqs(&self) -> std::ops::Range<u64> {
        let start = u64::try_from(self.start).unwrap_or(0);
        let count = u64::try_from(self.count).unwrap_or(0);
        start..start.saturating_add(count)
    }

    /// The parsed domain pattern, when the group has one.
    pub fn pattern(
        &self,
    ) -> Option<Result<super::pattern::DomainPattern, super::pattern::PatternError>> {
        self.domain
            .as_deref()
            .map(super::pattern::DomainPattern::parse)
    }
}

fn default_type() -> String {
    "vds".to_owned()
}

fn default_start() -> i64 {
    1
}

/// How orders are paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Payment {
    /// Charge the account balance immediately (`skipbasket=on`).
    #[default]
    Balance,
    /// Put orders into the basket for the user to pay (BILLmanager 6: the web interface's
    /// Dragon cart, `theme=dragon` with the `ISP-Client: Web-interface` header).
    Basket,
    /// BILLmanager 6's new cart: `v2.<type>.order.param` with `clicked_button=order` and
    /// `force_use_new_cart=on` ("New order API"); the user pays the cart (`func=cart`).
    Cart,
}

/// Executor settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Execution {
    /// Calls in flight at most.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 1024))]
    pub concurrency: i64,
    /// Calls per second at most, all calls together.
    #[serde(default = "default_rate")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub rate: f64,
    /// Calls allowed at once above the rate (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub burst: Option<i64>,
    /// Further attempts of a call that failed transiently.
    #[serde(default = "default_retries")]
    #[schemars(range(min = 0, max = 100))]
    pub retries: i64,
    /// What to do when the billing says a domain is taken.
    #[serde(default)]
    pub on_collision: OnCollision,
    /// Refuse to start when the estimated cost exceeds this amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_spend: Option<f64>,
    /// Seconds before one HTTP call times out.
    #[serde(default = "default_timeout")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub timeout: f64,
}

impl Default for Execution {
    fn default() -> Self {
        Self {
            concurrency: default_concurrency(),
            rate: default_rate(),
            burst: None,
            retries: default_retries(),
            on_collision: OnCollision::default(),
            max_spend: None,
            timeout: default_timeout(),
        }
    }
}

fn default_concurrency() -> i64 {
    4
}
fn default_rate() -> f64 {
    2.0
}
fn default_retries() -> i64 {
    4
}
fn default_timeout() -> f64 {
    60.0
}

/// Domain collision policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnCollision {
    /// Move the server to the next free sequence number after the group's range.
    #[default]
    Next,
    /// Fail that server.
    Fail,
}

/// A scalar parameter value as written in YAML (integer, string, float or boolean), kept as
/// the text that goes on the wire: `6`, `ISPsystem__CentOS-7-amd64`, `on`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scalar(pub String);

impl Scalar {
    /// The wire text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as an integer, when it is one.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Scalar {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<i64> for Scalar {
    fn from(value: i64) -> Self {
        Self(value.to_string())
    }
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.parse::<i64>() {
            Ok(n) if n.to_string() == self.0 => serializer.serialize_i64(n),
            _ => serializer.serialize_str(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, a string or a boolean")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(if v { "on" } else { "off" }.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar("null".to_owned()))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

impl JsonSchema for Scalar {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A number, a string or a boolean, sent as text.",
            "type": ["integer", "number", "string", "boolean", "null"]
        })
    }
}
