//! Bytes → load → validate every object on both channels, and as an update of the previous one.
#![no_main]

use gatewright::validate::{validate, validate_update, Channel};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let r = gatewright::load::files::load_bytes(data, "fuzz.yaml");
    let mut prev: Option<&gatewright::Object> = None;
    for l in &r.objects {
        for channel in [Channel::Standard, Channel::Experimental] {
            for d in validate(&l.object, channel) {
                let _ = d.to_string();
            }
            if let Some(old) = prev.filter(|o| o.key() == l.object.key()) {
                let _ = validate_update(old, &l.object, channel);
            }
        }
        prev = Some(&l.object);
    }
});
