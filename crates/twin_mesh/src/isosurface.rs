//! Scalar grids that surfaces are extracted from: values, dimensions and the
//! voxel → patient-mm affine.

use nalgebra::Matrix4;
use rayon::prelude::*;

use crate::MeshError;

/// A scalar grid: `data[i + nx·(j + ny·k)]`, with `affine` mapping voxel indices
/// to patient millimetres.
#[derive(Debug, Clone, Copy)]
pub struct Grid<'a, T = f32> {
    pub dims: [usize; 3],
    pub data: &'a [T],
    pub affine: &'a Matrix4<f64>,
}

impl<T> Grid<'_, T> {
    /// Checks that `dims` matches the number of values (and, with
    /// `non_empty`, that there is at least one).
    pub fn check(&self, non_empty: bool) -> Result<(), MeshError> {
        let [nx, ny, nz] = self.dims;
        match nx.checked_mul(ny).and_then(|v| v.checked_mul(nz)) {
            Some(n) if n == self.data.len() && (n > 0 || !non_empty) => Ok(()),
            _ => Err(MeshError::GridSize {
                dims: self.dims,
                len: self.data.len(),
            }),
        }
    }

    /// Voxel spacing along i, j, k (mm): the lengths of the affine's columns.
    #[must_use]
    pub fn spacing(&self) -> [f64; 3] {
        std::array::from_fn(|c| {
            nalgebra::Vector3::new(
                self.affine[(0, c)],
                self.affine[(1, c)],
                self.affine[(2, c)],
            )
            .norm()
        })
    }

    /// The voxel nearest to a patient position (mm); `None` if the affine is
    /// singular. The index may lie outside the grid.
    #[must_use]
    pub fn patient_to_voxel(&self, p: [f64; 3]) -> Option<[i64; 3]> {
        let v = self.affine.try_inverse()? * nalgebra::Vector4::new(p[0], p[1], p[2], 1.0);
        Some([v.x, v.y, v.z].map(|c| c.round() as i64))
    }
}

/// Smallest and largest value (parallel), for any scalar type.
#[must_use]
pub fn value_range<T: Copy + Into<f32> + Sync>(values: &[T]) -> (f32, f32) {
    values
        .par_iter()
        .fold(
            || (f32::INFINITY, f32::NEG_INFINITY),
            |(a, b), &v| {
                let v: f32 = v.into();
                (a.min(v), b.max(v))
            },
        )
        .reduce(
            || (f32::INFINITY, f32::NEG_INFINITY),
            |x, y| (x.0.min(y.0), x.1.max(y.1)),
        )
}

/// Largest number of mesh vertices we agree to build (u32 indices, memory).
pub const MAX_VERTICES: usize = 200_000_000;
