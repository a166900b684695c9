//! GatewayClasses and Gateways: which are ours, the listeners of each Gateway (its own and
//! its ListenerSets'), Gateway-level checks, and the status of Gateways and ListenerSets.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::gateway_tls::GatewayTls;
use super::ir::SecretIr;
use super::listeners::{self, ListenerCtx};
use super::{conflicts, listenersets, Options, UsableAddresses};
use crate::model::*;
use crate::snapshot::Snapshot;
use crate::status::conditions::{reasons, types, ConditionBuilder};
use crate::status::StatusBody;

/// The status of a GatewayClass we own: Accepted, and SupportedVersion (we implement v1.6.1).
pub fn class_status(class: &GatewayClass, time: &Arc<str>) -> GatewayClassStatus {
    let cb = ConditionBuilder {
        generation: class.metadata.generation,
        time,
    };
    GatewayClassStatus {
        conditions: vec![
            cb.make(
                types::ACCEPTED,
                true,
                reasons::ACCEPTED,
                "Valid GatewayClass",
            ),
            cb.make(
                types::SUPPORTED_VERSION,
                true,
                reasons::SUPPORTED_VERSION,
                "Gateway API v1.6.1 is supported",
            ),
        ],
        supported_features: None,
    }
}

/// What a Gateway is besides its listeners: Gateway-level problems and its ListenerSets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewayInfo {
    /// Gateway-level conditions besides the `Accepted` and `Programmed` computed from the
    /// listeners: problems (`Accepted`), and `spec.tls` (`ResolvedRefs`,
    /// `InsecureFrontendValidationMode`).
    pub problems: Vec<Condition>,
    /// The certificate presented to TLS backends (a name in the Gateway's secrets).
    pub backend_client_cert: Option<String>,
    /// Whether the Gateway is accepted at all; when not, no listener is processed.
    pub accepted: bool,
    /// ListenerSets the Gateway admits, in precedence order.
    pub listener_sets: Vec<ObjectKey>,
    /// ListenerSets naming the Gateway that it does not admit.
    pub refused: Vec<ObjectKey>,
}

/// Builds the listeners of a Gateway and its admitted ListenerSets (in that order), with
/// conflicts found and conditions complete; certificates go into `secrets`. `sets` are the
/// ListenerSets naming this Gateway (see [`listenersets::by_parent`]).
pub fn listeners(
    snapshot: &Snapshot,
    gw: &Gateway,
    key: &ObjectKey,
    sets: &[&ListenerSet],
    time: &Arc<str>,
    secrets: &mut BTreeMap<String, SecretIr>,
) -> (Vec<ListenerCtx>, GatewayInfo) {
    let tls = GatewayTls::resolve(snapshot, gw, time);
    let mut info = GatewayInfo {
        problems: gateway_problems(gw, time),
        ..Default::default()
    };
    info.problems.extend(tls.conditions.iter().cloned());
    info.accepted = !info.problems.iter().any(|c| c.type_ == types::ACCEPTED);
    if !info.accepted {
        return (Vec::new(), info);
    }
    if let Some(s) = &tls.backend_cert {
        info.backend_client_cert = Some(s.name.clone());
        secrets.insert(s.name.clone(), s.clone());
    }
    let (admitted, refused) = listenersets::for_gateway(snapshot, gw, sets);
    let ls_key =
        |ls: &&ListenerSet| ObjectKey::new(Kind::ListenerSet, ls.metadata.ns(), &ls.metadata.name);
    info.listener_sets = admitted.iter().map(ls_key).collect();
    info.refused = refused.iter().map(ls_key).collect();
    let mut out: Vec<ListenerCtx> = gw
        .spec
        .listeners
        .iter()
        .map(|l| listeners::validate(snapshot, key, gw.metadata.generation, l, time, secrets))
        .collect();
    for (ls, owner) in admitted.iter().zip(&info.listener_sets) {
        for l in &ls.spec.listeners {
            out.push(listeners::validate(
                snapshot,
                owner,
                ls.metadata.generation,
                l,
                time,
                secrets,
            ));
        }
    }
    for l in &mut out {
        tls.apply(l, time);
    }
    conflicts::detect(&mut out, time);
    for l in &mut out {
        listeners::finish(l, time);
    }
    conflicts::overlapping_tls(&mut out, time);
    listeners::find_narrower(&mut out);
    (out, info)
}

/// Problems with the Gateway itself: address types and infrastructure parameters (`spec.tls`
/// is [`GatewayTls`]'s).
fn gateway_problems(gw: &Gateway, time: &Arc<str>) -> Vec<Condition> {
    let cb = ConditionBuilder {
        generation: gw.metadata.generation,
        time,
    };
    let mut out = Vec::new();
    if let Some(a) = gw.spec.addresses.iter().flatten().find(|a| {
        !matches!(
            a.type_.as_deref().unwrap_or("IPAddress"),
            "IPAddress" | "Hostname"
        )
    }) {
        out.push(cb.make(
            types::ACCEPTED,
            false,
            reasons::UNSUPPORTED_ADDRESS,
            format!(
                "Gateway has an address with an unsupported type: {}",
                a.type_.as_deref().unwrap_or_default()
            ),
        ));
    }
    if let Some(p) = gw
        .spec
        .infrastructure
        .as_ref()
        .and_then(|i| i.parameters_ref.as_ref())
    {
        // Gatewright defines no infrastructure parameters kind, so every reference is invalid
        // (rather than accepted and ignored).
        out.push(cb.make(
            types::ACCEPTED,
            false,
            reasons::INVALID_PARAMETERS,
            format!(
                "infrastructure.parametersRef {}/{} {}: this implementation takes no infrastructure parameters",
                p.group, p.kind, p.name
            ),
        ));
    }
    out
}

/// The addresses a Gateway gets, and the requested ones it cannot have.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Addresses {
    /// Reported in `status.addresses`.
    pub assigned: Vec<GatewayStatusAddress>,
    /// Requested values the controller cannot use (`Programmed: False / AddressNotUsable`).
    pub unusable: Vec<String>,
}

/// The addresses of a Gateway: the usable ones it requests in `spec.addresses` (see
/// [`UsableAddresses`]), plus [`Options::address`] when it requests none or leaves a value
/// empty (the implementation chooses then). Entries of an unsupported type are left out: they
/// make the Gateway not accepted (see [`listeners`]).
pub fn addresses(gw: &Gateway, opts: &Options) -> Addresses {
    let mut out = Addresses::default();
    let requested = gw.spec.addresses.as_deref().unwrap_or_default();
    let mut dynamic = requested.is_empty();
    for a in requested {
        let type_ = a.type_.as_deref().unwrap_or("IPAddress");
        if !matches!(type_, "IPAddress" | "Hostname") {
            continue;
        }
        let Some(value) = a.value.as_deref().filter(|v| !v.is_empty()) else {
            dynamic = true;
            continue;
        };
        let usable = match &opts.usable_addresses {
            UsableAddresses::All => true,
            UsableAddresses::Only(ips) => {
                type_ == "IPAddress" && value.parse().is_ok_and(|ip| ips.contains(&ip))
            }
        };
        if usable {
            out.assigned.push(GatewayStatusAddress {
                type_: Some(type_.to_string()),
                value: value.to_string(),
            });
        } else {
            out.unusable.push(value.to_string());
        }
    }
    if dynamic {
        out.assigned
            .extend(opts.address.iter().map(|a| GatewayStatusAddress {
                type_: Some("IPAddress".into()),
                value: a.clone(),
            }));
    }
    out
}

/// The status of a Gateway and of every ListenerSet naming it.
pub fn status(
    snapshot: &Snapshot,
    gw: &Gateway,
    key: &ObjectKey,
    all: &[ListenerCtx],
    info: &GatewayInfo,
    addresses: Addresses,
    time: &Arc<str>,
) -> Vec<(ObjectKey, StatusBody)> {
    let cb = ConditionBuilder {
        generation: gw.metadata.generation,
        time,
    };
    let own: Vec<&ListenerCtx> = all.iter().filter(|l| l.owner == *key).collect();
    let ready = own.iter().filter(|l| l.ready).count();
    let total = own.len();
    let mut conditions = info.problems.clone();
    if info.accepted {
        conditions.push(if ready == total || total == 0 {
            cb.make(
                types::ACCEPTED,
                true,
                reasons::ACCEPTED,
                "The Gateway has been scheduled by Gatewright",
            )
        } else if ready == 0 {
            cb.make(
                types::ACCEPTED,
                false,
                reasons::LISTENERS_NOT_VALID,
                "No listener is valid",
            )
        } else {
            cb.make(
                types::ACCEPTED,
                true,
                reasons::LISTENERS_NOT_VALID,
                "Some listeners are invalid",
            )
        });
    }
    conditions.push(if !all.iter().any(|l| l.ready) {
        cb.make(
            types::PROGRAMMED,
            false,
            reasons::INVALID,
            "No valid listener to program",
        )
    } else if !addresses.unusable.is_empty() {
        cb.make(
            types::PROGRAMMED,
            false,
            reasons::ADDRESS_NOT_USABLE,
            format!(
                "Requested addresses cannot be used: {}",
                addresses.unusable.join(", ")
            ),
        )
    } else {
        cb.make(
            types::PROGRAMMED,
            true,
            reasons::PROGRAMMED,
            "Configuration generated for the data plane",
        )
    });
    // Listeners are grouped by owner (the Gateway's, then each set's in order): one pass.
    let mut by_owner: BTreeMap<&ObjectKey, Vec<&ListenerCtx>> = BTreeMap::new();
    for l in all {
        by_owner.entry(&l.owner).or_default().push(l);
    }
    let mut sets = Vec::new();
    for ls_key in &info.listener_sets {
        let Some(ls) = snapshot.listener_set(&ls_key.namespace, &ls_key.name) else {
            continue;
        };
        let mine = by_owner.get(ls_key).map(Vec::as_slice).unwrap_or_default();
        sets.push((ls_key.clone(), listenersets::status(ls, mine, time)));
    }
    // Only ListenerSets with `Accepted: True` count as attached (GatewayStatus.attachedListenerSets).
    let attached = sets
        .iter()
        .filter(|(_, st)| {
            st.conditions
                .iter()
                .any(|c| c.type_ == types::ACCEPTED && c.status == "True")
        })
        .count();
    let mut out = vec![(
        key.clone(),
        StatusBody::Gateway(GatewayStatus {
            addresses: addresses.assigned,
            conditions,
            listeners: own.iter().map(|l| listeners::status(l)).collect(),
            attached_listener_sets: (!info.listener_sets.is_empty())
                .then(|| i32::try_from(attached).unwrap_or(i32::MAX)),
        }),
    )];
    out.extend(
        sets.into_iter()
            .map(|(k, st)| (k, StatusBody::ListenerSet(st))),
    );
    for ls_key in &info.refused {
        if let Some(ls) = snapshot.listener_set(&ls_key.namespace, &ls_key.name) {
            out.push((
                ls_key.clone(),
                StatusBody::ListenerSet(listenersets::refused_status(ls, time)),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::status::StatusBody;
    use crate::Options;

    const MANIFESTS: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: gc
  allowedListeners: {namespaces: {from: Same}}
  listeners:
  - {name: taken, port: 80, protocol: HTTP, hostname: taken.example.com}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: partly-valid, namespace: infra}
spec:
  parentRef: {name: gw, kind: Gateway, group: gateway.networking.k8s.io}
  listeners:
  - {name: fine, port: 80, protocol: HTTP, hostname: fine.example.com}
  - {name: clash, port: 80, protocol: HTTP, hostname: taken.example.com}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: all-conflicted, namespace: infra}
spec:
  parentRef: {name: gw, kind: Gateway, group: gateway.networking.k8s.io}
  listeners:
  - {name: clash, port: 80, protocol: HTTP, hostname: taken.example.com}
"#;

    /// ListenerSetHostnameConflict: a set whose every listener is rejected is not attached.
    #[test]
    fn only_accepted_listener_sets_count_as_attached() {
        let t = crate::testing::translate_manifests(MANIFESTS, &Options::default());
        let gw = t
            .status
            .iter()
            .find_map(|s| match &s.status {
                StatusBody::Gateway(g) if &*s.metadata.name == "gw" => Some(g),
                _ => None,
            })
            .expect("Gateway status");
        assert_eq!(gw.attached_listener_sets, Some(1));
    }

    const STATIC: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: gc
  addresses: ADDRESSES
  listeners:
  - {name: http, port: 8080, protocol: HTTP}
"#;

    /// The Gateway's status with `spec.addresses` set to `addresses` (a YAML flow list).
    fn gateway_status(addresses: &str, opts: &Options) -> crate::model::GatewayStatus {
        let t = crate::testing::translate_manifests(&STATIC.replace("ADDRESSES", addresses), opts);
        t.status
            .into_iter()
            .find_map(|s| match s.status {
                StatusBody::Gateway(g) => Some(g),
                _ => None,
            })
            .expect("Gateway status")
    }

    fn condition(st: &crate::model::GatewayStatus, type_: &str) -> (String, String) {
        let c = st
            .conditions
            .iter()
            .find(|c| c.type_ == type_)
            .expect("condition");
        (c.status.to_string(), c.reason.to_string())
    }

    fn values(st: &crate::model::GatewayStatus) -> Vec<&str> {
        st.addresses.iter().map(|a| a.value.as_str()).collect()
    }

    fn only(ips: &[&str]) -> Options {
        Options {
            address: Some("10.0.0.1".into()),
            usable_addresses: crate::UsableAddresses::Only(
                ips.iter().map(|ip| ip.parse().expect("an IP")).collect(),
            ),
            ..Options::default()
        }
    }

    /// GatewayStaticAddresses, first phase: an unsupported address type.
    #[test]
    fn an_unsupported_address_type_is_not_accepted() {
        let st = gateway_status(
            "[{type: test/fake-invalid-type, value: 'fake address teehee!'}, {value: 192.0.2.1}]",
            &only(&["127.0.0.9"]),
        );
        assert_eq!(
            condition(&st, "Accepted"),
            ("False".into(), "UnsupportedAddress".into())
        );
    }

    /// GatewayStaticAddresses, second and third phases: an unusable address keeps the Gateway
    /// from being programmed; the usable one is reported instead of the controller's choice.
    #[test]
    fn requested_addresses_are_used_when_usable() {
        let opts = only(&["127.0.0.9", "::1"]);
        let st = gateway_status("[{value: 192.0.2.1}, {value: 127.0.0.9}]", &opts);
        assert_eq!(
            condition(&st, "Accepted"),
            ("True".into(), "Accepted".into())
        );
        assert_eq!(
            condition(&st, "Programmed"),
            ("False".into(), "AddressNotUsable".into())
        );
        assert_eq!(values(&st), ["127.0.0.9"]);

        let st = gateway_status("[{type: IPAddress, value: 127.0.0.9}]", &opts);
        assert_eq!(
            condition(&st, "Programmed"),
            ("True".into(), "Programmed".into())
        );
        assert_eq!(values(&st), ["127.0.0.9"]);
        // IPv6 values compare as addresses, not as text.
        let st = gateway_status("[{value: '0:0::1'}]", &opts);
        assert_eq!(values(&st), ["0:0::1"]);
        // Hostnames are not usable when only IPs are.
        let st = gateway_status("[{type: Hostname, value: gw.example.com}]", &opts);
        assert_eq!(
            condition(&st, "Programmed"),
            ("False".into(), "AddressNotUsable".into())
        );
        assert!(st.addresses.is_empty());
    }

    /// No requested address, or one without a value: the controller's address.
    #[test]
    fn the_controller_chooses_when_no_value_is_requested() {
        let opts = only(&[]);
        for addresses in ["[]", "[{type: IPAddress}]"] {
            let st = gateway_status(addresses, &opts);
            assert_eq!(values(&st), ["10.0.0.1"], "{addresses}");
            assert_eq!(
                condition(&st, "Programmed"),
                ("True".into(), "Programmed".into())
            );
        }
    }

    /// The default takes every requested address as written, as Envoy Gateway does.
    #[test]
    fn by_default_every_requested_address_is_used() {
        let opts = Options {
            address: Some("10.0.0.1".into()),
            ..Options::default()
        };
        let st = gateway_status(
            "[{value: 1.2.3.4}, {type: Hostname, value: foo.bar.com}]",
            &opts,
        );
        assert_eq!(values(&st), ["1.2.3.4", "foo.bar.com"]);
        assert_eq!(st.addresses[1].type_.as_deref(), Some("Hostname"));
        assert_eq!(
            condition(&st, "Programmed"),
            ("True".into(), "Programmed".into())
        );
    }
}
