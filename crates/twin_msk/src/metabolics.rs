//! Muscle metabolic energy rates from muscle states (activation, fibre
//! length and velocity, force), as OpenSim's metabolic probes compute them:
//!
//! * **Umberger et al. (2003), with Umberger's 2010 changes**: activation
//!   and maintenance heat `S·A^0.6·(128·f_FT + 25)` W/kg (scaled by the
//!   active force–length multiplier beyond the optimal length), shortening
//!   heat from the slow- and fast-twitch coefficients 100/v_ST and 153/v_FT
//!   (lengthening: 0.3 × the slow-twitch one), positive contractile work
//!   only, a heat floor of 1 W/kg per muscle, aerobic factor S = 1.5; the
//!   slow-twitch share `f_ST = 1 − f_FT` of the recruited fibres follows
//!   Bhargava's recruitment model by default, as in OpenSim's probe
//!   ([`Energetics::recruitment`]).
//! * **Bhargava et al. (2004)**: activation heat 40 / 133 W/kg and
//!   maintenance heat 74 / 111 W/kg (slow / fast twitch, recruited by
//!   `sin(πu/2)` and `1 − cos(πu/2)`), the maintenance heat shaped by fibre
//!   length, shortening heat `0.25·F·|v|` while shortening, the contractile
//!   element's work (negative while lengthening), a heat floor of 1 W/kg.
//!
//! Muscle mass is `F0 / σ · ρ · l_opt` (σ = 0.25 MPa, ρ = 1059.7 kg/m³),
//! each muscle half slow-twitch unless told otherwise, and the basal rate
//! 1.2 W/kg of body mass (Umberger 2003, standing). In static optimisation
//! the excitation equals the activation.
//!
//! Umberger BR, Gerritsen KGM, Martin PE (2003). *Comput Methods Biomech
//! Biomed Engin* 6:99–111. Umberger BR (2010). *J R Soc Interface*
//! 7:1329–1340. Bhargava LJ, Pandy MG, Anderson FC (2004). *J Biomech*
//! 37:81–88.

use crate::muscle::{Fiber, MuscleParameters, curves};

/// Specific tension (Pa) and density (kg/m³) for muscle mass.
pub const SPECIFIC_TENSION: f64 = 0.25e6;
pub const DENSITY: f64 = 1059.7;
/// Basal rate (W per kg of body mass).
pub const BASAL_W_PER_KG: f64 = 1.2;

/// Which model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Umberger2010,
    Bhargava2004,
}

/// One muscle at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MuscleState {
    pub activation: f64,
    pub excitation: f64,
    pub fiber: Fiber,
    /// Active fibre force (N, along the fibre); `None`: from the activation
    /// and the curves, `a·F0·fL·fV`.
    pub force: Option<f64>,
}

/// A muscle's mass (kg).
#[must_use]
pub fn muscle_mass(p: &MuscleParameters) -> f64 {
    p.max_isometric_force / SPECIFIC_TENSION * DENSITY * p.optimal_fiber_length
}

/// The metabolic parameters of one muscle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Energetics {
    /// Share of slow-twitch fibres (0–1).
    pub slow_twitch: f64,
    /// Muscle mass (kg).
    pub mass: f64,
    /// Umberger's aerobic factor S: 1.5 for mostly aerobic work such as
    /// walking, 1.0 for the short maximal contractions of the 2003 paper's
    /// Fig. 1. Bhargava's model has none.
    pub aerobic_factor: f64,
    /// Umberger's slow-twitch share from Bhargava's recruitment model
    /// (slow fibres first: `r·sin(πu/2)` against `(1 − r)(1 − cos(πu/2))`),
    /// as OpenSim's probe does by default (`use_Bhargava_recruitment_model`);
    /// `false`: the fixed share, as published. At full excitation both give
    /// the fixed share.
    pub recruitment: bool,
}

impl Energetics {
    /// The defaults for a muscle in walking: half slow-twitch, mass from
    /// [`muscle_mass`], S = 1.5.
    #[must_use]
    pub fn walking(p: &MuscleParameters) -> Self {
        Self {
            slow_twitch: 0.5,
            mass: muscle_mass(p),
            aerobic_factor: 1.5,
            recruitment: true,
        }
    }
}

/// The heat and work rate of one muscle (W), and its heat part alone, with
/// the walking defaults of [`Energetics::walking`] but `slow_twitch`.
#[must_use]
pub fn muscle_rate(
    model: Model,
    p: &MuscleParameters,
    state: &MuscleState,
    slow_twitch: f64,
) -> (f64, f64) {
    let e = Energetics {
        slow_twitch,
        ..Energetics::walking(p)
    };
    muscle_rate_with(model, p, state, &e)
}

/// Bhargava's orderly recruitment at excitation `u` of a muscle with a
/// slow-twitch share `r`: the recruited slow and fast parts,
/// `r·sin(πu/2)` and `(1 − r)(1 − cos(πu/2))`.
fn recruited(u: f64, r: f64) -> (f64, f64) {
    let half_pi = std::f64::consts::FRAC_PI_2;
    (
        r * (half_pi * u).sin(),
        (1.0 - r) * (1.0 - (half_pi * u).cos()),
    )
}

/// Umberger's slow-twitch share of the recruited fibres at excitation `u`.
fn umberger_slow_share(u: f64, e: &Energetics) -> f64 {
    if !e.recruitment {
        return e.slow_twitch;
    }
    let (slow, fast) = recruited(u, e.slow_twitch);
    if u == 0.0 { 1.0 } else { slow / (slow + fast) }
}

/// Umberger's activation and maintenance heat rate alone (W), without the
/// 1-W/kg floor of the total heat: the part of the model that depends on
/// the activation and the fibre length, not on the fibre's speed.
#[must_use]
pub fn umberger_am(p: &MuscleParameters, state: &MuscleState, e: &Energetics) -> f64 {
    let l = state.fiber.length / p.optimal_fiber_length;
    let a = state.activation.clamp(0.0, 1.0);
    let u = state.excitation.clamp(0.0, 1.0);
    let big_a = if u > a { u } else { 0.5 * (u + a) };
    let unscaled = 128.0 * (1.0 - umberger_slow_share(u, e)) + 25.0;
    let shape = if l <= 1.0 {
        1.0
    } else {
        0.4 + 0.6 * curves::active_force_length(l)
    };
    e.aerobic_factor * big_a.powf(0.6) * unscaled * shape * e.mass
}

/// The heat and work rate of one muscle (W), and its heat part alone.
#[must_use]
pub fn muscle_rate_with(
    model: Model,
    p: &MuscleParameters,
    state: &MuscleState,
    e: &Energetics,
) -> (f64, f64) {
    let (mass, slow_twitch) = (e.mass, e.slow_twitch);
    let l = state.fiber.length / p.optimal_fiber_length;
    let v = state.fiber.velocity; // m/s, lengthening positive
    let f_l = curves::active_force_length(l);
    let a = state.activation.clamp(0.0, 1.0);
    let u = state.excitation.clamp(0.0, 1.0);
    // Active fibre force (along the fibre, N).
    let v_norm = v / (p.max_contraction_velocity * p.optimal_fiber_length);
    let f_active = state
        .force
        .unwrap_or_else(|| a * p.max_isometric_force * f_l * p.force_velocity(v_norm))
        .max(0.0);
    match model {
        Model::Umberger2010 => {
            let s_factor = e.aerobic_factor;
            let r = umberger_slow_share(u, e);
            let big_a = if u > a { u } else { 0.5 * (u + a) };
            let am = umberger_am(p, state, e) / mass;
            // Shortening heat, with v in optimal lengths per second.
            let v_lopt = v / p.optimal_fiber_length;
            let v_ft = p.max_contraction_velocity;
            let v_st = v_ft / 2.5;
            let (alpha_ft, alpha_st) = (153.0 / v_ft, 100.0 / v_st);
            let mut sl = if v_lopt <= 0.0 {
                let st = (-alpha_st * v_lopt).min(100.0);
                let ft = alpha_ft * v_lopt * (1.0 - r);
                s_factor * big_a * big_a * (st * r - ft)
            } else {
                s_factor * big_a * 0.3 * alpha_st * v_lopt
            };
            if l > 1.0 {
                sl *= f_l;
            }
            let work = if v <= 0.0 { -f_active * v / mass } else { 0.0 };
            let heat = (am + sl).max(1.0);
            ((heat + work) * mass, heat * mass)
        }
        Model::Bhargava2004 => {
            let (slow, fast) = recruited(u, slow_twitch);
            let activation_heat = mass * (40.0 * slow + 133.0 * fast);
            // Fibre-length dependence of maintenance heat: 0.5 up to half
            // the optimal length, 1 at it, 0 from 1.5 on (linear between).
            let shape = if l <= 0.5 {
                0.5
            } else if l <= 1.0 {
                0.5 + (l - 0.5)
            } else if l <= 1.5 {
                1.0 - 2.0 * (l - 1.0)
            } else {
                0.0
            };
            let maintenance = mass * shape * (74.0 * slow + 111.0 * fast);
            let shortening = if v <= 0.0 { -0.25 * f_active * v } else { 0.0 };
            let work = -f_active * v;
            let heat = (activation_heat + maintenance + shortening).max(mass);
            (heat + work, heat)
        }
    }
}

/// The whole body's rate (W): basal plus every muscle.
#[must_use]
pub fn body_rate(
    model: Model,
    params: &[MuscleParameters],
    states: &[MuscleState],
    body_mass: f64,
) -> f64 {
    BASAL_W_PER_KG * body_mass
        + params
            .iter()
            .zip(states)
            .map(|(p, s)| muscle_rate(model, p, s, 0.5).0)
            .sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn muscle() -> MuscleParameters {
        MuscleParameters {
            name: "m".into(),
            max_isometric_force: 2500.0,
            optimal_fiber_length: 0.1,
            tendon_slack_length: 0.2,
            pennation_at_optimal: 0.0,
            max_contraction_velocity: 10.0,
            min_activation: 0.0,
            max_activation: 1.0,
            activation_floor: 0.0,
            activation_time: 0.015,
            deactivation_time: 0.06,
            max_eccentric_force: 1.8,
        }
    }

    fn at(a: f64, l: f64, v: f64) -> MuscleState {
        MuscleState {
            activation: a,
            excitation: a,
            fiber: Fiber {
                length: l,
                velocity: v,
                cos_pennation: 1.0,
            },
            force: None,
        }
    }

    #[test]
    fn isometric_and_resting_rates_follow_the_papers() {
        let p = muscle();
        // 2500 N / 0.25 MPa = 100 cm², × 10 cm × 1059.7 kg/m³.
        let mass = muscle_mass(&p);
        assert!((mass - 1.0597).abs() < 1e-9, "{mass}");
        // Umberger: fully active, isometric at the optimal length, half
        // slow-twitch: 1.5 × (128 × 0.5 + 25) = 133.5 W/kg, no work.
        let (total, heat) = muscle_rate(Model::Umberger2010, &p, &at(1.0, 0.1, 0.0), 0.5);
        assert!((total / mass - 133.5).abs() < 1e-9 && (heat - total).abs() < 1e-12);
        // At rest: the 1 W/kg heat floor.
        let (rest, _) = muscle_rate(Model::Umberger2010, &p, &at(0.0, 0.1, 0.0), 0.5);
        assert!((rest / mass - 1.0).abs() < 1e-12);
        // Bhargava: fully active isometric: (40 + 74) × 0.5 + (133 + 111) × 0.5 = 179 W/kg.
        let (b, _) = muscle_rate(Model::Bhargava2004, &p, &at(1.0, 0.1, 0.0), 0.5);
        assert!((b / mass - 179.0).abs() < 1e-9, "{}", b / mass);
    }

    #[test]
    fn shortening_costs_more_than_lengthening() {
        let p = muscle();
        for model in [Model::Umberger2010, Model::Bhargava2004] {
            let iso = muscle_rate(model, &p, &at(0.5, 0.1, 0.0), 0.5).0;
            let short = muscle_rate(model, &p, &at(0.5, 0.1, -0.2), 0.5).0;
            let long = muscle_rate(model, &p, &at(0.5, 0.1, 0.2), 0.5).0;
            assert!(
                short > iso && long < short,
                "{model:?}: {short} {iso} {long}"
            );
            // Shortening work is part of the cost: at least F·|v|.
            let work = 0.5 * 2500.0 * curves::force_velocity(-0.2 / 1.0) * 0.2;
            assert!(short - iso > 0.5 * work, "{model:?}");
        }
        // Activation raises the rate monotonically.
        let mut last = 0.0;
        for k in 0..=10 {
            let r = muscle_rate(
                Model::Umberger2010,
                &p,
                &at(f64::from(k) / 10.0, 0.1, -0.1),
                0.5,
            )
            .0;
            assert!(r >= last);
            last = r;
        }
    }
    /// Umberger et al. (2003) Fig. 1, as OpenSim's metabolic-probe test
    /// reproduces it: the soleus and rectus femoris of the paper (van Soest
    /// and Bobbert's contractile element, fully active at the optimal
    /// length, S = 1), total energy rate over shortening velocities 0 to
    /// v_max against polynomials fitted to the published curves (their
    /// fit error < 1 W/kg; OpenSim's test allows 1 W/kg).
    #[test]
    #[allow(clippy::unreadable_literal)] // the fits' coefficients as published in OpenSim's test
    fn umberger_2003_figure_1_is_reproduced() {
        struct Muscle {
            name: &'static str,
            f0: f64,
            l_opt: f64,
            arel: f64,
            brel: f64,
            slow: f64,
            mass: f64,
            /// Fits to the published curve (Horner, highest power first)
            /// for normalised velocities ≥ −0.4 and below.
            near: &'static [f64],
            far: &'static [f64],
        }
        let horner = |c: &[f64], v: f64| c.iter().fold(0.0, |acc, k| acc * v + k);
        let cases = [
            Muscle {
                name: "soleus",
                f0: 3127.0,
                l_opt: 0.055,
                arel: 0.18,
                brel: 2.16,
                slow: 0.8,
                mass: 0.805,
                near: &[
                    -54693.72433,
                    -73876.93352,
                    -41460.1508,
                    -13203.6807,
                    -2682.925993,
                    51.39363659,
                ],
                far: &[-187.6077328, -553.9650747, -194.9721769, 332.9105995],
            },
            Muscle {
                name: "rectus femoris",
                f0: 1118.0,
                l_opt: 0.084,
                arel: 0.36,
                brel: 4.32,
                slow: 0.35,
                mass: 0.4275,
                near: &[
                    -10181.27442,
                    -13652.40864,
                    -8368.687834,
                    -2747.369194,
                    109.028979,
                ],
                far: &[-404.1161485, -1267.967225, -744.3435788, 362.7505521],
            },
        ];
        for Muscle {
            name,
            f0,
            l_opt,
            arel,
            brel,
            slow,
            mass,
            near,
            far,
        } in cases
        {
            let p = MuscleParameters {
                name: name.into(),
                max_isometric_force: f0,
                optimal_fiber_length: l_opt,
                max_contraction_velocity: brel / arel,
                max_eccentric_force: 1.5,
                ..muscle()
            };
            let e = Energetics {
                slow_twitch: slow,
                mass,
                aerobic_factor: 1.0,
                recruitment: false,
            };
            let mut worst = 0.0_f64;
            for i in 0..=20 {
                let vn = -f64::from(i) / 20.0;
                let mut st = at(1.0, l_opt, vn * p.max_contraction_velocity * l_opt);
                st.force = Some(f0 * arel * (1.0 + vn) / (arel - vn));
                let rate = muscle_rate_with(Model::Umberger2010, &p, &st, &e).0 / mass;
                let paper = horner(if vn >= -0.4 { near } else { far }, vn);
                worst = worst.max((rate - paper).abs());
            }
            eprintln!("{name}: largest difference from the paper's curve {worst:.3} W/kg");
            assert!(worst < 1.0, "{name}: {worst} W/kg from the paper's curve");
        }
    }
}
