//! Per-beat clinical indices and waveforms, accumulated over the solver's
//! accepted steps (trapezoidal integrals between them).

use serde::{Deserialize, Serialize};

use crate::model::{State, idx, pressures};
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
        let valve = |q: usize, dp: &dyn Fn(usize) -> f64| -> ValveIndices {
            let flow = |i: usize| self.samples[i].1[q];
            let forward = integral(&|i| flow(i).max(0.0));
            let back = integral(&|i| (-flow(i)).max(0.0));
            let open_time = integral(&|i| if flow(i) > 0.0 { 1.0 } else { 0.0 });
            let grad = integral(&|i| if flow(i) > 0.0 { dp(i) } else { 0.0 });
            let peak = (0..n)
                .filter(|&i| flow(i) > 0.0)
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
        let mitral = valve(idx::Q_MV, &|i| pl[i].la - pl[i].lv);
        let aortic = valve(idx::Q_AV, &|i| pl[i].lv - s[i].1[idx::P_AR_SYS]);
        let tricuspid = valve(idx::Q_TV, &|i| pl[i].ra - pl[i].rv);
        let pulmonary = valve(idx::Q_PV, &|i| pl[i].rv - s[i].1[idx::P_AR_PUL]);
        let device_ml = integral(&|i| s[i].2);
        let edv = w.v_lv[ed];
        let esv = w.v_lv[es];
        let sv = edv - esv;
        let forward_sv = aortic.forward_ml - aortic.regurgitant_ml + device_ml;
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
