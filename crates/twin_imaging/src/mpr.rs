//! Multi-planar reformatting: axial, coronal and sagittal slices through a
//! volume in patient orientation, whatever the acquisition orientation.
//!
//! Screen conventions are the radiological ones: axial and coronal views show
//! the patient's right on the left of the screen; axial has anterior up,
//! coronal and sagittal superior up; sagittal has anterior on the left. In LPS
//! terms a slice's columns run along `right` and its rows along `down`:
//!
//! | plane    | `right` | `down` | normal |
//! |----------|---------|--------|--------|
//! | axial    | +x (L)  | +y (P) | z      |
//! | coronal  | +x (L)  | −z (I) | y      |
//! | sagittal | +y (P)  | −z (I) | x      |

use nalgebra::{Matrix4, Vector3, Vector4};
use rayon::prelude::*;

use crate::Volume;

/// One of the three patient planes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plane {
    Axial,
    Coronal,
    Sagittal,
}

impl Plane {
    pub const ALL: [Plane; 3] = [Plane::Axial, Plane::Coronal, Plane::Sagittal];

    /// Unit vectors (LPS) of screen-right, screen-down and the plane normal.
    #[must_use]
    pub fn axes(self) -> ([f64; 3], [f64; 3], [f64; 3]) {
        match self {
            Plane::Axial => ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]),
            Plane::Coronal => ([1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]),
            Plane::Sagittal => ([0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]),
        }
    }

    /// Orientation letters at the left, right, top and bottom edges.
    #[must_use]
    pub fn edge_labels(self) -> [&'static str; 4] {
        match self {
            Plane::Axial => ["R", "L", "A", "P"],
            Plane::Coronal => ["R", "L", "S", "I"],
            Plane::Sagittal => ["A", "P", "S", "I"],
        }
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Plane::Axial => "Axial",
            Plane::Coronal => "Coronal",
            Plane::Sagittal => "Sagittal",
        }
    }

    /// Index (0 = x, 1 = y, 2 = z) of the patient axis normal to the plane.
    #[must_use]
    pub fn normal_axis(self) -> usize {
        match self {
            Plane::Axial => 2,
            Plane::Coronal => 1,
            Plane::Sagittal => 0,
        }
    }
}

/// A resliced 2D image. Pixel `(c, r)` (column, row) has its centre at
/// `origin + c·right + r·down` (LPS mm); values outside the volume are NaN.
#[derive(Debug, Clone)]
pub struct SliceImage {
    pub plane: Plane,
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
    pub origin: [f64; 3],
    /// Step per column (mm, LPS).
    pub right: [f64; 3],
    /// Step per row (mm, LPS).
    pub down: [f64; 3],
}

impl SliceImage {
    /// Patient position of a (fractional) pixel.
    #[must_use]
    pub fn pixel_to_patient(&self, c: f64, r: f64) -> [f64; 3] {
        std::array::from_fn(|i| self.origin[i] + c * self.right[i] + r * self.down[i])
    }

    /// Fractional pixel (column, row) of a patient position projected on the plane.
    #[must_use]
    pub fn patient_to_pixel(&self, p: [f64; 3]) -> (f64, f64) {
        let d = Vector3::from(p) - Vector3::from(self.origin);
        let (r, dn) = (Vector3::from(self.right), Vector3::from(self.down));
        (d.dot(&r) / r.norm_squared(), d.dot(&dn) / dn.norm_squared())
    }

    /// Value at a pixel, if inside the image and the volume.
    #[must_use]
    pub fn value(&self, c: usize, r: usize) -> Option<f32> {
        (c < self.width && r < self.height)
            .then(|| self.data[c + self.width * r])
            .filter(|v| !v.is_nan())
    }
}

/// Patient-space bounding box (LPS mm) of the voxel centres.
#[must_use]
pub fn bounds(volume: &Volume) -> ([f64; 3], [f64; 3]) {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for corner in 0..8 {
        let ijk: [f64; 3] = std::array::from_fn(|a| {
            if corner >> a & 1 == 1 {
                (volume.dims[a].max(1) - 1) as f64
            } else {
                0.0
            }
        });
        let p = volume.index_to_patient(ijk);
        for a in 0..3 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    (lo, hi)
}

/// Trilinear sampler in patient coordinates.
pub struct Sampler<'a> {
    volume: &'a Volume,
    inverse: Matrix4<f64>,
}

impl<'a> Sampler<'a> {
    /// `None` if the volume's affine is singular (no geometry to sample).
    #[must_use]
    pub fn new(volume: &'a Volume) -> Option<Self> {
        Some(Self {
            volume,
            inverse: volume.affine.try_inverse()?,
        })
    }

    /// Fractional voxel index of a patient position.
    #[must_use]
    pub fn to_index(&self, p: [f64; 3]) -> [f64; 3] {
        let v = self.inverse * Vector4::new(p[0], p[1], p[2], 1.0);
        [v.x, v.y, v.z]
    }

    /// Trilinear value at a patient position; `None` outside the voxel centres'
    /// hull (a half-voxel tolerance keeps single-slice volumes visible).
    #[must_use]
    pub fn sample(&self, p: [f64; 3]) -> Option<f32> {
        let ijk = self.to_index(p);
        let dims = self.volume.dims;
        let mut base = [0usize; 3];
        let mut frac = [0f32; 3];
        for a in 0..3 {
            let n = dims[a];
            let x = ijk[a];
            if n == 0 || x < -0.5 || x > n as f64 - 0.5 {
                return None;
            }
            let x = x.clamp(0.0, (n - 1) as f64);
            let b = (x.floor() as usize).min(n.saturating_sub(2));
            base[a] = b;
            frac[a] = if n == 1 { 0.0 } else { (x - b as f64) as f32 };
        }
        let [nx, ny, _] = dims;
        let at = |i: usize, j: usize, k: usize| {
            let i = (base[0] + i).min(dims[0] - 1);
            let j = (base[1] + j).min(dims[1] - 1);
            let k = (base[2] + k).min(dims[2] - 1);
            self.volume.data[i + nx * (j + ny * k)]
        };
        let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
        let [fx, fy, fz] = frac;
        let c00 = lerp(at(0, 0, 0), at(1, 0, 0), fx);
        let c10 = lerp(at(0, 1, 0), at(1, 1, 0), fx);
        let c01 = lerp(at(0, 0, 1), at(1, 0, 1), fx);
        let c11 = lerp(at(0, 1, 1), at(1, 1, 1), fx);
        Some(lerp(lerp(c00, c10, fy), lerp(c01, c11, fy), fz))
    }
}

/// Reslices `volume` on `plane` through the patient point `at`, covering the
/// volume's bounding box, with square pixels the size of the finest voxel
/// spacing (coarser if the image would exceed `max_pixels` on a side).
#[must_use]
pub fn reslice(volume: &Volume, plane: Plane, at: [f64; 3], max_pixels: usize) -> SliceImage {
    let (right, down, _) = plane.axes();
    let (lo, hi) = bounds(volume);
    let extent = |axis: [f64; 3]| -> (f64, f64) {
        let a = Vector3::from(axis);
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for corner in 0..8 {
            let p = Vector3::from(std::array::from_fn::<f64, 3, _>(|i| {
                if corner >> i & 1 == 1 { hi[i] } else { lo[i] }
            }));
            min = min.min(p.dot(&a));
            max = max.max(p.dot(&a));
        }
        (min, max)
    };
    let (r0, r1) = extent(right);
    let (d0, d1) = extent(down);
    let finest = volume
        .spacing()
        .into_iter()
        .filter(|s| *s > 0.0)
        .fold(f64::INFINITY, f64::min);
    let finest = if finest.is_finite() { finest } else { 1.0 };
    let longest = (r1 - r0).max(d1 - d0);
    let pixel = finest.max(longest / max_pixels.max(1) as f64);
    let width = ((r1 - r0) / pixel).floor() as usize + 1;
    let height = ((d1 - d0) / pixel).floor() as usize + 1;
    let (rv, dv) = (Vector3::from(right), Vector3::from(down));
    let at_v = Vector3::from(at);
    // Origin: the point `at` moved within the plane to the (r0, d0) corner.
    let origin = at_v + rv * (r0 - at_v.dot(&rv)) + dv * (d0 - at_v.dot(&dv));
    let step_r = rv * pixel;
    let step_d = dv * pixel;
    let mut data = vec![f32::NAN; width * height];
    if let Some(sampler) = Sampler::new(volume) {
        data.par_chunks_mut(width).enumerate().for_each(|(r, row)| {
            for (c, v) in row.iter_mut().enumerate() {
                let p = origin + step_r * c as f64 + step_d * r as f64;
                if let Some(x) = sampler.sample([p.x, p.y, p.z]) {
                    *v = x;
                }
            }
        });
    }
    SliceImage {
        plane,
        width,
        height,
        data,
        origin: [origin.x, origin.y, origin.z],
        right: [step_r.x, step_r.y, step_r.z],
        down: [step_d.x, step_d.y, step_d.z],
    }
}

/// Window (centre, width) from the 1st and 99th percentiles of the values:
/// the automatic window for MR, whose values have no physical unit.
#[must_use]
pub fn auto_window(volume: &Volume) -> (f64, f64) {
    let step = (volume.data.len() / 200_000).max(1);
    let Some((lo, hi)) = percentile_range(volume.data.iter().step_by(step).copied()) else {
        return (0.0, 1.0);
    };
    let (lo, hi) = (f64::from(lo), f64::from(hi));
    (f64::midpoint(lo, hi), (hi - lo).max(1e-6))
}

/// The 1st and 99th percentiles of the finite values, if there are any.
pub fn percentile_range(values: impl Iterator<Item = f32>) -> Option<(f32, f32)> {
    let mut sample: Vec<f32> = values.filter(|v| v.is_finite()).collect();
    if sample.is_empty() {
        return None;
    }
    // Two selections, O(n), instead of a sort: this runs on the UI thread
    // when a series is shown.
    let at = |p: f64| ((sample.len() - 1) as f64 * p) as usize;
    let (lo_i, hi_i) = (at(0.01), at(0.99));
    let hi = *sample.select_nth_unstable_by(hi_i, f32::total_cmp).1;
    let lo = *sample[..=hi_i]
        .select_nth_unstable_by(lo_i, f32::total_cmp)
        .1;
    Some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An oblique volume filled with a field linear in patient coordinates:
    /// trilinear sampling reproduces it exactly, whatever the plane.
    fn oblique_linear() -> (Volume, impl Fn([f64; 3]) -> f64) {
        let f = |p: [f64; 3]| 100.0 + 2.0 * p[0] - 3.0 * p[1] + 0.5 * p[2];
        let (a, b) = (0.4f64, 0.3f64);
        let rot = nalgebra::Rotation3::from_euler_angles(a, b, 0.2);
        let sp = [0.9, 1.1, 2.5];
        let mut affine = Matrix4::identity();
        for c in 0..3 {
            let col = rot.matrix().column(c) * sp[c];
            for r in 0..3 {
                affine[(r, c)] = col[r];
            }
        }
        affine[(0, 3)] = -20.0;
        affine[(1, 3)] = 5.0;
        affine[(2, 3)] = 12.0;
        let dims = [30, 26, 14];
        let mut v = Volume {
            dims,
            data: vec![0.0; 30 * 26 * 14],
            affine,
            modality: "MR".into(),
            description: String::new(),
            unit: String::new(),
            window: None,
            warnings: vec![],
        };
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let p = v.index_to_patient([i as f64, j as f64, k as f64]);
                    v.data[i + dims[0] * (j + dims[1] * k)] = f(p) as f32;
                }
            }
        }
        (v, f)
    }

    #[test]
    fn reslices_reproduce_a_linear_field_in_every_plane() {
        let (v, f) = oblique_linear();
        let (lo, hi) = bounds(&v);
        let centre: [f64; 3] = std::array::from_fn(|i| f64::midpoint(lo[i], hi[i]));
        let sampler = Sampler::new(&v).unwrap();
        // Within the voxel centres' hull (the half-voxel rim repeats the edge).
        let strictly_inside = |p: [f64; 3]| {
            let ijk = sampler.to_index(p);
            (0..3).all(|a| ijk[a] >= 0.0 && ijk[a] <= (v.dims[a] - 1) as f64)
        };
        for plane in Plane::ALL {
            let s = reslice(&v, plane, centre, 256);
            let mut inside = 0;
            for r in 0..s.height {
                for c in 0..s.width {
                    let p = s.pixel_to_patient(c as f64, r as f64);
                    if let Some(x) = s.value(c, r).filter(|_| strictly_inside(p)) {
                        assert!((f64::from(x) - f(p)).abs() < 1e-3, "{plane:?} ({c},{r})");
                        inside += 1;
                    }
                }
            }
            assert!(inside > 100, "{plane:?}: {inside} pixels inside");
            // The slice passes through the chosen point.
            let n = plane.normal_axis();
            assert!((s.origin[n] - centre[n]).abs() < 1e-9);
            let (c, r) = s.patient_to_pixel(centre);
            let back = s.pixel_to_patient(c, r);
            assert!((0..3).all(|i| (back[i] - centre[i]).abs() < 1e-9));
        }
    }

    #[test]
    #[allow(clippy::float_cmp)] // exact unit vectors by construction
    fn screen_directions_follow_radiological_convention() {
        // Axial: screen right is patient left (+x), screen down is posterior (+y).
        let (r, d, n) = Plane::Axial.axes();
        assert_eq!(
            (r, d, n),
            ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0])
        );
        assert_eq!(Plane::Axial.edge_labels(), ["R", "L", "A", "P"]);
        // Coronal and sagittal: superior up (down is −z).
        assert_eq!(Plane::Coronal.axes().1, [0.0, 0.0, -1.0]);
        assert_eq!(Plane::Sagittal.axes().0, [0.0, 1.0, 0.0]);
    }

    #[test]
    fn auto_window_spans_the_central_percentiles() {
        let (v, _) = oblique_linear();
        let (c, w) = auto_window(&v);
        let (lo, hi) = v.range();
        assert!(w > 0.0 && w < f64::from(hi - lo));
        assert!(c > f64::from(lo) && c < f64::from(hi));
    }
}
