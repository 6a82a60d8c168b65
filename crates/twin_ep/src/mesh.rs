//! A conforming tetrahedral mesh from a voxel label map.
//!
//! Every tissue voxel is split into six tetrahedra around its main
//! diagonal (Kuhn's subdivision): every voxel is split the same way, so
//! neighbouring voxels share their faces' triangles and the mesh is
//! conforming. Nodes sit at voxel corners; a node on a face between tissue
//! and another label is tagged with that label (LV or RV blood: that
//! endocardium; the base label: the base; anything else: the epicardium).

use crate::EpError;

/// Voxel labels of a ventricular label map.
pub mod label {
    pub const OUTSIDE: u8 = 0;
    /// LV myocardium (free wall and septum).
    pub const LV_WALL: u8 = 1;
    /// RV free wall.
    pub const RV_WALL: u8 = 2;
    pub const LV_BLOOD: u8 = 3;
    pub const RV_BLOOD: u8 = 4;
    /// Above the base plane (atria, valves): the base surface faces it.
    pub const BASE: u8 = 5;
}

/// Node tags (bit flags).
pub mod tag {
    pub const LV_ENDO: u8 = 1;
    pub const RV_ENDO: u8 = 2;
    pub const EPI: u8 = 4;
    pub const BASE: u8 = 8;
}

/// A voxel label map: `labels[x + dims[0]·(y + dims[1]·z)]`, voxel centres
/// at `origin + index·spacing` (mm, in the frame the mesh is wanted in).
#[derive(Debug, Clone, Copy)]
pub struct LabelGrid<'a> {
    pub dims: [usize; 3],
    pub spacing: [f64; 3],
    pub origin: [f64; 3],
    pub labels: &'a [u8],
}

/// A tetrahedral mesh (mm) with a region label per tetrahedron and tags
/// per node.
#[derive(Debug, Clone, Default)]
pub struct TetMesh {
    pub nodes: Vec<[f64; 3]>,
    /// Positively oriented node indices.
    pub tets: Vec<[u32; 4]>,
    /// The label of the voxel each tetrahedron came from.
    pub region: Vec<u8>,
    /// [`tag`] bits per node.
    pub tags: Vec<u8>,
    /// Tetrahedra around each node (CSR: `node_tets[start[v]..start[v + 1]]`).
    start: Vec<u32>,
    node_tets: Vec<u32>,
}

/// The six tetrahedra of a unit cube, as corner bit patterns (x = 1,
/// y = 2, z = 4): from corner 0 to corner 7 along each order of the axes.
const KUHN: [[u8; 4]; 6] = [
    [0, 1, 3, 7],
    [0, 1, 5, 7],
    [0, 2, 3, 7],
    [0, 2, 6, 7],
    [0, 4, 5, 7],
    [0, 4, 6, 7],
];

/// A voxel face: whether it lies on the map's edge, the neighbour across
/// it, and its four corners (bit patterns).
type Face = (bool, (usize, usize, usize), [usize; 4]);

/// Largest mesh built (nodes), against runaway label maps.
pub const MAX_NODES: usize = 20_000_000;

impl TetMesh {
    /// The mesh of the voxels whose label `is_tissue` accepts.
    ///
    /// # Errors
    /// The label map's length does not match its dimensions, a spacing is
    /// not positive and finite, no voxel is tissue, or the mesh would be
    /// larger than [`MAX_NODES`].
    pub fn from_labels(grid: &LabelGrid, is_tissue: impl Fn(u8) -> bool) -> Result<Self, EpError> {
        let [nx, ny, nz] = grid.dims;
        let count = nx
            .checked_mul(ny)
            .and_then(|v| v.checked_mul(nz))
            .ok_or_else(|| EpError::input("label map dimensions overflow"))?;
        if count != grid.labels.len() {
            return Err(EpError::input(format!(
                "label map has {} voxels, its dimensions {nx}×{ny}×{nz} say {count}",
                grid.labels.len()
            )));
        }
        if grid.spacing.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(EpError::input(format!(
                "label map spacing must be positive mm, got {:?}",
                grid.spacing
            )));
        }
        let voxel = |x: usize, y: usize, z: usize| grid.labels[x + nx * (y + ny * z)];
        let (cx, cy) = (nx + 1, ny + 1);
        let corner = |x: usize, y: usize, z: usize| x + cx * (y + cy * z);
        let mut id = vec![u32::MAX; cx * cy * (nz + 1)];
        let mut mesh = TetMesh::default();
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    let here = voxel(x, y, z);
                    if !is_tissue(here) {
                        continue;
                    }
                    let mut c = [0u32; 8];
                    for (b, slot) in c.iter_mut().enumerate() {
                        let (dx, dy, dz) = (b & 1, (b >> 1) & 1, (b >> 2) & 1);
                        let key = corner(x + dx, y + dy, z + dz);
                        if id[key] == u32::MAX {
                            if mesh.nodes.len() >= MAX_NODES {
                                return Err(EpError::input(format!(
                                    "the mesh would have more than {MAX_NODES} nodes; coarsen the label map"
                                )));
                            }
                            id[key] = mesh.nodes.len() as u32;
                            mesh.nodes.push([
                                grid.origin[0] + ((x + dx) as f64 - 0.5) * grid.spacing[0],
                                grid.origin[1] + ((y + dy) as f64 - 0.5) * grid.spacing[1],
                                grid.origin[2] + ((z + dz) as f64 - 0.5) * grid.spacing[2],
                            ]);
                            mesh.tags.push(0);
                        }
                        *slot = id[key];
                    }
                    for t in KUHN {
                        mesh.tets.push(t.map(|b| c[b as usize]));
                        mesh.region.push(here);
                    }
                    // Faces towards other labels tag their corners.
                    let faces: [Face; 6] = [
                        (x == 0, (x.wrapping_sub(1), y, z), [0, 2, 4, 6]),
                        (x + 1 == nx, (x + 1, y, z), [1, 3, 5, 7]),
                        (y == 0, (x, y.wrapping_sub(1), z), [0, 1, 4, 5]),
                        (y + 1 == ny, (x, y + 1, z), [2, 3, 6, 7]),
                        (z == 0, (x, y, z.wrapping_sub(1)), [0, 1, 2, 3]),
                        (z + 1 == nz, (x, y, z + 1), [4, 5, 6, 7]),
                    ];
                    for (edge, (ax, ay, az), corners) in faces {
                        let other = if edge {
                            label::OUTSIDE
                        } else {
                            voxel(ax, ay, az)
                        };
                        if !edge && is_tissue(other) {
                            continue;
                        }
                        let bit = match other {
                            label::LV_BLOOD => tag::LV_ENDO,
                            label::RV_BLOOD => tag::RV_ENDO,
                            label::BASE => tag::BASE,
                            _ => tag::EPI,
                        };
                        for k in corners {
                            mesh.tags[c[k] as usize] |= bit;
                        }
                    }
                }
            }
        }
        if mesh.tets.is_empty() {
            return Err(EpError::input("the label map has no tissue voxels"));
        }
        mesh.orient();
        mesh.index();
        Ok(mesh)
    }

    /// A block `size` mm with `cells` voxels along each axis, corner at the
    /// origin, every tetrahedron in region [`label::LV_WALL`].
    ///
    /// # Errors
    /// A zero cell count or a size that is not positive.
    pub fn block(cells: [usize; 3], size: [f64; 3]) -> Result<Self, EpError> {
        if cells.contains(&0) {
            return Err(EpError::input("a block needs at least one cell per axis"));
        }
        let labels = vec![label::LV_WALL; cells.iter().product()];
        let spacing = [0, 1, 2].map(|i| size[i] / cells[i] as f64);
        let grid = LabelGrid {
            dims: cells,
            spacing,
            origin: spacing.map(|s| 0.5 * s),
            labels: &labels,
        };
        Self::from_labels(&grid, |l| l == label::LV_WALL)
    }

    /// Builds a mesh from nodes and tetrahedra (for meshes from elsewhere).
    ///
    /// # Errors
    /// A tetrahedron names a node that does not exist, or the region
    /// list's length differs from the tetrahedra's.
    pub fn new(
        nodes: Vec<[f64; 3]>,
        tets: Vec<[u32; 4]>,
        region: Vec<u8>,
    ) -> Result<Self, EpError> {
        if region.len() != tets.len() {
            return Err(EpError::input("one region label per tetrahedron is needed"));
        }
        if let Some(t) = tets
            .iter()
            .find(|t| t.iter().any(|&v| v as usize >= nodes.len()))
        {
            return Err(EpError::input(format!(
                "tetrahedron {t:?} names a node beyond the {} given",
                nodes.len()
            )));
        }
        let tags = vec![0; nodes.len()];
        let mut mesh = Self {
            nodes,
            tets,
            region,
            tags,
            ..Self::default()
        };
        mesh.orient();
        mesh.index();
        Ok(mesh)
    }

    /// Moves the mesh from a local frame into another: a node `p` goes to
    /// `origin + p₀·axes[0] + p₁·axes[1] + p₂·axes[2]` (a heart's frame
    /// into patient LPS, say). Orientation is kept positive.
    pub fn transform(&mut self, origin: [f64; 3], axes: [[f64; 3]; 3]) {
        for p in &mut self.nodes {
            *p = [0, 1, 2]
                .map(|i| origin[i] + p[0] * axes[0][i] + p[1] * axes[1][i] + p[2] * axes[2][i]);
        }
        self.orient();
    }

    fn orient(&mut self) {
        for i in 0..self.tets.len() {
            if self.signed_volume(i) < 0.0 {
                self.tets[i].swap(2, 3);
            }
        }
    }

    fn index(&mut self) {
        let n = self.nodes.len();
        let mut count = vec![0u32; n + 1];
        for t in &self.tets {
            for &v in t {
                count[v as usize + 1] += 1;
            }
        }
        for i in 0..n {
            count[i + 1] += count[i];
        }
        let mut fill = count.clone();
        let mut list = vec![0u32; self.tets.len() * 4];
        for (i, t) in self.tets.iter().enumerate() {
            for &v in t {
                list[fill[v as usize] as usize] = i as u32;
                fill[v as usize] += 1;
            }
        }
        self.start = count;
        self.node_tets = list;
    }

    /// The tetrahedra that have node `v`.
    #[must_use]
    pub fn tets_of(&self, v: usize) -> &[u32] {
        &self.node_tets[self.start[v] as usize..self.start[v + 1] as usize]
    }

    /// Signed volume (mm³) of tetrahedron `t`.
    #[must_use]
    pub fn signed_volume(&self, t: usize) -> f64 {
        let [a, b, c, d] = self.tets[t].map(|v| self.nodes[v as usize]);
        let u = sub(b, a);
        let v = sub(c, a);
        let w = sub(d, a);
        dot(u, cross(v, w)) / 6.0
    }

    /// Total volume (mm³).
    #[must_use]
    pub fn volume(&self) -> f64 {
        (0..self.tets.len()).map(|t| self.signed_volume(t)).sum()
    }

    /// The centroid of tetrahedron `t`.
    #[must_use]
    pub fn centroid(&self, t: usize) -> [f64; 3] {
        let mut c = [0.0; 3];
        for &v in &self.tets[t] {
            for (ci, pi) in c.iter_mut().zip(self.nodes[v as usize]) {
                *ci += 0.25 * pi;
            }
        }
        c
    }

    /// The node nearest to `p`.
    #[must_use]
    pub fn nearest_node(&self, p: [f64; 3]) -> usize {
        let mut best = (f64::INFINITY, 0);
        for (i, q) in self.nodes.iter().enumerate() {
            let d = dot(sub(*q, p), sub(*q, p));
            if d < best.0 {
                best = (d, i);
            }
        }
        best.1
    }

    /// Nodes with any of the `bits` of [`tag`].
    #[must_use]
    pub fn tagged(&self, bits: u8) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.tags[i] & bits != 0)
            .collect()
    }

    /// The boundary surface: every triangle that belongs to one
    /// tetrahedron only, ordered so that its normal points out of it.
    #[must_use]
    pub fn boundary(&self) -> Vec<[u32; 3]> {
        let mut faces: std::collections::HashMap<[u32; 3], ([u32; 3], u32)> =
            std::collections::HashMap::with_capacity(self.tets.len() * 2);
        for t in &self.tets {
            // Outward faces of a positively oriented tetrahedron.
            for f in [
                [t[1], t[2], t[3]],
                [t[0], t[3], t[2]],
                [t[0], t[1], t[3]],
                [t[0], t[2], t[1]],
            ] {
                let mut key = f;
                key.sort_unstable();
                faces.entry(key).and_modify(|e| e.1 += 1).or_insert((f, 1));
            }
        }
        let mut out: Vec<[u32; 3]> = faces
            .into_values()
            .filter(|(_, n)| *n == 1)
            .map(|(f, _)| f)
            .collect();
        out.sort_unstable();
        out
    }

    /// The boundary as a surface of its own: its nodes (mesh indices) and
    /// its outward triangles indexing into them.
    #[must_use]
    pub fn surface(&self) -> (Vec<u32>, Vec<[u32; 3]>) {
        let mut index = vec![u32::MAX; self.nodes.len()];
        let mut nodes = Vec::new();
        let triangles = self
            .boundary()
            .iter()
            .map(|t| {
                t.map(|v| {
                    if index[v as usize] == u32::MAX {
                        index[v as usize] = nodes.len() as u32;
                        nodes.push(v);
                    }
                    index[v as usize]
                })
            })
            .collect();
        (nodes, triangles)
    }

    /// Each edge once (`a < b`).
    #[must_use]
    pub fn edges(&self) -> Vec<[u32; 2]> {
        let mut e: Vec<[u32; 2]> = Vec::with_capacity(self.tets.len() * 6);
        for t in &self.tets {
            for (i, j) in EDGES {
                let (a, b) = (t[i], t[j]);
                e.push([a.min(b), a.max(b)]);
            }
        }
        e.sort_unstable();
        e.dedup();
        e
    }
}

/// The six edges of a tetrahedron as local index pairs.
pub const EDGES: [(usize, usize); 6] = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)];

pub(crate) fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub(crate) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// `v` scaled to length 1 (`v` itself when it has no finite length).
pub(crate) fn unit(v: [f64; 3]) -> [f64; 3] {
    let n = dot(v, v).sqrt();
    if n > 0.0 && n.is_finite() {
        v.map(|x| x / n)
    } else {
        v
    }
}

pub(crate) fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    let d = sub(a, b);
    dot(d, d).sqrt()
}

pub(crate) fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_conforming_and_fills_its_volume() {
        let m = TetMesh::block([4, 3, 2], [8.0, 6.0, 2.0]).unwrap();
        assert_eq!(m.nodes.len(), 5 * 4 * 3);
        assert_eq!(m.tets.len(), 6 * 24);
        assert!((m.volume() - 96.0).abs() < 1e-9);
        assert!((0..m.tets.len()).all(|t| m.signed_volume(t) > 0.0));
        // Conforming: every interior triangle is shared by exactly two
        // tetrahedra, every boundary one by one, and the boundary is the
        // block's surface (2·(4·3 + 4·2 + 3·2) squares, two triangles each).
        let mut faces = std::collections::HashMap::new();
        for t in &m.tets {
            for skip in 0..4 {
                let mut f: Vec<u32> = (0..4).filter(|&i| i != skip).map(|i| t[i]).collect();
                f.sort_unstable();
                *faces.entry(f).or_insert(0) += 1;
            }
        }
        assert!(faces.values().all(|&c| c == 1 || c == 2));
        assert_eq!(
            faces.values().filter(|&&c| c == 1).count(),
            2 * 2 * (12 + 8 + 6)
        );
        // Every boundary node is tagged epicardium, no interior one.
        let epi = m.tagged(tag::EPI).len();
        assert_eq!(epi, 5 * 4 * 3 - 3 * 2);
    }

    #[test]
    fn the_boundary_is_closed_and_points_out() {
        let m = TetMesh::block([3, 2, 2], [3.0, 2.0, 2.0]).unwrap();
        let b = m.boundary();
        assert_eq!(b.len(), 2 * 2 * (6 + 6 + 4));
        // Outward: the divergence theorem gives the block's volume.
        let vol: f64 = b
            .iter()
            .map(|f| {
                let [a, b, c] = f.map(|v| m.nodes[v as usize]);
                dot(a, cross(b, c)) / 6.0
            })
            .sum();
        assert!((vol - 12.0).abs() < 1e-9, "{vol}");
    }

    #[test]
    fn label_faces_tag_their_nodes() {
        // 3×1×1: blood | wall | base.
        let labels = [label::LV_BLOOD, label::LV_WALL, label::BASE];
        let grid = LabelGrid {
            dims: [3, 1, 1],
            spacing: [1.0; 3],
            origin: [0.0; 3],
            labels: &labels,
        };
        let m = TetMesh::from_labels(&grid, |l| l == label::LV_WALL).unwrap();
        assert_eq!(m.nodes.len(), 8);
        assert_eq!(m.tagged(tag::LV_ENDO).len(), 4);
        assert_eq!(m.tagged(tag::BASE).len(), 4);
        assert!(
            m.tagged(tag::LV_ENDO)
                .iter()
                .all(|&v| (m.nodes[v][0] - 0.5).abs() < 1e-12)
        );
        assert!(TetMesh::from_labels(&grid, |l| l == label::RV_WALL).is_err());
        let bad = LabelGrid {
            dims: [2, 1, 1],
            ..grid
        };
        assert!(
            TetMesh::from_labels(&bad, |_| true)
                .unwrap_err()
                .to_string()
                .contains("3 voxels")
        );
    }
}
