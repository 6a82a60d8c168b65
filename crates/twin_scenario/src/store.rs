//! Saving twins so that no crash loses them.
//!
//! [`save`] writes the whole document to a temporary file beside the
//! target, flushes it to disk (`fsync`), renames it over the target (atomic
//! on one file system) and flushes the folder, so the target is always
//! either the previous document or the new one, whole. Autosave writes the
//! same way to a [`Recovery`] file outside the user's folders; on the next
//! start a recovery file newer than its document is offered, and cleared
//! once the user saved or declined.

use std::path::{Path, PathBuf};

use crate::{TwinDocument, TwinError};

/// Writes `doc` to `path` atomically (see the module documentation).
///
/// # Errors
/// The folder cannot be written, or the disk is full; `path` then still
/// holds what it held before.
pub fn save(doc: &TwinDocument, path: &Path) -> Result<(), TwinError> {
    write_atomically(path, doc.to_text().as_bytes())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), TwinError> {
    if path.file_name().is_none() {
        return Err(TwinError::format(path, "not a file name"));
    }
    twin_core::paths::write_atomically(path, bytes).map_err(|e| TwinError::io(path, &e))
}

/// The autosave file of one document, in a folder of Twinscope's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub path: PathBuf,
}

impl Recovery {
    /// The recovery file for the document at `document` (or for an unsaved
    /// one called `name`) inside `folder` (e.g. `~/.cache/twinscope/recovery`).
    #[must_use]
    pub fn for_document(folder: &Path, document: Option<&Path>, name: &str) -> Self {
        // A stable file name from the document's path: the same document
        // finds its recovery file again, two documents never share one.
        let key = document.map_or_else(|| format!("unsaved {name}"), |p| p.display().to_string());
        let hash = twin_core::civil::fnv1a(key.as_bytes());
        Self {
            path: folder.join(format!("{hash:016x}.twin.json")),
        }
    }

    /// Autosaves `doc` (atomically, creating the folder).
    ///
    /// # Errors
    /// The folder cannot be made or written.
    pub fn write(&self, doc: &TwinDocument) -> Result<(), TwinError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| TwinError::io(dir, &e))?;
        }
        save(doc, &self.path)
    }

    /// The autosaved document, when there is one newer than `document`'s
    /// file (or any, for an unsaved document).
    ///
    /// # Errors
    /// The recovery file exists but cannot be read as a twin.
    pub fn pending(&self, document: Option<&Path>) -> Result<Option<TwinDocument>, TwinError> {
        let Ok(meta) = std::fs::metadata(&self.path) else {
            return Ok(None);
        };
        let newer = match document.and_then(|d| std::fs::metadata(d).ok()) {
            Some(doc) => match (meta.modified(), doc.modified()) {
                (Ok(a), Ok(b)) => a > b,
                _ => true,
            },
            None => true,
        };
        if !newer {
            return Ok(None);
        }
        TwinDocument::read(&self.path).map(|(d, _)| Some(d))
    }

    /// Removes the recovery file (after a save, or when the user declines).
    pub fn clear(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Variant;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("twin-store-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A document big enough that writing it takes a while (a wide window
    /// for the kill below), numbered `k`.
    fn numbered(k: u64) -> TwinDocument {
        let mut doc = TwinDocument::new(&format!("save {k}"));
        for i in 0..400 {
            doc.variants.push(Variant {
                name: format!("variant {i}"),
                description: "x".repeat(200),
                results: [("k".to_owned(), k as f64)].into(),
                ..Variant::default()
            });
        }
        doc
    }

    #[test]
    fn save_replaces_the_file_whole_and_leaves_no_temporary() {
        let dir = scratch("save");
        let path = dir.join("p.twin.json");
        save(&numbered(1), &path).unwrap();
        save(&numbered(2), &path).unwrap();
        let (doc, _) = TwinDocument::read(&path).unwrap();
        assert_eq!(doc.name, "save 2");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // Into a folder that does not exist: an error naming the file.
        let e = save(&numbered(3), &dir.join("missing/p.twin.json")).unwrap_err();
        assert!(e.to_string().contains("missing/p.twin.json"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn recovery_is_offered_when_newer_than_the_document() {
        let dir = scratch("recovery");
        let doc_path = dir.join("p.twin.json");
        save(&numbered(1), &doc_path).unwrap();
        let r = Recovery::for_document(&dir.join("recovery"), Some(&doc_path), "p");
        assert_ne!(r, Recovery::for_document(&dir.join("recovery"), None, "p"));
        assert!(r.pending(Some(&doc_path)).unwrap().is_none());
        std::thread::sleep(std::time::Duration::from_millis(20));
        r.write(&numbered(2)).unwrap();
        let pending = r.pending(Some(&doc_path)).unwrap().unwrap();
        assert_eq!(pending.name, "save 2");
        // Saved after the autosave: nothing to offer.
        std::thread::sleep(std::time::Duration::from_millis(20));
        save(&pending, &doc_path).unwrap();
        assert!(r.pending(Some(&doc_path)).unwrap().is_none());
        r.clear();
        assert!(!r.path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Kills a process in the middle of saving, again and again: the file
    /// always reads as a whole document, the last or an earlier save.
    #[test]
    fn a_kill_during_save_never_leaves_a_broken_file() {
        const LOOP: &str = "TWIN_SAVE_LOOP";
        if let Ok(path) = std::env::var(LOOP) {
            // The child: save numbered documents until killed.
            let path = PathBuf::from(path);
            for k in 2.. {
                save(&numbered(k), &path).unwrap();
            }
            return;
        }
        let dir = scratch("kill");
        let path = dir.join("p.twin.json");
        save(&numbered(1), &path).unwrap();
        let exe = std::env::current_exe().unwrap();
        let mut saved_rounds = 0;
        for round in 0..12u64 {
            save(&numbered(1), &path).unwrap();
            let mut child = std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "store::tests::a_kill_during_save_never_leaves_a_broken_file",
                    "--nocapture",
                ])
                .env(LOOP, &path)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(40 + 17 * round));
            child.kill().unwrap();
            child.wait().unwrap();
            let (doc, _) = TwinDocument::read(&path)
                .unwrap_or_else(|e| panic!("round {round}: the file does not read: {e}"));
            assert_eq!(doc.variants.len(), 400, "round {round}");
            if doc.variants[0].results["k"] >= 2.0 {
                saved_rounds += 1;
            }
        }
        eprintln!(
            "kill during save: the child had saved in {saved_rounds} of 12 rounds; the file read whole every time"
        );
        // The child did save in most rounds (so the kills fell among its
        // saves, not all before the first one).
        assert!(
            saved_rounds >= 3,
            "the child saved in only {saved_rounds} rounds"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
