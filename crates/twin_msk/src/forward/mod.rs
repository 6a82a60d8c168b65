//! Forward dynamics of an OpenSim model: the motion that muscle
//! excitations, gravity, passive joint forces and foot–ground contact
//! produce.
//!
//! * **Multibody**: `M(q) q̈ = τ − b(q, q̇)`; the mass matrix from the
//!   bodies' Jacobians (`M = Σ m Jvᵀ Jv + Jωᵀ I Jω`, exact, from the joints'
//!   twists as in inverse dynamics, so every joint kind the reader knows
//!   works, the coupled knee included), the velocity-product terms `b` from
//!   the change of the bodies' velocities along `q̇` (`J̇q̇` by a central
//!   difference over a displacement of 10⁻⁶ m or rad), solved by Cholesky.
//!   Coordinates can be locked (held at a value).
//! * **Muscles**: [`dgf::DgfMuscle`], OpenSim's DeGrooteFregly2016 muscle,
//!   rigid tendon, activation dynamics; lengths and moment arms from the
//!   path points and the joints' twists (exact, no differencing).
//! * **Contact**: OpenSim's `SmoothSphereHalfSpaceForce` (Serrancolí et al.
//!   2019): smoothed Hertz + Hunt–Crossley normal force and Stribeck
//!   friction at each contact sphere, parameters from the model file.
//! * **Passive forces**: `CoordinateLimitForce`s; coordinate actuators.
//! * **Integration**: Dormand–Prince 5(4) with error control ([`integrate`]).
//!
//! Serrancolí G, Falisse A, Dembia C, et al. (2019). Subject-exoskeleton
//! contact model calibration leads to accurate interaction force
//! predictions. *IEEE TNSRE* 27:1597–1605.

pub mod dgf;
pub mod integrate;

use nalgebra::{DMatrix, DVector, Isometry3, Matrix3, Point3, Vector3};

use crate::model::{ContactSphere, Model, PathPoint};
use crate::{MskError, Table};
pub use dgf::{DgfMuscle, MuscleOutput};

/// How the plant's warning about rigid tendons begins.
const RIGID_WARNING: &str = "simulated with rigid tendons: ";

/// Step of a tendon force (in F0) for its rate's slope.
const TENDON_STEP: f64 = 1e-4;

/// Displacement for the velocity-product terms (m or rad).
const BIAS_STEP: f64 = 1e-6;

/// The plant: a model ready to simulate.
#[derive(Debug, Clone)]
pub struct Plant {
    pub model: Model,
    /// Coordinates that move (indices into `model.coordinates`).
    pub free: Vec<usize>,
    /// Every coordinate's value when locked (the rest are overwritten).
    pub locked_values: Vec<f64>,
    pub muscles: Vec<DgfMuscle>,
    /// The muscles simulated with a compliant tendon (indices into
    /// `muscles`, increasing); their tendon forces are states after the
    /// activations. The rest have rigid tendons.
    pub compliant: Vec<usize>,
    /// Each free coordinate's position in `free`, per coordinate.
    free_index: Vec<Option<usize>>,
    /// Per joint: the bodies that move with its child.
    subtree_bodies: Vec<Vec<usize>>,
    /// Per joint: the inverse of its frame in the child body.
    in_child_inverse: Vec<Isometry3<f64>>,
    /// Per body: the free coordinates (positions in `free`) that move it
    /// (read by a joint above it); every other Jacobian column is zero.
    movers: Vec<Vec<usize>>,
    /// Whether every joint is a pin, slider, planar or weld joint: then
    /// the velocity-product terms are computed in closed form.
    analytic_bias: bool,
    pub warnings: Vec<String>,
}

/// The forces at one instant.
#[derive(Debug, Clone, Default)]
pub struct Forces {
    pub muscles: Vec<MuscleOutput>,
    /// Per contact sphere: force on the body (N, ground) and the point it
    /// acts at (m, ground).
    pub contacts: Vec<(Vector3<f64>, Vector3<f64>)>,
    /// Per compliant tendon: how its force's rate changes with its force
    /// (1/s; negative where the fibre damps the tendon), for integrators
    /// that treat the tendons implicitly.
    pub tendon_slopes: Vec<f64>,
}

/// A state: every coordinate's value and speed (locked ones held), the
/// muscles' activations and the tendon forces (in F0) of the muscles with
/// compliant tendons ([`Plant::compliant`], in that order).
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub t: f64,
    pub q: Vec<f64>,
    pub u: Vec<f64>,
    pub a: Vec<f64>,
    pub tendon: Vec<f64>,
}

/// Extra generalized forces from outside the model (a prosthetic ankle):
/// called with the coordinates and speeds, adds into `tau` (per
/// coordinate).
pub type ExtraForce<'a> = &'a (dyn Fn(&[f64], &[f64], &mut [f64]) + Sync);

/// The derivative of the state (on the free coordinates).
#[derive(Debug, Clone, Default)]
pub struct Derivative {
    pub qd: Vec<f64>,
    pub udot: Vec<f64>,
    pub adot: Vec<f64>,
}

/// `(ω, v₀)`: a point `x` moves by `v₀ + ω × x` per unit of a coordinate.
type Screw = (Vector3<f64>, Vector3<f64>);

/// Kinematics at one configuration.
struct Kinematics {
    poses: Vec<Isometry3<f64>>,
    /// Each pose as a rotation matrix and translation (for points).
    frames: Vec<(Matrix3<f64>, Vector3<f64>)>,
    /// Per body `b` and free coordinate `i` (at `b · n + i`): the screw
    /// `(ω, v₀)` with `∂x/∂q_i = v₀ + ω × x` for every point `x` fixed on
    /// the body (the sum of the twists of the joints above it).
    screws: Vec<(Vector3<f64>, Vector3<f64>)>,
}

impl Kinematics {
    fn new(poses: Vec<Isometry3<f64>>, screws: Vec<(Vector3<f64>, Vector3<f64>)>) -> Self {
        let frames = poses
            .iter()
            .map(|p| {
                (
                    p.rotation.to_rotation_matrix().into_inner(),
                    p.translation.vector,
                )
            })
            .collect();
        Self {
            poses,
            frames,
            screws,
        }
    }

    /// A point fixed on body `b` (body coordinates) in ground.
    fn point(&self, b: usize, local: &Vector3<f64>) -> Vector3<f64> {
        let (r, t) = &self.frames[b];
        r * local + t
    }

    /// `∂x/∂q_i` of point `x` on body `b`, free coordinate `i` (`n` free).
    fn of_point(&self, n: usize, b: usize, i: usize, x: &Vector3<f64>) -> Vector3<f64> {
        let (w, v) = &self.screws[b * n + i];
        v + w.cross(x)
    }
}

/// Musculotendon lengths and their derivatives on the free coordinates.
struct Geometry {
    n: usize,
    lengths: Vec<f64>,
    /// `∂L_m/∂q_i` at `m · n + i`.
    dl: Vec<f64>,
}

impl Geometry {
    fn dl(&self, m: usize) -> &[f64] {
        &self.dl[m * self.n..(m + 1) * self.n]
    }
}

impl Plant {
    /// A plant of `model` with the coordinates named in `locked` held at
    /// their value in `values` (or default).
    ///
    /// # Errors
    /// A muscle's parameters are out of range; a locked name is not a
    /// coordinate.
    pub fn new(model: &Model, locked: &[&str]) -> Result<Self, MskError> {
        let mut free = Vec::new();
        for (i, c) in model.coordinates.iter().enumerate() {
            if !(c.locked || locked.contains(&c.name.as_str())) {
                free.push(i);
            }
        }
        for name in locked {
            if model.coordinate(name).is_none() {
                return Err(MskError::format(format!(
                    "`{name}` is not a coordinate of model `{}`",
                    model.name
                )));
            }
        }
        let muscles = model
            .muscles
            .iter()
            .map(DgfMuscle::of)
            .collect::<Result<Vec<_>, _>>()?;
        let mut free_index = vec![None; model.coordinates.len()];
        for (i, &k) in free.iter().enumerate() {
            free_index[k] = Some(i);
        }
        let subtrees = model.joint_subtrees();
        let mut movers = vec![Vec::new(); model.bodies.len()];
        for (ji, j) in model.joints.iter().enumerate() {
            for k in j.coordinates() {
                let Some(i) = free_index[k] else { continue };
                for (b, &inside) in subtrees[ji].iter().enumerate() {
                    if inside && !movers[b].contains(&i) {
                        movers[b].push(i);
                    }
                }
            }
        }
        for m in &mut movers {
            m.sort_unstable();
        }
        let analytic_bias = model
            .joints
            .iter()
            .all(|j| !matches!(j.kind, crate::model::JointKind::Custom(_)));
        let subtree_bodies = subtrees
            .iter()
            .map(|row| (0..row.len()).filter(|&b| row[b]).collect())
            .collect();
        let in_child_inverse = model.joints.iter().map(|j| j.in_child.inverse()).collect();
        let mut plant = Self {
            analytic_bias,
            subtree_bodies,
            in_child_inverse,
            movers,
            locked_values: model.default_coordinates(),
            free,
            free_index,
            muscles,
            compliant: Vec::new(),
            model: model.clone(),
            warnings: Vec::new(),
        };
        plant.warn_of_rigid_tendons();
        Ok(plant)
    }

    /// The warning that names the muscles whose file asks for a compliant
    /// tendon but that are simulated rigid (replacing an earlier one).
    fn warn_of_rigid_tendons(&mut self) {
        self.warnings.retain(|w| !w.starts_with(RIGID_WARNING));
        let rigid: Vec<&str> = (0..self.muscles.len())
            .filter(|i| self.muscles[*i].compliant_in_file && !self.compliant.contains(i))
            .map(|i| self.model.muscles[i].name.as_str())
            .collect();
        if !rigid.is_empty() {
            self.warnings.push(format!(
                "{RIGID_WARNING}{} (the file asks for compliant ones; name them as compliant to simulate them so)",
                rigid.join(", ")
            ));
        }
    }

    /// Simulates the `names`d muscles with compliant tendons (De Groote's
    /// tendon curve at the file's `tendon_strain_at_one_norm_force`): a
    /// name is a muscle's, or without `_r`/`_l` both sides'. Returns the
    /// muscles now compliant. States made before this lack their tendon
    /// forces: start from [`Self::equilibrate`]d ones.
    ///
    /// # Errors
    /// A name matches no muscle (the model's muscles are listed).
    pub fn set_compliant(&mut self, names: &[String]) -> Result<Vec<String>, MskError> {
        let mut chosen = Vec::new();
        for name in names {
            let matched: Vec<usize> = (0..self.muscles.len())
                .filter(|&i| crate::model::muscle_named(&self.model.muscles[i].name, name))
                .collect();
            if matched.is_empty() {
                let all: Vec<&str> = self.model.muscles.iter().map(|m| m.name.as_str()).collect();
                return Err(MskError::format(format!(
                    "compliant tendons: no muscle `{name}` in model `{}` (it has {})",
                    self.model.name,
                    all.join(", ")
                )));
            }
            chosen.extend(matched);
        }
        chosen.sort_unstable();
        chosen.dedup();
        self.compliant = chosen;
        self.warn_of_rigid_tendons();
        Ok(self
            .compliant
            .iter()
            .map(|&i| self.model.muscles[i].name.clone())
            .collect())
    }

    /// `s` with the tendon forces of the compliant muscles in equilibrium
    /// with isometric fibres at its coordinates and activations.
    #[must_use]
    pub fn equilibrate(&self, s: &State) -> State {
        let mut out = s.clone();
        let kin = self.kinematics(&s.q);
        let geometry = self.muscle_geometry(&s.q, &kin);
        out.tendon = self
            .compliant
            .iter()
            .map(|&m| self.muscles[m].equilibrium_tendon_force(geometry.lengths[m], s.a[m]))
            .collect();
        out
    }

    /// Soft joint limits at the coordinate ranges the model gives, for
    /// every free rotational coordinate of a joint other than the root's
    /// that has no `CoordinateLimitForce` of its own: OpenSim's limit force
    /// with `stiffness` (N·m/rad) beyond the range, reached over 2°, and
    /// `damping` (N·m·s/rad) while beyond. Returns the coordinates limited.
    pub fn add_range_limits(&mut self, stiffness: f64, damping: f64) -> Vec<String> {
        let m = &mut self.model;
        let mut added = Vec::new();
        for &k in &self.free {
            let c = &m.coordinates[k];
            let root = m.joints[c.joint].parent == 0;
            let has = m.limit_forces.iter().any(|l| l.coordinate == k);
            if root || has || c.motion != crate::model::Motion::Rotational {
                continue;
            }
            let [lo, hi] = c.range;
            if !(lo.is_finite() && hi.is_finite() && hi > lo) {
                continue;
            }
            added.push(c.name.clone());
            m.limit_forces.push(crate::model::CoordinateLimit {
                name: format!("{}_range_limit", c.name),
                coordinate: k,
                upper_stiffness: stiffness,
                upper_limit: hi,
                lower_stiffness: stiffness,
                lower_limit: lo,
                damping,
                transition: 2f64.to_radians(),
            });
        }
        added
    }

    /// Free coordinates.
    #[must_use]
    pub fn dofs(&self) -> usize {
        self.free.len()
    }

    /// A start from a coordinates table (the Moco example's
    /// `referenceCoordinates.sto`): the first row's values, speeds from the
    /// difference of the first two rows, time 0, every muscle at
    /// `activation`.
    ///
    /// # Errors
    /// The table has fewer than two rows.
    pub fn start_from_coordinates(
        &self,
        table: &Table,
        activation: f64,
    ) -> Result<State, MskError> {
        if table.rows() < 2 {
            return Err(MskError::format(
                "the initial coordinates need two rows (for the speeds)",
            ));
        }
        let base = self.default_state();
        let s0 = self.state_from_table(table, 0, &base);
        let s1 = self.state_from_table(table, 1, &base);
        let dt = s1.t - s0.t;
        let mut start = s0.clone();
        start.t = 0.0;
        for k in 0..start.q.len() {
            start.u[k] = if dt > 0.0 {
                (s1.q[k] - s0.q[k]) / dt
            } else {
                0.0
            };
        }
        start.a.fill(activation);
        Ok(self.equilibrate(&start))
    }

    /// The default state: default coordinates, zero speeds, each muscle at
    /// its `default_activation`, compliant tendons in equilibrium.
    #[must_use]
    pub fn default_state(&self) -> State {
        self.equilibrate(&State {
            t: 0.0,
            q: self.locked_values.clone(),
            u: vec![0.0; self.model.coordinates.len()],
            a: self.muscles.iter().map(|m| m.default_activation).collect(),
            tendon: Vec::new(),
        })
    }

    fn kinematics(&self, q: &[f64]) -> Kinematics {
        let n = self.free.len();
        let nb = self.model.bodies.len();
        let mut screws = vec![(Vector3::zeros(), Vector3::zeros()); nb * n];
        let mut add = |joint: usize, k: usize, omega: Vector3<f64>, v0: Vector3<f64>| {
            if let Some(i) = self.free_index[k] {
                for &b in &self.subtree_bodies[joint] {
                    let s = &mut screws[b * n + i];
                    s.0 += omega;
                    s.1 += v0;
                }
            }
        };
        if !self.analytic_bias {
            let poses = self.model.body_poses(q);
            for (k, twists) in self.model.coordinate_twists(q, &poses).iter().enumerate() {
                for t in twists {
                    add(t.joint, k, t.omega, t.velocity - t.omega.cross(&t.origin));
                }
            }
            return Kinematics::new(poses, screws);
        }
        // Pin, slider, planar and weld joints: poses and twists in one pass.
        let mut poses = vec![Isometry3::identity(); nb];
        for (ji, j) in self.model.joints.iter().enumerate() {
            let frame_f = poses[j.parent] * j.in_parent;
            let x_fm = self.model.joint_transform(j, q);
            poses[j.child] = frame_f * x_fm * self.in_child_inverse[ji];
            // A rotation about the frame's z through the child's origin;
            // translations along its x and y (as `coordinate_twists`).
            let w = frame_f.rotation * Vector3::z();
            let origin = (frame_f * Point3::from(x_fm.translation.vector)).coords;
            let turn = (w, -w.cross(&origin));
            let along = |axis: Vector3<f64>| (Vector3::zeros(), frame_f.rotation * axis);
            let axes: &[(usize, Screw)] = match &j.kind {
                crate::model::JointKind::Pin(c) => &[(*c, turn)],
                crate::model::JointKind::Slider(c) => &[(*c, along(Vector3::x()))],
                crate::model::JointKind::Planar([rc, xc, yc]) => &[
                    (*rc, turn),
                    (*xc, along(Vector3::x())),
                    (*yc, along(Vector3::y())),
                ],
                crate::model::JointKind::Weld | crate::model::JointKind::Custom(_) => &[],
            };
            for &(k, (omega, v0)) in axes {
                add(ji, k, omega, v0);
            }
        }
        Kinematics::new(poses, screws)
    }

    /// `dx/dq_i` of a point `x` on body `b`, for free coordinate `i`.
    fn point_jacobian(
        &self,
        kin: &Kinematics,
        b: usize,
        x: &Vector3<f64>,
        out: &mut [Vector3<f64>],
    ) {
        let n = self.free.len();
        out[..n].fill(Vector3::zeros());
        for &i in &self.movers[b] {
            out[i] = kin.of_point(n, b, i, x);
        }
    }

    /// Each body's centre-of-mass Jacobian (ground frame), column `i` of
    /// body `b` at `b · n + i` (the angular one is the screws' `ω`).
    fn com_jacobians(&self, kin: &Kinematics) -> Vec<Vector3<f64>> {
        let nb = self.model.bodies.len();
        let n = self.free.len();
        let mut jv = vec![Vector3::zeros(); nb * n];
        for b in 1..nb {
            let c = kin.point(b, &self.model.bodies[b].com);
            for &i in &self.movers[b] {
                jv[b * n + i] = kin.of_point(n, b, i, &c);
            }
        }
        jv
    }

    fn full_q(&self, y_q: &[f64], q: &mut [f64]) {
        q.copy_from_slice(&self.locked_values);
        for (i, &k) in self.free.iter().enumerate() {
            q[k] = y_q[i];
        }
    }

    /// Each body's velocity (centre of mass, angular) at `q` with free
    /// speeds `u`.
    fn body_velocities(&self, q: &[f64], u: &[f64]) -> Vec<(Vector3<f64>, Vector3<f64>)> {
        let kin = self.kinematics(q);
        let jv = self.com_jacobians(&kin);
        let n = self.free.len();
        (0..self.model.bodies.len())
            .map(|b| {
                let mut lin = Vector3::zeros();
                let mut ang = Vector3::zeros();
                for &i in &self.movers[b] {
                    lin += jv[b * n + i] * u[i];
                    ang += kin.screws[b * n + i].0 * u[i];
                }
                (lin, ang)
            })
            .collect()
    }

    /// Musculotendon lengths (m) and their derivatives `∂L/∂q_i` on the free
    /// coordinates.
    fn muscle_geometry(&self, q: &[f64], kin: &Kinematics) -> Geometry {
        let n = self.free.len();
        let mut g = Geometry {
            n,
            lengths: Vec::with_capacity(self.model.muscles.len()),
            dl: vec![0.0; n * self.model.muscles.len()],
        };
        for (mi, m) in self.model.muscles.iter().enumerate() {
            let dl = &mut g.dl[mi * n..(mi + 1) * n];
            let mut length = 0.0;
            let mut last: Option<(usize, Vector3<f64>, &PathPoint)> = None;
            for p in &m.path {
                let Some((body, local)) = p.local(q) else {
                    continue;
                };
                let x = kin.point(body, &local);
                if let Some((lb, lx, lp)) = last {
                    let seg = x - lx;
                    let len = seg.norm();
                    length += len;
                    // Both ends on one body: the segment moves rigidly (its
                    // direction's motion is perpendicular to it) unless a
                    // point moves in the body.
                    let rigid = lb == body && !p.moves() && !lp.moves();
                    if len > 0.0 && !rigid {
                        let e = seg / len;
                        for &i in &self.movers[body] {
                            dl[i] += e.dot(&kin.of_point(n, body, i, &x));
                        }
                        for &i in &self.movers[lb] {
                            dl[i] -= e.dot(&kin.of_point(n, lb, i, &lx));
                        }
                        self.moving_point_terms(kin, p, body, q, &e, dl);
                        self.moving_point_terms(kin, lp, lb, q, &(-e), dl);
                    }
                }
                last = Some((body, x, p));
            }
            g.lengths.push(length);
        }
        g
    }

    /// A moving path point's own motion in its body (`R · ∂f/∂q`) along
    /// `e`, added into `dl`.
    fn moving_point_terms(
        &self,
        kin: &Kinematics,
        p: &PathPoint,
        body: usize,
        q: &[f64],
        e: &Vector3<f64>,
        dl: &mut [f64],
    ) {
        if let PathPoint::Moving { functions, .. } = p {
            for (axis, (f, c)) in functions.iter().enumerate() {
                if let Some(i) = self.free_index[*c] {
                    let mut local = Vector3::zeros();
                    local[axis] = f.derivative(q[*c]);
                    dl[i] += e.dot(&(kin.frames[body].0 * local));
                }
            }
        }
    }

    /// The contact force on each sphere's body and where it acts, for body
    /// poses at `q` and free speeds `u`.
    fn contact_forces(
        &self,
        kin: &Kinematics,
        u: &[f64],
        jac: &mut [Vector3<f64>],
    ) -> Vec<(Vector3<f64>, Vector3<f64>)> {
        self.model
            .contacts
            .iter()
            .map(|c| {
                let centre = (kin.poses[c.body] * Point3::from(c.location)).coords;
                let normal = c.plane.rotation * Vector3::x();
                let indentation = c.radius + (centre - c.plane.translation.vector).dot(&normal);
                let point = centre + c.radius * normal - 0.5 * indentation * normal;
                self.point_jacobian(kin, c.body, &point, jac);
                let mut v = Vector3::zeros();
                for (i, ui) in u.iter().enumerate() {
                    v += jac[i] * *ui;
                }
                (contact_force(c, indentation, &normal, &v), point)
            })
            .collect()
    }

    /// The generalized forces of the muscles at coordinates `q` (every
    /// coordinate of the model) pulling with `forces` (N, per muscle):
    /// `−Σ F ∂L/∂q` per coordinate (0 on held ones).
    #[must_use]
    pub fn muscle_moments(&self, q: &[f64], forces: &[f64]) -> Vec<f64> {
        let kin = self.kinematics(q);
        let mut tau = vec![0.0; q.len()];
        let g = self.muscle_geometry(q, &kin);
        for (m, f) in forces.iter().enumerate().take(g.lengths.len()) {
            for (i, &k) in self.free.iter().enumerate() {
                tau[k] -= f * g.dl(m)[i];
            }
        }
        tau
    }

    /// The state's derivative with muscle excitations `e`, actuator
    /// controls `controls` and any `extra` generalized forces; `forces`
    /// receives the muscle and contact forces.
    ///
    /// # Errors
    /// The mass matrix is not positive definite (a model without mass on
    /// a moving coordinate).
    #[allow(clippy::too_many_arguments)]
    pub fn derivative(
        &self,
        y: &[f64],
        e: &[f64],
        controls: &[f64],
        extra: Option<ExtraForce<'_>>,
        dy: &mut [f64],
        forces: Option<&mut Forces>,
    ) -> Result<(), MskError> {
        let n = self.free.len();
        let nm = self.muscles.len();
        let (yq, rest) = y.split_at(n);
        let (yu, rest) = rest.split_at(n);
        let (ya, yt) = rest.split_at(nm);
        let mut q = vec![0.0; self.model.coordinates.len()];
        self.full_q(yq, &mut q);
        let kin = self.kinematics(&q);
        let jv = self.com_jacobians(&kin);
        let jv = |b: usize, i: usize| jv[b * n + i];
        let jw = |b: usize, i: usize| kin.screws[b * n + i].0;
        // Velocity-product terms: the change of each body's velocity along
        // the motion with the speeds held.
        let speed = yu.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let nb = self.model.bodies.len();
        let mut bias = vec![(Vector3::zeros(), Vector3::zeros()); nb];
        let mut u_full = vec![0.0; q.len()];
        for (i, &k) in self.free.iter().enumerate() {
            u_full[k] = yu[i];
        }
        if speed > 0.0 && self.analytic_bias {
            self.closed_form_bias(&q, &u_full, &kin.poses, &mut bias);
        } else if speed > 0.0 {
            let h = BIAS_STEP / speed;
            let mut qp = q.clone();
            let mut qm = q.clone();
            for (i, &k) in self.free.iter().enumerate() {
                qp[k] += h * yu[i];
                qm[k] -= h * yu[i];
            }
            let vp = self.body_velocities(&qp, yu);
            let vm = self.body_velocities(&qm, yu);
            for b in 0..nb {
                bias[b] = (
                    (vp[b].0 - vm[b].0) / (2.0 * h),
                    (vp[b].1 - vm[b].1) / (2.0 * h),
                );
            }
        }
        let mut mass = DMatrix::<f64>::zeros(n, n);
        let mut tau = DVector::<f64>::zeros(n);
        for (b, (body, bias_b)) in self.model.bodies.iter().zip(&bias).enumerate().skip(1) {
            if body.mass == 0.0 && body.inertia == Matrix3::zeros() {
                continue;
            }
            let r = kin.frames[b].0;
            let inertia = r * body.inertia * r.transpose();
            let movers = &self.movers[b];
            let mut omega = Vector3::zeros();
            for &i in movers {
                omega += jw(b, i) * yu[i];
            }
            let force = body.mass * (self.model.gravity - bias_b.0);
            let moment = -(inertia * bias_b.1) - omega.cross(&(inertia * omega));
            for (x, &i) in movers.iter().enumerate() {
                let (jvi, jwi) = (jv(b, i), jw(b, i));
                tau[i] += jvi.dot(&force) + jwi.dot(&moment);
                let iw = inertia * jwi;
                // `movers` is sorted: `j ≤ i` for the first `x + 1`.
                for &j in &movers[..=x] {
                    let mij = body.mass * jvi.dot(&jv(b, j)) + jw(b, j).dot(&iw);
                    mass[(i, j)] += mij;
                }
            }
        }
        for i in 0..n {
            for j in 0..i {
                mass[(j, i)] = mass[(i, j)];
            }
        }
        // Generalized forces per coordinate, then onto the free ones.
        let mut tau_q = vec![0.0; q.len()];
        for lf in &self.model.limit_forces {
            tau_q[lf.coordinate] += lf.force(q[lf.coordinate], u_full[lf.coordinate]);
        }
        for (act, &c) in self.model.actuators.iter().zip(controls) {
            tau_q[act.coordinate] += act.optimal_force * c;
        }
        if let Some(f) = extra {
            f(&q, &u_full, &mut tau_q);
        }
        for (i, &k) in self.free.iter().enumerate() {
            tau[i] += tau_q[k];
        }
        let geometry = self.muscle_geometry(&q, &kin);
        let mut outputs = Vec::with_capacity(nm);
        let mut slopes = Vec::new();
        let mut compliant = self.compliant.iter().enumerate().peekable();
        for (m, muscle) in self.muscles.iter().enumerate() {
            let dl = geometry.dl(m);
            let v_mt: f64 = dl.iter().zip(yu).map(|(d, u)| d * u).sum();
            let out = match compliant.next_if(|(_, c)| **c == m) {
                Some((j, _)) => {
                    let (out, rate) =
                        muscle.compliant_output(geometry.lengths[m], v_mt, ya[m], yt[j]);
                    dy[2 * n + nm + j] = rate;
                    if forces.is_some() {
                        let step = TENDON_STEP * yt[j].abs().max(1.0);
                        let (_, shifted) =
                            muscle.compliant_output(geometry.lengths[m], v_mt, ya[m], yt[j] + step);
                        slopes.push((shifted - rate) / step);
                    }
                    out
                }
                None => muscle.output(geometry.lengths[m], v_mt, ya[m]),
            };
            for i in 0..n {
                tau[i] -= out.force * dl[i];
            }
            outputs.push(out);
        }
        let mut jac = vec![Vector3::zeros(); n];
        let contacts = self.contact_forces(&kin, yu, &mut jac);
        for (c, (f, point)) in self.model.contacts.iter().zip(&contacts) {
            self.point_jacobian(&kin, c.body, point, &mut jac);
            for i in 0..n {
                tau[i] += jac[i].dot(f);
            }
        }
        if tau.iter().any(|v| !v.is_finite()) || y.iter().any(|v| !v.is_finite()) {
            return Err(MskError::format(
                "the simulation diverged: the state or its forces are no longer finite",
            ));
        }
        let chol = mass.cholesky().ok_or_else(|| {
            MskError::format(format!(
                "model `{}`: the mass matrix is singular (a free coordinate moves no mass)",
                self.model.name
            ))
        })?;
        let udot = chol.solve(&tau);
        dy[..n].copy_from_slice(yu);
        dy[n..2 * n].copy_from_slice(udot.as_slice());
        for (m, muscle) in self.muscles.iter().enumerate() {
            dy[2 * n + m] = muscle.activation_rate(e[m], ya[m]);
        }
        if let Some(f) = forces {
            f.muscles = outputs;
            f.contacts = contacts;
            f.tendon_slopes = slopes;
        }
        Ok(())
    }

    /// The velocity-product accelerations (centre of mass, angular) of
    /// every body for pin, slider, planar and weld joints: in Plücker
    /// coordinates at the ground origin each joint's motion axis `S` is
    /// fixed in the frame that carries it, so `Ṡ = V_carrier ×ₘ S`, and a
    /// body's spatial bias acceleration is its parent's plus `Σ Ṡ u`; a
    /// point's classical acceleration adds `ω × v`.
    fn closed_form_bias(
        &self,
        q: &[f64],
        u: &[f64],
        poses: &[Isometry3<f64>],
        bias: &mut [(Vector3<f64>, Vector3<f64>)],
    ) {
        use crate::model::JointKind;
        type Spatial = (Vector3<f64>, Vector3<f64>);
        let cross = |a: &Spatial, b: &Spatial| -> Spatial {
            (a.0.cross(&b.0), a.0.cross(&b.1) + a.1.cross(&b.0))
        };
        let add = |a: &Spatial, b: &Spatial, s: f64| -> Spatial { (a.0 + b.0 * s, a.1 + b.1 * s) };
        let nb = self.model.bodies.len();
        let zero = (Vector3::zeros(), Vector3::zeros());
        let mut vel: Vec<Spatial> = vec![zero; nb];
        let mut acc: Vec<Spatial> = vec![zero; nb];
        for j in &self.model.joints {
            let frame_f = poses[j.parent] * j.in_parent;
            let r = frame_f.rotation;
            let x_fm = self.model.joint_transform(j, q);
            let origin = (frame_f * Point3::from(x_fm.translation.vector)).coords;
            // Plücker axes (ground origin) of a rotation about `w` through
            // `origin` and of a translation along `t`.
            let rot = |w: Vector3<f64>| -> Spatial { (w, -w.cross(&origin)) };
            let tra = |t: Vector3<f64>| -> Spatial { (Vector3::zeros(), t) };
            let (vp, ap) = (vel[j.parent], acc[j.parent]);
            let (mut v, mut a) = (vp, ap);
            match &j.kind {
                JointKind::Weld => {}
                JointKind::Pin(c) => {
                    let s = rot(r * Vector3::z());
                    a = add(&a, &cross(&vp, &s), u[*c]);
                    v = add(&v, &s, u[*c]);
                }
                JointKind::Slider(c) => {
                    let s = tra(r * Vector3::x());
                    a = add(&a, &cross(&vp, &s), u[*c]);
                    v = add(&v, &s, u[*c]);
                }
                JointKind::Planar([rc, xc, yc]) => {
                    let sx = tra(r * Vector3::x());
                    let sy = tra(r * Vector3::y());
                    a = add(&a, &cross(&vp, &sx), u[*xc]);
                    a = add(&a, &cross(&vp, &sy), u[*yc]);
                    let carrier = add(&add(&vp, &sx, u[*xc]), &sy, u[*yc]);
                    let sr = rot(r * Vector3::z());
                    a = add(&a, &cross(&carrier, &sr), u[*rc]);
                    v = add(&carrier, &sr, u[*rc]);
                }
                JointKind::Custom(_) => unreachable!("closed form only without custom joints"),
            }
            vel[j.child] = v;
            acc[j.child] = a;
        }
        for b in 1..nb {
            let c = (poses[b] * Point3::from(self.model.bodies[b].com)).coords;
            let (w, v0) = vel[b];
            let (alpha, a0) = acc[b];
            let vc = v0 + w.cross(&c);
            bias[b] = (a0 + alpha.cross(&c) + w.cross(&vc), alpha);
        }
    }

    /// The integration vector of a state: free values, free speeds,
    /// activations.
    #[must_use]
    pub fn pack(&self, s: &State) -> Vec<f64> {
        let mut y: Vec<f64> = self.free.iter().map(|&k| s.q[k]).collect();
        y.extend(self.free.iter().map(|&k| s.u[k]));
        y.extend(&s.a);
        y.extend(&s.tendon);
        y
    }

    /// The state of an integration vector at time `t`.
    #[must_use]
    pub fn unpack(&self, t: f64, y: &[f64]) -> State {
        let n = self.free.len();
        let mut q = vec![0.0; self.model.coordinates.len()];
        self.full_q(&y[..n], &mut q);
        let mut u = vec![0.0; q.len()];
        for (i, &k) in self.free.iter().enumerate() {
            u[k] = y[n + i];
        }
        let nm = self.muscles.len();
        State {
            t,
            q,
            u,
            a: y[2 * n..2 * n + nm].to_vec(),
            tendon: y[2 * n + nm..].to_vec(),
        }
    }

    /// Kinetic and gravitational potential energy (J) of a state.
    #[must_use]
    pub fn mechanical_energy(&self, s: &State) -> (f64, f64) {
        let poses = self.model.body_poses(&s.q);
        let u: Vec<f64> = self.free.iter().map(|&k| s.u[k]).collect();
        let v = self.body_velocities(&s.q, &u);
        let mut kinetic = 0.0;
        let mut potential = 0.0;
        for (b, body) in self.model.bodies.iter().enumerate().skip(1) {
            let r = poses[b].rotation.to_rotation_matrix().into_inner();
            let inertia = r * body.inertia * r.transpose();
            kinetic +=
                0.5 * body.mass * v[b].0.norm_squared() + 0.5 * v[b].1.dot(&(inertia * v[b].1));
            let c = (poses[b] * Point3::from(body.com)).coords;
            potential -= body.mass * self.model.gravity.dot(&c);
        }
        (kinetic, potential)
    }

    /// The state's labels as OpenSim 4 writes states: coordinate values and
    /// speeds (`/jointset/<joint>/<coordinate>/value`, `…/speed`), then
    /// activations (`<muscle's component path>/activation`).
    #[must_use]
    pub fn state_labels(&self) -> Vec<String> {
        let m = &self.model;
        let coord = |k: usize| {
            format!(
                "/jointset/{}/{}",
                m.joints[m.coordinates[k].joint].name, m.coordinates[k].name
            )
        };
        let mut labels: Vec<String> = (0..m.coordinates.len())
            .map(|k| format!("{}/value", coord(k)))
            .collect();
        labels.extend((0..m.coordinates.len()).map(|k| format!("{}/speed", coord(k))));
        labels.extend(
            m.muscles
                .iter()
                .map(|mu| format!("/forceset/{}/activation", mu.name)),
        );
        labels.extend(
            self.compliant
                .iter()
                .map(|&i| format!("/forceset/{}/normalized_tendon_force", m.muscles[i].name)),
        );
        labels
    }

    /// A state from a table row: columns matched by state path or bare
    /// name (`pelvis_tx`, `pelvis_tx/speed`, `soleus_r/activation`);
    /// what the table lacks keeps `base`'s value.
    #[must_use]
    pub fn state_from_table(&self, table: &Table, row: usize, base: &State) -> State {
        let mut s = base.clone();
        s.t = table.time[row];
        let find = |names: &[String]| names.iter().find_map(|n| table.column(n).map(|c| c[row]));
        let m = &self.model;
        for (k, c) in m.coordinates.iter().enumerate() {
            let path = format!("/jointset/{}/{}", m.joints[c.joint].name, c.name);
            let deg = table.in_degrees && c.motion == crate::model::Motion::Rotational;
            let conv = |v: f64| if deg { v.to_radians() } else { v };
            if let Some(v) = find(&[format!("{path}/value"), c.name.clone()]) {
                s.q[k] = conv(v);
            }
            if let Some(v) = find(&[
                format!("{path}/speed"),
                format!("{}/speed", c.name),
                format!("{}_u", c.name),
            ]) {
                s.u[k] = conv(v);
            }
        }
        for (i, mu) in m.muscles.iter().enumerate() {
            if let Some(v) = find(&[
                format!("{}/activation", mu.component),
                format!("/forceset/{}/activation", mu.name),
                format!("{}/activation", mu.name),
            ]) {
                s.a[i] = v;
            }
        }
        for (j, &i) in self.compliant.iter().enumerate() {
            if let Some(v) = find(&tendon_force_columns(&m.muscles[i]))
                && j < s.tendon.len()
            {
                s.tendon[j] = v;
            }
        }
        s
    }

    /// Whether `table` gives the tendon force of every compliant muscle
    /// (the columns [`Self::state_from_table`] reads).
    #[must_use]
    pub fn table_has_tendon_forces(&self, table: &Table) -> bool {
        self.compliant.iter().all(|&i| {
            tendon_force_columns(&self.model.muscles[i])
                .iter()
                .any(|c| table.column(c).is_some())
        })
    }

    /// A state's row in [`Self::state_labels`] order.
    #[must_use]
    pub fn state_row(&self, s: &State) -> Vec<f64> {
        let mut row = s.q.clone();
        row.extend(&s.u);
        row.extend(&s.a);
        row.extend(&s.tendon);
        row
    }
}

/// The columns a muscle's normalised tendon force may be read from.
fn tendon_force_columns(mu: &crate::model::Muscle) -> [String; 3] {
    [
        format!("{}/normalized_tendon_force", mu.component),
        format!("/forceset/{}/normalized_tendon_force", mu.name),
        format!("{}/normalized_tendon_force", mu.name),
    ]
}

/// The force of a smooth sphere–half-space contact on the half-space side,
/// as Simbody computes it, returned as the force on the sphere's body.
#[must_use]
pub fn contact_force(
    c: &ContactSphere,
    indentation: f64,
    normal: &Vector3<f64>,
    velocity: &Vector3<f64>,
) -> Vector3<f64> {
    let vn = velocity.dot(normal);
    let vt = velocity - vn * normal;
    let k = 0.5 * c.stiffness.powf(2.0 / 3.0);
    let hertz = (4.0 / 3.0)
        * k
        * (c.radius * k).sqrt()
        * (indentation * indentation + c.constant_force)
            .sqrt()
            .powf(1.5);
    let hertz = hertz * (0.5 + 0.5 * (c.hertz_smoothing * indentation).tanh());
    let hc = hertz * (1.0 + 1.5 * c.dissipation * vn);
    let hc =
        hc * (0.5 + 0.5 * (c.hunt_crossley_smoothing * (vn + 2.0 / (3.0 * c.dissipation))).tanh());
    let slip = (vt.norm_squared() + c.constant_force).sqrt();
    let rel = slip / c.transition_velocity;
    let friction = hc
        * (rel.min(1.0)
            * (c.dynamic_friction
                + 2.0 * (c.static_friction - c.dynamic_friction) / (1.0 + rel * rel))
            + c.viscous_friction * slip);
    -(hc * normal + friction * vt / slip)
}

#[cfg(test)]
mod tests;
