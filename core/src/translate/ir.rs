//! The intermediate representation: what each Gateway's proxy must do, free of Envoy's vocabulary.
//!
//! Everything here is ordered (BTreeMap, sorted Vecs) so the Envoy output is deterministic.
//!
//! Routes and clusters are shared (`Arc`) between the translation's working state, the IR of
//! every Gateway they reach and the Envoy encoder's caches: a translation that changes one
//! route allocates one route, and an unchanged piece keeps its address, which is how later
//! stages recognise it in O(1).

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::model::ObjectKey;

/// Everything one Gateway's proxy serves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayIr {
    /// The Gateway.
    pub gateway: Option<ObjectKey>,
    /// One entry per port and transport: (port, whether UDP); TCP and UDP may share a number.
    pub ports: BTreeMap<(u16, bool), PortIr>,
    /// Upstream clusters, by name (shared: unchanged between translations unless one changed).
    pub clusters: Shared<BTreeMap<ClusterName, Arc<ClusterIr>>>,
    /// TLS certificates, by name (shared, like the clusters).
    pub secrets: Shared<BTreeMap<String, SecretIr>>,
    /// The certificate (a name in `secrets`) presented to TLS backends
    /// (`Gateway.spec.tls.backend.clientCertificateRef`).
    pub backend_client_cert: Option<String>,
}

/// A value shared between translations and copied only when it changes; reads like the
/// value itself (`Deref`, and `for (k, v) in &shared` for maps), compares by address first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shared<T>(pub Arc<T>);

impl<T> Shared<T> {
    /// Shares a value.
    pub fn new(value: T) -> Self {
        Shared(Arc::new(value))
    }
}

impl<T: Clone> Shared<T> {
    /// The value, to change: copied first when it is shared.
    pub fn make_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<'a, K, V> IntoIterator for &'a Shared<BTreeMap<K, V>> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::collections::btree_map::Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// One listening port and what arrives on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortIr {
    /// The port.
    pub port: u16,
    /// Whether it is a UDP port.
    pub udp: bool,
    /// HTTP without TLS: one route table for the port.
    pub http: Option<RouteTableIr>,
    /// TLS chains (HTTPS, TLS terminate, TLS passthrough), selected by SNI.
    pub tls_chains: Vec<TlsChainIr>,
    /// A TCP or UDP forward.
    pub forward: Option<ForwardIr>,
}

/// A set of virtual hosts served on one port or TLS chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteTableIr {
    /// The RouteConfiguration name.
    pub name: String,
    /// Virtual hosts by domain (`*` for any).
    pub vhosts: BTreeMap<String, RouteList>,
}

/// The routes of one virtual host in precedence order, shared; equality looks at addresses
/// first, so comparing an unchanged list is O(1).
#[derive(Debug, Clone, Default)]
pub struct RouteList(pub Arc<Vec<Arc<RouteIr>>>);

impl RouteList {
    /// A list of routes.
    pub fn new(routes: Vec<Arc<RouteIr>>) -> Self {
        RouteList(Arc::new(routes))
    }

    /// Whether both lists are the same allocation (then they are equal without looking).
    pub fn same(&self, other: &RouteList) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Deref for RouteList {
    type Target = [Arc<RouteIr>];
    fn deref(&self) -> &[Arc<RouteIr>] {
        &self.0
    }
}

impl<'a> IntoIterator for &'a RouteList {
    type Item = &'a Arc<RouteIr>;
    type IntoIter = std::slice::Iter<'a, Arc<RouteIr>>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl PartialEq for RouteList {
    fn eq(&self, other: &RouteList) -> bool {
        self.same(other)
            || (self.len() == other.len()
                && self
                    .iter()
                    .zip(other.iter())
                    .all(|(a, b)| Arc::ptr_eq(a, b) || a == b))
    }
}

impl Eq for RouteList {}

/// A TLS filter chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsChainIr {
    /// Chain name (the listener's).
    pub name: String,
    /// SNI names selecting the chain; empty means any.
    pub server_names: Vec<String>,
    /// Certificates to terminate with; empty for passthrough.
    pub secrets: Vec<String>,
    /// Client certificates to ask for and validate.
    pub client_validation: Option<ClientValidationIr>,
    /// What to do with the decrypted (or passed-through) stream.
    pub action: TlsChainAction,
}

/// Client certificate validation of a TLS chain (`Gateway.spec.tls.frontend`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientValidationIr {
    /// PEM bundle of the CA certificates client certificates must chain to.
    pub ca_pem: String,
    /// `AllowInsecureFallback`: ask for a certificate, but let any (or none) through.
    pub insecure_fallback: bool,
}

/// What a TLS chain does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsChainAction {
    /// Terminate and route HTTP.
    Http(RouteTableIr),
    /// Forward the stream (terminated or passed through) to weighted clusters.
    Forward(ForwardIr),
}

/// A TCP or UDP forward to weighted clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardIr {
    /// Stat prefix / name.
    pub name: String,
    /// Weighted clusters; empty means refuse connections.
    pub clusters: Vec<(ClusterName, u32)>,
}

/// A cluster's name (`namespace/service/port`): made once per backend, shared by every route,
/// placement and table that refers to it.
pub type ClusterName = Arc<str>;

/// The clusters one route's rules send to, sorted by name without repeats. Most routes send to
/// one backend: held inline, the list costs no allocation of its own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteClusters(SmallVec<[(ClusterName, Arc<ClusterIr>); 1]>);

impl RouteClusters {
    /// The shared name of the cluster called `name`, when the route already has it.
    pub fn name(&self, name: &str) -> Option<&ClusterName> {
        self.position(name).ok().map(|i| &self.0[i].0)
    }

    /// Adds a cluster (replacing one of the same name).
    pub fn insert(&mut self, name: ClusterName, cluster: Arc<ClusterIr>) {
        match self.position(&name) {
            Ok(i) => self.0[i].1 = cluster,
            Err(i) => self.0.insert(i, (name, cluster)),
        }
    }

    /// The clusters with their names, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&ClusterName, &Arc<ClusterIr>)> {
        self.0.iter().map(|(n, c)| (n, c))
    }

    /// The names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &ClusterName> {
        self.0.iter().map(|(n, _)| n)
    }

    /// The clusters, in name order.
    pub fn values(&self) -> impl Iterator<Item = &Arc<ClusterIr>> {
        self.0.iter().map(|(_, c)| c)
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| (**n).cmp(name))
    }
}

/// One HTTP route (a rule's match) in precedence order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteIr {
    /// Content-derived name: route, rule name or match, so reordering changes nothing.
    pub name: String,
    /// The route object it came from.
    pub source: ObjectKey,
    /// What requests it matches.
    pub matcher: MatchIr,
    /// What it does with them.
    pub action: ActionIr,
    /// What its rule adds to the action; `None` for the many rules that add nothing.
    pub extras: Option<Arc<RouteExtrasIr>>,
    /// Precedence key: lower sorts first.
    pub rank: RankKey,
}

/// What a rule adds to its action: header changes, mirrors, CORS, timeouts, retries, session
/// affinity. Most rules set none of them, so an IR route holds them behind one pointer, shared
/// by the rule's matches: a plain route is half the size (816 → 416 bytes), which every
/// translation writes, drops, and reads again to build Envoy's Route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RouteExtrasIr {
    /// Request header changes.
    pub request_headers: HeaderModsIr,
    /// Response header changes.
    pub response_headers: HeaderModsIr,
    /// Mirror targets with their percentage (in millionths).
    pub mirrors: Vec<(ClusterName, u32)>,
    /// CORS policy.
    pub cors: Option<crate::model::HttpCorsFilter>,
    /// Whole-request timeout in milliseconds (0 disables).
    pub timeout_ms: Option<u64>,
    /// Per-try timeout in milliseconds.
    pub per_try_timeout_ms: Option<u64>,
    /// Retry policy.
    pub retry: Option<RetryIr>,
    /// Session affinity (experimental `sessionPersistence`).
    pub session: Option<SessionIr>,
}

impl RouteExtrasIr {
    /// The extras to share among a rule's routes: `None` when the rule sets none of them.
    pub fn shared(self) -> Option<Arc<Self>> {
        (!self.is_empty()).then(|| Arc::new(self))
    }

    /// Whether the rule sets none of the extras. Field by field, where comparing with a
    /// default built for the purpose cost hundreds of instructions per rule; the pattern names
    /// every field, so a new one cannot be forgotten here.
    fn is_empty(&self) -> bool {
        let RouteExtrasIr {
            request_headers,
            response_headers,
            mirrors,
            cors,
            timeout_ms,
            per_try_timeout_ms,
            retry,
            session,
        } = self;
        request_headers.is_empty()
            && response_headers.is_empty()
            && mirrors.is_empty()
            && cors.is_none()
            && timeout_ms.is_none()
            && per_try_timeout_ms.is_none()
            && retry.is_none()
            && session.is_none()
    }
}

impl RouteIr {
    /// A route for every request (prefix `/`, no other match) that does `action` and nothing
    /// else, ranked as a `/` prefix of `source`: for routes the translation adds itself.
    pub fn catch_all(name: String, source: ObjectKey, action: ActionIr) -> Self {
        RouteIr {
            name,
            matcher: MatchIr::default(),
            action,
            extras: None,
            rank: RankKey {
                path_kind: 2,
                path_len: std::cmp::Reverse(1),
                no_method: true,
                headers: std::cmp::Reverse(0),
                queries: std::cmp::Reverse(0),
                created: Created::new(),
                position: (0, 0),
            },
            source,
        }
    }
}

/// Route precedence per the spec, apart from the route's name ([`RouteIr::cmp_rank`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RankKey {
    /// 0 exact, 1 regex, 2 prefix (Envoy Gateway ranks regex between exact and prefix).
    pub path_kind: u8,
    /// Longer paths first (negated length).
    pub path_len: std::cmp::Reverse<usize>,
    /// Method matches first.
    pub no_method: bool,
    /// More header matches first.
    pub headers: std::cmp::Reverse<usize>,
    /// More query matches first.
    pub queries: std::cmp::Reverse<usize>,
    /// Older routes first.
    pub created: Created,
    /// After the route's namespace and name: rule and match order within the route.
    pub position: (usize, usize),
}

/// A creation timestamp, ordered as its text: an RFC 3339 time (20 bytes) is held inline,
/// where a `String` allocated a copy for every IR route.
pub type Created = SmallVec<[u8; 24]>;

/// The leading part of [`RouteIr::cmp_rank`]: precedence, then age. Routes equal in it are
/// ordered by namespace, name, rule and match, which is mostly the order they arrive in.
pub type RankHead<'a> = (
    (
        u8,
        std::cmp::Reverse<usize>,
        bool,
        std::cmp::Reverse<usize>,
        std::cmp::Reverse<usize>,
    ),
    &'a [u8],
);

impl RankKey {
    /// The leading part of the rank, compared without reading the route's names.
    pub fn head(&self) -> RankHead<'_> {
        (
            (
                self.path_kind,
                self.path_len,
                self.no_method,
                self.headers,
                self.queries,
            ),
            &self.created,
        )
    }
}

impl RouteIr {
    /// The order of two routes of a virtual host: precedence per the spec, then the older
    /// route, then namespace and name (shared with the route's key, so compared by pointer
    /// first), then rule and match order, then HTTPRoute before GRPCRoute, then name.
    pub fn cmp_rank(&self, other: &Self) -> std::cmp::Ordering {
        use crate::model::cmp_shared;
        let (a, b) = (&self.rank, &other.rank);
        // The head first, as `placements::rank_sorted` sorts by it alone.
        a.head()
            .cmp(&b.head())
            .then_with(|| cmp_shared(&self.source.namespace, &other.source.namespace))
            .then_with(|| cmp_shared(&self.source.name, &other.source.name))
            .then_with(|| a.position.cmp(&b.position))
            .then_with(|| self.source.kind.cmp(&other.source.kind))
            .then_with(|| self.name.cmp(&other.name))
    }
}

/// A request matcher.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MatchIr {
    /// Path match.
    pub path: PathMatchIr,
    /// Header matches (name, value, is_regex).
    pub headers: Vec<(String, String, bool)>,
    /// Query matches (name, value, is_regex).
    pub queries: Vec<(String, String, bool)>,
    /// Method.
    pub method: Option<String>,
    /// Only gRPC requests (`content-type: application/grpc*`).
    pub grpc: bool,
}

/// A path match.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathMatchIr {
    /// Exact path.
    Exact(String),
    /// Path prefix, matched on segment boundaries.
    Prefix(String),
    /// Regex over the path.
    Regex(String),
}

impl Default for PathMatchIr {
    fn default() -> Self {
        PathMatchIr::Prefix("/".into())
    }
}

/// What a route does. Rewrites and redirects are boxed: rare, and held inline they made every IR
/// route, which each translation writes and reads again, a sixth larger (400 → 336 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ActionIr {
    /// Forward to weighted clusters; `invalid_weight` is the share answered with HTTP 500.
    Forward {
        /// Weighted clusters, with the filters of their backendRefs (most rules have one
        /// backend, held inline).
        clusters: SmallVec<[WeightedClusterIr; 1]>,
        /// Weight of backends that did not resolve.
        invalid_weight: u32,
        /// Rewrite applied before forwarding.
        rewrite: Option<Box<RewriteIr>>,
    },
    /// Answer with a redirect.
    Redirect(Box<RedirectIr>),
    /// Answer directly with a status code.
    Direct(u32),
}

/// One weighted backend of a route: a cluster, its share, and what the filters of its
/// backendRef do to the requests sent to it (and their responses).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WeightedClusterIr {
    /// The cluster.
    pub cluster: ClusterName,
    /// Its weight among the route's backends.
    pub weight: u32,
    /// The backendRef's filters; None when it has none (boxed: most backends have none).
    pub filters: Option<Box<BackendFiltersIr>>,
}

impl WeightedClusterIr {
    /// A backend without filters.
    pub fn new(cluster: impl Into<ClusterName>, weight: u32) -> Self {
        WeightedClusterIr {
            cluster: cluster.into(),
            weight,
            filters: None,
        }
    }
}

/// Filters of one backendRef, applied only when that backend is chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct BackendFiltersIr {
    /// Request header changes.
    pub request_headers: HeaderModsIr,
    /// Response header changes.
    pub response_headers: HeaderModsIr,
    /// New Host header (a hostname-only URLRewrite).
    pub hostname: Option<String>,
}

/// A URL rewrite.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RewriteIr {
    /// New Host header.
    pub hostname: Option<String>,
    /// New full path.
    pub full_path: Option<String>,
    /// Replacement for the matched prefix.
    pub prefix: Option<String>,
}

/// A redirect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RedirectIr {
    /// New scheme.
    pub scheme: Option<String>,
    /// New host.
    pub hostname: Option<String>,
    /// New port.
    pub port: Option<u32>,
    /// New full path.
    pub full_path: Option<String>,
    /// Replacement for the matched prefix.
    pub prefix: Option<String>,
    /// 301, 302, 303, 307 or 308.
    pub status: u32,
}

/// Header additions, sets and removals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct HeaderModsIr {
    /// Overwrite.
    pub set: Vec<(String, String)>,
    /// Append.
    pub add: Vec<(String, String)>,
    /// Remove.
    pub remove: Vec<String>,
}

impl HeaderModsIr {
    /// Whether it changes no header.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.add.is_empty() && self.remove.is_empty()
    }
}

/// Session affinity: a cookie or header pins a client to the backend endpoint it first reached.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionIr {
    /// Header-based (else cookie-based).
    pub header: bool,
    /// Cookie or header name.
    pub name: String,
    /// Cookie lifetime in ms for `Permanent` cookies; None for session cookies.
    pub ttl_ms: Option<u64>,
}

/// Retries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RetryIr {
    /// Status codes retried.
    pub codes: Vec<u32>,
    /// Attempts.
    pub attempts: u32,
    /// Base backoff in ms.
    pub backoff_ms: Option<u64>,
}

/// One upstream cluster: a Service port and its ready endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterIr {
    /// `namespace/service/port`.
    pub name: ClusterName,
    /// The Service.
    pub service: ObjectKey,
    /// Ready endpoints (address, port), sorted: the Service's own copy, shared.
    pub endpoints: crate::snapshot::Endpoints,
    /// Upstream protocol.
    pub protocol: UpstreamProtocol,
    /// Upstream TLS from a BackendTLSPolicy.
    pub tls: Option<UpstreamTlsIr>,
    /// Whether endpoints are DNS names (ExternalName Services, FQDN slices).
    pub dns: bool,
}

/// How the proxy speaks to a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamProtocol {
    /// HTTP/1.1 (and plain TCP/UDP forwarding).
    Http1,
    /// HTTP/2 cleartext (gRPC, `kubernetes.io/h2c`).
    H2c,
}

/// Upstream TLS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamTlsIr {
    /// SNI and the default name verified.
    pub sni: String,
    /// PEM CA bundle, or None for the system store.
    pub ca_pem: Option<String>,
    /// Accepted SANs: (is_uri, value).
    pub sans: Vec<(bool, String)>,
}

/// A TLS certificate and key.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretIr {
    /// `namespace/secret`.
    pub name: String,
    /// PEM certificate chain.
    pub cert_pem: String,
    /// PEM private key.
    pub key_pem: String,
}

/// Secrets never print their key, so a `{:?}` cannot leak it.
impl std::fmt::Debug for SecretIr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretIr")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    /// Equal precedence: the older route first (timestamps compare as text, inline or not),
    /// then namespace, name, and match position, whatever order the routes come in.
    #[test]
    fn routes_of_equal_precedence_rank_by_age_then_name() {
        let route = |ns: &str, name: &str, created: &str, position: usize| {
            let mut r = RouteIr::catch_all(
                format!("{ns}/{name}/{position}"),
                ObjectKey::new(Kind::HttpRoute, ns, name),
                ActionIr::Direct(200),
            );
            r.rank.created = Created::from_slice(created.as_bytes());
            r.rank.position = (0, position);
            r
        };
        let long = "2024-03-01T00:00:00.000000000+00:00"; // longer than the inline 24 bytes
        let expected = [
            route("b", "z", "2023-06-01T00:00:00Z", 0),
            route("a", "y", "2024-01-01T00:00:00Z", 0),
            route("a", "z", "2024-01-01T00:00:00Z", 0),
            route("a", "z", "2024-01-01T00:00:00Z", 1),
            route("a", "a", long, 0),
            route("a", "0", "2025-01-01T00:00:00Z", 0),
        ];
        assert!(expected[4].rank.created.spilled());
        let mut routes = expected.to_vec();
        routes.reverse();
        routes.sort_by(RouteIr::cmp_rank);
        let names = |rs: &[RouteIr]| rs.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&routes), names(&expected));
        assert!(expected.windows(2).all(|w| w[0].cmp_rank(&w[1]).is_lt()));
    }

    fn cluster(name: &str) -> (ClusterName, Arc<ClusterIr>) {
        let name: ClusterName = name.into();
        let c = ClusterIr {
            name: name.clone(),
            service: ObjectKey::new(Kind::Service, "ns", "svc"),
            endpoints: Arc::new([]),
            protocol: UpstreamProtocol::Http1,
            tls: None,
            dns: false,
        };
        (name, Arc::new(c))
    }

    /// A route's clusters come out in name order whatever order its backends resolve in, a
    /// name found again is the shared one, and a second insert of a name replaces the first.
    #[test]
    fn route_clusters_stay_sorted_and_shared() {
        let mut list = RouteClusters::default();
        let mut inserted = Vec::new();
        for n in ["ns/b/80", "ns/a/80", "ns/c/80", "ns/a/8080"] {
            let (name, c) = cluster(n);
            inserted.push(name.clone());
            list.insert(name, c);
        }
        let names: Vec<&str> = list.keys().map(|n| &**n).collect();
        assert_eq!(names, ["ns/a/80", "ns/a/8080", "ns/b/80", "ns/c/80"]);
        // Found by spelling, the name is the very one inserted, not a copy.
        let found = list.name("ns/b/80").expect("present");
        assert!(Arc::ptr_eq(found, &inserted[0]));
        assert!(list.name("ns/d/80").is_none());
        let (name, replacement) = cluster("ns/c/80");
        list.insert(name, replacement.clone());
        assert_eq!(list.keys().count(), 4);
        assert!(list.values().any(|c| Arc::ptr_eq(c, &replacement)));
    }
}
