//! What a clinician reads off a predicted gait: per side the strides,
//! stance and swing times, step length and joint-angle ranges; cadence and
//! stance-time asymmetry — from the simulated contact forces and states.

use crate::forward::Plant;
use crate::forward::integrate::Trajectory;

/// One side's gait.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Side {
    /// Heel strikes counted (foot load rising through 10 % of body weight).
    pub strikes: usize,
    /// Means over complete strides (s).
    pub stance_s: f64,
    pub swing_s: f64,
    /// Stance as a share of the stride (%).
    pub stance_percent: f64,
    /// Pelvis travel from the other foot's strike to this one's (m).
    pub step_length_m: f64,
    /// Joint angles (deg) over the analysed part: [min, max].
    pub hip_deg: [f64; 2],
    pub knee_deg: [f64; 2],
    pub ankle_deg: [f64; 2],
    /// Peak vertical ground force (body weights).
    pub peak_grf_bw: f64,
}

/// A predicted gait's spatiotemporal summary.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GaitMetrics {
    /// Analysed from this time (the first second is the start-up) (s).
    pub from_s: f64,
    pub right: Side,
    pub left: Side,
    pub speed_m_per_s: f64,
    pub cadence_steps_per_min: f64,
    /// 100·(right − left)/mean of the stance times (%).
    pub stance_asymmetry_percent: f64,
}

/// Foot load per side (body weights) at each recorded state.
fn loads(plant: &Plant, traj: &Trajectory) -> [Vec<f64>; 2] {
    let m = &plant.model;
    let weight = -m.mass() * m.gravity.y;
    let mut out = [Vec::new(), Vec::new()];
    for contacts in &traj.contacts {
        let mut sum = [0.0; 2];
        for (c, (f, _)) in contacts.iter().enumerate() {
            if let Some(s) = m.contact_side(c) {
                sum[s] += f.y / weight;
            }
        }
        out[0].push(sum[0]);
        out[1].push(sum[1]);
    }
    out
}

/// The gait metrics of a simulated walk, after its first `skip` seconds
/// (from the start when the walk lasted less than twice that: a fall).
#[must_use]
pub fn gait_metrics(plant: &Plant, traj: &Trajectory, skip: f64) -> GaitMetrics {
    let m = &plant.model;
    let states = &traj.states;
    let Some(first) = states.first() else {
        return GaitMetrics::default();
    };
    let end = states.last().map_or(first.t, |s| s.t);
    let t0 = if end - first.t > 2.0 * skip {
        first.t + skip
    } else {
        first.t
    };
    let load = loads(plant, traj);
    let tx = m.coordinate("pelvis_tx");
    let x = |i: usize| tx.map_or(0.0, |k| states[i].q[k]);
    // Strikes (load rising through 0.1) and lift-offs (falling through
    // 0.02), after t0.
    let events = |l: &[f64]| {
        let (mut strikes, mut offs) = (Vec::new(), Vec::new());
        let mut on = l.first().is_some_and(|v| *v > 0.1);
        for i in 1..l.len() {
            if !on && l[i] > 0.1 {
                on = true;
                if states[i].t >= t0 {
                    strikes.push(i);
                }
            } else if on && l[i] < 0.02 {
                on = false;
                if states[i].t >= t0 {
                    offs.push(i);
                }
            }
        }
        (strikes, offs)
    };
    let ev = [events(&load[0]), events(&load[1])];
    let range = |name: &str| -> [f64; 2] {
        m.coordinate(name).map_or([0.0; 2], |k| {
            states
                .iter()
                .filter(|s| s.t >= t0)
                .map(|s| s.q[k].to_degrees())
                .fold([f64::INFINITY, f64::NEG_INFINITY], |[lo, hi], v| {
                    [lo.min(v), hi.max(v)]
                })
        })
    };
    let side = |s: usize, suffix: &str| -> Side {
        let (strikes, offs) = &ev[s];
        let (mut stance, mut swing, mut stride) = (Vec::new(), Vec::new(), Vec::new());
        for w in strikes.windows(2) {
            let (a, b) = (w[0], w[1]);
            if let Some(&off) = offs.iter().find(|&&o| o > a && o < b) {
                stance.push(states[off].t - states[a].t);
                swing.push(states[b].t - states[off].t);
                stride.push(states[b].t - states[a].t);
            }
        }
        let mean = |v: &[f64]| {
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        // Step: from the other foot's last strike before this one.
        let other = &ev[1 - s].0;
        let steps: Vec<f64> = strikes
            .iter()
            .filter_map(|&i| other.iter().rev().find(|&&o| o < i).map(|&o| x(i) - x(o)))
            .collect();
        let peak = load[s]
            .iter()
            .zip(states)
            .filter(|(_, st)| st.t >= t0)
            .map(|(l, _)| *l)
            .fold(0.0, f64::max);
        Side {
            strikes: strikes.len(),
            stance_s: mean(&stance),
            swing_s: mean(&swing),
            stance_percent: if stride.is_empty() {
                0.0
            } else {
                100.0 * mean(&stance) / mean(&stride)
            },
            step_length_m: mean(&steps),
            hip_deg: range(&format!("hip_flexion_{suffix}")),
            knee_deg: range(&format!("knee_angle_{suffix}")),
            ankle_deg: range(&format!("ankle_angle_{suffix}")),
            peak_grf_bw: peak,
        }
    };
    let (right, left) = (side(0, "r"), side(1, "l"));
    let analysed: Vec<usize> = (0..states.len()).filter(|&i| states[i].t >= t0).collect();
    let (speed, span) = match (analysed.first(), analysed.last()) {
        (Some(&a), Some(&b)) if states[b].t > states[a].t => {
            let span = states[b].t - states[a].t;
            ((x(b) - x(a)) / span, span)
        }
        _ => (0.0, 0.0),
    };
    let mean_stance = 0.5 * (right.stance_s + left.stance_s);
    GaitMetrics {
        from_s: t0,
        speed_m_per_s: speed,
        cadence_steps_per_min: if span > 0.0 {
            60.0 * (right.strikes + left.strikes) as f64 / span
        } else {
            0.0
        },
        stance_asymmetry_percent: if mean_stance > 0.0 {
            100.0 * (right.stance_s - left.stance_s) / mean_stance
        } else {
            0.0
        },
        right,
        left,
    }
}
