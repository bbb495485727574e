//! Data on stdout for the commands whose answer is one text: completions, the man page, the
//! schema, a generated manifest, `unlock`'s lines, `validate`'s verdict, and the line the
//! sandbox prints when it listens.

use std::io::{self, Write};

/// Writes `bytes` to stdout and flushes (a closed pipe ends the command quietly).
pub fn write(bytes: &[u8]) -> io::Result<()> {
    let mut out = super::stdout();
    out.write_all(bytes).and_then(|()| out.flush())
}

/// Writes `text` and a newline to stdout (a closed pipe ends the command quietly).
pub fn line(text: &str) -> io::Result<()> {
    let mut out = super::stdout();
    writeln!(out, "{text}")
}

/// The single line scripts wait for (`listening on …`), straight to the process's stdout,
/// flushed; a closed stdout is an error here, since nobody would learn the address.
pub fn announce(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush())
}
