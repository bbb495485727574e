//! The structural pass: walks the positioned tree against the JSON Schema generated from the
//! Rust types (keys, required keys, types, enum values, numeric ranges), so the allowed keys
//! and values can never drift from the model. Reports every problem with its position and
//! prunes what it reported, so the typed pass sees only what it can read.

use serde_json::{Map, Value as Json};

use super::diag::Reporter;
use saphyr_parser::ScalarStyle;

use super::yaml::{Entry, Kind, Mark, Node, Scalar, Value};

/// Keys that hold credentials at any depth, and further ones inside `params`.
const SECRET_KEYS: [&str; 3] = ["password", "authinfo", "auth"];
const SECRET_PARAM_KEYS: [&str; 2] = ["username", "userpassword"];

/// True when the key `key` of the map at `parent` (its last path segment) holds credentials.
pub(crate) fn is_secret_key(parent_key: Option<&str>, key: &str) -> bool {
    let is = |k: &&str| k.eq_ignore_ascii_case(key);
    SECRET_KEYS.iter().any(is) || (parent_key == Some("params") && SECRET_PARAM_KEYS.iter().any(is))
}

/// How a node fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Fine (or only out of range: the typed pass can still read it).
    Keep,
    /// Reported; remove it so the typed pass falls back to the default.
    Drop,
    /// Reported, and the typed manifest cannot be built (e.g. a required key is missing).
    Fatal,
}

/// What the structural pass leaves for the next ones.
pub(crate) struct Checked {
    /// The pruned tree can be deserialized.
    pub readable: bool,
    /// Paths whose values were reported and removed or replaced by a stand-in; later checks
    /// skip them.
    pub tainted: Vec<String>,
}

/// Checks `root` against `schema`, pruning what it reports.
pub(crate) fn check(root: &mut Node, schema: &Json, out: &mut Reporter) -> Checked {
    let empty = Map::new();
    let defs = schema
        .get("$defs")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    let mut checker = Checker {
        defs,
        out,
        tainted: Vec::new(),
    };
    let readable = checker.node(root, schema, "", None) == Verdict::Keep;
    Checked {
        readable,
        tainted: checker.tainted,
    }
}

struct Checker<'a> {
    defs: &'a Map<String, Json>,
    out: &'a mut Reporter,
    tainted: Vec<String>,
}

/// `path` as shown in messages.
fn shown(path: &str) -> String {
    if path.is_empty() {
        "the top level".into()
    } else {
        format!("`{path}`")
    }
}

/// Where a key of the map at `path` is, as shown in messages.
fn place(path: &str) -> String {
    if path.is_empty() {
        "at the top level".into()
    } else {
        format!("in `{path}`")
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a> Checker<'a> {
    fn resolve(&self, mut schema: &'a Json) -> &'a Json {
        for _ in 0..8 {
            let Some(name) = schema
                .get("$ref")
                .and_then(Json::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
            else {
                break;
            };
            match self.defs.get(name) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    fn node(
        &mut self,
        node: &mut Node,
        schema: &'a Json,
        path: &str,
        key: Option<&str>,
    ) -> Verdict {
        let schema = self.resolve(schema);
        if let Some(alts) = schema.get("anyOf").and_then(Json::as_array) {
            let is_null = node.type_name() == "null";
            if is_null
                && alts
                    .iter()
                    .any(|a| a.get("type") == Some(&Json::from("null")))
            {
                return Verdict::Keep;
            }
            return match alts
                .iter()
                .find(|a| a.get("type") != Some(&Json::from("null")))
            {
                Some(alt) => self.node(node, alt, path, key),
                None => Verdict::Keep,
            };
        }
        if let Some(words) = enum_words(schema) {
            return self.word(node, &words, path);
        }
        if !self.type_matches(node, schema, path) {
            return Verdict::Drop;
        }
        let key = key.unwrap_or("");
        if matches!(node.kind, Kind::Map(_)) {
            return self.map(node, schema, path, key);
        }
        if let Kind::Seq(items) = &mut node.kind {
            let item_schema = schema.get("items").unwrap_or(&Json::Bool(true));
            let mut verdict = Verdict::Keep;
            for (i, item) in items.iter_mut().enumerate() {
                let item_path = format!("{path}[{i}]");
                if self.node(item, item_schema, &item_path, Some(key)) != Verdict::Keep {
                    verdict = Verdict::Fatal;
                }
            }
            return verdict;
        }
        self.range(node, schema, path);
        Verdict::Keep
    }

    fn type_matches(&mut self, node: &Node, schema: &Json, path: &str) -> bool {
        let allowed: Vec<&str> = match schema.get("type") {
            Some(Json::String(t)) => vec![t.as_str()],
            Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
            _ => return true,
        };
        let found = node.type_name();
        if allowed.contains(&found) || (found == "integer" && allowed.contains(&"number")) {
            return true;
        }
        let wanted: Vec<&str> = allowed
            .iter()
            .filter(|t| **t != "null")
            .map(|t| article(t))
            .collect();
        let hint = match (allowed.contains(&"string"), node.scalar()) {
            (true, Some(s)) => Some(format!("quote it to make it text: \"{}\"", s.text)),
            _ => None,
        };
        self.out.error(
            Some(node.start.pos()),
            format!(
                "{} must be {}, found {}",
                shown(path),
                wanted.join(" or "),
                article(found)
            ),
            hint,
        );
        false
    }

    fn word(&mut self, node: &Node, words: &[&str], path: &str) -> Verdict {
        let list = words.join(", ");
        match node.scalar() {
            Some(s) if s.value == Value::Str && words.contains(&s.text.as_str()) => Verdict::Keep,
            Some(s) if s.value != Value::Null => {
                let hint = match did_you_mean(&s.text, words.iter().copied()) {
                    Some(m) => format!("did you mean `{m}`? allowed: {list}"),
                    None => format!("allowed: {list}"),
                };
                self.out.error(
                    Some(node.start.pos()),
                    format!("unknown value `{}` for {}", s.text, shown(path)),
                    Some(hint),
                );
                Verdict::Drop
            }
            _ => {
                self.out.error(
                    Some(node.start.pos()),
                    format!("{} must be one of {list}", shown(path)),
                    None,
                );
                Verdict::Drop
            }
        }
    }

    fn map(&mut self, node: &mut Node, schema: &'a Json, path: &str, own_key: &str) -> Verdict {
        let start = node.start;
        let Kind::Map(entries) = &mut node.kind else {
            return Verdict::Keep;
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Json::as_array)
            .map(|r| r.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        let parent = Some(own_key).filter(|k| !k.is_empty());
        // Required keys that are absent or were dropped, and keys a typo was taken for.
        let mut lacking: Vec<String> = required.iter().map(|k| (*k).to_owned()).collect();
        let mut suggested: Vec<String> = Vec::new();
        let mut dropped: Vec<String> = Vec::new();
        entries.retain_mut(|entry| {
            if is_secret_key(parent, &entry.key) {
                return false; // reported by the credentials scan
            }
            match self.entry(entry, schema, path) {
                Ok(true) => {
                    lacking.retain(|k| *k != entry.key);
                    true
                }
                Ok(false) => {
                    dropped.push(entry.key.clone());
                    false
                }
                Err(suggestion) => {
                    suggested.extend(suggestion);
                    false
                }
            }
        });
        let mut verdict = Verdict::Keep;
        for key in lacking {
            let key_path = child(path, &key);
            let value_schema = schema.pointer(&format!("/properties/{key}"));
            if !dropped.contains(&key) && !suggested.contains(&key) {
                self.missing(start, schema, path, &key);
            }
            self.tainted.push(key_path);
            match value_schema.and_then(|s| self.placeholder(s, start)) {
                Some(value) => entries.push(Entry {
                    key: key.clone(),
                    key_node: Node {
                        kind: Kind::Scalar(Scalar {
                            text: key,
                            style: ScalarStyle::Plain,
                            value: Value::Str,
                        }),
                        start,
                        end: start,
                    },
                    value,
                }),
                None => verdict = Verdict::Fatal,
            }
        }
        verdict
    }

    /// Checks one entry: `Ok(true)` keep it, `Ok(false)` drop it (reported), `Err` an unknown
    /// key (reported), with the known key it was probably meant to be.
    fn entry(
        &mut self,
        entry: &mut Entry,
        schema: &'a Json,
        path: &str,
    ) -> Result<bool, Option<String>> {
        let props = schema.get("properties").and_then(Json::as_object);
        let entry_path = child(path, &entry.key);
        let value_schema = match (
            props.and_then(|p| p.get(&entry.key)),
            schema.get("additionalProperties"),
        ) {
            (Some(s), _) => s,
            (None, Some(Json::Bool(false))) => {
                let keys: Vec<&str> = props
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                let suggestion = did_you_mean(&entry.key, keys.iter().copied()).map(str::to_owned);
                let hint = match &suggestion {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => format!("allowed keys: {}", keys.join(", ")),
                };
                self.out.error(
                    Some(entry.key_node.start.pos()),
                    format!("unknown key `{}` {}", entry.key, place(path)),
                    Some(hint),
                );
                return Err(suggestion);
            }
            (None, Some(s)) => s,
            (None, None) => &Json::Bool(true),
        };
        match self.node(
            &mut entry.value,
            value_schema,
            &entry_path,
            Some(&entry.key),
        ) {
            Verdict::Keep => Ok(true),
            Verdict::Drop | Verdict::Fatal => {
                self.tainted.push(entry_path);
                Ok(false)
            }
        }
    }

    fn missing(&mut self, start: Mark, schema: &Json, path: &str, key: &str) {
        let place = if path.is_empty() {
            "the manifest".to_owned()
        } else {
            shown(path)
        };
        self.out.error(
            Some(start.pos()),
            format!("missing key `{key}` in {place}"),
            schema
                .pointer(&format!("/properties/{key}/description"))
                .and_then(Json::as_str)
                .map(|d| format!("`{key}`: {}", first_line(d))),
        );
    }

    /// A stand-in for a required scalar that is missing or wrong (already reported), so the
    /// typed and semantic passes can still look at the rest; `None` for maps and lists.
    fn placeholder(&self, schema: &'a Json, at: Mark) -> Option<Node> {
        let schema = self.resolve(schema);
        let types: Vec<&str> = match schema.get("type") {
            Some(Json::String(t)) => vec![t.as_str()],
            Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
            _ => return None,
        };
        let (text, value) = if types.contains(&"null") {
            ("", Value::Null)
        } else if types.contains(&"integer") || types.contains(&"number") {
            let min = schema.get("minimum").and_then(Json::as_i64).unwrap_or(0);
            return Some(scalar_node(min.to_string(), Value::Int(min), at));
        } else if types.contains(&"string") {
            ("", Value::Str)
        } else {
            return None;
        };
        Some(scalar_node(text.to_owned(), value, at))
    }

    /// `minimum`, `maximum` and `exclusiveMinimum` of numbers; non-finite numbers are refused
    /// wherever a bound is given.
    fn range(&mut self, node: &Node, schema: &Json, path: &str) {
        let value = match node.scalar().map(|s| s.value) {
            Some(Value::Int(n)) => n as f64,
            Some(Value::Float(f)) => f,
            _ => return,
        };
        let min = schema.get("minimum").and_then(Json::as_f64);
        let max = schema.get("maximum").and_then(Json::as_f64);
        let above = schema.get("exclusiveMinimum").and_then(Json::as_f64);
        if min.is_none() && max.is_none() && above.is_none() {
            return;
        }
        let text = node.scalar().map(|s| s.text.as_str()).unwrap_or_default();
        let at = shown(path);
        let problem = if !value.is_finite() {
            Some(format!("{at} must be a finite number, found `{text}`"))
        } else if min.is_some() && min == max {
            min.filter(|v| value != *v)
                .map(|v| format!("{at} must be {}, found {text}", num(v)))
        } else if let Some(lo) = min.filter(|lo| value < *lo) {
            Some(format!("{at} must be at least {}, found {text}", num(lo)))
        } else if let Some(lo) = above.filter(|lo| value <= *lo) {
            Some(format!("{at} must be more than {}, found {text}", num(lo)))
        } else {
            max.filter(|hi| value > *hi)
                .map(|hi| format!("{at} must be at most {}, found {text}", num(hi)))
        };
        if let Some(message) = problem {
            let hint = schema
                .get("description")
                .and_then(Json::as_str)
                .map(|d| first_line(d).to_owned());
            self.out.error(Some(node.start.pos()), message, hint);
        }
    }
}

fn scalar_node(text: String, value: Value, at: Mark) -> Node {
    Node {
        kind: Kind::Scalar(Scalar {
            text,
            style: ScalarStyle::Plain,
            value,
        }),
        start: at,
        end: at,
    }
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// The allowed words of a `oneOf` of `const`s or an `enum`.
fn enum_words(schema: &Json) -> Option<Vec<&str>> {
    if let Some(values) = schema.get("enum").and_then(Json::as_array) {
        return values.iter().map(Json::as_str).collect();
    }
    schema
        .get("oneOf")
        .and_then(Json::as_array)?
        .iter()
        .map(|alt| alt.get("const").and_then(Json::as_str))
        .collect()
}

fn article(type_name: &str) -> &'static str {
    match type_name {
        "object" => "a map",
        "array" => "a list",
        "string" => "text",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "true or false",
        "null" => "nothing (null)",
        _ => "a value",
    }
}

/// The closest of `candidates` to `word`, when one is close enough to be a typo.
pub(crate) fn did_you_mean<'c>(
    word: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Option<&'c str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_only_close_words() {
        let keys = ["pricelist", "period", "count"];
        assert_eq!(
            did_you_mean("pricelst", keys.into_iter()),
            Some("pricelist")
        );
        assert_eq!(did_you_mean("cuont", keys.into_iter()), Some("count"));
        assert_eq!(did_you_mean("colour", keys.into_iter()), None);
    }

    #[test]
    fn reads_enum_words_from_the_schema() {
        let schema = schemars::schema_for!(crate::manifest::Dialect).to_value();
        assert_eq!(enum_words(&schema), Some(vec!["bm4", "bm5", "bm6"]));
        assert!(is_secret_key(Some("params"), "UserName"));
        assert!(!is_secret_key(Some("fleet"), "username"));
    }
}
