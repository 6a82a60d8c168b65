//! What-ifs over time: a timeline of events (haemorrhage, fluids, head-up
//! tilt, pacing, LVAD speed, valve interventions) and drugs, simulated beat
//! by beat with the autonomic reflexes ([`crate::reflex`]) and drug PK/PD
//! ([`crate::drugs`]) acting between beats.
//!
//! Each beat runs with the parameters of its start: the patient's (with the
//! interventions so far), scaled by the reflexes and the drugs; its heart
//! period is the reflex's. Volume changes (bleeding, infusion, urine,
//! venous recruitment, pooling on tilt) enter the systemic veins at the
//! start of each beat. The reflexes advance along every accepted solver
//! step. The run keeps each beat's starting state and parameters, so the
//! waveforms of any beat are recomputed on demand ([`TimelineRun::waveforms_at`]).
//!
//! Head-up tilt: `POOLED_AT_90_ML` of blood pools in the dependent veins
//! (first order, `POOLING_TAU_S`) and the carotid sinus sits
//! `CAROTID_HEIGHT_CM` above the heart, both × sin(angle).

use serde::{Deserialize, Serialize};
use twin_core::Progress;

use crate::beat::{BeatIndices, BeatRecorder, Waveforms};
use crate::drugs::{Dose, Drug, Pharmacology};
use crate::interventions::{Intervention, Lvad};
use crate::model::{Extra, NoExtra, State, blood_volume, chamber_pressure, device_flow, idx};
use crate::params::Parameters;
use crate::reflex::{Reflex, ReflexParams};
use crate::simulate::{SimOptions, simulate_with};
use crate::solver::{Integrator, Tolerance};
use crate::{CardioError, check_range};

/// Blood pooled below the heart on standing (mL at 90°): 500–800 mL
/// (Rowell, Human Cardiovascular Control, 1993; Sjöstrand 1953).
pub const POOLED_AT_90_ML: f64 = 600.0;
/// Time constant of the pooling (s): most of it within a minute.
pub const POOLING_TAU_S: f64 = 20.0;
/// Height of the carotid sinus above the aortic root (cm).
pub const CAROTID_HEIGHT_CM: f64 = 20.0;
/// Hydrostatic pressure of blood per cm (ρ g: 1.06 g/cm³ × 980.7 cm/s²),
/// mmHg/cm.
pub const MMHG_PER_CM: f64 = 1.06 * 980.665 / 1333.22;
/// The longest timeline (min).
pub const MAX_DURATION_MIN: f64 = 720.0;

/// One thing that happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// Blood loss of `volume_ml` spread over `over_min` (0: at once).
    Haemorrhage { volume_ml: f64, over_min: f64 },
    /// Fluid (crystalloid or blood, kept intravascular) of `volume_ml` over
    /// `over_min`.
    Fluid { volume_ml: f64, over_min: f64 },
    /// Head-up tilt to `angle_deg` (0: supine).
    Tilt { angle_deg: f64 },
    /// Fixed-rate pacing.
    Pacing { rate_bpm: f64 },
    /// Pacing stops; the sinus node (and reflex) set the rate again.
    PacingOff,
    /// LVAD speed (0: off).
    LvadSpeed { speed_rpm: f64 },
    /// Any of the steady-state interventions (valves, repair, …), from now on.
    Intervention { intervention: Intervention },
    /// A drug infusion at a rate (0 stops it).
    Infusion { drug: Drug, rate_ug_kg_min: f64 },
    /// A drug bolus.
    Bolus { drug: Drug, dose_mg: f64 },
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Haemorrhage {
                volume_ml,
                over_min,
            } => {
                write!(f, "haemorrhage {volume_ml:.0} mL over {over_min:.0} min")
            }
            Self::Fluid {
                volume_ml,
                over_min,
            } => {
                write!(f, "fluid {volume_ml:.0} mL over {over_min:.0} min")
            }
            Self::Tilt { angle_deg } => write!(f, "tilt to {angle_deg:.0}°"),
            Self::Pacing { rate_bpm } => write!(f, "pacing at {rate_bpm:.0}/min"),
            Self::PacingOff => f.write_str("pacing off"),
            Self::LvadSpeed { speed_rpm } if *speed_rpm == 0.0 => f.write_str("LVAD off"),
            Self::LvadSpeed { speed_rpm } => write!(f, "LVAD at {speed_rpm:.0} rpm"),
            Self::Intervention { intervention } => write!(f, "{intervention}"),
            Self::Infusion {
                drug,
                rate_ug_kg_min,
            } if *rate_ug_kg_min == 0.0 => write!(f, "{drug} stopped"),
            Self::Infusion {
                drug,
                rate_ug_kg_min,
            } => write!(f, "{drug} {rate_ug_kg_min} µg/kg/min"),
            Self::Bolus { drug, dose_mg } => write!(f, "{drug} bolus {dose_mg} mg"),
        }
    }
}

/// An event at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedEvent {
    pub at_min: f64,
    #[serde(flatten)]
    pub event: Event,
}

fn yes() -> bool {
    true
}

fn seventy() -> f64 {
    70.0
}

/// A scenario over time (a timeline file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeline {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub duration_min: f64,
    /// Autonomic reflexes on (the default for what-ifs over time).
    #[serde(default = "yes")]
    pub reflex: bool,
    #[serde(default = "seventy")]
    pub weight_kg: f64,
    /// The patient (default: the healthy default).
    #[serde(default)]
    pub parameters: Option<Parameters>,
    /// The patient's condition from the start (e.g. a valve lesion); the
    /// reflexes are at their set point with it.
    #[serde(default)]
    pub baseline: Vec<Intervention>,
    #[serde(default)]
    pub events: Vec<TimedEvent>,
}

/// One beat of the trend.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrendPoint {
    /// Start of the beat (min).
    pub t_min: f64,
    pub heart_rate_bpm: f64,
    pub sbp_mmhg: f64,
    pub dbp_mmhg: f64,
    pub map_mmhg: f64,
    pub pulse_pressure_mmhg: f64,
    pub cardiac_output_l_min: f64,
    pub stroke_volume_ml: f64,
    pub lv_edv_ml: f64,
    pub lv_esv_ml: f64,
    pub lv_ef_percent: f64,
    pub lvedp_mmhg: f64,
    pub mean_la_mmhg: f64,
    pub mean_ra_mmhg: f64,
    pub pa_mean_mmhg: f64,
    /// Blood gained (+) or lost (−) since the start: bleeding, fluids, urine (mL).
    pub blood_volume_change_ml: f64,
    /// Sympathetic and vagal efferent firing (spikes/s).
    pub sympathetic_hz: f64,
    pub vagal_hz: f64,
    /// Systemic resistance and LV contractility relative to the start.
    pub resistance_ratio: f64,
    pub contractility_ratio: f64,
    pub lvad_l_min: f64,
}

/// Where a beat started, to recompute its waveforms.
#[derive(Debug, Clone)]
struct BeatStart {
    t_s: f64,
    y: State,
    p: Parameters,
    lvad: Option<Lvad>,
}

/// Plasma level of a drug at a beat.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DrugSample {
    pub t_min: f64,
    pub drug: Drug,
    pub plasma_ug_l: f64,
    pub effect_ug_l: f64,
}

/// A timeline's result.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineRun {
    pub name: String,
    pub reflex: bool,
    pub trend: Vec<TrendPoint>,
    /// Drug levels, one sample per drug per beat while it is present.
    pub drugs: Vec<DrugSample>,
    /// The events, in words, at their times (min).
    pub events: Vec<(f64, String)>,
    /// The resting state before the first event.
    pub rest: BeatIndices,
    /// Accepted solver steps over the timeline.
    pub steps: usize,
    #[serde(skip)]
    starts: Vec<BeatStart>,
}

fn extra_of(lvad: Option<&Lvad>) -> &dyn Extra {
    match lvad {
        Some(l) => l,
        None => &NoExtra,
    }
}

impl Timeline {
    /// Reads a timeline file (JSON, at most `twin_core::limits::MAX_JSON_FILE`
    /// bytes); [`Timeline::run`] validates it.
    ///
    /// # Errors
    /// The file cannot be read or is not a timeline (the reason, without
    /// the path: the caller names the file).
    pub fn read(path: &std::path::Path) -> Result<Self, CardioError> {
        let text =
            twin_core::limits::read_text(path, twin_core::limits::MAX_JSON_FILE, "timeline file")
                .map_err(|e| CardioError::Targets(format!("cannot read it: {e}")))?;
        serde_json::from_str(&text).map_err(|e| CardioError::Targets(e.to_string()))
    }

    /// A timeline of `events` (at minutes) over `duration_min` for the
    /// healthy default, 70 kg, reflexes on.
    #[must_use]
    pub fn new(name: &str, duration_min: f64, events: Vec<(f64, Event)>) -> Self {
        Self {
            name: name.to_owned(),
            description: String::new(),
            duration_min,
            reflex: true,
            weight_kg: 70.0,
            parameters: None,
            baseline: Vec::new(),
            events: events
                .into_iter()
                .map(|(at_min, event)| TimedEvent { at_min, event })
                .collect(),
        }
    }

    /// Checks every field, naming the event and field at fault.
    ///
    /// # Errors
    /// The first value out of range.
    pub fn validate(&self) -> Result<(), CardioError> {
        check_range(
            "duration_min",
            self.duration_min,
            0.1,
            MAX_DURATION_MIN,
            "min",
        )?;
        check_range("weight_kg", self.weight_kg, 30.0, 250.0, "kg")?;
        if let Some(p) = &self.parameters {
            p.validate()?;
        }
        for (i, e) in self.events.iter().enumerate() {
            let at = |r: Result<(), CardioError>| {
                r.map_err(|err| {
                    CardioError::Targets(format!("event {} ({}): {err}", i + 1, e.event))
                })
            };
            at(check_range(
                "at_min",
                e.at_min,
                0.0,
                self.duration_min,
                "min",
            ))?;
            match &e.event {
                Event::Haemorrhage {
                    volume_ml,
                    over_min,
                } => {
                    at(check_range("volume_ml", *volume_ml, 0.0, 3500.0, "mL"))?;
                    at(check_range("over_min", *over_min, 0.0, 600.0, "min"))?;
                }
                Event::Fluid {
                    volume_ml,
                    over_min,
                } => {
                    at(check_range("volume_ml", *volume_ml, 0.0, 5000.0, "mL"))?;
                    at(check_range("over_min", *over_min, 0.0, 600.0, "min"))?;
                }
                Event::Tilt { angle_deg } => {
                    at(check_range("angle_deg", *angle_deg, -10.0, 90.0, "°"))?;
                }
                Event::Pacing { rate_bpm } => {
                    at(check_range("rate_bpm", *rate_bpm, 30.0, 180.0, "1/min"))?;
                }
                Event::LvadSpeed { speed_rpm } => {
                    if *speed_rpm != 0.0 {
                        at(check_range(
                            "speed_rpm",
                            *speed_rpm,
                            3000.0,
                            9000.0,
                            "rpm (0: off)",
                        ))?;
                    }
                }
                Event::Intervention { intervention } => {
                    let mut p = Parameters::default();
                    at(intervention.apply(&mut p, &mut None))?;
                }
                Event::Infusion {
                    drug,
                    rate_ug_kg_min,
                } => at(crate::drugs::check_dose(
                    *drug,
                    Dose::Infusion {
                        rate_ug_kg_min: *rate_ug_kg_min,
                    },
                ))?,
                Event::Bolus { drug, dose_mg } => at(crate::drugs::check_dose(
                    *drug,
                    Dose::Bolus { dose_mg: *dose_mg },
                ))?,
                Event::PacingOff => {}
            }
        }
        Ok(())
    }

    /// Simulates the timeline beat by beat.
    ///
    /// # Errors
    /// A field out of range, the circulation emptied (more blood lost than
    /// the stressed volume), a solver failure, or cancellation.
    #[allow(
        clippy::too_many_lines,
        reason = "one beat loop: events, effectors, volumes, the beat, the trend"
    )]
    pub fn run(&self, progress: &Progress) -> Result<TimelineRun, CardioError> {
        self.validate()?;
        let mut patient = self.parameters.clone().unwrap_or_default();
        let mut lvad: Option<Lvad> = None;
        for i in &self.baseline {
            i.apply(&mut patient, &mut lvad)?;
        }
        patient.validate()?;
        let options = SimOptions::default();
        let rest = simulate_with(&patient, extra_of(lvad.as_ref()), None, options, progress)?;
        let rest_beat = rest.last().clone();
        let mut reflex = Reflex::at_rest(
            ReflexParams::default(),
            rest_beat.map_mmhg,
            rest_beat.mean_ra_mmhg,
        );
        let tol = Tolerance::default();
        let mut y = rest.state;
        let mut integ = Integrator::new(&patient, extra_of(lvad.as_ref()), 0.0, y, tol);
        // Settle the reflex's filters on the pulsatile resting beat (open
        // loop, 30 s), then take where they stand as the set point.
        if self.reflex {
            let period = patient.period();
            for _ in 0..(30.0 / period).ceil() as usize {
                progress.check_cancelled()?;
                integ.restart(&patient, extra_of(lvad.as_ref()), 0.0, y);
                let mut t_prev = 0.0;
                integ.advance(&patient, extra_of(lvad.as_ref()), period, |t, s| {
                    let ra = chamber_pressure(&patient.ra, s[idx::V_RA], t, period);
                    reflex.step(t - t_prev, s[idx::P_AR_SYS], ra);
                    t_prev = t;
                })?;
                y = integ.y;
            }
            reflex.reset_reference();
        }

        let mut events: Vec<&TimedEvent> = self.events.iter().collect();
        events.sort_by(|a, b| a.at_min.total_cmp(&b.at_min));
        let mut next_event = 0;
        let end_s = self.duration_min * 60.0;
        let mut pharm = Pharmacology::new(self.weight_kg);
        // External volume flows: (start s, end s, mL/s, counted up to s).
        let mut flows: Vec<(f64, f64, f64, f64)> = Vec::new();
        let mut paced: Option<f64> = None;
        let mut tilt_deg = 0.0_f64;
        let mut pooled = 0.0;
        let mut shift_applied = 0.0;
        let mut volume_change = 0.0;
        let mut pending_volume = 0.0;
        let mut run = TimelineRun {
            name: self.name.clone(),
            reflex: self.reflex,
            trend: Vec::new(),
            drugs: Vec::new(),
            events: events
                .iter()
                .map(|e| (e.at_min, e.event.to_string()))
                .collect(),
            rest: rest_beat,
            steps: 0,
            starts: Vec::new(),
        };
        let estimate = (end_s / patient.period()).ceil() as u64;
        progress.begin("Beats of the timeline", estimate);
        let mut t = 0.0;
        while t < end_s - 1e-9 {
            progress.check_cancelled()?;
            while next_event < events.len() && events[next_event].at_min * 60.0 <= t + 1e-9 {
                let e = events[next_event];
                next_event += 1;
                let at = e.at_min * 60.0;
                match &e.event {
                    Event::Haemorrhage {
                        volume_ml,
                        over_min,
                    }
                    | Event::Fluid {
                        volume_ml,
                        over_min,
                    } => {
                        let sign = if matches!(e.event, Event::Haemorrhage { .. }) {
                            -1.0
                        } else {
                            1.0
                        };
                        if *over_min <= 0.0 {
                            pending_volume += sign * volume_ml;
                        } else {
                            let dur = over_min * 60.0;
                            flows.push((at, at + dur, sign * volume_ml / dur, at));
                        }
                    }
                    Event::Tilt { angle_deg } => tilt_deg = *angle_deg,
                    Event::Pacing { rate_bpm } => paced = Some(*rate_bpm),
                    Event::PacingOff => paced = None,
                    Event::LvadSpeed { speed_rpm } => {
                        lvad = (*speed_rpm > 0.0).then_some(Lvad {
                            speed_rpm: *speed_rpm,
                        });
                    }
                    Event::Intervention { intervention } => match intervention {
                        Intervention::Pacing { rate_bpm } => paced = Some(*rate_bpm),
                        Intervention::Fluid { volume_ml } => pending_volume += volume_ml,
                        other => {
                            other.apply(&mut patient, &mut lvad)?;
                            patient.validate()?;
                        }
                    },
                    Event::Infusion {
                        drug,
                        rate_ug_kg_min,
                    } => pharm.give(
                        *drug,
                        Dose::Infusion {
                            rate_ug_kg_min: *rate_ug_kg_min,
                        },
                    )?,
                    Event::Bolus { drug, dose_mg } => {
                        pharm.give(*drug, Dose::Bolus { dose_mg: *dose_mg })?;
                    }
                }
            }
            // This beat's parameters.
            let de = pharm.effects();
            let re = reflex.effects(de.beta_block);
            let mut p = patient.clone();
            let hr = match paced {
                Some(r) => r,
                None => 60.0 / (patient.period() + re.period_shift_s).max(0.2) * de.heart_rate,
            };
            p.heart_rate_bpm = hr.clamp(30.0, 220.0);
            let period = p.period();
            let contractility = re.lv_contractility * de.contractility;
            p.lv.ea *= contractility;
            p.rv.ea *= re.rv_contractility * de.contractility;
            p.ar_sys.r *= re.resistance * de.resistance;
            // Volumes entering (or leaving) the circulation over this beat.
            let b1 = t + period;
            let mut external = pending_volume - de.urine_ml_min * period / 60.0;
            for (s, e, rate, done) in &mut flows {
                external += *rate * (b1.min(*e) - done.max(*s)).max(0.0);
                *done = b1;
            }
            pending_volume = 0.0;
            flows.retain(|&(_, e, _, _)| e > b1);
            let angle = tilt_deg.to_radians().sin().max(0.0);
            pooled += (POOLED_AT_90_ML * angle - pooled) * (1.0 - (-period / POOLING_TAU_S).exp());
            let shift = re.venous_recruited_ml + de.venous_recruited_ml - pooled;
            volume_change += external;
            y[idx::P_VEN_SYS] += (external + shift - shift_applied) / p.ven_sys.c;
            shift_applied = shift;
            if y[idx::P_VEN_SYS] < 0.0 {
                return Err(CardioError::Emptied {
                    t_min: t / 60.0,
                    lost_ml: -volume_change,
                });
            }
            p.blood_volume_ml = blood_volume(&p, &y).clamp(2000.0, 9000.0);
            let carotid = CAROTID_HEIGHT_CM * MMHG_PER_CM * angle;

            run.starts.push(BeatStart {
                t_s: t,
                y,
                p: p.clone(),
                lvad,
            });
            let extra = extra_of(lvad.as_ref());
            integ.restart(&p, extra, 0.0, y);
            let device = |ts: f64, s: &State| device_flow(&p, extra, ts, s);
            let mut rec = BeatRecorder::new(0.0, &y, device(0.0, &y));
            let mut t_prev = 0.0;
            let steps_before = integ.accepted;
            integ.advance(&p, extra, period, |ts, s| {
                rec.push(ts, s, device(ts, s));
                if self.reflex {
                    let ra = chamber_pressure(&p.ra, s[idx::V_RA], ts, period);
                    reflex.step(ts - t_prev, s[idx::P_AR_SYS] - carotid, ra);
                    t_prev = ts;
                }
            })?;
            run.steps += integ.accepted - steps_before;
            pharm.advance(period / 60.0);
            y = integ.y;
            let (b, _) = rec.finish(&p);
            let t_min = t / 60.0;
            for l in &pharm.levels {
                if l.plasma_ug_l > 1e-6 || l.infusion_ug_kg_min > 0.0 {
                    run.drugs.push(DrugSample {
                        t_min,
                        drug: l.drug,
                        plasma_ug_l: l.plasma_ug_l,
                        effect_ug_l: l.effect_ug_l,
                    });
                }
            }
            run.trend.push(TrendPoint {
                t_min,
                heart_rate_bpm: b.heart_rate_bpm,
                sbp_mmhg: b.sbp_mmhg,
                dbp_mmhg: b.dbp_mmhg,
                map_mmhg: b.map_mmhg,
                pulse_pressure_mmhg: b.sbp_mmhg - b.dbp_mmhg,
                cardiac_output_l_min: b.cardiac_output_l_min,
                stroke_volume_ml: b.forward_sv_ml,
                lv_edv_ml: b.lv_edv_ml,
                lv_esv_ml: b.lv_esv_ml,
                lv_ef_percent: b.lv_ef_percent,
                lvedp_mmhg: b.lvedp_mmhg,
                mean_la_mmhg: b.mean_la_mmhg,
                mean_ra_mmhg: b.mean_ra_mmhg,
                pa_mean_mmhg: b.pa_mean_mmhg,
                blood_volume_change_ml: volume_change,
                sympathetic_hz: reflex.activity.f_es,
                vagal_hz: reflex.activity.f_ev,
                resistance_ratio: re.resistance * de.resistance,
                contractility_ratio: contractility,
                lvad_l_min: b.device_ml * b.heart_rate_bpm / 1000.0,
            });
            progress.advance(1);
            t += period;
        }
        Ok(run)
    }
}

impl TimelineRun {
    /// Beats simulated (one trend row each).
    #[must_use]
    pub fn beats(&self) -> usize {
        self.trend.len()
    }

    /// The beat running at `t_min` (the last one before it).
    #[must_use]
    pub fn beat_at(&self, t_min: f64) -> Option<usize> {
        let t = t_min * 60.0;
        let i = self.starts.partition_point(|s| s.t_s <= t);
        (i > 0).then(|| i - 1)
    }

    /// The waveforms of the beat running at `t_min`, recomputed from its
    /// starting state.
    ///
    /// # Errors
    /// The solver fails (it did not during the run, so only on a changed
    /// build).
    pub fn waveforms_at(&self, t_min: f64) -> Result<Option<Waveforms>, CardioError> {
        let Some(i) = self.beat_at(t_min) else {
            return Ok(None);
        };
        let s = &self.starts[i];
        let extra = extra_of(s.lvad.as_ref());
        let period = s.p.period();
        let mut integ = Integrator::new(&s.p, extra, 0.0, s.y, Tolerance::default());
        let mut rec = BeatRecorder::new(0.0, &s.y, device_flow(&s.p, extra, 0.0, &s.y));
        integ.advance(&s.p, extra, period, |t, y| {
            rec.push(t, y, device_flow(&s.p, extra, t, y));
        })?;
        Ok(Some(rec.finish(&s.p).1))
    }

    /// The trend as CSV (one row per beat).
    #[must_use]
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "t_min,heart_rate_bpm,sbp_mmhg,dbp_mmhg,map_mmhg,pulse_pressure_mmhg,cardiac_output_l_min,stroke_volume_ml,lv_edv_ml,lv_esv_ml,lv_ef_percent,lvedp_mmhg,mean_la_mmhg,mean_ra_mmhg,pa_mean_mmhg,blood_volume_change_ml,sympathetic_hz,vagal_hz,resistance_ratio,contractility_ratio,lvad_l_min\n",
        );
        for p in &self.trend {
            let row = [
                p.t_min,
                p.heart_rate_bpm,
                p.sbp_mmhg,
                p.dbp_mmhg,
                p.map_mmhg,
                p.pulse_pressure_mmhg,
                p.cardiac_output_l_min,
                p.stroke_volume_ml,
                p.lv_edv_ml,
                p.lv_esv_ml,
                p.lv_ef_percent,
                p.lvedp_mmhg,
                p.mean_la_mmhg,
                p.mean_ra_mmhg,
                p.pa_mean_mmhg,
                p.blood_volume_change_ml,
                p.sympathetic_hz,
                p.vagal_hz,
                p.resistance_ratio,
                p.contractility_ratio,
                p.lvad_l_min,
            ];
            let cells: Vec<String> = row.iter().map(|v| format!("{v:.4}")).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// The mean of a trend value over `[from_min, to_min)` (beats starting
    /// there), or `None` when no beat starts there.
    #[must_use]
    pub fn mean(&self, from_min: f64, to_min: f64, f: impl Fn(&TrendPoint) -> f64) -> Option<f64> {
        let v: Vec<f64> = self
            .trend
            .iter()
            .filter(|p| p.t_min >= from_min && p.t_min < to_min)
            .map(f)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drugs::Drug;

    fn run(minutes: f64, reflex: bool, events: Vec<(f64, Event)>) -> TimelineRun {
        Timeline {
            reflex,
            ..Timeline::new("test", minutes, events)
        }
        .run(&Progress::new())
        .unwrap()
    }

    fn at(r: &TimelineRun, from: f64, to: f64, f: fn(&TrendPoint) -> f64) -> f64 {
        r.mean(from, to, f).unwrap()
    }

    #[test]
    fn at_rest_with_the_reflex_on_nothing_moves() {
        let r = run(3.0, true, Vec::new());
        let first = &r.trend[0];
        let last = r.trend.last().unwrap();
        assert!(
            (last.heart_rate_bpm - first.heart_rate_bpm).abs() < 0.5,
            "{last:?}"
        );
        assert!((last.map_mmhg - first.map_mmhg).abs() < 0.5);
        assert!((first.map_mmhg - r.rest.map_mmhg).abs() < 0.5);
    }

    #[test]
    fn blood_loss_speeds_the_heart_and_narrows_the_pulse_pressure_before_the_mean_falls() {
        let bleed = vec![(
            0.5,
            Event::Haemorrhage {
                volume_ml: 1000.0,
                over_min: 5.0,
            },
        )];
        let on = run(8.0, true, bleed.clone());
        let off = run(8.0, false, bleed);
        let hr0 = at(&on, 0.0, 0.5, |p| p.heart_rate_bpm);
        let pp0 = at(&on, 0.0, 0.5, |p| p.pulse_pressure_mmhg);
        let map0 = at(&on, 0.0, 0.5, |p| p.map_mmhg);
        // Early (the first 300 mL): the pulse pressure narrows relatively
        // more than the mean pressure falls, and the heart speeds up.
        let pp1 = at(&on, 2.0, 2.5, |p| p.pulse_pressure_mmhg);
        let map1 = at(&on, 2.0, 2.5, |p| p.map_mmhg);
        assert!(at(&on, 2.0, 2.5, |p| p.heart_rate_bpm) > hr0 + 1.0);
        assert!(1.0 - pp1 / pp0 > 1.5 * (1.0 - map1 / map0), "{pp1} {map1}");
        // At the end the reflex has held the pressure better than without it.
        let map_on = at(&on, 7.0, 8.0, |p| p.map_mmhg);
        let map_off = at(&off, 7.0, 8.0, |p| p.map_mmhg);
        assert!(map_on > map_off + 3.0, "{map_on} vs {map_off}");
        assert!(at(&on, 7.0, 8.0, |p| p.heart_rate_bpm) > hr0 + 5.0);
        assert!((at(&off, 7.0, 8.0, |p| p.heart_rate_bpm) - hr0).abs() < 0.1);
        let lost = on.trend.last().unwrap().blood_volume_change_ml;
        assert!((lost + 1000.0).abs() < 1.0, "{lost}");
    }

    #[test]
    fn a_vasoconstrictor_slows_the_heart_and_a_vasodilator_speeds_it() {
        let pe = run(
            6.0,
            true,
            vec![(
                0.5,
                Event::Infusion {
                    drug: Drug::Phenylephrine,
                    rate_ug_kg_min: 1.0,
                },
            )],
        );
        let snp = run(
            6.0,
            true,
            vec![(
                0.5,
                Event::Infusion {
                    drug: Drug::Nitroprusside,
                    rate_ug_kg_min: 1.0,
                },
            )],
        );
        let hr = |p: &TrendPoint| p.heart_rate_bpm;
        let map = |p: &TrendPoint| p.map_mmhg;
        assert!(at(&pe, 5.0, 6.0, map) > at(&pe, 0.0, 0.5, map) + 5.0);
        assert!(at(&pe, 5.0, 6.0, hr) < at(&pe, 0.0, 0.5, hr) - 2.0);
        assert!(at(&snp, 5.0, 6.0, map) < at(&snp, 0.0, 0.5, map) - 5.0);
        assert!(at(&snp, 5.0, 6.0, hr) > at(&snp, 0.0, 0.5, hr) + 2.0);
    }

    #[test]
    fn reduced_contractility_lowers_output_and_raises_filling_pressures() {
        let r = run(
            4.0,
            true,
            vec![(
                0.5,
                Event::Intervention {
                    intervention: Intervention::Inotrope {
                        contractility_scale: 0.5,
                    },
                },
            )],
        );
        let before = &r.trend[0];
        let after = r.trend.last().unwrap();
        assert!(after.cardiac_output_l_min < before.cardiac_output_l_min - 0.2);
        assert!(after.lvedp_mmhg > before.lvedp_mmhg + 1.0);
        assert!(after.mean_la_mmhg > before.mean_la_mmhg + 1.0);
        // The reflex answers the lower pressure with a faster heart.
        assert!(after.heart_rate_bpm > before.heart_rate_bpm);
    }

    #[test]
    fn waveforms_are_recomputed_for_any_beat() {
        let r = run(
            2.0,
            true,
            vec![(0.5, Event::LvadSpeed { speed_rpm: 6000.0 })],
        );
        let w = r.waveforms_at(1.5).unwrap().unwrap();
        let i = r.beat_at(1.5).unwrap();
        let sbp = w.p_ao.iter().copied().fold(f64::MIN, f64::max);
        assert!(
            (sbp - r.trend[i].sbp_mmhg).abs() < 0.5,
            "{sbp} vs {}",
            r.trend[i].sbp_mmhg
        );
        assert!(r.waveforms_at(-1.0).unwrap().is_none());
        let csv = r.to_csv();
        assert_eq!(csv.lines().count(), r.trend.len() + 1);
    }

    #[test]
    fn bad_timelines_are_refused_naming_the_event_and_field() {
        let t: Timeline = serde_json::from_str(
            r#"{"name":"x","duration_min":10,"events":[{"at_min":1,"kind":"haemorrhage","volume_ml":9000,"over_min":5}]}"#,
        )
        .unwrap();
        let e = t.validate().unwrap_err().to_string();
        assert!(
            e.contains("event 1") && e.contains("volume_ml") && e.contains("9000"),
            "{e}"
        );
        let e = serde_json::from_str::<Timeline>(
            r#"{"name":"x","duration_min":10,"events":[{"at_min":1,"kind":"infusion","drug":"unobtainium","rate_ug_kg_min":1}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unobtainium"), "{e}");
        let t: Timeline = serde_json::from_str(
            r#"{"name":"x","duration_min":10,"events":[{"at_min":1,"kind":"infusion","drug":"esmolol","rate_ug_kg_min":5000}]}"#,
        )
        .unwrap();
        let e = t.validate().unwrap_err().to_string();
        assert!(e.contains("esmolol") && e.contains("5000"), "{e}");
        let t: Timeline = serde_json::from_str(r#"{"name":"x","duration_min":100000}"#).unwrap();
        assert!(
            t.validate()
                .unwrap_err()
                .to_string()
                .contains("duration_min")
        );
        // Losing more than the circulation holds is an error, not a crash.
        let t: Timeline = serde_json::from_str(
            r#"{"name":"x","duration_min":10,"reflex":false,"parameters":PARAMS,"events":[{"at_min":1,"kind":"haemorrhage","volume_ml":3000,"over_min":0}]}"#.replace("PARAMS", &serde_json::to_string(&Parameters { blood_volume_ml: 2000.0, ..Parameters::default() }).unwrap()).as_str(),
        )
        .unwrap();
        let e = t.run(&Progress::new()).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("emptied") || e.contains("solver"), "{e}");
    }
}
