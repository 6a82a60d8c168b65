//! Progress reporting and cooperative cancellation for background work.
//!
//! A [`Progress`] is cheap to clone (it is an `Arc`); the worker calls
//! [`Progress::set_total`], [`Progress::advance`] and checks
//! [`Progress::check_cancelled`] between units of work, while the UI thread reads
//! [`Progress::fraction`] and may call [`Progress::cancel`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Error returned by work that stopped because the user cancelled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cancelled by the user")
    }
}

impl std::error::Error for Cancelled {}

#[derive(Default)]
struct Inner {
    done: AtomicU64,
    total: AtomicU64,
    cancelled: AtomicBool,
    stage: Mutex<String>,
}

/// Shared progress counter and cancel flag.
#[derive(Clone, Default)]
pub struct Progress(Arc<Inner>);

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress")
            .field("done", &self.done())
            .field("total", &self.total())
            .field("cancelled", &self.is_cancelled())
            .field("stage", &self.stage())
            .finish()
    }
}

impl Progress {
    /// A fresh counter at 0 of 0, not cancelled.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a named stage with `total` units of work (resets the done count).
    pub fn begin(&self, stage: &str, total: u64) {
        if let Ok(mut s) = self.0.stage.lock() {
            stage.clone_into(&mut s);
        }
        self.0.done.store(0, Ordering::Relaxed);
        self.0.total.store(total, Ordering::Relaxed);
    }

    /// Renames the current stage, keeping its counts (a stage of several
    /// steps saying which one runs).
    pub fn set_stage(&self, stage: &str) {
        if let Ok(mut s) = self.0.stage.lock() {
            stage.clone_into(&mut s);
        }
    }

    /// Sets the number of units of work of the current stage.
    pub fn set_total(&self, total: u64) {
        self.0.total.store(total, Ordering::Relaxed);
    }

    /// Marks `n` more units of work as done.
    pub fn advance(&self, n: u64) {
        self.0.done.fetch_add(n, Ordering::Relaxed);
    }

    /// Units done in the current stage.
    #[must_use]
    pub fn done(&self) -> u64 {
        self.0.done.load(Ordering::Relaxed)
    }

    /// Units in the current stage.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.0.total.load(Ordering::Relaxed)
    }

    /// Name of the current stage ("" before the first [`Progress::begin`]).
    #[must_use]
    pub fn stage(&self) -> String {
        self.0.stage.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Fraction done in `0.0..=1.0` (0 when the total is unknown).
    #[must_use]
    pub fn fraction(&self) -> f32 {
        let total = self.total();
        if total == 0 {
            0.0
        } else {
            (self.done() as f64 / total as f64).clamp(0.0, 1.0) as f32
        }
    }

    /// Asks the worker to stop at its next check.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether [`Progress::cancel`] was called.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once cancellation was requested; call between units of work.
    pub fn check_cancelled(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_cancels_across_threads() {
        let p = Progress::new();
        p.begin("decode", 100);
        let worker = {
            let p = p.clone();
            std::thread::spawn(move || {
                for _ in 0..40 {
                    p.advance(1);
                }
            })
        };
        worker.join().unwrap();
        assert_eq!(p.done(), 40);
        assert!((p.fraction() - 0.4).abs() < 1e-6);
        assert_eq!(p.stage(), "decode");
        // Renamed: the counts stay.
        p.set_stage("decode: part 2");
        assert_eq!(
            (p.stage().as_str(), p.done(), p.total()),
            ("decode: part 2", 40, 100)
        );
        assert!(p.check_cancelled().is_ok());
        p.cancel();
        assert_eq!(p.check_cancelled(), Err(Cancelled));
    }

    #[test]
    fn unknown_total_is_zero_fraction() {
        let p = Progress::new();
        p.advance(5);
        assert!(p.fraction().abs() < f32::EPSILON);
    }
}
