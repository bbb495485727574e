//! The HTTP side: one `reqwest` client, the request body, the session shared by all clones,
//! and the mapping of transport failures and answers to [`ApiError`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};

use super::doc::{DecodeError, Doc, Node};
use super::error::{ApiError, BillingError, ErrorKind};
use super::wire::{normalize_url, parse_retry_after, redacted, trace_body};
use crate::manifest::{Dialect, Format, LoginMode};
use crate::pace::Pacer;
use crate::secret::Secret;

/// How to reach and log in to the billing.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `…/billmgr`, `…/manager/billmgr` or a bare host; requests go to exactly this URL.
    pub base_url: String,
    /// API generation.
    pub dialect: Dialect,
    /// Answer format asked for with `out=`.
    pub format: Format,
    /// Session (`func=auth`) or `authinfo` on every call.
    pub login: LoginMode,
    /// Login name.
    pub user: String,
    /// Password.
    pub password: Secret,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Accept any TLS certificate (test installs only).
    pub insecure_tls: bool,
    /// The pacer every request, logins included, waits for.
    pub pacer: Arc<Pacer>,
}

/// Mutating or not: decides whether a failure after sending leaves the outcome unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// Reads only; safe to send again.
    Read,
    /// Changes something (orders, renews, edits, deletes).
    Write,
}

/// The session shared by every clone of a client.
#[derive(Default)]
struct Session {
    sid: Option<Secret>,
    /// Bumped at every login, so a caller holding a stale session id can tell.
    generation: u64,
    /// A refused login, remembered so that no other caller tries again.
    refused: Option<ApiError>,
}

/// The credential one request carries.
enum Credential {
    Session {
        sid: Secret,
        generation: u64,
    },
    Authinfo(Secret),
    /// `func=auth` itself: username and password in the body.
    Login,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) opts: ClientOptions,
    // tokio mutex: held across the login request so concurrent callers wait for one login.
    session: tokio::sync::Mutex<Session>,
    // std mutex: only touched briefly, never across an await.
    pub(crate) filters_cleared: Mutex<HashSet<String>>,
    /// Sees every answer, secrets removed (`doctor --capture`).
    tap: Option<super::tap::Tap>,
}

/// A BILLmanager client. Clones share one connection pool, one session and one pacer.
#[derive(Clone)]
pub struct BillingClient {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for BillingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingClient")
            .field("url", &self.inner.url)
            .field("dialect", &self.inner.opts.dialect)
            .field("login", &self.inner.opts.login)
            .finish_non_exhaustive()
    }
}

impl BillingClient {
    /// Builds the client (rustls, certificate checks on unless `insecure_tls`). Sends nothing.
    pub fn new(opts: ClientOptions) -> Result<Self, ApiError> {
        Self::build(opts, None)
    }

    /// Like [`BillingClient::new`], with an observer of every exchange (secrets removed).
    pub fn with_tap(opts: ClientOptions, tap: super::tap::Tap) -> Result<Self, ApiError> {
        Self::build(opts, Some(tap))
    }

    fn build(opts: ClientOptions, tap: Option<super::tap::Tap>) -> Result<Self, ApiError> {
        let url = normalize_url(&opts.base_url).map_err(|detail| {
            ApiError::new(ErrorKind::Protocol, "", false, false).with_detail(detail)
        })?;
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .danger_accept_invalid_certs(opts.insecure_tls)
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout.min(Duration::from_secs(15)))
            .user_agent(concat!("billfleet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ApiError::new(ErrorKind::Transport, "", false, false)
                    .with_detail(format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                url,
                opts,
                session: tokio::sync::Mutex::new(Session::default()),
                filters_cleared: Mutex::new(HashSet::new()),
                tap,
            }),
        })
    }

    /// The options the client was built with.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.opts
    }

    /// Makes sure a session exists (logging in once if none does). In `authinfo` mode there is
    /// nothing to do: credentials travel with every call.
    pub async fn login(&self) -> Result<(), ApiError> {
        if self.inner.opts.login == LoginMode::Session {
            self.session(None).await?;
        }
        Ok(())
    }

    /// A raw call: sends `func` with `params`, decodes the answer and turns a `doc.error`
    /// into an [`ApiError`]. An `access` answer in session mode logs in again (once, shared
    /// with concurrent callers) and repeats the call once.
    pub async fn call(
        &self,
        func: &str,
        params: &[(&str, &str)],
        kind: CallKind,
    ) -> Result<Doc, ApiError> {
        let write = kind == CallKind::Write;
        let mut stale = None;
        loop {
            let credential = self.credential(stale).await?;
            let doc = self.send(func, params, write, &credential).await?;
            match check_answer(&doc) {
                Answer::Ok => return Ok(doc),
                Answer::Access(detail) => match credential {
                    Credential::Session { generation, .. } if stale.is_none() => {
                        tracing::debug!(func, "session refused; logging in again");
                        stale = Some(generation);
                    }
                    _ => {
                        return Err(ApiError::new(ErrorKind::SessionExpired, func, true, write)
                            .with_detail(detail));
                    }
                },
                Answer::Error(kind, detail) => {
                    let err = ApiError::new(kind, func, true, write).with_detail(detail);
                    if matches!(err.kind, ErrorKind::Auth { .. }) {
                        // Credentials refused on a data call (authinfo mode): no caller sends
                        // them again, so a run cannot walk into a login lockout.
                        self.inner.session.lock().await.refused = Some(err.clone());
                    }
                    return Err(err);
                }
            }
        }
    }

    async fn credential(&self, stale: Option<u64>) -> Result<Credential, ApiError> {
        let opts = &self.inner.opts;
        match opts.login {
            LoginMode::Authinfo => {
                if let Some(err) = &self.inner.session.lock().await.refused {
                    return Err(err.clone());
                }
                Ok(Credential::Authinfo(Secret::new(format!(
                    "{}:{}",
                    opts.user,
                    opts.password.expose()
                ))))
            }
            LoginMode::Session => {
                let (sid, generation) = self.session(stale).await?;
                Ok(Credential::Session { sid, generation })
            }
        }
    }

    /// The current session, logging in when there is none or the caller's one is `stale`.
    /// Single-flight: the lock is held during the login, so concurrent callers wait and reuse it.
    async fn session(&self, stale: Option<u64>) -> Result<(Secret, u64), ApiError> {
        let mut session = self.inner.session.lock().await;
        if let Some(err) = &session.refused {
            return Err(err.clone());
        }
        if let Some(sid) = &session.sid
            && stale != Some(session.generation)
        {
            return Ok((sid.clone(), session.generation));
        }
        match self.authenticate().await {
            Ok(sid) => {
                session.sid = Some(sid.clone());
                session.generation += 1;
                Ok((sid, session.generation))
            }
            Err(err) => {
                session.sid = None;
                if err.is_fatal() {
                    session.refused = Some(err.clone());
                }
                Err(err)
            }
        }
    }

    /// `func=auth`: returns the session id. Every refusal is [`ErrorKind::Auth`].
    async fn authenticate(&self) -> Result<Secret, ApiError> {
        let doc = self.send("auth", &[], false, &Credential::Login).await?;
        let refused = |object: String, detail: String| {
            ApiError::new(ErrorKind::Auth { object }, "auth", true, false).with_detail(detail)
        };
        if let Some(error) = doc.error() {
            let billing = BillingError::from_node(error);
            let detail = billing.describe();
            return match billing.classify() {
                kind @ (ErrorKind::Busy | ErrorKind::Throttled { .. }) => {
                    Err(ApiError::new(kind, "auth", true, false).with_detail(detail))
                }
                ErrorKind::Auth { object } => Err(refused(object, detail)),
                _ if billing.object.is_empty() => Err(refused(billing.kind, detail)),
                _ => Err(refused(billing.object, detail)),
            };
        }
        if doc.attr("func") == Some("logon") {
            return Err(refused("logon".into(), "the login form came back".into()));
        }
        let sid = session_id(&doc).ok_or_else(|| {
            ApiError::new(ErrorKind::Protocol, "auth", true, false)
                .with_detail("no session id in the auth answer")
        })?;
        tracing::debug!("logged in");
        Ok(Secret::new(sid))
    }

    /// One HTTP request: pacer, body, status, decoding. No retries here.
    async fn send(
        &self,
        func: &str,
        params: &[(&str, &str)],
        write: bool,
        credential: &Credential,
    ) -> Result<Doc, ApiError> {
        let inner = &self.inner;
        inner.opts.pacer.wait().await;
        let body = self.body(func, params, credential);
        let fail = |kind: ErrorKind, sent: bool| ApiError::new(kind, func, sent, write);
        tracing::debug!(func, params = %redacted(params), "request");
        let mut request = inner
            .http
            .post(&inner.url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        // The Dragon theme's cart takes orders only from the web interface's client.
        if params.contains(&("theme", "dragon")) {
            request = request.header("ISP-Client", "Web-interface");
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| transport_error(&e, func, write))?;
        let status = response.status();
        tracing::debug!(func, status = status.as_u16(), "response");
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        // 429 always asks to slow down; a 503 only when it says how long to wait. A bare 503
        // is an outage of unknown extent: after sending a write, its outcome is unknown.
        let throttled = status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::SERVICE_UNAVAILABLE && retry_after.is_some());
        if throttled {
            if let Some(pause) = retry_after {
                inner.opts.pacer.cool_down(pause);
            }
            return Err(fail(ErrorKind::Throttled { retry_after }, true)
                .with_detail(format!("HTTP {}", status.as_u16())));
        }
        if status != StatusCode::OK {
            return Err(fail(
                ErrorKind::Server {
                    status: status.as_u16(),
                },
                true,
            ));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| transport_error(&e, func, write))?;
        if let Some(tap) = &inner.tap {
            let sid = match credential {
                Credential::Session { sid, .. } => Some(sid),
                _ => None,
            };
            tap(&super::tap::exchange(
                func,
                params,
                status.as_u16(),
                &bytes,
                sid,
            ));
        }
        if tracing::enabled!(tracing::Level::TRACE) {
            let sid = match credential {
                Credential::Session { sid, .. } => Some(sid),
                _ => None,
            };
            tracing::trace!(func, body = %trace_body(&bytes, sid), "response body");
        }
        let doc = Doc::decode(&bytes).map_err(|e| {
            let detail = match e {
                DecodeError::Html => "an HTML page instead of an API answer (wrong URL?)".into(),
                other => other.to_string(),
            };
            fail(ErrorKind::Protocol, true).with_detail(detail)
        })?;
        if doc.is_truncated() && doc.error().is_none() {
            return Err(fail(ErrorKind::Protocol, true).with_detail("a truncated answer"));
        }
        Ok(doc)
    }

    /// `func`, `out`, `lang`, the credential, then the call's parameters.
    fn body(&self, func: &str, params: &[(&str, &str)], credential: &Credential) -> String {
        let opts = &self.inner.opts;
        let out = match opts.format {
            Format::Json => "json",
            Format::Xml => "xml",
        };
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("func", func)
            .append_pair("out", out)
            .append_pair("lang", "en");
        match credential {
            Credential::Session { sid, .. } => {
                form.append_pair("auth", sid.expose());
            }
            Credential::Authinfo(info) => {
                form.append_pair("authinfo", info.expose());
            }
            Credential::Login => {
                form.append_pair("username", &opts.user)
                    .append_pair("password", opts.password.expose());
            }
        }
        for (k, v) in params {
            form.append_pair(k, v);
        }
        form.finish()
    }
}

/// What an answer means before it becomes a result.
enum Answer {
    Ok,
    Access(String),
    Error(ErrorKind, String),
}

fn check_answer(doc: &Doc) -> Answer {
    if let Some(error) = doc.error() {
        let billing = BillingError::from_node(error);
        if billing.is_access() {
            return Answer::Access(billing.describe());
        }
        return Answer::Error(billing.classify(), billing.describe());
    }
    if doc.find("ok").and_then(Node::text) == Some("func=totp.confirm") {
        return Answer::Error(
            ErrorKind::Auth {
                object: "totp".into(),
            },
            "two-factor confirmation is pending for this account; API calls need an account \
             without it"
                .into(),
        );
    }
    if doc.attr("func") == Some("logon") {
        return Answer::Access("the login form came back".into());
    }
    Answer::Ok
}

/// `doc.auth@id`, else `doc.session@id`, else the text of `doc.auth`.
fn session_id(doc: &Doc) -> Option<String> {
    let auth = doc.child("auth");
    auth.and_then(|a| a.attr("id"))
        .or_else(|| doc.child("session").and_then(|s| s.attr("id")))
        .or_else(|| auth.and_then(Node::text))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn transport_error(e: &reqwest::Error, func: &str, write: bool) -> ApiError {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_forms() {
        let bm5 = Doc::decode(br#"<doc><auth id="a1"/></doc>"#).unwrap();
        let bm6 = Doc::decode(br#"<doc><auth id="b2" level="16">b2</auth></doc>"#).unwrap();
        let text = Doc::decode(br#"{"doc":{"auth":{"$":"c3"}}}"#).unwrap();
        let session = Doc::decode(br#"{"doc":{"session":{"$id":"d4"}}}"#).unwrap();
        let ids: Vec<_> = [bm5, bm6, text, session].iter().map(session_id).collect();
        assert_eq!(
            ids,
            [
                Some("a1".into()),
                Some("b2".into()),
                Some("c3".into()),
                Some("d4".into())
            ]
        );
    }
}
