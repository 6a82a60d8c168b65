//! Geometry of tilted and irregularly spaced stacks: an exact phantom (a field
//! linear in patient coordinates, so linear interpolation is exact) and the
//! real gantry-tilt CT of dcm_qa_ct against DICOM and dcm2niix.

use dicom::core::VR;
use dicom::dictionary_std::{tags, uids};
use nalgebra::{Vector3, Vector4};
use twin_core::Progress;
use twin_core::testdata::require;
use twin_imaging::volume::DEFAULT_BUDGET_BYTES;
use twin_imaging::{load_stack, scan_folder};
use twin_phantom::dicom_out::{ImageBuilder, ds, ds_multi};

/// The field written into the phantom (patient mm → value).
fn field(p: Vector3<f64>) -> f64 {
    2000.0 + 2.0 * p.x + 3.0 * p.y + 5.0 * p.z
}

/// Writes a CT-like stack tilted 20° (rows along x, columns along y tilted
/// towards −z), with slice origins stepping along z by irregular amounts.
fn write_tilted_stack(
    dir: &std::path::Path,
    steps: &[f64],
) -> (Vector3<f64>, Vector3<f64>, Vector3<f64>) {
    let (rows, cols) = (40u16, 48u16);
    let (ps_r, ps_c) = (1.25, 1.0);
    let tilt = 20f64.to_radians();
    let row = Vector3::new(1.0, 0.0, 0.0);
    let col = Vector3::new(0.0, tilt.cos(), -tilt.sin());
    let p0 = Vector3::new(-30.0, -25.0, 10.0);
    // Files named so that name order is not spatial order.
    let order: Vec<usize> = (0..=steps.len()).rev().collect();
    for (n, k) in order.into_iter().enumerate() {
        let s: f64 = steps[..k].iter().sum();
        let origin = p0 + Vector3::new(0.0, 0.0, s);
        let mut data = Vec::with_capacity(usize::from(rows) * usize::from(cols));
        for j in 0..rows {
            for i in 0..cols {
                let p = origin + row * (f64::from(i) * ps_c) + col * (f64::from(j) * ps_r);
                // Stored = value × 10 (RescaleSlope 0.1).
                data.push((field(p) * 10.0).round() as u16);
            }
        }
        let mut b = ImageBuilder::new();
        b.common("2.25.1001", "1", "tilt phantom", "20260101", "120000")
            .str(tags::MODALITY, VR::CS, "CT")
            .str(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.1002")
            .str(tags::SERIES_NUMBER, VR::IS, "7")
            .str(tags::INSTANCE_NUMBER, VR::IS, &(n + 1).to_string())
            .str(tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\AXIAL")
            .str(
                tags::IMAGE_POSITION_PATIENT,
                VR::DS,
                &ds_multi(&[origin.x, origin.y, origin.z]),
            )
            .str(
                tags::IMAGE_ORIENTATION_PATIENT,
                VR::DS,
                &ds_multi(&[row.x, row.y, row.z, col.x, col.y, col.z]),
            )
            .str(tags::PIXEL_SPACING, VR::DS, &ds_multi(&[ps_r, ps_c]))
            .str(tags::SLICE_THICKNESS, VR::DS, &ds(3.0))
            .str(tags::RESCALE_SLOPE, VR::DS, "0.1")
            .str(tags::RESCALE_INTERCEPT, VR::DS, "0")
            .pixels_u16(rows, cols, 16, data);
        b.write(
            &dir.join(format!("img{n:02}.dcm")),
            uids::CT_IMAGE_STORAGE,
            &format!("2.25.1003{k}"),
        )
        .unwrap();
    }
    (p0, row, col)
}

#[test]
fn tilted_irregular_stack_is_resampled_with_exact_geometry() {
    let dir = tempfile::tempdir().unwrap();
    let steps = [3.0, 3.0, 3.0, 3.0, 1.0, 6.0, 6.0, 6.0];
    write_tilted_stack(dir.path(), &steps);
    let report = scan_folder(dir.path(), &Progress::new()).unwrap();
    let (_, _, stack) = report.stacks().next().unwrap();
    let joined = stack.warnings.join(" | ");
    assert!(joined.contains("gantry tilt"), "{joined}");
    assert!(joined.contains("irregular slice spacing"), "{joined}");
    let vol = load_stack(stack, 0, &Progress::new(), DEFAULT_BUDGET_BYTES).unwrap();
    // 31 mm of stack at the median step of 3 mm → 11 slices, along +z.
    assert_eq!(vol.dims, [48, 40, 11]);
    let k = Vector3::new(vol.affine[(0, 2)], vol.affine[(1, 2)], vol.affine[(2, 2)]);
    assert!((k - Vector3::new(0.0, 0.0, 3.0)).norm() < 1e-9, "{k}");
    assert!(vol.warnings.iter().any(|w| w.contains("resampled")));
    let mut worst = 0f64;
    for kk in 0..11 {
        for j in (0..40).step_by(3) {
            for i in (0..48).step_by(5) {
                let p = vol.affine * Vector4::new(i as f64, j as f64, kk as f64, 1.0);
                let want = field(p.xyz());
                worst = worst.max((f64::from(vol.get(i, j, kk)) - want).abs());
            }
        }
    }
    // Stored values are rounded to 0.1: interpolation error ≤ 0.05 + f32 rounding.
    assert!(worst < 0.06, "largest error {worst}");
}

#[test]
fn tilted_regular_stack_keeps_its_slices_with_a_sheared_affine() {
    let dir = tempfile::tempdir().unwrap();
    write_tilted_stack(dir.path(), &[2.5; 6]);
    let report = scan_folder(dir.path(), &Progress::new()).unwrap();
    let (_, _, stack) = report.stacks().next().unwrap();
    let vol = load_stack(stack, 0, &Progress::new(), DEFAULT_BUDGET_BYTES).unwrap();
    assert_eq!(vol.dims, [48, 40, 7]);
    assert!(!vol.warnings.iter().any(|w| w.contains("resampled")));
    for kk in 0..7 {
        let p = vol.affine * Vector4::new(7.0, 9.0, kk as f64, 1.0);
        assert!((f64::from(vol.get(7, 9, kk)) - field(p.xyz())).abs() < 0.06);
    }
}

/// dcm_qa_ct: GE head CT with 18.5° gantry tilt and steps of 4.22, 1.14 and
/// 7.38 mm between slice origins.
#[test]
fn gantry_tilt_ct_matches_dicom_positions_and_dcm2niix_orientation() {
    let Some(root) = require("dicom/ct_head_gantrytilt_dcm_qa_ct") else {
        return;
    };
    let report = scan_folder(&root.join("In/GE"), &Progress::new()).unwrap();
    let (_, _, stack) = report.stacks().next().unwrap();
    assert!(
        stack
            .warnings
            .iter()
            .any(|w| w.contains("gantry tilt") && w.contains("18.5")),
        "{:?}",
        stack.warnings
    );
    let vol = load_stack(stack, 0, &Progress::new(), DEFAULT_BUDGET_BYTES).unwrap();
    // Every acquired slice origin (ImagePositionPatient) lies on our slice axis.
    let step = vol.spacing()[2];
    let k = Vector3::new(vol.affine[(0, 2)], vol.affine[(1, 2)], vol.affine[(2, 2)]) / step;
    let origin = vol.affine.column(3).xyz();
    for h in &stack.volumes[0] {
        let p = Vector3::from(h.position.unwrap());
        let s = (p - origin).dot(&k);
        assert!(
            ((p - origin) - k * s).norm() < 1e-3,
            "{p} off the stack line"
        );
    }
    assert!((step - 4.22).abs() < 1e-3, "step {step}");
    assert_eq!(vol.dims[2], 37);
    // dcm2niix (Ref_regenerated/_2.nii.gz, flags of upstream batch.sh) keeps the
    // 28 acquired slices. Its in-plane axes and first-slice corner equal ours
    // within 1e-3 mm; its slice axis is parallel to ours (+z) but 4.0019 mm
    // long: the step projected on the image normal, not the 4.22 mm between
    // the files' ImagePositionPatient, which is what we follow.
    let r = twin_imaging::nifti_io::read_nifti(&root.join("Ref_regenerated/_2.nii.gz")).unwrap();
    assert_eq!(r.dims[..3], [512, 512, 28]);
    let lps = |v: Vector4<f64>| Vector3::new(-v.x, -v.y, v.z);
    // Reference j is flipped: its voxel (i, 511 − j, 0) is our (i, j, 0).
    for (i, j) in [(0usize, 0usize), (511, 0), (0, 511), (300, 200)] {
        let ours = vol.index_to_patient([i as f64, j as f64, 0.0]);
        let theirs = lps(r.affine * Vector4::new(i as f64, (511 - j) as f64, 0.0, 1.0));
        let d = (Vector3::from(ours) - theirs).norm();
        assert!(
            d < 1e-3,
            "({i},{j},0): ours {ours:?} dcm2niix {theirs} ({d} mm)"
        );
    }
    let rk = lps(r.affine.column(2).into_owned()).normalize();
    assert!((rk - k).norm() < 1e-4, "slice axis ours {k} dcm2niix {rk}");
    let rk_len = r.affine.column(2).xyz().norm();
    let normal = stack.volumes[0][0].normal().unwrap();
    assert!(
        (rk_len - step * k.dot(&normal)).abs() < 1e-3,
        "dcm2niix slice length {rk_len}"
    );
    // Acquired slices keep their values: our slice 0 equals the reference's slice 0.
    for (i, j) in [(256usize, 256usize), (100, 300), (400, 120)] {
        let theirs = r.data[i + 512 * (511 - j)];
        assert!(
            (vol.get(i, j, 0) - theirs).abs() < 1e-3,
            "value at ({i},{j},0)"
        );
    }
}
