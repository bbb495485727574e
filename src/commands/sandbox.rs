//! `billfleet sandbox`: the embedded BILLmanager simulator in the foreground.

use super::{CmdError, CmdResult};
use crate::cli::SandboxArgs;

/// `billfleet sandbox`.
pub async fn run(_args: &SandboxArgs) -> CmdResult {
    Err(CmdError::bad_input(
        "`sandbox` is not available in this build yet",
    ))
}
