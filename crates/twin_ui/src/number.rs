//! Numbers shown in panels. A model that failed can produce NaN or ±∞;
//! those are never printed as a number ("NaN", "inf"): the cell says
//! "invalid" in the warning colour, with the reason on hover, so a
//! clinician cannot read a broken result as a value.

use egui::{Color32, RichText, Ui};

/// Colour of a value that is not a number.
pub const INVALID: Color32 = Color32::from_rgb(235, 80, 70);

/// `x` with `decimals` decimals, or the "invalid" mark.
#[must_use]
pub fn text(x: f64, decimals: usize) -> RichText {
    if x.is_finite() {
        RichText::new(format!("{x:.decimals$}"))
    } else {
        RichText::new("⚠ invalid").color(INVALID)
    }
}

/// A signed change `v − b`, or the "invalid" mark when either is not finite.
#[must_use]
pub fn change(b: f64, v: f64, decimals: usize) -> RichText {
    let d = v - b;
    if d.is_finite() {
        RichText::new(format!("{d:+.decimals$}"))
    } else {
        RichText::new("⚠ invalid").color(INVALID)
    }
}

/// Shows `x` (or the "invalid" mark with the reason on hover) as a label.
pub fn label(ui: &mut Ui, x: f64, decimals: usize) {
    let r = ui.label(text(x, decimals));
    if !x.is_finite() {
        r.on_hover_text(format!(
            "the model produced {} here: this result is not valid (see the warnings)",
            if x.is_nan() {
                "NaN"
            } else {
                "an infinite value"
            }
        ));
    }
}

/// `Some(x)` when finite, else `None` (for plots, which must not draw NaN).
#[must_use]
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}
