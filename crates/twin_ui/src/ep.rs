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

/// One run as the pane shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EpRun {
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
    pub busy: bool,
    pub status: String,
    /// Sinus rhythm first, then the chosen rhythm (when it is not sinus).
    pub runs: Vec<EpRun>,
}

impl Default for EpUi {
    fn default() -> Self {
        Self {
            rhythm: EpRhythm::Sinus,
            vv_delay_ms: 0.0,
            lv_theta_deg: 180.0,
            lv_z: 0.5,
            busy: false,
            status: "Choose a rhythm and run it on the demo heart's ventricles.".into(),
            runs: Vec::new(),
        }
    }
}

/// What the pane asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EpAction {
    /// Activate the heart under the pane's rhythm (and sinus rhythm).
    Run,
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
        if ui
            .add_enabled(!s.busy, egui::Button::new("Run"))
            .on_hover_text("Activation, pseudo-ECG and the coupled beat, against sinus rhythm")
            .clicked()
        {
            actions.push(EpAction::Run);
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
    }
}
