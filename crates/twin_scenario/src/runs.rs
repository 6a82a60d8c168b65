//! The results of a twin's what-if runs (they are run by `twin_session`):
//! a beat's indices and waveforms, the gait what-ifs' outcomes, and the
//! summaries (metric name → value) stored in each variant.

use std::collections::BTreeMap;

use twin_cardio::{BeatIndices, Parameters, Waveforms};

use crate::TwinDocument;
use twin_msk::whatif::Outcome;

/// The summary kept of a beat (metric name → value).
#[must_use]
pub fn cardio_summary(b: &BeatIndices) -> BTreeMap<String, f64> {
    [
        ("lv_edv_ml", b.lv_edv_ml),
        ("lv_esv_ml", b.lv_esv_ml),
        ("lv_ef_percent", b.lv_ef_percent),
        ("stroke_work_mmhg_ml", b.stroke_work_mmhg_ml),
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

/// The intact baseline and each prosthesis variant on the twin's gait
/// trial.
#[derive(Debug, Clone)]
pub struct GaitRuns {
    pub baseline: Outcome,
    /// (variant name, outcome), in the twin's order.
    pub variants: Vec<(String, Outcome)>,
}
