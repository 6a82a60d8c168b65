//! Surface benchmarks: volumes as raw float32 files shared with the peers,
//! and Twinscope's extraction, mask and Slicer-like pipeline timings.
//!
//! A raw volume is `NAME.raw` (float32 little endian, x fastest) with
//! `NAME.json` holding `{"dims": [nx, ny, nz], "spacing": [sx, sy, sz]}`.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use nalgebra::{Matrix4, Vector3};
use twin_core::Progress;
use twin_mesh::surface::{SurfaceOptions, mask_surface};
use twin_mesh::{Grid, marching_cubes};

/// A raw volume in memory.
pub struct RawVolume {
    pub dims: [usize; 3],
    pub spacing: [f64; 3],
    pub data: Vec<f32>,
}

impl RawVolume {
    fn affine(&self) -> Matrix4<f64> {
        Matrix4::new_nonuniform_scaling(&Vector3::from(self.spacing))
    }
}

pub fn write_raw(
    out: &Path,
    dims: [usize; 3],
    spacing: [f64; 3],
    data: &[f32],
) -> anyhow::Result<()> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(out.with_extension("raw"), bytes)?;
    std::fs::write(
        out.with_extension("json"),
        serde_json::json!({ "dims": dims, "spacing": spacing }).to_string(),
    )?;
    Ok(())
}

pub fn read_raw(path: &Path) -> anyhow::Result<RawVolume> {
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(path.with_extension("json")).context("raw volume header")?,
    )?;
    let dims: [usize; 3] = serde_json::from_value(meta["dims"].clone())?;
    let spacing: [f64; 3] = serde_json::from_value(meta["spacing"].clone())?;
    let bytes = std::fs::read(path.with_extension("raw"))?;
    let data: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    anyhow::ensure!(data.len() == dims.iter().product::<usize>(), "raw size");
    Ok(RawVolume {
        dims,
        spacing,
        data,
    })
}

/// The first volume of a DICOM folder, as raw float32 (the volume's own
/// voxel order; spacing from its affine).
pub fn export_dicom(dir: &Path, out: &Path) -> anyhow::Result<()> {
    let vol = twin_imaging::volume::load_first_volume(dir, &Progress::new())?;
    write_raw(out, vol.dims, vol.spacing(), &vol.data)
}

/// A smooth 256³ field: twelve Gaussian "metaballs" (fixed positions and
/// radii), level 0.5 gives a few blobby closed surfaces.
pub fn make_field(out: &Path, n: usize) -> anyhow::Result<()> {
    let mut state = 0x5EED_u64;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as f64 / f64::from(1u32 << 31)
    };
    let nf = n as f64;
    let balls: Vec<([f64; 3], f64)> = (0..12)
        .map(|_| {
            let c = [
                (0.2 + 0.6 * next()) * nf,
                (0.2 + 0.6 * next()) * nf,
                (0.2 + 0.6 * next()) * nf,
            ];
            (c, (0.06 + 0.08 * next()) * nf)
        })
        .collect();
    let mut data = vec![0f32; n * n * n];
    for (idx, v) in data.iter_mut().enumerate() {
        let p = [
            (idx % n) as f64,
            ((idx / n) % n) as f64,
            (idx / (n * n)) as f64,
        ];
        let f: f64 = balls
            .iter()
            .map(|(c, r)| {
                let d2: f64 = (0..3).map(|a| (p[a] - c[a]).powi(2)).sum();
                (-d2 / (2.0 * r * r)).exp()
            })
            .sum();
        *v = f as f32;
    }
    write_raw(out, [n, n, n], [1.0; 3], &data)
}

/// Times `task` on a raw volume at `level`; returns (seconds, triangles).
pub fn run(task: &str, vol: &RawVolume, level: f32) -> anyhow::Result<(f64, usize)> {
    let affine = vol.affine();
    let p = Progress::new();
    match task {
        // Grey-level isosurface (vtkFlyingEdges3D, skimage marching_cubes).
        "isosurface" => {
            let t = Instant::now();
            let m = marching_cubes(
                Grid {
                    dims: vol.dims,
                    data: &vol.data,
                    affine: &affine,
                },
                level,
                &p,
            )?;
            Ok((t.elapsed().as_secs_f64(), m.triangles.len()))
        }
        // Binary mask (value ≥ level) surface (vtkDiscreteFlyingEdges3D).
        "mask-surface" => {
            let mask: Vec<u8> = vol.data.iter().map(|&v| u8::from(v >= level)).collect();
            let t = Instant::now();
            let m = marching_cubes(
                Grid {
                    dims: vol.dims,
                    data: &mask,
                    affine: &affine,
                },
                0.5,
                &p,
            )?;
            Ok((t.elapsed().as_secs_f64(), m.triangles.len()))
        }
        // Slicer-like: mask → surface → 20 smoothing iterations → decimate
        // to a quarter of the triangles.
        "pipeline" => {
            let mask = twin_mesh::segment::Mask {
                dims: vol.dims,
                spacing: vol.spacing,
                data: vol.data.iter().map(|&v| u8::from(v >= level)).collect(),
            };
            let t = Instant::now();
            let raw = mask_surface(
                &mask,
                &affine,
                SurfaceOptions {
                    antialias_sigma: 0.0,
                    ..SurfaceOptions::default()
                },
                &p,
            )?;
            let mut mesh = raw;
            twin_mesh::process::smooth_taubin(
                &mut mesh,
                twin_mesh::process::Taubin::default(),
                &p,
            )?;
            let target = mesh.triangles.len() / 4;
            let mesh = twin_mesh::decimate::decimate(
                &mesh,
                twin_mesh::decimate::Decimation::to(target),
                &p,
            )?;
            Ok((t.elapsed().as_secs_f64(), mesh.triangles.len()))
        }
        other => anyhow::bail!("unknown surface task `{other}`"),
    }
}
