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

/// The menu bar: File and View menus.
pub fn menu_bar(ui: &mut Ui, state: &BrowserState) -> Vec<UiAction> {
    let mut actions = Vec::new();
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            if ui.button("Open folder…").clicked() {
                actions.push(UiAction::OpenFolderDialog);
            }
            if ui.button("Open demo patient").clicked() {
                actions.push(UiAction::OpenDemo);
            }
            ui.separator();
            if ui.button("Quit").clicked() {
                actions.push(UiAction::Quit);
            }
        });
        ui.menu_button("View", |ui| {
            let mut privacy = state.privacy;
            if ui.checkbox(&mut privacy, "Privacy mode").changed() {
                actions.push(UiAction::SetPrivacy(privacy));
            }
            if ui.button("Cardiac twin…").clicked() {
                actions.push(UiAction::ShowCardio);
            }
            if ui.button("Gait analysis…").clicked() {
                actions.push(UiAction::ShowGait);
            }
        });
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
}
