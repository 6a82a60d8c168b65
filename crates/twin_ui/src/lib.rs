//! Twinscope's egui panels, drawn from plain state and returning user actions.
//!
//! Nothing here knows about Bevy: the app owns the state, calls these functions
//! inside its egui pass and carries out the returned [`UiAction`]s. That keeps the
//! panels testable with a bare `egui::Context` (see the tests).

pub mod browser;
pub mod cardio;
pub mod contours;
pub mod ep;
pub mod gait;
pub mod jobs;
pub mod layout;
pub mod mpr;
pub mod number;
pub mod orientation;
pub mod predict;
pub mod prosthesis;
pub mod segments;
pub mod timeline;
pub mod twin;

pub use browser::{
    BrowserState, JobView, SeriesRow, StackRow, StudyRow, UiAction, menu_bar, shortcut_actions,
    side_panel, window_title,
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

/// Helpers for the panels' tests: a frame with input, clicks, where a text is.
#[cfg(test)]
pub(crate) mod testing {
    /// Runs one frame of `size` points with these input events.
    pub fn frame(
        ctx: &egui::Context,
        size: [f32; 2],
        events: Vec<egui::Event>,
        mut draw: impl FnMut(&mut egui::Ui),
    ) -> egui::FullOutput {
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(size[0], size[1]),
            )),
            events,
            ..Default::default()
        };
        let mut out = ctx.run_ui(input, |ui| draw(ui));
        // egui's debug build asserts that texture deltas are consumed.
        out.textures_delta.clear();
        out
    }

    /// A primary click at `pos`.
    pub fn click(pos: egui::Pos2) -> Vec<egui::Event> {
        let button = |pressed| egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        };
        vec![egui::Event::PointerMoved(pos), button(true), button(false)]
    }

    /// The centre of the first painted text equal to `what`.
    pub fn text_position(out: &egui::FullOutput, what: &str) -> Option<egui::Pos2> {
        fn find(shape: &egui::Shape, what: &str) -> Option<egui::Pos2> {
            match shape {
                egui::Shape::Text(t) if t.galley.text() == what => {
                    Some(t.pos + t.galley.rect.center().to_vec2())
                }
                egui::Shape::Vec(v) => v.iter().find_map(|s| find(s, what)),
                _ => None,
            }
        }
        out.shapes.iter().find_map(|c| find(&c.shape, what))
    }
}
