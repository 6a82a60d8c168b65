//! Adaptive Dormand–Prince 5(4) integration with error control.
//!
//! Why explicit and adaptive: with the valve inertances and Bernoulli losses
//! the fastest time scales are a few milliseconds (valve flow relaxation
//! `L/(2BQ)`, chamber–valve oscillation `√(L/E)`, venous `L/R`), so the
//! problem is only mildly stiff; the error-controlled explicit scheme takes
//! large steps in diastasis, small ones at valve opening and closing, and
//! keeps linear invariants (the blood volume) to rounding. The
//! convergence study is in `docs/models/cardio.md` and the tests.

use crate::CardioError;
use crate::model::{Extra, N, State, rhs};
use crate::params::Parameters;

const C: [f64; 7] = [0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0];
const A: [[f64; 6]; 7] = [
    [0.0; 6],
    [0.2, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
    [
        19372.0 / 6561.0,
        -25360.0 / 2187.0,
        64448.0 / 6561.0,
        -212.0 / 729.0,
        0.0,
        0.0,
    ],
    [
        9017.0 / 3168.0,
        -355.0 / 33.0,
        46732.0 / 5247.0,
        49.0 / 176.0,
        -5103.0 / 18656.0,
        0.0,
    ],
    [
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
    ],
];
/// 5th-order weights minus 4th-order weights (error estimate).
const E: [f64; 7] = [
    71.0 / 57600.0,
    0.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339_200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
];

/// Tolerances and step limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub rtol: f64,
    /// Absolute tolerance scale: volumes (mL), pressures (mmHg), flows (mL/s)
    /// use `atol`, the valve states `atol × 1e-2`.
    pub atol: f64,
    pub h_max: f64,
    pub h_min: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Self {
            rtol: 1e-6,
            atol: 1e-5,
            h_max: 0.01,
            h_min: 1e-9,
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
            let mut err = 0.0;
            for i in 0..N {
                let e: f64 = (0..7).map(|s| E[s] * k[s][i]).sum::<f64>() * h;
                let atol = if i >= 16 {
                    self.tol.atol * 1e-2
                } else {
                    self.tol.atol
                };
                let sc = atol + self.tol.rtol * self.y[i].abs().max(stage[i].abs());
                err += (e / sc).powi(2);
            }
            let err = (err / N as f64).sqrt();
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
                (0.9 * err.powf(-0.2)).clamp(0.2, 5.0)
            };
            if err <= 1.0 {
                self.t += h;
                self.y = stage;
                for z in &mut self.y[16..20] {
                    *z = z.clamp(0.0, 1.0);
                }
                self.k1 = k[6];
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
}
