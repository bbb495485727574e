//! The wire-protocol choices a billing speaks: API generation ([`Dialect`]), response
//! format ([`Format`]) and authentication mode ([`LoginMode`]).
//!
//! A leaf module: `api` takes these without knowing the manifest, and the manifest re-exports
//! them (`manifest::Dialect`, ...) as the values of its `billing:` keys.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// BILLmanager API generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// BILLmanager 4: `vds.order.7`, price/period ids, `enum_`, `agree`, `payfrom`.
    Bm4,
    /// BILLmanager 5: `<type>.order.param` with `period`.
    #[default]
    Bm5,
    /// BILLmanager 6: `v2.<type>.order.param` with `order_period`.
    Bm6,
}

impl std::str::FromStr for Dialect {
    type Err = String;

    /// `bm4`, `bm5` or `bm6` (any case, surrounding blanks ignored).
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "bm4" => Ok(Self::Bm4),
            "bm5" => Ok(Self::Bm5),
            "bm6" => Ok(Self::Bm6),
            other => Err(format!("unknown dialect `{other}`: use bm4, bm5 or bm6")),
        }
    }
}

/// Response format (`out=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `out=json`
    #[default]
    Json,
    /// `out=xml`
    Xml,
}

/// Authentication mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoginMode {
    /// `func=auth` once, then `auth=<session id>`.
    #[default]
    Session,
    /// `authinfo=user:password` in the body of every call.
    Authinfo,
}
