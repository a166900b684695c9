//! ListenerSets: which ones a Gateway admits (its `allowedListeners`), their precedence, and
//! their status.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::listeners::ListenerCtx;
use crate::model::*;
use crate::snapshot::Snapshot;
use crate::status::conditions::{reasons, types, ConditionBuilder};

/// Envoy Gateway's reason for a ListenerSet its parent Gateway does not allow.
pub const NOT_ALLOWED: &str = "NotAllowed";

/// The Gateway a ListenerSet names as parent, if it names a Gateway at all.
pub fn parent(ls: &ListenerSet) -> Option<ObjectKey> {
    let p = &ls.spec.parent_ref;
    (p.group.as_deref().unwrap_or(GATEWAY_GROUP) == GATEWAY_GROUP
        && p.kind.as_deref().unwrap_or("Gateway") == "Gateway")
        .then(|| {
            ObjectKey::new(
                Kind::Gateway,
                p.namespace.as_deref().unwrap_or(ls.metadata.ns()),
                &p.name,
            )
        })
}

/// Every ListenerSet grouped by the Gateway it names: one pass, however many Gateways.
pub fn by_parent(snapshot: &Snapshot) -> BTreeMap<ObjectKey, Vec<&ListenerSet>> {
    let mut out: BTreeMap<ObjectKey, Vec<&ListenerSet>> = BTreeMap::new();
    for ls in snapshot.listener_sets() {
        if let Some(gw) = parent(ls) {
            out.entry(gw).or_default().push(ls);
        }
    }
    out
}

/// The ListenerSets naming a Gateway as parent (`sets`, from [`by_parent`]), split into
/// admitted (in precedence order: oldest first, then namespace/name) and refused.
pub fn for_gateway<'a>(
    snapshot: &Snapshot,
    gateway: &Gateway,
    sets: &[&'a ListenerSet],
) -> (Vec<&'a ListenerSet>, Vec<&'a ListenerSet>) {
    let mut sets = sets.to_vec();
    sets.sort_by(|a, b| {
        let key = |l: &ListenerSet| {
            (
                l.metadata.creation_timestamp.clone().unwrap_or_default(),
                l.metadata.ns().to_string(),
                l.metadata.name.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    sets.into_iter()
        .partition(|ls| allowed(snapshot, gateway, ls.metadata.ns()))
}

/// Whether a Gateway's `allowedListeners` admits ListenerSets from a namespace (default: none).
fn allowed(snapshot: &Snapshot, gateway: &Gateway, ns: &str) -> bool {
    let Some(namespaces) = gateway
        .spec
        .allowed_listeners
        .as_ref()
        .and_then(|a| a.namespaces.as_ref())
    else {
        return false;
    };
    match namespaces.from.as_deref().unwrap_or("None") {
        "All" => true,
        "Same" => ns == gateway.metadata.ns(),
        "Selector" => {
            let labels = snapshot.namespace_labels(ns);
            namespaces
                .selector
                .as_ref()
                .is_some_and(|s| s.matches(&labels))
        }
        _ => false,
    }
}

/// The status of a ListenerSet the Gateway refused.
pub fn refused_status(ls: &ListenerSet, time: &Arc<str>) -> ListenerSetStatus {
    let cb = ConditionBuilder {
        generation: ls.metadata.generation,
        time,
    };
    let msg = "The parent Gateway's allowedListeners does not allow this ListenerSet";
    ListenerSetStatus {
        conditions: vec![
            cb.make(types::ACCEPTED, false, NOT_ALLOWED, msg),
            cb.make(types::PROGRAMMED, false, NOT_ALLOWED, msg),
        ],
        listeners: Vec::new(),
    }
}

/// The status of an admitted ListenerSet, from its listeners' conditions.
pub fn status(ls: &ListenerSet, listeners: &[&ListenerCtx], time: &Arc<str>) -> ListenerSetStatus {
    let cb = ConditionBuilder {
        generation: ls.metadata.generation,
        time,
    };
    let is_true = |l: &ListenerCtx, t: &str| l.condition(t).is_some_and(|c| c.status == "True");
    let accepted = listeners
        .iter()
        .filter(|l| is_true(l, types::ACCEPTED))
        .count();
    let accepted = if accepted == listeners.len() {
        cb.make(
            types::ACCEPTED,
            true,
            reasons::ACCEPTED,
            "All listeners are accepted",
        )
    } else if accepted > 0 {
        cb.make(
            types::ACCEPTED,
            true,
            reasons::LISTENERS_NOT_VALID,
            "Some listeners are invalid",
        )
    } else {
        cb.make(
            types::ACCEPTED,
            false,
            reasons::LISTENERS_NOT_VALID,
            "No listener is valid",
        )
    };
    let programmed = if listeners.iter().any(|l| is_true(l, types::PROGRAMMED)) {
        cb.make(
            types::PROGRAMMED,
            true,
            reasons::PROGRAMMED,
            "Listeners are programmed",
        )
    } else {
        cb.make(
            types::PROGRAMMED,
            false,
            reasons::LISTENERS_NOT_VALID,
            "No listener is programmed",
        )
    };
    ListenerSetStatus {
        conditions: vec![accepted, programmed],
        listeners: listeners
            .iter()
            .map(|l| super::listeners::status(l))
            .collect(),
    }
}
