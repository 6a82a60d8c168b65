//! Twinscope's egui panels, drawn from plain state and returning user actions.
//!
//! Nothing here knows about Bevy: the app owns the state, calls these functions
//! inside its egui pass and carries out the returned [`UiAction`]s. That keeps the
//! panels testable with a bare `egui::Context` (see the tests).

pub mod browser;
pub mod cardio;
pub mod gait;
pub mod mpr;
pub mod orientation;
pub mod segments;

pub use browser::{
    BrowserState, JobView, SeriesRow, StackRow, StudyRow, UiAction, menu_bar, side_panel,
    window_title,
};
pub use cardio::{CardioAction, CardioState, cardio_panel};
pub use gait::{GaitAction, GaitState, GaitView, gait_panel};
pub use mpr::{MprState, WindowPreset, mpr_toolbar, mpr_view};
pub use orientation::orientation_marker;
pub use segments::{SegmentAction, SegmentsState, segments_panel};
