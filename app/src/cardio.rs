//! The cardiac twin window: calibration and what-if runs in a background
//! thread, the panel from `twin_ui::cardio`.

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, channel};

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use twin_cardio::model::{Extra, NoExtra, State};
use twin_cardio::simulate::{SimOptions, simulate_with};
use twin_cardio::{Parameters, Scenario, Targets, calibrate};
use twin_core::Progress;
use twin_ui::cardio::CardioResult;
use twin_ui::{CardioAction, CardioState};

use crate::Args;

pub struct CardioPlugin;

impl Plugin for CardioPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Cardio>()
            .add_systems(Startup, start)
            .add_systems(Update, poll)
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
    Failed(String),
}

/// The window's state and its worker.
#[derive(Resource, Default)]
pub struct Cardio {
    pub open: bool,
    pub ui: CardioState,
    params: Parameters,
    state: Option<State>,
    rx: Option<Mutex<Receiver<Msg>>>,
    progress: Option<Progress>,
    /// A scenario to run once the baseline is calibrated (`--cardio FILE`).
    pending: Option<Scenario>,
    /// Finished everything it was asked at start (for `--screenshot`).
    pub settled: bool,
}

impl Cardio {
    fn spawn(&mut self, work: impl FnOnce(&Progress) -> Msg + Send + 'static) {
        if let Some(p) = self.progress.take() {
            p.cancel();
        }
        let (tx, rx) = channel();
        let progress = Progress::new();
        let p = progress.clone();
        std::thread::Builder::new()
            .name("job: cardiac twin".into())
            .spawn(move || {
                let _ = tx.send(work(&p));
            })
            .expect("spawn a worker thread");
        self.rx = Some(Mutex::new(rx));
        self.progress = Some(progress);
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
            let (p, lvad) = match scenario.apply(&base) {
                Ok(x) => x,
                Err(e) => return Msg::Failed(e.to_string()),
            };
            let extra: &dyn Extra = match &lvad {
                Some(l) => l,
                None => &NoExtra,
            };
            match simulate_with(&p, extra, start.as_ref(), SimOptions::default(), progress) {
                Ok(s) => Msg::Ran(CardioResult {
                    indices: s.last().clone(),
                    waveforms: s.waveforms,
                }),
                Err(e) => Msg::Failed(e.to_string()),
            }
        });
    }
}

fn start(mut cardio: ResMut<Cardio>, args: Res<Args>) {
    let Some(arg) = &args.cardio else {
        return;
    };
    cardio.open = true;
    if let Some(path) = arg {
        match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
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
    let msg = cardio
        .rx
        .as_ref()
        .and_then(|rx| rx.lock().ok().and_then(|r| r.try_recv().ok()));
    let Some(msg) = msg else { return };
    cardio.rx = None;
    cardio.progress = None;
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
        Msg::Failed(e) => cardio.ui.status = e,
    }
    cardio.settled = true;
}

fn draw(mut contexts: EguiContexts, mut cardio: ResMut<Cardio>) -> Result {
    if !cardio.open {
        return Ok(());
    }
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
        }
    }
    Ok(())
}
