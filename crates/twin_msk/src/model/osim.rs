//! The `.osim` reader: OpenSim model XML (versions 2.x, 3.x and 4.x) into a
//! [`Model`]: bodies, joints with their coordinates and transform axes,
//! markers, muscle paths; what is not used is listed once in
//! [`Model::warnings`].

use std::collections::HashMap;
use std::path::Path;

use nalgebra::{Isometry3, Matrix3, Rotation3, Translation3, UnitQuaternion, Vector3};

use super::{
    Body, ContactSphere, Coordinate, CoordinateActuator, CoordinateLimit, Joint, JointKind, Marker,
    Model, Motion, Muscle, PathPoint, TransformAxis,
};
use crate::MskError;
use crate::function::{Function, Spline, SplineEnds};

fn err(message: impl Into<String>) -> MskError {
    MskError::format(message)
}

type Node<'a, 'i> = roxmltree::Node<'a, 'i>;

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.has_tag_name(name))
}

fn text<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(node, name).map(|c| c.text().unwrap_or("").trim())
}

fn numbers(node: Node<'_, '_>, name: &str) -> Result<Vec<f64>, MskError> {
    let Some(t) = text(node, name) else {
        return Ok(Vec::new());
    };
    t.split_whitespace()
        .map(|s| {
            s.parse::<f64>().map_err(|_| {
                err(format!(
                    "line {}: <{name}> holds `{s}`, not a number",
                    node.document().text_pos_at(node.range().start).row
                ))
            })
        })
        .collect()
}

fn number(node: Node<'_, '_>, name: &str, default: f64) -> Result<f64, MskError> {
    Ok(numbers(node, name)?.first().copied().unwrap_or(default))
}

fn vec3(node: Node<'_, '_>, name: &str) -> Result<Vector3<f64>, MskError> {
    let v = numbers(node, name)?;
    match v.len() {
        0 => Ok(Vector3::zeros()),
        3 => Ok(Vector3::new(v[0], v[1], v[2])),
        n => Err(err(format!(
            "line {}: <{name}> has {n} numbers, not 3",
            line_of(node)
        ))),
    }
}

fn flag(node: Node<'_, '_>, name: &str) -> bool {
    text(node, name).is_some_and(|t| t.eq_ignore_ascii_case("true"))
}

fn line_of(node: Node<'_, '_>) -> u32 {
    node.document().text_pos_at(node.range().start).row
}

fn name_of<'a>(node: Node<'a, '_>) -> &'a str {
    node.attribute("name").unwrap_or("")
}

/// Body-fixed XYZ Euler angles (OpenSim's `orientation`) and a location.
fn frame(location: Vector3<f64>, euler: Vector3<f64>) -> Isometry3<f64> {
    let r = Rotation3::from_axis_angle(&Vector3::x_axis(), euler.x)
        * Rotation3::from_axis_angle(&Vector3::y_axis(), euler.y)
        * Rotation3::from_axis_angle(&Vector3::z_axis(), euler.z);
    Isometry3::from_parts(
        Translation3::from(location),
        UnitQuaternion::from_rotation_matrix(&r),
    )
}

/// The element children of `node` (skipping text and comments).
fn elements<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(Node::is_element)
}

/// The objects of an OpenSim set (`<XSet><objects>…</objects></XSet>`).
fn set_objects<'a, 'i>(node: Node<'a, 'i>, set: &str) -> Vec<Node<'a, 'i>> {
    child(node, set)
        .and_then(|s| child(s, "objects"))
        .map(|o| elements(o).collect())
        .unwrap_or_default()
}

/// A function element (the child of `<function>`, `<x_location>`…).
fn parse_function(node: Node<'_, '_>) -> Result<Function, MskError> {
    let Some(f) = elements(node).next() else {
        return Err(err(format!("line {}: an empty function", line_of(node))));
    };
    parse_function_element(f)
}

/// The function property `tag` of `parent`: a `<tag>` wrapper around the
/// function (3.x files) or the function element itself named `tag`
/// (`<SimmSpline name="x_location">`, as OpenSim 4 writes them).
fn function_property(parent: Node<'_, '_>, tag: &str) -> Option<Result<Function, MskError>> {
    if let Some(wrapper) = child(parent, tag) {
        return Some(parse_function(wrapper));
    }
    elements(parent)
        .find(|e| e.attribute("name") == Some(tag))
        .map(parse_function_element)
}

/// A function from its own element (`<SimmSpline>`, `<Constant>`…).
fn parse_function_element(f: Node<'_, '_>) -> Result<Function, MskError> {
    let tag = f.tag_name().name();
    let points = || -> Result<(Vec<f64>, Vec<f64>), MskError> {
        let (x, y) = (numbers(f, "x")?, numbers(f, "y")?);
        if x.len() != y.len() || x.is_empty() {
            return Err(err(format!(
                "line {}: <{tag}> has {} x and {} y values",
                line_of(f),
                x.len(),
                y.len()
            )));
        }
        Ok((x, y))
    };
    let spline = |ends| -> Result<Function, MskError> {
        let (x, y) = points()?;
        if x.len() == 1 {
            return Ok(Function::Constant(y[0]));
        }
        Spline::new(x, y, ends)
            .map(Function::Spline)
            .ok_or_else(|| {
                err(format!(
                    "line {}: <{tag}> needs increasing x values",
                    line_of(f)
                ))
            })
    };
    match tag {
        "Constant" => Ok(Function::Constant(number(f, "value", 0.0)?)),
        "LinearFunction" => {
            let c = numbers(f, "coefficients")?;
            if c.len() != 2 {
                return Err(err(format!(
                    "line {}: <LinearFunction> needs 2 coefficients",
                    line_of(f)
                )));
            }
            Ok(Function::Linear {
                slope: c[0],
                intercept: c[1],
            })
        }
        // OpenSim's `NaturalCubicSpline` is, despite its name, computed with
        // the same Forsythe–Malcolm–Moler end conditions as `SimmSpline`
        // (OpenSim/Common/NaturalCubicSpline.cpp, calcCoefficients); with
        // zero end curvature the gait2354 knee moment arms were 0.36 mm off.
        "SimmSpline" | "GCVSpline" | "NaturalCubicSpline" => spline(SplineEnds::Fmm),
        "PiecewiseLinearFunction" => {
            let (x, y) = points()?;
            Ok(Function::PiecewiseLinear { x, y })
        }
        "PolynomialFunction" => Ok(Function::Polynomial(numbers(f, "coefficients")?)),
        "MultiplierFunction" => {
            let inner = function_property(f, "function").ok_or_else(|| {
                err(format!(
                    "line {}: <MultiplierFunction> without <function>",
                    line_of(f)
                ))
            })??;
            Ok(Function::Multiplier {
                function: Box::new(inner),
                scale: number(f, "scale", 1.0)?,
            })
        }
        other => Err(err(format!(
            "line {}: function type <{other}> is not supported",
            line_of(f)
        ))),
    }
}

struct Parser {
    bodies: Vec<Body>,
    body_index: HashMap<String, usize>,
    coordinates: Vec<Coordinate>,
    coordinate_index: HashMap<String, usize>,
    joints: Vec<Joint>,
    ignored: Vec<String>,
}

impl Parser {
    fn body(&self, name: &str, at: Node<'_, '_>) -> Result<usize, MskError> {
        // 4.x frame paths: `/bodyset/femur_r`, `/ground`, `femur_r`.
        let short = name.trim().rsplit('/').next().unwrap_or(name).trim();
        self.body_index.get(short).copied().ok_or_else(|| {
            err(format!(
                "line {}: refers to body `{}`, which the model does not have",
                line_of(at),
                name.trim()
            ))
        })
    }

    fn coordinate(&self, name: &str, at: Node<'_, '_>) -> Result<usize, MskError> {
        self.coordinate_index
            .get(name.trim())
            .copied()
            .ok_or_else(|| {
                err(format!(
                    "line {}: refers to coordinate `{}`, which the model does not have",
                    line_of(at),
                    name.trim()
                ))
            })
    }

    fn ignore(&mut self, what: String) {
        if !self.ignored.contains(&what) {
            self.ignored.push(what);
        }
    }

    /// Reads a joint element; `frames` resolves 4.x frame names to (body,
    /// offset).
    #[expect(
        clippy::too_many_lines,
        reason = "one joint read in OpenSim's order: frames, coordinates, then each joint type's axes"
    )]
    fn joint(
        &mut self,
        j: Node<'_, '_>,
        child_body: Option<usize>,
        frames: &HashMap<String, (usize, Isometry3<f64>)>,
    ) -> Result<(), MskError> {
        let kind_tag = j.tag_name().name();
        let name = name_of(j).to_owned();
        let (parent, child_index, in_parent, in_child) = if let Some(c) = child_body {
            let parent_name = text(j, "parent_body").ok_or_else(|| {
                err(format!(
                    "line {}: joint `{name}` has no <parent_body>",
                    line_of(j)
                ))
            })?;
            let parent = self.body(parent_name, j)?;
            (
                parent,
                c,
                frame(
                    vec3(j, "location_in_parent")?,
                    vec3(j, "orientation_in_parent")?,
                ),
                frame(vec3(j, "location")?, vec3(j, "orientation")?),
            )
        } else {
            let resolve = |socket: &str| -> Result<(usize, Isometry3<f64>), MskError> {
                let f = text(j, socket).ok_or_else(|| {
                    err(format!(
                        "line {}: joint `{name}` has no <{socket}>",
                        line_of(j)
                    ))
                })?;
                let short = f.rsplit('/').next().unwrap_or(f);
                if let Some(fr) = frames.get(short) {
                    return Ok(*fr);
                }
                Ok((self.body(f, j)?, Isometry3::identity()))
            };
            let (parent, in_parent) = resolve("socket_parent_frame")?;
            let (c, in_child) = resolve("socket_child_frame")?;
            (parent, c, in_parent, in_child)
        };
        if flag(j, "reverse") {
            self.ignore(format!(
                "joint `{name}` is reversed (read as parent → child)"
            ));
        }
        let index = self.joints.len();
        // Coordinates: <CoordinateSet><objects> (2.x/3.x) or <coordinates> (4.x).
        let coordinate_nodes: Vec<Node<'_, '_>> = match child(j, "CoordinateSet") {
            Some(set) => child(set, "objects")
                .map(|o| elements(o).collect())
                .unwrap_or_default(),
            None => child(j, "coordinates")
                .map(|c| {
                    elements(c)
                        .filter(|e| e.has_tag_name("Coordinate"))
                        .collect()
                })
                .unwrap_or_default(),
        };
        let mut own = Vec::new();
        // Coordinates without a <motion_type> (OpenSim 4 leaves it out):
        // their motion follows from the joint once its kind is read.
        let mut implicit = Vec::new();
        for c in coordinate_nodes {
            let cname = name_of(c).to_owned();
            let motion = match text(c, "motion_type") {
                Some("translational") => Motion::Translational,
                Some("coupled") => Motion::Coupled,
                Some(_) => Motion::Rotational,
                None => {
                    implicit.push(self.coordinates.len());
                    Motion::Rotational
                }
            };
            let range = numbers(c, "range")?;
            let range = if range.len() == 2 {
                [range[0], range[1]]
            } else {
                [f64::NEG_INFINITY, f64::INFINITY]
            };
            self.coordinate_index
                .insert(cname.clone(), self.coordinates.len());
            own.push(self.coordinates.len());
            self.coordinates.push(Coordinate {
                name: cname,
                motion,
                default: number(c, "default_value", 0.0)?,
                range,
                clamped: flag(c, "clamped"),
                locked: flag(c, "locked"),
                joint: index,
            });
        }
        let need = |n: usize| -> Result<(), MskError> {
            if own.len() == n {
                Ok(())
            } else {
                Err(err(format!(
                    "line {}: {kind_tag} `{name}` has {} coordinates, not {n}",
                    line_of(j),
                    own.len()
                )))
            }
        };
        let kind = match kind_tag {
            "CustomJoint" => {
                let st = child(j, "SpatialTransform").ok_or_else(|| {
                    err(format!(
                        "line {}: CustomJoint `{name}` has no <SpatialTransform>",
                        line_of(j)
                    ))
                })?;
                let mut axes = Vec::with_capacity(6);
                for which in [
                    "rotation1",
                    "rotation2",
                    "rotation3",
                    "translation1",
                    "translation2",
                    "translation3",
                ] {
                    let Some(ax) = elements(st)
                        .find(|e| e.has_tag_name("TransformAxis") && name_of(*e) == which)
                    else {
                        axes.push(TransformAxis {
                            axis: Vector3::zeros(),
                            coordinate: None,
                            function: Function::Constant(0.0),
                        });
                        continue;
                    };
                    let names: Vec<&str> = text(ax, "coordinates")
                        .unwrap_or("")
                        .split_whitespace()
                        .collect();
                    if names.len() > 1 {
                        return Err(err(format!(
                            "line {}: {which} of `{name}` depends on {} coordinates; one is supported",
                            line_of(ax),
                            names.len()
                        )));
                    }
                    let coordinate = names.first().map(|c| self.coordinate(c, ax)).transpose()?;
                    let function = match function_property(ax, "function") {
                        Some(f) => f?,
                        // Old files without a function: identity.
                        None if coordinate.is_some() => Function::Linear {
                            slope: 1.0,
                            intercept: 0.0,
                        },
                        None => Function::Constant(0.0),
                    };
                    let axis = vec3(ax, "axis")?;
                    if axis.norm() == 0.0 && !matches!(function, Function::Constant(v) if v == 0.0)
                    {
                        return Err(err(format!(
                            "line {}: {which} of `{name}` has a zero axis",
                            line_of(ax)
                        )));
                    }
                    let axis = if axis.norm() > 0.0 {
                        axis.normalize()
                    } else {
                        axis
                    };
                    axes.push(TransformAxis {
                        axis,
                        coordinate,
                        function,
                    });
                }
                let axes: [TransformAxis; 6] =
                    axes.try_into().map_err(|_| err("six transform axes"))?;
                JointKind::Custom(Box::new(axes))
            }
            "PinJoint" => {
                need(1)?;
                JointKind::Pin(own[0])
            }
            "SliderJoint" => {
                need(1)?;
                JointKind::Slider(own[0])
            }
            "PlanarJoint" => {
                need(3)?;
                JointKind::Planar([own[0], own[1], own[2]])
            }
            "WeldJoint" => JointKind::Weld,
            other => {
                return Err(err(format!(
                    "line {}: joint type <{other}> (`{name}`) is not supported; supported: CustomJoint, PinJoint, SliderJoint, PlanarJoint, WeldJoint",
                    line_of(j)
                )));
            }
        };
        for k in implicit {
            self.coordinates[k].motion = implied_motion(&kind, k);
        }
        self.joints.push(Joint {
            name,
            parent,
            child: child_index,
            in_parent,
            in_child,
            kind,
        });
        Ok(())
    }
}

/// The motion of coordinate `k` of a joint, as OpenSim 4 derives it when a
/// file does not say: translational on a slider, on a planar joint's
/// translations, or when only translation axes of a custom joint use it;
/// rotational otherwise.
fn implied_motion(kind: &JointKind, k: usize) -> Motion {
    match kind {
        JointKind::Slider(_) => Motion::Translational,
        JointKind::Planar(c) if c[1] == k || c[2] == k => Motion::Translational,
        JointKind::Custom(axes) => {
            let uses =
                |range: std::ops::Range<usize>| axes[range].iter().any(|a| a.coordinate == Some(k));
            if !uses(0..3) && uses(3..6) {
                Motion::Translational
            } else {
                Motion::Rotational
            }
        }
        _ => Motion::Rotational,
    }
}

fn parse_body(b: Node<'_, '_>) -> Result<Body, MskError> {
    let inertia = {
        let six = numbers(b, "inertia")?;
        let (xx, yy, zz, xy, xz, yz) = if six.len() == 6 {
            (six[0], six[1], six[2], six[3], six[4], six[5])
        } else {
            (
                number(b, "inertia_xx", 0.0)?,
                number(b, "inertia_yy", 0.0)?,
                number(b, "inertia_zz", 0.0)?,
                number(b, "inertia_xy", 0.0)?,
                number(b, "inertia_xz", 0.0)?,
                number(b, "inertia_yz", 0.0)?,
            )
        };
        Matrix3::new(xx, xy, xz, xy, yy, yz, xz, yz, zz)
    };
    let mass = number(b, "mass", 0.0)?;
    if !(mass.is_finite() && mass >= 0.0) {
        return Err(err(format!(
            "line {}: body `{}` has mass {mass}",
            line_of(b),
            name_of(b)
        )));
    }
    let geometry = b
        .descendants()
        .filter(|d| d.has_tag_name("geometry_file") || d.has_tag_name("mesh_file"))
        .filter_map(|d| d.text().map(|t| t.trim().to_owned()))
        .filter(|t| !t.is_empty())
        .collect();
    Ok(Body {
        name: name_of(b).to_owned(),
        mass,
        com: vec3(b, "mass_center")?,
        inertia,
        geometry,
    })
}

/// A `SmoothSphereHalfSpaceForce` with its sphere and half-space (from the
/// model's `ContactGeometrySet`); returns the geometry names it used.
fn smooth_contact<'a>(
    f: Node<'a, '_>,
    geometry: &[Node<'a, '_>],
    bodies: &[Body],
) -> Result<(ContactSphere, [&'a str; 2]), MskError> {
    fn short(t: &str) -> &str {
        t.rsplit('/').next().unwrap_or(t).trim()
    }
    let here = || {
        format!(
            "line {}: SmoothSphereHalfSpaceForce `{}`",
            line_of(f),
            name_of(f)
        )
    };
    let find = |socket: &str| -> Result<Node<'a, '_>, MskError> {
        let want = text(f, socket)
            .map(short)
            .ok_or_else(|| err(format!("{}: no <{socket}>", here())))?;
        geometry
            .iter()
            .find(|g| name_of(**g) == want)
            .copied()
            .ok_or_else(|| {
                err(format!(
                    "{}: <{socket}> `{want}` is not in the ContactGeometrySet",
                    here()
                ))
            })
    };
    let (sphere, half) = (find("socket_sphere")?, find("socket_half_space")?);
    let body_of = |g: Node<'a, '_>| -> Result<usize, MskError> {
        let name = text(g, "socket_frame")
            .or_else(|| text(g, "body_name"))
            .map_or("", short);
        bodies.iter().position(|b| b.name == name).ok_or_else(|| {
            err(format!(
                "line {}: contact geometry `{}` is on `{name}`, which is not a body of the model",
                line_of(g),
                name_of(g)
            ))
        })
    };
    if body_of(half)? != 0 {
        return Err(err(format!(
            "{}: the half-space must be fixed in ground",
            here()
        )));
    }
    let value = |tag: &str, default: f64, ok: fn(f64) -> bool| -> Result<f64, MskError> {
        let v = number(f, tag, default)?;
        if v.is_finite() && ok(v) {
            Ok(v)
        } else {
            Err(err(format!("{}: <{tag}> is {v}, out of range", here())))
        }
    };
    let radius = number(sphere, "radius", 0.0)?;
    if !(radius.is_finite() && radius > 0.0) {
        return Err(err(format!(
            "line {}: ContactSphere `{}`: <radius> is {radius}, not positive",
            line_of(sphere),
            name_of(sphere)
        )));
    }
    let nonneg: fn(f64) -> bool = |v| v >= 0.0;
    let positive: fn(f64) -> bool = |v| v > 0.0;
    Ok((
        ContactSphere {
            name: name_of(f).to_owned(),
            body: body_of(sphere)?,
            location: vec3(sphere, "location")?,
            radius,
            plane: frame(vec3(half, "location")?, vec3(half, "orientation")?),
            stiffness: value("stiffness", 1.0, positive)?,
            dissipation: value("dissipation", 0.0, nonneg)?,
            static_friction: value("static_friction", 0.0, nonneg)?,
            dynamic_friction: value("dynamic_friction", 0.0, nonneg)?,
            viscous_friction: value("viscous_friction", 0.0, nonneg)?,
            transition_velocity: value("transition_velocity", 0.01, positive)?,
            constant_force: value("constant_contact_force", 1e-5, positive)?,
            hertz_smoothing: value("hertz_smoothing", 300.0, positive)?,
            hunt_crossley_smoothing: value("hunt_crossley_smoothing", 50.0, positive)?,
        },
        [name_of(sphere), name_of(half)],
    ))
}

impl Model {
    /// Reads an `.osim` file.
    pub fn read(path: &Path) -> Result<Self, MskError> {
        let text =
            twin_core::limits::read_text(path, twin_core::limits::MAX_XML_FILE, "model file")
                .map_err(|e| MskError::io(path, &e))?;
        Self::parse(&text).map_err(|e| e.in_file(path))
    }

    /// Parses the XML of a model.
    #[expect(
        clippy::too_many_lines,
        reason = "the model's sets read in file order (bodies, joints, markers, forces), each a block"
    )]
    pub fn parse(xml: &str) -> Result<Self, MskError> {
        let doc =
            roxmltree::Document::parse(xml).map_err(|e| err(format!("not valid XML: {e}")))?;
        let root = doc.root_element();
        let version: u32 = root
            .attribute("Version")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let model = if root.has_tag_name("Model") {
            root
        } else {
            child(root, "Model").ok_or_else(|| err("no <Model> element"))?
        };
        let gravity = match numbers(model, "gravity")?.as_slice() {
            [x, y, z] => Vector3::new(*x, *y, *z),
            _ => Vector3::new(0.0, -9.80665, 0.0),
        };
        // 2.x keeps its sets inside <DynamicsEngine><SimbodyEngine>.
        let holder = model
            .descendants()
            .find(|d| d.has_tag_name("BodySet"))
            .and_then(|b| b.parent())
            .unwrap_or(model);
        let mut p = Parser {
            bodies: Vec::new(),
            body_index: HashMap::new(),
            coordinates: Vec::new(),
            coordinate_index: HashMap::new(),
            joints: Vec::new(),
            ignored: Vec::new(),
        };
        // Ground first: the 4.x <Ground> element or the body named ground.
        let body_nodes = set_objects(holder, "BodySet");
        let ground_name = child(model, "Ground").map_or("ground", |g| name_of(g));
        p.bodies.push(Body {
            name: ground_name.to_owned(),
            mass: 0.0,
            com: Vector3::zeros(),
            inertia: Matrix3::zeros(),
            geometry: Vec::new(),
        });
        p.body_index.insert(ground_name.to_owned(), 0);
        for b in &body_nodes {
            if name_of(*b) == ground_name {
                continue;
            }
            let body = parse_body(*b)?;
            if p.body_index
                .insert(body.name.clone(), p.bodies.len())
                .is_some()
            {
                return Err(err(format!(
                    "line {}: a second body named `{}`",
                    line_of(*b),
                    body.name
                )));
            }
            p.bodies.push(body);
        }
        // Joints nested in bodies (2.x/3.x) …
        for b in &body_nodes {
            if let Some(j) = child(*b, "Joint").and_then(|j| elements(j).next()) {
                let index = p.body(name_of(*b), *b)?;
                p.joint(j, Some(index), &HashMap::new())?;
            }
        }
        // … or in the JointSet (4.x), between offset frames.
        for j in set_objects(model, "JointSet") {
            let mut frames = HashMap::new();
            if let Some(fs) = child(j, "frames") {
                for f in elements(fs).filter(|f| f.has_tag_name("PhysicalOffsetFrame")) {
                    let parent = text(f, "socket_parent").ok_or_else(|| {
                        err(format!(
                            "line {}: frame without <socket_parent>",
                            line_of(f)
                        ))
                    })?;
                    let body = p.body(parent, f)?;
                    frames.insert(
                        name_of(f).to_owned(),
                        (
                            body,
                            frame(vec3(f, "translation")?, vec3(f, "orientation")?),
                        ),
                    );
                }
            }
            p.joint(j, None, &frames)?;
        }
        // Every body but ground needs exactly one joint; order parents first.
        let mut order = Vec::with_capacity(p.joints.len());
        let mut placed = vec![false; p.bodies.len()];
        placed[0] = true;
        while order.len() < p.joints.len() {
            let before = order.len();
            for (i, j) in p.joints.iter().enumerate() {
                if !placed[j.child] && placed[j.parent] && !order.contains(&i) {
                    placed[j.child] = true;
                    order.push(i);
                }
            }
            if order.len() == before {
                return Err(err(
                    "the joints do not form a tree rooted at ground (a loop, or a body with two parent joints)",
                ));
            }
        }
        if let Some(b) = placed.iter().position(|&x| !x) {
            return Err(err(format!(
                "body `{}` has no joint to the rest of the model",
                p.bodies[b].name
            )));
        }
        let mut remap = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            remap[old] = new;
        }
        let mut joints: Vec<Option<Joint>> = p.joints.drain(..).map(Some).collect();
        let ordered: Vec<Joint> = order
            .iter()
            .map(|&o| joints[o].take().expect("each joint once"))
            .collect();
        for c in &mut p.coordinates {
            c.joint = remap[c.joint];
        }
        let mut m = Model {
            name: name_of(model).to_owned(),
            version,
            gravity,
            bodies: p.bodies,
            joints: ordered,
            coordinates: p.coordinates,
            markers: Vec::new(),
            muscles: Vec::new(),
            limit_forces: Vec::new(),
            contacts: Vec::new(),
            actuators: Vec::new(),
            warnings: Vec::new(),
        };
        let resolve_body = |node: Node<'_, '_>| -> Result<usize, MskError> {
            let name = text(node, "body")
                .or_else(|| text(node, "socket_parent_frame"))
                .or_else(|| text(node, "socket_parent"))
                .ok_or_else(|| {
                    err(format!(
                        "line {}: `{}` names no body",
                        line_of(node),
                        name_of(node)
                    ))
                })?;
            let short = name.rsplit('/').next().unwrap_or(name).trim();
            m.bodies
                .iter()
                .position(|b| b.name == short)
                .ok_or_else(|| {
                    err(format!(
                        "line {}: `{}` is on body `{short}`, which the model does not have",
                        line_of(node),
                        name_of(node)
                    ))
                })
        };
        let coordinate = |node: Node<'_, '_>, tag: &str| -> Result<usize, MskError> {
            // 3.x `<coordinate>`, 4.x `<socket_coordinate>` (a path).
            let name = text(node, tag)
                .or_else(|| text(node, &format!("socket_{tag}")))
                .unwrap_or("");
            let short = name.rsplit('/').next().unwrap_or(name).trim();
            m.coordinates
                .iter()
                .position(|c| c.name == short)
                .ok_or_else(|| {
                    err(format!(
                        "line {}: <{tag}> `{short}` is not a coordinate of the model",
                        line_of(node)
                    ))
                })
        };
        // Sets may sit in the 2.x engine element and in the model itself.
        let containers = if holder == model {
            vec![model]
        } else {
            vec![holder, model]
        };
        let objects = |set: &str| -> Vec<Node<'_, '_>> {
            containers
                .iter()
                .flat_map(|c| set_objects(*c, set))
                .collect()
        };
        let mut markers = Vec::new();
        for mk in objects("MarkerSet") {
            markers.push(Marker {
                name: name_of(mk).to_owned(),
                body: resolve_body(mk)?,
                location: vec3(mk, "location")?,
                fixed: flag(mk, "fixed"),
            });
        }
        let mut muscles = Vec::new();
        let mut ignored = p.ignored;
        // 4.x models may list forces as plain <components>.
        let mut forces: Vec<(Node<'_, '_>, &str)> = objects("ForceSet")
            .into_iter()
            .map(|f| (f, "/forceset"))
            .collect();
        if let Some(c) = child(model, "components") {
            forces.extend(elements(c).map(|f| (f, "")));
        }
        let mut limit_forces = Vec::new();
        let mut contacts = Vec::new();
        let mut actuators = Vec::new();
        let mut used_geometry: Vec<&str> = Vec::new();
        let geometry: Vec<Node<'_, '_>> = objects("ContactGeometrySet");
        for (f, parent) in forces {
            if f.has_tag_name("SmoothSphereHalfSpaceForce") {
                let (contact, names) = smooth_contact(f, &geometry, &m.bodies)?;
                contacts.push(contact);
                used_geometry.extend(names);
                continue;
            }
            if f.has_tag_name("CoordinateActuator") {
                let c = coordinate(f, "coordinate")?;
                // Control bounds may be ±Inf (OpenSim writes `-Inf`/`Inf` for
                // reserve actuators); the optimal force must be finite.
                let value = |tag: &str, default: f64, infinite_ok: bool| {
                    let v = number(f, tag, default)?;
                    if v.is_finite() || (infinite_ok && v.is_infinite()) {
                        Ok(v)
                    } else {
                        Err(err(format!(
                            "line {}: CoordinateActuator `{}`: <{tag}> is not a finite number",
                            line_of(f),
                            name_of(f)
                        )))
                    }
                };
                let (min_control, max_control) = (
                    value("min_control", f64::NEG_INFINITY, true)?,
                    value("max_control", f64::INFINITY, true)?,
                );
                if min_control > max_control {
                    return Err(err(format!(
                        "line {}: CoordinateActuator `{}`: <min_control> {min_control} is above <max_control> {max_control}",
                        line_of(f),
                        name_of(f)
                    )));
                }
                actuators.push(CoordinateActuator {
                    name: name_of(f).to_owned(),
                    coordinate: c,
                    optimal_force: value("optimal_force", 1.0, false)?,
                    min_control,
                    max_control,
                });
                continue;
            }
            if f.has_tag_name("CoordinateLimitForce") {
                let k = coordinate(f, "coordinate")?;
                let value = |tag: &str| -> Result<f64, MskError> {
                    text(f, tag)
                        .and_then(|t| t.parse::<f64>().ok())
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| {
                            err(format!(
                                "line {}: CoordinateLimitForce `{}` needs a number in <{tag}>",
                                line_of(f),
                                name_of(f)
                            ))
                        })
                };
                // Rotational limits are in degrees, stiffness per degree.
                let w = if m.coordinates[k].motion == Motion::Rotational {
                    1f64.to_radians()
                } else {
                    1.0
                };
                limit_forces.push(CoordinateLimit {
                    name: name_of(f).to_owned(),
                    coordinate: k,
                    upper_stiffness: value("upper_stiffness")? / w,
                    upper_limit: value("upper_limit")? * w,
                    lower_stiffness: value("lower_stiffness")? / w,
                    lower_limit: value("lower_limit")? * w,
                    damping: value("damping")? / w,
                    transition: value("transition")? * w,
                });
                continue;
            }
            let Some(gp) = child(f, "GeometryPath") else {
                ignored.push(format!(
                    "force `{}` (<{}>)",
                    name_of(f),
                    f.tag_name().name()
                ));
                continue;
            };
            let mut path = Vec::new();
            let points = child(gp, "PathPointSet")
                .and_then(|s| child(s, "objects"))
                .map(|o| elements(o).collect::<Vec<_>>())
                .unwrap_or_default();
            for pt in points {
                let body = resolve_body(pt)?;
                path.push(match pt.tag_name().name() {
                    "PathPoint" => PathPoint::Fixed {
                        body,
                        location: vec3(pt, "location")?,
                    },
                    "ConditionalPathPoint" => {
                        let r = numbers(pt, "range")?;
                        if r.len() != 2 {
                            return Err(err(format!(
                                "line {}: <range> needs 2 numbers",
                                line_of(pt)
                            )));
                        }
                        PathPoint::Conditional {
                            body,
                            location: vec3(pt, "location")?,
                            coordinate: coordinate(pt, "coordinate")?,
                            range: [r[0], r[1]],
                        }
                    }
                    "MovingPathPoint" => {
                        // OpenSim 4 files may leave out <location>.
                        let loc = if child(pt, "location").is_some() {
                            vec3(pt, "location")?
                        } else {
                            Vector3::zeros()
                        };
                        let mut fs = Vec::with_capacity(3);
                        for (k, axis) in ["x", "y", "z"].iter().enumerate() {
                            match function_property(pt, &format!("{axis}_location")) {
                                Some(f) => {
                                    fs.push((f?, coordinate(pt, &format!("{axis}_coordinate"))?));
                                }
                                None => fs.push((Function::Constant(loc[k]), 0)),
                            }
                        }
                        let fs: [(Function, usize); 3] =
                            fs.try_into().map_err(|_| err("three location functions"))?;
                        PathPoint::Moving {
                            body,
                            functions: Box::new(fs),
                        }
                    }
                    other => {
                        return Err(err(format!(
                            "line {}: path point type <{other}> is not supported",
                            line_of(pt)
                        )));
                    }
                });
            }
            if child(gp, "PathWrapSet")
                .is_some_and(|w| child(w, "objects").is_some_and(|o| elements(o).next().is_some()))
            {
                ignored.push(format!("wrapping of `{}`'s path", name_of(f)));
            }
            let mut parameters = HashMap::new();
            for e in elements(f) {
                let t = e.text().map_or("", str::trim);
                let v = match t {
                    "true" => Some(1.0),
                    "false" => Some(0.0),
                    _ => t.parse::<f64>().ok(),
                };
                if let Some(v) = v {
                    parameters.insert(e.tag_name().name().to_owned(), v);
                }
            }
            // Numbers nested in the muscle's curve elements (Millard's
            // `ForceVelocityCurve/max_eccentric_velocity_force_multiplier`),
            // where no direct child has the name.
            for e in elements(f).filter(|e| !e.has_tag_name("GeometryPath")) {
                for d in e.descendants().filter(roxmltree::Node::is_element) {
                    if let Some(v) = d.text().and_then(|t| t.trim().parse::<f64>().ok()) {
                        parameters
                            .entry(d.tag_name().name().to_owned())
                            .or_insert(v);
                    }
                }
            }
            muscles.push(Muscle {
                name: name_of(f).to_owned(),
                component: format!("{parent}/{}", name_of(f)),
                kind: f.tag_name().name().to_owned(),
                path,
                parameters,
            });
        }
        for (set, what) in [
            ("ConstraintSet", "constraint"),
            ("ContactGeometrySet", "contact geometry"),
        ] {
            for c in objects(set) {
                if used_geometry.contains(&name_of(c)) {
                    continue;
                }
                ignored.push(format!(
                    "{what} `{}` (<{}>)",
                    name_of(c),
                    c.tag_name().name()
                ));
            }
        }
        for b in &body_nodes {
            let wraps = set_objects(*b, "WrapObjectSet");
            if !wraps.is_empty() {
                ignored.push(format!(
                    "{} wrap object(s) on `{}`",
                    wraps.len(),
                    name_of(*b)
                ));
            }
        }
        ignored.dedup();
        m.markers = markers;
        m.muscles = muscles;
        m.limit_forces = limit_forces;
        m.contacts = contacts;
        m.actuators = actuators;
        if !ignored.is_empty() {
            m.warnings
                .push(format!("not used by Twinscope: {}", ignored.join("; ")));
        }
        Ok(m)
    }
}
