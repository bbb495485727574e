//! `billfleet apply`: reconcile, price, confirm, then order every missing server.
//!
//! The steps: load and validate the manifest; refuse without `--yes` off a terminal; take the
//! lock of the billing account and every group, open the journal and check that the report
//! can be written; log in, list, plan and price ([`survey`]); decide each server, taking the
//! journal of earlier runs into account ([`rows`]); the budget guard and the confirmation;
//! the same checks again, then the orders through the executor ([`job`]), a canary batch
//! first when asked; then the fleet as listed, `--wait` for it to be active ([`wait`]); the
//! CSV report, the inventory and the summary.

// `doctor` reads edit forms the way `plan` does; the form reading moved to the survey stage.
pub(crate) use crate::survey::forms as converge;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::confirm::{self, Decision};
use super::connect::{Connection, Pace, connect};
use super::preflight;
use super::{CmdError, CmdResult};
use crate::cli::ApplyArgs;
use crate::executor::order::lists::ServiceLists;
use crate::executor::order::moves::Allocator;
use crate::executor::order::rows::{self, Entry, Tally};
use crate::executor::order::{Ctx, OrderJob, Placed, Slot};
use crate::executor::{self, Backoff, FleetLock, Interrupt, JobResult, Journal, Policy};
use crate::executor::{ReadRetry, Replay, wait};
use crate::exit;
use crate::manifest::Manifest;
use crate::money::Money;
use crate::plan::file::SavedPlan;
use crate::plan::{Action, Leftover, Plan, Targets, budget, resume};
use crate::planfile;
use crate::report::{self, ReportRow, RowOutcome, Summary, Ui};
use crate::survey::{self, Survey, forms};

/// The longest `--wait-timeout` accepted.
const MAX_WAIT_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// The run's settings after the command line's overrides.
struct Settings {
    pace: Pace,
    policy: Policy,
    retry: ReadRetry,
    report: PathBuf,
    canary: Option<usize>,
    wait_timeout: Duration,
}

impl Settings {
    /// Combines the manifest's `execution` with the flags; refuses values that make no sense.
    fn new(args: &ApplyArgs, manifest: &Manifest) -> Result<Self, CmdError> {
        let execution = &manifest.execution;
        let flags = &args.confirm;
        if let Some(rate) = flags.rate {
            super::connect::check_rate(rate)
                .map_err(|_| CmdError::bad_input("--rate must be a number of at least 0.01"))?;
        }
        if args.wait_timeout > MAX_WAIT_TIMEOUT.as_secs() {
            return Err(CmdError::bad_input(format!(
                "--wait-timeout {} is more than 7 days ({} seconds)",
                args.wait_timeout,
                MAX_WAIT_TIMEOUT.as_secs()
            )));
        }
        let concurrency = match flags.concurrency {
            Some(0) => return Err(CmdError::bad_input("--concurrency must be at least 1")),
            Some(n) => n as usize,
            None => usize::try_from(execution.concurrency).unwrap_or(1).max(1),
        };
        if args.canary == Some(0) {
            return Err(CmdError::bad_input("--canary must be at least 1"));
        }
        if args.max_failures == Some(0) {
            return Err(CmdError::bad_input("--max-failures must be at least 1"));
        }
        let retries = u32::try_from(execution.retries).unwrap_or(0);
        let backoff = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(30),
        };
        let report = report::report_path(&args.manifest, flags.report.as_deref());
        Ok(Self {
            pace: Pace::from_execution(execution, flags.rate),
            policy: Policy {
                concurrency,
                retries,
                backoff,
                max_failures: args.max_failures,
            },
            retry: ReadRetry { retries, backoff },
            report,
            canary: args.canary.map(|n| n as usize),
            wait_timeout: Duration::from_secs(args.wait_timeout),
        })
    }
}

/// `billfleet apply`.
pub async fn run(args: &ApplyArgs) -> CmdResult {
    let resolved = planfile::resolve(args)?;
    let args = &resolved.args;
    let loaded = crate::manifest::load_file(&args.manifest)?;
    let settings = Settings::new(args, &loaded.manifest)?;
    let targets =
        Targets::parse(&loaded.manifest, &args.targets.target).map_err(CmdError::bad_input)?;
    confirm::require_yes_or_terminal(args.confirm.yes, "apply").map_err(CmdError::bad_input)?;
    if let Some(saved) = &resolved.saved {
        planfile::check_manifest(saved, &args.manifest)?;
    }
    let lock = preflight::lock_fleet(
        &loaded.manifest,
        &args.manifest,
        &args.billing,
        args.confirm.lock_timeout,
    )
    .await?;
    let (journal, replay) = Journal::open(&Journal::path_for(&args.manifest))
        .map_err(|e| CmdError::bad_input(e.to_string()))?;
    preflight::check_writable(&settings.report, Some(journal.path()))
        .map_err(CmdError::bad_input)?;
    if replay.skipped_lines > 0 {
        tracing::warn!(
            "the journal {} has {} unreadable lines; they are ignored",
            journal.path().display(),
            replay.skipped_lines
        );
    }
    let interrupt = Interrupt::install();
    report::stop_when_stdout_closes(&interrupt.stop);
    let apply = Apply {
        args,
        manifest: &loaded.manifest,
        settings,
        interrupt: &interrupt,
        lock: &lock,
        saved: resolved.saved.as_ref(),
        targets: targets.as_ref(),
    };
    tokio::select! {
        biased;
        () = interrupt.abort.cancelled() => {
            report::eprint_line("quit at once: no report written; rerun the same command to \
                                 pick up where it left off");
            Ok(exit::ABORTED)
        }
        code = apply.run(journal, replay) => code,
    }
}

/// One apply run.
struct Apply<'a> {
    args: &'a ApplyArgs,
    manifest: &'a Manifest,
    settings: Settings,
    interrupt: &'a Interrupt,
    lock: &'a FleetLock,
    /// The saved plan given instead of a manifest, if any.
    saved: Option<&'a SavedPlan>,
    /// `--target`.
    targets: Option<&'a Targets>,
}

impl Apply<'_> {
    async fn run(&self, journal: Journal, replay: Replay) -> CmdResult {
        let started = Instant::now();
        let manifest = self.manifest;
        let conn = connect(
            &manifest.billing,
            &self.args.billing,
            Some(&self.args.manifest),
            self.settings.pace,
        )
        .await?;
        let retried = survey::survey_retried(&conn.client, manifest, self.settings.retry).await;
        let mut survey = match retried {
            Ok(survey) => survey,
            Err(e) => {
                conn.client.logout().await;
                return Err(e.into());
            }
        };
        let full = self.complete_plan(&conn, &mut survey).await?;
        let allocator = Allocator::new(
            resume::group_ranges(manifest),
            resume::used_domains(&survey.services, &survey.plan, &replay),
        );
        survey.plan = full.order_view();
        let ctx = Arc::new(Ctx {
            client: conn.client.clone(),
            journal,
            on_collision: manifest.execution.on_collision,
            allocator,
            lists: ServiceLists::new(conn.client.clone()),
        });
        let mut entries = rows::entries(manifest, &survey, &replay, &ctx);
        drop(replay);
        rows::adjust_entries(&full, &mut entries);
        self.authorize(&entries, &survey, &full)?;
        preflight::before_spending(self.lock, &self.settings.report, Some(ctx.journal.path()))?;
        let mut tally = Tally::default();
        self.order(&ctx, &mut entries, &survey.unit_prices, &mut tally)
            .await;
        let (policy, interrupt) = (&self.settings.policy, self.interrupt);
        executor::converge::converge(&conn.client, policy, interrupt, &full, &mut entries, &mut tally).await;
        let not_ready = self.observe(&conn, &mut entries, &tally).await;
        conn.client.logout().await;
        let rows = self.write_report(&entries)?;
        let summary = Summary::from_rows(&rows, started.elapsed(), conn.pacer.calls());
        summary.print();
        if self.args.confirm.output == crate::cli::OutputFormat::Json {
            report::result_json(&rows, &summary, &self.settings.report)
                .map_err(|e| CmdError::aborted(format!("cannot write the result: {e}")))?;
        }
        if let Some(sandbox) = conn.sandbox
            && let Err(e) = sandbox.stop().await
        {
            tracing::warn!("the sandbox simulator did not stop cleanly: {e}");
        }
        if let Some(reason) = &tally.stopped {
            report::eprint_line(&format!(
                "stopped early: {reason}; rerun the same command to finish (the journal keeps \
                 it safe)"
            ));
        }
        Ok(rows::exit_code(&entries, &tally, not_ready))
    }

    /// The survey's second half: targets, drift (edit forms), prune; with a saved plan, the
    /// check that it still holds. Returns the whole plan (the survey keeps its own).
    async fn complete_plan(
        &self,
        conn: &Connection,
        survey: &mut Survey,
    ) -> Result<Plan, CmdError> {
        let how = forms::Completion {
            targets: self.targets,
            prune: self.args.prune,
            policy: self.settings.policy.clone(),
            cancel: self.interrupt.stop.clone(),
        };
        let unit_prices = survey.unit_prices.clone();
        forms::complete(
            &conn.client,
            self.manifest,
            &mut survey.plan,
            &unit_prices,
            how,
        )
        .await?;
        if let Some(saved) = self.saved {
            let here = planfile::billing_ref(&conn.client, conn.sandbox.is_some());
            planfile::check(saved, &here, &survey.plan)?;
        }
        for server in survey.plan.servers.iter().filter(|s| s.targeted) {
            if server.action == Action::Conflict && server.drift.is_some() {
                tracing::warn!("{}: {}; left as it is", server.key, server.reason());
            }
        }
        let kept: Vec<&str> = survey
            .plan
            .undeclared
            .iter()
            .filter(|u| u.targeted && u.action == Leftover::Orphan)
            .map(|u| u.key.as_str())
            .collect();
        if !kept.is_empty() {
            tracing::warn!(
                "{} undeclared services of the fleet are kept ({}); `apply --prune` deletes them",
                kept.len(),
                kept.join(", ")
            );
        }
        for blocked in &survey.plan.blocked {
            tracing::error!(
                "group `{}`: {}; nothing is ordered for it",
                blocked.group,
                blocked.reason
            );
        }
        Ok(survey.plan.clone())
    }

    /// The budget guard, then the confirmation. On a refusal the report still lists every
    /// server (nothing ordered).
    fn authorize(
        &self,
        entries: &[Entry],
        survey: &Survey,
        plan: &Plan,
    ) -> Result<(), CmdError> {
        let per_group = rows::to_order(entries);
        let estimate = budget::estimate(self.manifest, &per_group, &survey.unit_prices);
        let balance = &survey.plan.balance.clone().unwrap_or_default();
        if let Err(why) = budget::guard(&estimate, self.manifest.execution.max_spend, balance) {
            self.write_report(entries)?;
            return Err(CmdError::aborted(why));
        }
        let summary = plan.summary();
        let (updates, deletes) = (summary.update, summary.delete);
        if estimate.count == 0 && updates + deletes == 0 {
            return Ok(());
        }
        for u in plan.undeclared.iter().filter(|u| u.targeted) {
            if u.action == Leftover::Delete {
                report::eprint_line(&format!(
                    "to delete: service {} {} ({}, no longer declared)",
                    u.service.id,
                    u.service.domain.as_deref().unwrap_or("-"),
                    u.key
                ));
            }
        }
        let question = format!(
            "Order {} for ~{} (balance {}), update {updates}, delete {deletes}?",
            report::plural(estimate.count, "server"),
            estimate
                .total
                .as_ref()
                .map_or_else(|| "an unknown cost".to_owned(), money),
            money(balance)
        );
        if confirm::confirm(self.args.confirm.yes, &question) == Decision::Declined {
            self.write_report(entries)?;
            return Err(CmdError::aborted("declined; nothing was ordered"));
        }
        Ok(())
    }

    /// The orders: the canary batch first when asked, then the rest.
    async fn order(
        &self,
        ctx: &Arc<Ctx>,
        entries: &mut [Entry],
        prices: &[Option<Money>],
        tally: &mut Tally,
    ) {
        let slots: Vec<Arc<Slot>> = entries.iter().filter_map(|e| e.slot.clone()).collect();
        let index: HashMap<String, usize> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.slot.is_some())
            .map(|(i, e)| (e.key.clone(), i))
            .collect();
        let split = self.settings.canary.map_or(0, |n| n.min(slots.len()));
        let (canary, bulk) = slots.split_at(split);
        if !canary.is_empty() {
            tracing::info!("canary: ordering {} servers first", canary.len());
            let results = self.execute(ctx, canary, "canary").await;
            rows::record(entries, &index, results, prices, tally);
            if tally.stopped.is_none() {
                self.check_canary(ctx, entries, canary, tally).await;
            }
        }
        if tally.stopped.is_none() && !bulk.is_empty() && !self.interrupt.stop.is_cancelled() {
            let results = self.execute(ctx, bulk, "apply").await;
            rows::record(entries, &index, results, prices, tally);
        }
        if self.interrupt.stop.is_cancelled() {
            tally
                .stopped
                .get_or_insert_with(|| "interrupted".to_owned());
        }
    }

    /// One executor run over `slots`, its events shown by the progress display.
    async fn execute(
        &self,
        ctx: &Arc<Ctx>,
        slots: &[Arc<Slot>],
        label: &str,
    ) -> Vec<JobResult<Placed>> {
        let jobs: Vec<OrderJob> = slots
            .iter()
            .map(|slot| OrderJob {
                slot: Arc::clone(slot),
                ctx: Arc::clone(ctx),
            })
            .collect();
        let (events, received) = mpsc::unbounded_channel();
        let ui = Ui::new(jobs.len(), label).with_in_flight(Arc::clone(&self.interrupt.in_flight));
        let shown = tokio::spawn(ui.run(received));
        // One pacer: the client takes a rate-limit slot per request from it, the executor
        // holds jobs back while a throttled answer cools it down.
        let pacer = Arc::clone(&ctx.client.options().pacer);
        let stop = self.interrupt.stop.clone();
        let results = executor::run(jobs, &self.settings.policy, pacer, events, stop).await;
        // The display ends when the executor drops its sender; its counters are not needed.
        let _ = shown.await;
        results
    }

    /// Every canary server must be ordered and become active before the rest is ordered.
    async fn check_canary(
        &self,
        ctx: &Ctx,
        entries: &mut [Entry],
        canary: &[Arc<Slot>],
        tally: &mut Tally,
    ) {
        let keys: HashSet<&str> = canary.iter().map(|s| s.key.as_str()).collect();
        let in_canary = |e: &Entry| keys.contains(e.key.as_str());
        if let Some(bad) = entries.iter().find(|e| in_canary(e) && !e.is_present()) {
            let why = bad.row.error.as_deref().unwrap_or("not ordered");
            tally.stopped = Some(format!(
                "canary server {} failed ({why}); the rest were not ordered",
                bad.key
            ));
            return;
        }
        let timeout = self.settings.wait_timeout;
        let waited = wait::until_active(
            &ctx.client,
            self.settings.retry,
            entries,
            &in_canary,
            timeout,
            &self.interrupt.stop,
        )
        .await;
        match waited {
            Ok(0) => tracing::info!("canary: {} servers active; ordering the rest", keys.len()),
            Ok(n) => {
                tally.stopped = Some(format!(
                    "{n} canary servers were not active within {}s; the rest were not ordered",
                    timeout.as_secs()
                ));
            }
            Err(e) => {
                tally.stopped = Some(format!(
                    "cannot check the canary servers ({e}); the rest were not ordered"
                ));
            }
        }
    }

    /// The fleet as listed after ordering; with `--wait`, until it is active (and the
    /// inventory). Returns how many servers did not become active in time.
    async fn observe(&self, conn: &Connection, entries: &mut [Entry], tally: &Tally) -> usize {
        let retry = self.settings.retry;
        let present = |e: &Entry| e.is_present();
        if !self.args.wait || tally.stopped.is_some() {
            // A list after ordering only to learn the ids the order answers did not give: a
            // new service's status and address are known only with `--wait` (or `status`).
            let unknown =
                |e: &Entry| e.row.outcome == RowOutcome::Ordered && e.row.service_id.is_none();
            if entries.iter().any(unknown)
                && let Err(e) = wait::refresh(&conn.client, retry, entries, &unknown).await
            {
                tracing::warn!("cannot read the service list after ordering: {e}");
            }
            return 0;
        }
        let timeout = self.settings.wait_timeout;
        let stop = &self.interrupt.stop;
        let waited =
            wait::until_active(&conn.client, retry, entries, &present, timeout, stop).await;
        let not_ready = waited.unwrap_or_else(|e| {
            tracing::warn!("cannot read the service list while waiting: {e}");
            entries
                .iter()
                .filter(|e| present(e) && !e.is_ready())
                .count()
        });
        if not_ready > 0 {
            tracing::warn!(
                "{not_ready} servers were not active with an address within {}s",
                timeout.as_secs()
            );
        }
        if let Some(path) = &self.args.inventory {
            match wait::write_inventory(path, entries) {
                Ok(n) => tracing::info!("inventory of {n} servers written to {}", path.display()),
                Err(e) => tracing::warn!("cannot write the inventory {}: {e}", path.display()),
            }
        }
        not_ready
    }

    /// Writes the CSV report; returns its rows.
    fn write_report(&self, entries: &[Entry]) -> Result<Vec<ReportRow>, CmdError> {
        let rows: Vec<ReportRow> = entries.iter().map(|e| e.row.clone()).collect();
        let path = &self.settings.report;
        report::write_report(path, &rows).map_err(|e| CmdError::aborted(e.to_string()))?;
        tracing::info!("report written to {}", path.display());
        Ok(rows)
    }
}

fn money(m: &Money) -> String {
    format!("{} {}", m.amount(), m.currency)
        .trim_end()
        .to_owned()
}
