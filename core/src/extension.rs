//! Extension hooks: post-process generated Envoy resources per Gateway without forking the engine,
//! the way Envoy Gateway's extension server and EnvoyPatchPolicy do.

use crate::xds::GatewayResources;

/// Edits a Gateway's Envoy resources after translation and before they are served.
///
/// Implementations see every listener, route, cluster, endpoint and secret of one Gateway
/// (`namespace/name`) and may change, add or remove any of them. What Envoy rejects is
/// reported back as a NACK in the Gateway's status, like any other configuration.
pub trait Extension: Send + Sync {
    /// Edit `resources` of Gateway `gateway` in place.
    fn post_process(&self, gateway: &str, resources: &mut GatewayResources);
}

/// Several extensions, applied in order.
pub struct Chain(pub Vec<Box<dyn Extension>>);

impl Extension for Chain {
    fn post_process(&self, gateway: &str, resources: &mut GatewayResources) {
        for e in &self.0 {
            e.post_process(gateway, resources);
        }
    }
}
