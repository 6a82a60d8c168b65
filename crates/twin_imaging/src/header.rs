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
    /// NumberOfFrames of the file (1 for single-frame images).
    pub frames: u32,
    /// For a frame of a multi-frame file: its 0-based index (each frame becomes
    /// one `InstanceHeader` with that frame's functional-group attributes).
    pub frame: Option<u32>,
    pub echo_time: Option<f64>,
    /// Phase (not magnitude) image, from ImageType / FrameType.
    pub phase_image: bool,
    /// A map derived by the scanner (e.g. a B0 field map), ordered after the
    /// source images acquired with it.
    pub derived_map: bool,
    pub b_value: Option<f64>,
    /// Philips private scale slope (2005,100E): with it, the quantitative
    /// "floating point" value is `(stored·RS + RI) / (RS·SS)` (what dcm2niix writes).
    pub philips_scale_slope: Option<f64>,
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
    /// Time between frames of a multi-frame cine without per-frame timing (ms).
    pub frame_time: Option<f64>,
    /// For one slice cut out of a Siemens mosaic: (tile index, tiles across).
    /// `rows` and `columns` are then the tile's, not the stored image's.
    pub mosaic: Option<(u32, u32)>,
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

/// Reads the header of `path`, stopping before the pixel data. A multi-frame
/// (enhanced) file gives one header per frame, with the geometry, rescale,
/// timing and echo of that frame from its functional groups.
pub fn read_headers(path: &Path) -> Result<Vec<InstanceHeader>, NotAnImage> {
    let obj = open_header(path)?;
    let h = file_header(&obj, path)?;
    if h.frames <= 1 {
        return Ok(demosaic(&obj, h));
    }
    let philips = is_philips(&obj);
    let shared = obj
        .get(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items())
        .and_then(|items| items.first());
    let per_frame = obj
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items());
    let Some(per_frame) = per_frame else {
        // Multi-frame without functional groups (e.g. an old cine): frames share
        // the file's attributes.
        return Ok((0..h.frames)
            .map(|f| InstanceHeader {
                frame: Some(f),
                ..h.clone()
            })
            .collect());
    };
    if per_frame.len() != h.frames as usize {
        return Err(NotAnImage::Unreadable(format!(
            "NumberOfFrames is {} but the per-frame functional groups hold {} items",
            h.frames,
            per_frame.len()
        )));
    }
    Ok(per_frame
        .iter()
        .enumerate()
        .map(|(f, frame_groups)| {
            // A macro in the per-frame item wins over the shared one.
            let group = |seq: Tag| {
                [Some(frame_groups), shared]
                    .into_iter()
                    .flatten()
                    .find_map(|g| g.get(seq).and_then(|e| e.items()).and_then(|i| i.first()))
            };
            let mut fh = h.clone();
            fh.frame = Some(f as u32);
            if let Some(g) = group(tags::PLANE_POSITION_SEQUENCE) {
                fh.position = fixed(floats(g, tags::IMAGE_POSITION_PATIENT));
            }
            if let Some(g) = group(tags::PLANE_ORIENTATION_SEQUENCE) {
                fh.orientation = fixed(floats(g, tags::IMAGE_ORIENTATION_PATIENT));
            }
            if let Some(g) = group(tags::PIXEL_MEASURES_SEQUENCE) {
                fh.pixel_spacing = fixed(floats(g, tags::PIXEL_SPACING))
                    .filter(|s: &[f64; 2]| s.iter().all(|x| *x > 0.0))
                    .or(fh.pixel_spacing);
                fh.slice_thickness = float(g, tags::SLICE_THICKNESS).or(fh.slice_thickness);
            }
            if let Some(g) = group(tags::FRAME_CONTENT_SEQUENCE) {
                fh.temporal_position =
                    int(g, tags::TEMPORAL_POSITION_INDEX).or(fh.temporal_position);
            }
            if let Some(g) = group(tags::CARDIAC_SYNCHRONIZATION_SEQUENCE) {
                fh.trigger_time =
                    float(g, tags::NOMINAL_CARDIAC_TRIGGER_DELAY_TIME).or(fh.trigger_time);
            }
            if let Some(g) = group(tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE) {
                fh.rescale_slope = float(g, tags::RESCALE_SLOPE)
                    .filter(|s| *s != 0.0)
                    .unwrap_or(fh.rescale_slope);
                fh.rescale_intercept =
                    float(g, tags::RESCALE_INTERCEPT).unwrap_or(fh.rescale_intercept);
            }
            if let Some(g) = group(tags::MR_ECHO_SEQUENCE) {
                fh.echo_time = float(g, tags::EFFECTIVE_ECHO_TIME).or(fh.echo_time);
            }
            if let Some(g) = group(tags::MR_DIFFUSION_SEQUENCE) {
                fh.b_value = float(g, tags::DIFFUSION_B_VALUE).or(fh.b_value);
            }
            if philips && let Some(ss) = philips_scale(frame_groups) {
                fh.philips_scale_slope = Some(ss);
            }
            if let Some(g) = group(tags::MR_IMAGE_FRAME_TYPE_SEQUENCE)
                .or_else(|| group(tags::CT_IMAGE_FRAME_TYPE_SEQUENCE))
                && let Some(t) = text(g, tags::FRAME_TYPE)
            {
                fh.phase_image = is_phase_type(&t);
                fh.derived_map = is_derived_map(&t);
            }
            fh
        })
        .collect())
}

const PHILIPS_SCALE_SLOPE: Tag = Tag(0x2005, 0x100E);

/// Only Philips files carry the private scale slope; other vendors may use
/// group 2005 for something else, and the search is skipped for them.
fn is_philips(obj: &InMemDicomObject) -> bool {
    text(obj, tags::MANUFACTURER).is_some_and(|m| m.to_ascii_uppercase().contains("PHILIPS"))
}

/// The Philips private scale slope of a data set or of the items of its
/// sequences (where enhanced files keep it per frame), if valid.
fn philips_scale(obj: &InMemDicomObject) -> Option<f64> {
    let valid = |v: f64| (v.is_finite() && v != 0.0).then_some(v);
    if let Some(v) = float(obj, PHILIPS_SCALE_SLOPE).and_then(valid) {
        return Some(v);
    }
    obj.iter()
        .filter_map(|e| e.items())
        .flatten()
        .find_map(|item| float(item, PHILIPS_SCALE_SLOPE).and_then(valid))
}

fn is_derived_map(image_type: &str) -> bool {
    image_type
        .split('\\')
        .any(|v| matches!(v.trim(), "FIELD_MAP" | "B0" | "B0_MAP"))
}

fn is_phase_type(image_type: &str) -> bool {
    image_type
        .split('\\')
        .any(|v| matches!(v.trim(), "P" | "PHASE"))
}

/// Reads the header of `path`, stopping before the pixel data (the file-level
/// attributes only; see [`read_headers`] for multi-frame files).
pub fn read_header(path: &Path) -> Result<InstanceHeader, NotAnImage> {
    file_header(&open_header(path)?, path)
}

fn open_header(path: &Path) -> Result<DefaultDicomObject, NotAnImage> {
    if !looks_like_dicom(path) {
        return Err(NotAnImage::NotDicom);
    }
    crate::lengths::check_element_lengths(path).map_err(NotAnImage::Unreadable)?;
    twin_core::limits::contain_panic(|| {
        OpenFileOptions::new()
            .read_until(tags::PIXEL_DATA)
            .open_file(path)
    })
    .map_err(NotAnImage::Unreadable)?
    .map_err(|e| NotAnImage::Unreadable(e.to_string()))
}

fn file_header(obj: &DefaultDicomObject, path: &Path) -> Result<InstanceHeader, NotAnImage> {
    let rows = int(obj, tags::ROWS).unwrap_or(0);
    let columns = int(obj, tags::COLUMNS).unwrap_or(0);
    if rows <= 0 || columns <= 0 {
        return Err(NotAnImage::NoPixels);
    }
    let window = match (
        float(obj, tags::WINDOW_CENTER),
        float(obj, tags::WINDOW_WIDTH),
    ) {
        (Some(c), Some(w)) if w > 0.0 => Some((c, w)),
        _ => None,
    };
    let meta = obj.meta();
    Ok(InstanceHeader {
        path: path.to_owned(),
        identity: PatientIdentity {
            name: text(obj, tags::PATIENT_NAME).unwrap_or_default(),
            id: text(obj, tags::PATIENT_ID).unwrap_or_default(),
            birth_date: text(obj, tags::PATIENT_BIRTH_DATE).unwrap_or_default(),
            accession: text(obj, tags::ACCESSION_NUMBER).unwrap_or_default(),
        },
        study_uid: text(obj, tags::STUDY_INSTANCE_UID).unwrap_or_default(),
        study_date: text(obj, tags::STUDY_DATE).unwrap_or_default(),
        study_description: text(obj, tags::STUDY_DESCRIPTION).unwrap_or_default(),
        series_uid: text(obj, tags::SERIES_INSTANCE_UID).unwrap_or_default(),
        series_number: int(obj, tags::SERIES_NUMBER),
        series_description: text(obj, tags::SERIES_DESCRIPTION).unwrap_or_default(),
        modality: text(obj, tags::MODALITY).unwrap_or_default(),
        sop_class_uid: meta
            .media_storage_sop_class_uid()
            .trim_end_matches('\0')
            .to_owned(),
        sop_instance_uid: text(obj, tags::SOP_INSTANCE_UID).unwrap_or_default(),
        transfer_syntax: meta.transfer_syntax().trim_end_matches('\0').to_owned(),
        instance_number: int(obj, tags::INSTANCE_NUMBER),
        image_type: text(obj, tags::IMAGE_TYPE)
            .map(|s| s.split('\\').map(|p| p.trim().to_owned()).collect())
            .unwrap_or_default(),
        rows: u16::try_from(rows).unwrap_or(0),
        columns: u16::try_from(columns).unwrap_or(0),
        frames: int(obj, tags::NUMBER_OF_FRAMES)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1)
            .max(1),
        frame: None,
        echo_time: float(obj, tags::ECHO_TIME),
        phase_image: text(obj, tags::IMAGE_TYPE).is_some_and(|t| is_phase_type(&t)),
        derived_map: text(obj, tags::IMAGE_TYPE).is_some_and(|t| is_derived_map(&t)),
        b_value: float(obj, tags::DIFFUSION_B_VALUE),
        philips_scale_slope: if is_philips(obj) {
            philips_scale(obj)
        } else {
            None
        },
        pixel_spacing: fixed(floats(obj, tags::PIXEL_SPACING))
            .filter(|s: &[f64; 2]| s.iter().all(|x| *x > 0.0)),
        orientation: fixed(floats(obj, tags::IMAGE_ORIENTATION_PATIENT)),
        position: fixed(floats(obj, tags::IMAGE_POSITION_PATIENT)),
        slice_thickness: float(obj, tags::SLICE_THICKNESS),
        trigger_time: float(obj, tags::TRIGGER_TIME),
        temporal_position: int(obj, tags::TEMPORAL_POSITION_IDENTIFIER),
        rescale_slope: float(obj, tags::RESCALE_SLOPE)
            .filter(|s| *s != 0.0)
            .unwrap_or(1.0),
        rescale_intercept: float(obj, tags::RESCALE_INTERCEPT).unwrap_or(0.0),
        photometric: text(obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_default(),
        window,
        frame_time: float(obj, tags::FRAME_TIME).filter(|t| *t > 0.0),
        mosaic: None,
    })
}

const SIEMENS_MOSAIC_COUNT: Tag = Tag(0x0019, 0x100A);
const SIEMENS_CSA_IMAGE: Tag = Tag(0x0029, 0x1010);

/// Cuts a Siemens mosaic (ImageType MOSAIC: N slices tiled into one image)
/// into one header per slice, with the slice's true position: ImagePositionPatient
/// of a mosaic is that of the whole tiled image, so it is moved to the first
/// tile's corner, and slices step along the CSA SliceNormalVector by
/// SpacingBetweenSlices (the dcm2niix convention).
fn demosaic(obj: &DefaultDicomObject, h: InstanceHeader) -> Vec<InstanceHeader> {
    let is_mosaic = h.image_type.iter().any(|t| t == "MOSAIC")
        && text(obj, tags::MANUFACTURER)
            .is_some_and(|m| m.to_ascii_uppercase().contains("SIEMENS"));
    if !is_mosaic || h.frames > 1 {
        return vec![h];
    }
    let csa = obj
        .get(SIEMENS_CSA_IMAGE)
        .and_then(|e| e.to_bytes().ok())
        .map(std::borrow::Cow::into_owned);
    let count = int(obj, SIEMENS_MOSAIC_COUNT)
        .filter(|n| *n > 0)
        .or_else(|| {
            csa.as_deref()
                .and_then(|c| csa_values(c, "NumberOfImagesInMosaic"))
                .and_then(|v| v.first()?.trim().parse().ok())
        });
    let Some(count) = count.and_then(|n| u32::try_from(n).ok()) else {
        return vec![h];
    };
    let across = (f64::from(count)).sqrt().ceil() as u32;
    if across == 0 || u32::from(h.rows) % across != 0 || u32::from(h.columns) % across != 0 {
        return vec![h];
    }
    let (tile_rows, tile_cols) = (u32::from(h.rows) / across, u32::from(h.columns) / across);
    let (Some(o), Some(ps), Some(p)) = (h.orientation, h.pixel_spacing, h.position) else {
        return vec![h];
    };
    let row = Vector3::new(o[0], o[1], o[2]);
    let col = Vector3::new(o[3], o[4], o[5]);
    let Some(mut normal) = h.normal() else {
        return vec![h];
    };
    if let Some(v) = csa
        .as_deref()
        .and_then(|c| csa_values(c, "SliceNormalVector"))
        && let [x, y, z] = v
            .iter()
            .filter_map(|s| s.trim().parse::<f64>().ok())
            .collect::<Vec<_>>()[..]
        && Vector3::new(x, y, z).dot(&normal) < 0.0
    {
        normal = -normal;
    }
    let step = float(obj, tags::SPACING_BETWEEN_SLICES)
        .filter(|s| *s > 0.0)
        .or(h.slice_thickness)
        .unwrap_or(1.0);
    // Corner of the first tile: the mosaic corner moved by half the margin.
    let origin = Vector3::from(p)
        + row * ps[1] * f64::from(u32::from(h.columns) - tile_cols) / 2.0
        + col * ps[0] * f64::from(u32::from(h.rows) - tile_rows) / 2.0;
    (0..count)
        .map(|i| {
            let pos = origin + normal * step * f64::from(i);
            InstanceHeader {
                rows: tile_rows as u16,
                columns: tile_cols as u16,
                position: Some([pos.x, pos.y, pos.z]),
                mosaic: Some((i, across)),
                ..h.clone()
            }
        })
        .collect()
}

/// Values of one element of a Siemens CSA header (the "SV10" layout).
fn csa_values(bytes: &[u8], name: &str) -> Option<Vec<String>> {
    let u32_at = |at: usize| -> Option<usize> {
        Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    if !bytes.starts_with(b"SV10") {
        return None;
    }
    let n_tags = u32_at(8)?;
    if n_tags > 1000 {
        return None;
    }
    let mut pos = 16;
    for _ in 0..n_tags {
        let raw = bytes.get(pos..pos + 64)?;
        let tag_name = String::from_utf8_lossy(raw.split(|b| *b == 0).next()?).into_owned();
        let n_items = u32_at(pos + 76)?;
        pos += 84;
        if n_items > 10_000 {
            return None;
        }
        let mut items = Vec::new();
        for _ in 0..n_items {
            let len = u32_at(pos + 4)?;
            pos += 16;
            let data = bytes.get(pos..pos + len)?;
            let text = String::from_utf8_lossy(data.split(|b| *b == 0).next()?).into_owned();
            if !text.trim().is_empty() {
                items.push(text);
            }
            pos += len.div_ceil(4) * 4;
        }
        if tag_name == name {
            return Some(items);
        }
    }
    None
}
