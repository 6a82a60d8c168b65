//! The twin document's schema and how files become documents.
//!
//! A twin file is JSON with `"format": "twinscope-twin"` and a `"version"`.
//! Reading one:
//!
//! * a version above [`VERSION`] is refused with a message saying so (a
//!   newer Twinscope wrote it);
//! * version [`VERSION`] is read as it is, unknown fields refused by name;
//! * a file without `format` that is a cardiac scenario file (`name`,
//!   `interventions`, as in `examples/scenarios/`) is migrated: a twin with
//!   that scenario as its one variant (the only older layout there is);
//! * anything else — truncated or broken JSON, another kind of file — is
//!   refused naming the file and, for JSON errors, the line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use twin_cardio::Intervention;
use twin_cardio::calibrate::Targets;
use twin_cardio::params::Parameters;
use twin_msk::prosthesis::Prosthesis;

use crate::TwinError;

/// The value of the `format` field.
pub const FORMAT: &str = "twinscope-twin";
/// The version this build writes and reads.
pub const VERSION: u32 = 1;
/// Files larger than this are refused before they are read (bytes).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Colours of the variants in plots and tables (sRGB), by position in
/// the list; the baseline is grey.
pub const VARIANT_COLOURS: [[u8; 3]; 6] = [
    [0xe0, 0x80, 0x3a],
    [0x3a, 0x8f, 0xe0],
    [0x3a, 0xb0, 0x6a],
    [0xc0, 0x50, 0xc0],
    [0xc0, 0xa0, 0x30],
    [0xe0, 0x50, 0x50],
];

/// The patient twin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwinDocument {
    pub format: String,
    pub version: u32,
    pub name: String,
    /// The Twinscope version that last wrote the file.
    pub software: String,
    /// Seconds since 1970-01-01 UTC when created and last saved.
    pub created_unix_s: u64,
    pub modified_unix_s: u64,
    #[serde(default)]
    pub study: Option<StudyRef>,
    #[serde(default)]
    pub segments: Vec<Segment>,
    #[serde(default)]
    pub cardio: Option<CardioModel>,
    #[serde(default)]
    pub gait: Option<GaitTrial>,
    /// The what-if variants, each a baseline plus interventions.
    #[serde(default)]
    pub variants: Vec<Variant>,
}

/// Where the images are: a path and the UIDs that identify them, never
/// pixel data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyRef {
    pub path: PathBuf,
    pub study_instance_uid: String,
    #[serde(default)]
    pub series_instance_uids: Vec<String>,
}

/// A segment: how it was made and, when exported, its mesh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    pub name: String,
    /// sRGB.
    pub colour: [u8; 3],
    /// How it was made, e.g. `threshold 200..3000 HU, largest island`.
    pub method: String,
    #[serde(default)]
    pub series_instance_uid: Option<String>,
    #[serde(default)]
    pub mesh: Option<PathBuf>,
    #[serde(default)]
    pub volume_ml: Option<f64>,
    /// How to make it again from its series, so a reopened twin rebuilds
    /// it (absent in files written before 2026-12-02).
    #[serde(default)]
    pub recipe: Option<SegmentRecipe>,
}

/// Where a segment's voxels come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SegmentSource {
    /// Every voxel in `lo..=hi` (the series' unit: HU, or MR signal).
    Threshold { lo: f32, hi: f32 },
    /// Region growing (6-connected) from a seed in patient mm (LPS), within
    /// `tolerance` of the seed's value.
    Grow { seed_mm: [f64; 3], tolerance: f32 },
}

/// The segment editor's settings that made a segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRecipe {
    pub source: SegmentSource,
    /// Keep only the largest connected piece.
    pub largest_only: bool,
    /// Drop connected pieces smaller than this (mm³).
    pub min_island_mm3: f64,
    /// Anti-alias the binary mask before the surface.
    pub antialias: bool,
    pub smooth_iterations: usize,
    /// Decimate the surface to this many triangles (0: no decimation).
    pub target_triangles: usize,
}

/// Most smoothing passes and triangles a recipe may ask for.
const MAX_SMOOTH_ITERATIONS: usize = 1000;
const MAX_TARGET_TRIANGLES: usize = 50_000_000;

impl SegmentRecipe {
    /// Checks every field, naming the one that is wrong.
    ///
    /// # Errors
    /// A non-finite or out-of-range value, by field.
    pub fn check(&self) -> Result<(), String> {
        match &self.source {
            SegmentSource::Threshold { lo, hi } => {
                if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                    return Err(format!("`source` threshold {lo}..{hi}: expected LO ≤ HI"));
                }
            }
            SegmentSource::Grow { seed_mm, tolerance } => {
                if !seed_mm.iter().all(|v| v.is_finite()) {
                    return Err(format!("`source.seed_mm` {seed_mm:?} is not finite"));
                }
                if !(tolerance.is_finite() && *tolerance >= 0.0) {
                    return Err(format!("`source.tolerance` is {tolerance}"));
                }
            }
        }
        if !(self.min_island_mm3.is_finite() && self.min_island_mm3 >= 0.0) {
            return Err(format!("`min_island_mm3` is {}", self.min_island_mm3));
        }
        if self.smooth_iterations > MAX_SMOOTH_ITERATIONS {
            return Err(format!(
                "`smooth_iterations` {}: at most {MAX_SMOOTH_ITERATIONS}",
                self.smooth_iterations
            ));
        }
        if self.target_triangles > MAX_TARGET_TRIANGLES {
            return Err(format!(
                "`target_triangles` {}: at most {MAX_TARGET_TRIANGLES}",
                self.target_triangles
            ));
        }
        Ok(())
    }
}

/// One calibration target against the fitted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitResidual {
    pub name: String,
    pub target: f64,
    pub model: f64,
    pub error_percent: f64,
}

/// The calibrated heart and circulation, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardioModel {
    pub targets: Targets,
    pub parameters: Parameters,
    #[serde(default)]
    pub residuals: Vec<FitResidual>,
    /// Which images or measurements gave the targets, e.g. `cine 5.1 LV
    /// volumes; cuff pressure 120/80`.
    pub source: String,
    pub calibrated_unix_s: u64,
    /// The Twinscope version that calibrated it.
    pub software: String,
}

impl CardioModel {
    /// A calibration made now by this software, fitted to `targets` that
    /// came from `source`.
    #[must_use]
    pub fn fitted(targets: Targets, c: &twin_cardio::Calibration, source: String) -> Self {
        Self {
            targets,
            parameters: c.parameters.clone(),
            residuals: c
                .residuals
                .iter()
                .map(|r| FitResidual {
                    name: r.name.to_owned(),
                    target: r.target,
                    model: r.model,
                    error_percent: r.error_percent,
                })
                .collect(),
            source,
            calibrated_unix_s: now_unix_s(),
            software: software(),
        }
    }
}

/// A gait trial (files the user owns; the twin refers to them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaitTrial {
    pub model: PathBuf,
    pub motion: PathBuf,
    #[serde(default)]
    pub loads: Option<PathBuf>,
}

/// A what-if: the baseline plus these changes, and what came out.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Cardiac interventions, applied in order.
    #[serde(default)]
    pub cardio: Vec<Intervention>,
    #[serde(default)]
    pub prosthesis: Option<Prosthesis>,
    /// Result summaries by metric (e.g. `lv_ef_percent`).
    #[serde(default)]
    pub results: BTreeMap<String, f64>,
    /// A predicted walk kept as this variant (`twin gait predict`, the
    /// app's Predicted gait pane), with its device (`prosthesis`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted: Option<PredictedGait>,
    /// An EP what-if (the EP workspace, `twin ep run`): the rhythm and
    /// tissue it ran with; its activation drives `cardio` (an
    /// `activation` intervention) and its numbers are in `results`
    /// (`ep_*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ep: Option<EpSetting>,
}

/// Which ventricles an EP what-if ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EpHeart {
    /// The demo patient's ventricles meshed at `mesh_mm`.
    Demo { mesh_mm: f64 },
    /// A tetrahedral mesh file (legacy VTK, tagged surfaces).
    Mesh { path: PathBuf },
}

/// An EP what-if as kept in a variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpSetting {
    pub heart: EpHeart,
    pub rhythm: twin_ep::heart::Rhythm,
    pub tissue: twin_ep::heart::Tissue,
}

/// A predicted walk in the twin: what it gave and how to replay it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictedGait {
    /// Metric → value (`speed_m_per_s`, `cost_of_transport_j_per_kg_m`,
    /// `walked_s`, `fell`, `stance_asymmetry_percent`, and per side `_r`
    /// / `_l`: `step_length_m`, `peak_grf_bw`, `ankle_work_j_per_kg`,
    /// `hip_work_j_per_kg`).
    pub summary: BTreeMap<String, f64>,
    /// The search's solution as `twin gait predict` writes it
    /// (`solution.json`: controller parameters and setting).
    pub solution: serde_json::Value,
    /// A device tuning run from this walk (`landscape.json` of `twin gait
    /// tune`), when one was kept with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<crate::tuning::Landscape>,
}

/// The cardiac scenario file of `examples/scenarios/` (no `format`): the
/// layout twins migrate from.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: String,
    #[serde(default)]
    description: String,
    interventions: Vec<Intervention>,
}

/// Seconds since 1970-01-01 UTC now.
#[must_use]
pub fn now_unix_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl TwinDocument {
    /// An empty twin called `name`.
    #[must_use]
    pub fn new(name: &str) -> Self {
        let now = now_unix_s();
        Self {
            format: FORMAT.into(),
            version: VERSION,
            name: name.into(),
            software: software(),
            created_unix_s: now,
            modified_unix_s: now,
            study: None,
            segments: Vec::new(),
            cardio: None,
            gait: None,
            variants: Vec::new(),
        }
    }

    /// Reads a twin file (see the module documentation); with it, lines
    /// saying what was migrated.
    ///
    /// # Errors
    /// The file cannot be read, is too large, is not a twin file, was
    /// written by a newer Twinscope, or a field is wrong (named).
    pub fn read(path: &Path) -> Result<(Self, Vec<String>), TwinError> {
        let text = twin_core::limits::read_text(path, MAX_FILE_BYTES, "twin file")
            .map_err(|e| TwinError::io(path, &e))?;
        Self::parse(&text, path)
    }

    /// [`Self::read`] on text already read from `path`.
    ///
    /// # Errors
    /// As [`Self::read`].
    pub fn parse(text: &str, path: &Path) -> Result<(Self, Vec<String>), TwinError> {
        let json_error = |e: &serde_json::Error, what: &str| {
            let kind = if e.is_eof() { "truncated" } else { "not valid" };
            TwinError::format(
                path,
                format!(
                    "{what} is {kind} JSON (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                ),
            )
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| json_error(&e, "the file"))?;
        let Some(object) = value.as_object() else {
            return Err(TwinError::format(
                path,
                "not a twin file: not a JSON object",
            ));
        };
        let field = |e: serde_json::Error| TwinError::format(path, format!("{e}"));
        match object.get("format") {
            Some(serde_json::Value::String(f)) if f == FORMAT => {
                let version = object
                    .get("version")
                    .and_then(serde_json::Value::as_u64)
                    .ok_or_else(|| {
                        TwinError::format(path, "`version` is missing or not a whole number")
                    })?;
                if version > u64::from(VERSION) {
                    return Err(TwinError::format(
                        path,
                        format!(
                            "written by a newer Twinscope (twin format version {version}); this one reads versions up to {VERSION} — update Twinscope to open it"
                        ),
                    ));
                }
                if version < 1 {
                    return Err(TwinError::format(
                        path,
                        format!("twin format version {version} does not exist"),
                    ));
                }
                let doc: Self = serde_json::from_value(value).map_err(field)?;
                doc.check().map_err(|m| TwinError::format(path, m))?;
                Ok((doc, Vec::new()))
            }
            Some(other) => Err(TwinError::format(
                path,
                format!("not a twin file: `format` is {other}, not \"{FORMAT}\""),
            )),
            None if object.contains_key("interventions") => {
                let s: ScenarioFile = serde_json::from_value(value)
                    .map_err(|e| TwinError::format(path, format!("a scenario file, but {e}")))?;
                let mut doc = Self::new(&s.name);
                doc.variants.push(Variant {
                    name: s.name,
                    description: s.description,
                    cardio: s.interventions,
                    ..Variant::default()
                });
                doc.check().map_err(|m| TwinError::format(path, m))?;
                Ok((
                    doc,
                    vec![format!(
                        "{}: a cardiac scenario file, opened as a twin with it as its one variant (it is saved as a twin file, format version {VERSION})",
                        path.display()
                    )],
                ))
            }
            None => Err(TwinError::format(
                path,
                format!("not a twin file: no \"format\": \"{FORMAT}\""),
            )),
        }
    }

    /// The document as the file's text (pretty JSON).
    ///
    /// # Panics
    /// Never: every field serialises.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a twin serialises");
        text.push('\n');
        text
    }

    /// Checks what the schema cannot: names present and variants unique,
    /// numbers finite, the devices in range.
    ///
    /// # Errors
    /// The first problem, naming the field.
    pub fn check(&self) -> Result<(), String> {
        if self.format != FORMAT || self.version != VERSION {
            return Err(format!(
                "`format`/`version` must be \"{FORMAT}\"/{VERSION}, not \"{}\"/{}",
                self.format, self.version
            ));
        }
        if self.name.trim().is_empty() {
            return Err("`name` is empty".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, v) in self.variants.iter().enumerate() {
            if v.name.trim().is_empty() {
                return Err(format!("`variants[{i}].name` is empty"));
            }
            if !seen.insert(v.name.as_str()) {
                return Err(format!(
                    "`variants[{i}].name`: two variants are called `{}`",
                    v.name
                ));
            }
            for (k, x) in &v.results {
                if !x.is_finite() {
                    return Err(format!("`variants[{i}].results.{k}` is {x}"));
                }
            }
            if let Some(p) = &v.prosthesis {
                p.check()
                    .map_err(|e| format!("`variants[{i}].prosthesis`: {e}"))?;
            }
        }
        for (i, s) in self.segments.iter().enumerate() {
            if s.name.trim().is_empty() {
                return Err(format!("`segments[{i}].name` is empty"));
            }
            if let Some(v) = s.volume_ml
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(format!("`segments[{i}].volume_ml` is {v}"));
            }
            if let Some(r) = &s.recipe {
                r.check()
                    .map_err(|e| format!("`segments[{i}].recipe`: {e}"))?;
            }
        }
        if let Some(c) = &self.cardio {
            c.targets
                .check()
                .map_err(|e| format!("`cardio.targets`: {e}"))?;
        }
        Ok(())
    }

    /// Marks the document as saved now by this build.
    pub fn touch(&mut self) {
        self.modified_unix_s = now_unix_s();
        self.software = software();
    }
}

/// This build, as written into the files.
#[must_use]
pub fn software() -> String {
    format!("Twinscope {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TwinDocument {
        let mut doc = TwinDocument::new("Demo patient");
        doc.study = Some(StudyRef {
            path: "/data/demo".into(),
            study_instance_uid: "1.2.826.0.1.3680043.10.1".into(),
            series_instance_uids: vec!["1.2.826.0.1.3680043.10.1.5".into()],
        });
        doc.segments.push(Segment {
            name: "LV blood pool".into(),
            colour: [220, 60, 60],
            method: "seeded region growing at (0, 0, -10) mm, ±120".into(),
            series_instance_uid: None,
            mesh: Some("lv.stl".into()),
            volume_ml: Some(140.0),
            recipe: Some(SegmentRecipe {
                source: SegmentSource::Grow {
                    seed_mm: [0.0, 0.0, -10.0],
                    tolerance: 120.0,
                },
                largest_only: false,
                min_island_mm3: 500.0,
                antialias: true,
                smooth_iterations: 10,
                target_triangles: 0,
            }),
        });
        doc.cardio = Some(CardioModel {
            targets: Targets::CIRCADAPT_REFERENCE,
            parameters: Parameters::default(),
            residuals: vec![FitResidual {
                name: "LV EDV".into(),
                target: 120.5,
                model: 120.49,
                error_percent: -0.008,
            }],
            source: "CircAdapt reference".into(),
            calibrated_unix_s: 1,
            software: software(),
        });
        doc.variants.push(Variant {
            name: "severe AS".into(),
            cardio: vec![Intervention::AorticStenosis {
                valve_area_cm2: 0.7,
            }],
            results: BTreeMap::from([("aortic_mean_gradient_mmhg".into(), 50.8)]),
            ..Variant::default()
        });
        doc
    }

    fn parse(text: &str) -> Result<(TwinDocument, Vec<String>), String> {
        TwinDocument::parse(text, Path::new("p.twin.json")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_document_round_trips() {
        let doc = sample();
        let (back, notes) = parse(&doc.to_text()).unwrap();
        assert_eq!(back, doc);
        assert!(notes.is_empty());
    }

    #[test]
    fn every_example_scenario_migrates_to_a_one_variant_twin() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenarios");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let (doc, notes) = TwinDocument::read(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(doc.variants.len(), 1, "{}", path.display());
            assert!(!doc.variants[0].cardio.is_empty(), "{}", path.display());
            assert!(notes[0].contains("opened as a twin"), "{notes:?}");
            // Saved again, it is a current twin file.
            let (again, notes) = parse(&doc.to_text()).unwrap();
            assert_eq!(again, doc);
            assert!(notes.is_empty());
            n += 1;
        }
        assert!(n >= 10, "{n}");
    }

    #[test]
    fn newer_broken_and_foreign_files_are_refused_by_name() {
        let text = sample().to_text();
        let newer = text.replace("\"version\": 1", "\"version\": 7");
        let e = parse(&newer).unwrap_err();
        assert!(
            e.starts_with("p.twin.json: written by a newer Twinscope (twin format version 7)"),
            "{e}"
        );
        // Truncated anywhere: an error naming the file, never a panic.
        for cut in (1..text.len()).step_by(97) {
            let Some(head) = text.get(..cut) else {
                continue;
            };
            let e = parse(head).unwrap_err();
            assert!(e.starts_with("p.twin.json: "), "{e}");
        }
        let e = parse(&text[..text.len() / 2]).unwrap_err();
        assert!(e.contains("truncated JSON (line"), "{e}");
        let e = parse(r#"{"format": "dicom"}"#).unwrap_err();
        assert!(e.contains("`format` is \"dicom\""), "{e}");
        let e = parse("[1, 2]").unwrap_err();
        assert!(e.contains("not a JSON object"), "{e}");
        let e = parse(r#"{"hello": 1}"#).unwrap_err();
        assert!(e.contains("no \"format\""), "{e}");
        // An unknown field and a wrong value are named.
        let e = parse(&text.replace("\"segments\"", "\"segmints\"")).unwrap_err();
        assert!(e.contains("segmints"), "{e}");
        let mut doc = sample();
        doc.variants.push(Variant {
            name: "severe AS".into(),
            ..Variant::default()
        });
        let e = parse(&doc.to_text()).unwrap_err();
        assert!(e.contains("two variants are called `severe AS`"), "{e}");
        let mut doc = sample();
        doc.variants[0].prosthesis = Some(Prosthesis {
            side: "right".into(),
            stiffness_nm_per_rad: 1e7,
            plantar_stiffness_nm_per_rad: None,
            damping_nms_per_rad: 0.0,
            neutral_angle_deg: 0.0,
            alignment_offset_deg: 0.0,
            mass_kg: None,
        });
        let e = parse(&doc.to_text()).unwrap_err();
        assert!(
            e.contains("variants[0].prosthesis") && e.contains("stiffness_nm_per_rad"),
            "{e}"
        );
    }

    #[test]
    fn segment_recipes_are_checked_by_field_and_optional() {
        let bad = |change: fn(&mut SegmentRecipe), field: &str| {
            let mut doc = sample();
            change(doc.segments[0].recipe.as_mut().unwrap());
            let e = parse(&doc.to_text()).unwrap_err();
            assert!(
                e.contains("segments[0].recipe") && e.contains(field),
                "{field}: {e}"
            );
        };
        bad(
            |r| {
                r.source = SegmentSource::Threshold {
                    lo: 300.0,
                    hi: 200.0,
                }
            },
            "threshold 300..200",
        );
        // NaN cannot be written to JSON; in memory it is named too.
        let mut r = sample().segments[0].recipe.clone().unwrap();
        r.source = SegmentSource::Grow {
            seed_mm: [0.0, f64::NAN, 0.0],
            tolerance: 1.0,
        };
        assert!(r.check().unwrap_err().contains("seed_mm"));
        bad(
            |r| {
                r.source = SegmentSource::Grow {
                    seed_mm: [0.0; 3],
                    tolerance: -1.0,
                };
            },
            "tolerance",
        );
        bad(|r| r.min_island_mm3 = -5.0, "min_island_mm3");
        bad(|r| r.smooth_iterations = 1_000_000, "smooth_iterations");
        bad(|r| r.target_triangles = usize::MAX / 2, "target_triangles");
        // An unknown source kind is named.
        let text = sample().to_text().replace("\"grow\"", "\"paint\"");
        let e = parse(&text).unwrap_err();
        assert!(e.contains("paint"), "{e}");
        // A file written before recipes existed still opens.
        let mut old = sample();
        old.segments[0].recipe = None;
        let text = old.to_text();
        assert!(!text.contains("recipe\": {"), "{text}");
        let text = text.replace(",\n      \"recipe\": null", "");
        let (back, _) = parse(&text).unwrap();
        assert_eq!(back.segments[0].recipe, None);
    }
}
