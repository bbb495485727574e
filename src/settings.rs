//! The one place where the command line's flags and the manifest's `execution` section merge
//! into the validated [`Settings`] of a run: concurrency, rate and burst, retries and
//! back-off, the per-call timeout, the report path, the wait and lock timeouts, the canary
//! batch and the failure limit. Values that make no sense (`--concurrency 0`, `--rate 0` or
//! below 0.01 per second, a wait beyond a week, `--canary 0`, `--max-failures 0`) are refused
//! here, before anything is sent (exit 2 at the command).
//!
//! Profiles (`config`) carry where and as whom to connect, not pacing; the billing section of
//! the manifest is merged with them by `config::resolve_target`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{ApplyArgs, ConfirmArgs};
use crate::executor::{Backoff, Policy, ReadRetry};
use crate::manifest::{Execution, Manifest};

/// The lowest call rate accepted, calls per second.
pub const MIN_RATE: f64 = 0.01;
/// The longest `--wait-timeout` accepted.
pub const MAX_WAIT_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);
/// The longest `--lock-timeout` accepted.
pub const MAX_LOCK_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// The flags that override the manifest's `execution` (all optional).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--concurrency`.
    pub concurrency: Option<u32>,
    /// `--rate`.
    pub rate: Option<f64>,
    /// `--report`.
    pub report: Option<PathBuf>,
    /// `--wait-timeout`, seconds.
    pub wait_timeout: Option<u64>,
    /// `--lock-timeout`, seconds.
    pub lock_timeout: Option<u64>,
    /// `--canary`.
    pub canary: Option<u32>,
    /// `--max-failures`.
    pub max_failures: Option<u32>,
}

impl Flags {
    /// The overrides every confirming command shares (`--concurrency`, `--rate`, `--report`,
    /// `--lock-timeout`).
    pub fn from_confirm(confirm: &ConfirmArgs) -> Self {
        Self {
            concurrency: confirm.concurrency,
            rate: confirm.rate,
            report: confirm.report.clone(),
            lock_timeout: Some(confirm.lock_timeout),
            ..Self::default()
        }
    }
}

/// The validated settings of one run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Calls per second, all calls together.
    pub rate: f64,
    /// Calls allowed at once above the rate.
    pub burst: u32,
    /// Per-call HTTP timeout.
    pub timeout: Duration,
    /// The executor's policy: concurrency, retries, back-off, failure limit.
    pub policy: Policy,
    /// Retries of plain reads (lists, account, previews).
    pub retry: ReadRetry,
    /// Where the CSV report goes.
    pub report: PathBuf,
    /// How long `--wait` (and a canary) waits for servers to become active.
    pub wait_timeout: Duration,
    /// How long to wait for the fleet lock (zero: do not wait).
    pub lock_timeout: Duration,
    /// Servers ordered first, as a canary batch.
    pub canary: Option<usize>,
}

/// A refused value, in words (the command turns it into exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

fn refuse(message: impl Into<String>) -> SettingsError {
    SettingsError(message.into())
}

impl Settings {
    /// Merges `flags` over the manifest's `execution`; the report defaults to one beside
    /// `manifest_path`. Refuses values that make no sense.
    pub fn merge(
        manifest_path: &Path,
        execution: &Execution,
        flags: &Flags,
    ) -> Result<Self, SettingsError> {
        let rate = flags.rate.unwrap_or(execution.rate);
        if !(rate.is_finite() && rate >= MIN_RATE) {
            let what = if flags.rate.is_some() {
                "--rate"
            } else {
                "execution.rate"
            };
            return Err(refuse(format!(
                "{what} must be a number of at least {MIN_RATE} calls per second (got {rate})"
            )));
        }
        let concurrency = match flags.concurrency {
            Some(0) => return Err(refuse("--concurrency must be at least 1")),
            Some(n) => n as usize,
            None => usize::try_from(execution.concurrency).unwrap_or(1).max(1),
        };
        let wait_timeout = seconds(flags.wait_timeout, 1800, MAX_WAIT_TIMEOUT, "--wait-timeout")?;
        let lock_timeout = seconds(flags.lock_timeout, 0, MAX_LOCK_TIMEOUT, "--lock-timeout")?;
        if flags.canary == Some(0) {
            return Err(refuse("--canary must be at least 1"));
        }
        if flags.max_failures == Some(0) {
            return Err(refuse("--max-failures must be at least 1"));
        }
        let retries = u32::try_from(execution.retries).unwrap_or(0);
        let backoff = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(30),
        };
        Ok(Self {
            rate,
            burst: execution
                .burst
                .and_then(|b| u32::try_from(b).ok())
                .unwrap_or(1)
                .max(1),
            // Saturating: a timeout that is no duration (negative, NaN, beyond range) is the
            // default one minute; validation reports it to the user.
            timeout: Duration::try_from_secs_f64(execution.timeout)
                .unwrap_or(Duration::from_secs(60)),
            policy: Policy {
                concurrency,
                retries,
                backoff,
                max_failures: flags.max_failures,
            },
            retry: ReadRetry { retries, backoff },
            report: crate::report::report_path(manifest_path, flags.report.as_deref()),
            wait_timeout,
            lock_timeout,
            canary: flags.canary.map(|n| n as usize),
        })
    }

    /// `apply`'s settings.
    pub fn for_apply(args: &ApplyArgs, manifest: &Manifest) -> Result<Self, SettingsError> {
        let flags = Flags {
            wait_timeout: Some(args.wait_timeout),
            canary: args.canary,
            max_failures: args.max_failures,
            ..Flags::from_confirm(&args.confirm)
        };
        Self::merge(&args.manifest, &manifest.execution, &flags)
    }

    /// `plan`'s settings: the manifest's `execution` alone (plan takes no pacing flags).
    pub fn for_plan(manifest_path: &Path, manifest: &Manifest) -> Result<Self, SettingsError> {
        Self::merge(manifest_path, &manifest.execution, &Flags::default())
    }

    /// The settings of a lifecycle command (`prolong`, `edit`, `suspend`, `resume`,
    /// `destroy`): the manifest's `execution` with `--concurrency`, `--rate`, `--report` and
    /// `--lock-timeout` overriding.
    pub fn for_lifecycle(
        manifest_path: &Path,
        manifest: &Manifest,
        confirm: &ConfirmArgs,
    ) -> Result<Self, SettingsError> {
        Self::merge(
            manifest_path,
            &manifest.execution,
            &Flags::from_confirm(confirm),
        )
    }
}

/// A number of seconds from a flag (or `default`), at most `max`.
fn seconds(
    flag: Option<u64>,
    default: u64,
    max: Duration,
    name: &str,
) -> Result<Duration, SettingsError> {
    let secs = flag.unwrap_or(default);
    if secs > max.as_secs() {
        let days = max.as_secs() / (24 * 3600);
        let span = if days == 1 {
            "1 day".to_owned()
        } else {
            format!("{days} days")
        };
        return Err(refuse(format!(
            "{name} {secs} is more than {span} ({} seconds)",
            max.as_secs()
        )));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merge(flags: &Flags) -> Result<Settings, SettingsError> {
        Settings::merge(Path::new("fleet.yaml"), &Execution::default(), flags)
    }

    #[test]
    fn flags_override_the_manifest() {
        let flags = Flags {
            concurrency: Some(3),
            rate: Some(2.5),
            canary: Some(2),
            ..Flags::default()
        };
        let s = merge(&flags).unwrap();
        assert_eq!(s.policy.concurrency, 3);
        assert!((s.rate - 2.5).abs() < f64::EPSILON);
        assert_eq!(s.canary, Some(2));
        assert_eq!(s.wait_timeout, Duration::from_secs(1800));
    }

    #[test]
    fn nonsense_is_refused() {
        let bad = [
            Flags {
                concurrency: Some(0),
                ..Flags::default()
            },
            Flags {
                rate: Some(0.0),
                ..Flags::default()
            },
            Flags {
                rate: Some(0.009),
                ..Flags::default()
            },
            Flags {
                rate: Some(f64::NAN),
                ..Flags::default()
            },
            Flags {
                wait_timeout: Some(MAX_WAIT_TIMEOUT.as_secs() + 1),
                ..Flags::default()
            },
            Flags {
                lock_timeout: Some(MAX_LOCK_TIMEOUT.as_secs() + 1),
                ..Flags::default()
            },
            Flags {
                canary: Some(0),
                ..Flags::default()
            },
            Flags {
                max_failures: Some(0),
                ..Flags::default()
            },
        ];
        for flags in bad {
            assert!(merge(&flags).is_err(), "{flags:?}");
        }
        assert!(
            merge(&Flags {
                rate: Some(MIN_RATE),
                ..Flags::default()
            })
            .is_ok()
        );
    }
}
