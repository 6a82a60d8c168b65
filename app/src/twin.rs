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
use twin_session::ScenarioAction;
use twin_session::jobs::{Job, Priority, jobs};
use twin_session::session::UNTITLED;
use twin_ui::twin::ScenarioList;

use crate::Args;
use crate::session::{
    CardioAsk, GaitAsk, Pending, SegmentsSnapshot, Session, Study, StudyAsk, TwinAsk, TwinSegments,
};

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
                    (asks, poll, sync_segments).chain(),
                    autosave,
                    receive_dialog,
                    scripted.after(sync_segments),
                    publish.after(scripted),
                )
                    .in_set(crate::Feature::Twin),
            );
    }
}

/// The recovery prompt and Help.
pub struct TwinViewPlugin;

impl Plugin for TwinViewPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(EguiPrimaryContextPass, draw);
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

/// The twin file's own work: recent lists, autosave, file jobs and
/// dialogs, scripted saves and reports (the twin itself is the session's).
#[derive(Resource)]
pub struct Twin {
    /// Recent twin files and study folders, newest first.
    recent: Vec<PathBuf>,
    recent_studies: Vec<PathBuf>,
    /// Whether the recent lists are kept in Twinscope's folder (not by the
    /// headless app of tests and benchmarks).
    keep_recent: bool,
    /// An autosaved document offered back at start (after a crash).
    offer: Option<(Recovery, TwinDocument)>,
    last_autosave: Instant,
    autosave_every: Duration,
    file_job: Option<Job<FileMsg>>,
    autosave_job: Option<Job<FileMsg>>,
    dialog_tx: Sender<Option<Dialog>>,
    dialog_rx: Mutex<Receiver<Option<Dialog>>>,
    dialog_open: bool,
    /// A report waiting for its 3D screenshot, then for the gait's part.
    report_to: Option<PathBuf>,
    shot: std::sync::Arc<Mutex<Option<Vec<u8>>>>,
    report_png: Option<Vec<u8>>,
    /// A save or report asked for on the command line has been written.
    scripted_done: bool,
    /// `--save-as` and `--report`, still to do.
    script_save: Option<PathBuf>,
    script_report: Option<PathBuf>,
}

impl Twin {
    /// A twin whose file dialogs answer nowhere and whose recent lists are
    /// not kept (the headless app).
    fn detached() -> Self {
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
            recent: read_recent(RECENT_TWINS),
            recent_studies: read_recent(RECENT_STUDIES),
            keep_recent: true,
            offer: None,
            last_autosave: Instant::now(),
            autosave_every: Duration::from_secs(30),
            file_job: None,
            autosave_job: None,
            dialog_tx: tx,
            dialog_rx: Mutex::new(rx),
            dialog_open: false,
            report_to: None,
            shot: std::sync::Arc::default(),
            report_png: None,
            scripted_done: false,
            script_save: None,
            script_report: None,
        }
    }

    /// Starts an empty twin (the study stays open).
    fn new_twin(s: &mut Session, cardio: &mut MessageWriter<CardioAsk>) {
        replace(s, TwinDocument::new(UNTITLED), None);
        cardio.write(CardioAsk::Replaced(None));
        s.status = "new twin".into();
    }

    /// Reads a twin file in the background.
    fn open(&mut self, s: &mut Session, path: PathBuf) {
        s.status = "opening twin…".into();
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
    fn save_to(&mut self, s: &mut Session, path: PathBuf) {
        let doc = s.twin.for_saving();
        s.status = "saving…".into();
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
    fn save(&mut self, s: &mut Session) {
        match s.twin.path.clone() {
            Some(p) => self.save_to(s, p),
            None => self.save_dialog(s),
        }
    }

    fn save_dialog(&mut self, s: &Session) {
        let name = s.twin.file_name(".twin.json");
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

    fn report_dialog(&mut self, s: &Session) {
        let name = s.twin.file_name("-report.html");
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
    fn export_report(&mut self, path: PathBuf, commands: &mut Commands) {
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
        s: &mut Session,
        path: PathBuf,
        png: Vec<u8>,
        gait: Option<String>,
        gait_runs: Option<twin_scenario::runs::GaitRuns>,
    ) {
        let doc = s.twin.doc.clone();
        let privacy = s.twin.privacy;
        let timeline = s.cardio.timeline.run.clone();
        let follow = s.cardio.timeline.follow.clone();
        s.status = "writing the report…".into();
        self.file_job = Some(Job::once(
            "report",
            "Exporting report",
            Priority::Interactive,
            move |progress| {
                let extras = ReportExtras {
                    screenshot_png: (!png.is_empty()).then_some(&png[..]),
                    gait: gait.as_deref(),
                    gait_runs: gait_runs.as_ref(),
                    timeline: timeline.as_ref(),
                    follow: follow.as_ref(),
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
    fn remember_study(&mut self, path: &Path) {
        if self.recent_studies.first().map(PathBuf::as_path) != Some(path) {
            remember_in(&mut self.recent_studies, path);
            if self.keep_recent {
                write_recent(RECENT_STUDIES, &self.recent_studies);
            }
        }
    }
}

/// The autosave file of the twin kept at `path` (or of an unsaved one).
fn recovery(path: Option<&Path>) -> Recovery {
    Recovery::for_document(&state_dir().join("recovery"), path, UNSAVED)
}

/// Makes `doc` (from `path`) the open twin: privacy mode stays, the undo
/// history starts afresh.
fn replace(s: &mut Session, doc: TwinDocument, path: Option<PathBuf>) {
    s.twin.replace(doc, path);
    s.list = ScenarioList::default();
    s.autosave_pending = false;
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
    fn quiet(&self) -> bool {
        self.file_job.is_none() && self.report_to.is_none() && !self.dialog_open
    }

    /// The command line's `--save-as` and `--report` are written.
    fn script_done(&self) -> bool {
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
fn start(mut twin: ResMut<Twin>, mut s: ResMut<Session>, args: Res<Args>) {
    let s = &mut *s;
    s.twin.privacy = args.privacy;
    twin.script_save.clone_from(&args.save_as);
    twin.script_report.clone_from(&args.report);
    if let Some(path) = &args.twin {
        twin.open(s, path.clone());
    } else {
        let recovery = recovery(s.twin.path.as_deref());
        match recovery.pending(None) {
            Ok(Some(doc)) => twin.offer = Some((recovery, doc)),
            Ok(None) => {}
            Err(e) => jobs().notify(&format!("autosave: {e}")),
        }
    }
    for spec in &args.variant {
        match twin_session::scenarios::variant_spec(spec) {
            Ok(v) => {
                s.twin.add_variant(v, SegmentsSnapshot::default());
                s.autosave_pending = true;
            }
            Err(e) => jobs().notify(&format!("--variant {spec}: {e}")),
        }
    }
    if !args.variant.is_empty() {
        s.twin.selected = s.twin.doc.variants.len().checked_sub(1);
    }
}

/// What the others see of the twin's file work, and the recent lists for
/// the menu (file names, none in privacy mode: they are often the
/// patient's).
fn publish(twin: Res<Twin>, mut s: ResMut<Session>) {
    let s = &mut *s;
    s.twin_quiet = twin.quiet();
    s.script_done = twin.script_done();
    let privacy = s.twin.privacy;
    let b = &mut s.study.browser;
    let recent = recent_labels(&twin.recent, privacy, "recent twin");
    if b.recent_twins != recent {
        b.recent_twins = recent;
    }
    let recent = recent_labels(&twin.recent_studies, privacy, "recent study");
    if b.recent_studies != recent {
        b.recent_studies = recent;
    }
}

/// `--save-as`, then `--report`, once the study, the segments, the heart
/// and the variants have settled.
fn scripted(
    mut twin: ResMut<Twin>,
    mut s: ResMut<Session>,
    pending: Pending,
    time: Res<Time>,
    mut commands: Commands,
) {
    if twin.script_save.is_none() && twin.script_report.is_none() {
        return;
    }
    s.twin_quiet = twin.quiet();
    if !s.settled(pending.any()) {
        return;
    }
    if let Some(p) = twin.script_save.take() {
        twin.save_to(&mut s, p);
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
fn poll(
    mut twin: ResMut<Twin>,
    mut s: ResMut<Session>,
    mut study: MessageWriter<StudyAsk>,
    mut cardio: MessageWriter<CardioAsk>,
    mut gait: MessageWriter<GaitAsk>,
) {
    let s = &mut *s;
    // The report's screenshot has arrived: ask for the gait's part.
    let shot = twin.shot.lock().ok().and_then(|mut s| s.take());
    if let Some(png) = shot {
        twin.report_png = Some(png);
        gait.write(GaitAsk::Report);
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
                let privacy = s.twin.privacy;
                replace(s, *doc, Some(path.clone()));
                twin.remember(&path);
                s.status = if notes.is_empty() {
                    format!("opened {}", shown_file(&path, privacy))
                } else {
                    notes.join("; ")
                };
                let recovery = recovery(Some(&path));
                if let Ok(Some(newer)) = recovery.pending(Some(&path)) {
                    twin.offer = Some((recovery, newer));
                }
                let doc = s.twin.doc.clone();
                apply_opened(&doc, s, &mut study, &mut cardio);
            }
            FileMsg::Saved(path) => {
                s.twin.path = Some(path.clone());
                s.twin.dirty = false;
                s.autosave_pending = false;
                recovery(Some(&path)).clear();
                // An unsaved twin's autosave is done with too.
                recovery(None).clear();
                twin.remember(&path);
                s.status = format!("saved {}", shown_file(&path, s.twin.privacy));
                twin.scripted_done = true;
            }
            FileMsg::Autosaved => {}
            FileMsg::Report(path) => {
                s.status = format!("wrote {}", shown_file(&path, s.twin.privacy));
                twin.scripted_done = true;
            }
            FileMsg::Failed(e) => s.status = e,
        }
    }
}

/// Carries out the File/Edit actions of the menu and the shortcuts, and
/// what the other features answered.
fn asks(
    mut asks: MessageReader<TwinAsk>,
    mut twin: ResMut<Twin>,
    mut s: ResMut<Session>,
    mut cardio: MessageWriter<CardioAsk>,
) {
    use twin_ui::UiAction as A;
    let s = &mut *s;
    for ask in asks.read() {
        match ask.clone() {
            TwinAsk::Open(p) => twin.open(s, p),
            TwinAsk::GaitReport { text, runs } => {
                if let (Some(path), Some(png)) = (twin.report_to.clone(), twin.report_png.take()) {
                    twin.report_to = None;
                    twin.write_report(s, path, png, text, runs.map(|r| *r));
                }
            }
            TwinAsk::Menu(a) => match a {
                A::NewTwin => Twin::new_twin(s, &mut cardio),
                A::OpenTwinDialog => twin.open_dialog(),
                A::OpenTwin(p) => twin.open(s, p),
                A::SaveTwin => twin.save(s),
                A::SaveTwinAs => twin.save_dialog(s),
                A::ExportReport => twin.report_dialog(s),
                A::Undo => s.step(true),
                A::Redo => s.step(false),
                A::DuplicateVariant => {
                    if let Some(i) = s.twin.selected {
                        s.act(&ScenarioAction::Duplicate(i));
                    }
                }
                A::DeleteVariant => {
                    if let Some(i) = s.twin.selected {
                        s.act(&ScenarioAction::Delete(i));
                    }
                }
                A::ToggleJobs => s.show_jobs = !s.show_jobs,
                A::ToggleHelp => s.show_help = !s.show_help,
                _ => {}
            },
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
fn apply_opened(
    doc: &TwinDocument,
    s: &mut Session,
    study: &mut MessageWriter<StudyAsk>,
    cardio: &mut MessageWriter<CardioAsk>,
) {
    cardio.write(CardioAsk::Replaced(doc.cardio.clone().map(Box::new)));
    let ws = &mut s.study;
    // The segments on show were the last twin's; this one's are rebuilt.
    ws.clear_segment_list();
    ws.twin_segments = if doc.segments.is_empty() {
        TwinSegments::Own
    } else {
        TwinSegments::Waiting
    };
    ws.segments_tried = None;
    if let Some(st) = &doc.study {
        let same = ws.source.as_deref() == Some(st.path.as_path());
        if !same && st.path.exists() {
            // Not settled until the study has loaded it.
            ws.settled = false;
            study.write(StudyAsk::Open(Some(st.path.clone())));
        } else if !st.path.exists() {
            jobs().notify(&format!(
                "the twin's study is not at {} any more; open it with File ▸ Open folder…",
                st.path.display()
            ));
        }
    }
}

/// A reopened twin's segments are made again from their recipes once their
/// series is loaded (tried once per series). Segments saved
/// without a recipe (files from before recipes) stay listed in the twin,
/// not rebuilt.
fn rebuild_segments(segments: &[Segment], ws: &mut Study, study: &mut MessageWriter<StudyAsk>) {
    if segments.is_empty() {
        // A new twin took the opened one's place: nothing to wait for.
        ws.twin_segments = TwinSegments::Own;
        return;
    }
    if !ws.settled || ws.loading || ws.volume.is_none() {
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
                ws.settled = false;
                study.write(StudyAsk::SelectStack(id));
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
    ws.twin_segments = TwinSegments::Rebuilding;
    study.write(StudyAsk::Rebuild(recipes));
}

/// Autosaves a changed twin every `autosave_every` to the recovery file.
fn autosave(mut twin: ResMut<Twin>, mut s: ResMut<Session>) {
    if !s.autosave_pending
        || twin.autosave_job.is_some()
        || twin.last_autosave.elapsed() < twin.autosave_every
    {
        return;
    }
    twin.last_autosave = Instant::now();
    s.autosave_pending = false;
    let doc = s.twin.doc.clone();
    let recovery = recovery(s.twin.path.as_deref());
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

fn receive_dialog(mut twin: ResMut<Twin>, mut s: ResMut<Session>, mut commands: Commands) {
    let answer = twin.dialog_rx.lock().ok().and_then(|rx| rx.try_recv().ok());
    let Some(answer) = answer else { return };
    twin.dialog_open = false;
    match answer {
        Some(Dialog::Open(p)) => twin.open(&mut s, p),
        Some(Dialog::SaveAs(p)) => twin.save_to(&mut s, p),
        Some(Dialog::Report(p)) => twin.export_report(p, &mut commands),
        None => {}
    }
}

/// Segment edits go into the twin (with undo); the twin's study is the
/// open one.
fn sync_segments(
    mut twin: ResMut<Twin>,
    mut s: ResMut<Session>,
    mut study: MessageWriter<StudyAsk>,
) {
    let s = &mut *s;
    let ws = &mut s.study;
    let edits = std::mem::take(&mut ws.segment_edits);
    if !edits.is_empty() {
        // The user's list from now on.
        ws.twin_segments = TwinSegments::Own;
    }
    for (label, before) in edits {
        s.twin.record(&label, before);
        s.autosave_pending = true;
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
            if segments != s.twin.doc.segments {
                s.twin.doc.segments = segments;
            }
        }
        TwinSegments::Waiting => rebuild_segments(&s.twin.doc.segments, ws, &mut study),
        TwinSegments::Rebuilding if !ws.loading => {
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
        && s.twin.doc.study.as_ref() != Some(&study)
        && ws.settled
    {
        s.twin.doc.study = Some(study);
        // An untitled twin takes the patient's name (shown as a pseudonym
        // in privacy mode, in titles, reports and file names alike).
        if s.twin.doc.name == UNTITLED
            && let Some(p) = ws.patient().filter(|p| !p.name.trim().is_empty())
        {
            p.name
                .replace('^', " ")
                .trim()
                .clone_into(&mut s.twin.doc.name);
        }
        s.changed();
    }
}

fn draw(
    mut contexts: EguiContexts,
    mut twin: ResMut<Twin>,
    mut s: ResMut<Session>,
    mut study: MessageWriter<StudyAsk>,
    mut cardio: MessageWriter<CardioAsk>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let s = &mut *s;
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
                    twin_session::session::shown_name(&doc.name, s.twin.privacy),
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
                    doc: s.twin.doc.clone(),
                    extra: s.study.segments_snapshot(),
                };
                let path = s.twin.path.clone();
                apply_opened(&doc, s, &mut study, &mut cardio);
                replace(s, doc, path);
                s.twin.history.record("recover the autosave", before);
                s.changed();
                s.status = "recovered the autosave; save to keep it".into();
            }
            Some(false) => recovery.clear(),
            None => twin.offer = Some((recovery, doc)),
        }
    }
    if s.show_help {
        let mut open = true;
        egui::Window::new("Help")
            .open(&mut open)
            .default_pos([400.0, 120.0])
            .show(ctx, twin_ui::twin::help_panel);
        s.show_help = open;
    }
    Ok(())
}
