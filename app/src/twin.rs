//! The patient twin in the app: the open twin file (new, open, save, save
//! as, recent), autosave every 30 s to Twinscope's own folder and the offer
//! to recover after a crash, undo/redo of scenario and segment edits, the
//! scenario list and Help windows, drag-and-drop of twin files, and
//! File ▸ Export report (HTML with a 3D view screenshot, and CSV).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use twin_scenario::document::Segment;
use twin_scenario::report::{ReportExtras, ReportOptions};
use twin_scenario::store::Recovery;
use twin_scenario::{TwinDocument, store};
use twin_session::session::UNTITLED;
use twin_session::{ScenarioAction, Session};
use twin_ui::twin::ScenarioList;

use crate::Args;
use crate::job::{Job, Priority, jobs};
use crate::study::{SegmentsSnapshot, TwinSegments, Workspace};

/// The twin file, its autosave, undo and scripted saves and reports.
pub struct TwinPlugin {
    /// Recent lists not kept, file dialogs answering nowhere (tests).
    pub detached: bool,
}

impl Plugin for TwinPlugin {
    fn build(&self, app: &mut App) {
        let twin = if self.detached {
            Twin::detached()
        } else {
            let (tx, rx) = channel();
            Twin::new(tx, rx)
        };
        app.insert_resource(twin)
            .add_systems(Startup, start)
            .add_systems(
                Update,
                (
                    (poll, sync_segments).chain(),
                    autosave,
                    receive_dialog,
                    scripted.after(sync_segments),
                )
                    .in_set(crate::Feature::Twin),
            );
    }
}

/// Dropped files, the recovery prompt and Help.
pub struct TwinViewPlugin;

impl Plugin for TwinViewPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, handle_drops.before(crate::Feature::Twin))
            .add_systems(EguiPrimaryContextPass, draw);
    }
}

/// Time for the render pipelines to compile before a scripted report's
/// screenshot (as `capture`'s warm-up).
const RENDER_WARM_UP: Duration = Duration::from_secs(5);

/// The recovery key of a twin never saved.
const UNSAVED: &str = "unsaved twin";

/// Answers of the file dialogs (they run off the UI thread).
enum Dialog {
    Open(PathBuf),
    SaveAs(PathBuf),
    Report(PathBuf),
}

/// What the twin's file jobs send back.
enum FileMsg {
    Opened {
        path: PathBuf,
        doc: Box<TwinDocument>,
        notes: Vec<String>,
    },
    Saved(PathBuf),
    Autosaved,
    Report(PathBuf),
    Failed(String),
}

/// The open twin and what belongs to it.
#[derive(Resource)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent window and file-job flags of one resource"
)]
pub struct Twin {
    /// The open twin with its undo history (which keeps the segment list
    /// beside the document).
    pub session: Session<SegmentsSnapshot>,
    /// The scenario list's renaming state.
    pub list: ScenarioList,
    /// Recent twin files and study folders, newest first.
    pub recent: Vec<PathBuf>,
    pub recent_studies: Vec<PathBuf>,
    /// Whether the recent lists are kept in Twinscope's folder (not by the
    /// headless app of tests and benchmarks).
    keep_recent: bool,
    pub show_help: bool,
    /// An autosaved document offered back at start (after a crash).
    offer: Option<(Recovery, TwinDocument)>,
    last_autosave: Instant,
    pub autosave_every: Duration,
    /// Changes since the last autosave.
    autosave_pending: bool,
    file_job: Option<Job<FileMsg>>,
    autosave_job: Option<Job<FileMsg>>,
    dialog_tx: Sender<Option<Dialog>>,
    dialog_rx: Mutex<Receiver<Option<Dialog>>>,
    dialog_open: bool,
    /// A report waiting for its 3D screenshot.
    report_to: Option<PathBuf>,
    shot: std::sync::Arc<Mutex<Option<Vec<u8>>>>,
    /// The last file outcome, for the status bar.
    pub status: String,
    /// A save or report asked for on the command line has been written.
    pub scripted_done: bool,
    /// `--save-as` and `--report`, still to do.
    script_save: Option<PathBuf>,
    script_report: Option<PathBuf>,
}

impl Twin {
    /// A twin whose file dialogs answer nowhere and whose recent lists are
    /// not kept (the headless app).
    pub fn detached() -> Self {
        let (tx, rx) = channel();
        Self {
            recent: Vec::new(),
            recent_studies: Vec::new(),
            keep_recent: false,
            ..Self::new(tx, rx)
        }
    }

    fn new(tx: Sender<Option<Dialog>>, rx: Receiver<Option<Dialog>>) -> Self {
        Self {
            session: Session::default(),
            list: ScenarioList::default(),
            recent: read_recent(RECENT_TWINS),
            recent_studies: read_recent(RECENT_STUDIES),
            keep_recent: true,
            show_help: false,
            offer: None,
            last_autosave: Instant::now(),
            autosave_every: Duration::from_secs(30),
            autosave_pending: false,
            file_job: None,
            autosave_job: None,
            dialog_tx: tx,
            dialog_rx: Mutex::new(rx),
            dialog_open: false,
            report_to: None,
            shot: std::sync::Arc::default(),
            status: String::new(),
            scripted_done: false,
            script_save: None,
            script_report: None,
        }
    }

    /// The autosave file of the open twin.
    pub fn recovery(&self) -> Recovery {
        Recovery::for_document(
            &state_dir().join("recovery"),
            self.session.path.as_deref(),
            UNSAVED,
        )
    }

    /// Records the state before an edit called `label` (for undo) and marks
    /// the twin changed.
    pub fn record(&mut self, label: &str, ws: &Workspace) {
        self.session.record(label, ws.segments_snapshot());
        self.autosave_pending = true;
    }

    fn changed(&mut self) {
        self.session.changed();
        self.autosave_pending = true;
    }

    /// Carries out a scenario-list action (with undo).
    pub fn act(&mut self, action: &ScenarioAction, ws: &mut Workspace) {
        match action {
            ScenarioAction::Undo => self.undo(ws),
            ScenarioAction::Redo => self.redo(ws),
            a => {
                let mut segments = ws.segments_snapshot();
                if self.session.act(a, &mut segments).is_some() {
                    self.autosave_pending = true;
                }
            }
        }
    }

    pub fn undo(&mut self, ws: &mut Workspace) {
        self.step(ws, true);
    }

    pub fn redo(&mut self, ws: &mut Workspace) {
        self.step(ws, false);
    }

    fn step(&mut self, ws: &mut Workspace, undo: bool) {
        let mut segments = ws.segments_snapshot();
        let label = if undo {
            self.session.undo(&mut segments)
        } else {
            self.session.redo(&mut segments)
        };
        if let Some(label) = label {
            ws.segments.rows = segments.rows;
            ws.segment_data = segments.data;
            self.autosave_pending = true;
            let done = if undo { "undid" } else { "redid" };
            self.status = format!("{done} {label}");
        }
    }

    /// Makes `doc` (from `path`) the open twin: privacy mode stays, the
    /// undo history starts afresh.
    fn replace(&mut self, doc: TwinDocument, path: Option<PathBuf>) {
        self.session.replace(doc, path);
        self.list = ScenarioList::default();
        self.autosave_pending = false;
    }

    /// Starts an empty twin (the study stays open).
    pub fn new_twin(&mut self, cardio: &mut crate::cardio::Cardio) {
        self.replace(TwinDocument::new(UNTITLED), None);
        cardio.reset_variants();
        self.status = "new twin".into();
    }

    /// Reads a twin file in the background.
    pub fn open(&mut self, path: PathBuf) {
        self.status = "opening twin…".into();
        self.file_job = Some(Job::once(
            "twin file",
            "Opening twin",
            Priority::Interactive,
            move |_| match TwinDocument::read(&path) {
                Ok((doc, notes)) => FileMsg::Opened {
                    path,
                    doc: Box::new(doc),
                    notes,
                },
                Err(e) => FileMsg::Failed(e.to_string()),
            },
        ));
    }

    /// Saves to `path` (atomically), in the background.
    pub fn save_to(&mut self, path: PathBuf) {
        let doc = self.session.for_saving();
        self.status = "saving…".into();
        self.file_job = Some(Job::once(
            "twin file",
            "Saving twin",
            Priority::Interactive,
            move |_| match store::save(&doc, &path) {
                Ok(()) => FileMsg::Saved(path),
                Err(e) => FileMsg::Failed(e.to_string()),
            },
        ));
    }

    /// Save (Ctrl+S): to its file, or asks where.
    pub fn save(&mut self) {
        match self.session.path.clone() {
            Some(p) => self.save_to(p),
            None => self.save_dialog(),
        }
    }

    fn save_dialog(&mut self) {
        let name = self.session.file_name(".twin.json");
        self.dialog(move || {
            rfd::FileDialog::new()
                .set_title("Save twin")
                .set_file_name(&name)
                .add_filter("Twinscope twin", &["json"])
                .save_file()
                .map(Dialog::SaveAs)
        });
    }

    fn open_dialog(&mut self) {
        self.dialog(|| {
            rfd::FileDialog::new()
                .set_title("Open twin")
                .add_filter("Twinscope twin", &["json"])
                .pick_file()
                .map(Dialog::Open)
        });
    }

    fn report_dialog(&mut self) {
        let name = self.session.file_name("-report.html");
        self.dialog(move || {
            rfd::FileDialog::new()
                .set_title("Export report")
                .set_file_name(&name)
                .add_filter("HTML report", &["html"])
                .save_file()
                .map(Dialog::Report)
        });
    }

    fn dialog(&mut self, ask: impl FnOnce() -> Option<Dialog> + Send + 'static) {
        if self.dialog_open {
            return;
        }
        self.dialog_open = true;
        let tx = self.dialog_tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send(ask());
        });
    }

    /// Exports the report to `path` (HTML, and CSV beside it) once the 3D
    /// view has been captured.
    pub fn export_report(&mut self, path: PathBuf, commands: &mut Commands) {
        self.report_to = Some(path);
        let shot = self.shot.clone();
        commands.spawn(Screenshot::primary_window()).observe(
            move |captured: On<ScreenshotCaptured>| {
                let png = captured
                    .image
                    .clone()
                    .try_into_dynamic()
                    .ok()
                    .and_then(|img| {
                        let mut bytes = std::io::Cursor::new(Vec::new());
                        img.to_rgb8()
                            .write_to(&mut bytes, image::ImageFormat::Png)
                            .ok()
                            .map(|()| bytes.into_inner())
                    });
                if let Ok(mut s) = shot.lock() {
                    *s = Some(png.unwrap_or_default());
                }
            },
        );
    }

    fn write_report(
        &mut self,
        path: PathBuf,
        png: Vec<u8>,
        gait: Option<String>,
        gait_runs: Option<twin_scenario::runs::GaitRuns>,
    ) {
        let doc = self.session.doc.clone();
        let privacy = self.session.privacy;
        self.status = "writing the report…".into();
        self.file_job = Some(Job::once(
            "report",
            "Exporting report",
            Priority::Interactive,
            move |progress| {
                let extras = ReportExtras {
                    screenshot_png: (!png.is_empty()).then_some(&png[..]),
                    gait: gait.as_deref(),
                    gait_runs: gait_runs.as_ref(),
                };
                match report(&doc, &path, privacy, &extras, progress) {
                    Ok(()) => FileMsg::Report(path),
                    Err(e) => FileMsg::Failed(e),
                }
            },
        ));
    }

    fn remember(&mut self, path: &Path) {
        remember_in(&mut self.recent, path);
        if self.keep_recent {
            write_recent(RECENT_TWINS, &self.recent);
        }
    }

    /// Keeps a study folder in the recent list.
    pub fn remember_study(&mut self, path: &Path) {
        if self.recent_studies.first().map(PathBuf::as_path) != Some(path) {
            remember_in(&mut self.recent_studies, path);
            if self.keep_recent {
                write_recent(RECENT_STUDIES, &self.recent_studies);
            }
        }
    }

    /// The recent twins as the menu shows them: file names, none in privacy
    /// mode (they are often the patient's).
    pub fn recent_labels(&self) -> Vec<(PathBuf, String)> {
        recent_labels(&self.recent, self.session.privacy, "recent twin")
    }

    /// The recent study folders as the menu shows them.
    pub fn recent_study_labels(&self) -> Vec<(PathBuf, String)> {
        recent_labels(&self.recent_studies, self.session.privacy, "recent study")
    }
}

fn remember_in(list: &mut Vec<PathBuf>, path: &Path) {
    list.retain(|p| p != path);
    list.insert(0, path.to_owned());
    list.truncate(10);
}

fn recent_labels(list: &[PathBuf], privacy: bool, what: &str) -> Vec<(PathBuf, String)> {
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            let label = if privacy {
                format!("{what} {}", i + 1)
            } else {
                p.file_name()
                    .map_or_else(|| p.display().to_string(), |f| f.to_string_lossy().into())
            };
            (p.clone(), label)
        })
        .collect()
}

impl Twin {
    /// No file work in flight (for `--screenshot` and scripted sessions).
    pub fn quiet(&self) -> bool {
        self.file_job.is_none() && self.report_to.is_none() && !self.dialog_open
    }

    /// The command line's `--save-as` and `--report` are written.
    pub fn script_done(&self) -> bool {
        self.script_save.is_none() && self.script_report.is_none() && self.quiet()
    }
}

/// Writes the report and the CSV of its waveforms beside it.
fn report(
    doc: &TwinDocument,
    path: &Path,
    privacy: bool,
    extras: &ReportExtras<'_>,
    progress: &twin_core::Progress,
) -> Result<(), String> {
    use twin_session::report::{ReportRuns, assemble, csv_beside, write};
    // The gait runs the app already has are used, not run again.
    let runs = ReportRuns::with_gait(doc, extras.gait_runs.cloned(), progress)
        .map_err(|e| e.to_string())?;
    let report = assemble(doc, &runs, ReportOptions { privacy }, extras);
    write(&report, path, Some(&csv_beside(path))).map_err(|e| e.to_string())
}

/// Twinscope's own folder for state (recent files, autosaves):
/// `$TWIN_STATE_DIR`, else `$XDG_STATE_HOME/twinscope`, else
/// `~/.local/state/twinscope`.
pub fn state_dir() -> PathBuf {
    twin_core::paths::user_dir("TWIN_STATE_DIR", "XDG_STATE_HOME", ".local/state")
}

const RECENT_TWINS: &str = "recent.json";
const RECENT_STUDIES: &str = "recent-studies.json";

fn read_recent(file: &str) -> Vec<PathBuf> {
    let path = state_dir().join(file);
    twin_core::limits::read_text(&path, 1 << 20, "recent files")
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn write_recent(file: &str, list: &[PathBuf]) {
    let dir = state_dir();
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(text) = serde_json::to_string_pretty(list) {
        let _ = std::fs::write(dir.join(file), text);
    }
}

/// Opens the twin of `--twin`, adds the `--variant`s, and offers an
/// autosave of an unsaved twin left by a crash.
fn start(mut twin: ResMut<Twin>, args: Res<Args>) {
    twin.session.privacy = args.privacy;
    twin.script_save.clone_from(&args.save_as);
    twin.script_report.clone_from(&args.report);
    if let Some(path) = &args.twin {
        twin.open(path.clone());
    } else {
        let recovery = twin.recovery();
        match recovery.pending(None) {
            Ok(Some(doc)) => twin.offer = Some((recovery, doc)),
            Ok(None) => {}
            Err(e) => jobs().notify(&format!("autosave: {e}")),
        }
    }
    for spec in &args.variant {
        match twin_session::scenarios::variant_spec(spec) {
            Ok(v) => {
                twin.session.add_variant(v, SegmentsSnapshot::default());
                twin.autosave_pending = true;
            }
            Err(e) => jobs().notify(&format!("--variant {spec}: {e}")),
        }
    }
    if !args.variant.is_empty() {
        twin.session.selected = twin.session.doc.variants.len().checked_sub(1);
    }
}

/// The study, its segments, the heart, the variants and the twin's files
/// have nothing left to do (scripted sessions and `--screenshot` wait for it).
pub fn settled(
    ws: &Workspace,
    cardio: &crate::cardio::Cardio,
    gait: &crate::gait::Gait,
    twin: &Twin,
) -> bool {
    ws.settled
        && ws.job.is_none()
        && ws.pending_segment.is_none()
        && ws.segment_edits.is_empty()
        && !ws.segments_to_rebuild()
        && cardio.settled()
        && (!cardio.open || cardio.ui.baseline.is_some())
        && cardio.all_run(&twin.session.doc)
        && gait.quiet(&twin.session.doc)
        && twin.quiet()
}

/// `--save-as`, then `--report`, once the study, the segments, the heart
/// and the variants have settled.
fn scripted(
    mut twin: ResMut<Twin>,
    ws: Res<Workspace>,
    cardio: Res<crate::cardio::Cardio>,
    gait: Res<crate::gait::Gait>,
    time: Res<Time>,
    mut commands: Commands,
) {
    if twin.script_save.is_none() && twin.script_report.is_none() {
        return;
    }
    if !settled(&ws, &cardio, &gait, &twin) {
        return;
    }
    if let Some(p) = twin.script_save.take() {
        twin.save_to(p);
    } else if time.elapsed() > RENDER_WARM_UP {
        // The report's 3D view needs the render pipelines compiled (slow
        // on a software rasteriser; until then frames are black).
        if let Some(p) = twin.script_report.take() {
            twin.export_report(p, &mut commands);
        }
    }
}

/// Reads the file jobs' answers and hands an opened twin to the study and
/// the cardiac twin.
pub fn poll(
    mut twin: ResMut<Twin>,
    mut ws: ResMut<Workspace>,
    mut cardio: ResMut<crate::cardio::Cardio>,
    gait: Res<crate::gait::Gait>,
) {
    // The report's screenshot has arrived: write the report.
    let shot = twin.shot.lock().ok().and_then(|mut s| s.take());
    if let (Some(png), Some(path)) = (shot, twin.report_to.clone()) {
        twin.report_to = None;
        let gait_text = gait.report_text();
        let gait_runs = gait.runs_for_report(&twin.session.doc);
        twin.write_report(path, png, gait_text, gait_runs);
    }
    for autosave in [false, true] {
        let job = if autosave {
            &twin.autosave_job
        } else {
            &twin.file_job
        };
        let Some(msg) = job.as_ref().and_then(|j| j.try_recv().ok()) else {
            continue;
        };
        if let FileMsg::Failed(e) = &msg
            && let Some(j) = job
        {
            j.fail(e);
        }
        if autosave {
            twin.autosave_job = None;
        } else {
            twin.file_job = None;
        }
        match msg {
            FileMsg::Opened { path, doc, notes } => {
                let privacy = twin.session.privacy;
                twin.replace(*doc, Some(path.clone()));
                twin.remember(&path);
                twin.status = if notes.is_empty() {
                    format!("opened {}", shown_file(&path, privacy))
                } else {
                    notes.join("; ")
                };
                let recovery = twin.recovery();
                if let Ok(Some(newer)) = recovery.pending(Some(&path)) {
                    twin.offer = Some((recovery, newer));
                }
                apply_opened(&twin.session.doc, &mut ws, &mut cardio);
            }
            FileMsg::Saved(path) => {
                twin.session.path = Some(path.clone());
                twin.session.dirty = false;
                twin.autosave_pending = false;
                twin.recovery().clear();
                // An unsaved twin's autosave is done with too.
                Recovery::for_document(&state_dir().join("recovery"), None, UNSAVED).clear();
                twin.remember(&path);
                twin.status = format!("saved {}", shown_file(&path, twin.session.privacy));
                twin.scripted_done = true;
            }
            FileMsg::Autosaved => {}
            FileMsg::Report(path) => {
                twin.status = format!("wrote {}", shown_file(&path, twin.session.privacy));
                twin.scripted_done = true;
            }
            FileMsg::Failed(e) => twin.status = e,
        }
    }
}

/// A file as the status bar names it: not at all in privacy mode (file
/// and folder names often carry the patient's name).
fn shown_file(path: &Path, privacy: bool) -> String {
    if privacy {
        "the file (name hidden in privacy mode)".to_owned()
    } else {
        path.display().to_string()
    }
}

/// An opened twin's study and calibrated heart come into the app.
fn apply_opened(doc: &TwinDocument, ws: &mut Workspace, cardio: &mut crate::cardio::Cardio) {
    cardio.reset_variants();
    // The segments on show were the last twin's; this one's are rebuilt.
    ws.clear_segment_list();
    ws.twin_segments = if doc.segments.is_empty() {
        TwinSegments::Own
    } else {
        TwinSegments::Waiting
    };
    ws.segments_tried = None;
    if let Some(model) = &doc.cardio {
        cardio.load_model(model.clone());
    }
    if let Some(study) = &doc.study {
        let same = ws.source.as_deref() == Some(study.path.as_path());
        if !same && study.path.exists() {
            ws.open(Some(study.path.clone()));
        } else if !study.path.exists() {
            jobs().notify(&format!(
                "the twin's study is not at {} any more; open it with File ▸ Open folder…",
                study.path.display()
            ));
        }
    }
}

/// A reopened twin's segments are made again from their recipes once their
/// series is loaded (tried once per series). Segments saved
/// without a recipe (files from before recipes) stay listed in the twin,
/// not rebuilt.
fn rebuild_segments(segments: &[Segment], ws: &mut Workspace) {
    if segments.is_empty() {
        // A new twin took the opened one's place: nothing to wait for.
        ws.twin_segments = TwinSegments::Own;
        return;
    }
    if !ws.settled || ws.job.is_some() || ws.volume.is_none() {
        return;
    }
    let Some(series) = ws.series_uid() else {
        return;
    };
    if ws.segments_tried.as_ref() == Some(&series) {
        return;
    }
    ws.segments_tried = Some(series.clone());
    if segments
        .iter()
        .any(|s| s.series_instance_uid.as_deref() != Some(series.as_str()))
    {
        // Their series is loaded first, when the study has it.
        let wanted = segments[0].series_instance_uid.clone();
        let stack = ws.report.as_ref().and_then(|r| {
            r.studies
                .iter()
                .flat_map(|st| &st.series)
                .find(|se| Some(&se.uid) == wanted.as_ref())
                .and_then(|se| se.stacks.first())
                .map(|k| k.id.clone())
        });
        match stack {
            Some(id) if segments.iter().all(|s| s.series_instance_uid == wanted) => {
                ws.select_stack(&id);
            }
            _ => {
                ws.twin_segments = TwinSegments::Unbuildable;
                jobs().notify(
                    "the twin's segments are of a series this study does not have: they are listed, not rebuilt",
                );
            }
        }
        return;
    }
    let Some(recipes) = segments
        .iter()
        .map(|s| Some((s.name.clone(), s.colour, s.recipe.clone()?)))
        .collect::<Option<Vec<_>>>()
    else {
        ws.twin_segments = TwinSegments::Unbuildable;
        jobs().notify(
            "the twin's segments were saved without their settings: they are listed, not rebuilt",
        );
        return;
    };
    ws.rebuild_segments(recipes);
}

/// Autosaves a changed twin every `autosave_every` to the recovery file.
fn autosave(mut twin: ResMut<Twin>) {
    if !twin.autosave_pending
        || twin.autosave_job.is_some()
        || twin.last_autosave.elapsed() < twin.autosave_every
    {
        return;
    }
    twin.last_autosave = Instant::now();
    twin.autosave_pending = false;
    let doc = twin.session.doc.clone();
    let recovery = twin.recovery();
    twin.autosave_job = Some(Job::once(
        "autosave",
        "Autosaving the twin",
        Priority::Background,
        move |_| match recovery.write(&doc) {
            Ok(()) => FileMsg::Autosaved,
            Err(e) => FileMsg::Failed(format!("autosave: {e}")),
        },
    ));
}

/// Dropped files: a twin file opens as the twin, anything else as a study.
fn handle_drops(
    mut drops: MessageReader<bevy::window::FileDragAndDrop>,
    mut twin: ResMut<Twin>,
    mut ws: ResMut<Workspace>,
) {
    for d in drops.read() {
        if let bevy::window::FileDragAndDrop::DroppedFile { path_buf, .. } = d {
            if is_twin_file(path_buf) {
                twin.open(path_buf.clone());
            } else {
                ws.open(Some(path_buf.clone()));
            }
        }
    }
}

/// A `.json` file (twin files are `NAME.twin.json`; a bare scenario file
/// opens as a one-variant twin).
pub fn is_twin_file(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

fn receive_dialog(mut twin: ResMut<Twin>, mut commands: Commands) {
    let answer = twin.dialog_rx.lock().ok().and_then(|rx| rx.try_recv().ok());
    let Some(answer) = answer else { return };
    twin.dialog_open = false;
    match answer {
        Some(Dialog::Open(p)) => twin.open(p),
        Some(Dialog::SaveAs(p)) => twin.save_to(p),
        Some(Dialog::Report(p)) => twin.export_report(p, &mut commands),
        None => {}
    }
}

/// Segment edits go into the twin (with undo); the twin's study is the
/// open one.
pub(crate) fn sync_segments(mut twin: ResMut<Twin>, mut ws: ResMut<Workspace>) {
    let edits = std::mem::take(&mut ws.segment_edits);
    if !edits.is_empty() {
        // The user's list from now on.
        ws.twin_segments = TwinSegments::Own;
    }
    for (label, before) in edits {
        twin.session.record(&label, before);
        twin.autosave_pending = true;
    }
    match ws.twin_segments {
        TwinSegments::Own => {
            let series = ws.series_uid();
            let segments: Vec<Segment> = ws
                .segments
                .rows
                .iter()
                .zip(&ws.segment_data)
                .map(|(row, data)| Segment {
                    name: row.name.clone(),
                    colour: row.colour,
                    method: row.name.clone(),
                    series_instance_uid: series.clone(),
                    mesh: None,
                    volume_ml: Some((data.volume_ml * 100.0).round() / 100.0),
                    recipe: Some(data.recipe.clone()),
                })
                .collect();
            if segments != twin.session.doc.segments {
                twin.session.doc.segments = segments;
            }
        }
        TwinSegments::Waiting => rebuild_segments(&twin.session.doc.segments, &mut ws),
        TwinSegments::Rebuilding if ws.job.is_none() => {
            // Done (or cancelled): what was rebuilt is the list from now
            // on; when nothing was, the twin's list stands.
            ws.twin_segments = if ws.segment_data.is_empty() {
                TwinSegments::Unbuildable
            } else {
                TwinSegments::Own
            };
        }
        TwinSegments::Rebuilding | TwinSegments::Unbuildable => {}
    }
    if let (Some(src), true, None) = (&ws.source, ws.settled, &ws.browser.error) {
        let src = src.clone();
        twin.remember_study(&src);
    }
    if let Some(study) = ws.study_ref()
        && twin.session.doc.study.as_ref() != Some(&study)
        && ws.settled
    {
        twin.session.doc.study = Some(study);
        // An untitled twin takes the patient's name (shown as a pseudonym
        // in privacy mode, in titles, reports and file names alike).
        if twin.session.doc.name == UNTITLED
            && let Some(p) = ws.patient().filter(|p| !p.name.trim().is_empty())
        {
            p.name
                .replace('^', " ")
                .trim()
                .clone_into(&mut twin.session.doc.name);
        }
        twin.changed();
    }
}

/// The File/Edit actions of the menu and the shortcuts.
pub fn handle(
    action: &twin_ui::UiAction,
    twin: &mut Twin,
    ws: &mut Workspace,
    cardio: &mut crate::cardio::Cardio,
    jobs_window: &mut crate::job::JobsWindow,
) {
    use twin_ui::UiAction as A;
    match action {
        A::NewTwin => twin.new_twin(cardio),
        A::OpenTwinDialog => twin.open_dialog(),
        A::OpenTwin(p) => twin.open(p.clone()),
        A::SaveTwin => twin.save(),
        A::SaveTwinAs => twin.save_dialog(),
        A::ExportReport => twin.report_dialog(),
        A::Undo => twin.undo(ws),
        A::Redo => twin.redo(ws),
        A::DuplicateVariant => {
            if let Some(i) = twin.session.selected {
                twin.act(&ScenarioAction::Duplicate(i), ws);
            }
        }
        A::DeleteVariant => {
            if let Some(i) = twin.session.selected {
                twin.act(&ScenarioAction::Delete(i), ws);
            }
        }
        A::ToggleJobs => jobs_window.open = !jobs_window.open,
        A::ToggleHelp => twin.show_help = !twin.show_help,
        _ => {}
    }
}

fn draw(
    mut contexts: EguiContexts,
    mut twin: ResMut<Twin>,
    mut ws: ResMut<Workspace>,
    mut cardio: ResMut<crate::cardio::Cardio>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    // After a crash: offer the autosave back.
    if let Some((recovery, doc)) = twin.offer.take() {
        let mut answer = None;
        egui::Window::new("Recover unsaved work?")
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, |ui| {
                ui.label(format!(
                    "Twinscope found an autosave of “{}” from {} with {} variant(s), newer than its file.",
                    twin_session::session::shown_name(&doc.name, twin.session.privacy),
                    twin_scenario::report::utc(doc.modified_unix_s),
                    doc.variants.len()
                ));
                ui.horizontal(|ui| {
                    if ui.button("Recover").clicked() {
                        answer = Some(true);
                    }
                    if ui.button("Discard").clicked() {
                        answer = Some(false);
                    }
                });
            });
        match answer {
            Some(true) => {
                let before = twin_session::Snapshot {
                    doc: twin.session.doc.clone(),
                    extra: ws.segments_snapshot(),
                };
                let path = twin.session.path.clone();
                apply_opened(&doc, &mut ws, &mut cardio);
                twin.replace(doc, path);
                twin.session.history.record("recover the autosave", before);
                twin.changed();
                twin.status = "recovered the autosave; save to keep it".into();
            }
            Some(false) => recovery.clear(),
            None => twin.offer = Some((recovery, doc)),
        }
    }
    if twin.show_help {
        let mut open = true;
        egui::Window::new("Help")
            .open(&mut open)
            .default_pos([400.0, 120.0])
            .show(ctx, twin_ui::twin::help_panel);
        twin.show_help = open;
    }
    Ok(())
}
