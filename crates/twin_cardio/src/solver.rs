//! Adaptive integration with error control: an additive (IMEX)
//! Runge–Kutta pair by default, Dormand–Prince 5(4) as an independent check.
//!
//! Why IMEX: the Jacobian's fast modes (measured along a beat: 120–520 /s
//! throughout, up to 6 000 /s while a valve shuts) each sit on a single flow
//! or valve-state component — the venous `R/L`, a valve's jet relaxation
//! `√(2Δp/ρ)/ℓ`, a closing leaflet — so an explicit scheme is held to
//! 3–4 ms steps by stability alone, not accuracy (loosening DOPRI5's
//! tolerance 100-fold saved only 40 % of its steps). Kennedy & Carpenter's
//! ARK4(3)6L[2]SA (2003) treats the flows and valve states implicitly and
//! the volumes and pressures explicitly; with that split each implicit stage
//! equation is one scalar equation per component, solved in closed form
//! ([`solve_stiff`]), so a step costs no more than an explicit one. Both
//! parts share their weights, so the blood volume (a linear invariant of the
//! explicit components) is kept to rounding. The convergence study is in
//! `docs/models/cardio.md` and the tests.

use crate::CardioError;
use crate::model::{Extra, N, STIFF, State, rhs, rhs_with, solve_stiff};
use crate::params::Parameters;
use twin_core::dopri::{A, C, E};

/// ARK4(3)6L[2]SA (Kennedy & Carpenter 2003, Appl. Numer. Math. 44:139–181,
/// table in their appendix C): explicit part `AE`, implicit ESDIRK part
/// `AI` (diagonal `GAMMA`), shared nodes, weights and embedded weights.
mod ark {
    pub const GAMMA: f64 = 0.25;
    pub const C: [f64; 6] = [0.0, 0.5, 83.0 / 250.0, 31.0 / 50.0, 17.0 / 20.0, 1.0];
    pub const AE: [[f64; 5]; 6] = [
        [0.0; 5],
        [0.5, 0.0, 0.0, 0.0, 0.0],
        [13861.0 / 62500.0, 6889.0 / 62500.0, 0.0, 0.0, 0.0],
        [
            -116_923_316_275.0 / 2_393_684_061_468.0,
            -2_731_218_467_317.0 / 15_368_042_101_831.0,
            9_408_046_702_089.0 / 11_113_171_139_209.0,
            0.0,
            0.0,
        ],
        [
            -451_086_348_788.0 / 2_902_428_689_909.0,
            -2_682_348_792_572.0 / 7_519_795_681_897.0,
            12_662_868_775_082.0 / 11_960_479_115_383.0,
            3_355_817_975_965.0 / 11_060_851_509_271.0,
            0.0,
        ],
        [
            647_845_179_188.0 / 3_216_320_057_751.0,
            73_281_519_250.0 / 8_382_639_484_533.0,
            552_539_513_391.0 / 3_454_668_386_233.0,
            3_354_512_671_639.0 / 8_306_763_924_573.0,
            4040.0 / 17871.0,
        ],
    ];
    /// Strictly lower part of the implicit table (its diagonal is `GAMMA`
    /// from the second stage on; the first stage is explicit).
    pub const AI: [[f64; 5]; 6] = [
        [0.0; 5],
        [0.25, 0.0, 0.0, 0.0, 0.0],
        [8611.0 / 62500.0, -1743.0 / 31250.0, 0.0, 0.0, 0.0],
        [
            5_012_029.0 / 34_652_500.0,
            -654_441.0 / 2_922_500.0,
            174_375.0 / 388_108.0,
            0.0,
            0.0,
        ],
        [
            15_267_082_809.0 / 155_376_265_600.0,
            -71_443_401.0 / 120_774_400.0,
            730_878_875.0 / 902_184_768.0,
            2_285_395.0 / 8_070_912.0,
            0.0,
        ],
        [
            82889.0 / 524_892.0,
            0.0,
            15625.0 / 83664.0,
            69875.0 / 102_672.0,
            -2260.0 / 8211.0,
        ],
    ];
    pub const B: [f64; 6] = [
        82889.0 / 524_892.0,
        0.0,
        15625.0 / 83664.0,
        69875.0 / 102_672.0,
        -2260.0 / 8211.0,
        0.25,
    ];
    /// Embedded (3rd-order) weights.
    pub const D: [f64; 6] = [
        4_586_570_599.0 / 29_645_900_160.0,
        0.0,
        178_811_875.0 / 945_068_544.0,
        814_220_225.0 / 1_159_782_912.0,
        -3_700_637.0 / 11_593_932.0,
        61727.0 / 225_920.0,
    ];
}

/// Which integrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// ARK4(3)6L[2]SA, flows and valve states implicit (the default).
    #[default]
    Imex43,
    /// Dormand–Prince 5(4), fully explicit: the independent reference.
    Dopri54,
}

/// Tolerances and step limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub rtol: f64,
    /// Absolute tolerance scale: volumes (mL), pressures (mmHg), flows (mL/s)
    /// use `atol`, the valve states `atol × 1e-2`.
    pub atol: f64,
    pub h_max: f64,
    pub h_min: f64,
    pub method: Method,
}

impl Default for Tolerance {
    fn default() -> Self {
        Self {
            rtol: 1e-3,
            atol: 1e-2,
            h_max: 0.01,
            h_min: 1e-9,
            method: Method::default(),
        }
    }
}

/// The integrator's carried state: time, state, derivative (FSAL) and the
/// next step size.
#[derive(Debug, Clone)]
pub struct Integrator {
    pub t: f64,
    pub y: State,
    k1: State,
    pub h: f64,
    pub tol: Tolerance,
    /// Accepted and rejected steps so far.
    pub accepted: usize,
    pub rejected: usize,
}

impl Integrator {
    #[must_use]
    pub fn new(p: &Parameters, extra: &dyn Extra, t: f64, y: State, tol: Tolerance) -> Self {
        let k1 = rhs(p, extra, t, &y);
        Self {
            t,
            y,
            k1,
            h: 1e-4,
            tol,
            accepted: 0,
            rejected: 0,
        }
    }

    /// Continues from time `t` and state `y` under (possibly new)
    /// parameters, keeping the step size: for beat-by-beat runs whose
    /// parameters change between beats.
    pub fn restart(&mut self, p: &Parameters, extra: &dyn Extra, t: f64, y: State) {
        self.k1 = rhs(p, extra, t, &y);
        self.t = t;
        self.y = y;
    }

    /// Integrates to `t_end` exactly, calling `on_step(t, y)` after every
    /// accepted step.
    pub fn advance(
        &mut self,
        p: &Parameters,
        extra: &dyn Extra,
        t_end: f64,
        mut on_step: impl FnMut(f64, &State),
    ) -> Result<(), CardioError> {
        while self.t < t_end - 1e-12 {
            let h = self.h.min(t_end - self.t).min(self.tol.h_max);
            let (y_new, e, k_end, order) = match self.tol.method {
                Method::Imex43 => {
                    let (y, e) = self.imex_step(p, extra, h);
                    (y, e, None, 4.0)
                }
                Method::Dopri54 => {
                    let (y, e, k) = self.dopri_step(p, extra, h);
                    (y, e, Some(k), 5.0)
                }
            };
            let err = self.error_norm(&y_new, &e);
            if !err.is_finite() {
                return Err(CardioError::Solver {
                    t: self.t,
                    dt: h,
                    why: "the state became non-finite",
                });
            }
            let factor = if err == 0.0 {
                5.0
            } else {
                (0.9 * err.powf(-1.0 / order)).clamp(0.2, 5.0)
            };
            if err <= 1.0 {
                self.t += h;
                self.y = y_new;
                for z in &mut self.y[16..20] {
                    *z = z.clamp(0.0, 1.0);
                }
                // The last stage's derivative (FSAL) unless the clamp of
                // the valve states moved the state.
                self.k1 = match k_end {
                    Some(k) if self.y.map(f64::to_bits) == y_new.map(f64::to_bits) => k,
                    _ => rhs(p, extra, self.t, &self.y),
                };
                self.accepted += 1;
                on_step(self.t, &self.y);
                self.h = (h * factor).max(self.tol.h_min);
            } else {
                self.rejected += 1;
                self.h = h * factor.min(1.0);
                if self.h < self.tol.h_min {
                    return Err(CardioError::Solver {
                        t: self.t,
                        dt: self.h,
                        why: "step size fell below the minimum",
                    });
                }
            }
        }
        self.t = t_end;
        Ok(())
    }

    /// Weighted RMS norm of the local error estimate `e`.
    fn error_norm(&self, y_new: &State, e: &State) -> f64 {
        let mut err = 0.0;
        for i in 0..N {
            let atol = if i >= 16 {
                self.tol.atol * 1e-2
            } else {
                self.tol.atol
            };
            let sc = atol + self.tol.rtol * self.y[i].abs().max(y_new[i].abs());
            err += (e[i] / sc).powi(2);
        }
        (err / N as f64).sqrt()
    }

    /// One ARK4(3)6L[2]SA step of size `h`: the new state and the error
    /// estimate.
    #[allow(
        clippy::needless_range_loop,
        reason = "stage and component indices read as in the method's formulas"
    )]
    fn imex_step(&self, p: &Parameters, extra: &dyn Extra, h: f64) -> (State, State) {
        let g = h * ark::GAMMA;
        let mut f = [[0.0; N]; 6];
        f[0] = self.k1;
        let mut stage = [0.0; N];
        let mut r = [0.0; N];
        for s in 1..6 {
            for i in 0..STIFF {
                let mut acc = 0.0;
                for j in 0..s {
                    acc += ark::AE[s][j] * f[j][i];
                }
                stage[i] = self.y[i] + h * acc;
            }
            for i in STIFF..N {
                let mut acc = 0.0;
                for j in 0..s {
                    acc += ark::AI[s][j] * f[j][i];
                }
                r[i] = self.y[i] + h * acc;
            }
            let ts = self.t + ark::C[s] * h;
            let c = solve_stiff(p, ts, g, &r, &mut stage);
            f[s] = rhs_with(p, extra, &stage, &c);
            // The implicit rates as the stage equation defines them (equal
            // to f up to rounding, and consistent where a valve state is
            // held).
            for i in STIFF..N {
                f[s][i] = (stage[i] - r[i]) / g;
            }
        }
        let mut y = self.y;
        let mut e = [0.0; N];
        for i in 0..N {
            let mut acc = 0.0;
            let mut err = 0.0;
            for s in 0..6 {
                acc += ark::B[s] * f[s][i];
                err += (ark::B[s] - ark::D[s]) * f[s][i];
            }
            y[i] += h * acc;
            e[i] = h * err;
        }
        (y, e)
    }

    /// One Dormand–Prince step of size `h`: the new state, the error
    /// estimate and the derivative at the new state (FSAL).
    fn dopri_step(&self, p: &Parameters, extra: &dyn Extra, h: f64) -> (State, State, State) {
        let mut k = [[0.0; N]; 7];
        k[0] = self.k1;
        let mut stage = [0.0; N];
        for s in 1..7 {
            for i in 0..N {
                let mut acc = 0.0;
                for (j, a) in A[s].iter().enumerate().take(s) {
                    acc += a * k[j][i];
                }
                stage[i] = self.y[i] + h * acc;
            }
            k[s] = rhs(p, extra, self.t + C[s] * h, &stage);
        }
        // `stage` now holds the 5th-order solution (row 7 = b weights).
        let mut e = [0.0; N];
        for (i, ei) in e.iter_mut().enumerate() {
            *ei = (0..7).map(|s| E[s] * k[s][i]).sum::<f64>() * h;
        }
        (stage, e, k[6])
    }
}

#[cfg(test)]
#[allow(
    clippy::needless_range_loop,
    reason = "Butcher-table indices read as in the order conditions"
)]
mod tests {
    use super::*;
    use crate::model::{NoExtra, blood_volume, initial_state};

    /// The implicit table with its diagonal.
    fn ai_full() -> [[f64; 6]; 6] {
        let mut a = [[0.0; 6]; 6];
        for i in 0..6 {
            a[i][..5].copy_from_slice(&ark::AI[i]);
            if i > 0 {
                a[i][i] = ark::GAMMA;
            }
        }
        a
    }

    fn ae_full() -> [[f64; 6]; 6] {
        let mut a = [[0.0; 6]; 6];
        for i in 0..6 {
            a[i][..5].copy_from_slice(&ark::AE[i]);
        }
        a
    }

    fn dot(a: &[f64; 6], b: &[f64; 6]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn mul(a: &[[f64; 6]; 6], v: &[f64; 6]) -> [f64; 6] {
        std::array::from_fn(|i| dot(&a[i], v))
    }

    #[test]
    fn the_ark_tables_satisfy_the_order_conditions() {
        // Checks the transcription of the coefficients: the coupled
        // conditions to order 4 for the method, to order 3 for the embedding.
        let c = ark::C;
        let tables = [ae_full(), ai_full()];
        let c2: [f64; 6] = std::array::from_fn(|i| c[i] * c[i]);
        let c3: [f64; 6] = std::array::from_fn(|i| c[i] * c2[i]);
        let close =
            |v: f64, w: f64, what: &str| assert!((v - w).abs() < 1e-10, "{what}: {v} vs {w}");
        for a in &tables {
            let ones = [1.0; 6];
            let rows = mul(a, &ones);
            for i in 0..6 {
                close(rows[i], c[i], "row sum");
            }
        }
        for (w, order, name) in [(ark::B, 4, "b"), (ark::D, 3, "d")] {
            close(w.iter().sum(), 1.0, name);
            close(dot(&w, &c), 0.5, name);
            close(dot(&w, &c2), 1.0 / 3.0, name);
            for a in &tables {
                close(dot(&w, &mul(a, &c)), 1.0 / 6.0, name);
            }
            if order < 4 {
                continue;
            }
            close(dot(&w, &c3), 0.25, name);
            for a in &tables {
                let ac = mul(a, &c);
                let wc: [f64; 6] = std::array::from_fn(|i| w[i] * c[i]);
                close(dot(&wc, &ac), 1.0 / 8.0, "b c A c");
                close(dot(&w, &mul(a, &c2)), 1.0 / 12.0, "b A c²");
                for a2 in &tables {
                    close(dot(&w, &mul(a, &mul(a2, &c))), 1.0 / 24.0, "b A A c");
                }
            }
        }
    }

    fn run(method: Method, rtol: f64, beats: f64) -> (State, Integrator) {
        let p = Parameters::default();
        let tol = Tolerance {
            rtol,
            atol: rtol * 10.0,
            method,
            ..Tolerance::default()
        };
        let mut integ = Integrator::new(&p, &NoExtra, 0.0, initial_state(&p), tol);
        integ
            .advance(&p, &NoExtra, beats * p.period(), |_, _| {})
            .unwrap();
        (integ.y, integ)
    }

    #[test]
    fn imex_and_dormand_prince_agree_and_converge() {
        // Two independent integrators from the same start over three beats
        // (through every valve event): at tight tolerance they agree to
        // 1e-6 of each volume and pressure; the default tolerance is within
        // 0.5 % of that.
        let (a, _) = run(Method::Imex43, 1e-9, 3.0);
        let (b, _) = run(Method::Dopri54, 1e-9, 3.0);
        let (d, coarse) = run(Method::Imex43, Tolerance::default().rtol, 3.0);
        let (_, fine) = run(Method::Imex43, 1e-6, 3.0);
        for i in 0..STIFF {
            assert!(
                (a[i] / b[i] - 1.0).abs() < 1e-6,
                "{i}: {} vs {}",
                a[i],
                b[i]
            );
            assert!(
                (d[i] / a[i] - 1.0).abs() < 5e-3,
                "{i}: {} vs {}",
                d[i],
                a[i]
            );
        }
        assert!(fine.accepted > 2 * coarse.accepted);
        let p = Parameters::default();
        assert!((blood_volume(&p, &d) / p.blood_volume_ml - 1.0).abs() < 1e-12);
    }
}
