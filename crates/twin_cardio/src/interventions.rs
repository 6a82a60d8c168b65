//! What-if interventions: typed, serialisable, composable changes to a
//! patient's parameters (and devices), applied in order.

use serde::{Deserialize, Serialize};

use crate::model::Extra;
use crate::params::{Parameters, Spread};
use crate::{CardioError, check_range as check};

/// One change to the circulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Intervention {
    /// Aortic valve narrowed to this effective orifice area.
    AorticStenosis { valve_area_cm2: f64 },
    /// Aortic valve leaking through this orifice when closed.
    AorticRegurgitation { orifice_area_cm2: f64 },
    /// Mitral valve leaking through this effective regurgitant orifice.
    MitralRegurgitation { orifice_area_cm2: f64 },
    /// Transcatheter aortic valve: a competent prosthesis with this
    /// effective orifice area.
    Tavr { eoa_cm2: f64 },
    /// Mitral repair: the mitral valve closes competently again.
    MitralRepair,
    /// Pacing at a fixed rate.
    Pacing { rate_bpm: f64 },
    /// Inotrope (e.g. dobutamine): both ventricles' contractility scaled.
    Inotrope { contractility_scale: f64 },
    /// Vasodilator (< 1) or vasopressor (> 1): systemic resistance scaled.
    Vasoactive { svr_scale: f64 },
    /// Fluid bolus (> 0) or haemorrhage (< 0), mL.
    Fluid { volume_ml: f64 },
    /// Beta-blocker: heart rate and contractility scaled.
    BetaBlocker {
        rate_scale: f64,
        contractility_scale: f64,
    },
    /// Continuous-flow LVAD from the LV apex to the aorta.
    Lvad { speed_rpm: f64 },
    /// The ventricles' electrical activation from an EP run (`twin_ep`):
    /// each ventricle's contraction spread over its walls' activation
    /// delays (bundle-branch block, pacing, CRT).
    Activation(Box<Dyssynchrony>),
}

/// Each ventricle's contraction spread over its walls' activation delays
/// (`Intervention::Activation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dyssynchrony {
    pub lv: Spread,
    pub rv: Spread,
}

impl Intervention {
    /// The activation spreads `lv`, `rv` as an intervention.
    #[must_use]
    pub fn activation(lv: Spread, rv: Spread) -> Self {
        Self::Activation(Box::new(Dyssynchrony { lv, rv }))
    }
}

/// In words, for panels and reports (e.g. `aortic stenosis, valve area 0.70 cm²`).
impl std::fmt::Display for Intervention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Self::AorticStenosis { valve_area_cm2 } => {
                write!(f, "aortic stenosis, valve area {valve_area_cm2:.2} cm²")
            }
            Self::AorticRegurgitation { orifice_area_cm2 } => {
                write!(f, "aortic regurgitation, orifice {orifice_area_cm2:.2} cm²")
            }
            Self::MitralRegurgitation { orifice_area_cm2 } => {
                write!(f, "mitral regurgitation, EROA {orifice_area_cm2:.2} cm²")
            }
            Self::Tavr { eoa_cm2 } => write!(f, "TAVR, EOA {eoa_cm2:.2} cm²"),
            Self::MitralRepair => f.write_str("mitral repair"),
            Self::Pacing { rate_bpm } => write!(f, "pacing at {rate_bpm:.0}/min"),
            Self::Inotrope {
                contractility_scale,
            } => write!(f, "inotrope, contractility ×{contractility_scale:.2}"),
            Self::Vasoactive { svr_scale } => write!(f, "vasoactive drug, SVR ×{svr_scale:.2}"),
            Self::Fluid { volume_ml } => write!(f, "fluid {volume_ml:+.0} mL"),
            Self::BetaBlocker {
                rate_scale,
                contractility_scale,
            } => write!(
                f,
                "beta-blocker, heart rate ×{rate_scale:.2}, contractility ×{contractility_scale:.2}"
            ),
            Self::Lvad { speed_rpm } => write!(f, "LVAD at {speed_rpm:.0} rpm"),
            Self::Activation(ref a) => write!(
                f,
                "activation from EP, mean delay LV {:.0} ms, RV {:.0} ms",
                a.lv.mean_ms(),
                a.rv.mean_ms()
            ),
        }
    }
}

/// A named list of interventions (a scenario file).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub interventions: Vec<Intervention>,
}

/// A HeartMate-3-like centrifugal pump: pressure head
/// `H = a·ω² − b·Q` (mmHg, ω in rpm, Q in L/min); flow falls to zero as the
/// LV collapses (suction, LV pressure below 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Lvad {
    pub speed_rpm: f64,
}

impl Lvad {
    /// Shut-off head at 5400 rpm (mmHg) and head loss per L/min: a linear
    /// fit to published HeartMate 3 H–Q curves (about 5 L/min against
    /// 80 mmHg at 5400 rpm).
    const HEAD_5400: f64 = 120.0;
    const SLOPE: f64 = 8.0;

    /// Pump flow (mL/s) for LV pressure `p_lv` and aortic pressure `p_ao`.
    #[must_use]
    pub fn flow(&self, p_lv: f64, p_ao: f64) -> f64 {
        let h0 = Self::HEAD_5400 * (self.speed_rpm / 5400.0).powi(2);
        let q_l_min = (h0 - (p_ao - p_lv)) / Self::SLOPE;
        let suction = (1.0 + p_lv / 5.0).clamp(0.0, 1.0);
        q_l_min * 1000.0 / 60.0 * suction
    }
}

impl Extra for Lvad {
    fn active(&self) -> bool {
        true
    }

    fn lvad_flow(&self, p_lv: f64, p_ao: f64) -> f64 {
        self.flow(p_lv, p_ao)
    }
}

impl Intervention {
    /// Applies the change; `lvad` receives a device.
    pub fn apply(&self, p: &mut Parameters, lvad: &mut Option<Lvad>) -> Result<(), CardioError> {
        match *self {
            Self::AorticStenosis { valve_area_cm2 } => {
                check(
                    "aortic_stenosis.valve_area_cm2",
                    valve_area_cm2,
                    0.2,
                    4.0,
                    "cm²",
                )?;
                p.aortic.area_open = valve_area_cm2;
            }
            Self::AorticRegurgitation { orifice_area_cm2 } => {
                check(
                    "aortic_regurgitation.orifice_area_cm2",
                    orifice_area_cm2,
                    1e-4,
                    1.0,
                    "cm²",
                )?;
                p.aortic.area_closed = orifice_area_cm2;
            }
            Self::MitralRegurgitation { orifice_area_cm2 } => {
                check(
                    "mitral_regurgitation.orifice_area_cm2",
                    orifice_area_cm2,
                    1e-4,
                    1.0,
                    "cm²",
                )?;
                p.mitral.area_closed = orifice_area_cm2;
            }
            Self::Tavr { eoa_cm2 } => {
                check("tavr.eoa_cm2", eoa_cm2, 0.8, 3.5, "cm²")?;
                p.aortic.area_open = eoa_cm2;
                p.aortic.area_closed = Parameters::default().aortic.area_closed;
            }
            Self::MitralRepair => {
                p.mitral.area_closed = Parameters::default().mitral.area_closed;
            }
            Self::Pacing { rate_bpm } => {
                check("pacing.rate_bpm", rate_bpm, 30.0, 180.0, "1/min")?;
                p.heart_rate_bpm = rate_bpm;
            }
            Self::Inotrope {
                contractility_scale,
            } => {
                check(
                    "inotrope.contractility_scale",
                    contractility_scale,
                    0.2,
                    3.0,
                    "×",
                )?;
                p.lv.ea *= contractility_scale;
                p.rv.ea *= contractility_scale;
            }
            Self::Vasoactive { svr_scale } => {
                check("vasoactive.svr_scale", svr_scale, 0.2, 4.0, "×")?;
                p.ar_sys.r *= svr_scale;
            }
            Self::Fluid { volume_ml } => {
                check("fluid.volume_ml", volume_ml, -2000.0, 3000.0, "mL")?;
                p.blood_volume_ml += volume_ml;
            }
            Self::BetaBlocker {
                rate_scale,
                contractility_scale,
            } => {
                check("beta_blocker.rate_scale", rate_scale, 0.4, 1.0, "×")?;
                check(
                    "beta_blocker.contractility_scale",
                    contractility_scale,
                    0.4,
                    1.0,
                    "×",
                )?;
                p.heart_rate_bpm *= rate_scale;
                p.lv.ea *= contractility_scale;
                p.rv.ea *= contractility_scale;
            }
            Self::Lvad { speed_rpm } => {
                check("lvad.speed_rpm", speed_rpm, 3000.0, 9000.0, "rpm")?;
                *lvad = Some(Lvad { speed_rpm });
            }
            Self::Activation(ref a) => {
                a.lv.validate("activation.lv")?;
                a.rv.validate("activation.rv")?;
                p.lv.spread = a.lv;
                p.rv.spread = a.rv;
            }
        }
        Ok(())
    }
}

impl Scenario {
    /// The parameters and device after every intervention, in order.
    pub fn apply(&self, base: &Parameters) -> Result<(Parameters, Option<Lvad>), CardioError> {
        let mut p = base.clone();
        let mut lvad = None;
        for i in &self.interventions {
            i.apply(&mut p, &mut lvad)?;
        }
        p.validate()?;
        Ok((p, lvad))
    }

    /// The scenario applied to `base` and simulated to periodic steady
    /// state (from `start`, or the default initial state), its LVAD (if
    /// any) pumping.
    ///
    /// # Errors
    /// An intervention is out of range, or the simulation fails.
    pub fn simulate(
        &self,
        base: &Parameters,
        start: Option<&crate::model::State>,
        options: crate::simulate::SimOptions,
        progress: &twin_core::Progress,
    ) -> Result<crate::simulate::Simulation, CardioError> {
        let (p, lvad) = self.apply(base)?;
        let extra: &dyn Extra = match &lvad {
            Some(l) => l,
            None => &crate::model::NoExtra,
        };
        crate::simulate::simulate_with(&p, extra, start, options, progress)
    }
}

#[cfg(test)]
mod tests {
    use twin_core::Progress;

    use super::*;
    use crate::beat::BeatIndices;
    use crate::simulate::SimOptions;

    fn run(interventions: Vec<Intervention>) -> BeatIndices {
        run_with(interventions, SimOptions::default())
    }

    fn run_with(interventions: Vec<Intervention>, options: SimOptions) -> BeatIndices {
        let scenario = Scenario {
            name: "test".into(),
            description: String::new(),
            interventions,
        };
        scenario
            .simulate(&Parameters::default(), None, options, &Progress::new())
            .unwrap()
            .last()
            .clone()
    }

    #[test]
    fn a_dyssynchronous_activation_lowers_stroke_work_and_bad_spreads_are_named() {
        // The LV's wall activated evenly over 0–150 ms (LBBB-like), the RV
        // over 0–60 ms, against the synchronous baseline.
        let lv = Spread::from_delays(
            &(0..=15)
                .map(|k| (f64::from(k) * 10.0, 1.0))
                .collect::<Vec<_>>(),
            10.0,
        )
        .unwrap();
        let rv = Spread::from_delays(
            &(0..=6)
                .map(|k| (f64::from(k) * 10.0, 1.0))
                .collect::<Vec<_>>(),
            10.0,
        )
        .unwrap();
        let base = run(vec![]);
        let late = run(vec![Intervention::activation(lv, rv)]);
        assert!(
            late.stroke_work_mmhg_ml < base.stroke_work_mmhg_ml,
            "{} vs {}",
            late.stroke_work_mmhg_ml,
            base.stroke_work_mmhg_ml
        );
        let text = Intervention::activation(lv, rv).to_string();
        assert!(
            text.contains("LV 75 ms") && text.contains("RV 30 ms"),
            "{text}"
        );
        // Round trip through JSON, and a spread whose shares do not sum to
        // one is refused naming the chamber.
        let json = serde_json::to_string(&Intervention::activation(lv, rv)).unwrap();
        let back: Intervention = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Intervention::activation(lv, rv));
        let mut bad = lv;
        bad.weights[3] += 0.5;
        let err = Intervention::activation(bad, rv)
            .apply(&mut Parameters::default(), &mut None)
            .unwrap_err();
        assert!(err.to_string().contains("activation.lv"), "{err}");
    }

    #[test]
    fn valve_indices_converge_at_the_default_tolerance() {
        // Gradients, regurgitant fractions and forward stroke volume at the
        // default tolerance against rtol 1e-8: within 2 % + 0.5 (mmHg, %, mL).
        let mut fine = SimOptions::default();
        fine.tolerance.rtol = 1e-8;
        fine.tolerance.atol = 1e-7;
        for (what, scenario) in [
            (
                "AS",
                vec![Intervention::AorticStenosis {
                    valve_area_cm2: 0.7,
                }],
            ),
            (
                "TAVR",
                vec![
                    Intervention::AorticStenosis {
                        valve_area_cm2: 0.7,
                    },
                    Intervention::Tavr { eoa_cm2: 1.7 },
                ],
            ),
            (
                "MR",
                vec![Intervention::MitralRegurgitation {
                    orifice_area_cm2: 0.4,
                }],
            ),
        ] {
            let a = run_with(scenario.clone(), SimOptions::default());
            let b = run_with(scenario, fine);
            for (name, x, y) in [
                (
                    "mean AV gradient",
                    a.aortic.mean_gradient_mmhg,
                    b.aortic.mean_gradient_mmhg,
                ),
                (
                    "peak AV gradient",
                    a.aortic.peak_gradient_mmhg,
                    b.aortic.peak_gradient_mmhg,
                ),
                (
                    "MR fraction",
                    a.mitral.regurgitant_fraction_percent,
                    b.mitral.regurgitant_fraction_percent,
                ),
                ("forward SV", a.forward_sv_ml, b.forward_sv_ml),
            ] {
                eprintln!("{what} {name}: {x:.3} vs {y:.3}");
                assert!(
                    (x - y).abs() < 0.02 * y.abs() + 0.5,
                    "{what} {name}: {x} vs {y}"
                );
            }
        }
    }

    #[test]
    fn aortic_stenosis_and_tavr() {
        let base = run(vec![]);
        let severe = run(vec![Intervention::AorticStenosis {
            valve_area_cm2: 0.7,
        }]);
        let tavr = run(vec![
            Intervention::AorticStenosis {
                valve_area_cm2: 0.7,
            },
            Intervention::Tavr { eoa_cm2: 1.7 },
        ]);
        eprintln!(
            "AS: mean gradient {:.1} (peak {:.1}) mmHg, LV peak {:.1} vs {:.1}; TAVR {:.1} mmHg",
            severe.aortic.mean_gradient_mmhg,
            severe.aortic.peak_gradient_mmhg,
            severe.lv_peak_pressure_mmhg,
            base.lv_peak_pressure_mmhg,
            tavr.aortic.mean_gradient_mmhg
        );
        assert!(severe.aortic.mean_gradient_mmhg >= 40.0);
        assert!(severe.lv_peak_pressure_mmhg > base.lv_peak_pressure_mmhg + 20.0);
        // Target ≤ 20 mmHg (PARTNER: 9.9 ± 4.8).
        assert!(tavr.aortic.mean_gradient_mmhg <= 20.0);
        assert!(tavr.aortic.mean_gradient_mmhg < 0.5 * severe.aortic.mean_gradient_mmhg);
        assert!(base.aortic.mean_gradient_mmhg < 10.0);
    }

    #[test]
    fn doubling_svr_raises_pressures() {
        // Smith et al. 2004 (Med. Eng. Phys. 26:131–139, abstract): doubling
        // the systemic resistance of their minimal model took the blood
        // pressure from 120/80 to 165/130 mmHg (no reflexes, as here).
        const SMITH_BEFORE: (f64, f64) = (120.0, 80.0);
        const SMITH_AFTER: (f64, f64) = (165.0, 130.0);
        let base = run(vec![]);
        let high = run(vec![Intervention::Vasoactive { svr_scale: 2.0 }]);
        let rise = (high.sbp_mmhg - base.sbp_mmhg, high.dbp_mmhg - base.dbp_mmhg);
        let smith = (
            SMITH_AFTER.0 - SMITH_BEFORE.0,
            SMITH_AFTER.1 - SMITH_BEFORE.1,
        );
        eprintln!(
            "SVR×2: {:.0}/{:.0} → {:.0}/{:.0} mmHg (+{:.0}/+{:.0}; Smith et al. +{:.0}/+{:.0}), \
             CO {:.2} → {:.2}",
            base.sbp_mmhg,
            base.dbp_mmhg,
            high.sbp_mmhg,
            high.dbp_mmhg,
            rise.0,
            rise.1,
            smith.0,
            smith.1,
            base.cardiac_output_l_min,
            high.cardiac_output_l_min
        );
        // Both pressures rise strongly, diastolic at least as much as
        // systolic (the pulse pressure does not widen), as in their model;
        // the rises lie within 1.5× of theirs.
        assert!(rise.0 > 0.5 * smith.0 && rise.0 < 1.5 * smith.0, "{rise:?}");
        assert!(rise.1 > 0.5 * smith.1 && rise.1 < 1.5 * smith.1, "{rise:?}");
        assert!(rise.1 >= rise.0 - 5.0, "{rise:?}");
    }

    #[test]
    fn drugs_and_fluids_move_the_indices_the_right_way() {
        let base = run(vec![]);
        let ino = run(vec![Intervention::Inotrope {
            contractility_scale: 1.5,
        }]);
        assert!(ino.lv_ef_percent > base.lv_ef_percent);
        assert!(ino.cardiac_output_l_min > base.cardiac_output_l_min);
        let bb = run(vec![Intervention::BetaBlocker {
            rate_scale: 0.8,
            contractility_scale: 0.8,
        }]);
        let drop = 1.0 - bb.cardiac_output_l_min / base.cardiac_output_l_min;
        eprintln!("beta-blocker: CO −{:.1} %", 100.0 * drop);
        assert!(bb.heart_rate_bpm < base.heart_rate_bpm);
        assert!((0.05..=0.20).contains(&drop), "{drop}");
        let bolus = run(vec![Intervention::Fluid { volume_ml: 500.0 }]);
        assert!(bolus.lv_edv_ml > base.lv_edv_ml);
        let bleed = run(vec![Intervention::Fluid { volume_ml: -800.0 }]);
        assert!(bleed.sbp_mmhg < base.sbp_mmhg);
    }

    #[test]
    fn mitral_regurgitation_grows_with_the_orifice() {
        let base = run(vec![]);
        let mild = run(vec![Intervention::MitralRegurgitation {
            orifice_area_cm2: 0.1,
        }]);
        let severe = run(vec![Intervention::MitralRegurgitation {
            orifice_area_cm2: 0.4,
        }]);
        eprintln!(
            "MR: RF {:.1} % (0.1 cm²), {:.1} % (0.4 cm²); forward SV {:.1} → {:.1} → {:.1} mL",
            mild.mitral.regurgitant_fraction_percent,
            severe.mitral.regurgitant_fraction_percent,
            base.forward_sv_ml,
            mild.forward_sv_ml,
            severe.forward_sv_ml
        );
        assert!(
            severe.mitral.regurgitant_fraction_percent > mild.mitral.regurgitant_fraction_percent
        );
        assert!(
            mild.mitral.regurgitant_fraction_percent > base.mitral.regurgitant_fraction_percent
        );
        assert!(
            severe.forward_sv_ml < mild.forward_sv_ml && mild.forward_sv_ml < base.forward_sv_ml
        );
        let repaired = run(vec![
            Intervention::MitralRegurgitation {
                orifice_area_cm2: 0.4,
            },
            Intervention::MitralRepair,
        ]);
        assert!(repaired.mitral.regurgitant_fraction_percent < 1.0);
    }

    #[test]
    fn lvad_flow_rises_with_speed_and_the_aortic_valve_opens_less() {
        // A failing heart (contractility down to 30 %) with the pump.
        let failing = Intervention::Inotrope {
            contractility_scale: 0.3,
        };
        let mut last_flow = 0.0;
        let mut last_av = f64::INFINITY;
        for rpm in [4500.0, 5400.0, 6300.0] {
            let b = run(vec![failing.clone(), Intervention::Lvad { speed_rpm: rpm }]);
            let flow = b.device_ml * b.heart_rate_bpm / 1000.0;
            eprintln!(
                "LVAD {rpm} rpm: pump {flow:.2} L/min, aortic valve {:.1} mL/beat, MAP {:.0}",
                b.aortic.forward_ml, b.map_mmhg
            );
            assert!(flow > last_flow);
            assert!(b.aortic.forward_ml <= last_av);
            last_flow = flow;
            last_av = b.aortic.forward_ml;
        }
        let typical = run(vec![failing, Intervention::Lvad { speed_rpm: 5400.0 }]);
        let flow = typical.device_ml * typical.heart_rate_bpm / 1000.0;
        assert!((3.0..=6.0).contains(&flow), "{flow}");
    }

    #[test]
    fn scenarios_round_trip_through_json_and_bad_values_are_named() {
        let s = Scenario {
            name: "severe AS".into(),
            description: "AVA 0.7 cm²".into(),
            interventions: vec![
                Intervention::AorticStenosis {
                    valve_area_cm2: 0.7,
                },
                Intervention::Lvad { speed_rpm: 5400.0 },
            ],
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"kind\":\"aortic_stenosis\""), "{text}");
        let back: Scenario = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
        let bad = Scenario {
            interventions: vec![Intervention::Pacing { rate_bpm: 400.0 }],
            ..Scenario::default()
        };
        let e = bad.apply(&Parameters::default()).unwrap_err().to_string();
        assert!(e.contains("pacing.rate_bpm"), "{e}");
        assert!(
            serde_json::from_str::<Scenario>(r#"{"name":"x","interventions":[{"kind":"magic"}]}"#)
                .is_err()
        );
    }
}
