//! Smoothing and differentiating sampled coordinates as OpenSim's tools do:
//! a 3rd-order Butterworth low-pass run forward and backward (zero phase)
//! over a record padded at both ends, then a cubic spline through the
//! filtered samples for velocities and accelerations.
//!
//! Padding: half the record length at each end, the signal reflected about
//! its end point (`2·x₀ − x_k`), so the filter starts on a continuous,
//! continuously sloped signal. Non-uniform samples are first resampled to
//! the smallest remaining time step (linear interpolation); a repeated time,
//! and a sample closer than half the median step to the previous one, are
//! dropped (RRA's kinematics carry 72 sub-millisecond extra samples in a
//! 1-kHz record).

use crate::function::{Spline, SplineEnds};

/// Coefficients of a 3rd-order Butterworth low-pass (a first-order and a
/// second-order section, bilinear transform with prewarping).
#[derive(Debug, Clone, Copy)]
struct Butterworth3 {
    first: [f64; 3],
    second: [f64; 5],
}

impl Butterworth3 {
    fn new(cutoff_hz: f64, rate_hz: f64) -> Self {
        let k = (std::f64::consts::PI * cutoff_hz / rate_hz).tan();
        // H1(s) = 1 / (s + 1): b0 = b1 = K/(1+K), a1 = (K−1)/(K+1).
        let first = [k / (1.0 + k), k / (1.0 + k), (k - 1.0) / (k + 1.0)];
        // H2(s) = 1 / (s² + s + 1) (Q = 1).
        let norm = 1.0 / (1.0 + k + k * k);
        let b0 = k * k * norm;
        let second = [
            b0,
            2.0 * b0,
            b0,
            2.0 * (k * k - 1.0) * norm,
            (1.0 - k + k * k) * norm,
        ];
        Self { first, second }
    }

    /// One pass, started in the steady state of the first value.
    fn run(&self, x: &[f64]) -> Vec<f64> {
        let Some(&x0) = x.first() else {
            return Vec::new();
        };
        let [b0, b1, a1] = self.first;
        let (mut xp, mut yp) = (x0, x0);
        let mid: Vec<f64> = x
            .iter()
            .map(|&v| {
                let y = b0 * v + b1 * xp - a1 * yp;
                xp = v;
                yp = y;
                y
            })
            .collect();
        let [c0, c1, c2, d1, d2] = self.second;
        let (mut x1, mut x2, mut y1, mut y2) = (mid[0], mid[0], mid[0], mid[0]);
        mid.iter()
            .map(|&v| {
                let y = c0 * v + c1 * x1 + c2 * x2 - d1 * y1 - d2 * y2;
                x2 = x1;
                x1 = v;
                y2 = y1;
                y1 = y;
                y
            })
            .collect()
    }
}

/// A uniformly resampled, filtered signal with its derivatives.
#[derive(Debug, Clone)]
pub struct Smoothed {
    spline: Spline,
    first: f64,
    last: f64,
}

impl Smoothed {
    /// Value, first and second derivative at `t` (clamped to the record).
    #[must_use]
    pub fn at(&self, t: f64) -> [f64; 3] {
        let t = t.clamp(self.first, self.last);
        [
            self.spline.value_at(t),
            self.spline.derivative_at(t),
            self.spline.second_derivative_at(t),
        ]
    }
}

/// Resamples `(time, x)` to its smallest step, low-pass filters it at
/// `cutoff_hz` (none when `None`) and fits a spline. `None` when there are
/// fewer than four distinct times.
#[must_use]
pub fn smooth(time: &[f64], x: &[f64], cutoff_hz: Option<f64>) -> Option<Smoothed> {
    // The typical step: the median of the positive steps.
    let mut steps: Vec<f64> = time
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0.0)
        .collect();
    if steps.len() < 3 {
        return None;
    }
    steps.sort_by(f64::total_cmp);
    let median = steps[steps.len() / 2];
    // Drop repeated times and samples crowded in between the regular ones
    // (closer than half a step to the last kept one): a spline through them
    // turns their rounding into huge accelerations.
    let mut t: Vec<f64> = Vec::with_capacity(time.len());
    let mut v: Vec<f64> = Vec::with_capacity(time.len());
    for (&ti, &xi) in time.iter().zip(x) {
        if t.last().is_some_and(|&l| ti < l + 0.5 * median) {
            continue;
        }
        t.push(ti);
        v.push(xi);
    }
    let n = t.len();
    if n < 4 || v.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let dt = t
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    let uniform = t
        .windows(2)
        .all(|w| ((w[1] - w[0]) - dt).abs() < 1e-9 * dt.max(1.0));
    let (t, v) = if uniform {
        (t, v)
    } else {
        let m = ((t[n - 1] - t[0]) / dt).floor() as usize + 1;
        let tt: Vec<f64> = (0..m).map(|i| t[0] + i as f64 * dt).collect();
        let vv = tt
            .iter()
            .map(|&x| {
                let i = t.partition_point(|&k| k <= x).clamp(1, n - 1) - 1;
                v[i] + (v[i + 1] - v[i]) * (x - t[i]) / (t[i + 1] - t[i])
            })
            .collect();
        (tt, vv)
    };
    let filtered = match cutoff_hz {
        Some(fc) if fc > 0.0 => {
            let rate = 1.0 / dt;
            let f = Butterworth3::new(fc.min(0.49 * rate), rate);
            let n = v.len();
            let pad = n / 2;
            let mut padded = Vec::with_capacity(n + 2 * pad);
            padded.extend((1..=pad).rev().map(|k| 2.0 * v[0] - v[k.min(n - 1)]));
            padded.extend_from_slice(&v);
            padded.extend((1..=pad).map(|k| 2.0 * v[n - 1] - v[(n - 1).saturating_sub(k)]));
            let mut y = f.run(&padded);
            y.reverse();
            let mut y = f.run(&y);
            y.reverse();
            y[pad..pad + n].to_vec()
        }
        _ => v,
    };
    let first = t[0];
    let last = t[t.len() - 1];
    Spline::new(t, filtered, SplineEnds::Natural).map(|spline| Smoothed {
        spline,
        first,
        last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_passes_slow_and_stops_fast_signals() {
        let rate = 60.0;
        let t: Vec<f64> = (0..240).map(|i| f64::from(i) / rate).collect();
        let slow = |x: f64| (2.0 * std::f64::consts::PI * 1.0 * x).sin();
        let fast = |x: f64| 0.3 * (2.0 * std::f64::consts::PI * 20.0 * x).sin();
        let x: Vec<f64> = t.iter().map(|&v| slow(v) + fast(v)).collect();
        let s = smooth(&t, &x, Some(6.0)).unwrap();
        // Away from the ends: the 1-Hz wave kept within 1 %, the 20-Hz
        // wave (|H|² ≈ 4e-5 forward and back) gone.
        for &ti in &t[30..210] {
            let [v, dv, ddv] = s.at(ti);
            assert!((v - slow(ti)).abs() < 0.01, "{ti}: {v}");
            let w = 2.0 * std::f64::consts::PI;
            assert!((dv - w * (w * ti).cos()).abs() < 0.1, "{ti}: {dv}");
            assert!((ddv + w * w * (w * ti).sin()).abs() < 1.5, "{ti}: {ddv}");
        }
        // A line stays a line up to the ends (the padding is its reflection).
        let line: Vec<f64> = t.iter().map(|&v| 2.0 * v + 1.0).collect();
        let s = smooth(&t, &line, Some(6.0)).unwrap();
        for &ti in &[t[0], t[1], t[120], t[239]] {
            let [v, dv, _] = s.at(ti);
            assert!(
                (v - (2.0 * ti + 1.0)).abs() < 1e-9 && (dv - 2.0).abs() < 1e-6,
                "{ti}"
            );
        }
    }

    #[test]
    fn repeated_and_uneven_times_are_resampled() {
        let t = [0.0, 0.01, 0.015, 0.02, 0.03, 0.04, 0.04, 0.05];
        let x: Vec<f64> = t.iter().map(|v| 3.0 * v).collect();
        let s = smooth(&t, &x, None).unwrap();
        assert!((s.at(0.025)[0] - 0.075).abs() < 1e-12);
        assert!(smooth(&[0.0, 1.0, 2.0], &[1.0, 2.0, 3.0], None).is_none());
        assert!(smooth(&[0.0, 1.0, 2.0, 3.0], &[1.0, f64::NAN, 3.0, 4.0], None).is_none());
    }
}
