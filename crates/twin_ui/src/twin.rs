//! The patient twin in the app: the scenario list of the open session
//! (`twin_session::Session`: baseline + variants — add, rename, duplicate,
//! delete — with undo/redo), the delta table of a variant against the
//! baseline, and the Help panel's shortcuts.

use std::collections::BTreeMap;

use egui::{Color32, RichText, Ui};
use twin_scenario::Variant;
use twin_scenario::report::variant_colour;
use twin_session::{ScenarioAction, Session};

/// The scenario list's own state: the variant being renamed and the text
/// typed so far.
#[derive(Debug, Clone, Default)]
pub struct ScenarioList {
    pub renaming: Option<(usize, String)>,
}

/// The colour of variant `i` in every plot and list.
#[must_use]
pub fn colour(i: usize) -> Color32 {
    let [r, g, b] = variant_colour(i);
    Color32::from_rgb(r, g, b)
}

/// The baseline's colour.
pub const BASELINE: Color32 = Color32::from_gray(150);

/// Shown names of the summary metrics, in table order.
pub const METRICS: [(&str, &str); 17] = [
    ("lv_edv_ml", "LV EDV (mL)"),
    ("lv_esv_ml", "LV ESV (mL)"),
    ("lv_ef_percent", "LV EF (%)"),
    ("forward_sv_ml", "forward SV (mL)"),
    ("cardiac_output_l_min", "CO (L/min)"),
    ("sbp_mmhg", "SBP (mmHg)"),
    ("dbp_mmhg", "DBP (mmHg)"),
    ("map_mmhg", "MAP (mmHg)"),
    ("lv_peak_pressure_mmhg", "LV peak (mmHg)"),
    ("mean_la_mmhg", "mean LA (mmHg)"),
    ("pa_mean_mmhg", "PA mean (mmHg)"),
    ("aortic_mean_gradient_mmhg", "AV mean gradient (mmHg)"),
    ("aortic_regurgitant_fraction_percent", "AR fraction (%)"),
    ("mitral_regurgitant_fraction_percent", "MR fraction (%)"),
    (
        "gait_metabolic_umberger_w_per_kg",
        "gait metabolic, Umberger (W/kg)",
    ),
    (
        "gait_metabolic_bhargava_w_per_kg",
        "gait metabolic, Bhargava (W/kg)",
    ),
    ("gait_ankle_reserve_percent", "ankle reserve share (%)"),
];

/// The delta table's rows: metric, baseline, variant, Δ, Δ % (None when
/// the baseline is 0 or either is not finite).
#[must_use]
pub fn delta_rows(
    baseline: &BTreeMap<String, f64>,
    variant: &BTreeMap<String, f64>,
) -> Vec<(&'static str, f64, f64, f64, Option<f64>)> {
    METRICS
        .iter()
        .filter_map(|(key, name)| {
            let b = *baseline.get(*key)?;
            let v = *variant.get(*key)?;
            let d = v - b;
            let pct = (b.abs() > 1e-9 && d.is_finite()).then(|| 100.0 * d / b);
            Some((*name, b, v, d, pct))
        })
        .collect()
}

/// The scenario list: baseline and variants in their colours, with
/// add/duplicate/rename/delete and undo/redo; the delta table of the
/// selected variant below.
pub fn scenarios_panel<X: Clone>(
    ui: &mut Ui,
    state: &Session<X>,
    list: &mut ScenarioList,
) -> Vec<ScenarioAction> {
    let mut actions = Vec::new();
    let undo = state.history.undo_label();
    let redo = state.history.redo_label();
    ui.horizontal(|ui| {
        ui.label(RichText::new(state.shown_name()).strong());
        if state.dirty {
            ui.label(RichText::new("(unsaved)").small().weak());
        }
    });
    ui.horizontal(|ui| {
        if ui
            .add_enabled(undo.is_some(), egui::Button::new("⟲ Undo"))
            .on_hover_text(undo.map_or_else(String::new, |u| format!("Undo {u} (Ctrl+Z)")))
            .clicked()
        {
            actions.push(ScenarioAction::Undo);
        }
        if ui
            .add_enabled(redo.is_some(), egui::Button::new("⟳ Redo"))
            .on_hover_text(redo.map_or_else(String::new, |r| format!("Redo {r} (Ctrl+Y)")))
            .clicked()
        {
            actions.push(ScenarioAction::Redo);
        }
        ui.menu_button("+ Variant", |ui| {
            if ui
                .button("Empty")
                .on_hover_text("A new variant of the baseline (no interventions yet)")
                .clicked()
            {
                actions.push(ScenarioAction::Add("what-if".into(), Vec::new()));
            }
            ui.separator();
            for (name, cardio) in twin_session::scenarios::presets() {
                let v = Variant {
                    name: name.clone(),
                    cardio: cardio.clone(),
                    ..Variant::default()
                };
                if ui.button(name).on_hover_text(describe(&v)).clicked() {
                    actions.push(ScenarioAction::Add(name.clone(), cardio.clone()));
                }
            }
        });
    });
    ui.separator();
    let selected = state.selected;
    let swatch = |ui: &mut Ui, c: Color32| {
        let (r, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
        ui.painter().rect_filled(r, 2.0, c);
    };
    ui.horizontal(|ui| {
        swatch(ui, BASELINE);
        if ui
            .selectable_label(selected.is_none(), "Baseline")
            .clicked()
        {
            actions.push(ScenarioAction::Select(None));
        }
    });
    let mut finish_rename = None;
    for (i, v) in state.doc.variants.iter().enumerate() {
        ui.horizontal(|ui| {
            swatch(ui, colour(i));
            match &mut list.renaming {
                Some((k, text)) if *k == i => {
                    let r = ui.add(egui::TextEdit::singleline(text).desired_width(140.0));
                    if r.lost_focus() || ui.button("OK").clicked() {
                        finish_rename = Some((i, text.clone()));
                    } else {
                        r.request_focus();
                    }
                }
                _ => {
                    let text = if v.cardio.is_empty() && v.prosthesis.is_none() {
                        RichText::new(&v.name).italics()
                    } else {
                        RichText::new(&v.name)
                    };
                    if ui
                        .selectable_label(selected == Some(i), text)
                        .on_hover_text(describe(v))
                        .clicked()
                    {
                        actions.push(ScenarioAction::Select(Some(i)));
                    }
                    if ui.small_button("✏").on_hover_text("Rename").clicked() {
                        list.renaming = Some((i, v.name.clone()));
                    }
                    if ui.small_button("copy").on_hover_text("Duplicate").clicked() {
                        actions.push(ScenarioAction::Duplicate(i));
                    }
                    if ui
                        .small_button("🗑")
                        .on_hover_text("Delete (Undo brings it back)")
                        .clicked()
                    {
                        actions.push(ScenarioAction::Delete(i));
                    }
                }
            }
        });
    }
    if let Some((i, name)) = finish_rename {
        list.renaming = None;
        actions.push(ScenarioAction::Rename(i, name));
    }
    if let Some(v) = state.variant() {
        ui.separator();
        ui.label(RichText::new(format!("{} against the baseline", v.name)).strong());
        let rows = delta_rows(&state.baseline_results, &v.results);
        if rows.is_empty() {
            ui.label(RichText::new("not run yet").weak());
        } else {
            delta_table(ui, &rows);
        }
    }
    actions
}

/// Every variant against the baseline: a row per metric, a column per
/// variant with its value and change (%).
pub fn deltas_table<X: Clone>(ui: &mut Ui, state: &Session<X>) {
    if state.doc.variants.is_empty() {
        ui.label(RichText::new("No variants yet: add one in Scenarios.").weak());
        return;
    }
    deltas_grid(ui, state, "deltas-all");
}

fn deltas_grid<X: Clone>(ui: &mut Ui, state: &Session<X>, id: &str) {
    egui::Grid::new(id)
        .striped(true)
        .num_columns(state.doc.variants.len() + 2)
        .show(ui, |ui| {
            ui.label(RichText::new("metric").strong());
            ui.label(RichText::new("baseline").strong().color(BASELINE));
            for (i, v) in state.doc.variants.iter().enumerate() {
                ui.label(RichText::new(&v.name).strong().color(colour(i)));
            }
            ui.end_row();
            for (key, name) in METRICS {
                let b = state.baseline_results.get(key).copied();
                let any = state
                    .doc
                    .variants
                    .iter()
                    .any(|v| v.results.contains_key(key));
                if b.is_none() && !any {
                    continue;
                }
                ui.label(name);
                match b {
                    Some(b) => crate::number::label(ui, b, 1),
                    None => {
                        ui.label("–");
                    }
                }
                for v in &state.doc.variants {
                    match (b, v.results.get(key)) {
                        (Some(b), Some(&x)) if b.abs() > 1e-9 => {
                            ui.label(format!("{x:.1} ({:+.1} %)", 100.0 * (x - b) / b));
                        }
                        (_, Some(&x)) => {
                            crate::number::label(ui, x, 1);
                        }
                        (_, None) => {
                            ui.label("–");
                        }
                    }
                }
                ui.end_row();
            }
        });
}

/// What the report will hold, before it is written: the twin (its shown
/// name), the calibration with its residuals, the variants, segments and
/// gait trial; returns true when Export was pressed.
pub fn report_preview<X: Clone>(ui: &mut Ui, state: &Session<X>) -> bool {
    let mut export = false;
    ui.horizontal(|ui| {
        ui.heading(format!("Report of {}", state.shown_name()));
        if ui
            .button("Export report… (Ctrl+E)")
            .on_hover_text("One HTML file with the 3D view, and a CSV of the waveforms beside it")
            .clicked()
        {
            export = true;
        }
    });
    if state.privacy {
        ui.label(
            RichText::new(
                "Privacy mode: the report carries a pseudonym and no study folder or UIDs.",
            )
            .small(),
        );
    }
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.separator();
        ui.label(RichText::new("Calibration").strong());
        match &state.doc.cardio {
            Some(c) => {
                ui.label(format!(
                    "{} — {}",
                    twin_scenario::report::utc(c.calibrated_unix_s),
                    c.source
                ));
                egui::Grid::new("preview-residuals")
                    .striped(true)
                    .show(ui, |ui| {
                        for h in ["", "target", "model", "error"] {
                            ui.label(RichText::new(h).small().strong());
                        }
                        ui.end_row();
                        for r in &c.residuals {
                            ui.label(&r.name);
                            crate::number::label(ui, r.target, 1);
                            crate::number::label(ui, r.model, 1);
                            ui.label(format!("{:+.2} %", r.error_percent));
                            ui.end_row();
                        }
                    });
            }
            None => {
                ui.label("Not calibrated: the healthy default is the baseline.");
            }
        }
        ui.separator();
        ui.label(RichText::new(format!("Variants ({})", state.doc.variants.len())).strong());
        for (i, v) in state.doc.variants.iter().enumerate() {
            ui.label(RichText::new(format!("{} — {}", v.name, describe(v))).color(colour(i)));
        }
        if !state.doc.variants.is_empty() {
            ui.add_space(4.0);
            deltas_grid(ui, state, "deltas-preview");
        }
        ui.separator();
        ui.label(RichText::new(format!("Segments ({})", state.doc.segments.len())).strong());
        for s in &state.doc.segments {
            let ml = s
                .volume_ml
                .map_or_else(String::new, |v| format!(", {v:.1} mL"));
            ui.label(format!("{}{ml}", s.name));
        }
        ui.separator();
        ui.label(RichText::new("Gait").strong());
        ui.label(if state.doc.gait.is_some() {
            "a gait trial, with its prosthesis variants against the intact baseline"
        } else {
            "no gait trial"
        });
    });
    export
}

/// A text listing a variant's changes.
#[must_use]
pub fn describe(v: &Variant) -> String {
    let mut parts: Vec<String> = v.cardio.iter().map(ToString::to_string).collect();
    if v.prosthesis.is_some() {
        parts.push("prosthesis".into());
    }
    if parts.is_empty() {
        "no changes yet: the baseline".into()
    } else {
        parts.join("; ")
    }
}

fn delta_table(ui: &mut Ui, rows: &[(&'static str, f64, f64, f64, Option<f64>)]) {
    egui::Grid::new("delta")
        .num_columns(5)
        .striped(true)
        .show(ui, |ui| {
            for h in ["metric", "baseline", "variant", "Δ", "Δ %"] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for &(name, b, v, _, pct) in rows {
                ui.label(name);
                crate::number::label(ui, b, 1);
                crate::number::label(ui, v, 1);
                ui.label(crate::number::change(b, v, 1));
                match pct {
                    Some(p) => ui.label(format!("{p:+.1} %")),
                    None => ui.label("–"),
                };
                ui.end_row();
            }
        });
}

/// The keyboard shortcuts: keys, what they do.
pub const SHORTCUTS: [(&str, &str); 12] = [
    ("Ctrl+N", "new twin"),
    ("Ctrl+O", "open a twin file"),
    ("Ctrl+S", "save the twin"),
    ("Ctrl+Shift+S", "save the twin as…"),
    ("Ctrl+Z", "undo (scenario and segment edits)"),
    ("Ctrl+Y / Ctrl+Shift+Z", "redo"),
    ("Ctrl+D", "duplicate the selected variant"),
    (
        "Delete",
        "delete the selected variant (undo brings it back)",
    ),
    ("Ctrl+E", "export the report"),
    ("Ctrl+P", "privacy mode on/off"),
    ("Ctrl+J", "jobs panel"),
    ("F1", "this help"),
];

/// The Help panel: shortcuts and how files are kept.
pub fn help_panel(ui: &mut Ui) {
    ui.heading("Keyboard shortcuts");
    egui::Grid::new("shortcuts")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            for (k, what) in SHORTCUTS {
                ui.label(RichText::new(k).monospace());
                ui.label(what);
                ui.end_row();
            }
        });
    ui.separator();
    ui.heading("Your work");
    ui.label("Twin files are saved atomically (a temporary file, then a rename): a crash never leaves half a file.");
    ui.label("Unsaved changes are autosaved every 30 s to Twinscope's own folder; after a crash the next start offers them back.");
    ui.label("Drop a twin file (.twin.json) on the window to open it, or a DICOM folder to open the study.");
    ui.label("Twinscope never writes into the folders of your images.");
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_cardio::Intervention;
    use twin_scenario::TwinDocument;

    fn demo() -> Session {
        let mut s = Session::new(TwinDocument::new("Jane Roe"), None);
        s.apply(&ScenarioAction::Add(
            "severe AS".into(),
            vec![Intervention::AorticStenosis {
                valve_area_cm2: 0.7,
            }],
        ));
        s
    }

    #[test]
    fn a_variant_is_described_by_its_changes() {
        let s = demo();
        assert_eq!(
            describe(&s.doc.variants[0]),
            "aortic stenosis, valve area 0.70 cm²"
        );
        assert_eq!(
            describe(&Variant::default()),
            "no changes yet: the baseline"
        );
    }

    #[test]
    fn the_delta_table_gives_change_and_percent_change() {
        let b: BTreeMap<String, f64> = [
            ("sbp_mmhg".to_owned(), 120.0),
            ("lv_ef_percent".into(), 60.0),
        ]
        .into_iter()
        .collect();
        let v: BTreeMap<String, f64> =
            [("sbp_mmhg".to_owned(), 90.0), ("lv_ef_percent".into(), 0.0)]
                .into_iter()
                .collect();
        let rows = delta_rows(&b, &v);
        assert_eq!(rows.len(), 2);
        // Table order (METRICS): EF before SBP.
        assert_eq!(rows[0].0, "LV EF (%)");
        assert_eq!(rows[1], ("SBP (mmHg)", 120.0, 90.0, -30.0, Some(-25.0)));
        let zero: BTreeMap<String, f64> = [("sbp_mmhg".to_owned(), 0.0)].into_iter().collect();
        assert_eq!(delta_rows(&zero, &v)[0].4, None);
    }

    #[test]
    fn the_scenario_list_shows_every_variant_and_acts_on_clicks() {
        let mut s = demo();
        s.act(&ScenarioAction::Add("TAVR".into(), Vec::new()), &mut ());
        let mut list = ScenarioList::default();
        s.baseline_results = [("sbp_mmhg".to_owned(), 121.0)].into_iter().collect();
        s.doc.variants[0].results = [("sbp_mmhg".to_owned(), 96.0)].into_iter().collect();
        s.selected = Some(0);
        let ctx = egui::Context::default();
        let mut actions = Vec::new();
        let out = crate::testing::frame(&ctx, [400.0, 600.0], Vec::new(), |ui| {
            actions = scenarios_panel(ui, &s, &mut list);
        });
        let text = crate::painted_text(&out);
        for want in [
            "Baseline",
            "severe AS",
            "TAVR",
            "⟲ Undo",
            "SBP (mmHg)",
            "-25.0",
            "-20.7 %",
        ] {
            assert!(text.contains(want), "`{want}` missing:\n{text}");
        }
        assert!(actions.is_empty());
        let at = crate::testing::text_position(&out, "TAVR").unwrap();
        crate::testing::frame(&ctx, [400.0, 600.0], crate::testing::click(at), |ui| {
            actions = scenarios_panel(ui, &s, &mut list);
        });
        assert_eq!(actions, vec![ScenarioAction::Select(Some(1))]);
        let at = crate::testing::text_position(&out, "⟲ Undo").unwrap();
        crate::testing::frame(&ctx, [400.0, 600.0], crate::testing::click(at), |ui| {
            actions = scenarios_panel(ui, &s, &mut list);
        });
        assert_eq!(actions, vec![ScenarioAction::Undo]);
    }
}
