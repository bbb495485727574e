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
mod edit;
mod prolong;
mod status;

use std::time::Instant;

use super::connect::{Connection, Pace, connect};
use super::{CmdError, CmdResult, confirm, fleet, preflight};
use crate::cli::{BillingArgs, ConfirmArgs, MutateArgs, TargetArgs};
use crate::executor::{FleetLock, Interrupt, Policy};
use crate::exit;
use crate::manifest::{Loaded, Manifest};
use crate::report::{ReportRow, RowOutcome, Summary};

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

/// A logged-in command on one manifest: the connection, the fleet as found, the run options.
pub(crate) struct Context {
    /// The manifest as loaded.
    pub loaded: Loaded,
    /// The connection (keeps an in-process sandbox alive).
    pub conn: Connection,
    /// The fleet's services.
    pub fleet: Fleet,
    /// `--yes`, `--report`, overrides.
    pub confirm: ConfirmArgs,
    /// Ctrl-C and SIGTERM handling of the run.
    pub interrupt: Interrupt,
    /// The lock of the account and every group, held for the whole run.
    pub lock: FleetLock,
    /// When the command started.
    pub started: Instant,
    /// Declared servers `--target` left out: `skipped` rows in the report.
    pub left_out: Vec<Member>,
    /// Concurrency and retries of the executor.
    pub policy: Policy,
}

impl Context {
    /// Takes the lock of the account and every group, checks the report can be written,
    /// connects and reads the fleet (restricted to `--target`s when given).
    pub async fn open(
        loaded: Loaded,
        settings: Settings,
        billing: &BillingArgs,
        confirm: &ConfirmArgs,
        targets: &TargetArgs,
    ) -> Result<Self, CmdError> {
        let started = Instant::now();
        let targets = crate::plan::Targets::parse(&loaded.manifest, &targets.target)
            .map_err(CmdError::bad_input)?;
        let lock = preflight::lock_fleet(
            &loaded.manifest,
            &loaded.path,
            billing,
            confirm.lock_timeout,
        )
        .await?;
        let report = crate::report::report_path(&loaded.path, confirm.report.as_deref());
        preflight::check_writable(&report, None).map_err(CmdError::bad_input)?;
        let conn = connect(
            &loaded.manifest.billing,
            billing,
            Some(&loaded.path),
            settings.pace,
        )
        .await?;
        let services = match fleet::list_all(&conn.client, &loaded.manifest).await {
            Ok(services) => services,
            Err(e) => {
                conn.client.logout().await;
                return Err(e.into());
            }
        };
        let existing = fleet::existing_all(&services);
        let mut fleet = Fleet::identify(&loaded.manifest, &services, &existing);
        let left_out = targets.map_or_else(Vec::new, |t| fleet.restrict(&t));
        let interrupt = Interrupt::install();
        crate::report::stop_when_stdout_closes(&interrupt.stop);
        Ok(Self {
            loaded,
            conn,
            fleet,
            confirm: confirm.clone(),
            interrupt,
            lock,
            started,
            left_out,
            policy: settings.policy,
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.loaded.manifest
    }

    /// The executor with the run's policy and Ctrl-C.
    pub fn runner(&self) -> jobs::Runner {
        jobs::Runner {
            policy: self.policy.clone(),
            cancel: self.interrupt.stop.clone(),
        }
    }

    /// Asks on a terminal unless `--yes`; a refusal aborts (exit 3). Then, right before
    /// the calls that change anything, checks the locks are still held and the report can
    /// still be written.
    pub fn confirm(&self, question: &str) -> Result<(), CmdError> {
        match confirm::confirm(self.confirm.yes, question) {
            confirm::Decision::Proceed => {
                let report =
                    crate::report::report_path(&self.loaded.path, self.confirm.report.as_deref());
                preflight::before_spending(&self.lock, &report, None)
            }
            confirm::Decision::Declined => {
                Err(CmdError::aborted("not confirmed; nothing was done"))
            }
        }
    }

    /// Writes the report and the summary; returns the exit code.
    pub fn finish(&self, rows: &[ReportRow], stopped: bool) -> CmdResult {
        let mut rows = rows.to_vec();
        let skipped = |m| crate::report::lifecycle::member_row(m, RowOutcome::Skipped);
        rows.extend(self.left_out.iter().map(skipped));
        let path = crate::report::report_path(&self.loaded.path, self.confirm.report.as_deref());
        let summary = Summary::from_rows(&rows, self.started.elapsed(), self.conn.pacer.calls());
        let json = self.confirm.output == crate::cli::OutputFormat::Json;
        crate::report::lifecycle::finish(&path, &rows, &summary, json)
            .map_err(CmdError::aborted)?;
        Ok(exit_code(&rows, stopped))
    }
}

/// 3 when the run was stopped (fatal error, Ctrl-C), 1 when a row failed, else 0.
pub fn exit_code(rows: &[ReportRow], stopped: bool) -> u8 {
    if stopped {
        exit::ABORTED
    } else if rows.iter().any(|r| r.outcome == RowOutcome::Failed) {
        exit::SOME_FAILED
    } else {
        exit::OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_from_rows() {
        let ok = ReportRow::new("web", 1, "a", RowOutcome::Deleted);
        let failed = ReportRow::new("web", 2, "b", RowOutcome::Failed);
        assert_eq!(exit_code(std::slice::from_ref(&ok), false), exit::OK);
        assert_eq!(exit_code(&[ok.clone(), failed], false), exit::SOME_FAILED);
        assert_eq!(exit_code(&[ok], true), exit::ABORTED);
    }
}
