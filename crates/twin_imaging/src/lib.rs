//! DICOM discovery and calibrated 3D volumes in patient coordinates (LPS, mm).
//!
//! * [`scan`]: walk a folder tree, read headers only (in parallel), group the
//!   instances into patients → studies → series → geometrically consistent stacks.
//! * [`volume`]: assemble a stack (one cardiac phase of it) into a [`Volume`] with
//!   an affine from voxel indices to patient millimetres, rescaled to physical
//!   values (HU for CT).
//! * [`pixels`] / [`jpegls`]: stored pixel values for every transfer syntax.
//! * [`deid`]: PS3.15 Basic Profile de-identification of a folder tree.
//! * [`nifti_io`]: NIfTI-1 export (RAS sform/qform, as dcm2niix) and reading.
//! * [`identity`]: the patient identity read from the headers, and the pseudonym
//!   shown instead in privacy mode.
//!
//! No UI, no engine: callers pass a [`twin_core::Progress`] to follow and cancel work.

pub mod deid;
pub mod header;
pub mod identity;
pub mod jpegls;
pub mod lengths;
pub mod mpr;
pub mod nifti_io;
pub mod pixels;
pub mod scan;
pub mod volume;

pub use identity::PatientIdentity;
pub use scan::{ScanReport, Series, Stack, Study, scan_folder};
pub use volume::{CineVolume, Thumbnail, Volume, load_cine, load_stack, thumbnail};

use std::path::PathBuf;

/// Implementation class UID written into the files Twinscope writes.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.229398236108612437937306418263513004733";

/// Errors from reading DICOM studies. Each names the file or field at fault.
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    #[error("cannot read folder `{path}`: {message}")]
    Folder { path: PathBuf, message: String },
    #[error(
        "no DICOM images found in `{path}` ({files} file(s) looked at: {not_dicom} not DICOM, {unreadable} unreadable)"
    )]
    NoDicom {
        path: PathBuf,
        files: usize,
        not_dicom: usize,
        unreadable: usize,
    },
    #[error("`{path}`: {message}")]
    File { path: PathBuf, message: String },
    #[error("`{path}`: attribute {field} is missing or invalid{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Field {
        path: PathBuf,
        field: &'static str,
        detail: Option<String>,
    },
    #[error("stack `{stack}` cannot be assembled: {message}")]
    Geometry { stack: String, message: String },
    #[error(
        "`{path}`: the image needs {needed_mib} MiB, more than the memory budget of {budget_mib} MiB"
    )]
    TooLarge {
        path: PathBuf,
        needed_mib: u64,
        budget_mib: u64,
    },
    #[error(transparent)]
    Cancelled(#[from] twin_core::Cancelled),
}
