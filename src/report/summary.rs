//! The closing lines of a run: counts per outcome, duration, calls per second.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::csv::{IN_CART, ReportRow, RowOutcome};

/// The closing lines of a run: counts per outcome, duration, calls per second.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Rows per outcome.
    pub counts: BTreeMap<RowOutcome, usize>,
    /// How long the run took.
    pub duration: Duration,
    /// Billing calls sent (e.g. `Pacer::calls`).
    pub calls: u64,
    /// Changes accepted but waiting unpaid in the cart (rows noted [`IN_CART`]).
    pub in_cart: usize,
}

impl Summary {
    /// Counts the outcomes of `rows`.
    pub fn from_rows(rows: &[ReportRow], duration: Duration, calls: u64) -> Self {
        let mut counts = BTreeMap::new();
        for row in rows {
            *counts.entry(row.outcome).or_insert(0) += 1;
        }
        let in_cart = rows
            .iter()
            .filter(|r| r.note.as_deref() == Some(IN_CART))
            .count();
        Self {
            counts,
            duration,
            calls,
            in_cart,
        }
    }

    /// Calls per second over the run.
    pub fn calls_per_second(&self) -> f64 {
        let secs = self.duration.as_secs_f64();
        if secs > 0.0 {
            self.calls as f64 / secs
        } else {
            0.0
        }
    }

    /// Writes the summary to stderr.
    pub fn print(&self) {
        super::eprint_line(&self.to_string());
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.counts.is_empty() {
            f.write_str("nothing to do")?;
        } else {
            let parts: Vec<String> = self
                .counts
                .iter()
                .map(|(outcome, n)| format!("{n} {outcome}"))
                .collect();
            f.write_str(&parts.join(", "))?;
            if self.in_cart > 0 {
                let noun = if self.in_cart == 1 {
                    "change waits"
                } else {
                    "changes wait"
                };
                write!(f, " ({} {noun} in the cart, not paid)", self.in_cart)?;
            }
        }
        write!(
            f,
            " in {:.1}s; {} calls ({:.1}/s)",
            self.duration.as_secs_f64(),
            self.calls,
            self.calls_per_second()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_per_outcome() {
        let rows = [
            ReportRow::new("web", 1, "a", RowOutcome::Ordered),
            ReportRow::new("web", 2, "b", RowOutcome::Ordered),
            ReportRow::new("web", 3, "c", RowOutcome::Failed),
            ReportRow::new("web", 4, "d", RowOutcome::Exists),
        ];
        let s = Summary::from_rows(&rows, Duration::from_secs(4), 10);
        assert_eq!(s.counts[&RowOutcome::Ordered], 2);
        assert_eq!(
            s.to_string(),
            "2 ordered, 1 exists, 1 failed in 4.0s; 10 calls (2.5/s)"
        );
        let mut carted = ReportRow::new("web", 5, "e", RowOutcome::Updated);
        carted.note = Some(IN_CART.to_owned());
        let s = Summary::from_rows(&[carted], Duration::from_secs(1), 1);
        assert_eq!(
            s.to_string(),
            "1 updated (1 change waits in the cart, not paid) in 1.0s; 1 calls (1.0/s)"
        );
        let empty = Summary::from_rows(&[], Duration::ZERO, 0);
        assert_eq!(empty.to_string(), "nothing to do in 0.0s; 0 calls (0.0/s)");
    }
}
