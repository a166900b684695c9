//! What the routes of one Gateway add up to: `attachedRoutes` per listener, clusters, route
//! tables per port and per HTTPS listener, L4 forwards and rule overlaps. Routes are added and
//! taken back one at a time, so a changed route costs what it touches; [`Placements::assemble`]
//! then rebuilds only the virtual hosts that changed.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use super::hostnames;
use super::ir::*;
use super::listeners::{ListenerCtx, Protocol};
use super::overlap::Groups;
use super::routes::RuleOutcome;
use super::ParentPart;
use crate::model::{cmp_shared, Kind, ObjectKey};

/// A route in a virtual host's order ([`RouteIr::cmp_rank`]).
#[derive(Debug, Clone)]
struct ByRank(Arc<RouteIr>);

impl PartialEq for ByRank {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ByRank {}

impl PartialOrd for ByRank {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByRank {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp_rank(&other.0)
    }
}

/// A redirect with neither scheme nor port goes to the listener's port (Gateway API:
/// "the port of the Gateway listener"); Envoy would otherwise drop the port when it replaces
/// the hostname. Listeners on their scheme's well-known port need nothing. The copy keeps the
/// route's rank and name, so [`Table::remove`] finds it from the shared route.
fn with_listener_port(r: &Arc<RouteIr>, l: &ListenerCtx) -> Arc<RouteIr> {
    let well_known = match l.protocol {
        Some(Protocol::Https) => 443,
        _ => 80,
    };
    match &r.action {
        ActionIr::Redirect(rd)
            if rd.scheme.is_none() && rd.port.is_none() && l.port != well_known =>
        {
            let mut copy = RouteIr::clone(r);
            if let ActionIr::Redirect(rd) = &mut copy.action {
                rd.port = u32::try_from(l.port).ok();
            }
            Arc::new(copy)
        }
        _ => r.clone(),
    }
}

/// The virtual hosts of HTTPS listener `li` with the misdirected requests answered 421
/// (GatewayHTTPSListenerDetectMisdirectedRequests; see [`hostnames::misdirected`]): the
/// hostnames of the other ready HTTPS listeners of the port, and the hostnames its routes serve
/// that a more specific one of them owns. Envoy Gateway v1.9.0 does not detect misdirected
/// requests (it answers 404), so this follows the spec (`Listener.hostname`).
fn misdirected(
    gw: &str,
    listeners: &[ListenerCtx],
    li: usize,
    mut vhosts: BTreeMap<String, RouteList>,
) -> BTreeMap<String, RouteList> {
    let l = &listeners[li];
    let siblings = super::listeners::sibling_hostnames(listeners, li);
    if siblings.is_empty() {
        return vhosts;
    }
    let own = l.hostname.as_deref();
    let (hosts, own_needed) = hostnames::misdirected(own, &siblings);
    let (ns, name) = gw.split_once('/').unwrap_or(("", gw));
    let answer = RouteList::new(vec![Arc::new(RouteIr::catch_all(
        format!("{gw}/{}/misdirected", l.name),
        ObjectKey::new(Kind::Gateway, ns, name),
        ActionIr::Direct(421),
    ))]);
    for (host, routes) in vhosts.iter_mut() {
        if hostnames::taken_by_sibling(host, &l.narrower) {
            *routes = answer.clone();
        }
    }
    // A sibling's hostname is never one this listener's routes serve unless the sibling is
    // more specific (then it was just answered 421 above), or equal (excluded).
    for host in hosts {
        vhosts.insert(host, answer.clone());
    }
    if let (Some(own), true) = (own, own_needed) {
        // No route: Envoy answers 404.
        vhosts
            .entry(own.to_string())
            .or_insert_with(|| RouteList::new(Vec::new()));
    }
    vhosts
}

/// Where the HTTP routes of a listener go: HTTP listeners of a port share one table, each
/// HTTPS listener has its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TableKey {
    Port(u16),
    Listener(usize),
}

fn table_key(li: usize, l: &ListenerCtx) -> Option<TableKey> {
    let port = u16::try_from(l.port).ok()?;
    match l.protocol? {
        Protocol::Http => Some(TableKey::Port(port)),
        Protocol::Https => Some(TableKey::Listener(li)),
        _ => None,
    }
}

/// One route table: per hostname the routes placed there (with multiplicity), and the lists
/// last assembled from them.
#[derive(Debug, Clone, Default)]
struct Table {
    hosts: BTreeMap<String, HostRoutes>,
    lists: BTreeMap<String, RouteList>,
    dirty: BTreeSet<String>,
}

/// The routes placed on one hostname of a table.
#[derive(Debug, Clone, Default)]
struct HostRoutes {
    /// Routes in rank order, with the times each was placed.
    placed: Placed,
    /// Routes placed while `placed` was empty, in arrival order: a Gateway placed from nothing
    /// sorts each hostname's routes once ([`HostRoutes::settle`]) instead of searching the map
    /// for each (a rank comparison reads two routes, and the search makes a dozen).
    pending: Vec<Arc<RouteIr>>,
}

/// Ranked routes with the times each was placed: the sorted list a settle leaves (a Gateway
/// placed from nothing, then assembled, never searches it), turned into a map by the first
/// single change.
#[derive(Debug, Clone)]
enum Placed {
    Sorted(Vec<(ByRank, u32)>),
    Map(BTreeMap<ByRank, u32>),
}

impl Default for Placed {
    fn default() -> Self {
        Placed::Sorted(Vec::new())
    }
}

impl Placed {
    fn is_empty(&self) -> bool {
        match self {
            Placed::Sorted(v) => v.is_empty(),
            Placed::Map(m) => m.is_empty(),
        }
    }

    fn map(&mut self) -> &mut BTreeMap<ByRank, u32> {
        if let Placed::Sorted(v) = self {
            // Sorted and distinct already: collecting checks that in one pass, and builds the
            // map without searching.
            *self = Placed::Map(std::mem::take(v).into_iter().collect());
        }
        match self {
            Placed::Map(m) => m,
            Placed::Sorted(_) => unreachable!("turned into a map above"),
        }
    }

    /// The routes in order; equal names side by side are one route placed twice.
    fn list(&self) -> Vec<Arc<RouteIr>> {
        fn distinct<'a>(keys: impl Iterator<Item = &'a ByRank>, n: usize) -> Vec<Arc<RouteIr>> {
            let mut list: Vec<Arc<RouteIr>> = Vec::with_capacity(n);
            for r in keys {
                if list.last().is_none_or(|l| l.name != r.0.name) {
                    list.push(r.0.clone());
                }
            }
            list
        }
        match self {
            Placed::Sorted(v) => distinct(v.iter().map(|(k, _)| k), v.len()),
            Placed::Map(m) => distinct(m.keys(), m.len()),
        }
    }
}

impl HostRoutes {
    fn add(&mut self, r: &Arc<RouteIr>) {
        if self.placed.is_empty() {
            self.pending.push(r.clone());
        } else {
            *self.placed.map().entry(ByRank(r.clone())).or_default() += 1;
        }
    }

    /// Takes back one [`HostRoutes::add`] of `r`.
    fn remove(&mut self, r: &Arc<RouteIr>) {
        self.settle();
        let placed = self.placed.map();
        let k = ByRank(r.clone());
        if let Some(n) = placed.get_mut(&k) {
            *n -= 1;
            if *n == 0 {
                placed.remove(&k);
            }
        }
    }

    /// Moves the pending routes into `placed` (empty while any are pending).
    fn settle(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.placed = Placed::Sorted(ranked_runs(std::mem::take(&mut self.pending)));
    }

    fn is_empty(&self) -> bool {
        self.placed.is_empty() && self.pending.is_empty()
    }
}

/// Routes in [`RouteIr::cmp_rank`] order, as runs of equal routes (one route placed more than
/// once) with their lengths. Each run holds the first placed of its routes: what a stable sort
/// by rank, then one insertion after another, would keep.
///
/// Routes arrive in key order, rule by rule and match by match, which is the tail of the rank
/// for routes of one kind. So they are sorted by the rank's head alone (precedence and age,
/// read once per route), and the runs are made comparing each route with the run before it,
/// which also checks the order. Only routes that arrived out of order (say, GRPCRoutes after
/// HTTPRoutes on one hostname) pay for a sort by the whole rank. The result is the same either
/// way.
fn ranked_runs(routes: Vec<Arc<RouteIr>>) -> Vec<(ByRank, u32)> {
    let order: Vec<usize> = {
        let mut heads: Vec<(RankHead<'_>, usize)> = routes
            .iter()
            .enumerate()
            .map(|(i, r)| (r.rank.head(), i))
            .collect();
        // Stable, so routes of one head stay in arrival order.
        heads.sort_by(|a, b| a.0.cmp(&b.0));
        heads.into_iter().map(|(_, i)| i).collect()
    };
    // Moved, not copied: a copy would write a reference count into every route.
    let mut slots: Vec<Option<Arc<RouteIr>>> = routes.into_iter().map(Some).collect();
    let by_head = order.into_iter().filter_map(|i| slots[i].take());
    let (runs, in_order) = runs_of(by_head);
    if in_order {
        return runs;
    }
    // A route of each run stands for all of it: only the first of equal routes is kept.
    let mut all: Vec<Arc<RouteIr>> = runs
        .into_iter()
        .flat_map(|(k, n)| std::iter::repeat_n(k.0, n as usize))
        .collect();
    all.sort_by(|a, b| a.cmp_rank(b));
    runs_of(all.into_iter()).0
}

/// The runs of equal routes of `routes`, and whether they were in rank order.
fn runs_of(routes: impl Iterator<Item = Arc<RouteIr>>) -> (Vec<(ByRank, u32)>, bool) {
    let mut runs: Vec<(ByRank, u32)> = Vec::with_capacity(routes.size_hint().0);
    let mut in_order = true;
    for r in routes {
        match runs.last_mut() {
            Some((k, n)) => match k.0.cmp_rank(&r) {
                Ordering::Equal => *n += 1,
                o => {
                    in_order &= o == Ordering::Less;
                    runs.push((ByRank(r), 1));
                }
            },
            None => runs.push((ByRank(r), 1)),
        }
    }
    (runs, in_order)
}

impl Table {
    /// Notes a hostname whose list [`Table::refresh`] must rebuild (copying the name only the
    /// first time).
    fn mark_dirty(&mut self, host: &str) {
        if !self.dirty.contains(host) {
            self.dirty.insert(host.to_string());
        }
    }

    fn add(&mut self, host: &str, r: &Arc<RouteIr>) {
        let routes = match self.hosts.get_mut(host) {
            Some(m) => m,
            None => self.hosts.entry(host.to_string()).or_default(),
        };
        routes.add(r);
        self.mark_dirty(host);
    }

    fn remove(&mut self, host: &str, r: &Arc<RouteIr>) {
        let Some(routes) = self.hosts.get_mut(host) else {
            return;
        };
        routes.remove(r);
        if routes.is_empty() {
            self.hosts.remove(host);
        }
        self.mark_dirty(host);
    }

    /// Rebuilds the lists of the hostnames that changed; true when any did.
    fn refresh(&mut self) -> bool {
        let dirty = std::mem::take(&mut self.dirty);
        let changed = !dirty.is_empty();
        for host in dirty {
            match self.hosts.get_mut(&host) {
                None => {
                    self.lists.remove(&host);
                }
                Some(routes) => {
                    routes.settle();
                    self.lists
                        .insert(host, RouteList::new(routes.placed.list()));
                }
            }
        }
        changed
    }
}

/// What one route places on an L4 listener: its hostnames (SNI), weighted clusters, and
/// creation time (which decides between TCP or UDP routes sharing a port).
type Forward = (hostnames::Hosts, Vec<(ClusterName, u32)>, String);

/// The routes using one cluster, sorted by route, each with its definition of the cluster.
type Users = SmallVec<[(ObjectKey, Arc<ClusterIr>); 1]>;

/// Everything the routes of one Gateway placed on it.
#[derive(Debug, Clone, Default)]
pub struct Placements {
    /// `attachedRoutes` per listener index.
    pub attached: Vec<i32>,
    /// Clusters by name, with the routes using each sorted by route (the first route's
    /// definition is used; held inline, as most clusters have one user). Hashed, not ordered:
    /// every route looks its clusters up here, and names sharing a long `namespace/service`
    /// prefix made an ordered search compare a few dozen of them; the order the IR needs is
    /// made in [`Placements::refresh_clusters`].
    clusters: FxHashMap<ClusterName, Users>,
    /// Names whose users changed since the last refresh, with repeats: a push costs no search,
    /// and a refresh from nothing needs none of them (see [`Placements::refresh_clusters`]).
    dirty_clusters: Vec<ClusterName>,
    tables: BTreeMap<TableKey, Table>,
    /// L4 placements per listener index, in route order.
    forwards: Vec<BTreeMap<ObjectKey, Vec<Forward>>>,
    /// Rule overlaps.
    pub overlap: Groups,
    /// Whether L4 placements changed since the last assembly.
    dirty_forwards: bool,
}

impl Placements {
    /// Empty placements for a Gateway with `listeners` listeners.
    pub fn new(listeners: usize) -> Self {
        Placements {
            attached: vec![0; listeners],
            forwards: vec![BTreeMap::new(); listeners],
            dirty_forwards: true,
            ..Default::default()
        }
    }

    /// Makes room for about `routes` more routes, each with one cluster and one rule: the maps
    /// then grow once rather than step by step, each step rehashing what they held.
    pub fn reserve(&mut self, routes: usize) {
        self.clusters.reserve(routes);
        self.dirty_clusters.reserve(routes);
        self.overlap.reserve(routes);
    }

    /// Whether no route has been placed.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
            && self.tables.is_empty()
            && self.forwards.iter().all(BTreeMap::is_empty)
    }

    /// Adds what one parentRef of `route` brings (`outcome` is the route's rules).
    pub fn add(
        &mut self,
        listeners: &[ListenerCtx],
        route: &ObjectKey,
        outcome: &RuleOutcome,
        part: &ParentPart,
        changed: &mut BTreeSet<ObjectKey>,
    ) {
        for li in &part.attached {
            self.attached[*li] += 1;
        }
        for (name, c) in outcome.clusters.iter() {
            // Names are shared: cloning one into a map costs a reference count.
            let users = self.clusters.entry(name.clone()).or_default();
            match users.binary_search_by(|(r, _)| r.cmp(route)) {
                Ok(i) => users[i].1 = c.clone(),
                Err(i) => users.insert(i, (route.clone(), c.clone())),
            }
            self.dirty_clusters.push(name.clone());
        }
        let http = matches!(route.kind, Kind::HttpRoute | Kind::GrpcRoute);
        for (li, hosts) in &part.placed {
            if http {
                let table = table_key(*li, &listeners[*li]);
                for r in &outcome.routes {
                    let placed = with_listener_port(r, &listeners[*li]);
                    for h in hosts {
                        self.overlap.add(*li, h, r, changed);
                        if let Some(t) = table {
                            self.tables.entry(t).or_default().add(h, &placed);
                        }
                    }
                }
            } else {
                self.forwards[*li].entry(route.clone()).or_default().push((
                    hosts.clone(),
                    outcome.forward.clone(),
                    outcome.created.clone(),
                ));
                self.dirty_forwards = true;
            }
        }
    }

    /// Takes back everything [`Placements::add`] added for `route` through `part`.
    pub fn remove(
        &mut self,
        listeners: &[ListenerCtx],
        route: &ObjectKey,
        outcome: &RuleOutcome,
        part: &ParentPart,
        changed: &mut BTreeSet<ObjectKey>,
    ) {
        for li in &part.attached {
            self.attached[*li] -= 1;
        }
        for name in outcome.clusters.keys() {
            if let Some(users) = self.clusters.get_mut(name) {
                if let Ok(i) = users.binary_search_by(|(r, _)| r.cmp(route)) {
                    users.remove(i);
                }
                if users.is_empty() {
                    self.clusters.remove(name);
                }
            }
            self.dirty_clusters.push(name.clone());
        }
        let http = matches!(route.kind, Kind::HttpRoute | Kind::GrpcRoute);
        for (li, hosts) in &part.placed {
            if http {
                let table = table_key(*li, &listeners[*li]);
                for r in &outcome.routes {
                    for h in hosts {
                        self.overlap.remove(*li, h, r, changed);
                        if let Some(t) = table.and_then(|t| self.tables.get_mut(&t)) {
                            t.remove(h, r);
                        }
                    }
                }
            } else if self.forwards[*li].remove(route).is_some() {
                self.dirty_forwards = true;
            }
        }
    }

    /// Marks clusters as possibly changed, for example those a Gateway had before its
    /// placements started afresh.
    pub fn mark_clusters_dirty<'a>(&mut self, names: impl IntoIterator<Item = &'a ClusterName>) {
        self.dirty_clusters.extend(names.into_iter().cloned());
    }

    /// Brings `clusters` up to date with the clusters that changed; true when any did. An
    /// unchanged definition keeps its allocation (and a map without changes is not copied).
    pub fn refresh_clusters(
        &mut self,
        clusters: &mut Shared<BTreeMap<ClusterName, Arc<ClusterIr>>>,
    ) -> bool {
        // A name's repeats are clones of one shared name: compared by address first, and
        // ordered without a call to `memcmp` per comparison.
        let mut dirty = std::mem::take(&mut self.dirty_clusters);
        dirty.sort_unstable_by(cmp_shared);
        dirty.dedup_by(|a, b| cmp_shared(a, b).is_eq());
        if clusters.is_empty() {
            // Every refresh leaves `clusters` holding the first user's cluster of every name,
            // and every change since marked its name dirty: from nothing, that is all of them,
            // built in one pass instead of a search per name. Sorted from the dirty names, which
            // arrive in route order, mostly already sorted (the hashed map's order is random).
            let all: BTreeMap<ClusterName, Arc<ClusterIr>> = dirty
                .into_iter()
                .filter_map(|n| {
                    let first = self.clusters.get(&n)?.first()?.1.clone();
                    Some((n, first))
                })
                .collect();
            if all.is_empty() {
                return false;
            }
            *clusters.make_mut() = all;
            return true;
        }
        let mut changed = false;
        for name in dirty {
            let now = self
                .clusters
                .get(&name)
                .and_then(|u| u.first())
                .map(|(_, c)| c);
            match (clusters.get(&name), now) {
                (Some(old), Some(new)) if old == new => {}
                (None, None) => {}
                (_, Some(new)) => {
                    clusters.make_mut().insert(name, new.clone());
                    changed = true;
                }
                (Some(_), None) => {
                    clusters.make_mut().remove(&name);
                    changed = true;
                }
            }
        }
        changed
    }

    /// Lets go of what only a later placement or retraction reads (clusters, tables, forwards),
    /// keeping `attached` and `overlap`, which status still reads. For a Gateway whose
    /// placements are never changed again (a one-off translation's): just assembled, they are
    /// still in cache, where a drop at the end would read them all once more from memory.
    pub fn release(&mut self) {
        self.clusters = FxHashMap::default();
        self.dirty_clusters = Vec::new();
        self.tables = BTreeMap::new();
        self.forwards = Vec::new();
    }

    /// Whether [`Placements::assemble`] would build different ports than last time.
    pub fn ports_dirty(&self) -> bool {
        self.dirty_forwards || self.tables.values().any(|t| !t.dirty.is_empty())
    }

    /// The ports of Gateway `gw` (`namespace/name`): route tables, TLS chains and forwards.
    pub fn assemble(
        &mut self,
        gw: &str,
        listeners: &[ListenerCtx],
    ) -> BTreeMap<(u16, bool), PortIr> {
        for t in self.tables.values_mut() {
            t.refresh();
        }
        self.dirty_forwards = false;
        let mut ports: BTreeMap<(u16, bool), PortIr> = BTreeMap::new();
        let lists = |tables: &BTreeMap<TableKey, Table>, k: TableKey| {
            tables.get(&k).map(|t| t.lists.clone()).unwrap_or_default()
        };
        for (li, l) in listeners.iter().enumerate() {
            let (Some(protocol), true) = (l.protocol, l.ready) else {
                continue;
            };
            let Ok(port) = u16::try_from(l.port) else {
                continue;
            };
            let udp = protocol == Protocol::Udp;
            let entry = ports.entry((port, udp)).or_insert_with(|| PortIr {
                port,
                udp,
                http: None,
                tls_chains: Vec::new(),
                forward: None,
            });
            match protocol {
                Protocol::Http => {
                    if entry.http.is_none() {
                        entry.http = Some(RouteTableIr {
                            name: format!("{gw}/{port}"),
                            vhosts: lists(&self.tables, TableKey::Port(port)),
                        });
                    }
                }
                Protocol::Https => entry.tls_chains.push(TlsChainIr {
                    name: format!("{gw}/{}", l.name),
                    server_names: l.hostname.iter().cloned().collect(),
                    secrets: l.secrets.clone(),
                    client_validation: l.client_validation.clone(),
                    action: TlsChainAction::Http(RouteTableIr {
                        name: format!("{gw}/{}", l.name),
                        vhosts: misdirected(
                            gw,
                            listeners,
                            li,
                            lists(&self.tables, TableKey::Listener(li)),
                        ),
                    }),
                }),
                Protocol::Tls => {
                    for (route, placed) in &self.forwards[li] {
                        for (hosts, clusters, _) in placed {
                            let server_names = if hosts.len() == 1 && hosts[0] == "*" {
                                l.hostname.iter().cloned().collect()
                            } else {
                                hosts.to_vec()
                            };
                            entry.tls_chains.push(TlsChainIr {
                                // One per TLS route: spelled without the formatting
                                // machinery (see `names`).
                                name: [gw, "/", &l.name, "/", &route.namespace, "/", &route.name]
                                    .concat(),
                                server_names,
                                secrets: if l.passthrough {
                                    Vec::new()
                                } else {
                                    l.secrets.clone()
                                },
                                client_validation: None,
                                action: TlsChainAction::Forward(ForwardIr {
                                    name: [&*route.namespace, "/", &route.name].concat(),
                                    clusters: clusters.clone(),
                                }),
                            });
                        }
                    }
                }
                Protocol::Tcp | Protocol::Udp => {
                    // One forward per port: the oldest route wins, then the first in
                    // namespace/name order (TCPRouteMultipleRoutesAttachment).
                    let first = self.forwards[li]
                        .iter()
                        .filter_map(|(route, placed)| placed.first().map(|p| (route, p)))
                        .min_by(|(ra, a), (rb, b)| a.2.cmp(&b.2).then_with(|| ra.cmp(rb)));
                    if let (Some((route, (_, clusters, _))), None) = (first, &entry.forward) {
                        entry.forward = Some(ForwardIr {
                            name: format!("{}/{}", route.namespace, route.name),
                            clusters: clusters.clone(),
                        });
                    }
                }
            }
        }
        for p in ports.values_mut() {
            p.tls_chains.sort_by(|a, b| a.name.cmp(&b.name));
        }
        ports
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::ranked_runs;
    use crate::model::{Kind, ObjectKey};
    use crate::translate::ir::RouteIr;

    /// A route with a small choice of every part of its rank, so that ties are common.
    fn ranked(
        (kind, ns, name, created, path_len, position): (bool, u8, u8, u8, usize, (usize, usize)),
    ) -> RouteIr {
        let kind = if kind {
            Kind::GrpcRoute
        } else {
            Kind::HttpRoute
        };
        let source = ObjectKey::new(kind, &format!("ns-{ns}"), &format!("r-{name}"));
        let mut r = RouteIr::catch_all(
            format!("{source}/{position:?}"),
            source,
            ActionIr::Direct(200),
        );
        r.rank.path_len = std::cmp::Reverse(path_len);
        r.rank.position = position;
        if created > 0 {
            r.rank.created = format!("2025-01-01T00:00:0{created}Z").into_bytes().into();
        }
        r
    }

    proptest! {
        /// Sorting by the head of the rank, then making runs, gives what a stable sort by the
        /// whole rank and runs of equal routes give, down to which copy of equal routes a run
        /// keeps.
        #[test]
        fn ranked_runs_are_those_of_a_stable_sort_by_rank(
            parts in prop::collection::vec(
                ((any::<bool>(), 0..2u8, 0..3u8, 0..3u8, 1..3usize, (0..2usize, 0..2usize)), 0..3usize),
                0..40,
            ),
        ) {
            // Some routes come twice: the same one again, or an equal copy.
            let mut routes: Vec<Arc<RouteIr>> = Vec::new();
            for (p, again) in parts {
                let r = Arc::new(ranked(p));
                match again {
                    1 => routes.push(r.clone()),
                    2 => routes.push(Arc::new(RouteIr::clone(&r))),
                    _ => {}
                }
                routes.push(r);
            }
            let mut sorted = routes.clone();
            sorted.sort_by(|a, b| a.cmp_rank(b));
            let mut expected: Vec<(Arc<RouteIr>, u32)> = Vec::new();
            for r in sorted {
                match expected.last_mut() {
                    Some((k, n)) if k.cmp_rank(&r) == std::cmp::Ordering::Equal => *n += 1,
                    _ => expected.push((r, 1)),
                }
            }
            let got = ranked_runs(routes);
            prop_assert_eq!(got.len(), expected.len());
            for ((g, gn), (e, en)) in got.iter().zip(&expected) {
                prop_assert!(Arc::ptr_eq(&g.0, e), "{} where {} was expected", g.0.name, e.name);
                prop_assert_eq!(gn, en);
            }
        }
    }

    use crate::translate::ActionIr;
    use crate::Options;

    /// Two TCPRoutes (and two UDPRoutes) on one listener: the port goes to the oldest route,
    /// although its name sorts last (TCPRouteMultipleRoutesAttachment).
    #[test]
    fn the_oldest_l4_route_gets_the_port() {
        let mut m = String::from(
            r#"
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: gc
  listeners:
  - {name: tcp, port: 9310, protocol: TCP}
  - {name: udp, port: 5301, protocol: UDP}
"#,
        );
        for (kind, port) in [("TCPRoute", 3000), ("UDPRoute", 8080)] {
            for (name, created, backend) in [
                ("a-newer", "2025-01-01T00:00:02Z", "new"),
                ("z-older", "2025-01-01T00:00:01Z", "old"),
            ] {
                m.push_str(&format!(
                    "---\napiVersion: gateway.networking.k8s.io/v1alpha2\nkind: {kind}\n\
                     metadata: {{name: {kind}-{name}, namespace: infra, creationTimestamp: \"{created}\"}}\n\
                     spec:\n  parentRefs: [{{name: gw}}]\n  rules: [{{backendRefs: [{{name: {backend}, port: {port}}}]}}]\n\
                     ---\napiVersion: v1\nkind: Service\nmetadata: {{name: {backend}, namespace: infra}}\n\
                     spec: {{ports: [{{port: {port}, protocol: {}}}]}}\n",
                    if kind == "UDPRoute" { "UDP" } else { "TCP" }
                ));
            }
        }
        let t = crate::testing::translate_manifests(&m, &Options::default());
        let gw = &t.gateways["infra/gw"];
        for (key, route) in [
            ((9310, false), "TCPRoute-z-older"),
            ((5301, true), "UDPRoute-z-older"),
        ] {
            let f = gw.ports[&key].forward.as_ref().expect("a forward");
            assert_eq!(f.name, format!("infra/{route}"));
        }
    }

    /// A redirect that names only a hostname keeps the listener's port when that port is not
    /// the scheme's well-known one (HTTPRouteRedirectPortAndScheme).
    #[test]
    fn a_hostname_redirect_keeps_the_listener_port() {
        let m = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: gc
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: alt, port: 8080, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: redirect, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - filters: [{type: RequestRedirect, requestRedirect: {hostname: example.org}}]
"#;
        let t = crate::testing::translate_manifests(m, &Options::default());
        let gw = &t.gateways["infra/gw"];
        let port_of = |port: u16| {
            let table = gw.ports[&(port, false)]
                .http
                .as_ref()
                .expect("a route table");
            let route = &table.vhosts.values().next().expect("a virtual host")[0];
            match &route.action {
                ActionIr::Redirect(rd) => rd.port,
                other => panic!("not a redirect: {other:?}"),
            }
        };
        assert_eq!(port_of(8080), Some(8080));
        assert_eq!(port_of(80), None);
    }

    /// HTTPRouteHTTPSListenerDetectMisdirectedRequests: four HTTPS listeners share port 443.
    fn misdirected_gateway(without_route: Option<&str>) -> crate::Translation {
        let indent = |pem: &str| pem.trim_end().replace('\n', "\n    ");
        let mut m = format!(
            r#"apiVersion: v1
kind: Secret
metadata: {{name: cert, namespace: infra}}
type: kubernetes.io/tls
stringData:
  tls.crt: |
    {}
  tls.key: |
    {}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw, namespace: infra}}
spec:
  gatewayClassName: gc
  listeners:
"#,
            indent(include_str!("../../tests/common/test-cert.pem")),
            indent(include_str!("../../tests/common/test-key.pem")),
        );
        let listeners = [
            ("https", None, Some("example.org")),
            ("https-with-hostname", Some("second-example.org"), None),
            ("https-with-wildcard-hostname", Some("*.wildcard.org"), None),
            ("https-fourth", Some("fourth-example.wildcard.org"), None),
        ];
        for (name, hostname, _) in listeners {
            m.push_str(&format!(
                "  - name: {name}\n    port: 443\n    protocol: HTTPS\n{}    tls: {{certificateRefs: [{{name: cert}}]}}\n",
                hostname.map(|h| format!("    hostname: \"{h}\"\n")).unwrap_or_default()
            ));
        }
        for (name, _, route_host) in listeners {
            if without_route == Some(name) {
                continue;
            }
            m.push_str(&format!(
                "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n\
                 metadata: {{name: {name}, namespace: infra}}\n\
                 spec:\n  parentRefs: [{{name: gw, sectionName: {name}}}]\n{}  rules: [{{backendRefs: [{{name: svc, port: 8080}}]}}]\n",
                route_host.map(|h| format!("  hostnames: [{h}]\n")).unwrap_or_default()
            ));
        }
        m.push_str("---\napiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: infra}\nspec: {ports: [{port: 8080}]}\n");
        crate::testing::translate_manifests(&m, &Options::default())
    }

    /// What each HTTPS listener's route table does per virtual host: `route`, `421` or `404`.
    fn vhost_actions(t: &crate::Translation) -> BTreeMap<String, Vec<(String, &'static str)>> {
        let mut out = BTreeMap::new();
        for chain in &t.gateways["infra/gw"].ports[&(443, false)].tls_chains {
            let crate::translate::ir::TlsChainAction::Http(table) = &chain.action else {
                panic!("not an HTTP chain: {}", chain.name)
            };
            let hosts = table
                .vhosts
                .iter()
                .map(|(host, routes)| {
                    let what = match routes.first().map(|r| &r.action) {
                        None => "404",
                        Some(ActionIr::Direct(421)) => "421",
                        Some(ActionIr::Forward { .. }) => "route",
                        Some(other) => panic!("unexpected {other:?}"),
                    };
                    (host.clone(), what)
                })
                .collect();
            out.insert(chain.name.clone(), hosts);
        }
        out
    }

    /// Each HTTPS chain answers 421 for the hostnames another listener of the port matches
    /// better, keeps its own, and a listener a sibling covers keeps a 404 virtual host.
    #[test]
    fn https_listeners_answer_misdirected_requests() {
        let t = misdirected_gateway(None);
        let v = |items: &[(&str, &'static str)]| -> Vec<(String, &'static str)> {
            items.iter().map(|(h, w)| (h.to_string(), *w)).collect()
        };
        let got = vhost_actions(&t);
        assert_eq!(
            got["infra/gw/https"],
            v(&[
                ("*.wildcard.org", "421"),
                ("example.org", "route"),
                ("fourth-example.wildcard.org", "421"),
                ("second-example.org", "421"),
            ])
        );
        assert_eq!(
            got["infra/gw/https-with-hostname"],
            v(&[
                ("*", "421"),
                ("*.wildcard.org", "421"),
                ("fourth-example.wildcard.org", "421"),
                ("second-example.org", "route"),
            ])
        );
        assert_eq!(
            got["infra/gw/https-with-wildcard-hostname"],
            v(&[
                ("*", "421"),
                ("*.wildcard.org", "route"),
                ("fourth-example.wildcard.org", "421"),
                ("second-example.org", "421"),
            ])
        );
        assert_eq!(
            got["infra/gw/https-fourth"],
            v(&[
                ("*", "421"),
                ("*.wildcard.org", "421"),
                ("fourth-example.wildcard.org", "route"),
                ("second-example.org", "421"),
            ])
        );
    }

    /// In Envoy: a virtual host per misdirected hostname whose one route answers 421 directly.
    #[test]
    fn misdirected_hosts_are_direct_421_virtual_hosts() {
        use envoy_types::pb::envoy::config::route::v3::route;
        let t = misdirected_gateway(None);
        let res = crate::xds::build(
            &t.gateways["infra/gw"],
            crate::xds::Delivery::Ads,
            "0.0.0.0",
        );
        let rc = res
            .routes
            .iter()
            .find(|r| r.name == "infra/gw/https-with-hostname")
            .expect("the route configuration");
        let vh = rc
            .virtual_hosts
            .iter()
            .find(|vh| vh.domains.iter().any(|d| d == "*"))
            .expect("a catch-all virtual host");
        assert_eq!(vh.routes.len(), 1);
        match &vh.routes[0].action {
            Some(route::Action::DirectResponse(d)) => assert_eq!(d.status, 421),
            other => panic!("not a direct response: {other:?}"),
        }
        let own = rc
            .virtual_hosts
            .iter()
            .find(|vh| vh.domains.iter().any(|d| d == "second-example.org"))
            .expect("the listener's own virtual host");
        assert!(matches!(
            own.routes[0].action,
            Some(route::Action::Route(_))
        ));
    }

    /// Without a route for its own hostname, a listener another covers answers 404 there, not
    /// the covering listener's 421.
    #[test]
    fn a_covered_listener_without_routes_keeps_its_404() {
        let t = misdirected_gateway(Some("https-fourth"));
        let got = vhost_actions(&t);
        let fourth: BTreeMap<_, _> = got["infra/gw/https-fourth"].iter().cloned().collect();
        assert_eq!(fourth["fourth-example.wildcard.org"], "404");
        assert_eq!(fourth["*.wildcard.org"], "421");
        assert_eq!(fourth["*"], "421");
    }
}
