//! The only code that writes to the terminal or report files: logging set-up, progress,
//! spinners, CSV reports, summaries, errors, and data on stdout ([`stdout`]).
//!
//! While a progress bar or spinner is on screen, log lines go through it ([`TermWriter`]),
//! so they never garble it. `-q` silences everything on stderr but errors; colour follows
//! `NO_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE` and whether each stream is a terminal ([`term`]).

pub mod csv;
pub mod inventory;
pub mod progress;
pub mod spinner;
pub mod term;

use std::io::{self, Write};
use std::sync::Mutex;

use indicatif::MultiProgress;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

pub use self::csv::{
    ReportError, ReportRow, RowOutcome, report_path, report_path_for, write_csv, write_report,
};
pub use self::progress::{Counters, Summary, Ui, UiMode};
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
