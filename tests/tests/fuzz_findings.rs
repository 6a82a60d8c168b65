//! One regression test per finding of the fuzz targets (fuzz/,
//! docs/ROBUSTNESS.md). Each rebuilds the failing input from our own
//! phantoms or, at test time, from the shared data (third-party files are
//! never copied into the project), and checks that the reader now refuses
//! it with an error naming the file.

use std::path::Path;

use twin_core::Progress;
use twin_e2e::hostile::scratch;

/// Finding 1 (`dicom_folder`, out of memory): a 33 KB file declaring a
/// 3.2 GB Pixel Data made dicom-rs reserve and zero 3.2 GB before reading.
/// Declared lengths are now checked against the file before dicom-rs reads
/// (in the header scan and before decoding).
#[test]
fn a_pixel_data_length_beyond_the_file_is_refused_before_reading() {
    let demo = twin_phantom::ensure_demo_patient().unwrap();
    let dir = scratch("fuzzfind-dicom");
    let mut slice: Vec<_> = std::fs::read_dir(&demo.ct_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    slice.sort();
    let mut bytes = std::fs::read(&slice[0]).unwrap();
    // Pixel Data (7FE0,0010), OW: tag, VR, 2 reserved bytes, 4-byte length.
    let at = bytes
        .windows(6)
        .rposition(|w| w == [0xE0, 0x7F, 0x10, 0x00, b'O', b'W'])
        .expect("pixel data element");
    bytes[at + 8..at + 12].copy_from_slice(&0xBEEF_0000_u32.to_le_bytes());
    let file = dir.join("IM0001");
    std::fs::write(&file, &bytes).unwrap();
    std::fs::copy(&slice[1], dir.join("IM0002")).unwrap();
    // The scan reports it unreadable, naming the element; the rest loads.
    let report = twin_imaging::scan_folder(&dir, &Progress::new()).unwrap();
    assert_eq!(report.unreadable.len(), 1);
    let (path, why) = &report.unreadable[0];
    assert_eq!(path, &file);
    assert!(
        why.contains("(7FE0,0010)") && why.contains("3203334144"),
        "{why}"
    );
    let (_, _, stack) = report.stacks().next().expect("a stack");
    assert_eq!(stack.instance_count(), 1);
    // The decoder checks too (a file changed after the scan).
    let e = twin_imaging::pixels::decode_frames(&file, &[0]).unwrap_err();
    assert!(e.contains("(7FE0,0010)"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Finding 2 (`nifti`, panic in the nifti crate: "mid > len", twice): a
/// header announcing more voxels than the file holds, and a data type
/// whose size disagrees with bitpix. The header is now checked first; any
/// panic left in the crate becomes an error.
#[test]
fn a_nifti_header_announcing_missing_voxels_is_refused() {
    let dir = scratch("fuzzfind-nifti");
    let mut affine = nalgebra::Matrix4::identity();
    affine[(2, 2)] = 2.0;
    let v = twin_imaging::Volume::new(
        [8, 8, 4],
        (0..256).map(|x| x as f32).collect(),
        affine,
        "MR",
    );
    let path = dir.join("small.nii");
    twin_imaging::nifti_io::write_nifti(&v, &path).unwrap();
    let read = |p: &Path| twin_imaging::nifti_io::read_nifti(p).map_err(|e| e.to_string());
    assert_eq!(read(&path).unwrap().data.len(), 256);
    let full = std::fs::read(&path).unwrap();
    // Truncated voxels.
    std::fs::write(&path, &full[..full.len() - 100]).unwrap();
    let e = read(&path).unwrap_err();
    assert!(
        e.contains("small.nii") && e.contains("the header announces"),
        "{e}"
    );
    // dim[3] (bytes 46..48) inflated: more voxels than the file has, and
    // 65535³ voxels: more than any memory budget.
    for (at, value) in [(46, 4000u16), (42, 65535)] {
        let mut b = full.clone();
        b[at..at + 2].copy_from_slice(&value.to_le_bytes());
        if at == 42 {
            b[44..48].copy_from_slice(&[0xFF; 4]);
        }
        std::fs::write(&path, &b).unwrap();
        let e = read(&path).unwrap_err();
        assert!(
            e.contains("small.nii") && e.contains("the header announces"),
            "{e}"
        );
    }
    // A 4-byte data type (int32) under a 2-byte bitpix: the crate split
    // the voxel bytes at the wrong place and panicked.
    let mut b = full.clone();
    b[70..72].copy_from_slice(&8i16.to_le_bytes());
    std::fs::write(&path, &b).unwrap();
    let e = read(&path).unwrap_err();
    assert!(
        e.contains("small.nii") && e.contains("does not match datatype"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Finding 3 (`c3d`, panic in c3dio: "attempt to negate with overflow"): a
/// parameter group id of −128. c3dio's panics now become an error naming
/// the file.
#[test]
fn a_c3d_group_id_of_minus_128_is_an_error_not_a_panic() {
    let Some(c3d) = twin_core::testdata::require("msk/c3d/walking2.c3d") else {
        return;
    };
    let dir = scratch("fuzzfind-c3d");
    let mut bytes = std::fs::read(&c3d).unwrap();
    // The parameter section starts at block bytes[0] (512-byte blocks,
    // 1-based); its first group follows a 4-byte header: [name length, id].
    let start = (usize::from(bytes[0]) - 1) * 512;
    assert!((bytes[start + 5] as i8) < 0, "the first entry is a group");
    bytes[start + 5] = 0x80;
    let path = dir.join("walk.c3d");
    std::fs::write(&path, &bytes).unwrap();
    match twin_msk::C3dTrial::read(&path) {
        Ok(_) => {} // A build without overflow checks reads past it.
        Err(e) => assert!(e.to_string().contains("walk.c3d"), "{e}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
