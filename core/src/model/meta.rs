//! Kubernetes object metadata and the status building blocks shared by every kind.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::limits;

/// The subset of Kubernetes `ObjectMeta` the translation reads; everything else is dropped on load, as the API server would prune it for us.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Object name, unique per kind and namespace.
    #[serde(default)]
    pub name: String,
    /// Namespace; objects loaded without one are placed in `default`, as kubectl does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels select namespaces and routes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations are kept so extensions can read their own settings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Reported back as `observedGeneration` in every condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// Breaks conflicts between routes: the oldest wins, as the spec orders them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// Kept for tools that correlate objects with a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Kept for tools that correlate objects with a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

impl ObjectMeta {
    /// The namespace, or `default` when the manifest left it out.
    pub fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }
}

/// A status condition, exactly as `metav1.Condition` serializes. Type, status and reason are
/// almost always constants and the time is shared by every condition of a translation, so
/// none of them is copied per condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, e.g. `Accepted`.
    #[serde(rename = "type")]
    #[schemars(transform = limits::CONDITION_TYPE.schema())]
    pub type_: Cow<'static, str>,
    /// `True`, `False` or `Unknown`.
    #[schemars(transform = limits::CONDITION_STATUS.schema())]
    pub status: Cow<'static, str>,
    /// Machine-readable reason in CamelCase.
    #[schemars(transform = limits::CONDITION_REASON.schema())]
    pub reason: Cow<'static, str>,
    /// Human-readable explanation.
    #[serde(default)]
    #[schemars(transform = limits::CONDITION_MESSAGE.schema())]
    pub message: Cow<'static, str>,
    /// The generation the condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::OBSERVED_GENERATION.schema())]
    pub observed_generation: Option<i64>,
    /// RFC 3339 time; passed into the translation, never read from a clock inside it.
    #[serde(default = "no_time")]
    #[schemars(with = "String")]
    pub last_transition_time: Arc<str>,
}

fn no_time() -> Arc<str> {
    Arc::from("")
}

/// Label selector as used by `allowedRoutes.namespaces.selector`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels that must all match exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// Set-based requirements that must all hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
}

/// One set-based selector requirement (`In`, `NotIn`, `Exists`, `DoesNotExist`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    /// Label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// Values for `In` and `NotIn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

impl LabelSelector {
    /// Whether a label set satisfies the selector; an unknown operator never matches, as in Kubernetes.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let labels_ok = self
            .match_labels
            .iter()
            .flatten()
            .all(|(k, v)| labels.get(k) == Some(v));
        let exprs_ok = self.match_expressions.iter().flatten().all(|e| {
            let values = e.values.as_deref().unwrap_or_default();
            match e.operator.as_str() {
                "In" => labels.get(&e.key).is_some_and(|v| values.contains(v)),
                "NotIn" => labels.get(&e.key).is_none_or(|v| !values.contains(v)),
                "Exists" => labels.contains_key(&e.key),
                "DoesNotExist" => !labels.contains_key(&e.key),
                _ => false,
            }
        });
        labels_ok && exprs_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_matches_labels_and_expressions() {
        let labels: BTreeMap<_, _> = [("env".to_string(), "prod".to_string())].into();
        let sel = LabelSelector {
            match_labels: Some(labels.clone()),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "team".into(),
                operator: "DoesNotExist".into(),
                values: None,
            }]),
        };
        assert!(sel.matches(&labels));
        let bad = LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "env".into(),
                operator: "NotIn".into(),
                values: Some(vec!["prod".into()]),
            }]),
            ..Default::default()
        };
        assert!(!bad.matches(&labels));
        assert!(LabelSelector::default().matches(&BTreeMap::new()));
    }
}
