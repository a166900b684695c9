//! GRPCRoute: gRPC service/method matching and weighted backends.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::limits;

use super::httproute::HttpHeaderMatch;
use super::refs::{
    BackendObjectReference, HttpHeaderFilter, HttpRequestMirrorFilter, LocalObjectReference,
    ParentReference, SessionPersistence,
};

/// Hostnames, parents and rules of a GRPCRoute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrpcRouteSpec {
    /// Gateways (or listeners) to attach to; each shared with the status entries that echo it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::PARENT_REFS.schema())]
    pub parent_refs: Option<Vec<Arc<ParentReference>>>,
    /// Host headers this route serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::HOSTNAMES.schema())]
    pub hostnames: Option<Vec<String>>,
    /// Rules; no rules means match everything and answer with an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::GRPC_RULES.schema())]
    pub rules: Option<Vec<GrpcRouteRule>>,
    /// Experimental: attach to the default Gateways.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::SCOPE.schema())]
    pub use_default_gateways: Option<String>,
}

/// One rule: matches, filters and backends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrpcRouteRule {
    /// Optional stable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::SECTION_NAME.schema())]
    pub name: Option<String>,
    /// Any match selects the rule; none matches all gRPC traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::MATCHES.schema())]
    pub matches: Option<Vec<GrpcRouteMatch>>,
    /// Filters applied to every request the rule matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::FILTERS.schema())]
    pub filters: Option<Vec<GrpcRouteFilter>>,
    /// Weighted backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::BACKEND_REFS.schema())]
    pub backend_refs: Option<Vec<GrpcBackendRef>>,
    /// Experimental: session affinity (boxed: rarely set, and large next to the rest of a rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_persistence: Option<Box<SessionPersistence>>,
}

/// Method and header predicates.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct GrpcRouteMatch {
    /// Service and method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<GrpcMethodMatch>,
    /// Header matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Option<Vec<GrpcHeaderMatchSchema>>",
        transform = limits::HEADER_LIST.schema()
    )]
    pub headers: Option<Vec<HttpHeaderMatch>>,
}

/// The JSON Schema of a gRPC header match: [`HttpHeaderMatch`]'s fields without the
/// header-value pattern, which GRPCRoute does not have. Never constructed.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub(crate) struct GrpcHeaderMatchSchema {
    /// `Exact` (default) or `RegularExpression`.
    #[serde(rename = "type", default)]
    #[schemars(transform = limits::MATCH_TYPE.schema())]
    type_: Option<String>,
    /// Header name, case-insensitive.
    #[schemars(transform = limits::HEADER_NAME.schema())]
    name: String,
    /// Value or regex.
    #[schemars(transform = limits::HEADER_VALUE_STANDARD.schema())]
    value: String,
}

/// A gRPC service/method match.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct GrpcMethodMatch {
    /// `Exact` (default) or `RegularExpression`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::MATCH_TYPE.schema())]
    pub type_: Option<String>,
    /// Fully qualified service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::GRPC_NAME.schema())]
    pub service: Option<String>,
    /// Method name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::GRPC_NAME.schema())]
    pub method: Option<String>,
}

/// A GRPCRoute filter.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct GrpcRouteFilter {
    /// Which filter this is.
    #[serde(rename = "type")]
    #[schemars(transform = limits::GRPC_FILTER_TYPE.schema())]
    pub type_: String,
    /// Request header changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_header_modifier: Option<HttpHeaderFilter>,
    /// Response header changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_header_modifier: Option<HttpHeaderFilter>,
    /// Mirror requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_mirror: Option<HttpRequestMirrorFilter>,
    /// Implementation-specific filter object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_ref: Option<LocalObjectReference>,
}

/// A weighted gRPC backend.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct GrpcBackendRef {
    /// The backend.
    #[serde(flatten)]
    pub backend: BackendObjectReference,
    /// Share of traffic; defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::WEIGHT.schema())]
    pub weight: Option<i32>,
    /// Filters applied only when this backend is chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::FILTERS.schema())]
    pub filters: Option<Vec<GrpcRouteFilter>>,
}
