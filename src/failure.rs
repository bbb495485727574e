//! Why a command stopped early, with the exit code that says so: [`CmdError`] and
//! [`CmdResult`], shared by the commands and the modules they glue (connection, preflight,
//! diagnosis), so none of those depends on `commands`.

use std::fmt;

use crate::exit;
use crate::manifest::Diagnostics;

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
            Some(Cause::Api(e)) => crate::report::explain::api_error(
                e,
                crate::connect::connected(),
                crate::report::term::verbosity() > 0,
            ),
            None => self.message.clone(),
        }
    }
}

impl From<crate::config::ConfigError> for CmdError {
    fn from(e: crate::config::ConfigError) -> Self {
        Self::bad_input(e.to_string())
    }
}

impl CmdError {
    /// The manifest diagnostics this error was made from, if any.
    pub fn diagnostics(&self) -> Option<&Diagnostics> {
        match self.cause.as_deref() {
            Some(Cause::Diagnostics(d)) => Some(d),
            _ => None,
        }
    }
}

/// What a command returns: its exit code, or why it stopped.
pub type CmdResult = Result<u8, CmdError>;
