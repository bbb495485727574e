//! What the terminal is and what the user asked of it, decided once per process: `-q`,
//! `-v`, colour per stream (`NO_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE`, and whether the
//! stream is a terminal, as anstream reads them), and whether stdout has been closed under
//! us (a `| head` that stopped reading).

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

use anstream::ColorChoice;
use anstream::stream::RawStream;
use tokio_util::sync::CancellationToken;

static QUIET: AtomicBool = AtomicBool::new(false);
static VERBOSE: AtomicU8 = AtomicU8::new(0);
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static COMMAND: OnceLock<String> = OnceLock::new();
/// Runs to stop when stdout closes. A std mutex: held only to push or drain, never across
/// an await.
static ON_CLOSED: Mutex<Vec<CancellationToken>> = Mutex::new(Vec::new());

/// Records `-q`, `-v` and the command being run (once, at start-up).
pub fn configure(verbose: u8, quiet: bool, command: &str) {
    QUIET.store(quiet, Ordering::Relaxed);
    VERBOSE.store(verbose, Ordering::Relaxed);
    let _ = COMMAND.set(command.to_owned());
}

/// `-q`: nothing on stderr but errors.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// How many `-v` were given.
pub fn verbosity() -> u8 {
    VERBOSE.load(Ordering::Relaxed)
}

/// The command being run (`apply`, `prolong`, …), once [`configure`]d.
pub fn command() -> Option<&'static str> {
    COMMAND.get().map(String::as_str)
}

/// Whether colour may be written to `stream`: `NO_COLOR` off, `CLICOLOR_FORCE` on,
/// `CLICOLOR=0` off, else only on a terminal.
pub fn colour_on<S: RawStream>(stream: &S) -> bool {
    anstream::AutoStream::choice(stream) != ColorChoice::Never
}

/// Colour on stderr (logs, diagnostics, progress, prompts).
pub fn stderr_colour() -> bool {
    colour_on(&io::stderr())
}

/// Colour on stdout (tables).
pub fn stdout_colour() -> bool {
    colour_on(&io::stdout())
}

/// Whether live progress (bars, spinners) belongs on stderr: a terminal, and not `-q`.
pub fn live_progress() -> bool {
    !quiet() && io::stderr().is_terminal()
}

/// `text` in `style` when `on`, else as it is.
pub fn paint(text: &str, style: anstyle::Style, on: bool) -> String {
    if on {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// True once a write to stdout found it closed.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::SeqCst)
}

/// Cancels `stop` when stdout closes (a mutating run then stops as on Ctrl-C).
pub fn stop_when_stdout_closes(stop: &CancellationToken) {
    if stdout_closed() {
        stop.cancel();
        return;
    }
    ON_CLOSED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(stop.clone());
}

fn mark_stdout_closed() {
    if STDOUT_CLOSED.swap(true, Ordering::SeqCst) {
        return;
    }
    let tokens = std::mem::take(&mut *ON_CLOSED.lock().unwrap_or_else(|p| p.into_inner()));
    for token in tokens {
        token.cancel();
    }
}

/// Standard output for data. A closed pipe is not an error here: the write is dropped, the
/// closure is remembered ([`stdout_closed`]) and the runs registered with
/// [`stop_when_stdout_closes`] are stopped. Every other error is returned.
#[derive(Debug, Default)]
pub struct Stdout;

/// Data goes to stdout through this (never `println!`, which panics on a closed pipe).
pub fn stdout() -> Stdout {
    Stdout
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if stdout_closed() {
            return Ok(buf.len());
        }
        super::spinner::clear();
        match io::stdout().write(buf) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                mark_stdout_closed();
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if stdout_closed() {
            return Ok(());
        }
        match io::stdout().flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                mark_stdout_closed();
                Ok(())
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_only_when_on() {
        let style = anstyle::Style::new().bold();
        assert_eq!(paint("x", style, false), "x");
        let on = paint("x", style, true);
        assert!(on.starts_with('\u{1b}') && on.contains('x'), "{on:?}");
    }
}
