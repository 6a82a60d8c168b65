//! The EP workspace: the demo heart's ventricles activated under the
//! pane's rhythm as a background job (`twin_session::ep`), shown against
//! sinus rhythm — the numbers, the pseudo-ECG and the coupled PV loops.

use std::sync::Arc;

use bevy::prelude::*;
use twin_cardio::{Parameters, Waveforms};
use twin_core::jobs::Priority;
use twin_ep::ecg::{Ecg, Electrodes, LeadField, Template, ecg};
use twin_ep::heart::{Ablation, Activation, Block, Heart, Lead, Rhythm, Scar, Tissue};
use twin_scenario::Variant;
use twin_scenario::document::{EpHeart, EpSetting};
use twin_session::ep::EpResult;
use twin_session::jobs::Job;
use twin_ui::ep::{EpAction, EpRhythm, EpRun, EpSurface, EpUi};

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

/// The heart with its surface for the maps, each surface vertex's node,
/// and its ECG lead field: built once, by the first run.
#[derive(Clone)]
struct Built {
    heart: Arc<Heart>,
    surface: Arc<EpSurface>,
    nodes: Arc<Vec<u32>>,
    field: Arc<LeadField>,
}

enum Msg {
    Done(Built, Vec<EpRun>, Box<Variant>),
    Failed(String),
}

/// The demo heart (built by the first run), the running job, and the
/// latest what-if as a twin variant (kept by the pane's Keep).
#[derive(Resource, Default)]
pub struct Ep {
    built: Option<Built>,
    job: Option<Job<Msg>>,
    latest: Option<Variant>,
}

/// The demo heart's mesh size (mm).
const MESH_MM: f64 = 1.5;
/// An ablation lesion's radius around its line (mm).
const ABLATION_MM: f64 = 3.0;
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
            EpAsk::Pane(EpAction::PlaceLead(v)) => {
                if ep.place_lead(&mut s.ep, *v) {
                    ep.run(&mut s.ep);
                }
            }
            EpAsk::Pane(EpAction::PlaceRvLead(v)) => {
                if ep.place_rv_lead(&mut s.ep, *v) {
                    ep.run(&mut s.ep);
                }
            }
            EpAsk::Pane(EpAction::AddScar(v)) => {
                s.ep.scars.push(*v);
                ep.run(&mut s.ep);
            }
            EpAsk::Pane(EpAction::AddAblationPoint(v)) => {
                s.ep.ablation.push(*v);
                if s.ep.ablation.len() >= 2 {
                    ep.run(&mut s.ep);
                } else {
                    s.ep.status = "ablation line: click its next point".into();
                }
            }
            EpAsk::Pane(EpAction::ClearTissue) => {
                s.ep.scars.clear();
                s.ep.ablation.clear();
                ep.run(&mut s.ep);
            }
            EpAsk::Pane(EpAction::Keep) => {
                if let Some(v) = ep.latest.clone() {
                    let before = s.study.segments_snapshot();
                    let label = s.twin.add_variant(v, before);
                    s.autosave_pending = true;
                    s.ep.status = format!("{label}: compare it in the Compare workspace");
                }
            }
        }
    }
}

fn poll(mut ep: ResMut<Ep>, mut s: ResMut<Session>) {
    while let Some(msg) = ep.job.as_ref().and_then(|j| j.try_recv().ok()) {
        let v = &mut s.ep;
        v.busy = false;
        match msg {
            Msg::Done(built, runs, latest) => {
                ep.latest = Some(*latest);
                v.status = format!(
                    "demo heart: {} nodes, {} tetrahedra at {MESH_MM} mm",
                    built.heart.mesh.nodes.len(),
                    built.heart.mesh.tets.len()
                );
                v.runs = runs;
                v.surface = Some(built.surface.clone());
                ep.built = Some(built);
            }
            Msg::Failed(e) => v.status = format!("failed: {e}"),
        }
        ep.job = None;
    }
}

impl Ep {
    /// The heart and the mesh node of a clicked surface vertex, once built.
    fn clicked(&self, vertex: u32) -> Option<(&Heart, usize)> {
        let Built { heart, nodes, .. } = self.built.as_ref()?;
        let node = *nodes.get(vertex as usize)?;
        Some((heart, node as usize))
    }

    /// The LV lead to the clicked surface vertex's ventricular coordinates
    /// (a paced rhythm chosen when none was); whether it went there.
    fn place_lead(&self, v: &mut EpUi, vertex: u32) -> bool {
        let Some((heart, node)) = self.clicked(vertex) else {
            return false;
        };
        if !heart.coords.lv[node] {
            v.status = "the LV lead goes on the LV: click the LV's wall".into();
            return false;
        }
        v.lv_z = heart.coords.apex_base[node].clamp(0.1, 0.9);
        v.lv_theta_deg = heart.coords.rotation[node].to_degrees();
        if !v.rhythm.paced() {
            v.rhythm = EpRhythm::Crt;
        }
        true
    }

    /// The RV lead (CRT) to the clicked surface vertex's coordinates, on
    /// the RV's endocardium (CRT chosen); whether it went there.
    fn place_rv_lead(&self, v: &mut EpUi, vertex: u32) -> bool {
        let Some((heart, node)) = self.clicked(vertex) else {
            return false;
        };
        if heart.coords.lv[node] {
            v.status = "the RV lead goes on the RV: click the RV's free wall".into();
            return false;
        }
        v.rv_z = heart.coords.apex_base[node].clamp(0.1, 0.95);
        v.rv_theta_deg = heart.coords.rotation[node].to_degrees();
        v.rhythm = EpRhythm::Crt;
        true
    }

    fn run(&mut self, v: &mut EpUi) {
        if self.job.is_some() {
            return;
        }
        v.busy = true;
        v.status = "activating the ventricles…".into();
        let built = self.built.clone();
        let ui = v.clone();
        self.job = Some(Job::once(
            "ep",
            "activating the ventricles",
            Priority::Interactive,
            move |progress| match compute(built, &ui, progress) {
                Ok((b, runs, latest)) => Msg::Done(b, runs, Box::new(latest)),
                Err(e) => Msg::Failed(e.to_string()),
            },
        ));
    }
}

/// The pane's rhythm on the heart (built when not yet), with its LV
/// lead's position.
fn rhythm(heart: &Heart, ui: &EpUi) -> Option<(Rhythm, Option<[f64; 3]>)> {
    let lv = heart.site(true, false, ui.lv_z, ui.lv_theta_deg)?;
    Some(match ui.rhythm {
        EpRhythm::Sinus => (Rhythm::sinus(), None),
        EpRhythm::Lbbb => (Rhythm::blocked(Block::Lbbb), None),
        EpRhythm::LvPacing => (
            Rhythm {
                leads: vec![Lead::new("LV", lv, 0.0)],
                ..Rhythm::blocked(Block::Lbbb)
            },
            Some(lv),
        ),
        EpRhythm::Crt => {
            let rv = heart.site(false, true, ui.rv_z, ui.rv_theta_deg)?;
            (Rhythm::crt(Block::Lbbb, rv, lv, ui.vv_delay_ms), Some(lv))
        }
    })
}

/// The heart, its surface for the maps and its ECG lead field.
fn build() -> Result<Built, twin_session::SessionError> {
    let heart = twin_session::ep::demo_heart(MESH_MM)?;
    let (nodes, triangles) = heart.mesh.surface();
    let positions = nodes
        .iter()
        .map(|&v| heart.mesh.nodes[v as usize].map(|x| x as f32))
        .collect();
    let field = LeadField::new(&heart.mesh, &Electrodes::around(heart.coords.centre))?;
    Ok(Built {
        heart: Arc::new(heart),
        surface: Arc::new(EpSurface {
            positions,
            triangles,
        }),
        nodes: Arc::new(nodes),
        field: Arc::new(field),
    })
}

fn compute(
    built: Option<Built>,
    ui: &EpUi,
    progress: &twin_core::Progress,
) -> Result<(Built, Vec<EpRun>, Variant), twin_session::SessionError> {
    let built = match built {
        Some(b) => b,
        None => build()?,
    };
    let (heart, nodes, field) = (&built.heart, &built.nodes, &built.field);
    let at = |v: u32| {
        built
            .surface
            .positions
            .get(v as usize)
            .map(|p| p.map(f64::from))
    };
    // The scars are the patient's (in every run); the ablation line is the
    // what-if's.
    let patient = Tissue {
        scars: ui
            .scars
            .iter()
            .filter_map(|&v| at(v))
            .map(|centre| Scar {
                centre,
                radius_mm: ui.scar_radius_mm,
                border_mm: 3.0,
                border_factor: 0.5,
            })
            .collect(),
        ..Tissue::default()
    };
    let mut what_if = patient.clone();
    if ui.ablation.len() >= 2 {
        what_if.ablations.push(Ablation {
            points: ui.ablation.iter().filter_map(|&v| at(v)).collect(),
            radius_mm: ABLATION_MM,
        });
    }
    let params = Parameters::default();
    let one = |name: &str,
               tissue: &Tissue,
               r: &Rhythm,
               intrinsic: Option<&Activation>|
     -> Result<(EpRun, Variant), twin_session::SessionError> {
        let (act, result, waves) =
            twin_session::ep::run(name, heart, tissue, r, &params, progress)?;
        let trace = ecg(field, &act.times, &Template::default(), 1.0)?;
        let setting = EpSetting {
            heart: EpHeart::Demo { mesh_mm: MESH_MM },
            rhythm: r.clone(),
            tissue: tissue.clone(),
        };
        let kept = twin_session::ep::variant_of(name, setting, heart, &[], &act, intrinsic)?;
        let mut run = view(&act, &result, &waves, &trace, nodes);
        run.qlv_ms = kept.results.get("ep_qlv_ms").copied();
        Ok((run, kept))
    };
    let (sinus, mut latest) = one("sinus", &patient, &Rhythm::sinus(), None)?;
    let mut runs = vec![sinus];
    let ablated = !what_if.ablations.is_empty();
    if ui.rhythm != EpRhythm::Sinus || ablated {
        let Some((r, lv)) = rhythm(heart, ui) else {
            return Err(twin_session::SessionError::Run(
                "the heart has no surface for a lead".into(),
            ));
        };
        let name = if ablated {
            format!("{} + ablation", ui.rhythm.label())
        } else {
            ui.rhythm.label().to_owned()
        };
        // QLV from the patient's intrinsic activation (LBBB, no ablation),
        // activated once for the pane and the kept variant.
        let intrinsic = match lv {
            Some(_) => Some(heart.activate(&patient, &Rhythm::blocked(Block::Lbbb))?),
            None => None,
        };
        let (run, kept) = one(&name, &what_if, &r, intrinsic.as_ref())?;
        latest = kept;
        runs.push(run);
    }
    Ok((built, runs, latest))
}

/// One run as the pane shows it.
fn view(act: &Activation, r: &EpResult, w: &Waveforms, trace: &Ecg, surface: &[u32]) -> EpRun {
    EpRun {
        surface_ms: surface
            .iter()
            .map(|&v| (act.times[v as usize] - act.onset_ms) as f32)
            .collect(),
        name: r.name.clone(),
        qrs_ms: act.summary.total_ms,
        lv_rv_ms: act.summary.lv_rv_delay_ms,
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
        aha_ms: act.summary.aha_ms.clone(),
    }
}
