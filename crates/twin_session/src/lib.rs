//! The patient twin as a running session, shared by the app and the `twin`
//! CLI (no Bevy, no egui): each piece of the twin's logic lives here once.
//!
//! * [`session`]: the open twin ([`Session`]): document, file, selection,
//!   privacy, undo/redo of every edit, the scenario-list actions;
//! * [`scenarios`]: scenario files and the bundled presets read into
//!   variants through the twin document's one reader (with its migration);
//! * [`runs`]: the variants run against the baseline, all at once
//!   ([`runs::run_cardio`], [`runs::run_gait`]) or each as its own keyed job
//!   so that only what changed reruns ([`runs::VariantRuns`]);
//! * [`jobs`]: jobs on the one job system and runs by key;
//! * [`gait`]: the gait-trial pipeline (read, IK when markers, ID, strides,
//!   curves over the cycle, Gait Variable Scores per side);
//! * [`segments`]: segment recipes (threshold or seeded growth → mask →
//!   surface), for new segments and for rebuilding a reopened twin;
//! * [`cine`]: the cine's LV volume curve → calibration targets;
//! * [`ep`]: the ventricles' activation (`twin_ep`) under a rhythm,
//!   driving their contraction in the circulation;
//! * [`calibration`]: targets → the twin's calibrated circulation;
//! * [`report`]: the report assembled and written (HTML and CSV).

pub mod calibration;
pub mod cine;
pub mod ep;
pub mod gait;
pub mod history;
pub mod jobs;
pub mod predict;
pub mod report;
pub mod runs;
pub mod scenarios;
pub mod segments;
pub mod session;

pub use history::History;
pub use session::{ScenarioAction, Session, Snapshot};

/// What can go wrong in a session; each message names the file, field or
/// variant.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Twin(#[from] twin_scenario::TwinError),
    #[error(transparent)]
    Msk(#[from] twin_msk::MskError),
    #[error(transparent)]
    Cardio(#[from] twin_cardio::CardioError),
    #[error(transparent)]
    Mesh(#[from] twin_mesh::MeshError),
    #[error(transparent)]
    Segment(#[from] twin_mesh::segment::SegmentError),
    #[error(transparent)]
    Ep(#[from] twin_ep::EpError),
    /// Bad input: what it is (a file, a field, an option) and why.
    #[error("{what}: {why}")]
    Input { what: String, why: String },
    /// A run failed; the message names the baseline or the variant.
    #[error("{0}")]
    Run(String),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl SessionError {
    pub(crate) fn input(what: impl Into<String>, why: impl ToString) -> Self {
        Self::Input {
            what: what.into(),
            why: why.to_string(),
        }
    }
}
