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
    let (dir, _) = demo_ct_subset(5);
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

fn demo_ct_subset(n: usize) -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let demo = twin_phantom::ensure_demo_patient().expect("demo patient");
    let dir = tempfile::tempdir().unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&demo.ct_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let copies = names
        .iter()
        .take(n)
        .map(|p| {
            let to = dir.path().join(p.file_name().unwrap());
            std::fs::copy(p, &to).unwrap();
            to
        })
        .collect();
    (dir, copies)
}

#[test]
fn a_slice_with_truncated_pixel_data_is_left_out_and_named() {
    let (dir, _) = demo_ct_subset(20);
    let reference = {
        let r = scan_folder(dir.path(), &Progress::new()).unwrap();
        let s = r.stacks().next().unwrap().2.clone();
        twin_imaging::load_stack(&s, 0, &Progress::new(), 1 << 30).unwrap()
    };
    let r = scan_folder(dir.path(), &Progress::new()).unwrap();
    let stack = r.stacks().next().unwrap().2.clone();
    // Cut the pixel data of the 8th slice in spatial order.
    let victim = stack.volumes[0][7].path.clone();
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() - 5000]).unwrap();
    let vol = twin_imaging::load_stack(&stack, 0, &Progress::new(), 1 << 30).unwrap();
    let name = victim.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        vol.warnings
            .iter()
            .any(|w| w.contains("left out 1 slice") && w.contains(&name)),
        "{:?}",
        vol.warnings
    );
    // Same grid (the gap is resampled), the other slices unchanged, the lost
    // one interpolated from its neighbours.
    assert_eq!(vol.dims, reference.dims);
    assert_eq!(vol.affine, reference.affine);
    let plane = vol.dims[0] * vol.dims[1];
    assert_eq!(vol.data[..7 * plane], reference.data[..7 * plane]);
    assert_eq!(vol.data[8 * plane..], reference.data[8 * plane..]);
    for i in (0..plane).step_by(97) {
        let want = 0.5 * (reference.data[6 * plane + i] + reference.data[8 * plane + i]);
        assert!((vol.data[7 * plane + i] - want).abs() < 1e-3);
    }
}

#[test]
fn loading_reports_progress_and_stops_when_cancelled() {
    let (dir, _) = demo_ct_subset(150);
    let r = scan_folder(dir.path(), &Progress::new()).unwrap();
    let stack = r.stacks().next().unwrap().2.clone();
    let p = Progress::new();
    twin_imaging::load_stack(&stack, 0, &p, 1 << 30).unwrap();
    assert_eq!((p.done(), p.total()), (150, 150));
    // Cancel from another thread once a few slices are decoded.
    let p = std::sync::Arc::new(Progress::new());
    let watcher = {
        let p = p.clone();
        std::thread::spawn(move || {
            while p.done() < 5 {
                std::thread::yield_now();
            }
            p.cancel();
        })
    };
    let err = twin_imaging::load_stack(&stack, 0, &p, 1 << 30).unwrap_err();
    watcher.join().unwrap();
    assert!(matches!(err, ImagingError::Cancelled(_)), "{err}");
    // Prompt: the decoding in flight finishes, nothing new starts.
    assert!(p.done() < 150, "decoded {} of 150 after cancel", p.done());
}
