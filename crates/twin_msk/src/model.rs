//! OpenSim models (`.osim`, XML versions 2.x, 3.x and 4.x) for kinematics
//! and dynamics: bodies, joints with their coordinates, markers and the
//! geometry of muscle paths.
//!
//! Joints read: `CustomJoint` (a `SpatialTransform` of three rotations and
//! three translations, each a [`Function`] of a coordinate), `PinJoint`
//! (about the joint frame's z), `WeldJoint`, `PlanarJoint` (rotation about
//! z, translation in x–y) and `SliderJoint` (along x). In 2.x/3.x files the
//! joint sits in its child body; in 4.x in the `JointSet`, between
//! `PhysicalOffsetFrame`s. Anything else the model holds that this module
//! does not use (wrap objects, constraints, other joint types, contact
//! geometry) is listed once in [`Model::warnings`].
//!
//! A joint's transform, as Simbody's function-based mobilizer composes it:
//! `X_G,child = X_G,parent · X_parent,F · X_FM(q) · X_child,M⁻¹`, where `F`
//! and `M` are the joint frames in parent and child (location and body-fixed
//! XYZ Euler angles), and `X_FM` rotates by `f₁, f₂, f₃` about the three
//! rotation axes in turn (each axis in the frame left by the previous
//! rotations) and translates by `Σ fᵢ · axisᵢ` along the translation axes
//! of `F`.

use std::collections::HashMap;
use std::path::Path;

use nalgebra::{Isometry3, Matrix3, Rotation3, Translation3, Unit, UnitQuaternion, Vector3};

use crate::MskError;
use crate::function::{Function, Spline, SplineEnds};

/// A rigid body; `bodies[0]` of a [`Model`] is ground.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub name: String,
    /// kg.
    pub mass: f64,
    /// Centre of mass in the body frame (m).
    pub com: Vector3<f64>,
    /// Inertia about the centre of mass, body axes (kg·m²).
    pub inertia: Matrix3<f64>,
    /// Mesh files named by the model (for display).
    pub geometry: Vec<String>,
}

/// How a coordinate moves its joint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Motion {
    Rotational,
    Translational,
    Coupled,
}

/// A generalized coordinate.
#[derive(Debug, Clone, PartialEq)]
pub struct Coordinate {
    pub name: String,
    pub motion: Motion,
    /// rad or m.
    pub default: f64,
    pub range: [f64; 2],
    pub clamped: bool,
    pub locked: bool,
    /// Index of the joint that owns it.
    pub joint: usize,
}

/// One of a `CustomJoint`'s six transform axes.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformAxis {
    pub axis: Vector3<f64>,
    /// The coordinate the function reads (`None`: a constant).
    pub coordinate: Option<usize>,
    pub function: Function,
}

/// The kinds of joint read.
#[derive(Debug, Clone, PartialEq)]
pub enum JointKind {
    /// Rotations 1–3 then translations 1–3.
    Custom(Box<[TransformAxis; 6]>),
    Pin(usize),
    Slider(usize),
    Planar([usize; 3]),
    Weld,
}

/// A joint between a parent and a child body.
#[derive(Debug, Clone, PartialEq)]
pub struct Joint {
    pub name: String,
    pub parent: usize,
    pub child: usize,
    /// The joint frame F in the parent body.
    pub in_parent: Isometry3<f64>,
    /// The joint frame M in the child body.
    pub in_child: Isometry3<f64>,
    pub kind: JointKind,
}

/// A marker fixed on a body.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub name: String,
    pub body: usize,
    pub location: Vector3<f64>,
    pub fixed: bool,
}

/// A point of a muscle's path.
#[derive(Debug, Clone, PartialEq)]
pub enum PathPoint {
    Fixed {
        body: usize,
        location: Vector3<f64>,
    },
    /// Active while `range[0] ≤ q ≤ range[1]`.
    Conditional {
        body: usize,
        location: Vector3<f64>,
        coordinate: usize,
        range: [f64; 2],
    },
    /// Each component a function of a coordinate.
    Moving {
        body: usize,
        functions: Box<[(Function, usize); 3]>,
    },
}

/// A muscle (or other path actuator): its name, type and path.
#[derive(Debug, Clone, PartialEq)]
pub struct Muscle {
    pub name: String,
    /// The XML element (`Thelen2003Muscle`, `Millard2012EquilibriumMuscle`…).
    pub kind: String,
    pub path: Vec<PathPoint>,
    /// Parameters read as numbers (`max_isometric_force`,
    /// `optimal_fiber_length`, …).
    pub parameters: HashMap<String, f64>,
}

/// OpenSim's `CoordinateLimitForce`: a spring–damper that engages beyond a
/// coordinate's limits, reaching its full stiffness over a transition
/// (SimTK's quintic step). Stored in SI: N·m/rad, rad, N·m·s/rad for a
/// rotational coordinate (the file gives them per degree).
#[derive(Debug, Clone, PartialEq)]
pub struct CoordinateLimit {
    pub name: String,
    pub coordinate: usize,
    pub upper_stiffness: f64,
    pub upper_limit: f64,
    pub lower_stiffness: f64,
    pub lower_limit: f64,
    pub damping: f64,
    pub transition: f64,
}

impl CoordinateLimit {
    /// The generalized force at coordinate value `q` and speed `qd`.
    #[must_use]
    pub fn force(&self, q: f64, qd: f64) -> f64 {
        // SimTK::stepUp: 10u³ − 15u⁴ + 6u⁵ on [0, 1].
        let step = |u: f64| {
            let u = u.clamp(0.0, 1.0);
            u * u * u * (10.0 + u * (-15.0 + 6.0 * u))
        };
        let w = self.transition.max(f64::MIN_POSITIVE);
        let up = step((q - self.upper_limit) / w);
        let low = 1.0 - step((q - (self.lower_limit - self.transition)) / w);
        let f_up = -self.upper_stiffness * up * (q - self.upper_limit);
        let f_low = self.lower_stiffness * low * (self.lower_limit - q);
        f_up + f_low - self.damping * (up + low) * qd
    }
}

/// How a point moving with a joint's child (and everything below it)
/// moves per unit change of a coordinate the joint reads:
/// `dx/dq = velocity + omega × (x − origin)`, ground frame. `omega` is also
/// the angular-velocity Jacobian column of those bodies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Twist {
    pub joint: usize,
    pub omega: Vector3<f64>,
    pub velocity: Vector3<f64>,
    pub origin: Vector3<f64>,
}

impl Twist {
    /// `dx/dq` of the point `x` (ground frame).
    #[must_use]
    pub fn of_point(&self, x: &Vector3<f64>) -> Vector3<f64> {
        self.velocity + self.omega.cross(&(x - self.origin))
    }
}

/// A model: bodies (ground first), joints ordered parents before children
/// (`joints[i]` moves `bodies[i + 1]`… not necessarily: see `Joint::child`),
/// coordinates, markers and muscles.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub name: String,
    /// `OpenSimDocument Version`.
    pub version: u32,
    pub gravity: Vector3<f64>,
    pub bodies: Vec<Body>,
    pub joints: Vec<Joint>,
    pub coordinates: Vec<Coordinate>,
    pub markers: Vec<Marker>,
    pub muscles: Vec<Muscle>,
    /// Passive coordinate limit forces (`CoordinateLimitForce`).
    pub limit_forces: Vec<CoordinateLimit>,
    /// What the model holds and this reader ignores, one line per kind.
    pub warnings: Vec<String>,
}

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

impl Model {
    /// Reads an `.osim` file.
    pub fn read(path: &Path) -> Result<Self, MskError> {
        let text =
            twin_core::limits::read_text(path, twin_core::limits::MAX_XML_FILE, "model file")
                .map_err(|e| MskError::io(path, &e))?;
        Self::parse(&text).map_err(|e| e.in_file(path))
    }

    /// Parses the XML of a model.
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
        let mut forces = objects("ForceSet");
        if let Some(c) = child(model, "components") {
            forces.extend(elements(c));
        }
        let mut limit_forces = Vec::new();
        for f in forces {
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
                if let Some(v) = e.text().and_then(|t| t.trim().parse::<f64>().ok()) {
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
        if !ignored.is_empty() {
            m.warnings
                .push(format!("not used by Twinscope: {}", ignored.join("; ")));
        }
        Ok(m)
    }

    /// The index of a coordinate by name.
    #[must_use]
    pub fn coordinate(&self, name: &str) -> Option<usize> {
        self.coordinates.iter().position(|c| c.name == name)
    }

    /// The index of a body by name.
    #[must_use]
    pub fn body(&self, name: &str) -> Option<usize> {
        self.bodies.iter().position(|b| b.name == name)
    }

    /// The default pose's coordinates.
    #[must_use]
    pub fn default_coordinates(&self) -> Vec<f64> {
        self.coordinates.iter().map(|c| c.default).collect()
    }

    /// Total mass (kg).
    #[must_use]
    pub fn mass(&self) -> f64 {
        self.bodies.iter().map(|b| b.mass).sum()
    }

    /// The joint transform `X_FM(q)` (child joint frame in parent joint frame).
    #[must_use]
    pub fn joint_transform(&self, joint: &Joint, q: &[f64]) -> Isometry3<f64> {
        match &joint.kind {
            JointKind::Weld => Isometry3::identity(),
            JointKind::Pin(c) => Isometry3::rotation(Vector3::z() * q[*c]),
            JointKind::Slider(c) => Isometry3::translation(q[*c], 0.0, 0.0),
            JointKind::Planar([r, x, y]) => Isometry3::from_parts(
                Translation3::new(q[*x], q[*y], 0.0),
                UnitQuaternion::from_axis_angle(&Vector3::z_axis(), q[*r]),
            ),
            JointKind::Custom(axes) => {
                let value =
                    |a: &TransformAxis| a.function.value(a.coordinate.map_or(0.0, |c| q[c]));
                let mut r = UnitQuaternion::identity();
                for a in &axes[..3] {
                    let angle = value(a);
                    if angle != 0.0 && a.axis.norm() > 0.0 {
                        r *= UnitQuaternion::from_axis_angle(&Unit::new_unchecked(a.axis), angle);
                    }
                }
                let p: Vector3<f64> = axes[3..].iter().map(|a| a.axis * value(a)).sum();
                Isometry3::from_parts(Translation3::from(p), r)
            }
        }
    }

    /// Every body's pose in ground (`[0]` is ground) for coordinates `q`.
    #[must_use]
    pub fn body_poses(&self, q: &[f64]) -> Vec<Isometry3<f64>> {
        let mut poses = vec![Isometry3::identity(); self.bodies.len()];
        for j in &self.joints {
            poses[j.child] =
                poses[j.parent] * j.in_parent * self.joint_transform(j, q) * j.in_child.inverse();
        }
        poses
    }

    /// For each joint, which bodies move with its child (its subtree).
    #[must_use]
    pub fn joint_subtrees(&self) -> Vec<Vec<bool>> {
        let mut subtree = vec![vec![false; self.bodies.len()]; self.joints.len()];
        // Joints come parents first: walk backwards so children are done.
        for i in (0..self.joints.len()).rev() {
            let child = self.joints[i].child;
            subtree[i][child] = true;
            for k in i + 1..self.joints.len() {
                if self.joints[k].parent == child {
                    let below = subtree[k].clone();
                    for (b, inside) in below.into_iter().enumerate() {
                        subtree[i][b] |= inside;
                    }
                }
            }
        }
        subtree
    }

    /// The motion each coordinate gives the joints that read it, at `q`
    /// with body `poses`: for coordinate `k`, one [`Twist`] per joint that
    /// reads it.
    #[must_use]
    pub fn coordinate_twists(&self, q: &[f64], poses: &[Isometry3<f64>]) -> Vec<Vec<Twist>> {
        let mut twists = vec![Vec::new(); self.coordinates.len()];
        for (i, j) in self.joints.iter().enumerate() {
            let frame_f = poses[j.parent] * j.in_parent;
            let r_gf = frame_f.rotation;
            let x_fm = self.joint_transform(j, q);
            let origin_m = (frame_f * nalgebra::Point3::from(x_fm.translation.vector)).coords;
            let mut push = |k: usize, w_f: Vector3<f64>, v_f: Vector3<f64>| {
                twists[k].push(Twist {
                    joint: i,
                    omega: r_gf * w_f,
                    velocity: r_gf * v_f,
                    origin: origin_m,
                });
            };
            match &j.kind {
                JointKind::Weld => {}
                JointKind::Pin(c) => push(*c, Vector3::z(), Vector3::zeros()),
                JointKind::Slider(c) => push(*c, Vector3::zeros(), Vector3::x()),
                JointKind::Planar([r, x, y]) => {
                    push(*r, Vector3::z(), Vector3::zeros());
                    push(*x, Vector3::zeros(), Vector3::x());
                    push(*y, Vector3::zeros(), Vector3::y());
                }
                JointKind::Custom(axes) => {
                    // Rotation axes in F after the preceding rotations.
                    let mut rot = UnitQuaternion::identity();
                    for (n, a) in axes.iter().enumerate() {
                        let Some(k) = a.coordinate else {
                            if n < 3 {
                                let angle = a.function.value(0.0);
                                if angle != 0.0 && a.axis.norm() > 0.0 {
                                    rot *= UnitQuaternion::from_axis_angle(
                                        &Unit::new_unchecked(a.axis),
                                        angle,
                                    );
                                }
                            }
                            continue;
                        };
                        let d = a.function.derivative(q[k]);
                        if n < 3 {
                            push(k, rot * a.axis * d, Vector3::zeros());
                            let angle = a.function.value(q[k]);
                            if angle != 0.0 && a.axis.norm() > 0.0 {
                                rot *= UnitQuaternion::from_axis_angle(
                                    &Unit::new_unchecked(a.axis),
                                    angle,
                                );
                            }
                        } else {
                            push(k, Vector3::zeros(), a.axis * d);
                        }
                    }
                }
            }
        }
        twists
    }

    /// Marker positions in ground (m).
    #[must_use]
    pub fn marker_positions(&self, poses: &[Isometry3<f64>]) -> Vec<Vector3<f64>> {
        self.markers
            .iter()
            .map(|m| (poses[m.body] * nalgebra::Point3::from(m.location)).coords)
            .collect()
    }

    /// The active points of a muscle's path in ground (m), in path order:
    /// fixed points, conditional points inside their range, moving points
    /// where their functions put them.
    pub fn path_points<'a>(
        &'a self,
        muscle: &'a Muscle,
        q: &'a [f64],
        poses: &'a [Isometry3<f64>],
    ) -> impl Iterator<Item = Vector3<f64>> + 'a {
        muscle.path.iter().filter_map(move |p| {
            let (body, local) = match p {
                PathPoint::Fixed { body, location } => (*body, *location),
                PathPoint::Conditional {
                    body,
                    location,
                    coordinate,
                    range,
                } => {
                    let v = q[*coordinate];
                    if v < range[0] || v > range[1] {
                        return None;
                    }
                    (*body, *location)
                }
                PathPoint::Moving { body, functions } => (
                    *body,
                    Vector3::from_fn(|k, _| functions[k].0.value(q[functions[k].1])),
                ),
            };
            Some((poses[body] * nalgebra::Point3::from(local)).coords)
        })
    }

    /// The length of a muscle's path (m): the distances between its active
    /// points in ground.
    #[must_use]
    pub fn path_length(&self, muscle: &Muscle, q: &[f64], poses: &[Isometry3<f64>]) -> f64 {
        let mut last: Option<Vector3<f64>> = None;
        let mut length = 0.0;
        for g in self.path_points(muscle, q, poses) {
            if let Some(l) = last {
                length += (g - l).norm();
            }
            last = Some(g);
        }
        length
    }

    /// Coordinates from a table row: columns matched by coordinate name
    /// (bare or as a state path); rotational values converted from degrees
    /// when the table is in degrees. Coordinates the table lacks keep
    /// their default; the names it lacks are returned.
    #[must_use]
    pub fn coordinates_from_table(
        &self,
        table: &crate::Table,
        row: usize,
    ) -> (Vec<f64>, Vec<String>) {
        let mut q = self.default_coordinates();
        let mut missing = Vec::new();
        for (i, c) in self.coordinates.iter().enumerate() {
            match table.column(&c.name) {
                Some(col) => {
                    q[i] = if table.in_degrees && c.motion == Motion::Rotational {
                        col[row].to_radians()
                    } else {
                        col[row]
                    };
                }
                None => missing.push(c.name.clone()),
            }
        }
        (q, missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msk(rel: &str) -> Option<std::path::PathBuf> {
        twin_core::testdata::require(Path::new("msk").join(rel))
    }

    /// OpenSim 4 writes a transform axis's function as the function element
    /// itself (`<MultiplierFunction name="function">`) and a moving path
    /// point's as `<SimmSpline name="x_location">`; 3.x wraps them in
    /// `<function>` / `<x_location>`. Both read alike.
    /// OpenSim 4 writes no `<motion_type>`: a coordinate that only moves a
    /// custom joint's translation axes, or a slider's, is translational
    /// (and so not converted from degrees), the others rotational.
    #[test]
    fn motion_types_left_out_follow_the_joint() {
        let text = r#"<OpenSimDocument Version="40000"><Model name="m"><gravity>0 -9.81 0</gravity>
            <BodySet><objects>
              <Body name="ground"><mass>0</mass></Body>
              <Body name="pelvis"><mass>10</mass><mass_center>0 0 0</mass_center>
                <Joint><CustomJoint name="free"><parent_body>ground</parent_body>
                  <location_in_parent>0 0 0</location_in_parent><orientation_in_parent>0 0 0</orientation_in_parent>
                  <location>0 0 0</location><orientation>0 0 0</orientation>
                  <CoordinateSet><objects><Coordinate name="tilt"/><Coordinate name="tx"/></objects></CoordinateSet>
                  <SpatialTransform>
                    <TransformAxis name="rotation1"><coordinates>tilt</coordinates><axis>0 0 1</axis>
                      <LinearFunction name="function"><coefficients>1 0</coefficients></LinearFunction></TransformAxis>
                    <TransformAxis name="translation1"><coordinates>tx</coordinates><axis>1 0 0</axis>
                      <LinearFunction name="function"><coefficients>1 0</coefficients></LinearFunction></TransformAxis>
                  </SpatialTransform>
                </CustomJoint></Joint></Body>
              <Body name="slide"><mass>1</mass><mass_center>0 0 0</mass_center>
                <Joint><SliderJoint name="s"><parent_body>pelvis</parent_body>
                  <location_in_parent>0 0 0</location_in_parent><orientation_in_parent>0 0 0</orientation_in_parent>
                  <location>0 0 0</location><orientation>0 0 0</orientation>
                  <CoordinateSet><objects><Coordinate name="d"/></objects></CoordinateSet>
                </SliderJoint></Joint></Body>
            </objects></BodySet></Model></OpenSimDocument>"#;
        let m = Model::parse(text).unwrap();
        let motion = |n: &str| m.coordinates[m.coordinate(n).unwrap()].motion;
        assert_eq!(motion("tilt"), Motion::Rotational);
        assert_eq!(motion("tx"), Motion::Translational);
        assert_eq!(motion("d"), Motion::Translational);
    }

    #[test]
    fn functions_read_in_both_the_3x_and_4x_forms() {
        let model = |axis_function: &str, moving: &str| {
            format!(
                r#"<OpenSimDocument Version="40000"><Model name="m"><gravity>0 -9.81 0</gravity>
            <BodySet><objects>
              <Body name="ground"><mass>0</mass></Body>
              <Body name="shank"><mass>1</mass><mass_center>0 0 0</mass_center>
                <Joint><CustomJoint name="knee"><parent_body>ground</parent_body>
                  <location_in_parent>0 0 0</location_in_parent><orientation_in_parent>0 0 0</orientation_in_parent>
                  <location>0 0 0</location><orientation>0 0 0</orientation>
                  <CoordinateSet><objects><Coordinate name="q"><motion_type>rotational</motion_type></Coordinate></objects></CoordinateSet>
                  <SpatialTransform>
                    <TransformAxis name="rotation1"><coordinates>q</coordinates><axis>0 0 1</axis>
                      <LinearFunction name="function"><coefficients>1 0</coefficients></LinearFunction></TransformAxis>
                    <TransformAxis name="translation2"><coordinates>q</coordinates><axis>0 1 0</axis>{axis_function}</TransformAxis>
                  </SpatialTransform>
                </CustomJoint></Joint></Body>
            </objects></BodySet>
            <ForceSet><objects><Thelen2003Muscle name="mus">
              <GeometryPath><PathPointSet><objects>
                <PathPoint name="a"><body>ground</body><location>0.1 0.2 0</location></PathPoint>
                <MovingPathPoint name="b"><body>shank</body>{moving}
                  <y_location><Constant><value>-0.3</value></Constant></y_location>
                  <x_coordinate>q</x_coordinate><y_coordinate>q</y_coordinate></MovingPathPoint>
              </objects></PathPointSet></GeometryPath>
            </Thelen2003Muscle></objects></ForceSet>
            </Model></OpenSimDocument>"#
            )
        };
        let spline = "<SimmSpline><x>-1 0 1 2</x><y>-0.40 -0.42 -0.45 -0.49</y></SimmSpline>";
        let old = model(
            &format!(
                "<function><MultiplierFunction><function>{spline}</function><scale>1.2</scale></MultiplierFunction></function>"
            ),
            "<x_location><LinearFunction><coefficients>0.01 0.02</coefficients></LinearFunction></x_location>",
        );
        let new = model(
            &format!(
                "<MultiplierFunction name=\"function\"><function>{spline}</function><scale>1.2</scale></MultiplierFunction>"
            ),
            "<LinearFunction name=\"x_location\"><coefficients>0.01 0.02</coefficients></LinearFunction>",
        );
        let (a, b) = (Model::parse(&old).unwrap(), Model::parse(&new).unwrap());
        let q = [0.7];
        let (pa, pb) = (a.body_poses(&q), b.body_poses(&q));
        let y = pa[1].translation.vector.y;
        assert!((-1.2 * 0.45..-1.2 * 0.42).contains(&y), "{y}");
        assert!((pa[1].translation.vector - pb[1].translation.vector).norm() < 1e-15);
        let (la, lb) = (
            a.path_length(&a.muscles[0], &q, &pa),
            b.path_length(&b.muscles[0], &q, &pb),
        );
        assert!((la - lb).abs() < 1e-15 && la > 0.5, "{la} {lb}");
    }

    #[test]
    fn the_kits_models_read_with_their_structure() {
        // (file, bodies incl. ground, coordinates, markers, muscles, mass)
        let cases = [
            (
                "gait10dof18musc/gait10dof18musc_subject01.osim",
                13,
                10,
                39,
                18,
                72.6,
            ),
            (
                "gait10dof18musc/path_lengths/walk_gait1018_subject01.osim",
                13,
                10,
                0,
                18,
                72.6,
            ),
            ("gait2354_subject01/subject01.osim", 13, 23, 39, 54, 72.6),
            (
                "gait2354_subject01/v30000/subject01.osim",
                13,
                23,
                39,
                54,
                72.6,
            ),
            ("moco_2d_gait/2D_gait.osim", 13, 10, 0, 18, 62.0),
        ];
        for (rel, bodies, coords, markers, muscles, mass) in cases {
            let Some(path) = msk(rel) else { return };
            let m = Model::read(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
            eprintln!("{rel}: v{} {:?}", m.version, m.warnings);
            assert_eq!(m.bodies.len(), bodies, "{rel} bodies");
            assert_eq!(m.coordinates.len(), coords, "{rel} coordinates");
            if markers > 0 {
                assert_eq!(m.markers.len(), markers, "{rel} markers");
            }
            assert_eq!(
                m.muscles
                    .iter()
                    .filter(|x| x.kind.contains("Muscle"))
                    .count(),
                muscles,
                "{rel} muscles"
            );
            assert!((m.mass() - mass).abs() < 0.05, "{rel} mass {}", m.mass());
            assert_eq!(m.joints.len(), bodies - 1);
        }
    }

    #[test]
    fn path_lengths_match_opensims_to_a_micrometre() {
        // Forward kinematics (custom knee with spline translations,
        // conditional and moving path points) against OpenSim's
        // muscle-tendon lengths over the walk (MANIFEST §3.5, 1e-6 m).
        let Some(dir) = msk("gait10dof18musc/path_lengths") else {
            return;
        };
        let m = Model::read(&dir.join("walk_gait1018_subject01.osim")).unwrap();
        let states = crate::Table::read(&dir.join("walk_gait1018_state_reference.mot")).unwrap();
        let reference = crate::Table::read(
            &dir.join("std_testGeometryPathWrapping_walk_gait1018_muscle_lengths.sto"),
        )
        .unwrap();
        assert_eq!(states.rows(), reference.rows());
        let mut worst: f64 = 0.0;
        for row in 0..states.rows() {
            let (q, missing) = m.coordinates_from_table(&states, row);
            assert!(missing.is_empty(), "{missing:?}");
            let poses = m.body_poses(&q);
            for muscle in &m.muscles {
                let expected = reference
                    .column(&format!("{}|length", muscle.name))
                    .unwrap()[row];
                let got = m.path_length(muscle, &q, &poses);
                worst = worst.max((got - expected).abs());
                assert!(
                    (got - expected).abs() < 1e-6,
                    "{} row {row}: {got} vs {expected}",
                    muscle.name
                );
            }
        }
        eprintln!("largest path-length difference: {worst:.2e} m");
    }

    #[test]
    fn coordinate_twists_are_the_derivatives_of_marker_positions() {
        for rel in [
            "gait2354_subject01/subject01.osim",
            "gait10dof18musc/gait10dof18musc_subject01.osim",
            "moco_2d_gait/2D_gait.osim",
        ] {
            let Some(path) = msk(rel) else { return };
            let m = Model::read(&path).unwrap();
            // A pose away from zero (every coordinate at a third of its range).
            let q: Vec<f64> = m
                .coordinates
                .iter()
                .map(|c| {
                    if c.range[0].is_finite() {
                        c.range[0] + (c.range[1] - c.range[0]) / 3.0
                    } else {
                        0.2
                    }
                })
                .collect();
            let poses = m.body_poses(&q);
            let twists = m.coordinate_twists(&q, &poses);
            let subtrees = m.joint_subtrees();
            // Points: every body's centre of mass.
            for k in 0..q.len() {
                let h = 1e-6;
                let mut up = q.clone();
                up[k] += h;
                let mut down = q.clone();
                down[k] -= h;
                let (pu, pd) = (m.body_poses(&up), m.body_poses(&down));
                for b in 1..m.bodies.len() {
                    let at = |p: &[Isometry3<f64>]| {
                        (p[b] * nalgebra::Point3::from(m.bodies[b].com)).coords
                    };
                    let numeric = (at(&pu) - at(&pd)) / (2.0 * h);
                    let x = at(&poses);
                    let analytic: Vector3<f64> = twists[k]
                        .iter()
                        .filter(|t| subtrees[t.joint][b])
                        .map(|t| t.of_point(&x))
                        .sum();
                    assert!(
                        (numeric - analytic).norm() < 1e-6,
                        "{rel}: {} on {}: {numeric:?} vs {analytic:?}",
                        m.coordinates[k].name,
                        m.bodies[b].name
                    );
                }
            }
        }
    }

    #[test]
    fn unsupported_or_broken_models_are_refused_by_name() {
        let model = |joint: &str| {
            format!(
                r#"<OpenSimDocument Version="30000"><Model name="m"><BodySet><objects>
                <Body name="ground"><mass>0</mass></Body>
                <Body name="a"><mass>1</mass><Joint>{joint}</Joint></Body>
                </objects></BodySet></Model></OpenSimDocument>"#
            )
        };
        let e = Model::parse(&model(
            r#"<BallJoint name="ball"><parent_body>ground</parent_body></BallJoint>"#,
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("BallJoint") && e.contains("`ball`") && e.contains("line 3"),
            "{e}"
        );
        let e = Model::parse(&model(
            r#"<PinJoint name="pin"><parent_body>nowhere</parent_body></PinJoint>"#,
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("`nowhere`"), "{e}");
        let e = Model::parse(&model(
            r#"<PinJoint name="pin"><parent_body>ground</parent_body><location_in_parent>0 1</location_in_parent></PinJoint>"#,
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("location_in_parent") && e.contains("2 numbers"),
            "{e}"
        );
        assert!(
            Model::parse("<not xml")
                .unwrap_err()
                .to_string()
                .contains("XML")
        );
        // A body without a joint to the rest.
        let e = Model::parse(
            r#"<OpenSimDocument><Model name="m"><BodySet><objects><Body name="ground"/><Body name="loose"><mass>1</mass></Body></objects></BodySet></Model></OpenSimDocument>"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`loose`"), "{e}");
        // A negative mass.
        let e = Model::parse(
            r#"<OpenSimDocument><Model name="m"><BodySet><objects><Body name="ground"/><Body name="b"><mass>-2</mass></Body></objects></BodySet></Model></OpenSimDocument>"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("mass -2"), "{e}");
    }
}
