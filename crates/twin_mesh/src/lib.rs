//! Surfaces from volumes and triangle-mesh measurements.
//!
//! * [`isosurface`]: [`Grid`], a scalar grid with its voxel → patient-mm affine.
//! * [`marching_cubes`]: watertight, outward-oriented isosurfaces of
//!   `value ≥ iso` (consistent case table, flying-edges passes, border padding)
//!   for grey levels and masks.
//! * [`surface`]: mask → anti-alias → extract → smooth → decimate.
//! * [`cine`]: LV blood-pool volume curve of a cine from one seed (EDV, ESV, EF).
//! * [`io`]: STL (binary/ASCII), OBJ and PLY writing and reading, LPS or RAS mm.
//! * [`process`]: Taubin (non-shrinking) smoothing, connected pieces.
//! * [`decimate`]: quadric edge collapse to a triangle budget, topology kept.
//! * [`segment`]: masks in mm — threshold, region growing, components and
//!   islands, morphology (exact Euclidean distance transform), hole filling,
//!   logical operations, named segments.
//! * [`mesh`]: an indexed triangle mesh with normals and measurements (volume by
//!   the divergence theorem, area, Euler characteristic, boundary edges).
//!
//! Inputs are plain slices and an affine, so this crate does not depend on how a
//! volume was loaded.

pub mod cine;
pub mod decimate;
pub mod io;
pub mod isosurface;
pub mod marching_cubes;
pub mod mesh;
pub mod process;
pub mod segment;
pub mod surface;

pub use isosurface::Grid;
pub use marching_cubes::marching_cubes;
pub use mesh::{MeshStats, TriMesh};

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
