//! Header-only reading of one DICOM file into the attributes the loader needs.

use std::path::{Path, PathBuf};

use dicom::core::Tag;
use dicom::dictionary_std::tags;
use dicom::object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use nalgebra::Vector3;

use crate::identity::PatientIdentity;

/// What the loader needs from one instance (read without its pixel data).
#[derive(Debug, Clone)]
pub struct InstanceHeader {
    pub path: PathBuf,
    pub identity: PatientIdentity,
    pub study_uid: String,
    pub study_date: String,
    pub study_description: String,
    pub series_uid: String,
    pub series_number: Option<i32>,
    pub series_description: String,
    pub modality: String,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub transfer_syntax: String,
    pub instance_number: Option<i32>,
    pub image_type: Vec<String>,
    pub rows: u16,
    pub columns: u16,
    pub frames: u32,
    /// PixelSpacing: (spacing between rows, spacing between columns) in mm.
    pub pixel_spacing: Option<[f64; 2]>,
    /// ImageOrientationPatient: row and column direction cosines.
    pub orientation: Option<[f64; 6]>,
    /// ImagePositionPatient of the first pixel (mm).
    pub position: Option<[f64; 3]>,
    pub slice_thickness: Option<f64>,
    pub trigger_time: Option<f64>,
    pub temporal_position: Option<i32>,
    pub rescale_slope: f64,
    pub rescale_intercept: f64,
    pub photometric: String,
    pub window: Option<(f64, f64)>,
}

impl InstanceHeader {
    /// Whether this instance has pixel data we can place in 3D.
    #[must_use]
    pub fn has_geometry(&self) -> bool {
        self.pixel_spacing.is_some() && self.orientation.is_some() && self.position.is_some()
    }

    /// Whether ImageType marks a scout/localizer.
    #[must_use]
    pub fn is_localizer(&self) -> bool {
        self.image_type
            .iter()
            .any(|t| t.eq_ignore_ascii_case("LOCALIZER"))
    }

    /// Unit normal of the image plane (row × column), if oriented.
    #[must_use]
    pub fn normal(&self) -> Option<Vector3<f64>> {
        let o = self.orientation?;
        let r = Vector3::new(o[0], o[1], o[2]);
        let c = Vector3::new(o[3], o[4], o[5]);
        let n = r.cross(&c);
        let len = n.norm();
        (len > 1e-6).then(|| n / len)
    }
}

pub(crate) fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!s.is_empty()).then(|| s.to_owned())
}

pub(crate) fn floats(obj: &InMemDicomObject, tag: Tag) -> Option<Vec<f64>> {
    let v = obj.get(tag)?.to_multi_float64().ok()?;
    (!v.is_empty() && v.iter().all(|x| x.is_finite())).then_some(v)
}

pub(crate) fn float(obj: &InMemDicomObject, tag: Tag) -> Option<f64> {
    floats(obj, tag).map(|v| v[0])
}

pub(crate) fn int(obj: &InMemDicomObject, tag: Tag) -> Option<i32> {
    obj.get(tag)?.to_int::<i32>().ok()
}

fn fixed<const N: usize>(v: Option<Vec<f64>>) -> Option<[f64; N]> {
    let v = v?;
    (v.len() >= N).then(|| std::array::from_fn(|i| v[i]))
}

/// Why a file was not read as a DICOM image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAnImage {
    /// Not a DICOM Part 10 file (no `DICM` preamble).
    NotDicom,
    /// DICOM, but without pixel data (e.g. DICOMDIR, structured report).
    NoPixels,
    /// DICOM that could not be parsed.
    Unreadable(String),
}

/// Quick check for the 128-byte preamble followed by `DICM`.
#[must_use]
pub fn looks_like_dicom(path: &Path) -> bool {
    use std::io::Read;
    let mut buf = [0u8; 132];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok_and(|()| &buf[128..132] == b"DICM")
}

/// Reads the header of `path`, stopping before the pixel data.
pub fn read_header(path: &Path) -> Result<InstanceHeader, NotAnImage> {
    if !looks_like_dicom(path) {
        return Err(NotAnImage::NotDicom);
    }
    let obj: DefaultDicomObject = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|e| NotAnImage::Unreadable(e.to_string()))?;
    let rows = int(&obj, tags::ROWS).unwrap_or(0);
    let columns = int(&obj, tags::COLUMNS).unwrap_or(0);
    if rows <= 0 || columns <= 0 {
        return Err(NotAnImage::NoPixels);
    }
    let window = match (
        float(&obj, tags::WINDOW_CENTER),
        float(&obj, tags::WINDOW_WIDTH),
    ) {
        (Some(c), Some(w)) if w > 0.0 => Some((c, w)),
        _ => None,
    };
    let meta = obj.meta();
    Ok(InstanceHeader {
        path: path.to_owned(),
        identity: PatientIdentity {
            name: text(&obj, tags::PATIENT_NAME).unwrap_or_default(),
            id: text(&obj, tags::PATIENT_ID).unwrap_or_default(),
            birth_date: text(&obj, tags::PATIENT_BIRTH_DATE).unwrap_or_default(),
            accession: text(&obj, tags::ACCESSION_NUMBER).unwrap_or_default(),
        },
        study_uid: text(&obj, tags::STUDY_INSTANCE_UID).unwrap_or_default(),
        study_date: text(&obj, tags::STUDY_DATE).unwrap_or_default(),
        study_description: text(&obj, tags::STUDY_DESCRIPTION).unwrap_or_default(),
        series_uid: text(&obj, tags::SERIES_INSTANCE_UID).unwrap_or_default(),
        series_number: int(&obj, tags::SERIES_NUMBER),
        series_description: text(&obj, tags::SERIES_DESCRIPTION).unwrap_or_default(),
        modality: text(&obj, tags::MODALITY).unwrap_or_default(),
        sop_class_uid: meta
            .media_storage_sop_class_uid()
            .trim_end_matches('\0')
            .to_owned(),
        sop_instance_uid: text(&obj, tags::SOP_INSTANCE_UID).unwrap_or_default(),
        transfer_syntax: meta.transfer_syntax().trim_end_matches('\0').to_owned(),
        instance_number: int(&obj, tags::INSTANCE_NUMBER),
        image_type: text(&obj, tags::IMAGE_TYPE)
            .map(|s| s.split('\\').map(|p| p.trim().to_owned()).collect())
            .unwrap_or_default(),
        rows: u16::try_from(rows).unwrap_or(0),
        columns: u16::try_from(columns).unwrap_or(0),
        frames: int(&obj, tags::NUMBER_OF_FRAMES)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1)
            .max(1),
        pixel_spacing: fixed(floats(&obj, tags::PIXEL_SPACING))
            .filter(|s: &[f64; 2]| s.iter().all(|x| *x > 0.0)),
        orientation: fixed(floats(&obj, tags::IMAGE_ORIENTATION_PATIENT)),
        position: fixed(floats(&obj, tags::IMAGE_POSITION_PATIENT)),
        slice_thickness: float(&obj, tags::SLICE_THICKNESS),
        trigger_time: float(&obj, tags::TRIGGER_TIME),
        temporal_position: int(&obj, tags::TEMPORAL_POSITION_IDENTIFIER),
        rescale_slope: float(&obj, tags::RESCALE_SLOPE)
            .filter(|s| *s != 0.0)
            .unwrap_or(1.0),
        rescale_intercept: float(&obj, tags::RESCALE_INTERCEPT).unwrap_or(0.0),
        photometric: text(&obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_default(),
        window,
    })
}
