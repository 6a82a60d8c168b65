//! Predictive gait as a job (shared by `twin gait predict` and the app's
//! Gait workspace): the walking scenario of a model with contact spheres,
//! optionally weakened muscles and a transtibial device, a reflex
//! controller searched with CMA-ES, progress per generation, cancel, and
//! every improvement handed out as it is found (to be saved or shown).

use std::path::{Path, PathBuf};

use twin_core::Progress;
use twin_msk::gait::CycleSeries;
use twin_msk::predict::metrics::{self, Agreement, GaitMetrics};
use twin_msk::predict::{Outcome, Scenario, cmaes, initial_parameters, parameter_scale, reflex};
use twin_msk::prosthesis::Prosthesis;
use twin_msk::{Model, Table};

use crate::SessionError;

/// What to predict.
#[derive(Debug, Clone)]
pub struct Setup {
    /// A model with contact spheres (e.g. the Moco example's 2D model).
    pub model: PathBuf,
    /// Coordinates whose first two rows give the starting pose and speeds.
    pub start: PathBuf,
    pub prosthesis: Option<Prosthesis>,
    /// With a prosthesis: the continuation step (see
    /// [`Scenario::with_prosthesis_and_residual`]); 0 is the device alone.
    pub residual_strength: f64,
    /// Muscle strength factors by name (see [`Scenario::with_strength`]).
    pub strength: Vec<(String, f64)>,
    /// Speed band (m/s).
    pub speed: [f64; 2],
    /// Simulated time per evaluation (s).
    pub duration: f64,
    /// Parameters to start from (a saved solution's); Geyer & Herr's
    /// values without.
    pub init: Option<Vec<f64>>,
    pub search: cmaes::Settings,
}

impl Setup {
    /// The walking scenario of this setup.
    ///
    /// # Errors
    /// A file cannot be read; a setting is out of range (named).
    pub fn scenario(&self) -> Result<Scenario, SessionError> {
        let bad = |what: &str, why: String| SessionError::Input {
            what: what.to_owned(),
            why,
        };
        if !(self.duration.is_finite() && self.duration > 0.0 && self.duration <= 120.0) {
            return Err(bad(
                "duration",
                format!("must be in (0, 120] s, got {}", self.duration),
            ));
        }
        let [lo, hi] = self.speed;
        if !(lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo <= hi && hi <= 5.0) {
            return Err(bad(
                "speed",
                format!("expected 0 ≤ min ≤ max ≤ 5 m/s, got {lo}, {hi}"),
            ));
        }
        if !(0.0..=1.0).contains(&self.residual_strength) {
            return Err(bad(
                "residual strength",
                format!("must be in [0, 1], got {}", self.residual_strength),
            ));
        }
        if self.prosthesis.is_none() && self.residual_strength != 0.0 {
            return Err(bad(
                "residual strength",
                "applies to a prosthesis; none is set".into(),
            ));
        }
        let model = Model::read(&self.model)?;
        let coords = Table::read(&self.start)?;
        let mut scenario = Scenario::walking(&model, &coords, self.duration)
            .map_err(|e| e.in_file(&self.start))?;
        scenario.speed = self.speed;
        if !self.strength.is_empty() {
            scenario = scenario.with_strength(&self.strength)?;
        }
        if let Some(device) = &self.prosthesis {
            scenario = scenario.with_prosthesis_and_residual(device, self.residual_strength)?;
        }
        Ok(scenario)
    }

    /// The parameters the search starts from: `init` or Geyer & Herr's,
    /// one leg's copied to both when a prosthesis makes the legs differ.
    ///
    /// # Errors
    /// `init` has a length the controller does not take.
    pub fn start_parameters(&self) -> Result<Vec<f64>, SessionError> {
        let mut x0 = self.init.clone().unwrap_or_else(initial_parameters);
        let n = reflex::PARAMETERS.len();
        if self.prosthesis.is_some() && x0.len() == n {
            x0.extend_from_within(..);
        }
        if x0.len() != n && x0.len() != 2 * n {
            return Err(SessionError::Input {
                what: "initial solution".into(),
                why: format!(
                    "has {} parameters; the controller takes {n} or {}",
                    x0.len(),
                    2 * n
                ),
            });
        }
        Ok(x0)
    }
}

/// A predicted gait: the parameters and what they give.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub parameters: Vec<f64>,
    pub outcome: Outcome,
    /// After the first second.
    pub gait: GaitMetrics,
    /// The simulated coordinates (radians), for animation and files.
    pub coordinates: Table,
    /// OpenSim states table of the simulation.
    pub states: Table,
    /// Ground force per foot and centre of pressure
    /// ([`metrics::grf_table`]).
    pub grf: Table,
    /// Joint angles over each complete stride after the first second.
    pub angles: Vec<CycleSeries>,
    /// Against the measured trial, when one is given.
    pub agreement: Vec<Agreement>,
    /// Per generation so far: best cost, mean cost, step size.
    pub history: Vec<[f64; 3]>,
}

impl Prediction {
    /// Simulates `parameters` in `scenario` and measures the gait.
    ///
    /// # Errors
    /// The parameters do not fit the controller; the simulation fails.
    pub fn of(
        scenario: &Scenario,
        parameters: Vec<f64>,
        measured: Option<&[CycleSeries]>,
        history: Vec<[f64; 3]>,
    ) -> Result<Self, SessionError> {
        let (traj, outcome) = scenario.simulate(&parameters)?;
        let plant = &scenario.plant;
        let angles = metrics::cycle_angles(plant, &traj, 1.0);
        Ok(Self {
            gait: metrics::gait_metrics(plant, &traj, 1.0),
            coordinates: metrics::coordinates_table(plant, &traj),
            states: traj.states_table(plant),
            grf: metrics::grf_table(&plant.model, &traj),
            agreement: measured.map_or_else(Vec::new, |m| metrics::agreement(&angles, m)),
            angles,
            parameters,
            outcome,
            history,
        })
    }
}

/// A measured trial's joint angles over its strides (MODEL.osim,
/// MOTION.mot, LOADS.xml), to compare predictions with.
///
/// # Errors
/// A file cannot be read; the motion covers no complete stride.
pub fn measured_angles(
    model: &Path,
    motion: &Path,
    loads: &Path,
) -> Result<Vec<CycleSeries>, SessionError> {
    let m = Model::read(model)?;
    let q = Table::read(motion)?;
    let l = twin_msk::loads::ExternalLoads::read(loads, &m, None)?;
    let series = metrics::measured_angles(&m, &q, &l);
    if series.iter().all(|s| s.angle.iter().all(Vec::is_empty)) {
        return Err(SessionError::Input {
            what: motion.display().to_string(),
            why: format!(
                "covers no complete stride of the heel strikes in `{}`",
                loads.display()
            ),
        });
    }
    Ok(series)
}

/// Runs the search: progress per generation (stage "predicting gait"),
/// stops early when `progress` is cancelled, calls `improved` with each
/// new best (simulated and measured) and returns the best found (the
/// starting parameters' gait with no generations).
///
/// # Errors
/// The setup is bad; `improved` fails (e.g. a save); the best cannot be
/// simulated again.
pub fn run(
    setup: &Setup,
    measured: Option<&[CycleSeries]>,
    progress: &Progress,
    improved: &mut dyn FnMut(&Prediction) -> Result<(), SessionError>,
) -> Result<Prediction, SessionError> {
    let scenario = setup.scenario()?;
    let x0 = setup.start_parameters()?;
    let scale = parameter_scale(&x0);
    progress.begin("predicting gait", setup.search.generations as u64);
    let mut history = Vec::new();
    let mut saved = f64::INFINITY;
    let mut failure = None;
    let (best, _) = cmaes::minimise(
        &x0,
        &scale,
        &setup.search,
        &|x| scenario.cost(x),
        &mut |g| {
            history.push([g.best_cost, g.mean_cost, g.sigma]);
            progress.advance(1);
            if g.best_cost < saved {
                saved = g.best_cost;
                let step = Prediction::of(&scenario, g.best.clone(), measured, history.clone())
                    .and_then(|p| improved(&p));
                if let Err(e) = step {
                    failure = Some(e);
                    return false;
                }
            }
            !progress.is_cancelled()
        },
    );
    if let Some(e) = failure {
        return Err(e);
    }
    Prediction::of(&scenario, best, measured, history)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(generations: usize) -> Option<Setup> {
        let dir = twin_core::testdata::require("msk/moco_2d_gait")?;
        Some(Setup {
            model: dir.join("2D_gait.osim"),
            start: dir.join("referenceCoordinates.sto"),
            prosthesis: None,
            residual_strength: 0.0,
            strength: Vec::new(),
            speed: [1.1, 1.4],
            duration: 0.4,
            init: None,
            search: cmaes::Settings {
                population: 4,
                generations,
                sigma: 1.0,
                seed: 3,
                restarts: 0,
            },
        })
    }

    #[test]
    fn a_search_reports_improvements_and_progress_and_stops_when_cancelled() {
        let Some(s) = setup(3) else { return };
        let progress = Progress::new();
        let mut seen = Vec::new();
        let best = run(&s, None, &progress, &mut |p| {
            seen.push(p.outcome.cost);
            Ok(())
        })
        .unwrap();
        assert!(!seen.is_empty());
        // Each improvement is better than the one before; the answer is the
        // last.
        assert!(seen.windows(2).all(|w| w[1] < w[0]), "{seen:?}");
        assert!((best.outcome.cost - seen[seen.len() - 1]).abs() < 1e-9);
        assert_eq!(best.history.len(), 3);
        assert_eq!(progress.done(), 3);
        assert!(best.states.rows() > 10 && best.coordinates.rows() == best.states.rows());
        assert_eq!(best.grf.rows(), best.states.rows());
        // Cancelled: one generation, then it stops.
        let cancelled = Progress::new();
        cancelled.cancel();
        let p = run(&s, None, &cancelled, &mut |_| Ok(())).unwrap();
        assert_eq!(p.history.len(), 1);
        // A failing save stops the search with its error.
        let e = run(&s, None, &Progress::new(), &mut |_| {
            Err(SessionError::Run("disk full".into()))
        })
        .unwrap_err();
        assert!(e.to_string().contains("disk full"));
    }

    #[test]
    fn bad_settings_are_named() {
        let Some(s) = setup(1) else { return };
        for (change, field) in [
            (
                Box::new(|s: &mut Setup| s.duration = 0.0) as Box<dyn Fn(&mut Setup)>,
                "duration",
            ),
            (Box::new(|s: &mut Setup| s.speed = [1.4, 1.1]), "speed"),
            (
                Box::new(|s: &mut Setup| s.residual_strength = 0.5),
                "residual strength",
            ),
            (
                Box::new(|s: &mut Setup| s.strength = vec![("soleos".into(), 0.3)]),
                "soleos",
            ),
        ] {
            let mut bad = s.clone();
            change(&mut bad);
            let e = bad.scenario().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
        let mut bad = s;
        bad.init = Some(vec![0.1; 5]);
        let e = bad.start_parameters().unwrap_err().to_string();
        assert!(e.contains("5 parameters"), "{e}");
    }
}
