//! The app without a window (Bevy's `MinimalPlugins`): the app's own
//! feature plugins (`FeaturePlugins`: the session, the study, the cardiac
//! twin, the gait trial and the twin document) without their views, on the
//! one job system — what the headless tests and `--bench-latency` drive,
//! as the panes do: by the session's messages, reading the session.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use clap::Parser;

use crate::Args;
use crate::session::{CardioAsk, GaitAsk, Session, StudyAsk};

/// A windowless app: the same feature plugins as the app (study, cardiac
/// twin, gait trial, twin file) without their views, and no study at start.
pub fn app() -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(Args::parse_from(["twinscope", "--no-study"]))
        .add_plugins(crate::FeaturePlugins { detached: true });
    // Startup runs with the first update.
    app.update();
    app
}

/// Frame times until `done` (checked after each frame) (at most `limit`): one `update` per
/// frame, paced at 60 frames per second as a display would.
pub fn run_until(
    app: &mut App,
    limit: Duration,
    mut done: impl FnMut(&mut App) -> bool,
) -> Result<Vec<Duration>, String> {
    let start = Instant::now();
    let mut frames = Vec::new();
    // At least one frame: what was just asked starts in the next update.
    loop {
        let t = Instant::now();
        app.update();
        let dt = t.elapsed();
        frames.push(dt);
        if done(app) {
            break;
        }
        if start.elapsed() > limit {
            return Err(format!("not done after {limit:?}"));
        }
        std::thread::sleep(Duration::from_micros(16_667).saturating_sub(dt));
    }
    Ok(frames)
}

/// The session as the features left it.
pub fn session(a: &App) -> &Session {
    a.world().resource::<Session>()
}

/// The study and the heart have nothing left to do (and nothing asked of
/// them waits).
pub fn settled(a: &mut App) -> bool {
    let s = session(a);
    s.study.settled
        && !s.study.loading
        && s.cardio.quiet
        && s.cardio.ui.baseline.is_some()
        && !pending(a)
}

/// Some feature has messages still to read.
pub fn pending(a: &App) -> bool {
    let w = a.world();
    !(w.resource::<Messages<StudyAsk>>().is_empty()
        && w.resource::<Messages<CardioAsk>>().is_empty()
        && w.resource::<Messages<GaitAsk>>().is_empty()
        && w.resource::<Messages<crate::session::TwinAsk>>().is_empty())
}

/// Loads the demo's cine stack.
pub fn select_cine(a: &mut App) {
    let cine = session(a)
        .study
        .browser
        .studies
        .iter()
        .flat_map(|s| &s.series)
        .flat_map(|s| &s.stacks)
        .find(|k| k.phases > 1)
        .map(|k| k.id.clone())
        .expect("the demo has a cine");
    a.world_mut().write_message(StudyAsk::SelectStack(cine));
}

/// The frame-time load: two heavy jobs at once (the demo patient —
/// generated on first use, scanned, loaded, meshed — and the heart's
/// calibration), then the cine (every phase loaded and a surface built for
/// each), then four threshold changes (every phase's surface again).
/// Returns each frame's time and how long the work took.
pub fn loading_frames(a: &mut App) -> Result<(Vec<Duration>, Duration), String> {
    a.world_mut().write_message(StudyAsk::Open(None));
    let t = session(a).cardio.ui.targets;
    a.world_mut()
        .write_message(CardioAsk::Pane(twin_ui::CardioAction::Calibrate(t)));
    let start = Instant::now();
    let mut frames = run_until(a, Duration::from_mins(10), settled)?;
    if let Some(e) = &session(a).study.browser.error {
        return Err(format!("the demo study: {e}"));
    }
    select_cine(a);
    frames.extend(run_until(a, Duration::from_mins(10), settled)?);
    for k in 0..4 {
        let t = {
            let (lo, hi) = session(a).study.browser.threshold_range;
            lo + (hi - lo) * (0.2 + 0.1 * k as f32)
        };
        a.world_mut().write_message(StudyAsk::Remesh(t));
        frames.extend(run_until(a, Duration::from_mins(10), settled)?);
    }
    Ok((frames, start.elapsed()))
}

/// N prosthesis what-ifs (ankle stiffness changes) on `model`, `trial`,
/// `loads`: from the control's change (the pane's `WhatIfAsk`) to the
/// result in the pane's state, through the job system (ms each).
fn gait_latency(app: &mut App, files: &[std::path::PathBuf], n: usize) -> Result<Vec<f64>, String> {
    let [model, trial, loads] = files else {
        return Err("--gait needs MODEL TRIAL LOADS for the what-if".into());
    };
    app.world_mut().write_message(GaitAsk::Compute {
        model: model.clone(),
        trial: trial.clone(),
        loads: Some(loads.clone()),
    });
    run_until(app, Duration::from_mins(10), |a| {
        let g = &session(a).gait;
        !pending(a) && (g.whatif_ready || (g.settled && !g.ui.status.is_empty()))
    })?;
    if !session(app).gait.whatif_ready {
        return Err(format!("gait: {}", session(app).gait.ui.status));
    }
    let mut out = Vec::new();
    for k in 0..n {
        let stiffness = 250.0 + 300.0 * (k as f64 + 0.5) / n as f64;
        let asked = Instant::now();
        let c = twin_ui::DeviceControls {
            stiffness,
            ..twin_ui::DeviceControls::default()
        };
        app.world_mut()
            .write_message(GaitAsk::Pane(twin_ui::GaitAction::WhatIf(
                twin_ui::WhatIfAsk::Run(c.prosthesis()),
            )));
        run_until(app, Duration::from_mins(2), |a| {
            !pending(a) && session(a).gait.whatif_done
        })?;
        if let Some(e) = &session(app).gait.ui.whatif.error {
            return Err(format!("gait what-if: {e}"));
        }
        out.push(asked.elapsed().as_secs_f64() * 1e3);
    }
    Ok(out)
}

/// `--bench-latency N`: N what-if changes of the aortic valve area on the
/// calibrated demo twin, each from the control's release (the pane's
/// `CardioAction::Simulate`) to its result in the pane's state, through
/// the job system; prints JSON with every latency (ms).
pub fn bench_latency(n: usize, gait: Option<&[std::path::PathBuf]>) -> Result<String, String> {
    let mut app = app();
    // Frame times while the heavy jobs run (the goal: every frame < 33 ms);
    // this also calibrates the heart.
    let (loading, busy) = loading_frames(&mut app)?;
    let ms = |d: &Duration| d.as_secs_f64() * 1e3;
    let loading_worst = loading.iter().map(ms).fold(0.0, f64::max);
    let loading_over = loading.iter().filter(|d| ms(d) > 33.0).count();
    let mut latencies = Vec::new();
    let mut frames = Vec::new();
    for k in 0..n {
        // A valve area not run before, so every change is a real rerun.
        let area = 0.6 + 3.0 * (k as f64 + 0.5) / n as f64;
        let scenario = {
            let mut s = app.world_mut().resource_mut::<Session>();
            let c = &mut s.cardio.ui;
            c.controls.aortic_area_cm2 = area;
            c.controls.scenario(c.targets.heart_rate_bpm)
        };
        app.world_mut()
            .write_message(CardioAsk::Pane(twin_ui::CardioAction::Simulate(scenario)));
        let asked = Instant::now();
        let f = run_until(&mut app, Duration::from_mins(2), |a| {
            let c = &session(a).cardio;
            !pending(a)
                && c.quiet
                && c.ui
                    .current
                    .as_ref()
                    .is_some_and(|r| (r.indices.aortic.mean_gradient_mmhg).is_finite())
                && c.ui.variants.iter().all(|v| v.result.is_some())
        })?;
        latencies.push(asked.elapsed().as_secs_f64() * 1e3);
        frames.extend(f);
    }
    let worst_frame = frames.iter().max().map_or(0.0, |d| d.as_secs_f64() * 1e3);
    let gait_ms = match gait {
        Some(files) => Some(gait_latency(&mut app, files, n)?),
        None => None,
    };
    Ok(serde_json::json!({
        "loading": {
            "what": "frames while the demo patient loads, the heart calibrates, the cine loads and its 20 phase surfaces are rebuilt four times",
            "frames": loading.len(),
            "busy_s": busy.as_secs_f64(),
            "worst_frame_ms": loading_worst,
            "frames_over_33_ms": loading_over,
        },
        "what": "cardiac what-if: control released -> variant's result in the panel state, through the app's job system",
        "latency_ms": latencies,
        "gait_latency_ms": gait_ms,
        "worst_frame_ms": worst_frame,
        "frames": frames.len(),
    })
    .to_string())
}
