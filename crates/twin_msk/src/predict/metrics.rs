//! What a clinician reads off a predicted gait: per side the strides,
//! stance and swing times, step length and joint-angle ranges; cadence and
//! stance-time asymmetry — from the simulated contact forces and states;
//! and the joint angles over the gait cycle against a measured trial's
//! ([`agreement`]: Pearson r and RMS difference of the mean curves).

use crate::Table;
use crate::forward::integrate::Trajectory;
use crate::forward::{Plant, State};
use crate::gait::{Band, CycleSeries, cycle_series};

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

/// One foot's contact spheres at one recorded state, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FootForce {
    /// The spheres' forces on the foot (N).
    pub force: nalgebra::Vector3<f64>,
    /// Centre of pressure along the floor (m; 0 when the foot is unloaded).
    pub cop_x: f64,
    /// Mean depth of the spheres' contact points (m: + right).
    pub z: f64,
}

/// Each foot's (`[right, left]`) contact at one recorded state (`contacts`
/// as in [`Trajectory::contacts`]), by the side of each sphere's body.
#[must_use]
pub fn foot_forces(
    model: &crate::Model,
    contacts: &[(nalgebra::Vector3<f64>, nalgebra::Vector3<f64>)],
) -> [FootForce; 2] {
    let mut out = [FootForce::default(); 2];
    let mut moment = [0.0; 2];
    let mut spheres = [0.0; 2];
    for (c, (f, p)) in contacts.iter().enumerate() {
        if let Some(s) = model.contact_side(c) {
            out[s].force += f;
            moment[s] += f.y * p.x;
            out[s].z += p.z;
            spheres[s] += 1.0;
        }
    }
    for s in 0..2 {
        if out[s].force.y > 1e-6 {
            out[s].cop_x = moment[s] / out[s].force.y;
        }
        if spheres[s] > 0.0 {
            out[s].z /= spheres[s];
        }
    }
    out
}

/// Foot load per side (body weights) at each recorded state.
fn loads(plant: &Plant, traj: &Trajectory) -> [Vec<f64>; 2] {
    let m = &plant.model;
    let weight = -m.mass() * m.gravity.y;
    let mut out = [Vec::new(), Vec::new()];
    for contacts in &traj.contacts {
        let feet = foot_forces(m, contacts);
        out[0].push(feet[0].force.y / weight);
        out[1].push(feet[1].force.y / weight);
    }
    out
}

/// Strikes (load rising through 0.1 BW) and lift-offs (falling through
/// 0.02 BW) at or after `t0`, as state indices.
fn events(load: &[f64], states: &[State], t0: f64) -> (Vec<usize>, Vec<usize>) {
    let (mut strikes, mut offs) = (Vec::new(), Vec::new());
    let mut on = load.first().is_some_and(|v| *v > 0.1);
    for i in 1..load.len() {
        if !on && load[i] > 0.1 {
            on = true;
            if states[i].t >= t0 {
                strikes.push(i);
            }
        } else if on && load[i] < 0.02 {
            on = false;
            if states[i].t >= t0 {
                offs.push(i);
            }
        }
    }
    (strikes, offs)
}

/// The start of the analysed part: `skip` seconds in, or the first state
/// when the walk lasted less than twice that (a fall).
fn analysed_from(states: &[State], skip: f64) -> f64 {
    match (states.first(), states.last()) {
        (Some(a), Some(b)) if b.t - a.t > 2.0 * skip => a.t + skip,
        (Some(a), _) => a.t,
        _ => 0.0,
    }
}

/// The gait metrics of a simulated walk, after its first `skip` seconds
/// (from the start when the walk lasted less than twice that: a fall).
#[must_use]
pub fn gait_metrics(plant: &Plant, traj: &Trajectory, skip: f64) -> GaitMetrics {
    let m = &plant.model;
    let states = &traj.states;
    if states.is_empty() {
        return GaitMetrics::default();
    }
    let t0 = analysed_from(states, skip);
    let load = loads(plant, traj);
    let tx = m.coordinate("pelvis_tx");
    let x = |i: usize| tx.map_or(0.0, |k| states[i].q[k]);
    let ev = [events(&load[0], states, t0), events(&load[1], states, t0)];
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

/// Complete strides per side (`[right, left]`, heel strike to heel strike,
/// s) after the first `skip` seconds (see [`gait_metrics`]).
#[must_use]
pub fn strides(plant: &Plant, traj: &Trajectory, skip: f64) -> [Vec<[f64; 2]>; 2] {
    let states = &traj.states;
    let t0 = analysed_from(states, skip);
    loads(plant, traj).map(|l| {
        let (strikes, _) = events(&l, states, t0);
        strikes
            .windows(2)
            .map(|w| [states[w[0]].t, states[w[1]].t])
            .collect()
    })
}

/// The simulated coordinates as a table (radians), for the gait-cycle
/// tools of [`crate::gait`].
#[must_use]
pub fn coordinates_table(plant: &Plant, traj: &Trajectory) -> Table {
    let m = &plant.model;
    let mut table = Table::new(
        "predicted coordinates",
        m.coordinates.iter().map(|c| c.name.clone()).collect(),
        false,
    );
    for s in &traj.states {
        table.push_row(s.t, &s.q);
    }
    table
}

/// The predicted joint angles over every complete stride after `skip`
/// seconds, per coordinate and side (degrees).
#[must_use]
pub fn cycle_angles(plant: &Plant, traj: &Trajectory, skip: f64) -> Vec<CycleSeries> {
    let table = coordinates_table(plant, traj);
    cycle_series(&plant.model, &table, None, &strides(plant, traj, skip))
}

/// One joint's predicted angle over the cycle against a measured one.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Agreement {
    /// The coordinate without its side (`knee_angle`).
    pub joint: String,
    /// `r` or `l`.
    pub side: char,
    /// Pearson correlation of the mean curves over 0–100 % of the cycle.
    pub r: f64,
    /// Root-mean-square difference of the mean curves (degrees).
    pub rms_deg: f64,
    /// Ranges of motion (max − min of the mean curve, degrees).
    pub predicted_range_deg: f64,
    pub measured_range_deg: f64,
    pub predicted_strides: usize,
    pub measured_strides: usize,
}

impl std::fmt::Display for Agreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: r {:.2}, RMS {:.1}°, range {:.0}° (measured {:.0}°), {} predicted and {} measured strides",
            self.joint,
            self.side,
            self.r,
            self.rms_deg,
            self.predicted_range_deg,
            self.measured_range_deg,
            self.predicted_strides,
            self.measured_strides
        )
    }
}

/// Pearson's correlation of two equally long series (0 when either is
/// constant).
#[must_use]
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let ma = a[..n].iter().sum::<f64>() / n as f64;
    let mb = b[..n].iter().sum::<f64>() / n as f64;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a[..n].iter().zip(&b[..n]) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    if saa <= 0.0 || sbb <= 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

/// The predicted gait's joint angles against a measured trial's, for each
/// coordinate and side that both have at least one stride of.
#[must_use]
pub fn agreement(predicted: &[CycleSeries], measured: &[CycleSeries]) -> Vec<Agreement> {
    let mut out = Vec::new();
    for p in predicted {
        let Some(m) = measured.iter().find(|m| m.name == p.name) else {
            continue;
        };
        for (s, side) in ['r', 'l'].into_iter().enumerate() {
            let (Some(bp), Some(bm)) = (Band::of(&p.angle[s]), Band::of(&m.angle[s])) else {
                continue;
            };
            let rms = (bp
                .mean
                .iter()
                .zip(&bm.mean)
                .map(|(x, y)| (x - y).powi(2))
                .sum::<f64>()
                / bp.mean.len() as f64)
                .sqrt();
            let range = |v: &[f64]| {
                v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                    - v.iter().copied().fold(f64::INFINITY, f64::min)
            };
            out.push(Agreement {
                joint: p.name.clone(),
                side,
                r: pearson(&bp.mean, &bm.mean),
                rms_deg: rms,
                predicted_range_deg: range(&bp.mean),
                measured_range_deg: range(&bm.mean),
                predicted_strides: bp.strides,
                measured_strides: bm.strides,
            });
        }
    }
    out
}

/// A measured trial's joint angles over each complete stride of the
/// external loads' heel strikes that the motion covers (degrees).
#[must_use]
pub fn measured_angles(
    model: &crate::Model,
    coordinates: &Table,
    loads: &crate::loads::ExternalLoads,
) -> Vec<CycleSeries> {
    let n = coordinates.rows();
    if n == 0 {
        return Vec::new();
    }
    let span = [coordinates.time[0], coordinates.time[n - 1]];
    let (strides, _) = crate::gait::strides_by_side(model, loads, span);
    cycle_series(model, coordinates, None, &strides)
}

/// Ground reaction force per foot (sum of its contact spheres, N) and the
/// centre of pressure along the floor (m), as an OpenSim table.
#[must_use]
pub fn grf_table(model: &crate::Model, traj: &Trajectory) -> Table {
    let labels = ["r", "l"]
        .iter()
        .flat_map(|s| {
            [
                format!("ground_force_{s}_vx"),
                format!("ground_force_{s}_vy"),
                format!("ground_force_{s}_px"),
            ]
        })
        .collect();
    let mut table = Table::new("predicted_grf", labels, false);
    for (state, contacts) in traj.states.iter().zip(&traj.contacts) {
        let row: Vec<f64> = foot_forces(model, contacts)
            .iter()
            .flat_map(|f| [f.force.x, f.force.y, f.cop_x])
            .collect();
        table.push_row(state.t, &row);
    }
    table
}

/// Mechanical work at one leg's joints per stride (J/kg: positive and
/// negative, `[hip, knee, ankle]`), from the joint moments of the muscles
/// and anything else acting at the joint (a device) times the joint's
/// speed, over the complete strides after the start-up (the soft range
/// limits, the joints' passive structures, are not counted).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JointWork {
    pub positive_j_per_kg: [f64; 3],
    pub negative_j_per_kg: [f64; 3],
    /// Strides averaged.
    pub strides: usize,
}

/// The joint work of each side (`[right, left]`) of a simulated walk after
/// `skip` seconds; `extra` adds generalized forces at a state's
/// coordinates and speeds (a device's moment) to the muscles'.
#[must_use]
pub fn joint_work(
    plant: &Plant,
    traj: &Trajectory,
    extra: Option<crate::forward::ExtraForce<'_>>,
    skip: f64,
) -> [JointWork; 2] {
    let m = &plant.model;
    let mass = m.mass();
    let strides = strides(plant, traj, skip);
    // Joint power (W) of every coordinate at every recorded state.
    let power: Vec<Vec<f64>> = traj
        .states
        .iter()
        .zip(&traj.muscles)
        .map(|(s, muscles)| {
            let forces: Vec<f64> = muscles.iter().map(|o| o.force).collect();
            let mut tau = plant.muscle_moments(&s.q, &forces);
            if let Some(f) = extra {
                f(&s.q, &s.u, &mut tau);
            }
            tau.iter().zip(&s.u).map(|(t, u)| t * u).collect()
        })
        .collect();
    let mut out = [JointWork::default(), JointWork::default()];
    for (side, suffix) in ["r", "l"].into_iter().enumerate() {
        let joints: Vec<Option<usize>> = ["hip_flexion", "knee_angle", "ankle_angle"]
            .iter()
            .map(|j| m.coordinate(&format!("{j}_{suffix}")))
            .collect();
        let w = &mut out[side];
        for &[a, b] in &strides[side] {
            for (j, k) in joints.iter().enumerate() {
                let Some(k) = *k else { continue };
                for i in 1..traj.states.len() {
                    let (t0, t1) = (traj.states[i - 1].t, traj.states[i].t);
                    if t0 < a || t1 > b {
                        continue;
                    }
                    let e = 0.5 * (power[i - 1][k] + power[i][k]) * (t1 - t0) / mass;
                    if e > 0.0 {
                        w.positive_j_per_kg[j] += e;
                    } else {
                        w.negative_j_per_kg[j] += e;
                    }
                }
            }
            w.strides += 1;
        }
        if w.strides > 0 {
            let n = w.strides as f64;
            for j in 0..3 {
                w.positive_j_per_kg[j] /= n;
                w.negative_j_per_kg[j] /= n;
            }
        }
    }
    out
}
