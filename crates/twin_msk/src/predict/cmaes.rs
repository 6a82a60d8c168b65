//! CMA-ES (Hansen 2016, "The CMA Evolution Strategy: A Tutorial"): the
//! (μ/μ_w, λ) strategy with cumulative step-size adaptation and rank-one
//! plus rank-μ covariance updates, in coordinates normalised by each
//! parameter's scale; candidates evaluated in parallel (rayon), seeded
//! (same seed, same run), cancellable; restarts from the best point with
//! a doubled population when a run stalls (IPOP, Auger & Hansen 2005,
//! restarted at the incumbent instead of at random because the starting
//! point of a gait is meaningful).

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use rayon::prelude::*;
use twin_core::rng::{GOLDEN, mix64, unit};

/// A small deterministic generator (xoshiro256**), seeded by splitmix64.
#[derive(Debug, Clone)]
pub struct Rng([u64; 4]);

impl Rng {
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let step = |k: u64| mix64(seed.wrapping_add(k.wrapping_mul(GOLDEN)));
        Self([step(0), step(1), step(2), step(3)])
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in (0, 1].
    pub fn uniform(&mut self) -> f64 {
        unit(self.next_u64())
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Settings of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Population size λ (0: 4 + ⌊3 ln n⌋).
    pub population: usize,
    pub generations: usize,
    /// Initial step size in normalised units.
    pub sigma: f64,
    pub seed: u64,
    /// How many times a stalled run may restart (population doubled).
    pub restarts: usize,
}

/// One generation's report.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub index: usize,
    pub best_cost: f64,
    pub mean_cost: f64,
    pub sigma: f64,
    /// Restarts so far, and the population of this generation.
    pub restart: usize,
    pub population: usize,
    /// The best parameters so far (real units).
    pub best: Vec<f64>,
}

/// The strategy's constants for a dimension and population.
struct Constants {
    lambda: usize,
    mu: usize,
    w: Vec<f64>,
    mueff: f64,
    cc: f64,
    cs: f64,
    c1: f64,
    cmu: f64,
    damps: f64,
    chin: f64,
}

impl Constants {
    fn new(n: usize, lambda: usize) -> Self {
        let nf = n as f64;
        let mu = lambda / 2;
        let raw: Vec<f64> = (0..mu)
            .map(|i| (lambda as f64).midpoint(1.0).ln() - ((i + 1) as f64).ln())
            .collect();
        let total: f64 = raw.iter().sum();
        let w: Vec<f64> = raw.iter().map(|v| v / total).collect();
        let mueff = 1.0 / w.iter().map(|v| v * v).sum::<f64>();
        let cc = (4.0 + mueff / nf) / (nf + 4.0 + 2.0 * mueff / nf);
        let cs = (mueff + 2.0) / (nf + mueff + 5.0);
        let c1 = 2.0 / ((nf + 1.3).powi(2) + mueff);
        let cmu = (1.0 - c1).min(2.0 * (mueff - 2.0 + 1.0 / mueff) / ((nf + 2.0).powi(2) + mueff));
        let damps = 1.0 + 2.0 * (((mueff - 1.0) / (nf + 1.0)).sqrt() - 1.0).max(0.0) + cs;
        let chin = nf.sqrt() * (1.0 - 1.0 / (4.0 * nf) + 1.0 / (21.0 * nf * nf));
        Self {
            lambda,
            mu,
            w,
            mueff,
            cc,
            cs,
            c1,
            cmu,
            damps,
            chin,
        }
    }
}

/// Minimises `cost` over parameters `x = x0 + scale ⊙ z`, starting at
/// `z = 0`; `report` is told of every generation and returns `false` to
/// stop. Returns the best parameters and their cost.
pub fn minimise(
    x0: &[f64],
    scale: &[f64],
    settings: &Settings,
    cost: &(dyn Fn(&[f64]) -> f64 + Sync),
    report: &mut dyn FnMut(&Generation) -> bool,
) -> (Vec<f64>, f64) {
    let n = x0.len();
    let nf = n as f64;
    let mut k = Constants::new(
        n,
        if settings.population > 0 {
            settings.population
        } else {
            4 + (3.0 * nf.ln()).floor() as usize
        },
    );
    // A run stalls when its best has not improved by 1e-6 (relative) in
    // this many generations, or its steps have shrunk a millionfold.
    let stall_after = |lambda: usize| 10 + (30.0 * nf / lambda as f64).ceil() as usize;

    let mut rng = Rng::new(settings.seed);
    let mut mean = DVector::<f64>::zeros(n);
    let mut sigma = settings.sigma;
    let mut c = DMatrix::<f64>::identity(n, n);
    let mut b = DMatrix::<f64>::identity(n, n);
    let mut d = DVector::<f64>::from_element(n, 1.0);
    let mut pc = DVector::<f64>::zeros(n);
    let mut ps = DVector::<f64>::zeros(n);
    let to_x = |z: &DVector<f64>| -> Vec<f64> { (0..n).map(|i| x0[i] + scale[i] * z[i]).collect() };
    let mut best = (DVector::<f64>::zeros(n), cost(x0));
    let (mut restart, mut run_start, mut run_best, mut run_best_at) = (0, 0, f64::INFINITY, 0);
    for g in 0..settings.generations {
        let samples: Vec<(DVector<f64>, DVector<f64>)> = (0..k.lambda)
            .map(|_| {
                let zn = DVector::<f64>::from_fn(n, |_, _| rng.normal());
                let y = &b * d.component_mul(&zn);
                (&mean + sigma * &y, y)
            })
            .collect();
        let costs: Vec<f64> = samples.par_iter().map(|(z, _)| cost(&to_x(z))).collect();
        let mut order: Vec<usize> = (0..k.lambda).collect();
        order.sort_by(|&i, &j| costs[i].total_cmp(&costs[j]));
        if costs[order[0]] < best.1 {
            best = (samples[order[0]].0.clone(), costs[order[0]]);
        }
        let first = costs[order[0]];
        if first < run_best
            && (run_best.is_infinite() || run_best - first > 1e-6 * run_best.abs().max(1e-12))
        {
            (run_best, run_best_at) = (first, g);
        }
        let old = mean.clone();
        mean = DVector::zeros(n);
        for (r, &i) in order.iter().take(k.mu).enumerate() {
            mean += k.w[r] * &samples[i].0;
        }
        let step = (&mean - &old) / sigma;
        // C^{-1/2} step.
        let inv_sqrt = &b * DMatrix::from_diagonal(&d.map(|v| 1.0 / v)) * b.transpose();
        ps = (1.0 - k.cs) * &ps + (k.cs * (2.0 - k.cs) * k.mueff).sqrt() * (&inv_sqrt * &step);
        let age = (g - run_start + 1) as i32;
        let hsig =
            ps.norm() / (1.0 - (1.0 - k.cs).powi(2 * age)).sqrt() / k.chin < 1.4 + 2.0 / (nf + 1.0);
        pc = (1.0 - k.cc) * &pc
            + if hsig {
                (k.cc * (2.0 - k.cc) * k.mueff).sqrt()
            } else {
                0.0
            } * &step;
        let mut rank_mu = DMatrix::<f64>::zeros(n, n);
        for (r, &i) in order.iter().take(k.mu).enumerate() {
            let y = &samples[i].1;
            rank_mu += k.w[r] * y * y.transpose();
        }
        let delta = if hsig { 0.0 } else { k.cc * (2.0 - k.cc) };
        c = (1.0 - k.c1 - k.cmu) * &c
            + k.c1 * (&pc * pc.transpose() + delta * &c)
            + k.cmu * rank_mu;
        sigma *= ((k.cs / k.damps) * (ps.norm() / k.chin - 1.0)).exp();
        // Eigen-decomposition (n ≤ a few hundred: every generation).
        let sym = (&c + c.transpose()) * 0.5;
        let eig = SymmetricEigen::new(sym);
        b = eig.eigenvectors;
        d = eig.eigenvalues.map(|v| v.max(1e-20).sqrt());
        let mean_cost = costs.iter().sum::<f64>() / k.lambda as f64;
        let go_on = report(&Generation {
            index: g,
            best_cost: best.1,
            mean_cost,
            sigma,
            restart,
            population: k.lambda,
            best: to_x(&best.0),
        });
        if !go_on {
            break;
        }
        let stalled =
            g - run_best_at >= stall_after(k.lambda) || sigma * d.max() < 1e-6 * settings.sigma;
        if stalled && restart < settings.restarts {
            restart += 1;
            k = Constants::new(n, 2 * k.lambda);
            mean.clone_from(&best.0);
            sigma = settings.sigma;
            c = DMatrix::identity(n, n);
            b = DMatrix::identity(n, n);
            d = DVector::from_element(n, 1.0);
            pc = DVector::zeros(n);
            ps = DVector::zeros(n);
            (run_start, run_best, run_best_at) = (g + 1, f64::INFINITY, g + 1);
        }
    }
    (to_x(&best.0), best.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_finds_the_minimum_of_a_rotated_ellipsoid_and_repeats_with_a_seed() {
        let cost = |x: &[f64]| {
            let a = x[0] + 0.5 * x[1] - 1.0;
            let b = x[1] - 2.0;
            let c = x[2] + 3.0;
            a * a + 10.0 * b * b + 100.0 * c * c
        };
        let settings = Settings {
            population: 0,
            generations: 300,
            sigma: 0.5,
            seed: 7,
            restarts: 0,
        };
        let run = || minimise(&[0.0; 3], &[1.0; 3], &settings, &cost, &mut |_| true);
        let (x, f) = run();
        assert!(f < 1e-12, "{f} at {x:?}");
        assert!(
            (x[0] - 0.0).abs() < 1e-5 && (x[1] - 2.0).abs() < 1e-5 && (x[2] + 3.0).abs() < 1e-6
        );
        assert_eq!(run().0, x, "not repeatable with a seed");
        // Stopping from the report.
        let mut seen = 0;
        let _ = minimise(&[0.0; 3], &[1.0; 3], &settings, &cost, &mut |g| {
            seen = g.index + 1;
            g.index < 4
        });
        assert_eq!(seen, 5);
        // While a run improves it does not restart.
        let mut restarts = 0;
        let _ = minimise(
            &[0.0; 3],
            &[1.0; 3],
            &Settings {
                restarts: 5,
                generations: 60,
                ..settings
            },
            &cost,
            &mut |g| {
                restarts = g.restart;
                true
            },
        );
        assert_eq!(restarts, 0, "restarted an improving run");
    }

    /// Rastrigin in 6 dimensions, from a point in a far basin: one run
    /// stalls in a local minimum (14.9 here); restarts with doubled
    /// populations reach the global one, and the best never gets worse.
    #[test]
    fn restarts_escape_a_stalled_run() {
        let cost = |x: &[f64]| {
            x.iter()
                .map(|v| v * v - 10.0 * (std::f64::consts::TAU * v).cos() + 10.0)
                .sum::<f64>()
        };
        let x0 = [3.0; 6];
        let run = |restarts: usize| {
            let settings = Settings {
                population: 6,
                generations: 1500,
                sigma: 1.0,
                seed: 3,
                restarts,
            };
            let mut last = f64::INFINITY;
            let mut most = 0;
            let (x, f) = minimise(&x0, &[1.0; 6], &settings, &cost, &mut |g| {
                assert!(g.best_cost <= last, "the best got worse");
                last = g.best_cost;
                most = most.max(g.restart);
                true
            });
            (x, f, most)
        };
        let (_, single, none) = run(0);
        let (_, restarted, used) = run(6);
        assert_eq!(none, 0);
        assert!(used >= 1, "never restarted");
        eprintln!("one run: {single}; with restarts: {restarted} ({used} restarts)");
        assert!(single > 1.0, "one run already found the global minimum");
        assert!(restarted < 1e-8, "{restarted} vs {single}");
    }

    #[test]
    fn normals_have_unit_variance() {
        let mut r = Rng::new(1);
        let v: Vec<f64> = (0..20000).map(|_| r.normal()).collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        assert!(m.abs() < 0.03 && (s - 1.0).abs() < 0.03, "{m} {s}");
    }
}
