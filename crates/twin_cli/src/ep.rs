//! `twin ep …`: cardiac electrophysiology headless — activation maps,
//! pacing, block, scar and ablation on the ventricles, the pseudo-ECG,
//! and the beat of the circulation they drive.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde::Serialize;
use twin_cardio::Parameters;
use twin_core::Progress;
use twin_ep::ecg::{Electrodes, LeadField, Template, ecg};
use twin_ep::heart::{Ablation, Block, Heart, Lead, Rhythm, Scar, Tissue};
use twin_scenario::TwinDocument;
use twin_scenario::document::{EpHeart, EpSetting};
use twin_session::ep::{EpResult, demo_heart, rerun_variants, run as run_coupled};

#[derive(Subcommand, Debug)]
pub enum EpCommand {
    /// Activate the ventricles under a rhythm and print what a clinician
    /// reads: total (QRS) and per-ventricle activation times, the LV–RV
    /// delay, the AHA segments, QLV at each LV lead; `--coupled` beats the
    /// circulation with it against sinus rhythm. Given a twin file, rerun
    /// its EP variants instead.
    Run {
        /// `demo` (the demo patient's ventricles), a tetrahedral mesh as
        /// a legacy VTK unstructured grid (`region` cell data: 1 LV wall,
        /// 2 RV wall; `tags` point data: 1 LV endocardium, 2 RV, 4
        /// epicardium, 8 base), or a twin file (`.json`): its EP variants
        /// rerun on their hearts, printed, and with `--out DIR` the twin
        /// written there with their activation and numbers renewed.
        input: String,
        /// Keep this run as a variant of the twin file TWIN (written as
        /// `--out DIR`/TWIN's file name; the original is not touched).
        #[arg(long, value_name = "TWIN")]
        add_to: Option<PathBuf>,
        /// The kept variant's name (default: the rhythm in words).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Mesh size of the demo heart (mm).
        #[arg(long, default_value_t = 1.5, value_name = "MM")]
        mesh_mm: f64,
        /// A blocked bundle branch: none, lbbb or rbbb.
        #[arg(long, default_value = "none")]
        block: String,
        /// Fully paced: no intrinsic conduction, the leads only (else the
        /// intrinsic activation starts at --intrinsic-ms and leads add to
        /// it).
        #[arg(long)]
        paced: bool,
        /// Time of the intrinsic activation after the rhythm's zero (ms;
        /// leads fire at their own delays after it).
        #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
        intrinsic_ms: f64,
        /// A lead by ventricular coordinates:
        /// `NAME,SITE,Z,THETA[,DELAY_MS]` with SITE lv-endo, lv-epi,
        /// rv-endo or rv-epi, Z apex–base (0 base, 1 apex), THETA degrees
        /// around the LV (0 septum, 90 anterior, 180 lateral, −90
        /// inferior).
        #[arg(
            long,
            value_name = "NAME,SITE,Z,THETA[,DELAY]",
            allow_hyphen_values = true
        )]
        lead: Vec<String>,
        /// A lead at a point (LPS mm): `NAME,X,Y,Z[,DELAY_MS]`.
        #[arg(long, value_name = "NAME,X,Y,Z[,DELAY]", allow_hyphen_values = true)]
        lead_at: Vec<String>,
        /// A scar: `X,Y,Z,RADIUS[,BORDER_MM[,BORDER_FACTOR]]` (mm; border 3
        /// mm at half the velocity unless given).
        #[arg(long, value_name = "X,Y,Z,R[,B[,F]]", allow_hyphen_values = true)]
        scar: Vec<String>,
        /// An ablation line: `X,Y,Z;X,Y,Z[;…]@RADIUS` (mm).
        #[arg(long, value_name = "X,Y,Z;X,Y,Z@R", allow_hyphen_values = true)]
        ablation: Vec<String>,
        /// Conduction velocities (m/s): along and across the fibres, the
        /// fast endocardial layer.
        #[arg(long, default_value_t = 0.6, allow_hyphen_values = true)]
        fibre_velocity: f64,
        #[arg(long, default_value_t = 0.24, allow_hyphen_values = true)]
        cross_velocity: f64,
        #[arg(long, default_value_t = 2.0, allow_hyphen_values = true)]
        endocardial_velocity: f64,
        /// Beat the circulation with this activation (and with sinus
        /// rhythm, the baseline).
        #[arg(long)]
        coupled: bool,
        /// Write activation.vtk (the mesh with its activation map),
        /// ecg.csv and summary.json here.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Summary {
    input: String,
    nodes: usize,
    tetrahedra: usize,
    volume_ml: f64,
    rhythm: Rhythm,
    #[serde(flatten)]
    activation: twin_ep::heart::Summary,
    /// QLV of each lead on the LV: the intrinsic (sinus or blocked)
    /// activation's delay there.
    qlv_ms: Vec<(String, f64)>,
    ecg_qrs_ms: Option<f64>,
    activation_time_ms: f64,
    ecg_time_ms: f64,
    coupled: Option<Vec<EpResult>>,
}

fn numbers(text: &str, what: &str) -> anyhow::Result<Vec<f64>> {
    text.split(',')
        .map(|t| {
            t.trim()
                .parse::<f64>()
                .with_context(|| format!("{what} `{text}`: `{t}` is not a number"))
        })
        .collect()
}

fn parse_lead(heart: &Heart, text: &str) -> anyhow::Result<Lead> {
    let mut parts = text.splitn(3, ',');
    let name = parts.next().unwrap_or_default().trim().to_owned();
    let site = parts.next().unwrap_or_default().trim().to_owned();
    let rest = numbers(parts.next().unwrap_or_default(), "--lead")?;
    let (lv, endo) = match site.as_str() {
        "lv-endo" => (true, true),
        "lv-epi" => (true, false),
        "rv-endo" => (false, true),
        "rv-epi" => (false, false),
        other => bail!("--lead `{text}`: site `{other}` is not lv-endo, lv-epi, rv-endo or rv-epi"),
    };
    let (z, theta, delay) = match rest[..] {
        [z, t] => (z, t, 0.0),
        [z, t, d] => (z, t, d),
        _ => bail!("--lead `{text}`: expected NAME,SITE,Z,THETA[,DELAY_MS]"),
    };
    if !(0.0..=1.0).contains(&z) {
        bail!("--lead `{text}`: apex–base coordinate {z} is outside 0 (base) – 1 (apex)");
    }
    let position = heart
        .site(lv, endo, z, theta)
        .with_context(|| format!("--lead `{text}`: the heart has no {site} surface"))?;
    Ok(Lead::new(&name, position, delay))
}

fn parse_lead_at(text: &str) -> anyhow::Result<Lead> {
    let (name, rest) = text
        .split_once(',')
        .with_context(|| format!("--lead-at `{text}`: expected NAME,X,Y,Z[,DELAY_MS]"))?;
    let v = numbers(rest, "--lead-at")?;
    let (position, delay) = match v[..] {
        [x, y, z] => ([x, y, z], 0.0),
        [x, y, z, d] => ([x, y, z], d),
        _ => bail!("--lead-at `{text}`: expected NAME,X,Y,Z[,DELAY_MS]"),
    };
    Ok(Lead::new(name.trim(), position, delay))
}

fn parse_scar(text: &str) -> anyhow::Result<Scar> {
    let v = numbers(text, "--scar")?;
    let (radius, border, factor) = match v[..] {
        [_, _, _, r] => (r, 3.0, 0.5),
        [_, _, _, r, b] => (r, b, 0.5),
        [_, _, _, r, b, f] => (r, b, f),
        _ => bail!("--scar `{text}`: expected X,Y,Z,RADIUS[,BORDER_MM[,BORDER_FACTOR]]"),
    };
    Ok(Scar {
        centre: [v[0], v[1], v[2]],
        radius_mm: radius,
        border_mm: border,
        border_factor: factor,
    })
}

fn parse_ablation(text: &str) -> anyhow::Result<Ablation> {
    let (points, radius) = text
        .rsplit_once('@')
        .with_context(|| format!("--ablation `{text}`: expected X,Y,Z;X,Y,Z[;…]@RADIUS"))?;
    let points = points
        .split(';')
        .map(|p| {
            let v = numbers(p, "--ablation")?;
            match v[..] {
                [x, y, z] => Ok([x, y, z]),
                _ => bail!("--ablation `{text}`: `{p}` is not X,Y,Z"),
            }
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let radius_mm = radius
        .trim()
        .parse()
        .with_context(|| format!("--ablation `{text}`: radius `{radius}` is not a number"))?;
    Ok(Ablation { points, radius_mm })
}

fn load(input: &str, mesh_mm: f64) -> anyhow::Result<Heart> {
    if input == "demo" {
        return Ok(demo_heart(mesh_mm)?);
    }
    Ok(twin_session::ep::heart_from_file(Path::new(input))?)
}

pub fn run(command: EpCommand) -> anyhow::Result<()> {
    let EpCommand::Run {
        input,
        add_to,
        name,
        mesh_mm,
        block,
        paced,
        intrinsic_ms,
        lead,
        lead_at,
        scar,
        ablation,
        fibre_velocity,
        cross_velocity,
        endocardial_velocity,
        coupled,
        out,
        json,
    } = command;
    if Path::new(&input)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        return run_twin(Path::new(&input), out.as_deref(), json);
    }
    if add_to.is_some() && out.is_none() {
        bail!("--add-to needs --out DIR: the twin with the new variant is written there");
    }
    let heart = load(&input, mesh_mm)?;
    let block = match block.as_str() {
        "none" => Block::None,
        "lbbb" => Block::Lbbb,
        "rbbb" => Block::Rbbb,
        other => bail!("--block `{other}`: expected none, lbbb or rbbb"),
    };
    if !intrinsic_ms.is_finite() {
        bail!("--intrinsic-ms {intrinsic_ms} is not a number");
    }
    let intrinsic = (!paced).then_some(intrinsic_ms);
    let mut leads = lead
        .iter()
        .map(|l| parse_lead(&heart, l))
        .collect::<anyhow::Result<Vec<_>>>()?;
    leads.extend(
        lead_at
            .iter()
            .map(|l| parse_lead_at(l))
            .collect::<anyhow::Result<Vec<_>>>()?,
    );
    let tissue = Tissue {
        fibre_velocity,
        cross_velocity,
        endocardial_velocity,
        scars: scar
            .iter()
            .map(|s| parse_scar(s))
            .collect::<anyhow::Result<_>>()?,
        ablations: ablation
            .iter()
            .map(|a| parse_ablation(a))
            .collect::<anyhow::Result<_>>()?,
        ..Tissue::default()
    };
    let rhythm = Rhythm {
        block,
        intrinsic_ms: intrinsic,
        leads,
    };
    let clock = Instant::now();
    let act = heart.activate(&tissue, &rhythm)?;
    let activation_time_ms = clock.elapsed().as_secs_f64() * 1e3;
    // QLV from the intrinsic rhythm (the block kept, no pacing): the
    // activation itself when nothing paces.
    let intrinsic_act = if rhythm.leads.is_empty() {
        act.clone()
    } else {
        heart.activate(&tissue, &Rhythm::blocked(block))?
    };
    let qlv_ms = rhythm
        .leads
        .iter()
        .filter(|l| heart.coords.lv[heart.mesh.nearest_node(l.position)])
        .map(|l| (l.name.clone(), heart.qlv_ms(&intrinsic_act, l.position)))
        .collect();
    let clock = Instant::now();
    let field = LeadField::new(&heart.mesh, &Electrodes::around(heart.coords.centre))?;
    let trace = ecg(&field, &act.times, &Template::default(), 1.0)?;
    let ecg_time_ms = clock.elapsed().as_secs_f64() * 1e3;
    let coupled = if coupled {
        let params = Parameters::default();
        let progress = Progress::new();
        let (_, base, _) = run_coupled(
            "sinus",
            &heart,
            &Tissue::default(),
            &Rhythm::sinus(),
            &params,
            &progress,
        )?;
        let (_, this, _) = run_coupled(
            &rhythm_name(&rhythm),
            &heart,
            &tissue,
            &rhythm,
            &params,
            &progress,
        )?;
        Some(vec![base, this])
    } else {
        None
    };
    let summary = Summary {
        input: input.clone(),
        nodes: heart.mesh.nodes.len(),
        tetrahedra: heart.mesh.tets.len(),
        volume_ml: heart.mesh.volume() / 1000.0,
        rhythm: rhythm.clone(),
        activation: act.summary.clone(),
        qlv_ms,
        ecg_qrs_ms: trace.qrs(170.0).map(|(a, b)| b - a),
        activation_time_ms,
        ecg_time_ms,
        coupled,
    };
    if let Some(dir) = &out {
        write_outputs(dir, &input, &heart, &act, &trace, &summary)?;
    }
    if let (Some(twin), Some(dir)) = (&add_to, &out) {
        let setting = EpSetting {
            heart: if input == "demo" {
                EpHeart::Demo { mesh_mm }
            } else {
                EpHeart::Mesh {
                    path: std::path::absolute(&input)
                        .with_context(|| format!("cannot resolve {input}"))?,
                }
            },
            rhythm: rhythm.clone(),
            tissue: tissue.clone(),
        };
        let name = name.unwrap_or_else(|| rhythm.to_string());
        let kept = keep_variant(twin, dir, &name, setting, &heart, &act, &intrinsic_act)?;
        if !json {
            println!("kept as variant “{name}” in {}", kept.display());
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary, &rhythm, intrinsic_act.summary.total_ms);
    }
    Ok(())
}

/// Reruns the EP variants of the twin file `path`; with `out`, writes
/// the renewed twin there.
fn run_twin(path: &Path, out: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let (mut doc, notes) = TwinDocument::read(path)?;
    for n in notes {
        eprintln!("{n}");
    }
    if doc.variants.iter().all(|v| v.ep.is_none()) {
        bail!(
            "{}: the twin has no EP variant (keep one with `twin ep run demo --add-to {} --out DIR`)",
            path.display(),
            path.display()
        );
    }
    let names = rerun_variants(&mut doc, &Progress::new())?;
    if let Some(dir) = out {
        let written = write_twin(path, dir, &doc)?;
        if !json {
            println!("wrote {}", written.display());
        }
    }
    let rows: Vec<&twin_scenario::Variant> = doc
        .variants
        .iter()
        .filter(|v| names.contains(&v.name))
        .collect();
    if json {
        let table: Vec<serde_json::Value> = rows
            .iter()
            .map(|v| {
                serde_json::json!({
                    "name": v.name,
                    "rhythm": v.ep.as_ref().map(|e| e.rhythm.to_string()),
                    "results": v.results,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&table)?);
    } else {
        for v in rows {
            let r = |k: &str| {
                v.results
                    .get(k)
                    .map_or_else(|| "—".to_owned(), |x| format!("{x:.0}"))
            };
            println!(
                "{}: {} — QRS {} ms, LV {} ms, RV {} ms, LV−RV {} ms, QLV {} ms",
                v.name,
                v.description,
                r("ep_total_activation_ms"),
                r("ep_lv_activation_ms"),
                r("ep_rv_activation_ms"),
                r("ep_lv_rv_delay_ms"),
                r("ep_qlv_ms")
            );
        }
    }
    Ok(())
}

/// Adds the run (its activation `act`, the intrinsic one `intrinsic` its
/// QLV is read from) as a variant (renamed when its name is taken) to the
/// twin file `twin` and writes the result into `dir`.
fn keep_variant(
    twin: &Path,
    dir: &Path,
    name: &str,
    setting: EpSetting,
    heart: &Heart,
    act: &twin_ep::heart::Activation,
    intrinsic: &twin_ep::heart::Activation,
) -> anyhow::Result<PathBuf> {
    let (mut doc, notes) = TwinDocument::read(twin)?;
    for n in notes {
        eprintln!("{n}");
    }
    let mut unique = name.to_owned();
    let mut k = 2;
    while doc.variants.iter().any(|v| v.name == unique) {
        unique = format!("{name} ({k})");
        k += 1;
    }
    doc.variants.push(twin_session::ep::variant_of(
        &unique,
        setting,
        heart,
        &[],
        act,
        Some(intrinsic),
    )?);
    write_twin(twin, dir, &doc)
}

/// `doc` as `dir`/the file name of `original` (never into its folder).
fn write_twin(original: &Path, dir: &Path, doc: &TwinDocument) -> anyhow::Result<PathBuf> {
    twin_core::paths::ensure_outside(original.parent().unwrap_or(Path::new(".")), dir)
        .map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(
        original
            .file_name()
            .unwrap_or(std::ffi::OsStr::new("twin.json")),
    );
    twin_scenario::store::save(doc, &path)?;
    Ok(path)
}

/// The summary as text.
fn print_summary(summary: &Summary, rhythm: &Rhythm, intrinsic_total_ms: f64) {
    println!(
        "{} nodes, {} tetrahedra ({:.0} mL); {}: QRS (total activation) {:.0} ms, LV {:.0} ms, RV {:.0} ms, LV−RV delay {:.0} ms{}",
        summary.nodes,
        summary.tetrahedra,
        summary.volume_ml,
        rhythm_name(rhythm),
        summary.activation.total_ms,
        summary.activation.lv_total_ms,
        summary.activation.rv_total_ms,
        summary.activation.lv_rv_delay_ms,
        if summary.activation.unreached > 0 {
            format!(", {} nodes not reached", summary.activation.unreached)
        } else {
            String::new()
        }
    );
    for (name, q) in &summary.qlv_ms {
        println!(
            "QLV at {name}: {q:.0} ms ({:.0} % of the intrinsic QRS)",
            100.0 * q / intrinsic_total_ms
        );
    }
    if let Some(runs) = &summary.coupled {
        for r in runs {
            println!(
                "{}: EF {:.1} %, stroke volume {:.1} mL, stroke work {:.0} mmHg·mL, MAP {:.0} mmHg",
                r.name,
                r.beat.lv_ef_percent,
                r.beat.lv_sv_ml,
                r.beat.stroke_work_mmhg_ml,
                r.beat.map_mmhg
            );
        }
    }
}

/// activation.vtk, ecg.csv and summary.json into `dir` (never into the
/// input mesh's folder).
fn write_outputs(
    dir: &Path,
    input: &str,
    heart: &Heart,
    act: &twin_ep::heart::Activation,
    trace: &twin_ep::ecg::Ecg,
    summary: &Summary,
) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    if input != "demo" {
        twin_core::paths::ensure_outside(Path::new(input).parent().unwrap_or(Path::new(".")), dir)
            .map_err(anyhow::Error::msg)?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    twin_ep::io::write_vtk(
        &dir.join("activation.vtk"),
        &heart.mesh,
        &[("activation_ms", &act.times)],
    )?;
    let mut csv = String::from("t_ms");
    for (name, _) in &trace.leads {
        csv.push(',');
        csv.push_str(name);
    }
    csv.push('\n');
    for (k, t) in trace.t_ms.iter().enumerate() {
        let _ = write!(csv, "{t}");
        for (_, v) in &trace.leads {
            let _ = write!(csv, ",{:.6}", v[k]);
        }
        csv.push('\n');
    }
    let path = dir.join("ecg.csv");
    std::fs::write(&path, csv).with_context(|| format!("cannot write {}", path.display()))?;
    let path = dir.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(summary)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn rhythm_name(r: &Rhythm) -> String {
    let base = match (r.intrinsic_ms, r.block) {
        (None, _) => "paced".to_owned(),
        (Some(_), Block::None) => "sinus".to_owned(),
        (Some(_), Block::Lbbb) => "LBBB".to_owned(),
        (Some(_), Block::Rbbb) => "RBBB".to_owned(),
    };
    if r.leads.is_empty() {
        base
    } else {
        let names: Vec<&str> = r.leads.iter().map(|l| l.name.as_str()).collect();
        format!("{base} + {}", names.join(", "))
    }
}
