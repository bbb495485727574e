//! The HTTP side: one `reqwest` client (redirects never followed), the request body, the
//! session shared by all clones (see `api::auth`), the mapping of transport failures and
//! answers to [`ApiError`], bounded answer bodies, and the scrubbing of every text that came
//! from the server before it reaches a log, an error or a report.

use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};

use super::auth::{Credential, Session};
use super::doc::{DecodeError, Doc, Node};
use super::error::{ApiError, BillingError, ErrorKind};
use super::wire::{
    cap_retry_after, location_for_humans, normalize_url, parse_retry_after, read_body, redacted,
    trace_body, transport_error,
};
use crate::pace::Pacer;
use crate::protocol::{Dialect, Format, LoginMode};
use crate::secret::{Scrubber, Secret};

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

/// Settings beyond [`ClientOptions`] that most callers leave at their defaults.
#[derive(Debug, Clone)]
pub struct ClientExtras {
    /// Log in with this key (`func=auth&username=…&key=…`) instead of the password.
    pub login_key: Option<Secret>,
    /// The longest `Retry-After` honoured; a longer one is cut to this.
    pub max_retry_after: Duration,
    /// Told what a long read is doing ("surveying vds: page 2…"), for a spinner.
    pub progress: Option<Progress>,
}

/// A sink for progress words of long reads (the terminal's spinner); never told a secret.
#[derive(Clone)]
pub struct Progress(pub Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl Default for ClientExtras {
    fn default() -> Self {
        Self {
            login_key: None,
            max_retry_after: super::wire::MAX_RETRY_AFTER,
            progress: None,
        }
    }
}

/// Mutating or not: decides whether a failure after sending leaves the outcome unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// Reads only; safe to send again.
    Read,
    /// Changes something (orders, renews, edits, deletes).
    Write,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) opts: ClientOptions,
    pub(crate) extras: ClientExtras,
    // tokio mutex: held across the login request so concurrent callers wait for one login.
    pub(super) session: tokio::sync::Mutex<Session>,
    /// The newest session generation a call has succeeded with (0: none yet).
    pub(super) proven: AtomicU64,
    // std locks: only touched briefly, never across an await.
    pub(crate) filters_cleared: Mutex<HashSet<String>>,
    pub(super) scrubber: RwLock<Scrubber>,
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

/// Retries of a "busy, try later" answer inside one call, before the caller sees it.
const BUSY_RETRIES: u32 = 6;
/// Sessions that expired under one call (each one served other calls) before it gives up
/// for now ([`ErrorKind::SessionExpired`], retried later).
const MAX_RELOGINS: u32 = 3;
/// The first wait after a busy answer; it doubles each time.
const BUSY_WAIT: Duration = Duration::from_millis(200);
/// The `Retry-After` above which the wait is announced.
const ANNOUNCE_WAIT: Duration = Duration::from_secs(10);

impl BillingClient {
    /// Builds the client (rustls, certificate checks on unless `insecure_tls`, redirects
    /// never followed). Sends nothing.
    pub fn new(opts: ClientOptions) -> Result<Self, ApiError> {
        Self::with_extras(opts, ClientExtras::default())
    }

    /// A new client like this one (options, login key, `Retry-After` cap; a session of its
    /// own) with an observer of every exchange (secrets removed).
    pub fn tapped(&self, tap: super::tap::Tap) -> Result<Self, ApiError> {
        Self::build(
            self.inner.opts.clone(),
            self.inner.extras.clone(),
            Some(tap),
        )
    }

    /// Like [`Self::new`], with a login key and/or another `Retry-After` cap.
    pub fn with_extras(opts: ClientOptions, extras: ClientExtras) -> Result<Self, ApiError> {
        Self::build(opts, extras, None)
    }

    fn build(
        opts: ClientOptions,
        extras: ClientExtras,
        tap: Option<super::tap::Tap>,
    ) -> Result<Self, ApiError> {
        let url = normalize_url(&opts.base_url).map_err(|detail| {
            ApiError::new(ErrorKind::Protocol, "", false, false).with_detail(detail)
        })?;
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .danger_accept_invalid_certs(opts.insecure_tls)
            // A redirect would carry the POST body (credentials) to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout.min(Duration::from_secs(15)))
            .user_agent(concat!("billfleet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ApiError::new(ErrorKind::Transport, "", false, false)
                    .with_detail(format!("cannot build the HTTP client: {e}"))
            })?;
        let mut scrubber = Scrubber::new();
        scrubber.add(opts.password.expose());
        scrubber.add(&format!("{}:{}", opts.user, opts.password.expose()));
        if let Some(key) = &extras.login_key {
            scrubber.add(key.expose());
        }
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                url,
                opts,
                extras,
                session: tokio::sync::Mutex::new(Session::default()),
                proven: AtomicU64::new(0),
                filters_cleared: Mutex::new(HashSet::new()),
                scrubber: RwLock::new(scrubber),
                tap,
            }),
        })
    }

    /// Tells the progress sink, if any, what a long read is doing.
    pub(crate) fn progress(&self, words: &str) {
        if let Some(Progress(sink)) = &self.inner.extras.progress {
            sink(words);
        }
    }

    /// The options the client was built with.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.opts
    }

    /// A raw call: sends `func` with `params`, decodes the answer and turns a `doc.error`
    /// into an [`ApiError`] (its detail scrubbed of every known secret). A busy answer is
    /// sent again after a short pause (it is a refusal: nothing was done). An `access` answer
    /// in session mode logs in again (single-flight, shared with concurrent callers) and
    /// repeats the call; refused again right after a fresh login, the run must stop (a fatal
    /// error). In `authinfo` mode an `access` answer is fatal at once.
    pub async fn call(
        &self,
        func: &str,
        params: &[(&str, &str)],
        kind: CallKind,
    ) -> Result<Doc, ApiError> {
        let mut busy = 0u32;
        loop {
            match self.call_once(func, params, kind).await {
                Err(e) if e.kind == ErrorKind::Busy && busy < BUSY_RETRIES => {
                    let wait = BUSY_WAIT.saturating_mul(1 << busy);
                    busy += 1;
                    tracing::debug!(func, "the billing is busy; asking again in {wait:?}");
                    self.inner.opts.pacer.cool_down(wait);
                }
                result => return result.map_err(|e| self.scrub_error(e)),
            }
        }
    }

    /// One call, logging in again after a session expired (at most [`MAX_RELOGINS`] times).
    async fn call_once(
        &self,
        func: &str,
        params: &[(&str, &str)],
        kind: CallKind,
    ) -> Result<Doc, ApiError> {
        let write = kind == CallKind::Write;
        let mut stale = None;
        let mut logins = 0u32;
        loop {
            let credential = self.credential(stale).await?;
            let doc = match self.send(func, params, write, &credential).await {
                Ok(doc) => doc,
                Err(e) => return Err(self.remember(e).await),
            };
            let detail = match check_answer(&doc) {
                Answer::Ok => {
                    self.proven(&credential);
                    return Ok(doc);
                }
                Answer::Error(kind, detail) => {
                    let err = ApiError::new(kind, func, true, write).with_detail(detail);
                    return Err(self.remember(err).await);
                }
                Answer::Access(detail) => detail,
            };
            let Credential::Session { generation, .. } = credential else {
                let err = super::auth::authinfo_refused(func, write, &detail);
                return Err(self.remember(err).await);
            };
            // Refused with a session that never served a call, after this call logged in
            // again: not an expiry. Stop instead of logging in in a loop.
            if stale.is_some() && !self.served_after_settling(generation).await {
                let err = super::auth::refused_after_login(func, write, &detail);
                return Err(self.remember(err).await);
            }
            if logins >= MAX_RELOGINS {
                return Err(
                    ApiError::new(ErrorKind::SessionExpired, func, true, write).with_detail(detail)
                );
            }
            tracing::debug!(func, "session refused; logging in again");
            stale = Some(generation);
            logins += 1;
        }
    }

    /// The error with every known secret removed from its detail.
    pub(super) fn scrub_error(&self, mut e: ApiError) -> ApiError {
        e.detail = self.scrub(&e.detail);
        e
    }

    /// A text from the server with every known secret replaced by `***`.
    pub(super) fn scrub(&self, text: &str) -> String {
        let scrubber = self
            .inner
            .scrubber
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        scrubber.scrub(text)
    }

    /// One HTTP request after the pacer: body, status, decoding. No retries here.
    pub(super) async fn send(
        &self,
        func: &str,
        params: &[(&str, &str)],
        write: bool,
        credential: &Credential,
    ) -> Result<Doc, ApiError> {
        self.inner.opts.pacer.wait().await;
        self.exchange(func, params, write, credential).await
    }

    /// One HTTP request, unpaced.
    pub(super) async fn exchange(
        &self,
        func: &str,
        params: &[(&str, &str)],
        write: bool,
        credential: &Credential,
    ) -> Result<Doc, ApiError> {
        let inner = &self.inner;
        let body = self.body(func, params, credential);
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
        self.check_status(&response, func, write)?;
        let bytes = read_body(response, func, write).await?;
        let decoded = Doc::decode(&bytes);
        if let (Credential::Login | Credential::Key, Ok(doc)) = (credential, &decoded)
            && let Some(sid) = super::auth::session_id(doc)
        {
            // A secret from the moment it is read: before anything is traced.
            self.learn_secret(&sid);
        }
        if let Some(tap) = &inner.tap {
            let sid = match credential {
                Credential::Session { sid, .. } => Some(sid),
                _ => None,
            };
            let mut seen = super::tap::exchange(func, params, status.as_u16(), &bytes, sid);
            seen.body = self.scrub(&seen.body);
            tap(&seen);
        }
        if tracing::enabled!(tracing::Level::TRACE) {
            let text = self.scrub(&trace_body(&bytes));
            tracing::trace!(func, body = %text, "response body");
        }
        let login = matches!(credential, Credential::Login | Credential::Key);
        let doc = decoded.map_err(|e| match e {
            // A WAF, captcha or moved page answering the login: asking again changes nothing.
            DecodeError::Html if login => super::auth::html_login(&inner.url),
            DecodeError::Html => ApiError::new(ErrorKind::Protocol, func, true, write)
                .with_detail("an HTML page instead of an API answer (wrong URL?)"),
            other => {
                ApiError::new(ErrorKind::Protocol, func, true, write).with_detail(other.to_string())
            }
        })?;
        if doc.is_truncated() && doc.error().is_none() {
            return Err(ApiError::new(ErrorKind::Protocol, func, true, write)
                .with_detail("a truncated answer"));
        }
        Ok(doc)
    }

    /// Adds a secret (a session id) to what every text is scrubbed of.
    pub(super) fn learn_secret(&self, secret: &str) {
        let mut scrubber = self
            .inner
            .scrubber
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        scrubber.add(secret);
    }

    /// Any status but 200 is an error: a redirect (never followed), a firewall, throttling
    /// (the pacer cools down for the capped `Retry-After`), or a server failure.
    fn check_status(
        &self,
        response: &reqwest::Response,
        func: &str,
        write: bool,
    ) -> Result<(), ApiError> {
        let status = response.status();
        let fail = |kind: ErrorKind| ApiError::new(kind, func, true, write);
        if status == StatusCode::OK {
            return Ok(());
        }
        if status.is_redirection() {
            return Err(self.redirect_error(response, func, write));
        }
        if matches!(status.as_u16(), 401 | 403 | 407 | 460) {
            return Err(fail(ErrorKind::Blocked {
                status: status.as_u16(),
            })
            .with_detail(format!(
                "{} refused the request (a firewall or proxy answering e.g. \"IP temporarily \
                 blocked\"); nothing more is sent: ask the provider to allow this address, then \
                 rerun",
                self.inner.url
            )));
        }
        let asked = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let retry_after = asked.map(|d| cap_retry_after(d, self.inner.extras.max_retry_after));
        let throttled = status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::SERVICE_UNAVAILABLE && retry_after.is_some());
        if throttled {
            if let (Some(asked), Some(pause)) = (asked, retry_after) {
                if pause > ANNOUNCE_WAIT || asked > pause {
                    tracing::warn!(
                        "{func}: HTTP {}: the billing asks to wait {} s (Retry-After); every \
                         call waits {} s",
                        status.as_u16(),
                        asked.as_secs(),
                        pause.as_secs()
                    );
                }
                self.inner.opts.pacer.cool_down(pause);
            }
            return Err(fail(ErrorKind::Throttled { retry_after })
                .with_detail(format!("HTTP {}", status.as_u16())));
        }
        Err(fail(ErrorKind::Server {
            status: status.as_u16(),
        }))
    }

    /// A 3xx answer: an error naming the status and where it pointed (without its query).
    fn redirect_error(&self, response: &reqwest::Response, func: &str, write: bool) -> ApiError {
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| location_for_humans(&self.inner.url, l))
            .unwrap_or_else(|| "nowhere (no Location header)".into());
        let kind = ErrorKind::Redirect {
            status: response.status().as_u16(),
            location: location.clone(),
        };
        ApiError::new(kind, func, true, write).with_detail(format!(
            "billfleet never follows redirects (the request carries credentials); set the \
             billing URL to the address that answers, e.g. {location}"
        ))
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
            Credential::Key => {
                let key = self.inner.extras.login_key.as_ref();
                form.append_pair("username", &opts.user)
                    .append_pair("key", key.map_or("", Secret::expose));
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
            super::auth::hint("totp").into(),
        );
    }
    if doc.attr("func") == Some("logon") {
        return Answer::Access("the login form came back".into());
    }
    Answer::Ok
}
