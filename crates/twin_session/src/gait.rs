//! The gait-trial pipeline: a trial read (a motion as it is, markers —
//! `.trc`, or a `.c3d`'s points rotated from the lab's Z up to OpenSim's Y
//! up — through inverse kinematics), inverse dynamics with its external
//! loads, strides per side from the loads' heel strikes, each coordinate's
//! angle and moment per kg over the gait cycle, and the Gait Variable
//! Scores of each side against a reference. The app's gait window and the
//! `twin gait` commands both go through here.

use std::path::Path;

use serde::Serialize;
use twin_core::Progress;
use twin_msk::dynamics::{IdOptions, inverse_dynamics_with};
use twin_msk::gait::{Band, CycleSeries, cycle_series, strides_by_side};
use twin_msk::loads::ExternalLoads;
use twin_msk::normative::{Reference, gait_profile_score, gait_variable_score};
use twin_msk::{C3dTrial, Markers, Model, Table};

use crate::SessionError;

/// Markers of a trial: a `.trc`, or a `.c3d`'s points rotated from the
/// lab's Z up to OpenSim's Y up; with a line saying so.
///
/// # Errors
/// The file cannot be read (named).
pub fn read_markers(path: &Path) -> Result<(Markers, Vec<String>), SessionError> {
    let is_c3d = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("c3d"));
    if is_c3d {
        let mut trial = C3dTrial::read(path)?;
        trial.rotate(&twin_msk::c3d::z_up_to_y_up());
        Ok((
            trial.markers,
            vec!["C3D points rotated from Z up to OpenSim's Y up (x kept as forward)".to_owned()],
        ))
    } else {
        Ok((Markers::read_trc(path)?, Vec::new()))
    }
}

/// The joint angles of a trial: a motion (`.mot`/`.sto`) as it is, markers
/// (`.trc`/`.c3d`) through inverse kinematics; with lines about the fit.
///
/// # Errors
/// The file cannot be read, is neither a motion nor markers (named), or
/// inverse kinematics fails or is cancelled.
pub fn trial_coordinates(
    model: &Model,
    trial: &Path,
    progress: &Progress,
) -> Result<(Table, Vec<String>), SessionError> {
    let ext = trial
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "mot" | "sto" => Ok((Table::read(trial)?, Vec::new())),
        "trc" | "c3d" => {
            let (markers, mut notes) = read_markers(trial)?;
            let ik = twin_msk::ik::inverse_kinematics_with(model, &markers, None, None, progress)?;
            notes.extend(ik.warnings);
            notes.push(format!(
                "IK: marker RMS error up to {:.1} mm",
                1000.0 * ik.rms_error.iter().fold(0.0f64, |a, &b| a.max(b))
            ));
            Ok((ik.coordinates, notes))
        }
        other => Err(SessionError::input(
            trial.display().to_string(),
            format!("`.{other}` is neither a motion (.mot, .sto) nor markers (.trc, .c3d)"),
        )),
    }
}

/// One coordinate (without side) over the gait cycle, right and left: the
/// mean and SD of its strides; angles in degrees, moments in N·m/kg.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CoordinateCurves {
    /// e.g. `knee_angle` for `knee_angle_r` and `knee_angle_l`.
    pub name: String,
    /// [right, left].
    pub angle: [Option<Band>; 2],
    pub moment: [Option<Band>; 2],
}

/// Each coordinate's bands over its strides, moments divided by the
/// body's `mass` (kg).
#[must_use]
pub fn coordinate_curves(series: &[CycleSeries], mass: f64) -> Vec<CoordinateCurves> {
    series
        .iter()
        .map(|s| {
            let moment = |side: usize| Band::of(&s.moment[side]).map(|b| b.scaled(1.0 / mass));
            CoordinateCurves {
                name: s.name.clone(),
                angle: [Band::of(&s.angle[0]), Band::of(&s.angle[1])],
                moment: [moment(0), moment(1)],
            }
        })
        .collect()
}

/// A side's Gait Variable Score of one variable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariableScore {
    /// `knee_angle` (deg) or `knee_angle_moment` (N·m/kg).
    pub variable: String,
    pub side: &'static str,
    pub unit: &'static str,
    pub strides: usize,
    /// RMS difference of the side's mean from the reference mean.
    pub gvs: f64,
    /// The coordinate (without side), its curve's index, 0 right / 1 left,
    /// and whether it is the moment.
    #[serde(skip)]
    pub coordinate: usize,
    #[serde(skip)]
    pub side_index: usize,
    #[serde(skip)]
    pub moment: bool,
}

/// Each side's Gait Variable Scores of every angle and moment against
/// `reference`, and the Gait Profile Score (RMS of the angle scores, both
/// sides).
#[must_use]
pub fn scores(
    curves: &[CoordinateCurves],
    reference: &Reference,
) -> (Vec<VariableScore>, Option<f64>) {
    let mut out = Vec::new();
    for (coordinate, c) in curves.iter().enumerate() {
        for (side_index, side) in [(0, "right"), (1, "left")] {
            let pairs = [
                (
                    c.name.clone(),
                    "deg",
                    &c.angle[side_index],
                    reference.angle(&c.name),
                    false,
                ),
                (
                    format!("{}_moment", c.name),
                    "N·m/kg",
                    &c.moment[side_index],
                    reference.moment(&c.name),
                    true,
                ),
            ];
            for (variable, unit, band, r, moment) in pairs {
                let (Some(b), Some(r)) = (band, r) else {
                    continue;
                };
                if let Some(gvs) = gait_variable_score(&b.mean, r) {
                    out.push(VariableScore {
                        variable,
                        side,
                        unit,
                        strides: b.strides,
                        gvs,
                        coordinate,
                        side_index,
                        moment,
                    });
                }
            }
        }
    }
    let angles: Vec<f64> = out.iter().filter(|s| !s.moment).map(|s| s.gvs).collect();
    (out, gait_profile_score(&angles))
}

/// A trial computed: the model, joint angles over time, its loads and
/// inverse-dynamics moments when loads were given, the strides of each
/// side, the curves over the gait cycle and lines about it all.
pub struct TrialAnalysis {
    pub model: Model,
    pub coordinates: Table,
    pub loads: Option<ExternalLoads>,
    pub moments: Option<Table>,
    /// [right, left] strides (start, end s).
    pub strides: [Vec<[f64; 2]>; 2],
    pub series: Vec<CycleSeries>,
    pub curves: Vec<CoordinateCurves>,
    pub notes: Vec<String>,
}

/// Reads and computes a trial: `model` (`.osim`), `trial` (a motion, or
/// markers solved by IK) and, when given, its external loads (`.xml`) for
/// the joint moments and the strides.
///
/// # Errors
/// A file cannot be read (named), IK or ID fails, or it is cancelled.
pub fn analyse_trial(
    model: &Path,
    trial: &Path,
    loads: Option<&Path>,
    progress: &Progress,
) -> Result<TrialAnalysis, SessionError> {
    let model = Model::read(model)?;
    let mut notes = model.warnings.clone();
    let (coordinates, ik_notes) = trial_coordinates(&model, trial, progress)?;
    notes.extend(ik_notes);
    let loads = loads
        .map(|p| ExternalLoads::read(p, &model, None))
        .transpose()?;
    let moments = match &loads {
        Some(l) => {
            let (id, w) = inverse_dynamics_with(
                &model,
                &coordinates,
                Some(l),
                IdOptions::default(),
                progress,
            )?;
            notes.extend(w);
            Some(id)
        }
        None => None,
    };
    let span = [
        coordinates.time[0],
        coordinates.time[coordinates.rows() - 1],
    ];
    let strides = match &loads {
        Some(l) => {
            let (strides, lines) = strides_by_side(&model, l, span);
            notes.extend(lines);
            strides
        }
        None => Default::default(),
    };
    let series = cycle_series(&model, &coordinates, moments.as_ref(), &strides);
    let curves = coordinate_curves(&series, model.mass());
    Ok(TrialAnalysis {
        model,
        coordinates,
        loads,
        moments,
        strides,
        series,
        curves,
        notes,
    })
}
