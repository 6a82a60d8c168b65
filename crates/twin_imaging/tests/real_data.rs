//! Real public data from ../shared/data (skipped with a message when absent,
//! failing when TWIN_REQUIRE_DATA=1).

use twin_core::Progress;
use twin_core::testdata::require;
use twin_imaging::volume::DEFAULT_BUDGET_BYTES;
use twin_imaging::{load_stack, scan_folder};

#[test]
fn chest_ct_jpeg_lossless_loads_in_spatial_order() {
    let Some(dir) = require("dicom/ct_chest_covidctmd_normal001/dicom") else {
        return;
    };
    let report = scan_folder(&dir, &Progress::new()).expect("scan");
    let (_, _, stack) = report.stacks().next().expect("stack");
    assert_eq!(stack.positions.len(), 154);
    let vol = load_stack(stack, 0, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("load");
    assert_eq!(vol.dims, [512, 512, 154]);
    let sp = vol.spacing();
    assert!((sp[2] - 2.0).abs() < 1e-3, "slice spacing {}", sp[2]);
    // Positions strictly ascending along the normal.
    assert!(stack.positions.windows(2).all(|w| w[1] > w[0]));
    // Air outside the body ≈ −1000 HU, soft tissue at the centre of the chest 0–100 HU somewhere.
    let corner = vol.get(5, 5, 77);
    assert!((-1100.0..-900.0).contains(&corner), "corner {corner}");
    let (lo, hi) = vol.range();
    assert!(lo >= -3100.0 && hi > 1000.0, "range {lo}..{hi}");
}

#[test]
fn chest_ct_file_names_are_not_in_spatial_order_but_slices_are() {
    let Some(dir) = require("dicom/ct_chest_covidctmd_normal001/dicom") else {
        return;
    };
    let report = scan_folder(&dir, &Progress::new()).expect("scan");
    let (_, _, stack) = report.stacks().next().expect("stack");
    let spatial: Vec<_> = stack.volumes[0].iter().map(|h| h.path.clone()).collect();
    let mut by_name = spatial.clone();
    by_name.sort();
    assert_ne!(
        spatial, by_name,
        "the test needs files out of spatial order"
    );
    // Each slice's own ImagePositionPatient ascends along the normal.
    let n = stack.volumes[0][0].normal().unwrap();
    let d: Vec<f64> = stack.volumes[0]
        .iter()
        .map(|h| n.dot(&nalgebra::Vector3::from(h.position.unwrap())))
        .collect();
    assert!(
        d.windows(2).all(|w| (w[1] - w[0] - 2.0).abs() < 1e-3),
        "{d:?}"
    );
}

#[test]
fn sunnybrook_cine_separates_ed_and_es_at_8mm_from_positions() {
    let Some(dir) = require("dicom/cmr_sax_sunnybrook_SCD0003701_subset/dicom") else {
        return;
    };
    let report = scan_folder(&dir, &Progress::new()).expect("scan");
    let (_, _, stack) = report.stacks().next().expect("stack");
    assert_eq!(stack.phases, 2, "{:?}", stack.warnings);
    assert_eq!(stack.trigger_times.len(), 2);
    assert!(
        (stack.trigger_times[0] - 348.0).abs() < 0.5,
        "{:?}",
        stack.trigger_times
    );
    assert!(
        (stack.trigger_times[1] - 929.0).abs() < 0.5,
        "{:?}",
        stack.trigger_times
    );
    let cine =
        twin_imaging::load_cine(stack, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("cine");
    assert_eq!(cine.phases.len(), 2);
    let mut depth = Vec::new();
    for v in &cine.phases {
        assert_eq!(v.dims, [256, 256, 5]);
        // 8 mm from ImagePositionPatient, not SliceLocation's 5.22 mm.
        let sp = v.spacing();
        assert!((sp[2] - 8.0).abs() < 0.01, "slice step {sp:?}");
        assert!((sp[0] - 1.3672).abs() < 1e-3, "pixel {sp:?}");
        let n = nalgebra::Vector3::from(stack.volumes[0][0].normal().unwrap());
        let first = nalgebra::Vector3::from(v.index_to_patient([0.0, 0.0, 0.0]));
        let last = nalgebra::Vector3::from(v.index_to_patient([0.0, 0.0, 4.0]));
        let (a, b) = (n.dot(&first).abs(), n.dot(&last).abs());
        depth.push((a.min(b), a.max(b)));
    }
    // ES (348 ms) at 74.9–106.9 mm and ED (929 ms) at 66.9–98.9 mm along the normal (MANIFEST).
    let close = |x: f64, y: f64| (x - y).abs() < 0.1;
    assert!(
        close(depth[0].0, 74.9) && close(depth[0].1, 106.9),
        "ES {depth:?}"
    );
    assert!(
        close(depth[1].0, 66.9) && close(depth[1].1, 98.9),
        "ED {depth:?}"
    );
    assert!(
        stack
            .warnings
            .iter()
            .any(|w| w.contains("different slice positions"))
    );
}

#[test]
fn barre_cine_loads_16_frames_and_says_geometry_is_missing() {
    let Some(dir) = require("dicom/cmr_cine_singleslice_barre_heart") else {
        return;
    };
    let report = scan_folder(&dir, &Progress::new()).expect("scan");
    let (_, _, stack) = report.stacks().next().expect("stack");
    assert_eq!(stack.phases, 16);
    assert!(
        stack
            .warnings
            .iter()
            .any(|w| w.contains("no patient geometry")),
        "{:?}",
        stack.warnings
    );
    let cine =
        twin_imaging::load_cine(stack, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("cine");
    assert_eq!(cine.phases.len(), 16);
    assert!(cine.phases.iter().all(|v| v.dims == [256, 256, 1]));
    // FrameTime 69.47 ms per frame.
    assert_eq!(cine.times_ms.len(), 16);
    assert!(
        (cine.times_ms[15] - 15.0 * 69.47).abs() < 0.1,
        "{:?}",
        cine.times_ms
    );
    // The heart moves: consecutive frames differ.
    assert_ne!(cine.phases[0].data, cine.phases[5].data);
}

#[test]
fn memory_budget_refuses_before_decoding() {
    let Some(dir) = require("dicom/ct_chest_covidctmd_normal001/dicom") else {
        return;
    };
    let report = scan_folder(&dir, &Progress::new()).expect("scan");
    let (_, _, stack) = report.stacks().next().expect("stack");
    // 512×512×154 float32 = 154 MiB: refused under a 100 MiB budget.
    let err = load_stack(stack, 0, &Progress::new(), 100 << 20).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("154 MiB") && msg.contains("100 MiB"), "{msg}");
}
