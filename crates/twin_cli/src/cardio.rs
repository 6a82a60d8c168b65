//! `twin cardio …`: the cardiac twin headless (baseline, scenarios,
//! calibration, the parameter table).

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
        CardioCommand::Validation { json } => {
            let rows = twin_cardio::validation::validation_table(&Progress::new())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print!("{}", twin_cardio::validation::markdown(&rows));
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

fn run_timeline(
    file: &Path,
    csv: Option<&Path>,
    waveforms: Option<(f64, PathBuf)>,
    json: bool,
) -> anyhow::Result<()> {
    let text =
        twin_core::limits::read_text(file, twin_core::limits::MAX_JSON_FILE, "timeline file")
            .map_err(|e| anyhow::anyhow!("cannot read timeline `{}`: {e}", file.display()))?;
    let timeline: twin_cardio::Timeline =
        serde_json::from_str(&text).with_context(|| format!("timeline `{}`", file.display()))?;
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
            beats: run.beats,
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
        run.beats,
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
