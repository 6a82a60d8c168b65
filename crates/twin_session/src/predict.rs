//! Predictive gait as a job (shared by `twin gait predict` and the app's
//! Gait workspace): the walking scenario of a model with contact spheres,
//! optionally weakened muscles and a transtibial device, a reflex
//! controller searched with CMA-ES, progress per generation, cancel, and
//! every improvement handed out as it is found (to be saved or shown).

use std::path::{Path, PathBuf};

use twin_core::Progress;
use twin_msk::forward::integrate::Method;
use twin_msk::gait::CycleSeries;
use twin_msk::predict::metrics::{self, Agreement, GaitMetrics};
use twin_msk::predict::{Outcome, Scenario, cmaes, initial_parameters, parameter_scale, reflex};
use twin_msk::prosthesis::Prosthesis;
use twin_msk::{Model, Table};

use crate::SessionError;
pub use twin_scenario::tuning::{Landscape, TuneCell};

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
    /// With a prosthesis: residual strengths searched in turn before
    /// `residual_strength`, each warm-started from the one before (e.g.
    /// 0.9, 0.8, 0.7, 0.5, 0.3, 0.15 then 0: the gait follows the ankle as
    /// it changes hands); `search.generations` each.
    pub continuation: Vec<f64>,
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
    /// How the walks are simulated and searched.
    pub setting: Setting,
}

/// How walks are simulated and searched. A solution keeps the setting it
/// was found in, so that it replays as found; files written before a
/// field existed read it as it was then.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Setting {
    /// How the walks are integrated (files without: Dormand–Prince, the
    /// only one then).
    #[serde(default)]
    pub integrator: Method,
    /// Muscles with compliant tendons (`soleus` is both sides'); rigid
    /// tendons for the rest (see [`Scenario::with_compliant_tendons`]).
    #[serde(default)]
    pub compliant: Vec<String>,
    /// Whether the search keeps the parameters within their ranges
    /// ([`reflex::parameter_range`]; the start is clipped into them too).
    #[serde(default)]
    pub bounded: bool,
    /// Weight of the ground-force penalty (files without:
    /// [`twin_msk::predict::GRF_WEIGHT_BEFORE`]).
    #[serde(default = "grf_weight_before")]
    pub grf_weight: f64,
}

impl Setting {
    /// A new search's: semi-implicit Euler, rigid tendons, unbounded,
    /// [`twin_msk::predict::GRF_WEIGHT`].
    #[must_use]
    pub fn new_search() -> Self {
        Self {
            integrator: Method::SemiImplicitEuler,
            compliant: Vec::new(),
            bounded: false,
            grf_weight: twin_msk::predict::GRF_WEIGHT,
        }
    }
}

fn grf_weight_before() -> f64 {
    twin_msk::predict::GRF_WEIGHT_BEFORE
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
        let setting = &self.setting;
        if !(setting.grf_weight.is_finite() && (0.0..=1e6).contains(&setting.grf_weight)) {
            return Err(bad(
                "ground-force weight",
                format!("must be in [0, 1e6], got {}", setting.grf_weight),
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
            .map_err(|e| e.in_file(&self.start))?
            .with_method(setting.integrator);
        scenario.speed = self.speed;
        scenario.grf_weight = setting.grf_weight;
        if !setting.compliant.is_empty() {
            scenario = scenario.with_compliant_tendons(&setting.compliant)?;
        }
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

/// A saved prediction (`solution.json` of `twin gait predict`): the
/// controller's parameters, what they gave and the setting they were
/// found in.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Solution {
    pub controller: String,
    pub names: Vec<String>,
    pub parameters: Vec<f64>,
    pub outcome: Outcome,
    pub prosthesis: Option<Prosthesis>,
    /// The device side's ankle muscles' remaining strength (continuation).
    #[serde(default)]
    pub residual_strength: f64,
    /// Muscle strength changes (`--strength`).
    #[serde(default)]
    pub strength: Vec<(String, f64)>,
    /// The speed band asked for (files without one: the default band).
    #[serde(default = "default_speed")]
    pub speed_m_per_s: [f64; 2],
    /// Per generation: best cost, mean cost, step size.
    pub history: Vec<[f64; 3]>,
    pub seed: u64,
    pub duration_s: f64,
    /// The setting it was found in (its fields beside the others in the
    /// file).
    #[serde(flatten)]
    pub setting: Setting,
}

/// A walk's name: `intact`, or the device's (`prosthesis 400 N·m/rad`).
#[must_use]
pub fn walk_label(device: Option<&Prosthesis>) -> String {
    device.map_or_else(
        || "intact".to_owned(),
        |d| format!("prosthesis {:.0} N·m/rad", d.stiffness_nm_per_rad),
    )
}

/// The walking scenario's speed band (m/s).
#[must_use]
pub fn default_speed() -> [f64; 2] {
    [1.1, 1.4]
}

impl Solution {
    /// The solution of `prediction`, found in `setup` (seed and duration
    /// from it).
    #[must_use]
    pub fn of(setup: &Setup, prediction: &Prediction) -> Self {
        Self {
            controller: "Geyer & Herr 2010 reflexes (twin_msk::predict::reflex)".into(),
            names: reflex::parameter_names(prediction.parameters.len()),
            parameters: prediction.parameters.clone(),
            outcome: prediction.outcome.clone(),
            prosthesis: setup.prosthesis.clone(),
            residual_strength: prediction.residual_strength,
            strength: setup.strength.clone(),
            speed_m_per_s: setup.speed,
            history: prediction.history.clone(),
            seed: setup.search.seed,
            duration_s: setup.duration,
            setting: setup.setting.clone(),
        }
    }

    /// Reads a saved solution (at most [`twin_core::limits::MAX_JSON_FILE`]).
    ///
    /// # Errors
    /// The file cannot be read or is not a saved solution (named).
    pub fn read(path: &Path) -> Result<Self, SessionError> {
        let text = twin_core::limits::read_text(path, twin_core::limits::MAX_JSON_FILE, "solution")
            .map_err(|e| SessionError::Run(format!("cannot read `{}`: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| {
            SessionError::Run(format!("`{}` is not a saved solution: {e}", path.display()))
        })
    }

    /// The setting it was found in, on the predictive `model` from `start`,
    /// to evaluate it again (no search).
    #[must_use]
    pub fn setup(&self, model: PathBuf, start: PathBuf) -> Setup {
        Setup {
            model,
            start,
            prosthesis: self.prosthesis.clone(),
            residual_strength: self.residual_strength,
            continuation: Vec::new(),
            strength: self.strength.clone(),
            speed: self.speed_m_per_s,
            duration: self.duration_s,
            init: Some(self.parameters.clone()),
            search: cmaes::Settings {
                population: 0,
                generations: 0,
                sigma: 1.0,
                seed: self.seed,
                restarts: 0,
            },
            setting: self.setting.clone(),
        }
    }
}

/// A predicted gait: the parameters and what they give.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// The continuation step it belongs to (the device side's remaining
    /// ankle strength; 0 without a continuation).
    pub residual_strength: f64,
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
    /// Joint work per stride, right and left (the device's at its ankle).
    pub work: [metrics::JointWork; 2],
    /// The walk as a stick figure: bones (parent, child body), every
    /// body's origin per recorded state (m, ground: x forward, y up, z
    /// right), and per state each foot's ground force (point, force in N).
    pub bones: Vec<(usize, usize)>,
    pub origins: Vec<Vec<[f64; 3]>>,
    pub loads: Vec<Vec<([f64; 3], [f64; 3])>>,
    /// Per generation so far: best cost, mean cost, step size.
    pub history: Vec<[f64; 3]>,
}

impl Prediction {
    /// The walk as the twin keeps it: its summary and `solution`.
    ///
    /// # Errors
    /// The solution cannot be written as JSON (not expected).
    pub fn for_twin(
        &self,
        solution: &Solution,
    ) -> Result<twin_scenario::document::PredictedGait, SessionError> {
        let o = &self.outcome;
        let mut summary = std::collections::BTreeMap::new();
        let mut put = |k: &str, v: f64| {
            if v.is_finite() {
                summary.insert(k.to_owned(), v);
            }
        };
        put("speed_m_per_s", o.mean_speed);
        put("cost_of_transport_j_per_kg_m", o.cost_of_transport);
        put("walked_s", o.time);
        put("fell", if o.fell { 1.0 } else { 0.0 });
        put(
            "stance_asymmetry_percent",
            self.gait.stance_asymmetry_percent,
        );
        for (side, g, w) in [
            ("r", &self.gait.right, &self.work[0]),
            ("l", &self.gait.left, &self.work[1]),
        ] {
            put(&format!("step_length_m_{side}"), g.step_length_m);
            put(&format!("peak_grf_bw_{side}"), g.peak_grf_bw);
            put(
                &format!("ankle_work_j_per_kg_{side}"),
                w.positive_j_per_kg[2],
            );
            put(&format!("hip_work_j_per_kg_{side}"), w.positive_j_per_kg[0]);
        }
        Ok(twin_scenario::document::PredictedGait {
            summary,
            solution: serde_json::to_value(solution)
                .map_err(|e| SessionError::Run(format!("the solution as JSON: {e}")))?,
            tuning: None,
        })
    }

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
            residual_strength: 0.0,
            gait: metrics::gait_metrics(plant, &traj, 1.0),
            coordinates: metrics::coordinates_table(plant, &traj),
            states: traj.states_table(plant),
            grf: metrics::grf_table(&plant.model, &traj),
            agreement: measured.map_or_else(Vec::new, |m| metrics::agreement(&angles, m)),
            work: scenario.joint_work(&traj, 1.0),
            bones: plant.model.bones(),
            origins: traj
                .states
                .iter()
                .map(|s| {
                    plant
                        .model
                        .body_poses(&s.q)
                        .iter()
                        .map(|p| p.translation.vector.into())
                        .collect()
                })
                .collect(),
            loads: foot_loads(&plant.model, &traj),
            angles,
            parameters,
            outcome,
            history,
        })
    }
}

/// Each loaded foot's summed contact force and where it acts, per
/// recorded state.
fn foot_loads(
    model: &Model,
    traj: &twin_msk::forward::integrate::Trajectory,
) -> Vec<Vec<([f64; 3], [f64; 3])>> {
    traj.contacts
        .iter()
        .map(|contacts| {
            metrics::foot_forces(model, contacts)
                .iter()
                .filter(|f| f.force.y > 1e-6)
                .map(|f| ([f.cop_x, 0.0, f.z], [f.force.x, f.force.y, 0.0]))
                .collect()
        })
        .collect()
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
    let steps: Vec<f64> = if setup.prosthesis.is_some() {
        setup
            .continuation
            .iter()
            .copied()
            .chain([setup.residual_strength])
            .collect()
    } else {
        vec![setup.residual_strength]
    };
    progress.begin(
        "predicting gait",
        (setup.search.generations * steps.len()) as u64,
    );
    let mut stage = setup.clone();
    let mut best = None;
    for (k, &r) in steps.iter().enumerate() {
        stage.residual_strength = r;
        if steps.len() > 1 {
            progress.set_stage(&format!(
                "predicting gait: step {} of {} (ankle muscles at {:.0} %)",
                k + 1,
                steps.len(),
                100.0 * r
            ));
        }
        let mut p = search(
            &stage,
            measured,
            &mut || {
                progress.advance(1);
                !progress.is_cancelled()
            },
            &mut |p| {
                let mut p = p.clone();
                p.residual_strength = r;
                improved(&p)
            },
        )?;
        p.residual_strength = r;
        stage.init = Some(p.parameters.clone());
        best = Some(p);
        if progress.is_cancelled() {
            break;
        }
    }
    best.ok_or_else(|| SessionError::Run("no search step".into()))
}

/// The search of [`run`], with `generation` told of each generation (and
/// asked whether to go on).
fn search(
    setup: &Setup,
    measured: Option<&[CycleSeries]>,
    generation: &mut dyn FnMut() -> bool,
    improved: &mut dyn FnMut(&Prediction) -> Result<(), SessionError>,
) -> Result<Prediction, SessionError> {
    let scenario = setup.scenario()?;
    let bounded = |x: &[f64]| {
        if setup.setting.bounded {
            reflex::clip(x)
        } else {
            x.to_vec()
        }
    };
    let x0 = bounded(&setup.start_parameters()?);
    let scale = parameter_scale(&x0);
    let mut history = Vec::new();
    let mut saved = f64::INFINITY;
    let mut failure = None;
    let (best, _) = cmaes::minimise(
        &x0,
        &scale,
        &setup.search,
        &|x| scenario.cost(&bounded(x)),
        &mut |g| {
            history.push([g.best_cost, g.mean_cost, g.sigma]);
            if g.best_cost < saved {
                saved = g.best_cost;
                let step = Prediction::of(&scenario, bounded(&g.best), measured, history.clone())
                    .and_then(|p| improved(&p));
                if let Err(e) = step {
                    failure = Some(e);
                    return false;
                }
            }
            generation()
        },
    );
    if let Some(e) = failure {
        return Err(e);
    }
    Prediction::of(&scenario, bounded(&best), measured, history)
}

/// The device settings a tuning tries: every stiffness with every neutral
/// angle, each searched once per seed.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneGrid {
    /// Dorsiflexion stiffness (N·m/rad); plantarflexion scales alike.
    pub stiffness: Vec<f64>,
    /// Neutral angle (degrees, + dorsiflexion).
    pub neutral_deg: Vec<f64>,
    pub seeds: Vec<u64>,
}

/// Tunes the device of `setup` (which must have one): for each setting of
/// `grid`, the controller re-optimised from `setup`'s start under each
/// seed; progress over all searches' generations (stage "tuning device"),
/// cancel between generations (the landscape so far is then refused as
/// incomplete), `cell` told of each finished search.
///
/// # Errors
/// No device; an empty or non-physical grid (named); a search fails;
/// cancelled.
pub fn tune(
    setup: &Setup,
    grid: &TuneGrid,
    progress: &Progress,
    cell: &mut dyn FnMut(&TuneCell),
) -> Result<Landscape, SessionError> {
    let bad = |what: &str, why: &str| SessionError::Input {
        what: what.to_owned(),
        why: why.to_owned(),
    };
    let Some(device) = &setup.prosthesis else {
        return Err(bad("tuning", "needs a prosthesis to tune"));
    };
    if grid.stiffness.is_empty() || grid.neutral_deg.is_empty() || grid.seeds.is_empty() {
        return Err(bad(
            "tuning grid",
            "needs at least one stiffness, neutral angle and seed",
        ));
    }
    if grid.stiffness.len() * grid.neutral_deg.len() * grid.seeds.len() > 1000 {
        return Err(bad("tuning grid", "more than 1000 searches"));
    }
    let total = grid.stiffness.len() * grid.neutral_deg.len() * grid.seeds.len();
    progress.begin("tuning device", (total * setup.search.generations) as u64);
    let mut cells = Vec::with_capacity(total);
    for &k in &grid.stiffness {
        for &neutral in &grid.neutral_deg {
            let mut d = device.clone();
            let ratio = d
                .plantar_stiffness_nm_per_rad
                .map(|p| p / d.stiffness_nm_per_rad);
            d.stiffness_nm_per_rad = k;
            d.plantar_stiffness_nm_per_rad = ratio.map(|r| r * k);
            d.neutral_angle_deg = neutral;
            for &seed in &grid.seeds {
                let mut s = setup.clone();
                s.prosthesis = Some(d.clone());
                s.search.seed = seed;
                let p = search(
                    &s,
                    None,
                    &mut || {
                        progress.advance(1);
                        !progress.is_cancelled()
                    },
                    &mut |_| Ok(()),
                )?;
                if progress.is_cancelled() {
                    return Err(SessionError::Run("the tuning was cancelled".into()));
                }
                let c = TuneCell {
                    stiffness: k,
                    neutral_deg: neutral,
                    seed,
                    outcome: p.outcome,
                    stance_asymmetry_percent: p.gait.stance_asymmetry_percent,
                    parameters: p.parameters,
                };
                cell(&c);
                cells.push(c);
            }
        }
    }
    Landscape::from_cells(
        grid.stiffness.clone(),
        grid.neutral_deg.clone(),
        grid.seeds.clone(),
        cells,
    )
    .map_err(|why| SessionError::Input {
        what: "tuning landscape".into(),
        why,
    })
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
            continuation: Vec::new(),
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
            setting: Setting::new_search(),
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
    fn a_bounded_search_keeps_the_parameters_within_their_ranges() {
        let Some(mut s) = setup(2) else { return };
        let mut x0 = initial_parameters();
        // The tibialis length offset below its range, a gain above.
        x0[20] = -0.3;
        x0[18] = 12.0;
        s.init = Some(x0);
        s.setting.bounded = true;
        s.setting.compliant = vec!["soleus".into()];
        let mut seen = Vec::new();
        let p = run(&s, None, &Progress::new(), &mut |p| {
            seen.push(p.parameters.clone());
            Ok(())
        })
        .unwrap();
        seen.push(p.parameters);
        for x in &seen {
            for (i, v) in x.iter().enumerate() {
                let (lo, hi) = reflex::parameter_range(i);
                assert!((lo..=hi).contains(v), "parameter {i}: {v}");
            }
        }
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
            (
                Box::new(|s: &mut Setup| s.setting.compliant = vec!["achilles".into()]),
                "achilles",
            ),
            (
                Box::new(|s: &mut Setup| s.setting.grf_weight = f64::NAN),
                "ground-force weight",
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

    #[test]
    fn a_tuning_searches_every_setting_under_every_seed() {
        let Some(mut s) = setup(1) else { return };
        s.duration = 0.3;
        s.prosthesis = Some(Prosthesis {
            side: "right".into(),
            stiffness_nm_per_rad: 400.0,
            plantar_stiffness_nm_per_rad: Some(200.0),
            damping_nms_per_rad: 2.0,
            neutral_angle_deg: 0.0,
            alignment_offset_deg: 0.0,
            mass_kg: Some(1.2),
        });
        let grid = TuneGrid {
            stiffness: vec![300.0, 600.0],
            neutral_deg: vec![-5.0, 5.0],
            seeds: vec![1, 2],
        };
        let progress = Progress::new();
        let mut told = 0;
        let l = tune(&s, &grid, &progress, &mut |_| told += 1).unwrap();
        assert_eq!((l.cells.len(), told), (8, 8));
        assert_eq!(progress.done(), 8);
        // Stiffness-major, seeds innermost; the plantar stiffness keeps its
        // ratio (checked through the cell's order and values).
        let keys: Vec<(f64, f64, u64)> = l
            .cells
            .iter()
            .map(|c| (c.stiffness, c.neutral_deg, c.seed))
            .collect();
        assert_eq!(keys[0], (300.0, -5.0, 1));
        assert_eq!(keys[3], (300.0, 5.0, 2));
        assert_eq!(keys[7], (600.0, 5.0, 2));
        assert_eq!(l.optimum.len(), 2);
        // Each cell's parameters are both legs'.
        assert!(
            l.cells
                .iter()
                .all(|c| c.parameters.len() == 2 * reflex::PARAMETERS.len())
        );
        // No device, a bad stiffness: named.
        let mut none = s.clone();
        none.prosthesis = None;
        let e = tune(&none, &grid, &Progress::new(), &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("prosthesis"), "{e}");
        let bad = TuneGrid {
            stiffness: vec![-1.0],
            ..grid
        };
        let e = tune(&s, &bad, &Progress::new(), &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("stiffness"), "{e}");
    }

    #[test]
    fn a_continuation_searches_each_step_from_the_one_before() {
        let Some(mut s) = setup(2) else { return };
        s.prosthesis = Some(Prosthesis {
            side: "right".into(),
            stiffness_nm_per_rad: 400.0,
            plantar_stiffness_nm_per_rad: None,
            damping_nms_per_rad: 2.0,
            neutral_angle_deg: 0.0,
            alignment_offset_deg: 0.0,
            mass_kg: Some(1.2),
        });
        s.continuation = vec![0.8, 0.4];
        let progress = Progress::new();
        let mut steps = Vec::new();
        let p = run(&s, None, &progress, &mut |p| {
            if steps.last() != Some(&p.residual_strength) {
                steps.push(p.residual_strength);
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(steps, vec![0.8, 0.4, 0.0]);
        assert!(p.residual_strength.abs() < 1e-12);
        assert_eq!((progress.done(), progress.total()), (6, 6));
        assert!(
            progress.stage().contains("step 3 of 3"),
            "{}",
            progress.stage()
        );
        // The last step's search: its own two generations.
        assert_eq!(p.history.len(), 2);
        // Without a device the steps do not apply.
        s.prosthesis = None;
        let progress = Progress::new();
        run(&s, None, &progress, &mut |_| Ok(())).unwrap();
        assert_eq!(progress.total(), 2);
    }

    #[test]
    fn a_saved_solution_reads_with_the_defaults_of_older_files() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/gait/predicted-intact-2d.json");
        let saved = Solution::read(&example).unwrap();
        assert_eq!(saved.parameters.len(), reflex::PARAMETERS.len());
        assert!(
            saved
                .speed_m_per_s
                .iter()
                .zip(default_speed())
                .all(|(a, b)| (a - b).abs() < 1e-12)
        );
        let setup = saved.setup("m.osim".into(), "s.sto".into());
        assert_eq!(setup.init.as_deref(), Some(saved.parameters.as_slice()));
        assert!((setup.duration - saved.duration_s).abs() < 1e-12);
        // Found before there was a choice: with Dormand–Prince, and
        // replayed with it; a new file keeps its integrator.
        assert_eq!(saved.setting.integrator, Method::DormandPrince);
        assert_eq!(setup.setting.integrator, Method::DormandPrince);
        let mut fresh = saved.clone();
        fresh.setting.integrator = Method::SemiImplicitEuler;
        let again: Solution =
            serde_json::from_str(&serde_json::to_string(&fresh).unwrap()).unwrap();
        assert_eq!(again.setting.integrator, Method::SemiImplicitEuler);
        // Rigid tendons and an unbounded search, then; kept when set.
        assert!(saved.setting.compliant.is_empty() && !saved.setting.bounded);
        assert!((saved.setting.grf_weight - twin_msk::predict::GRF_WEIGHT_BEFORE).abs() < 1e-12);
        assert!((setup.setting.grf_weight - twin_msk::predict::GRF_WEIGHT_BEFORE).abs() < 1e-12);
        fresh.setting.compliant = vec!["soleus".into(), "gastroc".into()];
        fresh.setting.bounded = true;
        let again: Solution =
            serde_json::from_str(&serde_json::to_string(&fresh).unwrap()).unwrap();
        let setup = again.setup("m.osim".into(), "s.sto".into());
        assert_eq!(setup.setting.compliant, ["soleus", "gastroc"]);
        assert!(setup.setting.bounded);
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("device.json");
        std::fs::write(&bad, r#"{"side": "right"}"#).unwrap();
        let e = Solution::read(&bad).unwrap_err().to_string();
        assert!(
            e.contains("device.json") && e.contains("not a saved solution"),
            "{e}"
        );
    }
}
