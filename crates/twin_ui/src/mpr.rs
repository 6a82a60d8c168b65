//! MPR views: axial, coronal and sagittal slices in patient orientation, with
//! a crosshair linked across the views (and, through the app, the 3D view),
//! scroll through slices, window/level by right-drag and presets, the value
//! under the cursor with its patient coordinates, and cine playback.
//!
//! Mouse: left click or drag moves the crosshair; right drag changes the
//! window (horizontal: width, vertical: level); the wheel steps the view's
//! slice. Colours follow 3D Slicer's: axial red, coronal green, sagittal yellow.

use std::sync::Arc;

use egui::{
    Color32, ColorImage, Pos2, Rect, Sense, Stroke, TextureHandle, TextureOptions, Ui, Vec2,
};
use twin_imaging::Volume;
use twin_imaging::mpr::{Plane, SliceImage, auto_window, bounds, reslice};

/// Largest side of a resliced image (pixels).
const MAX_PIXELS: usize = 512;

/// Window presets (centre, width).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowPreset {
    /// From the data: the file's window for CT, 1st–99th percentile for MR.
    Auto,
    SoftTissue,
    Lung,
    Bone,
    Brain,
    /// Changed by hand.
    Custom,
}

impl WindowPreset {
    pub const CT: [WindowPreset; 5] = [
        WindowPreset::Auto,
        WindowPreset::SoftTissue,
        WindowPreset::Lung,
        WindowPreset::Bone,
        WindowPreset::Brain,
    ];

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            WindowPreset::Auto => "Auto",
            WindowPreset::SoftTissue => "CT soft tissue",
            WindowPreset::Lung => "CT lung",
            WindowPreset::Bone => "CT bone",
            WindowPreset::Brain => "CT brain",
            WindowPreset::Custom => "Custom",
        }
    }

    /// (centre, width) in HU for the CT presets.
    #[must_use]
    pub fn hu(self) -> Option<(f64, f64)> {
        match self {
            WindowPreset::SoftTissue => Some((40.0, 400.0)),
            WindowPreset::Lung => Some((-600.0, 1500.0)),
            WindowPreset::Bone => Some((400.0, 1800.0)),
            WindowPreset::Brain => Some((40.0, 80.0)),
            WindowPreset::Auto | WindowPreset::Custom => None,
        }
    }
}

#[must_use]
pub fn plane_colour(plane: Plane) -> Color32 {
    match plane {
        Plane::Axial => Color32::from_rgb(230, 80, 70),
        Plane::Coronal => Color32::from_rgb(110, 200, 90),
        Plane::Sagittal => Color32::from_rgb(235, 205, 70),
    }
}

struct Cached {
    /// (phase, crosshair coordinate along the normal) the slice was cut at.
    key: (usize, i64),
    slice: SliceImage,
    texture: Option<TextureHandle>,
    texture_window: (f64, f64),
    overlay: Option<TextureHandle>,
    /// The overlay generation the overlay texture shows.
    overlay_generation: Option<u64>,
}

/// A mask drawn over the slices, on the grid of the loaded volume.
#[derive(Clone)]
pub struct OverlayMask {
    pub data: Arc<Vec<u8>>,
    pub colour: Color32,
}

/// Coloured overlays on the slices: a live threshold preview and masks.
#[derive(Clone, Default)]
pub struct Overlay {
    /// Values in `lo..=hi` tinted with the colour.
    pub preview: Option<(f32, f32, Color32)>,
    pub masks: Vec<OverlayMask>,
    /// Bumped by the owner whenever the above changes.
    pub generation: u64,
}

/// The overlay of one slice (premultiplied, semi-transparent), or `None`
/// when there is nothing to draw.
#[must_use]
pub fn overlay_image(slice: &SliceImage, volume: &Volume, overlay: &Overlay) -> Option<ColorImage> {
    if overlay.preview.is_none() && overlay.masks.is_empty() {
        return None;
    }
    let inverse = volume.affine.try_inverse()?;
    let [nx, ny, nz] = volume.dims;
    let n = nx * ny * nz;
    let masks: Vec<&OverlayMask> = overlay.masks.iter().filter(|m| m.data.len() == n).collect();
    // Which mask (1-based; 0 none) covers each pixel, then fill + outline.
    let (w, h) = (slice.width, slice.height);
    let mut label = vec![0u16; w * h];
    let mut pixels = vec![Color32::TRANSPARENT; w * h];
    for r in 0..h {
        for c in 0..w {
            let i = c + w * r;
            if let Some((lo, hi, tint)) = overlay.preview
                && let Some(v) = slice.value(c, r)
                && v >= lo
                && v <= hi
            {
                pixels[i] = tint.gamma_multiply(0.45);
            }
            if masks.is_empty() {
                continue;
            }
            let p = slice.pixel_to_patient(c as f64, r as f64);
            let q = inverse * nalgebra::Vector4::new(p[0], p[1], p[2], 1.0);
            let (x, y, z) = (q.x.round(), q.y.round(), q.z.round());
            if x >= 0.0 && y >= 0.0 && z >= 0.0 {
                let (x, y, z) = (x as usize, y as usize, z as usize);
                if x < nx && y < ny && z < nz {
                    let idx = x + nx * (y + ny * z);
                    for (m, mask) in masks.iter().enumerate() {
                        if mask.data[idx] != 0 {
                            label[i] = m as u16 + 1;
                        }
                    }
                }
            }
        }
    }
    for r in 0..h {
        for c in 0..w {
            let i = c + w * r;
            let l = label[i];
            if l == 0 {
                continue;
            }
            let colour = masks[usize::from(l) - 1].colour;
            let edge = [
                (c > 0, i.wrapping_sub(1)),
                (c + 1 < w, i + 1),
                (r > 0, i.wrapping_sub(w)),
                (r + 1 < h, i + w),
            ]
            .iter()
            .any(|&(ok, j)| !ok || label[j] != l);
            pixels[i] = if edge {
                colour
            } else {
                colour.gamma_multiply(0.35)
            };
        }
    }
    Some(ColorImage::new([slice.width, slice.height], pixels))
}

/// State of the three MPR views.
pub struct MprState {
    /// One volume per phase (a single one for a static series).
    pub frames: Vec<Arc<Volume>>,
    /// Time of each phase (ms), empty when unknown.
    pub times_ms: Vec<f64>,
    pub phase: usize,
    pub playing: bool,
    /// Seconds between phases during playback.
    pub frame_interval_s: f64,
    last_advance_s: f64,
    /// The linked crosshair (LPS mm).
    pub crosshair: [f64; 3],
    /// (centre, width).
    pub window: (f64, f64),
    pub preset: WindowPreset,
    /// Text under the cursor: value and patient coordinates.
    pub hover: Option<String>,
    scroll_accumulator: f32,
    cache: [Option<Cached>; 3],
    pub overlay: Overlay,
    /// Seed picking: the next primary click in a view stores its patient
    /// position in `picked` (and moves the crosshair there).
    pub pick: bool,
    pub picked: Option<[f64; 3]>,
}

impl Default for MprState {
    fn default() -> Self {
        Self {
            frames: Vec::new(),
            times_ms: Vec::new(),
            phase: 0,
            playing: false,
            frame_interval_s: 0.06,
            last_advance_s: 0.0,
            crosshair: [0.0; 3],
            window: (40.0, 400.0),
            preset: WindowPreset::Auto,
            hover: None,
            scroll_accumulator: 0.0,
            cache: [None, None, None],
            overlay: Overlay::default(),
            pick: false,
            picked: None,
        }
    }
}

impl MprState {
    /// Shows new volumes (one per phase): crosshair at the volume's centre,
    /// automatic window, playback stopped.
    pub fn set_frames(&mut self, frames: Vec<Arc<Volume>>, times_ms: Vec<f64>) {
        *self = Self {
            frames,
            times_ms,
            ..Self::default()
        };
        if let Some(v) = self.frames.first().cloned() {
            let (lo, hi) = bounds(&v);
            self.crosshair = std::array::from_fn(|i| f64::midpoint(lo[i], hi[i]));
            self.apply_preset(WindowPreset::Auto);
        }
    }

    /// Replaces the volumes by all phases of the same series (after the first
    /// phase was shown), keeping the crosshair and window.
    pub fn set_phases(&mut self, frames: Vec<Arc<Volume>>, times_ms: Vec<f64>) {
        self.frames = frames;
        self.times_ms = times_ms;
        self.phase = self.phase.min(self.frames.len().saturating_sub(1));
        self.cache = [None, None, None];
    }

    /// The volume of the current phase.
    #[must_use]
    pub fn volume(&self) -> Option<&Arc<Volume>> {
        self.frames.get(self.phase).or_else(|| self.frames.first())
    }

    #[must_use]
    pub fn is_ct(&self) -> bool {
        self.volume().is_some_and(|v| v.unit == "HU")
    }

    pub fn apply_preset(&mut self, preset: WindowPreset) {
        self.preset = preset;
        let Some(v) = self.volume().cloned() else {
            return;
        };
        self.window = match (preset.hu(), v.unit == "HU") {
            (Some(w), true) => w,
            _ if v.unit == "HU" => v.window.unwrap_or((40.0, 400.0)),
            _ => auto_window(&v),
        };
    }

    /// Advances the cine while playing; returns whether the phase changed.
    pub fn tick(&mut self, now_s: f64) -> bool {
        if !self.playing || self.frames.len() < 2 {
            self.last_advance_s = now_s;
            return false;
        }
        if now_s - self.last_advance_s >= self.frame_interval_s {
            self.last_advance_s = now_s;
            self.phase = (self.phase + 1) % self.frames.len();
            return true;
        }
        false
    }

    /// Step (mm) of one slice along the patient axis `axis` (0 = x …): the
    /// largest component of the voxel axes along it.
    fn slice_step(&self, axis: usize) -> f64 {
        self.volume().map_or(1.0, |v| {
            (0..3)
                .map(|c| v.affine[(axis, c)].abs())
                .fold(0.0, f64::max)
                .max(0.1)
        })
    }

    /// The slice the view of `plane` shows now (cut on demand).
    pub fn slice_image(&mut self, plane: Plane) -> Option<&SliceImage> {
        self.slice(plane).map(|c| &c.slice)
    }

    fn slice(&mut self, plane: Plane) -> Option<&mut Cached> {
        let n = plane.normal_axis();
        let key = (self.phase, (self.crosshair[n] * 1000.0).round() as i64);
        let slot = plane_index(plane);
        let stale = self.cache[slot].as_ref().is_none_or(|c| c.key != key);
        if stale {
            let v = self.volume()?.clone();
            let slice = reslice(&v, plane, self.crosshair, MAX_PIXELS);
            let (texture, overlay) = self.cache[slot]
                .take()
                .map_or((None, None), |c| (c.texture, c.overlay));
            self.cache[slot] = Some(Cached {
                key,
                slice,
                texture,
                texture_window: (f64::NAN, f64::NAN),
                overlay,
                overlay_generation: None,
            });
        }
        self.cache[slot].as_mut()
    }
}

fn plane_index(plane: Plane) -> usize {
    match plane {
        Plane::Axial => 0,
        Plane::Coronal => 1,
        Plane::Sagittal => 2,
    }
}

/// Grey levels of a slice under a window; outside the volume is black.
#[must_use]
pub fn to_grey(slice: &SliceImage, window: (f64, f64)) -> ColorImage {
    let (c, w) = window;
    let lo = c - w / 2.0;
    let grey: Vec<u8> = slice
        .data
        .iter()
        .map(|&v| {
            if v.is_nan() {
                0
            } else {
                ((f64::from(v) - lo) / w.max(1e-9) * 255.0).clamp(0.0, 255.0) as u8
            }
        })
        .collect();
    ColorImage::from_gray([slice.width, slice.height], &grey)
}

/// Formats a value and its position for the cursor read-out.
#[must_use]
pub fn readout(p: [f64; 3], value: Option<f32>, unit: &str) -> String {
    let v = value.map_or_else(|| "outside".to_owned(), |v| format!("{v:.1} {unit}"));
    format!(
        "x {:.1}  y {:.1}  z {:.1} mm (LPS): {}",
        p[0],
        p[1],
        p[2],
        v.trim_end()
    )
}

/// Draws one MPR view into `rect` and handles its mouse input.
#[expect(
    clippy::too_many_lines,
    reason = "one view's drawing and its mouse input, in the order they happen in a frame"
)]
pub fn mpr_view(ui: &mut Ui, state: &mut MprState, plane: Plane, rect: Rect) {
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::BLACK);
    let colour = plane_colour(plane);
    let id = ui.id().with(("mpr", plane.name()));
    let response = ui.interact(rect, id, Sense::click_and_drag());
    let window = state.window;
    let cross = state.crosshair;
    let unit = state.volume().map(|v| v.unit.clone()).unwrap_or_default();
    let volume = state.volume().cloned();
    let overlay = state.overlay.clone();
    let ctx = ui.ctx().clone();
    let Some(cached) = state.slice(plane) else {
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "no volume",
            egui::FontId::proportional(13.0),
            Color32::GRAY,
        );
        return;
    };
    // Texture, refreshed when the slice or the window changed.
    if cached.texture.is_none() || cached.texture_window != window {
        let image = to_grey(&cached.slice, window);
        match &mut cached.texture {
            Some(t) => t.set(image, TextureOptions::LINEAR),
            None => {
                cached.texture = Some(ctx.load_texture(
                    format!("mpr-{}", plane.name()),
                    image,
                    TextureOptions::LINEAR,
                ));
            }
        }
        cached.texture_window = window;
    }
    if cached.overlay_generation != Some(overlay.generation) {
        let image = volume
            .as_ref()
            .and_then(|v| overlay_image(&cached.slice, v, &overlay));
        match (image, &mut cached.overlay) {
            (Some(image), Some(t)) => t.set(image, TextureOptions::NEAREST),
            (Some(image), None) => {
                cached.overlay = Some(ctx.load_texture(
                    format!("mpr-overlay-{}", plane.name()),
                    image,
                    TextureOptions::NEAREST,
                ));
            }
            (None, _) => cached.overlay = None,
        }
        cached.overlay_generation = Some(overlay.generation);
    }
    let slice = &cached.slice;
    // Fit the image (square pixels) into the rect.
    let (w, h) = (slice.width as f32, slice.height as f32);
    let scale = (rect.width() / w).min(rect.height() / h);
    let size = Vec2::new(w * scale, h * scale);
    let image_rect = Rect::from_center_size(rect.center(), size);
    for t in [&cached.texture, &cached.overlay].into_iter().flatten() {
        painter.image(
            t.id(),
            image_rect,
            Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
            Color32::WHITE,
        );
    }
    let to_screen = |c: f64, r: f64| {
        Pos2::new(
            image_rect.min.x + ((c + 0.5) as f32) * scale,
            image_rect.min.y + ((r + 0.5) as f32) * scale,
        )
    };
    let to_pixel = |p: Pos2| {
        (
            f64::from((p.x - image_rect.min.x) / scale) - 0.5,
            f64::from((p.y - image_rect.min.y) / scale) - 0.5,
        )
    };
    // Crosshair: the other two planes through the linked point.
    let (cc, cr) = slice.patient_to_pixel(cross);
    let centre = to_screen(cc, cr);
    let (vertical, horizontal) = match plane {
        Plane::Axial => (Plane::Sagittal, Plane::Coronal),
        Plane::Coronal => (Plane::Sagittal, Plane::Axial),
        Plane::Sagittal => (Plane::Coronal, Plane::Axial),
    };
    painter.line_segment(
        [
            Pos2::new(centre.x, rect.min.y),
            Pos2::new(centre.x, rect.max.y),
        ],
        Stroke::new(1.0, plane_colour(vertical).gamma_multiply(0.8)),
    );
    painter.line_segment(
        [
            Pos2::new(rect.min.x, centre.y),
            Pos2::new(rect.max.x, centre.y),
        ],
        Stroke::new(1.0, plane_colour(horizontal).gamma_multiply(0.8)),
    );
    // Orientation letters and the view name with its slice position.
    let font = egui::FontId::proportional(14.0);
    let [left, right, top, bottom] = plane.edge_labels();
    let pad = 4.0;
    for (text, pos, align) in [
        (
            left,
            Pos2::new(rect.min.x + pad, rect.center().y),
            egui::Align2::LEFT_CENTER,
        ),
        (
            right,
            Pos2::new(rect.max.x - pad, rect.center().y),
            egui::Align2::RIGHT_CENTER,
        ),
        (
            top,
            Pos2::new(rect.center().x, rect.min.y + pad),
            egui::Align2::CENTER_TOP,
        ),
        (
            bottom,
            Pos2::new(rect.center().x, rect.max.y - pad),
            egui::Align2::CENTER_BOTTOM,
        ),
    ] {
        painter.text(
            pos,
            align,
            text,
            font.clone(),
            Color32::from_rgb(250, 220, 120),
        );
    }
    let n = plane.normal_axis();
    painter.text(
        rect.min + Vec2::new(pad, pad),
        egui::Align2::LEFT_TOP,
        format!(
            "{}  {} {:.1} mm",
            plane.name(),
            ["x", "y", "z"][n],
            cross[n]
        ),
        egui::FontId::proportional(12.0),
        colour,
    );
    painter.rect_stroke(
        rect,
        0.0,
        Stroke::new(1.5, colour),
        egui::StrokeKind::Inside,
    );

    // Input.
    let mut hover = None;
    if let Some(pos) = response.hover_pos() {
        let (c, r) = to_pixel(pos);
        let p = slice.pixel_to_patient(c, r);
        let value = (c >= -0.5 && r >= -0.5)
            .then(|| slice.value((c + 0.5) as usize, (r + 0.5) as usize))
            .flatten();
        hover = Some(readout(p, value, &unit));
    }
    let clicked_at = (response.dragged_by(egui::PointerButton::Primary) || response.clicked())
        .then(|| response.interact_pointer_pos())
        .flatten()
        .map(|pos| {
            let (c, r) = to_pixel(pos);
            slice.pixel_to_patient(c, r)
        });
    if let Some(p) = clicked_at
        && state.pick
        && response.clicked()
    {
        state.pick = false;
        state.picked = Some(p);
    }
    if let Some(p) = clicked_at {
        // Keep the coordinate along this view's normal.
        for (i, v) in p.iter().enumerate() {
            if i != n {
                state.crosshair[i] = *v;
            }
        }
    }
    if response.dragged_by(egui::PointerButton::Secondary) {
        let d = response.drag_delta();
        let (c, w) = state.window;
        let k = w.max(1.0) / 300.0;
        state.window = (
            c - f64::from(d.y) * k,
            (w + f64::from(d.x) * k * 2.0).max(1e-3),
        );
        state.preset = WindowPreset::Custom;
    }
    if response.hovered() {
        let dy = ui.input(|i| i.smooth_scroll_delta.y);
        state.scroll_accumulator += dy;
        let steps = (state.scroll_accumulator / 40.0).trunc();
        if steps != 0.0 {
            state.scroll_accumulator -= steps * 40.0;
            let step = state.slice_step(n);
            let (lo, hi) = state.volume().map_or(([0.0; 3], [0.0; 3]), |v| bounds(v));
            state.crosshair[n] = (state.crosshair[n] + f64::from(steps) * step).clamp(lo[n], hi[n]);
        }
        state.hover = hover;
    }
}

/// The toolbar above the views: window presets and values, cine controls,
/// crosshair position. `now_s` is the app's clock, for playback.
pub fn mpr_toolbar(ui: &mut Ui, state: &mut MprState) {
    ui.horizontal_wrapped(|ui| {
        ui.label("Window");
        let presets: &[WindowPreset] = if state.is_ct() {
            &WindowPreset::CT
        } else {
            &[WindowPreset::Auto]
        };
        let mut chosen = None;
        egui::ComboBox::from_id_salt("wl-preset")
            .selected_text(state.preset.label())
            .show_ui(ui, |ui| {
                for p in presets {
                    if ui.selectable_label(state.preset == *p, p.label()).clicked() {
                        chosen = Some(*p);
                    }
                }
            });
        if let Some(p) = chosen {
            state.apply_preset(p);
        }
        let (mut c, mut w) = state.window;
        let speed = w / 200.0;
        let changed_c = ui
            .add(egui::DragValue::new(&mut c).prefix("L ").speed(speed))
            .changed();
        let changed_w = ui
            .add(egui::DragValue::new(&mut w).prefix("W ").speed(speed))
            .changed();
        if changed_c || changed_w {
            state.window = (c, w.max(1e-3));
            state.preset = WindowPreset::Custom;
        }
        if state.frames.len() > 1 {
            ui.separator();
            let label = if state.playing { "Pause" } else { "Play" };
            if ui.button(label).clicked() {
                state.playing = !state.playing;
            }
            let last = state.frames.len() - 1;
            ui.add(egui::Slider::new(&mut state.phase, 0..=last).text("phase"));
            if let Some(t) = state.times_ms.get(state.phase) {
                ui.label(format!("{t:.0} ms"));
            }
        }
    });
    ui.horizontal(|ui| {
        let p = state.crosshair;
        ui.label(format!(
            "Crosshair x {:.1}  y {:.1}  z {:.1} mm (LPS)",
            p[0], p[1], p[2]
        ));
        if let Some(h) = &state.hover {
            ui.separator();
            ui.label(h);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Matrix4;

    fn ramp_volume(unit: &str) -> Arc<Volume> {
        let dims = [20, 16, 10];
        let mut affine = Matrix4::identity();
        affine[(2, 2)] = 2.0;
        affine[(0, 3)] = -10.0;
        let data = (0..20 * 16 * 10)
            .map(|i| (i % 20) as f32 * 10.0 - 50.0)
            .collect();
        Arc::new(Volume {
            dims,
            data,
            affine,
            modality: if unit == "HU" { "CT" } else { "MR" }.into(),
            description: String::new(),
            unit: unit.into(),
            window: Some((30.0, 300.0)),
            warnings: vec![],
        })
    }

    #[test]
    #[allow(clippy::float_cmp)] // presets and centres are exact by construction
    fn presets_apply_to_ct_and_mr_gets_an_automatic_window() {
        let mut s = MprState::default();
        s.set_frames(vec![ramp_volume("HU")], vec![]);
        assert_eq!(s.window, (30.0, 300.0)); // the file's window
        s.apply_preset(WindowPreset::Lung);
        assert_eq!(s.window, (-600.0, 1500.0));
        s.apply_preset(WindowPreset::Bone);
        assert_eq!(s.window, (400.0, 1800.0));
        s.set_frames(vec![ramp_volume("")], vec![]);
        let (c, w) = s.window;
        assert!(c > -50.0 && c < 140.0 && w > 100.0, "{c} {w}");
        // Crosshair at the centre of the volume.
        assert_eq!(s.crosshair, [-0.5, 7.5, 9.0]);
    }

    #[test]
    fn grey_levels_follow_the_window_and_outside_is_black() {
        let v = ramp_volume("HU");
        let slice = reslice(&v, Plane::Axial, [0.0, 7.0, 4.0], 512);
        let img = to_grey(&slice, (45.0, 190.0)); // −50 → 0, 140 → 255
        assert_eq!(img.size, [slice.width, slice.height]);
        let row = 7usize;
        assert_eq!(img.pixels[row * slice.width].r(), 0);
        assert_eq!(img.pixels[row * slice.width + 19].r(), 255);
        let mut s = slice.clone();
        s.data[0] = f32::NAN;
        assert_eq!(to_grey(&s, (45.0, 190.0)).pixels[0].r(), 0);
    }

    #[test]
    fn cine_playback_cycles_through_phases() {
        let mut s = MprState::default();
        s.set_frames(
            vec![ramp_volume(""), ramp_volume(""), ramp_volume("")],
            vec![0.0, 50.0, 100.0],
        );
        s.playing = true;
        s.frame_interval_s = 0.1;
        assert!(!s.tick(0.05));
        assert!(s.tick(0.2));
        assert_eq!(s.phase, 1);
        assert!(s.tick(0.31));
        assert!(s.tick(0.42));
        assert_eq!(s.phase, 0);
    }

    #[test]
    fn readout_names_value_and_position() {
        let t = readout([1.0, -2.25, 3.5], Some(40.0), "HU");
        assert_eq!(t, "x 1.0  y -2.2  z 3.5 mm (LPS): 40.0 HU");
        assert!(readout([0.0; 3], None, "").ends_with("outside"));
    }

    #[test]
    fn views_draw_and_clicks_move_the_crosshair() {
        let ctx = egui::Context::default();
        let mut s = MprState::default();
        s.set_frames(vec![ramp_volume("HU")], vec![]);
        let before = s.crosshair;
        let rect = Rect::from_min_size(Pos2::new(0.0, 0.0), Vec2::new(200.0, 200.0));
        let run = |ctx: &egui::Context, s: &mut MprState, events: Vec<egui::Event>| {
            let input = egui::RawInput {
                screen_rect: Some(Rect::from_min_size(Pos2::ZERO, Vec2::new(400.0, 400.0))),
                events,
                ..Default::default()
            };
            let mut out = ctx.run_ui(input, |ui| {
                mpr_view(ui, s, Plane::Axial, rect);
            });
            out.textures_delta.clear();
            out
        };
        let out = run(&ctx, &mut s, vec![]);
        assert!(!out.shapes.is_empty());
        // Click near the top-left of the axial view: crosshair moves right/anterior, z kept.
        let at = Pos2::new(30.0, 60.0);
        let press = |pressed| egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::default(),
        };
        run(&ctx, &mut s, vec![egui::Event::PointerMoved(at)]);
        run(&ctx, &mut s, vec![press(true)]);
        run(&ctx, &mut s, vec![press(false)]);
        assert!(
            s.crosshair[0] < before[0],
            "{:?} → {:?}",
            before,
            s.crosshair
        );
        assert!(
            s.crosshair[1] < before[1],
            "{:?} → {:?}",
            before,
            s.crosshair
        );
        assert_eq!(s.crosshair[2].to_bits(), before[2].to_bits());
        assert!(s.hover.as_deref().is_some_and(|h| h.contains("HU")));
    }

    #[test]
    fn overlay_tints_the_preview_range_and_masks_and_a_pick_records_the_click() {
        let v = ramp_volume("HU");
        let mut s = MprState::default();
        s.set_frames(vec![v.clone()], vec![]);
        let slice = reslice(&v, Plane::Axial, s.crosshair, MAX_PIXELS);
        assert!(overlay_image(&slice, &v, &Overlay::default()).is_none());
        // Preview of the upper half of the values.
        let (lo, hi) = v.range();
        let mid = f32::midpoint(lo, hi);
        let preview = Overlay {
            preview: Some((mid, hi, Color32::RED)),
            ..Overlay::default()
        };
        let img = overlay_image(&slice, &v, &preview).unwrap();
        let tinted = img.pixels.iter().filter(|p| p.a() > 0).count();
        let expected = slice.data.iter().filter(|&&x| x >= mid && x <= hi).count();
        assert_eq!(tinted, expected);
        assert!(tinted > 0 && tinted < img.pixels.len());
        // A mask of one voxel column shows where it lies.
        let [nx, ny, nz] = v.dims;
        let mut mask = vec![0u8; nx * ny * nz];
        for k in 0..nz {
            mask[1 + nx * (2 + ny * k)] = 1;
        }
        let with_mask = Overlay {
            masks: vec![OverlayMask {
                data: Arc::new(mask),
                colour: Color32::GREEN,
            }],
            ..Overlay::default()
        };
        let img = overlay_image(&slice, &v, &with_mask).unwrap();
        assert!(img.pixels.iter().any(|p| p.a() > 0));
        // Picking: a click stores the point and disarms.
        let ctx = egui::Context::default();
        s.pick = true;
        let rect = Rect::from_min_size(Pos2::new(0.0, 0.0), Vec2::new(200.0, 200.0));
        let at = Pos2::new(100.0, 100.0);
        for events in [
            vec![egui::Event::PointerMoved(at)],
            vec![egui::Event::PointerButton {
                pos: at,
                button: egui::PointerButton::Primary,
                pressed: true,
                modifiers: egui::Modifiers::default(),
            }],
            vec![egui::Event::PointerButton {
                pos: at,
                button: egui::PointerButton::Primary,
                pressed: false,
                modifiers: egui::Modifiers::default(),
            }],
        ] {
            let input = egui::RawInput {
                screen_rect: Some(Rect::from_min_size(Pos2::ZERO, Vec2::new(400.0, 400.0))),
                events,
                ..Default::default()
            };
            let mut out = ctx.run_ui(input, |ui| mpr_view(ui, &mut s, Plane::Axial, rect));
            out.textures_delta.clear();
        }
        assert!(!s.pick);
        let p = s.picked.expect("picked");
        assert!((p[2] - s.crosshair[2]).abs() < 1e-9);
    }
}
