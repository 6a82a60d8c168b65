//! The open twin: its document, file, selection, privacy and undo history,
//! and every edit of its scenario list. The app keeps the segment list in
//! its snapshots too (`X`); the CLI and the tests keep nothing more (`()`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use twin_cardio::Intervention;
use twin_scenario::report::pseudonym;
use twin_scenario::{TwinDocument, Variant, store};

use crate::SessionError;
use crate::history::History;

/// The name of a twin made here before it is named: the patient's once a
/// study is open.
pub const UNTITLED: &str = "Untitled twin";

/// What undo keeps: the twin and whatever else the owner edits with it.
#[derive(Debug, Clone)]
pub struct Snapshot<X> {
    pub doc: TwinDocument,
    pub extra: X,
}

/// What the user asked of the scenario list.
#[derive(Debug, Clone, PartialEq)]
pub enum ScenarioAction {
    Select(Option<usize>),
    /// A new variant with these cardiac interventions.
    Add(String, Vec<Intervention>),
    /// A predicted walk kept as a new variant (with its device, if any).
    AddPredicted {
        name: String,
        prosthesis: Option<Box<twin_msk::prosthesis::Prosthesis>>,
        predicted: Box<twin_scenario::document::PredictedGait>,
    },
    Duplicate(usize),
    Rename(usize, String),
    Delete(usize),
    Undo,
    Redo,
}

/// The open twin.
#[derive(Debug, Clone)]
pub struct Session<X = ()> {
    pub doc: TwinDocument,
    /// Where it was last saved or opened from.
    pub path: Option<PathBuf>,
    /// The variant shown against the baseline (`None`: the baseline).
    pub selected: Option<usize>,
    /// Changed since it was saved.
    pub dirty: bool,
    pub privacy: bool,
    /// The baseline's result summary (metric → value), once run.
    pub baseline_results: BTreeMap<String, f64>,
    pub history: History<Snapshot<X>>,
}

impl<X: Clone> Default for Session<X> {
    fn default() -> Self {
        Self::new(TwinDocument::new(UNTITLED), None)
    }
}

impl<X: Clone> Session<X> {
    #[must_use]
    pub fn new(doc: TwinDocument, path: Option<PathBuf>) -> Self {
        Self {
            doc,
            path,
            selected: None,
            dirty: false,
            privacy: false,
            baseline_results: BTreeMap::new(),
            history: History::default(),
        }
    }

    /// Reads a twin file (a scenario file opens as a one-variant twin; an
    /// older twin is migrated, a newer one refused) with its notes.
    ///
    /// # Errors
    /// The file cannot be read or is not a twin (named).
    pub fn open(path: &Path) -> Result<(Self, Vec<String>), SessionError> {
        let (doc, notes) = TwinDocument::read(path)?;
        Ok((Self::new(doc, Some(path.to_owned())), notes))
    }

    /// Makes `doc` (from `path`) the open twin: privacy mode stays, the undo
    /// history starts afresh.
    pub fn replace(&mut self, doc: TwinDocument, path: Option<PathBuf>) {
        let privacy = self.privacy;
        *self = Self::new(doc, path);
        self.privacy = privacy;
    }

    /// Saves the twin to `path` atomically (with this software's name); it
    /// becomes the twin's file and is no longer dirty.
    ///
    /// # Errors
    /// The file cannot be written (named).
    pub fn save(&mut self, path: &Path) -> Result<(), SessionError> {
        store::save(&self.for_saving(), path)?;
        self.saved(path);
        Ok(())
    }

    /// The document as saved (for a save in the background).
    #[must_use]
    pub fn for_saving(&self) -> TwinDocument {
        let mut doc = self.doc.clone();
        doc.software = twin_scenario::document::software();
        doc
    }

    /// The twin was saved to `path`.
    pub fn saved(&mut self, path: &Path) {
        self.path = Some(path.to_owned());
        self.dirty = false;
    }

    /// Marks the twin changed.
    pub fn changed(&mut self) {
        self.dirty = true;
        self.doc.touch();
    }

    /// Records the state before an edit called `label` (the document as it
    /// is now, and `extra` as it was) and marks the twin changed.
    pub fn record(&mut self, label: &str, extra: X) {
        self.history.record(
            label,
            Snapshot {
                doc: self.doc.clone(),
                extra,
            },
        );
        self.changed();
    }

    /// Carries out an edit of the scenario list with undo (`extra`: the rest
    /// of the state now). Returns the edit's label when the document
    /// changed, or what was undone or redone.
    pub fn act(&mut self, action: &ScenarioAction, extra: &mut X) -> Option<String> {
        match action {
            ScenarioAction::Undo => self.undo(extra),
            ScenarioAction::Redo => self.redo(extra),
            a => {
                let before = Snapshot {
                    doc: self.doc.clone(),
                    extra: extra.clone(),
                };
                let label = self.apply(a)?;
                self.history.record(&label, before);
                Some(label)
            }
        }
    }

    /// Undoes the last edit (the document and `extra` go back); returns its
    /// label.
    pub fn undo(&mut self, extra: &mut X) -> Option<String> {
        self.step(extra, true)
    }

    /// Redoes the last undone edit; returns its label.
    pub fn redo(&mut self, extra: &mut X) -> Option<String> {
        self.step(extra, false)
    }

    fn step(&mut self, extra: &mut X, undo: bool) -> Option<String> {
        let mut now = Snapshot {
            doc: self.doc.clone(),
            extra: extra.clone(),
        };
        let label = if undo {
            self.history.undo(&mut now)
        } else {
            self.history.redo(&mut now)
        }?;
        self.doc = now.doc;
        *extra = now.extra;
        let n = self.doc.variants.len();
        self.selected = self.selected.filter(|&i| i < n);
        self.changed();
        Some(label)
    }

    /// The twin's name as shown: a pseudonym in privacy mode (twin names
    /// are often the patient's).
    #[must_use]
    pub fn shown_name(&self) -> String {
        shown_name(&self.doc.name, self.privacy)
    }

    /// A file name for saving (`.twin.json`) or for exports (`-report.html`
    /// etc.): from the shown name, so privacy mode never writes the name
    /// into a file name.
    #[must_use]
    pub fn file_name(&self, suffix: &str) -> String {
        safe_file_stem(&self.shown_name()) + suffix
    }

    /// A variant name not yet used, from `base`.
    #[must_use]
    pub fn unused_name(&self, base: &str) -> String {
        let taken = |n: &str| self.doc.variants.iter().any(|v| v.name == n);
        if !taken(base) {
            return base.to_owned();
        }
        (2..=self.doc.variants.len() + 2)
            .map(|k| format!("{base} ({k})"))
            .find(|n| !taken(n))
            .unwrap_or_else(|| base.to_owned())
    }

    /// Carries out an edit of the list without recording it; returns its
    /// label when the document changed. Selection alone is not an edit.
    pub fn apply(&mut self, action: &ScenarioAction) -> Option<String> {
        let n = self.doc.variants.len();
        let label = match action {
            ScenarioAction::Select(s) => {
                self.selected = s.filter(|&i| i < n);
                return None;
            }
            ScenarioAction::Add(name, cardio) => {
                let name = self.unused_name(name);
                self.doc.variants.push(Variant {
                    name: name.clone(),
                    cardio: cardio.clone(),
                    ..Variant::default()
                });
                self.selected = Some(n);
                format!("add variant “{name}”")
            }
            ScenarioAction::AddPredicted {
                name,
                prosthesis,
                predicted,
            } => {
                let name = self.unused_name(name);
                self.doc.variants.push(Variant {
                    name: name.clone(),
                    description: "predicted walk (reflex controller, CMA-ES)".into(),
                    prosthesis: prosthesis.as_deref().cloned(),
                    predicted: Some(predicted.as_ref().clone()),
                    ..Variant::default()
                });
                self.selected = Some(n);
                format!("keep predicted walk “{name}”")
            }
            ScenarioAction::Duplicate(i) => {
                let mut v = self.doc.variants.get(*i)?.clone();
                v.name = self.unused_name(&format!("{} copy", v.name));
                let label = format!("duplicate “{}”", self.doc.variants[*i].name);
                self.doc.variants.insert(i + 1, v);
                self.selected = Some(i + 1);
                label
            }
            ScenarioAction::Rename(i, name) => {
                let name = name.trim();
                let old = self.doc.variants.get(*i)?.name.clone();
                if name.is_empty() || name == old {
                    return None;
                }
                let name = self.unused_name(name);
                self.doc.variants[*i].name.clone_from(&name);
                format!("rename “{old}” to “{name}”")
            }
            ScenarioAction::Delete(i) => {
                if *i >= n {
                    return None;
                }
                let v = self.doc.variants.remove(*i);
                self.selected = match self.selected {
                    Some(s) if s == *i => None,
                    Some(s) if s > *i => Some(s - 1),
                    s => s,
                };
                format!("delete “{}”", v.name)
            }
            ScenarioAction::Undo | ScenarioAction::Redo => return None,
        };
        self.changed();
        Some(label)
    }

    /// Adds `variant` (renamed when its name is taken) with undo; it becomes
    /// the selection.
    pub fn add_variant(&mut self, mut variant: Variant, extra: X) -> String {
        variant.name = self.unused_name(&variant.name);
        let label = format!("add variant “{}”", variant.name);
        self.record(&label, extra);
        self.doc.variants.push(variant);
        self.selected = Some(self.doc.variants.len() - 1);
        label
    }

    /// The selected variant.
    #[must_use]
    pub fn variant(&self) -> Option<&Variant> {
        self.selected.and_then(|i| self.doc.variants.get(i))
    }
}

/// `name`, or its pseudonym in privacy mode.
#[must_use]
pub fn shown_name(name: &str, privacy: bool) -> String {
    if privacy {
        pseudonym(name)
    } else {
        name.to_owned()
    }
}

/// A file-name stem from `name`: letters, digits, `-` and `_` kept, runs of
/// anything else one `-`; never empty.
#[must_use]
pub fn safe_file_stem(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() { "twin".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Session {
        let mut s = Session::new(TwinDocument::new("Jane Roe"), None);
        s.apply(&ScenarioAction::Add(
            "severe AS".into(),
            vec![Intervention::AorticStenosis {
                valve_area_cm2: 0.7,
            }],
        ));
        s
    }

    #[test]
    fn a_predicted_walk_is_kept_as_a_variant_with_undo_and_saved() {
        let mut s = demo();
        let mut x = ();
        let predicted = twin_scenario::document::PredictedGait {
            summary: [("cost_of_transport_j_per_kg_m".to_owned(), 9.48)].into(),
            solution: serde_json::json!({"parameters": [0.1, 0.2]}),
            tuning: None,
        };
        let device: twin_msk::prosthesis::Prosthesis = serde_json::from_str(
            r#"{"side": "right", "stiffness_nm_per_rad": 400.0, "damping_nms_per_rad": 2.0,
                "neutral_angle_deg": 0.0, "alignment_offset_deg": 0.0, "mass_kg": 1.2}"#,
        )
        .unwrap();
        let label = s.act(
            &ScenarioAction::AddPredicted {
                name: "predicted: prosthesis".into(),
                prosthesis: Some(Box::new(device.clone())),
                predicted: Box::new(predicted.clone()),
            },
            &mut x,
        );
        assert_eq!(
            label.as_deref(),
            Some("keep predicted walk “predicted: prosthesis”")
        );
        let v = &s.doc.variants[1];
        assert_eq!(v.predicted.as_ref(), Some(&predicted));
        assert_eq!(v.prosthesis.as_ref(), Some(&device));
        assert_eq!(s.selected, Some(1));
        // Saved and read back whole.
        let text = serde_json::to_string(&s.doc).unwrap();
        let back: TwinDocument = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s.doc);
        s.act(&ScenarioAction::Undo, &mut x);
        assert_eq!(s.doc.variants.len(), 1);
        s.act(&ScenarioAction::Redo, &mut x);
        assert_eq!(s.doc.variants[1].predicted.as_ref(), Some(&predicted));
    }

    #[test]
    fn list_edits_undo_and_redo_in_order() {
        let mut s = demo();
        let mut x = ();
        s.act(&ScenarioAction::Duplicate(0), &mut x);
        assert_eq!(s.doc.variants[1].name, "severe AS copy");
        assert_eq!(s.selected, Some(1));
        s.act(&ScenarioAction::Rename(1, "TAVR".into()), &mut x);
        // A second name clash gets a number.
        s.act(&ScenarioAction::Duplicate(0), &mut x);
        s.act(&ScenarioAction::Rename(1, "TAVR".into()), &mut x);
        assert_eq!(s.doc.variants[1].name, "TAVR (2)");
        s.act(&ScenarioAction::Delete(1), &mut x);
        assert_eq!(s.doc.variants.len(), 2);
        assert_eq!(s.history.undo_label(), Some("delete “TAVR (2)”"));
        // Selection is not an edit.
        assert_eq!(s.act(&ScenarioAction::Select(Some(0)), &mut x), None);
        assert_eq!(s.history.undo_label(), Some("delete “TAVR (2)”"));
        // Undo brings the deleted variant back where it was; redo deletes again.
        assert_eq!(
            s.act(&ScenarioAction::Undo, &mut x).as_deref(),
            Some("delete “TAVR (2)”")
        );
        assert_eq!(s.doc.variants[1].name, "TAVR (2)");
        assert_eq!(s.history.redo_label(), Some("delete “TAVR (2)”"));
        s.act(&ScenarioAction::Redo, &mut x);
        assert_eq!(s.doc.variants.len(), 2);
        // Undo all the way: only the first variant.
        while s.undo(&mut x).is_some() {}
        let names: Vec<&str> = s.doc.variants.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["severe AS"]);
        // A new edit ends the redo list.
        s.act(&ScenarioAction::Delete(0), &mut x);
        assert_eq!(s.history.redo_label(), None);
        // Bad indices change nothing.
        assert_eq!(s.apply(&ScenarioAction::Delete(5)), None);
        assert_eq!(s.apply(&ScenarioAction::Rename(5, "x".into())), None);
        assert_eq!(s.apply(&ScenarioAction::Duplicate(5)), None);
        assert!(s.dirty);
    }

    #[test]
    fn undo_brings_back_the_owners_state_with_the_document() {
        // The app keeps its segment list beside the document.
        let mut s: Session<Vec<&str>> = Session::default();
        let mut segments = vec!["bone"];
        s.record("add segment “LV”", segments.clone());
        segments.push("LV");
        s.act(
            &ScenarioAction::Add("TAVR".into(), Vec::new()),
            &mut segments,
        );
        assert_eq!(s.undo(&mut segments).as_deref(), Some("add variant “TAVR”"));
        assert_eq!((s.doc.variants.len(), segments.len()), (0, 2));
        assert_eq!(s.undo(&mut segments).as_deref(), Some("add segment “LV”"));
        assert_eq!(segments, ["bone"]);
        assert_eq!(s.redo(&mut segments).as_deref(), Some("add segment “LV”"));
        assert_eq!(segments, ["bone", "LV"]);
        // A selection past the list after undo is dropped.
        s.redo(&mut segments);
        s.selected = Some(0);
        s.undo(&mut segments);
        assert_eq!(s.selected, None);
    }

    #[test]
    fn privacy_mode_keeps_the_name_out_of_titles_and_file_names() {
        let mut s = demo();
        assert_eq!(s.file_name(".twin.json"), "Jane-Roe.twin.json");
        s.privacy = true;
        let shown = s.shown_name();
        assert!(!shown.contains("Jane") && !shown.contains("Roe"), "{shown}");
        let file = s.file_name("-report.html");
        assert!(!file.contains("Jane") && !file.contains("Roe"), "{file}");
        assert!(file.ends_with("-report.html"), "{file}");
        assert_eq!(safe_file_stem("../../etc/passwd"), "etc-passwd");
        assert_eq!(safe_file_stem("///"), "twin");
        // Replacing the twin keeps privacy and forgets the history.
        let mut x = ();
        s.act(&ScenarioAction::Add("a".into(), Vec::new()), &mut x);
        s.replace(TwinDocument::new("John Doe"), None);
        assert!(s.privacy && s.history.undo_label().is_none() && !s.dirty);
    }

    #[test]
    fn a_saved_twin_opens_with_its_variants_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.twin.json");
        let mut s = demo();
        s.save(&path).unwrap();
        assert!(!s.dirty && s.path.as_deref() == Some(path.as_path()));
        let (back, notes): (Session, _) = Session::open(&path).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(back.doc.variants, s.doc.variants);
        assert_eq!(back.path.as_deref(), Some(path.as_path()));
        let e = Session::<()>::open(&dir.path().join("missing.json")).unwrap_err();
        assert!(e.to_string().contains("missing.json"), "{e}");
    }
}
