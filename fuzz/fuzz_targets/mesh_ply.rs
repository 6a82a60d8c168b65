//! Mesh files: `.ply`, then the mesh statistics of what was read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: twin_fuzz::contained_panics_are_errors(), |data: &[u8]| {
    let path = twin_fuzz::write("mesh.ply", data);
    match twin_mesh::io::read_mesh(&path) {
        Ok(mesh) => {
            let _ = mesh.stats();
        }
        Err(e) => twin_fuzz::names_file(&e.to_string(), &path),
    }
});
