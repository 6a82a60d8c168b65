//! The prosthesis what-if section of the gait panel: a transtibial device's
//! controls (side, stiffness — bilinear if asked —, damping, neutral angle,
//! alignment, foot–pylon mass), and the variant against the intact baseline
//! as a grey ghost: the prosthetic ankle's moment (what the motion needs,
//! the device's part, the reserve's part), a muscle's activation over the
//! gait cycle, and a table of metabolic power, device energy, reserve use
//! and asymmetry with their changes. Every change of a control asks for a
//! rerun ([`GaitAction::WhatIf`](crate::GaitAction)); the panel shows how
//! long the last one took. The twin's variants with a prosthesis are
//! overlaid in their scenario colours (device moment, activation) and
//! tabled against the intact baseline; with one selected the controls
//! edit its device.

use egui::{Color32, RichText, Ui};
use egui_plot::{Legend, LineStyle, Plot};

use crate::gait::band_line;
use std::sync::Arc;

use twin_msk::prosthesis::Prosthesis;
use twin_msk::whatif::Outcome;

const BASELINE: Color32 = Color32::from_gray(150);
const VARIANT: Color32 = Color32::from_rgb(240, 160, 60);
const RESERVE: Color32 = Color32::from_rgb(190, 110, 220);
const NEEDED: Color32 = Color32::from_gray(210);

/// The device as the sliders set it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeviceControls {
    /// 0 right, 1 left.
    pub side: usize,
    /// Dorsiflexion stiffness (N·m/rad), and plantarflexion's when
    /// `bilinear`.
    pub stiffness: f64,
    pub bilinear: bool,
    pub plantar_stiffness: f64,
    /// N·m·s/rad.
    pub damping: f64,
    /// Degrees, + dorsiflexed.
    pub neutral_deg: f64,
    pub alignment_deg: f64,
    /// Foot–pylon mass (kg).
    pub mass_kg: f64,
}

impl Default for DeviceControls {
    fn default() -> Self {
        Self {
            side: 0,
            stiffness: 400.0,
            bilinear: false,
            plantar_stiffness: 250.0,
            damping: 1.0,
            neutral_deg: 0.0,
            alignment_deg: 0.0,
            mass_kg: 1.2,
        }
    }
}

impl DeviceControls {
    /// The controls' positions for a device (e.g. one read from a file).
    #[must_use]
    pub fn of(p: &Prosthesis) -> Self {
        let d = Self::default();
        Self {
            side: usize::from(p.side == "left"),
            stiffness: p.stiffness_nm_per_rad,
            bilinear: p.plantar_stiffness_nm_per_rad.is_some(),
            plantar_stiffness: p
                .plantar_stiffness_nm_per_rad
                .unwrap_or(d.plantar_stiffness),
            damping: p.damping_nms_per_rad,
            neutral_deg: p.neutral_angle_deg,
            alignment_deg: p.alignment_offset_deg,
            mass_kg: p.mass_kg.unwrap_or(d.mass_kg),
        }
    }

    /// The device these controls describe.
    #[must_use]
    pub fn prosthesis(&self) -> Prosthesis {
        Prosthesis {
            side: if self.side == 1 { "left" } else { "right" }.into(),
            stiffness_nm_per_rad: self.stiffness,
            plantar_stiffness_nm_per_rad: self.bilinear.then_some(self.plantar_stiffness),
            damping_nms_per_rad: self.damping,
            neutral_angle_deg: self.neutral_deg,
            alignment_offset_deg: self.alignment_deg,
            mass_kg: Some(self.mass_kg),
        }
    }
}

/// The what-if section's state.
#[derive(Debug, Clone, Default)]
pub struct WhatIfState {
    pub controls: DeviceControls,
    /// The intact trial, and the latest variant.
    pub baseline: Option<Outcome>,
    pub variant: Option<Outcome>,
    /// The muscle whose activation is plotted (by name), and whether the
    /// user picked it (else the one the device changes most is shown).
    pub muscle: String,
    pub muscle_picked: bool,
    /// A rerun is under way.
    pub running: bool,
    /// Why the last rerun failed.
    pub error: Option<String>,
    /// From the control's change to the shown result (ms), measured by the
    /// app.
    pub latency_ms: Option<f64>,
    /// The twin's variants with a prosthesis, in the scenario list's order.
    pub twin_variants: Vec<GaitVariant>,
    /// The twin variant the controls edit (none: they try a device on the
    /// baseline).
    pub editing: Option<String>,
}

/// A twin variant's prosthesis run on the trial, drawn in its colour.
#[derive(Debug, Clone)]
pub struct GaitVariant {
    pub name: String,
    pub colour: Color32,
    /// `None` while it runs; why it failed.
    pub outcome: Option<Result<Arc<Outcome>, String>>,
    pub selected: bool,
}

impl WhatIfState {
    /// Shows `v` as the variant; until the user picks a muscle, the plotted
    /// one becomes the muscle whose mean activation curve the device
    /// changes most (computed here, once per variant, not every frame).
    pub fn set_variant(&mut self, v: Outcome) {
        if !self.muscle_picked
            && let Some(base) = &self.baseline
            && let Some((name, _)) = base
                .activations
                .iter()
                .filter_map(|(n, b)| {
                    let (_, w) = v.activations.iter().find(|(m, _)| m == n)?;
                    let d = b
                        .mean
                        .iter()
                        .zip(&w.mean)
                        .map(|(x, y)| (x - y).powi(2))
                        .sum::<f64>();
                    Some((n, d))
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))
        {
            self.muscle = name.clone();
        }
        self.variant = Some(v);
    }
}

/// The comparison table's rows: (quantity, unit, baseline, variant).
#[must_use]
pub fn rows(
    base: &Outcome,
    variant: Option<&Outcome>,
) -> Vec<(String, &'static str, f64, Option<f64>)> {
    let mut out = vec![
        (
            "metabolic power, Umberger 2010".to_owned(),
            "W/kg",
            base.metabolic_w_per_kg[0],
            variant.map(|v| v.metabolic_w_per_kg[0]),
        ),
        (
            "metabolic power, Bhargava 2004".to_owned(),
            "W/kg",
            base.metabolic_w_per_kg[1],
            variant.map(|v| v.metabolic_w_per_kg[1]),
        ),
        (
            "ankle reserve share".to_owned(),
            "%",
            base.ankle_reserve_percent,
            variant.map(|v| v.ankle_reserve_percent),
        ),
    ];
    if let Some(d) = variant.and_then(|v| v.device) {
        out.push((
            "device peak plantarflexor moment".into(),
            "N·m",
            f64::NAN,
            Some(d.peak_plantarflexor_moment_nm),
        ));
        out.push((
            "device energy absorbed".into(),
            "J",
            f64::NAN,
            Some(d.negative_work_j),
        ));
        out.push((
            "device energy returned".into(),
            "J",
            f64::NAN,
            Some(d.positive_work_j),
        ));
    }
    for a in &base.asymmetry {
        let v = variant.and_then(|v| v.asymmetry.iter().find(|b| b.quantity == a.quantity));
        out.push((
            format!("symmetry: {}", a.quantity.replace('_', " ")),
            "%",
            a.index_percent,
            v.map(|b| b.index_percent),
        ));
    }
    if let Some(a) = variant.and_then(|v| {
        v.asymmetry
            .iter()
            .find(|a| !base.asymmetry.iter().any(|b| b.quantity == a.quantity))
    }) {
        out.push((
            format!("symmetry: {}", a.quantity.replace('_', " ")),
            "%",
            f64::NAN,
            Some(a.index_percent),
        ));
    }
    out
}

/// What the what-if section asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum WhatIfAsk {
    /// Rerun with this device (in the variant being edited, if any).
    Run(Prosthesis),
    /// Back to the baseline alone (the edited variant loses its device).
    Remove,
    /// Keep the device tried on the baseline as a new twin variant.
    Keep(Prosthesis),
}

/// The twin variants' table: (name, colour, metabolic power (Umberger),
/// its change from the intact baseline (%), ankle reserve share (%),
/// device peak moment (N·m), energy returned (%)); `Err` while running or
/// failed.
#[must_use]
pub fn twin_rows(
    base: &Outcome,
    variants: &[GaitVariant],
) -> Vec<(String, Color32, Result<[f64; 5], String>)> {
    variants
        .iter()
        .map(|v| {
            let cells = match &v.outcome {
                None => Err("running…".to_owned()),
                Some(Err(e)) => Err(e.clone()),
                Some(Ok(o)) => {
                    let m = o.metabolic_w_per_kg[0];
                    let b = base.metabolic_w_per_kg[0];
                    let d = o.device;
                    Ok([
                        m,
                        if b.abs() > 1e-9 {
                            100.0 * (m - b) / b
                        } else {
                            f64::NAN
                        },
                        o.ankle_reserve_percent,
                        d.map_or(f64::NAN, |d| d.peak_plantarflexor_moment_nm),
                        d.map_or(f64::NAN, |d| d.energy_return_percent),
                    ])
                }
            };
            (v.name.clone(), v.colour, cells)
        })
        .collect()
}

/// The twin variants' table under the what-if.
fn twin_table(ui: &mut Ui, base: &Outcome, variants: &[GaitVariant]) {
    if variants.is_empty() {
        return;
    }
    ui.label(RichText::new("Twin variants against the intact baseline").strong());
    egui::Grid::new("whatif-twin-table")
        .num_columns(6)
        .striped(true)
        .show(ui, |ui| {
            for h in [
                "variant",
                "metabolic (W/kg)",
                "change",
                "ankle reserve (%)",
                "device peak (N·m)",
                "energy return (%)",
            ] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for (name, colour, cells) in twin_rows(base, variants) {
                ui.label(RichText::new(name).color(colour));
                match cells {
                    Ok([m, pct, reserve, peak, ret]) => {
                        crate::number::label(ui, m, 2);
                        if pct.is_finite() {
                            ui.label(format!("{pct:+.1} %"));
                        } else {
                            ui.label("–");
                        }
                        crate::number::label(ui, reserve, 1);
                        crate::number::label(ui, peak, 1);
                        crate::number::label(ui, ret, 1);
                    }
                    Err(e) => {
                        ui.add(egui::Label::new(RichText::new(e).small().weak()).wrap());
                    }
                }
                ui.end_row();
            }
        });
}

/// Draws the what-if section; returns what the user asked for.
#[expect(
    clippy::too_many_lines,
    reason = "the section's rows in screen order; to be split with the docked workspace's panes"
)]
pub fn whatif_section(ui: &mut Ui, state: &mut WhatIfState) -> Option<WhatIfAsk> {
    let Some(base) = &state.baseline else {
        ui.small(
            "The prosthesis what-if needs a model with muscles and the trial's external loads.",
        );
        return None;
    };
    let mut ask = None;
    let c = &mut state.controls;
    let before = *c;
    ui.horizontal(|ui| {
        ui.label("prosthetic side");
        ui.radio_value(&mut c.side, 0, "right");
        ui.radio_value(&mut c.side, 1, "left");
        if state.variant.is_some() && ui.button("Remove device").clicked() {
            ask = Some(WhatIfAsk::Remove);
        }
        if state.running {
            ui.spinner();
        }
        if let Some(ms) = state.latency_ms {
            ui.small(format!("updated in {ms:.0} ms"));
        }
    });
    match &state.editing {
        Some(name) => {
            ui.small(format!("The controls edit the twin variant “{name}”."));
        }
        None => {
            ui.horizontal(|ui| {
                ui.small("The controls try a device on the baseline.");
                if state.variant.is_some()
                    && ui
                        .button("Keep as variant")
                        .on_hover_text("Add this device to the twin as a new variant")
                        .clicked()
                {
                    ask = Some(WhatIfAsk::Keep(c.prosthesis()));
                }
            });
        }
    }
    ui.add(
        egui::Slider::new(&mut c.stiffness, 0.0..=1500.0).text(if c.bilinear {
            "dorsiflexion stiffness (N·m/rad)"
        } else {
            "stiffness (N·m/rad)"
        }),
    );
    ui.horizontal(|ui| {
        ui.checkbox(&mut c.bilinear, "bilinear");
        ui.add_enabled(
            c.bilinear,
            egui::Slider::new(&mut c.plantar_stiffness, 0.0..=1500.0)
                .text("plantarflexion stiffness"),
        );
    });
    ui.add(egui::Slider::new(&mut c.damping, 0.0..=20.0).text("damping (N·m·s/rad)"));
    ui.add(egui::Slider::new(&mut c.neutral_deg, -20.0..=20.0).text("neutral angle (°)"));
    ui.add(
        egui::Slider::new(&mut c.alignment_deg, -10.0..=10.0)
            .text("alignment offset (°, + dorsiflexed)"),
    );
    ui.add(egui::Slider::new(&mut c.mass_kg, 0.3..=3.0).text("foot–pylon mass (kg)"));
    if *c != before
        || (ask.is_none() && state.variant.is_none() && ui.button("Fit device").clicked())
    {
        ask = Some(WhatIfAsk::Run(c.prosthesis()));
    }
    if let Some(e) = &state.error {
        ui.colored_label(Color32::from_rgb(230, 110, 90), e);
    }
    let variant = state.variant.as_ref();
    ui.columns(2, |cols| {
        let side = variant.map_or(state.controls.side, |v| v.side);
        Plot::new("whatif-ankle")
            .height(180.0)
            .legend(Legend::default().text_style(egui::TextStyle::Small))
            .x_axis_label("% gait cycle")
            .y_axis_label(format!(
                "{} ankle moment (N·m/kg)",
                if side == 1 { "left" } else { "right" }
            ))
            .allow_scroll(false)
            .show(&mut cols[0], |plot| {
                let shown = variant.unwrap_or(base);
                if let Some(b) = &shown.ankle_needed {
                    plot.line(
                        band_line("needed (ID)", b, NEEDED)
                            .style(LineStyle::dashed_loose())
                            .width(1.5),
                    );
                }
                if let Some(b) = &shown.ankle_device {
                    plot.line(band_line("device", b, VARIANT));
                }
                if let Some(b) = &shown.ankle_reserve {
                    plot.line(band_line("reserve", b, RESERVE));
                }
                for (v, o) in others(&state.twin_variants, side) {
                    if let Some(b) = &o.ankle_device {
                        plot.line(band_line(&format!("device: {}", v.name), b, v.colour));
                    }
                }
            });
        let names: Vec<&str> = base.activations.iter().map(|(n, _)| n.as_str()).collect();
        if !names.contains(&state.muscle.as_str()) {
            // A muscle that changes: the prosthetic side's knee and hip
            // muscles take over from the removed ones.
            let own = if side == 1 { "_l" } else { "_r" };
            state.muscle = ["vasti", "vas_int", "hamstrings", "bifemlh", "glut_max"]
                .iter()
                .find_map(|m| names.iter().find(|n| n.starts_with(m) && n.ends_with(own)))
                .or(names.first())
                .map_or_else(String::new, |s| (*s).to_owned());
        }
        egui::ComboBox::from_id_salt("whatif-muscle")
            .selected_text(&state.muscle)
            .show_ui(&mut cols[1], |ui| {
                for n in &names {
                    if ui
                        .selectable_value(&mut state.muscle, (*n).to_owned(), *n)
                        .clicked()
                    {
                        state.muscle_picked = true;
                    }
                }
            });
        let find = |o: &Outcome| {
            o.activations
                .iter()
                .find(|(n, _)| *n == state.muscle)
                .map(|(_, b)| b.clone())
        };
        let (b, v) = (find(base), variant.and_then(find));
        let removed = variant.is_some() && v.is_none();
        Plot::new("whatif-activation")
            .height(156.0)
            .legend(Legend::default().text_style(egui::TextStyle::Small))
            .x_axis_label("% gait cycle")
            .y_axis_label("activation")
            .include_y(0.0)
            .allow_scroll(false)
            .show(&mut cols[1], |plot| {
                if let Some(b) = &b {
                    plot.line(band_line("baseline", b, BASELINE));
                }
                if let Some(v) = &v {
                    plot.line(band_line("with device", v, VARIANT));
                }
                for (tv, o) in others(&state.twin_variants, side) {
                    if let Some(b) = find(o) {
                        plot.line(band_line(&tv.name, &b, tv.colour));
                    }
                }
            });
        if removed {
            cols[1].small("removed with the device");
        }
    });
    egui::Grid::new("whatif-table")
        .num_columns(4)
        .striped(true)
        .show(ui, |ui| {
            for h in ["quantity", "intact", "with device", "change"] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for (name, unit, b, v) in rows(base, variant) {
                ui.label(format!("{name} ({unit})"));
                crate::number::label(ui, b, 2);
                match v {
                    Some(v) => crate::number::label(ui, v, 2),
                    None => {
                        ui.label("–");
                    }
                }
                match v {
                    Some(v) if !(v - b).is_finite() || (v - b).abs() >= 0.005 => {
                        ui.label(crate::number::change(b, v, 2));
                    }
                    _ => {
                        ui.label("");
                    }
                }
                ui.end_row();
            }
        });
    twin_table(ui, base, &state.twin_variants);
    if let Some(v) = variant {
        for w in &v.warnings {
            ui.add(egui::Label::new(RichText::new(w).small()).wrap());
        }
    }
    ask
}

/// The twin variants drawn beside the shown one: finished, on `side`, and
/// not the selected one (that one is the shown variant).
fn others(variants: &[GaitVariant], side: usize) -> impl Iterator<Item = (&GaitVariant, &Outcome)> {
    variants
        .iter()
        .filter(|v| !v.selected)
        .filter_map(move |v| match &v.outcome {
            Some(Ok(o)) if o.side == side => Some((v, o.as_ref())),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_msk::loads::ExternalLoads;
    use twin_msk::optimization::SoOptions;
    use twin_msk::whatif::GaitCase;
    use twin_msk::{Model, Table};

    fn draw(state: &mut WhatIfState) -> (Option<WhatIfAsk>, String) {
        let ctx = egui::Context::default();
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(700.0, 1400.0),
            )),
            ..Default::default()
        };
        let mut ask = None;
        let mut out = ctx.run_ui(input, |ui| ask = whatif_section(ui, state));
        out.textures_delta.clear();
        (ask, crate::painted_text(&out))
    }

    #[test]
    fn controls_make_the_device_they_show() {
        let c = DeviceControls {
            side: 1,
            bilinear: true,
            ..DeviceControls::default()
        };
        let p = c.prosthesis();
        assert_eq!(p.side, "left");
        assert_eq!(p.plantar_stiffness_nm_per_rad, Some(250.0));
        assert_eq!(p.mass_kg, Some(1.2));
        p.check().unwrap();
        assert_eq!(
            DeviceControls::default()
                .prosthesis()
                .plantar_stiffness_nm_per_rad,
            None
        );
        // Without a baseline the section says what it needs.
        let (ask, text) = draw(&mut WhatIfState::default());
        assert!(
            ask.is_none() && text.contains("needs a model with muscles"),
            "{text}"
        );
    }

    #[test]
    fn baseline_and_variant_are_tabled_side_by_side() {
        let Some(dir) = twin_core::testdata::require("msk/gait10dof18musc") else {
            return;
        };
        let model = Model::read(&dir.join("gait10dof18musc_subject01.osim")).unwrap();
        let q = Table::read(&dir.join("subject01_walk_IK.mot")).unwrap();
        let loads = ExternalLoads::read(
            &dir.join("gait10dof18musc_subject01_walk_grf.xml"),
            &model,
            None,
        )
        .unwrap();
        let options = SoOptions {
            time_range: Some([0.1, 2.5]),
            ..SoOptions::default()
        };
        let case = GaitCase::new(model, q, loads, options).unwrap();
        let progress = twin_core::Progress::new();
        let mut state = WhatIfState {
            baseline: Some(case.run(None, &progress).unwrap()),
            ..WhatIfState::default()
        };
        let (ask, text) = draw(&mut state);
        assert!(ask.is_none());
        for expected in [
            "Fit device",
            "metabolic power, Umberger 2010 (W/kg)",
            "intact",
        ] {
            assert!(text.contains(expected), "{expected} not in {text}");
        }
        // The plotted muscle defaults to one on the prosthetic side.
        assert_eq!(state.muscle, "vasti_r");
        let device = state.controls.prosthesis();
        state.set_variant(case.run(Some(&device), &progress).unwrap());
        state.latency_ms = Some(12.0);
        let (_, text) = draw(&mut state);
        for expected in [
            "Remove device",
            "updated in 12 ms",
            "device energy returned (J)",
            "symmetry: positive ankle work per stride, device vs intact (%)",
        ] {
            assert!(text.contains(expected), "{expected} not in {text}");
        }
        let table = rows(state.baseline.as_ref().unwrap(), state.variant.as_ref());
        let reserve = table.iter().find(|r| r.0 == "ankle reserve share").unwrap();
        // The intact ankle's muscles carry its moment; the device leaves
        // part of it to the reserve.
        assert!(
            reserve.2 < 5.0 && reserve.3.unwrap() > reserve.2,
            "{reserve:?}"
        );
        // With a device the muscle it changes most is plotted, until the
        // user picks one.
        let v = state.variant.as_ref().unwrap();
        assert!(
            v.activations.iter().any(|(n, _)| *n == state.muscle),
            "{}",
            state.muscle
        );
        // The twin's variants: overlaid and tabled against the intact
        // baseline, a failed one with its reason; Keep offered while the
        // controls try a device on the baseline.
        let stiff = DeviceControls {
            stiffness: 900.0,
            ..DeviceControls::default()
        }
        .prosthesis();
        state.twin_variants = vec![
            GaitVariant {
                name: "stiff foot".into(),
                colour: crate::twin::colour(0),
                outcome: Some(Ok(Arc::new(case.run(Some(&stiff), &progress).unwrap()))),
                selected: false,
            },
            GaitVariant {
                name: "odd foot".into(),
                colour: crate::twin::colour(1),
                outcome: Some(Err("odd foot: no such ankle".into())),
                selected: false,
            },
        ];
        let (ask, text) = draw(&mut state);
        assert!(ask.is_none());
        for expected in [
            "Twin variants against the intact baseline",
            "stiff foot",
            "device: stiff foot",
            "odd foot: no such ankle",
            "Keep as variant",
            "The controls try a device on the baseline.",
        ] {
            assert!(text.contains(expected), "{expected} not in {text}");
        }
        let base = state.baseline.as_ref().unwrap();
        let rows = twin_rows(base, &state.twin_variants);
        let [m, pct, _, peak, _] = rows[0].2.clone().unwrap();
        assert!(
            (pct - 100.0 * (m - base.metabolic_w_per_kg[0]) / base.metabolic_w_per_kg[0]).abs()
                < 1e-9
        );
        assert!(peak > 0.0, "the stiff foot's peak moment {peak}");
        assert!(rows[1].2.is_err());
        state.editing = Some("stiff foot".into());
        let (_, text) = draw(&mut state);
        assert!(
            text.contains("The controls edit the twin variant “stiff foot”.")
                && !text.contains("Keep as variant"),
            "{text}"
        );
        state.editing = None;
        // A removed muscle plotted: the section says so.
        state.muscle = "soleus_r".into();
        state.muscle_picked = true;
        let (_, text) = draw(&mut state);
        assert!(text.contains("removed with the device"), "{text}");
    }
}
