//! The docked workstation layout: one workspace per task (Imaging, Cardiac,
//! Gait, Compare, Report), chosen from a toolbar, each a dock of panes
//! (`egui_dock`) that the user can drag, split, tab and close; the
//! arrangement is kept in the user's configuration folder and *Reset
//! layout* brings back the default. At 1280×800 every default workspace
//! shows all of its panes side by side: one pane per dock leaf, none
//! behind another (tested below).
//!
//! The app says what each pane draws by implementing
//! [`egui_dock::TabViewer`] with `Tab = Pane`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use egui::{RichText, Ui};
pub use egui_dock::{DockArea, DockState, NodeIndex, Style, TabViewer};
use serde::{Deserialize, Serialize};

/// A task, with its workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Task {
    Imaging,
    Contours,
    Cardiac,
    OverTime,
    Gait,
    Compare,
    Report,
    Electrophysiology,
}

impl Task {
    pub const ALL: [Self; 8] = [
        Self::Imaging,
        Self::Contours,
        Self::Cardiac,
        Self::OverTime,
        Self::Electrophysiology,
        Self::Gait,
        Self::Compare,
        Self::Report,
    ];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Imaging => "Imaging",
            Self::Contours => "Contours",
            Self::Cardiac => "Cardiac",
            Self::OverTime => "Over time",
            Self::Gait => "Gait",
            Self::Compare => "Compare",
            Self::Report => "Report",
            Self::Electrophysiology => "EP",
        }
    }

    /// What the workspace is for (the toolbar's hover text).
    #[must_use]
    pub fn purpose(self) -> &'static str {
        match self {
            Self::Imaging => "Study browser, 3D view, axial/coronal/sagittal slices, segments",
            Self::Contours => {
                "Review and correct the cine's LV, epicardial and RV contours, slice by slice and phase by phase"
            }
            Self::Cardiac => {
                "Calibration and its residuals, what-if controls, PV loops, Wiggers diagram, indices, the beating LV"
            }
            Self::OverTime => {
                "The cardiac twin over time: a timeline of events and drugs with the reflexes, trends with the beat at the cursor, following a patient's vitals"
            }
            Self::Gait => {
                "The trial, stick figure and 3D skeleton, curves over the gait cycle, prosthesis"
            }
            Self::Compare => "Baseline and variants side by side, the delta table, the anatomy",
            Self::Report => "Preview of the report, export",
            Self::Electrophysiology => {
                "Cardiac electrophysiology on the ventricles: sinus rhythm, LBBB, pacing and CRT, the pseudo-ECG and the coupled PV loops"
            }
        }
    }
}

/// A pane of a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pane {
    Studies,
    View3d,
    Axial,
    Coronal,
    Sagittal,
    SegmentEditor,
    Segments,
    Calibration,
    WhatIf,
    PvLoops,
    Wiggers,
    Indices,
    Scenarios,
    Trial,
    StickFigure,
    GaitCurves,
    Prosthesis,
    Predict,
    Electrophysiology,
    Variants,
    Deltas,
    ReportPreview,
    ContourReview,
    TimelineEditor,
    Trends,
    BeatAtCursor,
    Vitals,
}

impl Pane {
    /// Every pane, for the "Add pane" menu.
    pub const ALL: [Self; 27] = [
        Self::Studies,
        Self::View3d,
        Self::Axial,
        Self::Coronal,
        Self::Sagittal,
        Self::SegmentEditor,
        Self::Segments,
        Self::Calibration,
        Self::WhatIf,
        Self::PvLoops,
        Self::Wiggers,
        Self::Indices,
        Self::Scenarios,
        Self::Trial,
        Self::StickFigure,
        Self::GaitCurves,
        Self::Prosthesis,
        Self::Predict,
        Self::Electrophysiology,
        Self::Variants,
        Self::Deltas,
        Self::ReportPreview,
        Self::ContourReview,
        Self::TimelineEditor,
        Self::Trends,
        Self::BeatAtCursor,
        Self::Vitals,
    ];

    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Self::Studies => "Studies",
            Self::View3d => "3D view",
            Self::Axial => "Axial",
            Self::Coronal => "Coronal",
            Self::Sagittal => "Sagittal",
            Self::SegmentEditor => "Segment editor",
            Self::Segments => "Segments",
            Self::Calibration => "Calibration",
            Self::WhatIf => "What if…",
            Self::PvLoops => "PV loops",
            Self::Wiggers => "Wiggers diagram",
            Self::Indices => "Indices",
            Self::Scenarios => "Scenarios",
            Self::Trial => "Gait trial",
            Self::StickFigure => "Stick figure",
            Self::GaitCurves => "Gait cycle",
            Self::Prosthesis => "Prosthesis",
            Self::Predict => "Predicted gait",
            Self::Electrophysiology => "Electrophysiology",
            Self::Variants => "Variants side by side",
            Self::Deltas => "Delta table",
            Self::ReportPreview => "Report preview",
            Self::ContourReview => "Contour review",
            Self::TimelineEditor => "Timeline",
            Self::Trends => "Trends",
            Self::BeatAtCursor => "Beat at the cursor",
            Self::Vitals => "Following the vitals",
        }
    }

    /// The 3D view is drawn by the renderer behind egui: its pane is left
    /// clear.
    #[must_use]
    pub fn is_3d(self) -> bool {
        self == Self::View3d
    }
}

/// Splits `node`, putting `panes` on `side` with `share` of its space.
fn split(
    d: &mut DockState<Pane>,
    node: NodeIndex,
    side: egui_dock::Split,
    share: f32,
    panes: Vec<Pane>,
) -> [NodeIndex; 2] {
    use egui_dock::Split::{Above, Below, Left, Right};
    // egui_dock's fraction is the first (left or upper) child's share.
    let fraction = match side {
        Left | Above => share,
        Right | Below => 1.0 - share,
    };
    d.main_surface_mut().split_tabs(node, side, fraction, panes)
}

/// The default dock of `task`: one pane per leaf.
#[must_use]
pub fn default_dock(task: Task) -> DockState<Pane> {
    use egui_dock::Split::{Below, Left, Right};
    let root = NodeIndex::root();
    match task {
        Task::Imaging => {
            // Studies | 3D, axial / coronal, sagittal | editor / segments.
            let mut d = DockState::new(vec![Pane::View3d]);
            let [centre, _] = split(&mut d, root, Left, 0.22, vec![Pane::Studies]);
            let [centre, editor] = split(&mut d, centre, Right, 0.25, vec![Pane::SegmentEditor]);
            split(&mut d, editor, Below, 0.42, vec![Pane::Segments]);
            let [top, bottom] = split(&mut d, centre, Below, 0.5, vec![Pane::Coronal]);
            split(&mut d, top, Right, 0.5, vec![Pane::Axial]);
            split(&mut d, bottom, Right, 0.5, vec![Pane::Sagittal]);
            d
        }
        Task::Contours => {
            // The review | the calibration it feeds.
            let mut d = DockState::new(vec![Pane::ContourReview]);
            split(&mut d, root, Right, 0.28, vec![Pane::Calibration]);
            d
        }
        Task::Cardiac => {
            // Calibration / what-if / scenarios | PV loops, 3D / Wiggers, indices.
            let mut d = DockState::new(vec![Pane::PvLoops]);
            let [right, left] = split(&mut d, root, Left, 0.32, vec![Pane::Calibration]);
            let [_, lower] = split(&mut d, left, Below, 0.7, vec![Pane::WhatIf]);
            split(&mut d, lower, Below, 0.4, vec![Pane::Scenarios]);
            let [top, bottom] = split(&mut d, right, Below, 0.48, vec![Pane::Wiggers]);
            split(&mut d, top, Right, 0.42, vec![Pane::View3d]);
            split(&mut d, bottom, Right, 0.42, vec![Pane::Indices]);
            d
        }
        Task::OverTime => {
            // Timeline | trends / (vitals | beat at the cursor).
            let mut d = DockState::new(vec![Pane::Trends]);
            let [right, _] = split(&mut d, root, Left, 0.3, vec![Pane::TimelineEditor]);
            let [_, bottom] = split(&mut d, right, Below, 0.42, vec![Pane::Vitals]);
            split(&mut d, bottom, Right, 0.35, vec![Pane::BeatAtCursor]);
            d
        }
        Task::Gait => {
            // Trial / prosthesis / scenarios | stick figure, 3D / curves.
            let mut d = DockState::new(vec![Pane::StickFigure]);
            let [right, left] = split(&mut d, root, Left, 0.32, vec![Pane::Trial]);
            let [_, lower] = split(&mut d, left, Below, 0.7, vec![Pane::Prosthesis]);
            split(&mut d, lower, Below, 0.35, vec![Pane::Scenarios]);
            let [top, bottom] = split(&mut d, right, Below, 0.55, vec![Pane::GaitCurves]);
            split(&mut d, bottom, Right, 0.5, vec![Pane::Predict]);
            split(&mut d, top, Right, 0.5, vec![Pane::View3d]);
            d
        }
        Task::Compare => {
            // Variants in columns over the delta table | scenarios | 3D.
            let mut d = DockState::new(vec![Pane::Variants]);
            let [_, bottom] = split(&mut d, root, Below, 0.42, vec![Pane::Deltas]);
            let [_, right] = split(&mut d, bottom, Right, 0.55, vec![Pane::Scenarios]);
            split(&mut d, right, Right, 0.55, vec![Pane::View3d]);
            d
        }
        // The rhythm, its numbers, ECG and PV loops (the activation map
        // on the heart in 3D is still to come).
        Task::Electrophysiology => DockState::new(vec![Pane::Electrophysiology]),
        Task::Report => {
            let mut d = DockState::new(vec![Pane::ReportPreview]);
            split(&mut d, root, Left, 0.26, vec![Pane::Scenarios]);
            d
        }
    }
}

/// The workspaces and which one is shown.
#[derive(Clone, Serialize, Deserialize)]
pub struct Layouts {
    /// The file format's version (this is 1).
    pub version: u32,
    pub task: Task,
    docks: BTreeMap<Task, DockState<Pane>>,
}

impl std::fmt::Debug for Layouts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layouts")
            .field("task", &self.task)
            .field("panes", &self.panes(self.task))
            .finish_non_exhaustive()
    }
}

impl Default for Layouts {
    fn default() -> Self {
        Self {
            version: 1,
            task: Task::Imaging,
            docks: Task::ALL.iter().map(|&t| (t, default_dock(t))).collect(),
        }
    }
}

/// What the toolbar asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutAction {
    Show(Task),
    Reset,
    Add(Pane),
}

impl Layouts {
    /// The dock of `task`.
    pub fn dock_mut(&mut self, task: Task) -> &mut DockState<Pane> {
        self.docks.entry(task).or_insert_with(|| default_dock(task))
    }

    /// The panes `task`'s dock holds, in the dock's order.
    #[must_use]
    pub fn panes(&self, task: Task) -> Vec<Pane> {
        self.docks
            .get(&task)
            .map(|d| d.iter_all_tabs().map(|(_, p)| *p).collect())
            .unwrap_or_default()
    }

    /// Carries out a toolbar action: another workspace, the default
    /// arrangement of this one back, or a pane added (or brought to the
    /// front when it is there).
    pub fn act(&mut self, action: LayoutAction) {
        match action {
            LayoutAction::Show(t) => self.task = t,
            LayoutAction::Reset => {
                self.docks.insert(self.task, default_dock(self.task));
            }
            LayoutAction::Add(p) => {
                let dock = self.dock_mut(self.task);
                if let Some(path) = dock.find_tab(&p) {
                    let _ = dock.set_active_tab(path);
                } else {
                    dock.push_to_first_leaf(p);
                }
            }
        }
    }

    /// The layouts as saved (JSON).
    ///
    /// # Panics
    /// Never: every field serialises.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Screen rectangles are the dock's to work out each frame; one
        // never shown is not a number, which JSON cannot hold.
        let mut kept = self.clone();
        for dock in kept.docks.values_mut() {
            for (_, node) in dock.iter_all_nodes_mut() {
                node.set_rect(egui::Rect::ZERO);
                if let Some(leaf) = node.get_leaf_mut() {
                    leaf.viewport = egui::Rect::ZERO;
                }
            }
        }
        serde_json::to_string_pretty(&kept).expect("layouts serialise")
    }

    /// Layouts read back; a workspace missing from the file gets its
    /// default dock.
    ///
    /// # Errors
    /// Not JSON, not layouts, or a newer version (the message says which).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let mut l: Self =
            serde_json::from_str(text).map_err(|e| format!("not a layout file: {e}"))?;
        if l.version != 1 {
            return Err(format!(
                "layout version {} (this Twinscope reads 1)",
                l.version
            ));
        }
        for t in Task::ALL {
            l.docks.entry(t).or_insert_with(|| default_dock(t));
        }
        Ok(l)
    }

    /// The layouts kept at `path`, or the defaults with the reason they
    /// could not be read (none when there is no file yet).
    #[must_use]
    pub fn load(path: &Path) -> (Self, Option<String>) {
        match std::fs::read_to_string(path) {
            Ok(text) => match Self::from_json(&text) {
                Ok(l) => (l, None),
                Err(e) => (
                    Self::default(),
                    Some(format!(
                        "{}: {e}; the default layout is used",
                        path.display()
                    )),
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Self::default(), None),
            Err(e) => (
                Self::default(),
                Some(format!(
                    "{}: {e}; the default layout is used",
                    path.display()
                )),
            ),
        }
    }

    /// Saves the layouts to `path` (its folder made), through a temporary
    /// file so that a crash never leaves half a file.
    ///
    /// # Errors
    /// The folder or file cannot be written.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        twin_core::paths::write_atomically(path, self.to_json().as_bytes())
    }
}

/// Twinscope's configuration folder: `$TWIN_CONFIG_DIR`, else
/// `$XDG_CONFIG_HOME/twinscope`, else `~/.config/twinscope`.
#[must_use]
pub fn config_dir() -> PathBuf {
    twin_core::paths::user_dir("TWIN_CONFIG_DIR", "XDG_CONFIG_HOME", ".config")
}

/// Where the layouts are kept.
#[must_use]
pub fn layout_file() -> PathBuf {
    config_dir().join("layout.json")
}

/// The workspace toolbar: a button per task, *Reset layout*, and *Add
/// pane* for a pane that was closed.
pub fn task_bar(ui: &mut Ui, layouts: &Layouts) -> Option<LayoutAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        for t in Task::ALL {
            let text = RichText::new(t.name()).strong();
            if ui
                .selectable_label(layouts.task == t, text)
                .on_hover_text(t.purpose())
                .clicked()
            {
                action = Some(LayoutAction::Show(t));
            }
        }
        ui.separator();
        if ui
            .button("Reset layout")
            .on_hover_text("This workspace's panes as they were at first")
            .clicked()
        {
            action = Some(LayoutAction::Reset);
        }
        ui.menu_button("Add pane", |ui| {
            for p in Pane::ALL {
                if ui.button(p.title()).clicked() {
                    action = Some(LayoutAction::Add(p));
                }
            }
        });
    });
    action
}

/// Shows the current workspace's dock inside `ui` with `viewer` drawing the
/// panes.
pub fn show(ui: &mut Ui, layouts: &mut Layouts, viewer: &mut impl TabViewer<Tab = Pane>) {
    let task = layouts.task;
    let mut style = Style::from_egui(ui.style().as_ref());
    style.tab_bar.fill_tab_bar = true;
    DockArea::new(layouts.dock_mut(task))
        .id(egui::Id::new(("dock", task)))
        .style(style)
        .show_leaf_collapse_buttons(false)
        .show_leaf_close_all_buttons(false)
        .show_inside(ui, viewer);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records where each pane was drawn.
    struct Recorder(Vec<(Pane, egui::Rect)>);

    impl TabViewer for Recorder {
        type Tab = Pane;
        fn id(&mut self, tab: &mut Pane) -> egui::Id {
            egui::Id::new(*tab)
        }
        fn title(&mut self, tab: &mut Pane) -> egui::WidgetText {
            tab.title().into()
        }
        fn ui(&mut self, ui: &mut Ui, tab: &mut Pane) {
            self.0.push((*tab, ui.max_rect()));
            ui.label(tab.title());
        }
    }

    fn drawn(layouts: &mut Layouts, size: [f32; 2]) -> Vec<(Pane, egui::Rect)> {
        let ctx = egui::Context::default();
        let mut rec = Recorder(Vec::new());
        // Two frames: the dock sizes itself on the first.
        for _ in 0..2 {
            rec.0.clear();
            crate::testing::frame(&ctx, size, Vec::new(), |ui| show(ui, layouts, &mut rec));
        }
        rec.0
    }

    #[test]
    fn every_default_workspace_shows_all_its_panes_side_by_side() {
        for size in [[1280.0, 760.0], [1920.0, 1040.0]] {
            for task in Task::ALL {
                let mut layouts = Layouts {
                    task,
                    ..Layouts::default()
                };
                let panes = layouts.panes(task);
                let seen = drawn(&mut layouts, size);
                // One pane per leaf: each is drawn, none behind a tab.
                assert_eq!(seen.len(), panes.len(), "{task:?} at {size:?}: {seen:?}");
                for (i, (p, r)) in seen.iter().enumerate() {
                    assert!(
                        r.width() >= 180.0 && r.height() >= 120.0,
                        "{task:?} {p:?} at {size:?} is {r:?}"
                    );
                    for (q, s) in &seen[i + 1..] {
                        let overlap = r.intersect(*s);
                        assert!(
                            overlap.width() <= 1.0 || overlap.height() <= 1.0,
                            "{task:?} at {size:?}: {p:?} {r:?} overlaps {q:?} {s:?}"
                        );
                    }
                }
            }
        }
        // What the issue asks of each workspace.
        let d = Layouts::default();
        for (task, want) in [
            (
                Task::Imaging,
                &[
                    Pane::Studies,
                    Pane::View3d,
                    Pane::Axial,
                    Pane::Coronal,
                    Pane::Sagittal,
                    Pane::SegmentEditor,
                    Pane::Segments,
                ][..],
            ),
            (
                Task::Cardiac,
                &[
                    Pane::Calibration,
                    Pane::WhatIf,
                    Pane::PvLoops,
                    Pane::Wiggers,
                    Pane::Indices,
                    Pane::View3d,
                ],
            ),
            (
                Task::Gait,
                &[
                    Pane::Trial,
                    Pane::StickFigure,
                    Pane::View3d,
                    Pane::GaitCurves,
                    Pane::Prosthesis,
                    Pane::Predict,
                ],
            ),
            (Task::Compare, &[Pane::Variants, Pane::Deltas, Pane::View3d]),
            (Task::Electrophysiology, &[Pane::Electrophysiology]),
            (Task::Report, &[Pane::ReportPreview]),
            (Task::Contours, &[Pane::ContourReview, Pane::Calibration]),
            (
                Task::OverTime,
                &[
                    Pane::TimelineEditor,
                    Pane::Trends,
                    Pane::BeatAtCursor,
                    Pane::Vitals,
                ],
            ),
        ] {
            let panes = d.panes(task);
            for p in want {
                assert!(panes.contains(p), "{task:?} lacks {p:?}");
            }
        }
    }

    #[test]
    fn layouts_are_kept_and_a_broken_file_gives_the_default_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/layout.json");
        // No file yet: the defaults, nothing to say.
        let (l, note) = Layouts::load(&path);
        assert!(note.is_none());
        assert_eq!(l.task, Task::Imaging);
        // The user closes a pane and moves to Cardiac.
        let mut l = Layouts::default();
        let dock = l.dock_mut(Task::Imaging);
        let path_of = dock.find_tab(&Pane::Sagittal).unwrap();
        dock.remove_tab(path_of);
        l.act(LayoutAction::Show(Task::Cardiac));
        l.save(&path).unwrap();
        let (back, note) = Layouts::load(&path);
        assert!(note.is_none(), "{note:?}");
        assert_eq!(back.task, Task::Cardiac);
        assert!(!back.panes(Task::Imaging).contains(&Pane::Sagittal));
        assert_eq!(back.panes(Task::Gait), l.panes(Task::Gait));
        // Add pane brings it back; Reset layout restores the default.
        let mut back = back;
        back.act(LayoutAction::Show(Task::Imaging));
        back.act(LayoutAction::Add(Pane::Sagittal));
        assert!(back.panes(Task::Imaging).contains(&Pane::Sagittal));
        back.act(LayoutAction::Reset);
        assert_eq!(
            back.panes(Task::Imaging),
            Layouts::default().panes(Task::Imaging)
        );
        // A pane already there is not added twice.
        back.act(LayoutAction::Add(Pane::Axial));
        let n = back
            .panes(Task::Imaging)
            .iter()
            .filter(|p| **p == Pane::Axial)
            .count();
        assert_eq!(n, 1);
        // A broken or newer file: the defaults, and why.
        std::fs::write(&path, "{ not json").unwrap();
        let (l, note) = Layouts::load(&path);
        assert_eq!(l.task, Task::Imaging);
        assert!(note.unwrap().contains("layout.json"));
        let newer = Layouts {
            version: 2,
            ..Layouts::default()
        };
        std::fs::write(&path, newer.to_json()).unwrap();
        let note = Layouts::load(&path).1.unwrap();
        assert!(note.contains("version 2"), "{note}");
    }

    #[test]
    fn the_task_bar_switches_workspaces_and_resets() {
        let ctx = egui::Context::default();
        let layouts = Layouts::default();
        let mut action = None;
        let out = crate::testing::frame(&ctx, [1280.0, 40.0], Vec::new(), |ui| {
            action = task_bar(ui, &layouts);
        });
        assert!(action.is_none());
        let text = crate::painted_text(&out);
        for t in Task::ALL {
            assert!(text.contains(t.name()), "{text}");
        }
        for (label, want) in [
            ("Gait", LayoutAction::Show(Task::Gait)),
            ("Reset layout", LayoutAction::Reset),
        ] {
            let at = crate::testing::text_position(&out, label).unwrap();
            crate::testing::frame(&ctx, [1280.0, 40.0], crate::testing::click(at), |ui| {
                action = task_bar(ui, &layouts);
            });
            assert_eq!(action, Some(want));
        }
    }
}
