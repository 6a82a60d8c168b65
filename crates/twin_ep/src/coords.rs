//! Ventricular coordinates and the AHA 17 segments.
//!
//! - apex–base `z`: 0 on the base, 1 at the LV apex — the shortest edge
//!   distance from the base nodes, divided by the LV apex's;
//! - transmural `e`: 0 on the endocardium, 1 on the epicardium — the
//!   Laplace field `φ_epi` of the LDRB fibres ([`crate::fibres::Fields`]);
//! - rotational `θ` (radians, −π..π) around the LV's long axis: 0 at the
//!   septum's centre (towards the RV's cavity), +π/2 anterior, ±π lateral,
//!   −π/2 inferior;
//! - side: LV (the LV wall and septum) or RV (the RV free wall).
//!
//! The apex–base coordinate is a distance along the mesh rather than
//! the Laplace field of Bayer et al. (2018, "universal ventricular
//! coordinates"): a Laplace field between the base and an apex point is
//! bunched near the apex, and the AHA levels are thirds of the length
//! (docs/models/ep.md).

use crate::EpError;
use crate::eikonal::{Conduction, Graph, Source};
use crate::mesh::{TetMesh, cross, dot, label, sub, tag, unit};

/// Ventricular coordinates of every node.
#[derive(Debug, Clone)]
pub struct Coordinates {
    pub apex_base: Vec<f64>,
    pub transmural: Vec<f64>,
    pub rotation: Vec<f64>,
    /// Whether the node is on the LV side (LV wall or septum).
    pub lv: Vec<bool>,
    /// Unit long axis, base to apex.
    pub axis: [f64; 3],
    /// A point on the LV's axis (its endocardium's centroid).
    pub centre: [f64; 3],
    /// The LV apex node.
    pub apex: usize,
    /// The Laplace fields of the LDRB fibres.
    pub fields: crate::fibres::Fields,
}

fn mean(mesh: &TetMesh, nodes: &[usize]) -> [f64; 3] {
    let mut c = [0.0; 3];
    for &v in nodes {
        for (ci, pi) in c.iter_mut().zip(mesh.nodes[v]) {
            *ci += pi / nodes.len() as f64;
        }
    }
    c
}

/// The coordinates of `mesh` (its base, LV and RV endocardium and
/// epicardium tagged), `anterior` the patient's anterior direction in the
/// mesh's frame (LPS: `[0, −1, 0]`).
///
/// # Errors
/// A tagged surface is missing.
pub fn ventricular(mesh: &TetMesh, anterior: [f64; 3]) -> Result<Coordinates, EpError> {
    let lv_endo = mesh.tagged(tag::LV_ENDO);
    let rv_endo = mesh.tagged(tag::RV_ENDO);
    let base = mesh.tagged(tag::BASE);
    for (nodes, what) in [
        (&lv_endo, "LV endocardial"),
        (&rv_endo, "RV endocardial"),
        (&base, "base"),
    ] {
        if nodes.is_empty() {
            return Err(EpError::input(format!("the mesh has no {what} nodes")));
        }
    }
    let mut lv = vec![false; mesh.nodes.len()];
    for (t, nodes) in mesh.tets.iter().enumerate() {
        if mesh.region[t] != label::RV_WALL {
            for &v in nodes {
                lv[v as usize] = true;
            }
        }
    }
    let epi = mesh.tagged(tag::EPI);
    if epi.is_empty() {
        return Err(EpError::input("the mesh has no epicardial nodes"));
    }
    // Distances along the mesh's edges (a unit velocity).
    let graph = Graph::new(mesh, &Conduction::isotropic(mesh, 1.0)?);
    let src: Vec<Source> = base
        .iter()
        .map(|&node| Source { node, time: 0.0 })
        .collect();
    let from_base = graph.activation(mesh, &src)?;
    let apex = lv_endo
        .iter()
        .copied()
        .filter(|&v| from_base[v].is_finite())
        .max_by(|&a, &b| from_base[a].total_cmp(&from_base[b]))
        .ok_or_else(|| EpError::input("no LV endocardial node is reached from the base"))?;
    let depth = from_base[apex];
    // The epicardial apex (within 1 mm of the epicardium's farthest node
    // from the base) holds the LDRB apex–base field at 0.
    let epi_far = epi
        .iter()
        .filter(|&&v| from_base[v].is_finite())
        .map(|&v| from_base[v])
        .fold(0.0, f64::max);
    let epi_apex: Vec<usize> = epi
        .into_iter()
        .filter(|&v| from_base[v].is_finite() && from_base[v] >= epi_far - 1.0)
        .collect();
    let fields = crate::fibres::laplace_fields(mesh, &epi_apex)?;
    let apex_base = from_base
        .iter()
        .map(|d| {
            if d.is_finite() {
                (d / depth).min(1.0)
            } else {
                0.0
            }
        })
        .collect();
    // The LV's own base (the RV's would pull the axis towards it).
    let lv_base: Vec<usize> = base.iter().copied().filter(|&v| lv[v]).collect();
    let base_centre = mean(mesh, if lv_base.is_empty() { &base } else { &lv_base });
    let axis = unit(sub(mesh.nodes[apex], base_centre));
    let centre = mean(mesh, &lv_endo);
    let flat = |v: [f64; 3]| {
        let d = sub(v, centre);
        let along = dot(d, axis);
        [
            d[0] - along * axis[0],
            d[1] - along * axis[1],
            d[2] - along * axis[2],
        ]
    };
    let septum = unit(flat(mean(mesh, &rv_endo)));
    let a = flat([
        centre[0] + anterior[0],
        centre[1] + anterior[1],
        centre[2] + anterior[2],
    ]);
    // The anterior reference made square to the septum, on its side.
    let mut front = unit(sub(a, septum.map(|s| s * dot(a, septum))));
    if dot(front, front) < 0.5 {
        front = unit(cross(axis, septum));
    }
    let rotation = mesh
        .nodes
        .iter()
        .map(|&p| {
            let r = flat(p);
            dot(r, front).atan2(dot(r, septum))
        })
        .collect();
    Ok(Coordinates {
        apex_base,
        transmural: fields.epi.clone(),
        rotation,
        lv,
        axis,
        centre,
        apex,
        fields,
    })
}

/// The AHA segment (1–17) of an LV node at apex–base `z` and rotation
/// `θ`: basal (1–6), mid (7–12) and apical (13–16) thirds of the LV's
/// length and the apex cap (17, beyond 90 %); 60° sectors at the base and
/// mid level (anterior, anteroseptal, inferoseptal, inferior,
/// inferolateral, anterolateral), 90° at the apical level (anterior,
/// septal, inferior, lateral).
#[must_use]
pub fn aha_segment(z: f64, theta: f64) -> u8 {
    let deg = theta.to_degrees();
    // 0° septum centre, +90° anterior, ±180° lateral, −90° inferior.
    let sector6 = |offset: u8| -> u8 {
        let s = if (60.0..120.0).contains(&deg) {
            0 // anterior
        } else if (0.0..60.0).contains(&deg) {
            1 // anteroseptal
        } else if (-60.0..0.0).contains(&deg) {
            2 // inferoseptal
        } else if (-120.0..-60.0).contains(&deg) {
            3 // inferior
        } else if deg < -120.0 {
            4 // inferolateral
        } else {
            5 // anterolateral
        };
        offset + s
    };
    if z >= 0.9 {
        17
    } else if z < 1.0 / 3.0 {
        sector6(1)
    } else if z < 2.0 / 3.0 {
        sector6(7)
    } else if (45.0..135.0).contains(&deg) {
        13
    } else if (-45.0..45.0).contains(&deg) {
        14
    } else if (-135.0..-45.0).contains(&deg) {
        15
    } else {
        16
    }
}

impl Coordinates {
    /// The node nearest to the coordinates `(z, e, θ)` on the given side
    /// among `candidates` (a surface's nodes, say), by the distance in
    /// coordinate space (θ scaled by the radius ≈ 1/π).
    #[must_use]
    pub fn nearest(
        &self,
        candidates: &[usize],
        lv: bool,
        z: f64,
        e: f64,
        theta: f64,
    ) -> Option<usize> {
        let d = |v: usize| {
            let mut dt = (self.rotation[v] - theta).abs();
            if dt > std::f64::consts::PI {
                dt = 2.0 * std::f64::consts::PI - dt;
            }
            (self.apex_base[v] - z).powi(2)
                + (self.transmural[v] - e).powi(2)
                + (dt / std::f64::consts::PI).powi(2)
        };
        candidates
            .iter()
            .copied()
            .filter(|&v| self.lv[v] == lv)
            .min_by(|&a, &b| d(a).total_cmp(&d(b)))
    }

    /// The AHA segment of every LV node (0 for RV nodes).
    #[must_use]
    pub fn aha(&self) -> Vec<u8> {
        (0..self.lv.len())
            .map(|v| {
                if self.lv[v] {
                    aha_segment(self.apex_base[v], self.rotation[v])
                } else {
                    0
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aha_segments_follow_the_bullseye() {
        let r = f64::to_radians;
        assert_eq!(aha_segment(0.1, r(90.0)), 1);
        assert_eq!(aha_segment(0.1, r(30.0)), 2);
        assert_eq!(aha_segment(0.1, r(-30.0)), 3);
        assert_eq!(aha_segment(0.1, r(-90.0)), 4);
        assert_eq!(aha_segment(0.1, r(-150.0)), 5);
        assert_eq!(aha_segment(0.1, r(150.0)), 6);
        assert_eq!(aha_segment(0.5, r(90.0)), 7);
        assert_eq!(aha_segment(0.5, r(180.0)), 12);
        assert_eq!(aha_segment(0.8, r(90.0)), 13);
        assert_eq!(aha_segment(0.8, r(0.0)), 14);
        assert_eq!(aha_segment(0.8, r(-90.0)), 15);
        assert_eq!(aha_segment(0.8, r(179.0)), 16);
        assert_eq!(aha_segment(0.95, 0.0), 17);
    }
}
