//! Twinscope's egui panels, drawn from plain state and returning user actions.
//!
//! Nothing here knows about Bevy: the app owns the state, calls these functions
//! inside its egui pass and carries out the returned [`UiAction`]s. That keeps the
//! panels testable with a bare `egui::Context` (see the tests).

pub mod browser;
pub mod cardio;
pub mod gait;
pub mod mpr;
pub mod number;
pub mod orientation;
pub mod prosthesis;
pub mod segments;

pub use browser::{
    BrowserState, JobView, SeriesRow, StackRow, StudyRow, UiAction, menu_bar, side_panel,
    window_title,
};
pub use cardio::{CardioAction, CardioState, cardio_panel};
pub use gait::{GaitAction, GaitState, GaitView, gait_panel};
pub use mpr::{MprState, WindowPreset, mpr_toolbar, mpr_view};
pub use orientation::orientation_marker;
pub use prosthesis::{DeviceControls, WhatIfAsk, WhatIfState, whatif_section};
pub use segments::{SegmentAction, SegmentsState, segments_panel};

/// Every text a frame painted, one per line (for the panels' tests).
#[cfg(test)]
pub(crate) fn painted_text(out: &egui::FullOutput) -> String {
    fn collect(shape: &egui::Shape, out: &mut String) {
        match shape {
            egui::Shape::Text(t) => {
                out.push_str(t.galley.text());
                out.push('\n');
            }
            egui::Shape::Vec(v) => v.iter().for_each(|s| collect(s, out)),
            _ => {}
        }
    }
    let mut text = String::new();
    for clipped in &out.shapes {
        collect(&clipped.shape, &mut text);
    }
    text
}
