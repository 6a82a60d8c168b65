//! Geyer & Herr (2010) reflex control of walking, per leg: a stance/swing
//! state machine on the leg's ground contact, muscle force and length
//! feedback through neural delays, trunk balance by the stance leg's hip
//! muscles, knee hyperextension prevention, swing initiation in double
//! support and swing-leg placement by the hip flexors, as SCONE lays it out
//! for its planar models (`GaitStateController` + `ReflexController`).
//!
//! Muscles are recognised by name (`hamstrings`, `bifemsh`, `glut_max`,
//! `iliopsoas`, `rect_fem`, `vasti`, `gastroc`, `soleus`, `tib_ant`, with
//! `_r`/`_l`); each also has a constant baseline excitation per phase.
//! The parameters are one vector ([`PARAMETERS`] names them); the
//! asymmetric variant has a second copy for the left leg.
//!
//! Geyer H, Herr H (2010). A muscle-reflex model that encodes principles
//! of legged mechanics produces human walking dynamics and muscle
//! activities. *IEEE TNSRE* 18:263–273.

use crate::forward::integrate::Controller;
use crate::forward::{Forces, Plant};

/// The muscles the controller knows, in parameter order.
pub const MUSCLES: [&str; 9] = [
    "hamstrings",
    "bifemsh",
    "glut_max",
    "iliopsoas",
    "rect_fem",
    "vasti",
    "gastroc",
    "soleus",
    "tib_ant",
];
const HAM: usize = 0;
const BFSH: usize = 1;
const GLU: usize = 2;
const HFL: usize = 3;
const VAS: usize = 5;
const GAS: usize = 6;
const SOL: usize = 7;
const TA: usize = 8;

/// One leg's parameters, with their meaning and Geyer & Herr's value
/// (gains on force are per F0; lengths in optimal fibre lengths; angles in
/// rad) as the starting point.
pub const PARAMETERS: [(&str, f64); 48] = [
    ("stance baseline HAM", 0.05),
    ("stance baseline BFSH", 0.02),
    ("stance baseline GLU", 0.05),
    ("stance baseline HFL", 0.05),
    ("stance baseline RF", 0.01),
    ("stance baseline VAS", 0.09),
    ("stance baseline GAS", 0.01),
    ("stance baseline SOL", 0.01),
    ("stance baseline TA", 0.01),
    ("swing baseline HAM", 0.01),
    ("swing baseline BFSH", 0.05),
    ("swing baseline GLU", 0.01),
    ("swing baseline HFL", 0.01),
    ("swing baseline RF", 0.01),
    ("swing baseline VAS", 0.01),
    ("swing baseline GAS", 0.01),
    ("swing baseline SOL", 0.01),
    ("swing baseline TA", 0.01),
    ("stance SOL force gain", 1.2),
    ("stance TA length gain", 1.1),
    ("TA length offset", 0.71),
    ("stance SOL→TA force inhibition", 0.3),
    ("stance GAS force gain", 1.1),
    ("stance VAS force gain", 1.15),
    ("knee hyperextension gain (per rad)", 2.0),
    ("knee flexion threshold (rad)", 0.05),
    ("VAS inhibition by the other leg's load (per BW)", 1.0),
    ("swing initiation step", 0.25),
    ("trunk lean gain kp (per rad)", 1.91),
    ("trunk rate gain kd (per rad/s)", 0.2),
    ("trunk reference lean (rad, forward)", 0.105),
    ("swing GLU force gain", 0.4),
    ("swing HAM force gain", 0.65),
    ("swing HFL length gain", 0.35),
    ("HFL length offset", 0.6),
    ("swing HAM→HFL length inhibition", 4.0),
    ("HAM length offset", 0.85),
    ("swing HFL lean gain", 1.15),
    ("swing TA length gain", 1.1),
    ("swing BFSH knee-rate gain (per rad/s)", 0.1),
    ("swing thigh target (rad from vertical, forward)", 0.40),
    (
        "swing thigh target per speed above 1.2 m/s (rad per m/s)",
        0.2,
    ),
    ("swing thigh placement kp (per rad)", 1.0),
    ("swing thigh placement kd (per rad/s)", 0.1),
    ("swing knee flexion target, early swing (rad)", 1.0),
    ("swing knee flexion target, late swing (rad)", 0.1),
    ("swing knee kp (per rad)", 1.0),
    ("late swing: thigh within this of its target (rad)", 0.15),
];

/// The range a search keeps parameter `i` of one leg in (SCONE's bounds
/// for its Geyer & Herr controller, `ControllerGH2010.scone`): baselines
/// within ±1, length offsets in [0, 2] optimal fibre lengths, the knee
/// thresholds and targets, trunk and thigh reference angles within their
/// physical span, gains within ±10.
#[must_use]
pub fn parameter_range(i: usize) -> (f64, f64) {
    match i % PARAMETERS.len() {
        0..=17 | 27 | 30 | 40 | 41 => (-1.0, 1.0),
        20 | 34 | 36 | 44 | 45 => (0.0, 2.0),
        25 | 47 => (0.0, 1.0),
        _ => (-10.0, 10.0),
    }
}

/// `params` with each parameter held within [`parameter_range`].
#[must_use]
pub fn clip(params: &[f64]) -> Vec<f64> {
    params
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let (lo, hi) = parameter_range(i);
            v.clamp(lo, hi)
        })
        .collect()
}

/// Foot load (per body weight) below which a stance leg lifts off, and
/// above which a swing leg ahead of the other lands.
const LIFTOFF_LOAD: f64 = 0.02;
const LANDING_LOAD: f64 = 0.1;

/// The names of a parameter vector of `len`: one leg's ([`PARAMETERS`]),
/// or, for the asymmetric controller, the right leg's then the left's.
#[must_use]
pub fn parameter_names(len: usize) -> Vec<String> {
    let names = PARAMETERS.map(|(n, _)| n);
    if len == 2 * names.len() {
        names
            .iter()
            .map(|s| format!("right: {s}"))
            .chain(names.iter().map(|s| format!("left: {s}")))
            .collect()
    } else {
        names.iter().map(|s| (*s).to_owned()).collect()
    }
}

/// Delays (s): hip muscles, knee muscles, ankle muscles (Geyer & Herr:
/// 5, 10 and 20 ms).
const DELAY: [f64; 9] = [
    0.005, 0.005, 0.005, 0.005, 0.005, 0.010, 0.020, 0.020, 0.020,
];

/// A sampled signal with its history for delayed reads.
#[derive(Debug, Clone, Default)]
struct Delayed {
    t: Vec<f64>,
    v: Vec<f64>,
}

impl Delayed {
    fn push(&mut self, t: f64, v: f64) {
        self.t.push(t);
        self.v.push(v);
        // Keep 60 ms.
        if self.t.len() > 256 && t - self.t[128] > 0.06 {
            self.t.drain(..128);
            self.v.drain(..128);
        }
    }
    fn at(&self, t: f64) -> f64 {
        let i = self.t.partition_point(|&x| x <= t);
        if i == 0 {
            return self.v.first().copied().unwrap_or(0.0);
        }
        if i >= self.t.len() {
            return self.v[self.v.len() - 1];
        }
        let (t0, t1) = (self.t[i - 1], self.t[i]);
        let w = if t1 > t0 { (t - t0) / (t1 - t0) } else { 1.0 };
        self.v[i - 1] + w * (self.v[i] - self.v[i - 1])
    }
}

#[derive(Debug, Clone)]
struct Leg {
    /// Index of each known muscle in the model (if present).
    muscles: [Option<usize>; 9],
    force: [Delayed; 9],
    length: [Delayed; 9],
    load: Delayed,
    knee: Option<usize>,
    knee_angle: Delayed,
    knee_rate: Delayed,
    hip: Option<usize>,
    /// The thigh's angle from the vertical (forward positive) and its rate.
    thigh: Delayed,
    thigh_rate: Delayed,
    contacts: Vec<usize>,
    stance: bool,
    /// Trunk lean when the leg took off (for swing placement).
    lean_at_takeoff: f64,
    /// When the leg last landed (at the start: the leg behind by more
    /// than 0.05 rad counts as the earlier).
    landed_at: Option<f64>,
}

/// The reflex controller of one model.
#[derive(Debug, Clone)]
pub struct Reflex {
    legs: [Leg; 2],
    params: [Vec<f64>; 2],
    trunk: Option<usize>,
    trunk_lean: Delayed,
    trunk_rate: Delayed,
    /// Forward speed of the pelvis.
    speed: Delayed,
    tilt: Option<usize>,
    tx: Option<usize>,
    weight: f64,
    excitation: Vec<f64>,
    /// Stop when the pelvis falls below this height (m).
    pub fall_height: f64,
    pelvis_ty: Option<usize>,
    /// Whether the simulation ended in a fall.
    pub fell: bool,
    now: f64,
}

impl Reflex {
    /// The controller for `plant` with one leg's parameter vector (both
    /// legs) or two (right then left, `params.len() == 2·PARAMETERS`).
    ///
    /// # Errors
    /// The parameter vector has the wrong length; the model lacks a torso
    /// or feet with contact spheres.
    pub fn new(plant: &Plant, params: &[f64]) -> Result<Self, crate::MskError> {
        let n = PARAMETERS.len();
        let (right, left) = match params.len() {
            l if l == n => (params.to_vec(), params.to_vec()),
            l if l == 2 * n => (params[..n].to_vec(), params[n..].to_vec()),
            l => {
                return Err(crate::MskError::format(format!(
                    "the reflex controller takes {n} or {} parameters, not {l}",
                    2 * n
                )));
            }
        };
        let m = &plant.model;
        let leg = |side: &str, index: usize| -> Leg {
            let muscles = MUSCLES.map(|name| {
                m.muscles
                    .iter()
                    .position(|mu| mu.name == format!("{name}_{side}"))
            });
            let contacts = (0..m.contacts.len())
                .filter(|&c| m.contact_side(c) == Some(index))
                .collect();
            Leg {
                muscles,
                force: Default::default(),
                length: Default::default(),
                load: Delayed::default(),
                knee: m.coordinate(&format!("knee_angle_{side}")),
                knee_angle: Delayed::default(),
                knee_rate: Delayed::default(),
                hip: m.coordinate(&format!("hip_flexion_{side}")),
                thigh: Delayed::default(),
                thigh_rate: Delayed::default(),
                contacts,
                stance: true,
                lean_at_takeoff: 0.0,
                landed_at: None,
            }
        };
        let legs = [leg("r", 0), leg("l", 1)];
        if legs.iter().any(|l| l.contacts.is_empty()) {
            return Err(crate::MskError::format(
                "the reflex controller needs contact spheres on both feet (bodies ending in _r and _l)",
            ));
        }
        let trunk = m.body("torso").or_else(|| m.body("pelvis"));
        Ok(Self {
            legs,
            params: [right, left],
            trunk,
            trunk_lean: Delayed::default(),
            trunk_rate: Delayed::default(),
            speed: Delayed::default(),
            tilt: m.coordinate("pelvis_tilt"),
            tx: m.coordinate("pelvis_tx"),
            weight: -m.mass() * m.gravity.y,
            excitation: vec![0.01; m.muscles.len()],
            fall_height: 0.6,
            pelvis_ty: m.coordinate("pelvis_ty"),
            fell: false,
            now: 0.0,
        })
    }

    fn sense(&mut self, plant: &Plant, t: f64, y: &[f64], forces: &Forces) {
        let s = plant.unpack(t, y);
        let poses = plant.model.body_poses(&s.q);
        // Trunk lean: the torso's forward rotation (−z in OpenSim's frame).
        let lean = self.trunk.map_or(0.0, |b| {
            let r = poses[b].rotation.to_rotation_matrix();
            -r[(1, 0)].atan2(r[(0, 0)])
        });
        let rate = {
            let last_t = self.trunk_lean.t.last().copied();
            let last_v = self.trunk_lean.v.last().copied();
            match (last_t, last_v) {
                (Some(t0), Some(v0)) if t > t0 => (lean - v0) / (t - t0),
                _ => 0.0,
            }
        };
        self.trunk_lean.push(t, lean);
        self.trunk_rate.push(t, rate);
        self.speed.push(t, self.tx.map_or(0.0, |k| s.u[k]));
        let (tilt, tilt_rate) = self.tilt.map_or((0.0, 0.0), |k| (s.q[k], s.u[k]));
        for leg in &mut self.legs {
            for (k, mi) in leg.muscles.iter().enumerate() {
                if let Some(i) = *mi {
                    let out = &forces.muscles[i];
                    let p = &plant.muscles[i].p;
                    leg.force[k].push(t, out.force / p.max_isometric_force);
                    leg.length[k].push(t, out.fiber_length / p.optimal_fiber_length);
                }
            }
            let load: f64 = leg
                .contacts
                .iter()
                .map(|&c| forces.contacts[c].0.y)
                .sum::<f64>()
                / self.weight;
            leg.load.push(t, load);
            if let Some(k) = leg.knee {
                leg.knee_angle.push(t, -s.q[k]);
                leg.knee_rate.push(t, -s.u[k]);
            }
            if let Some(k) = leg.hip {
                leg.thigh.push(t, tilt + s.q[k]);
                leg.thigh_rate.push(t, tilt_rate + s.u[k]);
            }
        }
    }

    #[allow(clippy::similar_names)]
    fn update(&mut self) {
        let t = self.now;
        let lean_s = self.trunk_lean.at(t - 0.005);
        let rate_s = self.trunk_rate.at(t - 0.005);
        let loads = [
            self.legs[0].load.at(t - 0.005),
            self.legs[1].load.at(t - 0.005),
        ];
        // State machine on the (current) ground contact.
        // Lift-off below 2 % of body weight; landing above 10 % with the
        // thigh ahead of the other one (or above half the body weight), so
        // a toe scuffing the ground behind the body early in swing does not
        // switch the leg to stance (SCONE's landing condition).
        let thighs = [self.legs[0].thigh.at(t), self.legs[1].thigh.at(t)];
        for (side, leg) in self.legs.iter_mut().enumerate() {
            let load = leg.load.at(t);
            let ahead = thighs[side] > thighs[1 - side];
            if leg.landed_at.is_none() {
                leg.landed_at = Some(if thighs[side] < thighs[1 - side] - 0.05 {
                    t - 1.0
                } else {
                    t
                });
            }
            if leg.stance && load < LIFTOFF_LOAD {
                leg.stance = false;
                leg.lean_at_takeoff = lean_s;
            } else if !leg.stance && load > LANDING_LOAD && (ahead || load > 0.5) {
                leg.stance = true;
                leg.landed_at = Some(t);
            }
        }
        let stance = [self.legs[0].stance, self.legs[1].stance];
        let landed = [self.legs[0].landed_at, self.legs[1].landed_at];
        for side in 0..2 {
            let p = &self.params[side];
            let leg = &self.legs[side];
            let other = 1 - side;
            let f = |k: usize| leg.force[k].at(t - DELAY[k]);
            let l = |k: usize| leg.length[k].at(t - DELAY[k]);
            let mut u = [0.0; 9];
            if leg.stance {
                u.copy_from_slice(&p[0..9]);
                u[SOL] += p[18] * f(SOL);
                u[TA] += p[19] * (l(TA) - p[20]).max(0.0) - p[21] * f(SOL);
                u[GAS] += p[22] * f(GAS);
                u[VAS] += p[23] * f(VAS);
                let knee = leg.knee_angle.at(t - 0.010);
                let knee_rate = leg.knee_rate.at(t - 0.010);
                if knee < p[25] && knee_rate < 0.0 {
                    u[VAS] -= p[24] * (p[25] - knee);
                }
                // Trunk balance by the stance hip, shared by load.
                let share = (loads[side] / (loads[0] + loads[1]).max(1e-6)).clamp(0.0, 1.0);
                let balance = (p[28] * (lean_s - p[30]) + p[29] * rate_s) * share;
                u[GLU] += balance;
                u[HAM] += balance;
                u[HFL] -= balance;
                // Double support, trailing leg (the one that landed
                // first): swing initiation.
                if stance[other] && landed[side] < landed[other] {
                    u[VAS] -= p[26] * loads[other];
                    u[HFL] += p[27];
                    u[GLU] -= p[27];
                }
            } else {
                u.copy_from_slice(&p[9..18]);
                u[GLU] += p[31] * f(GLU);
                u[HAM] += p[32] * f(HAM);
                u[HFL] += p[33] * (l(HFL) - p[34]).max(0.0) - p[35] * (l(HAM) - p[36]).max(0.0)
                    + p[37] * (leg.lean_at_takeoff - p[30]);
                u[TA] += p[38] * (l(TA) - p[20]).max(0.0);
                // The short head brakes knee extension at the end of swing
                // (on the extension rate; flexion rate would feed back
                // positively and fold the knee).
                u[BFSH] += p[39] * (-leg.knee_rate.at(t - 0.010)).max(0.0);
                // Swing-leg placement (Song & Geyer 2015): the thigh is
                // driven to a target angle that grows with the speed, by
                // the hip flexors forward and gluteus/hamstrings back.
                let target = p[40] + p[41] * (self.speed.at(t - 0.005) - 1.2);
                let pd = p[42] * (target - leg.thigh.at(t - 0.005))
                    - p[43] * leg.thigh_rate.at(t - 0.005);
                u[HFL] += pd.max(0.0);
                u[GLU] += (-pd).max(0.0);
                u[HAM] += (-pd).max(0.0);
                // Swing knee: towards a flexed knee for clearance, then,
                // once the thigh nears its target, an extended one for
                // landing; vasti extend, the short head flexes.
                let late = leg.thigh.at(t - 0.010) > target - p[47];
                let knee_target = if late { p[45] } else { p[44] };
                let knee_error = p[46] * (leg.knee_angle.at(t - 0.010) - knee_target);
                u[VAS] += knee_error.max(0.0);
                u[BFSH] += (-knee_error).max(0.0);
            }
            for (k, mi) in leg.muscles.iter().enumerate() {
                if let Some(i) = *mi {
                    self.excitation[i] = u[k].clamp(0.01, 1.0);
                }
            }
        }
    }
}

impl Controller for Reflex {
    fn excitations(&self, _t: f64, e: &mut [f64], controls: &mut [f64]) {
        e.copy_from_slice(&self.excitation);
        controls.fill(0.0);
    }

    fn continuous(&self) -> bool {
        false
    }

    fn step(&mut self, plant: &Plant, t: f64, y: &[f64], forces: &Forces) -> bool {
        self.now = t;
        self.sense(plant, t, y, forces);
        self.update();
        if let Some(i) = self
            .pelvis_ty
            .and_then(|k| plant.free.iter().position(|&f| f == k))
            && y[i] < self.fall_height
        {
            self.fell = true;
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delayed_signal_reads_its_past_and_forgets_beyond_its_window() {
        let mut d = Delayed::default();
        assert_eq!(
            d.at(1.0).to_bits(),
            0f64.to_bits(),
            "an empty signal reads 0"
        );
        for i in 0..=2000 {
            let t = f64::from(i) * 1e-3;
            d.push(t, 3.0 * t);
        }
        // Linear between samples: delayed reads within the kept 60 ms are
        // exact for a ramp.
        for t in [1.99, 1.9805, 1.999] {
            assert!((d.at(t - 0.02) - 3.0 * (t - 0.02)).abs() < 1e-12);
        }
        // Before the first kept sample: the oldest value; after: the last.
        assert!(d.t.len() < 400, "kept {} samples", d.t.len());
        assert!(d.t[0] <= 2.0 - 0.06, "the delay window was dropped");
        assert_eq!(d.at(10.0).to_bits(), 6f64.to_bits());
        assert_eq!(d.at(d.t[0] - 1.0).to_bits(), d.v[0].to_bits());
    }

    #[test]
    fn every_parameter_is_named_and_starts_finite() {
        let mut names: Vec<&str> = PARAMETERS.iter().map(|(n, _)| *n).collect();
        assert!(PARAMETERS.iter().all(|(_, v)| v.is_finite()));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PARAMETERS.len(), "two parameters share a name");
    }
}
