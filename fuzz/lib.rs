//! Helpers shared by the fuzz targets: the readers under test take file
//! paths (as the app and the CLI do), so each input is written to a scratch
//! file first (put TMPDIR on a tmpfs for speed).

use std::path::PathBuf;

/// A per-process scratch folder.
#[must_use]
pub fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("twin-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// Writes `data` to `name` in the scratch folder and returns its path.
#[must_use]
pub fn write(name: &str, data: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    std::fs::write(&path, data).expect("scratch file");
    path
}

/// Every reader's error must name its file; a message that does not is a
/// finding (the fuzzer stops on the panic).
pub fn names_file(error: &str, path: &std::path::Path) {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    assert!(
        error.contains(name.as_ref()),
        "the error does not name the file `{name}`: {error}"
    );
}

/// libfuzzer-sys aborts on every panic, even one our readers contain (a
/// panic in a third-party parser becomes an error, `twin_core::limits::
/// contain_panic`). This puts the default hook back: a contained panic is
/// then what it is in the app, an error; one that escapes still aborts
/// (libfuzzer-sys aborts when the target unwinds).
pub fn contained_panics_are_errors() {
    drop(std::panic::take_hook());
}
