//! Hill-type musculotendon units: De Groote et al. (2016) curves with the
//! parameters of an OpenSim muscle (Thelen 2003, Millard 2012 and
//! DeGrooteFregly 2016 muscles all name them alike), rigid- and
//! compliant-tendon equilibrium, activation dynamics, and musculotendon
//! lengths and moment arms from the model's paths.
//!
//! Fibres keep a constant height (`l_opt · sin α_opt`), so the pennation
//! angle follows the fibre length. Normalised quantities: fibre length
//! `l̃ = l / l_opt`, fibre velocity `ṽ = v / (v_max · l_opt)` (lengthening
//! positive), tendon length `l̃_T = l_T / l_s`.
//!
//! De Groote F, Kinney AL, Rao AV, Fregly BJ (2016). Evaluation of direct
//! collocation optimal control problem formulations for solving the muscle
//! redundancy problem. *Ann Biomed Eng* 44:2922–2936 (supplement S1–S4).

use std::collections::BTreeSet;

use crate::MskError;
use crate::model::{Model, Muscle};

/// The curves of De Groote et al. (2016), each normalised by the maximum
/// isometric force.
pub mod curves {
    /// Active force–length: three Gaussians (S2); 1.0 at `l̃ = 1`.
    #[must_use]
    pub fn active_force_length(l: f64) -> f64 {
        const B: [[f64; 4]; 3] = [
            [0.815, 1.055, 0.162, 0.063],
            [0.433, 0.717, -0.030, 0.200],
            [0.100, 1.000, 0.354, 0.000],
        ];
        B.iter()
            .map(|b| {
                let width = b[2] + b[3] * l;
                b[0] * (-0.5 * (l - b[1]).powi(2) / (width * width)).exp()
            })
            .sum()
    }

    /// Passive force–length (S3): `(e^{k(l̃−1)/e0} − 1)/(e^k − 1)`, k = 4,
    /// e0 = 0.6; 1.0 at `l̃ = 1.6`, zero below the optimal length.
    #[must_use]
    pub fn passive_force_length(l: f64) -> f64 {
        const K: f64 = 4.0;
        const E0: f64 = 0.6;
        (((K * (l - 1.0) / E0).exp() - 1.0) / (K.exp() - 1.0)).max(0.0)
    }

    /// Force–velocity (S4): 0 at maximal shortening (`ṽ = −1`), 1 when
    /// isometric, ≈ 1.8 lengthening.
    #[must_use]
    #[allow(clippy::approx_constant)] // −0.318 is De Groote's fitted d1, not −1/π
    pub fn force_velocity(v: f64) -> f64 {
        const D: [f64; 4] = [-0.318, -8.149, -0.374, 0.886];
        let x = D[1] * v + D[2];
        (D[0] * (x + (x * x + 1.0).sqrt()).ln() + D[3]).max(0.0)
    }

    /// The tendon curve's constants `c1`, `c2`, `c3` (S1).
    pub const TENDON_C: [f64; 3] = [0.2, 0.995, 0.25];

    /// Tendon force–length (S1): `c1 e^{kT(l̃_T − c2)} − c3`, zero when
    /// slack; 1.0 at a strain of 4.7 % for `kT` = 35.
    #[must_use]
    pub fn tendon_force_length(l: f64, stiffness: f64) -> f64 {
        tendon_curve(l, stiffness).max(0.0)
    }

    /// The tendon curve itself, `c1 e^{kT(l̃_T − c2)} − c3`, slightly
    /// negative just below the slack length (as OpenSim evaluates it).
    #[must_use]
    pub fn tendon_curve(l: f64, stiffness: f64) -> f64 {
        let [c1, c2, c3] = TENDON_C;
        c1 * (stiffness * (l - c2)).exp() - c3
    }

    /// The normalised tendon length at tendon force `f` (the inverse of
    /// [`tendon_curve`], for `f > −c3`).
    #[must_use]
    pub fn tendon_length(f: f64, stiffness: f64) -> f64 {
        let [c1, c2, c3] = TENDON_C;
        c2 + ((f + c3).max(1e-12) / c1).ln() / stiffness
    }

    /// The exponent `kT` that puts a tendon's force at F0 when it is
    /// strained by `strain` (OpenSim's `tendon_strain_at_one_norm_force`).
    #[must_use]
    pub fn tendon_stiffness(strain: f64) -> f64 {
        let [c1, c2, c3] = TENDON_C;
        ((1.0 + c3) / c1).ln() / (1.0 + strain - c2)
    }
}

/// De Groote et al.'s tendon stiffness `kT` (strain 4.7 % at F0).
pub const TENDON_STIFFNESS: f64 = 35.0;

/// A muscle's parameters (SI units).
#[derive(Debug, Clone, PartialEq)]
pub struct MuscleParameters {
    pub name: String,
    /// F0 (N).
    pub max_isometric_force: f64,
    /// l_opt (m).
    pub optimal_fiber_length: f64,
    /// l_s (m).
    pub tendon_slack_length: f64,
    /// α_opt (rad).
    pub pennation_at_optimal: f64,
    /// v_max (optimal fibre lengths per second).
    pub max_contraction_velocity: f64,
    /// Bounds of the activation (the model's `min_control`/`max_control`).
    pub min_activation: f64,
    pub max_activation: f64,
    /// The muscle model's own lower limit of its activation state (a
    /// Millard muscle's `minimum_activation`; 0 when the model has none):
    /// OpenSim's muscle never goes below it whatever its control, so the
    /// metabolic rates see at least this activation.
    pub activation_floor: f64,
    /// Activation and deactivation time constants (s).
    pub activation_time: f64,
    pub deactivation_time: f64,
    /// Force at the maximal lengthening velocity, in F0: the eccentric
    /// branch of the force–velocity curve is scaled to reach it (Millard's
    /// `max_eccentric_velocity_force_multiplier`, 1.4 by default; Thelen's
    /// `Flen`, 1.8; De Groote's own curve reaches 1.79).
    pub max_eccentric_force: f64,
}

/// The state of a fibre in equilibrium with its tendon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fiber {
    /// Length (m) and lengthening velocity (m/s).
    pub length: f64,
    pub velocity: f64,
    /// cos α: the share of the fibre force that reaches the tendon.
    pub cos_pennation: f64,
}

impl MuscleParameters {
    /// The parameters of `muscle`, checked: every one finite, the force,
    /// optimal length and velocity positive, the pennation below 90°.
    ///
    /// # Errors
    /// A parameter is missing or out of range; the error names the muscle
    /// and the field.
    pub fn of(muscle: &Muscle) -> Result<Self, MskError> {
        let get = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| muscle.parameters.get(*n).copied())
        };
        let need = |names: &[&str]| {
            get(names).ok_or_else(|| {
                MskError::format(format!("muscle `{}`: no <{}>", muscle.name, names[0]))
            })
        };
        let p = Self {
            name: muscle.name.clone(),
            max_isometric_force: need(&["max_isometric_force"])?,
            optimal_fiber_length: need(&["optimal_fiber_length"])?,
            tendon_slack_length: need(&["tendon_slack_length"])?,
            pennation_at_optimal: get(&["pennation_angle_at_optimal", "pennation_angle"])
                .unwrap_or(0.0),
            max_contraction_velocity: get(&["max_contraction_velocity"]).unwrap_or(10.0),
            min_activation: get(&["min_control", "minimum_activation"]).unwrap_or(0.0),
            max_activation: get(&["max_control"]).unwrap_or(1.0),
            activation_floor: get(&["minimum_activation"]).unwrap_or(0.0),
            activation_time: get(&["activation_time_constant"]).unwrap_or(0.015),
            deactivation_time: get(&["deactivation_time_constant"]).unwrap_or(0.060),
            max_eccentric_force: get(&["max_eccentric_velocity_force_multiplier", "Flen", "flen"])
                .unwrap_or(match muscle.kind.as_str() {
                    k if k.starts_with("Millard") => 1.4,
                    k if k.starts_with("Thelen") => 1.8,
                    _ => curves::force_velocity(1.0),
                }),
        };
        let checks: [(&str, f64, bool); 11] = [
            (
                "max_isometric_force",
                p.max_isometric_force,
                p.max_isometric_force > 0.0,
            ),
            (
                "optimal_fiber_length",
                p.optimal_fiber_length,
                p.optimal_fiber_length > 0.0,
            ),
            (
                "tendon_slack_length",
                p.tendon_slack_length,
                p.tendon_slack_length >= 0.0,
            ),
            (
                "pennation_angle_at_optimal",
                p.pennation_at_optimal,
                (0.0..1.5).contains(&p.pennation_at_optimal),
            ),
            (
                "max_contraction_velocity",
                p.max_contraction_velocity,
                p.max_contraction_velocity > 0.0,
            ),
            (
                "min_control",
                p.min_activation,
                (0.0..1.0).contains(&p.min_activation),
            ),
            (
                "max_control",
                p.max_activation,
                p.max_activation > p.min_activation && p.max_activation <= 1.0,
            ),
            (
                "minimum_activation",
                p.activation_floor,
                (0.0..1.0).contains(&p.activation_floor),
            ),
            (
                "activation_time_constant",
                p.activation_time,
                p.activation_time > 0.0,
            ),
            (
                "deactivation_time_constant",
                p.deactivation_time,
                p.deactivation_time > 0.0,
            ),
            (
                "max_eccentric_velocity_force_multiplier",
                p.max_eccentric_force,
                p.max_eccentric_force > 1.0,
            ),
        ];
        for (field, value, ok) in checks {
            if !(ok && value.is_finite()) {
                return Err(MskError::format(format!(
                    "muscle `{}`: <{field}> is {value}, out of range",
                    muscle.name
                )));
            }
        }
        Ok(p)
    }

    /// Fibre height (m), constant with constant-thickness pennation.
    fn height(&self) -> f64 {
        self.optimal_fiber_length * self.pennation_at_optimal.sin()
    }

    /// The fibre for a rigid tendon: musculotendon length `l_mt` (m) and
    /// lengthening velocity `v_mt` (m/s).
    #[must_use]
    pub fn rigid_tendon_fiber(&self, l_mt: f64, v_mt: f64) -> Fiber {
        let along = (l_mt - self.tendon_slack_length).max(0.01 * self.optimal_fiber_length);
        let h = self.height();
        let length = along.hypot(h);
        let cos_pennation = along / length;
        Fiber {
            length,
            velocity: v_mt * cos_pennation,
            cos_pennation,
        }
    }

    fn normalised(&self, fiber: &Fiber) -> (f64, f64) {
        (
            fiber.length / self.optimal_fiber_length,
            fiber.velocity / (self.max_contraction_velocity * self.optimal_fiber_length),
        )
    }

    /// The force–velocity multiplier: De Groote's curve, its lengthening
    /// branch scaled to reach [`Self::max_eccentric_force`] at `ṽ = 1`.
    #[must_use]
    pub fn force_velocity(&self, v: f64) -> f64 {
        let f = curves::force_velocity(v);
        if v <= 0.0 {
            return f;
        }
        let top = curves::force_velocity(1.0);
        1.0 + (f - 1.0) * (self.max_eccentric_force - 1.0) / (top - 1.0)
    }

    /// Active force along the tendon at full activation (N):
    /// `F0 · fL · fV · cos α` — what OpenSim's static optimization calls the
    /// muscle's optimal force when it uses the muscle physiology.
    #[must_use]
    pub fn active_capacity(&self, fiber: &Fiber) -> f64 {
        let (l, v) = self.normalised(fiber);
        self.max_isometric_force
            * curves::active_force_length(l)
            * self.force_velocity(v)
            * fiber.cos_pennation
    }

    /// Passive fibre force along the tendon (N).
    #[must_use]
    pub fn passive_force(&self, fiber: &Fiber) -> f64 {
        let (l, _) = self.normalised(fiber);
        self.max_isometric_force * curves::passive_force_length(l) * fiber.cos_pennation
    }

    /// Tendon force (N) at musculotendon length `l_mt` with the fibre's
    /// projection `along` (m).
    fn tendon_force(&self, l_mt: f64, along: f64) -> f64 {
        if self.tendon_slack_length <= 0.0 {
            return 0.0;
        }
        self.max_isometric_force
            * curves::tendon_force_length(
                (l_mt - along) / self.tendon_slack_length,
                TENDON_STIFFNESS,
            )
    }

    /// The fibre when the tendon carries `force` (N) at musculotendon length
    /// `l_mt`: the tendon stretched by the inverse of its force–length
    /// curve, the fibre's projection the rest (velocity left at zero).
    #[must_use]
    pub fn fiber_under_tendon_force(&self, l_mt: f64, force: f64) -> Fiber {
        let f = (force / self.max_isometric_force).max(0.0);
        let stretch = curves::tendon_length(f, TENDON_STIFFNESS);
        let along =
            (l_mt - stretch * self.tendon_slack_length).max(0.01 * self.optimal_fiber_length);
        let length = along.hypot(self.height());
        Fiber {
            length,
            velocity: 0.0,
            cos_pennation: along / length,
        }
    }

    /// Isometric equilibrium with a compliant tendon at activation `a`:
    /// the fibre whose force along the tendon equals the tendon's
    /// (bisection on the fibre's projection). `None` when the musculotendon
    /// is too short to load the tendon at all.
    #[must_use]
    pub fn compliant_tendon_fiber(&self, l_mt: f64, a: f64) -> Option<(Fiber, f64)> {
        let h = self.height();
        let fiber_at = |along: f64| {
            let length = along.hypot(h);
            Fiber {
                length,
                velocity: 0.0,
                cos_pennation: along / length,
            }
        };
        let residual = |along: f64| {
            let f = fiber_at(along);
            a * self.active_capacity(&f) + self.passive_force(&f) - self.tendon_force(l_mt, along)
        };
        let (mut lo, mut hi) = (
            1e-6 * self.optimal_fiber_length,
            l_mt - self.tendon_slack_length,
        );
        if hi <= lo || residual(lo) > 0.0 {
            return None;
        }
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if residual(mid) > 0.0 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let along = 0.5 * (lo + hi);
        Some((fiber_at(along), self.tendon_force(l_mt, along)))
    }

    /// da/dt for excitation `e` (De Groote et al. 2016, eq. 1–2): faster
    /// activation the more active the muscle is, slower deactivation.
    #[must_use]
    pub fn activation_rate(&self, e: f64, a: f64) -> f64 {
        let e = e.clamp(0.0, 1.0);
        if e > a {
            (e - a) / (self.activation_time * (0.5 + 1.5 * a))
        } else {
            (e - a) * (0.5 + 1.5 * a) / self.deactivation_time
        }
    }
}

/// Which coordinates each muscle's length depends on (its moment arms
/// elsewhere are zero): found by perturbing every coordinate at three
/// poses (default, and ±0.3 of each coordinate's range about it).
#[must_use]
pub fn spanned_coordinates(model: &Model) -> Vec<Vec<usize>> {
    let nq = model.coordinates.len();
    let mut spans: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); model.muscles.len()];
    let defaults = model.default_coordinates();
    let poses: Vec<Vec<f64>> = [0.0, 0.3, -0.3]
        .iter()
        .map(|&s| {
            model
                .coordinates
                .iter()
                .zip(&defaults)
                .map(|(c, &d)| {
                    let (lo, hi) = (c.range[0], c.range[1]);
                    if hi > lo && hi.is_finite() && lo.is_finite() {
                        (d + s * (hi - lo) / 2.0).clamp(lo, hi)
                    } else {
                        d
                    }
                })
                .collect()
        })
        .collect();
    for q in &poses {
        for k in 0..nq {
            let d = length_derivatives(model, q, k);
            for (m, &dl) in d.iter().enumerate() {
                if dl.abs() > 1e-7 {
                    spans[m].insert(k);
                }
            }
        }
    }
    spans.into_iter().map(|s| s.into_iter().collect()).collect()
}

/// ∂L/∂q_k of every muscle at `q` (central differences, h = 1e-6).
fn length_derivatives(model: &Model, q: &[f64], k: usize) -> Vec<f64> {
    const H: f64 = 1e-6;
    let (mut up, mut down) = (q.to_vec(), q.to_vec());
    up[k] += H;
    down[k] -= H;
    let (pu, pd) = (model.body_poses(&up), model.body_poses(&down));
    model
        .muscles
        .iter()
        .map(|m| (model.path_length(m, &up, &pu) - model.path_length(m, &down, &pd)) / (2.0 * H))
        .collect()
}

/// Every muscle's length (m) at `q` and its moment arms `−∂L/∂q` (m, or
/// dimensionless for translations) about the coordinates it spans
/// (`spans` from [`spanned_coordinates`]), in the same order.
#[must_use]
pub fn lengths_and_moment_arms(
    model: &Model,
    q: &[f64],
    spans: &[Vec<usize>],
) -> Vec<(f64, Vec<f64>)> {
    let poses = model.body_poses(q);
    let mut out: Vec<(f64, Vec<f64>)> = model
        .muscles
        .iter()
        .zip(spans)
        .map(|(m, s)| (model.path_length(m, q, &poses), vec![0.0; s.len()]))
        .collect();
    let used: BTreeSet<usize> = spans.iter().flatten().copied().collect();
    for k in used {
        let d = length_derivatives(model, q, k);
        for (m, s) in spans.iter().enumerate() {
            if let Some(j) = s.iter().position(|&c| c == k) {
                out[m].1[j] = -d[m];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use curves::*;

    #[test]
    fn the_curves_have_their_published_landmarks() {
        assert!((active_force_length(1.0) - 1.0).abs() < 1e-3);
        // The active curve peaks at the optimal length.
        for l in [0.8, 0.9, 1.1, 1.2] {
            assert!(active_force_length(l) < active_force_length(1.0));
        }
        assert!(active_force_length(0.4) < 0.1 && active_force_length(1.8) < 0.1);
        assert!(passive_force_length(0.9).abs() < 1e-15);
        assert!((passive_force_length(1.6) - 1.0).abs() < 1e-12);
        assert!((force_velocity(0.0) - 1.0).abs() < 3e-3);
        assert!(force_velocity(-1.0) < 0.02);
        assert!((1.7..1.9).contains(&force_velocity(1.0)));
        // Monotonic in velocity.
        let mut last = 0.0;
        for i in -10..=10 {
            let f = force_velocity(f64::from(i) / 10.0);
            assert!(f >= last);
            last = f;
        }
        // Tendon: slack below 1, F0 at a strain of 4.7 %.
        assert!(tendon_force_length(0.99, TENDON_STIFFNESS).abs() < 1e-15);
        assert!((tendon_force_length(1.0474, TENDON_STIFFNESS) - 1.0).abs() < 5e-3);
    }

    fn soleus() -> MuscleParameters {
        MuscleParameters {
            name: "soleus".into(),
            max_isometric_force: 3000.0,
            optimal_fiber_length: 0.05,
            tendon_slack_length: 0.25,
            pennation_at_optimal: 25f64.to_radians(),
            max_contraction_velocity: 10.0,
            min_activation: 0.01,
            max_activation: 1.0,
            activation_floor: 0.0,
            activation_time: 0.015,
            deactivation_time: 0.06,
            max_eccentric_force: 1.4,
        }
    }

    #[test]
    fn rigid_and_compliant_tendons_agree_where_they_should() {
        let p = soleus();
        // At l_mt = l_s + l_opt cos α_opt the rigid fibre is at its optimal
        // length and pennation: the capacity is F0 cos α_opt.
        let l_mt = p.tendon_slack_length + p.optimal_fiber_length * p.pennation_at_optimal.cos();
        let f = p.rigid_tendon_fiber(l_mt, 0.0);
        assert!((f.length - p.optimal_fiber_length).abs() < 1e-12);
        assert!((f.cos_pennation - p.pennation_at_optimal.cos()).abs() < 1e-12);
        let capacity = p.active_capacity(&f);
        assert!((capacity / (3000.0 * p.pennation_at_optimal.cos()) - 1.0).abs() < 2e-3);
        // Shortening lowers and lengthening raises the force, up to the
        // eccentric maximum at the maximal lengthening velocity.
        assert!(p.active_capacity(&p.rigid_tendon_fiber(l_mt, -0.1)) < capacity);
        assert!(p.active_capacity(&p.rigid_tendon_fiber(l_mt, 0.1)) > capacity);
        assert!((p.force_velocity(1.0) - 1.4).abs() < 1e-12);
        assert!((p.force_velocity(-0.5) - force_velocity(-0.5)).abs() < 1e-12);
        // A compliant tendon stretched by the full force: the fibre shortens
        // by the tendon's stretch and forces balance.
        let stretch = 0.047 * p.tendon_slack_length;
        let (fiber, force) = p.compliant_tendon_fiber(l_mt + stretch, 1.0).unwrap();
        let fibre_force = p.active_capacity(&fiber) + p.passive_force(&fiber);
        assert!(
            (fibre_force - force).abs() < 1e-6 * force,
            "{fibre_force} {force}"
        );
        assert!(
            (fiber.length / p.optimal_fiber_length - 1.0).abs() < 0.05,
            "{fiber:?}"
        );
        assert!(
            (force / (3000.0 * fiber.cos_pennation) - 1.0).abs() < 0.05,
            "{force}"
        );
        // Inactive: the tendon is barely loaded (only passive fibre force).
        let (_, slack) = p.compliant_tendon_fiber(l_mt + stretch, 0.0).unwrap();
        assert!(slack < 0.1 * force, "{slack}");
        // Too short to load the tendon.
        assert!(
            p.compliant_tendon_fiber(0.5 * p.tendon_slack_length, 1.0)
                .is_none()
        );
    }

    #[test]
    fn activation_rises_faster_than_it_falls() {
        let p = soleus();
        let (mut up, mut down) = (0.0, 1.0);
        for _ in 0..100 {
            up += 1e-4 * p.activation_rate(1.0, up);
            down += 1e-4 * p.activation_rate(0.0, down);
        }
        // 10 ms: activation has risen by half, deactivation has undone a
        // quarter (τ_act 15 ms, τ_deact 60 ms, scaled by 0.5 + 1.5a).
        assert!(
            up > 0.5 && 1.0 - down < 0.3 && 1.0 - down < up / 1.5,
            "{up} {down}"
        );
        assert!(p.activation_rate(0.5, 0.5).abs() < 1e-12);
    }

    #[test]
    fn parameters_are_read_and_bad_ones_named() {
        let Some(dir) = twin_core::testdata::require("msk/gait2354_subject01") else {
            return;
        };
        let model = Model::read(&dir.join("subject01.osim")).unwrap();
        let params: Vec<MuscleParameters> = model
            .muscles
            .iter()
            .map(|m| MuscleParameters::of(m).unwrap())
            .collect();
        assert_eq!(params.len(), 54);
        let glut = &params[0];
        assert!((glut.max_isometric_force - 1119.0).abs() < 1e-9);
        assert!((glut.pennation_at_optimal - 0.139_626_34).abs() < 1e-9);
        assert!((glut.min_activation - 0.01).abs() < 1e-12);
        // Thelen muscles without `Flen`: its default.
        assert!((glut.max_eccentric_force - 1.8).abs() < 1e-12);
        let mut bad = model.muscles[0].clone();
        bad.parameters.insert("optimal_fiber_length".into(), 0.0);
        let e = MuscleParameters::of(&bad).unwrap_err().to_string();
        assert!(
            e.contains(&bad.name) && e.contains("optimal_fiber_length"),
            "{e}"
        );
        bad.parameters.remove("max_isometric_force");
        let e = MuscleParameters::of(&bad).unwrap_err().to_string();
        assert!(e.contains("no <max_isometric_force>"), "{e}");
        // Spans: the hip muscles span the hip only; gastrocnemius, which
        // inserts on the calcaneus, the knee, ankle and subtalar joints.
        let spans = spanned_coordinates(&model);
        let names = |m: usize| -> Vec<&str> {
            spans[m]
                .iter()
                .map(|&k| model.coordinates[k].name.as_str())
                .collect()
        };
        let gas = model
            .muscles
            .iter()
            .position(|m| m.name == "med_gas_r")
            .unwrap();
        assert_eq!(
            names(gas),
            ["knee_angle_r", "ankle_angle_r", "subtalar_angle_r"]
        );
        let glut = model
            .muscles
            .iter()
            .position(|m| m.name == "glut_med1_r")
            .unwrap();
        assert_eq!(
            names(glut),
            ["hip_flexion_r", "hip_adduction_r", "hip_rotation_r"]
        );
    }
}
