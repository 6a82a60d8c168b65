//! The Predicted gait pane's work (`twin_session::predict`): a search of
//! the planar model's reflex controller as a background job, the best
//! walk shown as it improves, cancel; with the device, a search of both
//! legs' controllers warm-started from the intact walk. The walks are
//! compared with the gait trial when it is a motion with external loads.
//! `--predict MODEL.osim,START.sto` names the predictive model (else
//! Predict asks for the files); `--predict-solution LABEL=SOLUTION.json`
//! shows a saved walk (a `solution.json` of `twin gait predict`) without
//! searching; `--predict-landscape LANDSCAPE.json` a device tuning's
//! landscape (`twin gait tune`) as a heat map.

use std::path::PathBuf;
use std::sync::Arc;

use bevy::prelude::*;
use twin_msk::gait::CycleSeries;
use twin_msk::prosthesis::Prosthesis;
use twin_session::jobs::{Job, Priority};
use twin_session::predict::{Prediction, Setting, Setup, Solution, run, walk_label};
use twin_ui::predict::{PredictAction, PredictedWalk};

use crate::Args;
use crate::session::Session;

pub struct PredictPlugin;

impl Plugin for PredictPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Predict>()
            .add_systems(Startup, start)
            .add_systems(Update, (poll, play).in_set(crate::Feature::Gait));
    }
}

/// The muscles a new intact walk is searched with compliant tendons.
const INTACT_COMPLIANT: [&str; 2] = ["soleus", "gastroc"];

enum Msg {
    /// A better walk (or the saved one), and whether it is the final one.
    Walk {
        walk: Box<PredictedWalk>,
        /// Its parameters and the setting they were found in.
        solution: Box<Solution>,
        device: bool,
        done: bool,
        /// The walk as the twin would keep it.
        kept: Box<Kept>,
    },
    Failed(String),
    /// The measured trial's angles over its strides (or why not).
    Measured(Result<Vec<CycleSeries>, String>),
    /// The predictive model's files picked (or not), for this request.
    Picked(Option<(PathBuf, PathBuf)>, PredictAction),
    /// A tuning's landscape read (or why not).
    Landscape(Result<twin_session::predict::Landscape, String>),
}

/// A walk as the twin keeps it: its device and summary with solution.
type Kept = (Option<Prosthesis>, twin_scenario::document::PredictedGait);

/// The predictive model, the intact walk (the device search starts from
/// its parameters, in its setting), the measured trial's angles and the
/// running search.
#[derive(Resource, Default)]
pub struct Predict {
    files: Option<(PathBuf, PathBuf)>,
    intact: Option<Box<Solution>>,
    measured: Option<Arc<Vec<CycleSeries>>>,
    job: Option<Job<Msg>>,
    /// Saved walks still to show (`--predict-solution`).
    pending: Vec<(String, PathBuf)>,
    /// A tuning's landscape still to read (`--predict-landscape`).
    landscape: Option<PathBuf>,
    /// Each shown walk (by label) as the twin would keep it.
    kept: Vec<(String, Kept)>,
    /// Seconds into the figure's walk while it plays.
    clock: f64,
}

impl Predict {
    /// Carries out a pane's action.
    pub fn ask(&mut self, s: &mut Session, a: &PredictAction) {
        let v = &mut s.gait.ui;
        match a {
            PredictAction::Cancel => {
                if let Some(j) = &self.job {
                    j.progress.cancel();
                }
            }
            PredictAction::Keep(i) => {
                let Some(label) = v.predict.walks.get(*i).map(|w| w.label.clone()) else {
                    return;
                };
                let Some((_, (prosthesis, predicted))) =
                    self.kept.iter().find(|(l, _)| *l == label)
                else {
                    return;
                };
                let mut predicted = predicted.clone();
                // The tuning shown is kept with a device walk.
                if prosthesis.is_some() {
                    predicted.tuning.clone_from(&v.predict.landscape);
                }
                let action = twin_session::ScenarioAction::AddPredicted {
                    name: format!("predicted: {label}"),
                    prosthesis: prosthesis.clone().map(Box::new),
                    predicted: Box::new(predicted),
                };
                s.act(&action);
                s.gait.ui.predict.status = format!("kept “{label}” in the twin as a variant");
            }
            PredictAction::Predict {
                with_device,
                generations,
            } => {
                let Some((model, start)) = self.files.clone() else {
                    // Asked off the frame loop, then the request again.
                    let again = a.clone();
                    v.predict.busy = true;
                    v.predict.status = "choose the predictive model…".into();
                    self.job = Some(Job::once(
                        "gait-predict",
                        "choosing the predictive model",
                        Priority::Background,
                        move |_| Msg::Picked(pick_files(), again),
                    ));
                    return;
                };
                let device = with_device.then(|| v.whatif.controls.prosthesis());
                if device.is_some() && self.intact.is_none() {
                    v.predict.status =
                        "predict the intact walk first: the device search starts from it".into();
                    return;
                }
                let intact_setting = device.as_ref().and(self.intact.as_deref());
                let setup = Setup {
                    model,
                    start,
                    // With the device: straight from the intact walk (a
                    // walk driven by the hips needs no continuation through
                    // weakened ankle muscles; docs/models/predictive.md).
                    continuation: Vec::new(),
                    prosthesis: device.clone(),
                    residual_strength: 0.0,
                    strength: Vec::new(),
                    speed: [1.1, 1.4],
                    duration: 10.0,
                    init: device
                        .as_ref()
                        .and(self.intact.as_ref())
                        .map(|i| i.parameters.clone()),
                    search: twin_msk::predict::cmaes::Settings {
                        population: 16,
                        generations: *generations,
                        sigma: if device.is_some() { 0.3 } else { 1.0 },
                        seed: 1,
                        restarts: 1,
                    },
                    // The device walk in the intact walk's setting; a new
                    // intact walk in a new search's, with compliant
                    // plantarflexor tendons.
                    setting: intact_setting.map_or_else(
                        || Setting {
                            compliant: INTACT_COMPLIANT.iter().map(|n| (*n).to_owned()).collect(),
                            ..Setting::new_search()
                        },
                        |i| i.setting.clone(),
                    ),
                };
                self.start(s, setup, device);
            }
        }
    }

    fn start(&mut self, s: &mut Session, setup: Setup, device: Option<Prosthesis>) {
        let label = walk_label(device.as_ref());
        let measured = self.measured.clone();
        let v = &mut s.gait.ui.predict;
        v.busy = true;
        v.status = format!("searching: {label}");
        let with_device = device.is_some();
        self.job = Some(Job::start(
            "gait-predict",
            "predicting gait",
            Priority::Background,
            move |progress, send| {
                let walk = |p: &Prediction| PredictedWalk::of(&label, p);
                let kept = |p: &Prediction| -> Box<Kept> {
                    let solution = Solution::of(&setup, p);
                    let twin = p.for_twin(&solution).unwrap_or_default();
                    Box::new((setup.prosthesis.clone(), twin))
                };
                let result = run(
                    &setup,
                    measured.as_deref().map(Vec::as_slice),
                    progress,
                    &mut |p| {
                        // Only the device alone is the prosthetic walk; the
                        // continuation's steps are shown in the progress.
                        if p.residual_strength == 0.0 {
                            send(Msg::Walk {
                                walk: Box::new(walk(p)),
                                solution: Box::new(Solution::of(&setup, p)),
                                device: with_device,
                                done: false,
                                kept: kept(p),
                            });
                        }
                        Ok(())
                    },
                );
                send(match result {
                    Ok(p) => Msg::Walk {
                        walk: Box::new(walk(&p)),
                        kept: kept(&p),
                        solution: Box::new(Solution::of(&setup, &p)),
                        device: with_device,
                        done: true,
                    },
                    Err(e) => Msg::Failed(e.to_string()),
                });
            },
        ));
    }
}

/// Asks for the predictive model and its starting coordinates.
fn pick_files() -> Option<(PathBuf, PathBuf)> {
    let model = rfd::FileDialog::new()
        .set_title("Predictive model (OpenSim, with contact spheres)")
        .add_filter("OpenSim model", &["osim"])
        .pick_file()?;
    let start = rfd::FileDialog::new()
        .set_title("Starting coordinates (.sto/.mot: the first two rows)")
        .add_filter("coordinates", &["sto", "mot"])
        .pick_file()?;
    Some((model, start))
}

fn start(args: Res<Args>, mut p: ResMut<Predict>, mut s: ResMut<Session>) {
    let v = &mut s.gait.ui.predict;
    if let Some(spec) = &args.predict {
        match spec.split_once(',') {
            Some((m, st)) => p.files = Some((m.trim().into(), st.trim().into())),
            None => v.status = format!("--predict `{spec}`: expected MODEL.osim,START.sto"),
        }
    }
    p.landscape.clone_from(&args.predict_landscape);
    for spec in &args.predict_solution {
        match spec.split_once('=') {
            Some((label, path)) => p.pending.push((label.to_owned(), path.into())),
            None => v.status = format!("--predict-solution `{spec}`: expected LABEL=SOLUTION.json"),
        }
    }
    // The measured trial to compare with (a motion with its loads), read
    // in a job; the saved walks wait for it.
    if let Some(files) = &args.gait
        && let [model, motion, loads] = &files[..]
        && motion.extension().is_some_and(|e| e == "mot" || e == "sto")
    {
        let (model, motion, loads) = (model.clone(), motion.clone(), loads.clone());
        p.job = Some(Job::once(
            "gait-predict",
            "reading the measured trial",
            Priority::Background,
            move |_| {
                Msg::Measured(
                    twin_session::predict::measured_angles(&model, &motion, &loads)
                        .map_err(|e| e.to_string()),
                )
            },
        ));
    }
}

/// Shows the search's progress and its walks; starts the saved walks'
/// evaluation one after the other.
fn poll(mut p: ResMut<Predict>, mut s: ResMut<Session>) {
    let p = &mut *p;
    if p.job.is_none()
        && !p.pending.is_empty()
        && let Some((model, st)) = p.files.clone()
    {
        let (label, path) = p.pending.remove(0);
        let measured = p.measured.clone();
        let v = &mut s.gait.ui.predict;
        v.busy = true;
        v.status = format!("evaluating the saved walk `{label}`");
        p.job = Some(Job::once(
            "gait-predict",
            "evaluating a saved walk",
            Priority::Background,
            move |_| {
                saved_walk(
                    &label,
                    &path,
                    model,
                    st,
                    measured.as_deref().map(Vec::as_slice),
                )
            },
        ));
    }
    if p.job.is_none()
        && p.pending.is_empty()
        && let Some(path) = p.landscape.take()
    {
        p.job = Some(Job::once(
            "gait-predict",
            "reading a tuning landscape",
            Priority::Background,
            move |_| Msg::Landscape(read_landscape(&path)),
        ));
    }
    let v = &mut s.gait.ui.predict;
    if p.files.is_none() && !p.pending.is_empty() {
        p.pending.clear();
        v.status = "--predict-solution needs --predict MODEL.osim,START.sto".into();
    }
    if let Some(j) = &p.job {
        let shown = Some((j.progress.stage(), j.progress.fraction()));
        if v.progress != shown {
            v.progress = shown;
        }
    }
    let mut retry = None;
    while let Some(msg) = p.job.as_ref().and_then(|j| j.try_recv().ok()) {
        match msg {
            Msg::Walk {
                walk,
                solution,
                device,
                done,
                kept,
            } => {
                if !device {
                    p.intact = Some(solution);
                }
                p.kept.retain(|(l, _)| *l != walk.label);
                p.kept.push((walk.label.clone(), *kept));
                if done {
                    v.status = format!(
                        "{}: {}",
                        walk.label,
                        if walk.fell {
                            format!("fell after {:.1} s", walk.time_s)
                        } else {
                            format!(
                                "walks {:.0} s at {:.2} m/s",
                                walk.time_s, walk.speed_m_per_s
                            )
                        }
                    );
                }
                v.set_walk(*walk);
                if done {
                    p.job = None;
                    v.busy = false;
                    v.progress = None;
                }
            }
            Msg::Failed(e) => {
                if let Some(j) = &p.job {
                    j.fail(&e);
                }
                v.status = e;
                p.job = None;
                v.busy = false;
                v.progress = None;
            }
            Msg::Measured(result) => {
                p.job = None;
                match result {
                    Ok(m) => {
                        v.measured = twin_ui::predict::bands(&m);
                        p.measured = Some(Arc::new(m));
                    }
                    Err(e) => v.status = format!("no measured curves to compare with: {e}"),
                }
                break;
            }
            Msg::Landscape(result) => {
                p.job = None;
                match result {
                    Ok(l) => v.landscape = Some(l),
                    Err(e) => v.status = e,
                }
                break;
            }
            Msg::Picked(files, again) => {
                p.job = None;
                v.busy = false;
                v.progress = None;
                match files {
                    Some(f) => {
                        p.files = Some(f);
                        retry = Some(again);
                    }
                    None => {
                        v.status = "no predictive model chosen: a model with contact spheres and its starting coordinates are needed (or --predict MODEL.osim,START.sto)".into();
                    }
                }
                break;
            }
        }
    }
    v.settled = p.job.is_none() && p.pending.is_empty() && p.landscape.is_none();
    if let Some(a) = retry {
        p.ask(&mut s, &a);
    }
}

/// Plays the stick figure of the chosen walk in real time (looping).
fn play(time: Res<Time>, mut p: ResMut<Predict>, mut s: ResMut<Session>) {
    let v = &mut s.gait.ui.predict;
    let Some(times) = v.walks.get(v.player.walk).map(|w| &w.figure.time) else {
        return;
    };
    let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
        return;
    };
    if !v.player.playing || last <= first {
        p.clock = times.get(v.player.frame).map_or(0.0, |t| t - first);
        return;
    }
    p.clock = (p.clock + f64::from(time.delta_secs())) % (last - first);
    let t = first + p.clock;
    v.player.frame = times.partition_point(|&x| x < t).min(times.len() - 1);
}

/// A tuning's `landscape.json` (`twin gait tune`), at most
/// [`twin_core::limits::MAX_JSON_FILE`].
fn read_landscape(path: &std::path::Path) -> Result<twin_session::predict::Landscape, String> {
    let text = twin_core::limits::read_text(path, twin_core::limits::MAX_JSON_FILE, "landscape")
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let l: twin_session::predict::Landscape = serde_json::from_str(&text)
        .map_err(|e| format!("`{}` is not a tuning landscape: {e}", path.display()))?;
    // The optimum and its stability from the cells, by the current rule.
    twin_session::predict::Landscape::from_cells(l.stiffness, l.neutral_deg, l.seeds, l.cells)
        .map_err(|e| format!("`{}`: {e}", path.display()))
}

/// A saved `solution.json` evaluated on the predictive model.
fn saved_walk(
    label: &str,
    path: &std::path::Path,
    model: PathBuf,
    start: PathBuf,
    measured: Option<&[CycleSeries]>,
) -> Msg {
    let read = || -> Result<Msg, twin_session::SessionError> {
        let saved = Solution::read(path)?;
        let scenario = saved.setup(model, start).scenario()?;
        let p = Prediction::of(&scenario, saved.parameters.clone(), measured, Vec::new())?;
        Ok(Msg::Walk {
            walk: Box::new(PredictedWalk::of(label, &p)),
            kept: Box::new((saved.prosthesis.clone(), p.for_twin(&saved)?)),
            device: saved.prosthesis.is_some(),
            solution: Box::new(saved),
            done: true,
        })
    };
    read().unwrap_or_else(|e| Msg::Failed(e.to_string()))
}
