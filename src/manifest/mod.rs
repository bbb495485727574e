//! The manifest: typed model, loading with positions, validation, domain patterns.

pub mod diag;
pub mod model;
pub mod pattern;

use std::path::{Path, PathBuf};

pub use diag::{Diagnostic, Diagnostics, Pos};
pub use model::*;

/// A manifest read from a file, with what is needed to point at its lines later.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The typed, validated manifest.
    pub manifest: Manifest,
    /// The file it came from.
    pub path: PathBuf,
    /// The file's text.
    pub source: String,
}

/// Reads and validates a manifest file.
pub fn load_file(path: &Path) -> Result<Loaded, Diagnostics> {
    let file = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics(vec![Diagnostic {
            message: format!("cannot read the manifest: {e}"),
            file: file.clone(),
            pos: None,
            source_line: None,
            hint: None,
        }])
    })?;
    load_str(path, source)
}

/// Parses and validates manifest text that came from `path`.
pub fn load_str(path: &Path, source: String) -> Result<Loaded, Diagnostics> {
    let file = path.display().to_string();
    let manifest: Manifest = serde_norway::from_str(&source).map_err(|e| {
        let pos = e.location().map(|l| Pos {
            line: l.line(),
            col: l.column(),
        });
        Diagnostics(vec![Diagnostic {
            message: e.to_string(),
            file,
            pos,
            source_line: None,
            hint: None,
        }])
    })?;
    Ok(Loaded {
        manifest,
        path: path.to_owned(),
        source,
    })
}
