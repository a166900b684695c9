//! Encoded resources for an xDS server, rebuilt incrementally.
//!
//! An xDS server needs protobuf bytes and a version per resource, not envoy-types structs.
//! The incremental engine shares every unchanged route, route list and cluster through `Arc`
//! between updates, so their bytes are kept here by allocation and reused: after one changed
//! route among 10,000, only that route is encoded again, its virtual host is re-assembled from
//! the kept bytes of its neighbours, and every other resource is handed back as it was.
//!
//! Protobuf allows the fields of a message in any order, and a repeated message field is the
//! concatenation of its entries, so a RouteConfiguration is its head (name, settings) followed
//! by its virtual hosts, each one its head followed by its routes.

use std::sync::{Arc, Weak};

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use prost::encoding::{encode_key, encode_varint, WireType};
use prost::Message;
use rustc_hash::FxHashMap;

use super::{cluster, listener, route, type_urls, Delivery};
use crate::translate::ir::{ClusterIr, GatewayIr, RouteIr, RouteList, RouteTableIr};

/// `VirtualHost.routes`.
const VIRTUAL_HOST_ROUTES: u32 = 3;
/// `RouteConfiguration.virtual_hosts`.
const ROUTE_CONFIGURATION_VIRTUAL_HOSTS: u32 = 2;

/// One resource as an xDS server sends it. Every field is shared: handing back an unchanged
/// resource costs reference counts, not copies (a Gateway of 10,000 routes has 20,000
/// clusters and endpoint sets, all handed back after every change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedResource {
    /// Type URL.
    pub type_url: &'static str,
    /// Resource name.
    pub name: Arc<str>,
    /// Protobuf bytes, shared with the cache while the resource is unchanged.
    pub bytes: Arc<Vec<u8>>,
    /// A hash of the bytes in hex: the resource version, equal exactly when the bytes are.
    pub version: Arc<str>,
}

impl EncodedResource {
    fn new(type_url: &'static str, name: String, bytes: Vec<u8>) -> Self {
        EncodedResource {
            type_url,
            name: name.into(),
            version: version(&bytes),
            bytes: Arc::new(bytes),
        }
    }
}

/// The version of a resource: a hash of its bytes, in hex. XXH3 is specified (the same on
/// every machine and release) and reads megabytes in well under a millisecond: a
/// RouteConfiguration of 10,000 routes is hashed again after each change to any of them.
pub fn version(bytes: &[u8]) -> Arc<str> {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes)).into()
}

/// An entry kept for as long as the IR it was built from is alive. Holding the `Weak` keeps
/// the allocation's address from being reused, so an address that matches and still upgrades
/// is the same IR.
struct Kept<T, V> {
    ir: Weak<T>,
    value: V,
}

/// A virtual host's bytes, by its route list's allocation and its name (one list may be
/// served under several route tables).
type VirtualHosts = FxHashMap<(usize, String), Kept<Vec<Arc<RouteIr>>, Arc<Vec<u8>>>>;

/// A cluster's and its endpoints' bytes, by the cluster's allocation and the client
/// certificate the Gateway presents to TLS backends (one cluster may serve several Gateways).
type Clusters =
    FxHashMap<(usize, Option<String>), Kept<ClusterIr, (EncodedResource, Option<EncodedResource>)>>;

/// Encoded bytes of routes, virtual hosts and clusters by the IR allocation they came from.
#[derive(Default)]
pub struct EncodedCache {
    routes: FxHashMap<usize, Kept<RouteIr, Arc<Vec<u8>>>>,
    vhosts: VirtualHosts,
    clusters: Clusters,
}

fn address<T>(a: &Arc<T>) -> usize {
    Arc::as_ptr(a) as usize
}

/// A message: `head` followed by `entries` (each already encoded) as its repeated message field
/// `tag` (below 16, so a one-byte key). Sized once: a route table of 10,000 routes is
/// megabytes, and growing it would copy them.
fn with_entries(head: &impl Message, tag: u32, entries: &[Arc<Vec<u8>>]) -> Vec<u8> {
    let field_len =
        |e: &Arc<Vec<u8>>| 1 + prost::encoding::encoded_len_varint(e.len() as u64) + e.len();
    let mut out =
        Vec::with_capacity(head.encoded_len() + entries.iter().map(field_len).sum::<usize>());
    head.encode_raw(&mut out);
    for e in entries {
        encode_key(tag, WireType::LengthDelimited, &mut out);
        encode_varint(e.len() as u64, &mut out);
        out.extend_from_slice(e);
    }
    out
}

/// A Cluster as a resource.
fn cluster_resource(c: &Cluster) -> EncodedResource {
    EncodedResource::new(type_urls::CLUSTER, c.name.clone(), c.encode_to_vec())
}

/// A ClusterLoadAssignment as a resource.
fn endpoint_resource(cla: &ClusterLoadAssignment) -> EncodedResource {
    EncodedResource::new(
        type_urls::ENDPOINT,
        cla.cluster_name.clone(),
        cla.encode_to_vec(),
    )
}

impl EncodedCache {
    /// The Envoy resources of one Gateway over ADS, each sorted by type (clusters, endpoints,
    /// secrets, listeners, routes: the order a server sends them in) and then by name.
    pub fn build(&mut self, ir: &GatewayIr, bind_address: &str) -> Vec<EncodedResource> {
        // Clusters and their endpoints share names: each type is kept apart, in name order,
        // the order their sources come in.
        let clusters = cluster::sources(ir);
        let mut out = Vec::with_capacity(2 * clusters.len() + ir.secrets.len() + 8);
        let mut endpoints = Vec::with_capacity(clusters.len());
        for source in clusters {
            let (cluster, cla) = match &source {
                cluster::Source::Backend(c) => self.cluster(c, ir),
                // One per UDP listener with several backends: not worth keeping.
                cluster::Source::Weighted(..) => {
                    let mut cluster = Cluster::default();
                    let cla = source.build(ir, Delivery::Ads, &mut cluster);
                    (
                        cluster_resource(&cluster),
                        cla.as_ref().map(endpoint_resource),
                    )
                }
            };
            out.push(cluster);
            endpoints.extend(cla);
        }
        out.append(&mut endpoints);
        out.extend(ir.secrets.values().map(|s| {
            EncodedResource::new(
                type_urls::SECRET,
                s.name.clone(),
                listener::secret(s).encode_to_vec(),
            )
        }));
        let mut routes = Vec::new();
        for port in ir.ports.values() {
            let (l, tables) = listener::build(port, ir, Delivery::Ads, bind_address);
            if l.filter_chains.is_empty() && l.listener_filters.is_empty() {
                continue;
            }
            out.push(EncodedResource::new(
                type_urls::LISTENER,
                l.name.clone(),
                l.encode_to_vec(),
            ));
            for t in tables {
                routes.push(self.route_configuration(t));
            }
        }
        routes.sort_by(|a, b| a.name.cmp(&b.name));
        out.extend(routes);
        self.forget_dropped();
        out
    }

    /// A cluster and, when it is delivered over EDS, its endpoints.
    fn cluster(
        &mut self,
        c: &Arc<ClusterIr>,
        ir: &GatewayIr,
    ) -> (EncodedResource, Option<EncodedResource>) {
        // Over ADS the client certificate is named, not inlined: its name is all that matters.
        let key = (address(c), ir.backend_client_cert.clone());
        if let Some(k) = self.clusters.get(&key) {
            if k.ir.strong_count() > 0 {
                return k.value.clone();
            }
        }
        let mut cluster = Default::default();
        let cla = cluster::build(c, ir, Delivery::Ads, &mut cluster);
        let value = (
            cluster_resource(&cluster),
            cla.as_ref().map(endpoint_resource),
        );
        self.clusters.insert(
            key,
            Kept {
                ir: Arc::downgrade(c),
                value: value.clone(),
            },
        );
        value
    }

    fn route_configuration(&mut self, t: &RouteTableIr) -> EncodedResource {
        let vhosts: Vec<_> = t
            .vhosts
            .iter()
            .map(|(host, routes)| self.virtual_host(&t.name, host, routes))
            .collect();
        let head = route::route_configuration_head(t);
        let bytes = with_entries(&head, ROUTE_CONFIGURATION_VIRTUAL_HOSTS, &vhosts);
        EncodedResource::new(type_urls::ROUTE, t.name.clone(), bytes)
    }

    fn virtual_host(&mut self, table: &str, host: &str, routes: &RouteList) -> Arc<Vec<u8>> {
        let head = route::virtual_host_head(table, host);
        let key = (address(&routes.0), head.name.clone());
        if let Some(k) = self.vhosts.get(&key) {
            if k.ir.strong_count() > 0 {
                return k.value.clone();
            }
        }
        let encoded: Vec<_> = routes.iter().map(|r| self.route(r)).collect();
        let out = Arc::new(with_entries(&head, VIRTUAL_HOST_ROUTES, &encoded));
        self.vhosts.insert(
            key,
            Kept {
                ir: Arc::downgrade(&routes.0),
                value: out.clone(),
            },
        );
        out
    }

    fn route(&mut self, r: &Arc<RouteIr>) -> Arc<Vec<u8>> {
        if let Some(k) = self.routes.get(&address(r)) {
            if k.ir.strong_count() > 0 {
                return k.value.clone();
            }
        }
        let bytes = Arc::new(route::route(r).encode_to_vec());
        self.routes.insert(
            address(r),
            Kept {
                ir: Arc::downgrade(r),
                value: bytes.clone(),
            },
        );
        bytes
    }

    /// Drops what was built from IR nobody holds any more.
    fn forget_dropped(&mut self) {
        self.routes.retain(|_, k| k.ir.strong_count() > 0);
        self.vhosts.retain(|_, k| k.ir.strong_count() > 0);
        self.clusters.retain(|_, k| k.ir.strong_count() > 0);
    }

    /// How many routes, virtual hosts and clusters are kept: for tests and metrics.
    pub fn len(&self) -> (usize, usize, usize) {
        (self.routes.len(), self.vhosts.len(), self.clusters.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_str;
    use crate::xds::{build, GatewayResources};
    use crate::{Options, Snapshot};
    use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;

    fn snapshot(routes: usize, path_of_first: &str) -> Snapshot {
        let mut text = String::from(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: eg}\nspec: {controllerName: example.com/gw}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: default}\nspec:\n  gatewayClassName: eg\n  listeners:\n  - {name: http, port: 8080, protocol: HTTP}\n",
        );
        for i in 0..routes {
            let path = if i == 0 {
                path_of_first.to_string()
            } else {
                format!("/r{i}")
            };
            text.push_str(&format!(
                "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: r{i}, namespace: default}}\nspec:\n  parentRefs: [{{name: gw}}]\n  hostnames: [\"h{h}.example.com\"]\n  rules:\n  - matches: [{{path: {{type: PathPrefix, value: \"{path}\"}}}}]\n    backendRefs: [{{name: s{i}, port: 80}}]\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: default}}\nspec: {{ports: [{{port: 80}}]}}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: s{i}, namespace: default, labels: {{kubernetes.io/service-name: s{i}}}}}\naddressType: IPv4\nports: [{{port: 3000}}]\nendpoints: [{{addresses: [\"10.0.0.{i}\"]}}]\n",
                h = i % 3
            ));
        }
        let objects = parse_str(&text, "t.yaml")
            .objects
            .into_iter()
            .map(|l| l.object);
        Snapshot::from_objects(objects.collect::<Vec<_>>())
    }

    fn opts() -> Options {
        Options {
            controller_name: "example.com/gw".into(),
            ..Options::default()
        }
    }

    /// The encoded path decodes to exactly what the struct path builds.
    fn assert_same(encoded: &[EncodedResource], structs: &GatewayResources) {
        let by_type = |t: &str| -> Vec<(&str, &[u8])> {
            encoded
                .iter()
                .filter(|r| r.type_url == t)
                .map(|r| (&*r.name, r.bytes.as_slice()))
                .collect()
        };
        let routes = by_type(type_urls::ROUTE);
        assert_eq!(routes.len(), structs.routes.len());
        for ((name, bytes), want) in routes.iter().zip(&structs.routes) {
            assert_eq!(*name, want.name);
            let got = RouteConfiguration::decode(*bytes).expect("decodes");
            assert_eq!(&got, want);
        }
        let clusters = by_type(type_urls::CLUSTER);
        assert_eq!(clusters.len(), structs.clusters.len());
        for ((name, bytes), want) in clusters.iter().zip(&structs.clusters) {
            assert_eq!(*name, want.name);
            assert_eq!(*bytes, want.encode_to_vec().as_slice());
        }
        let endpoints = by_type(type_urls::ENDPOINT);
        assert_eq!(endpoints.len(), structs.endpoints.len());
        let listeners = by_type(type_urls::LISTENER);
        assert_eq!(listeners.len(), structs.listeners.len());
        for ((_, bytes), want) in listeners.iter().zip(&structs.listeners) {
            assert_eq!(*bytes, want.encode_to_vec().as_slice());
        }
    }

    #[test]
    fn encoded_resources_decode_to_the_built_ones() {
        let t = crate::translate::translate(&snapshot(7, "/first"), &opts());
        let ir = t.gateways.get("default/gw").expect("gateway translated");
        let mut cache = EncodedCache::default();
        let encoded = cache.build(ir, "0.0.0.0");
        assert_same(&encoded, &build(ir, Delivery::Ads, "0.0.0.0"));
    }

    /// A cluster resolved through DNS (an ExternalName Service) carries its endpoints inline:
    /// no endpoint resource goes out for it, least of all one without a name.
    #[test]
    fn dns_clusters_have_no_endpoint_resource() {
        let mut objects: Vec<_> = snapshot(2, "/first").iter().cloned().collect();
        let text = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: ext, namespace: default}\nspec:\n  parentRefs: [{name: gw}]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /ext}}]\n    backendRefs: [{name: ext, port: 443}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: ext, namespace: default}\nspec: {type: ExternalName, externalName: example.org, ports: [{port: 443}]}\n";
        objects.extend(
            parse_str(text, "ext.yaml")
                .objects
                .into_iter()
                .map(|l| l.object),
        );
        let t = crate::translate::translate(&Snapshot::from_objects(objects), &opts());
        let ir = t.gateways.get("default/gw").expect("gateway translated");
        let encoded = EncodedCache::default().build(ir, "0.0.0.0");
        assert_same(&encoded, &build(ir, Delivery::Ads, "0.0.0.0"));
        let endpoints: Vec<&str> = encoded
            .iter()
            .filter(|r| r.type_url == type_urls::ENDPOINT)
            .map(|r| &*r.name)
            .collect();
        assert_eq!(endpoints, ["default/s0/80", "default/s1/80"]);
        assert!(encoded.iter().any(|r| &*r.name == "default/ext/443"));
    }

    /// An engine over nine routes, and its first encoded build.
    fn first_build() -> (crate::engine::Engine, EncodedCache, Vec<EncodedResource>) {
        let mut engine = crate::engine::Engine::with_snapshot(snapshot(9, "/first"), opts());
        engine.update();
        let mut cache = EncodedCache::default();
        let before = cache.build(engine.gateway("default/gw").expect("gateway"), "0.0.0.0");
        (engine, cache, before)
    }

    #[test]
    fn one_changed_route_reuses_the_other_bytes() {
        let (mut engine, mut cache, before) = first_build();
        assert_eq!(cache.len(), (9, 3, 9));

        let changed = snapshot(9, "/changed");
        let route = changed
            .iter()
            .find(|o| &*o.key().name == "r0" && o.key().kind == crate::model::Kind::HttpRoute)
            .expect("route r0")
            .clone();
        engine.apply(crate::engine::Change::Upsert(route, None));
        engine.update();
        let ir = engine.gateway("default/gw").expect("gateway");
        let after = cache.build(ir, "0.0.0.0");
        assert_same(&after, &build(ir, Delivery::Ads, "0.0.0.0"));
        // Every cluster is handed back as the same allocation; only the route table changed.
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(b.name, a.name);
            if a.type_url == type_urls::ROUTE {
                assert_ne!(b.version, a.version);
            } else {
                assert_eq!(b.version, a.version, "{} changed", a.name);
            }
            if a.type_url == type_urls::CLUSTER {
                assert!(Arc::ptr_eq(&b.bytes, &a.bytes), "{} re-encoded", a.name);
            }
        }
        // The old r0 was forgotten, the new one kept: still one entry per live route.
        assert_eq!(cache.len().0, 9);
    }

    /// After an endpoint change only that endpoint set has a new version: it is the only
    /// resource a delta stream sends.
    #[test]
    fn one_changed_endpoint_slice_changes_one_version() {
        let (mut engine, mut cache, before) = first_build();
        let text = "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s3, namespace: default, labels: {kubernetes.io/service-name: s3}}\naddressType: IPv4\nports: [{port: 3000}]\nendpoints: [{addresses: [\"10.0.1.3\"]}]\n";
        let slice = parse_str(text, "s3.yaml").objects.remove(0).object;
        engine.apply(crate::engine::Change::Upsert(slice, None));
        engine.update();
        let ir = engine.gateway("default/gw").expect("gateway");
        let after = cache.build(ir, "0.0.0.0");
        assert_same(&after, &build(ir, Delivery::Ads, "0.0.0.0"));
        let changed: Vec<(&str, &str)> = before
            .iter()
            .zip(&after)
            .filter(|(b, a)| b.version != a.version)
            .map(|(_, a)| (a.type_url, &*a.name))
            .collect();
        assert_eq!(changed, [(type_urls::ENDPOINT, "default/s3/80")]);
    }
}
