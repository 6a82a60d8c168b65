//! Cardiac benchmarks: beats per second at periodic steady state and the
//! calibration time; the peer (scipy's solve_ivp) integrates the same
//! equations from the same state, written by `export-cardio`.

use std::path::Path;
use std::time::Instant;

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
