//! The fleet after day one: `status`, `prolong`, `edit`, `suspend`, `resume`, `destroy`.

use super::{CmdError, CmdResult};
use crate::cli::{MutateArgs, ProlongArgs, StatusArgs};

/// Which fleet-wide action to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetAction {
    /// `<type>.edit` where the manifest differs.
    Edit,
    /// `<type>.suspend`.
    Suspend,
    /// `<type>.resume`.
    Resume,
    /// `<type>.delete`.
    Destroy,
}

/// `billfleet status`.
pub async fn status(_args: &StatusArgs) -> CmdResult {
    Err(CmdError::bad_input(
        "`status` is not available in this build yet",
    ))
}

/// `billfleet prolong`.
pub async fn prolong(_args: &ProlongArgs) -> CmdResult {
    Err(CmdError::bad_input(
        "`prolong` is not available in this build yet",
    ))
}

/// `billfleet edit|suspend|resume|destroy`.
pub async fn act(action: FleetAction, _args: &MutateArgs) -> CmdResult {
    Err(CmdError::bad_input(format!(
        "`{action:?}` is not available in this build yet"
    )))
}
