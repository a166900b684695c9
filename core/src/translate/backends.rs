//! Backend references: from a route's `backendRef` to a shared cluster of ready endpoints.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::cache::Dep;
use super::ir::{ClusterIr, ClusterName, RouteClusters, UpstreamProtocol, UpstreamTlsIr};
use super::{policy, refgrant};
use crate::model::*;
use crate::snapshot::{Endpoints, Snapshot};
use crate::status::conditions::reasons;

/// Why a backendRef did not resolve: a ResolvedRefs reason and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError {
    /// The ResolvedRefs reason.
    pub reason: &'static str,
    /// What to tell the user.
    pub message: String,
}

/// Envoy Gateway's ResolvedRefs reason for a backendRef to a Service without a port.
pub const PORT_NOT_SPECIFIED: &str = "PortNotSpecified";
/// Envoy Gateway's ResolvedRefs reason for a Service port that does not exist (for this protocol).
pub const PORT_NOT_FOUND: &str = "PortNotFound";

/// The label that ties an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The route kind asking, which decides the protocol spoken upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// HTTPRoute.
    Http,
    /// GRPCRoute: always HTTP/2.
    Grpc,
    /// TLSRoute/TCPRoute.
    Tcp,
    /// UDPRoute.
    Udp,
}

/// Resolves a backend reference made from `from_kind` in `from_ns`, adding its cluster to `clusters`.
pub fn resolve(
    snapshot: &Snapshot,
    from_kind: &str,
    from_ns: &str,
    bref: &BackendObjectReference,
    caller: Caller,
    clusters: &mut RouteClusters,
    deps: Option<&mut BTreeSet<Dep>>,
) -> Result<ClusterName, BackendError> {
    let ns = bref.ns(from_ns);
    let found = snapshot.get_parts_keyed(Kind::Service, ns, &bref.name);
    if let Some(deps) = deps {
        // The Service's own key shares its names; only a missing Service needs new ones.
        let (sns, sname): (Arc<str>, Arc<str>) = match found {
            Some((k, _)) => (k.namespace.clone(), k.name.clone()),
            None => (ns.into(), bref.name.as_str().into()),
        };
        if ns != from_ns {
            deps.insert(Dep::GrantsIn(sns.clone()));
        }
        deps.insert(Dep::PoliciesIn(sns.clone()));
        deps.insert(Dep::Service(sns, sname));
    }
    if bref.group() != "" || bref.kind() != "Service" {
        return Err(BackendError {
            reason: reasons::INVALID_KIND,
            message: format!(
                "backendRef {}/{} has unsupported kind {:?} in group {:?}; only core Services are supported",
                ns,
                bref.name,
                bref.kind(),
                bref.group()
            ),
        });
    }
    if !refgrant::allowed(
        snapshot,
        (GATEWAY_GROUP, from_kind, from_ns),
        ("", "Service", ns, &bref.name),
    ) {
        return Err(BackendError {
            reason: reasons::REF_NOT_PERMITTED,
            message: format!(
                "backendRef to Service {ns}/{} is not permitted by any ReferenceGrant in namespace {ns}",
                bref.name
            ),
        });
    }
    // Envoy Gateway's reasons for a missing or unusable port (the spec lists none for it).
    let Some(port) = bref.port else {
        return Err(BackendError {
            reason: PORT_NOT_SPECIFIED,
            message: format!(
                "backendRef to Service {ns}/{} must specify a port",
                bref.name
            ),
        });
    };
    let Some((service_key, Object::Service(service))) = found else {
        return Err(BackendError {
            reason: reasons::BACKEND_NOT_FOUND,
            message: format!("Service {ns}/{} not found", bref.name),
        });
    };
    let wanted = if caller == Caller::Udp { "UDP" } else { "TCP" };
    let Some(sport) = service
        .spec
        .ports
        .iter()
        .find(|p| p.port == port && p.protocol.as_deref().unwrap_or("TCP") == wanted)
    else {
        return Err(BackendError {
            reason: PORT_NOT_FOUND,
            message: format!(
                "{wanted} port {port} not found on Service {ns}/{}",
                bref.name
            ),
        });
    };
    let h2c = caller == Caller::Grpc
        || matches!(
            sport.app_protocol.as_deref(),
            Some("kubernetes.io/h2c" | "h2c" | "grpc")
        );
    let protocol = if h2c && caller != Caller::Tcp {
        UpstreamProtocol::H2c
    } else {
        UpstreamProtocol::Http1
    };
    let name = super::names::cluster(ns, &bref.name, port, protocol == UpstreamProtocol::H2c);
    if let Some(name) = clusters.name(name.as_str()) {
        return Ok(name.clone());
    }
    let name: ClusterName = name.into();
    let (endpoints, dns) = endpoints(snapshot, service, sport);
    let tls = if caller == Caller::Http || caller == Caller::Grpc {
        upstream_tls(snapshot, service, sport).map_err(|message| BackendError {
            reason: policy::INVALID_BACKEND_TLS,
            message,
        })?
    } else {
        None
    };
    clusters.insert(
        name.clone(),
        Arc::new(ClusterIr {
            name: name.clone(),
            service: service_key.clone(),
            endpoints,
            protocol,
            tls,
            dns,
        }),
    );
    Ok(name)
}

/// Whether any EndpointSlice of a Service has a ready endpoint (on any port).
pub fn has_ready_endpoints(snapshot: &Snapshot, service: &ObjectKey) -> bool {
    snapshot
        .ready_endpoints(&service.namespace, &service.name)
        .is_some_and(|r| r.any())
}

/// Ready endpoints of a Service port from its EndpointSlices (or its ExternalName), and whether
/// they are DNS names.
fn endpoints(snapshot: &Snapshot, service: &Service, sport: &ServicePort) -> (Endpoints, bool) {
    if service.spec.type_.as_deref() == Some("ExternalName") {
        if let Some(host) = &service.spec.external_name {
            return (Arc::new([(host.as_str().into(), sport.port as u16)]), true);
        }
    }
    let ready = snapshot.ready_endpoints(service.metadata.ns(), &service.metadata.name);
    match ready.and_then(|r| r.port(sport.name.as_deref().unwrap_or(""))) {
        Some(port) => (port.endpoints.clone(), port.dns),
        None => (Arc::new([]), false),
    }
}

/// Upstream TLS from the BackendTLSPolicy governing this Service port; an error when that
/// policy's CA certificates do not resolve.
fn upstream_tls(
    snapshot: &Snapshot,
    service: &Service,
    sport: &ServicePort,
) -> Result<Option<UpstreamTlsIr>, String> {
    let Some(policy) = policy::for_port(snapshot, service, sport.name.as_deref()) else {
        return Ok(None);
    };
    let ca_pem = policy::ca_bundle(snapshot, policy).map_err(|(_, m)| {
        format!(
            "BackendTLSPolicy {}/{} is invalid: {m}",
            policy.metadata.ns(),
            policy.metadata.name
        )
    })?;
    let v = &policy.spec.validation;
    let sans = v
        .subject_alt_names
        .iter()
        .flatten()
        .filter_map(|s| match s.type_.as_str() {
            "Hostname" => s.hostname.clone().map(|h| (false, h)),
            "URI" => s.uri.clone().map(|u| (true, u)),
            _ => None,
        })
        .collect();
    Ok(Some(UpstreamTlsIr {
        sni: v.hostname.clone(),
        ca_pem,
        sans,
    }))
}
