//! Clusters (one per backend Service port) and their endpoints.

use envoy_types::pb::envoy::config::cluster::v3::{cluster, Cluster};
use envoy_types::pb::envoy::config::core::v3 as core;
use envoy_types::pb::envoy::config::endpoint::v3::{
    lb_endpoint, ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    common_tls_context, CertificateValidationContext, CommonTlsContext, SubjectAltNameMatcher,
    UpstreamTlsContext,
};
use envoy_types::pb::envoy::extensions::upstreams::http::v3::{
    http_protocol_options, HttpProtocolOptions,
};
use envoy_types::pb::envoy::r#type::matcher::v3::{string_matcher, StringMatcher};

use std::collections::btree_map;
use std::iter::Peekable;
use std::sync::Arc;

use super::listener::{self, add_certificate, inline_data};
use super::{ads_source, any, duration_ms, socket_address, Delivery};
use crate::translate::ir::{ClusterIr, ClusterName, GatewayIr, UpstreamProtocol};

/// A UDP listener's backends, each with its weight.
pub(crate) type WeightedParts<'a> = Vec<(&'a ClusterIr, u32)>;

/// What one cluster of a Gateway is built from.
pub(crate) enum Source<'a> {
    /// A backend Service port.
    Backend(&'a Arc<ClusterIr>),
    /// A UDP listener's backends, each with its weight, under the listener's `{listener}/weighted`
    /// name (see [`weighted`]).
    Weighted(String, WeightedParts<'a>),
}

impl Source<'_> {
    /// Fills `cluster` from the source, as [`build`] and [`weighted`] do.
    pub(crate) fn build(
        &self,
        ir: &GatewayIr,
        delivery: Delivery,
        cluster: &mut Cluster,
    ) -> Option<ClusterLoadAssignment> {
        match self {
            Source::Backend(c) => build(c, ir, delivery, cluster),
            Source::Weighted(name, parts) => weighted(name, parts, delivery, cluster),
        }
    }
}

/// The sources of a Gateway's clusters, in the order of the clusters' names, as Envoy's lists
/// are kept: the backends' map is in that order, and the few weighted clusters are merged in.
pub(crate) struct Sources<'a> {
    backends: Peekable<btree_map::Values<'a, ClusterName, Arc<ClusterIr>>>,
    weighted: Peekable<std::vec::IntoIter<(String, WeightedParts<'a>)>>,
}

/// Every cluster `ir` needs, in name order.
pub(crate) fn sources(ir: &GatewayIr) -> Sources<'_> {
    let mut weighted: Vec<_> = ir
        .ports
        .values()
        .filter_map(|port| {
            let parts = listener::udp_weighted(port, ir)?;
            let name = listener::weighted_cluster_name(&listener::listener_name(port, ir));
            Some((name, parts))
        })
        .collect();
    weighted.sort_by(|a, b| a.0.cmp(&b.0));
    Sources {
        backends: ir.clusters.values().peekable(),
        weighted: weighted.into_iter().peekable(),
    }
}

impl<'a> Iterator for Sources<'a> {
    type Item = Source<'a>;

    fn next(&mut self) -> Option<Source<'a>> {
        let weighted_first = match (self.weighted.peek(), self.backends.peek()) {
            (Some((w, _)), Some(b)) => w.as_str() < &*b.name,
            (w, _) => w.is_some(),
        };
        if weighted_first {
            let (name, parts) = self.weighted.next()?;
            Some(Source::Weighted(name, parts))
        } else {
            self.backends.next().map(Source::Backend)
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.backends.len() + self.weighted.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Sources<'_> {}

/// Fills `cluster` (a default one, already where it is kept: Envoy's Cluster is over 3 KiB, and
/// each move would copy it) and returns its ClusterLoadAssignment when delivered over EDS. A
/// TLS cluster presents the Gateway's backend client certificate, if it has one.
pub(crate) fn build(
    c: &ClusterIr,
    ir: &GatewayIr,
    delivery: Delivery,
    cluster: &mut Cluster,
) -> Option<ClusterLoadAssignment> {
    let cla = ClusterLoadAssignment {
        cluster_name: String::from(&*c.name),
        endpoints: if c.endpoints.is_empty() {
            Vec::new()
        } else {
            vec![LocalityLbEndpoints {
                lb_endpoints: lb_endpoints(c),
                ..Default::default()
            }]
        },
        ..Default::default()
    };
    cluster.name = String::from(&*c.name);
    cluster.connect_timeout = Some(duration_ms(10_000));
    let eds = delivery == Delivery::Ads && !c.dns;
    let inline = if c.dns {
        cluster::DiscoveryType::StrictDns
    } else {
        cluster::DiscoveryType::Static
    };
    set_discovery(cluster, eds, inline, &cla);
    if c.protocol == UpstreamProtocol::H2c {
        let opts = HttpProtocolOptions {
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
        };
        cluster.typed_extension_protocol_options.insert(
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions".into(),
            any(&opts),
        );
    }
    if let Some(tls) = &c.tls {
        let validation = CertificateValidationContext {
            trusted_ca: tls.ca_pem.as_deref().map(inline_data).or_else(|| {
                // The system trust store of Debian and most distributions.
                Some(core::DataSource {
                    specifier: Some(core::data_source::Specifier::Filename(
                        "/etc/ssl/certs/ca-certificates.crt".into(),
                    )),
                    ..Default::default()
                })
            }),
            match_typed_subject_alt_names: if tls.sans.is_empty() {
                vec![san(false, &tls.sni)]
            } else {
                tls.sans.iter().map(|(uri, v)| san(*uri, v)).collect()
            },
            ..Default::default()
        };
        let mut common = CommonTlsContext {
            validation_context_type: Some(
                common_tls_context::ValidationContextType::ValidationContext(validation),
            ),
            ..Default::default()
        };
        if let Some(cert) = &ir.backend_client_cert {
            add_certificate(&mut common, cert, ir, delivery);
        }
        let ctx = UpstreamTlsContext {
            sni: tls.sni.clone(),
            common_tls_context: Some(common),
            ..Default::default()
        };
        cluster.transport_socket = Some(core::TransportSocket {
            name: "envoy.transport_sockets.tls".into(),
            config_type: Some(core::transport_socket::ConfigType::TypedConfig(any(&ctx))),
        });
    }
    eds.then_some(cla)
}

/// A cluster spreading sessions over several backend clusters by weight, for the UDP proxy,
/// whose route names one cluster: one locality per backend, weighted (locality weighted LB).
/// Filled in place, as [`build`] is.
pub(crate) fn weighted(
    name: &str,
    parts: &[(&ClusterIr, u32)],
    delivery: Delivery,
    cluster: &mut Cluster,
) -> Option<ClusterLoadAssignment> {
    let cla = ClusterLoadAssignment {
        cluster_name: name.to_string(),
        endpoints: parts
            .iter()
            .filter(|(c, _)| !c.endpoints.is_empty())
            .map(|(c, w)| LocalityLbEndpoints {
                // Localities must differ: each is named after its backend cluster.
                locality: Some(core::Locality {
                    zone: String::from(&*c.name),
                    ..Default::default()
                }),
                load_balancing_weight: Some(envoy_types::pb::google::protobuf::UInt32Value {
                    value: *w,
                }),
                lb_endpoints: lb_endpoints(c),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    cluster.name = name.to_string();
    cluster.connect_timeout = Some(duration_ms(10_000));
    cluster.common_lb_config = Some(cluster::CommonLbConfig {
        locality_config_specifier: Some(
            cluster::common_lb_config::LocalityConfigSpecifier::LocalityWeightedLbConfig(
                Default::default(),
            ),
        ),
        ..Default::default()
    });
    let eds = delivery == Delivery::Ads;
    set_discovery(cluster, eds, cluster::DiscoveryType::Static, &cla);
    eds.then_some(cla)
}

/// Where a cluster's endpoints come from: EDS over the ADS stream, or `cla` inline with the
/// `inline` discovery type (static addresses, or names Envoy resolves).
fn set_discovery(
    cluster: &mut Cluster,
    eds: bool,
    inline: cluster::DiscoveryType,
    cla: &ClusterLoadAssignment,
) {
    if eds {
        cluster.cluster_discovery_type = Some(cluster::ClusterDiscoveryType::Type(
            cluster::DiscoveryType::Eds as i32,
        ));
        cluster.eds_cluster_config = Some(cluster::EdsClusterConfig {
            eds_config: Some(ads_source()),
            service_name: String::new(),
        });
    } else {
        cluster.cluster_discovery_type = Some(cluster::ClusterDiscoveryType::Type(inline as i32));
        cluster.load_assignment = Some(cla.clone());
    }
}

fn lb_endpoints(c: &ClusterIr) -> Vec<LbEndpoint> {
    c.endpoints
        .iter()
        .map(|(addr, port)| LbEndpoint {
            host_identifier: Some(lb_endpoint::HostIdentifier::Endpoint(Endpoint {
                address: Some(socket_address(addr, u32::from(*port), false)),
                ..Default::default()
            })),
            ..Default::default()
        })
        .collect()
}

fn san(uri: bool, value: &str) -> SubjectAltNameMatcher {
    use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::subject_alt_name_matcher::SanType;
    let pattern = match value.strip_prefix("*.") {
        Some(suffix) if !uri => string_matcher::MatchPattern::SafeRegex(
            envoy_types::pb::envoy::r#type::matcher::v3::RegexMatcher {
                regex: format!("^[^.]+\\.{}$", regex::escape(suffix)),
                ..Default::default()
            },
        ),
        _ => string_matcher::MatchPattern::Exact(value.to_string()),
    };
    SubjectAltNameMatcher {
        san_type: if uri { SanType::Uri } else { SanType::Dns } as i32,
        matcher: Some(StringMatcher {
            match_pattern: Some(pattern),
            ..Default::default()
        }),
        ..Default::default()
    }
}
