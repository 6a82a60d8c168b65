//! Scaling a generic model to a subject, as OpenSim's Scale tool does with
//! measurements: each measurement compares distances between marker pairs
//! on the subject (each distance averaged over the frames of a static trial)
//! with the same pairs on the model in its default pose, and scales the bodies it lists by the mean
//! ratio along the listed axes. The total mass is then set with the mass
//! distribution kept.
//!
//! What scaling a body by `S = diag(sx, sy, sz)` changes: its centre of mass,
//! its inertia (second moments `J = ½ tr(I) 𝟙 − I` become `(m'/m) S J S`),
//! the joint frames placed in it (its own joint's child frame, its
//! children's parent frames), the translations of its children's custom
//! joints (their functions are multiplied by the scale along their axis),
//! and the markers and path points on it (moving points' functions too).

use std::collections::BTreeMap;
use std::path::Path;

use nalgebra::{Matrix3, Vector3};

use crate::function::Function;
use crate::model::{JointKind, PathPoint};
use crate::{Markers, Model, MskError};

/// One measurement: marker pairs and the bodies (with axes) it scales.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub name: String,
    pub pairs: Vec<[String; 2]>,
    /// Body name and which of its axes (x, y, z) the factor applies to.
    pub bodies: Vec<(String, [bool; 3])>,
}

fn text<'a>(n: roxmltree::Node<'a, '_>, tag: &str) -> Option<&'a str> {
    n.children()
        .find(|c| c.has_tag_name(tag))
        .and_then(|c| c.text())
        .map(str::trim)
}

/// Scale factors per body index (x, y, z).
pub type BodyScales = BTreeMap<usize, Vector3<f64>>;

/// Reads the `MeasurementSet` of an OpenSim ScaleTool setup (or a bare
/// MeasurementSet file).
pub fn read_measurements(path: &Path) -> Result<Vec<Measurement>, MskError> {
    let xml =
        twin_core::limits::read_text(path, twin_core::limits::MAX_XML_FILE, "scale setup file")
            .map_err(|e| MskError::io(path, &e))?;
    let doc = roxmltree::Document::parse(&xml)
        .map_err(|e| MskError::format(format!("not valid XML: {e}")).in_file(path))?;
    let mut out = Vec::new();
    for m in doc.descendants().filter(|n| n.has_tag_name("Measurement")) {
        if text(m, "apply").is_some_and(|a| a.eq_ignore_ascii_case("false")) {
            continue;
        }
        let name = m.attribute("name").unwrap_or("").to_owned();
        let mut pairs = Vec::new();
        for p in m.descendants().filter(|n| n.has_tag_name("MarkerPair")) {
            let names: Vec<&str> = text(p, "markers")
                .unwrap_or("")
                .split_whitespace()
                .collect();
            let [a, b] = names.as_slice() else {
                return Err(MskError::format(format!(
                    "measurement `{name}`: a marker pair names {} markers, not 2",
                    names.len()
                ))
                .in_file(path));
            };
            pairs.push([(*a).to_owned(), (*b).to_owned()]);
        }
        let mut bodies = Vec::new();
        for b in m.descendants().filter(|n| n.has_tag_name("BodyScale")) {
            let axes = text(b, "axes").unwrap_or("X Y Z");
            let mut mask = [false; 3];
            for a in axes.split_whitespace() {
                match a {
                    "X" | "x" => mask[0] = true,
                    "Y" | "y" => mask[1] = true,
                    "Z" | "z" => mask[2] = true,
                    other => {
                        return Err(MskError::format(format!(
                            "measurement `{name}`: axis `{other}` (X, Y or Z)"
                        ))
                        .in_file(path));
                    }
                }
            }
            bodies.push((b.attribute("name").unwrap_or("").to_owned(), mask));
        }
        if pairs.is_empty() || bodies.is_empty() {
            return Err(MskError::format(format!(
                "measurement `{name}` needs marker pairs and bodies to scale"
            ))
            .in_file(path));
        }
        out.push(Measurement {
            name,
            pairs,
            bodies,
        });
    }
    if out.is_empty() {
        return Err(MskError::format("no Measurement to apply").in_file(path));
    }
    Ok(out)
}

/// A measurement's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub name: String,
    /// Mean subject/model distance ratio.
    pub factor: f64,
    /// Subject and model distance of each pair (m).
    pub distances: Vec<(f64, f64)>,
}

/// Scale factors per body (index) from `measurements`, the subject's
/// marker-pair distances averaged over the frames of `static_trial` in
/// `time_range`, and the model's markers in its default pose.
pub fn measure(
    model: &Model,
    static_trial: &Markers,
    time_range: Option<[f64; 2]>,
    measurements: &[Measurement],
) -> Result<(BodyScales, Vec<Measured>), MskError> {
    let (lo, hi) = time_range.map_or((f64::NEG_INFINITY, f64::INFINITY), |[a, b]| (a, b));
    let frames: Vec<usize> = (0..static_trial.frames())
        .filter(|&f| (lo..=hi).contains(&static_trial.time[f]))
        .collect();
    if frames.is_empty() {
        return Err(MskError::format("no static-trial frame in the time range"));
    }
    let index = |name: &str| {
        static_trial
            .index_of(name)
            .ok_or_else(|| MskError::format(format!("marker `{name}` is not in the static trial")))
    };
    // The pair's distance averaged over the static frames that hold both
    // markers (OpenSim's Scale tool averages the distances, not the
    // positions: the two differ when the subject moves).
    let subject_distance = |a: &str, b: &str| -> Result<f64, MskError> {
        let (ia, ib) = (index(a)?, index(b)?);
        let d: Vec<f64> = frames
            .iter()
            .filter(|&&f| static_trial.present(f, ia) && static_trial.present(f, ib))
            .map(|&f| {
                (Vector3::from(static_trial.positions[f][ia])
                    - Vector3::from(static_trial.positions[f][ib]))
                .norm()
            })
            .collect();
        if d.is_empty() {
            return Err(MskError::format(format!(
                "markers `{a}` and `{b}` are never both present in the static frames"
            )));
        }
        Ok(d.iter().sum::<f64>() / d.len() as f64)
    };
    let poses = model.body_poses(&model.default_coordinates());
    let at = model.marker_positions(&poses);
    let on_model = |name: &str| -> Result<Vector3<f64>, MskError> {
        model
            .markers
            .iter()
            .position(|m| m.name == name)
            .map(|i| at[i])
            .ok_or_else(|| MskError::format(format!("marker `{name}` is not on the model")))
    };
    let mut factors = BodyScales::new();
    let mut report = Vec::new();
    for m in measurements {
        let mut distances = Vec::new();
        for [a, b] in &m.pairs {
            let d_subject = subject_distance(a, b)?;
            let d_model = (on_model(a)? - on_model(b)?).norm();
            if d_model < 1e-9 {
                return Err(MskError::format(format!(
                    "measurement `{}`: markers `{a}` and `{b}` coincide on the model",
                    m.name
                )));
            }
            distances.push((d_subject, d_model));
        }
        let factor = distances.iter().map(|(s, d)| s / d).sum::<f64>() / distances.len() as f64;
        for (body, axes) in &m.bodies {
            let b = model.body(body).ok_or_else(|| {
                MskError::format(format!(
                    "measurement `{}` scales body `{body}`, which the model does not have",
                    m.name
                ))
            })?;
            let f = factors.entry(b).or_insert_with(|| Vector3::repeat(1.0));
            for k in 0..3 {
                if axes[k] {
                    f[k] = factor;
                }
            }
        }
        report.push(Measured {
            name: m.name.clone(),
            factor,
            distances,
        });
    }
    Ok((factors, report))
}

fn scaled_function(f: &Function, scale: f64) -> Function {
    if (scale - 1.0).abs() < f64::EPSILON {
        return f.clone();
    }
    Function::Multiplier {
        function: Box::new(f.clone()),
        scale,
    }
}

impl Model {
    /// This model with `factors` applied per body (index → x, y, z scale)
    /// and, when given, its total mass set to `mass_kg` with the mass
    /// distribution kept.
    #[must_use]
    pub fn scaled(&self, factors: &BodyScales, mass_kg: Option<f64>) -> Model {
        let mut m = self.clone();
        let s = |b: usize| {
            factors
                .get(&b)
                .copied()
                .unwrap_or_else(|| Vector3::repeat(1.0))
        };
        let mass_ratio = mass_kg.map_or(1.0, |target| {
            let total = self.mass();
            if total > 0.0 { target / total } else { 1.0 }
        });
        for (b, body) in m.bodies.iter_mut().enumerate() {
            let sb = s(b);
            let j = Matrix3::identity() * (0.5 * body.inertia.trace()) - body.inertia;
            let sm = Matrix3::from_diagonal(&sb);
            let j2 = sm * j * sm * mass_ratio;
            body.inertia = Matrix3::identity() * j2.trace() - j2;
            body.com = body.com.component_mul(&sb);
            body.mass *= mass_ratio;
        }
        for joint in &mut m.joints {
            let sp = s(joint.parent);
            joint.in_parent.translation.vector =
                joint.in_parent.translation.vector.component_mul(&sp);
            let sc = s(joint.child);
            joint.in_child.translation.vector =
                joint.in_child.translation.vector.component_mul(&sc);
            if let JointKind::Custom(axes) = &mut joint.kind {
                // Translations happen in the parent's joint frame F; scale
                // each along its axis expressed in the parent body.
                let r = joint.in_parent.rotation;
                for a in &mut axes[3..] {
                    if a.axis.norm() == 0.0 {
                        continue;
                    }
                    let in_parent = r * a.axis;
                    let factor = in_parent.component_mul(&sp).norm() / in_parent.norm();
                    a.function = scaled_function(&a.function, factor);
                }
            }
        }
        for marker in &mut m.markers {
            marker.location = marker.location.component_mul(&s(marker.body));
        }
        for muscle in &mut m.muscles {
            for p in &mut muscle.path {
                match p {
                    PathPoint::Fixed { body, location }
                    | PathPoint::Conditional { body, location, .. } => {
                        *location = location.component_mul(&s(*body));
                    }
                    PathPoint::Moving { body, functions } => {
                        let sb = s(*body);
                        for (k, (f, _)) in functions.iter_mut().enumerate() {
                            *f = scaled_function(f, sb[k]);
                        }
                    }
                }
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurement(name: &str, pairs: &[[&str; 2]], bodies: &[&str]) -> Measurement {
        Measurement {
            name: name.to_owned(),
            pairs: pairs
                .iter()
                .map(|[a, b]| [(*a).to_owned(), (*b).to_owned()])
                .collect(),
            bodies: bodies
                .iter()
                .map(|b| ((*b).to_owned(), [true; 3]))
                .collect(),
        }
    }

    #[test]
    fn known_segment_scales_are_recovered_from_a_static_trial() {
        // Ground truth: gait2354 subject01 with the pelvis ×1.10, thighs
        // ×0.92, shanks ×1.05 and 80 kg; its markers in the default pose
        // are the "static trial" (a moving copy of it, 1 cm up per frame).
        let Some(path) = twin_core::testdata::require("msk/gait2354_subject01/subject01.osim")
        else {
            return;
        };
        let model = Model::read(&path).unwrap();
        let body = |n: &str| model.body(n).unwrap();
        let truth: BTreeMap<usize, Vector3<f64>> = [
            ("pelvis", 1.10),
            ("femur_r", 0.92),
            ("femur_l", 0.92),
            ("tibia_r", 1.05),
            ("tibia_l", 1.05),
        ]
        .into_iter()
        .map(|(n, f)| (body(n), Vector3::repeat(f)))
        .collect();
        let subject = model.scaled(&truth, Some(80.0));
        assert!((subject.mass() - 80.0).abs() < 1e-9);
        let pos = subject.marker_positions(&subject.body_poses(&subject.default_coordinates()));
        let names: Vec<String> = subject.markers.iter().map(|m| m.name.clone()).collect();
        let trial = Markers {
            rate: 60.0,
            names,
            time: vec![0.0, 1.0 / 60.0],
            positions: (0..2)
                .map(|f| {
                    pos.iter()
                        .map(|p| [p.x, p.y + 0.01 * f64::from(f), p.z])
                        .collect()
                })
                .collect(),
        };
        let measurements = [
            measurement(
                "pelvis",
                &[["R.ASIS", "L.ASIS"], ["R.ASIS", "V.Sacral"]],
                &["pelvis"],
            ),
            measurement(
                "thigh",
                &[["R.Thigh.Upper", "R.Shank.Upper"]],
                &["femur_r", "femur_l"],
            ),
            measurement(
                "shank",
                &[["R.Shank.Upper", "R.Heel"]],
                &["tibia_r", "tibia_l"],
            ),
        ];
        let (factors, report) = measure(&model, &trial, None, &measurements).unwrap();
        eprintln!("{report:?}");
        // Pelvis markers are all on the pelvis: exact. A pair spanning two
        // bodies mixes their factors; the thigh/shank pairs here span the
        // knee (the shank marker sits on the tibia) — so only the pelvis is
        // compared exactly, the others within the mixing they imply.
        assert!((factors[&body("pelvis")] - Vector3::repeat(1.10)).norm() < 1e-9);
        assert!((factors[&body("femur_r")].x - 0.92).abs() < 0.05);
        assert!((factors[&body("tibia_l")].y - 1.05).abs() < 0.05);
        // Scaling the model by its own measured factors and the mass puts
        // the pelvis markers where the subject's are.
        let fitted = model.scaled(&factors, Some(80.0));
        let fpos = fitted.marker_positions(&fitted.body_poses(&fitted.default_coordinates()));
        for name in ["R.ASIS", "L.ASIS", "V.Sacral"] {
            let i = fitted.markers.iter().position(|m| m.name == name).unwrap();
            assert!((fpos[i] - pos[i]).norm() < 1e-9, "{name}");
        }
        // Inertia stays a valid inertia (positive, triangle inequality).
        for b in &fitted.bodies[1..] {
            let d = b.inertia.diagonal();
            assert!(d.min() > 0.0 && d.x <= d.y + d.z + 1e-12 && d.y <= d.x + d.z + 1e-12);
        }
    }

    #[test]
    fn measurement_files_are_read_and_bad_ones_named() {
        let dir = std::env::temp_dir().join(format!("twin_msk_scale_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("setup.xml");
        std::fs::write(
            &path,
            r#"<OpenSimDocument><ScaleTool><GenericModelMaker/><ModelScaler><MeasurementSet><objects>
                 <Measurement name="pelvis"><apply>true</apply>
                   <MarkerPairSet><objects><MarkerPair><markers> R.ASIS L.ASIS</markers></MarkerPair></objects></MarkerPairSet>
                   <BodyScaleSet><objects><BodyScale name="pelvis"><axes> X Y Z</axes></BodyScale></objects></BodyScaleSet>
                 </Measurement>
                 <Measurement name="off"><apply>false</apply></Measurement>
               </objects></MeasurementSet></ModelScaler></ScaleTool></OpenSimDocument>"#,
        )
        .unwrap();
        let m = read_measurements(&path).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].pairs[0], ["R.ASIS".to_owned(), "L.ASIS".to_owned()]);
        std::fs::write(&path, "<MeasurementSet><Measurement name=\"x\"><MarkerPair><markers>A</markers></MarkerPair></Measurement></MeasurementSet>").unwrap();
        let e = read_measurements(&path).unwrap_err().to_string();
        assert!(
            e.contains("setup.xml") && e.contains("`x`") && e.contains("1 markers"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
