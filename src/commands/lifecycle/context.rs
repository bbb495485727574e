//! The run of a lifecycle command on one manifest ([`Context`]): the lock, the connection,
//! the fleet as found (restricted to `--target`s), the confirmation right before anything
//! changes, and the closing report.

use std::time::Instant;

use super::{Fleet, Member, Settings, jobs};
use crate::cli::{BillingArgs, ConfirmArgs, TargetArgs};
use crate::commands::connect::{Connection, Pace, connect};
use crate::commands::{CmdError, CmdResult, confirm, preflight};
use crate::executor::{FleetLock, Interrupt, Policy};
use crate::manifest::{Loaded, Manifest};
use crate::report::{ReportRow, RowOutcome, Summary};
use crate::survey::fleet;

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
            settings.lock_timeout.as_secs(),
        )
        .await?;
        preflight::check_writable(&settings.report, None).map_err(CmdError::bad_input)?;
        let conn = connect(
            &loaded.manifest.billing,
            billing,
            Some(&loaded.path),
            Pace::of(&settings),
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
            pacer: std::sync::Arc::clone(&self.conn.pacer),
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
        Ok(crate::report::lifecycle::exit_code(&rows, stopped))
    }
}
