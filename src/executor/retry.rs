//! How a failed call is handled: the error classes jobs map their errors to (and the one
//! mapping of billing errors, [`class_of`]), the exponential back-off with full jitter between
//! attempts, and the retries of plain reads ([`ReadRetry`]).

use std::future::Future;
use std::time::Duration;

use crate::api::{ApiError, ErrorKind};

use rand::Rng;

/// What a failed call means for the run. Jobs map their own errors to one of these
/// (see [`Job::classify`](super::Job::classify)); the executor acts on the class only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Not done, and safe to send again (e.g. the connection was refused before sending).
    Retry,
    /// Safe to send again, and the billing asks everyone to slow down: the whole executor
    /// cools down for `after` (a Retry-After), or for a back-off delay when none was given.
    Throttle {
        /// How long the billing asked to wait, when it said.
        after: Option<Duration>,
    },
    /// The outcome is unknown (timeout, dropped connection, a 5xx or 429 after sending, a
    /// gateway page): the job must be reconciled before anything is sent again. Only a
    /// billing error document proves that a call was not carried out.
    Unknown,
    /// This job failed for good; the others carry on.
    Permanent,
    /// Nothing more may be sent at all (authentication refused, insufficient funds).
    Fatal,
}

impl ErrorClass {
    /// True for the classes after which the same call may be sent again as it is.
    pub fn is_transient(self) -> bool {
        matches!(self, Self::Retry | Self::Throttle { .. })
    }

    /// A short lower-case name for logs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::Throttle { .. } => "throttle",
            Self::Unknown => "unknown",
            Self::Permanent => "permanent",
            Self::Fatal => "fatal",
        }
    }
}

/// Exponential back-off with full jitter: before further attempt `n` (0-based) the wait is
/// uniform in `[0, min(cap, base * 2^n)]`, and never shorter than a Retry-After.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first wait.
    pub base: Duration,
    /// The ceiling of every wait.
    pub cap: Duration,
}

impl Default for Backoff {
    /// 1 s base, 30 s cap.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The upper bound of the jittered wait before further attempt `n` (0-based):
    /// `min(cap, base * 2^n)`.
    pub fn ceiling(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait before further attempt `n` (0-based): full jitter below [`Self::ceiling`],
    /// raised to `retry_after` when the billing asked for at least that.
    pub fn delay(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self.ceiling(n);
        let jittered = if ceiling.is_zero() {
            Duration::ZERO
        } else {
            let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
            Duration::from_nanos(rand::rng().random_range(0..=nanos))
        };
        match retry_after {
            Some(after) => jittered.max(after),
            None => jittered,
        }
    }
}

/// Retries of read calls (lists, whoami, previews) that failed transiently.
#[derive(Debug, Clone, Copy)]
pub struct ReadRetry {
    /// Further attempts after the first.
    pub retries: u32,
    /// Waits between attempts.
    pub backoff: Backoff,
}

impl ReadRetry {
    /// Runs `call` until it succeeds, fails for good, or the retries are used up.
    pub async fn run<T, F, Fut>(&self, mut call: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut failures = 0u32;
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(e) if e.retryable() && failures < self.retries => {
                    let wait = self.backoff.delay(failures, e.retry_after());
                    tracing::debug!("{e}; retrying in {:.1}s", wait.as_secs_f64());
                    failures += 1;
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// What the executor does after a failed billing call: fatal refusals stop the run; a write
/// whose outcome is unknown is reconciled (only a billing error document proves a refusal, so
/// a 429 or 503 after a paid call is reconciled too, after the pause it asked for, which the
/// client has already set on the shared pacer); a throttled read slows everyone; a call that
/// may simply be sent again is retried; anything else fails that item only.
pub fn class_of(error: &ApiError) -> ErrorClass {
    if error.is_fatal() {
        ErrorClass::Fatal
    } else if error.outcome_unknown() {
        ErrorClass::Unknown
    } else if let ErrorKind::Throttled { retry_after } = error.kind {
        ErrorClass::Throttle { after: retry_after }
    } else if error.retryable() {
        ErrorClass::Retry
    } else {
        ErrorClass::Permanent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_up_to_the_cap() {
        let b = Backoff::default();
        assert_eq!(b.ceiling(0), Duration::from_secs(1));
        assert_eq!(b.ceiling(1), Duration::from_secs(2));
        assert_eq!(b.ceiling(4), Duration::from_secs(16));
        assert_eq!(b.ceiling(5), Duration::from_secs(30));
        assert_eq!(b.ceiling(40), Duration::from_secs(30));
    }

    #[test]
    fn full_jitter_stays_within_bounds_and_spreads() {
        let b = Backoff::default();
        for n in 0..8 {
            let delays: Vec<_> = (0..200).map(|_| b.delay(n, None)).collect();
            assert!(delays.iter().all(|d| *d <= b.ceiling(n)), "n={n}");
            let distinct: std::collections::HashSet<_> = delays.iter().collect();
            assert!(distinct.len() > 100, "n={n}: {} distinct", distinct.len());
        }
    }

    #[test]
    fn retry_after_is_a_floor() {
        let b = Backoff::default();
        for _ in 0..100 {
            assert!(b.delay(0, Some(Duration::from_secs(7))) >= Duration::from_secs(7));
            // above the ceiling it is exactly the Retry-After
            assert_eq!(
                b.delay(0, Some(Duration::from_secs(45))),
                Duration::from_secs(45)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_durations_saturate(
            base in proptest::num::u64::ANY,
            cap in proptest::num::u64::ANY,
            after in proptest::num::u64::ANY,
            n in proptest::num::u32::ANY,
        ) {
            let b = Backoff {
                base: Duration::from_secs(base),
                cap: Duration::from_secs(cap),
            };
            let d = b.delay(n, Some(Duration::from_secs(after)));
            proptest::prop_assert!(d >= Duration::from_secs(after));
            proptest::prop_assert!(b.ceiling(n) <= b.cap);
        }
    }

    #[test]
    fn zero_base_never_waits() {
        let b = Backoff {
            base: Duration::ZERO,
            cap: Duration::from_secs(30),
        };
        assert_eq!(b.delay(3, None), Duration::ZERO);
    }

    #[test]
    fn transient_classes() {
        assert!(ErrorClass::Retry.is_transient());
        assert!(ErrorClass::Throttle { after: None }.is_transient());
        assert!(!ErrorClass::Unknown.is_transient());
        assert!(!ErrorClass::Permanent.is_transient());
        assert!(!ErrorClass::Fatal.is_transient());
    }
}
