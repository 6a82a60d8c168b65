//! Tetrahedral meshes as legacy VTK unstructured grids (ASCII), the
//! format ParaView, 3D Slicer and meshio read: points (mm), tetrahedra
//! (cell type 10), the region of each tetrahedron (`region`, cell data),
//! the surface tags of each node (`tags`, point data) and any per-node
//! fields (an activation map, say).

use std::fmt::Write as _;
use std::path::Path;

use crate::EpError;
use crate::mesh::{MAX_NODES, TetMesh};

/// The mesh with per-node fields `(name, values)` as VTK text.
#[must_use]
pub fn to_vtk(mesh: &TetMesh, fields: &[(&str, &[f64])]) -> String {
    let mut s = String::with_capacity(64 * (mesh.nodes.len() + mesh.tets.len()));
    s.push_str("# vtk DataFile Version 3.0\nTwinscope ventricular mesh (mm)\nASCII\nDATASET UNSTRUCTURED_GRID\n");
    let _ = writeln!(s, "POINTS {} double", mesh.nodes.len());
    for p in &mesh.nodes {
        let _ = writeln!(s, "{} {} {}", p[0], p[1], p[2]);
    }
    let _ = writeln!(s, "CELLS {} {}", mesh.tets.len(), 5 * mesh.tets.len());
    for t in &mesh.tets {
        let _ = writeln!(s, "4 {} {} {} {}", t[0], t[1], t[2], t[3]);
    }
    let _ = writeln!(s, "CELL_TYPES {}", mesh.tets.len());
    for _ in &mesh.tets {
        s.push_str("10\n");
    }
    let _ = writeln!(
        s,
        "CELL_DATA {}\nSCALARS region int 1\nLOOKUP_TABLE default",
        mesh.tets.len()
    );
    for r in &mesh.region {
        let _ = writeln!(s, "{r}");
    }
    let _ = writeln!(
        s,
        "POINT_DATA {}\nSCALARS tags int 1\nLOOKUP_TABLE default",
        mesh.nodes.len()
    );
    for t in &mesh.tags {
        let _ = writeln!(s, "{t}");
    }
    for (name, values) in fields {
        let _ = writeln!(s, "SCALARS {name} double 1\nLOOKUP_TABLE default");
        for v in *values {
            // VTK readers take `nan`; an unreached node has no time.
            if v.is_finite() {
                let _ = writeln!(s, "{v}");
            } else {
                s.push_str("nan\n");
            }
        }
    }
    s
}

/// Writes [`to_vtk`] to `path`.
///
/// # Errors
/// The file cannot be written.
pub fn write_vtk(path: &Path, mesh: &TetMesh, fields: &[(&str, &[f64])]) -> Result<(), EpError> {
    std::fs::write(path, to_vtk(mesh, fields))
        .map_err(|e| EpError::input(format!("cannot write {}: {e}", path.display())))
}

/// Reads a legacy ASCII VTK unstructured grid of tetrahedra (other cells
/// are refused), with `region` cell data and `tags` point data when
/// present (else every tetrahedron LV wall, no tags).
///
/// # Errors
/// The text is not such a grid (the message names the line), counts are
/// absurd, or indices point outside the points.
pub fn from_vtk(text: &str, name: &str) -> Result<TetMesh, EpError> {
    let bad = |line: usize, why: &str| EpError::input(format!("{name}, line {}: {why}", line + 1));
    let lines: Vec<&str> = text.lines().collect();
    if !lines
        .first()
        .is_some_and(|l| l.starts_with("# vtk DataFile"))
    {
        return Err(bad(0, "not a legacy VTK file"));
    }
    if lines.get(2).is_none_or(|l| l.trim() != "ASCII") {
        return Err(bad(2, "only ASCII VTK files are read"));
    }
    let mut tokens = lines
        .iter()
        .enumerate()
        .skip(3)
        .flat_map(|(i, l)| l.split_whitespace().map(move |t| (i, t)));
    let mut next = |what: &str| {
        tokens
            .next()
            .ok_or_else(|| EpError::input(format!("{name}: ends before {what}")))
    };
    let count = |tok: (usize, &str), cap: usize| -> Result<usize, EpError> {
        let n: usize = tok.1.parse().map_err(|_| bad(tok.0, "expected a count"))?;
        if n > cap {
            return Err(bad(tok.0, &format!("count {n} is above the limit {cap}")));
        }
        Ok(n)
    };
    let (mut nodes, mut tets, mut region, mut tags) = (Vec::new(), Vec::new(), None, None);
    let mut section = String::new();
    while let Ok(tok) = next("the end") {
        match tok.1 {
            "DATASET" => {
                let kind = next("the dataset type")?;
                if kind.1 != "UNSTRUCTURED_GRID" {
                    return Err(bad(kind.0, "the dataset must be an UNSTRUCTURED_GRID"));
                }
            }
            "POINTS" => {
                let n = count(next("the point count")?, MAX_NODES)?;
                next("the point type")?;
                nodes.reserve(n);
                for _ in 0..n {
                    let mut p = [0.0f64; 3];
                    for c in &mut p {
                        let t = next("a coordinate")?;
                        *c = t.1.parse().map_err(|_| bad(t.0, "expected a coordinate"))?;
                        if !c.is_finite() {
                            return Err(bad(t.0, "a coordinate is not finite"));
                        }
                    }
                    nodes.push(p);
                }
            }
            "CELLS" => {
                let n = count(next("the cell count")?, 8 * MAX_NODES)?;
                next("the cell list size")?;
                tets.reserve(n);
                for _ in 0..n {
                    let k = next("a cell")?;
                    if k.1 != "4" {
                        return Err(bad(k.0, "only tetrahedra (4 points a cell) are read"));
                    }
                    let mut t = [0u32; 4];
                    for v in &mut t {
                        let tok = next("a cell's point")?;
                        *v = tok
                            .1
                            .parse()
                            .map_err(|_| bad(tok.0, "expected a point index"))?;
                    }
                    tets.push(t);
                }
            }
            "CELL_TYPES" => {
                let n = count(next("the cell type count")?, 8 * MAX_NODES)?;
                for _ in 0..n {
                    let t = next("a cell type")?;
                    if t.1 != "10" {
                        return Err(bad(t.0, "only tetrahedra (VTK cell type 10) are read"));
                    }
                }
            }
            "CELL_DATA" | "POINT_DATA" => {
                tok.1.clone_into(&mut section);
                next("the data count")?;
            }
            "SCALARS" => {
                let field = next("the field's name")?.1.to_owned();
                next("the field's type")?;
                let mut t = next("the lookup table")?;
                if t.1 == "1" {
                    t = next("the lookup table")?;
                }
                if t.1 != "LOOKUP_TABLE" {
                    return Err(bad(t.0, "expected LOOKUP_TABLE"));
                }
                next("the lookup table's name")?;
                let n = if section == "CELL_DATA" {
                    tets.len()
                } else {
                    nodes.len()
                };
                let mut values = Vec::with_capacity(n);
                for _ in 0..n {
                    let t = next("a value")?;
                    values.push(t.1.parse::<f64>().unwrap_or(f64::NAN));
                }
                let as_u8 = |v: &[f64]| {
                    v.iter()
                        .map(|x| if x.is_finite() { *x as u8 } else { 0 })
                        .collect::<Vec<u8>>()
                };
                match (section.as_str(), field.as_str()) {
                    ("CELL_DATA", "region") => region = Some(as_u8(&values)),
                    ("POINT_DATA", "tags") => tags = Some(as_u8(&values)),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if tets.is_empty() {
        return Err(EpError::input(format!("{name}: no tetrahedra")));
    }
    let n = tets.len();
    let mut mesh = TetMesh::new(
        nodes,
        tets,
        region.unwrap_or_else(|| vec![crate::mesh::label::LV_WALL; n]),
    )?;
    if let Some(t) = tags {
        mesh.tags = t;
    }
    Ok(mesh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mesh_survives_a_vtk_round_trip() {
        let m = TetMesh::block([3, 2, 2], [3.0, 2.0, 2.0]).unwrap();
        let field: Vec<f64> = (0..m.nodes.len()).map(|i| i as f64 * 0.5).collect();
        let text = to_vtk(&m, &[("activation_ms", &field)]);
        let back = from_vtk(&text, "block.vtk").unwrap();
        assert_eq!(back.nodes, m.nodes);
        assert_eq!(back.tets, m.tets);
        assert_eq!(back.region, m.region);
        assert_eq!(back.tags, m.tags);
        assert!((back.volume() - 12.0).abs() < 1e-9);
    }

    #[test]
    fn broken_files_are_named_with_their_line() {
        assert!(
            from_vtk("hello", "x.vtk")
                .unwrap_err()
                .to_string()
                .contains("not a legacy VTK")
        );
        let m = TetMesh::block([1, 1, 1], [1.0; 3]).unwrap();
        let text = to_vtk(&m, &[]);
        let hex = text.replacen("4 ", "8 ", 1);
        assert!(
            from_vtk(&hex, "x.vtk")
                .unwrap_err()
                .to_string()
                .contains("only tetrahedra")
        );
        let big = text.replacen("POINTS 8", "POINTS 99999999999", 1);
        assert!(
            from_vtk(&big, "x.vtk")
                .unwrap_err()
                .to_string()
                .contains("above the limit")
        );
        let cut = &text[..text.len() / 3];
        assert!(from_vtk(cut, "x.vtk").is_err());
        let outside = text.replacen("4 0 ", "4 99 ", 1);
        assert!(
            from_vtk(&outside, "x.vtk")
                .unwrap_err()
                .to_string()
                .contains("beyond")
        );
    }
}
