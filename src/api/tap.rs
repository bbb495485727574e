//! An optional observer of every exchange with the billing, for `billfleet doctor --capture`:
//! the function, the call's parameters and the answer, with secrets taken out before the
//! observer sees them. Credentials never reach it: they travel apart from the call's
//! parameters (see `BillingClient::body`), a session id in an answer is replaced by `***`, and
//! parameters named like secrets are masked.

use std::sync::Arc;

use super::doc::Doc;
use crate::secret::Secret;

/// One request and its answer, secrets removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CapturedExchange {
    /// The function called.
    pub func: String,
    /// The call's parameters (never the credentials), secret-looking values as `***`.
    pub params: Vec<(String, String)>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The answer body, a session id in it replaced by `***`.
    pub body: String,
}

/// The observer: called once per answer received.
pub type Tap = Arc<dyn Fn(&CapturedExchange) + Send + Sync>;

/// Builds the exchange the observer sees. `sid` is the session the call carried; for the
/// login call the new session id is read from the answer and removed too.
pub(crate) fn exchange(
    func: &str,
    params: &[(&str, &str)],
    status: u16,
    bytes: &[u8],
    sid: Option<&Secret>,
) -> CapturedExchange {
    let mut body = String::from_utf8_lossy(bytes).into_owned();
    let mut secrets: Vec<String> = sid.map(|s| s.expose().to_owned()).into_iter().collect();
    if func == "auth"
        && let Ok(doc) = Doc::decode(bytes)
    {
        let auth = doc.child("auth");
        let ids = [
            auth.and_then(|a| a.attr("id")),
            auth.and_then(|a| a.text()),
            doc.child("session").and_then(|s| s.attr("id")),
        ];
        secrets.extend(ids.into_iter().flatten().map(str::to_owned));
    }
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        body = body.replace(secret.as_str(), "***");
    }
    let params = params
        .iter()
        .map(|(k, v)| {
            let masked =
                super::wire::REDACTED.contains(k) || k.to_ascii_lowercase().contains("password");
            let v = if masked { "***" } else { v };
            ((*k).to_owned(), v.to_owned())
        })
        .collect();
    CapturedExchange {
        func: func.to_owned(),
        params,
        status,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_and_secret_params_are_removed() {
        let login = exchange(
            "auth",
            &[],
            200,
            br#"{"doc":{"auth":{"$id":"s3cr3tsid","$":"s3cr3tsid"}}}"#,
            None,
        );
        assert!(!login.body.contains("s3cr3tsid"), "{}", login.body);
        let call = exchange(
            "vds",
            &[("elid", "5"), ("key", "k"), ("userpassword", "p")],
            200,
            b"<doc><x>abcd1234</x></doc>",
            Some(&Secret::new("abcd1234")),
        );
        assert_eq!(call.body, "<doc><x>***</x></doc>");
        assert_eq!(call.params[0], ("elid".into(), "5".into()));
        assert_eq!(call.params[1].1, "***");
        assert_eq!(call.params[2].1, "***");
    }
}
