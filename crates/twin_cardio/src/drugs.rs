//! Drugs over time: one-compartment pharmacokinetics with an effect site
//! (first-order link `ke0`, the onset delay), and Emax/Hill
//! pharmacodynamics on the reflex-controlled effectors.
//!
//! ```text
//!  V dC/dt = R(t) − CL·C                 (R: infusion, µg/min; a bolus adds dose/V)
//!  dCe/dt  = ke0 (C − Ce)
//!  E       = Emax Ce^n / (EC50^n + Ce^n)
//! ```
//! Concentrations are in µg/L (= ng/mL). Volumes and clearances scale with
//! the body weight. Each effect's `EC50` is given as the infusion rate
//! `D50` (µg/kg/min) whose steady state gives half the maximal effect:
//! `EC50 = D50 / CL` (per kg) — the clinical dose range is what the
//! literature reports most reliably; the PK values are from the drug labels
//! (sources per drug in [`Drug::info`] and docs/models/cardio.md).
//!
//! Effects combine across drugs: contractility, heart rate and resistance
//! multiply (`1 + E`), venous volumes and urine flows add, β-blockades
//! combine as `1 − Π(1 − b)`. β-blockade also scales the β-agonist effects
//! on contractility and heart rate of the other drugs by `1 − b`.

use serde::{Deserialize, Serialize};

use crate::CardioError;

/// The drugs the twin knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "String", into = "String")]
pub enum Drug {
    Norepinephrine,
    Phenylephrine,
    Epinephrine,
    Dobutamine,
    Nitroprusside,
    Esmolol,
    Furosemide,
}

impl Drug {
    pub const ALL: [Self; 7] = [
        Self::Norepinephrine,
        Self::Phenylephrine,
        Self::Epinephrine,
        Self::Dobutamine,
        Self::Nitroprusside,
        Self::Esmolol,
        Self::Furosemide,
    ];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Norepinephrine => "norepinephrine",
            Self::Phenylephrine => "phenylephrine",
            Self::Epinephrine => "epinephrine",
            Self::Dobutamine => "dobutamine",
            Self::Nitroprusside => "nitroprusside",
            Self::Esmolol => "esmolol",
            Self::Furosemide => "furosemide",
        }
    }

    /// The drug of a name (common synonyms too).
    ///
    /// # Errors
    /// An unknown drug, named, with the list of known ones.
    pub fn parse(name: &str) -> Result<Self, CardioError> {
        let n = name.trim().to_ascii_lowercase();
        let d = match n.as_str() {
            "norepinephrine" | "noradrenaline" => Self::Norepinephrine,
            "phenylephrine" => Self::Phenylephrine,
            "epinephrine" | "adrenaline" => Self::Epinephrine,
            "dobutamine" => Self::Dobutamine,
            "nitroprusside" | "sodium nitroprusside" | "sodium_nitroprusside" => {
                Self::Nitroprusside
            }
            "esmolol" => Self::Esmolol,
            "furosemide" | "frusemide" => Self::Furosemide,
            _ => {
                let known: Vec<&str> = Self::ALL.iter().map(|d| d.name()).collect();
                return Err(CardioError::Targets(format!(
                    "unknown drug `{name}` (known: {})",
                    known.join(", ")
                )));
            }
        };
        Ok(d)
    }
}

impl TryFrom<String> for Drug {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s).map_err(|e| e.to_string())
    }
}

impl From<Drug> for String {
    fn from(d: Drug) -> Self {
        d.name().to_owned()
    }
}

impl std::fmt::Display for Drug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a drug acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Both ventricles' active elastance (fraction, β1).
    Contractility,
    /// Heart rate, directly on the sinus node (fraction, β1).
    HeartRate,
    /// Systemic arterial resistance (fraction; α1 up, β2/NO down).
    Resistance,
    /// Venous unstressed volume moved into the stressed volume (mL;
    /// venoconstriction positive, venodilation negative).
    VenousRecruited,
    /// β1-blockade (fraction 0..1).
    BetaBlock,
    /// Urine flow above the baseline (mL/min), lost from the blood volume.
    Urine,
}

/// One effect: `Emax` on a target, half-maximal at the steady state of
/// `d50` µg/kg/min, Hill exponent `hill`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Effect {
    pub target: Target,
    pub emax: f64,
    pub d50_ug_kg_min: f64,
    pub hill: f64,
}

/// A drug's pharmacokinetics, effects, dose limits and sources.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrugInfo {
    pub drug: Drug,
    /// Volume of distribution (L/kg) and clearance (L/kg/min).
    pub vd_l_kg: f64,
    pub cl_l_kg_min: f64,
    /// Effect-site equilibration rate (1/min).
    pub ke0_per_min: f64,
    pub effects: Vec<Effect>,
    /// Accepted infusion rates (µg/kg/min) and bolus doses (mg); `None`:
    /// not given as a bolus.
    pub infusion_ug_kg_min: (f64, f64),
    pub bolus_mg: Option<(f64, f64)>,
    pub pk_source: &'static str,
    pub pd_source: &'static str,
}

impl DrugInfo {
    /// Elimination half-life (min).
    #[must_use]
    pub fn half_life_min(&self) -> f64 {
        std::f64::consts::LN_2 * self.vd_l_kg / self.cl_l_kg_min
    }

    /// EC50 of an effect (µg/L).
    #[must_use]
    pub fn ec50(&self, e: &Effect) -> f64 {
        e.d50_ug_kg_min / self.cl_l_kg_min
    }
}

fn effect(target: Target, emax: f64, d50_ug_kg_min: f64, hill: f64) -> Effect {
    Effect {
        target,
        emax,
        d50_ug_kg_min,
        hill,
    }
}

impl Drug {
    /// PK/PD parameters with sources (built once).
    #[must_use]
    pub fn info(self) -> &'static DrugInfo {
        static TABLE: std::sync::LazyLock<[DrugInfo; 7]> =
            std::sync::LazyLock::new(|| Drug::ALL.map(Drug::make_info));
        &TABLE[self as usize]
    }

    #[allow(
        clippy::too_many_lines,
        reason = "one table of seven drugs reads best in one place"
    )]
    fn make_info(self) -> DrugInfo {
        use Target::{BetaBlock, Contractility, HeartRate, Resistance, Urine, VenousRecruited};
        let pd_assumed = "assumed: Emax and D50 chosen inside the label's dose range (D50 = the usual starting-to-middle dose); not fitted to the validation rows";
        match self {
            Self::Norepinephrine => DrugInfo {
                drug: self,
                vd_l_kg: 8.8 / 70.0,
                cl_l_kg_min: 3.1 / 70.0,
                ke0_per_min: 1.0,
                effects: vec![
                    effect(Resistance, 1.0, 0.1, 1.0),
                    effect(VenousRecruited, 300.0, 0.1, 1.0),
                    effect(Contractility, 0.3, 0.1, 1.0),
                    effect(HeartRate, 0.15, 0.2, 1.0),
                ],
                infusion_ug_kg_min: (0.01, 3.0),
                bolus_mg: Some((0.004, 0.1)),
                pk_source: "Levophed label: volume of distribution 8.8 L, clearance 3.1 L/min (t½ about 2 min)",
                pd_source: pd_assumed,
            },
            Self::Phenylephrine => DrugInfo {
                drug: self,
                vd_l_kg: 15.0 / 70.0,
                cl_l_kg_min: 2.1 / 70.0,
                ke0_per_min: 1.0,
                effects: vec![
                    effect(Resistance, 1.0, 1.0, 1.0),
                    effect(VenousRecruited, 300.0, 1.0, 1.0),
                ],
                infusion_ug_kg_min: (0.1, 10.0),
                bolus_mg: Some((0.04, 1.0)),
                pk_source: "phenylephrine label: clearance 2.1 L/min, effective half-life about 5 min (the distribution phase; V = 15 L gives it)",
                pd_source: pd_assumed,
            },
            Self::Epinephrine => DrugInfo {
                drug: self,
                vd_l_kg: 0.15,
                cl_l_kg_min: 3.0 / 70.0,
                ke0_per_min: 1.0,
                effects: vec![
                    effect(Contractility, 0.8, 0.05, 1.0),
                    effect(HeartRate, 0.4, 0.05, 1.0),
                    // β2 vasodilation at low doses, α constriction at high.
                    effect(Resistance, -0.25, 0.02, 1.0),
                    effect(Resistance, 1.0, 0.3, 1.5),
                ],
                infusion_ug_kg_min: (0.01, 1.0),
                bolus_mg: Some((0.005, 1.0)),
                pk_source: "epinephrine: plasma half-life 2–3 min, clearance about 3 L/min (Adrenalin label)",
                pd_source: pd_assumed,
            },
            Self::Dobutamine => DrugInfo {
                drug: self,
                vd_l_kg: 0.2,
                cl_l_kg_min: 0.2 * std::f64::consts::LN_2 / 2.0,
                ke0_per_min: 1.0,
                effects: vec![
                    effect(Contractility, 0.8, 5.0, 1.0),
                    effect(HeartRate, 0.3, 10.0, 1.0),
                    effect(Resistance, -0.2, 5.0, 1.0),
                ],
                infusion_ug_kg_min: (0.5, 40.0),
                bolus_mg: None,
                pk_source: "dobutamine label: half-life 2 min, volume of distribution 20 % of body weight",
                pd_source: pd_assumed,
            },
            Self::Nitroprusside => DrugInfo {
                drug: self,
                vd_l_kg: 0.2,
                cl_l_kg_min: 0.2 * std::f64::consts::LN_2 / 2.0,
                ke0_per_min: 2.0,
                effects: vec![
                    effect(Resistance, -0.5, 1.0, 1.0),
                    effect(VenousRecruited, -500.0, 1.0, 1.0),
                ],
                infusion_ug_kg_min: (0.1, 10.0),
                bolus_mg: None,
                pk_source: "Nipride label: circulatory half-life about 2 min; extracellular volume 0.2 L/kg assumed",
                pd_source: pd_assumed,
            },
            Self::Esmolol => DrugInfo {
                drug: self,
                vd_l_kg: 3.4,
                cl_l_kg_min: 0.285,
                ke0_per_min: 0.5,
                effects: vec![effect(BetaBlock, 1.0, 100.0, 1.0)],
                infusion_ug_kg_min: (10.0, 300.0),
                bolus_mg: Some((5.0, 100.0)),
                pk_source: "Brevibloc label: volume of distribution 3.4 L/kg, clearance about 20 L/kg/h, half-life 9 min",
                pd_source: "assumed: half of the β1-blockade at 100 µg/kg/min (label's maintenance range 50–300); the blockade removes the sympathetic tone on heart rate and contractility (Ursino's effectors)",
            },
            Self::Furosemide => DrugInfo {
                drug: self,
                vd_l_kg: 0.11,
                cl_l_kg_min: 0.11 * std::f64::consts::LN_2 / 90.0,
                ke0_per_min: 0.05,
                effects: vec![effect(Urine, 15.0, 1.6, 2.0)],
                infusion_ug_kg_min: (0.3, 15.0),
                bolus_mg: Some((5.0, 250.0)),
                pk_source: "Ponto & Schoenwald 1990 (Clin Pharmacokinet 18:381): volume of distribution 0.11 L/kg, half-life about 1.5 h",
                pd_source: "assumed: peak diuresis 15 mL/min above baseline; no refilling from the interstitium is modelled (an upper bound on the blood-volume loss)",
            },
        }
    }
}

/// How a drug is given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dose", rename_all = "snake_case", deny_unknown_fields)]
pub enum Dose {
    /// Continuous infusion (0 stops it).
    Infusion { rate_ug_kg_min: f64 },
    /// A bolus over a few seconds.
    Bolus { dose_mg: f64 },
}

/// Checks a dose against the drug's range.
///
/// # Errors
/// Names the drug, the dose and the accepted range.
pub fn check_dose(drug: Drug, dose: Dose) -> Result<(), CardioError> {
    let info = drug.info();
    match dose {
        Dose::Infusion { rate_ug_kg_min } => {
            let (lo, hi) = info.infusion_ug_kg_min;
            if rate_ug_kg_min != 0.0 && !(rate_ug_kg_min >= lo && rate_ug_kg_min <= hi) {
                return Err(CardioError::Targets(format!(
                    "{drug} infusion {rate_ug_kg_min} µg/kg/min is outside {lo}–{hi} µg/kg/min (0 stops it)"
                )));
            }
        }
        Dose::Bolus { dose_mg } => match info.bolus_mg {
            Some((lo, hi)) if dose_mg >= lo && dose_mg <= hi => {}
            Some((lo, hi)) => {
                return Err(CardioError::Targets(format!(
                    "{drug} bolus {dose_mg} mg is outside {lo}–{hi} mg"
                )));
            }
            None => {
                return Err(CardioError::Targets(format!(
                    "{drug} is given by infusion only, not as a bolus"
                )));
            }
        },
    }
    Ok(())
}

/// The combined drug effects at one time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DrugEffects {
    pub contractility: f64,
    pub heart_rate: f64,
    pub resistance: f64,
    pub venous_recruited_ml: f64,
    pub beta_block: f64,
    pub urine_ml_min: f64,
}

impl Default for DrugEffects {
    fn default() -> Self {
        Self {
            contractility: 1.0,
            heart_rate: 1.0,
            resistance: 1.0,
            venous_recruited_ml: 0.0,
            beta_block: 0.0,
            urine_ml_min: 0.0,
        }
    }
}

/// Plasma and effect-site concentrations of one drug, and its infusion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Level {
    pub drug: Drug,
    pub plasma_ug_l: f64,
    pub effect_ug_l: f64,
    pub infusion_ug_kg_min: f64,
}

/// The drugs in a patient over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Pharmacology {
    pub weight_kg: f64,
    pub levels: Vec<Level>,
}

impl Pharmacology {
    #[must_use]
    pub fn new(weight_kg: f64) -> Self {
        Self {
            weight_kg,
            levels: Vec::new(),
        }
    }

    fn level(&mut self, drug: Drug) -> &mut Level {
        if let Some(i) = self.levels.iter().position(|l| l.drug == drug) {
            &mut self.levels[i]
        } else {
            self.levels.push(Level {
                drug,
                plasma_ug_l: 0.0,
                effect_ug_l: 0.0,
                infusion_ug_kg_min: 0.0,
            });
            self.levels.last_mut().expect("just pushed")
        }
    }

    /// Gives a dose (checked against the drug's range).
    ///
    /// # Errors
    /// The dose is out of range or the drug is not given that way.
    pub fn give(&mut self, drug: Drug, dose: Dose) -> Result<(), CardioError> {
        check_dose(drug, dose)?;
        let info = drug.info();
        let v = info.vd_l_kg * self.weight_kg;
        let l = self.level(drug);
        match dose {
            Dose::Infusion { rate_ug_kg_min } => l.infusion_ug_kg_min = rate_ug_kg_min,
            Dose::Bolus { dose_mg } => l.plasma_ug_l += dose_mg * 1000.0 / v,
        }
        Ok(())
    }

    /// Advances by `dt_min` minutes (exact for the plasma; the effect site
    /// follows the step's mean plasma level).
    pub fn advance(&mut self, dt_min: f64) {
        for l in &mut self.levels {
            let info = l.drug.info();
            let k = info.cl_l_kg_min / info.vd_l_kg;
            let c_ss = l.infusion_ug_kg_min / info.cl_l_kg_min;
            let c0 = l.plasma_ug_l;
            let a = (-k * dt_min).exp();
            let c1 = c_ss + (c0 - c_ss) * a;
            // Mean plasma level over the step (exact integral / dt).
            let mean = if k * dt_min > 1e-12 {
                c_ss + (c0 - c_ss) * (1.0 - a) / (k * dt_min)
            } else {
                0.5 * (c0 + c1)
            };
            let b = (-info.ke0_per_min * dt_min).exp();
            l.effect_ug_l = mean + (l.effect_ug_l - mean) * b;
            l.plasma_ug_l = c1;
        }
    }

    /// The combined effects now.
    #[must_use]
    pub fn effects(&self) -> DrugEffects {
        // Each effect now: Emax · Ce^n / (EC50^n + Ce^n).
        let effects = || {
            self.levels.iter().flat_map(|l| {
                let info = l.drug.info();
                let c = l.effect_ug_l.max(0.0);
                info.effects.iter().map(move |eff| {
                    let h = if c > 0.0 {
                        let x = (c / info.ec50(eff)).powf(eff.hill);
                        x / (1.0 + x)
                    } else {
                        0.0
                    };
                    (eff.target, eff.emax * h)
                })
            })
        };
        // β-blockade first: it scales the β-agonist effects of the others.
        let unblocked: f64 = effects()
            .filter(|(t, _)| *t == Target::BetaBlock)
            .map(|(_, v)| 1.0 - v.clamp(0.0, 1.0))
            .product();
        let mut e = DrugEffects {
            beta_block: 1.0 - unblocked,
            ..DrugEffects::default()
        };
        for (target, value) in effects() {
            match target {
                Target::Contractility => e.contractility *= 1.0 + unblocked * value,
                Target::HeartRate => e.heart_rate *= 1.0 + unblocked * value,
                Target::Resistance => e.resistance *= 1.0 + value,
                Target::VenousRecruited => e.venous_recruited_ml += value,
                Target::Urine => e.urine_ml_min += value,
                Target::BetaBlock => {}
            }
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_infusion_reaches_its_steady_state_with_the_half_life() {
        let mut p = Pharmacology::new(70.0);
        p.give(
            Drug::Esmolol,
            Dose::Infusion {
                rate_ug_kg_min: 100.0,
            },
        )
        .unwrap();
        let info = Drug::Esmolol.info();
        let c_ss = 100.0 / info.cl_l_kg_min;
        let t_half = info.half_life_min();
        assert!((t_half - 8.3).abs() < 1.0, "{t_half}");
        // In small steps up to one half-life: half the steady state.
        let n = 1000;
        for _ in 0..n {
            p.advance(t_half / f64::from(n));
        }
        let c = p.levels[0].plasma_ug_l;
        assert!((c / c_ss - 0.5).abs() < 1e-9, "{c} vs {c_ss}");
        // At steady state the blockade is half-maximal (D50 = 100).
        for _ in 0..400 {
            p.advance(1.0);
        }
        assert!((p.effects().beta_block - 0.5).abs() < 1e-6);
    }

    #[test]
    fn a_bolus_decays_and_the_effect_site_lags() {
        let mut p = Pharmacology::new(70.0);
        p.give(Drug::Phenylephrine, Dose::Bolus { dose_mg: 0.1 })
            .unwrap();
        let c0 = p.levels[0].plasma_ug_l;
        assert!((c0 - 100.0 / 15.0).abs() < 1e-9);
        assert!((p.effects().resistance - 1.0).abs() < 1e-12);
        p.advance(1.0);
        let e1 = p.effects().resistance;
        assert!(e1 > 1.0);
        for _ in 0..30 {
            p.advance(1.0);
        }
        assert!(p.effects().resistance < e1);
    }

    #[test]
    fn unknown_drugs_and_bad_doses_are_named() {
        let e = Drug::parse("vasopressin").unwrap_err().to_string();
        assert!(
            e.contains("vasopressin") && e.contains("norepinephrine"),
            "{e}"
        );
        assert_eq!(Drug::parse("Noradrenaline").unwrap(), Drug::Norepinephrine);
        let e = check_dose(
            Drug::Norepinephrine,
            Dose::Infusion {
                rate_ug_kg_min: 30.0,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("norepinephrine") && e.contains("30"), "{e}");
        let e = check_dose(Drug::Dobutamine, Dose::Bolus { dose_mg: 5.0 })
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("dobutamine") && e.contains("infusion only"),
            "{e}"
        );
        let e: Result<Drug, _> = serde_json::from_str("\"aspirin\"");
        assert!(e.unwrap_err().to_string().contains("aspirin"));
    }

    #[test]
    fn beta_blockade_blunts_the_beta_agonists() {
        let mut p = Pharmacology::new(70.0);
        p.give(
            Drug::Dobutamine,
            Dose::Infusion {
                rate_ug_kg_min: 5.0,
            },
        )
        .unwrap();
        for _ in 0..60 {
            p.advance(1.0);
        }
        let alone = p.effects();
        assert!((alone.contractility - 1.4).abs() < 0.01, "{alone:?}");
        p.give(
            Drug::Esmolol,
            Dose::Infusion {
                rate_ug_kg_min: 300.0,
            },
        )
        .unwrap();
        for _ in 0..120 {
            p.advance(1.0);
        }
        let both = p.effects();
        assert!(both.beta_block > 0.7);
        assert!(both.contractility < 1.15, "{both:?}");
        // Its vasodilation (β2 here, not blocked by a β1-selective drug) stays.
        assert!((both.resistance - alone.resistance).abs() < 1e-6);
    }
}
