//! Small pieces of the wire handling: the base URL, `Retry-After`, redirect locations, the
//! body size limit, and log redaction.

use std::time::Duration;

use super::error::{ApiError, ErrorKind};

/// Parameter names whose values are never logged nor captured.
pub(crate) const REDACTED: &[&str] = &[
    "auth",
    "authinfo",
    "password",
    "passwd",
    "userpassword",
    "key",
    "confirm",
];
/// Longest response body logged at trace level.
const TRACE_BODY_MAX: usize = 2048;

/// The longest `Retry-After` honoured by default (a longer one is cut to this).
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// The largest answer body read; a larger one is an error.
pub(crate) const MAX_BODY: usize = 32 * 1024 * 1024;

/// `Retry-After`: delay seconds or an HTTP date. Any value saturates instead of
/// overflowing (digits beyond `u64` are `u64::MAX` seconds); junk is `None`.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when
        .with_timezone(&chrono::Utc)
        .signed_duration_since(chrono::Utc::now());
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// A `Retry-After` cut to `cap`.
pub(crate) fn cap_retry_after(wait: Duration, cap: Duration) -> Duration {
    wait.min(cap)
}

/// A redirect's `Location` for an error message: resolved against the request URL, without
/// user info, query or fragment (they may hold tokens).
pub(crate) fn location_for_humans(base: &str, location: &str) -> String {
    let resolved = url::Url::parse(base).and_then(|b| b.join(location.trim()));
    match resolved {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => {
            let cut = location.find(['?', '#']).unwrap_or(location.len());
            location[..cut].chars().take(200).collect()
        }
    }
}

/// Accepts a URL with or without scheme; refuses credentials in it.
pub(crate) fn normalize_url(base: &str) -> Result<String, String> {
    let base = base.trim();
    let with_scheme = if base.contains("://") {
        base.to_owned()
    } else {
        format!("https://{base}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| format!("invalid billing URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the billing URL must not hold credentials".into());
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("unsupported URL scheme '{}'", url.scheme()));
    }
    Ok(url.to_string())
}

/// `k=v&…` with secret values as `***`.
pub(crate) fn redacted(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| {
            if REDACTED.contains(k) {
                format!("{k}=***")
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A body for the trace log: at most 2 KB (the caller scrubs it of secrets).
pub(crate) fn trace_body(bytes: &[u8]) -> String {
    let end = bytes.len().min(TRACE_BODY_MAX);
    let mut text = String::from_utf8_lossy(&bytes[..end]).into_owned();
    text = mask_license_keys(&text);
    if bytes.len() > TRACE_BODY_MAX {
        text.push('…');
    }
    text
}

/// The body, read in chunks and refused beyond [`MAX_BODY`].
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    func: &str,
    write: bool,
) -> Result<Vec<u8>, ApiError> {
    let too_big = || {
        ApiError::new(ErrorKind::Protocol, func, true, write).with_detail(format!(
            "the answer is larger than {} MiB; not read",
            MAX_BODY / (1024 * 1024)
        ))
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(&e, func, write))?
    {
        if body.len().saturating_add(chunk.len()) > MAX_BODY {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub(crate) fn transport_error(e: &reqwest::Error, func: &str, write: bool) -> ApiError {
    let (kind, sent) = if e.is_connect() {
        (ErrorKind::Transport, false)
    } else if e.is_builder() {
        (ErrorKind::Protocol, false)
    } else if e.is_timeout() {
        (ErrorKind::Timeout, true)
    } else {
        (ErrorKind::Transport, true)
    };
    // reqwest's message holds the URL, never credentials (they travel in the body).
    ApiError::new(kind, func, sent, write).with_detail(error_chain(e))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Replaces the text of every `lickey` element (XML `<lickey>K</lickey>`, JSON
/// `"lickey":{"$":"K"}`) by `***`: license keys never go to the log.
fn mask_license_keys(text: &str) -> String {
    let mut out = text.to_owned();
    for (open, close) in [("<lickey>", "</lickey>"), ("\"lickey\":{\"$\":\"", "\"")] {
        let mut from = 0;
        while let Some(at) = out[from..].find(open) {
            let start = from + at + open.len();
            let Some(len) = out[start..].find(close) else {
                break;
            };
            out.replace_range(start..start + len, "***");
            from = start + 3;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalized_and_checked() {
        assert_eq!(
            normalize_url("billing.example.com/billmgr").unwrap(),
            "https://billing.example.com/billmgr"
        );
        assert_eq!(
            normalize_url("http://127.0.0.1:1500").unwrap(),
            "http://127.0.0.1:1500/"
        );
        assert!(normalize_url("https://u:p@host/billmgr").is_err());
        assert!(normalize_url("ftp://host").is_err());
    }

    #[test]
    fn secrets_are_redacted_in_logs() {
        let line = redacted(&[("elid", "5"), ("password", "pw"), ("authinfo", "u:pw")]);
        assert_eq!(line, "elid=5&password=***&authinfo=***");
        assert!(trace_body(&[b'a'; 5000]).chars().count() <= TRACE_BODY_MAX + 1);
    }

    #[test]
    fn license_keys_are_masked_in_traced_bodies() {
        let xml = trace_body(b"<doc><lickey>ABCD</lickey><x>1</x></doc>");
        assert_eq!(xml, "<doc><lickey>***</lickey><x>1</x></doc>");
        let json = trace_body(br#"{"doc":{"lickey":{"$":"ABCD"},"id":{"$":"5"}}}"#);
        assert_eq!(json, r#"{"doc":{"lickey":{"$":"***"},"id":{"$":"5"}}}"#);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(
            parse_retry_after("18446744073709551615"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse_retry_after("-5"), None);
        assert_eq!(
            cap_retry_after(Duration::from_secs(u64::MAX), MAX_RETRY_AFTER),
            MAX_RETRY_AFTER
        );
    }

    #[test]
    fn redirect_locations_lose_query_and_user_info() {
        let base = "https://billing.example/billmgr";
        assert_eq!(
            location_for_humans(base, "https://u:p@other.example/x?auth=123#f"),
            "https://other.example/x"
        );
        assert_eq!(
            location_for_humans(base, "/manager/billmgr?a=b"),
            "https://billing.example/manager/billmgr"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_retry_after_parses_without_panic(value in ".{0,40}", digits in "[0-9]{1,40}") {
            for v in [value.as_str(), digits.as_str()] {
                if let Some(d) = parse_retry_after(v) {
                    let capped = cap_retry_after(d, MAX_RETRY_AFTER);
                    proptest::prop_assert!(capped <= MAX_RETRY_AFTER);
                }
            }
        }
    }
}
