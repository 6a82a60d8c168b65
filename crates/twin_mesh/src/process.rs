//! Mesh processing: non-shrinking (Taubin λ|μ) smoothing and connectivity
//! filtering.

use rayon::prelude::*;
use twin_core::Progress;

use crate::TriMesh;

/// Taubin smoothing parameters: each iteration is a Laplacian step with
/// `lambda` (> 0, smooths) followed by one with `mu` (< −λ, re-inflates), so
/// the low frequencies and the volume are kept while noise is removed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Taubin {
    pub iterations: usize,
    pub lambda: f64,
    pub mu: f64,
}

impl Default for Taubin {
    /// 20 iterations of λ = 0.5, μ = −0.53 (pass-band k ≈ 0.1, Taubin 1995).
    fn default() -> Self {
        Self {
            iterations: 20,
            lambda: 0.5,
            mu: -0.53,
        }
    }
}

/// Vertex neighbours through triangle edges (sorted, unique).
#[must_use]
pub fn vertex_neighbours(mesh: &TriMesh) -> Vec<Vec<u32>> {
    let mut n: Vec<Vec<u32>> = vec![Vec::new(); mesh.positions.len()];
    for t in &mesh.triangles {
        for e in 0..3 {
            let (a, b) = (t[e], t[(e + 1) % 3]);
            n[a as usize].push(b);
            n[b as usize].push(a);
        }
    }
    n.par_iter_mut().for_each(|v| {
        v.sort_unstable();
        v.dedup();
    });
    n
}

/// Smooths `mesh` in place (uniform Laplacian weights, parallel per step).
pub fn smooth_taubin(
    mesh: &mut TriMesh,
    params: Taubin,
    progress: &Progress,
) -> Result<(), twin_core::Cancelled> {
    let neighbours = vertex_neighbours(mesh);
    let mut pos: Vec<[f64; 3]> = mesh.positions.iter().map(|p| p.map(f64::from)).collect();
    progress.begin("Smoothing", params.iterations as u64);
    for _ in 0..params.iterations {
        progress.check_cancelled()?;
        for factor in [params.lambda, params.mu] {
            let next: Vec<[f64; 3]> = pos
                .par_iter()
                .zip(&neighbours)
                .map(|(p, nb)| {
                    if nb.is_empty() {
                        return *p;
                    }
                    let mut c = [0.0; 3];
                    for &j in nb {
                        for a in 0..3 {
                            c[a] += pos[j as usize][a];
                        }
                    }
                    let k = nb.len() as f64;
                    std::array::from_fn(|a| p[a] + factor * (c[a] / k - p[a]))
                })
                .collect();
            pos = next;
        }
        progress.advance(1);
    }
    for (dst, p) in mesh.positions.iter_mut().zip(pos) {
        *dst = p.map(|x| x as f32);
    }
    Ok(())
}

/// Splits a mesh into its connected pieces (through shared vertices); returns
/// each piece's triangle indices, largest first.
#[must_use]
pub fn connected_pieces(mesh: &TriMesh) -> Vec<Vec<usize>> {
    // Union-find over vertices.
    let mut parent: Vec<u32> = (0..mesh.positions.len() as u32).collect();
    for t in &mesh.triangles {
        let r0 = find(&mut parent, t[0]);
        for &v in &t[1..] {
            let r = find(&mut parent, v);
            if r != r0 {
                parent[r as usize] = r0;
            }
        }
    }
    let mut pieces: std::collections::HashMap<u32, Vec<usize>> = std::collections::HashMap::new();
    for (i, t) in mesh.triangles.iter().enumerate() {
        let r = find(&mut parent, t[0]);
        pieces.entry(r).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = pieces.into_values().collect();
    out.sort_by_key(|p| (std::cmp::Reverse(p.len()), p[0]));
    out
}

/// Union-find root with path halving.
fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        parent[x as usize] = parent[parent[x as usize] as usize];
        x = parent[x as usize];
    }
    x
}

/// A new mesh with the given triangles and only the vertices they use.
#[must_use]
pub fn submesh(mesh: &TriMesh, triangles: &[usize]) -> TriMesh {
    let mut map = vec![u32::MAX; mesh.positions.len()];
    let mut out = TriMesh::default();
    for &ti in triangles {
        let t = mesh.triangles[ti];
        let nt = t.map(|v| {
            if map[v as usize] == u32::MAX {
                map[v as usize] = out.positions.len() as u32;
                out.positions.push(mesh.positions[v as usize]);
            }
            map[v as usize]
        });
        out.triangles.push(nt);
    }
    out
}

/// The triangles on the kept side of a plane: those whose centroid `c`
/// satisfies `normal · c ≥ offset` (a cut-away view; the cut edge follows
/// the triangles).
#[must_use]
pub fn clip_by_plane(mesh: &TriMesh, normal: [f64; 3], offset: f64) -> TriMesh {
    let kept: Vec<usize> = mesh
        .triangles
        .par_iter()
        .enumerate()
        .filter(|(_, t)| {
            let c: f64 = (0..3)
                .map(|a| {
                    let s: f64 = t
                        .iter()
                        .map(|&v| f64::from(mesh.positions[v as usize][a]))
                        .sum();
                    normal[a] * s / 3.0
                })
                .sum();
            c >= offset
        })
        .map(|(i, _)| i)
        .collect();
    submesh(mesh, &kept)
}

/// Keeps the largest connected piece.
#[must_use]
pub fn keep_largest_piece(mesh: &TriMesh) -> TriMesh {
    connected_pieces(mesh)
        .first()
        .map_or_else(TriMesh::default, |p| submesh(mesh, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A marching-cubes ball of radius `r` mm on an anisotropic grid.
    fn ball_mesh(r: f64, centre_x: f64) -> TriMesh {
        crate::test_support::surface_of([60, 60, 30], [1.0, 1.0, 2.0], |p| {
            r - ((p[0] - centre_x).powi(2) + (p[1] - 30.0).powi(2) + (p[2] - 30.0).powi(2)).sqrt()
        })
    }

    #[test]
    fn taubin_keeps_volume_within_one_percent_and_smooths() {
        let r = 18.0;
        let mut m = ball_mesh(r, 30.0);
        // Radial noise of ±0.4 mm (deterministic).
        for (i, p) in m.positions.iter_mut().enumerate() {
            let q = [
                f64::from(p[0]) - 30.0,
                f64::from(p[1]) - 30.0,
                f64::from(p[2]) - 30.0,
            ];
            let d = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2]).sqrt();
            let noise =
                0.4 * (((i as u64).wrapping_mul(2_654_435_761) % 1000) as f64 / 500.0 - 1.0);
            for a in 0..3 {
                p[a] = (30.0 + q[a] * (1.0 + noise / d)) as f32;
            }
        }
        let before = m.stats();
        let truth = 4.0 / 3.0 * std::f64::consts::PI * r.powi(3);
        let roughness = |m: &TriMesh| {
            // Spread of vertex distances from the centre.
            let d: Vec<f64> = m
                .positions
                .iter()
                .map(|p| {
                    let q = [
                        f64::from(p[0]) - 30.0,
                        f64::from(p[1]) - 30.0,
                        f64::from(p[2]) - 30.0,
                    ];
                    (q[0] * q[0] + q[1] * q[1] + q[2] * q[2]).sqrt()
                })
                .collect();
            let mean = d.iter().sum::<f64>() / d.len() as f64;
            (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / d.len() as f64).sqrt()
        };
        let rough_before = roughness(&m);
        smooth_taubin(&mut m, Taubin::default(), &Progress::new()).unwrap();
        let after = m.stats();
        let change = after.volume_mm3 / before.volume_mm3 - 1.0;
        assert!(change.abs() < 0.01, "volume change {change}");
        assert!((after.volume_mm3 / truth - 1.0).abs() < 0.02, "vs truth");
        assert!(after.watertight());
        assert!(
            roughness(&m) < 0.5 * rough_before,
            "{} → {}",
            rough_before,
            roughness(&m)
        );
    }

    #[test]
    fn clipping_keeps_one_side() {
        let m = ball_mesh(12.0, 30.0);
        let right = clip_by_plane(&m, [1.0, 0.0, 0.0], 30.3);
        let left = clip_by_plane(&m, [-1.0, 0.0, 0.0], -30.3);
        assert_eq!(
            right.triangles.len() + left.triangles.len(),
            m.triangles.len()
        );
        assert!(right.positions.iter().all(|p| p[0] > 28.3));
        let s = right.stats();
        assert!(s.boundary_edges > 0 && s.triangles > m.triangles.len() / 3);
    }

    #[test]
    fn pieces_are_split_and_the_largest_kept() {
        let a = ball_mesh(12.0, 22.0);
        let b = ball_mesh(5.0, 45.0);
        let mut both = a.clone();
        both.append(&b);
        let pieces = connected_pieces(&both);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].len(), a.triangles.len());
        let big = keep_largest_piece(&both);
        assert_eq!(big.stats().triangles, a.stats().triangles);
        assert!((big.stats().volume_mm3 - a.stats().volume_mm3).abs() < 1e-6);
    }
}
