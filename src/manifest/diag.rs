//! Diagnostics that point at the input: `error: …`, `--> file:line:col`, the source line
//! with the whole offending token underlined, and a hint; rendered by annotate-snippets,
//! in colour where the terminal takes it.

use std::fmt;

use annotate_snippets::{AnnotationKind, Level, Origin, Renderer, Snippet};

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
    /// The source line at `pos`, shown with the offending token underlined.
    pub source_line: Option<String>,
    /// How to fix it ("did you mean `pricelist`?").
    pub hint: Option<String>,
}

/// All problems found in one pass.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostic {
    /// The diagnostic as text: `error: …`, `--> file:line:col`, the source line with the
    /// whole offending token underlined, and the hint. With `styled`, the label, gutter and
    /// underline are coloured (ANSI); otherwise plain text.
    pub fn render(&self, styled: bool) -> String {
        let renderer = if styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        // Long lines are cut to the terminal's width when the shell says what it is.
        let columns = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
        let renderer = match columns {
            Some(width) if width >= 40 => renderer.term_width(width),
            _ => renderer,
        };
        let title = Level::ERROR.primary_title(self.message.as_str());
        // A tab is one column; show it as one space so the underline lines up.
        let shown = self.source_line.as_ref().map(|l| l.replace('\t', " "));
        let mut group = match (self.pos, &shown) {
            (Some(pos), Some(line)) => title.element(
                Snippet::source(line.as_str())
                    .line_start(pos.line)
                    .path(self.file.as_str())
                    .annotation(AnnotationKind::Primary.span(token_span(line, pos.col))),
            ),
            (Some(pos), None) => title.element(
                Origin::path(self.file.as_str())
                    .line(pos.line)
                    .char_column(pos.col),
            ),
            (None, _) => title.element(Origin::path(self.file.as_str())),
        };
        if let Some(hint) = &self.hint {
            group = group.element(Level::HELP.with_name("hint").message(hint.as_str()));
        }
        let mut text = renderer.render(&[group]);
        text.push('\n');
        text
    }
}

/// The byte range of the token starting at column `col` (1-based, in characters) of
/// `line`: a quoted scalar up to its closing quote, else up to the end of a key (`: `), a
/// flow separator, a comment or the line's end. At least one character when the line has
/// one there; empty at the end of the line.
fn token_span(line: &str, col: usize) -> std::ops::Range<usize> {
    let start = line
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(line.len(), |(i, _)| i);
    let rest = &line[start..];
    let mut chars = rest.char_indices();
    let len = match chars.next() {
        None => 0,
        Some((_, quote @ ('"' | '\''))) => chars
            .find(|&(_, c)| c == quote)
            .map_or(rest.len(), |(i, c)| i + c.len_utf8()),
        Some((_, open @ ('[' | '{'))) => {
            let close = if open == '[' { ']' } else { '}' };
            let mut depth = 0usize;
            rest.char_indices()
                .find(|&(_, c)| {
                    if c == open {
                        depth += 1;
                    } else if c == close {
                        depth -= 1;
                    }
                    depth == 0
                })
                .map_or(rest.len(), |(i, c)| i + c.len_utf8())
        }
        Some((_, first)) => {
            let bytes = rest.as_bytes();
            let stop = rest.char_indices().skip(1).find(|&(i, c)| {
                matches!(c, ',' | ']' | '}')
                    || (c == ':' && bytes.get(i + 1).is_none_or(|b| *b == b' '))
                    || (c == '#' && bytes.get(i.wrapping_sub(1)) == Some(&b' '))
            });
            let end = stop.map_or(rest.len(), |(i, _)| i);
            let token = rest[..end].trim_end();
            if token.is_empty() {
                first.len_utf8()
            } else {
                token.len()
            }
        }
    };
    start..start + len
}

impl Diagnostic {
    /// The diagnostic as JSON: `file`, `line`, `col` (null when unknown), `message`, `hint`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "file": self.file,
            "line": self.pos.map(|p| p.line),
            "col": self.pos.map(|p| p.col),
            "message": self.message,
            "hint": self.hint,
        })
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl Diagnostics {
    /// Every diagnostic (see [`Diagnostic::render`]), then the count.
    pub fn render(&self, styled: bool) -> String {
        let mut text = String::new();
        for d in &self.0 {
            text.push_str(&d.render(styled));
            text.push('\n');
        }
        let n = self.0.len();
        text.push_str(&format!(
            "{n} error{} found; nothing was sent to the billing",
            if n == 1 { "" } else { "s" }
        ));
        text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_without_a_source_line_and_colour_only_when_styled() {
        let d = Diagnostic {
            message: "not text".into(),
            file: "m.yaml".into(),
            pos: Some(Pos { line: 1, col: 4 }),
            source_line: None,
            hint: Some("UTF-8".into()),
        };
        let plain = d.render(false);
        assert!(plain.contains("m.yaml:1:4"), "{plain}");
        assert!(plain.contains("= hint: UTF-8"), "{plain}");
        assert!(!plain.contains('\u{1b}'));
        assert!(d.render(true).contains('\u{1b}'));
    }

    #[test]
    fn token_spans() {
        let span = |line: &str, col| {
            let r = token_span(line, col);
            line[r].to_owned()
        };
        assert_eq!(span("  pricelst: 6", 3), "pricelst");
        assert_eq!(span("  count: three", 10), "three");
        assert_eq!(span("  domain: \"a b\" # c", 11), "\"a b\"");
        assert_eq!(span("billing: {dialekt: bm5}", 11), "dialekt");
        assert_eq!(span("  name: [a, b]", 9), "[a, b]");
        assert_eq!(span("x: {a: [1]} # c", 4), "{a: [1]}");
        assert_eq!(span("  url: http://x:80/a # note", 8), "http://x:80/a");
        assert_eq!(span("ab", 3), "");
        assert_eq!(span("  é: 1", 3), "é");
    }
}
