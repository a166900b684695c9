//! References between objects: parents, backends, secrets, and the status blocks that echo them.

use std::borrow::Cow;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::limits;

use super::meta::Condition;

/// The API group of every Gateway API kind.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

/// The group or kind a reference names. Almost every reference names one of a few (the
/// Gateway API group, `Gateway`, `Service`), written out or left to its default: those are
/// shared static strings ([`type_name`]), where each reference would otherwise hold a heap
/// copy that every translation reads and every status entry echoing the reference copies.
pub type TypeName = Cow<'static, str>;

/// Groups and kinds references name, held once.
const WELL_KNOWN: [&str; 12] = [
    GATEWAY_GROUP,
    "",
    "Gateway",
    "ListenerSet",
    "Service",
    "Secret",
    "ConfigMap",
    "HTTPRoute",
    "GRPCRoute",
    "TLSRoute",
    "TCPRoute",
    "UDPRoute",
];

/// `name` as a [`TypeName`]: the shared spelling when it is a well-known one.
pub fn type_name(name: String) -> TypeName {
    match WELL_KNOWN.iter().find(|w| **w == name) {
        Some(w) => Cow::Borrowed(w),
        None => Cow::Owned(name),
    }
}

/// Deserializes an optional group or kind through [`type_name`].
pub(super) fn de_type_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TypeName>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(type_name))
}

/// Deserializes a required group or kind through [`type_name`].
pub(super) fn de_required_type_name<'de, D: Deserializer<'de>>(d: D) -> Result<TypeName, D::Error> {
    String::deserialize(d).map(type_name)
}

/// Where a route (or ListenerSet) wants to attach: a Gateway, optionally one listener or port.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct ParentReference {
    /// Defaults to `gateway.networking.k8s.io`.
    #[serde(
        default,
        deserialize_with = "de_type_name",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(transform = limits::GROUP.schema())]
    pub group: Option<TypeName>,
    /// Defaults to `Gateway`.
    #[serde(
        default,
        deserialize_with = "de_type_name",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(transform = limits::KIND.schema())]
    pub kind: Option<TypeName>,
    /// Defaults to the route's own namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::NAMESPACE.schema())]
    pub namespace: Option<String>,
    /// Name of the parent.
    #[schemars(transform = limits::OBJECT_NAME.schema())]
    pub name: String,
    /// Listener name to attach to; all listeners when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::SECTION_NAME.schema())]
    pub section_name: Option<String>,
    /// Listener port to attach to; all ports when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::PORT.schema())]
    pub port: Option<i32>,
}

impl ParentReference {
    /// The group after defaulting.
    pub fn group(&self) -> &str {
        self.group.as_deref().unwrap_or(GATEWAY_GROUP)
    }
    /// The kind after defaulting.
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or("Gateway")
    }
    /// The parent's namespace, relative to the referring object's.
    pub fn ns<'a>(&'a self, from: &'a str) -> &'a str {
        self.namespace.as_deref().unwrap_or(from)
    }
}

/// A reference to a backend (by default a core `Service`), possibly in another namespace.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct BackendObjectReference {
    /// Defaults to the core group `""`.
    #[serde(
        default,
        deserialize_with = "de_type_name",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(transform = limits::GROUP.schema())]
    pub group: Option<TypeName>,
    /// Defaults to `Service`.
    #[serde(
        default,
        deserialize_with = "de_type_name",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(transform = limits::KIND.schema())]
    pub kind: Option<TypeName>,
    /// Name of the backend.
    #[schemars(transform = limits::OBJECT_NAME.schema())]
    pub name: String,
    /// Defaults to the route's namespace; another namespace needs a ReferenceGrant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::NAMESPACE.schema())]
    pub namespace: Option<String>,
    /// Service port; required when the backend is a Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::PORT.schema())]
    pub port: Option<i32>,
}

impl BackendObjectReference {
    /// The group after defaulting (core).
    pub fn group(&self) -> &str {
        self.group.as_deref().unwrap_or("")
    }
    /// The kind after defaulting.
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or("Service")
    }
    /// The backend's namespace, relative to the referring object's.
    pub fn ns<'a>(&'a self, from: &'a str) -> &'a str {
        self.namespace.as_deref().unwrap_or(from)
    }
}

/// A reference to a Secret (or another certificate source), possibly cross-namespace.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct SecretObjectReference {
    /// Defaults to the core group `""`.
    #[serde(
        default,
        deserialize_with = "de_type_name",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(transform = limits::GROUP.schema())]
    pub group: Option<TypeName>,
    /// Defaults to `Secret`.
    #[serde(
        default,
        deserialize_with = "de_type_name",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(transform = limits::KIND.schema())]
    pub kind: Option<TypeName>,
    /// Name of the object.
    #[schemars(transform = limits::OBJECT_NAME.schema())]
    pub name: String,
    /// Defaults to the referring object's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::NAMESPACE.schema())]
    pub namespace: Option<String>,
}

impl SecretObjectReference {
    /// The group after defaulting (core).
    pub fn group(&self) -> &str {
        self.group.as_deref().unwrap_or("")
    }
    /// The kind after defaulting.
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or("Secret")
    }
}

/// A same-namespace reference with explicit group and kind (ConfigMaps, extension objects).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct LocalObjectReference {
    /// API group, `""` for core.
    #[serde(deserialize_with = "de_required_type_name")]
    #[schemars(transform = limits::GROUP.schema())]
    pub group: TypeName,
    /// Kind of the referent.
    #[serde(deserialize_with = "de_required_type_name")]
    #[schemars(transform = limits::KIND.schema())]
    pub kind: TypeName,
    /// Name of the referent.
    #[schemars(transform = limits::OBJECT_NAME.schema())]
    pub name: String,
}

/// A namespaced reference with explicit group and kind (CA certificates of a frontend validation).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// API group, `""` for core.
    #[serde(deserialize_with = "de_required_type_name")]
    #[schemars(transform = limits::GROUP.schema())]
    pub group: TypeName,
    /// Kind of the referent.
    #[serde(deserialize_with = "de_required_type_name")]
    #[schemars(transform = limits::KIND.schema())]
    pub kind: TypeName,
    /// Name of the referent.
    #[schemars(transform = limits::OBJECT_NAME.schema())]
    pub name: String,
    /// Defaults to the referring object's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::NAMESPACE.schema())]
    pub namespace: Option<String>,
}

/// A reference to a parameters object of a GatewayClass or Gateway infrastructure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParametersReference {
    /// API group of the parameters object.
    #[serde(deserialize_with = "de_required_type_name")]
    #[schemars(transform = limits::GROUP.schema())]
    pub group: TypeName,
    /// Kind of the parameters object.
    #[serde(deserialize_with = "de_required_type_name")]
    #[schemars(transform = limits::KIND.schema())]
    pub kind: TypeName,
    /// Name of the parameters object.
    #[schemars(transform = limits::OBJECT_NAME.schema())]
    pub name: String,
    /// Namespace, for namespaced parameter kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::NAMESPACE.schema())]
    pub namespace: Option<String>,
}

/// Status of a route (or policy) with respect to one parent it referenced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteParentStatus {
    /// The parentRef this status is about, as written in the spec (the route's own, shared).
    pub parent_ref: Arc<ParentReference>,
    /// The controller that wrote this entry: one shared copy for every entry of a translation.
    #[schemars(with = "String", transform = limits::CONTROLLER_NAME.schema())]
    pub controller_name: Arc<str>,
    /// Accepted, ResolvedRefs and friends.
    #[serde(default)]
    #[schemars(transform = limits::PARENT_CONDITIONS.schema())]
    pub conditions: Vec<Condition>,
}

/// Status shared by every route kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteStatus {
    /// One entry per parentRef this controller handles.
    #[serde(default)]
    #[schemars(transform = limits::PARENT_REFS.schema())]
    pub parents: Vec<RouteParentStatus>,
}

/// Status of a policy per ancestor (BackendTLSPolicy).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyStatus {
    /// One entry per ancestor (Gateway) the policy affects.
    #[serde(default)]
    #[schemars(transform = limits::ANCESTORS.schema())]
    pub ancestors: Vec<PolicyAncestorStatus>,
}

/// Policy status with respect to one ancestor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAncestorStatus {
    /// The ancestor, usually a Gateway.
    pub ancestor_ref: ParentReference,
    /// The controller that wrote this entry: one shared copy for every entry of a translation.
    #[schemars(with = "String", transform = limits::CONTROLLER_NAME.schema())]
    pub controller_name: Arc<str>,
    /// Accepted, ResolvedRefs.
    #[serde(default)]
    #[schemars(transform = limits::PARENT_CONDITIONS.schema())]
    pub conditions: Vec<Condition>,
}

/// A header name/value pair used by modifiers.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct HttpHeader {
    /// Header name, case-insensitive.
    #[schemars(transform = limits::HEADER_NAME.schema())]
    pub name: String,
    /// Header value.
    #[schemars(transform = limits::HEADER_VALUE.schema())]
    pub value: String,
}

/// Adds, sets and removes headers on a request or response.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct HttpHeaderFilter {
    /// Overwrite these headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::HEADER_LIST.schema())]
    pub set: Option<Vec<HttpHeader>>,
    /// Append these headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::HEADER_LIST.schema())]
    pub add: Option<Vec<HttpHeader>>,
    /// Remove these headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::HEADER_REMOVE.schema())]
    pub remove: Option<Vec<String>>,
}

/// Fraction of requests, `numerator/denominator`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct Fraction {
    /// Requests selected.
    #[schemars(transform = limits::NUMERATOR.schema())]
    pub numerator: i32,
    /// Out of this many; defaults to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::DENOMINATOR.schema())]
    pub denominator: Option<i32>,
}

/// Mirrors requests to another backend, fire-and-forget.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequestMirrorFilter {
    /// The mirror backend.
    pub backend_ref: BackendObjectReference,
    /// Percentage of requests mirrored (0–100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::PERCENT.schema())]
    pub percent: Option<i32>,
    /// Fraction of requests mirrored; exclusive with `percent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<Fraction>,
}

/// Session affinity (experimental): keeps a client on one backend.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct SessionPersistence {
    /// Cookie or header name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::SESSION_NAME.schema())]
    pub session_name: Option<String>,
    /// Absolute lifetime of a session (Gateway API duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::DURATION.schema())]
    pub absolute_timeout: Option<String>,
    /// `Cookie` (default) or `Header`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::SESSION_TYPE.schema())]
    pub type_: Option<String>,
    /// Cookie attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_config: Option<CookieConfig>,
}

/// Cookie lifetime of a session.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct CookieConfig {
    /// `Session` (default) or `Permanent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::COOKIE_LIFETIME.schema())]
    pub lifetime_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_str;
    use crate::model::Object;

    /// Well-known groups and kinds, written out or defaulted, are the shared static strings;
    /// any other is kept as written, and both read and serialize alike.
    #[test]
    fn well_known_type_names_are_shared() {
        let text = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n\
                    metadata: {name: r, namespace: ns}\n\
                    spec:\n  parentRefs: [{name: a}, {name: b, group: gateway.networking.k8s.io, kind: Gateway}, \
                    {name: c, group: example.com, kind: Custom}]\n  rules: [{backendRefs: [{name: s, port: 80}]}]\n";
        let loaded = parse_str(text, "t.yaml");
        let Some(Object::HttpRoute(r)) = loaded.objects.first().map(|l| &l.object) else {
            panic!("no route: {:?}", loaded.diagnostics);
        };
        let parents = r.spec.parent_refs.as_deref().unwrap_or_default();
        for p in &parents[..2] {
            assert!(
                matches!(p.group, Some(Cow::Borrowed(GATEWAY_GROUP))),
                "{p:?}"
            );
            assert!(matches!(p.kind, Some(Cow::Borrowed("Gateway"))), "{p:?}");
        }
        assert!(matches!(&parents[2].group, Some(Cow::Owned(g)) if g == "example.com"));
        assert_eq!(parents[2].kind(), "Custom");
        let backend = &r.spec.rules.as_deref().unwrap_or_default()[0]
            .backend_refs
            .as_deref()
            .unwrap_or_default()[0]
            .backend;
        assert!(matches!(backend.kind, Some(Cow::Borrowed("Service"))));
        let json = serde_json::to_value(&parents[2]).expect("serializes");
        assert_eq!(json["group"], "example.com");
        assert_eq!(json["kind"], "Custom");
        assert!(matches!(
            type_name("Service".to_string()),
            Cow::Borrowed("Service")
        ));
    }

    /// The same holds for a listener's certificate references and allowed kinds, and for the
    /// required group and kind of an explicit reference.
    #[test]
    fn listener_type_names_are_shared() {
        let text = "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\n\
                    spec:\n  gatewayClassName: c\n  listeners:\n  - name: https\n    port: 443\n    \
                    protocol: HTTPS\n    allowedRoutes: {kinds: [{kind: HTTPRoute}, {group: example.com, kind: Custom}]}\n    \
                    tls:\n      certificateRefs: [{name: cert}, {name: other, group: example.com, kind: Vault}]\n";
        let loaded = parse_str(text, "t.yaml");
        let Some(Object::Gateway(g)) = loaded.objects.first().map(|l| &l.object) else {
            panic!("no gateway: {:?}", loaded.diagnostics);
        };
        let l = &g.spec.listeners[0];
        let kinds = l
            .allowed_routes
            .as_ref()
            .and_then(|a| a.kinds.as_deref())
            .unwrap_or_default();
        assert!(matches!(kinds[0].group, Some(Cow::Borrowed(GATEWAY_GROUP))));
        assert!(matches!(kinds[0].kind, Cow::Borrowed("HTTPRoute")));
        assert!(matches!(&kinds[1].kind, Cow::Owned(k) if k == "Custom"));
        let tls = l.tls.as_ref().expect("tls");
        let certs = tls.certificate_refs.as_deref().unwrap_or_default();
        assert!(matches!(certs[0].group, Some(Cow::Borrowed(""))));
        assert!(matches!(certs[0].kind, Some(Cow::Borrowed("Secret"))));
        assert_eq!(
            (certs[1].group(), certs[1].kind()),
            ("example.com", "Vault")
        );
        let ca: ObjectReference =
            serde_json::from_str(r#"{"group": "", "kind": "ConfigMap", "name": "ca"}"#)
                .expect("parses");
        assert!(matches!(
            (&ca.group, &ca.kind),
            (Cow::Borrowed(""), Cow::Borrowed("ConfigMap"))
        ));
        let json = serde_json::to_value(&certs[1]).expect("serializes");
        assert_eq!(
            (&json["group"], &json["kind"]),
            (&"example.com".into(), &"Vault".into())
        );
    }
}
