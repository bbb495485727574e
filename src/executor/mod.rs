//! The executor: pacing, retries, reconcile-before-retry, journal, events.
