//! `cargo bench -p gatewright --bench translate`: translation at scale, with the baseline
//! measured in the same run: protobuf-encoding the finished output, which no translation can beat.
//!
//! Inputs have the shape of Envoy Gateway's scale test: one Gateway, 5 hostnames, N HTTPRoutes
//! with one rule and one Service backend each (N = 100, 1,000, 10,000). A plain harness (not
//! criterion) so the ratios of one run can be printed side by side; each figure is the median
//! of repeated runs.

// The allocator `gatewright` (the controller binary) links. `BENCH_ALLOC=system cargo bench`
// (read when the bench is compiled) measures with the system allocator instead, for embedders
// that keep theirs.
#[global_allocator]
static ALLOC: BenchAlloc = BenchAlloc;

struct BenchAlloc;

const SYSTEM_ALLOC: bool = match option_env!("BENCH_ALLOC") {
    Some(v) => matches!(v.as_bytes(), b"system"),
    None => false,
};

/// The allocator chosen at compile time.
fn chosen() -> &'static dyn std::alloc::GlobalAlloc {
    if SYSTEM_ALLOC {
        &std::alloc::System
    } else {
        &gatewright::alloc::Allocator
    }
}

// SAFETY: every call goes to the one allocator chosen at compile time, so a block is always
// freed by the allocator that made it.
unsafe impl std::alloc::GlobalAlloc for BenchAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        unsafe { chosen().alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { chosen().dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        unsafe { chosen().realloc(ptr, layout, new) }
    }
}

use std::hint::black_box;
use std::time::{Duration, Instant};

use gatewright::engine::{Change, Engine, Update};
use gatewright::load::parse_str;
use gatewright::xds::encoded::EncodedCache;
use gatewright::xds::{self, Delivery, GatewayResources};
use gatewright::{Object, Options, Parallelism, Snapshot};

fn load(text: &str) -> Vec<Object> {
    parse_str(text, "bench.yaml")
        .objects
        .into_iter()
        .map(|l| l.object)
        .collect()
}

fn gateway(listener_port: u16) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {{name: eg}}\nspec: {{controllerName: gateway.envoyproxy.io/gatewayclass-controller}}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: gw, namespace: default}}\nspec:\n  gatewayClassName: eg\n  listeners:\n  - {{name: http, port: {listener_port}, protocol: HTTP, allowedRoutes: {{namespaces: {{from: All}}}}}}\n"
    )
}

fn route(i: usize, path: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: route-{i}, namespace: default}}\nspec:\n  parentRefs: [{{name: gw}}]\n  hostnames: [\"host-{h}.example.com\"]\n  rules:\n  - matches: [{{path: {{type: PathPrefix, value: \"{path}\"}}}}]\n    backendRefs: [{{name: svc-{i}, port: 8080}}]\n",
        h = i % 5
    )
}

fn service(i: usize, ip_last: usize) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}, namespace: default}}\nspec: {{ports: [{{name: http, port: 8080}}]}}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: svc-{i}-a, namespace: default, labels: {{kubernetes.io/service-name: svc-{i}}}}}\naddressType: IPv4\nports: [{{name: http, port: 3000}}]\nendpoints: [{{addresses: [\"10.{a}.{b}.{ip_last}\"]}}]\n",
        a = i / 250,
        b = i % 250
    )
}

fn input(n: usize) -> Vec<Object> {
    let mut text = gateway(8080);
    for i in 0..n {
        text.push_str("---\n");
        text.push_str(&route(i, &format!("/svc-{i}")));
        text.push_str("---\n");
        text.push_str(&service(i, 1));
    }
    load(&text)
}

/// The mixed input: every route kind, many Gateways and listeners, and backends across
/// namespaces through ReferenceGrants. Of N routes, 60 % are HTTPRoutes, 15 % GRPCRoutes and
/// 10 % each TLSRoutes and TCPRoutes, 5 % UDPRoutes, spread over N/100 namespaces and N/250
/// Gateways of 12 listeners each (8 HTTP hostnames, one for gRPC, TLS passthrough, TCP, UDP).
/// A quarter of the routes send to a Service in the next namespace, which grants them that
/// (three ReferenceGrants per namespace, two of them for other referrers). Some HTTP rules match headers
/// or change request headers. A TCP or UDP listener forwards to its oldest route; the others
/// stay accepted (TCPRouteMultipleRoutesAttachment).
fn mixed(n: usize) -> Vec<Object> {
    load(&mixed_text(n))
}

/// The mixed input as YAML (`BENCH_WRITE=FILE` writes it, for `gatewright translate FILE`).
fn mixed_text(n: usize) -> String {
    let gateways = (n / 250).max(2);
    let namespaces = (n / 100).max(3);
    let mut text = String::from(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: eg}\nspec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}\n",
    );
    let all = "allowedRoutes: {namespaces: {from: All}}";
    for g in 0..gateways {
        text.push_str(&format!(
            "---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: gw-{g}, namespace: infra}}\nspec:\n  gatewayClassName: eg\n  listeners:\n"
        ));
        for h in 0..8 {
            text.push_str(&format!(
                "  - {{name: http-{h}, port: 80, protocol: HTTP, hostname: h{h}.gw{g}.example.com, {all}}}\n"
            ));
        }
        text.push_str(&format!(
            "  - {{name: grpc, port: 80, protocol: HTTP, hostname: grpc.gw{g}.example.com, {all}}}\n  - {{name: tls, port: 8443, protocol: TLS, hostname: \"*.tls{g}.example.com\", tls: {{mode: Passthrough}}, {all}}}\n  - {{name: tcp, port: 9000, protocol: TCP, {all}}}\n  - {{name: udp, port: 9001, protocol: UDP, {all}}}\n"
        ));
    }
    let kinds = "[{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: NS}, {group: gateway.networking.k8s.io, kind: GRPCRoute, namespace: NS}, {group: gateway.networking.k8s.io, kind: TLSRoute, namespace: NS}, {group: gateway.networking.k8s.io, kind: TCPRoute, namespace: NS}, {group: gateway.networking.k8s.io, kind: UDPRoute, namespace: NS}]";
    for a in 0..namespaces {
        let to = (a + 1) % namespaces;
        let other = (a + 2) % namespaces;
        for (name, from) in [("routes", a), ("other", other)] {
            text.push_str(&format!(
                "---\napiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {{name: from-{name}-{from}, namespace: app-{to}}}\nspec:\n  from: {}\n  to: [{{group: \"\", kind: Service}}]\n",
                kinds.replace("NS", &format!("app-{from}"))
            ));
        }
        text.push_str(&format!(
            "---\napiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {{name: secrets, namespace: app-{to}}}\nspec:\n  from: [{{group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}}]\n  to: [{{group: \"\", kind: Secret}}]\n"
        ));
    }
    for i in 0..n {
        // Every Gateway and namespace gets every kind of route.
        let ns = (i / 3) % namespaces;
        let g = (i / 20) % gateways;
        let svc_ns = if i % 4 == 0 {
            (ns + 1) % namespaces
        } else {
            ns
        };
        let parent = format!("[{{name: gw-{g}, namespace: infra, sectionName: SECTION}}]");
        let backend =
            |port: u16| format!("[{{name: svc-{i}, namespace: app-{svc_ns}, port: {port}}}]");
        let head = |kind: &str, version: &str, section: &str| {
            format!(
                "---\napiVersion: gateway.networking.k8s.io/{version}\nkind: {kind}\nmetadata: {{name: r-{i}, namespace: app-{ns}}}\nspec:\n  parentRefs: {}\n",
                parent.replace("SECTION", section)
            )
        };
        match i % 20 {
            0..=11 => {
                let h = i % 8;
                text.push_str(&head("HTTPRoute", "v1", &format!("http-{h}")));
                text.push_str(&format!(
                    "  hostnames: [h{h}.gw{g}.example.com]\n  rules:\n  - matches: [{{path: {{type: PathPrefix, value: /r{i}}}{}}}]\n",
                    if i % 3 == 0 { ", headers: [{name: x-tenant, value: t}]" } else { "" }
                ));
                if i % 5 == 0 {
                    text.push_str("    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-route, value: r}]}}]\n");
                }
                text.push_str(&format!("    backendRefs: {}\n", backend(8080)));
            }
            12..=14 => {
                text.push_str(&head("GRPCRoute", "v1", "grpc"));
                text.push_str(&format!(
                    "  hostnames: [grpc.gw{g}.example.com]\n  rules:\n  - matches: [{{method: {{service: svc{i}.Echo}}}}]\n    backendRefs: {}\n",
                    backend(8080)
                ));
            }
            15 | 16 => {
                text.push_str(&head("TLSRoute", "v1alpha2", "tls"));
                text.push_str(&format!(
                    "  hostnames: [t{i}.tls{g}.example.com]\n  rules:\n  - backendRefs: {}\n",
                    backend(8443)
                ));
            }
            17 | 18 => {
                text.push_str(&head("TCPRoute", "v1alpha2", "tcp"));
                text.push_str(&format!("  rules:\n  - backendRefs: {}\n", backend(9000)));
            }
            _ => {
                text.push_str(&head("UDPRoute", "v1alpha2", "udp"));
                text.push_str(&format!("  rules:\n  - backendRefs: {}\n", backend(9001)));
            }
        }
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}, namespace: app-{svc_ns}}}\nspec: {{ports: [{{name: http, port: 8080}}, {{name: tls, port: 8443}}, {{name: tcp, port: 9000}}, {{name: udp, port: 9001, protocol: UDP}}]}}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: svc-{i}-a, namespace: app-{svc_ns}, labels: {{kubernetes.io/service-name: svc-{i}}}}}\naddressType: IPv4\nports: [{{name: http, port: 3000}}, {{name: tls, port: 3443}}, {{name: tcp, port: 4000}}, {{name: udp, port: 4001, protocol: UDP}}]\nendpoints: [{{addresses: [\"10.{a}.{b}.1\"]}}, {{addresses: [\"10.{a}.{b}.2\"]}}]\n",
            a = i / 250,
            b = i % 250
        ));
    }
    text
}

/// The median of measured times.
fn middle(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The median time of a closure that measures (part of) itself into its argument.
fn timed(mut f: impl FnMut(&mut Duration), budget: Duration, min_runs: usize) -> Duration {
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < min_runs || (start.elapsed() < budget && times.len() < 1000) {
        let mut t = Duration::ZERO;
        f(&mut t);
        times.push(t);
    }
    middle(&mut times)
}

/// Builds every Gateway's Envoy resources and drops each where it was built, as `gatewright
/// translate` does (it renders each Gateway's on the thread that built them): how many there
/// were.
fn build_each(t: &gatewright::Translation, opts: &Options) -> usize {
    t.each_gateway(&opts.parallel, |_, ir| {
        let r = xds::build(ir, Delivery::Ads, "0.0.0.0");
        r.clusters.len() + r.routes.len() + r.listeners.len()
    })
    .into_iter()
    .sum()
}

/// Every Gateway's Envoy resources, built as `gatewright translate` builds them (on several
/// threads for a large translation of several Gateways).
fn build_all(t: &gatewright::Translation, opts: &Options) -> Vec<GatewayResources> {
    t.each_gateway(&opts.parallel, |_, ir| {
        xds::build(ir, Delivery::Ads, "0.0.0.0")
    })
}

fn fmt(d: Duration) -> String {
    if d.as_secs_f64() >= 1e-3 {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    }
}

/// How long each figure of a size is measured (`cargo test --benches` only checks it runs).
fn budget_for(n: usize, quick: bool) -> Duration {
    match (quick, n >= 10_000) {
        (true, _) => Duration::ZERO,
        (false, true) => Duration::from_secs(6),
        (false, false) => Duration::from_secs(3),
    }
}

/// The medians of a full translation (`translate()`, every Gateway's xDS structs built and
/// dropped as `gatewright translate` does, the translation dropped), of `translate()` alone,
/// and of encoding the output. The translation and its baseline alternate, run by run, so
/// both see the same machine (a shared one drifts by tens of percent within a minute).
fn measure_full(
    snapshot: &Snapshot,
    opts: &Options,
    budget: Duration,
    runs: usize,
) -> (Duration, Duration, Duration) {
    let (mut full, mut translate_only, mut encode) = (Vec::new(), Vec::new(), Vec::new());
    let start = Instant::now();
    while full.len() < runs || (start.elapsed() < budget * 2 && full.len() < 1000) {
        let t = Instant::now();
        let translation = gatewright::translate(snapshot, opts);
        translate_only.push(t.elapsed());
        black_box(build_each(&translation, opts));
        full.push(t.elapsed());
        // The same resources again, kept to be encoded (untimed): the baseline runs right
        // after the translation it is compared with.
        let out = build_all(&translation, opts);
        let d = Instant::now();
        drop(translation);
        *full.last_mut().expect("pushed above") += d.elapsed();
        let e = Instant::now();
        for r in &out {
            black_box(r.encoded());
        }
        encode.push(e.elapsed());
    }
    (
        middle(&mut full),
        middle(&mut translate_only),
        middle(&mut encode),
    )
}

/// The columns both tables share: full, per route, `translate()` alone, encode, ratio; then
/// the same translation on one thread, with its ratio to an encode measured alongside it.
fn full_columns(
    snapshot: &Snapshot,
    opts: &Options,
    n: usize,
    budget: Duration,
    runs: usize,
) -> String {
    let (full, translate_only, encode) = measure_full(snapshot, opts, budget, runs);
    let one = Options {
        parallel: Parallelism::ONE_THREAD,
        ..opts.clone()
    };
    let (full_one, _, encode_one) = measure_full(snapshot, &one, budget, runs);
    format!(
        "{} | {} | {} | {} | {:.2}× | {} | {:.2}×",
        fmt(full),
        fmt(full / n as u32),
        fmt(translate_only),
        fmt(encode),
        full.as_secs_f64() / encode.as_secs_f64(),
        fmt(full_one),
        full_one.as_secs_f64() / encode_one.as_secs_f64()
    )
}

/// Routes of a translation whose every parent accepted them with all references resolved.
fn accepted_routes(t: &gatewright::Translation) -> usize {
    t.status
        .iter()
        .filter(|s| match &s.status {
            gatewright::status::StatusBody::Route(r) => {
                !r.parents.is_empty()
                    && r.parents.iter().all(|p| {
                        ["Accepted", "ResolvedRefs"].iter().all(|want| {
                            p.conditions
                                .iter()
                                .any(|c| c.type_ == *want && c.status == "True")
                        })
                    })
            }
            _ => false,
        })
        .count()
}

/// An engine over `snapshot` with every Gateway encoded once: what `serve` holds between
/// changes.
fn serving(snapshot: &Snapshot, opts: &Options) -> (Engine, EncodedCache) {
    let mut engine = Engine::with_snapshot(snapshot.clone(), opts.clone());
    engine.update();
    let mut cache = EncodedCache::default();
    for (_, ir) in engine.gateways() {
        black_box(cache.build(ir, "0.0.0.0"));
    }
    (engine, cache)
}

/// Encodes again the Gateways an update changed, as `serve` does after each change.
fn encode_changed(engine: &Engine, cache: &mut EncodedCache, update: &Update) {
    for gw in &update.gateways {
        if let Some(ir) = engine.gateway(gw) {
            black_box(cache.build(ir, "0.0.0.0"));
        }
    }
}

/// The middle route of `n`, its path flipping with `f`.
fn changed_route(n: usize, f: usize) -> Object {
    load(&route(n / 2, &format!("/changed-{}", f % 2)))[0].clone()
}

/// The EndpointSlice of the middle route's Service, its address flipping with `f`.
fn changed_slice(n: usize, f: usize) -> Object {
    load(&service(n / 2, 1 + f % 2))[1].clone()
}

fn main() {
    // `cargo test --benches` runs this with `--bench`-less args; keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = match std::env::var("BENCH_SIZES") {
        Ok(v) => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) if quick => vec![100],
        Err(_) => vec![100, 1_000, 10_000],
    };
    // `BENCH_PROFILE=full|route|slice|encode|snapshot` loops one operation for a profiler
    // (`route` and `slice`: one changed object, the engine's update and the encoded resources,
    // as `serve` does; `snapshot`: indexing cloned objects).
    if let Ok(path) = std::env::var("BENCH_WRITE") {
        let text = mixed_text(sizes[0]);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {path}: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Ok(what) = std::env::var("BENCH_PROFILE") {
        let n = sizes[0];
        // `BENCH_INPUT=mixed` profiles the mixed input (`full` and `encode` only).
        let objects = match std::env::var("BENCH_INPUT").as_deref() {
            Ok("mixed") => mixed(n),
            _ => input(n),
        };
        let snapshot = Snapshot::from_objects(objects.clone());
        // `BENCH_THREADS=1` keeps the work on the thread a profiler follows from `translate`.
        let opts = Options {
            parallel: Parallelism {
                threads: std::env::var("BENCH_THREADS")
                    .ok()
                    .and_then(|s| s.parse().ok()),
                ..Parallelism::default()
            },
            ..Options::default()
        };
        let (mut engine, mut cache) = serving(&snapshot, &opts);
        let encoded = build_all(&gatewright::translate(&snapshot, &opts), &opts);
        let secs = std::env::var("BENCH_PROFILE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10);
        let start = Instant::now();
        let mut i = 0usize;
        while start.elapsed() < Duration::from_secs(secs) {
            i += 1;
            match what.as_str() {
                "route" | "slice" => {
                    let object = if what == "route" {
                        changed_route(n, i)
                    } else {
                        changed_slice(n, i)
                    };
                    engine.apply(Change::Upsert(object, None));
                    let update = engine.update();
                    encode_changed(&engine, &mut cache, &update);
                }
                "snapshot" => {
                    black_box(Snapshot::from_objects(objects.clone()));
                }
                "encode" => {
                    for r in &encoded {
                        black_box(r.encoded());
                    }
                }
                _ => {
                    black_box(build_each(&gatewright::translate(&snapshot, &opts), &opts));
                }
            }
        }
        // The run count turns a profile's totals into per-run figures (callgrind of two
        // lengths: the difference over the runs between them leaves the setup out).
        eprintln!("{what}: {i} runs");
        return;
    }
    let opts = Options::default();
    println!("| routes | full (translate + xDS) | per route | `translate()` alone | encode baseline | ratio | one thread: full | one thread: ratio | 1 route: translate | 1 route: xDS | 1 EndpointSlice: translate | 1 EndpointSlice: xDS | 1 listener: translate | 1 listener: xDS | snapshot of the objects |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        let objs = input(n);
        let snapshot = Snapshot::from_objects(objs.clone());
        let budget = budget_for(n, quick);
        let runs = if quick { 1 } else { 5 };
        let full = full_columns(&snapshot, &opts, n, budget, runs);

        // Incremental: the engine applies one change and updates (translation), then the
        // encoded Envoy resources of the Gateways that changed are rebuilt (xDS), reusing the
        // bytes of what did not change, as `gatewright serve` does. The changed object is
        // parsed outside the timed part.
        let (mut engine, mut cache) = serving(&snapshot, &opts);
        let mut flip = 0usize;
        let mut incr = |make: &mut dyn FnMut(usize) -> Object| {
            let mut xds_times = Vec::new();
            let translation = timed(
                |t| {
                    flip += 1;
                    let object = make(flip);
                    let start = Instant::now();
                    engine.apply(Change::Upsert(object, None));
                    let update = engine.update();
                    *t = start.elapsed();
                    let start = Instant::now();
                    encode_changed(&engine, &mut cache, &update);
                    xds_times.push(start.elapsed());
                },
                budget,
                runs,
            );
            xds_times.sort();
            (translation, xds_times[xds_times.len() / 2])
        };
        let one_route = incr(&mut |f| changed_route(n, f));
        let one_slice = incr(&mut |f| changed_slice(n, f));
        let one_listener = incr(&mut |f| load(&gateway(8080 + (f % 2) as u16))[1].clone());
        // Indexing the parsed objects (what `gatewright translate` does before translating, and
        // what is kept up to date per change in `serve`): what the snapshot's indexes cost, so
        // that work moved into them shows.
        let index = timed(
            |t| {
                let objs = objs.clone();
                let start = Instant::now();
                let snapshot = Snapshot::from_objects(objs);
                *t = start.elapsed();
                drop(black_box(snapshot));
            },
            budget,
            runs,
        );
        println!(
            "| {n} | {full} | {} | {} | {} | {} | {} | {} | {} |",
            fmt(one_route.0),
            fmt(one_route.1),
            fmt(one_slice.0),
            fmt(one_slice.1),
            fmt(one_listener.0),
            fmt(one_listener.1),
            fmt(index),
        );
    }

    // The mixed input: the same full translation, with what a scale test of one route kind
    // misses (many Gateways and listeners, every route kind, grants across namespaces).
    println!();
    println!("| mixed: routes | objects | Gateways | routes accepted | full (translate + xDS) | per route | `translate()` alone | encode baseline | ratio | one thread: full | one thread: ratio |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        let objects = mixed(n);
        let count = objects.len();
        let snapshot = Snapshot::from_objects(objects);
        let t = gatewright::translate(&snapshot, &opts);
        // Every route is accepted with its references resolved (the cross-namespace ones through
        // their grants): a broken input would measure nothing.
        let accepted = accepted_routes(&t);
        let gateways = t.gateways.len();
        assert_eq!(accepted, n, "mixed input: not every route accepted");
        drop(t);
        let runs = if quick { 1 } else { 5 };
        let full = full_columns(&snapshot, &opts, n, budget_for(n, quick), runs);
        println!("| {n} | {count} | {gateways} | {accepted} | {full} |");
    }
}
