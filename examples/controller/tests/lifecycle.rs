//! Living with change: edits, deletions, broken files, and a controller that dies under load.

mod support;

use std::time::{Duration, Instant};

use support::*;

struct Env {
    listener: u16,
    xds: u16,
    admin: u16,
    dir: tempfile::TempDir,
    _echo: Proc,
}

fn setup() -> Env {
    let (listener, echo_port, xds, admin) = (free_port(), free_port(), free_port(), free_port());
    let echo = start_echo(echo_port, "httpbin-1-a");
    let dir = quickstart_dir(listener, echo_port);
    Env {
        listener,
        xds,
        admin,
        dir,
        _echo: echo,
    }
}

fn serving(port: u16, host: &str) -> bool {
    get(port, host, "/").is_ok_and(|r| r.status == 200)
}

fn envoy_pid(admin: u16) -> Option<u64> {
    status(admin)["proxies"]["default/insecure-port"].as_u64()
}

#[test]
fn route_edit_takes_effect_within_a_second_without_restarting_envoy_or_dropping_connections() {
    let env = setup();
    let _serve = start_serve(env.dir.path(), env.xds, env.admin, &[]);
    wait_until(Duration::from_secs(20), || {
        serving(env.listener, "www.example.com")
    });
    let pid = envoy_pid(env.admin).expect("pid");
    let mut conn = Conn::open(env.listener).expect("connect");
    assert_eq!(
        conn.get("www.example.com", "/")
            .expect("first request")
            .status,
        200
    );

    let route = env.dir.path().join("quickstart.yaml");
    let text = std::fs::read_to_string(&route).expect("read");
    atomic_write(
        &route,
        &text.replace("- www.example.com", "- api.example.com"),
    );
    let edited = Instant::now();
    wait_until(Duration::from_secs(5), || {
        serving(env.listener, "api.example.com")
    });
    let took = edited.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "edit took {took:?} to reach Envoy"
    );
    assert_eq!(
        get(env.listener, "www.example.com", "/")
            .expect("old host")
            .status,
        404
    );
    // The connection opened before the edit still works, on the new routes.
    assert_eq!(
        conn.get("api.example.com", "/")
            .expect("same connection")
            .status,
        200
    );
    assert_eq!(envoy_pid(env.admin), Some(pid), "Envoy was restarted");
}

#[test]
fn deleting_the_gateway_stops_its_envoy_and_re_adding_starts_it() {
    let env = setup();
    let _serve = start_serve(env.dir.path(), env.xds, env.admin, &[]);
    wait_until(Duration::from_secs(20), || {
        serving(env.listener, "www.example.com")
    });
    let pid = envoy_pid(env.admin).expect("pid");
    let route = env.dir.path().join("quickstart.yaml");
    let text = std::fs::read_to_string(&route).expect("read");
    let without_gateway: String = text
        .split("\n---\n")
        .filter(|doc| !doc.contains("kind: Gateway\n"))
        .collect::<Vec<_>>()
        .join("\n---\n");
    atomic_write(&route, &without_gateway);
    wait_until(Duration::from_secs(10), || envoy_pid(env.admin).is_none());
    wait_until(Duration::from_secs(10), || {
        !std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
    });
    assert!(get(env.listener, "www.example.com", "/").is_err());
    atomic_write(&route, &text);
    wait_until(Duration::from_secs(20), || {
        serving(env.listener, "www.example.com")
    });
    assert_ne!(envoy_pid(env.admin), Some(pid));
}

#[test]
fn a_broken_file_is_reported_and_traffic_is_unchanged() {
    let env = setup();
    let _serve = start_serve(env.dir.path(), env.xds, env.admin, &[]);
    wait_until(Duration::from_secs(20), || {
        serving(env.listener, "www.example.com")
    });
    std::fs::write(
        env.dir.path().join("broken.yaml"),
        "kind: HTTPRoute\nmetadata: {name: [\n",
    )
    .expect("write");
    // Breaking a file that served before keeps its last good contents.
    let route = env.dir.path().join("quickstart.yaml");
    let text = std::fs::read_to_string(&route).expect("read");
    atomic_write(&route, &format!("{text}\n---\n: : not yaml [\n"));
    wait_until(Duration::from_secs(5), || {
        let d = status(env.admin)["diagnostics"].to_string();
        d.contains("broken.yaml") && d.contains("quickstart.yaml")
    });
    let diag = std::fs::read_to_string(env.dir.path().join(".status/diagnostics.yaml"))
        .expect("diagnostics file");
    assert!(diag.contains("YAML syntax error"), "{diag}");
    for _ in 0..20 {
        assert!(serving(env.listener, "www.example.com"));
    }
}

#[test]
fn killing_the_controller_under_load_drops_no_request_and_a_restart_converges() {
    let env = setup();
    let serve = start_serve(env.dir.path(), env.xds, env.admin, &[]);
    wait_until(Duration::from_secs(20), || {
        serving(env.listener, "www.example.com")
    });
    let pid = envoy_pid(env.admin).expect("pid");

    let port = env.listener;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    // A bounded load generator: at most 60 s, on loopback.
    let load = std::thread::spawn(move || {
        let (mut ok, mut failed) = (0u64, 0u64);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !s.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline {
            match get(port, "www.example.com", "/") {
                Ok(r) if r.status == 200 => ok += 1,
                _ => failed += 1,
            }
        }
        (ok, failed)
    });
    std::thread::sleep(Duration::from_millis(500));
    serve.kill(); // no chance to clean up
    std::thread::sleep(Duration::from_secs(1));
    let serve = start_serve(env.dir.path(), env.xds, env.admin, &[]);
    wait_until(Duration::from_secs(10), || {
        envoy_pid(env.admin) == Some(pid)
    });
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed) = load.join().expect("load thread");
    assert!(ok > 50, "only {ok} requests went through");
    assert_eq!(
        failed, 0,
        "{failed} requests failed while the controller was away"
    );

    // The adopted Envoy follows the new controller, once it reopens its xDS stream: at most
    // the bootstrap's longest retry wait after the controller is back.
    let route = env.dir.path().join("quickstart.yaml");
    let text = std::fs::read_to_string(&route).expect("read");
    atomic_write(
        &route,
        &text.replace("- www.example.com", "- after.example.com"),
    );
    let retry = Duration::from_millis(gatewright::xds::bootstrap::XDS_RETRY_MAX_MS);
    wait_until(retry + Duration::from_secs(5), || {
        serving(env.listener, "after.example.com")
    });
    drop(serve);
    // Clean up the adopted Envoy, which a SIGKILLed controller cannot.
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
}

/// SIGTERM as soon as the first Envoy starts (the controller may still be in its first
/// rebuild): the controller stops that Envoy before it exits. Only a SIGKILL leaves Envoy
/// running, to be adopted.
#[test]
fn sigterm_during_startup_leaves_no_envoy_behind() {
    let env = setup();
    // Enough routes that the first rebuild is still writing their status when Envoy starts.
    let many: String = (0..3000)
        .map(|i| {
            format!(
                "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: r{i}, namespace: default}}\nspec:\n  parentRefs: [{{name: insecure-port}}]\n  hostnames: [\"h{i}.example.com\"]\n  rules:\n  - backendRefs: [{{name: httpbin, port: 8000}}]\n---\n"
            )
        })
        .collect();
    std::fs::write(env.dir.path().join("many.yaml"), many).expect("write routes");
    let serve = start_serve(env.dir.path(), env.xds, env.admin, &[]);
    let log = env.dir.path().with_extension("log");
    let mut pid = None;
    wait_until(Duration::from_secs(20), || {
        // The log line is `... Envoy started gateway=default/insecure-port pid=N` (plain text: not a terminal).
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        pid = text
            .lines()
            .find(|l| l.contains("Envoy started"))
            .and_then(|l| {
                let digits = l.split("pid=").nth(1)?.split(|c: char| !c.is_ascii_digit());
                digits.into_iter().next()?.parse::<i32>().ok()
            });
        pid.is_some()
    });
    let pid = pid.expect("Envoy's pid in the log");
    let status = serve.terminate();
    assert!(status.success(), "serve exited with {status}");
    let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
    assert!(!alive, "Envoy {pid} outlived a SIGTERMed controller");
}
