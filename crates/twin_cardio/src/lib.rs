//! The cardiac twin: a closed-loop lumped (0D) circulation with four
//! time-varying-elastance chambers, systemic and pulmonary R–L–C
//! compartments and four nonlinear valves (Bernoulli loss, inertance and
//! opening/closing dynamics after Mynard et al. 2012), solved to periodic
//! steady state, with per-beat clinical indices.
//!
//! * [`params`]: the parameter set (healthy default after Regazzoni et al.
//!   2022), with units, ranges and sources.
//! * [`model`]: the state vector and right-hand side.
//! * [`solver`]: adaptive Dormand–Prince 5(4) integration with error control.
//! * [`beat`]: per-beat indices (volumes, pressures, gradients, regurgitation,
//!   work, elastances) and waveforms.
//! * [`simulate`]: run to periodic steady state.
//!
//! Equations and parameter sources: `docs/models/cardio.md`.

pub mod beat;
pub mod calibrate;
pub mod drugs;
pub mod follow;
pub mod interventions;
pub mod model;
pub mod params;
pub mod reflex;
pub mod simulate;
pub mod solver;
pub mod timeline;
pub mod validation;

pub use beat::{BeatIndices, Waveforms};
pub use calibrate::{Calibration, Targets, calibrate};
pub use interventions::{Dyssynchrony, Intervention, Lvad, Scenario};
pub use params::{Parameters, Spread};
pub use simulate::{SimOptions, Simulation, simulate};
pub use timeline::{Event, TimedEvent, Timeline, TimelineRun, TrendPoint};

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum CardioError {
    #[error("parameter `{name}` = {value} is outside {lo}..{hi} {unit}")]
    OutOfRange {
        name: &'static str,
        value: f64,
        lo: f64,
        hi: f64,
        unit: &'static str,
    },
    #[error("{0}")]
    Targets(String),
    #[error("the solver could not proceed at t = {t:.4} s (step {dt:.2e} s): {why}")]
    Solver { t: f64, dt: f64, why: &'static str },
    #[error(
        "no periodic steady state within {beats} beats (last beat-to-beat change {change:.2e})"
    )]
    NotPeriodic { beats: usize, change: f64 },
    #[error(
        "the circulation emptied at {t_min:.1} min: the veins hold no stressed volume after {lost_ml:.0} mL lost"
    )]
    Emptied { t_min: f64, lost_ml: f64 },
    #[error("{0}")]
    Spread(String),
    #[error(transparent)]
    Cancelled(#[from] twin_core::Cancelled),
}

/// `Ok` when `lo ≤ value ≤ hi`, else the error naming the field.
pub(crate) fn check_range(
    name: &'static str,
    value: f64,
    lo: f64,
    hi: f64,
    unit: &'static str,
) -> Result<(), CardioError> {
    if value >= lo && value <= hi {
        Ok(())
    } else {
        Err(CardioError::OutOfRange {
            name,
            value,
            lo,
            hi,
            unit,
        })
    }
}
