//! `twin cardio …`: the cardiac twin headless (baseline, scenarios,
//! calibration, the parameter table).

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;
use twin_cardio::simulate::SimOptions;
use twin_cardio::{Parameters, Scenario, Targets, calibrate};
use twin_core::Progress;

#[derive(Subcommand, Debug)]
pub enum CardioCommand {
    /// Run the healthy default (or a scenario) to periodic steady state and
    /// print the beat indices.
    Run {
        /// Scenario file (JSON: name, description, interventions).
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// Write the last beat's waveforms as CSV (t, pressures, volumes, flows).
        #[arg(long, value_name = "CSV")]
        waveforms: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Fit the model to a patient's heart rate, blood pressure and LV volumes.
    Calibrate {
        #[arg(long, value_name = "BPM")]
        hr: f64,
        #[arg(long, value_name = "MMHG")]
        sbp: f64,
        #[arg(long, value_name = "MMHG")]
        dbp: f64,
        #[arg(long, value_name = "ML")]
        edv: f64,
        #[arg(long, value_name = "ML", allow_hyphen_values = true)]
        esv: f64,
        /// RV end-diastolic volume (with --rv-esv: RV contractility and
        /// stiffness are fitted too).
        #[arg(long, value_name = "ML", requires = "rv_esv")]
        rv_edv: Option<f64>,
        #[arg(long, value_name = "ML", requires = "rv_edv")]
        rv_esv: Option<f64>,
        #[arg(long)]
        json: bool,
    },
    /// Print the parameter table (value, unit, range, source) as Markdown.
    Params,
    /// Simulate a timeline (events and drugs over time, reflexes on) beat
    /// by beat and print the trend.
    Timeline {
        /// Timeline file (JSON: name, duration_min, events, …).
        file: PathBuf,
        /// Write the trend (one row per beat) as CSV.
        #[arg(long, value_name = "CSV")]
        csv: Option<PathBuf>,
        /// Write the waveforms of the beat at this time (min) as CSV
        /// (with --waveforms).
        #[arg(long, value_name = "MIN", requires = "waveforms")]
        at: Option<f64>,
        #[arg(long, value_name = "CSV", requires = "at")]
        waveforms: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Follow a patient's vitals (CSV, or a FHIR R4 Bundle of heart-rate and
    /// blood-pressure Observations as JSON): estimate systemic resistance,
    /// contractility and blood volume over time with an unscented Kalman
    /// filter on the reflex-controlled twin.
    Follow {
        /// Vitals: `.csv` (t_min or time, hr, sbp, dbp) or `.json` (FHIR Bundle).
        file: PathBuf,
        /// The patient's twin (its calibrated circulation); default: the
        /// healthy default.
        #[arg(long, value_name = "TWIN")]
        twin: Option<PathBuf>,
        /// Write the estimates and the twin's vitals per sample as CSV.
        #[arg(long, value_name = "CSV")]
        csv: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Run the validation cases (haemorrhage, tilt, drugs, heart failure)
    /// and print the table against published human responses (Markdown).
    Validation {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct RunSummary<'a> {
    scenario: &'a str,
    beats_to_steady_state: usize,
    blood_volume_drift: f64,
    indices: &'a twin_cardio::BeatIndices,
}

pub fn run(cmd: CardioCommand) -> anyhow::Result<()> {
    match cmd {
        CardioCommand::Run {
            scenario,
            waveforms,
            json,
        } => run_scenario(scenario.as_deref(), waveforms.as_deref(), json),
        CardioCommand::Calibrate {
            hr,
            sbp,
            dbp,
            edv,
            esv,
            rv_edv,
            rv_esv,
            json,
        } => {
            let t = Targets {
                heart_rate_bpm: hr,
                sbp_mmhg: sbp,
                dbp_mmhg: dbp,
                lv_edv_ml: edv,
                lv_esv_ml: esv,
                rv_edv_ml: rv_edv,
                rv_esv_ml: rv_esv,
            };
            let c = calibrate(&Parameters::default(), &t, &Progress::new())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                println!(
                    "fitted in {:.2} s ({} iterations, {} runs)",
                    c.seconds, c.iterations, c.simulations
                );
                for r in &c.residuals {
                    println!(
                        "  {:10} target {:7.1}  model {:7.1}  ({:+.2} %)",
                        r.name, r.target, r.model, r.error_percent
                    );
                }
                let p = &c.parameters;
                println!(
                    "  LV contractility {:.3} mmHg/mL, systemic R {:.3} mmHg·s/mL, arterial C {:.3} mL/mmHg, blood volume {:.0} mL",
                    p.lv.ea, p.ar_sys.r, p.ar_sys.c, p.blood_volume_ml
                );
                for w in &c.warnings {
                    println!("  warning: {w}");
                }
            }
            Ok(())
        }
        CardioCommand::Timeline {
            file,
            csv,
            at,
            waveforms,
            json,
        } => run_timeline(&file, csv.as_deref(), at.zip(waveforms), json),
        CardioCommand::Follow {
            file,
            twin,
            csv,
            json,
        } => follow(&file, twin.as_deref(), csv.as_deref(), json),
        CardioCommand::Validation { json } => {
            let rows = twin_cardio::validation::validation_table(&Progress::new())?;
            let doses = twin_cardio::validation::dose_response(&Progress::new())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "rows": rows, "dose_response": doses })
                    )?
                );
            } else {
                print!("{}", twin_cardio::validation::markdown(&rows));
                println!("\nDose–response (change from rest after 15 min):\n");
                print!("{}", twin_cardio::validation::dose_markdown(&doses));
            }
            Ok(())
        }
        CardioCommand::Params => {
            println!("| parameter | value | unit | range | source |");
            println!("|---|---:|---|---|---|");
            for p in Parameters::default().table() {
                println!(
                    "| `{}` | {} | {} | {} – {} | {} |",
                    p.name, p.value, p.unit, p.lo, p.hi, p.source
                );
            }
            println!("\nReflexes:\n");
            println!("| parameter | value | unit | source |");
            println!("|---|---:|---|---|");
            for p in twin_cardio::reflex::ReflexParams::default().table() {
                println!("| `{}` | {} | {} | {} |", p.name, p.value, p.unit, p.source);
            }
            println!("\nDrugs:\n");
            println!(
                "| drug | V (L/kg) | CL (L/kg/min) | t½ (min) | ke0 (1/min) | effects: target Emax @ D50 µg/kg/min (Hill) | infusion µg/kg/min | bolus mg | PK source | PD source |"
            );
            println!("|---|---:|---:|---:|---:|---|---|---|---|---|");
            for d in twin_cardio::drugs::Drug::ALL {
                let i = d.info();
                let effects: Vec<String> = i
                    .effects
                    .iter()
                    .map(|e| {
                        format!(
                            "{:?} {:+} @ {} (n {})",
                            e.target, e.emax, e.d50_ug_kg_min, e.hill
                        )
                    })
                    .collect();
                println!(
                    "| {} | {:.3} | {:.4} | {:.1} | {} | {} | {}–{} | {} | {} | {} |",
                    d,
                    i.vd_l_kg,
                    i.cl_l_kg_min,
                    i.half_life_min(),
                    i.ke0_per_min,
                    effects.join("; "),
                    i.infusion_ug_kg_min.0,
                    i.infusion_ug_kg_min.1,
                    i.bolus_mg
                        .map_or_else(|| "–".to_owned(), |(a, b)| format!("{a}–{b}")),
                    i.pk_source,
                    i.pd_source
                );
            }
            Ok(())
        }
    }
}

fn run_scenario(file: Option<&Path>, csv: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let scenario = match file {
        Some(f) => {
            let text =
                twin_core::limits::read_text(f, twin_core::limits::MAX_JSON_FILE, "scenario file")
                    .map_err(|e| anyhow::anyhow!("cannot read scenario `{}`: {e}", f.display()))?;
            serde_json::from_str::<Scenario>(&text)
                .with_context(|| format!("scenario `{}`", f.display()))?
        }
        None => Scenario {
            name: "baseline".into(),
            ..Scenario::default()
        },
    };
    let sim = scenario
        .simulate(
            &Parameters::default(),
            None,
            SimOptions::default(),
            &Progress::new(),
        )
        .with_context(|| format!("scenario `{}`", scenario.name))?;
    let b = sim.last();
    if let Some(path) = csv {
        write_csv(path, &sim.waveforms)?;
    }
    if json {
        let s = RunSummary {
            scenario: &scenario.name,
            beats_to_steady_state: sim.beats.len(),
            blood_volume_drift: sim.volume_drift,
            indices: b,
        };
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!(
            "{} — steady state after {} beats",
            scenario.name,
            sim.beats.len()
        );
        println!(
            "  HR {:.0} /min  BP {:.0}/{:.0} (mean {:.0}) mmHg  CO {:.2} L/min",
            b.heart_rate_bpm, b.sbp_mmhg, b.dbp_mmhg, b.map_mmhg, b.cardiac_output_l_min
        );
        println!(
            "  LV EDV {:.1} ESV {:.1} mL  EF {:.1} %  EDP {:.1} mmHg  stroke work {:.2} J",
            b.lv_edv_ml,
            b.lv_esv_ml,
            b.lv_ef_percent,
            b.lvedp_mmhg,
            b.stroke_work_mmhg_ml * 1.333e-4
        );
        println!(
            "  RV EDV {:.1} ESV {:.1} mL  PA {:.0}/{:.0} mmHg  LA {:.1} RA {:.1} mmHg",
            b.rv_edv_ml,
            b.rv_esv_ml,
            b.pa_systolic_mmhg,
            b.pa_diastolic_mmhg,
            b.mean_la_mmhg,
            b.mean_ra_mmhg
        );
        for (name, v) in [
            ("aortic", &b.aortic),
            ("mitral", &b.mitral),
            ("tricuspid", &b.tricuspid),
            ("pulmonary", &b.pulmonary),
        ] {
            println!(
                "  {name:9} mean gradient {:5.1} mmHg (peak {:5.1})  regurgitation {:4.1} mL ({:.1} %)",
                v.mean_gradient_mmhg,
                v.peak_gradient_mmhg,
                v.regurgitant_ml,
                v.regurgitant_fraction_percent
            );
        }
        if b.device_ml > 0.0 {
            println!(
                "  LVAD {:.2} L/min",
                b.device_ml * b.heart_rate_bpm / 1000.0
            );
        }
    }
    Ok(())
}

/// Reads vitals by the file's extension, naming the file in errors.
pub fn read_vitals(file: &Path) -> anyhow::Result<Vec<twin_cardio::follow::Vital>> {
    twin_cardio::follow::read_vitals(file).with_context(|| format!("vitals `{}`", file.display()))
}

fn follow(file: &Path, twin: Option<&Path>, csv: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let vitals = read_vitals(file)?;
    let parameters = match twin {
        Some(t) => {
            let (doc, _) = twin_scenario::document::TwinDocument::read(t)
                .with_context(|| format!("twin `{}`", t.display()))?;
            twin_scenario::runs::baseline_parameters(&doc)
        }
        None => Parameters::default(),
    };
    let started = std::time::Instant::now();
    let f = twin_cardio::follow::follow_patient(&parameters, &vitals, &Progress::new())?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = csv {
        let mut out = String::from(
            "t_min,hr_measured,sbp_measured,dbp_measured,hr_twin,sbp_twin,dbp_twin,hr_twin_sd,sbp_twin_sd,dbp_twin_sd,resistance_scale,resistance_sd_log,contractility_scale,contractility_sd_log,volume_change_ml,volume_sd_ml\n",
        );
        let cell = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.2}"));
        for p in &f.points {
            let _ = writeln!(
                out,
                "{:.3},{},{},{},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2},{:.4},{:.4},{:.4},{:.4},{:.1},{:.1}",
                p.t_min,
                cell(p.measured[0]),
                cell(p.measured[1]),
                cell(p.measured[2]),
                p.twin[0],
                p.twin[1],
                p.twin[2],
                p.twin_sd[0],
                p.twin_sd[1],
                p.twin_sd[2],
                p.resistance_scale,
                p.resistance_sd_log,
                p.contractility_scale,
                p.contractility_sd_log,
                p.volume_change_ml,
                p.volume_sd_ml
            );
        }
        std::fs::write(path, out).with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    if json {
        #[derive(Serialize)]
        struct Out<'a> {
            samples: usize,
            seconds: f64,
            follow: &'a twin_cardio::follow::Follow,
        }
        println!(
            "{}",
            serde_json::to_string(&Out {
                samples: vitals.len(),
                seconds,
                follow: &f
            })?
        );
        return Ok(());
    }
    println!(
        "{} samples over {:.0} min, followed in {seconds:.2} s",
        vitals.len(),
        vitals.last().map_or(0.0, |v| v.t_min)
    );
    println!(
        "  t (min)   HR meas/twin   SBP meas/twin   DBP meas/twin   R ×       contractility ×   ΔV mL"
    );
    let every = (f.points.len() / 15).max(1);
    for p in f.points.iter().step_by(every) {
        let m = |v: Option<f64>| v.map_or("  –".to_owned(), |v| format!("{v:3.0}"));
        println!(
            "  {:7.1}   {}/{:3.0}        {}/{:3.0}         {}/{:3.0}         {:.2}±{:.2}  {:.2}±{:.2}        {:+5.0}±{:.0}",
            p.t_min,
            m(p.measured[0]),
            p.twin[0],
            m(p.measured[1]),
            p.twin[1],
            m(p.measured[2]),
            p.twin[2],
            p.resistance_scale,
            p.resistance_sd_log,
            p.contractility_scale,
            p.contractility_sd_log,
            p.volume_change_ml,
            p.volume_sd_ml
        );
    }
    Ok(())
}

/// What `twin cardio timeline --json` prints.
#[derive(Serialize)]
struct TimelineSummary<'a> {
    name: &'a str,
    reflex: bool,
    beats: usize,
    steps: usize,
    seconds: f64,
    rest: &'a twin_cardio::BeatIndices,
    events: &'a [(f64, String)],
    /// The last beat.
    end: &'a twin_cardio::TrendPoint,
    trend: &'a [twin_cardio::TrendPoint],
    drugs: &'a [twin_cardio::timeline::DrugSample],
}

/// Reads a timeline file, naming it in errors (running it validates).
pub fn read_timeline(file: &Path) -> anyhow::Result<twin_cardio::Timeline> {
    twin_cardio::Timeline::read(file).with_context(|| format!("timeline `{}`", file.display()))
}

fn run_timeline(
    file: &Path,
    csv: Option<&Path>,
    waveforms: Option<(f64, PathBuf)>,
    json: bool,
) -> anyhow::Result<()> {
    let timeline = read_timeline(file)?;
    let started = std::time::Instant::now();
    let run = timeline
        .run(&Progress::new())
        .with_context(|| format!("timeline `{}`", file.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = csv {
        std::fs::write(path, run.to_csv())
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    if let Some((t_min, path)) = waveforms {
        let w = run.waveforms_at(t_min)?.ok_or_else(|| {
            anyhow::anyhow!(
                "--at {t_min}: no beat at that time (the timeline runs 0–{} min)",
                timeline.duration_min
            )
        })?;
        write_csv(&path, &w)?;
    }
    let end = run
        .trend
        .last()
        .ok_or_else(|| anyhow::anyhow!("the timeline ran no beat"))?;
    if json {
        let s = TimelineSummary {
            name: &run.name,
            reflex: run.reflex,
            beats: run.beats(),
            steps: run.steps,
            seconds,
            rest: &run.rest,
            events: &run.events,
            end,
            trend: &run.trend,
            drugs: &run.drugs,
        };
        println!("{}", serde_json::to_string(&s)?);
        return Ok(());
    }
    println!(
        "{} — {:.0} min, {} beats in {:.2} s (reflexes {})",
        run.name,
        timeline.duration_min,
        run.beats(),
        seconds,
        if run.reflex { "on" } else { "off" }
    );
    for (t, e) in &run.events {
        println!("  {t:6.1} min  {e}");
    }
    println!("   t (min)    HR   BP (mean) mmHg     PP    CO L/min  LVEDP  RA   ΔV mL");
    let step = (timeline.duration_min / 12.0).max(0.5);
    let mut t = 0.0;
    while t <= timeline.duration_min + 1e-9 {
        if let Some(i) = run.beat_at(t) {
            let p = &run.trend[i];
            println!(
                "  {:7.1} {:5.0}  {:4.0}/{:<4.0}({:4.0})  {:5.0}   {:5.2}   {:5.1} {:4.1} {:+6.0}",
                p.t_min,
                p.heart_rate_bpm,
                p.sbp_mmhg,
                p.dbp_mmhg,
                p.map_mmhg,
                p.pulse_pressure_mmhg,
                p.cardiac_output_l_min,
                p.lvedp_mmhg,
                p.mean_ra_mmhg,
                p.blood_volume_change_ml
            );
        }
        t += step;
    }
    Ok(())
}

fn write_csv(path: &Path, w: &twin_cardio::Waveforms) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path)
            .with_context(|| format!("cannot write `{}`", path.display()))?,
    );
    writeln!(
        f,
        "t_s,p_lv_mmhg,p_ao_mmhg,p_la_mmhg,v_lv_ml,p_rv_mmhg,p_pa_mmhg,v_rv_ml,q_av_ml_s,q_mv_ml_s"
    )?;
    for i in 0..w.t.len() {
        writeln!(
            f,
            "{:.5},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3}",
            w.t[i],
            w.p_lv[i],
            w.p_ao[i],
            w.p_la[i],
            w.v_lv[i],
            w.p_rv[i],
            w.p_pa[i],
            w.v_rv[i],
            w.q_av[i],
            w.q_mv[i]
        )?;
    }
    Ok(())
}
