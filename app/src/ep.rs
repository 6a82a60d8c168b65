//! The EP workspace: the demo heart's ventricles activated under the
//! pane's rhythm as a background job (`twin_session::ep`), shown against
//! sinus rhythm — the numbers, the pseudo-ECG and the coupled PV loops.

use std::sync::Arc;

use bevy::prelude::*;
use twin_cardio::{Parameters, Waveforms};
use twin_core::jobs::Priority;
use twin_ep::ecg::{Ecg, Electrodes, LeadField, Template, ecg};
use twin_ep::heart::{Activation, Block, Heart, Lead, Rhythm, Tissue};
use twin_session::ep::EpResult;
use twin_session::jobs::Job;
use twin_ui::ep::{EpAction, EpRhythm, EpRun, EpUi};

use crate::Args;
use crate::session::Session;

pub struct EpPlugin;

impl Plugin for EpPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Ep>()
            .add_message::<EpAsk>()
            .add_systems(Startup, start)
            .add_systems(Update, (asks, poll).in_set(crate::Feature::Cardio));
    }
}

/// Work for the EP pane.
#[derive(Message, Debug, Clone)]
pub enum EpAsk {
    Pane(EpAction),
}

enum Msg {
    Done(Arc<Heart>, Vec<EpRun>),
    Failed(String),
}

/// The demo heart (built by the first run) and the running job.
#[derive(Resource, Default)]
pub struct Ep {
    heart: Option<Arc<Heart>>,
    job: Option<Job<Msg>>,
}

/// The demo heart's mesh size (mm).
const MESH_MM: f64 = 1.5;
/// The ECG leads the pane draws.
const LEADS: [&str; 4] = ["I", "II", "V1", "V6"];

/// `--ep RHYTHM` runs a rhythm at start.
fn start(args: Res<Args>, mut ep: ResMut<Ep>, mut s: ResMut<Session>) {
    let Some(r) = args.ep.as_deref() else {
        return;
    };
    s.ep.rhythm = match r {
        "lbbb" => EpRhythm::Lbbb,
        "lv" => EpRhythm::LvPacing,
        "crt" => EpRhythm::Crt,
        _ => EpRhythm::Sinus,
    };
    ep.run(&mut s.ep);
}

fn asks(mut reader: MessageReader<EpAsk>, mut ep: ResMut<Ep>, mut s: ResMut<Session>) {
    for ask in reader.read() {
        match ask {
            EpAsk::Pane(EpAction::Run) => ep.run(&mut s.ep),
        }
    }
}

fn poll(mut ep: ResMut<Ep>, mut s: ResMut<Session>) {
    while let Some(msg) = ep.job.as_ref().and_then(|j| j.try_recv().ok()) {
        let v = &mut s.ep;
        v.busy = false;
        match msg {
            Msg::Done(heart, runs) => {
                v.status = format!(
                    "demo heart: {} nodes, {} tetrahedra at {MESH_MM} mm",
                    heart.mesh.nodes.len(),
                    heart.mesh.tets.len()
                );
                v.runs = runs;
                ep.heart = Some(heart);
            }
            Msg::Failed(e) => v.status = format!("failed: {e}"),
        }
        ep.job = None;
    }
}

impl Ep {
    fn run(&mut self, v: &mut EpUi) {
        if self.job.is_some() {
            return;
        }
        v.busy = true;
        v.status = "activating the ventricles…".into();
        let heart = self.heart.clone();
        let ui = v.clone();
        self.job = Some(Job::once(
            "ep",
            "activating the ventricles",
            Priority::Interactive,
            move |progress| match compute(heart, &ui, progress) {
                Ok((h, runs)) => Msg::Done(h, runs),
                Err(e) => Msg::Failed(e.to_string()),
            },
        ));
    }
}

/// The pane's rhythm on the heart (built when not yet), with its LV
/// lead's position.
fn rhythm(heart: &Heart, ui: &EpUi) -> Option<(Rhythm, Option<[f64; 3]>)> {
    let lv = heart.site(true, false, ui.lv_z, ui.lv_theta_deg)?;
    let lead = |name: &str, position: [f64; 3], delay_ms: f64| Lead {
        name: name.into(),
        position,
        delay_ms,
    };
    Some(match ui.rhythm {
        EpRhythm::Sinus => (Rhythm::sinus(), None),
        EpRhythm::Lbbb => (Rhythm::blocked(Block::Lbbb), None),
        EpRhythm::LvPacing => (
            Rhythm {
                leads: vec![lead("LV", lv, 0.0)],
                ..Rhythm::blocked(Block::Lbbb)
            },
            Some(lv),
        ),
        EpRhythm::Crt => {
            let rv = heart.site(false, true, 0.85, 0.0)?;
            (
                Rhythm {
                    block: Block::Lbbb,
                    intrinsic_ms: None,
                    leads: vec![lead("RV", rv, 0.0), lead("LV", lv, ui.vv_delay_ms)],
                },
                Some(lv),
            )
        }
    })
}

fn compute(
    heart: Option<Arc<Heart>>,
    ui: &EpUi,
    progress: &twin_core::Progress,
) -> Result<(Arc<Heart>, Vec<EpRun>), twin_session::SessionError> {
    let heart = match heart {
        Some(h) => h,
        None => Arc::new(twin_session::ep::demo_heart(MESH_MM)?),
    };
    let field = LeadField::new(&heart.mesh, &Electrodes::around(heart.coords.centre))?;
    let params = Parameters::default();
    let tissue = Tissue::default();
    let one = |name: &str, r: &Rhythm| -> Result<EpRun, twin_session::SessionError> {
        let (act, result, waves) =
            twin_session::ep::run(name, &heart, &tissue, r, &params, progress)?;
        let trace = ecg(&field, &act.times, &Template::default(), 1.0)?;
        Ok(view(&act, &result, &waves, &trace))
    };
    let mut runs = vec![one("sinus", &Rhythm::sinus())?];
    if ui.rhythm != EpRhythm::Sinus {
        let Some((r, lv)) = rhythm(&heart, ui) else {
            return Err(twin_session::SessionError::Run(
                "the heart has no surface for a lead".into(),
            ));
        };
        let mut run = one(ui.rhythm.label(), &r)?;
        if let Some(p) = lv {
            let intrinsic = heart.activate(&tissue, &Rhythm::blocked(Block::Lbbb))?;
            run.qlv_ms = Some(heart.qlv_ms(&intrinsic, p));
        }
        runs.push(run);
    }
    Ok((heart, runs))
}

/// One run as the pane shows it.
fn view(act: &Activation, r: &EpResult, w: &Waveforms, trace: &Ecg) -> EpRun {
    EpRun {
        name: r.name.clone(),
        qrs_ms: act.total_ms,
        lv_rv_ms: act.lv_rv_delay_ms,
        qlv_ms: None,
        ef_percent: r.beat.lv_ef_percent,
        stroke_work: r.beat.stroke_work_mmhg_ml,
        ecg: LEADS
            .iter()
            .filter_map(|&name| {
                let v = trace.lead(name)?;
                // From the onset, over the QRS and T wave.
                let pts = trace
                    .t_ms
                    .iter()
                    .zip(v)
                    .map(|(t, x)| [t - act.onset_ms, *x])
                    .collect();
                Some((name.to_owned(), pts))
            })
            .collect(),
        pv: w.v_lv.iter().zip(&w.p_lv).map(|(&v, &p)| [v, p]).collect(),
        aha_ms: act.aha_ms.clone(),
    }
}
