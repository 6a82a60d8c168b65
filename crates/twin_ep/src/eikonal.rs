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

use rayon::prelude::*;

use crate::EpError;
use crate::mesh::{TetMesh, dot, sub, unit};

/// The conduction of every tetrahedron: its fibre direction and a class
/// of velocities along and across it (m/s), or none where it does not
/// conduct (scar, an ablation lesion). Kept compact (16 bytes a
/// tetrahedron): the march reads it in wavefront order.
#[derive(Debug, Clone)]
pub struct Conduction {
    fibre: Vec<[f32; 3]>,
    class: Vec<u16>,
    /// `[along, across]` per class.
    speeds: Vec<[f64; 2]>,
}

const BLOCKED: u16 = u16::MAX;

fn check_velocity(name: &str, v: f64) -> Result<(), EpError> {
    if v.is_finite() && v > 0.0 && v < 20.0 {
        Ok(())
    } else {
        Err(EpError::input(format!(
            "{name} must be a conduction velocity in m/s (0–20), got {v}"
        )))
    }
}

/// A transversely isotropic metric `M = D⁻¹ = iso·I + k·f fᵀ` (ms²/mm²)
/// with `iso = 1/c_t²`, `k = 1/c_f² − 1/c_t²`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Metric {
    iso: f64,
    k: f64,
    f: [f64; 3],
}

impl Metric {
    #[cfg(test)]
    pub(crate) fn new(f: [f64; 3], along: f64, across: f64) -> Self {
        let iso = 1.0 / (across * across);
        Self {
            iso,
            k: 1.0 / (along * along) - iso,
            f: unit_fibre(f),
        }
    }

    /// `aᵀ M b`.
    pub(crate) fn dot(&self, a: [f64; 3], b: [f64; 3]) -> f64 {
        self.iso * dot(a, b) + self.k * dot(self.f, a) * dot(self.f, b)
    }

    /// `nᵀ M⁻¹ n = nᵀ D n`.
    fn inverse_dot(&self, n: [f64; 3]) -> f64 {
        let ct2 = 1.0 / self.iso;
        let cf2 = 1.0 / (self.iso + self.k);
        ct2 * dot(n, n) + (cf2 - ct2) * dot(self.f, n).powi(2)
    }
}

/// A fibre direction of length 1 (along x when it has no direction).
fn unit_fibre(f: [f64; 3]) -> [f64; 3] {
    let u = unit(f);
    if dot(u, u) > 0.5 { u } else { [1.0, 0.0, 0.0] }
}

impl Conduction {
    /// Every tetrahedron conducting at `velocity` (m/s) in every direction.
    ///
    /// # Errors
    /// The velocity is not a positive number of m/s.
    pub fn isotropic(mesh: &TetMesh, velocity: f64) -> Result<Self, EpError> {
        check_velocity("velocity", velocity)?;
        Ok(Self {
            fibre: vec![[1.0, 0.0, 0.0]; mesh.tets.len()],
            class: vec![0; mesh.tets.len()],
            speeds: vec![[velocity, velocity]],
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
            fibre: fibres
                .iter()
                .map(|&f| unit_fibre(f).map(|x| x as f32))
                .collect(),
            class: vec![0; mesh.tets.len()],
            speeds: vec![[along, across]],
        })
    }

    fn class_of(&mut self, speeds: [f64; 2]) -> Result<u16, EpError> {
        // The same velocities (bit for bit) share a class.
        let same = |s: &[f64; 2]| {
            s[0].to_bits() == speeds[0].to_bits() && s[1].to_bits() == speeds[1].to_bits()
        };
        if let Some(i) = self.speeds.iter().position(same) {
            return Ok(i as u16);
        }
        if self.speeds.len() >= usize::from(BLOCKED) {
            return Err(EpError::input("too many distinct conduction velocities"));
        }
        self.speeds.push(speeds);
        Ok((self.speeds.len() - 1) as u16)
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
        self.class[t] = self.class_of([along, across])?;
        self.fibre[t] = unit_fibre(fibre).map(|x| x as f32);
        Ok(())
    }

    /// Tetrahedron `t` conducting at `along` and `across` (m/s) along its
    /// own fibre.
    ///
    /// # Errors
    /// A velocity is not a positive number of m/s.
    pub fn set_speeds(&mut self, t: usize, along: f64, across: f64) -> Result<(), EpError> {
        let f = self.fibre[t].map(f64::from);
        self.set(t, f, along, across)
    }

    /// Tetrahedron `t` no longer conducts.
    pub fn block(&mut self, t: usize) {
        self.class[t] = BLOCKED;
    }

    /// Tetrahedron `t`'s velocities multiplied by `factor` (> 0).
    ///
    /// # Errors
    /// The slowed velocities are not positive numbers of m/s.
    pub fn slow(&mut self, t: usize, factor: f64) -> Result<(), EpError> {
        if let Some([a, c]) = self.speeds(t) {
            self.set_speeds(t, a * factor, c * factor)?;
        }
        Ok(())
    }

    /// Whether tetrahedron `t` conducts.
    #[must_use]
    pub fn conducts(&self, t: usize) -> bool {
        self.class[t] != BLOCKED
    }

    /// Tetrahedron `t`'s velocities along and across its fibre (m/s).
    #[must_use]
    pub fn speeds(&self, t: usize) -> Option<[f64; 2]> {
        self.speeds.get(usize::from(self.class[t])).copied()
    }

    pub(crate) fn metric(&self, t: usize) -> Option<Metric> {
        self.speeds(t).map(|[along, across]| {
            let iso = 1.0 / (across * across);
            Metric {
                iso,
                k: 1.0 / (along * along) - iso,
                // Unit again in double precision, so that `inverse_dot`
                // is the exact inverse.
                f: unit_fibre(self.fibre[t].map(f64::from)),
            }
        })
    }

    /// Travel time (ms) of segment `d` (mm) inside tetrahedron `t`.
    #[must_use]
    pub fn travel(&self, t: usize, d: [f64; 3]) -> Option<f64> {
        self.metric(t).map(|m| m.dot(d, d).sqrt())
    }
}

/// A stimulus: node `node` activated at `time` (ms).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Source {
    pub node: usize,
    pub time: f64,
}

/// The least time over a segment from `x₀` (time 0) along `e` (time
/// difference `a`) to a point `w` from `x₀`, given `q = eᵀMe`,
/// `b = eᵀMw`, `c = wᵀMw`, when the least lies inside the segment.
fn segment(q: f64, b: f64, c: f64, a: f64) -> Option<f64> {
    if q <= 0.0 {
        return None;
    }
    let (l0, d) = (b / q, a / q);
    let aqa = a * d;
    if aqa >= 1.0 {
        return None;
    }
    let s = ((c - b * l0).max(0.0) / (1.0 - aqa)).sqrt();
    let l = l0 - s * d;
    (0.0..=1.0).contains(&l).then_some(a * l + s)
}

/// The least time over a triangle from `x₀` (time 0) with edges `e₁`,
/// `e₂` (time differences `a`) to a point `w` from `x₀`, when the least
/// lies inside the triangle: with `λ` the foot point's coordinates along
/// the edges, the stationary point is `λ = Q⁻¹(b − s·a)` with
/// `Q = EᵀME`, `b = EᵀMw`, and `s² = (wᵀMw − bᵀQ⁻¹b)/(1 − aᵀQ⁻¹a)` the
/// squared travel time from it.
fn face(q: [f64; 3], b: [f64; 2], c: f64, a: [f64; 2]) -> Option<f64> {
    let [q11, q12, q22] = q;
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
    let l0 = inv(b);
    let d = inv(a);
    let aqa = a[0] * d[0] + a[1] * d[1];
    if aqa >= 1.0 {
        return None;
    }
    let s = ((c - b[0] * l0[0] - b[1] * l0[1]).max(0.0) / (1.0 - aqa)).sqrt();
    let l = [l0[0] - s * d[0], l0[1] - s * d[1]];
    (l[0] >= 0.0 && l[1] >= 0.0 && l[0] + l[1] <= 1.0).then_some(a[0] * l[0] + a[1] * l[1] + s)
}

/// The index of edge `i`–`j` among a tetrahedron's six (`i ≠ j`).
fn edge(i: usize, j: usize) -> usize {
    let (a, b) = if i < j { (i, j) } else { (j, i) };
    // (0,1) 0, (0,2) 1, (0,3) 2, (1,2) 3, (1,3) 4, (2,3) 5.
    a + b - 1 + usize::from(a > 0)
}

/// The least time at local vertex `k` of a tetrahedron (its six edges'
/// squared lengths in the metric, `d`, and its vertices' times `tt`)
/// through the parts of it that have vertex `from` (just taken from the
/// queue) and other vertices of known (finite) time; the parts without
/// `from` were solved when their own last vertex was taken. Every inner
/// product needed follows from the edges:
/// `(p_i − p_f)ᵀM(p_j − p_f) = (d_if + d_jf − d_ij)/2`.
fn local(d: &[f64; 6], tt: &[f64; 4], k: usize, from: usize) -> f64 {
    let t0 = tt[from];
    let c = d[edge(k, from)];
    let mut best = c.sqrt();
    let mut q = [0.0; 2];
    let mut b = [0.0; 2];
    let mut a = [0.0; 2];
    let mut idx = [0; 2];
    let mut n = 0;
    for i in 0..4 {
        if i == k || i == from || !tt[i].is_finite() {
            continue;
        }
        q[n] = d[edge(i, from)];
        b[n] = 0.5 * (q[n] + c - d[edge(i, k)]);
        a[n] = tt[i] - t0;
        idx[n] = i;
        if let Some(v) = segment(q[n], b[n], c, a[n]) {
            best = best.min(v);
        }
        n += 1;
    }
    if n == 2 {
        let q12 = 0.5 * (q[0] + q[1] - d[edge(idx[0], idx[1])]);
        if let Some(v) = face([q[0], q12, q[1]], b, c, a) {
            best = best.min(v);
        }
    }
    t0 + best
}

/// What the march reads of a tetrahedron: its six edges' squared lengths
/// in the metric and each vertex's height over its opposite face in
/// travel time (∞ where it does not conduct).
#[derive(Debug, Clone, Copy)]
struct Local {
    d: [f64; 6],
    heights: [f32; 4],
}

/// Each tetrahedron's [`Local`]: the heights are the distances in the
/// metric `M` from each vertex `v` to the plane of its opposite face,
/// `|n·(v − x₀)| / √(nᵀ M⁻¹ n)`.
fn locals(mesh: &TetMesh, cond: &Conduction) -> Vec<Local> {
    (0..mesh.tets.len())
        .into_par_iter()
        .map(|t| {
            let Some(m) = cond.metric(t) else {
                return Local {
                    d: [0.0; 6],
                    heights: [f32::INFINITY; 4],
                };
            };
            let p = mesh.tets[t].map(|v| mesh.nodes[v as usize]);
            let heights = [0, 1, 2, 3].map(|k| {
                let [a, b, c] = [(k + 1) % 4, (k + 2) % 4, (k + 3) % 4].map(|i| p[i]);
                let n = crate::mesh::cross(sub(b, a), sub(c, a));
                let den = m.inverse_dot(n).sqrt();
                let h = if den > 0.0 {
                    dot(n, sub(p[k], a)).abs() / den
                } else {
                    0.0
                };
                // Rounded down, so that it stays a lower bound.
                (h * (1.0 - 1e-6)) as f32
            });
            let len = |i: usize, j: usize| {
                let e = sub(p[j], p[i]);
                m.dot(e, e)
            };
            Local {
                d: [
                    len(0, 1),
                    len(0, 2),
                    len(0, 3),
                    len(1, 2),
                    len(1, 3),
                    len(2, 3),
                ],
                heights,
            }
        })
        .collect()
}

/// A binary min-heap of nodes keyed by time with decrease-key: each node
/// at most once, so a label-correcting march that improves a node many
/// times (fast layers, anisotropy) keeps the heap small.
struct Queue {
    heap: Vec<u32>,
    /// Each node's place in `heap` (`u32::MAX`: not queued).
    place: Vec<u32>,
}

impl Queue {
    fn new(n: usize) -> Self {
        Self {
            heap: Vec::new(),
            place: vec![u32::MAX; n],
        }
    }

    /// Queues `v` or moves it up after its key (`key[v]`) fell.
    fn push_or_decrease(&mut self, v: u32, key: &[f64]) {
        let mut i = if self.place[v as usize] == u32::MAX {
            self.heap.push(v);
            self.heap.len() - 1
        } else {
            self.place[v as usize] as usize
        };
        while i > 0 {
            let parent = (i - 1) / 2;
            let p = self.heap[parent];
            if key[p as usize] <= key[v as usize] {
                break;
            }
            self.heap[i] = p;
            self.place[p as usize] = i as u32;
            i = parent;
        }
        self.heap[i] = v;
        self.place[v as usize] = i as u32;
    }

    fn pop(&mut self, key: &[f64]) -> Option<u32> {
        let top = *self.heap.first()?;
        self.place[top as usize] = u32::MAX;
        let last = self.heap.pop()?;
        if self.heap.is_empty() {
            return Some(top);
        }
        let n = self.heap.len();
        let mut i = 0;
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut c = i;
            let mut best = key[last as usize];
            if l < n && key[self.heap[l] as usize] < best {
                c = l;
                best = key[self.heap[l] as usize];
            }
            if r < n && key[self.heap[r] as usize] < best {
                c = r;
            }
            if c == i {
                break;
            }
            let child = self.heap[c];
            self.heap[i] = child;
            self.place[child as usize] = i as u32;
            i = c;
        }
        self.heap[i] = last;
        self.place[last as usize] = i as u32;
        Some(top)
    }
}

/// Times of `n` nodes, ∞ but at the sources, and the queue holding them.
fn seeded(n: usize, sources: &[Source]) -> (Vec<f64>, Queue) {
    let mut times = vec![f64::INFINITY; n];
    let mut queue = Queue::new(n);
    for s in sources {
        if s.time < times[s.node] {
            times[s.node] = s.time;
            queue.push_or_decrease(s.node as u32, &times);
        }
    }
    (times, queue)
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
    let (mut times, mut queue) = seeded(mesh.nodes.len(), sources);
    let locals = locals(mesh, cond);
    while let Some(u) = queue.pop(&times) {
        for &tet in mesh.tets_of(u as usize) {
            let ti = tet as usize;
            let geo = &locals[ti];
            // ∞ where the tetrahedron does not conduct.
            if geo.heights[0].is_infinite() {
                continue;
            }
            let nodes = mesh.tets[ti];
            let mut tt = nodes.map(|v| times[v as usize]);
            let from = nodes.iter().position(|&v| v == u).unwrap_or(0);
            for k in 0..4 {
                if k == from {
                    continue;
                }
                // Every path through the tetrahedron starts on the face
                // opposite `k` no earlier than its earliest known vertex
                // and takes at least `k`'s height over that face (in
                // travel time) to reach `k`.
                let earliest = (0..4)
                    .filter(|&i| i != k)
                    .map(|i| tt[i])
                    .fold(f64::INFINITY, f64::min);
                if tt[k] <= earliest + f64::from(geo.heights[k]) {
                    continue;
                }
                let c = local(&geo.d, &tt, k, from);
                if c < tt[k] - 1e-9 * (1.0 + tt[k].abs().min(1e300)) {
                    tt[k] = c;
                    times[nodes[k] as usize] = c;
                    queue.push_or_decrease(nodes[k], &times);
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
        let neighbours: Vec<Vec<(u32, f64)>> = (0..mesh.nodes.len())
            .into_par_iter()
            .map(|v| {
                let mut out: Vec<(u32, f64)> = Vec::with_capacity(16);
                for &tet in mesh.tets_of(v) {
                    let Some(m) = cond.metric(tet as usize) else {
                        continue;
                    };
                    for &w in &mesh.tets[tet as usize] {
                        if w as usize == v {
                            continue;
                        }
                        let d = sub(mesh.nodes[w as usize], mesh.nodes[v]);
                        let time = m.dot(d, d).sqrt();
                        match out.iter_mut().find(|(n, _)| *n == w) {
                            Some(slot) => slot.1 = slot.1.min(time),
                            None => out.push((w, time)),
                        }
                    }
                }
                out
            })
            .collect();
        let mut start = Vec::with_capacity(neighbours.len() + 1);
        start.push(0u32);
        for n in &neighbours {
            start.push(start[start.len() - 1] + n.len() as u32);
        }
        let to = neighbours.iter().flatten().map(|&(w, _)| w).collect();
        let time = neighbours.iter().flatten().map(|&(_, t)| t).collect();
        Self { start, to, time }
    }

    /// Each edge once (`a < b`) with its travel time (ms).
    pub fn edges(&self) -> impl Iterator<Item = (u32, u32, f64)> + '_ {
        (0..self.start.len() - 1).flat_map(move |a| {
            (self.start[a] as usize..self.start[a + 1] as usize)
                .filter(move |&k| self.to[k] as usize > a)
                .map(move |k| (a as u32, self.to[k], self.time[k]))
        })
    }

    /// Shortest-path activation time (ms) of every node from `sources`.
    ///
    /// # Errors
    /// As [`activation`].
    pub fn activation(&self, mesh: &TetMesh, sources: &[Source]) -> Result<Vec<f64>, EpError> {
        check_sources(mesh, sources)?;
        let (mut times, mut queue) = seeded(self.start.len() - 1, sources);
        while let Some(u) = queue.pop(&times) {
            let t = times[u as usize];
            let (a, b) = (
                self.start[u as usize] as usize,
                self.start[u as usize + 1] as usize,
            );
            for k in a..b {
                let n = self.to[k] as usize;
                let c = t + self.time[k];
                if c < times[n] {
                    times[n] = c;
                    queue.push_or_decrease(n as u32, &times);
                }
            }
        }
        Ok(times)
    }
}

#[cfg(test)]
mod tests;
