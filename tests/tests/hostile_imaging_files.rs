//! Robustness of the imaging and mesh readers against damaged files: a
//! fixed number of mutations with a fixed seed of real DICOM series (the
//! demo CT, the shared gantry-tilt CT, the JPEG Lossless chest CT and an
//! enhanced multi-frame MR), of NIfTI files (ours and dcm2niix's) and of
//! STL / OBJ / PLY meshes. DICOM mutations know the file's elements:
//! truncation at element boundaries, huge lengths, wrong VRs, absurd image
//! attributes. Each reader must return without panicking, its errors must
//! name the file, and the whole test runs under a capped heap: a reader
//! that allocates past its memory budget aborts it.

use std::path::{Path, PathBuf};

use twin_core::Progress;
use twin_e2e::hostile::{
    Tally, check, mix64, mutate, mutate_dicom, overwrite_field, scratch, survive,
};

#[global_allocator]
static HEAP: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, HEAP_LIMIT);

/// The heap of this test process may not exceed this (the readers get a
/// budget of [`READ_BUDGET`] and some room for the test itself).
const HEAP_LIMIT: usize = 1536 << 20;
const READ_BUDGET: u64 = 256 << 20;
const ROUNDS: u64 = 60;

/// Scans `dir`, then assembles (all phases) and thumbnails every stack.
fn scan_and_load(dir: &Path) -> Result<(), String> {
    let progress = Progress::new();
    let report = twin_imaging::scan_folder(dir, &progress).map_err(|e| e.to_string())?;
    for (_, _, stack) in report.stacks() {
        twin_imaging::thumbnail(stack, 64).map_err(|e| e.to_string())?;
        let cine =
            twin_imaging::load_cine(stack, &progress, READ_BUDGET).map_err(|e| e.to_string())?;
        for v in &cine.phases {
            let (lo, hi) = v.range();
            assert!(lo <= hi || v.data.is_empty(), "range {lo}..{hi}");
        }
    }
    Ok(())
}

/// `ROUNDS` rounds on a series: every file copied into a scratch folder,
/// one of them mutated; the folder scanned and loaded. Scan problems with
/// single files are reported in the scan (never fatal); errors must name
/// the folder or one of its files.
fn survive_series(name: &str, files: &[PathBuf]) -> Tally {
    let dir = scratch(&format!("hostile-{name}"));
    let originals: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let mut tally = Tally::default();
    for r in 0..ROUNDS {
        let key = mix64(r ^ (name.len() as u64) << 40);
        let victim = (mix64(key ^ 0xABC) as usize) % files.len();
        for (k, bytes) in originals.iter().enumerate() {
            let data = if k == victim {
                mutate_dicom(bytes, key)
            } else {
                bytes.clone()
            };
            std::fs::write(dir.join(format!("IM{k:04}")), data).unwrap();
        }
        let what = format!("{name}, mutation {r} (key {key:#x}) of file {victim}");
        let folder = dir.file_name().unwrap().to_string_lossy().to_string();
        check(&mut tally, &dir, &folder, &what, &|d| {
            scan_and_load(d).map_err(|e| {
                // Naming one of the files is as good as naming the folder.
                if (0..files.len()).any(|k| e.contains(&format!("IM{k:04}"))) {
                    format!("{folder}: {e}")
                } else {
                    e
                }
            })
        });
    }
    tally
}

fn first_files(dir: &Path, n: usize, min_bytes: u64) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walk(dir)
        .into_iter()
        .filter(|p| p.metadata().is_ok_and(|m| m.len() >= min_bytes))
        .filter(|p| twin_imaging::header::looks_like_dicom(p))
        .collect();
    files.sort();
    files.truncate(n);
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn damaged_dicom_series_never_panic_or_overrun_the_budget() {
    let demo = twin_phantom::ensure_demo_patient().expect("demo patient");
    let mut report = vec![];
    let demo_ct = first_files(&demo.ct_dir, 3, 0);
    let t = survive_series("demo-ct", &demo_ct);
    report.push(format!(
        "demo CT (3 slices): {} read, {} refused",
        t.read, t.refused
    ));
    let Some(dicom) = twin_core::testdata::require("dicom") else {
        return;
    };
    for (name, folder, n, min) in [
        ("tilt-ct", "ct_head_gantrytilt_dcm_qa_ct", 3, 100_000),
        ("chest-ct", "ct_chest_covidctmd_normal001", 2, 0),
        ("enhanced-mr", "mr_dcm_qa_philips_enh/In/enh", 1, 0),
    ] {
        let files = first_files(&dicom.join(folder), n, min);
        assert_eq!(files.len(), n, "{folder}");
        let t = survive_series(name, &files);
        report.push(format!(
            "{name} ({n} files): {} read, {} refused",
            t.read, t.refused
        ));
    }
    eprintln!("{}", report.join("\n"));
}

/// A small volume with a bright ball, for NIfTI and mesh files.
fn ball(n: usize) -> twin_imaging::Volume {
    let c = (n as f32 - 1.0) / 2.0;
    let data = (0..n * n * n)
        .map(|v| {
            let (i, j, k) = (v % n, (v / n) % n, v / (n * n));
            let r2 = [i, j, k]
                .iter()
                .map(|&x| (x as f32 - c).powi(2))
                .sum::<f32>();
            if r2 < (0.35 * n as f32).powi(2) {
                100.0
            } else {
                0.0
            }
        })
        .collect();
    let mut affine = nalgebra::Matrix4::identity();
    affine[(0, 0)] = 0.8;
    affine[(1, 1)] = 0.8;
    affine[(2, 2)] = 2.5;
    twin_imaging::Volume::new([n, n, n], data, affine, "MR")
}

#[test]
fn damaged_nifti_files_never_panic_or_overrun_the_budget() {
    let dir = scratch("hostile-nifti");
    let ours = dir.join("ball.nii");
    twin_imaging::nifti_io::write_nifti(&ball(24), &ours).unwrap();
    let mut sources = vec![ours];
    if let Some(dicom) = twin_core::testdata::require("dicom/mr_dcm_qa_xa30/Ref") {
        sources.push(dicom.join("25_asl_2d_tra.nii"));
    }
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let read = |p: &Path| {
        twin_imaging::nifti_io::read_nifti(p)
            .map(|v| assert!(v.data.len() <= (READ_BUDGET / 4) as usize))
            .map_err(|e| e.to_string())
    };
    for source in &sources {
        let name = source.file_name().unwrap().to_string_lossy().to_string();
        let t = survive(source, &work, ROUNDS, &read);
        // The header's fields: sizeof_hdr, dim[0..8], datatype, bitpix,
        // vox_offset, scl_slope, pixdim, sform rows.
        let bytes = std::fs::read(source).unwrap();
        let mut h = Tally::default();
        let target = work.join(&name);
        for (r, (at, width)) in [
            (0, 4),
            (40, 2),
            (42, 2),
            (44, 2),
            (46, 2),
            (48, 2),
            (70, 2),
            (72, 2),
            (108, 4),
            (112, 4),
            (80, 4),
            (280, 4),
            (252, 2),
        ]
        .into_iter()
        .enumerate()
        {
            for k in 0..5u64 {
                std::fs::write(&target, overwrite_field(&bytes, at, width, k)).unwrap();
                check(
                    &mut h,
                    &target,
                    &name,
                    &format!("{name}: field at {at} ({r}), value {k}"),
                    &read,
                );
            }
        }
        eprintln!(
            "{name}: {} read, {} refused; header fields: {} read, {} refused",
            t.read, t.refused, h.read, h.refused
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damaged_mesh_files_never_panic_or_overrun_the_budget() {
    use twin_mesh::io::{Frame, MeshFormat, read_mesh, write_mesh};
    let dir = scratch("hostile-mesh");
    let v = ball(16);
    let grid = twin_mesh::Grid {
        dims: v.dims,
        data: &v.data,
        affine: &v.affine,
    };
    let mesh = twin_mesh::marching_cubes(grid, 50.0, &Progress::new()).unwrap();
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let read = |p: &Path| {
        read_mesh(p)
            .map(|m| {
                let _ = m.stats();
            })
            .map_err(|e| e.to_string())
    };
    for (name, format) in [
        ("ball.stl", MeshFormat::StlBinary),
        ("ascii.stl", MeshFormat::StlAscii),
        ("ball.obj", MeshFormat::Obj),
        ("ball.ply", MeshFormat::Ply),
    ] {
        let source = dir.join(name);
        write_mesh(&mesh, &source, format, Frame::Lps).unwrap();
        let t = survive(&source, &work, ROUNDS, &read);
        // Binary headers: the STL triangle count, the PLY element counts.
        let bytes = std::fs::read(&source).unwrap();
        let mut h = Tally::default();
        let target = work.join(name);
        for k in 0..8u64 {
            let data = if name == "ball.stl" {
                overwrite_field(&bytes, 80, 4, k)
            } else {
                mutate(&bytes, mix64(k ^ 0x77))
            };
            std::fs::write(&target, data).unwrap();
            check(&mut h, &target, name, &format!("{name}: header {k}"), &read);
        }
        eprintln!(
            "{name}: {} read, {} refused; headers: {} read, {} refused",
            t.read, t.refused, h.read, h.refused
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
