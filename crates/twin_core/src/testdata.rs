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
    let mut starts: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    starts.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    locate(std::env::var_os(DATA_ENV).map(PathBuf::from), &starts)
}

/// The search behind [`shared_data`]: an explicit folder wins (and must exist);
/// otherwise the first `shared/data` in the ancestors of each start folder.
#[must_use]
pub fn locate(explicit: Option<PathBuf>, starts: &[PathBuf]) -> Option<PathBuf> {
    if let Some(dir) = explicit {
        return dir.is_dir().then_some(dir);
    }
    starts.iter().find_map(|start| {
        start
            .ancestors()
            .map(|dir| dir.join("shared").join("data"))
            .find(|candidate| candidate.is_dir())
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_shared_data_beside_an_ancestor_and_honours_the_override() {
        let root = std::env::temp_dir().join(format!("twin-testdata-{}", std::process::id()));
        let data = root.join("shared").join("data");
        let project = root.join("project").join("crates").join("x");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir_all(&project).unwrap();
        assert_eq!(
            locate(None, std::slice::from_ref(&project)),
            Some(data.clone())
        );
        // An explicit folder wins; a missing explicit folder is "not found", not a fallback.
        assert_eq!(
            locate(Some(project.clone()), std::slice::from_ref(&project)),
            Some(project.clone())
        );
        assert_eq!(
            locate(Some(root.join("missing")), std::slice::from_ref(&project)),
            None
        );
        assert_eq!(locate(None, &[std::path::PathBuf::from("/")]), None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
