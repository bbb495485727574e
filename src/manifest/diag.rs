//! Diagnostics that point at the input: `error: …`, `--> file:line:col`, the source line,
//! a caret and a hint.

use std::fmt;

/// A position in the manifest, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub col: usize,
}

/// One problem found in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong, one line.
    pub message: String,
    /// File name as the user gave it.
    pub file: String,
    /// Where, when known.
    pub pos: Option<Pos>,
    /// The source line at `pos`, for the caret display.
    pub source_line: Option<String>,
    /// How to fix it ("did you mean `pricelist`?").
    pub hint: Option<String>,
}

/// All problems found in one pass.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        match self.pos {
            Some(pos) => writeln!(f, "  --> {}:{}:{}", self.file, pos.line, pos.col)?,
            None => writeln!(f, "  --> {}", self.file)?,
        }
        if let (Some(pos), Some(line)) = (self.pos, &self.source_line) {
            let gutter = pos.line.to_string().len();
            writeln!(f, "{:gutter$} |", "")?;
            writeln!(f, "{} | {}", pos.line, line)?;
            writeln!(f, "{:gutter$} | {:>width$}", "", "^", width = pos.col)?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "  = hint: {hint}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        let n = self.0.len();
        write!(
            f,
            "{n} error{} found; nothing was sent to the billing",
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for Diagnostics {}
