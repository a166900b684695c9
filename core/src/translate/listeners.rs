//! Gateway listeners: protocol support, allowed route kinds, certificates, conflicts, and their status.

use std::collections::BTreeMap;

use super::ir::SecretIr;
use super::refgrant;
use crate::model::*;
use crate::snapshot::Snapshot;
use crate::status::conditions::{reasons, types, ConditionBuilder};

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
    fn parse(s: &str) -> Option<Self> {
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
            Protocol::Tls => &["TLSRoute", "TCPRoute"],
            Protocol::Tcp => &["TCPRoute"],
            Protocol::Udp => &["UDPRoute"],
        }
    }

    /// Whether two listeners on one port can share it (HTTPS and TLS share by SNI).
    fn compatible(self, other: Protocol) -> bool {
        use Protocol::*;
        matches!(
            (self, other),
            (Http, Http) | (Https, Https) | (Tls, Tls) | (Https, Tls) | (Tls, Https) | (Udp, Udp)
        ) || matches!(
            (self, other),
            (Udp, Tcp | Tls | Http | Https) | (Tcp | Tls | Http | Https, Udp)
        )
    }
}

/// Everything the translation knows about one listener of one Gateway.
#[derive(Debug, Clone)]
pub struct ListenerCtx {
    /// Listener name.
    pub name: String,
    /// The object declaring it (the Gateway, or a ListenerSet).
    pub owner: ObjectKey,
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
    /// Route namespaces policy.
    pub namespaces: RouteNamespaces,
    /// Route kinds accepted.
    pub supported_kinds: Vec<RouteGroupKind>,
    /// Conditions so far.
    pub conditions: Vec<Condition>,
    /// Whether routes may be programmed on it.
    pub ready: bool,
    /// Routes attached.
    pub attached: i32,
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
            "Same" => route_ns == self.owner.namespace,
            "Selector" => {
                let labels = snapshot
                    .namespace("", route_ns)
                    .map(|n| n.metadata.labels.clone())
                    .unwrap_or_default();
                self.namespaces
                    .selector
                    .as_ref()
                    .is_some_and(|s| s.matches(&labels))
            }
            _ => false,
        }
    }
}

/// Builds the listener contexts of a Gateway (its own listeners), resolving certificates into `secrets`.
pub fn build(
    snapshot: &Snapshot,
    owner: &ObjectKey,
    listeners: &[Listener],
    cb: &ConditionBuilder<'_>,
    secrets: &mut BTreeMap<String, SecretIr>,
) -> Vec<ListenerCtx> {
    let mut out: Vec<ListenerCtx> = listeners
        .iter()
        .map(|l| one(snapshot, owner, l, cb, secrets))
        .collect();
    detect_conflicts(&mut out, cb);
    for l in &mut out {
        finish(l, cb);
    }
    out
}

fn one(
    snapshot: &Snapshot,
    owner: &ObjectKey,
    l: &Listener,
    cb: &ConditionBuilder<'_>,
    secrets: &mut BTreeMap<String, SecretIr>,
) -> ListenerCtx {
    let protocol = Protocol::parse(&l.protocol);
    let passthrough = l.tls.as_ref().and_then(|t| t.mode.as_deref()) == Some("Passthrough");
    let mut ctx = ListenerCtx {
        name: l.name.clone(),
        owner: owner.clone(),
        port: l.port,
        protocol,
        hostname: l.hostname.clone(),
        passthrough,
        secrets: Vec::new(),
        namespaces: l
            .allowed_routes
            .as_ref()
            .and_then(|a| a.namespaces.clone())
            .unwrap_or_default(),
        supported_kinds: Vec::new(),
        conditions: Vec::new(),
        ready: true,
        attached: 0,
    };
    let Some(protocol) = protocol else {
        ctx.ready = false;
        ctx.conditions.push(cb.make(
            types::ACCEPTED,
            false,
            reasons::UNSUPPORTED_PROTOCOL,
            format!("Protocol {} is unsupported", l.protocol),
        ));
        return ctx;
    };
    // Route kinds: the requested ones we support for this protocol, or all of them.
    let supported = protocol.route_kinds(passthrough);
    match l.allowed_routes.as_ref().and_then(|a| a.kinds.as_ref()) {
        Some(kinds) if !kinds.is_empty() => {
            let mut invalid = Vec::new();
            for k in kinds {
                let group = k.group.as_deref().unwrap_or(GATEWAY_GROUP);
                if group == GATEWAY_GROUP && supported.contains(&k.kind.as_str()) {
                    ctx.supported_kinds.push(k.clone());
                } else {
                    invalid.push(format!("{group}/{}", k.kind));
                }
            }
            if !invalid.is_empty() {
                ctx.conditions.push(cb.make(
                    types::RESOLVED_REFS,
                    false,
                    reasons::INVALID_ROUTE_KINDS,
                    format!(
                        "Route kinds {} are not supported on a {} listener",
                        invalid.join(", "),
                        l.protocol
                    ),
                ));
            }
        }
        _ => {
            ctx.supported_kinds = supported
                .iter()
                .map(|k| RouteGroupKind {
                    group: Some(GATEWAY_GROUP.into()),
                    kind: k.to_string(),
                })
                .collect();
        }
    }
    // TLS: HTTPS must terminate; TLS terminates or passes through; others take no TLS.
    match protocol {
        Protocol::Https | Protocol::Tls => {
            let tls = l.tls.clone().unwrap_or_default();
            if protocol == Protocol::Https && passthrough {
                ctx.ready = false;
                ctx.conditions.push(cb.make(
                    types::ACCEPTED,
                    false,
                    reasons::UNSUPPORTED_VALUE,
                    "TLS mode Passthrough is not supported on HTTPS listeners",
                ));
            } else if !passthrough {
                resolve_certificates(snapshot, owner, &tls, &mut ctx, cb, secrets);
            }
        }
        Protocol::Http | Protocol::Tcp | Protocol::Udp => {
            if l.tls.is_some() {
                ctx.ready = false;
                ctx.conditions.push(cb.make(
                    types::ACCEPTED,
                    false,
                    reasons::UNSUPPORTED_VALUE,
                    format!("Listener with protocol {} must not set tls", l.protocol),
                ));
            }
        }
    }
    if u16::try_from(l.port).is_err() || l.port == 0 {
        ctx.ready = false;
        ctx.conditions.push(cb.make(
            types::ACCEPTED,
            false,
            reasons::PORT_UNAVAILABLE,
            format!("Port {} is not a valid port", l.port),
        ));
    }
    ctx
}

fn resolve_certificates(
    snapshot: &Snapshot,
    owner: &ObjectKey,
    tls: &ListenerTls,
    ctx: &mut ListenerCtx,
    cb: &ConditionBuilder<'_>,
    secrets: &mut BTreeMap<String, SecretIr>,
) {
    let refs = tls.certificate_refs.clone().unwrap_or_default();
    if refs.is_empty() {
        ctx.ready = false;
        ctx.conditions.push(cb.make(
            types::RESOLVED_REFS,
            false,
            reasons::INVALID_CERTIFICATE_REF,
            "Listener must have at least one certificateRef when TLS mode is Terminate",
        ));
        return;
    }
    for r in refs {
        let ns = r
            .namespace
            .clone()
            .unwrap_or_else(|| owner.namespace.clone());
        let fail = |reason: &'static str, message: String| (reason, message);
        let result = if r.group() != "" || r.kind() != "Secret" {
            Err(fail(
                reasons::INVALID_CERTIFICATE_REF,
                format!(
                    "certificateRef {ns}/{} has unsupported kind {}/{}",
                    r.name,
                    r.group(),
                    r.kind()
                ),
            ))
        } else if !refgrant::allowed(
            snapshot,
            (GATEWAY_GROUP, owner.kind.as_str(), &owner.namespace),
            ("", "Secret", &ns, &r.name),
        ) {
            Err(fail(
                reasons::REF_NOT_PERMITTED,
                format!(
                    "certificateRef to Secret {ns}/{} is not permitted by any ReferenceGrant",
                    r.name
                ),
            ))
        } else {
            match snapshot.secret(&ns, &r.name) {
                None => Err(fail(
                    reasons::INVALID_CERTIFICATE_REF,
                    format!("Secret {ns}/{} does not exist", r.name),
                )),
                Some(secret) => parse_tls_secret(secret).map_err(|m| {
                    fail(
                        reasons::INVALID_CERTIFICATE_REF,
                        format!("Secret {ns}/{}: {m}", r.name),
                    )
                }),
            }
        };
        match result {
            Ok(ir) => {
                ctx.secrets.push(ir.name.clone());
                secrets.insert(ir.name.clone(), ir);
            }
            Err((reason, message)) => {
                ctx.ready = false;
                ctx.conditions
                    .push(cb.make(types::RESOLVED_REFS, false, reason, message));
                return;
            }
        }
    }
}

/// Reads a `kubernetes.io/tls` Secret; errors never include key material.
pub fn parse_tls_secret(secret: &Secret) -> Result<SecretIr, String> {
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
    if !cert.contains("-----BEGIN CERTIFICATE-----") {
        return Err("tls.crt is not a PEM certificate".into());
    }
    if !key.contains("PRIVATE KEY-----") {
        return Err("tls.key is not a PEM private key".into());
    }
    Ok(SecretIr {
        name: format!("{}/{}", secret.metadata.ns(), secret.metadata.name),
        cert_pem: cert,
        key_pem: key,
    })
}

/// Listeners sharing a port must agree on protocol, and on hostname within a protocol.
fn detect_conflicts(ls: &mut [ListenerCtx], cb: &ConditionBuilder<'_>) {
    let n = ls.len();
    let mut protocol_conflict = vec![false; n];
    let mut hostname_conflict = vec![false; n];
    for i in 0..n {
        for j in 0..n {
            if i == j || ls[i].port != ls[j].port {
                continue;
            }
            let (Some(a), Some(b)) = (ls[i].protocol, ls[j].protocol) else {
                continue;
            };
            if !a.compatible(b) {
                protocol_conflict[i] = true;
            } else if a == b && ls[i].hostname == ls[j].hostname {
                hostname_conflict[i] = true;
            }
        }
    }
    for (i, l) in ls.iter_mut().enumerate() {
        let (conflicted, reason, msg) = if protocol_conflict[i] {
            (
                true,
                reasons::PROTOCOL_CONFLICT,
                "All listeners for a given port must use a compatible protocol",
            )
        } else if hostname_conflict[i] {
            (
                true,
                reasons::HOSTNAME_CONFLICT,
                "All listeners for a given port must use a unique hostname",
            )
        } else {
            (false, reasons::NO_CONFLICTS, "No conflicts")
        };
        if conflicted {
            l.ready = false;
        }
        l.conditions
            .push(cb.make(types::CONFLICTED, conflicted, reason, msg));
    }
}

/// Adds the Accepted, ResolvedRefs and Programmed conditions not already decided.
fn finish(l: &mut ListenerCtx, cb: &ConditionBuilder<'_>) {
    let has = |l: &ListenerCtx, t: &str| l.conditions.iter().any(|c| c.type_ == t);
    if !has(l, types::ACCEPTED) {
        let ok = l.ready;
        let (reason, msg) = if ok {
            (
                reasons::ACCEPTED,
                "Listener has been successfully translated",
            )
        } else {
            (
                reasons::INVALID,
                "Listener is invalid, see other conditions",
            )
        };
        l.conditions.push(cb.make(types::ACCEPTED, ok, reason, msg));
    }
    if !has(l, types::RESOLVED_REFS) {
        l.conditions.push(cb.make(
            types::RESOLVED_REFS,
            true,
            reasons::RESOLVED_REFS,
            "Listener references have been resolved",
        ));
    }
    let ok = l.ready;
    let (reason, msg) = if ok {
        (
            reasons::PROGRAMMED,
            "Sending translated listener configuration to the data plane",
        )
    } else {
        (
            reasons::INVALID,
            "Listener is invalid, see other conditions",
        )
    };
    l.conditions
        .push(cb.make(types::PROGRAMMED, ok, reason, msg));
}
