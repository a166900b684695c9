//! Rules that shadow each other: two rules (of one route or of several) with the same match on
//! the same hostname of one listener. Only one of them can ever be chosen, so every route
//! involved gets Envoy Gateway's `RouteRulesOverlap` condition for that Gateway.
//!
//! The groups are kept up to date as routes come and go, so a changed route costs the groups
//! it is in, not a pass over every route of the Gateway.

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHasher};
use smallvec::SmallVec;

use super::ir::RouteIr;
use crate::model::*;
use crate::status::conditions::types;

/// Envoy Gateway's condition type (and reason) for routes with identical matches.
pub const ROUTE_RULES_OVERLAP: &str = "RouteRulesOverlap";

/// Routes placed on one listener and hostname with one match; members are distinct by name.
#[derive(Debug, Clone)]
struct Group {
    listener: usize,
    host: String,
    /// (route, times placed); the match is the first member's. Inline: most groups have one.
    members: SmallVec<[(Arc<RouteIr>, u32); 1]>,
}

impl Group {
    /// The routes to mark when rules of different names share the match, else none.
    fn marked(&self) -> BTreeSet<ObjectKey> {
        if self.members.len() < 2 {
            return BTreeSet::new();
        }
        self.members.iter().map(|(r, _)| r.source.clone()).collect()
    }
}

/// The overlap groups of one Gateway, and per route how many overlapping groups it is in.
#[derive(Debug, Clone, Default)]
pub struct Groups {
    /// Groups by a hash of (listener, hostname, match); equal hashes are told apart by content.
    /// Never iterated, so the hash only has to be cheap; most buckets hold one group, inline.
    groups: FxHashMap<u64, SmallVec<[Group; 1]>>,
    /// Routes in at least one overlapping group, with the number of such groups.
    counts: FxHashMap<ObjectKey, u32>,
}

fn bucket(listener: usize, host: &str, r: &RouteIr) -> u64 {
    // Cheap (a word at a time); a bucket is only a shortcut to the groups compared in full.
    let mut h = FxHasher::default();
    listener.hash(&mut h);
    host.hash(&mut h);
    r.matcher.hash(&mut h);
    h.finish()
}

impl Groups {
    /// Makes room for about `rules` more placed rules (see [`super::placements::Placements::reserve`]).
    pub fn reserve(&mut self, rules: usize) {
        self.groups.reserve(rules);
    }

    /// Places a route's rule on a listener's hostname; routes whose overlap may have changed go into `changed`.
    pub fn add(
        &mut self,
        listener: usize,
        host: &str,
        r: &Arc<RouteIr>,
        changed: &mut BTreeSet<ObjectKey>,
    ) {
        let list = self.groups.entry(bucket(listener, host, r)).or_default();
        let i = match list.iter().position(|g| {
            g.listener == listener && g.host == host && g.members[0].0.matcher == r.matcher
        }) {
            Some(i) => i,
            None => {
                list.push(Group {
                    listener,
                    host: host.to_string(),
                    members: SmallVec::new(),
                });
                list.len() - 1
            }
        };
        let g = &mut list[i];
        if let Some(m) = g.members.iter_mut().find(|(m, _)| m.name == r.name) {
            m.1 += 1;
            return;
        }
        let before = g.marked();
        g.members.push((r.clone(), 1));
        let after = g.marked();
        self.recount(before, after, changed);
    }

    /// Takes back one [`Groups::add`].
    pub fn remove(
        &mut self,
        listener: usize,
        host: &str,
        r: &RouteIr,
        changed: &mut BTreeSet<ObjectKey>,
    ) {
        let b = bucket(listener, host, r);
        let Some(list) = self.groups.get_mut(&b) else {
            return;
        };
        let Some(i) = list.iter().position(|g| {
            g.listener == listener && g.host == host && g.members[0].0.matcher == r.matcher
        }) else {
            return;
        };
        let g = &mut list[i];
        let Some(m) = g.members.iter().position(|(m, _)| m.name == r.name) else {
            return;
        };
        if g.members[m].1 > 1 {
            g.members[m].1 -= 1;
            return;
        }
        let before = g.marked();
        g.members.remove(m);
        let after = g.marked();
        if g.members.is_empty() {
            list.swap_remove(i);
            if list.is_empty() {
                self.groups.remove(&b);
            }
        }
        self.recount(before, after, changed);
    }

    fn recount(
        &mut self,
        before: BTreeSet<ObjectKey>,
        after: BTreeSet<ObjectKey>,
        changed: &mut BTreeSet<ObjectKey>,
    ) {
        if before == after {
            return;
        }
        for s in before {
            if let Some(n) = self.counts.get_mut(&s) {
                *n -= 1;
                if *n == 0 {
                    self.counts.remove(&s);
                }
            }
            changed.insert(s);
        }
        for s in after {
            *self.counts.entry(s.clone()).or_default() += 1;
            changed.insert(s);
        }
    }

    /// Whether a route has a rule sharing its match and hostname with another rule here.
    pub fn overlapping(&self, route: &ObjectKey) -> bool {
        self.counts.contains_key(route)
    }

    /// Whether any route here overlaps another: most Gateways have none, and then no route's
    /// status needs a lookup.
    pub fn any(&self) -> bool {
        !self.counts.is_empty()
    }
}

/// Adds `RouteRulesOverlap: True` to a parent's status when it is accepted.
pub fn mark(p: &mut RouteParentStatus) {
    let accepted = p
        .conditions
        .iter()
        .find(|c| c.type_ == types::ACCEPTED)
        .filter(|c| c.status == "True")
        .cloned();
    if let Some(mut c) = accepted {
        c.type_ = ROUTE_RULES_OVERLAP.into();
        c.reason = ROUTE_RULES_OVERLAP.into();
        c.message = "Another rule on this Gateway has the same match and hostname; only one of them is used".into();
        p.conditions.push(c);
    }
}
