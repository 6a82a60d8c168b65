//! External loads: OpenSim's `ExternalLoads` XML (which columns of a GRF
//! table act on which body) and their values at any time.
//!
//! An identifier is a column-label prefix: `ground_force_v` selects the
//! three columns `ground_force_vx/vy/vz`, `ground_torque` or `ground_torque_`
//! the torque columns. Forces, points and torques expressed in ground are
//! supported (every load file of the shared data); a load expressed in a
//! body frame is refused by name. The data file is found relative to the
//! XML's folder.

use std::path::{Path, PathBuf};

use nalgebra::Vector3;

use crate::{Model, MskError, Table};

/// One external force on a body, resolved to table columns.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalForce {
    pub name: String,
    /// Body index in the model.
    pub body: usize,
    /// Column indices (x, y, z) of the force (N), its point of application
    /// (m) and the torque (N·m), all in ground; the point and torque are
    /// optional.
    pub force: [usize; 3],
    pub point: Option<[usize; 3]>,
    pub torque: Option<[usize; 3]>,
}

/// External loads with their data.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalLoads {
    pub forces: Vec<ExternalForce>,
    pub data: Table,
}

/// The force, point and torque of one load at one time (ground frame).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    pub body: usize,
    pub force: Vector3<f64>,
    /// Point of application in ground; `None`: the body's origin.
    pub point: Option<Vector3<f64>>,
    pub torque: Vector3<f64>,
}

/// The three columns whose labels start with `prefix` and end in x, y, z.
fn columns(table: &Table, prefix: &str, what: &str) -> Result<[usize; 3], MskError> {
    let mut found = [None; 3];
    for (j, label) in table.labels.iter().enumerate() {
        let Some(rest) = label.strip_prefix(prefix) else {
            continue;
        };
        let axis = match rest.trim_start_matches('_').to_ascii_lowercase().as_str() {
            "x" => 0,
            "y" => 1,
            "z" => 2,
            _ => continue,
        };
        found[axis] = Some(j);
    }
    match found {
        [Some(x), Some(y), Some(z)] => Ok([x, y, z]),
        _ => Err(MskError::format(format!(
            "{what} identifier `{prefix}` does not select x, y and z columns of the data"
        ))),
    }
}

impl ExternalLoads {
    /// Reads an ExternalLoads XML file and its data file (or `data` when
    /// given, e.g. a GRF table named on the command line).
    pub fn read(path: &Path, model: &Model, data: Option<Table>) -> Result<Self, MskError> {
        let xml = twin_core::limits::read_text(
            path,
            twin_core::limits::MAX_XML_FILE,
            "external loads file",
        )
        .map_err(|e| MskError::io(path, &e))?;
        let doc = roxmltree::Document::parse(&xml)
            .map_err(|e| MskError::format(format!("not valid XML: {e}")).in_file(path))?;
        let root = doc
            .descendants()
            .find(|n| n.has_tag_name("ExternalLoads"))
            .ok_or_else(|| MskError::format("no <ExternalLoads> element").in_file(path))?;
        let text = |n: roxmltree::Node<'_, '_>, tag: &str| -> Option<String> {
            n.children()
                .find(|c| c.has_tag_name(tag))
                .and_then(|c| c.text())
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
        };
        let data = if let Some(d) = data {
            d
        } else {
            let file = text(root, "datafile").ok_or_else(|| {
                MskError::format("no <datafile> (and no GRF file given)").in_file(path)
            })?;
            let p = PathBuf::from(&file);
            let p = if p.is_absolute() {
                p
            } else {
                path.parent().unwrap_or(Path::new(".")).join(p)
            };
            // Name the loads file too: its <datafile> may be what is wrong.
            Table::read(&p)
                .map_err(|e| MskError::format(format!("<datafile> `{file}`: {e}")).in_file(path))?
        };
        let mut forces = Vec::new();
        for f in root
            .descendants()
            .filter(|n| n.has_tag_name("ExternalForce"))
        {
            let name = f.attribute("name").unwrap_or("").to_owned();
            if text(f, "appliesForce").is_some_and(|v| v.eq_ignore_ascii_case("false")) {
                continue;
            }
            let named = |m: MskError| {
                MskError::format(format!("ExternalForce `{name}`: {m}")).in_file(path)
            };
            let body_name = text(f, "applied_to_body")
                .ok_or_else(|| named(MskError::format("no <applied_to_body>")))?;
            let body = model.body(&body_name).ok_or_else(|| {
                named(MskError::format(format!(
                    "body `{body_name}` is not in the model"
                )))
            })?;
            for tag in ["force_expressed_in_body", "point_expressed_in_body"] {
                if let Some(frame) = text(f, tag)
                    && frame != model.bodies[0].name
                {
                    return Err(named(MskError::format(format!(
                        "<{tag}> `{frame}`: only loads expressed in ground are supported"
                    ))));
                }
            }
            let id = |tag: &str| text(f, tag);
            let force_id = id("force_identifier")
                .ok_or_else(|| named(MskError::format("no <force_identifier>")))?;
            let force = columns(&data, &force_id, "force").map_err(named)?;
            let point = id("point_identifier")
                .map(|p| columns(&data, &p, "point"))
                .transpose()
                .map_err(named)?;
            let torque = id("torque_identifier")
                .map(|p| columns(&data, &p, "torque"))
                .transpose()
                .map_err(named)?;
            forces.push(ExternalForce {
                name,
                body,
                force,
                point,
                torque,
            });
        }
        if forces.is_empty() {
            return Err(MskError::format("no ExternalForce that applies a force").in_file(path));
        }
        Ok(Self { forces, data })
    }

    /// Every load at time `t`, linearly interpolated between the data rows
    /// (held at the ends).
    #[must_use]
    pub fn at(&self, t: f64) -> Vec<Load> {
        let time = &self.data.time;
        let n = time.len();
        let (i, w) = if n < 2 || t <= time[0] {
            (0, 0.0)
        } else if t >= time[n - 1] {
            (n - 2, 1.0)
        } else {
            let i = time.partition_point(|&x| x <= t) - 1;
            let span = time[i + 1] - time[i];
            (
                i,
                if span > 0.0 {
                    (t - time[i]) / span
                } else {
                    0.0
                },
            )
        };
        let value = |j: usize| {
            let c = &self.data.columns[j];
            if n < 2 {
                c[0]
            } else {
                c[i] + w * (c[i + 1] - c[i])
            }
        };
        let v3 = |cols: [usize; 3]| Vector3::new(value(cols[0]), value(cols[1]), value(cols[2]));
        self.forces
            .iter()
            .map(|f| Load {
                body: f.body,
                force: v3(f.force),
                point: f.point.map(v3),
                torque: f.torque.map_or_else(Vector3::zeros, v3),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_files_resolve_columns_and_refuse_what_they_cannot() {
        let Some(dir) = twin_core::testdata::require("msk/gait2354_subject01") else {
            return;
        };
        let model = Model::read(&dir.join("subject01.osim")).unwrap();
        let loads =
            ExternalLoads::read(&dir.join("subject01_walk1_grf.xml"), &model, None).unwrap();
        assert_eq!(loads.forces.len(), 2);
        // MANIFEST §3.1: right vertical GRF 769.0 N at 1.2333 s.
        let right = loads.at(1.2333)[0];
        assert!((right.force.y - 769.0).abs() < 1.0, "{}", right.force.y);
        assert_eq!(model.bodies[right.body].name, "calcn_r");
        // Broken variants of the same file, written to a scratch folder.
        let scratch = std::env::temp_dir().join(format!("twin_msk_loads_{}", std::process::id()));
        std::fs::create_dir_all(&scratch).unwrap();
        let xml = std::fs::read_to_string(dir.join("subject01_walk1_grf.xml")).unwrap();
        for (from, to, expect) in [
            (
                "<applied_to_body>calcn_r",
                "<applied_to_body>wing_r",
                "wing_r",
            ),
            (
                "<force_identifier>ground_force_v<",
                "<force_identifier>nothing_v<",
                "nothing_v",
            ),
            (
                "<point_expressed_in_body>ground</point_expressed_in_body>",
                "<point_expressed_in_body>calcn_r</point_expressed_in_body>",
                "only loads expressed in ground",
            ),
        ] {
            let path = scratch.join("loads.xml");
            std::fs::write(&path, xml.replacen(from, to, 1)).unwrap();
            let data = Table::read(&dir.join("subject01_walk1_grf.mot")).unwrap();
            let e = ExternalLoads::read(&path, &model, Some(data))
                .unwrap_err()
                .to_string();
            assert!(e.contains(expect) && e.contains("RightForce"), "{e}");
        }
        std::fs::remove_dir_all(&scratch).unwrap();
    }
}
