//! The pacer every billing call passes through: a `governor` rate limiter shared by all
//! workers (orders, lists, logins alike), plus a shared cool-down that a throttled or busy
//! answer sets so the whole run slows down, not just the worker that saw it. There is one per
//! run: the client waits on it for every request, and the executor is handed the same one
//! (`Connection::pacer`), holding jobs back while it cools down.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// The longest cool-down ever set (callers cap `Retry-After` far below this; this only
/// keeps instant arithmetic from overflowing).
pub const MAX_COOL_DOWN: Duration = Duration::from_secs(24 * 3600);

/// Shared pacing state. Clone an `Arc<Pacer>` into every task.
#[derive(Debug)]
pub struct Pacer {
    limiter: Option<DefaultDirectRateLimiter>,
    // A std mutex: held only to read or bump an instant, never across an await.
    cooldown_until: Mutex<Option<Instant>>,
    calls: AtomicU64,
}

impl Pacer {
    /// At most `rate` calls per second on average, `burst` at once (both at least 1 / > 0).
    pub fn new(rate: f64, burst: u32) -> Self {
        let period =
            Duration::try_from_secs_f64(1.0 / rate.max(1e-6)).unwrap_or(Duration::from_secs(1));
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let limiter = Quota::with_period(period).map(|q| RateLimiter::direct(q.allow_burst(burst)));
        Self {
            limiter,
            cooldown_until: Mutex::new(None),
            calls: AtomicU64::new(0),
        }
    }

    /// No pacing at all (tests of other parts, the simulator's own tools).
    pub fn unlimited() -> Self {
        Self {
            limiter: None,
            cooldown_until: Mutex::new(None),
            calls: AtomicU64::new(0),
        }
    }

    /// Waits for any cool-down, then for a slot of the rate limit.
    pub async fn wait(&self) {
        self.cooled().await;
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Waits for any cool-down only: the executor holds a job back here before it runs, and
    /// the job's own calls then take their slots of the rate limit in [`Pacer::wait`] (the
    /// client's), so one pacer both limits the rate and carries every cool-down.
    pub async fn cooled(&self) {
        loop {
            let until = *self
                .cooldown_until
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => break,
            }
        }
    }

    /// Holds every caller back for `pause` from now (extends, never shortens, a cool-down).
    /// Saturates: a pause beyond [`MAX_COOL_DOWN`] is that long.
    pub fn cool_down(&self, pause: Duration) {
        let now = Instant::now();
        let until = now.checked_add(pause.min(MAX_COOL_DOWN)).unwrap_or(now);
        let mut guard = self
            .cooldown_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if guard.is_none_or(|t| t < until) {
            *guard = Some(until);
        }
    }

    /// How many calls have passed the pacer.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn burst_passes_at_once_then_paces() {
        let pacer = Pacer::new(20.0, 2);
        let start = std::time::Instant::now();
        for _ in 0..4 {
            pacer.wait().await;
        }
        // two at once, then two more at 50 ms intervals: at least ~100 ms in all
        assert!(
            start.elapsed() >= Duration::from_millis(90),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(pacer.calls(), 4);
    }

    proptest::proptest! {
        #[test]
        fn any_pause_or_rate_is_safe(secs in proptest::num::u64::ANY, nanos in 0u32..1_000_000_000, rate in proptest::num::f64::ANY) {
            let pacer = Pacer::new(rate, 1);
            pacer.cool_down(Duration::new(secs, nanos));
            pacer.cool_down(Duration::MAX);
        }
    }

    #[tokio::test]
    async fn cool_down_holds_everyone() {
        let pacer = Pacer::unlimited();
        pacer.cool_down(Duration::from_millis(60));
        pacer.cool_down(Duration::from_millis(10)); // does not shorten
        let start = std::time::Instant::now();
        pacer.wait().await;
        assert!(start.elapsed() >= Duration::from_millis(55));
    }
}
