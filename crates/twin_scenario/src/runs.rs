//! What-if runs of a twin's variants against its baseline: the cardiac
//! interventions of each variant applied to the calibrated circulation (or
//! the healthy default when the twin is not calibrated), simulated to
//! periodic steady state, and the summary stored in the variant.

use std::collections::BTreeMap;

use twin_cardio::simulate::SimOptions;
use twin_cardio::{BeatIndices, Parameters, Scenario, Waveforms};
use twin_core::Progress;

use crate::TwinDocument;

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
}
