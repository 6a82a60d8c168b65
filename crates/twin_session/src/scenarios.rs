//! Scenario files into variants, always through the twin document's one
//! reader ([`TwinDocument::read`], which migrates older files and refuses
//! newer ones): `twin twin new --scenario`, the app's `--variant` and
//! `--cardio FILE`, and the bundled presets of "+ Variant".

use std::path::Path;
use std::sync::OnceLock;

use twin_cardio::Intervention;
use twin_scenario::{TwinDocument, Variant};

use crate::SessionError;

/// The variants of a scenario file (one) or a twin file (all of them).
///
/// # Errors
/// The file cannot be read or is neither (named).
pub fn import_variants(path: &Path) -> Result<Vec<Variant>, SessionError> {
    Ok(TwinDocument::read(path)?.0.variants)
}

/// `NAME=FILE`: the file's variant called NAME (a twin file with several
/// variants gives its first).
///
/// # Errors
/// No `=`, an empty name, or the file cannot be read (named).
pub fn variant_spec(spec: &str) -> Result<Variant, SessionError> {
    let (name, file) = spec
        .split_once('=')
        .ok_or_else(|| SessionError::input(spec, "expected NAME=SCENARIO.json"))?;
    if name.trim().is_empty() {
        return Err(SessionError::input(spec, "the variant's name is empty"));
    }
    let mut v = import_variants(Path::new(file))?
        .into_iter()
        .next()
        .ok_or_else(|| SessionError::input(file, "holds no variant"))?;
    name.trim().clone_into(&mut v.name);
    Ok(v)
}

const PRESET_FILES: [(&str, &str, &str); 6] = [
    (
        "severe AS",
        "severe-aortic-stenosis.json",
        include_str!("../../../examples/scenarios/severe-aortic-stenosis.json"),
    ),
    (
        "TAVR",
        "tavr.json",
        include_str!("../../../examples/scenarios/tavr.json"),
    ),
    (
        "mitral regurgitation",
        "mitral-regurgitation.json",
        include_str!("../../../examples/scenarios/mitral-regurgitation.json"),
    ),
    (
        "heart failure",
        "heart-failure.json",
        include_str!("../../../examples/scenarios/heart-failure.json"),
    ),
    (
        "dobutamine",
        "dobutamine.json",
        include_str!("../../../examples/scenarios/dobutamine.json"),
    ),
    (
        "LVAD 6000 rpm",
        "lvad-6000rpm.json",
        include_str!("../../../examples/scenarios/lvad-6000rpm.json"),
    ),
];

/// The bundled example scenarios offered by "+ Variant" (name,
/// interventions), read once through the document's reader.
pub fn presets() -> &'static [(String, Vec<Intervention>)] {
    static PRESETS: OnceLock<Vec<(String, Vec<Intervention>)>> = OnceLock::new();
    PRESETS.get_or_init(|| {
        PRESET_FILES
            .iter()
            .filter_map(|(name, file, text)| {
                let (doc, _) = TwinDocument::parse(text, Path::new(file)).ok()?;
                let v = doc.variants.into_iter().next()?;
                Some(((*name).to_owned(), v.cardio))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_preset_reads() {
        let p = presets();
        assert_eq!(p.len(), PRESET_FILES.len());
        assert!(p.iter().all(|(_, cardio)| !cardio.is_empty()));
    }

    #[test]
    fn a_variant_spec_names_the_variant_and_refuses_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.json");
        std::fs::write(&file, PRESET_FILES[1].2).unwrap();
        let v = variant_spec(&format!(" new valve ={}", file.display())).unwrap();
        assert_eq!(v.name, "new valve");
        assert!(!v.cardio.is_empty());
        let e = variant_spec("no-equals-sign").unwrap_err().to_string();
        assert!(e.contains("NAME=SCENARIO.json"), "{e}");
        let e = variant_spec(&format!("x={}", dir.path().join("nope.json").display()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope.json"), "{e}");
        std::fs::write(&file, "{\"interventions\": 3}").unwrap();
        let e = variant_spec(&format!("x={}", file.display()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.json") && e.contains("scenario file"), "{e}");
    }
}
