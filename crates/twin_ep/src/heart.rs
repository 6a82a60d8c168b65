//! The patient's ventricles as an EP model: tissue, rhythm (sinus, bundle
//! branch block, pacing leads), scar and ablation, and the outputs a
//! clinician reads — total activation time (the QRS proxy), LV and RV
//! activation times, the LV–RV delay, the AHA segments' mean activation,
//! the electrical delay at an LV lead (QLV) — and each ventricle's
//! activation spread that drives its contraction in the circulation.

use serde::{Deserialize, Serialize};

use crate::EpError;
use crate::coords::{Coordinates, ventricular};
use crate::eikonal::{Conduction, Source, activation};
use crate::fibres::{Angles, ldrb};
use crate::mesh::{TetMesh, dist, dot, sub, tag};

/// Conduction of the tissue (m/s) and the fibres' helix angles (degrees).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tissue {
    /// Along the fibres (Taggart et al. 2000: about 0.6 m/s).
    pub fibre_velocity: f64,
    /// Across the fibres (about 0.24 m/s, anisotropy 2.5 : 1).
    pub cross_velocity: f64,
    /// The Purkinje-like fast endocardial layer (the tetrahedra touching
    /// an endocardium), isotropic.
    pub endocardial_velocity: f64,
    /// The LDRB fibre angles (Bayer et al. 2012: helix +40°/−50°, sheet
    /// −65°/+25° from endocardium to epicardium).
    pub fibre_angles: Angles,
    /// Scars: no conduction inside, a slowed border zone around.
    pub scars: Vec<Scar>,
    /// Ablation lines: the tissue they cross does not conduct.
    pub ablations: Vec<Ablation>,
}

impl Default for Tissue {
    fn default() -> Self {
        Self {
            fibre_velocity: 0.6,
            cross_velocity: 0.24,
            endocardial_velocity: 2.0,
            fibre_angles: Angles::default(),
            scars: Vec::new(),
            ablations: Vec::new(),
        }
    }
}

/// A scar: a ball of non-conducting tissue and a border zone around it
/// conducting at `border_factor` of the healthy velocities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scar {
    pub centre: [f64; 3],
    pub radius_mm: f64,
    pub border_mm: f64,
    pub border_factor: f64,
}

/// An ablation line: a lesion of `radius_mm` around a polyline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ablation {
    pub points: Vec<[f64; 3]>,
    pub radius_mm: f64,
}

/// A block of a bundle branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Block {
    #[default]
    None,
    /// Left bundle branch block: the LV's early sites and its fast
    /// endocardial layer lost.
    Lbbb,
    /// Right bundle branch block: the RV's.
    Rbbb,
}

/// A pacing lead at `position` (mm; the nearest node paces) firing
/// `delay_ms` after the rhythm's zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub name: String,
    pub position: [f64; 3],
    pub delay_ms: f64,
}

impl Lead {
    #[must_use]
    pub fn new(name: &str, position: [f64; 3], delay_ms: f64) -> Self {
        Self {
            name: name.to_owned(),
            position,
            delay_ms,
        }
    }
}

/// The rhythm: the intrinsic conduction (unless it is preempted by
/// pacing) through the bundle branches that are not blocked, and leads.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Rhythm {
    pub block: Block,
    /// Time of the intrinsic activation's earliest sites (ms after the
    /// rhythm's zero); `None`: fully paced, no intrinsic conduction.
    pub intrinsic_ms: Option<f64>,
    pub leads: Vec<Lead>,
}

impl Rhythm {
    /// Sinus rhythm with the conduction system intact.
    #[must_use]
    pub fn sinus() -> Self {
        Self {
            block: Block::None,
            intrinsic_ms: Some(0.0),
            leads: Vec::new(),
        }
    }

    /// Sinus rhythm with a blocked bundle branch.
    #[must_use]
    pub fn blocked(block: Block) -> Self {
        Self {
            block,
            ..Self::sinus()
        }
    }

    /// Biventricular pacing (CRT) of a heart with `block`: no intrinsic
    /// conduction, an RV lead at `rv` and an LV lead at `lv` firing
    /// `vv_delay_ms` after it.
    #[must_use]
    pub fn crt(block: Block, rv: [f64; 3], lv: [f64; 3], vv_delay_ms: f64) -> Self {
        Self {
            block,
            intrinsic_ms: None,
            leads: vec![Lead::new("RV", rv, 0.0), Lead::new("LV", lv, vv_delay_ms)],
        }
    }
}

/// In words, for tables and reports (e.g. `LBBB, paced: RV at 0 ms, LV
/// at +20 ms`).
impl std::fmt::Display for Rhythm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let block = match self.block {
            Block::None => None,
            Block::Lbbb => Some("LBBB"),
            Block::Rbbb => Some("RBBB"),
        };
        match (self.intrinsic_ms, block) {
            (Some(_), None) => f.write_str("sinus rhythm")?,
            (Some(_), Some(b)) => f.write_str(b)?,
            (None, None) => f.write_str("no intrinsic conduction")?,
            (None, Some(b)) => write!(f, "{b}, no intrinsic conduction")?,
        }
        if !self.leads.is_empty() {
            f.write_str(", paced: ")?;
            for (i, l) in self.leads.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{} at {:+.0} ms", l.name, l.delay_ms)?;
            }
        }
        Ok(())
    }
}

/// The activation of the ventricles and what is read from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activation {
    /// Per node (ms after the rhythm's zero; ∞ where isolated).
    pub times: Vec<f64>,
    /// Earliest activation (the QRS onset), ms.
    pub onset_ms: f64,
    #[serde(flatten)]
    pub summary: Summary,
}

/// What a clinician reads of an activation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The total activation time (latest − earliest: the QRS duration's
    /// proxy), ms.
    pub total_ms: f64,
    /// Each ventricle's own activation time (its latest − its earliest).
    pub lv_total_ms: f64,
    pub rv_total_ms: f64,
    /// Mean LV activation − mean RV activation (ms, volume-weighted).
    pub lv_rv_delay_ms: f64,
    /// Mean activation time of each AHA segment (1–17) after the onset.
    pub aha_ms: Vec<f64>,
    /// Nodes the wave never reached (isolated by scar or ablation).
    pub unreached: usize,
}

/// The patient's ventricles ready for EP: the mesh, its coordinates, its
/// fibres and each node's share of the volume.
#[derive(Debug, Clone)]
pub struct Heart {
    pub mesh: TetMesh,
    pub coords: Coordinates,
    /// Each node's lumped volume (mm³): a quarter of its tetrahedra's.
    pub node_volume: Vec<f64>,
    /// Fibres of the default angles, computed once.
    fibres: (Angles, Vec<[f64; 3]>),
}

/// How far (mm) a lead may sit from the nearest node of the mesh.
pub const MAX_LEAD_OFFSET_MM: f64 = 10.0;

/// Durrer et al. (1970) earliest LV sites in ventricular coordinates
/// (apex–base, rotation in degrees): mid septum, high anterior
/// paraseptal, low posterior (inferior) paraseptal.
const LV_ROOTS: [(f64, f64); 3] = [(0.5, 0.0), (0.3, 60.0), (0.67, -60.0)];
/// The RV's earliest site: the free wall near the anterior papillary
/// muscle's insertion, mid-ventricle, 5 ms after the LV's.
const RV_ROOT: (f64, f64, f64) = (0.5, 30.0, 5.0);

impl Heart {
    /// # Errors
    /// The mesh lacks a tagged surface.
    pub fn new(mesh: TetMesh, anterior: [f64; 3]) -> Result<Self, EpError> {
        let coords = ventricular(&mesh, anterior)?;
        let mut node_volume = vec![0.0; mesh.nodes.len()];
        for (t, nodes) in mesh.tets.iter().enumerate() {
            let v = mesh.signed_volume(t) / 4.0;
            for &n in nodes {
                node_volume[n as usize] += v;
            }
        }
        let angles = Angles::default();
        let fibres = ldrb(&mesh, &coords.fields, &angles, coords.axis)?;
        Ok(Self {
            mesh,
            coords,
            node_volume,
            fibres: (angles, fibres),
        })
    }

    /// The fibre of every tetrahedron at the default (published) angles.
    #[must_use]
    pub fn fibres(&self) -> &[[f64; 3]] {
        &self.fibres.1
    }

    /// The conduction of `tissue` under `block`.
    ///
    /// # Errors
    /// A velocity that is not a positive number of m/s, a fibre angle
    /// beyond ±90°, a scar or lesion of negative size.
    pub fn conduction(&self, tissue: &Tissue, block: Block) -> Result<Conduction, EpError> {
        let mesh = &self.mesh;
        let computed;
        let fibres = if tissue.fibre_angles == self.fibres.0 {
            &self.fibres.1
        } else {
            computed = ldrb(
                mesh,
                &self.coords.fields,
                &tissue.fibre_angles,
                self.coords.axis,
            )?;
            &computed
        };
        let mut c =
            Conduction::with_fibres(mesh, fibres, tissue.fibre_velocity, tissue.cross_velocity)?;
        let fast = tissue.endocardial_velocity;
        for (t, nodes) in mesh.tets.iter().enumerate() {
            let tags = nodes.iter().fold(0, |a, &v| a | mesh.tags[v as usize]);
            let lv_side = nodes.iter().all(|&v| self.coords.lv[v as usize]);
            let lv_layer = tags & tag::LV_ENDO != 0 && lv_side && block != Block::Lbbb;
            let rv_layer = tags & tag::RV_ENDO != 0
                && !(lv_side && tags & tag::LV_ENDO != 0)
                && block != Block::Rbbb;
            if lv_layer || rv_layer {
                c.set(t, [1.0, 0.0, 0.0], fast, fast)?;
            }
        }
        for s in &tissue.scars {
            if !(s.radius_mm >= 0.0
                && s.border_mm >= 0.0
                && s.border_factor > 0.0
                && s.border_factor <= 1.0)
            {
                return Err(EpError::input(format!(
                    "scar at {:?}: radius {} mm and border {} mm must be ≥ 0, the border's velocity factor within (0, 1], got {}",
                    s.centre, s.radius_mm, s.border_mm, s.border_factor
                )));
            }
            for t in 0..mesh.tets.len() {
                let d = dist(mesh.centroid(t), s.centre);
                if d <= s.radius_mm {
                    c.block(t);
                } else if d <= s.radius_mm + s.border_mm {
                    c.slow(t, s.border_factor)?;
                }
            }
        }
        for a in &tissue.ablations {
            if a.radius_mm.is_nan() || a.radius_mm <= 0.0 || a.points.is_empty() {
                return Err(EpError::input(format!(
                    "an ablation line needs points and a lesion radius > 0 mm, got {} points and {} mm",
                    a.points.len(),
                    a.radius_mm
                )));
            }
            for t in 0..mesh.tets.len() {
                let p = mesh.centroid(t);
                if polyline_distance(p, &a.points) <= a.radius_mm {
                    c.block(t);
                }
            }
        }
        Ok(c)
    }

    /// The node on `side`'s endocardium (`lv`) nearest to apex–base `z`
    /// and rotation `theta_deg`.
    fn endo_site(&self, lv: bool, z: f64, theta_deg: f64) -> Option<usize> {
        let bits = if lv { tag::LV_ENDO } else { tag::RV_ENDO };
        self.coords
            .nearest(&self.mesh.tagged(bits), lv, z, 0.0, theta_deg.to_radians())
    }

    /// The stimuli of `rhythm`.
    ///
    /// # Errors
    /// No stimulus at all (fully paced without leads), or a lead's delay
    /// that is not a finite number of ms.
    pub fn sources(&self, rhythm: &Rhythm) -> Result<Vec<Source>, EpError> {
        let mut out = Vec::new();
        if let Some(t0) = rhythm.intrinsic_ms {
            if rhythm.block != Block::Lbbb {
                for (z, th) in LV_ROOTS {
                    if let Some(node) = self.endo_site(true, z, th) {
                        out.push(Source { node, time: t0 });
                    }
                }
            }
            if rhythm.block != Block::Rbbb
                && let Some(node) = self.endo_site(false, RV_ROOT.0, RV_ROOT.1)
            {
                out.push(Source {
                    node,
                    time: t0 + RV_ROOT.2,
                });
            }
        }
        for lead in &rhythm.leads {
            if !lead.delay_ms.is_finite() {
                return Err(EpError::input(format!(
                    "lead `{}`: delay {} ms is not a number",
                    lead.name, lead.delay_ms
                )));
            }
            let node = self.mesh.nearest_node(lead.position);
            let off = dist(self.mesh.nodes[node], lead.position);
            if off > MAX_LEAD_OFFSET_MM {
                return Err(EpError::input(format!(
                    "lead `{}` at {:?} is {off:.0} mm from the heart (more than {MAX_LEAD_OFFSET_MM} mm)",
                    lead.name, lead.position
                )));
            }
            out.push(Source {
                node,
                time: lead.delay_ms,
            });
        }
        if out.is_empty() {
            return Err(EpError::input(
                "no stimulus: without intrinsic conduction the rhythm needs a pacing lead",
            ));
        }
        Ok(out)
    }

    /// Activation of `rhythm` in `tissue`.
    ///
    /// # Errors
    /// As [`Heart::conduction`] and [`Heart::sources`].
    pub fn activate(&self, tissue: &Tissue, rhythm: &Rhythm) -> Result<Activation, EpError> {
        let cond = self.conduction(tissue, rhythm.block)?;
        let sources = self.sources(rhythm)?;
        let times = activation(&self.mesh, &cond, &sources)?;
        Ok(self.measure(times))
    }

    /// The outputs of an activation map.
    #[must_use]
    pub fn measure(&self, times: Vec<f64>) -> Activation {
        let reached = |v: &usize| times[*v].is_finite();
        let range = |lv: Option<bool>| {
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for v in (0..times.len()).filter(reached) {
                if lv.is_none_or(|s| self.coords.lv[v] == s) {
                    lo = lo.min(times[v]);
                    hi = hi.max(times[v]);
                }
            }
            (lo, hi)
        };
        let (onset, last) = range(None);
        let (lv_lo, lv_hi) = range(Some(true));
        let (rv_lo, rv_hi) = range(Some(false));
        let mean = |lv: bool| {
            let (mut s, mut w) = (0.0, 0.0);
            for v in (0..times.len()).filter(reached) {
                if self.coords.lv[v] == lv {
                    s += times[v] * self.node_volume[v];
                    w += self.node_volume[v];
                }
            }
            s / w
        };
        let aha = self.coords.aha();
        let mut sums = [(0.0, 0.0); 17];
        for v in (0..times.len()).filter(reached) {
            if aha[v] > 0 {
                let slot = &mut sums[usize::from(aha[v]) - 1];
                slot.0 += (times[v] - onset) * self.node_volume[v];
                slot.1 += self.node_volume[v];
            }
        }
        let summary = Summary {
            total_ms: last - onset,
            lv_total_ms: lv_hi - lv_lo,
            rv_total_ms: rv_hi - rv_lo,
            lv_rv_delay_ms: mean(true) - mean(false),
            aha_ms: sums
                .iter()
                .map(|(s, w)| if *w > 0.0 { s / w } else { f64::NAN })
                .collect(),
            unreached: times.iter().filter(|t| !t.is_finite()).count(),
        };
        Activation {
            onset_ms: onset,
            summary,
            times,
        }
    }

    /// Each ventricle's activation delays after the onset with the
    /// volume activated at each (ms, mm³): what drives its contraction.
    #[must_use]
    pub fn delays(&self, act: &Activation, lv: bool) -> Vec<(f64, f64)> {
        (0..act.times.len())
            .filter(|&v| self.coords.lv[v] == lv && act.times[v].is_finite())
            .map(|v| (act.times[v] - act.onset_ms, self.node_volume[v]))
            .collect()
    }

    /// QLV: the intrinsic activation's delay (after its onset) at the node
    /// nearest to `position` — where an LV lead would sit.
    #[must_use]
    pub fn qlv_ms(&self, intrinsic: &Activation, position: [f64; 3]) -> f64 {
        intrinsic.times[self.mesh.nearest_node(position)] - intrinsic.onset_ms
    }

    /// A point on the epicardium (`lv`: the LV's free wall or septum side;
    /// else the RV free wall) or the endocardium nearest to ventricular
    /// coordinates `z`, `theta_deg`: where to put a lead.
    #[must_use]
    pub fn site(&self, lv: bool, endocardial: bool, z: f64, theta_deg: f64) -> Option<[f64; 3]> {
        let (bits, e) = match (endocardial, lv) {
            (true, true) => (tag::LV_ENDO, 0.0),
            (true, false) => (tag::RV_ENDO, 0.0),
            (false, _) => (tag::EPI, 1.0),
        };
        self.coords
            .nearest(&self.mesh.tagged(bits), lv, z, e, theta_deg.to_radians())
            .map(|v| self.mesh.nodes[v])
    }
}

/// Distance from `p` to a polyline (a single point when it has one).
fn polyline_distance(p: [f64; 3], pts: &[[f64; 3]]) -> f64 {
    if pts.len() == 1 {
        return dist(p, pts[0]);
    }
    pts.windows(2)
        .map(|w| {
            let e = sub(w[1], w[0]);
            let l2 = dot(e, e);
            let s = if l2 > 0.0 {
                (dot(sub(p, w[0]), e) / l2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            dist(
                p,
                [w[0][0] + s * e[0], w[0][1] + s * e[1], w[0][2] + s * e[2]],
            )
        })
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rhythms_read_in_words() {
        assert_eq!(Rhythm::sinus().to_string(), "sinus rhythm");
        assert_eq!(Rhythm::blocked(Block::Lbbb).to_string(), "LBBB");
        let crt = Rhythm::crt(Block::Lbbb, [0.0; 3], [1.0; 3], 20.0);
        assert_eq!(
            crt.to_string(),
            "LBBB, no intrinsic conduction, paced: RV at +0 ms, LV at +20 ms"
        );
    }

    #[test]
    fn polyline_distances() {
        let line = [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [10.0, 10.0, 0.0]];
        assert!((polyline_distance([5.0, 3.0, 0.0], &line) - 3.0).abs() < 1e-12);
        assert!((polyline_distance([12.0, 5.0, 0.0], &line) - 2.0).abs() < 1e-12);
        assert!((polyline_distance([-3.0, -4.0, 0.0], &line) - 5.0).abs() < 1e-12);
    }
}
