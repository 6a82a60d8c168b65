//! Marker trajectories (`.trc`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: twin_fuzz::contained_panics_are_errors(), |data: &[u8]| {
    let path = twin_fuzz::write("markers.trc", data);
    match twin_msk::Markers::read_trc(&path) {
        Ok(m) => {
            let _ = m.to_trc_text("fuzz");
        }
        Err(e) => twin_fuzz::names_file(&e.to_string(), &path),
    }
});
