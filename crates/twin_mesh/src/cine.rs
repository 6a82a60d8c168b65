//! LV blood-pool volumes over a cine: one seed, propagated through all phases.
//!
//! In each phase the blood pool is grown (6-connected, in 3D) from the seed
//! over voxels brighter than a fraction of the local blood signal — bright
//! blood (bSSFP) against dark myocardium — and its volume is the voxel count
//! times the voxel volume (Simpson's rule over the slices). The seed moves
//! with the ventricle: when it falls outside the blood pool of a phase, the
//! centroid of the previous phase's pool is used.

use nalgebra::Vector4;
use twin_core::Progress;

use crate::Grid;
use crate::segment::{Connectivity, Mask, SegmentError};

/// Fraction of the local blood signal above which a voxel counts as blood
/// (half-way between bright blood and myocardium at typical bSSFP contrast).
pub const DEFAULT_FRACTION: f32 = 0.6;

/// The LV volume curve of a cine.
#[derive(Debug, Clone, PartialEq)]
pub struct LvCurve {
    /// Blood volume per phase (mL).
    pub volumes_ml: Vec<f64>,
    pub ed_phase: usize,
    pub es_phase: usize,
    pub edv_ml: f64,
    pub esv_ml: f64,
    pub sv_ml: f64,
    /// Ejection fraction (%).
    pub ef_percent: f64,
}

fn centroid_mm(grid: &Grid<'_>, mask: &Mask) -> Option<[f64; 3]> {
    let [nx, ny, _] = mask.dims;
    let (mut s, mut n) = ([0.0f64; 3], 0usize);
    for (i, &m) in mask.data.iter().enumerate() {
        if m != 0 {
            s[0] += (i % nx) as f64;
            s[1] += ((i / nx) % ny) as f64;
            s[2] += (i / (nx * ny)) as f64;
            n += 1;
        }
    }
    (n > 0).then(|| {
        let c = s.map(|x| x / n as f64);
        let p = grid.affine * Vector4::new(c[0], c[1], c[2], 1.0);
        [p.x, p.y, p.z]
    })
}

/// Median of the in-plane 3 × 3 neighbourhood of `seed`.
fn local_signal(grid: &Grid<'_>, seed: [i64; 3]) -> f32 {
    let [nx, ny, _] = grid.dims;
    let mut v = Vec::with_capacity(9);
    for dy in -1..=1 {
        for dx in -1..=1 {
            let (x, y) = (seed[0] + dx, seed[1] + dy);
            if x >= 0 && y >= 0 && (x as usize) < nx && (y as usize) < ny {
                v.push(grid.data[x as usize + nx * (y as usize + ny * seed[2] as usize)]);
            }
        }
    }
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

/// Segments the LV blood pool in every phase from one seed (patient mm).
pub fn lv_volumes(
    phases: &[Grid<'_>],
    seed_mm: [f64; 3],
    fraction: f32,
    progress: &Progress,
) -> Result<LvCurve, SegmentError> {
    let mut volumes = Vec::with_capacity(phases.len());
    let mut previous_centre: Option<[f64; 3]> = None;
    progress.begin("LV blood pool per phase", phases.len() as u64);
    for grid in phases {
        progress.check_cancelled()?;
        let sp = grid.spacing();
        let mut candidates = vec![seed_mm];
        candidates.extend(previous_centre);
        let mut grown = None;
        for c in candidates {
            let Some(seed) = grid.patient_to_voxel(c) else {
                continue;
            };
            if (0..3).any(|a| seed[a] < 0 || seed[a] as usize >= grid.dims[a]) {
                continue;
            }
            let blood = local_signal(grid, seed);
            let lo = blood * fraction;
            let mask = grow_above(grid, sp, seed, lo, progress)?;
            if mask.count() > 0 {
                grown = Some(mask);
                break;
            }
        }
        let mask = grown.ok_or(SegmentError::SeedOutside {
            seed: grid.patient_to_voxel(seed_mm).unwrap_or([-1; 3]),
            dims: grid.dims,
        })?;
        previous_centre = centroid_mm(grid, &mask);
        volumes.push(mask.volume_mm3() / 1000.0);
        progress.advance(1);
    }
    Ok(curve(volumes))
}

/// Voxels connected to `seed` with values ≥ `lo`.
fn grow_above(
    grid: &Grid<'_>,
    sp: [f64; 3],
    seed: [i64; 3],
    lo: f32,
    progress: &Progress,
) -> Result<Mask, SegmentError> {
    let allowed = crate::segment::threshold(grid.dims, sp, grid.data, lo, f32::INFINITY)?;
    crate::segment::keep_at(&allowed, seed, Connectivity::Six, progress)
}

/// ED = largest volume, ES = smallest; SV and EF from them.
#[must_use]
pub fn curve(volumes_ml: Vec<f64>) -> LvCurve {
    let ed_phase = (0..volumes_ml.len())
        .max_by(|&a, &b| volumes_ml[a].total_cmp(&volumes_ml[b]))
        .unwrap_or(0);
    let es_phase = (0..volumes_ml.len())
        .min_by(|&a, &b| volumes_ml[a].total_cmp(&volumes_ml[b]))
        .unwrap_or(0);
    let edv = volumes_ml.get(ed_phase).copied().unwrap_or(0.0);
    let esv = volumes_ml.get(es_phase).copied().unwrap_or(0.0);
    let sv = edv - esv;
    LvCurve {
        volumes_ml,
        ed_phase,
        es_phase,
        edv_ml: edv,
        esv_ml: esv,
        sv_ml: sv,
        ef_percent: if edv > 0.0 { 100.0 * sv / edv } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_finds_ed_es_and_ef() {
        let c = curve(vec![120.0, 140.0, 90.0, 55.0, 80.0]);
        assert_eq!((c.ed_phase, c.es_phase), (1, 3));
        assert!((c.sv_ml - 85.0).abs() < 1e-12);
        assert!((c.ef_percent - 100.0 * 85.0 / 140.0).abs() < 1e-12);
    }
}
