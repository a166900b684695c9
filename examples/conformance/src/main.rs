//! `gatewright-conformance`: replays the Gateway API v1.6.1 conformance expectations offline,
//! against `gatewright serve` with real Envoy and local echo backends, and writes the upstream
//! ConformanceReport.

mod checks;
mod grpc;
mod h2;
mod http;
mod kube;
mod l4;
mod mirror;
mod pods;
mod repeat;
mod traffic;
mod websocket;
mod weights;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};

use checks::Ctx;
use kube::{key_of, split_ref, Cluster};

#[derive(Parser)]
#[command(about = "Offline Gateway API conformance: gatewright serve, Envoy, echo backends")]
struct Args {
    /// The shared data directory (holds gateway-api/v1.6.1/conformance).
    #[arg(long, default_value = "../shared")]
    shared: PathBuf,
    /// Where to write the ConformanceReport (YAML).
    #[arg(long, default_value = "conformance-report.yaml")]
    report: PathBuf,
    /// Run only these tests (ShortName; repeatable).
    #[arg(long)]
    run: Vec<String>,
    /// The gatewright binary (default: next to this one).
    #[arg(long)]
    gatewright: Option<PathBuf>,
    /// The echo binary (default: next to this one).
    #[arg(long)]
    echo: Option<PathBuf>,
    /// The Envoy binary (default: $GATEWRIGHT_ENVOY, else .venv/bin/envoy, else PATH).
    #[arg(long)]
    envoy: Option<PathBuf>,
    /// Upper bound on every wait, in seconds (upstream waits up to 180 s).
    #[arg(long, default_value_t = 30)]
    max_wait: u64,
    /// How many of the tests upstream marks parallel run at once (1: everything in order).
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// Write the names of the passing tests here, one per line.
    #[arg(long)]
    passed_list: Option<PathBuf>,
}

const PROFILES: [&str; 5] = [
    "GATEWAY-HTTP",
    "GATEWAY-GRPC",
    "GATEWAY-TLS",
    "GATEWAY-TCP",
    "GATEWAY-UDP",
];

/// Features declared unsupported, so their tests are skipped, and why.
const UNSUPPORTED: [(&str, &str); 1] = [(
    "GatewayInfrastructurePropagation",
    "asserts on generated Pods, Services and ServiceAccounts of a cluster",
)];

/// The core features of each profile (upstream `conformance/utils/suite/profiles.go`).
fn core_features(profile: &str) -> &'static [&'static str] {
    match profile {
        "GATEWAY-HTTP" => &["Gateway", "HTTPRoute", "ReferenceGrant"],
        "GATEWAY-GRPC" => &["Gateway", "GRPCRoute", "ReferenceGrant"],
        "GATEWAY-TLS" => &["Gateway", "TLSRoute", "ReferenceGrant"],
        "GATEWAY-TCP" => &["Gateway", "TCPRoute", "ReferenceGrant"],
        "GATEWAY-UDP" => &["Gateway", "UDPRoute", "ReferenceGrant"],
        _ => &[],
    }
}

/// The value `removeAddressesWithValueOf` names: `"spec.addresses[N] (…)"` is entry N of the
/// Gateway's current `spec.addresses`, `"original spec.addresses[N] (…)"` entry N as the
/// manifest was applied; any other string is the value itself.
fn address_value(desc: &Value, gateway: &Value, original: Option<&Value>) -> Option<Value> {
    let Some(text) = desc.as_str() else {
        return Some(desc.clone());
    };
    let (list, rest) = match text.strip_prefix("original ") {
        Some(rest) => (original?, rest),
        None => (gateway.pointer("/spec/addresses")?, text),
    };
    let Some(index) = rest
        .strip_prefix("spec.addresses[")
        .and_then(|r| r.split_once(']'))
        .and_then(|(n, _)| n.parse::<usize>().ok())
    else {
        return Some(desc.clone());
    };
    list.get(index)?.get("value").cloned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

fn find_envoy(args: &Args) -> PathBuf {
    if let Some(p) = &args.envoy {
        return p.clone();
    }
    if let Some(p) = std::env::var_os("GATEWRIGHT_ENVOY") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/envoy");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("envoy")
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        // SIGTERM first so the controller stops its Envoys.
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read_manifests(conf: &Path, rel: &str) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(conf.join(rel)).map_err(|e| format!("{rel}: {e}"))?;
    kube::parse_yaml(&text).map_err(|e| format!("{rel}: {e}"))
}

/// Sets `path` (like `spec.rules[0].backendRefs[0].name` or `data[ca.crt]`) in `v`.
fn set_path(v: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let mut segs: Vec<(String, Option<String>)> = Vec::new();
    for part in path.split('.') {
        // `name[idx]` or `name[key]`; keys may contain dots only inside brackets.
        segs.push(match part.split_once('[') {
            Some((n, rest)) => (n.to_string(), Some(rest.trim_end_matches(']').to_string())),
            None => (part.to_string(), None),
        });
    }
    // Re-join bracket keys that contained dots (data[ca.crt]).
    let mut fixed: Vec<(String, Option<String>)> = Vec::new();
    for (n, b) in segs {
        if let Some((_, Some(prev))) = fixed.last_mut() {
            if !path.contains(&format!("[{prev}]")) {
                *prev = format!("{prev}.{}", n.trim_end_matches(']'));
                continue;
            }
        }
        fixed.push((n, b));
    }
    let mut cur = v;
    let last = fixed.len().saturating_sub(1);
    for (i, (name, idx)) in fixed.into_iter().enumerate() {
        if !name.is_empty() {
            if !cur.is_object() {
                *cur = json!({});
            }
            cur = cur
                .as_object_mut()
                .ok_or("not an object")?
                .entry(name)
                .or_insert(Value::Null);
        }
        match idx {
            Some(ix) => {
                if let Ok(n) = ix.parse::<usize>() {
                    let arr = cur.as_array_mut().ok_or("not a list")?;
                    cur = arr.get_mut(n).ok_or("index out of range")?;
                } else {
                    if !cur.is_object() {
                        *cur = json!({});
                    }
                    cur = cur
                        .as_object_mut()
                        .ok_or("not an object")?
                        .entry(ix)
                        .or_insert(Value::Null);
                }
                if i == last {
                    *cur = value;
                    return Ok(());
                }
            }
            None => {
                if i == last {
                    *cur = value;
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// The live value `what` names: `<path> of <Kind> <ns/name>`, where the path is like
/// `data[ca.crt]` (Secret/ConfigMap data, decoded as the cluster holds it) or
/// `spec.validation.caCertificateRefs`.
fn live_field(c: &kube::Cluster, what: &str) -> Option<Value> {
    let (path, object) = what.split_once(" of ")?;
    let (kind, r) = object.trim().split_once(' ')?;
    if let Some(key) = path.strip_prefix("data[").and_then(|k| k.strip_suffix(']')) {
        return kube::pem_of(c, kind, r.trim(), key).map(Value::from);
    }
    let mut cur = c.get(kind, r.trim())?;
    for seg in path.split('.') {
        cur = cur.get(seg)?;
    }
    Some(cur.clone())
}

fn setup_action(ctx: &Ctx, a: &Value) -> Result<(), String> {
    let s = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match s("action").as_str() {
        "sleep" => {
            let d = s("duration");
            let secs: f64 = d.trim_end_matches('s').parse().unwrap_or(1.0);
            std::thread::sleep(Duration::from_secs_f64(secs));
            Ok(())
        }
        "delete" => {
            let (ns, name) = split_ref(&s("object"));
            let mut c = ctx.cluster.lock().map_err(|e| e.to_string())?;
            c.delete(&(s("kind"), ns, name));
            Ok(())
        }
        "create" => {
            let (ns, name) = split_ref(&s("object"));
            let kind = s("kind");
            let api = match kind.as_str() {
                "Secret" | "ConfigMap" | "Service" => "v1".to_string(),
                "BackendTLSPolicy" => "gateway.networking.k8s.io/v1".to_string(),
                "TCPRoute" | "UDPRoute" | "TLSRoute" => {
                    "gateway.networking.k8s.io/v1alpha2".to_string()
                }
                _ => "gateway.networking.k8s.io/v1".to_string(),
            };
            let mut obj = json!({"apiVersion": api, "kind": kind, "metadata": {"name": name}});
            if !ns.is_empty() {
                obj["metadata"]["namespace"] = json!(ns);
            }
            for k in ["spec", "data", "metadata"] {
                if let Some(v) = a.get(k) {
                    if k == "metadata" {
                        if let (Some(m), Some(extra)) =
                            (obj["metadata"].as_object_mut(), v.as_object())
                        {
                            m.extend(extra.clone());
                        }
                    } else {
                        obj[k] = v.clone();
                    }
                }
            }
            // "{originalCAData}" and friends refer to remembered values.
            let mem = ctx.memory.lock().map_err(|e| e.to_string())?.clone();
            let mut text = obj.to_string();
            for (k, v) in &mem {
                if let Some(sv) = v.as_str() {
                    let enc = serde_json::to_string(sv).unwrap_or_default();
                    text = text.replace(&format!("\"{{{k}}}\""), &enc);
                }
            }
            let obj: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            ctx.cluster.lock().map_err(|e| e.to_string())?.apply(obj);
            Ok(())
        }
        "remember" => {
            let what = s("what");
            let v = {
                let c = ctx.cluster.lock().map_err(|e| e.to_string())?;
                live_field(&c, &what)
            };
            let v = v.ok_or(format!("cannot remember {what:?}"))?;
            ctx.memory
                .lock()
                .map_err(|e| e.to_string())?
                .insert(s("as"), v);
            Ok(())
        }
        "patch" => {
            let kind = s("kind");
            let mut c = ctx.cluster.lock().map_err(|e| e.to_string())?;
            let mut obj = c
                .get(&kind, &s("object"))
                .cloned()
                .ok_or(format!("no {kind} {}", s("object")))?;
            if let Some(sets) = a.get("set").and_then(Value::as_array) {
                let mem = ctx.memory.lock().map_err(|e| e.to_string())?.clone();
                for st in sets {
                    let p = st.get("path").and_then(Value::as_str).unwrap_or("");
                    let mut value = st.get("value").cloned().unwrap_or(Value::Null);
                    // `"{name}"` is a value stored by `remember`, of any type.
                    if let Some(m) = value
                        .as_str()
                        .and_then(|v| v.strip_prefix('{')?.strip_suffix('}'))
                        .and_then(|k| mem.get(k))
                    {
                        value = m.clone();
                    }
                    set_path(&mut obj, p, value)?;
                }
            }
            if let Some(l) = a.get("appendListener") {
                if let Some(ls) = obj
                    .pointer_mut("/spec/listeners")
                    .and_then(Value::as_array_mut)
                {
                    ls.push(l.clone());
                }
            }
            if let Some(keep) = a.get("keepOnlyListeners").and_then(Value::as_array) {
                if let Some(ls) = obj
                    .pointer_mut("/spec/listeners")
                    .and_then(Value::as_array_mut)
                {
                    ls.retain(|l| keep.contains(l.get("name").unwrap_or(&Value::Null)));
                }
            }
            if let Some(desc) = a.get("removeAddressesWithValueOf") {
                let original = c.original_addresses.get(&key_of(&obj));
                let val = address_value(desc, &obj, original).ok_or(format!(
                    "removeAddressesWithValueOf {desc}: no such address"
                ))?;
                if let Some(ad) = obj
                    .pointer_mut("/spec/addresses")
                    .and_then(Value::as_array_mut)
                {
                    ad.retain(|x| x.get("value") != Some(&val));
                }
            }
            // A patch goes to the API server directly: no applier rewrites.
            c.store(obj);
            Ok(())
        }
        "populateEndpointSlices" => {
            let mut c = ctx.cluster.lock().map_err(|e| e.to_string())?;
            let ips: Vec<(String, String, String)> = c
                .pods_of(&s("fromPodsOf"))
                .iter()
                .map(|p| (p.ip.to_string(), p.name.clone(), p.namespace.clone()))
                .collect();
            for es in a
                .get("endpointSlices")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if es.get("family").and_then(Value::as_str) != Some("IPv4") {
                    continue;
                }
                let r = es.get("object").and_then(Value::as_str).unwrap_or("");
                let Some(mut obj) = c.get("EndpointSlice", r).cloned() else {
                    continue;
                };
                obj["endpoints"] = ips
                    .iter()
                    .map(|(ip, name, ns)| {
                        json!({"addresses": [ip], "conditions": {"ready": true, "serving": true, "terminating": false},
                               "targetRef": {"kind": "Pod", "name": name, "namespace": ns}})
                    })
                    .collect();
                c.apply(obj);
            }
            Ok(())
        }
        other => Err(format!(
            "setup action {other} is not implemented by the harness"
        )),
    }
}

fn run_phase(ctx: &Ctx, test: &Value, phase: &Value) -> Result<(), String> {
    for a in phase
        .get("setup")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        setup_action(ctx, a)?;
    }
    {
        let c = ctx.cluster.lock().map_err(|e| e.to_string())?;
        if !c.wait_pods_ready(Duration::from_secs(20)) {
            return Err("echo pods not ready".into());
        }
    }
    for a in phase
        .get("status")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        checks::run(ctx, a).map_err(|e| {
            format!(
                "status {}{}: {e}",
                a.get("assert").and_then(Value::as_str).unwrap_or(""),
                a.get("name")
                    .and_then(Value::as_str)
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            )
        })?;
    }
    let defaults = phase
        .get("trafficDefaults")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let entries: Vec<Value> = phase
        .get("traffic")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let parallel = phase.get("trafficParallel").and_then(Value::as_bool) == Some(true);
    let label = |e: &Value| {
        e.get("name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                e.pointer("/request/path")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default()
    };
    if parallel {
        let results: Vec<Result<(), String>> = std::thread::scope(|sc| {
            let hs: Vec<_> = entries
                .iter()
                .map(|e| {
                    let d = &defaults;
                    sc.spawn(move || {
                        traffic::run(ctx, test, d, e)
                            .map_err(|m| format!("traffic {}: {m}", label(e)))
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("traffic thread panicked".into()))
                })
                .collect()
        });
        results.into_iter().collect::<Result<Vec<_>, _>>()?;
    } else {
        for e in &entries {
            traffic::run(ctx, test, &defaults, e)
                .map_err(|m| format!("traffic {}: {m}", label(e)))?;
        }
    }
    for w in phase
        .get("weights")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        traffic::weights(ctx, test, w)?;
    }
    Ok(())
}

/// Runs one test: apply its manifests, run every phase, then remove what it created.
fn run_test(ctx: &Ctx, conf: &Path, test: &Value) -> Result<(), String> {
    let mut created: Vec<kube::Key> = Vec::new();
    let result = (|| {
        for m in test
            .get("manifests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for obj in read_manifests(conf, m.as_str().unwrap_or(""))? {
                let mut c = ctx.cluster.lock().map_err(|e| e.to_string())?;
                let k = key_of(&obj);
                if !c.objects.contains_key(&k) {
                    created.push(k);
                }
                c.apply(obj);
            }
        }
        run_phase(ctx, test, test)?;
        let phases: Vec<Value> = test
            .get("phases")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if test.get("phasesParallel").and_then(Value::as_bool) == Some(true) {
            let r: Vec<Result<(), String>> = std::thread::scope(|sc| {
                let hs: Vec<_> = phases
                    .iter()
                    .map(|p| sc.spawn(move || run_phase(ctx, test, p)))
                    .collect();
                hs.into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| Err("phase panicked".into())))
                    .collect()
            });
            r.into_iter().collect::<Result<Vec<_>, _>>()?;
        } else {
            for p in &phases {
                let name = p.get("name").and_then(Value::as_str).unwrap_or("");
                run_phase(ctx, test, p).map_err(|e| format!("phase {name:?}: {e}"))?;
            }
        }
        Ok(())
    })();
    // Objects created by setup steps (`create`) are removed too: compare with the base.
    if let Ok(mut c) = ctx.cluster.lock() {
        for k in created.iter().rev() {
            c.delete(k);
        }
    }
    result
}

fn features_of(test: &Value, key: &str) -> Vec<String> {
    test.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

#[derive(Default, Clone)]
struct Tally {
    passed: Vec<String>,
    failed: Vec<String>,
    skipped: Vec<String>,
}

fn main() {
    let args = Args::parse();
    let conf = args.shared.join("gateway-api/v1.6.1/conformance");
    if !conf.join("expectations").is_dir() {
        eprintln!("{} not found: nothing to run", conf.display());
        std::process::exit(2);
    }
    if let Err(e) = real_main(&args, &conf) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn real_main(args: &Args, conf: &Path) -> Result<(), String> {
    let work = std::env::temp_dir().join(format!("gatewright-conformance-{}", std::process::id()));
    let dir = work.join("config");
    let logs = work.join("logs");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let controller_name = "gateway.envoyproxy.io/gatewayclass-controller".to_string();
    let echo = args
        .echo
        .clone()
        .unwrap_or_else(|| sibling("gatewright-echo"));
    let gatewright = args
        .gatewright
        .clone()
        .unwrap_or_else(|| sibling("gatewright"));
    let mut cluster = Cluster::new(dir.clone(), logs.clone(), echo, controller_name.clone());
    // Gateways' own loopback addresses are in this run's 127.N.0.0/16 with hashed last two
    // octets in 1..=254 (see `gateway_address` of gatewright serve): 127.N.0.1 is free but
    // local, so usable; 192.0.2.1 (TEST-NET-1) is never a local address.
    let net = 10 + std::process::id() % 190;
    cluster.usable_addresses =
        vec![json!({"type": "IPAddress", "value": format!("127.{net}.0.1")})];
    cluster.unusable_addresses = vec![json!({"type": "IPAddress", "value": "192.0.2.1"})];

    // Tests to run.
    let mut tests: Vec<Value> = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(conf.join("expectations"))
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some("yaml"))
        .collect();
    names.sort();
    for p in names {
        let text = std::fs::read_to_string(&p).map_err(|e| e.to_string())?;
        let v: Value =
            serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
        let name = v.get("shortName").and_then(Value::as_str).unwrap_or("");
        if args.run.is_empty() || args.run.iter().any(|r| r == name) {
            tests.push(v);
        }
    }

    // Base: GatewayClass, generated TLS material, base manifests.
    cluster.apply(json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
        "metadata": {"name": kube::CLASS},
        "spec": {"controllerName": controller_name},
    }));
    for obj in kube::generated_tls().map_err(|e| format!("certificates: {e}"))? {
        cluster.apply(obj);
    }
    for obj in read_manifests(conf, "base/manifests.yaml")? {
        cluster.apply(obj);
    }
    let admin: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let xds: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let log = std::fs::File::create(work.join("serve.log")).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(&gatewright);
    kube::die_with_parent(&mut cmd);
    let child = cmd
        .arg("serve")
        .arg("--config-dir")
        .arg(&dir)
        .args(["--xds-address", &xds.to_string()])
        .args(["--admin-address", &admin.to_string()])
        .arg("--envoy-path")
        .arg(find_envoy(args))
        // Each Gateway gets its own loopback address inside a /16 of this run's own, so that
        // runs side by side on one machine never share a listening address (pods use 127.200+).
        .args(["--listen-address", &format!("127.{net}.0.0/16")])
        .args(["--controller-name", &controller_name])
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("{}: {e}", gatewright.display()))?;
    let _serve = Serve(child);
    eprintln!("work dir {} (serve.log, logs/)", work.display());

    let cluster = Mutex::new(cluster);
    let ctx_for_test = || Ctx {
        cluster: &cluster,
        admin,
        max_wait: args.max_wait,
        controller_name: controller_name.clone(),
        memory: Mutex::new(BTreeMap::new()),
    };
    {
        let c = cluster.lock().map_err(|e| e.to_string())?;
        if !c.wait_pods_ready(Duration::from_secs(30)) {
            eprintln!("warning: some echo pods did not start");
        }
    }

    let unsupported: BTreeSet<&str> = UNSUPPORTED.iter().map(|(f, _)| *f).collect();
    let mut results: BTreeMap<String, Result<(), String>> = BTreeMap::new();
    let mut skipped: BTreeMap<String, String> = BTreeMap::new();
    // Tests to run: upstream's parallel ones first, side by side, then the others one by one.
    let mut parallel: Vec<&Value> = Vec::new();
    let mut serial: Vec<&Value> = Vec::new();
    for t in &tests {
        let name = t
            .get("shortName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let feats = features_of(t, "features");
        if let Some(f) = feats.iter().find(|f| unsupported.contains(f.as_str())) {
            skipped.insert(name.clone(), format!("feature {f} unsupported"));
            eprintln!("SKIP {name}: feature {f} unsupported");
            continue;
        }
        let skip_if = features_of(t, "skipIfFeatures");
        let only_if = features_of(t, "runOnlyIfFeatures");
        if skip_if.iter().any(|f| !unsupported.contains(f.as_str()))
            || (!only_if.is_empty() && only_if.iter().any(|f| unsupported.contains(f.as_str())))
        {
            // The Go test returns early and passes.
            results.insert(name.clone(), Ok(()));
            eprintln!("PASS {name} (returns early)");
            continue;
        }
        if t.get("parallel").and_then(Value::as_bool) == Some(true) && args.jobs > 1 {
            parallel.push(t);
        } else {
            serial.push(t);
        }
    }
    let run_one = |t: &Value| {
        let name = t
            .get("shortName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let started = Instant::now();
        let r = run_test(&ctx_for_test(), conf, t);
        match &r {
            Ok(()) => eprintln!("PASS {name} ({:.1}s)", started.elapsed().as_secs_f64()),
            Err(e) => eprintln!("FAIL {name} ({:.1}s): {e}", started.elapsed().as_secs_f64()),
        }
        (name, r)
    };
    let queue = Mutex::new(parallel.into_iter());
    let done = Mutex::new(Vec::new());
    std::thread::scope(|sc| {
        for _ in 0..args.jobs {
            sc.spawn(|| loop {
                let next = queue.lock().ok().and_then(|mut q| q.next());
                let Some(t) = next else { return };
                let r = run_one(t);
                if let Ok(mut d) = done.lock() {
                    d.push(r);
                }
            });
        }
    });
    results.extend(done.into_inner().map_err(|e| e.to_string())?);
    for t in serial {
        let (name, r) = run_one(t);
        results.insert(name, r);
    }

    // The report.
    let mut profiles = Vec::new();
    // Every passing test, tests outside the five gateway profiles (no-profile ones) included.
    let passed_all: BTreeSet<String> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(n, _)| n.clone())
        .collect();
    for p in PROFILES {
        let mut core = Tally::default();
        let mut ext = Tally::default();
        let mut ext_features: BTreeSet<String> = BTreeSet::new();
        let mut unsup_features: BTreeSet<String> = BTreeSet::new();
        for t in &tests {
            let in_profile = features_of(t, "profiles").iter().any(|x| x == p);
            if !in_profile {
                continue;
            }
            let name = t
                .get("shortName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let support = t.get("support").and_then(Value::as_str).unwrap_or("core");
            for f in features_of(t, "features") {
                if !core_features(p).contains(&f.as_str()) {
                    if unsupported.contains(f.as_str()) {
                        unsup_features.insert(f);
                    } else {
                        ext_features.insert(f);
                    }
                }
            }
            let tally = if support == "extended" {
                &mut ext
            } else {
                &mut core
            };
            match results.get(&name) {
                Some(Ok(())) => tally.passed.push(name),
                Some(Err(_)) => tally.failed.push(name),
                None => tally.skipped.push(name),
            }
        }
        let section = |t: &Tally, features: Option<(&BTreeSet<String>, &BTreeSet<String>)>| {
            let result = if !t.failed.is_empty() {
                "failure"
            } else if t.passed.is_empty() {
                "skipped"
            } else if !t.skipped.is_empty() {
                "partial"
            } else {
                "success"
            };
            let mut v = json!({
                "result": result,
                "statistics": {"Passed": t.passed.len(), "Failed": t.failed.len(), "Skipped": t.skipped.len()},
            });
            if !t.failed.is_empty() {
                v["failedTests"] = json!(t.failed);
            }
            if !t.skipped.is_empty() {
                v["skippedTests"] = json!(t.skipped);
            }
            if let Some((sup, unsup)) = features {
                v["supportedFeatures"] = json!(sup);
                if !unsup.is_empty() {
                    v["unsupportedFeatures"] = json!(unsup);
                }
            }
            v
        };
        println!(
            "{p}: core {}/{} passed ({} failed, {} skipped); extended {}/{} passed ({} failed, {} skipped)",
            core.passed.len(),
            core.passed.len() + core.failed.len() + core.skipped.len(),
            core.failed.len(),
            core.skipped.len(),
            ext.passed.len(),
            ext.passed.len() + ext.failed.len() + ext.skipped.len(),
            ext.failed.len(),
            ext.skipped.len(),
        );
        profiles.push(json!({
            "name": p,
            "core": section(&core, None),
            "extended": section(&ext, Some((&ext_features, &unsup_features))),
        }));
    }
    let not_runnable: Vec<Value> = skipped
        .iter()
        .map(|(t, why)| {
            let reason = UNSUPPORTED
                .iter()
                .find(|(f, _)| why.contains(f))
                .map(|(_, r)| *r)
                .unwrap_or("");
            json!({"test": t, "reason": format!("{why}: {reason}")})
        })
        .collect();
    let failures: BTreeMap<String, String> = results
        .iter()
        .filter_map(|(k, r)| {
            r.as_ref()
                .err()
                .map(|e| (k.clone(), e.chars().take(400).collect()))
        })
        .collect();
    let report = json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "ConformanceReport",
        "date": kube::now_rfc3339(),
        "gatewayAPIVersion": "v1.6.1",
        "gatewayAPIChannel": "experimental",
        "implementation": {
            "organization": "gatewright",
            "project": "gatewright",
            "url": "https://github.com/gatewright/gatewright",
            "version": env!("CARGO_PKG_VERSION"),
            "contact": [],
        },
        "mode": "offline",
        "profiles": profiles,
        "notRunnable": not_runnable,
        "failureReasons": failures,
    });
    let text = serde_saphyr::to_string(&report).map_err(|e| e.to_string())?;
    std::fs::write(&args.report, text).map_err(|e| format!("{}: {e}", args.report.display()))?;
    if let Some(p) = &args.passed_list {
        let mut s: String = passed_all.iter().map(|n| format!("{n}\n")).collect();
        if s.is_empty() {
            s.push('\n');
        }
        std::fs::write(p, s).map_err(|e| e.to_string())?;
    }
    drop(cluster);
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_path_keeps_dotted_keys_whole() {
        let mut v = json!({"data": {"ca.crt": "x"}, "spec": {"rules": [{"name": "a"}]}});
        set_path(&mut v, "data[ca.crt]", json!("")).expect("set");
        set_path(&mut v, "spec.rules[0].name", json!("b")).expect("set");
        assert_eq!(
            v,
            json!({"data": {"ca.crt": ""}, "spec": {"rules": [{"name": "b"}]}})
        );
    }
}
