//! Targets → the twin's calibrated circulation: the fit from the healthy
//! default, kept in the twin with its targets, their source, the residuals,
//! the date and the software (app and CLI alike).

use twin_cardio::{Calibration, Parameters, Targets, calibrate};
use twin_core::Progress;
use twin_scenario::TwinDocument;
use twin_scenario::document::CardioModel;

use crate::SessionError;

/// Fits the circulation to `targets`; `source` says where they came from.
///
/// # Errors
/// A target is out of range (named) or the fit is cancelled.
pub fn fit(
    targets: Targets,
    source: &str,
    progress: &Progress,
) -> Result<(CardioModel, Calibration), SessionError> {
    let c = calibrate(&Parameters::default(), &targets, progress)?;
    Ok((CardioModel::fitted(targets, &c, source.to_owned()), c))
}

/// A line about a fit: its time, largest residual and warnings.
#[must_use]
pub fn summary(c: &Calibration) -> String {
    let worst = c
        .residuals
        .iter()
        .map(|r| r.error_percent.abs())
        .fold(0.0, f64::max);
    let mut status = format!("fitted in {:.2} s, largest error {worst:.2} %", c.seconds);
    for w in &c.warnings {
        status.push_str("; ");
        status.push_str(w);
    }
    status
}

/// Fits the twin's circulation to `targets` and keeps it in `doc`.
///
/// # Errors
/// As [`fit`].
pub fn calibrate_twin(
    doc: &mut TwinDocument,
    targets: Targets,
    source: &str,
    progress: &Progress,
) -> Result<Calibration, SessionError> {
    let (model, c) = fit(targets, source, progress)?;
    doc.cardio = Some(model);
    doc.touch();
    Ok(c)
}
