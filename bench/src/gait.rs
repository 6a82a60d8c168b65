//! Gait benchmarks on the shared OpenSim data: inverse kinematics and
//! inverse dynamics as whole tool runs (read the model and the data, solve,
//! write the result), as the peer's `opensim` tools do. INPUT names a case:
//! `ik-gait2354@MSKDIR`, `ik-gait10dof@MSKDIR`, `id-gait2354@MSKDIR`,
//! `id-gait10dof@MSKDIR`, `so-gait2354@MSKDIR`, `so-gait10dof@MSKDIR`;
//! `items` = frames solved. `whatif-gait2354@MSKDIR` and
//! `whatif-gait10dof@MSKDIR` time one prosthesis what-if (what a slider
//! change reruns: fit the device, static optimisation, inverse dynamics,
//! the comparison's curves and indices) on a case read beforehand.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use twin_core::Progress;
use twin_msk::dynamics::{IdOptions, inverse_dynamics};
use twin_msk::ik::{inverse_kinematics, read_task_weights};
use twin_msk::loads::ExternalLoads;
use twin_msk::optimization::{SoOptions, static_optimization_with};
use twin_msk::prosthesis::Prosthesis;
use twin_msk::whatif::GaitCase;
use twin_msk::{Markers, Model, Table};

/// The walk of gait2354 (subject01 walk1) or of gait10dof18musc, read:
/// model, motion and loads.
fn walk(root: &Path, gait2354: bool) -> anyhow::Result<(Model, Table, ExternalLoads)> {
    let (dir, model, motion, loads) = if gait2354 {
        (
            root.join("gait2354_subject01"),
            "subject01.osim",
            "subject01_walk1_ik.mot",
            "subject01_walk1_grf.xml",
        )
    } else {
        (
            root.join("gait10dof18musc"),
            "gait10dof18musc_subject01.osim",
            "subject01_walk_IK.mot",
            "gait10dof18musc_subject01_walk_grf.xml",
        )
    };
    let m = Model::read(&dir.join(model))?;
    let q = Table::read(&dir.join(motion))?;
    let l = ExternalLoads::read(&dir.join(loads), &m, None)?;
    Ok((m, q, l))
}

/// The static-optimisation trial: [`walk`] with the options, over 0.5–1.6
/// s (gait2354) or 0.6–1.9 s (gait10dof18musc).
fn muscle_trial(
    root: &Path,
    gait2354: bool,
) -> anyhow::Result<(Model, Table, ExternalLoads, SoOptions)> {
    let (m, q, l) = walk(root, gait2354)?;
    let range = if gait2354 { [0.5, 1.6] } else { [0.6, 1.9] };
    let options = SoOptions {
        time_range: Some(range),
        ..SoOptions::default()
    };
    Ok((m, q, l, options))
}

/// Runs one case; returns (seconds, frames).
pub fn run(spec: &str) -> anyhow::Result<(f64, usize)> {
    let (case, root) = spec
        .split_once('@')
        .context("gait tasks take CASE@MSKDIR")?;
    let root = Path::new(root);
    let out = std::env::temp_dir().join(format!("twin-bench-gait-{}", std::process::id()));
    std::fs::create_dir_all(&out)?;
    let g2354 = root.join("gait2354_subject01");
    let g10 = root.join("gait10dof18musc");
    let mut t = Instant::now();
    let frames = match case {
        "ik-gait2354" | "ik-gait10dof" => {
            let (model, trc, range) = if case == "ik-gait2354" {
                (
                    g2354.join("ik_check/subject01_simbody.osim"),
                    g2354.join("ik_check/subject01_synthetic_marker_data.trc"),
                    [0.4, 1.6],
                )
            } else {
                (
                    g10.join("gait10dof18musc_subject01.osim"),
                    g2354.join("subject01_walk1.trc"),
                    [0.0, 2.5],
                )
            };
            let m = Model::read(&model)?;
            let markers = Markers::read_trc(&trc)?;
            let weights = read_task_weights(&g2354.join("ik_check/gait2354_IK_Tasks_uniform.xml"))?;
            let ik = inverse_kinematics(&m, &markers, Some(&weights), Some(range))?;
            ik.coordinates.write(&out.join("ik.mot"))?;
            ik.coordinates.rows()
        }
        "id-gait2354" | "id-gait10dof" => {
            let gait2354 = case == "id-gait2354";
            let (m, q, l) = walk(root, gait2354)?;
            let range = if gait2354 { [0.5, 1.6] } else { [0.0, 2.5] };
            let options = IdOptions {
                cutoff_hz: Some(6.0),
                time_range: Some(range),
            };
            let (id, _) = inverse_dynamics(&m, &q, Some(&l), options)?;
            id.write(&out.join("id.sto"))?;
            id.rows()
        }
        "so-gait2354" | "so-gait10dof" => {
            let (m, q, l, options) = muscle_trial(root, case.ends_with("gait2354"))?;
            let so = static_optimization_with(&m, &q, Some(&l), options, &Progress::new())?;
            so.activations.write(&out.join("activation.sto"))?;
            so.forces.write(&out.join("force.sto"))?;
            so.activations.rows()
        }
        "whatif-gait2354" | "whatif-gait10dof" => {
            let (m, q, l, options) = muscle_trial(root, case.ends_with("gait2354"))?;
            let whatif = GaitCase::new(m, q, l, options)?;
            let device = Prosthesis {
                side: "right".into(),
                stiffness_nm_per_rad: 400.0,
                plantar_stiffness_nm_per_rad: None,
                damping_nms_per_rad: 1.0,
                neutral_angle_deg: 0.0,
                alignment_offset_deg: 0.0,
                mass_kg: Some(1.2),
            };
            t = Instant::now();
            let outcome = whatif.run(Some(&device), &Progress::new())?;
            outcome.so.activations.rows()
        }
        "forward-2d" | "forward-2d-euler" => {
            // The Moco 2D model from the reference's first pose and speeds,
            // every muscle at 0.1 excitation, 1 s: Dormand–Prince at rtol
            // 1e-5, or semi-implicit Euler at the predictive searches'
            // 1e-2.
            let dir = root.join("moco_2d_gait");
            let m = Model::read(&dir.join("2D_gait.osim"))?;
            let coords = Table::read(&dir.join("referenceCoordinates.sto"))?;
            let plant = twin_msk::forward::Plant::new(&m, &[])?;
            let start = plant.start_from_coordinates(&coords, 0.05)?;
            let mut controls = Table::new(
                "controls",
                m.muscles.iter().map(|x| x.name.clone()).collect(),
                false,
            );
            controls.push_row(0.0, &vec![0.1; m.muscles.len()]);
            let mut c = twin_msk::forward::integrate::Prescribed::new(&plant, &controls, 0.1)?;
            let method = if case == "forward-2d" {
                twin_msk::forward::integrate::Method::DormandPrince
            } else {
                twin_msk::forward::integrate::Method::SemiImplicitEuler
            };
            let (rtol, atol) = if case == "forward-2d" {
                (1e-5, 1e-6)
            } else {
                method.walking_tolerances()
            };
            let settings = twin_msk::forward::integrate::Settings {
                method,
                rtol,
                atol,
                report: 0.001,
                ..Default::default()
            };
            let traj = twin_msk::forward::integrate::simulate(
                &plant, &start, 1.0, &mut c, None, &settings, None,
            )?;
            traj.states_table(&plant).write(&out.join("states.sto"))?;
            1000
        }
        other => bail!("unknown gait case `{other}`"),
    };
    let seconds = t.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&out)?;
    Ok((seconds, frames))
}
