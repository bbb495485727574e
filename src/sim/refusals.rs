//! Refusals a hostile install makes, as fault flags: logins refused by captcha, geo or IP
//! blocks, two-factor confirmation pending; paid orders refused with an error type; busy
//! answers; error messages that echo the request's secrets back.

use super::Core;
use super::doc::{ApiError, Node};
use super::http::Params;

/// The login refusal configured, as the billing would answer `func=auth`; `None` lets the
/// login through (`totp` too: its refusal comes on the calls after the login).
pub(crate) fn login(core: &Core) -> Option<ApiError> {
    let how = core.faults.login_refusal.as_deref()?;
    match how {
        "captcha" | "captcha_verification_failed" => Some(ApiError::new(
            "captcha_verification_failed",
            "",
            "Error passing captcha, please try again",
        )),
        "blockgeoip" => Some(ApiError::new(
            "auth",
            "blockgeoip",
            "Login from a new region is blocked; follow the link sent by e-mail to unlock it",
        )),
        "blocked_ip" => Some(ApiError::new(
            "auth",
            "blocked_ip",
            "The limit for the number of unsuccessful login attempts has been exceeded",
        )),
        "blocklogon" => Some(ApiError::new(
            "auth",
            "blocklogon",
            "Your account has been blocked for 20 seconds",
        )),
        _ => None,
    }
}

/// With `login_refusal = totp`, every call after the login answers this until confirmed.
pub(crate) fn totp_pending(core: &Core) -> Option<Node> {
    (core.faults.login_refusal.as_deref() == Some("totp"))
        .then(|| Node::doc().child(Node::text("ok", "func=totp.confirm")))
}

/// A paid order refused with the configured error type.
pub(crate) fn order(core: &Core) -> Option<ApiError> {
    let kind = core.faults.refuse_orders.as_deref()?;
    let msg = match kind {
        "access" => "Insufficient privileges to perform the operation",
        _ => "The operation was refused",
    };
    Some(ApiError::new(kind, "", msg))
}

/// A service list refused with the configured error type.
pub(crate) fn list(core: &Core) -> Option<ApiError> {
    let kind = core.faults.refuse_lists.as_deref()?;
    let msg = match kind {
        "access" => "Insufficient privileges to perform the operation",
        _ => "The list cannot be shown now",
    };
    Some(ApiError::new(kind, "", msg))
}

/// "Request in process, please wait": the type is not documented; the simulator uses the
/// legacy generic type `msg`.
pub(crate) fn busy() -> ApiError {
    ApiError::new("msg", "", "Request in process, please wait")
}

/// The error's message with the request's secrets appended, raw and URL-encoded.
pub(crate) fn echo(error: &mut ApiError, params: &Params) {
    let mut echoed = Vec::new();
    for key in ["password", "authinfo", "auth", "key"] {
        if let Some(value) = params.non_empty(key) {
            let encoded: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
            echoed.push(format!("{key}={value} ({encoded})"));
        }
    }
    if !echoed.is_empty() {
        error.msg = format!("{} [request: {}]", error.msg, echoed.join(", "));
    }
}
