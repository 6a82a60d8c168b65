//! Segmentation on voxel grids, aware of anisotropic spacing (all sizes in mm):
//! threshold ranges, seeded region growing, connected components and island
//! removal, morphology by an exact Euclidean distance transform, hole filling
//! and logical operations. Parallel where the work allows, cancellable.

use rayon::prelude::*;
use twin_core::Progress;

/// Why a segmentation step could not run.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("grid of {dims:?} voxels does not match {len} values")]
    GridSize { dims: [usize; 3], len: usize },
    #[error("voxel spacing {spacing:?} mm must be positive and finite")]
    Spacing { spacing: [f64; 3] },
    #[error("seed {seed:?} is outside the volume of {dims:?} voxels")]
    SeedOutside { seed: [i64; 3], dims: [usize; 3] },
    #[error("the seed value {value} is outside the range {lo}..{hi}")]
    SeedNotInRange { value: f32, lo: f32, hi: f32 },
    #[error("the range {lo}..{hi} selects no voxel (values range {min}..{max})")]
    Empty {
        lo: f32,
        hi: f32,
        min: f32,
        max: f32,
    },
    #[error("{0}")]
    Parameter(String),
    #[error("masks of {a:?} and {b:?} voxels cannot be combined")]
    Mismatch { a: [usize; 3], b: [usize; 3] },
    #[error(transparent)]
    Cancelled(#[from] twin_core::Cancelled),
}

/// Voxel neighbourhood: faces (6), faces + edges (18), or all 26.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Connectivity {
    #[default]
    Six,
    Eighteen,
    TwentySix,
}

impl Connectivity {
    fn offsets(self) -> Vec<[i64; 3]> {
        let mut out = Vec::new();
        for dz in -1i64..=1 {
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let n = dx.abs() + dy.abs() + dz.abs();
                    let keep = match self {
                        Connectivity::Six => n == 1,
                        Connectivity::Eighteen => n == 1 || n == 2,
                        Connectivity::TwentySix => n >= 1,
                    };
                    if keep {
                        out.push([dx, dy, dz]);
                    }
                }
            }
        }
        out
    }
}

/// A binary mask on a grid (`data[i + nx·(j + ny·k)]`, 1 = inside).
#[derive(Debug, Clone, PartialEq)]
pub struct Mask {
    pub dims: [usize; 3],
    /// Voxel spacing along i, j, k (mm).
    pub spacing: [f64; 3],
    pub data: Vec<u8>,
}

impl Mask {
    /// An empty mask.
    pub fn empty(dims: [usize; 3], spacing: [f64; 3]) -> Result<Self, SegmentError> {
        check_spacing(spacing)?;
        Ok(Self {
            dims,
            spacing,
            data: vec![0; dims[0] * dims[1] * dims[2]],
        })
    }

    /// Voxels inside.
    #[must_use]
    pub fn count(&self) -> usize {
        self.data.par_iter().filter(|&&v| v != 0).count()
    }

    /// Volume inside (mm³).
    #[must_use]
    pub fn volume_mm3(&self) -> f64 {
        self.count() as f64 * self.spacing.iter().product::<f64>()
    }

    #[must_use]
    pub fn index(&self, i: usize, j: usize, k: usize) -> usize {
        i + self.dims[0] * (j + self.dims[1] * k)
    }

    #[must_use]
    pub fn get(&self, i: usize, j: usize, k: usize) -> bool {
        self.data[self.index(i, j, k)] != 0
    }

    fn same_grid(&self, other: &Mask) -> Result<(), SegmentError> {
        if self.dims == other.dims {
            Ok(())
        } else {
            Err(SegmentError::Mismatch {
                a: self.dims,
                b: other.dims,
            })
        }
    }

    /// Voxels in both.
    pub fn and(&self, other: &Mask) -> Result<Mask, SegmentError> {
        self.combine(other, |a, b| a & b)
    }

    /// Voxels in either.
    pub fn or(&self, other: &Mask) -> Result<Mask, SegmentError> {
        self.combine(other, |a, b| a | b)
    }

    /// Voxels in exactly one.
    pub fn xor(&self, other: &Mask) -> Result<Mask, SegmentError> {
        self.combine(other, |a, b| a ^ b)
    }

    /// Voxels in `self` but not in `other`.
    pub fn subtract(&self, other: &Mask) -> Result<Mask, SegmentError> {
        self.combine(other, |a, b| a & (1 - b))
    }

    /// Voxels outside.
    #[must_use]
    pub fn invert(&self) -> Mask {
        Mask {
            data: self.data.par_iter().map(|&v| 1 - v.min(1)).collect(),
            ..self.clone()
        }
    }

    fn combine(&self, other: &Mask, f: impl Fn(u8, u8) -> u8 + Sync) -> Result<Mask, SegmentError> {
        self.same_grid(other)?;
        Ok(Mask {
            data: self
                .data
                .par_iter()
                .zip(&other.data)
                .map(|(&a, &b)| f(a.min(1), b.min(1)))
                .collect(),
            ..self.clone()
        })
    }
}

fn check_spacing(spacing: [f64; 3]) -> Result<(), SegmentError> {
    if spacing.iter().all(|s| s.is_finite() && *s > 0.0) {
        Ok(())
    } else {
        Err(SegmentError::Spacing { spacing })
    }
}

fn check_grid(dims: [usize; 3], values: &[f32]) -> Result<(), SegmentError> {
    if dims.iter().product::<usize>() == values.len() {
        Ok(())
    } else {
        Err(SegmentError::GridSize {
            dims,
            len: values.len(),
        })
    }
}

/// Voxels with `lo ≤ value ≤ hi`. An empty result is an error naming the range.
pub fn threshold(
    dims: [usize; 3],
    spacing: [f64; 3],
    values: &[f32],
    lo: f32,
    hi: f32,
) -> Result<Mask, SegmentError> {
    check_grid(dims, values)?;
    check_spacing(spacing)?;
    let data: Vec<u8> = values
        .par_iter()
        .map(|&v| u8::from(v >= lo && v <= hi))
        .collect();
    let mask = Mask {
        dims,
        spacing,
        data,
    };
    if mask.count() == 0 {
        let (min, max) = crate::isosurface::value_range(values);
        return Err(SegmentError::Empty { lo, hi, min, max });
    }
    Ok(mask)
}

/// [`region_grow`] from a seed given in patient mm (the nearest voxel of
/// `grid`), as a click in a slice view or `--seed X,Y,Z` gives it.
pub fn region_grow_at(
    grid: crate::Grid<'_>,
    seed_mm: [f64; 3],
    tolerance: f32,
    connectivity: Connectivity,
    progress: &Progress,
) -> Result<Mask, SegmentError> {
    let seed = grid.patient_to_voxel(seed_mm).ok_or_else(|| {
        SegmentError::Parameter("the volume's geometry (affine) is singular".into())
    })?;
    region_grow(
        grid.dims,
        grid.spacing(),
        grid.data,
        seed,
        tolerance,
        connectivity,
        progress,
    )
}

/// The voxels connected to `seed` (through `connectivity`) whose values lie
/// within `tolerance` of the seed's value.
pub fn region_grow(
    dims: [usize; 3],
    spacing: [f64; 3],
    values: &[f32],
    seed: [i64; 3],
    tolerance: f32,
    connectivity: Connectivity,
    progress: &Progress,
) -> Result<Mask, SegmentError> {
    check_grid(dims, values)?;
    let inside = |p: [i64; 3]| (0..3).all(|a| p[a] >= 0 && (p[a] as usize) < dims[a]);
    if !inside(seed) {
        return Err(SegmentError::SeedOutside { seed, dims });
    }
    let idx = |p: [i64; 3]| p[0] as usize + dims[0] * (p[1] as usize + dims[1] * p[2] as usize);
    let v0 = values[idx(seed)];
    let (lo, hi) = (v0 - tolerance.abs(), v0 + tolerance.abs());
    let accept = Mask {
        data: values
            .par_iter()
            .map(|&v| u8::from(v >= lo && v <= hi))
            .collect(),
        ..Mask::empty(dims, spacing)?
    };
    flood(&accept, seed, connectivity, progress)
}

/// The component of `allowed` containing `seed` (breadth-first).
fn flood(
    allowed: &Mask,
    seed: [i64; 3],
    connectivity: Connectivity,
    progress: &Progress,
) -> Result<Mask, SegmentError> {
    let dims = allowed.dims;
    let inside = |p: [i64; 3]| (0..3).all(|a| p[a] >= 0 && (p[a] as usize) < dims[a]);
    if !inside(seed) {
        return Err(SegmentError::SeedOutside { seed, dims });
    }
    let idx = |p: [i64; 3]| p[0] as usize + dims[0] * (p[1] as usize + dims[1] * p[2] as usize);
    let mut out = Mask::empty(dims, allowed.spacing)?;
    if allowed.data[idx(seed)] == 0 {
        return Ok(out);
    }
    let offsets = connectivity.offsets();
    let mut queue = std::collections::VecDeque::new();
    out.data[idx(seed)] = 1;
    queue.push_back(seed);
    let mut visited = 0usize;
    while let Some(p) = queue.pop_front() {
        visited += 1;
        if visited.is_multiple_of(1 << 20) {
            progress.check_cancelled()?;
        }
        for o in &offsets {
            let q = [p[0] + o[0], p[1] + o[1], p[2] + o[2]];
            if inside(q) {
                let i = idx(q);
                if allowed.data[i] != 0 && out.data[i] == 0 {
                    out.data[i] = 1;
                    queue.push_back(q);
                }
            }
        }
    }
    Ok(out)
}

/// Connected components: a label per voxel (0 = outside, 1.. = components
/// ordered by first voxel) and each component's voxel count (index 0 unused).
pub fn components(
    mask: &Mask,
    connectivity: Connectivity,
    progress: &Progress,
) -> Result<(Vec<u32>, Vec<usize>), SegmentError> {
    let dims = mask.dims;
    let offsets = connectivity.offsets();
    let mut labels = vec![0u32; mask.data.len()];
    let mut sizes = vec![0usize];
    let mut queue = Vec::new();
    for start in 0..mask.data.len() {
        if mask.data[start] == 0 || labels[start] != 0 {
            continue;
        }
        progress.check_cancelled()?;
        let label = sizes.len() as u32;
        let mut size = 0usize;
        labels[start] = label;
        queue.push(start);
        while let Some(i) = queue.pop() {
            size += 1;
            let (x, rest) = (i % dims[0], i / dims[0]);
            let (y, z) = (rest % dims[1], rest / dims[1]);
            for o in &offsets {
                let q = [x as i64 + o[0], y as i64 + o[1], z as i64 + o[2]];
                if (0..3).all(|a| q[a] >= 0 && (q[a] as usize) < dims[a]) {
                    let n = q[0] as usize + dims[0] * (q[1] as usize + dims[1] * q[2] as usize);
                    if mask.data[n] != 0 && labels[n] == 0 {
                        labels[n] = label;
                        queue.push(n);
                    }
                }
            }
        }
        sizes.push(size);
    }
    Ok((labels, sizes))
}

/// Keeps the largest connected component.
pub fn keep_largest(
    mask: &Mask,
    connectivity: Connectivity,
    progress: &Progress,
) -> Result<Mask, SegmentError> {
    let (labels, sizes) = components(mask, connectivity, progress)?;
    let Some(best) = (1..sizes.len()).max_by_key(|&l| sizes[l]) else {
        return Ok(mask.clone());
    };
    Ok(select(mask, &labels, |l| l == best as u32))
}

/// Keeps the component under `seed` (empty if the seed is outside the mask).
pub fn keep_at(
    mask: &Mask,
    seed: [i64; 3],
    connectivity: Connectivity,
    progress: &Progress,
) -> Result<Mask, SegmentError> {
    flood(mask, seed, connectivity, progress)
}

/// Removes components smaller than `min_mm3`.
pub fn remove_islands(
    mask: &Mask,
    min_mm3: f64,
    connectivity: Connectivity,
    progress: &Progress,
) -> Result<Mask, SegmentError> {
    let (labels, sizes) = components(mask, connectivity, progress)?;
    let voxel = mask.spacing.iter().product::<f64>();
    Ok(select(mask, &labels, |l| {
        sizes[l as usize] as f64 * voxel >= min_mm3
    }))
}

fn select(mask: &Mask, labels: &[u32], keep: impl Fn(u32) -> bool + Sync) -> Mask {
    Mask {
        data: labels
            .par_iter()
            .map(|&l| u8::from(l != 0 && keep(l)))
            .collect(),
        ..mask.clone()
    }
}

/// Squared Euclidean distance (mm²) from every voxel to the nearest voxel of
/// `mask` (Felzenszwalb–Huttenlocher, separable, exact for anisotropic grids).
/// Infinite where the mask is empty.
pub fn distance_squared(mask: &Mask, progress: &Progress) -> Result<Vec<f64>, SegmentError> {
    let [nx, ny, nz] = mask.dims;
    let mut d: Vec<f64> = mask
        .data
        .par_iter()
        .map(|&v| if v != 0 { 0.0 } else { f64::INFINITY })
        .collect();
    // Pass along x (contiguous rows).
    let sx = mask.spacing[0];
    d.par_chunks_mut(nx).for_each(|row| edt_1d(row, sx));
    progress.check_cancelled()?;
    // Along y: for each (x, z) line.
    let sy = mask.spacing[1];
    d.par_chunks_mut(nx * ny).for_each(|plane| {
        let mut line = vec![0.0; ny];
        for x in 0..nx {
            for y in 0..ny {
                line[y] = plane[x + nx * y];
            }
            edt_1d(&mut line, sy);
            for y in 0..ny {
                plane[x + nx * y] = line[y];
            }
        }
    });
    progress.check_cancelled()?;
    // Along z: gather lines by (x, y) in parallel blocks of y.
    let sz = mask.spacing[2];
    let plane = nx * ny;
    let lines: Vec<Vec<f64>> = (0..plane)
        .into_par_iter()
        .map(|xy| {
            let mut line: Vec<f64> = (0..nz).map(|z| d[xy + plane * z]).collect();
            edt_1d(&mut line, sz);
            line
        })
        .collect();
    for (xy, line) in lines.into_iter().enumerate() {
        for (z, v) in line.into_iter().enumerate() {
            d[xy + plane * z] = v;
        }
    }
    Ok(d)
}

/// 1D squared distance transform of `f` (in place) with sample spacing `s`.
fn edt_1d(f: &mut [f64], s: f64) {
    let n = f.len();
    if n == 0 {
        return;
    }
    let s2 = s * s;
    let mut v = vec![0usize; n];
    let mut z = vec![0f64; n + 1];
    let mut k = 0usize;
    let src: Vec<f64> = f.to_vec();
    // Skip leading infinite samples.
    let Some(first) = src.iter().position(|x| x.is_finite()) else {
        return;
    };
    v[0] = first;
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    for q in first + 1..n {
        if !src[q].is_finite() {
            continue;
        }
        loop {
            let p = v[k];
            let sq = ((src[q] + s2 * (q * q) as f64) - (src[p] + s2 * (p * p) as f64))
                / (2.0 * s2 * (q as f64 - p as f64));
            if sq <= z[k] && k > 0 {
                k -= 1;
            } else {
                if sq <= z[k] {
                    // k == 0: replace.
                    v[0] = q;
                    z[1] = f64::INFINITY;
                } else {
                    k += 1;
                    v[k] = q;
                    z[k] = sq;
                    z[k + 1] = f64::INFINITY;
                }
                break;
            }
        }
    }
    let mut k = 0usize;
    for (q, out) in f.iter_mut().enumerate() {
        while z[k + 1] < q as f64 {
            k += 1;
        }
        let p = v[k];
        let dq = (q as f64 - p as f64) * s;
        *out = dq * dq + src[p];
    }
}

/// Adds every voxel within `radius_mm` of the mask (ball in mm).
pub fn dilate(mask: &Mask, radius_mm: f64, progress: &Progress) -> Result<Mask, SegmentError> {
    let d = distance_squared(mask, progress)?;
    let r2 = radius_mm * radius_mm + 1e-9;
    Ok(Mask {
        data: d.par_iter().map(|&x| u8::from(x <= r2)).collect(),
        ..mask.clone()
    })
}

/// Keeps the voxels farther than `radius_mm` from the outside.
pub fn erode(mask: &Mask, radius_mm: f64, progress: &Progress) -> Result<Mask, SegmentError> {
    Ok(dilate(&mask.invert(), radius_mm, progress)?.invert())
}

/// Erosion then dilation: removes details thinner than the ball.
pub fn open(mask: &Mask, radius_mm: f64, progress: &Progress) -> Result<Mask, SegmentError> {
    dilate(&erode(mask, radius_mm, progress)?, radius_mm, progress)
}

/// Dilation then erosion: closes gaps narrower than the ball.
pub fn close(mask: &Mask, radius_mm: f64, progress: &Progress) -> Result<Mask, SegmentError> {
    erode(&dilate(mask, radius_mm, progress)?, radius_mm, progress)
}

/// Fills background regions not connected to the grid border: in 3D, or in
/// each slice (k) separately when `per_slice`.
pub fn fill_holes(mask: &Mask, per_slice: bool, progress: &Progress) -> Result<Mask, SegmentError> {
    let [nx, ny, nz] = mask.dims;
    let background = mask.invert();
    let mut outside = vec![0u8; mask.data.len()];
    let mut queue = Vec::new();
    let seed = |i: usize, outside: &mut Vec<u8>, queue: &mut Vec<usize>| {
        if background.data[i] != 0 && outside[i] == 0 {
            outside[i] = 1;
            queue.push(i);
        }
    };
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                let border = i == 0
                    || j == 0
                    || i == nx - 1
                    || j == ny - 1
                    || (!per_slice && (k == 0 || k == nz - 1));
                if border {
                    seed(mask.index(i, j, k), &mut outside, &mut queue);
                }
            }
        }
    }
    progress.check_cancelled()?;
    let offsets: Vec<[i64; 3]> = Connectivity::Six
        .offsets()
        .into_iter()
        .filter(|o| !per_slice || o[2] == 0)
        .collect();
    while let Some(i) = queue.pop() {
        let (x, rest) = (i % nx, i / nx);
        let (y, z) = (rest % ny, rest / ny);
        for o in &offsets {
            let q = [x as i64 + o[0], y as i64 + o[1], z as i64 + o[2]];
            if (0..3).all(|a| q[a] >= 0 && (q[a] as usize) < mask.dims[a]) {
                let n = mask.index(q[0] as usize, q[1] as usize, q[2] as usize);
                if background.data[n] != 0 && outside[n] == 0 {
                    outside[n] = 1;
                    queue.push(n);
                }
            }
        }
    }
    Ok(Mask {
        data: outside.into_par_iter().map(|o| 1 - o).collect(),
        ..mask.clone()
    })
}

/// A named segment with its display colour.
#[derive(Debug, Clone)]
pub struct Segment {
    pub name: String,
    pub colour: [u8; 3],
    pub mask: Mask,
}

/// Several segments on one grid; `label_map` gives each voxel the index + 1
/// of the last segment that contains it (0 = none).
#[derive(Debug, Clone, Default)]
pub struct LabelMap {
    pub segments: Vec<Segment>,
}

impl LabelMap {
    /// Adds a segment; its grid must match the others'.
    pub fn add(&mut self, segment: Segment) -> Result<usize, SegmentError> {
        if let Some(first) = self.segments.first() {
            first.mask.same_grid(&segment.mask)?;
        }
        self.segments.push(segment);
        Ok(self.segments.len() - 1)
    }

    /// One label per voxel.
    #[must_use]
    pub fn label_map(&self) -> Vec<u16> {
        let Some(first) = self.segments.first() else {
            return Vec::new();
        };
        let mut out = vec![0u16; first.mask.data.len()];
        for (s, seg) in self.segments.iter().enumerate() {
            out.par_iter_mut().zip(&seg.mask.data).for_each(|(o, &m)| {
                if m != 0 {
                    *o = (s + 1) as u16;
                }
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPACING: [f64; 3] = [0.8, 1.0, 2.0];

    /// A field of distances (mm) from `centre` (mm) on an anisotropic grid.
    fn radius_field(dims: [usize; 3], centre: [f64; 3]) -> Vec<f32> {
        let mut v = Vec::with_capacity(dims.iter().product());
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let p = [
                        i as f64 * SPACING[0],
                        j as f64 * SPACING[1],
                        k as f64 * SPACING[2],
                    ];
                    let d: f64 = (0..3)
                        .map(|a| (p[a] - centre[a]).powi(2))
                        .sum::<f64>()
                        .sqrt();
                    v.push(d as f32);
                }
            }
        }
        v
    }

    fn ball(dims: [usize; 3], centre: [f64; 3], r: f32) -> Mask {
        threshold(dims, SPACING, &radius_field(dims, centre), 0.0, r).unwrap()
    }

    fn ball_volume(r: f64) -> f64 {
        4.0 / 3.0 * std::f64::consts::PI * r.powi(3)
    }

    #[test]
    fn threshold_volume_matches_the_ball_at_anisotropic_spacing() {
        let m = ball([100, 80, 40], [40.0, 40.0, 40.0], 20.0);
        let rel = m.volume_mm3() / ball_volume(20.0) - 1.0;
        assert!(rel.abs() < 0.02, "{rel}");
        let e = threshold([2, 2, 2], SPACING, &[0.0; 8], 5.0, 6.0).unwrap_err();
        assert!(e.to_string().contains("selects no voxel"), "{e}");
    }

    #[test]
    fn region_growing_stays_in_the_seeded_ball() {
        let dims = [100, 80, 40];
        let a = radius_field(dims, [25.0, 40.0, 40.0]);
        let b = radius_field(dims, [60.0, 40.0, 40.0]);
        // Two separate balls of value 100 in a background of 0.
        let values: Vec<f32> = a
            .iter()
            .zip(&b)
            .map(|(&x, &y)| if x < 12.0 || y < 12.0 { 100.0 } else { 0.0 })
            .collect();
        let p = Progress::new();
        let seed = [(25.0 / 0.8) as i64, 40, 20];
        let grown = region_grow(dims, SPACING, &values, seed, 10.0, Connectivity::Six, &p).unwrap();
        let rel = grown.volume_mm3() / ball_volume(12.0) - 1.0;
        assert!(rel.abs() < 0.03, "{rel}");
        let both = threshold(dims, SPACING, &values, 50.0, 200.0).unwrap();
        let (_, sizes) = components(&both, Connectivity::Six, &p).unwrap();
        assert_eq!(sizes.len(), 3);
        assert_eq!(keep_at(&both, seed, Connectivity::Six, &p).unwrap(), grown);
        let e = region_grow(
            dims,
            SPACING,
            &values,
            [-1, 0, 0],
            1.0,
            Connectivity::Six,
            &p,
        )
        .unwrap_err();
        assert!(e.to_string().contains("outside the volume"), "{e}");
        // The same seed given in mm through the grid's affine.
        let affine = nalgebra::Matrix4::new_nonuniform_scaling(&nalgebra::Vector3::from(SPACING));
        let grid = crate::Grid {
            dims,
            data: &values,
            affine: &affine,
        };
        let at = region_grow_at(grid, [25.0, 40.0, 40.0], 10.0, Connectivity::Six, &p).unwrap();
        assert_eq!(at, grown);
    }

    #[test]
    fn dilation_and_erosion_move_the_surface_by_the_radius_in_mm() {
        let dims = [100, 80, 40];
        let c = [40.0, 40.0, 40.0];
        let p = Progress::new();
        let m = ball(dims, c, 15.0);
        let d = dilate(&m, 4.0, &p).unwrap();
        // Distances run between voxel centres, 2 mm apart along k: the digital
        // surface moves by the radius within about a quarter of a voxel.
        let rel = d.volume_mm3() / ball_volume(19.0) - 1.0;
        assert!(rel.abs() < 0.06, "dilated {rel}");
        let e = erode(&m, 4.0, &p).unwrap();
        let rel = e.volume_mm3() / ball_volume(11.0) - 1.0;
        assert!(rel.abs() < 0.08, "eroded {rel}");
        // Opening removes a small ball, keeps a big one.
        let small = ball(dims, [70.0, 40.0, 40.0], 3.0);
        let both = m.or(&small).unwrap();
        let opened = open(&both, 5.0, &p).unwrap();
        assert!(opened.and(&small).unwrap().count() == 0);
        assert!(opened.count() as f64 > 0.9 * m.count() as f64);
    }

    #[test]
    fn distance_transform_is_exact_against_brute_force() {
        let dims = [9, 7, 5];
        let mut m = Mask::empty(dims, SPACING).unwrap();
        for &(i, j, k) in &[(1, 1, 1), (7, 5, 3), (4, 0, 4)] {
            let idx = m.index(i, j, k);
            m.data[idx] = 1;
        }
        let d = distance_squared(&m, &Progress::new()).unwrap();
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let brute = [(1, 1, 1), (7, 5, 3), (4, 0, 4)]
                        .iter()
                        .map(|&(a, b, c): &(i32, i32, i32)| {
                            let dx = f64::from(i as i32 - a) * SPACING[0];
                            let dy = f64::from(j as i32 - b) * SPACING[1];
                            let dz = f64::from(k as i32 - c) * SPACING[2];
                            dx * dx + dy * dy + dz * dz
                        })
                        .fold(f64::INFINITY, f64::min);
                    assert!((d[m.index(i, j, k)] - brute).abs() < 1e-9, "({i},{j},{k})");
                }
            }
        }
    }

    #[test]
    fn holes_fill_in_3d_and_per_slice() {
        let dims = [60, 60, 30];
        let c = [24.0, 30.0, 30.0];
        let p = Progress::new();
        let shell = ball(dims, c, 14.0).subtract(&ball(dims, c, 9.0)).unwrap();
        let filled = fill_holes(&shell, false, &p).unwrap();
        assert_eq!(filled, ball(dims, c, 14.0));
        // Per slice: a ring (tube) fills in every slice even though it is open in 3D.
        let mut ring = Mask::empty(dims, SPACING).unwrap();
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let (x, y) = (i as f64 * 0.8 - 24.0, j as f64 - 30.0);
                    let r = (x * x + y * y).sqrt();
                    if (8.0..12.0).contains(&r) {
                        let idx = ring.index(i, j, k);
                        ring.data[idx] = 1;
                    }
                }
            }
        }
        assert_eq!(fill_holes(&ring, false, &p).unwrap(), ring);
        let disc = fill_holes(&ring, true, &p).unwrap();
        assert!(disc.count() > ring.count() * 3 / 2);
        assert!(disc.get(30, 30, 10));
    }

    #[test]
    fn label_map_names_segments_and_islands_go() {
        let dims = [60, 60, 30];
        let p = Progress::new();
        let big = ball(dims, [24.0, 30.0, 30.0], 10.0);
        let speck = ball(dims, [40.0, 50.0, 30.0], 1.5);
        let noisy = big.or(&speck).unwrap();
        let clean = remove_islands(&noisy, 100.0, Connectivity::Six, &p).unwrap();
        assert_eq!(clean, big);
        assert_eq!(
            keep_largest(&noisy, Connectivity::TwentySix, &p).unwrap(),
            big
        );
        let mut map = LabelMap::default();
        map.add(Segment {
            name: "ball".into(),
            colour: [200, 80, 60],
            mask: big.clone(),
        })
        .unwrap();
        map.add(Segment {
            name: "speck".into(),
            colour: [60, 80, 200],
            mask: speck.clone(),
        })
        .unwrap();
        let labels = map.label_map();
        assert_eq!(labels.iter().filter(|&&l| l == 1).count(), big.count());
        assert_eq!(labels.iter().filter(|&&l| l == 2).count(), speck.count());
        let other = Mask::empty([2, 2, 2], SPACING).unwrap();
        assert!(
            map.add(Segment {
                name: "x".into(),
                colour: [0; 3],
                mask: other
            })
            .is_err()
        );
    }
}
