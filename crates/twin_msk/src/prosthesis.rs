//! A transtibial prosthesis on one side: the ankle's muscles are gone and a
//! rotational spring–damper at the ankle takes their place; the foot's
//! bodies weigh what the device weighs.
//!
//! The device's moment follows the trial's ankle kinematics:
//! `τ = −k (θ − θ0) − c θ̇`, with `k` the dorsiflexion stiffness when
//! `θ > θ0` and the plantarflexion stiffness otherwise (bilinear), `θ0` the
//! neutral angle plus the alignment offset. In inverse analysis the rest of
//! the moment the motion needs at that ankle falls to the reserve (no
//! muscle is left there) and to the other joints' muscles. The foot–pylon
//! mass and inertia replace those of the foot's bodies (talus, calcaneus,
//! toes), the inertia scaled with the mass.
//!
//! Parameters are read from JSON (`twin gait so --prosthesis P.json`):
//!
//! ```json
//! { "side": "right", "stiffness_nm_per_rad": 400, "plantar_stiffness_nm_per_rad": 250,
//!   "damping_nms_per_rad": 2, "neutral_angle_deg": 0, "alignment_offset_deg": 0,
//!   "mass_kg": 1.2 }
//! ```

use serde::{Deserialize, Serialize};

use crate::model::{Model, Motion};
use crate::{MskError, muscle};

/// The device as the user sets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prosthesis {
    /// `right` or `left`.
    pub side: String,
    /// Stiffness in dorsiflexion (N·m/rad); also in plantarflexion unless
    /// `plantar_stiffness_nm_per_rad` is given.
    pub stiffness_nm_per_rad: f64,
    #[serde(default)]
    pub plantar_stiffness_nm_per_rad: Option<f64>,
    #[serde(default)]
    pub damping_nms_per_rad: f64,
    #[serde(default)]
    pub neutral_angle_deg: f64,
    /// Alignment: a change of the neutral angle (deg, + = dorsiflexed).
    #[serde(default)]
    pub alignment_offset_deg: f64,
    /// Foot–pylon mass (kg); `None`: the intact foot's.
    #[serde(default)]
    pub mass_kg: Option<f64>,
}

/// The device inside a model: which coordinate and its law.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnkleDevice {
    pub coordinate: usize,
    pub dorsi_stiffness: f64,
    pub plantar_stiffness: f64,
    pub damping: f64,
    /// rad.
    pub neutral: f64,
}

impl AnkleDevice {
    /// The device's moment (N·m) at ankle angle `q` and speed `qd`.
    #[must_use]
    pub fn moment(&self, q: f64, qd: f64) -> f64 {
        let k = if q > self.neutral {
            self.dorsi_stiffness
        } else {
            self.plantar_stiffness
        };
        -k * (q - self.neutral) - self.damping * qd
    }
}

impl Prosthesis {
    /// Reads and checks a device file.
    ///
    /// # Errors
    /// The file cannot be read, is not this JSON, or a value is out of range.
    pub fn read(path: &std::path::Path) -> Result<Self, MskError> {
        let text =
            twin_core::limits::read_text(path, twin_core::limits::MAX_JSON_FILE, "prosthesis file")
                .map_err(|e| MskError::io(path, &e))?;
        let p: Self = serde_json::from_str(&text)
            .map_err(|e| MskError::format(format!("not a prosthesis file: {e}")).in_file(path))?;
        p.check().map_err(|e| e.in_file(path))?;
        Ok(p)
    }

    /// Every value in its range: side right or left, stiffness 0–5 000
    /// N·m/rad, damping 0–100 N·m·s/rad, angles within ±45°, mass 0.1–5 kg.
    ///
    /// # Errors
    /// The first value out of range, by name.
    pub fn check(&self) -> Result<(), MskError> {
        let bad = |field: &str, value: f64, range: &str| {
            Err(MskError::format(format!(
                "prosthesis `{field}` is {value}; expected {range}"
            )))
        };
        if !matches!(self.side.as_str(), "right" | "left") {
            return Err(MskError::format(format!(
                "prosthesis `side` is `{}`; expected `right` or `left`",
                self.side
            )));
        }
        let stiffness = [
            ("stiffness_nm_per_rad", Some(self.stiffness_nm_per_rad)),
            (
                "plantar_stiffness_nm_per_rad",
                self.plantar_stiffness_nm_per_rad,
            ),
        ];
        for (field, v) in stiffness {
            if let Some(v) = v
                && !(v.is_finite() && (0.0..=5000.0).contains(&v))
            {
                return bad(field, v, "0–5 000 N·m/rad");
            }
        }
        if !(self.damping_nms_per_rad.is_finite()
            && (0.0..=100.0).contains(&self.damping_nms_per_rad))
        {
            return bad(
                "damping_nms_per_rad",
                self.damping_nms_per_rad,
                "0–100 N·m·s/rad",
            );
        }
        for (field, v) in [
            ("neutral_angle_deg", self.neutral_angle_deg),
            ("alignment_offset_deg", self.alignment_offset_deg),
        ] {
            if !(v.is_finite() && (-45.0..=45.0).contains(&v)) {
                return bad(field, v, "−45–45°");
            }
        }
        if let Some(m) = self.mass_kg
            && !(m.is_finite() && (0.1..=5.0).contains(&m))
        {
            return bad("mass_kg", m, "0.1–5 kg");
        }
        Ok(())
    }

    /// The model with the device: the ankle muscles of that side removed
    /// (every muscle whose length depends on its ankle, subtalar or toe
    /// coordinates), the foot's bodies re-weighed; the device and notes
    /// saying what changed.
    ///
    /// # Errors
    /// A value is out of range, or the model has no `ankle_angle_<r|l>`.
    pub fn apply(&self, model: &Model) -> Result<(Model, AnkleDevice, Vec<String>), MskError> {
        self.check()?;
        let s = if self.side == "right" { "r" } else { "l" };
        let ankle = model
            .coordinate(&format!("ankle_angle_{s}"))
            .ok_or_else(|| {
                MskError::format(format!(
                    "model `{}` has no coordinate `ankle_angle_{s}` for the prosthesis",
                    model.name
                ))
            })?;
        if model.coordinates[ankle].motion != Motion::Rotational {
            return Err(MskError::format(format!(
                "`ankle_angle_{s}` is not rotational"
            )));
        }
        let foot_coords: Vec<usize> = ["ankle_angle", "subtalar_angle", "mtp_angle"]
            .iter()
            .filter_map(|c| model.coordinate(&format!("{c}_{s}")))
            .collect();
        let spans = muscle::spanned_coordinates(model);
        let mut out = model.clone();
        let mut removed = Vec::new();
        let mut kept = Vec::new();
        for (m, span) in model.muscles.iter().zip(&spans) {
            if span.iter().any(|k| foot_coords.contains(k)) {
                removed.push(m.name.clone());
            } else {
                kept.push(m.clone());
            }
        }
        out.muscles = kept;
        // The bodies below the ankle: everything the ankle joint moves.
        let joint = model.coordinates[ankle].joint;
        let below: Vec<usize> = model.joint_subtrees()[joint]
            .iter()
            .enumerate()
            .filter(|&(_, &inside)| inside)
            .map(|(b, _)| b)
            .collect();
        let intact: f64 = below.iter().map(|&b| model.bodies[b].mass).sum();
        let mut notes = vec![format!(
            "prosthesis ({}): {} muscle(s) removed: {}",
            self.side,
            removed.len(),
            removed.join(", ")
        )];
        if let Some(mass) = self.mass_kg
            && intact > 0.0
        {
            let ratio = mass / intact;
            for &b in &below {
                out.bodies[b].mass *= ratio;
                out.bodies[b].inertia *= ratio;
            }
            notes.push(format!(
                "prosthesis: foot bodies {intact:.3} kg → {mass:.3} kg (inertia scaled alike)"
            ));
        }
        let k = self.stiffness_nm_per_rad;
        let device = AnkleDevice {
            coordinate: ankle,
            dorsi_stiffness: k,
            plantar_stiffness: self.plantar_stiffness_nm_per_rad.unwrap_or(k),
            damping: self.damping_nms_per_rad,
            neutral: (self.neutral_angle_deg + self.alignment_offset_deg).to_radians(),
        };
        Ok((out, device, notes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(k: f64) -> Prosthesis {
        Prosthesis {
            side: "right".into(),
            stiffness_nm_per_rad: k,
            plantar_stiffness_nm_per_rad: Some(k / 2.0),
            damping_nms_per_rad: 1.0,
            neutral_angle_deg: 0.0,
            alignment_offset_deg: 5.0,
            mass_kg: Some(1.0),
        }
    }

    #[test]
    fn the_example_devices_read_and_check() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/prostheses");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let p = Prosthesis::read(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(p.stiffness_nm_per_rad > 0.0, "{}", path.display());
            n += 1;
        }
        assert!(n >= 2, "{n} examples in {}", dir.display());
    }

    #[test]
    fn the_device_law_is_bilinear_about_its_aligned_neutral() {
        let d = AnkleDevice {
            coordinate: 0,
            dorsi_stiffness: 400.0,
            plantar_stiffness: 200.0,
            damping: 2.0,
            neutral: 0.1,
        };
        assert!((d.moment(0.2, 0.0) + 40.0).abs() < 1e-12);
        assert!((d.moment(0.0, 0.0) - 20.0).abs() < 1e-12);
        assert!((d.moment(0.1, 1.0) + 2.0).abs() < 1e-12);
    }

    #[test]
    fn the_model_loses_its_ankle_muscles_and_gets_the_device_mass() {
        let Some(dir) = twin_core::testdata::require("msk/gait10dof18musc") else {
            return;
        };
        let model = Model::read(&dir.join("gait10dof18musc_subject01.osim")).unwrap();
        let (m, d, notes) = device(400.0).apply(&model).unwrap();
        let names: Vec<&str> = m.muscles.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(m.muscles.len(), 15, "{names:?}");
        for gone in ["gastroc_r", "soleus_r", "tib_ant_r"] {
            assert!(!names.contains(&gone));
        }
        assert!(names.contains(&"gastroc_l") && names.contains(&"hamstrings_r"));
        // talus, calcaneus and toes of the right side weigh 1 kg together.
        let foot: f64 = ["talus_r", "calcn_r", "toes_r"]
            .iter()
            .map(|b| m.bodies[m.body(b).unwrap()].mass)
            .sum();
        assert!((foot - 1.0).abs() < 1e-9, "{foot}");
        assert!((m.mass() - (model.mass() - foot_mass(&model) + 1.0)).abs() < 1e-9);
        assert!(
            (d.neutral - 5f64.to_radians()).abs() < 1e-12
                && (d.plantar_stiffness - 200.0).abs() < 1e-12
        );
        assert!(notes[0].contains("3 muscle(s) removed"), "{notes:?}");
    }

    /// A stiffness sweep on the gait10dof18musc walk (right side, one
    /// stride): the device's peak plantarflexor moment and the energy it
    /// absorbs grow with the stiffness; the reserve's share of the ankle
    /// moment falls while the device's moment stays below the moment the
    /// walk needs, and rises again once the device overshoots it (the
    /// reserve must then push back). With no stiffness the reserve carries
    /// everything, and the warnings say so.
    #[test]
    fn a_stiffness_sweep_trends_and_a_limp_device_leaves_it_to_the_reserve() {
        use crate::Table;
        use crate::loads::ExternalLoads;
        use crate::optimization::{SoOptions, static_optimization_with};
        let Some(dir) = twin_core::testdata::require("msk/gait10dof18musc") else {
            return;
        };
        let model = Model::read(&dir.join("gait10dof18musc_subject01.osim")).unwrap();
        let motion = Table::read(&dir.join("subject01_walk_IK.mot")).unwrap();
        let mut last: Option<(f64, f64, f64)> = None;
        let mut needed = 0.0;
        for k in [0.0, 100.0, 200.0, 400.0, 800.0] {
            let mut p = device(k);
            p.plantar_stiffness_nm_per_rad = None;
            p.damping_nms_per_rad = 0.0;
            p.alignment_offset_deg = 0.0;
            let (m, d, _) = p.apply(&model).unwrap();
            let loads = ExternalLoads::read(
                &dir.join("gait10dof18musc_subject01_walk_grf.xml"),
                &m,
                None,
            )
            .unwrap();
            let so = static_optimization_with(
                &m,
                &motion,
                Some(&loads),
                SoOptions {
                    time_range: Some([0.618, 1.853]),
                    device: Some(d),
                    ..SoOptions::default()
                },
                &twin_core::Progress::new(),
            )
            .unwrap();
            let dev = so.device.as_ref().unwrap();
            let peak = dev.columns[0].iter().fold(0.0f64, |a, &v| a.max(-v));
            let dt = dev.time[1] - dev.time[0];
            let absorbed: f64 = dev.columns[1].iter().filter(|p| **p < 0.0).sum::<f64>() * -dt;
            let usage = so
                .reserves
                .iter()
                .find(|u| u.coordinate == "ankle_angle_r")
                .unwrap();
            let share = usage.share_percent;
            eprintln!(
                "k {k:5.0} N·m/rad: peak plantarflexor moment {peak:6.1} N·m, absorbed {absorbed:5.2} J, reserve {share:5.1} % of the ankle moment, {} flagged frame(s)",
                so.flagged.len()
            );
            if k == 0.0 {
                needed = usage.peak;
                assert!(peak < 1e-9 && (share - 100.0).abs() < 1e-6, "{share}");
                assert!(
                    so.warnings
                        .iter()
                        .any(|w| w.contains("prosthetic ankle `ankle_angle_r` leaves 100 %")),
                    "{:?}",
                    so.warnings
                );
            }
            if let Some((p0, a0, s0)) = last {
                assert!(peak > p0 && absorbed > a0, "k {k}");
                if peak < needed {
                    assert!(share < s0, "k {k}: {share} after {s0}");
                } else {
                    assert!(
                        share > s0,
                        "k {k}: overshoot {peak} > {needed}, {share} after {s0}"
                    );
                }
            }
            last = Some((peak, absorbed, share));
        }
    }

    fn foot_mass(model: &Model) -> f64 {
        ["talus_r", "calcn_r", "toes_r"]
            .iter()
            .map(|b| model.bodies[model.body(b).unwrap()].mass)
            .sum()
    }

    #[test]
    fn out_of_range_devices_are_refused_by_field() {
        type Break = fn(&mut Prosthesis);
        let cases: [(Break, &str); 5] = [
            (|p| p.side = "middle".into(), "`side` is `middle`"),
            (
                |p| p.stiffness_nm_per_rad = -1.0,
                "`stiffness_nm_per_rad` is -1",
            ),
            (
                |p| p.damping_nms_per_rad = f64::NAN,
                "`damping_nms_per_rad` is NaN",
            ),
            (
                |p| p.alignment_offset_deg = 90.0,
                "`alignment_offset_deg` is 90",
            ),
            (|p| p.mass_kg = Some(50.0), "`mass_kg` is 50"),
        ];
        for (break_it, want) in cases {
            let mut p = device(300.0);
            break_it(&mut p);
            let e = p.check().unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
        let dir = tempfile_dir();
        let path = dir.join("p.json");
        std::fs::write(&path, r#"{"side": "right", "stiffness": 3}"#).unwrap();
        let e = Prosthesis::read(&path).unwrap_err().to_string();
        assert!(e.contains("p.json") && e.contains("unknown field"), "{e}");
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("twin-prosthesis-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
