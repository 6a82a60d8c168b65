//! The Electrophysiology pane: a rhythm (sinus, LBBB, LV pacing in LBBB,
//! biventricular pacing with a V–V delay and the LV lead's site), run as a
//! background job; the activation's numbers beside sinus rhythm's, the
//! pseudo-ECG and the coupled PV loops.

use egui::{Color32, Ui};
use egui_plot::{Legend, Line, Plot};

/// The rhythms the pane offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EpRhythm {
    #[default]
    Sinus,
    Lbbb,
    /// LBBB with an LV lead only (the RV by its own conduction).
    LvPacing,
    /// LBBB, biventricular pacing: RV apex and LV leads.
    Crt,
}

impl EpRhythm {
    pub const ALL: [Self; 4] = [Self::Sinus, Self::Lbbb, Self::LvPacing, Self::Crt];

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Sinus => "Sinus rhythm",
            Self::Lbbb => "Left bundle branch block",
            Self::LvPacing => "LBBB + LV pacing",
            Self::Crt => "LBBB + CRT (biventricular)",
        }
    }

    /// Whether an LV lead is placed.
    #[must_use]
    pub fn paced(self) -> bool {
        matches!(self, Self::LvPacing | Self::Crt)
    }
}

/// The heart's outer and inner surface for the activation map (patient
/// LPS mm): vertices and outward triangles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EpSurface {
    pub positions: Vec<[f32; 3]>,
    pub triangles: Vec<[u32; 3]>,
}

/// One run as the pane shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EpRun {
    /// Activation time of each surface vertex after the onset (ms; NaN
    /// where the wave did not reach).
    pub surface_ms: Vec<f32>,
    pub name: String,
    pub qrs_ms: f64,
    pub lv_rv_ms: f64,
    /// QLV at the LV lead (paced rhythms).
    pub qlv_ms: Option<f64>,
    pub ef_percent: f64,
    pub stroke_work: f64,
    /// Leads I, II, V1, V6: (name, [t ms, value]).
    pub ecg: Vec<(String, Vec<[f64; 2]>)>,
    /// The LV pressure–volume loop.
    pub pv: Vec<[f64; 2]>,
    /// Mean activation of the AHA segments 1–17 after the onset (ms).
    pub aha_ms: Vec<f64>,
}

/// The pane's state.
#[derive(Debug, Clone, PartialEq)]
pub struct EpUi {
    pub rhythm: EpRhythm,
    /// LV lead's delay after the RV lead (ms; negative: LV first).
    pub vv_delay_ms: f64,
    /// LV lead: rotation around the LV (degrees, 180 lateral) and
    /// apex–base position (0 base, 1 apex), on the epicardium.
    pub lv_theta_deg: f64,
    pub lv_z: f64,
    /// RV lead (CRT): the same coordinates, on the RV's endocardium
    /// (default the RV apex).
    pub rv_theta_deg: f64,
    pub rv_z: f64,
    pub busy: bool,
    pub status: String,
    /// Sinus rhythm first, then the chosen rhythm (when it is not sinus).
    pub runs: Vec<EpRun>,
    /// The heart's surface the runs' maps are drawn on.
    pub surface: Option<std::sync::Arc<EpSurface>>,
    /// The map's view: turns about the vertical and horizontal axes
    /// (radians), changed by dragging the map.
    pub yaw: f32,
    pub pitch: f32,
    /// The maps drawn, kept while their run and view stay (a dropped
    /// texture handle frees the texture before it is shown).
    pub textures: MapTextures,
    /// What a click on a map does.
    pub tool: ClickTool,
    /// Scars (the patient's, in every run): surface vertices at their
    /// centres, and their radius (mm).
    pub scars: Vec<u32>,
    pub scar_radius_mm: f64,
    /// An ablation line (the what-if's only) through these surface
    /// vertices.
    pub ablation: Vec<u32>,
}

/// What a click on an activation map does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClickTool {
    #[default]
    LvLead,
    RvLead,
    Scar,
    Ablation,
}

/// Which map a texture shows: the run, its times (address and length)
/// and the view (milliradians).
type MapKey = (usize, usize, usize, i32, i32);

/// The activation maps' textures, each with the vertex seen at each pixel.
#[derive(Clone, Default)]
pub struct MapTextures(Vec<(MapKey, egui::TextureHandle, std::sync::Arc<Vec<u32>>)>);

impl std::fmt::Debug for MapTextures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} map textures", self.0.len())
    }
}

impl PartialEq for MapTextures {
    fn eq(&self, _: &Self) -> bool {
        // A cache: states that differ only in it are the same.
        true
    }
}

impl Default for EpUi {
    fn default() -> Self {
        Self {
            rhythm: EpRhythm::Sinus,
            vv_delay_ms: 0.0,
            lv_theta_deg: 180.0,
            lv_z: 0.5,
            rv_theta_deg: 0.0,
            rv_z: 0.85,
            busy: false,
            status: "Choose a rhythm and run it on the demo heart's ventricles.".into(),
            runs: Vec::new(),
            surface: None,
            // From the front, turned towards the patient's left (a left
            // anterior oblique view).
            yaw: -0.6,
            pitch: 0.2,
            textures: MapTextures::default(),
            tool: ClickTool::LvLead,
            scars: Vec::new(),
            scar_radius_mm: 10.0,
            ablation: Vec::new(),
        }
    }
}

/// What the pane asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EpAction {
    /// Activate the heart under the pane's rhythm (and sinus rhythm).
    Run,
    /// Put the LV lead at this surface vertex (clicked on a map) and run.
    PlaceLead(u32),
    /// Put the RV lead (CRT) at this surface vertex and run.
    PlaceRvLead(u32),
    /// A scar centred at this surface vertex; run.
    AddScar(u32),
    /// The ablation line's next point; run once it has two.
    AddAblationPoint(u32),
    /// No scar, no ablation; run.
    ClearTissue,
    /// Keep the latest what-if as a variant of the twin.
    Keep,
}

const BASELINE: Color32 = Color32::from_gray(150);
const VARIANT: Color32 = Color32::from_rgb(230, 120, 40);

/// Draws the pane; returns what it asks for.
pub fn ep_pane(ui: &mut Ui, s: &mut EpUi) -> Vec<EpAction> {
    let mut actions = Vec::new();
    egui::ComboBox::from_label("Rhythm")
        .selected_text(s.rhythm.label())
        .show_ui(ui, |ui| {
            for r in EpRhythm::ALL {
                ui.selectable_value(&mut s.rhythm, r, r.label());
            }
        });
    if s.rhythm.paced() {
        ui.add(
            egui::Slider::new(&mut s.lv_theta_deg, -180.0..=180.0)
                .text("LV lead, ° around the LV (180 lateral, 90 anterior)"),
        );
        ui.add(egui::Slider::new(&mut s.lv_z, 0.1..=0.9).text("LV lead, base (0) to apex (1)"));
        if s.rhythm == EpRhythm::Crt {
            ui.add(
                egui::Slider::new(&mut s.vv_delay_ms, -80.0..=80.0)
                    .text("V–V delay, ms (LV after RV)"),
            );
        }
    }
    ui.horizontal(|ui| {
        ui.label("A click on a map places:");
        ui.radio_value(&mut s.tool, ClickTool::LvLead, "the LV lead");
        ui.radio_value(&mut s.tool, ClickTool::RvLead, "the RV lead");
        ui.radio_value(&mut s.tool, ClickTool::Scar, "a scar");
        ui.radio_value(&mut s.tool, ClickTool::Ablation, "an ablation point");
        if s.tool == ClickTool::Scar {
            ui.add(egui::Slider::new(&mut s.scar_radius_mm, 3.0..=25.0).text("radius, mm"));
        }
        if (!s.scars.is_empty() || !s.ablation.is_empty())
            && ui
                .add_enabled(
                    !s.busy,
                    egui::Button::new(format!(
                        "Clear {} scar(s), {} ablation point(s)",
                        s.scars.len(),
                        s.ablation.len()
                    )),
                )
                .clicked()
        {
            actions.push(EpAction::ClearTissue);
        }
    });
    ui.horizontal(|ui| {
        if ui
            .add_enabled(!s.busy, egui::Button::new("Run"))
            .on_hover_text("Activation, pseudo-ECG and the coupled beat, against sinus rhythm")
            .clicked()
        {
            actions.push(EpAction::Run);
        }
        if ui
            .add_enabled(
                !s.busy && !s.runs.is_empty(),
                egui::Button::new("Keep as variant"),
            )
            .on_hover_text(
                "Add the latest what-if to the twin's variants: saved with the twin, \
                 its beat compared in the Compare workspace, and in the report",
            )
            .clicked()
        {
            actions.push(EpAction::Keep);
        }
        if s.busy {
            ui.spinner();
        }
        ui.label(&s.status);
    });
    if s.runs.is_empty() {
        return actions;
    }
    egui::Grid::new("ep-table").striped(true).show(ui, |ui| {
        for h in ["", "QRS", "LV − RV", "QLV", "EF", "stroke work"] {
            ui.label(egui::RichText::new(h).strong());
        }
        ui.end_row();
        for r in &s.runs {
            ui.label(&r.name);
            ui.label(format!("{:.0} ms", r.qrs_ms));
            ui.label(format!("{:+.0} ms", r.lv_rv_ms));
            ui.label(r.qlv_ms.map_or("–".into(), |q| format!("{q:.0} ms")));
            ui.label(format!("{:.1} %", r.ef_percent));
            ui.label(format!("{:.0} mmHg·mL", r.stroke_work));
            ui.end_row();
        }
    });
    let late = s
        .runs
        .iter()
        .flat_map(|r| r.aha_ms.iter().copied())
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max);
    ui.horizontal(|ui| {
        maps(ui, s, late, &mut actions);
        for r in &s.runs {
            ui.vertical(|ui| {
                ui.label(format!("{}: LV by AHA segment", r.name));
                bullseye(ui, &r.aha_ms, late, 150.0);
            });
        }
        ui.vertical(|ui| {
            ui.label("ms after the onset");
            scale_bar(ui, late);
        });
    });
    let colour = |i: usize| if i == 0 { BASELINE } else { VARIANT };
    let height = ((ui.available_height() - 20.0) * 0.5).clamp(90.0, 260.0);
    ui.columns(2, |cols| {
        cols[0].label("Pseudo-ECG from the onset (ms; sinus grey, the rhythm orange)");
        let leads: Vec<String> = s.runs[0].ecg.iter().map(|(n, _)| n.clone()).collect();
        let each = (height * 2.0 / leads.len().max(1) as f32 - 4.0).max(50.0);
        for lead in &leads {
            Plot::new(("ep-ecg", lead.as_str()))
                .height(each)
                .show_axes([false, true])
                .y_axis_label(lead.as_str())
                .allow_scroll(false)
                .show(&mut cols[0], |plot| {
                    for (i, r) in s.runs.iter().enumerate() {
                        if let Some((_, v)) = r.ecg.iter().find(|(n, _)| n == lead) {
                            plot.line(Line::new(r.name.clone(), v.clone()).color(colour(i)));
                        }
                    }
                });
        }
        Plot::new("ep-pv")
            .height(height * 2.0)
            .legend(Legend::default())
            .x_axis_label("LV volume (mL)")
            .y_axis_label("LV pressure (mmHg)")
            .allow_scroll(false)
            .show(&mut cols[1], |plot| {
                for (i, r) in s.runs.iter().enumerate() {
                    plot.line(
                        Line::new(r.name.clone(), r.pv.clone())
                            .color(colour(i))
                            .width(2.0),
                    );
                }
            });
    });
    actions
}

/// Each run's activation map on the heart's surface: dragged to turn,
/// clicked to place the LV lead.
fn maps(ui: &mut Ui, s: &mut EpUi, late: f64, actions: &mut Vec<EpAction>) {
    if let Some(surface) = s.surface.clone() {
        for i in 0..s.runs.len() {
            ui.vertical(|ui| {
                ui.label(format!(
                    "{}: activation (drag to turn; isochrones every 10 ms)",
                    s.runs[i].name
                ));
                let times = &s.runs[i].surface_ms;
                let key = (
                    i,
                    times.as_ptr() as usize,
                    times.len(),
                    (s.yaw * 1000.0) as i32,
                    (s.pitch * 1000.0) as i32,
                );
                let cached = s
                    .textures
                    .0
                    .iter()
                    .find(|(k, _, _)| *k == key)
                    .map(|(_, t, ids)| (t.clone(), ids.clone()));
                let (tex, ids) = if let Some(t) = cached {
                    t
                } else {
                    let (img, ids) =
                        render_map(&surface, times, late as f32, s.yaw, s.pitch, MAP_PX);
                    let t = ui.ctx().load_texture(
                        format!("ep-map-{i}"),
                        img,
                        egui::TextureOptions::LINEAR,
                    );
                    let ids = std::sync::Arc::new(ids);
                    s.textures.0.retain(|(k, _, _)| k.0 != i);
                    s.textures.0.push((key, t.clone(), ids.clone()));
                    (t, ids)
                };
                let r = ui
                    .add(egui::Image::new(&tex).sense(egui::Sense::click_and_drag()))
                    .on_hover_text("Drag to turn; click to place what the tool above says");
                if r.dragged() {
                    let d = r.drag_delta();
                    s.yaw += d.x * 0.01;
                    s.pitch = (s.pitch + d.y * 0.01).clamp(-1.5, 1.5);
                }
                if r.clicked()
                    && let Some(p) = r.interact_pointer_pos()
                    && let Some(v) = pick(&ids, r.rect, p)
                {
                    actions.push(click_action(s.tool, v));
                }
            });
        }
    }
}

/// What a click on surface vertex `v` asks with `tool`.
#[must_use]
pub fn click_action(tool: ClickTool, v: u32) -> EpAction {
    match tool {
        ClickTool::LvLead => EpAction::PlaceLead(v),
        ClickTool::RvLead => EpAction::PlaceRvLead(v),
        ClickTool::Scar => EpAction::AddScar(v),
        ClickTool::Ablation => EpAction::AddAblationPoint(v),
    }
}

/// Side of the activation maps (pixels).
const MAP_PX: usize = 170;

/// The surface vertex under `p` on a map drawn in `rect`.
fn pick(ids: &[u32], rect: egui::Rect, p: egui::Pos2) -> Option<u32> {
    let x = ((p.x - rect.left()) / rect.width() * MAP_PX as f32) as usize;
    let y = ((p.y - rect.top()) / rect.height() * MAP_PX as f32) as usize;
    ids.get(y.min(MAP_PX - 1) * MAP_PX + x.min(MAP_PX - 1))
        .copied()
        .filter(|&v| v != u32::MAX)
}

/// The surface seen along the view (yaw about the patient's
/// superior axis, pitch about the screen's horizontal; orthographic), each
/// pixel coloured by its interpolated activation time, shaded by its
/// normal, darkened on the 10 ms isochrones; a z-buffer keeps the nearest
/// triangle. With it, the surface vertex seen at each pixel (nearest of
/// its triangle; `u32::MAX` for background), for picking.
#[must_use]
pub fn render_map(
    surface: &EpSurface,
    times: &[f32],
    late: f32,
    yaw: f32,
    pitch: f32,
    size: usize,
) -> (egui::ColorImage, Vec<u32>) {
    let mut img = egui::ColorImage::new([size, size], vec![Color32::from_gray(27); size * size]);
    let mut ids = vec![u32::MAX; size * size];
    let n = surface.positions.len();
    if n == 0 || times.len() != n {
        return (img, ids);
    }
    let mut lo = [f32::INFINITY; 3];
    let mut hi = [f32::NEG_INFINITY; 3];
    for p in &surface.positions {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let c = [0, 1, 2].map(|k| 0.5 * (lo[k] + hi[k]));
    let radius = (0..3).map(|k| hi[k] - lo[k]).fold(0.0f32, f32::max) * 0.5 * 1.1;
    // LPS to a view frame: screen x right, y up, z towards the viewer;
    // from the front (anterior, −P) with the patient's head up (+S), so
    // the patient's left (+L) is on the viewer's right.
    let (sy, cy) = yaw.sin_cos();
    let (sp, cp) = pitch.sin_cos();
    let view = |p: [f32; 3]| {
        let (x, y, z) = (p[0] - c[0], p[2] - c[2], -(p[1] - c[1]));
        // Yaw about the vertical, then pitch about the horizontal.
        let (x1, z1) = (cy * x + sy * z, -sy * x + cy * z);
        let (y2, z2) = (cp * y - sp * z1, sp * y + cp * z1);
        [x1, y2, z2]
    };
    let pts: Vec<[f32; 3]> = surface.positions.iter().map(|&p| view(p)).collect();
    let scale = size as f32 * 0.5 / radius;
    let px = |p: [f32; 3]| {
        [
            size as f32 * 0.5 + p[0] * scale,
            size as f32 * 0.5 - p[1] * scale,
        ]
    };
    let mut depth = vec![f32::NEG_INFINITY; size * size];
    for t in &surface.triangles {
        let [a, b, cc] = t.map(|v| v as usize);
        let (pa, pb, pc) = (pts[a], pts[b], pts[cc]);
        // Back faces away.
        let e1 = [pb[0] - pa[0], pb[1] - pa[1], pb[2] - pa[2]];
        let e2 = [pc[0] - pa[0], pc[1] - pa[1], pc[2] - pa[2]];
        let nz = e1[0] * e2[1] - e1[1] * e2[0];
        if nz <= 0.0 {
            continue;
        }
        let nx = e1[1] * e2[2] - e1[2] * e2[1];
        let ny = e1[2] * e2[0] - e1[0] * e2[2];
        let shade = 0.35 + 0.65 * (nz / (nx * nx + ny * ny + nz * nz).sqrt());
        let (sa, sb, sc) = (px(pa), px(pb), px(pc));
        let min_x = sa[0].min(sb[0]).min(sc[0]).floor().max(0.0) as usize;
        let max_x = (sa[0].max(sb[0]).max(sc[0]).ceil() as usize).min(size - 1);
        let min_y = sa[1].min(sb[1]).min(sc[1]).floor().max(0.0) as usize;
        let max_y = (sa[1].max(sb[1]).max(sc[1]).ceil() as usize).min(size - 1);
        let area = (sb[0] - sa[0]) * (sc[1] - sa[1]) - (sb[1] - sa[1]) * (sc[0] - sa[0]);
        if area.abs() < 1e-12 {
            continue;
        }
        for y in min_y..=max_y {
            for x in min_x..=max_x {
                let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                let w0 = ((sb[0] - fx) * (sc[1] - fy) - (sb[1] - fy) * (sc[0] - fx)) / area;
                let w1 = ((sc[0] - fx) * (sa[1] - fy) - (sc[1] - fy) * (sa[0] - fx)) / area;
                let w2 = 1.0 - w0 - w1;
                if w0 < 0.0 || w1 < 0.0 || w2 < 0.0 {
                    continue;
                }
                let z = w0 * pa[2] + w1 * pb[2] + w2 * pc[2];
                let k = y * size + x;
                if z <= depth[k] {
                    continue;
                }
                depth[k] = z;
                ids[k] = if w0 >= w1 && w0 >= w2 {
                    t[0]
                } else if w1 >= w2 {
                    t[1]
                } else {
                    t[2]
                };
                let ms = w0 * times[a] + w1 * times[b] + w2 * times[cc];
                let base = activation_colour(f64::from(ms), f64::from(late));
                let iso = if ms.is_finite() && (ms / 10.0).fract() < 0.06 {
                    0.45
                } else {
                    1.0
                };
                let f = shade * iso;
                img.pixels[k] = Color32::from_rgb(
                    (f32::from(base.r()) * f) as u8,
                    (f32::from(base.g()) * f) as u8,
                    (f32::from(base.b()) * f) as u8,
                );
            }
        }
    }
    (img, ids)
}

/// An activation time's colour (as electroanatomical maps draw them):
/// red earliest, through yellow and green, to blue and purple latest.
#[must_use]
pub fn activation_colour(ms: f64, late: f64) -> Color32 {
    if !ms.is_finite() {
        return Color32::from_gray(90);
    }
    let x = (ms / late.max(1e-9)).clamp(0.0, 1.0) as f32;
    // Hue from 0° (red) to 280° (purple).
    egui::ecolor::Hsva::new(x * 280.0 / 360.0, 0.85, 0.95, 1.0).into()
}

/// The AHA 17-segment bullseye (viewed from the apex: anterior up,
/// septum left, lateral right), each segment coloured by its time.
fn bullseye(ui: &mut Ui, aha_ms: &[f64], late: f64, size: f32) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    let c = rect.center();
    let r = size * 0.5 - 2.0;
    let at = |rad: f32, deg: f32| {
        let a = deg.to_radians();
        egui::pos2(c.x + rad * a.cos(), c.y - rad * a.sin())
    };
    let time = |seg: usize| aha_ms.get(seg - 1).copied().unwrap_or(f64::NAN);
    let ring = |seg0: usize, n: usize, inner: f32, outer: f32, first_centre: f32| {
        let width = 360.0 / n as f32;
        for k in 0..n {
            let centre = first_centre + width * k as f32;
            let fill = activation_colour(time(seg0 + k), late);
            let steps = 12;
            for j in 0..steps {
                let a0 = centre - width / 2.0 + width * j as f32 / steps as f32;
                let a1 = a0 + width / steps as f32;
                painter.add(egui::Shape::convex_polygon(
                    vec![at(inner, a0), at(outer, a0), at(outer, a1), at(inner, a1)],
                    fill,
                    egui::Stroke::NONE,
                ));
            }
            let edge = egui::Stroke::new(1.0, Color32::from_gray(30));
            let a = centre - width / 2.0;
            painter.line_segment([at(inner, a), at(outer, a)], edge);
            let mid = at(0.5 * (inner + outer), centre);
            painter.text(
                mid,
                egui::Align2::CENTER_CENTER,
                format!("{:.0}", time(seg0 + k)),
                egui::FontId::proportional(10.0),
                Color32::BLACK,
            );
        }
    };
    // Basal and mid: anterior (1, 7) at the top, counter-clockwise through
    // the septum; apical: anterior (13) at the top, septal (14) left.
    ring(1, 6, 0.75 * r, r, 90.0);
    ring(7, 6, 0.5 * r, 0.75 * r, 90.0);
    ring(13, 4, 0.25 * r, 0.5 * r, 90.0);
    painter.circle_filled(c, 0.25 * r, activation_colour(time(17), late));
    painter.text(
        c,
        egui::Align2::CENTER_CENTER,
        format!("{:.0}", time(17)),
        egui::FontId::proportional(10.0),
        Color32::BLACK,
    );
}

/// The colour scale from 0 to `late` ms.
fn scale_bar(ui: &mut Ui, late: f64) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(60.0, 130.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    let n = 40;
    let bar = egui::Rect::from_min_size(rect.min, egui::vec2(14.0, rect.height()));
    for i in 0..n {
        let y0 = bar.top() + bar.height() * i as f32 / n as f32;
        let y1 = bar.top() + bar.height() * (i + 1) as f32 / n as f32;
        let ms = late * f64::from(i) / f64::from(n - 1);
        painter.rect_filled(
            egui::Rect::from_min_max(egui::pos2(bar.left(), y0), egui::pos2(bar.right(), y1)),
            0.0,
            activation_colour(ms, late),
        );
    }
    let text = ui.visuals().text_color();
    painter.text(
        egui::pos2(bar.right() + 4.0, bar.top()),
        egui::Align2::LEFT_TOP,
        "0",
        egui::FontId::proportional(11.0),
        text,
    );
    painter.text(
        egui::pos2(bar.right() + 4.0, bar.bottom()),
        egui::Align2::LEFT_BOTTOM,
        format!("{late:.0}"),
        egui::FontId::proportional(11.0),
        text,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_pane(s: &mut EpUi) -> Vec<EpAction> {
        let ctx = egui::Context::default();
        let mut out = Vec::new();
        let _ = crate::testing::frame(&ctx, [1200.0, 900.0], Vec::new(), |ui| {
            out = ep_pane(ui, s);
        });
        out
    }

    #[test]
    fn the_pane_draws_its_runs_and_asks_nothing_by_itself() {
        let mut s = EpUi::default();
        assert!(run_pane(&mut s).is_empty());
        s.rhythm = EpRhythm::Crt;
        s.runs = vec![
            EpRun {
                name: "sinus".into(),
                qrs_ms: 66.0,
                ecg: vec![("V1".into(), vec![[0.0, 0.0], [1.0, -1.0]])],
                pv: vec![[120.0, 5.0], [50.0, 110.0]],
                ..EpRun::default()
            },
            EpRun {
                name: "CRT".into(),
                qrs_ms: 145.0,
                qlv_ms: Some(150.0),
                ecg: vec![("V1".into(), vec![[0.0, 0.0], [1.0, -2.0]])],
                pv: vec![[125.0, 5.0], [55.0, 105.0]],
                ..EpRun::default()
            },
        ];
        assert!(run_pane(&mut s).is_empty());
        assert!(EpRhythm::Crt.paced() && !EpRhythm::Lbbb.paced());
        // A click does what the tool says.
        assert_eq!(click_action(ClickTool::LvLead, 7), EpAction::PlaceLead(7));
        assert_eq!(click_action(ClickTool::RvLead, 7), EpAction::PlaceRvLead(7));
        assert_eq!(click_action(ClickTool::Scar, 7), EpAction::AddScar(7));
        assert_eq!(
            click_action(ClickTool::Ablation, 7),
            EpAction::AddAblationPoint(7)
        );
        // Early red, late towards purple, unreached grey.
        let early = activation_colour(0.0, 100.0);
        let late = activation_colour(100.0, 100.0);
        assert!(early.r() > early.b() && late.b() > late.g());
        assert_eq!(activation_colour(f64::NAN, 100.0), Color32::from_gray(90));
        // A tetrahedron's map: its front face drawn, the rest background.
        let surface = EpSurface {
            positions: vec![
                [0.0, 0.0, 0.0],
                [10.0, 0.0, 0.0],
                [0.0, 0.0, 10.0],
                [0.0, 10.0, 0.0],
            ],
            triangles: vec![[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]],
        };
        let (img, ids) = render_map(&surface, &[0.0, 20.0, 40.0, 60.0], 60.0, 0.0, 0.0, 64);
        let drawn = img
            .pixels
            .iter()
            .filter(|p| **p != Color32::from_gray(27))
            .count();
        assert!(drawn > 200 && drawn < 64 * 64, "{drawn}");
        // The picking buffer covers the drawn pixels with surface vertices.
        assert_eq!(ids.iter().filter(|&&v| v != u32::MAX).count(), drawn);
        assert!(ids.iter().all(|&v| v == u32::MAX || v < 4));
        s.surface = Some(std::sync::Arc::new(surface));
        for r in &mut s.runs {
            r.surface_ms = vec![0.0, 20.0, 40.0, 60.0];
        }
        assert!(run_pane(&mut s).is_empty());
    }
}
