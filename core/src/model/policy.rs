//! ReferenceGrant and BackendTLSPolicy: who may reference what, and how to talk TLS to backends.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::refs::LocalObjectReference;

/// Allows objects of some kinds in other namespaces to reference objects in this one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReferenceGrantSpec {
    /// Who may refer.
    #[serde(default)]
    pub from: Vec<ReferenceGrantFrom>,
    /// What they may refer to.
    #[serde(default)]
    pub to: Vec<ReferenceGrantTo>,
}

/// A group/kind/namespace allowed to refer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReferenceGrantFrom {
    /// Group of the referring kind.
    pub group: String,
    /// Referring kind.
    pub kind: String,
    /// Namespace of the referring objects.
    pub namespace: String,
}

/// A group/kind (and optionally name) that may be referred to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReferenceGrantTo {
    /// Group of the target kind (`""` for core).
    pub group: String,
    /// Target kind.
    pub kind: String,
    /// A single object; all of the kind when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Upstream TLS for the Services it targets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackendTlsPolicySpec {
    /// Services (optionally one port by sectionName) to apply to.
    #[serde(default)]
    pub target_refs: Vec<LocalPolicyTargetReferenceWithSectionName>,
    /// How to verify the backend's certificate.
    pub validation: BackendTlsPolicyValidation,
    /// Implementation-specific options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

/// A policy target in the policy's namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalPolicyTargetReferenceWithSectionName {
    /// Target group (`""` for Service).
    pub group: String,
    /// Target kind.
    pub kind: String,
    /// Target name.
    pub name: String,
    /// A port name of the Service; all ports when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
}

/// Certificate verification of a backend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackendTlsPolicyValidation {
    /// ConfigMaps holding CA bundles (`ca.crt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate_refs: Option<Vec<LocalObjectReference>>,
    /// `System` to use the system trust store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub well_known_ca_certificates: Option<String>,
    /// SNI sent and name verified.
    pub hostname: String,
    /// Names accepted instead of `hostname`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_alt_names: Option<Vec<SubjectAltName>>,
}

/// One acceptable subject alternative name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubjectAltName {
    /// `Hostname` or `URI`.
    #[serde(rename = "type")]
    pub type_: String,
    /// DNS name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// URI SAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}
