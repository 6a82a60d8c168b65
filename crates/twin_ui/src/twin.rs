//! The patient twin in the app: the open document with its file, the
//! scenario list (baseline + variants: add, rename, duplicate, delete),
//! undo/redo, the delta table of a variant against the baseline, names
//! that are safe in privacy mode, and the Help panel's shortcuts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use egui::{Color32, RichText, Ui};
use twin_cardio::Intervention;
use twin_scenario::report::{pseudonym, variant_colour};
use twin_scenario::{TwinDocument, Variant};

/// Undo and redo of snapshots of some state (the app keeps the twin
/// document and the segments in one).
#[derive(Debug, Clone)]
pub struct History<T> {
    undo: Vec<(String, T)>,
    redo: Vec<(String, T)>,
    limit: usize,
}

impl<T> Default for History<T> {
    fn default() -> Self {
        Self {
            undo: Vec::new(),
            redo: Vec::new(),
            limit: 100,
        }
    }
}

impl<T> History<T> {
    /// Records the state `before` an edit called `label`; the redo list ends.
    pub fn record(&mut self, label: &str, before: T) {
        self.undo.push((label.to_owned(), before));
        if self.undo.len() > self.limit {
            self.undo.remove(0);
        }
        self.redo.clear();
    }

    /// Undoes the last edit: `current` becomes the state before it. Returns
    /// the edit's label.
    pub fn undo(&mut self, current: &mut T) -> Option<String> {
        let (label, before) = self.undo.pop()?;
        let after = std::mem::replace(current, before);
        self.redo.push((label.clone(), after));
        Some(label)
    }

    /// Redoes the last undone edit.
    pub fn redo(&mut self, current: &mut T) -> Option<String> {
        let (label, after) = self.redo.pop()?;
        let before = std::mem::replace(current, after);
        self.undo.push((label.clone(), before));
        Some(label)
    }

    /// What Undo would undo.
    #[must_use]
    pub fn undo_label(&self) -> Option<&str> {
        self.undo.last().map(|(l, _)| l.as_str())
    }

    /// What Redo would redo.
    #[must_use]
    pub fn redo_label(&self) -> Option<&str> {
        self.redo.last().map(|(l, _)| l.as_str())
    }
}

/// The open twin.
#[derive(Debug, Clone)]
pub struct TwinState {
    pub doc: TwinDocument,
    /// Where it was last saved or opened from.
    pub path: Option<PathBuf>,
    /// The variant shown against the baseline (`None`: the baseline).
    pub selected: Option<usize>,
    /// Changed since it was saved.
    pub dirty: bool,
    pub privacy: bool,
    /// The baseline's result summary (metric → value), once run.
    pub baseline_results: BTreeMap<String, f64>,
    /// Ready-made variants offered by "+ Variant" (name, interventions).
    pub presets: Vec<(String, Vec<Intervention>)>,
    /// The variant being renamed and the text typed so far.
    renaming: Option<(usize, String)>,
}

impl Default for TwinState {
    fn default() -> Self {
        Self::new(TwinDocument::new("Untitled twin"), None)
    }
}

/// What the user asked of the scenario list.
#[derive(Debug, Clone, PartialEq)]
pub enum ScenarioAction {
    Select(Option<usize>),
    /// A new variant with these cardiac interventions.
    Add(String, Vec<Intervention>),
    Duplicate(usize),
    Rename(usize, String),
    Delete(usize),
    Undo,
    Redo,
}

impl TwinState {
    #[must_use]
    pub fn new(doc: TwinDocument, path: Option<PathBuf>) -> Self {
        Self {
            doc,
            path,
            selected: None,
            dirty: false,
            privacy: false,
            baseline_results: BTreeMap::new(),
            presets: Vec::new(),
            renaming: None,
        }
    }

    /// The twin's name as shown: a pseudonym in privacy mode (twin names
    /// are often the patient's).
    #[must_use]
    pub fn shown_name(&self) -> String {
        shown_name(&self.doc.name, self.privacy)
    }

    /// A file name for saving (`.twin.json`) or for exports (`-report.html`
    /// etc.): from the shown name, so privacy mode never writes the name
    /// into a file name.
    #[must_use]
    pub fn file_name(&self, suffix: &str) -> String {
        safe_file_stem(&self.shown_name()) + suffix
    }

    /// A variant name not yet used, from `base`.
    #[must_use]
    pub fn unused_name(&self, base: &str) -> String {
        let taken = |n: &str| self.doc.variants.iter().any(|v| v.name == n);
        if !taken(base) {
            return base.to_owned();
        }
        (2..=self.doc.variants.len() + 2)
            .map(|k| format!("{base} ({k})"))
            .find(|n| !taken(n))
            .unwrap_or_else(|| base.to_owned())
    }

    /// Carries out an edit of the list; returns its label (for the undo
    /// history) when the document changed. Selection alone is not an edit.
    pub fn apply(&mut self, action: &ScenarioAction) -> Option<String> {
        let n = self.doc.variants.len();
        let label = match action {
            ScenarioAction::Select(s) => {
                self.selected = s.filter(|&i| i < n);
                return None;
            }
            ScenarioAction::Add(name, cardio) => {
                let name = self.unused_name(name);
                self.doc.variants.push(Variant {
                    name: name.clone(),
                    cardio: cardio.clone(),
                    ..Variant::default()
                });
                self.selected = Some(n);
                format!("add variant “{name}”")
            }
            ScenarioAction::Duplicate(i) => {
                let mut v = self.doc.variants.get(*i)?.clone();
                v.name = self.unused_name(&format!("{} copy", v.name));
                let label = format!("duplicate “{}”", self.doc.variants[*i].name);
                self.doc.variants.insert(i + 1, v);
                self.selected = Some(i + 1);
                label
            }
            ScenarioAction::Rename(i, name) => {
                let name = name.trim();
                let old = self.doc.variants.get(*i)?.name.clone();
                if name.is_empty() || name == old {
                    return None;
                }
                let name = self.unused_name(name);
                self.doc.variants[*i].name.clone_from(&name);
                format!("rename “{old}” to “{name}”")
            }
            ScenarioAction::Delete(i) => {
                if *i >= n {
                    return None;
                }
                let v = self.doc.variants.remove(*i);
                self.selected = match self.selected {
                    Some(s) if s == *i => None,
                    Some(s) if s > *i => Some(s - 1),
                    s => s,
                };
                format!("delete “{}”", v.name)
            }
            ScenarioAction::Undo | ScenarioAction::Redo => return None,
        };
        self.dirty = true;
        self.doc.touch();
        Some(label)
    }

    /// The selected variant.
    #[must_use]
    pub fn variant(&self) -> Option<&Variant> {
        self.selected.and_then(|i| self.doc.variants.get(i))
    }
}

/// `name`, or its pseudonym in privacy mode.
#[must_use]
pub fn shown_name(name: &str, privacy: bool) -> String {
    if privacy {
        pseudonym(name)
    } else {
        name.to_owned()
    }
}

/// A file-name stem from `name`: letters, digits, `-` and `_` kept, runs of
/// anything else one `-`; never empty.
#[must_use]
pub fn safe_file_stem(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() { "twin".into() } else { out }
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
pub fn scenarios_panel(
    ui: &mut Ui,
    state: &mut TwinState,
    undo: Option<&str>,
    redo: Option<&str>,
) -> Vec<ScenarioAction> {
    let mut actions = Vec::new();
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
            for (name, cardio) in &state.presets {
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
            match &mut state.renaming {
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
                        state.renaming = Some((i, v.name.clone()));
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
        state.renaming = None;
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

    fn demo() -> TwinState {
        let mut s = TwinState::new(TwinDocument::new("Jane Roe"), None);
        s.apply(&ScenarioAction::Add(
            "severe AS".into(),
            vec![Intervention::AorticStenosis {
                valve_area_cm2: 0.7,
            }],
        ));
        s
    }

    #[test]
    fn list_edits_undo_and_redo_in_order() {
        let mut s = demo();
        assert_eq!(
            describe(&s.doc.variants[0]),
            "aortic stenosis, valve area 0.70 cm²"
        );
        let mut history: History<TwinDocument> = History::default();
        let edit = |s: &mut TwinState, h: &mut History<TwinDocument>, a| {
            let before = s.doc.clone();
            if let Some(label) = s.apply(&a) {
                h.record(&label, before);
            }
        };
        edit(&mut s, &mut history, ScenarioAction::Duplicate(0));
        assert_eq!(s.doc.variants[1].name, "severe AS copy");
        assert_eq!(s.selected, Some(1));
        edit(
            &mut s,
            &mut history,
            ScenarioAction::Rename(1, "TAVR".into()),
        );
        // A second name clash gets a number.
        edit(&mut s, &mut history, ScenarioAction::Duplicate(0));
        edit(
            &mut s,
            &mut history,
            ScenarioAction::Rename(1, "TAVR".into()),
        );
        assert_eq!(s.doc.variants[1].name, "TAVR (2)");
        edit(&mut s, &mut history, ScenarioAction::Delete(1));
        assert_eq!(s.doc.variants.len(), 2);
        assert_eq!(history.undo_label(), Some("delete “TAVR (2)”"));
        // Selection is not an edit.
        edit(&mut s, &mut history, ScenarioAction::Select(Some(0)));
        assert_eq!(history.undo_label(), Some("delete “TAVR (2)”"));
        // Undo brings the deleted variant back where it was; redo deletes again.
        assert_eq!(
            history.undo(&mut s.doc).as_deref(),
            Some("delete “TAVR (2)”")
        );
        assert_eq!(s.doc.variants[1].name, "TAVR (2)");
        assert_eq!(history.redo_label(), Some("delete “TAVR (2)”"));
        history.redo(&mut s.doc);
        assert_eq!(s.doc.variants.len(), 2);
        // Undo all the way: only the first variant.
        while history.undo(&mut s.doc).is_some() {}
        let names: Vec<&str> = s.doc.variants.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["severe AS"]);
        // A new edit ends the redo list.
        edit(&mut s, &mut history, ScenarioAction::Delete(0));
        assert_eq!(history.redo_label(), None);
        // Bad indices change nothing.
        assert_eq!(s.apply(&ScenarioAction::Delete(5)), None);
        assert_eq!(s.apply(&ScenarioAction::Rename(5, "x".into())), None);
        assert_eq!(s.apply(&ScenarioAction::Duplicate(5)), None);
        assert!(s.dirty);
    }

    #[test]
    fn privacy_mode_keeps_the_name_out_of_titles_and_file_names() {
        let mut s = demo();
        assert_eq!(s.file_name(".twin.json"), "Jane-Roe.twin.json");
        s.privacy = true;
        let shown = s.shown_name();
        assert!(!shown.contains("Jane") && !shown.contains("Roe"), "{shown}");
        let file = s.file_name("-report.html");
        assert!(!file.contains("Jane") && !file.contains("Roe"), "{file}");
        assert!(file.ends_with("-report.html"), "{file}");
        assert_eq!(safe_file_stem("../../etc/passwd"), "etc-passwd");
        assert_eq!(safe_file_stem("///"), "twin");
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
        s.apply(&ScenarioAction::Add("TAVR".into(), Vec::new()));
        s.baseline_results = [("sbp_mmhg".to_owned(), 121.0)].into_iter().collect();
        s.doc.variants[0].results = [("sbp_mmhg".to_owned(), 96.0)].into_iter().collect();
        s.selected = Some(0);
        let ctx = egui::Context::default();
        let mut actions = Vec::new();
        let out = crate::testing::frame(&ctx, [400.0, 600.0], Vec::new(), |ui| {
            actions = scenarios_panel(ui, &mut s, Some("add variant"), None);
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
            actions = scenarios_panel(ui, &mut s, Some("add variant"), None);
        });
        assert_eq!(actions, vec![ScenarioAction::Select(Some(1))]);
        let at = crate::testing::text_position(&out, "⟲ Undo").unwrap();
        crate::testing::frame(&ctx, [400.0, 600.0], crate::testing::click(at), |ui| {
            actions = scenarios_panel(ui, &mut s, Some("add variant"), None);
        });
        assert_eq!(actions, vec![ScenarioAction::Undo]);
    }
}
