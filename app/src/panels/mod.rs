//! egui glue: menu bar, workspace toolbar, status line, the docked panes of
//! the current workspace (`dock`) and the orientation marker.
//!
//! The panels themselves live in `twin_ui`; this plugin feeds them the
//! session, sends their actions to the features that carry them out, and
//! tells the viewport where the 3D view's pane is.

mod dock;

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};

use bevy::camera::CameraOutputMode;
use bevy::camera::visibility::RenderLayers;
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy::render::render_resource::BlendState;
use bevy::window::PrimaryWindow;
use bevy_egui::{
    EguiContexts, EguiGlobalSettings, EguiPrimaryContextPass, PrimaryEguiContext, egui,
};
use twin_ui::UiAction;
use twin_ui::layout::{LayoutAction, Task};

use twin_session::jobs::jobs;

use crate::session::{CardioAsk, GaitAsk, Session, Study, StudyAsk, TwinAsk, lps_to_world};

pub struct PanelsPlugin;

impl Plugin for PanelsPlugin {
    fn build(&self, app: &mut App) {
        let (tx, rx) = channel();
        app.insert_resource(FolderDialog {
            tx,
            rx: Mutex::new(rx),
            open: false,
        })
        .add_plugins(dock::DockPlugin)
        .add_systems(Startup, setup_ui_camera)
        .add_systems(EguiPrimaryContextPass, draw_panels)
        .add_systems(Update, (receive_dialog_result, update_title, handle_drops));
    }
}

/// Where the panes' actions go.
#[derive(SystemParam)]
struct Asks<'w> {
    study: MessageWriter<'w, StudyAsk>,
    cardio: MessageWriter<'w, CardioAsk>,
    gait: MessageWriter<'w, GaitAsk>,
    twin: MessageWriter<'w, TwinAsk>,
    ep: MessageWriter<'w, crate::ep::EpAsk>,
}

/// The native folder dialog runs on its own thread and answers here.
#[derive(Resource)]
struct FolderDialog {
    tx: Sender<Option<std::path::PathBuf>>,
    rx: Mutex<Receiver<Option<std::path::PathBuf>>>,
    open: bool,
}

fn setup_ui_camera(mut commands: Commands, mut settings: ResMut<EguiGlobalSettings>) {
    // egui gets its own camera so the 3D camera's viewport can exclude the panels.
    settings.auto_create_primary_context = false;
    commands.spawn((
        PrimaryEguiContext,
        Camera2d,
        RenderLayers::none(),
        Camera {
            order: 1,
            output_mode: CameraOutputMode::Write {
                blend_state: Some(BlendState::ALPHA_BLENDING),
                clear_color: ClearColorConfig::None,
            },
            clear_color: ClearColorConfig::Custom(Color::NONE),
            ..default()
        },
    ));
}

#[expect(
    clippy::too_many_lines,
    reason = "the window in screen order (menu, toolbars, status bar, the dock), then what its panes asked"
)]
fn draw_panels(
    mut contexts: EguiContexts,
    mut s: ResMut<Session>,
    mut dialog: ResMut<FolderDialog>,
    camera: Query<&Transform, With<Camera3d>>,
    time: Res<Time>,
    mut exit: MessageWriter<AppExit>,
    mut layout: ResMut<dock::Layout>,
    mut asks: Asks,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let s = &mut *s;
    let undo = s.twin.history.undo_label().map(str::to_owned);
    let redo = s.twin.history.redo_label().map(str::to_owned);
    let ws = &mut s.study;
    ws.browser.undo = undo;
    ws.browser.redo = redo;
    let mut root = egui::Ui::new(
        ctx.clone(),
        "root".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    let mut actions = twin_ui::shortcut_actions(ctx, ws.browser.privacy);
    egui::Panel::top("menu").show(&mut root, |ui| {
        actions.extend(twin_ui::menu_bar(ui, &ws.browser));
    });
    egui::Panel::bottom("status").show(&mut root, |ui| {
        ui.horizontal(|ui| {
            let list = jobs().list();
            let text = twin_ui::jobs::status_line(&list).unwrap_or_else(|| {
                ws.browser
                    .surface
                    .clone()
                    .unwrap_or_else(|| "Ready".to_owned())
            });
            if ui
                .add(egui::Label::new(text).sense(egui::Sense::click()))
                .on_hover_text("Jobs (Ctrl+J)")
                .clicked()
            {
                s.show_jobs = !s.show_jobs;
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let dirty = if s.twin.dirty { " (unsaved)" } else { "" };
                ui.label(format!("{}{dirty}", s.twin.shown_name()))
                    .on_hover_text(if s.twin.dirty {
                        "unsaved changes (autosaved every 30 s)"
                    } else {
                        "saved"
                    });
                if !s.status.is_empty() {
                    ui.label(egui::RichText::new(&s.status).weak());
                }
            });
        });
    });
    // The workspace toolbar, and the slices' toolbar in Imaging.
    egui::Panel::top("workspaces").show(&mut root, |ui| {
        if let Some(a) = twin_ui::layout::task_bar(ui, &layout.layouts) {
            match a {
                LayoutAction::Show(t) => layout.show(t, &mut asks.cardio, &mut asks.gait),
                a => layout.layouts.act(a),
            }
        }
    });
    let mpr = &mut s.study.mpr;
    if mpr.volume().is_some() {
        mpr.tick(time.elapsed_secs_f64());
        if layout.layouts.task == Task::Imaging {
            egui::Panel::top("mpr-toolbar").show(&mut root, |ui| {
                twin_ui::mpr_toolbar(ui, mpr);
            });
        }
    }
    // The workspace's panes in the rest of the window.
    let area = root.available_rect_before_wrap();
    let mut dock_ui = root.new_child(egui::UiBuilder::new().max_rect(area));
    let mut panes = dock::Panes {
        s: &mut *s,
        asked: dock::Asked::default(),
        view3d: None,
    };
    twin_ui::layout::show(&mut dock_ui, &mut layout.layouts, &mut panes);
    let dock::Panes { asked, view3d, .. } = panes;
    let free = view3d.unwrap_or(egui::Rect::NOTHING);
    s.view_rect = if view3d.is_some() {
        Rect::new(free.min.x, free.min.y, free.max.x, free.max.y)
    } else {
        Rect::default()
    };
    actions.extend(asked.ui);
    for a in asked.segments {
        asks.study.write(StudyAsk::Segment(a));
    }
    for a in asked.cardio {
        asks.cardio.write(CardioAsk::Pane(a));
    }
    for a in asked.contours {
        asks.cardio.write(CardioAsk::Contours(a));
    }
    for a in asked.timeline {
        asks.cardio.write(CardioAsk::Timeline(Box::new(a)));
    }
    for a in asked.gait {
        asks.gait.write(GaitAsk::Pane(a));
    }
    for a in asked.ep {
        asks.ep.write(crate::ep::EpAsk::Pane(a));
    }
    for a in asked.scenarios {
        s.act(&a);
    }
    if asked.export_report {
        actions.push(UiAction::ExportReport);
    }

    // Orientation marker in the lower-left corner of the 3D view.
    if let (Ok(cam), Some(_)) = (camera.single(), view3d) {
        let inv = cam.rotation.inverse();
        let axis = |lps: [f32; 3]| {
            let v = inv * lps_to_world(lps);
            [v.x, -v.y, v.z]
        };
        // Above the panels' background, below floating windows.
        let painter = ctx.layer_painter(egui::LayerId::new(
            egui::Order::Background,
            "orientation".into(),
        ));
        let centre = egui::pos2(free.min.x + 60.0, free.max.y - 60.0);
        twin_ui::orientation_marker(
            &painter,
            centre,
            34.0,
            [
                axis([1.0, 0.0, 0.0]),
                axis([0.0, 1.0, 0.0]),
                axis([0.0, 0.0, 1.0]),
            ],
        );
    }

    let ws = &mut s.study;
    if let Some(seed) = ws.mpr.picked.take() {
        ws.segments.picking = false;
        asks.study.write(StudyAsk::AddSegment(Some(seed)));
    }
    sync_overlay(ws);

    for action in actions {
        match action {
            UiAction::OpenFolderDialog => {
                if !dialog.open {
                    dialog.open = true;
                    let tx = dialog.tx.clone();
                    std::thread::spawn(move || {
                        let picked = rfd::FileDialog::new()
                            .set_title("Open DICOM folder")
                            .pick_folder();
                        let _ = tx.send(picked);
                    });
                }
            }
            UiAction::OpenFolder(path) => {
                asks.study.write(StudyAsk::Open(Some(path)));
            }
            UiAction::OpenDemo => {
                asks.study.write(StudyAsk::Open(None));
            }
            UiAction::SelectStack(id) => {
                asks.study.write(StudyAsk::SelectStack(id));
            }
            UiAction::ApplyThreshold(t) => {
                asks.study.write(StudyAsk::Remesh(t));
            }
            UiAction::CancelJob => {
                asks.study.write(StudyAsk::Cancel);
            }
            UiAction::SetPrivacy(on) => {
                s.study.browser.privacy = on;
                s.twin.privacy = on;
            }
            UiAction::ShowCardio => layout.show(Task::Cardiac, &mut asks.cardio, &mut asks.gait),
            UiAction::ShowGait => layout.show(Task::Gait, &mut asks.cardio, &mut asks.gait),
            UiAction::ShowScenarios => {
                layout.show(Task::Compare, &mut asks.cardio, &mut asks.gait);
            }
            UiAction::Quit => {
                exit.write(AppExit::Success);
            }
            a => {
                asks.twin.write(TwinAsk::Menu(a));
            }
        }
    }
    Ok(())
}

/// Keeps the slice overlays in step with the editor (threshold preview) and
/// the visible segments.
fn sync_overlay(ws: &mut Study) {
    use twin_ui::mpr::{Overlay, OverlayMask};
    let ed = &ws.segments.editor;
    let preview = (ed.tool == twin_ui::segments::Tool::Threshold && ed.preview).then_some((
        ed.lo,
        ed.hi,
        egui::Color32::from_rgb(80, 200, 255),
    ));
    let masks: Vec<OverlayMask> = ws
        .segments
        .rows
        .iter()
        .zip(&ws.segment_data)
        .filter(|(row, _)| row.visible)
        .map(|(row, data)| OverlayMask {
            data: data.mask.clone(),
            colour: egui::Color32::from_rgb(row.colour[0], row.colour[1], row.colour[2]),
        })
        .collect();
    let old = &ws.mpr.overlay;
    let same = old.preview == preview
        && old.masks.len() == masks.len()
        && old
            .masks
            .iter()
            .zip(&masks)
            .all(|(a, b)| std::sync::Arc::ptr_eq(&a.data, &b.data) && a.colour == b.colour);
    if !same {
        let generation = old.generation + 1;
        ws.mpr.overlay = Overlay {
            preview,
            masks,
            generation,
        };
    }
}

fn receive_dialog_result(mut dialog: ResMut<FolderDialog>, mut study: MessageWriter<StudyAsk>) {
    let picked = dialog.rx.lock().ok().and_then(|rx| rx.try_recv().ok());
    if let Some(picked) = picked {
        dialog.open = false;
        if let Some(path) = picked {
            study.write(StudyAsk::Open(Some(path)));
        }
    }
}

fn update_title(s: Res<Session>, mut window: Query<&mut Window, With<PrimaryWindow>>) {
    let ws = &s.study;
    let title = twin_ui::window_title(ws.browser.privacy, ws.patient());
    if let Ok(mut w) = window.single_mut()
        && w.title != title
    {
        w.title = title;
    }
}

/// Dropped files: a twin file opens as the twin, anything else as a study.
fn handle_drops(
    mut drops: MessageReader<bevy::window::FileDragAndDrop>,
    mut study: MessageWriter<StudyAsk>,
    mut twin: MessageWriter<TwinAsk>,
) {
    for d in drops.read() {
        if let bevy::window::FileDragAndDrop::DroppedFile { path_buf, .. } = d {
            if is_twin_file(path_buf) {
                twin.write(TwinAsk::Open(path_buf.clone()));
            } else {
                study.write(StudyAsk::Open(Some(path_buf.clone())));
            }
        }
    }
}

/// A `.json` file (twin files are `NAME.twin.json`; a bare scenario file
/// opens as a one-variant twin).
fn is_twin_file(path: &std::path::Path) -> bool {
    path.is_file()
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}
