//! `billfleet apply`: reconcile, price, confirm, then order every missing server.

use super::{CmdError, CmdResult};
use crate::cli::ApplyArgs;

/// `billfleet apply`.
pub async fn run(_args: &ApplyArgs) -> CmdResult {
    Err(CmdError::bad_input(
        "`apply` is not available in this build yet",
    ))
}
