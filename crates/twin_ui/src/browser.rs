//! The study browser (left panel), the menu bar and the window title.

use std::path::PathBuf;

use egui::{Color32, RichText, Ui};
use twin_imaging::PatientIdentity;

/// What the user asked for in this frame.
#[derive(Debug, Clone, PartialEq)]
pub enum UiAction {
    /// File ▸ Open folder… (the app shows the native dialog off the UI thread).
    OpenFolderDialog,
    /// Open this folder (from the dialog, drag-and-drop or the command line).
    OpenFolder(PathBuf),
    /// File ▸ Open demo patient.
    OpenDemo,
    /// Load this stack (by id) and build its surface.
    SelectStack(String),
    /// Rebuild the surface of the current stack at this threshold.
    ApplyThreshold(f32),
    /// Stop the running job.
    CancelJob,
    /// Privacy mode was switched on or off.
    SetPrivacy(bool),
    /// View ▸ Cardiac twin.
    ShowCardio,
    ShowGait,
    /// File ▸ Quit.
    Quit,
    /// File ▸ New twin (Ctrl+N).
    NewTwin,
    /// File ▸ Open twin… (Ctrl+O; the dialog runs off the UI thread).
    OpenTwinDialog,
    /// Open this twin file (recent list, drag-and-drop, command line).
    OpenTwin(PathBuf),
    /// File ▸ Save twin (Ctrl+S; asks where when it was never saved).
    SaveTwin,
    /// File ▸ Save twin as… (Ctrl+Shift+S).
    SaveTwinAs,
    /// File ▸ Export report… (Ctrl+E).
    ExportReport,
    /// Edit ▸ Undo (Ctrl+Z) and Redo (Ctrl+Y, Ctrl+Shift+Z).
    Undo,
    Redo,
    /// Edit ▸ Duplicate variant (Ctrl+D) and Delete variant (Delete).
    DuplicateVariant,
    DeleteVariant,
    /// View ▸ Scenarios, Jobs (Ctrl+J), Help (F1).
    ShowScenarios,
    ToggleJobs,
    ToggleHelp,
}

/// One stack in the browser.
#[derive(Debug, Clone, Default)]
pub struct StackRow {
    pub id: String,
    /// e.g. "320 × 224 × 150, 1.25 × 1.25 × 3.0 mm".
    pub summary: String,
    pub phases: usize,
    pub warnings: Vec<String>,
    /// Preview of the middle slice, once decoded.
    pub thumbnail: Option<std::sync::Arc<twin_imaging::Thumbnail>>,
}

/// Draws a stack's thumbnail (texture cached in egui's memory per image).
fn thumbnail(ui: &mut Ui, thumb: &std::sync::Arc<twin_imaging::Thumbnail>) {
    let id = egui::Id::new(("thumbnail", std::sync::Arc::as_ptr(thumb) as usize));
    let texture = ui.ctx().data(|d| d.get_temp::<egui::TextureHandle>(id));
    let texture = texture.unwrap_or_else(|| {
        let image = egui::ColorImage::from_gray([thumb.width, thumb.height], &thumb.pixels);
        let t = ui
            .ctx()
            .load_texture("thumbnail", image, egui::TextureOptions::LINEAR);
        ui.ctx().data_mut(|d| d.insert_temp(id, t.clone()));
        t
    });
    let side = 48.0;
    let (w, h) = (thumb.width as f32, thumb.height as f32);
    let scale = side / w.max(h);
    ui.add(egui::Image::new((
        texture.id(),
        egui::vec2(w * scale, h * scale),
    )));
}

/// One series in the browser.
#[derive(Debug, Clone, Default)]
pub struct SeriesRow {
    pub number: Option<i32>,
    pub modality: String,
    pub description: String,
    pub stacks: Vec<StackRow>,
}

/// One study in the browser.
#[derive(Debug, Clone, Default)]
pub struct StudyRow {
    pub identity: PatientIdentity,
    pub date: String,
    pub description: String,
    pub series: Vec<SeriesRow>,
}

/// A running background job as the UI shows it.
#[derive(Debug, Clone, Default)]
pub struct JobView {
    pub label: String,
    pub stage: String,
    pub fraction: f32,
}

/// Everything the browser panel shows.
#[derive(Debug, Clone)]
pub struct BrowserState {
    pub privacy: bool,
    /// The opened folder (hidden in privacy mode: paths often carry names).
    pub source: Option<PathBuf>,
    pub studies: Vec<StudyRow>,
    /// Files skipped during the scan (not DICOM / unreadable).
    pub skipped: String,
    pub selected_stack: Option<String>,
    pub threshold: f32,
    pub threshold_range: (f32, f32),
    pub threshold_unit: String,
    pub job: Option<JobView>,
    pub error: Option<String>,
    /// Warnings about the loaded volume.
    pub notices: Vec<String>,
    /// Summary of the current surface (triangles, volume, …).
    pub surface: Option<String>,
    /// Recent twin files (path, label as shown: file names only, and none
    /// in privacy mode).
    pub recent_twins: Vec<(PathBuf, String)>,
    /// Recent study folders, labelled the same way.
    pub recent_studies: Vec<(PathBuf, String)>,
    /// What Undo and Redo would do, for the Edit menu.
    pub undo: Option<String>,
    pub redo: Option<String>,
}

impl Default for BrowserState {
    fn default() -> Self {
        Self {
            privacy: false,
            source: None,
            studies: Vec::new(),
            skipped: String::new(),
            selected_stack: None,
            threshold: 200.0,
            threshold_range: (-1000.0, 2000.0),
            threshold_unit: String::new(),
            job: None,
            error: None,
            notices: Vec::new(),
            surface: None,
            recent_twins: Vec::new(),
            recent_studies: Vec::new(),
            undo: None,
            redo: None,
        }
    }
}

/// The window title: never the patient's identity in privacy mode.
#[must_use]
pub fn window_title(privacy: bool, patient: Option<&PatientIdentity>) -> String {
    match patient {
        Some(p) => format!("Twinscope — {}", p.display(privacy)),
        None => "Twinscope".to_owned(),
    }
}

/// A submenu of recent files: one entry per (path, label), opened by `open`.
fn recent_menu(
    ui: &mut Ui,
    out: &mut Vec<UiAction>,
    title: &str,
    recent: &[(PathBuf, String)],
    open: impl Fn(&std::path::Path) -> UiAction,
) {
    ui.menu_button(title, |ui| {
        if recent.is_empty() {
            ui.label(RichText::new("none yet").weak());
        }
        for (path, label) in recent {
            if ui.button(label).clicked() {
                out.push(open(path));
            }
        }
    });
}

/// The menu bar: File, Edit, View and Help menus.
pub fn menu_bar(ui: &mut Ui, state: &BrowserState) -> Vec<UiAction> {
    let mut actions = Vec::new();
    let item = |ui: &mut Ui, out: &mut Vec<UiAction>, text: &str, keys: &str, action: UiAction| {
        let b = egui::Button::new(text).shortcut_text(keys);
        if ui.add(b).clicked() {
            out.push(action);
        }
    };
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            item(ui, &mut actions, "New twin", "Ctrl+N", UiAction::NewTwin);
            item(
                ui,
                &mut actions,
                "Open twin…",
                "Ctrl+O",
                UiAction::OpenTwinDialog,
            );
            recent_menu(
                ui,
                &mut actions,
                "Open recent twin",
                &state.recent_twins,
                |p| UiAction::OpenTwin(p.to_owned()),
            );
            item(ui, &mut actions, "Save twin", "Ctrl+S", UiAction::SaveTwin);
            item(
                ui,
                &mut actions,
                "Save twin as…",
                "Ctrl+Shift+S",
                UiAction::SaveTwinAs,
            );
            ui.separator();
            item(
                ui,
                &mut actions,
                "Open folder…",
                "",
                UiAction::OpenFolderDialog,
            );
            recent_menu(
                ui,
                &mut actions,
                "Open recent study",
                &state.recent_studies,
                |p| UiAction::OpenFolder(p.to_owned()),
            );
            item(
                ui,
                &mut actions,
                "Open demo patient",
                "",
                UiAction::OpenDemo,
            );
            ui.separator();
            item(
                ui,
                &mut actions,
                "Export report…",
                "Ctrl+E",
                UiAction::ExportReport,
            );
            ui.separator();
            item(ui, &mut actions, "Quit", "", UiAction::Quit);
        });
        ui.menu_button("Edit", |ui| {
            let undo = state.undo.as_ref().map(|u| format!("Undo {u}"));
            let redo = state.redo.as_ref().map(|r| format!("Redo {r}"));
            if ui
                .add_enabled(
                    undo.is_some(),
                    egui::Button::new(undo.as_deref().unwrap_or("Undo")).shortcut_text("Ctrl+Z"),
                )
                .clicked()
            {
                actions.push(UiAction::Undo);
            }
            if ui
                .add_enabled(
                    redo.is_some(),
                    egui::Button::new(redo.as_deref().unwrap_or("Redo")).shortcut_text("Ctrl+Y"),
                )
                .clicked()
            {
                actions.push(UiAction::Redo);
            }
            ui.separator();
            item(
                ui,
                &mut actions,
                "Duplicate variant",
                "Ctrl+D",
                UiAction::DuplicateVariant,
            );
            item(
                ui,
                &mut actions,
                "Delete variant",
                "Delete",
                UiAction::DeleteVariant,
            );
        });
        ui.menu_button("View", |ui| {
            let mut privacy = state.privacy;
            if ui
                .add(egui::Checkbox::new(&mut privacy, "Privacy mode"))
                .on_hover_text("Ctrl+P")
                .changed()
            {
                actions.push(UiAction::SetPrivacy(privacy));
            }
            item(ui, &mut actions, "Scenarios…", "", UiAction::ShowScenarios);
            item(ui, &mut actions, "Cardiac twin…", "", UiAction::ShowCardio);
            item(ui, &mut actions, "Gait analysis…", "", UiAction::ShowGait);
            item(ui, &mut actions, "Jobs…", "Ctrl+J", UiAction::ToggleJobs);
        });
        ui.menu_button("Help", |ui| {
            item(
                ui,
                &mut actions,
                "Shortcuts and help",
                "F1",
                UiAction::ToggleHelp,
            );
        });
    });
    actions
}

/// The keyboard shortcuts of [`crate::twin::SHORTCUTS`] pressed this frame
/// (consumed from the input). Editing keys (undo, delete) are left to a
/// text field that has the keyboard.
#[must_use]
pub fn shortcut_actions(ctx: &egui::Context, privacy: bool) -> Vec<UiAction> {
    use egui::{Key, KeyboardShortcut, Modifiers};
    let typing = ctx.egui_wants_keyboard_input();
    let cmd = |key| KeyboardShortcut::new(Modifiers::COMMAND, key);
    let cmd_shift = |key| KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, key);
    let mut actions = Vec::new();
    ctx.input_mut(|i| {
        // Longest chords first: Ctrl+Shift+S is not also Ctrl+S.
        if i.consume_shortcut(&cmd_shift(Key::S)) {
            actions.push(UiAction::SaveTwinAs);
        }
        for (key, action) in [
            (Key::N, UiAction::NewTwin),
            (Key::O, UiAction::OpenTwinDialog),
            (Key::S, UiAction::SaveTwin),
            (Key::E, UiAction::ExportReport),
            (Key::P, UiAction::SetPrivacy(!privacy)),
            (Key::J, UiAction::ToggleJobs),
        ] {
            if i.consume_shortcut(&cmd(key)) {
                actions.push(action);
            }
        }
        if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::NONE, Key::F1)) {
            actions.push(UiAction::ToggleHelp);
        }
        if typing {
            return;
        }
        if i.consume_shortcut(&cmd_shift(Key::Z)) || i.consume_shortcut(&cmd(Key::Y)) {
            actions.push(UiAction::Redo);
        }
        if i.consume_shortcut(&cmd(Key::Z)) {
            actions.push(UiAction::Undo);
        }
        if i.consume_shortcut(&cmd(Key::D)) {
            actions.push(UiAction::DuplicateVariant);
        }
        if i.consume_shortcut(&KeyboardShortcut::new(Modifiers::NONE, Key::Delete)) {
            actions.push(UiAction::DeleteVariant);
        }
    });
    actions
}

/// The left panel: studies, series and stacks; the surface tool; job progress.
pub fn side_panel(ui: &mut Ui, state: &mut BrowserState) -> Vec<UiAction> {
    let mut actions = Vec::new();
    ui.heading("Study");
    if let Some(src) = &state.source {
        let shown = if state.privacy {
            "(folder hidden in privacy mode)".to_owned()
        } else {
            src.display().to_string()
        };
        ui.label(RichText::new(shown).small().weak());
    }
    if let Some(job) = &state.job {
        ui.separator();
        ui.label(format!("{} — {}", job.label, job.stage));
        ui.horizontal(|ui| {
            ui.add(
                egui::ProgressBar::new(job.fraction)
                    .show_percentage()
                    .desired_width(ui.available_width() - 70.0),
            );
            if ui.button("Cancel").clicked() {
                actions.push(UiAction::CancelJob);
            }
        });
    }
    if let Some(err) = &state.error {
        ui.separator();
        ui.colored_label(Color32::from_rgb(230, 90, 80), format!("⚠ {err}"));
    }
    ui.separator();
    if state.studies.is_empty() && state.job.is_none() {
        ui.label("No study open. Use File > Open folder…, drop a folder on the window, or File > Open demo patient.");
    }
    egui::ScrollArea::vertical()
        .max_height(ui.available_height() * 0.55)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            for (si, study) in state.studies.iter().enumerate() {
                // Dates are identifying too: hidden in privacy mode.
                let date = if state.privacy {
                    ""
                } else {
                    study.date.as_str()
                };
                let title = format!(
                    "{} · {} {}",
                    study.identity.display(state.privacy),
                    date,
                    study.description
                );
                egui::CollapsingHeader::new(RichText::new(title).strong())
                    .id_salt(("study", si))
                    .default_open(true)
                    .show(ui, |ui| {
                        for series in &study.series {
                            let head = format!(
                                "{} {} {}",
                                series.number.map(|n| format!("#{n}")).unwrap_or_default(),
                                series.modality,
                                series.description
                            );
                            ui.label(RichText::new(head).monospace());
                            for stack in &series.stacks {
                                let selected = state.selected_stack.as_deref() == Some(&stack.id);
                                let phases = if stack.phases > 1 {
                                    format!(", {} phases", stack.phases)
                                } else {
                                    String::new()
                                };
                                let text = format!("{}  {}{}", stack.id, stack.summary, phases);
                                ui.horizontal(|ui| {
                                    if let Some(t) = &stack.thumbnail {
                                        thumbnail(ui, t);
                                    }
                                    if ui.selectable_label(selected, text).clicked() && !selected {
                                        actions.push(UiAction::SelectStack(stack.id.clone()));
                                    }
                                });
                                for w in &stack.warnings {
                                    ui.label(
                                        RichText::new(format!("    ⚠ {w}"))
                                            .small()
                                            .color(Color32::from_rgb(220, 170, 60)),
                                    );
                                }
                            }
                        }
                    });
            }
            if !state.skipped.is_empty() {
                ui.label(RichText::new(&state.skipped).small().weak());
            }
        });
    ui.separator();
    ui.heading("Surface");
    if state.selected_stack.is_some() {
        let (lo, hi) = state.threshold_range;
        let slider = egui::Slider::new(&mut state.threshold, lo..=hi).text(
            format!("threshold {}", state.threshold_unit)
                .trim_end()
                .to_owned(),
        );
        let response = ui.add(slider);
        if response.drag_stopped() || (response.changed() && !response.dragged()) {
            actions.push(UiAction::ApplyThreshold(state.threshold));
        }
        if let Some(s) = &state.surface {
            ui.label(s);
        }
        for n in &state.notices {
            ui.label(
                RichText::new(format!("⚠ {n}"))
                    .small()
                    .color(Color32::from_rgb(220, 170, 60)),
            );
        }
    } else {
        ui.label("Select a series to build its surface.");
    }
    ui.separator();
    ui.label(
        RichText::new("Left drag: orbit · right/middle drag: pan · wheel: zoom")
            .small()
            .weak(),
    );
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_state(privacy: bool) -> BrowserState {
        BrowserState {
            privacy,
            source: Some(PathBuf::from("/data/DEMO_PATIENT/study")),
            studies: vec![StudyRow {
                identity: PatientIdentity {
                    name: "DEMO^PATIENT".into(),
                    id: "TWIN-DEMO-0001".into(),
                    birth_date: "19700101".into(),
                    accession: "DEMOACCCT1".into(),
                },
                date: "20260102".into(),
                description: "CT lower limbs".into(),
                series: vec![SeriesRow {
                    number: Some(3),
                    modality: "CT".into(),
                    description: "Lower limbs".into(),
                    stacks: vec![StackRow {
                        id: "3.1".into(),
                        summary: "320 × 224 × 150".into(),
                        phases: 1,
                        warnings: vec!["irregular slice spacing".into()],
                        thumbnail: Some(std::sync::Arc::new(twin_imaging::Thumbnail {
                            width: 2,
                            height: 2,
                            pixels: vec![0, 255, 255, 0],
                        })),
                    }],
                }],
            }],
            selected_stack: Some("3.1".into()),
            job: Some(JobView {
                label: "Loading".into(),
                stage: "Decoding slices".into(),
                fraction: 0.5,
            }),
            ..BrowserState::default()
        }
    }

    /// Runs the panel once and returns every piece of text it painted.
    fn painted_text(state: &mut BrowserState) -> String {
        let ctx = egui::Context::default();
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(1200.0, 900.0),
            )),
            ..Default::default()
        };
        let mut out = ctx.run_ui(input, |ui| {
            egui::Panel::left("browser").show(ui, |ui| side_panel(ui, state));
        });
        out.textures_delta.clear();
        crate::painted_text(&out)
    }

    #[test]
    fn panel_shows_study_series_warnings_and_progress() {
        let text = painted_text(&mut demo_state(false));
        for expected in [
            "DEMO PATIENT",
            "3.1",
            "irregular slice spacing",
            "Decoding slices",
            "Cancel",
            "/data/DEMO_PATIENT/study",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn privacy_mode_paints_no_identity() {
        let text = painted_text(&mut demo_state(true));
        for secret in [
            "DEMO",
            "PATIENT",
            "TWIN-DEMO-0001",
            "19700101",
            "DEMOACC",
            "20260102",
        ] {
            assert!(
                !text.contains(secret),
                "privacy mode painted {secret:?}:\n{text}"
            );
        }
        assert!(text.contains("Patient-"), "{text}");
        let title = window_title(true, Some(&demo_state(true).studies[0].identity));
        assert!(
            !title.contains("DEMO") && title.contains("Patient-"),
            "{title}"
        );
    }

    fn press(key: egui::Key, modifiers: egui::Modifiers) -> egui::Event {
        egui::Event::Key {
            key,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers,
        }
    }

    fn shortcuts(events: Vec<egui::Event>) -> Vec<UiAction> {
        let ctx = egui::Context::default();
        let mut got = Vec::new();
        let _ = crate::testing::frame(&ctx, [800.0, 600.0], events, |ui| {
            got = shortcut_actions(ui.ctx(), false);
        });
        got
    }

    #[test]
    fn shortcuts_map_to_actions_and_the_longer_chord_wins() {
        use egui::{Key, Modifiers};
        let cmd = Modifiers::COMMAND;
        assert_eq!(
            shortcuts(vec![press(Key::S, cmd)]),
            vec![UiAction::SaveTwin]
        );
        assert_eq!(
            shortcuts(vec![press(Key::S, cmd | Modifiers::SHIFT)]),
            vec![UiAction::SaveTwinAs]
        );
        assert_eq!(shortcuts(vec![press(Key::Z, cmd)]), vec![UiAction::Undo]);
        assert_eq!(shortcuts(vec![press(Key::Y, cmd)]), vec![UiAction::Redo]);
        assert_eq!(
            shortcuts(vec![press(Key::P, cmd)]),
            vec![UiAction::SetPrivacy(true)]
        );
        assert_eq!(
            shortcuts(vec![press(Key::F1, Modifiers::NONE)]),
            vec![UiAction::ToggleHelp]
        );
        assert_eq!(
            shortcuts(vec![press(Key::Delete, Modifiers::NONE)]),
            vec![UiAction::DeleteVariant]
        );
        assert!(shortcuts(vec![press(Key::Q, Modifiers::NONE)]).is_empty());
    }
}
