//! The embedded BILLmanager simulator (axum), with fault injection.
//!
//! One route (`/`, `/billmgr`, `/manager/billmgr`) dispatches on `func` like the real billing:
//! sessions, accounts with balances, a seed catalog, orders of the BILLmanager 4, 5 and 6
//! generations all in one server (whatever dialect is configured), license keys, service lists with paging and sticky filters, prolong, edit, suspend, resume and
//! delete. Faults (latency, 503 before work, dropped connections after work, 429 throttling,
//! session expiry) are drawn from a seeded RNG. The answer documents are written by this
//! module's own code, independently of the client's decoder, so that a misreading of the
//! protocol on one side is caught by the other.
//!
//! Choices where the sources are silent (see also the catalog convention):
//! - a busy service (status 5) refuses edit, suspend and resume with error type
//!   `runningoperation` (object `runningoperation`, the service id as value);
//! - a BILLmanager 4 order (`*.order.7`) is always paid at once (`payfrom=neworder`);
//! - `<type>.edit` changes addons without charging;
//! - a domain is unique among live services of one item type (the documented examples order a
//!   vhost and a dedic both as `domain.name`), and everywhere once another customer holds it;
//! - `v2.*.order.param` asks for `licence_agreement=on` only in the web interface's cart
//!   (`theme=dragon`), as the BILLmanager 6 examples show;
//! - a list called with `filter=on` applies the filter fields given with it to that call;
//! - a license (`soft`, `platform`) gets a 32-hex-digit key, shown by `<type>.edit` as
//!   `lickey` once active or suspended (ISPsystem's license module polls for it);
//! - `not_enough_money` states a credit limit and a reserved amount of 0;
//! - an order without `skipbasket=on` waits unpaid in the new cart, the Dragon cart or the old
//!   basket (module `cart`); an addon edit with `skipbasket=on` is charged the price difference.
//!
//! The order forms come in the shapes [`FormShapes`] selects; [`replay`] serves a recorded
//! conversation instead of simulating one.

mod cart;
mod catalog;
pub mod config;
mod doc;
mod form;
mod funcs;
mod http;
mod license;
mod lists;
mod manage;
mod orders;
mod refusals;
pub mod replay;
mod state;
mod types;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;

use catalog::Tariff;
use state::{Service, State};
use types::inspect;
pub use types::{FormShapes, LoggedRequest, NewService, PriceShape, SimService};

/// Which BILLmanager generation the simulator presents first. Every generation's documented
/// calls are answered whatever is chosen (`vds.order.7`, `vds.order.param`,
/// `v2.vds.order.param`, license orders); the dialect only picks defaults, such as which
/// tariffs `<type>.order` and `v2.<type>.order.pricelist` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SimDialect {
    /// BILLmanager 4: lists its period-id tariffs (`*.order.7`, HTML success page, legacy
    /// errors).
    Bm4,
    /// BILLmanager 5: `*.order.param` with `period`.
    Bm5,
    /// BILLmanager 6: `v2.*.order.param` (`order_period`) and the old BILLmanager 5 functions.
    #[default]
    Bm6,
}

/// Fault injection settings.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Seed of the fault dice.
    pub seed: u64,
    /// Added to every answer.
    pub latency: Duration,
    /// Random extra latency, up to this much.
    pub jitter: Duration,
    /// Share of calls answered 503 before doing anything (0..1).
    pub fail_before: f64,
    /// Share of write calls that do the work, then drop the connection (0..1).
    pub drop_after: f64,
    /// More requests than this in the current second are answered 429.
    pub throttle_rps: Option<u32>,
    /// A session expires after this many requests on it.
    pub session_expiry_requests: Option<u64>,
    /// The billing's own page size: list pages hold at most this many rows, whatever
    /// `p_cnt` asks for.
    pub page_cap: Option<usize>,
    /// Lists state no total (`p_elems`).
    pub no_total: bool,
    /// Lists answer the first page whatever `p_num` asks for.
    pub ignore_paging: bool,
    /// List rows carry neither `status` nor `remoteid`: only `item_status` with `$orig`, a
    /// text `expiredate` with the date in `real_expiredate`, auto-renewal as a word.
    pub lean_rows: bool,
    /// A saved list filter (active services only) is set on every item type of the account;
    /// only a filter submission that names its fields empty clears it.
    pub sticky_filter: bool,
    /// Filter submissions are echoed back without being saved (a saved filter stays).
    pub filter_reset_ignored: bool,
    /// Share of write calls that do the work, then answer 503 (0..1), with `retry_after`
    /// when set: a gateway failing after the billing acted.
    pub after_work_503: f64,
    /// The literal `Retry-After` header value sent with every 429 and 503 answer (`None`:
    /// `1` with a 429, none with a 503).
    pub retry_after: Option<String>,
    /// Every request is answered 307 with this `Location` (a moved billing URL).
    pub redirect_to: Option<String>,
    /// Every request is answered 403 with an HTML "IP temporarily blocked" page.
    pub firewall: bool,
    /// Paid orders are refused with a billing error of this type (e.g. `access`).
    pub refuse_orders: Option<String>,
    /// Error messages echo the request's password, `authinfo` and `auth` back (raw and
    /// URL-encoded), as careless installs and plugins do.
    pub echo_secrets: bool,
    /// Share of calls (logins excepted) refused with "Request in process, please wait"
    /// before doing anything (0..1).
    pub busy_share: f64,
    /// `func=auth` is refused this way: `captcha`, `blockgeoip`, `blocked_ip`, `blocklogon`,
    /// or `totp` (the login succeeds, every call then asks for two-factor confirmation).
    pub login_refusal: Option<String>,
    /// Which of the publicly seen shapes the order forms are answered in.
    pub shapes: FormShapes,
    /// Service lists (`func=<type>`) are refused with a billing error of this type (e.g.
    /// `access`, which is fatal; anything else fails the list).
    pub refuse_lists: Option<String>,
    /// `whoami` writes the balance as this text instead of the account's amount (the
    /// localized forms billings print: `1 234,56`, `1,234.56`, `0.005`, or an ambiguous
    /// `1,234`).
    pub balance_text: Option<String>,
    /// The first N calls of this function are answered 503 before anything is done (a
    /// deterministic transient failure of one read, e.g. `vds.filter`).
    pub fail_first: Option<(String, u32)>,
    /// Where `<type>.edit` forms state the service's price (with a preview's submitted
    /// changes): `Missing` answers edit forms with no price at all.
    pub edit_price: PriceShape,
}

/// Simulator settings.
#[derive(Clone)]
pub struct SimConfig {
    /// The account billfleet logs in as.
    pub user: String,
    /// Its password.
    pub password: String,
    /// Its starting balance, in cents.
    pub balance_cents: i64,
    /// Its currency code.
    pub currency: String,
    /// The generation imitated.
    pub dialect: SimDialect,
    /// Fault injection.
    pub faults: Faults,
    /// How long a new paid service stays in processing (5) before it is active (2).
    pub activation: Duration,
    /// Sessions end after this long without a request.
    pub session_idle: Duration,
    /// Where the state is loaded from and saved to; `None` keeps it in memory.
    pub state_file: Option<PathBuf>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            user: "demo".into(),
            password: "demo".into(),
            balance_cents: 1_000_000,
            currency: "EUR".into(),
            dialect: SimDialect::Bm6,
            faults: Faults::default(),
            activation: Duration::from_secs(2),
            session_idle: Duration::from_secs(3600),
            state_file: None,
        }
    }
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("user", &self.user)
            .field("password", &"***")
            .field("balance_cents", &self.balance_cents)
            .field("currency", &self.currency)
            .field("dialect", &self.dialect)
            .field("faults", &self.faults)
            .field("activation", &self.activation)
            .field("session_idle", &self.session_idle)
            .field("state_file", &self.state_file)
            .finish()
    }
}

/// Errors starting the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Reading or writing the state file failed.
    #[error("simulator state file {path}: {source}")]
    Io {
        /// The state file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The state file is not a saved simulator state.
    #[error("simulator state file {path} is not valid: {source}")]
    Parse {
        /// The state file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
}

/// A login session.
#[derive(Debug)]
pub(crate) struct Session {
    account: String,
    last_used: Instant,
    requests: u64,
}

/// Failed logins of one user.
#[derive(Debug, Default)]
pub(crate) struct LoginFails {
    count: u32,
    blocked_until: Option<Instant>,
}

/// Mutable simulator state. Behind a `std::sync::Mutex`: every handler locks it briefly,
/// does its work synchronously and unlocks before any `.await` (latency sleeps, I/O waits).
pub(crate) struct Core {
    state: State,
    sessions: HashMap<String, Session>,
    logins: HashMap<String, LoginFails>,
    faults: Faults,
    rng: StdRng,
    window: Option<(Instant, u32)>,
    log: Vec<LoggedRequest>,
    dirty: bool,
}

struct Inner {
    config: SimConfig,
    catalog: Vec<Tariff>,
    started: Instant,
    core: Mutex<Core>,
}

/// The simulator: cheap to clone, shared by the server and the test that inspects it.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

impl Sim {
    /// A simulator; loads `state_file` when it exists.
    pub fn new(config: SimConfig) -> Result<Sim, SimError> {
        let mut state = match &config.state_file {
            Some(path) if path.exists() => State::load(path)?,
            _ => State::fresh(
                &config.user,
                &config.password,
                config.balance_cents,
                &config.currency,
            ),
        };
        if !state.accounts.contains_key(&config.user) {
            state.add_account(
                &config.user,
                &config.password,
                config.balance_cents,
                &config.currency,
            );
        }
        if config.faults.sticky_filter {
            lists::arm_sticky_filters(&mut state, &config.user);
        }
        let core = Core {
            state,
            sessions: HashMap::new(),
            logins: HashMap::new(),
            rng: StdRng::seed_from_u64(config.faults.seed),
            faults: config.faults.clone(),
            window: None,
            log: Vec::new(),
            dirty: false,
        };
        Ok(Sim {
            inner: Arc::new(Inner {
                config,
                catalog: catalog::seed(),
                started: Instant::now(),
                core: Mutex::new(core),
            }),
        })
    }

    /// The axum router answering on `/`, `/billmgr` and `/manager/billmgr`.
    pub fn router(&self) -> axum::Router {
        http::router(self.clone())
    }

    /// Replaces the fault settings (and reseeds the dice); `sticky_filter` saves its filter.
    pub fn set_faults(&self, faults: Faults) {
        let mut core = self.lock();
        if faults.sticky_filter {
            lists::arm_sticky_filters(&mut core.state, &self.inner.config.user);
        }
        core.rng = StdRng::seed_from_u64(faults.seed);
        core.faults = faults;
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.lock().log.clone()
    }

    /// Every service of every account, by id.
    pub fn services(&self) -> Vec<SimService> {
        let mut core = self.lock();
        core.state.settle(chrono::Utc::now());
        core.state.services.values().map(inspect).collect()
    }

    /// The configured user's balance, in cents.
    pub fn balance_cents(&self) -> i64 {
        let core = self.lock();
        core.state
            .accounts
            .get(&self.inner.config.user)
            .map_or(0, |a| a.balance_cents)
    }

    /// Marks a domain as owned by another customer.
    pub fn take_domain(&self, domain: &str) {
        let mut core = self.lock();
        core.state
            .taken_domains
            .insert(domain.trim().to_ascii_lowercase());
        self.persist(&mut core);
    }

    /// Adds a service made outside billfleet; returns its id.
    pub fn add_service(&self, spec: NewService) -> String {
        let mut core = self.lock();
        let now = chrono::Utc::now();
        let account = spec
            .account
            .unwrap_or_else(|| self.inner.config.user.clone());
        let tariff = self.inner.catalog.iter().find(|t| t.id == spec.pricelist);
        let id = core.state.next_id();
        let ip = matches!(spec.status, 2 | 3).then(|| core.state.next_ip());
        let addons: Vec<(u32, i64)> = spec.addons.iter().map(|(k, v)| (*k, *v)).collect();
        let cost_cents = tariff.map_or(0, |t| t.price_cents(spec.period, &addons, &[]));
        let license = state::is_license(&spec.item_type);
        let service = Service {
            id,
            account,
            item_type: spec.item_type,
            domain: spec.domain.to_ascii_lowercase(),
            remoteid: spec.remoteid,
            status: spec.status,
            ip,
            pricelist: spec.pricelist,
            datacenter: tariff.and_then(|t| t.datacenters.first().copied()),
            period: spec.period,
            autoprolong: None,
            addons: spec.addons,
            enums: BTreeMap::new(),
            ostempl: None,
            recipe: None,
            opened_ms: now.timestamp_millis(),
            activate_ms: (spec.status == 5).then(|| {
                let wait =
                    chrono::Duration::from_std(self.inner.config.activation).unwrap_or_default();
                (now + wait).timestamp_millis()
            }),
            expiredate: manage::add_months(now.date_naive(), spec.period.max(1)),
            cost_cents,
            lickey: license.then(state::new_lickey),
            licname: None,
            cart: None,
        };
        core.state.services.insert(id, service);
        self.persist(&mut core);
        id.to_string()
    }

    /// Adds another customer account.
    pub fn add_account(&self, user: &str, password: &str, balance_cents: i64) {
        let mut core = self.lock();
        let currency = self.inner.config.currency.clone();
        core.state
            .add_account(user, password, balance_cents, &currency);
        self.persist(&mut core);
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        self.inner
            .core
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Saves the state when a state file is configured. The file is small; writing it while
    /// the lock is held keeps saves in the order of the changes.
    fn persist(&self, core: &mut Core) {
        core.dirty = false;
        if let Some(path) = &self.inner.config.state_file
            && let Err(e) = core.state.save(path)
        {
            tracing::warn!("cannot save the simulator state: {e}");
        }
    }
}

/// Serves the simulator on a bound listener until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sim: Sim,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, sim.router())
        .with_graceful_shutdown(shutdown)
        .await
}

/// A simulator running on `127.0.0.1` on a free port.
pub struct SimHandle {
    /// Base URL, `http://127.0.0.1:PORT/billmgr`.
    pub url: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// The simulator, for inspection.
    pub sim: Sim,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl SimHandle {
    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `127.0.0.1:0` and serves a new simulator in a background task.
pub async fn start(config: SimConfig) -> std::io::Result<SimHandle> {
    let sim = Sim::new(config).map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, sim.clone(), async move {
        let _ = rx.await;
    }));
    Ok(SimHandle {
        url: format!("http://{addr}/billmgr"),
        addr,
        sim,
        stop: Some(tx),
        task: Some(task),
    })
}
