//! De-identification (PS3.15 Basic Profile): every attribute of the table gets
//! its action, private attributes go, UIDs are remapped consistently, dates
//! follow the chosen option, the output loads as the same volume, and the
//! input is never touched.

use std::collections::BTreeMap;
use std::path::Path;

use dicom::core::dictionary::DataDictionary;
use dicom::core::header::Header;
use dicom::core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom::core::{DataElement, Tag, VR};
use dicom::dictionary_std::{StandardDataDictionary, tags, uids};
use dicom::object::{FileMetaTableBuilder, InMemDicomObject, open_file};
use sha2::{Digest, Sha256};
use twin_core::Progress;
use twin_core::testdata::require;
use twin_imaging::deid::{Action, Dates, Options, anonymize_tree, profile};
use twin_imaging::volume::DEFAULT_BUDGET_BYTES;
use twin_imaging::{load_stack, scan_folder};

fn value_for(vr: VR, n: usize) -> PrimitiveValue {
    match vr {
        VR::DA => PrimitiveValue::from("20200411"),
        VR::DT => PrimitiveValue::from("20200411101500"),
        VR::TM => PrimitiveValue::from("101500"),
        VR::UI => PrimitiveValue::from(format!("1.2.826.0.1.3680043.9.7777.{n}")),
        VR::IS | VR::DS => PrimitiveValue::from("7"),
        VR::AS => PrimitiveValue::from("042Y"),
        VR::US => PrimitiveValue::from(7u16),
        VR::SS => PrimitiveValue::from(7i16),
        VR::UL => PrimitiveValue::from(7u32),
        VR::SL => PrimitiveValue::from(7i32),
        VR::FL => PrimitiveValue::from(7f32),
        VR::FD => PrimitiveValue::from(7f64),
        VR::OB | VR::OW | VR::UN | VR::OF | VR::OD | VR::OL | VR::OV | VR::UV | VR::SV => {
            PrimitiveValue::U8(vec![1u8, 2, 3, 4].into())
        }
        VR::CS => PrimitiveValue::from("SECRET"),
        _ => PrimitiveValue::from("SECRET^VALUE"),
    }
}

fn secret_item() -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    item.put(DataElement::new(
        tags::PATIENT_NAME,
        VR::PN,
        PrimitiveValue::from("DOE^JOHN"),
    ));
    item.put(DataElement::new(
        tags::REFERENCED_SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from("1.2.826.0.1.3680043.9.7777.99999"),
    ));
    item
}

/// A data set holding every attribute of the table (where the dictionary
/// knows its VR), a private block, and a nested identity.
fn write_everything(path: &Path) -> BTreeMap<Tag, (Action, VR)> {
    let dict = StandardDataDictionary;
    let mut obj = InMemDicomObject::new_empty();
    let mut placed = BTreeMap::new();
    for (n, &(g, e, gm, em, action, _)) in profile().iter().enumerate() {
        // Masked entries (overlays, curves): one concrete tag each.
        let tag = if gm != 0xFFFF || em != 0xFFFF {
            Tag(g | 0x02, if em == 0 { 0x0010 } else { e })
        } else {
            Tag(g, e)
        };
        if tag.0 < 0x0008 || tag.0 == 0xFFFA || tag.0 == 0xFFFC {
            continue; // command / file meta / signature and padding elements
        }
        let vr = if gm == 0xFFFF {
            match dict.by_tag(tag).map(|d| d.vr.relaxed()) {
                Some(vr) => vr,
                None => continue,
            }
        } else if tag.1 == 0x4000 {
            VR::LT
        } else {
            VR::OW
        };
        if vr == VR::SQ {
            obj.put(DataElement::new(
                tag,
                VR::SQ,
                DataSetSequence::from(vec![secret_item()]),
            ));
        } else {
            obj.put(DataElement::new(tag, vr, value_for(vr, n)));
        }
        placed.insert(tag, (action, vr));
    }
    // Private block.
    obj.put(DataElement::new(
        Tag(0x0009, 0x0010),
        VR::LO,
        PrimitiveValue::from("ACME"),
    ));
    obj.put(DataElement::new(
        Tag(0x0009, 0x1001),
        VR::LO,
        PrimitiveValue::from("secret"),
    ));
    // A sequence the profile does not list, carrying identity inside.
    obj.put(DataElement::new(
        tags::ANATOMIC_REGION_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![secret_item()]),
    ));
    // A small image so the file is complete.
    for (tag, v) in [
        (tags::SAMPLES_PER_PIXEL, 1u16),
        (tags::ROWS, 2),
        (tags::COLUMNS, 2),
        (tags::BITS_ALLOCATED, 16),
        (tags::BITS_STORED, 16),
        (tags::HIGH_BIT, 15),
        (tags::PIXEL_REPRESENTATION, 0),
    ] {
        obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
    }
    obj.put(DataElement::new(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        PrimitiveValue::from("MONOCHROME2"),
    ));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(vec![1u16, 2, 3, 4].into()),
    ));
    obj.put(DataElement::new(
        tags::SOP_CLASS_UID,
        VR::UI,
        PrimitiveValue::from(uids::SECONDARY_CAPTURE_IMAGE_STORAGE),
    ));
    let sop = "1.2.826.0.1.3680043.9.7777.1";
    obj.put(DataElement::new(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from(sop),
    ));
    obj.with_meta(
        FileMetaTableBuilder::new()
            .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
            .media_storage_sop_class_uid(uids::SECONDARY_CAPTURE_IMAGE_STORAGE)
            .media_storage_sop_instance_uid(sop),
    )
    .unwrap()
    .write_to_file(path)
    .unwrap();
    placed
}

fn is_empty(e: &DataElement<InMemDicomObject>) -> bool {
    match e.value() {
        Value::Sequence(s) => s.items().is_empty(),
        v => v.to_bytes().map_or(true, |b| b.is_empty()),
    }
}

#[test]
fn every_attribute_of_the_table_gets_its_action() {
    let input = tempfile::tempdir().unwrap();
    let placed = write_everything(&input.path().join("all.dcm"));
    assert!(
        placed.len() > 500,
        "only {} attributes placed",
        placed.len()
    );
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("anon");
    let report = anonymize_tree(
        input.path(),
        &out_dir,
        &Options::default(),
        &Progress::new(),
    )
    .unwrap();
    assert_eq!(report.files_written, 1, "{:?}", report.failed);
    let obj = open_file(out_dir.join("000001.dcm")).unwrap();
    let mut checked = 0;
    for (&tag, &(action, vr)) in &placed {
        let e = obj.get(tag);
        match action {
            Action::X | Action::XD => assert!(e.is_none(), "{tag} ({action:?}) kept"),
            Action::Z | Action::ZD | Action::XZ | Action::XZD => {
                let e = e.unwrap_or_else(|| panic!("{tag} ({action:?}) removed"));
                assert!(is_empty(e), "{tag} ({action:?}) not emptied");
            }
            Action::D => {
                let e = e.unwrap_or_else(|| panic!("{tag} (D) removed"));
                if vr != VR::SQ {
                    assert!(!is_empty(e), "{tag} (D) empty");
                    let s = e.to_str().unwrap_or_default();
                    assert!(
                        !s.contains("SECRET") && !s.contains("20200411"),
                        "{tag} (D) = {s}"
                    );
                }
            }
            Action::U => {
                let s = e
                    .unwrap_or_else(|| panic!("{tag} (U) removed"))
                    .to_str()
                    .unwrap();
                assert!(
                    s.starts_with("2.25.") && !s.contains("3680043.9.7777"),
                    "{tag} (U) = {s}"
                );
            }
            Action::XZU => assert!(e.is_some(), "{tag} (X/Z/U*) dropped"),
        }
        checked += 1;
    }
    assert_eq!(checked, placed.len());
    // Private attributes are gone (none of them is a safe one).
    assert!(obj.iter().all(|e| e.tag().0 % 2 == 0));
    // Identity nested in a sequence the profile does not list is cleaned too.
    let seq = obj.get(tags::ANATOMIC_REGION_SEQUENCE).unwrap();
    let item = &seq.items().unwrap()[0];
    assert!(is_empty(item.get(tags::PATIENT_NAME).unwrap()));
    let r = item
        .get(tags::REFERENCED_SOP_INSTANCE_UID)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(r.starts_with("2.25."));
    // The output records what was done.
    assert_eq!(
        obj.get(tags::PATIENT_IDENTITY_REMOVED)
            .unwrap()
            .to_str()
            .unwrap()
            .trim(),
        "YES"
    );
    let meta_sop = obj
        .meta()
        .media_storage_sop_instance_uid()
        .trim_end_matches('\0')
        .to_owned();
    assert_eq!(
        meta_sop,
        obj.get(tags::SOP_INSTANCE_UID)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0')
    );
}

fn tree_digest(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in walk(dir) {
        let bytes = std::fs::read(&e).unwrap();
        out.push((
            e.display().to_string(),
            format!("{:x}", Sha256::digest(&bytes)),
        ));
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}

#[test]
fn real_studies_load_as_the_same_volumes_after_de_identification() {
    let Some(dicom) = require("dicom") else {
        return;
    };
    for (sub, expect_phases) in [
        ("ct_chest_covidctmd_normal001/dicom", 1usize),
        ("cmr_sax_sunnybrook_SCD0003701_subset/dicom", 2),
        ("mr_dcm_qa_ts/In", 9),
        ("mr_dcm_qa_canon_61/In", 13),
        // Philips quantitative values need the (safe, retained) private scale slope.
        ("mr_dcm_qa_enh/In/Philips", 2),
    ] {
        let input = dicom.join(sub);
        let before = tree_digest(&input);
        let out = tempfile::tempdir().unwrap();
        let report = anonymize_tree(
            &input,
            &out.path().join("a"),
            &Options::default(),
            &Progress::new(),
        )
        .unwrap();
        assert!(report.failed.is_empty(), "{sub}: {:?}", report.failed);
        assert_eq!(tree_digest(&input), before, "{sub}: input modified");
        let a = scan_folder(&input, &Progress::new()).unwrap();
        let b = scan_folder(&out.path().join("a"), &Progress::new()).unwrap();
        let (_, sa, ka) = a.stacks().next().unwrap();
        let (stb, sb, kb) = b.stacks().next().unwrap();
        assert_eq!(ka.phases, expect_phases, "{sub}");
        assert_eq!(kb.phases, ka.phases, "{sub}");
        assert_ne!(sa.uid, sb.uid, "{sub}: series UID kept");
        assert!(
            stb.identity.name.is_empty() && stb.identity.id.is_empty(),
            "{sub}"
        );
        assert!(stb.date.is_empty(), "{sub}: study date kept");
        // All files of the series still share one (new) series and study.
        assert_eq!(b.studies.len(), a.studies.len(), "{sub}");
        for phase in [0, ka.phases - 1] {
            let va = load_stack(ka, phase, &Progress::new(), DEFAULT_BUDGET_BYTES).unwrap();
            let vb = load_stack(kb, phase, &Progress::new(), DEFAULT_BUDGET_BYTES).unwrap();
            assert_eq!(va.dims, vb.dims, "{sub}");
            assert_eq!(va.affine, vb.affine, "{sub}");
            assert!(va.data == vb.data, "{sub}: voxel values differ");
        }
    }
}

#[test]
fn dates_are_removed_kept_or_shifted() {
    let Some(dir) = require("dicom/ct_chest_covidctmd_normal001/dicom") else {
        return;
    };
    // Two files are enough.
    let src = tempfile::tempdir().unwrap();
    let mut names: Vec<_> = walk(&dir);
    names.sort();
    for p in names.iter().take(2) {
        std::fs::copy(p, src.path().join(p.file_name().unwrap())).unwrap();
    }
    let study_date = |opts: Options| {
        let out = tempfile::tempdir().unwrap();
        let o = out.path().join("a");
        anonymize_tree(src.path(), &o, &opts, &Progress::new()).unwrap();
        let obj = open_file(o.join("000001.dcm")).unwrap();
        let get = |t| obj.get(t).map(|e| e.to_str().unwrap().trim().to_owned());
        (
            get(tags::STUDY_DATE),
            get(tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED),
        )
    };
    // COVID-CT-MD StudyDate is 20200411 (MANIFEST).
    let (d, l) = study_date(Options::default());
    assert_eq!(d.as_deref(), Some(""));
    assert_eq!(l.as_deref(), Some("REMOVED"));
    let (d, l) = study_date(Options {
        dates: Dates::Keep,
        ..Options::default()
    });
    assert_eq!(d.as_deref(), Some("20200411"));
    assert_eq!(l.as_deref(), Some("UNMODIFIED"));
    let (d, l) = study_date(Options {
        dates: Dates::Shift(-365),
        ..Options::default()
    });
    assert_eq!(d.as_deref(), Some("20190412"));
    assert_eq!(l.as_deref(), Some("MODIFIED"));
}

#[test]
fn output_inside_input_or_not_empty_is_refused() {
    let input = tempfile::tempdir().unwrap();
    write_everything(&input.path().join("x.dcm"));
    let e = anonymize_tree(
        input.path(),
        &input.path().join("out"),
        &Options::default(),
        &Progress::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("outside the input"), "{e}");
    assert!(!input.path().join("out").exists());
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("keep.txt"), "user work").unwrap();
    let e = anonymize_tree(
        input.path(),
        out.path(),
        &Options::default(),
        &Progress::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("not empty"), "{e}");
    assert_eq!(
        std::fs::read_to_string(out.path().join("keep.txt")).unwrap(),
        "user work"
    );
}

#[test]
fn removing_all_private_attributes_is_an_option() {
    let Some(dir) = require("dicom/mr_dcm_qa_ts/In") else {
        return;
    };
    let src = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("1.dcm"), src.path().join("1.dcm")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let opts = Options {
        remove_all_private: true,
        ..Options::default()
    };
    anonymize_tree(src.path(), &out.path().join("a"), &opts, &Progress::new()).unwrap();
    let obj = open_file(out.path().join("a/000001.dcm")).unwrap();
    assert!(obj.iter().all(|e| e.tag().0 % 2 == 0));
    // Without the Siemens mosaic attributes the image stays a 2D mosaic.
    let b = scan_folder(&out.path().join("a"), &Progress::new()).unwrap();
    assert_eq!(b.stacks().next().unwrap().2.rows, 384);
}
