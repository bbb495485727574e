//! One function per CLI command, gluing manifest, plan, api, executor and report together.
//! Every command returns its exit code; nothing here calls `std::process::exit`.

mod confirm;
mod misc;
mod validate;

use std::fmt;

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

/// What a command returns: its exit code, or why it stopped.
pub type CmdResult = Result<u8, CmdError>;

/// Runs one parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args).await,
        Command::Completions(args) => misc::completions(&args),
        Command::Manpage => misc::manpage(),
        Command::Unlock(args) => misc::unlock(&args),
        other => Err(CmdError::bad_input(format!(
            "`{}` is not available in this build yet",
            command_name(&other)
        ))),
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

fn command_name(command: &Command) -> &'static str {
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
        Command::Manpage => "manpage",
        Command::Sandbox(_) => "sandbox",
    }
}
