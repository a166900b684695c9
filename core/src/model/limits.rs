//! The OpenAPI value limits of the Gateway API v1.6.1 CRDs, written once.
//!
//! Each constant describes one field shape (a hostname, a port, a list of parentRefs, ...),
//! exactly as the CRD's `openAPIV3Schema` states it (experimental channel; the few limits
//! that differ in the standard channel have a `_STANDARD` twin). The model's
//! `#[schemars(transform = X.schema())]` attributes copy a constant into the JSON Schema, and
//! [`crate::validate`] checks values against the same constant with Kubernetes' wording, so
//! the schema and the validator cannot drift apart.

use schemars::Schema;
use serde_json::Value;

/// The limits of one field: strings, integers, lists and maps each use their own subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `minLength` of a string.
    pub min_length: Option<usize>,
    /// `maxLength` of a string.
    pub max_length: Option<usize>,
    /// `pattern` of a string, verbatim from the CRD (RE2 syntax, which `regex` accepts).
    pub pattern: Option<&'static str>,
    /// `enum` of a string; empty when any value is allowed.
    pub one_of: &'static [&'static str],
    /// `enum` of an integer; empty when any value is allowed.
    pub int_one_of: &'static [i64],
    /// `minimum` of an integer.
    pub minimum: Option<i64>,
    /// `maximum` of an integer.
    pub maximum: Option<i64>,
    /// `minItems` of a list.
    pub min_items: Option<usize>,
    /// `maxItems` of a list.
    pub max_items: Option<usize>,
    /// `maxProperties` of a map.
    pub max_properties: Option<usize>,
    /// Limits of each item of a list of scalars.
    pub items: Option<&'static Limits>,
    /// Limits of each value of a map.
    pub values: Option<&'static Limits>,
}

impl Limits {
    /// No limit at all.
    pub const NONE: Limits = Limits {
        min_length: None,
        max_length: None,
        pattern: None,
        one_of: &[],
        int_one_of: &[],
        minimum: None,
        maximum: None,
        min_items: None,
        max_items: None,
        max_properties: None,
        items: None,
        values: None,
    };

    /// A string of `min..=max` bytes.
    pub const fn string(min: usize, max: usize) -> Limits {
        Limits {
            min_length: Some(min),
            max_length: Some(max),
            ..Limits::NONE
        }
    }

    /// A string of at most `max` bytes (no `minLength`).
    pub const fn max_len(max: usize) -> Limits {
        Limits {
            max_length: Some(max),
            ..Limits::NONE
        }
    }

    /// A string matching `pattern` (no length limits).
    pub const fn matching(pattern: &'static str) -> Limits {
        Limits::NONE.pattern(pattern)
    }

    /// Adds a `pattern`.
    pub const fn pattern(self, pattern: &'static str) -> Limits {
        Limits {
            pattern: Some(pattern),
            ..self
        }
    }

    /// A string enum.
    pub const fn one_of(values: &'static [&'static str]) -> Limits {
        Limits {
            one_of: values,
            ..Limits::NONE
        }
    }

    /// An integer enum.
    pub const fn int_one_of(values: &'static [i64]) -> Limits {
        Limits {
            int_one_of: values,
            ..Limits::NONE
        }
    }

    /// An integer in `min..=max`.
    pub const fn range(min: i64, max: i64) -> Limits {
        Limits {
            minimum: Some(min),
            maximum: Some(max),
            ..Limits::NONE
        }
    }

    /// An integer of at least `min`.
    pub const fn at_least(min: i64) -> Limits {
        Limits {
            minimum: Some(min),
            ..Limits::NONE
        }
    }

    /// A list of at most `max` items (`min` 0 writes no `minItems`).
    pub const fn list(min: usize, max: usize) -> Limits {
        Limits {
            min_items: if min == 0 { None } else { Some(min) },
            max_items: Some(max),
            ..Limits::NONE
        }
    }

    /// Limits of each item of a list of scalars.
    pub const fn of(self, items: &'static Limits) -> Limits {
        Limits {
            items: Some(items),
            ..self
        }
    }

    /// A map of at most `max` entries whose values obey `values`.
    pub const fn map(max: usize, values: &'static Limits) -> Limits {
        Limits {
            max_properties: Some(max),
            values: Some(values),
            ..Limits::NONE
        }
    }

    /// A schemars transform writing these limits into a field's schema.
    pub fn schema(self) -> impl FnMut(&mut Schema) {
        move |schema: &mut Schema| self.apply(schema)
    }

    /// Writes these limits into a schema (and into its `items` / `additionalProperties`).
    pub fn apply(&self, schema: &mut Schema) {
        let numbers = [
            ("minLength", self.min_length),
            ("maxLength", self.max_length),
            ("minItems", self.min_items),
            ("maxItems", self.max_items),
            ("maxProperties", self.max_properties),
        ];
        for (key, v) in numbers {
            if let Some(v) = v {
                schema.insert(key.into(), v.into());
            }
        }
        for (key, v) in [("minimum", self.minimum), ("maximum", self.maximum)] {
            if let Some(v) = v {
                schema.insert(key.into(), v.into());
            }
        }
        if let Some(p) = self.pattern {
            schema.insert("pattern".into(), p.into());
        }
        if !self.one_of.is_empty() {
            schema.insert("enum".into(), self.one_of.into());
        }
        if !self.int_one_of.is_empty() {
            schema.insert("enum".into(), self.int_one_of.into());
        }
        for (key, sub) in [("items", self.items), ("additionalProperties", self.values)] {
            let target = schema
                .get_mut(key)
                .and_then(|v| <&mut Schema>::try_from(v).ok());
            if let (Some(sub), Some(target)) = (sub, target) {
                sub.apply(target);
            }
        }
    }
}

/// A schemars transform for a struct: marks `field` as required although it has a serde
/// default (the CRD requires it; the loader tolerates its absence).
pub fn required(field: &'static str) -> impl FnMut(&mut Schema) {
    move |schema: &mut Schema| {
        let obj = schema.ensure_object();
        let list = obj
            .entry("required")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = list {
            if !list.iter().any(|v| v == field) {
                list.push(field.into());
            }
        }
    }
}

// ---- Patterns, verbatim from the CRDs ----

/// RFC 1123 subdomain: listener, rule and section names, precise hostnames.
pub const DNS_SUBDOMAIN_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// A hostname, optionally with a leading `*.` wildcard label.
pub const WILDCARD_HOSTNAME_PATTERN: &str =
    r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// An API group: empty (core) or an RFC 1123 subdomain.
pub const GROUP_PATTERN: &str =
    r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// A kind name.
pub const KIND_PATTERN: &str = r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$";
/// An RFC 1123 label: namespaces.
pub const NAMESPACE_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// A domain-prefixed path: controller names.
pub const CONTROLLER_NAME_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$";
/// Gateway address types: the core ones or domain-prefixed.
pub const ADDRESS_TYPE_PATTERN: &str = r"^Hostname|IPAddress|NamedAddress|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$";
/// Listener protocols: a core name or domain-prefixed.
pub const PROTOCOL_PATTERN: &str = r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$";
/// An HTTP header name (RFC 7230 token).
pub const HEADER_NAME_PATTERN: &str = r"^[A-Za-z0-9!#$%&'*+\-.^_\x60|~]+$";
/// An HTTP header value (experimental channel only).
pub const HEADER_VALUE_PATTERN: &str = r"^[!-~]+([\t ]?[!-~]+)*$";
/// A Gateway API duration (`1h30m`, `500ms`).
pub const DURATION_PATTERN: &str = r"^([0-9]{1,5}(h|m|s|ms)){1,4}$";
/// A CORS origin: `*` or `scheme://host[:port]` with an optional wildcard label.
pub const CORS_ORIGIN_PATTERN: &str =
    r"(^\*$)|(^(http(s)?):\/\/(((\*\.)?([a-zA-Z0-9\-]+\.)*[a-zA-Z0-9-]+|\*)(:([0-9]{1,5}))?)$)";
/// An absolute path of valid characters (external auth path prefix).
pub const PATH_CHARS_PATTERN: &str = r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$";
/// A label value of the Gateway infrastructure.
pub const LABEL_VALUE_PATTERN: &str = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$";
/// `System` or a domain-prefixed implementation-specific CA set.
pub const WELL_KNOWN_CA_PATTERN: &str = r"^(System|([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]))$";
/// A URI subject alternative name (RFC 3986 with scheme and authority).
pub const URI_PATTERN: &str = r"^(([^:/?#]+):)(//([^/?#]*))([^?#]*)(\?([^#]*))?(#(.*))?";
/// A status condition type.
pub const CONDITION_TYPE_PATTERN: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";
/// A status condition reason.
pub const CONDITION_REASON_PATTERN: &str = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";

// ---- Strings ----

/// Listener, route and SAN hostnames (wildcards allowed).
pub const HOSTNAME: Limits = Limits::string(1, 253).pattern(WILDCARD_HOSTNAME_PATTERN);
/// Redirect, rewrite and backend TLS hostnames (no wildcard).
pub const PRECISE_HOSTNAME: Limits = Limits::string(1, 253).pattern(DNS_SUBDOMAIN_PATTERN);
/// Listener names, rule names and `sectionName`s.
pub const SECTION_NAME: Limits = Limits::string(1, 253).pattern(DNS_SUBDOMAIN_PATTERN);
/// A GatewayClass or route-status controller name.
pub const CONTROLLER_NAME: Limits = Limits::string(1, 253).pattern(CONTROLLER_NAME_PATTERN);
/// An API group.
pub const GROUP: Limits = Limits::max_len(253).pattern(GROUP_PATTERN);
/// A kind.
pub const KIND: Limits = Limits::string(1, 63).pattern(KIND_PATTERN);
/// An object name.
pub const OBJECT_NAME: Limits = Limits::string(1, 253);
/// A namespace.
pub const NAMESPACE: Limits = Limits::string(1, 63).pattern(NAMESPACE_PATTERN);
/// GatewayClass description.
pub const DESCRIPTION: Limits = Limits::max_len(64);
/// A Gateway address type.
pub const ADDRESS_TYPE: Limits = Limits::string(1, 253).pattern(ADDRESS_TYPE_PATTERN);
/// A requested Gateway address (may be empty).
pub const ADDRESS_VALUE: Limits = Limits::max_len(253);
/// A Gateway status address.
pub const STATUS_ADDRESS_VALUE: Limits = Limits::string(1, 253);
/// A listener protocol.
pub const PROTOCOL: Limits = Limits::string(1, 255).pattern(PROTOCOL_PATTERN);
/// An HTTP header name (matches, modifiers, CORS).
pub const HEADER_NAME: Limits = Limits::string(1, 256).pattern(HEADER_NAME_PATTERN);
/// An HTTP header value of a match or modifier (experimental channel).
pub const HEADER_VALUE: Limits = Limits::string(1, 4096).pattern(HEADER_VALUE_PATTERN);
/// An HTTP header value in the standard channel, and a gRPC header match value.
pub const HEADER_VALUE_STANDARD: Limits = Limits::string(1, 4096);
/// A query parameter match value.
pub const QUERY_PARAM_VALUE: Limits = Limits::string(1, 1024);
/// A path match value.
pub const PATH_VALUE: Limits = Limits::max_len(1024);
/// `replaceFullPath` and `replacePrefixMatch`.
pub const REPLACE_PATH: Limits = Limits::max_len(1024);
/// A gRPC service or method name.
pub const GRPC_NAME: Limits = Limits::max_len(1024);
/// A CORS allowed origin.
pub const CORS_ORIGIN: Limits = Limits::string(1, 253).pattern(CORS_ORIGIN_PATTERN);
/// The external authorization path prefix.
pub const AUTH_PATH: Limits = Limits::max_len(1024).pattern(PATH_CHARS_PATTERN);
/// A session cookie or header name.
pub const SESSION_NAME: Limits = Limits::max_len(128);
/// A Gateway API duration.
pub const DURATION: Limits = Limits::matching(DURATION_PATTERN);
/// A Gateway infrastructure label value.
pub const LABEL_VALUE: Limits = Limits::string(0, 63).pattern(LABEL_VALUE_PATTERN);
/// An annotation or implementation-specific option value.
pub const OPTION_VALUE: Limits = Limits::string(0, 4096);
/// BackendTLSPolicy `wellKnownCACertificates`.
pub const WELL_KNOWN_CA: Limits = Limits::string(1, 253).pattern(WELL_KNOWN_CA_PATTERN);
/// A URI subject alternative name.
pub const SAN_URI: Limits = Limits::string(1, 253).pattern(URI_PATTERN);
/// A status condition type.
pub const CONDITION_TYPE: Limits = Limits::max_len(316).pattern(CONDITION_TYPE_PATTERN);
/// A status condition reason.
pub const CONDITION_REASON: Limits = Limits::string(1, 1024).pattern(CONDITION_REASON_PATTERN);
/// A status condition message.
pub const CONDITION_MESSAGE: Limits = Limits::max_len(32768);

// ---- Enums ----

/// Namespaces routes may come from.
pub const FROM_NAMESPACES: Limits = Limits::one_of(&["All", "Selector", "Same"]);
/// Namespaces ListenerSets may come from.
pub const FROM_LISTENER_NAMESPACES: Limits = Limits::one_of(&["All", "Selector", "Same", "None"]);
/// Listener TLS modes.
pub const TLS_MODE: Limits = Limits::one_of(&["Terminate", "Passthrough"]);
/// Frontend client-certificate validation modes.
pub const FRONTEND_VALIDATION_MODE: Limits =
    Limits::one_of(&["AllowValidOnly", "AllowInsecureFallback"]);
/// `defaultScope` and `useDefaultGateways`.
pub const SCOPE: Limits = Limits::one_of(&["All", "None"]);
/// HTTP path match types.
pub const PATH_MATCH_TYPE: Limits = Limits::one_of(&["Exact", "PathPrefix", "RegularExpression"]);
/// Header, query parameter and gRPC method match types.
pub const MATCH_TYPE: Limits = Limits::one_of(&["Exact", "RegularExpression"]);
/// HTTP methods a route may match.
pub const HTTP_METHOD: Limits = Limits::one_of(&[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
]);
/// HTTP methods a CORS policy may allow.
pub const CORS_METHOD: Limits = Limits::one_of(&[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*",
]);
/// HTTPRoute filter types (experimental channel).
pub const HTTP_FILTER_TYPE: Limits = Limits::one_of(&[
    "RequestHeaderModifier",
    "ResponseHeaderModifier",
    "RequestMirror",
    "RequestRedirect",
    "URLRewrite",
    "ExtensionRef",
    "CORS",
    "ExternalAuth",
]);
/// HTTPRoute filter types (standard channel).
pub const HTTP_FILTER_TYPE_STANDARD: Limits = Limits::one_of(&[
    "RequestHeaderModifier",
    "ResponseHeaderModifier",
    "RequestMirror",
    "RequestRedirect",
    "URLRewrite",
    "ExtensionRef",
    "CORS",
]);
/// GRPCRoute filter types.
pub const GRPC_FILTER_TYPE: Limits = Limits::one_of(&[
    "ResponseHeaderModifier",
    "RequestHeaderModifier",
    "RequestMirror",
    "ExtensionRef",
]);
/// Redirect schemes.
pub const REDIRECT_SCHEME: Limits = Limits::one_of(&["http", "https"]);
/// Redirect status codes.
pub const REDIRECT_STATUS_CODE: Limits = Limits::int_one_of(&[301, 302, 303, 307, 308]);
/// Path modifier types.
pub const PATH_MODIFIER_TYPE: Limits = Limits::one_of(&["ReplaceFullPath", "ReplacePrefixMatch"]);
/// External authorization protocols.
pub const AUTH_PROTOCOL: Limits = Limits::one_of(&["HTTP", "GRPC"]);
/// Session persistence types.
pub const SESSION_TYPE: Limits = Limits::one_of(&["Cookie", "Header"]);
/// Session cookie lifetimes.
pub const COOKIE_LIFETIME: Limits = Limits::one_of(&["Permanent", "Session"]);
/// Subject alternative name types.
pub const SAN_TYPE: Limits = Limits::one_of(&["Hostname", "URI"]);
/// Condition statuses.
pub const CONDITION_STATUS: Limits = Limits::one_of(&["True", "False", "Unknown"]);

// ---- Integers ----

/// A port number.
pub const PORT: Limits = Limits::range(1, 65535);
/// A backend weight.
pub const WEIGHT: Limits = Limits::range(0, 1_000_000);
/// A mirror percentage.
pub const PERCENT: Limits = Limits::range(0, 100);
/// A fraction numerator.
pub const NUMERATOR: Limits = Limits::at_least(0);
/// A fraction denominator.
pub const DENOMINATOR: Limits = Limits::at_least(1);
/// CORS `maxAge` seconds.
pub const MAX_AGE: Limits = Limits::at_least(1);
/// Retry attempts.
pub const RETRY_ATTEMPTS: Limits = Limits::at_least(1);
/// A retryable HTTP status code.
pub const RETRY_CODE: Limits = Limits::range(400, 599);
/// A condition's `observedGeneration`.
pub const OBSERVED_GENERATION: Limits = Limits::at_least(0);

// ---- Lists and maps ----

/// Gateway `addresses` (spec and status).
pub const ADDRESSES: Limits = Limits::list(0, 16);
/// Gateway and ListenerSet `listeners`.
pub const LISTENERS: Limits = Limits::list(1, 64);
/// `allowedRoutes.kinds` and status `supportedKinds`.
pub const ROUTE_KINDS: Limits = Limits::list(0, 8);
/// Listener `certificateRefs`.
pub const CERTIFICATE_REFS: Limits = Limits::list(0, 64);
/// Frontend validation `caCertificateRefs`.
pub const FRONTEND_CA_REFS: Limits = Limits::list(1, 16);
/// Frontend TLS `perPort`.
pub const PER_PORT: Limits = Limits::list(0, 64);
/// Infrastructure labels.
pub const LABELS: Limits = Limits::map(8, &LABEL_VALUE);
/// Infrastructure annotations.
pub const ANNOTATIONS: Limits = Limits::map(16, &OPTION_VALUE);
/// Implementation-specific TLS options.
pub const OPTIONS: Limits = Limits::map(16, &OPTION_VALUE);
/// HTTPRoute and GRPCRoute `hostnames`.
pub const HOSTNAMES: Limits = Limits::list(0, 16).of(&HOSTNAME);
/// TLSRoute `hostnames`.
pub const TLS_HOSTNAMES: Limits = Limits::list(1, 1024).of(&HOSTNAME);
/// Route `parentRefs` and status `parents`.
pub const PARENT_REFS: Limits = Limits::list(0, 32);
/// HTTPRoute `rules`.
pub const HTTP_RULES: Limits = Limits::list(1, 16);
/// GRPCRoute `rules`.
pub const GRPC_RULES: Limits = Limits::list(0, 16);
/// TLSRoute, TCPRoute and UDPRoute `rules`.
pub const L4_RULES: Limits = Limits::list(1, 1);
/// HTTP and gRPC `matches`.
pub const MATCHES: Limits = Limits::list(0, 64);
/// `filters` of a rule or backend.
pub const FILTERS: Limits = Limits::list(0, 16);
/// HTTP and gRPC `backendRefs`.
pub const BACKEND_REFS: Limits = Limits::list(0, 16);
/// TLSRoute, TCPRoute and UDPRoute `backendRefs`.
pub const L4_BACKEND_REFS: Limits = Limits::list(1, 16);
/// Header and query parameter matches, and header modifier `set`/`add`.
pub const HEADER_LIST: Limits = Limits::list(0, 16);
/// Header modifier `remove`.
pub const HEADER_REMOVE: Limits = Limits::list(0, 16);
/// CORS `allowOrigins`.
pub const CORS_ORIGINS: Limits = Limits::list(0, 64).of(&CORS_ORIGIN);
/// CORS `allowMethods`.
pub const CORS_METHODS: Limits = Limits::list(0, 9).of(&CORS_METHOD);
/// CORS `allowHeaders` and `exposeHeaders`.
pub const CORS_HEADERS: Limits = Limits::list(0, 64).of(&HEADER_NAME);
/// External authorization header lists.
pub const AUTH_HEADERS: Limits = Limits::list(0, 64);
/// Retry `codes`.
pub const RETRY_CODES: Limits = Limits::NONE.of(&RETRY_CODE);
/// BackendTLSPolicy `targetRefs`.
pub const TARGET_REFS: Limits = Limits::list(1, 16);
/// BackendTLSPolicy `caCertificateRefs`.
pub const BACKEND_CA_REFS: Limits = Limits::list(0, 8);
/// BackendTLSPolicy `subjectAltNames`.
pub const SUBJECT_ALT_NAMES: Limits = Limits::list(0, 5);
/// ReferenceGrant `from` and `to`.
pub const GRANT_PEERS: Limits = Limits::list(1, 16);
/// Status `conditions` of a Gateway, ListenerSet, GatewayClass or listener.
pub const CONDITIONS: Limits = Limits::list(0, 8);
/// Status `conditions` of a route parent or policy ancestor.
pub const PARENT_CONDITIONS: Limits = Limits::list(1, 8);
/// Status `listeners`.
pub const STATUS_LISTENERS: Limits = Limits::list(0, 64);
/// BackendTLSPolicy status `ancestors`.
pub const ANCESTORS: Limits = Limits::list(0, 16);
/// GatewayClass status `supportedFeatures`.
pub const SUPPORTED_FEATURES: Limits = Limits::list(0, 64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_limits_to_optional_lists_and_their_items() {
        let mut schema = schemars::json_schema!({
            "type": ["array", "null"],
            "items": {"type": "string"}
        });
        HOSTNAMES.schema()(&mut schema);
        assert_eq!(schema.get("maxItems"), Some(&Value::from(16)));
        let items = schema.get("items").expect("items");
        assert_eq!(items["pattern"], WILDCARD_HOSTNAME_PATTERN);
        assert_eq!(items["minLength"], 1);
    }

    #[test]
    fn required_adds_each_field_once() {
        let mut schema = schemars::json_schema!({"type": "object", "required": ["a"]});
        required("a")(&mut schema);
        required("b")(&mut schema);
        required("b")(&mut schema);
        assert_eq!(schema.get("required"), Some(&serde_json::json!(["a", "b"])));
    }
}
