//! The patient twin: one document that holds everything Twinscope derived
//! from a patient's images and trials — a reference to the study (path and
//! UIDs, never pixel data), the segments and their meshes, the calibrated
//! models with their provenance, and the what-if variants (a baseline plus
//! interventions, cardiac and gait) with their result summaries.
//!
//! * [`document`]: the schema (format `twinscope-twin`, version
//!   [`document::VERSION`]), reading with migration of older files (a bare
//!   scenario file of `examples/scenarios/` opens as a twin with one
//!   variant) and refusal of newer ones, and checks that name the field.
//! * [`store`]: atomic save (temporary file, fsync, rename, fsync of the
//!   folder), and the recovery file that autosave writes and the next start
//!   offers.
//! * [`runs`]: the what-if runs of the variants against the baseline.
//! * [`report`]: the self-contained HTML report (privacy mode hides the
//!   identity) and the waveforms as CSV.
//!
//! The format is documented in `docs/twin-format.md`.

pub mod document;
pub mod report;
pub mod runs;
pub mod store;
pub mod tuning;

pub use document::{TwinDocument, Variant};

use std::path::{Path, PathBuf};

/// Errors of the twin document; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum TwinError {
    #[error("{}: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Format { path: PathBuf, message: String },
}

impl TwinError {
    pub(crate) fn io(path: &Path, e: &dyn std::fmt::Display) -> Self {
        Self::Io {
            path: path.to_owned(),
            message: e.to_string(),
        }
    }

    pub(crate) fn format(path: &Path, message: impl Into<String>) -> Self {
        Self::Format {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}
