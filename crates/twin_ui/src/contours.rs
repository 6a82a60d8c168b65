//! Contour review of a short-axis cine: the slice as acquired with the LV
//! endocardium (and, where measured, the epicardium and the RV) drawn on it,
//! any slice of any phase picked from a slice × phase map, and the LV border
//! corrected by dragging its points or by brushing pixels in or out. A
//! correction can be propagated to the other phases of the slice; undo takes
//! back the last change. The corrected volumes go to the calibration only
//! when the user says so, and the twin records which slices were corrected.
//!
//! Mouse on the image: with *Points*, drag a point (its neighbours follow);
//! with *Brush* or *Erase*, drag to paint. Ctrl+Z undoes.

use std::sync::Arc;

use egui::{
    Color32, ColorImage, Pos2, Rect, Sense, Stroke, TextureHandle, TextureOptions, Ui, Vec2,
};
use twin_imaging::Volume;
use twin_mesh::contour;
use twin_session::cine::{CineAnalysis, ContourKind, SliceContour};

/// Points of the editable LV border.
pub const HANDLES: usize = 24;

/// How the mouse edits the LV border.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EditTool {
    #[default]
    Points,
    Brush,
    Erase,
}

/// What the review asks the app to do.
#[derive(Debug, Clone, PartialEq)]
pub enum ContourAction {
    /// The LV border of one slice replaced by this polygon (pixels).
    Replace {
        phase: usize,
        slice: usize,
        polygon: Vec<[f64; 2]>,
    },
    /// The LV pixels of one slice replaced (after brushing).
    Paint {
        phase: usize,
        slice: usize,
        pixels: Vec<u8>,
    },
    /// The slice's border copied to these phases.
    Propagate {
        phase: usize,
        slice: usize,
        to: Vec<usize>,
    },
    Undo,
    /// Calibrate the heart to the (corrected) volumes.
    UseForCalibration,
}

/// The review's state: the cine, the analysis being reviewed, where the
/// user is and what the mouse is doing.
#[derive(Default)]
pub struct ContourState {
    pub frames: Vec<Arc<Volume>>,
    pub analysis: Option<Arc<CineAnalysis>>,
    /// Bumped by the app whenever `analysis` changes.
    pub generation: u64,
    pub phase: usize,
    pub slice: usize,
    pub tool: EditTool,
    pub brush_mm: f32,
    /// Changes that undo can take back.
    pub undo_depth: usize,
    /// A change is being applied.
    pub busy: bool,
    handles: Vec<[f64; 2]>,
    /// The shown slice's borders (traced once per slice and change, not
    /// per frame), and what they were traced for.
    borders: Vec<SliceContour>,
    handles_key: Option<(usize, usize, u64)>,
    /// Whether each slice (row) of each phase (column) has an LV, and the
    /// generation it was counted for.
    found: Vec<bool>,
    found_generation: Option<u64>,
    drag: Option<usize>,
    painting: Option<Vec<u8>>,
    texture: Option<((usize, usize), TextureHandle)>,
}

impl ContourState {
    /// The LV mask pixels of the shown slice.
    fn lv_pixels(&self) -> Option<(Vec<u8>, [usize; 2])> {
        let a = self.analysis.as_ref()?;
        let m = a.lv.masks.get(self.phase)?;
        let [nx, ny, nz] = m.dims;
        (self.slice < nz).then(|| {
            (
                m.data[self.slice * nx * ny..(self.slice + 1) * nx * ny].to_vec(),
                [nx, ny],
            )
        })
    }

    /// The shown slice's borders and the points along its LV border
    /// (equally spaced), and the slice × phase map, when what they show
    /// changed.
    fn refresh(&mut self) {
        let Some(a) = self.analysis.clone() else {
            return;
        };
        if self.found_generation != Some(self.generation) {
            self.found_generation = Some(self.generation);
            let phases = a.lv.masks.len();
            self.found = (0..a.slices())
                .flat_map(|k| (0..phases).map(move |p| (p, k)))
                .map(|(p, k)| a.has_lv(p, k))
                .collect();
        }
        let key = (self.phase, self.slice, self.generation);
        if self.handles_key == Some(key) {
            return;
        }
        self.handles_key = Some(key);
        self.borders = a.contours_of(self.phase, self.slice);
        self.handles = resample(self.lv_border(), HANDLES);
        self.drag = None;
        self.painting = None;
    }

    /// The shown slice's LV border (empty without one).
    fn lv_border(&self) -> &[[f64; 2]] {
        self.borders
            .iter()
            .find(|c| c.kind == ContourKind::LvEndocardium)
            .map_or(&[], |c| &c.points_px)
    }
}

/// `n` points equally spaced by arc length along a closed polygon.
#[must_use]
pub fn resample(poly: &[[f64; 2]], n: usize) -> Vec<[f64; 2]> {
    if poly.len() < 3 || n < 3 {
        return Vec::new();
    }
    let m = poly.len();
    let seg = |i: usize| {
        let (a, b) = (poly[i], poly[(i + 1) % m]);
        (b[0] - a[0]).hypot(b[1] - a[1])
    };
    let total: f64 = (0..m).map(seg).sum();
    let mut out = Vec::with_capacity(n);
    let (mut i, mut walked) = (0usize, 0.0);
    for k in 0..n {
        let target = total * k as f64 / n as f64;
        while walked + seg(i) < target && i < m - 1 {
            walked += seg(i);
            i += 1;
        }
        let (a, b) = (poly[i], poly[(i + 1) % m]);
        let f = if seg(i) > 0.0 {
            (target - walked) / seg(i)
        } else {
            0.0
        };
        out.push([a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])]);
    }
    out
}

fn grey(volume: &Volume, slice: usize) -> Option<ColorImage> {
    let [nx, ny, nz] = volume.dims;
    if slice >= nz {
        return None;
    }
    let values = &volume.data[slice * nx * ny..(slice + 1) * nx * ny];
    let mut sorted: Vec<f32> = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let lo = sorted[sorted.len() / 100];
    let hi = sorted[(sorted.len() * 995 / 1000).min(sorted.len() - 1)].max(lo + f32::EPSILON);
    let pixels = values
        .iter()
        .map(|&v| {
            let g = (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0) as u8;
            Color32::from_gray(g)
        })
        .collect();
    Some(ColorImage::new([nx, ny], pixels))
}

const LV: Color32 = Color32::from_rgb(235, 70, 60);
const CORRECTED: Color32 = Color32::from_rgb(255, 170, 40);
/// A slice the network was unsure of (below `LOW_CONFIDENCE`): review it.
const UNSURE: Color32 = Color32::from_rgb(170, 60, 170);
const EPI: Color32 = Color32::from_rgb(80, 160, 255);
const RV: Color32 = Color32::from_rgb(240, 220, 70);

/// Draws the review (toolbar, image, slice × phase map, volumes) and
/// returns what the user asked for.
pub fn contour_review(ui: &mut Ui, state: &mut ContourState) -> Vec<ContourAction> {
    let mut actions = Vec::new();
    let Some(a) = state.analysis.clone() else {
        ui.label("Load a short-axis cine and measure its LV (Calibration → From the cine): its contours show here for review.");
        return actions;
    };
    let phases = a.lv.masks.len();
    let slices = a.slices();
    if phases == 0 || slices == 0 || state.frames.len() != phases {
        ui.label("The cine and its contours do not match: measure the cine again.");
        return actions;
    }
    state.phase = state.phase.min(phases - 1);
    state.slice = state.slice.min(slices - 1);
    if state.brush_mm <= 0.0 {
        state.brush_mm = 3.0;
    }
    state.refresh();
    // Toolbar.
    ui.horizontal_wrapped(|ui| {
        ui.add(egui::Slider::new(&mut state.phase, 0..=phases - 1).text("phase"));
        ui.add(egui::Slider::new(&mut state.slice, 0..=slices - 1).text("slice"));
        ui.separator();
        ui.selectable_value(&mut state.tool, EditTool::Points, "Points");
        ui.selectable_value(&mut state.tool, EditTool::Brush, "Brush");
        ui.selectable_value(&mut state.tool, EditTool::Erase, "Erase");
        if state.tool != EditTool::Points {
            ui.add(egui::Slider::new(&mut state.brush_mm, 1.0..=10.0).text("mm"));
        }
    });
    ui.horizontal_wrapped(|ui| {
        let here = (state.phase, state.slice);
        let has = !state.handles.is_empty();
        ui.add_enabled_ui(has && !state.busy, |ui| {
            if ui
                .button("Propagate to ±1 phase")
                .on_hover_text("Copy this slice's border to the same slice of the neighbouring phases, scaled to each one's area")
                .clicked()
            {
                let to = [(here.0 + phases - 1) % phases, (here.0 + 1) % phases].to_vec();
                actions.push(ContourAction::Propagate { phase: here.0, slice: here.1, to });
            }
            if ui.button("Propagate to all phases").clicked() {
                actions.push(ContourAction::Propagate {
                    phase: here.0,
                    slice: here.1,
                    to: (0..phases).collect(),
                });
            }
        });
        let undo = ui.add_enabled(state.undo_depth > 0 && !state.busy, egui::Button::new("Undo"));
        if undo.clicked() || (state.undo_depth > 0 && ui.input(|i| i.modifiers.command && i.key_pressed(egui::Key::Z))) {
            actions.push(ContourAction::Undo);
        }
        if ui
            .add_enabled(!state.busy, egui::Button::new("Use for calibration"))
            .on_hover_text("Calibrate the heart to these volumes; the twin records the corrected slices")
            .clicked()
        {
            actions.push(ContourAction::UseForCalibration);
        }
        if state.busy {
            ui.spinner();
        }
    });
    // The sliders may have moved to another slice.
    state.refresh();
    // Image (left) and the map and table (right, or below when narrow).
    let avail = ui.available_size();
    let side = 260.0f32.min(avail.x * 0.4);
    let wide = avail.x > 560.0;
    let image_side = if wide {
        (avail.x - side - 12.0).min(avail.y - 4.0)
    } else {
        avail.x.min(avail.y * 0.6)
    }
    .max(120.0);
    if wide {
        ui.horizontal_top(|ui| {
            image_view(ui, state, &a, image_side, &mut actions);
            ui.vertical(|ui| {
                ui.set_width(side);
                summary(ui, state, &a);
            });
        });
    } else {
        image_view(ui, state, &a, image_side, &mut actions);
        summary(ui, state, &a);
    }
    actions
}

#[expect(
    clippy::too_many_lines,
    reason = "the image with its borders and the mouse editing them, in drawing order"
)]
fn image_view(
    ui: &mut Ui,
    state: &mut ContourState,
    a: &CineAnalysis,
    side: f32,
    actions: &mut Vec<ContourAction>,
) {
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(side), Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::BLACK);
    let volume = state.frames[state.phase].clone();
    let [nx, ny, _] = volume.dims;
    let key = (state.phase, state.slice);
    if state.texture.as_ref().is_none_or(|(k, _)| *k != key)
        && let Some(img) = grey(&volume, state.slice)
    {
        if let Some((k, t)) = &mut state.texture {
            t.set(img, TextureOptions::LINEAR);
            *k = key;
        } else {
            let t = ui
                .ctx()
                .load_texture("contour-review", img, TextureOptions::LINEAR);
            state.texture = Some((key, t));
        }
    }
    let sp = [
        volume.affine.fixed_view::<3, 1>(0, 0).norm(),
        volume.affine.fixed_view::<3, 1>(0, 1).norm(),
    ];
    let (w, h) = (nx as f32 * sp[0] as f32, ny as f32 * sp[1] as f32);
    let scale = (rect.width() / w).min(rect.height() / h);
    let image_rect = Rect::from_center_size(rect.center(), Vec2::new(w * scale, h * scale));
    if let Some((_, t)) = &state.texture {
        painter.image(
            t.id(),
            image_rect,
            Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
            Color32::WHITE,
        );
    }
    // Pixel (x, y), centres at integers → screen.
    let px_w = image_rect.width() / nx as f32;
    let px_h = image_rect.height() / ny as f32;
    let to_screen = |p: [f64; 2]| {
        Pos2::new(
            image_rect.left() + (p[0] as f32 + 0.5) * px_w,
            image_rect.top() + (p[1] as f32 + 0.5) * px_h,
        )
    };
    let to_pixel = |s: Pos2| {
        [
            f64::from((s.x - image_rect.left()) / px_w - 0.5),
            f64::from((s.y - image_rect.top()) / px_h - 0.5),
        ]
    };
    let closed = |points: &[[f64; 2]], colour: Color32, width: f32| {
        if points.len() >= 3 {
            let mut line: Vec<Pos2> = points.iter().map(|&p| to_screen(p)).collect();
            line.push(line[0]);
            painter.add(egui::Shape::line(line, Stroke::new(width, colour)));
        }
    };
    // Other borders of this slice and phase.
    for c in &state.borders {
        match c.kind {
            ContourKind::LvEpicardium => closed(&c.points_px, EPI, 1.5),
            ContourKind::RvEndocardium => closed(&c.points_px, RV, 1.5),
            ContourKind::LvEndocardium => {}
        }
    }
    let corrected = a.corrected.contains(&(state.phase, state.slice));
    let lv_colour = if corrected { CORRECTED } else { LV };
    // Editing.
    let brush_px = f64::from(state.brush_mm) / sp[0];
    match state.tool {
        EditTool::Points => {
            if response.drag_started()
                && let Some(pos) = ui.input(|i| i.pointer.press_origin())
            {
                state.drag = state
                    .handles
                    .iter()
                    .enumerate()
                    .map(|(i, &p)| (i, to_screen(p).distance(pos)))
                    .filter(|&(_, d)| d < 12.0)
                    .min_by(|x, y| x.1.total_cmp(&y.1))
                    .map(|(i, _)| i);
            }
            if let Some(i) = state.drag {
                let d = response.drag_delta();
                let (dx, dy) = (f64::from(d.x / px_w), f64::from(d.y / px_h));
                let n = state.handles.len();
                for (off, wgt) in [(0isize, 1.0), (1, 0.5), (-1, 0.5), (2, 0.15), (-2, 0.15)] {
                    let j = (i as isize + off).rem_euclid(n as isize) as usize;
                    state.handles[j][0] += dx * wgt;
                    state.handles[j][1] += dy * wgt;
                }
                if response.drag_stopped() {
                    state.drag = None;
                    actions.push(ContourAction::Replace {
                        phase: state.phase,
                        slice: state.slice,
                        polygon: state.handles.clone(),
                    });
                }
            }
            closed(&state.handles, lv_colour, 2.0);
            for &p in &state.handles {
                painter.circle_filled(to_screen(p), 3.0, lv_colour);
            }
        }
        EditTool::Brush | EditTool::Erase => {
            // A drag paints along its path; a click paints one dab.
            if response.drag_started() || response.clicked() {
                state.painting = state.lv_pixels().map(|(p, _)| p);
            }
            if let (Some(pixels), Some(pos)) =
                (&mut state.painting, response.interact_pointer_pos())
            {
                let c = to_pixel(pos);
                let add = u8::from(state.tool == EditTool::Brush);
                let r = brush_px.ceil() as i64;
                for y in (c[1].round() as i64 - r)..=(c[1].round() as i64 + r) {
                    for x in (c[0].round() as i64 - r)..=(c[0].round() as i64 + r) {
                        if x >= 0
                            && y >= 0
                            && (x as usize) < nx
                            && (y as usize) < ny
                            && (x as f64 - c[0]).hypot(y as f64 - c[1]) <= brush_px
                        {
                            pixels[x as usize + nx * y as usize] = add;
                        }
                    }
                }
            }
            match &state.painting {
                Some(p) => closed(&contour::trace(p, nx, ny), lv_colour, 2.0),
                None => closed(state.lv_border(), lv_colour, 2.0),
            }
            if (response.drag_stopped() || response.clicked())
                && let Some(pixels) = state.painting.take()
            {
                actions.push(ContourAction::Paint {
                    phase: state.phase,
                    slice: state.slice,
                    pixels,
                });
            }
            if let Some(pos) = response.hover_pos() {
                painter.circle_stroke(
                    pos,
                    brush_px as f32 * px_w,
                    Stroke::new(1.0, Color32::WHITE),
                );
            }
        }
    }
    let (ed, es) = (a.lv.curve.ed_phase, a.lv.curve.es_phase);
    let tag = if state.phase == ed {
        " (ED)"
    } else if state.phase == es {
        " (ES)"
    } else {
        ""
    };
    painter.text(
        rect.left_top() + Vec2::new(6.0, 4.0),
        egui::Align2::LEFT_TOP,
        format!(
            "phase {}{tag}, slice {}{}",
            state.phase,
            state.slice,
            if corrected { " · corrected" } else { "" }
        ),
        egui::FontId::proportional(13.0),
        Color32::WHITE,
    );
}

/// What a cell of the slice × phase map says when hovered.
fn cell_text(a: &CineAnalysis, p: usize, k: usize) -> String {
    let what = if a.corrected.contains(&(p, k)) {
        "corrected by the user".to_string()
    } else {
        match a.confidence_at(p, k) {
            Some(c) if a.unsure(p, k) => format!("confidence {c:.2}: unsure, review"),
            Some(c) => format!("confidence {c:.2}"),
            None => "no LV found".to_string(),
        }
    };
    format!("phase {p}, slice {k}: {what}")
}

fn summary(ui: &mut Ui, state: &mut ContourState, a: &CineAnalysis) {
    let phases = a.lv.masks.len();
    let slices = a.slices();
    let (ed, es) = (a.lv.curve.ed_phase, a.lv.curve.es_phase);
    ui.label(egui::RichText::new("Slices × phases").strong());
    let cell = ((ui.available_width() - 4.0) / phases as f32).clamp(4.0, 14.0);
    let (rect, response) = ui.allocate_exact_size(
        Vec2::new(cell * phases as f32, cell * slices as f32),
        Sense::click(),
    );
    let painter = ui.painter_at(rect);
    for k in 0..slices {
        for p in 0..phases {
            let r = Rect::from_min_size(
                rect.min + Vec2::new(p as f32 * cell, k as f32 * cell),
                Vec2::splat(cell - 1.0),
            );
            let any = state.found.get(k * phases + p).copied().unwrap_or(false);
            let fill = if a.corrected.contains(&(p, k)) {
                CORRECTED
            } else if any && a.unsure(p, k) {
                UNSURE
            } else if any {
                Color32::from_rgb(60, 130, 80)
            } else {
                Color32::from_gray(50)
            };
            painter.rect_filled(r, 0.0, fill);
            if (p, k) == (state.phase, state.slice) {
                painter.rect_stroke(
                    r,
                    0.0,
                    Stroke::new(1.5, Color32::WHITE),
                    egui::StrokeKind::Outside,
                );
            }
        }
    }
    for (p, label) in [(ed, "ED"), (es, "ES")] {
        painter.text(
            rect.min + Vec2::new((p as f32 + 0.5) * cell, 0.0),
            egui::Align2::CENTER_BOTTOM,
            label,
            egui::FontId::proportional(9.0),
            Color32::LIGHT_GRAY,
        );
    }
    let cell_at = |pos: Pos2| {
        let d = pos - rect.min;
        (
            ((d.x / cell) as usize).min(phases - 1),
            ((d.y / cell) as usize).min(slices - 1),
        )
    };
    let response = match response.hover_pos() {
        Some(pos) => {
            let (p, k) = cell_at(pos);
            response.on_hover_text(cell_text(a, p, k))
        }
        None => response,
    };
    if response.clicked()
        && let Some(pos) = response.interact_pointer_pos()
    {
        (state.phase, state.slice) = cell_at(pos);
    }
    ui.label(
        egui::RichText::new(
            "green: LV found · purple: unsure, review · orange: corrected · grey: none (above the base or below the apex)",
        )
        .small()
        .weak(),
    );
    ui.separator();
    let c = &a.lv.curve;
    let line = |ui: &mut Ui, text: String| {
        ui.add(egui::Label::new(text).wrap());
    };
    line(ui, cell_text(a, state.phase, state.slice));
    line(
        ui,
        format!(
            "LV ({}): EDV {:.1} mL, ESV {:.1} mL, EF {:.1} %",
            a.options.convention.label(),
            c.edv_ml,
            c.esv_ml,
            c.ef_percent
        ),
    );
    if let Some(m) = a.myocardium.first() {
        line(
            ui,
            format!(
                "LV mass (ED): {:.0} g ({:.1} mL of myocardium)",
                m.mass_g, m.volume_ml
            ),
        );
    }
    if let Some((rv, _)) = &a.rv {
        let r = &rv.curve;
        line(
            ui,
            format!(
                "RV: EDV {:.1} mL, ESV {:.1} mL, EF {:.1} %",
                r.edv_ml, r.esv_ml, r.ef_percent
            ),
        );
    }
    line(ui, format!("corrected: {} slice(s)", a.corrected.len()));
    for f in &a.quality_flags {
        ui.colored_label(Color32::from_rgb(240, 150, 60), format!("⚠ {f}"));
    }
    if !a.review.is_empty() {
        ui.add(
            egui::Label::new(
                egui::RichText::new(format!(
                    "unsure, worth a look (purple): {}",
                    a.review.join("; ")
                ))
                .color(UNSURE.gamma_multiply(1.4)),
            )
            .wrap(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_mesh::cine::{BloodPool, curve};
    use twin_mesh::segment::Mask;
    use twin_session::cine::CineOptions;

    /// Two phases of one 40 × 40 slice (1 mm pixels): LV discs of radius
    /// 10 and 6 px.
    fn review() -> ContourState {
        let n = 40;
        let disc = |r: f64| -> Vec<u8> {
            (0..n * n)
                .map(|i| u8::from(((i % n) as f64 - 20.0).hypot((i / n) as f64 - 20.0) <= r))
                .collect()
        };
        let masks: Vec<Mask> = [10.0, 6.0]
            .iter()
            .map(|&r| Mask {
                dims: [n, n, 1],
                spacing: [1.0; 3],
                data: disc(r),
            })
            .collect();
        let volumes = masks.iter().map(|m| m.volume_mm3() / 1000.0).collect();
        let lv = BloodPool {
            masks,
            curve: curve(volumes),
        };
        let analysis = CineAnalysis {
            options: CineOptions::default(),
            other: lv.clone(),
            lv,
            myocardium: Vec::new(),
            aha: Vec::new(),
            rv: None,
            confidence: vec![vec![Some(0.9)]; 2],
            corrected: std::collections::BTreeSet::new(),
            quality_flags: Vec::new(),
            review: Vec::new(),
        };
        let frames = (0..2)
            .map(|_| {
                Arc::new(Volume::new(
                    [n, n, 1],
                    vec![100.0; n * n],
                    nalgebra::Matrix4::identity(),
                    "MR",
                ))
            })
            .collect();
        ContourState {
            frames,
            analysis: Some(Arc::new(analysis)),
            ..ContourState::default()
        }
    }

    fn frame(
        ctx: &egui::Context,
        state: &mut ContourState,
        events: Vec<egui::Event>,
    ) -> (Vec<ContourAction>, egui::FullOutput) {
        let input = egui::RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, egui::vec2(900.0, 700.0))),
            events,
            ..Default::default()
        };
        let mut actions = Vec::new();
        let mut out = ctx.run_ui(input, |ui| {
            actions = contour_review(ui, state);
        });
        out.textures_delta.clear();
        (actions, out)
    }

    fn shapes(out: &egui::FullOutput) -> Vec<egui::Shape> {
        fn walk(s: &egui::Shape, all: &mut Vec<egui::Shape>) {
            if let egui::Shape::Vec(v) = s {
                for s in v {
                    walk(s, all);
                }
            } else {
                all.push(s.clone());
            }
        }
        let mut all = Vec::new();
        out.shapes.iter().for_each(|c| walk(&c.shape, &mut all));
        all
    }

    fn press(at: Pos2, pressed: bool) -> egui::Event {
        egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::default(),
        }
    }

    fn drag(
        ctx: &egui::Context,
        state: &mut ContourState,
        from: Pos2,
        to: Pos2,
    ) -> Vec<ContourAction> {
        let mut actions = Vec::new();
        let mid = from + (to - from) * 0.5;
        for events in [
            vec![egui::Event::PointerMoved(from)],
            vec![press(from, true)],
            vec![egui::Event::PointerMoved(mid)],
            vec![egui::Event::PointerMoved(to)],
            vec![press(to, false)],
        ] {
            actions.extend(frame(ctx, state, events).0);
        }
        actions
    }

    #[test]
    fn dragging_a_border_point_replaces_the_slice_with_the_moved_polygon() {
        let ctx = egui::Context::default();
        let mut state = review();
        frame(&ctx, &mut state, vec![]);
        let (_, out) = frame(&ctx, &mut state, vec![]);
        let handles: Vec<Pos2> = shapes(&out)
            .iter()
            .filter_map(|s| match s {
                egui::Shape::Circle(c) if c.fill == LV => Some(c.center),
                _ => None,
            })
            .collect();
        assert_eq!(handles.len(), HANDLES);
        let before = state.handles.clone();
        let from = handles[0];
        let actions = drag(&ctx, &mut state, from, from + egui::vec2(30.0, 0.0));
        let [
            ContourAction::Replace {
                phase: 0,
                slice: 0,
                polygon,
            },
        ] = actions.as_slice()
        else {
            panic!("{actions:?}");
        };
        assert_eq!(polygon.len(), HANDLES);
        // The point moved right; far points stayed.
        assert!(
            polygon[0][0] > before[0][0] + 1.0,
            "{:?} {:?}",
            polygon[0],
            before[0]
        );
        let (far, was) = (polygon[HANDLES / 2], before[HANDLES / 2]);
        assert!((far[0] - was[0]).abs() < 1e-12 && (far[1] - was[1]).abs() < 1e-12);
    }

    #[test]
    fn brushing_paints_pixels_in_and_erase_takes_them_out() {
        let ctx = egui::Context::default();
        let mut state = review();
        state.tool = EditTool::Erase;
        state.brush_mm = 4.0;
        frame(&ctx, &mut state, vec![]);
        let (_, out) = frame(&ctx, &mut state, vec![]);
        // The LV border's bounding box on screen: erase across its centre.
        let line = shapes(&out)
            .into_iter()
            .find_map(|s| match s {
                egui::Shape::Path(p) if p.stroke.color == egui::epaint::ColorMode::Solid(LV) => {
                    Some(p.points)
                }
                _ => None,
            })
            .expect("LV border drawn");
        let r = Rect::from_points(&line);
        let actions = drag(
            &ctx,
            &mut state,
            r.center(),
            r.center() + egui::vec2(5.0, 0.0),
        );
        let [ContourAction::Paint { pixels, .. }] = actions.as_slice() else {
            panic!("{actions:?}");
        };
        let before = state.analysis.as_ref().unwrap().lv.masks[0].count();
        let after = pixels.iter().filter(|&&v| v != 0).count();
        assert!(after + 40 < before, "{after} vs {before}");
    }

    #[test]
    fn buttons_ask_to_propagate_undo_and_calibrate() {
        let ctx = egui::Context::default();
        let mut state = review();
        state.undo_depth = 1;
        let mut actions = Vec::new();
        for label in ["Propagate to all phases", "Undo", "Use for calibration"] {
            let (_, out) = frame(&ctx, &mut state, vec![]);
            let at = shapes(&out)
                .iter()
                .find_map(|s| match s {
                    egui::Shape::Text(t) if t.galley.text() == label => {
                        Some(t.galley.rect.translate(t.pos.to_vec2()).center())
                    }
                    _ => None,
                })
                .unwrap_or_else(|| panic!("no {label:?}"));
            for events in [
                vec![egui::Event::PointerMoved(at)],
                vec![press(at, true)],
                vec![press(at, false)],
            ] {
                actions.extend(frame(&ctx, &mut state, events).0);
            }
        }
        assert_eq!(
            actions,
            vec![
                ContourAction::Propagate {
                    phase: 0,
                    slice: 0,
                    to: vec![0, 1]
                },
                ContourAction::Undo,
                ContourAction::UseForCalibration,
            ]
        );
    }

    #[test]
    fn the_map_names_each_slices_confidence_and_an_unsure_one() {
        let mut state = review();
        let a = Arc::make_mut(state.analysis.as_mut().unwrap());
        a.confidence[1][0] = Some(0.41);
        assert_eq!(cell_text(a, 0, 0), "phase 0, slice 0: confidence 0.90");
        assert_eq!(
            cell_text(a, 1, 0),
            "phase 1, slice 0: confidence 0.41: unsure, review"
        );
        a.corrected.insert((1, 0));
        assert_eq!(
            cell_text(a, 1, 0),
            "phase 1, slice 0: corrected by the user"
        );
        a.confidence[0][0] = None;
        assert_eq!(cell_text(a, 0, 0), "phase 0, slice 0: no LV found");
    }

    #[test]
    fn resampling_spaces_points_evenly_around_a_square() {
        let square = [[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0]];
        let r = resample(&square, 8);
        assert_eq!(r.len(), 8);
        for (i, p) in r.iter().enumerate() {
            let q = r[(i + 1) % 8];
            assert!(
                ((q[0] - p[0]).hypot(q[1] - p[1]) - 2.0).abs() < 1e-9,
                "{r:?}"
            );
        }
        let near = |p: [f64; 2], q: [f64; 2]| (p[0] - q[0]).hypot(p[1] - q[1]) < 1e-12;
        assert!(near(r[0], [0.0, 0.0]) && near(r[2], [4.0, 0.0]), "{r:?}");
        assert!(resample(&square[..2], 8).is_empty());
    }
}
