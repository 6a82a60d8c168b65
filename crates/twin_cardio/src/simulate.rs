//! Running the circulation to periodic steady state.

use twin_core::Progress;

use crate::CardioError;
use crate::beat::{BeatIndices, BeatRecorder, Waveforms};
use crate::model::{Extra, NoExtra, State, blood_volume, device_flow, idx, initial_state};
use crate::params::Parameters;
use crate::solver::{Integrator, Tolerance};

/// How to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimOptions {
    pub tolerance: Tolerance,
    /// Give up after this many beats.
    pub max_beats: usize,
    /// Periodic when every monitored index changes by less than this
    /// (relative) from one beat to the next.
    pub periodic_change: f64,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            tolerance: Tolerance::default(),
            max_beats: 400,
            periodic_change: 1e-3,
        }
    }
}

/// A run's result: the indices of every beat, the last beat's waveforms and
/// the final state (to warm-start a run after a small change).
#[derive(Debug, Clone)]
pub struct Simulation {
    pub beats: Vec<BeatIndices>,
    pub waveforms: Waveforms,
    pub state: State,
    /// Largest relative drift of the blood volume over the run.
    pub volume_drift: f64,
    pub steps: usize,
}

impl Simulation {
    /// The steady-state beat.
    #[must_use]
    pub fn last(&self) -> &BeatIndices {
        self.beats
            .last()
            .expect("a simulation has at least one beat")
    }
}

fn monitored(b: &BeatIndices) -> [f64; 7] {
    [
        b.lv_edv_ml,
        b.lv_esv_ml,
        b.sbp_mmhg,
        b.dbp_mmhg,
        b.mean_la_mmhg,
        b.mean_ra_mmhg,
        b.rv_edv_ml,
    ]
}

/// Relative beat-to-beat change of the monitored indices.
fn change(a: &BeatIndices, b: &BeatIndices) -> f64 {
    monitored(a)
        .iter()
        .zip(monitored(b))
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// Runs from the resting initial state (or `start`, a previous run's final
/// state, when given; its blood volume is brought to this run's) until two successive beats change by less than
/// `options.periodic_change`.
pub fn simulate(
    p: &Parameters,
    start: Option<&State>,
    options: SimOptions,
    progress: &Progress,
) -> Result<Simulation, CardioError> {
    simulate_with(p, &NoExtra, start, options, progress)
}

/// [`simulate`] with a device (e.g. an LVAD) adding flows.
pub fn simulate_with(
    p: &Parameters,
    extra: &dyn Extra,
    start: Option<&State>,
    options: SimOptions,
    progress: &Progress,
) -> Result<Simulation, CardioError> {
    p.validate()?;
    let y0 = match start {
        // A warm start holds the previous run's blood volume (and its
        // vessels may have other compliances now): the difference to this
        // run's volume goes into the systemic veins, as a bolus would.
        Some(s) => {
            let mut y = *s;
            let missing = p.blood_volume_ml - blood_volume(p, &y);
            y[idx::P_VEN_SYS] += missing / p.ven_sys.c;
            y
        }
        None => initial_state(p),
    };
    let volume0 = blood_volume(p, &y0);
    let period = p.period();
    let mut integ = Integrator::new(p, extra, 0.0, y0, options.tolerance);
    let mut beats: Vec<BeatIndices> = Vec::new();
    let mut drift: f64 = 0.0;
    let mut calm = 0;
    progress.begin("Beats to steady state", options.max_beats as u64);
    // Device flow per accepted step, for the beat record.
    let device = |t: f64, y: &State| device_flow(p, extra, t, y);
    for k in 0..options.max_beats {
        progress.check_cancelled()?;
        let t0 = k as f64 * period;
        let mut rec = BeatRecorder::new(t0, &integ.y, device(t0, &integ.y));
        integ.advance(p, extra, t0 + period, |t, y| {
            rec.push(t, y, device(t, y));
        })?;
        drift = drift.max((blood_volume(p, &integ.y) / volume0 - 1.0).abs());
        let (b, w) = rec.finish(p);
        let c = beats.last().map_or(f64::INFINITY, |prev| change(prev, &b));
        beats.push(b);
        progress.advance(1);
        calm = if c < options.periodic_change {
            calm + 1
        } else {
            0
        };
        if calm >= 2 {
            return Ok(Simulation {
                beats,
                waveforms: w,
                state: integ.y,
                volume_drift: drift,
                steps: integ.accepted,
            });
        }
    }
    let last = beats.len();
    Err(CardioError::NotPeriodic {
        beats: last,
        change: if last >= 2 {
            change(&beats[last - 2], &beats[last - 1])
        } else {
            f64::NAN
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> Simulation {
        simulate(
            &Parameters::default(),
            None,
            SimOptions::default(),
            &Progress::new(),
        )
        .unwrap()
    }

    #[test]
    fn healthy_default_lies_in_the_physiological_ranges() {
        let s = healthy();
        let b = s.last();
        eprintln!("{b:#?}\nbeats {} steps {}", s.beats.len(), s.steps);
        let within = |name: &str, v: f64, lo: f64, hi: f64| {
            assert!((lo..=hi).contains(&v), "{name} = {v:.2} not in {lo}..{hi}");
        };
        within("EDV", b.lv_edv_ml, 110.0, 170.0);
        within("ESV", b.lv_esv_ml, 40.0, 70.0);
        within("EF", b.lv_ef_percent, 55.0, 70.0);
        within("SBP", b.sbp_mmhg, 105.0, 135.0);
        within("DBP", b.dbp_mmhg, 65.0, 85.0);
        within("CO", b.cardiac_output_l_min, 4.5, 6.5);
        within("mean LA", b.mean_la_mmhg, 5.0, 12.0);
        within("mean RA", b.mean_ra_mmhg, 2.0, 8.0);
    }

    #[test]
    fn indices_converge_as_the_tolerance_tightens() {
        // Tolerance 1e-6 (default) vs 1e-8: indices agree to 0.1 %.
        let coarse = healthy();
        let mut options = SimOptions::default();
        options.tolerance.rtol = 1e-8;
        options.tolerance.atol = 1e-7;
        let fine = simulate(&Parameters::default(), None, options, &Progress::new()).unwrap();
        for (name, a, b) in [
            ("EDV", coarse.last().lv_edv_ml, fine.last().lv_edv_ml),
            ("ESV", coarse.last().lv_esv_ml, fine.last().lv_esv_ml),
            ("SBP", coarse.last().sbp_mmhg, fine.last().sbp_mmhg),
            ("DBP", coarse.last().dbp_mmhg, fine.last().dbp_mmhg),
            (
                "CO",
                coarse.last().cardiac_output_l_min,
                fine.last().cardiac_output_l_min,
            ),
        ] {
            assert!((a / b - 1.0).abs() < 1e-3, "{name}: {a} vs {b}");
        }
        assert!(fine.steps > coarse.steps);
    }

    #[test]
    fn a_warm_start_after_a_small_change_settles_in_fewer_beats() {
        let base = healthy();
        let p = Parameters {
            heart_rate_bpm: 80.0,
            ..Parameters::default()
        };
        let cold = simulate(&p, None, SimOptions::default(), &Progress::new()).unwrap();
        let warm = simulate(
            &p,
            Some(&base.state),
            SimOptions::default(),
            &Progress::new(),
        )
        .unwrap();
        assert!(
            warm.beats.len() < cold.beats.len(),
            "{} vs {}",
            warm.beats.len(),
            cold.beats.len()
        );
        assert!((warm.last().lv_edv_ml / cold.last().lv_edv_ml - 1.0).abs() < 2e-3);
    }

    #[test]
    fn cancel_stops_a_run() {
        let progress = Progress::new();
        progress.cancel();
        assert!(matches!(
            simulate(
                &Parameters::default(),
                None,
                SimOptions::default(),
                &progress
            ),
            Err(CardioError::Cancelled(_))
        ));
    }

    #[test]
    fn blood_volume_is_conserved_and_runs_are_deterministic() {
        let a = healthy();
        assert!(a.volume_drift < 1e-6, "{}", a.volume_drift);
        let b = healthy();
        assert_eq!(a.state.map(f64::to_bits), b.state.map(f64::to_bits));
    }
}
