//! Fixtures shared by the unit tests of the translation.

use crate::{load, translate, Options, Snapshot, Translation};

/// The GatewayClass `gc` every fixture's Gateways name, accepted by the default controller.
pub(crate) const GATEWAY_CLASS: &str = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: gc}\nspec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}\n";

/// Translates `manifests` after [`GATEWAY_CLASS`], failing the test on any load error.
pub(crate) fn translate_manifests(manifests: &str, opts: &Options) -> Translation {
    let text = format!("{GATEWAY_CLASS}---\n{manifests}");
    let loaded = load::parse_str(&text, "test.yaml");
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    translate(&Snapshot::from_loaded(loaded.objects), opts)
}
