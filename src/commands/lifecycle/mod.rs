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

use super::{CmdError, CmdResult, confirm};
use crate::cli::{ConfirmArgs, MutateArgs};
use crate::settings::Settings;

pub(crate) use self::context::Context;

pub use self::prolong::prolong;
pub use self::status::status;
/// The lifecycle jobs and the runner (`crate::executor::lifecycle`).
use crate::executor::lifecycle as jobs;
use crate::executor::lifecycle::stopped;
pub use crate::plan::fleet::{Fleet, FleetAction, Member};
use crate::report::lifecycle::settle;

/// `billfleet edit|suspend|resume|destroy`.
pub async fn act(action: FleetAction, args: &MutateArgs) -> CmdResult {
    let loaded = crate::manifest::load_file(&args.manifest)?;
    let settings = settings(&loaded, &args.confirm)?;
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

/// The merged settings of a lifecycle command (`status` passes no flags): the one merge of
/// [`crate::settings`], refusing `--concurrency 0` and rates below the minimum (exit 2).
pub(crate) fn settings(
    loaded: &crate::manifest::Loaded,
    flags: &ConfirmArgs,
) -> Result<Settings, CmdError> {
    Settings::for_lifecycle(&loaded.path, &loaded.manifest, flags)
        .map_err(|e| CmdError::bad_input(e.to_string()))
}
