//! What-if runs of a twin's variants against its baseline: the cardiac
//! interventions of each variant applied to the calibrated circulation (or
//! the healthy default when the twin is not calibrated), simulated to
//! periodic steady state, and the prosthesis of each variant fitted to the
//! twin's gait trial (a static optimisation of the same motion and loads
//! against the intact baseline); each summary stored in its variant.
//!
//! [`run_cardio`] and [`run_gait`] run everything at once (the CLI, the
//! report); [`VariantRuns`] runs each variant as a job of its own, keyed by
//! what it runs, so that after an edit only the changed variant reruns.

use std::collections::BTreeMap;
use std::sync::Arc;

use twin_cardio::simulate::SimOptions;
use twin_cardio::{Intervention, Parameters, Scenario};
use twin_core::Progress;
use twin_msk::prosthesis::Prosthesis;
use twin_msk::whatif::{GaitCase, Outcome};
use twin_scenario::TwinDocument;
use twin_scenario::document::GaitTrial;
use twin_scenario::runs::{
    CardioRun, GaitRuns, baseline_parameters, cardio_summary, set_gait_summary,
};

use crate::SessionError;
use crate::gait::trial_coordinates;
use crate::jobs::{Job, KeyedRuns, Priority};

fn run(
    p: &Parameters,
    scenario: &Scenario,
    progress: &Progress,
) -> Result<CardioRun, SessionError> {
    let sim = scenario.simulate(p, None, SimOptions::default(), progress)?;
    Ok(CardioRun {
        name: scenario.name.clone(),
        indices: sim.last().clone(),
        waveforms: sim.waveforms,
    })
}

/// Runs the baseline and every variant with cardiac interventions.
///
/// # Errors
/// An intervention is out of range or a run fails: the message names the
/// variant.
pub fn run_cardio(
    doc: &TwinDocument,
    progress: &Progress,
) -> Result<(CardioRun, Vec<CardioRun>), SessionError> {
    let base = baseline_parameters(doc);
    let baseline = run(
        &base,
        &Scenario {
            name: "baseline".into(),
            ..Scenario::default()
        },
        progress,
    )
    .map_err(|e| SessionError::Run(format!("baseline: {e}")))?;
    let mut runs = Vec::new();
    for v in doc.variants.iter().filter(|v| !v.cardio.is_empty()) {
        let scenario = Scenario {
            name: v.name.clone(),
            description: v.description.clone(),
            interventions: v.cardio.clone(),
        };
        runs.push(
            run(&base, &scenario, progress)
                .map_err(|e| SessionError::Run(format!("variant `{}`: {e}", v.name)))?,
        );
    }
    Ok((baseline, runs))
}

/// Runs the baseline and every variant with cardiac interventions, stores
/// each variant's summary in its `results` (other results kept) and
/// returns the baseline's.
///
/// # Errors
/// An intervention is out of range or a run fails: the message names the
/// variant.
pub fn run_cardio_variants(
    doc: &mut TwinDocument,
    progress: &Progress,
) -> Result<BTreeMap<String, f64>, SessionError> {
    let (baseline, runs) = run_cardio(doc, progress)?;
    for r in runs {
        if let Some(v) = doc.variants.iter_mut().find(|v| v.name == r.name) {
            v.results.extend(cardio_summary(&r.indices));
        }
    }
    Ok(cardio_summary(&baseline.indices))
}

/// Runs the intact baseline and every variant with a prosthesis on the
/// twin's gait trial; `None` when the twin has no trial or no variant has
/// a prosthesis.
///
/// # Errors
/// The trial cannot be read or a device does not fit: the message names
/// the file or the variant.
pub fn run_gait(doc: &TwinDocument, progress: &Progress) -> Result<Option<GaitRuns>, SessionError> {
    let Some(trial) = &doc.gait else {
        return Ok(None);
    };
    if doc.variants.iter().all(|v| v.prosthesis.is_none()) {
        return Ok(None);
    }
    let case = gait_case(trial, progress)?;
    let baseline = case
        .run(None, progress)
        .map_err(|e| SessionError::Run(format!("gait baseline: {e}")))?;
    let mut variants = Vec::new();
    for v in &doc.variants {
        if let Some(p) = &v.prosthesis {
            let o = case
                .run(Some(p), progress)
                .map_err(|e| SessionError::Run(format!("variant `{}`: {e}", v.name)))?;
            variants.push((v.name.clone(), o));
        }
    }
    Ok(Some(GaitRuns { baseline, variants }))
}

/// [`run_gait`], with each variant's summary stored in its `results`
/// (other results kept).
///
/// # Errors
/// As [`run_gait`].
pub fn run_gait_variants(
    doc: &mut TwinDocument,
    progress: &Progress,
) -> Result<Option<GaitRuns>, SessionError> {
    let runs = run_gait(doc, progress)?;
    if let Some(r) = &runs {
        for (name, o) in &r.variants {
            if let Some(v) = doc.variants.iter_mut().find(|v| v.name == *name) {
                set_gait_summary(&mut v.results, Some(o));
            }
        }
    }
    Ok(runs)
}

/// The what-if case of a twin's gait trial: its model, motion and loads.
///
/// # Errors
/// A file cannot be read (named), the trial has no external loads, or the
/// model has no muscles.
pub fn gait_case(trial: &GaitTrial, progress: &Progress) -> Result<GaitCase, SessionError> {
    let Some(loads) = &trial.loads else {
        return Err(SessionError::input(
            format!("gait trial {}", trial.motion.display()),
            "a prosthesis what-if needs the trial's external loads",
        ));
    };
    let model = twin_msk::Model::read(&trial.model)?;
    let (coords, _) = trial_coordinates(&model, &trial.motion, progress)?;
    let loads = twin_msk::loads::ExternalLoads::read(loads, &model, None)?;
    Ok(GaitCase::new(
        model,
        coords,
        loads,
        twin_msk::optimization::SoOptions::default(),
    )?)
}

/// A variant's key among the cardiac runs: its interventions as JSON.
#[must_use]
pub fn cardio_key(interventions: &[Intervention]) -> String {
    serde_json::to_string(interventions).unwrap_or_default()
}

/// A variant's key among the gait runs: its device as JSON.
#[must_use]
pub fn gait_key(p: &Prosthesis) -> String {
    serde_json::to_string(p).unwrap_or_default()
}

/// The key of the intact gait baseline among the gait runs.
pub const INTACT: &str = "intact";

/// Queues one cardiac run of `interventions` against `base` (warm-started
/// from `start`, the baseline's steady state, when given), in its key's
/// group so that a newer run of the same key replaces it.
#[must_use]
pub fn cardio_job(
    base: &Parameters,
    start: Option<twin_cardio::model::State>,
    name: &str,
    interventions: Vec<Intervention>,
) -> Job<Result<CardioRun, String>> {
    let k = cardio_key(&interventions);
    let base = base.clone();
    let scenario = Scenario {
        name: name.to_owned(),
        description: String::new(),
        interventions,
    };
    Job::once(
        &format!("cardio variant {k}"),
        &format!("Cardiac what-if: {name}"),
        Priority::Interactive,
        move |progress| {
            scenario
                .simulate(&base, start.as_ref(), SimOptions::default(), progress)
                .map(|s| CardioRun {
                    name: scenario.name.clone(),
                    indices: s.last().clone(),
                    waveforms: s.waveforms,
                })
                .map_err(|e| format!("{}: {e}", scenario.name))
        },
    )
}

/// Queues one gait what-if of `device` (the intact baseline when `None`)
/// on `case`.
#[must_use]
pub fn gait_job(
    case: Arc<GaitCase>,
    name: &str,
    device: Option<Prosthesis>,
) -> Job<Result<Arc<Outcome>, String>> {
    let key = device.as_ref().map_or_else(|| INTACT.to_owned(), gait_key);
    let label = name.to_owned();
    Job::once(
        &format!("gait variant {key}"),
        &format!("Gait what-if: {name}"),
        Priority::Interactive,
        move |progress| {
            case.run(device.as_ref(), progress)
                .map(Arc::new)
                .map_err(|e| format!("{label}: {e}"))
        },
    )
}

/// The twin's variants run each as its own job, keyed by what they run:
/// after an edit only the changed variant reruns, an undo finds its
/// result again, and a new baseline (calibration or trial) clears them.
#[derive(Default)]
pub struct VariantRuns {
    pub cardio: KeyedRuns<CardioRun>,
    pub gait: KeyedRuns<Arc<Outcome>>,
    /// The gait what-if case of the twin's trial (keyed by the trial).
    cases: KeyedRuns<Arc<GaitCase>>,
    /// The baseline the cardiac results are against.
    cardio_baseline: Option<String>,
    /// The cardiac baseline's own run.
    baseline: KeyedRuns<CardioRun>,
}

impl VariantRuns {
    /// Starts what `doc` asks and is not run yet, drops the runs it no
    /// longer asks, takes the finished ones and stores every variant's
    /// summary (and the baselines') in the document. Returns how many runs
    /// were started.
    pub fn update(&mut self, doc: &mut TwinDocument) -> usize {
        let mut started = 0;
        let base = baseline_parameters(doc);
        let base_key = serde_json::to_string(&base).unwrap_or_default();
        if self.cardio_baseline.as_deref() != Some(base_key.as_str()) {
            self.cardio.clear();
            self.baseline.clear();
            self.cardio_baseline = Some(base_key);
        }
        if self.baseline.wanted("") {
            self.baseline.start(
                String::new(),
                cardio_job(&base, None, "baseline", Vec::new()),
            );
            started += 1;
        }
        let wanted: Vec<(String, String, Vec<Intervention>)> = doc
            .variants
            .iter()
            .filter(|v| !v.cardio.is_empty())
            .map(|v| (cardio_key(&v.cardio), v.name.clone(), v.cardio.clone()))
            .collect();
        self.cardio
            .keep_running(|k| wanted.iter().any(|(w, _, _)| w == k));
        for (k, name, cardio) in wanted {
            if self.cardio.wanted(&k) {
                self.cardio.start(k, cardio_job(&base, None, &name, cardio));
                started += 1;
            }
        }
        started += self.update_gait(doc);
        self.baseline.collect();
        self.cardio.collect();
        self.gait.collect();
        for v in &mut doc.variants {
            if let Some(r) = (!v.cardio.is_empty())
                .then(|| self.cardio.get(&cardio_key(&v.cardio)))
                .flatten()
            {
                v.results.extend(cardio_summary(&r.indices));
            }
            if let Some(p) = &v.prosthesis
                && let Some(o) = self.gait.get(&gait_key(p))
            {
                set_gait_summary(&mut v.results, Some(o));
            }
        }
        started
    }

    fn update_gait(&mut self, doc: &TwinDocument) -> usize {
        let Some(trial) = &doc.gait else {
            self.cases.clear();
            self.gait.clear();
            return 0;
        };
        let devices: Vec<(String, String, Prosthesis)> = doc
            .variants
            .iter()
            .filter_map(|v| {
                Some((
                    gait_key(v.prosthesis.as_ref()?),
                    v.name.clone(),
                    v.prosthesis.clone()?,
                ))
            })
            .collect();
        if devices.is_empty() {
            return 0;
        }
        let trial_key = serde_json::to_string(trial).unwrap_or_default();
        if !self.cases.answered(&trial_key) && !self.cases.is_running(&trial_key) {
            // A new trial: the old one's results are not this one's.
            self.cases.clear();
            self.gait.clear();
            let t = trial.clone();
            self.cases.start(
                trial_key,
                Job::once(
                    "gait case",
                    "Reading the gait trial",
                    Priority::Background,
                    move |p| gait_case(&t, p).map(Arc::new).map_err(|e| e.to_string()),
                ),
            );
            return 1;
        }
        self.cases.collect();
        let Some(case) = self.cases.get(&trial_key).cloned() else {
            return 0;
        };
        self.gait
            .keep_running(|k| k == INTACT || devices.iter().any(|(w, _, _)| w == k));
        let mut started = 0;
        if self.gait.wanted(INTACT) {
            self.gait
                .start(INTACT.to_owned(), gait_job(case.clone(), "intact", None));
            started += 1;
        }
        for (k, name, device) in devices {
            if self.gait.wanted(&k) {
                self.gait
                    .start(k, gait_job(case.clone(), &name, Some(device)));
                started += 1;
            }
        }
        started
    }

    /// Every run `doc` asks for has its answer (a result or an error).
    #[must_use]
    pub fn settled(&self, doc: &TwinDocument) -> bool {
        let cardio = self.baseline.answered("")
            && doc
                .variants
                .iter()
                .all(|v| v.cardio.is_empty() || self.cardio.answered(&cardio_key(&v.cardio)));
        let devices: Vec<&Prosthesis> = doc
            .variants
            .iter()
            .filter_map(|v| v.prosthesis.as_ref())
            .collect();
        let gait = doc.gait.is_none()
            || devices.is_empty()
            || !self.cases.errors().is_empty()
            || self.gait.answered(INTACT)
                && devices.iter().all(|p| self.gait.answered(&gait_key(p)));
        cardio && gait
    }

    /// The cardiac baseline's run, once done.
    #[must_use]
    pub fn cardio_baseline(&self) -> Option<&CardioRun> {
        self.baseline.get("")
    }

    /// Why a run failed: the baseline's, a variant's or the gait trial's.
    #[must_use]
    pub fn errors(&self, doc: &TwinDocument) -> Vec<String> {
        let mut out: Vec<String> = self.baseline.error("").cloned().into_iter().collect();
        for v in &doc.variants {
            if let Some(e) = self.cardio.error(&cardio_key(&v.cardio)) {
                out.push(e.clone());
            }
            if let Some(e) = v
                .prosthesis
                .as_ref()
                .and_then(|p| self.gait.error(&gait_key(p)))
            {
                out.push(e.clone());
            }
        }
        out.extend(self.cases.errors());
        out
    }

    /// The baseline and each variant's run, for a report: the cardiac runs
    /// (in the twin's order) and the gait runs when the twin has prosthesis
    /// variants that all ran.
    #[must_use]
    pub fn for_report(
        &self,
        doc: &TwinDocument,
    ) -> Option<(CardioRun, Vec<CardioRun>, Option<GaitRuns>)> {
        let base = self.cardio_baseline()?.clone();
        let runs = doc
            .variants
            .iter()
            .filter(|v| !v.cardio.is_empty())
            .map(|v| {
                let mut r = self.cardio.get(&cardio_key(&v.cardio))?.clone();
                r.name.clone_from(&v.name);
                Some(r)
            })
            .collect::<Option<Vec<_>>>()?;
        let gait = self.gait.get(INTACT).and_then(|b| {
            let variants = doc
                .variants
                .iter()
                .filter_map(|v| {
                    let p = v.prosthesis.as_ref()?;
                    Some(
                        self.gait
                            .get(&gait_key(p))
                            .map(|o| (v.name.clone(), (**o).clone())),
                    )
                })
                .collect::<Option<Vec<_>>>()?;
            (!variants.is_empty()).then(|| GaitRuns {
                baseline: (**b).clone(),
                variants,
            })
        });
        Some((base, runs, gait))
    }
}

/// The cardiac summaries of the baseline, when run (metric → value).
#[must_use]
pub fn baseline_summary(runs: &VariantRuns) -> BTreeMap<String, f64> {
    runs.cardio_baseline()
        .map(|b| cardio_summary(&b.indices))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_cardio::Intervention;
    use twin_scenario::Variant;
    use twin_scenario::runs::gait_summary;

    #[test]
    fn severe_stenosis_and_its_replacement_run_against_the_baseline() {
        let mut doc = TwinDocument::new("demo");
        for (name, area) in [("severe AS", 0.7), ("TAVR", 1.7)] {
            doc.variants.push(Variant {
                name: name.into(),
                cardio: vec![Intervention::AorticStenosis {
                    valve_area_cm2: area,
                }],
                ..Variant::default()
            });
        }
        doc.variants.push(Variant {
            name: "no cardiac change".into(),
            ..Variant::default()
        });
        let base = run_cardio_variants(&mut doc, &Progress::new()).unwrap();
        let g = |r: &BTreeMap<String, f64>| r["aortic_mean_gradient_mmhg"];
        // docs/models/cardio.md: severe AS 50.8 mmHg, TAVR 13.7 mmHg.
        assert!(g(&base) < 5.0, "{}", g(&base));
        assert!(
            (g(&doc.variants[0].results) - 50.8).abs() < 1.5,
            "{:?}",
            doc.variants[0].results
        );
        assert!(
            (g(&doc.variants[1].results) - 13.7).abs() < 1.0,
            "{:?}",
            doc.variants[1].results
        );
        assert!(doc.variants[2].results.is_empty());
        assert!(doc.check().is_ok());
        // Out of range: refused, naming the variant.
        doc.variants[0].cardio = vec![Intervention::AorticStenosis {
            valve_area_cm2: -1.0,
        }];
        let e = run_cardio_variants(&mut doc, &Progress::new())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("variant `severe AS`: "), "{e}");
    }

    #[test]
    fn prosthesis_variants_run_on_the_twins_gait_trial() {
        let Some(dir) = twin_core::testdata::require("msk/gait10dof18musc") else {
            return;
        };
        let mut doc = TwinDocument::new("gait");
        let device = |k: f64| twin_msk::prosthesis::Prosthesis {
            side: "right".into(),
            stiffness_nm_per_rad: k,
            plantar_stiffness_nm_per_rad: None,
            damping_nms_per_rad: 2.0,
            neutral_angle_deg: 0.0,
            alignment_offset_deg: 0.0,
            mass_kg: Some(1.2),
        };
        for (name, k) in [("soft foot", 250.0), ("stiff foot", 900.0)] {
            doc.variants.push(Variant {
                name: name.into(),
                prosthesis: Some(device(k)),
                ..Variant::default()
            });
        }
        doc.variants.push(Variant {
            name: "heart only".into(),
            ..Variant::default()
        });
        // No trial: nothing to run.
        assert!(run_gait(&doc, &Progress::new()).unwrap().is_none());
        doc.gait = Some(GaitTrial {
            model: dir.join("gait10dof18musc_subject01.osim"),
            motion: dir.join("subject01_walk_IK.mot"),
            loads: Some(dir.join("gait10dof18musc_subject01_walk_grf.xml")),
        });
        let runs = run_gait_variants(&mut doc, &Progress::new())
            .unwrap()
            .unwrap();
        assert_eq!(runs.variants.len(), 2);
        let base = gait_summary(&runs.baseline);
        let m = |r: &BTreeMap<String, f64>| r["gait_metabolic_umberger_w_per_kg"];
        // A walking adult: 2–8 W/kg gross (Umberger 2010's range for
        // walking at 1.3 m/s is about 3–5 W/kg).
        assert!((2.0..8.0).contains(&m(&base)), "{base:?}");
        let (soft, stiff) = (&doc.variants[0].results, &doc.variants[1].results);
        for r in [soft, stiff] {
            assert!(r.contains_key("gait_device_energy_return_percent"), "{r:?}");
            assert!(m(r).is_finite());
        }
        // The stiffer foot makes more of the plantarflexor moment (the
        // reserve actuator's share changes with it); the intact baseline
        // has no device.
        let peak = |r: &BTreeMap<String, f64>| r["gait_device_peak_plantarflexor_moment_nm"];
        assert!(peak(stiff) > 2.0 * peak(soft), "{soft:?} {stiff:?}");
        let reserve = |r: &BTreeMap<String, f64>| r["gait_ankle_reserve_percent"];
        assert!(
            (reserve(soft) - reserve(stiff)).abs() > 1.0,
            "{soft:?} {stiff:?}"
        );
        assert!(!base.contains_key("gait_device_energy_return_percent"));
        assert!(doc.variants[2].results.is_empty());
        // The report tables each device against the intact baseline and
        // plots their ankle moments in the variants' colours.
        let (cb, cr) = run_cardio(&doc, &Progress::new()).unwrap();
        let extras = twin_scenario::report::ReportExtras {
            gait_runs: Some(&runs),
            ..twin_scenario::report::ReportExtras::default()
        };
        let options = twin_scenario::report::ReportOptions::default();
        let html = twin_scenario::report::html_with(&doc, &cb, &cr, options, &extras);
        for expected in [
            "<h2>soft foot (prosthesis)</h2>",
            "<h2>stiff foot (prosthesis)</h2>",
            "<td>gait_ankle_reserve_percent</td>",
            "Prosthetic ankle moment",
        ] {
            assert!(html.contains(expected), "{expected} not in the report");
        }
        let [r, g, b] = twin_scenario::report::variant_colour(1);
        assert!(
            html.contains(&format!("stroke=\"#{r:02x}{g:02x}{b:02x}\"")),
            "the stiff foot's curve in its colour"
        );
        // A device that does not fit: refused, naming the variant.
        doc.variants[1].prosthesis = Some(device(-5.0));
        let e = run_gait_variants(&mut doc, &Progress::new())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("variant `stiff foot`: "), "{e}");
        // No loads: said so, naming the trial.
        if let Some(g) = &mut doc.gait {
            g.loads = None;
        }
        let e = run_gait(&doc, &Progress::new()).unwrap_err().to_string();
        assert!(e.contains("external loads"), "{e}");
    }
}
