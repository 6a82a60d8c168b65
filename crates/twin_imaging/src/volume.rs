//! Assembling a stack into a calibrated 3D volume in patient coordinates.

use std::path::Path;

use nalgebra::{Matrix4, Vector3, Vector4};
use rayon::prelude::*;
use twin_core::Progress;

use crate::ImagingError;
use crate::header::InstanceHeader;
use crate::scan::Stack;

/// Default memory budget for one volume (4 GiB).
pub const DEFAULT_BUDGET_BYTES: u64 = twin_core::limits::DEFAULT_MEMORY_BUDGET;

/// A 3D scalar volume. Voxel `(i, j, k)` — column, row, slice — is stored at
/// `data[i + nx·(j + ny·k)]`; `affine` maps `(i, j, k, 1)` to LPS millimetres.
#[derive(Debug, Clone)]
pub struct Volume {
    pub dims: [usize; 3],
    pub data: Vec<f32>,
    pub affine: Matrix4<f64>,
    pub modality: String,
    pub description: String,
    /// Physical unit of the values (`HU` for CT, empty when arbitrary).
    pub unit: String,
    /// Display window (centre, width) suggested by the file.
    pub window: Option<(f64, f64)>,
    /// Problems found while assembling (irregular spacing, tilt, …).
    pub warnings: Vec<String>,
}

impl Volume {
    /// A volume of `dims` voxels (`data` in the layout above) with no
    /// description, unit, window or warnings.
    #[must_use]
    pub fn new(dims: [usize; 3], data: Vec<f32>, affine: Matrix4<f64>, modality: &str) -> Self {
        Self {
            dims,
            data,
            affine,
            modality: modality.to_owned(),
            description: String::new(),
            unit: String::new(),
            window: None,
            warnings: Vec::new(),
        }
    }

    /// Voxel spacing along i, j, k (mm): the lengths of the affine's columns.
    #[must_use]
    pub fn spacing(&self) -> [f64; 3] {
        std::array::from_fn(|c| {
            Vector3::new(
                self.affine[(0, c)],
                self.affine[(1, c)],
                self.affine[(2, c)],
            )
            .norm()
        })
    }

    /// Patient position (LPS mm) of a (possibly fractional) voxel index.
    #[must_use]
    pub fn index_to_patient(&self, ijk: [f64; 3]) -> [f64; 3] {
        let p = self.affine * Vector4::new(ijk[0], ijk[1], ijk[2], 1.0);
        [p.x, p.y, p.z]
    }

    /// Value at a voxel index.
    #[must_use]
    pub fn get(&self, i: usize, j: usize, k: usize) -> f32 {
        let [nx, ny, _] = self.dims;
        self.data[i + nx * (j + ny * k)]
    }

    /// Minimum and maximum value.
    #[must_use]
    pub fn range(&self) -> (f32, f32) {
        self.data
            .par_iter()
            .fold(
                || (f32::INFINITY, f32::NEG_INFINITY),
                |(lo, hi), &v| (lo.min(v), hi.max(v)),
            )
            .reduce(
                || (f32::INFINITY, f32::NEG_INFINITY),
                |a, b| (a.0.min(b.0), a.1.max(b.1)),
            )
    }
}

/// Decodes the frames `wanted` (header, slice index) of one file, opening it once.
/// Writes slice `i` of `wanted` into `out[i]` (each Rows × Columns long).
fn decode_file(
    wanted: &[(&InstanceHeader, usize)],
    out: &mut [&mut [f32]],
    progress: &Progress,
) -> Result<(), ImagingError> {
    let path = &wanted[0].0.path;
    let file_err = |message: String| ImagingError::File {
        path: path.clone(),
        message,
    };
    progress.check_cancelled()?;
    let mut frames: Vec<u32> = wanted.iter().map(|(h, _)| h.frame.unwrap_or(0)).collect();
    frames.sort_unstable();
    frames.dedup();
    let stored = crate::pixels::decode_frames(path, &frames).map_err(file_err)?;
    let max_stored = ((1u64 << stored.bits_stored.min(32)) - 1) as f64;
    for ((h, _), dst) in wanted.iter().zip(out.iter_mut()) {
        progress.check_cancelled()?;
        let frame = h.frame.unwrap_or(0);
        let raw = &stored.frames[frames.binary_search(&frame).unwrap_or(0)];
        let tile = match h.mosaic {
            Some((index, across)) => {
                let (tr, tc) = (usize::from(h.rows), usize::from(h.columns));
                if stored.rows != tr * across as usize || stored.columns != tc * across as usize {
                    return Err(file_err(format!(
                        "mosaic of {}×{} is not {across}×{across} tiles of {tc}×{tr}",
                        stored.columns, stored.rows
                    )));
                }
                let (ty, tx) = ((index / across) as usize, (index % across) as usize);
                let mut v = Vec::with_capacity(tr * tc);
                for y in 0..tr {
                    let start = (ty * tr + y) * stored.columns + tx * tc;
                    v.extend_from_slice(&raw[start..start + tc]);
                }
                std::borrow::Cow::Owned(v)
            }
            None => std::borrow::Cow::Borrowed(raw.as_slice()),
        };
        let expected = usize::from(h.rows) * usize::from(h.columns);
        if tile.len() != expected {
            return Err(file_err(format!(
                "frame {} holds {} values, Rows × Columns = {expected}",
                frame + 1,
                tile.len()
            )));
        }
        let (slope, intercept) = (h.rescale_slope, h.rescale_intercept);
        // Philips: quantitative floating-point values, (SV·RS + RI) / (RS·SS).
        let divisor = h.philips_scale_slope.map_or(1.0, |ss| slope * ss);
        let invert = h.photometric.eq_ignore_ascii_case("MONOCHROME1");
        if dst.len() != expected {
            return Err(file_err(format!(
                "slice of {expected} values does not fit the stack's {} (Rows/Columns differ)",
                dst.len()
            )));
        }
        for (d, &v) in dst.iter_mut().zip(tile.iter()) {
            let v = f64::from(v);
            let v = if invert { max_stored - v } else { v };
            *d = ((v * slope + intercept) / divisor) as f32;
        }
        progress.advance(1);
    }
    Ok(())
}

/// A cine series: one volume per cardiac phase (or repeated acquisition),
/// with the time of each phase.
#[derive(Debug, Clone)]
pub struct CineVolume {
    pub phases: Vec<Volume>,
    /// Time of each phase in ms (TriggerTime, or FrameTime × frame); empty when
    /// the series carries no timing.
    pub times_ms: Vec<f64>,
}

/// Loads one phase of `stack` as a volume.
///
/// Slices are ordered by ImagePositionPatient projected on the slice normal
/// (never by file name or InstanceNumber), the slice step comes from those
/// positions, gantry tilt gives a sheared affine (with a warning), and irregular
/// or missing slices are reported as warnings.
pub fn load_stack(
    stack: &Stack,
    phase: usize,
    progress: &Progress,
    budget_bytes: u64,
) -> Result<Volume, ImagingError> {
    let instances = phase_instances(stack, phase)?;
    check_budget(stack, &[instances.len()], budget_bytes)?;
    progress.begin("Decoding slices", instances.len() as u64);
    assemble(stack, &instances, progress)
}

/// Loads every phase of `stack` (a cine, or repeated volumes). The memory
/// budget applies to all phases together, and is checked before decoding.
pub fn load_cine(
    stack: &Stack,
    progress: &Progress,
    budget_bytes: u64,
) -> Result<CineVolume, ImagingError> {
    let per_phase: Vec<Vec<&InstanceHeader>> = (0..stack.phases)
        .map(|p| phase_instances(stack, p))
        .collect::<Result<_, _>>()?;
    let counts: Vec<usize> = per_phase.iter().map(Vec::len).collect();
    check_budget(stack, &counts, budget_bytes)?;
    progress.begin("Decoding phases", counts.iter().sum::<usize>() as u64);
    let phases = per_phase
        .iter()
        .map(|inst| assemble(stack, inst, progress))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CineVolume {
        phases,
        times_ms: stack.trigger_times.clone(),
    })
}

fn phase_instances(stack: &Stack, phase: usize) -> Result<Vec<&InstanceHeader>, ImagingError> {
    let instances: Vec<&InstanceHeader> = stack
        .volumes
        .get(phase)
        .ok_or_else(|| ImagingError::Geometry {
            stack: stack.id.clone(),
            message: format!("phase {phase} requested, the stack has {}", stack.phases),
        })?
        .iter()
        .collect();
    if instances.is_empty() {
        return Err(ImagingError::Geometry {
            stack: stack.id.clone(),
            message: "the stack is empty".to_owned(),
        });
    }
    Ok(instances)
}

/// Refuses, before any allocation, volumes whose declared size exceeds the budget.
fn check_budget(stack: &Stack, slices: &[usize], budget_bytes: u64) -> Result<(), ImagingError> {
    let plane = u64::from(stack.columns) * u64::from(stack.rows) * 4;
    let needed = slices.iter().fold(0u64, |acc, &n| {
        acc.saturating_add(plane.saturating_mul(n as u64))
    });
    if needed > budget_bytes {
        return Err(ImagingError::TooLarge {
            path: stack.first().map(|h| h.path.clone()).unwrap_or_default(),
            needed_mib: needed >> 20,
            budget_mib: budget_bytes >> 20,
        });
    }
    Ok(())
}

/// The slices one file fills: (header, slice index) and the output slices.
type FileJob<'a, 'b> = (Vec<(&'a InstanceHeader, usize)>, Vec<&'b mut [f32]>);

fn assemble(
    stack: &Stack,
    instances: &[&InstanceHeader],
    progress: &Progress,
) -> Result<Volume, ImagingError> {
    let (nx, ny) = (usize::from(stack.columns), usize::from(stack.rows));
    let mut warnings = stack.warnings.clone();
    // Group the slices by file so a multi-frame file is read and decoded once.
    let mut by_file: std::collections::BTreeMap<&Path, Vec<(&InstanceHeader, usize)>> =
        std::collections::BTreeMap::new();
    for (slice, h) in instances.iter().enumerate() {
        by_file
            .entry(h.path.as_path())
            .or_default()
            .push((h, slice));
    }
    // Decode straight into the volume: each file gets the slices it fills, so
    // the peak memory is the volume plus one file's pixels per thread.
    let plane = nx * ny;
    let total = instances.len();
    let mut data = vec![0f32; plane * total];
    let mut chunks: Vec<Option<&mut [f32]>> = data.chunks_mut(plane).map(Some).collect();
    let jobs: Vec<FileJob> = by_file
        .into_values()
        .map(|wanted| {
            let outs = wanted
                .iter()
                .map(|w| chunks[w.1].take().unwrap_or_default())
                .collect();
            (wanted, outs)
        })
        .collect();
    let results: Vec<(Vec<usize>, Result<(), ImagingError>)> = jobs
        .into_par_iter()
        .map(|(wanted, mut outs)| {
            let slices = wanted.iter().map(|w| w.1).collect();
            (slices, decode_file(&wanted, &mut outs, progress))
        })
        .collect();
    // A file that cannot be decoded costs its slices, not the volume: they
    // are left out (and the gap resampled) with a warning naming the file.
    let mut lost = std::collections::BTreeSet::new();
    let mut first_error = None;
    for (slices, r) in results {
        match r {
            Ok(()) => {}
            Err(ImagingError::Cancelled(c)) => return Err(ImagingError::Cancelled(c)),
            Err(e) => {
                warnings.push(format!("left out {} slice(s): {e}", slices.len()));
                lost.extend(slices);
                first_error.get_or_insert(e);
            }
        }
    }
    if lost.len() == total {
        return Err(first_error.unwrap_or_else(|| ImagingError::Geometry {
            stack: stack.id.clone(),
            message: "no slice could be decoded".to_owned(),
        }));
    }
    // Close the gaps left by lost slices.
    let mut kept = Vec::with_capacity(total);
    for (i, h) in instances.iter().enumerate() {
        if !lost.contains(&i) {
            let k = kept.len();
            if k != i {
                data.copy_within(i * plane..(i + 1) * plane, k * plane);
            }
            kept.push(*h);
        }
    }
    data.truncate(kept.len() * plane);
    let instances = kept.as_slice();
    let first = instances[0];
    let mut nz = instances.len();
    let mut affine = stack_affine(instances)?;
    if let Some(grid) = regular_grid(instances) {
        data = resample_along_stack(&data, plane, &grid.offsets, grid.step, grid.count);
        nz = grid.count;
        for r in 0..3 {
            affine[(r, 2)] = grid.direction[r] * grid.step;
        }
        warnings.push(format!(
            "resampled onto a regular grid: {} slices every {:.3} mm along the stack \
             (linear interpolation between the {} acquired slices)",
            grid.count,
            grid.step,
            instances.len()
        ));
    }
    let modality = first.modality.clone();
    let unit = if modality == "CT" { "HU" } else { "" }.to_owned();
    Ok(Volume {
        dims: [nx, ny, nz],
        data,
        affine,
        modality,
        description: first.series_description.clone(),
        unit,
        window: first.window,
        warnings,
    })
}

impl Stack {
    /// Slice count and slice step (mm, along the stack axis, as in the
    /// affine) of the first phase's volume as [`load_stack`] assembles it: the
    /// acquired slices, or the regular grid an irregular stack is resampled onto.
    #[must_use]
    pub fn volume_grid(&self) -> (usize, Option<f64>) {
        let instances: Vec<&InstanceHeader> = self
            .volumes
            .first()
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        if let Some(g) = regular_grid(&instances) {
            return (g.count, Some(g.step));
        }
        let step = match (instances.first(), instances.last()) {
            (Some(a), Some(b)) if instances.len() > 1 => {
                a.position.zip(b.position).map(|(p, q)| {
                    (Vector3::from(q) - Vector3::from(p)).norm() / (instances.len() - 1) as f64
                })
            }
            _ => None,
        };
        (instances.len(), step)
    }
}

/// A regular grid along the stack axis for irregularly spaced slices.
struct RegularGrid {
    /// Unit vector from the first slice origin towards the last.
    direction: Vector3<f64>,
    /// Offset of each acquired slice along `direction` (mm, first = 0).
    offsets: Vec<f64>,
    step: f64,
    count: usize,
}

/// When the slice origins lie on one line (as they do with or without gantry
/// tilt) but their steps differ by more than 1 % (missing or irregular
/// slices), the grid to resample onto: the median step, from the first slice
/// to the last. `None` for regular stacks, and for scattered origins (then the
/// affine keeps the mean step and the scan's warning stands).
fn regular_grid(instances: &[&InstanceHeader]) -> Option<RegularGrid> {
    if instances.len() < 3 {
        return None;
    }
    let p: Vec<Vector3<f64>> = instances
        .iter()
        .map(|h| h.position.map(Vector3::from))
        .collect::<Option<_>>()?;
    let span = p[p.len() - 1] - p[0];
    let length = span.norm();
    if length < 1e-6 {
        return None;
    }
    let direction = span / length;
    let offsets: Vec<f64> = p.iter().map(|q| (q - p[0]).dot(&direction)).collect();
    let collinear = p
        .iter()
        .zip(&offsets)
        .all(|(q, s)| ((q - p[0]) - direction * *s).norm() < 0.05);
    let mut steps: Vec<f64> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
    steps.sort_by(f64::total_cmp);
    let median = steps[steps.len() / 2];
    let irregular = steps[steps.len() - 1] - steps[0] > 0.01 * median;
    if !collinear || !irregular || steps[0] <= 0.0 || median <= 0.0 {
        return None;
    }
    let count = (length / median + 1e-6).floor() as usize + 1;
    (count <= 4 * instances.len()).then_some(RegularGrid {
        direction,
        offsets,
        step: median,
        count,
    })
}

/// Linear interpolation between acquired slices (at `offsets`, ascending)
/// onto `count` slices every `step` mm. The slices are translated copies of
/// one in-plane grid along the stack direction, so interpolating pixel (i, j)
/// of the two bracketing slices is exact for values linear in space.
fn resample_along_stack(
    data: &[f32],
    plane: usize,
    offsets: &[f64],
    step: f64,
    count: usize,
) -> Vec<f32> {
    let mut out = vec![0f32; plane * count];
    out.par_chunks_mut(plane).enumerate().for_each(|(m, dst)| {
        let s = m as f64 * step;
        let k = offsets
            .partition_point(|o| *o <= s)
            .clamp(1, offsets.len() - 1)
            - 1;
        let w = ((s - offsets[k]) / (offsets[k + 1] - offsets[k])).clamp(0.0, 1.0) as f32;
        let (a, b) = (
            &data[k * plane..(k + 1) * plane],
            &data[(k + 1) * plane..(k + 2) * plane],
        );
        for ((d, x), y) in dst.iter_mut().zip(a).zip(b) {
            *d = x + (y - x) * w;
        }
    });
    out
}

fn stack_affine(instances: &[&InstanceHeader]) -> Result<Matrix4<f64>, ImagingError> {
    let first = instances[0];
    let field = |field: &'static str| ImagingError::Field {
        path: first.path.clone(),
        field,
        detail: None,
    };
    let (Some(o), Some(ps), Some(p0)) = (first.orientation, first.pixel_spacing, first.position)
    else {
        // No geometry: unit spacing so the images can still be viewed.
        return Ok(Matrix4::identity());
    };
    let row = Vector3::new(o[0], o[1], o[2]);
    let col = Vector3::new(o[3], o[4], o[5]);
    if (row.norm() - 1.0).abs() > 1e-2
        || (col.norm() - 1.0).abs() > 1e-2
        || row.dot(&col).abs() > 1e-2
    {
        return Err(ImagingError::Field {
            path: first.path.clone(),
            field: "ImageOrientationPatient",
            detail: Some("direction cosines are not orthonormal".to_owned()),
        });
    }
    let (row, col) = (row.normalize(), col.normalize());
    let normal = row.cross(&col).normalize();
    let origin = Vector3::from(p0);
    let step = if instances.len() > 1 {
        let last = Vector3::from(
            instances[instances.len() - 1]
                .position
                .ok_or_else(|| field("ImagePositionPatient"))?,
        );
        let n = (instances.len() - 1) as f64;
        // Irregular spacing and tilt were reported by the scan (stack warnings);
        // the affine keeps the mean step, sheared when the stack is tilted.
        // Positions are distinct by construction (grouped at 0.01 mm).
        (last - origin) / n
    } else {
        normal * first.slice_thickness.filter(|t| *t > 0.0).unwrap_or(1.0)
    };
    let dx = row * ps[1];
    let dy = col * ps[0];
    #[rustfmt::skip]
    let m = Matrix4::new(
        dx.x, dy.x, step.x, origin.x,
        dx.y, dy.y, step.y, origin.y,
        dx.z, dy.z, step.z, origin.z,
        0.0,  0.0,  0.0,    1.0,
    );
    Ok(m)
}

/// Convenience: scan `root` and load the first phase of the largest stack.
pub fn load_first_volume(root: &Path, progress: &Progress) -> Result<Volume, ImagingError> {
    let report = crate::scan_folder(root, progress)?;
    let stack = report
        .stacks()
        .map(|(_, _, s)| s)
        .filter(|s| !s.localizer && !s.multiframe)
        .max_by_key(|s| s.positions.len())
        .ok_or_else(|| ImagingError::NoDicom {
            path: root.to_owned(),
            files: report.files_seen,
            not_dicom: report.not_dicom,
            unreadable: report.unreadable.len(),
        })?;
    load_stack(stack, 0, progress, twin_core::limits::memory_budget())
}

/// A small grey-level preview of a stack: its middle slice (first phase),
/// windowed from the 1st to the 99th percentile, at most `size` pixels on a side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub width: usize,
    pub height: usize,
    /// Row-major grey levels.
    pub pixels: Vec<u8>,
}

/// Decodes one slice of `stack` into a [`Thumbnail`].
pub fn thumbnail(stack: &Stack, size: usize) -> Result<Thumbnail, ImagingError> {
    let instances = phase_instances(stack, 0)?;
    let h = instances[instances.len() / 2];
    let (w, hgt) = (usize::from(h.columns), usize::from(h.rows));
    let mut buffer = vec![0f32; w * hgt];
    decode_file(&[(h, 0)], &mut [buffer.as_mut_slice()], &Progress::new())?;
    let values = &buffer;
    let (lo, hi) = crate::mpr::percentile_range(values.iter().copied()).unwrap_or((0.0, 1.0));
    let scale = (w.max(hgt) as f64 / size.max(1) as f64).max(1.0);
    let (tw, th) = (
        ((w as f64 / scale).round() as usize).max(1),
        ((hgt as f64 / scale).round() as usize).max(1),
    );
    let mut pixels = Vec::with_capacity(tw * th);
    for y in 0..th {
        for x in 0..tw {
            let sx = (((x as f64 + 0.5) * scale) as usize).min(w - 1);
            let sy = (((y as f64 + 0.5) * scale) as usize).min(hgt - 1);
            let v = values[sx + w * sy];
            let g = ((v - lo) / (hi - lo).max(1e-6) * 255.0).clamp(0.0, 255.0);
            pixels.push(g as u8);
        }
    }
    Ok(Thumbnail {
        width: tw,
        height: th,
        pixels,
    })
}
