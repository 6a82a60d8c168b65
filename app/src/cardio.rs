//! The cardiac twin window: calibration (written into the twin with its
//! provenance) and the twin's variants run against the calibrated baseline
//! in the job system, overlaid in their colours with the panel from
//! `twin_ui::cardio`. A variant reruns only when its interventions change:
//! results are kept by interventions, and a new baseline clears them.

use std::time::Instant;

use bevy::prelude::*;
use twin_cardio::model::{NoExtra, State};
use twin_cardio::simulate::{SimOptions, simulate_with};
use twin_cardio::{Intervention, Parameters, Scenario, Targets};
use twin_core::Progress;
use twin_scenario::document::CardioModel;
use twin_scenario::runs::CardioRun;
use twin_scenario::runs::cardio_summary;
use twin_session::ScenarioAction;
use twin_session::runs::cardio_key as key;
use twin_ui::cardio::{CardioResult, Controls, VariantCurve};
use twin_ui::{CardioAction, CardioState};

use crate::Args;
use crate::job::{Job, KeyedRuns, Priority};
use crate::study::Workspace;
use crate::twin::Twin;

pub struct CardioPlugin;

impl Plugin for CardioPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Cardio>()
            .add_systems(Startup, start)
            .add_systems(
                Update,
                (poll, sync_variants, from_imaging, pulse)
                    .chain()
                    .in_set(crate::Feature::Cardio),
            );
    }
}

pub enum Msg {
    Calibrated {
        params: Box<Parameters>,
        state: Box<State>,
        result: Box<CardioResult>,
        status: String,
        /// A new calibration for the twin (not one read from its file).
        model: Option<Box<CardioModel>>,
    },
    /// EDV, ESV (mL) and heart rate from the cine's LV curve.
    Imaging(Box<twin_session::cine::CineTargets>),
    Failed(String),
}

/// The window's state, the baseline and the variants' runs.
#[derive(Resource, Default)]
pub struct Cardio {
    pub open: bool,
    pub ui: CardioState,
    params: Parameters,
    state: Option<State>,
    job: Option<Job<Msg>>,
    /// Results of the variants by their interventions (JSON), against the
    /// current baseline.
    runs: KeyedRuns<CardioRun>,
    /// A new calibration for the twin to take.
    calibrated: Option<CardioModel>,
    /// The variant shown in the controls last frame (outer `None`: none
    /// shown yet; inner `None`: the baseline).
    #[expect(
        clippy::option_option,
        reason = "a selection that may itself be the baseline, or not made yet"
    )]
    shown: Option<Option<usize>>,
    /// When the user last let go of a control, and what it asked.
    asked: Option<(String, Instant)>,
    /// What the overlays were last built from (cleared with the baseline).
    sig: Option<Vec<(String, bool, bool)>>,
    /// From a control's release to the variant's result shown, ms.
    pub last_latency_ms: Option<f64>,
    /// Calibrate as soon as targets come from the images (`--lv-seed`).
    calibrate_after_imaging: bool,
}

impl Cardio {
    /// Opens the window, calibrating a first baseline if there is none.
    pub fn show(&mut self) {
        self.open = true;
        if self.ui.baseline.is_none() && !self.ui.busy {
            let targets = self.ui.targets;
            self.calibrate(targets);
        }
    }

    /// Variants running now.
    pub fn running(&self) -> usize {
        self.runs.running()
    }

    /// Everything asked has finished (and the twin has taken the calibration).
    pub fn settled(&self) -> bool {
        self.job.is_none()
            && self.running() == 0
            && !self.calibrate_after_imaging
            && self.calibrated.is_none()
    }

    /// Every cardiac variant of `doc` has its result (or its error), once
    /// there is a baseline.
    pub fn all_run(&self, doc: &twin_scenario::TwinDocument) -> bool {
        self.ui.baseline.is_none()
            || doc.variants.iter().all(|v| {
                let k = key(&v.cardio);
                v.cardio.is_empty() || self.runs.answered(&k)
            })
    }

    fn spawn(&mut self, label: &str, work: impl FnOnce(&Progress) -> Msg + Send + 'static) {
        self.job = None;
        self.job = Some(Job::once("cardio", label, Priority::Interactive, work));
        self.ui.busy = true;
    }

    /// Fits the circulation to `targets` (it becomes the baseline and goes
    /// into the twin with its provenance).
    pub fn calibrate(&mut self, targets: Targets) {
        let source = self.ui.targets_source.clone();
        self.spawn("Calibrating the heart", move |progress| {
            let (model, c) = match twin_session::calibration::fit(targets, &source, progress) {
                Ok(fit) => fit,
                Err(e) => return Msg::Failed(e.to_string()),
            };
            let status = twin_session::calibration::summary(&c);
            baseline(&c.parameters, Some(&c.state), status, Some(model), progress)
        });
    }

    /// Takes the twin file's calibrated heart as the baseline (no refit).
    pub fn load_model(&mut self, model: CardioModel) {
        self.ui.targets = model.targets;
        self.ui.targets_source.clone_from(&model.source);
        let status = format!(
            "calibrated {} (from the twin file)",
            twin_scenario::report::utc(model.calibrated_unix_s)
        );
        self.spawn("Simulating the baseline", move |progress| {
            baseline(&model.parameters, None, status, None, progress)
        });
    }

    /// Forgets every variant's results (a new twin or a new baseline).
    pub fn reset_variants(&mut self) {
        self.runs.clear();
        self.ui.variants.clear();
        self.ui.editing = None;
        self.ui.current.clone_from(&self.ui.baseline);
        self.shown = None;
        self.sig = None;
    }

    /// LV volume curve of a cine from a seed (patient mm), in the background.
    fn measure_cine(
        &mut self,
        frames: Vec<std::sync::Arc<twin_imaging::Volume>>,
        times_ms: Vec<f64>,
        seed: [f64; 3],
        label: String,
    ) {
        self.spawn("LV volumes from the cine", move |progress| {
            let grids: Vec<twin_mesh::Grid> = frames
                .iter()
                .map(|v| twin_session::segments::grid(v))
                .collect();
            match twin_session::cine::lv_targets(&grids, &times_ms, seed, &label, progress) {
                Ok(t) => Msg::Imaging(Box::new(t)),
                Err(e) => Msg::Failed(format!("LV curve: {e}")),
            }
        });
    }

    /// Runs one variant's interventions against the baseline.
    fn run_variant(&mut self, name: &str, interventions: Vec<Intervention>) {
        let k = key(&interventions);
        let job = twin_session::runs::cardio_job(&self.params, self.state, name, interventions);
        self.runs.start(k, job);
    }
}

/// Simulates the baseline to steady state.
fn baseline(
    params: &Parameters,
    start: Option<&State>,
    status: String,
    model: Option<CardioModel>,
    progress: &Progress,
) -> Msg {
    match simulate_with(params, &NoExtra, start, SimOptions::default(), progress) {
        Ok(s) => Msg::Calibrated {
            params: Box::new(params.clone()),
            state: Box::new(s.state),
            result: Box::new(CardioResult {
                indices: s.last().clone(),
                waveforms: s.waveforms,
            }),
            status,
            model: model.map(Box::new),
        },
        Err(e) => Msg::Failed(e.to_string()),
    }
}

/// Drives the 3D mesh pulse from the current run's LV volume.
fn pulse(cardio: Res<Cardio>, time: Res<Time>, pulse: Option<ResMut<crate::viewport::MeshPulse>>) {
    let Some(mut pulse) = pulse else { return };
    let want = if cardio.open && cardio.ui.pulse_mesh {
        cardio
            .ui
            .current
            .as_ref()
            .and_then(|r| twin_ui::cardio::pulse_scale(r, time.elapsed_secs_f64()))
    } else {
        None
    };
    if pulse.0 != want {
        pulse.0 = want;
    }
}

fn start(mut cardio: ResMut<Cardio>, mut twin: ResMut<Twin>, args: Res<Args>) {
    let Some(arg) = &args.cardio else {
        return;
    };
    cardio.open = true;
    if let Some(path) = arg {
        match twin_session::scenarios::import_variants(path) {
            Ok(variants) => {
                twin.session.doc.variants.extend(variants);
                twin.session.selected = twin.session.doc.variants.len().checked_sub(1);
            }
            Err(e) => cardio.ui.status = format!("scenario: {e}"),
        }
    }
    if args.lv_seed.is_some() {
        cardio.calibrate_after_imaging = true;
    } else if args.twin.is_none() {
        let targets = cardio.ui.targets;
        cardio.calibrate(targets);
    }
}

/// The loaded cine as the calibration's provenance names it.
fn cine_label(ws: &Workspace) -> String {
    ws.browser
        .selected_stack
        .as_ref()
        .map_or_else(|| "the cine".to_owned(), |id| format!("series {id}"))
}

/// `--lv-seed`: once the cine is in, segment the LV there, take the
/// targets from its volume curve and calibrate.
fn from_imaging(
    mut cardio: ResMut<Cardio>,
    mut ws: ResMut<Workspace>,
    args: Res<Args>,
    mut done: Local<bool>,
) {
    let Some(spec) = &args.lv_seed else { return };
    if *done || !ws.settled || ws.job.is_some() || ws.mpr.frames.len() < 2 {
        return;
    }
    *done = true;
    let seed: Vec<f64> = spec
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let [x, y, z] = seed[..] else {
        cardio.calibrate_after_imaging = false;
        cardio.ui.status = format!("--lv-seed `{spec}`: expected X,Y,Z in mm");
        return;
    };
    let seed = [x, y, z];
    ws.mpr.crosshair = seed;
    ws.add_segment(Some(seed));
    let label = cine_label(&ws);
    let (frames, times) = (ws.mpr.frames.clone(), ws.mpr.times_ms.clone());
    cardio.measure_cine(frames, times, seed, label);
}

pub fn poll(mut cardio: ResMut<Cardio>) {
    let msg = cardio.job.as_ref().and_then(|j| j.try_recv().ok());
    let Some(msg) = msg else { return };
    if let (Msg::Failed(e), Some(job)) = (&msg, &cardio.job) {
        job.fail(e);
    }
    cardio.job = None;
    cardio.ui.busy = false;
    match msg {
        Msg::Calibrated {
            params,
            state,
            result,
            status,
            model,
        } => {
            cardio.params = *params;
            cardio.state = Some(*state);
            cardio.ui.baseline = Some(*result);
            cardio.ui.status = status;
            cardio.calibrated = model.map(|m| *m);
            cardio.reset_variants();
        }
        Msg::Imaging(t) => {
            cardio.ui.targets = t.applied_to(cardio.ui.targets);
            cardio.ui.targets_source = t.source;
            cardio.ui.status = "targets from imaging; Calibrate to fit".into();
            if std::mem::take(&mut cardio.calibrate_after_imaging) {
                let t = cardio.ui.targets;
                cardio.calibrate(t);
            }
        }
        Msg::Failed(e) => {
            cardio.calibrate_after_imaging = false;
            cardio.ui.status = e;
        }
    }
}

/// Keeps the variants' runs, the overlays and the twin in step.
pub fn sync_variants(mut cardio: ResMut<Cardio>, mut twin: ResMut<Twin>, ws: Res<Workspace>) {
    let cardio = &mut *cardio;
    if let Some(model) = cardio.calibrated.take() {
        twin.record("calibrate the heart", &ws);
        twin.session.doc.cardio = Some(model);
    }
    if cardio.ui.baseline.is_none() {
        return;
    }
    // Each variant's key, once per frame.
    let keys: Vec<String> = twin
        .session
        .doc
        .variants
        .iter()
        .map(|v| key(&v.cardio))
        .collect();
    // Start what is missing; collect what finished.
    for (v, k) in twin.session.doc.variants.iter().zip(&keys) {
        if !v.cardio.is_empty() && cardio.runs.wanted(k) {
            cardio.run_variant(&v.name, v.cardio.clone());
        }
    }
    cardio.runs.keep_running(|k| keys.iter().any(|x| x == k));
    for k in cardio.runs.collect() {
        if cardio.asked.as_ref().is_some_and(|(a, _)| *a == k) {
            let (_, at) = cardio
                .asked
                .take()
                .unwrap_or_else(|| (k.clone(), Instant::now()));
            cardio.last_latency_ms = Some(at.elapsed().as_secs_f64() * 1e3);
        }
        if let Some(res) = cardio.runs.get(&k) {
            let s = cardio_summary(&res.indices);
            for (v, vk) in twin.session.doc.variants.iter_mut().zip(&keys) {
                if *vk == k {
                    v.results.extend(s.clone());
                }
            }
        }
    }
    // The overlays, in the scenario list's colours: rebuilt (results
    // copied) only when a name, key, selection or result changed.
    let selected = twin.session.selected;
    let sig: Vec<(String, bool, bool)> = twin
        .session
        .doc
        .variants
        .iter()
        .zip(&keys)
        .enumerate()
        .map(|(i, (v, k))| {
            let ready = cardio.runs.get(k).is_some();
            (format!("{}\u{0}{k}", v.name), selected == Some(i), ready)
        })
        .collect();
    if cardio.sig.as_ref() != Some(&sig) {
        cardio.sig = Some(sig);
        let base = cardio.ui.baseline.clone();
        if let Some(b) = &base {
            twin.session
                .baseline_results
                .extend(cardio_summary(&b.indices));
        }
        cardio.ui.variants = twin
            .session
            .doc
            .variants
            .iter()
            .zip(&keys)
            .enumerate()
            .filter(|(_, (v, _))| !v.cardio.is_empty())
            .map(|(i, (v, k))| VariantCurve {
                name: v.name.clone(),
                colour: twin_ui::twin::colour(i),
                result: cardio.runs.get(k).map(CardioResult::from),
                selected: selected == Some(i),
            })
            .collect();
        let k = selected.and_then(|i| keys.get(i));
        cardio.ui.current = match k {
            Some(k) => cardio.runs.get(k).map(CardioResult::from),
            None => base,
        };
        cardio.ui.editing = twin.session.variant().map(|v| v.name.clone());
        if let Some(e) = k.and_then(|k| cardio.runs.error(k)) {
            cardio.ui.status.clone_from(e);
        }
    }
    // A new selection shows its interventions in the controls.
    if cardio.shown != Some(selected) {
        cardio.shown = Some(selected);
        let hr = cardio.ui.targets.heart_rate_bpm;
        let interventions = twin
            .session
            .variant()
            .map(|v| v.cardio.clone())
            .unwrap_or_default();
        cardio.ui.controls = Controls::from_scenario(
            &Scenario {
                interventions,
                ..Scenario::default()
            },
            hr,
        );
    }
}

/// The interventions of `old` edited by controls that now read `new`: the
/// groups whose controls did not move keep their interventions as they
/// were (a TAVR stays a TAVR when only the LVAD changes).
pub fn merge(
    old: &[Intervention],
    before: &Controls,
    new: &Scenario,
    after: &Controls,
) -> Vec<Intervention> {
    use Intervention as I;
    let group = |i: &I| match i {
        I::AorticStenosis { .. } | I::Tavr { .. } => 0,
        I::MitralRegurgitation { .. } | I::MitralRepair => 1,
        I::Pacing { .. } | I::BetaBlocker { .. } => 2,
        I::Inotrope { .. } => 3,
        I::Vasoactive { .. } => 4,
        I::Fluid { .. } => 5,
        I::Lvad { .. } => 6,
        I::AorticRegurgitation { .. } => 7,
    };
    let ne = |a: f64, b: f64| (a - b).abs() > 1e-9;
    let moved = [
        ne(before.aortic_area_cm2, after.aortic_area_cm2),
        ne(before.mitral_eroa_cm2, after.mitral_eroa_cm2),
        ne(before.heart_rate_bpm, after.heart_rate_bpm),
        ne(before.contractility, after.contractility),
        ne(before.svr, after.svr),
        ne(before.fluid_ml, after.fluid_ml),
        ne(before.lvad_rpm, after.lvad_rpm),
        false,
    ];
    let mut out: Vec<Intervention> = old.iter().filter(|i| !moved[group(i)]).cloned().collect();
    out.extend(
        new.interventions
            .iter()
            .filter(|i| moved[group(i)])
            .cloned(),
    );
    out
}

/// A control was let go: the selected variant takes the new interventions
/// (or, with the baseline selected, a new variant does).
pub fn apply_controls(cardio: &mut Cardio, twin: &mut Twin, ws: &mut Workspace, s: &Scenario) {
    let hr = cardio.ui.targets.heart_rate_bpm;
    let after = cardio.ui.controls;
    let interventions = if let Some(i) = twin.session.selected {
        let Some(v) = twin.session.doc.variants.get(i) else {
            return;
        };
        let before = Controls::from_scenario(
            &Scenario {
                interventions: v.cardio.clone(),
                ..Scenario::default()
            },
            hr,
        );
        let merged = merge(&v.cardio, &before, s, &after);
        if merged == v.cardio {
            return;
        }
        let label = format!("change “{}”", v.name);
        twin.record(&label, ws);
        let v = &mut twin.session.doc.variants[i];
        v.cardio.clone_from(&merged);
        v.results.clear();
        merged
    } else {
        if s.interventions.is_empty() {
            return;
        }
        twin.act(
            &ScenarioAction::Add("what-if".into(), s.interventions.clone()),
            ws,
        );
        s.interventions.clone()
    };
    cardio.shown = Some(twin.session.selected);
    cardio.asked = Some((key(&interventions), Instant::now()));
}

/// Carries out what the cardiac panes asked.
pub fn handle(
    actions: Vec<CardioAction>,
    cardio: &mut Cardio,
    twin: &mut Twin,
    ws: &mut Workspace,
) {
    for a in actions {
        match a {
            CardioAction::Calibrate(t) => cardio.calibrate(t),
            CardioAction::Simulate(s) => apply_controls(cardio, twin, ws, &s),
            CardioAction::FromImaging => {
                let label = cine_label(ws);
                cardio.measure_cine(
                    ws.mpr.frames.clone(),
                    ws.mpr.times_ms.clone(),
                    ws.mpr.crosshair,
                    label,
                );
            }
        }
    }
}
