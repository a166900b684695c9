//! The working state of a translation: what every route and Gateway produced, kept between
//! translations by [`crate::engine::Engine`] so that after a change only what the change
//! reaches is translated again, and only what changed is reported.
//!
//! What depends on what:
//! - a route's rules ([`RuleOutcome`]) on the route and the objects they read ([`RouteCache`]);
//! - a route's attachment on the listeners of the Gateways its parentRefs name, on the
//!   ListenerSets it names and on the labels of its namespace;
//! - Gateway listeners on GatewayClasses, Gateways, ListenerSets, Secrets, ConfigMaps,
//!   ReferenceGrants and Namespaces: a change to any of those recomputes the listeners of
//!   every Gateway (they are few), then the routes of each Gateway whose listeners now route
//!   differently;
//! - a Gateway's ports, clusters and status on the routes placed on it ([`Placements`]);
//! - BackendTLSPolicy status on every route: recomputed after any change, when policies exist.
//!
//! A [`translate`](super::translate) is an update of an empty state with everything changed.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::cache::RouteCache;
use super::gateways::{self, GatewayInfo};
use super::ir::{GatewayIr, SecretIr, Shared};
use super::listeners::ListenerCtx;
use super::placements::Placements;
use super::routes::RuleOutcome;
use super::{listenersets, policy, Options, ParentStatuses, Parents, RouteResult, Translation};
use crate::diagnostic::Diagnostic;
use crate::model::{KeyRef, Kind, Object, ObjectKey};
use crate::parallel::Parallelism;
use crate::snapshot::Snapshot;
use crate::status::{StatusBody, StatusObject};

/// One Gateway of ours.
#[derive(Debug, Clone)]
struct Gw {
    /// `namespace/name`.
    name: String,
    /// Its listeners and its ListenerSets' (`attached` is kept in [`Placements`]).
    listeners: Vec<ListenerCtx>,
    info: GatewayInfo,
    secrets: Shared<BTreeMap<String, SecretIr>>,
    /// The objects whose status this Gateway writes (itself and its ListenerSets).
    status_keys: Vec<ObjectKey>,
    placements: Placements,
    ir: GatewayIr,
    /// Its listeners were replaced: status and ports must be rebuilt.
    replaced: bool,
    /// Routes were placed or taken back since the last update.
    touched: bool,
}

/// The Gateways of ours by key. Hashed: every parentRef of every route looks its Gateway up
/// two or three times, and an ordered search compares a few names per lookup (many with a
/// long shared prefix); where the order shows, it is made by sorting.
type Gateways = FxHashMap<ObjectKey, Gw>;

impl Parents for Gateways {
    fn listeners(&self, namespace: &str, name: &str) -> Option<(&ObjectKey, &[ListenerCtx])> {
        self.get_key_value(&(Kind::Gateway, namespace, name) as &dyn KeyRef)
            .map(|(k, g)| (k, g.listeners.as_slice()))
    }
}

/// A Gateway's freshly computed listeners, before they replace the old ones.
struct Head {
    listeners: Vec<ListenerCtx>,
    info: GatewayInfo,
    secrets: BTreeMap<String, SecretIr>,
}

/// Whether routes attach to and are placed on two lists of listeners identically.
fn same_routing(a: &[ListenerCtx], b: &[ListenerCtx]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.name == y.name
                && x.owner == y.owner
                && x.port == y.port
                && x.protocol == y.protocol
                && x.hostname == y.hostname
                && x.passthrough == y.passthrough
                && x.secrets == y.secrets
                && x.namespaces == y.namespaces
                && x.supported_kinds == y.supported_kinds
                && x.ready == y.ready
        })
}

/// What a translation computed, and what changed since it was last asked.
#[derive(Debug, Clone)]
pub struct State {
    /// Keep the indexes later changes need (off for a one-off translation: each update of an
    /// untracked state starts over).
    track: bool,
    /// The options of the last update; None before the first.
    opts: Option<Options>,
    cache: RouteCache,
    /// Everything must be recomputed.
    all: bool,
    /// Gateway listeners must be recomputed.
    gateways_dirty: bool,
    /// Routes to translate again.
    dirty: BTreeSet<ObjectKey>,
    /// Something changed since the last update.
    touched: bool,
    gateways: Gateways,
    routes: BTreeMap<ObjectKey, RouteResult>,
    /// Gateways and ListenerSets to the routes naming them.
    refs: BTreeMap<ObjectKey, BTreeSet<ObjectKey>>,
    status: BTreeMap<ObjectKey, Arc<StatusObject>>,
    /// A one-off translation's route statuses, in key order, kept out of `status`: nothing
    /// looks them up one by one, and a map would be built, merged and taken apart again only
    /// to give them back in this order. Neither shared nor keyed: each is made once and moved
    /// out once, and a key or an `Arc` per route would be touched again, long since cold.
    settled: Vec<Settled>,
    class_keys: BTreeSet<ObjectKey>,
    policy_keys: BTreeSet<ObjectKey>,
    warnings: BTreeMap<Diagnostic, usize>,
    changed_status: BTreeSet<ObjectKey>,
    changed_gateways: BTreeSet<String>,
}

/// A route status of a one-off translation, with the kind its key orders by.
#[derive(Debug, Clone)]
struct Settled {
    kind: Kind,
    status: StatusObject,
}

impl KeyRef for Settled {
    fn parts(&self) -> (Kind, &str, &str) {
        let meta = &self.status.metadata;
        (
            self.kind,
            meta.namespace.as_deref().unwrap_or(""),
            &meta.name,
        )
    }
}

/// What changed since [`State::take_changes`] was last called.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// Gateways (`namespace/name`) whose IR changed.
    pub gateways: BTreeSet<String>,
    /// Objects whose status changed.
    pub status: BTreeSet<ObjectKey>,
}

impl State {
    /// An empty state; `track` keeps what later changes need to find what they affect.
    pub fn new(track: bool) -> Self {
        State {
            track,
            opts: None,
            cache: if track {
                RouteCache::new()
            } else {
                RouteCache::none()
            },
            all: true,
            gateways_dirty: true,
            dirty: BTreeSet::new(),
            touched: true,
            gateways: Gateways::default(),
            routes: BTreeMap::new(),
            refs: BTreeMap::new(),
            status: BTreeMap::new(),
            settled: Vec::new(),
            class_keys: BTreeSet::new(),
            policy_keys: BTreeSet::new(),
            warnings: BTreeMap::new(),
            changed_status: BTreeSet::new(),
            changed_gateways: BTreeSet::new(),
        }
    }

    /// Route outcomes built since the state was made (cache misses).
    pub fn routes_built(&self) -> u64 {
        self.cache.built
    }

    /// Records that an object changed: call with the old and with the new version (before
    /// the snapshot is updated or after, either works).
    pub fn note(&mut self, object: &Object) {
        self.touched = true;
        let key = object.key();
        self.dirty.extend(self.cache.invalidate_object(object));
        match key.kind {
            k if k.is_route() => {
                self.dirty.insert(key);
            }
            Kind::ListenerSet => {
                self.gateways_dirty = true;
                if let Some(routes) = self.refs.get(&key) {
                    self.dirty.extend(routes.iter().cloned());
                }
            }
            Kind::Namespace => {
                // Listeners admit routes by the labels of their namespace.
                self.gateways_dirty = true;
                for kind in Kind::ROUTES {
                    let start = ObjectKey::new(kind, &key.name, "");
                    self.dirty.extend(
                        self.routes
                            .range(start..)
                            .take_while(|(k, _)| k.kind == kind && k.namespace == key.name)
                            .map(|(k, _)| k.clone()),
                    );
                }
            }
            Kind::GatewayClass
            | Kind::Gateway
            | Kind::Secret
            | Kind::ConfigMap
            | Kind::ReferenceGrant => self.gateways_dirty = true,
            _ => {}
        }
    }

    /// Brings the state up to date with `snapshot`.
    pub fn update(&mut self, snapshot: &Snapshot, opts: &Options) {
        if !self.track && self.opts.is_some() {
            // Nothing was kept to take back what the last update placed.
            *self = State::new(false);
        }
        let same_opts = self.opts.as_ref().is_some_and(|o| {
            o.controller_name == opts.controller_name
                && o.address == opts.address
                && o.usable_addresses == opts.usable_addresses
        });
        if !same_opts {
            self.all = true;
        }
        self.opts = Some(opts.clone());
        if self.all {
            self.gateways_dirty = true;
            self.touched = true;
        }
        if !self.touched {
            return;
        }
        // Routes whose RouteRulesOverlap may have changed.
        let mut overlap_changed = BTreeSet::new();

        // Gateways: new listeners, and which Gateways now route differently.
        let mut heads = None;
        let mut rerouted = BTreeSet::new();
        if self.gateways_dirty {
            self.update_classes(snapshot, opts);
            let fresh = self.heads(snapshot, opts);
            for key in self.gateways.keys().chain(fresh.keys()) {
                let same = match (self.gateways.get(key), fresh.get(key)) {
                    (Some(old), Some(new)) => {
                        !self.all && same_routing(&old.listeners, &new.listeners)
                    }
                    _ => false,
                };
                if !same {
                    rerouted.insert(key.clone());
                    if let Some(routes) = self.refs.get(key) {
                        self.dirty.extend(routes.iter().cloned());
                    }
                }
            }
            heads = Some(fresh);
        }

        let dirty = self.take_dirty(snapshot);
        // Take back what the routes to translate again had placed, on the old listeners.
        if !self.routes.is_empty() {
            for (key, _) in &dirty {
                if let Some(old) = self.routes.remove(&**key) {
                    self.retract(key, &old, &mut overlap_changed);
                }
            }
        }

        if let Some(fresh) = heads {
            self.install(fresh, &rerouted);
        }

        // Routes reach their Gateways in key order, not Gateway by Gateway. A Gateway starting
        // from nothing gets room for its fair share of them up front, so that its maps do not
        // grow step by step, each step rehashing what they held in memory long since cold. The
        // shares add up to the number of routes: little is wasted when routes crowd onto a few
        // Gateways.
        let share = dirty.len() / self.gateways.len().max(1);
        if share > 1 {
            for g in self.gateways.values_mut() {
                if g.placements.is_empty() {
                    g.placements.reserve(share);
                }
            }
        }

        // Translate the dirty routes against the new listeners. The results join `routes` after
        // their status is made, in one merge (in key order, as `dirty` is). Nothing asks a
        // one-off translation's routes again: it keeps only their status entries, and the rest of
        // each result is dropped once placed, its memory reused by the next route.
        let take = !self.track;
        let (mut fresh, mut entries) = (Vec::new(), Vec::new());
        if take {
            entries.reserve(dirty.len());
        } else {
            fresh.reserve(dirty.len());
        }
        let mut built = self
            .parallel_results(snapshot, opts, &dirty)
            .map(Vec::into_iter);
        for (key, object) in &dirty {
            let Some(object) = object else {
                continue;
            };
            let mut result = match &mut built {
                // Invariant: one result per route still in the snapshot, in the same order.
                Some(built) => built.next().unwrap_or_default(),
                None => super::route_result(
                    snapshot,
                    opts,
                    key,
                    object,
                    &self.gateways,
                    &mut self.cache,
                ),
            };
            self.place(key, &result, &mut overlap_changed);
            if take {
                entries.push(std::mem::take(&mut result.parents));
            } else {
                fresh.push((key.clone().into_owned(), result));
            }
        }

        self.finish_gateways(snapshot, opts);
        let gateways = &self.gateways;
        let any_overlap = gateways.values().any(|g| g.placements.overlap.any());
        let status = |key: &ObjectKey, parents: &mut ParentStatuses| {
            let overlapping = |gw: &ObjectKey| {
                any_overlap
                    && gateways
                        .get(gw)
                        .is_some_and(|g| g.placements.overlap.overlapping(key))
            };
            super::route_status(parents, overlapping, take)
                .map(|s| StatusObject::new(key, StatusBody::Route(s)))
        };
        let mut statuses = Vec::with_capacity(if take { 0 } else { dirty.len() });
        if take {
            self.settled.reserve(entries.len());
        }
        // One of the two is empty; the other holds an entry per key of `dirty` still in the
        // snapshot, in the same order.
        let mut translated = fresh
            .iter_mut()
            .map(|(_, r)| &mut r.parents)
            .chain(entries.iter_mut());
        for (key, object) in &dirty {
            let st = match object {
                Some(_) => translated.next().and_then(|p| status(key, p)),
                None => None,
            };
            if take {
                // A one-off translation starts with no route status: there is none to take
                // back, and its statuses go straight to where they are given out from.
                let kind = key.kind;
                self.settled
                    .extend(st.map(|status| Settled { kind, status }));
            } else {
                statuses.push((key.clone().into_owned(), st));
            }
        }
        let in_dirty = |k: &ObjectKey| dirty.binary_search_by(|(d, _)| (**d).cmp(k)).is_ok();
        for key in overlap_changed.iter().filter(|k| !in_dirty(k)) {
            let st = self
                .routes
                .get_mut(key)
                .and_then(|r| status(key, &mut r.parents));
            statuses.push((key.clone(), st));
        }
        // A one-off translation never asks its routes again: their status is made.
        if self.track {
            if self.routes.is_empty() {
                // Built in one pass; a merge into a full map would instead copy all of it.
                self.routes = fresh.into_iter().collect();
            } else {
                self.routes.extend(fresh);
            }
        }
        self.set_statuses(statuses);
        self.update_policies(snapshot, opts);
        self.all = false;
        self.gateways_dirty = false;
        self.touched = false;
    }

    /// The results of the routes of `dirty` still in the snapshot, in order, built by several
    /// threads at once when there are many and more than one thread may run; None when they are
    /// better built one by one as they are placed.
    ///
    /// The routes are cut into runs of consecutive keys, a few per thread. Only an empty
    /// cache is shared out (a first translation, or a one-off one): each run fills a cache of
    /// its own, and since the runs follow one another in key order, their indexes join the
    /// state's in order.
    fn parallel_results(
        &mut self,
        snapshot: &Snapshot,
        opts: &Options,
        dirty: &[(Cow<'_, ObjectKey>, Option<&Object>)],
    ) -> Option<Vec<RouteResult>> {
        let threads = opts.parallel.threads_for(dirty.len(), dirty.len());
        if threads < 2 || !self.cache.is_empty() {
            return None;
        }
        let run = Parallelism::piece_len(dirty.len(), threads);
        let (gateways, keep) = (&self.gateways, self.cache.keeps());
        let runs: Vec<(Vec<RouteResult>, RouteCache)> = dirty
            .par_chunks(run)
            .map(|part| {
                let mut cache = RouteCache::empty(keep);
                let results = part
                    .iter()
                    .filter_map(|(key, object)| {
                        let result = super::route_result(
                            snapshot,
                            opts,
                            key,
                            (*object)?,
                            gateways,
                            &mut cache,
                        );
                        Some(result)
                    })
                    .collect();
                (results, cache)
            })
            .collect();
        let mut out = Vec::with_capacity(dirty.len());
        for (results, cache) in runs {
            out.extend(results);
            self.cache.append(cache);
        }
        Some(out)
    }

    /// The routes to translate again, in key order, each with the snapshot's key and object
    /// when it still has the route. Everything at once walks the snapshot's routes (already in
    /// key order) rather than collecting their keys into a set and looking each one up again.
    /// The snapshot's keys are borrowed, not copied: a copy would take a reference on each
    /// key's names and give it back when the list is dropped.
    fn take_dirty<'s>(
        &mut self,
        snapshot: &'s Snapshot,
    ) -> Vec<(Cow<'s, ObjectKey>, Option<&'s Object>)> {
        let mut named = std::mem::take(&mut self.dirty);
        if !self.all {
            return named
                .into_iter()
                .map(|key| match snapshot.get_keyed(&key) {
                    Some((k, o)) => (Cow::Borrowed(k), Some(o)),
                    None => (Cow::Owned(key), None),
                })
                .collect();
        }
        // Routes translated before are translated again (and dropped when they are gone).
        named.extend(self.routes.keys().cloned());
        let mut named = named.into_iter().peekable();
        let mut walk = Kind::ROUTES
            .into_iter()
            .flat_map(|kind| snapshot.keyed_of_kind(kind))
            .peekable();
        let mut out = Vec::with_capacity(
            Kind::ROUTES
                .into_iter()
                .map(|k| snapshot.count_of(k))
                .sum::<usize>()
                + named.len(),
        );
        loop {
            let next = match (named.peek(), walk.peek()) {
                (None, None) => break,
                (Some(n), Some((k, _))) => n.cmp(*k),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
            };
            if next == Ordering::Equal {
                named.next();
            }
            match next {
                Ordering::Less => out.extend(named.next().map(|key| (Cow::Owned(key), None))),
                _ => out.extend(walk.next().map(|(k, o)| (Cow::Borrowed(k), Some(o)))),
            }
        }
        // The merge relies on the snapshot's walk being in key order, kind after kind.
        debug_assert!(
            out.windows(2).all(|w| w[0].0 < w[1].0),
            "routes out of key order"
        );
        out
    }

    /// GatewayClass status.
    fn update_classes(&mut self, snapshot: &Snapshot, opts: &Options) {
        let mut keys = BTreeSet::new();
        for class in snapshot.gateway_classes() {
            if *class.spec.controller_name != *opts.controller_name {
                continue;
            }
            let st = super::class_status(class, &opts.time);
            let key = ObjectKey::new(Kind::GatewayClass, "", &class.metadata.name);
            self.set_status(&key, Some(st));
            keys.insert(key);
        }
        for old in std::mem::replace(&mut self.class_keys, keys.clone()) {
            if !keys.contains(&old) {
                self.set_status(&old, None);
            }
        }
    }

    /// The listeners of every Gateway of ours, as they are now.
    fn heads(&self, snapshot: &Snapshot, opts: &Options) -> BTreeMap<ObjectKey, Head> {
        let classes: BTreeSet<&str> = self.class_keys.iter().map(|k| &*k.name).collect();
        let sets = listenersets::by_parent(snapshot);
        let mut out = BTreeMap::new();
        for gw in snapshot.gateways() {
            if !classes.contains(gw.spec.gateway_class_name.as_str()) {
                continue;
            }
            let key = ObjectKey::new(Kind::Gateway, gw.metadata.ns(), &gw.metadata.name);
            let mut secrets = BTreeMap::new();
            let mine = sets.get(&key).map(Vec::as_slice).unwrap_or_default();
            let (listeners, info) =
                gateways::listeners(snapshot, gw, &key, mine, &opts.time, &mut secrets);
            out.insert(
                key,
                Head {
                    listeners,
                    info,
                    secrets,
                },
            );
        }
        out
    }

    /// Replaces the Gateways' listeners with `fresh`; the `rerouted` ones start over (their
    /// routes were all taken back).
    fn install(&mut self, fresh: BTreeMap<ObjectKey, Head>, rerouted: &BTreeSet<ObjectKey>) {
        let gone: Vec<ObjectKey> = self
            .gateways
            .keys()
            .filter(|k| !fresh.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(g) = self.gateways.remove(&key) {
                for k in &g.status_keys {
                    self.set_status(k, None);
                }
                self.changed_gateways.insert(g.name);
            }
        }
        for (key, head) in fresh {
            let n = head.listeners.len();
            match self.gateways.get_mut(&key) {
                Some(g) if !rerouted.contains(&key) => {
                    g.listeners = head.listeners;
                    g.info = head.info;
                    g.secrets = Shared::new(head.secrets);
                    g.replaced = true;
                }
                old => {
                    let ir = old.map(|g| std::mem::take(&mut g.ir)).unwrap_or_default();
                    // The placements start afresh: every cluster the Gateway had is checked
                    // again, or one no route uses any more (say, after its ReferenceGrant
                    // went) would stay.
                    let mut placements = Placements::new(n);
                    placements.mark_clusters_dirty(ir.clusters.keys());
                    let status_keys = self
                        .gateways
                        .get(&key)
                        .map(|g| g.status_keys.clone())
                        .unwrap_or_default();
                    self.gateways.insert(
                        key.clone(),
                        Gw {
                            name: format!("{}/{}", key.namespace, key.name),
                            listeners: head.listeners,
                            info: head.info,
                            secrets: Shared::new(head.secrets),
                            status_keys,
                            placements,
                            ir,
                            replaced: true,
                            touched: true,
                        },
                    );
                }
            }
        }
    }

    /// Adds a route's placements to its Gateways, and its warnings.
    fn place(&mut self, key: &ObjectKey, r: &RouteResult, overlap: &mut BTreeSet<ObjectKey>) {
        if self.track {
            for gw in &r.refs {
                self.refs.entry(gw.clone()).or_default().insert(key.clone());
            }
        }
        let Some(outcome) = &r.outcome else {
            return;
        };
        for w in &outcome.warnings {
            *self.warnings.entry(w.clone()).or_default() += 1;
        }
        for part in &r.parts {
            if let Some(g) = self.gateways.get_mut(&part.gateway) {
                g.placements.add(&g.listeners, key, outcome, part, overlap);
                g.touched = true;
            }
        }
    }

    /// Takes back what [`State::place`] added.
    fn retract(&mut self, key: &ObjectKey, r: &RouteResult, overlap: &mut BTreeSet<ObjectKey>) {
        if self.track {
            for gw in &r.refs {
                if let Some(set) = self.refs.get_mut(gw) {
                    set.remove(key);
                    if set.is_empty() {
                        self.refs.remove(gw);
                    }
                }
            }
        }
        let Some(outcome) = &r.outcome else {
            return;
        };
        for w in &outcome.warnings {
            if let Some(n) = self.warnings.get_mut(w) {
                *n -= 1;
                if *n == 0 {
                    self.warnings.remove(w);
                }
            }
        }
        retract_parts(&mut self.gateways, key, outcome, r, overlap);
    }

    /// Rebuilds the IR and status of every Gateway something happened to.
    fn finish_gateways(&mut self, snapshot: &Snapshot, opts: &Options) {
        let mut statuses = Vec::new();
        let track = self.track;
        for (key, g) in &mut self.gateways {
            if !(g.replaced || g.touched) {
                continue;
            }
            // Updated in place: the maps are copied only if someone else still holds them.
            let mut changed = g.placements.refresh_clusters(&mut g.ir.clusters);
            if g.replaced || g.placements.ports_dirty() {
                let ports = g.placements.assemble(&g.name, &g.listeners);
                changed |= ports != g.ir.ports;
                g.ir.ports = ports;
            }
            if g.ir.secrets != g.secrets || g.ir.gateway.as_ref() != Some(key) {
                g.ir.secrets = g.secrets.clone();
                g.ir.gateway = Some(key.clone());
                changed = true;
            }
            if g.ir.backend_client_cert != g.info.backend_client_cert {
                g.ir.backend_client_cert = g.info.backend_client_cert.clone();
                changed = true;
            }
            if changed {
                self.changed_gateways.insert(g.name.clone());
            }
            let Some(gw) = snapshot.gateway(&key.namespace, &key.name) else {
                continue;
            };
            let mut listeners = g.listeners.clone();
            for (l, n) in listeners.iter_mut().zip(&g.placements.attached) {
                l.attached = *n;
            }
            let list = gateways::status(
                snapshot,
                gw,
                key,
                &listeners,
                &g.info,
                gateways::addresses(gw, opts),
                &opts.time,
            );
            if !track {
                // Nothing will be placed on it or taken back again.
                g.placements.release();
            }
            let keys: Vec<ObjectKey> = list.iter().map(|(k, _)| k.clone()).collect();
            let old = std::mem::replace(&mut g.status_keys, keys.clone());
            statuses.push((old, list));
            g.replaced = false;
            g.touched = false;
        }
        for (old, list) in statuses {
            let now: BTreeSet<&ObjectKey> = list.iter().map(|(k, _)| k).collect();
            for k in old.iter().filter(|k| !now.contains(k)) {
                self.set_status(k, None);
            }
            for (k, st) in list {
                self.set_status(&k, Some(StatusObject::new(&k, st)));
            }
        }
    }

    /// BackendTLSPolicy status, recomputed in full when policies exist.
    fn update_policies(&mut self, snapshot: &Snapshot, opts: &Options) {
        let ours: BTreeSet<ObjectKey> = self.gateways.keys().cloned().collect();
        let list = policy::statuses(snapshot, &ours, &opts.controller_name, &opts.time);
        let keys: BTreeSet<ObjectKey> = list.iter().map(|(k, _)| k.clone()).collect();
        for old in std::mem::replace(&mut self.policy_keys, keys.clone()) {
            if !keys.contains(&old) {
                self.set_status(&old, None);
            }
        }
        for (k, st) in list {
            self.set_status(&k, Some(StatusObject::new(&k, st)));
        }
    }

    /// [`State::set_status`] for many objects, in key order. A one-off translation keeps no
    /// times and no changes, and starts with no route status: its statuses are set aside in
    /// `settled` rather than searched for one by one.
    fn set_statuses(&mut self, list: Vec<(ObjectKey, Option<StatusObject>)>) {
        if self.track {
            for (key, st) in list {
                self.set_status(&key, st);
            }
            return;
        }
        self.settled.reserve(list.len());
        for (key, st) in list {
            match st {
                Some(status) => self.settled.push(Settled {
                    kind: key.kind,
                    status,
                }),
                None => self.set_status(&key, None),
            }
        }
        // `update` lists each key once, in key order; a check costs one pass.
        if !self.settled.is_sorted_by(|a, b| a.parts() < b.parts()) {
            self.settled.sort_by(|a, b| a.parts().cmp(&b.parts()));
        }
    }

    /// Stores an object's status, keeping the old one (and its times) when nothing else changed.
    fn set_status(&mut self, key: &ObjectKey, st: Option<StatusObject>) {
        use std::collections::btree_map::Entry;
        // One search of the map, whether the status is new, changed, unchanged or gone.
        match (st, self.status.entry(key.clone())) {
            (None, Entry::Vacant(_)) => {}
            (None, Entry::Occupied(e)) => {
                e.remove();
                self.changed_status.insert(key.clone());
            }
            (Some(mut new), Entry::Occupied(mut e)) => {
                if self.track {
                    new.keep_times_of(e.get());
                }
                if **e.get() == new {
                    return;
                }
                if self.track {
                    self.changed_status.insert(key.clone());
                }
                e.insert(Arc::new(new));
            }
            (Some(new), Entry::Vacant(e)) => {
                if self.track {
                    self.changed_status.insert(key.clone());
                }
                e.insert(Arc::new(new));
            }
        }
    }

    /// What changed since the last call.
    pub fn take_changes(&mut self) -> Changes {
        Changes {
            gateways: std::mem::take(&mut self.changed_gateways),
            status: std::mem::take(&mut self.changed_status),
        }
    }

    /// The IR of a Gateway (`namespace/name`).
    pub fn gateway(&self, name: &str) -> Option<&GatewayIr> {
        let (ns, n) = name.split_once('/')?;
        self.gateways
            .get(&ObjectKey::new(Kind::Gateway, ns, n))
            .map(|g| &g.ir)
    }

    /// Every Gateway (`namespace/name`) with its IR.
    pub fn gateways(&self) -> impl Iterator<Item = (&str, &GatewayIr)> + '_ {
        let mut all: Vec<(&str, &GatewayIr)> = self
            .gateways
            .values()
            .map(|g| (g.name.as_str(), &g.ir))
            .collect();
        all.sort_unstable_by_key(|(name, _)| *name);
        all.into_iter()
    }

    /// The status of an object.
    pub fn status(&self, key: &ObjectKey) -> Option<&StatusObject> {
        self.status.get(key).map(|s| &**s).or_else(|| {
            let i = self
                .settled
                .binary_search_by(|s| s.parts().cmp(&key.parts()))
                .ok()?;
            Some(&self.settled[i].status)
        })
    }

    /// The status of an object, shared: what a tracked state (an [`crate::engine::Engine`]'s)
    /// hands out without a copy. A one-off state's route statuses are not shared: None.
    pub fn shared_status(&self, key: &ObjectKey) -> Option<&Arc<StatusObject>> {
        self.status.get(key)
    }

    /// Every status, in key order.
    pub fn statuses(&self) -> impl Iterator<Item = &StatusObject> + '_ {
        merge_by_key(
            self.status.iter().map(|(k, s)| (k.parts(), &**s)),
            self.settled.iter().map(|s| (s.parts(), &s.status)),
        )
    }

    /// Every diagnostic, sorted.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        self.warnings.keys().cloned().collect()
    }

    /// The whole translation, taken out of a state nobody will update again.
    pub fn into_translation(self) -> Translation {
        let diagnostics = self.diagnostics();
        Translation {
            gateways: self
                .gateways
                .into_values()
                .map(|g| (g.name, g.ir))
                .collect(),
            status: merge_statuses(self.status, self.settled),
            diagnostics,
        }
    }

    /// The whole translation.
    pub fn translation(&self) -> Translation {
        Translation {
            gateways: self
                .gateways
                .values()
                .map(|g| (g.name.clone(), g.ir.clone()))
                .collect(),
            status: self.statuses().cloned().collect(),
            diagnostics: self.diagnostics(),
        }
    }
}

/// The statuses of `shared` and `settled`, in key order (`settled`'s first on equal keys),
/// moved out. The shared ones are few (classes, Gateways, policies): each finds its place among
/// the settled by a binary search, and the settled are moved over in runs.
fn merge_statuses(
    shared: BTreeMap<ObjectKey, Arc<StatusObject>>,
    settled: Vec<Settled>,
) -> Vec<StatusObject> {
    let mut out = Vec::with_capacity(shared.len() + settled.len());
    let mut settled = settled.into_iter();
    for (key, s) in shared {
        let before = settled
            .as_slice()
            .partition_point(|o| o.parts() <= key.parts());
        out.extend(settled.by_ref().take(before).map(|o| o.status));
        out.push(Arc::try_unwrap(s).unwrap_or_else(|s| (*s).clone()));
    }
    out.extend(settled.map(|o| o.status));
    out
}

/// The values of two sequences sorted by key, in key order (`b`'s first on equal keys).
fn merge_by_key<K: Ord, T, A, B>(a: A, b: B) -> MergeByKey<A, B>
where
    A: Iterator<Item = (K, T)>,
    B: Iterator<Item = (K, T)>,
{
    MergeByKey {
        a: a.peekable(),
        b: b.peekable(),
    }
}

/// See [`merge_by_key`]; its length is known, so what collects it allocates once.
struct MergeByKey<A: Iterator, B: Iterator> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<K: Ord, T, A, B> Iterator for MergeByKey<A, B>
where
    A: Iterator<Item = (K, T)>,
    B: Iterator<Item = (K, T)>,
{
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let from_a = match (self.a.peek(), self.b.peek()) {
            (Some((ka, _)), Some((kb, _))) => ka < kb,
            (a, _) => a.is_some(),
        };
        let next = if from_a { self.a.next() } else { self.b.next() };
        next.map(|(_, v)| v)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (a, b) = (self.a.size_hint(), self.b.size_hint());
        (
            a.0.saturating_add(b.0),
            a.1.zip(b.1).and_then(|(x, y)| x.checked_add(y)),
        )
    }
}

/// Takes a route's placements back from its Gateways.
fn retract_parts(
    gateways: &mut Gateways,
    key: &ObjectKey,
    outcome: &RuleOutcome,
    r: &RouteResult,
    overlap: &mut BTreeSet<ObjectKey>,
) {
    for part in &r.parts {
        if let Some(g) = gateways.get_mut(&part.gateway) {
            g.placements
                .remove(&g.listeners, key, outcome, part, overlap);
            g.touched = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::merge_by_key;

    #[test]
    fn merged_sequences_keep_key_order_and_their_length() {
        let a = [(1, "a1"), (4, "a4"), (5, "a5")];
        let b = [(0, "b0"), (2, "b2"), (4, "b4"), (9, "b9")];
        let merged = merge_by_key(a.into_iter(), b.into_iter());
        assert_eq!(merged.size_hint(), (7, Some(7)));
        assert_eq!(
            merged.collect::<Vec<_>>(),
            ["b0", "a1", "b2", "b4", "a4", "a5", "b9"]
        );
        let none = merge_by_key(std::iter::empty::<(u8, u8)>(), std::iter::empty());
        assert_eq!(none.count(), 0);
    }
}
