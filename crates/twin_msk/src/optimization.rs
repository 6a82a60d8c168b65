//! Static optimisation: per frame, the muscle activations that make the
//! inverse-dynamics moments at the least sum of squared activations, as
//! OpenSim's StaticOptimization does (activation exponent 2).
//!
//! For each frame: the coordinates are filtered and differentiated, the
//! inverse dynamics (less the model's passive limit forces) give the
//! moments `τ`; every muscle's length, moment arms `r = −∂L/∂q` and
//! lengthening velocity come from its path; with a rigid tendon its
//! capacity is `c = F0 · fL · fV · cos α` (De Groote curves,
//! [`crate::muscle`]), or `F0` without the muscle physiology. Then
//!
//! ```text
//! minimise   Σ a_m² + Σ x_k²
//! subject to Σ_m r_km c_m a_m + R x_k = τ_k   for every coordinate a muscle spans
//!            a_min ≤ a_m ≤ a_max
//! ```
//!
//! with a reserve actuator `x_k` of optimal force `R` (1 N·m by default) on
//! every such coordinate, solved by the interior-point QP solver Clarabel.
//! As in OpenSim, the passive fibre force is not added (the activations
//! carry the whole moment). Coordinates no muscle spans (the pelvis, a
//! lumbar joint without muscles) are left to their reserves, and said so.
//! Reserve use is reported per coordinate, and frames where a reserve
//! carries more than half of a joint's moment are flagged, rather than
//! left silent.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus, ZeroConeT,
};
use rayon::prelude::*;

use crate::dynamics::{SmoothedMotion, generalized_forces};
use crate::loads::ExternalLoads;
use crate::metabolics::{self, Model::Bhargava2004, Model::Umberger2010, MuscleState};
use crate::muscle::{Fiber, MuscleParameters, lengths_and_moment_arms, spanned_coordinates};
use crate::prosthesis::AnkleDevice;
use crate::{Model, MskError, Table};

/// Settings of a static optimisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoOptions {
    /// Low-pass cutoff for the coordinates (Hz); `None`: no filtering.
    pub cutoff_hz: Option<f64>,
    /// Only frames in this time range (s).
    pub time_range: Option<[f64; 2]>,
    /// The reserve actuators' optimal force (N·m per unit control).
    pub reserve_optimal_force: f64,
    /// Capacity from the force–length–velocity curves (`true`, OpenSim's
    /// `use_muscle_physiology`) or the maximum isometric force.
    pub muscle_physiology: bool,
    /// A prosthetic ankle whose moment is subtracted from the moments the
    /// muscles must make ([`crate::prosthesis`]).
    pub device: Option<AnkleDevice>,
}

impl Default for SoOptions {
    fn default() -> Self {
        Self {
            cutoff_hz: Some(6.0),
            time_range: None,
            reserve_optimal_force: 1.0,
            muscle_physiology: true,
            device: None,
        }
    }
}

/// A reserve share above which a frame is flagged.
pub const RESERVE_DOMINANCE: f64 = 0.5;

/// How much of a coordinate's moment its reserve carried.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReserveUsage {
    pub coordinate: String,
    /// Muscles spanning it (0: the reserve carries everything).
    pub muscles: usize,
    /// RMS and peak reserve moment (N·m, or N for translations).
    pub rms: f64,
    pub peak: f64,
    /// ∫|reserve| / ∫|moment| (%).
    pub share_percent: f64,
    /// Frames where the reserve carried more than [`RESERVE_DOMINANCE`] of
    /// a moment above 5 % of its peak.
    pub dominated_frames: usize,
}

/// What a static optimisation found.
#[derive(Debug, Clone)]
pub struct SoResult {
    /// Activations per muscle.
    pub activations: Table,
    /// Muscle forces (N) and reserve moments (`<coordinate>_reserve`).
    pub forces: Table,
    pub reserves: Vec<ReserveUsage>,
    /// Frames (time, coordinate) where a reserve dominated.
    pub flagged: Vec<(f64, String)>,
    /// Whole-body metabolic power per frame (W, basal included), by the
    /// Umberger 2010 and Bhargava 2004 models ([`crate::metabolics`]), and
    /// Umberger's activation and maintenance heat alone (W, muscles only).
    pub metabolic: Table,
    /// Each muscle's mean metabolic power over the frames (W, Umberger 2010).
    pub muscle_metabolic_w: Vec<(String, f64)>,
    /// With a device: its moment (N·m) and power (W) per frame.
    pub device: Option<Table>,
    pub warnings: Vec<String>,
}

/// One frame's problem data.
struct Frame {
    /// Per muscle: capacity (N) and moment arms over its spans.
    capacity: Vec<f64>,
    arms: Vec<Vec<f64>>,
    /// Every coordinate's moment.
    tau: Vec<f64>,
}

/// One frame's answer.
struct Solved {
    activations: Vec<f64>,
    /// Reserve controls of the actuated coordinates.
    reserves: Vec<f64>,
    capacity: Vec<f64>,
    tau: Vec<f64>,
    /// Rigid-tendon fibre and musculotendon length per muscle.
    fibers: Vec<(Fiber, f64)>,
    /// The device's moment (N·m) and power (W).
    device: Option<[f64; 2]>,
}

/// Static optimisation of `coordinates` with `loads` (see the module).
///
/// # Errors
/// The model has no muscles or a muscle's parameters are out of range, the
/// motion cannot be differentiated, or the run was cancelled.
#[expect(
    clippy::too_many_lines,
    reason = "set-up (muscles, moment arms, reserves), the per-frame QP and the results in the order of OpenSim's tool, one block each"
)]
pub fn static_optimization_with(
    model: &Model,
    coordinates: &Table,
    loads: Option<&ExternalLoads>,
    options: SoOptions,
    progress: &twin_core::Progress,
) -> Result<SoResult, MskError> {
    if model.muscles.is_empty() {
        return Err(MskError::format(format!(
            "model `{}` has no muscles to optimise",
            model.name
        )));
    }
    if !(options.reserve_optimal_force.is_finite() && options.reserve_optimal_force > 0.0) {
        return Err(MskError::format(format!(
            "reserve optimal force {} must be > 0",
            options.reserve_optimal_force
        )));
    }
    let params: Vec<MuscleParameters> = model
        .muscles
        .iter()
        .map(MuscleParameters::of)
        .collect::<Result<_, _>>()?;
    let (motion, mut warnings) =
        SmoothedMotion::new(model, coordinates, options.cutoff_hz, options.time_range)?;
    let spans = spanned_coordinates(model);
    let nq = model.coordinates.len();
    let mut crossing = vec![0usize; nq];
    for s in &spans {
        for &k in s {
            crossing[k] += 1;
        }
    }
    // The coordinates in the problem, and where each sits in its rows.
    let actuated: Vec<usize> = (0..nq).filter(|&k| crossing[k] > 0).collect();
    let mut row_of = vec![usize::MAX; nq];
    for (r, &k) in actuated.iter().enumerate() {
        row_of[k] = r;
    }
    let free: Vec<&str> = (0..nq)
        .filter(|&k| crossing[k] == 0 && !model.coordinates[k].locked)
        .map(|k| model.coordinates[k].name.as_str())
        .collect();
    if !free.is_empty() {
        warnings.push(format!(
            "no muscle spans {}: their moments are left to reserves (residuals)",
            free.join(", ")
        ));
    }
    let unspanned: Vec<&str> = spans
        .iter()
        .zip(&model.muscles)
        .filter(|(s, _)| s.is_empty())
        .map(|(_, m)| m.name.as_str())
        .collect();
    if !unspanned.is_empty() {
        warnings.push(format!(
            "{} muscle(s) span no coordinate and stay at their minimum: {}",
            unspanned.len(),
            unspanned.join(", ")
        ));
    }
    progress.begin("Static optimisation", motion.times.len() as u64);
    let frames: Vec<Result<Solved, MskError>> = motion
        .times
        .par_iter()
        .map(|&t| {
            progress.check_cancelled()?;
            let (q, qd, qdd) = motion.state(t);
            let l = loads.map(|l| l.at(t)).unwrap_or_default();
            let mut tau = generalized_forces(model, &q, &qd, &qdd, &l);
            let device = options.device.map(|d| {
                let k = d.coordinate;
                let moment = d.moment(q[k], qd[k]);
                tau[k] -= moment;
                [moment, moment * qd[k]]
            });
            let geometry = lengths_and_moment_arms(model, &q, &spans);
            let mut capacity = Vec::with_capacity(params.len());
            let mut arms = Vec::with_capacity(params.len());
            let mut fibers = Vec::with_capacity(params.len());
            for ((p, (length, r)), s) in params.iter().zip(geometry).zip(&spans) {
                let v_mt: f64 = -s.iter().zip(&r).map(|(&k, r)| r * qd[k]).sum::<f64>();
                let fiber = p.rigid_tendon_fiber(length, v_mt);
                let c = if options.muscle_physiology {
                    p.active_capacity(&fiber)
                } else {
                    p.max_isometric_force
                };
                capacity.push(c.max(1e-6 * p.max_isometric_force));
                arms.push(r);
                fibers.push((fiber, length));
            }
            let frame = Frame {
                capacity,
                arms,
                tau,
            };
            let (a, x) = solve(&frame, &params, &spans, &row_of, actuated.len(), options)
                .map_err(|e| MskError::format(format!("t = {t:.4} s: {e}")))?;
            progress.advance(1);
            Ok(Solved {
                activations: a,
                reserves: x,
                capacity: frame.capacity,
                tau: frame.tau,
                fibers,
                device,
            })
        })
        .collect();
    let labels: Vec<String> = model.muscles.iter().map(|m| m.name.clone()).collect();
    let mut force_labels = labels.clone();
    force_labels.extend(
        model
            .coordinates
            .iter()
            .map(|c| format!("{}_reserve", c.name)),
    );
    let mut activations = Table::new("Static optimization activations", labels, false);
    let mut forces = Table::new("Static optimization forces", force_labels, false);
    let mut metabolic = Table::new(
        "Metabolic power",
        vec![
            "umberger2010_W".into(),
            "bhargava2004_W".into(),
            "umberger2010_activation_maintenance_W".into(),
        ],
        false,
    );
    let mut solved_frames: Vec<Solved> = Vec::with_capacity(frames.len());
    let mut device = options.device.map(|_| {
        Table::new(
            "Prosthesis",
            vec!["moment_Nm".into(), "power_W".into()],
            false,
        )
    });
    let mut reserve_rows: Vec<Vec<f64>> = Vec::with_capacity(frames.len());
    let mut tau_rows: Vec<Vec<f64>> = Vec::with_capacity(frames.len());
    for (frame, &t) in frames.into_iter().zip(&motion.times) {
        let s = frame?;
        let reserve: Vec<f64> = (0..nq)
            .map(|k| {
                if row_of[k] == usize::MAX {
                    s.tau[k]
                } else {
                    options.reserve_optimal_force * s.reserves[row_of[k]]
                }
            })
            .collect();
        activations.push_row(t, &s.activations);
        if let (Some(table), Some(d)) = (device.as_mut(), s.device) {
            table.push_row(t, &d);
        }
        let mut row: Vec<f64> = s
            .activations
            .iter()
            .zip(&s.capacity)
            .map(|(a, c)| a * c)
            .collect();
        row.extend(&reserve);
        forces.push_row(t, &row);
        reserve_rows.push(reserve);
        // Reserve shares are of the whole moment the motion needs, the
        // device's part included.
        let mut needed = s.tau.clone();
        if let (Some(d), Some(dev)) = (options.device, s.device) {
            needed[d.coordinate] += dev[0];
        }
        tau_rows.push(needed);
        solved_frames.push(s);
    }
    let (reserves, flagged) =
        reserve_usage(model, &crossing, &motion.times, &reserve_rows, &tau_rows);
    if let Some(d) = options.device
        && let Some(u) = reserves.get(d.coordinate)
        && u.share_percent > 10.0
    {
        warnings.push(format!(
            "the prosthetic ankle `{}` leaves {:.0} % of the moment the motion needs there (peak {:.1} N·m) to its reserve: the device does not make that moment",
            u.coordinate, u.share_percent, u.peak
        ));
    }
    if !flagged.is_empty() {
        warnings.push(format!(
            "reserves carry more than half of a joint's moment in {} frame(s) (see `flagged`): the muscles cannot make the motion there",
            flagged.len()
        ));
    }
    let muscle_umberger = metabolic_rates(
        model,
        &params,
        &motion.times,
        &solved_frames,
        &mut metabolic,
    );
    let frames = metabolic.rows().max(1) as f64;
    Ok(SoResult {
        activations,
        forces,
        reserves,
        flagged,
        muscle_metabolic_w: model
            .muscles
            .iter()
            .zip(&muscle_umberger)
            .map(|(m, e)| (m.name.clone(), e / frames))
            .collect(),
        metabolic,
        device,
        warnings,
    })
}

/// Metabolic power per frame into `metabolic` (whole body, both models)
/// and each muscle's summed Umberger power. The fibres are those of a
/// compliant tendon carrying the optimised force (a rigid tendon would make
/// the fibres of long-tendon muscles — soleus, gastrocnemius — shorten as
/// fast as the whole unit and triple their work and heat); their
/// velocities are the central differences of those lengths over the frames.
fn metabolic_rates(
    model: &Model,
    params: &[MuscleParameters],
    times: &[f64],
    frames: &[Solved],
    metabolic: &mut Table,
) -> Vec<f64> {
    let n = frames.len();
    let nm = params.len();
    // Compliant fibre lengths per frame and muscle.
    let fibers: Vec<Vec<Fiber>> = frames
        .iter()
        .map(|f| {
            (0..nm)
                .map(|m| {
                    params[m]
                        .fiber_under_tendon_force(f.fibers[m].1, f.activations[m] * f.capacity[m])
                })
                .collect()
        })
        .collect();
    let body_mass = model.mass();
    let mut per_muscle = vec![0.0; nm];
    for i in 0..n {
        let (lo, hi) = (i.saturating_sub(1), (i + 1).min(n - 1));
        let dt = times[hi] - times[lo];
        let states: Vec<MuscleState> = (0..nm)
            .map(|m| {
                let mut fiber = fibers[i][m];
                if dt > 0.0 {
                    fiber.velocity = (fibers[hi][m].length - fibers[lo][m].length) / dt;
                }
                let (a, c) = (frames[i].activations[m], frames[i].capacity[m]);
                MuscleState {
                    // The muscle's activation state cannot fall below its
                    // model's floor; the excitation is the optimised value.
                    activation: a.max(params[m].activation_floor),
                    excitation: a,
                    fiber,
                    force: Some(a * c / fiber.cos_pennation.max(1e-3)),
                }
            })
            .collect();
        // Each muscle's Umberger rate once: for its own mean and the body's.
        let mut umberger = metabolics::BASAL_W_PER_KG * body_mass;
        for (m, (p, st)) in params.iter().zip(&states).enumerate() {
            let w = metabolics::muscle_rate(Umberger2010, p, st, 0.5).0;
            per_muscle[m] += w;
            umberger += w;
        }
        metabolic.push_row(
            times[i],
            &[
                umberger,
                metabolics::body_rate(Bhargava2004, params, &states, body_mass),
                params
                    .iter()
                    .zip(&states)
                    .map(|(p, st)| {
                        metabolics::umberger_am(p, st, &metabolics::Energetics::walking(p))
                    })
                    .sum(),
            ],
        );
    }
    per_muscle
}

/// One frame's QP (see the module documentation): activations and reserve
/// controls.
fn solve(
    frame: &Frame,
    params: &[MuscleParameters],
    spans: &[Vec<usize>],
    row_of: &[usize],
    rows: usize,
    options: SoOptions,
) -> Result<(Vec<f64>, Vec<f64>), String> {
    let nm = params.len();
    let n = nm + rows;
    // ½ xᵀ P x with P = 2 I: Σ x².
    let p = CscMatrix::new(n, n, (0..=n).collect(), (0..n).collect(), vec![2.0; n]);
    let q = vec![0.0; n];
    // Constraint rows: `rows` equalities, then two bounds per muscle.
    let m_rows = rows + 2 * nm;
    let mut colptr = Vec::with_capacity(n + 1);
    let mut rowval = Vec::new();
    let mut nzval = Vec::new();
    colptr.push(0);
    for (m, (span, arms)) in spans.iter().zip(&frame.arms).enumerate() {
        let mut entries: Vec<(usize, f64)> = span
            .iter()
            .zip(arms)
            .map(|(&k, &r)| (row_of[k], r * frame.capacity[m]))
            .filter(|&(_, v)| v != 0.0)
            .collect();
        entries.sort_by_key(|e| e.0);
        entries.push((rows + 2 * m, 1.0));
        entries.push((rows + 2 * m + 1, -1.0));
        for (r, v) in entries {
            rowval.push(r);
            nzval.push(v);
        }
        colptr.push(rowval.len());
    }
    for r in 0..rows {
        rowval.push(r);
        nzval.push(options.reserve_optimal_force);
        colptr.push(rowval.len());
    }
    let a = CscMatrix::new(m_rows, n, colptr, rowval, nzval);
    let mut b = vec![0.0; m_rows];
    for (k, &r) in row_of.iter().enumerate() {
        if r != usize::MAX {
            b[r] = frame.tau[k];
        }
    }
    for (m, p) in params.iter().enumerate() {
        b[rows + 2 * m] = p.max_activation;
        b[rows + 2 * m + 1] = -p.min_activation;
    }
    let cones = [ZeroConeT(rows), NonnegativeConeT(2 * nm)];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .build()
        .map_err(|e| format!("solver settings: {e:?}"))?;
    let mut solver = DefaultSolver::new(&p, &q, &a, &b, &cones, settings)
        .map_err(|e| format!("QP set-up: {e:?}"))?;
    solver.solve();
    match solver.solution.status {
        SolverStatus::Solved | SolverStatus::AlmostSolved => {}
        other => return Err(format!("the QP solver stopped: {other:?}")),
    }
    let x = &solver.solution.x;
    let act: Vec<f64> = (0..nm)
        .map(|m| x[m].clamp(params[m].min_activation, params[m].max_activation))
        .collect();
    Ok((act, x[nm..].to_vec()))
}

/// Reserve use per coordinate and the frames where a reserve dominated.
fn reserve_usage(
    model: &Model,
    crossing: &[usize],
    times: &[f64],
    reserves: &[Vec<f64>],
    taus: &[Vec<f64>],
) -> (Vec<ReserveUsage>, Vec<(f64, String)>) {
    let nq = model.coordinates.len();
    let mut usage = Vec::with_capacity(nq);
    let mut flagged = Vec::new();
    for k in 0..nq {
        let c = &model.coordinates[k];
        let peak_tau = taus.iter().fold(0.0f64, |a, t| a.max(t[k].abs()));
        let (mut sq, mut peak, mut sum_r, mut sum_t, mut dominated) = (0.0, 0.0f64, 0.0, 0.0, 0);
        for (i, (r, t)) in reserves.iter().zip(taus).enumerate() {
            let (r, t) = (r[k], t[k]);
            sq += r * r;
            peak = peak.max(r.abs());
            sum_r += r.abs();
            sum_t += t.abs();
            if crossing[k] > 0 && t.abs() > 0.05 * peak_tau && r.abs() > RESERVE_DOMINANCE * t.abs()
            {
                dominated += 1;
                flagged.push((times[i], c.name.clone()));
            }
        }
        usage.push(ReserveUsage {
            coordinate: c.name.clone(),
            muscles: crossing[k],
            rms: (sq / reserves.len().max(1) as f64).sqrt(),
            peak,
            share_percent: if sum_t > 0.0 {
                100.0 * sum_r / sum_t
            } else {
                0.0
            },
            dominated_frames: dominated,
        });
    }
    flagged.sort_by(|a, b| a.0.total_cmp(&b.0));
    (usage, flagged)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pearson correlation of two equally long series.
    fn correlation(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    }

    /// OpenSim's static optimization of the gait10dof18musc walk with the
    /// passive ankle spring (MANIFEST §1.2): activations, peak timing and
    /// forces of the major muscles.
    #[test]
    fn gait10dof_spring_walk_matches_opensims_static_optimization() {
        let Some(dir) = twin_core::testdata::require("msk/gait10dof18musc/ankle_spring") else {
            return;
        };
        let model = Model::read(&dir.join("subject01_adjusted_spring.osim")).unwrap();
        let motion = Table::read(&dir.join("walk_subject01_Kinematics_q.sto")).unwrap();
        let loads = ExternalLoads::read(&dir.join("externalForces.xml"), &model, None).unwrap();
        let reference = Table::read(
            &dir.join("std_walk_subject01_ankle_spring_StaticOptimization_activation.sto"),
        )
        .unwrap();
        let reference_force =
            Table::read(&dir.join("std_walk_subject01_ankle_spring_StaticOptimization_force.sto"))
                .unwrap();
        let so = static_optimization_with(
            &model,
            &motion,
            Some(&loads),
            SoOptions {
                // OpenSim differentiates through GCV splines; 20 Hz stands
                // in for them (see dynamics::static_optimization_balance).
                cutoff_hz: Some(20.0),
                time_range: Some([0.5, 1.3]),
                ..SoOptions::default()
            },
            &twin_core::Progress::new(),
        )
        .unwrap();
        eprintln!("{:?}", so.warnings);
        let rows: Vec<usize> = reference
            .time
            .iter()
            .map(|&t| so.activations.row_near(t, 1e-6).unwrap())
            .collect();
        // The right stride 0.618–1.853 s (MANIFEST §3.1).
        let cycle = 1.853 - 0.618;
        let major = [
            "hamstrings",
            "glut_max",
            "vasti",
            "gastroc",
            "soleus",
            "tib_ant",
        ];
        for m in &model.muscles {
            let col = so.activations.column(&m.name).unwrap();
            let ours: Vec<f64> = rows.iter().map(|&r| col[r]).collect();
            let theirs = reference.column(&m.name).unwrap();
            let r = correlation(&ours, theirs);
            let argmax = |v: &[f64]| {
                v.iter()
                    .enumerate()
                    .fold(0, |b, (i, x)| if *x > v[b] { i } else { b })
            };
            let (ia, ib) = (argmax(&ours), argmax(theirs));
            let dt = (reference.time[ia] - reference.time[ib]).abs() / cycle;
            // Two peaks within 5 % of each other are the same peak, in
            // either curve (OpenSim's tib_ant_l has 0.1257 and 0.1270, 8 %
            // of the cycle apart; ours 0.1345 and 0.1272 there).
            let same_peak =
                dt <= 0.05 || ours[ib] >= 0.95 * ours[ia] || theirs[ia] >= 0.95 * theirs[ib];
            let fcol = so.forces.column(&m.name).unwrap();
            let f_theirs = reference_force.column(&m.name).unwrap();
            let peak = f_theirs.iter().fold(0.0f64, |a, b| a.max(b.abs()));
            let rms = (rows
                .iter()
                .zip(f_theirs)
                .map(|(&r, b)| (fcol[r] - b).powi(2))
                .sum::<f64>()
                / rows.len() as f64)
                .sqrt();
            eprintln!(
                "{:14} r {r:6.3}  peak Δt {:5.1} % cycle  force RMS {:5.1} % of {peak:6.0} N",
                m.name,
                100.0 * dt,
                100.0 * rms / peak,
            );
            let base = m.name.trim_end_matches("_r").trim_end_matches("_l");
            if major.contains(&base) {
                assert!(r >= 0.9, "{}: r {r}", m.name);
                assert!(
                    same_peak,
                    "{}: peak {:.1} % of the cycle apart",
                    m.name,
                    100.0 * dt
                );
                assert!(rms <= 0.15 * peak, "{}: force RMS {rms} of {peak}", m.name);
            }
        }
        // Reserves stay below 0.1 % of the joints' moments; the pelvis and
        // the lumbar joint (no muscles) are left to theirs.
        for u in &so.reserves {
            if u.muscles > 0 {
                assert!(u.share_percent < 0.1 && u.dominated_frames == 0, "{u:?}");
            } else {
                assert!((u.share_percent - 100.0).abs() < 1e-6, "{u:?}");
            }
        }
        assert!(so.flagged.is_empty());
    }

    /// Muscles too weak for the ankle: the reserves carry it and say so;
    /// a muscle with no optimal length is refused by name.
    #[test]
    fn weak_muscles_are_flagged_and_bad_ones_refused() {
        let Some(dir) = twin_core::testdata::require("msk/gait10dof18musc") else {
            return;
        };
        let mut model = Model::read(&dir.join("gait10dof18musc_subject01.osim")).unwrap();
        let motion = Table::read(&dir.join("subject01_walk_IK.mot")).unwrap();
        let loads = ExternalLoads::read(
            &dir.join("gait10dof18musc_subject01_walk_grf.xml"),
            &model,
            None,
        )
        .unwrap();
        for m in &mut model.muscles {
            if ["soleus_r", "gastroc_r", "tib_ant_r"].contains(&m.name.as_str()) {
                m.parameters.insert("max_isometric_force".into(), 1.0);
            }
        }
        let options = SoOptions {
            time_range: Some([0.6, 1.9]),
            ..SoOptions::default()
        };
        let progress = twin_core::Progress::new();
        let so =
            static_optimization_with(&model, &motion, Some(&loads), options, &progress).unwrap();
        let ankle = so
            .reserves
            .iter()
            .find(|u| u.coordinate == "ankle_angle_r")
            .unwrap();
        assert!(
            ankle.share_percent > 50.0 && ankle.dominated_frames > 10,
            "{ankle:?}"
        );
        assert!(so.flagged.iter().any(|(_, c)| c == "ankle_angle_r"));
        assert!(
            so.warnings
                .iter()
                .any(|w| w.contains("reserves carry more than half")),
            "{:?}",
            so.warnings
        );
        // The left ankle keeps its muscles.
        let left = so
            .reserves
            .iter()
            .find(|u| u.coordinate == "ankle_angle_l")
            .unwrap();
        assert!(left.share_percent < 1.0, "{left:?}");
        model.muscles[0]
            .parameters
            .insert("optimal_fiber_length".into(), 0.0);
        let e = static_optimization_with(&model, &motion, Some(&loads), options, &progress)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&model.muscles[0].name) && e.contains("optimal_fiber_length"),
            "{e}"
        );
        let e = static_optimization_with(
            &model,
            &motion,
            Some(&loads),
            SoOptions {
                reserve_optimal_force: 0.0,
                ..options
            },
            &progress,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("reserve optimal force"), "{e}");
    }

    /// Whole-body metabolic power over one right stride of subject01
    /// (heel strikes 0.618 and 1.853 s, MANIFEST) on both models, with
    /// OpenSim's default muscle masses (F0 / 0.25 MPa · 1059.7 kg/m³ · l_opt).
    #[test]
    fn walking_metabolic_power_on_both_models() {
        let (Some(s1), Some(g10)) = (
            twin_core::testdata::require("msk/gait2354_subject01"),
            twin_core::testdata::require("msk/gait10dof18musc"),
        ) else {
            return;
        };
        let run = |model: &std::path::Path, motion: &std::path::Path, loads: &std::path::Path| {
            let model = Model::read(model).unwrap();
            let motion = Table::read(motion).unwrap();
            let loads = ExternalLoads::read(loads, &model, None).unwrap();
            let so = static_optimization_with(
                &model,
                &motion,
                Some(&loads),
                SoOptions {
                    time_range: Some([0.618, 1.853]),
                    ..SoOptions::default()
                },
                &twin_core::Progress::new(),
            )
            .unwrap();
            let mass = model.mass();
            let mean = |c: usize| {
                so.metabolic.columns[c].iter().sum::<f64>() / so.metabolic.rows() as f64 / mass
            };
            let muscle_mass: f64 = model
                .muscles
                .iter()
                .map(|m| crate::metabolics::muscle_mass(&MuscleParameters::of(m).unwrap()))
                .sum();
            let mut by = so.muscle_metabolic_w.clone();
            by.sort_by(|a, b| b.1.total_cmp(&a.1));
            eprintln!(
                "{}: Umberger 2010 {:.2} W/kg, Bhargava 2004 {:.2} W/kg, muscle mass {muscle_mass:.1} kg; top {:?}",
                model.name,
                mean(0),
                mean(1),
                &by[..4]
            );
            (mean(0), mean(1), by)
        };
        let (u10, b10, by10) = run(
            &g10.join("gait10dof18musc_subject01.osim"),
            &g10.join("subject01_walk_IK.mot"),
            &g10.join("gait10dof18musc_subject01_walk_grf.xml"),
        );
        let (u23, b23, by23) = run(
            &s1.join("subject01.osim"),
            &s1.join("subject01_walk1_ik.mot"),
            &s1.join("subject01_walk1_grf.xml"),
        );
        // Measured 2026-12-01 (Umberger with Bhargava's recruitment, as
        // OpenSim's probe): gait10dof18musc 5.15 / 4.37 W/kg, gait2354
        // 7.77 / 6.08 W/kg. The 18-muscle model lies in walking's ≈ 2–5
        // W/kg by both models; gait2354's 54 muscles (34.5 kg of 72.6)
        // cost more — see docs/models/msk.md.
        assert!((2.0..=5.5).contains(&u10), "{u10}");
        assert!((2.0..=5.0).contains(&b10), "{b10}");
        for w in [u10, b10, u23, b23] {
            assert!(w > crate::metabolics::BASAL_W_PER_KG && w < 20.0, "{w}");
        }
        assert!(u10 > b10 && u23 > b23);
        // The biggest spenders are leg muscles (gait2354's trunk extensors
        // follow, holding the trunk).
        let leg = |m: &str| {
            ["gas", "ham", "bifem", "soleus", "vas", "ilio", "tib"]
                .iter()
                .any(|l| m.contains(l))
        };
        for by in [&by10, &by23] {
            assert!(leg(&by[0].0), "{by:?}");
            assert!(
                by[..5].iter().filter(|(m, _)| leg(m)).count() >= 3,
                "{by:?}"
            );
        }
    }
}
