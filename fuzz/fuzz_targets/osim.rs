//! OpenSim models (`.osim` XML, versions 2.x to 4.x), with forward
//! kinematics at the default pose when the model reads.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: twin_fuzz::contained_panics_are_errors(), |data: &[u8]| {
    let path = twin_fuzz::write("model.osim", data);
    match twin_msk::Model::read(&path) {
        Ok(model) => {
            let q = model.default_coordinates();
            let poses = model.body_poses(&q);
            let _ = model.marker_positions(&poses);
            for m in &model.muscles {
                let _ = model.path_length(m, &q, &poses);
            }
        }
        Err(e) => twin_fuzz::names_file(&e.to_string(), &path),
    }
});
