//! The Jacobian's fast modes along one beat of the healthy default: for
//! every accepted step (every fifth printed), the eigenvalues beyond 100 /s and the state
//! component that carries each (its eigenvector's largest entry).
//!
//! `cargo run --release -p twin_cardio --example stiffness`

use twin_cardio::Parameters;
use twin_cardio::model::{N, NoExtra, State, rhs};
use twin_cardio::simulate::{SimOptions, simulate};
use twin_cardio::solver::Integrator;
use twin_core::Progress;

const NAMES: [&str; N] = [
    "V_LA",
    "V_LV",
    "V_RA",
    "V_RV",
    "p_AR,SYS",
    "p_VEN,SYS",
    "p_AR,PUL",
    "p_VEN,PUL",
    "Q_AR,SYS",
    "Q_VEN,SYS",
    "Q_AR,PUL",
    "Q_VEN,PUL",
    "Q_MV",
    "Q_AV",
    "Q_TV",
    "Q_PV",
    "ζ_MV",
    "ζ_AV",
    "ζ_TV",
    "ζ_PV",
];

fn jacobian(p: &Parameters, t: f64, y: &State) -> nalgebra::DMatrix<f64> {
    let f0 = rhs(p, &NoExtra, t, y);
    let mut j = nalgebra::DMatrix::<f64>::zeros(N, N);
    for c in 0..N {
        let mut y2 = *y;
        let h = 1e-7 * y[c].abs().max(1e-3);
        y2[c] += h;
        let f1 = rhs(p, &NoExtra, t, &y2);
        for r in 0..N {
            j[(r, c)] = (f1[r] - f0[r]) / h;
        }
    }
    j
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let p = Parameters::default();
    let options = SimOptions::default();
    let sim = simulate(&p, None, options, &Progress::new())?;
    let mut integ = Integrator::new(&p, &NoExtra, 0.0, sim.state, options.tolerance);
    let mut states: Vec<(f64, State)> = Vec::new();
    integ.advance(&p, &NoExtra, p.period(), |t, y| states.push((t, *y)))?;
    let mut fastest: f64 = 0.0;
    for (step, (t, y)) in states.iter().enumerate() {
        let j = jacobian(&p, *t, y);
        let mut modes: Vec<String> = Vec::new();
        for e in j.complex_eigenvalues().iter() {
            if e.im.abs() > 1e-9 || e.re > -100.0 {
                continue;
            }
            fastest = fastest.max(-e.re);
            // Inverse iteration for the eigenvector.
            let mut shifted = j.clone();
            for i in 0..N {
                shifted[(i, i)] -= e.re * (1.0 + 1e-6);
            }
            let Some(inv) = shifted.try_inverse() else {
                continue;
            };
            let mut v = nalgebra::DVector::<f64>::from_element(N, 1.0);
            for _ in 0..30 {
                v = &inv * &v;
                v /= v.norm();
            }
            let k = v.iamax();
            modes.push(format!("{:.0} ({}, {:.3})", e.re, NAMES[k], v[k].abs()));
        }
        if step % 5 == 0 {
            println!("t = {t:.3} s: {}", modes.join(", "));
        }
    }
    println!("fastest mode over the beat: {fastest:.0} /s");
    Ok(())
}
