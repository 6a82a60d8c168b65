//! The living circulation against published human responses: each case is
//! a timeline, each row a measured quantity with the published range, the
//! twin's value and a rating as the Pulse engine rates its validation
//! (good: within 10 % of the range, fair: within 30 %, poor: beyond).
//!
//! `twin cardio validation` prints the table that docs/models/cardio.md
//! shows; the tests check the directions a clinician checks first.

use std::fmt::Write as _;

use serde::Serialize;
use twin_core::Progress;

use crate::CardioError;
use crate::drugs::Drug;
use crate::interventions::Intervention;
use crate::timeline::{Event, Timeline, TimelineRun, TrendPoint};

/// How a quantity is compared.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// The value at the end of the case.
    Value,
    /// Change from rest, in the value's units.
    Change,
    /// Change from rest, % of the resting value.
    ChangePercent,
}

/// One row: a quantity, its published range and the twin's value.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub case: &'static str,
    pub quantity: &'static str,
    pub measure: Measure,
    pub lo: f64,
    pub hi: f64,
    pub twin: f64,
    /// Distance outside the range relative to the range's scale (0 inside).
    pub error_percent: f64,
    pub rating: &'static str,
    pub source: &'static str,
}

type Get = fn(&TrendPoint) -> f64;

struct Spec {
    case: &'static str,
    timeline: Timeline,
    /// Window (min) averaged for the response.
    window: (f64, f64),
    rows: Vec<(&'static str, Get, Measure, f64, f64, &'static str)>,
}

const ATLS: &str = "ATLS 10th ed. (American College of Surgeons 2018), classes of haemorrhage (70-kg adult, 5 L blood)";

fn timeline(name: &str, minutes: f64, events: Vec<(f64, Event)>) -> Timeline {
    Timeline::new(name, minutes, events)
}

fn infusion(drug: Drug, rate: f64) -> Vec<(f64, Event)> {
    vec![(
        1.0,
        Event::Infusion {
            drug,
            rate_ug_kg_min: rate,
        },
    )]
}

#[allow(
    clippy::too_many_lines,
    reason = "the table of cases reads best as one list"
)]
fn specs() -> Vec<Spec> {
    use Measure::{Change, ChangePercent, Value};
    let hr: Get = |p| p.heart_rate_bpm;
    let sbp: Get = |p| p.sbp_mmhg;
    let dbp: Get = |p| p.dbp_mmhg;
    let pp: Get = |p| p.pulse_pressure_mmhg;
    let map: Get = |p| p.map_mmhg;
    let co: Get = |p| p.cardiac_output_l_min;
    let edp: Get = |p| p.lvedp_mmhg;
    let ef: Get = |p| p.lv_ef_percent;
    let bleed = |ml: f64| {
        vec![(
            1.0,
            Event::Haemorrhage {
                volume_ml: ml,
                over_min: 10.0,
            },
        )]
    };
    vec![
        Spec {
            case: "Haemorrhage, ATLS class II (1000 mL = 20 % over 10 min)",
            timeline: timeline("atls-2", 20.0, bleed(1000.0)),
            window: (15.0, 20.0),
            rows: vec![
                ("heart rate (1/min)", hr, Value, 100.0, 120.0, ATLS),
                (
                    "systolic pressure change (%)",
                    sbp,
                    ChangePercent,
                    -10.0,
                    0.0,
                    "ATLS: systolic pressure normal",
                ),
                (
                    "pulse pressure change (%)",
                    pp,
                    ChangePercent,
                    -40.0,
                    -10.0,
                    "ATLS: pulse pressure decreased",
                ),
            ],
        },
        Spec {
            case: "Haemorrhage, ATLS class III (1750 mL = 35 % over 10 min)",
            timeline: timeline("atls-3", 20.0, bleed(1750.0)),
            window: (15.0, 20.0),
            rows: vec![
                ("heart rate (1/min)", hr, Value, 120.0, 140.0, ATLS),
                (
                    "systolic pressure change (%)",
                    sbp,
                    ChangePercent,
                    -40.0,
                    -10.0,
                    "ATLS: systolic pressure decreased",
                ),
                (
                    "pulse pressure change (%)",
                    pp,
                    ChangePercent,
                    -60.0,
                    -20.0,
                    "ATLS: pulse pressure decreased",
                ),
            ],
        },
        Spec {
            case: "Head-up tilt 70°, 5 min",
            timeline: timeline("tilt", 7.0, vec![(1.0, Event::Tilt { angle_deg: 70.0 })]),
            window: (4.0, 7.0),
            rows: vec![
                (
                    "heart rate change (1/min)",
                    hr,
                    Change,
                    10.0,
                    25.0,
                    "healthy adults on 60–80° tilt: +10 to +25/min (Smit et al. 1999, Clin Auton Res 9:207; Heldt et al. 2002)",
                ),
                (
                    "systolic pressure change (mmHg)",
                    sbp,
                    Change,
                    -10.0,
                    5.0,
                    "systolic pressure held within about ±10 mmHg (same sources)",
                ),
                (
                    "diastolic pressure change (mmHg)",
                    dbp,
                    Change,
                    0.0,
                    10.0,
                    "diastolic pressure rises 0–10 mmHg (same sources)",
                ),
            ],
        },
        Spec {
            case: "Phenylephrine 1 µg/kg/min, 15 min",
            timeline: timeline("phenylephrine", 16.0, infusion(Drug::Phenylephrine, 1.0)),
            window: (12.0, 16.0),
            rows: vec![
                (
                    "mean pressure change (%)",
                    map,
                    ChangePercent,
                    15.0,
                    35.0,
                    "pressor dose range of the label (MAP +15–35 % in volunteers)",
                ),
                (
                    "heart rate change (%)",
                    hr,
                    ChangePercent,
                    -20.0,
                    -5.0,
                    "reflex bradycardia (label: 'reflex bradycardia'); −5 to −20 % in volunteer studies",
                ),
            ],
        },
        Spec {
            case: "Nitroprusside 1 µg/kg/min, 15 min",
            timeline: timeline("nitroprusside", 16.0, infusion(Drug::Nitroprusside, 1.0)),
            window: (12.0, 16.0),
            rows: vec![
                (
                    "mean pressure change (%)",
                    map,
                    ChangePercent,
                    -25.0,
                    -10.0,
                    "hypotensive response at 0.5–2 µg/kg/min (Nipride label)",
                ),
                (
                    "heart rate change (%)",
                    hr,
                    ChangePercent,
                    5.0,
                    20.0,
                    "reflex tachycardia (Nipride label)",
                ),
            ],
        },
        Spec {
            case: "Norepinephrine 0.1 µg/kg/min, 15 min",
            timeline: timeline("norepinephrine", 16.0, infusion(Drug::Norepinephrine, 0.1)),
            window: (12.0, 16.0),
            rows: vec![
                (
                    "mean pressure change (%)",
                    map,
                    ChangePercent,
                    15.0,
                    35.0,
                    "volunteers at 0.05–0.15 µg/kg/min: MAP +15–35 %",
                ),
                (
                    "heart rate change (%)",
                    hr,
                    ChangePercent,
                    -20.0,
                    -3.0,
                    "reflex slowing despite β1 stimulation",
                ),
                (
                    "cardiac output change (%)",
                    co,
                    ChangePercent,
                    -10.0,
                    10.0,
                    "cardiac output about unchanged",
                ),
            ],
        },
        Spec {
            case: "Dobutamine 10 µg/kg/min, 15 min",
            timeline: timeline("dobutamine", 16.0, infusion(Drug::Dobutamine, 10.0)),
            window: (12.0, 16.0),
            rows: vec![
                (
                    "cardiac output change (%)",
                    co,
                    ChangePercent,
                    30.0,
                    70.0,
                    "healthy volunteers at 10 µg/kg/min: CO +30–70 %",
                ),
                (
                    "heart rate change (%)",
                    hr,
                    ChangePercent,
                    5.0,
                    25.0,
                    "modest chronotropy at 10 µg/kg/min",
                ),
                (
                    "mean pressure change (%)",
                    map,
                    ChangePercent,
                    -5.0,
                    10.0,
                    "mean pressure about unchanged",
                ),
            ],
        },
        Spec {
            case: "Esmolol 500 µg/kg bolus + 150 µg/kg/min, 20 min",
            timeline: timeline(
                "esmolol",
                21.0,
                vec![
                    (
                        1.0,
                        Event::Bolus {
                            drug: Drug::Esmolol,
                            dose_mg: 35.0,
                        },
                    ),
                    (
                        2.0,
                        Event::Infusion {
                            drug: Drug::Esmolol,
                            rate_ug_kg_min: 150.0,
                        },
                    ),
                ],
            ),
            window: (16.0, 21.0),
            rows: vec![
                (
                    "heart rate change (%)",
                    hr,
                    ChangePercent,
                    -20.0,
                    -8.0,
                    "resting heart rate −8 to −20 % at 100–200 µg/kg/min (Brevibloc label, volunteer studies)",
                ),
                (
                    "systolic pressure change (%)",
                    sbp,
                    ChangePercent,
                    -12.0,
                    -2.0,
                    "systolic pressure falls a little",
                ),
            ],
        },
        Spec {
            case: "Chronic HFrEF: contractility × 0.4 and 1000 mL retained",
            timeline: timeline(
                "hfref",
                30.0,
                vec![
                    (
                        1.0,
                        Event::Intervention {
                            intervention: Intervention::Inotrope {
                                contractility_scale: 0.4,
                            },
                        },
                    ),
                    (
                        1.0,
                        Event::Fluid {
                            volume_ml: 1000.0,
                            over_min: 10.0,
                        },
                    ),
                ],
            ),
            window: (25.0, 30.0),
            rows: vec![
                (
                    "cardiac output (L/min)",
                    co,
                    Value,
                    2.5,
                    4.5,
                    "HFrEF at rest: CO 2.5–4.5 L/min (ESC 2021 HF guideline; invasive series)",
                ),
                (
                    "LVEDP (mmHg)",
                    edp,
                    Value,
                    15.0,
                    30.0,
                    "raised filling pressure, LVEDP > 15 mmHg",
                ),
                (
                    "ejection fraction (%)",
                    ef,
                    Value,
                    15.0,
                    40.0,
                    "HFrEF: EF ≤ 40 % (ESC 2021)",
                ),
            ],
        },
    ]
}

/// The rating of a value against a range (Pulse's thresholds).
#[must_use]
pub fn rate(value: f64, lo: f64, hi: f64) -> (f64, &'static str) {
    // Relative to the bound crossed (or to the other bound when that one is 0).
    let (outside, bound, other) = if value < lo {
        (lo - value, lo, hi)
    } else if value > hi {
        (value - hi, hi, lo)
    } else {
        (0.0, 1.0, 1.0)
    };
    let scale = if bound.abs() > 1e-9 {
        bound.abs()
    } else {
        other.abs().max(1e-9)
    };
    let err = 100.0 * outside / scale;
    let rating = if err < 10.0 {
        "good"
    } else if err < 30.0 {
        "fair"
    } else {
        "poor"
    };
    (err, rating)
}

fn measure(run: &TimelineRun, window: (f64, f64), get: Get, m: Measure) -> f64 {
    let rest = run.mean(0.0, 1.0, get).unwrap_or(f64::NAN);
    let now = run.mean(window.0, window.1, get).unwrap_or(f64::NAN);
    match m {
        Measure::Value => now,
        Measure::Change => now - rest,
        Measure::ChangePercent => 100.0 * (now / rest - 1.0),
    }
}

/// Runs every case and rates every row.
///
/// # Errors
/// A case's timeline fails (it should not), or cancellation.
pub fn validation_table(progress: &Progress) -> Result<Vec<Row>, CardioError> {
    let mut rows = Vec::new();
    for s in specs() {
        progress.check_cancelled()?;
        let run = s.timeline.run(&Progress::new())?;
        for (quantity, get, m, lo, hi, source) in s.rows {
            let twin = measure(&run, s.window, get, m);
            let (error_percent, rating) = rate(twin, lo, hi);
            rows.push(Row {
                case: s.case,
                quantity,
                measure: m,
                lo,
                hi,
                twin,
                error_percent,
                rating,
                source,
            });
        }
    }
    Ok(rows)
}

/// Dose–response of the vasoactive drugs: for each drug and infusion
/// rate, the change from rest after 15 min (%) of MAP, heart rate and
/// cardiac output.
#[derive(Debug, Clone, Serialize)]
pub struct DoseResponse {
    pub drug: Drug,
    pub rate_ug_kg_min: f64,
    pub map_change_percent: f64,
    pub heart_rate_change_percent: f64,
    pub cardiac_output_change_percent: f64,
}

/// The doses of the dose–response table (low, usual, high of each label's
/// range).
pub const DOSES: [(Drug, [f64; 3]); 5] = [
    (Drug::Norepinephrine, [0.05, 0.1, 0.3]),
    (Drug::Phenylephrine, [0.5, 1.0, 3.0]),
    (Drug::Epinephrine, [0.02, 0.05, 0.2]),
    (Drug::Dobutamine, [2.5, 5.0, 15.0]),
    (Drug::Nitroprusside, [0.3, 1.0, 3.0]),
];

/// Runs the dose–response table.
///
/// # Errors
/// A run fails, or cancellation.
pub fn dose_response(progress: &Progress) -> Result<Vec<DoseResponse>, CardioError> {
    let mut out = Vec::new();
    for (drug, rates) in DOSES {
        for rate in rates {
            progress.check_cancelled()?;
            let run = timeline(drug.name(), 16.0, infusion(drug, rate)).run(&Progress::new())?;
            let change = |get: Get| measure(&run, (12.0, 16.0), get, Measure::ChangePercent);
            out.push(DoseResponse {
                drug,
                rate_ug_kg_min: rate,
                map_change_percent: change(|p| p.map_mmhg),
                heart_rate_change_percent: change(|p| p.heart_rate_bpm),
                cardiac_output_change_percent: change(|p| p.cardiac_output_l_min),
            });
        }
    }
    Ok(out)
}

/// The table as Markdown.
#[must_use]
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| case | quantity | published | twin | rating | source |\n|---|---|---|---:|---|---|\n",
    );
    let mut last = "";
    for r in rows {
        let case = if r.case == last { "" } else { r.case };
        last = r.case;
        let _ = writeln!(
            out,
            "| {case} | {} | {} to {} | {:.1} | {} | {} |",
            r.quantity, r.lo, r.hi, r.twin, r.rating, r.source
        );
    }
    out
}

/// The dose–response table as Markdown.
#[must_use]
pub fn dose_markdown(rows: &[DoseResponse]) -> String {
    let mut out = String::from(
        "| drug | µg/kg/min | MAP change (%) | heart rate change (%) | cardiac output change (%) |\n|---|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {:+.1} | {:+.1} | {:+.1} |",
            r.drug,
            r.rate_ug_kg_min,
            r.map_change_percent,
            r.heart_rate_change_percent,
            r.cardiac_output_change_percent
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pressor_and_dilator_effects_grow_with_the_dose() {
        for (drug, rates) in [
            (Drug::Phenylephrine, [0.5, 3.0]),
            (Drug::Nitroprusside, [0.3, 3.0]),
        ] {
            let map: Vec<f64> = rates
                .iter()
                .map(|&r| {
                    let run = timeline("dose", 8.0, infusion(drug, r))
                        .run(&Progress::new())
                        .unwrap();
                    measure(&run, (6.0, 8.0), |p| p.map_mmhg, Measure::ChangePercent)
                })
                .collect();
            assert!(map[1].abs() > map[0].abs() + 3.0, "{drug}: {map:?}");
            assert!(map[0].signum() == map[1].signum());
        }
    }

    #[test]
    fn rating_follows_pulse_thresholds() {
        assert_eq!(rate(110.0, 100.0, 120.0).1, "good");
        assert_eq!(rate(95.0, 100.0, 120.0).1, "good");
        assert_eq!(rate(85.0, 100.0, 120.0).1, "fair");
        assert_eq!(rate(70.0, 100.0, 120.0).1, "poor");
        assert_eq!(rate(-4.6, -20.0, -5.0).1, "good");
        assert_eq!(rate(-3.0, -20.0, -5.0).1, "poor");
    }
}
