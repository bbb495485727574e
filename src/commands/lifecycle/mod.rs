//! The fleet after day one: `status`, `prolong`, `edit`, `suspend`, `resume`, `destroy`.
//!
//! Every command identifies the fleet's services the same way ([`members`]): only what the
//! manifest names as its own (remoteid = a declared key, or the exact declared domain) is
//! ever touched. Every billing call goes through the executor ([`jobs`]); every mutating
//! command writes the CSV report and exits 0 (all done), 1 (some failed) or 3 (aborted).

mod act;
mod edit;
pub(crate) mod jobs;
mod members;
mod prolong;
mod status;

use std::time::Instant;

use super::connect::{Connection, Pace, connect};
use super::{CmdError, CmdResult, confirm, fleet, preflight};
use crate::cli::{BillingArgs, ConfirmArgs, MutateArgs, TargetArgs};
use crate::executor::{ErrorClass, FleetLock, Interrupt, JobResult, Outcome, Policy};
use crate::exit;
use crate::manifest::{Loaded, Manifest};
use crate::report::{ReportRow, RowOutcome, Summary, write_report};

pub use self::members::{Fleet, Member};
pub use self::prolong::prolong;
pub use self::status::status;

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

impl FleetAction {
    /// The command's name.
    pub fn command(self) -> &'static str {
        match self {
            Self::Edit => "edit",
            Self::Suspend => "suspend",
            Self::Resume => "resume",
            Self::Destroy => "destroy",
        }
    }
}

/// `billfleet edit|suspend|resume|destroy`.
pub async fn act(action: FleetAction, args: &MutateArgs) -> CmdResult {
    let loaded = crate::manifest::load_file(&args.manifest)?;
    confirm::require_yes_or_terminal(args.confirm.yes, action.command())
        .map_err(CmdError::bad_input)?;
    let ctx = Context::open(loaded, &args.billing, &args.confirm, &args.targets).await?;
    match action {
        FleetAction::Edit => edit::run(&ctx).await,
        FleetAction::Suspend | FleetAction::Resume | FleetAction::Destroy => {
            act::run(&ctx, action).await
        }
    }
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
}

impl Context {
    /// Takes the lock of the account and every group, checks the report can be written,
    /// connects and reads the fleet (restricted to `--target`s when given).
    pub async fn open(
        loaded: Loaded,
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
        let pace = Pace::from_execution(&loaded.manifest.execution, confirm.rate);
        let conn = connect(&loaded.manifest.billing, billing, Some(&loaded.path), pace).await?;
        let services = fleet::list_all(&conn.client, &loaded.manifest).await?;
        let mut fleet = Fleet::identify(&loaded.manifest, &services);
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
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.loaded.manifest
    }

    /// The executor's policy: the manifest's `execution`, with `--concurrency` overriding.
    pub fn runner(&self) -> jobs::Runner {
        let execution = &self.manifest().execution;
        let concurrency = self
            .confirm
            .concurrency
            .map_or(execution.concurrency, i64::from);
        jobs::Runner {
            policy: Policy {
                concurrency: usize::try_from(concurrency).unwrap_or(1).max(1),
                retries: u32::try_from(execution.retries).unwrap_or(0),
                ..Policy::default()
            },
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
        rows.extend(self.left_out.iter().map(|m| m.row(RowOutcome::Skipped)));
        let rows = rows.as_slice();
        let path = crate::report::report_path(&self.loaded.path, self.confirm.report.as_deref());
        write_report(&path, rows).map_err(|e| CmdError::aborted(e.to_string()))?;
        let summary = Summary::from_rows(rows, self.started.elapsed(), self.conn.pacer.calls());
        summary.print();
        crate::report::eprint_line(&format!("report: {}", path.display()));
        if self.confirm.output == crate::cli::OutputFormat::Json {
            crate::report::result_json(rows, &summary, &path)
                .map_err(|e| CmdError::aborted(format!("cannot write the result: {e}")))?;
        }
        Ok(exit_code(rows, stopped))
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

/// True when a run was stopped: a fatal error, or jobs skipped because it was stopping.
pub fn stopped<O>(results: &[JobResult<O>]) -> bool {
    results.iter().any(|r| match &r.outcome {
        Outcome::Failed { class, .. } => *class == ErrorClass::Fatal,
        Outcome::Skipped { .. } => true,
        Outcome::Done(_) => false,
    })
}

/// Fills a row from a job result: attempts, duration, and on failure the error; a skipped
/// job gives a `skipped` row.
pub fn settle<O>(row: &mut ReportRow, result: &JobResult<O>) {
    row.attempts += result.attempts;
    let ms = u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX);
    row.duration_ms = Some(row.duration_ms.unwrap_or(0).saturating_add(ms));
    match &result.outcome {
        Outcome::Done(_) => {}
        Outcome::Failed { error, .. } => {
            row.outcome = RowOutcome::Failed;
            row.error = Some(error.clone());
        }
        Outcome::Skipped { .. } => row.outcome = RowOutcome::Skipped,
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
