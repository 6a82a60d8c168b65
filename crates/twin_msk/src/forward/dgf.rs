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
use crate::muscle::{MuscleParameters, curves};

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
/// Fibre velocities of a compliant muscle are kept within ±this
/// (normalised by v_max·l_opt): beyond it the fibre cannot follow and
/// the tendon takes up the difference.
const MAX_NORM_VELOCITY: f64 = 1.0;

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
    /// Whether the file asks for a compliant tendon.
    pub compliant_in_file: bool,
    /// Tendon strain at F0 (`tendon_strain_at_one_norm_force`) and the
    /// exponent of the tendon curve it gives.
    pub tendon_strain: f64,
    tendon_exponent: f64,
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
        let tendon_strain = get("tendon_strain_at_one_norm_force", 0.049);
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
                "tendon_strain_at_one_norm_force",
                tendon_strain,
                tendon_strain > 0.0 && tendon_strain < 1.0,
            ),
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
            tendon_strain,
            tendon_exponent: curves::tendon_stiffness(tendon_strain),
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

    /// Tendon force (in F0) at normalised tendon length `l̃T = lT / lTs`
    /// (De Groote's curve, [`curves::tendon_curve`], as OpenSim's
    /// `calcTendonForceMultiplier`: slightly negative just below slack).
    #[must_use]
    pub fn tendon_force_length(&self, lt: f64) -> f64 {
        curves::tendon_curve(lt, self.tendon_exponent)
    }

    /// The normalised tendon length at tendon force `f` (in F0).
    #[must_use]
    pub fn tendon_length(&self, f: f64) -> f64 {
        curves::tendon_length(f, self.tendon_exponent)
    }

    /// The fibre of a compliant muscle whose tendon carries `ft` (in F0) at
    /// musculotendon length `l_mt`: its length (m, at least 0.2 l_opt) and
    /// the cosine of its pennation.
    fn fiber_of(&self, l_mt: f64, ft: f64) -> (f64, f64) {
        let p = &self.p;
        let min_length = MIN_NORM_FIBER * p.optimal_fiber_length;
        let min_along = (min_length * min_length - self.height_sq).max(0.0).sqrt();
        let along =
            (l_mt - p.tendon_slack_length * self.tendon_length(ft)).max(min_along.max(1e-6));
        let length = (along * along + self.height_sq).sqrt();
        (length, along / length)
    }

    /// A compliant muscle (state: the tendon force `ft`, in F0) at
    /// musculotendon length `l_mt` (m), lengthening velocity `v_mt` (m/s)
    /// and activation `a`: what it does and `dft/dt`. The fibre velocity
    /// is the one at which the fibre's force balances the tendon's
    /// (`a·fL·fV(ṽ) + fP + βṽ = ft / cos α`, solved by bisection and
    /// Newton on the monotone left side, within ±[`MAX_NORM_VELOCITY`]);
    /// the tendon stretches at the rest of the musculotendon velocity.
    #[must_use]
    pub fn compliant_output(&self, l_mt: f64, v_mt: f64, a: f64, ft: f64) -> (MuscleOutput, f64) {
        let p = &self.p;
        let (length, cos) = self.fiber_of(l_mt, ft);
        let l = length / p.optimal_fiber_length;
        let afl = a * self.active_force_length(l);
        let target = ft / cos - self.passive_force_length(l);
        let residual = |v: f64| afl * Self::force_velocity(v) + self.fiber_damping * v - target;
        let (mut lo, mut hi) = (-MAX_NORM_VELOCITY, MAX_NORM_VELOCITY);
        let v = if residual(lo) >= 0.0 {
            lo
        } else if residual(hi) <= 0.0 {
            hi
        } else {
            let mut v = 0.0;
            for _ in 0..60 {
                let r = residual(v);
                if r.abs() < 1e-10 {
                    break;
                }
                if r > 0.0 {
                    hi = v;
                } else {
                    lo = v;
                }
                let t = D2 * v + D3;
                let slope = afl * D1 * D2 / (t * t + 1.0).sqrt() + self.fiber_damping;
                let newton = v - r / slope;
                v = if slope > 0.0 && newton > lo && newton < hi {
                    newton
                } else {
                    0.5 * (lo + hi)
                };
            }
            v
        };
        let scale = p.max_contraction_velocity * p.optimal_fiber_length;
        let velocity = v * scale;
        let active = p.max_isometric_force * afl * Self::force_velocity(v);
        // The fibre's height is constant: its projection on the tendon
        // moves at v / cos α; the tendon takes the rest.
        let tendon_velocity = v_mt - velocity / cos;
        let stiffness = self.tendon_exponent * (ft + curves::TENDON_C[2]);
        let rate = stiffness * tendon_velocity / p.tendon_slack_length;
        (
            MuscleOutput {
                force: p.max_isometric_force * ft,
                fiber_length: length,
                fiber_velocity: velocity,
                cos_pennation: cos,
                active_force: active,
            },
            rate,
        )
    }

    /// The tendon force of a compliant muscle in equilibrium with an
    /// isometric fibre at musculotendon length `l_mt` and activation `a`
    /// (bisection on `ft`), for starting states.
    #[must_use]
    pub fn equilibrium_tendon_force(&self, l_mt: f64, a: f64) -> f64 {
        let gap = |ft: f64| {
            let (length, cos) = self.fiber_of(l_mt, ft);
            let l = length / self.p.optimal_fiber_length;
            (a * self.active_force_length(l) + self.passive_force_length(l)) * cos - ft
        };
        // The fibre's force falls as the tendon's rises (the fibre
        // shortens), so `gap` decreases: bisect between slack and 5 F0.
        let (mut lo, mut hi) = (self.tendon_force_length(1.0).min(0.0), 5.0);
        if gap(lo) <= 0.0 {
            return lo;
        }
        for _ in 0..80 {
            let mid = 0.5 * (lo + hi);
            if gap(mid) > 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
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
    fn a_compliant_tendon_balances_its_fibre() {
        let m = muscle();
        // The tendon curve: F0 at the given strain, slack at its slack
        // length (De Groote's curve crosses zero within 1 % of F0 of it),
        // and its inverse.
        assert!((m.tendon_force_length(1.0 + m.tendon_strain) - 1.0).abs() < 1e-12);
        assert!(m.tendon_force_length(1.0).abs() < 0.02);
        for f in [0.0, 0.3, 1.0, 1.7] {
            assert!((m.tendon_force_length(m.tendon_length(f)) - f).abs() < 1e-12);
        }
        for a in [0.05, 0.5, 1.0] {
            let l_mt = 0.305;
            let ft = m.equilibrium_tendon_force(l_mt, a);
            // Isometric musculotendon in equilibrium: the fibre does not
            // move, the tendon's force holds, and it equals the force of
            // the fibre at that length along the tendon.
            let (out, rate) = m.compliant_output(l_mt, 0.0, a, ft);
            assert!(out.fiber_velocity.abs() < 1e-6, "{}", out.fiber_velocity);
            assert!(rate.abs() < 1e-4, "{rate}");
            let along = out.fiber_length * out.cos_pennation;
            let rigid = m.output(along + m.p.tendon_slack_length, 0.0, a);
            assert!((rigid.force - out.force).abs() < 1e-6 * m.p.max_isometric_force);
            // Stretched, the fibre moves as its force asks (not at once):
            // the tendon takes the stretch and its force rises.
            let (moving, rate) = m.compliant_output(l_mt, 0.05, a, ft);
            assert!(moving.fiber_velocity.abs() < 1e-6);
            assert!(rate > 0.0);
            // A higher tendon force than the fibre holds lengthens the
            // fibre, and the tendon's force falls back.
            let (pulled, rate) = m.compliant_output(l_mt, 0.0, a, ft + 0.05);
            assert!(pulled.fiber_velocity > 0.0 && rate < 0.0);
        }
        // A slack tendon at a short musculotendon: nothing pulls.
        let ft = m.equilibrium_tendon_force(0.22, 0.5);
        assert!(ft.abs() < 0.02, "{ft}");
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
