//! Scanning and loading the generated demo patient: geometry and values are known exactly.

use nalgebra::Vector3;
use twin_core::Progress;
use twin_imaging::volume::DEFAULT_BUDGET_BYTES;
use twin_imaging::{load_stack, scan_folder};

#[test]
fn demo_patient_scans_into_two_studies_with_expected_stacks() {
    let demo = twin_phantom::ensure_demo_patient().expect("demo patient");
    let report = scan_folder(&demo.root, &Progress::new()).expect("scan");
    assert_eq!(report.studies.len(), 2);
    // truth.json and the COMPLETE marker are not DICOM and are counted, not fatal.
    assert!(report.not_dicom >= 1);
    assert!(report.unreadable.is_empty());
    for st in &report.studies {
        assert_eq!(st.identity.name, "DEMO^PATIENT");
    }
    let stacks: Vec<_> = report.stacks().map(|(_, _, s)| s.clone()).collect();
    assert_eq!(stacks.len(), 2);
    let cine = stacks
        .iter()
        .find(|s| s.modality == "MR")
        .expect("MR stack");
    assert_eq!(cine.phases, demo.cardiac.phases);
    assert_eq!(cine.positions.len(), demo.cardiac.slices);
    assert_eq!(cine.trigger_times.len(), 20);
    assert!((cine.trigger_times[7] - demo.cardiac.trigger_time_ms(7)).abs() < 1e-6);
    for w in cine.positions.windows(2) {
        assert!((w[1] - w[0] - demo.cardiac.slice_mm).abs() < 1e-3);
    }
    let ct = stacks
        .iter()
        .find(|s| s.modality == "CT")
        .expect("CT stack");
    assert_eq!(ct.phases, 1);
    assert_eq!(ct.positions.len(), demo.legs.slices);
    assert!(cine.warnings.is_empty() && ct.warnings.is_empty());
}

#[test]
fn demo_ct_loads_in_hounsfield_units_with_exact_geometry() {
    let demo = twin_phantom::ensure_demo_patient().expect("demo patient");
    let report = scan_folder(&demo.ct_dir, &Progress::new()).expect("scan");
    let (_, _, stack) = report.stacks().next().expect("one stack");
    let vol = load_stack(stack, 0, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("load");
    let legs = &demo.legs;
    assert_eq!(
        vol.dims,
        [usize::from(legs.cols), usize::from(legs.rows), legs.slices]
    );
    assert_eq!(vol.unit, "HU");
    let sp = vol.spacing();
    assert!((sp[0] - legs.pixel_mm).abs() < 1e-9 && (sp[1] - legs.pixel_mm).abs() < 1e-9);
    assert!((sp[2] - legs.slice_mm).abs() < 1e-6);
    // Slices ascend in z (inferior first), whatever the file order.
    let lowest = legs.slice_position(legs.slices - 1);
    let p = vol.index_to_patient([0.0, 0.0, 0.0]);
    assert!((Vector3::from(p) - Vector3::from(lowest)).norm() < 1e-6);
    // Every voxel centre's value matches the analytic tissue to within noise,
    // where the tissue is uniform around it.
    let mut checked = 0;
    for k in (0..legs.slices).step_by(7) {
        for j in (0..usize::from(legs.rows)).step_by(9) {
            for i in (0..usize::from(legs.cols)).step_by(9) {
                let c = Vector3::from(vol.index_to_patient([i as f64, j as f64, k as f64]));
                let truth = legs.hu_at(&c);
                let uniform = [-2.0, 2.0].iter().all(|d| {
                    (legs.hu_at(&(c + Vector3::new(*d, 0.0, 0.0))) - truth).abs() < 1e-9
                        && (legs.hu_at(&(c + Vector3::new(0.0, *d, 0.0))) - truth).abs() < 1e-9
                        && (legs.hu_at(&(c + Vector3::new(0.0, 0.0, *d))) - truth).abs() < 1e-9
                });
                if uniform {
                    let v = f64::from(vol.get(i, j, k));
                    assert!(
                        (v - truth).abs() < 6.0 * legs.hu.noise_sigma,
                        "voxel {i},{j},{k}: {v} vs {truth}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 5000, "only {checked} voxels checked");
}

#[test]
fn demo_cine_phase_geometry_is_oblique_and_ordered_by_position() {
    let demo = twin_phantom::ensure_demo_patient().expect("demo patient");
    let report = scan_folder(&demo.cardiac_dir, &Progress::new()).expect("scan");
    let (_, _, stack) = report.stacks().next().expect("one stack");
    let h = &demo.cardiac;
    let es = load_stack(stack, h.es_phase(), &Progress::new(), DEFAULT_BUDGET_BYTES).expect("load");
    assert_eq!(
        es.dims,
        [usize::from(h.cols), usize::from(h.rows), h.slices]
    );
    let o = h.orientation();
    let row = Vector3::new(o[0], o[1], o[2]);
    let col_dir = Vector3::new(es.affine[(0, 1)], es.affine[(1, 1)], es.affine[(2, 1)]);
    let row_dir = Vector3::new(es.affine[(0, 0)], es.affine[(1, 0)], es.affine[(2, 0)]);
    assert!((row_dir / h.pixel_mm - row).norm() < 1e-6);
    assert!((col_dir / h.pixel_mm - Vector3::new(o[3], o[4], o[5])).norm() < 1e-6);
    let p0 = es.index_to_patient([0.0, 0.0, 0.0]);
    assert!((Vector3::from(p0) - Vector3::from(h.slice_position(0))).norm() < 1e-4);
    // Blood at the LV centre of a mid-ventricular slice is bright, in both phases.
    let centre = |k: usize| {
        let c = (f64::from(h.cols) - 1.0) / 2.0;
        es.get(c as usize, c as usize, k)
    };
    assert!(f64::from(centre(4)) > 0.7 * h.signals.blood);
}

#[test]
fn thumbnails_show_the_middle_slice_small() {
    let demo = twin_phantom::ensure_demo_patient().expect("demo");
    let report = twin_imaging::scan_folder(&demo.root, &twin_core::Progress::new()).unwrap();
    for (_, _, stack) in report.stacks() {
        let t = twin_imaging::thumbnail(stack, 64).unwrap();
        assert!(
            t.width <= 64 && t.height <= 64 && t.width.max(t.height) >= 63,
            "{t:?}"
        );
        assert_eq!(t.pixels.len(), t.width * t.height);
        // Something is visible: dark and bright pixels both present.
        assert!(t.pixels.iter().any(|&p| p < 30) && t.pixels.iter().any(|&p| p > 200));
    }
}
