//! `billfleet apply`: the stages in order. Load the manifest (or a saved plan,
//! [`crate::planfile`]) and merge the [`Settings`]; refuse without `--yes` off a terminal;
//! take the lock, open the journal, check the report can be written; survey
//! ([`crate::survey`]) and complete the plan; build the rows and order slots from the plan and
//! the journal ([`rows`]); the budget guard ([`budget`]) and the confirmation; the orders
//! through the executor ([`crate::executor::order`]), a canary batch first when asked; the
//! updates and deletes ([`crate::executor::converge`]); the fleet as listed, `--wait` for
//! it ([`crate::executor::wait`]); then the CSV report, the inventory and the summary
//! ([`crate::report`]).

// `doctor` reads edit forms the way `plan` does; the form reading moved to the survey stage.

use std::sync::Arc;

use tokio::time::Instant;

use super::confirm::{self, Decision};
use super::connect::{Connection, Pace, connect};
use super::preflight;
use super::{CmdError, CmdResult};
use crate::cli::ApplyArgs;
use crate::executor::order::Ctx;
use crate::executor::order::lists::ServiceLists;
use crate::executor::order::moves::Allocator;
use crate::executor::order::phases::Phases;
use crate::executor::order::rows::{self, Entry, Tally};
use crate::executor::{self, FleetLock, Interrupt, Journal, Replay};
use crate::exit;
use crate::manifest::Manifest;
use crate::money::Money;
use crate::plan::file::SavedPlan;
use crate::plan::{Action, Leftover, Plan, Targets, budget, resume};
use crate::planfile;
use crate::report::{self, ReportRow, Summary, Ui};
use crate::settings::Settings;
use crate::survey::{self, Survey, forms};

/// `billfleet apply`.
pub async fn run(args: &ApplyArgs) -> CmdResult {
    let resolved = planfile::resolve(args)?;
    let args = &resolved.args;
    let loaded = crate::manifest::load_file(&args.manifest)?;
    let settings = Settings::for_apply(args, &loaded.manifest)
        .map_err(|e| CmdError::bad_input(e.to_string()))?;
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
        settings.lock_timeout.as_secs(),
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
            Pace::of(&self.settings),
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
        let in_flight = &self.interrupt.in_flight;
        let show = |jobs: usize, label: &str, events| {
            let ui = Ui::new(jobs, label).with_in_flight(Arc::clone(in_flight));
            // The display's counters are not needed.
            tokio::spawn(async move {
                ui.run(events).await;
            })
        };
        let phases = Phases {
            ctx: &ctx,
            policy: &self.settings.policy,
            retry: self.settings.retry,
            canary: self.settings.canary,
            wait: self.args.wait,
            wait_timeout: self.settings.wait_timeout,
            inventory: self.args.inventory.as_deref(),
            interrupt: self.interrupt,
            show: &show,
        };
        phases
            .order(&mut entries, &survey.unit_prices, &mut tally)
            .await;
        let (policy, interrupt) = (&self.settings.policy, self.interrupt);
        executor::converge::converge(
            &conn.client,
            policy,
            interrupt,
            &full,
            &mut entries,
            &mut tally,
        )
        .await;
        let not_ready = phases.observe(&mut entries, &tally).await;
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
    fn authorize(&self, entries: &[Entry], survey: &Survey, plan: &Plan) -> Result<(), CmdError> {
        let per_group = rows::to_order(entries);
        let estimate = budget::estimate(self.manifest, &per_group, &survey.unit_prices);
        let balance = &survey.plan.balance.clone().unwrap_or_default();
        let max_spend = self.manifest.execution.max_spend;
        if let Err(why) = budget::guard(&estimate, max_spend, balance, "nothing was ordered") {
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
        let update_cost = if updates > 0 {
            format!(" ({})", report::plan::update_cost_text(plan))
        } else {
            String::new()
        };
        let question = format!(
            "Order {} for ~{} (balance {}), update {updates}{update_cost}, delete {deletes}?",
            report::plural(estimate.count, "server"),
            estimate
                .total
                .as_ref()
                .map_or_else(|| "an unknown cost".to_owned(), Money::to_string),
            balance
        );
        if confirm::confirm(self.args.confirm.yes, &question) == Decision::Declined {
            self.write_report(entries)?;
            return Err(CmdError::aborted("declined; nothing was ordered"));
        }
        Ok(())
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
