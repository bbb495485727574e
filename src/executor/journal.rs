//! The apply journal: an append-only JSON-lines file per manifest
//! (`<manifest dir>/.billfleet/<manifest stem>.journal`) that makes a rerun after a crash or
//! Ctrl-C or SIGTERM safe.
//!
//! An *intent* is written (and synced to disk) before each paid call and an *outcome* after
//! it; a call whose outcome was unknown gets its outcome once a look-up settled it (found:
//! `ordered`, absent: `failed`). On the next run, a key whose last record is an intent is
//! [`KeyState::Pending`]: the call may or may not have happened, so it must be reconciled
//! before anything is sent. Records hold only the fields given to them, never secrets.
//!
//! The journal stays beside the manifest while the lock is per account and group: two
//! checkouts keep two journals, but the lock makes their runs serial, and the second run's
//! survey sees the services the first one ordered, so it orders nothing again.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A journal file could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[error("journal {}: {action}: {source}", path.display())]
pub struct JournalError {
    path: PathBuf,
    action: &'static str,
    #[source]
    source: io::Error,
}

/// How a paid call ended, as recorded in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Recorded {
    /// The service exists (ordered now, or found by a reconcile).
    Ordered,
    /// The call failed, or a look-up after an unknown outcome found nothing: nothing was
    /// ordered.
    Failed,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Record {
    Intent {
        run: String,
        ts: DateTime<Utc>,
        key: String,
        domain: String,
        func: String,
        attempt: u32,
    },
    Outcome {
        run: String,
        ts: DateTime<Utc>,
        key: String,
        outcome: Recorded,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service_id: Option<String>,
        domain: String,
    },
}

/// The last known state of one key after replaying the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// A call was about to be sent and no outcome was recorded: reconcile before resending.
    Pending {
        /// The domain the call was for.
        domain: String,
        /// The billing function that was called.
        func: String,
        /// The attempt number of that call.
        attempt: u32,
    },
    /// The service was ordered.
    Ordered {
        /// Its id, when known.
        service_id: Option<String>,
        /// Its domain.
        domain: String,
    },
    /// The last call failed.
    Failed {
        /// The domain the call was for.
        domain: String,
    },
}

/// What an existing journal says, key by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    states: HashMap<String, KeyState>,
    /// Lines that could not be read (a torn last line after a crash, or damage).
    pub skipped_lines: usize,
}

impl Replay {
    /// The last state of `key`, if the journal mentions it.
    pub fn state(&self, key: &str) -> Option<&KeyState> {
        self.states.get(key)
    }

    /// The keys with an intent but no outcome, sorted.
    pub fn pending(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .states
            .iter()
            .filter(|(_, s)| matches!(s, KeyState::Pending { .. }))
            .map(|(k, _)| k.as_str())
            .collect();
        keys.sort_unstable();
        keys
    }

    /// How many keys the journal mentions.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// True when the journal mentions no key.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    fn apply(&mut self, record: Record) {
        let (key, state) = match record {
            Record::Intent {
                key,
                domain,
                func,
                attempt,
                ..
            } => (
                key,
                KeyState::Pending {
                    domain,
                    func,
                    attempt,
                },
            ),
            Record::Outcome {
                key,
                outcome: Recorded::Ordered,
                service_id,
                domain,
                ..
            } => (key, KeyState::Ordered { service_id, domain }),
            Record::Outcome {
                key,
                outcome: Recorded::Failed,
                domain,
                ..
            } => (key, KeyState::Failed { domain }),
        };
        self.states.insert(key, state);
    }
}

/// An open journal, shareable between workers (`&self` methods; appends are serialised).
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    run_id: String,
    // Std mutexes, never held across an await. `file` is held for one write and counts the
    // records written; `synced` is held for one `fdatasync` (on a second handle of the same
    // file) and holds how many records it covered: group commit, as databases do it.
    file: Mutex<(File, u64)>,
    synced: Mutex<(File, u64)>,
}

impl Journal {
    /// Where the journal of `manifest` lives: `<dir>/.billfleet/<stem>.journal`.
    pub fn path_for(manifest: &Path) -> PathBuf {
        super::state_file(manifest, "journal")
    }

    /// Opens (creating it and its directory if needed) the journal at `path` for appending,
    /// and replays what it already holds. A torn last line is ignored and cut off so the
    /// next record starts on a line of its own.
    pub fn open(path: &Path) -> Result<(Self, Replay), JournalError> {
        let fail = |action, source| JournalError {
            path: path.to_owned(),
            action,
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| fail("cannot create its directory", e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| fail("cannot open", e))?;
        let mut text = Vec::new();
        file.read_to_end(&mut text)
            .map_err(|e| fail("cannot read", e))?;
        let (replay, complete) = replay(&text);
        if complete < text.len() {
            file.set_len(complete as u64)
                .map_err(|e| fail("cannot cut off a torn last line", e))?;
            file.seek(SeekFrom::End(0))
                .map_err(|e| fail("cannot seek", e))?;
        }
        let syncer = file
            .try_clone()
            .map_err(|e| fail("cannot open a second handle", e))?;
        let journal = Self {
            path: path.to_owned(),
            run_id: format!("{:016x}", rand::random::<u64>()),
            file: Mutex::new((file, 0)),
            synced: Mutex::new((syncer, 0)),
        };
        Ok((journal, replay))
    }

    /// The id stamped on every record of this run.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The file this journal appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records, durably (written and `fdatasync`ed), that attempt `attempt` of `func` for
    /// `key` is about to be sent. Call it BEFORE the paid call.
    pub fn record_intent(
        &self,
        key: &str,
        domain: &str,
        func: &str,
        attempt: u32,
    ) -> Result<(), JournalError> {
        self.append(
            &Record::Intent {
                run: self.run_id.clone(),
                ts: Utc::now(),
                key: key.to_owned(),
                domain: domain.to_owned(),
                func: func.to_owned(),
                attempt,
            },
            Durability::Synced,
        )
    }

    /// Records how the call for `key` ended. Written at once (a killed process loses nothing)
    /// but not `fdatasync`ed: should a power loss drop it, the intent before it stays pending
    /// and the next run reconciles it against the billing's service list, which is as safe and
    /// saves half the disk syncs of a run.
    pub fn record_outcome(
        &self,
        key: &str,
        outcome: Recorded,
        service_id: Option<&str>,
        domain: &str,
    ) -> Result<(), JournalError> {
        self.append(
            &Record::Outcome {
                run: self.run_id.clone(),
                ts: Utc::now(),
                key: key.to_owned(),
                outcome,
                service_id: service_id.map(str::to_owned),
                domain: domain.to_owned(),
            },
            Durability::Written,
        )
    }

    /// One line, one write, then (when `Synced`) `sync_data` so it survives a power loss.
    ///
    /// Group commit: a record is on disk once a sync that started after its write has
    /// finished. The writer that finds no such sync done takes the sync lock and syncs every
    /// record written so far; the writers queued behind it find their records covered and
    /// return without a sync of their own. Each intent is still on disk before its own call
    /// leaves, with one `fdatasync` for many concurrent intents.
    fn append(&self, record: &Record, durability: Durability) -> Result<(), JournalError> {
        let fail = |action, source| JournalError {
            path: self.path.clone(),
            action,
            source,
        };
        let mut line = serde_json::to_vec(record)
            .map_err(|e| fail("cannot encode a record", io::Error::other(e)))?;
        line.push(b'\n');
        let written = {
            let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
            file.0
                .write_all(&line)
                .map_err(|e| fail("cannot write", e))?;
            file.1 += 1;
            file.1
        };
        if let Durability::Written = durability {
            return Ok(());
        }
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        if synced.1 >= written {
            return Ok(());
        }
        // Every record counted by now is in the file: one sync covers them all.
        let upto = self.file.lock().unwrap_or_else(|p| p.into_inner()).1;
        synced.0.sync_data().map_err(|e| fail("cannot sync", e))?;
        synced.1 = upto;
        Ok(())
    }
}

/// How far a record must get before `append` returns.
#[derive(Debug, Clone, Copy)]
enum Durability {
    /// Into the file (the OS's page cache): survives the process being killed.
    Written,
    /// Onto the disk (`fdatasync`): survives a power loss too.
    Synced,
}

/// Replays the complete lines of `text`; returns the replay and the length of the part
/// that ends with a newline (anything after it is a torn line).
fn replay(text: &[u8]) -> (Replay, usize) {
    let mut replay = Replay::default();
    let complete = text
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |pos| pos + 1);
    if complete < text.len() {
        replay.skipped_lines += 1;
    }
    for line in text[..complete].split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Record>(line) {
            Ok(record) => replay.apply(record),
            Err(_) => replay.skipped_lines += 1,
        }
    }
    (replay, complete)
}

#[cfg(test)]
mod tests;
