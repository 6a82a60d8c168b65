//! The cardiac twin over time: the timeline editor (events and drug doses
//! at times), the trends of a run (heart rate, blood pressure, cardiac
//! output, filling pressure, blood volume) with the events marked and a
//! cursor, the beat's waveforms at the cursor beside the resting beat, and
//! the vitals-following view (measured against the twin, the estimated
//! parameters with their uncertainty).

use egui::{Color32, RichText, Ui};
use egui_plot::{FilledArea, Line, LineStyle, Plot, PlotPoints, Points, VLine};
use twin_cardio::drugs::Drug;
use twin_cardio::follow::Follow;
use twin_cardio::timeline::{Event, TimedEvent, Timeline, TimelineRun, TrendPoint};
use twin_cardio::{Intervention, Waveforms};

use crate::cardio::trace;

/// The event kinds the editor offers.
pub const KINDS: [&str; 10] = [
    "haemorrhage",
    "fluid",
    "tilt",
    "pacing",
    "pacing off",
    "LVAD speed",
    "infusion",
    "bolus",
    "aortic stenosis",
    "TAVR",
];

/// The event being composed in the editor.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub kind: usize,
    pub at_min: f64,
    /// Volume (mL), angle (°), rate (1/min), speed (rpm), dose (µg/kg/min
    /// or mg) or area (cm²), by kind.
    pub value: f64,
    /// Duration (min) of a haemorrhage or fluid.
    pub over_min: f64,
    pub drug: Drug,
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            kind: 0,
            at_min: 2.0,
            value: 1000.0,
            over_min: 10.0,
            drug: Drug::Norepinephrine,
        }
    }
}

impl Draft {
    /// The value's label and a sensible range for the kind.
    #[must_use]
    pub fn value_field(&self) -> Option<(&'static str, std::ops::RangeInclusive<f64>)> {
        Some(match KINDS[self.kind] {
            "haemorrhage" | "fluid" => ("volume (mL)", 0.0..=3500.0),
            "tilt" => ("angle (°)", -10.0..=90.0),
            "pacing" => ("rate (1/min)", 30.0..=180.0),
            "LVAD speed" => ("speed (rpm, 0 off)", 0.0..=9000.0),
            "infusion" => ("rate (µg/kg/min)", 0.0..=300.0),
            "bolus" => ("dose (mg)", 0.0..=250.0),
            "aortic stenosis" => ("valve area (cm²)", 0.2..=4.0),
            "TAVR" => ("EOA (cm²)", 0.8..=3.5),
            _ => return None,
        })
    }

    /// The event it describes.
    #[must_use]
    pub fn event(&self) -> TimedEvent {
        let v = self.value;
        let event = match KINDS[self.kind] {
            "haemorrhage" => Event::Haemorrhage {
                volume_ml: v,
                over_min: self.over_min,
            },
            "fluid" => Event::Fluid {
                volume_ml: v,
                over_min: self.over_min,
            },
            "tilt" => Event::Tilt { angle_deg: v },
            "pacing" => Event::Pacing { rate_bpm: v },
            "pacing off" => Event::PacingOff,
            "LVAD speed" => Event::LvadSpeed { speed_rpm: v },
            "infusion" => Event::Infusion {
                drug: self.drug,
                rate_ug_kg_min: v,
            },
            "bolus" => Event::Bolus {
                drug: self.drug,
                dose_mg: v,
            },
            "aortic stenosis" => Event::Intervention {
                intervention: Intervention::AorticStenosis { valve_area_cm2: v },
            },
            _ => Event::Intervention {
                intervention: Intervention::Tavr { eoa_cm2: v },
            },
        };
        TimedEvent {
            at_min: self.at_min,
            event,
        }
    }
}

/// What the over-time panes show.
#[derive(Debug, Clone)]
pub struct TimelineState {
    pub timeline: Timeline,
    pub run: Option<TimelineRun>,
    /// The cursor (min) and the waveforms of its beat (with the beat's
    /// index, so they are recomputed only when the cursor changes beat).
    pub cursor_min: Option<f64>,
    pub beat: Option<(usize, Waveforms)>,
    /// The first beat (rest), for the ghost.
    pub rest_beat: Option<Waveforms>,
    pub draft: Draft,
    pub busy: bool,
    pub status: String,
    pub follow: Option<Follow>,
    pub follow_busy: bool,
    pub follow_status: String,
}

impl Default for TimelineState {
    fn default() -> Self {
        Self {
            timeline: Timeline::new(
                "Haemorrhage, then fluids",
                45.0,
                vec![
                    (
                        2.0,
                        Event::Haemorrhage {
                            volume_ml: 1500.0,
                            over_min: 10.0,
                        },
                    ),
                    (
                        15.0,
                        Event::Fluid {
                            volume_ml: 1000.0,
                            over_min: 15.0,
                        },
                    ),
                ],
            ),
            run: None,
            cursor_min: None,
            beat: None,
            rest_beat: None,
            draft: Draft::default(),
            busy: false,
            status: String::new(),
            follow: None,
            follow_busy: false,
            follow_status: String::new(),
        }
    }
}

impl TimelineState {
    /// Takes a finished run: keeps the cursor (within the run) and
    /// recomputes the beats shown.
    pub fn set_run(&mut self, run: TimelineRun) {
        self.rest_beat = run.waveforms_at(0.0).ok().flatten();
        let end = run.trend.last().map_or(0.0, |p| p.t_min);
        self.cursor_min = Some(self.cursor_min.unwrap_or(end).clamp(0.0, end));
        self.beat = None;
        self.run = Some(run);
        self.update_beat();
    }

    /// Recomputes the waveforms at the cursor when it moved to another beat
    /// (one beat, well under a millisecond).
    pub fn update_beat(&mut self) {
        let (Some(run), Some(t)) = (&self.run, self.cursor_min) else {
            return;
        };
        let Some(i) = run.beat_at(t) else { return };
        if self.beat.as_ref().is_some_and(|(j, _)| *j == i) {
            return;
        }
        if let Ok(Some(w)) = run.waveforms_at(t) {
            self.beat = Some((i, w));
        }
    }
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum TimelineAction {
    /// Simulate this timeline (in the background).
    Run(Timeline),
    /// Open a timeline file / save this one.
    Open,
    Save(Timeline),
    /// Choose a vitals file (CSV or FHIR JSON) and follow it.
    OpenVitals,
}

const HR: Color32 = Color32::from_rgb(90, 205, 205);
const SBP: Color32 = Color32::from_rgb(220, 80, 70);
const DBP: Color32 = Color32::from_rgb(80, 140, 230);
const MAP: Color32 = Color32::from_rgb(240, 190, 70);
const CO: Color32 = Color32::from_rgb(120, 200, 120);
const GHOST: Color32 = Color32::from_gray(140);
const EVENT: Color32 = Color32::from_rgb(170, 120, 220);
const CURSOR: Color32 = Color32::from_gray(220);

/// The editor: name, duration, reflexes, the events (remove with ×), a row
/// to add one, Run / Open / Save.
pub fn editor_pane(ui: &mut Ui, state: &mut TimelineState) -> Vec<TimelineAction> {
    let mut actions = Vec::new();
    let t = &mut state.timeline;
    ui.horizontal(|ui| {
        ui.label("Timeline");
        ui.text_edit_singleline(&mut t.name);
    });
    ui.horizontal(|ui| {
        ui.add(
            egui::DragValue::new(&mut t.duration_min)
                .range(1.0..=720.0)
                .suffix(" min"),
        );
        ui.checkbox(&mut t.reflex, "reflexes")
            .on_hover_text("Baroreflex and cardiopulmonary reflex (Ursino 1998); off: fixed heart rate, contractility and resistance");
        ui.add(
            egui::DragValue::new(&mut t.weight_kg)
                .range(30.0..=250.0)
                .suffix(" kg"),
        );
    });
    ui.separator();
    let mut remove = None;
    t.events.sort_by(|a, b| a.at_min.total_cmp(&b.at_min));
    egui::Grid::new("timeline-events")
        .num_columns(3)
        .striped(true)
        .show(ui, |ui| {
            for (i, e) in t.events.iter().enumerate() {
                ui.label(format!("{:5.1} min", e.at_min));
                ui.label(e.event.to_string());
                if ui.small_button("×").on_hover_text("Remove").clicked() {
                    remove = Some(i);
                }
                ui.end_row();
            }
        });
    if let Some(i) = remove {
        t.events.remove(i);
    }
    if t.events.is_empty() {
        ui.label(RichText::new("no events: the patient at rest").weak());
    } else {
        time_axis(ui, t);
    }
    ui.separator();
    let d = &mut state.draft;
    ui.horizontal_wrapped(|ui| {
        ui.label("at");
        ui.add(
            egui::DragValue::new(&mut d.at_min)
                .range(0.0..=720.0)
                .suffix(" min"),
        );
        egui::ComboBox::from_id_salt("event-kind")
            .selected_text(KINDS[d.kind])
            .show_ui(ui, |ui| {
                for (i, k) in KINDS.iter().enumerate() {
                    ui.selectable_value(&mut d.kind, i, *k);
                }
            });
        if matches!(KINDS[d.kind], "infusion" | "bolus") {
            egui::ComboBox::from_id_salt("event-drug")
                .selected_text(d.drug.name())
                .show_ui(ui, |ui| {
                    for drug in Drug::ALL {
                        ui.selectable_value(&mut d.drug, drug, drug.name());
                    }
                });
        }
        if let Some((label, range)) = d.value_field() {
            ui.label(label);
            ui.add(egui::DragValue::new(&mut d.value).range(range).speed(0.1));
        }
        if matches!(KINDS[d.kind], "haemorrhage" | "fluid") {
            ui.label("over");
            ui.add(
                egui::DragValue::new(&mut d.over_min)
                    .range(0.0..=600.0)
                    .suffix(" min"),
            );
        }
        if ui.button("Add").clicked() {
            t.events.push(d.event());
        }
    });
    ui.separator();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(!state.busy, egui::Button::new("Run"))
            .on_hover_text("Simulate beat by beat in the background")
            .clicked()
        {
            match t.validate() {
                Ok(()) => actions.push(TimelineAction::Run(t.clone())),
                Err(e) => state.status = e.to_string(),
            }
        }
        if ui.button("Open…").clicked() {
            actions.push(TimelineAction::Open);
        }
        if ui.button("Save…").clicked() {
            actions.push(TimelineAction::Save(t.clone()));
        }
        if state.busy {
            ui.spinner();
        }
    });
    if !state.status.is_empty() {
        ui.label(RichText::new(&state.status).small());
    }
    actions
}

/// The lane of the time axis an event sits in.
fn lane(e: &Event) -> &'static str {
    match e {
        Event::Haemorrhage { .. } | Event::Fluid { .. } => "volume",
        Event::Infusion { drug, .. } | Event::Bolus { drug, .. } => drug.name(),
        Event::Tilt { .. } => "posture",
        _ => "devices, valves",
    }
}

/// The events on a time axis: bleeding, fluids and infusions as bars over
/// their duration (an infusion until the next dose of its drug), the rest
/// as marks; one lane per kind (and per drug).
pub fn time_axis(ui: &mut Ui, t: &Timeline) {
    let mut lanes: Vec<&str> = Vec::new();
    let mut bars: Vec<(usize, f64, f64, Color32)> = Vec::new();
    let mut events: Vec<&TimedEvent> = t.events.iter().collect();
    events.sort_by(|a, b| a.at_min.total_cmp(&b.at_min));
    for (i, e) in events.iter().enumerate() {
        let name = lane(&e.event);
        let row = lanes.iter().position(|l| *l == name).unwrap_or_else(|| {
            lanes.push(name);
            lanes.len() - 1
        });
        let (end, colour) = match &e.event {
            Event::Haemorrhage { over_min, .. } => (e.at_min + over_min.max(0.2), SBP),
            Event::Fluid { over_min, .. } => (e.at_min + over_min.max(0.2), DBP),
            Event::Infusion {
                drug,
                rate_ug_kg_min,
            } if *rate_ug_kg_min > 0.0 => {
                let until = events[i + 1..]
                    .iter()
                    .find(|n| matches!(&n.event, Event::Infusion { drug: d, .. } if d == drug))
                    .map_or(t.duration_min, |n| n.at_min);
                (until, EVENT)
            }
            _ => (e.at_min + t.duration_min / 150.0, MAP),
        };
        bars.push((row, e.at_min, end, colour));
    }
    Plot::new("timeline-axis")
        .height(22.0 + 16.0 * lanes.len() as f32)
        .show_y(false)
        .show_axes([true, false])
        .include_x(0.0)
        .include_x(t.duration_min)
        .include_y(-0.6)
        .include_y(lanes.len() as f64 - 0.4)
        .allow_scroll(false)
        .allow_drag(false)
        .allow_zoom(false)
        .show(ui, |p| {
            for (row, a, b, colour) in &bars {
                let y = (lanes.len() - 1 - row) as f64;
                p.line(
                    Line::new("", vec![[*a, y], [*b, y]])
                        .color(*colour)
                        .width(6.0),
                );
            }
            for (k, name) in lanes.iter().enumerate() {
                let y = (lanes.len() - 1 - k) as f64;
                p.text(
                    egui_plot::Text::new(
                        "",
                        egui_plot::PlotPoint::new(0.0, y + 0.35),
                        RichText::new(*name).small(),
                    )
                    .anchor(egui::Align2::LEFT_CENTER),
                );
            }
        });
}

/// A row of coloured names above a plot (legends inside the plot would
/// cover its curves).
fn key(ui: &mut Ui, items: &[(&str, Color32)]) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 10.0;
        for (name, colour) in items {
            ui.label(RichText::new(format!("■ {name}")).color(*colour).small());
        }
    });
}

/// A parameter's estimate and standard deviation at a sample.
type Estimate = fn(&twin_cardio::follow::FollowPoint) -> (f64, f64);

fn series(run: &TimelineRun, f: fn(&TrendPoint) -> f64) -> Vec<[f64; 2]> {
    run.trend.iter().map(|p| [p.t_min, f(p)]).collect()
}

/// Marks the events and the cursor, and moves the cursor on a click or drag.
fn marks(plot: &mut egui_plot::PlotUi<'_>, run: &TimelineRun, cursor: &mut Option<f64>) {
    for (t, _) in &run.events {
        plot.vline(
            VLine::new("", *t)
                .color(EVENT)
                .style(LineStyle::dashed_dense()),
        );
    }
    let r = plot.response();
    if (r.clicked() || r.dragged())
        && let Some(p) = plot.pointer_coordinate()
    {
        *cursor = Some(p.x.max(0.0));
    }
    if let Some(c) = cursor {
        plot.vline(VLine::new("", *c).color(CURSOR).width(1.5));
    }
}

/// The trends of the run, stacked on a shared time axis; click or drag to
/// move the cursor.
pub fn trends_pane(ui: &mut Ui, state: &mut TimelineState) {
    let Some(run) = &state.run else {
        ui.label(RichText::new("Run a timeline to see its trends.").weak());
        return;
    };
    if let Some(t) = state.cursor_min
        && let Some(i) = run.beat_at(t)
    {
        let p = &run.trend[i];
        ui.label(
            RichText::new(format!(
                "{:.1} min: HR {:.0}/min  BP {:.0}/{:.0} ({:.0}) mmHg  CO {:.2} L/min  LVEDP {:.1} mmHg  RA {:.1} mmHg  blood volume {:+.0} mL",
                p.t_min,
                p.heart_rate_bpm,
                p.sbp_mmhg,
                p.dbp_mmhg,
                p.map_mmhg,
                p.cardiac_output_l_min,
                p.lvedp_mmhg,
                p.mean_ra_mmhg,
                p.blood_volume_change_ml
            ))
            .small(),
        );
    }
    let h = ((ui.available_height() - 80.0) / 3.0).max(70.0);
    let mut cursor = state.cursor_min;
    let group = egui::Id::new("timeline-trends");
    let plot = |id: &str, y: &str| {
        Plot::new(id.to_owned())
            .height(h)
            .y_axis_label(y.to_owned())
            .link_axis(group, [true, false])
            .link_cursor(group, [true, false])
            .allow_scroll(false)
            .allow_drag(false)
    };
    key(
        ui,
        &[
            ("systolic", SBP),
            ("mean", MAP),
            ("diastolic", DBP),
            ("events", EVENT),
            ("cursor (click to move)", CURSOR),
        ],
    );
    plot("trend-bp", "mmHg").show(ui, |p| {
        p.line(Line::new("systolic", series(run, |t| t.sbp_mmhg)).color(SBP));
        p.line(Line::new("mean", series(run, |t| t.map_mmhg)).color(MAP));
        p.line(Line::new("diastolic", series(run, |t| t.dbp_mmhg)).color(DBP));
        marks(p, run, &mut cursor);
    });
    key(
        ui,
        &[
            ("heart rate (1/min)", HR),
            ("cardiac output (L/min × 10)", CO),
        ],
    );
    plot("trend-hr", "1/min · L/min×10").show(ui, |p| {
        p.line(Line::new("heart rate", series(run, |t| t.heart_rate_bpm)).color(HR));
        p.line(
            Line::new(
                "cardiac output ×10",
                series(run, |t| 10.0 * t.cardiac_output_l_min),
            )
            .color(CO),
        );
        marks(p, run, &mut cursor);
    });
    key(
        ui,
        &[
            ("LVEDP (mmHg)", SBP),
            ("mean RA (mmHg)", DBP),
            ("blood volume change (mL / 100)", GHOST),
        ],
    );
    plot("trend-volume", "mmHg · mL/100")
        .x_axis_label("time (min)")
        .show(ui, |p| {
            p.line(Line::new("LVEDP", series(run, |t| t.lvedp_mmhg)).color(SBP));
            p.line(Line::new("mean RA", series(run, |t| t.mean_ra_mmhg)).color(DBP));
            p.line(
                Line::new(
                    "blood volume change /100",
                    series(run, |t| t.blood_volume_change_ml / 100.0),
                )
                .color(GHOST),
            );
            marks(p, run, &mut cursor);
        });
    if cursor != state.cursor_min {
        state.cursor_min = cursor;
        state.update_beat();
    }
}

/// The beat at the cursor (LV, aortic and LA pressure) over the resting beat.
pub fn beat_pane(ui: &mut Ui, state: &TimelineState) {
    let Some((i, w)) = &state.beat else {
        ui.label(RichText::new("The beat at the cursor shows here.").weak());
        return;
    };
    let t_min = state
        .run
        .as_ref()
        .and_then(|r| r.trend.get(*i))
        .map_or(0.0, |p| p.t_min);
    ui.label(RichText::new(format!("beat at {t_min:.1} min")).small());
    key(
        ui,
        &[("LV", SBP), ("aorta", MAP), ("LA", CO), ("rest", GHOST)],
    );
    Plot::new("timeline-beat")
        .x_axis_label("time (ms)")
        .y_axis_label("pressure (mmHg)")
        .allow_scroll(false)
        .show(ui, |p| {
            if let Some(r) = &state.rest_beat {
                p.line(Line::new("rest LV", trace(r, &r.p_lv)).color(GHOST));
                p.line(Line::new("rest aorta", trace(r, &r.p_ao)).color(GHOST));
            }
            p.line(Line::new("LV", trace(w, &w.p_lv)).color(SBP).width(2.0));
            p.line(Line::new("aorta", trace(w, &w.p_ao)).color(MAP).width(2.0));
            p.line(Line::new("LA", trace(w, &w.p_la)).color(CO).width(1.5));
        });
}

/// The vitals-following view: measured points against the twin (±2 SD),
/// and the estimated resistance, contractility and blood volume change.
pub fn vitals_pane(ui: &mut Ui, state: &TimelineState) -> Vec<TimelineAction> {
    let mut actions = Vec::new();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(!state.follow_busy, egui::Button::new("Follow vitals…"))
            .on_hover_text("A CSV (time, hr, sbp, dbp) or a FHIR R4 Bundle of heart-rate and blood-pressure Observations")
            .clicked()
        {
            actions.push(TimelineAction::OpenVitals);
        }
        if state.follow_busy {
            ui.spinner();
        }
        ui.label(RichText::new(&state.follow_status).small());
    });
    let Some(f) = &state.follow else {
        ui.label(
            RichText::new(
                "No vitals followed yet: open a CSV (time, hr, sbp, dbp) or a FHIR R4 Bundle of heart-rate and blood-pressure Observations (examples/vitals/ has both).",
            )
            .weak(),
        );
        return actions;
    };
    let h = (ui.available_height() - 30.0).max(80.0);
    let xs: Vec<f64> = f.points.iter().map(|p| p.t_min).collect();
    let band = |m: usize, sign: f64| -> Vec<f64> {
        f.points
            .iter()
            .map(|p| p.twin[m] + sign * 2.0 * p.twin_sd[m])
            .collect()
    };
    let group = egui::Id::new("vitals");
    ui.columns(2, |cols| {
        key(
            &mut cols[0],
            &[
                ("HR", HR),
                ("SBP", SBP),
                ("DBP", DBP),
                ("dots: measured, line and band: twin ± 2 SD", GHOST),
            ],
        );
        Plot::new("vitals-measured")
            .height(h)
            .x_axis_label("time (min)")
            .y_axis_label("1/min · mmHg")
            .link_axis(group, [true, false])
            .allow_scroll(false)
            .show(&mut cols[0], |p| {
                for (m, name, colour) in [(0, "HR", HR), (1, "SBP", SBP), (2, "DBP", DBP)] {
                    p.add(
                        FilledArea::new("", &xs, &band(m, -1.0), &band(m, 1.0))
                            .fill_color(colour.gamma_multiply(0.25)),
                    );
                    let twin: Vec<[f64; 2]> =
                        f.points.iter().map(|q| [q.t_min, q.twin[m]]).collect();
                    p.line(Line::new(format!("{name} twin"), twin).color(colour));
                    let measured: Vec<[f64; 2]> = f
                        .points
                        .iter()
                        .filter_map(|q| q.measured[m].map(|v| [q.t_min, v]))
                        .collect();
                    p.points(
                        Points::new(format!("{name} measured"), PlotPoints::from(measured))
                            .color(colour)
                            .radius(2.5),
                    );
                }
            });
        key(
            &mut cols[1],
            &[
                ("resistance ×", MAP),
                ("contractility ×", CO),
                ("blood volume change (L)", DBP),
                ("± 2 SD", GHOST),
            ],
        );
        Plot::new("vitals-estimates")
            .height(h)
            .x_axis_label("time (min)")
            .y_axis_label("× · L")
            .link_axis(group, [true, false])
            .allow_scroll(false)
            .show(&mut cols[1], |p| {
                let est = |g: Estimate| {
                    let (mut lo, mut hi, mut mid) = (Vec::new(), Vec::new(), Vec::new());
                    for q in &f.points {
                        let (m, sd) = g(q);
                        lo.push(m - 2.0 * sd);
                        hi.push(m + 2.0 * sd);
                        mid.push([q.t_min, m]);
                    }
                    (lo, hi, mid)
                };
                let rows: [(&str, Color32, Estimate); 3] = [
                    ("resistance ×", MAP, |q| {
                        (q.resistance_scale, q.resistance_scale * q.resistance_sd_log)
                    }),
                    ("contractility ×", CO, |q| {
                        (
                            q.contractility_scale,
                            q.contractility_scale * q.contractility_sd_log,
                        )
                    }),
                    ("blood volume change (L)", DBP, |q| {
                        (q.volume_change_ml / 1000.0, q.volume_sd_ml / 1000.0)
                    }),
                ];
                for (name, colour, g) in rows {
                    let (lo, hi, mid) = est(g);
                    p.add(
                        FilledArea::new("", &xs, &lo, &hi).fill_color(colour.gamma_multiply(0.25)),
                    );
                    p.line(Line::new(name, mid).color(colour).width(2.0));
                }
            });
    });
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_draft_kind_makes_a_valid_event() {
        for (kind, name) in KINDS.iter().enumerate() {
            let mut d = Draft {
                kind,
                ..Draft::default()
            };
            if let Some((_, range)) = d.value_field() {
                d.value = 0.5 * (range.start() + range.end());
                if *name == "infusion" {
                    d.drug = Drug::Esmolol;
                    d.value = 100.0;
                }
                if *name == "bolus" {
                    d.drug = Drug::Esmolol;
                    d.value = 35.0;
                }
                if *name == "LVAD speed" {
                    d.value = 6000.0;
                }
            }
            let t = Timeline {
                events: vec![d.event()],
                ..TimelineState::default().timeline
            };
            t.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn the_panes_draw_a_run_and_the_cursor_picks_a_beat() {
        let mut state = TimelineState::default();
        state.timeline.duration_min = 3.0;
        state.timeline.events.truncate(1);
        state.timeline.events[0].at_min = 0.5;
        let run = state.timeline.run(&twin_core::Progress::new()).unwrap();
        state.set_run(run);
        assert!(state.beat.is_some());
        state.cursor_min = Some(1.0);
        state.update_beat();
        let i = state.beat.as_ref().unwrap().0;
        assert_eq!(Some(i), state.run.as_ref().unwrap().beat_at(1.0));
        let ctx = egui::Context::default();
        let mut actions = Vec::new();
        let _ = crate::testing::frame(&ctx, [1200.0, 900.0], Vec::new(), |ui| {
            actions.extend(editor_pane(ui, &mut state));
            trends_pane(ui, &mut state);
            beat_pane(ui, &state);
            actions.extend(vitals_pane(ui, &state));
        });
        assert!(actions.is_empty());
    }
}
