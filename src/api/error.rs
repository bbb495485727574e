//! Error kinds of billing calls, and their classification from an answer's `error` element.
//!
//! Classification reads the error's `type` and `object` attributes (or the legacy
//! BILLmanager 4 `code`/`obj`/`val`). The localized `msg` goes into `detail` for people to read;
//! it decides nothing, with one exception: "Request in process, please wait" (the busy answer a
//! production front end matches literally, its `type` unconfirmed) is read as busy whatever the
//! type, because a busy answer is a refusal that may be sent again.

use std::fmt;
use std::time::Duration;

use super::doc::Node;

/// A failed billing call, with what is known about whether it reached the billing.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{func}: {kind}{}{detail}", if detail.is_empty() { "" } else { ": " })]
pub struct ApiError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The billing function called (`vds.order.param`, `auth`, …).
    pub func: String,
    /// The request reached the wire (the billing may have acted on it).
    pub sent: bool,
    /// The call was a mutating one.
    pub write: bool,
    /// Human-readable detail: error type, object and message; never secrets.
    pub detail: String,
}

/// The kinds of failure the executor tells apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// Credentials refused, login locked out, captcha, or two-factor confirmation pending. Fatal.
    Auth {
        /// The error object (`badpassword`, `blocklogon`, …) or type (`extraconfirm`, …).
        object: String,
    },
    /// The session answered `access` again after one transparent re-login.
    SessionExpired,
    /// The object already exists (a domain taken).
    Exists {
        /// What exists (`domain`, `name`, …).
        object: String,
        /// The value refused, when the billing names it.
        value: Option<String>,
    },
    /// A parameter has an invalid value.
    InvalidValue {
        /// The field named by the billing.
        object: String,
    },
    /// Not enough money on the account (`not_enough_money`, or `value`/`balance`). Fatal.
    InsufficientFunds {
        /// What the call needed (`amount`, else the refused `value`), with its currency.
        required: Option<String>,
        /// What the account has (`available`, else `have`), with its currency.
        available: Option<String>,
    },
    /// The object does not exist (an unknown `elid`).
    Missing {
        /// What is missing.
        object: String,
    },
    /// The billing is busy with this object or session; try later.
    Busy,
    /// HTTP 429, or 503 with a `Retry-After` (a bare 503 is [`ErrorKind::Server`]).
    Throttled {
        /// How long the billing asked to wait.
        retry_after: Option<Duration>,
    },
    /// A network failure; see [`ApiError::sent`].
    Transport,
    /// No answer in time after the request was sent.
    Timeout,
    /// A 5xx, proxy or WAF status.
    Server {
        /// The HTTP status.
        status: u16,
    },
    /// A body that is not an API answer (junk, truncated, HTML where JSON was asked).
    Protocol,
    /// The billing URL answered with a redirect, which is never followed. Fatal.
    Redirect {
        /// The HTTP status (301, 302, 307, 308, …).
        status: u16,
        /// Where it pointed, without its query.
        location: String,
    },
    /// A firewall, proxy or the billing refused the request itself (HTTP 401, 403, 407, 460),
    /// or the login was answered by a page that is not an API answer. Fatal: asking again only
    /// prolongs a block.
    Blocked {
        /// The HTTP status (200 for a login answered by an HTML page).
        status: u16,
    },
    /// Any other billing error type (e.g. `pricelist_min_order`).
    Refused {
        /// The error type.
        kind: String,
        /// The error object.
        object: String,
    },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auth { object } => write!(f, "authentication refused ({object})"),
            Self::SessionExpired => f.write_str("session expired"),
            Self::Exists { object, value } => match value {
                Some(v) => write!(f, "{object} '{v}' already exists"),
                None => write!(f, "{object} already exists"),
            },
            Self::InvalidValue { object } => write!(f, "invalid value of '{object}'"),
            Self::InsufficientFunds {
                required,
                available,
            } => {
                f.write_str("insufficient funds")?;
                match (required, available) {
                    (Some(r), Some(a)) => write!(f, " (required {r}, available {a})"),
                    (Some(r), None) => write!(f, " (required {r})"),
                    (None, Some(a)) => write!(f, " (available {a})"),
                    (None, None) => Ok(()),
                }
            }
            Self::Missing { object } => write!(f, "{object} does not exist"),
            Self::Busy => f.write_str("billing busy"),
            Self::Throttled { retry_after } => match retry_after {
                Some(d) => write!(f, "throttled (retry after {}s)", d.as_secs()),
                None => f.write_str("throttled"),
            },
            Self::Transport => f.write_str("network error"),
            Self::Timeout => f.write_str("timed out"),
            Self::Server { status } => write!(f, "HTTP status {status}"),
            Self::Protocol => f.write_str("unexpected answer"),
            Self::Redirect { status, location } => {
                write!(f, "the billing URL redirects (HTTP {status} to {location})")
            }
            Self::Blocked { status } => write!(f, "request refused (HTTP {status})"),
            Self::Refused { kind, object } => write!(f, "refused: {kind} ({object})"),
        }
    }
}

impl ApiError {
    /// A new error.
    pub fn new(kind: ErrorKind, func: &str, sent: bool, write: bool) -> Self {
        Self {
            kind,
            func: func.to_owned(),
            sent,
            write,
            detail: String::new(),
        }
    }

    /// The same error with a detail text.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// Stops the whole run: credentials refused, no money left, a redirect, a firewall.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Auth { .. }
                | ErrorKind::InsufficientFunds { .. }
                | ErrorKind::Redirect { .. }
                | ErrorKind::Blocked { .. }
        )
    }

    /// True when the answer is a proof that the call was not carried out: a billing error
    /// document (or the call never left). Only then may a paid call be sent again unseen.
    fn refused_by_billing(&self) -> bool {
        !matches!(
            self.kind,
            ErrorKind::Transport
                | ErrorKind::Timeout
                | ErrorKind::Server { .. }
                | ErrorKind::Protocol
                | ErrorKind::Throttled { .. }
                | ErrorKind::Redirect { .. }
                | ErrorKind::Blocked { .. }
        )
    }

    /// A mutating call that may or may not have taken effect: reconcile before repeating it.
    /// Anything after sending but a billing error document counts: a 5xx or 429 (with or
    /// without `Retry-After`), a gateway page, an empty or truncated body, a dropped connection.
    pub fn outcome_unknown(&self) -> bool {
        self.write && self.sent && !self.is_fatal() && !self.refused_by_billing()
    }

    /// Safe to simply send again: it never left, the billing said it is busy, or a read failed
    /// in transit or was throttled.
    pub fn retryable(&self) -> bool {
        if self.is_fatal() {
            return false;
        }
        match self.kind {
            ErrorKind::Busy | ErrorKind::SessionExpired => true,
            ErrorKind::Throttled { .. }
            | ErrorKind::Transport
            | ErrorKind::Timeout
            | ErrorKind::Server { .. }
            | ErrorKind::Protocol => !self.sent || !self.write,
            _ => !self.sent,
        }
    }

    /// How long the billing asked to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind {
            ErrorKind::Throttled { retry_after } => retry_after,
            _ => None,
        }
    }
}

impl super::doc::Doc {
    /// The kind of the answer's `error` element, classified by type and object only; `None`
    /// when the answer is not an error. (`access` comes out as `Refused`: the client turns it
    /// into a re-login, then [`ErrorKind::SessionExpired`].)
    pub fn error_kind(&self) -> Option<ErrorKind> {
        self.error().map(|e| BillingError::from_node(e).classify())
    }
}

/// An `error` element as read from an answer, before it becomes an [`ErrorKind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BillingError {
    /// `type` (or the legacy `code` mapped to a name).
    pub kind: String,
    /// `object` (or the `object` param, or the legacy `obj`).
    pub object: String,
    /// The `value` param (or the legacy `val`).
    pub value: Option<String>,
    /// The legacy numeric code, when present.
    pub code: Option<u32>,
    /// The localized message, for people only.
    pub msg: Option<String>,
    /// Every `param` element as (name, text).
    pub params: Vec<(String, String)>,
}

impl BillingError {
    /// Reads an `error` element in either the COREmanager 5 or the legacy form.
    pub fn from_node(error: &Node) -> Self {
        let params: Vec<(String, String)> = error
            .children("param")
            .filter_map(|p| Some((p.attr("name")?.to_owned(), p.text()?.to_owned())))
            .collect();
        let param = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let code = error.attr("code").and_then(|c| c.trim().parse().ok());
        let kind = error
            .attr("type")
            .map(str::to_owned)
            .or_else(|| code.map(legacy_type).map(str::to_owned))
            .unwrap_or_default();
        let object = error
            .attr("object")
            .or_else(|| error.attr("obj"))
            .map(str::to_owned)
            .or_else(|| param("object"))
            .unwrap_or_default();
        let value = param("value").or_else(|| error.attr("val").map(str::to_owned));
        let msg = error
            .value("msg")
            .or_else(|| error.value("detail"))
            .or_else(|| error.text())
            .map(str::to_owned);
        Self {
            kind,
            object,
            value,
            code,
            msg,
            params,
        }
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Required and available amounts of a funds refusal, with the currency when named.
    fn funds(&self) -> ErrorKind {
        let currency = self.param("currency");
        let amount = |v: &str| match currency {
            Some(c) if !v.contains(c) => format!("{v} {c}"),
            _ => v.to_owned(),
        };
        let required = self
            .param("amount")
            .or_else(|| self.param("value"))
            .map(amount);
        let available = self
            .param("available")
            .or_else(|| self.param("have"))
            .map(amount);
        ErrorKind::InsufficientFunds {
            required,
            available,
        }
    }

    /// The busy answer by its message, whatever its type: "Request in process, please wait"
    /// (English and Russian forms, as a production front end matches them).
    pub fn is_busy_message(&self) -> bool {
        let Some(msg) = &self.msg else {
            return false;
        };
        let msg = msg.to_lowercase();
        BUSY_MESSAGES.iter().any(|m| msg.contains(m))
    }

    /// True for an expired session or missing rights (`access`, legacy code 6), but not when
    /// the object names refused credentials (legacy code 6 with `obj="badpassword"`).
    pub fn is_access(&self) -> bool {
        self.kind == "access"
            && !AUTH_OBJECTS.contains(&self.object.to_ascii_lowercase().as_str())
            && !self.is_busy_message()
    }

    /// The error kind by type and object only.
    pub fn classify(&self) -> ErrorKind {
        let kind = self.kind.to_ascii_lowercase();
        let object = self.object.to_ascii_lowercase();
        if is_auth(&kind, &object) {
            let named = (kind == "auth" && !object.is_empty()) || AUTH_OBJECTS.contains(&&*object);
            let object = if named { object } else { kind };
            return ErrorKind::Auth { object };
        }
        if is_funds(&kind, &object) {
            return self.funds();
        }
        if is_busy(&kind) || is_busy(&object) || self.is_busy_message() {
            return ErrorKind::Busy;
        }
        match kind.as_str() {
            "exists" => ErrorKind::Exists {
                object: self.object.clone(),
                value: self.value.clone(),
            },
            "value" => ErrorKind::InvalidValue {
                object: self.object.clone(),
            },
            "missed" | "notfound" | "not_found" => ErrorKind::Missing {
                object: self.object.clone(),
            },
            _ => ErrorKind::Refused {
                kind: self.kind.clone(),
                object: self.object.clone(),
            },
        }
    }

    /// `type=… object=…: message` for people.
    pub fn describe(&self) -> String {
        let mut out = format!("type={} object={}", self.kind, self.object);
        if let Some(code) = self.code {
            out.push_str(&format!(" code={code}"));
        }
        if let Some(v) = &self.value {
            out.push_str(&format!(" value={v}"));
        }
        if let Some(m) = &self.msg {
            out.push_str(": ");
            out.push_str(m);
        }
        out
    }
}

/// The type name of a legacy (BILLmanager 4) numeric error code.
fn legacy_type(code: u32) -> &'static str {
    match code {
        2 => "exists",
        3 => "missed",
        4 => "value",
        5 => "limit",
        6 => "access",
        7 => "license",
        8 => "message",
        _ => "internal",
    }
}

const AUTH_OBJECTS: &[&str] = &[
    "badpassword",
    "blocklogon",
    "blocked_ip",
    "badip",
    "blockgeoip",
];
/// Busy answers by message, lower case (the last resort: their `type` is not documented).
const BUSY_MESSAGES: &[&str] = &[
    "request in process, please wait",
    "ваш запрос обрабатывается",
];
const FUNDS_OBJECTS: &[&str] = &["balance", "sum", "amount", "money", "funds", "account"];

fn is_auth(kind: &str, object: &str) -> bool {
    kind == "auth"
        || kind == "extraconfirm"
        || kind.contains("captcha")
        || AUTH_OBJECTS.contains(&object)
}

fn is_funds(kind: &str, object: &str) -> bool {
    (kind == "value" && FUNDS_OBJECTS.contains(&object))
        || ["money", "balance", "funds"]
            .iter()
            .any(|w| kind.contains(w))
}

fn is_busy(name: &str) -> bool {
    matches!(
        name,
        "runningoperation" | "request_in_process" | "inprocess" | "busy" | "locked"
    )
}

#[cfg(test)]
mod tests;
