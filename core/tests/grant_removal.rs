//! Deleting a ReferenceGrant through the incremental engine removes what it allowed.

mod common;

use common::*;
use gatewright::engine::{Change, Engine};
use gatewright::{translate, Options, Snapshot};

#[test]
fn deleting_a_grant_removes_the_cross_namespace_cluster_incrementally() {
    let mut objs = base();
    objs.push(gateway(0, "All", None));
    objs.push(service(NAMESPACES[2], 0));
    objs.push(slice(NAMESPACES[2], 0, 2));
    let g = grant(1, 2);
    let gkey = g.key();
    objs.push(g);
    objs.push(route(&RouteSpec {
        kind: 0,
        ns: 1,
        n: 1,
        gw: 0,
        section: None,
        host: None,
        backends: vec![(2, 0, 1)],
        path: "/",
        exact: false,
    }));
    let snapshot = Snapshot::from_objects(objs);
    let mut engine = Engine::with_snapshot(snapshot, Options::default());
    let before = engine.translate();
    assert!(before.gateways["infra/gw-0"]
        .clusters
        .contains_key("team-b/svc-0/80"));
    engine.apply(Change::Delete(gkey));
    let after = engine.translate();
    let full = translate(engine.snapshot(), &Options::default());
    assert!(!full.gateways["infra/gw-0"]
        .clusters
        .contains_key("team-b/svc-0/80"));
    assert!(
        !after.gateways["infra/gw-0"]
            .clusters
            .contains_key("team-b/svc-0/80"),
        "the incremental engine kept the cluster the deleted grant allowed"
    );
    assert!(after.gateways == full.gateways);
}
