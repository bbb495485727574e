//! `billfleet catalog`: what the billing sells.

use super::{CmdError, CmdResult};
use crate::cli::CatalogArgs;

/// `billfleet catalog`.
pub async fn run(_args: &CatalogArgs) -> CmdResult {
    Err(CmdError::bad_input(
        "`catalog` is not available in this build yet",
    ))
}
