//! Guarding the user's input folders: Twinscope never writes into them;
//! and Twinscope's own folders (state, configuration).

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` so that it always holds either what it held
/// before or the new content, whole: a temporary file beside it, flushed to
/// disk, renamed over it (atomic on one file system), then the folder
/// flushed. The temporary file is removed when anything fails.
///
/// # Errors
/// The folder cannot be written, or the disk is full.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // The rename itself is on disk once the folder is flushed (not every
        // platform lets a folder be opened for that; then the rename is
        // still atomic, only its durability waits for the system).
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// One of Twinscope's own folders: `$env_var` when set, else
/// `$xdg_var/twinscope`, else `~/home_rel/twinscope` (the XDG base
/// directories: `XDG_STATE_HOME` / `.local/state`, `XDG_CONFIG_HOME` /
/// `.config`).
#[must_use]
pub fn user_dir(env_var: &str, xdg_var: &str, home_rel: &str) -> PathBuf {
    if let Some(d) = std::env::var_os(env_var) {
        return d.into();
    }
    if let Some(d) = std::env::var_os(xdg_var) {
        return PathBuf::from(d).join("twinscope");
    }
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join(home_rel).join("twinscope")
}

/// Checks that `output` (a file to be written) lies outside the folder (or
/// file) `input` the user opened; the error says which and why.
pub fn ensure_outside(input: &Path, output: &Path) -> Result<(), String> {
    let input = input
        .canonicalize()
        .map_err(|e| format!("cannot read `{}`: {e}", input.display()))?;
    let input = if input.is_file() {
        input.parent().map_or(input.clone(), Path::to_path_buf)
    } else {
        input
    };
    let parent = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let parent = parent
        .canonicalize()
        .map_err(|e| format!("output folder `{}` does not exist: {e}", parent.display()))?;
    if parent.starts_with(&input) {
        return Err(format!(
            "refusing to write `{}` inside the input study `{}`; choose an output outside it",
            output.display(),
            input.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_is_refused_and_outside_allowed() {
        let base = std::env::temp_dir().join(format!("twin-paths-{}", std::process::id()));
        let study = base.join("study");
        std::fs::create_dir_all(study.join("sub")).unwrap();
        let err = ensure_outside(&study, &study.join("sub/out.stl")).unwrap_err();
        assert!(err.contains("inside the input study"), "{err}");
        assert!(ensure_outside(&study, &base.join("out.stl")).is_ok());
        let missing = ensure_outside(&study, &base.join("nope/out.stl")).unwrap_err();
        assert!(missing.contains("does not exist"), "{missing}");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
