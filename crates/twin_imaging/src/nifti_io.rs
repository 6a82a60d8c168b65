//! NIfTI-1 export with sform and qform in RAS (the dcm2niix convention), and
//! reading NIfTI files back (used by the geometry-oracle tests and the CLI).
//!
//! Voxel order is kept as assembled (i = column, j = row, k = slice ascending
//! along the normal); the affine says where each voxel is, so no axis is flipped.
//! LPS → RAS negates the first two rows of the affine.

use std::path::Path;

use nalgebra::Matrix4;
use ndarray::{Array3, ShapeBuilder};
use nifti::{
    InMemNiftiVolume, IntoNdArray, NiftiHeader, NiftiObject, ReaderOptions, XForm,
    writer::WriterOptions,
};

use crate::ImagingError;
use crate::volume::Volume;

/// The volume's voxel → RAS mm affine.
#[must_use]
pub fn ras_affine(volume: &Volume) -> Matrix4<f64> {
    let mut m = volume.affine;
    for c in 0..4 {
        m[(0, c)] = -m[(0, c)];
        m[(1, c)] = -m[(1, c)];
    }
    m
}

/// Writes `volume` as NIfTI-1 (`.nii`, or gzip-compressed when the name ends in
/// `.nii.gz`). Values are stored as int16 when they all are integers in range
/// (as CT HU and most MR are), otherwise as float32; `scl_slope` is 1.
pub fn write_nifti(volume: &Volume, path: &Path) -> Result<(), ImagingError> {
    let err = |message: String| ImagingError::File {
        path: path.to_owned(),
        message,
    };
    let name = path.to_string_lossy();
    if !(name.ends_with(".nii") || name.ends_with(".nii.gz")) {
        return Err(err("the output name must end in .nii or .nii.gz".to_owned()));
    }
    let ras = ras_affine(volume);
    let mut header = NiftiHeader::default();
    header.set_sform(&ras, XForm::ScannerAnat);
    header.set_qform(&ras, XForm::ScannerAnat);
    header.xyzt_units = 2; // millimetres
    let description = format!(
        "Twinscope {} {}",
        env!("CARGO_PKG_VERSION"),
        volume.modality
    );
    header.descrip = description.into_bytes();
    header.descrip.resize(80, 0);
    let [nx, ny, nz] = volume.dims;
    let integral = volume
        .data
        .iter()
        .all(|v| v.fract() == 0.0 && (f32::from(i16::MIN)..=f32::from(i16::MAX)).contains(v));
    let options = WriterOptions::new(path).reference_header(&header);
    let result = if integral {
        let data: Vec<i16> = volume.data.iter().map(|v| *v as i16).collect();
        let array =
            Array3::from_shape_vec((nx, ny, nz).f(), data).map_err(|e| err(e.to_string()))?;
        options.write_nifti(&array)
    } else {
        let array = Array3::from_shape_vec((nx, ny, nz).f(), volume.data.clone())
            .map_err(|e| err(e.to_string()))?;
        options.write_nifti(&array)
    };
    result.map_err(|e| err(format!("cannot write NIfTI: {e}")))
}

/// A NIfTI volume read back: scaled values (`scl_slope`/`scl_inter` applied),
/// dimensions and the sform affine (voxel → RAS mm).
#[derive(Debug, Clone)]
pub struct NiftiVolume {
    pub dims: Vec<usize>,
    /// Values in NIfTI order (first index fastest).
    pub data: Vec<f32>,
    pub affine: Matrix4<f64>,
    /// The file's scaling (value = stored · slope + inter); (1, 0) when none.
    pub scl_slope: f32,
    pub scl_inter: f32,
}

/// Checks a NIfTI header before its voxels are read: 1 to 7 dimensions,
/// a known voxel size, what decoding needs (the stored voxels and their
/// float copies) within `budget` bytes, and, for an uncompressed file,
/// every voxel the header announces present in the file.
fn check_nifti_header(path: &Path, budget: u64) -> Result<(), String> {
    let h = NiftiHeader::from_file(path).map_err(|e| format!("cannot read NIfTI: {e}"))?;
    let ndim = usize::from(h.dim[0]);
    if !(1..=7).contains(&ndim) {
        return Err(format!("dim[0] = {ndim} is not 1 to 7 dimensions"));
    }
    let dims = &h.dim[1..=ndim];
    let count = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(u64::from(d)))
        .unwrap_or(u64::MAX);
    let voxel = h
        .data_type()
        .map_err(|_| format!("datatype {} is not a NIfTI data type", h.datatype))?
        .size_of() as u64;
    if i64::from(h.bitpix) != 8 * voxel as i64 {
        return Err(format!(
            "bitpix {} does not match datatype {} ({voxel}-byte voxels)",
            h.bitpix, h.datatype
        ));
    }
    let stored = count.saturating_mul(voxel);
    // Decoding holds the stored bytes, an f32 array and its reordered copy.
    let needed = stored.saturating_add(count.saturating_mul(8));
    if needed > budget {
        return Err(format!(
            "the header announces {dims:?} voxels, {} MiB to decode, more than the memory budget of {} MiB",
            needed >> 20,
            budget >> 20
        ));
    }
    let gz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    if !gz {
        let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
        let offset = if h.vox_offset.is_finite() && h.vox_offset >= 0.0 {
            h.vox_offset as u64
        } else {
            return Err(format!("vox_offset {} is not an offset", h.vox_offset));
        };
        if offset.saturating_add(stored) > size {
            return Err(format!(
                "the header announces {stored} bytes of voxels from offset {offset}, the file has {size} bytes"
            ));
        }
    }
    Ok(())
}

/// Reads a `.nii` / `.nii.gz` file.
pub fn read_nifti(path: &Path) -> Result<NiftiVolume, ImagingError> {
    let err = |message: String| ImagingError::File {
        path: path.to_owned(),
        message,
    };
    check_nifti_header(path, twin_core::limits::memory_budget()).map_err(err)?;
    twin_core::limits::contain_panic(|| decode_nifti(path))
        .and_then(|r| r)
        .map_err(err)
}

/// [`read_nifti`] after its checks.
fn decode_nifti(path: &Path) -> Result<NiftiVolume, String> {
    let obj = ReaderOptions::new()
        .read_file(path)
        .map_err(|e| format!("cannot read NIfTI: {e}"))?;
    let mut h = obj.header().clone();
    // NIfTI: scl_slope 0 (or NaN, as dcm2niix writes) means "no scaling".
    if !h.scl_slope.is_finite() || h.scl_slope == 0.0 {
        h.scl_slope = 0.0;
        h.scl_inter = 0.0;
    }
    let affine: Matrix4<f64> = if h.sform_code > 0 {
        h.sform_affine()
    } else {
        h.qform_affine()
    };
    let raw = obj.into_volume().into_raw_data();
    let array = InMemNiftiVolume::from_raw_data(&h, raw)
        .and_then(IntoNdArray::into_ndarray::<f32>)
        .map_err(|e| format!("cannot decode NIfTI data: {e}"))?;
    let dims = array.shape().to_vec();
    // Fortran (first index fastest) order, as in the file.
    let data: Vec<f32> = array.t().iter().copied().collect();
    let (scl_slope, scl_inter) = if h.scl_slope == 0.0 {
        (1.0, 0.0)
    } else {
        (h.scl_slope, h.scl_inter)
    };
    Ok(NiftiVolume {
        dims,
        data,
        affine,
        scl_slope,
        scl_inter,
    })
}
