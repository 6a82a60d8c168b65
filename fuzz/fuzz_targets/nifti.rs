//! NIfTI-1 reading (`.nii`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: twin_fuzz::contained_panics_are_errors(), |data: &[u8]| {
    let path = twin_fuzz::write("volume.nii", data);
    if let Err(e) = twin_imaging::nifti_io::read_nifti(&path) {
        twin_fuzz::names_file(&e.to_string(), &path);
    }
});
