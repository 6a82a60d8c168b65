//! The cine's LV volume curve → calibration targets: the LV cavity in every
//! phase by the learned network (`twin_mesh::cine_net`, the expert's
//! convention; a seed picks the LV), its end-diastolic and end-systolic volumes,
//! the heart rate from the phases' trigger times (they span one beat), and
//! a line saying where the numbers came from (the calibration keeps it as
//! its provenance).

use std::collections::BTreeSet;
use twin_cardio::Targets;
use twin_core::Progress;
use twin_mesh::Grid;

use serde::Serialize;
use twin_mesh::cine::{
    BloodPool, Chamber, DEFAULT_FRACTION, LvCurve, blood_pool, curve, quality_flags,
};
use twin_mesh::cine_net::{Convention, LOW_CONFIDENCE, lv_cavity};
use twin_mesh::cine_wall::{AhaSegment, Myocardium, aha_thickness, lv_myocardium, rv_pool};
use twin_mesh::contour;
use twin_mesh::segment::Mask;

use crate::SessionError;

/// What a cine gives the calibration.
#[derive(Debug, Clone)]
pub struct CineTargets {
    pub curve: LvCurve,
    /// From the phases' times, when they give a plausible rate (30–180/min).
    pub heart_rate_bpm: Option<f64>,
    /// Implausible results by name (EF out of range, a phase without a
    /// cavity, a jump between phases, a cavity at the image edge); they are
    /// also in `source`, so the calibration records them.
    pub quality_flags: Vec<String>,
    /// e.g. `LV curve of series 5.1: EDV 142.7 mL (phase 0), …`.
    pub source: String,
}

impl CineTargets {
    /// `targets` with the cine's volumes (and heart rate, when known); the
    /// pressures are kept.
    #[must_use]
    pub fn applied_to(&self, mut targets: Targets) -> Targets {
        targets.lv_edv_ml = self.curve.edv_ml;
        targets.lv_esv_ml = self.curve.esv_ml;
        if let Some(hr) = self.heart_rate_bpm {
            targets.heart_rate_bpm = hr;
        }
        targets
    }
}

/// The heart rate of a cine whose phases, at `times_ms` after the trigger,
/// span one beat: the RR interval is the last time plus one phase step.
/// `None` unless there are at least 8 phases evenly spaced (within 10 %):
/// a few phases picked from a cine (ED and ES only) do not span a beat.
#[must_use]
pub fn heart_rate(times_ms: &[f64]) -> Option<f64> {
    let n = times_ms.len();
    if n < 8 {
        return None;
    }
    let step = times_ms[n - 1] - times_ms[n - 2];
    let even = times_ms
        .windows(2)
        .all(|w| ((w[1] - w[0]) - step).abs() <= 0.1 * step.abs());
    if !even {
        return None;
    }
    let hr = 60_000.0 / (times_ms[n - 1] + step);
    (hr.is_finite() && (30.0..=180.0).contains(&hr)).then_some(hr)
}

/// The LV volume curve of the cine `phases` (trigger times `times_ms`),
/// the LV picked by `seed` (patient mm, LPS) or found when `None`, and the
/// targets it gives, by `convention`; `label` names the cine in the
/// provenance line.
///
/// # Errors
/// The seed is outside the cine (named with its position), or it is
/// cancelled.
pub fn lv_targets(
    phases: &[Grid<'_>],
    times_ms: &[f64],
    seed: Option<[f64; 3]>,
    convention: Convention,
    label: &str,
    progress: &Progress,
) -> Result<CineTargets, SessionError> {
    let options = CineOptions {
        seed,
        convention,
        ..CineOptions::default()
    };
    Ok(analyse(phases, options, progress)?.targets(times_ms, label))
}

/// What [`analyse`] finds besides the LV cavity.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CineOptions {
    /// Picks the LV (patient mm, LPS); found when `None`.
    pub seed: Option<[f64; 3]>,
    pub convention: Convention,
    /// The LV myocardium at ED and ES: mass, AHA wall thickness.
    pub myocardium: bool,
    /// The RV volume curve (found beside the septum unless `rv_seed`).
    pub rv: bool,
    pub rv_seed: Option<[f64; 3]>,
}

/// A whole cine analysed, and open to review: the LV cavity in every phase
/// by the chosen convention (the masks the volumes come from), the
/// myocardium at ED and ES, the RV, and which slices a user corrected.
#[derive(Debug, Clone)]
pub struct CineAnalysis {
    pub options: CineOptions,
    /// The reported LV cavity and the other convention's.
    pub lv: BloodPool,
    pub other: BloodPool,
    /// At ED then ES (when asked).
    pub myocardium: Vec<Myocardium>,
    /// At ED, with the septum towards the RV (empty without an RV).
    pub aha: Vec<AhaSegment>,
    /// The RV pool and its seed (patient mm).
    pub rv: Option<(BloodPool, [f64; 3])>,
    /// How sure the network was of each LV slice, per phase then slice
    /// (0..1; `None` where it found no cavity). A corrected slice keeps the
    /// network's number; it is no longer flagged.
    pub confidence: Vec<Vec<Option<f32>>>,
    /// LV slices a user replaced, as (phase, slice).
    pub corrected: BTreeSet<(usize, usize)>,
    /// Implausible results by name (LV, then RV prefixed `RV:`, then what
    /// could not be measured).
    pub quality_flags: Vec<String>,
    /// LV slices the network was unsure of (confidence below
    /// [`LOW_CONFIDENCE`]), by name: worth a look in the review, but not
    /// implausible, so they do not hold back calibration.
    pub review: Vec<String>,
}

/// Runs the LV cavity (and, as asked, myocardium and RV) on a cine.
///
/// # Errors
/// The seed is outside the cine (named with its position), the grids do not
/// match, or it is cancelled.
pub fn analyse(
    phases: &[Grid<'_>],
    options: CineOptions,
    progress: &Progress,
) -> Result<CineAnalysis, SessionError> {
    let at = |s: Option<[f64; 3]>, what: &str| {
        s.map_or(format!("the {what} found in the cine"), |s| {
            format!(
                "{what} seed at {:.1}, {:.1}, {:.1} mm (patient, LPS)",
                s[0], s[1], s[2]
            )
        })
    };
    let lv = lv_cavity(phases, options.seed, progress)
        .map_err(|e| SessionError::input(at(options.seed, "LV"), e))?;
    let confidence = lv.confidence.clone();
    let (lv, other) = lv.by(options.convention);
    let mut a = CineAnalysis {
        options,
        lv,
        other,
        myocardium: Vec::new(),
        aha: Vec::new(),
        rv: None,
        confidence,
        corrected: BTreeSet::new(),
        quality_flags: Vec::new(),
        review: Vec::new(),
    };
    a.measure(phases, progress)?;
    Ok(a)
}

impl CineAnalysis {
    /// (Re)measures everything that follows from the LV masks: the curve,
    /// myocardium, RV and flags.
    fn measure(&mut self, phases: &[Grid<'_>], progress: &Progress) -> Result<(), SessionError> {
        let volumes = self
            .lv
            .masks
            .iter()
            .map(|m| m.volume_mm3() / 1000.0)
            .collect();
        self.lv.curve = curve(volumes);
        (self.quality_flags, self.review) = self.lv_flags();
        self.myocardium.clear();
        self.aha.clear();
        let (ed, es) = (self.lv.curve.ed_phase, self.lv.curve.es_phase);
        let need_wall =
            self.options.myocardium || (self.options.rv && self.options.rv_seed.is_none());
        if need_wall {
            for p in [ed, es] {
                let m = lv_myocardium(&phases[p], &self.lv.masks[p], p, progress)
                    .map_err(|e| SessionError::input(format!("LV myocardium, phase {p}"), e))?;
                self.myocardium.push(m);
            }
        }
        if self.options.rv && self.rv.is_none() {
            self.rv = match self.options.rv_seed {
                Some(seed) => Some((
                    blood_pool(phases, seed, Chamber::Rv, DEFAULT_FRACTION, progress)
                        .map_err(|e| SessionError::input(at_rv(seed), e))?,
                    seed,
                )),
                None => rv_pool(phases, &self.lv.masks[ed], &self.myocardium[0], progress)
                    .map_err(|e| SessionError::input("the RV beside the septum", e))?,
            };
            if self.rv.is_none() {
                self.quality_flags.push(
                    "RV: no blood-bright region beside the septum was found (give --rv-seed)"
                        .into(),
                );
            }
        }
        if let Some((rv, _)) = &self.rv {
            self.quality_flags
                .extend(quality_flags(rv).into_iter().map(|f| format!("RV: {f}")));
        }
        if self.options.myocardium {
            match (&self.rv, self.myocardium.first()) {
                (Some((_, seed)), Some(m)) => self.aha = aha_thickness(&phases[ed], m, *seed),
                _ => self
                    .quality_flags
                    .push("AHA segments need the septum's direction: no RV found".into()),
            }
        }
        if !self.options.myocardium {
            self.myocardium.clear();
        }
        Ok(())
    }

    /// The LV's quality flags (its curve's, and slices without a cavity
    /// between two slices that have one), and the slices the network was
    /// unsure of (to review), by name. Corrected slices are in neither.
    fn lv_flags(&self) -> (Vec<String>, Vec<String>) {
        let (mut flags, mut unsure) = (quality_flags(&self.lv), Vec::new());
        for p in 0..self.lv.masks.len() {
            let with: Vec<usize> = (0..self.slices()).filter(|&k| self.has_lv(p, k)).collect();
            let (Some(&first), Some(&last)) = (with.first(), with.last()) else {
                continue;
            };
            for k in first..=last {
                if self.corrected.contains(&(p, k)) {
                    continue;
                }
                if !self.has_lv(p, k) {
                    flags.push(format!(
                        "phase {p} slice {k}: no LV cavity between slices that have one (review it)"
                    ));
                } else if self.unsure(p, k) {
                    let c = self.confidence_at(p, k).unwrap_or_default();
                    unsure.push(format!("phase {p} slice {k}: low confidence {c:.2}"));
                }
            }
        }
        (flags, unsure)
    }

    /// Slices per phase.
    #[must_use]
    pub fn slices(&self) -> usize {
        self.lv.masks.first().map_or(0, |m| m.dims[2])
    }

    /// Whether slice `k` of phase `p` has an LV cavity.
    #[must_use]
    pub fn has_lv(&self, p: usize, k: usize) -> bool {
        self.lv.masks.get(p).is_some_and(|m| {
            let [nx, ny, _] = m.dims;
            m.data
                .get(k * nx * ny..(k + 1) * nx * ny)
                .is_some_and(|s| s.iter().any(|&v| v != 0))
        })
    }

    /// The network's confidence in the LV of slice `k` at phase `p`
    /// (`None` where it found none).
    #[must_use]
    pub fn confidence_at(&self, p: usize, k: usize) -> Option<f32> {
        self.confidence
            .get(p)
            .and_then(|c| c.get(k).copied().flatten())
    }

    /// The network was unsure of this slice (below [`LOW_CONFIDENCE`]) and
    /// no user has corrected it.
    #[must_use]
    pub fn unsure(&self, p: usize, k: usize) -> bool {
        !self.corrected.contains(&(p, k))
            && self.confidence_at(p, k).is_some_and(|c| c < LOW_CONFIDENCE)
    }

    /// Replaces the LV cavity of one slice of one phase by the pixels inside
    /// `polygon` (pixel coordinates of that slice), records the slice as
    /// corrected and measures again. Returns the slice's previous pixels (for
    /// undo).
    ///
    /// # Errors
    /// The phase or slice does not exist, or the polygon has under 3 points.
    pub fn correct(
        &mut self,
        phases: &[Grid<'_>],
        phase: usize,
        slice: usize,
        polygon: &[[f64; 2]],
        progress: &Progress,
    ) -> Result<Vec<u8>, SessionError> {
        if polygon.len() < 3 {
            return Err(SessionError::input(
                format!("contour of phase {phase}, slice {slice}"),
                "a contour needs at least 3 points",
            ));
        }
        let [nx, ny, _] = self.slice_dims(phase, slice)?;
        let pixels = contour::fill(polygon, nx, ny);
        self.set_slice(phases, phase, slice, pixels, true, progress)
    }

    /// Puts `pixels` into one LV slice (`corrected` says whether the slice
    /// counts as a user's correction from now on) and measures again;
    /// returns what was there.
    ///
    /// # Errors
    /// The phase or slice does not exist or `pixels` has the wrong size.
    pub fn set_slice(
        &mut self,
        phases: &[Grid<'_>],
        phase: usize,
        slice: usize,
        pixels: Vec<u8>,
        corrected: bool,
        progress: &Progress,
    ) -> Result<Vec<u8>, SessionError> {
        let [nx, ny, _] = self.slice_dims(phase, slice)?;
        if pixels.len() != nx * ny {
            return Err(SessionError::input(
                format!("LV slice {slice} of phase {phase}"),
                format!("{} pixels for a {nx}×{ny} slice", pixels.len()),
            ));
        }
        let range = slice * nx * ny..(slice + 1) * nx * ny;
        let old = self.lv.masks[phase].data[range.clone()].to_vec();
        self.lv.masks[phase].data[range].copy_from_slice(&pixels);
        if corrected {
            self.corrected.insert((phase, slice));
        } else {
            self.corrected.remove(&(phase, slice));
        }
        self.measure(phases, progress)?;
        Ok(old)
    }

    /// Copies the corrected slice's contour of `phase` to the same slice
    /// of `to` phases (each scaled about its own cavity's centroid to keep
    /// that phase's area, or kept as drawn where the phase had no cavity).
    ///
    /// # Errors
    /// As [`CineAnalysis::correct`].
    pub fn propagate(
        &mut self,
        phases: &[Grid<'_>],
        phase: usize,
        slice: usize,
        to: &[usize],
        progress: &Progress,
    ) -> Result<Vec<(usize, Vec<u8>)>, SessionError> {
        let [nx, ny, _] = self.slice_dims(phase, slice)?;
        let range = slice * nx * ny..(slice + 1) * nx * ny;
        let source = self.lv.masks[phase].data[range.clone()].to_vec();
        let shape = contour::trace(&source, nx, ny);
        let Some(c) = polygon_centroid(&shape) else {
            return Ok(Vec::new());
        };
        let area = contour::area(&shape);
        let mut undo = Vec::new();
        for &p in to {
            if p == phase {
                continue;
            }
            self.slice_dims(p, slice)?;
            let own = contour::trace(&self.lv.masks[p].data[range.clone()], nx, ny);
            let scale = if own.len() >= 3 && area > 0.0 {
                (contour::area(&own) / area).sqrt()
            } else {
                1.0
            };
            let at = polygon_centroid(&own).unwrap_or(c);
            let moved: Vec<[f64; 2]> = shape
                .iter()
                .map(|q| [at[0] + (q[0] - c[0]) * scale, at[1] + (q[1] - c[1]) * scale])
                .collect();
            let pixels = contour::fill(&moved, nx, ny);
            let old = self.lv.masks[p].data[range.clone()].to_vec();
            self.lv.masks[p].data[range.clone()].copy_from_slice(&pixels);
            self.corrected.insert((p, slice));
            undo.push((p, old));
        }
        self.measure(phases, progress)?;
        Ok(undo)
    }

    /// The calibration targets of the (possibly corrected) LV curve; the
    /// provenance says which slices a user corrected.
    #[must_use]
    pub fn targets(&self, times_ms: &[f64], label: &str) -> CineTargets {
        let c = self.lv.curve.clone();
        let mut source = format!(
            "LV curve of {label} (learned {}): EDV {:.1} mL (phase {}), ESV {:.1} mL (phase {}), EF {:.1} %",
            self.options.convention.label(),
            c.edv_ml,
            c.ed_phase,
            c.esv_ml,
            c.es_phase,
            c.ef_percent
        );
        if !self.corrected.is_empty() {
            let list: Vec<String> = self
                .corrected
                .iter()
                .map(|(p, k)| format!("phase {p} slice {k}"))
                .collect();
            source.push_str("; CORRECTED by the user: ");
            source.push_str(&list.len().to_string());
            source.push_str(" slice(s) (");
            source.push_str(&list.join(", "));
            source.push(')');
        }
        let (flags, _) = self.lv_flags();
        if !flags.is_empty() {
            source.push_str("; QUALITY: ");
            source.push_str(&flags.join("; "));
        }
        CineTargets {
            curve: c,
            heart_rate_bpm: heart_rate(times_ms),
            quality_flags: flags,
            source,
        }
    }

    fn slice_dims(&self, phase: usize, slice: usize) -> Result<[usize; 3], SessionError> {
        let m = self.lv.masks.get(phase).ok_or_else(|| {
            SessionError::input(
                format!("phase {phase}"),
                format!("the cine has {} phases", self.lv.masks.len()),
            )
        })?;
        if slice >= m.dims[2] {
            return Err(SessionError::input(
                format!("slice {slice}"),
                format!("the cine has {} slices", m.dims[2]),
            ));
        }
        Ok(m.dims)
    }

    /// The contours of one slice of one phase (LV, and the epicardium and
    /// RV where measured).
    #[must_use]
    pub fn contours_of(&self, phase: usize, slice: usize) -> Vec<SliceContour> {
        let mut out = Vec::new();
        let mut add = |kind: ContourKind, mask: &Mask| {
            let [nx, ny, nz] = mask.dims;
            if slice >= nz {
                return;
            }
            let points = contour::trace(&mask.data[slice * nx * ny..(slice + 1) * nx * ny], nx, ny);
            if points.len() >= 3 {
                out.push(SliceContour {
                    kind,
                    phase,
                    slice,
                    corrected: kind == ContourKind::LvEndocardium
                        && self.corrected.contains(&(phase, slice)),
                    points_px: points,
                });
            }
        };
        if let Some(m) = self.lv.masks.get(phase) {
            add(ContourKind::LvEndocardium, m);
        }
        for m in self.myocardium.iter().filter(|m| m.phase == phase) {
            add(ContourKind::LvEpicardium, &m.epicardium);
        }
        if let Some(m) = self.rv.as_ref().and_then(|(rv, _)| rv.masks.get(phase)) {
            add(ContourKind::RvEndocardium, m);
        }
        out
    }

    /// Every contour as polygons: the LV cavity per phase and slice, the
    /// epicardium at ED/ES, the RV per phase and slice.
    #[must_use]
    pub fn contours(&self) -> Vec<SliceContour> {
        let nz = self.slices();
        let mut out: Vec<SliceContour> = (0..self.lv.masks.len())
            .flat_map(|p| (0..nz).flat_map(move |k| self.contours_of(p, k)))
            .collect();
        out.sort_by_key(|c| (c.kind as u8, c.phase, c.slice));
        out
    }
}

fn at_rv(s: [f64; 3]) -> String {
    format!(
        "RV seed at {:.1}, {:.1}, {:.1} mm (patient, LPS)",
        s[0], s[1], s[2]
    )
}

fn polygon_centroid(p: &[[f64; 2]]) -> Option<[f64; 2]> {
    let a = contour::area(p);
    if p.len() < 3 || a.abs() < 1e-12 {
        return None;
    }
    let n = p.len();
    let (mut cx, mut cy) = (0.0, 0.0);
    for i in 0..n {
        let (u, v) = (p[i], p[(i + 1) % n]);
        let c = u[0] * v[1] - v[0] * u[1];
        cx += (u[0] + v[0]) * c;
        cy += (u[1] + v[1]) * c;
    }
    Some([cx / (6.0 * a), cy / (6.0 * a)])
}

/// Which border a contour is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContourKind {
    LvEndocardium,
    LvEpicardium,
    RvEndocardium,
}

/// One border on one slice of one phase, in that slice's pixel coordinates
/// (pixel centres at integers; crack-following, so the polygon holds
/// exactly the mask's pixels).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliceContour {
    pub kind: ContourKind,
    pub phase: usize,
    pub slice: usize,
    /// A user drew or propagated this one.
    pub corrected: bool,
    pub points_px: Vec<[f64; 2]>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heart_rate_comes_from_the_phase_times() {
        // 20 phases 40 ms apart: RR = 760 + 40 = 800 ms, 75/min.
        let times: Vec<f64> = (0..20).map(|i| f64::from(i) * 40.0).collect();
        assert!((heart_rate(&times).unwrap() - 75.0).abs() < 1e-9);
        assert_eq!(heart_rate(&[0.0]), None);
        // 10 ms phases make 600/min: not a heart rate.
        let fast: Vec<f64> = (0..10).map(|i| f64::from(i) * 10.0).collect();
        assert_eq!(heart_rate(&fast), None);
        // ED and ES picked from a cine do not span a beat.
        assert_eq!(heart_rate(&[348.0, 929.0]), None);
        let mut uneven = times.clone();
        uneven[5] += 15.0;
        assert_eq!(heart_rate(&uneven), None);
    }
}
