//! `gatewright translate --explain`: where every route went, or exactly why it did not,
//! with the file and line of each object.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::model::{Kind, ObjectKey};
use crate::snapshot::Snapshot;
use crate::status::{StatusBody, StatusObject};
use crate::translate::ir::{GatewayIr, TlsChainAction};
use crate::translate::Translation;

/// Where a route's rules ended up in one Gateway: `port N, host H: K route entries`.
fn placements(gw: &GatewayIr, route: &ObjectKey) -> Vec<String> {
    let mut out = Vec::new();
    let route_id = format!("{}/{}", route.namespace, route.name);
    for ((port, udp), p) in &gw.ports {
        let proto = if *udp { "udp" } else { "tcp" };
        let tables = p
            .http
            .iter()
            .map(|t| ("", t))
            .chain(p.tls_chains.iter().filter_map(|c| match &c.action {
                TlsChainAction::Http(t) => Some(("tls ", t)),
                TlsChainAction::Forward(_) => None,
            }));
        for (tls, table) in tables {
            for (host, routes) in &table.vhosts {
                let n = routes.iter().filter(|r| &r.source == route).count();
                if n > 0 {
                    out.push(format!(
                        "{tls}port {port}/{proto}, host {host}: {n} route entr{}",
                        if n == 1 { "y" } else { "ies" }
                    ));
                }
            }
        }
        for c in &p.tls_chains {
            if let TlsChainAction::Forward(f) = &c.action {
                if f.name == route_id {
                    let sni = if c.server_names.is_empty() {
                        "*".to_string()
                    } else {
                        c.server_names.join(",")
                    };
                    out.push(format!(
                        "port {port}/{proto}, SNI {sni}: forwarded to {}",
                        clusters(&f.clusters)
                    ));
                }
            }
        }
        if let Some(f) = &p.forward {
            if f.name == route_id {
                out.push(format!(
                    "port {port}/{proto}: forwarded to {}",
                    clusters(&f.clusters)
                ));
            }
        }
    }
    out
}

fn clusters(c: &[(crate::translate::ir::ClusterName, u32)]) -> String {
    if c.is_empty() {
        return "nothing (no usable backend)".into();
    }
    c.iter()
        .map(|(n, w)| format!("{n} (weight {w})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn status_of<'a>(t: &'a Translation, key: &ObjectKey) -> Option<&'a StatusObject> {
    t.status.iter().find(|s| s.key().as_ref() == Some(key))
}

/// A readable account of every route: its source, and per parentRef the listeners it reached
/// (ports, hostnames, backends) or the reason it did not.
pub fn explain(snapshot: &Snapshot, t: &Translation) -> String {
    let mut out = String::new();
    let gateways: BTreeMap<&String, &GatewayIr> = t.gateways.iter().collect();
    for kind in Kind::ROUTES {
        for obj in snapshot.of_kind(kind) {
            let key = obj.key();
            let src = snapshot
                .source(&key)
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            let _ = writeln!(out, "{} {}/{}{src}", kind, key.namespace, key.name);
            let Some(StatusBody::Route(st)) = status_of(t, &key).map(|s| &s.status) else {
                let _ = writeln!(
                    out,
                    "  not handled: no parentRef names a Gateway of this controller\n"
                );
                continue;
            };
            for p in &st.parents {
                let ns = p
                    .parent_ref
                    .namespace
                    .clone()
                    .unwrap_or_else(|| key.namespace.to_string());
                let mut target = format!(
                    "{} {ns}/{}",
                    p.parent_ref.kind.as_deref().unwrap_or("Gateway"),
                    p.parent_ref.name
                );
                if let Some(s) = &p.parent_ref.section_name {
                    let _ = write!(target, " section {s}");
                }
                if let Some(port) = p.parent_ref.port {
                    let _ = write!(target, " port {port}");
                }
                let _ = writeln!(out, "  parentRef {target}:");
                for c in &p.conditions {
                    let _ = writeln!(
                        out,
                        "    {} = {} ({}): {}",
                        c.type_, c.status, c.reason, c.message
                    );
                }
                let gw_name = format!("{ns}/{}", p.parent_ref.name);
                let gw_src = snapshot
                    .source(&ObjectKey::new(Kind::Gateway, &ns, &p.parent_ref.name))
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                match gateways.get(&gw_name).map(|g| placements(g, &key)) {
                    Some(places) if !places.is_empty() => {
                        let _ = writeln!(out, "    programmed on Gateway {gw_name}{gw_src}:");
                        for pl in places {
                            let _ = writeln!(out, "      {pl}");
                        }
                    }
                    _ => {
                        let _ =
                            writeln!(out, "    programmed nowhere on Gateway {gw_name}{gw_src}");
                    }
                }
            }
            let _ = writeln!(out);
        }
    }
    if out.is_empty() {
        out.push_str("no routes\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_attachment_and_rejection_with_sources() {
        let text = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: c}\nspec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec: {gatewayClassName: c, listeners: [{name: http, port: 80, protocol: HTTP}]}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: ok}\nspec: {parentRefs: [{name: gw}], hostnames: [a.example.com]}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: bad}\nspec: {parentRefs: [{name: gw, sectionName: nope}]}\n";
        let snap = Snapshot::from_loaded(crate::load::parse_str(text, "m.yaml").objects);
        let t = crate::translate(&snap, &Default::default());
        let e = explain(&snap, &t);
        assert!(e.contains("HTTPRoute default/ok (m.yaml:11)"), "{e}");
        assert!(
            e.contains("port 80/tcp, host a.example.com: 1 route entry"),
            "{e}"
        );
        assert!(e.contains("HTTPRoute default/bad (m.yaml:16)"), "{e}");
        assert!(e.contains("Accepted = False (NoMatchingParent)"), "{e}");
        assert!(
            e.contains("programmed nowhere on Gateway default/gw (m.yaml:6)"),
            "{e}"
        );
    }
}
