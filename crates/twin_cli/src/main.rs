//! `twin`: Twinscope's pipeline without a window, for batch work and tests.

mod cardio;
mod ep;
mod forward;
mod gait;
mod twin;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde::Serialize;
use twin_core::Progress;

#[derive(Parser)]
#[command(
    name = "twin",
    version,
    about = "Twinscope patient digital twin, headless"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the demo patient (cardiac MR cine + lower-limb CT) as DICOM into DIR.
    Phantom {
        /// Output folder (created; must not be inside an input study).
        dir: PathBuf,
        /// Write this (fake) identity instead of DEMO^PATIENT:
        /// NAME,ID,YYYYMMDD,ACCESSION — for privacy tests and demonstrations.
        #[arg(long, value_name = "NAME,ID,BIRTHDATE,ACCESSION")]
        identity: Option<String>,
    },
    /// Segment a stack and write its surface mesh (STL, OBJ or PLY, mm).
    Mesh {
        dir: PathBuf,
        /// Stack id from `twin dicom ls`.
        #[arg(long = "series", value_name = "ID")]
        series: String,
        /// Value range LO[:HI] (HU for CT); without HI, everything from LO up.
        #[arg(
            long,
            value_name = "LO[:HI]",
            conflicts_with = "seed",
            allow_hyphen_values = true
        )]
        threshold: Option<String>,
        /// Region-growing seed in patient mm (LPS): X,Y,Z.
        #[arg(long, value_name = "X,Y,Z", allow_hyphen_values = true)]
        seed: Option<String>,
        /// With --seed: accepted distance from the seed's value.
        #[arg(long, default_value_t = 100.0)]
        tolerance: f32,
        /// Taubin smoothing iterations (0 = none).
        #[arg(long, default_value_t = 0)]
        smooth: usize,
        /// Decimate to at most this many triangles (topology kept).
        #[arg(long, value_name = "TRIS")]
        decimate: Option<usize>,
        /// Anti-aliasing of the mask: Gaussian σ in voxels (0 = raw mask).
        #[arg(
            long,
            value_name = "SIGMA",
            default_value_t = 0.7,
            allow_hyphen_values = true
        )]
        antialias: f64,
        /// Output mesh, .stl/.obj/.ply; must not be inside DIR.
        #[arg(long, value_name = "MESH")]
        out: PathBuf,
        /// Write RAS coordinates instead of LPS.
        #[arg(long)]
        ras: bool,
        /// Machine-readable summary.
        #[arg(long)]
        json: bool,
    },
    /// LV volume in every phase of a cine: EDV, ESV, SV, EF, with quality flags.
    ///
    /// By default a learned network finds the LV by itself (a seed picks it
    /// when given) and draws the expert's endocardial contour (papillary
    /// muscles and trabeculae in the cavity); `--method threshold` grows the
    /// blood pool from a seed instead (and can follow the RV).
    CineLv {
        dir: PathBuf,
        /// Stack id of the cine (from `twin dicom ls`).
        #[arg(long = "series", value_name = "ID")]
        series: String,
        /// A point in the LV blood pool, patient mm (LPS): X,Y,Z (needed by `--method threshold`).
        #[arg(long, value_name = "X,Y,Z", allow_hyphen_values = true)]
        seed: Option<String>,
        /// How the cavity is found.
        #[arg(long, value_enum, default_value_t = CineMethod::Learned)]
        method: CineMethod,
        /// Which volumes are reported as EDV/ESV: the expert's endocardial
        /// contour, or the blood inside it (both are in `--json`).
        #[arg(long, value_enum, default_value_t = CineConvention::Expert)]
        convention: CineConvention,
        /// `--method threshold`: where the blood–wall border lies between the wall (0) and blood (1) signal.
        #[arg(long, default_value_t = twin_mesh::cine::DEFAULT_FRACTION)]
        fraction: f32,
        /// The LV myocardium at ED and ES: volume, mass (1.05 g/mL), wall
        /// thickness per AHA segment (learned method).
        #[arg(long)]
        myocardium: bool,
        /// The RV volume curve too: found beside the septum, or grown from
        /// `--rv-seed` (learned method).
        #[arg(long)]
        rv: bool,
        /// A point in the RV blood pool, patient mm (LPS): X,Y,Z (implies `--rv`).
        #[arg(long, value_name = "X,Y,Z", allow_hyphen_values = true)]
        rv_seed: Option<String>,
        /// Writes every contour (LV per phase and slice, epicardium, RV) as
        /// JSON polygons in pixel coordinates, with each phase's
        /// pixel-to-patient affine.
        #[arg(long, value_name = "OUT.json")]
        contours: Option<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// DICOM studies.
    Dicom {
        #[command(subcommand)]
        command: DicomCommand,
    },
    /// The cardiac twin: run a baseline or scenario, calibrate to a patient.
    Cardio {
        #[command(subcommand)]
        command: cardio::CardioCommand,
    },
    /// Gait analysis: inverse kinematics and inverse dynamics on OpenSim
    /// models and motion data.
    Gait {
        #[command(subcommand)]
        command: gait::GaitCommand,
    },
    /// Cardiac electrophysiology: activation maps, pacing, block, scar,
    /// ablation, the pseudo-ECG and the coupled beat.
    Ep {
        #[command(subcommand)]
        command: ep::EpCommand,
    },
    /// A twin's report: one self-contained HTML file (provenance,
    /// calibration, a delta table per variant, PV loops and aortic
    /// pressures as SVG), and its waveforms as CSV.
    Report {
        twin: PathBuf,
        #[arg(long, value_name = "HTML")]
        out: PathBuf,
        /// Also write the waveforms (baseline and variants) as CSV.
        #[arg(long, value_name = "CSV")]
        csv: Option<PathBuf>,
        /// Hide the identity: the twin's name becomes a pseudonym, the
        /// study's folder and UIDs are left out.
        #[arg(long)]
        privacy: bool,
        /// Run this timeline on the twin's heart and add its trends.
        #[arg(long, value_name = "JSON")]
        timeline: Option<PathBuf>,
        /// Follow these vitals (CSV or FHIR R4 Bundle) and add the result.
        #[arg(long, value_name = "CSV|JSON")]
        vitals: Option<PathBuf>,
    },
    /// Patient twin files: make one from scenarios, show one, run its
    /// variants against the baseline.
    Twin {
        #[command(subcommand)]
        command: twin::TwinCommand,
    },
}

#[derive(Subcommand)]
enum DicomCommand {
    /// List the studies, series and stacks found under DIR.
    Ls {
        dir: PathBuf,
        /// Machine-readable output (schema in docs/cli.md).
        #[arg(long)]
        json: bool,
    },
    /// Assemble one stack (as listed by `ls`) and write it as NIfTI-1 (RAS sform/qform).
    Export {
        dir: PathBuf,
        /// Stack id from `twin dicom ls` (e.g. 3.1).
        #[arg(long = "series", value_name = "ID")]
        series: String,
        /// Output file, `.nii` or `.nii.gz`; must not be inside DIR.
        #[arg(long, value_name = "OUT")]
        nifti: PathBuf,
        /// Cardiac/temporal phase to export (0-based).
        #[arg(long, default_value_t = 0)]
        phase: usize,
    },
    /// De-identify every DICOM file under IN into OUT (PS3.15 Basic Profile).
    ///
    /// OUT must not exist or be empty, and must lie outside IN; IN is never
    /// modified. Files are written as OUT/000001.dcm, … (input names may carry
    /// identity).
    Anonymize {
        input: PathBuf,
        output: PathBuf,
        /// Keep dates and times (Retain Longitudinal Temporal Information, full dates).
        #[arg(long, conflicts_with = "shift_dates")]
        keep_dates: bool,
        /// Move every date by DAYS (may be negative); times are kept.
        #[arg(long, value_name = "DAYS", allow_hyphen_values = true)]
        shift_dates: Option<i32>,
        /// Secret for the new UIDs: runs with the same secret give the same new
        /// UID for the same old one. Default: a fresh secret per run.
        #[arg(long, value_name = "TEXT")]
        uid_secret: Option<String>,
        /// Also remove the safe private attributes kept by default (Siemens
        /// mosaic layout, Philips scale slope).
        #[arg(long)]
        remove_all_private: bool,
        /// Machine-readable summary.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct AnonymizeSummary {
    files_written: usize,
    not_dicom: usize,
    failed: Vec<Unreadable>,
    warnings: Vec<String>,
}

fn anonymize(
    input: &std::path::Path,
    output: &std::path::Path,
    options: &twin_imaging::deid::Options,
    json: bool,
) -> anyhow::Result<()> {
    let report = twin_imaging::deid::anonymize_tree(input, output, options, &Progress::new())?;
    let summary = AnonymizeSummary {
        files_written: report.files_written,
        not_dicom: report.not_dicom,
        failed: report
            .failed
            .iter()
            .map(|(p, e)| Unreadable {
                path: p.display().to_string(),
                error: e.clone(),
            })
            .collect(),
        warnings: report.warnings.clone(),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{}: {} file(s) written, {} not DICOM skipped, {} failed",
            output.display(),
            summary.files_written,
            summary.not_dicom,
            summary.failed.len()
        );
        for f in &summary.failed {
            eprintln!("twin: error: `{}`: {}", f.path, f.error);
        }
        for w in &summary.warnings {
            eprintln!("twin: warning: {w}");
        }
    }
    if summary.files_written == 0 {
        anyhow::bail!(
            "no DICOM file could be de-identified under `{}`",
            input.display()
        );
    }
    Ok(())
}

/// One stack in `twin dicom ls --json`.
#[derive(Serialize)]
struct StackListing {
    study_uid: String,
    study_date: String,
    study_description: String,
    series_uid: String,
    series_number: Option<i32>,
    series_description: String,
    stack_id: String,
    modality: String,
    /// Columns, rows, slices.
    dimensions: [usize; 3],
    /// Column spacing, row spacing, slice step along the stack axis (mm);
    /// null without geometry.
    spacing_mm: Option<[f64; 3]>,
    /// Phases (cardiac phases, or repeated volumes such as echoes).
    phases: usize,
    /// Time of each phase (ms), when the phases are a time series.
    phase_times_ms: Vec<f64>,
    instances: usize,
    localizer: bool,
    multiframe: bool,
    transfer_syntaxes: Vec<String>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct Listing {
    root: String,
    files_seen: usize,
    not_dicom: usize,
    no_pixels: usize,
    unreadable: Vec<Unreadable>,
    stacks: Vec<StackListing>,
}

#[derive(Serialize)]
struct Unreadable {
    path: String,
    error: String,
}

fn ls(dir: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let report = twin_imaging::scan_folder(dir, &Progress::new())?;
    let stacks: Vec<StackListing> = report
        .stacks()
        .map(|(st, se, sk)| {
            let (slices, step) = sk.volume_grid();
            let step = step
                .or_else(|| sk.first().and_then(|h| h.slice_thickness))
                .unwrap_or(0.0);
            StackListing {
                study_uid: st.uid.clone(),
                study_date: st.date.clone(),
                study_description: st.description.clone(),
                series_uid: se.uid.clone(),
                series_number: se.number,
                series_description: se.description.clone(),
                stack_id: sk.id.clone(),
                modality: sk.modality.clone(),
                dimensions: [usize::from(sk.columns), usize::from(sk.rows), slices],
                spacing_mm: sk.pixel_spacing.map(|p| [p[1], p[0], step]),
                phases: sk.phases,
                phase_times_ms: sk.trigger_times.clone(),
                instances: sk.instance_count(),
                localizer: sk.localizer,
                multiframe: sk.multiframe,
                transfer_syntaxes: sk.transfer_syntaxes.clone(),
                warnings: sk.warnings.clone(),
            }
        })
        .collect();
    let listing = Listing {
        root: dir.display().to_string(),
        files_seen: report.files_seen,
        not_dicom: report.not_dicom,
        no_pixels: report.no_pixels,
        unreadable: report
            .unreadable
            .iter()
            .map(|(p, e)| Unreadable {
                path: p.display().to_string(),
                error: e.clone(),
            })
            .collect(),
        stacks,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&listing)?);
        return Ok(());
    }
    println!(
        "{}: {} files ({} not DICOM, {} without images, {} unreadable)",
        listing.root,
        listing.files_seen,
        listing.not_dicom,
        listing.no_pixels,
        listing.unreadable.len()
    );
    println!(
        "{:<10} {:<4} {:>16} {:>22} {:>6}  description",
        "stack", "mod", "dimensions", "spacing (mm)", "phases"
    );
    for s in &listing.stacks {
        let dims = format!(
            "{}×{}×{}",
            s.dimensions[0], s.dimensions[1], s.dimensions[2]
        );
        let spacing = s.spacing_mm.map_or_else(
            || "-".to_owned(),
            |p| format!("{:.3}×{:.3}×{:.3}", p[0], p[1], p[2]),
        );
        println!(
            "{:<10} {:<4} {:>16} {:>22} {:>6}  {}",
            s.stack_id, s.modality, dims, spacing, s.phases, s.series_description
        );
        for w in &s.warnings {
            println!("{:<10} warning: {w}", "");
        }
    }
    for u in &listing.unreadable {
        println!("unreadable: {}: {}", u.path, u.error);
    }
    Ok(())
}

/// Refuses outputs inside the input study: we never write into a user's input folder.
fn ensure_outside(input: &std::path::Path, output: &std::path::Path) -> anyhow::Result<()> {
    twin_core::paths::ensure_outside(input, output).map_err(anyhow::Error::msg)
}

/// Stack `series` of a scan; the error lists the stacks there are.
fn find_stack<'r>(
    report: &'r twin_imaging::ScanReport,
    dir: &std::path::Path,
    series: &str,
) -> anyhow::Result<&'r twin_imaging::Stack> {
    report.stack(series).with_context(|| {
        let ids: Vec<&str> = report.stacks().map(|(_, _, s)| s.id.as_str()).collect();
        format!(
            "no stack `{series}` in `{}` (stacks: {})",
            dir.display(),
            ids.join(", ")
        )
    })
}

/// Scans `dir` and loads phase `phase` of stack `series`.
fn load_volume(
    dir: &std::path::Path,
    series: &str,
    phase: usize,
) -> anyhow::Result<twin_imaging::Volume> {
    let report = twin_imaging::scan_folder(dir, &Progress::new())?;
    let stack = find_stack(&report, dir, series)?;
    Ok(twin_imaging::load_stack(
        stack,
        phase,
        &Progress::new(),
        twin_core::limits::memory_budget(),
    )?)
}

/// What `twin mesh` builds from.
struct MeshRequest<'a> {
    dir: &'a std::path::Path,
    series: &'a str,
    threshold: Option<&'a str>,
    seed: Option<&'a str>,
    tolerance: f32,
    smooth: usize,
    decimate: Option<usize>,
    antialias: f64,
    out: &'a std::path::Path,
    ras: bool,
    json: bool,
}

#[derive(Serialize)]
struct MeshSummary {
    output: String,
    triangles: usize,
    vertices: usize,
    volume_ml: f64,
    area_cm2: f64,
    watertight: bool,
    euler: i64,
    frame: &'static str,
}

/// Scans `dir` and loads every phase of the cine stack `series`.
fn load_cine(dir: &std::path::Path, series: &str) -> anyhow::Result<twin_imaging::CineVolume> {
    let report = twin_imaging::scan_folder(dir, &Progress::new())?;
    let stack = find_stack(&report, dir, series)?;
    Ok(twin_imaging::load_cine(
        stack,
        &Progress::new(),
        twin_core::limits::memory_budget(),
    )?)
}

fn parse_floats<const N: usize>(text: &str, what: &str) -> anyhow::Result<[f64; N]> {
    let v: Vec<f64> = text
        .split([',', ':'])
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("{what} `{text}`: expected {N} numbers"))?;
    v.try_into()
        .map_err(|_| anyhow::anyhow!("{what} `{text}`: expected {N} numbers"))
}

fn mesh(req: &MeshRequest) -> anyhow::Result<()> {
    use twin_scenario::document::SegmentSource;
    ensure_outside(req.dir, req.out)?;
    let format = twin_mesh::io::MeshFormat::from_path(req.out)
        .with_context(|| format!("`{}`: use .stl, .obj or .ply", req.out.display()))?;
    let source = match (req.threshold, req.seed) {
        (Some(t), None) => {
            let (lo, hi) = match t.split_once(':') {
                Some((lo, hi)) => (
                    lo.trim().parse::<f32>().context("--threshold LO")?,
                    hi.trim().parse::<f32>().context("--threshold HI")?,
                ),
                None => (
                    t.trim().parse::<f32>().context("--threshold")?,
                    f32::INFINITY,
                ),
            };
            SegmentSource::Threshold { lo, hi }
        }
        (None, Some(s)) => SegmentSource::Grow {
            // Seed in patient mm (LPS) → nearest voxel.
            seed_mm: parse_floats::<3>(s, "--seed")?,
            tolerance: req.tolerance,
        },
        _ => anyhow::bail!("give either --threshold LO[:HI] or --seed X,Y,Z"),
    };
    if !(0.0..=5.0).contains(&req.antialias) {
        anyhow::bail!("--antialias {}: σ must be 0..5 voxels", req.antialias);
    }
    if req.decimate.is_some_and(|t| t < 4) {
        anyhow::bail!("--decimate: a closed surface needs at least 4 triangles");
    }
    let volume = load_volume(req.dir, req.series, 0)?;
    let options = twin_mesh::surface::SurfaceOptions {
        antialias_sigma: req.antialias,
        smooth_iterations: req.smooth,
        target_triangles: req.decimate,
    };
    let mesh = twin_session::segments::build_with(
        &volume,
        &source,
        twin_session::segments::Islands::Keep,
        options,
        1,
        &Progress::new(),
    )?
    .mesh;
    let frame = if req.ras {
        twin_mesh::io::Frame::Ras
    } else {
        twin_mesh::io::Frame::Lps
    };
    twin_mesh::io::write_mesh(&mesh, req.out, format, frame)?;
    let s = mesh.stats();
    let summary = MeshSummary {
        output: req.out.display().to_string(),
        triangles: s.triangles,
        vertices: s.vertices,
        volume_ml: s.volume_mm3 / 1000.0,
        area_cm2: s.area_mm2 / 100.0,
        watertight: s.watertight(),
        euler: s.euler,
        frame: frame.name(),
    };
    if req.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{}: {} triangles, {:.2} mL, {:.1} cm², {}, Euler {} ({} mm)",
            summary.output,
            summary.triangles,
            summary.volume_ml,
            summary.area_cm2,
            if summary.watertight {
                "watertight"
            } else {
                "open"
            },
            summary.euler,
            summary.frame
        );
    }
    Ok(())
}

/// How `twin cine-lv` finds the cavity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum CineMethod {
    /// The learned network (`twin_mesh::cine_net`): finds the LV itself.
    Learned,
    /// Blood-pool growth from a seed (`twin_mesh::cine::blood_pool`).
    Threshold,
}

/// Which LV volumes `twin cine-lv` reports as EDV/ESV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum CineConvention {
    /// Inside the endocardial contour, papillary muscles and trabeculae included.
    Expert,
    /// The blood inside that contour.
    BloodPool,
}

impl From<CineConvention> for twin_mesh::cine_net::Convention {
    fn from(c: CineConvention) -> Self {
        match c {
            CineConvention::Expert => Self::Endocardial,
            CineConvention::BloodPool => Self::BloodPool,
        }
    }
}

#[derive(Serialize)]
struct CineLvSummary {
    method: CineMethod,
    convention: CineConvention,
    phase_times_ms: Vec<f64>,
    #[serde(flatten)]
    curve: CurveSummary,
    /// The other convention's curve (learned method only).
    #[serde(skip_serializing_if = "Option::is_none")]
    other_convention: Option<OtherCurve>,
    /// `--myocardium`: the LV wall at ED and ES.
    #[serde(skip_serializing_if = "Option::is_none")]
    lv_myocardium: Option<WallSummary>,
    /// `--rv`: the RV volume curve.
    #[serde(skip_serializing_if = "Option::is_none")]
    rv: Option<RvSummary>,
    /// The network's confidence in the LV of each slice, per phase then
    /// slice (0..1, null where none was found; learned method only). Below
    /// `low_confidence` a slice is flagged for review.
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence: Option<Vec<Vec<Option<f32>>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    low_confidence: Option<f32>,
    /// Implausible results, by name (empty: none).
    quality_flags: Vec<String>,
    /// Slices the network was unsure of, by name: worth a look, not
    /// implausible.
    review: Vec<String>,
}

#[derive(Serialize)]
struct WallSummary {
    ed_volume_ml: f64,
    es_volume_ml: f64,
    /// At ED, 1.05 g/mL.
    mass_g: f64,
    /// At ED, AHA segments 1–16.
    aha: Vec<AhaSummary>,
    /// Per slice at ED: the share of rays on which the wall's outer edge was seen.
    edge_seen: Vec<(usize, f64)>,
}

#[derive(Serialize)]
struct AhaSummary {
    segment: u8,
    name: &'static str,
    thickness_mm: f64,
}

#[derive(Serialize)]
struct RvSummary {
    seed_mm: [f64; 3],
    #[serde(flatten)]
    curve: CurveSummary,
}

/// A ventricle's volume curve as `--json` writes it.
#[derive(Serialize)]
struct CurveSummary {
    volumes_ml: Vec<f64>,
    ed_phase: usize,
    es_phase: usize,
    edv_ml: f64,
    esv_ml: f64,
    sv_ml: f64,
    ef_percent: f64,
}

impl From<&twin_mesh::cine::LvCurve> for CurveSummary {
    fn from(c: &twin_mesh::cine::LvCurve) -> Self {
        Self {
            volumes_ml: c.volumes_ml.clone(),
            ed_phase: c.ed_phase,
            es_phase: c.es_phase,
            edv_ml: c.edv_ml,
            esv_ml: c.esv_ml,
            sv_ml: c.sv_ml,
            ef_percent: c.ef_percent,
        }
    }
}

/// The other convention's volumes.
#[derive(Serialize)]
struct OtherCurve {
    volumes_ml: Vec<f64>,
    edv_ml: f64,
    esv_ml: f64,
    ef_percent: f64,
}

struct CineLvArgs<'a> {
    seed: Option<&'a str>,
    method: CineMethod,
    convention: CineConvention,
    fraction: f32,
    myocardium: bool,
    rv: bool,
    rv_seed: Option<&'a str>,
    contours: Option<&'a std::path::Path>,
    json: bool,
}

fn cine_lv(dir: &std::path::Path, series: &str, a: &CineLvArgs<'_>) -> anyhow::Result<()> {
    if !(0.05..=0.95).contains(&a.fraction) {
        anyhow::bail!(
            "--fraction {}: expected a value between 0.05 and 0.95",
            a.fraction
        );
    }
    let seed = a.seed.map(|s| parse_floats::<3>(s, "--seed")).transpose()?;
    let rv_seed = a
        .rv_seed
        .map(|s| parse_floats::<3>(s, "--rv-seed"))
        .transpose()?;
    let method = a.method;
    if method == CineMethod::Threshold && (a.rv || a.myocardium || a.contours.is_some()) {
        anyhow::bail!("--rv, --myocardium and --contours need --method learned");
    }
    if let Some(out) = a.contours {
        ensure_outside(dir, out)?;
    }
    let cine = load_cine(dir, series)?;
    let grids: Vec<twin_mesh::Grid> = cine
        .phases
        .iter()
        .map(twin_session::segments::grid)
        .collect();
    let (pool, other, analysis) = match method {
        CineMethod::Learned => {
            let options = twin_session::cine::CineOptions {
                seed,
                convention: a.convention.into(),
                myocardium: a.myocardium,
                rv: a.rv,
                rv_seed,
            };
            let analysis = twin_session::cine::analyse(&grids, options, &Progress::new())?;
            (
                analysis.lv.clone(),
                Some(analysis.other.clone()),
                Some(analysis),
            )
        }
        CineMethod::Threshold => {
            let Some(s) = seed else {
                anyhow::bail!("--method threshold needs --seed X,Y,Z in the blood pool");
            };
            let p = twin_mesh::cine::blood_pool(
                &grids,
                s,
                twin_mesh::cine::Chamber::Lv,
                a.fraction,
                &Progress::new(),
            )
            .with_context(|| {
                format!(
                    "--seed {:.1},{:.1},{:.1} (patient mm, LPS)",
                    s[0], s[1], s[2]
                )
            })?;
            (p, None, None)
        }
    };
    if let (Some(out), Some(an)) = (a.contours, &analysis) {
        write_contours(out, series, &cine, an)?;
    }
    let quality_flags = match &analysis {
        Some(an) => an.quality_flags.clone(),
        None => twin_mesh::cine::quality_flags(&pool),
    };
    let lv_myocardium = analysis.as_ref().and_then(wall_summary);
    let rv = analysis.as_ref().and_then(rv_summary);
    let summary = CineLvSummary {
        method,
        convention: if method == CineMethod::Learned {
            a.convention
        } else {
            CineConvention::BloodPool
        },
        phase_times_ms: cine.times_ms.clone(),
        curve: (&pool.curve).into(),
        other_convention: other.map(|o| OtherCurve {
            edv_ml: o.curve.edv_ml,
            esv_ml: o.curve.esv_ml,
            ef_percent: o.curve.ef_percent,
            volumes_ml: o.curve.volumes_ml,
        }),
        lv_myocardium,
        rv,
        confidence: analysis.as_ref().map(|an| an.confidence.clone()),
        low_confidence: analysis
            .as_ref()
            .map(|_| twin_mesh::cine_net::LOW_CONFIDENCE),
        quality_flags,
        review: analysis
            .as_ref()
            .map(|an| an.review.clone())
            .unwrap_or_default(),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    print_cine(&summary);
    Ok(())
}

/// `--myocardium`'s part of the summary.
fn wall_summary(an: &twin_session::cine::CineAnalysis) -> Option<WallSummary> {
    let (ed, es) = (an.myocardium.first()?, an.myocardium.get(1)?);
    Some(WallSummary {
        ed_volume_ml: ed.volume_ml,
        es_volume_ml: es.volume_ml,
        mass_g: ed.mass_g,
        aha: an
            .aha
            .iter()
            .map(|s| AhaSummary {
                segment: s.number,
                name: s.name,
                thickness_mm: s.thickness_mm,
            })
            .collect(),
        edge_seen: ed.walls.iter().map(|w| (w.slice, w.seen)).collect(),
    })
}

/// `--rv`'s part of the summary.
fn rv_summary(an: &twin_session::cine::CineAnalysis) -> Option<RvSummary> {
    let (pool, seed) = an.rv.as_ref()?;
    Some(RvSummary {
        seed_mm: *seed,
        curve: (&pool.curve).into(),
    })
}

/// `twin cine-lv` without `--json`.
fn print_cine(summary: &CineLvSummary) {
    let c = &summary.curve;
    for (p, v) in c.volumes_ml.iter().enumerate() {
        let t = summary
            .phase_times_ms
            .get(p)
            .map_or(String::new(), |t| format!(" ({t:.0} ms)"));
        println!("phase {p:>2}{t}: {v:.1} mL");
    }
    println!(
        "EDV {:.1} mL (phase {}), ESV {:.1} mL (phase {}), SV {:.1} mL, EF {:.1} %",
        c.edv_ml, c.ed_phase, c.esv_ml, c.es_phase, c.sv_ml, c.ef_percent
    );
    if let Some(o) = &summary.other_convention {
        println!(
            "{}: EDV {:.1} mL, ESV {:.1} mL, EF {:.1} %",
            match summary.convention {
                CineConvention::Expert => "blood pool without papillary muscles",
                CineConvention::BloodPool => "expert convention (endocardial contour)",
            },
            o.edv_ml,
            o.esv_ml,
            o.ef_percent
        );
    }
    if let Some(m) = &summary.lv_myocardium {
        println!(
            "LV myocardium: {:.1} mL at ED ({:.1} g), {:.1} mL at ES",
            m.ed_volume_ml, m.mass_g, m.es_volume_ml
        );
        for s in &m.aha {
            println!(
                "  AHA {:>2} {:<22} {:.1} mm",
                s.segment, s.name, s.thickness_mm
            );
        }
    }
    if let Some(r) = &summary.rv {
        println!(
            "RV: EDV {:.1} mL (phase {}), ESV {:.1} mL (phase {}), SV {:.1} mL, EF {:.1} %",
            r.curve.edv_ml,
            r.curve.ed_phase,
            r.curve.esv_ml,
            r.curve.es_phase,
            r.curve.sv_ml,
            r.curve.ef_percent
        );
    }
    for f in &summary.quality_flags {
        eprintln!("twin: quality: {f}");
    }
    if !summary.review.is_empty() {
        println!(
            "review (the network was unsure, confidence < {:.1}): {}",
            summary.low_confidence.unwrap_or_default(),
            summary.review.join("; ")
        );
    }
}

/// `--contours OUT.json`: every contour of the analysis, with each phase's
/// pixel → patient affine so that other tools can place them.
fn write_contours(
    out: &std::path::Path,
    series: &str,
    cine: &twin_imaging::CineVolume,
    an: &twin_session::cine::CineAnalysis,
) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct File<'a> {
        series: &'a str,
        /// Row-major 4 × 4: (column, row, slice index, 1) → patient mm (LPS).
        affines: Vec<[f64; 16]>,
        phase_times_ms: &'a [f64],
        contours: Vec<twin_session::cine::SliceContour>,
    }
    let affines = cine
        .phases
        .iter()
        .map(|v| {
            let m = v.affine.transpose();
            let mut a = [0.0; 16];
            a.copy_from_slice(m.as_slice());
            a
        })
        .collect();
    let file = File {
        series,
        affines,
        phase_times_ms: &cine.times_ms,
        contours: an.contours(),
    };
    let text = serde_json::to_string(&file)?;
    std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

fn export(
    dir: &std::path::Path,
    series: &str,
    nifti: &std::path::Path,
    phase: usize,
) -> anyhow::Result<()> {
    ensure_outside(dir, nifti)?;
    let volume = load_volume(dir, series, phase)?;
    twin_imaging::nifti_io::write_nifti(&volume, nifti)?;
    for w in &volume.warnings {
        eprintln!("twin: warning: {w}");
    }
    println!(
        "{}: {}×{}×{} voxels, spacing {:.3}×{:.3}×{:.3} mm",
        nifti.display(),
        volume.dims[0],
        volume.dims[1],
        volume.dims[2],
        volume.spacing()[0],
        volume.spacing()[1],
        volume.spacing()[2]
    );
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Phantom { dir, identity } => {
            let identity = identity
                .map(|text| twin_phantom::demo::FakeIdentity::parse(&text))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--identity: {e}"))?;
            let demo = twin_phantom::write_demo_patient(&dir)
                .with_context(|| format!("writing the demo patient into `{}`", dir.display()))?;
            if let Some(identity) = &identity {
                twin_phantom::demo::relabel_identity(&dir, identity)?;
            }
            println!("cardiac MR cine: {}", demo.cardiac_dir.display());
            println!("lower-limb CT:   {}", demo.ct_dir.display());
            println!(
                "ground truth:    {}",
                demo.root.join("truth.json").display()
            );
            Ok(())
        }
        Command::Mesh {
            dir,
            series,
            threshold,
            seed,
            tolerance,
            smooth,
            decimate,
            antialias,
            out,
            ras,
            json,
        } => mesh(&MeshRequest {
            dir: &dir,
            series: &series,
            threshold: threshold.as_deref(),
            seed: seed.as_deref(),
            tolerance,
            smooth,
            decimate,
            antialias,
            out: &out,
            ras,
            json,
        }),
        Command::CineLv {
            dir,
            series,
            seed,
            method,
            convention,
            fraction,
            myocardium,
            rv,
            rv_seed,
            contours,
            json,
        } => cine_lv(
            &dir,
            &series,
            &CineLvArgs {
                seed: seed.as_deref(),
                method,
                convention,
                fraction,
                myocardium,
                rv: rv || rv_seed.is_some(),
                rv_seed: rv_seed.as_deref(),
                contours: contours.as_deref(),
                json,
            },
        ),
        Command::Cardio { command } => cardio::run(command),
        Command::Gait { command } => gait::run(command),
        Command::Ep { command } => ep::run(command),
        Command::Twin { command } => twin::run(command),
        Command::Report {
            twin: file,
            out,
            csv,
            privacy,
            timeline,
            vitals,
        } => twin::report(
            &file,
            &out,
            csv.as_deref(),
            privacy,
            timeline.as_deref(),
            vitals.as_deref(),
        ),
        Command::Dicom {
            command: DicomCommand::Ls { dir, json },
        } => ls(&dir, json),
        Command::Dicom {
            command:
                DicomCommand::Export {
                    dir,
                    series,
                    nifti,
                    phase,
                },
        } => export(&dir, &series, &nifti, phase),
        Command::Dicom {
            command:
                DicomCommand::Anonymize {
                    input,
                    output,
                    keep_dates,
                    shift_dates,
                    uid_secret,
                    remove_all_private,
                    json,
                },
        } => {
            use twin_imaging::deid::{Dates, Options};
            let dates = match (keep_dates, shift_dates) {
                (true, _) => Dates::Keep,
                (false, Some(d)) => Dates::Shift(d),
                (false, None) => Dates::Remove,
            };
            let options = Options {
                dates,
                uid_secret,
                remove_all_private,
            };
            anonymize(&input, &output, &options, json)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("twin: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
