//! Locating the shared real-data folder (`../shared/data` beside the project, or `$TWIN_DATA`).
//!
//! Every test that reads real data goes through [`shared_data`] or [`require`]:
//! when the data is missing the test prints why and is skipped, unless
//! `TWIN_REQUIRE_DATA=1` is set (as CI does), in which case it fails.

use std::path::{Path, PathBuf};

/// Environment variable that points at the data folder explicitly.
pub const DATA_ENV: &str = "TWIN_DATA";
/// Environment variable that turns a missing data folder into a test failure.
pub const REQUIRE_ENV: &str = "TWIN_REQUIRE_DATA";

/// Finds the shared data folder: `$TWIN_DATA` when set, otherwise the first
/// `shared/data` found beside the working directory or one of its ancestors, or
/// beside the workspace this crate was built from.
#[must_use]
pub fn shared_data() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_ENV) {
        let dir = PathBuf::from(dir);
        return dir.is_dir().then_some(dir);
    }
    let mut starts: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    starts.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    for start in starts {
        for dir in start.ancestors() {
            let candidate = dir.join("shared").join("data");
            if candidate.is_dir() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Whether `TWIN_REQUIRE_DATA` asks for missing data to fail tests.
#[must_use]
pub fn data_required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Resolves `relative` inside the shared data folder for a test.
///
/// Returns `None` (after printing why) when the data is missing and not required,
/// so the caller can `return` and count as skipped.
///
/// # Panics
/// When the data is missing and `TWIN_REQUIRE_DATA=1` is set.
#[must_use]
pub fn require(relative: impl AsRef<Path>) -> Option<PathBuf> {
    let relative = relative.as_ref();
    let found = shared_data()
        .map(|d| d.join(relative))
        .filter(|p| p.exists());
    match found {
        Some(p) => Some(p),
        None if data_required() => panic!(
            "real test data `{}` not found (looked in ${DATA_ENV} and ../shared/data) \
             and {REQUIRE_ENV} is set",
            relative.display()
        ),
        None => {
            eprintln!(
                "SKIPPED: real test data `{}` not found (set ${DATA_ENV} or place shared/data \
                 beside the project); set {REQUIRE_ENV}=1 to make this a failure",
                relative.display()
            );
            None
        }
    }
}
