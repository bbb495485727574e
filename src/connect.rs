//! From command-line billing flags (and a manifest) to a logged-in-able client: the real
//! billing, or with `--sandbox` an in-process simulator whose state lives beside the manifest
//! (`.billfleet/sandbox.json`) so that `apply`, `status`, `prolong`, `destroy` rehearse a whole
//! lifecycle in sequence.
//!
//! When nothing else gives the password it is asked for on the terminal (no echo, through
//! [`crate::report::confirm::password`]); how a failed call is explained to a person is
//! [`crate::report::explain`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::api::{BillingClient, ClientExtras, ClientOptions, Progress};
use crate::cli::BillingArgs;
use crate::config::{ConfigError, ENV_PASSWORD, Target, resolve_target};
use crate::failure::CmdError;
use crate::manifest::{Billing, Dialect, Execution, Format, LoginMode};
use crate::pace::Pacer;
use crate::secret::Secret;
use crate::sim::{SimConfig, SimDialect, SimHandle};

/// User and password of the sandbox's demo account.
pub const SANDBOX_USER: &str = "demo";

/// Environment variable: the longest `Retry-After` honoured, in seconds (default 300).
pub const ENV_MAX_RETRY_AFTER: &str = "BILLFLEET_MAX_RETRY_AFTER";
/// The billing URL and user of this process's connection, for error messages made after
/// the connection is gone. A std mutex: held only to copy the two strings.
static CONNECTED: Mutex<Option<(String, String)>> = Mutex::new(None);

/// A client plus what keeps it working (the pacer, and the in-process simulator if any).
pub struct Connection {
    /// The billing client (cheap to clone).
    pub client: BillingClient,
    /// The pacer every call passes through.
    pub pacer: Arc<Pacer>,
    /// Whether this is the in-process sandbox.
    pub sandbox: Option<SimHandle>,
}

/// The billing URL and user of this process's connection, once one was made (for error
/// messages written after the connection is gone).
pub fn connected() -> Option<(String, String)> {
    CONNECTED.lock().unwrap_or_else(|p| p.into_inner()).clone()
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
    /// The pacing of a run's merged [`crate::settings::Settings`].
    pub fn of(settings: &crate::settings::Settings) -> Self {
        Self {
            rate: settings.rate,
            burst: settings.burst,
            timeout: settings.timeout,
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
        (target_or_prompt(args, billing.url.as_deref())?, None)
    };
    *CONNECTED.lock().unwrap_or_else(|p| p.into_inner()) =
        Some((target.url.clone(), target.user.clone()));
    let what = if sandbox.is_some() {
        "the sandbox billing".to_owned()
    } else {
        target.url.clone()
    };
    crate::report::spinner::start(&format!("reading {what}…"));
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
        progress: Some(Progress(Arc::new(crate::report::spinner::say))),
    };
    let client = BillingClient::with_extras(options, extras)
        .map_err(|e| CmdError::bad_input(e.to_string()))?;
    Ok(Connection {
        client,
        pacer,
        sandbox,
    })
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
    // The defaults of `execution`, at 10 calls per second: a few reads.
    let flags = crate::settings::Flags {
        rate: Some(10.0),
        ..crate::settings::Flags::default()
    };
    let settings = crate::settings::Settings::merge(Path::new(""), &Execution::default(), &flags)
        .map_err(|e| CmdError::bad_input(e.to_string()))?;
    let pace = Pace::of(&settings);
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
    tracing::debug!(
        "sandbox: in-process BILLmanager simulator, state in {}",
        state.display()
    );
    crate::sim::start(config)
        .await
        .map_err(|e| CmdError::aborted(format!("cannot start the sandbox simulator: {e}")))
}

/// Resolves the target; with no password configured, asks for it on a terminal (no echo),
/// and off a terminal says every way to give one.
fn target_or_prompt(args: &BillingArgs, manifest_url: Option<&str>) -> Result<Target, CmdError> {
    let env = |k: &str| std::env::var(k).ok();
    let missing = match resolve_target(args, manifest_url, &env) {
        Err(ConfigError::Missing { what, .. }) if what == "the billing password" => what,
        other => return Ok(other?),
    };
    if !crate::report::confirm::can_ask() {
        return Err(CmdError::bad_input(format!(
            "{missing} is not set; give it in one of these ways:\n  \
             - the environment: {ENV_PASSWORD}=...\n  \
             - a profile in billfleet.toml (or ~/.config/billfleet/config.toml), chosen with \
             --profile NAME: password_env = \"VAR\" or password_command = \"pass show billing\"\n  \
             - run it in a terminal to be asked"
        )));
    }
    // Everything but the password is known: resolve once more with a stand-in to name the
    // account in the prompt, then ask.
    let stand_in = |k: &str| {
        if k == ENV_PASSWORD {
            Some("-".to_owned())
        } else {
            std::env::var(k).ok()
        }
    };
    let mut target = resolve_target(args, manifest_url, &stand_in)?;
    let prompt = format!("Password for {} at {}: ", target.user, target.url);
    let typed = crate::report::confirm::password(&prompt)
        .map_err(|e| CmdError::bad_input(format!("cannot read the password: {e}")))?;
    if typed.is_empty() {
        return Err(CmdError::bad_input("no password given"));
    }
    target.password = Secret::new(typed);
    Ok(target)
}
