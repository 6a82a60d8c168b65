//! Autonomic control: the carotid-sinus (arterial) baroreflex of Ursino
//! 1998 and a cardiopulmonary (low-pressure) reflex on the right-atrial
//! pressure, acting on heart period, LV and RV contractility, systemic
//! resistance and the venous unstressed volume.
//!
//! Ursino M. "Interaction between carotid baroregulation and the pulsating
//! heart: a mathematical model". Am J Physiol 275:H1733–H1747, 1998:
//!
//! ```text
//!  afferent   τp dP̃/dt = P + τz dP/dt − P̃
//!             f_as = (f_min + f_max e^((P̃−Pn)/ka)) / (1 + e^((P̃−Pn)/ka))
//!  efferent   f_es = f_es∞ + (f_es0 − f_es∞) e^(−k_es f_as)
//!             f_ev = (f_ev0 + f_ev∞ e^((f_as−f_as0)/k_ev)) / (1 + e^((f_as−f_as0)/k_ev))
//!  effectors  σθ = Gθ ln(f_es(t − Dθ) − f_es,min + 1)   (0 below f_es,min)
//!             σTv = G_Tv f_ev(t − D_Tv)
//!             τθ dΔθ/dt = σθ − Δθ
//!  heart period  T = T0 + ΔT_s + ΔT_v
//! ```
//!
//! Ursino's effectors act on his own circulation; here each acts on the
//! patient's calibrated value *relative to the resting operating point*:
//! a contractility or resistance scales by `(θ0 + Δθ) / (θ0 + Δθ_rest)`,
//! the heart period shifts by `T − T_rest` (s), the venous unstressed volume
//! by `ΔV − ΔV_rest` (mL). The set point `Pn` is the patient's resting mean
//! arterial pressure, so the calibrated resting state is the reflex's
//! equilibrium: switched on at rest, nothing moves.
//!
//! The cardiopulmonary reflex follows the linear low-pressure reflex of the
//! CVSim model (Heldt et al. 2002, J Appl Physiol 92:1239; PhysioNet CVSim
//! defaults): a change of the right-atrial mean pressure from its resting
//! value (low-pass filtered, saturating at ±5 mmHg) changes the systemic
//! resistance by −5 %/mmHg and the venous unstressed volume by
//! +100 mL/mmHg, with the delays and time constants of Ursino's resistance
//! and venous effectors.
//!
//! β-blockade `b ∈ [0, 1]` (a drug) scales the sympathetic effect on the
//! heart (ΔT_s, ΔE_max) by `1 − b`; α-effects on vessels are untouched.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// One sympathetic (or vagal) effector: gain, time constant, delay and the
/// basal value of Ursino's model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Effector {
    pub gain: f64,
    pub tau_s: f64,
    pub delay_s: f64,
    /// θ0 of Ursino's model (for the ratios; 0 for the heart period parts).
    pub basal: f64,
}

/// Parameters of the reflexes (Ursino 1998, Table 1 and 2; CVSim).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReflexParams {
    /// Afferent filter: τp, τz (s).
    pub tau_p_s: f64,
    pub tau_z_s: f64,
    /// Sigmoid slope `ka` (mmHg) and firing limits (spikes/s).
    pub ka_mmhg: f64,
    pub f_min: f64,
    pub f_max: f64,
    /// Sympathetic efferent: f_es0, f_es∞, k_es (s), f_es,min.
    pub f_es0: f64,
    pub f_es_inf: f64,
    pub k_es: f64,
    pub f_es_min: f64,
    /// Vagal efferent: f_ev0, f_ev∞, f_as0, k_ev.
    pub f_ev0: f64,
    pub f_ev_inf: f64,
    pub f_as0: f64,
    pub k_ev: f64,
    pub e_lv: Effector,
    pub e_rv: Effector,
    pub r_splanchnic: Effector,
    pub r_extrasplanchnic: Effector,
    pub v_splanchnic: Effector,
    pub v_extrasplanchnic: Effector,
    pub t_sympathetic: Effector,
    pub t_vagal: Effector,
    /// Cardiopulmonary reflex: afferent time constant (s), saturation
    /// (mmHg), resistance gain (fraction per mmHg of RA pressure fall) and
    /// venous unstressed-volume gain (mL per mmHg of RA pressure rise).
    pub cp_tau_s: f64,
    pub cp_saturation_mmhg: f64,
    pub cp_resistance_per_mmhg: f64,
    pub cp_venous_ml_per_mmhg: f64,
}

impl Default for ReflexParams {
    fn default() -> Self {
        let eff = |gain, tau_s, delay_s, basal| Effector {
            gain,
            tau_s,
            delay_s,
            basal,
        };
        Self {
            tau_p_s: 2.076,
            tau_z_s: 6.37,
            ka_mmhg: 11.758,
            f_min: 2.52,
            f_max: 47.78,
            f_es0: 16.11,
            f_es_inf: 2.10,
            k_es: 0.0675,
            f_es_min: 2.66,
            f_ev0: 3.2,
            f_ev_inf: 6.3,
            f_as0: 25.0,
            k_ev: 7.06,
            e_lv: eff(0.475, 8.0, 2.0, 2.392),
            e_rv: eff(0.282, 8.0, 2.0, 1.412),
            r_splanchnic: eff(0.695, 6.0, 2.0, 2.49),
            r_extrasplanchnic: eff(0.53, 6.0, 2.0, 0.78),
            v_splanchnic: eff(-265.4, 20.0, 5.0, 1435.4),
            v_extrasplanchnic: eff(-132.5, 20.0, 5.0, 1537.0),
            t_sympathetic: eff(-0.13, 2.0, 2.0, 0.0),
            t_vagal: eff(0.09, 1.5, 0.2, 0.0),
            cp_tau_s: 2.0,
            cp_saturation_mmhg: 5.0,
            cp_resistance_per_mmhg: 0.05,
            cp_venous_ml_per_mmhg: 100.0,
        }
    }
}

/// One row of the reflex parameter table (for docs and `twin cardio params`).
#[derive(Debug, Clone, Serialize)]
pub struct ReflexInfo {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    pub source: &'static str,
}

const URSINO: &str = "Ursino 1998, Am J Physiol 275:H1733";
const CVSIM: &str = "CVSim (Heldt et al. 2002; PhysioNet), cardiopulmonary reflex defaults";

impl ReflexParams {
    /// The parameters with units and sources.
    #[must_use]
    pub fn table(&self) -> Vec<ReflexInfo> {
        let row = |name: &str, value, unit, source| ReflexInfo {
            name: name.to_owned(),
            value,
            unit,
            source,
        };
        let mut t = vec![
            row("tau_p", self.tau_p_s, "s", URSINO),
            row("tau_z", self.tau_z_s, "s", URSINO),
            row("ka", self.ka_mmhg, "mmHg", URSINO),
            row("f_min", self.f_min, "spikes/s", URSINO),
            row("f_max", self.f_max, "spikes/s", URSINO),
            row("f_es0", self.f_es0, "spikes/s", URSINO),
            row("f_es_inf", self.f_es_inf, "spikes/s", URSINO),
            row("k_es", self.k_es, "s", URSINO),
            row("f_es_min", self.f_es_min, "spikes/s", URSINO),
            row("f_ev0", self.f_ev0, "spikes/s", URSINO),
            row("f_ev_inf", self.f_ev_inf, "spikes/s", URSINO),
            row("f_as0", self.f_as0, "spikes/s", URSINO),
            row("k_ev", self.k_ev, "spikes/s", URSINO),
        ];
        for (name, e, unit) in [
            ("E_max,lv", &self.e_lv, "mmHg/mL per ln(spikes/s)"),
            ("E_max,rv", &self.e_rv, "mmHg/mL per ln(spikes/s)"),
            ("R_sp", &self.r_splanchnic, "mmHg·s/mL per ln(spikes/s)"),
            (
                "R_ep",
                &self.r_extrasplanchnic,
                "mmHg·s/mL per ln(spikes/s)",
            ),
            ("V_u,sv", &self.v_splanchnic, "mL per ln(spikes/s)"),
            ("V_u,ev", &self.v_extrasplanchnic, "mL per ln(spikes/s)"),
            ("T_s", &self.t_sympathetic, "s per ln(spikes/s)"),
            ("T_v", &self.t_vagal, "s per spikes/s"),
        ] {
            t.push(row(&format!("{name}.gain"), e.gain, unit, URSINO));
            t.push(row(&format!("{name}.tau"), e.tau_s, "s", URSINO));
            t.push(row(&format!("{name}.delay"), e.delay_s, "s", URSINO));
            if e.basal != 0.0 {
                t.push(row(
                    &format!("{name}.basal"),
                    e.basal,
                    "(Ursino's units)",
                    URSINO,
                ));
            }
        }
        t.extend([
            row(
                "cp.tau",
                self.cp_tau_s,
                "s",
                "assumed: Ursino's afferent τp",
            ),
            row(
                "cp.saturation",
                self.cp_saturation_mmhg,
                "mmHg",
                "assumed: the linear range of the CVSim reflex",
            ),
            row(
                "cp.resistance_gain",
                self.cp_resistance_per_mmhg,
                "fraction of R per mmHg",
                CVSIM,
            ),
            row(
                "cp.venous_gain",
                self.cp_venous_ml_per_mmhg,
                "mL per mmHg",
                CVSIM,
            ),
        ]);
        t
    }
}

/// What the reflexes do to the patient's parameters, relative to rest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReflexEffects {
    /// Added to the resting heart period (s).
    pub period_shift_s: f64,
    pub lv_contractility: f64,
    pub rv_contractility: f64,
    pub resistance: f64,
    /// Blood moved from the unstressed into the stressed volume (mL;
    /// positive when veins constrict).
    pub venous_recruited_ml: f64,
}

impl Default for ReflexEffects {
    fn default() -> Self {
        Self {
            period_shift_s: 0.0,
            lv_contractility: 1.0,
            rv_contractility: 1.0,
            resistance: 1.0,
            venous_recruited_ml: 0.0,
        }
    }
}

/// Efferent activity, for trends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// Carotid-sinus afferent, sympathetic and vagal efferent firing
    /// (spikes/s).
    pub f_as: f64,
    pub f_es: f64,
    pub f_ev: f64,
}

const N_EFF: usize = 8;

/// The reflexes' state, advanced along the solver's accepted steps.
#[derive(Debug, Clone)]
pub struct Reflex {
    pub params: ReflexParams,
    /// Set points: resting mean arterial and right-atrial pressures (mmHg).
    pub p_n: f64,
    pub ra_n: f64,
    /// u = P̃ − (τz/τp)·P, the afferent filter's state.
    u: f64,
    last_p: f64,
    ra_f: f64,
    /// Efferent history (time, f_es, f_ev) for the delays.
    history: VecDeque<(f64, f64, f64)>,
    /// Δθ of the eight effectors and of the two cardiopulmonary ones.
    delta: [f64; N_EFF],
    cp_r: f64,
    cp_v: f64,
    /// Δθ at rest (the reference).
    rest: [f64; N_EFF],
    t: f64,
    pub activity: Activity,
}

impl Reflex {
    /// A reflex at rest for a resting mean arterial pressure `map` and mean
    /// right-atrial pressure `ra` (the set points), its effectors at their
    /// equilibrium for a steady pressure.
    #[must_use]
    pub fn at_rest(params: ReflexParams, map: f64, ra: f64) -> Self {
        let mut r = Self {
            params,
            p_n: map,
            ra_n: ra,
            u: map * (1.0 - params.tau_z_s / params.tau_p_s),
            last_p: map,
            ra_f: ra,
            history: VecDeque::new(),
            delta: [0.0; N_EFF],
            cp_r: 0.0,
            cp_v: 0.0,
            rest: [0.0; N_EFF],
            t: 0.0,
            activity: Activity::default(),
        };
        let (f_as, f_es, f_ev) = r.firing(map);
        r.activity = Activity { f_as, f_es, f_ev };
        r.delta = r.targets(f_es, f_ev);
        r.rest = r.delta;
        r.history.push_back((0.0, f_es, f_ev));
        r
    }

    /// Makes the current effector state the reference (after settling on
    /// the pulsatile resting beat).
    pub fn reset_reference(&mut self) {
        self.rest = self.delta;
        self.cp_r = 0.0;
        self.cp_v = 0.0;
    }

    fn effectors(&self) -> [&Effector; N_EFF] {
        let p = &self.params;
        [
            &p.e_lv,
            &p.e_rv,
            &p.r_splanchnic,
            &p.r_extrasplanchnic,
            &p.v_splanchnic,
            &p.v_extrasplanchnic,
            &p.t_sympathetic,
            &p.t_vagal,
        ]
    }

    /// Afferent and efferent firing for a filtered pressure P̃.
    fn firing(&self, p_tilde: f64) -> (f64, f64, f64) {
        let q = &self.params;
        let e = ((p_tilde - self.p_n) / q.ka_mmhg).clamp(-50.0, 50.0).exp();
        let f_as = (q.f_min + q.f_max * e) / (1.0 + e);
        let f_es = q.f_es_inf + (q.f_es0 - q.f_es_inf) * (-q.k_es * f_as).exp();
        let ev = ((f_as - q.f_as0) / q.k_ev).clamp(-50.0, 50.0).exp();
        let f_ev = (q.f_ev0 + q.f_ev_inf * ev) / (1.0 + ev);
        (f_as, f_es, f_ev)
    }

    /// σθ of effector `i` for efferent firing (its target): sympathetic
    /// effectors on ln(f_es − f_es,min + 1), the last (vagal) on f_ev.
    fn target(&self, i: usize, f_es: f64, f_ev: f64) -> f64 {
        if i == N_EFF - 1 {
            return self.params.t_vagal.gain * f_ev;
        }
        let s = if f_es >= self.params.f_es_min {
            (f_es - self.params.f_es_min + 1.0).ln()
        } else {
            0.0
        };
        self.effectors()[i].gain * s
    }

    /// σθ of every effector.
    fn targets(&self, f_es: f64, f_ev: f64) -> [f64; N_EFF] {
        std::array::from_fn(|i| self.target(i, f_es, f_ev))
    }

    /// Efferent firing at time `t` (linear interpolation in the history).
    fn delayed(&self, t: f64) -> (f64, f64) {
        let h = &self.history;
        let first = h.front().expect("the history is never empty");
        if t <= first.0 {
            return (first.1, first.2);
        }
        let i = h.partition_point(|s| s.0 <= t);
        if i >= h.len() {
            let last = h.back().expect("non-empty");
            return (last.1, last.2);
        }
        let (a, b) = (h[i - 1], h[i]);
        let w = if b.0 > a.0 {
            (t - a.0) / (b.0 - a.0)
        } else {
            1.0
        };
        (a.1 + w * (b.1 - a.1), a.2 + w * (b.2 - a.2))
    }

    /// Advances by `dt` seconds with arterial pressure `p_art` and
    /// right-atrial pressure `p_ra` at the end of the step (held linear
    /// over it).
    pub fn step(&mut self, dt: f64, p_art: f64, p_ra: f64) {
        if dt <= 0.0 {
            return;
        }
        let q = self.params;
        // Afferent: du/dt = (P (1 − τz/τp) − u) / τp, P the step's mean.
        let k = 1.0 - q.tau_z_s / q.tau_p_s;
        let p_mid = 0.5 * (self.last_p + p_art);
        let a = (-dt / q.tau_p_s).exp();
        self.u = p_mid * k + (self.u - p_mid * k) * a;
        self.last_p = p_art;
        let p_tilde = self.u + q.tau_z_s / q.tau_p_s * p_art;
        self.t += dt;
        let (f_as, f_es, f_ev) = self.firing(p_tilde);
        self.activity = Activity { f_as, f_es, f_ev };
        self.history.push_back((self.t, f_es, f_ev));
        let keep = self.t - 6.0;
        while self.history.len() > 2 && self.history[1].0 < keep {
            self.history.pop_front();
        }
        // Effectors, each on its own delay (exact for a target held over
        // the step).
        let timing = self.effectors().map(|e| (e.delay_s, e.tau_s));
        for (i, (delay, tau)) in timing.into_iter().enumerate() {
            let (es, ev) = self.delayed(self.t - delay);
            let target = self.target(i, es, ev);
            let a = (-dt / tau).exp();
            self.delta[i] = target + (self.delta[i] - target) * a;
        }
        // Cardiopulmonary: filtered RA pressure, then the resistance and
        // venous effectors (Ursino's R and V_u time constants; the delay is
        // folded into the filter).
        let a = (-dt / q.cp_tau_s).exp();
        self.ra_f = p_ra + (self.ra_f - p_ra) * a;
        let err = (self.ra_f - self.ra_n).clamp(-q.cp_saturation_mmhg, q.cp_saturation_mmhg);
        let a_r = (-dt / q.r_splanchnic.tau_s).exp();
        let a_v = (-dt / q.v_splanchnic.tau_s).exp();
        self.cp_r =
            -q.cp_resistance_per_mmhg * err + (self.cp_r + q.cp_resistance_per_mmhg * err) * a_r;
        let target_v = q.cp_venous_ml_per_mmhg * err;
        self.cp_v = target_v + (self.cp_v - target_v) * a_v;
    }

    /// The reflexes' effects relative to rest, with β-blockade `beta_block`
    /// (0: none, 1: complete) of the sympathetic effect on the heart.
    #[must_use]
    pub fn effects(&self, beta_block: f64) -> ReflexEffects {
        let b = 1.0 - beta_block.clamp(0.0, 1.0);
        let p = &self.params;
        let ratio = |e: &Effector, d: f64, r: f64| (e.basal + b * d) / (e.basal + r);
        let (d, r) = (&self.delta, &self.rest);
        let cond = |x: f64, y: f64| {
            1.0 / (p.r_splanchnic.basal + x) + 1.0 / (p.r_extrasplanchnic.basal + y)
        };
        let resistance = cond(r[2], r[3]) / cond(d[2], d[3]);
        ReflexEffects {
            period_shift_s: b * d[6] + d[7] - (r[6] + r[7]),
            lv_contractility: ratio(&p.e_lv, d[0], r[0]),
            rv_contractility: ratio(&p.e_rv, d[1], r[1]),
            resistance: resistance * (1.0 + self.cp_r),
            venous_recruited_ml: -(d[4] + d[5] - r[4] - r[5]) - self.cp_v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps the reflex for `seconds` at a constant pressure.
    fn hold(r: &mut Reflex, seconds: f64, p: f64, ra: f64) {
        let dt = 0.01;
        for _ in 0..(seconds / dt) as usize {
            r.step(dt, p, ra);
        }
    }

    #[test]
    fn at_rest_nothing_moves() {
        let mut r = Reflex::at_rest(ReflexParams::default(), 93.0, 4.0);
        hold(&mut r, 60.0, 93.0, 4.0);
        let e = r.effects(0.0);
        assert!(e.period_shift_s.abs() < 1e-9, "{e:?}");
        assert!((e.lv_contractility - 1.0).abs() < 1e-9);
        assert!((e.resistance - 1.0).abs() < 1e-9);
        assert!(e.venous_recruited_ml.abs() < 1e-6);
    }

    #[test]
    fn a_pressure_fall_speeds_the_heart_and_constricts_and_a_rise_does_the_opposite() {
        let mut low = Reflex::at_rest(ReflexParams::default(), 93.0, 4.0);
        hold(&mut low, 60.0, 73.0, 4.0);
        let e = low.effects(0.0);
        assert!(e.period_shift_s < -0.05, "{e:?}");
        assert!(e.lv_contractility > 1.05 && e.resistance > 1.05, "{e:?}");
        assert!(e.venous_recruited_ml > 50.0, "{e:?}");
        let mut high = Reflex::at_rest(ReflexParams::default(), 93.0, 4.0);
        hold(&mut high, 60.0, 113.0, 4.0);
        let e = high.effects(0.0);
        assert!(e.period_shift_s > 0.05, "{e:?}");
        assert!(e.lv_contractility < 1.0 && e.resistance < 1.0, "{e:?}");
        // β-blockade removes the sympathetic part of the tachycardia.
        let blocked = low.effects(1.0);
        assert!(blocked.period_shift_s > e.period_shift_s.min(0.0));
        assert!(blocked.period_shift_s > low.effects(0.0).period_shift_s);
        assert!(blocked.lv_contractility < 1.0);
    }

    #[test]
    fn the_delays_hold_back_the_response() {
        // 1 s after a step fall the sympathetic effectors (delay 2 s) have
        // not moved; the vagal one (0.2 s) has.
        let mut r = Reflex::at_rest(ReflexParams::default(), 93.0, 4.0);
        hold(&mut r, 1.0, 73.0, 4.0);
        let e = r.effects(0.0);
        assert!((e.lv_contractility - 1.0).abs() < 1e-9, "{e:?}");
        assert!(e.period_shift_s < -0.01, "{e:?}");
    }

    #[test]
    fn unloading_the_cardiopulmonary_receptors_constricts_without_tachycardia() {
        let mut r = Reflex::at_rest(ReflexParams::default(), 93.0, 4.0);
        hold(&mut r, 120.0, 93.0, 1.0);
        let e = r.effects(0.0);
        assert!(e.period_shift_s.abs() < 1e-9);
        assert!((e.resistance - 1.15).abs() < 0.01, "{e:?}");
        assert!((e.venous_recruited_ml - 300.0).abs() < 5.0, "{e:?}");
    }
}
