//! The one generic executor: runs jobs in order with at most `concurrency` in flight, every
//! call paced by the shared [`Pacer`], transient failures retried with back-off, unknown
//! outcomes reconciled before anything is sent again, and a stop (fatal error, failure limit,
//! Ctrl-C) that lets calls in flight finish and skips the rest.
//!
//! Workers never print: everything they do goes down the [`Event`] channel.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::retry::{Backoff, ErrorClass};
use super::worker::{Shared, run_one};
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
