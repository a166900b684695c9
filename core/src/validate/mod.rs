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
//! CEL rules see the object after the CRD defaults are applied (several read defaulted fields
//! without `has()`), so [`validate`] applies them first, as [`crate::load`] does. Required
//! fields the model cannot represent as absent are reported by the loader instead.
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
use crate::load::apply_defaults;
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
/// the status subresource drops it). CRD defaults are applied first, as the server does
/// (objects from [`crate::load`] already have them).
pub fn validate(object: &Object, channel: Channel) -> Vec<Diagnostic> {
    let mut object = object.clone();
    apply_defaults(&mut object);
    let key = object.key();
    let mut cx = Cx::new(&key, channel);
    match &object {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Severity;
    use crate::model::Kind;

    fn load(yaml: &str) -> Object {
        let mut r = crate::load::parse_str(yaml, "test.yaml");
        assert!(!r.has_errors(), "{:?}", r.diagnostics);
        r.objects.remove(0).object
    }

    /// `path: message` of every error.
    fn errors(object: &Object, channel: Channel) -> Vec<String> {
        validate(object, channel)
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect()
    }

    const ROUTE: &str =
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n";

    #[test]
    fn every_pattern_compiles() {
        fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(p) = m.get("pattern").and_then(|p| p.as_str()) {
                        out.push(p.to_string());
                    }
                    m.values().for_each(|v| collect(v, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
                _ => {}
            }
        }
        let mut patterns: Vec<String> = [
            gateway::METADATA_KEY_PATTERN,
            grpcroute::SERVICE_PATTERN,
            grpcroute::METHOD_PATTERN,
            tlsroute::RFC1123_PATTERN,
            common::DATE_TIME_PATTERN,
        ]
        .map(str::to_string)
        .to_vec();
        for kind in Kind::ALL {
            let schema = serde_json::to_value(Object::schema(kind)).expect("schema is JSON");
            collect(&schema, &mut patterns);
        }
        assert!(patterns.len() > 20);
        for p in patterns {
            assert!(
                regex::Regex::new(&p).is_ok(),
                "pattern does not compile: {p}"
            );
        }
    }

    #[test]
    fn list_limits_use_kubernetes_wording() {
        let hosts: Vec<String> = (0..17).map(|i| format!("h{i}.example.com")).collect();
        let route = load(&format!("{ROUTE}  hostnames: [{}]\n", hosts.join(", ")));
        assert_eq!(
            errors(&route, Channel::Standard),
            ["spec.hostnames: Too many: 17: must have at most 16 items"]
        );
    }

    #[test]
    fn map_list_keys_must_be_unique() {
        let route = load(&format!(
            "{ROUTE}  rules:\n  - matches:\n    - headers: [{{name: x, value: a}}, {{name: x, value: b}}]\n"
        ));
        assert_eq!(
            errors(&route, Channel::Standard),
            [
                r#"spec.rules[0].matches[0].headers[1]: Duplicate value: map[string]interface {}{"name":"x"}"#
            ]
        );
    }

    #[test]
    fn experimental_fields_are_pruned_in_the_standard_channel() {
        let route = load(&format!(
            "{ROUTE}  rules:\n  - retry: {{attempts: 0}}\n    sessionPersistence: {{type: Header, cookieConfig: {{}}}}\n"
        ));
        assert_eq!(errors(&route, Channel::Standard), Vec::<String>::new());
        let got = errors(&route, Channel::Experimental);
        assert!(
            got.contains(&"spec.rules[0].retry.attempts: Invalid value: 0: spec.rules[0].retry.attempts in body should be greater than or equal to 1".to_string()),
            "{got:?}"
        );
        assert!(
            got.contains(
                &"spec.rules[0].sessionPersistence: cookieConfig can only be set with type Cookie"
                    .to_string()
            ),
            "{got:?}"
        );
    }

    #[test]
    fn limits_that_differ_between_channels_follow_the_channel() {
        let route = load(&format!(
            "{ROUTE}  rules:\n  - matches:\n    - headers: [{{name: x, value: \"a  b\"}}]\n    filters:\n    - type: ExternalAuth\n"
        ));
        let standard = errors(&route, Channel::Standard);
        assert_eq!(
            standard,
            [
                r#"spec.rules[0].filters[0].type: Unsupported value: "ExternalAuth": supported values: "RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect", "URLRewrite", "ExtensionRef", "CORS""#
            ]
        );
        let experimental = errors(&route, Channel::Experimental);
        assert_eq!(
            experimental,
            [
                r#"spec.rules[0].matches[0].headers[0].value: Invalid value: "a  b": spec.rules[0].matches[0].headers[0].value in body should match '^[!-~]+([\t ]?[!-~]+)*$'"#,
                "spec.rules[0].filters[0]: filter.externalAuth must be specified for ExternalAuth filter.type",
            ]
        );
    }

    #[test]
    fn rules_failing_at_run_time_say_so() {
        let gateway = load("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec:\n  gatewayClassName: c\n  listeners: [{name: https, port: 443, protocol: HTTPS, tls: {}}]\n");
        assert_eq!(
            errors(&gateway, Channel::Standard),
            ["spec.listeners[0].tls: no such key: certificateRefs evaluating rule: certificateRefs or options must be specified when mode is Terminate"]
        );
    }

    #[test]
    fn objects_built_in_code_get_the_crd_defaults_first() {
        let mut route = crate::model::HttpRoute::default();
        route.metadata.name = "r".into();
        route.spec.rules = Some(vec![crate::model::HttpRouteRule {
            backend_refs: Some(vec![crate::model::HttpBackendRef {
                backend: crate::model::BackendObjectReference {
                    name: "svc".into(),
                    port: Some(80),
                    ..Default::default()
                },
                ..Default::default()
            }]),
            ..Default::default()
        }]);
        assert_eq!(
            errors(&Object::HttpRoute(route), Channel::Standard),
            Vec::<String>::new()
        );
    }

    #[test]
    fn status_updates_check_the_status_alone() {
        let old = load(&format!("{ROUTE}  parentRefs: [{{name: gw}}]\n"));
        let new = load(&format!(
            "{ROUTE}  parentRefs: [{{name: gw}}]\nstatus:\n  parents:\n  - parentRef: {{name: gw}}\n    controllerName: nope\n    conditions: []\n"
        ));
        let got: Vec<String> = validate_status_update(&old, &new, Channel::Standard)
            .into_iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect();
        assert_eq!(
            got,
            [
                r#"status.parents[0].controllerName: Invalid value: "nope": parents[0].controllerName in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$'"#,
                "status.parents[0].conditions: Invalid value: 0: parents[0].conditions in body should have at least 1 items",
            ]
        );
    }

    #[test]
    fn controller_name_is_immutable() {
        let class = |name: &str| {
            load(&format!("apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {{name: c}}\nspec: {{controllerName: {name}}}\n"))
        };
        let (old, new) = (class("example.com/a"), class("example.com/b"));
        let got: Vec<String> = validate_update(&old, &new, Channel::Standard)
            .into_iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect();
        assert_eq!(got, ["spec.controllerName: Value is immutable"]);
        assert!(validate_update(&old, &old, Channel::Standard).is_empty());
    }
}
