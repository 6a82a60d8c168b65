//! Cardiac electrophysiology on the patient's ventricles (issue 25).
//!
//! - [`mesh`]: a conforming tetrahedral mesh from a voxel label map (each
//!   myocardial voxel split into six tetrahedra along its main diagonal),
//!   with the nodes of the LV and RV endocardium, the epicardium and the
//!   base tagged.
//! - [`eikonal`]: activation times from the anisotropic eikonal equation
//!   `√(∇tᵀ D ∇t) = 1` (`D` from the fibre and cross-fibre conduction
//!   velocities of each tetrahedron) by a label-correcting march with the
//!   exact local solver of a tetrahedron, and a graph (edge) method for
//!   instant feedback.
//!
//! Equations, sources and verification: docs/models/ep.md.

pub mod coords;
pub mod ecg;
pub mod eikonal;
pub mod fibres;
pub mod heart;
pub mod io;
pub mod laplace;
pub mod mesh;

/// Errors of the EP engine, naming the field or input at fault.
#[derive(Debug, thiserror::Error)]
pub enum EpError {
    #[error("{0}")]
    Input(String),
}

impl EpError {
    pub(crate) fn input(msg: impl Into<String>) -> Self {
        Self::Input(msg.into())
    }
}
