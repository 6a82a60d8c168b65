//! Activation times from the anisotropic eikonal equation.
//!
//! In each tetrahedron the conduction tensor `D = c_t²·I + (c_f² − c_t²)·f fᵀ`
//! (fibre direction `f`, velocities `c_f` along and `c_t` across the fibre,
//! mm/ms = m/s) gives the travel time of a straight segment `d` inside it
//! as `‖d‖_M = √(dᵀ M d)` with `M = D⁻¹`. The activation time `t` solves
//! `√(∇tᵀ D ∇t) = 1` with `t` = the given times at the sources.
//!
//! [`activation`] marches the times by increasing value from the sources
//! (a label-correcting method: a node can be improved after it was taken,
//! as anisotropy requires), updating each neighbour by the exact local
//! solver of a tetrahedron: the least time over the known part of the
//! tetrahedron (a vertex, an edge or the opposite face, the time linear
//! on it) plus the travel time from there — solved in closed form. The
//! result is the fixed point of the fast iterative method (Fu, Kirby &
//! Whitaker 2013, *SIAM J Sci Comput* 35:C473).
//!
//! [`Graph`] is the instant method: shortest paths along the mesh edges,
//! each edge's time its least travel time through the tetrahedra that
//! share it (Dijkstra). Paths bent along edges run a few per cent long
//! (docs/models/ep.md gives the measured excess).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::EpError;
use crate::mesh::{EDGES, TetMesh, dot, sub};

/// The conduction of every tetrahedron: its metric `M = D⁻¹` (ms²/mm²,
/// as `[xx, yy, zz, xy, xz, yz]`), or none where it does not conduct
/// (scar, an ablation lesion).
#[derive(Debug, Clone)]
pub struct Conduction {
    metric: Vec<Option<[f64; 6]>>,
}

fn check_velocity(name: &str, v: f64) -> Result<(), EpError> {
    if v.is_finite() && v > 0.0 && v < 20.0 {
        Ok(())
    } else {
        Err(EpError::input(format!(
            "{name} must be a conduction velocity in m/s (0–20), got {v}"
        )))
    }
}

/// The metric of fibre `f` with velocities `along` and `across` (m/s).
fn tensor(f: [f64; 3], along: f64, across: f64) -> [f64; 6] {
    let n = dot(f, f).sqrt();
    let f = if n > 0.0 {
        f.map(|x| x / n)
    } else {
        [1.0, 0.0, 0.0]
    };
    let iso = 1.0 / (across * across);
    let k = 1.0 / (along * along) - iso;
    [
        iso + k * f[0] * f[0],
        iso + k * f[1] * f[1],
        iso + k * f[2] * f[2],
        k * f[0] * f[1],
        k * f[0] * f[2],
        k * f[1] * f[2],
    ]
}

impl Conduction {
    /// Every tetrahedron conducting at `velocity` (m/s) in every direction.
    ///
    /// # Errors
    /// The velocity is not a positive number of m/s.
    pub fn isotropic(mesh: &TetMesh, velocity: f64) -> Result<Self, EpError> {
        check_velocity("velocity", velocity)?;
        Ok(Self {
            metric: vec![Some(tensor([1.0, 0.0, 0.0], velocity, velocity)); mesh.tets.len()],
        })
    }

    /// Each tetrahedron conducting at `along` (m/s) along its fibre and
    /// `across` across it.
    ///
    /// # Errors
    /// A velocity is not a positive number of m/s, or the fibres are not
    /// one per tetrahedron.
    pub fn with_fibres(
        mesh: &TetMesh,
        fibres: &[[f64; 3]],
        along: f64,
        across: f64,
    ) -> Result<Self, EpError> {
        check_velocity("fibre velocity", along)?;
        check_velocity("cross-fibre velocity", across)?;
        if fibres.len() != mesh.tets.len() {
            return Err(EpError::input(format!(
                "{} fibres for {} tetrahedra",
                fibres.len(),
                mesh.tets.len()
            )));
        }
        Ok(Self {
            metric: fibres
                .iter()
                .map(|&f| Some(tensor(f, along, across)))
                .collect(),
        })
    }

    /// Sets tetrahedron `t` to conduct along `fibre` at `along` and across
    /// it at `across` (m/s).
    ///
    /// # Errors
    /// A velocity is not a positive number of m/s.
    pub fn set(
        &mut self,
        t: usize,
        fibre: [f64; 3],
        along: f64,
        across: f64,
    ) -> Result<(), EpError> {
        check_velocity("fibre velocity", along)?;
        check_velocity("cross-fibre velocity", across)?;
        self.metric[t] = Some(tensor(fibre, along, across));
        Ok(())
    }

    /// Tetrahedron `t` no longer conducts.
    pub fn block(&mut self, t: usize) {
        self.metric[t] = None;
    }

    /// Tetrahedron `t`'s velocities multiplied by `factor` (> 0).
    pub fn slow(&mut self, t: usize, factor: f64) {
        if let Some(m) = &mut self.metric[t] {
            let k = 1.0 / (factor * factor);
            for x in m.iter_mut() {
                *x *= k;
            }
        }
    }

    /// Whether tetrahedron `t` conducts.
    #[must_use]
    pub fn conducts(&self, t: usize) -> bool {
        self.metric[t].is_some()
    }

    /// Travel time (ms) of segment `d` (mm) inside tetrahedron `t`.
    #[must_use]
    pub fn travel(&self, t: usize, d: [f64; 3]) -> Option<f64> {
        self.metric[t].map(|m| mdot(&m, d, d).sqrt())
    }
}

/// `aᵀ M b`.
fn mdot(m: &[f64; 6], a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * (m[0] * b[0] + m[3] * b[1] + m[4] * b[2])
        + a[1] * (m[3] * b[0] + m[1] * b[1] + m[5] * b[2])
        + a[2] * (m[4] * b[0] + m[5] * b[1] + m[2] * b[2])
}

/// A stimulus: node `node` activated at `time` (ms).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Source {
    pub node: usize,
    pub time: f64,
}

/// The least time at `v` over the segment `x0 x1` with times `t0`, `t1`
/// linear along it, when the least lies inside the segment.
fn segment_update(
    m: &[f64; 6],
    v: [f64; 3],
    x0: [f64; 3],
    t0: f64,
    x1: [f64; 3],
    t1: f64,
) -> Option<f64> {
    let e = sub(x1, x0);
    let w = sub(v, x0);
    let a = t1 - t0;
    let q = mdot(m, e, e);
    if q <= 0.0 {
        return None;
    }
    let b = mdot(m, e, w);
    let c = mdot(m, w, w);
    let (l0, d) = (b / q, a / q);
    let aqa = a * d;
    if aqa >= 1.0 {
        return None;
    }
    let s = ((c - b * l0).max(0.0) / (1.0 - aqa)).sqrt();
    let l = l0 - s * d;
    (0.0..=1.0).contains(&l).then_some(t0 + a * l + s)
}

/// The least time at `v` over the triangle `x` with times `t` linear on
/// it, when the least lies inside the triangle: with `λ` the barycentric
/// coordinates of the foot point along the edges `E` from `x[0]`, the
/// stationary point is `λ = Q⁻¹(b − s·a)` with `Q = EᵀME`, `b = EᵀMw`,
/// `a` the time differences and `s² = (wᵀMw − bᵀQ⁻¹b)/(1 − aᵀQ⁻¹a)` the
/// squared travel time from it.
fn face_update(m: &[f64; 6], v: [f64; 3], x: [[f64; 3]; 3], t: [f64; 3]) -> Option<f64> {
    let e1 = sub(x[1], x[0]);
    let e2 = sub(x[2], x[0]);
    let w = sub(v, x[0]);
    let a = [t[1] - t[0], t[2] - t[0]];
    let (q11, q12, q22) = (mdot(m, e1, e1), mdot(m, e1, e2), mdot(m, e2, e2));
    let det = q11 * q22 - q12 * q12;
    if det <= 1e-12 * q11 * q22 {
        return None;
    }
    let inv = |p: [f64; 2]| {
        [
            (q22 * p[0] - q12 * p[1]) / det,
            (q11 * p[1] - q12 * p[0]) / det,
        ]
    };
    let b = [mdot(m, e1, w), mdot(m, e2, w)];
    let l0 = inv(b);
    let d = inv(a);
    let aqa = a[0] * d[0] + a[1] * d[1];
    if aqa >= 1.0 {
        return None;
    }
    let c = mdot(m, w, w);
    let s = ((c - b[0] * l0[0] - b[1] * l0[1]).max(0.0) / (1.0 - aqa)).sqrt();
    let l = [l0[0] - s * d[0], l0[1] - s * d[1]];
    (l[0] >= 0.0 && l[1] >= 0.0 && l[0] + l[1] <= 1.0)
        .then_some(t[0] + a[0] * l[0] + a[1] * l[1] + s)
}

/// The least time at local vertex `k` of tetrahedron `tet` from its other
/// vertices' known (finite) times.
fn local(mesh: &TetMesh, m: &[f64; 6], tet: &[u32; 4], k: usize, times: &[f64]) -> f64 {
    let v = mesh.nodes[tet[k] as usize];
    let mut x = [[0.0; 3]; 3];
    let mut t = [0.0; 3];
    let mut n = 0;
    for (i, &node) in tet.iter().enumerate() {
        let ti = times[node as usize];
        if i != k && ti.is_finite() {
            x[n] = mesh.nodes[node as usize];
            t[n] = ti;
            n += 1;
        }
    }
    let mut best = f64::INFINITY;
    for i in 0..n {
        let d = sub(v, x[i]);
        best = best.min(t[i] + mdot(m, d, d).sqrt());
    }
    for i in 0..n {
        for j in i + 1..n {
            if let Some(c) = segment_update(m, v, x[i], t[i], x[j], t[j]) {
                best = best.min(c);
            }
        }
    }
    if n == 3
        && let Some(c) = face_update(m, v, x, t)
    {
        best = best.min(c);
    }
    best
}

#[derive(PartialEq)]
struct Entry(f64, u32);

impl Eq for Entry {}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn check_sources(mesh: &TetMesh, sources: &[Source]) -> Result<(), EpError> {
    if sources.is_empty() {
        return Err(EpError::input("no stimulus: give at least one source node"));
    }
    if let Some(s) = sources
        .iter()
        .find(|s| s.node >= mesh.nodes.len() || !s.time.is_finite())
    {
        return Err(EpError::input(format!(
            "source at node {} time {} ms is not on the mesh of {} nodes or not a finite time",
            s.node,
            s.time,
            mesh.nodes.len()
        )));
    }
    Ok(())
}

/// Activation time (ms) of every node from `sources` (∞ where the wave
/// cannot reach: isolated by non-conducting tissue).
///
/// # Errors
/// No source, or a source off the mesh or at a time that is not finite.
pub fn activation(
    mesh: &TetMesh,
    cond: &Conduction,
    sources: &[Source],
) -> Result<Vec<f64>, EpError> {
    check_sources(mesh, sources)?;
    let mut times = vec![f64::INFINITY; mesh.nodes.len()];
    let mut heap = BinaryHeap::new();
    for s in sources {
        if s.time < times[s.node] {
            times[s.node] = s.time;
            heap.push(Entry(s.time, s.node as u32));
        }
    }
    while let Some(Entry(t, u)) = heap.pop() {
        if t > times[u as usize] {
            continue;
        }
        for &tet in mesh.tets_of(u as usize) {
            let Some(m) = &cond.metric[tet as usize] else {
                continue;
            };
            let nodes = &mesh.tets[tet as usize];
            for k in 0..4 {
                let n = nodes[k] as usize;
                if n == u as usize {
                    continue;
                }
                let c = local(mesh, m, nodes, k, &times);
                if c < times[n] - 1e-9 * (1.0 + times[n].abs().min(1e300)) {
                    times[n] = c;
                    heap.push(Entry(c, n as u32));
                }
            }
        }
    }
    Ok(times)
}

/// The mesh's edges as a weighted graph for instant activation maps.
#[derive(Debug, Clone)]
pub struct Graph {
    start: Vec<u32>,
    to: Vec<u32>,
    time: Vec<f64>,
}

impl Graph {
    /// Each edge's travel time: the least over the conducting tetrahedra
    /// that share it (edges only in non-conducting ones are left out).
    #[must_use]
    pub fn new(mesh: &TetMesh, cond: &Conduction) -> Self {
        let mut e: Vec<(u32, u32, f64)> = Vec::with_capacity(mesh.tets.len() * 6);
        for (t, nodes) in mesh.tets.iter().enumerate() {
            for (i, j) in EDGES {
                let (a, b) = (nodes[i], nodes[j]);
                let d = sub(mesh.nodes[b as usize], mesh.nodes[a as usize]);
                if let Some(w) = cond.travel(t, d) {
                    e.push((a.min(b), a.max(b), w));
                }
            }
        }
        e.sort_unstable_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)).then(x.2.total_cmp(&y.2)));
        e.dedup_by(|x, y| x.0 == y.0 && x.1 == y.1);
        let n = mesh.nodes.len();
        let mut start = vec![0u32; n + 1];
        for &(a, b, _) in &e {
            start[a as usize + 1] += 1;
            start[b as usize + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut to = vec![0u32; 2 * e.len()];
        let mut time = vec![0.0; 2 * e.len()];
        for &(a, b, w) in &e {
            for (p, q) in [(a, b), (b, a)] {
                let k = fill[p as usize] as usize;
                to[k] = q;
                time[k] = w;
                fill[p as usize] += 1;
            }
        }
        Self { start, to, time }
    }

    /// Shortest-path activation time (ms) of every node from `sources`.
    ///
    /// # Errors
    /// As [`activation`].
    pub fn activation(&self, mesh: &TetMesh, sources: &[Source]) -> Result<Vec<f64>, EpError> {
        check_sources(mesh, sources)?;
        let mut times = vec![f64::INFINITY; self.start.len() - 1];
        let mut heap = BinaryHeap::new();
        for s in sources {
            if s.time < times[s.node] {
                times[s.node] = s.time;
                heap.push(Entry(s.time, s.node as u32));
            }
        }
        while let Some(Entry(t, u)) = heap.pop() {
            if t > times[u as usize] {
                continue;
            }
            let (a, b) = (
                self.start[u as usize] as usize,
                self.start[u as usize + 1] as usize,
            );
            for k in a..b {
                let n = self.to[k] as usize;
                let c = t + self.time[k];
                if c < times[n] {
                    times[n] = c;
                    heap.push(Entry(c, n as u32));
                }
            }
        }
        Ok(times)
    }
}

#[cfg(test)]
mod tests;
