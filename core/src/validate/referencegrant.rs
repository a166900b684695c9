//! ReferenceGrant: who may refer (`from`) to what (`to`).

use super::common::{Cx, Path};
use crate::model::limits;
use crate::model::*;

/// `ReferenceGrant.spec`.
pub(crate) fn spec(cx: &mut Cx, s: &ReferenceGrantSpec) {
    let spec = Path::root("spec");
    let fp = spec.f("from");
    cx.count(&fp, s.from.len(), &limits::GRANT_PEERS);
    for (i, f) in s.from.iter().enumerate() {
        let p = fp.i(i);
        cx.str(&p.f("group"), &f.group, &limits::GROUP);
        cx.str(&p.f("kind"), &f.kind, &limits::KIND);
        cx.str(&p.f("namespace"), &f.namespace, &limits::NAMESPACE);
    }
    let tp = spec.f("to");
    cx.count(&tp, s.to.len(), &limits::GRANT_PEERS);
    for (i, t) in s.to.iter().enumerate() {
        let p = tp.i(i);
        cx.str(&p.f("group"), &t.group, &limits::GROUP);
        cx.str(&p.f("kind"), &t.kind, &limits::KIND);
        cx.opt_str(&p.f("name"), t.name.as_deref(), &limits::OBJECT_NAME);
    }
}
