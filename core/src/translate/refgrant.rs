//! ReferenceGrant checks: a cross-namespace reference is allowed only when the target namespace grants it.

use crate::snapshot::Snapshot;

/// Whether an object of `from_group/from_kind` in `from_ns` may reference `to_group/to_kind` `to_name` in `to_ns`.
pub fn allowed(
    snapshot: &Snapshot,
    from: (&str, &str, &str),
    to: (&str, &str, &str, &str),
) -> bool {
    let (from_group, from_kind, from_ns) = from;
    let (to_group, to_kind, to_ns, to_name) = to;
    if from_ns == to_ns {
        return true;
    }
    snapshot.reference_grants_in(to_ns).any(|g| {
        g.spec
            .from
            .iter()
            .any(|f| f.group == from_group && f.kind == from_kind && f.namespace == from_ns)
            && g.spec.to.iter().any(|t| {
                t.group == to_group
                    && t.kind == to_kind
                    && t.name.as_deref().is_none_or(|n| n == to_name)
            })
    })
}
