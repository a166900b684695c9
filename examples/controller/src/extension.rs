//! The extension hook: post-process a Gateway's generated Envoy resources without forking the engine.

use gatewright::xds::GatewayResources;

/// Called with every Gateway's resources before they are served, like Envoy Gateway's extension hooks.
pub trait Extension: Send + Sync {
    /// Edit `resources` of Gateway `gateway` (`namespace/name`) in place.
    fn post_process(&self, gateway: &str, resources: &mut GatewayResources);
}
