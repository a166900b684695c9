//! The translation: a pure function from a [`Snapshot`] to per-Gateway IR and Gateway API status.
//!
//! Steps, in order: GatewayClasses ([`Options::controller_name`]), Gateway listeners
//! ([`listeners`]), route attachment and rules ([`routes`], one [`RouteResult`] per route),
//! then per Gateway the placements are gathered ([`placements`]) and assembled into ports.
//!
//! [`translate`] runs every step; [`crate::engine::Engine`] keeps the working [`state`] and
//! reruns only the steps a change reaches. Both go through the same code, so their results
//! are identical.

pub mod backends;
pub mod cache;
pub mod certs;
pub mod conflicts;
pub mod duration;
pub mod filters;
pub mod gateway_tls;
pub mod gateways;
pub mod hostnames;
pub mod ir;
pub mod listeners;
pub mod listenersets;
pub mod names;
pub mod overlap;
pub mod placements;
pub mod policy;
pub mod refgrant;
pub mod routes;
pub mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use smallvec::SmallVec;

use crate::diagnostic::Diagnostic;
use crate::model::*;
use crate::parallel::Parallelism;
use crate::snapshot::Snapshot;
use crate::status::conditions::{reasons, types, ConditionBuilder};
use crate::status::StatusObject;
use backends::Caller;
use cache::RouteCache;
use hostnames::Hosts;
use ir::*;
use listeners::ListenerCtx;
use routes::{RouteView, RuleCtx, RuleOutcome};

/// The controller name Envoy Gateway uses, so existing manifests work unchanged.
pub const DEFAULT_CONTROLLER_NAME: &str = "gateway.envoyproxy.io/gatewayclass-controller";

/// Inputs of a translation besides the objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// GatewayClasses with this `controllerName` are ours. Shared by the status entries it
    /// signs, one per route parent.
    pub controller_name: Arc<str>,
    /// `lastTransitionTime` of every condition (the core reads no clock); shared by all of them.
    pub time: Arc<str>,
    /// The address Gateways are reachable at, reported in their status.
    pub address: Option<String>,
    /// Which addresses a Gateway may request in `spec.addresses`.
    pub usable_addresses: UsableAddresses,
    /// How many threads the routes of a large translation from scratch (a first translation)
    /// are shared out among, and from how many routes; the result is the same either way.
    pub parallel: Parallelism,
}

/// Which requested `spec.addresses` the controller can give a Gateway: an input, since only
/// the controller knows its network (see [`gateways::addresses`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UsableAddresses {
    /// Every requested address is taken as written and reported in `status.addresses`: the
    /// infrastructure in front of the proxies is assumed to provide it. The default, as Envoy
    /// Gateway does: it hands a Gateway's requested addresses to the proxy Service and reports
    /// exactly those ("If the Gateway.Spec.Addresses is explicitly set, it will be the only
    /// addresses that populates the Gateway status"), never `AddressNotUsable`.
    #[default]
    All,
    /// Only `IPAddress` entries whose value is one of these IPs (say, those assigned to the
    /// machine's interfaces, for proxies that bind them directly); `Hostname` entries are not
    /// usable then. A Gateway requesting another address is `Programmed: False /
    /// AddressNotUsable`.
    Only(BTreeSet<std::net::IpAddr>),
}

impl Default for Options {
    fn default() -> Self {
        Options {
            controller_name: DEFAULT_CONTROLLER_NAME.into(),
            time: Arc::from("1970-01-01T00:00:00Z"),
            address: None,
            usable_addresses: UsableAddresses::All,
            parallel: Parallelism::default(),
        }
    }
}

/// The result of a translation.
#[derive(Debug, Clone, Default)]
pub struct Translation {
    /// Per Gateway (`namespace/name`): what its proxy must do.
    pub gateways: BTreeMap<String, GatewayIr>,
    /// The status of every object this controller owns status for, sorted by kind/namespace/name.
    pub status: Vec<StatusObject>,
    /// Warnings about accepted input we do not (yet) act on, so nothing is silently ignored.
    pub diagnostics: Vec<Diagnostic>,
}

impl Translation {
    /// Every Gateway (name and IR, in name order) through `f`, shared out among threads when
    /// the translation is large: building and rendering one Gateway's Envoy resources reads
    /// nothing of the others'. Its size is counted in objects with a status, most of them
    /// routes.
    pub fn each_gateway<T: Send>(
        &self,
        parallel: &Parallelism,
        f: impl Fn(&str, &GatewayIr) -> T + Sync,
    ) -> Vec<T> {
        let threads = parallel.threads_for(self.status.len(), self.gateways.len());
        if threads < 2 {
            return self.gateways.iter().map(|(n, ir)| f(n, ir)).collect();
        }
        use rayon::prelude::*;
        // Collected in the map's order.
        let all: Vec<(&String, &GatewayIr)> = self.gateways.iter().collect();
        all.par_iter()
            .with_min_len(Parallelism::piece_len(all.len(), threads))
            .map(|(n, ir)| f(n, ir))
            .collect()
    }
}

/// The hostnames a route serves through HTTP listener `l`, less those a more specific ready
/// HTTP listener of the same port owns: HTTP listeners of a port share one route table, where
/// they would otherwise mix (HTTPS listeners have a table each, chosen by SNI).
fn isolated(l: &ListenerCtx, hosts: Hosts) -> Hosts {
    if l.protocol != Some(listeners::Protocol::Http) {
        return hosts;
    }
    hostnames::isolate(hosts, &l.narrower)
}

/// Translates a snapshot. Deterministic: the same objects in any order give the same result.
pub fn translate(snapshot: &Snapshot, opts: &Options) -> Translation {
    let mut state = state::State::new(false);
    state.update(snapshot, opts);
    state.into_translation()
}

/// What a Gateway of ours offers routes: its listeners, in the order status reports them.
pub trait Parents {
    /// The key and listeners of a Gateway of ours (by namespace and name); None when the
    /// Gateway is not ours (or does not exist).
    fn listeners(&self, namespace: &str, name: &str) -> Option<(&ObjectKey, &[ListenerCtx])>;
}

/// One entry per parentRef (or per listener a parentRef attaches to). Most routes name one
/// parent and attach to one listener: held inline, these lists cost no allocation of their own.
pub type PerParent<T> = SmallVec<[T; 1]>;

/// One parentRef of a route that reached a Gateway of ours without being refused outright.
#[derive(Debug, Clone)]
pub struct ParentPart {
    /// The Gateway (for a ListenerSet parent, the set's Gateway).
    pub gateway: ObjectKey,
    /// Listeners counting the route in `attachedRoutes`.
    pub attached: PerParent<usize>,
    /// Ready listeners the route is placed on, with the hostnames it serves on each.
    pub placed: PerParent<(usize, Hosts)>,
}

/// Everything one route contributes to a translation.
#[derive(Debug, Clone, Default)]
pub struct RouteResult {
    /// Gateways and ListenerSets its parentRefs name, whatever became of them: a change to
    /// any of them may change this result.
    pub refs: PerParent<ObjectKey>,
    /// The rules, built once for every parent; None when no parentRef names a Gateway of ours.
    pub outcome: Option<Arc<RuleOutcome>>,
    /// One status entry per parentRef naming a Gateway of ours, with that Gateway.
    pub parents: ParentStatuses,
    /// What the route adds to each Gateway, per parentRef.
    pub parts: PerParent<ParentPart>,
}

/// A route's status entries, one per parentRef naming a Gateway of ours, with that Gateway.
pub type ParentStatuses = PerParent<(ObjectKey, RouteParentStatus)>;

/// The route's status made of its entries `parents`, with `RouteRulesOverlap` on the accepted
/// parents whose Gateway `overlapping` says has a rule of this route overlapping another; None
/// when no parentRef is ours. With `take`, the entries are moved out rather than copied.
pub fn route_status(
    parents: &mut ParentStatuses,
    overlapping: impl Fn(&ObjectKey) -> bool,
    take: bool,
) -> Option<RouteStatus> {
    if parents.is_empty() {
        return None;
    }
    let mark = |(gw, mut p): (ObjectKey, RouteParentStatus)| {
        if overlapping(&gw) {
            overlap::mark(&mut p);
        }
        p
    };
    let parents = if take {
        std::mem::take(parents).into_iter().map(mark).collect()
    } else {
        parents.iter().cloned().map(mark).collect()
    };
    Some(RouteStatus { parents })
}

/// Translates one route of any kind against the Gateways of ours, reusing the rules' outcome
/// from `cache` when present (and storing it there when `cache` tracks dependencies).
pub fn route_result(
    snapshot: &Snapshot,
    opts: &Options,
    key: &ObjectKey,
    object: &Object,
    gateways: &impl Parents,
    cache: &mut RouteCache,
) -> RouteResult {
    let (meta, parent_refs, hostnames): (&ObjectMeta, &[Arc<ParentReference>], &[String]) =
        match object {
            Object::HttpRoute(r) => (
                &r.metadata,
                r.spec.parent_refs.as_deref().unwrap_or_default(),
                r.spec.hostnames.as_deref().unwrap_or_default(),
            ),
            Object::GrpcRoute(r) => (
                &r.metadata,
                r.spec.parent_refs.as_deref().unwrap_or_default(),
                r.spec.hostnames.as_deref().unwrap_or_default(),
            ),
            Object::TlsRoute(r) => (
                &r.metadata,
                r.spec.parent_refs.as_deref().unwrap_or_default(),
                &r.spec.hostnames,
            ),
            Object::TcpRoute(r) => (
                &r.metadata,
                r.spec.parent_refs.as_deref().unwrap_or_default(),
                &[],
            ),
            Object::UdpRoute(r) => (
                &r.metadata,
                r.spec.parent_refs.as_deref().unwrap_or_default(),
                &[],
            ),
            _ => return RouteResult::default(),
        };
    let view = RouteView {
        key,
        meta,
        parent_refs,
        hostnames,
    };
    let build = |ctx: &mut RuleCtx<'_>| match object {
        Object::HttpRoute(r) => ctx.http(&r.spec),
        Object::GrpcRoute(r) => ctx.grpc(&r.spec),
        Object::TlsRoute(r) => ctx.l4(&r.spec.rules, Caller::Tcp),
        Object::TcpRoute(r) => ctx.l4(&r.spec.rules, Caller::Tcp),
        Object::UdpRoute(r) => ctx.l4(&r.spec.rules, Caller::Udp),
        _ => RuleOutcome::default(),
    };
    route_parents(snapshot, opts, view, gateways, cache, build)
}

/// Attaches one route to each Gateway its parentRefs name, building its rules once.
fn route_parents(
    snapshot: &Snapshot,
    opts: &Options,
    view: RouteView<'_>,
    gateways: &impl Parents,
    cache: &mut RouteCache,
    build: impl FnOnce(&mut RuleCtx<'_>) -> RuleOutcome,
) -> RouteResult {
    let cb = ConditionBuilder {
        generation: view.meta.generation,
        time: &opts.time,
    };
    let route_ns = view.meta.ns();
    let mut out = RouteResult::default();
    let mut build = Some(build);
    let kind = view.key.kind;
    let uses_hostnames = matches!(kind, Kind::HttpRoute | Kind::GrpcRoute | Kind::TlsRoute);
    for parent in view.parent_refs {
        if parent.group() != GATEWAY_GROUP {
            continue;
        }
        let (gw_ns, gw_name) = match parent.kind() {
            "Gateway" => (parent.ns(route_ns), parent.name.as_str()),
            "ListenerSet" => {
                out.refs.push(ObjectKey::new(
                    Kind::ListenerSet,
                    parent.ns(route_ns),
                    &parent.name,
                ));
                match snapshot.listener_set(parent.ns(route_ns), &parent.name) {
                    Some(ls) => (
                        ls.spec
                            .parent_ref
                            .namespace
                            .as_deref()
                            .unwrap_or(ls.metadata.ns()),
                        ls.spec.parent_ref.name.as_str(),
                    ),
                    None => continue,
                }
            }
            _ => continue,
        };
        // A Gateway of ours lends its key (shared names); only a stranger's is built.
        let Some((gw_key, listeners)) = gateways.listeners(gw_ns, gw_name) else {
            out.refs.push(ObjectKey::new(Kind::Gateway, gw_ns, gw_name));
            continue;
        };
        let gw_key = gw_key.clone();
        out.refs.push(gw_key.clone());
        // The rules depend on the route and its backends only: built once, shared by every parent.
        let outcome = match &out.outcome {
            Some(o) => o.clone(),
            None => {
                let o = match cache.get(view.key) {
                    Some(o) => o,
                    None => {
                        let mut ctx = RuleCtx {
                            snapshot,
                            route: view,
                            clusters: RouteClusters::default(),
                            deps: cache.keeps().then(BTreeSet::new),
                        };
                        // Invariant: `build` is taken once, when the outcome is first needed.
                        let mut o = build.take().map(|b| b(&mut ctx)).unwrap_or_default();
                        o.clusters = ctx.clusters;
                        o.deps = ctx.deps.into_iter().flatten().collect();
                        cache.insert(view.key, o)
                    }
                };
                out.outcome = Some(o.clone());
                o
            }
        };
        if let Some(why) = &outcome.rejected {
            out.parents.push((
                gw_key,
                RouteParentStatus {
                    parent_ref: parent.clone(),
                    controller_name: opts.controller_name.clone(),
                    conditions: vec![cb.make(
                        types::ACCEPTED,
                        false,
                        routes::INVALID_RULE,
                        why.clone(),
                    )],
                },
            ));
            continue;
        }
        let attachment = routes::attach(snapshot, view, parent, listeners, uses_hostnames);
        let mut part = ParentPart {
            gateway: gw_key.clone(),
            attached: PerParent::new(),
            placed: PerParent::new(),
        };
        let mut accepted = attachment.accepted;
        let mut partially_invalid = None;
        if accepted.0 {
            // No rule can be served: not Accepted; only some: PartiallyInvalid (as Envoy Gateway).
            if let Some(u) = &outcome.unsupported {
                if outcome.invalid_rules >= outcome.rules {
                    accepted = (false, reasons::UNSUPPORTED_VALUE, u.clone().into());
                } else {
                    partially_invalid = Some(u.clone());
                }
            }
            for (li, hosts) in attachment.listeners {
                part.attached.push(li);
                if listeners[li].ready {
                    part.placed.push((li, isolated(&listeners[li], hosts)));
                }
            }
        }
        out.parts.push(part);
        let mut ps = routes::parent_status(
            parent,
            &opts.controller_name,
            &cb,
            accepted,
            outcome.backend_error.as_ref().map_or(Ok(()), Err),
        );
        if let Some(cluster) = outcome.without_endpoints(snapshot) {
            ps.conditions.push(cb.make(
                routes::BACKENDS_AVAILABLE,
                false,
                routes::ENDPOINTS_NOT_FOUND,
                format!("Backend {cluster} has no ready endpoints"),
            ));
        }
        if let Some(u) = partially_invalid {
            ps.conditions.push(cb.make(
                types::PARTIALLY_INVALID,
                true,
                reasons::UNSUPPORTED_VALUE,
                u,
            ));
        }
        out.parents.push((gw_key, ps));
    }
    out
}

/// The status of a GatewayClass we own, as a status document.
pub(crate) fn class_status(class: &GatewayClass, time: &Arc<str>) -> StatusObject {
    StatusObject::new(
        &ObjectKey::new(Kind::GatewayClass, "", &class.metadata.name),
        crate::status::StatusBody::GatewayClass(gateways::class_status(class, time)),
    )
}
