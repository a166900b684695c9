//! Who answered: the identity variables every echo-basic mode reports, so tests can tell which
//! backend (Deployment, pod, Service) a request reached.

use serde::Serialize;

/// The identity fields of every reply (`namespace`, `ingress`, `service`, `pod`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// `NAMESPACE`.
    pub namespace: String,
    /// `INGRESS_NAME`.
    pub ingress: String,
    /// `SERVICE_NAME`.
    pub service: String,
    /// `POD_NAME`; the suite expects it to start with the Deployment name.
    pub pod: String,
}

impl Identity {
    /// Reads the identity variables through `lookup`; unset variables give empty strings.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| lookup(k).unwrap_or_default();
        Identity {
            namespace: get("NAMESPACE"),
            ingress: get("INGRESS_NAME"),
            service: get("SERVICE_NAME"),
            pod: get("POD_NAME"),
        }
    }
}
