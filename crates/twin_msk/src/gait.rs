//! Gait events and the gait cycle: heel strikes and toe-offs from the
//! vertical ground reaction force, and curves resampled to 0–100 % of a
//! stride.
//!
//! An event is a crossing of the vertical force (along −gravity) through a
//! threshold (20 N by default), placed by linear interpolation between the
//! samples: rising is a heel strike (foot contact), falling a toe-off.

use nalgebra::Vector3;

use crate::Table;
use crate::loads::ExternalLoads;
use crate::model::{Model, Motion};

/// Default contact threshold (N).
pub const CONTACT_THRESHOLD_N: f64 = 20.0;

/// The events of one foot (one external force).
#[derive(Debug, Clone, PartialEq)]
pub struct FootEvents {
    /// The external force's name (e.g. `RightForce`).
    pub name: String,
    pub heel_strikes: Vec<f64>,
    pub toe_offs: Vec<f64>,
}

impl FootEvents {
    /// Complete strides: consecutive heel strikes.
    #[must_use]
    pub fn strides(&self) -> Vec<[f64; 2]> {
        self.heel_strikes.windows(2).map(|w| [w[0], w[1]]).collect()
    }

    /// Stance time (s) and its share of the stride (%) for each complete
    /// stride with a toe-off inside it.
    #[must_use]
    pub fn stance(&self) -> Vec<(f64, f64)> {
        self.phases(false)
    }

    /// Swing time (s, toe-off to the next heel strike) and its share of the
    /// stride (%), for the same strides as [`Self::stance`].
    #[must_use]
    pub fn swing(&self) -> Vec<(f64, f64)> {
        self.phases(true)
    }

    fn phases(&self, swing: bool) -> Vec<(f64, f64)> {
        self.strides()
            .iter()
            .filter_map(|&[a, b]| {
                let to = self.toe_offs.iter().find(|&&t| t > a && t < b)?;
                let d = if swing { b - to } else { to - a };
                Some((d, 100.0 * d / (b - a)))
            })
            .collect()
    }
}

/// Heel strikes and toe-offs of every external force in `loads`.
#[must_use]
pub fn events(loads: &ExternalLoads, gravity: Vector3<f64>, threshold: f64) -> Vec<FootEvents> {
    let up = if gravity.norm() > 0.0 {
        -gravity.normalize()
    } else {
        Vector3::y()
    };
    let time = &loads.data.time;
    loads
        .forces
        .iter()
        .map(|f| {
            let vertical: Vec<f64> = (0..time.len())
                .map(|i| {
                    let c = |k: usize| loads.data.columns[f.force[k]][i];
                    Vector3::new(c(0), c(1), c(2)).dot(&up)
                })
                .collect();
            let mut e = FootEvents {
                name: f.name.clone(),
                heel_strikes: Vec::new(),
                toe_offs: Vec::new(),
            };
            for i in 1..time.len() {
                let (a, b) = (vertical[i - 1] - threshold, vertical[i] - threshold);
                if (a < 0.0) == (b < 0.0) {
                    continue;
                }
                let t = time[i - 1] + (time[i] - time[i - 1]) * a / (a - b);
                if b >= 0.0 {
                    e.heel_strikes.push(t);
                } else {
                    e.toe_offs.push(t);
                }
            }
            e
        })
        .collect()
}

/// `values` over `time` resampled at `points` equally spaced instants from
/// `start` to `end` (linear interpolation); `None` when the samples do not
/// cover the interval.
#[must_use]
pub fn normalise_cycle(
    time: &[f64],
    values: &[f64],
    [start, end]: [f64; 2],
    points: usize,
) -> Option<Vec<f64>> {
    let n = time.len();
    if n < 2 || points < 2 || time[0] > start + 1e-9 || time[n - 1] < end - 1e-9 || end <= start {
        return None;
    }
    Some(
        (0..points)
            .map(|k| {
                let t = start + (end - start) * k as f64 / (points - 1) as f64;
                let i = time.partition_point(|&x| x <= t).clamp(1, n - 1) - 1;
                let span = time[i + 1] - time[i];
                let w = if span > 0.0 {
                    ((t - time[i]) / span).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                values[i] + w * (values[i + 1] - values[i])
            })
            .collect(),
    )
}

/// Every column of `table` over one stride, resampled to 0, 1, …, 100 % of
/// the cycle (the time column holds the percentage). `None` when the table
/// does not cover the stride.
#[must_use]
pub fn cycle_table(table: &Table, stride: [f64; 2]) -> Option<Table> {
    let mut out = Table::new(
        &format!("{} (% gait cycle)", table.name),
        table.labels.clone(),
        table.in_degrees,
    );
    let columns: Vec<Vec<f64>> = table
        .columns
        .iter()
        .map(|c| normalise_cycle(&table.time, c, stride, 101))
        .collect::<Option<_>>()?;
    for k in 0..101 {
        let row: Vec<f64> = columns.iter().map(|c| c[k]).collect();
        out.push_row(k as f64, &row);
    }
    Some(out)
}

/// A curve over 0–100 % of the gait cycle (one value per percent): the
/// mean and standard deviation (n − 1; zero for one stride) over strides.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub mean: Vec<f64>,
    pub sd: Vec<f64>,
    pub strides: usize,
}

impl Band {
    /// Mean and SD of equally long `curves`; `None` when there are none.
    #[must_use]
    pub fn of(curves: &[Vec<f64>]) -> Option<Self> {
        let n = curves.len();
        let points = curves.first()?.len();
        let mean: Vec<f64> = (0..points)
            .map(|k| curves.iter().map(|c| c[k]).sum::<f64>() / n as f64)
            .collect();
        let sd = (0..points)
            .map(|k| {
                if n < 2 {
                    0.0
                } else {
                    (curves.iter().map(|c| (c[k] - mean[k]).powi(2)).sum::<f64>() / (n - 1) as f64)
                        .sqrt()
                }
            })
            .collect();
        Some(Self {
            mean,
            sd,
            strides: n,
        })
    }

    /// The same band with every value multiplied by `k`.
    #[must_use]
    pub fn scaled(mut self, k: f64) -> Self {
        self.mean.iter_mut().for_each(|v| *v *= k);
        self.sd.iter_mut().for_each(|v| *v *= k.abs());
        self
    }
}

/// `values` over each of `strides` resampled to 0, 1, …, 100 % of the
/// cycle; the strides the samples do not cover are skipped.
#[must_use]
pub fn stride_curves(time: &[f64], values: &[f64], strides: &[[f64; 2]]) -> Vec<Vec<f64>> {
    strides
        .iter()
        .filter_map(|&s| normalise_cycle(time, values, s, 101))
        .collect()
}

/// The band of `values` over `strides` (see [`stride_curves`]); `None`
/// when no stride is covered.
#[must_use]
pub fn stride_band(time: &[f64], values: &[f64], strides: &[[f64; 2]]) -> Option<Band> {
    Band::of(&stride_curves(time, values, strides))
}

/// The complete strides of each side (`[right, left]`) that lie inside
/// `span` (s), by the heel strikes of the external forces in `loads`, and
/// one line per force saying how many it found.
#[must_use]
pub fn strides_by_side(
    model: &Model,
    loads: &ExternalLoads,
    [t0, t1]: [f64; 2],
) -> ([Vec<[f64; 2]>; 2], Vec<String>) {
    let mut strides: [Vec<[f64; 2]>; 2] = [Vec::new(), Vec::new()];
    let mut notes = Vec::new();
    for (e, f) in events(loads, model.gravity, CONTACT_THRESHOLD_N)
        .iter()
        .zip(&loads.forces)
    {
        let inside: Vec<[f64; 2]> = e
            .strides()
            .into_iter()
            .filter(|s| s[0] >= t0 && s[1] <= t1)
            .collect();
        notes.push(format!(
            "{}: {} heel strike(s), {} complete stride(s) in the motion",
            e.name,
            e.heel_strikes
                .iter()
                .filter(|t| (t0..=t1).contains(*t))
                .count(),
            inside.len()
        ));
        match side_of(&model.bodies[f.body].name, &f.name) {
            Some('r') => strides[0].extend(inside),
            Some('l') => strides[1].extend(inside),
            _ => notes.push(format!(
                "{}: on {}, which is neither a right nor a left body; its strides are not used",
                f.name, model.bodies[f.body].name
            )),
        }
    }
    (strides, notes)
}

/// One rotational coordinate (named without its side) over the gait
/// cycle: per side (`[right, left]`), one curve per stride.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleSeries {
    /// e.g. `knee_angle` for `knee_angle_r` and `knee_angle_l`.
    pub name: String,
    /// Angles (degrees).
    pub angle: [Vec<Vec<f64>>; 2],
    /// Inverse-dynamics moments (N·m).
    pub moment: [Vec<Vec<f64>>; 2],
}

/// The rotational coordinates of `model` over every stride of each side:
/// a sided coordinate (`…_r`, `…_l`) over its own side's strides, one
/// without a side (pelvis, lumbar) over the right strides. `coords` holds
/// the coordinates over time (degrees or radians, as it says), `id` the
/// moments (`<coordinate>_moment` columns).
#[must_use]
pub fn cycle_series(
    model: &Model,
    coords: &Table,
    id: Option<&Table>,
    strides: &[Vec<[f64; 2]>; 2],
) -> Vec<CycleSeries> {
    let curves = |name: &str, side: usize| -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let Some(k) = model.coordinate(name) else {
            return (Vec::new(), Vec::new());
        };
        if model.coordinates[k].motion != Motion::Rotational {
            return (Vec::new(), Vec::new());
        }
        let angle = coords.column(name).map_or_else(Vec::new, |col| {
            let deg: Vec<f64> = if coords.in_degrees {
                col.to_vec()
            } else {
                col.iter().map(|x| x.to_degrees()).collect()
            };
            stride_curves(&coords.time, &deg, &strides[side])
        });
        let moment = id
            .and_then(|t| {
                t.column(&format!("{name}_moment"))
                    .map(|col| stride_curves(&t.time, col, &strides[side]))
            })
            .unwrap_or_default();
        (angle, moment)
    };
    let mut out = Vec::new();
    for c in &model.coordinates {
        if c.motion != Motion::Rotational || c.name.ends_with("_l") {
            continue;
        }
        let (base, left) = match c.name.strip_suffix("_r") {
            Some(base) => (base.to_owned(), Some(format!("{base}_l"))),
            None => (c.name.clone(), None),
        };
        let (angle_r, moment_r) = curves(&c.name, 0);
        let (angle_l, moment_l) = left.map_or_else(Default::default, |l| curves(&l, 1));
        if !(angle_r.is_empty() && angle_l.is_empty() && moment_r.is_empty()) {
            out.push(CycleSeries {
                name: base,
                angle: [angle_r, angle_l],
                moment: [moment_r, moment_l],
            });
        }
    }
    out
}

/// One right–left comparison: the symmetry index
/// `200 · (right − left) / (right + left)` (%; 0 when symmetric).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Asymmetry {
    pub quantity: String,
    pub unit: &'static str,
    pub right: f64,
    pub left: f64,
    pub index_percent: f64,
}

impl Asymmetry {
    #[must_use]
    pub fn new(quantity: String, unit: &'static str, right: f64, left: f64) -> Self {
        let sum = right + left;
        Self {
            quantity,
            unit,
            right,
            left,
            index_percent: if sum.abs() > 0.0 {
                200.0 * (right - left) / sum
            } else {
                0.0
            },
        }
    }
}

/// Right–left asymmetry of a trial over its complete strides: stance time
/// (s), peak vertical ground reaction force (body weights), and the positive
/// work per stride (J/kg) of the hip, knee and ankle (moments from `id`,
/// speeds from `coords` by central differences).
#[must_use]
pub fn asymmetry(
    model: &Model,
    loads: &ExternalLoads,
    coords: &Table,
    id: &Table,
) -> Vec<Asymmetry> {
    let span = [id.time[0], id.time[id.rows() - 1]];
    let (strides, _) = strides_by_side(model, loads, span);
    let mut out = Vec::new();
    let mut stance = [Vec::new(), Vec::new()];
    let mut peak = [0.0f64; 2];
    let weight = model.mass() * model.gravity.norm();
    let up = if model.gravity.norm() > 0.0 {
        -model.gravity.normalize()
    } else {
        Vector3::y()
    };
    for (e, f) in events(loads, model.gravity, CONTACT_THRESHOLD_N)
        .iter()
        .zip(&loads.forces)
    {
        let side = match side_of(&model.bodies[f.body].name, &f.name) {
            Some('r') => 0,
            Some('l') => 1,
            _ => continue,
        };
        for (i, &t) in loads.data.time.iter().enumerate() {
            if (span[0]..=span[1]).contains(&t) {
                let c = |k: usize| loads.data.columns[f.force[k]][i];
                peak[side] = peak[side].max(Vector3::new(c(0), c(1), c(2)).dot(&up) / weight);
            }
        }
        stance[side].extend(
            e.strides()
                .iter()
                .zip(e.stance())
                .filter(|(s, _)| s[0] >= span[0] && s[1] <= span[1])
                .map(|(_, (d, _))| d),
        );
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    if !stance[0].is_empty() && !stance[1].is_empty() {
        out.push(Asymmetry::new(
            "stance time".into(),
            "s",
            mean(&stance[0]),
            mean(&stance[1]),
        ));
    }
    out.push(Asymmetry::new(
        "peak vertical GRF".into(),
        "BW",
        peak[0],
        peak[1],
    ));
    let mass = model.mass();
    for joint in ["hip_flexion", "knee_angle", "ankle_angle"] {
        let mut work = [0.0; 2];
        let mut ok = true;
        for (side, suffix) in ["r", "l"].iter().enumerate() {
            let name = format!("{joint}_{suffix}");
            let (Some(q), Some(tau), Some(k)) = (
                coords.column(&name),
                id.column(&format!("{name}_moment")),
                model.coordinate(&name),
            ) else {
                ok = false;
                continue;
            };
            let deg = coords.in_degrees && model.coordinates[k].motion == Motion::Rotational;
            let angle = |i: usize| if deg { q[i].to_radians() } else { q[i] };
            let n = coords.rows();
            let mut total = 0.0;
            for s in &strides[side] {
                for i in 1..n.saturating_sub(1) {
                    let t = coords.time[i];
                    if t < s[0] || t >= s[1] {
                        continue;
                    }
                    let dt = coords.time[i + 1] - coords.time[i - 1];
                    let Some(row) = id.row_near(t, 1e-6) else {
                        continue;
                    };
                    let power = tau[row] * (angle(i + 1) - angle(i - 1)) / dt;
                    total += power.max(0.0) * 0.5 * dt;
                }
            }
            work[side] = total / strides[side].len().max(1) as f64 / mass;
        }
        if ok && strides.iter().all(|s| !s.is_empty()) {
            out.push(Asymmetry::new(
                format!("{joint} positive work per stride"),
                "J/kg",
                work[0],
                work[1],
            ));
        }
    }
    out
}

/// Which side an external force acts on, by its body's name (`calcn_r`,
/// `foot_l`) or its own (`right`, `LeftForce`).
#[must_use]
pub fn side_of(body: &str, name: &str) -> Option<char> {
    let lower = |s: &str| s.to_ascii_lowercase();
    let (b, n) = (lower(body), lower(name));
    if b.ends_with("_r") || n.starts_with("right") {
        Some('r')
    } else if b.ends_with("_l") || n.starts_with("left") {
        Some('l')
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Model;

    #[test]
    fn events_of_the_gait10dof_walk_match_the_manifest() {
        let Some(dir) = twin_core::testdata::require("msk/gait10dof18musc") else {
            return;
        };
        let model = Model::read(&dir.join("gait10dof18musc_subject01.osim")).unwrap();
        let loads = ExternalLoads::read(
            &dir.join("gait10dof18musc_subject01_walk_grf.xml"),
            &model,
            None,
        )
        .unwrap();
        let ev = events(&loads, model.gravity, CONTACT_THRESHOLD_N);
        // MANIFEST §3.1 (crossings of 20 N; the file's time is rounded to
        // 1e-4 s, samples 1/600 s apart).
        let close = |a: &[f64], b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 2e-3)
        };
        let right = ev.iter().find(|e| e.name == "right").unwrap();
        assert!(close(&right.heel_strikes, &[0.6183, 1.8533]), "{right:?}");
        assert!(close(&right.toe_offs, &[0.1650, 1.4100]), "{right:?}");
        let left = ev.iter().find(|e| e.name == "left").unwrap();
        assert!(close(&left.heel_strikes, &[1.2467, 2.4600]), "{left:?}");
        assert!(close(&left.toe_offs, &[0.7883, 2.0183]), "{left:?}");
        // Vertical GRF peaks over each foot's first full stance, in body
        // weights (72.6 kg): 1.080 right and 1.139 left (MANIFEST §3.1),
        // inside walking's 1.0–1.3.
        let weight = model.mass() * model.gravity.norm();
        for (f, e, expect) in [(0, right, 1.080), (1, left, 1.139)] {
            let on = e.heel_strikes[0];
            let off = *e.toe_offs.iter().find(|&&t| t > on).unwrap();
            let force = &loads.data.columns[loads.forces[f].force[1]];
            let peak = loads
                .data
                .time
                .iter()
                .zip(force)
                .filter(|(t, _)| (on..=off).contains(*t))
                .fold(0.0f64, |a, (_, &v)| a.max(v))
                / weight;
            assert!(
                (peak - expect).abs() < 2e-3 && (1.0..=1.3).contains(&peak),
                "{}: {peak}",
                e.name
            );
        }
        // Right stance 0.792 s, 64.1 % of the 1.235-s stride.
        let (stance, share) = right.stance()[0];
        assert!(
            (stance - 0.792).abs() < 3e-3 && (share - 64.1).abs() < 0.3,
            "{stance} {share}"
        );
        let (swing, swing_share) = right.swing()[0];
        assert!(
            (stance + swing - 1.235).abs() < 3e-3 && (share + swing_share - 100.0).abs() < 1e-9,
            "{swing} {swing_share}"
        );
    }

    #[test]
    fn a_table_is_resampled_over_a_stride() {
        let mut t = Table::new("ID", vec!["a".into(), "b".into()], false);
        for i in 0..=100 {
            let x = f64::from(i) * 0.01;
            t.push_row(x, &[x, 2.0 * x]);
        }
        let c = cycle_table(&t, [0.2, 0.7]).unwrap();
        assert_eq!(c.rows(), 101);
        assert!((c.time[50] - 50.0).abs() < 1e-12 && (c.columns[1][100] - 1.4).abs() < 1e-12);
        assert!(cycle_table(&t, [0.5, 1.5]).is_none());
    }

    #[test]
    fn stride_bands_average_the_strides() {
        let t: Vec<f64> = (0..=300).map(|i| f64::from(i) * 0.01).collect();
        // 1.0 before 1.5 s, 1.2 after: two covered strides, one each side.
        let v: Vec<f64> = t.iter().map(|x| if *x > 1.5 { 1.2 } else { 1.0 }).collect();
        let b = stride_band(&t, &v, &[[0.2, 1.2], [1.8, 2.8], [2.5, 3.5]]).unwrap();
        assert_eq!(b.strides, 2);
        assert!((b.mean[50] - 1.1).abs() < 1e-9 && (b.sd[50] - 0.2 / 2f64.sqrt()).abs() < 1e-9);
        let s = b.scaled(-2.0);
        assert!((s.mean[50] + 2.2).abs() < 1e-9 && (s.sd[50] - 0.4 / 2f64.sqrt()).abs() < 1e-9);
        assert!(Band::of(&[]).is_none());
        assert_eq!(side_of("calcn_r", "RightForce"), Some('r'));
        assert_eq!(side_of("calcn_l", "x"), Some('l'));
        assert_eq!(side_of("torso", "left"), Some('l'));
        assert_eq!(side_of("torso", "push"), None);
    }

    #[test]
    fn a_cycle_is_resampled_over_its_stride() {
        let t: Vec<f64> = (0..=100).map(|i| f64::from(i) * 0.01).collect();
        let v: Vec<f64> = t.iter().map(|x| 2.0 * x).collect();
        let c = normalise_cycle(&t, &v, [0.2, 0.7], 11).unwrap();
        assert!(
            (c[0] - 0.4).abs() < 1e-12 && (c[10] - 1.4).abs() < 1e-12 && (c[5] - 0.9).abs() < 1e-12
        );
        assert!(normalise_cycle(&t, &v, [0.5, 1.5], 11).is_none());
    }
}
