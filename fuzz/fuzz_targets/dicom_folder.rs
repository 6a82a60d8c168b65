//! DICOM discovery and volume assembly: the input is split at `TWINFUZZ`
//! into up to 8 files of one folder, which is scanned; every stack found is
//! then assembled (all phases) under a 256 MiB budget and thumbnailed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twin_core::Progress;

fuzz_target!(init: twin_fuzz::contained_panics_are_errors(), |data: &[u8]| {
    let dir = twin_fuzz::scratch().join("study");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(8).position(|w| w == b"TWINFUZZ") {
        parts.push(&rest[..at]);
        rest = &rest[at + 8..];
    }
    parts.push(rest);
    for (i, part) in parts.iter().take(8).enumerate() {
        std::fs::write(dir.join(format!("IM{i:04}")), part).unwrap();
    }
    let progress = Progress::default();
    let Ok(report) = twin_imaging::scan_folder(&dir, &progress) else {
        return;
    };
    for (_, _, stack) in report.stacks() {
        let _ = twin_imaging::thumbnail(stack, 64);
        match twin_imaging::load_cine(stack, &progress, 256 << 20) {
            Ok(cine) => {
                for v in &cine.phases {
                    let _ = v.range();
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
