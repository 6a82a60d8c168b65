//! Bad input gives clear errors that name the path, never a panic.

use twin_core::Progress;
use twin_imaging::{ImagingError, scan_folder};

#[test]
fn folder_without_dicom_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    std::fs::write(dir.path().join("image.dcm"), vec![0u8; 300]).unwrap();
    let err = scan_folder(dir.path(), &Progress::new()).unwrap_err();
    assert!(
        matches!(
            err,
            ImagingError::NoDicom {
                files: 2,
                not_dicom: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(&dir.path().display().to_string()));
}

#[test]
fn missing_path_is_a_clear_error() {
    let err = scan_folder(
        std::path::Path::new("/nonexistent/twinscope/study"),
        &Progress::new(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("/nonexistent/twinscope/study"), "{msg}");
}

#[test]
fn truncated_file_is_reported_and_the_rest_still_scans() {
    let demo = twin_phantom::ensure_demo_patient().expect("demo patient");
    let dir = tempfile::tempdir().unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&demo.ct_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names.iter().take(5) {
        std::fs::copy(p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    // A DICOM preamble followed by garbage.
    let mut bad = vec![0u8; 128];
    bad.extend_from_slice(b"DICM");
    bad.extend_from_slice(&[0xFF; 40]);
    std::fs::write(dir.path().join("broken.dcm"), bad).unwrap();
    let report = scan_folder(dir.path(), &Progress::new()).unwrap();
    assert_eq!(report.unreadable.len(), 1);
    assert!(report.unreadable[0].0.ends_with("broken.dcm"));
    assert_eq!(report.stacks().count(), 1);
    assert_eq!(report.stacks().next().unwrap().2.positions.len(), 5);
}

#[test]
fn cancelled_scan_stops() {
    let demo = twin_phantom::ensure_demo_patient().expect("demo patient");
    let p = Progress::new();
    p.cancel();
    let err = scan_folder(&demo.root, &p).unwrap_err();
    assert!(matches!(err, ImagingError::Cancelled(_)));
}
