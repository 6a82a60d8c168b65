//! OpenSim's `DeGrooteFregly2016Muscle` as its forward simulation computes
//! it: the curves with the constants of OpenSim's implementation (the
//! active curve's from De Groote's `optcntrlmuscle` code, b11 adjusted so
//! that fL(1) = 1; the passive curve shifted to cross zero at l̃ = 0.2), a
//! rigid tendon (fibre length from the path length with constant fibre
//! height), linear fibre damping, and the smoothed activation dynamics
//! (`tanh` steepness 0.1, OpenSim's value).
//!
//! These differ from [`crate::muscle::curves`] (the paper's rounded
//! constants, used by static optimisation) by < 0.5 % of F0; the forward
//! engine uses OpenSim's so that its trajectories can be compared with
//! OpenSim's forward simulation of the same model.

use crate::MskError;
use crate::model::Muscle;
use crate::muscle::MuscleParameters;

const B: [[f64; 4]; 3] = [
    [
        0.815_067_113_424_354_2,
        1.055_033_428_970_575,
        0.162_384_573_599_574,
        0.063_303_448_465_465,
    ],
    [
        0.433_004_984_392_647,
        0.716_775_413_397_76,
        -0.029_947_116_970_696,
        0.200_356_847_296_188,
    ],
    [0.1, 1.0, 0.353_553_390_593_274, 0.0],
];
const D1: f64 = -0.321_134_612_798_980_8;
const D2: f64 = -8.149;
const D3: f64 = -0.374;
const D4: f64 = 0.882_532_773_324_991_2;
const K_PE: f64 = 4.0;
const MIN_NORM_FIBER: f64 = 0.2;
/// OpenSim's `tanhSteepness` in the activation derivative.
const ACTIVATION_SMOOTHING: f64 = 0.1;

/// One DeGrooteFregly muscle with a rigid tendon.
#[derive(Debug, Clone, PartialEq)]
pub struct DgfMuscle {
    pub p: MuscleParameters,
    /// Damping of the fibre, in F0 per normalised velocity.
    pub fiber_damping: f64,
    /// Passive fibre strain at F0 (`passive_fiber_strain_at_one_norm_force`).
    pub passive_strain: f64,
    pub width_scale: f64,
    pub ignore_passive: bool,
    pub default_activation: f64,
    /// Whether the file asks for a compliant tendon (simulated rigid; the
    /// plant warns).
    pub compliant_in_file: bool,
    passive_offset: f64,
    passive_denominator: f64,
    height_sq: f64,
}

/// What a muscle does at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MuscleOutput {
    /// Force along the tendon (N).
    pub force: f64,
    /// Fibre length (m) and lengthening velocity (m/s).
    pub fiber_length: f64,
    pub fiber_velocity: f64,
    pub cos_pennation: f64,
    /// Active fibre force (N, along the fibre).
    pub active_force: f64,
}

impl DgfMuscle {
    /// The muscle's parameters from the model (any OpenSim muscle: the
    /// DeGrooteFregly-only ones take OpenSim's defaults when absent).
    ///
    /// # Errors
    /// A parameter is missing or out of range (named).
    pub fn of(muscle: &Muscle) -> Result<Self, MskError> {
        let p = MuscleParameters::of(muscle)?;
        let get = |n: &str, d: f64| muscle.parameters.get(n).copied().unwrap_or(d);
        let passive_strain = get("passive_fiber_strain_at_one_norm_force", 0.6);
        let width_scale = get("active_force_width_scale", 1.0);
        let fiber_damping = get("fiber_damping", 0.0);
        let default_activation = get("default_activation", 0.5);
        for (field, v, ok) in [
            (
                "passive_fiber_strain_at_one_norm_force",
                passive_strain,
                passive_strain > 0.0,
            ),
            ("active_force_width_scale", width_scale, width_scale >= 1.0),
            ("fiber_damping", fiber_damping, fiber_damping >= 0.0),
            (
                "default_activation",
                default_activation,
                default_activation > 0.0 && default_activation <= 1.0,
            ),
        ] {
            if !(ok && v.is_finite()) {
                return Err(MskError::format(format!(
                    "muscle `{}`: <{field}> is {v}, out of range",
                    muscle.name
                )));
            }
        }
        let passive_offset = (K_PE * (MIN_NORM_FIBER - 1.0) / passive_strain).exp();
        let h = p.optimal_fiber_length * p.pennation_at_optimal.sin();
        Ok(Self {
            fiber_damping,
            passive_strain,
            width_scale,
            ignore_passive: get("ignore_passive_fiber_force", 0.0) != 0.0,
            default_activation,
            compliant_in_file: get("ignore_tendon_compliance", 0.0) == 0.0,
            passive_offset,
            passive_denominator: K_PE.exp() - passive_offset,
            height_sq: h * h,
            p,
        })
    }

    /// Active force–length multiplier.
    #[must_use]
    pub fn active_force_length(&self, l: f64) -> f64 {
        let x = (l - 1.0) / self.width_scale + 1.0;
        B.iter()
            .map(|b| {
                let w = b[2] + b[3] * x;
                b[0] * (-0.5 * (x - b[1]) * (x - b[1]) / (w * w)).exp()
            })
            .sum()
    }

    /// Passive force–length multiplier (negative below l̃ = 0.2).
    #[must_use]
    pub fn passive_force_length(&self, l: f64) -> f64 {
        if self.ignore_passive {
            return 0.0;
        }
        ((K_PE * (l - 1.0) / self.passive_strain).exp() - self.passive_offset)
            / self.passive_denominator
    }

    /// Force–velocity multiplier (ṽ lengthening positive, in v_max·l_opt).
    #[must_use]
    pub fn force_velocity(v: f64) -> f64 {
        let t = D2 * v + D3;
        D1 * (t + (t * t + 1.0).sqrt()).ln() + D4
    }

    /// da/dt for excitation `e` at activation `a` (OpenSim's smoothed
    /// switch between activation and deactivation).
    #[must_use]
    pub fn activation_rate(&self, e: f64, a: f64) -> f64 {
        let z = 0.5 + 1.5 * a;
        let f = 0.5 * (ACTIVATION_SMOOTHING * (e - a)).tanh();
        let rate =
            (f + 0.5) / (self.p.activation_time * z) + (0.5 - f) * z / self.p.deactivation_time;
        rate * (e - a)
    }

    /// The muscle at musculotendon length `l_mt` (m), lengthening velocity
    /// `v_mt` (m/s) and activation `a`.
    #[must_use]
    pub fn output(&self, l_mt: f64, v_mt: f64, a: f64) -> MuscleOutput {
        let p = &self.p;
        let along = l_mt - p.tendon_slack_length;
        let length = (along * along + self.height_sq).sqrt();
        let cos = along / length;
        let velocity = v_mt * cos;
        let l = length / p.optimal_fiber_length;
        let v = velocity / (p.max_contraction_velocity * p.optimal_fiber_length);
        let active =
            p.max_isometric_force * a * self.active_force_length(l) * Self::force_velocity(v);
        let fiber = active
            + p.max_isometric_force * (self.passive_force_length(l) + self.fiber_damping * v);
        MuscleOutput {
            force: fiber * cos,
            fiber_length: length,
            fiber_velocity: velocity,
            cos_pennation: cos,
            active_force: active,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn muscle() -> DgfMuscle {
        let parameters: HashMap<String, f64> = [
            ("max_isometric_force", 1000.0),
            ("optimal_fiber_length", 0.1),
            ("tendon_slack_length", 0.2),
            ("pennation_angle_at_optimal", 0.0),
            ("fiber_damping", 0.01),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        DgfMuscle::of(&Muscle {
            name: "m".into(),
            component: "/forceset/m".into(),
            kind: "DeGrooteFregly2016Muscle".into(),
            path: Vec::new(),
            parameters,
        })
        .unwrap()
    }

    #[test]
    fn curves_have_opensims_landmarks() {
        let m = muscle();
        assert!((m.active_force_length(1.0) - 1.0).abs() < 1e-9);
        assert!(m.passive_force_length(MIN_NORM_FIBER).abs() < 1e-12);
        assert!((m.passive_force_length(1.6) - 1.0).abs() < 1e-3);
        assert!((DgfMuscle::force_velocity(0.0) - 1.0).abs() < 1e-9);
        assert!(DgfMuscle::force_velocity(-1.0) < 0.01);
        // Isometric at the optimal length, fully active: F0 plus the
        // passive force there.
        let o = m.output(0.3, 0.0, 1.0);
        assert!((o.force - 1000.0 * (1.0 + m.passive_force_length(1.0))).abs() < 1e-6);
        // Activation rises toward the excitation and falls back.
        assert!(m.activation_rate(1.0, 0.1) > 0.0 && m.activation_rate(0.0, 0.5) < 0.0);
        assert!(m.activation_rate(0.3, 0.3).abs() < 1e-15);
    }
}
