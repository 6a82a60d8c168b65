//! Axial lower-limb CT phantom: both legs from mid-thigh to the distal shank, the
//! right one amputated below the knee (transtibial stump), in Hounsfield units.
//!
//! Tissues (HU): air −1000, subcutaneous fat −100, muscle +50, fatty marrow −60,
//! cancellous bone +250, epiphyseal cortex +900, diaphyseal cortical bone +1300.
//! Coordinates are LPS mm, patient supine head first; slices run from z = 0
//! (mid-thigh) downwards, the knee joint line is at z = −200 mm.

use std::path::{Path, PathBuf};

use nalgebra::Vector3;
use rayon::prelude::*;
use serde::Serialize;

use dicom::core::VR;
use dicom::dictionary_std::tags;

use crate::PhantomError;
use crate::dicom_out::{ImageBuilder, ds, ds_multi};
use crate::rng::{mix64, normal_pair};
use crate::uid::uid_for;

/// SOP Class UID of CT Image Storage.
pub const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";

type V3 = Vector3<f64>;

/// Attenuation of each tissue (HU).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TissueHu {
    pub air: f64,
    pub fat: f64,
    pub muscle: f64,
    pub marrow: f64,
    pub cancellous: f64,
    pub epiphyseal_cortex: f64,
    pub cortical: f64,
    pub noise_sigma: f64,
}

/// Parameters of the lower-limb CT phantom.
#[derive(Debug, Clone, Serialize)]
pub struct LegsPhantom {
    pub rows: u16,
    pub cols: u16,
    pub pixel_mm: f64,
    pub slices: usize,
    pub slice_mm: f64,
    /// z of the knee joint line (mm).
    pub knee_z: f64,
    /// z at which the right tibia is cut (mm).
    pub amputation_z: f64,
    /// Length of soft tissue below the cut bone (mm).
    pub stump_padding_mm: f64,
    pub hu: TissueHu,
    pub seed: u64,
}

impl Default for LegsPhantom {
    fn default() -> Self {
        Self::demo()
    }
}

fn interp(table: &[(f64, f64)], z: f64) -> f64 {
    // `table` is sorted by decreasing z (top of the leg first).
    if z >= table[0].0 {
        return table[0].1;
    }
    for w in table.windows(2) {
        let ((z0, v0), (z1, v1)) = (w[0], w[1]);
        if z <= z0 && z >= z1 {
            let f = (z0 - z) / (z0 - z1);
            return v0 + f * (v1 - v0);
        }
    }
    table[table.len() - 1].1
}

fn ellipsoid(q: &V3, c: &V3, r: &V3) -> f64 {
    ((q.x - c.x) / r.x).powi(2) + ((q.y - c.y) / r.y).powi(2) + ((q.z - c.z) / r.z).powi(2)
}

/// Which leg: the right one (patient right = −x in LPS) carries the stump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Right,
    Left,
}

impl LegsPhantom {
    /// The demo patient's legs: 320 × 224 pixels of 1.25 mm, 150 slices of 3 mm.
    #[must_use]
    pub fn demo() -> Self {
        Self {
            rows: 224,
            cols: 320,
            pixel_mm: 1.25,
            slices: 150,
            slice_mm: 3.0,
            knee_z: -200.0,
            amputation_z: -330.0,
            stump_padding_mm: 45.0,
            hu: TissueHu {
                air: -1000.0,
                fat: -100.0,
                muscle: 50.0,
                marrow: -60.0,
                cancellous: 250.0,
                epiphyseal_cortex: 900.0,
                cortical: 1300.0,
                noise_sigma: 12.0,
            },
            seed: 0x4C45_4753_4354_0001,
        }
    }

    /// z of slice `k` (mm).
    #[must_use]
    pub fn slice_z(&self, k: usize) -> f64 {
        -self.slice_mm * k as f64
    }

    /// `ImagePositionPatient` of slice `k`.
    #[must_use]
    pub fn slice_position(&self, k: usize) -> [f64; 3] {
        let x0 = -(f64::from(self.cols) - 1.0) / 2.0 * self.pixel_mm;
        let y0 = -(f64::from(self.rows) - 1.0) / 2.0 * self.pixel_mm;
        [x0, y0, self.slice_z(k)]
    }

    /// Lowest z of soft tissue of the stump (mm).
    #[must_use]
    pub fn stump_end_z(&self) -> f64 {
        self.amputation_z - self.stump_padding_mm
    }

    /// HU at point `p` without noise.
    #[must_use]
    pub fn hu_at(&self, p: &V3) -> f64 {
        let side = if p.x < 0.0 { Side::Right } else { Side::Left };
        self.leg_hu(p, side)
    }

    fn leg_hu(&self, p: &V3, side: Side) -> f64 {
        let h = &self.hu;
        let z = p.z;
        let k = self.knee_z;
        // Mirror so that +x is lateral for both legs.
        let sign = if side == Side::Right { -1.0 } else { 1.0 };
        let centre_x = interp(&[(0.0, 105.0), (k, 90.0), (k - 250.0, 82.0)], z);
        let q = V3::new(sign * p.x - centre_x, p.y, z);
        let radius_table = [
            (0.0, 78.0),
            (k + 80.0, 66.0),
            (k + 10.0, 55.0),
            (k - 15.0, 52.0),
            (k - 80.0, 56.0),
            (k - 160.0, 42.0),
            (k - 250.0, 30.0),
        ];
        let mut radius = interp(&radius_table, z);
        let stump = side == Side::Right;
        if stump && z < self.amputation_z {
            let f = (self.amputation_z - z) / self.stump_padding_mm;
            if f >= 1.0 {
                return h.air;
            }
            radius = interp(&radius_table, self.amputation_z) * (1.0 - f * f).sqrt();
        }
        let r2 = (q.x / radius).powi(2) + (q.y / (0.9 * radius)).powi(2);
        if r2 > 1.0 {
            return h.air;
        }
        let fat_mm = if z > k { 9.0 } else { 6.0 };
        let inner = radius - fat_mm;
        if inner <= 0.0 || (q.x / inner).powi(2) + (q.y / (0.9 * inner)).powi(2) > 1.0 {
            return h.fat;
        }
        let bone_end = if stump {
            self.amputation_z
        } else {
            f64::NEG_INFINITY
        };
        self.bone_hu(&q, bone_end).unwrap_or(h.muscle)
    }

    /// HU inside bone, in the leg frame `q` (x lateral, y posterior), or `None`.
    fn bone_hu(&self, q: &V3, tibia_end_z: f64) -> Option<f64> {
        let h = &self.hu;
        let k = self.knee_z;
        let z = q.z;
        let shell = |inside_outer: bool, inside_inner: bool, core: f64, cortex: f64| {
            if inside_inner {
                Some(core)
            } else if inside_outer {
                Some(cortex)
            } else {
                None
            }
        };
        let tube = |cx: f64, cy: f64, outer: f64, inner: f64, core: f64| {
            let r = ((q.x - cx).powi(2) + (q.y - cy).powi(2)).sqrt();
            shell(r <= outer, r <= inner, core, h.cortical)
        };
        let blob = |c: V3, r: V3, wall: f64| {
            let outer = ellipsoid(q, &c, &r);
            let inner = ellipsoid(q, &c, &(r - V3::repeat(wall)));
            shell(
                outer <= 1.0,
                inner <= 1.0,
                h.cancellous,
                h.epiphyseal_cortex,
            )
        };
        // Femur: shaft and condyles.
        if z > k - 5.0 {
            if let Some(v) = blob(V3::new(2.0, 4.0, k + 18.0), V3::new(38.0, 30.0, 22.0), 2.0) {
                return Some(v);
            }
            if z > k + 20.0 {
                let flare = ((k + 60.0 - z) / 40.0).clamp(0.0, 1.0);
                let outer = 13.5 + 10.0 * flare * flare;
                let inner = 7.5 + 12.0 * flare * flare;
                let core = if flare > 0.3 { h.cancellous } else { h.marrow };
                if let Some(v) = tube(3.0, 2.0, outer, inner, core) {
                    return Some(v);
                }
            }
            // Patella, in front of the femoral condyles.
            if let Some(v) = blob(V3::new(0.0, -40.0, k + 22.0), V3::new(20.0, 9.0, 22.0), 1.5) {
                return Some(v);
            }
            return None;
        }
        if z < tibia_end_z {
            return None;
        }
        // Tibial plateau and shaft.
        if let Some(v) = blob(V3::new(-2.0, 2.0, k - 20.0), V3::new(36.0, 28.0, 16.0), 2.0) {
            return Some(v);
        }
        if z < k - 25.0 {
            let taper = ((k - 25.0 - z) / 220.0).clamp(0.0, 1.0);
            let flare = ((z - (k - 65.0)) / 40.0).clamp(0.0, 1.0);
            let outer = 12.0 - 2.0 * taper + 9.0 * flare * flare;
            let inner = 6.0 - 1.0 * taper + 10.0 * flare * flare;
            let core = if flare > 0.3 { h.cancellous } else { h.marrow };
            if let Some(v) = tube(-3.0, -14.0, outer, inner, core) {
                return Some(v);
            }
        }
        // Fibula (head and shaft), cut 15 mm above the tibia on the stump side.
        let fibula_end = tibia_end_z + 15.0;
        if z >= fibula_end {
            if let Some(v) = blob(
                V3::new(30.0, 12.0, k - 28.0),
                V3::new(10.0, 10.0, 10.0),
                1.5,
            ) {
                return Some(v);
            }
            if z < k - 28.0
                && let Some(v) = tube(27.0, 10.0, 6.5, 2.5, h.marrow)
            {
                return Some(v);
            }
        }
        None
    }

    /// Renders slice `k` as stored values (HU + 1024, 12 bits).
    #[must_use]
    pub fn render(&self, k: usize) -> Vec<u16> {
        let origin = V3::from(self.slice_position(k));
        let (rows, cols) = (usize::from(self.rows), usize::from(self.cols));
        let sub = [-1.0, 0.0, 1.0];
        let key = mix64(self.seed ^ k as u64);
        let mut out = vec![0u16; rows * cols];
        out.par_chunks_mut(cols).enumerate().for_each(|(j, line)| {
            for (i, px) in line.iter_mut().enumerate() {
                let p = origin + V3::new(i as f64 * self.pixel_mm, j as f64 * self.pixel_mm, 0.0);
                let mean = sub
                    .iter()
                    .map(|dz| self.hu_at(&(p + V3::new(0.0, 0.0, dz * self.slice_mm / 3.0))))
                    .sum::<f64>()
                    / sub.len() as f64;
                let (n, _) = normal_pair(key ^ mix64((j * cols + i) as u64));
                let hu = mean + self.hu.noise_sigma * n;
                *px = (hu + 1024.0).round().clamp(0.0, 4095.0) as u16;
            }
        });
        out
    }

    /// Writes the CT as single-frame CT Image Storage files into `dir`.
    pub fn write(&self, dir: &Path, study_uid: &str) -> Result<Vec<PathBuf>, PhantomError> {
        std::fs::create_dir_all(dir).map_err(|source| PhantomError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let series_uid = uid_for("twinscope-demo/legs/series/axial");
        let frame_uid = uid_for("twinscope-demo/frame-of-reference/legs");
        (0..self.slices)
            .into_par_iter()
            .map(|k| {
                let instance = k + 1;
                let ipp = self.slice_position(k);
                let path = dir.join(format!("CT{instance:04}.dcm"));
                let sop_uid = uid_for(&format!("twinscope-demo/legs/instance/{instance}"));
                let mut b = ImageBuilder::new();
                b.common(
                    study_uid,
                    "CT1",
                    "CT lower limbs (demo phantom)",
                    "20260102",
                    "101500",
                )
                .str(tags::MODALITY, VR::CS, "CT")
                .str(tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\AXIAL")
                .str(tags::SERIES_INSTANCE_UID, VR::UI, &series_uid)
                .str(tags::SERIES_NUMBER, VR::IS, "3")
                .str(tags::SERIES_DESCRIPTION, VR::LO, "Lower limbs 3.0 B30f")
                .str(tags::PROTOCOL_NAME, VR::LO, "Lower limb angio-free")
                .str(tags::BODY_PART_EXAMINED, VR::CS, "LEG")
                .str(tags::PATIENT_POSITION, VR::CS, "HFS")
                .str(tags::FRAME_OF_REFERENCE_UID, VR::UI, &frame_uid)
                .str(tags::POSITION_REFERENCE_INDICATOR, VR::LO, "")
                .str(tags::INSTANCE_NUMBER, VR::IS, &instance.to_string())
                .str(tags::ACQUISITION_NUMBER, VR::IS, "1")
                .str(tags::KVP, VR::DS, "120")
                .str(tags::CONVOLUTION_KERNEL, VR::SH, "B30f")
                .str(tags::IMAGE_POSITION_PATIENT, VR::DS, &ds_multi(&ipp))
                .str(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, "1\\0\\0\\0\\1\\0")
                .str(
                    tags::PIXEL_SPACING,
                    VR::DS,
                    &ds_multi(&[self.pixel_mm, self.pixel_mm]),
                )
                .str(tags::SLICE_THICKNESS, VR::DS, &ds(self.slice_mm))
                .str(tags::SPACING_BETWEEN_SLICES, VR::DS, &ds(self.slice_mm))
                .str(tags::SLICE_LOCATION, VR::DS, &ds(ipp[2]))
                .str(tags::RESCALE_INTERCEPT, VR::DS, "-1024")
                .str(tags::RESCALE_SLOPE, VR::DS, "1")
                .str(tags::RESCALE_TYPE, VR::LO, "HU")
                .str(tags::WINDOW_CENTER, VR::DS, "400\\40")
                .str(tags::WINDOW_WIDTH, VR::DS, "1800\\400")
                .pixels_u16(self.rows, self.cols, 12, self.render(k));
                b.write(&path, CT_IMAGE_STORAGE, &sop_uid)?;
                Ok(path)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tissues_at_known_points() {
        let l = LegsPhantom::demo();
        // Between the legs: air.
        assert!((l.hu_at(&V3::new(0.0, 0.0, -100.0)) - l.hu.air).abs() < 1e-9);
        // Left femoral shaft cortex at mid-thigh (leg centre x = +105 - offset).
        let left_centre = interp(&[(0.0, 105.0), (-200.0, 90.0)], -50.0);
        let cortex = V3::new(left_centre + 3.0 + 11.0, 2.0, -50.0);
        assert!((l.hu_at(&cortex) - l.hu.cortical).abs() < 1e-9);
        let marrow = V3::new(left_centre + 3.0, 2.0, -50.0);
        assert!((l.hu_at(&marrow) - l.hu.marrow).abs() < 1e-9);
        let muscle = V3::new(left_centre + 40.0, 0.0, -50.0);
        assert!((l.hu_at(&muscle) - l.hu.muscle).abs() < 1e-9);
        let fat = V3::new(left_centre + 72.0, 0.0, -50.0);
        assert!((l.hu_at(&fat) - l.hu.fat).abs() < 1e-9);
    }

    #[test]
    fn right_leg_is_amputated_left_is_not() {
        let l = LegsPhantom::demo();
        let z = l.stump_end_z() - 10.0;
        let right_centre = -interp(&[(0.0, 105.0), (-200.0, 90.0), (-450.0, 82.0)], z);
        assert!((l.hu_at(&V3::new(right_centre, 0.0, z)) - l.hu.air).abs() < 1e-9);
        assert!((l.hu_at(&V3::new(-right_centre, 0.0, z)) - l.hu.muscle).abs() < 1e-9);
        // Soft tissue but no bone just below the cut on the stump side.
        let below_cut = l.amputation_z - 5.0;
        let rc = -interp(&[(0.0, 105.0), (-200.0, 90.0), (-450.0, 82.0)], below_cut);
        let tibia = V3::new(rc + 3.0, -14.0, below_cut);
        assert!((l.hu_at(&tibia) - l.hu.muscle).abs() < 1e-9);
        let left_tibia = V3::new(-rc - 3.0 + 10.5, -14.0, below_cut);
        assert!((l.hu_at(&left_tibia) - l.hu.cortical).abs() < 1e-9);
    }
}
