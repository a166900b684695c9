//! Conflicts between the listeners of one Gateway (its own and its ListenerSets'), and
//! overlapping TLS configuration between HTTPS listeners sharing a port.
//!
//! Only listeners whose own spec is valid take part, so an invalid listener never blocks a
//! valid one. The Gateway's own listeners are checked among themselves as Envoy Gateway does:
//! on a port, different protocol families (HTTPS and TLS are one family; UDP coexists with
//! anything) conflict for every listener on it, and so do equal hostnames within a family;
//! of several TCP (or UDP) listeners on a port the first wins. ListenerSet listeners then
//! follow the spec's precedence: the Gateway's listeners, then ListenerSets by creation time
//! and namespace/name; a listener loses to any earlier listener on its port with another
//! protocol family or the same hostname, and to any listener of its own set it clashes with.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::hostnames;
use super::listeners::{ListenerCtx, Protocol};
use crate::status::conditions::{reasons, types};

/// Marks conflicting listeners. `listeners` holds the Gateway's own listeners first, then
/// each ListenerSet's in precedence order.
pub fn detect(listeners: &mut [ListenerCtx], time: &Arc<str>) {
    let own: Vec<usize> = (0..listeners.len())
        .filter(|&i| !listeners[i].from_listener_set() && listeners[i].spec_valid)
        .collect();
    gateway_conflicts(listeners, &own, time);
    listener_set_conflicts(listeners, time);
}

fn mark(l: &mut ListenerCtx, reason: &'static str, time: &Arc<str>) {
    let message = if reason == reasons::PROTOCOL_CONFLICT {
        "All listeners for a given port must use a compatible protocol"
    } else {
        "All listeners for a given port must use a unique hostname"
    };
    l.set(time, types::CONFLICTED, true, reason, message);
}

/// Conflicts among the Gateway's own listeners.
fn gateway_conflicts(ls: &mut [ListenerCtx], own: &[usize], time: &Arc<str>) {
    let mut by_port: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for &i in own {
        by_port.entry(ls[i].port).or_default().push(i);
    }
    for indexes in by_port.values() {
        let families: std::collections::BTreeSet<&str> = indexes
            .iter()
            .filter_map(|&i| ls[i].protocol)
            .filter(|p| *p != Protocol::Udp)
            .map(Protocol::family)
            .collect();
        let mut hostnames: BTreeMap<(&str, Option<String>), usize> = BTreeMap::new();
        for &i in indexes {
            if let Some(p @ (Protocol::Http | Protocol::Https | Protocol::Tls)) = ls[i].protocol {
                *hostnames
                    .entry((p.family(), ls[i].hostname.clone()))
                    .or_default() += 1;
            }
        }
        let mut seen_l4 = std::collections::BTreeSet::new();
        let mut marks = Vec::new();
        for &i in indexes {
            let Some(p) = ls[i].protocol else { continue };
            if p != Protocol::Udp && families.len() > 1 {
                marks.push((i, reasons::PROTOCOL_CONFLICT));
            }
            if matches!(p, Protocol::Http | Protocol::Https | Protocol::Tls)
                && hostnames
                    .get(&(p.family(), ls[i].hostname.clone()))
                    .is_some_and(|n| *n > 1)
            {
                marks.push((i, reasons::HOSTNAME_CONFLICT));
            }
            if matches!(p, Protocol::Tcp | Protocol::Udp) && !seen_l4.insert(p) {
                // The first TCP (UDP) listener on a port keeps it; later ones conflict.
                marks.push((i, reasons::PROTOCOL_CONFLICT));
            }
        }
        for (i, reason) in marks {
            mark(&mut ls[i], reason, time);
        }
    }
}

/// ListenerSet listeners against everything of higher precedence, and within their own set.
///
/// Protocols are settled first: against earlier listeners, then within each set (where both
/// sides lose). A listener that lost on protocol does not hold its port; one that lost on
/// hostname still holds its hostname (as Envoy Gateway decides).
fn listener_set_conflicts(ls: &mut [ListenerCtx], time: &Arc<str>) {
    let candidates: Vec<usize> = (0..ls.len())
        .filter(|&i| ls[i].from_listener_set() && ls[i].spec_valid && ls[i].protocol.is_some())
        .collect();
    for &i in &candidates {
        let earlier: Vec<usize> = (0..i).filter(|&j| ls[j].owner != ls[i].owner).collect();
        if earlier
            .iter()
            .any(|&j| clash(ls, i, j) == Some(reasons::PROTOCOL_CONFLICT))
        {
            mark(&mut ls[i], reasons::PROTOCOL_CONFLICT, time);
        }
    }
    let within: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| !ls[i].conflicted())
        .filter(|&i| {
            (0..ls.len()).any(|j| {
                j != i
                    && ls[j].owner == ls[i].owner
                    && clash(ls, i, j) == Some(reasons::PROTOCOL_CONFLICT)
            })
        })
        .collect();
    for i in within {
        mark(&mut ls[i], reasons::PROTOCOL_CONFLICT, time);
    }
    for &i in &candidates {
        if ls[i].conflicted() {
            continue;
        }
        let hostname = (0..ls.len()).any(|j| {
            j != i
                && (j < i || ls[j].owner == ls[i].owner)
                && clash(ls, i, j) == Some(reasons::HOSTNAME_CONFLICT)
        });
        if hostname {
            mark(&mut ls[i], reasons::HOSTNAME_CONFLICT, time);
        }
    }
}

/// How listener `i` clashes with listener `j` on the same port, if it does; a listener that
/// lost on protocol holds nothing.
fn clash(ls: &[ListenerCtx], i: usize, j: usize) -> Option<&'static str> {
    let (l, o) = (&ls[i], &ls[j]);
    if !o.spec_valid || o.port != l.port {
        return None;
    }
    let lost_protocol = o
        .condition(types::CONFLICTED)
        .is_some_and(|c| c.reason == reasons::PROTOCOL_CONFLICT);
    let (p, q) = (l.protocol?, o.protocol?);
    if lost_protocol {
        return None;
    }
    if p == Protocol::Udp || q == Protocol::Udp {
        return (p == q).then_some(reasons::HOSTNAME_CONFLICT);
    }
    if p.family() != q.family() {
        return Some(reasons::PROTOCOL_CONFLICT);
    }
    (o.hostname == l.hostname).then_some(reasons::HOSTNAME_CONFLICT)
}

/// Sets `OverlappingTLSConfig` on HTTPS listeners of one port whose hostnames, or whose
/// certificates' DNS names, overlap (certificates win when both do, as the spec asks).
///
/// Only programmed listeners count. As in Envoy Gateway, a listener already found overlapping is not compared again, and a
/// listener without hostname overlaps every other.
pub fn overlapping_tls(listeners: &mut [ListenerCtx], time: &Arc<str>) {
    let https: Vec<usize> = (0..listeners.len())
        .filter(|&i| listeners[i].protocol == Some(Protocol::Https) && listeners[i].ready)
        .collect();
    let hosts = |i: usize| listeners[i].hostname.clone();
    let by_hostname = pair(&https, |a, b| {
        listeners[a].port == listeners[b].port && overlap(hosts(a).as_deref(), hosts(b).as_deref())
    });
    let by_cert = pair(&https, |a, b| {
        listeners[a].port == listeners[b].port
            && listeners[a].cert_dns_names.iter().any(|x| {
                listeners[b]
                    .cert_dns_names
                    .iter()
                    .any(|y| overlap(Some(x), Some(y)))
            })
    });
    for i in by_hostname {
        listeners[i].set(
            time,
            types::OVERLAPPING_TLS_CONFIG,
            true,
            OVERLAPPING_HOSTNAMES,
            "The hostname overlaps with the hostname of another HTTPS listener on this port",
        );
    }
    for i in by_cert {
        listeners[i].set(
            time,
            types::OVERLAPPING_TLS_CONFIG,
            true,
            OVERLAPPING_CERTIFICATES,
            "A certificate SAN overlaps with a certificate SAN of another HTTPS listener on this port",
        );
    }
}

/// The `OverlappingTLSConfig` reason for overlapping listener hostnames.
pub const OVERLAPPING_HOSTNAMES: &str = "OverlappingHostnames";
/// The `OverlappingTLSConfig` reason for overlapping certificate names.
pub const OVERLAPPING_CERTIFICATES: &str = "OverlappingCertificates";

/// Every listener that overlaps another not already found overlapping (Envoy Gateway's scan).
fn pair(list: &[usize], overlaps: impl Fn(usize, usize) -> bool) -> Vec<usize> {
    let mut paired = vec![false; list.len()];
    for a in 0..list.len() {
        if paired[a] {
            continue;
        }
        for b in a + 1..list.len() {
            if !paired[b] && overlaps(list[a], list[b]) {
                paired[a] = true;
                paired[b] = true;
            }
        }
    }
    list.iter()
        .zip(paired)
        .filter_map(|(i, p)| p.then_some(*i))
        .collect()
}

/// Whether two hostnames (None: any) can match the same name; `*.` covers exactly one label.
fn overlap(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            a == b
                || hostnames::wildcard_covers_label(a, b)
                || hostnames::wildcard_covers_label(b, a)
        }
        _ => true,
    }
}
