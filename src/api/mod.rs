//! The BILLmanager client: one `reqwest` client, dialects, auth, decoding, error kinds.
//!
//! - [`client`]: the HTTP side, the shared single-flight session, [`BillingClient::call`];
//! - [`calls`]: the typed calls (`whoami`, `order`, `prolong`, …);
//! - [`listing`]: whole service lists (every page, saved filters cleared) and whether each
//!   is known complete;
//! - [`doc`]: one tree for JSON (`json`/`sjson`/`xjson` shapes) and XML answers;
//! - [`error`]: [`ApiError`] and its classification by error `type`/`object`;
//! - [`types`] and [`catalog`]: what the calls return and how it is read;
//! - [`tap`]: an optional observer of every exchange, secrets removed (`doctor --capture`).
//!
//! It knows no manifest: the dialect, format and login mode come from [`crate::protocol`].

mod auth;
pub mod calls;
pub mod catalog;
pub mod client;
pub mod doc;
pub mod error;
pub mod listing;
mod price;
pub mod tap;
pub mod types;
mod wire;
mod xml;

pub use calls::Action;
pub use client::{BillingClient, CallKind, ClientExtras, ClientOptions, Progress};
pub use doc::{DecodeError, Doc, Node};
pub use error::{ApiError, ErrorKind};
pub use listing::{Listing, PAGE_SIZE};
pub use price::price_change;
pub use types::{
    Account, AddonInfo, Choice, EditForm, EnumInfo, FormShape, LicenseInfo, OrderAck, OrderForm,
    ProlongInfo, Quote, Service, Tariff, is_license_type,
};
