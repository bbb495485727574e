//! `billfleet sandbox --replay FILE`: serves the answers of a capture written by
//! `billfleet doctor --capture`, so that a real install's conversation becomes a regression
//! test. A request is matched by its `func` and the parameters that select an object
//! (`elid`, `pricelist`, `price`, `p_num`, `plid`). Among the answers recorded for one such
//! key, one whose call had exactly the request's parameters is served; else they are served
//! in their recorded order, the last one again once they run out (a form and its price
//! preview share a key but differ in their addons). Credentials are not checked (the capture
//! holds none). The capture is read with this module's own types,
//! not the client's.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde::Deserialize;

use super::SimError;
use super::doc::ApiError;
use super::http::Params;

/// The parameters that select an object, beside `func`.
const SELECTORS: &[&str] = &["elid", "pricelist", "price", "p_num", "plid"];

/// One recorded exchange, as a capture line holds it.
#[derive(Debug, Clone, Deserialize)]
struct Recorded {
    func: String,
    #[serde(default)]
    params: Vec<(String, String)>,
    #[serde(default = "ok_status")]
    status: u16,
    body: String,
}

fn ok_status() -> u16 {
    200
}

/// A loaded capture and how far each key has been served.
pub struct Replay {
    answers: HashMap<String, Vec<Recorded>>,
    served: Mutex<HashMap<String, usize>>,
}

fn key(func: &str, get: &dyn Fn(&str) -> Option<String>) -> String {
    let mut key = func.to_owned();
    for name in SELECTORS {
        if let Some(v) = get(name).filter(|v| !v.is_empty()) {
            key.push_str(&format!("&{name}={v}"));
        }
    }
    key
}

impl Replay {
    /// Reads a capture: one JSON object per line (`func`, `params`, `status`, `body`).
    pub fn load(path: &Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut answers: HashMap<String, Vec<Recorded>> = HashMap::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let recorded: Recorded =
                serde_json::from_str(line).map_err(|source| SimError::Parse {
                    path: path.to_owned(),
                    source,
                })?;
            let get = |name: &str| {
                recorded
                    .params
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            let k = key(&recorded.func, &get);
            answers.entry(k).or_default().push(recorded);
        }
        Ok(Self {
            answers,
            served: Mutex::new(HashMap::new()),
        })
    }

    /// How many exchanges the capture holds.
    pub fn len(&self) -> usize {
        self.answers.values().map(Vec::len).sum()
    }

    /// True when the capture holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The recorded answer for a request: the one with exactly its parameters, else the next.
    fn answer(&self, params: &Params) -> Option<Recorded> {
        let func = params.get("func").unwrap_or("");
        let k = key(func, &|name| params.get(name).map(str::to_owned));
        let list = self.answers.get(&k)?;
        let asked = call_params(params.pairs());
        if let Some(exact) = list.iter().find(|r| call_params(&r.params) == asked) {
            return Some(exact.clone());
        }
        let mut served = self.served.lock().unwrap_or_else(|p| p.into_inner());
        let n = served.entry(k).or_insert(0);
        let pick = list.get(*n).or_else(|| list.last()).cloned();
        *n += 1;
        pick
    }
}

/// Parameters not part of a call as a capture records it: transport, credentials, headers.
const NOT_RECORDED: &[&str] = &[
    "func", "out", "lang", "auth", "authinfo", "username", "password",
];

/// A call's own parameters, sorted, as a capture records them.
fn call_params(pairs: &[(String, String)]) -> Vec<(String, String)> {
    let mut own: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !NOT_RECORDED.contains(&k.as_str()) && !k.starts_with("header:"))
        .cloned()
        .collect();
    own.sort();
    own
}

/// The axum router serving a capture on `/`, `/billmgr` and `/manager/billmgr`.
pub fn router(replay: Replay) -> Router {
    Router::new()
        .route("/", any(handle))
        .route("/billmgr", any(handle))
        .route("/manager/billmgr", any(handle))
        .with_state(Arc::new(replay))
}

async fn handle(State(replay): State<Arc<Replay>>, uri: Uri, body: Bytes) -> Response {
    let params = Params::parse(uri.query(), &body);
    let Some(recorded) = replay.answer(&params) else {
        let func = params.get("func").unwrap_or("");
        let e = ApiError::new(
            "missed",
            "func",
            format!("'{func}' with these ids is not in the replayed capture"),
        );
        let doc = e.to_doc();
        let xml = matches!(params.get("out"), Some("xml" | "devel"));
        let (text, ct) = if xml {
            (doc.to_xml(), "text/xml; charset=UTF-8")
        } else {
            (doc.to_json(false), "application/json")
        };
        return ([(header::CONTENT_TYPE, HeaderValue::from_static(ct))], text).into_response();
    };
    let ct = match recorded.body.trim_start().chars().next() {
        Some('{' | '[') => "application/json",
        _ if recorded.body.contains("<html") || recorded.body.contains("<script") => {
            "text/html; charset=UTF-8"
        }
        _ => "text/xml; charset=UTF-8",
    };
    let status = StatusCode::from_u16(recorded.status).unwrap_or(StatusCode::OK);
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(ct))],
        recorded.body,
    )
        .into_response()
}

/// Serves a capture on a bound listener until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    replay: Replay,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(replay))
        .with_graceful_shutdown(shutdown)
        .await
}
