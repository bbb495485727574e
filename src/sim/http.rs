//! The HTTP side: one handler on every route, request parameters, faults, logging and the
//! rendering of answers in the format asked with `out=`.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use rand::Rng;

use super::doc::Node;
use super::funcs::{self, Reply};
use super::{Core, LoggedRequest, Sim};

/// The pseudo-parameter holding the `ISP-Client` request header.
pub(crate) const ISP_CLIENT: &str = "header:ISP-Client";

/// Request parameters, query and form body merged; keys and values trimmed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a query string and an urlencoded body.
    pub fn parse(query: Option<&str>, body: &[u8]) -> Self {
        let mut pairs = Vec::new();
        let mut add = |bytes: &[u8]| {
            for (k, v) in form_urlencoded::parse(bytes) {
                pairs.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        };
        if let Some(q) = query {
            add(q.as_bytes());
        }
        add(body);
        Self(pairs)
    }

    /// The last value of a key, when present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every parameter in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The last non-empty value of a key.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// True when `key=on` (or `ok` / `yes`).
    pub fn is_on(&self, key: &str) -> bool {
        matches!(self.get(key), Some("on" | "ok" | "yes"))
    }

    /// Every `<prefix><id>` parameter as (id, value), last value winning.
    pub fn prefixed(&self, prefix: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in &self.0 {
            if let Some(id) = k.strip_prefix(prefix) {
                out.retain(|(i, _)| i != id);
                out.push((id.to_owned(), v.clone()));
            }
        }
        out
    }

    /// Records the request headers the billing acts on as pseudo-parameters named
    /// `header:<Name>` (no form field has a `:` in its name): `ISP-Client`, which sends a
    /// BILLmanager 6 order to the web interface's Dragon cart.
    pub fn note_headers(&mut self, headers: &HeaderMap) {
        if let Some(v) = headers.get("ISP-Client").and_then(|v| v.to_str().ok()) {
            self.0.push((ISP_CLIENT.to_owned(), v.trim().to_owned()));
        }
    }

    /// The parameters with secrets replaced by `***`.
    fn masked(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|(k, v)| {
                let v = match k.as_str() {
                    "password" | "passwd" | "confirm" | "userpassword" | "auth" | "key" => {
                        "***".to_owned()
                    }
                    "authinfo" => match v.split_once(':') {
                        Some((user, _)) => format!("{user}:***"),
                        None => "***".to_owned(),
                    },
                    _ => v.clone(),
                };
                (k.clone(), v)
            })
            .collect()
    }
}

/// The format of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    Json,
    Sjson,
    Xml,
    Html,
}

impl Out {
    fn from_params(params: &Params) -> Self {
        match params.get("out").map(str::to_ascii_lowercase).as_deref() {
            Some("json" | "xjson" | "jsondata") => Self::Json,
            Some("sjson") => Self::Sjson,
            Some("xml" | "devel" | "text") => Self::Xml,
            _ => Self::Html,
        }
    }

    fn render(self, doc: &Node) -> (String, &'static str) {
        match self {
            Self::Json => (doc.to_json(false), "application/json"),
            Self::Sjson => (doc.to_json(true), "application/json"),
            Self::Xml => (doc.to_xml(), "text/xml; charset=UTF-8"),
            Self::Html => (doc.to_html(), "text/html; charset=UTF-8"),
        }
    }
}

pub(crate) fn router(sim: Sim) -> Router {
    Router::new()
        .route("/", any(handle))
        .route("/billmgr", any(handle))
        .route("/manager/billmgr", any(handle))
        .with_state(sim)
}

/// What the fault dice decided before the call is processed.
enum Pre {
    Throttled,
    Unavailable,
    Busy,
    Go,
}

/// The page a provider's firewall shows instead of the billing.
const FIREWALL_PAGE: &str = "<!DOCTYPE html><html><head><title>403 Forbidden</title></head>\
<body><h1>IP temporarily blocked</h1><p>Too many requests from your address.</p></body></html>\n";

async fn handle(
    State(sim): State<Sim>,
    method: Method,
    uri: Uri,
    request_headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut params = Params::parse(uri.query(), &body);
    params.note_headers(&request_headers);
    if let Some(response) = sim.gate(&method, &params) {
        return response;
    }
    let (pre, delay) = sim.roll_before(&params);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (status, outcome) = match pre {
        Pre::Throttled => (StatusCode::TOO_MANY_REQUESTS, "fault:429"),
        Pre::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "fault:503"),
        Pre::Busy => {
            sim.log(&method, &params, 200, "fault:busy".to_owned());
            let (body, ct) = Out::from_params(&params).render(&super::refusals::busy().to_doc());
            return (StatusCode::OK, [(header::CONTENT_TYPE, ct)], body).into_response();
        }
        Pre::Go => (StatusCode::OK, ""),
    };
    if status != StatusCode::OK {
        sim.log(&method, &params, status.as_u16(), outcome.to_owned());
        return sim.unavailable(status);
    }
    let answer = sim.process(&params);
    if answer.unavailable_after {
        sim.log(&method, &params, 503, "fault:503-after-work".to_owned());
        return sim.unavailable(StatusCode::SERVICE_UNAVAILABLE);
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(answer.content_type),
    );
    if answer.dropped {
        sim.log(&method, &params, 200, "fault:dropped".to_owned());
        let body = Body::new(Broken {
            first: Some(Bytes::from(answer.body)),
        });
        return (StatusCode::OK, headers, body).into_response();
    }
    sim.log(&method, &params, 200, answer.outcome);
    (StatusCode::OK, headers, answer.body).into_response()
}

/// Counts a request in the current one-second window (a new window starts with the first
/// request after the last one ended) and says whether it is within `limit`.
fn admit(window: &mut Option<(Instant, u32)>, now: Instant, limit: u32) -> bool {
    let (start, count) = match *window {
        Some((start, count)) if now.duration_since(start) < Duration::from_secs(1) => {
            (start, count.saturating_add(1))
        }
        _ => (now, 1),
    };
    *window = Some((start, count));
    count <= limit
}

/// A processed call, rendered.
struct Answer {
    body: String,
    content_type: &'static str,
    outcome: String,
    dropped: bool,
    /// The work was done, and the answer is a 503.
    unavailable_after: bool,
}

impl Sim {
    /// A moved billing (307 to `redirect_to`) or a blocking firewall (403 HTML) answer every
    /// request before the billing sees it.
    fn gate(&self, method: &Method, params: &Params) -> Option<Response> {
        let (redirect, firewall) = {
            let core = self.lock();
            (core.faults.redirect_to.clone(), core.faults.firewall)
        };
        if let Some(location) = redirect {
            self.log(method, params, 307, "fault:redirect".to_owned());
            let location = HeaderValue::from_str(&location).ok()?;
            let mut response = (StatusCode::TEMPORARY_REDIRECT, "Moved\n").into_response();
            response.headers_mut().insert(header::LOCATION, location);
            return Some(response);
        }
        if firewall {
            self.log(method, params, 403, "fault:firewall".to_owned());
            let html = [(header::CONTENT_TYPE, "text/html; charset=UTF-8")];
            return Some((StatusCode::FORBIDDEN, html, FIREWALL_PAGE).into_response());
        }
        None
    }

    /// A 429 or 503 with the configured `Retry-After` (a 429 says `1` by default).
    fn unavailable(&self, status: StatusCode) -> Response {
        let configured = self.lock().faults.retry_after.clone();
        let mut response = (status, "Service temporarily unavailable\n").into_response();
        let value = match configured {
            Some(v) => HeaderValue::from_str(&v).ok(),
            None if status == StatusCode::TOO_MANY_REQUESTS => Some(HeaderValue::from_static("1")),
            None => None,
        };
        if let Some(value) = value {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }

    /// Throttling, then the 503 dice, then the busy dice, then the latency of this answer.
    fn roll_before(&self, params: &Params) -> (Pre, Duration) {
        let mut core = self.lock();
        let now = Instant::now();
        let faults = core.faults.clone();
        let jitter = if faults.jitter.is_zero() {
            Duration::ZERO
        } else {
            let max = u64::try_from(faults.jitter.as_millis()).unwrap_or(u64::MAX);
            Duration::from_millis(core.rng.random_range(0..=max))
        };
        let delay = faults.latency + jitter;
        if let Some(limit) = faults.throttle_rps
            && !admit(&mut core.window, now, limit)
        {
            return (Pre::Throttled, delay);
        }
        if faults.fail_before > 0.0 && core.rng.random_bool(faults.fail_before.min(1.0)) {
            return (Pre::Unavailable, delay);
        }
        if let Some((func, n)) = &faults.fail_first
            && params.get("func") == Some(func.as_str())
            && core.log.iter().filter(|r| r.func == *func).count() < *n as usize
        {
            return (Pre::Unavailable, delay);
        }
        let login = matches!(params.get("func"), Some("auth" | "logon"));
        if !login && faults.busy_share > 0.0 && core.rng.random_bool(faults.busy_share.min(1.0)) {
            return (Pre::Busy, delay);
        }
        (Pre::Go, delay)
    }

    /// Runs the call against the state and renders the answer.
    fn process(&self, params: &Params) -> Answer {
        let inner = &self.inner;
        let mut core = self.lock();
        let now = chrono::Utc::now();
        core.state.settle(now);
        let out = Out::from_params(params);
        let call = funcs::Call {
            core: &mut core,
            catalog: &inner.catalog,
            config: &inner.config,
            params,
            now,
        };
        let done = funcs::dispatch(call);
        let (body, content_type, outcome) = match done.result {
            Ok(Reply::Doc(doc)) => {
                let (body, ct) = out.render(&doc);
                (body, ct, "ok".to_owned())
            }
            Ok(Reply::Html(page)) => (page, "text/html; charset=UTF-8", "ok".to_owned()),
            Err(mut e) => {
                if core.faults.echo_secrets {
                    super::refusals::echo(&mut e, params);
                }
                let outcome = format!("error:{}", e.kind);
                let (body, ct) = if done.legacy {
                    let legacy_out = if out == Out::Html { Out::Xml } else { out };
                    legacy_out.render(&e.to_legacy_doc())
                } else {
                    out.render(&e.to_doc())
                };
                (body, ct, outcome)
            }
        };
        if core.dirty {
            self.persist(&mut core);
        }
        let drop_share = core.faults.drop_after;
        let dropped = done.write && drop_share > 0.0 && core.rng.random_bool(drop_share.min(1.0));
        let share_503 = core.faults.after_work_503;
        let unavailable_after =
            done.write && share_503 > 0.0 && core.rng.random_bool(share_503.min(1.0));
        Answer {
            body,
            content_type,
            outcome,
            dropped,
            unavailable_after,
        }
    }

    fn log(&self, method: &Method, params: &Params, status: u16, outcome: String) {
        let at_ms = u64::try_from(self.inner.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let entry = LoggedRequest {
            at_ms,
            func: params.get("func").unwrap_or("").to_owned(),
            method: method.as_str().to_owned(),
            params: params.masked(),
            status,
            outcome,
        };
        let mut core: std::sync::MutexGuard<'_, Core> = self.lock();
        core.log.push(entry);
    }
}

/// A body that sends part of the answer, then fails: the client sees a broken response
/// after the work was done.
struct Broken {
    first: Option<Bytes>,
}

impl axum::body::HttpBody for Broken {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        match self.first.take() {
            Some(all) => {
                let half = all.slice(..all.len() / 2);
                Poll::Ready(Some(Ok(http_body::Frame::data(half))))
            }
            None => Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection dropped by fault injection",
            )))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_window_admits_the_limit_per_second_then_starts_a_new_window() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut window = None;
        let seen: Vec<bool> = [0, 10, 20, 999, 1000, 1001, 1002]
            .iter()
            .map(|&at| admit(&mut window, ms(at), 2))
            .collect();
        // 0 and 10 pass, 20 and 999 are over the limit; 1000 opens a new window.
        assert_eq!(seen, [true, true, false, false, true, true, false]);
        let mut window = None;
        assert!(
            !admit(&mut window, t0, 0),
            "a limit of 0 refuses everything"
        );
    }

    #[test]
    fn params_merge_trim_and_mask() {
        let p = Params::parse(
            Some("func=vds&authinfo=u:p%26w& ostempl= Centos-6&addon_26=1&addon_26=10"),
            b"password=x&out=json",
        );
        assert_eq!(p.get("ostempl"), Some("Centos-6"));
        assert_eq!(p.get("out"), Some("json"));
        assert_eq!(
            p.prefixed("addon_"),
            vec![("26".to_owned(), "10".to_owned())]
        );
        let masked = p.masked();
        assert!(masked.contains(&("authinfo".into(), "u:***".into())));
        assert!(masked.contains(&("password".into(), "***".into())));
    }
}
