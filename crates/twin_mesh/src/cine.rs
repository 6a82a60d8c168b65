//! Ventricular blood-pool volumes over a short-axis cine: one seed,
//! propagated through all slices and phases (EDV, ESV, SV, EF).
//!
//! Per slice (after a 3 × 3 median against speckle): the blood level is the
//! median of a 4 mm disc at the seed; a tight core (within 2.5 robust σ of
//! it) gives the wall level from a ring just outside it, and the pool is
//! everything connected to the seed above `fraction` of the way from wall to
//! blood (twice, as the ring moves out). Leaks into neighbouring chambers are
//! cut by openings, a disc around the seed and a cap on sudden area growth.
//! For the LV the border is then found on 90 rays from the cavity centre:
//! where the compact myocardium starts (≥ 3 mm within 15 % of the wall level;
//! trabeculae are shorter or brighter), placed at the half-way point of the
//! blood-to-wall edge just before it; the radii are regularised across
//! neighbouring rays and closed by a convex hull, so trabeculae and papillary
//! muscles that notch the pool count as cavity, as in clinical endocardial
//! contours. A border larger than both the area allowed for its slice and
//! [`LEAK_GROWTH`] × the pool's own hull has run out of the cavity (at the
//! base, into the outflow tract) and gives way to that hull.
//! Papillary muscles lying flat against the wall at end-systole are not told
//! apart from it (the pool is then smaller than an expert's contour). Volumes
//! are voxel counts × voxel volume (Simpson's rule over the slices).

use rayon::prelude::*;
use twin_core::Progress;

use crate::Grid;
use crate::segment::{Connectivity, Mask, SegmentError};
use crate::slice2d::median3x3;

/// Where the border lies between the wall level (0) and the blood level (1).
/// 0.3 matched expert endocardial contours of real bSSFP short-axis cines
/// (Sunnybrook SCD0003701, ED Dice 0.91–0.93, see tests/tests/sunnybrook.rs).
pub const DEFAULT_FRACTION: f32 = 0.5;

/// Which ventricle a seed is in: the LV cavity is convex in short axis and
/// its border is refined on rays; the crescent-shaped RV is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Chamber {
    #[default]
    Lv,
    Rv,
}

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

/// A ventricle's blood pool in every phase of a cine.
#[derive(Debug, Clone, PartialEq)]
pub struct BloodPool {
    /// One mask per phase, on that phase's grid.
    pub masks: Vec<Mask>,
    pub curve: LvCurve,
}

/// Segments the LV blood pool in every phase from one seed (patient mm).
pub fn lv_volumes(
    phases: &[Grid<'_>],
    seed_mm: [f64; 3],
    fraction: f32,
    progress: &Progress,
) -> Result<LvCurve, SegmentError> {
    Ok(blood_pool(phases, seed_mm, Chamber::Lv, fraction, progress)?.curve)
}

/// Median and spread (median absolute deviation × 1.4826, a robust σ) of a
/// slice's values where `mask` is set.
fn robust_stats(values: &[f32], mask: &[u8]) -> Option<(f32, f32)> {
    let mut v: Vec<f32> = values
        .iter()
        .zip(mask)
        .filter(|&(_, &m)| m != 0)
        .map(|(&x, _)| x)
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let median = v[v.len() / 2];
    let mut dev: Vec<f32> = v.iter().map(|x| (x - median).abs()).collect();
    dev.sort_by(f32::total_cmp);
    Some((median, 1.4826 * dev[dev.len() / 2]))
}

/// The in-plane disc of `radius_mm` around `centre` as a one-slice mask.
fn disc(slice: &Slice<'_>, [cx, cy]: [usize; 2], radius_mm: f64) -> Vec<u8> {
    let [nx, ny] = slice.dims;
    let mut m = vec![0u8; nx * ny];
    for y in 0..ny {
        for x in 0..nx {
            let dx = (x as f64 - cx as f64) * slice.spacing[0];
            let dy = (y as f64 - cy as f64) * slice.spacing[1];
            if dx * dx + dy * dy <= radius_mm * radius_mm {
                m[x + nx * y] = 1;
            }
        }
    }
    m
}

/// The pixel with the brightest 3 × 3 median within `radius_mm` of `seed`
/// (the seed itself when it is the brightest): a propagated seed that lands
/// on a papillary muscle moves into the blood next to it.
fn brightest_near(slice: &Slice<'_>, seed: [usize; 2], radius_mm: f64) -> [usize; 2] {
    let [nx, ny] = slice.dims;
    let near = disc(slice, seed, radius_mm.max(slice.spacing[0]));
    let median3 = |x: usize, y: usize| {
        let mut v = Vec::with_capacity(9);
        for yy in y.saturating_sub(1)..=(y + 1).min(ny - 1) {
            for xx in x.saturating_sub(1)..=(x + 1).min(nx - 1) {
                v.push(slice.values[xx + nx * yy]);
            }
        }
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    };
    let mut best = (median3(seed[0], seed[1]), seed);
    for (i, _) in near.iter().enumerate().filter(|&(_, &n)| n != 0) {
        let (x, y) = (i % nx, i / nx);
        let m = median3(x, y);
        if m > best.0 {
            best = (m, [x, y]);
        }
    }
    best.1
}

/// Blood signal around a seed: robust statistics of the 4 mm disc.
fn blood_signal(slice: &Slice<'_>, seed: [usize; 2]) -> (f32, f32) {
    robust_stats(slice.values, &disc(slice, seed, 4.0)).unwrap_or((0.0, 0.0))
}

/// In-plane centroid (nearest voxel indices) of a one-slice mask.
fn centroid(mask: &Mask) -> Option<[usize; 2]> {
    crate::slice2d::centroid(mask).map(|c| [c[0].round() as usize, c[1].round() as usize])
}

/// Opening radii tried against leaks (mm), smallest first.
const LEAK_RADII_MM: [f64; 4] = [2.0, 3.5, 5.0, 7.0];
/// A slice whose pool is this much larger than its neighbour's has leaked.
pub const LEAK_GROWTH: f64 = 1.6;
/// A slice whose signal at the propagated seed falls below this fraction of
/// the seed's blood signal holds no more blood pool (past apex or base).
const END_SIGNAL: f32 = 0.8;

/// One short-axis slice: values, in-plane size and spacing.
struct Slice<'a> {
    values: &'a [f32],
    dims: [usize; 2],
    spacing: [f64; 2],
}

/// The bright region (≥ `lo`) of one slice connected to `seed` after an
/// opening that cuts thin bridges into neighbouring chambers, grown back to
/// its own border. `None` when even the widest opening leaves a region above
/// `max_area_mm2`, or nothing at the seed.
fn guarded_region(
    slice: &Slice<'_>,
    seed: [usize; 2],
    lo: f32,
    max_area_mm2: f64,
    progress: &Progress,
) -> Result<Option<Mask>, SegmentError> {
    use crate::segment::{dilate, keep_at, open};
    // Nothing farther from the seed than a disc 1.25 × the radius of the
    // largest area allowed: leaks are cut geometrically too.
    let reach = 1.25 * (max_area_mm2 / std::f64::consts::PI).sqrt();
    let near = disc(slice, seed, reach);
    let bright = Mask {
        dims: [slice.dims[0], slice.dims[1], 1],
        spacing: [slice.spacing[0], slice.spacing[1], 1.0],
        data: slice
            .values
            .iter()
            .zip(&near)
            .map(|(&v, &n)| u8::from(v >= lo && n != 0))
            .collect(),
    };
    let at = [seed[0] as i64, seed[1] as i64, 0];
    for radius in LEAK_RADII_MM {
        let core = keep_at(
            &open(&bright, radius, progress)?,
            at,
            Connectivity::Six,
            progress,
        )?;
        if core.count() == 0 {
            return Ok(None);
        }
        // Back to the region's own border, but not through the cut bridges.
        let reach = radius + slice.spacing[0].max(slice.spacing[1]);
        let grown = dilate(&core, reach, progress)?.and(&bright)?;
        let region = keep_at(&grown, at, Connectivity::Six, progress)?;
        if region.volume_mm3() <= max_area_mm2 {
            return Ok(Some(region));
        }
    }
    Ok(None)
}

/// The blood pool of one slice around `seed` (in-plane voxel). A tight core
/// (within 2.5 σ of the blood signal at the seed) gives the blood level; the
/// 3 mm ring around it the wall level; the pool is everything connected to
/// the seed above `fraction` of the way from wall to blood (the half-way
/// partial-volume border at 0.5), with holes (papillary muscles, trabeculae)
/// filled as endocardial contours do.
#[allow(clippy::too_many_arguments)]
fn slice_pool(
    slice: &Slice<'_>,
    seed: [usize; 2],
    fraction: f32,
    convex: bool,
    min_blood: f32,
    max_area_mm2: f64,
    progress: &Progress,
) -> Result<Option<Mask>, SegmentError> {
    use crate::segment::fill_holes;
    let seed = brightest_near(
        slice,
        seed,
        0.3 * (max_area_mm2 / std::f64::consts::PI).sqrt(),
    );
    let (blood, spread) = blood_signal(slice, seed);
    if blood < min_blood {
        // Past the apex or the base: no blood pool here.
        return Ok(None);
    }
    let core_lo = blood - 2.5 * spread.max(0.01 * blood.abs());
    let Some(mut region) = guarded_region(slice, seed, core_lo, max_area_mm2, progress)? else {
        return Ok(None);
    };
    let shape = |m: &Mask| -> Result<Mask, SegmentError> {
        let filled = fill_holes(m, true, progress)?;
        Ok(if convex {
            convex_hull_fill(&filled)
        } else {
            filled
        })
    };
    for _ in 0..2 {
        // The wall level: just outside the pool's (hull) border.
        let Some(wall) = ring_level(slice, &shape(&region)?, 1.5, 4.5, progress)? else {
            break;
        };
        if wall >= blood {
            break;
        }
        let lo = wall + fraction * (blood - wall);
        match guarded_region(slice, seed, lo, max_area_mm2, progress)? {
            Some(r) => region = r,
            None => break,
        }
    }
    if !convex {
        return Ok(Some(shape(&region)?));
    }
    let region = star_clamp(&region, seed, slice.spacing);
    let hull = shape(&region)?;
    // Wall level from 3..8 mm outside the pool: mostly compact myocardium.
    let Some(wall) = ring_level(slice, &hull, 3.0, 8.0, progress)? else {
        return Ok(Some(hull));
    };
    let Some(centre) = centroid(&region) else {
        return Ok(Some(hull));
    };
    let stop = wall + WALL_FRACTION * (blood - wall);
    let edge = wall + fraction * (blood - wall);
    let border = endocardial_border(slice, centre, stop, edge, WALL_RUN_MM);
    // A border past both the slice's allowance and a leak's growth over the
    // pool's own hull ran out of the cavity (at the base, into the outflow
    // tract): the hull stands.
    let limit = max_area_mm2.max(LEAK_GROWTH * hull.volume_mm3());
    Ok(Some(
        border
            .map(|b| convex_hull_fill(&b))
            .filter(|b| b.volume_mm3() <= limit)
            .unwrap_or(hull),
    ))
}

/// On a ray, the compact wall is where the signal stays within this
/// fraction of the way from wall to blood level (above it: trabeculae).
const WALL_FRACTION: f32 = 0.15;
/// A dark run this long on a ray is myocardium, not a trabecula (mm).
const WALL_RUN_MM: f64 = 3.0;
/// Rays cast from the cavity centre.
const RAYS: usize = 90;
/// Farthest endocardial radius looked for (mm).
const MAX_RADIUS_MM: f64 = 45.0;

/// The endocardial border by rays from `centre`: on each ray, the border is
/// where the signal first stays at or below `stop` (the compact myocardium)
/// for `run_mm`; trabeculae and papillary muscles are shorter dark runs. The
/// radii are then regularised (capped at 1.2 × the median of nine
/// neighbouring rays; missing ones take that median) and the polygon filled.
fn endocardial_border(
    slice: &Slice<'_>,
    centre: [usize; 2],
    stop: f32,
    edge: f32,
    run_mm: f64,
) -> Option<Mask> {
    let [nx, ny] = slice.dims;
    let sample = |x: f64, y: f64| -> Option<f32> {
        if x < 0.0 || y < 0.0 || x > (nx - 1) as f64 || y > (ny - 1) as f64 {
            return None;
        }
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(nx - 1), (y0 + 1).min(ny - 1));
        let (fx, fy) = ((x - x0 as f64) as f32, (y - y0 as f64) as f32);
        let v = |x: usize, y: usize| slice.values[x + nx * y];
        Some(
            (v(x0, y0) * (1.0 - fx) + v(x1, y0) * fx) * (1.0 - fy)
                + (v(x0, y1) * (1.0 - fx) + v(x1, y1) * fx) * fy,
        )
    };
    let step_mm = 0.25 * slice.spacing[0].min(slice.spacing[1]);
    let run = (run_mm / step_mm).ceil() as usize;
    // Per ray: where the signal first stays at or below `stop` for `run_mm`.
    let radii: Vec<Option<f64>> = (0..RAYS)
        .map(|a| {
            let t = a as f64 / RAYS as f64 * std::f64::consts::TAU;
            let (dx, dy) = (t.cos() / slice.spacing[0], t.sin() / slice.spacing[1]);
            let at = |r: f64| sample(centre[0] as f64 + r * dx, centre[1] as f64 + r * dy);
            let mut below = 0usize;
            for n in 0..(MAX_RADIUS_MM / step_mm) as usize {
                if at(n as f64 * step_mm)? <= stop {
                    below += 1;
                    if below >= run {
                        // The wall starts here; the border is where the
                        // blood-to-wall edge crosses `edge`, within one
                        // pixel before it (a step edge's half-way point).
                        let start = (n + 1 - run) as f64 * step_mm;
                        let back = (slice.spacing[0].max(slice.spacing[1]) / step_mm) as usize;
                        let border = (1..=back)
                            .map(|b| start - b as f64 * step_mm)
                            .take_while(|&r| r >= 0.0)
                            .find(|&r| at(r).is_some_and(|v| v >= edge))
                            .map_or(start, |r| r + 0.5 * step_mm);
                        return Some(border);
                    }
                } else {
                    below = 0;
                }
            }
            None
        })
        .collect();
    let known: Vec<f64> = radii.iter().flatten().copied().collect();
    if known.len() < RAYS / 2 {
        return None;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let smooth: Vec<f64> = (0..RAYS)
        .map(|a| {
            let mut w: Vec<f64> = (0..9)
                .filter_map(|d| radii[(a + RAYS + d - 4) % RAYS])
                .collect();
            let m = if w.is_empty() {
                median(&mut known.clone())
            } else {
                median(&mut w)
            };
            radii[a].map_or(m, |r| r.min(1.2 * m))
        })
        .collect();
    // Fill: a pixel is inside when its radius is within the border radius
    // interpolated at its angle.
    let mut out = Mask::empty([nx, ny, 1], [slice.spacing[0], slice.spacing[1], 1.0]).ok()?;
    for y in 0..ny {
        for x in 0..nx {
            let dx = (x as f64 - centre[0] as f64) * slice.spacing[0];
            let dy = (y as f64 - centre[1] as f64) * slice.spacing[1];
            let r = dx.hypot(dy);
            if r > MAX_RADIUS_MM {
                continue;
            }
            let t = (dy.atan2(dx) / std::f64::consts::TAU).rem_euclid(1.0) * RAYS as f64;
            let a0 = t.floor() as usize % RAYS;
            let f = t - t.floor();
            let border = smooth[a0] * (1.0 - f) + smooth[(a0 + 1) % RAYS] * f;
            if r <= border {
                out.data[x + nx * y] = 1;
            }
        }
    }
    Some(out)
}

/// Angular bins of [`star_clamp`].
const STAR_BINS: usize = 72;

/// Removes leaks from a star-shaped pool: the pool's outermost radius in each
/// of [`STAR_BINS`] directions from `centre` is capped at 1.25 × the median
/// of its nine neighbouring directions, and everything within the capped
/// radii is kept. A leak through a thin wall is narrow in angle, so it goes;
/// the round cavity stays.
fn star_clamp(mask: &Mask, centre: [usize; 2], spacing: [f64; 2]) -> Mask {
    let nx = mask.dims[0];
    let polar = |i: usize| {
        let dx = ((i % nx) as f64 - centre[0] as f64) * spacing[0];
        let dy = ((i / nx) as f64 - centre[1] as f64) * spacing[1];
        let bin =
            ((dy.atan2(dx) / std::f64::consts::TAU + 1.0) * STAR_BINS as f64) as usize % STAR_BINS;
        (bin, dx.hypot(dy))
    };
    let mut reach = [0.0f64; STAR_BINS];
    for (i, _) in mask.data.iter().enumerate().filter(|&(_, &m)| m != 0) {
        let (b, r) = polar(i);
        reach[b] = reach[b].max(r);
    }
    let cap: Vec<f64> = (0..STAR_BINS)
        .map(|b| {
            let mut w: Vec<f64> = (0..9)
                .map(|d| reach[(b + STAR_BINS + d - 4) % STAR_BINS])
                .collect();
            w.sort_by(f64::total_cmp);
            reach[b].min(1.25 * w[4])
        })
        .collect();
    let mut out = mask.clone();
    for (i, v) in out.data.iter_mut().enumerate() {
        let (b, r) = polar(i);
        *v = u8::from(*v != 0 && r <= cap[b] + 0.5 * spacing[0].max(spacing[1]));
    }
    // The pieces cut off by the cap are no longer connected to the centre.
    crate::segment::keep_at(
        &out,
        [centre[0] as i64, centre[1] as i64, 0],
        Connectivity::Six,
        &Progress::new(),
    )
    .unwrap_or(out)
}

/// Median signal of the ring between `inner_mm` and `outer_mm` outside a
/// one-slice mask (`None` when the ring is empty).
fn ring_level(
    slice: &Slice<'_>,
    mask: &Mask,
    inner_mm: f64,
    outer_mm: f64,
    progress: &Progress,
) -> Result<Option<f32>, SegmentError> {
    use crate::segment::dilate;
    let near = dilate(mask, inner_mm, progress)?;
    let far = dilate(mask, outer_mm, progress)?;
    let ring: Vec<u8> = far
        .data
        .iter()
        .zip(&near.data)
        .map(|(&f, &n)| u8::from(f != 0 && n == 0))
        .collect();
    Ok(robust_stats(slice.values, &ring).map(|(median, _)| median))
}

/// Cross product of `o→a` and `o→b`.
fn cross(o: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
}

/// Fills the convex hull of a one-slice mask: the short-axis LV cavity is
/// convex, and the endocardial border runs outside the papillary muscles and
/// trabeculae that notch the bright pool.
fn convex_hull_fill(mask: &Mask) -> Mask {
    let [nx, ny, _] = mask.dims;
    // Pixel centres, in (x, y) order.
    let mut pts: Vec<[f64; 2]> = mask
        .data
        .iter()
        .enumerate()
        .filter(|&(_, &m)| m != 0)
        .map(|(i, _)| [(i % nx) as f64, (i / nx) as f64])
        .collect();
    pts.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    pts.dedup();
    if pts.len() < 3 {
        return mask.clone();
    }
    // Andrew's monotone chain, counter-clockwise.
    let mut hull: Vec<[f64; 2]> = Vec::with_capacity(2 * pts.len());
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &[f64; 2]>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    let inside = |x: f64, y: f64| {
        (0..hull.len()).all(|i| cross(hull[i], hull[(i + 1) % hull.len()], [x, y]) >= -1e-9)
    };
    let mut out = mask.clone();
    for y in 0..ny {
        for x in 0..nx {
            if inside(x as f64, y as f64) {
                out.data[x + nx * y] = 1;
            }
        }
    }
    out
}

/// Segments the blood pool around one seed (patient mm) in every phase, in
/// the given chamber, keeping the masks (see the module documentation).
///
/// The seed's slice comes first; the neighbouring slices are seeded at the
/// centroid of the slice before (moved to the brightest blood nearby when it
/// lands on a papillary muscle), outwards to base and apex, stopping where
/// no blood is left. A slice whose pool grows more than [`LEAK_GROWTH`] × its
/// neighbour's has leaked and is re-cut with a wider opening. Each phase
/// starts from the seed position, or from the previous phase's centroid when
/// the seed is no longer in blood there.
pub fn blood_pool(
    phases: &[Grid<'_>],
    seed_mm: [f64; 3],
    chamber: Chamber,
    fraction: f32,
    progress: &Progress,
) -> Result<BloodPool, SegmentError> {
    if !(0.05..=0.95).contains(&fraction) {
        return Err(SegmentError::Parameter(format!(
            "blood fraction {fraction}: expected 0.05..0.95"
        )));
    }
    let mut volumes = Vec::with_capacity(phases.len());
    let mut masks = Vec::with_capacity(phases.len());
    let mut reference: Option<f32> = None;
    let mut previous: Option<(usize, [usize; 2])> = None;
    progress.begin("Blood pool per phase", phases.len() as u64);
    for grid in phases {
        progress.check_cancelled()?;
        grid.check(true).map_err(|_| SegmentError::GridSize {
            dims: grid.dims,
            len: grid.data.len(),
        })?;
        let [nx, ny, nz] = grid.dims;
        let sp = grid.spacing();
        // Every slice through a 3 × 3 median first: speckle noise would
        // otherwise break the pool into pieces at tight thresholds.
        let filtered: Vec<Vec<f32>> = (0..nz)
            .into_par_iter()
            .map(|k| median3x3(&grid.data[k * nx * ny..(k + 1) * nx * ny], nx, ny))
            .collect();
        let slice = |k: usize| Slice {
            values: &filtered[k],
            dims: [nx, ny],
            spacing: [sp[0], sp[1]],
        };
        let blood_at = |(k, xy): (usize, [usize; 2])| blood_signal(&slice(k), xy).0;
        let voxel = grid.patient_to_voxel(seed_mm).unwrap_or([-1; 3]);
        let mut starts: Vec<(usize, [usize; 2])> = Vec::new();
        if (0..3).all(|a| voxel[a] >= 0 && (voxel[a] as usize) < grid.dims[a]) {
            starts.push((voxel[2] as usize, [voxel[0] as usize, voxel[1] as usize]));
        }
        starts.extend(previous.filter(|p| p.0 < nz));
        let reference_signal =
            *reference.get_or_insert_with(|| starts.first().map_or(0.0, |&s| blood_at(s)));
        let Some(&start) = starts
            .iter()
            .find(|&&s| reference_signal > 0.0 && blood_at(s) >= 0.8 * reference_signal)
        else {
            return Err(SegmentError::SeedOutside {
                seed: voxel,
                dims: grid.dims,
            });
        };
        let mut mask = Mask::empty(grid.dims, sp)?;
        let first_max = (nx * ny) as f64 * sp[0] * sp[1] / 8.0;
        let mut start_pool: Option<(f64, [usize; 2])> = None;
        // The seed's slice and on to +k, then from the seed's slice to −k.
        for run in [
            (start.0..nz).collect::<Vec<_>>(),
            (0..start.0).rev().collect(),
        ] {
            let (mut seed, mut neighbour_area) = if run.first() == Some(&start.0) {
                (start.1, None)
            } else if let Some((area, centre)) = start_pool {
                (centre, Some(area))
            } else {
                continue;
            };
            for k in run {
                let s = slice(k);
                let max_area = neighbour_area.map_or(first_max, |a: f64| a * LEAK_GROWTH);
                let convex = chamber == Chamber::Lv;
                let min_blood = END_SIGNAL * reference_signal;
                let Some(pool) =
                    slice_pool(&s, seed, fraction, convex, min_blood, max_area, progress)?
                else {
                    break;
                };
                let area = pool.volume_mm3();
                mask.data[k * nx * ny..(k + 1) * nx * ny].copy_from_slice(&pool.data);
                let Some(c) = centroid(&pool) else { break };
                if k == start.0 {
                    start_pool = Some((area, c));
                }
                seed = c;
                neighbour_area = Some(area);
            }
        }
        previous = start_pool.map(|(_, c)| (start.0, c));
        volumes.push(mask.volume_mm3() / 1000.0);
        masks.push(mask);
        progress.advance(1);
    }
    Ok(BloodPool {
        masks,
        curve: curve(volumes),
    })
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

/// What makes a volume curve implausible, by name: an EF outside 5–85 %, a
/// phase without a cavity, a jump between neighbouring phases of more than a
/// quarter of the EDV, a cavity touching the image edge (it ran out of the
/// heart or the LV is cut off). Empty when nothing is wrong.
#[must_use]
pub fn quality_flags(pool: &BloodPool) -> Vec<String> {
    let c = &pool.curve;
    let mut flags = Vec::new();
    if !(5.0..=85.0).contains(&c.ef_percent) {
        flags.push(format!("EF {:.1} % is outside 5–85 %", c.ef_percent));
    }
    let n = c.volumes_ml.len();
    for (p, &v) in c.volumes_ml.iter().enumerate() {
        if v <= 0.0 {
            flags.push(format!("phase {p}: no LV cavity found"));
        }
    }
    if n > 2 {
        for p in 0..n {
            let (a, b) = (c.volumes_ml[p], c.volumes_ml[(p + 1) % n]);
            if (b - a).abs() > 0.25 * c.edv_ml {
                flags.push(format!(
                    "phases {p}→{}: the volume jumps from {a:.1} to {b:.1} mL",
                    (p + 1) % n
                ));
            }
        }
    }
    for (p, m) in pool.masks.iter().enumerate() {
        let [nx, ny, nz] = m.dims;
        let edge = (0..nz).any(|k| {
            (0..nx).any(|i| m.get(i, 0, k) || m.get(i, ny - 1, k))
                || (0..ny).any(|j| m.get(0, j, k) || m.get(nx - 1, j, k))
        });
        if edge {
            flags.push(format!("phase {p}: the cavity touches the image edge"));
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(volumes: Vec<f64>, edge: bool) -> BloodPool {
        let mut m = Mask::empty([8, 8, 1], [1.0; 3]).unwrap();
        m.data[if edge { 0 } else { 27 }] = 1;
        BloodPool {
            masks: vec![m; volumes.len()],
            curve: curve(volumes),
        }
    }

    #[test]
    fn implausible_curves_are_flagged_by_name() {
        assert!(
            quality_flags(&pool(vec![120.0, 100.0, 70.0, 55.0, 80.0, 110.0], false)).is_empty()
        );
        let f = quality_flags(&pool(vec![120.0, 100.0, 5.0, 60.0, 110.0], false));
        assert!(f.iter().any(|f| f.starts_with("EF 95.8 %")), "{f:?}");
        assert!(f.iter().any(|f| f.contains("phases 1→2")), "{f:?}");
        let f = quality_flags(&pool(vec![120.0, 0.0, 60.0], true));
        assert!(
            f.iter().any(|f| f == "phase 1: no LV cavity found"),
            "{f:?}"
        );
        assert!(
            f.iter().any(|f| f.contains("touches the image edge")),
            "{f:?}"
        );
    }

    #[test]
    fn curve_finds_ed_es_and_ef() {
        let c = curve(vec![120.0, 140.0, 90.0, 55.0, 80.0]);
        assert_eq!((c.ed_phase, c.es_phase), (1, 3));
        assert!((c.sv_ml - 85.0).abs() < 1e-12);
        assert!((c.ef_percent - 100.0 * 85.0 / 140.0).abs() < 1e-12);
    }
}
