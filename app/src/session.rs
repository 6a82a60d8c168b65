//! The one [`Session`] resource, and the messages the features send each
//! other.
//!
//! The feature plugins (study, viewport, cardio, gait, twin, panels,
//! capture, jobs) never import each other: each reads and writes the
//! `Session` (the twin's document and undo from `twin_session`, the loaded
//! study, the panes' state from `twin_ui`, and what each feature publishes
//! for the others), and asks another feature for work with a message
//! ([`StudyAsk`], [`CardioAsk`], [`GaitAsk`], [`TwinAsk`], [`ViewAsk`]).
//! Each feature keeps its own workers (jobs, dialogs, entities) private.
//! ARCHITECTURE.md shows the module graph.

use std::path::PathBuf;
use std::sync::Arc;

use bevy::asset::RenderAssetUsages;
use bevy::ecs::system::SystemParam;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use twin_imaging::{ScanReport, Volume};
use twin_mesh::TriMesh;
use twin_scenario::document::{CardioModel, SegmentRecipe};
use twin_session::ScenarioAction;
use twin_ui::layout::Task;
use twin_ui::twin::ScenarioList;
use twin_ui::{BrowserState, CardioAction, CardioState, GaitAction, GaitState, SegmentAction};

/// The running twin as the app's features share it.
#[derive(Resource, Default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent flags that different features publish"
)]
pub struct Session {
    /// The open twin with its undo history (which keeps the segment list
    /// beside the document).
    pub twin: twin_session::Session<SegmentsSnapshot>,
    /// The twin changed since its last autosave.
    pub autosave_pending: bool,
    /// The scenario list's renaming state.
    pub list: ScenarioList,
    /// The last file outcome, for the status bar.
    pub status: String,
    /// Windows that float over the dock (Help, Jobs).
    pub show_help: bool,
    pub show_jobs: bool,
    /// The loaded study, its slices and its segments.
    pub study: Study,
    /// The cardiac twin's panes and what it publishes.
    pub cardio: CardioView,
    /// The gait trial's panes and what it publishes.
    pub gait: GaitView,
    /// The EP workspace's pane.
    pub ep: twin_ui::ep::EpUi,
    /// The twin's file work: nothing in flight, and the command line's
    /// `--save-as`/`--report` written.
    pub twin_quiet: bool,
    pub script_done: bool,
    /// Where the 3D view's pane is this frame (logical pixels; empty when
    /// no 3D pane is shown), set by the panels.
    pub view_rect: Rect,
    /// A uniform scale for the newest segment (or the study surface when
    /// there is none), set by the cardiac twin to (V_LV(t) / EDV)^⅓ so the
    /// mesh pulses with the simulated LV volume.
    pub pulse: Option<f32>,
}

impl Session {
    /// Records the state before an edit called `label` (for undo) and marks
    /// the twin changed.
    pub fn record(&mut self, label: &str) {
        let before = self.study.segments_snapshot();
        self.twin.record(label, before);
        self.autosave_pending = true;
    }

    /// Marks the twin changed (no undo entry).
    pub fn changed(&mut self) {
        self.twin.changed();
        self.autosave_pending = true;
    }

    /// Carries out a scenario-list action (with undo).
    pub fn act(&mut self, action: &ScenarioAction) {
        match action {
            ScenarioAction::Undo => self.step(true),
            ScenarioAction::Redo => self.step(false),
            a => {
                let mut segments = self.study.segments_snapshot();
                if self.twin.act(a, &mut segments).is_some() {
                    self.autosave_pending = true;
                }
            }
        }
    }

    /// Undo (or redo) the last edit: the document and the segment list.
    pub fn step(&mut self, undo: bool) {
        let mut segments = self.study.segments_snapshot();
        let label = if undo {
            self.twin.undo(&mut segments)
        } else {
            self.twin.redo(&mut segments)
        };
        if let Some(label) = label {
            self.study.segments.rows = segments.rows;
            self.study.segment_data = segments.data;
            self.autosave_pending = true;
            let done = if undo { "undid" } else { "redid" };
            self.status = format!("{done} {label}");
        }
    }

    /// The study, its segments, the heart, the variants and the twin's
    /// files have nothing left to do (scripted sessions and `--screenshot`
    /// wait for it); `pending` is whether any feature has messages still to
    /// read.
    pub fn settled(&self, pending: bool) -> bool {
        !pending
            && self.study.quiet()
            && self.cardio.quiet
            && !self.cardio.timeline.busy
            && !self.cardio.timeline.follow_busy
            && self.gait.quiet
            && self.twin_quiet
    }
}

/// Whether any feature has a message still to read (then the session is
/// not settled, whatever the features last said).
#[derive(SystemParam)]
pub struct Pending<'w> {
    study: Res<'w, Messages<StudyAsk>>,
    cardio: Res<'w, Messages<CardioAsk>>,
    gait: Res<'w, Messages<GaitAsk>>,
    twin: Res<'w, Messages<TwinAsk>>,
}

impl Pending<'_> {
    pub fn any(&self) -> bool {
        !(self.study.is_empty()
            && self.cardio.is_empty()
            && self.gait.is_empty()
            && self.twin.is_empty())
    }
}

/// A segment's data (its row in the list lives in `Study::segments`).
#[derive(Clone)]
pub struct SegmentData {
    /// Enclosed volume of the mask, mL.
    pub volume_ml: f64,
    pub mask: Arc<Vec<u8>>,
    pub mesh: Arc<TriMesh>,
    /// Unique per segment, so the viewport knows which entity is which.
    pub id: u64,
    /// The editor's settings that made it (saved in the twin).
    pub recipe: SegmentRecipe,
}

/// The segment list and its data, as undo keeps it.
#[derive(Clone, Default)]
pub struct SegmentsSnapshot {
    pub rows: Vec<twin_ui::segments::SegmentRow>,
    pub data: Vec<SegmentData>,
}

/// An opened twin's segments on their way into the segment list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TwinSegments {
    /// The list on show is the user's: it goes into the twin.
    #[default]
    Own,
    /// To be rebuilt from their recipes once their series is loaded.
    Waiting,
    /// The rebuild job is running.
    Rebuilding,
    /// Not rebuildable here (no recipes, their series not in this study,
    /// or every one failed): they stay listed in the twin.
    Unbuildable,
}

/// The loaded study as the features read it (the study feature writes it).
#[derive(Default)]
pub struct Study {
    pub browser: BrowserState,
    pub report: Option<Arc<ScanReport>>,
    pub volume: Option<Arc<Volume>>,
    /// A study job runs (or a segment asked on the command line waits).
    pub loading: bool,
    /// The MPR views of the loaded volume (all phases of a cine).
    pub mpr: twin_ui::MprState,
    /// A new surface for the viewport to show (taken by the viewport).
    pub new_surface: Option<TriMesh>,
    /// Set when a job finished (successfully or not); cleared while one
    /// is asked or runs.
    pub settled: bool,
    /// Segment editor and list state, and each segment's data.
    pub segments: twin_ui::SegmentsState,
    pub segment_data: Vec<SegmentData>,
    /// One surface per cine phase, for playback in 3D (empty for a static volume).
    pub cine_surfaces: Vec<Arc<TriMesh>>,
    /// The folder or file the study was opened from (outputs never go there).
    pub source: Option<PathBuf>,
    /// Segment edits since the twin last looked: the edit's label and the
    /// list before it (for undo).
    pub segment_edits: Vec<(String, SegmentsSnapshot)>,
    /// Whose segment list this is: the user's, or an opened twin's still
    /// to be rebuilt (until then the twin's list stands).
    pub twin_segments: TwinSegments,
    /// The series a rebuild was last tried on (each is tried once).
    pub segments_tried: Option<String>,
}

impl Study {
    /// Identity of the first study, for the window title.
    pub fn patient(&self) -> Option<&twin_imaging::PatientIdentity> {
        self.report.as_ref()?.studies.first().map(|s| &s.identity)
    }

    /// Nothing of the study runs or waits: no job, no segment edit the twin
    /// has not taken, no twin segments to rebuild.
    pub fn quiet(&self) -> bool {
        self.settled
            && !self.loading
            && self.segment_edits.is_empty()
            && !self.segments_to_rebuild()
    }

    /// An opened twin's segments are still being rebuilt.
    pub fn segments_to_rebuild(&self) -> bool {
        matches!(
            self.twin_segments,
            TwinSegments::Waiting | TwinSegments::Rebuilding
        )
    }

    /// Empties the segment list (the study and its surfaces stay).
    pub fn clear_segment_list(&mut self) {
        self.segments.rows.clear();
        self.segment_data.clear();
    }

    /// The loaded stack's series UID.
    pub fn series_uid(&self) -> Option<String> {
        let id = self.browser.selected_stack.as_deref()?;
        self.report
            .as_ref()?
            .studies
            .iter()
            .flat_map(|st| &st.series)
            .find(|se| se.stacks.iter().any(|k| k.id == id))
            .map(|se| se.uid.clone())
    }

    /// The open study as a twin refers to it: its folder and UIDs.
    pub fn study_ref(&self) -> Option<twin_scenario::document::StudyRef> {
        let report = self.report.as_ref()?;
        let study = report.studies.first()?;
        Some(twin_scenario::document::StudyRef {
            path: self.source.clone().unwrap_or_else(|| report.root.clone()),
            study_instance_uid: study.uid.clone(),
            series_instance_uids: study.series.iter().map(|s| s.uid.clone()).collect(),
        })
    }

    /// The segment list as it is now.
    pub fn segments_snapshot(&self) -> SegmentsSnapshot {
        SegmentsSnapshot {
            rows: self.segments.rows.clone(),
            data: self.segment_data.clone(),
        }
    }

    /// The loaded cine as a calibration's provenance names it.
    pub fn cine_label(&self) -> String {
        self.browser
            .selected_stack
            .as_ref()
            .map_or_else(|| "the cine".to_owned(), |id| format!("series {id}"))
    }
}

/// The cardiac twin's panes, and what it publishes.
#[derive(Default)]
pub struct CardioView {
    /// Its workspace has been shown (or `--cardio` asked for it).
    pub open: bool,
    pub ui: CardioState,
    /// The cine's contours under review.
    pub contours: twin_ui::contours::ContourState,
    /// The twin over time: the timeline, its run, the vitals followed.
    pub timeline: twin_ui::timeline::TimelineState,
    /// From a control's release to the variant's result shown, ms.
    pub last_latency_ms: Option<f64>,
    /// Variants running now.
    pub running: usize,
    /// Nothing runs, the twin has its calibration, and every variant has
    /// its result (once there is a baseline).
    pub quiet: bool,
}

/// The gait trial's panes, and what it publishes.
#[derive(Default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent states of the trial's jobs, published for the others"
)]
pub struct GaitView {
    /// Its workspace has been shown (or `--gait` asked for it).
    pub open: bool,
    pub ui: GaitState,
    /// Finished what it was asked last (for `--screenshot`).
    pub settled: bool,
    /// The intact baseline of the prosthesis what-if is ready.
    pub whatif_ready: bool,
    /// No what-if of the device controls runs.
    pub whatif_done: bool,
    /// Twin variants running on the trial now.
    pub running: usize,
    /// Nothing runs and every twin variant with a device has its result.
    pub quiet: bool,
}

/// Work for the study feature.
#[derive(Message, Debug, Clone)]
pub enum StudyAsk {
    /// Open a folder (or file) of DICOM images, or the demo patient.
    Open(Option<PathBuf>),
    /// Load this stack (an id of the scan report) and build its surface.
    SelectStack(String),
    /// Rebuild the surface at this threshold.
    Remesh(f32),
    /// Cancel the running study job.
    Cancel,
    /// What the segment panes asked.
    Segment(SegmentAction),
    /// A segment from the editor's settings: by threshold, or grown from
    /// this seed (patient mm).
    AddSegment(Option<[f64; 3]>),
    /// A reopened twin's segments (name, colour, recipe), rebuilt on the
    /// loaded volume.
    Rebuild(Vec<(String, [u8; 3], SegmentRecipe)>),
}

/// Work for the cardiac twin.
#[derive(Message, Debug, Clone)]
pub enum CardioAsk {
    /// What the cardiac panes asked.
    Pane(CardioAction),
    /// What the over-time panes asked.
    Timeline(Box<twin_ui::timeline::TimelineAction>),
    /// The over-time workspace was shown: run its timeline if it has not run.
    ShowOverTime,
    /// Its workspace was shown: calibrate a first baseline if there is none.
    Show,
    /// Another twin took the open one's place: forget the variants' runs,
    /// and take its calibrated heart when it has one.
    Replaced(Option<Box<CardioModel>>),
    /// What the contour review asked.
    Contours(twin_ui::contours::ContourAction),
}

/// Work for the gait trial.
#[derive(Message, Debug, Clone)]
pub enum GaitAsk {
    /// What the gait panes asked.
    Pane(GaitAction),
    /// Its workspace was shown.
    Show,
    /// Compute this model and trial (with external loads); the twin takes it.
    Compute {
        model: PathBuf,
        trial: PathBuf,
        loads: Option<PathBuf>,
    },
    /// The gait parts of a report are wanted (answered with
    /// [`TwinAsk::GaitReport`]).
    Report,
}

/// Work for the twin file feature.
#[derive(Message, Debug, Clone)]
pub enum TwinAsk {
    /// A File/Edit action of the menu or the shortcuts.
    Menu(twin_ui::UiAction),
    /// Open this twin file (one dropped on the window).
    Open(PathBuf),
    /// The gait parts of the report asked for: its text and runs.
    GaitReport {
        text: Option<String>,
        runs: Option<Box<twin_scenario::runs::GaitRuns>>,
    },
}

/// Work for the 3D view.
#[derive(Message, Debug, Clone, Copy)]
pub enum ViewAsk {
    /// Turn the orbit camera to `target` (world mm) from `distance`.
    Aim {
        target: Vec3,
        distance: f32,
        yaw: f32,
        pitch: f32,
    },
}

/// What the features share: the session and its messages (added by
/// `FeaturePlugins`, so the headless app has them too).
pub struct SessionPlugin;

impl Plugin for SessionPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Session>()
            .add_message::<StudyAsk>()
            .add_message::<CardioAsk>()
            .add_message::<GaitAsk>()
            .add_message::<TwinAsk>()
            .add_message::<ViewAsk>();
    }
}

/// Which feature a workspace wakes when shown: the Cardiac and Compare
/// workspaces start the heart, the Gait one the gait trial.
pub fn show_task(
    task: Task,
    cardio: &mut MessageWriter<CardioAsk>,
    gait: &mut MessageWriter<GaitAsk>,
) {
    match task {
        Task::Cardiac | Task::Compare => {
            cardio.write(CardioAsk::Show);
        }
        Task::OverTime => {
            cardio.write(CardioAsk::ShowOverTime);
        }
        Task::Gait => {
            gait.write(GaitAsk::Show);
        }
        Task::Imaging | Task::Contours | Task::Report | Task::Electrophysiology => {}
    }
}

/// LPS millimetres → Bevy world: `world = (L, S, A) = (x, z, −y)`, a
/// proper rotation, so triangle winding and outward normals are preserved.
#[must_use]
pub fn lps_to_world(p: [f32; 3]) -> Vec3 {
    Vec3::new(p[0], p[2], -p[1])
}

/// A mesh for the scene, its points and normals mapped by `to_world` (a
/// rotation, possibly scaled: normals are renormalised by the renderer).
pub fn bevy_mesh(mesh: &TriMesh, to_world: impl Fn([f32; 3]) -> Vec3) -> Mesh {
    let positions: Vec<[f32; 3]> = mesh
        .positions
        .iter()
        .map(|p| to_world(*p).to_array())
        .collect();
    let normals: Vec<[f32; 3]> = mesh
        .vertex_normals()
        .into_iter()
        .map(|n| to_world(n).normalize_or_zero().to_array())
        .collect();
    let indices: Vec<u32> = mesh.triangles.iter().flatten().copied().collect();
    Mesh::new(
        PrimitiveTopology::TriangleList,
        RenderAssetUsages::default(),
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
    .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, normals)
    .with_inserted_indices(Indices::U32(indices))
}
