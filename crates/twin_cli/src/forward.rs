//! `twin gait forward`: forward simulation of an OpenSim model from muscle
//! excitations, written as an OpenSim states file.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde::Serialize;
use twin_msk::forward::integrate::{Prescribed, Settings, simulate};
use twin_msk::forward::{Plant, State};
use twin_msk::{Model, Table};

use crate::gait::{emit, output, stem};

#[derive(Args, Debug)]
pub struct ForwardArgs {
    #[arg(long, value_name = "OSIM")]
    pub model: PathBuf,
    /// Muscle excitations and actuator controls over time (`.sto`, columns
    /// named by muscle or `/forceset/<muscle>`; linear between rows).
    /// Without it every muscle keeps its default activation as excitation.
    #[arg(long, value_name = "STO")]
    pub controls: Option<PathBuf>,
    /// Initial state (`.sto`, first row: `/jointset/…/value`, `…/speed`,
    /// `/forceset/…/activation`, or bare coordinate names); the rest from
    /// the model's defaults.
    #[arg(long, value_name = "STO")]
    pub initial: Option<PathBuf>,
    /// Simulated time (s).
    #[arg(long, value_name = "S")]
    pub duration: f64,
    /// Relative error tolerance of the integrator.
    #[arg(long, default_value_t = 1e-5)]
    pub tolerance: f64,
    /// Interval of the written states (s).
    #[arg(long, default_value_t = 0.001)]
    pub report: f64,
    /// Coordinates held at their initial value.
    #[arg(long, value_name = "NAME")]
    pub lock: Vec<String>,
    #[arg(long, value_name = "DIR", default_value = "gait-results")]
    pub out: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct ForwardSummary {
    model: String,
    duration_s: f64,
    steps: usize,
    evaluations: usize,
    wall_s: f64,
    /// Simulated seconds per wall-clock second.
    real_time_factor: f64,
    /// Peak total vertical contact force (in body weights).
    peak_vertical_grf_bw: f64,
    states: PathBuf,
    contact_forces: PathBuf,
    warnings: Vec<String>,
}

/// `twin gait forward`.
pub fn forward(args: ForwardArgs) -> anyhow::Result<()> {
    let model = Model::read(&args.model)?;
    let locked: Vec<&str> = args.lock.iter().map(String::as_str).collect();
    let mut plant = Plant::new(&model, &locked)?;
    let mut warnings = plant.warnings.clone();
    let mut start: State = plant.default_state();
    if let Some(path) = &args.initial {
        let table = Table::read(path)?;
        if table.rows() == 0 {
            anyhow::bail!("`{}` has no rows", path.display());
        }
        start = plant.state_from_table(&table, 0, &start);
        plant.locked_values.clone_from(&start.q);
    }
    if !(args.tolerance > 0.0 && args.tolerance < 0.1) {
        anyhow::bail!("--tolerance must be in (0, 0.1), got {}", args.tolerance);
    }
    if !(args.duration.is_finite() && args.duration > 0.0 && args.duration <= 600.0) {
        anyhow::bail!("--duration must be in (0, 600] s, got {}", args.duration);
    }
    let mut controller = match &args.controls {
        Some(path) => {
            let table = Table::read(path)?;
            let c = Prescribed::new(&plant, &table, 0.0).map_err(|e| e.in_file(path))?;
            let missing = c.missing(&plant);
            if !missing.is_empty() {
                warnings.push(format!(
                    "`{}` does not drive {} (excitation 0): {}",
                    path.display(),
                    missing.len(),
                    missing.join(", ")
                ));
            }
            c
        }
        None => {
            let mut table = Table::new(
                "controls",
                model.muscles.iter().map(|m| m.name.clone()).collect(),
                false,
            );
            table.push_row(0.0, &start.a);
            Prescribed::new(&plant, &table, 0.0)?
        }
    };
    let settings = Settings {
        rtol: args.tolerance,
        atol: args.tolerance * 0.1,
        report: args.report.max(0.0),
        ..Settings::default()
    };
    let clock = Instant::now();
    let traj = simulate(
        &plant,
        &start,
        args.duration,
        &mut controller,
        None,
        &settings,
        None,
    )?;
    let wall = clock.elapsed().as_secs_f64();
    let mut inputs = vec![args.model.as_path()];
    inputs.extend(args.controls.as_deref());
    inputs.extend(args.initial.as_deref());
    let name = stem(&args.model);
    let states_path = output(&args.out, &format!("{name}_forward_states.sto"), &inputs)?;
    traj.states_table(&plant).write(&states_path)?;
    let mut labels = Vec::new();
    for c in &model.contacts {
        for axis in ["x", "y", "z"] {
            labels.push(format!("{}_force_{axis}", c.name));
        }
        for axis in ["x", "y", "z"] {
            labels.push(format!("{}_point_{axis}", c.name));
        }
    }
    let mut contacts = Table::new("contact_forces", labels, false);
    let weight = -model.mass() * model.gravity.y;
    let mut peak = 0.0f64;
    for (s, c) in traj.states.iter().zip(&traj.contacts) {
        let mut row = Vec::new();
        for (f, p) in c {
            row.extend(f.iter());
            row.extend(p.iter());
        }
        peak = peak.max(c.iter().map(|(f, _)| f.y).sum::<f64>() / weight);
        contacts.push_row(s.t, &row);
    }
    let contacts_path = output(&args.out, &format!("{name}_forward_contacts.sto"), &inputs)?;
    contacts.write(&contacts_path)?;
    if let Some(why) = &traj.stopped {
        warnings.push(why.clone());
    }
    let summary = ForwardSummary {
        model: model.name.clone(),
        duration_s: args.duration,
        steps: traj.steps,
        evaluations: traj.evaluations,
        wall_s: wall,
        real_time_factor: args.duration / wall.max(1e-9),
        peak_vertical_grf_bw: peak,
        states: states_path.clone(),
        contact_forces: contacts_path,
        warnings: warnings.clone(),
    };
    emit(args.json, &summary, &warnings, || {
        println!(
            "{}: {:.3} s simulated in {:.3} s ({:.0}× real time), {} steps, {} evaluations",
            model.name, args.duration, wall, summary.real_time_factor, traj.steps, traj.evaluations
        );
        println!("states: {}", states_path.display());
    })
}
