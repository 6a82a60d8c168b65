//! The cardiac twin window: calibration and what-if runs in a background
//! thread, the panel from `twin_ui::cardio`.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use twin_cardio::model::{NoExtra, State};
use twin_cardio::simulate::{SimOptions, simulate_with};
use twin_cardio::{Parameters, Scenario, Targets, calibrate};
use twin_core::Progress;
use twin_ui::cardio::CardioResult;
use twin_ui::{CardioAction, CardioState};

use crate::Args;
use crate::job::Job;

pub struct CardioPlugin;

impl Plugin for CardioPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Cardio>()
            .add_systems(Startup, start)
            .add_systems(Update, (poll, pulse))
            .add_systems(EguiPrimaryContextPass, draw);
    }
}

enum Msg {
    Calibrated {
        params: Box<Parameters>,
        state: Box<State>,
        result: CardioResult,
        status: String,
    },
    Ran(CardioResult),
    /// EDV, ESV (mL) and heart rate from the cine's LV curve.
    Imaging {
        edv: f64,
        esv: f64,
        hr: Option<f64>,
        source: String,
    },
    Failed(String),
}

/// The window's state and its worker.
#[derive(Resource, Default)]
pub struct Cardio {
    pub open: bool,
    pub ui: CardioState,
    params: Parameters,
    state: Option<State>,
    job: Option<Job<Msg>>,
    /// A scenario to run once the baseline is calibrated (`--cardio FILE`).
    pending: Option<Scenario>,
    /// Finished everything it was asked at start (for `--screenshot`).
    pub settled: bool,
}

impl Cardio {
    /// Opens the window, calibrating a first baseline if there is none.
    pub fn show(&mut self) {
        self.open = true;
        if self.ui.baseline.is_none() && !self.ui.busy {
            let targets = self.ui.targets;
            self.calibrate(targets);
        }
    }

    fn spawn(&mut self, work: impl FnOnce(&Progress) -> Msg + Send + 'static) {
        if let Some(old) = self.job.take() {
            old.progress.cancel();
        }
        self.job = Some(Job::once("cardiac twin", work));
        self.ui.busy = true;
        self.settled = false;
    }

    fn calibrate(&mut self, targets: Targets) {
        self.spawn(
            move |progress| match calibrate(&Parameters::default(), &targets, progress) {
                Ok(c) => {
                    let worst = c
                        .residuals
                        .iter()
                        .map(|r| r.error_percent.abs())
                        .fold(0.0, f64::max);
                    let mut status =
                        format!("fitted in {:.2} s, largest error {worst:.2} %", c.seconds);
                    for w in &c.warnings {
                        status.push_str("; ");
                        status.push_str(w);
                    }
                    let sim = simulate_with(
                        &c.parameters,
                        &NoExtra,
                        Some(&c.state),
                        SimOptions::default(),
                        progress,
                    );
                    match sim {
                        Ok(s) => Msg::Calibrated {
                            params: Box::new(c.parameters),
                            state: Box::new(s.state),
                            result: CardioResult {
                                indices: s.last().clone(),
                                waveforms: s.waveforms,
                            },
                            status,
                        },
                        Err(e) => Msg::Failed(e.to_string()),
                    }
                }
                Err(e) => Msg::Failed(e.to_string()),
            },
        );
    }

    fn run(&mut self, scenario: Scenario) {
        let base = self.params.clone();
        let start = self.state;
        self.spawn(move |progress| {
            match scenario.simulate(&base, start.as_ref(), SimOptions::default(), progress) {
                Ok(s) => Msg::Ran(CardioResult {
                    indices: s.last().clone(),
                    waveforms: s.waveforms,
                }),
                Err(e) => Msg::Failed(e.to_string()),
            }
        });
    }
}

impl Cardio {
    /// LV volume curve of a cine from a seed (patient mm), in the background.
    fn measure_cine(
        &mut self,
        frames: Vec<std::sync::Arc<twin_imaging::Volume>>,
        times_ms: Vec<f64>,
        seed: [f64; 3],
        label: String,
    ) {
        self.spawn(move |progress| {
            let grids: Vec<twin_mesh::Grid> = frames
                .iter()
                .map(|v| crate::study::grid(v))
                .collect();
            match twin_mesh::cine::lv_volumes(&grids, seed, twin_mesh::cine::DEFAULT_FRACTION, progress) {
                Ok(c) => {
                    // RR interval: the phases span one beat.
                    let hr = (times_ms.len() >= 2).then(|| {
                        let n = times_ms.len();
                        let step = times_ms[n - 1] - times_ms[n - 2];
                        60_000.0 / (times_ms[n - 1] + step)
                    });
                    Msg::Imaging {
                        edv: c.edv_ml,
                        esv: c.esv_ml,
                        hr: hr.filter(|h| (30.0..=180.0).contains(h)),
                        source: format!(
                            "LV curve of {label}: EDV {:.1} mL (phase {}), ESV {:.1} mL (phase {}), EF {:.1} %",
                            c.edv_ml, c.ed_phase, c.esv_ml, c.es_phase, c.ef_percent
                        ),
                    }
                }
                Err(e) => Msg::Failed(format!("LV curve: {e}")),
            }
        });
    }
}

/// Drives the 3D mesh pulse from the current run's LV volume.
fn pulse(cardio: Res<Cardio>, time: Res<Time>, mut pulse: ResMut<crate::viewport::MeshPulse>) {
    let want = if cardio.open && cardio.ui.pulse_mesh {
        cardio
            .ui
            .current
            .as_ref()
            .and_then(|r| twin_ui::cardio::pulse_scale(r, time.elapsed_secs_f64()))
    } else {
        None
    };
    if pulse.0 != want {
        pulse.0 = want;
    }
}

fn start(mut cardio: ResMut<Cardio>, args: Res<Args>) {
    let Some(arg) = &args.cardio else {
        return;
    };
    cardio.open = true;
    if let Some(path) = arg {
        match twin_core::limits::read_text(path, twin_core::limits::MAX_JSON_FILE, "scenario file")
            .and_then(|t| serde_json::from_str::<Scenario>(&t).map_err(|e| e.to_string()))
        {
            Ok(s) => cardio.pending = Some(s),
            Err(e) => cardio.ui.status = format!("scenario `{}`: {e}", path.display()),
        }
    }
    let targets = cardio.ui.targets;
    cardio.calibrate(targets);
}

fn poll(mut cardio: ResMut<Cardio>) {
    let msg = cardio.job.as_ref().and_then(|j| j.try_recv().ok());
    let Some(msg) = msg else { return };
    cardio.job = None;
    cardio.ui.busy = false;
    match msg {
        Msg::Calibrated {
            params,
            state,
            result,
            status,
        } => {
            cardio.params = *params;
            cardio.state = Some(*state);
            cardio.ui.baseline = Some(result.clone());
            cardio.ui.current = Some(result);
            cardio.ui.status = status;
            cardio.ui.controls = twin_ui::cardio::Controls {
                heart_rate_bpm: cardio.ui.targets.heart_rate_bpm,
                ..twin_ui::cardio::Controls::default()
            };
            if let Some(s) = cardio.pending.take() {
                cardio.ui.status = format!("{} — {}", cardio.ui.status, s.name);
                let hr = cardio.ui.targets.heart_rate_bpm;
                cardio.ui.controls = twin_ui::cardio::Controls::from_scenario(&s, hr);
                cardio.run(s);
                return;
            }
        }
        Msg::Ran(result) => cardio.ui.current = Some(result),
        Msg::Imaging {
            edv,
            esv,
            hr,
            source,
        } => {
            cardio.ui.targets.lv_edv_ml = edv;
            cardio.ui.targets.lv_esv_ml = esv;
            if let Some(h) = hr {
                cardio.ui.targets.heart_rate_bpm = h;
            }
            cardio.ui.targets_source = source;
            cardio.ui.status = "targets from imaging; Calibrate to fit".into();
        }
        Msg::Failed(e) => cardio.ui.status = e,
    }
    cardio.settled = true;
}

fn draw(
    mut contexts: EguiContexts,
    mut cardio: ResMut<Cardio>,
    ws: Res<crate::study::Workspace>,
) -> Result {
    if !cardio.open {
        return Ok(());
    }
    cardio.ui.cine_available = ws.mpr.frames.len() > 1;
    let ctx = contexts.ctx_mut()?;
    let mut open = cardio.open;
    let mut actions = Vec::new();
    egui::Window::new("Cardiac twin")
        .open(&mut open)
        .default_size([620.0, 640.0])
        .default_pos([330.0, 60.0])
        .vscroll(true)
        .show(ctx, |ui| {
            actions = twin_ui::cardio_panel(ui, &mut cardio.ui);
        });
    cardio.open = open;
    for a in actions {
        match a {
            CardioAction::Calibrate(t) => cardio.calibrate(t),
            CardioAction::Simulate(s) => cardio.run(s),
            CardioAction::FromImaging => {
                let label = ws
                    .browser
                    .selected_stack
                    .clone()
                    .map_or_else(|| "the cine".to_owned(), |id| format!("series {id}"));
                cardio.measure_cine(
                    ws.mpr.frames.clone(),
                    ws.mpr.times_ms.clone(),
                    ws.mpr.crosshair,
                    label,
                );
            }
        }
    }
    Ok(())
}
