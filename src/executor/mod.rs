//! The executor: one generic engine that runs jobs under a [`Policy`] (concurrency, retries
//! with back-off, reconcile-before-retry, failure limit, stop) through the run's one pacer
//! (the client's: the engine waits out its cool-downs, each call takes its rate slot in the
//! client); the jobs of `apply` ([`order`]: paid orders with their lists, domain allocator,
//! rows and phases; [`converge`]: updates and deletes; [`wait`]: until active); and what
//! makes a paid run safe to interrupt and rerun: the [`journal`], the account-and-fleet
//! [`lock`] and the handling of Ctrl-C and SIGTERM ([`interrupt`]).
//!
//! Nothing here prints: the engine reports through [`Event`]s, which `report::progress`
//! turns into the terminal output.

pub mod converge;
mod engine;
pub mod interrupt;
pub mod journal;
pub mod lifecycle;
pub mod lock;
pub mod order;
pub mod retry;
pub mod wait;
mod worker;

use std::path::{Path, PathBuf};

pub use engine::{Event, Job, JobResult, Outcome, Policy, run};
pub use interrupt::Interrupt;
pub use journal::{Journal, JournalError, KeyState, Recorded, Replay};
pub use lock::{FleetLock, LockError, LockKey};
pub use retry::{Backoff, ErrorClass, ReadRetry};

/// The directory beside `manifest` that holds billfleet's own files for it.
pub fn state_dir(manifest: &Path) -> PathBuf {
    let dir = manifest.parent().unwrap_or(Path::new(""));
    dir.join(".billfleet")
}

/// `<manifest dir>/.billfleet/<manifest stem>.<extension>`.
fn state_file(manifest: &Path, extension: &str) -> PathBuf {
    let stem = manifest
        .file_stem()
        .map_or_else(|| "manifest".into(), |s| s.to_string_lossy());
    state_dir(manifest).join(format!("{stem}.{extension}"))
}
