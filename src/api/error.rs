//! Error kinds of billing calls, and their classification from an answer's `error` element.
//!
//! Classification reads only the error's `type` and `object` attributes (or the legacy
//! BILLmanager 4 `code`/`obj`/`val`), never the localized `msg`, which goes into `detail` for
//! people to read.

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
    /// Not enough money on the account. Fatal.
    InsufficientFunds,
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
            Self::InsufficientFunds => f.write_str("insufficient funds"),
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

    /// Stops the whole run: credentials refused, or no money left.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Auth { .. } | ErrorKind::InsufficientFunds
        )
    }

    /// A mutating call that may or may not have taken effect: reconcile before repeating it.
    pub fn outcome_unknown(&self) -> bool {
        self.write
            && self.sent
            && matches!(
                self.kind,
                ErrorKind::Transport
                    | ErrorKind::Timeout
                    | ErrorKind::Server { .. }
                    | ErrorKind::Protocol
            )
    }

    /// Safe to simply send again: it never left, the billing asked to wait, or a read failed
    /// in transit.
    pub fn retryable(&self) -> bool {
        if self.is_fatal() {
            return false;
        }
        match self.kind {
            ErrorKind::Throttled { .. } | ErrorKind::Busy | ErrorKind::SessionExpired => true,
            ErrorKind::Transport
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
}

impl BillingError {
    /// Reads an `error` element in either the COREmanager 5 or the legacy form.
    pub fn from_node(error: &Node) -> Self {
        let param = |name: &str| {
            error
                .children("param")
                .find(|p| p.attr("name") == Some(name))
                .and_then(Node::text)
                .map(str::to_owned)
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
        }
    }

    /// True for an expired session or missing rights (`access`, legacy code 6), but not when
    /// the object names refused credentials (legacy code 6 with `obj="badpassword"`).
    pub fn is_access(&self) -> bool {
        self.kind == "access" && !AUTH_OBJECTS.contains(&self.object.to_ascii_lowercase().as_str())
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
            return ErrorKind::InsufficientFunds;
        }
        if is_busy(&kind) || is_busy(&object) {
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
mod tests {
    use super::*;
    use crate::api::doc::Doc;

    fn classify(xml: &str) -> ErrorKind {
        let doc = Doc::decode(xml.as_bytes()).unwrap();
        BillingError::from_node(doc.error().unwrap()).classify()
    }

    #[test]
    fn classifies_by_type_and_object() {
        let cases = [
            (
                r#"<doc><error type="auth" object="badpassword"/></doc>"#,
                ErrorKind::Auth {
                    object: "badpassword".into(),
                },
            ),
            (
                r#"<doc><error type="value" object="balance"/></doc>"#,
                ErrorKind::InsufficientFunds,
            ),
            (
                r#"<doc><error type="not_enough_money" object="x"/></doc>"#,
                ErrorKind::InsufficientFunds,
            ),
            (
                r#"<doc><error type="value" object="period"/></doc>"#,
                ErrorKind::InvalidValue {
                    object: "period".into(),
                },
            ),
            (
                r#"<doc><error type="missed" object="elid"/></doc>"#,
                ErrorKind::Missing {
                    object: "elid".into(),
                },
            ),
            (
                r#"<doc><error type="exists" object="runningoperation"/></doc>"#,
                ErrorKind::Busy,
            ),
            (
                r#"<doc><error type="pricelist_min_order" object="12"/></doc>"#,
                ErrorKind::Refused {
                    kind: "pricelist_min_order".into(),
                    object: "12".into(),
                },
            ),
            (
                r#"<doc><error type="captcha_verification_failed"/></doc>"#,
                ErrorKind::Auth {
                    object: "captcha_verification_failed".into(),
                },
            ),
        ];
        for (xml, want) in cases {
            assert_eq!(classify(xml), want, "{xml}");
        }
    }

    #[test]
    fn legacy_access_code_naming_a_bad_password_is_an_auth_refusal() {
        let read = |xml: &str| {
            let doc = Doc::decode(xml.as_bytes()).unwrap();
            BillingError::from_node(doc.error().unwrap())
        };
        let bad = read(r#"<doc><error code="6" obj="badpassword"/></doc>"#);
        assert!(!bad.is_access());
        assert_eq!(
            bad.classify(),
            ErrorKind::Auth {
                object: "badpassword".into()
            }
        );
        assert!(read(r#"<doc><error code="6" obj="auth"/></doc>"#).is_access());
    }

    #[test]
    fn legacy_codes_and_params() {
        assert_eq!(
            classify(r#"<doc><error code="2" obj="domain" val="a.example"/></doc>"#),
            ErrorKind::Exists {
                object: "domain".into(),
                value: Some("a.example".into())
            }
        );
        assert_eq!(
            classify(r#"<doc><error code="3" obj="site"/></doc>"#),
            ErrorKind::Missing {
                object: "site".into()
            }
        );
        assert_eq!(
            classify(
                r#"<doc><error type="exists"><param name="object">domain</param><param name="value">b.example</param></error></doc>"#
            ),
            ErrorKind::Exists {
                object: "domain".into(),
                value: Some("b.example".into())
            }
        );
    }

    #[test]
    fn message_text_never_decides() {
        let kind = classify(
            r#"<doc><error type="custom" object="x"><msg>Request in process, please wait. Insufficient funds</msg></error></doc>"#,
        );
        assert_eq!(
            kind,
            ErrorKind::Refused {
                kind: "custom".into(),
                object: "x".into()
            }
        );
    }

    #[test]
    fn retry_semantics() {
        let write_drop = ApiError::new(ErrorKind::Transport, "vds.order.param", true, true);
        assert!(write_drop.outcome_unknown());
        assert!(!write_drop.retryable());
        let read_drop = ApiError::new(ErrorKind::Transport, "vds", true, false);
        assert!(!read_drop.outcome_unknown());
        assert!(read_drop.retryable());
        let refused = ApiError::new(ErrorKind::Transport, "vds.order.param", false, true);
        assert!(refused.retryable() && !refused.outcome_unknown());
        let throttled = ApiError::new(
            ErrorKind::Throttled {
                retry_after: Some(Duration::from_secs(2)),
            },
            "vds",
            true,
            true,
        );
        assert!(throttled.retryable());
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(2)));
        let auth = ApiError::new(ErrorKind::Auth { object: "x".into() }, "auth", true, false);
        assert!(auth.is_fatal() && !auth.retryable());
        let exists = ApiError::new(
            ErrorKind::Exists {
                object: "domain".into(),
                value: None,
            },
            "vds.order.param",
            true,
            true,
        );
        assert!(!exists.retryable() && !exists.outcome_unknown() && !exists.is_fatal());
    }
}
