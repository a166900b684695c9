//! Backend references: from a route's `backendRef` to a shared cluster of ready endpoints.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::cache::Dep;
use super::ir::{ClusterIr, ClusterName, RouteClusters, UpstreamProtocol, UpstreamTlsIr};
use super::{policy, refgrant};
use crate::model::*;
use crate::snapshot::{PortProtocol, Snapshot};
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
    // The Service with its ports joined to their ready endpoints, found without reading it.
    let found = snapshot
        .service_entry(ns, &bref.name)
        .filter(|(_, e)| e.has_service());
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
    let Some((service_key, entry)) = found else {
        return Err(BackendError {
            reason: reasons::BACKEND_NOT_FOUND,
            message: format!("Service {ns}/{} not found", bref.name),
        });
    };
    let (wanted, protocol) = match caller {
        Caller::Udp => ("UDP", PortProtocol::Udp),
        _ => ("TCP", PortProtocol::Tcp),
    };
    let Some(sport) = entry
        .ports()
        .iter()
        .find(|p| p.port == port && p.protocol == protocol)
    else {
        return Err(BackendError {
            reason: PORT_NOT_FOUND,
            message: format!(
                "{wanted} port {port} not found on Service {ns}/{}",
                bref.name
            ),
        });
    };
    let h2c = caller == Caller::Grpc || sport.h2c;
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
    // The Service itself is read only when a BackendTLSPolicy may govern it.
    let tls = match entry.service() {
        Some(service)
            if (caller == Caller::Http || caller == Caller::Grpc)
                && snapshot.has_any(Kind::BackendTlsPolicy) =>
        {
            upstream_tls(snapshot, service, &service.spec.ports[sport.index]).map_err(
                |message| BackendError {
                    reason: policy::INVALID_BACKEND_TLS,
                    message,
                },
            )?
        }
        _ => None,
    };
    clusters.insert(
        name.clone(),
        Arc::new(ClusterIr {
            name: name.clone(),
            service: service_key.clone(),
            endpoints: sport.endpoints.clone(),
            protocol,
            tls,
            dns: sport.dns,
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
