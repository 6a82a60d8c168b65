//! Shared plumbing for the Twinscope engine crates.
//!
//! * [`progress`]: a thread-safe progress counter with a cancel flag, handed to
//!   long-running library functions (loading, meshing, simulation) so that a UI
//!   or CLI can show progress and stop them.
//! * [`jobs`]: the one job system for heavy work (queue, workers, progress,
//!   ETA, cancel, error notices).
//! * [`civil`]: calendar dates from day counts, and a stable name hash.
//! * [`limits`]: the memory budget and the size caps of files read whole.
//! * [`paths`]: the guard that keeps outputs out of the user's input folders.
//! * [`testdata`]: the one place that finds the shared real-data folder for tests.
//!
//! This crate has no dependencies and knows nothing about imaging, meshes or UI.

pub mod civil;
pub mod dopri;
pub mod jobs;
pub mod limits;
pub mod paths;
pub mod progress;
pub mod rng;
pub mod testdata;

pub use progress::{Cancelled, Progress};
