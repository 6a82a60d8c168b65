//! Pixel oracle: every DICOM image in the shared data decodes to the same
//! stored values as pydicom with the pylibjpeg plugins. The checksums come from
//! `scripts/pixel_oracle.py` (SHA-256 of the stored values as little-endian
//! int32, all frames in order) and are kept in `tests/oracle/pixel_sha256.json`.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use twin_core::testdata::require;
use twin_imaging::pixels::decode_frames;

fn digest(frames: &[Vec<i32>]) -> String {
    let mut h = Sha256::new();
    for f in frames {
        for v in f {
            h.update(v.to_le_bytes());
        }
    }
    h.finalize().iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn oracle() -> BTreeMap<String, Value> {
    let text = include_str!("oracle/pixel_sha256.json");
    let doc: Value = serde_json::from_str(text).expect("oracle JSON");
    doc["files"]
        .as_object()
        .expect("files")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn every_shared_dicom_file_decodes_like_pydicom() {
    let Some(data) = require("dicom") else {
        return;
    };
    let data_root = data.parent().unwrap().to_owned();
    let oracle = oracle();
    assert!(oracle.len() > 600, "oracle holds {} files", oracle.len());
    let failures: Vec<String> = oracle
        .par_iter()
        .filter_map(|(rel, want)| {
            let path = data_root.join(rel);
            let frames = want["frames"].as_u64().unwrap() as u32;
            let got = match decode_frames(&path, &(0..frames).collect::<Vec<_>>()) {
                Ok(g) => g,
                Err(e) => return Some(format!("{rel}: {e}")),
            };
            let dims = (got.rows as u64, got.columns as u64);
            let want_dims = (
                want["rows"].as_u64().unwrap(),
                want["columns"].as_u64().unwrap(),
            );
            if dims != want_dims {
                return Some(format!("{rel}: {dims:?} vs pydicom {want_dims:?}"));
            }
            let d = digest(&got.frames);
            (d != want["sha256"].as_str().unwrap()).then(|| {
                format!(
                    "{rel} ({}): values differ from pydicom's",
                    want["transfer_syntax"]
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} file(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every transfer syntax of the shared data is covered.
    let mut syntaxes: Vec<&str> = oracle
        .values()
        .map(|v| v["transfer_syntax"].as_str().unwrap())
        .collect();
    syntaxes.sort_unstable();
    syntaxes.dedup();
    for ts in [
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.5",
        "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80",
        "1.2.840.10008.1.2.4.90",
    ] {
        assert!(syntaxes.contains(&ts), "{ts} missing from {syntaxes:?}");
    }
}

/// The comparison is not vacuous: one changed value changes the digest.
#[test]
fn the_digest_sees_a_single_value() {
    let a = vec![vec![0i32, 1, 2, 3]];
    let mut b = a.clone();
    b[0][2] = -2;
    assert_ne!(digest(&a), digest(&b));
    assert_eq!(
        digest(&[vec![]]),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn a_corrupt_jpegls_stream_is_an_error_naming_the_problem() {
    let Some(data) = require("dicom/mr_dcm_qa_ts") else {
        return;
    };
    let src = data.join("In/7.dcm");
    let mut bytes = std::fs::read(&src).unwrap();
    // Truncate the file in the middle of the JPEG-LS code stream.
    bytes.truncate(bytes.len() * 2 / 3);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.dcm");
    std::fs::write(&p, &bytes).unwrap();
    let e = decode_frames(Path::new(&p), &[0]).unwrap_err();
    eprintln!("{e}");
    assert!(e.contains("truncated") || e.contains("cannot read"), "{e}");
}
