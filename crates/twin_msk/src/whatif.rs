//! Prosthesis what-ifs on one gait trial: the intact baseline and variants
//! with a transtibial device ([`crate::prosthesis`]), each a static
//! optimisation of the same motion and loads, summarised for comparison —
//! device moment, power and energy, the ankle reserve's share, muscle
//! activations over the gait cycle, metabolic power and asymmetry.
//!
//! A [`GaitCase`] holds what every run shares (model, motion, loads,
//! strides); [`GaitCase::run`] is what a slider change reruns, so its time
//! is the what-if latency (`bench/run.py`'s `gait-whatif-…`).

use crate::dynamics::{IdOptions, inverse_dynamics};
use crate::gait::{self, Asymmetry, Band};
use crate::loads::ExternalLoads;
use crate::optimization::{SoOptions, SoResult, static_optimization_with};
use crate::prosthesis::Prosthesis;
use crate::{Model, MskError, Table};

/// What every run of a trial shares.
#[derive(Debug, Clone)]
pub struct GaitCase {
    /// The intact model.
    pub model: Model,
    pub coordinates: Table,
    pub loads: ExternalLoads,
    /// The options of every run (its device is set per run).
    pub options: SoOptions,
    /// Complete strides per side (`[right, left]`) inside the analysed
    /// frames.
    pub strides: [Vec<[f64; 2]>; 2],
    /// Lines about the events found.
    pub notes: Vec<String>,
}

/// A device's energy over the analysed frames.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DeviceEnergy {
    /// Largest plantarflexor (negative) moment, as a positive number (N·m).
    pub peak_plantarflexor_moment_nm: f64,
    /// Work the device gives back and absorbs (J).
    pub positive_work_j: f64,
    pub negative_work_j: f64,
    /// Given back ÷ absorbed (%).
    pub energy_return_percent: f64,
}

impl DeviceEnergy {
    /// From a device table (`moment_Nm`, `power_W` per frame), the power
    /// integrated by the trapezoidal rule.
    #[must_use]
    pub fn of(device: &Table) -> Self {
        let (pos, neg) = work(device, [f64::NEG_INFINITY, f64::INFINITY]);
        Self {
            peak_plantarflexor_moment_nm: device.columns[0].iter().fold(0.0f64, |a, &v| a.max(-v)),
            positive_work_j: pos,
            negative_work_j: neg,
            energy_return_percent: if neg > 0.0 { 100.0 * pos / neg } else { 0.0 },
        }
    }
}

/// The work a device table's power (`power_W`, column 1) does inside
/// `[t0, t1]` (J, trapezoidal rule over the samples' intervals there): given
/// back and absorbed, both ≥ 0.
fn work(device: &Table, [t0, t1]: [f64; 2]) -> (f64, f64) {
    let (mut pos, mut neg) = (0.0, 0.0);
    for i in 1..device.rows() {
        let (a, b) = (device.time[i - 1], device.time[i]);
        if a < t0 || b > t1 {
            continue;
        }
        let w = 0.5 * (device.columns[1][i] + device.columns[1][i - 1]) * (b - a);
        if w > 0.0 {
            pos += w;
        } else {
            neg -= w;
        }
    }
    (pos, neg)
}

/// One run: the baseline (no device) or a variant.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub so: SoResult,
    /// Body mass of the model run (kg; the device's mass counts).
    pub body_mass: f64,
    /// Mean gross metabolic power (W/kg): Umberger 2010, Bhargava 2004.
    pub metabolic_w_per_kg: [f64; 2],
    pub device: Option<DeviceEnergy>,
    /// The side the ankle curves are of: the device's, or right.
    pub side: usize,
    /// That ankle over its strides (N·m/kg): the moment the motion needs
    /// (inverse dynamics), the device's part and the reserve's part.
    pub ankle_needed: Option<Band>,
    pub ankle_device: Option<Band>,
    pub ankle_reserve: Option<Band>,
    /// That ankle reserve's share of the moment the motion needs (%).
    pub ankle_reserve_percent: f64,
    /// Each muscle of the model run over its side's strides.
    pub activations: Vec<(String, Band)>,
    /// Right–left symmetry indices; with a device also its positive work
    /// per stride against the intact ankle's.
    pub asymmetry: Vec<Asymmetry>,
    pub warnings: Vec<String>,
}

impl GaitCase {
    /// The case for `coordinates` with `loads` on `model`, analysed over
    /// `options.time_range` (or the whole motion).
    ///
    /// # Errors
    /// The model has no muscles, or the motion has fewer than two frames.
    pub fn new(
        model: Model,
        coordinates: Table,
        loads: ExternalLoads,
        options: SoOptions,
    ) -> Result<Self, MskError> {
        if model.muscles.is_empty() {
            return Err(MskError::format(format!(
                "model `{}` has no muscles: a prosthesis what-if needs a muscle model",
                model.name
            )));
        }
        if coordinates.rows() < 2 {
            return Err(MskError::format("the motion has fewer than two frames"));
        }
        let n = coordinates.rows();
        let mut span = [coordinates.time[0], coordinates.time[n - 1]];
        if let Some([a, b]) = options.time_range {
            span = [span[0].max(a), span[1].min(b)];
        }
        let (strides, notes) = gait::strides_by_side(&model, &loads, span);
        Ok(Self {
            model,
            coordinates,
            loads,
            options: SoOptions {
                device: None,
                ..options
            },
            strides,
            notes,
        })
    }

    /// One run: with `prosthesis` fitted, or the intact baseline.
    ///
    /// # Errors
    /// The device does not fit the model (values out of range, no such
    /// ankle), the optimisation fails, or the run was cancelled.
    pub fn run(
        &self,
        prosthesis: Option<&Prosthesis>,
        progress: &twin_core::Progress,
    ) -> Result<Outcome, MskError> {
        let (model, device, mut warnings) = match prosthesis {
            Some(p) => {
                let (m, d, notes) = p.apply(&self.model)?;
                (m, Some(d), notes)
            }
            None => (self.model.clone(), None, Vec::new()),
        };
        let options = SoOptions {
            device,
            ..self.options
        };
        let mut so = static_optimization_with(
            &model,
            &self.coordinates,
            Some(&self.loads),
            options,
            progress,
        )?;
        warnings.append(&mut so.warnings);
        let (id, _) = inverse_dynamics(
            &model,
            &self.coordinates,
            Some(&self.loads),
            IdOptions {
                cutoff_hz: options.cutoff_hz,
                time_range: options.time_range,
            },
        )?;
        let body_mass = model.mass();
        let frames = so.metabolic.rows().max(1) as f64;
        let mean = |c: usize| so.metabolic.columns[c].iter().sum::<f64>() / frames / body_mass;
        let side = match prosthesis {
            Some(p) if p.side == "left" => 1,
            _ => 0,
        };
        let suffix = ["r", "l"][side];
        let ankle = format!("ankle_angle_{suffix}");
        let per_kg = |b: Option<Band>| b.map(|b| b.scaled(1.0 / body_mass));
        let strides = &self.strides[side];
        let ankle_needed = id
            .column(&format!("{ankle}_moment"))
            .and_then(|c| gait::stride_band(&id.time, c, strides));
        let ankle_reserve = so
            .forces
            .column(&format!("{ankle}_reserve"))
            .and_then(|c| gait::stride_band(&so.forces.time, c, strides));
        let ankle_device = so
            .device
            .as_ref()
            .and_then(|d| gait::stride_band(&d.time, &d.columns[0], strides));
        let ankle_reserve_percent = model
            .coordinate(&ankle)
            .and_then(|k| so.reserves.get(k))
            .map_or(0.0, |r| r.share_percent);
        let activations = so
            .activations
            .labels
            .iter()
            .zip(&so.activations.columns)
            .filter_map(|(name, col)| {
                let s = usize::from(gait::side_of(name, name) == Some('l'));
                gait::stride_band(&so.activations.time, col, &self.strides[s])
                    .map(|b| (name.clone(), b))
            })
            .collect();
        let mut asymmetry = gait::asymmetry(&model, &self.loads, &self.coordinates, &id);
        if let Some(d) = &so.device
            && let Some(intact) = asymmetry
                .iter()
                .find(|a| a.quantity.starts_with("ankle_angle positive"))
        {
            // The device's positive work per stride of its side (J/kg)
            // against the other ankle's.
            let works: Vec<f64> = strides.iter().map(|&s| work(d, s).0 / body_mass).collect();
            if !works.is_empty() {
                let device_work = works.iter().sum::<f64>() / works.len() as f64;
                let other = if side == 0 { intact.left } else { intact.right };
                let (right, left) = if side == 0 {
                    (device_work, other)
                } else {
                    (other, device_work)
                };
                asymmetry.push(Asymmetry::new(
                    "positive ankle work per stride, device vs intact".into(),
                    "J/kg",
                    right,
                    left,
                ));
            }
        }
        Ok(Outcome {
            device: so.device.as_ref().map(DeviceEnergy::of),
            metabolic_w_per_kg: [mean(0), mean(1)],
            body_mass,
            side,
            ankle_needed: per_kg(ankle_needed),
            ankle_device: per_kg(ankle_device),
            ankle_reserve: per_kg(ankle_reserve),
            ankle_reserve_percent,
            activations,
            asymmetry,
            so,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loads::ExternalLoads;

    fn case() -> Option<GaitCase> {
        let dir = twin_core::testdata::require("msk/gait10dof18musc")?;
        let model = Model::read(&dir.join("gait10dof18musc_subject01.osim")).unwrap();
        let q = Table::read(&dir.join("subject01_walk_IK.mot")).unwrap();
        let loads = ExternalLoads::read(
            &dir.join("gait10dof18musc_subject01_walk_grf.xml"),
            &model,
            None,
        )
        .unwrap();
        let options = SoOptions {
            time_range: Some([0.1, 2.5]),
            ..SoOptions::default()
        };
        Some(GaitCase::new(model, q, loads, options).unwrap())
    }

    fn device(k: f64) -> Prosthesis {
        Prosthesis {
            side: "right".into(),
            stiffness_nm_per_rad: k,
            plantar_stiffness_nm_per_rad: None,
            damping_nms_per_rad: 1.0,
            neutral_angle_deg: 0.0,
            alignment_offset_deg: 0.0,
            mass_kg: Some(1.2),
        }
    }

    #[test]
    fn baseline_and_variant_compare_on_the_walk() {
        let Some(case) = case() else { return };
        assert!(
            !case.strides[0].is_empty() && !case.strides[1].is_empty(),
            "{:?}",
            case.notes
        );
        let progress = twin_core::Progress::new();
        let base = case.run(None, &progress).unwrap();
        let with = case.run(Some(&device(400.0)), &progress).unwrap();
        // The baseline has every muscle and no device; the variant lost the
        // right ankle's muscles and has the device's curve and energy.
        let names = |o: &Outcome| {
            o.activations
                .iter()
                .map(|(n, _)| n.clone())
                .collect::<Vec<_>>()
        };
        assert!(names(&base).contains(&"soleus_r".to_owned()));
        assert!(!names(&with).contains(&"soleus_r".to_owned()));
        assert!(names(&with).contains(&"soleus_l".to_owned()));
        assert!(base.device.is_none() && base.ankle_device.is_none());
        let d = with.device.unwrap();
        assert!(d.negative_work_j > 1.0 && d.positive_work_j > 0.0, "{d:?}");
        // The device's band and the reserve's add up to what the motion
        // needs (filtering aside: within 2 % of the peak).
        let (need, dev, res) = (
            with.ankle_needed.as_ref().unwrap(),
            with.ankle_device.as_ref().unwrap(),
            with.ankle_reserve.as_ref().unwrap(),
        );
        let peak = need.mean.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for k in 0..101 {
            let gap = (need.mean[k] - dev.mean[k] - res.mean[k]).abs();
            assert!(gap < 0.02 * peak, "{k}: {gap} of {peak}");
        }
        // The intact ankle's muscles carry it in the baseline.
        assert!(
            base.ankle_reserve_percent < 5.0,
            "{}",
            base.ankle_reserve_percent
        );
        assert!(
            with.ankle_reserve_percent > 20.0,
            "{}",
            with.ankle_reserve_percent
        );
        for w in base
            .metabolic_w_per_kg
            .iter()
            .chain(&with.metabolic_w_per_kg)
        {
            assert!(*w > crate::metabolics::BASAL_W_PER_KG && *w < 20.0, "{w}");
        }
        let row = with
            .asymmetry
            .iter()
            .find(|a| a.quantity.contains("device vs intact"))
            .unwrap();
        assert!(row.right > 0.0 && row.left > 0.0, "{row:?}");
        assert!(!base.asymmetry.iter().any(|a| a.quantity.contains("device")));
    }

    #[test]
    fn a_case_needs_muscles() {
        let Some(case) = case() else { return };
        let mut bare = case.model.clone();
        bare.muscles.clear();
        let err = GaitCase::new(
            bare,
            case.coordinates.clone(),
            case.loads.clone(),
            case.options,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("no muscles"), "{err}");
    }
}
