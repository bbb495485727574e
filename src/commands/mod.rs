//! One function per CLI command, gluing manifest, plan, api, executor and report together.
//! Every command returns its exit code; nothing here calls `std::process::exit`.

mod apply;
mod catalog;
pub mod confirm;
mod connect;
mod doctor;
mod init;
pub(crate) mod lifecycle;
mod misc;
mod plan;
mod preflight;
mod sandbox;
mod validate;

use std::fmt;

use self::lifecycle::FleetAction;
use crate::cli::{Cli, Command};
use crate::exit;
use crate::manifest::Diagnostics;
// The fleet's service lists moved to the survey stage; this path stays for the command files
// that use it (`doctor`, `lifecycle`).
use crate::survey::fleet;

/// Why a command stopped early, with the exit code that says so.
#[derive(Debug)]
pub struct CmdError {
    /// Exit code (`exit::BAD_INPUT`, `exit::ABORTED`, ...).
    pub code: u8,
    /// What to tell the user (already free of secrets).
    pub message: String,
    /// What the message was made from, for a richer rendering on the terminal.
    cause: Option<Box<Cause>>,
}

/// The typed origin of a [`CmdError`].
#[derive(Debug)]
enum Cause {
    /// Manifest diagnostics (rendered in colour where stderr takes it).
    Diagnostics(Diagnostics),
    /// A failed billing call (explained with the URL and what to check).
    Api(crate::api::ApiError),
}

impl CmdError {
    /// Bad input: nothing was sent (exit 2).
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self {
            code: exit::BAD_INPUT,
            message: message.into(),
            cause: None,
        }
    }

    /// The run finished but part of it failed (exit 1).
    pub fn some_failed(message: impl Into<String>) -> Self {
        Self {
            code: exit::SOME_FAILED,
            message: message.into(),
            cause: None,
        }
    }

    /// Aborted before finishing (exit 3).
    pub fn aborted(message: impl Into<String>) -> Self {
        Self {
            code: exit::ABORTED,
            message: message.into(),
            cause: None,
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
        Self {
            cause: Some(Box::new(Cause::Diagnostics(d.clone()))),
            ..Self::bad_input(d.to_string())
        }
    }
}

impl From<crate::api::ApiError> for CmdError {
    fn from(e: crate::api::ApiError) -> Self {
        let message = if e.is_fatal() {
            format!("the billing refused: {e}")
        } else {
            format!("the billing call failed: {e}")
        };
        Self {
            cause: Some(Box::new(Cause::Api(e))),
            ..Self::aborted(message)
        }
    }
}

impl CmdError {
    /// The error as shown to a person on stderr: diagnostics in colour where it is on, a
    /// billing error with the URL and what to check (the raw chain only at `-v`).
    pub fn render(&self) -> String {
        match self.cause.as_deref() {
            Some(Cause::Diagnostics(d)) => d.render(crate::report::term::stderr_colour()),
            Some(Cause::Api(e)) => connect::explain(e, crate::report::term::verbosity() > 0),
            None => self.message.clone(),
        }
    }
}

impl From<crate::config::ConfigError> for CmdError {
    fn from(e: crate::config::ConfigError) -> Self {
        Self::bad_input(e.to_string())
    }
}

/// The executor's class of a failed billing call (kept here for the command files that
/// name it so; see [`crate::executor::retry::class_of`]).
pub(crate) use crate::executor::retry::class_of as error_class;

/// What a command returns: its exit code, or why it stopped.
pub type CmdResult = Result<u8, CmdError>;

/// Whether a command may change services (a closed stdout then stops it like Ctrl-C and
/// exits 3; a read-only command just ends, exit 0).
fn mutating(command: &Command) -> bool {
    matches!(
        command,
        Command::Apply(_)
            | Command::Prolong(_)
            | Command::Edit(_)
            | Command::Suspend(_)
            | Command::Resume(_)
            | Command::Destroy(_)
    )
}

/// The command's name, as typed (for default report names).
fn name(command: &Command) -> &'static str {
    match command {
        Command::Validate(_) => "validate",
        Command::Plan(_) => "plan",
        Command::Apply(_) => "apply",
        Command::Status(_) => "status",
        Command::Prolong(_) => "prolong",
        Command::Edit(_) => "edit",
        Command::Suspend(_) => "suspend",
        Command::Resume(_) => "resume",
        Command::Destroy(_) => "destroy",
        Command::Catalog(_) => "catalog",
        Command::Init(_) => "init",
        Command::Unlock(_) => "unlock",
        Command::Completions(_) => "completions",
        Command::Schema => "schema",
        Command::Manpage => "manpage",
        Command::Sandbox(_) => "sandbox",
        Command::Doctor(_) => "doctor",
    }
}

/// Runs one parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    crate::report::term::configure(cli.verbose, cli.quiet, name(&cli.command));
    let mutating = mutating(&cli.command);
    let result = dispatch(cli).await;
    crate::report::spinner::clear();
    let closed = crate::report::stdout_closed();
    match result {
        Ok(_) if closed && mutating => {
            crate::report::eprint_error(
                "stdout was closed: the run stopped as on Ctrl-C; the report says what was done",
            );
            exit::ABORTED
        }
        Ok(code) => code,
        Err(e) => {
            crate::report::eprint_error(&e.render());
            e.code
        }
    }
}

async fn dispatch(cli: Cli) -> CmdResult {
    match cli.command {
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
    }
}
