//! What-if runs of a twin's variants against its baseline: the cardiac
//! interventions of each variant applied to the calibrated circulation (or
//! the healthy default when the twin is not calibrated), simulated to
//! periodic steady state, and the prosthesis of each variant fitted to the
//! twin's gait trial (a static optimisation of the same motion and loads
//! against the intact baseline); each summary stored in its variant.

use std::collections::BTreeMap;

use twin_cardio::simulate::SimOptions;
use twin_cardio::{BeatIndices, Parameters, Scenario, Waveforms};
use twin_core::Progress;

use crate::TwinDocument;
use crate::document::GaitTrial;
use twin_msk::whatif::{GaitCase, Outcome};

/// The summary kept of a beat (metric name → value).
#[must_use]
pub fn cardio_summary(b: &BeatIndices) -> BTreeMap<String, f64> {
    [
        ("lv_edv_ml", b.lv_edv_ml),
        ("lv_esv_ml", b.lv_esv_ml),
        ("lv_ef_percent", b.lv_ef_percent),
        ("forward_sv_ml", b.forward_sv_ml),
        ("cardiac_output_l_min", b.cardiac_output_l_min),
        ("sbp_mmhg", b.sbp_mmhg),
        ("dbp_mmhg", b.dbp_mmhg),
        ("map_mmhg", b.map_mmhg),
        ("lv_peak_pressure_mmhg", b.lv_peak_pressure_mmhg),
        ("mean_la_mmhg", b.mean_la_mmhg),
        ("pa_mean_mmhg", b.pa_mean_mmhg),
        ("aortic_mean_gradient_mmhg", b.aortic.mean_gradient_mmhg),
        (
            "aortic_regurgitant_fraction_percent",
            b.aortic.regurgitant_fraction_percent,
        ),
        (
            "mitral_regurgitant_fraction_percent",
            b.mitral.regurgitant_fraction_percent,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The baseline the variants change: the twin's calibrated parameters, or
/// the healthy default.
#[must_use]
pub fn baseline_parameters(doc: &TwinDocument) -> Parameters {
    doc.cardio
        .as_ref()
        .map_or_else(Parameters::default, |c| c.parameters.clone())
}

/// One run: its name, last beat's indices and waveforms.
#[derive(Debug, Clone)]
pub struct CardioRun {
    pub name: String,
    pub indices: BeatIndices,
    pub waveforms: Waveforms,
}

fn run(p: &Parameters, scenario: &Scenario, progress: &Progress) -> Result<CardioRun, String> {
    let sim = scenario
        .simulate(p, None, SimOptions::default(), progress)
        .map_err(|e| e.to_string())?;
    Ok(CardioRun {
        name: scenario.name.clone(),
        indices: sim.last().clone(),
        waveforms: sim.waveforms,
    })
}

/// Runs the baseline and every variant with cardiac interventions.
///
/// # Errors
/// An intervention is out of range or a run fails: the message names the
/// variant.
pub fn run_cardio(
    doc: &TwinDocument,
    progress: &Progress,
) -> Result<(CardioRun, Vec<CardioRun>), String> {
    let base = baseline_parameters(doc);
    let baseline = run(
        &base,
        &Scenario {
            name: "baseline".into(),
            ..Scenario::default()
        },
        progress,
    )
    .map_err(|e| format!("baseline: {e}"))?;
    let mut runs = Vec::new();
    for v in doc.variants.iter().filter(|v| !v.cardio.is_empty()) {
        let scenario = Scenario {
            name: v.name.clone(),
            description: v.description.clone(),
            interventions: v.cardio.clone(),
        };
        runs.push(
            run(&base, &scenario, progress).map_err(|e| format!("variant `{}`: {e}", v.name))?,
        );
    }
    Ok((baseline, runs))
}

/// Runs the baseline and every variant with cardiac interventions, stores
/// each variant's summary in its `results` (other results kept) and
/// returns the baseline's.
///
/// # Errors
/// An intervention is out of range or a run fails: the message names the
/// variant.
pub fn run_cardio_variants(
    doc: &mut TwinDocument,
    progress: &Progress,
) -> Result<BTreeMap<String, f64>, String> {
    let (baseline, runs) = run_cardio(doc, progress)?;
    for r in runs {
        if let Some(v) = doc.variants.iter_mut().find(|v| v.name == r.name) {
            v.results.extend(cardio_summary(&r.indices));
        }
    }
    Ok(cardio_summary(&baseline.indices))
}

/// The summary kept of a gait what-if (metric name → value; every name
/// starts with `gait_` so it never meets a cardiac one).
#[must_use]
pub fn gait_summary(o: &Outcome) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = [
        ("gait_metabolic_umberger_w_per_kg", o.metabolic_w_per_kg[0]),
        ("gait_metabolic_bhargava_w_per_kg", o.metabolic_w_per_kg[1]),
        ("gait_ankle_reserve_percent", o.ankle_reserve_percent),
        ("gait_body_mass_kg", o.body_mass),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(d) = o.device {
        out.insert(
            "gait_device_peak_plantarflexor_moment_nm".into(),
            d.peak_plantarflexor_moment_nm,
        );
        out.insert(
            "gait_device_energy_return_percent".into(),
            d.energy_return_percent,
        );
    }
    out
}

/// Replaces the `gait_*` results in `results` by `o`'s summary, or
/// removes them (`None`); other results are kept.
pub fn set_gait_summary(results: &mut BTreeMap<String, f64>, o: Option<&Outcome>) {
    results.retain(|k, _| !k.starts_with("gait_"));
    if let Some(o) = o {
        results.extend(gait_summary(o));
    }
}

/// Whether `results` hold a gait summary.
#[must_use]
pub fn has_gait_summary(results: &BTreeMap<String, f64>) -> bool {
    results.contains_key("gait_metabolic_umberger_w_per_kg")
}

/// The joint angles of a trial: a motion (`.mot`/`.sto`) as it is, markers
/// (`.trc`/`.c3d`) through inverse kinematics; with lines about the fit.
///
/// # Errors
/// The file cannot be read, is neither a motion nor markers (named), or
/// inverse kinematics fails or is cancelled.
pub fn trial_coordinates(
    model: &twin_msk::Model,
    trial: &std::path::Path,
    progress: &Progress,
) -> Result<(twin_msk::Table, Vec<String>), String> {
    let ext = trial
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "mot" | "sto" => Ok((
            twin_msk::Table::read(trial).map_err(|e| e.to_string())?,
            Vec::new(),
        )),
        "trc" | "c3d" => {
            let markers = if ext == "c3d" {
                let mut t = twin_msk::C3dTrial::read(trial).map_err(|e| e.to_string())?;
                t.rotate(&twin_msk::c3d::z_up_to_y_up());
                t.markers
            } else {
                twin_msk::Markers::read_trc(trial).map_err(|e| e.to_string())?
            };
            let ik = twin_msk::ik::inverse_kinematics_with(model, &markers, None, None, progress)
                .map_err(|e| e.to_string())?;
            let mut notes = ik.warnings;
            notes.push(format!(
                "IK: marker RMS error up to {:.1} mm",
                1000.0 * ik.rms_error.iter().fold(0.0f64, |a, &b| a.max(b))
            ));
            Ok((ik.coordinates, notes))
        }
        other => Err(format!(
            "{}: `.{other}` is neither a motion (.mot, .sto) nor markers (.trc, .c3d)",
            trial.display()
        )),
    }
}

/// The what-if case of a twin's gait trial: its model, motion and loads.
///
/// # Errors
/// A file cannot be read (named), the trial has no external loads, or the
/// model has no muscles.
pub fn gait_case(trial: &GaitTrial, progress: &Progress) -> Result<GaitCase, String> {
    let Some(loads) = &trial.loads else {
        return Err(format!(
            "gait trial {}: a prosthesis what-if needs the trial's external loads",
            trial.motion.display()
        ));
    };
    let model = twin_msk::Model::read(&trial.model).map_err(|e| e.to_string())?;
    let (coords, _) = trial_coordinates(&model, &trial.motion, progress)?;
    let loads =
        twin_msk::loads::ExternalLoads::read(loads, &model, None).map_err(|e| e.to_string())?;
    GaitCase::new(
        model,
        coords,
        loads,
        twin_msk::optimization::SoOptions::default(),
    )
    .map_err(|e| e.to_string())
}

/// The intact baseline and each prosthesis variant on the twin's gait
/// trial.
#[derive(Debug, Clone)]
pub struct GaitRuns {
    pub baseline: Outcome,
    /// (variant name, outcome), in the twin's order.
    pub variants: Vec<(String, Outcome)>,
}

/// Runs the intact baseline and every variant with a prosthesis on the
/// twin's gait trial; `None` when the twin has no trial or no variant has
/// a prosthesis.
///
/// # Errors
/// The trial cannot be read or a device does not fit: the message names
/// the file or the variant.
pub fn run_gait(doc: &TwinDocument, progress: &Progress) -> Result<Option<GaitRuns>, String> {
    let Some(trial) = &doc.gait else {
        return Ok(None);
    };
    if doc.variants.iter().all(|v| v.prosthesis.is_none()) {
        return Ok(None);
    }
    let case = gait_case(trial, progress)?;
    let baseline = case
        .run(None, progress)
        .map_err(|e| format!("gait baseline: {e}"))?;
    let mut variants = Vec::new();
    for v in &doc.variants {
        if let Some(p) = &v.prosthesis {
            let o = case
                .run(Some(p), progress)
                .map_err(|e| format!("variant `{}`: {e}", v.name))?;
            variants.push((v.name.clone(), o));
        }
    }
    Ok(Some(GaitRuns { baseline, variants }))
}

/// [`run_gait`], with each variant's summary stored in its `results`
/// (other results kept).
///
/// # Errors
/// As [`run_gait`].
pub fn run_gait_variants(
    doc: &mut TwinDocument,
    progress: &Progress,
) -> Result<Option<GaitRuns>, String> {
    let runs = run_gait(doc, progress)?;
    if let Some(r) = &runs {
        for (name, o) in &r.variants {
            if let Some(v) = doc.variants.iter_mut().find(|v| v.name == *name) {
                set_gait_summary(&mut v.results, Some(o));
            }
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Variant;
    use twin_cardio::Intervention;

    #[test]
    fn severe_stenosis_and_its_replacement_run_against_the_baseline() {
        let mut doc = TwinDocument::new("demo");
        for (name, area) in [("severe AS", 0.7), ("TAVR", 1.7)] {
            doc.variants.push(Variant {
                name: name.into(),
                cardio: vec![Intervention::AorticStenosis {
                    valve_area_cm2: area,
                }],
                ..Variant::default()
            });
        }
        doc.variants.push(Variant {
            name: "no cardiac change".into(),
            ..Variant::default()
        });
        let base = run_cardio_variants(&mut doc, &Progress::new()).unwrap();
        let g = |r: &BTreeMap<String, f64>| r["aortic_mean_gradient_mmhg"];
        // docs/models/cardio.md: severe AS 50.8 mmHg, TAVR 13.7 mmHg.
        assert!(g(&base) < 5.0, "{}", g(&base));
        assert!(
            (g(&doc.variants[0].results) - 50.8).abs() < 1.5,
            "{:?}",
            doc.variants[0].results
        );
        assert!(
            (g(&doc.variants[1].results) - 13.7).abs() < 1.0,
            "{:?}",
            doc.variants[1].results
        );
        assert!(doc.variants[2].results.is_empty());
        assert!(doc.check().is_ok());
        // Out of range: refused, naming the variant.
        doc.variants[0].cardio = vec![Intervention::AorticStenosis {
            valve_area_cm2: -1.0,
        }];
        let e = run_cardio_variants(&mut doc, &Progress::new()).unwrap_err();
        assert!(e.starts_with("variant `severe AS`: "), "{e}");
    }

    #[test]
    fn prosthesis_variants_run_on_the_twins_gait_trial() {
        let Some(dir) = twin_core::testdata::require("msk/gait10dof18musc") else {
            return;
        };
        let mut doc = TwinDocument::new("gait");
        let device = |k: f64| twin_msk::prosthesis::Prosthesis {
            side: "right".into(),
            stiffness_nm_per_rad: k,
            plantar_stiffness_nm_per_rad: None,
            damping_nms_per_rad: 2.0,
            neutral_angle_deg: 0.0,
            alignment_offset_deg: 0.0,
            mass_kg: Some(1.2),
        };
        for (name, k) in [("soft foot", 250.0), ("stiff foot", 900.0)] {
            doc.variants.push(Variant {
                name: name.into(),
                prosthesis: Some(device(k)),
                ..Variant::default()
            });
        }
        doc.variants.push(Variant {
            name: "heart only".into(),
            ..Variant::default()
        });
        // No trial: nothing to run.
        assert!(run_gait(&doc, &Progress::new()).unwrap().is_none());
        doc.gait = Some(GaitTrial {
            model: dir.join("gait10dof18musc_subject01.osim"),
            motion: dir.join("subject01_walk_IK.mot"),
            loads: Some(dir.join("gait10dof18musc_subject01_walk_grf.xml")),
        });
        let runs = run_gait_variants(&mut doc, &Progress::new())
            .unwrap()
            .unwrap();
        assert_eq!(runs.variants.len(), 2);
        let base = gait_summary(&runs.baseline);
        let m = |r: &BTreeMap<String, f64>| r["gait_metabolic_umberger_w_per_kg"];
        // A walking adult: 2–8 W/kg gross (Umberger 2010's range for
        // walking at 1.3 m/s is about 3–5 W/kg).
        assert!((2.0..8.0).contains(&m(&base)), "{base:?}");
        let (soft, stiff) = (&doc.variants[0].results, &doc.variants[1].results);
        for r in [soft, stiff] {
            assert!(r.contains_key("gait_device_energy_return_percent"), "{r:?}");
            assert!(m(r).is_finite());
        }
        // The stiffer foot makes more of the plantarflexor moment (the
        // reserve actuator's share changes with it); the intact baseline
        // has no device.
        let peak = |r: &BTreeMap<String, f64>| r["gait_device_peak_plantarflexor_moment_nm"];
        assert!(peak(stiff) > 2.0 * peak(soft), "{soft:?} {stiff:?}");
        let reserve = |r: &BTreeMap<String, f64>| r["gait_ankle_reserve_percent"];
        assert!(
            (reserve(soft) - reserve(stiff)).abs() > 1.0,
            "{soft:?} {stiff:?}"
        );
        assert!(!base.contains_key("gait_device_energy_return_percent"));
        assert!(doc.variants[2].results.is_empty());
        // The report tables each device against the intact baseline and
        // plots their ankle moments in the variants' colours.
        let (cb, cr) = run_cardio(&doc, &Progress::new()).unwrap();
        let extras = crate::report::ReportExtras {
            gait_runs: Some(&runs),
            ..crate::report::ReportExtras::default()
        };
        let options = crate::report::ReportOptions::default();
        let html = crate::report::html_with(&doc, &cb, &cr, options, &extras);
        for expected in [
            "<h2>soft foot (prosthesis)</h2>",
            "<h2>stiff foot (prosthesis)</h2>",
            "<td>gait_ankle_reserve_percent</td>",
            "Prosthetic ankle moment",
        ] {
            assert!(html.contains(expected), "{expected} not in the report");
        }
        let [r, g, b] = crate::report::variant_colour(1);
        assert!(
            html.contains(&format!("stroke=\"#{r:02x}{g:02x}{b:02x}\"")),
            "the stiff foot's curve in its colour"
        );
        // A device that does not fit: refused, naming the variant.
        doc.variants[1].prosthesis = Some(device(-5.0));
        let e = run_gait_variants(&mut doc, &Progress::new()).unwrap_err();
        assert!(e.starts_with("variant `stiff foot`: "), "{e}");
        // No loads: said so, naming the trial.
        if let Some(g) = &mut doc.gait {
            g.loads = None;
        }
        let e = run_gait(&doc, &Progress::new()).unwrap_err();
        assert!(e.contains("external loads"), "{e}");
    }
}
