//! A twin that follows the patient: vitals over time (heart rate, systolic
//! and diastolic pressure, from CSV or FHIR R4 Observations) drive an
//! unscented Kalman filter (Julier & Uhlmann 2004; Wan & van der Merwe
//! 2000) over three slowly varying parameters — systemic resistance,
//! contractility (both as log-scales) and blood volume change (mL) — of the
//! reflex-controlled circulation.
//!
//! The filter's measurement model is the closed-loop (reflexes on) steady
//! state of the patient's twin after the parameter change: HR, SBP, DBP.
//! Simulating it for every sigma point of every sample would take seconds
//! per sample, so it is tabulated once per patient on a grid
//! (`GRID`³ timelines, run in parallel) and interpolated (trilinear): an
//! emulator of the model, exact at its nodes, checked between them by the
//! tests. Parameters are held within the grid.
//!
//! Process model: a random walk (each parameter's drift per minute in
//! [`FollowOptions`]); measurement noise per vital. The output is the
//! estimate and its standard deviation per parameter over time and the
//! twin's vitals (with their predictive standard deviation) beside the
//! measured ones.

use nalgebra::{Matrix3, SMatrix, Vector3};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use twin_core::Progress;

use crate::CardioError;
use crate::interventions::Intervention;
use crate::params::Parameters;
use crate::timeline::{Event, Timeline};

/// One vitals sample (any of the three may be missing).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Vital {
    pub t_min: f64,
    pub heart_rate_bpm: Option<f64>,
    pub sbp_mmhg: Option<f64>,
    pub dbp_mmhg: Option<f64>,
}

/// LOINC codes of the vitals read from FHIR.
pub const LOINC_HR: &str = "8867-4";
pub const LOINC_SBP: &str = "8480-6";
pub const LOINC_DBP: &str = "8462-4";

fn bad(what: impl Into<String>) -> CardioError {
    CardioError::Targets(what.into())
}

fn check_vital(line: &str, name: &str, v: f64, lo: f64, hi: f64) -> Result<(), CardioError> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(bad(format!(
            "{line}: {name} = {v} is outside {lo}–{hi} (wrong units?)"
        )))
    }
}

fn check_sample(line: &str, s: &Vital) -> Result<(), CardioError> {
    if let Some(v) = s.heart_rate_bpm {
        check_vital(line, "heart rate", v, 20.0, 250.0)?;
    }
    if let Some(v) = s.sbp_mmhg {
        check_vital(line, "systolic pressure", v, 40.0, 280.0)?;
    }
    if let Some(v) = s.dbp_mmhg {
        check_vital(line, "diastolic pressure", v, 15.0, 180.0)?;
    }
    if let (Some(s), Some(d)) = (s.sbp_mmhg, s.dbp_mmhg)
        && d >= s
    {
        return Err(bad(format!(
            "{line}: diastolic pressure {d} is not below systolic {s}"
        )));
    }
    Ok(())
}

/// Reads vitals from CSV: a header naming the columns — time as `t_min`
/// (minutes) or `time` (ISO 8601, minutes from the first row), and any of
/// `heart_rate_bpm`/`hr`, `sbp_mmhg`/`sbp`, `dbp_mmhg`/`dbp` — then one row
/// per sample (empty cells: not measured).
///
/// # Errors
/// A missing time column, a cell that is not a number, a value outside the
/// physiological range, or times that go backwards; named with the line.
pub fn read_csv(text: &str) -> Result<Vec<Vital>, CardioError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines
        .next()
        .ok_or_else(|| bad("the vitals file is empty"))?;
    let cols: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let find = |names: &[&str]| cols.iter().position(|c| names.contains(&c.as_str()));
    let t_min = find(&["t_min", "minutes"]);
    let t_iso = find(&["time", "timestamp", "datetime"]);
    if t_min.is_none() && t_iso.is_none() {
        return Err(bad(
            "the vitals CSV needs a time column: `t_min` (minutes) or `time` (ISO 8601)",
        ));
    }
    let hr = find(&["heart_rate_bpm", "hr", "heart_rate"]);
    let sbp = find(&["sbp_mmhg", "sbp", "systolic"]);
    let dbp = find(&["dbp_mmhg", "dbp", "diastolic"]);
    if hr.is_none() && sbp.is_none() && dbp.is_none() {
        return Err(bad(
            "the vitals CSV has none of the columns heart_rate_bpm, sbp_mmhg, dbp_mmhg",
        ));
    }
    let mut out = Vec::new();
    let mut t0 = None;
    for (i, line) in lines {
        let where_ = format!("line {}", i + 1);
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let num = |c: Option<usize>, name: &str| -> Result<Option<f64>, CardioError> {
            match c.and_then(|c| cells.get(c)) {
                None | Some(&"") => Ok(None),
                Some(s) => s
                    .parse::<f64>()
                    .map(Some)
                    .map_err(|_| bad(format!("{where_}: {name} `{s}` is not a number"))),
            }
        };
        let t = if let Some(c) = t_min {
            num(Some(c), "t_min")?.ok_or_else(|| bad(format!("{where_}: no time")))?
        } else {
            let s = cells
                .get(t_iso.expect("one of the two"))
                .copied()
                .unwrap_or("");
            let secs = parse_iso8601(s)
                .ok_or_else(|| bad(format!("{where_}: time `{s}` is not ISO 8601")))?;
            let first = *t0.get_or_insert(secs);
            (secs - first) / 60.0
        };
        let v = Vital {
            t_min: t,
            heart_rate_bpm: num(hr, "heart rate")?,
            sbp_mmhg: num(sbp, "systolic pressure")?,
            dbp_mmhg: num(dbp, "diastolic pressure")?,
        };
        check_sample(&where_, &v)?;
        if let Some(prev) = out.last().map(|p: &Vital| p.t_min)
            && t < prev
        {
            return Err(bad(format!("{where_}: time {t} goes back (before {prev})")));
        }
        out.push(v);
    }
    if out.is_empty() {
        return Err(bad("the vitals CSV has no rows"));
    }
    Ok(out)
}

/// Seconds since 1970 of an ISO 8601 / RFC 3339 date-time
/// (`YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm]`; no zone: UTC).
#[must_use]
pub fn parse_iso8601(s: &str) -> Option<f64> {
    let s = s.trim();
    let (date, rest) = s.split_once(['T', ' '])?;
    let mut d = date.split('-');
    let y: i64 = d.next()?.parse().ok()?;
    let m: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    // Zone.
    let (time, offset_s) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0.0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (t, z) = rest.split_at(i);
        let sign = if z.starts_with('-') { -1.0 } else { 1.0 };
        let (hh, mm) = z[1..].split_once(':').unwrap_or((&z[1..], "0"));
        (
            t,
            sign * (hh.parse::<f64>().ok()? * 3600.0 + mm.parse::<f64>().ok()? * 60.0),
        )
    } else {
        (rest, 0.0)
    };
    let mut p = time.split(':');
    let hh: f64 = p.next()?.parse().ok()?;
    let mm: f64 = p.next()?.parse().ok()?;
    let ss: f64 = p.next().map_or(Some(0.0), |v| v.parse().ok())?;
    if !(0.0..24.0).contains(&hh) || !(0.0..60.0).contains(&mm) || !(0.0..61.0).contains(&ss) {
        return None;
    }
    let days = twin_core::civil::days_from_civil(y, m, day);
    Some(days as f64 * 86400.0 + hh * 3600.0 + mm * 60.0 + ss - offset_s)
}

/// Reads vitals from a FHIR R4 Bundle (JSON) of Observations: heart rate
/// (LOINC 8867-4), systolic (8480-6) and diastolic (8462-4) pressure, as
/// Observations of their own or as components of a blood-pressure panel;
/// `effectiveDateTime` (or `effectivePeriod.start`) gives the time;
/// `valueQuantity` in `/min` and `mm[Hg]`. Samples at the same time are
/// merged.
///
/// # Errors
/// Not a Bundle, an Observation without a time or value, a unit other than
/// the expected one, or no vitals at all; named with the entry.
pub fn read_fhir(text: &str) -> Result<Vec<Vital>, CardioError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
    if v["resourceType"] != "Bundle" {
        return Err(bad(format!(
            "expected a FHIR Bundle, found resourceType {}",
            v["resourceType"]
        )));
    }
    let entries = v["entry"].as_array().cloned().unwrap_or_default();
    let mut raw: Vec<(f64, &'static str, f64)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let r = &e["resource"];
        if r["resourceType"] != "Observation" {
            continue;
        }
        let where_ = format!("entry {} (Observation {})", i + 1, r["id"]);
        let time = r["effectiveDateTime"]
            .as_str()
            .or_else(|| r["effectivePeriod"]["start"].as_str())
            .ok_or_else(|| bad(format!("{where_}: no effectiveDateTime")))?;
        let secs = parse_iso8601(time)
            .ok_or_else(|| bad(format!("{where_}: time `{time}` is not ISO 8601")))?;
        let mut parts: Vec<(&serde_json::Value, &serde_json::Value)> =
            vec![(&r["code"], &r["valueQuantity"])];
        if let Some(c) = r["component"].as_array() {
            parts.extend(c.iter().map(|c| (&c["code"], &c["valueQuantity"])));
        }
        for (code, q) in parts {
            let codes = code["coding"].as_array().cloned().unwrap_or_default();
            let loinc = codes.iter().find_map(|c| {
                let sys = c["system"].as_str().unwrap_or("");
                let code = c["code"].as_str().unwrap_or("");
                (sys.contains("loinc.org") || sys.is_empty()).then_some(code)
            });
            let (name, unit) = match loinc {
                Some(LOINC_HR) => ("hr", ["/min", "{beats}/min", "beats/min"].as_slice()),
                Some(LOINC_SBP) => ("sbp", ["mm[Hg]", "mmHg"].as_slice()),
                Some(LOINC_DBP) => ("dbp", ["mm[Hg]", "mmHg"].as_slice()),
                _ => continue,
            };
            let value = q["value"]
                .as_f64()
                .ok_or_else(|| bad(format!("{where_}: {name} has no valueQuantity.value")))?;
            let u = q["code"]
                .as_str()
                .or_else(|| q["unit"].as_str())
                .unwrap_or("");
            if !unit.contains(&u) {
                return Err(bad(format!(
                    "{where_}: {name} in `{u}`, expected {}",
                    unit.join(" or ")
                )));
            }
            raw.push((secs, name, value));
        }
    }
    if raw.is_empty() {
        return Err(bad(
            "the Bundle holds no heart-rate or blood-pressure Observations (LOINC 8867-4, 8480-6, 8462-4)",
        ));
    }
    raw.sort_by(|a, b| a.0.total_cmp(&b.0));
    let t0 = raw[0].0;
    let mut out: Vec<Vital> = Vec::new();
    for (secs, name, value) in raw {
        let t_min = (secs - t0) / 60.0;
        if out.last().is_none_or(|l| (l.t_min - t_min).abs() > 1e-9) {
            out.push(Vital {
                t_min,
                heart_rate_bpm: None,
                sbp_mmhg: None,
                dbp_mmhg: None,
            });
        }
        let last = out.last_mut().expect("pushed");
        match name {
            "hr" => last.heart_rate_bpm = Some(value),
            "sbp" => last.sbp_mmhg = Some(value),
            _ => last.dbp_mmhg = Some(value),
        }
    }
    for v in &out {
        check_sample(&format!("sample at {:.1} min", v.t_min), v)?;
    }
    Ok(out)
}

/// Reads vitals by the file's extension: `.csv` ([`read_csv`]) or `.json`
/// (a FHIR Bundle, [`read_fhir`]).
///
/// # Errors
/// The file cannot be read, has another extension, or its content is
/// refused (the reason, without the path: the caller names the file).
pub fn read_vitals(path: &std::path::Path) -> Result<Vec<Vital>, CardioError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext != "csv" && ext != "json" {
        return Err(bad(format!(
            "unknown extension `{ext}` (expected .csv, or .json for a FHIR Bundle)"
        )));
    }
    let text = twin_core::limits::read_text(path, twin_core::limits::MAX_JSON_FILE, "vitals file")
        .map_err(|e| bad(format!("cannot read it: {e}")))?;
    if ext == "csv" {
        read_csv(&text)
    } else {
        read_fhir(&text)
    }
}

/// Follows `vitals` on the patient `p` with the default settings: the
/// patient's closed-loop response tabulated, then the filter.
///
/// # Errors
/// As [`Emulator::build`] and [`follow`].
pub fn follow_patient(
    p: &Parameters,
    vitals: &[Vital],
    progress: &Progress,
) -> Result<Follow, CardioError> {
    let emulator = Emulator::build(p, progress)?;
    follow(&emulator, vitals, FollowOptions::default())
}

/// The filter's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FollowOptions {
    /// Random-walk standard deviation per √min of ln(resistance scale),
    /// ln(contractility scale) and the blood volume change (mL).
    pub drift_per_sqrt_min: [f64; 3],
    /// Measurement noise (standard deviation): HR (1/min), SBP, DBP (mmHg).
    pub noise: [f64; 3],
    /// Prior standard deviation at the start.
    pub prior_sd: [f64; 3],
}

impl Default for FollowOptions {
    fn default() -> Self {
        Self {
            drift_per_sqrt_min: [0.05, 0.03, 150.0],
            noise: [3.0, 5.0, 4.0],
            prior_sd: [0.05, 0.05, 100.0],
        }
    }
}

/// The grid's nodes per parameter and its ranges.
pub const GRID: usize = 7;
const LN_R: (f64, f64) = (-0.7, 0.7);
const LN_C: (f64, f64) = (-0.9, 0.5);
const DV: (f64, f64) = (-2000.0, 1500.0);

/// The tabulated closed-loop response of one patient: HR, SBP, DBP at each
/// grid node.
#[derive(Debug, Clone, Serialize)]
pub struct Emulator {
    pub values: Vec<[f64; 3]>,
    /// The resting HR, SBP, DBP (no change).
    pub rest: [f64; 3],
}

fn axis(range: (f64, f64), i: usize) -> f64 {
    range.0 + (range.1 - range.0) * i as f64 / (GRID - 1) as f64
}

/// The closed-loop steady state (mean of the last 20 s of 100 s) after the
/// change `x = [ln R scale, ln contractility scale, ΔV mL]`.
///
/// # Errors
/// The timeline fails (e.g. the circulation empties).
pub fn closed_loop(p: &Parameters, x: [f64; 3]) -> Result<[f64; 3], CardioError> {
    let mut events = vec![
        (
            0.0,
            Event::Intervention {
                intervention: Intervention::Vasoactive {
                    svr_scale: x[0].exp(),
                },
            },
        ),
        (
            0.0,
            Event::Intervention {
                intervention: Intervention::Inotrope {
                    contractility_scale: x[1].exp(),
                },
            },
        ),
    ];
    if x[2] != 0.0 {
        let volume_ml = x[2].abs();
        events.push((
            0.0,
            if x[2] < 0.0 {
                Event::Haemorrhage {
                    volume_ml,
                    over_min: 0.0,
                }
            } else {
                Event::Fluid {
                    volume_ml,
                    over_min: 0.0,
                }
            },
        ));
    }
    let t = Timeline {
        parameters: Some(p.clone()),
        ..Timeline::new("emulator node", 100.0 / 60.0, events)
    };
    let run = t.run(&Progress::new())?;
    let from = 80.0 / 60.0;
    let m = |f: fn(&crate::timeline::TrendPoint) -> f64| run.mean(from, 2.0, f).unwrap_or(f64::NAN);
    Ok([
        m(|p| p.heart_rate_bpm),
        m(|p| p.sbp_mmhg),
        m(|p| p.dbp_mmhg),
    ])
}

impl Emulator {
    /// Tabulates the patient's closed-loop response (GRID³ runs, in
    /// parallel).
    ///
    /// # Errors
    /// A node's run fails for another reason than an emptied circulation
    /// (those nodes take the nearest node's values), or cancellation.
    pub fn build(p: &Parameters, progress: &Progress) -> Result<Self, CardioError> {
        let n = GRID * GRID * GRID;
        progress.begin("Tabulating the patient's reflex response", n as u64);
        let nodes: Vec<[f64; 3]> = (0..n)
            .map(|k| {
                let (i, j, l) = (k / (GRID * GRID), (k / GRID) % GRID, k % GRID);
                [axis(LN_R, i), axis(LN_C, j), axis(DV, l)]
            })
            .collect();
        let results: Vec<Result<[f64; 3], CardioError>> = nodes
            .par_iter()
            .map(|x| {
                progress.check_cancelled()?;
                let r = closed_loop(p, *x);
                progress.advance(1);
                r
            })
            .collect();
        let mut values = Vec::with_capacity(n);
        for (k, r) in results.into_iter().enumerate() {
            match r {
                Ok(v) => values.push(v),
                Err(CardioError::Cancelled(c)) => return Err(CardioError::Cancelled(c)),
                // Filled below from the node with more volume.
                Err(CardioError::Emptied { .. }) => values.push([f64::NAN; 3]),
                Err(e) => {
                    return Err(bad(format!(
                        "tabulating the reflex response at node {k}: {e}"
                    )));
                }
            }
        }
        // Nodes whose circulation emptied take the next node up in volume
        // (volume is the fastest index; from the top down, so a run of
        // emptied nodes fills from the first that held).
        for k in (0..n).rev() {
            if values[k][0].is_nan() && k % GRID + 1 < GRID {
                values[k] = values[k + 1];
            }
        }
        let rest = closed_loop(p, [0.0; 3])?;
        Ok(Self { values, rest })
    }

    /// Trilinear interpolation at `x` (clamped to the grid).
    #[must_use]
    pub fn eval(&self, x: [f64; 3]) -> [f64; 3] {
        let ranges = [LN_R, LN_C, DV];
        let mut idx = [0usize; 3];
        let mut w = [0.0; 3];
        for d in 0..3 {
            let (lo, hi) = ranges[d];
            let u = ((x[d].clamp(lo, hi) - lo) / (hi - lo)) * (GRID - 1) as f64;
            let i = (u.floor() as usize).min(GRID - 2);
            idx[d] = i;
            w[d] = u - i as f64;
        }
        let mut out = [0.0; 3];
        for corner in 0..8 {
            let (a, b, c) = (corner >> 2 & 1, corner >> 1 & 1, corner & 1);
            let weight = (if a == 1 { w[0] } else { 1.0 - w[0] })
                * (if b == 1 { w[1] } else { 1.0 - w[1] })
                * (if c == 1 { w[2] } else { 1.0 - w[2] });
            let k = ((idx[0] + a) * GRID + idx[1] + b) * GRID + idx[2] + c;
            for (o, v) in out.iter_mut().zip(&self.values[k]) {
                *o += weight * v;
            }
        }
        out
    }
}

/// The filter's answer at one sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FollowPoint {
    pub t_min: f64,
    pub measured: [Option<f64>; 3],
    /// The twin's HR, SBP, DBP with the estimate, and their predictive
    /// standard deviations.
    pub twin: [f64; 3],
    pub twin_sd: [f64; 3],
    /// Resistance and contractility scales (×), blood volume change (mL).
    pub resistance_scale: f64,
    pub contractility_scale: f64,
    pub volume_change_ml: f64,
    /// Their standard deviations (the scales' on the log scale, ×).
    pub resistance_sd_log: f64,
    pub contractility_sd_log: f64,
    pub volume_sd_ml: f64,
}

/// The whole follow run.
#[derive(Debug, Clone, Serialize)]
pub struct Follow {
    pub points: Vec<FollowPoint>,
    pub options: FollowOptions,
    /// The twin's resting HR, SBP, DBP.
    pub rest: [f64; 3],
}

/// Sigma points and weights of the unscented transform (α = 1, β = 2,
/// κ = 0: all weights positive for n = 3).
struct Sigma {
    pts: Vec<Vector3<f64>>,
    wm: Vec<f64>,
    wc: Vec<f64>,
}

impl Sigma {
    fn new(x: &Vector3<f64>, p: &Matrix3<f64>) -> Option<Self> {
        let n = 3.0;
        let (alpha, beta, kappa) = (1.0, 2.0, 0.0);
        let lambda = alpha * alpha * (n + kappa) - n;
        let chol = ((n + lambda) * p).cholesky()?;
        let l = chol.l();
        let mut pts = vec![*x];
        for i in 0..3 {
            let c = l.column(i).into_owned();
            pts.push(x + c);
            pts.push(x - c);
        }
        let wm0 = lambda / (n + lambda);
        let wi = 1.0 / (2.0 * (n + lambda));
        let mut wm = vec![wm0];
        let mut wc = vec![wm0 + (1.0 - alpha * alpha + beta)];
        wm.extend([wi; 6]);
        wc.extend([wi; 6]);
        Some(Self { pts, wm, wc })
    }

    /// The emulator at each sigma point (clamped to the grid) and their
    /// weighted mean.
    fn propagate(&self, e: &Emulator) -> (Vec<[f64; 3]>, [f64; 3]) {
        let ys: Vec<[f64; 3]> = self
            .pts
            .iter()
            .map(|s| {
                let mut c = *s;
                clamp_state(&mut c);
                e.eval([c[0], c[1], c[2]])
            })
            .collect();
        let mut mean = [0.0; 3];
        for (y, w) in ys.iter().zip(&self.wm) {
            for (m, v) in mean.iter_mut().zip(y) {
                *m += w * v;
            }
        }
        (ys, mean)
    }
}

fn clamp_state(x: &mut Vector3<f64>) {
    x[0] = x[0].clamp(LN_R.0, LN_R.1);
    x[1] = x[1].clamp(LN_C.0, LN_C.1);
    x[2] = x[2].clamp(DV.0, DV.1);
}

/// Runs the unscented Kalman filter over the vitals.
///
/// # Errors
/// No samples, or the covariance lost positive definiteness (named).
pub fn follow(
    emulator: &Emulator,
    vitals: &[Vital],
    options: FollowOptions,
) -> Result<Follow, CardioError> {
    if vitals.is_empty() {
        return Err(bad("no vitals to follow"));
    }
    let mut x = Vector3::zeros();
    let mut p = Matrix3::from_diagonal(&Vector3::from(options.prior_sd.map(|s| s * s)));
    let q_rate = Vector3::from(options.drift_per_sqrt_min.map(|s| s * s));
    let mut t_prev = vitals[0].t_min;
    let mut points = Vec::with_capacity(vitals.len());
    for v in vitals {
        // Predict: random walk.
        let dt = (v.t_min - t_prev).max(0.0);
        t_prev = v.t_min;
        p += Matrix3::from_diagonal(&(q_rate * dt));
        // Update with the vitals present.
        let meas = [v.heart_rate_bpm, v.sbp_mmhg, v.dbp_mmhg];
        let present: Vec<usize> = (0..3).filter(|&i| meas[i].is_some()).collect();
        let broke = || {
            bad(format!(
                "the filter's covariance broke down at {:.1} min",
                v.t_min
            ))
        };
        let sigma = Sigma::new(&x, &p).ok_or_else(broke)?;
        let (ys, y_mean) = sigma.propagate(emulator);
        if !present.is_empty() {
            let k = present.len();
            let mut s = nalgebra::DMatrix::<f64>::zeros(k, k);
            let mut cxy = nalgebra::DMatrix::<f64>::zeros(3, k);
            for ((pt, y), w) in sigma.pts.iter().zip(&ys).zip(&sigma.wc) {
                let dx = pt - x;
                for (a, &ia) in present.iter().enumerate() {
                    let dya = y[ia] - y_mean[ia];
                    for (b, &ib) in present.iter().enumerate() {
                        s[(a, b)] += w * dya * (y[ib] - y_mean[ib]);
                    }
                    for r in 0..3 {
                        cxy[(r, a)] += w * dx[r] * dya;
                    }
                }
            }
            for (a, &ia) in present.iter().enumerate() {
                s[(a, a)] += options.noise[ia] * options.noise[ia];
            }
            let s_inv = s.clone().try_inverse().ok_or_else(|| {
                bad(format!(
                    "the innovation covariance is singular at {:.1} min",
                    v.t_min
                ))
            })?;
            let gain = &cxy * &s_inv;
            let innov = nalgebra::DVector::from_iterator(
                k,
                present
                    .iter()
                    .map(|&i| meas[i].expect("present") - y_mean[i]),
            );
            let dx = &gain * innov;
            x += Vector3::new(dx[0], dx[1], dx[2]);
            let kskt = &gain * &s * gain.transpose();
            p -= SMatrix::<f64, 3, 3>::from_fn(|r, c| kskt[(r, c)]);
            p = 0.5 * (p + p.transpose());
            clamp_state(&mut x);
        }
        // The twin at the estimate, with its predictive spread.
        let sigma = Sigma::new(&x, &p).ok_or_else(broke)?;
        let (ys, mean) = sigma.propagate(emulator);
        let mut var = [0.0_f64; 3];
        for (y, w) in ys.iter().zip(&sigma.wc) {
            for m in 0..3 {
                var[m] += w * (y[m] - mean[m]).powi(2);
            }
        }
        points.push(FollowPoint {
            t_min: v.t_min,
            measured: meas,
            twin: emulator.eval([x[0], x[1], x[2]]),
            twin_sd: var.map(|v| v.max(0.0).sqrt()),
            resistance_scale: x[0].exp(),
            contractility_scale: x[1].exp(),
            volume_change_ml: x[2],
            resistance_sd_log: p[(0, 0)].max(0.0).sqrt(),
            contractility_sd_log: p[(1, 1)].max(0.0).sqrt(),
            volume_sd_ml: p[(2, 2)].max(0.0).sqrt(),
        });
    }
    Ok(Follow {
        points,
        options,
        rest: emulator.rest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_times_parse_with_zones() {
        let a = parse_iso8601("2026-12-07T10:00:00Z").unwrap();
        let b = parse_iso8601("2026-12-07T11:30:00+01:00").unwrap();
        assert!((b - a - 1800.0).abs() < 1e-9);
        assert!((parse_iso8601("1970-01-01T00:00:00Z").unwrap()).abs() < 1e-9);
        assert!((parse_iso8601("2000-03-01T00:00:00Z").unwrap() - 951_868_800.0).abs() < 1e-6);
        assert!(parse_iso8601("yesterday").is_none());
        assert!(parse_iso8601("2026-13-01T00:00:00Z").is_none());
    }

    #[test]
    fn csv_vitals_read_with_gaps_and_bad_cells_are_named() {
        let v = read_csv("t_min,hr,sbp,dbp\n0,72,120,80\n5,,118,79\n10,90,,\n").unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[1].heart_rate_bpm, None);
        assert_eq!(v[2].sbp_mmhg, None);
        let e = read_csv("t_min,hr\n0,abc\n").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("abc"), "{e}");
        let e = read_csv("t_min,sbp\n0,12.0\n").unwrap_err().to_string();
        assert!(e.contains("systolic") && e.contains("units"), "{e}");
        let e = read_csv("hr,sbp\n70,120\n").unwrap_err().to_string();
        assert!(e.contains("time column"), "{e}");
        let iso = read_csv("time,hr\n2026-12-07T10:00:00Z,70\n2026-12-07T10:02:30Z,72\n").unwrap();
        assert!((iso[1].t_min - 2.5).abs() < 1e-9);
    }

    #[test]
    fn fhir_bundles_read_heart_rate_and_the_pressure_panel() {
        let bundle = r#"{"resourceType":"Bundle","type":"collection","entry":[
          {"resource":{"resourceType":"Observation","id":"hr1","status":"final",
            "code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},
            "effectiveDateTime":"2026-12-07T10:00:00Z",
            "valueQuantity":{"value":72,"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"}}},
          {"resource":{"resourceType":"Observation","id":"bp1","status":"final",
            "code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
            "effectiveDateTime":"2026-12-07T10:00:00Z",
            "component":[
              {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":121,"code":"mm[Hg]"}},
              {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":79,"code":"mm[Hg]"}}]}},
          {"resource":{"resourceType":"Observation","id":"hr2","status":"final",
            "code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},
            "effectiveDateTime":"2026-12-07T10:05:00Z",
            "valueQuantity":{"value":80,"code":"/min"}}}]}"#;
        let v = read_fhir(bundle).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].heart_rate_bpm, Some(72.0));
        assert_eq!(v[0].sbp_mmhg, Some(121.0));
        assert_eq!(v[0].dbp_mmhg, Some(79.0));
        assert!((v[1].t_min - 5.0).abs() < 1e-9);
        let kpa = bundle.replace(
            "\"value\":121,\"code\":\"mm[Hg]\"",
            "\"value\":16,\"code\":\"kPa\"",
        );
        let e = read_fhir(&kpa).unwrap_err().to_string();
        assert!(e.contains("kPa") && e.contains("bp1"), "{e}");
        assert!(
            read_fhir(r#"{"resourceType":"Patient"}"#)
                .unwrap_err()
                .to_string()
                .contains("Bundle")
        );
    }
}
