//! Generated resource graphs for property tests: Gateways, listeners, routes of every kind,
//! ReferenceGrants and Services across namespaces.

#![allow(dead_code)]

use gatewright::load::parse_str;
use gatewright::Object;
use proptest::prelude::*;
use serde_json::{json, Value};

pub const NAMESPACES: [&str; 3] = ["infra", "team-a", "team-b"];
pub const CLASS: &str = "gw-class";

fn load(v: Value) -> Object {
    let r = parse_str(&v.to_string(), "gen.json");
    assert!(
        r.diagnostics.is_empty(),
        "generated object did not load: {:?}\n{v}",
        r.diagnostics
    );
    r.objects.into_iter().next().expect("one object").object
}

/// A self-signed certificate and key for TLS listeners (generated once by openssl; test data only).
pub const TEST_CERT: &str = include_str!("test-cert.pem");
/// The key of [`TEST_CERT`].
pub const TEST_KEY: &str = include_str!("test-key.pem");

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The fixed part: class, namespaces, Services with EndpointSlices, a TLS Secret.
pub fn base() -> Vec<Object> {
    let mut out = vec![load(json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
        "metadata": {"name": CLASS},
        "spec": {"controllerName": gatewright::translate::DEFAULT_CONTROLLER_NAME}
    }))];
    for (i, ns) in NAMESPACES.iter().enumerate() {
        out.push(load(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"team": if i == 2 {"b"} else {"a"}}}})));
        out.push(load(json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cert", "namespace": ns},
            "type": "kubernetes.io/tls", "data": {"tls.crt": b64(TEST_CERT), "tls.key": b64(TEST_KEY)}
        })));
    }
    out
}

/// A Service `svc-{n}` with ports 80 (TCP) and 53 (UDP).
pub fn service(ns: &str, n: u8) -> Object {
    load(json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("svc-{n}"), "namespace": ns},
        "spec": {"ports": [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]}
    }))
}

/// An EndpointSlice for `svc-{n}` with `count` ready endpoints.
pub fn slice(ns: &str, n: u8, count: u8) -> Object {
    let eps: Vec<Value> = (0..count).map(|i| json!({"addresses": [format!("10.{n}.0.{i}")], "conditions": {"ready": i % 4 != 3}})).collect();
    load(json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": format!("svc-{n}-x"), "namespace": ns, "labels": {"kubernetes.io/service-name": format!("svc-{n}")}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080}, {"name": "dns", "port": 5353, "protocol": "UDP"}],
        "endpoints": eps
    }))
}

/// A Gateway `gw-{n}` in `infra` with an HTTP, HTTPS, TLS passthrough, TCP and UDP listener.
pub fn gateway(n: u8, from: &str, hostname: Option<&str>) -> Object {
    let base_port = 8000 + u32::from(n) * 10;
    let mut http = json!({"name": "http", "port": base_port, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": from}}});
    if from == "Selector" {
        http["allowedRoutes"]["namespaces"]["selector"] = json!({"matchLabels": {"team": "a"}});
    }
    if let Some(h) = hostname {
        http["hostname"] = json!(h);
    }
    load(json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": format!("gw-{n}"), "namespace": "infra"},
        "spec": {"gatewayClassName": CLASS, "listeners": [
            http,
            {"name": "https", "port": base_port + 1, "protocol": "HTTPS", "hostname": "*.example.com",
             "tls": {"certificateRefs": [{"name": "cert"}]}, "allowedRoutes": {"namespaces": {"from": "All"}}},
            {"name": "tls", "port": base_port + 2, "protocol": "TLS", "tls": {"mode": "Passthrough"}, "allowedRoutes": {"namespaces": {"from": "All"}}},
            {"name": "tcp", "port": base_port + 3, "protocol": "TCP", "allowedRoutes": {"namespaces": {"from": "All"}}},
            {"name": "udp", "port": base_port + 4, "protocol": "UDP", "allowedRoutes": {"namespaces": {"from": "All"}}}
        ]}
    }))
}

/// Parameters of a generated route.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub kind: u8,
    pub ns: usize,
    pub n: u8,
    pub gw: u8,
    pub section: Option<&'static str>,
    pub host: Option<&'static str>,
    pub backends: Vec<(usize, u8, u8)>,
    pub path: &'static str,
    pub exact: bool,
}

/// A route of one of the five kinds.
pub fn route(r: &RouteSpec) -> Object {
    let ns = NAMESPACES[r.ns];
    let mut parent = json!({"name": format!("gw-{}", r.gw), "namespace": "infra"});
    if let Some(s) = r.section {
        parent["sectionName"] = json!(s);
    }
    let (kind, port) = match r.kind % 5 {
        0 => ("HTTPRoute", 80),
        1 => ("GRPCRoute", 80),
        2 => ("TLSRoute", 80),
        3 => ("TCPRoute", 80),
        _ => ("UDPRoute", 53),
    };
    let backends: Vec<Value> = r
        .backends
        .iter()
        .map(|(bns, n, w)| json!({"name": format!("svc-{n}"), "namespace": NAMESPACES[*bns], "port": port, "weight": w}))
        .collect();
    let mut spec = json!({"parentRefs": [parent]});
    match kind {
        "HTTPRoute" => {
            spec["rules"] = json!([{"matches": [{"path": {"type": if r.exact {"Exact"} else {"PathPrefix"}, "value": r.path}}], "backendRefs": backends}]);
            if let Some(h) = r.host {
                spec["hostnames"] = json!([h]);
            }
        }
        "GRPCRoute" => {
            spec["rules"] = json!([{"matches": [{"method": {"service": "echo.Echo", "method": if r.exact {"Ping"} else {"Echo"}}}], "backendRefs": backends}]);
            if let Some(h) = r.host {
                spec["hostnames"] = json!([h]);
            }
        }
        "TLSRoute" => {
            spec["hostnames"] = json!([r.host.unwrap_or("tls.example.com")]);
            spec["rules"] = json!([{"backendRefs": backends}]);
        }
        _ => spec["rules"] = json!([{"backendRefs": backends}]),
    }
    load(
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": kind,
        "metadata": {"name": format!("r-{}", r.n), "namespace": ns}, "spec": spec}),
    )
}

/// A ReferenceGrant in `to_ns` letting routes of `from_ns` reach its Services.
pub fn grant(from_ns: usize, to_ns: usize) -> Object {
    load(
        json!({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
        "metadata": {"name": format!("from-{}", NAMESPACES[from_ns]), "namespace": NAMESPACES[to_ns]},
        "spec": {"from": [
            {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": NAMESPACES[from_ns]},
            {"group": "gateway.networking.k8s.io", "kind": "GRPCRoute", "namespace": NAMESPACES[from_ns]},
            {"group": "gateway.networking.k8s.io", "kind": "TLSRoute", "namespace": NAMESPACES[from_ns]},
            {"group": "gateway.networking.k8s.io", "kind": "TCPRoute", "namespace": NAMESPACES[from_ns]},
            {"group": "gateway.networking.k8s.io", "kind": "UDPRoute", "namespace": NAMESPACES[from_ns]}],
          "to": [{"group": "", "kind": "Service"}]}}),
    )
}

pub fn route_spec() -> impl Strategy<Value = RouteSpec> {
    (
        0u8..5,
        0usize..3,
        0u8..12,
        0u8..2,
        prop_oneof![
            Just(None),
            Just(Some("http")),
            Just(Some("https")),
            Just(Some("nope"))
        ],
        prop_oneof![
            Just(None),
            Just(Some("a.example.com")),
            Just(Some("*.example.com")),
            Just(Some("other.org"))
        ],
        prop::collection::vec((0usize..3, 0u8..4, 0u8..3), 0..3),
        prop_oneof![Just("/"), Just("/api"), Just("/api/v1"), Just("/static/")],
        any::<bool>(),
    )
        .prop_map(
            |(kind, ns, n, gw, section, host, backends, path, exact)| RouteSpec {
                kind,
                ns,
                n,
                gw,
                section,
                host,
                backends,
                path,
                exact,
            },
        )
}

/// Many routes (up to 3,840 distinct ones) over the objects of [`object`]: enough for a
/// translation to share them out among threads.
pub fn large_graph() -> impl Strategy<Value = Vec<Object>> {
    let wide = (route_spec(), any::<u8>()).prop_map(|(r, n)| route(&RouteSpec { n, ..r }));
    (
        prop::collection::vec(wide, 600..900),
        prop::collection::vec(object(), 10..40),
    )
        .prop_map(|(routes, mut others)| {
            let mut all = base();
            all.extend(routes);
            all.append(&mut others);
            all
        })
}

/// Any object the graph may contain, for edits.
pub fn object() -> impl Strategy<Value = Object> {
    prop_oneof![
        4 => route_spec().prop_map(|r| route(&r)),
        1 => (0usize..3, 0u8..4).prop_map(|(ns, n)| service(NAMESPACES[ns], n)),
        2 => (0usize..3, 0u8..4, 0u8..5).prop_map(|(ns, n, c)| slice(NAMESPACES[ns], n, c)),
        1 => (0u8..2, prop_oneof![Just("All"), Just("Same"), Just("Selector")], prop_oneof![Just(None), Just(Some("*.example.com"))])
            .prop_map(|(n, from, h)| gateway(n, from, h)),
        1 => (0usize..3, 0usize..3).prop_map(|(a, b)| grant(a, b)),
    ]
}

/// A whole graph: the base plus generated objects.
pub fn graph() -> impl Strategy<Value = Vec<Object>> {
    prop::collection::vec(object(), 5..40).prop_map(|mut v| {
        let mut all = base();
        all.append(&mut v);
        all
    })
}
