//! Gait analysis without Bevy: motion data, OpenSim models, kinematics and
//! inverse dynamics.
//!
//! * [`storage`]: OpenSim `.sto`/`.mot` tables, read and written.
//! * [`trc`]: marker trajectories (`.trc`).
//! * [`c3d`]: C3D trials — markers, analog channels and force plates
//!   (types 1–4) turned into ground reaction force, centre of pressure and
//!   free moment in the lab frame.
//! * [`gait`]: gait events, strides and curves over the gait cycle.
//! * [`normative`]: reference (normal database) curves, read, written,
//!   built from trials, and the Gait Variable / Profile Scores.

pub mod c3d;
pub mod dynamics;
pub mod filter;
pub mod forward;
pub mod function;
pub mod gait;
pub mod ik;
pub mod loads;
pub mod metabolics;
pub mod model;
pub mod muscle;
pub mod normative;
pub mod optimization;
pub mod predict;
pub mod prosthesis;
pub mod scale;
pub mod storage;
pub mod trc;
pub mod whatif;

use std::path::{Path, PathBuf};

pub use c3d::{C3dTrial, PlateRecord};
pub use model::Model;
pub use storage::Table;
pub use trc::Markers;

/// Errors of the gait crate; every one names the file (and the line or
/// element) when there is one.
#[derive(Debug, thiserror::Error)]
pub enum MskError {
    #[error("{}: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("{}{message}", file.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Format {
        file: Option<PathBuf>,
        message: String,
    },
    #[error("{0}")]
    Cancelled(#[from] twin_core::Cancelled),
}

impl MskError {
    pub(crate) fn io(path: &Path, e: &dyn std::fmt::Display) -> Self {
        Self::Io {
            path: path.to_owned(),
            message: e.to_string(),
        }
    }

    pub(crate) fn format(message: impl Into<String>) -> Self {
        Self::Format {
            file: None,
            message: message.into(),
        }
    }

    /// The same error, naming `path` when it did not name a file yet.
    #[must_use]
    pub fn in_file(self, path: &Path) -> Self {
        match self {
            Self::Format {
                file: None,
                message,
            } => Self::Format {
                file: Some(path.to_owned()),
                message,
            },
            other => other,
        }
    }
}
