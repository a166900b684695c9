//! The file provider: every manifest under a directory, watched, with the last good contents of each file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use gatewright::engine::Change;
use gatewright::load::{files, LoadResult};
use gatewright::provider::Provider;
use gatewright::translate::names::fnv1a;
use gatewright::{Diagnostic, ObjectKey};

/// What is remembered of a file's last good contents: the objects themselves live in the
/// engine's snapshot, so a copy here would double the controller's memory.
#[derive(Debug, Default, PartialEq, Eq)]
struct FileState {
    /// A hash of the bytes: an unchanged file is not parsed into changes again.
    fingerprint: u64,
    /// The objects it defines.
    keys: Vec<ObjectKey>,
}

/// Manifests per file. A file that fails to parse keeps its last good objects.
#[derive(Debug, Default)]
pub struct FileProvider {
    root: PathBuf,
    good: BTreeMap<PathBuf, FileState>,
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
                self.diff(old.keys, LoadResult::default());
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
                    self.diff(old.keys, LoadResult::default());
                    true
                }
                None => false,
            };
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "cannot read manifest");
                return false;
            }
        };
        let fingerprint = fnv1a(&bytes);
        if self.good.get(path).map(|f| f.fingerprint) == Some(fingerprint)
            && !self.problems.contains_key(path)
        {
            return false;
        }
        let result = files::load_bytes(&bytes, &path.display().to_string());
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
        let keys = result.objects.iter().map(|l| l.object.key()).collect();
        let old = self
            .good
            .insert(path.to_path_buf(), FileState { fingerprint, keys })
            .unwrap_or_default();
        if old.fingerprint == fingerprint {
            return false;
        }
        // Unchanged objects are upserted too; the engine ignores what did not change.
        self.diff(old.keys, result);
        true
    }

    /// Queues the changes between a file's old objects and its new contents. A key deleted here
    /// but still defined by another file is re-upserted from there.
    fn diff(&mut self, old: Vec<ObjectKey>, new: LoadResult) {
        let new_keys: BTreeSet<ObjectKey> = new.objects.iter().map(|l| l.object.key()).collect();
        for key in old {
            if new_keys.contains(&key) {
                continue;
            }
            let elsewhere = self
                .good
                .iter()
                .find(|(_, f)| f.keys.contains(&key))
                .map(|(p, _)| p.clone())
                .and_then(|p| files::load_file(&p).ok())
                .and_then(|r| r.objects.into_iter().find(|l| l.object.key() == key));
            self.pending.push(match elsewhere {
                Some(l) => Change::Upsert(l.object, Some(l.source)),
                None => Change::Delete(key),
            });
        }
        for l in new.objects {
            self.pending.push(Change::Upsert(l.object, Some(l.source)));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    const SVC: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec: {ports: [{port: 80}]}\n";

    fn changes(p: &mut FileProvider) -> Vec<String> {
        p.changes()
            .into_iter()
            .map(|c| match c {
                Change::Upsert(o, s) => format!(
                    "upsert {} from {}",
                    o.key().name,
                    s.map(|s| s.file)
                        .unwrap_or_default()
                        .rsplit('/')
                        .next()
                        .unwrap_or("")
                ),
                Change::Delete(k) => format!("delete {}", k.name),
            })
            .collect()
    }

    #[test]
    fn files_are_followed_by_content_and_duplicates_fall_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.yaml");
        let b = dir.path().join("b.yaml");
        std::fs::write(&a, SVC).expect("write");
        std::fs::write(&b, SVC).expect("write");
        let mut p = FileProvider::new(dir.path());
        assert!(p.reload_all());
        assert_eq!(
            changes(&mut p),
            ["upsert web from a.yaml", "upsert web from b.yaml"]
        );

        // Same bytes: nothing to do. A broken file keeps its last good objects.
        assert!(!p.reload(&a));
        std::fs::write(&a, "kind: [").expect("write");
        assert!(!p.reload(&a));
        assert!(changes(&mut p).is_empty());
        assert_eq!(p.diagnostics().len(), 1);

        // Removing the object from one file re-reads the other file that still defines it.
        std::fs::write(&a, "").expect("write");
        assert!(p.reload(&a));
        assert!(p.diagnostics().is_empty());
        assert_eq!(changes(&mut p), ["upsert web from b.yaml"]);
        std::fs::remove_file(&b).expect("remove");
        assert!(p.reload(&b));
        assert_eq!(changes(&mut p), ["delete web"]);
    }
}
