//! One job's life inside the executor: pacing, attempts, back-off, reconcile of unknown
//! outcomes, and the state every worker shares with the dispatcher.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::engine::{Event, Job, JobResult, Outcome, Policy};
use super::retry::ErrorClass;
use crate::pace::Pacer;

/// State shared by the dispatcher and every worker.
pub(super) struct Shared {
    pub(super) policy: Policy,
    pub(super) pacer: Arc<Pacer>,
    pub(super) events: mpsc::UnboundedSender<Event>,
    /// Cancelled by the caller's token (Ctrl-C) or by [`Shared::stop`].
    pub(super) halt: CancellationToken,
    // A std mutex: only set or read, never held across an await.
    pub(super) stop_reason: Mutex<Option<String>>,
    pub(super) announced: AtomicBool,
    pub(super) failures: AtomicU32,
}

impl Shared {
    pub(super) fn emit(&self, event: Event) {
        // A closed channel only means nobody is watching; the run goes on.
        let _ = self.events.send(event);
    }

    /// Stops dispatching for `reason` (the first reason given wins).
    pub(super) fn stop(&self, reason: String) {
        {
            let mut guard = self.stop_reason.lock().unwrap_or_else(|p| p.into_inner());
            guard.get_or_insert(reason);
        }
        self.halt.cancel();
        self.announce();
    }

    pub(super) fn reason(&self) -> String {
        let guard = self.stop_reason.lock().unwrap_or_else(|p| p.into_inner());
        guard.clone().unwrap_or_else(|| "interrupted".to_owned())
    }

    /// Sends [`Event::Stopping`] once.
    pub(super) fn announce(&self) {
        if self.halt.is_cancelled() && !self.announced.swap(true, Ordering::SeqCst) {
            self.emit(Event::Stopping {
                reason: self.reason(),
            });
        }
    }

    /// Waits out the pacer's cool-down (the job's calls take their rate-limit slots in the
    /// client); false when the run stopped first (nothing may be sent then).
    async fn pace(&self) -> bool {
        tokio::select! {
            biased;
            () = self.halt.cancelled() => false,
            () = self.pacer.cooled() => true,
        }
    }

    /// Waits before retrying: a throttle cools the whole run down, anything else sleeps
    /// this worker only; a stop cuts the wait short.
    async fn back_off(&self, wait: Duration, class: ErrorClass) {
        if let ErrorClass::Throttle { .. } = class {
            self.pacer.cool_down(wait);
            return;
        }
        tokio::select! {
            biased;
            () = self.halt.cancelled() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }

    fn throttle_after(class: ErrorClass) -> Option<Duration> {
        match class {
            ErrorClass::Throttle { after } => after,
            _ => None,
        }
    }
}

/// One job from start to end, with its events and its share of the failure count.
pub(super) async fn run_one<J: Job>(
    job: &J,
    index: usize,
    shared: &Shared,
) -> JobResult<J::Output> {
    let key = job.key().to_owned();
    let started = Instant::now();
    shared.emit(Event::Started {
        index,
        key: key.clone(),
    });
    let (outcome, attempts) = Worker { job, index, shared }.drive().await;
    match &outcome {
        Outcome::Done(_) => shared.emit(Event::Done {
            index,
            key: key.clone(),
        }),
        Outcome::Failed { error, .. } => {
            shared.emit(Event::Failed {
                index,
                key: key.clone(),
                error: error.clone(),
            });
            let failures = shared.failures.fetch_add(1, Ordering::SeqCst) + 1;
            if let Some(max) = shared.policy.max_failures.filter(|max| failures >= *max) {
                shared.stop(format!("{failures} jobs failed (the limit is {max})"));
            }
        }
        Outcome::Skipped { .. } => shared.emit(Event::Skipped {
            index,
            key: key.clone(),
        }),
    }
    JobResult {
        index,
        key,
        outcome,
        attempts,
        duration: started.elapsed(),
    }
}

/// The retry loop of one job.
struct Worker<'a, J> {
    job: &'a J,
    index: usize,
    shared: &'a Shared,
}

/// Why a job gave up: the message and the class that go into [`Outcome::Failed`].
type Failure = (String, ErrorClass);

impl<J: Job> Worker<'_, J> {
    fn failed<O>(&self, (error, class): Failure) -> Outcome<O> {
        Outcome::Failed { error, class }
    }

    fn retrying(&self, attempt: u32, wait: Duration, reason: String) {
        self.shared.emit(Event::Retrying {
            index: self.index,
            key: self.job.key().to_owned(),
            attempt,
            wait,
            reason,
        });
    }

    /// Attempts until done, out of retries, failed for good, or stopped.
    async fn drive(&self) -> (Outcome<J::Output>, u32) {
        let policy = &self.shared.policy;
        let mut attempts = 0u32;
        let mut last: Option<Failure> = None;
        loop {
            if !self.shared.pace().await {
                let reason = self.shared.reason();
                let outcome = match last {
                    None => Outcome::Skipped { reason },
                    Some((error, class)) => {
                        self.failed((format!("{error} (not retried: {reason})"), class))
                    }
                };
                return (outcome, attempts);
            }
            attempts += 1;
            let error = match self.job.attempt(attempts).await {
                Ok(out) => return (Outcome::Done(out), attempts),
                Err(error) => error,
            };
            let mut class = self.job.classify(&error);
            let mut message = error.to_string();
            drop(error);
            match class {
                ErrorClass::Permanent => return (self.failed((message, class)), attempts),
                ErrorClass::Fatal => {
                    self.shared
                        .stop(format!("fatal error on {}: {message}", self.job.key()));
                    return (self.failed((message, class)), attempts);
                }
                ErrorClass::Unknown => match self.reconcile(&message).await {
                    Ok(Some(out)) => return (Outcome::Done(out), attempts),
                    Ok(None) => {
                        // Checked: it did not happen, so it is safe to send again.
                        message = format!("{message} (checked: not done)");
                        class = ErrorClass::Retry;
                    }
                    Err(failure) => return (self.failed(failure), attempts),
                },
                ErrorClass::Retry | ErrorClass::Throttle { .. } => {}
            }
            if attempts > policy.retries {
                let error = format!("{message} (gave up after {attempts} attempts)");
                return (self.failed((error, class)), attempts);
            }
            let wait = policy
                .backoff
                .delay(attempts - 1, Shared::throttle_after(class));
            self.retrying(attempts + 1, wait, message.clone());
            self.shared.back_off(wait, class).await;
            last = Some((message, class));
        }
    }

    /// Looks up a call whose outcome is unknown, retrying the look-up on transient errors.
    async fn reconcile(&self, cause: &str) -> Result<Option<J::Output>, Failure> {
        let policy = &self.shared.policy;
        let unknown = |detail: String| {
            (
                format!("{cause}; outcome unknown: {detail}"),
                ErrorClass::Unknown,
            )
        };
        self.shared.emit(Event::Reconciling {
            index: self.index,
            key: self.job.key().to_owned(),
        });
        let mut checks = 0u32;
        loop {
            // A look-up only reads, so it goes on after a stop (Ctrl-C, SIGTERM): what was in
            // flight is settled before the report is written. Its retries are not waited for
            // once stopping (see `back_off`), so this stays bounded by the retry budget.
            self.shared.pacer.cooled().await;
            checks += 1;
            let error = match self.job.reconcile().await {
                Ok(found) => return Ok(found),
                Err(error) => error,
            };
            let class = self.job.classify(&error);
            let message = error.to_string();
            drop(error);
            if class == ErrorClass::Fatal {
                self.shared
                    .stop(format!("fatal error on {}: {message}", self.job.key()));
                let (error, _) = unknown(format!("checking failed: {message}"));
                return Err((error, ErrorClass::Fatal));
            }
            if class == ErrorClass::Permanent || checks > policy.retries {
                return Err(unknown(format!("checking failed: {message}")));
            }
            let wait = policy
                .backoff
                .delay(checks - 1, Shared::throttle_after(class));
            self.retrying(0, wait, format!("checking: {message}"));
            self.shared.back_off(wait, class).await;
        }
    }
}
