//! The gait window: a model and a trial computed in a background thread
//! (inverse kinematics when the trial is markers, inverse dynamics when
//! external loads are given, static optimisation of the intact baseline
//! when the model has muscles), shown by `twin_ui::gait`; prosthesis
//! what-ifs rerun in their own background job on every control change,
//! the newest replacing the one still running, in a window of their own
//! ("Prosthesis what-if"). In 3D the skeleton follows
//! the frame slider, its muscles drawn along their paths and coloured by
//! activation (the variant's when a device is fitted).
//!
//! The trial belongs to the twin: opening one records it in the twin (with
//! undo), and a twin opened with a trial computes it. Each twin variant
//! with a prosthesis runs on the trial in the job system, keyed by its
//! device so only a changed one reruns; its summary goes into the variant
//! and its curves are overlaid in the scenario colour. With a variant
//! selected the device controls edit it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bevy::prelude::*;
use twin_core::Progress;
use twin_mesh::TriMesh;
use twin_msk::normative::Reference;
use twin_msk::optimization::SoOptions;
use twin_msk::prosthesis::Prosthesis;
use twin_msk::whatif::{GaitCase, Outcome};
use twin_scenario::document::GaitTrial;
use twin_scenario::runs::{has_gait_summary, set_gait_summary};
use twin_session::ScenarioAction;
use twin_session::jobs::{Job, KeyedRuns, Priority, RunState};
use twin_session::runs::gait_key as key;
use twin_ui::gait::CycleCurves;
use twin_ui::prosthesis::GaitVariant;
use twin_ui::{GaitAction, WhatIfAsk};

use crate::Args;
use crate::session::{GaitAsk, GaitView, Session, TwinAsk, ViewAsk, bevy_mesh};

pub struct GaitPlugin;

impl Plugin for GaitPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Gait>()
            .add_systems(Startup, start)
            .add_systems(
                Update,
                (asks, poll, poll_whatif, sync_twin, play, publish)
                    .chain()
                    .in_set(crate::Feature::Gait),
            );
    }
}

/// The gait trial in 3D: the skeleton, its bone meshes and muscles.
pub struct GaitViewPlugin;

impl Plugin for GaitViewPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            Update,
            (sync_skeleton, animate_skeleton, draw_predicted)
                .chain()
                .after(crate::Feature::Gait),
        );
    }
}

enum Msg {
    Picked(Option<(PathBuf, PathBuf, Option<PathBuf>)>),
    /// A reference file read (or why not); `None` when none was picked.
    Reference(Option<Result<Reference, String>>),
    Done(Box<Computed>),
    Failed(String),
}

/// A finished computation: the panes' view, the 3D skeleton and, for a
/// muscle model with loads, the what-if case and its intact baseline.
struct Computed {
    view: twin_ui::GaitView,
    skeleton: Skeleton,
    whatif: Option<(Arc<GaitCase>, Outcome)>,
}

/// The model in 3D: every body's pose per frame and its bone meshes.
#[derive(Default)]
struct Skeleton {
    /// Per frame, per body: position (m) and orientation in OpenSim ground.
    poses: Vec<Vec<(Vec3, Quat)>>,
    /// Per body: its meshes (body frame, m), when the model's geometry
    /// files are found beside it.
    meshes: Vec<Option<TriMesh>>,
    /// Per body: where its children's joints sit in it (body frame, m),
    /// for the capsules drawn when a body has no mesh.
    child_joints: Vec<Vec<Vec3>>,
    /// The intact model's muscles, and per frame each one's path points
    /// (m, OpenSim ground).
    muscles: Vec<String>,
    paths: Vec<Vec<Vec<Vec3>>>,
}

/// Where the skeleton stands in the 3D scene (mm), away from the study.
const STAGE: Vec3 = Vec3::new(5000.0, 0.0, 0.0);

/// A body of the skeleton in the 3D view.
#[derive(Component)]
struct SkeletonPart(usize);

/// The gait trial's own work: its jobs, the skeleton, the what-if case
/// and the variants' runs (its panes' state is the session's `gait`).
#[derive(Resource, Default)]
struct Gait {
    job: Option<Job<Msg>>,
    /// Seconds into the trial while playing.
    clock: f64,
    skeleton: Skeleton,
    scene: Scene,
    /// The reference (normal database) the curves are compared with.
    reference: Option<Reference>,
    /// The prosthesis what-if: its case, the running rerun and when the
    /// control changed that asked for it.
    case: Option<Arc<GaitCase>>,
    whatif_job: Option<Job<Result<Outcome, String>>>,
    asked: Option<Instant>,
    /// A device to fit once the baseline is there (`--prosthesis`).
    pending_device: Option<Prosthesis>,
    /// The trial computed (or being computed), and whether the user opened
    /// it (so the twin takes it).
    trial: Option<GaitTrial>,
    trial_for_twin: bool,
    /// The twin variants' runs on the current case, by device (JSON).
    runs: KeyedRuns<Arc<Outcome>>,
    /// What the overlays were last built from.
    sig: Option<Vec<(String, bool, RunState)>>,
    /// The selection the controls showed last frame.
    #[expect(
        clippy::option_option,
        reason = "a selection that may be the baseline, or none yet"
    )]
    shown: Option<Option<usize>>,
    /// A twin variant's device changed: its key and when.
    asked_key: Option<(String, Instant)>,
}

/// What the 3D scene still has to do for the skeleton.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Scene {
    #[default]
    Done,
    /// A new skeleton waits to be put in the scene.
    Fresh,
    /// The camera still has to turn to it (after the study has loaded,
    /// which aims the camera at its own surface).
    Aim,
}

impl Gait {
    /// The intact baseline of the prosthesis what-if is ready.
    fn whatif_ready(&self) -> bool {
        self.case.is_some() && self.job.is_none()
    }

    /// Nothing of the gait trial runs, and every twin variant with a
    /// device has its result.
    fn quiet(&self, doc: &twin_scenario::TwinDocument) -> bool {
        self.job.is_none()
            && self.whatif_job.is_none()
            && self.runs.running() == 0
            && self.all_run(doc)
    }

    /// Every prosthesis variant of `doc` has its result (or its error), once
    /// there is a baseline.
    fn all_run(&self, doc: &twin_scenario::TwinDocument) -> bool {
        self.case.is_none()
            || doc.variants.iter().all(|v| {
                v.prosthesis
                    .as_ref()
                    .is_none_or(|p| self.runs.answered(&key(p)))
            })
    }

    /// The intact baseline and every twin variant's outcome, for the report.
    fn runs_for_report(
        &self,
        v: &GaitView,
        doc: &twin_scenario::TwinDocument,
    ) -> Option<twin_scenario::runs::GaitRuns> {
        let baseline = v.ui.whatif.baseline.clone()?;
        let variants = doc
            .variants
            .iter()
            .filter_map(|v| {
                let o = self.runs.get(&key(v.prosthesis.as_ref()?))?;
                Some((v.name.clone(), (**o).clone()))
            })
            .collect();
        Some(twin_scenario::runs::GaitRuns { baseline, variants })
    }

    /// The gait analysis for the report: the intact baseline and the
    /// prosthesis what-if (numbers only; no file names or identity).
    fn report_text(v: &GaitView) -> Option<String> {
        use std::fmt::Write as _;
        let w = &v.ui.whatif;
        let base = w.baseline.as_ref()?;
        let mut t = String::new();
        let row = |t: &mut String, name: &str, o: &twin_msk::whatif::Outcome| {
            let _ = writeln!(
                t,
                "{name:<22} body mass {:.1} kg, gross metabolic power {:.2} W/kg (Umberger 2010) / {:.2} W/kg (Bhargava 2004), ankle reserve {:.1} % of the moment needed",
                o.body_mass,
                o.metabolic_w_per_kg[0],
                o.metabolic_w_per_kg[1],
                o.ankle_reserve_percent
            );
        };
        row(&mut t, "intact baseline", base);
        if let Some(v) = &w.variant {
            row(&mut t, "with the prosthesis", v);
            for a in &v.asymmetry {
                let _ = writeln!(
                    t,
                    "  {}: right {:.2} {u}, left {:.2} {u}, symmetry index {:+.1} %",
                    a.quantity,
                    a.right,
                    a.left,
                    a.index_percent,
                    u = a.unit
                );
            }
        }
        Some(t)
    }

    fn spawn(
        &mut self,
        v: &mut GaitView,
        label: &str,
        work: impl FnOnce(&Progress) -> Msg + Send + 'static,
    ) {
        self.job = None;
        self.job = Some(Job::once("gait", label, Priority::Background, work));
        v.ui.busy = true;
        v.settled = false;
    }

    /// Computes a trial the user opened (the twin takes it).
    fn compute(
        &mut self,
        v: &mut GaitView,
        model: PathBuf,
        trial: PathBuf,
        loads: Option<PathBuf>,
    ) {
        self.trial_for_twin = true;
        self.compute_trial(v, model, trial, loads);
    }

    fn compute_trial(
        &mut self,
        v: &mut GaitView,
        model: PathBuf,
        trial: PathBuf,
        loads: Option<PathBuf>,
    ) {
        self.trial = Some(GaitTrial {
            model: model.clone(),
            motion: trial.clone(),
            loads: loads.clone(),
        });
        self.reset_variants(v);
        v.ui.status = format!("computing {}…", trial.display());
        self.spawn(v, "gait", move |progress| {
            match compute(&model, &trial, loads.as_deref(), progress) {
                Ok(v) => Msg::Done(Box::new(v)),
                Err(e) => Msg::Failed(e),
            }
        });
    }

    fn pick(&mut self, v: &mut GaitView) {
        self.spawn(v, "gait: open files", |_| {
            let model = rfd::FileDialog::new()
                .set_title("OpenSim model")
                .add_filter("OpenSim model", &["osim"])
                .pick_file();
            let Some(model) = model else {
                return Msg::Picked(None);
            };
            let trial = rfd::FileDialog::new()
                .set_title("Motion (.mot/.sto) or markers (.trc/.c3d)")
                .add_filter("motion or markers", &["mot", "sto", "trc", "c3d"])
                .pick_file();
            let Some(trial) = trial else {
                return Msg::Picked(None);
            };
            let loads = rfd::FileDialog::new()
                .set_title("External loads (.xml), or cancel for kinematics only")
                .add_filter("ExternalLoads", &["xml"])
                .pick_file();
            Msg::Picked(Some((model, trial, loads)))
        });
    }

    fn pick_reference(&mut self, v: &mut GaitView) {
        self.spawn(v, "gait: open reference", |_| {
            let path = rfd::FileDialog::new()
                .set_title("Reference (normal database) CSV")
                .add_filter("gait reference", &["csv"])
                .pick_file();
            Msg::Reference(path.map(|p| read_reference(&p)))
        });
    }

    /// Compares the shown curves with `reference` (or stops comparing).
    fn set_reference(&mut self, v: &mut GaitView, reference: Option<Reference>) {
        self.reference = reference;
        if let Some(view) = &mut v.ui.view {
            view.set_reference(self.reference.as_ref());
        }
    }

    /// Forgets the twin variants' runs (a new case).
    fn reset_variants(&mut self, v: &mut GaitView) {
        self.runs.clear();
        self.sig = None;
        self.shown = None;
        v.ui.whatif.twin_variants.clear();
    }

    /// Runs a twin variant's device on the case.
    fn run_variant(&mut self, name: &str, device: Prosthesis) {
        let Some(case) = self.case.clone() else {
            return;
        };
        let k = key(&device);
        self.runs
            .start(k, twin_session::runs::gait_job(case, name, Some(device)));
    }

    /// Reruns the what-if with a device (the newest request replaces one
    /// still running), or shows the baseline alone.
    fn whatif(&mut self, v: &mut GaitView, ask: WhatIfAsk) {
        self.whatif_job = None;
        let (Some(case), WhatIfAsk::Run(device)) = (self.case.clone(), ask) else {
            v.ui.whatif.variant = None;
            v.ui.whatif.running = false;
            v.ui.whatif.latency_ms = None;
            return;
        };
        self.asked = Some(Instant::now());
        v.ui.whatif.running = true;
        v.settled = false;
        self.whatif_job = Some(Job::once(
            "gait what-if",
            "gait: prosthesis what-if",
            Priority::Interactive,
            move |progress| case.run(Some(&device), progress).map_err(|e| e.to_string()),
        ));
    }
}

fn read_reference(path: &Path) -> Result<Reference, String> {
    Reference::read(path).map_err(|e| e.to_string())
}

/// Everything the panel shows, from the files.
/// A body's meshes, from the model's geometry file names, looked up in
/// `Geometry/` beside the model and up to two folders above (where OpenSim
/// looks too); `None` when none is found.
fn body_meshes(model_path: &Path, files: &[String]) -> Option<TriMesh> {
    let dir = model_path.parent()?;
    let places: Vec<PathBuf> = [Some(dir), dir.parent(), dir.parent().and_then(Path::parent)]
        .into_iter()
        .flatten()
        .flat_map(|d| [d.join("Geometry"), d.to_path_buf()])
        .collect();
    let mut merged = TriMesh::default();
    for f in files {
        let Some(path) = places.iter().map(|p| p.join(f)).find(|p| p.is_file()) else {
            continue;
        };
        let Ok(m) = twin_mesh::io::read_vtp(&path) else {
            continue;
        };
        merged.append(&m);
    }
    (!merged.triangles.is_empty()).then_some(merged)
}

fn compute(
    model_path: &Path,
    trial: &Path,
    loads_path: Option<&Path>,
    progress: &Progress,
) -> Result<Computed, String> {
    let twin_session::gait::TrialAnalysis {
        model,
        coordinates: coords,
        loads,
        curves,
        mut notes,
        ..
    } = twin_session::gait::analyse_trial(model_path, trial, loads_path, progress)
        .map_err(|e| e.to_string())?;
    let curves = curves
        .into_iter()
        .map(|curves| CycleCurves {
            curves,
            ..CycleCurves::default()
        })
        .collect();
    // The stick figure: body origins per frame, loads per frame.
    let bones = model.bones();
    let mut origins = Vec::with_capacity(coords.rows());
    let mut frames_loads = Vec::with_capacity(coords.rows());
    let mut child_joints = vec![Vec::new(); model.bodies.len()];
    for j in &model.joints {
        let t = j.in_parent.translation.vector;
        child_joints[j.parent].push(Vec3::new(t.x as f32, t.y as f32, t.z as f32));
    }
    let mut skeleton = Skeleton {
        poses: Vec::with_capacity(coords.rows()),
        meshes: model
            .bodies
            .iter()
            .map(|b| body_meshes(model_path, &b.geometry))
            .collect(),
        child_joints,
        muscles: model.muscles.iter().map(|m| m.name.clone()).collect(),
        paths: Vec::with_capacity(coords.rows()),
    };
    let v3 = |p: nalgebra::Vector3<f64>| Vec3::new(p.x as f32, p.y as f32, p.z as f32);
    for row in 0..coords.rows() {
        let (q, _) = model.coordinates_from_table(&coords, row);
        let poses = model.body_poses(&q);
        skeleton.paths.push(
            model
                .muscles
                .iter()
                .map(|m| model.path_points(m, &q, &poses).map(v3).collect())
                .collect(),
        );
        origins.push(poses.iter().map(|p| p.translation.vector.into()).collect());
        skeleton.poses.push(
            poses
                .iter()
                .map(|p| {
                    let t = p.translation.vector;
                    let r = p.rotation;
                    (
                        Vec3::new(t.x as f32, t.y as f32, t.z as f32),
                        Quat::from_xyzw(r.i as f32, r.j as f32, r.k as f32, r.w as f32),
                    )
                })
                .collect(),
        );
        frames_loads.push(
            loads
                .as_ref()
                .map(|l| {
                    l.at(coords.time[row])
                        .into_iter()
                        .map(|x| {
                            let at = x.point.unwrap_or(poses[x.body].translation.vector);
                            (at.into(), x.force.into())
                        })
                        .collect()
                })
                .unwrap_or_default(),
        );
    }
    let name = |p: &Path| {
        p.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    let found = skeleton.meshes.iter().filter(|m| m.is_some()).count();
    notes.push(format!(
        "3D view: bone meshes found for {found} of {} bodies (the others as a sphere and capsules to their children's joints)",
        model.bodies.len() - 1
    ));
    let mut view = twin_ui::GaitView {
        title: format!(
            "{} · {}{} · {} frames",
            name(model_path),
            name(trial),
            loads_path.map_or_else(String::new, |l| format!(" · {}", name(l))),
            coords.rows()
        ),
        time: coords.time.clone(),
        bones,
        origins,
        loads: frames_loads,
        curves,
        reference: None,
        notes,
    };
    // The what-if's baseline: the intact model's static optimisation. When
    // it cannot be made the kinematics and moments are still shown, with
    // the reason; a cancel stops everything.
    let whatif = match loads {
        Some(loads) if !model.muscles.is_empty() => {
            let made = GaitCase::new(model, coords, loads, SoOptions::default())
                .and_then(|case| case.run(None, progress).map(|base| (Arc::new(case), base)));
            match made {
                Ok(w) => Some(w),
                Err(e @ twin_msk::MskError::Cancelled(_)) => return Err(e.to_string()),
                Err(e) => {
                    view.notes
                        .push(format!("prosthesis what-if unavailable: {e}"));
                    None
                }
            }
        }
        _ => None,
    };
    Ok(Computed {
        view,
        skeleton,
        whatif,
    })
}

fn start(args: Res<Args>, mut gait: ResMut<Gait>, mut s: ResMut<Session>) {
    let v = &mut s.gait;
    if let Some(path) = &args.reference {
        match read_reference(path) {
            Ok(r) => gait.reference = Some(r),
            Err(e) => v.ui.status = e,
        }
    }
    if let Some(path) = &args.prosthesis {
        match Prosthesis::read(path) {
            Ok(p) => gait.pending_device = Some(p),
            Err(e) => v.ui.status = e.to_string(),
        }
    }
    if let Some(files) = &args.gait {
        v.open = true;
        let (model, trial, loads) = (files[0].clone(), files[1].clone(), files.get(2).cloned());
        gait.compute(v, model, trial, loads);
    }
}

fn poll(mut gait: ResMut<Gait>, mut s: ResMut<Session>) {
    let v = &mut s.gait;
    if let Some(p) = gait.job.as_ref().map(|j| &j.progress) {
        let shown = Some((p.stage(), p.fraction()));
        if v.ui.progress != shown {
            v.ui.progress = shown;
        }
    }
    let Some(msg) = gait.job.as_ref().and_then(|j| j.try_recv().ok()) else {
        return;
    };
    if let (Msg::Failed(e), Some(job)) = (&msg, &gait.job) {
        job.fail(e);
    }
    gait.job = None;
    v.ui.busy = false;
    v.ui.progress = None;
    match msg {
        Msg::Picked(Some((model, trial, loads))) => gait.compute(v, model, trial, loads),
        Msg::Picked(None) | Msg::Reference(None) => v.ui.status = "nothing opened".into(),
        Msg::Reference(Some(Ok(r))) => {
            v.ui.status = format!("reference: {}", r.source);
            gait.set_reference(v, Some(r));
        }
        Msg::Reference(Some(Err(e))) => v.ui.status = e,
        Msg::Done(done) => {
            let Computed {
                view: mut shown,
                skeleton,
                whatif,
            } = *done;
            shown.set_reference(gait.reference.as_ref());
            v.ui.whatif.variant = None;
            v.ui.whatif.error = None;
            let (case, base) = whatif.unzip();
            gait.case = case;
            v.ui.whatif.baseline = base;
            v.ui.status = String::new();
            v.ui.frame = 0;
            v.ui.selected = shown
                .curves
                .iter()
                .position(|c| c.curves.name == "knee_angle")
                .unwrap_or(0);
            v.ui.view = Some(shown);
            gait.skeleton = skeleton;
            gait.scene = Scene::Fresh;
            v.settled = true;
            if let Some(p) = gait.pending_device.take() {
                v.ui.whatif.controls = twin_ui::DeviceControls::of(&p);
                gait.whatif(v, WhatIfAsk::Run(p));
            }
        }
        Msg::Failed(e) => {
            v.ui.status = e;
            v.settled = true;
        }
    }
}

/// Shows a finished what-if, with the time from the control's change.
fn poll_whatif(mut gait: ResMut<Gait>, mut s: ResMut<Session>) {
    let Some(msg) = gait.whatif_job.as_ref().and_then(|j| j.try_recv().ok()) else {
        return;
    };
    if let (Err(e), Some(job)) = (&msg, &gait.whatif_job) {
        job.fail(e);
    }
    gait.whatif_job = None;
    let latency = gait.asked.map(|t| t.elapsed().as_secs_f64() * 1e3);
    let w = &mut s.gait.ui.whatif;
    w.running = false;
    match msg {
        Ok(outcome) => {
            w.set_variant(outcome);
            w.error = None;
        }
        Err(e) => w.error = Some(e),
    }
    w.latency_ms = latency;
    s.gait.settled = true;
}

/// What the others see of the gait trial.
fn publish(gait: Res<Gait>, mut s: ResMut<Session>) {
    let s = &mut *s;
    let v = &mut s.gait;
    v.whatif_ready = gait.whatif_ready();
    v.whatif_done = gait.whatif_job.is_none();
    v.running = gait.runs.running();
    v.quiet = gait.quiet(&s.twin.doc);
}

/// Keeps the trial, the twin variants' runs and the overlays in step with
/// the twin.
fn sync_twin(mut gait: ResMut<Gait>, mut s: ResMut<Session>) {
    let gait = &mut *gait;
    let s = &mut *s;
    // The trial: one the user opened goes into the twin; the twin's own
    // (a twin opened or recovered, an undo) is computed.
    if gait.trial_for_twin {
        gait.trial_for_twin = false;
        if s.twin.doc.gait != gait.trial {
            s.record("open gait trial");
            s.twin.doc.gait.clone_from(&gait.trial);
        }
    } else if let Some(t) = s
        .twin
        .doc
        .gait
        .as_ref()
        .filter(|t| gait.trial.as_ref() != Some(*t))
    {
        let t = t.clone();
        s.gait.open = true;
        gait.compute_trial(&mut s.gait, t.model, t.motion, t.loads);
    }
    let (twin, gv) = (&mut s.twin, &mut s.gait);
    let Some(base) = gv
        .ui
        .whatif
        .baseline
        .as_ref()
        .filter(|_| gait.job.is_none())
    else {
        return;
    };
    if !has_gait_summary(&twin.baseline_results) {
        set_gait_summary(&mut twin.baseline_results, Some(base));
    }
    // Each variant's device key, once per frame; start what is missing,
    // collect what finished.
    let keys: Vec<Option<String>> = twin
        .doc
        .variants
        .iter()
        .map(|v| v.prosthesis.as_ref().map(key))
        .collect();
    for (v, k) in twin.doc.variants.iter().zip(&keys) {
        if let (Some(p), Some(k)) = (&v.prosthesis, k)
            && gait.runs.wanted(k)
        {
            gait.run_variant(&v.name, p.clone());
        }
    }
    gait.runs
        .keep_running(|k| keys.iter().flatten().any(|x| x == k));
    for k in gait.runs.collect() {
        if gait.asked_key.as_ref().is_some_and(|(a, _)| *a == k)
            && let Some((_, at)) = gait.asked_key.take()
        {
            gv.ui.whatif.latency_ms = Some(at.elapsed().as_secs_f64() * 1e3);
        }
    }
    // The overlays: rebuilt only when a name, device, selection or result
    // changed.
    let selected = twin.selected;
    // The variants with a device: (place in the list, variant, key).
    let fitted: Vec<(usize, &twin_scenario::Variant, &String)> = twin
        .doc
        .variants
        .iter()
        .zip(&keys)
        .enumerate()
        .filter_map(|(i, (v, k))| Some((i, v, k.as_ref()?)))
        .collect();
    let sig: Vec<(String, bool, RunState)> = fitted
        .iter()
        .map(|&(i, v, k)| {
            let name = format!("{}\u{0}{k}", v.name);
            (name, selected == Some(i), gait.runs.state(k))
        })
        .chain(std::iter::once((
            String::new(),
            selected.is_none(),
            RunState::Pending,
        )))
        .collect();
    let selection_changed = gait.shown != Some(selected);
    if gait.sig.as_ref() == Some(&sig) && !selection_changed {
        return;
    }
    let twin_variants = fitted
        .iter()
        .map(|&(i, v, k)| GaitVariant {
            name: v.name.clone(),
            colour: twin_ui::twin::colour(i),
            outcome: match (gait.runs.get(k), gait.runs.error(k)) {
                (Some(o), _) => Some(Ok(o.clone())),
                (None, Some(e)) => Some(Err(e.clone())),
                (None, None) => None,
            },
            selected: selected == Some(i),
        })
        .collect();
    gait.sig = Some(sig);
    // Each variant with a result has its summary (a finished run, a device
    // kept from the baseline's try, an undo): only when the overlays change.
    for (v, k) in twin.doc.variants.iter_mut().zip(&keys) {
        if let Some(o) = k.as_ref().and_then(|k| gait.runs.get(k))
            && !has_gait_summary(&v.results)
        {
            set_gait_summary(&mut v.results, Some(o));
        }
    }
    let w = &mut gv.ui.whatif;
    w.twin_variants = twin_variants;
    w.editing = twin.variant().map(|v| v.name.clone());
    // A selected variant: the shown variant is its run, the controls its
    // device.
    if let Some(v) = twin.variant() {
        let k = v.prosthesis.as_ref().map(key);
        match k.as_ref().and_then(|k| gait.runs.get(k)) {
            Some(o) => {
                let o = (**o).clone();
                gv.ui.whatif.set_variant(o);
                gv.ui.whatif.error = None;
            }
            None if v.prosthesis.is_none() => gv.ui.whatif.variant = None,
            None => {}
        }
        let w = &mut gv.ui.whatif;
        w.running = k.as_ref().is_some_and(|k| gait.runs.is_running(k));
        if let Some(e) = k.as_ref().and_then(|k| gait.runs.error(k)) {
            w.error = Some(e.clone());
        }
        if selection_changed && let Some(p) = &v.prosthesis {
            w.controls = twin_ui::DeviceControls::of(p);
        }
    } else if selection_changed && gait.shown.is_some() {
        // Back to the baseline: the device tried there starts afresh.
        gait.whatif_job = None;
        let w = &mut gv.ui.whatif;
        w.variant = None;
        w.running = false;
        w.error = None;
    }
    gait.shown = Some(selected);
}

/// A device control changed (or Remove, or Keep): with a twin variant
/// selected its device changes (with undo) and reruns through
/// [`sync_twin`]; with the baseline selected the device is tried on its
/// own, and Keep adds it to the twin as a variant.
fn apply_device(gait: &mut Gait, s: &mut Session, ask: WhatIfAsk) {
    match (s.twin.selected, ask) {
        (_, WhatIfAsk::Keep(device)) => {
            s.act(&ScenarioAction::Add(
                "prosthesis what-if".into(),
                Vec::new(),
            ));
            if let Some(v) = s.twin.selected.and_then(|i| s.twin.doc.variants.get_mut(i)) {
                // The result tried is the variant's: no rerun.
                if let Some(o) = s.gait.ui.whatif.variant.clone() {
                    gait.runs.insert(key(&device), Arc::new(o));
                }
                v.prosthesis = Some(device);
            }
        }
        (Some(i), ask) => {
            let Some(v) = s.twin.doc.variants.get(i) else {
                return;
            };
            let device = match ask {
                WhatIfAsk::Run(d) => Some(d),
                _ => None,
            };
            if v.prosthesis == device {
                return;
            }
            let label = match device {
                Some(_) => format!("change the device of “{}”", v.name),
                None => format!("remove the device of “{}”", v.name),
            };
            s.record(&label);
            if let Some(d) = &device {
                gait.asked_key = Some((key(d), Instant::now()));
            }
            let v = &mut s.twin.doc.variants[i];
            set_gait_summary(&mut v.results, None);
            v.prosthesis = device;
        }
        (None, ask) => gait.whatif(&mut s.gait, ask),
    }
}

fn play(time: Res<Time>, mut gait: ResMut<Gait>, mut s: ResMut<Session>) {
    let ui = &mut s.gait.ui;
    if !ui.playing {
        return;
    }
    let Some(v) = &ui.view else { return };
    let (Some(&first), Some(&last)) = (v.time.first(), v.time.last()) else {
        return;
    };
    let span = (last - first).max(1e-6);
    let clock = (gait.clock + time.delta_secs_f64()) % span;
    let frame = v
        .time
        .partition_point(|&t| t - first <= clock)
        .saturating_sub(1);
    gait.clock = clock;
    ui.frame = frame;
}

/// Puts a new skeleton in the scene (bone meshes, or spheres) and points
/// the camera at it.
fn sync_skeleton(
    mut commands: Commands,
    mut gait: ResMut<Gait>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    old: Query<Entity, With<SkeletonPart>>,
    mut view: MessageWriter<ViewAsk>,
    s: Res<Session>,
) {
    let ws = &s.study;
    let study_quiet = ws.settled && ws.new_surface.is_none() && !ws.loading;
    if gait.scene == Scene::Aim
        && study_quiet
        && let Some(frame) = gait.skeleton.poses.first()
    {
        let pelvis = frame.get(1).map_or(Vec3::ZERO, |p| p.0);
        view.write(ViewAsk::Aim {
            target: STAGE + pelvis * 1000.0 - Vec3::Y * 100.0,
            distance: 3200.0,
            yaw: 0.9,
            pitch: -0.15,
        });
        gait.scene = Scene::Done;
    }
    if gait.scene != Scene::Fresh {
        return;
    }
    gait.scene = Scene::Aim;
    for e in &old {
        commands.entity(e).despawn();
    }
    let bone = materials.add(StandardMaterial {
        base_color: Color::srgb(0.9, 0.86, 0.76),
        perceptual_roughness: 0.6,
        ..default()
    });
    let joint = meshes.add(Sphere::new(22.0));
    for (b, m) in gait.skeleton.meshes.iter().enumerate().skip(1) {
        let mut parts = Vec::new();
        if let Some(m) = m {
            // Body frame in metres → the scene's millimetres.
            parts.push(meshes.add(bevy_mesh(m, |p| Vec3::from(p) * 1000.0)));
        } else {
            // No mesh: a sphere at the joint and a capsule to each child's
            // joint (body frame, mm).
            parts.push(joint.clone());
            for &c in &gait.skeleton.child_joints[b] {
                let d = c * 1000.0;
                let length = (d.length() - 44.0).max(1.0);
                let capsule = Mesh::from(Capsule3d::new(16.0, length)).transformed_by(
                    Transform::from_translation(d / 2.0)
                        .with_rotation(Quat::from_rotation_arc(Vec3::Y, d.normalize_or(Vec3::Y))),
                );
                parts.push(meshes.add(capsule));
            }
        }
        for mesh in parts {
            commands.spawn((
                SkeletonPart(b),
                Mesh3d(mesh),
                MeshMaterial3d(bone.clone()),
                Transform::IDENTITY,
            ));
        }
    }
}

/// Moves the skeleton to the current frame; draws the bones between joint
/// centres and the ground reaction forces.
fn animate_skeleton(
    gait: Res<Gait>,
    s: Res<Session>,
    mut parts: Query<(&SkeletonPart, &mut Transform)>,
    mut gizmos: Gizmos,
) {
    let ui = &s.gait.ui;
    let Some(frame) = gait.skeleton.poses.get(ui.frame) else {
        return;
    };
    let world = |p: Vec3| STAGE + p * 1000.0;
    for (part, mut t) in &mut parts {
        if let Some((p, q)) = frame.get(part.0) {
            t.translation = world(*p);
            t.rotation = *q;
        }
    }
    let Some(v) = &ui.view else { return };
    draw_muscles(&gait, ui, &mut gizmos, world);
    for &(a, b) in &v.bones {
        if let (Some(pa), Some(pb)) = (frame.get(a), frame.get(b)) {
            gizmos.line(world(pa.0), world(pb.0), Color::srgb(0.95, 0.8, 0.3));
        }
    }
    if let Some(loads) = v.loads.get(ui.frame) {
        for (point, force) in loads {
            if force[1].abs() < 1.0 {
                continue;
            }
            let p = Vec3::new(point[0] as f32, point[1] as f32, point[2] as f32);
            let f = Vec3::new(force[0] as f32, force[1] as f32, force[2] as f32);
            // 1 m of arrow per 1 000 N.
            gizmos.arrow(world(p), world(p + f / 1000.0), Color::srgb(0.4, 0.9, 0.4));
        }
    }
    // The floor.
    let c = world(
        frame
            .get(1)
            .map_or(Vec3::ZERO, |p| Vec3::new(p.0.x, 0.0, p.0.z)),
    );
    for k in -5..=5 {
        let d = k as f32 * 200.0;
        gizmos.line(
            c + Vec3::new(d, 0.0, -1000.0),
            c + Vec3::new(d, 0.0, 1000.0),
            Color::srgb(0.3, 0.3, 0.32),
        );
        gizmos.line(
            c + Vec3::new(-1000.0, 0.0, d),
            c + Vec3::new(1000.0, 0.0, d),
            Color::srgb(0.3, 0.3, 0.32),
        );
    }
}

/// How far beside the trial's skeleton the predicted walk is drawn (m,
/// along OpenSim's z).
const PREDICTED_BESIDE: f32 = -0.8;

/// The walk the Predicted gait pane shows, at its frame, as bones and foot
/// forces beside the trial's skeleton (level with its pelvis, so the two
/// walk side by side however far the prediction has travelled).
fn draw_predicted(gait: Res<Gait>, s: Res<Session>, mut gizmos: Gizmos) {
    let p = &s.gait.ui.predict;
    let Some(w) = p.walks.get(p.player.walk) else {
        return;
    };
    let Some(origins) = w.figure.origins.get(p.player.frame) else {
        return;
    };
    let v3 = |x: &[f64; 3]| Vec3::new(x[0] as f32, x[1] as f32, x[2] as f32);
    let trial_x = gait
        .skeleton
        .poses
        .get(s.gait.ui.frame)
        .and_then(|f| f.get(1))
        .map_or(0.0, |b| b.0.x);
    let pelvis_x = origins.get(1).map_or(0.0, |o| o[0] as f32);
    let shift = Vec3::new(trial_x - pelvis_x, 0.0, PREDICTED_BESIDE);
    let at = |x: Vec3| STAGE + (x + shift) * 1000.0;
    let colour = if w.fell {
        Color::srgb(0.9, 0.35, 0.3)
    } else {
        Color::srgb(0.35, 0.75, 0.95)
    };
    for &(a, b) in &w.figure.bones {
        if let (Some(pa), Some(pb)) = (origins.get(a), origins.get(b)) {
            gizmos.line(at(v3(pa)), at(v3(pb)), colour);
        }
    }
    for (point, force) in w.figure.loads.get(p.player.frame).into_iter().flatten() {
        if force[1].abs() >= 1.0 {
            let x = v3(point);
            gizmos.arrow(
                at(x),
                at(x + v3(force) / 1000.0),
                Color::srgb(0.4, 0.9, 0.4),
            );
        }
    }
}

/// Each muscle along its path at the current frame, coloured from grey-blue
/// (resting) to red (fully active) by the shown outcome's activation — the
/// variant's when a device is fitted; a muscle the device removed is dark.
fn draw_muscles(
    gait: &Gait,
    ui: &twin_ui::GaitState,
    gizmos: &mut Gizmos,
    world: impl Fn(Vec3) -> Vec3,
) {
    let Some(paths) = gait.skeleton.paths.get(ui.frame) else {
        return;
    };
    let w = &ui.whatif;
    let Some(shown) = w.variant.as_ref().or(w.baseline.as_ref()) else {
        return;
    };
    let Some(t) = ui.view.as_ref().and_then(|v| v.time.get(ui.frame)) else {
        return;
    };
    let a = &shown.so.activations;
    let row = a
        .time
        .partition_point(|&x| x < *t)
        .min(a.rows().saturating_sub(1));
    for (name, path) in gait.skeleton.muscles.iter().zip(paths) {
        let color = match a.index_of(name).and_then(|c| a.columns[c].get(row)) {
            Some(&act) => {
                let x = act.clamp(0.0, 1.0) as f32;
                Color::srgb(0.35 + 0.6 * x, 0.45 - 0.3 * x, 0.75 - 0.6 * x)
            }
            None => Color::srgb(0.2, 0.2, 0.22),
        };
        for pair in path.windows(2) {
            gizmos.line(world(pair[0]), world(pair[1]), color);
        }
    }
}

/// Carries out what the panes and the other features asked.
fn asks(
    mut asks: MessageReader<GaitAsk>,
    mut gait: ResMut<Gait>,
    mut predict: ResMut<crate::predict::Predict>,
    mut s: ResMut<Session>,
    mut twin: MessageWriter<TwinAsk>,
) {
    let s = &mut *s;
    for ask in asks.read() {
        match ask.clone() {
            GaitAsk::Show => s.gait.open = true,
            GaitAsk::Compute {
                model,
                trial,
                loads,
            } => {
                s.gait.open = true;
                gait.compute(&mut s.gait, model, trial, loads);
            }
            GaitAsk::Report => {
                twin.write(TwinAsk::GaitReport {
                    text: Gait::report_text(&s.gait),
                    runs: gait.runs_for_report(&s.gait, &s.twin.doc).map(Box::new),
                });
            }
            GaitAsk::Pane(a) => match a {
                GaitAction::Open => gait.pick(&mut s.gait),
                GaitAction::OpenReference => gait.pick_reference(&mut s.gait),
                GaitAction::DropReference => gait.set_reference(&mut s.gait, None),
                GaitAction::Cancel => {
                    if let Some(j) = &gait.job {
                        j.progress.cancel();
                    }
                }
                GaitAction::WhatIf(ask) => apply_device(&mut gait, s, ask),
                GaitAction::Predict(a) => predict.ask(s, &a),
            },
        }
    }
}
