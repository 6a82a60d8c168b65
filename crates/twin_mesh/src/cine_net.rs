//! The LV cavity of a short-axis cine by a small learned network, with the
//! expert's convention (papillary muscles and trabeculae count as cavity).
//!
//! The network (`models/cine_lv.onnx`, 0.5 M weights, trained by
//! `scripts/train_cine_lv.py` on the Sunnybrook training masks; method and
//! cross-validation in docs/models/cine.md) is a U-Net that gives, per pixel
//! of a slice resampled to [`NET_SPACING_MM`] pixels, the logit of "inside
//! the expert's endocardial contour". It runs in pure Rust through tract.
//!
//! Per cine: every slice of the first phase is run whole to find the LV (the
//! seed, when given, picks the component under it; otherwise the place where
//! the most slices agree); then every slice of every phase is run on a
//! 128 × 128 window (179 mm) around that slice's LV centre, the logits are
//! sampled back onto the slice's own pixels, and the component at the centre
//! is kept with its holes filled. The training masks are about half a pixel
//! larger all round than the expert's contour polygon (they were drawn by
//! setting the pixel under each contour point, then filling), so the border is
//! taken half a training pixel inside the network's: at the logit the
//! network's own slope reaches over that distance.

use std::io::Cursor;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use tract_onnx::prelude::*;
use twin_core::Progress;

use crate::Grid;
use crate::cine::{BloodPool, curve};
use crate::segment::{Connectivity, Mask, SegmentError, components, fill_holes};
use crate::slice2d::{bilinear, centroid};

/// The network's weights (ONNX, batch norm folded into the convolutions).
static WEIGHTS: &[u8] = include_bytes!("../models/cine_lv.onnx");
/// The pixel size the network was trained at (mm).
pub const NET_SPACING_MM: f64 = 1.4;
/// The window run around the LV on every slice and phase (network pixels).
const WINDOW: usize = 128;
/// The training masks' border lies this far outside the expert's contour
/// (network pixels).
const LABEL_OFFSET_PX: f64 = 0.5;
/// The logits a confident border passes through within a pixel or two: the
/// confidence of a slice is the cavity's area above [`SURE_INSIDE`] over its
/// area above [`SURE_OUTSIDE`] (1 for a crisp border; low where the network
/// hesitates over a wide band).
const SURE_INSIDE: f32 = 2.0;
const SURE_OUTSIDE: f32 = -1.0;
/// Below this confidence a slice is flagged for review. On the training
/// set's cross-validation (2026-12-07, docs/models/cine.md) the 11 of 679
/// frames below it had a mean Dice of 0.19 against the expert, the others
/// 0.90.
pub const LOW_CONFIDENCE: f32 = 0.6;
/// A cavity smaller than this on a slice is noise (mm²).
const MIN_AREA_MM2: f64 = 30.0;

type Plan = Arc<TypedRunnableModel>;
/// One slice's result: (phase, slice, the crop it was found in, the cavity,
/// its blood pool on that crop and the confidence).
type Found = (usize, usize, Crop, Option<(Mask, Mask, f32)>);

fn net_error(e: impl std::fmt::Display) -> SegmentError {
    SegmentError::Parameter(format!("LV network (models/cine_lv.onnx): {e}"))
}

/// The network compiled for one input size (n = 1).
fn plan(width: usize, height: usize) -> Result<Plan, SegmentError> {
    static MODEL: OnceLock<Result<InferenceModel, String>> = OnceLock::new();
    let model = MODEL
        .get_or_init(|| {
            tract_onnx::onnx()
                .model_for_read(&mut Cursor::new(WEIGHTS))
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(net_error)?;
    model
        .clone()
        .with_input_fact(0, f32::fact([1, 1, height, width]).into())
        .and_then(InferenceModel::into_optimized)
        .and_then(IntoRunnable::into_runnable)
        .map_err(net_error)
}

/// The window plan, built once.
fn window_plan() -> Result<Plan, SegmentError> {
    static PLAN: OnceLock<Result<Plan, String>> = OnceLock::new();
    PLAN.get_or_init(|| plan(WINDOW, WINDOW).map_err(|e| e.to_string()))
        .clone()
        .map_err(SegmentError::Parameter)
}

/// One slice of a phase: values, size and in-plane spacing.
struct Slice<'a> {
    values: &'a [f32],
    dims: [usize; 2],
    spacing: [f64; 2],
}

impl Slice<'_> {
    /// The 1st and 99.5th percentiles, mapped to 0 and 1 as in training.
    fn window(&self) -> (f32, f32) {
        let mut v = self.values.to_vec();
        let mut at = |q: f64| {
            let k = ((q * (v.len() - 1) as f64).round() as usize).min(v.len() - 1);
            *v.select_nth_unstable_by(k, f32::total_cmp).1
        };
        let (lo, hi) = (at(0.01), at(0.995));
        (lo, (hi - lo).max(f32::EPSILON))
    }

    /// Bilinear value at a fractional pixel position; 0 outside.
    fn sample(&self, x: f64, y: f64) -> f32 {
        bilinear(self.values, self.dims, x, y).unwrap_or(0.0)
    }
}

/// The part of a slice that a window of `WINDOW` network pixels around
/// `centre` covers, with [`CROP_MARGIN_MM`] around it: everything after the
/// network (the border, the components, the blood-pool ring) needs no more,
/// and runs on a third to a half of the slice's pixels.
struct Crop {
    /// The crop's first pixel in the slice.
    at: [usize; 2],
    dims: [usize; 2],
    spacing: [f64; 2],
    values: Vec<f32>,
}

/// Room left around the window for the blood-pool ring (5 mm) outside a
/// cavity that reaches the window's edge (mm).
const CROP_MARGIN_MM: f64 = 6.0;

impl Crop {
    fn around(slice: &Slice<'_>, centre: [f64; 2]) -> Crop {
        let [nx, ny] = slice.dims;
        let range = |a: usize, n: usize| {
            let half = (WINDOW as f64 - 1.0) / 2.0 * NET_SPACING_MM / slice.spacing[a]
                + CROP_MARGIN_MM / slice.spacing[a]
                + 1.0;
            let lo = (centre[a] - half).floor().max(0.0) as usize;
            let hi = ((centre[a] + half).ceil().max(0.0) as usize).min(n - 1);
            (lo.min(n - 1), hi.max(lo.min(n - 1)))
        };
        let ((x0, x1), (y0, y1)) = (range(0, nx), range(1, ny));
        let dims = [x1 - x0 + 1, y1 - y0 + 1];
        let mut values = Vec::with_capacity(dims[0] * dims[1]);
        for y in y0..=y1 {
            values.extend_from_slice(&slice.values[x0 + nx * y..=x1 + nx * y]);
        }
        Crop {
            at: [x0, y0],
            dims,
            spacing: slice.spacing,
            values,
        }
    }

    fn slice(&self) -> Slice<'_> {
        Slice {
            values: &self.values,
            dims: self.dims,
            spacing: self.spacing,
        }
    }

    /// `mask` (on the crop) written into slice `k` of `into`.
    fn paste(&self, mask: &Mask, into: &mut Mask, k: usize) {
        let [nx, ny, _] = into.dims;
        let [cx, cy] = self.dims;
        for y in 0..cy {
            let row = k * nx * ny + self.at[0] + nx * (self.at[1] + y);
            into.data[row..row + cx].copy_from_slice(&mask.data[cx * y..cx * (y + 1)]);
        }
    }
}

/// The network's logits on a `w × h` grid of network pixels centred on
/// `centre` (slice pixels), sampled back onto the slice's pixels (−∞ outside
/// the grid).
fn logits(
    plan: &Plan,
    slice: &Slice<'_>,
    (lo, range): (f32, f32),
    centre: [f64; 2],
    [w, h]: [usize; 2],
) -> Result<Vec<f32>, SegmentError> {
    let step = [
        NET_SPACING_MM / slice.spacing[0],
        NET_SPACING_MM / slice.spacing[1],
    ];
    let origin = [
        centre[0] - (w as f64 - 1.0) / 2.0 * step[0],
        centre[1] - (h as f64 - 1.0) / 2.0 * step[1],
    ];
    let mut input = vec![0f32; w * h];
    for v in 0..h {
        for u in 0..w {
            let x = origin[0] + u as f64 * step[0];
            let y = origin[1] + v as f64 * step[1];
            let inside = x >= 0.0
                && y >= 0.0
                && x <= (slice.dims[0] - 1) as f64
                && y <= (slice.dims[1] - 1) as f64;
            if inside {
                input[u + w * v] = ((slice.sample(x, y) - lo) / range).clamp(0.0, 1.0);
            }
        }
    }
    let tensor = Tensor::from_shape(&[1, 1, h, w], &input).map_err(net_error)?;
    let out = plan.run(tvec!(tensor.into())).map_err(net_error)?;
    let net = out[0]
        .try_as_plain_ram()
        .and_then(|v| v.as_slice::<f32>().map(<[f32]>::to_vec))
        .map_err(net_error)?;
    let [nx, ny] = slice.dims;
    let mut back = vec![f32::NEG_INFINITY; nx * ny];
    for j in 0..ny {
        for i in 0..nx {
            let u = (i as f64 - origin[0]) / step[0];
            let v = (j as f64 - origin[1]) / step[1];
            if let Some(l) = bilinear(&net, [w, h], u, v) {
                back[i + nx * j] = l;
            }
        }
    }
    Ok(back)
}

/// The cavity on one slice: logits above the level half a training pixel
/// inside the network's border, the component nearest `centre` (within
/// `reach_mm`), holes filled. `None` when there is none.
fn cavity(
    logits: &[f32],
    slice: &Slice<'_>,
    centre: [f64; 2],
    reach_mm: f64,
    progress: &Progress,
) -> Result<Option<Mask>, SegmentError> {
    let [nx, ny] = slice.dims;
    let level = border_level(logits, slice);
    let mask = Mask {
        dims: [nx, ny, 1],
        spacing: [slice.spacing[0], slice.spacing[1], 1.0],
        data: logits.iter().map(|&l| u8::from(l > level)).collect(),
    };
    let (labels, sizes) = components(&mask, Connectivity::Six, progress)?;
    let px = slice.spacing[0] * slice.spacing[1];
    let mut sums = vec![[0.0f64; 2]; sizes.len()];
    for (i, &l) in labels.iter().enumerate() {
        if l != 0 {
            sums[l as usize][0] += (i % nx) as f64;
            sums[l as usize][1] += (i / nx) as f64;
        }
    }
    let best = (1..sizes.len())
        .filter(|&l| sizes[l] as f64 * px >= MIN_AREA_MM2)
        .map(|l| {
            let c = [sums[l][0] / sizes[l] as f64, sums[l][1] / sizes[l] as f64];
            let d = ((c[0] - centre[0]) * slice.spacing[0])
                .hypot((c[1] - centre[1]) * slice.spacing[1]);
            (l, d)
        })
        .filter(|&(_, d)| d <= reach_mm)
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let Some((label, _)) = best else {
        return Ok(None);
    };
    let one = Mask {
        data: labels
            .iter()
            .map(|&l| u8::from(l == label as u32))
            .collect(),
        ..mask
    };
    Ok(Some(fill_holes(&one, true, progress)?))
}

/// How sure the network is of a slice's cavity: the area of the component
/// above [`SURE_INSIDE`] over that above [`SURE_OUTSIDE`], both taken at the
/// cavity's most certain pixel (0..1; 0 when nothing in it passes
/// [`SURE_INSIDE`]).
fn confidence(
    logits: &[f32],
    cavity: &Mask,
    slice: &Slice<'_>,
    progress: &Progress,
) -> Result<f32, SegmentError> {
    use crate::segment::keep_at;
    let [nx, ny] = slice.dims;
    let Some(peak) = (0..logits.len())
        .filter(|&i| cavity.data[i] != 0)
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
    else {
        return Ok(0.0);
    };
    let area = |level: f32| -> Result<usize, SegmentError> {
        let above = Mask {
            dims: [nx, ny, 1],
            spacing: [slice.spacing[0], slice.spacing[1], 1.0],
            data: logits.iter().map(|&l| u8::from(l > level)).collect(),
        };
        let at = [(peak % nx) as i64, (peak / nx) as i64, 0];
        Ok(keep_at(&above, at, Connectivity::Six, progress)?.count())
    };
    let outside = area(SURE_OUTSIDE)?;
    Ok(if outside == 0 {
        0.0
    } else {
        area(SURE_INSIDE)? as f32 / outside as f32
    })
}

/// The logit level of the expert's border: the network's border (0) moved
/// [`LABEL_OFFSET_PX`] inwards at the median slope of the logits across it.
fn border_level(logits: &[f32], slice: &Slice<'_>) -> f32 {
    let [nx, ny] = slice.dims;
    let mut slopes = Vec::new();
    for j in 1..ny.saturating_sub(1) {
        for i in 1..nx.saturating_sub(1) {
            let at = |x: usize, y: usize| logits[x + nx * y];
            let (l, r, d, u) = (at(i - 1, j), at(i + 1, j), at(i, j - 1), at(i, j + 1));
            let c = at(i, j);
            if !(l.is_finite() && r.is_finite() && d.is_finite() && u.is_finite()) {
                continue;
            }
            // Pixels whose horizontal or vertical neighbours straddle 0.
            if (l > 0.0) != (r > 0.0) || (d > 0.0) != (u > 0.0) || c.abs() < 0.5 {
                let gx = f64::from(r - l) / (2.0 * slice.spacing[0]);
                let gy = f64::from(u - d) / (2.0 * slice.spacing[1]);
                slopes.push(gx.hypot(gy));
            }
        }
    }
    if slopes.is_empty() {
        return 0.0;
    }
    slopes.sort_by(f64::total_cmp);
    (slopes[slopes.len() / 2] * LABEL_OFFSET_PX * NET_SPACING_MM) as f32
}

/// Where the LV is on each slice: the first phase run whole, the component
/// under the seed's in-plane position (or where most slices' cavities
/// overlap), followed from slice to slice. `None` for slices without it.
fn locate(
    grid: &Grid<'_>,
    seed: Option<[f64; 2]>,
    progress: &Progress,
) -> Result<Vec<Option<[f64; 2]>>, SegmentError> {
    let [nx, ny, nz] = grid.dims;
    let sp = grid.spacing();
    let size = |n: usize, s: f64| ((n as f64 * s / NET_SPACING_MM / 16.0).ceil() as usize) * 16;
    let whole = plan(size(nx, sp[0]), size(ny, sp[1]))?;
    let centre = [(nx as f64 - 1.0) / 2.0, (ny as f64 - 1.0) / 2.0];
    let dims = [size(nx, sp[0]), size(ny, sp[1])];
    let maps: Vec<Vec<f32>> = (0..nz)
        .into_par_iter()
        .map(|k| {
            let slice = Slice {
                values: &grid.data[k * nx * ny..(k + 1) * nx * ny],
                dims: [nx, ny],
                spacing: [sp[0], sp[1]],
            };
            logits(&whole, &slice, slice.window(), centre, dims)
        })
        .collect::<Result<_, _>>()?;
    // Where the LV is: under the seed, or where most slices see cavity.
    let at = seed.unwrap_or_else(|| {
        let mut votes = vec![0u32; nx * ny];
        for m in &maps {
            for (v, &l) in votes.iter_mut().zip(m) {
                *v += u32::from(l > 0.0);
            }
        }
        let best = (0..votes.len()).max_by_key(|&i| votes[i]).unwrap_or(0);
        [(best % nx) as f64, (best / nx) as f64]
    });
    let mut found = vec![None; nz];
    for (k, m) in maps.iter().enumerate() {
        let slice = Slice {
            values: &grid.data[k * nx * ny..(k + 1) * nx * ny],
            dims: [nx, ny],
            spacing: [sp[0], sp[1]],
        };
        found[k] = cavity(m, &slice, at, 30.0, progress)?
            .as_ref()
            .and_then(centroid);
    }
    Ok(found)
}

/// The blood inside a slice's cavity: its pixels brighter than half way from
/// the wall level (the median of a ring 2–5 mm outside the cavity) to the
/// blood level (the cavity's 75th percentile) — the cavity without the
/// papillary muscles and trabeculae.
fn blood_within(
    cavity: &Mask,
    slice: &Slice<'_>,
    progress: &Progress,
) -> Result<Mask, SegmentError> {
    use crate::segment::dilate;
    let near = dilate(cavity, 2.0, progress)?;
    let far = dilate(cavity, 5.0, progress)?;
    let level = |keep: &dyn Fn(usize) -> bool, q: f64| {
        let mut v: Vec<f32> = (0..slice.values.len())
            .filter(|&i| keep(i))
            .map(|i| slice.values[i])
            .collect();
        v.sort_by(f32::total_cmp);
        (!v.is_empty()).then(|| v[((q * (v.len() - 1) as f64).round()) as usize])
    };
    let wall = level(&|i| far.data[i] != 0 && near.data[i] == 0, 0.5);
    let blood = level(&|i| cavity.data[i] != 0, 0.75);
    let (Some(wall), Some(blood)) = (wall, blood) else {
        return Ok(cavity.clone());
    };
    let cut = wall + 0.5 * (blood - wall).max(0.0);
    Ok(Mask {
        data: cavity
            .data
            .iter()
            .zip(slice.values)
            .map(|(&m, &v)| u8::from(m != 0 && v >= cut))
            .collect(),
        ..cavity.clone()
    })
}

/// Which LV cavity counts as "the volume".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Convention {
    /// The expert's endocardial contour, papillary muscles and trabeculae
    /// inside (the clinical default).
    #[default]
    Endocardial,
    /// The blood inside that contour.
    BloodPool,
}

impl Convention {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Convention::Endocardial => "endocardial contour",
            Convention::BloodPool => "blood pool",
        }
    }
}

/// The LV in every phase of a cine by both conventions.
#[derive(Debug, Clone, PartialEq)]
pub struct LvCavity {
    /// The expert's convention: inside the endocardial contour, papillary
    /// muscles and trabeculae included.
    pub endocardial: BloodPool,
    /// The blood-pool convention: the same cavity without them.
    pub blood_pool: BloodPool,
    /// How sure the network is of each slice's cavity, per phase then
    /// slice (0..1, `None` where there is none; see [`LOW_CONFIDENCE`]).
    pub confidence: Vec<Vec<Option<f32>>>,
}

impl LvCavity {
    /// The cavity by `convention`, and the other one.
    #[must_use]
    pub fn by(self, convention: Convention) -> (BloodPool, BloodPool) {
        match convention {
            Convention::Endocardial => (self.endocardial, self.blood_pool),
            Convention::BloodPool => (self.blood_pool, self.endocardial),
        }
    }
}

/// The LV cavity in every phase of a cine, by the expert's convention and
/// the blood-pool one. `seed_mm` (patient mm), when given, picks the LV;
/// otherwise it is found. Volumes are pixel counts × voxel volume
/// (summation of discs).
pub fn lv_cavity(
    phases: &[Grid<'_>],
    seed_mm: Option<[f64; 3]>,
    progress: &Progress,
) -> Result<LvCavity, SegmentError> {
    let Some(first) = phases.first() else {
        return Err(SegmentError::Parameter("a cine without phases".into()));
    };
    for g in phases {
        g.check(true).map_err(|_| SegmentError::GridSize {
            dims: g.dims,
            len: g.data.len(),
        })?;
        if g.dims != first.dims {
            return Err(SegmentError::Mismatch {
                a: first.dims,
                b: g.dims,
            });
        }
    }
    let [nx, ny, nz] = first.dims;
    let sp = first.spacing();
    let seed = match seed_mm {
        Some(p) => {
            let v = first.patient_to_voxel(p).unwrap_or([-1; 3]);
            if !(0..3).all(|a| v[a] >= 0 && (v[a] as usize) < first.dims[a]) {
                return Err(SegmentError::SeedOutside {
                    seed: v,
                    dims: first.dims,
                });
            }
            Some([v[0] as f64, v[1] as f64])
        }
        None => None,
    };
    progress.begin("LV cavity per slice and phase", (phases.len() * nz) as u64);
    let centres = locate(first, seed, progress)?;
    let window = window_plan()?;
    let work: Vec<(usize, usize)> = (0..phases.len())
        .flat_map(|p| (0..nz).map(move |k| (p, k)))
        .filter(|&(_, k)| centres[k].is_some())
        .collect();
    let slices: Vec<Found> = work
        .into_par_iter()
        .map(|(p, k)| {
            progress.check_cancelled()?;
            let full = Slice {
                values: &phases[p].data[k * nx * ny..(k + 1) * nx * ny],
                dims: [nx, ny],
                spacing: [sp[0], sp[1]],
            };
            let centre = centres[k].unwrap_or_default();
            let crop = Crop::around(&full, centre);
            let slice = crop.slice();
            let centre = [centre[0] - crop.at[0] as f64, centre[1] - crop.at[1] as f64];
            let l = logits(&window, &slice, full.window(), centre, [WINDOW, WINDOW])?;
            let m = match cavity(&l, &slice, centre, 20.0, progress)? {
                Some(c) => {
                    let b = blood_within(&c, &slice, progress)?;
                    let sure = confidence(&l, &c, &slice, progress)?;
                    Some((c, b, sure))
                }
                None => None,
            };
            progress.advance(1);
            Ok((p, k, crop, m))
        })
        .collect::<Result<_, SegmentError>>()?;
    let mut endo = vec![Mask::empty(first.dims, sp)?; phases.len()];
    let mut blood = endo.clone();
    let mut confidence = vec![vec![None; nz]; phases.len()];
    for (p, k, crop, m) in slices {
        if let Some((c, b, sure)) = m {
            crop.paste(&c, &mut endo[p], k);
            crop.paste(&b, &mut blood[p], k);
            confidence[p][k] = Some(sure);
        }
    }
    let pool = |masks: Vec<Mask>| {
        let volumes = masks.iter().map(|m| m.volume_mm3() / 1000.0).collect();
        BloodPool {
            masks,
            curve: curve(volumes),
        }
    };
    Ok(LvCavity {
        endocardial: pool(endo),
        blood_pool: pool(blood),
        confidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crisp_border_is_confident_and_a_wide_ramp_is_not() {
        // A disc of radius 10 px whose logit falls with the distance from its
        // centre: over 0.3 px (crisp) or over 15 px (hesitant) across the border.
        let n = 48;
        let values = vec![0.0; n * n];
        let slice = Slice {
            values: &values,
            dims: [n, n],
            spacing: [1.0, 1.0],
        };
        let logits = |slope: f32| -> Vec<f32> {
            (0..n * n)
                .map(|i| {
                    let r = ((i % n) as f32 - 24.0).hypot((i / n) as f32 - 24.0);
                    slope * (10.0 - r)
                })
                .collect()
        };
        let sure = |l: &[f32]| {
            let cavity = Mask {
                dims: [n, n, 1],
                spacing: [1.0, 1.0, 1.0],
                data: l.iter().map(|&v| u8::from(v > 0.0)).collect(),
            };
            confidence(l, &cavity, &slice, &Progress::new()).unwrap()
        };
        let crisp = sure(&logits(10.0));
        let hesitant = sure(&logits(0.2));
        assert!(crisp > 0.9, "{crisp}");
        // Inside above 2 means r < 0, nothing; outside above −1 means r < 15.
        assert!(hesitant < 0.05, "{hesitant}");
        let middling = sure(&logits(1.0));
        // r < 8 over r < 11: (8/11)² ≈ 0.53.
        assert!((middling - 0.53).abs() < 0.06, "{middling}");
        assert!(middling < LOW_CONFIDENCE);
    }

    #[test]
    fn a_crop_holds_the_window_and_pastes_back_in_place() {
        // A 300 × 200 slice of 1 mm pixels: the window (128 × 1.4 mm) and
        // the margin fit across x near the centre, and y is clipped.
        let (nx, ny) = (300, 200);
        let values: Vec<f32> = (0..nx * ny).map(|i| i as f32).collect();
        let slice = Slice {
            values: &values,
            dims: [nx, ny],
            spacing: [1.0, 1.0],
        };
        let crop = Crop::around(&slice, [150.0, 40.0]);
        let half: f64 = 63.5 * 1.4 + 6.0 + 1.0;
        assert_eq!(crop.at, [(150.0 - half).floor() as usize, 0]);
        assert_eq!(
            crop.dims[0],
            (150.0 + half).ceil() as usize - crop.at[0] + 1
        );
        assert_eq!(crop.dims[1], (40.0 + half).ceil() as usize + 1);
        // Every crop pixel is the slice's pixel at the same place.
        let [cx, cy] = crop.dims;
        for (y, x) in [(0, 0), (cy - 1, cx - 1), (17, 42)] {
            let want = values[crop.at[0] + x + nx * (crop.at[1] + y)];
            assert_eq!(crop.values[x + cx * y].to_bits(), want.to_bits());
        }
        // A mask on the crop lands on the same pixels of the slice.
        let mut on_crop = Mask::empty([cx, cy, 1], [1.0, 1.0, 1.0]).unwrap();
        on_crop.data[5 + cx * 7] = 1;
        let mut whole = Mask::empty([nx, ny, 2], [1.0, 1.0, 8.0]).unwrap();
        crop.paste(&on_crop, &mut whole, 1);
        assert_eq!(whole.count(), 1);
        assert_eq!(whole.data[nx * ny + crop.at[0] + 5 + nx * 7], 1);
    }

    #[test]
    fn the_border_level_is_half_a_training_pixel_up_the_logit_slope() {
        // Logits rising 2 per mm across a border at x = 5 on a 1 mm grid:
        // half a 1.4 mm pixel inside is 0.7 mm, a logit of 1.4.
        let (nx, ny) = (12, 6);
        let logits: Vec<f32> = (0..nx * ny)
            .map(|i| 2.0 * ((i % nx) as f32 - 5.0))
            .collect();
        let values = vec![0.0; nx * ny];
        let slice = Slice {
            values: &values,
            dims: [nx, ny],
            spacing: [1.0, 1.0],
        };
        assert!((border_level(&logits, &slice) - 1.4).abs() < 1e-5);
    }
}
