//! The manifest: typed model, loading with positions, validation, domain patterns.
//!
//! Loading runs three passes over one positioned YAML tree and reports every problem of all
//! of them at once:
//! 1. structural (`check`): keys, types, required keys, enum values and ranges, read from
//!    the JSON Schema generated from the types in [`model`]; credentials anywhere;
//! 2. typed: the [`Manifest`] is deserialized from the (pruned) tree;
//! 3. semantic (`validate`): domain patterns and domains, duplicates, totals, ids, URL.
//!
//! Beside loading: [`pattern`] is the one domain-pattern parser (expansion and look-alike
//! matching), [`online`] checks a manifest against the billing's order forms (pure), and
//! [`scaffold`] writes a commented manifest from an order form (`init`). The wire choices of
//! `billing:` (dialect, format, login) are [`crate::protocol`]'s, re-exported here.

mod check;
mod de;
pub mod diag;
pub mod model;
pub mod online;
pub mod pattern;
pub mod scaffold;
mod spans;
mod validate;
mod yaml;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

pub use diag::{Diagnostic, Diagnostics, Pos};
pub use model::*;
pub use validate::{MAX_GROUP, MAX_TOTAL};

use diag::Reporter;
use spans::SpanIndex;

/// Largest manifest accepted, in bytes.
pub const MAX_BYTES: u64 = 8 * 1024 * 1024;

const CREDENTIALS_HINT: &str =
    "set BILLFLEET_PASSWORD or a profile's password_env/password_command in billfleet.toml";

/// A manifest read from a file, with what is needed to point at its lines later.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The typed, validated manifest.
    pub manifest: Manifest,
    /// The file it came from.
    pub path: PathBuf,
    /// The file's text.
    pub source: String,
    spans: SpanIndex,
}

impl Loaded {
    /// Position of a value by dotted path, e.g. `fleet.count`, `fleets[1].addons.10`,
    /// `execution.rate`, `billing.dialect` (list indexes count from 0; "" is the whole
    /// manifest). `None` when the manifest does not write that key.
    pub fn pos_of(&self, path: &str) -> Option<Pos> {
        self.spans.get(path).map(|s| s.value)
    }

    /// Position of the key of the value at `path` (for list items: the item itself).
    pub fn key_pos_of(&self, path: &str) -> Option<Pos> {
        self.spans.get(path).map(|s| s.key)
    }

    /// The dotted path of group `i` of `manifest.groups()`: `fleet` or `fleets[i]`.
    pub fn group_path(&self, i: usize) -> String {
        validate::group_path(&self.manifest, i)
    }

    /// A positioned diagnostic at that path, for checks made later (e.g. against the
    /// billing's catalog). A path the manifest does not write (a default) points at its
    /// nearest written ancestor; with none, the diagnostic has no position.
    pub fn diagnostic_at(
        &self,
        path: &str,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Diagnostic {
        let reporter = Reporter::new(&self.file(), Reporter::split_lines(&self.source));
        let pos = self.spans.nearest(path).map(|s| s.value);
        reporter.make(pos, message.into(), hint)
    }

    fn file(&self) -> String {
        self.path.display().to_string()
    }
}

/// The JSON Schema of the manifest, generated from the Rust types (schemars).
static SCHEMA: LazyLock<serde_json::Value> =
    LazyLock::new(|| schemars::schema_for!(Manifest).to_value());

/// JSON Schema of the manifest generated from the Rust types (schemars), pretty-printed,
/// with a final newline; committed as `schema/manifest.schema.json`.
pub fn json_schema() -> String {
    let mut text = serde_json::to_string_pretty(&*SCHEMA).unwrap_or_else(|_| SCHEMA.to_string());
    text.push('\n');
    text
}

/// Reads and validates a manifest file.
pub fn load_file(path: &Path) -> Result<Loaded, Diagnostics> {
    let file = path.display().to_string();
    let cannot = |e: std::io::Error| {
        Diagnostics::single(&file, format!("cannot read the manifest: {e}"), None)
    };
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if meta.is_dir() {
        return Err(Diagnostics::single(
            &file,
            "cannot read the manifest: it is a directory",
            None,
        ));
    }
    if meta.len() > MAX_BYTES {
        return Err(too_large(&file));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(too_large(&file));
    }
    let source = String::from_utf8(bytes).map_err(|e| {
        let at = position_of_byte(e.as_bytes(), e.utf8_error().valid_up_to());
        not_text(&file, at, "it is not UTF-8")
    })?;
    load_str(path, source)
}

/// Parses and validates manifest text that came from `path`.
pub fn load_str(path: &Path, source: String) -> Result<Loaded, Diagnostics> {
    let file = path.display().to_string();
    let tree = read_tree(&file, &source)?;
    let found = spans::secrets(&tree);
    let lines = spans::mask(Reporter::split_lines(&source), &found);
    let mut out = Reporter::new(&file, lines);
    for secret in &found {
        out.error(
            Some(secret.key),
            format!(
                "`{}`: credentials never go in the manifest (it is meant to be committed to git)",
                secret.path
            ),
            Some(CREDENTIALS_HINT.into()),
        );
    }
    let index = SpanIndex::build(&tree);
    let mut pruned = tree;
    let checked = check::check(&mut pruned, &SCHEMA, &mut out);
    let manifest = if checked.readable {
        match de::from_node::<Manifest>(&pruned) {
            Ok(manifest) => {
                validate::validate(&manifest, &index, &checked.tainted, &mut out);
                Some(manifest)
            }
            Err(e) => {
                out.error(None, format!("invalid manifest: {e}"), None);
                None
            }
        }
    } else {
        None
    };
    match manifest {
        Some(manifest) if out.diags.is_empty() => Ok(Loaded {
            manifest,
            path: path.to_owned(),
            source,
            spans: index,
        }),
        _ => Err(out.finish()),
    }
}

/// Reads `source` into a tree whose root is a map, or says why it cannot be a manifest.
fn read_tree(file: &str, source: &str) -> Result<yaml::Node, Diagnostics> {
    if source.len() as u64 > MAX_BYTES {
        return Err(too_large(file));
    }
    if let Some(offset) = source.find('\0') {
        let at = position_of_byte(source.as_bytes(), offset);
        return Err(not_text(file, at, "it contains NUL bytes"));
    }
    let (pos, message) = match yaml::read(source) {
        Ok(Some(tree)) if matches!(tree.kind, yaml::Kind::Map(_)) => return Ok(tree),
        Ok(Some(tree)) if !is_null(&tree) => {
            let found = if matches!(tree.kind, yaml::Kind::Seq(_)) {
                "a list"
            } else {
                "a single value"
            };
            (
                Some(tree.start.pos()),
                format!(
                    "the manifest must be a map of keys (version, billing, fleet, ...), found {found}"
                ),
            )
        }
        Ok(_) => {
            return Err(Diagnostics::single(
                file,
                "the manifest is empty",
                Some("`billfleet init` writes a commented example".into()),
            ));
        }
        Err(e) => {
            let mut out = Reporter::new(file, Reporter::split_lines(source));
            out.error(e.pos, e.message, e.hint);
            return Err(out.finish());
        }
    };
    let mut out = Reporter::new(file, Reporter::split_lines(source));
    out.error(pos, message, Some("start with `version: 1`".into()));
    Err(out.finish())
}

fn is_null(node: &yaml::Node) -> bool {
    node.scalar().is_some_and(|s| s.value == yaml::Value::Null)
}

fn too_large(file: &str) -> Diagnostics {
    Diagnostics::single(
        file,
        format!(
            "the manifest is too large (more than {} MiB)",
            MAX_BYTES / 1024 / 1024
        ),
        Some("a manifest declares groups of servers; it never needs to be this big".into()),
    )
}

fn not_text(file: &str, at: Pos, why: &str) -> Diagnostics {
    Diagnostics(vec![Diagnostic {
        message: format!("the manifest is not a text file: {why}"),
        file: file.to_owned(),
        pos: Some(at),
        source_line: None,
        hint: Some("a manifest is YAML text in UTF-8".into()),
    }])
}

/// Line and column (in characters) of byte `offset`.
fn position_of_byte(bytes: &[u8], offset: usize) -> Pos {
    let before = &bytes[..offset.min(bytes.len())];
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    Pos {
        line: before.iter().filter(|b| **b == b'\n').count() + 1,
        col: String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1,
    }
}
