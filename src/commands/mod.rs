//! One function per CLI command, gluing manifest, plan, api, executor and report together.
//! Every command returns its exit code; nothing here calls `std::process::exit`.

mod apply;
mod catalog;
mod confirm;
mod connect;
mod doctor;
mod fleet;
mod init;
mod lifecycle;
mod misc;
mod plan;
mod sandbox;
mod validate;

use std::fmt;

use self::lifecycle::FleetAction;
use crate::cli::{Cli, Command};
use crate::exit;
use crate::manifest::Diagnostics;

/// Why a command stopped early, with the exit code that says so.
#[derive(Debug)]
pub struct CmdError {
    /// Exit code (`exit::BAD_INPUT`, `exit::ABORTED`, ...).
    pub code: u8,
    /// What to tell the user (already free of secrets).
    pub message: String,
}

impl CmdError {
    /// Bad input: nothing was sent (exit 2).
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self {
            code: exit::BAD_INPUT,
            message: message.into(),
        }
    }

    /// Aborted before finishing (exit 3).
    pub fn aborted(message: impl Into<String>) -> Self {
        Self {
            code: exit::ABORTED,
            message: message.into(),
        }
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Diagnostics> for CmdError {
    fn from(d: Diagnostics) -> Self {
        Self::bad_input(d.to_string())
    }
}

impl From<crate::config::ConfigError> for CmdError {
    fn from(e: crate::config::ConfigError) -> Self {
        Self::bad_input(e.to_string())
    }
}

/// What the executor does after a failed billing call: fatal refusals stop the run, a
/// throttled answer slows everyone, a write whose outcome is unknown is reconciled, a call
/// that may simply be sent again is retried, anything else fails that item only.
pub(crate) fn error_class(error: &crate::api::ApiError) -> crate::executor::ErrorClass {
    use crate::api::ErrorKind;
    use crate::executor::ErrorClass;
    if error.is_fatal() {
        ErrorClass::Fatal
    } else if let ErrorKind::Throttled { retry_after } = error.kind {
        ErrorClass::Throttle { after: retry_after }
    } else if error.outcome_unknown() {
        ErrorClass::Unknown
    } else if error.retryable() {
        ErrorClass::Retry
    } else {
        ErrorClass::Permanent
    }
}

/// What a command returns: its exit code, or why it stopped.
pub type CmdResult = Result<u8, CmdError>;

/// Runs one parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args).await,
        Command::Plan(args) => plan::run(&args).await,
        Command::Apply(args) => apply::run(&args).await,
        Command::Status(args) => lifecycle::status(&args).await,
        Command::Prolong(args) => lifecycle::prolong(&args).await,
        Command::Edit(args) => lifecycle::act(FleetAction::Edit, &args).await,
        Command::Suspend(args) => lifecycle::act(FleetAction::Suspend, &args).await,
        Command::Resume(args) => lifecycle::act(FleetAction::Resume, &args).await,
        Command::Destroy(args) => lifecycle::act(FleetAction::Destroy, &args).await,
        Command::Catalog(args) => catalog::run(&args).await,
        Command::Init(args) => init::run(&args).await,
        Command::Unlock(args) => misc::unlock(&args),
        Command::Completions(args) => misc::completions(&args),
        Command::Manpage => misc::manpage(),
        Command::Schema => misc::schema(),
        Command::Sandbox(args) => sandbox::run(&args).await,
        Command::Doctor(args) => doctor::run(&args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            crate::report::eprint_line(&format_error(&e.message));
            e.code
        }
    }
}

/// Diagnostics already start with `error:`; other messages get the prefix.
fn format_error(message: &str) -> String {
    if message.starts_with("error:") {
        message.to_owned()
    } else {
        format!("error: {message}")
    }
}
