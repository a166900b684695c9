//! GatewayClass, Gateway and ListenerSet: where traffic enters and who may attach to it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::limits;

use super::meta::{Condition, LabelSelector};
use super::refs::{
    ObjectReference, ParametersReference, ParentReference, SecretObjectReference, TypeName,
};

/// Which controller runs Gateways of this class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayClassSpec {
    /// Matched against our configured controller name.
    #[schemars(transform = limits::CONTROLLER_NAME.schema())]
    pub controller_name: String,
    /// Implementation-specific parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters_ref: Option<ParametersReference>,
    /// Free text shown to users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::DESCRIPTION.schema())]
    pub description: Option<String>,
}

/// GatewayClass status: Accepted, and the features we support.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayClassStatus {
    /// Accepted and SupportedVersion.
    #[serde(default)]
    #[schemars(transform = limits::CONDITIONS.schema())]
    pub conditions: Vec<Condition>,
    /// Features this implementation supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::SUPPORTED_FEATURES.schema())]
    pub supported_features: Option<Vec<SupportedFeature>>,
}

/// A named conformance feature.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SupportedFeature {
    /// Feature name as the conformance suite spells it.
    pub name: String,
}

/// The listeners, addresses and TLS settings of one Gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = limits::required("listeners"))]
pub struct GatewaySpec {
    /// The GatewayClass this Gateway belongs to.
    #[schemars(transform = limits::OBJECT_NAME.schema())]
    pub gateway_class_name: String,
    /// Ports, protocols and hostnames to serve.
    #[serde(default)]
    #[schemars(transform = limits::LISTENERS.schema())]
    pub listeners: Vec<Listener>,
    /// Requested addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::ADDRESSES.schema())]
    pub addresses: Option<Vec<GatewaySpecAddress>>,
    /// Labels and annotations for generated infrastructure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infrastructure: Option<GatewayInfrastructure>,
    /// Which ListenerSets may attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_listeners: Option<AllowedListeners>,
    /// Frontend (client certificate) and backend TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<GatewayTlsConfig>,
    /// Experimental: whether routes may attach by default scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::SCOPE.schema())]
    pub default_scope: Option<String>,
}

/// A requested Gateway address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GatewaySpecAddress {
    /// `IPAddress` (default), `Hostname`, `NamedAddress` or a domain-prefixed type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::ADDRESS_TYPE.schema())]
    pub type_: Option<String>,
    /// The address; may be empty to let the implementation choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::ADDRESS_VALUE.schema())]
    pub value: Option<String>,
}

/// Labels, annotations and parameters for the infrastructure a Gateway creates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayInfrastructure {
    /// Labels to put on generated resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::LABELS.schema())]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations to put on generated resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::ANNOTATIONS.schema())]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Implementation-specific parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters_ref: Option<super::refs::LocalObjectReference>,
}

/// Which ListenerSets may attach to a Gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AllowedListeners {
    /// Namespaces ListenerSets may come from; defaults to none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<ListenerNamespaces>,
}

/// Namespaces ListenerSets may come from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ListenerNamespaces {
    /// `All`, `Selector`, `Same` or `None` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::FROM_LISTENER_NAMESPACES.schema())]
    pub from: Option<String>,
    /// Used when `from` is `Selector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// Gateway-wide TLS: client certificate validation and the certificate presented to backends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GatewayTlsConfig {
    /// Certificate presented to backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<GatewayBackendTls>,
    /// Client certificate validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontend: Option<FrontendTlsConfig>,
}

/// The client certificate a Gateway presents to backends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayBackendTls {
    /// The Secret holding the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate_ref: Option<SecretObjectReference>,
}

/// Client certificate validation, by default and per port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FrontendTlsConfig {
    /// Applies to every HTTPS listener without a per-port override.
    #[serde(rename = "default")]
    pub default: TlsConfig,
    /// Overrides per port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::PER_PORT.schema())]
    pub per_port: Option<Vec<TlsPortConfig>>,
}

/// Frontend TLS settings for one port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TlsPortConfig {
    /// The port.
    #[schemars(transform = limits::PORT.schema())]
    pub port: i32,
    /// Its TLS settings.
    pub tls: TlsConfig,
}

/// Frontend TLS settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TlsConfig {
    /// Client certificate validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<FrontendTlsValidation>,
}

/// CA certificates to validate client certificates against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = limits::required("caCertificateRefs"))]
pub struct FrontendTlsValidation {
    /// ConfigMaps or Secrets holding CA bundles.
    #[serde(default)]
    #[schemars(transform = limits::FRONTEND_CA_REFS.schema())]
    pub ca_certificate_refs: Vec<ObjectReference>,
    /// `AllowValidOnly` (default) or `AllowInsecureFallback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::FRONTEND_VALIDATION_MODE.schema())]
    pub mode: Option<String>,
}

/// One listener: a port, a protocol, an optional hostname, TLS, and who may attach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// Unique within the Gateway; routes name it in `sectionName`.
    #[schemars(transform = limits::SECTION_NAME.schema())]
    pub name: String,
    /// Hostname (or `*.wildcard`) this listener serves; all when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::HOSTNAME.schema())]
    pub hostname: Option<String>,
    /// Port the proxy listens on.
    #[schemars(transform = limits::PORT.schema())]
    pub port: i32,
    /// `HTTP`, `HTTPS`, `TLS`, `TCP`, `UDP` or a domain-prefixed protocol.
    #[schemars(transform = limits::PROTOCOL.schema())]
    pub protocol: String,
    /// TLS settings for HTTPS and TLS listeners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ListenerTls>,
    /// Which routes may attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_routes: Option<AllowedRoutes>,
}

/// TLS settings of one listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListenerTls {
    /// `Terminate` (default) or `Passthrough`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::TLS_MODE.schema())]
    pub mode: Option<String>,
    /// Certificates served when terminating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::CERTIFICATE_REFS.schema())]
    pub certificate_refs: Option<Vec<SecretObjectReference>>,
    /// Implementation-specific options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::OPTIONS.schema())]
    pub options: Option<BTreeMap<String, String>>,
}

/// Which routes may attach to a listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AllowedRoutes {
    /// Namespaces routes may come from; defaults to `Same`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<RouteNamespaces>,
    /// Route kinds allowed; defaults to those matching the protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::ROUTE_KINDS.schema())]
    pub kinds: Option<Vec<RouteGroupKind>>,
}

/// Namespaces routes may come from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RouteNamespaces {
    /// `All`, `Selector` or `Same` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::FROM_NAMESPACES.schema())]
    pub from: Option<String>,
    /// Used when `from` is `Selector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// A route kind, e.g. `gateway.networking.k8s.io/HTTPRoute`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct RouteGroupKind {
    /// Defaults to `gateway.networking.k8s.io`.
    #[serde(
        default,
        deserialize_with = "super::refs::de_type_name",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(transform = limits::GROUP.schema())]
    pub group: Option<TypeName>,
    /// Route kind.
    #[serde(deserialize_with = "super::refs::de_required_type_name")]
    #[schemars(transform = limits::KIND.schema())]
    pub kind: TypeName,
}

/// Gateway status: addresses, conditions and per-listener status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayStatus {
    /// Addresses the Gateway is reachable at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = limits::ADDRESSES.schema())]
    pub addresses: Vec<GatewayStatusAddress>,
    /// Accepted and Programmed.
    #[serde(default)]
    #[schemars(transform = limits::CONDITIONS.schema())]
    pub conditions: Vec<Condition>,
    /// One entry per listener.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = limits::STATUS_LISTENERS.schema())]
    pub listeners: Vec<ListenerStatus>,
    /// ListenerSets attached to this Gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached_listener_sets: Option<i32>,
}

/// An address the Gateway is reachable at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GatewayStatusAddress {
    /// `IPAddress` or `Hostname`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::ADDRESS_TYPE.schema())]
    pub type_: Option<String>,
    /// The address.
    #[schemars(transform = limits::STATUS_ADDRESS_VALUE.schema())]
    pub value: String,
}

/// Status of one listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListenerStatus {
    /// Listener name.
    #[schemars(transform = limits::SECTION_NAME.schema())]
    pub name: String,
    /// Route kinds this listener accepts.
    #[serde(default)]
    #[schemars(transform = limits::ROUTE_KINDS.schema())]
    pub supported_kinds: Vec<RouteGroupKind>,
    /// Routes successfully attached.
    pub attached_routes: i32,
    /// Accepted, Programmed, ResolvedRefs, Conflicted.
    #[serde(default)]
    #[schemars(transform = limits::CONDITIONS.schema())]
    pub conditions: Vec<Condition>,
}

/// A ListenerSet: listeners owned by another team, merged into a parent Gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = limits::required("listeners"))]
pub struct ListenerSetSpec {
    /// The Gateway these listeners join.
    pub parent_ref: ParentGatewayReference,
    /// The listeners; names are unique within the set.
    #[serde(default)]
    #[schemars(transform = limits::LISTENERS.schema())]
    pub listeners: Vec<ListenerEntry>,
}

/// A ListenerSet's parent Gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ParentGatewayReference {
    /// Defaults to `gateway.networking.k8s.io`.
    #[serde(
        default,
        deserialize_with = "super::refs::de_type_name",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(transform = limits::GROUP.schema())]
    pub group: Option<TypeName>,
    /// Defaults to `Gateway`.
    #[serde(
        default,
        deserialize_with = "super::refs::de_type_name",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(transform = limits::KIND.schema())]
    pub kind: Option<TypeName>,
    /// Gateway name.
    #[schemars(transform = limits::OBJECT_NAME.schema())]
    pub name: String,
    /// Defaults to the ListenerSet's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::NAMESPACE.schema())]
    pub namespace: Option<String>,
}

/// A listener of a ListenerSet (same fields as a Gateway listener).
pub type ListenerEntry = Listener;

/// ListenerSet status: conditions and per-listener status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ListenerSetStatus {
    /// Accepted and Programmed.
    #[serde(default)]
    #[schemars(transform = limits::CONDITIONS.schema())]
    pub conditions: Vec<Condition>,
    /// One entry per listener.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = limits::STATUS_LISTENERS.schema())]
    pub listeners: Vec<ListenerStatus>,
}

impl From<&ParentGatewayReference> for ParentReference {
    fn from(p: &ParentGatewayReference) -> Self {
        ParentReference {
            group: p.group.clone(),
            kind: p.kind.clone(),
            namespace: p.namespace.clone(),
            name: p.name.clone(),
            section_name: None,
            port: None,
        }
    }
}
