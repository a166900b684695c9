//! HTTPRoute: HTTP matching, filters and weighted backends.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::limits;

use super::refs::{
    BackendObjectReference, HttpHeaderFilter, HttpRequestMirrorFilter, LocalObjectReference,
    ParentReference, SessionPersistence,
};

/// Hostnames, parents and rules of an HTTPRoute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteSpec {
    /// Gateways (or listeners) to attach to; each shared with the status entries that echo it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::PARENT_REFS.schema())]
    pub parent_refs: Option<Vec<Arc<ParentReference>>>,
    /// Host headers this route serves, intersected with the listener's hostname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::HOSTNAMES.schema())]
    pub hostnames: Option<Vec<String>>,
    /// Rules; defaults to one rule matching `PathPrefix /`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::HTTP_RULES.schema())]
    pub rules: Option<Vec<HttpRouteRule>>,
    /// Experimental: attach to the default Gateways.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::SCOPE.schema())]
    pub use_default_gateways: Option<String>,
}

/// One rule: matches, filters and backends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteRule {
    /// Optional stable name; used in generated Envoy names so reordering rules changes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::SECTION_NAME.schema())]
    pub name: Option<String>,
    /// Any match selects the rule; defaults to `PathPrefix /`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::MATCHES.schema())]
    pub matches: Option<Vec<HttpRouteMatch>>,
    /// Filters applied to every request the rule matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::FILTERS.schema())]
    pub filters: Option<Vec<HttpRouteFilter>>,
    /// Weighted backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::BACKEND_REFS.schema())]
    pub backend_refs: Option<Vec<HttpBackendRef>>,
    // The three below are boxed: rarely set, and held inline they made up two thirds of a
    // rule (296 bytes), which every translation reads through.
    /// Request and backend request timeouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Box<HttpRouteTimeouts>>,
    /// Experimental: retry policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Box<HttpRouteRetry>>,
    /// Experimental: session affinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_persistence: Option<Box<SessionPersistence>>,
}

/// A request predicate: path, headers, query parameters and method must all match.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteMatch {
    /// Path match; defaults to `PathPrefix /`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<HttpPathMatch>,
    /// Header matches, all of which must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::HEADER_LIST.schema())]
    pub headers: Option<Vec<HttpHeaderMatch>>,
    /// Query parameter matches, all of which must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "Option<Vec<QueryParamMatchSchema>>",
        transform = limits::HEADER_LIST.schema()
    )]
    pub query_params: Option<Vec<HttpQueryParamMatch>>,
    /// HTTP method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::HTTP_METHOD.schema())]
    pub method: Option<String>,
}

/// A path match.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct HttpPathMatch {
    /// `Exact`, `PathPrefix` (default) or `RegularExpression`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::PATH_MATCH_TYPE.schema())]
    pub type_: Option<String>,
    /// The path, prefix or regex; defaults to `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::PATH_VALUE.schema())]
    pub value: Option<String>,
}

/// A header match.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct HttpHeaderMatch {
    /// `Exact` (default) or `RegularExpression`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::MATCH_TYPE.schema())]
    pub type_: Option<String>,
    /// Header name, case-insensitive.
    #[schemars(transform = limits::HEADER_NAME.schema())]
    pub name: String,
    /// Value or regex.
    #[schemars(transform = limits::HEADER_VALUE.schema())]
    pub value: String,
}

/// A query parameter match (same fields as a header match; its value limits differ).
pub type HttpQueryParamMatch = HttpHeaderMatch;

/// The JSON Schema of a query parameter match: [`HttpHeaderMatch`]'s fields with the limits
/// of `queryParams` (a shorter value, no header-value pattern). Never constructed.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub(crate) struct QueryParamMatchSchema {
    /// `Exact` (default) or `RegularExpression`.
    #[serde(rename = "type", default)]
    #[schemars(transform = limits::MATCH_TYPE.schema())]
    type_: Option<String>,
    /// Parameter name, case-sensitive.
    #[schemars(transform = limits::HEADER_NAME.schema())]
    name: String,
    /// Value or regex.
    #[schemars(transform = limits::QUERY_PARAM_VALUE.schema())]
    value: String,
}

/// A filter; `type` says which of the optional fields is set.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteFilter {
    /// Which filter this is.
    #[serde(rename = "type")]
    #[schemars(transform = limits::HTTP_FILTER_TYPE.schema())]
    pub type_: String,
    /// Request header changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_header_modifier: Option<HttpHeaderFilter>,
    /// Response header changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_header_modifier: Option<HttpHeaderFilter>,
    /// Mirror requests to another backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_mirror: Option<HttpRequestMirrorFilter>,
    /// Answer with a redirect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_redirect: Option<HttpRequestRedirectFilter>,
    /// Rewrite host or path before forwarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_rewrite: Option<HttpUrlRewriteFilter>,
    /// CORS policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<HttpCorsFilter>,
    /// Experimental: external authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_auth: Option<HttpExternalAuthFilter>,
    /// Implementation-specific filter object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_ref: Option<LocalObjectReference>,
}

/// A redirect response.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequestRedirectFilter {
    /// `http` or `https`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::REDIRECT_SCHEME.schema())]
    pub scheme: Option<String>,
    /// Host of the Location header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::PRECISE_HOSTNAME.schema())]
    pub hostname: Option<String>,
    /// Path of the Location header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<HttpPathModifier>,
    /// Port of the Location header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::PORT.schema())]
    pub port: Option<i32>,
    /// 301, 302 (default), 303, 307 or 308.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::REDIRECT_STATUS_CODE.schema())]
    pub status_code: Option<i32>,
}

/// A host and path rewrite.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct HttpUrlRewriteFilter {
    /// New Host header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::PRECISE_HOSTNAME.schema())]
    pub hostname: Option<String>,
    /// New path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<HttpPathModifier>,
}

/// How to change the path.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct HttpPathModifier {
    /// `ReplaceFullPath` or `ReplacePrefixMatch`.
    #[serde(rename = "type")]
    #[schemars(transform = limits::PATH_MODIFIER_TYPE.schema())]
    pub type_: String,
    /// The full replacement path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::REPLACE_PATH.schema())]
    pub replace_full_path: Option<String>,
    /// The replacement for the matched prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::REPLACE_PATH.schema())]
    pub replace_prefix_match: Option<String>,
}

/// CORS policy.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct HttpCorsFilter {
    /// Allowed origins, `*` or with wildcard hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::CORS_ORIGINS.schema())]
    pub allow_origins: Option<Vec<String>>,
    /// Whether credentials are allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    /// Allowed methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::CORS_METHODS.schema())]
    pub allow_methods: Option<Vec<String>>,
    /// Allowed request headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::CORS_HEADERS.schema())]
    pub allow_headers: Option<Vec<String>>,
    /// Headers exposed to the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::CORS_HEADERS.schema())]
    pub expose_headers: Option<Vec<String>>,
    /// Preflight cache time in seconds; defaults to 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::MAX_AGE.schema())]
    pub max_age: Option<i32>,
}

/// Experimental: external authorization service.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct HttpExternalAuthFilter {
    /// `HTTP` or `GRPC`.
    #[schemars(transform = limits::AUTH_PROTOCOL.schema())]
    pub protocol: String,
    /// The authorization service.
    pub backend_ref: BackendObjectReference,
    /// gRPC settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<ExternalAuthGrpc>,
    /// HTTP settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<ExternalAuthHttp>,
    /// Whether and how much body to forward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_body: Option<ForwardBody>,
}

/// gRPC external authorization settings.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalAuthGrpc {
    /// Headers sent to the authorization service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::AUTH_HEADERS.schema())]
    pub allowed_headers: Option<Vec<String>>,
}

/// HTTP external authorization settings.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalAuthHttp {
    /// Path prefix for authorization requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::AUTH_PATH.schema())]
    pub path: Option<String>,
    /// Headers sent to the authorization service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::AUTH_HEADERS.schema())]
    pub allowed_headers: Option<Vec<String>>,
    /// Response headers copied to the upstream request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::AUTH_HEADERS.schema())]
    pub allowed_response_headers: Option<Vec<String>>,
}

/// Body forwarding to the authorization service.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct ForwardBody {
    /// Bytes of body to buffer and forward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<i32>,
}

/// A weighted backend with its own filters.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct HttpBackendRef {
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
    pub filters: Option<Vec<HttpRouteFilter>>,
}

/// Request timeouts.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteTimeouts {
    /// End-to-end request timeout (Gateway API duration; `0s` disables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::DURATION.schema())]
    pub request: Option<String>,
    /// Timeout of one request to a backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::DURATION.schema())]
    pub backend_request: Option<String>,
}

/// Experimental: retries.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct HttpRouteRetry {
    /// HTTP status codes that trigger a retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::RETRY_CODES.schema())]
    pub codes: Option<Vec<i32>>,
    /// Maximum retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::RETRY_ATTEMPTS.schema())]
    pub attempts: Option<i32>,
    /// Base backoff between retries (Gateway API duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::DURATION.schema())]
    pub backoff: Option<String>,
}
