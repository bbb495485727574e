//! A small YAML reader that keeps positions: the events of `saphyr-parser` folded into a tree
//! of maps, sequences and scalars, each with the line and column where it starts.
//!
//! Deliberately strict: one document, no aliases (no expansion bombs), bounded nesting.

use std::borrow::Cow;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span, Tag};

use super::diag::Pos;

/// Deepest nesting of maps and sequences accepted; a manifest needs four levels.
const MAX_DEPTH: usize = 64;

/// A point in the source: 1-based line, 0-based column and character index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Mark {
    pub line: usize,
    pub col: usize,
    pub index: usize,
}

impl Mark {
    fn from_marker(m: Marker) -> Self {
        Self {
            line: m.line(),
            col: m.col(),
            index: m.index(),
        }
    }

    /// The diagnostic position (1-based column).
    pub fn pos(self) -> Pos {
        Pos {
            line: self.line.max(1),
            col: self.col + 1,
        }
    }
}

/// One node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    pub start: Mark,
    pub end: Mark,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Map(Vec<Entry>),
    Seq(Vec<Node>),
    Scalar(Scalar),
}

/// One `key: value` pair of a map.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The key's text.
    pub key: String,
    /// The key node (always a scalar).
    pub key_node: Node,
    pub value: Node,
}

/// A scalar, with its value resolved by the YAML 1.2 core schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    /// The text after unquoting.
    pub text: String,
    /// How it was written.
    pub style: ScalarStyle,
    pub value: Value,
}

/// The resolved value of a scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str,
}

impl Node {
    /// The JSON Schema type name of this node (`object`, `array`, `string`, `integer`, ...).
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Map(_) => "object",
            Kind::Seq(_) => "array",
            Kind::Scalar(s) => match s.value {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Int(_) => "integer",
                Value::Float(_) => "number",
                Value::Str => "string",
            },
        }
    }

    /// The scalar, when this node is one.
    pub fn scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }
}

/// Why the text could not be read as one YAML mapping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReadError {
    pub message: String,
    pub pos: Option<Pos>,
    pub hint: Option<String>,
}

impl ReadError {
    fn at(mark: Mark, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            pos: Some(mark.pos()),
            hint: None,
        }
    }
}

enum Frame {
    Map {
        start: Mark,
        entries: Vec<Entry>,
        key: Option<Node>,
    },
    Seq {
        start: Mark,
        items: Vec<Node>,
    },
}

/// Reads the text into a tree. `Ok(None)` when the text holds no document at all.
pub(crate) fn read(text: &str) -> Result<Option<Node>, ReadError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| ReadError {
            message: format!("not valid YAML: {}", e.info()),
            pos: Some(Mark::from_marker(*e.marker()).pos()),
            hint: None,
        })?;
        let start = Mark::from_marker(span.start);
        let done = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(ReadError {
                        hint: Some("keep one manifest per file".into()),
                        ..ReadError::at(start, "the file holds more than one YAML document")
                    });
                }
                None
            }
            Event::Alias(_) => {
                return Err(ReadError {
                    hint: Some("write the value out in full".into()),
                    ..ReadError::at(start, "aliases (`*name`) are not supported in a manifest")
                });
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(ReadError::at(start, "the manifest is nested too deeply"));
                }
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map {
                        start,
                        entries: Vec::new(),
                        key: None,
                    }
                } else {
                    Frame::Seq {
                        start,
                        items: Vec::new(),
                    }
                });
                None
            }
            Event::MappingEnd | Event::SequenceEnd => Some(close(stack.pop(), span)?),
            Event::Scalar(text, style, _, tag) => Some(scalar(text, style, tag.as_deref(), span)),
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => None,
        };
        if let Some(node) = done {
            match stack.last_mut() {
                None => root = Some(node),
                Some(frame) => attach(frame, node)?,
            }
        }
    }
    Ok(root)
}

fn close(frame: Option<Frame>, span: Span) -> Result<Node, ReadError> {
    let end = Mark::from_marker(span.end);
    match frame {
        Some(Frame::Map { start, entries, .. }) => Ok(Node {
            kind: Kind::Map(entries),
            start,
            end,
        }),
        Some(Frame::Seq { start, items }) => Ok(Node {
            kind: Kind::Seq(items),
            start,
            end,
        }),
        None => Err(ReadError::at(end, "not valid YAML: unbalanced structure")),
    }
}

fn attach(frame: &mut Frame, node: Node) -> Result<(), ReadError> {
    match frame {
        Frame::Seq { items, .. } => items.push(node),
        Frame::Map { entries, key, .. } => match key.take() {
            None => {
                let Kind::Scalar(s) = &node.kind else {
                    return Err(ReadError::at(
                        node.start,
                        "a key must be plain text, not a list or a map",
                    ));
                };
                if entries.iter().any(|e| e.key == s.text) {
                    return Err(ReadError {
                        hint: Some("each key may appear once in a map".into()),
                        ..ReadError::at(node.start, format!("duplicate key `{}`", s.text))
                    });
                }
                *key = Some(node);
            }
            Some(key_node) => {
                let key = key_node
                    .scalar()
                    .map(|s| s.text.clone())
                    .unwrap_or_default();
                entries.push(Entry {
                    key,
                    key_node,
                    value: node,
                });
            }
        },
    }
    Ok(())
}

fn scalar(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>, span: Span) -> Node {
    let forced_str = tag.is_some_and(|t| t.suffix == "str");
    let value = if style == ScalarStyle::Plain && !forced_str {
        resolve(&text)
    } else {
        Value::Str
    };
    Node {
        kind: Kind::Scalar(Scalar {
            text: text.into_owned(),
            style,
            value,
        }),
        start: Mark::from_marker(span.start),
        end: Mark::from_marker(span.end),
    }
}

/// Resolves a plain scalar by the YAML 1.2 core schema.
pub(crate) fn resolve(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(n) = resolve_int(text) {
        return Value::Int(n);
    }
    if is_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str
}

fn resolve_int(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16)
            .ok()
            .filter(|_| !hex.starts_with(['+', '-']));
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8)
            .ok()
            .filter(|_| !oct.starts_with(['+', '-']));
    }
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` with at least one digit; integers
/// too large for `i64` land here as well.
fn is_float(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(int)
        && frac.is_none_or(digits)
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_core_schema_scalars() {
        assert_eq!(resolve("12"), Value::Int(12));
        assert_eq!(resolve("-3"), Value::Int(-3));
        assert_eq!(resolve("0x1f"), Value::Int(31));
        assert_eq!(resolve("2.5"), Value::Float(2.5));
        assert_eq!(resolve("1e3"), Value::Float(1000.0));
        assert_eq!(resolve("~"), Value::Null);
        assert_eq!(resolve("true"), Value::Bool(true));
        assert_eq!(resolve("off"), Value::Str);
        assert_eq!(resolve("web-{seq}"), Value::Str);
        assert_eq!(resolve("1.2.3"), Value::Str);
        assert_eq!(resolve("."), Value::Str);
        assert!(matches!(resolve(".inf"), Value::Float(f) if f.is_infinite()));
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let node = read("version: 1\nfleet:\n  name: web\n  count: 3\n")
            .unwrap()
            .unwrap();
        let Kind::Map(entries) = &node.kind else {
            panic!("not a map")
        };
        assert_eq!(entries[0].key, "version");
        assert_eq!(entries[0].value.start.pos(), Pos { line: 1, col: 10 });
        let Kind::Map(fleet) = &entries[1].value.kind else {
            panic!("not a map")
        };
        assert_eq!(fleet[1].key_node.start.pos(), Pos { line: 4, col: 3 });
        assert_eq!(fleet[1].value.start.pos(), Pos { line: 4, col: 10 });
    }

    #[test]
    fn rejects_aliases_duplicates_and_second_documents() {
        let e = read("a: &x 1\nb: *x\n").unwrap_err();
        assert!(e.message.contains("aliases"));
        assert_eq!(e.pos, Some(Pos { line: 2, col: 4 }));
        let e = read("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.pos, Some(Pos { line: 2, col: 1 }));
        let e = read("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(e.message.contains("more than one"));
        assert_eq!(read("# only a comment\n").unwrap(), None);
    }
}
