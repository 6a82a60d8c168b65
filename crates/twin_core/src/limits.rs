//! Limits on what outside input may make us allocate, checked before the
//! allocation (docs/ROBUSTNESS.md): the memory budget for decoded images
//! and volumes, and a size cap per kind of file for readers that read a
//! whole file at once.

use std::path::Path;

/// Environment variable that sets the memory budget in MiB.
pub const MEMORY_BUDGET_ENV: &str = "TWIN_MEMORY_BUDGET_MB";
/// The memory budget when [`MEMORY_BUDGET_ENV`] is not set: 4 GiB.
pub const DEFAULT_MEMORY_BUDGET: u64 = 4 << 30;

/// Text tables: `.mot`, `.sto`, `.trc`, CSV (a 10-minute, 1 kHz trial of
/// 200 columns is about 300 MB).
pub const MAX_TABLE_FILE: u64 = 1 << 30;
/// XML models and setup files (`.osim`, external loads, IK tasks, scale
/// settings, `.vtp` meshes): the largest OpenSim model in the kit is 0.5 MB.
pub const MAX_XML_FILE: u64 = 256 << 20;
/// Small JSON documents (prosthesis, scenario and reference files).
pub const MAX_JSON_FILE: u64 = 64 << 20;
/// Mesh files (STL, OBJ, PLY): 2 GiB is 40 million STL triangles.
pub const MAX_MESH_FILE: u64 = 2 << 30;
/// C3D motion capture files (read whole by c3dio).
pub const MAX_C3D_FILE: u64 = 1 << 30;

/// The memory budget in bytes: [`MEMORY_BUDGET_ENV`] (MiB) when it is set to
/// a positive number, else [`DEFAULT_MEMORY_BUDGET`].
#[must_use]
pub fn memory_budget() -> u64 {
    std::env::var(MEMORY_BUDGET_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&mib| mib > 0)
        .map_or(DEFAULT_MEMORY_BUDGET, |mib| mib.saturating_mul(1 << 20))
}

/// The size of `path` when it is at most `max` bytes; the error says why
/// not (the caller adds the path).
pub fn check_size(path: &Path, max: u64, kind: &str) -> Result<u64, String> {
    let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if size > max {
        return Err(format!(
            "{size} bytes is more than a {kind} may have here ({max} bytes); not read"
        ));
    }
    Ok(size)
}

/// Reads `path` as UTF-8 text after [`check_size`].
pub fn read_text(path: &Path, max: u64, kind: &str) -> Result<String, String> {
    check_size(path, max, kind)?;
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}

/// Runs a third-party parser on outside input and turns a panic into an
/// error: a bug in a dependency (two found by fuzzing, docs/ROBUSTNESS.md)
/// must make a file unreadable, never end the program. The panic message
/// (from the default hook on stderr) is kept in the error.
pub fn contain_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let why = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        format!("the reader failed on this file (a bug in the parser: {why})")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_files_are_refused_before_reading() {
        let dir = std::env::temp_dir().join(format!("twin-limits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("table.mot");
        std::fs::write(&path, "0123456789").unwrap();
        assert_eq!(read_text(&path, 10, "motion table").unwrap(), "0123456789");
        let e = read_text(&path, 9, "motion table").unwrap_err();
        assert!(e.contains("10 bytes") && e.contains("motion table"), "{e}");
        assert!(read_text(&dir.join("missing"), 9, "table").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_parser_panic_becomes_an_error() {
        let r: Result<u8, String> = contain_panic(|| {
            let v: Vec<u8> = Vec::new();
            v[3]
        });
        let e = r.unwrap_err();
        assert!(e.contains("index out of bounds"), "{e}");
        assert_eq!(contain_panic(|| 7), Ok(7));
    }

    #[test]
    fn the_budget_defaults_to_4_gib() {
        // The variable is not set in the test environment (CI sets none).
        if std::env::var_os(MEMORY_BUDGET_ENV).is_none() {
            assert_eq!(memory_budget(), 4 << 30);
        }
    }
}
