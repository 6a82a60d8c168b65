//! OpenSim models (`.osim`, XML versions 2.x, 3.x and 4.x) for kinematics
//! and dynamics: bodies, joints with their coordinates, markers and the
//! geometry of muscle paths. This module holds the model and its
//! kinematics (joint transforms, body poses, twists, marker positions, path
//! lengths); [`osim`] reads the XML.
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

use nalgebra::{Isometry3, Matrix3, Translation3, Unit, UnitQuaternion, Vector3};

use crate::function::Function;

mod osim;

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

impl Joint {
    /// The coordinates the joint reads.
    #[must_use]
    pub fn coordinates(&self) -> Vec<usize> {
        match &self.kind {
            JointKind::Weld => Vec::new(),
            JointKind::Pin(c) | JointKind::Slider(c) => vec![*c],
            JointKind::Planar(c) => c.to_vec(),
            JointKind::Custom(axes) => axes.iter().filter_map(|a| a.coordinate).collect(),
        }
    }
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

impl PathPoint {
    /// Whether the point moves in its body (a [`PathPoint::Moving`]).
    #[must_use]
    pub fn moves(&self) -> bool {
        matches!(self, PathPoint::Moving { .. })
    }

    /// The point's body and location in it at coordinates `q`; `None` for
    /// a conditional point outside its range.
    #[must_use]
    pub fn local(&self, q: &[f64]) -> Option<(usize, Vector3<f64>)> {
        match self {
            PathPoint::Fixed { body, location } => Some((*body, *location)),
            PathPoint::Conditional {
                body,
                location,
                coordinate,
                range,
            } => {
                let v = q[*coordinate];
                (range[0] <= v && v <= range[1]).then_some((*body, *location))
            }
            PathPoint::Moving { body, functions } => Some((
                *body,
                Vector3::from_fn(|k, _| functions[k].0.value(q[functions[k].1])),
            )),
        }
    }
}

/// A muscle (or other path actuator): its name, type and path.
#[derive(Debug, Clone, PartialEq)]
pub struct Muscle {
    pub name: String,
    /// The XML element (`Thelen2003Muscle`, `Millard2012EquilibriumMuscle`…).
    pub kind: String,
    /// Its component path in OpenSim 4 (`/forceset/soleus_r`, or
    /// `/soleus_r` for a force listed in the model's `<components>`), the
    /// prefix of its state names.
    pub component: String,
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

/// A sphere on a body in contact with a half-space fixed in ground:
/// OpenSim's `SmoothSphereHalfSpaceForce` (Serrancolí et al. 2019, a
/// smoothed Hunt–Crossley contact with Stribeck friction), with the
/// parameters of the model file.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactSphere {
    /// The force's name.
    pub name: String,
    pub body: usize,
    /// Centre in the body frame (m).
    pub location: Vector3<f64>,
    /// m.
    pub radius: f64,
    /// The half-space's frame in ground: the contact side is along its −x
    /// (OpenSim's convention; a floor is rotated −90° about z).
    pub plane: Isometry3<f64>,
    /// Plane-strain modulus (N/m²).
    pub stiffness: f64,
    /// Hunt–Crossley dissipation (s/m).
    pub dissipation: f64,
    pub static_friction: f64,
    pub dynamic_friction: f64,
    /// Viscous friction (s/m).
    pub viscous_friction: f64,
    /// Stribeck transition velocity (m/s).
    pub transition_velocity: f64,
    /// The smoothing constant that keeps derivatives finite (N-ish, 1e-5).
    pub constant_force: f64,
    /// tanh steepness of the Hertz and Hunt–Crossley switches.
    pub hertz_smoothing: f64,
    pub hunt_crossley_smoothing: f64,
}

/// A `CoordinateActuator`: a generalized force `optimal_force · control`.
#[derive(Debug, Clone, PartialEq)]
pub struct CoordinateActuator {
    pub name: String,
    pub coordinate: usize,
    pub optimal_force: f64,
    pub min_control: f64,
    pub max_control: f64,
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
    /// Foot–ground contact spheres (`SmoothSphereHalfSpaceForce`).
    pub contacts: Vec<ContactSphere>,
    /// Coordinate actuators (torque motors).
    pub actuators: Vec<CoordinateActuator>,
    /// What the model holds and this reader ignores, one line per kind.
    pub warnings: Vec<String>,
}

/// Whether the muscle `muscle` answers to `name`: its own name, or its
/// name without the side suffix (`soleus` names `soleus_r` and
/// `soleus_l`).
#[must_use]
pub fn muscle_named(muscle: &str, name: &str) -> bool {
    muscle == name
        || muscle
            .strip_suffix("_r")
            .or_else(|| muscle.strip_suffix("_l"))
            .is_some_and(|base| base == name)
}

impl Model {
    /// The index of a coordinate by name.
    #[must_use]
    pub fn coordinate(&self, name: &str) -> Option<usize> {
        self.coordinates.iter().position(|c| c.name == name)
    }

    /// The bones of a stick figure: (parent, child) body of every joint
    /// whose parent is not the ground.
    #[must_use]
    pub fn bones(&self) -> Vec<(usize, usize)> {
        self.joints
            .iter()
            .filter(|j| j.parent != 0)
            .map(|j| (j.parent, j.child))
            .collect()
    }

    /// The side of a contact sphere by its body's name in OpenSim's
    /// convention: 0 for `…_r`, 1 for `…_l`, `None` otherwise.
    #[must_use]
    pub fn contact_side(&self, contact: usize) -> Option<usize> {
        let name = &self.bodies[self.contacts[contact].body].name;
        if name.ends_with("_r") {
            Some(0)
        } else if name.ends_with("_l") {
            Some(1)
        } else {
            None
        }
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
            let (body, local) = p.local(q)?;
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
        twin_core::testdata::require(std::path::Path::new("msk").join(rel))
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
