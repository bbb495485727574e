//! Lock keys: what a lock is about, the stable name of its file, and where lock files live.

use std::fs;
use std::path::{Path, PathBuf};

use super::LockError;

/// What one lock is about: an account (billing URL or sandbox state), a user, a group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LockKey {
    account: String,
    user: String,
    group: String,
    slug: String,
}

impl LockKey {
    /// The key of `group` of `user` at the billing `url` (normalised, see [`normalize_url`]).
    pub fn billing(url: &str, user: &str, group: &str) -> Result<Self, LockError> {
        let account = normalize_url(url).ok_or_else(|| LockError::Url(url.to_owned()))?;
        let host = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        Ok(Self::new(account, user, group, &host))
    }

    /// The key of `group` of `user` in the in-process sandbox keeping its state in
    /// `state_file` (made absolute through its directory when that exists).
    pub fn sandbox(state_file: &Path, user: &str, group: &str) -> Self {
        let absolute = state_file
            .parent()
            .map(|d| {
                if d.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    d
                }
            })
            .and_then(|d| fs::canonicalize(d).ok())
            .zip(state_file.file_name())
            .map_or_else(|| state_file.to_owned(), |(dir, name)| dir.join(name));
        let account = format!("sandbox:{}", absolute.display());
        Self::new(account, user, group, "sandbox")
    }

    fn new(account: String, user: &str, group: &str, place: &str) -> Self {
        let slug: String = format!("{group}@{place}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                    c
                } else {
                    '_'
                }
            })
            .take(48)
            .collect();
        Self {
            account,
            user: user.to_owned(),
            group: group.to_owned(),
            slug,
        }
    }

    /// The lock file's name: the readable slug and a stable hash of the whole key.
    pub fn file_name(&self) -> String {
        let key = format!("{}\n{}\n{}", self.account, self.user, self.group);
        format!("{}-{:016x}.lock", self.slug, fnv1a(key.as_bytes()))
    }

    /// The group, the account and the user, for messages.
    pub fn describe(&self) -> String {
        format!(
            "group `{}` on {} as {}",
            self.group, self.account, self.user
        )
    }
}

/// The account part of a lock key: `scheme://host:port/path` with the host in lower case,
/// the port always written, no query or fragment and no trailing `/`. `None` for a string
/// that is not a URL with a host.
pub fn normalize_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    let host = parsed.host_str()?;
    let port = parsed.port_or_known_default()?;
    let path = parsed.path().trim_end_matches('/');
    Some(format!("{}://{host}:{port}{path}", parsed.scheme()))
}

/// 64-bit FNV-1a: a hash that stays the same across Rust releases and platforms, so every
/// billfleet build names the same key's file alike.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Where the locks live: `$XDG_STATE_HOME/billfleet/locks`, else the platform's state
/// directory (`~/.local/state`, macOS `~/Library/Application Support`, Windows
/// `%LOCALAPPDATA%`) + `billfleet/locks`.
pub fn default_dir() -> Result<PathBuf, LockError> {
    dir_from(&|name| std::env::var_os(name)).ok_or(LockError::NoStateDir)
}

pub(super) fn dir_from(var: &dyn Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let absolute = |name: &str| var(name).map(PathBuf::from).filter(|p| p.is_absolute());
    let base = absolute("XDG_STATE_HOME").or_else(|| {
        if cfg!(windows) {
            absolute("LOCALAPPDATA")
        } else if cfg!(target_os = "macos") {
            absolute("HOME").map(|h| h.join("Library/Application Support"))
        } else {
            absolute("HOME").map(|h| h.join(".local/state"))
        }
    })?;
    Some(base.join("billfleet").join("locks"))
}
