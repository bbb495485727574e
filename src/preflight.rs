//! What every mutating command makes sure of before it spends anything: it holds the lock
//! of the billing account and of every group it touches (never of the manifest's path), and
//! it can write its report and its journal.
//!
//! The lock keys come from the same settings the connection uses (`--sandbox`, `--url`,
//! `BILLFLEET_URL`, `--profile`, the manifest's `billing.url`, `--user`), resolved without
//! logging in and without asking for the password, so `billfleet unlock` finds them too
//! ([`clear_locks`]).
//! (Commands reach this module as `commands::preflight`, a re-export.)

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::BillingArgs;
use crate::config::{ConfigError, check_url, find_profile};
use crate::connect::{SANDBOX_USER, sandbox_state_path};
use crate::executor::{FleetLock, LockError, LockKey, lock};
use crate::failure::CmdError;
use crate::manifest::Manifest;

/// The lock keys of every group of `manifest` (read from `path`) on the account `billing`
/// resolves to.
pub(crate) fn lock_keys(
    manifest: &Manifest,
    path: &Path,
    billing: &BillingArgs,
) -> Result<Vec<LockKey>, CmdError> {
    let groups = manifest.groups().map(|g| g.name.as_str());
    if billing.sandbox {
        let state = sandbox_state_path(Some(path));
        return Ok(groups
            .map(|g| LockKey::sandbox(&state, SANDBOX_USER, g))
            .collect());
    }
    let (_, profile) = find_profile(billing.profile.as_deref())?.unwrap_or_default();
    let url = billing
        .url
        .clone()
        .or(profile.url)
        .or_else(|| manifest.billing.url.clone())
        .ok_or(ConfigError::Missing {
            what: "the billing URL",
            hint: "set billing.url in the manifest, BILLFLEET_URL, --url or a profile's url \
                   (or try --sandbox)",
        })?;
    check_url(&url)?;
    let user = billing
        .user
        .clone()
        .or(profile.user)
        .ok_or(ConfigError::Missing {
            what: "the billing user",
            hint: "set BILLFLEET_USER, --user or a profile's user",
        })?;
    groups
        .map(|g| LockKey::billing(&url, &user, g).map_err(|e| CmdError::bad_input(e.to_string())))
        .collect()
}

/// Takes the lock of every group of `manifest` on its account, waiting up to `wait_secs`
/// seconds for another run to finish. A lock still held then aborts (exit 3) naming the
/// holder; a lock that cannot be made at all is bad configuration (exit 2).
pub(crate) async fn lock_fleet(
    manifest: &Manifest,
    path: &Path,
    billing: &BillingArgs,
    wait_secs: u64,
) -> Result<FleetLock, CmdError> {
    let keys = lock_keys(manifest, path, billing)?;
    let dir = lock::default_dir().map_err(|e| CmdError::bad_input(e.to_string()))?;
    FleetLock::acquire(&dir, &keys, Duration::from_secs(wait_secs))
        .await
        .map_err(|e| lock_error(&e, path))
}

/// Removes the lock files of `manifest`'s account and groups (and the per-manifest lock file
/// of earlier versions) that no live process holds, and returns the files removed. A held
/// lock is refused (exit 3) naming its holder.
pub(crate) fn clear_locks(
    manifest: &Manifest,
    path: &Path,
    billing: &BillingArgs,
) -> Result<Vec<PathBuf>, CmdError> {
    let keys = lock_keys(manifest, path, billing)?;
    let dir = lock::default_dir().map_err(|e| CmdError::bad_input(e.to_string()))?;
    let mut removed = FleetLock::clear(&dir, &keys).map_err(|e| lock_error(&e, path))?;
    let legacy = crate::executor::state_dir(path).join(format!(
        "{}.lock",
        path.file_stem()
            .map_or_else(|| "manifest".into(), |s| s.to_string_lossy())
    ));
    if lock::clear_file(&legacy, "the manifest's old lock file")
        .map_err(|e| lock_error(&e, path))?
    {
        removed.push(legacy);
    }
    Ok(removed)
}

/// A lock error as the command's error: a held lock says how to wait or clear it (exit 3).
pub(crate) fn lock_error(e: &LockError, manifest: &Path) -> CmdError {
    match e {
        LockError::Held { .. } => CmdError::aborted(format!(
            "{e}; wait for it with --lock-timeout SECONDS, or if that process is gone, run \
             `billfleet unlock {}`",
            manifest.display()
        )),
        _ => CmdError::bad_input(e.to_string()),
    }
}

/// Checks that a report can be written at `report` and that the journal's directory takes
/// new files: a run must never order and then fail to say what it did.
pub(crate) fn check_writable(report: &Path, journal: Option<&Path>) -> Result<(), String> {
    if report.is_dir() {
        return Err(format!(
            "cannot write the report {}: it is a directory; give a file with --report",
            report.display()
        ));
    }
    probe(report, "the report").map_err(|e| format!("{e}; give another path with --report"))?;
    if let Some(journal) = journal {
        probe(journal, "the journal")?;
    }
    Ok(())
}

/// Creates and removes a file beside `path` (reports and journals are written through new
/// files in their directory).
fn probe(path: &Path, what: &str) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "billfleet".into(), |n| n.to_string_lossy());
    let probe = dir.join(format!(".{name}.{}.probe", std::process::id()));
    match File::create_new(&probe) {
        Ok(file) => {
            drop(file);
            // Best effort: an empty hidden file is all that could stay behind.
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(format!(
            "cannot write {what} {}: {e} (in {})",
            path.display(),
            dir.display()
        )),
    }
}

/// Checks, right before the first paid call, that the locks are still held and the report
/// and journal can still be written; a failure aborts the run (exit 3) with nothing spent.
pub(crate) fn before_spending(
    lock: &FleetLock,
    report: &Path,
    journal: Option<&Path>,
) -> Result<(), CmdError> {
    lock.verify()
        .map_err(|e| CmdError::aborted(format!("{e}; nothing was ordered or changed")))?;
    check_writable(report, journal)
        .map_err(|e| CmdError::aborted(format!("{e}; nothing was ordered or changed")))
}
