//! The gait panel: a sagittal stick figure with ground reaction forces over
//! the trial (play and scrub), and a coordinate's angle and moment (per kg)
//! over the gait cycle, right and left, each the mean of the trial's strides
//! with a ±1 SD band, over the grey ±1 SD band of a reference (the lab's
//! normal database, `twin_msk::normative`) when one is loaded, with each
//! side's Gait Variable Score.

use egui::{Color32, Pos2, Stroke, Ui, Vec2};
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints, Polygon};
pub use twin_msk::gait::Band;
use twin_msk::normative::Reference;
pub use twin_session::gait::CoordinateCurves;

const RIGHT: Color32 = Color32::from_rgb(220, 90, 80);
const LEFT: Color32 = Color32::from_rgb(90, 140, 230);
const BONE: Color32 = Color32::from_rgb(225, 225, 215);
const FORCE: Color32 = Color32::from_rgb(120, 210, 120);
const NORMAL: Color32 = Color32::from_gray(160);

/// One coordinate (without side) with its right and left curves (angles
/// in degrees, moments in N·m/kg) and how they compare with a reference.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CycleCurves {
    pub curves: CoordinateCurves,
    /// The reference's bands, when a reference holds this coordinate.
    pub reference_angle: Option<Band>,
    pub reference_moment: Option<Band>,
    /// Gait Variable Scores of the angle and the moment, right and left.
    pub gvs_angle: [Option<f64>; 2],
    pub gvs_moment: [Option<f64>; 2],
}

/// The reference the curves are compared with.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceNote {
    pub source: String,
    pub trials: usize,
    /// The Gait Profile Score over every angle score, both sides (deg).
    pub gait_profile_score: Option<f64>,
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
    /// The reference in use, if any.
    pub reference: Option<ReferenceNote>,
    /// Summary lines (events, peaks, warnings).
    pub notes: Vec<String>,
}

impl GaitView {
    /// Compares the curves with `reference` (or with none): its bands and
    /// the Gait Variable and Profile Scores.
    pub fn set_reference(&mut self, reference: Option<&Reference>) {
        for c in &mut self.curves {
            let name = &c.curves.name;
            c.reference_angle = reference.and_then(|r| r.angle(name)).cloned();
            c.reference_moment = reference.and_then(|r| r.moment(name)).cloned();
            c.gvs_angle = [None; 2];
            c.gvs_moment = [None; 2];
        }
        self.reference = reference.map(|r| {
            let curves: Vec<CoordinateCurves> =
                self.curves.iter().map(|c| c.curves.clone()).collect();
            let (scores, gps) = twin_session::gait::scores(&curves, r);
            for s in scores {
                let c = &mut self.curves[s.coordinate];
                let gvs = if s.moment {
                    &mut c.gvs_moment
                } else {
                    &mut c.gvs_angle
                };
                gvs[s.side_index] = Some(s.gvs);
            }
            ReferenceNote {
                source: r.source.clone(),
                trials: r.trials,
                gait_profile_score: gps,
            }
        });
    }
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
    /// The prosthesis what-if (baseline and variant), drawn in its own
    /// window by [`crate::prosthesis::whatif_section`].
    pub whatif: crate::prosthesis::WhatIfState,
    /// The predicted walks, drawn by [`crate::predict::predict_section`].
    pub predict: crate::predict::PredictState,
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum GaitAction {
    /// Pick a model and a trial from files.
    Open,
    /// Pick a reference (normal database) file.
    OpenReference,
    /// Stop comparing with the reference.
    DropReference,
    /// Stop the running computation.
    Cancel,
    /// Rerun the what-if with a device, or show the baseline alone.
    WhatIf(crate::prosthesis::WhatIfAsk),
    /// Predict a walk, or stop the search.
    Predict(crate::predict::PredictAction),
}

/// While `busy`: a spinner, the stage's progress bar and a Cancel button;
/// whether Cancel was clicked.
pub(crate) fn busy_controls(ui: &mut Ui, busy: bool, progress: Option<&(String, f32)>) -> bool {
    if !busy {
        return false;
    }
    ui.spinner();
    if let Some((stage, fraction)) = progress {
        ui.add(
            egui::ProgressBar::new(*fraction)
                .desired_width(140.0)
                .text(stage.as_str()),
        );
    }
    ui.button("Cancel").clicked()
}

/// The ±1 SD band as one quadrilateral per step (egui_plot fills a polygon
/// as a fan, which only works for convex shapes).
pub(crate) fn band_polygons(name: &str, b: &Band, color: Color32) -> Vec<Polygon<'static>> {
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

pub(crate) fn band_line(name: &str, b: &Band, color: Color32) -> Line<'static> {
    let n = b.mean.len();
    let pts: Vec<[f64; 2]> = (0..n)
        .map(|k| [100.0 * k as f64 / (n - 1).max(1) as f64, b.mean[k]])
        .collect();
    Line::new(name.to_owned(), PlotPoints::from(pts))
        .color(color)
        .width(2.0)
}

/// One side's legend entry: strides and, against a reference, its score.
fn side_label(side: &str, b: &Band, gvs: Option<f64>, unit: &str) -> String {
    match gvs {
        Some(g) if g.is_finite() => format!("{side} (n = {}) GVS {g:.2}{unit}", b.strides),
        Some(_) => format!("{side} (n = {}) GVS ⚠ invalid", b.strides),
        None => format!("{side} (n = {})", b.strides),
    }
}

/// Draws the stick figure of `frame` (sagittal view) into `ui`.
pub(crate) fn figure(ui: &mut Ui, v: &GaitView, frame: usize, height: f32) {
    let (rect, _) = ui.allocate_exact_size(
        Vec2::new(ui.available_width(), height),
        egui::Sense::hover(),
    );
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

/// The gait panel (every section below, one after the other); returns what
/// the user asked for.
pub fn gait_panel(ui: &mut Ui, state: &mut GaitState) -> Vec<GaitAction> {
    let actions = trial_section(ui, state);
    if state.view.is_some() {
        figure_section(ui, state);
        curves_section(ui, state);
    }
    actions
}

/// The trial: open a model and trial, a reference, progress and cancel,
/// the trial's title and the lines about it.
pub fn trial_section(ui: &mut Ui, state: &mut GaitState) -> Vec<GaitAction> {
    let mut actions = Vec::new();
    ui.horizontal(|ui| {
        if ui.button("Open model and trial…").clicked() {
            actions.push(GaitAction::Open);
        }
        if ui
            .button("Reference…")
            .on_hover_text(
                "Compare with a normal database (a reference CSV, e.g. from `twin gait norm`)",
            )
            .clicked()
        {
            actions.push(GaitAction::OpenReference);
        }
        if state.view.as_ref().is_some_and(|v| v.reference.is_some())
            && ui.button("No reference").clicked()
        {
            actions.push(GaitAction::DropReference);
        }
        if busy_controls(ui, state.busy, state.progress.as_ref()) {
            actions.push(GaitAction::Cancel);
        }
        ui.label(&state.status);
    });
    let Some(v) = &state.view else {
        ui.label("Load an OpenSim model (.osim) with a motion (.mot from IK) or markers (.trc/.c3d), and optionally the ExternalLoads (.xml) for joint moments.");
        return actions;
    };
    ui.add(egui::Label::new(egui::RichText::new(&v.title).strong()).wrap());
    for n in &v.notes {
        ui.add(egui::Label::new(egui::RichText::new(n).small()).wrap());
    }
    actions
}

/// The sagittal stick figure with its ground reaction forces, played or
/// scrubbed frame by frame.
pub fn figure_section(ui: &mut Ui, state: &mut GaitState) {
    let Some(v) = &state.view else {
        ui.label("No trial yet.");
        return;
    };
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
    figure(ui, v, state.frame, 260.0);
}

/// A coordinate's angle and moment over the gait cycle, right and left,
/// against the reference when one is loaded, with the scores.
pub fn curves_section(ui: &mut Ui, state: &mut GaitState) {
    let Some(v) = &state.view else {
        ui.label("No trial yet.");
        return;
    };
    if !v.curves.is_empty() {
        state.selected = state.selected.min(v.curves.len() - 1);
        egui::ComboBox::from_label("coordinate")
            .selected_text(&v.curves[state.selected].curves.name)
            .show_ui(ui, |ui| {
                for (i, c) in v.curves.iter().enumerate() {
                    ui.selectable_value(&mut state.selected, i, &c.curves.name);
                }
            });
        let c = &v.curves[state.selected];
        let plot = |ui: &mut Ui,
                    id: &str,
                    unit: &str,
                    right: &Option<Band>,
                    left: &Option<Band>,
                    suffix: &str,
                    reference: &Option<Band>,
                    gvs: [Option<f64>; 2]| {
            Plot::new(id.to_owned())
                .height(190.0)
                .legend(Legend::default().text_style(egui::TextStyle::Small))
                .x_axis_label("% gait cycle")
                .y_axis_label(unit.to_owned())
                .allow_scroll(false)
                .show(ui, |plot| {
                    // A band's polygons and mean line share one name: one
                    // legend entry each.
                    if let Some(r) = reference {
                        let name = format!("reference (n = {})", r.strides);
                        for p in band_polygons(&name, r, NORMAL) {
                            plot.polygon(p);
                        }
                        plot.line(
                            band_line(&name, r, NORMAL)
                                .style(LineStyle::dashed_loose())
                                .width(1.5),
                        );
                    }
                    for (k, (side, band, color)) in [("right", right, RIGHT), ("left", left, LEFT)]
                        .into_iter()
                        .enumerate()
                    {
                        if let Some(b) = band {
                            let name = side_label(side, b, gvs[k], suffix);
                            if b.strides > 1 && reference.is_none() {
                                for p in band_polygons(&name, b, color) {
                                    plot.polygon(p);
                                }
                            }
                            plot.line(band_line(&name, b, color));
                        }
                    }
                });
        };
        ui.columns(2, |cols| {
            plot(
                &mut cols[0],
                "gait-angle",
                "angle (°)",
                &c.curves.angle[0],
                &c.curves.angle[1],
                "°",
                &c.reference_angle,
                c.gvs_angle,
            );
            plot(
                &mut cols[1],
                "gait-moment",
                "moment (N·m/kg)",
                &c.curves.moment[0],
                &c.curves.moment[1],
                " N·m/kg",
                &c.reference_moment,
                c.gvs_moment,
            );
        });
        match &v.reference {
            Some(r) => {
                ui.small(format!(
                    "Grey: reference mean ± 1 SD — {} ({} trial(s)). GVS: RMS difference of the side's mean from the reference mean over the cycle (Baker 2009).",
                    r.source, r.trials
                ));
                if let Some(g) = r.gait_profile_score {
                    let g = if g.is_finite() {
                        format!("{g:.2}°")
                    } else {
                        "⚠ invalid".to_owned()
                    };
                    ui.label(format!("Gait Profile Score (all angles, both sides): {g}"));
                }
            }
            None => {
                ui.small(
                    "No reference loaded: the bands are this trial's strides, mean ± 1 SD. Load the lab's normal database with Reference….",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    fn run(state: &mut GaitState) -> (Vec<GaitAction>, usize) {
        let (actions, shapes, _) = run_text(state);
        (actions, shapes)
    }

    fn run_text(state: &mut GaitState) -> (Vec<GaitAction>, usize, String) {
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
        let text = crate::painted_text(&out);
        (actions, out.shapes.len(), text)
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
                curves: CoordinateCurves {
                    name: "knee_angle".into(),
                    angle: [Some(band.clone()), Some(band.clone())],
                    moment: [Some(band), None],
                },
                ..CycleCurves::default()
            }],
            reference: None,
            notes: vec!["right: heel strikes 0.618 s".into()],
        });
        state.frame = 9;
        let (actions, shapes_with) = run(&mut state);
        assert!(actions.is_empty());
        assert!(shapes_with > shapes + 10, "{shapes_with}");
        // The frame index is kept inside the trial.
        assert_eq!(state.frame, 1);
        // Against a reference 0.5 above the curves: scores of 0.5, the
        // grey band drawn.
        let mut text = format!(
            "{}\n# source: lab\n# trials: 3\nvariable,unit,percent,mean,sd,strides\n",
            twin_msk::normative::HEADER
        );
        for k in 0..=100 {
            let _ = writeln!(text, "knee_angle,deg,{k},{},1,9", f64::from(k).sin() + 0.5);
        }
        let reference = Reference::parse(&text).unwrap();
        let view = state.view.as_mut().unwrap();
        view.set_reference(Some(&reference));
        let c = &view.curves[0];
        assert!(c.reference_angle.is_some() && c.reference_moment.is_none());
        for g in c.gvs_angle {
            assert!((g.unwrap() - 0.5).abs() < 1e-9, "{g:?}");
        }
        assert_eq!(c.gvs_moment, [None, None]);
        let note = view.reference.clone().unwrap();
        assert_eq!((note.source.as_str(), note.trials), ("lab", 3));
        assert!((note.gait_profile_score.unwrap() - 0.5).abs() < 1e-9);
        let (_, _, text) = run_text(&mut state);
        for expected in [
            "Grey: reference mean ± 1 SD — lab (3 trial(s))",
            "Gait Profile Score (all angles, both sides): 0.50°",
            "No reference",
        ] {
            assert!(text.contains(expected), "{expected} not in {text}");
        }
        state.view.as_mut().unwrap().set_reference(None);
        let v = state.view.as_ref().unwrap();
        assert!(v.reference.is_none() && v.curves[0].reference_angle.is_none());
        let (_, _, text) = run_text(&mut state);
        assert!(text.contains("No reference loaded"), "{text}");
    }
}
