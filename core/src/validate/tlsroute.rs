//! TLSRoute: SNI hostnames and one rule of backends.

use std::net::Ipv4Addr;

use super::common::{matches, Cx, Path};
use super::l4route::{l4_rules, route_spec_common};
use crate::model::limits;
use crate::model::*;

/// The CEL pattern of a TLSRoute hostname without wildcard.
pub(crate) const RFC1123_PATTERN: &str =
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$";

/// `TLSRoute.spec`.
pub(crate) fn spec(cx: &mut Cx, s: &TlsRouteSpec) {
    let spec = Path::root("spec");
    route_spec_common(
        cx,
        &spec,
        s.parent_refs.as_deref(),
        s.use_default_gateways.as_deref(),
    );
    let hp = spec.f("hostnames");
    cx.strings(&hp, &s.hostnames, &limits::TLS_HOSTNAMES, false);
    // isIP(h): only dotted IPv4 addresses can pass the hostname pattern, and CEL's isIP
    // accepts no other form of them.
    cx.rule(
        &hp,
        s.hostnames.iter().all(|h| h.parse::<Ipv4Addr>().is_err()),
        "Hostnames cannot contain an IP",
    );
    cx.rule(
        &hp,
        s.hostnames
            .iter()
            .all(|h| h.contains('*') || matches(RFC1123_PATTERN, h)),
        "Hostnames must be valid based on RFC-1123",
    );
    cx.rule(
        &hp,
        s.hostnames.iter().all(|h| {
            !h.contains('*')
                || h.strip_prefix("*.")
                    .is_some_and(|rest| matches(RFC1123_PATTERN, rest))
        }),
        "Wildcards on hostnames must be the first label, and the rest of hostname must be valid based on RFC-1123",
    );
    l4_rules(cx, &spec.f("rules"), &s.rules);
}
