//! Offline validation that agrees with a Kubernetes API server running the Gateway API v1.6.1
//! CRDs.
//!
//! Every OpenAPI constraint of the CRDs (enums, patterns, lengths, item and property counts,
//! ranges, `x-kubernetes-list-type` keys, the IP address format of Gateway addresses) and every
//! CEL rule (`x-kubernetes-validations`) of GatewayClass, Gateway, ListenerSet, HTTPRoute,
//! GRPCRoute, TLSRoute, TCPRoute, UDPRoute, ReferenceGrant and BackendTLSPolicy is a
//! hand-written check here, one file per kind. The value limits come from
//! [`crate::model::limits`], the same constants that put them into the JSON Schema.
//!
//! Objects are expected as [`crate::load`] returns them: with the CRD defaults applied, which is
//! what the API server's CEL rules see (several rules read defaulted fields without `has()`).
//! Required fields the model cannot represent as absent are reported by the loader instead.
//!
//! # Messages
//!
//! Each [`Diagnostic`] has the field path in Kubernetes form (`spec.rules[0].matches[1].path`)
//! and a message:
//! - for a CEL rule, the CRD's own message, verbatim;
//! - for an OpenAPI constraint, the API server's wording after the path, e.g.
//!   `Unsupported value: "Foo": supported values: "Exact", "PathPrefix"`,
//!   `Invalid value: "x": spec.hostnames[0] in body should match '^...$'`,
//!   `Too long: may not be more than 253 bytes`, `Too many: 17: must have at most 16 items`,
//!   `Invalid value: 0: spec.port in body should be greater than or equal to 1`,
//!   `Duplicate value: "x"`, `Required value`.
//!
//! So `format!("{}: {}", d.path, d.message)` reads like the API server's field error (which
//! for a CEL rule also puts `Invalid value: "object": ` before the message).
//!
//! # Channels
//!
//! Under [`Channel::Standard`] the API server prunes experimental-only fields (`retry`,
//! `sessionPersistence`, `externalAuth`, `useDefaultGateways`, `defaultScope`), so they are
//! neither checked nor reported; rules and limits that differ between the channels (duplicate
//! `parentRefs`, rule-name uniqueness, header value patterns, filter types) follow the channel.

mod backendtlspolicy;
mod common;
mod gateway;
mod gatewayclass;
mod grpcroute;
mod httproute;
mod l4route;
mod listenerset;
mod referencegrant;
mod route;
mod tlsroute;

use crate::diagnostic::Diagnostic;
use crate::model::Object;
use common::{route_status, Cx, Path};

/// The CRD channel installed on the API server being emulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Channel {
    /// The standard channel: experimental fields are pruned.
    #[default]
    Standard,
    /// The experimental channel: every field and rule.
    Experimental,
}

/// Validates an object as the API server validates a create (its `status` is ignored, as
/// the status subresource drops it).
pub fn validate(object: &Object, channel: Channel) -> Vec<Diagnostic> {
    let key = object.key();
    let mut cx = Cx::new(&key, channel);
    match object {
        Object::GatewayClass(o) => gatewayclass::spec(&mut cx, &o.spec),
        Object::Gateway(o) => gateway::spec(&mut cx, &o.spec),
        Object::ListenerSet(o) => listenerset::spec(&mut cx, &o.spec),
        Object::HttpRoute(o) => httproute::spec(&mut cx, &o.spec),
        Object::GrpcRoute(o) => grpcroute::spec(&mut cx, &o.spec),
        Object::TlsRoute(o) => tlsroute::spec(&mut cx, &o.spec),
        Object::TcpRoute(o) => l4route::spec(&mut cx, &o.spec),
        Object::UdpRoute(o) => l4route::spec(&mut cx, &o.spec),
        Object::ReferenceGrant(o) => referencegrant::spec(&mut cx, &o.spec),
        Object::BackendTlsPolicy(o) => backendtlspolicy::spec(&mut cx, &o.spec),
        Object::Namespace(_)
        | Object::Service(_)
        | Object::EndpointSlice(_)
        | Object::Secret(_)
        | Object::ConfigMap(_) => {}
    }
    cx.out
}

/// Validates an update of the main resource: everything [`validate`] checks, plus the
/// transition rules that compare with the stored object (`oldSelf`).
pub fn validate_update(old: &Object, new: &Object, channel: Channel) -> Vec<Diagnostic> {
    let mut out = validate(new, channel);
    let key = new.key();
    let mut cx = Cx::new(&key, channel);
    if let (Object::GatewayClass(o), Object::GatewayClass(n)) = (old, new) {
        gatewayclass::transition(&mut cx, &o.spec, &n.spec);
    }
    out.extend(cx.out);
    out
}

/// Validates an update through the status subresource: only `new`'s status is taken (the
/// spec stays as stored in `old`, which was validated when written), and it is checked
/// against the status schema on its own, so "in body" names are relative to `status`.
pub fn validate_status_update(old: &Object, new: &Object, channel: Channel) -> Vec<Diagnostic> {
    let key = new.key();
    let mut cx = Cx::for_status(&key, channel);
    if old.key() != key {
        cx.error(
            &Path::root("metadata"),
            format!(
                "a status update must target the stored object {}",
                old.key()
            ),
        );
        return cx.out;
    }
    let status = Path::root("status");
    match new {
        Object::GatewayClass(o) => o
            .status
            .iter()
            .for_each(|s| gatewayclass::status(&mut cx, s)),
        Object::Gateway(o) => o.status.iter().for_each(|s| gateway::status(&mut cx, s)),
        Object::ListenerSet(o) => o
            .status
            .iter()
            .for_each(|s| listenerset::status(&mut cx, s)),
        Object::HttpRoute(o) => o
            .status
            .iter()
            .for_each(|s| route_status(&mut cx, &status, s)),
        Object::GrpcRoute(o) => o
            .status
            .iter()
            .for_each(|s| route_status(&mut cx, &status, s)),
        Object::TlsRoute(o) => o
            .status
            .iter()
            .for_each(|s| route_status(&mut cx, &status, s)),
        Object::TcpRoute(o) => o
            .status
            .iter()
            .for_each(|s| route_status(&mut cx, &status, s)),
        Object::UdpRoute(o) => o
            .status
            .iter()
            .for_each(|s| route_status(&mut cx, &status, s)),
        Object::BackendTlsPolicy(o) => o
            .status
            .iter()
            .for_each(|s| backendtlspolicy::status(&mut cx, s)),
        Object::ReferenceGrant(_)
        | Object::Namespace(_)
        | Object::Service(_)
        | Object::EndpointSlice(_)
        | Object::Secret(_)
        | Object::ConfigMap(_) => {}
    }
    cx.out
}
