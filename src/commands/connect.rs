//! From command-line billing flags (and a manifest) to a logged-in-able client: the real
//! billing, or with `--sandbox` an in-process simulator whose state lives beside the manifest
//! (`.billfleet/sandbox.json`) so that `apply`, `status`, `prolong`, `destroy` rehearse a whole
//! lifecycle in sequence.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::CmdError;
use crate::api::{BillingClient, ClientExtras, ClientOptions};
use crate::cli::BillingArgs;
use crate::config::{Target, resolve_target};
use crate::manifest::{Billing, Dialect, Execution, Format, LoginMode};
use crate::pace::Pacer;
use crate::secret::Secret;
use crate::sim::{SimConfig, SimDialect, SimHandle};

/// User and password of the sandbox's demo account.
pub const SANDBOX_USER: &str = "demo";

/// The lowest call rate accepted (calls per second): below it a run of a few hundred calls
/// would take days.
pub const MIN_RATE: f64 = 0.01;

/// Environment variable: the longest `Retry-After` honoured, in seconds (default 300).
pub const ENV_MAX_RETRY_AFTER: &str = "BILLFLEET_MAX_RETRY_AFTER";

/// A client plus what keeps it working (the pacer, and the in-process simulator if any).
pub struct Connection {
    /// The billing client (cheap to clone).
    pub client: BillingClient,
    /// The pacer every call passes through.
    pub pacer: Arc<Pacer>,
    /// Whether this is the in-process sandbox.
    pub sandbox: Option<SimHandle>,
}

/// Pacing settings after command-line overrides.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Calls per second.
    pub rate: f64,
    /// Burst.
    pub burst: u32,
    /// Per-call timeout.
    pub timeout: Duration,
}

impl Pace {
    /// From the manifest's `execution`, with `--rate` overriding.
    pub fn from_execution(execution: &Execution, rate: Option<f64>) -> Self {
        Self {
            rate: rate.unwrap_or(execution.rate),
            burst: execution
                .burst
                .and_then(|b| u32::try_from(b).ok())
                .unwrap_or(1),
            // Saturating: a timeout that is no duration (negative, NaN, beyond range) is
            // the default one minute; validation reports it to the user.
            timeout: Duration::try_from_secs_f64(execution.timeout)
                .unwrap_or(Duration::from_secs(60)),
        }
    }
}

/// Where the sandbox keeps its state for a manifest (or for the current directory).
pub fn sandbox_state_path(manifest: Option<&Path>) -> PathBuf {
    match manifest {
        Some(m) => crate::executor::state_dir(m).join("sandbox.json"),
        None => PathBuf::from(".billfleet").join("sandbox.json"),
    }
}

/// Connects as the manifest's `billing` section, the flags and the profile say.
pub async fn connect(
    billing: &Billing,
    args: &BillingArgs,
    manifest: Option<&Path>,
    pace: Pace,
) -> Result<Connection, CmdError> {
    check_rate(pace.rate)?;
    let max_retry_after = max_retry_after()?;
    if args.sandbox && (args.url.is_some() || args.profile.is_some()) {
        return Err(CmdError::bad_input(
            "--sandbox cannot be combined with --url or --profile",
        ));
    }
    let (target, sandbox) = if args.sandbox {
        let handle = start_sandbox(billing.dialect, manifest).await?;
        let target = Target {
            url: handle.url.clone(),
            user: SANDBOX_USER.to_owned(),
            password: Secret::new(SANDBOX_USER),
            key: None,
            insecure: false,
        };
        (target, Some(handle))
    } else {
        let env = |k: &str| std::env::var(k).ok();
        (resolve_target(args, billing.url.as_deref(), &env)?, None)
    };
    let pacer = Arc::new(Pacer::new(pace.rate, pace.burst));
    let options = ClientOptions {
        base_url: target.url,
        dialect: billing.dialect,
        format: billing.format,
        login: billing.login,
        user: target.user,
        password: target.password,
        timeout: pace.timeout,
        insecure_tls: target.insecure,
        pacer: Arc::clone(&pacer),
    };
    let extras = ClientExtras {
        login_key: target.key,
        max_retry_after,
    };
    let client = BillingClient::with_extras(options, extras)
        .map_err(|e| CmdError::bad_input(e.to_string()))?;
    Ok(Connection {
        client,
        pacer,
        sandbox,
    })
}

/// Refuses a rate below [`MIN_RATE`] (or not a number) before anything is sent.
pub fn check_rate(rate: f64) -> Result<(), CmdError> {
    if rate.is_finite() && rate >= MIN_RATE {
        Ok(())
    } else {
        Err(CmdError::bad_input(format!(
            "the call rate must be at least {MIN_RATE} per second (got {rate})"
        )))
    }
}

/// The `Retry-After` cap: [`ENV_MAX_RETRY_AFTER`] seconds when set, else 5 minutes.
fn max_retry_after() -> Result<Duration, CmdError> {
    let Some(value) = std::env::var_os(ENV_MAX_RETRY_AFTER) else {
        return Ok(ClientExtras::default().max_retry_after);
    };
    value
        .to_str()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|secs| *secs <= 24 * 3600)
        .map(Duration::from_secs)
        .ok_or_else(|| {
            CmdError::bad_input(format!(
                "{ENV_MAX_RETRY_AFTER} must be a number of seconds up to 86400"
            ))
        })
}

/// Connects without a manifest (catalog, init): JSON, session login, the given dialect.
pub async fn connect_bare(args: &BillingArgs, dialect: Dialect) -> Result<Connection, CmdError> {
    let billing = Billing {
        url: None,
        dialect,
        format: Format::Json,
        login: LoginMode::Session,
        remoteid: true,
    };
    let pace = Pace::from_execution(&Execution::default(), Some(10.0));
    connect(&billing, args, None, pace).await
}

async fn start_sandbox(dialect: Dialect, manifest: Option<&Path>) -> Result<SimHandle, CmdError> {
    let state = sandbox_state_path(manifest);
    if let Some(dir) = state.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| CmdError::bad_input(format!("cannot create {}: {e}", dir.display())))?;
    }
    let config = SimConfig {
        dialect: match dialect {
            Dialect::Bm4 => SimDialect::Bm4,
            Dialect::Bm5 => SimDialect::Bm5,
            Dialect::Bm6 => SimDialect::Bm6,
        },
        state_file: Some(state.clone()),
        ..SimConfig::default()
    };
    tracing::info!(
        "sandbox: in-process BILLmanager simulator, state in {}",
        state.display()
    );
    crate::sim::start(config)
        .await
        .map_err(|e| CmdError::aborted(format!("cannot start the sandbox simulator: {e}")))
}
