//! The LV wall and the RV on a short-axis cine, given the LV cavity:
//! epicardium, myocardial volume and mass, wall thickness per AHA segment,
//! and the RV blood pool found beside the septum.
//!
//! **Epicardium.** On every slice with an LV cavity, [`RAYS`] rays run out
//! from the cavity's centroid. The endocardial radius is where the ray leaves
//! the cavity mask; the myocardial level is the median signal 1–3 mm outside
//! it (bSSFP: the wall is dark against blood). Along each ray the wall ends
//! where the signal departs from that level, brighter (epicardial fat, RV
//! blood: by more than 35 % of the blood-to-wall contrast) or darker (lung:
//! below 60 % of the wall level); the border is placed where the signal is
//! half-way between the wall level and the level just past the departure, so
//! partial-volume pixels count half. Where neither happens within 25 mm (the
//! wall against liver or muscle of the same signal) the ray has no edge; the
//! wall thickness there is interpolated around the slice from the rays that
//! have one, after a circular median over 9 rays against single-ray spikes;
//! so is a ray whose thickness is over 1.5 × the heart's median + 1 mm (it
//! ran through tissue of the wall's own signal, such as liver or the RV's
//! wall, to the next structure's edge).
//! A slice where fewer than a quarter of the rays see an edge takes the
//! median thickness of its neighbours. Below the last slice with a cavity,
//! the apical cap is the dark disc left at the previous centre.
//!
//! **Mass** is the myocardial volume (epicardium less the cavity, summation
//! of discs) × [`MYOCARDIAL_DENSITY_G_PER_ML`].
//!
//! **AHA segments** (Cerqueira et al. 2002): the slices with a cavity are
//! split into basal, mid and apical thirds from base to apex (the base is
//! the end with the larger cavity); the septum is the direction from the LV
//! centre to the RV, the anterior side the one nearer the patient's anterior
//! (−y in LPS). Basal and mid rings have six 60° segments (2 anteroseptal
//! and 3 inferoseptal either side of the septum), apical rings four 90°.
//! Each segment's thickness is the mean of the epicardial less endocardial
//! radius over its rays.
//!
//! **RV.** On the slice with the largest LV cavity, the RV is the largest
//! region of blood-bright signal (above 75 % of the way from the wall level
//! to the LV blood level, which leaves epicardial fat out) that touches the
//! LV epicardium; its deepest point seeds [`crate::cine::blood_pool`] with
//! [`crate::cine::Chamber::Rv`] through every slice and phase.

use rayon::prelude::*;
use twin_core::Progress;

use crate::Grid;
use crate::cine::{BloodPool, Chamber, DEFAULT_FRACTION, blood_pool};
use crate::segment::{Connectivity, Mask, SegmentError, components, distance_squared};
use crate::slice2d::{bilinear, centroid_px, median3x3};

/// Density of myocardium (g/mL) for LV mass.
pub const MYOCARDIAL_DENSITY_G_PER_ML: f64 = 1.05;
/// Rays per slice.
pub const RAYS: usize = 120;
/// Longest wall searched along a ray (mm).
const MAX_WALL_MM: f64 = 25.0;
/// Thinnest wall accepted (mm).
const MIN_WALL_MM: f64 = 1.5;
/// Step along a ray (mm).
const STEP_MM: f64 = 0.25;
/// A cavity smaller than this on a slice is not used (mm²).
const MIN_CAVITY_MM2: f64 = 30.0;

/// The LV wall on one slice.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceWall {
    pub slice: usize,
    /// The cavity's centroid (pixels).
    pub centre_px: [f64; 2],
    /// Endocardial and epicardial radius per ray (mm); ray `r` points at
    /// angle 2π·r/[`RAYS`] from the grid's +i axis towards +j.
    pub endo_mm: Vec<f64>,
    pub epi_mm: Vec<f64>,
    /// The fraction of rays on which the wall's outer edge was seen (the
    /// rest are interpolated); 0 for a slice that took its neighbours'.
    pub seen: f64,
}

impl SliceWall {
    /// Wall thickness per ray (mm).
    #[must_use]
    pub fn thickness_mm(&self) -> Vec<f64> {
        self.epi_mm
            .iter()
            .zip(&self.endo_mm)
            .map(|(e, n)| e - n)
            .collect()
    }
}

/// The LV myocardium of one phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Myocardium {
    pub phase: usize,
    /// Inside the epicardial contour (cavity included).
    pub epicardium: Mask,
    /// The epicardium less the cavity.
    pub myocardium: Mask,
    pub volume_ml: f64,
    pub mass_g: f64,
    /// One per slice with a cavity, base to apex in slice order.
    pub walls: Vec<SliceWall>,
    /// The apical cap's slice (myocardium without a cavity), if any.
    pub apex_cap: Option<usize>,
}

/// One AHA segment's wall thickness.
#[derive(Debug, Clone, PartialEq)]
pub struct AhaSegment {
    /// 1–16 (17, the apical cap, has no cavity to measure from).
    pub number: u8,
    pub name: &'static str,
    pub thickness_mm: f64,
    /// Rays averaged (over all slices of its ring).
    pub rays: usize,
}

/// AHA segment names, 1–16.
pub const AHA_NAMES: [&str; 16] = [
    "basal anterior",
    "basal anteroseptal",
    "basal inferoseptal",
    "basal inferior",
    "basal inferolateral",
    "basal anterolateral",
    "mid anterior",
    "mid anteroseptal",
    "mid inferoseptal",
    "mid inferior",
    "mid inferolateral",
    "mid anterolateral",
    "apical anterior",
    "apical septal",
    "apical inferior",
    "apical lateral",
];

/// One slice's values after a 3 × 3 median, its size and spacing.
struct Plane {
    values: Vec<f32>,
    dims: [usize; 2],
    spacing: [f64; 2],
}

impl Plane {
    fn new(grid: &Grid<'_>, k: usize) -> Self {
        let [nx, ny, _] = grid.dims;
        let sp = grid.spacing();
        Self {
            values: median3x3(&grid.data[k * nx * ny..(k + 1) * nx * ny], nx, ny),
            dims: [nx, ny],
            spacing: [sp[0], sp[1]],
        }
    }

    /// Pixel position `r` mm from `c` along ray `ray`.
    fn along(&self, c: [f64; 2], ray: usize, r: f64) -> [f64; 2] {
        let a = std::f64::consts::TAU * ray as f64 / RAYS as f64;
        [
            c[0] + r * a.cos() / self.spacing[0],
            c[1] + r * a.sin() / self.spacing[1],
        ]
    }

    fn at(&self, p: [f64; 2]) -> Option<f32> {
        bilinear(&self.values, self.dims, p[0], p[1])
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let k = v.len() / 2;
    Some(*v.select_nth_unstable_by(k, f64::total_cmp).1)
}

fn set(data: &[u8], nx: usize, p: [f64; 2], ny: usize) -> bool {
    let (x, y) = (p[0].round(), p[1].round());
    x >= 0.0
        && y >= 0.0
        && (x as usize) < nx
        && (y as usize) < ny
        && data[x as usize + nx * y as usize] != 0
}

/// Endocardial radius per ray: where the ray leaves the cavity (mm).
fn endo_radii(plane: &Plane, cavity: &[u8], c: [f64; 2]) -> Vec<f64> {
    let [nx, ny] = plane.dims;
    (0..RAYS)
        .map(|ray| {
            let mut r = 0.0;
            while r < 150.0 && set(cavity, nx, plane.along(c, ray, r + STEP_MM), ny) {
                r += STEP_MM;
            }
            r + STEP_MM / 2.0
        })
        .collect()
}

/// The wall's outer edge on one ray (mm from the centre), or `None`.
fn edge_on_ray(
    plane: &Plane,
    c: [f64; 2],
    ray: usize,
    endo: f64,
    wall: f32,
    blood: f32,
) -> Option<f64> {
    let bright = wall + 0.35 * (blood - wall);
    let dark = 0.6 * wall;
    let steps = (MAX_WALL_MM / STEP_MM) as usize;
    let profile: Vec<f32> = (0..=steps + 12)
        .map_while(|s| plane.at(plane.along(c, ray, endo + s as f64 * STEP_MM)))
        .collect();
    let start = (1.0 / STEP_MM) as usize;
    for s in start..profile.len().min(steps + 1) {
        let v = profile[s];
        if v <= bright && v >= dark {
            continue;
        }
        // The level just past the departure (3 mm), and the half-way point.
        let past = &profile[s..(s + 12).min(profile.len())];
        let level = if v > bright {
            past.iter().copied().fold(f32::MIN, f32::max)
        } else {
            past.iter().copied().fold(f32::MAX, f32::min)
        };
        let half = 0.5 * (wall + level);
        let mut e = s;
        while e > start && (profile[e - 1] - half) * (level - wall) > 0.0 {
            e -= 1;
        }
        // Linear interpolation between e−1 and e.
        let (a, b) = (profile[e - 1], profile[e]);
        let f = if (b - a).abs() > f32::EPSILON {
            f64::from(((half - a) / (b - a)).clamp(0.0, 1.0))
        } else {
            0.5
        };
        return Some(endo + ((e - 1) as f64 + f) * STEP_MM);
    }
    None
}

/// Circular median over `half` rays either side, of the rays that have a value.
fn circular_median(v: &[Option<f64>], half: usize) -> Vec<Option<f64>> {
    let n = v.len();
    (0..n)
        .map(|i| {
            v[i]?;
            median(
                (0..=2 * half)
                    .filter_map(|d| v[(i + n + d - half) % n])
                    .collect(),
            )
        })
        .collect()
}

/// Fills the rays without a value by linear interpolation around the circle.
fn fill_circular(v: &[Option<f64>]) -> Option<Vec<f64>> {
    let n = v.len();
    let known: Vec<usize> = (0..n).filter(|&i| v[i].is_some()).collect();
    if known.is_empty() {
        return None;
    }
    let mut out = vec![0.0; n];
    for (a, &i) in known.iter().enumerate() {
        let j = known[(a + 1) % known.len()];
        let (vi, vj) = (v[i].unwrap_or(0.0), v[j].unwrap_or(0.0));
        let gap = (j + n - i) % n;
        let gap = if gap == 0 { n } else { gap };
        for d in 0..gap {
            out[(i + d) % n] = vi + (vj - vi) * d as f64 / gap as f64;
        }
    }
    Some(out)
}

/// The wall levels of a slice: (wall, blood) signal.
fn levels(plane: &Plane, cavity: &[u8], c: [f64; 2], endo: &[f64]) -> Option<(f32, f32)> {
    let blood = median(
        plane
            .values
            .iter()
            .zip(cavity)
            .filter(|&(_, &m)| m != 0)
            .map(|(&v, _)| f64::from(v))
            .collect(),
    )?;
    let wall = median(
        (0..RAYS)
            .flat_map(|ray| {
                (0..=8).filter_map(move |s| {
                    plane
                        .at(plane.along(c, ray, endo[ray] + 1.0 + 0.25 * f64::from(s)))
                        .map(f64::from)
                })
            })
            .collect(),
    )?;
    (blood > wall).then_some((wall as f32, blood as f32))
}

/// The wall on one slice; `None` without a usable cavity or contrast.
fn slice_wall(plane: &Plane, cavity: &[u8], k: usize) -> Option<(SliceWall, Vec<Option<f64>>)> {
    let px = plane.spacing[0] * plane.spacing[1];
    if (cavity.iter().filter(|&&m| m != 0).count() as f64) * px < MIN_CAVITY_MM2 {
        return None;
    }
    let c = centroid_px(cavity, plane.dims[0])?;
    let endo = endo_radii(plane, cavity, c);
    let (wall, blood) = levels(plane, cavity, c, &endo)?;
    let thick: Vec<Option<f64>> = (0..RAYS)
        .map(|ray| {
            edge_on_ray(plane, c, ray, endo[ray], wall, blood)
                .map(|e| (e - endo[ray]).max(MIN_WALL_MM))
        })
        .collect();
    Some((
        SliceWall {
            slice: k,
            centre_px: c,
            endo_mm: endo,
            epi_mm: Vec::new(),
            seen: 0.0,
        },
        thick,
    ))
}

/// Pixels inside the closed polygon of radii `r` around `c`.
fn fill_star(plane: &Plane, c: [f64; 2], r: &[f64]) -> Vec<u8> {
    let poly: Vec<[f64; 2]> = (0..RAYS).map(|ray| plane.along(c, ray, r[ray])).collect();
    crate::contour::fill(&poly, plane.dims[0], plane.dims[1])
}

/// The LV myocardium of phase `phase` of `grid`, around the cavity mask
/// `cavity` (same grid).
pub fn lv_myocardium(
    grid: &Grid<'_>,
    cavity: &Mask,
    phase: usize,
    progress: &Progress,
) -> Result<Myocardium, SegmentError> {
    grid.check(true).map_err(|_| SegmentError::GridSize {
        dims: grid.dims,
        len: grid.data.len(),
    })?;
    if cavity.dims != grid.dims {
        return Err(SegmentError::Mismatch {
            a: grid.dims,
            b: cavity.dims,
        });
    }
    let [nx, ny, nz] = grid.dims;
    let sp = grid.spacing();
    let planes: Vec<Plane> = (0..nz)
        .into_par_iter()
        .map(|k| Plane::new(grid, k))
        .collect();
    progress.check_cancelled()?;
    let slab = |k: usize| &cavity.data[k * nx * ny..(k + 1) * nx * ny];
    let mut found: Vec<(SliceWall, Vec<Option<f64>>)> = (0..nz)
        .into_par_iter()
        .filter_map(|k| slice_wall(&planes[k], slab(k), k))
        .collect();
    found.sort_by_key(|(w, _)| w.slice);
    // A ray whose edge lies far beyond the heart's typical wall thickness
    // (the median over every ray of every slice) ran into tissue of the
    // wall's own signal (liver, the RV's wall) and found the next
    // structure's edge: it is interpolated.
    if let Some(m) = median(
        found
            .iter()
            .flat_map(|(_, t)| t.iter().flatten().copied())
            .collect(),
    ) {
        for (w, t) in &mut found {
            for v in t.iter_mut() {
                *v = v.filter(|&x| x <= 1.5 * m + 1.0);
            }
            w.seen = t.iter().filter(|x| x.is_some()).count() as f64 / RAYS as f64;
            *t = circular_median(t, 4);
        }
    }
    // Thickness per ray: the slice's own where it saw a quarter of its
    // rays, else the median of its neighbours' per ray.
    let own: Vec<Option<Vec<f64>>> = found
        .iter()
        .map(|(w, t)| {
            if w.seen >= 0.25 {
                fill_circular(t)
            } else {
                None
            }
        })
        .collect();
    let mut walls = Vec::with_capacity(found.len());
    let mut epicardium = Mask::empty(grid.dims, sp)?;
    for (i, (mut w, _)) in found.into_iter().enumerate() {
        let thickness = if let Some(t) = &own[i] {
            t.clone()
        } else {
            let near: Vec<&Vec<f64>> = [i.checked_sub(1), Some(i + 1)]
                .into_iter()
                .flatten()
                .filter_map(|j| own.get(j).and_then(Option::as_ref))
                .collect();
            w.seen = 0.0;
            if near.is_empty() {
                let all: Vec<f64> = own.iter().flatten().flatten().copied().collect();
                let Some(m) = median(all) else {
                    continue;
                };
                vec![m; RAYS]
            } else {
                (0..RAYS)
                    .map(|r| near.iter().map(|t| t[r]).sum::<f64>() / near.len() as f64)
                    .collect()
            }
        };
        w.epi_mm = w
            .endo_mm
            .iter()
            .zip(&thickness)
            .map(|(e, t)| e + t.clamp(MIN_WALL_MM, MAX_WALL_MM))
            .collect();
        let k = w.slice;
        let star = fill_star(&planes[k], w.centre_px, &w.epi_mm);
        for (o, (&s, &c)) in epicardium.data[k * nx * ny..(k + 1) * nx * ny]
            .iter_mut()
            .zip(star.iter().zip(slab(k)))
        {
            *o = u8::from(s != 0 || c != 0);
        }
        walls.push(w);
    }
    let apex_cap = apical_cap(&planes, &walls, &mut epicardium);
    let myocardium = epicardium.subtract(cavity)?;
    let volume_ml = myocardium.volume_mm3() / 1000.0;
    Ok(Myocardium {
        phase,
        epicardium,
        myocardium,
        volume_ml,
        mass_g: volume_ml * MYOCARDIAL_DENSITY_G_PER_ML,
        walls,
        apex_cap,
    })
}

/// Which end of the stack is the base: the end slice with the larger cavity.
fn base_first(walls: &[SliceWall]) -> bool {
    let area = |w: &SliceWall| w.endo_mm.iter().map(|r| r * r).sum::<f64>();
    match (walls.first(), walls.last()) {
        (Some(a), Some(b)) => area(a) >= area(b),
        _ => true,
    }
}

/// The apical cap: on the slice past the last cavity (towards the apex),
/// the dark wall-level disc at the last centre within its epicardium.
fn apical_cap(planes: &[Plane], walls: &[SliceWall], epicardium: &mut Mask) -> Option<usize> {
    if walls.len() < 2 {
        return None;
    }
    let (last, k) = if base_first(walls) {
        let last = walls.last()?;
        (last, last.slice + 1)
    } else {
        let last = walls.first()?;
        (last, last.slice.checked_sub(1)?)
    };
    let plane = planes.get(k)?;
    let [nx, ny] = plane.dims;
    let c = last.centre_px;
    // Levels of the last slice with a cavity: the wall, and the surroundings
    // just outside its epicardium.
    let outer = median(
        (0..RAYS)
            .filter_map(|r| {
                plane
                    .at(plane.along(c, r, last.epi_mm[r] + 3.0))
                    .map(f64::from)
            })
            .collect(),
    )?;
    let wall = f64::from(plane.at(c)?);
    let cut = 0.5 * (wall + outer);
    let reach = last.epi_mm.iter().copied().fold(0.0, f64::max);
    let inside = fill_star(plane, c, &vec![reach; RAYS]);
    let dark: Vec<u8> = plane
        .values
        .iter()
        .zip(&inside)
        .map(|(&v, &i)| u8::from(i != 0 && (f64::from(v) - cut) * (wall - cut) > 0.0))
        .collect();
    let m = Mask {
        dims: [nx, ny, 1],
        spacing: [plane.spacing[0], plane.spacing[1], 1.0],
        data: dark,
    };
    let (labels, _) = components(&m, Connectivity::Six, &Progress::new()).ok()?;
    let at = labels[c[0].round() as usize + nx * c[1].round() as usize];
    if at == 0 {
        return None;
    }
    let slab = &mut epicardium.data[k * nx * ny..(k + 1) * nx * ny];
    for (o, &l) in slab.iter_mut().zip(&labels) {
        *o = u8::from(l == at);
    }
    Some(k)
}

/// Wall thickness per AHA segment (1–16) of a myocardium, with the septum
/// towards `septum_mm` (a point in the RV, patient mm) and the patient's
/// anterior (−y, LPS) picking the anterior side. Segments without rays are
/// left out.
#[must_use]
pub fn aha_thickness(grid: &Grid<'_>, myo: &Myocardium, septum_mm: [f64; 3]) -> Vec<AhaSegment> {
    let n = myo.walls.len();
    if n == 0 {
        return Vec::new();
    }
    let a = grid.affine;
    let col = |c: usize| nalgebra::Vector3::new(a[(0, c)], a[(1, c)], a[(2, c)]);
    let (ei, ej) = (col(0).normalize(), col(1).normalize());
    let base_first = base_first(&myo.walls);
    let mut sums = [(0.0f64, 0usize); 16];
    for (order, w) in myo.walls.iter().enumerate() {
        let from_base = if base_first { order } else { n - 1 - order };
        let ring = (3 * from_base / n).min(2);
        // Directions in the slice plane (mm, along i and j).
        let centre = nalgebra::Vector4::new(w.centre_px[0], w.centre_px[1], w.slice as f64, 1.0);
        let centre = (a * centre).xyz();
        let to_rv = nalgebra::Vector3::from(septum_mm) - centre;
        let septum = [to_rv.dot(&ei), to_rv.dot(&ej)];
        let anterior = nalgebra::Vector3::new(0.0, -1.0, 0.0);
        let ant = [anterior.dot(&ei), anterior.dot(&ej)];
        let phi_s = septum[1].atan2(septum[0]);
        // The anterior side is the positive sense of rotation away from the septum.
        let sense = (septum[0] * ant[1] - septum[1] * ant[0]).signum();
        let thickness = w.thickness_mm();
        for (ray, t) in thickness.iter().enumerate() {
            let phi = std::f64::consts::TAU * ray as f64 / RAYS as f64;
            let d = (sense * (phi - phi_s)).to_degrees().rem_euclid(360.0);
            // d: degrees from the septum towards anterior, 0..360.
            let seg = if ring < 2 {
                // 2: (0, 60], 1: (60, 120], 6: (120, 180], 5: (180, 240],
                // 4: (240, 300], 3: (300, 360].
                let order = [2usize, 1, 6, 5, 4, 3];
                order[((d / 60.0).floor() as usize).min(5)] + 6 * ring
            } else {
                // 14 septal ±45°, 13 anterior, 16 lateral, 15 inferior.
                let order = [14usize, 13, 16, 15];
                order[(((d + 45.0) / 90.0).floor() as usize) % 4]
            };
            sums[seg - 1].0 += t;
            sums[seg - 1].1 += 1;
        }
    }
    sums.iter()
        .enumerate()
        .filter(|(_, s)| s.1 > 0)
        .map(|(i, s)| AhaSegment {
            number: (i + 1) as u8,
            name: AHA_NAMES[i],
            thickness_mm: s.0 / s.1 as f64,
            rays: s.1,
        })
        .collect()
}

/// A point deep in the RV (patient mm) next to the LV of one phase: see the
/// module documentation. `None` when no such region is found.
#[must_use]
pub fn rv_seed(grid: &Grid<'_>, cavity: &Mask, myo: &Myocardium) -> Option<[f64; 3]> {
    let [nx, ny, _] = grid.dims;
    let area = |w: &&SliceWall| w.endo_mm.iter().map(|r| r * r).sum::<f64>();
    let w = myo
        .walls
        .iter()
        .max_by(|a, b| area(a).total_cmp(&area(b)))?;
    let k = w.slice;
    let plane = Plane::new(grid, k);
    let slab = |m: &Mask| m.data[k * nx * ny..(k + 1) * nx * ny].to_vec();
    let (cav, epi) = (slab(cavity), slab(&myo.epicardium));
    let (wall, blood) = levels(&plane, &cav, w.centre_px, &w.endo_mm)?;
    let cut = wall + 0.75 * (blood - wall);
    let bright = Mask {
        dims: [nx, ny, 1],
        spacing: [plane.spacing[0], plane.spacing[1], 1.0],
        data: plane
            .values
            .iter()
            .zip(&epi)
            .map(|(&v, &e)| u8::from(e == 0 && v >= cut))
            .collect(),
    };
    let (labels, sizes) = components(&bright, Connectivity::Six, &Progress::new()).ok()?;
    // Components within 3 mm of the epicardium (rays out from it).
    let mut touching = vec![false; sizes.len()];
    for ray in 0..RAYS {
        for s in 0..=12 {
            let p = plane.along(w.centre_px, ray, w.epi_mm[ray] + 0.25 * f64::from(s));
            let (x, y) = (p[0].round(), p[1].round());
            if x >= 0.0 && y >= 0.0 && (x as usize) < nx && (y as usize) < ny {
                touching[labels[x as usize + nx * y as usize] as usize] = true;
            }
        }
    }
    let px = plane.spacing[0] * plane.spacing[1];
    let best = (1..sizes.len())
        .filter(|&l| touching[l] && sizes[l] as f64 * px >= 200.0)
        .max_by_key(|&l| sizes[l])?;
    let region = Mask {
        data: labels
            .iter()
            .map(|&l| u8::from(l as usize == best))
            .collect(),
        ..bright
    };
    let inside = region.invert();
    let d2 = distance_squared(&inside, &Progress::new()).ok()?;
    let deepest = (0..d2.len())
        .filter(|&i| region.data[i] != 0)
        .max_by(|&a, &b| d2[a].total_cmp(&d2[b]))?;
    let v = nalgebra::Vector4::new((deepest % nx) as f64, (deepest / nx) as f64, k as f64, 1.0);
    let p = grid.affine * v;
    Some([p.x, p.y, p.z])
}

/// The RV blood pool in every phase, seeded next to the LV of `phase`
/// (see [`rv_seed`]); `None` when no RV is found beside the septum.
pub fn rv_pool(
    phases: &[Grid<'_>],
    cavity: &Mask,
    myo: &Myocardium,
    progress: &Progress,
) -> Result<Option<(BloodPool, [f64; 3])>, SegmentError> {
    let Some(grid) = phases.get(myo.phase) else {
        return Ok(None);
    };
    let Some(seed) = rv_seed(grid, cavity, myo) else {
        return Ok(None);
    };
    let pool = blood_pool(phases, seed, Chamber::Rv, DEFAULT_FRACTION, progress)?;
    Ok(Some((pool, seed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circular_fill_interpolates_across_the_wrap() {
        let mut v = vec![None; 8];
        v[1] = Some(2.0);
        v[5] = Some(6.0);
        let f = fill_circular(&v).unwrap();
        for (i, want) in [(3, 4.0), (7, 4.0), (0, 3.0)] {
            assert!((f[i] - want).abs() < 1e-12, "{f:?}");
        }
        assert!(fill_circular(&[None, None]).is_none());
    }

    /// A ring phantom: blood disc r < 20 mm, wall to 28 mm on one side and
    /// 30 on the other, fat outside; 1 mm pixels.
    #[test]
    fn a_ring_wall_is_found_with_its_thickness() {
        let n = 100;
        let affine = nalgebra::Matrix4::identity();
        let mut data = vec![0f32; n * n * 3];
        let mut cavity = Mask::empty([n, n, 3], [1.0; 3]).unwrap();
        for k in 0..3 {
            for j in 0..n {
                for i in 0..n {
                    let (x, y) = (i as f64 - 50.0, j as f64 - 50.0);
                    let r = x.hypot(y);
                    let epi = if x > 0.0 { 28.0 } else { 30.0 };
                    let v = if k == 2 {
                        // The apical cap: wall only.
                        if r < 15.0 { 100.0 } else { 300.0 }
                    } else if r < 20.0 {
                        400.0
                    } else if r < epi {
                        100.0
                    } else {
                        300.0
                    };
                    data[i + n * (j + n * k)] = v;
                    if k < 2 && r < 20.0 {
                        cavity.data[i + n * (j + n * k)] = 1;
                    }
                }
            }
        }
        let grid = Grid {
            dims: [n, n, 3],
            data: &data,
            affine: &affine,
        };
        let m = lv_myocardium(&grid, &cavity, 0, &Progress::new()).unwrap();
        assert_eq!(m.walls.len(), 2);
        for w in &m.walls {
            assert!(w.seen > 0.95, "{}", w.seen);
            let t = w.thickness_mm();
            // Ray 0 points along +x (8 mm wall), ray RAYS/2 along −x (10 mm).
            assert!((t[0] - 8.0).abs() < 0.6, "{}", t[0]);
            assert!((t[RAYS / 2] - 10.0).abs() < 0.6, "{}", t[RAYS / 2]);
        }
        assert_eq!(m.apex_cap, Some(2));
        // Two rings of π(28²/2 + 30²/2 − 20²) mm² and the cap of π·15².
        let ring = std::f64::consts::PI * (28.0f64.powi(2) / 2.0 + 30.0f64.powi(2) / 2.0 - 400.0);
        let cap = std::f64::consts::PI * 225.0;
        let truth = (2.0 * ring + cap) / 1000.0;
        assert!(
            (m.volume_ml / truth - 1.0).abs() < 0.05,
            "{} vs {truth}",
            m.volume_ml
        );
        assert!((m.mass_g - 1.05 * m.volume_ml).abs() < 1e-12);
        // Septum towards −x (a point at x = −45): ray RAYS/2 is septal,
        // in segments 2/3 (basal) and 8/9 (mid).
        let aha = aha_thickness(&grid, &m, [5.0, 50.0, 0.0]);
        let seg = |s: u8| aha.iter().find(|a| a.number == s).map(|a| a.thickness_mm);
        let septal = seg(2).unwrap().min(seg(3).unwrap());
        assert!(septal > 9.0, "{aha:?}");
        let lateral = seg(5).unwrap().max(seg(6).unwrap());
        assert!(lateral < 9.0, "{aha:?}");
    }
}
