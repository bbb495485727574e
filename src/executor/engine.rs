//! The one generic executor: runs jobs in order with at most `concurrency` in flight, every
//! call paced by the shared [`Pacer`], transient failures retried with back-off, unknown
//! outcomes reconciled before anything is sent again, and a stop (fatal error, failure limit,
//! Ctrl-C) that lets calls in flight finish and skips the rest.
//!
//! Workers never print: everything they do goes down the [`Event`] channel.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::retry::{Backoff, ErrorClass};
use crate::pace::Pacer;

/// One unit of work: typically one paid billing call for one declared server.
pub trait Job: Send + Sync + 'static {
    /// What a successful call yields (e.g. the new service id).
    type Output: Send + 'static;
    /// The job's error; only its `Display` and its [`ErrorClass`] reach the executor.
    type Error: fmt::Display + Send + 'static;

    /// The stable key of the job (e.g. `web-7`), used in events and results.
    fn key(&self) -> &str;

    /// Sends the call once. `number` is 1 for the first attempt, 2 for the first retry, …
    /// (handy for a journal intent written before the call).
    fn attempt(
        &self,
        number: u32,
    ) -> impl Future<Output = Result<Self::Output, Self::Error>> + Send;

    /// After an [`ErrorClass::Unknown`] outcome: looks the result up (e.g. in the billing's
    /// service list). `Ok(Some(out))` = it happened; `Ok(None)` = it did not, send again.
    fn reconcile(&self) -> impl Future<Output = Result<Option<Self::Output>, Self::Error>> + Send;

    /// Maps an error of [`Self::attempt`] or [`Self::reconcile`] to what the executor does.
    fn classify(&self, error: &Self::Error) -> ErrorClass;
}

/// How the executor runs a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Jobs in flight at most (0 is treated as 1).
    pub concurrency: usize,
    /// Further attempts after the first one of a call that failed transiently; checking an
    /// unknown outcome has a budget of its own of the same size.
    pub retries: u32,
    /// Waits between attempts.
    pub backoff: Backoff,
    /// Stop dispatching once this many jobs have failed.
    pub max_failures: Option<u32>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            concurrency: 4,
            retries: 4,
            backoff: Backoff::default(),
            max_failures: None,
        }
    }
}

/// The result of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobResult<O> {
    /// The position of the job in the input.
    pub index: usize,
    /// [`Job::key`].
    pub key: String,
    /// What became of it.
    pub outcome: Outcome<O>,
    /// Calls sent by [`Job::attempt`] (0 when skipped).
    pub attempts: u32,
    /// From the start of the job to its end (zero when skipped).
    pub duration: Duration,
}

/// What became of one job.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<O> {
    /// The call succeeded (or, after an unknown outcome, the reconcile found it done).
    Done(O),
    /// The job gave up; `class` is that of the last error.
    Failed {
        /// The last error, with what the executor made of it.
        error: String,
        /// The class of the last error.
        class: ErrorClass,
    },
    /// Nothing was sent, because the run was stopping.
    Skipped {
        /// Why the run stopped.
        reason: String,
    },
}

/// What the executor reports while it runs, in the order things happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The batch starts with `total` jobs.
    Queued { total: usize },
    /// A job was dispatched.
    Started { index: usize, key: String },
    /// A call failed; attempt number `attempt` follows after `wait` (`attempt` is 0 when
    /// the look-up of an unknown outcome is what is retried).
    Retrying {
        index: usize,
        key: String,
        attempt: u32,
        wait: Duration,
        reason: String,
    },
    /// The outcome of a call is unknown: the job is being looked up.
    Reconciling { index: usize, key: String },
    /// The job is done.
    Done { index: usize, key: String },
    /// The job failed.
    Failed {
        index: usize,
        key: String,
        error: String,
    },
    /// The job was not attempted.
    Skipped { index: usize, key: String },
    /// The run stops dispatching: calls in flight finish, the rest are skipped.
    Stopping { reason: String },
}

/// State shared by the dispatcher and every worker.
struct Shared {
    policy: Policy,
    pacer: Arc<Pacer>,
    events: mpsc::UnboundedSender<Event>,
    /// Cancelled by the caller's token (Ctrl-C) or by [`Shared::stop`].
    halt: CancellationToken,
    // A std mutex: only set or read, never held across an await.
    stop_reason: Mutex<Option<String>>,
    announced: AtomicBool,
    failures: AtomicU32,
}

impl Shared {
    fn emit(&self, event: Event) {
        // A closed channel only means nobody is watching; the run goes on.
        let _ = self.events.send(event);
    }

    /// Stops dispatching for `reason` (the first reason given wins).
    fn stop(&self, reason: String) {
        {
            let mut guard = self.stop_reason.lock().unwrap_or_else(|p| p.into_inner());
            guard.get_or_insert(reason);
        }
        self.halt.cancel();
        self.announce();
    }

    fn reason(&self) -> String {
        let guard = self.stop_reason.lock().unwrap_or_else(|p| p.into_inner());
        guard.clone().unwrap_or_else(|| "interrupted".to_owned())
    }

    /// Sends [`Event::Stopping`] once.
    fn announce(&self) {
        if self.halt.is_cancelled() && !self.announced.swap(true, Ordering::SeqCst) {
            self.emit(Event::Stopping {
                reason: self.reason(),
            });
        }
    }

    /// Waits for the pacer; false when the run stopped first (nothing may be sent then).
    async fn pace(&self) -> bool {
        tokio::select! {
            biased;
            () = self.halt.cancelled() => false,
            () = self.pacer.wait() => true,
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

/// Runs `jobs` under `policy` and returns one result per job, sorted by index.
///
/// Jobs are dispatched in order, at most `policy.concurrency` at once. A fatal error,
/// reaching `policy.max_failures`, or `cancel` stops dispatching: jobs in flight finish their
/// current call (no further retries), the rest come back [`Outcome::Skipped`].
pub async fn run<J: Job>(
    jobs: Vec<J>,
    policy: &Policy,
    pacer: Arc<Pacer>,
    events: mpsc::UnboundedSender<Event>,
    cancel: CancellationToken,
) -> Vec<JobResult<J::Output>> {
    let total = jobs.len();
    let shared = Arc::new(Shared {
        policy: policy.clone(),
        pacer,
        events,
        halt: cancel.child_token(),
        stop_reason: Mutex::new(None),
        announced: AtomicBool::new(false),
        failures: AtomicU32::new(0),
    });
    shared.emit(Event::Queued { total });
    let watcher = tokio::spawn({
        let shared = Arc::clone(&shared);
        async move {
            shared.halt.cancelled().await;
            shared.announce();
        }
    });

    let mut results = Vec::with_capacity(total);
    let mut running = dispatch(jobs, &shared, &mut results).await;
    while let Some((index, key, joined)) = join_next(&mut running).await {
        results.push(joined.unwrap_or_else(|error| JobResult {
            index,
            key,
            outcome: Outcome::Failed {
                error: format!("the job ended abnormally: {error}"),
                class: ErrorClass::Permanent,
            },
            attempts: 0,
            duration: Duration::ZERO,
        }));
    }
    shared.announce();
    watcher.abort();
    // Wait for the watcher to be gone so it drops its handle on the event channel.
    let _ = watcher.await;
    results.sort_by_key(|r| r.index);
    results
}

/// Tasks in flight, with the index and key of each task for when one ends abnormally.
struct Running<O> {
    set: JoinSet<JobResult<O>>,
    ids: HashMap<tokio::task::Id, (usize, String)>,
}

type Joined<O> = (usize, String, Result<JobResult<O>, tokio::task::JoinError>);

async fn join_next<O: Send + 'static>(running: &mut Running<O>) -> Option<Joined<O>> {
    let joined = running.set.join_next_with_id().await?;
    let id = match &joined {
        Ok((id, _)) => *id,
        Err(e) => e.id(),
    };
    let (index, key) = running.ids.remove(&id).unwrap_or_default();
    Some((index, key, joined.map(|(_, r)| r)))
}

/// Spawns the jobs in order as permits free up; once the run stops, records the rest as
/// skipped into `results`.
async fn dispatch<J: Job>(
    jobs: Vec<J>,
    shared: &Arc<Shared>,
    results: &mut Vec<JobResult<J::Output>>,
) -> Running<J::Output> {
    let semaphore = Arc::new(Semaphore::new(shared.policy.concurrency.max(1)));
    let mut running = Running {
        set: JoinSet::new(),
        ids: HashMap::new(),
    };
    let mut jobs = jobs.into_iter().enumerate();
    for (index, job) in jobs.by_ref() {
        let permit = tokio::select! {
            biased;
            () = shared.halt.cancelled() => None,
            permit = Arc::clone(&semaphore).acquire_owned() => permit.ok(),
        };
        let Some(permit) = permit else {
            results.push(skipped(index, &job, shared));
            break;
        };
        let key = job.key().to_owned();
        let task_shared = Arc::clone(shared);
        let handle = running.set.spawn(async move {
            let result = run_one(&job, index, &task_shared).await;
            drop(permit);
            result
        });
        running.ids.insert(handle.id(), (index, key));
    }
    for (index, job) in jobs {
        results.push(skipped(index, &job, shared));
    }
    running
}

fn skipped<J: Job>(index: usize, job: &J, shared: &Shared) -> JobResult<J::Output> {
    shared.announce();
    let key = job.key().to_owned();
    shared.emit(Event::Skipped {
        index,
        key: key.clone(),
    });
    JobResult {
        index,
        key,
        outcome: Outcome::Skipped {
            reason: shared.reason(),
        },
        attempts: 0,
        duration: Duration::ZERO,
    }
}

/// One job from start to end, with its events and its share of the failure count.
async fn run_one<J: Job>(job: &J, index: usize, shared: &Shared) -> JobResult<J::Output> {
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
            if !self.shared.pace().await {
                return Err(unknown(format!("not checked: {}", self.shared.reason())));
            }
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
