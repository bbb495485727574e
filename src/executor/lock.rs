//! One `apply` (or other mutating command) per manifest at a time: an exclusive OS file lock
//! on `<manifest dir>/.billfleet/<manifest stem>.lock`.
//!
//! The OS releases the lock when the holding process exits or dies, so a crash never blocks
//! the next run. The file itself stays (deleting it on release would let two runs lock two
//! different files); it holds the pid, host and start time of the holder for the error
//! message a second run shows.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::{Deserialize, Serialize};

/// The lock could not be taken or cleared.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "another run on {manifest} is in progress (pid {pid} on {host}, started {started}); \
         if that process is gone, run `billfleet unlock {manifest}`"
    )]
    Held {
        /// The manifest, as given.
        manifest: String,
        /// The holder's pid, or `unknown` when it had not written it yet.
        pid: String,
        /// The holder's host.
        host: String,
        /// When the holder started (UTC, RFC 3339).
        started: String,
    },
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

/// Who holds the lock, as written into the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Holder {
    pid: u32,
    host: String,
    started: String,
}

/// The held apply lock of one manifest; dropping it releases the lock.
#[derive(Debug)]
pub struct ApplyLock {
    path: PathBuf,
    // Kept open: closing the file releases the OS lock.
    _file: File,
}

impl ApplyLock {
    /// Where the lock of `manifest` lives: `<dir>/.billfleet/<stem>.lock`.
    pub fn path_for(manifest: &Path) -> PathBuf {
        super::state_file(manifest, "lock")
    }

    /// Takes the lock of `manifest` without waiting, or says who holds it.
    pub fn acquire(manifest: &Path) -> Result<Self, LockError> {
        let path = Self::path_for(manifest);
        let io_err = |action, source| LockError::Io {
            path: path.clone(),
            action,
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| io_err("cannot create its directory", e))?;
        }
        let mut file = open(&path).map_err(|e| io_err("cannot open", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(held(manifest, &mut file)),
            Err(TryLockError::Error(e)) => return Err(io_err("cannot lock", e)),
        }
        let holder = Holder {
            pid: std::process::id(),
            host: hostname(),
            started: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let text = serde_json::to_string(&holder)
            .map_err(|e| io_err("cannot encode", io::Error::other(e)))?;
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(text.as_bytes()))
            .and_then(|()| file.sync_data())
            .map_err(|e| io_err("cannot write", e))?;
        Ok(Self { path, _file: file })
    }

    /// Removes the lock file of `manifest` (`billfleet unlock`). Refuses while a live
    /// process holds the lock; returns false when there was no lock file.
    pub fn clear(manifest: &Path) -> Result<bool, LockError> {
        let path = Self::path_for(manifest);
        let io_err = |action, source| LockError::Io {
            path: path.clone(),
            action,
            source,
        };
        let mut file = match open_existing(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_err("cannot open", e)),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(held(manifest, &mut file)),
            Err(TryLockError::Error(e)) => return Err(io_err("cannot lock", e)),
        }
        fs::remove_file(&path).map_err(|e| io_err("cannot remove", e))?;
        Ok(true)
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

fn open_existing(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// The error for a lock held by someone else, with what they wrote into the file.
fn held(manifest: &Path, file: &mut File) -> LockError {
    let mut text = String::new();
    let holder = file
        .read_to_string(&mut text)
        .ok()
        .and_then(|_| serde_json::from_str::<Holder>(&text).ok());
    let unknown = || "unknown".to_owned();
    LockError::Held {
        manifest: manifest.display().to_string(),
        pid: holder.as_ref().map_or_else(unknown, |h| h.pid.to_string()),
        host: holder.as_ref().map_or_else(unknown, |h| h.host.clone()),
        started: holder.map_or_else(unknown, |h| h.started),
    }
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
mod tests {
    use super::*;

    #[test]
    fn second_acquire_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("web.yaml");
        let lock = ApplyLock::acquire(&manifest).unwrap();
        assert_eq!(lock.path(), dir.path().join(".billfleet/web.lock"));

        let err = ApplyLock::acquire(&manifest).unwrap_err();
        let LockError::Held { pid, started, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(*pid, std::process::id().to_string());
        assert!(started.ends_with('Z'), "{started}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains("billfleet unlock"), "{text}");
    }

    #[test]
    fn drop_releases_and_clear_removes() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("web.yaml");
        let lock = ApplyLock::acquire(&manifest).unwrap();
        assert!(matches!(
            ApplyLock::clear(&manifest),
            Err(LockError::Held { .. })
        ));
        drop(lock);
        let again = ApplyLock::acquire(&manifest).unwrap();
        drop(again);
        assert!(ApplyLock::clear(&manifest).unwrap());
        assert!(!ApplyLock::path_for(&manifest).exists());
        assert!(!ApplyLock::clear(&manifest).unwrap());
    }
}
