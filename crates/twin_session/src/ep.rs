//! Cardiac electrophysiology as the session runs it (issue 25): the
//! ventricles meshed from a label map, their activation under a rhythm,
//! and that activation driving each ventricle's contraction in the
//! circulation (its elastance the volume-weighted sum of the activation
//! curve delayed by each region's activation time,
//! `twin_cardio::Spread`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use twin_cardio::{BeatIndices, Intervention, Parameters, SimOptions, Spread, Waveforms};
use twin_core::Progress;
use twin_ep::heart::{Activation, Heart, Rhythm, Summary, Tissue};
use twin_ep::mesh::{LabelGrid, TetMesh, label};
use twin_scenario::document::{EpHeart, EpSetting};
use twin_scenario::{TwinDocument, Variant};

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

/// A tetrahedral mesh file (legacy VTK, `region` and `tags` as
/// `twin_ep::io` reads them) as the patient's ventricles.
///
/// # Errors
/// The file cannot be read (named) or is not such a mesh, or it lacks a
/// tagged surface.
pub fn heart_from_file(path: &Path) -> Result<Heart, SessionError> {
    let text = twin_core::limits::read_text(path, 2 << 30, "tetrahedral mesh")
        .map_err(|e| SessionError::input(path.display().to_string(), e))?;
    let mesh = twin_ep::io::from_vtk(&text, &path.display().to_string())?;
    Ok(Heart::new(mesh, ANTERIOR_LPS)?)
}

/// The ventricles an EP what-if names.
///
/// # Errors
/// As [`demo_heart`] or [`heart_from_file`].
pub fn load_heart(heart: &EpHeart) -> Result<Heart, SessionError> {
    match heart {
        EpHeart::Demo { mesh_mm } => demo_heart(*mesh_mm),
        EpHeart::Mesh { path } => heart_from_file(path),
    }
}

/// The activation's spreads as the intervention a variant's cardiac run
/// applies.
///
/// # Errors
/// An activation longer than the spread covers (310 ms).
pub fn activation_intervention(
    heart: &Heart,
    act: &Activation,
) -> Result<Intervention, SessionError> {
    Ok(Intervention::activation(
        Spread::from_delays(&heart.delays(act, true), SPREAD_BIN_MS)?,
        Spread::from_delays(&heart.delays(act, false), SPREAD_BIN_MS)?,
    ))
}

/// An EP what-if's numbers as a variant keeps them (ms): total (QRS),
/// LV, RV activation, LV − RV delay, nodes not reached, and QLV at the
/// rhythm's LV lead (the intrinsic activation's delay there, the block
/// kept: `intrinsic` when the caller has it, else activated in `tissue`).
///
/// # Errors
/// Bad tissue (named).
pub fn ep_results(
    heart: &Heart,
    tissue: &Tissue,
    rhythm: &Rhythm,
    act: &Activation,
    intrinsic: Option<&Activation>,
) -> Result<BTreeMap<String, f64>, SessionError> {
    let s = &act.summary;
    let mut r = BTreeMap::from([
        ("ep_total_activation_ms".to_owned(), s.total_ms),
        ("ep_lv_activation_ms".to_owned(), s.lv_total_ms),
        ("ep_rv_activation_ms".to_owned(), s.rv_total_ms),
        ("ep_lv_rv_delay_ms".to_owned(), s.lv_rv_delay_ms),
        ("ep_unreached_nodes".to_owned(), s.unreached as f64),
    ]);
    let lv_lead = rhythm
        .leads
        .iter()
        .find(|l| heart.coords.lv[heart.mesh.nearest_node(l.position)]);
    if let Some(lead) = lv_lead {
        let qlv = match intrinsic {
            Some(i) => heart.qlv_ms(i, lead.position),
            None => heart.qlv_ms(
                &heart.activate(tissue, &Rhythm::blocked(rhythm.block))?,
                lead.position,
            ),
        };
        r.insert("ep_qlv_ms".into(), qlv);
    }
    Ok(r)
}

/// An EP what-if as a twin variant: its setting, its activation as the
/// `activation` intervention (after `others`, the variant's other
/// cardiac interventions) so that the variant's cardiac run contracts as
/// it activates, and its numbers.
///
/// # Errors
/// Bad tissue or rhythm (named), or an activation longer than the
/// spread covers.
pub fn variant(
    name: &str,
    setting: EpSetting,
    heart: &Heart,
    others: &[Intervention],
) -> Result<Variant, SessionError> {
    let act = heart.activate(&setting.tissue, &setting.rhythm)?;
    variant_of(name, setting, heart, others, &act, None)
}

/// [`variant`] from an activation already computed (`act`, of `setting`
/// on `heart`), and the intrinsic one its QLV is read from when the
/// caller has it.
///
/// # Errors
/// As [`variant`].
pub fn variant_of(
    name: &str,
    setting: EpSetting,
    heart: &Heart,
    others: &[Intervention],
    act: &Activation,
    intrinsic: Option<&Activation>,
) -> Result<Variant, SessionError> {
    let mut cardio: Vec<Intervention> = others
        .iter()
        .filter(|i| !matches!(i, Intervention::Activation(_)))
        .cloned()
        .collect();
    cardio.push(activation_intervention(heart, act)?);
    let results = ep_results(heart, &setting.tissue, &setting.rhythm, act, intrinsic)?;
    Ok(Variant {
        name: name.to_owned(),
        description: setting.rhythm.to_string(),
        cardio,
        results,
        ep: Some(setting),
        ..Variant::default()
    })
}

/// Reruns every EP variant of `doc` on its heart (each heart built once):
/// its activation intervention and `ep_*` numbers replaced (its other
/// interventions and results kept). Returns the names of the variants
/// rerun.
///
/// # Errors
/// A heart cannot be loaded or a variant's setting is bad: the message
/// names the variant.
pub fn rerun_variants(
    doc: &mut TwinDocument,
    progress: &Progress,
) -> Result<Vec<String>, SessionError> {
    let mut hearts: Vec<(EpHeart, Heart)> = Vec::new();
    let mut names = Vec::new();
    let count = doc.variants.iter().filter(|v| v.ep.is_some()).count();
    progress.begin("EP variants", count as u64);
    for v in &mut doc.variants {
        let Some(setting) = v.ep.clone() else {
            continue;
        };
        if progress.is_cancelled() {
            return Err(SessionError::Run("cancelled".into()));
        }
        let at = if let Some(i) = hearts.iter().position(|(h, _)| *h == setting.heart) {
            i
        } else {
            let heart = load_heart(&setting.heart)
                .map_err(|e| SessionError::Run(format!("variant `{}`: {e}", v.name)))?;
            hearts.push((setting.heart.clone(), heart));
            hearts.len() - 1
        };
        let fresh = variant(&v.name, setting, &hearts[at].1, &v.cardio)
            .map_err(|e| SessionError::Run(format!("variant `{}`: {e}", v.name)))?;
        v.cardio = fresh.cardio;
        v.results.retain(|k, _| !k.starts_with("ep_"));
        v.results.extend(fresh.results);
        names.push(v.name.clone());
        progress.advance(1);
    }
    Ok(names)
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
    activation_intervention(heart, act)?.apply(&mut p, &mut None)?;
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

    #[test]
    fn ep_what_ifs_are_twin_variants_that_save_rerun_and_drive_the_cardiac_runs() {
        let demo = EpHeart::Demo { mesh_mm: 1.5 };
        let heart = load_heart(&demo).unwrap();
        let setting = |rhythm: Rhythm| EpSetting {
            heart: demo.clone(),
            rhythm,
            tissue: Tissue::default(),
        };
        let rv = heart.site(false, true, 0.85, 0.0).unwrap();
        let lv = heart.site(true, false, 0.5, 180.0).unwrap();
        let mut doc = TwinDocument::new("EP twin");
        for (name, r) in [
            ("sinus", Rhythm::sinus()),
            ("LBBB", Rhythm::blocked(Block::Lbbb)),
            ("CRT", Rhythm::crt(Block::Lbbb, rv, lv, 0.0)),
        ] {
            doc.variants
                .push(variant(name, setting(r), &heart, &[]).unwrap());
        }
        let lbbb = &doc.variants[1];
        assert_eq!(lbbb.description, "LBBB");
        let qrs = lbbb.results["ep_total_activation_ms"];
        assert!((140.0..=180.0).contains(&qrs), "{qrs}");
        assert!(matches!(lbbb.cardio[..], [Intervention::Activation(_)]));
        // QLV only where an LV lead paces: the CRT's LV lead.
        assert!(!lbbb.results.contains_key("ep_qlv_ms"));
        let qlv = doc.variants[2].results["ep_qlv_ms"];
        assert!(qlv > 0.5 * qrs, "{qlv}");
        // The twin file keeps the settings: saved, read back, rerun to the
        // same numbers.
        let dir = std::env::temp_dir().join(format!("twin-ep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ep.twin.json");
        twin_scenario::store::save(&doc, &path).unwrap();
        let (mut back, notes) = TwinDocument::read(&path).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(back.variants, doc.variants);
        back.variants[1]
            .results
            .insert("ep_total_activation_ms".into(), 0.0);
        let rerun = rerun_variants(&mut back, &Progress::new()).unwrap();
        assert_eq!(rerun, ["sinus", "LBBB", "CRT"]);
        assert!((back.variants[1].results["ep_total_activation_ms"] - qrs).abs() < 1e-9);
        std::fs::remove_dir_all(&dir).ok();
        // The cardiac runs of the variants: LBBB's stroke work below
        // sinus rhythm's, CRT's back above LBBB's.
        let (_, runs) = crate::runs::run_cardio(&doc, &Progress::new()).unwrap();
        let sw: Vec<f64> = runs.iter().map(|r| r.indices.stroke_work_mmhg_ml).collect();
        eprintln!("variants' stroke work (sinus, LBBB, CRT): {sw:.0?} mmHg·mL");
        assert!(sw[1] < sw[0] && sw[2] > sw[1], "{sw:?}");
        // A bad mesh file is named.
        let err = load_heart(&EpHeart::Mesh {
            path: dir.join("missing.vtk"),
        })
        .unwrap_err();
        assert!(err.to_string().contains("missing.vtk"), "{err}");
    }
}
