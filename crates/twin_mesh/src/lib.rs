//! Surfaces from volumes and triangle-mesh measurements.
//!
//! * [`isosurface`]: [`Grid`], a scalar grid with its voxel → patient-mm affine.
//! * [`marching_cubes`]: watertight, outward-oriented isosurfaces of
//!   `value ≥ iso` (consistent case table, flying-edges passes, border padding)
//!   for grey levels and masks.
//! * [`surface`]: mask → anti-alias → extract → smooth → decimate.
//! * [`cine`]: LV blood-pool volume curve of a cine from one seed (EDV, ESV, EF).
//! * [`cine_net`]: the LV cavity by a learned network, no click needed.
//! * [`contour`]: mask slices to polygons and back, exactly.
//! * [`cine_wall`]: LV epicardium, mass, AHA wall thickness and the RV beside it.
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
pub mod cine_net;
pub mod cine_wall;
pub mod contour;
pub mod decimate;
pub mod io;
pub mod isosurface;
pub mod marching_cubes;
pub mod mesh;
pub mod process;
pub mod segment;
mod slice2d;
pub mod surface;

pub use isosurface::Grid;

/// Grids sampled from functions and their surfaces, for the unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    use nalgebra::{Matrix4, Vector3};
    use twin_core::Progress;

    use crate::{Grid, TriMesh, marching_cubes};

    /// `f` sampled at the voxel positions (mm) of a grid with spacing `sp`.
    pub fn field(dims: [usize; 3], sp: [f64; 3], f: impl Fn([f64; 3]) -> f64) -> Vec<f32> {
        let mut data = Vec::with_capacity(dims.iter().product());
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    data.push(f([i as f64 * sp[0], j as f64 * sp[1], k as f64 * sp[2]]) as f32);
                }
            }
        }
        data
    }

    /// The marching-cubes surface of `data ≥ iso` on an axis-aligned grid.
    pub fn extract<T: Copy + Into<f32> + Send + Sync>(
        dims: [usize; 3],
        sp: [f64; 3],
        data: &[T],
        iso: f32,
    ) -> TriMesh {
        let affine = Matrix4::new_nonuniform_scaling(&Vector3::new(sp[0], sp[1], sp[2]));
        marching_cubes(
            Grid {
                dims,
                data,
                affine: &affine,
            },
            iso,
            &Progress::new(),
        )
        .unwrap()
    }

    /// The surface of `f ≥ 0`.
    pub fn surface_of(dims: [usize; 3], sp: [f64; 3], f: impl Fn([f64; 3]) -> f64) -> TriMesh {
        extract(dims, sp, &field(dims, sp, f), 0.0)
    }
}
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
