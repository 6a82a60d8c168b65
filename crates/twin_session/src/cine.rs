//! The cine's LV volume curve → calibration targets: the LV cavity in every
//! phase by the learned network (`twin_mesh::cine_net`, the expert's
//! convention; a seed picks the LV), its end-diastolic and end-systolic volumes,
//! the heart rate from the phases' trigger times (they span one beat), and
//! a line saying where the numbers came from (the calibration keeps it as
//! its provenance).

use twin_cardio::Targets;
use twin_core::Progress;
use twin_mesh::Grid;
use twin_mesh::cine::LvCurve;
use twin_mesh::cine::quality_flags;
use twin_mesh::cine_net::{Convention, lv_cavity};

use crate::SessionError;

/// What a cine gives the calibration.
#[derive(Debug, Clone)]
pub struct CineTargets {
    pub curve: LvCurve,
    /// From the phases' times, when they give a plausible rate (30–180/min).
    pub heart_rate_bpm: Option<f64>,
    /// Implausible results by name (EF out of range, a phase without a
    /// cavity, a jump between phases, a cavity at the image edge); they are
    /// also in `source`, so the calibration records them.
    pub quality_flags: Vec<String>,
    /// e.g. `LV curve of series 5.1: EDV 142.7 mL (phase 0), …`.
    pub source: String,
}

impl CineTargets {
    /// `targets` with the cine's volumes (and heart rate, when known); the
    /// pressures are kept.
    #[must_use]
    pub fn applied_to(&self, mut targets: Targets) -> Targets {
        targets.lv_edv_ml = self.curve.edv_ml;
        targets.lv_esv_ml = self.curve.esv_ml;
        if let Some(hr) = self.heart_rate_bpm {
            targets.heart_rate_bpm = hr;
        }
        targets
    }
}

/// The heart rate of a cine whose phases, at `times_ms` after the trigger,
/// span one beat: the RR interval is the last time plus one phase step.
#[must_use]
pub fn heart_rate(times_ms: &[f64]) -> Option<f64> {
    let n = times_ms.len();
    if n < 2 {
        return None;
    }
    let step = times_ms[n - 1] - times_ms[n - 2];
    let hr = 60_000.0 / (times_ms[n - 1] + step);
    (hr.is_finite() && (30.0..=180.0).contains(&hr)).then_some(hr)
}

/// The LV volume curve of the cine `phases` (trigger times `times_ms`),
/// the LV picked by `seed` (patient mm, LPS) or found when `None`, and the
/// targets it gives, by `convention`; `label` names the cine in the
/// provenance line.
///
/// # Errors
/// The seed is outside the cine (named with its position), or it is
/// cancelled.
pub fn lv_targets(
    phases: &[Grid<'_>],
    times_ms: &[f64],
    seed: Option<[f64; 3]>,
    convention: Convention,
    label: &str,
    progress: &Progress,
) -> Result<CineTargets, SessionError> {
    let lv = lv_cavity(phases, seed, progress).map_err(|e| {
        let at = seed.map_or("the LV found in the cine".to_string(), |s| {
            format!(
                "LV seed at {:.1}, {:.1}, {:.1} mm (patient, LPS)",
                s[0], s[1], s[2]
            )
        });
        SessionError::input(at, e)
    })?;
    let (pool, _) = lv.by(convention);
    let flags = quality_flags(&pool);
    let c = pool.curve;
    let mut source = format!(
        "LV curve of {label} (learned {}): EDV {:.1} mL (phase {}), ESV {:.1} mL (phase {}), EF {:.1} %",
        convention.label(),
        c.edv_ml,
        c.ed_phase,
        c.esv_ml,
        c.es_phase,
        c.ef_percent
    );
    if !flags.is_empty() {
        source.push_str("; QUALITY: ");
        source.push_str(&flags.join("; "));
    }
    Ok(CineTargets {
        curve: c,
        heart_rate_bpm: heart_rate(times_ms),
        quality_flags: flags,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heart_rate_comes_from_the_phase_times() {
        // 20 phases 40 ms apart: RR = 760 + 40 = 800 ms, 75/min.
        let times: Vec<f64> = (0..20).map(|i| f64::from(i) * 40.0).collect();
        assert!((heart_rate(&times).unwrap() - 75.0).abs() < 1e-9);
        assert_eq!(heart_rate(&[0.0]), None);
        // 10 ms phases make 600/min: not a heart rate.
        assert_eq!(heart_rate(&[0.0, 10.0, 20.0]), None);
    }
}
