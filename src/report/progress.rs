//! Progress of a run: one task consumes the executor's [`Event`]s and alone writes to stderr
//! while the run lasts: an indicatif bar on a terminal, a plain line every few seconds
//! otherwise; then a [`Summary`](super::Summary).

use std::collections::HashSet;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::executor::Event;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiMode {
    /// An indicatif bar (stderr is a terminal).
    Bar,
    /// A plain line every few seconds and at the end (logs, CI).
    Plain,
    /// Nothing (quiet runs, tests).
    Hidden,
}

/// Where each job of a run stands, kept up to date from the events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Jobs in the run.
    pub total: usize,
    /// Jobs done.
    pub done: usize,
    /// Jobs failed.
    pub failed: usize,
    /// Jobs skipped.
    pub skipped: usize,
    /// Why the run stopped early, if it did.
    pub stopping: Option<String>,
    active: HashSet<usize>,
    retrying: HashSet<usize>,
    /// Services per job (a batch call acts on many); empty: one each.
    weights: Vec<usize>,
}

impl Counters {
    /// Counters for a run of `total` jobs.
    pub fn new(total: usize) -> Self {
        Self {
            total,
            ..Self::default()
        }
    }

    /// Counters that count services, `weights[i]` for job `i` (a batch of ids per call).
    pub fn weighted(weights: Vec<usize>) -> Self {
        Self {
            total: weights.iter().sum(),
            weights,
            ..Self::default()
        }
    }

    fn weight(&self, index: usize) -> usize {
        self.weights.get(index).copied().unwrap_or(1)
    }

    /// Takes one event into account.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Queued { total } if self.weights.is_empty() => self.total = *total,
            Event::Queued { .. } => {}
            Event::Started { index, .. } => {
                self.active.insert(*index);
            }
            Event::Retrying { index, .. } => {
                if self.active.contains(index) {
                    self.retrying.insert(*index);
                }
            }
            Event::Reconciling { .. } => {}
            Event::Done { index, .. } => {
                let n = self.weight(*index);
                self.finish(*index, |c| c.done += n);
            }
            Event::Failed { index, .. } => {
                let n = self.weight(*index);
                self.finish(*index, |c| c.failed += n);
            }
            Event::Skipped { index, .. } => {
                let n = self.weight(*index);
                self.finish(*index, |c| c.skipped += n);
            }
            Event::Stopping { reason } => self.stopping = Some(reason.clone()),
        }
    }

    fn finish(&mut self, index: usize, count: impl FnOnce(&mut Self)) {
        self.active.remove(&index);
        self.retrying.remove(&index);
        count(self);
    }

    /// Jobs done, failed or skipped.
    pub fn finished(&self) -> usize {
        self.done + self.failed + self.skipped
    }

    /// Jobs attempted to the end (done or failed; skipped ones are not progress).
    pub fn completed(&self) -> usize {
        self.done + self.failed
    }

    /// Jobs started and not finished.
    pub fn in_flight(&self) -> usize {
        self.active.iter().map(|i| self.weight(*i)).sum()
    }

    /// Jobs in flight that have had to retry.
    pub fn retrying(&self) -> usize {
        self.retrying.iter().map(|i| self.weight(*i)).sum()
    }

    /// Jobs not started yet.
    pub fn queued(&self) -> usize {
        self.total
            .saturating_sub(self.finished())
            .saturating_sub(self.in_flight())
    }

    /// The counters in a few words, for the bar's message (skipped only once there are).
    fn brief(&self) -> String {
        let mut text = format!(
            "done {} · in flight {} · queued {} · failed {} · retrying {}",
            self.done,
            self.in_flight(),
            self.queued(),
            self.failed,
            self.retrying()
        );
        if self.skipped > 0 {
            text.push_str(&format!(" · skipped {}", self.skipped));
        }
        text
    }

    /// Rate (one decimal) and estimated time left, from the jobs completed so far.
    fn pace(&self, elapsed: Duration) -> String {
        let completed = self.completed();
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            completed as f64 / secs
        } else {
            0.0
        };
        let left = self.total.saturating_sub(self.finished());
        let eta = if left == 0 {
            "0s".to_owned()
        } else if rate > 0.0 {
            format!("{:.0}s", left as f64 / rate)
        } else {
            "?".to_owned()
        };
        format!("{rate:.1}/s, eta {eta}")
    }

    /// The plain progress line: counters, rate and estimated time left.
    pub fn plain_line(&self, label: &str, elapsed: Duration) -> String {
        format!(
            "{label}: {}/{} ({}); {}",
            self.completed(),
            self.total,
            self.brief(),
            self.pace(elapsed)
        )
    }
}

/// The progress display of one run.
#[derive(Debug)]
pub struct Ui {
    label: String,
    counters: Counters,
    mode: UiMode,
    every: Duration,
    in_flight: Option<Arc<AtomicUsize>>,
}

impl Ui {
    /// A display for `total` jobs: a bar when stderr is a terminal, plain lines otherwise,
    /// nothing with `-q`.
    pub fn new(total: usize, label: &str) -> Self {
        let mode = if super::term::quiet() {
            UiMode::Hidden
        } else if std::io::stderr().is_terminal() {
            UiMode::Bar
        } else {
            UiMode::Plain
        };
        Self {
            label: label.to_owned(),
            counters: Counters::new(total),
            mode,
            every: Duration::from_secs(5),
            in_flight: None,
        }
    }

    /// Counts services rather than calls: job `i` acts on `weights[i]` services.
    pub fn with_weights(mut self, weights: Vec<usize>) -> Self {
        self.counters = Counters::weighted(weights);
        self
    }

    /// Chooses how progress is shown.
    pub fn with_mode(mut self, mode: UiMode) -> Self {
        self.mode = mode;
        self
    }

    /// Keeps `gauge` equal to the number of jobs in flight (for the Ctrl-C message).
    pub fn with_in_flight(mut self, gauge: Arc<AtomicUsize>) -> Self {
        self.in_flight = Some(gauge);
        self
    }

    /// Consumes events until the channel closes (the executor is done and every sender is
    /// dropped); returns the final counters.
    pub async fn run(mut self, mut events: mpsc::UnboundedReceiver<Event>) -> Counters {
        let started = Instant::now();
        super::spinner::clear();
        let bar = (self.mode == UiMode::Bar).then(|| self.bar());
        let _active = bar.as_ref().map(|(multi, _)| super::activate(multi));
        let mut ticks = tokio::time::interval_at(started + self.every, self.every);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => {
                        self.on_event(&event, bar.as_ref().map(|(_, b)| b), started.elapsed());
                    }
                    None => break,
                },
                _ = ticks.tick(), if self.mode == UiMode::Plain => {
                    super::eprint_line(&self.counters.plain_line(&self.label, started.elapsed()));
                }
            }
        }
        match (&bar, self.mode) {
            (Some((_, bar)), _) => bar.finish_and_clear(),
            (None, UiMode::Plain) => {
                super::eprint_line(&self.counters.plain_line(&self.label, started.elapsed()));
            }
            _ => {}
        }
        self.counters
    }

    /// The bar: never wider than the terminal (the message is cut to fit), rate and time
    /// left in the message, bold label only where stderr takes colour.
    fn bar(&self) -> (MultiProgress, ProgressBar) {
        let multi = MultiProgress::new();
        let bar = multi.add(ProgressBar::new(self.counters.total as u64));
        let template = if super::term::stderr_colour() {
            "{prefix:.bold} [{bar:20}] {pos}/{len} {wide_msg}"
        } else {
            "{prefix} [{bar:20}] {pos}/{len} {wide_msg}"
        };
        let style = ProgressStyle::with_template(template)
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(self.label.clone());
        bar.set_message(self.counters.brief());
        bar.enable_steady_tick(Duration::from_millis(250));
        (multi, bar)
    }

    fn on_event(&mut self, event: &Event, bar: Option<&ProgressBar>, elapsed: Duration) {
        self.counters.apply(event);
        if let Some(gauge) = &self.in_flight {
            gauge.store(self.counters.in_flight(), Ordering::SeqCst);
        }
        match event {
            Event::Failed { key, error, .. } => tracing::warn!("{key} failed: {error}"),
            Event::Retrying {
                key, wait, reason, ..
            } => tracing::debug!("{key}: retrying in {:.1}s: {reason}", wait.as_secs_f64()),
            Event::Reconciling { key, .. } => {
                tracing::info!("{key}: outcome unknown, checking the billing before resending");
            }
            Event::Stopping { reason } => tracing::warn!(
                "stopping ({reason}): {} calls in flight finish, the rest are skipped",
                self.counters.in_flight()
            ),
            _ => {}
        }
        if let Some(bar) = bar {
            bar.set_length(self.counters.total as u64);
            bar.set_position(self.counters.completed() as u64);
            bar.set_message(format!(
                "{} · {}",
                self.counters.brief(),
                self.counters.pace(elapsed)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev_started(index: usize) -> Event {
        Event::Started {
            index,
            key: format!("web-{index}"),
        }
    }

    #[test]
    fn counters_follow_the_events() {
        let mut c = Counters::new(0);
        c.apply(&Event::Queued { total: 5 });
        c.apply(&ev_started(0));
        c.apply(&ev_started(1));
        c.apply(&Event::Retrying {
            index: 1,
            key: "web-1".into(),
            attempt: 2,
            wait: Duration::from_secs(1),
            reason: "busy".into(),
        });
        assert_eq!((c.in_flight(), c.queued(), c.retrying()), (2, 3, 1));
        c.apply(&Event::Done {
            index: 0,
            key: "web-0".into(),
        });
        c.apply(&Event::Failed {
            index: 1,
            key: "web-1".into(),
            error: "no".into(),
        });
        c.apply(&Event::Skipped {
            index: 4,
            key: "web-4".into(),
        });
        assert_eq!((c.done, c.failed, c.skipped), (1, 1, 1));
        assert_eq!((c.in_flight(), c.queued(), c.retrying()), (0, 2, 0));
        assert_eq!(c.finished(), 3);
    }

    #[test]
    fn weighted_counters_count_services() {
        let mut c = Counters::weighted(vec![50, 20]);
        c.apply(&Event::Queued { total: 2 });
        c.apply(&ev_started(0));
        assert_eq!((c.total, c.in_flight(), c.queued()), (70, 50, 20));
        c.apply(&Event::Done {
            index: 0,
            key: String::new(),
        });
        c.apply(&Event::Skipped {
            index: 1,
            key: String::new(),
        });
        assert_eq!((c.done, c.skipped, c.completed()), (50, 20, 50));
    }

    #[test]
    fn plain_line_has_counters_rate_and_eta() {
        let mut c = Counters::new(10);
        for i in 0..4 {
            c.apply(&ev_started(i));
        }
        for i in 0..2 {
            c.apply(&Event::Done {
                index: i,
                key: String::new(),
            });
        }
        let line = c.plain_line("apply", Duration::from_secs(4));
        assert_eq!(
            line,
            "apply: 2/10 (done 2 · in flight 2 · queued 6 · failed 0 · retrying 0); \
             0.5/s, eta 16s"
        );
        for i in 4..10 {
            c.apply(&Event::Skipped {
                index: i,
                key: String::new(),
            });
        }
        let line = c.plain_line("apply", Duration::from_secs(4));
        assert!(line.starts_with("apply: 2/10 ("), "{line}");
        assert!(line.contains("skipped 6"), "{line}");
    }

    #[tokio::test]
    async fn ui_consumes_until_the_channel_closes_and_sets_the_gauge() {
        let (tx, rx) = mpsc::unbounded_channel();
        let gauge = Arc::new(AtomicUsize::new(0));
        let ui = Ui::new(3, "apply")
            .with_mode(UiMode::Hidden)
            .with_in_flight(Arc::clone(&gauge));
        let task = tokio::spawn(ui.run(rx));
        tx.send(Event::Queued { total: 3 }).unwrap();
        tx.send(ev_started(0)).unwrap();
        tx.send(ev_started(1)).unwrap();
        tx.send(Event::Done {
            index: 0,
            key: "web-0".into(),
        })
        .unwrap();
        drop(tx);
        let counters = task.await.unwrap();
        assert_eq!(
            (counters.done, counters.in_flight(), counters.queued()),
            (1, 1, 1)
        );
        assert_eq!(gauge.load(Ordering::SeqCst), 1);
    }
}
