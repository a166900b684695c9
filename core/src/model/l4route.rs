//! TLSRoute, TCPRoute and UDPRoute: connection-level routing.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::limits;

use super::refs::{BackendObjectReference, ParentReference};

/// A TLSRoute: routes TLS connections by SNI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = limits::required("hostnames"), transform = limits::required("rules"))]
pub struct TlsRouteSpec {
    /// Gateways (or listeners) to attach to; each shared with the status entries that echo it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::PARENT_REFS.schema())]
    pub parent_refs: Option<Vec<Arc<ParentReference>>>,
    /// SNI names this route serves.
    #[serde(default)]
    #[schemars(transform = limits::TLS_HOSTNAMES.schema())]
    pub hostnames: Vec<String>,
    /// Exactly one rule.
    #[serde(default)]
    #[schemars(transform = limits::L4_RULES.schema())]
    pub rules: Vec<L4RouteRule>,
    /// Experimental: attach to the default Gateways.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::SCOPE.schema())]
    pub use_default_gateways: Option<String>,
}

/// A TCPRoute or UDPRoute: forwards a port's connections or datagrams.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = limits::required("rules"))]
pub struct L4RouteSpec {
    /// Gateways (or listeners) to attach to; each shared with the status entries that echo it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::PARENT_REFS.schema())]
    pub parent_refs: Option<Vec<Arc<ParentReference>>>,
    /// Exactly one rule.
    #[serde(default)]
    #[schemars(transform = limits::L4_RULES.schema())]
    pub rules: Vec<L4RouteRule>,
    /// Experimental: attach to the default Gateways.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::SCOPE.schema())]
    pub use_default_gateways: Option<String>,
}

/// The rule of a connection-level route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = limits::required("backendRefs"))]
pub struct L4RouteRule {
    /// Optional stable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::SECTION_NAME.schema())]
    pub name: Option<String>,
    /// Weighted backends.
    #[serde(default)]
    #[schemars(transform = limits::L4_BACKEND_REFS.schema())]
    pub backend_refs: Vec<L4BackendRef>,
}

/// A weighted backend of a connection-level route.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct L4BackendRef {
    /// The backend.
    #[serde(flatten)]
    pub backend: BackendObjectReference,
    /// Share of connections; defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::WEIGHT.schema())]
    pub weight: Option<i32>,
}
