//! Indexed triangle meshes and their measurements.

use std::collections::HashMap;

use nalgebra::{Matrix4, Vector3, Vector4};

/// An indexed triangle mesh; coordinates in mm, triangles counter-clockwise when
/// seen from outside.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriMesh {
    pub positions: Vec<[f32; 3]>,
    pub triangles: Vec<[u32; 3]>,
}

/// Measurements of a mesh.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeshStats {
    pub vertices: usize,
    pub triangles: usize,
    /// Enclosed volume (mm³), positive for outward-oriented closed meshes.
    pub volume_mm3: f64,
    pub area_mm2: f64,
    /// Edges used by one triangle only.
    pub boundary_edges: usize,
    /// Edges used by more than two triangles, or twice in the same direction.
    pub non_manifold_edges: usize,
    /// V − E + F.
    pub euler: i64,
}

impl MeshStats {
    /// Closed and consistently oriented: no boundary and no non-manifold edges.
    #[must_use]
    pub fn watertight(&self) -> bool {
        self.boundary_edges == 0 && self.non_manifold_edges == 0 && self.triangles > 0
    }
}

impl TriMesh {
    /// Applies an affine transform to every vertex; flips the winding when the
    /// transform mirrors, so triangles stay outward-oriented.
    pub fn transform(&mut self, m: &Matrix4<f64>) {
        for p in &mut self.positions {
            let v = m * Vector4::new(f64::from(p[0]), f64::from(p[1]), f64::from(p[2]), 1.0);
            *p = [v.x as f32, v.y as f32, v.z as f32];
        }
        if m.fixed_view::<3, 3>(0, 0).determinant() < 0.0 {
            for t in &mut self.triangles {
                t.swap(1, 2);
            }
        }
    }

    /// Adds `other`'s triangles (and points) to this mesh.
    pub fn append(&mut self, other: &TriMesh) {
        let base = self.positions.len() as u32;
        self.positions.extend_from_slice(&other.positions);
        self.triangles
            .extend(other.triangles.iter().map(|t| t.map(|i| i + base)));
    }

    fn corner(&self, i: u32) -> Vector3<f64> {
        let p = self.positions[i as usize];
        Vector3::new(f64::from(p[0]), f64::from(p[1]), f64::from(p[2]))
    }

    /// Area-weighted vertex normals (unit length; zero for unused vertices).
    #[must_use]
    pub fn vertex_normals(&self) -> Vec<[f32; 3]> {
        let mut acc = vec![Vector3::<f64>::zeros(); self.positions.len()];
        for t in &self.triangles {
            let (a, b, c) = (self.corner(t[0]), self.corner(t[1]), self.corner(t[2]));
            let n = (b - a).cross(&(c - a));
            for &i in t {
                acc[i as usize] += n;
            }
        }
        acc.into_iter()
            .map(|n| {
                let l = n.norm();
                if l > 0.0 {
                    let u = n / l;
                    [u.x as f32, u.y as f32, u.z as f32]
                } else {
                    [0.0; 3]
                }
            })
            .collect()
    }

    /// Axis-aligned bounds (min, max), or `None` for an empty mesh.
    #[must_use]
    pub fn bounds(&self) -> Option<([f32; 3], [f32; 3])> {
        let first = *self.positions.first()?;
        Some(self.positions.iter().fold((first, first), |(lo, hi), p| {
            (
                std::array::from_fn(|i| lo[i].min(p[i])),
                std::array::from_fn(|i| hi[i].max(p[i])),
            )
        }))
    }

    /// Volume, area, topology.
    #[must_use]
    pub fn stats(&self) -> MeshStats {
        let mut volume = 0.0;
        let mut area = 0.0;
        // Directed edge counts: a closed, consistently oriented 2-manifold uses
        // every directed edge exactly once and its reverse exactly once.
        let mut edges: HashMap<(u32, u32), u32> = HashMap::with_capacity(self.triangles.len() * 3);
        for t in &self.triangles {
            let (a, b, c) = (self.corner(t[0]), self.corner(t[1]), self.corner(t[2]));
            volume += a.dot(&b.cross(&c)) / 6.0;
            area += (b - a).cross(&(c - a)).norm() / 2.0;
            for (u, v) in [(t[0], t[1]), (t[1], t[2]), (t[2], t[0])] {
                *edges.entry((u, v)).or_insert(0) += 1;
            }
        }
        let mut boundary = 0;
        let mut non_manifold = 0;
        let mut undirected = 0usize;
        for (&(u, v), &n) in &edges {
            let back = edges.get(&(v, u)).copied().unwrap_or(0);
            if u < v || back == 0 {
                undirected += 1;
            }
            if n > 1 {
                non_manifold += 1;
            } else if back == 0 {
                boundary += 1;
            } else if back > 1 {
                non_manifold += 1;
            }
        }
        let used: std::collections::HashSet<u32> =
            self.triangles.iter().flatten().copied().collect();
        MeshStats {
            vertices: used.len(),
            triangles: self.triangles.len(),
            volume_mm3: volume,
            area_mm2: area,
            boundary_edges: boundary,
            non_manifold_edges: non_manifold,
            euler: used.len() as i64 - undirected as i64 + self.triangles.len() as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cube() -> TriMesh {
        let positions = vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [1.0, 0.0, 1.0],
            [1.0, 1.0, 1.0],
            [0.0, 1.0, 1.0],
        ];
        let triangles = vec![
            [0, 2, 1],
            [0, 3, 2],
            [4, 5, 6],
            [4, 6, 7],
            [0, 1, 5],
            [0, 5, 4],
            [1, 2, 6],
            [1, 6, 5],
            [2, 3, 7],
            [2, 7, 6],
            [3, 0, 4],
            [3, 4, 7],
        ];
        TriMesh {
            positions,
            triangles,
        }
    }

    #[test]
    fn unit_cube_measurements() {
        let s = cube().stats();
        assert!((s.volume_mm3 - 1.0).abs() < 1e-12);
        assert!((s.area_mm2 - 6.0).abs() < 1e-12);
        assert_eq!(s.euler, 2);
        assert!(s.watertight());
    }

    #[test]
    fn open_mesh_has_boundary() {
        let mut m = cube();
        m.triangles.pop();
        let s = m.stats();
        assert!(!s.watertight());
        assert_eq!(s.boundary_edges, 3);
    }

    #[test]
    fn mirroring_keeps_outward_orientation() {
        let mut m = cube();
        let mirror = Matrix4::from_diagonal(&Vector4::new(-2.0, 1.0, 1.0, 1.0));
        m.transform(&mirror);
        let s = m.stats();
        assert!((s.volume_mm3 - 2.0).abs() < 1e-9, "{}", s.volume_mm3);
        let n = m.vertex_normals();
        assert!(
            n.iter()
                .all(|v| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2] - 1.0).abs() < 1e-5)
        );
    }
}
