//! ReferenceGrant and BackendTLSPolicy: who may reference what, and how to talk TLS to backends.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::limits;

use super::refs::LocalObjectReference;

/// Allows objects of some kinds in other namespaces to reference objects in this one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = limits::required("from"), transform = limits::required("to"))]
pub struct ReferenceGrantSpec {
    /// Who may refer.
    #[serde(default)]
    #[schemars(transform = limits::GRANT_PEERS.schema())]
    pub from: Vec<ReferenceGrantFrom>,
    /// What they may refer to.
    #[serde(default)]
    #[schemars(transform = limits::GRANT_PEERS.schema())]
    pub to: Vec<ReferenceGrantTo>,
}

/// A group/kind/namespace allowed to refer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReferenceGrantFrom {
    /// Group of the referring kind.
    #[schemars(transform = limits::GROUP.schema())]
    pub group: String,
    /// Referring kind.
    #[schemars(transform = limits::KIND.schema())]
    pub kind: String,
    /// Namespace of the referring objects.
    #[schemars(transform = limits::NAMESPACE.schema())]
    pub namespace: String,
}

/// A group/kind (and optionally name) that may be referred to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReferenceGrantTo {
    /// Group of the target kind (`""` for core).
    #[schemars(transform = limits::GROUP.schema())]
    pub group: String,
    /// Target kind.
    #[schemars(transform = limits::KIND.schema())]
    pub kind: String,
    /// A single object; all of the kind when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::OBJECT_NAME.schema())]
    pub name: Option<String>,
}

/// Upstream TLS for the Services it targets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = limits::required("targetRefs"))]
pub struct BackendTlsPolicySpec {
    /// Services (optionally one port by sectionName) to apply to.
    #[serde(default)]
    #[schemars(transform = limits::TARGET_REFS.schema())]
    pub target_refs: Vec<LocalPolicyTargetReferenceWithSectionName>,
    /// How to verify the backend's certificate.
    pub validation: BackendTlsPolicyValidation,
    /// Implementation-specific options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::OPTIONS.schema())]
    pub options: Option<BTreeMap<String, String>>,
}

/// A policy target in the policy's namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalPolicyTargetReferenceWithSectionName {
    /// Target group (`""` for Service).
    #[schemars(transform = limits::GROUP.schema())]
    pub group: String,
    /// Target kind.
    #[schemars(transform = limits::KIND.schema())]
    pub kind: String,
    /// Target name.
    #[schemars(transform = limits::OBJECT_NAME.schema())]
    pub name: String,
    /// A port name of the Service; all ports when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::SECTION_NAME.schema())]
    pub section_name: Option<String>,
}

/// Certificate verification of a backend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackendTlsPolicyValidation {
    /// ConfigMaps holding CA bundles (`ca.crt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::BACKEND_CA_REFS.schema())]
    pub ca_certificate_refs: Option<Vec<LocalObjectReference>>,
    /// `System` to use the system trust store.
    #[serde(
        rename = "wellKnownCACertificates",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(transform = limits::WELL_KNOWN_CA.schema())]
    pub well_known_ca_certificates: Option<String>,
    /// SNI sent and name verified.
    #[schemars(transform = limits::PRECISE_HOSTNAME.schema())]
    pub hostname: String,
    /// Names accepted instead of `hostname`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::SUBJECT_ALT_NAMES.schema())]
    pub subject_alt_names: Option<Vec<SubjectAltName>>,
}

/// One acceptable subject alternative name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubjectAltName {
    /// `Hostname` or `URI`.
    #[serde(rename = "type")]
    #[schemars(transform = limits::SAN_TYPE.schema())]
    pub type_: String,
    /// DNS name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::HOSTNAME.schema())]
    pub hostname: Option<String>,
    /// URI SAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = limits::SAN_URI.schema())]
    pub uri: Option<String>,
}
