//! Reading manifests from paths: files, directories (recursively) and stdin.

use std::path::{Path, PathBuf};

use super::{parse_str, LoadResult};
use crate::diagnostic::{Diagnostic, Severity, Source};

/// Why input could not be read at all (as opposed to read and found invalid).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The path could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Whether a file name looks like a manifest (`.yaml`, `.yml`, `.json`).
pub fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Lists the manifest files under a path in a stable order; hidden entries (`.status/`) are skipped.
pub fn manifest_files(path: &Path) -> Result<Vec<PathBuf>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for entry in entries {
        let hidden = entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if entry.is_dir() {
            out.extend(manifest_files(&entry)?);
        } else if is_manifest(&entry) {
            out.push(entry);
        }
    }
    Ok(out)
}

/// Loads one file; bytes that are not UTF-8 become a diagnostic, not a failure.
pub fn load_file(path: &Path) -> Result<LoadResult, ReadError> {
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(load_bytes(&bytes, &path.display().to_string()))
}

/// Parses bytes read from somewhere named `file`.
pub fn load_bytes(bytes: &[u8], file: &str) -> LoadResult {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_str(text, file),
        Err(e) => LoadResult {
            objects: Vec::new(),
            diagnostics: vec![Diagnostic {
                kind: String::new(),
                namespace: String::new(),
                name: String::new(),
                path: String::new(),
                message: format!("{file} is not valid UTF-8: {e}"),
                severity: Severity::Error,
                source: Some(Source {
                    file: file.to_string(),
                    line: 1 + bytes[..e.valid_up_to()]
                        .iter()
                        .filter(|b| **b == b'\n')
                        .count(),
                }),
            }],
        },
    }
}

/// Loads every manifest under each path (`-` reads stdin).
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> Result<LoadResult, ReadError> {
    let mut out = LoadResult::default();
    for p in paths {
        let p = p.as_ref();
        if p == Path::new("-") {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map_err(|source| {
                ReadError::Io {
                    path: p.to_path_buf(),
                    source,
                }
            })?;
            out.extend(load_bytes(&buf, "<stdin>"));
            continue;
        }
        for file in manifest_files(p)? {
            out.extend(load_file(&file)?);
        }
    }
    Ok(out)
}
