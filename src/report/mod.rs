//! The only code that writes to the terminal or report files: logging set-up, progress,
//! spinners, CSV reports, summaries, errors, and data on stdout ([`stdout`]).
//!
//! While a progress bar or spinner is on screen, log lines go through it ([`TermWriter`]),
//! so they never garble it. `-q` silences everything on stderr but errors; colour follows
//! `NO_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE` and whether each stream is a terminal ([`term`]).

pub mod catalog;
mod cells;
pub mod confirm;
pub mod csv;
pub mod data;
pub mod doctor;
pub mod explain;
pub mod inventory;
pub mod lifecycle;
pub mod plan;
pub mod progress;
pub mod spinner;
pub mod status;
pub mod summary;
pub mod term;

use std::io::{self, Write};
use std::sync::Mutex;

use indicatif::MultiProgress;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

pub use self::csv::{
    ReportError, ReportRow, RowOutcome, report_path, report_path_for, write_csv, write_report,
};
pub use self::progress::{Counters, Ui, UiMode};
pub use self::summary::Summary;
pub use self::term::{Stdout, stdout, stdout_closed, stop_when_stdout_closes};

/// The progress bars on screen, if any. A std mutex: held only to clone or swap the
/// handle, never while writing or across an await.
static ACTIVE: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Sets up `tracing` on stderr: `-q` errors only, default info, `-v` debug, `-vv` trace;
/// `RUST_LOG` wins when set. Colour only where stderr takes it ([`term::stderr_colour`]).
pub fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "billfleet=debug,info",
        _ => "billfleet=trace,debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(TermWriter)
        .with_ansi(term::stderr_colour())
        .with_target(false)
        .without_time()
        .try_init();
}

/// A `MakeWriter` for stderr that, while progress bars are on screen, hides them around
/// each write so text and bars never mix.
#[derive(Debug, Clone, Copy, Default)]
pub struct TermWriter;

impl<'a> MakeWriter<'a> for TermWriter {
    type Writer = TermWriter;

    fn make_writer(&'a self) -> Self::Writer {
        TermWriter
    }
}

impl Write for TermWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let active = ACTIVE.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match active {
            Some(multi) => multi.suspend(|| io::stderr().lock().write_all(buf)),
            None => io::stderr().lock().write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Writes one line to stderr through [`TermWriter`] (for summaries and notices); nothing
/// with `-q`.
pub fn eprint_line(line: &str) {
    if term::quiet() {
        return;
    }
    // Nothing sensible to do when stderr itself is gone.
    let _ = TermWriter.write_all(format!("{line}\n").as_bytes());
}

/// Writes an error to stderr (also with `-q`): `error:` in bold red where colour is on,
/// unless the text already starts with its own `error` label.
pub fn eprint_error(text: &str) {
    spinner::clear();
    let colour = term::stderr_colour();
    let body = text.trim_end_matches('\n');
    let line = if body.starts_with("error") || body.starts_with("\u{1b}") {
        body.to_owned()
    } else {
        let style = anstyle::AnsiColor::BrightRed.on_default().bold();
        format!("{}: {body}", term::paint("error", style, colour))
    };
    let _ = TermWriter.write_all(format!("{line}\n").as_bytes());
}

/// Puts `multi` on screen for [`TermWriter`] until the guard is dropped.
fn activate(multi: &MultiProgress) -> ActiveGuard {
    *ACTIVE.lock().unwrap_or_else(|p| p.into_inner()) = Some(multi.clone());
    ActiveGuard
}

/// Takes the bars off [`TermWriter`]'s hands when dropped (also when a task is cancelled).
#[derive(Debug)]
struct ActiveGuard;

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        *ACTIVE.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// `1 server`, `2 servers`: a count with its noun (regular plurals only).
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The final result of a run as one JSON object on stdout: the rows, the count per
/// outcome, the duration and calls, and the report's path.
pub fn result_json(
    rows: &[ReportRow],
    summary: &Summary,
    report: &std::path::Path,
) -> io::Result<()> {
    let counts: serde_json::Map<String, serde_json::Value> = summary
        .counts
        .iter()
        .map(|(outcome, n)| (outcome.as_str().to_owned(), serde_json::json!(n)))
        .collect();
    let rows: Vec<ReportRow> = rows.iter().map(ReportRow::with_status_text).collect();
    let value = serde_json::json!({
        "rows": rows,
        "totals": {
            "rows": rows.len(),
            "outcomes": counts,
            "duration_ms": u64::try_from(summary.duration.as_millis()).unwrap_or(u64::MAX),
            "calls": summary.calls,
        },
        "report": report.display().to_string(),
    });
    let mut out = io::BufWriter::new(stdout());
    serde_json::to_writer_pretty(&mut out, &value).map_err(io::Error::other)?;
    writeln!(out)?;
    out.flush()
}

/// Auto-renewal as shown: the billing's period, or `off` when it has none (never `null`).
pub fn autoprolong_word(value: Option<&str>) -> String {
    match value.map(str::trim) {
        None | Some("" | "null" | "off" | "0") => "off".to_owned(),
        Some(period) => period.to_owned(),
    }
}

/// `text` wrapped at `width` columns (by words), the first line after `first`, the others
/// after `rest`.
///
/// When `first` is wider than `rest` (a long head), even the first word may go to the next
/// line.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let mut out = String::from(first);
    let mut line_len = first.chars().count();
    let rest_len = rest.chars().count();
    // Only a head wider than the continuation indent may send even the first word on.
    let mut may_break = line_len > rest_len;
    let mut line_start = true;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if may_break && line_len + 1 + len > width {
            out.truncate(out.trim_end().len());
            out.push('\n');
            out.push_str(rest);
            line_len = rest_len;
            line_start = true;
        }
        if !line_start {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
        line_start = false;
        may_break = true;
    }
    out
}

/// A padded table cell, in colour where `colour` is on: headers bold, a service status by
/// what it means (active green, suspended yellow, absent or conflict red, pending cyan).
pub fn table_cell(padded: &str, header: bool, colour: bool) -> String {
    use anstyle::AnsiColor;
    if !colour {
        return padded.to_owned();
    }
    let style = if header {
        anstyle::Style::new().bold()
    } else {
        match padded.split_whitespace().next() {
            Some("active") => AnsiColor::Green.on_default(),
            Some("suspended") => AnsiColor::Yellow.on_default(),
            Some("absent" | "conflict" | "deleted") => AnsiColor::Red.on_default(),
            Some("ordered" | "processing") => AnsiColor::Cyan.on_default(),
            _ => return padded.to_owned(),
        }
    };
    // Colour the text, not the padding, so `trim_end` of a line still works.
    let text = padded.trim_end();
    let pad = &padded[text.len()..];
    format!("{}{pad}", term::paint(text, style, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_wrap_at_the_width() {
        let text = wrap("aaa bbb ccc ddd", 12, "- ", "  ");
        assert_eq!(text, "- aaa bbb\n  ccc ddd");
        assert_eq!(plural(1, "group"), "1 group");
        assert_eq!(plural(2, "group"), "2 groups");
        assert_eq!(autoprolong_word(None), "off");
        assert_eq!(autoprolong_word(Some("null")), "off");
        assert_eq!(autoprolong_word(Some("1")), "1");
        assert_eq!(table_cell("active  ", false, false), "active  ");
        let on = table_cell("active  ", false, true);
        assert!(on.starts_with('\u{1b}') && on.ends_with("  "), "{on:?}");
        assert_eq!(table_cell("web-1 ", false, true), "web-1 ");
    }
}
