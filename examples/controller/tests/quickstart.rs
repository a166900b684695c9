//! The quickstart story, end to end: real `gatewright serve`, real Envoy, real echo backend.

mod support;

use std::time::Duration;

use support::*;

fn story(ads: &str) {
    let (listener, echo_port, xds, admin) = (free_port(), free_port(), free_port(), free_port());
    let _echo = start_echo(echo_port, "httpbin-7d4b5c6f8-x2x9z");
    let dir = quickstart_dir(listener, echo_port);
    let serve = start_serve(dir.path(), xds, admin, &["--ads", ads]);

    // Envoy is started on demand and serves the route.
    wait_until(Duration::from_secs(20), || {
        get(listener, "www.example.com", "/headers").is_ok_and(|r| r.status == 200)
    });
    let r = get(listener, "www.example.com", "/headers").expect("request");
    assert_eq!(r.header("server"), Some("envoy"));
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("echo JSON");
    assert_eq!(body["host"], "www.example.com");
    assert_eq!(body["path"], "/headers");
    assert_eq!(body["headers"]["User-Agent"][0], "gatewright-test");
    assert_eq!(
        get(listener, "other.example.com", "/headers")
            .expect("request")
            .status,
        404
    );
    assert_eq!(
        get(listener, "www.example.com", "/status/418")
            .expect("request")
            .status,
        418
    );

    // The GatewayClass is accepted and the Gateway programmed once Envoy ACKed, in files and over HTTP.
    wait_until(Duration::from_secs(10), || {
        let s = status(admin);
        let gw = s["status"]
            .as_array()
            .and_then(|a| a.iter().find(|o| o["kind"] == "Gateway"))
            .cloned();
        gw.is_some_and(|g| {
            g["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Programmed" && c["status"] == "True")
            })
        })
    });
    let class = std::fs::read_to_string(
        dir.path()
            .join(".status/gatewayclass.my-envoy-gateway.yaml"),
    )
    .expect("GatewayClass status file");
    assert!(
        class.contains("type: Accepted") && class.contains("status: \"True\""),
        "{class}"
    );
    let route = std::fs::read_to_string(dir.path().join(".status/httproute.default.httpbin.yaml"))
        .expect("route status");
    assert!(
        route.contains("reason: Accepted") && route.contains("reason: ResolvedRefs"),
        "{route}"
    );
    let s = status(admin);
    assert_eq!(s["proxies"].as_object().map(|m| m.len()), Some(1), "{s}");

    // SIGTERM stops Envoy too.
    let pid = s["proxies"]["default/insecure-port"]
        .as_u64()
        .expect("envoy pid") as i32;
    assert!(serve.terminate().success());
    wait_until(Duration::from_secs(10), || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
    });
    assert!(
        get(listener, "www.example.com", "/headers").is_err(),
        "Envoy still serving after shutdown"
    );
}

#[test]
fn quickstart_over_state_of_the_world_ads() {
    story("sotw");
}

#[test]
fn quickstart_over_delta_ads() {
    story("delta");
}
