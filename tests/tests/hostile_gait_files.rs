//! Robustness of the gait and twin readers against damaged real files: a
//! fixed number of mutations with a fixed seed (bit flips, truncations,
//! huge numbers, NaN and infinite values in the text formats, deleted
//! lines) of the shared OpenSim data and of a twin file. Each reader must
//! return (any result) without panicking, and its errors must name the
//! file.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use twin_phantom::rng::mix64;

/// Mutations per file (fixed seed: the same every run).
const ROUNDS: u64 = 60;

/// A reader under test: `Ok` or the error's message.
type Reader = Box<dyn Fn(&Path) -> Result<(), String>>;

/// One mutation of `bytes`, chosen and placed by `key`.
fn mutate(bytes: &[u8], key: u64) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let n = out.len().max(1);
    let at = (mix64(key) as usize) % n;
    match mix64(key ^ 0x5555) % 6 {
        0 => {
            // Flip one to eight bits.
            for k in 0..=(mix64(key ^ 7) % 8) {
                let i = (mix64(key ^ k) as usize) % n;
                if let Some(b) = out.get_mut(i) {
                    *b ^= 1 << (mix64(key ^ k ^ 0x63) % 8);
                }
            }
        }
        1 => out.truncate(at),
        2 | 3 => {
            // Replace the number around `at` (text formats).
            let junk: &[u8] = match mix64(key ^ 3) % 5 {
                0 => b"NaN",
                1 => b"inf",
                2 => b"-1e308",
                3 => b"99999999999999999999",
                _ => b"-",
            };
            let end = (at + 6).min(out.len());
            out.splice(at..end, junk.iter().copied());
        }
        4 => {
            // Delete a line.
            let start = out[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let end = out[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(out.len(), |i| at + i + 1);
            out.drain(start..end);
        }
        _ => {
            // Duplicate a block (long lines, repeated elements).
            let end = (at + 4096).min(out.len());
            let block = out[at..end].to_vec();
            out.splice(at..at, block);
        }
    }
    out
}

/// Runs `read` on `rounds` mutations of `original`, written to `scratch`.
fn survive(
    original: &Path,
    scratch: &Path,
    rounds: u64,
    read: &dyn Fn(&Path) -> Result<(), String>,
) -> (u64, u64) {
    let bytes = std::fs::read(original).unwrap();
    let name = original.file_name().unwrap().to_string_lossy().to_string();
    let target = scratch.join(&name);
    let (mut ok, mut refused) = (0, 0);
    for r in 0..rounds {
        let key = mix64(r ^ (name.len() as u64 * 0x1000_0000));
        std::fs::write(&target, mutate(&bytes, key)).unwrap();
        match catch_unwind(AssertUnwindSafe(|| read(&target))) {
            Ok(Ok(())) => ok += 1,
            Ok(Err(e)) => {
                assert!(
                    e.contains(&name) || e.contains(&target.display().to_string()),
                    "{name}, mutation {r}: the error does not name the file: {e}"
                );
                refused += 1;
            }
            Err(payload) => panic!(
                "{name}, mutation {r} (key {key:#x}): the reader panicked: {:?}",
                payload.downcast_ref::<String>()
            ),
        }
    }
    (ok, refused)
}

fn data(rel: &str) -> Option<PathBuf> {
    twin_core::testdata::require(Path::new("msk").join(rel))
}

#[test]
fn damaged_gait_and_twin_files_never_panic_and_errors_name_the_file() {
    let Some(g2354) = data("gait2354_subject01") else {
        return;
    };
    let g10 = data("gait10dof18musc").unwrap();
    let scratch = std::env::temp_dir().join(format!("twin-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let model = twin_msk::Model::read(&g10.join("gait10dof18musc_subject01.osim")).unwrap();
    let mut report = Vec::new();
    let cases: Vec<(PathBuf, Reader)> = vec![
        (
            g2354.join("subject01_walk1_ik.mot"),
            Box::new(|p| {
                twin_msk::Table::read(p)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            g2354.join("subject01_walk1.trc"),
            Box::new(|p| {
                twin_msk::Markers::read_trc(p)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            g10.join("gait10dof18musc_subject01.osim"),
            Box::new(|p| {
                twin_msk::Model::read(p)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            g2354.join("../c3d/walking2.c3d"),
            Box::new(|p| {
                twin_msk::C3dTrial::read(p)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            g10.join("gait10dof18musc_subject01_walk_grf.xml"),
            Box::new(move |p| {
                // The loads file names its data file: copy that beside it.
                let _ = std::fs::copy(
                    g10.join("gait10dof18musc_subject01_walk_grf.mot"),
                    p.with_file_name("gait10dof18musc_subject01_walk_grf.mot"),
                );
                twin_msk::loads::ExternalLoads::read(p, &model, None)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
        ),
    ];
    for (file, read) in &cases {
        let (ok, refused) = survive(file, &scratch, ROUNDS, read.as_ref());
        report.push(format!(
            "{}: {ok} read, {refused} refused",
            file.file_name().unwrap().to_string_lossy()
        ));
    }
    // A twin file.
    let twin = scratch.join("seed.twin.json");
    let mut doc = twin_scenario::TwinDocument::new("robustness");
    doc.variants.push(twin_scenario::Variant {
        name: "severe AS".into(),
        cardio: vec![twin_cardio::Intervention::AorticStenosis {
            valve_area_cm2: 0.7,
        }],
        ..twin_scenario::Variant::default()
    });
    twin_scenario::store::save(&doc, &twin).unwrap();
    std::fs::create_dir_all(scratch.join("t")).unwrap();
    let (ok, refused) = survive(&twin, &scratch.join("t"), ROUNDS, &|p| {
        twin_scenario::TwinDocument::read(p)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    report.push(format!("twin file: {ok} read, {refused} refused"));
    eprintln!("{}", report.join("\n"));
    std::fs::remove_dir_all(&scratch).unwrap();
}
