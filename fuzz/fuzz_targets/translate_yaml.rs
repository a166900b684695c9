//! Bytes → load → translate → render every output: nothing panics, output is deterministic.
#![no_main]

use gatewright::output::{self, DocumentOptions};
use gatewright::{translate, Options, Snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let r = gatewright::load::files::load_bytes(data, "fuzz.yaml");
    if r.objects.is_empty() {
        return;
    }
    let snapshot = Snapshot::from_loaded(r.objects);
    let t = translate(&snapshot, &Options::default());
    let doc = output::document(&t, &DocumentOptions::default()).ok();
    for g in t.gateways.keys() {
        let _ = output::static_bootstrap(&t, g, "127.0.0.1");
    }
    for ir in t.gateways.values() {
        let _ = gatewright::xds::build(ir, gatewright::xds::Delivery::Ads, "0.0.0.0").encoded();
    }
    let again = output::document(&translate(&snapshot, &Options::default()), &DocumentOptions::default()).ok();
    assert!(doc == again, "translation is not deterministic");
});
