//! The gait window: a model and a trial computed in a background thread
//! (inverse kinematics when the trial is markers, inverse dynamics when
//! external loads are given, static optimisation of the intact baseline
//! when the model has muscles), shown by `twin_ui::gait`; prosthesis
//! what-ifs rerun in their own background job on every control change,
//! the newest replacing the one still running, in a window of their own
//! ("Prosthesis what-if"). In 3D the skeleton follows
//! the frame slider, its muscles drawn along their paths and coloured by
//! activation (the variant's when a device is fitted).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use twin_core::Progress;
use twin_mesh::TriMesh;
use twin_msk::dynamics::{IdOptions, inverse_dynamics_with};
use twin_msk::gait::{Band, cycle_series, strides_by_side};
use twin_msk::ik::inverse_kinematics_with;
use twin_msk::loads::ExternalLoads;
use twin_msk::normative::Reference;
use twin_msk::optimization::SoOptions;
use twin_msk::prosthesis::Prosthesis;
use twin_msk::whatif::{GaitCase, Outcome};
use twin_msk::{C3dTrial, Markers, Model, Table};
use twin_ui::gait::CycleCurves;
use twin_ui::{GaitAction, GaitState, GaitView, WhatIfAsk};

use crate::Args;
use crate::job::{Job, Priority};

pub struct GaitPlugin;

impl Plugin for GaitPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Gait>()
            .add_systems(Startup, start)
            .add_systems(
                Update,
                (poll, poll_whatif, play, sync_skeleton, animate_skeleton).chain(),
            )
            .add_systems(EguiPrimaryContextPass, draw);
    }
}

enum Msg {
    Picked(Option<(PathBuf, PathBuf, Option<PathBuf>)>),
    /// A reference file read (or why not); `None` when none was picked.
    Reference(Option<Result<Reference, String>>),
    Done(Box<Computed>),
    Failed(String),
}

/// A finished computation: the panel's view, the 3D skeleton and, for a
/// muscle model with loads, the what-if case and its intact baseline.
struct Computed {
    view: GaitView,
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

/// The window's state and its worker.
#[derive(Resource, Default)]
pub struct Gait {
    pub open: bool,
    pub ui: GaitState,
    job: Option<Job<Msg>>,
    /// Seconds into the trial while playing.
    clock: f64,
    /// Finished what it was asked at start (for `--screenshot`).
    pub settled: bool,
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
    pub fn show(&mut self) {
        self.open = true;
    }

    /// The intact baseline of the prosthesis what-if is ready.
    pub fn whatif_ready(&self) -> bool {
        self.case.is_some() && self.job.is_none()
    }

    /// The last what-if's result is shown (or failed) and nothing runs.
    pub fn whatif_done(&self) -> bool {
        self.whatif_job.is_none()
    }

    /// The gait analysis for the report: the intact baseline and the
    /// prosthesis what-if (numbers only; no file names or identity).
    pub fn report_text(&self) -> Option<String> {
        use std::fmt::Write as _;
        let w = &self.ui.whatif;
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

    fn spawn(&mut self, label: &str, work: impl FnOnce(&Progress) -> Msg + Send + 'static) {
        self.job = None;
        self.job = Some(Job::once("gait", label, Priority::Background, work));
        self.ui.busy = true;
        self.settled = false;
    }

    pub fn compute(&mut self, model: PathBuf, trial: PathBuf, loads: Option<PathBuf>) {
        self.ui.status = format!("computing {}…", trial.display());
        self.spawn("gait", move |progress| {
            match compute(&model, &trial, loads.as_deref(), progress) {
                Ok(v) => Msg::Done(Box::new(v)),
                Err(e) => Msg::Failed(e),
            }
        });
    }

    fn pick(&mut self) {
        self.spawn("gait: open files", |_| {
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

    fn pick_reference(&mut self) {
        self.spawn("gait: open reference", |_| {
            let path = rfd::FileDialog::new()
                .set_title("Reference (normal database) CSV")
                .add_filter("gait reference", &["csv"])
                .pick_file();
            Msg::Reference(path.map(|p| read_reference(&p)))
        });
    }

    /// Compares the shown curves with `reference` (or stops comparing).
    fn set_reference(&mut self, reference: Option<Reference>) {
        self.reference = reference;
        if let Some(v) = &mut self.ui.view {
            v.set_reference(self.reference.as_ref());
        }
    }

    /// Reruns the what-if with a device (the newest request replaces one
    /// still running), or shows the baseline alone.
    pub fn whatif(&mut self, ask: WhatIfAsk) {
        self.whatif_job = None;
        let (Some(case), WhatIfAsk::Run(device)) = (self.case.clone(), ask) else {
            self.ui.whatif.variant = None;
            self.ui.whatif.running = false;
            self.ui.whatif.latency_ms = None;
            return;
        };
        self.asked = Some(Instant::now());
        self.ui.whatif.running = true;
        self.settled = false;
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
    let model = Model::read(model_path).map_err(|e| e.to_string())?;
    let mut notes = model.warnings.clone();
    let ext = trial
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let coords = match ext.as_str() {
        "mot" | "sto" => Table::read(trial).map_err(|e| e.to_string())?,
        "trc" | "c3d" => {
            let markers = if ext == "c3d" {
                let mut t = C3dTrial::read(trial).map_err(|e| e.to_string())?;
                t.rotate(&twin_msk::c3d::z_up_to_y_up());
                t.markers
            } else {
                Markers::read_trc(trial).map_err(|e| e.to_string())?
            };
            let ik = inverse_kinematics_with(&model, &markers, None, None, progress)
                .map_err(|e| e.to_string())?;
            notes.extend(ik.warnings);
            notes.push(format!(
                "IK: marker RMS error up to {:.1} mm",
                1000.0 * ik.rms_error.iter().fold(0.0f64, |a, &b| a.max(b))
            ));
            ik.coordinates
        }
        other => {
            return Err(format!(
                "{}: `.{other}` is neither a motion nor markers",
                trial.display()
            ));
        }
    };
    let loads = loads_path
        .map(|p| ExternalLoads::read(p, &model, None))
        .transpose()
        .map_err(|e| e.to_string())?;
    let id = match &loads {
        Some(l) => {
            let (id, w) =
                inverse_dynamics_with(&model, &coords, Some(l), IdOptions::default(), progress)
                    .map_err(|e| e.to_string())?;
            notes.extend(w);
            Some(id)
        }
        None => None,
    };
    // Strides per side inside the motion; each coordinate over them.
    let span = [coords.time[0], coords.time[coords.rows() - 1]];
    let strides = match &loads {
        Some(l) => {
            let (strides, lines) = strides_by_side(&model, l, span);
            notes.extend(lines);
            strides
        }
        None => Default::default(),
    };
    let mass = model.mass();
    let curves = cycle_series(&model, &coords, id.as_ref(), &strides)
        .into_iter()
        .map(|s| {
            let moment = |side: usize| Band::of(&s.moment[side]).map(|b| b.scaled(1.0 / mass));
            CycleCurves {
                angle_right: Band::of(&s.angle[0]),
                angle_left: Band::of(&s.angle[1]),
                moment_right: moment(0),
                moment_left: moment(1),
                name: s.name,
                ..CycleCurves::default()
            }
        })
        .collect();
    // The stick figure: body origins per frame, loads per frame.
    let bones = model
        .joints
        .iter()
        .filter(|j| j.parent != 0)
        .map(|j| (j.parent, j.child))
        .collect();
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
    let mut view = GaitView {
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

fn start(args: Res<Args>, mut gait: ResMut<Gait>) {
    if let Some(path) = &args.reference {
        match read_reference(path) {
            Ok(r) => gait.reference = Some(r),
            Err(e) => gait.ui.status = e,
        }
    }
    if let Some(path) = &args.prosthesis {
        match Prosthesis::read(path) {
            Ok(p) => gait.pending_device = Some(p),
            Err(e) => gait.ui.status = e.to_string(),
        }
    }
    if let Some(files) = &args.gait {
        gait.open = true;
        let (model, trial, loads) = (files[0].clone(), files[1].clone(), files.get(2).cloned());
        gait.compute(model, trial, loads);
    }
}

pub fn poll(mut gait: ResMut<Gait>) {
    if let Some(p) = gait.job.as_ref().map(|j| &j.progress) {
        let shown = Some((p.stage(), p.fraction()));
        if gait.ui.progress != shown {
            gait.ui.progress = shown;
        }
    }
    let Some(msg) = gait.job.as_ref().and_then(|j| j.try_recv().ok()) else {
        return;
    };
    if let (Msg::Failed(e), Some(job)) = (&msg, &gait.job) {
        job.fail(e);
    }
    gait.job = None;
    gait.ui.busy = false;
    gait.ui.progress = None;
    match msg {
        Msg::Picked(Some((model, trial, loads))) => gait.compute(model, trial, loads),
        Msg::Picked(None) | Msg::Reference(None) => gait.ui.status = "nothing opened".into(),
        Msg::Reference(Some(Ok(r))) => {
            gait.ui.status = format!("reference: {}", r.source);
            gait.set_reference(Some(r));
        }
        Msg::Reference(Some(Err(e))) => gait.ui.status = e,
        Msg::Done(done) => {
            let Computed {
                view: mut v,
                skeleton,
                whatif,
            } = *done;
            v.set_reference(gait.reference.as_ref());
            gait.ui.whatif.variant = None;
            gait.ui.whatif.error = None;
            let (case, base) = whatif.unzip();
            gait.case = case;
            gait.ui.whatif.baseline = base;
            gait.ui.status = String::new();
            gait.ui.frame = 0;
            gait.ui.selected = v
                .curves
                .iter()
                .position(|c| c.name == "knee_angle")
                .unwrap_or(0);
            gait.ui.view = Some(v);
            gait.skeleton = skeleton;
            gait.scene = Scene::Fresh;
            gait.settled = true;
            if let Some(p) = gait.pending_device.take() {
                gait.ui.whatif.controls = twin_ui::DeviceControls::of(&p);
                gait.whatif(WhatIfAsk::Run(p));
            }
        }
        Msg::Failed(e) => {
            gait.ui.status = e;
            gait.settled = true;
        }
    }
}

/// Shows a finished what-if, with the time from the control's change.
pub fn poll_whatif(mut gait: ResMut<Gait>) {
    let Some(msg) = gait.whatif_job.as_ref().and_then(|j| j.try_recv().ok()) else {
        return;
    };
    if let (Err(e), Some(job)) = (&msg, &gait.whatif_job) {
        job.fail(e);
    }
    gait.whatif_job = None;
    let latency = gait.asked.map(|t| t.elapsed().as_secs_f64() * 1e3);
    let w = &mut gait.ui.whatif;
    w.running = false;
    match msg {
        Ok(outcome) => {
            w.set_variant(outcome);
            w.error = None;
        }
        Err(e) => w.error = Some(e),
    }
    w.latency_ms = latency;
    gait.settled = true;
}

fn play(time: Res<Time>, mut gait: ResMut<Gait>) {
    if !gait.ui.playing {
        return;
    }
    let Some(v) = &gait.ui.view else { return };
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
    gait.ui.frame = frame;
}

/// Puts a new skeleton in the scene (bone meshes, or spheres) and points
/// the camera at it.
fn sync_skeleton(
    mut commands: Commands,
    mut gait: ResMut<Gait>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    old: Query<Entity, With<SkeletonPart>>,
    mut camera: Query<(&mut crate::viewport::OrbitCamera, &mut Transform)>,
    ws: Res<crate::study::Workspace>,
) {
    let study_quiet = ws.settled && ws.new_surface.is_none() && ws.job.is_none();
    if gait.scene == Scene::Aim
        && study_quiet
        && let (Some(frame), Ok((mut orbit, mut transform))) =
            (gait.skeleton.poses.first(), camera.single_mut())
    {
        let pelvis = frame.get(1).map_or(Vec3::ZERO, |p| p.0);
        orbit.target = STAGE + pelvis * 1000.0 - Vec3::Y * 100.0;
        orbit.distance = 3200.0;
        orbit.yaw = 0.9;
        orbit.pitch = -0.15;
        *transform = orbit.transform();
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
            parts.push(meshes.add(crate::viewport::bevy_mesh(m, |p| Vec3::from(p) * 1000.0)));
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
    mut parts: Query<(&SkeletonPart, &mut Transform)>,
    mut gizmos: Gizmos,
) {
    let Some(frame) = gait.skeleton.poses.get(gait.ui.frame) else {
        return;
    };
    let world = |p: Vec3| STAGE + p * 1000.0;
    for (part, mut t) in &mut parts {
        if let Some((p, q)) = frame.get(part.0) {
            t.translation = world(*p);
            t.rotation = *q;
        }
    }
    let Some(v) = &gait.ui.view else { return };
    draw_muscles(&gait, &mut gizmos, world);
    for &(a, b) in &v.bones {
        if let (Some(pa), Some(pb)) = (frame.get(a), frame.get(b)) {
            gizmos.line(world(pa.0), world(pb.0), Color::srgb(0.95, 0.8, 0.3));
        }
    }
    if let Some(loads) = v.loads.get(gait.ui.frame) {
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

/// Each muscle along its path at the current frame, coloured from grey-blue
/// (resting) to red (fully active) by the shown outcome's activation — the
/// variant's when a device is fitted; a muscle the device removed is dark.
fn draw_muscles(gait: &Gait, gizmos: &mut Gizmos, world: impl Fn(Vec3) -> Vec3) {
    let Some(paths) = gait.skeleton.paths.get(gait.ui.frame) else {
        return;
    };
    let w = &gait.ui.whatif;
    let Some(shown) = w.variant.as_ref().or(w.baseline.as_ref()) else {
        return;
    };
    let Some(t) = gait
        .ui
        .view
        .as_ref()
        .and_then(|v| v.time.get(gait.ui.frame))
    else {
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

fn draw(mut contexts: EguiContexts, mut gait: ResMut<Gait>) -> Result {
    if !gait.open {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    let mut open = gait.open;
    let mut actions = Vec::new();
    egui::Window::new("Gait analysis")
        .open(&mut open)
        .default_size([520.0, 740.0])
        .max_width(530.0)
        .default_pos([745.0, 30.0])
        // Not pushed left while its first frame measures wide content: the
        // 3D view stays visible beside it.
        .constrain(false)
        .vscroll(true)
        .show(ctx, |ui| {
            actions = twin_ui::gait_panel(ui, &mut gait.ui);
        });
    gait.open = open;
    if gait.open && gait.ui.whatif.baseline.is_some() {
        egui::Window::new("Prosthesis what-if")
            .default_size([490.0, 600.0])
            .max_width(495.0)
            .default_pos([8.0, 190.0])
            .constrain(false)
            .vscroll(true)
            .show(ctx, |ui| {
                actions.extend(
                    twin_ui::whatif_section(ui, &mut gait.ui.whatif).map(GaitAction::WhatIf),
                );
            });
    }
    for a in actions {
        match a {
            GaitAction::Open => gait.pick(),
            GaitAction::OpenReference => gait.pick_reference(),
            GaitAction::DropReference => gait.set_reference(None),
            GaitAction::Cancel => {
                if let Some(j) = &gait.job {
                    j.progress.cancel();
                }
            }
            GaitAction::WhatIf(ask) => gait.whatif(ask),
        }
    }
    Ok(())
}
