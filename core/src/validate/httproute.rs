//! HTTPRoute: matches, filters, backends, timeouts, retries.

use super::common::{backend_ref, matches, parse_duration, Cx, Path};
use super::route::{
    backend_refs, exists_one, filter_fields, header_matches, header_value, hostnames, not_repeated,
    parent_refs, rule_names, session_persistence, shared_filter_parts, total_matches,
    use_default_gateways, CORS, EXTENSION_REF, EXTERNAL_AUTH, HEADER_MODIFIERS_NOT_REPEATED,
    REQUEST_HEADER_MODIFIER, REQUEST_MIRROR, REQUEST_REDIRECT, RESPONSE_HEADER_MODIFIER,
    URL_REWRITE,
};
use crate::model::limits;
use crate::model::*;

/// `HTTPRoute.spec`.
pub(crate) fn spec(cx: &mut Cx, s: &HttpRouteSpec) {
    let spec = Path::root("spec");
    parent_refs(cx, &spec.f("parentRefs"), s.parent_refs.as_deref());
    hostnames(
        cx,
        &spec.f("hostnames"),
        s.hostnames.as_deref(),
        &limits::HOSTNAMES,
    );
    use_default_gateways(
        cx,
        &spec.f("useDefaultGateways"),
        s.use_default_gateways.as_deref(),
    );
    let Some(rules) = &s.rules else { return };
    let rp = spec.f("rules");
    cx.count(&rp, rules.len(), &limits::HTTP_RULES);
    total_matches(
        cx,
        &rp,
        rules.iter().map(|r| r.matches.as_ref().map(Vec::len)),
    );
    rule_names(cx, &rp, rules.iter().map(|r| r.name.as_deref()));
    for (i, r) in rules.iter().enumerate() {
        rule(cx, &rp.i(i), r);
    }
}

fn rule(cx: &mut Cx, path: &Path, r: &HttpRouteRule) {
    if let Some(m) = &r.matches {
        let mp = path.f("matches");
        cx.count(&mp, m.len(), &limits::MATCHES);
        for (j, m) in m.iter().enumerate() {
            route_match(cx, &mp.i(j), m);
        }
    }
    if let Some(f) = &r.filters {
        filters(cx, &path.f("filters"), f);
    }
    if let Some(b) = &r.backend_refs {
        backend_refs(
            cx,
            &path.f("backendRefs"),
            b,
            &limits::BACKEND_REFS,
            |b| (&b.backend, b.weight),
            |cx, p, b| {
                if let Some(f) = &b.filters {
                    filters(cx, &p.f("filters"), f);
                }
            },
        );
    }
    if let Some(t) = &r.timeouts {
        timeouts(cx, &path.f("timeouts"), t);
    }
    if let Some(retry) = r.retry.as_deref().filter(|_| cx.experimental()) {
        let p = path.f("retry");
        if let Some(codes) = &retry.codes {
            let cp = p.f("codes");
            cx.count(&cp, codes.len(), &limits::RETRY_CODES);
            for (i, c) in codes.iter().enumerate() {
                cx.int(&cp.i(i), (*c).into(), &limits::RETRY_CODE);
            }
            cx.unique(&cp, codes.iter().map(i32::to_string));
        }
        cx.opt_int(&p.f("attempts"), retry.attempts, &limits::RETRY_ATTEMPTS);
        cx.opt_str(&p.f("backoff"), retry.backoff.as_deref(), &limits::DURATION);
    }
    session_persistence(
        cx,
        &path.f("sessionPersistence"),
        r.session_persistence.as_deref(),
    );
    rule_rules(cx, path, r);
}

/// The CEL rules on one rule: redirects exclude backends, and prefix rewrites need exactly
/// one PathPrefix match.
fn rule_rules(cx: &mut Cx, path: &Path, r: &HttpRouteRule) {
    let filters = r.filters.as_deref().unwrap_or_default();
    let backends = r.backend_refs.as_deref().unwrap_or_default();
    cx.rule(
        path,
        backends.is_empty() || filters.iter().all(|f| f.request_redirect.is_none()),
        "RequestRedirect filter must not be used together with backendRefs",
    );
    // size(self.matches) == 1 && has(self.matches[0].path) && self.matches[0].path.type ==
    // 'PathPrefix'; `matches` is defaulted, and absent it fails at run time.
    let one_prefix = r.matches.as_ref().is_some_and(|m| {
        m.len() == 1
            && m[0]
                .path
                .as_ref()
                .is_some_and(|p| p.type_.as_deref() == Some("PathPrefix"))
    });
    let redirect_prefix = |f: &HttpRouteFilter| {
        f.request_redirect
            .as_ref()
            .and_then(|r| r.path.as_ref())
            .is_some_and(replaces_prefix)
    };
    let rewrite_prefix = |f: &HttpRouteFilter| {
        f.url_rewrite
            .as_ref()
            .and_then(|r| r.path.as_ref())
            .is_some_and(replaces_prefix)
    };
    let in_backends = |pred: &dyn Fn(&HttpRouteFilter) -> bool| {
        exists_one(backends, |b| {
            b.filters
                .as_deref()
                .is_some_and(|f| exists_one(f, |f| pred(f)))
        })
    };
    let conditions: [(bool, &str); 4] = [
        (
            exists_one(filters, redirect_prefix),
            "When using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
        ),
        (
            exists_one(filters, rewrite_prefix),
            "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
        ),
        (
            in_backends(&redirect_prefix),
            "Within backendRefs, when using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
        ),
        (
            in_backends(&rewrite_prefix),
            "Within backendRefs, When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
        ),
    ];
    for (applies, message) in conditions {
        cx.rule(path, !applies || one_prefix, message);
    }
}

/// `type == 'ReplacePrefixMatch' && has(replacePrefixMatch)`.
fn replaces_prefix(p: &HttpPathModifier) -> bool {
    p.type_ == "ReplacePrefixMatch" && p.replace_prefix_match.is_some()
}

fn route_match(cx: &mut Cx, path: &Path, m: &HttpRouteMatch) {
    if let Some(p) = &m.path {
        path_match(cx, &path.f("path"), p);
    }
    let value = header_value(cx);
    header_matches(cx, &path.f("headers"), m.headers.as_deref(), value);
    if let Some(q) = &m.query_params {
        let qp = path.f("queryParams");
        cx.count(&qp, q.len(), &limits::HEADER_LIST);
        cx.unique_keys(&qp, "name", q.iter().map(|h| h.name.as_str()));
        for (i, h) in q.iter().enumerate() {
            let p = qp.i(i);
            cx.opt_str(&p.f("type"), h.type_.as_deref(), &limits::MATCH_TYPE);
            cx.str(&p.f("name"), &h.name, &limits::HEADER_NAME);
            cx.str(&p.f("value"), &h.value, &limits::QUERY_PARAM_VALUE);
        }
    }
    cx.opt_str(&path.f("method"), m.method.as_deref(), &limits::HTTP_METHOD);
}

/// A path match and its CEL rules (type and value are defaulted).
fn path_match(cx: &mut Cx, path: &Path, p: &HttpPathMatch) {
    cx.opt_str(
        &path.f("type"),
        p.type_.as_deref(),
        &limits::PATH_MATCH_TYPE,
    );
    cx.opt_str(&path.f("value"), p.value.as_deref(), &limits::PATH_VALUE);
    let type_ = p.type_.as_deref().unwrap_or_default();
    let literal = matches!(type_, "Exact" | "PathPrefix");
    let value = p.value.as_deref().unwrap_or_default();
    let rules: [(bool, &str); 10] = [
        (
            value.starts_with('/'),
            "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']",
        ),
        (
            !value.contains("//"),
            "must not contain '//' when type one of ['Exact', 'PathPrefix']",
        ),
        (
            !value.contains("/./"),
            "must not contain '/./' when type one of ['Exact', 'PathPrefix']",
        ),
        (
            !value.contains("/../"),
            "must not contain '/../' when type one of ['Exact', 'PathPrefix']",
        ),
        (
            !value.contains("%2f"),
            "must not contain '%2f' when type one of ['Exact', 'PathPrefix']",
        ),
        (
            !value.contains("%2F"),
            "must not contain '%2F' when type one of ['Exact', 'PathPrefix']",
        ),
        (
            !value.contains('#'),
            "must not contain '#' when type one of ['Exact', 'PathPrefix']",
        ),
        (
            !value.ends_with("/.."),
            "must not end with '/..' when type one of ['Exact', 'PathPrefix']",
        ),
        (
            !value.ends_with("/."),
            "must not end with '/.' when type one of ['Exact', 'PathPrefix']",
        ),
        (
            matches(limits::PATH_CHARS_PATTERN, value),
            "must only contain valid characters (matching ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', 'PathPrefix']",
        ),
    ];
    for (ok, message) in rules {
        cx.rule(path, !literal || ok, message);
    }
    cx.rule(
        path,
        literal || type_ == "RegularExpression",
        "type must be one of ['Exact', 'PathPrefix', 'RegularExpression']",
    );
}

/// A list of filters (of a rule or of a backend) and its CEL rules.
fn filters(cx: &mut Cx, path: &Path, filters: &[HttpRouteFilter]) {
    cx.count(path, filters.len(), &limits::FILTERS);
    let types = filters.iter().map(|f| f.type_.as_str());
    cx.rule(
        path,
        !(types.clone().any(|t| t == "RequestRedirect") && types.clone().any(|t| t == "URLRewrite")),
        "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both",
    );
    not_repeated(cx, path, types.clone(), &HEADER_MODIFIERS_NOT_REPEATED);
    not_repeated(
        cx,
        path,
        types,
        &[
            ("CORS", "CORS filter cannot be repeated"),
            (
                "RequestRedirect",
                "RequestRedirect filter cannot be repeated",
            ),
            ("URLRewrite", "URLRewrite filter cannot be repeated"),
        ],
    );
    for (k, f) in filters.iter().enumerate() {
        filter(cx, &path.i(k), f);
    }
}

fn filter(cx: &mut Cx, path: &Path, f: &HttpRouteFilter) {
    let experimental = cx.experimental();
    let type_limits = if experimental {
        &limits::HTTP_FILTER_TYPE
    } else {
        &limits::HTTP_FILTER_TYPE_STANDARD
    };
    cx.str(&path.f("type"), &f.type_, type_limits);
    let mut fields = vec![
        (&CORS, f.cors.is_some()),
        (
            &REQUEST_HEADER_MODIFIER,
            f.request_header_modifier.is_some(),
        ),
        (
            &RESPONSE_HEADER_MODIFIER,
            f.response_header_modifier.is_some(),
        ),
        (&REQUEST_MIRROR, f.request_mirror.is_some()),
        (&REQUEST_REDIRECT, f.request_redirect.is_some()),
        (&URL_REWRITE, f.url_rewrite.is_some()),
        (&EXTENSION_REF, f.extension_ref.is_some()),
    ];
    if experimental {
        fields.push((&EXTERNAL_AUTH, f.external_auth.is_some()));
    }
    filter_fields(cx, path, &f.type_, &fields);
    shared_filter_parts(
        cx,
        path,
        f.request_header_modifier.as_ref(),
        f.response_header_modifier.as_ref(),
        f.request_mirror.as_ref(),
        f.extension_ref.as_ref(),
    );
    if let Some(r) = &f.request_redirect {
        let p = path.f("requestRedirect");
        cx.opt_str(
            &p.f("scheme"),
            r.scheme.as_deref(),
            &limits::REDIRECT_SCHEME,
        );
        cx.opt_str(
            &p.f("hostname"),
            r.hostname.as_deref(),
            &limits::PRECISE_HOSTNAME,
        );
        if let Some(m) = &r.path {
            path_modifier(cx, &p.f("path"), m);
        }
        cx.opt_int(&p.f("port"), r.port, &limits::PORT);
        cx.opt_int(
            &p.f("statusCode"),
            r.status_code,
            &limits::REDIRECT_STATUS_CODE,
        );
    }
    if let Some(r) = &f.url_rewrite {
        let p = path.f("urlRewrite");
        cx.opt_str(
            &p.f("hostname"),
            r.hostname.as_deref(),
            &limits::PRECISE_HOSTNAME,
        );
        if let Some(m) = &r.path {
            path_modifier(cx, &p.f("path"), m);
        }
    }
    if let Some(c) = &f.cors {
        cors(cx, &path.f("cors"), c);
    }
    if let Some(a) = f.external_auth.as_ref().filter(|_| experimental) {
        external_auth(cx, &path.f("externalAuth"), a);
    }
}

fn path_modifier(cx: &mut Cx, path: &Path, m: &HttpPathModifier) {
    cx.str(&path.f("type"), &m.type_, &limits::PATH_MODIFIER_TYPE);
    cx.opt_str(
        &path.f("replaceFullPath"),
        m.replace_full_path.as_deref(),
        &limits::REPLACE_PATH,
    );
    cx.opt_str(
        &path.f("replacePrefixMatch"),
        m.replace_prefix_match.as_deref(),
        &limits::REPLACE_PATH,
    );
    let full = m.type_ == "ReplaceFullPath";
    let prefix = m.type_ == "ReplacePrefixMatch";
    let rules = [
        (
            !full || m.replace_full_path.is_some(),
            "replaceFullPath must be specified when type is set to 'ReplaceFullPath'",
        ),
        (
            m.replace_full_path.is_none() || full,
            "type must be 'ReplaceFullPath' when replaceFullPath is set",
        ),
        (
            !prefix || m.replace_prefix_match.is_some(),
            "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'",
        ),
        (
            m.replace_prefix_match.is_none() || prefix,
            "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set",
        ),
    ];
    for (ok, message) in rules {
        cx.rule(path, ok, message);
    }
}

fn cors(cx: &mut Cx, path: &Path, c: &HttpCorsFilter) {
    // !('*' in self && self.size() > 1)
    let star_alone = |l: &[String]| !(l.iter().any(|v| v == "*") && l.len() > 1);
    if let Some(o) = &c.allow_origins {
        let p = path.f("allowOrigins");
        cx.strings(&p, o, &limits::CORS_ORIGINS, true);
        cx.rule(
            &p,
            star_alone(o),
            "AllowOrigins cannot contain '*' alongside other origins",
        );
    }
    if let Some(m) = &c.allow_methods {
        let p = path.f("allowMethods");
        cx.strings(&p, m, &limits::CORS_METHODS, true);
        cx.rule(
            &p,
            star_alone(m),
            "AllowMethods cannot contain '*' alongside other methods",
        );
    }
    if let Some(h) = &c.allow_headers {
        let p = path.f("allowHeaders");
        cx.strings(&p, h, &limits::CORS_HEADERS, true);
        cx.rule(
            &p,
            star_alone(h),
            "AllowHeaders cannot contain '*' alongside other methods",
        );
    }
    if let Some(h) = &c.expose_headers {
        cx.strings(&path.f("exposeHeaders"), h, &limits::CORS_HEADERS, true);
    }
    cx.opt_int(&path.f("maxAge"), c.max_age, &limits::MAX_AGE);
}

fn external_auth(cx: &mut Cx, path: &Path, a: &HttpExternalAuthFilter) {
    cx.str(&path.f("protocol"), &a.protocol, &limits::AUTH_PROTOCOL);
    backend_ref(cx, &path.f("backendRef"), &a.backend_ref);
    if let Some(g) = &a.grpc {
        if let Some(h) = &g.allowed_headers {
            cx.strings(
                &path.f("grpc").f("allowedHeaders"),
                h,
                &limits::AUTH_HEADERS,
                true,
            );
        }
    }
    if let Some(http) = &a.http {
        let p = path.f("http");
        cx.opt_str(&p.f("path"), http.path.as_deref(), &limits::AUTH_PATH);
        if let Some(h) = &http.allowed_headers {
            cx.strings(&p.f("allowedHeaders"), h, &limits::AUTH_HEADERS, true);
        }
        if let Some(h) = &http.allowed_response_headers {
            cx.strings(
                &p.f("allowedResponseHeaders"),
                h,
                &limits::AUTH_HEADERS,
                true,
            );
        }
    }
    let grpc = a.protocol == "GRPC";
    let http = a.protocol == "HTTP";
    let rules = [
        (
            !grpc || a.grpc.is_some(),
            "grpc must be specified when protocol is set to 'GRPC'",
        ),
        (
            a.grpc.is_none() || grpc,
            "protocol must be 'GRPC' when grpc is set",
        ),
        (
            !http || a.http.is_some(),
            "http must be specified when protocol is set to 'HTTP'",
        ),
        (
            a.http.is_none() || http,
            "protocol must be 'HTTP' when http is set",
        ),
    ];
    for (ok, message) in rules {
        cx.rule(path, ok, message);
    }
}

fn timeouts(cx: &mut Cx, path: &Path, t: &HttpRouteTimeouts) {
    cx.opt_str(&path.f("request"), t.request.as_deref(), &limits::DURATION);
    cx.opt_str(
        &path.f("backendRequest"),
        t.backend_request.as_deref(),
        &limits::DURATION,
    );
    // !(has(request) && has(backendRequest) && duration(request) != duration('0s') &&
    //   duration(backendRequest) > duration(request)): CEL's `&&` is false as soon as one
    // operand is false, even when another fails to evaluate (an unparsable duration).
    let ok = match (t.request.as_deref(), t.backend_request.as_deref()) {
        (Some(r), Some(b)) => {
            let (r, b) = (parse_duration(r), parse_duration(b));
            let enabled = r.map(|r| r != 0);
            let longer = r.zip(b).map(|(r, b)| b > r);
            enabled == Some(false) || longer == Some(false)
        }
        _ => true,
    };
    cx.rule(
        path,
        ok,
        "backendRequest timeout cannot be longer than request timeout",
    );
}
