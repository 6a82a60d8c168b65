//! The segment editor and segment list: plain state in, user actions out.
//!
//! The editor builds a new segment by a threshold range (previewed live on
//! the MPR views) or by region growing from a seed picked with a click in an
//! MPR view; islands below a volume are dropped and the surface is
//! anti-aliased, smoothed and decimated as set. The list shows each segment
//! with its visibility, colour, opacity, volume and export buttons. A
//! clipping plane (one of the MPR planes through the crosshair) cuts the 3D
//! view open.

use egui::{Color32, RichText, Ui};
use twin_imaging::mpr::Plane;

/// How the next segment is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// Every voxel inside the range `[lo, hi]`.
    Threshold,
    /// Voxels connected to a seed, within `tolerance` of its value.
    Seed,
}

/// Settings of the next segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Editor {
    pub tool: Tool,
    pub lo: f32,
    pub hi: f32,
    pub tolerance: f32,
    /// Drop connected pieces smaller than this (mm³); 0 keeps all.
    pub min_island_mm3: f64,
    /// Keep only the largest connected piece.
    pub largest_only: bool,
    pub antialias: bool,
    pub smooth_iterations: usize,
    /// Decimate to this many triangles (0 = no decimation).
    pub target_triangles: usize,
    /// Show the threshold range on the MPR views.
    pub preview: bool,
    /// Value range of the volume, for the sliders.
    pub range: (f32, f32),
    pub unit: String,
}

impl Default for Editor {
    fn default() -> Self {
        Self {
            tool: Tool::Threshold,
            lo: 200.0,
            hi: 3000.0,
            tolerance: 100.0,
            min_island_mm3: 500.0,
            largest_only: false,
            antialias: true,
            smooth_iterations: 10,
            target_triangles: 200_000,
            preview: true,
            range: (-1000.0, 3000.0),
            unit: String::new(),
        }
    }
}

impl Editor {
    /// Adopts a new volume's value range, with a sensible starting range.
    pub fn set_volume_range(&mut self, range: (f32, f32), unit: &str, start: f32) {
        self.range = range;
        unit.clone_into(&mut self.unit);
        self.lo = start.clamp(range.0, range.1);
        self.hi = range.1;
        self.tolerance = ((range.1 - range.0) * 0.1).max(f32::EPSILON);
    }
}

/// A segment as the list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRow {
    pub name: String,
    pub colour: [u8; 3],
    pub opacity: f32,
    pub visible: bool,
    /// Volume, triangles, closed or not.
    pub summary: String,
}

/// Mesh file formats offered for export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Stl,
    Obj,
    Ply,
}

impl ExportFormat {
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Stl => "stl",
            Self::Obj => "obj",
            Self::Ply => "ply",
        }
    }
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum SegmentAction {
    /// Build a segment by threshold with the editor's settings.
    CreateByThreshold,
    /// Arm seed picking: the next click in an MPR view grows a segment.
    PickSeed,
    Delete(usize),
    Export(usize, ExportFormat),
}

/// The clipping plane of the 3D view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clip {
    pub enabled: bool,
    /// Cut along this MPR plane through the crosshair.
    pub plane: Plane,
    /// Keep the other side.
    pub flip: bool,
}

impl Default for Clip {
    fn default() -> Self {
        Self {
            enabled: false,
            plane: Plane::Coronal,
            flip: false,
        }
    }
}

/// Everything the segment panel shows.
#[derive(Debug, Clone)]
pub struct SegmentsState {
    pub editor: Editor,
    pub rows: Vec<SegmentRow>,
    pub clip: Clip,
    /// Show the three MPR planes in the 3D view.
    pub planes_in_3d: bool,
    /// Seed picking is armed (waiting for a click in an MPR view).
    pub picking: bool,
}

impl Default for SegmentsState {
    fn default() -> Self {
        Self {
            editor: Editor::default(),
            rows: Vec::new(),
            clip: Clip::default(),
            planes_in_3d: true,
            picking: false,
        }
    }
}

/// Distinct segment colours, in order of creation.
pub const PALETTE: [[u8; 3]; 8] = [
    [241, 214, 145],
    [214, 76, 64],
    [90, 160, 220],
    [110, 190, 90],
    [225, 170, 60],
    [170, 110, 200],
    [80, 200, 190],
    [220, 120, 160],
];

/// The segment editor and the segment list, one under the other; returns
/// the user's actions.
pub fn segments_panel(ui: &mut Ui, state: &mut SegmentsState) -> Vec<SegmentAction> {
    let mut actions = editor_section(ui, state);
    ui.separator();
    actions.extend(list_section(ui, state));
    actions
}

/// The segment editor: threshold or seeded growth, islands, surface
/// settings, and the 3D view's slice planes and clipping.
pub fn editor_section(ui: &mut Ui, state: &mut SegmentsState) -> Vec<SegmentAction> {
    let mut actions = Vec::new();
    ui.heading("Segment editor");
    let ed = &mut state.editor;
    ui.horizontal(|ui| {
        ui.selectable_value(&mut ed.tool, Tool::Threshold, "Threshold");
        ui.selectable_value(&mut ed.tool, Tool::Seed, "Seed growing");
    });
    let (lo, hi) = ed.range;
    let unit = ed.unit.clone();
    match ed.tool {
        Tool::Threshold => {
            ui.add(egui::Slider::new(&mut ed.lo, lo..=hi).text(format!("from {unit}")));
            ui.add(egui::Slider::new(&mut ed.hi, lo..=hi).text(format!("to {unit}")));
            if ed.hi < ed.lo {
                ed.hi = ed.lo;
            }
            ui.checkbox(&mut ed.preview, "Preview on the slices");
        }
        Tool::Seed => {
            let span = (hi - lo).max(f32::EPSILON);
            ui.add(
                egui::Slider::new(&mut ed.tolerance, 0.0..=span).text(format!("tolerance {unit}")),
            );
        }
    }
    ui.horizontal(|ui| {
        ui.add(
            egui::DragValue::new(&mut ed.min_island_mm3)
                .range(0.0..=1.0e7)
                .speed(50.0)
                .suffix(" mm³"),
        );
        ui.label("smallest island kept");
    });
    ui.checkbox(&mut ed.largest_only, "Largest piece only");
    ui.checkbox(&mut ed.antialias, "Anti-alias the mask");
    ui.add(egui::Slider::new(&mut ed.smooth_iterations, 0..=60).text("smoothing iterations"));
    ui.horizontal(|ui| {
        ui.add(
            egui::DragValue::new(&mut ed.target_triangles)
                .range(0..=10_000_000)
                .speed(1000.0),
        );
        ui.label("triangles at most (0: all)");
    });
    ui.horizontal(|ui| match ed.tool {
        Tool::Threshold => {
            if ui.button("Add segment").clicked() {
                actions.push(SegmentAction::CreateByThreshold);
            }
        }
        Tool::Seed => {
            let label = if state.picking {
                "Click in a slice view…"
            } else {
                "Pick seed"
            };
            if ui
                .add_enabled(!state.picking, egui::Button::new(label))
                .clicked()
            {
                actions.push(SegmentAction::PickSeed);
            }
        }
    });

    ui.separator();
    ui.heading("3D view");
    ui.checkbox(&mut state.planes_in_3d, "Slice planes in 3D");
    ui.horizontal(|ui| {
        ui.checkbox(&mut state.clip.enabled, "Clip along");
        for p in [Plane::Axial, Plane::Coronal, Plane::Sagittal] {
            ui.selectable_value(&mut state.clip.plane, p, p.name());
        }
        ui.checkbox(&mut state.clip.flip, "flip");
    });
    actions
}

/// The segments: visibility, colour, opacity, volume, export and delete.
pub fn list_section(ui: &mut Ui, state: &mut SegmentsState) -> Vec<SegmentAction> {
    let mut actions = Vec::new();
    ui.heading("Segments");
    if state.rows.is_empty() {
        ui.label(RichText::new("No segments yet.").weak());
    }
    for (i, row) in state.rows.iter_mut().enumerate() {
        ui.horizontal(|ui| {
            ui.checkbox(&mut row.visible, "");
            ui.color_edit_button_srgb(&mut row.colour);
            ui.label(RichText::new(&row.name).strong());
        });
        ui.horizontal(|ui| {
            ui.add_space(24.0);
            ui.add(egui::Slider::new(&mut row.opacity, 0.1..=1.0).text("opacity"));
        });
        ui.horizontal(|ui| {
            ui.add_space(24.0);
            ui.label(RichText::new(&row.summary).small());
        });
        ui.horizontal(|ui| {
            ui.add_space(24.0);
            for f in [ExportFormat::Stl, ExportFormat::Obj, ExportFormat::Ply] {
                if ui
                    .small_button(format!("{}…", f.extension().to_uppercase()))
                    .on_hover_text("Export the surface (mm, LPS)")
                    .clicked()
                {
                    actions.push(SegmentAction::Export(i, f));
                }
            }
            if ui
                .small_button(RichText::new("Delete").color(Color32::from_rgb(220, 110, 100)))
                .clicked()
            {
                actions.push(SegmentAction::Delete(i));
            }
        });
    }

    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(
        ctx: &egui::Context,
        state: &mut SegmentsState,
        events: Vec<egui::Event>,
    ) -> (Vec<SegmentAction>, egui::FullOutput) {
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(500.0, 900.0),
            )),
            events,
            ..Default::default()
        };
        let mut actions = Vec::new();
        let mut out = ctx.run_ui(input, |ui| {
            actions = segments_panel(ui, state);
        });
        out.textures_delta.clear();
        (actions, out)
    }

    /// Where the text `label` was painted.
    fn text_rect(shapes: &[egui::epaint::ClippedShape], label: &str) -> Option<egui::Rect> {
        fn walk(shape: &egui::Shape, label: &str, found: &mut Option<egui::Rect>) {
            match shape {
                egui::Shape::Text(t) if t.galley.text() == label => {
                    *found = Some(t.galley.rect.translate(t.pos.to_vec2()));
                }
                egui::Shape::Vec(v) => v.iter().for_each(|s| walk(s, label, found)),
                _ => {}
            }
        }
        let mut found = None;
        for c in shapes {
            walk(&c.shape, label, &mut found);
        }
        found
    }

    /// Clicks each labelled widget in turn; returns the actions.
    fn run(state: &mut SegmentsState, clicks: &[&str]) -> Vec<SegmentAction> {
        let ctx = egui::Context::default();
        let mut actions = Vec::new();
        frame(&ctx, state, vec![]);
        for label in clicks {
            let (_, out) = frame(&ctx, state, vec![]);
            let at = text_rect(&out.shapes, label)
                .unwrap_or_else(|| panic!("no {label:?} painted"))
                .center();
            let press = |pressed| egui::Event::PointerButton {
                pos: at,
                button: egui::PointerButton::Primary,
                pressed,
                modifiers: egui::Modifiers::default(),
            };
            for events in [
                vec![egui::Event::PointerMoved(at)],
                vec![press(true)],
                vec![press(false)],
            ] {
                actions.extend(frame(&ctx, state, events).0);
            }
        }
        actions
    }

    #[test]
    fn buttons_ask_for_segments_exports_and_deletion() {
        let mut state = SegmentsState::default();
        state.rows.push(SegmentRow {
            name: "Bone".into(),
            colour: PALETTE[0],
            opacity: 1.0,
            visible: true,
            summary: "675 mL".into(),
        });
        let actions = run(&mut state, &["Add segment", "PLY…", "Delete"]);
        assert_eq!(
            actions,
            vec![
                SegmentAction::CreateByThreshold,
                SegmentAction::Export(0, ExportFormat::Ply),
                SegmentAction::Delete(0),
            ]
        );
        state.editor.tool = Tool::Seed;
        assert_eq!(
            run(&mut state, &["Pick seed"]),
            vec![SegmentAction::PickSeed]
        );
    }

    #[test]
    fn the_upper_bound_never_falls_below_the_lower() {
        let mut state = SegmentsState::default();
        state
            .editor
            .set_volume_range((-1000.0, 2000.0), "HU", 250.0);
        assert!((state.editor.lo - 250.0).abs() < 1e-6);
        state.editor.hi = 100.0;
        run(&mut state, &[]);
        assert!(state.editor.hi >= state.editor.lo);
    }
}
