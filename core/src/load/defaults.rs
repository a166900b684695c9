//! The CRD `default`s, applied on load exactly where the API server's structural defaulting would.

use std::sync::Arc;

use crate::model::*;

/// Fills in every CRD default of the object's kind (both channels have the same defaults).
pub fn apply_defaults(object: &mut Object) {
    match object {
        Object::Gateway(g) => gateway(&mut g.spec),
        Object::ListenerSet(ls) => {
            default_name(&mut ls.spec.parent_ref.group, GATEWAY_GROUP);
            default_name(&mut ls.spec.parent_ref.kind, "Gateway");
            ls.spec.listeners.iter_mut().for_each(listener);
        }
        Object::HttpRoute(r) => http_route(&mut r.spec),
        Object::GrpcRoute(r) => grpc_route(&mut r.spec),
        Object::TlsRoute(r) => {
            parent_refs(&mut r.spec.parent_refs);
            l4_rules(&mut r.spec.rules);
        }
        Object::TcpRoute(r) => {
            parent_refs(&mut r.spec.parent_refs);
            l4_rules(&mut r.spec.rules);
        }
        Object::UdpRoute(r) => {
            parent_refs(&mut r.spec.parent_refs);
            l4_rules(&mut r.spec.rules);
        }
        Object::GatewayClass(_)
        | Object::ReferenceGrant(_)
        | Object::BackendTlsPolicy(_)
        | Object::Namespace(_)
        | Object::Service(_)
        | Object::EndpointSlice(_)
        | Object::Secret(_)
        | Object::ConfigMap(_) => {}
    }
}

fn default_str(field: &mut Option<String>, value: &str) {
    if field.is_none() {
        *field = Some(value.to_string());
    }
}

/// A group or kind default: a shared static string, not a copy per reference.
fn default_name(field: &mut Option<TypeName>, value: &'static str) {
    if field.is_none() {
        *field = Some(TypeName::Borrowed(value));
    }
}

fn gateway(spec: &mut GatewaySpec) {
    for a in spec.addresses.iter_mut().flatten() {
        default_str(&mut a.type_, "IPAddress");
    }
    if let Some(al) = &mut spec.allowed_listeners {
        default_str(
            &mut al.namespaces.get_or_insert_with(Default::default).from,
            "None",
        );
    }
    spec.listeners.iter_mut().for_each(listener);
    if let Some(tls) = &mut spec.tls {
        if let Some(r) = tls
            .backend
            .as_mut()
            .and_then(|b| b.client_certificate_ref.as_mut())
        {
            secret_ref(r);
        }
        if let Some(f) = &mut tls.frontend {
            if let Some(v) = &mut f.default.validation {
                default_str(&mut v.mode, "AllowValidOnly");
            }
            for p in f.per_port.iter_mut().flatten() {
                if let Some(v) = &mut p.tls.validation {
                    default_str(&mut v.mode, "AllowValidOnly");
                }
            }
        }
    }
}

fn secret_ref(r: &mut SecretObjectReference) {
    default_name(&mut r.group, "");
    default_name(&mut r.kind, "Secret");
}

fn listener(l: &mut Listener) {
    let ar = l.allowed_routes.get_or_insert_with(Default::default);
    default_str(
        &mut ar.namespaces.get_or_insert_with(Default::default).from,
        "Same",
    );
    for k in ar.kinds.iter_mut().flatten() {
        default_name(&mut k.group, GATEWAY_GROUP);
    }
    if let Some(tls) = &mut l.tls {
        default_str(&mut tls.mode, "Terminate");
        tls.certificate_refs
            .iter_mut()
            .flatten()
            .for_each(secret_ref);
    }
}

fn parent_refs(refs: &mut Option<Vec<Arc<ParentReference>>>) {
    for p in refs.iter_mut().flatten() {
        // Just parsed, the parentRef has no other owner: nothing is copied.
        let p = Arc::make_mut(p);
        default_name(&mut p.group, GATEWAY_GROUP);
        default_name(&mut p.kind, "Gateway");
    }
}

fn backend_ref(b: &mut BackendObjectReference) {
    default_name(&mut b.group, "");
    default_name(&mut b.kind, "Service");
}

fn weight(w: &mut Option<i32>) {
    if w.is_none() {
        *w = Some(1);
    }
}

fn mirror(m: &mut HttpRequestMirrorFilter) {
    backend_ref(&mut m.backend_ref);
    if let Some(f) = &mut m.fraction {
        f.denominator.get_or_insert(100);
    }
}

fn session(s: &mut Option<Box<SessionPersistence>>) {
    if let Some(s) = s {
        default_str(&mut s.type_, "Cookie");
        if let Some(c) = &mut s.cookie_config {
            default_str(&mut c.lifetime_type, "Session");
        }
    }
}

fn default_path_match() -> HttpRouteMatch {
    HttpRouteMatch {
        path: Some(HttpPathMatch {
            type_: Some("PathPrefix".into()),
            value: Some("/".into()),
        }),
        ..Default::default()
    }
}

fn http_filter(f: &mut HttpRouteFilter) {
    if let Some(m) = &mut f.request_mirror {
        mirror(m);
    }
    if let Some(r) = &mut f.request_redirect {
        r.status_code.get_or_insert(302);
    }
    if let Some(c) = &mut f.cors {
        c.max_age.get_or_insert(5);
    }
    if let Some(a) = &mut f.external_auth {
        backend_ref(&mut a.backend_ref);
    }
}

fn http_route(spec: &mut HttpRouteSpec) {
    parent_refs(&mut spec.parent_refs);
    let rules = spec.rules.get_or_insert_with(|| {
        vec![HttpRouteRule {
            matches: Some(vec![default_path_match()]),
            ..Default::default()
        }]
    });
    for rule in rules {
        let matches = rule
            .matches
            .get_or_insert_with(|| vec![default_path_match()]);
        for m in matches {
            let path = m.path.get_or_insert_with(Default::default);
            default_str(&mut path.type_, "PathPrefix");
            default_str(&mut path.value, "/");
            for h in m.headers.iter_mut().flatten() {
                default_str(&mut h.type_, "Exact");
            }
            for q in m.query_params.iter_mut().flatten() {
                default_str(&mut q.type_, "Exact");
            }
        }
        rule.filters.iter_mut().flatten().for_each(http_filter);
        for b in rule.backend_refs.iter_mut().flatten() {
            backend_ref(&mut b.backend);
            weight(&mut b.weight);
            b.filters.iter_mut().flatten().for_each(http_filter);
        }
        session(&mut rule.session_persistence);
    }
}

fn grpc_filter(f: &mut GrpcRouteFilter) {
    if let Some(m) = &mut f.request_mirror {
        mirror(m);
    }
}

fn grpc_route(spec: &mut GrpcRouteSpec) {
    parent_refs(&mut spec.parent_refs);
    for rule in spec.rules.iter_mut().flatten() {
        for m in rule.matches.iter_mut().flatten() {
            for h in m.headers.iter_mut().flatten() {
                default_str(&mut h.type_, "Exact");
            }
            if let Some(method) = &mut m.method {
                default_str(&mut method.type_, "Exact");
            }
        }
        rule.filters.iter_mut().flatten().for_each(grpc_filter);
        for b in rule.backend_refs.iter_mut().flatten() {
            backend_ref(&mut b.backend);
            weight(&mut b.weight);
            b.filters.iter_mut().flatten().for_each(grpc_filter);
        }
        session(&mut rule.session_persistence);
    }
}

fn l4_rules(rules: &mut [L4RouteRule]) {
    for b in rules.iter_mut().flat_map(|r| r.backend_refs.iter_mut()) {
        backend_ref(&mut b.backend);
        weight(&mut b.weight);
    }
}

#[cfg(test)]
mod tests {
    use crate::load::parse_str;
    use crate::model::Object;

    #[test]
    fn http_route_defaults_match_the_crd() {
        let r = parse_str(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs: [{name: s, port: 80}]\n    filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}]\n",
            "t",
        );
        let Object::HttpRoute(route) = &r.objects[0].object else {
            panic!("not a route")
        };
        let p = &route.spec.parent_refs.as_ref().unwrap()[0];
        assert_eq!(
            (p.group(), p.kind()),
            ("gateway.networking.k8s.io", "Gateway")
        );
        let rule = &route.spec.rules.as_ref().unwrap()[0];
        let path = rule.matches.as_ref().unwrap()[0].path.as_ref().unwrap();
        assert_eq!(path.type_.as_deref(), Some("PathPrefix"));
        assert_eq!(path.value.as_deref(), Some("/"));
        assert_eq!(rule.backend_refs.as_ref().unwrap()[0].weight, Some(1));
        let redirect = rule.filters.as_ref().unwrap()[0]
            .request_redirect
            .as_ref()
            .unwrap();
        assert_eq!(redirect.status_code, Some(302));
    }

    #[test]
    fn listener_defaults_match_the_crd() {
        let r = parse_str(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec:\n  gatewayClassName: c\n  listeners:\n  - {name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}\n",
            "t",
        );
        let Object::Gateway(g) = &r.objects[0].object else {
            panic!("not a gateway")
        };
        let l = &g.spec.listeners[0];
        let from = l
            .allowed_routes
            .as_ref()
            .unwrap()
            .namespaces
            .as_ref()
            .unwrap()
            .from
            .as_deref();
        assert_eq!(from, Some("Same"));
        let tls = l.tls.as_ref().unwrap();
        assert_eq!(tls.mode.as_deref(), Some("Terminate"));
        assert_eq!(tls.certificate_refs.as_ref().unwrap()[0].kind(), "Secret");
    }
}
