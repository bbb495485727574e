//! `billfleet doctor`'s findings on stdout: one line per check, `✓` or `✗` with a hint.

use std::io::{self, BufWriter, Write};

use crate::doctor::Check;

/// Writes the checks to the process's stdout, one line each, and flushes.
pub fn print(checks: &[Check]) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    checks.iter().try_for_each(|c| {
        let mark = if c.ok { "✓" } else { "✗" };
        match &c.hint {
            Some(hint) => writeln!(out, "{mark} {} (hint: {hint})", c.text),
            None => writeln!(out, "{mark} {}", c.text),
        }
    })?;
    out.flush()
}
