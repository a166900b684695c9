//! BackendTLSPolicy: which policy governs a Service port, whether its CA certificates
//! resolve, and its status for every Gateway a route reaches the Service through.
//!
//! Choices the spec leaves open follow Envoy Gateway: a policy naming a port (`sectionName`)
//! wins over one naming the whole Service; of two naming the same target, the older (then
//! the one first by name) wins and the other is `Accepted: False / Conflicted`; an ancestor
//! is the route's parentRef; past 16 ancestors the list is cut and the last one kept carries
//! `Aggregated`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::certs;
use crate::model::*;
use crate::snapshot::Snapshot;
use crate::status::conditions::{reasons, types, ConditionBuilder};
use crate::status::StatusBody;

/// Envoy Gateway's route ResolvedRefs reason for a backend whose BackendTLSPolicy is invalid.
pub const INVALID_BACKEND_TLS: &str = "InvalidBackendTLS";
/// Envoy Gateway's condition marking the last ancestor kept when the list is cut.
pub const AGGREGATED: &str = "Aggregated";
/// The most ancestors a policy status holds (the CRD's limit).
pub const MAX_ANCESTORS: usize = 16;

/// Why a policy's CA certificates do not resolve: a ResolvedRefs reason and a message.
pub type CaError = (&'static str, String);

/// The policy governing a port of a Service, if any.
pub fn for_port<'a>(
    snapshot: &'a Snapshot,
    service: &'a Service,
    port_name: Option<&str>,
) -> Option<&'a BackendTlsPolicy> {
    let ns = service.metadata.ns();
    // The first of the most specific (a section over the whole Service), then oldest: a
    // minimum, not a sorted list (this runs for every backend of every route).
    snapshot
        .backend_tls_policies_in(ns)
        .filter_map(|p| {
            p.spec
                .target_refs
                .iter()
                .filter(|t| {
                    t.group.is_empty() && t.kind == "Service" && t.name == service.metadata.name
                })
                .filter(|t| {
                    t.section_name
                        .as_deref()
                        .is_none_or(|s| Some(s) == port_name)
                })
                .map(|t| t.section_name.is_none())
                .min()
                .map(|wildcard| (wildcard, p))
        })
        .min_by(|(wa, a), (wb, b)| wa.cmp(wb).then_with(|| age(a).cmp(&age(b))))
        .map(|(_, p)| p)
}

/// Precedence between policies: older first, then by name.
fn age(p: &BackendTlsPolicy) -> (&str, &str) {
    (
        p.metadata.creation_timestamp.as_deref().unwrap_or_default(),
        &p.metadata.name,
    )
}

/// The CA bundle of a policy: PEM text, or None for the system trust store.
pub fn ca_bundle(
    snapshot: &Snapshot,
    policy: &BackendTlsPolicy,
) -> Result<Option<String>, CaError> {
    let v = &policy.spec.validation;
    let refs = v.ca_certificate_refs.as_deref().unwrap_or_default();
    if refs.is_empty() {
        return if v.well_known_ca_certificates.as_deref() == Some("System") {
            Ok(None)
        } else {
            Err((
                reasons::INVALID_CA_CERTIFICATE_REF,
                "no CA certificate is given".into(),
            ))
        };
    }
    let ns = policy.metadata.ns();
    let mut bundle = String::new();
    for r in refs {
        let data: BTreeMap<String, String> = match (r.group.as_ref(), r.kind.as_ref()) {
            ("", "ConfigMap") => snapshot
                .config_map(ns, &r.name)
                .map(|c| c.body.data.clone())
                .ok_or_else(|| missing(ns, &r.kind, &r.name))?,
            ("", "Secret") => snapshot
                .secret(ns, &r.name)
                .map(secret_text)
                .ok_or_else(|| missing(ns, &r.kind, &r.name))?,
            (g, k) => {
                return Err((
                    reasons::INVALID_KIND,
                    format!("caCertificateRef kind {g}/{k} is not supported"),
                ))
            }
        };
        // `ca.crt`, else `tls.crt`, else the first key, as Envoy Gateway reads them.
        let pem = data
            .get("ca.crt")
            .or_else(|| data.get("tls.crt"))
            .or_else(|| data.values().next())
            .cloned()
            .unwrap_or_default();
        certs::parse_chain(&pem).map_err(|e| {
            (
                reasons::INVALID_CA_CERTIFICATE_REF,
                format!(
                    "{} {ns}/{} holds no valid CA certificate: {e}",
                    r.kind, r.name
                ),
            )
        })?;
        bundle.push_str(&pem);
        if !bundle.ends_with('\n') {
            bundle.push('\n');
        }
    }
    Ok(Some(bundle))
}

fn missing(ns: &str, kind: &str, name: &str) -> CaError {
    (
        reasons::INVALID_CA_CERTIFICATE_REF,
        format!("{kind} {ns}/{name} does not exist"),
    )
}

/// A Secret's values as text (undecodable ones are left out).
pub(super) fn secret_text(s: &Secret) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = s
        .body
        .data
        .iter()
        .filter_map(|(k, v)| {
            let bytes =
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, v.trim())
                    .ok()?;
            Some((k.clone(), String::from_utf8(bytes).ok()?))
        })
        .collect();
    out.extend(s.body.string_data.clone());
    out
}

/// Whether a policy loses a target to another policy naming the same Service port.
fn conflicted(snapshot: &Snapshot, policy: &BackendTlsPolicy) -> bool {
    let ns = policy.metadata.ns();
    policy.spec.target_refs.iter().any(|t| {
        snapshot
            .backend_tls_policies_in(ns)
            .filter(|o| o.metadata.name != policy.metadata.name)
            .filter(|o| age(o) < age(policy))
            .any(|o| {
                o.spec.target_refs.iter().any(|u| {
                    u.group == t.group
                        && u.kind == t.kind
                        && u.name == t.name
                        && u.section_name == t.section_name
                })
            })
    })
}

/// The backends of TLSRoute, TCPRoute and UDPRoute rules.
fn l4(rules: &[L4RouteRule]) -> Vec<&BackendObjectReference> {
    rules
        .iter()
        .flat_map(|r| r.backend_refs.iter().map(|b| &b.backend))
        .collect()
}

/// Every (Service namespace, name, port) a route of ours sends to, with the parentRefs it goes through.
fn service_ports(
    snapshot: &Snapshot,
    gateways: &BTreeSet<ObjectKey>,
) -> BTreeMap<(String, String, i32), BTreeSet<ParentReference>> {
    let mut out: BTreeMap<(String, String, i32), BTreeSet<ParentReference>> = BTreeMap::new();
    let mut add = |ns: &str,
                   parents: &[Arc<ParentReference>],
                   backends: Vec<&BackendObjectReference>| {
        let parents: Vec<ParentReference> = parents
            .iter()
            .filter(|p| {
                p.group() == GATEWAY_GROUP
                    && match p.kind() {
                        "Gateway" => {
                            gateways.contains(&ObjectKey::new(Kind::Gateway, p.ns(ns), &p.name))
                        }
                        "ListenerSet" => snapshot.listener_set(p.ns(ns), &p.name).is_some(),
                        _ => false,
                    }
            })
            .map(|p| ParentReference {
                namespace: Some(p.ns(ns).to_string()),
                ..(**p).clone()
            })
            .collect();
        for b in backends {
            let (Some(port), true) = (b.port, b.group().is_empty() && b.kind() == "Service") else {
                continue;
            };
            out.entry((b.ns(ns).to_string(), b.name.clone(), port))
                .or_default()
                .extend(parents.iter().cloned());
        }
    };
    // HTTPRoute and GRPCRoute rules have the same shape: backendRefs and mirror filters.
    macro_rules! http_like {
        ($routes:expr) => {
            for r in $routes {
                let backends = r.spec.rules.iter().flatten().flat_map(|rule| {
                    let filters = rule.filters.iter().flatten();
                    let mirrors = filters.filter_map(|f| f.request_mirror.as_ref());
                    let refs = rule.backend_refs.iter().flatten().map(|b| &b.backend);
                    refs.chain(mirrors.map(|m| &m.backend_ref))
                });
                let parents = r.spec.parent_refs.as_deref().unwrap_or_default();
                add(r.metadata.ns(), parents, backends.collect());
            }
        };
    }
    http_like!(snapshot.http_routes());
    http_like!(snapshot.grpc_routes());
    for r in snapshot.tls_routes() {
        add(
            r.metadata.ns(),
            r.spec.parent_refs.as_deref().unwrap_or_default(),
            l4(&r.spec.rules),
        );
    }
    for r in snapshot.tcp_routes() {
        add(
            r.metadata.ns(),
            r.spec.parent_refs.as_deref().unwrap_or_default(),
            l4(&r.spec.rules),
        );
    }
    for r in snapshot.udp_routes() {
        add(
            r.metadata.ns(),
            r.spec.parent_refs.as_deref().unwrap_or_default(),
            l4(&r.spec.rules),
        );
    }
    out
}

/// The status of every BackendTLSPolicy that governs a Service port one of our routes uses.
pub fn statuses(
    snapshot: &Snapshot,
    gateways: &BTreeSet<ObjectKey>,
    controller: &Arc<str>,
    time: &Arc<str>,
) -> Vec<(ObjectKey, StatusBody)> {
    // Without policies there is nothing to report: skip the pass over every route.
    if snapshot.of_kind(Kind::BackendTlsPolicy).next().is_none() {
        return Vec::new();
    }
    let used = service_ports(snapshot, gateways);
    let mut ancestors: BTreeMap<ObjectKey, BTreeSet<ParentReference>> = BTreeMap::new();
    for ((ns, name, port), parents) in &used {
        let Some(service) = snapshot.service(ns, name) else {
            continue;
        };
        let Some(sport) = service.spec.ports.iter().find(|p| p.port == *port) else {
            continue;
        };
        for p in snapshot.backend_tls_policies_in(ns) {
            let targets = p.spec.target_refs.iter().any(|t| {
                t.group.is_empty()
                    && t.kind == "Service"
                    && &t.name == name
                    && t.section_name
                        .as_deref()
                        .is_none_or(|s| Some(s) == sport.name.as_deref())
            });
            if targets {
                ancestors
                    .entry(ObjectKey::new(Kind::BackendTlsPolicy, ns, &p.metadata.name))
                    .or_default()
                    .extend(parents.iter().cloned());
            }
        }
    }
    let mut out = Vec::new();
    for (key, refs) in ancestors {
        let Some(policy) = snapshot.backend_tls_policy(&key.namespace, &key.name) else {
            continue;
        };
        let cb = ConditionBuilder {
            generation: policy.metadata.generation,
            time,
        };
        let conditions = if conflicted(snapshot, policy) {
            vec![cb.make(
                types::ACCEPTED,
                false,
                reasons::CONFLICTED,
                "An older BackendTLSPolicy targets the same Service port",
            )]
        } else {
            match ca_bundle(snapshot, policy) {
                Ok(_) => vec![
                    cb.make(
                        types::ACCEPTED,
                        true,
                        reasons::ACCEPTED,
                        "Policy has been accepted",
                    ),
                    cb.make(
                        types::RESOLVED_REFS,
                        true,
                        reasons::RESOLVED_REFS,
                        "Resolved all the Object references",
                    ),
                ],
                Err((reason, message)) => vec![
                    cb.make(
                        types::ACCEPTED,
                        false,
                        reasons::NO_VALID_CA_CERTIFICATE,
                        message.clone(),
                    ),
                    cb.make(types::RESOLVED_REFS, false, reason, message),
                ],
            }
        };
        let mut list: Vec<PolicyAncestorStatus> = refs
            .into_iter()
            .map(|ancestor_ref| PolicyAncestorStatus {
                ancestor_ref,
                controller_name: controller.clone(),
                conditions: conditions.clone(),
            })
            .collect();
        if list.len() > MAX_ANCESTORS {
            list.truncate(MAX_ANCESTORS);
            if let Some(last) = list.last_mut() {
                last.conditions.push(cb.make(
                    AGGREGATED,
                    true,
                    AGGREGATED,
                    "More ancestors than the status can hold; the rest share these conditions",
                ));
            }
        }
        out.push((key, StatusBody::Policy(PolicyStatus { ancestors: list })));
    }
    out
}
