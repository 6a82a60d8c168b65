//! `twin gait forward`: forward simulation of an OpenSim model from muscle
//! excitations, written as an OpenSim states file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
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
    /// `dopri` (Dormand–Prince 5(4), the accurate one) or `euler`
    /// (semi-implicit Euler: first order, one evaluation per step, for
    /// loose tolerances such as 1e-2).
    #[arg(long, value_name = "dopri|euler", default_value = "dopri")]
    pub integrator: twin_msk::forward::integrate::Method,
    /// Interval of the written states (s).
    #[arg(long, default_value_t = 0.001)]
    pub report: f64,
    /// Coordinates held at their initial value.
    #[arg(long, value_name = "NAME")]
    pub lock: Vec<String>,
    /// Muscles simulated with compliant tendons (De Groote's tendon
    /// curve), e.g. `soleus,gastroc` (without `_r`/`_l`: both sides); their
    /// tendon forces start from the initial state's
    /// `…/normalized_tendon_force` or else in equilibrium with isometric
    /// fibres. The rest have rigid tendons.
    #[arg(long, value_delimiter = ',', value_name = "NAME,…")]
    pub compliant: Vec<String>,
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
    if !args.compliant.is_empty() {
        plant.set_compliant(&args.compliant)?;
    }
    let mut warnings = plant.warnings.clone();
    let mut start: State = plant.default_state();
    if let Some(path) = &args.initial {
        let table = Table::read(path)?;
        if table.rows() == 0 {
            anyhow::bail!("`{}` has no rows", path.display());
        }
        start = plant.state_from_table(&table, 0, &start);
        if !plant.table_has_tendon_forces(&table) {
            start = plant.equilibrate(&start);
        }
        plant.locked_values.clone_from(&start.q);
    }
    if !(args.tolerance > 0.0 && args.tolerance < 0.1) {
        anyhow::bail!("--tolerance must be in (0, 0.1), got {}", args.tolerance);
    }
    if !(args.duration.is_finite() && args.duration > 0.0 && args.duration <= 600.0) {
        anyhow::bail!("--duration must be in (0, 600] s, got {}", args.duration);
    }
    let mut controller = if let Some(path) = &args.controls {
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
    } else {
        let mut table = Table::new(
            "controls",
            model.muscles.iter().map(|m| m.name.clone()).collect(),
            false,
        );
        table.push_row(0.0, &start.a);
        Prescribed::new(&plant, &table, 0.0)?
    };
    let settings = Settings {
        method: args.integrator,
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

#[derive(Args, Debug)]
pub struct PredictArgs {
    #[arg(long, value_name = "OSIM")]
    pub model: PathBuf,
    /// Coordinates whose first two rows give the starting pose and speeds
    /// (e.g. the Moco example's `referenceCoordinates.sto`).
    #[arg(long, value_name = "STO")]
    pub start: PathBuf,
    /// A transtibial prosthesis (JSON, as `twin gait so --prosthesis`): its
    /// side's ankle muscles are removed and the controller's two legs are
    /// optimised separately.
    #[arg(long, value_name = "JSON")]
    pub prosthesis: Option<PathBuf>,
    /// With `--prosthesis`: a continuation step from the intact ankle to
    /// the device: that side's ankle muscles at this share of their
    /// strength and the device's moment at the rest of its own (warm-start
    /// the search through 0.7, 0.4, 0.1, 0 from the intact solution).
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub residual_strength: f64,
    /// With `--prosthesis`: residual strengths searched in turn before
    /// `--residual-strength`, each warm-started from the one before (e.g.
    /// 0.9,0.8,0.7,0.5,0.3,0.15); `--generations` each.
    #[arg(long, value_delimiter = ',', value_name = "R1,R2,…")]
    pub continuation: Vec<f64>,
    /// Walking speed band asked of the gait (m/s): MIN,MAX; a wide band
    /// (e.g. 0.5,2) leaves the speed to the metabolic cost (self-selected).
    #[arg(long, value_name = "MIN,MAX", default_value = "1.1,1.4")]
    pub speed: String,
    /// Weaken or strengthen muscles, e.g. `soleus=0.3,gastroc=0.3`
    /// (maximum isometric force × factor; a name without `_r`/`_l` is both
    /// sides').
    #[arg(long, value_name = "NAME=FACTOR,…")]
    pub strength: Option<String>,
    /// Warm start from a saved solution (`solution.json` of a former run).
    #[arg(long, value_name = "JSON")]
    pub init: Option<PathBuf>,
    /// Weight of the ground-force penalty (per BW² per second above 1.3
    /// BW). Default: the `--init` solution's, else 1000.
    #[arg(long, value_name = "W")]
    pub grf_weight: Option<f64>,
    /// Keep the search within the parameters' ranges (SCONE's bounds for
    /// its Geyer & Herr controller, `twin_msk::predict::reflex::
    /// parameter_range`; the start is clipped into them). Default: the
    /// `--init` solution's, else unbounded.
    #[arg(long)]
    pub bounded: bool,
    /// Muscles simulated with compliant tendons, e.g. `soleus,gastroc` (a
    /// name without `_r`/`_l` is both sides'; `none` for all rigid).
    /// Default: the `--init` solution's, else all rigid.
    #[arg(long, value_delimiter = ',', value_name = "NAME,…")]
    pub compliant: Option<Vec<String>>,
    /// How the walks are integrated: `euler` (semi-implicit Euler at
    /// relative tolerance 1e-2, the fast one) or `dopri` (Dormand–Prince
    /// 5(4) at 1e-3). Default: the `--init` solution's, else `euler`.
    #[arg(long, value_name = "euler|dopri")]
    pub integrator: Option<twin_msk::forward::integrate::Method>,
    #[arg(long, default_value_t = 100)]
    pub generations: usize,
    /// CMA-ES population (0: 4 + 3 ln n).
    #[arg(long, default_value_t = 16)]
    pub population: usize,
    /// Simulated time per evaluation (s).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Initial CMA-ES step (in units of each parameter's scale).
    #[arg(long, default_value_t = 1.0)]
    pub sigma: f64,
    /// Restarts of a stalled search (each doubles the population).
    #[arg(long, default_value_t = 4)]
    pub restarts: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A measured trial as MODEL.osim,MOTION.mot,LOADS.xml: the predicted
    /// joint angles over the gait cycle are compared with its strides
    /// (Pearson r and RMS difference of the mean curves).
    #[arg(long, value_name = "MODEL,MOTION,LOADS")]
    pub measured: Option<String>,
    #[arg(long, value_name = "DIR", default_value = "gait-results")]
    pub out: PathBuf,
    /// Keep the predicted walk as a variant of this twin: the twin with
    /// the new variant is written to `DIR/twin.json` (the file given is
    /// not changed).
    #[arg(long, value_name = "TWIN.json")]
    pub keep_in: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct TuneArgs {
    /// The prediction to tune from (needs `--prosthesis`; `--init` is
    /// best a prosthetic solution of `twin gait predict`).
    #[command(flatten)]
    pub predict: PredictArgs,
    /// Dorsiflexion stiffnesses to try (N·m/rad; the plantarflexion
    /// stiffness keeps its ratio).
    #[arg(long, value_delimiter = ',', required = true)]
    pub stiffness: Vec<f64>,
    /// Neutral angles to try (degrees, + dorsiflexion).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0",
        allow_hyphen_values = true
    )]
    pub neutral: Vec<f64>,
    /// Seeds: each setting is searched once per seed.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    pub seeds: Vec<u64>,
}

use twin_session::predict::Solution;

/// What `twin gait predict --json` prints.
#[derive(Serialize)]
struct PredictSummary<'a> {
    outcome: &'a twin_msk::predict::Outcome,
    /// Strides, stance/swing, step length, joint ranges per side, cadence
    /// and asymmetry after the first second.
    gait: &'a twin_msk::predict::metrics::GaitMetrics,
    /// Joint angles over the cycle against `--measured` (empty without).
    agreement: &'a [twin_msk::predict::metrics::Agreement],
    /// Joint work per stride (J/kg), right and left.
    work: &'a [twin_msk::predict::metrics::JointWork; 2],
    grf: PathBuf,
    generations: usize,
    wall_s: f64,
    states: PathBuf,
    solution: PathBuf,
    /// With `--keep-in`: the twin written with the new variant.
    #[serde(skip_serializing_if = "Option::is_none")]
    twin: Option<PathBuf>,
}

/// The prediction's setup from the command line, checked (a bad setting
/// fails before any search).
fn setup_of(args: &PredictArgs) -> anyhow::Result<twin_session::predict::Setup> {
    if !(args.sigma.is_finite() && args.sigma > 0.0 && args.sigma <= 10.0) {
        anyhow::bail!("--sigma must be in (0, 10], got {}", args.sigma);
    }
    if !(0.0..=1.0).contains(&args.residual_strength) {
        anyhow::bail!(
            "--residual-strength must be in [0, 1], got {}",
            args.residual_strength
        );
    }
    if args.prosthesis.is_none() && args.residual_strength != 0.0 {
        anyhow::bail!("--residual-strength needs --prosthesis");
    }
    if args.prosthesis.is_none() && !args.continuation.is_empty() {
        anyhow::bail!("--continuation needs --prosthesis");
    }
    if let Some(r) = args.continuation.iter().find(|r| !(0.0..=1.0).contains(*r)) {
        anyhow::bail!("--continuation: each residual strength must be in [0, 1], got {r}");
    }
    if !(args.duration.is_finite() && args.duration > 0.0 && args.duration <= 120.0) {
        anyhow::bail!("--duration must be in (0, 120] s, got {}", args.duration);
    }
    let strength = args
        .strength
        .as_deref()
        .map(parse_strength)
        .transpose()?
        .unwrap_or_default();
    let prosthesis = args
        .prosthesis
        .as_deref()
        .map(twin_msk::prosthesis::Prosthesis::read)
        .transpose()?;
    let init = args.init.as_deref().map(Solution::read).transpose()?;
    // The `--init` solution's setting, else a new search's; flags override.
    let mut setting = init
        .as_ref()
        .map_or_else(twin_session::predict::Setting::new_search, |s| {
            s.setting.clone()
        });
    if let Some(m) = args.integrator {
        setting.integrator = m;
    }
    match &args.compliant {
        Some(names) if names.iter().any(|n| n == "none") => setting.compliant.clear(),
        Some(names) => setting.compliant.clone_from(names),
        None => {}
    }
    setting.bounded |= args.bounded;
    if let Some(w) = args.grf_weight {
        setting.grf_weight = w;
    }
    let init = init.map(|s| s.parameters);
    let setup = twin_session::predict::Setup {
        model: args.model.clone(),
        start: args.start.clone(),
        prosthesis,
        residual_strength: args.residual_strength,
        continuation: args.continuation.clone(),
        strength,
        speed: parse_speed(&args.speed)?,
        duration: args.duration,
        init,
        search: twin_msk::predict::cmaes::Settings {
            population: args.population,
            generations: args.generations,
            sigma: args.sigma,
            seed: args.seed,
            restarts: args.restarts,
        },
        setting,
    };
    setup.scenario()?;
    setup.start_parameters()?;
    Ok(setup)
}

/// `twin gait predict`.
pub fn predict(args: PredictArgs) -> anyhow::Result<()> {
    use twin_session::predict::{Prediction, run};
    let measured = args.measured.as_deref().map(read_measured).transpose()?;
    let setup = setup_of(&args)?;
    let mut inputs = vec![args.model.as_path(), args.start.as_path()];
    inputs.extend(args.prosthesis.as_deref());
    inputs.extend(args.init.as_deref());
    let solution_path = output(&args.out, "solution.json", &inputs)?;
    let solution_of = |p: &Prediction| Solution::of(&setup, p);
    let clock = Instant::now();
    let progress = twin_core::Progress::new();
    // The best so far is saved as it improves, so that stopping the search
    // loses nothing.
    let prediction = run(&setup, measured.as_deref(), &progress, &mut |p| {
        if !args.json {
            let o = &p.outcome;
            eprintln!(
                "{}generation {:>4}: best {:.3} ({} after {:.2} s, {:.2} m/s) ({:.0} s)",
                if args.continuation.is_empty() {
                    String::new()
                } else {
                    format!("ankle muscles at {:.0} %: ", 100.0 * p.residual_strength)
                },
                p.history.len(),
                o.cost,
                if o.fell { "fell" } else { "walking" },
                o.time,
                o.mean_speed,
                clock.elapsed().as_secs_f64()
            );
        }
        write_solution(&solution_path, &solution_of(p))
            .map_err(|e| twin_session::SessionError::Run(e.to_string()))
    })?;
    let wall = clock.elapsed().as_secs_f64();
    let states_path = output(&args.out, "predicted_states.sto", &inputs)?;
    prediction.states.write(&states_path)?;
    let grf_path = output(&args.out, "predicted_grf.sto", &inputs)?;
    prediction.grf.write(&grf_path)?;
    let solution = solution_of(&prediction);
    write_solution(&solution_path, &solution)?;
    let twin = match &args.keep_in {
        Some(file) => Some(keep_in_twin(
            file,
            &args.out,
            &inputs,
            &prediction,
            &solution,
        )?),
        None => None,
    };
    let summary = PredictSummary {
        outcome: &prediction.outcome,
        gait: &prediction.gait,
        agreement: &prediction.agreement,
        work: &prediction.work,
        grf: grf_path,
        generations: prediction.history.len(),
        wall_s: wall,
        states: states_path,
        solution: solution_path,
        twin,
    };
    emit(args.json, &summary, &[], || print_prediction(&summary))
}

/// The twin of `file` with `prediction` kept as a new variant, written to
/// `DIR/twin.json`; returns where.
fn keep_in_twin(
    file: &Path,
    out: &Path,
    inputs: &[&Path],
    prediction: &twin_session::predict::Prediction,
    solution: &Solution,
) -> anyhow::Result<PathBuf> {
    let (doc, notes) = twin_scenario::TwinDocument::read(file)?;
    for n in &notes {
        eprintln!("note: {n}");
    }
    let mut inputs = inputs.to_vec();
    inputs.push(file);
    let path = output(out, "twin.json", &inputs)?;
    let mut session: twin_session::Session = twin_session::Session::new(doc, Some(path.clone()));
    let name = format!(
        "predicted: {}",
        twin_session::predict::walk_label(solution.prosthesis.as_ref())
    );
    session.apply(&twin_session::ScenarioAction::AddPredicted {
        name,
        prosthesis: solution.prosthesis.clone().map(Box::new),
        predicted: Box::new(prediction.for_twin(solution)?),
    });
    session.doc.touch();
    twin_scenario::store::save(&session.doc, &path)
        .map_err(|e| anyhow::anyhow!("saving {}: {e}", path.display()))?;
    Ok(path)
}

/// What `twin gait tune --json` prints.
#[derive(Serialize)]
struct TuneSummary<'a> {
    landscape: &'a twin_session::predict::Landscape,
    /// Per seed: the optimum's stiffness and neutral angle (null: no walk).
    optimum: Vec<Option<[f64; 2]>>,
    table: PathBuf,
    output: PathBuf,
    wall_s: f64,
}

/// `twin gait tune`.
pub fn tune(args: TuneArgs) -> anyhow::Result<()> {
    use twin_session::predict::{TuneGrid, tune};
    if args.predict.prosthesis.is_none() {
        anyhow::bail!("twin gait tune needs --prosthesis: the device to tune");
    }
    if args.predict.keep_in.is_some() {
        anyhow::bail!(
            "--keep-in applies to twin gait predict; a tuning is kept with its walk from the app's Predicted gait pane"
        );
    }
    let setup = setup_of(&args.predict)?;
    let grid = TuneGrid {
        stiffness: args.stiffness.clone(),
        neutral_deg: args.neutral.clone(),
        seeds: args.seeds.clone(),
    };
    let p = &args.predict;
    let mut inputs = vec![p.model.as_path(), p.start.as_path()];
    inputs.extend(p.prosthesis.as_deref());
    inputs.extend(p.init.as_deref());
    let json_path = output(&p.out, "landscape.json", &inputs)?;
    let csv_path = output(&p.out, "landscape.csv", &inputs)?;
    let clock = Instant::now();
    let progress = twin_core::Progress::new();
    let landscape = tune(&setup, &grid, &progress, &mut |c| {
        if !p.json {
            eprintln!(
                "stiffness {:>6.0} N·m/rad, neutral {:+.1}°, seed {}: {} ({:.2} J/kg/m, {:.2} m/s, asymmetry {:+.1} %) ({:.0} s)",
                c.stiffness,
                c.neutral_deg,
                c.seed,
                if c.outcome.fell {
                    format!("fell after {:.2} s", c.outcome.time)
                } else if c.walked() {
                    "walks".into()
                } else {
                    "no walk (outside the speed band)".into()
                },
                c.outcome.cost_of_transport,
                c.outcome.mean_speed,
                c.stance_asymmetry_percent,
                clock.elapsed().as_secs_f64()
            );
        }
    })?;
    let mut csv = String::from(
        "stiffness_nm_per_rad,neutral_deg,seed,fell,time_s,cost,cost_of_transport_j_per_kg_m,speed_m_per_s,stance_asymmetry_percent\n",
    );
    for c in &landscape.cells {
        let _ = writeln!(
            csv,
            "{},{},{},{},{:.3},{:.4},{:.4},{:.4},{:.2}",
            c.stiffness,
            c.neutral_deg,
            c.seed,
            c.outcome.fell,
            c.outcome.time,
            c.outcome.cost,
            c.outcome.cost_of_transport,
            c.outcome.mean_speed,
            c.stance_asymmetry_percent
        );
    }
    write_whole(&csv_path, csv.as_bytes())?;
    write_whole(
        &json_path,
        serde_json::to_string_pretty(&landscape)?.as_bytes(),
    )?;
    let optimum = landscape
        .optimum
        .iter()
        .map(|o| o.map(|[i, j]| [landscape.stiffness[i], landscape.neutral_deg[j]]))
        .collect();
    let summary = TuneSummary {
        landscape: &landscape,
        optimum,
        table: csv_path,
        output: json_path,
        wall_s: clock.elapsed().as_secs_f64(),
    };
    emit(p.json, &summary, &[], || print_landscape(&summary))
}

/// The landscape as a table of mean cost of transport (rows: stiffness,
/// columns: neutral angle), the optimum per seed and its stability.
fn print_landscape(s: &TuneSummary) {
    let l = s.landscape;
    print!(
        "cost of transport (J/kg/m, mean over walking seeds)\n{:>10}",
        "k \\ θ"
    );
    for n in &l.neutral_deg {
        print!("{n:>9.1}°");
    }
    println!();
    for (i, k) in l.stiffness.iter().enumerate() {
        print!("{k:>10.0}");
        for j in 0..l.neutral_deg.len() {
            match l.mean(i, j, |c| c.outcome.cost_of_transport) {
                Some(v) => print!("{v:>10.2}"),
                None => print!("{:>10}", "no walk"),
            }
        }
        println!();
    }
    for (seed, o) in l.seeds.iter().zip(&s.optimum) {
        match o {
            Some([k, n]) => println!("seed {seed}: optimum {k:.0} N·m/rad at {n:+.1}°"),
            None => println!("seed {seed}: no setting walked"),
        }
    }
    println!(
        "{}\ntable: {}\nlandscape: {}",
        if l.stable {
            "the optimum holds within one grid step across the seeds"
        } else {
            "the optimum does NOT hold within one grid step across the seeds"
        },
        s.table.display(),
        s.output.display()
    );
}

/// `twin gait predict`'s summary as text.
fn print_prediction(s: &PredictSummary) {
    let o = s.outcome;
    println!(
        "{} generations in {:.0} s: cost {:.3}; {} after {:.2} s, {:.2} m at {:.2} m/s, {:.2} J/kg/m",
        s.generations,
        s.wall_s,
        o.cost,
        if o.fell { "fell" } else { "still walking" },
        o.time,
        o.distance,
        o.mean_speed,
        o.cost_of_transport
    );
    print_gait(s.gait);
    for (side, w) in ["right", "left"].iter().zip(s.work) {
        println!(
            "  {side} joint work per stride (J/kg, + / −): hip {:.2} / {:.2}, knee {:.2} / {:.2}, ankle {:.2} / {:.2} ({} strides)",
            w.positive_j_per_kg[0],
            w.negative_j_per_kg[0],
            w.positive_j_per_kg[1],
            w.negative_j_per_kg[1],
            w.positive_j_per_kg[2],
            w.negative_j_per_kg[2],
            w.strides
        );
    }
    if !s.agreement.is_empty() {
        println!("against the measured trial (mean curves over the cycle):");
    }
    for a in s.agreement {
        println!("  {a}");
    }
    println!(
        "states: {}\nground forces: {}\nsolution: {}",
        s.states.display(),
        s.grf.display(),
        s.solution.display()
    );
    if let Some(t) = &s.twin {
        println!("twin with the walk kept as a variant: {}", t.display());
    }
}

/// `--speed MIN,MAX` (m/s).
fn parse_speed(spec: &str) -> anyhow::Result<[f64; 2]> {
    let band: Vec<f64> = spec
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("--speed `{spec}`: expected MIN,MAX in m/s, e.g. 1.1,1.4"))?;
    match band[..] {
        [lo, hi] if lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo <= hi && hi <= 5.0 => {
            Ok([lo, hi])
        }
        _ => anyhow::bail!("--speed `{spec}`: expected 0 ≤ MIN ≤ MAX ≤ 5 m/s"),
    }
}

/// `--strength NAME=FACTOR,…`.
fn parse_strength(spec: &str) -> anyhow::Result<Vec<(String, f64)>> {
    spec.split(',')
        .map(|pair| {
            let (name, factor) = pair.split_once('=').ok_or_else(|| {
                anyhow::anyhow!("--strength `{pair}`: expected NAME=FACTOR, e.g. soleus=0.3")
            })?;
            let factor: f64 = factor
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("--strength `{pair}`: `{factor}` is not a number"))?;
            Ok((name.trim().to_owned(), factor))
        })
        .collect()
}

/// `--measured MODEL.osim,MOTION.mot,LOADS.xml`: the trial's joint angles
/// over its strides.
fn read_measured(arg: &str) -> anyhow::Result<Vec<twin_msk::gait::CycleSeries>> {
    let parts: Vec<&str> = arg.split(',').map(str::trim).collect();
    let [model, motion, loads] = parts[..] else {
        anyhow::bail!("--measured `{arg}`: expected MODEL.osim,MOTION.mot,LOADS.xml");
    };
    twin_session::predict::measured_angles(model.as_ref(), motion.as_ref(), loads.as_ref())
        .map_err(|e| anyhow::anyhow!("--measured: {e}"))
}

/// Writes a solution whole or not at all.
fn write_solution(path: &std::path::Path, solution: &Solution) -> anyhow::Result<()> {
    write_whole(path, serde_json::to_string_pretty(solution)?.as_bytes())
}

/// Writes a file whole or not at all, naming it when that fails.
fn write_whole(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    twin_core::paths::write_atomically(path, bytes)
        .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", path.display()))
}

/// The gait metrics as lines of text.
fn print_gait(g: &twin_msk::predict::metrics::GaitMetrics) {
    println!(
        "after {:.1} s: {:.2} m/s, {:.0} steps/min, stance asymmetry {:+.1} %",
        g.from_s, g.speed_m_per_s, g.cadence_steps_per_min, g.stance_asymmetry_percent
    );
    for (name, s) in [("right", &g.right), ("left", &g.left)] {
        println!(
            "  {name}: {} strikes, stance {:.2} s ({:.0} %), swing {:.2} s, step {:.2} m, \
             hip {:.0}…{:.0}°, knee {:.0}…{:.0}°, ankle {:.0}…{:.0}°, peak GRF {:.2} BW",
            s.strikes,
            s.stance_s,
            s.stance_percent,
            s.swing_s,
            s.step_length_m,
            s.hip_deg[0],
            s.hip_deg[1],
            s.knee_deg[0],
            s.knee_deg[1],
            s.ankle_deg[0],
            s.ankle_deg[1],
            s.peak_grf_bw
        );
    }
}
