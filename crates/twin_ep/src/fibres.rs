//! Myocardial fibres by the Laplace–Dirichlet rule-based method (LDRB,
//! Bayer, Blake, Plank & Trayanova 2012, *Ann Biomed Eng* 40:2243).
//!
//! Four Laplace fields on the mesh ([`laplace_fields`]): `φ_epi` (1 on the
//! epicardium, 0 on both endocardia), `φ_lv` (1 on the LV endocardium, 0
//! on the RV's and the epicardium), `φ_rv` (likewise for the RV) and
//! `ψ` (1 on the base, 0 at the epicardial apex). In each tetrahedron
//! their gradients give local frames `axis(∇ψ, ±∇φ)` = [circumferential,
//! longitudinal, transmural], each turned by the helix angle `α` about
//! the transmural direction and the sheet angle `β` about the
//! circumferential one, and the frames are blended by quaternion
//! interpolation that ignores the axes' signs (bislerp): the LV and RV
//! septal frames by `d = φ_rv/(φ_lv + φ_rv)`, then the endocardial and
//! epicardial frames by `φ_epi`. Angles as published: `α` +40° at the
//! endocardium to −50° at the epicardium, `β` −65° to +25°; the fibre
//! is the frame's first axis.

use crate::EpError;
use nalgebra::{Matrix3, Quaternion, Rotation3, UnitQuaternion, Vector3};
use rayon::prelude::*;

use crate::laplace::Stiffness;
use crate::mesh::{TetMesh, cross, dot, sub, tag, unit};

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

/// The LDRB angles (degrees): helix `α` and sheet `β` at the
/// endocardium and the epicardium.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Angles {
    pub alpha_endo: f64,
    pub alpha_epi: f64,
    pub beta_endo: f64,
    pub beta_epi: f64,
}

impl Default for Angles {
    /// Bayer et al. (2012), Table 1: α +40°/−50°, β −65°/+25°.
    fn default() -> Self {
        Self {
            alpha_endo: 40.0,
            alpha_epi: -50.0,
            beta_endo: -65.0,
            beta_epi: 25.0,
        }
    }
}

impl Angles {
    fn check(&self) -> Result<(), EpError> {
        for (name, a) in [
            ("endocardial helix", self.alpha_endo),
            ("epicardial helix", self.alpha_epi),
            ("endocardial sheet", self.beta_endo),
            ("epicardial sheet", self.beta_epi),
        ] {
            if !(a.is_finite() && a.abs() <= 90.0) {
                return Err(EpError::input(format!(
                    "the {name} angle must be within ±90°, got {a}"
                )));
            }
        }
        Ok(())
    }
}

/// The four LDRB Laplace fields, one value per node.
#[derive(Debug, Clone)]
pub struct Fields {
    /// 0 on the endocardia, 1 on the epicardium: the transmural coordinate.
    pub epi: Vec<f64>,
    pub lv: Vec<f64>,
    pub rv: Vec<f64>,
    /// 1 on the base, 0 at the apex.
    pub base: Vec<f64>,
}

/// Solves the LDRB fields on `mesh` (LV and RV endocardium, epicardium
/// and base tagged), `apex` the nodes held at `ψ = 0`.
///
/// # Errors
/// A tagged surface or the apex is missing, or a solve fails.
pub fn laplace_fields(mesh: &TetMesh, apex: &[usize]) -> Result<Fields, EpError> {
    let n = mesh.nodes.len();
    let k = Stiffness::new(mesh);
    let has = |bits: u8, v: usize| mesh.tags[v] & bits != 0;
    for (bits, what) in [
        (tag::LV_ENDO, "LV endocardial"),
        (tag::RV_ENDO, "RV endocardial"),
        (tag::EPI, "epicardial"),
        (tag::BASE, "base"),
    ] {
        if !(0..n).any(|v| has(bits, v)) {
            return Err(EpError::input(format!("the mesh has no {what} nodes")));
        }
    }
    if apex.is_empty() || apex.iter().any(|&v| v >= n) {
        return Err(EpError::input(
            "the apex for the fibres' Laplace solve is not on the mesh",
        ));
    }
    // The transmural solves share their fixed nodes: one factorisation.
    let fixed: Vec<bool> = (0..n)
        .map(|v| has(tag::LV_ENDO | tag::RV_ENDO | tag::EPI, v))
        .collect();
    let endo = |v: usize| has(tag::LV_ENDO | tag::RV_ENDO, v);
    let epi: Vec<f64> = (0..n).map(|v| if endo(v) { 0.0 } else { 1.0 }).collect();
    let lv: Vec<f64> = (0..n)
        .map(|v| if has(tag::LV_ENDO, v) { 1.0 } else { 0.0 })
        .collect();
    let rv: Vec<f64> = (0..n)
        .map(|v| {
            if has(tag::RV_ENDO, v) && !has(tag::LV_ENDO, v) {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let mut t = k.solve(&fixed, &[epi, lv, rv])?.into_iter();
    let (epi, lv, rv) = (
        t.next().unwrap_or_default(),
        t.next().unwrap_or_default(),
        t.next().unwrap_or_default(),
    );
    let mut fixed = vec![false; n];
    let mut ab = vec![0.0; n];
    for v in 0..n {
        if has(tag::BASE, v) {
            fixed[v] = true;
            ab[v] = 1.0;
        }
    }
    for &v in apex {
        fixed[v] = true;
        ab[v] = 0.0;
    }
    let base = k.solve(&fixed, &[ab])?.remove(0);
    Ok(Fields { epi, lv, rv, base })
}

/// `axis(∇ψ, ∇φ)`: columns circumferential, longitudinal (`∇ψ`),
/// transmural (`∇φ` made square to it); `fallback` for a vanishing `∇ψ`.
fn frame(long: [f64; 3], trans: [f64; 3], fallback: [f64; 3]) -> Option<Matrix3<f64>> {
    let mut e1 = Vector3::from(long);
    if e1.norm() < 1e-12 {
        e1 = Vector3::from(fallback);
    }
    let e1 = e1.try_normalize(1e-12)?;
    let t = Vector3::from(trans);
    let e2 = (t - e1 * e1.dot(&t)).try_normalize(1e-12)?;
    let e0 = e1.cross(&e2);
    Some(Matrix3::from_columns(&[e0, e1, e2]))
}

/// `orient(Q, α, β) = Q · R_z(α) · R_x(β)` (radians): the helix angle
/// turns the circumferential axis towards the longitudinal one, the
/// sheet angle turns about the new first axis.
fn orient(q: &Matrix3<f64>, alpha: f64, beta: f64) -> Matrix3<f64> {
    let (sa, ca) = alpha.sin_cos();
    let (sb, cb) = beta.sin_cos();
    let ra = Matrix3::new(ca, -sa, 0.0, sa, ca, 0.0, 0.0, 0.0, 1.0);
    let rb = Matrix3::new(1.0, 0.0, 0.0, 0.0, cb, sb, 0.0, -sb, cb);
    q * ra * rb
}

/// Interpolates two frames (`t` 0 → `a`, 1 → `b`) along the shortest
/// rotation among the frames equal to `a` up to the signs of its axes.
fn bislerp(a: &Matrix3<f64>, b: &Matrix3<f64>, t: f64) -> Matrix3<f64> {
    let quat = |m: &Matrix3<f64>| {
        UnitQuaternion::from_rotation_matrix(&Rotation3::from_matrix_unchecked(*m))
    };
    let (qa, qb) = (quat(a), quat(b));
    let units = [
        Quaternion::new(1.0, 0.0, 0.0, 0.0),
        Quaternion::new(0.0, 1.0, 0.0, 0.0),
        Quaternion::new(0.0, 0.0, 1.0, 0.0),
        Quaternion::new(0.0, 0.0, 0.0, 1.0),
    ];
    let mut best = qa;
    let mut best_dot = -1.0;
    for u in units {
        let q = UnitQuaternion::new_unchecked(qa.into_inner() * u);
        let d = q.coords.dot(&qb.coords);
        if d.abs() > best_dot {
            best_dot = d.abs();
            best = if d < 0.0 {
                UnitQuaternion::new_unchecked(-q.into_inner())
            } else {
                q
            };
        }
    }
    let q = best.try_slerp(&qb, t.clamp(0.0, 1.0), 1e-9).unwrap_or(best);
    q.to_rotation_matrix().into_inner()
}

/// One fibre direction per tetrahedron by LDRB from `fields`, `axis` the
/// long axis (base to apex) used where `∇ψ` vanishes.
///
/// # Errors
/// An angle beyond ±90°, or fields not one value per node.
pub fn ldrb(
    mesh: &TetMesh,
    fields: &Fields,
    angles: &Angles,
    axis: [f64; 3],
) -> Result<Vec<[f64; 3]>, EpError> {
    angles.check()?;
    let n = mesh.nodes.len();
    if [&fields.epi, &fields.lv, &fields.rv, &fields.base]
        .iter()
        .any(|f| f.len() != n)
    {
        return Err(EpError::input("the LDRB fields need one value per node"));
    }
    let r = f64::to_radians;
    let up = axis.map(|x| -x);
    Ok((0..mesh.tets.len())
        .into_par_iter()
        .map(|t| {
            let mean = |f: &[f64]| mesh.tets[t].iter().map(|&v| f[v as usize]).sum::<f64>() / 4.0;
            let (e, l, rv) = (mean(&fields.epi), mean(&fields.lv), mean(&fields.rv));
            let d = if l + rv > 1e-12 { rv / (l + rv) } else { 0.0 };
            let g_ab = gradient(mesh, t, &fields.base);
            let g_lv = gradient(mesh, t, &fields.lv).map(|x| -x);
            let g_rv = gradient(mesh, t, &fields.rv);
            let g_epi = gradient(mesh, t, &fields.epi);
            let alpha_s = r(angles.alpha_endo) * (1.0 - 2.0 * d);
            let beta_s = r(angles.beta_endo) * (1.0 - 2.0 * d);
            let alpha_w = r(angles.alpha_endo * (1.0 - e) + angles.alpha_epi * e);
            let beta_w = r(angles.beta_endo * (1.0 - e) + angles.beta_epi * e);
            let q_lv = frame(g_ab, g_lv, up).map(|q| orient(&q, alpha_s, beta_s));
            let q_rv = frame(g_ab, g_rv, up).map(|q| orient(&q, alpha_s, beta_s));
            let q_epi = frame(g_ab, g_epi, up).map(|q| orient(&q, alpha_w, beta_w));
            let q_endo = match (q_lv, q_rv) {
                (Some(a), Some(b)) => Some(bislerp(&a, &b, d)),
                (a, b) => a.or(b),
            };
            let q = match (q_endo, q_epi) {
                (Some(a), Some(b)) => bislerp(&a, &b, e),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => return axis,
            };
            let f = q.column(0);
            [f[0], f[1], f[2]]
        })
        .collect())
}

/// The helix angle (degrees) of `fibre` in a wall with transmural
/// direction `n` (outward) and long axis `axis` (base to apex): the angle
/// from the circumferential direction `axis × n`… measured towards the
/// base, as in histology (positive: right-handed helix at the
/// endocardium).
#[must_use]
pub fn helix_angle(fibre: [f64; 3], n: [f64; 3], axis: [f64; 3]) -> f64 {
    let n = unit(n);
    let up = unit(axis.map(|x| -x));
    let l = unit(sub(up, n.map(|x| x * dot(up, n))));
    let c = cross(l, n);
    let f = sub(fibre, n.map(|x| x * dot(fibre, n)));
    let mut h = dot(f, l).atan2(dot(f, c)).to_degrees();
    // A fibre has no sign: fold into (−90°, 90°].
    if h > 90.0 {
        h -= 180.0;
    } else if h <= -90.0 {
        h += 180.0;
    }
    h
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
        let n = mesh.nodes.len();
        let f = Fields {
            epi: vec![0.5; n],
            lv: vec![0.5; n],
            rv: vec![0.0; n],
            base: vec![0.5; n],
        };
        let a = Angles {
            alpha_endo: 120.0,
            ..Angles::default()
        };
        let err = ldrb(&mesh, &f, &a, [0.0, 0.0, 1.0]).unwrap_err();
        assert!(err.to_string().contains("endocardial helix angle"));
    }

    #[test]
    fn bislerp_ignores_the_axes_signs() {
        let a = Matrix3::identity();
        // The same frame with two axes flipped: no rotation between them.
        let b = Matrix3::new(1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, -1.0);
        let m = bislerp(&a, &b, 0.5);
        assert!((m[(0, 0)].abs() - 1.0).abs() < 1e-9, "{m}");
        // A 90° turn about z: halfway is 45°.
        let c = Matrix3::new(0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0);
        let m = bislerp(&a, &c, 0.5);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!(
            (m[(0, 0)].abs() - h).abs() < 1e-9 && (m[(1, 0)].abs() - h).abs() < 1e-9,
            "{m}"
        );
    }

    #[test]
    fn orient_turns_the_fibre_by_the_helix_angle() {
        let q = frame([0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]).unwrap();
        let m = orient(&q, 30f64.to_radians(), 0.0);
        let f = [m[(0, 0)], m[(1, 0)], m[(2, 0)]];
        // Wall normal x, base up (+z, axis −z): helix angle +30°.
        let h = helix_angle(f, [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]);
        assert!((h - 30.0).abs() < 1e-9, "{h}");
    }
}
