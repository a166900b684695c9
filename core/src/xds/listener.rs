//! Ports to Envoy Listeners: HTTP connection managers, TLS filter chains by SNI, TCP and UDP proxies.

use std::collections::BTreeSet;

use envoy_types::pb::envoy::config::core::v3 as core;
use envoy_types::pb::envoy::config::listener::v3::{
    filter, listener_filter, Filter, FilterChain, FilterChainMatch, Listener, ListenerFilter,
    UdpListenerConfig,
};
use envoy_types::pb::envoy::extensions::filters::http::cors::v3::Cors;
use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
use envoy_types::pb::envoy::extensions::filters::listener::tls_inspector::v3::TlsInspector;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    http_connection_manager as hcm, http_filter, HttpConnectionManager, HttpFilter, Rds,
};
use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3::{tcp_proxy, TcpProxy};
use envoy_types::pb::envoy::extensions::filters::udp::udp_proxy::v3::{
    udp_proxy_config, Route as UdpRoute, UdpProxyConfig,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    certificate_validation_context, common_tls_context, secret, CertificateValidationContext,
    CommonTlsContext, DownstreamTlsContext, SdsSecretConfig, Secret, TlsCertificate,
};
use envoy_types::pb::xds::core::v3::TypedExtensionConfig as XdsTypedExtensionConfig;
use envoy_types::pb::xds::r#type::matcher::v3::{matcher, Matcher};

use super::{ads_source, any, route, socket_address, Delivery};
use crate::translate::ir::*;

/// Builds the Listener of one port, and the route tables it names over RDS (under
/// [`Delivery::Static`] they are inline and none is returned), so callers choose how to build them.
pub fn build<'a>(
    port: &'a PortIr,
    ir: &GatewayIr,
    delivery: Delivery,
    bind_address: &str,
) -> (Listener, Vec<&'a RouteTableIr>) {
    let name = listener_name(port, ir);
    let mut routes = Vec::new();
    let mut listener = Listener {
        name: name.clone(),
        address: Some(socket_address(bind_address, u32::from(port.port), port.udp)),
        ..Default::default()
    };
    if port.udp {
        listener.udp_listener_config = Some(UdpListenerConfig::default());
        let cluster = if udp_weighted(port, ir).is_some() {
            weighted_cluster_name(&name)
        } else {
            port.forward
                .as_ref()
                .and_then(|f| f.clusters.first().map(|c| c.0.to_string()))
                .unwrap_or_else(|| "no-backend".to_string())
        };
        listener.listener_filters.push(ListenerFilter {
            name: "envoy.filters.udp_listener.udp_proxy".into(),
            config_type: Some(listener_filter::ConfigType::TypedConfig(any(
                &UdpProxyConfig {
                    stat_prefix: name.clone(),
                    route_specifier: Some(udp_proxy_config::RouteSpecifier::Matcher(Matcher {
                        on_no_match: Some(Box::new(matcher::OnMatch {
                            on_match: Some(matcher::on_match::OnMatch::Action(
                                XdsTypedExtensionConfig {
                                    name: "route".into(),
                                    typed_config: Some(any(&UdpRoute { cluster })),
                                },
                            )),
                            ..Default::default()
                        })),
                        ..Default::default()
                    })),
                    ..Default::default()
                },
            ))),
            ..Default::default()
        });
        return (listener, routes);
    }
    if let Some(table) = &port.http {
        listener
            .filter_chains
            .push(http_chain(&name, table, delivery, None));
        if delivery == Delivery::Ads {
            routes.push(table);
        }
    }
    if let Some(f) = &port.forward {
        listener.filter_chains.push(FilterChain {
            name: f.name.clone(),
            filters: vec![tcp_proxy_filter(&name, f)],
            ..Default::default()
        });
    }
    if !port.tls_chains.is_empty() {
        listener.listener_filters.push(ListenerFilter {
            name: "envoy.filters.listener.tls_inspector".into(),
            config_type: Some(listener_filter::ConfigType::TypedConfig(any(
                &TlsInspector::default(),
            ))),
            ..Default::default()
        });
    }
    // Envoy refuses a whole listener when two filter chains match the same server name (say
    // two TLSRoutes with one hostname): the first chain, in translation order, keeps a name.
    let mut claimed: BTreeSet<&str> = BTreeSet::new();
    let mut catch_all = false;
    for c in &port.tls_chains {
        let server_names: Vec<String> = c
            .server_names
            .iter()
            .filter(|n| !claimed.contains(n.as_str()))
            .cloned()
            .collect();
        if c.server_names.is_empty() {
            if std::mem::replace(&mut catch_all, true) {
                continue;
            }
        } else if server_names.is_empty() {
            continue;
        }
        claimed.extend(c.server_names.iter().map(String::as_str));
        let tls = (!c.secrets.is_empty())
            .then(|| downstream_tls(c, ir, delivery, matches!(c.action, TlsChainAction::Http(_))));
        let mut chain = match &c.action {
            TlsChainAction::Http(table) => {
                let chain = http_chain(&c.name, table, delivery, tls);
                if delivery == Delivery::Ads {
                    routes.push(table);
                }
                chain
            }
            TlsChainAction::Forward(f) => FilterChain {
                name: c.name.clone(),
                filters: vec![tcp_proxy_filter(&c.name, f)],
                transport_socket: tls,
                ..Default::default()
            },
        };
        chain.filter_chain_match = Some(FilterChainMatch {
            server_names,
            transport_protocol: "tls".into(),
            ..Default::default()
        });
        listener.filter_chains.push(chain);
    }
    (listener, routes)
}

fn http_chain(
    name: &str,
    table: &RouteTableIr,
    delivery: Delivery,
    tls: Option<core::TransportSocket>,
) -> FilterChain {
    let routes = || table.vhosts.values().flat_map(|v| v.iter());
    // The filters are on when some route carries their per-route config (see `route::route`).
    let uses_cors = routes().any(|r| r.extras.as_ref().is_some_and(|x| x.cors.is_some()));
    let mut http_filters = Vec::new();
    if uses_cors {
        http_filters.push(HttpFilter {
            name: route::CORS_FILTER.into(),
            config_type: Some(http_filter::ConfigType::TypedConfig(any(&Cors::default()))),
            ..Default::default()
        });
    }
    let uses_session = routes().any(|r| r.extras.as_ref().is_some_and(|x| x.session.is_some()));
    if uses_session {
        // Off unless a route enables it with its own session settings.
        http_filters.push(HttpFilter {
            name: route::STATEFUL_SESSION_FILTER.into(),
            config_type: Some(http_filter::ConfigType::TypedConfig(any(
                &envoy_types::pb::envoy::extensions::filters::http::stateful_session::v3::StatefulSession::default(),
            ))),
            ..Default::default()
        });
    }
    http_filters.push(HttpFilter {
        name: "envoy.filters.http.router".into(),
        config_type: Some(http_filter::ConfigType::TypedConfig(
            any(&Router::default()),
        )),
        ..Default::default()
    });
    let route_specifier = match delivery {
        Delivery::Ads => hcm::RouteSpecifier::Rds(Rds {
            config_source: Some(ads_source()),
            route_config_name: table.name.clone(),
        }),
        Delivery::Static => hcm::RouteSpecifier::RouteConfig(route::route_configuration(table)),
    };
    let manager = HttpConnectionManager {
        stat_prefix: name.to_string(),
        codec_type: hcm::CodecType::Auto as i32,
        route_specifier: Some(route_specifier),
        http_filters,
        upgrade_configs: vec![hcm::UpgradeConfig {
            upgrade_type: "websocket".into(),
            ..Default::default()
        }],
        normalize_path: Some(envoy_types::pb::google::protobuf::BoolValue { value: true }),
        merge_slashes: true,
        ..Default::default()
    };
    FilterChain {
        name: name.to_string(),
        filters: vec![Filter {
            name: "envoy.filters.network.http_connection_manager".into(),
            config_type: Some(filter::ConfigType::TypedConfig(any(&manager))),
        }],
        transport_socket: tls,
        ..Default::default()
    }
}

/// The Listener name of a port: `{gateway-ns}/{gateway}/{port}`, `/udp` appended for UDP.
pub(crate) fn listener_name(port: &PortIr, ir: &GatewayIr) -> String {
    let gw = ir
        .gateway
        .as_ref()
        .map(|k| format!("{}/{}", k.namespace, k.name))
        .unwrap_or_default();
    if port.udp {
        format!("{gw}/{}/udp", port.port)
    } else {
        format!("{gw}/{}", port.port)
    }
}

/// The backend clusters and weights of a UDP port that forwards to several backends (the UDP
/// proxy routes to one cluster, so these become one weighted cluster); None otherwise, or when
/// a backend is resolved by DNS (such a port forwards to its first backend).
pub(crate) fn udp_weighted<'a>(
    port: &PortIr,
    ir: &'a GatewayIr,
) -> Option<Vec<(&'a ClusterIr, u32)>> {
    let f = port
        .forward
        .as_ref()
        .filter(|f| port.udp && f.clusters.len() > 1)?;
    f.clusters
        .iter()
        .map(|(name, w)| ir.clusters.get(name).filter(|c| !c.dns).map(|c| (&**c, *w)))
        .collect()
}

/// The name of the weighted cluster of a UDP listener: `{listener}/weighted`.
pub(crate) fn weighted_cluster_name(listener: &str) -> String {
    format!("{listener}/weighted")
}

fn tcp_proxy_filter(name: &str, f: &ForwardIr) -> Filter {
    let cluster_specifier = match f.clusters.as_slice() {
        [] => tcp_proxy::ClusterSpecifier::Cluster("no-backend".into()),
        [(c, _)] => tcp_proxy::ClusterSpecifier::Cluster(String::from(&**c)),
        many => tcp_proxy::ClusterSpecifier::WeightedClusters(tcp_proxy::WeightedCluster {
            clusters: many
                .iter()
                .map(|(c, w)| tcp_proxy::weighted_cluster::ClusterWeight {
                    name: String::from(&**c),
                    weight: *w,
                    ..Default::default()
                })
                .collect(),
        }),
    };
    Filter {
        name: "envoy.filters.network.tcp_proxy".into(),
        config_type: Some(filter::ConfigType::TypedConfig(any(&TcpProxy {
            stat_prefix: name.to_string(),
            cluster_specifier: Some(cluster_specifier),
            ..Default::default()
        }))),
    }
}

fn downstream_tls(
    c: &TlsChainIr,
    ir: &GatewayIr,
    delivery: Delivery,
    http: bool,
) -> core::TransportSocket {
    let mut common = CommonTlsContext {
        alpn_protocols: if http {
            vec!["h2".into(), "http/1.1".into()]
        } else {
            Vec::new()
        },
        ..Default::default()
    };
    for s in &c.secrets {
        add_certificate(&mut common, s, ir, delivery);
    }
    let mut ctx = DownstreamTlsContext::default();
    if let Some(v) = &c.client_validation {
        // A validation context makes Envoy ask for a client certificate. AllowInsecureFallback
        // (as in Envoy Gateway): any certificate, or none, is let through.
        common.validation_context_type = Some(
            common_tls_context::ValidationContextType::ValidationContext(
                CertificateValidationContext {
                    trusted_ca: Some(inline_data(&v.ca_pem)),
                    trust_chain_verification: if v.insecure_fallback {
                        certificate_validation_context::TrustChainVerification::AcceptUntrusted
                    } else {
                        certificate_validation_context::TrustChainVerification::VerifyTrustChain
                    } as i32,
                    ..Default::default()
                },
            ),
        );
        ctx.require_client_certificate = Some(envoy_types::pb::google::protobuf::BoolValue {
            value: !v.insecure_fallback,
        });
    }
    ctx.common_tls_context = Some(common);
    core::TransportSocket {
        name: "envoy.transport_sockets.tls".into(),
        config_type: Some(core::transport_socket::ConfigType::TypedConfig(any(&ctx))),
    }
}

/// Adds the certificate `name` of the Gateway's secrets to a TLS context: by SDS name over
/// ADS, inline for a static bootstrap.
pub(crate) fn add_certificate(
    common: &mut CommonTlsContext,
    name: &str,
    ir: &GatewayIr,
    delivery: Delivery,
) {
    match delivery {
        Delivery::Ads => common
            .tls_certificate_sds_secret_configs
            .push(SdsSecretConfig {
                name: name.to_string(),
                sds_config: Some(ads_source()),
            }),
        Delivery::Static => {
            if let Some(sec) = ir.secrets.get(name) {
                common.tls_certificates.push(certificate(sec));
            }
        }
    }
}

pub(crate) fn inline_data(s: &str) -> core::DataSource {
    core::DataSource {
        specifier: Some(core::data_source::Specifier::InlineString(s.to_string())),
        ..Default::default()
    }
}

fn certificate(s: &SecretIr) -> TlsCertificate {
    TlsCertificate {
        certificate_chain: Some(inline_data(&s.cert_pem)),
        private_key: Some(inline_data(&s.key_pem)),
        ..Default::default()
    }
}

/// An SDS Secret for a certificate.
pub fn secret(s: &SecretIr) -> Secret {
    Secret {
        name: s.name.clone(),
        r#type: Some(secret::Type::TlsCertificate(certificate(s))),
    }
}
