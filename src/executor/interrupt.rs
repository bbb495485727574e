//! Ctrl-C and SIGTERM (what CI cancellation, `timeout` and service managers send) are one
//! signal source: the first signal stops dispatching (calls in flight finish, unknown
//! outcomes are reconciled, the report is written), the second quits at once. Nothing here
//! exits the process: the command waits on [`Interrupt::abort`] beside its work and returns
//! exit code 3 when it fires.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The two triggers of a run (first and second Ctrl-C or SIGTERM). Dropping it stops
/// listening.
#[derive(Debug)]
pub struct Interrupt {
    /// Cancelled by the first signal: pass it to [`run`](super::run) as its cancel token.
    pub stop: CancellationToken,
    /// Cancelled by the second signal: give up at once.
    pub abort: CancellationToken,
    /// Calls in flight, for the message of the first signal; keep it up to date with
    /// `report::progress::Ui::with_in_flight`.
    pub in_flight: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Interrupt {
    /// Listens for Ctrl-C (`tokio::signal::ctrl_c`) and, on Unix, SIGTERM, either of them
    /// counting as a press. Must be called inside the runtime.
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(term) => {
                    let term = Arc::new(tokio::sync::Mutex::new(term));
                    return Self::with_signal(move || either(Arc::clone(&term)));
                }
                Err(e) => tracing::warn!("cannot listen for SIGTERM: {e}; only Ctrl-C stops a run"),
            }
        }
        Self::with_signal(tokio::signal::ctrl_c)
    }

    /// Listens for presses of any signal source: each call of `signal` waits for one press
    /// (an error means the source is gone, and nothing more is triggered).
    pub fn with_signal<S, F>(mut signal: S) -> Self
    where
        S: FnMut() -> F + Send + 'static,
        F: Future<Output = io::Result<()>> + Send,
    {
        let stop = CancellationToken::new();
        let abort = CancellationToken::new();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let (stop, abort, in_flight) = (stop.clone(), abort.clone(), Arc::clone(&in_flight));
            async move {
                if signal().await.is_err() {
                    return;
                }
                let n = in_flight.load(Ordering::SeqCst);
                tracing::warn!(
                    "stopping: waiting for {n} calls in flight; press Ctrl-C (or send SIGTERM) \
                     again to quit at once (the journal keeps the rerun safe)"
                );
                stop.cancel();
                if signal().await.is_err() {
                    return;
                }
                tracing::warn!("quitting now; rerun the same command to pick up where it left off");
                abort.cancel();
            }
        });
        Self {
            stop,
            abort,
            in_flight,
            task,
        }
    }
}

/// Waits for the next Ctrl-C or SIGTERM, whichever comes first.
#[cfg(unix)]
async fn either(term: Arc<tokio::sync::Mutex<tokio::signal::unix::Signal>>) -> io::Result<()> {
    // An async mutex: the listener task is its only user, one wait at a time.
    let mut term = term.lock().await;
    tokio::select! {
        pressed = tokio::signal::ctrl_c() => pressed,
        got = term.recv() => got.ok_or_else(|| io::Error::other("SIGTERM stream closed")),
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    fn channel_signal() -> (mpsc::UnboundedSender<()>, Interrupt) {
        let (tx, rx) = mpsc::unbounded_channel::<()>();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let interrupt = Interrupt::with_signal(move || {
            let rx = Arc::clone(&rx);
            async move {
                rx.lock()
                    .await
                    .recv()
                    .await
                    .ok_or_else(|| io::Error::other("closed"))
            }
        });
        (tx, interrupt)
    }

    #[tokio::test]
    async fn first_press_stops_second_aborts() {
        let (tx, interrupt) = channel_signal();
        assert!(!interrupt.stop.is_cancelled());
        tx.send(()).unwrap();
        interrupt.stop.cancelled().await;
        assert!(!interrupt.abort.is_cancelled());
        tx.send(()).unwrap();
        interrupt.abort.cancelled().await;
        assert!(interrupt.stop.is_cancelled());
    }

    #[tokio::test]
    async fn a_closed_source_triggers_nothing() {
        let (tx, interrupt) = channel_signal();
        drop(tx);
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!interrupt.stop.is_cancelled());
        assert!(!interrupt.abort.is_cancelled());
    }
}
