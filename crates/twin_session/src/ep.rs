//! Cardiac electrophysiology as the session runs it (issue 25): the
//! ventricles meshed from a label map, their activation under a rhythm,
//! and that activation driving each ventricle's contraction in the
//! circulation (its elastance the volume-weighted sum of the activation
//! curve delayed by each region's activation time,
//! `twin_cardio::Spread`).

use serde::Serialize;
use twin_cardio::{BeatIndices, Parameters, SimOptions, Spread, Waveforms};
use twin_core::Progress;
use twin_ep::heart::{Activation, Heart, Rhythm, Summary, Tissue};
use twin_ep::mesh::{LabelGrid, TetMesh, label};

use crate::SessionError;

/// Width of the delay bins of the chambers' activation spread (ms).
pub const SPREAD_BIN_MS: f64 = 10.0;

/// The patient's anterior direction in LPS.
pub const ANTERIOR_LPS: [f64; 3] = [0.0, -1.0, 0.0];

/// The ventricles of a label map (the labels of `twin_ep::mesh::label`)
/// whose frame goes to patient LPS by `origin + x·axes[0] + y·axes[1] +
/// z·axes[2]`.
///
/// # Errors
/// The label map has no wall, or lacks an endocardium, epicardium or base.
pub fn heart_from_labels(
    grid: &LabelGrid,
    origin: [f64; 3],
    axes: [[f64; 3]; 3],
) -> Result<Heart, SessionError> {
    let mut mesh = TetMesh::from_labels(grid, |l| l == label::LV_WALL || l == label::RV_WALL)?;
    mesh.transform(origin, axes);
    Ok(Heart::new(mesh, ANTERIOR_LPS)?)
}

/// The demo patient's ventricles (the cardiac phantom's analytic
/// geometry at end diastole) meshed at `mesh_mm`, in patient LPS.
///
/// # Errors
/// A mesh size outside 0.5–5 mm.
pub fn demo_heart(mesh_mm: f64) -> Result<Heart, SessionError> {
    if !(0.5..=5.0).contains(&mesh_mm) {
        return Err(SessionError::input(
            "mesh size",
            format!("{mesh_mm} mm is outside 0.5–5 mm"),
        ));
    }
    let ph = twin_phantom::cardiac::CardiacPhantom::demo();
    let v = ph.ventricle_labels(ph.ed_phase(), mesh_mm);
    let grid = LabelGrid {
        dims: v.dims,
        spacing: [v.spacing_mm; 3],
        origin: v.origin,
        labels: &v.labels,
    };
    heart_from_labels(&grid, v.base_centre, v.axes)
}

/// `params` with each ventricle's contraction spread as `act` activates
/// its wall (the atria stay synchronous).
///
/// # Errors
/// An activation longer than the spread covers (310 ms).
pub fn coupled(
    params: &Parameters,
    heart: &Heart,
    act: &Activation,
) -> Result<Parameters, SessionError> {
    let mut p = params.clone();
    p.lv.spread = Spread::from_delays(&heart.delays(act, true), SPREAD_BIN_MS)?;
    p.rv.spread = Spread::from_delays(&heart.delays(act, false), SPREAD_BIN_MS)?;
    Ok(p)
}

/// An EP what-if's result as a report or `--json` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EpResult {
    pub name: String,
    #[serde(flatten)]
    pub activation: Summary,
    /// The beat of the circulation with this activation.
    pub beat: BeatIndices,
}

/// Activates `heart` under `rhythm` in `tissue` and beats the circulation
/// of `params` with that activation until it is periodic; the steady
/// beat's waveforms (PV loops) come with it.
///
/// # Errors
/// Bad tissue or rhythm (named), or a circulation that does not settle.
pub fn run(
    name: &str,
    heart: &Heart,
    tissue: &Tissue,
    rhythm: &Rhythm,
    params: &Parameters,
    progress: &Progress,
) -> Result<(Activation, EpResult, Waveforms), SessionError> {
    let act = heart.activate(tissue, rhythm)?;
    let p = coupled(params, heart, &act)?;
    let sim = twin_cardio::simulate(&p, None, SimOptions::default(), progress)?;
    let result = EpResult {
        name: name.to_owned(),
        activation: act.summary.clone(),
        beat: sim.last().clone(),
    };
    Ok((act, result, sim.waveforms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_ep::heart::Block;

    #[test]
    fn lbbb_lowers_ejection_and_stroke_work_and_crt_restores_part() {
        let heart = demo_heart(1.5).unwrap();
        assert!(
            demo_heart(0.1)
                .unwrap_err()
                .to_string()
                .contains("mesh size")
        );
        let params = Parameters::default();
        let tissue = Tissue::default();
        let progress = Progress::new();
        let rv = heart.site(false, true, 0.85, 0.0).unwrap();
        let lv = heart.site(true, false, 0.5, 180.0).unwrap();
        let crt = Rhythm::crt(Block::Lbbb, rv, lv, 0.0);
        let runs: Vec<EpResult> = [
            ("sinus", Rhythm::sinus()),
            ("LBBB", Rhythm::blocked(Block::Lbbb)),
            ("CRT", crt),
        ]
        .iter()
        .map(|(n, r)| run(n, &heart, &tissue, r, &params, &progress).unwrap().1)
        .collect();
        for r in &runs {
            eprintln!(
                "{}: QRS {:.0} ms, LV−RV {:.0} ms; EF {:.1} %, SV {:.1} mL, stroke work {:.0} mmHg·mL, LVEDP {:.1} mmHg, MAP {:.1} mmHg",
                r.name,
                r.activation.total_ms,
                r.activation.lv_rv_delay_ms,
                r.beat.lv_ef_percent,
                r.beat.lv_sv_ml,
                r.beat.stroke_work_mmhg_ml,
                r.beat.lvedp_mmhg,
                r.beat.map_mmhg
            );
        }
        // The directions of LBBB and CRT (docs/models/ep.md: the summed
        // curves give smaller changes than patients show).
        let (sinus, lbbb, crt) = (&runs[0].beat, &runs[1].beat, &runs[2].beat);
        assert!(lbbb.lv_ef_percent < sinus.lv_ef_percent - 0.5);
        assert!(lbbb.stroke_work_mmhg_ml < sinus.stroke_work_mmhg_ml);
        // CRT: part of it back, not all.
        assert!(crt.lv_ef_percent > lbbb.lv_ef_percent && crt.lv_ef_percent < sinus.lv_ef_percent);
        assert!(crt.stroke_work_mmhg_ml > lbbb.stroke_work_mmhg_ml);
    }
}
