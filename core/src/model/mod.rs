//! The Gateway API v1.6.1 kinds and the Kubernetes kinds the translation reads.
//!
//! Field names are exactly the CRDs' JSON names; optional fields stay `Option` so a
//! round trip keeps the difference between "absent" and "empty" that CEL rules see.

pub mod gateway;
pub mod grpcroute;
pub mod httproute;
pub mod kube;
pub mod l4route;
pub mod limits;
pub mod meta;
pub mod policy;
pub mod refs;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use gateway::*;
pub use grpcroute::*;
pub use httproute::*;
pub use kube::*;
pub use l4route::*;
pub use meta::*;
pub use policy::*;
pub use refs::*;

/// Declares a top-level kind: `apiVersion`, `kind`, `metadata`, then its body.
macro_rules! kind {
    ($(#[$doc:meta])* $name:ident { spec: $spec:ty, status: $status:ty }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// `group/version`.
            #[serde(default)]
            pub api_version: String,
            /// The kind name.
            #[serde(default)]
            pub kind: String,
            /// Name, namespace, labels, generation.
            #[serde(default)]
            pub metadata: ObjectMeta,
            /// Desired state.
            #[serde(default)]
            pub spec: $spec,
            /// Observed state, as written by a controller.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub status: Option<$status>,
        }
    };
    ($(#[$doc:meta])* $name:ident { flatten: $body:ty }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// `group/version`.
            #[serde(default)]
            pub api_version: String,
            /// The kind name.
            #[serde(default)]
            pub kind: String,
            /// Name, namespace, labels.
            #[serde(default)]
            pub metadata: ObjectMeta,
            /// The kind's top-level fields.
            #[serde(flatten)]
            pub body: $body,
        }
    };
}

kind!(
    /// A class of Gateways run by one controller.
    GatewayClass { spec: GatewayClassSpec, status: GatewayClassStatus }
);
kind!(
    /// A running proxy's listeners.
    Gateway { spec: GatewaySpec, status: GatewayStatus }
);
kind!(
    /// Listeners merged into a parent Gateway.
    ListenerSet { spec: ListenerSetSpec, status: ListenerSetStatus }
);
kind!(
    /// HTTP routing rules.
    HttpRoute { spec: HttpRouteSpec, status: RouteStatus }
);
kind!(
    /// gRPC routing rules.
    GrpcRoute { spec: GrpcRouteSpec, status: RouteStatus }
);
kind!(
    /// SNI routing of TLS connections.
    TlsRoute { spec: TlsRouteSpec, status: RouteStatus }
);
kind!(
    /// TCP connection forwarding.
    TcpRoute { spec: L4RouteSpec, status: RouteStatus }
);
kind!(
    /// UDP datagram forwarding.
    UdpRoute { spec: L4RouteSpec, status: RouteStatus }
);
kind!(
    /// Permission for cross-namespace references.
    ReferenceGrant { spec: ReferenceGrantSpec, status: serde_json::Value }
);
kind!(
    /// TLS from the proxy to backends.
    BackendTlsPolicy { spec: BackendTlsPolicySpec, status: PolicyStatus }
);
kind!(
    /// A namespace and its labels.
    Namespace { spec: NamespaceSpec, status: serde_json::Value }
);
kind!(
    /// A Service: ports and their protocols.
    Service { spec: ServiceSpec, status: serde_json::Value }
);
kind!(
    /// Endpoints of a Service.
    EndpointSlice { flatten: EndpointSliceData }
);
kind!(
    /// Certificates and keys.
    Secret { flatten: SecretData }
);
kind!(
    /// CA bundles and other text.
    ConfigMap { flatten: ConfigMapData }
);

/// Every kind we understand, with the API group and versions a manifest may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    /// gateway.networking.k8s.io GatewayClass
    GatewayClass,
    /// gateway.networking.k8s.io Gateway
    Gateway,
    /// gateway.networking.k8s.io ListenerSet
    ListenerSet,
    /// gateway.networking.k8s.io HTTPRoute
    HttpRoute,
    /// gateway.networking.k8s.io GRPCRoute
    GrpcRoute,
    /// gateway.networking.k8s.io TLSRoute
    TlsRoute,
    /// gateway.networking.k8s.io TCPRoute
    TcpRoute,
    /// gateway.networking.k8s.io UDPRoute
    UdpRoute,
    /// gateway.networking.k8s.io ReferenceGrant
    ReferenceGrant,
    /// gateway.networking.k8s.io BackendTLSPolicy
    BackendTlsPolicy,
    /// core Namespace
    Namespace,
    /// core Service
    Service,
    /// discovery.k8s.io EndpointSlice
    EndpointSlice,
    /// core Secret
    Secret,
    /// core ConfigMap
    ConfigMap,
}

impl Kind {
    /// Every kind, in a fixed order (used for schemas and listings).
    pub const ALL: [Kind; 15] = [
        Kind::GatewayClass,
        Kind::Gateway,
        Kind::ListenerSet,
        Kind::HttpRoute,
        Kind::GrpcRoute,
        Kind::TlsRoute,
        Kind::TcpRoute,
        Kind::UdpRoute,
        Kind::ReferenceGrant,
        Kind::BackendTlsPolicy,
        Kind::Namespace,
        Kind::Service,
        Kind::EndpointSlice,
        Kind::Secret,
        Kind::ConfigMap,
    ];

    /// The kind as manifests spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::GatewayClass => "GatewayClass",
            Kind::Gateway => "Gateway",
            Kind::ListenerSet => "ListenerSet",
            Kind::HttpRoute => "HTTPRoute",
            Kind::GrpcRoute => "GRPCRoute",
            Kind::TlsRoute => "TLSRoute",
            Kind::TcpRoute => "TCPRoute",
            Kind::UdpRoute => "UDPRoute",
            Kind::ReferenceGrant => "ReferenceGrant",
            Kind::BackendTlsPolicy => "BackendTLSPolicy",
            Kind::Namespace => "Namespace",
            Kind::Service => "Service",
            Kind::EndpointSlice => "EndpointSlice",
            Kind::Secret => "Secret",
            Kind::ConfigMap => "ConfigMap",
        }
    }

    /// The API group (`""` for core).
    pub fn group(self) -> &'static str {
        match self {
            Kind::Namespace | Kind::Service | Kind::Secret | Kind::ConfigMap => "",
            Kind::EndpointSlice => "discovery.k8s.io",
            _ => GATEWAY_GROUP,
        }
    }

    /// The API versions a manifest of this kind may carry.
    pub fn versions(self) -> &'static [&'static str] {
        match self {
            Kind::GatewayClass | Kind::Gateway | Kind::HttpRoute => &["v1", "v1beta1"],
            Kind::ReferenceGrant => &["v1beta1", "v1"],
            Kind::TlsRoute => &["v1", "v1alpha2", "v1alpha3"],
            Kind::TcpRoute | Kind::UdpRoute => &["v1", "v1alpha2"],
            Kind::BackendTlsPolicy => &["v1", "v1alpha3"],
            _ => &["v1"],
        }
    }

    /// Looks a kind up by its manifest name, case-insensitively (`httproute`, `HTTPRoute`).
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name))
    }

    /// The `apiVersion` we write for this kind: its group and first version (a test checks
    /// the two agree), spelled out so every status shares it.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::ReferenceGrant => "gateway.networking.k8s.io/v1beta1",
            Kind::GatewayClass
            | Kind::Gateway
            | Kind::ListenerSet
            | Kind::HttpRoute
            | Kind::GrpcRoute
            | Kind::TlsRoute
            | Kind::TcpRoute
            | Kind::UdpRoute
            | Kind::BackendTlsPolicy => "gateway.networking.k8s.io/v1",
            Kind::EndpointSlice => "discovery.k8s.io/v1",
            Kind::Namespace | Kind::Service | Kind::Secret | Kind::ConfigMap => "v1",
        }
    }

    /// The five route kinds, in [`Kind::ALL`] order.
    pub const ROUTES: [Kind; 5] = [
        Kind::HttpRoute,
        Kind::GrpcRoute,
        Kind::TlsRoute,
        Kind::TcpRoute,
        Kind::UdpRoute,
    ];

    /// Whether this is one of the five route kinds.
    pub fn is_route(self) -> bool {
        Self::ROUTES.contains(&self)
    }

    /// Whether objects of this kind live in a namespace.
    pub fn namespaced(self) -> bool {
        !matches!(self, Kind::GatewayClass | Kind::Namespace)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One loaded object of any kind we understand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[allow(missing_docs)]
// Every Arc<Object> in a Snapshot is the size of the largest variant: the large, rare kinds are
// boxed so that routes and EndpointSlices (most objects at scale) take 360 bytes, not 792.
pub enum Object {
    GatewayClass(GatewayClass),
    Gateway(Box<Gateway>),
    ListenerSet(Box<ListenerSet>),
    HttpRoute(HttpRoute),
    GrpcRoute(GrpcRoute),
    TlsRoute(TlsRoute),
    TcpRoute(TcpRoute),
    UdpRoute(UdpRoute),
    ReferenceGrant(ReferenceGrant),
    BackendTlsPolicy(Box<BackendTlsPolicy>),
    Namespace(Namespace),
    Service(Box<Service>),
    EndpointSlice(EndpointSlice),
    Secret(Secret),
    ConfigMap(ConfigMap),
}

/// Calls `$body` with the inner object bound to `$o`, whatever the variant.
macro_rules! each_object {
    ($obj:expr, $o:ident => $body:expr) => {
        match $obj {
            Object::GatewayClass($o) => $body,
            Object::Gateway($o) => $body,
            Object::ListenerSet($o) => $body,
            Object::HttpRoute($o) => $body,
            Object::GrpcRoute($o) => $body,
            Object::TlsRoute($o) => $body,
            Object::TcpRoute($o) => $body,
            Object::UdpRoute($o) => $body,
            Object::ReferenceGrant($o) => $body,
            Object::BackendTlsPolicy($o) => $body,
            Object::Namespace($o) => $body,
            Object::Service($o) => $body,
            Object::EndpointSlice($o) => $body,
            Object::Secret($o) => $body,
            Object::ConfigMap($o) => $body,
        }
    };
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Object::GatewayClass(_) => Kind::GatewayClass,
            Object::Gateway(_) => Kind::Gateway,
            Object::ListenerSet(_) => Kind::ListenerSet,
            Object::HttpRoute(_) => Kind::HttpRoute,
            Object::GrpcRoute(_) => Kind::GrpcRoute,
            Object::TlsRoute(_) => Kind::TlsRoute,
            Object::TcpRoute(_) => Kind::TcpRoute,
            Object::UdpRoute(_) => Kind::UdpRoute,
            Object::ReferenceGrant(_) => Kind::ReferenceGrant,
            Object::BackendTlsPolicy(_) => Kind::BackendTlsPolicy,
            Object::Namespace(_) => Kind::Namespace,
            Object::Service(_) => Kind::Service,
            Object::EndpointSlice(_) => Kind::EndpointSlice,
            Object::Secret(_) => Kind::Secret,
            Object::ConfigMap(_) => Kind::ConfigMap,
        }
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        each_object!(self, o => &o.metadata)
    }

    /// Mutable metadata, for defaulting the namespace on load.
    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        each_object!(self, o => &mut o.metadata)
    }

    /// The identity of the object within a snapshot.
    pub fn key(&self) -> ObjectKey {
        let m = self.metadata();
        ObjectKey::new(
            self.kind(),
            if self.kind().namespaced() { m.ns() } else { "" },
            &m.name,
        )
    }

    /// Decodes an object of a known kind from JSON, naming the field that failed.
    pub fn from_value(kind: Kind, value: serde_json::Value) -> Result<Object, String> {
        fn de<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, String> {
            serde_path_to_error::deserialize(v).map_err(|e| {
                let path = e.path().to_string();
                if path == "." {
                    e.into_inner().to_string()
                } else {
                    format!("{path}: {}", e.into_inner())
                }
            })
        }
        Ok(match kind {
            Kind::GatewayClass => Object::GatewayClass(de(value)?),
            Kind::Gateway => Object::Gateway(de(value)?),
            Kind::ListenerSet => Object::ListenerSet(de(value)?),
            Kind::HttpRoute => Object::HttpRoute(de(value)?),
            Kind::GrpcRoute => Object::GrpcRoute(de(value)?),
            Kind::TlsRoute => Object::TlsRoute(de(value)?),
            Kind::TcpRoute => Object::TcpRoute(de(value)?),
            Kind::UdpRoute => Object::UdpRoute(de(value)?),
            Kind::ReferenceGrant => Object::ReferenceGrant(de(value)?),
            Kind::BackendTlsPolicy => Object::BackendTlsPolicy(de(value)?),
            Kind::Namespace => Object::Namespace(de(value)?),
            Kind::Service => Object::Service(de(value)?),
            Kind::EndpointSlice => Object::EndpointSlice(de(value)?),
            Kind::Secret => Object::Secret(de(value)?),
            Kind::ConfigMap => Object::ConfigMap(de(value)?),
        })
    }

    /// The JSON Schema of a kind, derived from the Rust types.
    pub fn schema(kind: Kind) -> schemars::Schema {
        match kind {
            Kind::GatewayClass => schemars::schema_for!(GatewayClass),
            Kind::Gateway => schemars::schema_for!(Gateway),
            Kind::ListenerSet => schemars::schema_for!(ListenerSet),
            Kind::HttpRoute => schemars::schema_for!(HttpRoute),
            Kind::GrpcRoute => schemars::schema_for!(GrpcRoute),
            Kind::TlsRoute => schemars::schema_for!(TlsRoute),
            Kind::TcpRoute => schemars::schema_for!(TcpRoute),
            Kind::UdpRoute => schemars::schema_for!(UdpRoute),
            Kind::ReferenceGrant => schemars::schema_for!(ReferenceGrant),
            Kind::BackendTlsPolicy => schemars::schema_for!(BackendTlsPolicy),
            Kind::Namespace => schemars::schema_for!(Namespace),
            Kind::Service => schemars::schema_for!(Service),
            Kind::EndpointSlice => schemars::schema_for!(EndpointSlice),
            Kind::Secret => schemars::schema_for!(Secret),
            Kind::ConfigMap => schemars::schema_for!(ConfigMap),
        }
    }
}

/// The identity of an object: kind, namespace (empty for cluster-scoped kinds) and name. Keys
/// are copied into statuses, caches, dependencies and the IR of every route, so the names are
/// shared, not copied (and a [`Snapshot`](crate::Snapshot) shares one copy of each namespace).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectKey {
    /// The kind.
    pub kind: Kind,
    /// Namespace, empty for cluster-scoped kinds.
    pub namespace: std::sync::Arc<str>,
    /// Name.
    pub name: std::sync::Arc<str>,
}

impl ObjectKey {
    /// Builds a key.
    pub fn new(kind: Kind, namespace: &str, name: &str) -> Self {
        ObjectKey {
            kind,
            namespace: std::sync::Arc::from(namespace),
            name: std::sync::Arc::from(name),
        }
    }
}

/// Orders two shared names, without reading them when they are one and the same.
pub fn cmp_shared(a: &std::sync::Arc<str>, b: &std::sync::Arc<str>) -> std::cmp::Ordering {
    if std::sync::Arc::ptr_eq(a, b) {
        std::cmp::Ordering::Equal
    } else {
        cmp_str(a, b)
    }
}

/// Orders two strings as `str::cmp` does, eight bytes at a time and without a call to
/// `memcmp`: names, hostnames and timestamps are short, and map searches compare them by the
/// dozen, so the call cost more than the comparison.
#[inline]
pub fn cmp_str(a: &str, b: &str) -> std::cmp::Ordering {
    cmp_bytes(a.as_bytes(), b.as_bytes())
}

/// Orders two byte strings as [`cmp_str`] orders their text.
#[inline]
pub fn cmp_bytes(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let n = a.len().min(b.len());
    let (mut x, mut y) = (a[..n].chunks_exact(8), b[..n].chunks_exact(8));
    for (p, q) in (&mut x).zip(&mut y) {
        // Big-endian, so that the integers order as the bytes do.
        let word = |c: &[u8]| u64::from_be_bytes(c.try_into().unwrap_or_default());
        let (p, q) = (word(p), word(q));
        if p != q {
            return p.cmp(&q);
        }
    }
    for (p, q) in x.remainder().iter().zip(y.remainder()) {
        if p != q {
            return p.cmp(q);
        }
    }
    a.len().cmp(&b.len())
}

impl PartialOrd for ObjectKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ObjectKey {
    /// Kind, then namespace, then name (as [`KeyRef`] orders them too).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.kind
            .cmp(&other.kind)
            .then_with(|| cmp_shared(&self.namespace, &other.namespace))
            .then_with(|| cmp_shared(&self.name, &other.name))
    }
}

/// A borrowed object identity, so maps keyed by [`ObjectKey`] are searched without allocating
/// a key (`(Kind, &str, &str)` orders, compares and hashes exactly as the key it stands for).
pub trait KeyRef {
    /// Kind, namespace and name.
    fn parts(&self) -> (Kind, &str, &str);
}

impl KeyRef for ObjectKey {
    fn parts(&self) -> (Kind, &str, &str) {
        (self.kind, &self.namespace, &self.name)
    }
}

impl KeyRef for (Kind, &str, &str) {
    fn parts(&self) -> (Kind, &str, &str) {
        *self
    }
}

impl<'a> std::borrow::Borrow<dyn KeyRef + 'a> for ObjectKey {
    fn borrow(&self) -> &(dyn KeyRef + 'a) {
        self
    }
}

impl PartialEq for dyn KeyRef + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn KeyRef + '_ {}

impl PartialOrd for dyn KeyRef + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn KeyRef + '_ {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // The order of `ObjectKey`: kind, then namespace, then name.
        let (a, b) = (self.parts(), other.parts());
        a.0.cmp(&b.0)
            .then_with(|| cmp_str(a.1, b.1))
            .then_with(|| cmp_str(a.2, b.2))
    }
}

impl std::hash::Hash for dyn KeyRef + '_ {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // The derived hash of `ObjectKey` hashes the same fields in the same order.
        self.parts().hash(state)
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spelled-out `apiVersion`s agree with each kind's group and first version.
    #[test]
    fn api_version_is_group_and_first_version() {
        for kind in Kind::ALL {
            let expected = match kind.group() {
                "" => kind.versions()[0].to_string(),
                g => format!("{g}/{}", kind.versions()[0]),
            };
            assert_eq!(kind.api_version(), expected, "{kind}");
        }
    }

    /// Keys order by kind, namespace and name, whether their names are shared or not, and
    /// the borrowed view orders them the same way.
    #[test]
    fn keys_order_alike_shared_or_not() {
        let a = ObjectKey::new(Kind::HttpRoute, "default", "a");
        let b = ObjectKey::new(Kind::HttpRoute, "default", "b");
        let shared_b = ObjectKey {
            namespace: a.namespace.clone(),
            ..b.clone()
        };
        assert!(a < b && a < shared_b);
        assert_eq!(b.cmp(&shared_b), std::cmp::Ordering::Equal);
        let (va, vb) = (
            (a.kind, &*a.namespace, &*a.name),
            (b.kind, &*b.namespace, &*b.name),
        );
        assert_eq!((&va as &dyn KeyRef).cmp(&vb), a.cmp(&b));
        assert!(ObjectKey::new(Kind::Gateway, "z", "z") < a);
    }

    proptest::proptest! {
        /// The word-at-a-time comparison orders any strings as `str::cmp` does.
        #[test]
        fn cmp_str_orders_as_str(a in proptest::prelude::any::<String>(), b in proptest::prelude::any::<String>()) {
            proptest::prop_assert_eq!(cmp_str(&a, &b), a.cmp(&b));
        }

        /// Including names with a long common prefix, differing anywhere or only in length.
        #[test]
        fn cmp_str_orders_shared_prefixes(p in "[a-z/-]{0,40}", x in "[a-z0-9\\x00\\xff]{0,12}", y in "[a-z0-9\\x00\\xff]{0,12}") {
            let (a, b) = (format!("{p}{x}"), format!("{p}{y}"));
            proptest::prop_assert_eq!(cmp_str(&a, &b), a.cmp(&b));
            proptest::prop_assert_eq!(cmp_str(&a, &p), a.as_str().cmp(p.as_str()));
        }
    }
}
