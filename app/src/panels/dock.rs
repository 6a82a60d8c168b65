//! The docked workstation: the task workspaces of `twin_ui::layout`
//! (Imaging, Cardiac, Gait, Compare, Report), kept in the user's
//! configuration folder (`$TWIN_CONFIG_DIR`, else `$XDG_CONFIG_HOME/twinscope`,
//! else `~/.config/twinscope`) and restored at start. [`Panes`] draws each
//! pane from the session; `panels` shows the dock and sends what the panes
//! asked to the features.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_egui::egui;
use twin_ui::layout::{Layouts, Pane, Task};
use twin_ui::{CardioAction, GaitAction, SegmentAction, UiAction};

use twin_session::jobs::jobs;

use crate::Args;
use crate::session::{CardioAsk, GaitAsk, Session, show_task};

pub struct DockPlugin;

impl Plugin for DockPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Layout::load(twin_ui::layout::layout_file()))
            .add_systems(Startup, start)
            .add_systems(Update, (keep, save_on_exit));
    }
}

/// The workspaces, where they are kept, and what was last saved.
#[derive(Resource)]
pub struct Layout {
    pub layouts: Layouts,
    path: Option<PathBuf>,
    saved: String,
    checked: Instant,
}

impl Layout {
    /// The layouts kept at `path` (the defaults when there are none; a
    /// broken file is reported and left for the next save to replace).
    pub fn load(path: PathBuf) -> Self {
        let (layouts, note) = Layouts::load(&path);
        if let Some(n) = note {
            jobs().notify(&n);
        }
        let saved = layouts.to_json();
        Self {
            layouts,
            path: Some(path),
            saved,
            checked: Instant::now(),
        }
    }

    /// Shows `task`'s workspace (the Cardiac and Compare workspaces start
    /// the heart; the Gait one opens the gait trial).
    pub fn show(
        &mut self,
        task: Task,
        cardio: &mut MessageWriter<CardioAsk>,
        gait: &mut MessageWriter<GaitAsk>,
    ) {
        self.layouts.task = task;
        show_task(task, cardio, gait);
    }

    /// Saves when the arrangement changed.
    pub fn save_if_changed(&mut self) {
        let Some(path) = &self.path else { return };
        let now = self.layouts.to_json();
        if now != self.saved {
            match self.layouts.save(path) {
                Ok(()) => self.saved = now,
                Err(e) => {
                    jobs().notify(&format!("layout {}: {e}", path.display()));
                    // Not tried again every second.
                    self.path = None;
                }
            }
        }
    }
}

/// `--workspace`, `--cardio` and `--gait` choose the first workspace (else
/// the one shown last). A scripted start (`--twin`, `--cardio`, `--lv-seed`)
/// brings its own heart, so the workspace does not calibrate one first.
fn start(
    mut layout: ResMut<Layout>,
    args: Res<Args>,
    mut s: ResMut<Session>,
    mut cardio: MessageWriter<CardioAsk>,
    mut gait: MessageWriter<GaitAsk>,
) {
    let chosen = match args.workspace.as_deref() {
        Some(name) => {
            // "Over time", "over-time" and "overtime" alike.
            let plain = |s: &str| {
                s.chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_ascii_lowercase()
            };
            let t = Task::ALL
                .into_iter()
                .find(|t| plain(t.name()) == plain(name));
            if t.is_none() {
                jobs().notify(&format!(
                    "--workspace {name}: one of Imaging, Contours, Cardiac, Over time, EP, Gait, Compare, Report"
                ));
            }
            t
        }
        None if args.gait.is_some() => Some(Task::Gait),
        None if args.cardio.is_some() || args.lv_seed.is_some() => Some(Task::Cardiac),
        None => None,
    };
    let task = chosen.unwrap_or(layout.layouts.task);
    let scripted = args.twin.is_some() || args.cardio.is_some() || args.lv_seed.is_some();
    if scripted {
        layout.layouts.task = task;
        match task {
            Task::Cardiac | Task::Compare => s.cardio.open = true,
            Task::Gait => s.gait.open = true,
            Task::Imaging
            | Task::Contours
            | Task::Report
            | Task::OverTime
            | Task::Electrophysiology => {}
        }
    } else {
        layout.show(task, &mut cardio, &mut gait);
    }
}

/// Keeps the arrangement in the configuration folder (checked once a
/// second).
fn keep(mut layout: ResMut<Layout>) {
    if layout.checked.elapsed() >= Duration::from_secs(1) {
        layout.checked = Instant::now();
        layout.save_if_changed();
    }
}

fn save_on_exit(mut exit: MessageReader<AppExit>, mut layout: ResMut<Layout>) {
    if exit.read().next().is_some() {
        layout.save_if_changed();
    }
}

/// What the panes asked for this frame.
#[derive(Default)]
pub struct Asked {
    pub ui: Vec<UiAction>,
    pub segments: Vec<SegmentAction>,
    pub cardio: Vec<CardioAction>,
    pub contours: Vec<twin_ui::contours::ContourAction>,
    pub timeline: Vec<twin_ui::timeline::TimelineAction>,
    pub gait: Vec<GaitAction>,
    pub ep: Vec<twin_ui::ep::EpAction>,
    pub scenarios: Vec<twin_session::ScenarioAction>,
    pub export_report: bool,
}

/// Draws each pane from the session.
pub struct Panes<'a> {
    pub s: &'a mut Session,
    pub asked: Asked,
    /// Where the 3D view's pane is this frame.
    pub view3d: Option<egui::Rect>,
}

impl twin_ui::layout::TabViewer for Panes<'_> {
    type Tab = Pane;

    fn id(&mut self, tab: &mut Pane) -> egui::Id {
        egui::Id::new(("pane", *tab))
    }

    fn title(&mut self, tab: &mut Pane) -> egui::WidgetText {
        tab.title().into()
    }

    fn clear_background(&self, tab: &Pane) -> bool {
        !tab.is_3d()
    }

    fn scroll_bars(&self, tab: &Pane) -> [bool; 2] {
        match tab {
            Pane::View3d | Pane::Axial | Pane::Coronal | Pane::Sagittal => [false, false],
            _ => [true, true],
        }
    }

    fn allowed_in_windows(&self, _tab: &mut Pane) -> bool {
        // Floating windows are for dialogs; panes stay docked.
        false
    }

    fn ui(&mut self, ui: &mut egui::Ui, tab: &mut Pane) {
        let s = &mut *self.s;
        let ws = &mut s.study;
        match *tab {
            Pane::Studies => self
                .asked
                .ui
                .extend(twin_ui::side_panel(ui, &mut ws.browser)),
            Pane::View3d => {
                let r = ui.max_rect();
                self.view3d = Some(r);
                ui.allocate_rect(r, egui::Sense::hover());
            }
            Pane::Axial | Pane::Coronal | Pane::Sagittal => {
                let plane = match *tab {
                    Pane::Axial => twin_imaging::mpr::Plane::Axial,
                    Pane::Coronal => twin_imaging::mpr::Plane::Coronal,
                    _ => twin_imaging::mpr::Plane::Sagittal,
                };
                if ws.mpr.volume().is_some() {
                    let r = ui.max_rect();
                    twin_ui::mpr_view(ui, &mut ws.mpr, plane, r);
                } else {
                    ui.label("Open a study: its slices show here.");
                }
            }
            Pane::SegmentEditor => {
                if ws.volume.is_some() {
                    let a = twin_ui::segments::editor_section(ui, &mut ws.segments);
                    self.asked.segments.extend(a);
                } else {
                    ui.label("Load a series to segment it.");
                }
            }
            Pane::Segments => {
                let a = twin_ui::segments::list_section(ui, &mut ws.segments);
                self.asked.segments.extend(a);
            }
            Pane::Calibration => {
                s.cardio.ui.cine_available = ws.mpr.frames.len() > 1;
                let a = twin_ui::cardio::calibration_section(ui, &mut s.cardio.ui);
                self.asked.cardio.extend(a);
                twin_calibration(ui, s);
            }
            Pane::WhatIf => {
                let a = twin_ui::cardio::controls_section(ui, &mut s.cardio.ui);
                self.asked.cardio.extend(a);
                if let Some(ms) = s.cardio.last_latency_ms {
                    ui.label(
                        egui::RichText::new(format!(
                            "last what-if: {ms:.0} ms from release to plots"
                        ))
                        .small()
                        .weak(),
                    );
                }
            }
            Pane::PvLoops => {
                let h = ui.available_height() - 8.0;
                twin_ui::cardio::pv_plot(ui, &s.cardio.ui, h);
            }
            Pane::Wiggers => {
                let h = ui.available_height() - 8.0;
                twin_ui::cardio::wiggers_plot(ui, &s.cardio.ui, h);
            }
            Pane::Indices => twin_ui::cardio::indices_section(ui, &s.cardio.ui),
            Pane::Scenarios => {
                let a = twin_ui::twin::scenarios_panel(ui, &s.twin, &mut s.list);
                self.asked.scenarios.extend(a);
            }
            Pane::Trial => {
                let a = twin_ui::gait::trial_section(ui, &mut s.gait.ui);
                self.asked.gait.extend(a);
            }
            Pane::StickFigure => twin_ui::gait::figure_section(ui, &mut s.gait.ui),
            Pane::GaitCurves => twin_ui::gait::curves_section(ui, &mut s.gait.ui),
            Pane::Prosthesis => {
                if s.gait.ui.whatif.baseline.is_some() {
                    let a = twin_ui::whatif_section(ui, &mut s.gait.ui.whatif);
                    self.asked.gait.extend(a.map(GaitAction::WhatIf));
                } else {
                    ui.label("Open a gait trial with its external loads and a model with muscles: the intact baseline's static optimisation is the prosthesis what-if's reference.");
                }
            }
            Pane::Predict => {
                let a = twin_ui::predict::predict_section(ui, &mut s.gait.ui.predict);
                self.asked
                    .gait
                    .extend(a.into_iter().map(GaitAction::Predict));
            }
            Pane::Electrophysiology => {
                let a = twin_ui::ep::ep_pane(ui, &mut s.ep);
                self.asked.ep.extend(a);
            }
            Pane::TimelineEditor => {
                let a = twin_ui::timeline::editor_pane(ui, &mut s.cardio.timeline);
                self.asked.timeline.extend(a);
            }
            Pane::Trends => twin_ui::timeline::trends_pane(ui, &mut s.cardio.timeline),
            Pane::BeatAtCursor => twin_ui::timeline::beat_pane(ui, &s.cardio.timeline),
            Pane::Vitals => {
                let a = twin_ui::timeline::vitals_pane(ui, &s.cardio.timeline);
                self.asked.timeline.extend(a);
            }
            Pane::Variants => twin_ui::cardio::compare_columns(ui, &s.cardio.ui),
            Pane::Deltas => twin_ui::twin::deltas_table(ui, &s.twin),
            Pane::ContourReview => {
                let a = twin_ui::contours::contour_review(ui, &mut s.cardio.contours);
                self.asked.contours.extend(a);
            }
            Pane::ReportPreview => {
                self.asked.export_report |= twin_ui::twin::report_preview(ui, &s.twin);
            }
        }
    }
}

/// The twin's calibration residuals under the targets.
fn twin_calibration(ui: &mut egui::Ui, s: &Session) {
    let Some(c) = &s.twin.doc.cardio else {
        return;
    };
    ui.separator();
    ui.label(egui::RichText::new("Residuals of the twin's calibration").strong());
    egui::Grid::new("residuals").striped(true).show(ui, |ui| {
        for r in &c.residuals {
            ui.label(&r.name);
            ui.label(format!("target {:.1}", r.target));
            ui.label(format!("model {:.1}", r.model));
            ui.label(format!("{:+.2} %", r.error_percent));
            ui.end_row();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_ui::layout::LayoutAction;

    #[test]
    fn the_arrangement_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("twinscope/layout.json");
        let mut first = Layout::load(path.clone());
        assert_eq!(first.layouts.task, Task::Imaging);
        // The user goes to Gait, closes its 3D view and quits.
        first.layouts.task = Task::Gait;
        let dock = first.layouts.dock_mut(Task::Gait);
        let at = dock.find_tab(&Pane::View3d).unwrap();
        dock.remove_tab(at);
        first.save_if_changed();
        // The next start finds it as it was left.
        let mut again = Layout::load(path.clone());
        assert_eq!(again.layouts.task, Task::Gait);
        assert!(!again.layouts.panes(Task::Gait).contains(&Pane::View3d));
        assert_eq!(
            again.layouts.panes(Task::Imaging),
            Layouts::default().panes(Task::Imaging)
        );
        // Reset layout brings the default back, and that is kept too.
        again.layouts.act(LayoutAction::Reset);
        again.save_if_changed();
        let third = Layout::load(path);
        assert!(third.layouts.panes(Task::Gait).contains(&Pane::View3d));
    }
}
