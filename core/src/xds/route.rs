//! Route tables to RouteConfigurations: virtual hosts by hostname, routes in spec precedence order.

use envoy_types::pb::envoy::config::core::v3 as core;
use envoy_types::pb::envoy::config::route::v3::{
    header_matcher, query_parameter_matcher, redirect_action, route, route_action, route_match,
    weighted_cluster, CorsPolicy, DirectResponseAction, HeaderMatcher, QueryParameterMatcher,
    RedirectAction, RetryPolicy, Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost,
    WeightedCluster,
};
use envoy_types::pb::envoy::extensions::filters::http::cors::v3::CorsPolicy as CorsPerRoute;
use envoy_types::pb::envoy::r#type::matcher::v3::{
    regex_matcher, string_matcher, RegexMatchAndSubstitute, RegexMatcher, StringMatcher,
};
use envoy_types::pb::envoy::r#type::v3::{fractional_percent, FractionalPercent};
use envoy_types::pb::google::protobuf::{BoolValue, UInt32Value};

use super::{any, duration_ms};
use crate::translate::ir::*;

/// The HTTP filter name CORS policies are keyed by.
pub const CORS_FILTER: &str = "envoy.filters.http.cors";

/// The HTTP filter name session persistence is keyed by.
pub const STATEFUL_SESSION_FILTER: &str = "envoy.filters.http.stateful_session";

/// The cluster name of backends that did not resolve; Envoy answers 500 for it.
pub const INVALID_BACKEND_CLUSTER: &str = "invalid-backend-ref";

/// Builds a RouteConfiguration from a route table.
pub fn route_configuration(t: &RouteTableIr) -> RouteConfiguration {
    let mut out = route_configuration_head(t);
    out.virtual_hosts = t
        .vhosts
        .iter()
        .map(|(host, routes)| {
            let mut vh = virtual_host_head(&t.name, host);
            vh.routes.reserve_exact(routes.len());
            for r in routes.iter() {
                fill_route(r, super::push_default(&mut vh.routes));
            }
            vh
        })
        .collect();
    out
}

/// A RouteConfiguration without its virtual hosts: what the encoded path completes with
/// virtual hosts encoded apart.
pub(crate) fn route_configuration_head(t: &RouteTableIr) -> RouteConfiguration {
    RouteConfiguration {
        name: t.name.clone(),
        // Unresolved backends name a cluster that does not exist, answered with 500.
        validate_clusters: Some(BoolValue { value: false }),
        ..Default::default()
    }
}

/// A VirtualHost without its routes, which the encoded path appends already encoded.
pub(crate) fn virtual_host_head(table: &str, host: &str) -> VirtualHost {
    VirtualHost {
        name: format!("{table}/{host}"),
        domains: domains(host),
        ..Default::default()
    }
}

/// A virtual host's domains: the hostname, and the hostname with any port, since Gateway API
/// hostnames carry none and the Host header is forwarded unchanged. Envoy allows one wildcard
/// per domain, so `*.example.com` matches only port-less Host headers.
fn domains(host: &str) -> Vec<String> {
    if host.starts_with('*') {
        vec![host.to_string()]
    } else {
        vec![host.to_string(), format!("{host}:*")]
    }
}

fn regex(r: &str) -> RegexMatcher {
    RegexMatcher {
        regex: r.to_string(),
        ..Default::default()
    }
}

fn string_matcher(value: &str, is_regex: bool) -> StringMatcher {
    StringMatcher {
        match_pattern: Some(if is_regex {
            string_matcher::MatchPattern::SafeRegex(regex(value))
        } else {
            string_matcher::MatchPattern::Exact(value.to_string())
        }),
        ..Default::default()
    }
}

fn header(name: &str, value: &str, is_regex: bool) -> HeaderMatcher {
    HeaderMatcher {
        name: name.to_string(),
        header_match_specifier: Some(header_matcher::HeaderMatchSpecifier::StringMatch(
            string_matcher(value, is_regex),
        )),
        ..Default::default()
    }
}

/// The prefix without a trailing slash: Gateway API prefixes match whole path segments.
fn segment_prefix(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        "/"
    } else {
        t
    }
}

fn route_match(m: &MatchIr) -> RouteMatch {
    let path_specifier = match &m.path {
        PathMatchIr::Exact(p) => route_match::PathSpecifier::Path(p.clone()),
        PathMatchIr::Regex(r) => route_match::PathSpecifier::SafeRegex(regex(r)),
        PathMatchIr::Prefix(p) => match segment_prefix(p) {
            "/" => route_match::PathSpecifier::Prefix("/".into()),
            p => route_match::PathSpecifier::PathSeparatedPrefix(p.to_string()),
        },
    };
    let mut headers: Vec<HeaderMatcher> =
        m.headers.iter().map(|(n, v, r)| header(n, v, *r)).collect();
    if let Some(method) = &m.method {
        headers.push(header(":method", method, false));
    }
    RouteMatch {
        path_specifier: Some(path_specifier),
        headers,
        query_parameters: m
            .queries
            .iter()
            .map(|(n, v, r)| QueryParameterMatcher {
                name: n.clone(),
                query_parameter_match_specifier: Some(
                    query_parameter_matcher::QueryParameterMatchSpecifier::StringMatch(
                        string_matcher(v, *r),
                    ),
                ),
            })
            .collect(),
        ..Default::default()
    }
}

fn header_values(list: &[(String, String)], append: bool) -> Vec<core::HeaderValueOption> {
    list.iter()
        .map(|(k, v)| core::HeaderValueOption {
            header: Some(core::HeaderValue {
                key: k.clone(),
                value: v.clone(),
                ..Default::default()
            }),
            append_action: if append {
                core::header_value_option::HeaderAppendAction::AppendIfExistsOrAdd
            } else {
                core::header_value_option::HeaderAppendAction::OverwriteIfExistsOrAdd
            } as i32,
            ..Default::default()
        })
        .collect()
}

/// One route of the IR, on its own (a route table fills its Routes in place instead).
pub(crate) fn route(r: &RouteIr) -> Route {
    let mut out = Route::default();
    fill_route(r, &mut out);
    out
}

/// Fills a default Route with one route of the IR.
pub(crate) fn fill_route(r: &RouteIr, out: &mut Route) {
    out.name = r.name.clone();
    out.r#match = Some(route_match(&r.matcher));
    if let Some(x) = &r.extras {
        out.request_headers_to_add = header_values(&x.request_headers.set, false);
        out.request_headers_to_add
            .extend(header_values(&x.request_headers.add, true));
        out.request_headers_to_remove = x.request_headers.remove.clone();
        out.response_headers_to_add = header_values(&x.response_headers.set, false);
        out.response_headers_to_add
            .extend(header_values(&x.response_headers.add, true));
        out.response_headers_to_remove = x.response_headers.remove.clone();
    }
    match &r.action {
        ActionIr::Direct(status) => {
            out.action = Some(route::Action::DirectResponse(DirectResponseAction {
                status: *status,
                ..Default::default()
            }))
        }
        ActionIr::Redirect(rd) => {
            out.action = Some(route::Action::Redirect(redirect(rd, &r.matcher)))
        }
        ActionIr::Forward {
            clusters,
            invalid_weight,
            rewrite,
        } => {
            // Filled in place too: a RouteAction is 1.5 KiB.
            let action = out
                .action
                .insert(route::Action::Route(RouteAction::default()));
            if let route::Action::Route(a) = action {
                forward(r, clusters, *invalid_weight, rewrite.as_deref(), a);
            }
        }
    }
    let Some(x) = &r.extras else { return };
    if let Some(c) = &x.cors {
        out.typed_per_filter_config
            .insert(CORS_FILTER.into(), any(&cors(c)));
    }
    if let Some(sess) = &x.session {
        out.typed_per_filter_config
            .insert(STATEFUL_SESSION_FILTER.into(), any(&session(sess)));
    }
}

/// Envoy's stateful session for one route: a cookie (or header) naming the chosen endpoint.
fn session(
    s: &SessionIr,
) -> envoy_types::pb::envoy::extensions::filters::http::stateful_session::v3::StatefulSessionPerRoute
{
    use envoy_types::pb::envoy::config::core::v3::TypedExtensionConfig;
    use envoy_types::pb::envoy::extensions::filters::http::stateful_session::v3::{
        stateful_session_per_route, StatefulSession, StatefulSessionPerRoute,
    };
    use envoy_types::pb::envoy::extensions::http::stateful_session::cookie::v3::CookieBasedSessionState;
    use envoy_types::pb::envoy::extensions::http::stateful_session::header::v3::HeaderBasedSessionState;
    let state = if s.header {
        TypedExtensionConfig {
            name: "envoy.http.stateful_session.header".into(),
            typed_config: Some(any(&HeaderBasedSessionState {
                name: s.name.clone(),
            })),
        }
    } else {
        TypedExtensionConfig {
            name: "envoy.http.stateful_session.cookie".into(),
            typed_config: Some(any(&CookieBasedSessionState {
                cookie: Some(envoy_types::pb::envoy::r#type::http::v3::Cookie {
                    name: s.name.clone(),
                    ttl: s.ttl_ms.map(duration_ms),
                    path: "/".into(),
                    ..Default::default()
                }),
            })),
        }
    };
    StatefulSessionPerRoute {
        r#override: Some(stateful_session_per_route::Override::StatefulSession(
            StatefulSession {
                session_state: Some(state),
                ..Default::default()
            },
        )),
    }
}

/// One entry of a weighted cluster, with what its backendRef's filters do: Envoy applies
/// these only to requests sent to that cluster (before the route's own header changes).
fn cluster_weight(b: &WeightedClusterIr) -> weighted_cluster::ClusterWeight {
    let mut cw = weighted_cluster::ClusterWeight {
        name: String::from(&*b.cluster),
        weight: Some(UInt32Value { value: b.weight }),
        ..Default::default()
    };
    if let Some(f) = &b.filters {
        cw.request_headers_to_add = header_values(&f.request_headers.set, false);
        cw.request_headers_to_add
            .extend(header_values(&f.request_headers.add, true));
        cw.request_headers_to_remove = f.request_headers.remove.clone();
        cw.response_headers_to_add = header_values(&f.response_headers.set, false);
        cw.response_headers_to_add
            .extend(header_values(&f.response_headers.add, true));
        cw.response_headers_to_remove = f.response_headers.remove.clone();
        if let Some(h) = &f.hostname {
            cw.host_rewrite_specifier = Some(
                weighted_cluster::cluster_weight::HostRewriteSpecifier::HostRewriteLiteral(
                    h.clone(),
                ),
            );
        }
    }
    cw
}

fn forward(
    r: &RouteIr,
    clusters: &[WeightedClusterIr],
    invalid_weight: u32,
    rewrite: Option<&RewriteIr>,
    a: &mut RouteAction,
) {
    a.cluster_not_found_response_code =
        route_action::ClusterNotFoundResponseCode::InternalServerError as i32;
    // A single backend is a plain cluster unless its backendRef has filters, which only a
    // weighted cluster entry can carry (the route's own header changes would also apply to
    // the share of unresolved backends).
    a.cluster_specifier = Some(match clusters {
        [only] if invalid_weight == 0 && only.filters.is_none() => {
            route_action::ClusterSpecifier::Cluster(String::from(&*only.cluster))
        }
        _ => {
            let mut cw: Vec<weighted_cluster::ClusterWeight> =
                clusters.iter().map(cluster_weight).collect();
            if invalid_weight > 0 {
                cw.push(weighted_cluster::ClusterWeight {
                    name: INVALID_BACKEND_CLUSTER.into(),
                    weight: Some(UInt32Value {
                        value: invalid_weight,
                    }),
                    ..Default::default()
                });
            }
            route_action::ClusterSpecifier::WeightedClusters(WeightedCluster {
                clusters: cw,
                ..Default::default()
            })
        }
    });
    if let Some(rw) = rewrite {
        if let Some(h) = &rw.hostname {
            a.host_rewrite_specifier = Some(
                route_action::HostRewriteSpecifier::HostRewriteLiteral(h.clone()),
            );
        }
        if let Some(full) = &rw.full_path {
            a.regex_rewrite = Some(RegexMatchAndSubstitute {
                pattern: Some(regex("^/.*$")),
                substitution: full.clone(),
            });
        } else if let Some(prefix) = &rw.prefix {
            if let PathMatchIr::Prefix(p) = &r.matcher.path {
                a.regex_rewrite = Some(prefix_rewrite(p, prefix));
            }
        }
    }
    let Some(x) = &r.extras else { return };
    if let Some(ms) = x.timeout_ms {
        a.timeout = Some(duration_ms(ms));
    }
    if x.retry.is_some() || x.per_try_timeout_ms.is_some() {
        let retry = x.retry.clone().unwrap_or_default();
        a.retry_policy = Some(RetryPolicy {
            retry_on: if retry.codes.is_empty() {
                String::new()
            } else {
                "retriable-status-codes".into()
            },
            retriable_status_codes: retry.codes.clone(),
            num_retries: Some(UInt32Value {
                value: retry.attempts,
            }),
            per_try_timeout: x.per_try_timeout_ms.map(duration_ms),
            retry_back_off: retry.backoff_ms.map(|ms| {
                envoy_types::pb::envoy::config::route::v3::retry_policy::RetryBackOff {
                    base_interval: Some(duration_ms(ms.max(1))),
                    ..Default::default()
                }
            }),
            ..Default::default()
        });
    }
    a.request_mirror_policies = x
        .mirrors
        .iter()
        .map(|(c, millionths)| route_action::RequestMirrorPolicy {
            cluster: String::from(&**c),
            runtime_fraction: (*millionths < 1_000_000).then(|| core::RuntimeFractionalPercent {
                default_value: Some(FractionalPercent {
                    numerator: *millionths,
                    denominator: fractional_percent::DenominatorType::Million as i32,
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
}

/// Replaces the matched prefix, keeping the rest of the path on a segment boundary.
fn prefix_rewrite(matched: &str, replacement: &str) -> RegexMatchAndSubstitute {
    let m = segment_prefix(matched);
    let m = if m == "/" { "" } else { m };
    let r = replacement.trim_end_matches('/');
    RegexMatchAndSubstitute {
        pattern: Some(regex(&format!("^{}(/?)(.*)", regex::escape(m)))),
        substitution: if r.is_empty() {
            "/\\2".into()
        } else {
            format!("{r}\\1\\2")
        },
    }
}

fn redirect(rd: &RedirectIr, m: &MatchIr) -> RedirectAction {
    let response_code = match rd.status {
        301 => redirect_action::RedirectResponseCode::MovedPermanently,
        303 => redirect_action::RedirectResponseCode::SeeOther,
        307 => redirect_action::RedirectResponseCode::TemporaryRedirect,
        308 => redirect_action::RedirectResponseCode::PermanentRedirect,
        _ => redirect_action::RedirectResponseCode::Found,
    } as i32;
    let mut a = RedirectAction {
        response_code,
        host_redirect: rd.hostname.clone().unwrap_or_default(),
        ..Default::default()
    };
    if let Some(s) = &rd.scheme {
        a.scheme_rewrite_specifier = Some(redirect_action::SchemeRewriteSpecifier::SchemeRedirect(
            s.clone(),
        ));
    }
    // The spec: with a scheme but no port, the port is the scheme's well-known one.
    match (rd.port, rd.scheme.as_deref()) {
        (Some(p), _) => a.port_redirect = p,
        (None, Some("http")) => a.port_redirect = 80,
        (None, Some("https")) => a.port_redirect = 443,
        _ => {}
    }
    if let Some(full) = &rd.full_path {
        a.path_rewrite_specifier = Some(redirect_action::PathRewriteSpecifier::PathRedirect(
            full.clone(),
        ));
    } else if let (Some(prefix), PathMatchIr::Prefix(p)) = (&rd.prefix, &m.path) {
        a.path_rewrite_specifier = Some(redirect_action::PathRewriteSpecifier::RegexRewrite(
            prefix_rewrite(p, prefix),
        ));
    }
    a
}

fn cors(c: &crate::model::HttpCorsFilter) -> CorsPerRoute {
    let origins = c
        .allow_origins
        .iter()
        .flatten()
        .map(|o| {
            if o == "*" {
                StringMatcher {
                    match_pattern: Some(string_matcher::MatchPattern::SafeRegex(regex(".*"))),
                    ..Default::default()
                }
            } else if o.contains('*') {
                // The wildcard spans any number of labels: `https://*.bar.com` allows
                // `https://xpto.www.bar.com` (HTTPRouteCORS).
                let r = regex::escape(o).replace("\\*", ".+");
                StringMatcher {
                    match_pattern: Some(string_matcher::MatchPattern::SafeRegex(regex(&format!(
                        "^{r}$"
                    )))),
                    ..Default::default()
                }
            } else {
                StringMatcher {
                    match_pattern: Some(string_matcher::MatchPattern::Exact(o.clone())),
                    ..Default::default()
                }
            }
        })
        .collect();
    let join = |v: &Option<Vec<String>>| v.as_ref().map(|v| v.join(",")).unwrap_or_default();
    CorsPerRoute {
        allow_origin_string_match: origins,
        allow_methods: join(&c.allow_methods),
        allow_headers: join(&c.allow_headers),
        expose_headers: join(&c.expose_headers),
        max_age: c.max_age.map(|a| a.to_string()).unwrap_or_default(),
        allow_credentials: c.allow_credentials.map(|value| BoolValue { value }),
        // A preflight from an origin the policy does not allow is answered by the gateway
        // (without CORS headers), never by the backend (HTTPRouteCORS).
        forward_not_matching_preflights: Some(BoolValue { value: false }),
        ..Default::default()
    }
}

#[allow(dead_code)]
fn unused(_: CorsPolicy, _: regex_matcher::EngineType) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin_regex(origin: &str) -> String {
        let c = crate::model::HttpCorsFilter {
            allow_origins: Some(vec![origin.to_string()]),
            ..Default::default()
        };
        match &cors(&c).allow_origin_string_match[0].match_pattern {
            Some(string_matcher::MatchPattern::SafeRegex(r)) => r.regex.clone(),
            other => panic!("not a regex: {other:?}"),
        }
    }

    #[test]
    fn cors_origin_wildcard_spans_labels() {
        let re = regex::Regex::new(&origin_regex("https://*.bar.com")).expect("regex");
        assert!(re.is_match("https://www.bar.com"));
        assert!(re.is_match("https://xpto.www.bar.com"));
        assert!(!re.is_match("https://bar.com"));
        assert!(!re.is_match("http://www.bar.com"));
        assert!(!re.is_match("https://www.bar.com.evil.org"));
    }

    fn forward_route(clusters: Vec<WeightedClusterIr>, invalid_weight: u32) -> RouteIr {
        RouteIr::catch_all(
            "r".into(),
            crate::model::ObjectKey::new(crate::model::Kind::HttpRoute, "ns", "r"),
            ActionIr::Forward {
                clusters: clusters.into(),
                invalid_weight,
                rewrite: None,
            },
        )
    }

    fn weighted(r: &RouteIr) -> Vec<weighted_cluster::ClusterWeight> {
        match route(r).action {
            Some(route::Action::Route(RouteAction {
                cluster_specifier: Some(route_action::ClusterSpecifier::WeightedClusters(w)),
                ..
            })) => w.clusters,
            other => panic!("not weighted clusters: {other:?}"),
        }
    }

    /// A backendRef's filters become its weighted cluster entry's header changes and host
    /// rewrite; the other entries and the route itself carry none.
    #[test]
    fn backend_filters_go_on_their_cluster_weight() {
        let filters = BackendFiltersIr {
            request_headers: HeaderModsIr {
                set: vec![("Backend".into(), "v1".into())],
                add: vec![("X-Add".into(), "a".into())],
                remove: vec!["X-Remove".into()],
            },
            response_headers: HeaderModsIr {
                add: vec![("X-Resp".into(), "r".into())],
                remove: vec!["X-Gone".into()],
                ..Default::default()
            },
            hostname: Some("v1.example.com".into()),
        };
        let r = forward_route(
            vec![
                WeightedClusterIr {
                    filters: Some(Box::new(filters)),
                    ..WeightedClusterIr::new("ns/v1/8080", 10)
                },
                WeightedClusterIr::new("ns/v2/8080", 10),
            ],
            0,
        );
        assert!(route(&r).request_headers_to_add.is_empty());
        let cw = weighted(&r);
        assert_eq!(cw.len(), 2);
        let keys = |v: &[core::HeaderValueOption]| -> Vec<(String, String, i32)> {
            v.iter()
                .map(|h| {
                    let hv = h.header.clone().unwrap_or_default();
                    (hv.key, hv.value, h.append_action)
                })
                .collect()
        };
        use super::core::header_value_option::HeaderAppendAction as A;
        assert_eq!(
            keys(&cw[0].request_headers_to_add),
            vec![
                (
                    "Backend".into(),
                    "v1".into(),
                    A::OverwriteIfExistsOrAdd as i32
                ),
                ("X-Add".into(), "a".into(), A::AppendIfExistsOrAdd as i32),
            ]
        );
        assert_eq!(
            cw[0].request_headers_to_remove,
            vec!["X-Remove".to_string()]
        );
        assert_eq!(
            keys(&cw[0].response_headers_to_add),
            vec![("X-Resp".into(), "r".into(), A::AppendIfExistsOrAdd as i32)]
        );
        assert_eq!(cw[0].response_headers_to_remove, vec!["X-Gone".to_string()]);
        assert_eq!(
            cw[0].host_rewrite_specifier,
            Some(
                weighted_cluster::cluster_weight::HostRewriteSpecifier::HostRewriteLiteral(
                    "v1.example.com".into()
                )
            )
        );
        assert_eq!(
            cw[1],
            weighted_cluster::ClusterWeight {
                name: "ns/v2/8080".into(),
                weight: Some(UInt32Value { value: 10 }),
                ..Default::default()
            }
        );
    }

    /// A single backend with filters is still a weighted cluster (of one), so its filters
    /// apply; without filters it stays a plain cluster.
    #[test]
    fn a_single_filtered_backend_is_a_weighted_cluster() {
        let filtered = WeightedClusterIr {
            filters: Some(Box::new(BackendFiltersIr {
                hostname: Some("h.example.com".into()),
                ..Default::default()
            })),
            ..WeightedClusterIr::new("ns/v1/8080", 1)
        };
        let cw = weighted(&forward_route(vec![filtered], 0));
        assert_eq!(cw.len(), 1);
        assert_eq!(cw[0].name, "ns/v1/8080");
        let plain = route(&forward_route(
            vec![WeightedClusterIr::new("ns/v1/8080", 1)],
            0,
        ));
        assert!(matches!(
            plain.action,
            Some(route::Action::Route(RouteAction {
                cluster_specifier: Some(route_action::ClusterSpecifier::Cluster(_)),
                ..
            }))
        ));
    }

    #[test]
    fn cors_preflights_from_other_origins_stay_at_the_gateway() {
        let c = crate::model::HttpCorsFilter::default();
        assert_eq!(
            cors(&c).forward_not_matching_preflights,
            Some(BoolValue { value: false })
        );
    }
}
