//! GatewayClass: controller name (immutable), description, parameters, status.

use super::common::{conditions, Cx, Path};
use crate::model::limits;
use crate::model::*;

/// `GatewayClass.spec`.
pub(crate) fn spec(cx: &mut Cx, s: &GatewayClassSpec) {
    let spec = Path::root("spec");
    cx.str(
        &spec.f("controllerName"),
        &s.controller_name,
        &limits::CONTROLLER_NAME,
    );
    cx.opt_str(
        &spec.f("description"),
        s.description.as_deref(),
        &limits::DESCRIPTION,
    );
    if let Some(p) = &s.parameters_ref {
        let pp = spec.f("parametersRef");
        cx.str(&pp.f("group"), &p.group, &limits::GROUP);
        cx.str(&pp.f("kind"), &p.kind, &limits::KIND);
        cx.str(&pp.f("name"), &p.name, &limits::OBJECT_NAME);
        cx.opt_str(
            &pp.f("namespace"),
            p.namespace.as_deref(),
            &limits::NAMESPACE,
        );
    }
}

/// The transition rule `self == oldSelf` of `spec.controllerName`.
pub(crate) fn transition(cx: &mut Cx, old: &GatewayClassSpec, new: &GatewayClassSpec) {
    cx.rule(
        &Path::root("spec").f("controllerName"),
        old.controller_name == new.controller_name,
        "Value is immutable",
    );
}

/// `GatewayClass.status`.
pub(crate) fn status(cx: &mut Cx, s: &GatewayClassStatus) {
    let status = Path::root("status");
    conditions(
        cx,
        &status.f("conditions"),
        &s.conditions,
        &limits::CONDITIONS,
    );
    if let Some(features) = &s.supported_features {
        let fp = status.f("supportedFeatures");
        cx.count(&fp, features.len(), &limits::SUPPORTED_FEATURES);
        cx.unique_keys(&fp, "name", features.iter().map(|f| f.name.as_str()));
    }
}
