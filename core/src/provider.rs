//! Providers: where objects come from. A provider turns its source (memory, files, a cluster)
//! into [`Change`]s for the [`Engine`](crate::engine::Engine); the engine never does IO.

use std::collections::VecDeque;

use crate::engine::Change;
use crate::model::{Object, ObjectKey};

/// A source of objects and of changes to them.
pub trait Provider {
    /// Changes since the last call (the first call returns every object as an upsert).
    fn changes(&mut self) -> Vec<Change>;
}

/// Objects held in memory and changed by the caller: for tests, tools and embedding.
#[derive(Debug, Default)]
pub struct MemoryProvider {
    pending: VecDeque<Change>,
}

impl MemoryProvider {
    /// A provider with no objects.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates or replaces an object.
    pub fn upsert(&mut self, object: Object) {
        self.pending.push_back(Change::Upsert(object, None));
    }

    /// Deletes an object.
    pub fn delete(&mut self, key: ObjectKey) {
        self.pending.push_back(Change::Delete(key));
    }
}

impl Provider for MemoryProvider {
    fn changes(&mut self) -> Vec<Change> {
        self.pending.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;

    #[test]
    fn memory_provider_feeds_the_engine() {
        let mut p = MemoryProvider::new();
        let objs = crate::load::parse_str(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: c}\nspec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}\n",
            "t",
        );
        let class = objs.objects[0].object.clone();
        p.upsert(class.clone());
        let mut engine = Engine::new(Default::default());
        for c in p.changes() {
            engine.apply(c);
        }
        assert_eq!(engine.translate().status.len(), 1);
        p.delete(class.key());
        for c in p.changes() {
            engine.apply(c);
        }
        assert!(engine.translate().status.is_empty());
        assert!(p.changes().is_empty());
    }
}
