//! The predicted gait (`twin_session::predict`): the search's controls,
//! progress and cancel; the predicted walks side by side (intact, with the
//! device) in a table; a joint's angle over the gait cycle for each, over
//! the measured trial's band; the search's convergence; and a device
//! tuning's landscape as a heat map with each seed's optimum.

use egui::{Color32, Pos2, Rect, Stroke, Ui, Vec2};
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints};
use twin_msk::gait::{Band, CycleSeries};
use twin_session::predict::{Landscape, Prediction};

const MEASURED: Color32 = Color32::from_gray(160);
/// One colour per predicted walk, in the order they are listed.
const WALKS: [Color32; 3] = [
    Color32::from_rgb(90, 200, 120),
    Color32::from_rgb(230, 150, 60),
    Color32::from_rgb(180, 120, 230),
];

/// One predicted walk as the panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictedWalk {
    /// e.g. "intact", "prosthesis (400 N·m/rad)".
    pub label: String,
    /// Generations searched so far.
    pub generations: usize,
    pub fell: bool,
    /// Simulated time before the end or the fall (s).
    pub time_s: f64,
    pub speed_m_per_s: f64,
    pub cost_of_transport: f64,
    pub cadence_steps_per_min: f64,
    /// Right, left.
    pub step_length_m: [f64; 2],
    pub stance_percent: [f64; 2],
    pub peak_grf_bw: [f64; 2],
    pub stance_asymmetry_percent: f64,
    /// Positive work per stride (J/kg), right and left: ankle (push-off;
    /// the device's on its side) and hip.
    pub ankle_work: [f64; 2],
    pub hip_work: [f64; 2],
    /// Per coordinate (without side): the mean over strides, right and left.
    pub angles: Vec<(String, [Option<Band>; 2])>,
    /// Per coordinate and side: Pearson r with the measured trial.
    pub agreement: Vec<(String, char, f64)>,
    /// Best cost per generation.
    pub best_cost: Vec<f64>,
    /// The walk as a stick figure (time, bones, origins, foot loads).
    pub figure: crate::gait::GaitView,
}

impl PredictedWalk {
    /// The panel's view of a prediction.
    #[must_use]
    pub fn of(label: &str, p: &Prediction) -> Self {
        let g = &p.gait;
        Self {
            label: label.to_owned(),
            generations: p.history.len(),
            fell: p.outcome.fell,
            time_s: p.outcome.time,
            speed_m_per_s: p.outcome.mean_speed,
            cost_of_transport: p.outcome.cost_of_transport,
            cadence_steps_per_min: g.cadence_steps_per_min,
            step_length_m: [g.right.step_length_m, g.left.step_length_m],
            stance_percent: [g.right.stance_percent, g.left.stance_percent],
            peak_grf_bw: [g.right.peak_grf_bw, g.left.peak_grf_bw],
            stance_asymmetry_percent: g.stance_asymmetry_percent,
            ankle_work: [
                p.work[0].positive_j_per_kg[2],
                p.work[1].positive_j_per_kg[2],
            ],
            hip_work: [
                p.work[0].positive_j_per_kg[0],
                p.work[1].positive_j_per_kg[0],
            ],
            angles: bands(&p.angles),
            agreement: p
                .agreement
                .iter()
                .map(|a| (a.joint.clone(), a.side, a.r))
                .collect(),
            best_cost: p.history.iter().map(|h| h[0]).collect(),
            figure: crate::gait::GaitView {
                title: label.to_owned(),
                time: p.states.time.clone(),
                bones: p.bones.clone(),
                origins: p.origins.clone(),
                loads: p.loads.clone(),
                ..crate::gait::GaitView::default()
            },
        }
    }
}

/// Each coordinate's mean over strides per side (the angles of
/// [`twin_session::gait::coordinate_curves`]).
#[must_use]
pub fn bands(series: &[CycleSeries]) -> Vec<(String, [Option<Band>; 2])> {
    twin_session::gait::coordinate_curves(series, 1.0)
        .into_iter()
        .map(|c| (c.name, c.angle))
        .collect()
}

/// The panel's state.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictState {
    /// Generations per search.
    pub generations: usize,
    /// Search with the what-if's device (else the intact leg).
    pub with_device: bool,
    pub busy: bool,
    /// The running search's stage and fraction done.
    pub progress: Option<(String, f32)>,
    pub status: String,
    /// The predicted walks (the intact one first when there is one).
    pub walks: Vec<PredictedWalk>,
    /// The measured trial's angle bands, when one is loaded.
    pub measured: Vec<(String, [Option<Band>; 2])>,
    /// The walk drawn as a stick figure, its frame and whether it plays.
    pub player: Player,
    /// The coordinate plotted.
    pub selected: String,
    /// Side plotted: 0 right, 1 left.
    pub side: usize,
    pub landscape: Option<Landscape>,
    /// Nothing runs and no saved walk waits (set by the app, for
    /// `--screenshot`).
    pub settled: bool,
}

impl Default for PredictState {
    fn default() -> Self {
        Self {
            generations: 60,
            with_device: false,
            busy: false,
            progress: None,
            status: String::new(),
            walks: Vec::new(),
            measured: Vec::new(),
            player: Player::default(),
            selected: "knee_angle".into(),
            side: 0,
            landscape: None,
            settled: false,
        }
    }
}

impl PredictState {
    /// Puts `walk` in the list, replacing one of the same label.
    pub fn set_walk(&mut self, walk: PredictedWalk) {
        match self.walks.iter_mut().find(|w| w.label == walk.label) {
            Some(w) => *w = walk,
            None => self.walks.push(walk),
        }
    }
}

/// Which walk the stick figure shows, at which frame, and whether it plays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Player {
    pub walk: usize,
    pub frame: usize,
    pub playing: bool,
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PredictAction {
    /// Search a walk: intact, or with the what-if's device (warm-started
    /// from the intact walk).
    Predict {
        with_device: bool,
        generations: usize,
    },
    Cancel,
    /// Keep the walk (index into the walks) in the twin as a variant.
    Keep(usize),
}

/// The section: controls, the walks' table, the angle plot, convergence
/// and the tuning map.
pub fn predict_section(ui: &mut Ui, state: &mut PredictState) -> Vec<PredictAction> {
    let mut actions = Vec::new();
    ui.horizontal_wrapped(|ui| {
        ui.add(
            egui::DragValue::new(&mut state.generations)
                .range(1..=2000)
                .suffix(" generations"),
        );
        ui.checkbox(&mut state.with_device, "with the device")
            .on_hover_text("Re-optimise with the what-if's prosthesis, warm-started from the intact walk");
        let ask = ui
            .add_enabled(!state.busy, egui::Button::new("Predict"))
            .on_hover_text(
                "Search a reflex controller of the planar model that walks (CMA-ES, SCONE-style cost)",
            );
        if ask.clicked() {
            actions.push(PredictAction::Predict {
                with_device: state.with_device,
                generations: state.generations,
            });
        }
        if crate::gait::busy_controls(ui, state.busy, state.progress.as_ref()) {
            actions.push(PredictAction::Cancel);
        }
        if let Some(w) = state.walks.get(state.player.walk) {
            let keep = ui
                .add_enabled(!state.busy, egui::Button::new("Keep as variant"))
                .on_hover_text(format!(
                    "Keep “{}” in the twin as a variant (its summary, the controller to replay it and, with a device, the tuning shown), for the report",
                    w.label
                ));
            if keep.clicked() {
                actions.push(PredictAction::Keep(state.player.walk));
            }
        }
        ui.label(&state.status);
    });
    egui::ScrollArea::vertical()
        .id_salt("predict-scroll")
        .show(ui, |ui| {
            if state.walks.is_empty() {
                ui.label("No predicted walk yet: Predict searches one (the best so far is shown as it improves).");
            } else {
                walks_table(ui, &state.walks);
                tuning_section(ui, state.landscape.as_ref());
                egui::CollapsingHeader::new("Stick figure")
                    .id_salt("predict-figure-header")
                    .default_open(true)
                    .show(ui, |ui| figure_section(ui, state));
                angle_plot(ui, state);
                egui::CollapsingHeader::new("Search convergence")
                    .id_salt("predict-convergence-header")
                    .show(ui, |ui| convergence_plot(ui, &state.walks));
            }
            if state.walks.is_empty() {
                tuning_section(ui, state.landscape.as_ref());
            }
        });
    actions
}

/// The tuning's heat map, under the walks' table (a tuning is read
/// beside the walk it started from).
fn tuning_section(ui: &mut Ui, landscape: Option<&Landscape>) {
    if let Some(l) = landscape {
        egui::CollapsingHeader::new("Device tuning")
            .id_salt("predict-tuning-header")
            .default_open(true)
            .show(ui, |ui| landscape_map(ui, l));
    }
}

/// A table cell's text from a walk.
type Cell = Box<dyn Fn(&PredictedWalk) -> String>;

/// One walk as a stick figure with its ground forces, played or scrubbed.
fn figure_section(ui: &mut Ui, state: &mut PredictState) {
    state.player.walk = state.player.walk.min(state.walks.len().saturating_sub(1));
    ui.horizontal(|ui| {
        for (k, w) in state.walks.iter().enumerate() {
            ui.selectable_value(&mut state.player.walk, k, &w.label);
        }
        let label = if state.player.playing {
            "Pause"
        } else {
            "Play"
        };
        if ui.button(label).clicked() {
            state.player.playing = !state.player.playing;
        }
    });
    let Some(w) = state.walks.get(state.player.walk) else {
        return;
    };
    let frames = w.figure.time.len();
    if frames > 1 {
        ui.add(egui::Slider::new(&mut state.player.frame, 0..=frames - 1).text("frame"));
    }
    state.player.frame = state.player.frame.min(frames.saturating_sub(1));
    crate::gait::figure(ui, &w.figure, state.player.frame, 170.0);
}

/// The walks side by side: one column each.
fn walks_table(ui: &mut Ui, walks: &[PredictedWalk]) {
    let lr = |v: [f64; 2], digits: usize| format!("{:.*} / {:.*}", digits, v[0], digits, v[1]);
    let rows: [(&str, Cell); 11] = [
        (
            "walks",
            Box::new(|w| {
                if w.fell {
                    format!("fell at {:.1} s", w.time_s)
                } else {
                    format!("{:.0} s", w.time_s)
                }
            }),
        ),
        (
            "speed (m/s)",
            Box::new(|w| format!("{:.2}", w.speed_m_per_s)),
        ),
        (
            "cost of transport (J/kg/m)",
            Box::new(|w| format!("{:.2}", w.cost_of_transport)),
        ),
        (
            "cadence (steps/min)",
            Box::new(|w| format!("{:.0}", w.cadence_steps_per_min)),
        ),
        (
            "step length R / L (m)",
            Box::new(move |w| lr(w.step_length_m, 2)),
        ),
        (
            "stance R / L (%)",
            Box::new(move |w| lr(w.stance_percent, 0)),
        ),
        (
            "stance asymmetry (%)",
            Box::new(|w| format!("{:+.1}", w.stance_asymmetry_percent)),
        ),
        (
            "peak GRF R / L (BW)",
            Box::new(move |w| lr(w.peak_grf_bw, 2)),
        ),
        (
            "ankle push-off R / L (J/kg)",
            Box::new(move |w| lr(w.ankle_work, 2)),
        ),
        (
            "hip work R / L (J/kg)",
            Box::new(move |w| lr(w.hip_work, 2)),
        ),
        ("generations", Box::new(|w| w.generations.to_string())),
    ];
    egui::Grid::new("predicted-walks")
        .striped(true)
        .num_columns(walks.len() + 1)
        .show(ui, |ui| {
            ui.label("");
            for (k, w) in walks.iter().enumerate() {
                ui.colored_label(WALKS[k % WALKS.len()], &w.label);
            }
            ui.end_row();
            for (name, value) in &rows {
                ui.label(*name);
                for w in walks {
                    ui.label(value(w));
                }
                ui.end_row();
            }
        });
}

/// The selected coordinate over the cycle: each walk's mean over strides
/// over the measured trial's (grey, ±1 SD when it has several strides).
fn angle_plot(ui: &mut Ui, state: &mut PredictState) {
    let names: Vec<String> = state
        .walks
        .iter()
        .flat_map(|w| w.angles.iter().map(|(n, _)| n.clone()))
        .fold(Vec::new(), |mut v, n| {
            if !v.contains(&n) {
                v.push(n);
            }
            v
        });
    ui.horizontal(|ui| {
        egui::ComboBox::from_id_salt("predict-coordinate")
            .selected_text(&state.selected)
            .show_ui(ui, |ui| {
                for n in &names {
                    ui.selectable_value(&mut state.selected, n.clone(), n);
                }
            });
        ui.selectable_value(&mut state.side, 0, "right");
        ui.selectable_value(&mut state.side, 1, "left");
    });
    let (name, side) = (state.selected.clone(), state.side.min(1));
    let measured = state
        .measured
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, b)| b[side].clone());
    // The plot takes what the pane has left (within reason).
    let height = (ui.available_height() - 36.0).clamp(140.0, 300.0);
    Plot::new("predict-angle")
        .height(height)
        .legend(Legend::default().text_style(egui::TextStyle::Small))
        .x_axis_label("% gait cycle")
        .y_axis_label("angle (°)")
        .allow_scroll(false)
        .show(ui, |plot| {
            if let Some(b) = &measured {
                let label = format!("measured (n = {})", b.strides);
                if b.strides > 1 {
                    for p in crate::gait::band_polygons(&label, b, MEASURED) {
                        plot.polygon(p);
                    }
                }
                plot.line(
                    crate::gait::band_line(&label, b, MEASURED)
                        .style(LineStyle::dashed_loose())
                        .width(1.5),
                );
            }
            for (k, w) in state.walks.iter().enumerate() {
                let Some(b) = w
                    .angles
                    .iter()
                    .find(|(n, _)| *n == name)
                    .and_then(|(_, b)| b[side].clone())
                else {
                    continue;
                };
                let r = w
                    .agreement
                    .iter()
                    .find(|(n, s, _)| *n == name && usize::from(*s == 'l') == side)
                    .map_or(String::new(), |(_, _, r)| format!(", r = {r:.2}"));
                plot.line(crate::gait::band_line(
                    &format!("{} (n = {}{r})", w.label, b.strides),
                    &b,
                    WALKS[k % WALKS.len()],
                ));
            }
        });
}

/// Best cost per generation of each walk's search.
fn convergence_plot(ui: &mut Ui, walks: &[PredictedWalk]) {
    Plot::new("predict-convergence")
        .height(110.0)
        .x_axis_label("generation")
        .y_axis_label("best cost")
        .allow_scroll(false)
        .show(ui, |plot| {
            for (k, w) in walks.iter().enumerate() {
                let pts: Vec<[f64; 2]> = w
                    .best_cost
                    .iter()
                    .enumerate()
                    .map(|(g, c)| [(g + 1) as f64, *c])
                    .collect();
                plot.line(
                    Line::new(w.label.clone(), PlotPoints::from(pts)).color(WALKS[k % WALKS.len()]),
                );
            }
        });
}

/// A colour from low (green) to high (red) over `[lo, hi]`.
fn heat(v: f64, lo: f64, hi: f64) -> Color32 {
    let t = if hi > lo {
        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let lerp = |a: f64, b: f64| (a + (b - a) * t) as u8;
    Color32::from_rgb(lerp(60.0, 220.0), lerp(170.0, 70.0), lerp(90.0, 60.0))
}

/// The tuning's heat map: mean cost of transport over the seeds that
/// walked (rows: stiffness, columns: neutral angle; grey where none walked),
/// each seed's optimum marked, and whether it holds.
pub fn landscape_map(ui: &mut Ui, l: &Landscape) {
    ui.label(egui::RichText::new("Device tuning: cost of transport (J/kg/m)").strong());
    let (nk, nn) = (l.stiffness.len(), l.neutral_deg.len());
    let values: Vec<Option<f64>> = (0..nk)
        .flat_map(|i| (0..nn).map(move |j| (i, j)))
        .map(|(i, j)| l.mean(i, j, |c| c.outcome.cost_of_transport))
        .collect();
    let (lo, hi) = values
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let label_w = 70.0;
    let cell = Vec2::new(
        ((ui.available_width() - label_w) / nn.max(1) as f32).clamp(40.0, 90.0),
        26.0,
    );
    let size = Vec2::new(label_w + cell.x * nn as f32, cell.y * (nk + 1) as f32);
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(rect);
    let font = egui::FontId::proportional(12.0);
    let text = Color32::from_gray(220);
    for (j, n) in l.neutral_deg.iter().enumerate() {
        painter.text(
            Pos2::new(
                rect.left() + label_w + cell.x * (j as f32 + 0.5),
                rect.top() + 13.0,
            ),
            egui::Align2::CENTER_CENTER,
            format!("{n:+.0}°"),
            font.clone(),
            text,
        );
    }
    for (i, k) in l.stiffness.iter().enumerate() {
        let y = rect.top() + cell.y * (i + 1) as f32;
        painter.text(
            Pos2::new(rect.left() + label_w - 6.0, y + cell.y / 2.0),
            egui::Align2::RIGHT_CENTER,
            format!("{k:.0}"),
            font.clone(),
            text,
        );
        for j in 0..nn {
            let r = Rect::from_min_size(
                Pos2::new(rect.left() + label_w + cell.x * j as f32, y),
                cell,
            )
            .shrink(1.0);
            let v = values[i * nn + j];
            painter.rect_filled(
                r,
                2.0,
                v.map_or(Color32::from_gray(70), |v| heat(v, lo, hi)),
            );
            let seeds = l.optimum.iter().filter(|o| **o == Some([i, j])).count();
            if seeds > 0 {
                painter.rect_stroke(
                    r,
                    2.0,
                    Stroke::new(2.0, Color32::WHITE),
                    egui::StrokeKind::Inside,
                );
            }
            let label = match v {
                Some(v) if seeds > 0 => format!("{v:.2} ★{seeds}"),
                Some(v) => format!("{v:.2}"),
                None => "no walk".to_owned(),
            };
            painter.text(
                r.center(),
                egui::Align2::CENTER_CENTER,
                label,
                font.clone(),
                Color32::BLACK,
            );
        }
    }
    ui.small(format!(
        "Rows: stiffness (N·m/rad); columns: neutral angle. ★n: the optimum of n of {} seed(s), outlined. {}",
        l.seeds.len(),
        if l.stable {
            "The optimum holds within one grid step across the seeds."
        } else {
            "The optimum does not hold within one grid step across the seeds."
        }
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_msk::predict::Outcome;
    use twin_session::predict::TuneCell;

    fn run(state: &mut PredictState) -> (Vec<PredictAction>, usize, String) {
        let mut actions = Vec::new();
        let out = crate::testing::frame(
            &egui::Context::default(),
            [600.0, 900.0],
            Vec::new(),
            |ui| actions = predict_section(ui, state),
        );
        let text = crate::painted_text(&out);
        (actions, out.shapes.len(), text)
    }

    fn band(offset: f64, strides: usize) -> Band {
        Band {
            mean: (0..101).map(|k| f64::from(k).sin() + offset).collect(),
            sd: vec![1.0; 101],
            strides,
        }
    }

    fn walk(label: &str, fell: bool) -> PredictedWalk {
        PredictedWalk {
            label: label.into(),
            generations: 3,
            fell,
            time_s: if fell { 2.5 } else { 20.0 },
            speed_m_per_s: 1.17,
            cost_of_transport: 6.8,
            cadence_steps_per_min: 107.0,
            step_length_m: [0.65, 0.64],
            stance_percent: [53.0, 55.0],
            peak_grf_bw: [1.4, 1.3],
            stance_asymmetry_percent: -4.7,
            ankle_work: [0.31, 0.12],
            hip_work: [0.4, 0.5],
            angles: vec![(
                "knee_angle".into(),
                [Some(band(0.0, 4)), Some(band(1.0, 3))],
            )],
            agreement: vec![("knee_angle".into(), 'r', 0.48)],
            best_cost: vec![14.0, 13.0, 12.8],
            figure: crate::gait::GaitView {
                time: vec![0.0, 0.01, 0.02],
                bones: vec![(1, 2)],
                origins: vec![vec![[0.0; 3], [0.0, 1.0, 0.0], [0.1, 0.5, 0.08]]; 3],
                loads: vec![vec![([0.0, 0.0, 0.08], [10.0, 600.0, 0.0])]; 3],
                ..crate::gait::GaitView::default()
            },
        }
    }

    #[test]
    fn the_section_asks_for_a_prediction_and_shows_the_walks() {
        let mut state = PredictState::default();
        let (actions, empty, text) = run(&mut state);
        assert!(actions.is_empty());
        assert!(text.contains("No predicted walk yet"), "{text}");
        state.set_walk(walk("intact", false));
        state.set_walk(walk("prosthesis", true));
        state.set_walk(walk("intact", false));
        assert_eq!(state.walks.len(), 2, "same label replaced");
        state.measured = vec![("knee_angle".into(), [Some(band(0.5, 1)), None])];
        let (_, shapes, text) = run(&mut state);
        assert!(shapes > empty + 20, "{shapes} vs {empty}");
        // The figure's frame stays inside the walk.
        state.player.frame = 99;
        let (_, _, later) = run(&mut state);
        assert_eq!(state.player.frame, 2);
        assert!(later.contains("t = 0.020 s"), "{later}");
        for expected in [
            "intact",
            "prosthesis",
            "t = 0.000 s",
            "fell at 2.5 s",
            "20 s",
            "0.65 / 0.64",
            "-4.7",
            "0.31 / 0.12",
            "measured (n = 1)",
            "r = 0.48",
            "Keep as variant",
        ] {
            assert!(text.contains(expected), "{expected} not in {text}");
        }
        // Busy: Predict disabled, progress and Cancel shown.
        state.busy = true;
        state.progress = Some(("predicting gait".into(), 0.3));
        let (_, _, text) = run(&mut state);
        assert!(
            text.contains("predicting gait") && text.contains("Cancel"),
            "{text}"
        );
    }

    #[test]
    fn a_prediction_becomes_a_walk_with_its_angles_and_agreement() {
        let series = vec![CycleSeries {
            name: "hip_flexion".into(),
            angle: [vec![vec![1.0; 101], vec![3.0; 101]], vec![]],
            moment: [vec![], vec![]],
        }];
        let b = bands(&series);
        assert_eq!(b[0].0, "hip_flexion");
        let right = b[0].1[0].as_ref().unwrap();
        assert!((right.mean[50] - 2.0).abs() < 1e-12 && right.strides == 2);
        assert!(b[0].1[1].is_none());
    }

    fn cell(k: f64, n: f64, seed: u64, cot: f64, fell: bool) -> TuneCell {
        TuneCell {
            stiffness: k,
            neutral_deg: n,
            seed,
            outcome: Outcome {
                cost_of_transport: cot,
                fell,
                ..Outcome::default()
            },
            stance_asymmetry_percent: 0.0,
            parameters: Vec::new(),
        }
    }

    #[test]
    fn the_tuning_map_draws_each_setting_and_marks_the_optimum() {
        let landscape = Landscape {
            stiffness: vec![300.0, 600.0],
            neutral_deg: vec![-5.0, 0.0, 5.0],
            seeds: vec![1],
            cells: vec![
                cell(300.0, -5.0, 1, 7.1, false),
                cell(300.0, 0.0, 1, 6.4, false),
                cell(300.0, 5.0, 1, 0.0, true),
                cell(600.0, -5.0, 1, 7.9, false),
                cell(600.0, 0.0, 1, 7.0, false),
                cell(600.0, 5.0, 1, 8.3, false),
            ],
            optimum: vec![Some([0, 1])],
            stable: true,
        };
        let mut state = PredictState {
            landscape: Some(landscape),
            ..PredictState::default()
        };
        let (_, _, text) = run(&mut state);
        for expected in [
            "6.40 ★1",
            "no walk",
            "8.30",
            "+5°",
            "600",
            "holds within one grid step",
        ] {
            assert!(text.contains(expected), "{expected} not in {text}");
        }
        assert_eq!(heat(1.0, 1.0, 2.0), Color32::from_rgb(60, 170, 90));
        assert_eq!(heat(2.0, 1.0, 2.0), Color32::from_rgb(220, 70, 60));
    }
}
