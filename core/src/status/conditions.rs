//! Condition types and reasons exactly as the Gateway API spec spells them, and a builder.

use std::borrow::Cow;
use std::sync::Arc;

use crate::model::Condition;

/// Condition types.
pub mod types {
    /// The object is valid and handled by us.
    pub const ACCEPTED: &str = "Accepted";
    /// Configuration was sent to (and, under `serve`, acknowledged by) the data plane.
    pub const PROGRAMMED: &str = "Programmed";
    /// Every reference resolved.
    pub const RESOLVED_REFS: &str = "ResolvedRefs";
    /// The listener conflicts with another.
    pub const CONFLICTED: &str = "Conflicted";
    /// The object uses a feature version we support.
    pub const SUPPORTED_VERSION: &str = "SupportedVersion";
    /// The route only partly attached (some matches or filters dropped).
    pub const PARTIALLY_INVALID: &str = "PartiallyInvalid";
    /// The listener's port conflicts or is unusable.
    pub const OVERLAPPING_TLS_CONFIG: &str = "OverlappingTLSConfig";
}

/// Condition reasons.
pub mod reasons {
    #![allow(missing_docs)]
    pub const ACCEPTED: &str = "Accepted";
    pub const PROGRAMMED: &str = "Programmed";
    pub const RESOLVED_REFS: &str = "ResolvedRefs";
    pub const PENDING: &str = "Pending";
    pub const INVALID: &str = "Invalid";
    pub const INVALID_PARAMETERS: &str = "InvalidParameters";
    pub const UNSUPPORTED: &str = "Unsupported";
    pub const UNSUPPORTED_VALUE: &str = "UnsupportedValue";
    pub const UNSUPPORTED_PROTOCOL: &str = "UnsupportedProtocol";
    pub const UNSUPPORTED_ADDRESS: &str = "UnsupportedAddress";
    pub const ADDRESS_NOT_ASSIGNED: &str = "AddressNotAssigned";
    pub const ADDRESS_NOT_USABLE: &str = "AddressNotUsable";
    pub const LISTENERS_NOT_VALID: &str = "ListenersNotValid";
    pub const NO_CONFLICTS: &str = "NoConflicts";
    pub const PROTOCOL_CONFLICT: &str = "ProtocolConflict";
    pub const HOSTNAME_CONFLICT: &str = "HostnameConflict";
    pub const PORT_UNAVAILABLE: &str = "PortUnavailable";
    pub const INVALID_CERTIFICATE_REF: &str = "InvalidCertificateRef";
    pub const INVALID_ROUTE_KINDS: &str = "InvalidRouteKinds";
    pub const REF_NOT_PERMITTED: &str = "RefNotPermitted";
    pub const NOT_ALLOWED_BY_LISTENERS: &str = "NotAllowedByListeners";
    pub const NO_MATCHING_LISTENER_HOSTNAME: &str = "NoMatchingListenerHostname";
    pub const NO_MATCHING_PARENT: &str = "NoMatchingParent";
    pub const BACKEND_NOT_FOUND: &str = "BackendNotFound";
    pub const INVALID_KIND: &str = "InvalidKind";
    pub const UNSUPPORTED_APP_PROTOCOL: &str = "UnsupportedProtocol";
    pub const INVALID_CA_CERTIFICATE_REF: &str = "InvalidCACertificateRef";
    pub const INVALID_CA_CERTIFICATE_KIND: &str = "InvalidCACertificateKind";
    pub const NO_VALID_CA_CERTIFICATE: &str = "NoValidCACertificate";
    pub const CONFLICTED: &str = "Conflicted";
    pub const TARGET_NOT_FOUND: &str = "TargetNotFound";
    pub const NOT_ALLOWED_BY_PARENT: &str = "NotAllowedByParent";
    pub const LISTENER_SETS_NOT_ALLOWED: &str = "NotAllowed";
    pub const PARENT_NOT_ACCEPTED: &str = "ParentNotAccepted";
    pub const INVALID_PARENT_REF: &str = "InvalidParentRef";
    pub const SUPPORTED_VERSION: &str = "SupportedVersion";
    pub const REJECTED_BY_PROXY: &str = "RejectedByProxy";
}

/// Builds conditions with the object's generation and the translation's timestamp.
#[derive(Debug, Clone)]
pub struct ConditionBuilder<'a> {
    /// The object's `metadata.generation`.
    pub generation: Option<i64>,
    /// The timestamp passed into the translation, shared by every condition.
    pub time: &'a Arc<str>,
}

impl ConditionBuilder<'_> {
    /// One condition. Type and reason are the constants of [`types`] and [`reasons`] (or Envoy
    /// Gateway's), so they are borrowed, not copied.
    pub fn make(
        &self,
        type_: &'static str,
        status: bool,
        reason: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Condition {
        Condition {
            type_: Cow::Borrowed(type_),
            status: Cow::Borrowed(if status { "True" } else { "False" }),
            reason: reason.into(),
            message: message.into(),
            observed_generation: self.generation,
            last_transition_time: self.time.clone(),
        }
    }
}

/// Sets a condition in a list, replacing one of the same type.
pub fn set_condition(list: &mut Vec<Condition>, c: Condition) {
    match list.iter_mut().find(|x| x.type_ == c.type_) {
        Some(existing) => *existing = c,
        None => list.push(c),
    }
}

/// Finds a condition by type.
pub fn find<'a>(list: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    list.iter().find(|c| c.type_ == type_)
}
