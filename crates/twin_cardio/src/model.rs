//! State vector and right-hand side of the closed-loop circulation.
//!
//! State (20): chamber volumes LA, LV, RA, RV (mL); pressures of the systemic
//! and pulmonary arterial and venous compliances (mmHg); flows through their
//! resistance–inertance branches (mL/s); flows through the mitral, aortic,
//! tricuspid and pulmonary valves (mL/s); valve opening states ζ ∈ [0, 1].
//!
//! ```text
//!  V'_LA = Q_VEN,PUL − Q_MV          V'_LV = Q_MV − Q_AV
//!  V'_RA = Q_VEN,SYS − Q_TV          V'_RV = Q_TV − Q_PV
//!  C_AR,SYS p'_AR,SYS = Q_AV − Q_AR,SYS      (and alike for the others)
//!  L_AR,SYS Q'_AR,SYS = p_AR,SYS − p_VEN,SYS − R_AR,SYS Q_AR,SYS
//!  L_VEN,SYS Q'_VEN,SYS = p_VEN,SYS − p_RA − R_VEN,SYS Q_VEN,SYS
//!  valve:  L(ζ) Q' = Δp − B(ζ) Q|Q|,   B = ρ/(2A²), L = ρℓ/A, A = A_c + ζ(A_o − A_c)
//!          ζ' = (1 − ζ) K_o Δp  (Δp > 0),   ζ' = ζ K_c Δp  (Δp ≤ 0),
//!          held once ζ is within 1e-3 of 0 or 1 (then shut or fully open)
//!  chamber: p = (E_B + E_A φ(t)) (V − V0)
//! ```
//! The blood volume `Σ V + Σ C p` is conserved exactly by these
//! equations (every flow leaves one compartment and enters the next).

use crate::params::{Chamber, Parameters, Valve};

/// Number of state variables.
pub const N: usize = 20;

/// Indices into the state vector.
pub mod idx {
    pub const V_LA: usize = 0;
    pub const V_LV: usize = 1;
    pub const V_RA: usize = 2;
    pub const V_RV: usize = 3;
    pub const P_AR_SYS: usize = 4;
    pub const P_VEN_SYS: usize = 5;
    pub const P_AR_PUL: usize = 6;
    pub const P_VEN_PUL: usize = 7;
    pub const Q_AR_SYS: usize = 8;
    pub const Q_VEN_SYS: usize = 9;
    pub const Q_AR_PUL: usize = 10;
    pub const Q_VEN_PUL: usize = 11;
    pub const Q_MV: usize = 12;
    pub const Q_AV: usize = 13;
    pub const Q_TV: usize = 14;
    pub const Q_PV: usize = 15;
    pub const Z_MV: usize = 16;
    pub const Z_AV: usize = 17;
    pub const Z_TV: usize = 18;
    pub const Z_PV: usize = 19;
}

/// 1 mmHg in dyn/cm² (the valve's Bernoulli and inertance terms come out in
/// CGS units from ρ in g/cm³, A in cm², Q in mL/s).
pub const DYN_PER_MMHG: f64 = 1333.22;

pub type State = [f64; N];

/// Chamber activation φ(t) ∈ [0, 1] for a beat of `period` seconds.
///
/// The reference timings (of a 1-s beat) are scaled with √(period / 1 s)
/// (Bazett), and a contraction that starts late in the reference beat
/// (the atria) keeps its lead on the next beat's ventricular contraction.
///
/// A dyssynchronous chamber ([`Chamber::spread`]) sums the curve delayed
/// by each bin's delay, weighted by its share of the wall.
#[must_use]
pub fn activation(c: &Chamber, t: f64, period: f64) -> f64 {
    if c.spread.is_synchronous() {
        return synchronous_activation(c, t, period);
    }
    let bin = c.spread.bin_ms * 1e-3;
    c.spread
        .weights
        .iter()
        .enumerate()
        .filter(|(_, w)| **w > 0.0)
        .map(|(k, w)| w * synchronous_activation(c, t - k as f64 * bin, period))
        .sum()
}

fn synchronous_activation(c: &Chamber, t: f64, period: f64) -> f64 {
    let s = period.sqrt();
    let (tc, dc, dr) = if c.t_contract > 0.5 {
        (
            period - (1.0 - c.t_contract) * s,
            c.d_contract * s,
            c.d_relax * s,
        )
    } else {
        (c.t_contract * s, c.d_contract * s, c.d_relax * s)
    };
    let local = (t - tc).rem_euclid(period);
    if local < dc {
        0.5 * (1.0 - (std::f64::consts::PI * local / dc).cos())
    } else if local < dc + dr {
        0.5 * (1.0 + (std::f64::consts::PI * (local - dc) / dr).cos())
    } else {
        0.0
    }
}

/// Chamber pressure (mmHg).
#[must_use]
pub fn chamber_pressure(c: &Chamber, v: f64, t: f64, period: f64) -> f64 {
    (c.eb + c.ea * activation(c, t, period)) * (v - c.v0)
}

/// Below this opening state a valve counts as shut, above `1 − ZETA_END` as
/// fully open: the exponential approach of ζ to 0 or 1 (rates up to
/// thousands per second) would otherwise dictate sub-millisecond steps for
/// nothing the circulation can feel.
pub const ZETA_END: f64 = 1e-3;

/// Open area of a valve at state ζ (cm²).
#[must_use]
pub fn valve_area(v: &Valve, zeta: f64) -> f64 {
    let z = ((zeta - ZETA_END) / (1.0 - 2.0 * ZETA_END)).clamp(0.0, 1.0);
    v.area_closed + z * (v.area_open - v.area_closed)
}

/// Flow acceleration and opening rate of a valve with pressure difference
/// `dp` (upstream − downstream, mmHg), flow `q` and state `zeta`.
#[must_use]
pub fn valve_rates(v: &Valve, rho: f64, dp: f64, q: f64, zeta: f64) -> (f64, f64) {
    let a = valve_area(v, zeta);
    let b = rho / (2.0 * a * a) / DYN_PER_MMHG;
    let l = rho * v.length / a / DYN_PER_MMHG;
    let dq = (dp - b * q * q.abs()) / l;
    let dz = if dp > 0.0 {
        if zeta < 1.0 - ZETA_END {
            (1.0 - zeta) * v.k_open * dp
        } else {
            0.0
        }
    } else if zeta > ZETA_END {
        zeta * v.k_close * dp
    } else {
        0.0
    };
    (dq, dz)
}

/// Extra flows added by devices or infusions (mL/s), evaluated each step.
pub trait Extra {
    /// Whether there is a device at all (its flow is recorded per step
    /// only then).
    fn active(&self) -> bool {
        false
    }

    /// LV → aorta flow of an assist device at the given pressures.
    fn lvad_flow(&self, _p_lv: f64, _p_ao: f64) -> f64 {
        0.0
    }
}

/// No device.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoExtra;
impl Extra for NoExtra {}

/// Flow through the assist device of `extra` (mL/s) at state `y` and time
/// `t`; 0 without a device (then no pressure is evaluated).
#[must_use]
pub fn device_flow(p: &Parameters, extra: &dyn Extra, t: f64, y: &State) -> f64 {
    if extra.active() {
        let p_lv = chamber_pressure(&p.lv, y[idx::V_LV], t, p.period());
        extra.lvad_flow(p_lv, y[idx::P_AR_SYS])
    } else {
        0.0
    }
}

/// Pressures of a state at time `t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pressures {
    pub la: f64,
    pub lv: f64,
    pub ra: f64,
    pub rv: f64,
}

#[must_use]
pub fn pressures(p: &Parameters, y: &State, t: f64) -> Pressures {
    let period = p.period();
    Pressures {
        la: chamber_pressure(&p.la, y[idx::V_LA], t, period),
        lv: chamber_pressure(&p.lv, y[idx::V_LV], t, period),
        ra: chamber_pressure(&p.ra, y[idx::V_RA], t, period),
        rv: chamber_pressure(&p.rv, y[idx::V_RV], t, period),
    }
}

/// dy/dt.
#[must_use]
pub fn rhs(p: &Parameters, extra: &dyn Extra, t: f64, y: &State) -> State {
    rhs_with(p, extra, y, &pressures(p, y, t))
}

/// dy/dt with the chamber pressures `c` of `y` already known.
#[must_use]
pub fn rhs_with(p: &Parameters, extra: &dyn Extra, y: &State, c: &Pressures) -> State {
    #[allow(
        clippy::wildcard_imports,
        reason = "the state indices read best unqualified"
    )]
    use idx::*;
    let rho = p.blood_density;
    let mut d = [0.0; N];
    let q_lvad = extra.lvad_flow(c.lv, y[P_AR_SYS]);
    d[V_LA] = y[Q_VEN_PUL] - y[Q_MV];
    d[V_LV] = y[Q_MV] - y[Q_AV] - q_lvad;
    d[V_RA] = y[Q_VEN_SYS] - y[Q_TV];
    d[V_RV] = y[Q_TV] - y[Q_PV];
    d[P_AR_SYS] = (y[Q_AV] + q_lvad - y[Q_AR_SYS]) / p.ar_sys.c;
    d[P_VEN_SYS] = (y[Q_AR_SYS] - y[Q_VEN_SYS]) / p.ven_sys.c;
    d[P_AR_PUL] = (y[Q_PV] - y[Q_AR_PUL]) / p.ar_pul.c;
    d[P_VEN_PUL] = (y[Q_AR_PUL] - y[Q_VEN_PUL]) / p.ven_pul.c;
    d[Q_AR_SYS] = (y[P_AR_SYS] - y[P_VEN_SYS] - p.ar_sys.r * y[Q_AR_SYS]) / p.ar_sys.l;
    d[Q_VEN_SYS] = (y[P_VEN_SYS] - c.ra - p.ven_sys.r * y[Q_VEN_SYS]) / p.ven_sys.l;
    d[Q_AR_PUL] = (y[P_AR_PUL] - y[P_VEN_PUL] - p.ar_pul.r * y[Q_AR_PUL]) / p.ar_pul.l;
    d[Q_VEN_PUL] = (y[P_VEN_PUL] - c.la - p.ven_pul.r * y[Q_VEN_PUL]) / p.ven_pul.l;
    for (valve, dp, q, z) in [
        (&p.mitral, c.la - c.lv, Q_MV, Z_MV),
        (&p.aortic, c.lv - y[P_AR_SYS], Q_AV, Z_AV),
        (&p.tricuspid, c.ra - c.rv, Q_TV, Z_TV),
        (&p.pulmonary, c.rv - y[P_AR_PUL], Q_PV, Z_PV),
    ] {
        let (dq, dz) = valve_rates(valve, rho, dp, y[q], y[z]);
        d[q] = dq;
        d[z] = dz;
    }
    d
}

/// First state index of the stiff (implicit) part: the flows and the valve
/// states. Volumes and pressures (indices below) are explicit.
pub const STIFF: usize = 8;

/// The implicit stage equation of the IMEX integrator for the stiff part:
/// given the explicit components `y[..STIFF]` of a stage at time `t`, sets
/// `y[k] = r[k] + g·f_k(y)` for every `k ≥ STIFF`, in closed form.
///
/// Each stiff component's rate depends on itself and on explicit components
/// only (the valve flow also on its own valve's state, solved first), so the
/// stage equations decouple: linear for the vessel flows and the valve
/// states, quadratic (`q + c·q|q| = d`) for the valve flows. Returns the
/// chamber pressures of the stage (they depend on explicit components only).
pub fn solve_stiff(p: &Parameters, t: f64, g: f64, r: &State, y: &mut State) -> Pressures {
    #[allow(
        clippy::wildcard_imports,
        reason = "the state indices read best unqualified"
    )]
    use idx::*;
    let c = pressures(p, y, t);
    let branch =
        |v: &crate::params::Vessel, dp: f64, r: f64| (r + g * dp / v.l) / (1.0 + g * v.r / v.l);
    y[Q_AR_SYS] = branch(&p.ar_sys, y[P_AR_SYS] - y[P_VEN_SYS], r[Q_AR_SYS]);
    y[Q_VEN_SYS] = branch(&p.ven_sys, y[P_VEN_SYS] - c.ra, r[Q_VEN_SYS]);
    y[Q_AR_PUL] = branch(&p.ar_pul, y[P_AR_PUL] - y[P_VEN_PUL], r[Q_AR_PUL]);
    y[Q_VEN_PUL] = branch(&p.ven_pul, y[P_VEN_PUL] - c.la, r[Q_VEN_PUL]);
    let rho = p.blood_density;
    for (valve, dp, q, z) in [
        (&p.mitral, c.la - c.lv, Q_MV, Z_MV),
        (&p.aortic, c.lv - y[P_AR_SYS], Q_AV, Z_AV),
        (&p.tricuspid, c.ra - c.rv, Q_TV, Z_TV),
        (&p.pulmonary, c.rv - y[P_AR_PUL], Q_PV, Z_PV),
    ] {
        // ζ = r + g·ζ' with ζ' as in `valve_rates` (linear in ζ; held
        // within ZETA_END of shut or open).
        let rz = r[z];
        let zeta = if dp > 0.0 {
            if rz < 1.0 - ZETA_END {
                let k = g * valve.k_open * dp;
                (rz + k) / (1.0 + k)
            } else {
                rz
            }
        } else if rz > ZETA_END {
            rz / (1.0 - g * valve.k_close * dp)
        } else {
            rz
        };
        y[z] = zeta;
        // q = r + g(Δp − Bq|q|)/L  ⇔  q + c·q|q| = d.
        let a = valve_area(valve, zeta);
        let l = rho * valve.length / a / DYN_PER_MMHG;
        let b = rho / (2.0 * a * a) / DYN_PER_MMHG;
        let d = r[q] + g * dp / l;
        let cq = g * b / l;
        y[q] = 2.0 * d / (1.0 + (1.0 + 4.0 * cq * d.abs()).sqrt());
    }
    c
}

/// Blood volume held by the state (mL): chamber volumes plus vessel
/// volumes `C·p`. Conserved by [`rhs`].
#[must_use]
pub fn blood_volume(p: &Parameters, y: &State) -> f64 {
    #[allow(
        clippy::wildcard_imports,
        reason = "the state indices read best unqualified"
    )]
    use idx::*;
    y[V_LA]
        + y[V_LV]
        + y[V_RA]
        + y[V_RV]
        + p.ar_sys.c * y[P_AR_SYS]
        + p.ven_sys.c * y[P_VEN_SYS]
        + p.ar_pul.c * y[P_AR_PUL]
        + p.ven_pul.c * y[P_VEN_PUL]
}

/// A resting initial state holding `p.blood_volume_ml`: chambers at
/// mid-diastolic volumes, vessels at typical pressures, scaled so the
/// stressed volume is exact.
#[must_use]
pub fn initial_state(p: &Parameters) -> State {
    #[allow(
        clippy::wildcard_imports,
        reason = "the state indices read best unqualified"
    )]
    use idx::*;
    let mut y = [0.0; N];
    y[V_LA] = 65.0;
    y[V_LV] = 120.0;
    y[V_RA] = 65.0;
    y[V_RV] = 145.0;
    y[P_AR_SYS] = 80.0;
    y[P_VEN_SYS] = 5.0;
    y[P_AR_PUL] = 15.0;
    y[P_VEN_PUL] = 8.0;
    let v0 = p.la.v0 + p.lv.v0 + p.ra.v0 + p.rv.v0;
    let now = blood_volume(p, &y) - v0;
    let scale = (p.blood_volume_ml - v0) / now;
    for i in [V_LA, V_LV, V_RA, V_RV] {
        let v0 = [p.la.v0, p.lv.v0, p.ra.v0, p.rv.v0][i];
        y[i] = v0 + (y[i] - v0) * scale;
    }
    for i in [P_AR_SYS, P_VEN_SYS, P_AR_PUL, P_VEN_PUL] {
        y[i] *= scale;
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_rises_and_falls_once_per_beat() {
        let c = Parameters::default().lv;
        let period = 0.8;
        let at = |c: &Chamber, i: u32| activation(c, f64::from(i) * 0.001, period);
        let samples: Vec<f64> = (0..800u32).map(|i| at(&c, i)).collect();
        let peak = samples.iter().copied().fold(0.0, f64::max);
        assert!((peak - 1.0).abs() < 1e-3);
        assert!(samples.iter().all(|&a| (0.0..=1.0).contains(&a)));
        // Periodic.
        assert!((activation(&c, 0.1, period) - activation(&c, 0.9, period)).abs() < 1e-12);
        // Atria contract before the ventricles of the next beat.
        let a = Parameters::default().la;
        let i_peak = (0..800u32)
            .max_by(|&i, &j| at(&a, i).total_cmp(&at(&a, j)))
            .unwrap();
        let t_peak = f64::from(i_peak) * 0.001;
        assert!(t_peak > 0.6 && t_peak < 0.8, "{t_peak}");
    }

    #[test]
    fn initial_state_holds_the_stressed_volume_and_rhs_conserves_it() {
        let p = Parameters::default();
        let y = initial_state(&p);
        assert!((blood_volume(&p, &y) - p.blood_volume_ml).abs() < 1e-9);
        let d = rhs(&p, &NoExtra, 0.1, &y);
        let rate: f64 = (0..4).map(|i| d[i]).sum::<f64>()
            + p.ar_sys.c * d[idx::P_AR_SYS]
            + p.ven_sys.c * d[idx::P_VEN_SYS]
            + p.ar_pul.c * d[idx::P_AR_PUL]
            + p.ven_pul.c * d[idx::P_VEN_PUL];
        assert!(rate.abs() < 1e-9, "{rate}");
    }

    #[test]
    fn a_valve_opens_forward_and_closes_backward() {
        let v = Parameters::default().aortic;
        let (dq, dz) = valve_rates(&v, 1.06, 10.0, 0.0, 0.0);
        assert!(dq > 0.0 && dz > 0.0);
        let (_, dz) = valve_rates(&v, 1.06, 10.0, 0.0, 0.5);
        assert!(dz > 0.0);
        let (dq, dz) = valve_rates(&v, 1.06, -10.0, 100.0, 0.5);
        assert!(dq < 0.0 && dz < 0.0);
        // Bernoulli: at steady flow Δp = ρQ²/(2A²) (in mmHg).
        let q: f64 = 400.0;
        let dp = 1.06 * q * q / (2.0 * 16.0) / DYN_PER_MMHG;
        let (dq, _) = valve_rates(&v, 1.06, dp, q, 1.0);
        assert!(dq.abs() < 1e-9, "{dq}");
    }
}
