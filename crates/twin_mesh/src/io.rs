//! Mesh files: STL (binary and ASCII), OBJ and PLY (binary little endian),
//! written and read back, in millimetres. Coordinates are LPS by default, as
//! 3D Slicer writes them; RAS negates x and y (a rotation, so triangle winding
//! and outward normals are kept).
//!
//! STL goes through `stl_io`, PLY through `ply-rs-bw`, OBJ is read by `tobj`
//! and written here (a few lines of text); ASCII STL is written here too
//! (`stl_io` writes binary only).

use std::io::{BufWriter, Write};
use std::path::Path;

use crate::TriMesh;

/// A mesh file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeshFormat {
    StlBinary,
    StlAscii,
    Obj,
    Ply,
}

impl MeshFormat {
    /// From the file extension (`.stl` is binary STL).
    #[must_use]
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "stl" => Some(Self::StlBinary),
            "obj" => Some(Self::Obj),
            "ply" => Some(Self::Ply),
            _ => None,
        }
    }
}

/// Coordinate frame of a written file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Frame {
    /// DICOM patient coordinates (x → left, y → posterior, z → superior).
    #[default]
    Lps,
    /// x → right, y → anterior, z → superior (NIfTI, many CAD tools).
    Ras,
}

impl Frame {
    fn map(self, p: [f32; 3]) -> [f32; 3] {
        match self {
            Frame::Lps => p,
            Frame::Ras => [-p[0], -p[1], p[2]],
        }
    }

    /// "LPS" or "RAS".
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Frame::Lps => "LPS",
            Frame::Ras => "RAS",
        }
    }
}

/// Why a mesh file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum MeshIoError {
    #[error("`{path}`: unknown mesh format (use .stl, .obj or .ply)")]
    UnknownFormat { path: std::path::PathBuf },
    #[error("`{path}`: {message}")]
    File {
        path: std::path::PathBuf,
        message: String,
    },
}

fn file_err(path: &Path, message: impl std::fmt::Display) -> MeshIoError {
    MeshIoError::File {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

fn face_normal(p: &[[f32; 3]], t: [u32; 3]) -> [f32; 3] {
    let [a, b, c] = t.map(|i| p[i as usize]);
    let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    let n = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    if len > 0.0 {
        n.map(|x| x / len)
    } else {
        [0.0; 3]
    }
}

/// Writes `mesh` (LPS mm) to `path` in `format`, in `frame` coordinates.
pub fn write_mesh(
    mesh: &TriMesh,
    path: &Path,
    format: MeshFormat,
    frame: Frame,
) -> Result<(), MeshIoError> {
    let positions: Vec<[f32; 3]> = mesh.positions.iter().map(|p| frame.map(*p)).collect();
    let file = std::fs::File::create(path).map_err(|e| file_err(path, e))?;
    let mut w = BufWriter::new(file);
    let io = |e: std::io::Error| file_err(path, e);
    match format {
        MeshFormat::StlBinary => {
            let triangles = mesh.triangles.iter().map(|t| stl_io::Triangle {
                normal: stl_io::Vector(face_normal(&positions, *t)),
                vertices: t.map(|i| stl_io::Vector(positions[i as usize])),
            });
            stl_io::write_stl(&mut w, triangles).map_err(io)?;
        }
        MeshFormat::StlAscii => {
            writeln!(w, "solid twinscope_mm_{}", frame.name()).map_err(io)?;
            for t in &mesh.triangles {
                let n = face_normal(&positions, *t);
                writeln!(w, "  facet normal {} {} {}", n[0], n[1], n[2]).map_err(io)?;
                writeln!(w, "    outer loop").map_err(io)?;
                for i in t {
                    let p = positions[*i as usize];
                    writeln!(w, "      vertex {} {} {}", p[0], p[1], p[2]).map_err(io)?;
                }
                writeln!(w, "    endloop\n  endfacet").map_err(io)?;
            }
            writeln!(w, "endsolid twinscope_mm_{}", frame.name()).map_err(io)?;
        }
        MeshFormat::Obj => {
            writeln!(
                w,
                "# Twinscope mesh, millimetres, {} coordinates",
                frame.name()
            )
            .map_err(io)?;
            for p in &positions {
                writeln!(w, "v {} {} {}", p[0], p[1], p[2]).map_err(io)?;
            }
            for t in &mesh.triangles {
                writeln!(w, "f {} {} {}", t[0] + 1, t[1] + 1, t[2] + 1).map_err(io)?;
            }
        }
        MeshFormat::Ply => write_ply(&mut w, &positions, &mesh.triangles, frame, path)?,
    }
    w.flush().map_err(io)
}

fn write_ply(
    w: &mut impl Write,
    positions: &[[f32; 3]],
    triangles: &[[u32; 3]],
    frame: Frame,
    path: &Path,
) -> Result<(), MeshIoError> {
    use ply_rs_bw::ply::{
        Addable, DefaultElement, ElementDef, Encoding, Ply, Property, PropertyDef, PropertyType,
        ScalarType,
    };
    let mut ply = Ply::<DefaultElement>::new();
    ply.header.encoding = Encoding::BinaryLittleEndian;
    ply.header.comments.push(format!(
        "Twinscope mesh, millimetres, {} coordinates",
        frame.name()
    ));
    let mut vertex = ElementDef::new("vertex".to_owned());
    for c in ["x", "y", "z"] {
        vertex.properties.add(PropertyDef::new(
            c.to_owned(),
            PropertyType::Scalar(ScalarType::Float),
        ));
    }
    ply.header.elements.add(vertex);
    let mut face = ElementDef::new("face".to_owned());
    face.properties.add(PropertyDef::new(
        "vertex_indices".to_owned(),
        PropertyType::List(ScalarType::UChar, ScalarType::Int),
    ));
    ply.header.elements.add(face);
    let vertices = positions
        .iter()
        .map(|p| {
            let mut e = DefaultElement::new();
            e.insert("x".to_owned(), Property::Float(p[0]));
            e.insert("y".to_owned(), Property::Float(p[1]));
            e.insert("z".to_owned(), Property::Float(p[2]));
            e
        })
        .collect();
    ply.payload.insert("vertex".to_owned(), vertices);
    let faces = triangles
        .iter()
        .map(|t| {
            let mut e = DefaultElement::new();
            e.insert(
                "vertex_indices".to_owned(),
                Property::ListInt(t.iter().map(|&i| i as i32).collect()),
            );
            e
        })
        .collect();
    ply.payload.insert("face".to_owned(), faces);
    ply_rs_bw::writer::Writer::new()
        .write_ply(w, &mut ply)
        .map_err(|e| file_err(path, e))?;
    Ok(())
}

/// The `DataArray` of `section` (named `name` when given).
fn vtp_array<'a, 'i>(
    section: roxmltree::Node<'a, 'i>,
    name: Option<&str>,
) -> Option<roxmltree::Node<'a, 'i>> {
    section.children().find(|c| {
        c.has_tag_name("DataArray") && name.is_none_or(|n| c.attribute("Name") == Some(n))
    })
}

/// Reads a VTK XML PolyData file (`.vtp`, as OpenSim ships bone meshes)
/// with ASCII data arrays: every piece's points and polygons (split into
/// triangle fans). Binary or compressed arrays are refused by name.
pub fn read_vtp(path: &Path) -> Result<TriMesh, MeshIoError> {
    let text = twin_core::limits::read_text(path, twin_core::limits::MAX_XML_FILE, "VTP mesh")
        .map_err(|e| file_err(path, e))?;
    let doc = roxmltree::Document::parse(&text)
        .map_err(|e| file_err(path, format!("not valid XML: {e}")))?;
    let mut mesh = TriMesh::default();
    let numbers = |array: roxmltree::Node<'_, '_>| -> Result<Vec<f64>, MeshIoError> {
        if array.attribute("format") != Some("ascii") {
            return Err(file_err(
                path,
                format!(
                    "data array `{}` is `{}`; only ascii VTP arrays are read",
                    array.attribute("Name").unwrap_or(""),
                    array.attribute("format").unwrap_or("?")
                ),
            ));
        }
        array
            .text()
            .unwrap_or("")
            .split_whitespace()
            .map(|t| {
                t.parse::<f64>()
                    .map_err(|_| file_err(path, format!("`{t}` is not a number")))
            })
            .collect()
    };
    for piece in doc.descendants().filter(|n| n.has_tag_name("Piece")) {
        let base = mesh.positions.len() as u32;
        let Some(points) = piece
            .children()
            .find(|c| c.has_tag_name("Points"))
            .and_then(|p| vtp_array(p, None))
        else {
            return Err(file_err(path, "a piece without <Points>"));
        };
        let xyz = numbers(points)?;
        if xyz.len() % 3 != 0 {
            return Err(file_err(path, "the point coordinates are not triples"));
        }
        mesh.positions.extend(
            xyz.chunks_exact(3)
                .map(|c| [c[0] as f32, c[1] as f32, c[2] as f32]),
        );
        let count = (xyz.len() / 3) as u32;
        let Some(polys) = piece.children().find(|c| c.has_tag_name("Polys")) else {
            continue;
        };
        let (Some(conn), Some(offs)) = (
            vtp_array(polys, Some("connectivity")),
            vtp_array(polys, Some("offsets")),
        ) else {
            return Err(file_err(path, "<Polys> without connectivity and offsets"));
        };
        let (conn, offs) = (numbers(conn)?, numbers(offs)?);
        let mut start = 0usize;
        for &end in &offs {
            let end = end as usize;
            if end < start || end > conn.len() {
                return Err(file_err(path, "polygon offsets out of order"));
            }
            let poly = &conn[start..end];
            for k in 1..poly.len().saturating_sub(1) {
                let t = [poly[0], poly[k], poly[k + 1]].map(|i| i as u32);
                if t.iter().any(|&i| i >= count) {
                    return Err(file_err(
                        path,
                        "a polygon refers to a point the piece does not have",
                    ));
                }
                mesh.triangles.push(t.map(|i| i + base));
            }
            start = end;
        }
    }
    if mesh.triangles.is_empty() {
        return Err(file_err(path, "no polygons"));
    }
    Ok(mesh)
}

/// Reads a mesh (STL binary or ASCII, OBJ, PLY) as stored in the file
/// (coordinates are not converted). Polygons are split into triangle fans;
/// STL's separate vertices are merged by position. A panic in a format
/// crate is returned as an error naming the file.
pub fn read_mesh(path: &Path) -> Result<TriMesh, MeshIoError> {
    twin_core::limits::contain_panic(|| read_mesh_file(path))
        .map_err(|e| file_err(path, e))
        .and_then(|r| r)
}

fn read_mesh_file(path: &Path) -> Result<TriMesh, MeshIoError> {
    let format = MeshFormat::from_path(path).ok_or_else(|| MeshIoError::UnknownFormat {
        path: path.to_owned(),
    })?;
    let size = twin_core::limits::check_size(path, twin_core::limits::MAX_MESH_FILE, "mesh file")
        .map_err(|e| file_err(path, e))?;
    let mut file = std::fs::File::open(path).map_err(|e| file_err(path, e))?;
    let mesh = match format {
        MeshFormat::StlBinary | MeshFormat::StlAscii => {
            check_binary_stl_count(&mut file, size).map_err(|e| file_err(path, e))?;
            let m = stl_io::read_stl(&mut file).map_err(|e| file_err(path, e))?;
            TriMesh {
                positions: m.vertices.iter().map(|v| v.0).collect(),
                triangles: m
                    .faces
                    .iter()
                    .map(|f| f.vertices.map(|i| i as u32))
                    .collect(),
            }
        }
        MeshFormat::Obj => {
            let options = tobj::LoadOptions {
                single_index: true,
                triangulate: true,
                ..tobj::LoadOptions::default()
            };
            let (models, _) = tobj::load_obj(path, &options).map_err(|e| file_err(path, e))?;
            let mut mesh = TriMesh::default();
            for m in models {
                let base = mesh.positions.len() as u32;
                mesh.positions
                    .extend(m.mesh.positions.chunks_exact(3).map(|c| [c[0], c[1], c[2]]));
                mesh.triangles.extend(
                    m.mesh
                        .indices
                        .chunks_exact(3)
                        .map(|c| [c[0] + base, c[1] + base, c[2] + base]),
                );
            }
            mesh
        }
        MeshFormat::Ply => read_ply(&mut file, path)?,
    };
    let n = mesh.positions.len() as u32;
    if mesh.triangles.iter().flatten().any(|&i| i >= n) {
        return Err(file_err(
            path,
            "a face refers to a vertex that does not exist",
        ));
    }
    Ok(mesh)
}

/// A binary STL (one that does not start with `solid`) must hold the
/// triangles its header announces; checked before reading them. Leaves the
/// file at its start.
fn check_binary_stl_count(file: &mut std::fs::File, size: u64) -> Result<(), String> {
    use std::io::{Read, Seek};
    let mut head = [0u8; 84];
    let n = file.read(&mut head).map_err(|e| e.to_string())?;
    file.rewind().map_err(|e| e.to_string())?;
    if n < 84 || head.starts_with(b"solid") {
        return Ok(()); // ASCII, or too short: stl_io says what is wrong.
    }
    let count = u64::from(u32::from_le_bytes([head[80], head[81], head[82], head[83]]));
    let needed = 84 + 50 * count;
    if needed > size {
        return Err(format!(
            "the header announces {count} triangles ({needed} bytes), the file has {size} bytes"
        ));
    }
    Ok(())
}

fn read_ply(file: &mut std::fs::File, path: &Path) -> Result<TriMesh, MeshIoError> {
    use ply_rs_bw::ply::{DefaultElement, Property};
    let mut reader = std::io::BufReader::new(file);
    let ply = ply_rs_bw::parser::Parser::<DefaultElement>::new()
        .read_ply(&mut reader)
        .map_err(|e| file_err(path, e))?;
    let scalar = |p: Option<&Property>| -> Option<f32> {
        match p? {
            Property::Float(v) => Some(*v),
            Property::Double(v) => Some(*v as f32),
            _ => None,
        }
    };
    let mut mesh = TriMesh::default();
    for v in ply.payload.get("vertex").map_or(&[][..], Vec::as_slice) {
        let p = [v.get("x"), v.get("y"), v.get("z")].map(scalar);
        let [Some(x), Some(y), Some(z)] = p else {
            return Err(file_err(path, "vertex without float x, y, z"));
        };
        mesh.positions.push([x, y, z]);
    }
    for f in ply.payload.get("face").map_or(&[][..], Vec::as_slice) {
        let idx: Vec<u32> = match f.get("vertex_indices").or_else(|| f.get("vertex_index")) {
            Some(Property::ListInt(v)) => v.iter().map(|&i| i.max(0) as u32).collect(),
            Some(Property::ListUInt(v)) => v.clone(),
            _ => return Err(file_err(path, "face without vertex_indices")),
        };
        for k in 1..idx.len().saturating_sub(1) {
            mesh.triangles.push([idx[0], idx[k], idx[k + 1]]);
        }
    }
    Ok(mesh)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A closed octahedron (outward winding), volume 4/3 · r³.
    fn octahedron() -> TriMesh {
        let r = 10.5f32;
        TriMesh {
            positions: vec![
                [r, 0.0, 0.0],
                [-r, 0.0, 0.0],
                [0.0, r, 0.0],
                [0.0, -r, 0.0],
                [0.0, 0.0, r],
                [0.0, 0.0, -r],
            ],
            triangles: vec![
                [0, 2, 4],
                [2, 1, 4],
                [1, 3, 4],
                [3, 0, 4],
                [2, 0, 5],
                [1, 2, 5],
                [3, 1, 5],
                [0, 3, 5],
            ],
        }
    }

    #[test]
    fn every_format_round_trips_a_closed_mesh() {
        let dir = tempfile::tempdir().unwrap();
        let mesh = octahedron();
        let want = mesh.stats();
        assert!(want.watertight() && want.volume_mm3 > 0.0);
        for (name, format) in [
            ("a.stl", MeshFormat::StlBinary),
            ("b.stl", MeshFormat::StlAscii),
            ("c.obj", MeshFormat::Obj),
            ("d.ply", MeshFormat::Ply),
        ] {
            let path = dir.path().join(name);
            write_mesh(&mesh, &path, format, Frame::Lps).unwrap();
            let back = read_mesh(&path).unwrap();
            let got = back.stats();
            assert_eq!(got.triangles, want.triangles, "{name}");
            assert_eq!(got.vertices, want.vertices, "{name}: vertices shared");
            assert!(got.watertight(), "{name}");
            assert!(
                (got.volume_mm3 - want.volume_mm3).abs() < 1e-6 * want.volume_mm3,
                "{name}"
            );
        }
    }

    #[test]
    fn ras_negates_x_and_y_and_keeps_orientation() {
        let dir = tempfile::tempdir().unwrap();
        let mut mesh = octahedron();
        for p in &mut mesh.positions {
            p[0] += 5.0;
            p[1] -= 3.0;
        }
        let path = dir.path().join("ras.ply");
        write_mesh(&mesh, &path, MeshFormat::Ply, Frame::Ras).unwrap();
        let back = read_mesh(&path).unwrap();
        let want = [-(10.5f32 + 5.0), 3.0, 0.0];
        assert_eq!(back.positions[0].map(f32::to_bits), want.map(f32::to_bits));
        assert!(back.stats().volume_mm3 > 0.0, "outward normals kept");
    }

    #[test]
    fn bad_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.ply");
        std::fs::write(&p, b"not a ply").unwrap();
        let e = read_mesh(&p).unwrap_err();
        assert!(e.to_string().contains("x.ply"), "{e}");
        let e = read_mesh(&dir.path().join("x.vtk")).unwrap_err();
        assert!(e.to_string().contains("unknown mesh format"), "{e}");
        let obj = dir.path().join("bad.obj");
        std::fs::write(&obj, "v 0 0 0\nf 1 2 3\n").unwrap();
        assert!(read_mesh(&obj).is_err());
    }

    #[test]
    fn opensim_bone_meshes_read_from_vtp() {
        let Some(dir) = twin_core::testdata::require("msk/Geometry") else {
            return;
        };
        // femur_r.vtp: 456 points, 908 triangles (the file's counts).
        let m = read_vtp(&dir.join("femur_r.vtp")).unwrap();
        assert_eq!((m.positions.len(), m.triangles.len()), (456, 908));
        // A femur: about 0.4 m long along y, in metres.
        let (lo, hi) = m.bounds().unwrap();
        assert!((0.3..0.5).contains(&(hi[1] - lo[1])), "{lo:?} {hi:?}");
        let s = m.stats();
        assert!(s.watertight(), "{s:?}");
        // Every mesh of the folder reads.
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "vtp") {
                read_vtp(&path).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        let bad = std::env::temp_dir().join(format!("twin_vtp_{}.vtp", std::process::id()));
        std::fs::write(&bad, "<VTKFile><PolyData><Piece><Points><DataArray format=\"binary\" Name=\"p\">AAAA</DataArray></Points></Piece></PolyData></VTKFile>").unwrap();
        let e = read_vtp(&bad).unwrap_err().to_string();
        assert!(e.contains("only ascii") && e.contains("twin_vtp_"), "{e}");
        std::fs::remove_file(&bad).unwrap();
    }
}
