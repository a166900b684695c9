//! GRPCRoute: service/method matches, filters and backends.

use super::common::{matches, Cx, Path};
use super::route::{
    backend_refs, filter_fields, header_matches, hostnames, not_repeated, parent_refs, rule_names,
    session_persistence, shared_filter_parts, total_matches, use_default_gateways, EXTENSION_REF,
    HEADER_MODIFIERS_NOT_REPEATED, REQUEST_HEADER_MODIFIER, REQUEST_MIRROR,
    RESPONSE_HEADER_MODIFIER,
};
use crate::model::limits;
use crate::model::*;

/// The CEL pattern of an `Exact` service name.
pub(crate) const SERVICE_PATTERN: &str = r"^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$";
/// The CEL pattern of an `Exact` method name.
pub(crate) const METHOD_PATTERN: &str = r"^[A-Za-z_][A-Za-z_0-9]*$";

/// `GRPCRoute.spec`.
pub(crate) fn spec(cx: &mut Cx, s: &GrpcRouteSpec) {
    let spec = Path::root("spec");
    parent_refs(cx, &spec.f("parentRefs"), s.parent_refs.as_deref());
    hostnames(
        cx,
        &spec.f("hostnames"),
        s.hostnames.as_deref(),
        &limits::HOSTNAMES,
    );
    use_default_gateways(
        cx,
        &spec.f("useDefaultGateways"),
        s.use_default_gateways.as_deref(),
    );
    let Some(rules) = &s.rules else { return };
    let rp = spec.f("rules");
    cx.count(&rp, rules.len(), &limits::GRPC_RULES);
    // The GRPCRoute rule guards each rule's matches with has().
    total_matches(
        cx,
        &rp,
        rules
            .iter()
            .map(|r| Some(r.matches.as_ref().map_or(0, Vec::len))),
    );
    rule_names(cx, &rp, rules.iter().map(|r| r.name.as_deref()));
    for (i, r) in rules.iter().enumerate() {
        rule(cx, &rp.i(i), r);
    }
}

fn rule(cx: &mut Cx, path: &Path, r: &GrpcRouteRule) {
    if let Some(m) = &r.matches {
        let mp = path.f("matches");
        cx.count(&mp, m.len(), &limits::MATCHES);
        for (j, m) in m.iter().enumerate() {
            let p = mp.i(j);
            if let Some(method) = &m.method {
                method_match(cx, &p.f("method"), method);
            }
            header_matches(
                cx,
                &p.f("headers"),
                m.headers.as_deref(),
                &limits::HEADER_VALUE_STANDARD,
            );
        }
    }
    if let Some(f) = &r.filters {
        filters(cx, &path.f("filters"), f);
    }
    if let Some(b) = &r.backend_refs {
        backend_refs(
            cx,
            &path.f("backendRefs"),
            b,
            &limits::BACKEND_REFS,
            |b| (&b.backend, b.weight),
            |cx, p, b| {
                if let Some(f) = &b.filters {
                    filters(cx, &p.f("filters"), f);
                }
            },
        );
    }
    session_persistence(
        cx,
        &path.f("sessionPersistence"),
        r.session_persistence.as_deref(),
    );
}

/// A service/method match; `type` is defaulted to `Exact`.
fn method_match(cx: &mut Cx, path: &Path, m: &GrpcMethodMatch) {
    cx.opt_str(&path.f("type"), m.type_.as_deref(), &limits::MATCH_TYPE);
    cx.opt_str(&path.f("service"), m.service.as_deref(), &limits::GRPC_NAME);
    cx.opt_str(&path.f("method"), m.method.as_deref(), &limits::GRPC_NAME);
    cx.rule(
        path,
        m.type_.is_none() || m.service.is_some() || m.method.is_some(),
        "One or both of 'service' or 'method' must be specified",
    );
    let exact = m.type_.as_deref().is_none_or(|t| t == "Exact");
    cx.rule(
        path,
        !exact || m.service.as_deref().is_none_or(|s| matches(SERVICE_PATTERN, s)),
        r"service must only contain valid characters (matching ^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$)",
    );
    cx.rule(
        path,
        !exact
            || m.method
                .as_deref()
                .is_none_or(|s| matches(METHOD_PATTERN, s)),
        "method must only contain valid characters (matching ^[A-Za-z_][A-Za-z_0-9]*$)",
    );
}

fn filters(cx: &mut Cx, path: &Path, filters: &[GrpcRouteFilter]) {
    cx.count(path, filters.len(), &limits::FILTERS);
    let types = filters.iter().map(|f| f.type_.as_str());
    not_repeated(cx, path, types, &HEADER_MODIFIERS_NOT_REPEATED);
    for (k, f) in filters.iter().enumerate() {
        let p = path.i(k);
        cx.str(&p.f("type"), &f.type_, &limits::GRPC_FILTER_TYPE);
        let fields = [
            (
                &REQUEST_HEADER_MODIFIER,
                f.request_header_modifier.is_some(),
            ),
            (
                &RESPONSE_HEADER_MODIFIER,
                f.response_header_modifier.is_some(),
            ),
            (&REQUEST_MIRROR, f.request_mirror.is_some()),
            (&EXTENSION_REF, f.extension_ref.is_some()),
        ];
        filter_fields(cx, &p, &f.type_, &fields);
        shared_filter_parts(
            cx,
            &p,
            f.request_header_modifier.as_ref(),
            f.response_header_modifier.as_ref(),
            f.request_mirror.as_ref(),
            f.extension_ref.as_ref(),
        );
    }
}
