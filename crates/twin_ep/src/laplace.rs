//! Laplace solves on the tetrahedral mesh: linear (P1) finite elements,
//! Dirichlet values on chosen nodes, the reduced system `K_ff u_f =
//! −K_fd u_d` factored once by a sparse Cholesky (faer's supernodal
//! LLᵀ with an AMD ordering) and solved for every right-hand side that
//! shares the same fixed nodes. The fields of the LDRB fibres and the
//! ventricular coordinates (docs/models/ep.md).

use faer::prelude::Solve;
use faer::sparse::{SparseColMat, Triplet};
use faer::{Mat, Side};

use crate::EpError;
use crate::mesh::{TetMesh, cross, dot, sub};

/// The P1 stiffness matrix `K_ij = Σ_tets V ∇λ_i·∇λ_j` as rows of
/// (column, value), the diagonal included.
#[derive(Debug, Clone)]
pub struct Stiffness {
    rows: Vec<Vec<(u32, f64)>>,
}

/// The gradients of the four barycentric functions of tetrahedron `t`
/// and its volume.
fn shape_gradients(mesh: &TetMesh, t: usize) -> Option<([[f64; 3]; 4], f64)> {
    let [a, b, c, d] = mesh.tets[t].map(|v| mesh.nodes[v as usize]);
    let (e1, e2, e3) = (sub(b, a), sub(c, a), sub(d, a));
    let det = dot(e1, cross(e2, e3));
    if !det.is_finite() || det.abs() < 1e-300 {
        return None;
    }
    // ∇λ_b = (e2×e3)/det, ∇λ_c = (e3×e1)/det, ∇λ_d = (e1×e2)/det,
    // ∇λ_a = −(their sum).
    let g1 = cross(e2, e3).map(|x| x / det);
    let g2 = cross(e3, e1).map(|x| x / det);
    let g3 = cross(e1, e2).map(|x| x / det);
    let g0 = [0, 1, 2].map(|i| -(g1[i] + g2[i] + g3[i]));
    Some(([g0, g1, g2, g3], det.abs() / 6.0))
}

impl Stiffness {
    #[must_use]
    pub fn new(mesh: &TetMesh) -> Self {
        let mut rows: Vec<Vec<(u32, f64)>> = vec![Vec::new(); mesh.nodes.len()];
        for (t, nodes) in mesh.tets.iter().enumerate() {
            let Some((g, vol)) = shape_gradients(mesh, t) else {
                continue;
            };
            for i in 0..4 {
                for j in 0..4 {
                    let k = vol * dot(g[i], g[j]);
                    let row = &mut rows[nodes[i] as usize];
                    match row.iter_mut().find(|(c, _)| *c == nodes[j]) {
                        Some(e) => e.1 += k,
                        None => row.push((nodes[j], k)),
                    }
                }
            }
        }
        Self { rows }
    }

    /// Solves `K u = 0` on the free nodes with `u` given on the nodes
    /// where `fixed` is true, once per column of `values` (each a full
    /// nodal vector; only its fixed entries are read). A part of the mesh
    /// with no fixed node is set to 0.5 (the field is undetermined there).
    ///
    /// # Errors
    /// No node is fixed, the lengths differ, or the factorisation fails.
    pub fn solve(&self, fixed: &[bool], values: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, EpError> {
        let n = self.rows.len();
        if fixed.len() != n || values.iter().any(|v| v.len() != n) {
            return Err(EpError::input("a Laplace solve needs one value per node"));
        }
        if !fixed.contains(&true) {
            return Err(EpError::input(
                "a Laplace solve needs fixed (Dirichlet) nodes",
            ));
        }
        let fixed = self.anchor_floating(fixed);
        let mut out: Vec<Vec<f64>> = values
            .iter()
            .map(|v| {
                (0..n)
                    .map(|i| match fixed[i] {
                        Fixed::Given => v[i],
                        Fixed::Floating => 0.5,
                        Fixed::Free => 0.0,
                    })
                    .collect()
            })
            .collect();
        let mut index = vec![u32::MAX; n];
        let mut free = Vec::new();
        for i in 0..n {
            if fixed[i] == Fixed::Free {
                index[i] = free.len() as u32;
                free.push(i);
            }
        }
        if free.is_empty() {
            return Ok(out);
        }
        let m = free.len();
        let mut triplets = Vec::with_capacity(m * 8);
        let mut rhs = Mat::<f64>::zeros(m, out.len());
        for (r, &i) in free.iter().enumerate() {
            for &(c, k) in &self.rows[i] {
                let c = c as usize;
                if fixed[c] == Fixed::Free {
                    let cj = index[c] as usize;
                    // The lower half is all the factorisation reads.
                    if cj <= r {
                        triplets.push(Triplet::new(r, cj, k));
                    }
                } else {
                    for (col, u) in out.iter().enumerate() {
                        rhs[(r, col)] -= k * u[c];
                    }
                }
            }
        }
        let a = SparseColMat::<usize, f64>::try_new_from_triplets(m, m, &triplets)
            .map_err(|e| EpError::input(format!("the Laplace matrix could not be built: {e:?}")))?;
        let llt = a.sp_cholesky(Side::Lower).map_err(|e| {
            EpError::input(format!("the Laplace matrix could not be factored: {e:?}"))
        })?;
        llt.solve_in_place(rhs.as_mut());
        for (col, u) in out.iter_mut().enumerate() {
            for (r, &i) in free.iter().enumerate() {
                u[i] = rhs[(r, col)];
            }
        }
        Ok(out)
    }

    /// Marks the nodes of every connected part without a fixed node as
    /// floating (their system would be singular).
    fn anchor_floating(&self, fixed: &[bool]) -> Vec<Fixed> {
        let n = self.rows.len();
        let mut state: Vec<Fixed> = fixed
            .iter()
            .map(|&f| if f { Fixed::Given } else { Fixed::Free })
            .collect();
        let mut seen = vec![false; n];
        let mut stack = Vec::new();
        let mut part = Vec::new();
        for start in 0..n {
            if seen[start] {
                continue;
            }
            seen[start] = true;
            stack.push(start);
            part.clear();
            let mut anchored = false;
            while let Some(v) = stack.pop() {
                part.push(v);
                anchored |= fixed[v];
                for &(c, _) in &self.rows[v] {
                    let c = c as usize;
                    if !seen[c] {
                        seen[c] = true;
                        stack.push(c);
                    }
                }
            }
            if !anchored {
                for &v in &part {
                    state[v] = Fixed::Floating;
                }
            }
        }
        state
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fixed {
    Given,
    Free,
    Floating,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linear_field_is_reproduced_exactly() {
        // u = x between x = 0 (u 0) and x = 4 (u 4) with natural
        // boundaries elsewhere: P1 elements are exact for linear fields.
        let mesh = TetMesh::block([8, 3, 3], [4.0, 1.5, 1.5]).unwrap();
        let k = Stiffness::new(&mesh);
        let fixed: Vec<bool> = mesh
            .nodes
            .iter()
            .map(|p| p[0].abs() < 1e-9 || (p[0] - 4.0).abs() < 1e-9)
            .collect();
        let u0: Vec<f64> = mesh.nodes.iter().map(|p| p[0]).collect();
        let u1: Vec<f64> = mesh.nodes.iter().map(|p| 2.0 - 0.5 * p[0]).collect();
        let u = k.solve(&fixed, &[u0, u1]).unwrap();
        for (i, p) in mesh.nodes.iter().enumerate() {
            assert!((u[0][i] - p[0]).abs() < 1e-9, "{p:?}: {}", u[0][i]);
            assert!((u[1][i] - (2.0 - 0.5 * p[0])).abs() < 1e-9);
        }
    }

    #[test]
    fn the_potential_between_spheres_converges() {
        // u = (1/r − 1/R₂)/(1/R₁ − 1/R₂) between spheres of radii 2 and 6
        // (1 inside, 0 outside), on voxel shells: the error falls with h.
        let err = |h: f64| {
            let n = (14.0 / h).round() as usize;
            let c = 7.0;
            let mut labels = vec![0u8; n * n * n];
            let r = |i: usize| (i as f64 + 0.5) * h - c;
            for z in 0..n {
                for y in 0..n {
                    for x in 0..n {
                        let d = (r(x).powi(2) + r(y).powi(2) + r(z).powi(2)).sqrt();
                        if (2.0..6.0).contains(&d) {
                            labels[x + n * (y + n * z)] = crate::mesh::label::LV_WALL;
                        }
                    }
                }
            }
            let grid = crate::mesh::LabelGrid {
                dims: [n; 3],
                spacing: [h; 3],
                origin: [0.5 * h - c; 3],
                labels: &labels,
            };
            let mesh = TetMesh::from_labels(&grid, |l| l == crate::mesh::label::LV_WALL).unwrap();
            let radius = |p: &[f64; 3]| dot(*p, *p).sqrt();
            let inner = mesh.tagged(crate::mesh::tag::LV_ENDO | crate::mesh::tag::EPI);
            let mut fixed = vec![false; mesh.nodes.len()];
            let mut v = vec![0.0; mesh.nodes.len()];
            for &i in &inner {
                fixed[i] = true;
                v[i] = if radius(&mesh.nodes[i]) < 4.0 {
                    1.0
                } else {
                    0.0
                };
            }
            let k = Stiffness::new(&mesh);
            let u = k.solve(&fixed, &[v]).unwrap().remove(0);
            // Against the exact field for the staircase's own mean radii.
            let (mut r1, mut n1, mut r2, mut n2) = (0.0, 0.0, 0.0, 0.0);
            for &i in &inner {
                let r = radius(&mesh.nodes[i]);
                if r < 4.0 {
                    r1 += r;
                    n1 += 1.0;
                } else {
                    r2 += r;
                    n2 += 1.0;
                }
            }
            let (r1, r2) = (r1 / n1, r2 / n2);
            let exact = |r: f64| (1.0 / r - 1.0 / r2) / (1.0 / r1 - 1.0 / r2);
            let mut e = 0.0;
            let mut cnt = 0.0;
            for (i, p) in mesh.nodes.iter().enumerate() {
                let r = radius(p);
                if !fixed[i] && (3.0..5.0).contains(&r) {
                    e += (u[i] - exact(r)).abs();
                    cnt += 1.0;
                }
            }
            e / cnt
        };
        let (coarse, fine) = (err(1.0), err(0.5));
        eprintln!("shell potential: mean error {coarse:.4} (h 1), {fine:.4} (h 0.5)");
        assert!(fine < 0.7 * coarse && fine < 0.03, "{coarse} {fine}");
    }

    #[test]
    fn bad_inputs_are_named() {
        let mesh = TetMesh::block([2, 2, 2], [2.0; 3]).unwrap();
        let k = Stiffness::new(&mesh);
        let n = mesh.nodes.len();
        let err = k.solve(&vec![false; n], &[vec![0.0; n]]).unwrap_err();
        assert!(err.to_string().contains("fixed"));
        let err = k.solve(&vec![true; n], &[vec![0.0; 3]]).unwrap_err();
        assert!(err.to_string().contains("one value per node"));
    }
}
