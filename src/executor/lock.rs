//! One mutating run per billing account and fleet group at a time, whatever the manifest's
//! path: two checkouts of one manifest (or a symlink to it) applied at once against one
//! account would otherwise both order the same servers.
//!
//! A [`LockKey`] names what is locked: the normalised billing URL (scheme, host, port, path
//! without a trailing `/`) — or, for the in-process sandbox, its state file — the user and
//! the group name. Each key has one file in the user's state directory
//! ([`default_dir`]: `$XDG_STATE_HOME/billfleet/locks/`, else the platform's equivalent),
//! named after a stable hash of the key plus a readable slug, holding an exclusive OS file
//! lock while a run holds it.
//!
//! The OS releases the lock when the holding process exits or dies, so a crash never blocks
//! the next run: the next holder takes the file over and rewrites who holds it (pid, host,
//! start, command line). The file itself stays (deleting it on release would let two runs
//! lock two different files); `billfleet unlock` removes files no live process holds.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

mod key;

pub use self::key::{LockKey, default_dir, normalize_url};

/// How often a waiting run tries the lock again.
const RETRY_EVERY: Duration = Duration::from_millis(100);

/// The lock could not be taken or cleared.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "another run holds the lock of {what} (pid {pid} on {host}, started {started}: {command})"
    )]
    Held {
        /// What is locked: group, account and user.
        what: String,
        /// The holder's pid, or `unknown` when it had not written it yet.
        pid: String,
        /// The holder's host.
        host: String,
        /// When the holder started (UTC, RFC 3339).
        started: String,
        /// The holder's command line.
        command: String,
    },
    /// The billing URL cannot be turned into a lock key.
    #[error("billing URL `{0}` is not a URL with a host")]
    Url(String),
    /// No state directory for the locks could be found.
    #[error("no directory for billfleet's locks: set XDG_STATE_HOME or HOME")]
    NoStateDir,
    /// The lock file could not be created, read or written.
    #[error("lock file {}: {action}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// Who holds a lock, as written into its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Holder {
    pid: u32,
    host: String,
    started: String,
    #[serde(default)]
    command: String,
    #[serde(default)]
    key: String,
}

/// One held lock file.
#[derive(Debug)]
struct HeldFile {
    path: PathBuf,
    // Kept open: closing the file releases the OS lock.
    file: File,
}

/// The held locks of one run (one per group it touches); dropping it releases them.
#[derive(Debug)]
pub struct FleetLock {
    held: Vec<HeldFile>,
}

impl FleetLock {
    /// Takes the lock of every key in `dir`, in one fixed order (so two runs never wait on
    /// each other crosswise), waiting up to `wait` for a holder to finish. Fails with
    /// [`LockError::Held`] naming the holder when the time is up (at once for a zero wait);
    /// the locks already taken are then released.
    pub async fn acquire(dir: &Path, keys: &[LockKey], wait: Duration) -> Result<Self, LockError> {
        fs::create_dir_all(dir).map_err(|e| LockError::Io {
            path: dir.to_owned(),
            action: "cannot create the lock directory",
            source: e,
        })?;
        let deadline = Instant::now() + wait.min(Duration::from_secs(365 * 86_400));
        let mut sorted: Vec<&LockKey> = keys.iter().collect();
        sorted.sort_by_key(|k| k.file_name());
        sorted.dedup_by_key(|k| k.file_name());
        let mut held = Vec::with_capacity(sorted.len());
        for key in sorted {
            held.push(take_one(dir, key, deadline).await?);
        }
        Ok(Self { held })
    }

    /// Removes the lock file of every key that no live process holds (`billfleet unlock`);
    /// returns the files removed. Refuses with [`LockError::Held`] while one is held.
    pub fn clear(dir: &Path, keys: &[LockKey]) -> Result<Vec<PathBuf>, LockError> {
        let mut removed = Vec::new();
        for key in keys {
            let path = dir.join(key.file_name());
            if clear_file(&path, &key.describe())? {
                removed.push(path);
            }
        }
        Ok(removed)
    }

    /// The lock files held.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.held.iter().map(|h| h.path.as_path())
    }

    /// Checks that every lock file is still the one locked (not removed or replaced since):
    /// the check made before the first paid call.
    pub fn verify(&self) -> Result<(), LockError> {
        for held in &self.held {
            if !same_file(&held.file, &held.path) {
                return Err(LockError::Io {
                    path: held.path.clone(),
                    action: "the lock file was removed while held",
                    source: io::Error::from(io::ErrorKind::NotFound),
                });
            }
        }
        Ok(())
    }
}

/// Removes the lock file at `path` unless a live process holds it; false when it did not
/// exist.
pub fn clear_file(path: &Path, what: &str) -> Result<bool, LockError> {
    let io_err = |action, source| LockError::Io {
        path: path.to_owned(),
        action,
        source,
    };
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_err("cannot open", e)),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Err(held(what, &mut file)),
        Err(TryLockError::Error(e)) => return Err(io_err("cannot lock", e)),
    }
    fs::remove_file(path).map_err(|e| io_err("cannot remove", e))?;
    Ok(true)
}

/// Takes one key's lock, polling until `deadline`.
async fn take_one(dir: &Path, key: &LockKey, deadline: Instant) -> Result<HeldFile, LockError> {
    let path = dir.join(key.file_name());
    let io_err = |action, source| LockError::Io {
        path: path.clone(),
        action,
        source,
    };
    let mut announced = false;
    loop {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_err("cannot open", e))?;
        match file.try_lock() {
            // Locked, but `unlock` may have removed the file in between: then lock anew.
            Ok(()) if same_file(&file, &path) => {
                write_holder(&mut file, key).map_err(|e| io_err("cannot write", e))?;
                return Ok(HeldFile { path, file });
            }
            Ok(()) => continue,
            Err(TryLockError::Error(e)) => return Err(io_err("cannot lock", e)),
            Err(TryLockError::WouldBlock) => {}
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(held(&key.describe(), &mut file));
        }
        if !announced {
            announced = true;
            tracing::warn!("waiting for the lock: {}", held(&key.describe(), &mut file));
        }
        drop(file);
        tokio::time::sleep(RETRY_EVERY.min(deadline - now)).await;
    }
}

/// Rewrites the holder of a freshly taken lock (after a dead holder too).
fn write_holder(file: &mut File, key: &LockKey) -> io::Result<()> {
    let mut previous = String::new();
    // Best effort: only for the message.
    let _ = file.read_to_string(&mut previous);
    if let Ok(old) = serde_json::from_str::<Holder>(&previous)
        && old.pid != std::process::id()
    {
        tracing::debug!(
            "taking over the lock of {} left by pid {} (no longer running)",
            key.describe(),
            old.pid
        );
    }
    let holder = Holder {
        pid: std::process::id(),
        host: hostname(),
        started: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        command: command_line(),
        key: key.describe(),
    };
    let text = serde_json::to_string(&holder).map_err(io::Error::other)?;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

/// True when `path` still names the open `file` (always true where this cannot be told).
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// The error for a lock held by someone else, with what they wrote into the file.
fn held(what: &str, file: &mut File) -> LockError {
    let mut text = String::new();
    let holder = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut text))
        .ok()
        .and_then(|_| serde_json::from_str::<Holder>(&text).ok());
    let unknown = || "unknown".to_owned();
    LockError::Held {
        what: what.to_owned(),
        pid: holder.as_ref().map_or_else(unknown, |h| h.pid.to_string()),
        host: holder.as_ref().map_or_else(unknown, |h| h.host.clone()),
        started: holder.as_ref().map_or_else(unknown, |h| h.started.clone()),
        command: holder
            .map(|h| h.command)
            .filter(|c| !c.is_empty())
            .unwrap_or_else(unknown),
    }
}

/// This process's command line, for the lock file. Credentials never travel as arguments
/// (URLs with them are refused), but a URL argument is shown without any user info anyway.
fn command_line() -> String {
    std::env::args()
        .map(|arg| match url::Url::parse(&arg) {
            Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
                let _ = u.set_username("");
                let _ = u.set_password(None);
                u.to_string()
            }
            _ => arg,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// This machine's name, for the lock file (best effort).
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests;
