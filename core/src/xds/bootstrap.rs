//! Runnable Envoy bootstraps: static (every resource inline) or pointing at an ADS server.

use envoy_types::pb::envoy::config::bootstrap::v3::{bootstrap, Admin, Bootstrap};
use envoy_types::pb::envoy::config::cluster::v3::{cluster, Cluster};
use envoy_types::pb::envoy::config::core::v3 as core;
use envoy_types::pb::envoy::config::endpoint::v3::{
    lb_endpoint, ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints,
};
use envoy_types::pb::envoy::extensions::upstreams::http::v3::{
    http_protocol_options, HttpProtocolOptions,
};

use super::{ads_source, any, build, duration_ms, socket_address, Delivery};
use crate::translate::ir::GatewayIr;

/// The cluster name of the xDS server inside an ADS bootstrap.
pub const XDS_CLUSTER: &str = "gatewright-xds";

/// Longest wait between two attempts to reopen the xDS stream (Envoy's default is 30 s).
pub const XDS_RETRY_MAX_MS: u64 = 5_000;

/// How the proxy retries a lost xDS stream: a restarted controller is found within
/// [`XDS_RETRY_MAX_MS`] rather than up to 30 s later, the default, during which the proxy
/// would keep serving stale configuration. Envoy jitters every wait, so many proxies do not
/// come back in step.
fn xds_retry_policy() -> core::RetryPolicy {
    core::RetryPolicy {
        retry_back_off: Some(core::BackoffStrategy {
            base_interval: Some(duration_ms(500)),
            max_interval: Some(duration_ms(XDS_RETRY_MAX_MS)),
        }),
        ..Default::default()
    }
}

/// Where the proxy's admin interface listens; port 0 lets the OS pick, so several Envoys never collide.
#[derive(Debug, Clone)]
pub struct AdminAddress {
    /// Host, loopback by default: admin can stop the proxy.
    pub host: String,
    /// Port, 0 for an ephemeral one.
    pub port: u16,
}

impl Default for AdminAddress {
    fn default() -> Self {
        AdminAddress {
            host: "127.0.0.1".into(),
            port: 0,
        }
    }
}

fn node(gateway: &str) -> core::Node {
    core::Node {
        id: gateway.to_string(),
        cluster: gateway.to_string(),
        ..Default::default()
    }
}

fn admin(a: &AdminAddress) -> Admin {
    Admin {
        address: Some(socket_address(&a.host, u32::from(a.port), false)),
        ..Default::default()
    }
}

/// A complete static config for one Gateway that `envoy -c` runs as-is.
pub fn static_bootstrap(
    gateway: &str,
    ir: &GatewayIr,
    bind_address: &str,
    admin_address: &AdminAddress,
) -> Bootstrap {
    let r = build(ir, Delivery::Static, bind_address);
    Bootstrap {
        node: Some(node(gateway)),
        admin: Some(admin(admin_address)),
        static_resources: Some(bootstrap::StaticResources {
            listeners: r.listeners,
            clusters: r.clusters,
            secrets: Vec::new(),
        }),
        ..Default::default()
    }
}

/// Files Envoy uses to reach the ADS server over mutual TLS (paths Envoy reads at startup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XdsClientTls {
    /// PEM certificate chain Envoy presents to the server.
    pub cert_file: String,
    /// PEM private key of that certificate.
    pub key_file: String,
    /// PEM CA bundle the server's certificate must chain to.
    pub ca_file: String,
}

fn file_source(path: &str) -> core::DataSource {
    core::DataSource {
        specifier: Some(core::data_source::Specifier::Filename(path.to_string())),
        ..Default::default()
    }
}

/// The xDS cluster's TLS transport socket: Envoy's client certificate, and the CA it verifies the server with.
fn xds_transport_socket(tls: &XdsClientTls) -> core::TransportSocket {
    use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
        common_tls_context, CertificateValidationContext, CommonTlsContext, TlsCertificate,
        UpstreamTlsContext,
    };
    let ctx = UpstreamTlsContext {
        common_tls_context: Some(CommonTlsContext {
            tls_certificates: vec![TlsCertificate {
                certificate_chain: Some(file_source(&tls.cert_file)),
                private_key: Some(file_source(&tls.key_file)),
                ..Default::default()
            }],
            validation_context_type: Some(
                common_tls_context::ValidationContextType::ValidationContext(
                    CertificateValidationContext {
                        trusted_ca: Some(file_source(&tls.ca_file)),
                        ..Default::default()
                    },
                ),
            ),
            ..Default::default()
        }),
        ..Default::default()
    };
    core::TransportSocket {
        name: "envoy.transport_sockets.tls".into(),
        config_type: Some(core::transport_socket::ConfigType::TypedConfig(any(&ctx))),
    }
}

/// A bootstrap that fetches everything for `gateway` from the ADS server at `xds_host:xds_port`,
/// over state-of-the-world or (with `delta`) incremental ADS.
pub fn ads_bootstrap(
    gateway: &str,
    xds_host: &str,
    xds_port: u16,
    delta: bool,
    admin_address: &AdminAddress,
) -> Bootstrap {
    ads_bootstrap_tls(gateway, xds_host, xds_port, delta, admin_address, None)
}

/// [`ads_bootstrap`], reaching the ADS server over mutual TLS when `tls` is given.
pub fn ads_bootstrap_tls(
    gateway: &str,
    xds_host: &str,
    xds_port: u16,
    delta: bool,
    admin_address: &AdminAddress,
    tls: Option<&XdsClientTls>,
) -> Bootstrap {
    let xds = Cluster {
        transport_socket: tls.map(xds_transport_socket),
        name: XDS_CLUSTER.into(),
        connect_timeout: Some(duration_ms(1_000)),
        cluster_discovery_type: Some(cluster::ClusterDiscoveryType::Type(cluster::DiscoveryType::Static as i32)),
        load_assignment: Some(ClusterLoadAssignment {
            cluster_name: XDS_CLUSTER.into(),
            endpoints: vec![LocalityLbEndpoints {
                lb_endpoints: vec![LbEndpoint {
                    host_identifier: Some(lb_endpoint::HostIdentifier::Endpoint(Endpoint {
                        address: Some(socket_address(xds_host, u32::from(xds_port), false)),
                        ..Default::default()
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }),
        typed_extension_protocol_options: [(
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions".to_string(),
            any(&HttpProtocolOptions {
                upstream_protocol_options: Some(http_protocol_options::UpstreamProtocolOptions::ExplicitHttpConfig(
                    http_protocol_options::ExplicitHttpConfig {
                        protocol_config: Some(
                            http_protocol_options::explicit_http_config::ProtocolConfig::Http2ProtocolOptions(
                                Default::default(),
                            ),
                        ),
                    },
                )),
                ..Default::default()
            }),
        )]
        .into(),
        ..Default::default()
    };
    Bootstrap {
        node: Some(node(gateway)),
        admin: Some(admin(admin_address)),
        // No stats sinks are configured, so a periodic flush would only snapshot every stat on
        // Envoy's main thread, the one that applies xDS updates: with 10,000 clusters it held up
        // an update every five seconds (endpoint-edit p99 244-355 ms with the timer, 50-68 ms
        // without; BENCHMARKS.md). Admin requests (`/stats`) still flush first.
        stats_flush: Some(bootstrap::StatsFlush::StatsFlushOnAdmin(true)),
        static_resources: Some(bootstrap::StaticResources {
            clusters: vec![xds],
            ..Default::default()
        }),
        dynamic_resources: Some(bootstrap::DynamicResources {
            lds_config: Some(ads_source()),
            cds_config: Some(ads_source()),
            ads_config: Some(core::ApiConfigSource {
                api_type: if delta {
                    core::api_config_source::ApiType::DeltaGrpc
                } else {
                    core::api_config_source::ApiType::Grpc
                } as i32,
                transport_api_version: core::ApiVersion::V3 as i32,
                grpc_services: vec![core::GrpcService {
                    target_specifier: Some(core::grpc_service::TargetSpecifier::EnvoyGrpc(
                        core::grpc_service::EnvoyGrpc {
                            cluster_name: XDS_CLUSTER.into(),
                            retry_policy: Some(xds_retry_policy()),
                            ..Default::default()
                        },
                    )),
                    ..Default::default()
                }],
                set_node_on_first_message_only: true,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
