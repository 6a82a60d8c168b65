//! Rule-based myocardial fibres (a stand-in for the Laplace-based LDRB
//! method of Bayer et al. 2012, which is still to come).
//!
//! A transmural coordinate `e` per node (0 on the endocardium, LV or RV,
//! 1 on the epicardium) from the shortest distances along the mesh's
//! edges to each surface, `e = d_endo / (d_endo + d_epi)`; in each
//! tetrahedron the wall normal `n = ∇e`, the circumferential direction
//! `c = axis × n` and the longitudinal `l = n × c`; the fibre turns from
//! `α_endo` to `α_epi` through the wall: `f = cos α·c + sin α·l` with
//! `α = α_endo + (α_epi − α_endo)·e` (Streeter 1969: about +60° to −60°).

use crate::EpError;
use crate::eikonal::{Conduction, Graph, Source};
use crate::mesh::{TetMesh, cross, dot, sub, tag, unit};

/// The mesh's edges at their lengths (mm): the graph distances along the
/// mesh are measured on.
///
/// # Errors
/// None in practice (a unit velocity is valid).
pub fn distances(mesh: &TetMesh) -> Result<Graph, EpError> {
    Ok(Graph::new(mesh, &Conduction::isotropic(mesh, 1.0)?))
}

/// The transmural coordinate of every node (0 endocardium, 1 epicardium;
/// nodes that reach neither surface get 0.5), along `graph`
/// ([`distances`]).
///
/// # Errors
/// The mesh has no endocardial or no epicardial nodes.
pub fn transmural(mesh: &TetMesh, graph: &Graph) -> Result<Vec<f64>, EpError> {
    let from = |bits: u8, what: &str| -> Result<Vec<f64>, EpError> {
        let src: Vec<Source> = mesh
            .tagged(bits)
            .into_iter()
            .map(|node| Source { node, time: 0.0 })
            .collect();
        if src.is_empty() {
            return Err(EpError::input(format!("the mesh has no {what} nodes")));
        }
        graph.activation(mesh, &src)
    };
    let endo = from(tag::LV_ENDO | tag::RV_ENDO, "endocardial")?;
    let epi = from(tag::EPI, "epicardial")?;
    Ok(endo
        .iter()
        .zip(&epi)
        .map(|(&a, &b)| {
            let s = a + b;
            if s.is_finite() && s > 0.0 { a / s } else { 0.5 }
        })
        .collect())
}

/// The gradient of the nodal field `f` in tetrahedron `t` (P1).
#[must_use]
pub fn gradient(mesh: &TetMesh, t: usize, f: &[f64]) -> [f64; 3] {
    let [a, b, c, d] = mesh.tets[t].map(|v| v as usize);
    let (e1, e2, e3) = (
        sub(mesh.nodes[b], mesh.nodes[a]),
        sub(mesh.nodes[c], mesh.nodes[a]),
        sub(mesh.nodes[d], mesh.nodes[a]),
    );
    let r = [f[b] - f[a], f[c] - f[a], f[d] - f[a]];
    // Rows e_i · g = r_i: g = (r1·(e2×e3) + r2·(e3×e1) + r3·(e1×e2)) / det.
    let det = dot(e1, cross(e2, e3));
    if det.abs() < 1e-300 {
        return [0.0; 3];
    }
    let (c23, c31, c12) = (cross(e2, e3), cross(e3, e1), cross(e1, e2));
    [0, 1, 2].map(|i| (r[0] * c23[i] + r[1] * c31[i] + r[2] * c12[i]) / det)
}

/// One fibre direction per tetrahedron from the nodes' `transmural`
/// coordinate, `axis` the long axis (base to apex), angles in degrees.
///
/// # Errors
/// An angle that is not within ±90°.
pub fn rule_based(
    mesh: &TetMesh,
    transmural: &[f64],
    axis: [f64; 3],
    alpha_endo_deg: f64,
    alpha_epi_deg: f64,
) -> Result<Vec<[f64; 3]>, EpError> {
    for (name, a) in [
        ("endocardial", alpha_endo_deg),
        ("epicardial", alpha_epi_deg),
    ] {
        if !(a.is_finite() && a.abs() <= 90.0) {
            return Err(EpError::input(format!(
                "the {name} fibre angle must be within ±90°, got {a}"
            )));
        }
    }
    let e = transmural;
    let axis = unit(axis);
    Ok((0..mesh.tets.len())
        .map(|t| {
            let n = unit(gradient(mesh, t, e));
            let c = unit(cross(axis, n));
            let l = cross(n, c);
            let et = mesh.tets[t].iter().map(|&v| e[v as usize]).sum::<f64>() / 4.0;
            let alpha = (alpha_endo_deg + (alpha_epi_deg - alpha_endo_deg) * et).to_radians();
            let f = [0, 1, 2].map(|i| alpha.cos() * c[i] + alpha.sin() * l[i]);
            if dot(f, f) > 0.5 { f } else { axis }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_of_linear_fields_are_exact() {
        let mesh = TetMesh::block([3, 3, 3], [3.0, 2.0, 1.0]).unwrap();
        let f: Vec<f64> = mesh
            .nodes
            .iter()
            .map(|p| 2.0 * p[0] - p[1] + 0.5 * p[2])
            .collect();
        for t in 0..mesh.tets.len() {
            let g = gradient(&mesh, t, &f);
            assert!(
                (g[0] - 2.0).abs() < 1e-9 && (g[1] + 1.0).abs() < 1e-9 && (g[2] - 0.5).abs() < 1e-9
            );
        }
    }

    #[test]
    fn angles_are_checked() {
        let mesh = TetMesh::block([2, 2, 2], [2.0; 3]).unwrap();
        let e = vec![0.5; mesh.nodes.len()];
        let err = rule_based(&mesh, &e, [0.0, 0.0, 1.0], 120.0, -60.0).unwrap_err();
        assert!(err.to_string().contains("endocardial fibre angle"));
    }
}
