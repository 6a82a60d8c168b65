//! The gait panel: a sagittal stick figure with ground reaction forces over
//! the trial (play and scrub), and a coordinate's angle and moment over the
//! gait cycle, right and left, each the mean of the trial's strides with a
//! ±1 SD band.
//!
//! The bands are this trial's own stride-to-stride spread, not a normative
//! reference: no normative gait dataset is part of the project's data.

use egui::{Color32, Pos2, Stroke, Ui, Vec2};
use egui_plot::{Legend, Line, Plot, PlotPoints, Polygon};

const RIGHT: Color32 = Color32::from_rgb(220, 90, 80);
const LEFT: Color32 = Color32::from_rgb(90, 140, 230);
const BONE: Color32 = Color32::from_rgb(225, 225, 215);
const FORCE: Color32 = Color32::from_rgb(120, 210, 120);

/// A curve over 0–100 % of the gait cycle: mean and SD over strides.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub mean: Vec<f64>,
    pub sd: Vec<f64>,
    pub strides: usize,
}

/// One coordinate (without side) with its right and left curves.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleCurves {
    /// e.g. `knee_angle`.
    pub name: String,
    pub angle_right: Option<Band>,
    pub angle_left: Option<Band>,
    pub moment_right: Option<Band>,
    pub moment_left: Option<Band>,
}

/// What the panel shows of a computed trial.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GaitView {
    pub title: String,
    pub time: Vec<f64>,
    /// Pairs of body indices drawn as bones.
    pub bones: Vec<(usize, usize)>,
    /// Body origins per frame (m, OpenSim ground: x forward, y up).
    pub origins: Vec<Vec<[f64; 3]>>,
    /// Per frame: (point of application, force in N) of every load.
    pub loads: Vec<Vec<([f64; 3], [f64; 3])>>,
    pub curves: Vec<CycleCurves>,
    /// Summary lines (events, peaks, warnings).
    pub notes: Vec<String>,
}

/// The panel's state.
#[derive(Debug, Default)]
pub struct GaitState {
    pub view: Option<GaitView>,
    pub frame: usize,
    pub playing: bool,
    pub selected: usize,
    pub busy: bool,
    /// The running job's stage and fraction done.
    pub progress: Option<(String, f32)>,
    pub status: String,
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GaitAction {
    /// Pick a model and a trial from files.
    Open,
    /// Stop the running computation.
    Cancel,
}

/// The ±1 SD band as one quadrilateral per step (egui_plot fills a polygon
/// as a fan, which only works for convex shapes).
fn band_polygons(name: &str, b: &Band, color: Color32) -> Vec<Polygon<'static>> {
    let n = b.mean.len();
    let x = |k: usize| 100.0 * k as f64 / (n - 1).max(1) as f64;
    (1..n)
        .map(|k| {
            let quad = vec![
                [x(k - 1), b.mean[k - 1] - b.sd[k - 1]],
                [x(k), b.mean[k] - b.sd[k]],
                [x(k), b.mean[k] + b.sd[k]],
                [x(k - 1), b.mean[k - 1] + b.sd[k - 1]],
            ];
            Polygon::new(name.to_owned(), PlotPoints::from(quad))
                .fill_color(color.gamma_multiply(0.25))
                .stroke(Stroke::NONE)
        })
        .collect()
}

fn band_line(name: &str, b: &Band, color: Color32) -> Line<'static> {
    let n = b.mean.len();
    let pts: Vec<[f64; 2]> = (0..n)
        .map(|k| [100.0 * k as f64 / (n - 1).max(1) as f64, b.mean[k]])
        .collect();
    Line::new(name.to_owned(), PlotPoints::from(pts))
        .color(color)
        .width(2.0)
}

/// Draws the stick figure of `frame` (sagittal view) into `ui`.
fn figure(ui: &mut Ui, v: &GaitView, frame: usize) {
    let (rect, _) =
        ui.allocate_exact_size(Vec2::new(ui.available_width(), 260.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, Color32::from_gray(24));
    let Some(origins) = v.origins.get(frame) else {
        return;
    };
    // Fit the whole trial's height; follow the pelvis horizontally.
    let (lo, hi) = v
        .origins
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p[1]), b.max(p[1]))
        });
    let height = (hi - lo).max(0.5) * 1.25;
    let scale = f64::from(rect.height()) / height;
    let centre_x = origins.get(1).map_or(0.0, |p| p[0]);
    let floor = f64::from(rect.bottom()) - 0.1 * f64::from(rect.height());
    let to_screen = |p: [f64; 3]| {
        Pos2::new(
            (f64::from(rect.center().x) + (p[0] - centre_x) * scale) as f32,
            (floor - (p[1] - lo.min(0.0)) * scale) as f32,
        )
    };
    painter.line_segment(
        [
            Pos2::new(rect.left(), floor as f32),
            Pos2::new(rect.right(), floor as f32),
        ],
        Stroke::new(1.0, Color32::from_gray(80)),
    );
    for &(a, b) in &v.bones {
        if let (Some(pa), Some(pb)) = (origins.get(a), origins.get(b)) {
            // Right side drawn red, left blue, the rest bone-coloured, by
            // the depth (z > 0 is the right in OpenSim's ground).
            let color = if pb[2] > 0.03 {
                RIGHT
            } else if pb[2] < -0.03 {
                LEFT
            } else {
                BONE
            };
            painter.line_segment([to_screen(*pa), to_screen(*pb)], Stroke::new(3.0, color));
        }
    }
    if let Some(loads) = v.loads.get(frame) {
        for (point, force) in loads {
            if force[1].abs() < 1.0 {
                continue;
            }
            // 1 m of arrow per 1 000 N.
            let tip = [
                point[0] + force[0] / 1000.0,
                point[1] + force[1] / 1000.0,
                point[2],
            ];
            painter.arrow(
                to_screen(*point),
                to_screen(tip) - to_screen(*point),
                Stroke::new(2.0, FORCE),
            );
        }
    }
    if let Some(t) = v.time.get(frame) {
        painter.text(
            rect.left_top() + Vec2::new(8.0, 6.0),
            egui::Align2::LEFT_TOP,
            format!("t = {t:.3} s"),
            egui::FontId::proportional(13.0),
            Color32::from_gray(200),
        );
    }
}

/// The gait panel; returns what the user asked for.
pub fn gait_panel(ui: &mut Ui, state: &mut GaitState) -> Vec<GaitAction> {
    let mut actions = Vec::new();
    ui.horizontal(|ui| {
        if ui.button("Open model and trial…").clicked() {
            actions.push(GaitAction::Open);
        }
        if state.busy {
            ui.spinner();
            if let Some((stage, fraction)) = &state.progress {
                ui.add(
                    egui::ProgressBar::new(*fraction)
                        .desired_width(140.0)
                        .text(stage.as_str()),
                );
            }
            if ui.button("Cancel").clicked() {
                actions.push(GaitAction::Cancel);
            }
        }
        ui.label(&state.status);
    });
    let Some(v) = &state.view else {
        ui.label("Load an OpenSim model (.osim) with a motion (.mot from IK) or markers (.trc/.c3d), and optionally the ExternalLoads (.xml) for joint moments.");
        return actions;
    };
    ui.add(egui::Label::new(egui::RichText::new(&v.title).strong()).wrap());
    let frames = v.time.len();
    ui.horizontal(|ui| {
        let label = if state.playing { "Pause" } else { "Play" };
        if ui.button(label).clicked() {
            state.playing = !state.playing;
        }
        if frames > 1 {
            ui.add(egui::Slider::new(&mut state.frame, 0..=frames - 1).text("frame"));
        }
    });
    state.frame = state.frame.min(frames.saturating_sub(1));
    figure(ui, v, state.frame);
    if !v.curves.is_empty() {
        state.selected = state.selected.min(v.curves.len() - 1);
        egui::ComboBox::from_label("coordinate")
            .selected_text(&v.curves[state.selected].name)
            .show_ui(ui, |ui| {
                for (i, c) in v.curves.iter().enumerate() {
                    ui.selectable_value(&mut state.selected, i, &c.name);
                }
            });
        let c = &v.curves[state.selected];
        let plot = |ui: &mut Ui,
                    id: &str,
                    unit: &str,
                    right: &Option<Band>,
                    left: &Option<Band>| {
            Plot::new(id.to_owned())
                .height(170.0)
                .legend(Legend::default())
                .x_axis_label("% gait cycle")
                .y_axis_label(unit.to_owned())
                .allow_scroll(false)
                .show(ui, |plot| {
                    for (side, band, color) in [("right", right, RIGHT), ("left", left, LEFT)] {
                        if let Some(b) = band {
                            if b.strides > 1 {
                                for p in band_polygons(&format!("{side} ±1 SD"), b, color) {
                                    plot.polygon(p);
                                }
                            }
                            plot.line(band_line(&format!("{side} (n = {})", b.strides), b, color));
                        }
                    }
                });
        };
        ui.columns(2, |cols| {
            plot(
                &mut cols[0],
                "gait-angle",
                "angle (°)",
                &c.angle_right,
                &c.angle_left,
            );
            plot(
                &mut cols[1],
                "gait-moment",
                "moment (N·m)",
                &c.moment_right,
                &c.moment_left,
            );
        });
        ui.small("Bands: this trial's strides, mean ± 1 SD (not a normative reference).");
    }
    for n in &v.notes {
        ui.add(egui::Label::new(egui::RichText::new(n).small()).wrap());
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(state: &mut GaitState) -> (Vec<GaitAction>, usize) {
        let ctx = egui::Context::default();
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                Pos2::ZERO,
                egui::vec2(700.0, 900.0),
            )),
            ..Default::default()
        };
        let mut actions = Vec::new();
        let mut out = ctx.run_ui(input, |ui| actions = gait_panel(ui, state));
        out.textures_delta.clear();
        (actions, out.shapes.len())
    }

    #[test]
    fn the_panel_draws_empty_and_with_a_trial() {
        let mut state = GaitState::default();
        let (actions, shapes) = run(&mut state);
        assert!(actions.is_empty() && shapes > 0);
        // While busy: the progress bar and a Cancel button draw.
        state.busy = true;
        state.progress = Some(("Inverse kinematics".into(), 0.4));
        let (_, busy_shapes) = run(&mut state);
        assert!(busy_shapes > shapes, "{busy_shapes} vs {shapes}");
        state.busy = false;
        state.progress = None;
        let band = Band {
            mean: (0..101).map(|k| f64::from(k).sin()).collect(),
            sd: vec![0.1; 101],
            strides: 2,
        };
        state.view = Some(GaitView {
            title: "walk".into(),
            time: vec![0.0, 0.1],
            bones: vec![(1, 2), (2, 3)],
            origins: vec![vec![[0.0; 3], [0.0, 1.0, 0.0], [0.0, 0.5, 0.1], [0.0, 0.1, 0.1]]; 2],
            loads: vec![vec![([0.0, 0.0, 0.1], [10.0, 700.0, 0.0])]; 2],
            curves: vec![CycleCurves {
                name: "knee_angle".into(),
                angle_right: Some(band.clone()),
                angle_left: Some(band.clone()),
                moment_right: Some(band),
                moment_left: None,
            }],
            notes: vec!["right: heel strikes 0.618 s".into()],
        });
        state.frame = 9;
        let (actions, shapes_with) = run(&mut state);
        assert!(actions.is_empty());
        assert!(shapes_with > shapes + 10, "{shapes_with}");
        // The frame index is kept inside the trial.
        assert_eq!(state.frame, 1);
    }
}
