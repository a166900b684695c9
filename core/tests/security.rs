//! Security properties over generated resource graphs (see core/tests/common):
//!
//! - no cluster, endpoint or secret reaches a Gateway from another namespace unless a
//!   ReferenceGrant allows it, and removing the grants removes them;
//! - private key bytes never appear in status, diagnostics, `output::document` or the
//!   Debug output of a translation, only in `output::static_bootstrap`;
//! - real Envoy (`envoy --mode validate`) accepts the static bootstrap of a sample of
//!   generated graphs (Envoy is `$GATEWRIGHT_ENVOY`, else `<repo>/.venv/bin/envoy`;
//!   `scripts/test.sh` installs it).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use gatewright::engine::{Change, Engine};
use gatewright::load::parse_str;
use gatewright::output::{document, static_bootstrap, DocumentOptions};
use gatewright::translate::ir::{ActionIr, GatewayIr};
use gatewright::{translate, Kind, Object, Options, Snapshot, Translation};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

/// A Gateway `gw-{n}` whose HTTPS listener takes its certificate from `cert_ns`.
fn gateway_with_cert_from(n: u8, cert_ns: usize) -> Object {
    let port = 8000 + u32::from(n) * 10 + 1;
    let v = json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": format!("gw-{n}"), "namespace": "infra"},
        "spec": {"gatewayClassName": CLASS, "listeners": [
            {"name": "https", "port": port, "protocol": "HTTPS", "hostname": "*.example.com",
             "tls": {"certificateRefs": [{"name": "cert", "namespace": NAMESPACES[cert_ns]}]},
             "allowedRoutes": {"namespaces": {"from": "All"}}}]}
    });
    let r = parse_str(&v.to_string(), "gen.json");
    r.objects.into_iter().next().expect("gateway loads").object
}

/// A ReferenceGrant in `to_ns` letting Gateways of `infra` use its Secrets.
fn secret_grant(to_ns: usize) -> Object {
    let v = json!({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
        "metadata": {"name": "gateways-from-infra", "namespace": NAMESPACES[to_ns]},
        "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "infra"}],
                 "to": [{"group": "", "kind": "Secret"}]}});
    let r = parse_str(&v.to_string(), "gen.json");
    r.objects.into_iter().next().expect("grant loads").object
}

/// Graphs from the common generator, plus Gateways with certificates from other namespaces
/// and grants for them.
fn graph_with_secret_refs() -> impl Strategy<Value = Vec<Object>> {
    (
        graph(),
        prop::collection::vec((0u8..2, 0usize..3), 0..3),
        prop::collection::vec(0usize..3, 0..3),
    )
        .prop_map(|(mut objs, gws, grants)| {
            objs.extend(gws.into_iter().map(|(n, ns)| gateway_with_cert_from(n, ns)));
            objs.extend(grants.into_iter().map(secret_grant));
            objs
        })
}

/// What the snapshot's ReferenceGrants allow: (from kind, from ns, to kind, to ns, to name).
struct Grants(Vec<(Kind, String, String, String, Option<String>)>);

impl Grants {
    fn of(snapshot: &Snapshot) -> Grants {
        let mut out = Vec::new();
        for o in snapshot.iter() {
            let Object::ReferenceGrant(g) = o else {
                continue;
            };
            let ns = g.metadata.namespace.clone().unwrap_or_default();
            for f in &g.spec.from {
                for t in &g.spec.to {
                    let Some(from) = Kind::parse(&f.kind) else {
                        continue;
                    };
                    out.push((
                        from,
                        f.namespace.clone(),
                        t.kind.clone(),
                        ns.clone(),
                        t.name.clone(),
                    ));
                }
            }
        }
        Grants(out)
    }

    fn allows(&self, from: Kind, from_ns: &str, to_kind: &str, to_ns: &str, to_name: &str) -> bool {
        from_ns == to_ns
            || self.0.iter().any(|(k, fns, tk, tns, tn)| {
                *k == from
                    && fns == from_ns
                    && tk == to_kind
                    && tns == to_ns
                    && tn.as_deref().is_none_or(|n| n == to_name)
            })
    }
}

/// Routes by kind and namespace that reference each Service (namespace, name).
fn service_refs(snapshot: &Snapshot) -> Vec<(Kind, String, String, String)> {
    let mut out = Vec::new();
    for o in snapshot.iter() {
        let key = o.key();
        let v = serde_json::to_value(o).expect("object serializes");
        let rules = v["spec"]["rules"].as_array().cloned().unwrap_or_default();
        for rule in rules {
            for b in rule["backendRefs"].as_array().cloned().unwrap_or_default() {
                let ns = b["namespace"]
                    .as_str()
                    .unwrap_or(&key.namespace)
                    .to_string();
                let name = b["name"].as_str().unwrap_or_default().to_string();
                out.push((key.kind, key.namespace.to_string(), ns, name));
            }
        }
    }
    out
}

/// Every cross-namespace cluster, endpoint set and secret of every Gateway is allowed by a grant.
fn check_references(snapshot: &Snapshot, t: &Translation) -> Result<(), String> {
    let grants = Grants::of(snapshot);
    let refs = service_refs(snapshot);
    for (gw, ir) in &t.gateways {
        let gw_ns = gw.split('/').next().unwrap_or_default();
        // HTTP and gRPC routes know their source: each cluster they forward or mirror to.
        for port in ir.ports.values() {
            let Some(table) = &port.http else { continue };
            for route in table.vhosts.values().flatten() {
                let mut clusters: Vec<&gatewright::translate::ir::ClusterName> = route
                    .extras
                    .iter()
                    .flat_map(|x| x.mirrors.iter().map(|(c, _)| c))
                    .collect();
                if let ActionIr::Forward { clusters: cs, .. } = &route.action {
                    clusters.extend(cs.iter().map(|b| &b.cluster));
                }
                for c in clusters {
                    let Some(cluster) = ir.clusters.get(c) else {
                        return Err(format!(
                            "{gw}: route {} uses unknown cluster {c}",
                            route.name
                        ));
                    };
                    let svc = &cluster.service;
                    if !grants.allows(
                        route.source.kind,
                        &route.source.namespace,
                        "Service",
                        &svc.namespace,
                        &svc.name,
                    ) {
                        return Err(format!(
                            "{gw}: {:?} {}/{} reaches Service {}/{} without a ReferenceGrant",
                            route.source.kind,
                            route.source.namespace,
                            route.source.name,
                            svc.namespace,
                            svc.name
                        ));
                    }
                }
            }
        }
        // Every cluster (L4 routes too) has a route that may reference its Service.
        for (name, cluster) in &ir.clusters {
            let svc = &cluster.service;
            let reachable = refs.iter().any(|(kind, ns, sns, sname)| {
                **sns == *svc.namespace
                    && **sname == *svc.name
                    && grants.allows(*kind, ns, "Service", sns, sname)
            });
            if !reachable {
                return Err(format!(
                    "{gw}: cluster {name} for Service {}/{} has no route allowed to reference it",
                    svc.namespace, svc.name
                ));
            }
        }
        for (name, secret) in &ir.secrets {
            let (ns, sname) = secret.name.split_once('/').unwrap_or(("", &secret.name));
            if !grants.allows(Kind::Gateway, gw_ns, "Secret", ns, sname) {
                return Err(format!(
                    "{gw}: secret {name} from {ns} without a ReferenceGrant"
                ));
            }
        }
    }
    Ok(())
}

/// Whether any Gateway uses anything from outside its route's (or its own) namespace.
fn cross_namespace(
    ir: &GatewayIr,
    gw_ns: &str,
    refs: &[(Kind, String, String, String)],
) -> Vec<String> {
    let mut out = Vec::new();
    for (name, cluster) in &ir.clusters {
        let svc = &cluster.service;
        let same_ns_user = refs.iter().any(|(_, ns, sns, sname)| {
            ns == sns && **sns == *svc.namespace && **sname == *svc.name
        });
        if !same_ns_user {
            out.push(format!("cluster {name}"));
        }
    }
    for name in ir.secrets.keys() {
        if !name.starts_with(&format!("{gw_ns}/")) {
            out.push(format!("secret {name}"));
        }
    }
    out
}

fn key_marker() -> &'static str {
    // A line of the key's base64 body: present wherever the key is, in PEM or JSON.
    TEST_KEY.lines().nth(2).expect("key has a body")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn cross_namespace_references_need_a_grant_and_go_when_it_goes(objs in graph_with_secret_refs()) {
        let snapshot = Snapshot::from_objects(objs);
        let t = translate(&snapshot, &Options::default());
        if let Err(e) = check_references(&snapshot, &t) {
            prop_assert!(false, "{}", e);
        }

        // Remove every ReferenceGrant, incrementally: nothing cross-namespace stays.
        let mut engine = Engine::with_snapshot(snapshot.clone(), Options::default());
        engine.translate();
        let grants: Vec<_> = snapshot
            .iter()
            .filter(|o| o.kind() == Kind::ReferenceGrant)
            .map(|o| o.key())
            .collect();
        for g in grants {
            engine.apply(Change::Delete(g));
        }
        let without = engine.translate();
        let refs = service_refs(engine.snapshot());
        let full = translate(engine.snapshot(), &Options::default());
        let checked: Vec<(&str, &Translation)> = vec![("full", &full), ("incremental", &without)];
        for (label, tr) in checked {
            for (gw, ir) in &tr.gateways {
                let gw_ns = gw.split('/').next().unwrap_or_default();
                let leaked = cross_namespace(ir, gw_ns, &refs);
                prop_assert!(
                    leaked.is_empty(),
                    "{} ({} translation) keeps {:?} after its ReferenceGrants were removed",
                    gw,
                    label,
                    leaked
                );
            }
        }

        prop_assert!(without.gateways == full.gateways, "incremental removal differs from a full translation");
    }

    #[test]
    fn private_keys_appear_only_in_static_bootstraps(objs in graph_with_secret_refs()) {
        let snapshot = Snapshot::from_objects(objs);
        let t = translate(&snapshot, &Options::default());
        let marker = key_marker();
        let status = serde_json::to_string(&t.status).expect("status");
        prop_assert!(!status.contains(marker), "key in status");
        let diagnostics = serde_json::to_string(&t.diagnostics).expect("diagnostics");
        prop_assert!(!diagnostics.contains(marker), "key in diagnostics");
        let display: String = t.diagnostics.iter().map(|d| d.to_string()).collect();
        prop_assert!(!display.contains(marker), "key in diagnostics text");
        let doc = serde_json::to_string(&document(&t, &DocumentOptions::default()).expect("render")).expect("json");
        prop_assert!(!doc.contains(marker), "key in output::document");
        prop_assert!(!format!("{t:?}").contains(marker), "key in Debug of the translation");
        prop_assert!(!format!("{t:#?}").contains(marker), "key in pretty Debug of the translation");
        prop_assert!(!format!("{snapshot:?}").contains(marker), "key in Debug of the snapshot");
        let mut engine = Engine::with_snapshot(snapshot.clone(), Options::default());
        engine.translate();
        prop_assert!(!format!("{engine:?}").contains(marker), "key in Debug of the engine");
        for (gw, ir) in &t.gateways {
            let b = static_bootstrap(&t, gw, "127.0.0.1").expect("bootstrap").to_string();
            // The one place the key must be: Envoy needs it to terminate TLS.
            prop_assert_eq!(b.contains(marker), !ir.secrets.is_empty(), "{}: key in bootstrap iff it has secrets", gw);
        }
    }
}

fn envoy() -> PathBuf {
    if let Some(p) = std::env::var_os("GATEWRIGHT_ENVOY").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let local = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/envoy"));
    assert!(
        local.exists(),
        "Envoy not found at $GATEWRIGHT_ENVOY or {}: run scripts/install-envoy.sh (scripts/test.sh does)",
        local.display()
    );
    local.to_path_buf()
}

/// `envoy --mode validate` on a sample of 8 generated graphs (a new sample every run).
#[test]
fn envoy_accepts_static_bootstraps_of_generated_graphs() {
    let envoy = envoy();
    let dir = std::env::temp_dir().join(format!("gatewright-security-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = graph_with_secret_refs();
    let mut seen = BTreeSet::new();
    let mut n = 0usize;
    for _ in 0..8 {
        let objs = strategy
            .new_tree(&mut runner)
            .expect("generate a graph")
            .current();
        let t = translate(&Snapshot::from_objects(objs), &Options::default());
        for gw in t.gateways.keys() {
            let config = static_bootstrap(&t, gw, "127.0.0.1")
                .expect("bootstrap")
                .to_string();
            if !seen.insert(config.clone()) {
                continue;
            }
            n += 1;
            let file = dir.join(format!("bootstrap-{n}.json"));
            std::fs::write(&file, &config).expect("write bootstrap");
            let out = Command::new(&envoy)
                .args(["--mode", "validate", "--log-level", "error", "-c"])
                .arg(&file)
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", envoy.display()));
            if !out.status.success() {
                let text = String::from_utf8_lossy(&out.stdout).to_string()
                    + &String::from_utf8_lossy(&out.stderr);
                panic!(
                    "Envoy rejected the bootstrap of {gw} (kept at {}): {}",
                    file.display(),
                    text.lines().rev().take(4).collect::<Vec<_>>().join(" | ")
                );
            }
            let _ = std::fs::remove_file(&file);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("envoy --mode validate accepted {n} distinct bootstraps");
}

/// The properties above are not vacuous: a grant does let a Service and a Secret in, and
/// removing it takes them out.
#[test]
fn a_grant_lets_a_reference_in_and_its_removal_takes_it_out() {
    let mut objs = base();
    objs.push(gateway(0, "All", None));
    objs.push(gateway_with_cert_from(1, 1));
    objs.push(service(NAMESPACES[2], 0));
    objs.push(slice(NAMESPACES[2], 0, 2));
    objs.push(route(&RouteSpec {
        kind: 0,
        ns: 1,
        n: 0,
        gw: 0,
        section: Some("http"),
        host: None,
        backends: vec![(2, 0, 1)],
        path: "/",
        exact: false,
    }));
    let route_grant = grant(1, 2);
    let cert_grant = secret_grant(1);
    objs.push(route_grant.clone());
    objs.push(cert_grant.clone());
    let mut engine = Engine::with_snapshot(Snapshot::from_objects(objs), Options::default());
    let t = engine.translate();
    check_references(engine.snapshot(), &t).expect("allowed references");
    let has_cluster = |t: &Translation| {
        t.gateways["infra/gw-0"]
            .clusters
            .values()
            .any(|c| &*c.service.namespace == "team-b")
    };
    let has_secret = |t: &Translation| t.gateways["infra/gw-1"].secrets.contains_key("team-a/cert");
    assert!(has_cluster(&t), "the granted Service is a cluster");
    assert!(has_secret(&t), "the granted Secret is served");

    engine.apply(Change::Delete(route_grant.key()));
    engine.apply(Change::Delete(cert_grant.key()));
    let t = engine.translate();
    assert!(!has_cluster(&t), "the Service left with its grant");
    assert!(!has_secret(&t), "the Secret left with its grant");
}

/// Found by `envoy_accepts_static_bootstraps_of_generated_graphs`: two TLSRoutes from different
/// namespaces with one hostname on a passthrough listener gave two filter chains with the same
/// match, and Envoy refused the whole listener. The first chain keeps the name now.
#[test]
fn tls_routes_sharing_a_hostname_do_not_break_the_listener() {
    let mut objs = base();
    objs.push(gateway(0, "All", None));
    for ns in [0, 2] {
        objs.push(service(NAMESPACES[ns], 0));
        objs.push(slice(NAMESPACES[ns], 0, 1));
    }
    for (ns, n) in [(0, 5), (2, 2)] {
        objs.push(route(&RouteSpec {
            kind: 2,
            ns,
            n,
            gw: 0,
            section: None,
            host: Some("other.org"),
            backends: vec![(ns, 0, 1)],
            path: "/",
            exact: false,
        }));
    }
    let t = translate(&Snapshot::from_objects(objs), &Options::default());
    let b = static_bootstrap(&t, "infra/gw-0", "127.0.0.1").expect("bootstrap");
    let mut matches = BTreeSet::new();
    for l in b["static_resources"]["listeners"]
        .as_array()
        .expect("listeners")
    {
        for c in l["filter_chains"].as_array().into_iter().flatten() {
            let m = c["filter_chain_match"].to_string();
            assert!(
                matches.insert((l["name"].to_string(), m.clone())),
                "two filter chains of {} match {m}",
                l["name"]
            );
        }
    }
    let dir = std::env::temp_dir().join(format!("gatewright-tls-dup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("bootstrap.json");
    std::fs::write(&file, b.to_string()).expect("write");
    let out = Command::new(envoy())
        .args(["--mode", "validate", "--log-level", "error", "-c"])
        .arg(&file)
        .output()
        .expect("run envoy");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
