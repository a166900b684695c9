//! Routes: attachment to listeners (parentRefs, allowedRoutes, hostnames) and rules into the IR.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::sync::Arc;

use smallvec::SmallVec;

use super::backends::{self, BackendError, Caller};
use super::cache::Dep;
use super::duration::parse_ms;
use super::filters;
use super::hostnames;
use super::ir::*;
use super::listeners::ListenerCtx;
use super::names::{fnv1a, rule_id, RuleId};
use crate::diagnostic::Diagnostic;
use crate::model::*;
use crate::snapshot::Snapshot;
use crate::status::conditions::{reasons, types, ConditionBuilder};

/// A route of any kind, seen through what attachment needs.
#[derive(Debug, Clone, Copy)]
pub struct RouteView<'a> {
    /// Its key.
    pub key: &'a ObjectKey,
    /// Its metadata.
    pub meta: &'a ObjectMeta,
    /// Its parentRefs.
    pub parent_refs: &'a [Arc<ParentReference>],
    /// Its hostnames (empty for TCP/UDP).
    pub hostnames: &'a [String],
}

/// The result of attaching one parentRef to one Gateway.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// Indexes of the listeners attached to, with the hostnames served on each.
    pub listeners: super::PerParent<(usize, hostnames::Hosts)>,
    /// The Accepted condition's (status, reason, message).
    pub accepted: (bool, &'static str, Cow<'static, str>),
}

/// Attaches a route to the listeners a parentRef selects (each of them counts it in
/// `attachedRoutes` when the attachment is accepted).
pub fn attach(
    snapshot: &Snapshot,
    route: RouteView<'_>,
    parent: &ParentReference,
    listeners: &[ListenerCtx],
    uses_hostnames: bool,
) -> Attachment {
    let kind = route.key.kind.as_str();
    let route_ns = route.meta.ns();
    // One pass; the refusals keep their order: no listener selected, none allowing the
    // route, none sharing a hostname with it.
    let (mut selected, mut allowed) = (false, false);
    let mut attached = super::PerParent::new();
    let to_set = parent.kind() == "ListenerSet";
    let section = parent.section_name.as_deref();
    for (i, l) in listeners.iter().enumerate() {
        // A Gateway parent means its own listeners; a ListenerSet parent, that set's.
        let by_parent = if to_set {
            l.owner.kind == Kind::ListenerSet
                && *l.owner.name == *parent.name
                && &*l.owner.namespace == parent.ns(route_ns)
        } else {
            l.owner.kind == Kind::Gateway
        };
        if !(by_parent
            && section.is_none_or(|s| s == l.name)
            && parent.port.is_none_or(|p| p == l.port))
        {
            continue;
        }
        selected = true;
        if !(l.allows_kind(kind) && l.allows_namespace(snapshot, route_ns)) {
            continue;
        }
        allowed = true;
        let hosts = if uses_hostnames {
            hostnames::intersect(l.hostname.as_deref(), route.hostnames)
        } else {
            smallvec::smallvec!["*".to_string()]
        };
        if !hosts.is_empty() {
            attached.push((i, hosts));
        }
    }
    if !selected {
        let what = match (&parent.section_name, parent.port) {
            (Some(s), Some(p)) => format!("listener {s} on port {p}"),
            (Some(s), None) => format!("listener {s}"),
            (None, Some(p)) => format!("port {p}"),
            (None, None) => "listeners".to_string(),
        };
        return Attachment {
            listeners: super::PerParent::new(),
            accepted: (
                false,
                reasons::NO_MATCHING_PARENT,
                format!("No {what} found on the parent").into(),
            ),
        };
    }
    if !allowed {
        return Attachment {
            listeners: super::PerParent::new(),
            accepted: (
                false,
                reasons::NOT_ALLOWED_BY_LISTENERS,
                format!("No listener allows {kind} routes from namespace {route_ns}").into(),
            ),
        };
    }
    if attached.is_empty() {
        return Attachment {
            listeners: super::PerParent::new(),
            accepted: (
                false,
                reasons::NO_MATCHING_LISTENER_HOSTNAME,
                "There were no hostnames that intersect between the route and the listeners".into(),
            ),
        };
    }
    Attachment {
        listeners: attached,
        accepted: (true, reasons::ACCEPTED, "Route is accepted".into()),
    }
}

/// Envoy Gateway's Accepted reason for a route it refuses as a whole (several TCP rules).
pub const INVALID_RULE: &str = "InvalidRule";

/// Envoy Gateway's condition type saying whether a route's backends have endpoints.
pub const BACKENDS_AVAILABLE: &str = "BackendsAvailable";
/// Envoy Gateway's `BackendsAvailable` reason for a backend without ready endpoints.
pub const ENDPOINTS_NOT_FOUND: &str = "EndpointsNotFound";

/// Envoy Gateway's ResolvedRefs reason for a backendRef field it cannot program.
pub const UNSUPPORTED_REF_VALUE: &str = "UnsupportedRefValue";

/// What building a route's rules produced, for its status.
#[derive(Debug, Default)]
pub struct RuleOutcome {
    /// IR routes (not yet placed in virtual hosts); most rules have one match, and most
    /// routes one rule.
    pub routes: SmallVec<[Arc<RouteIr>; 1]>,
    /// The first backend problem, for ResolvedRefs.
    pub backend_error: Option<BackendError>,
    /// The first problem of a rule that cannot be served (unsupported filter, bad regex).
    pub unsupported: Option<String>,
    /// Number of rules.
    pub rules: usize,
    /// Why the route is refused outright, before attaching to any listener.
    pub rejected: Option<String>,
    /// Number of rules that cannot be served: all of them make the route not Accepted,
    /// some of them make it `PartiallyInvalid`.
    pub invalid_rules: usize,
    /// Warnings about ignored fields.
    pub warnings: Vec<Diagnostic>,
    /// TCP/UDP/TLS forward targets.
    pub forward: Vec<(ClusterName, u32)>,
    /// The route's `creationTimestamp` (RFC 3339): of several TCP or UDP routes on one listener,
    /// the oldest gets the port.
    pub created: String,
    /// Clusters the routes and forwards refer to.
    pub clusters: RouteClusters,
    /// Objects the outcome was computed from, sorted, without repeats.
    pub deps: Vec<Dep>,
}

impl RuleOutcome {
    /// A backend Service the route sends to whose EndpointSlices hold no ready endpoint at all.
    pub fn without_endpoints(&self, snapshot: &Snapshot) -> Option<&str> {
        self.clusters
            .values()
            .find(|c| {
                c.endpoints.is_empty() && !backends::has_ready_endpoints(snapshot, &c.service)
            })
            .map(|c| &*c.name)
    }

    fn backend_failed(&mut self, e: BackendError) {
        if self.backend_error.is_none() {
            self.backend_error = Some(e);
        }
    }

    /// Records a rule that cannot be served.
    fn rule_invalid(&mut self, problem: String) {
        self.invalid_rules += 1;
        self.unsupported.get_or_insert(problem);
    }
}

fn header_mods(f: Option<&HttpHeaderFilter>, into: &mut HeaderModsIr) {
    let Some(f) = f else { return };
    into.set.extend(
        f.set
            .iter()
            .flatten()
            .map(|h| (h.name.clone(), h.value.clone())),
    );
    into.add.extend(
        f.add
            .iter()
            .flatten()
            .map(|h| (h.name.clone(), h.value.clone())),
    );
    into.remove.extend(f.remove.iter().flatten().cloned());
}

/// What the filters of an HTTPRoute backendRef (checked by
/// [`filters::check_backend_filters`]) do; None without filters.
fn http_backend_filters(list: &[HttpRouteFilter]) -> Option<Box<BackendFiltersIr>> {
    if list.is_empty() {
        return None;
    }
    let mut out = BackendFiltersIr::default();
    for f in list {
        match f.type_.as_str() {
            "RequestHeaderModifier" => {
                header_mods(f.request_header_modifier.as_ref(), &mut out.request_headers)
            }
            "ResponseHeaderModifier" => header_mods(
                f.response_header_modifier.as_ref(),
                &mut out.response_headers,
            ),
            "URLRewrite" => {
                if let Some(h) = f.url_rewrite.as_ref().and_then(|r| r.hostname.as_ref()) {
                    out.hostname = Some(h.clone());
                }
            }
            _ => {}
        }
    }
    Some(Box::new(out))
}

/// What the filters of a GRPCRoute backendRef (checked by
/// [`filters::check_grpc_backend_filters`]) do; None without filters.
fn grpc_backend_filters(list: &[GrpcRouteFilter]) -> Option<Box<BackendFiltersIr>> {
    if list.is_empty() {
        return None;
    }
    let mut out = BackendFiltersIr::default();
    for f in list {
        match f.type_.as_str() {
            "RequestHeaderModifier" => {
                header_mods(f.request_header_modifier.as_ref(), &mut out.request_headers)
            }
            "ResponseHeaderModifier" => header_mods(
                f.response_header_modifier.as_ref(),
                &mut out.response_headers,
            ),
            _ => {}
        }
    }
    Some(Box::new(out))
}

fn mirror_percent(m: &HttpRequestMirrorFilter) -> u32 {
    // Millionths, Envoy's finest fraction.
    if let Some(p) = m.percent {
        return (p.clamp(0, 100) as u32) * 10_000;
    }
    if let Some(f) = &m.fraction {
        let d = f.denominator.unwrap_or(100).max(1) as u64;
        let n = f.numerator.max(0) as u64;
        return (n.min(d) * 1_000_000 / d) as u32;
    }
    1_000_000
}

fn path_modifier(p: &HttpPathModifier) -> (Option<String>, Option<String>) {
    match p.type_.as_str() {
        "ReplaceFullPath" => (p.replace_full_path.clone(), None),
        "ReplacePrefixMatch" => (None, p.replace_prefix_match.clone()),
        _ => (None, None),
    }
}

/// What every match of one rule does: the part of an IR route its rule decides.
#[derive(Clone)]
struct RuleBehaviour {
    action: ActionIr,
    extras: Option<Arc<RouteExtrasIr>>,
}

/// Common context for building one route's rules for one Gateway.
pub struct RuleCtx<'a> {
    /// All objects.
    pub snapshot: &'a Snapshot,
    /// The route.
    pub route: RouteView<'a>,
    /// Clusters the route's backends resolved to.
    pub clusters: RouteClusters,
    /// Objects read while building, for the incremental cache; None when nothing is cached.
    pub deps: Option<BTreeSet<Dep>>,
}

impl RuleCtx<'_> {
    fn resolve(
        &mut self,
        bref: &BackendObjectReference,
        caller: Caller,
    ) -> Result<ClusterName, BackendError> {
        backends::resolve(
            self.snapshot,
            self.route.key.kind.as_str(),
            self.route.meta.ns(),
            bref,
            caller,
            &mut self.clusters,
            self.deps.as_mut(),
        )
    }

    fn rank(&self, m: &MatchIr, rule: usize, index: usize) -> RankKey {
        let (path_kind, len) = match &m.path {
            PathMatchIr::Exact(p) => (0, p.len()),
            PathMatchIr::Regex(p) => (1, p.len()),
            PathMatchIr::Prefix(p) => (2, p.len()),
        };
        RankKey {
            path_kind,
            path_len: Reverse(len),
            no_method: m.method.is_none(),
            headers: Reverse(m.headers.len()),
            queries: Reverse(m.queries.len()),
            created: self
                .route
                .meta
                .creation_timestamp
                .as_deref()
                .map(|t| Created::from_slice(t.as_bytes()))
                .unwrap_or_default(),
            position: (rule, index),
        }
    }

    /// Adds one IR route per match of rule `ri` (`matchers` with their indexes). Every route
    /// does what the rule does: all but the last copy `behaviour`, the last takes it.
    fn push_routes(
        &self,
        out: &mut RuleOutcome,
        kind: &str,
        id: &RuleId<'_>,
        ri: usize,
        matchers: impl Iterator<Item = (usize, MatchIr)>,
        behaviour: RuleBehaviour,
    ) {
        let mut matchers = matchers.peekable();
        let mut behaviour = Some(behaviour);
        while let Some((mi, matcher)) = matchers.next() {
            let shared = match matchers.peek() {
                Some(_) => behaviour.clone(),
                None => behaviour.take(),
            };
            // Taken only at the last match, after which the loop ends.
            let Some(b) = shared else { break };
            let rank = self.rank(&matcher, ri, mi);
            out.routes.push(Arc::new(RouteIr {
                name: super::names::route(
                    kind,
                    &self.route.key.namespace,
                    &self.route.key.name,
                    id,
                    mi,
                ),
                source: self.route.key.clone(),
                matcher,
                action: b.action,
                extras: b.extras,
                rank,
            }));
        }
    }

    /// Builds the IR routes of an HTTPRoute.
    pub fn http(&mut self, spec: &HttpRouteSpec) -> RuleOutcome {
        let rules = spec.rules.as_deref().unwrap_or_default();
        let mut out = RuleOutcome {
            // One IR route per match: sized once.
            routes: SmallVec::with_capacity(
                rules
                    .iter()
                    .map(|r| r.matches.as_ref().map_or(0, Vec::len))
                    .sum(),
            ),
            ..Default::default()
        };
        for (ri, rule) in rules.iter().enumerate() {
            let id = rule_id(rule.name.as_deref(), rule.matches.as_deref(), ri);
            let mut request_headers = HeaderModsIr::default();
            let mut response_headers = HeaderModsIr::default();
            let mut mirrors = Vec::new();
            let mut cors = None;
            let mut redirect = None;
            let mut rewrite: Option<Box<RewriteIr>> = None;
            let unsupported = filters::check_http_rule(rule)
                .err()
                .map(|e| format!("rule {id}: {e}"));
            for f in rule.filters.iter().flatten() {
                match f.type_.as_str() {
                    "RequestHeaderModifier" => {
                        header_mods(f.request_header_modifier.as_ref(), &mut request_headers)
                    }
                    "ResponseHeaderModifier" => {
                        header_mods(f.response_header_modifier.as_ref(), &mut response_headers)
                    }
                    "RequestMirror" => {
                        if let Some(m) = &f.request_mirror {
                            match self.resolve(&m.backend_ref, Caller::Http) {
                                Ok(c) => mirrors.push((c, mirror_percent(m))),
                                Err(e) => out.backend_failed(e),
                            }
                        }
                    }
                    "RequestRedirect" => {
                        if let Some(r) = &f.request_redirect {
                            let (full_path, prefix) =
                                r.path.as_ref().map(path_modifier).unwrap_or_default();
                            redirect = Some(Box::new(RedirectIr {
                                scheme: r.scheme.clone(),
                                hostname: r.hostname.clone(),
                                port: r.port.map(|p| p as u32),
                                full_path,
                                prefix,
                                status: r.status_code.unwrap_or(302) as u32,
                            }));
                        }
                    }
                    "URLRewrite" => {
                        if let Some(r) = &f.url_rewrite {
                            let (full_path, prefix) =
                                r.path.as_ref().map(path_modifier).unwrap_or_default();
                            rewrite = Some(Box::new(RewriteIr {
                                hostname: r.hostname.clone(),
                                full_path,
                                prefix,
                            }));
                        }
                    }
                    "CORS" => cors = f.cors.clone(),
                    _ => {}
                }
            }
            // Backends: weighted clusters; unresolvable ones keep their weight as HTTP 500.
            let mut clusters =
                SmallVec::with_capacity(rule.backend_refs.as_ref().map_or(0, Vec::len));
            let mut invalid_weight = 0u32;
            for b in rule.backend_refs.iter().flatten() {
                let w = b.weight.unwrap_or(1).max(0) as u32;
                let backend_filters = b.filters.as_deref().unwrap_or_default();
                if let Err(e) = filters::check_backend_filters(backend_filters) {
                    invalid_weight += w;
                    out.backend_failed(BackendError {
                        reason: UNSUPPORTED_REF_VALUE,
                        message: e,
                    });
                    continue;
                }
                match self.resolve(&b.backend, Caller::Http) {
                    Ok(c) => {
                        if w > 0 {
                            clusters.push(WeightedClusterIr {
                                cluster: c,
                                weight: w,
                                filters: http_backend_filters(backend_filters),
                            });
                        }
                    }
                    Err(e) => {
                        invalid_weight += w;
                        out.backend_failed(e);
                    }
                }
            }
            let timeouts = rule.timeouts.as_deref();
            let timeout_ms = timeouts
                .and_then(|t| t.request.as_deref())
                .and_then(parse_ms);
            let per_try_timeout_ms = timeouts
                .and_then(|t| t.backend_request.as_deref())
                .and_then(parse_ms);
            let retry = rule.retry.as_deref().map(|r| RetryIr {
                codes: r.codes.iter().flatten().map(|c| *c as u32).collect(),
                attempts: r.attempts.unwrap_or(1).max(0) as u32,
                backoff_ms: r.backoff.as_deref().and_then(parse_ms),
            });
            let session = session_ir(rule.session_persistence.as_deref(), self.route.key);
            if unsupported.is_some() {
                // A rule that cannot be served answers 500 and programs none of its filters.
                request_headers = HeaderModsIr::default();
                response_headers = HeaderModsIr::default();
                mirrors.clear();
                cors = None;
            }
            let action = if unsupported.is_some() {
                ActionIr::Direct(500)
            } else if let Some(r) = redirect {
                ActionIr::Redirect(r)
            } else if clusters.is_empty() {
                ActionIr::Direct(500)
            } else {
                ActionIr::Forward {
                    clusters,
                    invalid_weight,
                    rewrite,
                }
            };
            let matchers: SmallVec<[_; 1]> =
                rule.matches.iter().flatten().map(http_match).collect();
            let bad_match = matchers.iter().find_map(|m| m.as_ref().err());
            out.rules += 1;
            if let Some(u) = unsupported.or(bad_match.map(|e| format!("rule {id}: {e}"))) {
                out.rule_invalid(u);
            }
            let matchers = matchers
                .into_iter()
                .enumerate()
                .filter_map(|(mi, m)| m.ok().map(|m| (mi, m)));
            let behaviour = RuleBehaviour {
                action,
                extras: RouteExtrasIr {
                    request_headers,
                    response_headers,
                    mirrors,
                    cors,
                    timeout_ms,
                    per_try_timeout_ms,
                    retry,
                    session,
                }
                .shared(),
            };
            self.push_routes(&mut out, "httproute", &id, ri, matchers, behaviour);
        }
        out
    }

    /// Builds the IR routes of a GRPCRoute (gRPC is HTTP/2 with `/service/method` paths).
    pub fn grpc(&mut self, spec: &GrpcRouteSpec) -> RuleOutcome {
        let mut out = RuleOutcome::default();
        let default_match = vec![GrpcRouteMatch::default()];
        let empty_rule = vec![GrpcRouteRule::default()];
        let rules = match spec.rules.as_deref() {
            Some(r) if !r.is_empty() => r,
            _ => &empty_rule,
        };
        for (ri, rule) in rules.iter().enumerate() {
            let session = session_ir(rule.session_persistence.as_deref(), self.route.key);
            let id = rule_id(rule.name.as_deref(), rule.matches.as_deref(), ri);
            let mut request_headers = HeaderModsIr::default();
            let mut response_headers = HeaderModsIr::default();
            let mut mirrors = Vec::new();
            let unsupported = filters::check_grpc_rule(rule)
                .err()
                .map(|e| format!("rule {id}: {e}"));
            for f in rule.filters.iter().flatten() {
                match f.type_.as_str() {
                    "RequestHeaderModifier" => {
                        header_mods(f.request_header_modifier.as_ref(), &mut request_headers)
                    }
                    "ResponseHeaderModifier" => {
                        header_mods(f.response_header_modifier.as_ref(), &mut response_headers)
                    }
                    "RequestMirror" => {
                        if let Some(m) = &f.request_mirror {
                            match self.resolve(&m.backend_ref, Caller::Grpc) {
                                Ok(c) => mirrors.push((c, mirror_percent(m))),
                                Err(e) => out.backend_failed(e),
                            }
                        }
                    }
                    _ => {}
                }
            }
            let mut clusters = SmallVec::new();
            let mut invalid_weight = 0;
            for b in rule.backend_refs.iter().flatten() {
                let w = b.weight.unwrap_or(1).max(0) as u32;
                let backend_filters = b.filters.as_deref().unwrap_or_default();
                if let Err(e) = filters::check_grpc_backend_filters(backend_filters) {
                    invalid_weight += w;
                    out.backend_failed(BackendError {
                        reason: UNSUPPORTED_REF_VALUE,
                        message: e,
                    });
                    continue;
                }
                match self.resolve(&b.backend, Caller::Grpc) {
                    Ok(c) => {
                        if w > 0 {
                            clusters.push(WeightedClusterIr {
                                cluster: c,
                                weight: w,
                                filters: grpc_backend_filters(backend_filters),
                            });
                        }
                    }
                    Err(e) => {
                        invalid_weight += w;
                        out.backend_failed(e);
                    }
                }
            }
            if unsupported.is_some() {
                request_headers = HeaderModsIr::default();
                response_headers = HeaderModsIr::default();
                mirrors.clear();
            }
            let action = if unsupported.is_some() || clusters.is_empty() {
                ActionIr::Direct(500)
            } else {
                ActionIr::Forward {
                    clusters,
                    invalid_weight,
                    rewrite: None,
                }
            };
            let matches = match rule.matches.as_deref() {
                Some(m) if !m.is_empty() => m,
                _ => &default_match,
            };
            let bad_match = matches.iter().find_map(|m| grpc_match(m).err());
            out.rules += 1;
            if let Some(u) = unsupported.or(bad_match.map(|e| format!("rule {id}: {e}"))) {
                out.rule_invalid(u);
            }
            let matchers = matches
                .iter()
                .enumerate()
                .filter_map(|(mi, m)| grpc_match(m).ok().map(|m| (mi, m)));
            let behaviour = RuleBehaviour {
                action,
                extras: RouteExtrasIr {
                    request_headers,
                    response_headers,
                    mirrors,
                    session,
                    ..Default::default()
                }
                .shared(),
            };
            self.push_routes(&mut out, "grpcroute", &id, ri, matchers, behaviour);
        }
        out
    }

    /// Resolves the weighted backends of a TLSRoute, TCPRoute or UDPRoute.
    pub fn l4(&mut self, rules: &[L4RouteRule], caller: Caller) -> RuleOutcome {
        let mut out = RuleOutcome {
            rules: rules.len(),
            created: self
                .route
                .meta
                .creation_timestamp
                .clone()
                .unwrap_or_default(),
            ..Default::default()
        };
        if rules.len() > 1 && matches!(self.route.key.kind, Kind::TcpRoute | Kind::UdpRoute) {
            // Envoy Gateway forwards a port to one rule's backends and refuses the route.
            out.rejected = Some(format!(
                "{} with {} rules: only one rule is supported",
                self.route.key.kind,
                rules.len()
            ));
            return out;
        }
        for b in rules.iter().flat_map(|r| r.backend_refs.iter()) {
            let w = b.weight.unwrap_or(1).max(0) as u32;
            match self.resolve(&b.backend, caller) {
                Ok(c) => {
                    if w > 0 {
                        out.forward.push((c, w));
                    }
                }
                Err(e) => out.backend_failed(e),
            }
        }
        out
    }
}

fn check_regex(r: &str) -> Result<(), String> {
    regex::Regex::new(r)
        .map(|_| ())
        .map_err(|e| format!("invalid regular expression {r:?}: {e}"))
}

fn kv_matches(
    list: Option<&Vec<HttpHeaderMatch>>,
    lowercase: bool,
) -> Result<Vec<(String, String, bool)>, String> {
    let mut out = Vec::new();
    for h in list.into_iter().flatten() {
        let regex = h.type_.as_deref() == Some("RegularExpression");
        if regex {
            check_regex(&h.value)?;
        }
        let name = if lowercase {
            h.name.to_ascii_lowercase()
        } else {
            h.name.clone()
        };
        // The spec: the first of several matches with the same name wins.
        if !out
            .iter()
            .any(|(n, _, _): &(String, String, bool)| n == &name)
        {
            out.push((name, h.value.clone(), regex));
        }
    }
    Ok(out)
}

fn http_match(m: &HttpRouteMatch) -> Result<MatchIr, String> {
    let path = m.path.as_ref();
    let value = path
        .and_then(|p| p.value.clone())
        .unwrap_or_else(|| "/".into());
    let path = match path
        .and_then(|p| p.type_.as_deref())
        .unwrap_or("PathPrefix")
    {
        "Exact" => PathMatchIr::Exact(value),
        "RegularExpression" => {
            check_regex(&value)?;
            PathMatchIr::Regex(value)
        }
        _ => PathMatchIr::Prefix(value),
    };
    Ok(MatchIr {
        path,
        headers: kv_matches(m.headers.as_ref(), true)?,
        queries: kv_matches(m.query_params.as_ref(), false)?,
        method: m.method.clone(),
        grpc: false,
    })
}

fn grpc_match(m: &GrpcRouteMatch) -> Result<MatchIr, String> {
    let path = match &m.method {
        None => PathMatchIr::Prefix("/".into()),
        Some(mm) => {
            let regex = mm.type_.as_deref() == Some("RegularExpression");
            let esc = |s: &str| {
                if regex {
                    s.to_string()
                } else {
                    regex::escape(s)
                }
            };
            match (mm.service.as_deref(), mm.method.as_deref(), regex) {
                // Spelled with `concat` (one allocation, no formatting): every gRPC rule has one.
                (Some(s), Some(me), false) => PathMatchIr::Exact(["/", s, "/", me].concat()),
                (Some(s), None, false) => PathMatchIr::Prefix(["/", s].concat()),
                (s, me, _) => {
                    let r = format!(
                        "/{}/{}",
                        s.map(esc).unwrap_or_else(|| "[^/]+".into()),
                        me.map(esc).unwrap_or_else(|| "[^/]+".into())
                    );
                    check_regex(&r)?;
                    PathMatchIr::Regex(r)
                }
            }
        }
    };
    Ok(MatchIr {
        path,
        headers: kv_matches(m.headers.as_ref(), true)?,
        queries: Vec::new(),
        method: None,
        grpc: true,
    })
}

/// Builds a route's status entry for one parentRef.
pub fn parent_status(
    parent: &Arc<ParentReference>,
    controller: &Arc<str>,
    cb: &ConditionBuilder<'_>,
    accepted: (bool, &'static str, Cow<'static, str>),
    resolved: Result<(), &BackendError>,
) -> RouteParentStatus {
    let resolved = match resolved {
        Ok(()) => cb.make(
            types::RESOLVED_REFS,
            true,
            reasons::RESOLVED_REFS,
            "Resolved all the Object references for the Route",
        ),
        Err(e) => cb.make(types::RESOLVED_REFS, false, e.reason, e.message.clone()),
    };
    // Sized for these two; a third condition, when there is one, grows the list.
    let conditions = vec![
        cb.make(types::ACCEPTED, accepted.0, accepted.1, accepted.2),
        resolved,
    ];
    RouteParentStatus {
        parent_ref: parent.clone(),
        controller_name: controller.clone(),
        conditions,
    }
}

/// Session persistence as Envoy's stateful sessions; the default name is derived from the route
/// (the spec leaves it to the implementation).
fn session_ir(sp: Option<&SessionPersistence>, route: &ObjectKey) -> Option<SessionIr> {
    let sp = sp?;
    let header = sp.type_.as_deref() == Some("Header");
    let name = sp.session_name.clone().unwrap_or_else(|| {
        format!(
            "gw-session-{:08x}",
            fnv1a(format!("{}/{}", route.namespace, route.name).as_bytes()) as u32
        )
    });
    let permanent = sp
        .cookie_config
        .as_ref()
        .and_then(|c| c.lifetime_type.as_deref())
        == Some("Permanent");
    let ttl_ms = if permanent {
        sp.absolute_timeout.as_deref().and_then(parse_ms)
    } else {
        None
    };
    Some(SessionIr {
        header,
        name,
        ttl_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Options;

    const GATEWAY: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: gc
  listeners:
  - {name: http, port: 80, protocol: HTTP}
---
apiVersion: v1
kind: Service
metadata: {name: v1, namespace: infra}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: v2, namespace: infra}
spec: {ports: [{port: 8080}]}
"#;

    fn translate_with(route: &str) -> (Vec<Arc<RouteIr>>, crate::Translation) {
        let text = format!("{GATEWAY}---\n{route}");
        let t = crate::testing::translate_manifests(&text, &Options::default());
        let table = t.gateways["infra/gw"].ports[&(80, false)]
            .http
            .clone()
            .expect("a route table");
        let routes = table.vhosts.values().flatten().cloned().collect();
        (routes, t)
    }

    fn resolved_refs(t: &crate::Translation) -> (bool, String) {
        let status = t
            .status
            .iter()
            .find(|s| s.key().is_some_and(|k| k.kind == Kind::HttpRoute))
            .expect("route status");
        let json = serde_json::to_value(&status.status).expect("serializes");
        let c = json
            .pointer("/parents/0/conditions")
            .and_then(|c| c.as_array())
            .and_then(|c| c.iter().find(|c| c["type"] == "ResolvedRefs"))
            .expect("ResolvedRefs condition")
            .clone();
        (
            c["status"] == "True",
            c["reason"].as_str().unwrap_or("").into(),
        )
    }

    /// A rule's header changes and timeouts are held once for all its matches; a rule without
    /// any holds nothing.
    #[test]
    fn rule_extras_are_shared_by_its_matches() {
        let (routes, t) = translate_with(
            r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /a}}, {path: {value: /b}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: X-Rule, value: one}]}
    timeouts: {request: 5s}
    backendRefs: [{name: v1, port: 8080}]
  - matches: [{path: {value: /c}}]
    backendRefs: [{name: v1, port: 8080}]
"#,
        );
        assert!(t.diagnostics.is_empty(), "{:?}", t.diagnostics);
        let by_path = |p: &str| {
            routes
                .iter()
                .find(|r| r.matcher.path == PathMatchIr::Prefix(p.into()))
                .unwrap_or_else(|| panic!("no route for {p}: {routes:?}"))
        };
        let (a, b) = (by_path("/a"), by_path("/b"));
        let (Some(xa), Some(xb)) = (&a.extras, &b.extras) else {
            panic!("extras missing: {a:?} {b:?}")
        };
        assert!(Arc::ptr_eq(xa, xb));
        assert_eq!(
            xa.request_headers.set,
            vec![("X-Rule".into(), "one".into())]
        );
        assert_eq!(xa.timeout_ms, Some(5000));
        assert_eq!(by_path("/c").extras, None);
    }

    /// The filters of each backendRef go with its cluster, not with the route
    /// (HTTPRouteRequestHeaderModifierBackendWeights).
    #[test]
    fn backend_ref_filters_stay_with_their_backend() {
        let (routes, t) = translate_with(
            r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs:
    - name: v1
      port: 8080
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{name: Backend, value: v1}]
          add: [{name: X-Add, value: a}]
          remove: [X-Remove]
      - type: ResponseHeaderModifier
        responseHeaderModifier: {set: [{name: X-Resp, value: r}]}
      - type: URLRewrite
        urlRewrite: {hostname: v1.example.com}
    - {name: v2, port: 8080}
"#,
        );
        assert_eq!(resolved_refs(&t), (true, "ResolvedRefs".into()));
        assert!(t.diagnostics.is_empty(), "{:?}", t.diagnostics);
        let [route] = &routes[..] else {
            panic!("one route: {routes:?}")
        };
        assert_eq!(route.extras, None);
        let ActionIr::Forward { clusters, .. } = &route.action else {
            panic!("not a forward: {:?}", route.action)
        };
        let filters = BackendFiltersIr {
            request_headers: HeaderModsIr {
                set: vec![("Backend".into(), "v1".into())],
                add: vec![("X-Add".into(), "a".into())],
                remove: vec!["X-Remove".into()],
            },
            response_headers: HeaderModsIr {
                set: vec![("X-Resp".into(), "r".into())],
                ..Default::default()
            },
            hostname: Some("v1.example.com".into()),
        };
        assert_eq!(clusters.len(), 2);
        assert_eq!(clusters[0].filters.as_deref(), Some(&filters));
        assert_eq!(clusters[1].filters, None);
    }

    /// A backendRef filter that cannot be applied per backend leaves that backend's share
    /// answered with 500 and says so in ResolvedRefs, as Envoy Gateway does.
    #[test]
    fn backend_ref_path_rewrites_are_refused() {
        let (routes, t) = translate_with(
            r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs:
    - name: v1
      port: 8080
      filters:
      - type: URLRewrite
        urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /x}}
    - {name: v2, port: 8080}
"#,
        );
        assert_eq!(
            resolved_refs(&t),
            (false, UNSUPPORTED_REF_VALUE.to_string())
        );
        let ActionIr::Forward {
            clusters,
            invalid_weight,
            ..
        } = &routes[0].action
        else {
            panic!("not a forward: {:?}", routes[0].action)
        };
        assert_eq!(clusters.len(), 1);
        assert_eq!(*invalid_weight, 1);
    }
}
