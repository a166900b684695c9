//! The translation: a pure function from a [`Snapshot`] to per-Gateway IR and Gateway API status.
//!
//! Steps, in order: GatewayClasses ([`Options::controller_name`]), Gateway listeners
//! ([`listeners`]), route attachment and rules ([`routes`]), then assembly of each port.

pub mod backends;
pub mod cache;
pub mod certs;
pub mod conflicts;
pub mod duration;
pub mod filters;
pub mod gateways;
pub mod hostnames;
pub mod ir;
pub mod listeners;
pub mod listenersets;
pub mod overlap;
pub mod policy;
pub mod refgrant;
pub mod routes;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::model::*;
use crate::snapshot::Snapshot;
use crate::status::conditions::{reasons, types, ConditionBuilder};
use crate::status::{StatusBody, StatusObject};
use backends::Caller;
use cache::RouteCache;
use ir::*;
use listeners::{ListenerCtx, Protocol};
use routes::{RouteView, RuleCtx};

/// The controller name Envoy Gateway uses, so existing manifests work unchanged.
pub const DEFAULT_CONTROLLER_NAME: &str = "gateway.envoyproxy.io/gatewayclass-controller";

/// Inputs of a translation besides the objects.
#[derive(Debug, Clone)]
pub struct Options {
    /// GatewayClasses with this `controllerName` are ours.
    pub controller_name: String,
    /// `lastTransitionTime` of every condition (the core reads no clock).
    pub time: String,
    /// The address Gateways are reachable at, reported in their status.
    pub address: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            controller_name: DEFAULT_CONTROLLER_NAME.to_string(),
            time: "1970-01-01T00:00:00Z".to_string(),
            address: None,
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

struct GatewayState<'a> {
    gateway: &'a Gateway,
    key: ObjectKey,
    /// The Gateway's own listeners, then its ListenerSets'.
    listeners: Vec<ListenerCtx>,
    /// Gateway-level problems and ListenerSets.
    info: gateways::GatewayInfo<'a>,
    ir: GatewayIr,
    /// Routes placed per listener index: (hostnames, routes).
    http: Vec<Vec<(Vec<String>, RouteIr)>>,
    /// L4 forwards per listener index: (route key, hostnames, clusters).
    forwards: Vec<Vec<(ObjectKey, Vec<String>, Vec<(String, u32)>)>>,
}

/// Translates a snapshot. Deterministic: the same objects in any order give the same result.
pub fn translate(snapshot: &Snapshot, opts: &Options) -> Translation {
    translate_cached(snapshot, opts, &mut RouteCache::new())
}

/// Translates reusing (and filling) a cache of route outcomes; the result is identical to
/// [`translate`] as long as the cache was invalidated for every changed object (see [`crate::engine`]).
pub fn translate_cached(
    snapshot: &Snapshot,
    opts: &Options,
    cache: &mut RouteCache,
) -> Translation {
    let mut out = Translation::default();
    let mut status: BTreeMap<ObjectKey, StatusBody> = BTreeMap::new();

    // GatewayClasses.
    let mut accepted_classes = std::collections::BTreeSet::new();
    for class in snapshot.gateway_classes() {
        if class.spec.controller_name != opts.controller_name {
            continue;
        }
        accepted_classes.insert(class.metadata.name.clone());
        status.insert(
            ObjectKey::new(Kind::GatewayClass, "", &class.metadata.name),
            StatusBody::GatewayClass(gateways::class_status(class, &opts.time)),
        );
    }

    // Gateways and their listeners.
    let mut gateways: BTreeMap<ObjectKey, GatewayState<'_>> = BTreeMap::new();
    for gw in snapshot.gateways() {
        if !accepted_classes.contains(&gw.spec.gateway_class_name) {
            continue;
        }
        let key = ObjectKey::new(Kind::Gateway, gw.metadata.ns(), &gw.metadata.name);
        let mut ir = GatewayIr {
            gateway: Some(key.clone()),
            ..Default::default()
        };
        let (ls, info) = gateways::listeners(snapshot, gw, &key, &opts.time, &mut ir.secrets);
        let n = ls.len();
        gateways.insert(
            key.clone(),
            GatewayState {
                gateway: gw,
                key,
                listeners: ls,
                info,
                ir,
                http: vec![Vec::new(); n],
                forwards: vec![Vec::new(); n],
            },
        );
    }

    // Routes of every kind.
    for r in snapshot.http_routes() {
        let key = ObjectKey::new(Kind::HttpRoute, r.metadata.ns(), &r.metadata.name);
        let view = RouteView {
            key: &key,
            meta: &r.metadata,
            parent_refs: r.spec.parent_refs.as_deref().unwrap_or_default(),
            hostnames: r.spec.hostnames.as_deref().unwrap_or_default(),
        };
        let st = route_parents(
            snapshot,
            opts,
            view,
            &mut gateways,
            &mut out.diagnostics,
            cache,
            |ctx| ctx.http(&r.spec),
        );
        if !st.parents.is_empty() {
            status.insert(key, StatusBody::Route(st));
        }
    }
    for r in snapshot.grpc_routes() {
        let key = ObjectKey::new(Kind::GrpcRoute, r.metadata.ns(), &r.metadata.name);
        let view = RouteView {
            key: &key,
            meta: &r.metadata,
            parent_refs: r.spec.parent_refs.as_deref().unwrap_or_default(),
            hostnames: r.spec.hostnames.as_deref().unwrap_or_default(),
        };
        let st = route_parents(
            snapshot,
            opts,
            view,
            &mut gateways,
            &mut out.diagnostics,
            cache,
            |ctx| ctx.grpc(&r.spec),
        );
        if !st.parents.is_empty() {
            status.insert(key, StatusBody::Route(st));
        }
    }
    for r in snapshot.tls_routes() {
        let key = ObjectKey::new(Kind::TlsRoute, r.metadata.ns(), &r.metadata.name);
        let view = RouteView {
            key: &key,
            meta: &r.metadata,
            parent_refs: r.spec.parent_refs.as_deref().unwrap_or_default(),
            hostnames: &r.spec.hostnames,
        };
        let st = route_parents(
            snapshot,
            opts,
            view,
            &mut gateways,
            &mut out.diagnostics,
            cache,
            |ctx| ctx.l4(&r.spec.rules, Caller::Tcp),
        );
        if !st.parents.is_empty() {
            status.insert(key, StatusBody::Route(st));
        }
    }
    for (kind, list, caller) in [
        (
            Kind::TcpRoute,
            snapshot
                .tcp_routes()
                .map(|r| (&r.metadata, &r.spec))
                .collect::<Vec<_>>(),
            Caller::Tcp,
        ),
        (
            Kind::UdpRoute,
            snapshot
                .udp_routes()
                .map(|r| (&r.metadata, &r.spec))
                .collect(),
            Caller::Udp,
        ),
    ] {
        for (meta, spec) in list {
            let key = ObjectKey::new(kind, meta.ns(), &meta.name);
            let view = RouteView {
                key: &key,
                meta,
                parent_refs: spec.parent_refs.as_deref().unwrap_or_default(),
                hostnames: &[],
            };
            let st = route_parents(
                snapshot,
                opts,
                view,
                &mut gateways,
                &mut out.diagnostics,
                cache,
                |ctx| ctx.l4(&spec.rules, caller),
            );
            if !st.parents.is_empty() {
                status.insert(key, StatusBody::Route(st));
            }
        }
    }

    // BackendTLSPolicies, for the Gateways their Services are reached through.
    let ours: BTreeSet<ObjectKey> = gateways.keys().cloned().collect();
    status.extend(policy::statuses(
        snapshot,
        &ours,
        &opts.controller_name,
        &opts.time,
    ));

    // Assemble each Gateway's ports, and its status.
    for (key, mut g) in gateways {
        let overlapping = overlap::overlapping_routes(&g.http);
        overlap::mark(snapshot, &mut status, &overlapping, &key);
        assemble(&mut g);
        let addresses = opts
            .address
            .iter()
            .map(|a| GatewayStatusAddress {
                type_: Some("IPAddress".into()),
                value: a.clone(),
            })
            .collect();
        for (k, st) in gateways::status(
            g.gateway,
            &key,
            &g.listeners,
            &g.info,
            addresses,
            &opts.time,
        ) {
            status.insert(k, st);
        }
        out.gateways
            .insert(format!("{}/{}", key.namespace, key.name), g.ir);
    }

    out.status = status
        .into_iter()
        .map(|(k, s)| StatusObject::new(&k, s))
        .collect();
    out.diagnostics.sort();
    out.diagnostics.dedup();
    out
}

/// Attaches one route to each Gateway its parentRefs name, building its rules once per Gateway.
#[allow(clippy::too_many_arguments)]
fn route_parents<'a>(
    snapshot: &Snapshot,
    opts: &Options,
    view: RouteView<'_>,
    gateways: &mut BTreeMap<ObjectKey, GatewayState<'a>>,
    diagnostics: &mut Vec<Diagnostic>,
    cache: &mut RouteCache,
    mut build: impl FnMut(&mut RuleCtx<'_>) -> routes::RuleOutcome,
) -> RouteStatus {
    let cb = ConditionBuilder {
        generation: view.meta.generation,
        time: &opts.time,
    };
    let route_ns = view.meta.ns();
    let mut st = RouteStatus::default();
    let mut outcome: Option<Arc<routes::RuleOutcome>> = None;
    let kind = view.key.kind;
    let uses_hostnames = matches!(kind, Kind::HttpRoute | Kind::GrpcRoute | Kind::TlsRoute);
    for parent in view.parent_refs {
        if parent.group() != GATEWAY_GROUP {
            continue;
        }
        let gw_key = match parent.kind() {
            "Gateway" => ObjectKey::new(Kind::Gateway, parent.ns(route_ns), &parent.name),
            "ListenerSet" => match snapshot.listener_set(parent.ns(route_ns), &parent.name) {
                Some(ls) => ObjectKey::new(
                    Kind::Gateway,
                    ls.spec
                        .parent_ref
                        .namespace
                        .as_deref()
                        .unwrap_or(ls.metadata.ns()),
                    &ls.spec.parent_ref.name,
                ),
                None => continue,
            },
            _ => continue,
        };
        let Some(g) = gateways.get_mut(&gw_key) else {
            continue;
        };
        // The rules depend on the route and its backends only: built once, shared by every parent.
        let outcome = outcome
            .get_or_insert_with(|| match cache.get(view.key) {
                Some(o) => o,
                None => {
                    let mut ctx = RuleCtx {
                        snapshot,
                        route: view,
                        clusters: BTreeMap::new(),
                        deps: BTreeSet::new(),
                    };
                    let mut o = build(&mut ctx);
                    o.clusters = ctx.clusters;
                    o.deps = ctx.deps;
                    cache.insert(view.key.clone(), o)
                }
            })
            .clone();
        if let Some(why) = &outcome.rejected {
            st.parents.push(RouteParentStatus {
                parent_ref: parent.clone(),
                controller_name: opts.controller_name.clone(),
                conditions: vec![cb.make(
                    types::ACCEPTED,
                    false,
                    routes::INVALID_RULE,
                    why.clone(),
                )],
            });
            continue;
        }
        let attachment = routes::attach(snapshot, view, parent, &mut g.listeners, uses_hostnames);
        for (name, c) in &outcome.clusters {
            g.ir.clusters
                .entry(name.clone())
                .or_insert_with(|| c.clone());
        }
        let mut accepted = attachment.accepted.clone();
        let mut partially_invalid = None;
        if accepted.0 {
            // No rule can be served: not Accepted; only some: PartiallyInvalid (as Envoy Gateway).
            if let Some(u) = &outcome.unsupported {
                if outcome.invalid_rules >= outcome.rules {
                    accepted = (false, reasons::UNSUPPORTED_VALUE, u.clone());
                } else {
                    partially_invalid = Some(u.clone());
                }
            }
            for (li, hosts) in &attachment.listeners {
                if !g.listeners[*li].ready {
                    continue;
                }
                if matches!(kind, Kind::HttpRoute | Kind::GrpcRoute) {
                    for r in &outcome.routes {
                        g.http[*li].push((hosts.clone(), r.clone()));
                    }
                } else {
                    g.forwards[*li].push((
                        view.key.clone(),
                        hosts.clone(),
                        outcome.forward.clone(),
                    ));
                }
            }
        }
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
        st.parents.push(ps);
    }
    if let Some(o) = &outcome {
        diagnostics.extend(o.warnings.iter().cloned());
    }
    st
}

/// Turns the per-listener placements of a Gateway into ports, route tables and chains.
fn assemble(g: &mut GatewayState<'_>) {
    let gw = format!("{}/{}", g.key.namespace, g.key.name);
    for (li, l) in g.listeners.iter().enumerate() {
        let (Some(protocol), true) = (l.protocol, l.ready) else {
            continue;
        };
        let Ok(port) = u16::try_from(l.port) else {
            continue;
        };
        let udp = protocol == Protocol::Udp;
        let entry = g.ir.ports.entry((port, udp)).or_insert_with(|| PortIr {
            port,
            udp,
            http: None,
            tls_chains: Vec::new(),
            forward: None,
        });
        let table = |name: String, placed: &[(Vec<String>, RouteIr)]| {
            let mut t = RouteTableIr {
                name,
                vhosts: BTreeMap::new(),
            };
            for (hosts, r) in placed {
                for h in hosts {
                    t.vhosts.entry(h.clone()).or_default().push(r.clone());
                }
            }
            t
        };
        match protocol {
            Protocol::Http => {
                let t = entry.http.get_or_insert_with(|| RouteTableIr {
                    name: format!("{gw}/{port}"),
                    vhosts: BTreeMap::new(),
                });
                for (h, v) in table(String::new(), &g.http[li]).vhosts {
                    t.vhosts.entry(h).or_default().extend(v);
                }
            }
            Protocol::Https => entry.tls_chains.push(TlsChainIr {
                name: format!("{gw}/{}", l.name),
                server_names: l.hostname.iter().cloned().collect(),
                secrets: l.secrets.clone(),
                action: TlsChainAction::Http(table(format!("{gw}/{}", l.name), &g.http[li])),
            }),
            Protocol::Tls => {
                for (route, hosts, clusters) in &g.forwards[li] {
                    let server_names = if hosts == &["*".to_string()] {
                        l.hostname.iter().cloned().collect()
                    } else {
                        hosts.clone()
                    };
                    entry.tls_chains.push(TlsChainIr {
                        name: format!("{gw}/{}/{}/{}", l.name, route.namespace, route.name),
                        server_names,
                        secrets: if l.passthrough {
                            Vec::new()
                        } else {
                            l.secrets.clone()
                        },
                        action: TlsChainAction::Forward(ForwardIr {
                            name: format!("{}/{}", route.namespace, route.name),
                            clusters: clusters.clone(),
                        }),
                    });
                }
            }
            Protocol::Tcp | Protocol::Udp => {
                // One forward per port: the first route (in key order) wins, as in Envoy Gateway.
                if let Some((route, _, clusters)) = g.forwards[li].first() {
                    entry.forward.get_or_insert(ForwardIr {
                        name: format!("{}/{}", route.namespace, route.name),
                        clusters: clusters.clone(),
                    });
                }
            }
        }
    }
    for p in g.ir.ports.values_mut() {
        if let Some(t) = &mut p.http {
            sort_table(t);
        }
        for c in &mut p.tls_chains {
            if let TlsChainAction::Http(t) = &mut c.action {
                sort_table(t);
            }
        }
        p.tls_chains.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

fn sort_table(t: &mut RouteTableIr) {
    for routes in t.vhosts.values_mut() {
        routes.sort_by(|a, b| a.rank.cmp(&b.rank));
        routes.dedup_by(|a, b| a.name == b.name);
    }
}
