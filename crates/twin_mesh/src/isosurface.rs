//! Isosurfaces of scalar grids by surface nets (Gibson 1998; the "naive" variant
//! with one vertex per boundary cell at the mean of its edge crossings).
//!
//! The grid is padded with one layer of "outside" on every side, so the surface
//! of a region touching the border is still closed. Each quad comes from a grid
//! edge whose two voxels lie on different sides of the iso-value and is wound so
//! that its normal points from inside (`value ≥ iso`) to outside.

use nalgebra::Matrix4;
use rayon::prelude::*;
use twin_core::Progress;

use crate::MeshError;
use crate::mesh::TriMesh;

/// A scalar grid: `data[i + nx·(j + ny·k)]`, with `affine` mapping voxel indices
/// to patient millimetres.
#[derive(Debug, Clone, Copy)]
pub struct Grid<'a> {
    pub dims: [usize; 3],
    pub data: &'a [f32],
    pub affine: &'a Matrix4<f64>,
}

impl Grid<'_> {
    /// Checks that `dims` matches the number of values (and, with
    /// `non_empty`, that there is at least one).
    pub fn check(&self, non_empty: bool) -> Result<(), MeshError> {
        let [nx, ny, nz] = self.dims;
        match nx.checked_mul(ny).and_then(|v| v.checked_mul(nz)) {
            Some(n) if n == self.data.len() && (n > 0 || !non_empty) => Ok(()),
            _ => Err(MeshError::GridSize {
                dims: self.dims,
                len: self.data.len(),
            }),
        }
    }

    /// Voxel spacing along i, j, k (mm): the lengths of the affine's columns.
    #[must_use]
    pub fn spacing(&self) -> [f64; 3] {
        std::array::from_fn(|c| {
            nalgebra::Vector3::new(
                self.affine[(0, c)],
                self.affine[(1, c)],
                self.affine[(2, c)],
            )
            .norm()
        })
    }

    /// The voxel nearest to a patient position (mm); `None` if the affine is
    /// singular. The index may lie outside the grid.
    #[must_use]
    pub fn patient_to_voxel(&self, p: [f64; 3]) -> Option<[i64; 3]> {
        let v = self.affine.try_inverse()? * nalgebra::Vector4::new(p[0], p[1], p[2], 1.0);
        Some([v.x, v.y, v.z].map(|c| c.round() as i64))
    }
}

/// Smallest and largest value (parallel).
#[must_use]
pub fn value_range(values: &[f32]) -> (f32, f32) {
    values
        .par_iter()
        .fold(
            || (f32::INFINITY, f32::NEG_INFINITY),
            |(a, b), &v| (a.min(v), b.max(v)),
        )
        .reduce(
            || (f32::INFINITY, f32::NEG_INFINITY),
            |x, y| (x.0.min(y.0), x.1.max(y.1)),
        )
}

/// Largest number of mesh vertices we agree to build (u32 indices, memory).
pub const MAX_VERTICES: usize = 200_000_000;

const NONE: u32 = u32::MAX;

/// Closed surface of the region `value ≥ iso`, in patient mm.
pub fn surface_nets(grid: Grid<'_>, iso: f32, progress: &Progress) -> Result<TriMesh, MeshError> {
    grid.check(false)?;
    let [nx, ny, nz] = grid.dims;
    // Scalar at a padded voxel index (−1 and n are outside).
    let value = |i: isize, j: isize, k: isize| -> f32 {
        if i < 0 || j < 0 || k < 0 || i >= nx as isize || j >= ny as isize || k >= nz as isize {
            f32::NEG_INFINITY
        } else {
            grid.data[i as usize + nx * (j as usize + ny * k as usize)] - iso
        }
    };
    // Cells: cell (ci, cj, ck) spans voxels ci−1..ci (etc.), for ci in 0..=nx.
    let (cx, cy, cz) = (nx + 1, ny + 1, nz + 1);
    progress.begin("Extracting surface", (cz * 2) as u64);
    let slab_vertices: Vec<Vec<(usize, [f32; 3])>> = (0..cz)
        .into_par_iter()
        .map(|ck| {
            progress.check_cancelled()?;
            let mut out = Vec::new();
            for cj in 0..cy {
                for ci in 0..cx {
                    let (i0, j0, k0) = (ci as isize - 1, cj as isize - 1, ck as isize - 1);
                    let mut corners = [0f32; 8];
                    let mut mask = 0u8;
                    for (n, c) in corners.iter_mut().enumerate() {
                        let (di, dj, dk) = (
                            (n & 1) as isize,
                            ((n >> 1) & 1) as isize,
                            ((n >> 2) & 1) as isize,
                        );
                        *c = value(i0 + di, j0 + dj, k0 + dk);
                        if *c >= 0.0 {
                            mask |= 1 << n;
                        }
                    }
                    if mask == 0 || mask == 0xFF {
                        continue;
                    }
                    let mut sum = [0f32; 3];
                    let mut count = 0f32;
                    for (a, b) in CUBE_EDGES {
                        let (va, vb) = (corners[a], corners[b]);
                        if (va >= 0.0) == (vb >= 0.0) {
                            continue;
                        }
                        // Outside padding is −∞: put the crossing on the border voxel face.
                        let t = if va.is_infinite() || vb.is_infinite() {
                            0.5
                        } else {
                            (va / (va - vb)).clamp(0.0, 1.0)
                        };
                        for (axis, s) in sum.iter_mut().enumerate() {
                            let pa = ((a >> axis) & 1) as f32;
                            let pb = ((b >> axis) & 1) as f32;
                            *s += pa + t * (pb - pa);
                        }
                        count += 1.0;
                    }
                    let p = [
                        i0 as f32 + sum[0] / count,
                        j0 as f32 + sum[1] / count,
                        k0 as f32 + sum[2] / count,
                    ];
                    out.push((ci + cx * (cj + cy * ck), p));
                }
            }
            progress.advance(1);
            Ok(out)
        })
        .collect::<Result<_, twin_core::Cancelled>>()?;
    let total: usize = slab_vertices.iter().map(Vec::len).sum();
    if total == 0 {
        let (min, max) = value_range(grid.data);
        return Err(MeshError::Empty { iso, min, max });
    }
    if total > MAX_VERTICES {
        return Err(MeshError::TooLarge {
            limit: MAX_VERTICES,
        });
    }
    let mut cell_index = vec![NONE; cx * cy * cz];
    let mut positions = Vec::with_capacity(total);
    for slab in slab_vertices {
        for (cell, p) in slab {
            cell_index[cell] = positions.len() as u32;
            positions.push(p);
        }
    }
    let cell = |ci: usize, cj: usize, ck: usize| cell_index[ci + cx * (cj + cy * ck)];
    // Quads: one per voxel edge that crosses the surface. Voxel (i, j, k) and its
    // +axis neighbour share the four cells around that edge.
    let slab_tris: Vec<Vec<[u32; 3]>> = (0..=nz)
        .into_par_iter()
        .map(|kk| {
            progress.check_cancelled()?;
            let k = kk as isize - 1;
            let mut tris = Vec::new();
            for j in -1..ny as isize {
                for i in -1..nx as isize {
                    let inside = value(i, j, k) >= 0.0;
                    for axis in 0..3 {
                        let (di, dj, dk) = [(1, 0, 0), (0, 1, 0), (0, 0, 1)][axis];
                        let (ni, nj, nk) = (i + di, j + dj, k + dk);
                        if ni > nx as isize || nj > ny as isize || nk > nz as isize {
                            continue;
                        }
                        if inside == (value(ni, nj, nk) >= 0.0) {
                            continue;
                        }
                        // Cell (c, …) spans voxels c−1..c, so the edge's cells have
                        // index v + 1 along the edge and {v, v + 1} across it. The quad
                        // goes round the edge counter-clockwise seen from +axis.
                        let (ci, cj, ck) = ((i + 1) as usize, (j + 1) as usize, (k + 1) as usize);
                        let quad = match axis {
                            0 => [
                                cell(ci, cj - 1, ck - 1),
                                cell(ci, cj, ck - 1),
                                cell(ci, cj, ck),
                                cell(ci, cj - 1, ck),
                            ],
                            1 => [
                                cell(ci - 1, cj, ck - 1),
                                cell(ci - 1, cj, ck),
                                cell(ci, cj, ck),
                                cell(ci, cj, ck - 1),
                            ],
                            _ => [
                                cell(ci - 1, cj - 1, ck),
                                cell(ci, cj - 1, ck),
                                cell(ci, cj, ck),
                                cell(ci - 1, cj, ck),
                            ],
                        };
                        if quad.contains(&NONE) {
                            continue;
                        }
                        let [a, b, c, d] = if inside {
                            quad
                        } else {
                            [quad[0], quad[3], quad[2], quad[1]]
                        };
                        tris.push([a, b, c]);
                        tris.push([a, c, d]);
                    }
                }
            }
            progress.advance(1);
            Ok(tris)
        })
        .collect::<Result<_, twin_core::Cancelled>>()?;
    let mut mesh = TriMesh {
        positions,
        triangles: slab_tris.into_iter().flatten().collect(),
    };
    mesh.transform(grid.affine);
    Ok(mesh)
}

/// The 12 edges of a cell as pairs of corner numbers (bit 0 = +i, 1 = +j, 2 = +k).
const CUBE_EDGES: [(usize, usize); 12] = [
    (0, 1),
    (2, 3),
    (4, 5),
    (6, 7),
    (0, 2),
    (1, 3),
    (4, 6),
    (5, 7),
    (0, 4),
    (1, 5),
    (2, 6),
    (3, 7),
];

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Vector4;

    fn sphere_grid(n: usize, spacing: [f64; 3], radius: f64) -> (Vec<f32>, Matrix4<f64>) {
        let c = (n as f64 - 1.0) / 2.0;
        let mut data = Vec::with_capacity(n * n * n);
        for k in 0..n {
            for j in 0..n {
                for i in 0..n {
                    let d = (((i as f64 - c) * spacing[0]).powi(2)
                        + ((j as f64 - c) * spacing[1]).powi(2)
                        + ((k as f64 - c) * spacing[2]).powi(2))
                    .sqrt();
                    data.push((radius - d) as f32);
                }
            }
        }
        let affine = Matrix4::from_diagonal(&Vector4::new(spacing[0], spacing[1], spacing[2], 1.0));
        (data, affine)
    }

    #[test]
    fn sphere_is_closed_outward_and_accurate() {
        let (data, affine) = sphere_grid(48, [1.0, 0.8, 1.3], 18.0);
        let mesh = surface_nets(
            Grid {
                dims: [48; 3],
                data: &data,
                affine: &affine,
            },
            0.0,
            &Progress::new(),
        )
        .unwrap();
        let s = mesh.stats();
        assert!(s.watertight(), "{s:?}");
        assert_eq!(s.euler, 2);
        let truth = 4.0 / 3.0 * std::f64::consts::PI * 18f64.powi(3);
        // Surface nets on a smooth field: within a few percent of the analytic volume.
        assert!(
            (s.volume_mm3 / truth - 1.0).abs() < 0.03,
            "{} vs {truth}",
            s.volume_mm3
        );
    }

    #[test]
    fn region_touching_the_border_is_closed() {
        let data = vec![1.0f32; 4 * 5 * 6];
        let affine = Matrix4::identity();
        let mesh = surface_nets(
            Grid {
                dims: [4, 5, 6],
                data: &data,
                affine: &affine,
            },
            0.5,
            &Progress::new(),
        )
        .unwrap();
        let s = mesh.stats();
        assert!(s.watertight(), "{s:?}");
        assert!(s.volume_mm3 > 0.0);
    }

    #[test]
    fn empty_selection_and_bad_sizes_are_errors() {
        let data = vec![0.0f32; 8];
        let affine = Matrix4::identity();
        let e = surface_nets(
            Grid {
                dims: [2, 2, 2],
                data: &data,
                affine: &affine,
            },
            1.0,
            &Progress::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("selects no voxel"), "{e}");
        let e = surface_nets(
            Grid {
                dims: [3, 2, 2],
                data: &data,
                affine: &affine,
            },
            1.0,
            &Progress::new(),
        )
        .unwrap_err();
        assert!(matches!(e, MeshError::GridSize { .. }));
    }

    #[test]
    fn torus_has_euler_zero() {
        let n = 40;
        let c = (n as f64 - 1.0) / 2.0;
        let mut data = Vec::new();
        for k in 0..n {
            for j in 0..n {
                for i in 0..n {
                    let (x, y, z) = (i as f64 - c, j as f64 - c, k as f64 - c);
                    let q = ((x * x + y * y).sqrt() - 12.0).hypot(z);
                    data.push((5.0 - q) as f32);
                }
            }
        }
        let affine = Matrix4::identity();
        let mesh = surface_nets(
            Grid {
                dims: [n; 3],
                data: &data,
                affine: &affine,
            },
            0.0,
            &Progress::new(),
        )
        .unwrap();
        let s = mesh.stats();
        assert!(s.watertight(), "{s:?}");
        assert_eq!(s.euler, 0);
    }
}
