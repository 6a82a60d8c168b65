//! The cardiac twin panel: calibration targets, what-if controls, PV loops
//! and a Wiggers diagram with the baseline as a ghost, and the indices with
//! their change from baseline.

use egui::{Color32, RichText, Ui};
use egui_plot::{Legend, Line, Plot};
use twin_cardio::{BeatIndices, Intervention, Scenario, Targets, Waveforms};

/// Indices and waveforms of one steady-state run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CardioResult {
    pub indices: BeatIndices,
    pub waveforms: Waveforms,
}

impl From<&twin_scenario::runs::CardioRun> for CardioResult {
    fn from(r: &twin_scenario::runs::CardioRun) -> Self {
        Self {
            indices: r.indices.clone(),
            waveforms: r.waveforms.clone(),
        }
    }
}

/// The what-if controls; neutral values change nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Controls {
    /// Aortic valve area (cm²); 4 = healthy.
    pub aortic_area_cm2: f64,
    /// Mitral effective regurgitant orifice (cm²); 0 = competent.
    pub mitral_eroa_cm2: f64,
    /// Heart rate (pacing), 1/min.
    pub heart_rate_bpm: f64,
    pub contractility: f64,
    pub svr: f64,
    pub fluid_ml: f64,
    /// LVAD speed (rpm); 0 = no pump.
    pub lvad_rpm: f64,
}

impl Default for Controls {
    fn default() -> Self {
        Self {
            aortic_area_cm2: 4.0,
            mitral_eroa_cm2: 0.0,
            heart_rate_bpm: 75.0,
            contractility: 1.0,
            svr: 1.0,
            fluid_ml: 0.0,
            lvad_rpm: 0.0,
        }
    }
}

impl Controls {
    /// Controls showing a scenario (the interventions the controls cover;
    /// others are left out).
    #[must_use]
    pub fn from_scenario(s: &Scenario, base_hr: f64) -> Self {
        let mut c = Self {
            heart_rate_bpm: base_hr,
            ..Self::default()
        };
        for i in &s.interventions {
            match *i {
                Intervention::AorticStenosis { valve_area_cm2 } => {
                    c.aortic_area_cm2 = valve_area_cm2;
                }
                Intervention::Tavr { eoa_cm2 } => c.aortic_area_cm2 = eoa_cm2,
                Intervention::MitralRegurgitation { orifice_area_cm2 } => {
                    c.mitral_eroa_cm2 = orifice_area_cm2;
                }
                Intervention::MitralRepair => c.mitral_eroa_cm2 = 0.0,
                Intervention::Pacing { rate_bpm } => c.heart_rate_bpm = rate_bpm,
                Intervention::Inotrope {
                    contractility_scale,
                } => c.contractility *= contractility_scale,
                Intervention::Vasoactive { svr_scale } => c.svr *= svr_scale,
                Intervention::Fluid { volume_ml } => c.fluid_ml += volume_ml,
                Intervention::BetaBlocker {
                    rate_scale,
                    contractility_scale,
                } => {
                    c.heart_rate_bpm *= rate_scale;
                    c.contractility *= contractility_scale;
                }
                Intervention::Lvad { speed_rpm } => c.lvad_rpm = speed_rpm,
                Intervention::AorticRegurgitation { .. } | Intervention::Activation(_) => {}
            }
        }
        c
    }

    /// The scenario these controls describe, relative to a patient whose
    /// heart rate is `base_hr`.
    #[must_use]
    pub fn scenario(&self, base_hr: f64) -> Scenario {
        let mut v = Vec::new();
        if self.aortic_area_cm2 < 3.99 {
            v.push(Intervention::AorticStenosis {
                valve_area_cm2: self.aortic_area_cm2,
            });
        }
        if self.mitral_eroa_cm2 > 0.0 {
            v.push(Intervention::MitralRegurgitation {
                orifice_area_cm2: self.mitral_eroa_cm2.max(1e-4),
            });
        }
        if (self.heart_rate_bpm - base_hr).abs() > 0.5 {
            v.push(Intervention::Pacing {
                rate_bpm: self.heart_rate_bpm,
            });
        }
        if (self.contractility - 1.0).abs() > 1e-3 {
            v.push(Intervention::Inotrope {
                contractility_scale: self.contractility,
            });
        }
        if (self.svr - 1.0).abs() > 1e-3 {
            v.push(Intervention::Vasoactive {
                svr_scale: self.svr,
            });
        }
        if self.fluid_ml.abs() > 0.5 {
            v.push(Intervention::Fluid {
                volume_ml: self.fluid_ml,
            });
        }
        if self.lvad_rpm >= 3000.0 {
            v.push(Intervention::Lvad {
                speed_rpm: self.lvad_rpm,
            });
        }
        Scenario {
            name: "what-if".into(),
            description: String::new(),
            interventions: v,
        }
    }
}

/// A variant of the twin as the plots show it: in its colour, thick when
/// it is the one selected.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantCurve {
    pub name: String,
    pub colour: Color32,
    /// `None` while it runs.
    pub result: Option<CardioResult>,
    pub selected: bool,
}

/// Everything the panel shows.
#[derive(Debug, Clone)]
pub struct CardioState {
    /// The twin's variants, overlaid on the baseline (empty: the controls'
    /// what-if alone, as `current`).
    pub variants: Vec<VariantCurve>,
    /// The name of the what-if the controls edit (the selected variant).
    pub editing: Option<String>,
    pub targets: Targets,
    /// Where the EDV/ESV targets came from (e.g. "LV curve of series 5.1").
    pub targets_source: String,
    pub controls: Controls,
    pub baseline: Option<CardioResult>,
    pub current: Option<CardioResult>,
    /// Calibration outcome or errors.
    pub status: String,
    pub busy: bool,
    /// A cine is loaded, so targets can come from its LV curve.
    pub cine_available: bool,
    /// Scale the newest segment (or the study surface) with the simulated
    /// LV volume over the cycle.
    pub pulse_mesh: bool,
}

impl Default for CardioState {
    fn default() -> Self {
        Self {
            targets: Targets {
                heart_rate_bpm: 75.0,
                sbp_mmhg: 120.0,
                dbp_mmhg: 80.0,
                lv_edv_ml: 125.0,
                lv_esv_ml: 50.0,
                rv_edv_ml: None,
                rv_esv_ml: None,
            },
            variants: Vec::new(),
            editing: None,
            targets_source: "typical adult".into(),
            controls: Controls::default(),
            baseline: None,
            current: None,
            status: String::new(),
            busy: false,
            cine_available: false,
            pulse_mesh: false,
        }
    }
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum CardioAction {
    /// Fit the model to the targets (and make it the baseline).
    Calibrate(Targets),
    /// Run the what-if of the controls from the calibrated patient.
    Simulate(Scenario),
    /// Measure the LV volume curve of the loaded cine (the LV found
    /// without a click) and use its EDV, ESV and heart rate as targets.
    FromImaging,
}

const GHOST: Color32 = Color32::from_gray(140);
const LV: Color32 = Color32::from_rgb(220, 80, 70);
const RV: Color32 = Color32::from_rgb(80, 140, 230);
const AO: Color32 = Color32::from_rgb(240, 190, 70);
const LA: Color32 = Color32::from_rgb(120, 200, 120);

fn pv(w: &Waveforms, rv: bool) -> Vec<[f64; 2]> {
    let (v, p) = if rv {
        (&w.v_rv, &w.p_rv)
    } else {
        (&w.v_lv, &w.p_lv)
    };
    v.iter().zip(p).map(|(&a, &b)| [a, b]).collect()
}

/// A pressure (or flow) over the beat, time in ms, for a plot.
pub(crate) fn trace(w: &Waveforms, y: &[f64]) -> Vec<[f64; 2]> {
    w.t.iter().zip(y).map(|(&t, &v)| [t * 1000.0, v]).collect()
}

/// The mesh scale at `t` seconds into a looping beat: (V_LV(t) / EDV)^⅓.
#[must_use]
pub fn pulse_scale(r: &CardioResult, t: f64) -> Option<f32> {
    let w = &r.waveforms;
    let period = *w.t.last()?;
    let edv = r.indices.lv_edv_ml;
    if period <= 0.0 || edv <= 0.0 {
        return None;
    }
    let tt = t.rem_euclid(period);
    let i = w.t.partition_point(|&x| x < tt).min(w.t.len() - 1);
    Some((w.v_lv[i] / edv).cbrt() as f32)
}

/// The rows of the indices table: name, unit, value.
#[must_use]
pub fn index_rows(b: &BeatIndices) -> Vec<(&'static str, f64)> {
    vec![
        ("HR (1/min)", b.heart_rate_bpm),
        ("SBP (mmHg)", b.sbp_mmhg),
        ("DBP (mmHg)", b.dbp_mmhg),
        ("MAP (mmHg)", b.map_mmhg),
        ("CO (L/min)", b.cardiac_output_l_min),
        ("LV EDV (mL)", b.lv_edv_ml),
        ("LV ESV (mL)", b.lv_esv_ml),
        ("LV EF (%)", b.lv_ef_percent),
        ("LVEDP (mmHg)", b.lvedp_mmhg),
        ("mean LA (mmHg)", b.mean_la_mmhg),
        ("PA mean (mmHg)", b.pa_mean_mmhg),
        ("AV mean gradient (mmHg)", b.aortic.mean_gradient_mmhg),
        ("MR fraction (%)", b.mitral.regurgitant_fraction_percent),
        ("Stroke work (J)", b.stroke_work_mmhg_ml * 1.333e-4),
        ("Ea/Ees", b.ea_ees),
        ("LVAD (L/min)", b.device_ml * b.heart_rate_bpm / 1000.0),
    ]
}

/// Draws the whole panel (every section below, one after the other);
/// returns the user's actions.
pub fn cardio_panel(ui: &mut Ui, state: &mut CardioState) -> Vec<CardioAction> {
    let mut actions = calibration_section(ui, state);
    ui.separator();
    actions.extend(controls_section(ui, state));
    ui.separator();
    let height = 170.0;
    ui.columns(2, |cols| {
        pv_plot(&mut cols[0], state, height);
        wiggers_plot(&mut cols[1], state, height);
    });
    ui.separator();
    indices_section(ui, state);
    actions
}

/// The patient's targets (heart rate, blood pressure, LV volumes; from the
/// cine when one is open) and Calibrate, with where they came from.
pub fn calibration_section(ui: &mut Ui, state: &mut CardioState) -> Vec<CardioAction> {
    let mut actions = Vec::new();
    ui.heading("Patient calibration");
    ui.label(
        RichText::new(format!("targets: {}", state.targets_source))
            .small()
            .weak(),
    );
    let t = &mut state.targets;
    egui::Grid::new("targets").num_columns(4).show(ui, |ui| {
        ui.label("HR");
        ui.add(
            egui::DragValue::new(&mut t.heart_rate_bpm)
                .range(30.0..=180.0)
                .suffix(" /min"),
        );
        ui.label("BP");
        ui.horizontal(|ui| {
            ui.add(egui::DragValue::new(&mut t.sbp_mmhg).range(60.0..=250.0));
            ui.label("/");
            ui.add(egui::DragValue::new(&mut t.dbp_mmhg).range(25.0..=150.0));
        });
        ui.end_row();
        ui.label("LV EDV");
        ui.add(
            egui::DragValue::new(&mut t.lv_edv_ml)
                .range(40.0..=400.0)
                .suffix(" mL"),
        );
        ui.label("LV ESV");
        ui.add(
            egui::DragValue::new(&mut t.lv_esv_ml)
                .range(5.0..=390.0)
                .suffix(" mL"),
        );
        ui.end_row();
    });
    ui.horizontal(|ui| {
        if ui
            .add_enabled(!state.busy, egui::Button::new("Calibrate"))
            .clicked()
        {
            actions.push(CardioAction::Calibrate(state.targets));
        }
        if ui
            .add_enabled(
                state.cine_available && !state.busy,
                egui::Button::new("LV volumes from the cine"),
            )
            .on_hover_text(
                "Find the LV (and its wall and the RV) in every slice and phase of the cine; review the contours in the Contours workspace",
            )
            .clicked()
        {
            actions.push(CardioAction::FromImaging);
        }
        if state.busy {
            ui.spinner();
        }
        ui.label(RichText::new(&state.status).small());
    });

    actions
}

/// The what-if controls of the selected variant (or a new one).
pub fn controls_section(ui: &mut Ui, state: &mut CardioState) -> Vec<CardioAction> {
    let mut actions = Vec::new();
    ui.heading(match &state.editing {
        Some(name) => format!("What if… ({name})"),
        None => "What if… (a new variant)".to_owned(),
    });
    let c = &mut state.controls;
    let before = *c;
    let mut released = false;
    let mut slider =
        |ui: &mut Ui, value: &mut f64, range: std::ops::RangeInclusive<f64>, text: &str| {
            let r = ui.add(egui::Slider::new(value, range).text(text));
            released |= r.drag_stopped() || (r.changed() && !r.dragged());
        };
    slider(
        ui,
        &mut c.aortic_area_cm2,
        0.5..=4.0,
        "aortic valve area (cm²)",
    );
    slider(
        ui,
        &mut c.mitral_eroa_cm2,
        0.0..=0.6,
        "mitral regurgitant orifice (cm²)",
    );
    slider(
        ui,
        &mut c.heart_rate_bpm,
        40.0..=150.0,
        "heart rate (pacing)",
    );
    slider(ui, &mut c.contractility, 0.3..=2.0, "contractility ×");
    slider(ui, &mut c.svr, 0.4..=2.5, "systemic resistance ×");
    slider(ui, &mut c.fluid_ml, -1500.0..=1500.0, "fluid (mL)");
    slider(
        ui,
        &mut c.lvad_rpm,
        0.0..=9000.0,
        "LVAD speed (rpm, < 3000 off)",
    );
    ui.horizontal(|ui| {
        if ui.button("Reset").clicked() {
            *c = Controls {
                heart_rate_bpm: state.targets.heart_rate_bpm,
                ..Controls::default()
            };
            released = true;
        }
    });
    if released && (*c != before || state.current.is_none()) {
        actions.push(CardioAction::Simulate(
            c.scenario(state.targets.heart_rate_bpm),
        ));
    }

    ui.checkbox(
        &mut state.pulse_mesh,
        "Pulse the LV mesh in 3D with the simulated volume",
    )
    .on_hover_text(
        "The newest segment (or the study surface) is scaled by (V/EDV)^⅓ over the simulated beat",
    );
    actions
}

/// The LV (and RV) pressure–volume loops of the baseline and every variant.
pub fn pv_plot(ui: &mut Ui, state: &CardioState, height: f32) {
    Plot::new("pv")
        .height(height)
        .legend(Legend::default())
        .x_axis_label("volume (mL)")
        .y_axis_label("pressure (mmHg)")
        .allow_scroll(false)
        .show(ui, |plot| {
            if let Some(b) = &state.baseline {
                plot.line(Line::new("baseline LV", pv(&b.waveforms, false)).color(GHOST));
                plot.line(Line::new("baseline RV", pv(&b.waveforms, true)).color(GHOST));
            }
            for v in &state.variants {
                if let Some(r) = &v.result {
                    let width = if v.selected { 2.5 } else { 1.2 };
                    plot.line(
                        Line::new(format!("{} LV", v.name), pv(&r.waveforms, false))
                            .color(v.colour)
                            .width(width),
                    );
                }
            }
            if let (Some(r), true) = (&state.current, state.variants.is_empty()) {
                plot.line(
                    Line::new("LV", pv(&r.waveforms, false))
                        .color(LV)
                        .width(2.0),
                );
                plot.line(Line::new("RV", pv(&r.waveforms, true)).color(RV).width(2.0));
            }
        });
}

/// The Wiggers diagram: LV, aortic and LA pressures over the beat.
pub fn wiggers_plot(ui: &mut Ui, state: &CardioState, height: f32) {
    Plot::new("wiggers")
        .height(height)
        .legend(Legend::default())
        .x_axis_label("time (ms)")
        .y_axis_label("pressure (mmHg)")
        .allow_scroll(false)
        .show(ui, |plot| {
            if let Some(b) = &state.baseline {
                let w = &b.waveforms;
                plot.line(Line::new("baseline LV", trace(w, &w.p_lv)).color(GHOST));
                plot.line(Line::new("baseline aorta", trace(w, &w.p_ao)).color(GHOST));
            }
            for v in &state.variants {
                if let Some(r) = &v.result {
                    let w = &r.waveforms;
                    let width = if v.selected { 2.5 } else { 1.2 };
                    plot.line(
                        Line::new(format!("{} aorta", v.name), trace(w, &w.p_ao))
                            .color(v.colour)
                            .width(width),
                    );
                    if v.selected {
                        plot.line(
                            Line::new(format!("{} LV", v.name), trace(w, &w.p_lv))
                                .color(v.colour)
                                .width(1.2),
                        );
                    }
                }
            }
            if let (Some(r), true) = (&state.current, state.variants.is_empty()) {
                let w = &r.waveforms;
                plot.line(Line::new("LV", trace(w, &w.p_lv)).color(LV).width(2.0));
                plot.line(Line::new("aorta", trace(w, &w.p_ao)).color(AO).width(2.0));
                plot.line(Line::new("LA", trace(w, &w.p_la)).color(LA).width(1.5));
            }
        });
}

/// The beat's indices, baseline against the shown variant.
pub fn indices_section(ui: &mut Ui, state: &CardioState) {
    egui::Grid::new("indices")
        .num_columns(4)
        .striped(true)
        .show(ui, |ui| {
            ui.label(RichText::new("index").strong());
            ui.label(RichText::new("baseline").strong());
            ui.label(RichText::new(state.editing.as_deref().unwrap_or("what-if")).strong());
            ui.label(RichText::new("change").strong());
            ui.end_row();
            let base = state.baseline.as_ref().map(|b| index_rows(&b.indices));
            let now = state.current.as_ref().map(|r| index_rows(&r.indices));
            let n = base.as_ref().or(now.as_ref()).map_or(0, Vec::len);
            for i in 0..n {
                let name = base.as_ref().or(now.as_ref()).map_or("", |r| r[i].0);
                ui.label(name);
                let b = base.as_ref().map(|r| r[i].1);
                let v = now.as_ref().map(|r| r[i].1);
                for x in [b, v] {
                    match x {
                        Some(x) => crate::number::label(ui, x, 1),
                        None => {
                            ui.label("–");
                        }
                    }
                }
                match (b, v) {
                    (Some(b), Some(v)) if !(v - b).is_finite() => {
                        ui.label(crate::number::change(b, v, 1));
                    }
                    (Some(b), Some(v)) if (v - b).abs() > 0.05 => {
                        let col = if v > b {
                            Color32::from_rgb(230, 150, 90)
                        } else {
                            Color32::from_rgb(110, 170, 230)
                        };
                        ui.label(crate::number::change(b, v, 1).color(col));
                    }
                    _ => {
                        ui.label("");
                    }
                }
                ui.end_row();
            }
        });
}

/// The most columns of the Compare workspace: the baseline and four
/// variants.
pub const COMPARE_COLUMNS: usize = 5;

/// The baseline and up to four variants in columns, each with its PV loop
/// and aortic pressure on axes shared by all columns and its key indices.
pub fn compare_columns(ui: &mut Ui, state: &CardioState) {
    let mut cols: Vec<(String, Color32, &CardioResult)> = Vec::new();
    if let Some(b) = &state.baseline {
        cols.push(("Baseline".into(), GHOST, b));
    }
    for v in &state.variants {
        if let Some(r) = &v.result
            && cols.len() < COMPARE_COLUMNS
        {
            cols.push((v.name.clone(), v.colour, r));
        }
    }
    if cols.is_empty() {
        ui.label(
            "Calibrate the heart (Cardiac) and add variants (Scenarios) to compare them here.",
        );
        return;
    }
    // Shared axes: the range of every column's curves.
    let span = |f: &dyn Fn(&Waveforms) -> (f64, f64)| {
        cols.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, _, r)| {
                let (a, b) = f(&r.waveforms);
                (lo.min(a), hi.max(b))
            })
    };
    let range = |x: &[f64]| {
        x.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            })
    };
    let (v0, v1) = span(&|w| range(&w.v_lv));
    let (p0, p1) = span(&|w| {
        let (a, b) = range(&w.p_lv);
        let (c, d) = range(&w.p_ao);
        (a.min(c), b.max(d))
    });
    let (t0, t1) = span(&|w| range(&w.t));
    let height = (ui.available_height() / 2.0 - 70.0).clamp(90.0, 260.0);
    let n = cols.len();
    ui.columns(n, |uis| {
        for (ui, (name, colour, r)) in uis.iter_mut().zip(&cols) {
            ui.label(RichText::new(name).strong().color(*colour));
            let id = |what: &str| format!("compare-{what}-{name}");
            Plot::new(id("pv"))
                .height(height)
                .x_axis_label("LV volume (mL)")
                .y_axis_label("mmHg")
                .include_x(v0)
                .include_x(v1)
                .include_y(p0)
                .include_y(p1)
                .allow_scroll(false)
                .allow_drag(false)
                .allow_zoom(false)
                .show(ui, |plot| {
                    plot.line(
                        Line::new("LV", pv(&r.waveforms, false))
                            .color(*colour)
                            .width(2.0),
                    );
                });
            Plot::new(id("ao"))
                .height(height)
                .x_axis_label("time (ms)")
                .include_x(t0 * 1000.0)
                .include_x(t1 * 1000.0)
                .include_y(p0)
                .include_y(p1)
                .allow_scroll(false)
                .allow_drag(false)
                .allow_zoom(false)
                .show(ui, |plot| {
                    let w = &r.waveforms;
                    plot.line(
                        Line::new("aorta", trace(w, &w.p_ao))
                            .color(*colour)
                            .width(2.0),
                    );
                    plot.line(Line::new("LV", trace(w, &w.p_lv)).color(*colour).width(1.0));
                });
            let b = &r.indices;
            egui::Grid::new(id("idx")).num_columns(2).show(ui, |ui| {
                for (k, v) in [
                    ("EF (%)", b.lv_ef_percent),
                    ("CO (L/min)", b.cardiac_output_l_min),
                    ("SBP (mmHg)", b.sbp_mmhg),
                    ("DBP (mmHg)", b.dbp_mmhg),
                    ("AV gradient (mmHg)", b.aortic.mean_gradient_mmhg),
                ] {
                    ui.label(RichText::new(k).small());
                    crate::number::label(ui, v, 1);
                    ui.end_row();
                }
            });
        }
    });
    if state.variants.iter().filter(|v| v.result.is_some()).count() + 1 > COMPARE_COLUMNS {
        ui.label(
            RichText::new("The first four variants are shown; the delta table lists them all.")
                .small()
                .weak(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutral_controls_change_nothing_and_each_control_adds_its_intervention() {
        let c = Controls::default();
        assert!(c.scenario(75.0).interventions.is_empty());
        let c = Controls {
            aortic_area_cm2: 0.7,
            lvad_rpm: 5400.0,
            heart_rate_bpm: 90.0,
            ..Controls::default()
        };
        let s = c.scenario(75.0);
        assert_eq!(s.interventions.len(), 3);
        assert!(
            s.interventions
                .contains(&Intervention::Lvad { speed_rpm: 5400.0 })
        );
        // Below 3000 rpm the pump is off.
        let off = Controls {
            lvad_rpm: 1000.0,
            ..Controls::default()
        };
        assert!(off.scenario(75.0).interventions.is_empty());
        // A scenario shown on the controls gives the same scenario back.
        let back = Controls::from_scenario(&s, 75.0);
        assert_eq!(back, c);
    }

    #[test]
    fn the_panel_draws_with_and_without_results() {
        let ctx = egui::Context::default();
        let mut state = CardioState::default();
        let run = |state: &mut CardioState| {
            let mut actions = Vec::new();
            let out = crate::testing::frame(&ctx, [700.0, 900.0], Vec::new(), |ui| {
                actions = cardio_panel(ui, state);
            });
            (actions, out.shapes.len())
        };
        // Nothing computed yet: the panel draws and asks for nothing.
        let (actions, shapes) = run(&mut state);
        assert!(shapes > 0);
        assert!(actions.is_empty());
        let r = CardioResult {
            indices: BeatIndices {
                heart_rate_bpm: 75.0,
                sbp_mmhg: 120.0,
                ..BeatIndices::default()
            },
            waveforms: Waveforms {
                t: vec![0.0, 0.4, 0.8],
                p_lv: vec![10.0, 120.0, 10.0],
                p_ao: vec![80.0, 120.0, 80.0],
                p_la: vec![8.0, 6.0, 8.0],
                v_lv: vec![120.0, 50.0, 120.0],
                p_rv: vec![5.0, 25.0, 5.0],
                p_pa: vec![10.0, 25.0, 10.0],
                v_rv: vec![140.0, 70.0, 140.0],
                q_av: vec![0.0; 3],
                q_mv: vec![0.0; 3],
            },
        };
        state.baseline = Some(r.clone());
        state.current = Some(r);
        let (actions, shapes) = run(&mut state);
        assert!(actions.is_empty());
        assert!(shapes > 20);
        // The pulse follows the LV volume: full size at end-diastole.
        let r = state.current.as_ref().unwrap();
        let mut r = r.clone();
        r.indices.lv_edv_ml = 120.0;
        assert!((pulse_scale(&r, 0.0).unwrap() - 1.0).abs() < 1e-6);
        let mid = pulse_scale(&r, 0.4).unwrap();
        assert!((mid - (50.0f32 / 120.0).cbrt()).abs() < 1e-6, "{mid}");
    }

    #[test]
    fn a_result_that_is_not_a_number_is_marked_invalid_never_printed() {
        let ctx = egui::Context::default();
        let mut state = CardioState::default();
        let good = CardioResult {
            indices: BeatIndices {
                sbp_mmhg: 120.0,
                cardiac_output_l_min: 5.0,
                ..BeatIndices::default()
            },
            waveforms: Waveforms::default(),
        };
        let mut bad = good.clone();
        bad.indices.sbp_mmhg = f64::NAN;
        bad.indices.cardiac_output_l_min = f64::INFINITY;
        state.baseline = Some(good);
        state.current = Some(bad);
        let out = crate::testing::frame(&ctx, [700.0, 1400.0], Vec::new(), |ui| {
            let _ = cardio_panel(ui, &mut state);
        });
        let text = crate::painted_text(&out);
        // Two values and their two changes.
        assert_eq!(text.matches("⚠ invalid").count(), 4, "{text}");
        for word in ["NaN", "inf", "∞"] {
            assert!(!text.contains(word), "`{word}` shown:\n{text}");
        }
    }
}
