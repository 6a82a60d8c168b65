//! Geometry oracle: our NIfTI export against dcm2niix's reference NIfTIs in the
//! shared dcm_qa data. Affines must agree within 1e-3 mm and voxel values must
//! be identical, after matching the axis order and flips dcm2niix chose.

use std::path::Path;

use nalgebra::{Matrix4, Vector3, Vector4};
use twin_core::Progress;
use twin_core::testdata::require;
use twin_imaging::nifti_io::{NiftiVolume, read_nifti, write_nifti};
use twin_imaging::volume::DEFAULT_BUDGET_BYTES;
use twin_imaging::{load_stack, scan_folder};

/// For each reference axis: (our axis, flipped?).
fn axis_map(ours: &Matrix4<f64>, reference: &Matrix4<f64>) -> [(usize, bool); 3] {
    std::array::from_fn(|r| {
        let rc = Vector3::new(reference[(0, r)], reference[(1, r)], reference[(2, r)]);
        (0..3)
            .map(|o| {
                let oc = Vector3::new(ours[(0, o)], ours[(1, o)], ours[(2, o)]);
                (o, rc.normalize().dot(&oc.normalize()))
            })
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(o, cos)| (o, cos < 0.0))
            .unwrap()
    })
}

fn compare(ours: &NiftiVolume, reference: &NiftiVolume, what: &str) {
    compare_volume(ours, reference, 0, what);
}

/// Compares our 3D volume with volume `t` of a (3D or 4D) reference.
fn compare_volume(ours: &NiftiVolume, reference: &NiftiVolume, t: usize, what: &str) {
    assert_eq!(ours.dims.len(), 3, "{what}: our dims {:?}", ours.dims);
    let map = axis_map(&ours.affine, &reference.affine);
    let mut ref_dims = reference.dims.clone();
    ref_dims.truncate(3);
    for (r, (o, _)) in map.iter().enumerate() {
        assert_eq!(
            ref_dims[r], ours.dims[*o],
            "{what}: axis sizes {ref_dims:?} vs {:?}",
            ours.dims
        );
    }
    // Reference voxel (a, b, c) is our voxel with index along our axis o = a or n-1-a.
    let to_ours = |ref_idx: [usize; 3]| -> [usize; 3] {
        let mut idx = [0usize; 3];
        for (r, (o, flip)) in map.iter().enumerate() {
            idx[*o] = if *flip {
                ours.dims[*o] - 1 - ref_idx[r]
            } else {
                ref_idx[r]
            };
        }
        idx
    };
    // Affines: the reference position of each corner voxel equals ours.
    for corner in 0..8 {
        let ri = [0, 1, 2].map(|a| {
            if corner >> a & 1 == 1 {
                ref_dims[a] - 1
            } else {
                0
            }
        });
        let oi = to_ours(ri);
        let pr = reference.affine * Vector4::new(ri[0] as f64, ri[1] as f64, ri[2] as f64, 1.0);
        let po = ours.affine * Vector4::new(oi[0] as f64, oi[1] as f64, oi[2] as f64, 1.0);
        let d = (pr - po).norm();
        assert!(
            d < 1e-3,
            "{what}: corner {ri:?} at {pr:?} (ref) vs {po:?} (ours), {d} mm apart"
        );
    }
    let (nx, ny) = (ours.dims[0], ours.dims[1]);
    let ref_len: usize = ref_dims.iter().product();
    let ref_count = reference.data.len() / ref_len;
    assert!(
        t < ref_count,
        "{what}: reference has {ref_count} volume(s), wanted index {t}"
    );
    let ref_data = &reference.data[t * ref_len..(t + 1) * ref_len];
    let mut differing = 0usize;
    let mut first_diff = None;
    for c in 0..ref_dims[2] {
        for b in 0..ref_dims[1] {
            for a in 0..ref_dims[0] {
                let rv = ref_data[a + ref_dims[0] * (b + ref_dims[1] * c)];
                let o = to_ours([a, b, c]);
                let ov = ours.data[o[0] + nx * (o[1] + ny * o[2])];
                // Integer data must be identical; floating-point values (Philips
                // precise values, which dcm2niix stores as int16 × float32
                // scl_slope) may differ by float32 rounding.
                if rv.to_bits() != ov.to_bits() && (rv - ov).abs() > 2e-6 * rv.abs().max(ov.abs()) {
                    differing += 1;
                    first_diff.get_or_insert((a, b, c, rv, ov));
                }
            }
        }
    }
    assert_eq!(
        differing, 0,
        "{what}: {differing} voxel values differ, first (ref index, ref, ours) {first_diff:?}"
    );
}

#[test]
fn decubitus_series_match_dcm2niix() {
    let Some(root) = require("dicom/mr_dcm_qa_decubitus") else {
        return;
    };
    for (position, series, stamp) in [
        ("HFS", "3_t1_fl2d_sag", "150138"),
        ("HFDR", "2_t1_fl2d_sag", "151157"),
        ("HFP", "2_t1_fl2d_sag", "151756"),
        ("HFDL", "2_t1_fl2d_sag", "152351"),
    ] {
        let reference = root.join(format!(
            "Ref_regenerated/t1_fl2d_sag_20220407{stamp}.nii.gz"
        ));
        check_volume(
            &root.join("In").join(position).join(series),
            &|s| !s.multiframe,
            0,
            &reference,
            0,
            position,
        );
    }
}

#[test]
fn philips_classic_pcasl_matches_dcm2niix() {
    let Some(root) = require("dicom/mr_dcm_qa_philips_enh") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Only the 1901 classic files (the folder also holds series 2001).
    for entry in std::fs::read_dir(root.join("In/cl")).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("1901_")
        {
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    check_volume(
        dir.path(),
        &|s| !s.multiframe && s.positions.len() == 40,
        0,
        &root.join("Ref/1901_WIP_3DpCASL_cl.nii.gz"),
        0,
        "Philips 1901 classic",
    );
}

#[test]
fn our_nifti_round_trips_the_demo_ct() {
    let demo = twin_phantom::ensure_demo_patient().expect("demo");
    let report = scan_folder(&demo.ct_dir, &Progress::new()).expect("scan");
    let (_, _, stack) = report.stacks().next().expect("stack");
    let vol = load_stack(stack, 0, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("load");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ct.nii");
    write_nifti(&vol, &out).expect("write");
    let back = read_nifti(&out).expect("read");
    assert_eq!(back.dims, vec![320, 224, 150]);
    assert_eq!(back.data, vol.data);
    // RAS = LPS with x and y negated.
    let p = back.affine * Vector4::new(10.0, 20.0, 30.0, 1.0);
    let q = vol.index_to_patient([10.0, 20.0, 30.0]);
    assert!((p.x + q[0]).abs() < 1e-3 && (p.y + q[1]).abs() < 1e-3 && (p.z - q[2]).abs() < 1e-3);
}

#[test]
fn the_comparison_catches_small_errors() {
    let demo = twin_phantom::ensure_demo_patient().expect("demo");
    let report = scan_folder(&demo.cardiac_dir, &Progress::new()).expect("scan");
    let (_, _, stack) = report.stacks().next().expect("stack");
    let vol = load_stack(stack, 0, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("load");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cine.nii.gz");
    write_nifti(&vol, &out).expect("write");
    let ours = read_nifti(&out).expect("read");
    compare(&ours, &ours, "identical");
    let mut shifted = ours.clone();
    shifted.affine[(0, 3)] += 0.01;
    assert!(std::panic::catch_unwind(|| compare(&ours, &shifted, "shifted by 0.01 mm")).is_err());
    let mut changed = ours.clone();
    changed.data[12345] += 1.0;
    assert!(std::panic::catch_unwind(|| compare(&ours, &changed, "one voxel changed")).is_err());
    // A flipped copy with the matching affine is the same image.
    let mut flipped = ours.clone();
    let [nx, ny, nz] = [ours.dims[0], ours.dims[1], ours.dims[2]];
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                flipped.data[i + nx * (j + ny * k)] = ours.data[i + nx * ((ny - 1 - j) + ny * k)];
            }
        }
    }
    let col = Vector4::new(
        ours.affine[(0, 1)],
        ours.affine[(1, 1)],
        ours.affine[(2, 1)],
        0.0,
    );
    let origin = ours.affine.column(3) + col * (ny as f64 - 1.0);
    flipped.affine.set_column(1, &(-col));
    flipped.affine.set_column(3, &origin);
    compare(&ours, &flipped, "row-flipped");
}

/// Loads phase `phase` of the stack chosen by `pick` and compares it with volume
/// `t` of the reference NIfTI.
fn check_volume(
    dicom_dir: &Path,
    pick: &dyn Fn(&twin_imaging::Stack) -> bool,
    phase: usize,
    reference: &Path,
    t: usize,
    what: &str,
) {
    let report = scan_folder(dicom_dir, &Progress::new()).expect("scan");
    let stack = report
        .stacks()
        .map(|(_, _, s)| s)
        .find(|s| pick(s))
        .unwrap_or_else(|| panic!("{what}: no matching stack"));
    let vol = load_stack(stack, phase, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("load");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ours.nii");
    write_nifti(&vol, &out).expect("write");
    let ours = read_nifti(&out).expect("read ours");
    let reference = read_nifti(reference).expect("read reference");
    compare_volume(&ours, &reference, t, what);
}

/// (DICOM folder, stack chooser, our phase, reference NIfTI, reference volume).
type Case<'a> = (
    String,
    &'a dyn Fn(&twin_imaging::Stack) -> bool,
    usize,
    String,
    usize,
);

#[test]
fn enhanced_multiframe_series_match_dcm2niix() {
    let Some(dicom) = require("dicom") else {
        return;
    };
    let any: &dyn Fn(&twin_imaging::Stack) -> bool = &|_| true;
    let mut cases: Vec<Case> = Vec::new();
    for t in 0..4 {
        cases.push((
            "mr_dcm_qa_enh/In/Siemens/XA10".into(),
            any,
            t,
            "mr_dcm_qa_enh/Ref/Siemens_REST1_w_SMS_PF7-8_6.nii".into(),
            t,
        ));
    }
    cases.push((
        "mr_dcm_qa_enh/In/Philips".into(),
        any,
        0,
        "mr_dcm_qa_enh/Ref/Philips_WIP_B0_NS_801_e1.nii".into(),
        0,
    ));
    // The Philips B0 map in Hz and the phase images: see
    // `philips_maps_match_dcm2niix_in_stored_values`.
    cases.push((
        "mr_dcm_qa_xa30/In/5_anat-T1w_acq-tfl".into(),
        any,
        0,
        "mr_dcm_qa_xa30/Ref/5_anat-T1w_acq-tfl.nii".into(),
        0,
    ));
    cases.push((
        "mr_dcm_qa_xa30/In/8_gre_field_mapping".into(),
        any,
        0,
        "mr_dcm_qa_xa30/Ref/8_gre_field_mapping_e1.nii".into(),
        0,
    ));
    cases.push((
        "mr_dcm_qa_xa30/In/8_gre_field_mapping".into(),
        any,
        1,
        "mr_dcm_qa_xa30/Ref/8_gre_field_mapping_e2.nii".into(),
        0,
    ));
    cases.push((
        "mr_dcm_qa_xa30/In/9_gre_field_mapping".into(),
        any,
        0,
        "mr_dcm_qa_xa30/Ref/9_gre_field_mapping_e2_ph.nii".into(),
        0,
    ));
    for t in 0..7 {
        cases.push((
            "mr_dcm_qa_xa30/In/25_asl_2d_tra".into(),
            any,
            t,
            "mr_dcm_qa_xa30/Ref/25_asl_2d_tra.nii".into(),
            t,
        ));
    }
    for t in 0..13 {
        cases.push((
            "mr_dcm_qa_canon_61/In/enh".into(),
            any,
            t,
            "mr_dcm_qa_canon_61/Ref/8000_DTI_PA-ALL_20d_enh.nii.gz".into(),
            t,
        ));
    }
    cases.push((
        "mr_dcm_qa_philips_enh/In/enh".into(),
        &|s: &twin_imaging::Stack| s.positions.len() == 40,
        0,
        "mr_dcm_qa_philips_enh/Ref/1901_WIP_3DpCASL_enh_real.nii.gz".into(),
        0,
    ));
    for (t, name) in [(0, "e1"), (2, "e2")] {
        cases.push((
            "mr_dcm_qa_philips_enh/In/enh".into(),
            &|s: &twin_imaging::Stack| s.positions.len() == 53,
            t,
            format!("mr_dcm_qa_philips_enh/Ref/2001_WIP_fcMRI_Field_Mapping_enh_{name}.nii.gz"),
            0,
        ));
        cases.push((
            "mr_dcm_qa_philips_enh/In/cl".into(),
            &|s: &twin_imaging::Stack| s.positions.len() == 53,
            t,
            format!("mr_dcm_qa_philips_enh/Ref/2001_WIP_fcMRI_Field_Mapping_cl_{name}.nii.gz"),
            0,
        ));
    }
    let mut failures = Vec::new();
    for (dir, pick, phase, reference, t) in &cases {
        let what = format!("{dir} phase {phase} vs {reference} volume {t}");
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check_volume(
                &dicom.join(dir),
                *pick,
                *phase,
                &dicom.join(reference),
                *t,
                &what,
            );
        }));
        if let Err(e) = r {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(msg);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The same Siemens EPI mosaic in nine transfer syntaxes (explicit/implicit
/// little endian, big endian, RLE, JPEG lossless ×2, JPEG-LS ×2, JPEG 2000):
/// each de-mosaics to dcm2niix's 64×64×35 volume with identical values.
#[test]
fn mosaic_in_nine_transfer_syntaxes_matches_dcm2niix() {
    let Some(root) = require("dicom/mr_dcm_qa_ts") else {
        return;
    };
    for i in 1..=9 {
        check_volume(
            &root.join(format!("In/{i}.dcm")),
            &|s| s.positions.len() == 35,
            0,
            &root.join(format!("Ref/{i}.nii")),
            0,
            &format!("dcm_qa_ts {i}"),
        );
    }
}

/// Philips B0 field map (Hz) and phase images: dcm2niix keeps the stored
/// values (int16) with its own float32 scl_slope/scl_inter (B0: slope
/// 0.24420166 for RescaleSlope 0.24420024; phase: ±π over the stored range),
/// while we apply the file's rescale and Philips scale slope in f64. The
/// physical values agree to ~1e-5 (B0, Hz) and ~6e-5 relative (phase). The
/// geometry must match exactly, and our values mapped back through each
/// slice's rescale must give dcm2niix's stored values exactly.
#[test]
fn philips_maps_match_dcm2niix_in_stored_values() {
    let Some(dicom) = require("dicom") else {
        return;
    };
    let mut cases: Vec<(String, usize, usize, String)> = vec![(
        "mr_dcm_qa_enh/In/Philips".into(),
        32,
        1,
        "mr_dcm_qa_enh/Ref/Philips_WIP_B0_NS_801_e2_fieldmaphz.nii".into(),
    )];
    for (phase, name) in [(1, "e1_ph"), (3, "e2_ph")] {
        for form in ["cl", "enh"] {
            cases.push((
                format!("mr_dcm_qa_philips_enh/In/{form}"),
                53,
                phase,
                format!(
                    "mr_dcm_qa_philips_enh/Ref/2001_WIP_fcMRI_Field_Mapping_{form}_{name}.nii.gz"
                ),
            ));
        }
    }
    for (dir, slices, phase, reference) in &cases {
        let what = format!("{dir} phase {phase} vs {reference}");
        let report = scan_folder(&dicom.join(dir), &Progress::new()).expect("scan");
        let stack = report
            .stacks()
            .map(|(_, _, s)| s)
            .find(|s| s.positions.len() == *slices)
            .unwrap_or_else(|| panic!("{what}: no stack"));
        let headers = &stack.volumes[*phase];
        assert!(
            headers.iter().all(|h| h.phase_image || h.derived_map),
            "{what}: not a phase image or map"
        );
        let mut vol =
            load_stack(stack, *phase, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("load");
        let plane = vol.dims[0] * vol.dims[1];
        for (k, h) in headers.iter().enumerate() {
            let divisor = h.philips_scale_slope.map_or(1.0, |ss| h.rescale_slope * ss);
            for v in &mut vol.data[k * plane..(k + 1) * plane] {
                let stored = (f64::from(*v) * divisor - h.rescale_intercept) / h.rescale_slope;
                assert!((stored - stored.round()).abs() < 0.02, "{what}: {stored}");
                *v = stored.round() as f32;
            }
        }
        let dir_out = tempfile::tempdir().unwrap();
        let out = dir_out.path().join("ours.nii");
        write_nifti(&vol, &out).expect("write");
        let ours = read_nifti(&out).expect("read ours");
        let mut reference = read_nifti(&dicom.join(reference)).expect("read reference");
        let (slope, inter) = (
            f64::from(reference.scl_slope),
            f64::from(reference.scl_inter),
        );
        for v in &mut reference.data {
            *v = ((f64::from(*v) - inter) / slope).round() as f32;
        }
        compare_volume(&ours, &reference, 0, &what);
    }
}
