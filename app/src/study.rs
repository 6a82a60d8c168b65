//! Opening studies and building surfaces, always in a background thread.
//!
//! The UI thread only starts a [`Job`], polls its result channel once a frame and
//! shows its [`Progress`]; scanning, decoding and meshing never run on it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::TryRecvError;

use bevy::prelude::*;
use twin_core::Progress;

use twin_imaging::{ScanReport, Volume, load_cine, load_stack, scan_folder};
use twin_mesh::{TriMesh, marching_cubes};
use twin_scenario::document::{SegmentRecipe, SegmentSource};
use twin_session::jobs::{Job, Priority, jobs};
use twin_ui::{JobView, SegmentAction, SeriesRow, StackRow, StudyRow};

use crate::Args;
use crate::session::{SegmentData, Session, Study, StudyAsk, TwinSegments};

pub struct StudyPlugin;

impl Plugin for StudyPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Loader>()
            .add_systems(Startup, open_initial_study)
            .add_systems(
                Update,
                (asks, poll_job, pending_segment)
                    .chain()
                    .in_set(crate::Feature::Study),
            );
    }
}

/// What a background job sends back.
enum JobResult {
    Scanned(ScanReport),
    Surface {
        stack_id: String,
        volume: Arc<Volume>,
        mesh: TriMesh,
        threshold: f32,
        default_threshold: bool,
        /// The volume's value range and the surface's summary, computed
        /// on the worker (a mesh's statistics take ~100 ms: never in a frame).
        range: (f32, f32),
        summary: String,
    },
    /// Previews of the stacks, by stack id.
    Thumbnails(Vec<(String, twin_imaging::Thumbnail)>),
    /// All phases of a cine series, after its first phase was shown.
    Cine {
        stack_id: String,
        frames: Vec<Arc<Volume>>,
        times_ms: Vec<f64>,
    },
    /// The surface of every cine phase at the surface threshold (playback).
    CineSurfaces(Vec<TriMesh>),
    /// A new segment: its mask (on the loaded volume's grid) and surface.
    Segment {
        name: String,
        mask: Arc<Vec<u8>>,
        mesh: TriMesh,
        volume_ml: f64,
        summary: String,
        recipe: SegmentRecipe,
        /// The colour of a segment rebuilt from the twin (not an edit: no
        /// undo entry); `None` for a new one.
        restored: Option<[u8; 3]>,
    },
    /// A message for the status line (e.g. a file written).
    Notice(String),
    Failed(String),
}

/// The study's own work: its job, the next segment's id, and the segment
/// asked for on the command line (made once the volume is in).
#[derive(Resource, Default)]
struct Loader {
    job: Option<Job<JobResult>>,
    next_segment_id: u64,
    pending_segment: Option<(f32, f32)>,
}

/// The study's work on the session's study.
struct Work<'a> {
    l: &'a mut Loader,
    ws: &'a mut Study,
}

impl Work<'_> {
    fn start(
        &mut self,
        label: &str,
        work: impl FnOnce(&Progress, &dyn Fn(JobResult)) + Send + 'static,
    ) {
        // Loading is background work; a surface or segment the user is
        // waiting on goes first.
        let priority = if label.starts_with("Opening") || label.starts_with("Loading") {
            Priority::Background
        } else {
            Priority::Interactive
        };
        self.l.job = None;
        self.l.job = Some(Job::start("study", label, priority, work));
        self.ws.browser.error = None;
        self.ws.settled = false;
        self.ws.loading = true;
    }

    /// Scans `folder` (or generates and opens the demo patient when `None`), then
    /// loads the most relevant stack and builds its surface.
    fn open(&mut self, folder: Option<PathBuf>) {
        self.open_stack(folder, None);
    }

    /// As [`Self::open`], loading stack `initial` (if present) instead of the
    /// preferred one.
    fn open_stack(&mut self, folder: Option<PathBuf>, initial: Option<String>) {
        self.ws.browser.studies.clear();
        self.ws.browser.selected_stack = None;
        self.ws.browser.surface = None;
        self.ws.browser.notices.clear();
        self.ws.browser.source.clone_from(&folder);
        self.ws.source.clone_from(&folder);
        self.ws.report = None;
        self.ws.volume = None;
        self.ws.mpr = twin_ui::MprState::default();
        self.clear_segments();
        self.start("Opening study", move |progress, send| {
            let folder = if let Some(f) = folder {
                f
            } else {
                progress.begin("Generating the demo patient (first run only)", 0);
                match twin_phantom::ensure_demo_patient() {
                    Ok(d) => d.root,
                    Err(e) => return send(JobResult::Failed(format!("demo patient: {e}"))),
                }
            };
            let report = match scan_folder(&folder, progress) {
                Ok(r) => r,
                Err(e) => return send(JobResult::Failed(e.to_string())),
            };
            let preferred = preferred_stack(&report);
            send(JobResult::Scanned(report.clone()));
            progress.begin("Previews", report.stacks().count() as u64);
            let thumbs = report
                .stacks()
                .filter_map(|(_, _, s)| {
                    progress.advance(1);
                    twin_imaging::thumbnail(s, 96)
                        .ok()
                        .map(|t| (s.id.clone(), t))
                })
                .collect();
            send(JobResult::Thumbnails(thumbs));
            let preferred = initial
                .filter(|id| report.stack(id).is_some())
                .or(preferred);
            if let Some(id) = preferred {
                load_and_mesh(&report, &id, None, progress, send);
            }
        });
    }

    /// Loads `stack_id` and builds its surface at the default threshold.
    fn select_stack(&mut self, stack_id: &str) {
        let Some(report) = self.ws.report.clone() else {
            return;
        };
        self.clear_segments();
        self.ws.browser.selected_stack = Some(stack_id.to_owned());
        let id = stack_id.to_owned();
        self.start("Loading series", move |progress, send| {
            load_and_mesh(&report, &id, None, progress, send);
        });
    }

    /// Rebuilds the surface of the loaded volume at `threshold`, and on a
    /// cine the surface of every phase with it (until they are ready the
    /// 3D view shows the new phase-0 surface alone, never a mix of
    /// thresholds).
    fn remesh(&mut self, threshold: f32) {
        let (Some(volume), Some(id)) = (
            self.ws.volume.clone(),
            self.ws.browser.selected_stack.clone(),
        ) else {
            return;
        };
        let frames = if self.ws.mpr.frames.len() > 1
            && self.ws.mpr.frames.iter().any(|f| Arc::ptr_eq(f, &volume))
        {
            self.ws.mpr.frames.clone()
        } else {
            Vec::new()
        };
        self.ws.cine_surfaces.clear();
        self.start("Building surface", move |progress, send| {
            let first = mesh_result(id, volume, threshold, false, progress);
            let first_mesh = match &first {
                JobResult::Surface { mesh, .. } => Some(mesh.clone()),
                _ => None,
            };
            send(first);
            if let Some(first_mesh) = first_mesh {
                phase_surfaces(&frames, threshold, first_mesh, progress, send);
            }
        });
    }

    fn clear_segments(&mut self) {
        self.ws.clear_segment_list();
        self.ws.cine_surfaces.clear();
        self.ws.mpr.overlay = twin_ui::mpr::Overlay::default();
    }

    /// Builds a segment from the editor's settings: by threshold, or by
    /// region growing from `seed` (patient mm) when given.
    fn add_segment(&mut self, seed: Option<[f64; 3]>) {
        let Some(volume) = self.ws.volume.clone() else {
            return;
        };
        let recipe = recipe(&self.ws.segments.editor, seed);
        let n = self.ws.segments.rows.len() + 1;
        self.start("Building segment", move |progress, send| {
            send(match segment_job(&volume, &recipe, None, n, progress) {
                Ok(r) => r,
                Err(e) => JobResult::Failed(e),
            });
        });
    }

    /// Rebuilds a reopened twin's segments (name, colour, recipe) on the
    /// loaded volume, one after the other in one job; one that fails is
    /// reported by name and the others go on.
    fn rebuild_segments(&mut self, segments: Vec<(String, [u8; 3], SegmentRecipe)>) {
        let Some(volume) = self.ws.volume.clone() else {
            return;
        };
        self.ws.twin_segments = TwinSegments::Rebuilding;
        self.start("Rebuilding the twin's segments", move |progress, send| {
            for (i, (name, colour, recipe)) in segments.into_iter().enumerate() {
                if progress.is_cancelled() {
                    return;
                }
                match segment_job(
                    &volume,
                    &recipe,
                    Some((name.clone(), colour)),
                    i + 1,
                    progress,
                ) {
                    Ok(r) => send(r),
                    Err(e) => jobs().notify(&format!("segment “{name}”: {e}")),
                }
            }
        });
    }

    fn delete_segment(&mut self, i: usize) {
        if i < self.ws.segment_data.len() {
            let label = format!("delete segment “{}”", self.ws.segments.rows[i].name);
            let before = self.ws.segments_snapshot();
            self.ws.segment_edits.push((label, before));
            self.ws.segment_data.remove(i);
            self.ws.segments.rows.remove(i);
        }
    }

    /// Asks where to save segment `i` (off the UI thread) and writes it there
    /// in patient mm (LPS), never inside the opened study.
    fn export_segment(&mut self, i: usize, format: twin_ui::segments::ExportFormat) {
        let (Some(data), Some(row)) = (self.ws.segment_data.get(i), self.ws.segments.rows.get(i))
        else {
            return;
        };
        let mesh = data.mesh.clone();
        let name = format!("{}.{}", row.name.replace(' ', "_"), format.extension());
        let source = self.ws.source.clone();
        self.start("Exporting surface", move |_progress, send| {
            let Some(path) = rfd::FileDialog::new()
                .set_title("Export surface")
                .set_file_name(&name)
                .save_file()
            else {
                return;
            };
            send(match export_mesh(&mesh, &path, source.as_deref()) {
                Ok(()) => JobResult::Notice(format!("wrote {}", path.display())),
                Err(e) => JobResult::Failed(e),
            });
        });
    }

    fn cancel(&mut self) {
        if let Some(job) = &self.l.job {
            job.progress.cancel();
        }
    }
}

/// The stack a user most likely wants first: CT before MR, then the largest.
fn preferred_stack(report: &ScanReport) -> Option<String> {
    report
        .stacks()
        .map(|(_, _, s)| s)
        .filter(|s| {
            !s.localizer
                && !s.multiframe
                && s.first()
                    .is_some_and(twin_imaging::header::InstanceHeader::has_geometry)
        })
        .max_by_key(|s| {
            (
                s.modality == "CT",
                s.positions.len() * usize::from(s.rows) * usize::from(s.columns),
            )
        })
        .map(|s| s.id.clone())
}

/// A threshold that shows something meaningful: bone for CT, bright blood pools for MR.
fn default_threshold(volume: &Volume) -> f32 {
    if volume.unit == "HU" {
        return 200.0;
    }
    let mut sample: Vec<f32> = volume.data.iter().step_by(7).copied().collect();
    sample.sort_by(f32::total_cmp);
    let p995 = sample[(sample.len() as f64 * 0.995) as usize];
    0.85 * p995
}

fn load_and_mesh(
    report: &ScanReport,
    stack_id: &str,
    threshold: Option<f32>,
    progress: &Progress,
    send: &dyn Fn(JobResult),
) {
    let Some(stack) = report.stack(stack_id) else {
        return send(JobResult::Failed(format!(
            "series {stack_id} is no longer available"
        )));
    };
    // A cine is decoded once, all phases together; phase 0 also gives the surface.
    let mut cine = None;
    if stack.phases > 1 {
        match load_cine(stack, progress, twin_core::limits::memory_budget()) {
            Ok(c) => cine = Some(c),
            Err(e) if progress.is_cancelled() => return send(JobResult::Failed(e.to_string())),
            // Too large (or broken) as a whole: show the first phase alone.
            Err(e) => send(JobResult::Failed(format!("cine phases: {e}"))),
        }
    }
    let (frames, times_ms): (Vec<Arc<Volume>>, Vec<f64>) = match cine {
        Some(c) => (c.phases.into_iter().map(Arc::new).collect(), c.times_ms),
        None => match load_stack(stack, 0, progress, twin_core::limits::memory_budget()) {
            Ok(v) => (vec![Arc::new(v)], Vec::new()),
            Err(e) => return send(JobResult::Failed(e.to_string())),
        },
    };
    let volume = frames[0].clone();
    let default = threshold.is_none();
    let t = threshold.unwrap_or_else(|| default_threshold(&volume));
    let first = mesh_result(stack_id.to_owned(), volume, t, default, progress);
    // Phase 0's surface opens the cine's list rather than being built twice.
    let first_mesh = match &first {
        JobResult::Surface { mesh, .. } => Some(mesh.clone()),
        _ => None,
    };
    send(first);
    if frames.len() > 1 {
        send(JobResult::Cine {
            stack_id: stack_id.to_owned(),
            frames: frames.clone(),
            times_ms,
        });
        if let Some(first_mesh) = first_mesh {
            phase_surfaces(&frames, t, first_mesh, progress, send);
        }
    }
}

/// The surface of every cine phase at `threshold` (phase 0's is
/// `first_mesh`, already built), sent as one list for the beating heart in
/// 3D. Nothing is sent for a single frame, or when cancelled.
fn phase_surfaces(
    frames: &[Arc<Volume>],
    threshold: f32,
    first_mesh: TriMesh,
    progress: &Progress,
    send: &dyn Fn(JobResult),
) {
    if frames.len() < 2 {
        return;
    }
    progress.begin("Surfaces of the cine phases", frames.len() as u64 - 1);
    let mut surfaces = Vec::with_capacity(frames.len());
    surfaces.push(first_mesh);
    for f in &frames[1..] {
        match marching_cubes(twin_session::segments::grid(f), threshold, progress) {
            Ok(m) => surfaces.push(m),
            Err(_) => return,
        }
        progress.advance(1);
    }
    send(JobResult::CineSurfaces(surfaces));
}

fn mesh_result(
    stack_id: String,
    volume: Arc<Volume>,
    threshold: f32,
    default_threshold: bool,
    progress: &Progress,
) -> JobResult {
    match marching_cubes(twin_session::segments::grid(&volume), threshold, progress) {
        Ok(mesh) => JobResult::Surface {
            range: volume.range(),
            summary: {
                let stats = mesh.stats();
                format!(
                    "{} triangles, {:.1} mL enclosed{}",
                    stats.triangles,
                    stats.volume_mm3 / 1000.0,
                    if stats.watertight() { ", closed" } else { "" }
                )
            },
            stack_id,
            volume,
            mesh,
            threshold,
            default_threshold,
        },
        Err(e) => JobResult::Failed(e.to_string()),
    }
}

/// Writes a mesh (format from the extension) in LPS mm, refusing to write
/// into the opened study.
pub fn export_mesh(
    mesh: &TriMesh,
    path: &std::path::Path,
    source: Option<&std::path::Path>,
) -> Result<(), String> {
    if let Some(src) = source {
        twin_core::paths::ensure_outside(src, path)?;
    }
    let format = twin_mesh::io::MeshFormat::from_path(path)
        .ok_or_else(|| format!("`{}`: use .stl, .obj or .ply", path.display()))?;
    twin_mesh::io::write_mesh(mesh, path, format, twin_mesh::io::Frame::Lps)
        .map_err(|e| e.to_string())
}

/// The editor's settings for a segment by threshold, or by region growing
/// from `seed` (patient mm) when given.
fn recipe(editor: &twin_ui::segments::Editor, seed: Option<[f64; 3]>) -> SegmentRecipe {
    SegmentRecipe {
        source: match seed {
            None => SegmentSource::Threshold {
                lo: editor.lo,
                hi: editor.hi,
            },
            Some(seed_mm) => SegmentSource::Grow {
                seed_mm,
                tolerance: editor.tolerance,
            },
        },
        largest_only: editor.largest_only,
        min_island_mm3: editor.min_island_mm3,
        antialias: editor.antialias,
        smooth_iterations: editor.smooth_iterations,
        target_triangles: editor.target_triangles,
    }
}

/// Segments the volume as `recipe` says and builds the surface
/// (`twin_session::segments`); `restore` is the name and colour of a
/// segment rebuilt from the twin.
fn segment_job(
    volume: &Volume,
    recipe: &SegmentRecipe,
    restore: Option<(String, [u8; 3])>,
    n: usize,
    progress: &Progress,
) -> Result<JobResult, String> {
    let built =
        twin_session::segments::build(volume, recipe, n, progress).map_err(|e| e.to_string())?;
    let summary = built.summary();
    let restored = restore.as_ref().map(|r| r.1);
    let name = restore.map_or(built.name, |r| r.0);
    Ok(JobResult::Segment {
        recipe: recipe.clone(),
        restored,
        summary,
        name,
        volume_ml: built.volume_ml,
        mask: Arc::new(built.mask.data),
        mesh: built.mesh,
    })
}

fn browser_rows(report: &ScanReport) -> (Vec<StudyRow>, String) {
    let studies = report
        .studies
        .iter()
        .map(|st| StudyRow {
            identity: st.identity.clone(),
            date: st.date.clone(),
            description: st.description.clone(),
            series: st
                .series
                .iter()
                .map(|se| SeriesRow {
                    number: se.number,
                    modality: se.modality.clone(),
                    description: se.description.clone(),
                    stacks: se
                        .stacks
                        .iter()
                        .map(|sk| StackRow {
                            id: sk.id.clone(),
                            summary: stack_summary(sk),
                            phases: sk.phases,
                            warnings: sk.warnings.clone(),
                            thumbnail: None,
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let skipped = if report.not_dicom + report.unreadable.len() + report.no_pixels > 0 {
        format!(
            "{} files: {} not DICOM, {} without images, {} unreadable",
            report.files_seen,
            report.not_dicom,
            report.no_pixels,
            report.unreadable.len()
        )
    } else {
        String::new()
    };
    (studies, skipped)
}

fn stack_summary(s: &twin_imaging::Stack) -> String {
    let (slices, dz) = s.volume_grid();
    let spacing = s.pixel_spacing.map_or(String::new(), |p| {
        format!(", {:.2} × {:.2} × {:.2} mm", p[1], p[0], dz.unwrap_or(0.0))
    });
    format!("{} × {} × {}{}", s.columns, s.rows, slices, spacing)
}

fn open_initial_study(mut s: ResMut<Session>, mut l: ResMut<Loader>, args: Res<Args>) {
    let ws = &mut s.study;
    ws.browser.privacy = args.privacy;
    if let Some(spec) = &args.segment {
        let mut parts = spec.split(':').map(|v| v.trim().parse::<f32>());
        match (parts.next(), parts.next()) {
            (Some(Ok(lo)), None) => l.pending_segment = Some((lo, f32::INFINITY)),
            (Some(Ok(lo)), Some(Ok(hi))) => l.pending_segment = Some((lo, hi)),
            _ => ws.browser.error = Some(format!("--segment `{spec}`: expected LO[:HI]")),
        }
    }
    if let Some(plane) = &args.clip {
        use twin_imaging::mpr::Plane;
        let plane = match plane.to_ascii_lowercase().as_str() {
            "axial" => Some(Plane::Axial),
            "coronal" => Some(Plane::Coronal),
            "sagittal" => Some(Plane::Sagittal),
            _ => None,
        };
        match plane {
            Some(p) => {
                ws.segments.clip.enabled = true;
                ws.segments.clip.plane = p;
            }
            None => ws.browser.error = Some("--clip: axial, coronal or sagittal".to_owned()),
        }
    }
    if args.no_study || (args.twin.is_some() && args.study.is_none()) {
        // The twin opens its own study.
        ws.settled = true;
        return;
    }
    Work { l: &mut l, ws }.open_stack(args.study.clone(), args.series.clone());
}

/// Carries out what the other features and the panes asked.
fn asks(mut asks: MessageReader<StudyAsk>, mut s: ResMut<Session>, mut l: ResMut<Loader>) {
    let mut w = Work {
        l: &mut l,
        ws: &mut s.study,
    };
    for ask in asks.read() {
        match ask.clone() {
            StudyAsk::Open(folder) => w.open(folder),
            StudyAsk::SelectStack(id) => w.select_stack(&id),
            StudyAsk::Remesh(t) => w.remesh(t),
            StudyAsk::Cancel => w.cancel(),
            StudyAsk::AddSegment(seed) => w.add_segment(seed),
            StudyAsk::Rebuild(segments) => w.rebuild_segments(segments),
            StudyAsk::Segment(a) => match a {
                SegmentAction::CreateByThreshold => w.add_segment(None),
                SegmentAction::PickSeed => {
                    w.ws.mpr.pick = true;
                    w.ws.segments.picking = true;
                }
                SegmentAction::Delete(i) => w.delete_segment(i),
                SegmentAction::Export(i, format) => w.export_segment(i, format),
            },
        }
    }
    // Settled whenever no job runs (another feature may have cleared it
    // when it asked for a study that turned out not to need one).
    if w.l.job.is_none() {
        w.ws.settled = true;
    }
}

/// Makes the segment asked for with `--segment` once the volume is loaded.
fn pending_segment(mut s: ResMut<Session>, mut l: ResMut<Loader>) {
    let ws = &mut s.study;
    if l.job.is_none()
        && ws.volume.is_some()
        && let Some((lo, hi)) = l.pending_segment.take()
    {
        let editor = &mut ws.segments.editor;
        editor.lo = lo;
        editor.hi = hi.min(editor.range.1);
        Work { l: &mut l, ws }.add_segment(None);
    }
    // What the others see of the study's own work.
    ws.loading = l.job.is_some() || l.pending_segment.is_some();
}

fn poll_job(mut s: ResMut<Session>, mut l: ResMut<Loader>) {
    let ws = &mut s.study;
    let l = &mut *l;
    let Some(job) = &l.job else { return };
    ws.browser.job = Some(JobView {
        label: job.label.clone(),
        stage: job.progress.stage(),
        fraction: job.progress.fraction(),
    });
    let mut finished = false;
    loop {
        match job.try_recv() {
            Ok(JobResult::Scanned(report)) => {
                let (rows, skipped) = browser_rows(&report);
                ws.browser.studies = rows;
                ws.browser.skipped = skipped;
                ws.browser.selected_stack = preferred_stack(&report);
                ws.report = Some(Arc::new(report));
            }
            Ok(JobResult::Surface {
                stack_id,
                volume,
                mesh,
                threshold,
                default_threshold,
                range,
                summary,
            }) => {
                ws.browser.surface = Some(summary);
                if default_threshold || ws.browser.selected_stack.as_deref() != Some(&stack_id) {
                    let (lo, hi) = range;
                    ws.browser.threshold_range = (lo, hi);
                    ws.browser.threshold_unit.clone_from(&volume.unit);
                    ws.segments
                        .editor
                        .set_volume_range((lo, hi), &volume.unit, threshold);
                }
                ws.browser.threshold = threshold;
                ws.browser.notices.clone_from(&volume.warnings);
                if ws.browser.selected_stack.as_deref() != Some(&stack_id)
                    || ws.mpr.frames.is_empty()
                    || !ws.mpr.frames.iter().any(|f| Arc::ptr_eq(f, &volume))
                {
                    ws.mpr.set_frames(vec![volume.clone()], Vec::new());
                }
                ws.browser.selected_stack = Some(stack_id);
                ws.volume = Some(volume);
                ws.new_surface = Some(mesh);
            }
            Ok(JobResult::Thumbnails(thumbs)) => {
                for (id, t) in thumbs {
                    let t = Arc::new(t);
                    for row in ws
                        .browser
                        .studies
                        .iter_mut()
                        .flat_map(|st| st.series.iter_mut())
                        .flat_map(|se| se.stacks.iter_mut())
                        .filter(|r| r.id == id)
                    {
                        row.thumbnail = Some(t.clone());
                    }
                }
            }
            Ok(JobResult::Cine {
                stack_id,
                frames,
                times_ms,
            }) => {
                // Phase 0 is the volume the surface was built from (same Arc).
                if ws.browser.selected_stack.as_deref() == Some(&stack_id) {
                    ws.mpr.set_phases(frames, times_ms);
                }
            }
            Ok(JobResult::CineSurfaces(surfaces)) => {
                ws.cine_surfaces = surfaces.into_iter().map(Arc::new).collect();
            }
            Ok(JobResult::Segment {
                name,
                mask,
                mesh,
                volume_ml,
                summary,
                recipe,
                restored,
            }) => {
                if restored.is_none() {
                    let before = ws.segments_snapshot();
                    ws.segment_edits
                        .push((format!("add segment “{name}”"), before));
                }
                let n = ws.segments.rows.len();
                ws.segments.rows.push(twin_ui::segments::SegmentRow {
                    name,
                    colour: restored.unwrap_or(
                        twin_ui::segments::PALETTE[n % twin_ui::segments::PALETTE.len()],
                    ),
                    opacity: 1.0,
                    visible: true,
                    summary,
                });
                l.next_segment_id += 1;
                let id = l.next_segment_id;
                ws.segment_data.push(SegmentData {
                    volume_ml,
                    mask,
                    mesh: Arc::new(mesh),
                    id,
                    recipe,
                });
            }
            Ok(JobResult::Notice(msg)) => {
                ws.browser.surface = Some(msg);
            }
            Ok(JobResult::Failed(msg)) => {
                if !job.progress.is_cancelled() {
                    job.fail(&msg);
                    ws.browser.error = Some(msg);
                }
            }
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Disconnected) => {
                finished = true;
                break;
            }
        }
    }
    if finished {
        if job.progress.is_cancelled() && ws.browser.error.is_none() {
            ws.browser.error = Some("cancelled".to_owned());
        }
        l.job = None;
        ws.browser.job = None;
        ws.settled = true;
    }
}
