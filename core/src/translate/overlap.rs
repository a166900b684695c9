//! Rules that shadow each other: two rules (of one route or of several) with the same match on
//! the same hostname of one listener. Only one of them can ever be chosen, so every route
//! involved gets Envoy Gateway's `RouteRulesOverlap` condition for that Gateway.

use std::collections::{BTreeMap, BTreeSet};

use super::ir::RouteIr;
use crate::model::*;
use crate::snapshot::Snapshot;
use crate::status::StatusBody;

/// Envoy Gateway's condition type (and reason) for routes with identical matches.
pub const ROUTE_RULES_OVERLAP: &str = "RouteRulesOverlap";

/// The routes having a rule whose match another rule repeats, per listener placements
/// (each listener: the hostnames and the route placed on them).
pub fn overlapping_routes(placed: &[Vec<(Vec<String>, RouteIr)>]) -> BTreeSet<ObjectKey> {
    let mut out = BTreeSet::new();
    for listener in placed {
        let mut seen: BTreeMap<(String, String), (String, ObjectKey)> = BTreeMap::new();
        for (hosts, r) in listener {
            for h in hosts {
                // Debug text is a faithful key for a match within one run.
                let key = (h.clone(), format!("{:?}", r.matcher));
                match seen.get(&key) {
                    Some((name, source)) if *name != r.name => {
                        out.insert(source.clone());
                        out.insert(r.source.clone());
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(key, (r.name.clone(), r.source.clone()));
                    }
                }
            }
        }
    }
    out
}

/// Adds `RouteRulesOverlap: True` to the parents of `routes` that name `gateway` (directly or
/// through one of its ListenerSets) and are accepted.
pub fn mark(
    snapshot: &Snapshot,
    status: &mut BTreeMap<ObjectKey, StatusBody>,
    routes: &BTreeSet<ObjectKey>,
    gateway: &ObjectKey,
) {
    for route in routes {
        let Some(StatusBody::Route(st)) = status.get_mut(route) else {
            continue;
        };
        for p in &mut st.parents {
            let r = &p.parent_ref;
            let ns = r.ns(&route.namespace);
            let names_gateway = match r.kind() {
                "Gateway" => ns == gateway.namespace && r.name == gateway.name,
                "ListenerSet" => snapshot.listener_set(ns, &r.name).is_some_and(|ls| {
                    ls.spec.parent_ref.name == gateway.name
                        && ls.spec.parent_ref.namespace.as_deref().unwrap_or(ns)
                            == gateway.namespace
                }),
                _ => false,
            };
            let accepted = p
                .conditions
                .iter()
                .find(|c| c.type_ == "Accepted")
                .filter(|c| c.status == "True")
                .cloned();
            if let (true, Some(mut c)) = (names_gateway, accepted) {
                c.type_ = ROUTE_RULES_OVERLAP.into();
                c.reason = ROUTE_RULES_OVERLAP.into();
                c.message = "Another rule on this Gateway has the same match and hostname; only one of them is used".into();
                p.conditions.push(c);
            }
        }
    }
}
