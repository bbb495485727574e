//! The fleet after day one: `status`, `prolong`, `edit`, `suspend`, `resume`, `destroy`,
//! as glue: parse → settings ([`settings`]) → survey ([`Context::open`]) → plan → confirm →
//! execute → report.
//!
//! Every command identifies the fleet's services the same way ([`crate::plan::fleet`]): only
//! what the manifest names as its own (remoteid = a declared key, or the exact declared
//! domain) is ever touched. Every billing call goes through the executor
//! ([`crate::executor::lifecycle`]); what is shown and written is [`crate::report::lifecycle`]
//! and [`crate::report::status`]. Every mutating command writes the CSV report and exits 0
//! (all done), 1 (some failed) or 3 (aborted), and logs out at the end.

mod act;
mod context;
mod edit;
mod prolong;
mod status;

use super::connect::Pace;
use super::{CmdError, CmdResult, confirm};
use crate::cli::{ConfirmArgs, MutateArgs};
use crate::executor::Policy;
use crate::manifest::Manifest;

pub(crate) use self::context::Context;

pub use self::prolong::prolong;
pub use self::status::status;
/// The lifecycle jobs under their former path (`apply` runs its updates and deletes with them).
pub(crate) use crate::executor::lifecycle as jobs;
pub use crate::executor::lifecycle::stopped;
pub use crate::plan::fleet::{Fleet, FleetAction, Member};
pub use crate::report::lifecycle::settle;

/// `billfleet edit|suspend|resume|destroy`.
pub async fn act(action: FleetAction, args: &MutateArgs) -> CmdResult {
    let loaded = crate::manifest::load_file(&args.manifest)?;
    let settings = settings(&loaded.manifest, &args.confirm)?;
    confirm::require_yes_or_terminal(args.confirm.yes, action.command())
        .map_err(CmdError::bad_input)?;
    let ctx = Context::open(
        loaded,
        settings,
        &args.billing,
        &args.confirm,
        &args.targets,
    )
    .await?;
    let result = match action {
        FleetAction::Edit => edit::run(&ctx).await,
        FleetAction::Suspend | FleetAction::Resume | FleetAction::Destroy => {
            act::run(&ctx, action).await
        }
    };
    ctx.conn.client.logout().await;
    result
}

/// How a lifecycle command paces its calls and runs its jobs.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Rate, burst and timeout of the connection.
    pub pace: Pace,
    /// Concurrency and retries of the executor.
    pub policy: Policy,
}

/// The manifest's `execution` with `--rate` and `--concurrency` overriding (`status` passes
/// no flags). A rate below the minimum or a concurrency of 0 is refused (exit 2).
pub(crate) fn settings(manifest: &Manifest, flags: &ConfirmArgs) -> Result<Settings, CmdError> {
    let execution = &manifest.execution;
    if let Some(rate) = flags.rate {
        super::connect::check_rate(rate)
            .map_err(|_| CmdError::bad_input("--rate must be a number of at least 0.01"))?;
    }
    let concurrency = match flags.concurrency {
        Some(0) => return Err(CmdError::bad_input("--concurrency must be at least 1")),
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        None => usize::try_from(execution.concurrency).unwrap_or(1).max(1),
    };
    Ok(Settings {
        pace: Pace::from_execution(execution, flags.rate),
        policy: Policy {
            concurrency,
            retries: u32::try_from(execution.retries).unwrap_or(0),
            ..Policy::default()
        },
    })
}
