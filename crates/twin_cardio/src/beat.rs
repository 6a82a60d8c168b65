//! Per-beat clinical indices and waveforms, accumulated over the solver's
//! accepted steps (trapezoidal integrals between them).

use serde::{Deserialize, Serialize};

use crate::model::{State, ZETA_END, idx, pressures};
use crate::params::Parameters;

/// Indices of one valve over a beat.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ValveIndices {
    /// Mean pressure difference while flow is forward (mmHg).
    pub mean_gradient_mmhg: f64,
    pub peak_gradient_mmhg: f64,
    /// Volume through the valve forward, and back (mL).
    pub forward_ml: f64,
    pub regurgitant_ml: f64,
    /// Regurgitant / forward volume (%).
    pub regurgitant_fraction_percent: f64,
}

/// Indices of one beat.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BeatIndices {
    pub heart_rate_bpm: f64,
    pub lv_edv_ml: f64,
    pub lv_esv_ml: f64,
    /// EDV − ESV (includes regurgitant and device volumes).
    pub lv_sv_ml: f64,
    pub lv_ef_percent: f64,
    /// Net flow into the aorta per beat (valve + device − aortic regurgitation).
    pub forward_sv_ml: f64,
    pub cardiac_output_l_min: f64,
    pub sbp_mmhg: f64,
    pub dbp_mmhg: f64,
    pub map_mmhg: f64,
    /// LV pressure at end-diastole: the onset of ventricular contraction
    /// (the start of the beat).
    pub lvedp_mmhg: f64,
    /// LV pressure at end-systole (minimum volume).
    pub lvesp_mmhg: f64,
    pub lv_peak_pressure_mmhg: f64,
    pub mean_la_mmhg: f64,
    pub mean_ra_mmhg: f64,
    pub pa_systolic_mmhg: f64,
    pub pa_diastolic_mmhg: f64,
    pub pa_mean_mmhg: f64,
    pub rv_edv_ml: f64,
    pub rv_esv_ml: f64,
    pub rv_ef_percent: f64,
    pub mitral: ValveIndices,
    pub aortic: ValveIndices,
    pub tricuspid: ValveIndices,
    pub pulmonary: ValveIndices,
    /// LV pressure–volume loop area (mmHg·mL); ×1.333e-4 for joules.
    pub stroke_work_mmhg_ml: f64,
    /// Maximal LV elastance of the model (mmHg/mL).
    pub ees_mmhg_ml: f64,
    /// Effective arterial elastance, end-systolic pressure / SV (mmHg/mL).
    pub ea_mmhg_ml: f64,
    pub ea_ees: f64,
    /// Flow through an assist device per beat (mL).
    pub device_ml: f64,
}

/// Waveforms of one beat, for the Wiggers diagram and the PV loops.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Waveforms {
    /// Time from the start of the beat (s).
    pub t: Vec<f64>,
    pub p_lv: Vec<f64>,
    pub p_ao: Vec<f64>,
    pub p_la: Vec<f64>,
    pub v_lv: Vec<f64>,
    pub p_rv: Vec<f64>,
    pub p_pa: Vec<f64>,
    pub v_rv: Vec<f64>,
    pub q_av: Vec<f64>,
    pub q_mv: Vec<f64>,
}

/// Collects the samples of one beat.
#[derive(Debug, Clone)]
pub struct BeatRecorder {
    start: f64,
    samples: Vec<(f64, State, f64)>,
}

impl BeatRecorder {
    #[must_use]
    pub fn new(start: f64, y: &State, device_flow: f64) -> Self {
        Self {
            start,
            samples: vec![(start, *y, device_flow)],
        }
    }

    /// Adds the state after an accepted step (with the device flow then).
    pub fn push(&mut self, t: f64, y: &State, device_flow: f64) {
        self.samples.push((t, *y, device_flow));
    }

    /// Indices and waveforms of the recorded beat.
    #[must_use]
    pub fn finish(&self, p: &Parameters) -> (BeatIndices, Waveforms) {
        let period = p.period();
        let n = self.samples.len();
        let mut w = Waveforms::default();
        let mut pl = Vec::with_capacity(n);
        for (t, y, _) in &self.samples {
            let c = pressures(p, y, *t);
            pl.push(c);
            w.t.push(t - self.start);
            w.p_lv.push(c.lv);
            w.p_ao.push(y[idx::P_AR_SYS]);
            w.p_la.push(c.la);
            w.v_lv.push(y[idx::V_LV]);
            w.p_rv.push(c.rv);
            w.p_pa.push(y[idx::P_AR_PUL]);
            w.v_rv.push(y[idx::V_RV]);
            w.q_av.push(y[idx::Q_AV]);
            w.q_mv.push(y[idx::Q_MV]);
        }
        // Trapezoidal integral of f over the samples.
        let integral = |f: &dyn Fn(usize) -> f64| -> f64 {
            (1..n)
                .map(|i| 0.5 * (f(i) + f(i - 1)) * (w.t[i] - w.t[i - 1]))
                .sum()
        };
        let mean = |f: &dyn Fn(usize) -> f64| integral(f) / period;
        let argmax = |v: &[f64]| {
            (0..v.len())
                .max_by(|&a, &b| v[a].total_cmp(&v[b]))
                .unwrap_or(0)
        };
        let argmin = |v: &[f64]| {
            (0..v.len())
                .min_by(|&a, &b| v[a].total_cmp(&v[b]))
                .unwrap_or(0)
        };
        let (ed, es) = (argmax(&w.v_lv), argmin(&w.v_lv));
        let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
        let valve = |q: usize, z: usize, dp: &dyn Fn(usize) -> f64| -> ValveIndices {
            // Flow and pressure difference are taken linear between samples;
            // where the flow changes sign the interval is split at the
            // crossing, so the open time and the volumes do not jump by a
            // whole step when a valve opens or shuts between two. The
            // gradient is averaged over forward flow through the open valve:
            // the leak through a shut one flickers around zero in diastole
            // at the full closing pressure and would pull the mean down by
            // a few mmHg in some beats and not others.
            let flow = |i: usize| self.samples[i].1[q];
            let open = |i: usize| self.samples[i].1[z] > ZETA_END;
            let (mut forward, mut back, mut open_time, mut grad) = (0.0, 0.0, 0.0, 0.0);
            for i in 1..n {
                let h = w.t[i] - w.t[i - 1];
                let (q0, q1) = (flow(i - 1), flow(i));
                let (d0, d1) = (dp(i - 1), dp(i));
                if (q0 >= 0.0) == (q1 >= 0.0) {
                    let area = 0.5 * (q0 + q1) * h;
                    if q0 >= 0.0 && q0 + q1 > 0.0 {
                        forward += area;
                        if open(i - 1) || open(i) {
                            open_time += h;
                            grad += 0.5 * (d0 + d1) * h;
                        }
                    } else {
                        back -= area;
                    }
                    continue;
                }
                let theta = q0 / (q0 - q1);
                let through_open = open(i - 1) || open(i);
                let dc = d0 + theta * (d1 - d0);
                let (h0, h1) = (theta * h, (1.0 - theta) * h);
                if q0 > 0.0 {
                    forward += 0.5 * q0 * h0;
                    back -= 0.5 * q1 * h1;
                    if through_open {
                        open_time += h0;
                        grad += 0.5 * (d0 + dc) * h0;
                    }
                } else {
                    back -= 0.5 * q0 * h0;
                    forward += 0.5 * q1 * h1;
                    if through_open {
                        open_time += h1;
                        grad += 0.5 * (dc + d1) * h1;
                    }
                }
            }
            let peak = (0..n)
                .filter(|&i| flow(i) > 0.0 && open(i))
                .map(dp)
                .fold(0.0, f64::max);
            ValveIndices {
                mean_gradient_mmhg: if open_time > 0.0 {
                    grad / open_time
                } else {
                    0.0
                },
                peak_gradient_mmhg: peak,
                forward_ml: forward,
                regurgitant_ml: back,
                regurgitant_fraction_percent: if forward > 0.0 {
                    100.0 * back / forward
                } else {
                    0.0
                },
            }
        };
        let s = &self.samples;
        let mitral = valve(idx::Q_MV, idx::Z_MV, &|i| pl[i].la - pl[i].lv);
        let aortic = valve(idx::Q_AV, idx::Z_AV, &|i| pl[i].lv - s[i].1[idx::P_AR_SYS]);
        let tricuspid = valve(idx::Q_TV, idx::Z_TV, &|i| pl[i].ra - pl[i].rv);
        let pulmonary = valve(idx::Q_PV, idx::Z_PV, &|i| pl[i].rv - s[i].1[idx::P_AR_PUL]);
        let device_ml = integral(&|i| s[i].2);
        let edv = w.v_lv[ed];
        let esv = w.v_lv[es];
        let sv = edv - esv;
        // Net flow into the aorta (valve + device): by the arterial
        // compartment's balance, the smooth arterial outflow plus the change
        // in stored volume. Integrating the valve's flow itself, which starts
        // and stops abruptly between steps, is far less accurate at the
        // solver's step sizes (0.4 % against 0.01 % at rtol 1e-3).
        let ar = |i: usize| s[i].1[idx::P_AR_SYS];
        let forward_sv = integral(&|i| s[i].1[idx::Q_AR_SYS]) + p.ar_sys.c * (ar(n - 1) - ar(0));
        // Loop area: −∮ p dV (counter-clockwise loop, ejection at high p).
        let stroke_work = -(1..n)
            .map(|i| 0.5 * (w.p_lv[i] + w.p_lv[i - 1]) * (w.v_lv[i] - w.v_lv[i - 1]))
            .sum::<f64>();
        let (red, res) = (max(&w.v_rv), min(&w.v_rv));
        let ees = p.lv.ea + p.lv.eb;
        let lvesp = w.p_lv[es];
        let ea = if sv > 0.0 { lvesp / sv } else { f64::NAN };
        let b = BeatIndices {
            heart_rate_bpm: p.heart_rate_bpm,
            lv_edv_ml: edv,
            lv_esv_ml: esv,
            lv_sv_ml: sv,
            lv_ef_percent: 100.0 * sv / edv,
            forward_sv_ml: forward_sv,
            cardiac_output_l_min: forward_sv * p.heart_rate_bpm / 1000.0,
            sbp_mmhg: max(&w.p_ao),
            dbp_mmhg: min(&w.p_ao),
            map_mmhg: mean(&|i| w.p_ao[i]),
            lvedp_mmhg: w.p_lv[0],
            lvesp_mmhg: lvesp,
            lv_peak_pressure_mmhg: max(&w.p_lv),
            mean_la_mmhg: mean(&|i| w.p_la[i]),
            mean_ra_mmhg: mean(&|i| pl[i].ra),
            pa_systolic_mmhg: max(&w.p_pa),
            pa_diastolic_mmhg: min(&w.p_pa),
            pa_mean_mmhg: mean(&|i| w.p_pa[i]),
            rv_edv_ml: red,
            rv_esv_ml: res,
            rv_ef_percent: 100.0 * (red - res) / red,
            mitral,
            aortic,
            tricuspid,
            pulmonary,
            stroke_work_mmhg_ml: stroke_work,
            ees_mmhg_ml: ees,
            ea_mmhg_ml: ea,
            ea_ees: ea / ees,
            device_ml,
        };
        (b, w)
    }
}
