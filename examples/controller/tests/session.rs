//! Session persistence (experimental `sessionPersistence`) against real Envoy: a cookie pins
//! a client to the backend endpoint it first reached.

mod support;

use std::time::Duration;

use support::*;

#[test]
fn a_session_cookie_pins_the_client_to_one_backend() {
    let (listener, xds, admin) = (free_port(), free_port(), free_port());
    let (pa, pb) = (free_port(), free_port());
    let _a = start_echo(pa, "web-aaaa-1");
    let _b = start_echo(pb, "web-bbbb-2");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("m.yaml"),
        format!(
            r#"apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: c}}
spec: {{controllerName: gateway.envoyproxy.io/gatewayclass-controller}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw}}
spec: {{gatewayClassName: c, listeners: [{{name: http, port: {listener}, protocol: HTTP}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: sticky}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - backendRefs: [{{name: web, port: 80}}]
    sessionPersistence: {{sessionName: gw-sticky, type: Cookie}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec: {{ports: [{{name: http, port: 80}}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: web-1, labels: {{kubernetes.io/service-name: web}}}}
addressType: IPv4
ports: [{{name: http, port: 0}}]
endpoints: []
"#
        ),
    )
    .expect("manifest");
    // Two endpoints on different ports: one slice per port (a slice has one port list).
    for (i, port) in [pa, pb].iter().enumerate() {
        std::fs::write(
            dir.path().join(format!("slice-{i}.yaml")),
            format!(
                "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: web-p{i}, labels: {{kubernetes.io/service-name: web}}}}\naddressType: IPv4\nports: [{{name: http, port: {port}}}]\nendpoints: [{{addresses: [127.0.0.1]}}]\n"
            ),
        )
        .expect("slice");
    }
    let _serve = start_serve(dir.path(), xds, admin, &[]);
    wait_until(Duration::from_secs(20), || {
        get(listener, "x", "/").is_ok_and(|r| r.status == 200)
    });

    let pod = |r: &Resp| -> String {
        serde_json::from_str::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| v["pod"].as_str().map(String::from))
            .unwrap_or_default()
    };
    // Without a cookie, both backends serve.
    let mut seen = std::collections::BTreeSet::new();
    let mut cookie = None;
    for _ in 0..40 {
        let r = get(listener, "x", "/").expect("request");
        seen.insert(pod(&r));
        if let Some(c) = r.header("set-cookie") {
            cookie.get_or_insert_with(|| (c.split(';').next().unwrap_or("").to_string(), pod(&r)));
        }
    }
    assert_eq!(
        seen.len(),
        2,
        "both backends should serve cookieless requests: {seen:?}"
    );
    let (cookie, first) = cookie.expect("Envoy sets the session cookie");
    assert!(cookie.starts_with("gw-sticky="), "{cookie}");
    // With the cookie, every request goes to the same backend.
    for _ in 0..20 {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", listener)).expect("connect");
        use std::io::{Read, Write};
        write!(
            c,
            "GET / HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        let mut s = String::new();
        c.read_to_string(&mut s).expect("read");
        let body = s.split("\r\n\r\n").nth(1).unwrap_or("");
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(
            v["pod"].as_str(),
            Some(first.as_str()),
            "cookie did not pin the backend"
        );
    }
}
