//! Twinscope: the desktop patient digital twin workstation.
//!
//! Thin Bevy glue over the engine crates, one plugin per feature, all of
//! them reading and writing the one [`session::Session`] resource and
//! asking each other for work with its messages (no feature imports
//! another):
//! * [`session`]: the `Session` resource and the messages;
//! * [`study`]: opening studies and building surfaces in background jobs;
//! * [`viewport`]: the 3D scene, orbit camera and surfaces;
//! * [`panels`]: the egui menu bar, workspace toolbar, status bar, the task
//!   workspaces' docked panes (kept between runs) and the orientation marker;
//! * [`cardio`]: the cardiac twin (calibration, what-ifs, PV loops);
//! * [`gait`]: the gait trial (IK/ID of an OpenSim model and a trial);
//! * [`twin`]: the patient twin file, autosave, recovery, reports;
//! * [`job`]: the one job system's window, toasts and status;
//! * [`capture`]: `--screenshot` headless capture for tests and docs.

mod capture;
mod cardio;
mod ep;
mod gait;
mod headless;
mod job;
mod over_time;
mod panels;
mod predict;
mod session;
mod study;
mod twin;
mod viewport;

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::window::WindowResolution;
use clap::Parser;

/// Command-line options.
#[derive(Parser, Resource, Clone, Debug)]
#[command(
    name = "twinscope",
    version,
    about = "Twinscope patient digital twin workstation"
)]
pub struct Args {
    /// A folder (or file) of DICOM images to open; without it the demo patient opens.
    pub study: Option<PathBuf>,
    /// Stack to show first (an id from `twin dicom ls`, e.g. 5.1); default:
    /// the CT or largest stack.
    #[arg(long, value_name = "ID")]
    pub series: Option<String>,
    /// Privacy mode: show a pseudonym instead of the patient's name, ID and dates.
    #[arg(long)]
    pub privacy: bool,
    /// Once the series is loaded, add a segment of the values LO..HI (HU
    /// for CT) with the editor's default processing.
    #[arg(long, value_name = "LO[:HI]", allow_hyphen_values = true)]
    pub segment: Option<String>,
    /// Clip the 3D view along this MPR plane through the crosshair
    /// (axial, coronal or sagittal).
    #[arg(long, value_name = "PLANE")]
    pub clip: Option<String>,
    /// Open the cardiac twin window; with a scenario file, run it against the
    /// calibrated baseline.
    #[arg(long, value_name = "SCENARIO", num_args = 0..=1)]
    pub cardio: Option<Option<PathBuf>>,
    /// Open the gait window on an OpenSim model and a trial (motion
    /// `.mot`/`.sto`, or markers `.trc`/`.c3d` solved by IK), with external
    /// loads (`.xml`) for joint moments.
    #[arg(long, value_names = ["MODEL", "TRIAL", "LOADS"], num_args = 2..=3)]
    pub gait: Option<Vec<PathBuf>>,
    /// With --gait: fit this transtibial prosthesis (JSON, see
    /// docs/models/msk.md) once the intact baseline is computed.
    #[arg(long, value_name = "JSON")]
    pub prosthesis: Option<PathBuf>,
    /// The predictive model for the Predicted gait pane: a model with
    /// contact spheres and the coordinates whose first two rows start the
    /// walk (e.g. the Moco example's 2D_gait.osim,referenceCoordinates.sto).
    #[arg(long, value_name = "MODEL.osim,START.sto")]
    pub predict: Option<String>,
    /// With --predict: show a saved predicted walk (`solution.json` of
    /// `twin gait predict`) under a label (repeatable).
    #[arg(long, value_name = "LABEL=SOLUTION.json")]
    pub predict_solution: Vec<String>,
    /// Run a rhythm on the demo heart at start in the EP workspace: sinus,
    /// lbbb, lv (LBBB with LV pacing) or crt.
    #[arg(long, value_name = "RHYTHM")]
    pub ep: Option<String>,
    /// Show a device tuning's landscape (`landscape.json` of `twin gait
    /// tune`) as the Predicted gait pane's heat map.
    #[arg(long, value_name = "LANDSCAPE.json")]
    pub predict_landscape: Option<PathBuf>,
    /// Compare the gait curves with this reference (normal database) CSV,
    /// e.g. one written by `twin gait norm`.
    #[arg(long, value_name = "CSV")]
    pub reference: Option<PathBuf>,
    /// Start without a study (no demo patient); File ▸ Open folder… or a
    /// dropped folder opens one.
    #[arg(long, conflicts_with = "study")]
    pub no_study: bool,
    /// Open this twin file (`.twin.json`): its study, calibrated heart and
    /// variants.
    #[arg(long, value_name = "TWIN.json")]
    pub twin: Option<PathBuf>,
    /// Add a variant to the twin from a cardiac scenario file (repeatable).
    #[arg(long, value_name = "NAME=SCENARIO.json")]
    pub variant: Vec<String>,
    /// Once everything has settled, save the twin to this file.
    #[arg(long, value_name = "TWIN.json")]
    pub save_as: Option<PathBuf>,
    /// Once everything has settled (and after --save-as), export the
    /// report (HTML with the 3D view, and CSV beside it) to this file.
    #[arg(long, value_name = "HTML")]
    pub report: Option<PathBuf>,
    /// With --cardio: take the calibration targets from the cine's LV
    /// volume curve (its contours open for review), the LV found in the
    /// cine or picked by this point (patient mm, LPS).
    #[arg(long, value_name = "X,Y,Z", allow_hyphen_values = true, num_args = 0..=1)]
    pub lv_seed: Option<Option<String>>,
    /// Benchmark: N cardiac what-if changes through the job system in a
    /// windowless app; prints the latencies as JSON and exits.
    #[arg(long, value_name = "N", hide = true)]
    pub bench_latency: Option<usize>,
    /// Run this timeline (JSON, see `twin cardio timeline`) at the start,
    /// on the twin's calibrated heart (or the healthy default).
    #[arg(long, value_name = "JSON")]
    pub timeline: Option<PathBuf>,
    /// Follow these vitals (CSV or a FHIR R4 Bundle) at the start.
    #[arg(long, value_name = "CSV|JSON")]
    pub vitals: Option<PathBuf>,
    /// The workspace to show first (Imaging, Contours, Cardiac, "Over
    /// time", Gait, Compare or Report); default: the one shown last.
    #[arg(long, value_name = "NAME")]
    pub workspace: Option<String>,
    /// The window's size in pixels, WIDTHxHEIGHT (default 1280x800).
    #[arg(long, value_name = "WxH", value_parser = parse_size, default_value = "1280x800")]
    pub window_size: (u32, u32),
    /// Render, write a PNG screenshot to this path and exit.
    #[arg(long, value_name = "PNG")]
    pub screenshot: Option<PathBuf>,
    /// With --screenshot: frames to render after the study has loaded.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub frames: u32,
}

/// `WIDTHxHEIGHT`, each 320 to 8192 pixels.
fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("`{text}`: expected WIDTHxHEIGHT, e.g. 1920x1080"))?;
    let px = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|p| (320..=8192).contains(p))
            .ok_or_else(|| format!("`{text}`: each side 320 to 8192 pixels"))
    };
    Ok((px(w)?, px(h)?))
}

/// The order in which the features take their jobs' answers each frame:
/// the study, then the heart, the gait trial and the twin (which takes
/// what the others changed into its document).
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum Feature {
    Study,
    Cardio,
    Gait,
    Twin,
}

/// The session and the features' work without any view: the study, the
/// cardiac twin, the gait trial and the twin file. The app adds its views on top;
/// the headless app of the tests and `--bench-latency` is these alone.
pub struct FeaturePlugins {
    /// The twin's recent lists and file dialogs are not the user's (tests).
    pub detached: bool,
}

impl Plugin for FeaturePlugins {
    fn build(&self, app: &mut App) {
        app.configure_sets(
            Update,
            (
                Feature::Study,
                Feature::Cardio,
                Feature::Gait,
                Feature::Twin,
            )
                .chain(),
        )
        .add_plugins((
            session::SessionPlugin,
            study::StudyPlugin,
            cardio::CardioPlugin,
            over_time::OverTimePlugin {
                detached: self.detached,
            },
            gait::GaitPlugin,
            predict::PredictPlugin,
            ep::EpPlugin,
            twin::TwinPlugin {
                detached: self.detached,
            },
        ));
    }
}

fn main() {
    let args = Args::parse();
    if let Some(n) = args.bench_latency {
        match headless::bench_latency(n, args.gait.as_deref()) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("twinscope: latency benchmark: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    App::new()
        .insert_resource(ClearColor(Color::srgb(0.11, 0.12, 0.14)))
        .add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                title: twin_ui::window_title(args.privacy, None),
                resolution: WindowResolution::new(args.window_size.0, args.window_size.1),
                ..default()
            }),
            ..default()
        }))
        .add_plugins(bevy_egui::EguiPlugin::default())
        .insert_resource(args)
        .add_plugins(FeaturePlugins { detached: false })
        .add_plugins((
            viewport::ViewportPlugin,
            panels::PanelsPlugin,
            capture::CapturePlugin,
            gait::GaitViewPlugin,
            job::JobsPlugin,
            twin::TwinViewPlugin,
        ))
        .run();
}

#[cfg(test)]
mod tests;
