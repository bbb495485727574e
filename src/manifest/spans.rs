//! Where things are: the position of every key and value by dotted path, and the credentials
//! found anywhere in the tree (with the spans to mask in displayed source lines).

use std::collections::HashMap;

use super::check::is_secret_key;
use super::diag::Pos;
use super::yaml::{Kind, Mark, Node};

/// The position of one key and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Spot {
    /// The key (for list items and the root: the value itself).
    pub key: Pos,
    /// The value.
    pub value: Pos,
    /// The value is a single-line quoted scalar, so its text starts one column later.
    pub quoted: bool,
    /// The value is a scalar written on one line.
    pub one_line: bool,
}

/// Positions by dotted path: `fleet.count`, `fleets[1].addons.10`, `execution.rate`; the
/// root is the empty path.
#[derive(Debug, Clone, Default)]
pub(crate) struct SpanIndex(HashMap<String, Spot>);

impl SpanIndex {
    /// Indexes every key and value of the tree.
    pub fn build(root: &Node) -> Self {
        let mut index = Self::default();
        index.insert(String::new(), root.start.pos(), root);
        index.walk(root, "");
        index
    }

    fn insert(&mut self, path: String, key: Pos, value: &Node) {
        let scalar = value.scalar();
        let spot = Spot {
            key,
            value: value.start.pos(),
            quoted: scalar.is_some_and(|s| {
                matches!(
                    s.style,
                    saphyr_parser::ScalarStyle::SingleQuoted
                        | saphyr_parser::ScalarStyle::DoubleQuoted
                )
            }),
            one_line: scalar.is_some() && value.start.line == value.end.line,
        };
        self.0.entry(path).or_insert(spot);
    }

    fn walk(&mut self, node: &Node, path: &str) {
        match &node.kind {
            Kind::Map(entries) => {
                for e in entries {
                    let p = join(path, &e.key);
                    self.insert(p.clone(), e.key_node.start.pos(), &e.value);
                    self.walk(&e.value, &p);
                }
            }
            Kind::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    self.insert(p.clone(), item.start.pos(), item);
                    self.walk(item, &p);
                }
            }
            Kind::Scalar(_) => {}
        }
    }

    /// The spot at `path`, if the manifest holds it.
    pub fn get(&self, path: &str) -> Option<Spot> {
        self.0.get(path).copied()
    }

    /// The spot at `path`, else at its nearest ancestor that exists.
    pub fn nearest(&self, path: &str) -> Option<Spot> {
        let mut path = path;
        loop {
            if let Some(spot) = self.get(path) {
                return Some(spot);
            }
            if path.is_empty() {
                return None;
            }
            path = &path[..path.rfind(['.', '[']).unwrap_or(0)];
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A credential found in the tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Secret {
    /// Dotted path of the key.
    pub path: String,
    /// The key's position.
    pub key: Pos,
    /// Span of the value, to mask.
    pub start: Mark,
    pub end: Mark,
    /// The value's text when it is a scalar, to mask wherever it shows.
    pub text: Option<String>,
}

/// Every credential key at any depth (see [`is_secret_key`]).
pub(crate) fn secrets(root: &Node) -> Vec<Secret> {
    let mut found = Vec::new();
    scan(root, "", None, &mut found);
    found
}

fn scan(node: &Node, path: &str, own_key: Option<&str>, found: &mut Vec<Secret>) {
    match &node.kind {
        Kind::Map(entries) => {
            for e in entries {
                let p = join(path, &e.key);
                if is_secret_key(own_key, &e.key) || url_with_credentials(&e.key, &e.value) {
                    found.push(Secret {
                        path: p.clone(),
                        key: e.key_node.start.pos(),
                        start: e.value.start,
                        end: e.value.end,
                        text: e.value.scalar().map(|s| s.text.clone()),
                    });
                }
                scan(&e.value, &p, Some(&e.key), found);
            }
        }
        Kind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                scan(item, &format!("{path}[{i}]"), own_key, found);
            }
        }
        Kind::Scalar(_) => {}
    }
}

/// A `url` whose authority holds a user name or password.
fn url_with_credentials(key: &str, value: &Node) -> bool {
    key == "url"
        && value
            .scalar()
            .and_then(|s| url::Url::parse(&s.text).ok())
            .is_some_and(|u| !u.username().is_empty() || u.password().is_some())
}

/// `lines` with the value of every credential replaced by `***`.
pub(crate) fn mask(mut lines: Vec<String>, secrets: &[Secret]) -> Vec<String> {
    let mut spans: Vec<&Secret> = secrets.iter().collect();
    spans.sort_by_key(|s| std::cmp::Reverse((s.start.line, s.start.col)));
    for s in &spans {
        if s.start.index == s.end.index {
            continue;
        }
        for line_no in s.start.line..=s.end.line {
            let Some(line) = line_no.checked_sub(1).and_then(|i| lines.get_mut(i)) else {
                continue;
            };
            let chars: Vec<char> = line.chars().collect();
            let from = if line_no == s.start.line {
                s.start.col
            } else {
                0
            };
            let to = if line_no == s.end.line {
                s.end.col
            } else {
                chars.len()
            };
            let (from, to) = (from.min(chars.len()), to.min(chars.len()));
            if from >= to {
                continue;
            }
            let mut masked: String = chars[..from].iter().collect();
            masked.push_str("***");
            masked.extend(&chars[to..]);
            *line = masked;
        }
    }
    for text in secrets.iter().filter_map(|s| s.text.as_deref()) {
        // Short values are masked by their span alone; masking them everywhere would garble.
        if text.trim().chars().count() < 4 {
            continue;
        }
        for line in &mut lines {
            if line.contains(text) {
                *line = line.replace(text, "***");
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::yaml::read;

    #[test]
    fn finds_and_masks_credentials() {
        let text = "a:\n  params: {username: bob, x: 1}\n  auth:\n    user: me\n    pass: longsecret\nb: longsecret\n";
        let tree = read(text).unwrap().unwrap();
        let found = secrets(&tree);
        let paths: Vec<&str> = found.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(paths, ["a.params.username", "a.auth"]);
        assert_eq!(found[0].key, Pos { line: 2, col: 12 });
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let masked = mask(lines, &found);
        assert_eq!(masked[1], "  params: {username: ***, x: 1}");
        assert_eq!(masked[3], "    ***");
        assert_eq!(masked[4], "***");
        assert_eq!(masked[5], "b: longsecret");
    }

    #[test]
    fn nearest_walks_up_to_the_root() {
        let tree = read("fleets:\n  - name: a\n").unwrap().unwrap();
        let index = SpanIndex::build(&tree);
        let pos = |p: &str| index.nearest(p).map(|s| s.value);
        assert_eq!(pos("fleets[0].name"), Some(Pos { line: 2, col: 11 }));
        assert_eq!(pos("fleets[0].count"), Some(Pos { line: 2, col: 5 }));
        assert_eq!(pos("billing.url"), Some(Pos { line: 1, col: 1 }));
    }
}
