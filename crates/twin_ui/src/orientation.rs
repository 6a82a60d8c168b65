//! The patient-orientation marker drawn in a corner of the 3D viewport.

use egui::{Align2, Color32, FontId, Painter, Pos2, Stroke, Vec2};

/// Draws the patient axes as seen by the camera, centred at `centre`.
///
/// `axes` holds the screen-space direction (x right, y down, unit length = `size`
/// pixels; z towards the viewer) of the patient's Left, Posterior and Superior
/// directions. Each axis is drawn as a line with the letter of the direction it
/// points to (L/R, P/A, S/I), the positive end brighter.
pub fn orientation_marker(painter: &Painter, centre: Pos2, size: f32, axes: [[f32; 3]; 3]) {
    let colours = [
        Color32::from_rgb(230, 80, 80),
        Color32::from_rgb(90, 200, 90),
        Color32::from_rgb(90, 140, 240),
    ];
    let letters = [("L", "R"), ("P", "A"), ("S", "I")];
    // Draw the axes pointing away from the viewer first.
    let mut order: Vec<(usize, f32)> = axes.iter().enumerate().map(|(i, a)| (i, a[2])).collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    painter.circle_filled(centre, size * 1.35, Color32::from_black_alpha(90));
    for (i, _) in order {
        let d = Vec2::new(axes[i][0], axes[i][1]) * size;
        let (pos, neg) = letters[i];
        let faint = colours[i].gamma_multiply(0.45);
        painter.line_segment([centre, centre - d], Stroke::new(2.0, faint));
        painter.line_segment([centre, centre + d], Stroke::new(3.0, colours[i]));
        let font = FontId::proportional(13.0);
        painter.text(
            centre + d * 1.18,
            Align2::CENTER_CENTER,
            pos,
            font.clone(),
            Color32::WHITE,
        );
        painter.text(
            centre - d * 1.18,
            Align2::CENTER_CENTER,
            neg,
            font,
            Color32::from_gray(170),
        );
    }
}
