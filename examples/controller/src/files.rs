//! The file provider: every manifest under a directory, watched, with the last good contents of each file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gatewright::engine::Change;
use gatewright::load::{files, LoadResult, Loaded};
use gatewright::provider::Provider;
use gatewright::{Diagnostic, Snapshot};

/// Manifests per file. A file that fails to parse keeps its last good objects.
#[derive(Debug, Default)]
pub struct FileProvider {
    root: PathBuf,
    good: BTreeMap<PathBuf, Vec<Loaded>>,
    problems: BTreeMap<PathBuf, Vec<Diagnostic>>,
    pending: Vec<Change>,
}

/// The directory under the config dir that holds status; never read as input.
pub const STATUS_DIR: &str = ".status";

impl FileProvider {
    /// A provider for `root` (nothing loaded yet).
    pub fn new(root: &Path) -> Self {
        FileProvider {
            root: root.to_path_buf(),
            ..Default::default()
        }
    }

    /// Whether a changed path is input (not under `.status/`, not hidden, a manifest or a directory).
    pub fn is_input(&self, path: &Path) -> bool {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return false;
        };
        let hidden = rel
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
        !hidden && (files::is_manifest(path) || path.is_dir() || !path.exists())
    }

    /// Re-reads every file under the root; returns whether anything changed.
    pub fn reload_all(&mut self) -> bool {
        let list = files::manifest_files(&self.root).unwrap_or_default();
        let mut changed = false;
        let gone: Vec<PathBuf> = self
            .good
            .keys()
            .filter(|p| !list.contains(p))
            .cloned()
            .collect();
        for p in gone {
            self.problems.remove(&p);
            if let Some(old) = self.good.remove(&p) {
                self.diff(old, Vec::new());
            }
            changed = true;
        }
        for p in list {
            changed |= self.reload(&p);
        }
        changed
    }

    /// Re-reads one file (or forgets it when deleted); returns whether its objects changed.
    pub fn reload(&mut self, path: &Path) -> bool {
        if !path.exists() {
            self.problems.remove(path);
            return match self.good.remove(path) {
                Some(old) => {
                    self.diff(old, Vec::new());
                    true
                }
                None => false,
            };
        }
        let result: LoadResult = match files::load_file(path) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read manifest");
                return false;
            }
        };
        let errors: Vec<Diagnostic> = result.diagnostics.clone();
        for d in &errors {
            tracing::warn!(diagnostic = %d, "manifest problem");
        }
        if result.has_errors() {
            // Keep serving the last good contents of this file.
            self.problems.insert(path.to_path_buf(), errors);
            return false;
        }
        if errors.is_empty() {
            self.problems.remove(path);
        } else {
            self.problems.insert(path.to_path_buf(), errors);
        }
        let old = self
            .good
            .insert(path.to_path_buf(), result.objects.clone())
            .unwrap_or_default();
        if old == result.objects {
            return false;
        }
        self.diff(old, result.objects);
        true
    }

    /// Queues the changes between a file's old and new objects. A key deleted here but still
    /// defined by another file is re-upserted from there.
    fn diff(&mut self, old: Vec<Loaded>, new: Vec<Loaded>) {
        let new_keys: std::collections::BTreeSet<_> = new.iter().map(|l| l.object.key()).collect();
        for o in old {
            let key = o.object.key();
            if new_keys.contains(&key) {
                continue;
            }
            let elsewhere = self
                .good
                .values()
                .flatten()
                .find(|l| l.object.key() == key)
                .cloned();
            self.pending.push(match elsewhere {
                Some(l) => Change::Upsert(l.object, Some(l.source)),
                None => Change::Delete(key),
            });
        }
        for l in new {
            self.pending.push(Change::Upsert(l.object, Some(l.source)));
        }
    }

    /// The snapshot of every good object.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::from_loaded(self.good.values().flatten().cloned())
    }

    /// Problems found in files (errors keep the file's last good contents).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        self.problems.values().flatten().cloned().collect()
    }
}

impl Provider for FileProvider {
    fn changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.pending)
    }
}
