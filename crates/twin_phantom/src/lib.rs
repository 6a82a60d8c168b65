//! Deterministic synthetic patients with analytic ground truth, written as real DICOM.
//!
//! The demo patient (`DEMO^PATIENT`) has two studies:
//! * [`cardiac`]: a cardiac MR cine short-axis stack (oblique planes, 20 phases)
//!   with a beating left ventricle whose blood volume is known analytically per
//!   phase ([`cardiac::CardiacPhantom::lv_volume_ml`]);
//! * [`legs`]: an axial, HU-calibrated CT of both lower limbs, the right one with
//!   a transtibial amputation stump.
//!
//! Everything is a pure function of the parameters (fixed-seed noise), so two runs
//! write byte-identical files. Tests use the analytic truth as the oracle.

pub mod cardiac;
pub mod demo;
pub mod dicom_out;
pub mod legs;
pub mod rng;
pub mod uid;

pub use demo::{DemoPatient, demo_patient_dir, ensure_demo_patient, write_demo_patient};

/// Errors while writing a phantom.
#[derive(Debug, thiserror::Error)]
pub enum PhantomError {
    #[error("cannot create or write `{path}`: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode DICOM file `{path}`: {message}")]
    Dicom {
        path: std::path::PathBuf,
        message: String,
    },
}
