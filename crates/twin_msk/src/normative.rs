//! Reference ("normative") gait curves: the mean and standard deviation of
//! healthy walkers' joint angles and moments over the gait cycle.
//!
//! Gait labs keep their own normal database (the same markers, model and
//! processing as their patients), so the reference is a file the lab
//! supplies: a plain CSV (below) that any spreadsheet or script can write,
//! or one built from the lab's trials by [`ReferenceBuilder`]
//! (`twin gait norm`). A patient's curve is compared with it by the Gait
//! Variable Score (Baker et al. 2009, *Gait Posture* 30:265): the RMS
//! difference from the reference mean over the cycle, and the Gait Profile
//! Score, the RMS of the scores.
//!
//! ```text
//! # twinscope gait reference 1
//! # source: Lab X normal database, 24 adults, 2025
//! # trials: 24
//! variable,unit,percent,mean,sd,strides
//! knee_angle,deg,0,-4.1,3.2,96
//! knee_angle,deg,2,-7.9,3.6,96
//! …
//! knee_angle_moment,N·m/kg,0,0.05,0.08,96
//! ```
//!
//! `variable` is an OpenSim coordinate without its side (`knee_angle` for
//! `knee_angle_r`/`_l`) for the angle, with `_moment` appended for the
//! inverse-dynamics moment, both with OpenSim's signs (`knee_angle` is
//! negative in flexion). Units: `deg` or `rad` for angles, `N·m/kg`
//! (or `Nm/kg`) for moments. `percent` runs from 0 to 100 in increasing
//! steps of any size (2 % tables are common); curves are resampled to every
//! percent.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::MskError;
use crate::gait::{Band, CycleSeries, normalise_cycle};

/// The first line of a reference file.
pub const HEADER: &str = "# twinscope gait reference 1";
const COLUMNS: &str = "variable,unit,percent,mean,sd,strides";

/// Reference curves by variable (`knee_angle` in degrees,
/// `knee_angle_moment` in N·m/kg), each at 0, 1, …, 100 % of the cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Where the curves come from (people, lab, processing), shown with
    /// every band.
    pub source: String,
    /// How many trials the curves were made from.
    pub trials: usize,
    pub curves: BTreeMap<String, Band>,
}

impl Reference {
    /// The angle band (degrees) of a coordinate named without its side.
    #[must_use]
    pub fn angle(&self, name: &str) -> Option<&Band> {
        self.curves.get(name)
    }

    /// The moment band (N·m/kg) of a coordinate named without its side.
    #[must_use]
    pub fn moment(&self, name: &str) -> Option<&Band> {
        self.curves.get(&format!("{name}_moment"))
    }

    /// Reads a reference file.
    ///
    /// # Errors
    /// The file cannot be read, or a line breaks the format (the error names
    /// the file, the line and the field).
    pub fn read(path: &Path) -> Result<Self, MskError> {
        let text =
            twin_core::limits::read_text(path, twin_core::limits::MAX_JSON_FILE, "reference file")
                .map_err(|e| MskError::io(path, &e))?;
        Self::parse(&text).map_err(|e| e.in_file(path))
    }

    /// Parses the text of a reference file.
    ///
    /// # Errors
    /// A line breaks the format; the error names the line and the field.
    pub fn parse(text: &str) -> Result<Self, MskError> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
        match lines.next() {
            Some((_, first)) if first.eq_ignore_ascii_case(HEADER) => {}
            _ => {
                return Err(MskError::format(format!(
                    "line 1: not a gait reference (expected `{HEADER}`)"
                )));
            }
        }
        let mut source = String::new();
        let mut trials = None;
        let mut header = false;
        // variable → (unit, rows of (percent, mean, sd), strides)
        let mut raw: BTreeMap<String, (f64, Vec<[f64; 3]>, usize)> = BTreeMap::new();
        for (n, line) in lines {
            let err = |m: String| MskError::format(format!("line {n}: {m}"));
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                let comment = comment.trim();
                if let Some(s) = comment.strip_prefix("source:") {
                    s.trim().clone_into(&mut source);
                } else if let Some(t) = comment.strip_prefix("trials:") {
                    trials =
                        Some(t.trim().parse::<usize>().map_err(|_| {
                            err(format!("`trials` is `{}`, not a count", t.trim()))
                        })?);
                }
                continue;
            }
            if !header {
                let cols: Vec<String> = line.split(',').map(|c| c.trim().to_owned()).collect();
                if cols.join(",") != COLUMNS {
                    return Err(err(format!("the columns must be `{COLUMNS}`")));
                }
                header = true;
                continue;
            }
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            if f.len() != 6 {
                return Err(err(format!("{} fields, expected 6 ({COLUMNS})", f.len())));
            }
            let variable = f[0];
            if variable.is_empty() {
                return Err(err("empty `variable`".into()));
            }
            let moment = variable.ends_with("_moment");
            let scale = match (moment, f[1]) {
                (false, "deg") | (true, "N·m/kg" | "Nm/kg" | "N.m/kg") => 1.0,
                (false, "rad") => 1f64.to_degrees(),
                (false, u) => {
                    return Err(err(format!(
                        "`{variable}`: unit `{u}`; an angle is in `deg` or `rad`"
                    )));
                }
                (true, u) => {
                    return Err(err(format!(
                        "`{variable}`: unit `{u}`; a moment is in `N·m/kg` (normalised by body mass)"
                    )));
                }
            };
            let number = |i: usize, name: &str| -> Result<f64, MskError> {
                f[i].parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| err(format!("`{name}` is `{}`, not a finite number", f[i])))
            };
            let percent = number(2, "percent")?;
            let mean = number(3, "mean")? * scale;
            let sd = number(4, "sd")? * scale;
            if !(0.0..=100.0).contains(&percent) {
                return Err(err(format!("`percent` {percent} is outside 0–100")));
            }
            if sd < 0.0 {
                return Err(err(format!("`sd` {sd} is negative")));
            }
            let strides = f[5]
                .parse::<usize>()
                .ok()
                .filter(|&s| s > 0)
                .ok_or_else(|| err(format!("`strides` is `{}`, not a count ≥ 1", f[5])))?;
            let entry = raw
                .entry(variable.to_owned())
                .or_insert((scale, Vec::new(), strides));
            if let Some(last) = entry.1.last()
                && percent <= last[0]
            {
                return Err(err(format!(
                    "`{variable}`: percent {percent} after {}; rows must increase",
                    last[0]
                )));
            }
            entry.1.push([percent, mean, sd]);
            entry.2 = entry.2.max(strides);
        }
        if !header {
            return Err(MskError::format(format!("no `{COLUMNS}` line")));
        }
        let mut curves = BTreeMap::new();
        for (variable, (_, rows, strides)) in raw {
            let (first, last) = (rows[0][0], rows[rows.len() - 1][0]);
            if rows.len() < 2 || first > 0.0 || last < 100.0 {
                return Err(MskError::format(format!(
                    "`{variable}` covers {first}–{last} %; a reference curve runs from 0 to 100 %"
                )));
            }
            let pct: Vec<f64> = rows.iter().map(|r| r[0]).collect();
            let column = |k: usize| -> Vec<f64> {
                let v: Vec<f64> = rows.iter().map(|r| r[k]).collect();
                normalise_cycle(&pct, &v, [0.0, 100.0], 101).unwrap_or(v)
            };
            curves.insert(
                variable,
                Band {
                    mean: column(1),
                    sd: column(2),
                    strides,
                },
            );
        }
        if curves.is_empty() {
            return Err(MskError::format("no curves"));
        }
        Ok(Self {
            source,
            trials: trials.unwrap_or(0),
            curves,
        })
    }

    /// The file's text (every percent, 6 significant digits).
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{HEADER}\n# source: {}\n# trials: {}\n{COLUMNS}\n",
            self.source.replace('\n', " "),
            self.trials
        );
        for (variable, band) in &self.curves {
            let unit = if variable.ends_with("_moment") {
                "N·m/kg"
            } else {
                "deg"
            };
            let n = band.mean.len();
            for k in 0..n {
                let pct = 100.0 * k as f64 / (n - 1).max(1) as f64;
                let _ = writeln!(
                    s,
                    "{variable},{unit},{pct},{:.6e},{:.6e},{}",
                    band.mean[k], band.sd[k], band.strides
                );
            }
        }
        s
    }

    /// Writes the reference file.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write(&self, path: &Path) -> Result<(), MskError> {
        std::fs::write(path, self.to_text()).map_err(|e| MskError::io(path, &e))
    }
}

/// Pools the strides of several trials into a reference: every variable's
/// mean and SD over all strides of all trials, both sides together (a
/// normal database treats left and right alike).
#[derive(Debug, Default)]
pub struct ReferenceBuilder {
    curves: BTreeMap<String, Vec<Vec<f64>>>,
    trials: usize,
}

impl ReferenceBuilder {
    /// Adds one trial's curves (from [`crate::gait::cycle_series`]);
    /// moments are divided by the subject's `mass_kg`.
    pub fn add(&mut self, series: &[CycleSeries], mass_kg: f64) {
        for s in series {
            for side in 0..2 {
                self.curves
                    .entry(s.name.clone())
                    .or_default()
                    .extend(s.angle[side].iter().cloned());
                self.curves
                    .entry(format!("{}_moment", s.name))
                    .or_default()
                    .extend(
                        s.moment[side]
                            .iter()
                            .map(|c| c.iter().map(|v| v / mass_kg).collect()),
                    );
            }
        }
        self.trials += 1;
    }

    /// The reference; variables without a stride are left out.
    #[must_use]
    pub fn finish(self, source: &str) -> Reference {
        Reference {
            source: source.to_owned(),
            trials: self.trials,
            curves: self
                .curves
                .into_iter()
                .filter_map(|(k, c)| Band::of(&c).map(|b| (k, b)))
                .collect(),
        }
    }
}

/// The Gait Variable Score: the RMS difference between `curve` and the
/// reference mean over the cycle (both sampled at the same percentages);
/// `None` when the lengths differ or are zero.
#[must_use]
pub fn gait_variable_score(curve: &[f64], reference: &Band) -> Option<f64> {
    let n = curve.len();
    (n > 0 && n == reference.mean.len()).then(|| {
        (curve
            .iter()
            .zip(&reference.mean)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / n as f64)
            .sqrt()
    })
}

/// The Gait Profile Score: the RMS of the Gait Variable Scores; `None` for
/// none.
#[must_use]
pub fn gait_profile_score(scores: &[f64]) -> Option<f64> {
    (!scores.is_empty())
        .then(|| (scores.iter().map(|s| s * s).sum::<f64>() / scores.len() as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Reference {
        let mut b = ReferenceBuilder::default();
        let curve = |a: f64| -> Vec<f64> { (0..101).map(|k| a * f64::from(k)).collect() };
        b.add(
            &[CycleSeries {
                name: "knee_angle".into(),
                angle: [vec![curve(1.0), curve(3.0)], vec![curve(2.0)]],
                moment: [vec![curve(70.0)], Vec::new()],
            }],
            70.0,
        );
        b.finish("test, one trial")
    }

    #[test]
    fn a_built_reference_pools_both_sides_and_normalises_moments() {
        let r = sample();
        assert_eq!(r.trials, 1);
        let a = r.angle("knee_angle").unwrap();
        assert_eq!(a.strides, 3);
        assert!((a.mean[50] - 100.0).abs() < 1e-9 && (a.sd[50] - 50.0).abs() < 1e-9);
        let m = r.moment("knee_angle").unwrap();
        assert!((m.mean[100] - 100.0).abs() < 1e-9 && m.sd[100] == 0.0);
        assert!(r.angle("hip_flexion").is_none());
    }

    #[test]
    fn the_file_round_trips_and_coarse_tables_are_resampled() {
        let r = sample();
        let back = Reference::parse(&r.to_text()).unwrap();
        assert_eq!(back.source, r.source);
        assert_eq!(back.trials, 1);
        for (k, b) in &r.curves {
            let c = &back.curves[k];
            assert_eq!(c.strides, b.strides);
            for i in 0..101 {
                assert!((c.mean[i] - b.mean[i]).abs() <= 1e-5 * b.mean[i].abs().max(1.0));
                assert!((c.sd[i] - b.sd[i]).abs() <= 1e-5 * b.sd[i].abs().max(1.0));
            }
        }
        // A 50 % table in radians: resampled to every percent, in degrees.
        let text = format!(
            "{HEADER}\n# source: s\n{COLUMNS}\nhip_flexion,rad,0,0,0.1,5\nhip_flexion,rad,50,1,0.1,5\nhip_flexion,rad,100,0,0.1,5\n"
        );
        let r = Reference::parse(&text).unwrap();
        let h = r.angle("hip_flexion").unwrap();
        assert_eq!(h.mean.len(), 101);
        assert!(
            (h.mean[25] - 0.5f64.to_degrees()).abs() < 1e-9,
            "{}",
            h.mean[25]
        );
        assert!((h.sd[80] - 0.1f64.to_degrees()).abs() < 1e-9);
    }

    #[test]
    fn bad_files_name_the_line_and_the_field() {
        let head = format!("{HEADER}\n{COLUMNS}\n");
        let cases = [
            ("knee_angle,deg,0,1,1,5\n", "not a gait reference"),
            ("", "no `variable,unit"),
            ("knee_angle,deg,0,1,1\n", "line 3: 5 fields"),
            ("knee_angle,mm,0,1,1,5\n", "line 3: `knee_angle`: unit `mm`"),
            ("knee_angle_moment,N·m,0,1,1,5\n", "normalised by body mass"),
            ("knee_angle,deg,0,x,1,5\n", "line 3: `mean` is `x`"),
            ("knee_angle,deg,0,NaN,1,5\n", "not a finite number"),
            ("knee_angle,deg,0,1,-1,5\n", "`sd` -1 is negative"),
            ("knee_angle,deg,120,1,1,5\n", "outside 0–100"),
            ("knee_angle,deg,0,1,1,0\n", "`strides` is `0`"),
            (
                "knee_angle,deg,0,1,1,5\nknee_angle,deg,0,1,1,5\n",
                "line 4: `knee_angle`: percent 0 after 0",
            ),
            (
                "knee_angle,deg,0,1,1,5\nknee_angle,deg,60,1,1,5\n",
                "covers 0–60 %",
            ),
            ("\n", "no curves"),
        ];
        for (body, want) in cases {
            let text = if want == "not a gait reference" {
                body.to_owned()
            } else if want.starts_with("no `variable") {
                format!("{HEADER}\n# source: x\n")
            } else {
                format!("{head}{body}")
            };
            let e = Reference::parse(&text).unwrap_err().to_string();
            assert!(e.contains(want), "{body:?}: {e}");
        }
        let e = Reference::parse(&format!("{HEADER}\n# trials: many\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2: `trials` is `many`"), "{e}");
        let e = Reference::read(Path::new("/nonexistent/ref.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/ref.csv"), "{e}");
    }

    #[test]
    fn scores_are_rms_differences() {
        let reference = Band {
            mean: vec![0.0; 101],
            sd: vec![1.0; 101],
            strides: 1,
        };
        let curve: Vec<f64> = (0..101)
            .map(|k| if k % 2 == 0 { 3.0 } else { -3.0 })
            .collect();
        assert!((gait_variable_score(&curve, &reference).unwrap() - 3.0).abs() < 1e-12);
        assert!(gait_variable_score(&curve[..50], &reference).is_none());
        assert!((gait_profile_score(&[3.0, 4.0]).unwrap() - 12.5f64.sqrt()).abs() < 1e-12);
        assert!(gait_profile_score(&[]).is_none());
    }

    /// A reference from subject01 walk1 (OpenSim's IK, our inverse
    /// dynamics), and the gait10dof18musc walk of the same subject scored
    /// against it.
    #[test]
    fn a_reference_from_subject01_scores_the_gait10dof_walk() {
        use crate::dynamics::{IdOptions, inverse_dynamics};
        use crate::gait::{cycle_series, strides_by_side};
        use crate::loads::ExternalLoads;
        use crate::{Model, Table};
        let (Some(s1), Some(g10)) = (
            twin_core::testdata::require("msk/gait2354_subject01"),
            twin_core::testdata::require("msk/gait10dof18musc"),
        ) else {
            return;
        };
        let trial = |model: &Path, motion: &Path, loads: &Path| {
            let m = Model::read(model).unwrap();
            let q = Table::read(motion).unwrap();
            let l = ExternalLoads::read(loads, &m, None).unwrap();
            let (id, _) = inverse_dynamics(&m, &q, Some(&l), IdOptions::default()).unwrap();
            let span = [q.time[0], q.time[q.rows() - 1]];
            let (strides, _) = strides_by_side(&m, &l, span);
            (cycle_series(&m, &q, Some(&id), &strides), m.mass(), strides)
        };
        let (series, mass, strides) = trial(
            &s1.join("subject01.osim"),
            &s1.join("subject01_walk1_ik.mot"),
            &s1.join("subject01_walk1_grf.xml"),
        );
        // IK 0.5–4.0 s: two right and two left strides.
        assert_eq!((strides[0].len(), strides[1].len()), (2, 2), "{strides:?}");
        let mut b = ReferenceBuilder::default();
        b.add(&series, mass);
        let r = b.finish("OpenSim subject01 walk1");
        let knee = r.angle("knee_angle").unwrap();
        assert_eq!(knee.strides, 4);
        // Swing-phase knee flexion peaks near 60–70 % of the cycle.
        let (at, peak) =
            knee.mean.iter().enumerate().fold(
                (0, 0.0f64),
                |(i, p), (k, &v)| if v < p { (k, v) } else { (i, p) },
            );
        assert!(
            (55..=80).contains(&at) && (-75.0..-50.0).contains(&peak),
            "{at} {peak}"
        );
        // Stance ankle plantar-flexor moment ≈ −1.2 to −1.6 N·m/kg.
        let ankle = r.moment("ankle_angle").unwrap();
        let min = ankle.mean.iter().fold(0.0f64, |a, &v| a.min(v));
        assert!((-1.8..-1.0).contains(&min), "{min}");
        // The same subject on the planar model: within a few degrees.
        let (g, _, _) = trial(
            &g10.join("gait10dof18musc_subject01.osim"),
            &g10.join("subject01_walk_IK.mot"),
            &g10.join("gait10dof18musc_subject01_walk_grf.xml"),
        );
        let mut scores = Vec::new();
        for name in ["hip_flexion", "knee_angle", "ankle_angle"] {
            let s = g.iter().find(|s| s.name == name).unwrap();
            let mean = Band::of(&s.angle[0]).unwrap().mean;
            let gvs = gait_variable_score(&mean, r.angle(name).unwrap()).unwrap();
            assert!(gvs < 6.0, "{name}: GVS {gvs}");
            scores.push(gvs);
        }
        let gps = gait_profile_score(&scores).unwrap();
        eprintln!(
            "knee peak {peak:.1}° at {at} %, ankle moment min {min:.3} N·m/kg, GVS {scores:.2?}, GPS {gps:.2}"
        );
        assert!(gps > 0.0 && gps < 5.0, "{gps}");
    }
}
