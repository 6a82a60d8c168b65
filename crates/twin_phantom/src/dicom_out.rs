//! Writing single-frame DICOM images (Explicit VR Little Endian) with dicom-rs.

use std::path::Path;

use dicom::core::value::PrimitiveValue;
use dicom::core::{DataElement, Tag, VR};
use dicom::dictionary_std::{tags, uids};
use dicom::object::{FileMetaTableBuilder, InMemDicomObject};

use crate::PhantomError;

/// Identity shared by every phantom study (deliberately fake).
pub const PATIENT_NAME: &str = "DEMO^PATIENT";
/// Patient ID of the demo patient.
pub const PATIENT_ID: &str = "TWIN-DEMO-0001";
/// Birth date of the demo patient (DICOM DA).
pub const PATIENT_BIRTH_DATE: &str = "19700101";
/// Accession number used for the demo studies.
pub const ACCESSION_PREFIX: &str = "DEMOACC";
/// Implementation class UID written in the file meta group.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.229398236108612437937306418263513004733";

/// Formats a decimal string (DS) value of at most 16 characters.
#[must_use]
pub fn ds(x: f64) -> String {
    for decimals in (0..=6).rev() {
        let s = format!("{x:.decimals$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        };
        let s = if s == "-0" { "0".to_owned() } else { s };
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{x:.0}")
}

/// Joins several DS values with the DICOM multi-value separator.
#[must_use]
pub fn ds_multi(values: &[f64]) -> String {
    values.iter().map(|v| ds(*v)).collect::<Vec<_>>().join("\\")
}

/// A DICOM data set under construction.
pub struct ImageBuilder {
    obj: InMemDicomObject,
}

impl Default for ImageBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ImageBuilder {
    /// An empty data set.
    #[must_use]
    pub fn new() -> Self {
        Self {
            obj: InMemDicomObject::new_empty(),
        }
    }

    /// Puts a string-valued attribute (any text VR, including multi-valued with `\`).
    pub fn str(&mut self, tag: Tag, vr: VR, value: &str) -> &mut Self {
        self.obj
            .put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
        self
    }

    /// Puts an unsigned short (US) attribute.
    pub fn us(&mut self, tag: Tag, value: u16) -> &mut Self {
        self.obj
            .put(DataElement::new(tag, VR::US, PrimitiveValue::from(value)));
        self
    }

    /// Puts the patient, study and equipment attributes common to all demo images.
    pub fn common(
        &mut self,
        study_uid: &str,
        study_id: &str,
        study_description: &str,
        date: &str,
        time: &str,
    ) -> &mut Self {
        self.str(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192")
            .str(tags::PATIENT_NAME, VR::PN, PATIENT_NAME)
            .str(tags::PATIENT_ID, VR::LO, PATIENT_ID)
            .str(tags::PATIENT_BIRTH_DATE, VR::DA, PATIENT_BIRTH_DATE)
            .str(tags::PATIENT_SEX, VR::CS, "O")
            .str(tags::PATIENT_AGE, VR::AS, "056Y")
            .str(tags::PATIENT_WEIGHT, VR::DS, "75")
            .str(tags::PATIENT_SIZE, VR::DS, "1.75")
            .str(tags::STUDY_INSTANCE_UID, VR::UI, study_uid)
            .str(tags::STUDY_ID, VR::SH, study_id)
            .str(tags::STUDY_DESCRIPTION, VR::LO, study_description)
            .str(tags::STUDY_DATE, VR::DA, date)
            .str(tags::STUDY_TIME, VR::TM, time)
            .str(tags::CONTENT_DATE, VR::DA, date)
            .str(tags::CONTENT_TIME, VR::TM, time)
            .str(tags::SERIES_DATE, VR::DA, date)
            .str(tags::SERIES_TIME, VR::TM, time)
            .str(
                tags::ACCESSION_NUMBER,
                VR::SH,
                &format!("{ACCESSION_PREFIX}{study_id}"),
            )
            .str(tags::REFERRING_PHYSICIAN_NAME, VR::PN, "")
            .str(tags::MANUFACTURER, VR::LO, "Twinscope phantom")
            .str(tags::MANUFACTURER_MODEL_NAME, VR::LO, "twin_phantom")
            .str(tags::SOFTWARE_VERSIONS, VR::LO, env!("CARGO_PKG_VERSION"))
            .str(tags::INSTITUTION_NAME, VR::LO, "Twinscope demo")
            .str(tags::BURNED_IN_ANNOTATION, VR::CS, "NO")
            .str(tags::PATIENT_IDENTITY_REMOVED, VR::CS, "NO")
    }

    /// Puts a monochrome 16-bit unsigned image (`rows` × `cols`, row-major).
    pub fn pixels_u16(
        &mut self,
        rows: u16,
        cols: u16,
        bits_stored: u16,
        data: Vec<u16>,
    ) -> &mut Self {
        assert_eq!(data.len(), usize::from(rows) * usize::from(cols));
        self.us(tags::SAMPLES_PER_PIXEL, 1)
            .str(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2")
            .us(tags::ROWS, rows)
            .us(tags::COLUMNS, cols)
            .us(tags::BITS_ALLOCATED, 16)
            .us(tags::BITS_STORED, bits_stored)
            .us(tags::HIGH_BIT, bits_stored - 1)
            .us(tags::PIXEL_REPRESENTATION, 0);
        self.obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(data.into()),
        ));
        self
    }

    /// Writes the data set as a DICOM Part 10 file (Explicit VR Little Endian).
    pub fn write(
        self,
        path: &Path,
        sop_class_uid: &str,
        sop_instance_uid: &str,
    ) -> Result<(), PhantomError> {
        let mut obj = self.obj;
        obj.put(DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(sop_class_uid),
        ));
        obj.put(DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(sop_instance_uid),
        ));
        let file = obj
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                    .media_storage_sop_class_uid(sop_class_uid)
                    .media_storage_sop_instance_uid(sop_instance_uid)
                    .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
                    .implementation_version_name("TWINSCOPE01"),
            )
            .map_err(|e| PhantomError::Dicom {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        file.write_to_file(path).map_err(|e| PhantomError::Dicom {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds_fits_sixteen_chars() {
        assert_eq!(ds(1.5), "1.5");
        assert_eq!(ds(-0.0), "0");
        assert_eq!(ds(120.0), "120");
        assert_eq!(ds(-123.456_789_123), "-123.456789");
        assert!(ds(-123_456_789.123_456).len() <= 16);
        assert!(ds(std::f64::consts::FRAC_1_SQRT_2).len() <= 16);
        assert_eq!(ds_multi(&[1.0, 0.5]), "1\\0.5");
    }
}
