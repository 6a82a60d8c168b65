//! egui glue: menu bar, workspace toolbar, status line, the docked panes of
//! the current workspace (`dock`) and the orientation marker.
//!
//! The panels themselves live in `twin_ui`; this plugin feeds them the
//! feature state, carries out their actions and tells the viewport where
//! the 3D view's pane is.

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};

use bevy::camera::CameraOutputMode;
use bevy::camera::visibility::RenderLayers;
use bevy::prelude::*;
use bevy::render::render_resource::BlendState;
use bevy::window::PrimaryWindow;
use bevy_egui::{
    EguiContexts, EguiGlobalSettings, EguiPrimaryContextPass, PrimaryEguiContext, egui,
};
use twin_ui::layout::{LayoutAction, Task};
use twin_ui::{SegmentAction, UiAction};

use crate::study::Workspace;
use crate::viewport::{OrbitCamera, ViewportRect, lps_to_world};

pub struct PanelsPlugin;

impl Plugin for PanelsPlugin {
    fn build(&self, app: &mut App) {
        let (tx, rx) = channel();
        app.insert_resource(FolderDialog {
            tx,
            rx: Mutex::new(rx),
            open: false,
        })
        .add_systems(Startup, setup_ui_camera)
        .add_systems(EguiPrimaryContextPass, draw_panels)
        .add_systems(Update, (receive_dialog_result, update_title));
    }
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
    clippy::too_many_arguments,
    reason = "a Bevy system: each resource it reads is a parameter"
)]
#[expect(
    clippy::too_many_lines,
    reason = "the window in screen order (menu, toolbars, status bar, the dock), then what its panes asked"
)]
fn draw_panels(
    mut contexts: EguiContexts,
    mut ws: ResMut<Workspace>,
    mut rect: ResMut<ViewportRect>,
    mut dialog: ResMut<FolderDialog>,
    mut cardio: ResMut<crate::cardio::Cardio>,
    mut gait: ResMut<crate::gait::Gait>,
    camera: Query<&Transform, With<OrbitCamera>>,
    time: Res<Time>,
    mut exit: MessageWriter<AppExit>,
    mut twin: ResMut<crate::twin::Twin>,
    mut jobs_window: ResMut<crate::job::JobsWindow>,
    mut layout: ResMut<crate::dock::Layout>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    ws.browser.recent_twins = twin.recent_labels();
    ws.browser.recent_studies = twin.recent_study_labels();
    ws.browser.undo = twin.session.history.undo_label().map(str::to_owned);
    ws.browser.redo = twin.session.history.redo_label().map(str::to_owned);
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
            let list = crate::job::jobs().list();
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
                jobs_window.open = !jobs_window.open;
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let dirty = if twin.session.dirty { " (unsaved)" } else { "" };
                ui.label(format!("{}{dirty}", twin.session.shown_name()))
                    .on_hover_text(if twin.session.dirty {
                        "unsaved changes (autosaved every 30 s)"
                    } else {
                        "saved"
                    });
                if !twin.status.is_empty() {
                    ui.label(egui::RichText::new(&twin.status).weak());
                }
            });
        });
    });
    // The workspace toolbar, and the slices' toolbar in Imaging.
    egui::Panel::top("workspaces").show(&mut root, |ui| {
        if let Some(a) = twin_ui::layout::task_bar(ui, &layout.layouts) {
            match a {
                LayoutAction::Show(t) => layout.show(t, &mut cardio, &mut gait),
                a => layout.layouts.act(a),
            }
        }
    });
    let has_volume = ws.mpr.volume().is_some();
    if has_volume {
        ws.mpr.tick(time.elapsed_secs_f64());
        if layout.layouts.task == Task::Imaging {
            egui::Panel::top("mpr-toolbar").show(&mut root, |ui| {
                twin_ui::mpr_toolbar(ui, &mut ws.mpr);
            });
        }
    }
    // The workspace's panes in the rest of the window.
    let area = root.available_rect_before_wrap();
    let mut dock_ui = root.new_child(egui::UiBuilder::new().max_rect(area));
    let mut panes = crate::dock::Panes {
        ws: &mut ws,
        cardio: &mut cardio,
        gait: &mut gait,
        twin: &mut twin,
        asked: crate::dock::Asked::default(),
        view3d: None,
    };
    twin_ui::layout::show(&mut dock_ui, &mut layout.layouts, &mut panes);
    let crate::dock::Panes { asked, view3d, .. } = panes;
    let free = view3d.unwrap_or(egui::Rect::NOTHING);
    if view3d.is_some() {
        rect.min = Vec2::new(free.min.x, free.min.y);
        rect.max = Vec2::new(free.max.x, free.max.y);
    } else {
        rect.min = Vec2::ZERO;
        rect.max = Vec2::ZERO;
    }
    actions.extend(asked.ui);
    let segment_actions = asked.segments;
    crate::cardio::handle(asked.cardio, &mut cardio, &mut twin, &mut ws);
    crate::gait::handle(asked.gait, &mut gait, &mut twin, &mut ws);
    for a in asked.scenarios {
        twin.act(&a, &mut ws);
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

    for action in segment_actions {
        match action {
            SegmentAction::CreateByThreshold => ws.add_segment(None),
            SegmentAction::PickSeed => {
                ws.mpr.pick = true;
                ws.segments.picking = true;
            }
            SegmentAction::Delete(i) => ws.delete_segment(i),
            SegmentAction::Export(i, format) => ws.export_segment(i, format),
        }
    }
    if let Some(seed) = ws.mpr.picked.take() {
        ws.segments.picking = false;
        ws.add_segment(Some(seed));
    }
    sync_overlay(&mut ws);

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
            UiAction::OpenFolder(path) => ws.open(Some(path)),
            UiAction::OpenDemo => ws.open(None),
            UiAction::SelectStack(id) => ws.select_stack(&id),
            UiAction::ApplyThreshold(t) => ws.remesh(t),
            UiAction::CancelJob => ws.cancel(),
            UiAction::SetPrivacy(on) => {
                ws.browser.privacy = on;
                twin.session.privacy = on;
            }
            UiAction::ShowCardio => layout.show(Task::Cardiac, &mut cardio, &mut gait),
            UiAction::ShowGait => layout.show(Task::Gait, &mut cardio, &mut gait),
            UiAction::ShowScenarios => layout.show(Task::Compare, &mut cardio, &mut gait),
            UiAction::Quit => {
                exit.write(AppExit::Success);
            }
            a => crate::twin::handle(&a, &mut twin, &mut ws, &mut cardio, &mut jobs_window),
        }
    }
    Ok(())
}

/// Keeps the slice overlays in step with the editor (threshold preview) and
/// the visible segments.
fn sync_overlay(ws: &mut Workspace) {
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

fn receive_dialog_result(mut dialog: ResMut<FolderDialog>, mut ws: ResMut<Workspace>) {
    let picked = dialog.rx.lock().ok().and_then(|rx| rx.try_recv().ok());
    if let Some(picked) = picked {
        dialog.open = false;
        if let Some(path) = picked {
            ws.open(Some(path));
        }
    }
}

fn update_title(ws: Res<Workspace>, mut window: Query<&mut Window, With<PrimaryWindow>>) {
    let title = twin_ui::window_title(ws.browser.privacy, ws.patient());
    if let Ok(mut w) = window.single_mut()
        && w.title != title
    {
        w.title = title;
    }
}
