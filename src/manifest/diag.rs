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
        let gutter = match (self.pos, &self.source_line) {
            (Some(pos), Some(_)) => pos.line.to_string().len(),
            _ => 1,
        };
        match self.pos {
            Some(pos) => writeln!(
                f,
                "{:gutter$} --> {}:{}:{}",
                "", self.file, pos.line, pos.col
            )?,
            None => writeln!(f, "{:gutter$} --> {}", "", self.file)?,
        }
        if let (Some(pos), Some(line)) = (self.pos, &self.source_line) {
            writeln!(f, "{:gutter$} |", "")?;
            // A tab is one column; show it as one space so the caret lines up.
            writeln!(f, "{} | {}", pos.line, line.replace('\t', " "))?;
            writeln!(f, "{:gutter$} | {:>width$}", "", "^", width = pos.col)?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "{:gutter$} = hint: {hint}", "")?;
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

impl Diagnostics {
    /// One problem without a position (unreadable file, …).
    pub fn single(file: &str, message: impl Into<String>, hint: Option<String>) -> Self {
        Self(vec![Diagnostic {
            message: message.into(),
            file: file.to_owned(),
            pos: None,
            source_line: None,
            hint,
        }])
    }
}

/// Collects positioned diagnostics against one source text.
#[derive(Debug, Clone)]
pub(crate) struct Reporter {
    file: String,
    lines: Vec<String>,
    pub diags: Vec<Diagnostic>,
}

impl Reporter {
    /// A reporter over `source`; the lines shown under diagnostics come from `lines`
    /// (the source with any secret masked).
    pub fn new(file: &str, lines: Vec<String>) -> Self {
        Self {
            file: file.to_owned(),
            lines,
            diags: Vec::new(),
        }
    }

    /// The lines of `source` as shown under diagnostics.
    pub fn split_lines(source: &str) -> Vec<String> {
        source
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
            .collect()
    }

    /// Builds a diagnostic; the position is moved inside the text when it lies beyond it.
    pub fn make(&self, pos: Option<Pos>, message: String, hint: Option<String>) -> Diagnostic {
        let pos = pos.map(|p| self.clamp(p));
        Diagnostic {
            message,
            file: self.file.clone(),
            pos,
            source_line: pos.and_then(|p| self.lines.get(p.line - 1).cloned()),
            hint,
        }
    }

    /// Records an error at `pos`.
    pub fn error(&mut self, pos: Option<Pos>, message: impl Into<String>, hint: Option<String>) {
        let d = self.make(pos, message.into(), hint);
        self.diags.push(d);
    }

    /// Source line `n` (1-based) as displayed.
    pub fn line(&self, n: usize) -> Option<&str> {
        n.checked_sub(1)
            .and_then(|i| self.lines.get(i))
            .map(String::as_str)
    }

    fn clamp(&self, pos: Pos) -> Pos {
        let last = self.lines.len().max(1);
        if pos.line == 0 || pos.line > last {
            let len = self.lines.last().map_or(0, |l| l.chars().count());
            return Pos {
                line: last,
                col: len + 1,
            };
        }
        let len = self
            .lines
            .get(pos.line - 1)
            .map_or(0, |l| l.chars().count());
        Pos {
            line: pos.line,
            col: pos.col.clamp(1, len + 1),
        }
    }

    /// The diagnostics, in source order (stable for equal positions).
    pub fn finish(mut self) -> Diagnostics {
        self.diags
            .sort_by_key(|d| d.pos.map_or((usize::MAX, 0), |p| (p.line, p.col)));
        Diagnostics(self.diags)
    }
}
