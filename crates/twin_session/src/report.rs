//! The twin's report assembled and written: the variants run against the
//! baseline (or their runs taken from the session when it has them all),
//! the HTML of `twin_scenario::report` with the app's extras, and the CSV
//! of the waveforms beside it. `twin report` and the app's Export report
//! both come here.

use std::path::{Path, PathBuf};

use twin_core::Progress;
use twin_scenario::TwinDocument;
use twin_scenario::report::{ReportExtras, ReportOptions, html_with, waveforms_csv};
use twin_scenario::runs::{CardioRun, GaitRuns};

use crate::SessionError;

/// A report made: its HTML and CSV, and how many cardiac variants it
/// compares with the baseline.
pub struct Report {
    pub html: String,
    pub csv: String,
    pub variants: usize,
}

/// The runs a report shows: the cardiac baseline and variants, and the
/// gait runs when the twin has prosthesis variants.
pub struct ReportRuns {
    pub baseline: CardioRun,
    pub cardio: Vec<CardioRun>,
    pub gait: Option<GaitRuns>,
}

impl ReportRuns {
    /// Runs every variant of `doc` now.
    ///
    /// # Errors
    /// A run fails (the message names the variant or the file).
    pub fn run(doc: &TwinDocument, progress: &Progress) -> Result<Self, SessionError> {
        let gait = crate::runs::run_gait(doc, progress)?;
        Self::with_gait(doc, gait, progress)
    }

    /// Runs the cardiac variants of `doc` now, with gait runs already made
    /// (the app's).
    ///
    /// # Errors
    /// A cardiac run fails (the message names the variant).
    pub fn with_gait(
        doc: &TwinDocument,
        gait: Option<GaitRuns>,
        progress: &Progress,
    ) -> Result<Self, SessionError> {
        let (baseline, cardio) = crate::runs::run_cardio(doc, progress)?;
        Ok(Self {
            baseline,
            cardio,
            gait,
        })
    }
}

/// The report of `doc` over `runs`; `extras` adds the app's 3D view and
/// gait text (their `gait_runs` is taken from `runs`).
#[must_use]
pub fn assemble(
    doc: &TwinDocument,
    runs: &ReportRuns,
    options: ReportOptions,
    extras: &ReportExtras<'_>,
) -> Report {
    let extras = ReportExtras {
        gait_runs: runs.gait.as_ref(),
        ..*extras
    };
    Report {
        html: html_with(doc, &runs.baseline, &runs.cardio, options, &extras),
        csv: waveforms_csv(&runs.baseline, &runs.cardio),
        variants: runs.cardio.len(),
    }
}

/// Where the CSV of a report at `html` goes by default: beside it.
#[must_use]
pub fn csv_beside(html: &Path) -> PathBuf {
    html.with_extension("csv")
}

/// Writes `report` to `html` and its CSV to `csv` (when given).
///
/// # Errors
/// A file cannot be written (named).
pub fn write(report: &Report, html: &Path, csv: Option<&Path>) -> Result<(), SessionError> {
    let put = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|source| SessionError::Write {
            path: path.to_owned(),
            source,
        })
    };
    put(html, &report.html)?;
    if let Some(csv) = csv {
        put(csv, &report.csv)?;
    }
    Ok(())
}
