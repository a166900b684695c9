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

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Source};
use crate::model::{Object, ObjectKey};
use crate::snapshot::Snapshot;
use crate::status::StatusObject;
use crate::translate::ir::GatewayIr;
use crate::translate::state::State;
use crate::translate::{Options, Translation};

/// One change to the set of objects.
#[derive(Debug, Clone)]
// A Change is consumed at once by `Engine::apply`; its size is never multiplied.
#[allow(clippy::large_enum_variant)]
pub enum Change {
    /// Create or replace an object.
    Upsert(Object, Option<Source>),
    /// Delete an object.
    Delete(ObjectKey),
}

/// What an [`Engine::update`] changed; read the new values through the engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    /// Gateways (`namespace/name`) whose IR changed or which are gone ([`Engine::gateway`]).
    pub gateways: BTreeSet<String>,
    /// Objects whose status changed or which lost it ([`Engine::status`]).
    pub status: BTreeSet<ObjectKey>,
}

/// A snapshot plus the working state that makes re-translation proportional to what changed.
///
/// Statuses the engine did not have to recompute keep their `lastTransitionTime`, and so do
/// recomputed conditions that say what they said before: a condition's time moves when the
/// condition does, not with every translation.
#[derive(Debug, Clone)]
pub struct Engine {
    snapshot: Snapshot,
    opts: Options,
    state: State,
}

impl Engine {
    /// An engine with no objects.
    pub fn new(opts: Options) -> Self {
        Self::with_snapshot(Snapshot::new(), opts)
    }

    /// An engine starting from a snapshot.
    pub fn with_snapshot(snapshot: Snapshot, opts: Options) -> Self {
        Engine {
            snapshot,
            opts,
            state: State::new(true),
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
                    self.state.note(&old);
                }
                self.state.note(&object);
                self.snapshot.insert_with_source(object, source);
                true
            }
            Change::Delete(key) => match self.snapshot.remove(&key) {
                Some(old) => {
                    self.state.note(&old);
                    true
                }
                None => false,
            },
        }
    }

    /// Sets the options of later translations. A new time alone recomputes nothing (it is
    /// used for what is recomputed anyway); other options recompute everything.
    pub fn set_options(&mut self, opts: Options) {
        self.opts = opts;
    }

    /// Brings the translation up to date, rebuilding only what the changes since the last
    /// update reach, and says what changed.
    pub fn update(&mut self) -> Update {
        self.state.update(&self.snapshot, &self.opts);
        let c = self.state.take_changes();
        Update {
            gateways: c.gateways,
            status: c.status,
        }
    }

    /// The whole translation of the current snapshot (brought up to date first).
    pub fn translate(&mut self) -> Translation {
        self.state.update(&self.snapshot, &self.opts);
        self.state.translation()
    }

    /// The IR of a Gateway (`namespace/name`) as of the last update.
    pub fn gateway(&self, name: &str) -> Option<&GatewayIr> {
        self.state.gateway(name)
    }

    /// Every Gateway of ours (`namespace/name`) with its IR, as of the last update.
    pub fn gateways(&self) -> impl Iterator<Item = (&str, &GatewayIr)> + '_ {
        self.state.gateways()
    }

    /// The status of an object as of the last update.
    pub fn status(&self, key: &ObjectKey) -> Option<&Arc<StatusObject>> {
        // An engine's state is tracked: every status it has is shared.
        self.state.shared_status(key)
    }

    /// Every status as of the last update, in key order.
    pub fn statuses(&self) -> impl Iterator<Item = &StatusObject> + '_ {
        self.state.statuses()
    }

    /// Every diagnostic as of the last update, sorted.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        self.state.diagnostics()
    }

    /// The current objects.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// How many route outcomes were built since the engine was made (cache misses).
    pub fn routes_built(&self) -> u64 {
        self.state.routes_built()
    }
}
