//! Cardiac MR cine short-axis phantom with an analytically known LV blood volume.
//!
//! Geometry (patient coordinates, LPS, mm):
//! * the LV long axis `u` runs from the base (mitral plane) towards the apex, which
//!   points left, anterior and inferior as in a real chest;
//! * the short-axis image planes are perpendicular to `u` (an oblique
//!   `ImageOrientationPatient`), stacked from base to apex;
//! * the LV blood pool is a half prolate ellipsoid cut at the base plane: radius
//!   `a(t)` in the plane, length `c(t)` along `u`, volume `V = 2/3·π·a²·c` exactly;
//! * the myocardium is a confocal-like shell of thickness `d(t)` chosen so that
//!   the myocardial volume stays constant over the cycle (the wall thickens in
//!   systole, as it does in a real heart);
//! * the RV is a crescent (a larger half ellipsoid to the right and in front of the
//!   LV, minus the LV and septum).
//!
//! The LV volume curve `V(t)` is a smooth physiological shape: ejection to the ESV
//! at 35 % of the RR interval, rapid filling, diastasis and an atrial kick back to
//! the EDV. Each slice integrates the signal over its thickness (partial volume),
//! and magnitude (Rician) noise is added with a fixed seed.

use std::f64::consts::PI;
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

/// SOP Class UID of MR Image Storage.
pub const MR_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.4";

type V3 = Vector3<f64>;

/// Signal levels of a balanced SSFP cine (arbitrary scanner units).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CineSignals {
    pub blood: f64,
    pub myocardium: f64,
    pub fat: f64,
    pub soft_tissue: f64,
    pub liver: f64,
    pub lung: f64,
    pub air: f64,
    /// Standard deviation of the Gaussian noise in each quadrature channel.
    pub noise_sigma: f64,
}

/// Parameters of the cardiac cine phantom.
#[derive(Debug, Clone, Serialize)]
pub struct CardiacPhantom {
    pub rows: u16,
    pub cols: u16,
    /// In-plane pixel size (mm).
    pub pixel_mm: f64,
    /// Number of short-axis slices.
    pub slices: usize,
    /// Slice thickness and spacing between slice centres (mm).
    pub slice_mm: f64,
    /// Position of the first slice centre along the long axis (mm from the base plane).
    pub first_slice_w_mm: f64,
    /// Cardiac phases per RR interval.
    pub phases: usize,
    /// RR interval (ms).
    pub rr_ms: f64,
    /// LV end-diastolic and end-systolic blood volumes (mL).
    pub edv_ml: f64,
    pub esv_ml: f64,
    /// Fraction of the RR interval at end-systole.
    pub es_fraction: f64,
    /// LV cavity length at end-diastole (mm).
    pub lv_length_ed_mm: f64,
    /// LV myocardial volume (mL), constant over the cycle.
    pub myocardium_ml: f64,
    /// Centre of the LV base plane (LPS mm).
    pub base_centre: [f64; 3],
    /// Unit vector from base to apex (LPS).
    pub long_axis: [f64; 3],
    pub signals: CineSignals,
    pub seed: u64,
}

impl Default for CardiacPhantom {
    fn default() -> Self {
        Self::demo()
    }
}

/// The RV's half ellipsoid at one instant, in the heart's frame: centred
/// `offset_mm` from the LV axis towards the RV, semi-axes along that
/// direction, across it and down the long axis; the RV free wall outside it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RvGeometry {
    pub offset_mm: f64,
    pub along_mm: f64,
    pub across_mm: f64,
    pub length_mm: f64,
    pub wall_mm: f64,
}

/// What the ventricles hold at a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartTissue {
    LvBlood,
    LvWall,
    RvBlood,
    RvWall,
    None,
}

/// The ventricles as a label map in the heart's frame
/// ([`CardiacPhantom::ventricle_labels`]): `labels[x + nx·(y + ny·z)]`,
/// voxel centres at `origin + index·spacing_mm`; a point `(x, y, z)` of
/// the frame is `base_centre + x·axes[0] + y·axes[1] + z·axes[2]` in LPS.
#[derive(Debug, Clone, PartialEq)]
pub struct VentricleLabels {
    pub dims: [usize; 3],
    pub spacing_mm: f64,
    pub origin: [f64; 3],
    pub labels: Vec<u8>,
    pub axes: [[f64; 3]; 3],
    pub base_centre: [f64; 3],
}

/// Half-ellipsoid shape of the LV at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LvShape {
    /// Endocardial radius at the base (mm).
    pub radius_mm: f64,
    /// Endocardial length from base to apex (mm).
    pub length_mm: f64,
    /// Wall thickness (mm).
    pub wall_mm: f64,
}

fn half_ellipsoid_ml(radius: f64, length: f64) -> f64 {
    2.0 / 3.0 * PI * radius * radius * length / 1000.0
}

/// Whether a point `w` below the base plane and `rho` from the long axis
/// lies in the half ellipsoid of `radius` and `length`.
fn in_half_ellipsoid(w: f64, rho: f64, radius: f64, length: f64) -> bool {
    w >= 0.0 && (rho / radius).powi(2) + (w / length).powi(2) <= 1.0
}

fn smooth_step(x: f64) -> f64 {
    (1.0 - (PI * x.clamp(0.0, 1.0)).cos()) / 2.0
}

impl CardiacPhantom {
    /// The demo patient's heart: EDV 140 mL, ESV 55 mL (EF 60.7 %), HR 75.
    #[must_use]
    pub fn demo() -> Self {
        let u = V3::new(0.6, -0.45, -0.65).normalize();
        Self {
            rows: 192,
            cols: 192,
            pixel_mm: 1.5,
            slices: 14,
            slice_mm: 8.0,
            first_slice_w_mm: -4.0,
            phases: 20,
            rr_ms: 800.0,
            edv_ml: 140.0,
            esv_ml: 55.0,
            es_fraction: 0.35,
            lv_length_ed_mm: 95.0,
            myocardium_ml: 125.0,
            base_centre: [25.0, -15.0, -20.0],
            long_axis: [u.x, u.y, u.z],
            signals: CineSignals {
                blood: 480.0,
                myocardium: 110.0,
                fat: 320.0,
                soft_tissue: 130.0,
                liver: 170.0,
                lung: 18.0,
                air: 0.0,
                noise_sigma: 12.0,
            },
            seed: 0x7457_494E_4341_5244,
        }
    }

    /// Trigger time of `phase` (ms after the R wave).
    #[must_use]
    pub fn trigger_time_ms(&self, phase: usize) -> f64 {
        self.rr_ms * phase as f64 / self.phases as f64
    }

    /// LV blood volume (mL) at a fraction `t` of the RR interval (periodic).
    #[must_use]
    pub fn lv_volume_at(&self, t: f64) -> f64 {
        let t = t.rem_euclid(1.0);
        let sv = self.edv_ml - self.esv_ml;
        let es = self.es_fraction;
        let rapid_end = es + 0.25;
        let diastasis_end = 0.8;
        let filled = if t <= es {
            1.0 - smooth_step(t / es)
        } else if t <= rapid_end {
            0.7 * smooth_step((t - es) / (rapid_end - es))
        } else if t <= diastasis_end {
            0.7 + 0.05 * (t - rapid_end) / (diastasis_end - rapid_end)
        } else {
            0.75 + 0.25 * smooth_step((t - diastasis_end) / (1.0 - diastasis_end))
        };
        self.esv_ml + sv * filled
    }

    /// Analytic LV blood volume (mL) of a cine phase — the ground truth for tests.
    #[must_use]
    pub fn lv_volume_ml(&self, phase: usize) -> f64 {
        self.lv_volume_at(phase as f64 / self.phases as f64)
    }

    /// Index of the end-diastolic phase (largest volume).
    #[must_use]
    pub fn ed_phase(&self) -> usize {
        (0..self.phases)
            .max_by(|&a, &b| self.lv_volume_ml(a).total_cmp(&self.lv_volume_ml(b)))
            .unwrap_or(0)
    }

    /// Index of the end-systolic phase (smallest volume).
    #[must_use]
    pub fn es_phase(&self) -> usize {
        (0..self.phases)
            .min_by(|&a, &b| self.lv_volume_ml(a).total_cmp(&self.lv_volume_ml(b)))
            .unwrap_or(0)
    }

    /// LV shape for a blood volume of `volume_ml`.
    ///
    /// The long axis shortens with volume as `c = c_ED·(V/EDV)^0.2` (about 17 %
    /// longitudinal shortening), the radius follows from the volume, and the wall
    /// thickness keeps the myocardial volume constant (solved by bisection).
    #[must_use]
    pub fn lv_shape(&self, volume_ml: f64) -> LvShape {
        let length = self.lv_length_ed_mm * (volume_ml / self.edv_ml).powf(0.2);
        let radius = (3.0 * volume_ml * 1000.0 / (2.0 * PI * length)).sqrt();
        let target = volume_ml + self.myocardium_ml;
        let (mut lo, mut hi) = (0.0_f64, 60.0_f64);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if half_ellipsoid_ml(radius + mid, length + mid) < target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        LvShape {
            radius_mm: radius,
            length_mm: length,
            wall_mm: 0.5 * (lo + hi),
        }
    }

    fn axes(&self) -> (V3, V3, V3) {
        let u = V3::from(self.long_axis).normalize();
        let row = V3::z().cross(&u).normalize();
        let col = u.cross(&row);
        (row, col, u)
    }

    /// `ImageOrientationPatient` of every slice: row and column direction cosines.
    #[must_use]
    pub fn orientation(&self) -> [f64; 6] {
        let (r, c, _) = self.axes();
        [r.x, r.y, r.z, c.x, c.y, c.z]
    }

    /// `ImagePositionPatient` (centre of the first pixel) of slice `k`.
    #[must_use]
    pub fn slice_position(&self, k: usize) -> [f64; 3] {
        let (row, col, u) = self.axes();
        let centre = V3::from(self.base_centre) + u * self.slice_w(k);
        let half_c = (f64::from(self.cols) - 1.0) / 2.0 * self.pixel_mm;
        let half_r = (f64::from(self.rows) - 1.0) / 2.0 * self.pixel_mm;
        let p = centre - row * half_c - col * half_r;
        [p.x, p.y, p.z]
    }

    fn slice_w(&self, k: usize) -> f64 {
        self.first_slice_w_mm + self.slice_mm * k as f64
    }

    /// Direction (in the short-axis plane) from the LV centre towards the RV.
    #[must_use]
    pub fn rv_direction(&self) -> V3 {
        let (_, _, u) = self.axes();
        let towards = V3::new(-0.75, -0.6, 0.25);
        (towards - u * towards.dot(&u)).normalize()
    }

    /// The RV's half ellipsoid when the LV has `shape` and the RV is scaled
    /// by `rv_scale` (its volume relative to end diastole).
    #[must_use]
    pub fn rv_geometry(&self, shape: &LvShape, rv_scale: f64) -> RvGeometry {
        RvGeometry {
            offset_mm: shape.radius_mm + shape.wall_mm + 4.0,
            along_mm: 24.0 * rv_scale.sqrt(),
            across_mm: 42.0 * rv_scale.sqrt(),
            length_mm: 0.85 * shape.length_mm * rv_scale.powf(0.2),
            wall_mm: 3.5,
        }
    }

    /// The RV scale of `phase`: the RV follows the LV's volume curve.
    fn rv_scale(&self, phase: usize) -> f64 {
        self.lv_volume_ml(phase) / self.edv_ml
    }

    /// Analytic RV blood volume (mL) of a cine phase: the RV half ellipsoid
    /// less the LV (blood and wall) it overlaps at the septum, integrated in
    /// closed form across the RV and by the midpoint rule (0.05 mm) along
    /// the other two axes (error well below 0.1 %).
    #[must_use]
    pub fn rv_volume_ml(&self, phase: usize) -> f64 {
        let shape = self.lv_shape(self.lv_volume_ml(phase));
        let rv = self.rv_geometry(&shape, self.rv_scale(phase));
        let (ea, ec) = (
            shape.radius_mm + shape.wall_mm,
            shape.length_mm + shape.wall_mm,
        );
        let h = 0.05;
        let nw = (rv.length_mm / h).ceil() as usize;
        let na = (2.0 * rv.along_mm / h).ceil() as usize;
        let mut sum = 0.0;
        for iw in 0..nw {
            let w = (iw as f64 + 0.5) * h;
            // The LV epicardium's radius at this level.
            let lv_r2 = if w < ec {
                ea * ea * (1.0 - (w / ec).powi(2))
            } else {
                0.0
            };
            for ia in 0..na {
                let along = -rv.along_mm + (ia as f64 + 0.5) * h;
                let s = 1.0 - (along / rv.along_mm).powi(2) - (w / rv.length_mm).powi(2);
                if s <= 0.0 {
                    continue;
                }
                let half = rv.across_mm * s.sqrt();
                let radial = rv.offset_mm + along;
                let lv_half = (lv_r2 - radial * radial).max(0.0).sqrt().min(half);
                sum += 2.0 * (half - lv_half);
            }
        }
        sum * h * h / 1000.0
    }

    /// LV wall thickness (mm) in the short-axis plane at `w` mm below the
    /// base plane in `phase`: epicardial less endocardial radius there
    /// (`None` below the cavity's apex).
    #[must_use]
    pub fn lv_wall_in_plane_mm(&self, phase: usize, w: f64) -> Option<f64> {
        let s = self.lv_shape(self.lv_volume_ml(phase));
        let r = |a: f64, c: f64| a * (1.0 - (w / c).powi(2)).max(0.0).sqrt();
        (w >= 0.0 && w < s.length_mm).then(|| {
            r(s.radius_mm + s.wall_mm, s.length_mm + s.wall_mm) - r(s.radius_mm, s.length_mm)
        })
    }

    /// Distance (mm) of slice `k`'s centre below the base plane.
    #[must_use]
    pub fn slice_depth_mm(&self, k: usize) -> f64 {
        self.slice_w(k)
    }

    /// What the ventricles hold at point `p` (LPS mm) when the LV has
    /// `shape` and the RV is scaled by `rv_scale`.
    #[must_use]
    pub fn heart_tissue(&self, p: &V3, shape: &LvShape, rv_scale: f64) -> HeartTissue {
        let (w, radial) = self.heart_frame(p);
        self.tissue_in_frame(w, &radial, shape, rv_scale)
    }

    /// `p` in the heart's frame: `w` along the long axis from the base
    /// plane, and its offset from the axis in the short-axis plane.
    fn heart_frame(&self, p: &V3) -> (f64, V3) {
        let (_, _, u) = self.axes();
        let d = p - V3::from(self.base_centre);
        let w = d.dot(&u);
        (w, d - u * w)
    }

    fn tissue_in_frame(&self, w: f64, radial: &V3, shape: &LvShape, rv_scale: f64) -> HeartTissue {
        let rho = radial.norm();
        let inside = |radius: f64, length: f64| in_half_ellipsoid(w, rho, radius, length);
        let (a, c, t) = (shape.radius_mm, shape.length_mm, shape.wall_mm);
        if inside(a, c) {
            return HeartTissue::LvBlood;
        }
        let lv_epi = inside(a + t, c + t);
        // RV: a flatter, larger half ellipsoid centred beside the septum.
        let rv = self.rv_geometry(shape, rv_scale);
        let rv_dir = self.rv_direction();
        let rv_d = radial - rv_dir * rv.offset_mm;
        let along = rv_d.dot(&rv_dir);
        let across = (rv_d - rv_dir * along).norm();
        let rv_q = |extra: f64| {
            (along / (rv.along_mm + extra)).powi(2)
                + (across / (rv.across_mm + extra)).powi(2)
                + (w / (rv.length_mm + extra)).powi(2)
        };
        if w >= 0.0 && !lv_epi {
            if rv_q(0.0) <= 1.0 {
                return HeartTissue::RvBlood;
            }
            if rv_q(rv.wall_mm) <= 1.0 {
                return HeartTissue::RvWall;
            }
        }
        if lv_epi {
            return HeartTissue::LvWall;
        }
        HeartTissue::None
    }

    /// The ventricles of `phase` as a label map of `spacing_mm` voxels in
    /// the heart's frame (x along the slices' rows, y along their
    /// columns, z from the base plane towards the apex; origin at the
    /// base centre): 0 outside, 1 LV wall, 2 RV wall, 3 LV blood, 4 RV
    /// blood, 5 above the base plane over the heart (where the atria and
    /// valves would be).
    #[must_use]
    pub fn ventricle_labels(&self, phase: usize, spacing_mm: f64) -> VentricleLabels {
        let shape = self.lv_shape(self.lv_volume_ml(phase));
        let rv_scale = self.rv_scale(phase);
        let rv = self.rv_geometry(&shape, rv_scale);
        let reach = (shape.radius_mm + shape.wall_mm)
            .max(rv.offset_mm + rv.along_mm.max(rv.across_mm) + rv.wall_mm)
            + 2.0 * spacing_mm;
        let depth =
            (shape.length_mm + shape.wall_mm).max(rv.length_mm + rv.wall_mm) + 2.0 * spacing_mm;
        let n_xy = (2.0 * reach / spacing_mm).ceil() as usize + 1;
        let above = 2;
        let n_z = (depth / spacing_mm).ceil() as usize + above + 1;
        let origin = [
            -(n_xy as f64 - 1.0) / 2.0 * spacing_mm,
            -(n_xy as f64 - 1.0) / 2.0 * spacing_mm,
            -(above as f64) * spacing_mm,
        ];
        let (row, col, u) = self.axes();
        let base = V3::from(self.base_centre);
        let code = |t: HeartTissue| match t {
            HeartTissue::None => 0,
            HeartTissue::LvWall => 1,
            HeartTissue::RvWall => 2,
            HeartTissue::LvBlood => 3,
            HeartTissue::RvBlood => 4,
        };
        let labels: Vec<u8> = (0..n_z)
            .into_par_iter()
            .flat_map_iter(|k| {
                let z = origin[2] + k as f64 * spacing_mm;
                (0..n_xy * n_xy).map(move |ij| {
                    let (i, j) = (ij % n_xy, ij / n_xy);
                    let x = origin[0] + i as f64 * spacing_mm;
                    let y = origin[1] + j as f64 * spacing_mm;
                    let at = |w: f64| base + row * x + col * y + u * w;
                    if z < 0.0 {
                        // Above the base: over the heart if its mirror is.
                        let t = self.heart_tissue(&at(-z), &shape, rv_scale);
                        u8::from(t != HeartTissue::None) * 5
                    } else {
                        code(self.heart_tissue(&at(z), &shape, rv_scale))
                    }
                })
            })
            .collect();
        VentricleLabels {
            dims: [n_xy, n_xy, n_z],
            spacing_mm,
            origin,
            labels,
            axes: [row.into(), col.into(), u.into()],
            base_centre: self.base_centre,
        }
    }

    /// Noise-free signal at point `p` (LPS mm) when the LV holds `volume_ml`.
    #[must_use]
    pub fn signal(&self, p: &V3, shape: &LvShape, rv_scale: f64) -> f64 {
        let s = &self.signals;
        let (w, radial) = self.heart_frame(p);
        match self.tissue_in_frame(w, &radial, shape, rv_scale) {
            HeartTissue::LvBlood | HeartTissue::RvBlood => return s.blood,
            HeartTissue::LvWall | HeartTissue::RvWall => return s.myocardium,
            HeartTissue::None => {}
        }
        let (a, c, t) = (shape.radius_mm, shape.length_mm, shape.wall_mm);
        // Epicardial fat pad around the heart.
        if in_half_ellipsoid(w, radial.norm(), a + t + 3.0, c + t + 3.0) {
            return s.fat;
        }
        // Torso: elliptic cylinder with subcutaneous fat, lungs and liver.
        let body = (p.x / 165.0).powi(2) + (p.y / 115.0).powi(2);
        if body > 1.0 {
            return s.air;
        }
        let inner = (p.x / 153.0).powi(2) + (p.y / 104.0).powi(2);
        if inner > 1.0 {
            return s.fat;
        }
        let liver = ((p.x + 40.0) / 110.0).powi(2)
            + ((p.y - 5.0) / 85.0).powi(2)
            + ((p.z + 175.0) / 70.0).powi(2);
        if liver <= 1.0 {
            return s.liver;
        }
        for cx in [-85.0, 95.0] {
            let lung = ((p.x - cx) / 58.0).powi(2)
                + ((p.y - 12.0) / 78.0).powi(2)
                + ((p.z + 30.0) / 140.0).powi(2);
            if lung <= 1.0 {
                return s.lung;
            }
        }
        s.soft_tissue
    }

    /// Renders slice `k` at `phase` as stored pixel values (row-major).
    #[must_use]
    pub fn render(&self, k: usize, phase: usize) -> Vec<u16> {
        let (row, col, u) = self.axes();
        let origin = V3::from(self.slice_position(k));
        let volume = self.lv_volume_ml(phase);
        let shape = self.lv_shape(volume);
        let rv_scale = self.rv_scale(phase);
        // Integrate over the slice thickness (partial volume): 8 sub-planes.
        let sub = 8u32;
        let offsets: Vec<f64> = (0..sub)
            .map(|i| ((f64::from(i) + 0.5) / f64::from(sub) - 0.5) * self.slice_mm)
            .collect();
        let (rows, cols) = (usize::from(self.rows), usize::from(self.cols));
        let image_key = mix64(self.seed ^ ((k as u64) << 32) ^ phase as u64);
        let sigma = self.signals.noise_sigma;
        let mut out = vec![0u16; rows * cols];
        out.par_chunks_mut(cols).enumerate().for_each(|(j, line)| {
            for (i, px) in line.iter_mut().enumerate() {
                let p0 =
                    origin + row * (i as f64 * self.pixel_mm) + col * (j as f64 * self.pixel_mm);
                let mean = offsets
                    .iter()
                    .map(|o| self.signal(&(p0 + u * *o), &shape, rv_scale))
                    .sum::<f64>()
                    / offsets.len() as f64;
                let (n1, n2) = normal_pair(image_key ^ mix64((j * cols + i) as u64));
                let magnitude = ((mean + sigma * n1).powi(2) + (sigma * n2).powi(2)).sqrt();
                *px = magnitude.round().clamp(0.0, 4095.0) as u16;
            }
        });
        out
    }

    /// Writes the cine as `slices × phases` MR Image Storage files into `dir`.
    pub fn write(&self, dir: &Path, study_uid: &str) -> Result<Vec<PathBuf>, PhantomError> {
        std::fs::create_dir_all(dir).map_err(|source| PhantomError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let series_uid = uid_for("twinscope-demo/cardiac/series/sax-cine");
        let frame_uid = uid_for("twinscope-demo/frame-of-reference/chest");
        let iop = self.orientation();
        let (_, _, u) = self.axes();
        let jobs: Vec<(usize, usize)> = (0..self.slices)
            .flat_map(|k| (0..self.phases).map(move |p| (k, p)))
            .collect();
        jobs.par_iter()
            .map(|&(k, phase)| {
                let instance = k * self.phases + phase + 1;
                let path = dir.join(format!("IM_S{k:02}_P{phase:02}.dcm"));
                let ipp = self.slice_position(k);
                let location = V3::from(ipp).dot(&u);
                let sop_uid = uid_for(&format!("twinscope-demo/cardiac/instance/{instance}"));
                let mut b = ImageBuilder::new();
                b.common(
                    study_uid,
                    "CMR1",
                    "Cardiac MR (demo phantom)",
                    "20260101",
                    "090000",
                )
                .str(tags::MODALITY, VR::CS, "MR")
                .str(tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\M\\ND")
                .str(tags::SERIES_INSTANCE_UID, VR::UI, &series_uid)
                .str(tags::SERIES_NUMBER, VR::IS, "5")
                .str(tags::SERIES_DESCRIPTION, VR::LO, "SAX cine bSSFP")
                .str(tags::PROTOCOL_NAME, VR::LO, "SAX cine bSSFP")
                .str(tags::BODY_PART_EXAMINED, VR::CS, "HEART")
                .str(tags::PATIENT_POSITION, VR::CS, "HFS")
                .str(tags::FRAME_OF_REFERENCE_UID, VR::UI, &frame_uid)
                .str(tags::POSITION_REFERENCE_INDICATOR, VR::LO, "")
                .str(tags::INSTANCE_NUMBER, VR::IS, &instance.to_string())
                .str(tags::ACQUISITION_NUMBER, VR::IS, "1")
                .str(tags::SCANNING_SEQUENCE, VR::CS, "GR")
                .str(tags::SEQUENCE_VARIANT, VR::CS, "SS")
                .str(tags::SCAN_OPTIONS, VR::CS, "CG")
                .str(tags::MR_ACQUISITION_TYPE, VR::CS, "2D")
                .str(tags::REPETITION_TIME, VR::DS, "3.2")
                .str(tags::ECHO_TIME, VR::DS, "1.4")
                .str(tags::ECHO_TRAIN_LENGTH, VR::IS, "1")
                .str(tags::FLIP_ANGLE, VR::DS, "60")
                .str(tags::MAGNETIC_FIELD_STRENGTH, VR::DS, "1.5")
                .str(tags::IMAGED_NUCLEUS, VR::SH, "1H")
                .str(tags::TRIGGER_TIME, VR::DS, &ds(self.trigger_time_ms(phase)))
                .str(
                    tags::NOMINAL_INTERVAL,
                    VR::IS,
                    &format!("{:.0}", self.rr_ms),
                )
                .str(
                    tags::HEART_RATE,
                    VR::IS,
                    &format!("{:.0}", 60_000.0 / self.rr_ms),
                )
                .str(
                    tags::CARDIAC_NUMBER_OF_IMAGES,
                    VR::IS,
                    &self.phases.to_string(),
                )
                .str(tags::IMAGE_POSITION_PATIENT, VR::DS, &ds_multi(&ipp))
                .str(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, &ds_multi(&iop))
                .str(
                    tags::PIXEL_SPACING,
                    VR::DS,
                    &ds_multi(&[self.pixel_mm, self.pixel_mm]),
                )
                .str(tags::SLICE_THICKNESS, VR::DS, &ds(self.slice_mm))
                .str(tags::SPACING_BETWEEN_SLICES, VR::DS, &ds(self.slice_mm))
                .str(tags::SLICE_LOCATION, VR::DS, &ds(location))
                .str(tags::RESCALE_INTERCEPT, VR::DS, "0")
                .str(tags::RESCALE_SLOPE, VR::DS, "1")
                .str(tags::RESCALE_TYPE, VR::LO, "US")
                .str(tags::WINDOW_CENTER, VR::DS, "260")
                .str(tags::WINDOW_WIDTH, VR::DS, "620")
                .pixels_u16(self.rows, self.cols, 12, self.render(k, phase));
                b.write(&path, MR_IMAGE_STORAGE, &sop_uid)?;
                Ok(path)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_curve_hits_targets() {
        let h = CardiacPhantom::demo();
        assert!((h.lv_volume_ml(0) - 140.0).abs() < 1e-9);
        assert_eq!(h.ed_phase(), 0);
        assert_eq!(h.es_phase(), 7);
        assert!((h.lv_volume_ml(7) - 55.0).abs() < 1e-9);
        // Continuous and periodic.
        assert!((h.lv_volume_at(0.999_999) - 140.0).abs() < 1e-3);
        for i in 0..1000 {
            let t = f64::from(i) / 1000.0;
            let v = h.lv_volume_at(t);
            assert!((55.0 - 1e-9..=140.0 + 1e-9).contains(&v));
            assert!((h.lv_volume_at(t + 1e-4) - v).abs() < 0.2, "jump at {t}");
        }
    }

    #[test]
    fn shape_volume_and_constant_myocardium() {
        let h = CardiacPhantom::demo();
        for v in [55.0, 90.0, 140.0] {
            let s = h.lv_shape(v);
            assert!((half_ellipsoid_ml(s.radius_mm, s.length_mm) - v).abs() < 1e-9);
            let myo = half_ellipsoid_ml(s.radius_mm + s.wall_mm, s.length_mm + s.wall_mm) - v;
            assert!((myo - 125.0).abs() < 1e-6);
        }
        // The wall thickens in systole.
        assert!(h.lv_shape(55.0).wall_mm > h.lv_shape(140.0).wall_mm + 2.0);
    }

    #[test]
    fn rv_volume_by_quadrature_matches_counting_the_rendered_geometry() {
        // Count points of the signal model (RV blood = blood outside the LV
        // cavity) on a 0.5 mm grid of the heart frame at ED and ES.
        let h = CardiacPhantom::demo();
        let (row, col, u) = h.axes();
        for phase in [h.ed_phase(), h.es_phase()] {
            let shape = h.lv_shape(h.lv_volume_ml(phase));
            let scale = h.rv_scale(phase);
            let step = 0.5;
            let mut n = 0usize;
            for iw in 0..200 {
                let w = (f64::from(iw) + 0.5) * step;
                for i in -200..200 {
                    for j in -200..200 {
                        let (x, y) = ((f64::from(i) + 0.5) * step, (f64::from(j) + 0.5) * step);
                        let p = V3::from(h.base_centre) + u * w + row * x + col * y;
                        let lv = (x * x + y * y) / shape.radius_mm.powi(2)
                            + (w / shape.length_mm).powi(2)
                            <= 1.0;
                        if !lv && (h.signal(&p, &shape, scale) - h.signals.blood).abs() < 1e-9 {
                            n += 1;
                        }
                    }
                }
            }
            let counted = n as f64 * step.powi(3) / 1000.0;
            let exact = h.rv_volume_ml(phase);
            assert!(
                (counted / exact - 1.0).abs() < 0.01,
                "phase {phase}: counted {counted:.2} mL, quadrature {exact:.2} mL"
            );
        }
        assert!(h.rv_volume_ml(h.ed_phase()) > h.rv_volume_ml(h.es_phase()) + 20.0);
    }

    #[test]
    fn wall_in_plane_is_the_wall_at_the_base() {
        let h = CardiacPhantom::demo();
        let s = h.lv_shape(h.lv_volume_ml(0));
        assert!((h.lv_wall_in_plane_mm(0, 0.0).unwrap() - s.wall_mm).abs() < 1e-9);
        // Thinner in plane at mid-cavity, thicker where the slice cuts the
        // apical cap obliquely.
        let mid = h.lv_wall_in_plane_mm(0, 50.0).unwrap();
        assert!(mid > 0.8 * s.wall_mm && mid < s.wall_mm, "{mid}");
        assert!(h.lv_wall_in_plane_mm(0, 90.0).unwrap() > s.wall_mm);
        assert!(h.lv_wall_in_plane_mm(0, s.length_mm + 1.0).is_none());
    }

    #[test]
    fn orientation_is_orthonormal_and_stack_runs_along_long_axis() {
        let h = CardiacPhantom::demo();
        let o = h.orientation();
        let r = V3::new(o[0], o[1], o[2]);
        let c = V3::new(o[3], o[4], o[5]);
        assert!((r.norm() - 1.0).abs() < 1e-12 && (c.norm() - 1.0).abs() < 1e-12);
        assert!(r.dot(&c).abs() < 1e-12);
        let n = r.cross(&c);
        let step = V3::from(h.slice_position(1)) - V3::from(h.slice_position(0));
        assert!((step.dot(&n) - h.slice_mm).abs() < 1e-9);
        assert!((step - n * h.slice_mm).norm() < 1e-9, "no tilt");
        // Oblique: not aligned with any patient axis.
        assert!(n.iter().all(|x| x.abs() > 0.3));
    }

    #[test]
    fn blood_pool_is_bright_at_lv_centre() {
        let h = CardiacPhantom::demo();
        let shape = h.lv_shape(140.0);
        let (_, _, u) = h.axes();
        let centre = V3::from(h.base_centre) + u * 30.0;
        assert!((h.signal(&centre, &shape, 1.0) - h.signals.blood).abs() < 1e-9);
        let wall = V3::from(h.base_centre) + u * (shape.length_mm + shape.wall_mm * 0.5);
        assert!((h.signal(&wall, &shape, 1.0) - h.signals.myocardium).abs() < 1e-9);
    }
}
