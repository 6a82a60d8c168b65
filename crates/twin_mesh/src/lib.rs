//! Surfaces from volumes and triangle-mesh measurements.
//!
//! * [`isosurface`]: closed, outward-oriented surfaces of the region `value ≥ iso`
//!   of a scalar grid (surface nets with border padding), mapped to patient mm.
//! * [`cine`]: LV blood-pool volume curve of a cine from one seed (EDV, ESV, EF).
//! * [`io`]: STL (binary/ASCII), OBJ and PLY writing and reading, LPS or RAS mm.
//! * [`tetra`]: marching tetrahedra — watertight 2-manifold isosurfaces (no
//!   ambiguous cases), for masks and grey levels.
//! * [`process`]: Taubin (non-shrinking) smoothing, connected pieces.
//! * [`segment`]: masks in mm — threshold, region growing, components and
//!   islands, morphology (exact Euclidean distance transform), hole filling,
//!   logical operations, named segments.
//! * [`mesh`]: an indexed triangle mesh with normals and measurements (volume by
//!   the divergence theorem, area, Euler characteristic, boundary edges).
//!
//! Inputs are plain slices and an affine, so this crate does not depend on how a
//! volume was loaded.

pub mod cine;
pub mod io;
pub mod isosurface;
pub mod mesh;
pub mod process;
pub mod segment;
pub mod tetra;

pub use isosurface::{Grid, surface_nets};
pub use mesh::{MeshStats, TriMesh};
pub use tetra::marching_tetrahedra;

/// Errors from mesh extraction.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    #[error("grid of {dims:?} voxels does not match {len} values")]
    GridSize { dims: [usize; 3], len: usize },
    #[error("the threshold {iso} selects no voxel (values range {min}..{max})")]
    Empty { iso: f32, min: f32, max: f32 },
    #[error("the mesh would need more than {limit} vertices")]
    TooLarge { limit: usize },
    #[error(transparent)]
    Cancelled(#[from] twin_core::Cancelled),
}
