//! Marching tetrahedra: the isosurface of the piecewise-linear interpolant on a
//! Kuhn (Freudenthal) subdivision of every voxel cube into six tetrahedra.
//!
//! Unlike marching cubes it has no ambiguous cases, so the surface of a closed
//! region is always a watertight 2-manifold: every edge crossing is one shared
//! vertex, neighbouring cubes split their common faces along the same
//! diagonal, and the grid is padded with one layer of "outside" so surfaces
//! close at the borders. Triangles face away from the region `value ≥ iso`;
//! vertices are in patient mm through the grid's affine.

use std::collections::HashMap;

use twin_core::Progress;

use crate::{Grid, MeshError, TriMesh};

/// Vertex bits of the unit cube: 1 = +x, 2 = +y, 4 = +z. The six tetrahedra
/// follow the paths 0 → 7 through each permutation of the axes.
const TETS: [[u8; 4]; 6] = [
    [0, 1, 3, 7],
    [0, 1, 5, 7],
    [0, 2, 3, 7],
    [0, 2, 6, 7],
    [0, 4, 5, 7],
    [0, 4, 6, 7],
];

/// Extracts the surface of `value ≥ iso` (values outside the grid count as
/// below `iso`).
pub fn marching_tetrahedra(
    grid: Grid<'_>,
    iso: f32,
    progress: &Progress,
) -> Result<TriMesh, MeshError> {
    grid.check(true)?;
    let [nx, ny, nz] = grid.dims;
    let (min, max) = crate::isosurface::value_range(grid.data);
    if max < iso {
        return Err(MeshError::Empty { iso, min, max });
    }
    // Padded grid coordinates: p = index + 1, from 0 to n + 1.
    let (px, py, pz) = (nx + 2, ny + 2, nz + 2);
    // Padding value: the data's minimum, or the mirror of its maximum about
    // `iso` if lower (so a region touching the border closes halfway to the
    // padding, like a mask at 0.5).
    let below = min
        .min(2.0 * iso - max)
        .min(iso - f32::EPSILON * iso.abs().max(1.0));
    let value = |x: usize, y: usize, z: usize| -> f32 {
        if x == 0 || y == 0 || z == 0 || x > nx || y > ny || z > nz {
            below
        } else {
            grid.data[(x - 1) + nx * ((y - 1) + ny * (z - 1))]
        }
    };
    let mut mesh = TriMesh::default();
    let mut edges: HashMap<u64, u32> = HashMap::new();
    progress.begin("Extracting surface", (pz - 1) as u64);
    for z in 0..pz - 1 {
        progress.check_cancelled()?;
        for y in 0..py - 1 {
            for x in 0..px - 1 {
                let corner = |b: u8| {
                    let (cx, cy, cz) = (
                        x + usize::from(b & 1),
                        y + usize::from(b >> 1 & 1),
                        z + usize::from(b >> 2 & 1),
                    );
                    (cx, cy, cz, value(cx, cy, cz))
                };
                let cube: [(usize, usize, usize, f32); 8] =
                    std::array::from_fn(|b| corner(b as u8));
                let mask = cube
                    .iter()
                    .enumerate()
                    .fold(0u8, |m, (b, c)| m | (u8::from(c.3 >= iso) << b));
                if mask == 0 || mask == 0xFF {
                    continue;
                }
                for tet in TETS {
                    emit_tet(&cube, tet, iso, [px, py], &mut edges, &mut mesh);
                }
            }
        }
        progress.advance(1);
    }
    if mesh.positions.len() > crate::isosurface::MAX_VERTICES {
        return Err(MeshError::TooLarge {
            limit: crate::isosurface::MAX_VERTICES,
        });
    }
    // Padded index → voxel index → patient mm.
    let mut shift = nalgebra::Matrix4::identity();
    for a in 0..3 {
        shift[(a, 3)] = -1.0;
    }
    mesh.transform(&(grid.affine * shift));
    Ok(mesh)
}

fn emit_tet(
    cube: &[(usize, usize, usize, f32); 8],
    tet: [u8; 4],
    iso: f32,
    [px, py]: [usize; 2],
    edges: &mut HashMap<u64, u32>,
    mesh: &mut TriMesh,
) {
    let v = tet.map(|b| cube[b as usize]);
    let inside: Vec<usize> = (0..4).filter(|&i| v[i].3 >= iso).collect();
    let outside: Vec<usize> = (0..4).filter(|&i| v[i].3 < iso).collect();
    if inside.is_empty() || outside.is_empty() {
        return;
    }
    let id = |c: &(usize, usize, usize, f32)| (c.0 + px * (c.1 + py * c.2)) as u64;
    let mut vertex = |a: usize, b: usize, mesh: &mut TriMesh| -> u32 {
        let (ia, ib) = (id(&v[a]), id(&v[b]));
        // Kuhn edges step by 0 or +1 along each axis from the lower vertex:
        // the lower vertex and the step bits name the edge.
        let (lo, hi) = if ia < ib { (v[a], v[b]) } else { (v[b], v[a]) };
        let bits =
            u64::from(hi.0 > lo.0) | u64::from(hi.1 > lo.1) << 1 | u64::from(hi.2 > lo.2) << 2;
        let key = ia.min(ib) * 8 + bits;
        *edges.entry(key).or_insert_with(|| {
            let (pa, pb) = (v[a], v[b]);
            let t = ((iso - pa.3) / (pb.3 - pa.3)).clamp(0.0, 1.0);
            let lerp = |x: usize, y: usize| x as f32 + (y as f32 - x as f32) * t;
            mesh.positions
                .push([lerp(pa.0, pb.0), lerp(pa.1, pb.1), lerp(pa.2, pb.2)]);
            (mesh.positions.len() - 1) as u32
        })
    };
    // The interpolant is linear on the tetrahedron: outward = −gradient.
    let d = |i: usize| {
        nalgebra::Vector3::new(
            v[i].0 as f64 - v[0].0 as f64,
            v[i].1 as f64 - v[0].1 as f64,
            v[i].2 as f64 - v[0].2 as f64,
        )
    };
    let m = nalgebra::Matrix3::from_rows(&[d(1).transpose(), d(2).transpose(), d(3).transpose()]);
    let df = nalgebra::Vector3::new(
        f64::from(v[1].3 - v[0].3),
        f64::from(v[2].3 - v[0].3),
        f64::from(v[3].3 - v[0].3),
    );
    let gradient = m.try_inverse().map_or(df, |inv| inv * df);
    let outward = [-gradient.x as f32, -gradient.y as f32, -gradient.z as f32];
    // Triangles as triples of crossing edges (inside vertex, outside vertex).
    let tris: Vec<[(usize, usize); 3]> = match (inside.len(), outside.len()) {
        (1, 3) => {
            let p = inside[0];
            vec![[(p, outside[0]), (p, outside[1]), (p, outside[2])]]
        }
        (3, 1) => {
            let q = outside[0];
            vec![[(inside[0], q), (inside[1], q), (inside[2], q)]]
        }
        _ => {
            let (p, q) = (inside[0], inside[1]);
            let (r, s) = (outside[0], outside[1]);
            // The quad p-r, p-s, q-s, q-r (consecutive crossings share a
            // face of the tetrahedron), split along (p-r, q-s).
            vec![[(p, r), (p, s), (q, s)], [(p, r), (q, s), (q, r)]]
        }
    };
    for mut tri in tris {
        // Orientation from the edge midpoints, never degenerate (the
        // interpolated points may coincide when a value equals `iso`), and
        // the same cyclic order as the interpolated polygon.
        let mid = |(a, b): (usize, usize)| {
            [
                (v[a].0 + v[b].0) as f32 / 2.0,
                (v[a].1 + v[b].1) as f32 / 2.0,
                (v[a].2 + v[b].2) as f32 / 2.0,
            ]
        };
        let [a, b, c] = tri.map(mid);
        let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let w = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
        let n = [
            u[1] * w[2] - u[2] * w[1],
            u[2] * w[0] - u[0] * w[2],
            u[0] * w[1] - u[1] * w[0],
        ];
        if n[0] * outward[0] + n[1] * outward[1] + n[2] * outward[2] < 0.0 {
            tri.swap(1, 2);
        }
        let t = tri.map(|(a, b)| vertex(a, b, mesh));
        mesh.triangles.push(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{Matrix4, Vector3};

    fn field(dims: [usize; 3], sp: [f64; 3], f: impl Fn([f64; 3]) -> f64) -> Vec<f32> {
        let mut v = Vec::with_capacity(dims.iter().product());
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    v.push(f([i as f64 * sp[0], j as f64 * sp[1], k as f64 * sp[2]]) as f32);
                }
            }
        }
        v
    }

    fn extract(dims: [usize; 3], sp: [f64; 3], data: &[f32]) -> TriMesh {
        let affine = Matrix4::new_nonuniform_scaling(&Vector3::new(sp[0], sp[1], sp[2]));
        marching_tetrahedra(
            Grid {
                dims,
                data,
                affine: &affine,
            },
            0.0,
            &Progress::new(),
        )
        .unwrap()
    }

    #[test]
    fn ellipsoid_is_watertight_sphere_like_with_the_right_volume() {
        let (dims, sp) = ([70, 60, 40], [0.9, 1.1, 2.0]);
        let (a, b, c) = (25.0, 20.0, 30.0);
        let data = field(dims, sp, |p| {
            let q = [(p[0] - 31.0) / a, (p[1] - 33.0) / b, (p[2] - 40.0) / c];
            // Signed distance-like: positive inside.
            1.0 - (q[0] * q[0] + q[1] * q[1] + q[2] * q[2]).sqrt()
        });
        let s = extract(dims, sp, &data).stats();
        assert!(s.watertight(), "{s:?}");
        assert_eq!(s.euler, 2);
        let truth = 4.0 / 3.0 * std::f64::consts::PI * a * b * c;
        let rel = s.volume_mm3 / truth - 1.0;
        assert!(rel.abs() < 0.01, "{rel}");
    }

    #[test]
    fn torus_has_euler_zero_and_the_right_volume() {
        let (dims, sp) = ([80, 80, 30], [1.0, 1.0, 1.5]);
        let (big, small) = (25.0, 8.0);
        let data = field(dims, sp, |p| {
            let (x, y, z) = (p[0] - 40.0, p[1] - 40.0, p[2] - 22.0);
            let ring = ((x * x + y * y).sqrt() - big).hypot(z);
            small - ring
        });
        let s = extract(dims, sp, &data).stats();
        assert!(s.watertight(), "{s:?}");
        assert_eq!(s.euler, 0);
        let truth = 2.0 * std::f64::consts::PI.powi(2) * big * small * small;
        let rel = s.volume_mm3 / truth - 1.0;
        assert!(rel.abs() < 0.01, "{rel}");
    }

    #[test]
    fn a_mask_touching_every_border_is_closed_by_padding() {
        let dims = [5, 4, 3];
        let data = vec![1.0f32; 60];
        let affine = Matrix4::identity();
        let m = marching_tetrahedra(
            Grid {
                dims,
                data: &data,
                affine: &affine,
            },
            0.5,
            &Progress::new(),
        )
        .unwrap();
        let s = m.stats();
        assert!(s.watertight() && s.euler == 2, "{s:?}");
        // The box of voxel centres grown by half a voxel (padding mirrors the
        // inside value about the iso level) is 5 × 4 × 3 = 60 mm³; the linear
        // interpolant on the tetrahedra bevels its edges and corners.
        assert!(
            s.volume_mm3 > 55.0 && s.volume_mm3 <= 60.0,
            "{}",
            s.volume_mm3
        );
        let none = marching_tetrahedra(
            Grid {
                dims,
                data: &data,
                affine: &affine,
            },
            2.0,
            &Progress::new(),
        )
        .unwrap_err();
        assert!(none.to_string().contains("selects no voxel"));
    }
}
