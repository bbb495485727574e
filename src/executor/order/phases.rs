//! The order phase of `apply`: the canary batch first when asked (every canary server
//! ordered and active before the rest), then the rest, each batch one executor run whose
//! events a display supplied by the caller shows; then the fleet as listed after ordering,
//! and with `--wait` until it is active (and the inventory).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::rows::{self, Entry, Tally};
use super::{Ctx, OrderJob, Placed, Slot};
use crate::executor::{self, Event, Interrupt, JobResult, Policy, ReadRetry, wait};
use crate::money::Money;
use crate::report::RowOutcome;

/// Starts showing one executor run's events: `(jobs, label, events)` → the display's task,
/// which ends when the executor drops its sender.
pub type Show<'a> =
    dyn Fn(usize, &str, mpsc::UnboundedReceiver<Event>) -> JoinHandle<()> + Sync + 'a;

/// What the order phase needs of the run.
pub struct Phases<'a> {
    /// What every order job shares.
    pub ctx: &'a Arc<Ctx>,
    /// The executor's policy.
    pub policy: &'a Policy,
    /// Retries of plain reads.
    pub retry: ReadRetry,
    /// `--canary`.
    pub canary: Option<usize>,
    /// `--wait`.
    pub wait: bool,
    /// How long to wait for servers to become active.
    pub wait_timeout: Duration,
    /// `--inventory`.
    pub inventory: Option<&'a Path>,
    /// Ctrl-C and SIGTERM.
    pub interrupt: &'a Interrupt,
    /// The progress display.
    pub show: &'a Show<'a>,
}

impl Phases<'_> {
    /// The orders: the canary batch first when asked, then the rest.
    pub async fn order(&self, entries: &mut [Entry], prices: &[Option<Money>], tally: &mut Tally) {
        let slots: Vec<Arc<Slot>> = entries.iter().filter_map(|e| e.slot.clone()).collect();
        let index: HashMap<String, usize> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.slot.is_some())
            .map(|(i, e)| (e.key.clone(), i))
            .collect();
        let split = self.canary.map_or(0, |n| n.min(slots.len()));
        let (canary, bulk) = slots.split_at(split);
        if !canary.is_empty() {
            tracing::info!("canary: ordering {} servers first", canary.len());
            let results = self.execute(canary, "canary").await;
            rows::record(entries, &index, results, prices, tally);
            if tally.stopped.is_none() {
                self.check_canary(entries, canary, tally).await;
            }
        }
        if tally.stopped.is_none() && !bulk.is_empty() && !self.interrupt.stop.is_cancelled() {
            let results = self.execute(bulk, "apply").await;
            rows::record(entries, &index, results, prices, tally);
        }
        if self.interrupt.stop.is_cancelled() {
            tally
                .stopped
                .get_or_insert_with(|| "interrupted".to_owned());
        }
    }

    /// One executor run over `slots`, its events shown by the progress display.
    async fn execute(&self, slots: &[Arc<Slot>], label: &str) -> Vec<JobResult<Placed>> {
        let jobs: Vec<OrderJob> = slots
            .iter()
            .map(|slot| OrderJob {
                slot: Arc::clone(slot),
                ctx: Arc::clone(self.ctx),
            })
            .collect();
        let (events, received) = mpsc::unbounded_channel();
        let shown = (self.show)(jobs.len(), label, received);
        // One pacer: the client takes a rate-limit slot per request from it, the executor
        // holds jobs back while a throttled answer cools it down.
        let pacer = Arc::clone(&self.ctx.client.options().pacer);
        let stop = self.interrupt.stop.clone();
        let results = executor::run(jobs, self.policy, pacer, events, stop).await;
        // The display ends when the executor drops its sender; its counters are not needed.
        let _ = shown.await;
        results
    }

    /// Every canary server must be ordered and become active before the rest is ordered.
    async fn check_canary(&self, entries: &mut [Entry], canary: &[Arc<Slot>], tally: &mut Tally) {
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
        let timeout = self.wait_timeout;
        let waited = wait::until_active(
            &self.ctx.client,
            self.retry,
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
    pub async fn observe(&self, entries: &mut [Entry], tally: &Tally) -> usize {
        let retry = self.retry;
        let present = |e: &Entry| e.is_present();
        if !self.wait || tally.stopped.is_some() {
            // A list after ordering only to learn the ids the order answers did not give: a
            // new service's status and address are known only with `--wait` (or `status`).
            let unknown =
                |e: &Entry| e.row.outcome == RowOutcome::Ordered && e.row.service_id.is_none();
            if entries.iter().any(unknown)
                && let Err(e) = wait::refresh(&self.ctx.client, retry, entries, &unknown).await
            {
                tracing::warn!("cannot read the service list after ordering: {e}");
            }
            return 0;
        }
        let timeout = self.wait_timeout;
        let stop = &self.interrupt.stop;
        let waited =
            wait::until_active(&self.ctx.client, retry, entries, &present, timeout, stop).await;
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
        if let Some(path) = self.inventory {
            match wait::write_inventory(path, entries) {
                Ok(n) => tracing::info!("inventory of {n} servers written to {}", path.display()),
                Err(e) => tracing::warn!("cannot write the inventory {}: {e}", path.display()),
            }
        }
        not_ready
    }
}
