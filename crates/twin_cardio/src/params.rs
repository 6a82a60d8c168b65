//! Parameters of the circulation, with units, plausible ranges and sources.
//!
//! Units throughout: mL, mmHg, s (resistances mmHg·s/mL, compliances
//! mL/mmHg, inertances mmHg·s²/mL, elastances mmHg/mL); valve areas in cm².
//!
//! Healthy default: chambers and vessels of Regazzoni et al. 2022 ("A cardiac
//! electromechanical model coupled with a lumped-parameter model for
//! closed-loop blood circulation", J Comput Phys) as the open-source
//! `circulation` package (ComputationalPhysiology) sets them by default, at
//! 75 bpm with the contraction timings scaled from its reference 1-s beat
//! (Bazett); valves after Mynard et al. 2012 (Int J Numer Meth Biomed Eng
//! 28:626), with typical adult orifice areas.

use serde::{Deserialize, Serialize};

use crate::CardioError;

/// A time-varying-elastance chamber: `p = (EB + EA·φ(t)) (V − V0)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Chamber {
    /// Active elastance amplitude (mmHg/mL).
    pub ea: f64,
    /// Passive elastance (mmHg/mL).
    pub eb: f64,
    /// Unstressed volume (mL).
    pub v0: f64,
    /// Onset of contraction in the reference 1-s beat (s).
    pub t_contract: f64,
    /// Contraction duration in the reference beat (s).
    pub d_contract: f64,
    /// Relaxation duration in the reference beat (s).
    pub d_relax: f64,
    /// How the wall's activation is spread in time (dyssynchrony, from an
    /// activation map); synchronous unless set.
    #[serde(default, skip_serializing_if = "Spread::is_synchronous")]
    pub spread: Spread,
}

/// Number of delay bins of a [`Spread`].
pub const SPREAD_BINS: usize = 32;

/// The share of a chamber's wall activated at each delay: `weights[k]`
/// of the wall starts its contraction `k·bin_ms` after the chamber's
/// onset, and the chamber's activation is the weighted sum of the delayed
/// activation curves (elastance as the volume-weighted sum of its
/// regions').
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Width of a delay bin (ms).
    pub bin_ms: f64,
    /// Shares of the wall per bin, summing to 1.
    pub weights: [f64; SPREAD_BINS],
}

impl Default for Spread {
    fn default() -> Self {
        let mut weights = [0.0; SPREAD_BINS];
        weights[0] = 1.0;
        Self {
            bin_ms: 10.0,
            weights,
        }
    }
}

impl Spread {
    /// The whole wall at once.
    #[must_use]
    pub fn is_synchronous(&self) -> bool {
        // Exactly the default: every other bin empty.
        self.weights[1..].iter().all(|w| *w == 0.0)
    }

    /// The spread of walls activated at `delays_ms` (each with its
    /// weight, e.g. its volume) in bins of `bin_ms`: each delay shared
    /// between its two nearest bins, so that the mean delay is kept.
    ///
    /// # Errors
    /// No positive weight, a delay or weight that is not finite or is
    /// negative, a bin that is not positive, or delays beyond the last bin.
    pub fn from_delays(delays_ms: &[(f64, f64)], bin_ms: f64) -> Result<Self, CardioError> {
        if !(bin_ms.is_finite() && bin_ms > 0.0) {
            return Err(CardioError::Spread(format!(
                "activation spread: bin width must be positive ms, got {bin_ms}"
            )));
        }
        let mut weights = [0.0; SPREAD_BINS];
        let mut total = 0.0;
        let last = (SPREAD_BINS - 1) as f64 * bin_ms;
        for &(d, w) in delays_ms {
            if !(d.is_finite() && w.is_finite() && d >= 0.0 && w >= 0.0) {
                return Err(CardioError::Spread(format!(
                    "activation spread: delay {d} ms with weight {w} is not a non-negative number"
                )));
            }
            if d > last {
                return Err(CardioError::Spread(format!(
                    "activation spread: a delay of {d:.0} ms is beyond the {last:.0} ms the spread covers"
                )));
            }
            let x = d / bin_ms;
            let k = (x.floor() as usize).min(SPREAD_BINS - 2);
            let f = x - k as f64;
            weights[k] += w * (1.0 - f);
            weights[k + 1] += w * f;
            total += w;
        }
        if total <= 0.0 {
            return Err(CardioError::Spread(
                "activation spread: no wall to activate (weights sum to zero)".into(),
            ));
        }
        for v in &mut weights {
            *v /= total;
        }
        Ok(Self { bin_ms, weights })
    }

    /// `Ok` when the shares are non-negative and sum to 1 and the bins
    /// are positive; the error names the chamber.
    ///
    /// # Errors
    /// As said.
    pub fn validate(&self, chamber: &str) -> Result<(), CardioError> {
        let sum: f64 = self.weights.iter().sum();
        if !(self.bin_ms.is_finite() && self.bin_ms > 0.0 && self.bin_ms <= 50.0)
            || self.weights.iter().any(|w| !(w.is_finite() && *w >= 0.0))
            || (sum - 1.0).abs() > 1e-6
        {
            return Err(CardioError::Spread(format!(
                "{chamber}.spread: bins of {} ms with shares summing to {sum} (shares must be ≥ 0 and sum to 1, bins 0–50 ms)",
                self.bin_ms
            )));
        }
        Ok(())
    }

    /// The mean delay (ms).
    #[must_use]
    pub fn mean_ms(&self) -> f64 {
        self.weights
            .iter()
            .enumerate()
            .map(|(k, w)| k as f64 * self.bin_ms * w)
            .sum()
    }
}

/// A valve after Mynard et al. 2012: `Δp = B(ζ)·Q|Q| + L(ζ)·dQ/dt` with
/// `A(ζ) = A_closed + ζ (A_open − A_closed)`, `B = ρ / (2A²)`,
/// `L = ρ ℓ / A`, and the opening state ζ driven by the pressure difference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Valve {
    /// Effective orifice area when fully open (cm²).
    pub area_open: f64,
    /// Effective area when closed (cm²): a regurgitant orifice; a tiny
    /// leak (1e-4 cm²) stands for a competent valve.
    pub area_closed: f64,
    /// Effective inertial length (cm).
    pub length: f64,
    /// Opening rate coefficient (1/(mmHg·s)).
    pub k_open: f64,
    /// Closing rate coefficient (1/(mmHg·s)).
    pub k_close: f64,
}

/// An R–L–C vessel compartment: a compliance feeding a resistance and an
/// inertance in series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Vessel {
    /// mmHg·s/mL.
    pub r: f64,
    /// mL/mmHg.
    pub c: f64,
    /// mmHg·s²/mL.
    pub l: f64,
}

/// Everything that defines a patient's circulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameters {
    pub heart_rate_bpm: f64,
    pub la: Chamber,
    pub lv: Chamber,
    pub ra: Chamber,
    pub rv: Chamber,
    pub ar_sys: Vessel,
    pub ven_sys: Vessel,
    pub ar_pul: Vessel,
    pub ven_pul: Vessel,
    pub mitral: Valve,
    pub aortic: Valve,
    pub tricuspid: Valve,
    pub pulmonary: Valve,
    /// Circulating blood volume (mL): chamber volumes plus vessel volumes
    /// `C·p` (the vessel compartments of this model have no unstressed
    /// volume). The initial state distributes it; the model conserves it.
    pub blood_volume_ml: f64,
    /// Blood density (g/cm³).
    pub blood_density: f64,
}

/// One line of the parameter table (docs/models/cardio.md is generated
/// from the same list by `twin cardio params`).
#[derive(Debug, Clone, Serialize)]
pub struct ParameterInfo {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
    pub lo: f64,
    pub hi: f64,
    pub source: &'static str,
}

const REGAZZONI: &str =
    "Regazzoni et al. 2022, as the defaults of the open-source `circulation` package";
const MYNARD: &str = "typical adult orifice areas; dynamics after Mynard et al. 2012";
const ASSUMED: &str = "assumed (Mynard et al. 2012 form): valves open/close within a few ms";

fn mynard_valve(area_open: f64, length: f64, k_open: f64, k_close: f64) -> Valve {
    Valve {
        area_open,
        area_closed: 1e-4,
        length,
        k_open,
        k_close,
    }
}

impl Default for Parameters {
    fn default() -> Self {
        // Opening/closing rates of a few tens per mmHg·s: valves open or
        // close within a few milliseconds at the usual pressure differences.
        Self {
            heart_rate_bpm: 75.0,
            la: Chamber {
                ea: 0.07,
                eb: 0.09,
                v0: 4.0,
                t_contract: 0.8,
                d_contract: 0.17,
                d_relax: 0.17,
                spread: Spread::default(),
            },
            lv: Chamber {
                ea: 2.75,
                eb: 0.08,
                v0: 5.0,
                t_contract: 0.0,
                d_contract: 0.42,
                d_relax: 0.20,
                spread: Spread::default(),
            },
            ra: Chamber {
                ea: 0.06,
                eb: 0.07,
                v0: 4.0,
                t_contract: 0.8,
                d_contract: 0.17,
                d_relax: 0.17,
                spread: Spread::default(),
            },
            rv: Chamber {
                ea: 0.55,
                eb: 0.05,
                v0: 10.0,
                t_contract: 0.0,
                d_contract: 0.42,
                d_relax: 0.20,
                spread: Spread::default(),
            },
            ar_sys: Vessel {
                r: 0.8,
                c: 1.2,
                l: 5e-3,
            },
            ven_sys: Vessel {
                r: 0.26,
                c: 130.0,
                l: 5e-4,
            },
            ar_pul: Vessel {
                r: 0.06,
                c: 10.0,
                l: 5e-4,
            },
            ven_pul: Vessel {
                r: 0.03,
                c: 16.0,
                l: 5e-4,
            },
            mitral: mynard_valve(5.0, 1.0, 27.0, 53.0),
            aortic: mynard_valve(4.0, 1.0, 27.0, 53.0),
            tricuspid: mynard_valve(6.0, 1.0, 27.0, 53.0),
            pulmonary: mynard_valve(4.0, 1.0, 27.0, 53.0),
            blood_volume_ml: 4400.0,
            blood_density: 1.06,
        }
    }
}

impl Parameters {
    /// Length of one beat (s).
    #[must_use]
    pub fn period(&self) -> f64 {
        60.0 / self.heart_rate_bpm
    }

    /// The parameter table: value, unit, plausible range and source.
    #[must_use]
    pub fn table(&self) -> Vec<ParameterInfo> {
        let mut t = vec![ParameterInfo {
            name: "heart_rate_bpm",
            value: self.heart_rate_bpm,
            unit: "1/min",
            lo: 25.0,
            hi: 220.0,
            source: "75 bpm resting default",
        }];
        let chambers = [
            ("la", &self.la, (0.01, 1.0), (0.01, 1.0), (0.0, 50.0)),
            ("lv", &self.lv, (0.2, 12.0), (0.01, 1.0), (0.0, 80.0)),
            ("ra", &self.ra, (0.01, 1.0), (0.01, 1.0), (0.0, 50.0)),
            ("rv", &self.rv, (0.05, 5.0), (0.005, 1.0), (0.0, 80.0)),
        ];
        let names: [[&'static str; 3]; 4] = [
            ["la.ea", "la.eb", "la.v0"],
            ["lv.ea", "lv.eb", "lv.v0"],
            ["ra.ea", "ra.eb", "ra.v0"],
            ["rv.ea", "rv.eb", "rv.v0"],
        ];
        for ((_, c, ea, eb, v0), n) in chambers.into_iter().zip(names) {
            t.push(info(n[0], c.ea, "mmHg/mL", ea, REGAZZONI));
            t.push(info(n[1], c.eb, "mmHg/mL", eb, REGAZZONI));
            t.push(info(n[2], c.v0, "mL", v0, REGAZZONI));
        }
        let vessels: [(&'static str, &'static str, &'static str, &Vessel); 4] = [
            ("ar_sys.r", "ar_sys.c", "ar_sys.l", &self.ar_sys),
            ("ven_sys.r", "ven_sys.c", "ven_sys.l", &self.ven_sys),
            ("ar_pul.r", "ar_pul.c", "ar_pul.l", &self.ar_pul),
            ("ven_pul.r", "ven_pul.c", "ven_pul.l", &self.ven_pul),
        ];
        for (r, c, l, v) in vessels {
            t.push(info(r, v.r, "mmHg·s/mL", (0.005, 10.0), REGAZZONI));
            t.push(info(c, v.c, "mL/mmHg", (0.1, 1000.0), REGAZZONI));
            t.push(info(l, v.l, "mmHg·s²/mL", (1e-5, 0.1), REGAZZONI));
        }
        let valves: [(&'static str, &'static str, &Valve); 4] = [
            ("mitral.area_open", "mitral.area_closed", &self.mitral),
            ("aortic.area_open", "aortic.area_closed", &self.aortic),
            (
                "tricuspid.area_open",
                "tricuspid.area_closed",
                &self.tricuspid,
            ),
            (
                "pulmonary.area_open",
                "pulmonary.area_closed",
                &self.pulmonary,
            ),
        ];
        for (open, closed, v) in valves {
            t.push(info(open, v.area_open, "cm²", (0.1, 12.0), MYNARD));
            t.push(info(closed, v.area_closed, "cm²", (0.0, 3.0), MYNARD));
        }
        let dynamics: [(&'static str, &'static str, &'static str, &Valve); 4] = [
            (
                "mitral.length",
                "mitral.k_open",
                "mitral.k_close",
                &self.mitral,
            ),
            (
                "aortic.length",
                "aortic.k_open",
                "aortic.k_close",
                &self.aortic,
            ),
            (
                "tricuspid.length",
                "tricuspid.k_open",
                "tricuspid.k_close",
                &self.tricuspid,
            ),
            (
                "pulmonary.length",
                "pulmonary.k_open",
                "pulmonary.k_close",
                &self.pulmonary,
            ),
        ];
        for (length, open, close, v) in dynamics {
            t.push(info(length, v.length, "cm", (0.1, 5.0), ASSUMED));
            t.push(info(open, v.k_open, "1/(mmHg·s)", (1.0, 500.0), ASSUMED));
            t.push(info(close, v.k_close, "1/(mmHg·s)", (1.0, 500.0), ASSUMED));
        }
        let timings: [(&'static str, &'static str, &'static str, &Chamber); 4] = [
            ("la.t_contract", "la.d_contract", "la.d_relax", &self.la),
            ("lv.t_contract", "lv.d_contract", "lv.d_relax", &self.lv),
            ("ra.t_contract", "ra.d_contract", "ra.d_relax", &self.ra),
            ("rv.t_contract", "rv.d_contract", "rv.d_relax", &self.rv),
        ];
        for (onset, contract, relax, c) in timings {
            t.push(info(
                onset,
                c.t_contract,
                "s (of a 1-s beat)",
                (0.0, 0.99),
                REGAZZONI,
            ));
            t.push(info(
                contract,
                c.d_contract,
                "s (of a 1-s beat)",
                (0.05, 0.6),
                REGAZZONI,
            ));
            t.push(info(
                relax,
                c.d_relax,
                "s (of a 1-s beat)",
                (0.05, 0.6),
                REGAZZONI,
            ));
        }
        t.push(info(
            "blood_density",
            self.blood_density,
            "g/cm³",
            (1.0, 1.1),
            "whole blood",
        ));
        t.push(info(
            "blood_volume_ml",
            self.blood_volume_ml,
            "mL",
            (2000.0, 9000.0),
            "chosen so the default gives resting volumes and 120/80 mmHg (a 70-kg adult has about 5 L)",
        ));
        // Where the default departs from the published set, and why.
        for row in &mut t {
            row.source = match row.name {
                "lv.d_contract" | "lv.d_relax" | "rv.d_contract" | "rv.d_relax" => {
                    "adjusted from Regazzoni's 0.34/0.17 s for a 0.27-s ejection at 75 bpm (0.22 s before)"
                }
                "ar_pul.r" | "ven_pul.r" => {
                    "adjusted from Regazzoni's 0.1625 each: PVR 1.5 Wood units (5.4 before, PA 41/35 mmHg)"
                }
                _ => row.source,
            };
        }
        t
    }

    /// Checks every value against its range and the valves' consistency.
    pub fn validate(&self) -> Result<(), CardioError> {
        for p in self.table() {
            if !(p.value >= p.lo && p.value <= p.hi) {
                return Err(CardioError::OutOfRange {
                    name: p.name,
                    value: p.value,
                    lo: p.lo,
                    hi: p.hi,
                    unit: p.unit,
                });
            }
        }
        for (name, v) in [
            ("mitral.area_closed", &self.mitral),
            ("aortic.area_closed", &self.aortic),
            ("tricuspid.area_closed", &self.tricuspid),
            ("pulmonary.area_closed", &self.pulmonary),
        ] {
            if v.area_closed >= v.area_open || v.area_closed <= 0.0 {
                return Err(CardioError::OutOfRange {
                    name,
                    value: v.area_closed,
                    lo: 1e-6,
                    hi: v.area_open,
                    unit: "cm² (below the open area)",
                });
            }
        }
        for (name, c) in [
            ("la", &self.la),
            ("lv", &self.lv),
            ("ra", &self.ra),
            ("rv", &self.rv),
        ] {
            c.spread.validate(name)?;
        }
        Ok(())
    }
}

fn info(
    name: &'static str,
    value: f64,
    unit: &'static str,
    (lo, hi): (f64, f64),
    source: &'static str,
) -> ParameterInfo {
    ParameterInfo {
        name,
        value,
        unit,
        lo,
        hi,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bad_values_are_named() {
        Parameters::default().validate().unwrap();
        let p = Parameters {
            heart_rate_bpm: 400.0,
            ..Parameters::default()
        };
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("heart_rate_bpm") && e.contains("400"), "{e}");
        let mut p = Parameters::default();
        p.aortic.area_closed = 5.0;
        assert!(p.validate().unwrap_err().to_string().contains("aortic"));
    }
}

#[cfg(test)]
mod spread_tests {
    use super::*;
    use crate::model::activation;

    #[test]
    fn a_spread_keeps_its_mean_and_delays_the_curve() {
        let s = Spread::from_delays(&[(0.0, 1.0), (25.0, 1.0), (100.0, 2.0)], 10.0).unwrap();
        assert!((s.mean_ms() - (0.0 + 25.0 + 200.0) / 4.0).abs() < 1e-9);
        assert!((s.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        s.validate("lv").unwrap();
        // All the wall 50 ms late: the same curve 50 ms later.
        let p = Parameters::default();
        let mut late = p.lv;
        late.spread = Spread::from_delays(&[(50.0, 1.0)], 10.0).unwrap();
        for i in 0..100 {
            let t = f64::from(i) * 0.008;
            assert!((activation(&late, t + 0.05, 0.8) - activation(&p.lv, t, 0.8)).abs() < 1e-12);
        }
        // Spread over 150 ms: a lower, broader curve.
        let mut wide = p.lv;
        let delays: Vec<(f64, f64)> = (0..=15).map(|k| (f64::from(k) * 10.0, 1.0)).collect();
        wide.spread = Spread::from_delays(&delays, 10.0).unwrap();
        let peak = |c: &Chamber| {
            (0..800)
                .map(|i| activation(c, f64::from(i) * 0.001, 0.8))
                .fold(0.0, f64::max)
        };
        assert!(peak(&wide) < 0.95 * peak(&p.lv));
    }

    #[test]
    fn bad_spreads_are_named() {
        assert!(
            Spread::from_delays(&[(400.0, 1.0)], 10.0)
                .unwrap_err()
                .to_string()
                .contains("400")
        );
        assert!(Spread::from_delays(&[(10.0, -1.0)], 10.0).is_err());
        assert!(Spread::from_delays(&[], 10.0).is_err());
        let mut p = Parameters::default();
        p.rv.spread.weights[3] = 0.5;
        assert!(p.validate().unwrap_err().to_string().contains("rv.spread"));
        // Documents without a spread read as synchronous, and a
        // synchronous spread is not written.
        let text = serde_json::to_string(&Parameters::default()).unwrap();
        assert!(!text.contains("spread"));
        let back: Parameters = serde_json::from_str(&text).unwrap();
        assert!(back.lv.spread.is_synchronous());
    }
}
