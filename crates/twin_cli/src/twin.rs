//! `twin twin …`: patient twin files headless — make one from scenario
//! files, show one (older files migrated, newer refused), run its variants
//! against the baseline and save the results.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use twin_core::Progress;
use twin_scenario::{TwinDocument, Variant, store};

#[derive(Subcommand, Debug)]
pub enum TwinCommand {
    /// Make a twin file called NAME, with one variant per scenario file.
    New(NewArgs),
    /// Read a twin file (a scenario file opens as a one-variant twin) and
    /// print what it holds.
    Show(ShowArgs),
    /// Fit the twin's circulation to measured targets (e.g. the EDV and ESV
    /// of `twin cine-lv` and a cuff pressure) and save the twin with the
    /// calibration and its provenance to OUT (may be FILE).
    Calibrate {
        file: PathBuf,
        /// LV end-diastolic and end-systolic volumes, mL (or --cine).
        #[arg(long, value_name = "ML", required_unless_present = "cine")]
        edv: Option<f64>,
        #[arg(long, value_name = "ML", required_unless_present = "cine")]
        esv: Option<f64>,
        /// Take EDV, ESV and the heart rate from a cine's LV volume curve
        /// instead: the study folder, the cine stack (an id from `twin
        /// dicom ls`) and a seed in the LV cavity (patient mm, LPS).
        #[arg(long, num_args = 3, value_names = ["DIR", "SERIES", "X,Y,Z"], conflicts_with_all = ["edv", "esv"])]
        cine: Option<Vec<String>>,
        /// With --cine: which LV volumes are the targets (the expert's
        /// endocardial contour, or the blood inside it).
        #[arg(long, value_enum, default_value_t = crate::CineConvention::Expert, requires = "cine")]
        convention: crate::CineConvention,
        /// Heart rate, 1/min (with --cine: the cine's, when its phase times
        /// give one).
        #[arg(long, value_name = "BPM")]
        hr: Option<f64>,
        /// Systolic and diastolic blood pressure, mmHg.
        #[arg(long, default_value_t = 120.0, value_name = "MMHG")]
        sbp: f64,
        #[arg(long, default_value_t = 80.0, value_name = "MMHG")]
        dbp: f64,
        /// Where the targets came from (kept in the twin), e.g. "cine 5.1
        /// LV curve; cuff 120/80"; with --cine the LV curve is named.
        #[arg(long)]
        source: Option<String>,
        #[arg(long, value_name = "TWIN.json")]
        out: PathBuf,
    },
    /// Run every variant's cardiac interventions against the twin's
    /// baseline, and its prosthesis on the twin's gait trial against the
    /// intact baseline, and save the twin with the results to OUT (may be
    /// FILE).
    Run(RunArgs),
}

#[derive(Args, Debug)]
pub struct NewArgs {
    name: String,
    /// A cardiac scenario file (JSON: name, description,
    /// interventions); repeat for more variants.
    #[arg(long, value_name = "FILE")]
    scenario: Vec<PathBuf>,
    /// The patient's gait trial: an OpenSim model, a motion (.mot/.sto)
    /// or markers (.trc/.c3d), and its ExternalLoads (.xml), which the
    /// prosthesis variants need.
    #[arg(long, num_args = 2..=3, value_names = ["MODEL", "MOTION", "LOADS"])]
    gait: Option<Vec<PathBuf>>,
    /// A prosthesis variant: its name and the device file (JSON, see
    /// docs/models/msk.md); repeat for more.
    #[arg(long, value_name = "NAME=DEVICE.json")]
    prosthesis: Vec<String>,
    #[arg(long, value_name = "TWIN.json")]
    out: PathBuf,
    /// Replace OUT if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    file: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    file: PathBuf,
    #[arg(long, value_name = "TWIN.json")]
    out: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Shown<'a> {
    file: &'a Path,
    name: &'a str,
    version: u32,
    software: &'a str,
    study_instance_uid: Option<&'a str>,
    segments: usize,
    calibrated: bool,
    variants: Vec<&'a Variant>,
    notes: &'a [String],
}

#[derive(Serialize)]
struct Ran<'a> {
    out: &'a Path,
    baseline: &'a BTreeMap<String, f64>,
    /// The intact gait baseline, when the twin has prosthesis variants.
    gait_baseline: Option<&'a BTreeMap<String, f64>>,
    variants: Vec<&'a Variant>,
}

pub fn run(command: TwinCommand) -> anyhow::Result<()> {
    match command {
        TwinCommand::New(a) => new_twin(a),
        TwinCommand::Show(a) => show(a),
        TwinCommand::Calibrate {
            file,
            edv,
            esv,
            cine,
            convention,
            hr,
            sbp,
            dbp,
            source,
            out,
        } => calibrate(
            &file,
            edv.zip(esv),
            cine.as_deref(),
            convention,
            hr,
            [sbp, dbp],
            source,
            &out,
        ),
        TwinCommand::Run(a) => run_twin(a),
    }
}

/// `twin twin new`.
fn new_twin(args: NewArgs) -> anyhow::Result<()> {
    let NewArgs {
        name,
        scenario,
        gait,
        prosthesis,
        out,
        force,
    } = args;
    if out.exists() && !force {
        bail!("{} exists; pass --force to replace it", out.display());
    }
    let mut doc = TwinDocument::new(&name);
    for path in &scenario {
        doc.variants
            .extend(twin_session::scenarios::import_variants(path)?);
    }
    if let Some(files) = gait {
        doc.gait = Some(twin_scenario::document::GaitTrial {
            model: absolute(&files[0])?,
            motion: absolute(&files[1])?,
            loads: files.get(2).map(|p| absolute(p)).transpose()?,
        });
    }
    for spec in &prosthesis {
        let Some((name, path)) = spec.split_once('=') else {
            bail!("--prosthesis `{spec}`: expected NAME=DEVICE.json");
        };
        let device = twin_msk::prosthesis::Prosthesis::read(Path::new(path))?;
        doc.variants.push(Variant {
            name: name.trim().to_owned(),
            prosthesis: Some(device),
            ..Variant::default()
        });
    }
    doc.check()
        .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    store::save(&doc, &out)?;
    println!(
        "wrote {} ({} variant(s))",
        out.display(),
        doc.variants.len()
    );
    Ok(())
}

/// `twin twin show`.
fn show(args: ShowArgs) -> anyhow::Result<()> {
    let ShowArgs { file, json } = args;
    let (doc, notes) = TwinDocument::read(&file)?;
    let shown = Shown {
        file: &file,
        name: &doc.name,
        version: doc.version,
        software: &doc.software,
        study_instance_uid: doc.study.as_ref().map(|s| s.study_instance_uid.as_str()),
        segments: doc.segments.len(),
        calibrated: doc.cardio.is_some(),
        variants: doc.variants.iter().collect(),
        notes: &notes,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&shown)?);
    } else {
        println!(
            "{} — twin format {} ({}), {} segment(s), {}",
            doc.name,
            doc.version,
            doc.software,
            doc.segments.len(),
            if doc.cardio.is_some() {
                "calibrated circulation"
            } else {
                "not calibrated (the healthy default is its baseline)"
            }
        );
        for v in &doc.variants {
            println!(
                "  variant `{}`: {} cardiac intervention(s){}{}",
                v.name,
                v.cardio.len(),
                if v.prosthesis.is_some() {
                    ", a prosthesis"
                } else {
                    ""
                },
                if v.results.is_empty() {
                    String::new()
                } else {
                    format!(", {} result(s)", v.results.len())
                }
            );
        }
        for n in &notes {
            println!("note: {n}");
        }
    }
    Ok(())
}

/// `twin twin run`.
fn run_twin(args: RunArgs) -> anyhow::Result<()> {
    let RunArgs { file, out, json } = args;
    let (mut doc, notes) = TwinDocument::read(&file)?;
    for n in &notes {
        eprintln!("note: {n}");
    }
    let baseline = twin_session::runs::run_cardio_variants(&mut doc, &Progress::new())
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let gait = twin_session::runs::run_gait_variants(&mut doc, &Progress::new())
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let gait_baseline = gait
        .as_ref()
        .map(|g| twin_scenario::runs::gait_summary(&g.baseline));
    doc.touch();
    store::save(&doc, &out).with_context(|| format!("saving {}", out.display()))?;
    if json {
        let ran = Ran {
            out: &out,
            baseline: &baseline,
            gait_baseline: gait_baseline.as_ref(),
            variants: doc.variants.iter().collect(),
        };
        println!("{}", serde_json::to_string_pretty(&ran)?);
    } else {
        let cardio = std::iter::once(("baseline", &baseline)).chain(
            doc.variants
                .iter()
                .filter(|v| !v.cardio.is_empty())
                .map(|v| (v.name.as_str(), &v.results)),
        );
        print_table(
            &[
                "lv_ef_percent",
                "cardiac_output_l_min",
                "sbp_mmhg",
                "dbp_mmhg",
                "aortic_mean_gradient_mmhg",
            ],
            1,
            cardio,
        );
        if let Some(g) = &gait_baseline {
            println!();
            let gait = std::iter::once(("intact gait", g)).chain(
                doc.variants
                    .iter()
                    .filter(|v| v.prosthesis.is_some())
                    .map(|v| (v.name.as_str(), &v.results)),
            );
            print_table(
                &[
                    "gait_metabolic_umberger_w_per_kg",
                    "gait_ankle_reserve_percent",
                    "gait_device_peak_plantarflexor_moment_nm",
                    "gait_device_energy_return_percent",
                ],
                2,
                gait,
            );
        }
        println!("wrote {}", out.display());
    }
    Ok(())
}

/// A table of results: a header of `keys`, then one row per (name,
/// results), `–` where a result is missing.
fn print_table<'a>(
    keys: &[&str],
    decimals: usize,
    rows: impl Iterator<Item = (&'a str, &'a BTreeMap<String, f64>)>,
) {
    println!("{:28} {}", "", keys.join("  "));
    for (name, r) in rows {
        let cells: Vec<String> = keys
            .iter()
            .map(|k| r.get(*k).map_or("–".into(), |v| format!("{v:.decimals$}")))
            .collect();
        println!("{name:28} {}", cells.join("  "));
    }
}

/// `path` made absolute (the twin may be opened from elsewhere); it must
/// exist.
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::fs::canonicalize(path).with_context(|| format!("gait trial file {}", path.display()))
}

/// `twin twin calibrate`: the targets (given, or from a cine's LV curve)
/// fitted and kept in the twin.
fn calibrate(
    file: &Path,
    volumes: Option<(f64, f64)>,
    cine: Option<&[String]>,
    convention: crate::CineConvention,
    hr: Option<f64>,
    [sbp, dbp]: [f64; 2],
    source: Option<String>,
    out: &Path,
) -> anyhow::Result<()> {
    let (mut doc, _) = TwinDocument::read(file)?;
    let mut targets = twin_cardio::Targets {
        heart_rate_bpm: hr.unwrap_or(75.0),
        sbp_mmhg: sbp,
        dbp_mmhg: dbp,
        lv_edv_ml: volumes.map_or(0.0, |v| v.0),
        lv_esv_ml: volumes.map_or(0.0, |v| v.1),
        rv_edv_ml: None,
        rv_esv_ml: None,
    };
    let mut source = source;
    if let Some([dir, series, seed]) = cine {
        let seed = crate::parse_floats::<3>(seed, "--cine seed")?;
        let cine = crate::load_cine(Path::new(dir), series)?;
        let grids: Vec<twin_mesh::Grid> = cine
            .phases
            .iter()
            .map(twin_session::segments::grid)
            .collect();
        let from = twin_session::cine::lv_targets(
            &grids,
            &cine.times_ms,
            Some(seed),
            convention.into(),
            &format!("series {series}"),
            &Progress::new(),
        )?;
        for f in &from.quality_flags {
            eprintln!("twin: quality of the cine's LV curve: {f}");
        }
        targets = from.applied_to(targets);
        if let Some(hr) = hr {
            targets.heart_rate_bpm = hr;
        }
        source.get_or_insert(format!("{}; cuff {sbp:.0}/{dbp:.0} mmHg", from.source));
    }
    let source = source.unwrap_or_else(|| "targets given on the command line".to_owned());
    let c =
        twin_session::calibration::calibrate_twin(&mut doc, targets, &source, &Progress::new())?;
    store::save(&doc, out).with_context(|| format!("saving {}", out.display()))?;
    for r in &c.residuals {
        println!(
            "{:12} target {:8.1}  model {:8.1}  ({:+.2} %)",
            r.name, r.target, r.model, r.error_percent
        );
    }
    for w in &c.warnings {
        println!("warning: {w}");
    }
    println!("wrote {}", out.display());
    Ok(())
}

/// `twin report`: runs the twin's variants and writes the report.
pub fn report(
    file: &Path,
    out: &Path,
    csv: Option<&Path>,
    privacy: bool,
    timeline: Option<&Path>,
    vitals: Option<&Path>,
) -> anyhow::Result<()> {
    let (doc, notes) = TwinDocument::read(file)?;
    let patient = twin_scenario::runs::baseline_parameters(&doc);
    let timeline_run = match timeline {
        Some(t) => {
            let mut tl = crate::cardio::read_timeline(t)?;
            if tl.parameters.is_none() {
                tl.parameters = Some(patient.clone());
            }
            Some(
                tl.run(&Progress::new())
                    .map_err(|e| anyhow::anyhow!("timeline `{}`: {e}", t.display()))?,
            )
        }
        None => None,
    };
    let follow = match vitals {
        Some(v) => {
            let samples = crate::cardio::read_vitals(v)?;
            Some(twin_cardio::follow::follow_patient(
                &patient,
                &samples,
                &Progress::new(),
            )?)
        }
        None => None,
    };
    for n in &notes {
        eprintln!("note: {n}");
    }
    let runs = twin_session::report::ReportRuns::run(&doc, &Progress::new())
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let options = twin_scenario::report::ReportOptions { privacy };
    let report = twin_session::report::assemble(
        &doc,
        &runs,
        options,
        &twin_scenario::report::ReportExtras {
            timeline: timeline_run.as_ref(),
            follow: follow.as_ref(),
            ..twin_scenario::report::ReportExtras::default()
        },
    );
    twin_session::report::write(&report, out, csv)?;
    println!(
        "wrote {} ({} variant(s) against the baseline)",
        out.display(),
        report.variants
    );
    if let Some(path) = csv {
        println!("wrote {}", path.display());
    }
    Ok(())
}
