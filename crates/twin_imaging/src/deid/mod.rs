//! De-identification: DICOM PS3.15 Annex E, the Basic Application Level
//! Confidentiality Profile, with the options to retain or shift dates.
//!
//! Every attribute of Table E.1-1 (see [`table`]) gets its action, at any
//! nesting depth: **X** remove, **Z** empty, **D** dummy value, **U** a new UID
//! (the same new UID for the same old one throughout a run, so studies, series
//! and frames of reference stay linked). Where the table leaves a choice the
//! stricter one compatible with a valid object is taken: Z/D → Z, X/Z → Z,
//! X/D → X, X/Z/D → Z, X/Z/U* → the sequence is kept with its UIDs replaced
//! (other VRs are emptied). Private attributes are removed, except (Retain
//! Safe Private Option, on unless asked otherwise) the three technical ones
//! the loader needs: the Siemens mosaic slice count and CSA image header and
//! the Philips scale slope. The output
//! records what was done: PatientIdentityRemoved YES, DeidentificationMethod
//! and its code sequence (113100, plus 113106 or 113107 for retained or
//! shifted dates), LongitudinalTemporalInformationModified.
//!
//! Pixel data are copied unchanged; files that declare burned-in annotation are
//! listed in the report's warnings, since text in the pixels is not removed.

mod table;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dicom::core::header::Header;
use dicom::core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom::core::{DataElement, Tag, VR};
use dicom::dictionary_std::tags;
use dicom::object::{FileMetaTableBuilder, InMemDicomObject, open_file};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use twin_core::Progress;

use crate::ImagingError;

/// Action of Table E.1-1 (combined codes name the alternatives).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    D,
    Z,
    X,
    U,
    ZD,
    XZ,
    XD,
    XZD,
    XZU,
}

/// What happens to dates and times listed in the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dates {
    /// The profile's action (removed or emptied).
    #[default]
    Remove,
    /// Retain Longitudinal Temporal Information with Full Dates (113106).
    Keep,
    /// Retain Longitudinal Temporal Information with Modified Dates (113107):
    /// every date moved by this many days; times kept.
    Shift(i32),
}

/// Options of a de-identification run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub dates: Dates,
    /// Secret mixed into new UIDs. Runs with the same secret map the same old
    /// UID to the same new one (to add series to an earlier export); `None`
    /// draws a fresh secret, so nothing links the output to the input.
    pub uid_secret: Option<String>,
    /// Drop even the safe private attributes (Siemens mosaic layout, Philips
    /// scale slope) that are otherwise retained (Retain Safe Private Option).
    pub remove_all_private: bool,
}

/// The action of the profile for `tag`, if it is listed.
#[must_use]
pub fn profile_action(tag: Tag) -> Option<Action> {
    table::BASIC_PROFILE
        .iter()
        .find(|(g, e, gm, em, _, _)| tag.0 & gm == *g && tag.1 & em == *e)
        .map(|r| r.4)
}

/// The profile table: (group, element, group mask, element mask, action,
/// attribute name); a tag matches when `group & group_mask == group` and
/// `element & element_mask == element`.
#[must_use]
pub fn profile() -> &'static [(u16, u16, u16, u16, Action, &'static str)] {
    table::BASIC_PROFILE
}

/// Outcome of [`anonymize_tree`].
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub files_written: usize,
    /// Files skipped because they are not DICOM.
    pub not_dicom: usize,
    /// Files that could not be read or written, with the reason.
    pub failed: Vec<(PathBuf, String)>,
    /// Things the user must check (burned-in annotation).
    pub warnings: Vec<String>,
}

struct Ctx {
    secret: Vec<u8>,
    dates: Dates,
    retain_safe_private: bool,
}

/// Private attributes kept under the Retain Safe Private Option (PS3.15
/// E.3.10): (private creator, group, element within the block). Only the
/// technical values the loader needs to rebuild geometry and physical values.
const SAFE_PRIVATE: [(&str, u16, u8); 4] = [
    // Slices per Siemens mosaic.
    ("SIEMENS MR HEADER", 0x0019, 0x0A),
    // Siemens CSA image header: slice normal of a mosaic.
    ("SIEMENS CSA HEADER", 0x0029, 0x10),
    // Philips scale slope for quantitative values, and the private per-frame
    // sequence that holds it in enhanced files (its items are cleaned too).
    ("Philips MR Imaging DD 001", 0x2005, 0x0E),
    ("Philips MR Imaging DD 005", 0x2005, 0x0F),
];

fn creator_of(obj: &InMemDicomObject, group: u16, block: u8) -> Option<String> {
    obj.get(Tag(group, u16::from(block)))
        .and_then(|e| e.to_str().ok())
        .map(|s| {
            s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .to_owned()
        })
}

fn is_safe_private(obj: &InMemDicomObject, tag: Tag) -> bool {
    let (group, element) = (tag.0, tag.1);
    if (0x0010..=0x00FF).contains(&element) {
        // A private creator: kept when it reserves a block holding a safe attribute.
        let creator = creator_of(obj, group, element as u8);
        return SAFE_PRIVATE
            .iter()
            .any(|(c, g, _)| *g == group && creator.as_deref() == Some(*c));
    }
    let block = (element >> 8) as u8;
    let low = (element & 0xFF) as u8;
    let creator = creator_of(obj, group, block);
    SAFE_PRIVATE
        .iter()
        .any(|(c, g, el)| *g == group && *el == low && creator.as_deref() == Some(*c))
}

impl Ctx {
    fn new_uid(&self, old: &str) -> String {
        let mut h = Sha256::new();
        h.update(&self.secret);
        h.update(old.trim_end_matches('\0').trim().as_bytes());
        let d = h.finalize();
        let mut b = [0u8; 16];
        b.copy_from_slice(&d[..16]);
        // 2.25.<128-bit integer> (PS3.5 B.2), ≤ 44 characters.
        format!("2.25.{}", u128::from_be_bytes(b))
    }
}

fn fresh_secret() -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    let mut out = Vec::new();
    for i in 0..4u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        out.extend_from_slice(&h.finish().to_le_bytes());
    }
    out
}

/// De-identifies one data set (recursively).
fn clean(obj: &InMemDicomObject, ctx: &Ctx) -> InMemDicomObject {
    let mut out = InMemDicomObject::new_empty();
    for e in obj.iter() {
        let tag = e.tag();
        if tag.0 % 2 == 1 {
            // Private attributes (and their creators) removed, except the safe
            // ones the loader needs, when retained.
            if ctx.retain_safe_private && is_safe_private(obj, tag) {
                out.put(recurse(e, ctx));
            }
            continue;
        }
        let vr = e.vr();
        let is_date = matches!(vr, VR::DA | VR::DT | VR::TM)
            && tag != tags::PATIENT_BIRTH_DATE
            && tag != tags::PATIENT_BIRTH_TIME;
        let Some(action) = profile_action(tag) else {
            // Not listed: kept, with sequences cleaned inside.
            out.put(recurse(e, ctx));
            continue;
        };
        if is_date && ctx.dates != Dates::Remove {
            out.put(match ctx.dates {
                Dates::Shift(days) if vr != VR::TM => shift_date(e, days),
                _ => e.clone(),
            });
            continue;
        }
        match action {
            Action::X | Action::XD => {}
            Action::Z | Action::ZD | Action::XZ | Action::XZD => {
                out.put(if vr == VR::SQ {
                    DataElement::new(
                        tag,
                        VR::SQ,
                        DataSetSequence::<InMemDicomObject>::from(vec![]),
                    )
                } else {
                    DataElement::empty(tag, vr)
                });
            }
            Action::D => {
                out.put(dummy(e, ctx));
            }
            Action::U => {
                out.put(uid(e, ctx));
            }
            Action::XZU => {
                out.put(if vr == VR::SQ {
                    recurse(e, ctx)
                } else {
                    DataElement::empty(tag, vr)
                });
            }
        }
    }
    out
}

type Elem = dicom::object::mem::InMemElement;

fn recurse(e: &Elem, ctx: &Ctx) -> Elem {
    match e.value() {
        Value::Sequence(seq) => {
            let items: Vec<InMemDicomObject> = seq.items().iter().map(|i| clean(i, ctx)).collect();
            DataElement::new(e.tag(), VR::SQ, DataSetSequence::from(items))
        }
        _ => e.clone(),
    }
}

fn uid(e: &Elem, ctx: &Ctx) -> Elem {
    let old = e
        .to_str()
        .map(std::borrow::Cow::into_owned)
        .unwrap_or_default();
    let new: Vec<String> = old
        .split('\\')
        .filter(|s| {
            !s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .is_empty()
        })
        .map(|s| ctx.new_uid(s))
        .collect();
    DataElement::new(e.tag(), VR::UI, PrimitiveValue::from(new.join("\\")))
}

fn dummy(e: &Elem, ctx: &Ctx) -> Elem {
    let tag = e.tag();
    let vr = e.vr();
    let text = |s: &str| DataElement::new(tag, vr, PrimitiveValue::from(s));
    match vr {
        VR::SQ => recurse(e, ctx),
        VR::UI => uid(e, ctx),
        VR::DA => text("19000101"),
        VR::DT => text("19000101000000"),
        VR::TM => text("000000"),
        VR::IS | VR::DS => text("0"),
        VR::AS => text("000Y"),
        VR::US => DataElement::new(tag, vr, PrimitiveValue::from(0u16)),
        VR::SS => DataElement::new(tag, vr, PrimitiveValue::from(0i16)),
        VR::UL => DataElement::new(tag, vr, PrimitiveValue::from(0u32)),
        VR::SL => DataElement::new(tag, vr, PrimitiveValue::from(0i32)),
        VR::FL => DataElement::new(tag, vr, PrimitiveValue::from(0f32)),
        VR::FD => DataElement::new(tag, vr, PrimitiveValue::from(0f64)),
        VR::OB | VR::OW | VR::UN | VR::OF | VR::OD | VR::OL | VR::OV => {
            DataElement::new(tag, vr, PrimitiveValue::U8(vec![0u8, 0].into()))
        }
        _ => text("ANONYMIZED"),
    }
}

/// Moves a DA or DT value by `days` (each value of a multi-valued element).
fn shift_date(e: &Elem, days: i32) -> Elem {
    let Ok(s) = e.to_str() else {
        return e.clone();
    };
    let shifted: Vec<String> = s
        .split('\\')
        .map(|v| {
            let v = v.trim();
            if v.len() >= 8
                && let Some(d) = parse_ymd(&v[..8])
            {
                format!("{}{}", format_ymd(d + i64::from(days)), &v[8..])
            } else {
                v.to_owned()
            }
        })
        .collect();
    DataElement::new(e.tag(), e.vr(), PrimitiveValue::from(shifted.join("\\")))
}

/// Days since 1970-01-01 of a `YYYYMMDD` date (proleptic Gregorian).
fn parse_ymd(s: &str) -> Option<i64> {
    let y: i64 = s.get(0..4)?.parse().ok()?;
    let m: i64 = s.get(4..6)?.parse().ok()?;
    let d: i64 = s.get(6..8)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(twin_core::civil::days_from_civil(y, m, d))
}

fn format_ymd(z: i64) -> String {
    let (y, m, d) = twin_core::civil::civil_from_days(z);
    format!("{y:04}{m:02}{d:02}")
}

fn code_item(value: &str, meaning: &str) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    item.put(DataElement::new(
        tags::CODE_VALUE,
        VR::SH,
        PrimitiveValue::from(value),
    ));
    item.put(DataElement::new(
        tags::CODING_SCHEME_DESIGNATOR,
        VR::SH,
        PrimitiveValue::from("DCM"),
    ));
    item.put(DataElement::new(
        tags::CODE_MEANING,
        VR::LO,
        PrimitiveValue::from(meaning),
    ));
    item
}

fn mark(obj: &mut InMemDicomObject, dates: Dates, safe_private: bool) {
    obj.put(DataElement::new(
        tags::PATIENT_IDENTITY_REMOVED,
        VR::CS,
        PrimitiveValue::from("YES"),
    ));
    obj.put(DataElement::new(
        tags::DEIDENTIFICATION_METHOD,
        VR::LO,
        PrimitiveValue::from("PS3.15 E.1 Basic Profile (Twinscope)"),
    ));
    let mut codes = vec![code_item(
        "113100",
        "Basic Application Confidentiality Profile",
    )];
    let longitudinal = match dates {
        Dates::Remove => "REMOVED",
        Dates::Keep => {
            codes.push(code_item(
                "113106",
                "Retain Longitudinal Temporal Information Full Dates Option",
            ));
            "UNMODIFIED"
        }
        Dates::Shift(_) => {
            codes.push(code_item(
                "113107",
                "Retain Longitudinal Temporal Information Modified Dates Option",
            ));
            "MODIFIED"
        }
    };
    if safe_private {
        codes.push(code_item("113111", "Retain Safe Private Option"));
    }
    obj.put(DataElement::new(
        tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(codes),
    ));
    obj.put(DataElement::new(
        tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
        VR::CS,
        PrimitiveValue::from(longitudinal),
    ));
}

/// De-identifies one file into `out`. Returns a warning when the file says
/// its pixels carry burned-in annotation.
fn anonymize_file(input: &Path, out: &Path, ctx: &Ctx) -> Result<Option<String>, String> {
    crate::lengths::check_element_lengths(input).map_err(|e| format!("cannot read: {e}"))?;
    let file = open_file(input).map_err(|e| format!("cannot read: {e}"))?;
    let meta = file.meta();
    let ts = meta.transfer_syntax().trim_end_matches('\0').to_owned();
    let class = meta
        .media_storage_sop_class_uid()
        .trim_end_matches('\0')
        .to_owned();
    let burned = file
        .get(tags::BURNED_IN_ANNOTATION)
        .and_then(|e| e.to_str().ok())
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("YES"));
    let mut obj = clean(&file, ctx);
    mark(&mut obj, ctx.dates, ctx.retain_safe_private);
    let sop = obj
        .get(tags::SOP_INSTANCE_UID)
        .and_then(|e| e.to_str().ok())
        .map_or_else(
            || ctx.new_uid(&input.display().to_string()),
            |s| s.trim_end_matches('\0').to_owned(),
        );
    let file_out = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(ts)
                .media_storage_sop_class_uid(class)
                .media_storage_sop_instance_uid(sop)
                .implementation_class_uid(crate::IMPLEMENTATION_CLASS_UID)
                .implementation_version_name("TWINSCOPE01"),
        )
        .map_err(|e| format!("cannot build the file meta group: {e}"))?;
    file_out
        .write_to_file(out)
        .map_err(|e| format!("cannot write `{}`: {e}", out.display()))?;
    Ok(burned.then(|| {
        format!(
            "`{}` declares burned-in annotation: text in its pixels was not removed",
            input.display()
        )
    }))
}

/// De-identifies every DICOM file under `input` into `output`, which must not
/// exist yet or be empty, and must not lie inside `input` (nor `input` inside
/// it): the input is never modified. Output files are named by sequence
/// (`000001.dcm`, …) since input file names may carry identity. Unreadable
/// files are reported, not fatal.
pub fn anonymize_tree(
    input: &Path,
    output: &Path,
    options: &Options,
    progress: &Progress,
) -> Result<Report, ImagingError> {
    let folder_err = |path: &Path, message: String| ImagingError::Folder {
        path: path.to_owned(),
        message,
    };
    let input_abs = std::fs::canonicalize(input).map_err(|e| folder_err(input, e.to_string()))?;
    let output_abs = absolute_lexical(output).map_err(|e| folder_err(output, e.to_string()))?;
    let output_real = std::fs::canonicalize(&output_abs).unwrap_or(output_abs.clone());
    if output_real.starts_with(&input_abs) || input_abs.starts_with(&output_real) {
        return Err(folder_err(
            output,
            format!(
                "the output must be outside the input `{}` (inputs are never written to)",
                input.display()
            ),
        ));
    }
    if output.exists() {
        let mut entries =
            std::fs::read_dir(output).map_err(|e| folder_err(output, e.to_string()))?;
        if entries.next().is_some() {
            return Err(folder_err(
                output,
                "the output folder is not empty (nothing is overwritten)".to_owned(),
            ));
        }
    }
    let files = crate::scan::list_files(input)?;
    std::fs::create_dir_all(output).map_err(|e| folder_err(output, e.to_string()))?;
    let ctx = Ctx {
        secret: options
            .uid_secret
            .as_ref()
            .map_or_else(fresh_secret, |s| s.as_bytes().to_vec()),
        dates: options.dates,
        retain_safe_private: !options.remove_all_private,
    };
    let dicom: Vec<&PathBuf> = files
        .iter()
        .filter(|p| crate::header::looks_like_dicom(p))
        .collect();
    progress.begin("De-identifying", dicom.len() as u64);
    let results: Vec<(PathBuf, Result<Option<String>, String>)> = dicom
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            progress.check_cancelled()?;
            let out = output.join(format!("{:06}.dcm", i + 1));
            let r = anonymize_file(p, &out, &ctx);
            progress.advance(1);
            Ok(((*p).clone(), r))
        })
        .collect::<Result<_, twin_core::Cancelled>>()?;
    let mut report = Report {
        not_dicom: files.len() - dicom.len(),
        ..Report::default()
    };
    let mut warned = BTreeSet::new();
    for (path, r) in results {
        match r {
            Ok(w) => {
                report.files_written += 1;
                if let Some(w) = w
                    && warned.insert(w.clone())
                {
                    report.warnings.push(w);
                }
            }
            Err(e) => report.failed.push((path, e)),
        }
    }
    Ok(report)
}

fn absolute_lexical(p: &Path) -> std::io::Result<PathBuf> {
    if p.is_absolute() {
        Ok(p.to_owned())
    } else {
        Ok(std::env::current_dir()?.join(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_shift_across_months_and_leap_years() {
        assert_eq!(parse_ymd("19700101"), Some(0));
        assert_eq!(format_ymd(parse_ymd("20240228").unwrap() + 1), "20240229");
        assert_eq!(format_ymd(parse_ymd("20231231").unwrap() + 1), "20240101");
        assert_eq!(format_ymd(parse_ymd("20000301").unwrap() - 1), "20000229");
        assert_eq!(format_ymd(parse_ymd("19000301").unwrap() - 1), "19000228");
        assert_eq!(parse_ymd("20241301"), None);
    }

    #[test]
    fn the_table_has_the_profile_actions() {
        assert_eq!(profile_action(tags::PATIENT_NAME), Some(Action::Z));
        assert_eq!(profile_action(tags::STUDY_INSTANCE_UID), Some(Action::U));
        assert_eq!(profile_action(tags::INSTITUTION_NAME), Some(Action::XZD));
        assert_eq!(profile_action(Tag(0x6002, 0x3000)), Some(Action::X)); // overlay data
        assert_eq!(profile_action(tags::IMAGE_POSITION_PATIENT), None);
        assert!(profile().len() > 600);
    }

    #[test]
    fn uids_map_consistently_and_differently() {
        let ctx = Ctx {
            secret: b"s".to_vec(),
            dates: Dates::Remove,
            retain_safe_private: true,
        };
        let a = ctx.new_uid("1.2.3");
        assert_eq!(a, ctx.new_uid("1.2.3\0"));
        assert_ne!(a, ctx.new_uid("1.2.4"));
        assert!(a.starts_with("2.25.") && a.len() <= 64);
    }
}
