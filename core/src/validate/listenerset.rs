//! ListenerSet: its parent Gateway and its listeners (checked as a Gateway's are).

use super::common::{conditions, Cx, Path};
use super::gateway::{listener_statuses, listeners};
use crate::model::limits;
use crate::model::*;

/// `ListenerSet.spec`.
pub(crate) fn spec(cx: &mut Cx, s: &ListenerSetSpec) {
    let spec = Path::root("spec");
    let p = spec.f("parentRef");
    let r = &s.parent_ref;
    cx.opt_str(&p.f("group"), r.group.as_deref(), &limits::GROUP);
    cx.opt_str(&p.f("kind"), r.kind.as_deref(), &limits::KIND);
    cx.str(&p.f("name"), &r.name, &limits::OBJECT_NAME);
    cx.opt_str(
        &p.f("namespace"),
        r.namespace.as_deref(),
        &limits::NAMESPACE,
    );
    listeners(cx, &spec.f("listeners"), &s.listeners);
}

/// `ListenerSet.status`.
pub(crate) fn status(cx: &mut Cx, s: &ListenerSetStatus) {
    let status = Path::root("status");
    conditions(
        cx,
        &status.f("conditions"),
        &s.conditions,
        &limits::CONDITIONS,
    );
    listener_statuses(cx, &status.f("listeners"), &s.listeners);
}
