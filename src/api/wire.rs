//! Small pieces of the wire handling: the base URL, `Retry-After`, and log redaction.

use std::time::Duration;

use crate::secret::Secret;

/// Parameter names whose values are never logged.
const REDACTED: &[&str] = &["auth", "authinfo", "password", "passwd", "userpassword"];
/// Longest response body logged at trace level.
const TRACE_BODY_MAX: usize = 2048;

/// `Retry-After`: delay seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
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

/// A body for the trace log: at most 2 KB, the session id replaced.
pub(crate) fn trace_body(bytes: &[u8], sid: Option<&Secret>) -> String {
    let end = bytes.len().min(TRACE_BODY_MAX);
    let mut text = String::from_utf8_lossy(&bytes[..end]).into_owned();
    if let Some(sid) = sid.filter(|s| !s.is_empty()) {
        text = text.replace(sid.expose(), "***");
    }
    text = mask_license_keys(&text);
    if bytes.len() > TRACE_BODY_MAX {
        text.push('…');
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
        let body = trace_body(
            b"<doc><auth id=\"s3cr3t\"/></doc>",
            Some(&Secret::new("s3cr3t")),
        );
        assert_eq!(body, "<doc><auth id=\"***\"/></doc>");
        assert!(trace_body(&[b'a'; 5000], None).chars().count() <= TRACE_BODY_MAX + 1);
    }

    #[test]
    fn license_keys_are_masked_in_traced_bodies() {
        let xml = trace_body(b"<doc><lickey>ABCD</lickey><x>1</x></doc>", None);
        assert_eq!(xml, "<doc><lickey>***</lickey><x>1</x></doc>");
        let json = trace_body(br#"{"doc":{"lickey":{"$":"ABCD"},"id":{"$":"5"}}}"#, None);
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
    }
}
