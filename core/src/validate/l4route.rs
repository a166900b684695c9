//! TCPRoute and UDPRoute (and what TLSRoute shares with them): parents and one rule of
//! weighted backends.

use std::sync::Arc;

use super::common::{Cx, Path};
use super::route::{backend_refs, parent_refs, use_default_gateways};
use crate::model::limits;
use crate::model::*;

/// `TCPRoute.spec` and `UDPRoute.spec`.
pub(crate) fn spec(cx: &mut Cx, s: &L4RouteSpec) {
    let spec = Path::root("spec");
    route_spec_common(
        cx,
        &spec,
        s.parent_refs.as_deref(),
        s.use_default_gateways.as_deref(),
    );
    l4_rules(cx, &spec.f("rules"), &s.rules);
}

/// `parentRefs` and `useDefaultGateways` of a connection-level route.
pub(crate) fn route_spec_common(
    cx: &mut Cx,
    spec: &Path,
    parents: Option<&[Arc<ParentReference>]>,
    use_default: Option<&str>,
) {
    parent_refs(cx, &spec.f("parentRefs"), parents);
    use_default_gateways(cx, &spec.f("useDefaultGateways"), use_default);
}

/// `spec.rules` of TLSRoute, TCPRoute and UDPRoute.
pub(crate) fn l4_rules(cx: &mut Cx, path: &Path, rules: &[L4RouteRule]) {
    cx.count(path, rules.len(), &limits::L4_RULES);
    for (i, r) in rules.iter().enumerate() {
        let p = path.i(i);
        cx.opt_str(&p.f("name"), r.name.as_deref(), &limits::SECTION_NAME);
        backend_refs(
            cx,
            &p.f("backendRefs"),
            &r.backend_refs,
            &limits::L4_BACKEND_REFS,
            |b| (&b.backend, b.weight),
            |_, _, _| {},
        );
    }
}
