//! The confirmation rule of every mutating command: without `--yes` it asks on a terminal
//! (showing what will happen and what it costs) and refuses when stdin is not a terminal.

use std::io::{BufRead, IsTerminal, Write};

/// What the user decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Proceed,
    /// The user said no.
    Declined,
}

/// Checked before anything is sent: refuses a mutating command without `--yes` when stdin is
/// not a terminal (CI, pipes), so a script never hangs on a prompt nor acts unasked.
pub fn require_yes_or_terminal(yes: bool, command: &str) -> Result<(), String> {
    if yes || std::io::stdin().is_terminal() {
        Ok(())
    } else {
        Err(format!(
            "`billfleet {command}` changes (and may pay for) services: pass --yes to run it without a terminal"
        ))
    }
}

/// Asks `question` on the terminal unless `yes`; anything but `y`/`yes` declines.
pub fn confirm(yes: bool, question: &str) -> Decision {
    if yes {
        return Decision::Proceed;
    }
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{question} [y/N] ");
    let _ = stderr.flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return Decision::Declined;
    }
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Decision::Proceed
    } else {
        Decision::Declined
    }
}
