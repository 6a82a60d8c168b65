//! Folder scan: headers only, in parallel, grouped into studies, series and stacks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;
use twin_core::Progress;

use crate::ImagingError;
use crate::header::{InstanceHeader, NotAnImage, read_headers};
use crate::identity::PatientIdentity;

/// Result of scanning a folder tree.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    pub root: PathBuf,
    /// Regular files looked at.
    pub files_seen: usize,
    /// Files without the DICOM preamble (skipped silently but counted).
    pub not_dicom: usize,
    /// DICOM files without an image (DICOMDIR, reports, …).
    pub no_pixels: usize,
    /// DICOM files that could not be parsed, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
    pub studies: Vec<Study>,
}

/// One study (StudyInstanceUID).
#[derive(Debug, Clone)]
pub struct Study {
    pub uid: String,
    pub date: String,
    pub description: String,
    pub identity: PatientIdentity,
    pub series: Vec<Series>,
}

/// One series (SeriesInstanceUID), split into geometrically consistent stacks.
#[derive(Debug, Clone)]
pub struct Series {
    pub uid: String,
    pub number: Option<i32>,
    pub description: String,
    pub modality: String,
    pub stacks: Vec<Stack>,
}

/// Instances sharing orientation, matrix size and pixel spacing: one 3D grid
/// (possibly over several cardiac phases).
#[derive(Debug, Clone, Serialize)]
pub struct Stack {
    /// Identifier unique within the scan: `<series number>.<stack index>`.
    pub id: String,
    pub modality: String,
    pub description: String,
    pub rows: u16,
    pub columns: u16,
    pub pixel_spacing: Option<[f64; 2]>,
    pub orientation: Option<[f64; 6]>,
    /// Slice positions along the normal (mm), ascending, of the first phase
    /// (other phases may sit elsewhere: see `volumes`).
    pub positions: Vec<f64>,
    /// Number of cardiac/temporal phases or repeated volumes (1 for a static volume).
    pub phases: usize,
    /// Time of each phase (ms): TriggerTime, or FrameTime × frame for a cine
    /// without per-frame timing. Empty when the volumes are not a time series.
    pub trigger_times: Vec<f64>,
    pub localizer: bool,
    /// Built from the frames of multi-frame (enhanced) files.
    pub multiframe: bool,
    pub transfer_syntaxes: Vec<String>,
    pub warnings: Vec<String>,
    /// `volumes[phase][slice]`: the instances of each phase (or repeated
    /// volume), ordered by position along the normal.
    #[serde(skip)]
    pub volumes: Vec<Vec<InstanceHeader>>,
}

impl Stack {
    /// Number of instances in the stack.
    #[must_use]
    pub fn instance_count(&self) -> usize {
        self.volumes.iter().map(Vec::len).sum()
    }

    /// Any instance, for attributes shared by the whole stack.
    #[must_use]
    pub fn first(&self) -> Option<&InstanceHeader> {
        self.volumes.first().and_then(|s| s.first())
    }
}

impl ScanReport {
    /// All stacks of all studies, in display order.
    pub fn stacks(&self) -> impl Iterator<Item = (&Study, &Series, &Stack)> {
        self.studies.iter().flat_map(|st| {
            st.series
                .iter()
                .flat_map(move |se| se.stacks.iter().map(move |sk| (st, se, sk)))
        })
    }

    /// Finds a stack by its id.
    #[must_use]
    pub fn stack(&self, id: &str) -> Option<&Stack> {
        self.stacks().map(|(_, _, s)| s).find(|s| s.id == id)
    }
}

pub(crate) fn list_files(root: &Path) -> Result<Vec<PathBuf>, ImagingError> {
    let meta = std::fs::metadata(root).map_err(|e| ImagingError::Folder {
        path: root.to_owned(),
        message: e.to_string(),
    })?;
    if meta.is_file() {
        return Ok(vec![root.to_owned()]);
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(root).follow_links(false) {
        match entry {
            Ok(e) if e.file_type().is_file() => files.push(e.into_path()),
            Ok(_) => {}
            Err(e) => {
                if e.depth() == 0 {
                    return Err(ImagingError::Folder {
                        path: root.to_owned(),
                        message: e.to_string(),
                    });
                }
            }
        }
    }
    files.sort();
    Ok(files)
}

fn key(x: f64, scale: f64) -> i64 {
    (x * scale).round() as i64
}

/// Scans `root` (a folder tree or a single file) for DICOM images.
///
/// Only headers are read (parsing stops before Pixel Data), in parallel. Files
/// that are not DICOM or cannot be parsed are counted and reported, never fatal;
/// an error is returned only if `root` itself cannot be read, if no image is
/// found, or if the scan is cancelled.
pub fn scan_folder(root: &Path, progress: &Progress) -> Result<ScanReport, ImagingError> {
    let files = list_files(root)?;
    progress.begin("Reading DICOM headers", files.len() as u64);
    let results: Vec<(PathBuf, Result<Vec<InstanceHeader>, NotAnImage>)> = files
        .par_iter()
        .map(|path| {
            progress.check_cancelled()?;
            let r = read_headers(path);
            progress.advance(1);
            Ok((path.clone(), r))
        })
        .collect::<Result<_, twin_core::Cancelled>>()?;
    let mut report = ScanReport {
        root: root.to_owned(),
        files_seen: files.len(),
        ..ScanReport::default()
    };
    let mut headers = Vec::new();
    for (path, r) in results {
        match r {
            Ok(h) => headers.extend(h),
            Err(NotAnImage::NotDicom) => report.not_dicom += 1,
            Err(NotAnImage::NoPixels) => report.no_pixels += 1,
            Err(NotAnImage::Unreadable(msg)) => report.unreadable.push((path, msg)),
        }
    }
    if headers.is_empty() {
        return Err(ImagingError::NoDicom {
            path: root.to_owned(),
            files: report.files_seen,
            not_dicom: report.not_dicom,
            unreadable: report.unreadable.len(),
        });
    }
    report.studies = group(headers);
    Ok(report)
}

fn group(headers: Vec<InstanceHeader>) -> Vec<Study> {
    let mut studies: BTreeMap<String, BTreeMap<String, Vec<InstanceHeader>>> = BTreeMap::new();
    for h in headers {
        studies
            .entry(h.study_uid.clone())
            .or_default()
            .entry(h.series_uid.clone())
            .or_default()
            .push(h);
    }
    let mut out = Vec::new();
    let mut series_index = 0usize;
    for (study_uid, series_map) in studies {
        let first = series_map.values().next().and_then(|v| v.first()).cloned();
        let Some(first) = first else { continue };
        let mut series: Vec<Series> = series_map
            .into_iter()
            .map(|(uid, instances)| {
                series_index += 1;
                let h0 = &instances[0];
                let number = h0.series_number;
                let label = number.map_or_else(|| format!("x{series_index}"), |n| n.to_string());
                Series {
                    uid,
                    number,
                    description: h0.series_description.clone(),
                    modality: h0.modality.clone(),
                    stacks: split_stacks(&label, instances),
                }
            })
            .collect();
        series.sort_by_key(|s| (s.number.unwrap_or(i32::MAX), s.uid.clone()));
        out.push(Study {
            uid: study_uid,
            date: first.study_date.clone(),
            description: first.study_description.clone(),
            identity: first.identity.clone(),
            series,
        });
    }
    // Series numbers may repeat across studies; make stack ids unique.
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for st in &mut out {
        for se in &mut st.series {
            for sk in &mut se.stacks {
                let n = seen.entry(sk.id.clone()).or_insert(0);
                *n += 1;
                if *n > 1 {
                    sk.id = format!("{}-{}", sk.id, n);
                }
            }
        }
    }
    out
}

type StackKey = (bool, u16, u16, [i64; 2], [i64; 6], bool);

fn split_stacks(series_label: &str, instances: Vec<InstanceHeader>) -> Vec<Stack> {
    let mut groups: BTreeMap<StackKey, Vec<InstanceHeader>> = BTreeMap::new();
    for h in instances {
        let ps = h
            .pixel_spacing
            .map_or([0, 0], |p| [key(p[0], 1e4), key(p[1], 1e4)]);
        let or = h.orientation.map_or([0; 6], |o| o.map(|x| key(x, 1e4)));
        // Classic and enhanced copies of one acquisition may share a series: keep apart.
        let k = (
            h.is_localizer(),
            h.rows,
            h.columns,
            ps,
            or,
            h.frame.is_some(),
        );
        groups.entry(k).or_default().push(h);
    }
    // Largest stack first: it is the one a user most likely wants.
    let mut groups: Vec<_> = groups.into_values().collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
    groups
        .into_iter()
        .enumerate()
        .map(|(i, g)| build_stack(format!("{series_label}.{}", i + 1), g))
        .collect()
}

fn build_stack(id: String, instances: Vec<InstanceHeader>) -> Stack {
    let h0 = instances[0].clone();
    let mut warnings = Vec::new();
    let mut ts: Vec<String> = instances
        .iter()
        .map(|h| h.transfer_syntax.clone())
        .collect();
    ts.sort();
    ts.dedup();
    let normal = h0.normal();
    let dist = |h: &InstanceHeader| match (normal, h.position) {
        (Some(n), Some(p)) => n.dot(&nalgebra::Vector3::from(p)),
        _ => 0.0,
    };
    if !h0.has_geometry() {
        warnings.push(
            "no patient geometry (ImagePositionPatient / ImageOrientationPatient / PixelSpacing \
             missing): shown as 2D images, not placed in 3D"
                .to_owned(),
        );
    }
    let (volumes, note) = if h0.has_geometry() {
        volumes_by_position(instances, &dist)
    } else {
        (volumes_without_geometry(instances), None)
    };
    warnings.extend(note);
    let phases = volumes.len().max(1);
    let times: Vec<Option<f64>> = volumes
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let h = &v[0];
            h.trigger_time.or_else(|| {
                (!h.has_geometry() && h.frames > 1)
                    .then(|| {
                        h.frame_time
                            .map(|t| t * f64::from(h.frame.unwrap_or(i as u32)))
                    })
                    .flatten()
            })
        })
        .collect();
    let trigger_times = if phases > 1 && times.iter().all(Option::is_some) {
        times.into_iter().flatten().collect()
    } else {
        Vec::new()
    };
    let positions: Vec<f64> = volumes[0].iter().map(&dist).collect();
    if h0.has_geometry() {
        warnings.extend(spacing_warnings(&positions, &volumes[0]));
    }
    Stack {
        id,
        modality: h0.modality.clone(),
        description: h0.series_description.clone(),
        rows: h0.rows,
        columns: h0.columns,
        pixel_spacing: h0.pixel_spacing,
        orientation: h0.orientation,
        positions,
        phases,
        trigger_times,
        localizer: h0.is_localizer(),
        multiframe: h0.frame.is_some(),
        transfer_syntaxes: ts,
        warnings,
        volumes,
    }
}

/// Volumes at one position: time first, then source images before
/// scanner-derived maps, echo, magnitude before phase, diffusion weighting,
/// and file/frame order.
fn volume_order(a: &InstanceHeader, b: &InstanceHeader) -> std::cmp::Ordering {
    let key = |h: &InstanceHeader| {
        (
            h.temporal_position,
            h.trigger_time,
            h.derived_map,
            h.echo_time,
            h.phase_image,
            h.b_value,
            h.instance_number,
            h.frame,
        )
    };
    key(a)
        .partial_cmp(&key(b))
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// Splits oriented instances into volumes. Instances are grouped by position
/// along the normal (0.01 mm); when every position holds the same number of
/// images, volume `v` takes the `v`-th image of each position. When not (a
/// cine whose phases were acquired at different slice positions, as in a
/// short-axis stack with ED and ES offset by a slice), the instances are
/// grouped by phase (TemporalPositionIndex / TriggerTime) instead, each phase
/// with its own positions. Returns the volumes and a note for the user.
fn volumes_by_position(
    instances: Vec<InstanceHeader>,
    dist: &dyn Fn(&InstanceHeader) -> f64,
) -> (Vec<Vec<InstanceHeader>>, Option<String>) {
    let mut by_pos: BTreeMap<i64, Vec<InstanceHeader>> = BTreeMap::new();
    for h in &instances {
        by_pos
            .entry(key(dist(h), 100.0))
            .or_default()
            .push(h.clone());
    }
    let mut slices: Vec<Vec<InstanceHeader>> = by_pos.into_values().collect();
    for s in &mut slices {
        s.sort_by(volume_order);
    }
    let counts: Vec<usize> = slices.iter().map(Vec::len).collect();
    let complete = counts.iter().copied().min().unwrap_or(1);
    let most = counts.iter().copied().max().unwrap_or(1);
    let transpose = |slices: &[Vec<InstanceHeader>], n: usize| -> Vec<Vec<InstanceHeader>> {
        (0..n)
            .map(|v| slices.iter().map(|s| s[v].clone()).collect())
            .collect()
    };
    if complete == most {
        return (transpose(&slices, complete), None);
    }
    // Phases at different positions: group by phase.
    let mut by_phase: BTreeMap<(Option<i32>, Option<i64>), Vec<InstanceHeader>> = BTreeMap::new();
    for h in instances {
        let k = (h.temporal_position, h.trigger_time.map(|t| key(t, 100.0)));
        by_phase.entry(k).or_default().push(h);
    }
    let usable = by_phase.len() > 1
        && by_phase.values().all(|v| {
            let mut p: Vec<i64> = v.iter().map(|h| key(dist(h), 100.0)).collect();
            p.sort_unstable();
            p.windows(2).all(|w| w[0] != w[1])
        });
    if usable {
        let volumes: Vec<Vec<InstanceHeader>> = by_phase
            .into_values()
            .map(|mut v| {
                v.sort_by(|a, b| dist(a).total_cmp(&dist(b)));
                v
            })
            .collect();
        let sizes: Vec<usize> = volumes.iter().map(Vec::len).collect();
        let note = format!(
            "the {} phases were acquired at different slice positions ({} slices per phase); \
             each phase keeps its own geometry",
            volumes.len(),
            if sizes.iter().all(|&n| n == sizes[0]) {
                sizes[0].to_string()
            } else {
                format!(
                    "{}–{}",
                    sizes.iter().min().unwrap_or(&0),
                    sizes.iter().max().unwrap_or(&0)
                )
            }
        );
        return (volumes, Some(note));
    }
    (
        transpose(&slices, complete.max(1)),
        Some(format!(
            "uneven number of images per slice position ({complete}–{most}); only {complete} \
             phase(s) are complete"
        )),
    )
}

/// Instances without geometry: the frames of a multi-frame file are a cine
/// (one phase per frame); separate single-frame images are 2D slices ordered
/// by instance number.
fn volumes_without_geometry(mut instances: Vec<InstanceHeader>) -> Vec<Vec<InstanceHeader>> {
    instances.sort_by_key(|h| (h.instance_number.unwrap_or(i32::MAX), h.frame));
    let one_file = instances.iter().all(|h| h.path == instances[0].path);
    if one_file && instances.len() > 1 && instances[0].frame.is_some() {
        instances.into_iter().map(|h| vec![h]).collect()
    } else {
        vec![instances]
    }
}

/// Irregular or missing slices, and gantry tilt (slices offset in-plane from one
/// another, so the stack axis is not the image normal).
fn spacing_warnings(positions: &[f64], slices: &[InstanceHeader]) -> Vec<String> {
    let mut out = Vec::new();
    if positions.len() < 2 {
        return out;
    }
    let steps: Vec<f64> = positions.windows(2).map(|w| w[1] - w[0]).collect();
    let mut sorted = steps.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
    if median > 1e-6 && hi - lo > 0.01 * median.max(0.1) {
        let missing: usize = steps
            .iter()
            .map(|s| ((s / median).round() as usize).saturating_sub(1))
            .sum();
        let gap = if missing > 0 {
            format!("; about {missing} slice(s) missing")
        } else {
            String::new()
        };
        out.push(format!(
            "irregular slice spacing: {lo:.3}–{hi:.3} mm (median {median:.3} mm){gap}"
        ));
    }
    let first = &slices[0];
    let last = &slices[slices.len() - 1];
    if let (Some(n), Some(p0), Some(p1)) = (first.normal(), first.position, last.position) {
        let d = nalgebra::Vector3::from(p1) - nalgebra::Vector3::from(p0);
        let along = d.dot(&n);
        let across = (d - n * along).norm();
        if along.abs() > 1e-6 && across / along.abs() > 1e-3 {
            out.push(format!(
                "gantry tilt / sheared stack: the slices are offset {:.1}° from the image normal",
                (across / along.abs()).atan().to_degrees()
            ));
        }
    }
    out
}
