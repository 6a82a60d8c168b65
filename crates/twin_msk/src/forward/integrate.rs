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

/// The integration method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Dormand–Prince 5(4), error per step from the embedded 4th-order
    /// solution: accurate, the reference for comparisons with OpenSim.
    #[default]
    DormandPrince,
    /// Semi-implicit (symplectic) Euler — speeds first, then the
    /// coordinates from the new speeds — with the error of each step
    /// estimated as `h/2 · |f(y₁) − f(y₀)|` and the step size from it
    /// (first order). One evaluation per step and stable up to `h·ω < 2`
    /// on the stiff foot contact (Dormand–Prince needs six for
    /// `h·ω ≲ 3.3`): the method of fast gait simulators (Hyfydy), for
    /// optimisations at loose tolerances.
    SemiImplicitEuler,
}

impl Method {
    /// The tolerances a walk is simulated at (relative, absolute): the
    /// predictive searches' setting for each method.
    #[must_use]
    pub fn walking_tolerances(self) -> (f64, f64) {
        match self {
            Method::DormandPrince => (1e-3, 1e-4),
            Method::SemiImplicitEuler => (1e-2, 1e-3),
        }
    }
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "dopri" | "dormand-prince" => Ok(Method::DormandPrince),
            "euler" | "semi-implicit-euler" => Ok(Method::SemiImplicitEuler),
            other => Err(format!(
                "unknown integrator `{other}`; expected `euler` (semi-implicit Euler) or `dopri` (Dormand–Prince 5(4))"
            )),
        }
    }
}

/// Integration settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub method: Method,
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
            method: Method::DormandPrince,
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
    let mut forces = Forces::default();
    let mut traj = Trajectory {
        states: Vec::new(),
        contacts: Vec::new(),
        muscles: Vec::new(),
        excitations: Vec::new(),
        evaluations: 0,
        steps: 0,
        stopped: None,
    };
    let mut run = Run {
        plant,
        controller,
        extra,
        settings,
        progress,
        traj: &mut traj,
        e: &mut e,
        controls: &mut controls,
        controls_before: Vec::new(),
        forces: &mut forces,
    };
    let mut y = plant.pack(start);
    let mut f0 = vec![0.0; y.len()];
    run.eval(start.t, &y, &mut f0, true)?;
    run.record(start.t, &y);
    match settings.method {
        Method::DormandPrince => dormand_prince(&mut run, &mut y, f0, start.t, duration)?,
        Method::SemiImplicitEuler => semi_implicit(&mut run, &mut y, &mut f0, start.t, duration)?,
    }
    Ok(traj)
}

/// [`Method::DormandPrince`] from `y` (whose derivative is `f0`, recorded
/// already) for `duration`.
fn dormand_prince(
    run: &mut Run<'_, '_>,
    y: &mut [f64],
    f0: Vec<f64>,
    t0: f64,
    duration: f64,
) -> Result<(), MskError> {
    let settings = *run.settings;
    let dim = y.len();
    let mut k = vec![f0; 7];
    let mut tmp = vec![0.0; dim];
    let t_end = t0 + duration;
    let mut t = t0;
    let mut clock = Clock::new(t0, duration, settings.report);
    let mut h = settings.max_step.min(1e-3);
    while t < t_end - 1e-12 {
        let mut h_try = h.min(t_end - t);
        if settings.report > 0.0 {
            h_try = h_try.min(clock.next_report - t).max(1e-12);
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
            let (_, tail) = k.split_at_mut(s);
            run.eval(t + C[s] * h_try, &tmp, &mut tail[0], s == 6)?;
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
            run.traj.steps += 1;
            if y.iter().any(|v| !v.is_finite()) {
                return Err(MskError::format(format!(
                    "the simulation diverged at t = {t:.4} s"
                )));
            }
            if !run.accepted(t, y, &mut k[0], &mut clock)? {
                break;
            }
        }
        h = next_step(h_try, err, 0.2, 5.0, &settings, t)?;
    }
    Ok(())
}

/// What a simulation works with.
struct Run<'a, 'b> {
    plant: &'a Plant,
    controller: &'a mut dyn Controller,
    extra: Option<ExtraForce<'b>>,
    settings: &'a Settings,
    progress: Option<&'a twin_core::Progress>,
    traj: &'a mut Trajectory,
    e: &'a mut Vec<f64>,
    controls: &'a mut Vec<f64>,
    /// The controls before a refresh (kept to spare an allocation a step).
    controls_before: Vec<f64>,
    forces: &'a mut Forces,
}

impl Run<'_, '_> {
    fn eval(
        &mut self,
        t: f64,
        y: &[f64],
        out: &mut [f64],
        with_forces: bool,
    ) -> Result<(), MskError> {
        self.controller.excitations(t, self.e, self.controls);
        self.traj.evaluations += 1;
        let f = if with_forces {
            Some(&mut *self.forces)
        } else {
            None
        };
        self.plant
            .derivative(y, self.e, self.controls, self.extra, out, f)
    }

    /// `dy`, the derivative at `y`, after the controller changed its
    /// outputs at the end of a step: when the actuators' controls stayed
    /// the same only the activations' rates read the new excitations, and
    /// only they are recomputed.
    fn refresh(&mut self, t: f64, y: &[f64], dy: &mut [f64]) -> Result<(), MskError> {
        self.controls_before.clone_from(self.controls);
        self.controller.excitations(t, self.e, self.controls);
        if *self.controls != self.controls_before {
            return self.eval(t, y, dy, false);
        }
        let off = 2 * self.plant.free.len();
        for (m, muscle) in self.plant.muscles.iter().enumerate() {
            dy[off + m] = muscle.activation_rate(self.e[m], y[off + m]);
        }
        Ok(())
    }

    /// After a step accepted at `t` (state `y`, derivative `dy`): the
    /// controller's turn, the record, progress and cancel. Returns whether
    /// to go on.
    fn accepted(
        &mut self,
        t: f64,
        y: &[f64],
        dy: &mut [f64],
        clock: &mut Clock,
    ) -> Result<bool, MskError> {
        let go_on = self.controller.step(self.plant, t, y, self.forces);
        if !self.controller.continuous() {
            self.refresh(t, y, dy)?;
        }
        let report = self.settings.report;
        if report <= 0.0 || t >= clock.next_report - 1e-12 {
            self.record(t, y);
            clock.next_report += report;
        }
        if !go_on {
            self.traj.stopped = Some(format!("stopped by the controller at t = {t:.3} s"));
            return Ok(false);
        }
        if let Some(p) = self.progress {
            p.check_cancelled()?;
            if t - clock.last_progress > 0.05 * clock.duration {
                p.advance(1);
                clock.last_progress = t;
            }
        }
        Ok(true)
    }

    fn record(&mut self, t: f64, y: &[f64]) {
        self.traj.states.push(self.plant.unpack(t, y));
        self.traj.contacts.push(self.forces.contacts.clone());
        self.traj.muscles.push(self.forces.muscles.clone());
        self.controller.excitations(t, self.e, self.controls);
        self.traj.excitations.push(self.e.clone());
    }
}

/// [`Method::SemiImplicitEuler`] from `y` (whose derivative is `f0`,
/// recorded already) for `duration`.
fn semi_implicit(
    run: &mut Run<'_, '_>,
    y: &mut Vec<f64>,
    f0: &mut Vec<f64>,
    t0: f64,
    duration: f64,
) -> Result<(), MskError> {
    let settings = *run.settings;
    let n = run.plant.free.len();
    let dim = y.len();
    let mut y1 = vec![0.0; dim];
    let mut f1 = vec![0.0; dim];
    let t_end = t0 + duration;
    let mut t = t0;
    let mut clock = Clock::new(t0, duration, settings.report);
    let mut h = settings.max_step.min(1e-4);
    // Compliant tendons are stiff (their force relaxes within a
    // millisecond at low activation): each is stepped linearly implicitly,
    // `Δ = h·f / (1 − h·∂f/∂y)`, with its slope at the step's start.
    let tendons = 2 * n + run.plant.muscles.len();
    let mut slopes = run.forces.tendon_slopes.clone();
    while t < t_end - 1e-12 {
        let mut h_try = h.min(t_end - t);
        if settings.report > 0.0 {
            h_try = h_try.min(clock.next_report - t).max(1e-12);
        }
        for i in 0..n {
            y1[n + i] = y[n + i] + h_try * f0[n + i];
            y1[i] = y[i] + h_try * y1[n + i];
        }
        for i in 2 * n..tendons {
            y1[i] = y[i] + h_try * f0[i];
        }
        for (i, slope) in (tendons..dim).zip(&slopes) {
            y1[i] = y[i] + h_try * f0[i] / (1.0 - h_try * slope.min(0.0));
        }
        run.eval(t + h_try, &y1, &mut f1, true)?;
        let mut err = 0.0f64;
        for i in 0..dim {
            let scale = settings.atol + settings.rtol * y[i].abs().max(y1[i].abs());
            err = err.max((0.5 * h_try * (f1[i] - f0[i]) / scale).abs());
        }
        if !err.is_finite() {
            err = 1e10;
        }
        if err <= 1.0 {
            t += h_try;
            std::mem::swap(y, &mut y1);
            std::mem::swap(f0, &mut f1);
            slopes.clone_from(&run.forces.tendon_slopes);
            run.traj.steps += 1;
            if !run.accepted(t, y, f0, &mut clock)? {
                break;
            }
        }
        h = next_step(h_try, err, 0.5, 2.0, &settings, t)?;
    }
    Ok(())
}

/// Where a simulation stands against its reports and progress.
struct Clock {
    duration: f64,
    next_report: f64,
    last_progress: f64,
}

impl Clock {
    fn new(t0: f64, duration: f64, report: f64) -> Self {
        Self {
            duration,
            next_report: t0 + report,
            last_progress: t0,
        }
    }
}

/// The next step after one of `h_try` with scaled error `err` (≤ 1:
/// accepted), for a method whose error goes as `h^(1/exponent)`, growing
/// at most `grow_max`-fold.
///
/// # Errors
/// A rejected step was already the smallest allowed.
fn next_step(
    h_try: f64,
    err: f64,
    exponent: f64,
    grow_max: f64,
    settings: &Settings,
    t: f64,
) -> Result<f64, MskError> {
    if err <= 1.0 {
        let grow = if err == 0.0 {
            grow_max
        } else {
            (0.9 * err.powf(-exponent)).clamp(0.2, grow_max)
        };
        return Ok((h_try * grow).min(settings.max_step));
    }
    if h_try <= settings.min_step {
        return Err(MskError::format(format!(
            "the step fell below {:e} s at t = {t:.4} s (error {err:.2e})",
            settings.min_step
        )));
    }
    Ok((h_try * (0.9 * err.powf(-exponent)).clamp(0.1, 0.9)).max(settings.min_step))
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
