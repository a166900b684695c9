//! ListenerSet: its parent Gateway and its listeners (checked as a Gateway's are).

use super::common::{conditions, parent_ref, Cx, Path};
use super::gateway::{listener_statuses, listeners};
use crate::model::limits;
use crate::model::*;

/// `ListenerSet.spec`.
pub(crate) fn spec(cx: &mut Cx, s: &ListenerSetSpec) {
    let spec = Path::root("spec");
    // The same limits as a route's parentRef, which has sectionName and port besides.
    parent_ref(
        cx,
        &spec.f("parentRef"),
        &ParentReference::from(&s.parent_ref),
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
