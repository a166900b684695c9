//! IR to Envoy: listeners, routes, clusters, endpoints and secrets as envoy-types protos.
//!
//! Names (stable and documented, derived from content, never from list positions):
//! - Listener: `{gateway-ns}/{gateway}/{port}` (one per port; several Gateway listeners merge),
//!   `{gateway-ns}/{gateway}/{port}/udp` for UDP. A port with nothing to serve gets no Listener
//!   (Envoy refuses a Listener without filter chains), so its connections are refused.
//! - RouteConfiguration: `{gateway-ns}/{gateway}/{port}` for HTTP, `{gateway-ns}/{gateway}/{listener}` for HTTPS.
//! - VirtualHost: the hostname (`*` for any). Route: `{kind}/{ns}/{route}/{rule name or match hash}/{match index}`.
//! - Cluster and ClusterLoadAssignment: `{service-ns}/{service}/{port}`, suffixed `/h2c` when spoken over HTTP/2.
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
    for port in ir.ports.values() {
        let (l, tables) = listener::build(port, ir, delivery, bind_address);
        if l.filter_chains.is_empty() && l.listener_filters.is_empty() {
            continue;
        }
        out.listeners.push(l);
        out.routes
            .extend(tables.into_iter().map(route::route_configuration));
    }
    for c in ir.clusters.values() {
        let (cluster, cla) = cluster::build(c, delivery);
        out.clusters.push(cluster);
        out.endpoints.extend(cla);
    }
    if delivery == Delivery::Ads {
        out.secrets = ir.secrets.values().map(listener::secret).collect();
    }
    out.routes.sort_by(|a, b| a.name.cmp(&b.name));
    out
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
