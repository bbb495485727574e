//! The executor with fake jobs (no network): retries, throttling, reconcile-before-resend,
//! stops, concurrency, ordering; and a journaling job replayed after a torn write.

use std::collections::VecDeque;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use billfleet::executor::{
    Backoff, ErrorClass, Event, Job, JobResult, Journal, KeyState, Outcome, Policy, Recorded, run,
};
use billfleet::pace::Pacer;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(Debug)]
struct FakeError(ErrorClass);

impl fmt::Display for FakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fake {} error", self.0.name())
    }
}

/// What every fake job of a run saw, shared between them.
#[derive(Default)]
struct Probe {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    reconciles: AtomicUsize,
    // (key, attempt number, when it was sent)
    attempts: Mutex<Vec<(String, u32, Instant)>>,
}

impl Probe {
    fn attempts_of(&self, key: &str) -> Vec<u32> {
        let log = self.attempts.lock().unwrap();
        log.iter().filter(|a| a.0 == key).map(|a| a.1).collect()
    }
}

struct FakeJob {
    key: String,
    /// Errors returned by the first attempts, in order; then success.
    failures: Mutex<VecDeque<ErrorClass>>,
    /// Answers of successive reconciles: Ok(found?) or an error class.
    reconciles: Mutex<VecDeque<Result<bool, ErrorClass>>>,
    hold: Duration,
    probe: Arc<Probe>,
}

impl FakeJob {
    fn new(key: &str, probe: &Arc<Probe>) -> Self {
        Self {
            key: key.to_owned(),
            failures: Mutex::new(VecDeque::new()),
            reconciles: Mutex::new(VecDeque::new()),
            hold: Duration::from_millis(10),
            probe: Arc::clone(probe),
        }
    }

    fn failing(self, classes: &[ErrorClass]) -> Self {
        self.failures.lock().unwrap().extend(classes);
        self
    }

    fn reconciling(self, answers: &[Result<bool, ErrorClass>]) -> Self {
        self.reconciles.lock().unwrap().extend(answers);
        self
    }

    fn holding(mut self, hold: Duration) -> Self {
        self.hold = hold;
        self
    }
}

impl Job for FakeJob {
    type Output = String;
    type Error = FakeError;

    fn key(&self) -> &str {
        &self.key
    }

    async fn attempt(&self, number: u32) -> Result<String, FakeError> {
        let now = self.probe.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.probe.max_in_flight.fetch_max(now, Ordering::SeqCst);
        self.probe
            .attempts
            .lock()
            .unwrap()
            .push((self.key.clone(), number, Instant::now()));
        tokio::time::sleep(self.hold).await;
        self.probe.in_flight.fetch_sub(1, Ordering::SeqCst);
        match self.failures.lock().unwrap().pop_front() {
            Some(class) => Err(FakeError(class)),
            None => Ok(format!("{}#{number}", self.key)),
        }
    }

    async fn reconcile(&self) -> Result<Option<String>, FakeError> {
        self.probe.reconciles.fetch_add(1, Ordering::SeqCst);
        match self.reconciles.lock().unwrap().pop_front() {
            Some(Ok(true)) => Ok(Some(format!("{}#found", self.key))),
            Some(Ok(false)) | None => Ok(None),
            Some(Err(class)) => Err(FakeError(class)),
        }
    }

    fn classify(&self, error: &FakeError) -> ErrorClass {
        error.0
    }
}

fn policy(concurrency: usize, retries: u32) -> Policy {
    Policy {
        concurrency,
        retries,
        backoff: Backoff::default(),
        max_failures: None,
    }
}

async fn execute(
    jobs: Vec<FakeJob>,
    policy: &Policy,
    cancel: CancellationToken,
) -> (Vec<JobResult<String>>, Vec<Event>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let results = run(jobs, policy, Arc::new(Pacer::unlimited()), tx, cancel).await;
    let mut events = Vec::new();
    while let Ok(event) = rx.try_recv() {
        events.push(event);
    }
    (results, events)
}

fn keys(n: usize, probe: &Arc<Probe>) -> Vec<FakeJob> {
    (0..n)
        .map(|i| FakeJob::new(&format!("web-{i}"), probe))
        .collect()
}

fn skipped_reason<O>(result: &JobResult<O>) -> Option<&str> {
    match &result.outcome {
        Outcome::Skipped { reason } => Some(reason),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn transient_failures_then_success() {
    let probe = Arc::new(Probe::default());
    let job = FakeJob::new("web-1", &probe).failing(&[ErrorClass::Retry, ErrorClass::Retry]);
    let (results, events) = execute(vec![job], &policy(2, 4), CancellationToken::new()).await;
    assert_eq!(results[0].outcome, Outcome::Done("web-1#3".to_owned()));
    assert_eq!(results[0].attempts, 3);
    assert_eq!(probe.attempts_of("web-1"), [1, 2, 3]);
    let retries: Vec<(u32, Duration)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Retrying { attempt, wait, .. } => Some((*attempt, *wait)),
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 2);
    assert_eq!((retries[0].0, retries[1].0), (2, 3));
    assert!(retries[0].1 <= Duration::from_secs(1));
    assert!(retries[1].1 <= Duration::from_secs(2));
    assert_eq!(events.first(), Some(&Event::Queued { total: 1 }));
}

#[tokio::test(start_paused = true)]
async fn retries_budget_counts_further_attempts() {
    let probe = Arc::new(Probe::default());
    let job = FakeJob::new("web-1", &probe).failing(&[ErrorClass::Retry; 10]);
    let (results, _) = execute(vec![job], &policy(1, 2), CancellationToken::new()).await;
    assert_eq!(results[0].attempts, 3);
    let Outcome::Failed { error, class } = &results[0].outcome else {
        panic!("{:?}", results[0].outcome);
    };
    assert_eq!(*class, ErrorClass::Retry);
    assert!(error.contains("fake retry error"), "{error}");
}

/// Real time: the pacer's cool-down runs on the wall clock.
#[tokio::test]
async fn throttle_cools_down_the_pacer_for_everyone() {
    let probe = Arc::new(Probe::default());
    let after = Duration::from_millis(300);
    let jobs = vec![
        FakeJob::new("a", &probe)
            .failing(&[ErrorClass::Throttle { after: Some(after) }])
            .holding(Duration::ZERO),
        FakeJob::new("b", &probe).holding(Duration::from_millis(50)),
        FakeJob::new("c", &probe).holding(Duration::ZERO),
    ];
    let mut p = policy(2, 3);
    p.backoff = Backoff {
        base: Duration::from_millis(1),
        cap: Duration::from_millis(10),
    };
    let start = Instant::now();
    let (results, events) = execute(jobs, &p, CancellationToken::new()).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Done(_)))
    );
    let waits: Vec<Duration> = events
        .iter()
        .filter_map(|e| match e {
            Event::Retrying { wait, .. } => Some(*wait),
            _ => None,
        })
        .collect();
    assert_eq!(waits, [after], "the Retry-After is the wait");
    let log = probe.attempts.lock().unwrap();
    let sent = |key: &str, n: u32| {
        log.iter()
            .find(|a| a.0 == key && a.1 == n)
            .map(|a| a.2 - start)
            .unwrap()
    };
    // b was sent before the throttle; c, dispatched after it, had to wait out the cool-down
    assert!(sent("b", 1) < Duration::from_millis(100));
    assert!(
        sent("c", 1) >= Duration::from_millis(250),
        "{:?}",
        sent("c", 1)
    );
    assert!(
        sent("a", 2) >= Duration::from_millis(250),
        "{:?}",
        sent("a", 2)
    );
}

#[tokio::test(start_paused = true)]
async fn unknown_outcome_found_by_reconcile_is_not_resent() {
    let probe = Arc::new(Probe::default());
    let job = FakeJob::new("web-1", &probe)
        .failing(&[ErrorClass::Unknown])
        .reconciling(&[Ok(true)]);
    let (results, events) = execute(vec![job], &policy(1, 4), CancellationToken::new()).await;
    assert_eq!(results[0].outcome, Outcome::Done("web-1#found".to_owned()));
    assert_eq!(results[0].attempts, 1);
    assert_eq!(probe.reconciles.load(Ordering::SeqCst), 1);
    assert!(events.contains(&Event::Reconciling {
        index: 0,
        key: "web-1".into()
    }));
}

#[tokio::test(start_paused = true)]
async fn unknown_outcome_absent_is_resent_exactly_once() {
    let probe = Arc::new(Probe::default());
    let job = FakeJob::new("web-1", &probe)
        .failing(&[ErrorClass::Unknown])
        .reconciling(&[Ok(false)]);
    let (results, _) = execute(vec![job], &policy(1, 4), CancellationToken::new()).await;
    assert_eq!(results[0].outcome, Outcome::Done("web-1#2".to_owned()));
    assert_eq!(probe.attempts_of("web-1"), [1, 2]);
    assert_eq!(probe.reconciles.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn reconcile_is_retried_on_transient_errors() {
    let probe = Arc::new(Probe::default());
    let job = FakeJob::new("web-1", &probe)
        .failing(&[ErrorClass::Unknown])
        .reconciling(&[Err(ErrorClass::Retry), Err(ErrorClass::Unknown), Ok(true)]);
    let (results, _) = execute(vec![job], &policy(1, 4), CancellationToken::new()).await;
    assert_eq!(results[0].outcome, Outcome::Done("web-1#found".to_owned()));
    assert_eq!(results[0].attempts, 1, "never resent");
    assert_eq!(probe.reconciles.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn unknown_outcome_never_resent_when_the_check_keeps_failing() {
    let probe = Arc::new(Probe::default());
    let job = FakeJob::new("web-1", &probe)
        .failing(&[ErrorClass::Unknown])
        .reconciling(&[Err(ErrorClass::Retry); 5]);
    let (results, _) = execute(vec![job], &policy(1, 2), CancellationToken::new()).await;
    let Outcome::Failed { error, class } = &results[0].outcome else {
        panic!("{:?}", results[0].outcome);
    };
    assert_eq!(*class, ErrorClass::Unknown);
    assert!(error.contains("outcome unknown"), "{error}");
    assert_eq!(probe.attempts_of("web-1"), [1]);
    assert_eq!(probe.reconciles.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn permanent_error_fails_only_that_job() {
    let probe = Arc::new(Probe::default());
    let mut jobs = keys(3, &probe);
    jobs[1] = FakeJob::new("web-1", &probe).failing(&[ErrorClass::Permanent]);
    let (results, _) = execute(jobs, &policy(2, 4), CancellationToken::new()).await;
    assert_eq!(results[0].outcome, Outcome::Done("web-0#1".into()));
    assert!(matches!(
        results[1].outcome,
        Outcome::Failed {
            class: ErrorClass::Permanent,
            ..
        }
    ));
    assert_eq!(results[1].attempts, 1);
    assert_eq!(results[2].outcome, Outcome::Done("web-2#1".into()));
}

#[tokio::test(start_paused = true)]
async fn fatal_error_stops_dispatching() {
    let probe = Arc::new(Probe::default());
    let mut jobs = keys(5, &probe);
    jobs[1] = FakeJob::new("web-1", &probe).failing(&[ErrorClass::Fatal]);
    let (results, events) = execute(jobs, &policy(1, 4), CancellationToken::new()).await;
    assert_eq!(results[0].outcome, Outcome::Done("web-0#1".into()));
    assert!(matches!(
        results[1].outcome,
        Outcome::Failed {
            class: ErrorClass::Fatal,
            ..
        }
    ));
    for r in &results[2..] {
        let reason = skipped_reason(r).unwrap();
        assert!(reason.contains("fatal error on web-1"), "{reason}");
        assert_eq!(r.attempts, 0);
        assert!(probe.attempts_of(&r.key).is_empty());
    }
    let stopping = events
        .iter()
        .filter(|e| matches!(e, Event::Stopping { .. }))
        .count();
    assert_eq!(stopping, 1);
}

#[tokio::test(start_paused = true)]
async fn max_failures_stops_dispatching() {
    let probe = Arc::new(Probe::default());
    let jobs = (0..6)
        .map(|i| FakeJob::new(&format!("web-{i}"), &probe).failing(&[ErrorClass::Permanent]))
        .collect();
    let mut p = policy(1, 4);
    p.max_failures = Some(2);
    let (results, _) = execute(jobs, &p, CancellationToken::new()).await;
    let failed = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed { .. }))
        .count();
    assert_eq!(failed, 2);
    assert!(results[2..].iter().all(|r| {
        skipped_reason(r).is_some_and(|reason| reason.contains("2 jobs failed (the limit is 2)"))
    }));
}

#[tokio::test(start_paused = true)]
async fn cancel_lets_calls_in_flight_finish_and_skips_the_rest() {
    let probe = Arc::new(Probe::default());
    let jobs: Vec<FakeJob> = keys(6, &probe)
        .into_iter()
        .map(|j| j.holding(Duration::from_secs(10)))
        .collect();
    let cancel = CancellationToken::new();
    let handle = tokio::spawn({
        let cancel = cancel.clone();
        async move { execute(jobs, &policy(2, 4), cancel).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    cancel.cancel();
    let (results, events) = handle.await.unwrap();
    assert_eq!(results[0].outcome, Outcome::Done("web-0#1".into()));
    assert_eq!(results[1].outcome, Outcome::Done("web-1#1".into()));
    for r in &results[2..] {
        assert_eq!(skipped_reason(r), Some("interrupted"));
    }
    assert!(events.contains(&Event::Stopping {
        reason: "interrupted".into()
    }));
    assert_eq!(probe.attempts.lock().unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn cancel_during_back_off_does_not_resend() {
    let probe = Arc::new(Probe::default());
    let job = FakeJob::new("web-0", &probe).failing(&[ErrorClass::Retry; 3]);
    let cancel = CancellationToken::new();
    let mut p = policy(1, 4);
    p.backoff = Backoff {
        base: Duration::from_secs(20),
        cap: Duration::from_secs(20),
    };
    let handle = tokio::spawn({
        let cancel = cancel.clone();
        async move { execute(vec![job], &p, cancel).await }
    });
    // the first attempt takes 10 ms; then the job sleeps up to 20 s before retrying
    tokio::time::sleep(Duration::from_millis(11)).await;
    cancel.cancel();
    let (results, _) = handle.await.unwrap();
    let Outcome::Failed { error, .. } = &results[0].outcome else {
        panic!("{:?}", results[0].outcome);
    };
    assert!(error.contains("not retried: interrupted"), "{error}");
    assert_eq!(probe.attempts_of("web-0"), [1]);
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_never_exceeded() {
    let probe = Arc::new(Probe::default());
    let jobs = (0..20u64)
        .map(|i| {
            FakeJob::new(&format!("web-{i}"), &probe)
                .holding(Duration::from_millis(5 + (i * 7) % 23))
                .failing(if i % 4 == 0 {
                    &[ErrorClass::Retry]
                } else {
                    &[]
                })
        })
        .collect();
    let (results, _) = execute(jobs, &policy(3, 4), CancellationToken::new()).await;
    assert_eq!(results.len(), 20);
    assert!(
        results
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Done(_)))
    );
    assert_eq!(probe.max_in_flight.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn results_are_sorted_by_index_whatever_the_scheduling() {
    let probe = Arc::new(Probe::default());
    let jobs = (0..8u64)
        .map(|i| FakeJob::new(&format!("web-{i}"), &probe).holding(Duration::from_secs(8 - i)))
        .collect();
    let (results, events) = execute(jobs, &policy(8, 0), CancellationToken::new()).await;
    let order: Vec<(usize, &str)> = results.iter().map(|r| (r.index, r.key.as_str())).collect();
    let expected: Vec<(usize, String)> = (0..8).map(|i| (i, format!("web-{i}"))).collect();
    assert_eq!(
        order,
        expected
            .iter()
            .map(|(i, k)| (*i, k.as_str()))
            .collect::<Vec<_>>()
    );
    let done_order: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Event::Done { index, .. } => Some(*index),
            _ => None,
        })
        .collect();
    assert_eq!(done_order, [7, 6, 5, 4, 3, 2, 1, 0], "finished in reverse");
    assert_eq!(results[0].duration, Duration::from_secs(8));
}

/// A job that journals like a paid order: intent before the call, outcome after.
struct JournaledOrder {
    inner: FakeJob,
    journal: Arc<Journal>,
    domain: String,
}

impl Job for JournaledOrder {
    type Output = String;
    type Error = FakeError;

    fn key(&self) -> &str {
        self.inner.key()
    }

    async fn attempt(&self, number: u32) -> Result<String, FakeError> {
        let key = self.key();
        self.journal
            .record_intent(key, &self.domain, "vds.order.param", number)
            .map_err(|_| FakeError(ErrorClass::Fatal))?;
        let result = self.inner.attempt(number).await;
        let recorded = match &result {
            Ok(id) => Some((Recorded::Ordered, Some(id.as_str()))),
            Err(FakeError(class)) if *class != ErrorClass::Unknown => {
                Some((Recorded::Failed, None))
            }
            Err(_) => None, // unknown: the intent stays pending
        };
        if let Some((outcome, id)) = recorded {
            self.journal
                .record_outcome(key, outcome, id, &self.domain)
                .map_err(|_| FakeError(ErrorClass::Fatal))?;
        }
        result
    }

    async fn reconcile(&self) -> Result<Option<String>, FakeError> {
        self.inner.reconcile().await
    }

    fn classify(&self, error: &FakeError) -> ErrorClass {
        error.0
    }
}

#[tokio::test(start_paused = true)]
async fn journal_replays_a_torn_file_and_records_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("web.yaml");
    let path = Journal::path_for(&manifest);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/executor/torn.journal");
    std::fs::copy(&fixture, &path).unwrap();

    let (journal, replay) = Journal::open(&path).unwrap();
    assert_eq!(replay.skipped_lines, 1, "the torn last line");
    assert_eq!(replay.pending(), ["web-2"]);
    assert_eq!(
        replay.state("web-1"),
        Some(&KeyState::Ordered {
            service_id: Some("101".into()),
            domain: "web-001.example.com".into()
        })
    );
    assert!(matches!(
        replay.state("web-3"),
        Some(KeyState::Failed { .. })
    ));
    assert_eq!(replay.state("web-4"), None);

    // rerun: web-2 is reconciled (absent, so sent once more), web-4 goes through an unknown outcome
    let probe = Arc::new(Probe::default());
    let journal = Arc::new(journal);
    let order = |n: u32, inner: FakeJob| JournaledOrder {
        inner,
        journal: Arc::clone(&journal),
        domain: format!("web-{n:03}.example.com"),
    };
    let jobs = vec![
        order(2, FakeJob::new("web-2", &probe)),
        order(
            4,
            FakeJob::new("web-4", &probe)
                .failing(&[ErrorClass::Unknown])
                .reconciling(&[Ok(false)]),
        ),
    ];
    let (tx, _rx) = mpsc::unbounded_channel();
    let results = run(
        jobs,
        &policy(2, 2),
        Arc::new(Pacer::unlimited()),
        tx,
        CancellationToken::new(),
    )
    .await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Done(_)))
    );
    drop(journal);

    let (_, replay) = Journal::open(&path).unwrap();
    assert_eq!(replay.skipped_lines, 0);
    assert!(replay.pending().is_empty());
    assert_eq!(
        replay.state("web-4"),
        Some(&KeyState::Ordered {
            service_id: Some("web-4#2".into()),
            domain: "web-004.example.com".into()
        })
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 5 + 2 + 3, "old lines + web-2 + web-4");
    assert!(!text.contains("password") && !text.contains("authinfo"));
}
