//! Gateway API status: condition types and reasons in one place, and the status documents we emit.

pub mod conditions;

use std::sync::Arc;

use serde::Serialize;

use crate::model::*;

/// The computed status of one object, in the shape `gatewright translate --to status` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusObject {
    /// `group/version` of the object.
    pub api_version: &'static str,
    /// Its kind.
    pub kind: &'static str,
    /// Its namespace and name.
    pub metadata: StatusMeta,
    /// The status this controller computed.
    pub status: StatusBody,
}

/// Namespace and name of an object with status.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct StatusMeta {
    /// Namespace, absent for cluster-scoped kinds (shared with the object's key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Arc<str>>,
    /// Name (shared with the object's key).
    pub name: Arc<str>,
}

/// The status of any kind we write status for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[allow(missing_docs)]
pub enum StatusBody {
    GatewayClass(GatewayClassStatus),
    Gateway(GatewayStatus),
    ListenerSet(ListenerSetStatus),
    Route(RouteStatus),
    Policy(PolicyStatus),
}

impl StatusObject {
    /// Builds the status document of an object.
    pub fn new(key: &ObjectKey, status: StatusBody) -> Self {
        StatusObject {
            api_version: key.kind.api_version(),
            kind: key.kind.as_str(),
            metadata: StatusMeta {
                namespace: (!key.namespace.is_empty()).then(|| key.namespace.clone()),
                name: key.name.clone(),
            },
            status,
        }
    }

    /// The object's key.
    pub fn key(&self) -> Option<ObjectKey> {
        Some(ObjectKey {
            kind: crate::model::Kind::parse(self.kind)?,
            namespace: self.metadata.namespace.clone().unwrap_or_else(|| "".into()),
            name: self.metadata.name.clone(),
        })
    }

    /// Every condition of the object, including per-listener and per-parent ones.
    pub fn all_conditions(&self) -> Vec<&Condition> {
        match &self.status {
            StatusBody::GatewayClass(s) => s.conditions.iter().collect(),
            StatusBody::Gateway(s) => s
                .conditions
                .iter()
                .chain(s.listeners.iter().flat_map(|l| l.conditions.iter()))
                .collect(),
            StatusBody::ListenerSet(s) => s
                .conditions
                .iter()
                .chain(s.listeners.iter().flat_map(|l| l.conditions.iter()))
                .collect(),
            StatusBody::Route(s) => s.parents.iter().flat_map(|p| p.conditions.iter()).collect(),
            StatusBody::Policy(s) => s
                .ancestors
                .iter()
                .flat_map(|p| p.conditions.iter())
                .collect(),
        }
    }

    /// Every condition of the object, mutably, in the order of [`StatusObject::all_conditions`].
    pub fn all_conditions_mut(&mut self) -> Vec<&mut Condition> {
        match &mut self.status {
            StatusBody::GatewayClass(s) => s.conditions.iter_mut().collect(),
            StatusBody::Gateway(s) => s
                .conditions
                .iter_mut()
                .chain(s.listeners.iter_mut().flat_map(|l| l.conditions.iter_mut()))
                .collect(),
            StatusBody::ListenerSet(s) => s
                .conditions
                .iter_mut()
                .chain(s.listeners.iter_mut().flat_map(|l| l.conditions.iter_mut()))
                .collect(),
            StatusBody::Route(s) => s
                .parents
                .iter_mut()
                .flat_map(|p| p.conditions.iter_mut())
                .collect(),
            StatusBody::Policy(s) => s
                .ancestors
                .iter_mut()
                .flat_map(|p| p.conditions.iter_mut())
                .collect(),
        }
    }

    /// Gives each condition that says exactly what the same condition of `old` said the time
    /// `old` has: a condition's `lastTransitionTime` moves only when the condition changes.
    pub fn keep_times_of(&mut self, old: &StatusObject) {
        for (n, o) in self
            .all_conditions_mut()
            .into_iter()
            .zip(old.all_conditions())
        {
            if n.type_ == o.type_
                && n.status == o.status
                && n.reason == o.reason
                && n.message == o.message
                && n.observed_generation == o.observed_generation
            {
                n.last_transition_time.clone_from(&o.last_transition_time);
            }
        }
    }
}
