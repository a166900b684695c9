//! Arbitrary bytes as a manifest file: loading never panics, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let r = gatewright::load::files::load_bytes(data, "fuzz.yaml");
    for l in &r.objects {
        // Keys and diagnostics render for every object that loaded.
        let _ = l.object.key();
    }
    for d in &r.diagnostics {
        let _ = d.to_string();
    }
});
