//! Properties of the translation over generated resource graphs:
//! deterministic under any input order, and incremental == full after random edits.

mod common;

use common::*;
use gatewright::engine::{Change, Engine};
use gatewright::output::{document, DocumentOptions};
use gatewright::{translate, Object, Options, Parallelism, Snapshot, Translation};
use proptest::prelude::*;

fn render(t: &Translation) -> String {
    render_with(t, Parallelism::default())
}

fn render_with(t: &Translation, parallel: Parallelism) -> String {
    let opts = DocumentOptions {
        parallel,
        ..DocumentOptions::default()
    };
    serde_json::to_string(&document(t, &opts).expect("render")).expect("json")
}

#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
enum Edit {
    Upsert(Object),
    Delete(usize),
    /// New options, which translate every route again (those translated before included).
    Address(Option<String>),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        6 => object().prop_map(Edit::Upsert),
        2 => any::<usize>().prop_map(Edit::Delete),
        1 => prop::option::of("10\\.0\\.0\\.[1-3]").prop_map(Edit::Address),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn same_input_in_any_order_gives_byte_identical_output(objs in graph(), seed in any::<u64>()) {
        // One object per key: with duplicates, "the later one wins" is order by definition.
        let objs: Vec<Object> = objs
            .into_iter()
            .map(|o| (o.key(), o))
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_values()
            .collect();
        let a = render(&translate(&Snapshot::from_objects(objs.clone()), &Options::default()));
        let mut shuffled = objs;
        // Fisher–Yates with a fixed generator.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let b = render(&translate(&Snapshot::from_objects(shuffled), &Options::default()));
        prop_assert!(a == b, "output differs with input order");
    }

    #[test]
    fn incremental_and_full_translation_agree_after_random_edits(
        objs in graph(),
        edits in prop::collection::vec(edit(), 1..25),
    ) {
        let mut engine = Engine::with_snapshot(Snapshot::from_objects(objs), Options::default());
        engine.translate();
        let mut opts = Options::default();
        for e in edits {
            match e {
                Edit::Upsert(o) => { engine.apply(Change::Upsert(o, None)); }
                Edit::Delete(i) => {
                    let keys: Vec<_> = engine.snapshot().iter().map(|o| o.key()).collect();
                    if !keys.is_empty() {
                        engine.apply(Change::Delete(keys[i % keys.len()].clone()));
                    }
                }
                Edit::Address(address) => {
                    opts.address = address;
                    engine.set_options(opts.clone());
                }
            }
            let incremental = engine.translate();
            let full = translate(engine.snapshot(), &opts);
            prop_assert!(incremental.gateways == full.gateways, "incremental IR differs from full");
            prop_assert!(render(&incremental) == render(&full), "incremental output differs from full");
            // The edited snapshot's indexes (endpoints per Service, objects per namespace) match
            // those of one built afresh from the same objects.
            let afresh = Snapshot::from_objects(engine.snapshot().iter().cloned());
            let fresh = translate(&afresh, &opts);
            prop_assert!(render(&fresh) == render(&full), "an edited snapshot differs from one built afresh");
        }
    }
}

proptest! {
    // Hundreds of routes per case: a few cases cover the runs, their caches and their order.
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn routes_translated_in_parallel_give_the_output_of_one_thread(
        objs in large_graph(),
        edits in prop::collection::vec(object(), 1..6),
    ) {
        // Shared out from 64 routes: the runs are small and many, as at 10,000 routes.
        let parallel = |n: usize| Parallelism {
            threads: std::num::NonZeroUsize::new(n),
            from: 64,
        };
        let threads = |n: usize| Options {
            parallel: parallel(n),
            ..Options::default()
        };
        let snapshot = Snapshot::from_objects(objs);
        let one = render_with(&translate(&snapshot, &threads(1)), Parallelism::ONE_THREAD);
        let three = translate(&snapshot, &threads(3));
        prop_assert!(render_with(&three, Parallelism::ONE_THREAD) == one, "three threads differ from one");
        // The Gateways built and rendered on several threads come back in order.
        prop_assert!(render_with(&three, parallel(3)) == one, "Gateways rendered on three threads differ");
        // An engine's first update shares the routes out too, each run filling a cache of its
        // own: after edits, what it rebuilds from those caches matches one thread from scratch.
        let mut engine = Engine::with_snapshot(snapshot, threads(3));
        prop_assert!(render(&engine.translate()) == one, "an engine's first update differs");
        for o in edits {
            engine.apply(Change::Upsert(o, None));
            let incremental = engine.translate();
            let full = translate(engine.snapshot(), &threads(1));
            prop_assert!(render(&incremental) == render(&full), "incremental output differs from one thread");
        }
    }
}

#[test]
fn one_changed_route_rebuilds_one_route() {
    let mut objs = base();
    objs.push(gateway(0, "All", None));
    for ns in NAMESPACES {
        for n in 0..4 {
            objs.push(service(ns, n));
            objs.push(slice(ns, n, 3));
        }
    }
    for n in 0..50u8 {
        objs.push(route(&RouteSpec {
            kind: 0,
            ns: 1,
            n,
            gw: 0,
            section: None,
            host: None,
            backends: vec![(1, n % 4, 1)],
            path: "/",
            exact: false,
        }));
    }
    let mut engine = Engine::with_snapshot(Snapshot::from_objects(objs), Options::default());
    engine.translate();
    assert_eq!(engine.routes_built(), 50);
    engine.apply(Change::Upsert(
        route(&RouteSpec {
            kind: 0,
            ns: 1,
            n: 7,
            gw: 0,
            section: None,
            host: Some("a.example.com"),
            backends: vec![(1, 2, 1)],
            path: "/x",
            exact: true,
        }),
        None,
    ));
    engine.translate();
    assert_eq!(
        engine.routes_built(),
        51,
        "only the changed route is rebuilt"
    );
    // An EndpointSlice change rebuilds exactly the routes using its Service.
    engine.apply(Change::Upsert(slice(NAMESPACES[1], 3, 1), None));
    engine.translate();
    let users_of_svc3 = (0..50u8).filter(|n| n % 4 == 3 && *n != 7).count() as u64;
    assert_eq!(engine.routes_built(), 51 + users_of_svc3);
}
