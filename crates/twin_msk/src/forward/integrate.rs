//! Simulation: Dormand–Prince 5(4) with error control (the error of each
//! step below `atol + rtol·|y|` on every state component, step sizes
//! between `min_step` and `max_step`), a controller asked for excitations
//! at every evaluation and told of every accepted step, and the states
//! recorded at a fixed interval.

use super::{ExtraForce, Forces, Plant, State};
use crate::{MskError, Table};
use twin_core::dopri::{A, C, E};

/// Muscle excitations and actuator controls over time.
pub trait Controller {
    /// Excitations (per muscle) and controls (per coordinate actuator) at
    /// time `t` within the current step.
    fn excitations(&self, t: f64, e: &mut [f64], controls: &mut [f64]);
    /// An accepted step ended at `t` in state `y` with `forces`: sensors
    /// can be sampled here (default: nothing). Returns `false` to stop.
    fn step(&mut self, _plant: &Plant, _t: f64, _y: &[f64], _forces: &Forces) -> bool {
        true
    }
    /// Whether the excitations are a continuous function of time (then the
    /// last stage of a step is reused as the next step's first); `false`
    /// for controllers that change them at steps.
    fn continuous(&self) -> bool {
        true
    }
}

/// Excitations read from a table (OpenSim controls `.sto`): columns by
/// muscle or actuator name (bare or `/forceset/<name>`), linearly
/// interpolated, held beyond the ends; muscles the table lacks get
/// `fallback`.
pub struct Prescribed {
    columns: Vec<Option<Vec<f64>>>,
    actuator_columns: Vec<Option<Vec<f64>>>,
    time: Vec<f64>,
    fallback: f64,
}

impl Prescribed {
    /// # Errors
    /// The table's time column is not increasing.
    pub fn new(plant: &Plant, table: &Table, fallback: f64) -> Result<Self, MskError> {
        if table.time.windows(2).any(|w| w[1] < w[0]) || table.time.is_empty() {
            return Err(MskError::format("the controls' times must increase"));
        }
        let col = |name: &str, path: &str| {
            table
                .column(name)
                .or_else(|| table.column(path))
                .or_else(|| table.column(&format!("/forceset/{name}")))
                .map(<[f64]>::to_vec)
        };
        Ok(Self {
            columns: plant
                .model
                .muscles
                .iter()
                .map(|m| col(&m.name, &m.component))
                .collect(),
            actuator_columns: plant
                .model
                .actuators
                .iter()
                .map(|a| col(&a.name, &format!("/{}", a.name)))
                .collect(),
            time: table.time.clone(),
            fallback,
        })
    }

    /// The names of the muscles the table does not drive.
    #[must_use]
    pub fn missing(&self, plant: &Plant) -> Vec<String> {
        plant
            .model
            .muscles
            .iter()
            .zip(&self.columns)
            .filter(|(_, c)| c.is_none())
            .map(|(m, _)| m.name.clone())
            .collect()
    }

    fn at(&self, col: &[f64], t: f64) -> f64 {
        let n = self.time.len();
        if t <= self.time[0] {
            return col[0];
        }
        if t >= self.time[n - 1] {
            return col[n - 1];
        }
        let i = self.time.partition_point(|&x| x <= t).max(1) - 1;
        let (t0, t1) = (self.time[i], self.time[i + 1]);
        if t1 <= t0 {
            return col[i + 1];
        }
        let w = (t - t0) / (t1 - t0);
        col[i] + w * (col[i + 1] - col[i])
    }
}

impl Controller for Prescribed {
    fn excitations(&self, t: f64, e: &mut [f64], controls: &mut [f64]) {
        for (x, c) in e.iter_mut().zip(&self.columns) {
            *x = c.as_ref().map_or(self.fallback, |c| self.at(c, t));
        }
        for (x, c) in controls.iter_mut().zip(&self.actuator_columns) {
            *x = c.as_ref().map_or(0.0, |c| self.at(c, t));
        }
    }
}

/// Integration settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub rtol: f64,
    pub atol: f64,
    pub min_step: f64,
    pub max_step: f64,
    /// Interval of the recorded states (s); 0 records every step.
    pub report: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            rtol: 1e-5,
            atol: 1e-6,
            min_step: 1e-9,
            max_step: 0.01,
            report: 0.001,
        }
    }
}

/// A simulation's result.
#[derive(Debug, Clone)]
pub struct Trajectory {
    pub states: Vec<State>,
    /// Contact forces at the recorded states (per sphere: force on the
    /// body and point, ground).
    pub contacts: Vec<Vec<(nalgebra::Vector3<f64>, nalgebra::Vector3<f64>)>>,
    /// The muscles at the recorded states.
    pub muscles: Vec<Vec<super::MuscleOutput>>,
    pub excitations: Vec<Vec<f64>>,
    /// Derivative evaluations and accepted steps.
    pub evaluations: usize,
    pub steps: usize,
    /// Why the simulation stopped before the end, if it did.
    pub stopped: Option<String>,
}

/// Simulates `plant` from `start` for `duration` seconds.
///
/// # Errors
/// The dynamics fail (singular mass matrix), the state stops being
/// finite, or the step falls below the minimum; cancelled.
#[allow(clippy::too_many_lines)]
pub fn simulate(
    plant: &Plant,
    start: &State,
    duration: f64,
    controller: &mut dyn Controller,
    extra: Option<ExtraForce<'_>>,
    settings: &Settings,
    progress: Option<&twin_core::Progress>,
) -> Result<Trajectory, MskError> {
    if !(duration.is_finite() && duration > 0.0) {
        return Err(MskError::format(format!(
            "the duration must be positive (got {duration} s)"
        )));
    }
    let nm = plant.muscles.len();
    let na = plant.model.actuators.len();
    let mut e = vec![0.0; nm];
    let mut controls = vec![0.0; na];
    let mut y = plant.pack(start);
    let dim = y.len();
    let mut k = vec![vec![0.0; dim]; 7];
    let mut tmp = vec![0.0; dim];
    let mut forces = Forces::default();
    let t0 = start.t;
    let t_end = t0 + duration;
    let mut t = t0;
    let mut traj = Trajectory {
        states: Vec::new(),
        contacts: Vec::new(),
        muscles: Vec::new(),
        excitations: Vec::new(),
        evaluations: 0,
        steps: 0,
        stopped: None,
    };
    let mut eval = |t: f64,
                    y: &[f64],
                    out: &mut [f64],
                    f: Option<&mut Forces>,
                    ctl: &dyn Controller,
                    n: &mut usize| {
        ctl.excitations(t, &mut e, &mut controls);
        *n += 1;
        plant.derivative(y, &e, &controls, extra, out, f)
    };
    eval(
        t,
        &y,
        &mut k[0],
        Some(&mut forces),
        controller,
        &mut traj.evaluations,
    )?;
    let record =
        |traj: &mut Trajectory, t: f64, y: &[f64], forces: &Forces, ctl: &dyn Controller| {
            traj.states.push(plant.unpack(t, y));
            traj.contacts.push(forces.contacts.clone());
            traj.muscles.push(forces.muscles.clone());
            let mut ex = vec![0.0; nm];
            let mut c = vec![0.0; na];
            ctl.excitations(t, &mut ex, &mut c);
            traj.excitations.push(ex);
        };
    record(&mut traj, t, &y, &forces, controller);
    let mut next_report = t0 + settings.report;
    let mut h = settings.max_step.min(1e-3);
    let mut last_progress = t0;
    while t < t_end - 1e-12 {
        let mut h_try = h.min(t_end - t);
        if settings.report > 0.0 {
            h_try = h_try.min(next_report - t).max(1e-12);
        }
        // Stages 2–7 (stage 1 is the last step's final derivative).
        for s in 1..7 {
            for i in 0..dim {
                let mut acc = 0.0;
                for (j, kj) in k.iter().enumerate().take(s) {
                    acc += A[s][j] * kj[i];
                }
                tmp[i] = y[i] + h_try * acc;
            }
            let (head, tail) = k.split_at_mut(s);
            let _ = head;
            let want_forces = s == 6;
            eval(
                t + C[s] * h_try,
                &tmp,
                &mut tail[0],
                if want_forces { Some(&mut forces) } else { None },
                controller,
                &mut traj.evaluations,
            )?;
        }
        // tmp holds the 5th-order solution (stage 7's input).
        let mut err = 0.0f64;
        for i in 0..dim {
            let mut est = 0.0;
            for (j, kj) in k.iter().enumerate() {
                est += E[j] * kj[i];
            }
            let scale = settings.atol + settings.rtol * y[i].abs().max(tmp[i].abs());
            err = err.max((h_try * est / scale).abs());
        }
        if !err.is_finite() {
            err = 1e10;
        }
        if err <= 1.0 {
            t += h_try;
            y.copy_from_slice(&tmp);
            k.swap(0, 6);
            traj.steps += 1;
            if y.iter().any(|v| !v.is_finite()) {
                return Err(MskError::format(format!(
                    "the simulation diverged at t = {t:.4} s"
                )));
            }
            let go_on = controller.step(plant, t, &y, &forces);
            if !controller.continuous() {
                eval(t, &y, &mut k[0], None, controller, &mut traj.evaluations)?;
            }
            let reached = settings.report <= 0.0 || t >= next_report - 1e-12;
            if reached {
                record(&mut traj, t, &y, &forces, controller);
                next_report += settings.report;
            }
            if !go_on {
                traj.stopped = Some(format!("stopped by the controller at t = {t:.3} s"));
                break;
            }
            if let Some(p) = progress {
                p.check_cancelled()?;
                if t - last_progress > 0.05 * duration {
                    p.advance(1);
                    last_progress = t;
                }
            }
            let grow = if err == 0.0 {
                5.0
            } else {
                (0.9 * err.powf(-0.2)).clamp(0.2, 5.0)
            };
            h = (h_try * grow).min(settings.max_step);
        } else {
            h = (h_try * (0.9 * err.powf(-0.2)).clamp(0.1, 0.9)).max(settings.min_step);
            if h_try <= settings.min_step {
                return Err(MskError::format(format!(
                    "the step fell below {:e} s at t = {t:.4} s (error {err:.2e})",
                    settings.min_step
                )));
            }
        }
    }
    Ok(traj)
}

impl Trajectory {
    /// The states as an OpenSim 4 states table.
    #[must_use]
    pub fn states_table(&self, plant: &Plant) -> Table {
        let mut table = Table::new("states", plant.state_labels(), false);
        for s in &self.states {
            table.push_row(s.t, &plant.state_row(s));
        }
        table
    }
}
