//! Incremental translation: each route's rules are built once and cached with the objects
//! they read; a change invalidates exactly the routes that depend on the changed object.
//!
//! A route's rule outcome depends only on the route and its backends (never on the Gateway
//! it attaches to), so it is shared by every parent. Attachment and per-Gateway assembly are
//! recomputed, which is linear and cheap next to resolving backends.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::backends::SERVICE_NAME_LABEL;
use super::routes::RuleOutcome;
use crate::model::{Object, ObjectKey};

/// Something a route's outcome was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dep {
    /// The route object itself.
    Route(ObjectKey),
    /// A Service (and its EndpointSlices), by namespace and name.
    Service(Arc<str>, Arc<str>),
    /// Any ReferenceGrant in a namespace.
    GrantsIn(Arc<str>),
    /// Any BackendTLSPolicy or ConfigMap in a namespace.
    PoliciesIn(Arc<str>),
}

impl Dep {
    /// What an object, before or after a change, may have been read as.
    pub fn of(object: &Object) -> Vec<Dep> {
        let m = object.metadata();
        let ns: Arc<str> = m.ns().into();
        match object {
            Object::HttpRoute(_)
            | Object::GrpcRoute(_)
            | Object::TlsRoute(_)
            | Object::TcpRoute(_)
            | Object::UdpRoute(_) => {
                vec![Dep::Route(object.key())]
            }
            Object::Service(_) => vec![Dep::Service(ns, m.name.as_str().into())],
            Object::EndpointSlice(_) => m
                .labels
                .get(SERVICE_NAME_LABEL)
                .map(|s| vec![Dep::Service(ns, s.as_str().into())])
                .unwrap_or_default(),
            Object::ReferenceGrant(_) => vec![Dep::GrantsIn(ns)],
            // CA bundles of BackendTLSPolicies come from ConfigMaps or Secrets of the Service's namespace.
            Object::BackendTlsPolicy(_) | Object::ConfigMap(_) | Object::Secret(_) => {
                vec![Dep::PoliciesIn(ns)]
            }
            _ => Vec::new(),
        }
    }
}

/// Route outcomes and the reverse index from dependencies to routes.
///
/// The index holds sorted `Vec`s rather than sets: most dependencies have one route, and a
/// one-element `BTreeSet` costs a whole node (hundreds of bytes) per route.
#[derive(Debug, Clone)]
pub struct RouteCache {
    outcomes: HashMap<ObjectKey, Arc<RuleOutcome>>,
    index: BTreeMap<Dep, Vec<ObjectKey>>,
    /// Whether outcomes are kept at all (a one-off translation builds each route once).
    keep: bool,
    /// Outcomes computed (misses) since the cache was made, for tests and metrics.
    pub built: u64,
}

impl Default for RouteCache {
    fn default() -> Self {
        Self::new()
    }
}

impl RouteCache {
    /// An empty cache: the next translation is a full one.
    pub fn new() -> Self {
        RouteCache {
            outcomes: HashMap::new(),
            index: BTreeMap::new(),
            keep: true,
            built: 0,
        }
    }

    /// A cache that keeps nothing, for a translation that is not repeated.
    pub fn none() -> Self {
        RouteCache {
            keep: false,
            ..Self::new()
        }
    }

    /// An empty cache that keeps outcomes when `keep` says so.
    pub fn empty(keep: bool) -> Self {
        if keep {
            Self::new()
        } else {
            Self::none()
        }
    }

    /// Takes in the outcomes of `other`, built for routes that all sort after the routes this
    /// cache indexes (so each dependency's routes stay in order).
    pub fn append(&mut self, other: RouteCache) {
        self.built += other.built;
        self.outcomes.extend(other.outcomes);
        for (dep, routes) in other.index {
            let into = self.index.entry(dep).or_default();
            debug_assert!(
                into.last()
                    .is_none_or(|last| routes.first().is_none_or(|r| last < r)),
                "appended routes out of order"
            );
            into.extend(routes);
        }
    }

    /// Whether outcomes (and so their dependencies) are kept.
    pub fn keeps(&self) -> bool {
        self.keep
    }

    /// The cached outcome of a route.
    pub fn get(&self, route: &ObjectKey) -> Option<Arc<RuleOutcome>> {
        self.outcomes.get(route).cloned()
    }

    /// Stores a freshly built outcome with its dependencies (the route itself is implied).
    pub fn insert(&mut self, route: &ObjectKey, outcome: RuleOutcome) -> Arc<RuleOutcome> {
        self.built += 1;
        if !self.keep {
            // The key is copied only when kept: a copy costs two reference counts.
            return Arc::new(outcome);
        }
        for d in &outcome.deps {
            let routes = match self.index.get_mut(d) {
                Some(r) => r,
                None => self.index.entry(d.clone()).or_default(),
            };
            if let Err(i) = routes.binary_search(route) {
                routes.insert(i, route.clone());
            }
        }
        let o = Arc::new(outcome);
        self.outcomes.insert(route.clone(), o.clone());
        o
    }

    /// Forgets one route's outcome and unlinks it from its dependencies.
    fn forget(&mut self, route: &ObjectKey, skip: Option<&Dep>) -> bool {
        let Some(o) = self.outcomes.remove(route) else {
            return false;
        };
        for d in o.deps.iter().filter(|d| Some(*d) != skip) {
            if let Some(routes) = self.index.get_mut(d) {
                if let Ok(i) = routes.binary_search(route) {
                    routes.remove(i);
                }
                if routes.is_empty() {
                    self.index.remove(d);
                }
            }
        }
        true
    }

    /// Forgets every outcome that read `dep`; returns the routes whose outcome it forgot.
    pub fn invalidate(&mut self, dep: &Dep) -> BTreeSet<ObjectKey> {
        if let Dep::Route(r) = dep {
            return if self.forget(r, None) {
                BTreeSet::from([r.clone()])
            } else {
                BTreeSet::new()
            };
        }
        let Some(routes) = self.index.remove(dep) else {
            return BTreeSet::new();
        };
        for r in &routes {
            self.forget(r, Some(dep));
        }
        routes.into_iter().collect()
    }

    /// Forgets what a changed object may have influenced (call with the old and the new
    /// object); returns the routes whose outcome it forgot.
    pub fn invalidate_object(&mut self, object: &Object) -> BTreeSet<ObjectKey> {
        let mut out = BTreeSet::new();
        for d in Dep::of(object) {
            out.extend(self.invalidate(&d));
        }
        out
    }

    /// Forgets a deleted object given only its key (a route; other kinds need the object).
    pub fn invalidate_key(&mut self, key: &ObjectKey) -> BTreeSet<ObjectKey> {
        if key.kind.is_route() {
            self.invalidate(&Dep::Route(key.clone()))
        } else {
            BTreeSet::new()
        }
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.outcomes.clear();
        self.index.clear();
    }

    /// Number of cached outcomes.
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }
}
