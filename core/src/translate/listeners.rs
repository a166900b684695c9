//! Listeners of Gateways and ListenerSets: protocol support, allowed route kinds, TLS
//! certificates, and their status conditions.
//!
//! A listener goes through three steps, as in Envoy Gateway: its own spec is checked
//! ([`validate`]), conflicts with the other listeners of its Gateway are found
//! ([`super::conflicts`]), then its conditions are completed ([`finish`]). Where the spec
//! leaves the condition set open, we write the one Envoy Gateway writes: a Gateway listener
//! whose spec is invalid gets `Programmed: False` and no `Accepted` condition, unless the
//! problem is only its certificates, in which case it is `Accepted` but not programmed.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::certs;
use super::hostnames;
use super::ir::{ClientValidationIr, SecretIr};
use super::refgrant;
use crate::model::*;
use crate::snapshot::Snapshot;
use crate::status::conditions::{reasons, set_condition, types, ConditionBuilder};

/// Envoy Gateway's reason for a listener whose certificates are only partly valid.
pub const PARTIALLY_INVALID_CERTIFICATE_REF: &str = "PartiallyInvalidCertificateRef";
/// Envoy Gateway's reason for an HTTPS listener whose TLS mode is not Terminate.
pub const UNSUPPORTED_TLS_MODE: &str = "UnsupportedTLSMode";
/// The Secret type that holds a certificate and its key.
pub const TLS_SECRET_TYPE: &str = "kubernetes.io/tls";

/// A listener's protocol, once we know we support it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS, terminated here.
    Https,
    /// TLS, terminated or passed through by SNI.
    Tls,
    /// Raw TCP.
    Tcp,
    /// UDP datagrams.
    Udp,
}

impl Protocol {
    /// The protocol of a listener, None when unsupported.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "HTTP" => Protocol::Http,
            "HTTPS" => Protocol::Https,
            "TLS" => Protocol::Tls,
            "TCP" => Protocol::Tcp,
            "UDP" => Protocol::Udp,
            _ => return None,
        })
    }

    /// Route kinds a listener of this protocol accepts (Envoy Gateway's set and order).
    pub fn route_kinds(self, passthrough: bool) -> &'static [&'static str] {
        match self {
            Protocol::Http | Protocol::Https => &["HTTPRoute", "GRPCRoute"],
            Protocol::Tls if passthrough => &["TLSRoute"],
            Protocol::Tls => &["TCPRoute", "TLSRoute"],
            Protocol::Tcp => &["TCPRoute"],
            Protocol::Udp => &["UDPRoute"],
        }
    }

    /// The family listeners sharing a port must agree on: HTTPS and TLS share one (by SNI).
    pub fn family(self) -> &'static str {
        match self {
            Protocol::Http => "HTTP",
            Protocol::Https | Protocol::Tls => "HTTPS/TLS",
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }
}

/// Everything the translation knows about one listener of one Gateway.
#[derive(Debug, Clone)]
pub struct ListenerCtx {
    /// Listener name.
    pub name: String,
    /// The object declaring it (the Gateway, or a ListenerSet).
    pub owner: ObjectKey,
    /// `metadata.generation` of the owner, for `observedGeneration`.
    pub generation: Option<i64>,
    /// The port.
    pub port: i32,
    /// Supported protocol, None when unsupported.
    pub protocol: Option<Protocol>,
    /// Hostname filter.
    pub hostname: Option<String>,
    /// TLS passthrough.
    pub passthrough: bool,
    /// Certificates (names into the Gateway's secrets).
    pub secrets: Vec<String>,
    /// DNS names of the certificates' subjectAltNames.
    pub cert_dns_names: Vec<String>,
    /// Client certificate validation (`Gateway.spec.tls.frontend`), for HTTPS listeners.
    pub client_validation: Option<ClientValidationIr>,
    /// `ResolvedRefs` is False, but what did resolve is enough to serve (some certificates,
    /// some CA certificates).
    pub refs_usable: bool,
    /// Route namespaces policy.
    pub namespaces: RouteNamespaces,
    /// Route kinds accepted.
    pub supported_kinds: Vec<RouteGroupKind>,
    /// Conditions so far.
    pub conditions: Vec<Condition>,
    /// Whether its own spec is valid (only such listeners take part in conflict checks).
    pub spec_valid: bool,
    /// Whether routes may be programmed on it.
    pub ready: bool,
    /// Routes attached.
    pub attached: i32,
    /// The hostnames of the other ready listeners of its port and protocol that are strictly
    /// more specific than its own: the hosts they cover are theirs alone (listener isolation,
    /// misdirected requests). Found once per Gateway ([`find_narrower`]), since every route
    /// placed on the listener asks.
    pub narrower: Vec<String>,
}

/// The hostnames of the other ready listeners of listener `li`'s port with its protocol (`None`
/// for a listener without one): the listeners that share its route table (HTTP) or its port's
/// SNI selection (HTTPS), which hostname isolation and misdirected-request answers look at.
pub fn sibling_hostnames(listeners: &[ListenerCtx], li: usize) -> Vec<Option<&str>> {
    let l = &listeners[li];
    listeners
        .iter()
        .enumerate()
        .filter(|(i, o)| *i != li && o.ready && o.port == l.port && o.protocol == l.protocol)
        .map(|(_, o)| o.hostname.as_deref())
        .collect()
}

/// Fills [`ListenerCtx::narrower`] of every ready listener, once their readiness is final.
pub fn find_narrower(listeners: &mut [ListenerCtx]) {
    for li in 0..listeners.len() {
        let l = &listeners[li];
        // No hostname is more specific than an exact one: skip the search, which would make a
        // Gateway of many listeners on one port quadratic.
        if !l.ready || l.hostname.as_deref().is_some_and(|h| !h.starts_with('*')) {
            continue;
        }
        let own = l.hostname.as_deref();
        let narrower = hostnames::narrower(own, &sibling_hostnames(listeners, li));
        listeners[li].narrower = narrower;
    }
}

impl ListenerCtx {
    /// Whether a route kind may attach.
    pub fn allows_kind(&self, kind: &str) -> bool {
        self.supported_kinds
            .iter()
            .any(|k| k.kind == kind && k.group.as_deref().unwrap_or(GATEWAY_GROUP) == GATEWAY_GROUP)
    }

    /// Whether routes from a namespace may attach.
    pub fn allows_namespace(&self, snapshot: &Snapshot, route_ns: &str) -> bool {
        match self.namespaces.from.as_deref().unwrap_or("Same") {
            "All" => true,
            "Same" => route_ns == &*self.owner.namespace,
            "Selector" => {
                let labels = snapshot.namespace_labels(route_ns);
                self.namespaces
                    .selector
                    .as_ref()
                    .is_some_and(|s| s.matches(&labels))
            }
            _ => false,
        }
    }

    /// Whether a ListenerSet (not the Gateway itself) declares it.
    pub fn from_listener_set(&self) -> bool {
        self.owner.kind == Kind::ListenerSet
    }

    /// Sets a condition, replacing one of the same type.
    pub fn set(
        &mut self,
        time: &Arc<str>,
        type_: &'static str,
        status: bool,
        reason: impl Into<std::borrow::Cow<'static, str>>,
        message: impl Into<std::borrow::Cow<'static, str>>,
    ) {
        let cb = ConditionBuilder {
            generation: self.generation,
            time,
        };
        set_condition(
            &mut self.conditions,
            cb.make(type_, status, reason, message),
        );
    }

    /// A condition by type.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    /// Whether a conflict with another listener was found.
    pub fn conflicted(&self) -> bool {
        self.condition(types::CONFLICTED)
            .is_some_and(|c| c.status == "True")
    }

    /// Whether any condition so far says the listener's spec is unusable.
    pub(super) fn has_invalid_condition(&self) -> bool {
        self.conditions.iter().any(|c| {
            c.status == "False"
                && (c.type_ == types::PROGRAMMED
                    || c.type_ == types::ACCEPTED
                    || (c.type_ == types::RESOLVED_REFS && !self.refs_usable))
        })
    }
}

/// Checks one listener's own spec, resolving its certificates into `secrets`.
pub fn validate(
    snapshot: &Snapshot,
    owner: &ObjectKey,
    generation: Option<i64>,
    l: &Listener,
    time: &Arc<str>,
    secrets: &mut BTreeMap<String, SecretIr>,
) -> ListenerCtx {
    let protocol = Protocol::parse(&l.protocol);
    let tls = l.tls.as_ref();
    let mode = tls.and_then(|t| t.mode.as_deref());
    let passthrough = mode == Some("Passthrough");
    let mut ctx = ListenerCtx {
        name: l.name.clone(),
        owner: owner.clone(),
        generation,
        port: l.port,
        protocol,
        hostname: l.hostname.clone(),
        passthrough,
        secrets: Vec::new(),
        cert_dns_names: Vec::new(),
        client_validation: None,
        refs_usable: false,
        namespaces: l
            .allowed_routes
            .as_ref()
            .and_then(|a| a.namespaces.clone())
            .unwrap_or_default(),
        supported_kinds: Vec::new(),
        conditions: Vec::new(),
        spec_valid: true,
        ready: false,
        attached: 0,
        narrower: Vec::new(),
    };
    match protocol {
        None => ctx.set(
            time,
            types::ACCEPTED,
            false,
            reasons::UNSUPPORTED_PROTOCOL,
            format!(
                "Protocol {} is unsupported, must be HTTP, HTTPS, TLS, TCP or UDP",
                l.protocol
            ),
        ),
        Some(p) => allowed_kinds(&mut ctx, l, p.route_kinds(passthrough), time),
    }
    check_namespace_selector(&mut ctx, time);
    match protocol {
        Some(Protocol::Http | Protocol::Tcp | Protocol::Udp) if tls.is_some() => ctx.set(
            time,
            types::PROGRAMMED,
            false,
            reasons::INVALID,
            format!(
                "Listener must not have TLS set when protocol is {}",
                l.protocol
            ),
        ),
        Some(Protocol::Https | Protocol::Tls) if tls.is_none() => ctx.set(
            time,
            types::PROGRAMMED,
            false,
            reasons::INVALID,
            format!("Listener must have TLS set when protocol is {}", l.protocol),
        ),
        Some(Protocol::Https) if mode.is_some_and(|m| m != "Terminate") => ctx.set(
            time,
            types::PROGRAMMED,
            false,
            UNSUPPORTED_TLS_MODE,
            "TLS mode must be Terminate when protocol is HTTPS",
        ),
        Some(Protocol::Tls)
            if passthrough
                && tls.is_some_and(|t| {
                    t.certificate_refs.as_ref().is_some_and(|r| !r.is_empty())
                }) =>
        {
            ctx.set(
                time,
                types::PROGRAMMED,
                false,
                reasons::INVALID,
                "Listener must not have TLS certificate refs set for TLS mode Passthrough",
            );
        }
        Some(Protocol::Tls) if passthrough => {}
        Some(Protocol::Https | Protocol::Tls) if mode.is_none_or(|m| m == "Terminate") => {
            let refs = tls
                .and_then(|t| t.certificate_refs.clone())
                .unwrap_or_default();
            if refs.is_empty() {
                ctx.set(
                    time,
                    types::PROGRAMMED,
                    false,
                    reasons::INVALID,
                    "Listener must have at least one TLS certificate ref when TLS mode is Terminate",
                );
            } else {
                resolve_certificates(snapshot, &refs, &mut ctx, time, secrets);
            }
        }
        _ => {}
    }
    if matches!(protocol, Some(Protocol::Tcp | Protocol::Udp)) && l.hostname.is_some() {
        ctx.set(
            time,
            types::PROGRAMMED,
            false,
            reasons::INVALID,
            format!(
                "Listener must not have hostname set when protocol is {}",
                l.protocol
            ),
        );
    }
    ctx.spec_valid = !ctx.has_invalid_condition();
    ctx
}

/// Supported kinds: the requested ones this protocol serves (all of them when none are requested).
fn allowed_kinds(ctx: &mut ListenerCtx, l: &Listener, supported: &[&'static str], time: &Arc<str>) {
    let requested = l
        .allowed_routes
        .as_ref()
        .and_then(|a| a.kinds.as_ref())
        .filter(|k| !k.is_empty());
    let Some(requested) = requested else {
        ctx.supported_kinds = supported
            .iter()
            .map(|k| RouteGroupKind {
                group: Some(TypeName::Borrowed(GATEWAY_GROUP)),
                kind: TypeName::Borrowed(k),
            })
            .collect();
        return;
    };
    for k in requested {
        let group = k.group.as_deref().unwrap_or(GATEWAY_GROUP);
        if group == GATEWAY_GROUP && supported.contains(&k.kind.as_ref()) {
            ctx.supported_kinds.push(k.clone());
        } else {
            ctx.set(
                time,
                types::RESOLVED_REFS,
                false,
                reasons::INVALID_ROUTE_KINDS,
                format!(
                    "{group}/{} is not supported, kind must be one of {}",
                    k.kind,
                    supported.join(", ")
                ),
            );
        }
    }
}

/// A `Selector` namespace policy needs a selector Kubernetes can parse.
fn check_namespace_selector(ctx: &mut ListenerCtx, time: &Arc<str>) {
    if ctx.namespaces.from.as_deref() != Some("Selector") {
        return;
    }
    let problem = match &ctx.namespaces.selector {
        None => Some("allowedRoutes.namespaces.selector must be set when from is Selector".into()),
        Some(s) => s.match_expressions.iter().flatten().find_map(|e| {
            let values = e.values.as_deref().unwrap_or_default();
            match e.operator.as_str() {
                "In" | "NotIn" if values.is_empty() => Some(format!(
                    "selector operator {} on {} needs values",
                    e.operator, e.key
                )),
                "Exists" | "DoesNotExist" if !values.is_empty() => Some(format!(
                    "selector operator {} on {} takes no values",
                    e.operator, e.key
                )),
                "In" | "NotIn" | "Exists" | "DoesNotExist" => None,
                other => Some(format!("selector operator {other} is not valid")),
            }
        }),
    };
    if let Some(p) = problem {
        ctx.set(time, types::PROGRAMMED, false, reasons::INVALID, p);
    }
}

/// Resolves certificateRefs; a listener keeps the valid ones when only some are invalid.
fn resolve_certificates(
    snapshot: &Snapshot,
    refs: &[SecretObjectReference],
    ctx: &mut ListenerCtx,
    time: &Arc<str>,
    secrets: &mut BTreeMap<String, SecretIr>,
) {
    let owner = ctx.owner.clone();
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    let mut valid = Vec::new();
    for r in refs {
        let ns = r
            .namespace
            .clone()
            .unwrap_or_else(|| owner.namespace.to_string());
        let result = if !r.group().is_empty() || r.kind() != "Secret" {
            Err((
                reasons::INVALID_CERTIFICATE_REF,
                format!(
                    "certificateRef {ns}/{} has unsupported kind {:?} in group {:?}",
                    r.name,
                    r.kind(),
                    r.group()
                ),
            ))
        } else if !refgrant::allowed(
            snapshot,
            (GATEWAY_GROUP, owner.kind.as_str(), &owner.namespace),
            ("", "Secret", &ns, &r.name),
        ) {
            Err((
                reasons::REF_NOT_PERMITTED,
                format!(
                    "certificateRef to Secret {ns}/{} is not permitted by any ReferenceGrant",
                    r.name
                ),
            ))
        } else {
            match snapshot.secret(&ns, &r.name) {
                None => Err((
                    reasons::INVALID_CERTIFICATE_REF,
                    format!("Secret {ns}/{} does not exist", r.name),
                )),
                Some(secret) => parse_tls_secret(secret).map_err(|m| {
                    (
                        reasons::INVALID_CERTIFICATE_REF,
                        format!("Secret {ns}/{}: {m}", r.name),
                    )
                }),
            }
        };
        match result {
            Ok(v) => valid.push(v),
            Err(e) => errors.push(e),
        }
    }
    for (ir, names) in valid {
        ctx.cert_dns_names.extend(names);
        ctx.secrets.push(ir.name.clone());
        secrets.insert(ir.name.clone(), ir);
    }
    let Some((first_reason, _)) = errors.first() else {
        return;
    };
    let message = errors
        .iter()
        .map(|(_, m)| m.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    if ctx.secrets.is_empty() {
        ctx.set(
            time,
            types::RESOLVED_REFS,
            false,
            *first_reason,
            format!("No valid certificate: {message}"),
        );
    } else {
        ctx.set(
            time,
            types::RESOLVED_REFS,
            false,
            PARTIALLY_INVALID_CERTIFICATE_REF,
            format!("Some certificates are invalid and not served: {message}"),
        );
        ctx.refs_usable = true;
    }
}

/// Reads a `kubernetes.io/tls` Secret: its certificate chain, its key, and the leaf's DNS names.
///
/// The key must belong to the leaf certificate; errors never include key material.
pub fn parse_tls_secret(secret: &Secret) -> Result<(SecretIr, Vec<String>), String> {
    if secret.body.type_.as_deref() != Some(TLS_SECRET_TYPE) {
        return Err(format!(
            "type is {:?}, must be {TLS_SECRET_TYPE}",
            secret.body.type_.as_deref().unwrap_or("Opaque")
        ));
    }
    let get = |k: &str| -> Result<String, String> {
        if let Some(v) = secret.body.string_data.get(k) {
            return Ok(v.clone());
        }
        let b64 = secret
            .body
            .data
            .get(k)
            .ok_or_else(|| format!("missing key {k}"))?;
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64.trim())
            .map_err(|_| format!("key {k} is not valid base64"))?;
        String::from_utf8(bytes).map_err(|_| format!("key {k} is not PEM text"))
    };
    let cert = get("tls.crt")?;
    let key = get("tls.key")?;
    let chain = certs::parse_chain(&cert).map_err(|e| format!("tls.crt: {e}"))?;
    let parsed_key = certs::parse_key(&key).map_err(|e| format!("tls.key: {e}"))?;
    let leaf = &chain[0];
    if !certs::key_matches(leaf, &parsed_key) {
        return Err("tls.key does not match the certificate in tls.crt".into());
    }
    Ok((
        SecretIr {
            name: format!("{}/{}", secret.metadata.ns(), secret.metadata.name),
            cert_pem: cert,
            key_pem: key,
        },
        leaf.dns_names.clone(),
    ))
}

/// Completes a listener's conditions once conflicts are known, and decides whether it is programmed.
pub fn finish(l: &mut ListenerCtx, time: &Arc<str>) {
    let only_refs = l.conditions.len() == 1 && l.conditions[0].type_ == types::RESOLVED_REFS;
    let not_programmed = if l.from_listener_set() {
        reasons::LISTENERS_NOT_VALID
    } else {
        reasons::INVALID
    };
    if l.conditions.is_empty() || (only_refs && l.refs_usable) {
        accept(l, time);
        l.set(
            time,
            types::PROGRAMMED,
            true,
            reasons::PROGRAMMED,
            "Sending translated listener configuration to the data plane",
        );
        if l.condition(types::RESOLVED_REFS).is_none() {
            l.set(
                time,
                types::RESOLVED_REFS,
                true,
                reasons::RESOLVED_REFS,
                "Listener references have been resolved",
            );
        }
        if l.from_listener_set() {
            l.set(
                time,
                types::CONFLICTED,
                false,
                reasons::NO_CONFLICTS,
                "No conflicts detected",
            );
        }
        l.ready = true;
        return;
    }
    l.ready = false;
    if only_refs && l.conditions[0].reason == reasons::INVALID_CERTIFICATE_REF {
        // Semantically valid, but it cannot serve traffic without a certificate.
        accept(l, time);
        l.set(
            time,
            types::PROGRAMMED,
            false,
            not_programmed,
            "Listener has no valid certificate, see ResolvedRefs",
        );
        return;
    }
    if l.from_listener_set() && l.conflicted() {
        // A ListenerSet listener that loses a conflict is not accepted, with the conflict's reason.
        let reason = l
            .condition(types::CONFLICTED)
            .map(|c| c.reason.clone())
            .unwrap_or_default();
        l.set(
            time,
            types::ACCEPTED,
            false,
            reason.clone(),
            "Listener conflicts with another listener",
        );
        l.set(
            time,
            types::PROGRAMMED,
            false,
            reason.clone(),
            "Listener conflicts with another listener",
        );
    }
    if l.condition(types::PROGRAMMED).is_none() {
        l.set(
            time,
            types::PROGRAMMED,
            false,
            not_programmed,
            "Listener is invalid, see other conditions",
        );
    }
    if l.condition(types::RESOLVED_REFS).is_none() {
        l.set(
            time,
            types::RESOLVED_REFS,
            true,
            reasons::RESOLVED_REFS,
            "Listener references have been resolved",
        );
    }
}

/// Marks a listener Accepted.
fn accept(l: &mut ListenerCtx, time: &Arc<str>) {
    l.set(
        time,
        types::ACCEPTED,
        true,
        reasons::ACCEPTED,
        "Listener has been successfully translated",
    );
}

/// The status entry of a listener.
pub fn status(l: &ListenerCtx) -> ListenerStatus {
    ListenerStatus {
        name: l.name.clone(),
        supported_kinds: l.supported_kinds.clone(),
        attached_routes: l.attached,
        conditions: l.conditions.clone(),
    }
}
