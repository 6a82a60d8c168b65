//! Predictive gait: walking found by optimising a reflex controller
//! ([`reflex`]) of the forward model ([`crate::forward`]) with CMA-ES
//! ([`cmaes`]) against a SCONE-style cost: falling, a speed band,
//! metabolic energy per distance (Umberger 2010, [`crate::metabolics`]),
//! knee hyperextension and ground-force peaks.

pub mod cmaes;
pub mod metrics;
pub mod reflex;

use crate::forward::integrate::{Method, Settings, Trajectory, simulate};
use crate::forward::{Plant, State};
use crate::metabolics::{self, MuscleState};
use crate::muscle::Fiber;
use crate::prosthesis::{AnkleDevice, Prosthesis};
use crate::{MskError, Table};

/// Soft joint limits at the model's coordinate ranges (N·m/rad and
/// N·m·s/rad), for models without limit forces (the Moco 2D model relies
/// on its optimiser's bounds instead).
pub const LIMIT_STIFFNESS: f64 = 500.0;
pub const LIMIT_DAMPING: f64 = 5.0;

/// A foot's vertical ground force above this (body weights) is penalised:
/// walking peaks are 1.0–1.3 BW (Winter 2009; Perry & Burnfield 2010).
pub const GRF_THRESHOLD_BW: f64 = 1.3;

/// Weight of the ground-force penalty in new searches: 1000 per BW² per
/// second above [`GRF_THRESHOLD_BW`]. Until 2026-12-07 it was 100
/// ([`GRF_WEIGHT_BEFORE`]), which let walks land with a foot slap of
/// 1.6–1.8 BW for a fraction of their cost; at 1000 a search from such a
/// walk lands at 1.4 BW and costs less metabolic energy
/// (docs/models/predictive.md).
pub const GRF_WEIGHT: f64 = 1000.0;
/// The ground-force weight of the searches before [`GRF_WEIGHT`].
pub const GRF_WEIGHT_BEFORE: f64 = 100.0;

/// What is simulated and asked of the gait.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub plant: Plant,
    pub start: State,
    /// Simulated time per evaluation (s).
    pub duration: f64,
    /// Walking speed band (m/s).
    pub speed: [f64; 2],
    pub settings: Settings,
    /// A transtibial device at one ankle (its muscles removed).
    pub device: Option<AnkleDevice>,
    /// Share of the device's moment applied (1; less in the steps of a
    /// continuation, see [`Self::with_prosthesis_and_residual`]).
    pub device_share: f64,
    /// Muscles simulated with compliant tendons, as named to
    /// [`Self::with_compliant_tendons`] (kept through the other changes).
    pub compliant: Vec<String>,
    /// Weight of the ground-force penalty ([`GRF_WEIGHT`]).
    pub grf_weight: f64,
}

/// The parts of a gait's cost and what it measured.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    pub cost: f64,
    pub fall: f64,
    pub speed_penalty: f64,
    /// Metabolic energy per distance (J/kg/m), Umberger 2010 + basal.
    pub cost_of_transport: f64,
    pub knee_penalty: f64,
    pub grf_penalty: f64,
    /// Simulated time before the end or a fall (s).
    pub time: f64,
    pub fell: bool,
    pub distance: f64,
    pub mean_speed: f64,
}

impl Scenario {
    /// The 2D walking scenario: `start` from the first two rows of a
    /// coordinates table (values, and speeds by their difference), every
    /// muscle at activation 0.05; the lumbar joint held.
    ///
    /// # Errors
    /// The table has fewer than two rows; a muscle's parameters are bad.
    pub fn walking(
        model: &crate::Model,
        coordinates: &Table,
        duration: f64,
    ) -> Result<Self, MskError> {
        let mut plant = walking_plant(model, None, &[])?;
        let start = plant.start_from_coordinates(coordinates, 0.05)?;
        plant.locked_values.clone_from(&start.q);
        Ok(Self {
            plant,
            start,
            duration,
            speed: [1.1, 1.4],
            settings: Settings {
                report: 0.01,
                ..Settings::default()
            },
            device: None,
            device_share: 1.0,
            compliant: Vec::new(),
            grf_weight: GRF_WEIGHT,
        }
        .with_method(Method::DormandPrince))
    }

    /// The same scenario with the `names`d muscles' tendons compliant
    /// ([`Plant::set_compliant`]; `soleus` is both sides'), their forces
    /// starting in equilibrium.
    ///
    /// # Errors
    /// A name matches no muscle.
    pub fn with_compliant_tendons(&self, names: &[String]) -> Result<Self, MskError> {
        let plant = walking_plant(&self.plant.model, Some(&self.plant.locked_values), names)?;
        let start = plant.equilibrate(&self.start);
        Ok(Self {
            plant,
            start,
            compliant: names.to_vec(),
            ..self.clone()
        })
    }

    /// The same scenario simulated with `method` at its walking tolerances
    /// ([`Method::walking_tolerances`]; [`Scenario::walking`] uses
    /// Dormand–Prince).
    #[must_use]
    pub fn with_method(mut self, method: Method) -> Self {
        let (rtol, atol) = method.walking_tolerances();
        self.settings.method = method;
        self.settings.rtol = rtol;
        self.settings.atol = atol;
        self
    }

    /// The same scenario with a transtibial prosthesis: that side's ankle
    /// muscles removed, the foot re-weighed, the device's moment at the
    /// ankle; the other muscles keep their starting activations.
    ///
    /// # Errors
    /// The device's values are out of range or the model has no such ankle.
    pub fn with_prosthesis(&self, p: &Prosthesis) -> Result<Self, MskError> {
        self.with_prosthesis_and_residual(p, 0.0)
    }

    /// A step of a continuation from the intact leg to the prosthesis: the
    /// foot re-weighed as [`Self::with_prosthesis`], that side's ankle
    /// muscles kept at `residual` of their strength and the device's moment
    /// at `1 − residual` of its own (`residual` 0 removes the muscles: the
    /// prosthesis itself; 1 is the intact ankle with the device's foot).
    /// A search warm-started through residual strengths 0.7, 0.4, 0.1, 0
    /// follows the gait as the ankle changes hands, where a direct search
    /// from the intact solution falls within a second.
    ///
    /// # Errors
    /// As [`Self::with_prosthesis`]; `residual` outside [0, 1].
    pub fn with_prosthesis_and_residual(
        &self,
        p: &Prosthesis,
        residual: f64,
    ) -> Result<Self, MskError> {
        if !(0.0..=1.0).contains(&residual) {
            return Err(MskError::format(format!(
                "residual strength must be in [0, 1], got {residual}"
            )));
        }
        let original = &self.plant.model;
        let (mut model, device, _) = p.apply(original)?;
        if residual > 0.0 {
            let removed: Vec<String> = original
                .muscles
                .iter()
                .filter(|m| !model.muscles.iter().any(|k| k.name == m.name))
                .map(|m| m.name.clone())
                .collect();
            model.muscles.clone_from(&original.muscles);
            scale_strength(&mut model, &removed, residual);
        }
        // The removed ankle's muscles keep no tendons.
        let compliant: Vec<String> = self
            .compliant
            .iter()
            .filter(|n| {
                model
                    .muscles
                    .iter()
                    .any(|m| crate::model::muscle_named(&m.name, n))
            })
            .cloned()
            .collect();
        let plant = walking_plant(&model, Some(&self.start.q), &compliant)?;
        let mut start = self.start.clone();
        start.a = model
            .muscles
            .iter()
            .map(|m| {
                original
                    .muscles
                    .iter()
                    .position(|o| o.name == m.name)
                    .map_or(0.05, |i| self.start.a[i])
            })
            .collect();
        let start = plant.equilibrate(&start);
        Ok(Self {
            plant,
            start,
            device: Some(device),
            device_share: 1.0 - residual,
            ..self.clone()
        })
    }

    /// The same scenario with muscles weakened or strengthened: each
    /// `(name, factor)` multiplies the maximum isometric force of the muscle
    /// of that name, or of both sides' when the name has no side
    /// (`soleus` is `soleus_r` and `soleus_l`).
    ///
    /// # Errors
    /// A name matches no muscle; a factor is not in (0, 10].
    pub fn with_strength(&self, changes: &[(String, f64)]) -> Result<Self, MskError> {
        let mut model = self.plant.model.clone();
        for (name, factor) in changes {
            if !(factor.is_finite() && *factor > 0.0 && *factor <= 10.0) {
                return Err(MskError::format(format!(
                    "strength of `{name}`: the factor must be in (0, 10], got {factor}"
                )));
            }
            let matched: Vec<String> = model
                .muscles
                .iter()
                .filter(|m| crate::model::muscle_named(&m.name, name))
                .map(|m| m.name.clone())
                .collect();
            if matched.is_empty() {
                let names: Vec<&str> = model.muscles.iter().map(|m| m.name.as_str()).collect();
                return Err(MskError::format(format!(
                    "strength: no muscle `{name}` in model `{}` (it has {})",
                    model.name,
                    names.join(", ")
                )));
            }
            scale_strength(&mut model, &matched, *factor);
        }
        let plant = walking_plant(&model, Some(&self.start.q), &self.compliant)?;
        Ok(Self {
            start: plant.equilibrate(&self.start),
            plant,
            ..self.clone()
        })
    }

    /// Simulates the gait of a parameter vector.
    ///
    /// # Errors
    /// The parameters do not fit the controller; the simulation fails.
    pub fn simulate(&self, params: &[f64]) -> Result<(Trajectory, Outcome), MskError> {
        let mut controller = reflex::Reflex::new(&self.plant, params)?;
        let moment = self.device_moment();
        let traj = simulate(
            &self.plant,
            &self.start,
            self.duration,
            &mut controller,
            Some(&moment),
            &self.settings,
            None,
        )?;
        let outcome = self.measure(&traj, controller.fell);
        Ok((traj, outcome))
    }

    /// The device's share of its moment at the ankle (nothing without one),
    /// as generalized forces added at coordinates `q` and speeds `u`.
    fn device_moment(&self) -> impl Fn(&[f64], &[f64], &mut [f64]) + Sync + Copy + use<> {
        let (device, share) = (self.device, self.device_share);
        move |q: &[f64], u: &[f64], tau: &mut [f64]| {
            if let Some(d) = device {
                tau[d.coordinate] += share * d.moment(q[d.coordinate], u[d.coordinate]);
            }
        }
    }

    /// The joint work per stride of each side of a walk simulated here
    /// (the device's moment counted at its ankle), after `skip` seconds.
    #[must_use]
    pub fn joint_work(&self, traj: &Trajectory, skip: f64) -> [metrics::JointWork; 2] {
        let moment = self.device_moment();
        metrics::joint_work(&self.plant, traj, Some(&moment), skip)
    }

    /// The cost of a parameter vector (a simulation that fails costs 2000,
    /// more than any fall).
    #[must_use]
    pub fn cost(&self, params: &[f64]) -> f64 {
        self.simulate(params).map_or(2000.0, |(_, o)| o.cost)
    }

    fn measure(&self, traj: &Trajectory, fell: bool) -> Outcome {
        let m = &self.plant.model;
        let first = &traj.states[0];
        let last = traj.states.last().unwrap_or(first);
        let time = last.t - first.t;
        let tx = m.coordinate("pelvis_tx");
        let distance = tx.map_or(0.0, |k| last.q[k] - first.q[k]);
        let mean_speed = if time > 0.0 { distance / time } else { 0.0 };
        let body_mass = m.mass();
        let weight = -body_mass * m.gravity.y;
        let params: Vec<_> = self.plant.muscles.iter().map(|mu| mu.p.clone()).collect();
        let (mut energy, mut knee, mut grf) = (0.0, 0.0, 0.0);
        let knees: Vec<usize> = ["knee_angle_r", "knee_angle_l"]
            .iter()
            .filter_map(|n| m.coordinate(n))
            .collect();
        for i in 1..traj.states.len() {
            let dt = traj.states[i].t - traj.states[i - 1].t;
            let states: Vec<MuscleState> = traj.muscles[i]
                .iter()
                .zip(&traj.states[i].a)
                .zip(&traj.excitations[i])
                .map(|((o, &a), &e)| MuscleState {
                    activation: a,
                    excitation: e,
                    fiber: Fiber {
                        length: o.fiber_length,
                        velocity: o.fiber_velocity,
                        cos_pennation: o.cos_pennation,
                    },
                    force: Some(o.active_force.max(0.0)),
                })
                .collect();
            energy +=
                metabolics::body_rate(metabolics::Model::Umberger2010, &params, &states, body_mass)
                    * dt;
            for &k in &knees {
                knee += traj.states[i].q[k].max(0.0).powi(2) * dt;
            }
            grf += metrics::foot_forces(m, &traj.contacts[i])
                .iter()
                .map(|f| (f.force.y / weight - GRF_THRESHOLD_BW).max(0.0).powi(2))
                .sum::<f64>()
                * dt;
        }
        let cost_of_transport = if distance > 0.1 {
            energy / body_mass / distance
        } else {
            10.0
        };
        let fall = if fell {
            100.0 + 100.0 * (self.duration - time).max(0.0) / self.duration
        } else {
            0.0
        };
        let [lo, hi] = self.speed;
        let speed_penalty =
            100.0 * ((lo - mean_speed).max(0.0) + (mean_speed - hi).max(0.0)).powi(2);
        let per_second = if time > 0.0 { 1.0 / time } else { 0.0 };
        let knee_penalty = 100.0 * knee * per_second;
        let grf_penalty = self.grf_weight * grf * per_second;
        Outcome {
            cost: fall + speed_penalty + cost_of_transport + knee_penalty + grf_penalty,
            fall,
            speed_penalty,
            cost_of_transport,
            knee_penalty,
            grf_penalty,
            time,
            fell,
            distance,
            mean_speed,
        }
    }
}

/// Multiplies the maximum isometric force of the `names`d muscles.
fn scale_strength(model: &mut crate::Model, names: &[String], factor: f64) {
    for m in &mut model.muscles {
        if names.contains(&m.name)
            && let Some(f) = m.parameters.get_mut("max_isometric_force")
        {
            *f *= factor;
        }
    }
}

/// The walking plant of `model`: lumbar joint held (at `held`, the start's
/// coordinates, when given), soft limits at the coordinate ranges, the
/// muscles that answer to `compliant` with compliant tendons.
///
/// # Errors
/// A muscle's parameters are bad; a `compliant` name answers to no muscle.
fn walking_plant(
    model: &crate::Model,
    held: Option<&[f64]>,
    compliant: &[String],
) -> Result<Plant, MskError> {
    let locked: Vec<&str> = model
        .coordinate("lumbar")
        .map(|_| "lumbar")
        .into_iter()
        .collect();
    let mut plant = Plant::new(model, &locked)?;
    plant.add_range_limits(LIMIT_STIFFNESS, LIMIT_DAMPING);
    plant.set_compliant(compliant)?;
    if let Some(q) = held {
        plant.locked_values = q.to_vec();
    }
    Ok(plant)
}

/// Geyer & Herr's starting parameters for one leg.
#[must_use]
pub fn initial_parameters() -> Vec<f64> {
    reflex::PARAMETERS.iter().map(|(_, v)| *v).collect()
}

/// Search scale per parameter: 30 % of the value (at least 0.05).
#[must_use]
pub fn parameter_scale(x0: &[f64]) -> Vec<f64> {
    x0.iter().map(|v| (0.3 * v.abs()).max(0.05)).collect()
}

#[cfg(test)]
mod tests;
