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
use twin_session::jobs::{Job, KeyedRuns, Priority};
use twin_session::runs::cardio_key as key;
use twin_ui::CardioAction;
use twin_ui::cardio::{CardioResult, Controls, VariantCurve};
use twin_ui::contours::ContourAction;

use crate::Args;
use crate::session::{CardioAsk, CardioView, Session};

pub struct CardioPlugin;

impl Plugin for CardioPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Cardio>()
            .add_systems(Startup, start)
            .add_systems(
                Update,
                (
                    asks,
                    poll,
                    poll_review,
                    sync_variants,
                    from_imaging,
                    publish,
                )
                    .chain()
                    .in_set(crate::Feature::Cardio),
            );
    }
}

enum Msg {
    Calibrated {
        params: Box<Parameters>,
        state: Box<State>,
        result: Box<CardioResult>,
        status: String,
        /// A new calibration for the twin (not one read from its file).
        model: Option<Box<CardioModel>>,
    },
    /// EDV, ESV (mL) and heart rate from the cine's LV curve, and the
    /// analysis behind them (for review).
    Imaging(
        Box<twin_session::cine::CineTargets>,
        Box<twin_session::cine::CineAnalysis>,
    ),
    Failed(String),
}

/// The cardiac twin's own work: the baseline and the variants' runs (its
/// panes' state is the session's `cardio`).
#[derive(Resource, Default)]
struct Cardio {
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
    /// Calibrate as soon as targets come from the images (`--lv-seed`).
    calibrate_after_imaging: bool,
    /// A contour correction being applied, and what undo needs.
    review: Option<Job<Reviewed>>,
    /// Per correction: the slices it changed as (phase, slice, pixels
    /// before, corrected before).
    undo: Vec<Vec<SliceBefore>>,
}

type SliceBefore = (usize, usize, Vec<u8>, bool);

/// A contour correction applied: the new analysis and how to undo it
/// (`None`: this was an undo).
type Reviewed = Result<
    (
        Box<twin_session::cine::CineAnalysis>,
        Option<Vec<SliceBefore>>,
    ),
    String,
>;

impl Cardio {
    /// Opens the workspace's heart, calibrating a first baseline if there
    /// is none.
    fn show(&mut self, v: &mut CardioView) {
        v.open = true;
        if v.ui.baseline.is_none() && !v.ui.busy {
            let targets = v.ui.targets;
            self.calibrate(v, targets);
        }
    }

    /// Everything asked has finished (and the twin has taken the calibration).
    fn settled(&self) -> bool {
        self.job.is_none()
            && self.runs.running() == 0
            && !self.calibrate_after_imaging
            && self.calibrated.is_none()
    }

    /// Every cardiac variant of `doc` has its result (or its error), once
    /// there is a baseline.
    fn all_run(&self, v: &CardioView, doc: &twin_scenario::TwinDocument) -> bool {
        v.ui.baseline.is_none()
            || doc.variants.iter().all(|v| {
                let k = key(&v.cardio);
                v.cardio.is_empty() || self.runs.answered(&k)
            })
    }

    fn spawn(
        &mut self,
        v: &mut CardioView,
        label: &str,
        work: impl FnOnce(&Progress) -> Msg + Send + 'static,
    ) {
        self.job = None;
        self.job = Some(Job::once("cardio", label, Priority::Interactive, work));
        v.ui.busy = true;
    }

    /// Fits the circulation to `targets` (it becomes the baseline and goes
    /// into the twin with its provenance).
    fn calibrate(&mut self, v: &mut CardioView, targets: Targets) {
        let source = v.ui.targets_source.clone();
        self.spawn(v, "Calibrating the heart", move |progress| {
            let (model, c) = match twin_session::calibration::fit(targets, &source, progress) {
                Ok(fit) => fit,
                Err(e) => return Msg::Failed(e.to_string()),
            };
            let status = twin_session::calibration::summary(&c);
            baseline(&c.parameters, Some(&c.state), status, Some(model), progress)
        });
    }

    /// Takes the twin file's calibrated heart as the baseline (no refit).
    fn load_model(&mut self, v: &mut CardioView, model: CardioModel) {
        v.ui.targets = model.targets;
        v.ui.targets_source.clone_from(&model.source);
        let status = format!(
            "calibrated {} (from the twin file)",
            twin_scenario::report::utc(model.calibrated_unix_s)
        );
        self.spawn(v, "Simulating the baseline", move |progress| {
            baseline(&model.parameters, None, status, None, progress)
        });
    }

    /// Forgets every variant's results (a new twin or a new baseline).
    fn reset_variants(&mut self, v: &mut CardioView) {
        self.runs.clear();
        v.ui.variants.clear();
        v.ui.editing = None;
        v.ui.current.clone_from(&v.ui.baseline);
        self.shown = None;
        self.sig = None;
    }

    /// The cine's LV (myocardium and RV too) from a seed (patient mm), in
    /// the background; the analysis goes to the contour review.
    fn measure_cine(
        &mut self,
        v: &mut CardioView,
        frames: Vec<std::sync::Arc<twin_imaging::Volume>>,
        times_ms: Vec<f64>,
        seed: Option<[f64; 3]>,
        label: String,
    ) {
        self.spawn(v, "LV volumes from the cine", move |progress| {
            let grids: Vec<twin_mesh::Grid> = frames
                .iter()
                .map(|v| twin_session::segments::grid(v))
                .collect();
            let options = twin_session::cine::CineOptions {
                seed,
                myocardium: true,
                rv: true,
                ..Default::default()
            };
            match twin_session::cine::analyse(&grids, options, progress) {
                Ok(a) => Msg::Imaging(Box::new(a.targets(&times_ms, &label)), Box::new(a)),
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

/// What the others see of the heart: the mesh pulse from the current
/// run's LV volume, whether it is settled, and its variants running.
fn publish(cardio: Res<Cardio>, mut s: ResMut<Session>, time: Res<Time>) {
    let s = &mut *s;
    let v = &mut s.cardio;
    let want = if v.open && v.ui.pulse_mesh {
        v.ui.current
            .as_ref()
            .and_then(|r| twin_ui::cardio::pulse_scale(r, time.elapsed_secs_f64()))
    } else {
        None
    };
    if s.pulse != want {
        s.pulse = want;
    }
    v.running = cardio.runs.running();
    v.quiet =
        cardio.settled() && (!v.open || v.ui.baseline.is_some()) && cardio.all_run(v, &s.twin.doc);
}

fn start(mut cardio: ResMut<Cardio>, mut s: ResMut<Session>, args: Res<Args>) {
    let Some(arg) = &args.cardio else {
        return;
    };
    let s = &mut *s;
    s.cardio.open = true;
    if let Some(path) = arg {
        match twin_session::scenarios::import_variants(path) {
            Ok(variants) => {
                s.twin.doc.variants.extend(variants);
                s.twin.selected = s.twin.doc.variants.len().checked_sub(1);
            }
            Err(e) => s.cardio.ui.status = format!("scenario: {e}"),
        }
    }
    if args.lv_seed.is_some() {
        cardio.calibrate_after_imaging = true;
    } else if args.twin.is_none() {
        let targets = s.cardio.ui.targets;
        cardio.calibrate(&mut s.cardio, targets);
    }
}

/// `--lv-seed`: once the cine is in, segment the LV there, take the
/// targets from its volume curve and calibrate.
fn from_imaging(
    mut cardio: ResMut<Cardio>,
    mut s: ResMut<Session>,
    mut study: MessageWriter<crate::session::StudyAsk>,
    args: Res<Args>,
    mut done: Local<bool>,
) {
    let Some(spec) = &args.lv_seed else { return };
    let s = &mut *s;
    let ws = &mut s.study;
    if *done || !ws.settled || ws.loading || ws.mpr.frames.len() < 2 {
        return;
    }
    *done = true;
    let seed = match spec {
        Some(spec) => {
            let seed: Vec<f64> = spec
                .split(',')
                .filter_map(|v| v.trim().parse().ok())
                .collect();
            let [x, y, z] = seed[..] else {
                cardio.calibrate_after_imaging = false;
                s.cardio.ui.status = format!("--lv-seed `{spec}`: expected X,Y,Z in mm");
                return;
            };
            let seed = [x, y, z];
            ws.mpr.crosshair = seed;
            study.write(crate::session::StudyAsk::AddSegment(Some(seed)));
            Some(seed)
        }
        None => None,
    };
    let label = ws.cine_label();
    let (frames, times) = (ws.mpr.frames.clone(), ws.mpr.times_ms.clone());
    cardio.measure_cine(&mut s.cardio, frames, times, seed, label);
}

fn poll(mut cardio: ResMut<Cardio>, mut s: ResMut<Session>) {
    let msg = cardio.job.as_ref().and_then(|j| j.try_recv().ok());
    let Some(msg) = msg else { return };
    if let (Msg::Failed(e), Some(job)) = (&msg, &cardio.job) {
        job.fail(e);
    }
    let s = &mut *s;
    let v = &mut s.cardio;
    cardio.job = None;
    v.ui.busy = false;
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
            v.ui.baseline = Some(*result);
            v.ui.status = status;
            cardio.calibrated = model.map(|m| *m);
            cardio.reset_variants(v);
        }
        Msg::Imaging(t, analysis) => {
            v.contours.analysis = Some(std::sync::Arc::new(*analysis));
            v.contours.frames.clone_from(&s.study.mpr.frames);
            v.contours.generation += 1;
            cardio.undo.clear();
            v.contours.undo_depth = 0;
            let clean = take_targets(v, &t);
            if clean {
                v.ui.status = "targets from imaging; Calibrate to fit".into();
            }
            if std::mem::take(&mut cardio.calibrate_after_imaging) && clean {
                let t = v.ui.targets;
                cardio.calibrate(v, t);
            }
        }
        Msg::Failed(e) => {
            cardio.calibrate_after_imaging = false;
            v.ui.status = e;
        }
    }
}

/// Keeps the variants' runs, the overlays and the twin in step.
fn sync_variants(mut cardio: ResMut<Cardio>, mut s: ResMut<Session>) {
    let cardio = &mut *cardio;
    let s = &mut *s;
    if let Some(model) = cardio.calibrated.take() {
        s.record("calibrate the heart");
        s.twin.doc.cardio = Some(model);
    }
    let (twin, v) = (&mut s.twin, &mut s.cardio);
    if v.ui.baseline.is_none() {
        return;
    }
    // Each variant's key, once per frame.
    let keys: Vec<String> = twin.doc.variants.iter().map(|v| key(&v.cardio)).collect();
    // Start what is missing; collect what finished.
    for (variant, k) in twin.doc.variants.iter().zip(&keys) {
        if !variant.cardio.is_empty() && cardio.runs.wanted(k) {
            cardio.run_variant(&variant.name, variant.cardio.clone());
        }
    }
    cardio.runs.keep_running(|k| keys.iter().any(|x| x == k));
    for k in cardio.runs.collect() {
        if cardio.asked.as_ref().is_some_and(|(a, _)| *a == k) {
            let (_, at) = cardio
                .asked
                .take()
                .unwrap_or_else(|| (k.clone(), Instant::now()));
            v.last_latency_ms = Some(at.elapsed().as_secs_f64() * 1e3);
        }
        if let Some(res) = cardio.runs.get(&k) {
            let sum = cardio_summary(&res.indices);
            for (variant, vk) in twin.doc.variants.iter_mut().zip(&keys) {
                if *vk == k {
                    variant.results.extend(sum.clone());
                }
            }
        }
    }
    // The overlays, in the scenario list's colours: rebuilt (results
    // copied) only when a name, key, selection or result changed.
    let selected = twin.selected;
    let sig: Vec<(String, bool, bool)> = twin
        .doc
        .variants
        .iter()
        .zip(&keys)
        .enumerate()
        .map(|(i, (variant, k))| {
            let ready = cardio.runs.get(k).is_some();
            (
                format!("{}\u{0}{k}", variant.name),
                selected == Some(i),
                ready,
            )
        })
        .collect();
    if cardio.sig.as_ref() != Some(&sig) {
        cardio.sig = Some(sig);
        let base = v.ui.baseline.clone();
        if let Some(b) = &base {
            twin.baseline_results.extend(cardio_summary(&b.indices));
        }
        v.ui.variants = twin
            .doc
            .variants
            .iter()
            .zip(&keys)
            .enumerate()
            .filter(|(_, (variant, _))| !variant.cardio.is_empty())
            .map(|(i, (variant, k))| VariantCurve {
                name: variant.name.clone(),
                colour: twin_ui::twin::colour(i),
                result: cardio.runs.get(k).map(CardioResult::from),
                selected: selected == Some(i),
            })
            .collect();
        let k = selected.and_then(|i| keys.get(i));
        v.ui.current = match k {
            Some(k) => cardio.runs.get(k).map(CardioResult::from),
            None => base,
        };
        v.ui.editing = twin.variant().map(|variant| variant.name.clone());
        if let Some(e) = k.and_then(|k| cardio.runs.error(k)) {
            v.ui.status.clone_from(e);
        }
    }
    // A new selection shows its interventions in the controls.
    if cardio.shown != Some(selected) {
        cardio.shown = Some(selected);
        let hr = v.ui.targets.heart_rate_bpm;
        let interventions = twin
            .variant()
            .map(|variant| variant.cardio.clone())
            .unwrap_or_default();
        v.ui.controls = Controls::from_scenario(
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
        I::AorticRegurgitation { .. } | I::Activation(_) => 7,
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
fn apply_controls(cardio: &mut Cardio, s: &mut Session, scenario: &Scenario) {
    let hr = s.cardio.ui.targets.heart_rate_bpm;
    let after = s.cardio.ui.controls;
    let interventions = if let Some(i) = s.twin.selected {
        let Some(v) = s.twin.doc.variants.get(i) else {
            return;
        };
        let before = Controls::from_scenario(
            &Scenario {
                interventions: v.cardio.clone(),
                ..Scenario::default()
            },
            hr,
        );
        let merged = merge(&v.cardio, &before, scenario, &after);
        if merged == v.cardio {
            return;
        }
        let label = format!("change “{}”", v.name);
        s.record(&label);
        let v = &mut s.twin.doc.variants[i];
        v.cardio.clone_from(&merged);
        v.results.clear();
        merged
    } else {
        if scenario.interventions.is_empty() {
            return;
        }
        s.act(&ScenarioAction::Add(
            "what-if".into(),
            scenario.interventions.clone(),
        ));
        scenario.interventions.clone()
    };
    cardio.shown = Some(s.twin.selected);
    cardio.asked = Some((key(&interventions), Instant::now()));
}

/// Takes a cine's volumes (and heart rate) as the targets with their
/// provenance. A curve that fails its quality checks is shown, not
/// calibrated to: `false`, with the flags in the status line.
fn take_targets(v: &mut CardioView, t: &twin_session::cine::CineTargets) -> bool {
    v.ui.targets = t.applied_to(v.ui.targets);
    v.ui.targets_source.clone_from(&t.source);
    if t.quality_flags.is_empty() {
        return true;
    }
    v.ui.status = format!(
        "check the LV curve before calibrating: {}",
        t.quality_flags.join("; ")
    );
    false
}

/// Applies a contour correction (or an undo) to a copy of the analysis in
/// the background, or calibrates to the reviewed volumes.
fn review(cardio: &mut Cardio, s: &mut Session, action: ContourAction) {
    let v = &mut s.cardio;
    let Some(analysis) = v.contours.analysis.clone() else {
        return;
    };
    if action == ContourAction::UseForCalibration {
        let t = analysis.targets(&s.study.mpr.times_ms, &s.study.cine_label());
        if take_targets(v, &t) {
            let targets = v.ui.targets;
            cardio.calibrate(v, targets);
        }
        return;
    }
    if cardio.review.is_some() {
        return;
    }
    let undo = if action == ContourAction::Undo {
        let Some(u) = cardio.undo.pop() else { return };
        Some(u)
    } else {
        None
    };
    let frames = v.contours.frames.clone();
    v.contours.busy = true;
    cardio.review = Some(Job::once(
        "contours",
        "Applying the contour correction",
        Priority::Interactive,
        move |progress| apply_review(&frames, &analysis, action, undo, progress),
    ));
}

/// One correction (or undo) on a copy of `analysis`.
fn apply_review(
    frames: &[std::sync::Arc<twin_imaging::Volume>],
    analysis: &twin_session::cine::CineAnalysis,
    action: ContourAction,
    undo: Option<Vec<SliceBefore>>,
    progress: &Progress,
) -> Reviewed {
    let grids: Vec<twin_mesh::Grid> = frames
        .iter()
        .map(|v| twin_session::segments::grid(v))
        .collect();
    let mut a = analysis.clone();
    let before = |a: &twin_session::cine::CineAnalysis, p: usize, k: usize| -> SliceBefore {
        let m = &a.lv.masks[p];
        let [nx, ny, _] = m.dims;
        (
            p,
            k,
            m.data[k * nx * ny..(k + 1) * nx * ny].to_vec(),
            a.corrected.contains(&(p, k)),
        )
    };
    let valid = |p: usize, k: usize| a.lv.masks.get(p).is_some_and(|m| k < m.dims[2]);
    let done = match (action, undo) {
        (_, Some(u)) => u
            .into_iter()
            .rev()
            .try_for_each(|(p, k, px, was)| {
                a.set_slice(&grids, p, k, px, was, progress).map(|_| ())
            })
            .map(|()| None),
        (
            ContourAction::Replace {
                phase,
                slice,
                polygon,
            },
            None,
        ) if valid(phase, slice) => {
            let b = before(&a, phase, slice);
            a.correct(&grids, phase, slice, &polygon, progress)
                .map(|_| Some(vec![b]))
        }
        (
            ContourAction::Paint {
                phase,
                slice,
                pixels,
            },
            None,
        ) if valid(phase, slice) => {
            let b = before(&a, phase, slice);
            a.set_slice(&grids, phase, slice, pixels, true, progress)
                .map(|_| Some(vec![b]))
        }
        (ContourAction::Propagate { phase, slice, to }, None) if valid(phase, slice) => {
            let bs: Vec<SliceBefore> = to
                .iter()
                .filter(|&&p| p != phase && valid(p, slice))
                .map(|&p| before(&a, p, slice))
                .collect();
            a.propagate(&grids, phase, slice, &to, progress)
                .map(|_| Some(bs))
        }
        _ => return Err("that slice is not in the cine".into()),
    };
    done.map(|u| (Box::new(a), u)).map_err(|e| e.to_string())
}

/// Takes a finished contour correction.
fn poll_review(mut cardio: ResMut<Cardio>, mut s: ResMut<Session>) {
    let Some(done) = cardio.review.as_ref().and_then(|j| j.try_recv().ok()) else {
        return;
    };
    cardio.review = None;
    let v = &mut s.cardio;
    v.contours.busy = false;
    match done {
        Ok((a, undo)) => {
            if let Some(u) = undo {
                cardio.undo.push(u);
            }
            v.contours.analysis = Some(std::sync::Arc::new(*a));
            v.contours.generation += 1;
            v.contours.undo_depth = cardio.undo.len();
        }
        Err(e) => v.ui.status = format!("contour correction: {e}"),
    }
}

/// Carries out what the panes and the other features asked.
fn asks(mut asks: MessageReader<CardioAsk>, mut cardio: ResMut<Cardio>, mut s: ResMut<Session>) {
    let s = &mut *s;
    for ask in asks.read() {
        match ask.clone() {
            CardioAsk::Show => cardio.show(&mut s.cardio),
            CardioAsk::Replaced(model) => {
                cardio.reset_variants(&mut s.cardio);
                if let Some(m) = model {
                    cardio.load_model(&mut s.cardio, *m);
                }
            }
            CardioAsk::Pane(CardioAction::Calibrate(t)) => cardio.calibrate(&mut s.cardio, t),
            CardioAsk::Pane(CardioAction::Simulate(scenario)) => {
                apply_controls(&mut cardio, s, &scenario);
            }
            CardioAsk::Contours(action) => review(&mut cardio, s, action),
            // The over-time panes are `over_time`'s.
            CardioAsk::Timeline(_) | CardioAsk::ShowOverTime => {}
            CardioAsk::Pane(CardioAction::FromImaging) => {
                let ws = &s.study;
                let label = ws.cine_label();
                cardio.measure_cine(
                    &mut s.cardio,
                    ws.mpr.frames.clone(),
                    ws.mpr.times_ms.clone(),
                    None,
                    label,
                );
            }
        }
    }
}
