//! `--screenshot PATH [--frames N]`: render, write a PNG and exit.
//!
//! The capture waits until the opening job has settled (surface shown or an
//! error displayed) and renders `N` more frames, and in any case until the app
//! has been running for a few seconds (render pipelines compile asynchronously,
//! slowly on a software rasteriser, and draw nothing until ready); then it writes
//! the window to PNG (and the 3D view's rectangle to `PATH.json`) and exits.
//! A 10-minute guard exits with an error if the study never settles.
//! While capturing, egui is told the pointer is gone: under Xvfb it rests
//! at the screen's centre and would open whatever tooltip lies there.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};

use crate::Args;
use crate::session::{Pending, Session};

pub struct CapturePlugin;

impl Plugin for CapturePlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(CaptureState {
            frames_after_settle: 0,
            requested: false,
            started: Instant::now(),
        })
        .add_systems(Update, capture)
        .add_systems(
            PreUpdate,
            hide_pointer
                .run_if(|args: Res<Args>| args.screenshot.is_some())
                .after(bevy_egui::EguiPreUpdateSet::ProcessInput)
                .before(bevy_egui::EguiPreUpdateSet::BeginPass),
        );
    }
}

/// Drops the pointer from egui's input for the capture (no hover, no
/// tooltips).
fn hide_pointer(mut inputs: Query<&mut bevy_egui::EguiInput>) {
    for mut input in &mut inputs {
        input
            .events
            .retain(|e| !matches!(e, bevy_egui::egui::Event::PointerMoved(_)));
        input.events.push(bevy_egui::egui::Event::PointerGone);
    }
}

#[derive(Resource)]
struct CaptureState {
    frames_after_settle: u32,
    requested: bool,
    started: Instant,
}

const GUARD: Duration = Duration::from_mins(10);
/// Time for render pipelines (3D and egui) to compile before the first capture.
const WARM_UP: Duration = Duration::from_secs(4);

fn capture(
    mut commands: Commands,
    args: Res<Args>,
    s: Res<Session>,
    pending: Pending,
    mut state: ResMut<CaptureState>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(path) = args.screenshot.clone() else {
        return;
    };
    if state.requested {
        return;
    }
    if state.started.elapsed() > GUARD {
        eprintln!(
            "twinscope: the study did not finish loading within {GUARD:?}; no screenshot written"
        );
        exit.write(AppExit::error());
        return;
    }
    if s.settled(pending.any())
        && s.study.new_surface.is_none()
        && (args.gait.is_none() || s.gait.settled)
        && ((args.predict_solution.is_empty() && args.predict_landscape.is_none())
            || s.gait.ui.predict.settled)
        && (args.ep.is_none()
            || (!s.ep.busy && !s.ep.runs.is_empty())
            || s.ep.status.starts_with("failed"))
        && s.script_done
    {
        state.frames_after_settle += 1;
    }
    if state.frames_after_settle < args.frames.max(2) || state.started.elapsed() < WARM_UP {
        return;
    }
    state.requested = true;
    // Where the 3D view is, for checks of the picture (scripts/png_stats.py).
    let r = s.view_rect;
    let meta = serde_json::json!({ "viewport": [r.min.x, r.min.y, r.max.x, r.max.y] });
    if let Err(e) = std::fs::write(path.with_extension("json"), meta.to_string()) {
        eprintln!(
            "twinscope: cannot write {}: {e}",
            path.with_extension("json").display()
        );
    }
    let mut save = save_to_disk(path);
    commands.spawn(Screenshot::primary_window()).observe(
        move |captured: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| {
            save(captured);
            exit.write(AppExit::Success);
        },
    );
}
