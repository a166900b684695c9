//! The incremental engine: apply changes one object at a time, translate only what they touch.
//!
//! ```
//! use gatewright::engine::{Change, Engine};
//! let mut engine = Engine::new(gatewright::Options::default());
//! let objs = gatewright::load::parse_str(
//!     "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n", "inline.yaml").objects;
//! for l in objs {
//!     engine.apply(Change::Upsert(l.object, Some(l.source)));
//! }
//! let translation = engine.translate();
//! assert!(translation.gateways.is_empty());
//! ```

use crate::diagnostic::Source;
use crate::model::{Object, ObjectKey};
use crate::snapshot::Snapshot;
use crate::translate::cache::RouteCache;
use crate::translate::{translate_cached, Options, Translation};

/// One change to the set of objects.
#[derive(Debug, Clone)]
pub enum Change {
    /// Create or replace an object.
    Upsert(Object, Option<Source>),
    /// Delete an object.
    Delete(ObjectKey),
}

/// A snapshot plus the cache that makes re-translation proportional to what changed.
#[derive(Debug, Clone)]
pub struct Engine {
    snapshot: Snapshot,
    opts: Options,
    cache: RouteCache,
}

impl Engine {
    /// An engine with no objects.
    pub fn new(opts: Options) -> Self {
        Engine {
            snapshot: Snapshot::new(),
            opts,
            cache: RouteCache::new(),
        }
    }

    /// An engine starting from a snapshot.
    pub fn with_snapshot(snapshot: Snapshot, opts: Options) -> Self {
        Engine {
            snapshot,
            opts,
            cache: RouteCache::new(),
        }
    }

    /// Applies a change; returns whether anything changed.
    pub fn apply(&mut self, change: Change) -> bool {
        match change {
            Change::Upsert(object, source) => {
                let key = object.key();
                if let Some(old) = self.snapshot.get(&key) {
                    if old == &object && self.snapshot.source(&key) == source.as_ref() {
                        return false;
                    }
                    let old = old.clone();
                    self.cache.invalidate_object(&old);
                }
                self.cache.invalidate_object(&object);
                self.snapshot.insert_with_source(object, source);
                true
            }
            Change::Delete(key) => match self.snapshot.remove(&key) {
                Some(old) => {
                    self.cache.invalidate_object(&old);
                    true
                }
                None => false,
            },
        }
    }

    /// Sets the options of later translations (e.g. a new timestamp).
    pub fn set_options(&mut self, opts: Options) {
        self.opts = opts;
    }

    /// Translates the current snapshot, rebuilding only routes whose inputs changed.
    pub fn translate(&mut self) -> Translation {
        translate_cached(&self.snapshot, &self.opts, &mut self.cache)
    }

    /// The current objects.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// How many route outcomes were built since the engine was made (cache misses).
    pub fn routes_built(&self) -> u64 {
        self.cache.built
    }
}
