use twin_cardio::Parameters;
use twin_cardio::model::{N, NoExtra, State, rhs};
use twin_cardio::simulate::{SimOptions, simulate};
use twin_cardio::solver::Integrator;
use twin_core::Progress;
fn main() {
    let p = Parameters::default();
    let sim = simulate(&p, None, SimOptions::default(), &Progress::new()).unwrap();
    let mut integ = Integrator::new(
        &p,
        &NoExtra,
        0.0,
        sim.state,
        SimOptions::default().tolerance,
    );
    let mut pts: Vec<(f64, State)> = vec![];
    integ
        .advance(&p, &NoExtra, p.period(), |t, y| pts.push((t, *y)))
        .unwrap();
    println!("accepted {} rejected {}", integ.accepted, integ.rejected);
    let mut last = 0.0;
    for (k, (t, y)) in pts.iter().enumerate() {
        if k % 10 != 0 {
            last = *t;
            continue;
        }
        let f0 = rhs(&p, &NoExtra, *t, y);
        let mut j = nalgebra::DMatrix::<f64>::zeros(N, N);
        for c in 0..N {
            let mut y2 = *y;
            let h = 1e-7 * y[c].abs().max(1e-3);
            y2[c] += h;
            let f1 = rhs(&p, &NoExtra, *t, &y2);
            for r in 0..N {
                j[(r, c)] = (f1[r] - f0[r]) / h;
            }
        }
        let ev = j.complex_eigenvalues();
        let eig = nalgebra::linalg::Schur::new(j.clone());
        let _ = eig;
        let mut v: Vec<_> = ev.iter().map(|e| (e.norm(), e.re, e.im)).collect();
        v.sort_by(|a, b| b.0.total_cmp(&a.0));
        print!("t={:.4} h={:.5}", t, t - last);
        for e in v.iter().take(6) {
            if e.2.abs() > 1e-6 || e.0 < 100.0 {
                continue;
            }
            let mut shifted = j.clone();
            for i in 0..N {
                shifted[(i, i)] -= e.1 * (1.0 + 1e-6);
            }
            if let Some(inv) = shifted.try_inverse() {
                let mut w = nalgebra::DVector::<f64>::from_element(N, 1.0);
                for _ in 0..30 {
                    w = &inv * &w;
                    w /= w.norm();
                }
                let mut c: Vec<(usize, f64)> = w.iter().copied().enumerate().collect();
                c.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
                print!(
                    "  [{:.0}: {}:{:.2} {}:{:.2}]",
                    e.1, c[0].0, c[0].1, c[1].0, c[1].1
                );
            }
        }
        println!();
        last = *t;
    }
}
