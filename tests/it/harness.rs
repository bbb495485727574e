//! A small fluent harness for driving the real `billfleet` binary: a manifest in a temporary
//! directory, billing credentials in the environment (usually pointing at an in-process
//! simulator on port 0), and everything the run left behind: exit code, stdout, stderr, the
//! CSV report.
//!
//! ```ignore
//! let sim = harness::sim(SimConfig::default()).await;
//! let out = Billfleet::new()
//!     .manifest("web.yaml", &yaml)
//!     .billing(&sim)
//!     .args(["apply", "web.yaml", "--yes"])
//!     .run()
//!     .await;
//! assert_eq!(out.code, Some(0), "{}", out.stderr);
//! let rows = out.report("web.results.csv");
//! ```
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use billfleet::report::ReportRow;
use billfleet::sim::{SimConfig, SimHandle};
use tempfile::TempDir;

/// The simulator's account password the harness logs in with by default.
pub const PASSWORD: &str = "demo";
/// The simulator's account the harness logs in as by default.
pub const USER: &str = "demo";

/// Starts an in-process simulator on `127.0.0.1:0`.
pub async fn sim(config: SimConfig) -> SimHandle {
    billfleet::sim::start(config).await.unwrap()
}

/// A run of the binary being put together: a working directory of its own, arguments and
/// environment.
pub struct Billfleet {
    dir: TempDir,
    args: Vec<OsString>,
    env: Vec<(String, String)>,
}

impl Default for Billfleet {
    fn default() -> Self {
        Self::new()
    }
}

impl Billfleet {
    /// A fresh temporary directory; no billing configured.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// The working directory of the runs (manifests, reports, `.billfleet/`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the working directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file (e.g. a manifest) into the working directory.
    pub fn manifest(self, name: &str, text: &str) -> Self {
        std::fs::write(self.path(name), text).unwrap();
        self
    }

    /// Logs in to `sim` as the default demo account.
    pub fn billing(self, sim: &SimHandle) -> Self {
        self.credentials(&sim.url, USER, PASSWORD)
    }

    /// Sets `BILLFLEET_URL`, `BILLFLEET_USER` and `BILLFLEET_PASSWORD`.
    pub fn credentials(self, url: &str, user: &str, password: &str) -> Self {
        self.env("BILLFLEET_URL", url)
            .env("BILLFLEET_USER", user)
            .env("BILLFLEET_PASSWORD", password)
    }

    /// One environment variable of the runs.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Replaces the arguments of the runs.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    fn command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_billfleet"));
        cmd.args(&self.args)
            .current_dir(self.dir.path())
            .env_remove("BILLFLEET_URL")
            .env_remove("BILLFLEET_USER")
            .env_remove("BILLFLEET_PASSWORD")
            .env_remove("RUST_LOG")
            .env("XDG_CONFIG_HOME", self.dir.path())
            // Locks live in the user's state directory: one per test unless a test shares one.
            .env("XDG_STATE_HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the binary to its end.
    pub async fn run(&self) -> Ran {
        let output = self.command().output().await.unwrap();
        Ran {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            dir: self.dir.path().to_owned(),
        }
    }

    /// Starts the binary and leaves it running (output discarded).
    pub fn spawn(&self) -> tokio::process::Child {
        let mut cmd = self.command();
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        cmd.spawn().unwrap()
    }
}

/// What a finished run left behind.
#[derive(Debug)]
pub struct Ran {
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
    /// The working directory.
    pub dir: PathBuf,
}

impl Ran {
    /// Asserts the exit code, showing stderr when it differs.
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(expected),
            "exit code; stderr:\n{}\nstdout:\n{}",
            self.stderr,
            self.stdout
        );
        self
    }

    /// The rows of a CSV report in the working directory.
    pub fn report(&self, name: &str) -> Vec<ReportRow> {
        read_report(&self.dir.join(name))
    }
}

/// The rows of a CSV report.
pub fn read_report(path: &Path) -> Vec<ReportRow> {
    csv::Reader::from_path(path)
        .unwrap_or_else(|e| panic!("report {}: {e}", path.display()))
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap()
}
