//! The app's one job system ([`twin_core::jobs::Jobs`], through
//! `twin_session::jobs`): every heavy piece of work (loading, meshing,
//! calibration, simulation, gait) is queued on its worker threads with
//! progress and cancel; its messages are read back on the main thread
//! without ever blocking a frame. This plugin draws the jobs window and the
//! error toasts; the status bar reads the same system.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use twin_session::jobs::jobs;

use crate::session::Session;

pub struct JobsPlugin;

impl Plugin for JobsPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(EguiPrimaryContextPass, draw);
    }
}

/// How long an error toast stays.
const TOAST: std::time::Duration = std::time::Duration::from_secs(12);

/// The toasts, and the jobs window while it is open (View ▸ Jobs, Ctrl+J).
fn draw(mut contexts: EguiContexts, mut s: ResMut<Session>) -> Result {
    let ctx = contexts.ctx_mut()?;
    let jobs = jobs();
    for closed in twin_ui::jobs::toasts(ctx, &jobs.notices(TOAST)) {
        jobs.dismiss(closed);
    }
    if s.show_jobs {
        let list = jobs.list();
        let mut open = true;
        let mut cancel = Vec::new();
        egui::Window::new("Jobs")
            .open(&mut open)
            .default_size([420.0, 260.0])
            .default_pos([340.0, 420.0])
            .show(ctx, |ui| cancel = twin_ui::jobs::jobs_panel(ui, &list));
        for id in cancel {
            jobs.cancel(id);
        }
        s.show_jobs = open;
    }
    if jobs.active() > 0 {
        // Progress bars move without input.
        ctx.request_repaint_after(std::time::Duration::from_millis(100));
    }
    Ok(())
}
