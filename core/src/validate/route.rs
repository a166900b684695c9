//! What the route kinds share: parentRefs and their uniqueness rules, hostnames, rule names,
//! header matches and modifiers, request mirrors and session persistence.

use std::sync::Arc;

use super::common::{backend_ref, local_ref, parent_ref, Cx, Path};
use crate::model::limits::{self, Limits};
use crate::model::*;

/// `spec.parentRefs`: limits of each reference and the channel's uniqueness rules.
pub(crate) fn parent_refs(cx: &mut Cx, path: &Path, refs: Option<&[Arc<ParentReference>]>) {
    let Some(refs) = refs else { return };
    cx.count(path, refs.len(), &limits::PARENT_REFS);
    for (i, p) in refs.iter().enumerate() {
        parent_ref(cx, &path.i(i), p);
    }
    // The rules compare group and kind without has(): both are defaulted.
    let same_parent = |p1: &ParentReference, p2: &ParentReference| {
        let no_ns = |p: &ParentReference| p.namespace.as_deref().is_none_or(str::is_empty);
        p1.group == p2.group
            && p1.kind == p2.kind
            && p1.name == p2.name
            && ((no_ns(p1) && no_ns(p2))
                || (p1.namespace.is_some()
                    && p2.namespace.is_some()
                    && p1.namespace == p2.namespace))
    };
    let no_section = |p: &ParentReference| p.section_name.as_deref().is_none_or(str::is_empty);
    let same_section = |p1: &ParentReference, p2: &ParentReference| {
        (no_section(p1) && no_section(p2))
            || (p1.section_name.is_some()
                && p2.section_name.is_some()
                && p1.section_name == p2.section_name)
    };
    let no_port = |p: &ParentReference| p.port.is_none_or(|port| port == 0);
    let same_port = |p1: &ParentReference, p2: &ParentReference| {
        (no_port(p1) && no_port(p2))
            || (p1.port.is_some() && p2.port.is_some() && p1.port == p2.port)
    };
    if cx.experimental() {
        let specified = refs.iter().all(|p1| {
            refs.iter().all(|p2| {
                !same_parent(p1, p2)
                    || (no_section(p1) == no_section(p2) && no_port(p1) == no_port(p2))
            })
        });
        cx.rule(
            path,
            specified,
            "sectionName or port must be specified when parentRefs includes 2 or more references to the same parent",
        );
        let unique = refs.iter().all(|p1| {
            exists_one(refs, |p2| {
                same_parent(p1, p2) && same_section(p1, p2) && same_port(p1, p2)
            })
        });
        cx.rule(
            path,
            unique,
            "sectionName or port must be unique when parentRefs includes 2 or more references to the same parent",
        );
    } else {
        let specified = refs.iter().all(|p1| {
            refs.iter()
                .all(|p2| !same_parent(p1, p2) || no_section(p1) == no_section(p2))
        });
        cx.rule(
            path,
            specified,
            "sectionName must be specified when parentRefs includes 2 or more references to the same parent",
        );
        let unique = refs
            .iter()
            .all(|p1| exists_one(refs, |p2| same_parent(p1, p2) && same_section(p1, p2)));
        cx.rule(
            path,
            unique,
            "sectionName must be unique when parentRefs includes 2 or more references to the same parent",
        );
    }
}

/// CEL's `exists_one`: exactly one item satisfies `f`.
pub(crate) fn exists_one<T>(items: &[T], f: impl Fn(&T) -> bool) -> bool {
    items.iter().filter(|x| f(x)).count() == 1
}

/// `spec.hostnames` of HTTPRoute and GRPCRoute.
pub(crate) fn hostnames(cx: &mut Cx, path: &Path, hostnames: Option<&[String]>, l: &Limits) {
    if let Some(h) = hostnames {
        cx.strings(path, h, l, false);
    }
}

/// `spec.useDefaultGateways` (experimental channel only).
pub(crate) fn use_default_gateways(cx: &mut Cx, path: &Path, value: Option<&str>) {
    if cx.experimental() {
        cx.opt_str(path, value, &limits::SCOPE);
    }
}

/// Rule names: limits of each, and (experimental channel) uniqueness within the route.
pub(crate) fn rule_names<'a>(
    cx: &mut Cx,
    path: &Path,
    names: impl Iterator<Item = Option<&'a str>> + Clone,
) {
    for (i, n) in names.clone().enumerate() {
        cx.opt_str(&path.i(i).f("name"), n, &limits::SECTION_NAME);
    }
    if cx.experimental() {
        let all: Vec<Option<&str>> = names.collect();
        let unique = all
            .iter()
            .all(|l1| l1.is_none() || exists_one(&all, |l2| l2.is_some() && l1 == l2));
        cx.rule(path, unique, "Rule name must be unique within the route");
    }
}

/// The total-matches rule of `spec.rules` (the CEL expression only looks at 16 rules).
pub(crate) fn total_matches(cx: &mut Cx, path: &Path, counts: impl Iterator<Item = Option<usize>>) {
    // An absent `matches` makes the HTTPRoute rule fail at run time (HTTPRoute defaults it;
    // GRPCRoute guards with has(), and its caller passes Some(0)).
    let mut total = 0usize;
    let mut ok = true;
    for c in counts.take(16) {
        match c {
            Some(c) => total += c,
            None => ok = false,
        }
    }
    cx.rule(
        path,
        ok && total <= 128,
        "While 16 rules and 64 matches per rule are allowed, the total number of matches across all rules in a route must be less than 128",
    );
}

/// Header matches of an HTTP or gRPC match (a `map` list keyed by `name`).
pub(crate) fn header_matches(
    cx: &mut Cx,
    path: &Path,
    headers: Option<&[HttpHeaderMatch]>,
    value: &Limits,
) {
    let Some(headers) = headers else { return };
    cx.count(path, headers.len(), &limits::HEADER_LIST);
    cx.unique_keys(path, "name", headers.iter().map(|h| h.name.as_str()));
    for (i, h) in headers.iter().enumerate() {
        let p = path.i(i);
        cx.opt_str(&p.f("type"), h.type_.as_deref(), &limits::MATCH_TYPE);
        cx.str(&p.f("name"), &h.name, &limits::HEADER_NAME);
        cx.str(&p.f("value"), &h.value, value);
    }
}

/// The header value limits of the channel (the pattern is experimental-only).
pub(crate) fn header_value(cx: &Cx) -> &'static Limits {
    if cx.experimental() {
        &limits::HEADER_VALUE
    } else {
        &limits::HEADER_VALUE_STANDARD
    }
}

/// A request or response header modifier.
pub(crate) fn header_filter(cx: &mut Cx, path: &Path, f: &HttpHeaderFilter) {
    let value = header_value(cx);
    for (name, list) in [("set", &f.set), ("add", &f.add)] {
        let Some(list) = list else { continue };
        let lp = path.f(name);
        cx.count(&lp, list.len(), &limits::HEADER_LIST);
        cx.unique_keys(&lp, "name", list.iter().map(|h| h.name.as_str()));
        for (i, h) in list.iter().enumerate() {
            cx.str(&lp.i(i).f("name"), &h.name, &limits::HEADER_NAME);
            cx.str(&lp.i(i).f("value"), &h.value, value);
        }
    }
    if let Some(remove) = &f.remove {
        cx.strings(&path.f("remove"), remove, &limits::HEADER_REMOVE, true);
    }
}

/// A request mirror: its backend, and percent or fraction.
pub(crate) fn mirror(cx: &mut Cx, path: &Path, m: &HttpRequestMirrorFilter) {
    backend_ref(cx, &path.f("backendRef"), &m.backend_ref);
    cx.opt_int(&path.f("percent"), m.percent, &limits::PERCENT);
    if let Some(f) = &m.fraction {
        let fp = path.f("fraction");
        cx.int(&fp.f("numerator"), f.numerator.into(), &limits::NUMERATOR);
        cx.opt_int(&fp.f("denominator"), f.denominator, &limits::DENOMINATOR);
        // self.numerator <= self.denominator (denominator is defaulted to 100).
        let ok = f.denominator.is_some_and(|d| f.numerator <= d);
        cx.rule(
            &fp,
            ok,
            "numerator must be less than or equal to denominator",
        );
    }
    cx.rule(
        path,
        !(m.percent.is_some() && m.fraction.is_some()),
        "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter",
    );
}

/// Session persistence (experimental channel only).
pub(crate) fn session_persistence(cx: &mut Cx, path: &Path, s: Option<&SessionPersistence>) {
    let Some(s) = s.filter(|_| cx.experimental()) else {
        return;
    };
    cx.opt_str(
        &path.f("sessionName"),
        s.session_name.as_deref(),
        &limits::SESSION_NAME,
    );
    cx.opt_str(
        &path.f("absoluteTimeout"),
        s.absolute_timeout.as_deref(),
        &limits::DURATION,
    );
    cx.opt_str(&path.f("type"), s.type_.as_deref(), &limits::SESSION_TYPE);
    let lifetime = s
        .cookie_config
        .as_ref()
        .and_then(|c| c.lifetime_type.as_deref());
    cx.opt_str(
        &path.f("cookieConfig").f("lifetimeType"),
        lifetime,
        &limits::COOKIE_LIFETIME,
    );
    cx.rule(
        path,
        lifetime != Some("Permanent") || s.absolute_timeout.is_some(),
        "AbsoluteTimeout must be specified when cookie lifetimeType is Permanent",
    );
    // self.type is defaulted to Cookie.
    cx.rule(
        path,
        s.cookie_config.is_none() || s.type_.as_deref() == Some("Cookie"),
        "cookieConfig can only be set with type Cookie",
    );
}

/// A filter field and the filter type that requires it, with the CRD's two messages.
pub(crate) struct FilterKind {
    /// The filter type that requires the field.
    type_: &'static str,
    /// "filter.x must be nil if the filter.type is not X".
    nil_message: &'static str,
    /// "filter.x must be specified for X filter.type".
    required_message: &'static str,
}

/// `cors`.
pub(crate) const CORS: FilterKind = FilterKind {
    type_: "CORS",
    nil_message: "filter.cors must be nil if the filter.type is not CORS",
    required_message: "filter.cors must be specified for CORS filter.type",
};
/// `requestHeaderModifier`.
pub(crate) const REQUEST_HEADER_MODIFIER: FilterKind = FilterKind {
    type_: "RequestHeaderModifier",
    nil_message:
        "filter.requestHeaderModifier must be nil if the filter.type is not RequestHeaderModifier",
    required_message:
        "filter.requestHeaderModifier must be specified for RequestHeaderModifier filter.type",
};
/// `responseHeaderModifier`.
pub(crate) const RESPONSE_HEADER_MODIFIER: FilterKind = FilterKind {
    type_: "ResponseHeaderModifier",
    nil_message:
        "filter.responseHeaderModifier must be nil if the filter.type is not ResponseHeaderModifier",
    required_message:
        "filter.responseHeaderModifier must be specified for ResponseHeaderModifier filter.type",
};
/// `requestMirror`.
pub(crate) const REQUEST_MIRROR: FilterKind = FilterKind {
    type_: "RequestMirror",
    nil_message: "filter.requestMirror must be nil if the filter.type is not RequestMirror",
    required_message: "filter.requestMirror must be specified for RequestMirror filter.type",
};
/// `requestRedirect`.
pub(crate) const REQUEST_REDIRECT: FilterKind = FilterKind {
    type_: "RequestRedirect",
    nil_message: "filter.requestRedirect must be nil if the filter.type is not RequestRedirect",
    required_message: "filter.requestRedirect must be specified for RequestRedirect filter.type",
};
/// `urlRewrite`.
pub(crate) const URL_REWRITE: FilterKind = FilterKind {
    type_: "URLRewrite",
    nil_message: "filter.urlRewrite must be nil if the filter.type is not URLRewrite",
    required_message: "filter.urlRewrite must be specified for URLRewrite filter.type",
};
/// `extensionRef`.
pub(crate) const EXTENSION_REF: FilterKind = FilterKind {
    type_: "ExtensionRef",
    nil_message: "filter.extensionRef must be nil if the filter.type is not ExtensionRef",
    required_message: "filter.extensionRef must be specified for ExtensionRef filter.type",
};
/// `externalAuth` (experimental channel only).
pub(crate) const EXTERNAL_AUTH: FilterKind = FilterKind {
    type_: "ExternalAuth",
    nil_message: "filter.externalAuth must be nil if the filter.type is not ExternalAuth",
    required_message: "filter.externalAuth must be specified for ExternalAuth filter.type",
};

/// The filter-type consistency rules: each filter field is set exactly when `type` names it.
pub(crate) fn filter_fields(cx: &mut Cx, path: &Path, type_: &str, fields: &[(&FilterKind, bool)]) {
    for (kind, present) in fields {
        cx.rule(path, !(*present && type_ != kind.type_), kind.nil_message);
        cx.rule(path, *present || type_ != kind.type_, kind.required_message);
    }
}

/// The "cannot be repeated" rules HTTPRoute and GRPCRoute filter lists share.
pub(crate) const HEADER_MODIFIERS_NOT_REPEATED: [(&str, &str); 2] = [
    (
        "RequestHeaderModifier",
        "RequestHeaderModifier filter cannot be repeated",
    ),
    (
        "ResponseHeaderModifier",
        "ResponseHeaderModifier filter cannot be repeated",
    ),
];

/// The filter parts HTTPRoute and GRPCRoute share: header modifiers, mirror, extension ref.
pub(crate) fn shared_filter_parts(
    cx: &mut Cx,
    path: &Path,
    request_headers: Option<&HttpHeaderFilter>,
    response_headers: Option<&HttpHeaderFilter>,
    request_mirror: Option<&HttpRequestMirrorFilter>,
    extension_ref: Option<&LocalObjectReference>,
) {
    if let Some(h) = request_headers {
        header_filter(cx, &path.f("requestHeaderModifier"), h);
    }
    if let Some(h) = response_headers {
        header_filter(cx, &path.f("responseHeaderModifier"), h);
    }
    if let Some(m) = request_mirror {
        mirror(cx, &path.f("requestMirror"), m);
    }
    if let Some(r) = extension_ref {
        local_ref(cx, &path.f("extensionRef"), r);
    }
}

/// A list of weighted backend references; `filters` checks a backend's own filters.
pub(crate) fn backend_refs<B>(
    cx: &mut Cx,
    path: &Path,
    refs: &[B],
    l: &Limits,
    parts: impl Fn(&B) -> (&BackendObjectReference, Option<i32>),
    mut filters: impl FnMut(&mut Cx, &Path, &B),
) {
    cx.count(path, refs.len(), l);
    for (k, b) in refs.iter().enumerate() {
        let p = path.i(k);
        let (backend, weight) = parts(b);
        backend_ref(cx, &p, backend);
        cx.opt_int(&p.f("weight"), weight, &limits::WEIGHT);
        filters(cx, &p, b);
    }
}

/// The "filter cannot be repeated" rules of a filter list.
pub(crate) fn not_repeated<'a>(
    cx: &mut Cx,
    path: &Path,
    types: impl Iterator<Item = &'a str> + Clone,
    rules: &[(&str, &str)],
) {
    for (t, message) in rules {
        let n = types.clone().filter(|x| x == t).count();
        cx.rule(path, n <= 1, message);
    }
}
