//! Convergence study of the two integrators on the healthy default: for each
//! tolerance, the largest relative error of EDV, ESV, SBP, DBP, CO and mean
//! LA/RA pressures at periodic steady state (against Dormand–Prince at
//! rtol 1e-10), steps per beat and beats per second.
//!
//! `cargo run --release -p twin_cardio --example convergence`

use std::time::Instant;

use twin_cardio::model::NoExtra;
use twin_cardio::simulate::{SimOptions, simulate};
use twin_cardio::solver::{Integrator, Method, Tolerance};
use twin_cardio::{BeatIndices, Parameters};
use twin_core::Progress;

fn indices(b: &BeatIndices) -> [(&'static str, f64); 7] {
    [
        ("EDV", b.lv_edv_ml),
        ("ESV", b.lv_esv_ml),
        ("SBP", b.sbp_mmhg),
        ("DBP", b.dbp_mmhg),
        ("CO", b.cardiac_output_l_min),
        ("LA", b.mean_la_mmhg),
        ("RA", b.mean_ra_mmhg),
    ]
}

fn options(method: Method, rtol: f64) -> SimOptions {
    SimOptions {
        tolerance: Tolerance {
            rtol,
            atol: rtol * 10.0,
            method,
            ..Tolerance::default()
        },
        ..SimOptions::default()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let p = Parameters::default();
    let reference = simulate(&p, None, options(Method::Dopri54, 1e-10), &Progress::new())?;
    let reference = indices(reference.last());
    println!("| method | rtol | worst index error | steps/beat (+ rejected) | beats/s |");
    println!("|---|---:|---|---:|---:|");
    for method in [Method::Dopri54, Method::Imex43] {
        for rtol in [1e-6, 1e-5, 1e-4, 1e-3] {
            let o = options(method, rtol);
            let s = simulate(&p, None, o, &Progress::new())?;
            let (name, worst) = indices(s.last())
                .iter()
                .zip(&reference)
                .map(|((n, v), (_, r))| (*n, (v / r - 1.0).abs() * 100.0))
                .fold(("", 0.0), |a, b| if b.1 > a.1 { b } else { a });
            let beats = 200;
            let t = Instant::now();
            let mut integ = Integrator::new(&p, &NoExtra, 0.0, s.state, o.tolerance);
            integ.advance(&p, &NoExtra, f64::from(beats) * p.period(), |_, _| {})?;
            let rate = f64::from(beats) / t.elapsed().as_secs_f64();
            println!(
                "| {method:?} | {rtol:.0e} | {worst:.3} % ({name}) | {:.0} (+{:.0}) | {rate:.0} |",
                integ.accepted as f64 / f64::from(beats),
                integ.rejected as f64 / f64::from(beats),
            );
        }
    }
    Ok(())
}
