//! Gateway-wide TLS (`Gateway.spec.tls`): the client certificates HTTPS listeners ask for and
//! validate (`frontend`), and the certificate the Gateway presents to TLS backends (`backend`).
//!
//! Where the spec leaves the choice open we do what Envoy Gateway does:
//! - the Gateway gets `ResolvedRefs: True` ("Successfully resolved all TLS references") when
//!   `spec.tls` is set and everything in it resolves; a broken frontend CA reference sets it
//!   `False / InvalidParameters` (after a broken backend client certificate, which the spec
//!   says is `InvalidClientCertificateRef` or `RefNotPermitted`);
//! - `AllowInsecureFallback` anywhere gives the Gateway `InsecureFrontendValidationMode: True /
//!   ConfigurationChanged`, and Envoy requests a client certificate but accepts any or none;
//! - a listener whose every CA certificate reference is invalid is `ResolvedRefs: False`,
//!   `Programmed: False` (both with the reference's reason) and `Accepted: False /
//!   NoValidCACertificate`, so it serves nothing rather than serving without validation.
//! - a per-port entry without `validation` turns validation off for that port.
//!
//! Validation applies to HTTPS listeners only (the spec's "Listeners handling HTTPS traffic"),
//! those of the Gateway's ListenerSets included: they share the port's Envoy listener.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::ir::{ClientValidationIr, SecretIr};
use super::listeners::{self, ListenerCtx, Protocol};
use super::{certs, policy, refgrant};
use crate::model::*;
use crate::snapshot::Snapshot;
use crate::status::conditions::{reasons, types, ConditionBuilder};

/// Envoy Gateway's reason for an unusable `spec.tls.backend.clientCertificateRef`.
pub const INVALID_CLIENT_CERTIFICATE_REF: &str = "InvalidClientCertificateRef";
/// The Gateway condition set while a frontend validation mode is `AllowInsecureFallback`.
pub const INSECURE_FRONTEND_VALIDATION_MODE: &str = "InsecureFrontendValidationMode";
/// Envoy Gateway's reason for [`INSECURE_FRONTEND_VALIDATION_MODE`].
pub const CONFIGURATION_CHANGED: &str = "ConfigurationChanged";
/// The frontend validation mode that lets clients through without a valid certificate.
pub const ALLOW_INSECURE_FALLBACK: &str = "AllowInsecureFallback";

/// A reference problem: a condition reason and a message naming the reference.
type RefError = (&'static str, String);

/// `spec.tls` of one Gateway, resolved.
#[derive(Debug, Clone, Default)]
pub struct GatewayTls {
    /// Gateway conditions: `ResolvedRefs` (when `spec.tls` is set) and
    /// `InsecureFrontendValidationMode`.
    pub conditions: Vec<Condition>,
    /// The certificate presented to TLS backends, when it resolves.
    pub backend_cert: Option<SecretIr>,
    /// Client certificate validation by port.
    frontend: Frontend,
}

/// One validation setting (`default` or a `perPort` entry), resolved.
#[derive(Debug, Clone, Default)]
struct Resolved {
    /// What the listeners get: None when no CA certificate resolved.
    validation: Option<ClientValidationIr>,
    /// The references that did not resolve.
    errors: Vec<RefError>,
}

/// Frontend validation: the default and the per-port overrides (None: validation off).
#[derive(Debug, Clone, Default)]
struct Frontend {
    default: Option<Resolved>,
    per_port: BTreeMap<i32, Option<Resolved>>,
}

impl GatewayTls {
    /// Resolves `spec.tls` of a Gateway.
    pub fn resolve(snapshot: &Snapshot, gw: &Gateway, time: &Arc<str>) -> GatewayTls {
        let mut out = GatewayTls::default();
        let Some(tls) = &gw.spec.tls else {
            return out;
        };
        let cb = ConditionBuilder {
            generation: gw.metadata.generation,
            time,
        };
        let mut problem: Option<RefError> = None;
        if let Some(r) = tls
            .backend
            .as_ref()
            .and_then(|b| b.client_certificate_ref.as_ref())
        {
            match client_certificate(snapshot, gw, r) {
                Ok(s) => out.backend_cert = Some(s),
                Err(e) => problem = Some(e),
            }
        }
        let mut insecure = false;
        if let Some(f) = &tls.frontend {
            let mut resolve = |t: &TlsConfig| {
                t.validation.as_ref().map(|v| {
                    insecure |= v.mode.as_deref() == Some(ALLOW_INSECURE_FALLBACK);
                    resolve_validation(snapshot, gw, v)
                })
            };
            out.frontend.default = resolve(&f.default);
            for p in f.per_port.iter().flatten() {
                out.frontend.per_port.insert(p.port, resolve(&p.tls));
            }
            if problem.is_none() {
                problem = out.frontend.problem();
            }
        }
        out.conditions.push(match problem {
            Some((reason, message)) => cb.make(types::RESOLVED_REFS, false, reason, message),
            None => cb.make(
                types::RESOLVED_REFS,
                true,
                reasons::RESOLVED_REFS,
                "Successfully resolved all TLS references for the gateway",
            ),
        });
        if insecure {
            out.conditions.push(cb.make(
                INSECURE_FRONTEND_VALIDATION_MODE,
                true,
                CONFIGURATION_CHANGED,
                "Gateway is using AllowInsecureFallback frontend validation mode",
            ));
        }
        out
    }

    /// Gives an HTTPS listener the client validation of its port, or the conditions saying
    /// why its CA certificates do not resolve.
    pub fn apply(&self, l: &mut ListenerCtx, time: &Arc<str>) {
        if l.protocol != Some(Protocol::Https) {
            return;
        }
        let Some(r) = self.frontend.for_port(l.port) else {
            return;
        };
        l.client_validation = r.validation.clone();
        let Some((reason, _)) = r.errors.first() else {
            return;
        };
        let message = format!(
            "Listener has invalid caCertificateRef for frontend TLS validation: {}",
            r.errors
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
        if r.validation.is_none() {
            l.set(time, types::RESOLVED_REFS, false, *reason, message.clone());
            l.set(time, types::PROGRAMMED, false, *reason, message.clone());
            l.set(
                time,
                types::ACCEPTED,
                false,
                reasons::NO_VALID_CA_CERTIFICATE,
                message.clone(),
            );
        } else if l
            .condition(types::RESOLVED_REFS)
            .is_none_or(|c| c.status == "True" || l.refs_usable)
        {
            // Some CA certificates resolved: the listener validates with those.
            l.set(time, types::RESOLVED_REFS, false, *reason, message.clone());
            l.refs_usable = true;
        }
        l.spec_valid = !l.has_invalid_condition();
    }
}

impl Frontend {
    /// The setting for a port: its per-port entry, else the default.
    fn for_port(&self, port: i32) -> Option<&Resolved> {
        match self.per_port.get(&port) {
            Some(p) => p.as_ref(),
            None => self.default.as_ref(),
        }
    }

    /// The Gateway-level problem: the first reference of the default, else of a port, that
    /// does not resolve (Envoy Gateway's reason and wording).
    fn problem(&self) -> Option<RefError> {
        let first = |r: &Option<Resolved>| {
            r.as_ref()
                .and_then(|r| r.errors.first())
                .map(|(_, m)| m.clone())
        };
        if let Some(m) = first(&self.default) {
            return Some((
                reasons::INVALID_PARAMETERS,
                format!("Failed to get default frontend CA certs for gateway: {m}"),
            ));
        }
        self.per_port.iter().find_map(|(port, r)| {
            first(r).map(|m| {
                (
                    reasons::INVALID_PARAMETERS,
                    format!("Failed to get frontend CA certs for gateway port {port}: {m}"),
                )
            })
        })
    }
}

/// Resolves the CA certificates of one validation setting: the valid ones are bundled, the
/// others reported.
fn resolve_validation(snapshot: &Snapshot, gw: &Gateway, v: &FrontendTlsValidation) -> Resolved {
    let mut bundle = String::new();
    let mut errors = Vec::new();
    for r in &v.ca_certificate_refs {
        match ca_certificate(snapshot, gw, r) {
            Ok(pem) => {
                bundle.push_str(&pem);
                if !bundle.ends_with('\n') {
                    bundle.push('\n');
                }
            }
            Err(e) => errors.push(e),
        }
    }
    Resolved {
        validation: (!bundle.is_empty()).then(|| ClientValidationIr {
            ca_pem: bundle,
            insecure_fallback: v.mode.as_deref() == Some(ALLOW_INSECURE_FALLBACK),
        }),
        errors,
    }
}

/// The PEM bundle of one `caCertificateRefs` entry: the `ca.crt` key of a core ConfigMap or
/// Secret (the spec's "Core" support; Envoy Gateway reads the same key).
fn ca_certificate(
    snapshot: &Snapshot,
    gw: &Gateway,
    r: &ObjectReference,
) -> Result<String, RefError> {
    let gw_ns = gw.metadata.ns();
    let ns = r.namespace.as_deref().unwrap_or(gw_ns);
    let what = format!("caCertificateRef {} {ns}/{}", r.kind, r.name);
    if !r.group.is_empty() || !matches!(r.kind.as_ref(), "ConfigMap" | "Secret") {
        return Err((
            reasons::INVALID_CA_CERTIFICATE_KIND,
            format!(
                "{what}: unsupported kind {:?} in group {:?}, must be a core ConfigMap or Secret",
                r.kind, r.group
            ),
        ));
    }
    if !refgrant::allowed(
        snapshot,
        (GATEWAY_GROUP, "Gateway", gw_ns),
        ("", &r.kind, ns, &r.name),
    ) {
        return Err((
            reasons::REF_NOT_PERMITTED,
            format!("{what}: not permitted by any ReferenceGrant"),
        ));
    }
    let data = if r.kind == "ConfigMap" {
        snapshot
            .config_map(ns, &r.name)
            .map(|c| c.body.data.clone())
    } else {
        snapshot.secret(ns, &r.name).map(policy::secret_text)
    };
    let data = data.ok_or_else(|| {
        (
            reasons::INVALID_CA_CERTIFICATE_REF,
            format!("{what} does not exist"),
        )
    })?;
    let pem = data.get("ca.crt").ok_or_else(|| {
        (
            reasons::INVALID_CA_CERTIFICATE_REF,
            format!("{what} has no key ca.crt"),
        )
    })?;
    certs::parse_chain(pem).map_err(|e| {
        (
            reasons::INVALID_CA_CERTIFICATE_REF,
            format!("{what}: ca.crt holds no valid certificate: {e}"),
        )
    })?;
    Ok(pem.clone())
}

/// Resolves `spec.tls.backend.clientCertificateRef` to a usable certificate and key.
fn client_certificate(
    snapshot: &Snapshot,
    gw: &Gateway,
    r: &SecretObjectReference,
) -> Result<SecretIr, RefError> {
    let gw_ns = gw.metadata.ns();
    let ns = r.namespace.as_deref().unwrap_or(gw_ns);
    if !r.group().is_empty() || r.kind() != "Secret" {
        return Err((
            INVALID_CLIENT_CERTIFICATE_REF,
            format!(
                "spec.tls.backend.clientCertificateRef must be a core Secret, not {}/{}",
                r.group(),
                r.kind()
            ),
        ));
    }
    if !refgrant::allowed(
        snapshot,
        (GATEWAY_GROUP, "Gateway", gw_ns),
        ("", "Secret", ns, &r.name),
    ) {
        return Err((
            reasons::REF_NOT_PERMITTED,
            format!(
                "spec.tls.backend.clientCertificateRef to Secret {ns}/{} is not permitted by any ReferenceGrant",
                r.name
            ),
        ));
    }
    let secret = snapshot.secret(ns, &r.name).ok_or_else(|| {
        (
            INVALID_CLIENT_CERTIFICATE_REF,
            format!(
                "spec.tls.backend.clientCertificateRef: Secret {ns}/{} does not exist",
                r.name
            ),
        )
    })?;
    listeners::parse_tls_secret(secret)
        .map(|(s, _)| s)
        .map_err(|m| {
            (
                INVALID_CLIENT_CERTIFICATE_REF,
                format!(
                    "spec.tls.backend.clientCertificateRef: Secret {ns}/{}: {m}",
                    r.name
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::envoy::config::cluster::v3::Cluster;
    use envoy_types::pb::envoy::config::listener::v3::Listener;
    use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
        certificate_validation_context::TrustChainVerification, common_tls_context,
        DownstreamTlsContext, UpstreamTlsContext,
    };
    use prost::Message;

    use crate::model::{Condition, GatewayStatus};
    use crate::status::StatusBody;
    use crate::xds::{build, Delivery, GatewayResources};
    use crate::{Options, Translation};

    const CERT: &str = include_str!("../../tests/common/test-cert.pem");
    const KEY: &str = include_str!("../../tests/common/test-key.pem");

    fn b64(s: &str) -> String {
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s)
    }

    /// A GatewayClass, the certificate Secret `ns/cert`, the CA ConfigMap `ns/ca` (and `other/ca`),
    /// plus `extra`.
    fn run(extra: &str) -> Translation {
        let indent = |s: &str| s.replace('\n', "\n    ");
        let text = format!(
            r#"apiVersion: v1
kind: Secret
metadata: {{name: cert, namespace: ns}}
type: kubernetes.io/tls
data: {{tls.crt: {crt}, tls.key: {key}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: ca, namespace: ns}}
data:
  ca.crt: |
    {ca}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: ca, namespace: other}}
data:
  ca.crt: |
    {ca}
---
{extra}"#,
            crt = b64(CERT),
            key = b64(KEY),
            ca = indent(CERT.trim_end()),
        );
        crate::testing::translate_manifests(&text, &Options::default())
    }

    fn gateway_status<'a>(t: &'a Translation, name: &str) -> &'a GatewayStatus {
        t.status
            .iter()
            .find_map(|s| match &s.status {
                StatusBody::Gateway(g) if *s.metadata.name == *name => Some(g),
                _ => None,
            })
            .expect("Gateway status")
    }

    /// `type=status/reason` of every condition, sorted.
    fn summary(conditions: &[Condition]) -> Vec<String> {
        let mut v: Vec<String> = conditions
            .iter()
            .map(|c| format!("{}={}/{}", c.type_, c.status, c.reason))
            .collect();
        v.sort();
        v
    }

    fn listener_conditions(st: &GatewayStatus, listener: &str) -> Vec<String> {
        let l = st
            .listeners
            .iter()
            .find(|l| l.name == listener)
            .expect("listener status");
        summary(&l.conditions)
    }

    fn resources(t: &Translation, gw: &str) -> GatewayResources {
        build(&t.gateways[gw], Delivery::Ads, "0.0.0.0")
    }

    /// The DownstreamTlsContext of the one filter chain of the Listener of `port`.
    fn downstream(res: &GatewayResources, name: &str) -> DownstreamTlsContext {
        let l: &Listener = res
            .listeners
            .iter()
            .find(|l| l.name == name)
            .expect("listener");
        let ts = l.filter_chains[0]
            .transport_socket
            .as_ref()
            .expect("TLS transport socket");
        let Some(
            envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType::TypedConfig(
                any,
            ),
        ) = &ts.config_type
        else {
            panic!("typed config expected");
        };
        DownstreamTlsContext::decode(any.value.as_slice()).expect("DownstreamTlsContext")
    }

    /// (trusted CA set, trust chain verification, require_client_certificate).
    fn validation(ctx: &DownstreamTlsContext) -> Option<(bool, i32, Option<bool>)> {
        let common = ctx.common_tls_context.as_ref()?;
        let Some(common_tls_context::ValidationContextType::ValidationContext(v)) =
            &common.validation_context_type
        else {
            return None;
        };
        Some((
            v.trusted_ca.is_some(),
            v.trust_chain_verification,
            ctx.require_client_certificate.map(|b| b.value),
        ))
    }

    const VALIDATED: &str = r#"apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  gatewayClassName: gc
  tls:
    frontend:
      default:
        validation:
          mode: MODE
          caCertificateRefs: [{kind: ConfigMap, group: "", name: ca}]
      perPort:
      - {port: 8443, tls: {}}
  listeners:
  - {name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}
  - {name: plain, port: 8443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}
  - {name: http, port: 80, protocol: HTTP}
"#;

    /// AllowValidOnly: HTTPS listeners require a client certificate chaining to the CA; a
    /// per-port entry without validation turns it off for its port.
    #[test]
    fn default_validation_requires_client_certificates() {
        let t = run(&VALIDATED.replace("MODE", "AllowValidOnly"));
        let st = gateway_status(&t, "gw");
        assert!(summary(&st.conditions).contains(&"ResolvedRefs=True/ResolvedRefs".to_string()));
        assert!(!st
            .conditions
            .iter()
            .any(|c| c.type_ == super::INSECURE_FRONTEND_VALIDATION_MODE));
        for l in ["https", "plain", "http"] {
            assert_eq!(
                listener_conditions(st, l),
                [
                    "Accepted=True/Accepted",
                    "Programmed=True/Programmed",
                    "ResolvedRefs=True/ResolvedRefs"
                ],
                "{l}"
            );
        }
        let res = resources(&t, "ns/gw");
        assert_eq!(
            validation(&downstream(&res, "ns/gw/443")),
            Some((
                true,
                TrustChainVerification::VerifyTrustChain as i32,
                Some(true)
            ))
        );
        assert_eq!(validation(&downstream(&res, "ns/gw/8443")), None);
    }

    /// AllowInsecureFallback: a certificate is asked for but not required nor verified, and
    /// the Gateway says so.
    #[test]
    fn insecure_fallback_asks_but_lets_everyone_through() {
        let t = run(&VALIDATED.replace("MODE", "AllowInsecureFallback"));
        let st = gateway_status(&t, "gw");
        assert!(summary(&st.conditions)
            .contains(&"InsecureFrontendValidationMode=True/ConfigurationChanged".to_string()));
        let res = resources(&t, "ns/gw");
        assert_eq!(
            validation(&downstream(&res, "ns/gw/443")),
            Some((
                true,
                TrustChainVerification::AcceptUntrusted as i32,
                Some(false)
            ))
        );
    }

    /// Each kind of bad CA reference: the listeners of its port are neither accepted nor
    /// programmed, with the reference's reason; the others, and the Gateway, carry on.
    #[test]
    fn invalid_ca_references_reject_their_listeners() {
        let t = run(r#"apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  gatewayClassName: gc
  tls:
    frontend:
      default:
        validation:
          caCertificateRefs: [{kind: ConfigMap, group: "", name: ca}]
      perPort:
      - port: 7443
        tls: {validation: {caCertificateRefs: [{kind: ConfigMap, group: "", name: missing}]}}
      - port: 8443
        tls: {validation: {caCertificateRefs: [{kind: Service, group: "", name: svc}]}}
      - port: 6443
        tls: {validation: {caCertificateRefs: [{kind: ConfigMap, group: "", name: ca, namespace: other}]}}
      - port: 5443
        tls: {validation: {caCertificateRefs: [{kind: ConfigMap, group: "", name: ca}, {kind: ConfigMap, group: "", name: missing}]}}
  listeners:
  - {name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}
  - {name: unresolved, port: 7443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}
  - {name: kind, port: 8443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}
  - {name: grant, port: 6443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}
  - {name: partial, port: 5443, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}
"#);
        let st = gateway_status(&t, "gw");
        let ok = [
            "Accepted=True/Accepted",
            "Programmed=True/Programmed",
            "ResolvedRefs=True/ResolvedRefs",
        ];
        assert_eq!(listener_conditions(st, "https"), ok);
        for (l, reason) in [
            ("unresolved", "InvalidCACertificateRef"),
            ("kind", "InvalidCACertificateKind"),
            ("grant", "RefNotPermitted"),
        ] {
            assert_eq!(
                listener_conditions(st, l),
                [
                    "Accepted=False/NoValidCACertificate".to_string(),
                    format!("Programmed=False/{reason}"),
                    format!("ResolvedRefs=False/{reason}"),
                ],
                "{l}"
            );
        }
        // One CA of two resolves: validated with it, and ResolvedRefs says what is wrong.
        assert_eq!(
            listener_conditions(st, "partial"),
            [
                "Accepted=True/Accepted",
                "Programmed=True/Programmed",
                "ResolvedRefs=False/InvalidCACertificateRef"
            ]
        );
        let resolved = st
            .conditions
            .iter()
            .find(|c| c.type_ == "ResolvedRefs")
            .expect("Gateway ResolvedRefs");
        assert_eq!(
            (resolved.status.as_ref(), resolved.reason.as_ref()),
            ("False", "InvalidParameters")
        );
        assert!(
            resolved.message.contains("ns/missing"),
            "{}",
            resolved.message
        );
        let accepted = st.conditions.iter().find(|c| c.type_ == "Accepted");
        assert_eq!(accepted.map(|c| c.status.as_ref()), Some("True"));
        let res = resources(&t, "ns/gw");
        let names: Vec<&str> = res.listeners.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["ns/gw/443", "ns/gw/5443"]);
    }

    const BACKEND: &str = r#"apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  gatewayClassName: gc
  tls: {backend: {clientCertificateRef: {group: "", kind: Secret, name: NAME}}}
  listeners:
  - {name: http, port: 80, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: tls-svc, port: 443}, {name: plain-svc, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: tls-svc, namespace: ns}
spec: {ports: [{port: 443}]}
---
apiVersion: v1
kind: Service
metadata: {name: plain-svc, namespace: ns}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: p, namespace: ns}
spec:
  targetRefs: [{group: "", kind: Service, name: tls-svc}]
  validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}], hostname: backend.example.com}
"#;

    fn upstream(res: &GatewayResources, name: &str) -> Option<UpstreamTlsContext> {
        let c: &Cluster = res.clusters.iter().find(|c| c.name == name)?;
        let Some(
            envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType::TypedConfig(
                any,
            ),
        ) = &c.transport_socket.as_ref()?.config_type
        else {
            return None;
        };
        UpstreamTlsContext::decode(any.value.as_slice()).ok()
    }

    /// `spec.tls.backend.clientCertificateRef`: TLS clusters present the certificate (by SDS
    /// name; the Secret is served), plain ones do not; the Gateway's refs resolved.
    #[test]
    fn backend_client_certificate_is_presented_to_tls_backends() {
        let t = run(&BACKEND.replace("NAME", "cert"));
        let st = gateway_status(&t, "gw");
        assert!(summary(&st.conditions).contains(&"ResolvedRefs=True/ResolvedRefs".to_string()));
        let res = resources(&t, "ns/gw");
        let tls = upstream(&res, "ns/tls-svc/443").expect("upstream TLS");
        let common = tls.common_tls_context.expect("common TLS context");
        let names: Vec<&str> = common
            .tls_certificate_sds_secret_configs
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["ns/cert"]);
        assert!(res.secrets.iter().any(|s| s.name == "ns/cert"));
        assert!(upstream(&res, "ns/plain-svc/80").is_none());
        let inline = build(&t.gateways["ns/gw"], Delivery::Static, "0.0.0.0");
        let tls = upstream(&inline, "ns/tls-svc/443").expect("upstream TLS");
        let common = tls.common_tls_context.expect("common TLS context");
        assert_eq!(common.tls_certificates.len(), 1);
    }

    /// A clientCertificateRef that does not resolve: ResolvedRefs False with the spec's reason,
    /// nothing presented, and the message names the reference but holds no key material.
    #[test]
    fn missing_backend_client_certificate() {
        let t = run(&BACKEND.replace("NAME", "absent"));
        let st = gateway_status(&t, "gw");
        let c = st
            .conditions
            .iter()
            .find(|c| c.type_ == "ResolvedRefs")
            .expect("ResolvedRefs");
        assert_eq!(
            (c.status.as_ref(), c.reason.as_ref()),
            ("False", super::INVALID_CLIENT_CERTIFICATE_REF)
        );
        assert!(c.message.contains("clientCertificateRef") && c.message.contains("ns/absent"));
        let res = resources(&t, "ns/gw");
        let tls = upstream(&res, "ns/tls-svc/443").expect("upstream TLS");
        let common = tls.common_tls_context.expect("common TLS context");
        assert!(common.tls_certificate_sds_secret_configs.is_empty());
    }
}
