//! The bundled demo patient: generated deterministically into a cache folder on
//! first use (42 MB of DICOM), then reused.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::PhantomError;
use crate::cardiac::CardiacPhantom;
use crate::legs::LegsPhantom;
use crate::uid::uid_for;

/// Bump when the generated files change, so stale caches are regenerated.
pub const DEMO_VERSION: u32 = 1;
/// Environment variable that overrides where the demo patient is generated.
pub const DEMO_DIR_ENV: &str = "TWIN_DEMO_DIR";
const COMPLETE_MARKER: &str = "COMPLETE";

/// Where the demo patient's files are.
#[derive(Debug, Clone)]
pub struct DemoPatient {
    pub root: PathBuf,
    /// Cardiac MR cine short-axis study.
    pub cardiac_dir: PathBuf,
    /// Lower-limb CT study.
    pub ct_dir: PathBuf,
    pub cardiac: CardiacPhantom,
    pub legs: LegsPhantom,
}

#[derive(Serialize)]
struct Truth<'a> {
    generator: &'static str,
    version: u32,
    patient_name: &'static str,
    cardiac: &'a CardiacPhantom,
    lv_volume_ml_per_phase: Vec<f64>,
    trigger_time_ms_per_phase: Vec<f64>,
    ed_phase: usize,
    es_phase: usize,
    legs: &'a LegsPhantom,
}

/// Default location: `$TWIN_DEMO_DIR`, else `$XDG_CACHE_HOME/twinscope/demo-vN`,
/// else `~/.cache/twinscope/demo-vN`, else the system temp folder.
#[must_use]
pub fn demo_patient_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(DEMO_DIR_ENV) {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("twinscope").join(format!("demo-v{DEMO_VERSION}"))
}

fn layout(root: &Path) -> DemoPatient {
    DemoPatient {
        root: root.to_owned(),
        cardiac_dir: root.join("cardiac_mr_cine"),
        ct_dir: root.join("ct_lower_limbs"),
        cardiac: CardiacPhantom::demo(),
        legs: LegsPhantom::demo(),
    }
}

/// Writes the demo patient into `root` (created if needed; existing files overwritten).
pub fn write_demo_patient(root: &Path) -> Result<DemoPatient, PhantomError> {
    let demo = layout(root);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| PhantomError::Io { path, source }
    };
    std::fs::create_dir_all(root).map_err(io(root))?;
    demo.cardiac
        .write(&demo.cardiac_dir, &uid_for("twinscope-demo/cardiac/study"))?;
    demo.legs
        .write(&demo.ct_dir, &uid_for("twinscope-demo/legs/study"))?;
    let truth = Truth {
        generator: "twin_phantom",
        version: DEMO_VERSION,
        patient_name: crate::dicom_out::PATIENT_NAME,
        cardiac: &demo.cardiac,
        lv_volume_ml_per_phase: (0..demo.cardiac.phases)
            .map(|p| demo.cardiac.lv_volume_ml(p))
            .collect(),
        trigger_time_ms_per_phase: (0..demo.cardiac.phases)
            .map(|p| demo.cardiac.trigger_time_ms(p))
            .collect(),
        ed_phase: demo.cardiac.ed_phase(),
        es_phase: demo.cardiac.es_phase(),
        legs: &demo.legs,
    };
    let truth_path = root.join("truth.json");
    let json = serde_json::to_vec_pretty(&truth).expect("truth serialises");
    std::fs::write(&truth_path, json).map_err(io(&truth_path))?;
    Ok(demo)
}

/// Returns the demo patient in [`demo_patient_dir`], generating it first if it is
/// missing or incomplete. Generation holds an exclusive lock file beside the
/// folder (so concurrent processes wait for one another), writes into a staging
/// folder and renames it into place, so nobody ever sees a half-written study.
pub fn ensure_demo_patient() -> Result<DemoPatient, PhantomError> {
    static GENERATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = GENERATING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let root = demo_patient_dir();
    if root.join(COMPLETE_MARKER).is_file() {
        return Ok(layout(&root));
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| PhantomError::Io { path, source }
    };
    let parent = root
        .parent()
        .map_or_else(std::env::temp_dir, Path::to_owned);
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let name = root
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("demo")
        .to_owned();
    let lock_path = parent.join(format!(".{name}.lock"));
    let lock = std::fs::File::create(&lock_path).map_err(io(&lock_path))?;
    lock.lock().map_err(io(&lock_path))?;
    if root.join(COMPLETE_MARKER).is_file() {
        // Another process generated it while we waited for the lock.
        return Ok(layout(&root));
    }
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    write_demo_patient(&staging)?;
    let marker = staging.join(COMPLETE_MARKER);
    std::fs::write(&marker, format!("twin_phantom demo v{DEMO_VERSION}\n")).map_err(io(&marker))?;
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(io(&root))?;
    }
    std::fs::rename(&staging, &root).map_err(io(&root))?;
    Ok(layout(&root))
}

/// A patient identity to write into phantom files instead of the demo's
/// (`DEMO^PATIENT`): for privacy tests and demonstrations, which need a
/// known, distinctive (and fake) identity to look for in every output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeIdentity {
    /// DICOM PN, e.g. `FAKE^ALICE`.
    pub name: String,
    pub id: String,
    /// DICOM DA, `YYYYMMDD`.
    pub birth_date: String,
    pub accession: String,
}

impl FakeIdentity {
    /// Parses `NAME,ID,YYYYMMDD,ACCESSION`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let [name, id, birth_date, accession] = parts[..] else {
            return Err(format!(
                "identity `{text}`: expected NAME,ID,YYYYMMDD,ACCESSION (4 fields, {} given)",
                parts.len()
            ));
        };
        if birth_date.len() != 8 || !birth_date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "identity `{text}`: birth date `{birth_date}` is not YYYYMMDD"
            ));
        }
        if [name, id, accession]
            .iter()
            .any(|s| s.is_empty() || s.len() > 64)
        {
            return Err(format!(
                "identity `{text}`: name, ID and accession must each have 1 to 64 characters"
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            id: id.to_owned(),
            birth_date: birth_date.to_owned(),
            accession: accession.to_owned(),
        })
    }
}

/// Rewrites the patient name, ID, birth date and accession number of every
/// DICOM file under `root` (as [`write_demo_patient`] wrote them), and the
/// name in `truth.json`. Returns how many files were rewritten.
pub fn relabel_identity(root: &Path, identity: &FakeIdentity) -> Result<usize, PhantomError> {
    use dicom::core::{DataElement, PrimitiveValue, VR};
    use dicom::dictionary_std::tags;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| PhantomError::Io { path, source }
    };
    let mut files = Vec::new();
    let mut todo = vec![root.to_owned()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let path = entry.map_err(io(&dir))?.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "dcm") {
                files.push(path);
            }
        }
    }
    for path in &files {
        let dicom_err = |e: &dyn std::fmt::Display| PhantomError::Dicom {
            path: path.clone(),
            message: e.to_string(),
        };
        let mut obj = dicom::object::open_file(path).map_err(|e| dicom_err(&e))?;
        for (tag, vr, value) in [
            (tags::PATIENT_NAME, VR::PN, &identity.name),
            (tags::PATIENT_ID, VR::LO, &identity.id),
            (tags::PATIENT_BIRTH_DATE, VR::DA, &identity.birth_date),
            (tags::ACCESSION_NUMBER, VR::SH, &identity.accession),
        ] {
            obj.put(DataElement::new(
                tag,
                vr,
                PrimitiveValue::from(value.as_str()),
            ));
        }
        obj.write_to_file(path).map_err(|e| dicom_err(&e))?;
    }
    let truth = root.join("truth.json");
    if let Ok(text) = std::fs::read_to_string(&truth) {
        let mut value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| PhantomError::Dicom {
                path: truth.clone(),
                message: e.to_string(),
            })?;
        value["patient_name"] = serde_json::Value::from(identity.name.as_str());
        let json = serde_json::to_vec_pretty(&value).expect("truth serialises");
        std::fs::write(&truth, json).map_err(io(&truth))?;
    }
    Ok(files.len())
}
