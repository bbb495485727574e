//! `billfleet init`: a commented, valid manifest for a tariff.

use super::{CmdError, CmdResult};
use crate::cli::InitArgs;

/// `billfleet init`.
pub async fn run(_args: &InitArgs) -> CmdResult {
    Err(CmdError::bad_input(
        "`init` is not available in this build yet",
    ))
}
