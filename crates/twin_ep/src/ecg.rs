//! The pseudo-ECG of an activation map.
//!
//! Each electrode's potential is the lead-field integral of Gima & Rudy
//! (2002, *Circ Res* 90:889) in an infinite homogeneous conductor,
//! `φ(e) = −k ∫ ∇V_m · ∇(1/|x − e|) dV`, with `V_m(x, t)` one fixed
//! action-potential template started at each node's activation time. On
//! linear tetrahedra `∇V_m` is constant per tetrahedron, so the integral
//! collapses to a weight per node and electrode (`φ(e, t) = Σ L_n·V_n(t)`),
//! computed once per mesh and electrode set. Amplitudes are relative
//! (`k = 1/4π`, equal intra- and extracellular conductivities); the
//! shapes, polarities and timings are what the model gives.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::EpError;
use crate::mesh::{TetMesh, cross, dot, sub};

/// The nine electrodes of a 12-lead ECG (patient LPS mm).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Electrodes {
    pub ra: [f64; 3],
    pub la: [f64; 3],
    pub ll: [f64; 3],
    /// V1–V6.
    pub chest: [[f64; 3]; 6],
}

impl Electrodes {
    /// A standard placement around a heart whose LV centre is `c` (LPS):
    /// the limb electrodes far (shoulders, left hip), the chest electrodes
    /// on an adult chest about 10 cm in front of and beside the heart (V1,
    /// V2 beside the sternum in the 4th intercostal space, V4 at the apex's
    /// level in the mid-clavicular line, V6 in the mid-axillary line).
    /// Without a torso model these are offsets from the heart, not the
    /// patient's skin.
    #[must_use]
    pub fn around(c: [f64; 3]) -> Self {
        let at = |d: [f64; 3]| [c[0] + d[0], c[1] + d[1], c[2] + d[2]];
        Self {
            ra: at([-250.0, 0.0, 300.0]),
            la: at([250.0, 0.0, 300.0]),
            ll: at([100.0, 0.0, -500.0]),
            chest: [
                at([-40.0, -100.0, 30.0]),
                at([0.0, -110.0, 30.0]),
                at([35.0, -110.0, 0.0]),
                at([65.0, -100.0, -20.0]),
                at([105.0, -70.0, -20.0]),
                at([130.0, -20.0, -20.0]),
            ],
        }
    }

    fn all(&self) -> [[f64; 3]; 9] {
        let [v1, v2, v3, v4, v5, v6] = self.chest;
        [self.ra, self.la, self.ll, v1, v2, v3, v4, v5, v6]
    }
}

/// The action-potential template: rest, plateau, upstroke and
/// repolarisation widths (mV, ms), and the action-potential duration as a
/// function of activation time (later activated cells repolarise sooner:
/// `APD = apd_ms − apd_slope·(t_act − onset)`, not below `apd_min_ms`;
/// the activation–recovery interval falls about 1 ms per ms of later
/// activation in human ventricles, Franz et al. 1987, so that in sinus
/// rhythm recovery runs against activation and T waves are concordant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Template {
    pub rest_mv: f64,
    pub plateau_mv: f64,
    pub upstroke_ms: f64,
    pub repolarisation_ms: f64,
    pub apd_ms: f64,
    pub apd_slope: f64,
    pub apd_min_ms: f64,
}

impl Default for Template {
    fn default() -> Self {
        Self {
            rest_mv: -85.0,
            plateau_mv: 20.0,
            upstroke_ms: 1.0,
            repolarisation_ms: 15.0,
            apd_ms: 270.0,
            apd_slope: 1.1,
            apd_min_ms: 180.0,
        }
    }
}

impl Template {
    /// The depolarised share (0 at rest, 1 on the plateau) `tau` ms after
    /// activation for an action potential of `apd` ms.
    fn share(&self, tau: f64, apd: f64) -> f64 {
        let up = if tau < -6.0 * self.upstroke_ms {
            0.0
        } else if tau > 6.0 * self.upstroke_ms {
            1.0
        } else {
            0.5 * (1.0 + (tau / self.upstroke_ms).tanh())
        };
        let r = (tau - apd) / self.repolarisation_ms;
        let down = if r < -6.0 {
            0.0
        } else if r > 6.0 {
            1.0
        } else {
            0.5 * (1.0 + r.tanh())
        };
        up * (1.0 - down)
    }
}

/// Each electrode's weight of every node's transmembrane potential.
#[derive(Debug, Clone)]
pub struct LeadField {
    weights: Vec<Vec<f64>>,
}

impl LeadField {
    /// The lead field of `mesh` for `electrodes` (none may lie in the
    /// heart).
    ///
    /// # Errors
    /// An electrode within 1 mm of a tetrahedron's centre.
    pub fn new(mesh: &TetMesh, electrodes: &Electrodes) -> Result<Self, EpError> {
        let all = electrodes.all();
        let weights = all
            .par_iter()
            .map(|&e| {
                let mut w = vec![0.0; mesh.nodes.len()];
                for (t, nodes) in mesh.tets.iter().enumerate() {
                    let c = mesh.centroid(t);
                    let d = sub(c, e);
                    let r2 = dot(d, d);
                    if r2 < 1.0 {
                        return Err(EpError::input(format!(
                            "an electrode at {e:?} lies inside the heart"
                        )));
                    }
                    // −k·V·∇(1/r) with ∇ₓ(1/|x − e|) = −(x − e)/r³.
                    let k = 1.0 / (4.0 * std::f64::consts::PI);
                    let vol = mesh.signed_volume(t);
                    let g = d.map(|x| k * vol * x / (r2 * r2.sqrt()));
                    for (n, grad) in nodes.iter().zip(shape_gradients(mesh, t)) {
                        w[*n as usize] += dot(g, grad);
                    }
                }
                Ok(w)
            })
            .collect::<Result<Vec<_>, EpError>>()?;
        Ok(Self { weights })
    }
}

/// The gradients of a linear tetrahedron's four shape functions.
fn shape_gradients(mesh: &TetMesh, t: usize) -> [[f64; 3]; 4] {
    let [a, b, c, d] = mesh.tets[t].map(|v| mesh.nodes[v as usize]);
    let (e1, e2, e3) = (sub(b, a), sub(c, a), sub(d, a));
    let det = dot(e1, cross(e2, e3));
    let gb = cross(e2, e3).map(|x| x / det);
    let gc = cross(e3, e1).map(|x| x / det);
    let gd = cross(e1, e2).map(|x| x / det);
    let ga = [0, 1, 2].map(|i| -(gb[i] + gc[i] + gd[i]));
    [ga, gb, gc, gd]
}

/// The twelve leads over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ecg {
    /// Sample times (ms, the activation's clock).
    pub t_ms: Vec<f64>,
    /// `I, II, III, aVR, aVL, aVF, V1 … V6`, relative units.
    pub leads: Vec<(String, Vec<f64>)>,
}

/// The lead names in order.
pub const LEADS: [&str; 12] = [
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
];

impl Ecg {
    /// QRS onset and end (ms): where the root-mean-square of the twelve
    /// leads first rises above and last falls below 5 % of its peak before
    /// the earliest repolarisation (`window_ms` after the first sample).
    #[must_use]
    pub fn qrs(&self, window_ms: f64) -> Option<(f64, f64)> {
        let t0 = *self.t_ms.first()?;
        let rms: Vec<f64> = (0..self.t_ms.len())
            .map(|k| {
                (self.leads.iter().map(|(_, v)| v[k] * v[k]).sum::<f64>() / self.leads.len() as f64)
                    .sqrt()
            })
            .collect();
        let inside: Vec<usize> = (0..rms.len())
            .filter(|&k| self.t_ms[k] - t0 <= window_ms)
            .collect();
        let peak = inside.iter().map(|&k| rms[k]).fold(0.0, f64::max);
        if peak <= 0.0 {
            return None;
        }
        let above: Vec<usize> = inside
            .into_iter()
            .filter(|&k| rms[k] > 0.05 * peak)
            .collect();
        Some((self.t_ms[*above.first()?], self.t_ms[*above.last()?]))
    }

    /// The area (relative units·ms) of a lead between two times.
    #[must_use]
    pub fn area(&self, lead: &str, from_ms: f64, to_ms: f64) -> f64 {
        let (Some(v), Some(dt)) = (
            self.lead(lead),
            self.t_ms.get(1).zip(self.t_ms.first()).map(|(b, a)| b - a),
        ) else {
            return 0.0;
        };
        self.t_ms
            .iter()
            .zip(v)
            .filter(|(t, _)| (from_ms..=to_ms).contains(*t))
            .map(|(_, x)| x * dt)
            .sum()
    }

    /// One lead by name.
    #[must_use]
    pub fn lead(&self, name: &str) -> Option<&[f64]> {
        self.leads
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// The ECG of activation `times` (ms; ∞ = never activated) every `dt_ms`
/// from 10 ms before the earliest activation to 150 ms after the latest
/// repolarisation.
///
/// # Errors
/// A step that is not positive, or no activated node.
pub fn ecg(
    field: &LeadField,
    times: &[f64],
    template: &Template,
    dt_ms: f64,
) -> Result<Ecg, EpError> {
    if !(dt_ms.is_finite() && dt_ms > 0.0) {
        return Err(EpError::input(format!(
            "ECG step must be positive ms, got {dt_ms}"
        )));
    }
    let active: Vec<usize> = (0..times.len()).filter(|&n| times[n].is_finite()).collect();
    if active.is_empty() {
        return Err(EpError::input("no node is activated"));
    }
    let onset = active
        .iter()
        .map(|&n| times[n])
        .fold(f64::INFINITY, f64::min);
    let apd: Vec<f64> = active
        .iter()
        .map(|&n| {
            (template.apd_ms - template.apd_slope * (times[n] - onset)).max(template.apd_min_ms)
        })
        .collect();
    let end = active
        .iter()
        .zip(&apd)
        .map(|(&n, a)| times[n] + a)
        .fold(f64::NEG_INFINITY, f64::max)
        + 150.0;
    let start = onset - 10.0;
    let samples = ((end - start) / dt_ms).ceil() as usize + 1;
    let amplitude = template.plateau_mv - template.rest_mv;
    // Electrode potentials per sample (rest contributes nothing: the
    // weights of a mesh sum to zero for a uniform potential).
    let potentials: Vec<[f64; 9]> = (0..samples)
        .into_par_iter()
        .map(|k| {
            let t = start + k as f64 * dt_ms;
            let mut phi = [0.0; 9];
            for (i, &n) in active.iter().enumerate() {
                let s = template.share(t - times[n], apd[i]);
                if s != 0.0 {
                    for (p, w) in phi.iter_mut().zip(&field.weights) {
                        *p += w[n] * s * amplitude;
                    }
                }
            }
            phi
        })
        .collect();
    let lead = |f: &dyn Fn(&[f64; 9]) -> f64| potentials.iter().map(f).collect::<Vec<f64>>();
    let wct = |p: &[f64; 9]| (p[0] + p[1] + p[2]) / 3.0;
    let mut leads = vec![
        ("I".to_owned(), lead(&|p| p[1] - p[0])),
        ("II".to_owned(), lead(&|p| p[2] - p[0])),
        ("III".to_owned(), lead(&|p| p[2] - p[1])),
        ("aVR".to_owned(), lead(&|p| p[0] - 0.5 * (p[1] + p[2]))),
        ("aVL".to_owned(), lead(&|p| p[1] - 0.5 * (p[0] + p[2]))),
        ("aVF".to_owned(), lead(&|p| p[2] - 0.5 * (p[0] + p[1]))),
    ];
    for v in 0..6 {
        leads.push((format!("V{}", v + 1), lead(&|p| p[3 + v] - wct(p))));
    }
    Ok(Ecg {
        t_ms: (0..samples).map(|k| start + k as f64 * dt_ms).collect(),
        leads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eikonal::{Conduction, Source, activation};

    #[test]
    fn a_wave_towards_an_electrode_is_a_positive_deflection() {
        // A 20 × 6 × 6 mm slab activated from its x = 0 face: the
        // electrode ahead (+x) sees the depolarisation coming, the one
        // behind sees it leave.
        let mesh = TetMesh::block([40, 12, 12], [20.0, 6.0, 6.0]).unwrap();
        let cond = Conduction::isotropic(&mesh, 0.5).unwrap();
        let src: Vec<Source> = (0..mesh.nodes.len())
            .filter(|&n| mesh.nodes[n][0] < 1e-9)
            .map(|node| Source { node, time: 0.0 })
            .collect();
        let times = activation(&mesh, &cond, &src).unwrap();
        let mut e = Electrodes::around([10.0, 3.0, 3.0]);
        e.chest[0] = [60.0, 3.0, 3.0];
        e.chest[1] = [-40.0, 3.0, 3.0];
        let field = LeadField::new(&mesh, &e).unwrap();
        // Repolarisation out of the window: depolarisation only.
        let template = Template {
            apd_ms: 500.0,
            apd_slope: 0.0,
            ..Template::default()
        };
        let ecg = ecg(&field, &times, &template, 1.0).unwrap();
        let during = |lead: &str| {
            let v = ecg.lead(lead).unwrap();
            ecg.t_ms
                .iter()
                .zip(v)
                .filter(|(t, _)| (5.0..35.0).contains(*t))
                .map(|(_, x)| *x)
                .collect::<Vec<f64>>()
        };
        // Raw electrode potentials: V1 − WCT and V2 − WCT share the WCT,
        // so their difference is the two electrodes' difference.
        let ahead: Vec<f64> = during("V1")
            .iter()
            .zip(during("V2"))
            .map(|(a, b)| a - b)
            .collect();
        assert!(ahead.iter().all(|v| *v > 0.0), "{ahead:?}");
        // Once all is depolarised the field vanishes.
        let v1 = ecg.lead("V1").unwrap();
        let after = ecg.t_ms.iter().position(|t| *t > 60.0).unwrap();
        let peak = v1.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        assert!(v1[after].abs() < 1e-3 * peak, "{} vs {peak}", v1[after]);
        // An electrode inside is refused.
        e.chest[2] = [10.0, 3.0, 3.0];
        assert!(LeadField::new(&mesh, &e).is_err());
    }
}
