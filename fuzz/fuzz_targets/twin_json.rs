//! Twin documents (and the bare cardiac scenario files they migrate).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: twin_fuzz::contained_panics_are_errors(), |data: &[u8]| {
    let path = twin_fuzz::write("case.twin.json", data);
    match twin_scenario::TwinDocument::read(&path) {
        Ok((doc, _)) => {
            let _ = doc.check();
            let _ = doc.to_text();
        }
        Err(e) => twin_fuzz::names_file(&e.to_string(), &path),
    }
});
