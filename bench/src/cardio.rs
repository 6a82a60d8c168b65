//! Cardiac benchmarks: beats per second at periodic steady state and the
//! calibration time; the peer (scipy's solve_ivp) integrates the same
//! equations from the same state, written by `export-cardio`.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;

use twin_cardio::model::NoExtra;
use twin_cardio::simulate::{SimOptions, simulate};
use twin_cardio::solver::Integrator;
use twin_cardio::{Parameters, Targets, calibrate};
use twin_core::Progress;

/// Writes the default parameters and their periodic state as JSON.
pub fn export(out: &Path) -> anyhow::Result<()> {
    let p = Parameters::default();
    let options = SimOptions::default();
    let sim = simulate(&p, None, options, &Progress::new())?;
    std::fs::write(
        out,
        serde_json::json!({
            "parameters": p,
            "state": sim.state.to_vec(),
            "rtol": options.tolerance.rtol,
            "atol": options.tolerance.atol,
        })
        .to_string(),
    )?;
    Ok(())
}

/// Times `beats` beats from the periodic state; returns (seconds, beats).
pub fn beats(beats: usize) -> anyhow::Result<(f64, usize)> {
    let p = Parameters::default();
    let sim = simulate(&p, None, SimOptions::default(), &Progress::new())?;
    let t = Instant::now();
    let mut integ = Integrator::new(
        &p,
        &NoExtra,
        0.0,
        sim.state,
        SimOptions::default().tolerance,
    );
    integ.advance(&p, &NoExtra, beats as f64 * p.period(), |_, _| {})?;
    Ok((t.elapsed().as_secs_f64(), beats))
}

/// Times a calibration to CircAdapt's reference; returns (seconds, runs).
pub fn calibration() -> anyhow::Result<(f64, usize)> {
    let t = Instant::now();
    let c = calibrate(
        &Parameters::default(),
        &Targets::CIRCADAPT_REFERENCE,
        &Progress::new(),
    )?;
    Ok((t.elapsed().as_secs_f64(), c.simulations))
}

/// The timeline both sides run: rest, then 1000 mL lost over one minute
/// from 0.5 min, reflexes on, for `minutes`.
fn bleed(minutes: f64) -> twin_cardio::Timeline {
    twin_cardio::Timeline::new(
        "bench bleed",
        minutes,
        vec![(
            0.5,
            twin_cardio::Event::Haemorrhage {
                volume_ml: 1000.0,
                over_min: 1.0,
            },
        )],
    )
}

/// Writes what the scipy peer of `cardio-timeline` starts from: the
/// default parameters, their periodic state and its mean arterial and
/// right-atrial pressures (the reflex set points), the tolerances, and
/// Twinscope's own end values of the 2-min bench timeline (the peer prints
/// its own beside them).
pub fn export_timeline(out: &Path) -> anyhow::Result<()> {
    let p = Parameters::default();
    let options = SimOptions::default();
    let sim = simulate(&p, None, options, &Progress::new())?;
    let run = bleed(2.0).run(&Progress::new())?;
    let end = run.trend.last().context("no beat")?;
    std::fs::write(
        out,
        serde_json::json!({
            "parameters": p,
            "state": sim.state.to_vec(),
            "map": sim.last().map_mmhg,
            "ra": sim.last().mean_ra_mmhg,
            "rtol": options.tolerance.rtol,
            "atol": options.tolerance.atol,
            "reflex": twin_cardio::reflex::ReflexParams::default(),
            "twinscope_end": { "heart_rate_bpm": end.heart_rate_bpm, "map_mmhg": end.map_mmhg, "beats": run.beats() },
        })
        .to_string(),
    )?;
    Ok(())
}

/// Times the bench timeline over `minutes`; returns (seconds, simulated
/// seconds).
pub fn timeline(minutes: f64) -> anyhow::Result<(f64, usize)> {
    let t = Instant::now();
    let run = bleed(minutes).run(&Progress::new())?;
    anyhow::ensure!(run.beats() > 0, "no beat");
    Ok((t.elapsed().as_secs_f64(), (minutes * 60.0).round() as usize))
}
