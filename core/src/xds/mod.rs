//! IR to Envoy: listeners, routes, clusters, endpoints and secrets as envoy-types protos.
//!
//! Names (stable and documented, derived from content, never from list positions):
//! - Listener: `{gateway-ns}/{gateway}/{port}` (one per port; several Gateway listeners merge),
//!   `{gateway-ns}/{gateway}/{port}/udp` for UDP. A port with nothing to serve gets no Listener
//!   (Envoy refuses a Listener without filter chains), so its connections are refused.
//! - RouteConfiguration: `{gateway-ns}/{gateway}/{port}` for HTTP, `{gateway-ns}/{gateway}/{listener}` for HTTPS.
//! - VirtualHost: the hostname (`*` for any). Route: `{kind}/{ns}/{route}/{rule name or match hash}/{match index}`.
//! - Cluster and ClusterLoadAssignment: `{service-ns}/{service}/{port}`, suffixed `/h2c` when spoken over HTTP/2.
//!   A UDP listener forwarding to several weighted backends uses `{listener}/weighted`, one
//!   locality per backend (the UDP proxy routes to a single cluster).
//! - Secret: `{secret-ns}/{secret}`.

pub mod bootstrap;
mod cluster;
pub mod encoded;
mod listener;
pub mod render;
mod route;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3 as core;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::Secret;
use envoy_types::pb::google::protobuf::Any;
use prost::Message;

use crate::translate::ir::GatewayIr;

/// Type URLs of the resources we serve.
pub mod type_urls {
    /// LDS.
    pub const LISTENER: &str = "type.googleapis.com/envoy.config.listener.v3.Listener";
    /// RDS.
    pub const ROUTE: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    /// CDS.
    pub const CLUSTER: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    /// EDS.
    pub const ENDPOINT: &str = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
    /// SDS.
    pub const SECRET: &str = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
}

/// How generated resources refer to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Over one ADS stream: RDS, EDS and SDS by name.
    Ads,
    /// Everything inline, for a static bootstrap.
    Static,
}

/// The Envoy resources of one Gateway, each list sorted by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewayResources {
    /// LDS resources.
    pub listeners: Vec<Listener>,
    /// RDS resources (empty under [`Delivery::Static`]: routes are inline).
    pub routes: Vec<RouteConfiguration>,
    /// CDS resources.
    pub clusters: Vec<Cluster>,
    /// EDS resources (empty under [`Delivery::Static`]).
    pub endpoints: Vec<ClusterLoadAssignment>,
    /// SDS resources (empty under [`Delivery::Static`]).
    pub secrets: Vec<Secret>,
}

impl GatewayResources {
    /// Every resource as (type URL, name, encoded bytes), in a fixed order: the unit an xDS server versions.
    pub fn encoded(&self) -> Vec<(&'static str, String, Vec<u8>)> {
        let mut out = Vec::new();
        out.extend(
            self.clusters
                .iter()
                .map(|r| (type_urls::CLUSTER, r.name.clone(), r.encode_to_vec())),
        );
        out.extend(self.endpoints.iter().map(|r| {
            (
                type_urls::ENDPOINT,
                r.cluster_name.clone(),
                r.encode_to_vec(),
            )
        }));
        out.extend(
            self.secrets
                .iter()
                .map(|r| (type_urls::SECRET, r.name.clone(), r.encode_to_vec())),
        );
        out.extend(
            self.listeners
                .iter()
                .map(|r| (type_urls::LISTENER, r.name.clone(), r.encode_to_vec())),
        );
        out.extend(
            self.routes
                .iter()
                .map(|r| (type_urls::ROUTE, r.name.clone(), r.encode_to_vec())),
        );
        out
    }
}

/// Builds the Envoy resources of one Gateway.
pub fn build(ir: &GatewayIr, delivery: Delivery, bind_address: &str) -> GatewayResources {
    let mut out = GatewayResources::default();
    // Envoy's structs are large: grown one push at a time they would be copied again and again,
    // and sorted they would be moved about; the sources come in name order, so they are not.
    let clusters = cluster::sources(ir);
    out.clusters.reserve_exact(clusters.len());
    out.endpoints.reserve_exact(clusters.len());
    for port in ir.ports.values() {
        let (l, tables) = listener::build(port, ir, delivery, bind_address);
        if l.filter_chains.is_empty() && l.listener_filters.is_empty() {
            continue;
        }

        out.listeners.push(l);
        out.routes
            .extend(tables.into_iter().map(route::route_configuration));
    }
    for source in clusters {
        let cla = source.build(ir, delivery, push_default(&mut out.clusters));
        out.endpoints.extend(cla);
    }
    debug_assert!(out.clusters.is_sorted_by(|a, b| a.name < b.name));
    debug_assert!(out
        .endpoints
        .is_sorted_by(|a, b| a.cluster_name < b.cluster_name));
    if delivery == Delivery::Ads {
        out.secrets = ir.secrets.values().map(listener::secret).collect();
    }
    out.routes.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A default value at the end of `list`, to be filled where it stays: Envoy's Cluster and Route
/// are kilobytes, and building one elsewhere would copy it on every move.
pub(crate) fn push_default<T: Default>(list: &mut Vec<T>) -> &mut T {
    list.push(T::default());
    let last = list.len() - 1;
    &mut list[last]
}

/// Packs a message into an `Any` with its type URL.
pub(crate) fn any<M: Message + prost::Name>(m: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: m.encode_to_vec(),
    }
}

/// The config source that means "over the ADS stream".
pub(crate) fn ads_source() -> core::ConfigSource {
    core::ConfigSource {
        resource_api_version: core::ApiVersion::V3 as i32,
        config_source_specifier: Some(core::config_source::ConfigSourceSpecifier::Ads(
            core::AggregatedConfigSource {},
        )),
        ..Default::default()
    }
}

/// A socket address.
pub(crate) fn socket_address(host: &str, port: u32, udp: bool) -> core::Address {
    core::Address {
        address: Some(core::address::Address::SocketAddress(core::SocketAddress {
            address: host.to_string(),
            protocol: if udp {
                core::socket_address::Protocol::Udp as i32
            } else {
                core::socket_address::Protocol::Tcp as i32
            },
            port_specifier: Some(core::socket_address::PortSpecifier::PortValue(port)),
            ..Default::default()
        })),
    }
}

/// A protobuf Duration from milliseconds.
pub(crate) fn duration_ms(ms: u64) -> envoy_types::pb::google::protobuf::Duration {
    envoy_types::pb::google::protobuf::Duration {
        seconds: (ms / 1000) as i64,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_str;
    use crate::{translate, Options, Snapshot};

    /// A UDPRoute with weighted backends: the UDP proxy routes to one cluster, so the
    /// listener gets a weighted cluster with one locality per backend (UDPRouteWeightedRouting).
    #[test]
    fn udp_weights_become_weighted_localities() {
        let mut text = String::from(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: gc}\n\
             spec: {controllerName: example.com/gw}\n---\n\
             apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: ns}\n\
             spec: {gatewayClassName: gc, listeners: [{name: udp, port: 5300, protocol: UDP}]}\n---\n\
             apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: UDPRoute\nmetadata: {name: r, namespace: ns}\n\
             spec:\n  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: a, port: 8080, weight: 70}, \
             {name: x, port: 8080, weight: 30}, {name: c, port: 8080, weight: 0}]}]\n",
        );
        // `ns/x/8080` sorts after `ns/gw/5300/udp/weighted`: the weighted cluster is merged in
        // among the others.
        for (i, svc) in ["a", "x", "c"].iter().enumerate() {
            text.push_str(&format!(
                "---\napiVersion: v1\nkind: Service\nmetadata: {{name: {svc}, namespace: ns}}\n\
                 spec: {{ports: [{{port: 8080, protocol: UDP}}]}}\n---\n\
                 apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
                 metadata: {{name: {svc}, namespace: ns, labels: {{kubernetes.io/service-name: {svc}}}}}\n\
                 addressType: IPv4\nports: [{{port: 8080, protocol: UDP}}]\nendpoints: [{{addresses: [\"10.0.0.{i}\"]}}]\n"
            ));
        }
        let objects: Vec<_> = parse_str(&text, "t.yaml")
            .objects
            .into_iter()
            .map(|l| l.object)
            .collect();
        let opts = Options {
            controller_name: "example.com/gw".into(),
            ..Options::default()
        };
        let t = translate(&Snapshot::from_objects(objects), &opts);
        let ir = &t.gateways["ns/gw"];
        let res = build(ir, Delivery::Ads, "0.0.0.0");
        let name = "ns/gw/5300/udp/weighted";
        let listener = res
            .listeners
            .iter()
            .find(|l| l.name == "ns/gw/5300/udp")
            .expect("listener");
        let bytes = listener.encode_to_vec();
        assert!(
            bytes.windows(name.len()).any(|w| w == name.as_bytes()),
            "listener routes elsewhere"
        );
        let cluster = res
            .clusters
            .iter()
            .find(|c| c.name == name)
            .expect("weighted cluster");
        assert!(cluster.common_lb_config.is_some());
        let cla = res
            .endpoints
            .iter()
            .find(|e| e.cluster_name == name)
            .expect("its endpoints");
        let weights: Vec<(String, u32)> = cla
            .endpoints
            .iter()
            .map(|l| {
                let zone = l
                    .locality
                    .as_ref()
                    .map(|z| z.zone.clone())
                    .unwrap_or_default();
                (zone, l.load_balancing_weight.map(|w| w.value).unwrap_or(0))
            })
            .collect();
        assert_eq!(
            weights,
            vec![("ns/a/8080".to_string(), 70), ("ns/x/8080".to_string(), 30)]
        );
        let mut cache = encoded::EncodedCache::default();
        let enc = cache.build(ir, "0.0.0.0");
        let names: Vec<&str> = enc
            .iter()
            .filter(|r| r.type_url == type_urls::CLUSTER)
            .map(|r| &*r.name)
            .collect();
        let want: Vec<&str> = res.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            want,
            ["ns/a/8080", "ns/c/8080", name, "ns/x/8080"],
            "clusters in name order"
        );
        assert_eq!(names, want);
        let endpoints: Vec<&str> = res.endpoints.iter().map(|e| &*e.cluster_name).collect();
        assert!(
            endpoints.is_sorted(),
            "endpoints out of order: {endpoints:?}"
        );
    }
}
