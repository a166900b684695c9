//! A structured resource graph (Gateways, listeners, routes of every kind, Services,
//! EndpointSlices, Secrets, ReferenceGrants across a few namespaces) → translate → render.
//!
//! Names come from small pools so references meet; a few fields take arbitrary strings.
//! Checks: nothing panics, output is deterministic, the incremental engine agrees with a
//! full translation.
#![no_main]

use arbitrary::Arbitrary;
use gatewright::engine::{Change, Engine};
use gatewright::output::{self, DocumentOptions};
use gatewright::{translate, Object, Options, Snapshot};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const NS: [&str; 3] = ["infra", "team-a", "team-b"];
const NAMES: [&str; 3] = ["a", "b", "c"];
const PORTS: [u16; 4] = [80, 443, 8080, 53];
const CERT: &str = include_str!("../../core/tests/common/test-cert.pem");
const KEY: &str = include_str!("../../core/tests/common/test-key.pem");

#[derive(Arbitrary, Debug)]
enum Text {
    Pool(u8),
    Raw(String),
}

impl Text {
    fn host(&self) -> String {
        const HOSTS: [&str; 7] = [
            "a.example.com",
            "*.example.com",
            "example.com",
            "*",
            "b.example.org",
            "*.a.example.com",
            "",
        ];
        match self {
            Text::Pool(i) => HOSTS[*i as usize % HOSTS.len()].to_string(),
            Text::Raw(s) => s.clone(),
        }
    }
    fn path(&self) -> String {
        const PATHS: [&str; 6] = ["/", "/api", "/api/", "/api/v1", "/a%20b", "//x"];
        match self {
            Text::Pool(i) => PATHS[*i as usize % PATHS.len()].to_string(),
            Text::Raw(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Protocol {
    Http,
    Https,
    Tls,
    Tcp,
    Udp,
}

#[derive(Arbitrary, Debug)]
struct Listener {
    name: u8,
    port: u8,
    protocol: Protocol,
    hostname: Option<Text>,
    from: u8,
    passthrough: bool,
    cert_ns: Option<u8>,
    cert: u8,
}

#[derive(Arbitrary, Debug)]
struct Gateway {
    name: u8,
    ns: u8,
    listeners: Vec<Listener>,
}

#[derive(Arbitrary, Debug)]
struct Parent {
    gw: u8,
    ns: Option<u8>,
    section: Option<u8>,
    port: Option<u8>,
}

#[derive(Arbitrary, Debug)]
struct Backend {
    ns: Option<u8>,
    name: u8,
    port: Option<u8>,
    weight: Option<u16>,
    other_kind: bool,
}

#[derive(Arbitrary, Debug)]
enum Filter {
    SetHeader(u8),
    Redirect { https: bool, code: bool },
    Rewrite { host: Option<Text>, prefix: Option<Text> },
    Mirror(Backend),
}

#[derive(Arbitrary, Debug)]
struct Rule {
    name: Option<u8>,
    path: Option<(u8, Text)>,
    header: Option<u8>,
    method: Option<u8>,
    filters: Vec<Filter>,
    backends: Vec<Backend>,
}

#[derive(Arbitrary, Debug)]
struct Route {
    kind: u8,
    ns: u8,
    name: u8,
    parents: Vec<Parent>,
    hostnames: Vec<Text>,
    rules: Vec<Rule>,
}

#[derive(Arbitrary, Debug)]
struct Service {
    ns: u8,
    name: u8,
    ports: Vec<(u8, bool)>,
    endpoints: u8,
    app_protocol_h2c: bool,
}

#[derive(Arbitrary, Debug)]
struct Grant {
    ns: u8,
    from_ns: u8,
    from_kind: u8,
    to_secret: bool,
    to_name: Option<u8>,
}

#[derive(Arbitrary, Debug)]
struct Graph {
    gateways: Vec<Gateway>,
    routes: Vec<Route>,
    services: Vec<Service>,
    grants: Vec<Grant>,
    bad_secret: Option<u8>,
}

fn pick<T: Copy>(pool: &[T], i: u8) -> T {
    pool[i as usize % pool.len()]
}

fn b64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn backend(b: &Backend, port: u16) -> Value {
    let mut v = json!({"name": pick(&NAMES, b.name)});
    if b.other_kind {
        v["group"] = json!("example.com");
        v["kind"] = json!("Thing");
    }
    if let Some(ns) = b.ns {
        v["namespace"] = json!(pick(&NS, ns));
    }
    v["port"] = json!(b.port.map_or(port, |p| pick(&PORTS, p)));
    if let Some(w) = b.weight {
        v["weight"] = json!(w % 1001);
    }
    v
}

const ROUTE_KINDS: [&str; 5] = ["HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"];

fn objects(g: &Graph) -> Vec<Value> {
    let mut out = vec![json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
        "metadata": {"name": "fuzz"},
        "spec": {"controllerName": gatewright::translate::DEFAULT_CONTROLLER_NAME}
    })];
    for (i, ns) in NS.iter().enumerate() {
        out.push(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"team": if i == 2 {"b"} else {"a"}}}}));
        for (j, name) in NAMES.iter().enumerate() {
            let bad = g.bad_secret.is_some_and(|b| b as usize % 9 == i * 3 + j);
            let key = if bad { "not a key" } else { KEY };
            out.push(json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name, "namespace": ns}, "type": "kubernetes.io/tls",
                "data": {"tls.crt": b64(CERT), "tls.key": b64(key)}}));
        }
    }
    for gw in g.gateways.iter().take(4) {
        let listeners: Vec<Value> = gw
            .listeners
            .iter()
            .take(8)
            .map(|l| {
                let protocol = match l.protocol {
                    Protocol::Http => "HTTP",
                    Protocol::Https => "HTTPS",
                    Protocol::Tls => "TLS",
                    Protocol::Tcp => "TCP",
                    Protocol::Udp => "UDP",
                };
                let mut v = json!({"name": format!("l{}", l.name % 6), "port": pick(&PORTS, l.port),
                    "protocol": protocol,
                    "allowedRoutes": {"namespaces": {"from": pick(&["All", "Same", "Selector"], l.from)}}});
                if l.from % 3 == 2 {
                    v["allowedRoutes"]["namespaces"]["selector"] = json!({"matchLabels": {"team": "a"}});
                }
                if let Some(h) = &l.hostname {
                    v["hostname"] = json!(h.host());
                }
                if matches!(l.protocol, Protocol::Https | Protocol::Tls) {
                    let mut cert = json!({"name": pick(&NAMES, l.cert)});
                    if let Some(ns) = l.cert_ns {
                        cert["namespace"] = json!(pick(&NS, ns));
                    }
                    v["tls"] = if l.passthrough && matches!(l.protocol, Protocol::Tls) {
                        json!({"mode": "Passthrough"})
                    } else {
                        json!({"mode": "Terminate", "certificateRefs": [cert]})
                    };
                }
                v
            })
            .collect();
        out.push(json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": pick(&NAMES, gw.name), "namespace": pick(&NS, gw.ns)},
            "spec": {"gatewayClassName": "fuzz", "listeners": listeners}}));
    }
    for s in g.services.iter().take(8) {
        let ports: Vec<Value> = s
            .ports
            .iter()
            .take(3)
            .enumerate()
            .map(|(i, (p, udp))| {
                let mut v = json!({"name": format!("p{i}"), "port": pick(&PORTS, *p),
                    "protocol": if *udp {"UDP"} else {"TCP"}});
                if s.app_protocol_h2c {
                    v["appProtocol"] = json!("kubernetes.io/h2c");
                }
                v
            })
            .collect();
        let (ns, name) = (pick(&NS, s.ns), pick(&NAMES, s.name));
        out.push(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns}, "spec": {"ports": ports}}));
        let slice_ports: Vec<Value> = s
            .ports
            .iter()
            .take(3)
            .enumerate()
            .map(|(i, (p, udp))| json!({"name": format!("p{i}"), "port": u32::from(pick(&PORTS, *p)) + 8000,
                "protocol": if *udp {"UDP"} else {"TCP"}}))
            .collect();
        let eps: Vec<Value> = (0..s.endpoints % 5)
            .map(|i| json!({"addresses": [format!("10.0.{}.{i}", s.name % 3)], "conditions": {"ready": i != 3}}))
            .collect();
        out.push(json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": format!("{name}-x"), "namespace": ns, "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "ports": slice_ports, "endpoints": eps}));
    }
    for gr in g.grants.iter().take(6) {
        let mut to = json!({"group": "", "kind": if gr.to_secret {"Secret"} else {"Service"}});
        if let Some(n) = gr.to_name {
            to["name"] = json!(pick(&NAMES, n));
        }
        let from_kind = pick(&["HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute", "Gateway"], gr.from_kind);
        out.push(json!({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
            "metadata": {"name": format!("g{}", gr.from_ns % 3), "namespace": pick(&NS, gr.ns)},
            "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": from_kind, "namespace": pick(&NS, gr.from_ns)}],
                     "to": [to]}}));
    }
    for r in g.routes.iter().take(10) {
        let kind = pick(&ROUTE_KINDS, r.kind);
        let port = if kind == "UDPRoute" { 53 } else { 80 };
        let parents: Vec<Value> = r
            .parents
            .iter()
            .take(3)
            .map(|p| {
                let mut v = json!({"name": pick(&NAMES, p.gw)});
                if let Some(ns) = p.ns {
                    v["namespace"] = json!(pick(&NS, ns));
                }
                if let Some(s) = p.section {
                    v["sectionName"] = json!(format!("l{}", s % 6));
                }
                if let Some(port) = p.port {
                    v["port"] = json!(pick(&PORTS, port));
                }
                v
            })
            .collect();
        let rules: Vec<Value> = r
            .rules
            .iter()
            .take(4)
            .map(|rule| {
                let backends: Vec<Value> = rule.backends.iter().take(3).map(|b| backend(b, port)).collect();
                let mut v = json!({"backendRefs": backends});
                if let Some(n) = rule.name {
                    v["name"] = json!(format!("rule-{}", n % 3));
                }
                if kind == "HTTPRoute" {
                    let mut m = json!({});
                    if let Some((t, p)) = &rule.path {
                        m["path"] = json!({"type": pick(&["Exact", "PathPrefix", "RegularExpression"], *t), "value": p.path()});
                    }
                    if let Some(h) = rule.header {
                        m["headers"] = json!([{"name": pick(&["x-a", "X-A", "x-b"], h), "value": "1"}]);
                    }
                    if let Some(mt) = rule.method {
                        m["method"] = json!(pick(&["GET", "POST", "PUT"], mt));
                    }
                    v["matches"] = json!([m]);
                    let filters: Vec<Value> = rule
                        .filters
                        .iter()
                        .take(3)
                        .map(|f| match f {
                            Filter::SetHeader(h) => json!({"type": "RequestHeaderModifier",
                                "requestHeaderModifier": {"set": [{"name": pick(&["x-a", "x-b"], *h), "value": "v"}]}}),
                            Filter::Redirect { https, code } => json!({"type": "RequestRedirect",
                                "requestRedirect": {"scheme": if *https {"https"} else {"http"}, "statusCode": if *code {301} else {302}}}),
                            Filter::Rewrite { host, prefix } => {
                                let mut u = json!({});
                                if let Some(h) = host {
                                    u["hostname"] = json!(h.host());
                                }
                                if let Some(p) = prefix {
                                    u["path"] = json!({"type": "ReplacePrefixMatch", "replacePrefixMatch": p.path()});
                                }
                                json!({"type": "URLRewrite", "urlRewrite": u})
                            }
                            Filter::Mirror(b) => json!({"type": "RequestMirror", "requestMirror": {"backendRef": backend(b, port)}}),
                        })
                        .collect();
                    if !filters.is_empty() {
                        v["filters"] = json!(filters);
                    }
                } else if kind == "GRPCRoute" {
                    if let Some(mt) = rule.method {
                        v["matches"] = json!([{"method": {"service": "echo.Echo", "method": pick(&["Ping", "Echo"], mt)}}]);
                    }
                }
                v
            })
            .collect();
        let mut spec = json!({"parentRefs": parents, "rules": rules});
        if matches!(kind, "HTTPRoute" | "GRPCRoute" | "TLSRoute") && !r.hostnames.is_empty() {
            let hosts: Vec<String> = r.hostnames.iter().take(3).map(Text::host).collect();
            spec["hostnames"] = json!(hosts);
        }
        let api = if matches!(kind, "HTTPRoute" | "GRPCRoute") {
            "gateway.networking.k8s.io/v1"
        } else {
            "gateway.networking.k8s.io/v1alpha2"
        };
        out.push(json!({"apiVersion": api, "kind": kind,
            "metadata": {"name": pick(&NAMES, r.name), "namespace": pick(&NS, r.ns),
                         "creationTimestamp": format!("2024-01-01T00:00:0{}Z", r.name % 10)},
            "spec": spec}));
    }
    out
}

fn render(t: &gatewright::Translation) -> Option<Value> {
    output::document(t, &DocumentOptions::default()).ok()
}

fuzz_target!(|g: Graph| {
    let text = objects(&g)
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n---\n");
    let loaded = gatewright::load::parse_str(&text, "fuzz.yaml");
    let objs: Vec<Object> = loaded.objects.into_iter().map(|l| l.object).collect();
    let opts = Options::default();
    let snapshot = Snapshot::from_objects(objs.clone());
    let t = translate(&snapshot, &opts);
    let doc = render(&t);
    for gw in t.gateways.keys() {
        let _ = output::static_bootstrap(&t, gw, "127.0.0.1");
    }
    for ir in t.gateways.values() {
        let _ = gatewright::xds::build(ir, gatewright::xds::Delivery::Ads, "0.0.0.0").encoded();
    }
    assert!(doc == render(&translate(&snapshot, &opts)), "translation is not deterministic");

    // The incremental engine, fed the last object as a change, agrees with the full translation.
    if let Some((last, rest)) = objs.split_last() {
        let mut engine = Engine::with_snapshot(Snapshot::from_objects(rest.to_vec()), opts.clone());
        engine.translate();
        engine.apply(Change::Upsert(last.clone(), None));
        let inc = engine.translate();
        let full = translate(engine.snapshot(), &opts);
        assert!(inc.gateways == full.gateways, "incremental IR differs from full");
        assert!(render(&inc) == render(&full), "incremental output differs from full");
    }
});
