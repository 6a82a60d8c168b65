//! `twin gait …`: inverse kinematics and inverse dynamics from OpenSim
//! models and motion data, writing `.mot`/`.sto` files OpenSim opens and a
//! JSON summary.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use twin_msk::dynamics::{IdOptions, inverse_dynamics};
use twin_msk::gait::{CONTACT_THRESHOLD_N, cycle_series, events, strides_by_side};
use twin_msk::ik::{inverse_kinematics, read_task_weights};
use twin_msk::loads::ExternalLoads;
use twin_msk::model::Motion;
use twin_msk::normative::{Reference, ReferenceBuilder};
use twin_msk::optimization::{SoOptions, static_optimization_with};
use twin_msk::{C3dTrial, Markers, Model, Table};

#[derive(Subcommand, Debug)]
pub enum GaitCommand {
    /// Scale factors for a generic model from a static trial, by OpenSim
    /// ScaleTool measurements (marker-pair distances), and the subject's
    /// mass; writes them as JSON for `--scale` of `ik` and `id`.
    Scale(ScaleArgs),
    /// Inverse kinematics: coordinates that place the model's markers on a
    /// trial's (`.trc`, or the points of a `.c3d` rotated to Y up).
    Ik(IkArgs),
    /// Convert a C3D trial for OpenSim: markers as `.trc` (mm) and the force
    /// plates as a GRF `.mot` (force, centre of pressure and free moment per
    /// plate, at the analog rate), rotated from the lab's Z up to Y up.
    C3d(C3dArgs),
    /// Inverse dynamics: joint moments from coordinates and ground reaction
    /// forces.
    Id(IdArgs),
    /// Static optimisation: muscle activations and forces that make the
    /// inverse-dynamics moments at the least sum of squared activations,
    /// with a reserve actuator on every coordinate the muscles span.
    So(SoArgs),
    /// Build a reference (normal database) file from healthy trials: the
    /// mean and SD over all their strides of every rotational coordinate's
    /// angle (deg) and inverse-dynamics moment (N·m/kg), both sides pooled.
    Norm(NormArgs),
    /// Forward simulation: the motion that muscle excitations produce
    /// (multibody dynamics, DeGrooteFregly muscles, foot–ground contact),
    /// written as an OpenSim states file.
    Forward(crate::forward::ForwardArgs),
    /// Predictive simulation: walking found by optimising a reflex
    /// controller (Geyer & Herr 2010) of the forward model with CMA-ES,
    /// with or without a transtibial prosthesis.
    Predict(Box<crate::forward::PredictArgs>),
    /// Device tuning: the prosthesis's stiffness × neutral angle, each
    /// setting's gait re-optimised under several seeds; the metabolic and
    /// asymmetry landscape, the optimum per seed and whether it holds.
    Tune(Box<crate::forward::TuneArgs>),
}

#[derive(Args, Debug)]
pub struct ScaleArgs {
    #[arg(long, value_name = "OSIM")]
    model: PathBuf,
    /// The static trial (`.trc`).
    #[arg(long, value_name = "TRC")]
    r#static: PathBuf,
    /// ScaleTool setup (or MeasurementSet) with the measurements.
    #[arg(long, value_name = "XML")]
    setup: PathBuf,
    /// Subject mass (kg); the model's mass distribution is kept.
    #[arg(long, value_name = "KG")]
    mass: Option<f64>,
    #[arg(long, value_name = "T0:T1")]
    time: Option<String>,
    #[arg(long, value_name = "DIR", default_value = "gait-results")]
    out: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct IkArgs {
    #[arg(long, value_name = "OSIM")]
    model: PathBuf,
    /// Scale the model first by a `twin gait scale` result.
    #[arg(long, value_name = "JSON")]
    scale: Option<PathBuf>,
    /// Marker trajectories (`.trc` or `.c3d`).
    #[arg(long, value_name = "TRC")]
    trc: PathBuf,
    /// OpenSim IKTaskSet with marker weights (default: all markers, weight 1).
    #[arg(long, value_name = "XML")]
    tasks: Option<PathBuf>,
    /// Only frames in this time range (s), e.g. 0.4:1.6.
    #[arg(long, value_name = "T0:T1")]
    time: Option<String>,
    /// Output folder (created; never inside an input's folder).
    #[arg(long, value_name = "DIR", default_value = "gait-results")]
    out: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct C3dArgs {
    /// The C3D file.
    file: PathBuf,
    /// Normal force (N) below which a plate counts as unloaded.
    #[arg(long, default_value_t = 20.0)]
    threshold: f64,
    /// Keep the lab's axes (no Z-up → Y-up rotation).
    #[arg(long)]
    keep_axes: bool,
    #[arg(long, value_name = "DIR", default_value = "gait-results")]
    out: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct IdArgs {
    #[arg(long, value_name = "OSIM")]
    model: PathBuf,
    /// Scale the model first by a `twin gait scale` result.
    #[arg(long, value_name = "JSON")]
    scale: Option<PathBuf>,
    /// Coordinates over time (`.mot`/`.sto`, e.g. from `twin gait ik`).
    #[arg(long, value_name = "MOT")]
    motion: PathBuf,
    /// Ground reaction forces (`.mot`/`.sto`).
    #[arg(long, value_name = "MOT")]
    grf: Option<PathBuf>,
    /// ExternalLoads XML saying which GRF columns act on which body
    /// (its own data file is used when --grf is not given).
    #[arg(long, value_name = "XML")]
    loads: Option<PathBuf>,
    /// Low-pass cutoff for the coordinates (Hz; negative: no filter).
    #[arg(long, default_value_t = 6.0, allow_hyphen_values = true)]
    cutoff: f64,
    #[arg(long, value_name = "T0:T1")]
    time: Option<String>,
    /// A reference (normal database) file: each side's mean angles and
    /// moments are scored against it (Gait Variable Scores).
    #[arg(long, value_name = "CSV")]
    reference: Option<PathBuf>,
    #[arg(long, value_name = "DIR", default_value = "gait-results")]
    out: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct SoArgs {
    #[arg(long, value_name = "OSIM")]
    model: PathBuf,
    /// Scale the model first by a `twin gait scale` result.
    #[arg(long, value_name = "JSON")]
    scale: Option<PathBuf>,
    /// Coordinates over time (`.mot`/`.sto`, e.g. from `twin gait ik`).
    #[arg(long, value_name = "MOT")]
    motion: PathBuf,
    /// Ground reaction forces (`.mot`/`.sto`).
    #[arg(long, value_name = "MOT")]
    grf: Option<PathBuf>,
    /// ExternalLoads XML saying which GRF columns act on which body.
    #[arg(long, value_name = "XML")]
    loads: Option<PathBuf>,
    /// Low-pass cutoff for the coordinates (Hz; negative: no filter).
    #[arg(long, default_value_t = 6.0, allow_hyphen_values = true)]
    cutoff: f64,
    #[arg(long, value_name = "T0:T1")]
    time: Option<String>,
    /// Optimal force of the reserve actuators (N·m per unit control).
    #[arg(long, default_value_t = 1.0, value_name = "NM")]
    reserve_force: f64,
    /// Muscle capacity = maximum isometric force (no force–length–velocity).
    #[arg(long)]
    no_physiology: bool,
    /// Also write every muscle's length and moment arms per frame.
    #[arg(long)]
    moment_arms: bool,
    /// Walking speed (m/s) for the cost of transport (treadmill trials
    /// do not show it in the kinematics).
    #[arg(long, value_name = "M_PER_S")]
    speed: Option<f64>,
    /// A transtibial prosthesis (JSON, see docs/models/msk.md) replacing
    /// one side's ankle muscles.
    #[arg(long, value_name = "JSON")]
    prosthesis: Option<PathBuf>,
    #[arg(long, value_name = "DIR", default_value = "gait-results")]
    out: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct NormArgs {
    /// One trial as MODEL.osim,MOTION.mot,LOADS.xml; repeat for more.
    #[arg(long = "trial", value_name = "OSIM,MOT,XML", required = true)]
    trials: Vec<String>,
    /// Where the trials come from (people, lab, processing); stored in
    /// the file and shown with every band.
    #[arg(long)]
    source: String,
    /// Low-pass cutoff for the coordinates (Hz; negative: no filter).
    #[arg(long, default_value_t = 6.0, allow_hyphen_values = true)]
    cutoff: f64,
    /// Output folder; the file is `normative_reference.csv`.
    #[arg(long, value_name = "DIR", default_value = "gait-results")]
    out: PathBuf,
    #[arg(long)]
    json: bool,
}

fn parse_range(s: Option<&str>) -> anyhow::Result<Option<[f64; 2]>> {
    let Some(s) = s else { return Ok(None) };
    let (a, b) = s
        .split_once(':')
        .with_context(|| format!("--time `{s}`: expected T0:T1 in seconds"))?;
    let (a, b): (f64, f64) = (
        a.trim()
            .parse()
            .with_context(|| format!("--time: `{a}` is not a number"))?,
        b.trim()
            .parse()
            .with_context(|| format!("--time: `{b}` is not a number"))?,
    );
    if !(a.is_finite() && b.is_finite() && a < b) {
        bail!("--time {a}:{b}: the start must be before the end");
    }
    Ok(Some([a, b]))
}

/// The output path `name` in `out`, checked against every input.
pub(crate) fn output(out: &Path, name: &str, inputs: &[&Path]) -> anyhow::Result<PathBuf> {
    // Check the nearest existing folder first, so that no folder is
    // created inside an input's.
    let mut existing = out.to_path_buf();
    while !existing.as_os_str().is_empty() && !existing.exists() {
        existing.pop();
    }
    if existing.as_os_str().is_empty() {
        existing = PathBuf::from(".");
    }
    for input in inputs {
        twin_core::paths::ensure_outside(input, &existing.join(name))
            .map_err(anyhow::Error::msg)?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create `{}`", out.display()))?;
    let path = out.join(name);
    for input in inputs {
        twin_core::paths::ensure_outside(input, &path).map_err(anyhow::Error::msg)?;
    }
    Ok(path)
}

/// Scale factors as `twin gait scale` writes them.
#[derive(Serialize, serde::Deserialize)]
struct ScaleFile {
    /// Body name → x, y, z factors.
    factors: std::collections::BTreeMap<String, [f64; 3]>,
    mass_kg: Option<f64>,
}

/// The model, scaled by a `twin gait scale` file when given.
fn load_model(path: &Path, scale: Option<&Path>) -> anyhow::Result<Model> {
    let m = Model::read(path)?;
    let Some(scale) = scale else { return Ok(m) };
    let text = twin_core::limits::read_text(scale, twin_core::limits::MAX_JSON_FILE, "scale file")
        .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", scale.display()))?;
    let file: ScaleFile = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not a scale file", scale.display()))?;
    let mut factors = std::collections::BTreeMap::new();
    for (name, f) in &file.factors {
        let b = m
            .body(name)
            .with_context(|| format!("`{}`: body `{name}` is not in the model", scale.display()))?;
        if f.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            bail!(
                "`{}`: body `{name}` has scale factors {f:?}; they must be > 0",
                scale.display()
            );
        }
        factors.insert(b, nalgebra::Vector3::from(*f));
    }
    Ok(m.scaled(&factors, file.mass_kg))
}

pub(crate) fn stem(p: &Path) -> String {
    p.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("trial")
        .to_owned()
}

#[derive(Serialize)]
struct ScaleRow {
    measurement: String,
    factor: f64,
    /// Subject and model distance per marker pair (m).
    distances_m: Vec<(f64, f64)>,
}
#[derive(Serialize)]
struct ScaleSummary {
    measurements: Vec<ScaleRow>,
    model_mass_kg: f64,
    mass_kg: Option<f64>,
    output: PathBuf,
}

#[derive(Serialize)]
struct PlateSummary {
    plate: usize,
    kind: u8,
    peak_normal_force_n: f64,
    /// Loaded intervals (s): the normal force at or above the threshold.
    contacts_s: Vec<[f64; 2]>,
}

#[derive(Serialize)]
struct C3dSummary {
    markers: usize,
    frames: usize,
    rate_hz: f64,
    analog_channels: usize,
    analog_rate_hz: f64,
    plates: Vec<PlateSummary>,
    trc: PathBuf,
    grf: Option<PathBuf>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct IkSummary {
    frames: usize,
    time_s: [f64; 2],
    marker_rms_error_mm: Stats,
    marker_max_error_mm: f64,
    output: PathBuf,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct Stats {
    mean: f64,
    max: f64,
}

#[derive(Serialize)]
struct Peak {
    coordinate: String,
    unit: &'static str,
    max: f64,
    max_at_s: f64,
    min: f64,
    min_at_s: f64,
    /// Per kg of model mass (N·m/kg or N/kg).
    max_per_kg: f64,
    min_per_kg: f64,
}

#[derive(Serialize)]
struct Foot {
    name: String,
    heel_strikes_s: Vec<f64>,
    toe_offs_s: Vec<f64>,
    /// Per complete stride: stance time (s) and share of the stride (%).
    stance: Vec<(f64, f64)>,
    /// Per complete stride: swing time (s) and share of the stride (%).
    swing: Vec<(f64, f64)>,
}

#[derive(Serialize)]
struct IdSummary {
    frames: usize,
    time_s: [f64; 2],
    mass_kg: f64,
    peaks: Vec<Peak>,
    feet: Vec<Foot>,
    output: PathBuf,
    /// The moments over each foot's first complete stride in the window,
    /// resampled to 0–100 % of the gait cycle.
    cycles: Vec<Cycle>,
    /// Against `--reference`: where it comes from, each side's Gait
    /// Variable Scores and the Gait Profile Score of the angles.
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<Scores>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct Scores {
    source: String,
    file: PathBuf,
    variables: Vec<twin_session::gait::VariableScore>,
    /// RMS of the angle scores, both sides (deg).
    gait_profile_score_deg: Option<f64>,
}

#[derive(Serialize)]
struct MuscleSummary {
    name: String,
    peak_activation: f64,
    mean_activation: f64,
    peak_force_n: f64,
}

#[derive(Serialize)]
struct Metabolic {
    umberger2010_w: f64,
    umberger2010_w_per_kg: f64,
    bhargava2004_w: f64,
    bhargava2004_w_per_kg: f64,
    /// Umberger's activation and maintenance heat alone (muscles, no
    /// basal): the speed-independent part, checked against OpenSim's probe.
    umberger2010_activation_maintenance_w_per_kg: f64,
    /// J/(kg·m) at `--speed` (Umberger 2010); `None` without a speed.
    cost_of_transport: Option<f64>,
    /// Each muscle's mean power (W, Umberger 2010), largest first.
    muscles_w: Vec<(String, f64)>,
}

#[derive(Serialize)]
struct SoSummary {
    frames: usize,
    time_s: [f64; 2],
    muscles: Vec<MuscleSummary>,
    reserves: Vec<twin_msk::optimization::ReserveUsage>,
    /// Frames where a reserve carried more than half of a joint's moment.
    flagged: Vec<(f64, String)>,
    /// Mean gross metabolic power over the frames (basal included).
    metabolic: Metabolic,
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<twin_msk::whatif::DeviceEnergy>,
    /// Right–left symmetry indices (with loads).
    asymmetry: Vec<twin_msk::gait::Asymmetry>,
    activations: PathBuf,
    forces: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    moment_arms: Option<PathBuf>,
    warnings: Vec<String>,
}

/// The external loads from `--loads` (with `--grf` as their data), if any.
fn read_loads(
    m: &Model,
    loads: Option<&Path>,
    grf: Option<&Path>,
) -> anyhow::Result<Option<ExternalLoads>> {
    let grf_table = grf.map(Table::read).transpose()?;
    Ok(match (loads, grf_table) {
        (Some(xml), data) => Some(ExternalLoads::read(xml, m, data)?),
        (None, Some(_)) => bail!(
            "--grf needs --loads: an ExternalLoads XML saying which columns act on which body"
        ),
        (None, None) => None,
    })
}

/// Every muscle's length and moment arms over the motion's frames.
fn moment_arm_table(m: &Model, q: &Table, times: &[f64]) -> Table {
    let spans = twin_msk::muscle::spanned_coordinates(m);
    let mut labels = Vec::new();
    for (muscle, s) in m.muscles.iter().zip(&spans) {
        labels.push(format!("{}_length", muscle.name));
        for &k in s {
            labels.push(format!(
                "{}_{}_moment_arm",
                muscle.name, m.coordinates[k].name
            ));
        }
    }
    let mut t = Table::new("Muscle lengths and moment arms", labels, false);
    for &time in times {
        let Some(row) = q.row_near(time, 1e-9) else {
            continue;
        };
        let (coords, _) = m.coordinates_from_table(q, row);
        let mut values = Vec::new();
        for (length, arms) in twin_msk::muscle::lengths_and_moment_arms(m, &coords, &spans) {
            values.push(length);
            values.extend(arms);
        }
        t.push_row(time, &values);
    }
    t
}

#[derive(Serialize)]
struct NormTrial {
    model: PathBuf,
    motion: PathBuf,
    loads: PathBuf,
    mass_kg: f64,
    /// Complete strides used, right and left.
    strides: [usize; 2],
}

#[derive(Serialize)]
struct NormSummary {
    source: String,
    trials: Vec<NormTrial>,
    /// Variable → strides it was made from.
    variables: std::collections::BTreeMap<String, usize>,
    output: PathBuf,
    warnings: Vec<String>,
}

/// One trial's curves over the gait cycle: IK coordinates, inverse
/// dynamics with the loads, strides from the loads' heel strikes.
fn trial_series(
    m: &Model,
    q: &Table,
    loads: &ExternalLoads,
    id: &Table,
) -> (
    Vec<twin_msk::gait::CycleSeries>,
    [Vec<[f64; 2]>; 2],
    Vec<String>,
) {
    let span = [
        q.time[0].max(id.time[0]),
        q.time[q.rows() - 1].min(id.time[id.rows() - 1]),
    ];
    let (strides, notes) = strides_by_side(m, loads, span);
    (cycle_series(m, q, Some(id), &strides), strides, notes)
}

#[derive(Serialize)]
struct Cycle {
    foot: String,
    stride_s: [f64; 2],
    output: PathBuf,
}

/// Prints a summary as JSON, or its warnings to stderr and `text` to stdout.
pub(crate) fn emit<T: Serialize>(
    json: bool,
    summary: &T,
    warnings: &[String],
    text: impl FnOnce(),
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(summary)?);
    } else {
        for w in warnings {
            eprintln!("warning: {w}");
        }
        text();
    }
    Ok(())
}

pub fn run(command: GaitCommand) -> anyhow::Result<()> {
    match command {
        GaitCommand::Ik(a) => ik(a),
        GaitCommand::Scale(a) => scale(a),
        GaitCommand::C3d(a) => c3d(a),
        GaitCommand::Id(a) => id(a),
        GaitCommand::So(a) => so(a),
        GaitCommand::Norm(a) => norm(a),
        GaitCommand::Forward(a) => crate::forward::forward(a),
        GaitCommand::Predict(a) => crate::forward::predict(*a),
        GaitCommand::Tune(a) => crate::forward::tune(*a),
    }
}

/// `twin gait ik`.
fn ik(args: IkArgs) -> anyhow::Result<()> {
    let IkArgs {
        model,
        scale,
        trc,
        tasks,
        time,
        out,
        json,
    } = args;
    let m = load_model(&model, scale.as_deref())?;
    let (markers, mut warnings) = twin_session::gait::read_markers(&trc)?;
    let weights = tasks.as_deref().map(read_task_weights).transpose()?;
    let ik = inverse_kinematics(
        &m,
        &markers,
        weights.as_ref(),
        parse_range(time.as_deref())?,
    )?;
    let mut inputs: Vec<&Path> = vec![&model, &trc];
    if let Some(t) = &tasks {
        inputs.push(t);
    }
    let path = output(&out, &format!("{}_ik.mot", stem(&trc)), &inputs)?;
    ik.coordinates.write(&path)?;
    warnings.extend(m.warnings.iter().cloned());
    warnings.extend(ik.warnings.iter().cloned());
    let n = ik.rms_error.len() as f64;
    let summary = IkSummary {
        frames: ik.coordinates.rows(),
        time_s: [
            ik.coordinates.time[0],
            ik.coordinates.time[ik.coordinates.rows() - 1],
        ],
        marker_rms_error_mm: Stats {
            mean: 1000.0 * ik.rms_error.iter().sum::<f64>() / n,
            max: 1000.0 * ik.rms_error.iter().fold(0.0f64, |a, &b| a.max(b)),
        },
        marker_max_error_mm: 1000.0 * ik.max_error.iter().fold(0.0f64, |a, &b| a.max(b)),
        output: path,
        warnings,
    };
    emit(json, &summary, &summary.warnings, || {
        println!(
            "{} frames ({:.3}–{:.3} s): marker RMS error {:.1} mm mean, {:.1} mm worst frame; largest marker error {:.1} mm\nwrote {}",
            summary.frames,
            summary.time_s[0],
            summary.time_s[1],
            summary.marker_rms_error_mm.mean,
            summary.marker_rms_error_mm.max,
            summary.marker_max_error_mm,
            summary.output.display()
        );
    })
}

/// `twin gait scale`.
fn scale(args: ScaleArgs) -> anyhow::Result<()> {
    let ScaleArgs {
        model,
        r#static,
        setup,
        mass,
        time,
        out,
        json,
    } = args;
    if let Some(kg) = mass
        && !(kg.is_finite() && (1.0..=500.0).contains(&kg))
    {
        bail!("--mass {kg}: a subject's mass in kg (1–500)");
    }
    let m = Model::read(&model)?;
    let trial = Markers::read_trc(&r#static)?;
    let measurements = twin_msk::scale::read_measurements(&setup)?;
    let (factors, report) =
        twin_msk::scale::measure(&m, &trial, parse_range(time.as_deref())?, &measurements)?;
    let file = ScaleFile {
        factors: factors
            .iter()
            .map(|(b, f)| (m.bodies[*b].name.clone(), [f.x, f.y, f.z]))
            .collect(),
        mass_kg: mass,
    };
    let path = output(
        &out,
        &format!("{}_scale.json", stem(&r#static)),
        &[&model, &r#static, &setup],
    )?;
    std::fs::write(&path, serde_json::to_string_pretty(&file)?)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    let summary = ScaleSummary {
        measurements: report
            .into_iter()
            .map(|r| ScaleRow {
                measurement: r.name,
                factor: r.factor,
                distances_m: r.distances,
            })
            .collect(),
        model_mass_kg: m.mass(),
        mass_kg: mass,
        output: path,
    };
    emit(json, &summary, &[], || {
        for r in &summary.measurements {
            println!(
                "{:20} × {:.4}  ({} pairs)",
                r.measurement,
                r.factor,
                r.distances_m.len()
            );
        }
        println!("wrote {}", summary.output.display());
    })
}

/// `twin gait c3d`.
fn c3d(args: C3dArgs) -> anyhow::Result<()> {
    let C3dArgs {
        file,
        threshold,
        keep_axes,
        out,
        json,
    } = args;
    if !(threshold.is_finite() && threshold >= 0.0) {
        bail!("--threshold {threshold}: must be a force ≥ 0 N");
    }
    let mut trial = C3dTrial::read(&file)?;
    let mut warnings = Vec::new();
    if keep_axes {
        warnings.push("lab axes kept (no Z-up → Y-up rotation)".to_owned());
    } else {
        trial.rotate(&twin_msk::c3d::z_up_to_y_up());
    }
    let name = stem(&file);
    let trc = output(&out, &format!("{name}.trc"), &[&file])?;
    std::fs::write(&trc, trial.markers.to_trc_text(&format!("{name}.trc")))
        .with_context(|| format!("cannot write `{}`", trc.display()))?;
    let grf = if let Some(table) = trial.grf_table(threshold) {
        let path = output(&out, &format!("{name}_grf.mot"), &[&file])?;
        table.write(&path)?;
        Some(path)
    } else {
        warnings.push("the trial has no force plates".to_owned());
        None
    };
    let plates = trial
        .plates
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let fz = p.normal_force();
            let mut contacts = Vec::new();
            let mut start = None;
            for (s, &v) in fz.iter().enumerate() {
                let t = s as f64 / trial.analog_rate;
                match (start, v >= threshold) {
                    (None, true) => start = Some(t),
                    (Some(t0), false) => {
                        contacts.push([t0, t]);
                        start = None;
                    }
                    _ => {}
                }
            }
            if let Some(t0) = start {
                contacts.push([t0, (fz.len() - 1) as f64 / trial.analog_rate]);
            }
            PlateSummary {
                plate: i + 1,
                kind: p.kind,
                peak_normal_force_n: fz.iter().fold(0.0f64, |a, &b| a.max(b)),
                contacts_s: contacts,
            }
        })
        .collect();
    let summary = C3dSummary {
        markers: trial.markers.names.len(),
        frames: trial.markers.frames(),
        rate_hz: trial.markers.rate,
        analog_channels: trial.analog.len(),
        analog_rate_hz: trial.analog_rate,
        plates,
        trc,
        grf,
        warnings,
    };
    emit(json, &summary, &summary.warnings, || {
        println!(
            "{} markers, {} frames at {} Hz; {} analog channels at {} Hz",
            summary.markers,
            summary.frames,
            summary.rate_hz,
            summary.analog_channels,
            summary.analog_rate_hz
        );
        for p in &summary.plates {
            println!(
                "plate {} (type {}): peak {:.1} N, loaded {:?} s",
                p.plate, p.kind, p.peak_normal_force_n, p.contacts_s
            );
        }
        println!("wrote {}", summary.trc.display());
        if let Some(g) = &summary.grf {
            println!("wrote {}", g.display());
        }
    })
}

/// `twin gait id`.
#[expect(
    clippy::too_many_lines,
    reason = "`twin gait id`'s steps (read, filter, ID, events, cycles, scores, output) in order, as the help describes them"
)]
fn id(args: IdArgs) -> anyhow::Result<()> {
    let IdArgs {
        model,
        scale,
        motion,
        grf,
        loads,
        cutoff,
        time,
        reference,
        out,
        json,
    } = args;
    let m = load_model(&model, scale.as_deref())?;
    let reference = reference
        .map(|p| Reference::read(&p).map(|r| (p, r)))
        .transpose()?;
    let q = Table::read(&motion)?;
    let external = read_loads(&m, loads.as_deref(), grf.as_deref())?;
    let options = IdOptions {
        cutoff_hz: (cutoff >= 0.0).then_some(cutoff),
        time_range: parse_range(time.as_deref())?,
    };
    let (id, mut warnings) = inverse_dynamics(&m, &q, external.as_ref(), options)?;
    if external.is_none() {
        warnings.push("no external loads: the residuals carry the ground contact".to_owned());
    }
    let mut inputs: Vec<&Path> = vec![&model, &motion];
    if let Some(g) = &grf {
        inputs.push(g);
    }
    if let Some(l) = &loads {
        inputs.push(l);
    }
    let path = output(&out, &format!("{}_id.sto", stem(&motion)), &inputs)?;
    id.write(&path)?;
    let mass = m.mass();
    let peaks = id
        .labels
        .iter()
        .enumerate()
        .map(|(j, label)| {
            let col = &id.columns[j];
            let (imax, imin) = col.iter().enumerate().fold((0, 0), |(a, b), (i, v)| {
                (
                    if *v > col[a] { i } else { a },
                    if *v < col[b] { i } else { b },
                )
            });
            let translational = m.coordinates[j].motion == Motion::Translational;
            Peak {
                coordinate: label.clone(),
                unit: if translational { "N" } else { "N·m" },
                max: col[imax],
                max_at_s: id.time[imax],
                min: col[imin],
                min_at_s: id.time[imin],
                max_per_kg: col[imax] / mass,
                min_per_kg: col[imin] / mass,
            }
        })
        .collect();
    // Events inside the analysed window only.
    let (t0, t1) = (id.time[0], id.time[id.rows() - 1]);
    let inside = |v: Vec<f64>| -> Vec<f64> {
        v.into_iter()
            .filter(|t| (t0..=t1).contains(t))
            .map(|t| (t * 1e4).round() / 1e4)
            .collect()
    };
    let feet: Vec<Foot> = external
        .as_ref()
        .map(|l| {
            events(l, m.gravity, CONTACT_THRESHOLD_N)
                .into_iter()
                .map(|mut e| {
                    e.heel_strikes = inside(e.heel_strikes);
                    e.toe_offs = inside(e.toe_offs);
                    Foot {
                        stance: e.stance(),
                        swing: e.swing(),
                        name: e.name,
                        heel_strikes_s: e.heel_strikes,
                        toe_offs_s: e.toe_offs,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let mut cycles = Vec::new();
    for f in &feet {
        let Some(&[a, b]) = f.heel_strikes_s.windows(2).next() else {
            continue;
        };
        if let Some(cycle) = twin_msk::gait::cycle_table(&id, [a, b]) {
            let path = output(
                &out,
                &format!("{}_id_cycle_{}.sto", stem(&motion), f.name),
                &inputs,
            )?;
            cycle.write(&path)?;
            cycles.push(Cycle {
                foot: f.name.clone(),
                stride_s: [a, b],
                output: path,
            });
        }
    }
    let reference = match (reference, &external) {
        (Some((file, r)), Some(l)) => {
            let (series, _, _) = trial_series(&m, &q, l, &id);
            let curves = twin_session::gait::coordinate_curves(&series, mass);
            let (variables, gps) = twin_session::gait::scores(&curves, &r);
            if variables.is_empty() {
                warnings.push(format!(
                    "{}: no variable of this trial is in the reference (or no complete stride)",
                    file.display()
                ));
            }
            Some(Scores {
                source: r.source,
                file,
                variables,
                gait_profile_score_deg: gps,
            })
        }
        (Some((file, _)), None) => bail!(
            "--reference {}: scoring against a reference needs the strides, from --loads",
            file.display()
        ),
        (None, _) => None,
    };
    warnings.extend(m.warnings.iter().cloned());
    let summary = IdSummary {
        frames: id.rows(),
        time_s: [id.time[0], id.time[id.rows() - 1]],
        mass_kg: mass,
        peaks,
        feet,
        output: path,
        cycles,
        reference,
        warnings,
    };
    emit(json, &summary, &summary.warnings, || {
        println!(
            "{} frames ({:.3}–{:.3} s), model {:.1} kg",
            summary.frames, summary.time_s[0], summary.time_s[1], mass
        );
        for p in &summary.peaks {
            println!(
                "{:28} max {:9.2} {} @ {:.3} s   min {:9.2} {} @ {:.3} s   ({:+.3} / {:+.3} per kg)",
                p.coordinate,
                p.max,
                p.unit,
                p.max_at_s,
                p.min,
                p.unit,
                p.min_at_s,
                p.max_per_kg,
                p.min_per_kg
            );
        }
        for f in &summary.feet {
            println!(
                "{}: heel strikes {:?} s, toe-offs {:?} s",
                f.name, f.heel_strikes_s, f.toe_offs_s
            );
            for (st, sw) in f.stance.iter().zip(&f.swing) {
                println!(
                    "  stride: stance {:.3} s ({:.1} %), swing {:.3} s ({:.1} %)",
                    st.0, st.1, sw.0, sw.1
                );
            }
        }
        println!("wrote {}", summary.output.display());
        for c in &summary.cycles {
            println!(
                "wrote {} ({} stride {:.3}–{:.3} s, 0–100 % of the cycle)",
                c.output.display(),
                c.foot,
                c.stride_s[0],
                c.stride_s[1]
            );
        }
        if let Some(r) = &summary.reference {
            println!("against {} ({}):", r.file.display(), r.source);
            for v in &r.variables {
                println!(
                    "  {:28} {:5}  GVS {:7.3} {} (n = {})",
                    v.variable, v.side, v.gvs, v.unit, v.strides
                );
            }
            if let Some(g) = r.gait_profile_score_deg {
                println!("  Gait Profile Score (angles) {g:.2}°");
            }
        }
    })
}

/// `twin gait so`.
#[expect(
    clippy::too_many_lines,
    reason = "`twin gait so`'s steps (read, ID, optimisation, metabolics, output) in order, as the help describes them"
)]
fn so(args: SoArgs) -> anyhow::Result<()> {
    let SoArgs {
        model,
        scale,
        motion,
        grf,
        loads,
        cutoff,
        time,
        reserve_force,
        no_physiology,
        moment_arms,
        speed,
        prosthesis,
        out,
        json,
    } = args;
    if let Some(v) = speed
        && !(v.is_finite() && v > 0.0 && v < 15.0)
    {
        bail!("--speed {v}: expected a walking or running speed in m/s (0–15)");
    }
    let mut m = load_model(&model, scale.as_deref())?;
    let mut notes = Vec::new();
    let device = match &prosthesis {
        Some(path) => {
            let (with, d, n) = twin_msk::prosthesis::Prosthesis::read(path)?.apply(&m)?;
            m = with;
            notes = n;
            Some(d)
        }
        None => None,
    };
    let q = Table::read(&motion)?;
    let external = read_loads(&m, loads.as_deref(), grf.as_deref())?;
    let options = SoOptions {
        cutoff_hz: (cutoff >= 0.0).then_some(cutoff),
        time_range: parse_range(time.as_deref())?,
        reserve_optimal_force: reserve_force,
        muscle_physiology: !no_physiology,
        device,
    };
    let mut so = static_optimization_with(
        &m,
        &q,
        external.as_ref(),
        options,
        &twin_core::Progress::new(),
    )?;
    if external.is_none() {
        so.warnings
            .push("no external loads: the residuals carry the ground contact".to_owned());
    }
    so.warnings.extend(m.warnings.iter().cloned());
    so.warnings.extend(notes);
    let asymmetry = match &external {
        Some(l) => {
            let id_options = IdOptions {
                cutoff_hz: options.cutoff_hz,
                time_range: options.time_range,
            };
            let (id, _) = inverse_dynamics(&m, &q, Some(l), id_options)?;
            twin_msk::gait::asymmetry(&m, l, &q, &id)
        }
        None => Vec::new(),
    };
    let device_summary = so.device.as_ref().map(twin_msk::whatif::DeviceEnergy::of);
    let mut inputs: Vec<&Path> = vec![&model, &motion];
    if let Some(p) = &prosthesis {
        inputs.push(p);
    }
    if let Some(g) = &grf {
        inputs.push(g);
    }
    if let Some(l) = &loads {
        inputs.push(l);
    }
    let activations = output(
        &out,
        &format!("{}_so_activation.sto", stem(&motion)),
        &inputs,
    )?;
    so.activations.write(&activations)?;
    let forces = output(&out, &format!("{}_so_force.sto", stem(&motion)), &inputs)?;
    so.forces.write(&forces)?;
    let arms = if moment_arms {
        let path = output(&out, &format!("{}_moment_arms.sto", stem(&motion)), &inputs)?;
        moment_arm_table(&m, &q, &so.activations.time).write(&path)?;
        Some(path)
    } else {
        None
    };
    let muscles = m
        .muscles
        .iter()
        .enumerate()
        .map(|(i, mu)| {
            let a = &so.activations.columns[i];
            MuscleSummary {
                name: mu.name.clone(),
                peak_activation: a.iter().fold(0.0f64, |x, y| x.max(*y)),
                mean_activation: a.iter().sum::<f64>() / a.len().max(1) as f64,
                peak_force_n: so.forces.columns[i].iter().fold(0.0f64, |x, y| x.max(*y)),
            }
        })
        .collect();
    let n = so.activations.rows();
    let mass = m.mass();
    let mean = |c: usize| so.metabolic.columns[c].iter().sum::<f64>() / n.max(1) as f64;
    let mut muscles_w = so.muscle_metabolic_w.clone();
    muscles_w.sort_by(|a, b| b.1.total_cmp(&a.1));
    let metabolic = Metabolic {
        umberger2010_w: mean(0),
        umberger2010_w_per_kg: mean(0) / mass,
        bhargava2004_w: mean(1),
        bhargava2004_w_per_kg: mean(1) / mass,
        umberger2010_activation_maintenance_w_per_kg: mean(2) / mass,
        cost_of_transport: speed.map(|v| mean(0) / mass / v),
        muscles_w,
    };
    let summary = SoSummary {
        frames: n,
        time_s: [so.activations.time[0], so.activations.time[n - 1]],
        muscles,
        reserves: so.reserves,
        flagged: so.flagged,
        metabolic,
        device: device_summary,
        asymmetry,
        activations,
        forces,
        moment_arms: arms,
        warnings: so.warnings,
    };
    emit(json, &summary, &summary.warnings, || {
        println!(
            "{} frames ({:.3}–{:.3} s), {} muscles",
            summary.frames,
            summary.time_s[0],
            summary.time_s[1],
            summary.muscles.len()
        );
        for mu in &summary.muscles {
            println!(
                "  {:18} peak activation {:.3}  mean {:.3}  peak force {:7.1} N",
                mu.name, mu.peak_activation, mu.mean_activation, mu.peak_force_n
            );
        }
        for r in summary.reserves.iter().filter(|r| r.muscles > 0) {
            println!(
                "  reserve {:20} RMS {:7.3}  peak {:7.3}  {:5.2} % of the moment  {} dominated frame(s)",
                r.coordinate, r.rms, r.peak, r.share_percent, r.dominated_frames
            );
        }
        let e = &summary.metabolic;
        println!(
            "  metabolic power (gross): Umberger 2010 {:.0} W ({:.2} W/kg), Bhargava 2004 {:.0} W ({:.2} W/kg){}",
            e.umberger2010_w,
            e.umberger2010_w_per_kg,
            e.bhargava2004_w,
            e.bhargava2004_w_per_kg,
            e.cost_of_transport.map_or_else(String::new, |c| format!(
                ", cost of transport {c:.2} J/(kg·m)"
            ))
        );
        if let Some(d) = &summary.device {
            println!(
                "  prosthesis: peak plantarflexor moment {:.1} N·m, gives back {:.2} J of {:.2} J absorbed ({:.0} %)",
                d.peak_plantarflexor_moment_nm,
                d.positive_work_j,
                d.negative_work_j,
                d.energy_return_percent
            );
        }
        for a in &summary.asymmetry {
            println!(
                "  {:38} right {:7.3} {}  left {:7.3} {}  symmetry index {:+6.1} %",
                a.quantity, a.right, a.unit, a.left, a.unit, a.index_percent
            );
        }
        println!("wrote {}", summary.activations.display());
        println!("wrote {}", summary.forces.display());
        if let Some(p) = &summary.moment_arms {
            println!("wrote {}", p.display());
        }
    })
}

/// `twin gait norm`.
fn norm(args: NormArgs) -> anyhow::Result<()> {
    let NormArgs {
        trials,
        source,
        cutoff,
        out,
        json,
    } = args;
    if source.trim().is_empty() {
        bail!("--source is empty: say where the trials come from");
    }
    let mut builder = ReferenceBuilder::default();
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    let mut inputs: Vec<PathBuf> = Vec::new();
    for t in &trials {
        let parts: Vec<&str> = t.split(',').map(str::trim).collect();
        let [model, motion, loads] = parts[..] else {
            bail!("--trial `{t}`: expected MODEL.osim,MOTION.mot,LOADS.xml");
        };
        let (model, motion, loads) = (
            PathBuf::from(model),
            PathBuf::from(motion),
            PathBuf::from(loads),
        );
        let m = Model::read(&model)?;
        let q = Table::read(&motion)?;
        let l = ExternalLoads::read(&loads, &m, None)?;
        let options = IdOptions {
            cutoff_hz: (cutoff >= 0.0).then_some(cutoff),
            time_range: None,
        };
        let (id, w) = inverse_dynamics(&m, &q, Some(&l), options)?;
        warnings.extend(w.into_iter().map(|w| format!("{}: {w}", motion.display())));
        let (series, strides, _) = trial_series(&m, &q, &l, &id);
        if strides.iter().all(Vec::is_empty) {
            warnings.push(format!(
                "{}: no complete stride inside the motion; the trial adds nothing",
                motion.display()
            ));
        }
        builder.add(&series, m.mass());
        rows.push(NormTrial {
            mass_kg: m.mass(),
            strides: [strides[0].len(), strides[1].len()],
            model: model.clone(),
            motion: motion.clone(),
            loads: loads.clone(),
        });
        inputs.extend([model, motion, loads]);
    }
    let reference = builder.finish(&source);
    if reference.curves.is_empty() {
        bail!("no complete stride in any trial: nothing to build a reference from");
    }
    let input_refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let path = output(&out, "normative_reference.csv", &input_refs)?;
    reference.write(&path)?;
    let summary = NormSummary {
        source,
        trials: rows,
        variables: reference
            .curves
            .iter()
            .map(|(k, b)| (k.clone(), b.strides))
            .collect(),
        output: path,
        warnings,
    };
    emit(json, &summary, &summary.warnings, || {
        for t in &summary.trials {
            println!(
                "{}: {} right and {} left stride(s)",
                t.motion.display(),
                t.strides[0],
                t.strides[1]
            );
        }
        println!(
            "{} variables; wrote {}",
            summary.variables.len(),
            summary.output.display()
        );
    })
}
