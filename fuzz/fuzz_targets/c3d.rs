//! C3D motion capture files (markers, analog channels, force plates).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: twin_fuzz::contained_panics_are_errors(), |data: &[u8]| {
    let path = twin_fuzz::write("trial.c3d", data);
    match twin_msk::C3dTrial::read(&path) {
        Ok(trial) => {
            for plate in &trial.plates {
                let _ = plate.normal_force();
            }
        }
        Err(e) => twin_fuzz::names_file(&e.to_string(), &path),
    }
});
