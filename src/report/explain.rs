//! Failed billing calls explained for a person: which URL, what went wrong in words and
//! what to check; the raw error chain only at `-v`.

use crate::api::{ApiError, ErrorKind};
use crate::config::ENV_PASSWORD;

/// A failed billing call as a person can act on it: which URL, what went wrong in words,
/// and what to check. The raw error chain only when `verbose`.
/// `connected` is the billing URL and user of the connection, when one was made.
pub fn api_error(error: &ApiError, connected: Option<(String, String)>, verbose: bool) -> String {
    let (url, user) =
        connected.unwrap_or_else(|| ("the billing URL".to_owned(), "the user".to_owned()));
    let where_ = "billing.url in the manifest, BILLFLEET_URL or --url";
    let detail = error.detail.to_ascii_lowercase();
    let (what, hint) = match &error.kind {
        ErrorKind::Transport if detail.contains("dns") || detail.contains("lookup") => (
            "cannot find the billing: its host name does not resolve".to_owned(),
            format!("check the host name in {where_}"),
        ),
        ErrorKind::Transport if detail.contains("certificate") || detail.contains("tls") => (
            "the TLS connection to the billing failed: its certificate is not trusted".to_owned(),
            format!(
                "check {where_}; for a self-signed test install only, --insecure skips the check"
            ),
        ),
        ErrorKind::Transport if detail.contains("refused") => (
            "cannot connect to the billing: connection refused".to_owned(),
            format!("is the billing running there? check {where_}"),
        ),
        ErrorKind::Transport => (
            "cannot reach the billing: the connection failed".to_owned(),
            format!("check the network and {where_}"),
        ),
        ErrorKind::Timeout => (
            format!("the billing did not answer in time ({})", error.func),
            format!("check the network and {where_}; execution.timeout sets the wait"),
        ),
        ErrorKind::Auth { object } => (
            format!(
                "authentication refused: the billing refused the login of user `{user}` ({object})"
            ),
            if matches!(object.as_str(), "badpassword" | "auth" | "") {
                format!(
                    "check the user (BILLFLEET_USER, --user or the profile's user) and the \
                     password ({ENV_PASSWORD}, or the profile's password_env / password_command)"
                )
            } else {
                // The client's own hint for this refusal (captcha, region, two-factor, a web
                // page, …) follows the billing's words after " — ".
                let detail = error.detail.as_str();
                detail.rsplit(" — ").next().unwrap_or(detail).to_owned()
            },
        ),
        _ if error.is_fatal() => return format!("the billing at {url} refused: {error}"),
        _ => return format!("the billing call to {url} failed: {error}"),
    };
    let mut text = format!("{what}\n  --> {url}\n");
    text.push_str(&super::wrap(&hint, 80, "  = hint: ", "          "));
    if verbose && !error.detail.is_empty() {
        text.push_str(&format!("\n  = cause: {}: {}", error.func, error.detail));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_errors_say_what_to_check_without_the_raw_chain() {
        let refused = ApiError::new(ErrorKind::Transport, "auth", false, false).with_detail(
            "error sending request: client error (Connect): tcp connect error: Connection \
             refused (os error 111)",
        );
        let text = api_error(&refused, None, false);
        assert!(text.contains("connection refused"), "{text}");
        assert!(text.contains("BILLFLEET_URL"), "{text}");
        assert!(!text.contains("os error"), "{text}");
        assert!(api_error(&refused, None, true).contains("os error 111"));
        let dns = ApiError::new(ErrorKind::Transport, "auth", false, false)
            .with_detail("client error (Connect): dns error: failed to lookup address");
        assert!(api_error(&dns, None, false).contains("does not resolve"));
        let tls = ApiError::new(ErrorKind::Transport, "auth", false, false)
            .with_detail("client error (Connect): invalid peer certificate: UnknownIssuer");
        assert!(api_error(&tls, None, false).contains("--insecure"));
        let slow = ApiError::new(ErrorKind::Timeout, "vds", true, false);
        assert!(api_error(&slow, None, false).contains("did not answer in time"));
        let auth = ApiError::new(
            ErrorKind::Auth {
                object: "badpassword".into(),
            },
            "auth",
            true,
            false,
        );
        let text = api_error(&auth, None, false);
        assert!(text.contains("refused the login of user"), "{text}");
    }
}
