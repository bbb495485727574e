//! The CSV report: one row per declared server, sorted by group then seq, written
//! atomically (a temporary file in the same directory, then a rename).
//!
//! Every command has its own default report (`<stem>.results.csv` for `apply`,
//! `<stem>.<command>.csv` for the others), so a `prolong` never overwrites the `apply`
//! report. One status vocabulary everywhere: `status` is the billing's code (`2`),
//! `status_text` its word (`active`). A text cell that a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is written with a leading
//! `'` (OWASP "CSV injection"); numbers such as a negative cost stay numbers.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use super::cells::neutralise;
use super::cells::status_pair;

/// The report columns, in order: the contract's seven, then billfleet's own.
pub const COLUMNS: [&str; 17] = [
    "seq",
    "group",
    "domain",
    "outcome",
    "service_id",
    "attempts",
    "error",
    "remoteid",
    "status",
    "ip",
    "cost",
    "original_domain",
    "duration_ms",
    "expiredate",
    "status_text",
    "lickey",
    "note",
];

/// The `note` of a change that was accepted but waits unpaid in the cart (`payment: basket`:
/// sent without `skipbasket=on`). Not a failure: `error` stays empty.
pub const IN_CART: &str = "in the cart, not paid";

/// What became of one server in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowOutcome {
    /// Ordered by this run.
    Ordered,
    /// Already present; nothing was sent.
    Exists,
    /// Renewed (`prolong`).
    Prolonged,
    /// Suspended (`suspend`).
    Suspended,
    /// Resumed (`resume`).
    Resumed,
    /// Deleted (`destroy`).
    Deleted,
    /// Changed (`edit`).
    Edited,
    /// Drift pushed by `apply` (`<type>.edit`).
    Updated,
    /// Nothing to change.
    Unchanged,
    /// Attempted and failed; `error` says why.
    Failed,
    /// Not attempted (e.g. after an abort).
    Skipped,
}

impl RowOutcome {
    /// The word written in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ordered => "ordered",
            Self::Exists => "exists",
            Self::Prolonged => "prolonged",
            Self::Suspended => "suspended",
            Self::Resumed => "resumed",
            Self::Deleted => "deleted",
            Self::Edited => "edited",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

impl fmt::Display for RowOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the report. Empty optional fields are written as empty cells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    /// Sequence number of the server in its group.
    pub seq: u64,
    /// Group name.
    pub group: String,
    /// The domain the server finally has (after a collision move).
    pub domain: String,
    /// What became of it.
    pub outcome: RowOutcome,
    /// The billing's service id, when there is one.
    pub service_id: Option<String>,
    /// Calls sent for it.
    pub attempts: u32,
    /// Why it failed; empty unless `outcome` is `failed`.
    pub error: Option<String>,
    /// The stable key sent as `remoteid` (`<group>-<seq>`).
    pub remoteid: Option<String>,
    /// The service status as the billing reports it.
    pub status: Option<String>,
    /// The service's IP address.
    pub ip: Option<String>,
    /// The cost of the call, as a decimal amount.
    pub cost: Option<String>,
    /// The domain declared in the manifest, when it differs from `domain`.
    pub original_domain: Option<String>,
    /// Time spent on the server, in milliseconds.
    pub duration_ms: Option<u64>,
    /// When the service expires.
    pub expiredate: Option<String>,
    /// `status` in words (`active`, `suspended`, …; `absent` or `conflict` when the
    /// billing has no service of this server's own). Filled in when the report is written.
    #[serde(default)]
    pub status_text: Option<String>,
    /// A license's activation key (licenses only). A report holding one is written
    /// owner-only.
    #[serde(default)]
    pub lickey: Option<String>,
    /// A remark that is not an error, e.g. [`IN_CART`].
    #[serde(default)]
    pub note: Option<String>,
}

impl ReportRow {
    /// A row with the key fields set and everything else empty.
    pub fn new(
        group: impl Into<String>,
        seq: u64,
        domain: impl Into<String>,
        outcome: RowOutcome,
    ) -> Self {
        Self {
            seq,
            group: group.into(),
            domain: domain.into(),
            outcome,
            service_id: None,
            attempts: 0,
            error: None,
            remoteid: None,
            status: None,
            ip: None,
            cost: None,
            original_domain: None,
            duration_ms: None,
            expiredate: None,
            status_text: None,
            lickey: None,
            note: None,
        }
    }

    /// The row with one status vocabulary: the code in `status`, the word in `status_text`.
    pub fn with_status_text(&self) -> Self {
        let mut row = self.clone();
        let (code, word) = status_pair(self.status.as_deref(), self.status_text.as_deref());
        row.status = code;
        row.status_text = word;
        row
    }

    /// The row as written: one status vocabulary (code in `status`, word in
    /// `status_text`), and every text cell safe to open in a spreadsheet.
    fn for_writing(&self) -> Self {
        let mut row = self.with_status_text();
        for cell in [&mut row.group, &mut row.domain] {
            *cell = neutralise(cell);
        }
        for cell in [
            &mut row.service_id,
            &mut row.error,
            &mut row.remoteid,
            &mut row.status,
            &mut row.ip,
            &mut row.cost,
            &mut row.original_domain,
            &mut row.expiredate,
            &mut row.status_text,
            &mut row.lickey,
            &mut row.note,
        ]
        .into_iter()
        .flatten()
        {
            *cell = neutralise(cell);
        }
        row
    }
}

/// The report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Encoding or writing the CSV failed.
    #[error("cannot write the report: {0}")]
    Csv(#[from] ::csv::Error),
    /// A file operation on the report failed.
    #[error("report {}: {action}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// Writes the header and `rows`, sorted by group then seq, to `out`.
pub fn write_csv<W: Write>(out: W, rows: &[ReportRow]) -> Result<(), ReportError> {
    let mut sorted: Vec<&ReportRow> = rows.iter().collect();
    sorted.sort_by(|a, b| a.group.cmp(&b.group).then(a.seq.cmp(&b.seq)));
    let mut writer = ::csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out);
    writer.write_record(COLUMNS)?;
    for row in sorted {
        writer.serialize(row.for_writing())?;
    }
    writer.flush().map_err(::csv::Error::from)?;
    Ok(())
}

/// Writes the report to `path` atomically: readers see the old file or the whole new one,
/// never a part.
pub fn write_report(path: &Path, rows: &[ReportRow]) -> Result<(), ReportError> {
    let io_err = |path: &Path, action, source| ReportError::Io {
        path: path.to_owned(),
        action,
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "report.csv".into(), |n| n.to_string_lossy());
    let temp = dir.join(format!(
        ".{name}.{}.{:08x}.tmp",
        std::process::id(),
        rand::random::<u32>()
    ));
    let holds_keys = rows.iter().any(|r| r.lickey.is_some());
    let file = create_new(&temp, holds_keys).map_err(|e| io_err(&temp, "cannot create", e))?;
    let written = write_csv(BufWriter::new(&file), rows).and_then(|()| {
        file.sync_all()
            .map_err(|e| io_err(&temp, "cannot sync", e))?;
        fs::rename(&temp, path).map_err(|e| io_err(path, "cannot replace", e))
    });
    if written.is_err() {
        // Best effort: the temporary file is useless now.
        let _ = fs::remove_file(&temp);
    }
    written
}

/// Creates a new file; owner-only (0600 on Unix) when it will hold license keys.
pub(super) fn create_new(path: &Path, owner_only: bool) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if owner_only {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = owner_only;
    options.open(path)
}

/// `--report`, else the running command's own report beside the manifest (see
/// [`report_path_for`]).
pub fn report_path(manifest: &Path, report: Option<&Path>) -> PathBuf {
    let command = super::term::command().unwrap_or("apply");
    report_path_for(manifest, command, report)
}

/// `--report`, else `<manifest stem>.results.csv` for `apply` and
/// `<manifest stem>.<command>.csv` for every other command, beside the manifest.
pub fn report_path_for(manifest: &Path, command: &str, report: Option<&Path>) -> PathBuf {
    if let Some(report) = report {
        return report.to_owned();
    }
    let stem = manifest
        .file_stem()
        .map_or_else(|| "manifest".into(), |s| s.to_string_lossy());
    let suffix = if command == "apply" {
        "results"
    } else {
        command
    };
    manifest.with_file_name(format!("{stem}.{suffix}.csv"))
}

/// The ignore patterns that cover every default report name (for `.gitignore`).
pub const IGNORE_PATTERNS: [&str; 6] = [
    "*.results.csv",
    "*.prolong.csv",
    "*.edit.csv",
    "*.suspend.csv",
    "*.resume.csv",
    "*.destroy.csv",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_report_sits_beside_the_manifest() {
        assert_eq!(
            report_path(Path::new("fleets/web.yaml"), None),
            Path::new("fleets/web.results.csv")
        );
        assert_eq!(
            report_path(Path::new("web.yaml"), Some(Path::new("/tmp/r.csv"))),
            Path::new("/tmp/r.csv")
        );
        for command in ["apply", "prolong", "edit", "suspend", "resume", "destroy"] {
            let path = report_path_for(Path::new("fleets/web.yaml"), command, None);
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let covered = IGNORE_PATTERNS
                .iter()
                .any(|p| name.ends_with(p.trim_start_matches('*')));
            assert!(covered, "{name}");
        }
        assert_eq!(
            report_path_for(Path::new("web.yaml"), "prolong", None),
            Path::new("web.prolong.csv")
        );
    }

    #[test]
    fn one_status_vocabulary_and_safe_cells() {
        let mut a = ReportRow::new("web", 1, "=cmd|' /C calc'!A0", RowOutcome::Failed);
        a.status = Some("2".into());
        a.error = Some("@SUM(1+1)".into());
        a.cost = Some("-12.50".into());
        let mut b = ReportRow::new("web", 2, "b.example.com", RowOutcome::Prolonged);
        b.status = Some("suspended".into());
        b.error = Some("-2+3".into());
        let mut c = ReportRow::new("web", 3, "c.example.com", RowOutcome::Skipped);
        c.status = Some("absent".into());
        c.ip = Some("\t+1".into());
        let out = text(&[a, b, c]);
        let lines: Vec<&str> = out.lines().skip(1).collect();
        assert_eq!(
            lines,
            [
                "1,web,'=cmd|' /C calc'!A0,failed,,0,'@SUM(1+1),,2,,-12.50,,,,active,,",
                "2,web,b.example.com,prolonged,,0,'-2+3,,3,,,,,,suspended,,",
                "3,web,c.example.com,skipped,,0,,,,'\t+1,,,,,absent,,",
            ]
        );
    }

    fn text(rows: &[ReportRow]) -> String {
        let mut out = Vec::new();
        write_csv(&mut out, rows).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_note_is_the_last_cell_and_not_an_error() {
        let mut row = ReportRow::new("web", 1, "a.example.com", RowOutcome::Updated);
        row.note = Some(IN_CART.to_owned());
        let out = text(&[row]);
        let line = out.lines().nth(1).unwrap_or_default();
        assert_eq!(
            line,
            "1,web,a.example.com,updated,,0,,,,,,,,,,,\"in the cart, not paid\""
        );
    }

    #[test]
    fn header_exactly_and_empty_report_still_has_it() {
        assert_eq!(
            text(&[]),
            "seq,group,domain,outcome,service_id,attempts,error,\
             remoteid,status,ip,cost,original_domain,duration_ms,expiredate,status_text,lickey,note\n"
        );
    }

    #[test]
    fn rows_sorted_by_group_then_seq_with_empty_cells() {
        let mut failed = ReportRow::new("web", 2, "web-002.example.com", RowOutcome::Failed);
        failed.attempts = 5;
        failed.error = Some("insufficient funds, \"EUR\"".into());
        let mut ordered = ReportRow::new("web", 10, "web-011.example.com", RowOutcome::Ordered);
        ordered.service_id = Some("4242".into());
        ordered.attempts = 1;
        ordered.original_domain = Some("web-010.example.com".into());
        ordered.duration_ms = Some(850);
        let db = ReportRow::new("db", 3, "db-3.example.com", RowOutcome::Skipped);
        let out = text(&[ordered, failed, db]);
        let lines: Vec<&str> = out.lines().skip(1).collect();
        assert_eq!(
            lines,
            [
                "3,db,db-3.example.com,skipped,,0,,,,,,,,,,,",
                "2,web,web-002.example.com,failed,,5,\"insufficient funds, \"\"EUR\"\"\",,,,,,,,,,",
                "10,web,web-011.example.com,ordered,4242,1,,,,,,web-010.example.com,850,,,,",
            ]
        );
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.results.csv");
        fs::write(&path, "old").unwrap();
        let row = ReportRow::new("web", 1, "web-001.example.com", RowOutcome::Exists);
        write_report(&path, std::slice::from_ref(&row)).unwrap();
        let back: Vec<ReportRow> = ::csv::Reader::from_path(&path)
            .unwrap()
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, [row]);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["web.results.csv"]);
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/dir/r.csv");
        let err = write_report(&missing, &[]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("cannot create"), "{text}");
        assert!(text.contains("no/such/dir/.r.csv."), "{text}");
    }
}
