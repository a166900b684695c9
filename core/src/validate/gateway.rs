//! Gateway: addresses, listeners (shared with ListenerSet), infrastructure, TLS, status.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::common::{cel_or, conditions, local_ref, matches, object_ref, secret_ref, Cx, Path};
use super::route::exists_one;
use crate::model::limits;
use crate::model::*;

/// The CEL pattern of infrastructure label and annotation keys.
pub(crate) const METADATA_KEY_PATTERN: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$";

/// `Gateway.spec`.
pub(crate) fn spec(cx: &mut Cx, s: &GatewaySpec) {
    let spec = Path::root("spec");
    cx.str(
        &spec.f("gatewayClassName"),
        &s.gateway_class_name,
        &limits::OBJECT_NAME,
    );
    if let Some(addresses) = &s.addresses {
        spec_addresses(cx, &spec.f("addresses"), addresses);
    }
    listeners(cx, &spec.f("listeners"), &s.listeners);
    if let Some(infra) = &s.infrastructure {
        infrastructure(cx, &spec.f("infrastructure"), infra);
    }
    if let Some(from) = s
        .allowed_listeners
        .as_ref()
        .and_then(|a| a.namespaces.as_ref())
        .and_then(|n| n.from.as_deref())
    {
        cx.str(
            &spec.f("allowedListeners").f("namespaces").f("from"),
            from,
            &limits::FROM_LISTENER_NAMESPACES,
        );
    }
    if let Some(tls) = &s.tls {
        gateway_tls(cx, &spec.f("tls"), tls);
    }
    if cx.experimental() {
        cx.opt_str(
            &spec.f("defaultScope"),
            s.default_scope.as_deref(),
            &limits::SCOPE,
        );
    }
}

/// Whether a value passes OpenAPI's `format: ipv4` / `format: ipv6`.
fn is_ip(value: &str, v4: bool) -> bool {
    value.parse::<IpAddr>().is_ok() && value.contains(if v4 { '.' } else { ':' })
}

/// The `oneOf` of an address item: an `IPAddress` value must be an IPv4 or IPv6 address.
fn ip_address_format(cx: &mut Cx, path: &Path, type_: &str, value: &str) {
    if type_ == "IPAddress" && !is_ip(value, true) && !is_ip(value, false) {
        let p = path.f("value");
        let body = cx.body(&p);
        for format in ["ipv4", "ipv6"] {
            cx.error(
                &p,
                format!(
                    "Invalid value: {value:?}: {body} in body must be of type {format}: {value:?}"
                ),
            );
        }
    }
}

fn spec_addresses(cx: &mut Cx, path: &Path, addresses: &[GatewaySpecAddress]) {
    cx.count(path, addresses.len(), &limits::ADDRESSES);
    for (i, a) in addresses.iter().enumerate() {
        let p = path.i(i);
        cx.opt_str(&p.f("type"), a.type_.as_deref(), &limits::ADDRESS_TYPE);
        cx.opt_str(&p.f("value"), a.value.as_deref(), &limits::ADDRESS_VALUE);
        let type_ = a.type_.as_deref().unwrap_or("IPAddress");
        if let Some(v) = &a.value {
            ip_address_format(cx, &p, type_, v);
        }
        let ok = type_ != "Hostname"
            || a.value
                .as_deref()
                .is_none_or(|v| matches(limits::WILDCARD_HOSTNAME_PATTERN, v));
        cx.rule(
            &p,
            ok,
            r"Hostname value must be empty or contain only valid characters (matching ^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)",
        );
    }
    // self.all(a1, a1.type == T && has(a1.value) ? self.exists_one(a2, a2.type == a1.type
    //   && has(a2.value) && a2.value == a1.value) : true)
    for (t, message) in [
        ("IPAddress", "IPAddress values must be unique"),
        ("Hostname", "Hostname values must be unique"),
    ] {
        let ok = addresses.iter().all(|a1| {
            !(a1.type_.as_deref() == Some(t) && a1.value.is_some())
                || exists_one(addresses, |a2| {
                    a2.type_ == a1.type_ && a2.value.is_some() && a2.value == a1.value
                })
        });
        cx.rule(path, ok, message);
    }
}

/// The listeners of a Gateway or ListenerSet.
pub(crate) fn listeners(cx: &mut Cx, path: &Path, listeners: &[Listener]) {
    cx.count(path, listeners.len(), &limits::LISTENERS);
    cx.unique_keys(path, "name", listeners.iter().map(|l| l.name.as_str()));
    for (i, l) in listeners.iter().enumerate() {
        listener(cx, &path.i(i), l);
    }
    fn tls_mode(l: &Listener) -> Option<&str> {
        l.tls.as_ref().and_then(|t| t.mode.as_deref())
    }
    let rules: [(bool, &str); 6] = [
        (
            listeners
                .iter()
                .all(|l| !matches!(l.protocol.as_str(), "HTTP" | "TCP" | "UDP") || l.tls.is_none()),
            "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']",
        ),
        (
            // l.tls.mode is defaulted; an absent mode fails at run time.
            listeners.iter().all(|l| {
                !(l.protocol == "HTTPS" && l.tls.is_some())
                    || matches!(tls_mode(l), Some("" | "Terminate"))
            }),
            "tls mode must be Terminate for protocol HTTPS",
        ),
        (
            listeners
                .iter()
                .all(|l| l.protocol != "TLS" || tls_mode(l).is_some_and(|m| !m.is_empty())),
            "tls mode must be set for protocol TLS",
        ),
        (
            listeners.iter().all(|l| {
                !matches!(l.protocol.as_str(), "TCP" | "UDP")
                    || l.hostname.as_deref().is_none_or(str::is_empty)
            }),
            "hostname must not be specified for protocols ['TCP', 'UDP']",
        ),
        (
            listeners
                .iter()
                .all(|l1| exists_one(listeners, |l2| l1.name == l2.name)),
            "Listener name must be unique within the Gateway",
        ),
        (
            listeners.iter().all(|l1| {
                exists_one(listeners, |l2| {
                    l1.port == l2.port
                        && l1.protocol == l2.protocol
                        && match (&l1.hostname, &l2.hostname) {
                            (Some(h1), Some(h2)) => h1 == h2,
                            (h1, h2) => h1.is_none() && h2.is_none(),
                        }
                })
            }),
            "Combination of port, protocol and hostname must be unique for each listener",
        ),
    ];
    for (ok, message) in rules {
        cx.rule(path, ok, message);
    }
}

fn listener(cx: &mut Cx, path: &Path, l: &Listener) {
    cx.str(&path.f("name"), &l.name, &limits::SECTION_NAME);
    cx.opt_str(
        &path.f("hostname"),
        l.hostname.as_deref(),
        &limits::HOSTNAME,
    );
    cx.int(&path.f("port"), l.port.into(), &limits::PORT);
    cx.str(&path.f("protocol"), &l.protocol, &limits::PROTOCOL);
    if let Some(tls) = &l.tls {
        let p = path.f("tls");
        cx.opt_str(&p.f("mode"), tls.mode.as_deref(), &limits::TLS_MODE);
        if let Some(refs) = &tls.certificate_refs {
            let rp = p.f("certificateRefs");
            cx.count(&rp, refs.len(), &limits::CERTIFICATE_REFS);
            for (i, r) in refs.iter().enumerate() {
                secret_ref(cx, &rp.i(i), r);
            }
        }
        if let Some(options) = &tls.options {
            cx.map(&p.f("options"), options, &limits::OPTIONS);
        }
        // self.mode == 'Terminate' ? size(self.certificateRefs) > 0 || size(self.options) > 0
        // : true. An absent list fails at run time unless the other side of `||` is true.
        let result = match tls.mode.as_deref() {
            Some("Terminate") => cel_or(
                tls.certificate_refs
                    .as_ref()
                    .map(|c| !c.is_empty())
                    .ok_or("certificateRefs"),
                tls.options.as_ref().map(|o| !o.is_empty()).ok_or("options"),
            ),
            Some(_) => Ok(true),
            None => Err("mode"),
        };
        cx.rule_eval(
            &p,
            result,
            "certificateRefs or options must be specified when mode is Terminate",
        );
    }
    if let Some(ar) = &l.allowed_routes {
        let p = path.f("allowedRoutes");
        if let Some(kinds) = &ar.kinds {
            let kp = p.f("kinds");
            cx.count(&kp, kinds.len(), &limits::ROUTE_KINDS);
            for (i, k) in kinds.iter().enumerate() {
                route_group_kind(cx, &kp.i(i), k);
            }
        }
        if let Some(from) = ar.namespaces.as_ref().and_then(|n| n.from.as_deref()) {
            cx.str(&p.f("namespaces").f("from"), from, &limits::FROM_NAMESPACES);
        }
    }
}

fn route_group_kind(cx: &mut Cx, path: &Path, k: &RouteGroupKind) {
    cx.opt_str(&path.f("group"), k.group.as_deref(), &limits::GROUP);
    cx.str(&path.f("kind"), &k.kind, &limits::KIND);
}

fn infrastructure(cx: &mut Cx, path: &Path, infra: &GatewayInfrastructure) {
    if let Some(labels) = &infra.labels {
        let p = path.f("labels");
        cx.map(&p, labels, &limits::LABELS);
        metadata_keys(
            cx,
            &p,
            labels,
            "Label keys must be in the form of an optional DNS subdomain prefix followed by a required name segment of up to 63 characters.",
            "If specified, the label key's prefix must be a DNS subdomain not longer than 253 characters in total.",
        );
    }
    if let Some(annotations) = &infra.annotations {
        let p = path.f("annotations");
        cx.map(&p, annotations, &limits::ANNOTATIONS);
        metadata_keys(
            cx,
            &p,
            annotations,
            "Annotation keys must be in the form of an optional DNS subdomain prefix followed by a required name segment of up to 63 characters.",
            "If specified, the annotation key's prefix must be a DNS subdomain not longer than 253 characters in total.",
        );
    }
    if let Some(r) = &infra.parameters_ref {
        local_ref(cx, &path.f("parametersRef"), r);
    }
}

/// The two CEL rules on infrastructure label and annotation keys.
fn metadata_keys(
    cx: &mut Cx,
    path: &Path,
    map: &BTreeMap<String, String>,
    form_message: &str,
    prefix_message: &str,
) {
    let form = map.keys().all(|k| matches(METADATA_KEY_PATTERN, k));
    cx.rule(path, form, form_message);
    // key.split("/")[0].size() < 253 (CEL sizes count code points).
    let prefix = map.keys().all(|k| {
        let first = k.split('/').next().unwrap_or_default();
        first.chars().count() < 253
    });
    cx.rule(path, prefix, prefix_message);
}

fn gateway_tls(cx: &mut Cx, path: &Path, tls: &GatewayTlsConfig) {
    if let Some(r) = tls
        .backend
        .as_ref()
        .and_then(|b| b.client_certificate_ref.as_ref())
    {
        secret_ref(cx, &path.f("backend").f("clientCertificateRef"), r);
    }
    let Some(frontend) = &tls.frontend else {
        return;
    };
    let fp = path.f("frontend");
    frontend_tls(cx, &fp.f("default"), &frontend.default);
    if let Some(per_port) = &frontend.per_port {
        let pp = fp.f("perPort");
        cx.count(&pp, per_port.len(), &limits::PER_PORT);
        cx.unique_int_keys(&pp, "port", per_port.iter().map(|p| i64::from(p.port)));
        for (i, p) in per_port.iter().enumerate() {
            cx.int(&pp.i(i).f("port"), p.port.into(), &limits::PORT);
            frontend_tls(cx, &pp.i(i).f("tls"), &p.tls);
        }
        let unique = per_port
            .iter()
            .all(|t1| exists_one(per_port, |t2| t1.port == t2.port));
        cx.rule(
            &pp,
            unique,
            "Port for TLS configuration must be unique within the Gateway",
        );
    }
}

fn frontend_tls(cx: &mut Cx, path: &Path, tls: &TlsConfig) {
    let Some(v) = &tls.validation else { return };
    let vp = path.f("validation");
    let rp = vp.f("caCertificateRefs");
    cx.count(&rp, v.ca_certificate_refs.len(), &limits::FRONTEND_CA_REFS);
    for (i, r) in v.ca_certificate_refs.iter().enumerate() {
        object_ref(cx, &rp.i(i), r);
    }
    cx.opt_str(
        &vp.f("mode"),
        v.mode.as_deref(),
        &limits::FRONTEND_VALIDATION_MODE,
    );
}

/// `Gateway.status`, as the status subresource validates it.
pub(crate) fn status(cx: &mut Cx, s: &GatewayStatus) {
    let status = Path::root("status");
    let ap = status.f("addresses");
    cx.count(&ap, s.addresses.len(), &limits::ADDRESSES);
    for (i, a) in s.addresses.iter().enumerate() {
        let p = ap.i(i);
        // `type` defaults to IPAddress.
        let type_ = a.type_.as_deref().unwrap_or("IPAddress");
        cx.str(&p.f("type"), type_, &limits::ADDRESS_TYPE);
        cx.str(&p.f("value"), &a.value, &limits::STATUS_ADDRESS_VALUE);
        ip_address_format(cx, &p, type_, &a.value);
        cx.rule(
            &p,
            type_ != "Hostname" || matches(limits::WILDCARD_HOSTNAME_PATTERN, &a.value),
            r"Hostname value must only contain valid characters (matching ^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)",
        );
    }
    conditions(
        cx,
        &status.f("conditions"),
        &s.conditions,
        &limits::CONDITIONS,
    );
    listener_statuses(cx, &status.f("listeners"), &s.listeners);
}

/// Per-listener status of a Gateway or ListenerSet.
pub(crate) fn listener_statuses(cx: &mut Cx, path: &Path, listeners: &[ListenerStatus]) {
    cx.count(path, listeners.len(), &limits::STATUS_LISTENERS);
    cx.unique_keys(path, "name", listeners.iter().map(|l| l.name.as_str()));
    for (i, l) in listeners.iter().enumerate() {
        let p = path.i(i);
        cx.str(&p.f("name"), &l.name, &limits::SECTION_NAME);
        let kp = p.f("supportedKinds");
        cx.count(&kp, l.supported_kinds.len(), &limits::ROUTE_KINDS);
        for (j, k) in l.supported_kinds.iter().enumerate() {
            route_group_kind(cx, &kp.i(j), k);
        }
        conditions(cx, &p.f("conditions"), &l.conditions, &limits::CONDITIONS);
    }
}
