//! Headless app tests (Bevy's `MinimalPlugins`, no window): frames stay
//! short while the job system loads the demo patient and calibrates the
//! heart; the twin's variants run in the job system, only the changed one
//! reruns, and undo brings back what was there. The tests drive the app
//! as its panes do: through the session's messages, reading the session.

use std::time::Duration;

use twin_cardio::Intervention;
use twin_session::ScenarioAction;

use bevy::prelude::Messages;

use crate::headless::{app, loading_frames, pending, run_until, select_cine, session, settled};
use crate::session::{CardioAsk, GaitAsk, Session, StudyAsk, TwinAsk, TwinSegments};

/// The session, to change what a pane would change.
fn session_mut(a: &mut bevy::app::App) -> bevy::prelude::Mut<'_, Session> {
    a.world_mut().resource_mut::<Session>()
}

/// The study's and the twin file's jobs are groups in the process-wide job
/// system (a new one cancels the last): tests that open studies or twin
/// files take turns.
static STUDY: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn study_turn() -> std::sync::MutexGuard<'static, ()> {
    STUDY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Acts on the twin as the scenario list would.
fn act(a: &mut bevy::app::App, action: &ScenarioAction) {
    session_mut(a).act(action);
}

#[test]
fn frames_stay_short_while_heavy_jobs_run_and_variants_rerun_only_when_changed() {
    let _turn = study_turn();
    let mut a = app();
    // The frame-time load (its goal, < 33 ms a frame, is measured by
    // `twinscope --bench-latency`; here what the jobs do is checked).
    let (frames, busy) = loading_frames(&mut a).expect("loads");
    let worst = frames.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{} frames in {busy:?} of background work; worst frame {worst:?}",
        frames.len()
    );
    assert!(
        busy > Duration::from_secs(1),
        "the jobs were too short to show anything ({busy:?})"
    );
    assert!(
        session(&a).study.volume.is_some(),
        "the demo study loaded: {:?}",
        session(&a).study.browser.error
    );

    // Two variants run in the job system, each once.
    let severe = vec![Intervention::AorticStenosis {
        valve_area_cm2: 0.7,
    }];
    let tavr = vec![
        Intervention::AorticStenosis {
            valve_area_cm2: 0.7,
        },
        Intervention::Tavr { eoa_cm2: 1.7 },
    ];
    act(&mut a, &ScenarioAction::Add("severe AS".into(), severe));
    act(&mut a, &ScenarioAction::Add("TAVR".into(), tavr));
    run_until(&mut a, Duration::from_mins(5), settled).expect("variants run");
    let gradient = |a: &bevy::app::App, i: usize| session(a).twin.doc.variants[i].results["aortic_mean_gradient_mmhg"];
    let base = session(&a).twin.baseline_results["aortic_mean_gradient_mmhg"];
    let (as_g, tavr_g) = (gradient(&a, 0), gradient(&a, 1));
    eprintln!(
        "mean aortic gradient: baseline {base:.1}, severe AS {as_g:.1}, TAVR {tavr_g:.1} mmHg"
    );
    assert!(
        as_g > 40.0 && as_g > 5.0 * base,
        "severe AS: {as_g} vs {base}"
    );
    assert!(tavr_g < as_g / 2.0 && tavr_g > base, "TAVR: {tavr_g}");
    let c = &session(&a).cardio;
    assert_eq!(c.ui.variants.len(), 2);
    assert!(c.ui.variants.iter().all(|v| v.result.is_some()));
    assert_ne!(c.ui.variants[0].colour, c.ui.variants[1].colour);

    // A control released on the TAVR variant: only it reruns.
    act(&mut a, &ScenarioAction::Select(Some(1)));
    a.update();
    let scenario = {
        let mut s = session_mut(&mut a);
        let c = &mut s.cardio.ui;
        c.controls.lvad_rpm = 6000.0;
        c.controls.scenario(c.targets.heart_rate_bpm)
    };
    a.world_mut()
        .write_message(CardioAsk::Pane(twin_ui::CardioAction::Simulate(scenario)));
    a.update();
    let running = session(&a).cardio.running;
    assert_eq!(running, 1, "only the changed variant reruns");
    let iv = session(&a).twin.doc.variants[1].cardio.clone();
    assert!(
        iv.contains(&Intervention::Tavr { eoa_cm2: 1.7 }),
        "the TAVR stays a TAVR when only the LVAD moves: {iv:?}"
    );
    assert!(iv.iter().any(|i| matches!(i, Intervention::Lvad { .. })));
    run_until(&mut a, Duration::from_mins(5), settled).expect("rerun");

    // Undo: the TAVR variant is as it was, and its result comes from the
    // cache (nothing reruns).
    act(&mut a, &ScenarioAction::Undo);
    a.update();
    assert_eq!(session(&a).cardio.running, 0);
    let twin = &session(&a).twin;
    assert_eq!(twin.doc.variants[1].cardio.len(), 2);
    assert_eq!(twin.history.redo_label(), Some("change “TAVR”"));
    // The calibration went into the twin with its provenance.
    let model = twin.doc.cardio.as_ref().expect("calibrated");
    assert!(!model.residuals.is_empty());
    assert!(model.software.starts_with("Twinscope"));
}

#[test]
fn controls_edit_only_the_groups_they_moved() {
    use twin_cardio::Scenario;
    use twin_ui::cardio::Controls;
    let old = vec![
        Intervention::AorticStenosis {
            valve_area_cm2: 0.7,
        },
        Intervention::Tavr { eoa_cm2: 1.7 },
        Intervention::AorticRegurgitation {
            orifice_area_cm2: 0.2,
        },
    ];
    let hr = 75.0;
    let before = Controls::from_scenario(
        &Scenario {
            interventions: old.clone(),
            ..Scenario::default()
        },
        hr,
    );
    // The LVAD moves: the valve interventions stay as they were.
    let after = Controls {
        lvad_rpm: 6000.0,
        ..before
    };
    let merged = crate::cardio::merge(&old, &before, &after.scenario(hr), &after);
    assert_eq!(&merged[..3], &old[..]);
    assert_eq!(merged[3], Intervention::Lvad { speed_rpm: 6000.0 });
    // The valve area moves: the stenosis/TAVR pair becomes the new area.
    let after = Controls {
        aortic_area_cm2: 1.0,
        ..before
    };
    let merged = crate::cardio::merge(&old, &before, &after.scenario(hr), &after);
    assert_eq!(
        merged,
        vec![
            Intervention::AorticRegurgitation {
                orifice_area_cm2: 0.2
            },
            Intervention::AorticStenosis {
                valve_area_cm2: 1.0
            },
        ]
    );
}

#[test]
fn a_broken_twin_file_is_refused_by_name_and_the_open_twin_stays() {
    let dir = std::env::temp_dir().join(format!("twinscope-app-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let mut good = twin_scenario::TwinDocument::new("kept");
    good.variants.push(twin_scenario::Variant {
        name: "on file".into(),
        ..twin_scenario::Variant::default()
    });
    let text = good.to_text();
    let broken = dir.join("broken.twin.json");
    std::fs::write(&broken, &text[..text.len() / 2]).expect("write");
    let _turn = study_turn();
    let mut a = app();
    act(
        &mut a,
        &ScenarioAction::Add("in the app".into(), Vec::new()),
    );
    a.world_mut().write_message(TwinAsk::Open(broken.clone()));
    run_until(&mut a, Duration::from_mins(1), twin_quiet).expect("the open job ends");
    let s = session(&a);
    assert!(
        s.status.contains("broken.twin.json"),
        "the error names the file: {}",
        s.status
    );
    let names: Vec<&str> = s
        .twin
        .doc
        .variants
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names, ["in the app"], "the open twin is untouched");
    // The whole file opens.
    std::fs::write(&broken, &text).expect("write");
    a.world_mut().write_message(TwinAsk::Open(broken.clone()));
    run_until(&mut a, Duration::from_mins(1), twin_quiet).expect("the open job ends");
    let twin = &session(&a).twin;
    assert_eq!(twin.doc.variants[0].name, "on file");
    assert_eq!(twin.path.as_deref(), Some(broken.as_path()));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The twin's file work has ended (and nothing asked of it waits).
fn twin_quiet(a: &mut bevy::app::App) -> bool {
    !pending(a) && session(a).twin_quiet
}

/// Applies a device control to the twin as the what-if pane would.
fn device(a: &mut bevy::app::App, ask: twin_ui::WhatIfAsk) {
    a.world_mut()
        .write_message(GaitAsk::Pane(twin_ui::GaitAction::WhatIf(ask)));
}

fn gait_quiet(a: &mut bevy::app::App) -> bool {
    let g = &session(a).gait;
    !pending(a) && g.whatif_ready && g.quiet
}

#[test]
fn twin_variants_with_a_prosthesis_run_on_the_gait_trial_in_their_colours() {
    let Some(dir) = twin_core::testdata::require("msk/gait10dof18musc") else {
        return;
    };
    let trial = twin_scenario::document::GaitTrial {
        model: dir.join("gait10dof18musc_subject01.osim"),
        motion: dir.join("subject01_walk_IK.mot"),
        loads: Some(dir.join("gait10dof18musc_subject01_walk_grf.xml")),
    };
    let mut a = app();
    a.world_mut().write_message(GaitAsk::Compute {
        model: trial.model.clone(),
        trial: trial.motion.clone(),
        loads: trial.loads.clone(),
    });
    let frames = run_until(&mut a, Duration::from_mins(5), gait_quiet).expect("gait computed");
    // The trial the user opened is the twin's, with undo.
    let twin = &session(&a).twin;
    assert_eq!(twin.doc.gait.as_ref(), Some(&trial));
    assert_eq!(twin.history.undo_label(), Some("open gait trial"));
    assert!(twin.baseline_results["gait_metabolic_umberger_w_per_kg"] > 1.0);
    // Two devices tried on the baseline and kept as variants: no rerun
    // (the tried result is the variant's).
    let controls = |k: f64| twin_ui::DeviceControls {
        stiffness: k,
        ..twin_ui::DeviceControls::default()
    };
    for k in [250.0, 900.0] {
        act(&mut a, &ScenarioAction::Select(None));
        a.update();
        device(&mut a, twin_ui::WhatIfAsk::Run(controls(k).prosthesis()));
        run_until(&mut a, Duration::from_mins(2), |a| {
            let g = &session(a).gait;
            !pending(a) && g.whatif_done && g.ui.whatif.variant.is_some()
        })
        .expect("tried on the baseline");
        device(&mut a, twin_ui::WhatIfAsk::Keep(controls(k).prosthesis()));
        a.update();
        assert_eq!(session(&a).gait.running, 0);
    }
    run_until(&mut a, Duration::from_mins(2), gait_quiet).expect("variants in");
    let g = &session(&a).gait;
    let tv = &g.ui.whatif.twin_variants;
    assert_eq!(tv.len(), 2);
    assert_eq!(tv[0].colour, twin_ui::twin::colour(0));
    assert_eq!(tv[1].colour, twin_ui::twin::colour(1));
    assert!(tv.iter().all(|v| matches!(v.outcome, Some(Ok(_)))));
    assert_eq!(
        g.ui.whatif.editing.as_deref(),
        Some("prosthesis what-if (2)")
    );
    let peak = |a: &bevy::app::App, i: usize| session(a).twin.doc.variants[i].results["gait_device_peak_plantarflexor_moment_nm"];
    assert!(
        peak(&a, 1) > 2.0 * peak(&a, 0),
        "{} {}",
        peak(&a, 0),
        peak(&a, 1)
    );

    // The controls on the selected variant change its device: only it
    // reruns; undo brings the old device back from the cache.
    act(&mut a, &ScenarioAction::Select(Some(0)));
    a.update();
    let shown_k = session(&a).gait.ui.whatif.controls.stiffness;
    assert!(
        (shown_k - 250.0).abs() < 1e-9,
        "the controls show the selected variant's device: {shown_k}"
    );
    device(
        &mut a,
        twin_ui::WhatIfAsk::Run(controls(500.0).prosthesis()),
    );
    a.update();
    assert_eq!(session(&a).gait.running, 1);
    let more = run_until(&mut a, Duration::from_mins(2), gait_quiet).expect("rerun");
    let g = &session(&a).gait;
    let latency = g.ui.whatif.latency_ms.expect("latency measured");
    let shown = g.ui.whatif.variant.as_ref().and_then(|v| v.device);
    eprintln!("gait variant rerun: {latency:.0} ms from the control to the overlay");
    assert!(peak(&a, 0) > 0.0 && peak(&a, 0) < peak(&a, 1));
    assert_eq!(
        shown.map(|d| d.peak_plantarflexor_moment_nm),
        Some(peak(&a, 0)),
        "the shown variant is the selected one's run"
    );
    act(&mut a, &ScenarioAction::Undo);
    a.update();
    assert_eq!(session(&a).gait.running, 0);
    let twin = &session(&a).twin;
    assert_eq!(
        twin.history.redo_label(),
        Some("change the device of “prosthesis what-if”")
    );
    let doc = twin.doc.clone();
    let worst = frames
        .iter()
        .chain(&more)
        .max()
        .copied()
        .unwrap_or_default();
    eprintln!("worst frame while the gait variants ran: {worst:?}");

    // The twin reopened (here: taken by a fresh app) computes its trial
    // and runs its variants.
    let mut b = app();
    session_mut(&mut b).twin.doc = doc;
    run_until(&mut b, Duration::from_mins(5), |b| {
        gait_quiet(b)
            && session(b)
                .gait
                .ui
                .whatif
                .twin_variants
                .iter()
                .all(|v| v.outcome.is_some())
    })
    .expect("the reopened twin's gait");
    assert_eq!(session(&b).gait.ui.whatif.twin_variants.len(), 2);
    assert!(
        session(&b).twin.history.undo_label().is_none(),
        "opening is not an edit"
    );
    // The report's gait part, as the twin asks for it.
    b.world_mut().write_message(GaitAsk::Report);
    b.update();
    let messages = b.world().resource::<Messages<TwinAsk>>();
    let report = messages
        .get_cursor()
        .read(messages)
        .find_map(|m| match m {
            TwinAsk::GaitReport { runs, .. } => runs.clone(),
            _ => None,
        })
        .expect("gait runs");
    assert_eq!(report.variants.len(), 2);
}

fn study_quiet(a: &bevy::app::App) -> bool {
    let ws = &session(a).study;
    !pending(a) && ws.settled && !ws.loading
}

#[test]
fn a_reopened_twin_rebuilds_its_segments_from_their_recipes() {
    let dir = std::env::temp_dir().join(format!("twinscope-segments-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let _turn = study_turn();
    let mut a = app();
    a.world_mut().write_message(StudyAsk::Open(None));
    run_until(&mut a, Duration::from_mins(10), |a| study_quiet(a)).expect("the demo opens");
    {
        let ws = &session(&a).study;
        assert!(
            ws.volume.is_some(),
            "the demo loads: {:?}",
            ws.browser.error
        );
    }
    // On the cine (not the series a study opens on), a threshold and the
    // LV grown from the image centre, as `--lv-seed` does.
    select_cine(&mut a);
    run_until(&mut a, Duration::from_mins(10), |a| study_quiet(a)).expect("the cine loads");
    {
        let mut s = session_mut(&mut a);
        let ws = &mut s.study;
        let v = ws.volume.clone().expect("volume");
        let [nx, ny, nz] = v.dims;
        let blood = v.data[nx / 2 + nx * (ny / 2 + ny * (nz / 2))];
        ws.segments.editor.lo = 0.6 * blood;
        ws.segments.editor.hi = v.data.iter().copied().fold(0.0, f32::max);
        ws.segments.editor.largest_only = true;
        ws.segments.editor.target_triangles = 20_000;
    }
    a.world_mut().write_message(StudyAsk::AddSegment(None));
    run_until(&mut a, Duration::from_mins(5), |a| study_quiet(a)).expect("threshold segment");
    let seed = {
        let mut s = session_mut(&mut a);
        let ws = &mut s.study;
        let v = ws.volume.clone().expect("volume");
        let [nx, ny, nz] = v.dims;
        let seed = v.index_to_patient([(nx / 2) as f64, (ny / 2) as f64, (nz / 2) as f64]);
        let blood = v.data[nx / 2 + nx * (ny / 2 + ny * (nz / 2))];
        ws.segments.editor.tolerance = 0.3 * blood;
        ws.segments.editor.largest_only = false;
        seed
    };
    a.world_mut()
        .write_message(StudyAsk::AddSegment(Some(seed)));
    run_until(&mut a, Duration::from_mins(5), |a| study_quiet(a)).expect("grown segment");
    a.update();
    let path = dir.join("segments.twin.json");
    // Save as the menu does for a twin that has its file.
    session_mut(&mut a).twin.path = Some(path.clone());
    a.world_mut()
        .write_message(TwinAsk::Menu(twin_ui::UiAction::SaveTwin));
    run_until(&mut a, Duration::from_mins(1), twin_quiet).expect("saved");
    let made: Vec<(String, [u8; 3], f64)> = {
        let ws = &session(&a).study;
        ws.segments
            .rows
            .iter()
            .zip(&ws.segment_data)
            .map(|(r, d)| (r.name.clone(), r.colour, d.volume_ml))
            .collect()
    };
    assert_eq!(made.len(), 2, "{made:?}");
    let doc = session(&a).twin.doc.clone();
    assert_eq!(doc.segments.len(), 2);
    assert!(
        doc.segments.iter().all(|s| s.recipe.is_some()),
        "{:?}",
        doc.segments
    );

    // A fresh app opens the file: the study comes back and so do both
    // segments, with their names, colours and volumes, and no undo entry.
    let mut b = app();
    b.world_mut().write_message(TwinAsk::Open(path.clone()));
    run_until(&mut b, Duration::from_mins(10), |b| {
        let ws = &session(b).study;
        study_quiet(b) && ws.twin_segments == TwinSegments::Own && ws.segment_data.len() == 2
    })
    .expect("the segments are rebuilt");
    let ws = &session(&b).study;
    let again: Vec<(String, [u8; 3], f64)> = ws
        .segments
        .rows
        .iter()
        .zip(&ws.segment_data)
        .map(|(r, d)| (r.name.clone(), r.colour, d.volume_ml))
        .collect();
    assert_eq!(again, made);
    assert_eq!(
        ws.series_uid(),
        doc.segments[0].series_instance_uid,
        "the segments' series (the cine) was loaded for them"
    );
    assert!(ws.segment_data.iter().all(|d| !d.mesh.triangles.is_empty()));
    let twin = &session(&b).twin;
    assert!(
        twin.history.undo_label().is_none(),
        "rebuilding is not an edit"
    );
    assert_eq!(twin.doc.segments, doc.segments);

    // Deleting them all leaves an empty list (nothing comes back).
    for _ in 0..2 {
        b.world_mut()
            .write_message(StudyAsk::Segment(twin_ui::SegmentAction::Delete(0)));
        b.update();
    }
    for _ in 0..5 {
        b.update();
    }
    assert!(!session(&b).study.loading);
    assert!(session(&b).twin.doc.segments.is_empty());

    // A file from before recipes: its segments stay listed, not rebuilt.
    let mut old = doc.clone();
    for s in &mut old.segments {
        s.recipe = None;
    }
    let old_path = dir.join("old.twin.json");
    std::fs::write(&old_path, old.to_text()).expect("write");
    let mut c = app();
    c.world_mut().write_message(TwinAsk::Open(old_path));
    run_until(&mut c, Duration::from_mins(10), |c| {
        study_quiet(c) && session(c).study.segments_tried.is_some()
    })
    .expect("the old twin opens");
    for _ in 0..5 {
        c.update();
    }
    let ws = &session(&c).study;
    assert!(ws.segment_data.is_empty());
    assert!(
        !ws.segments_to_rebuild(),
        "scripted sessions do not wait on them"
    );
    assert_eq!(session(&c).twin.doc.segments, old.segments);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_timeline_runs_in_the_job_system_and_a_bad_one_is_refused_by_name() {
    let mut a = crate::headless::app();
    // As the editor's Run does: a 3-minute bleed.
    let mut t = twin_cardio::Timeline::new(
        "bleed",
        3.0,
        vec![(
            0.5,
            twin_cardio::Event::Haemorrhage {
                volume_ml: 800.0,
                over_min: 1.0,
            },
        )],
    );
    a.world_mut()
        .resource_mut::<Messages<CardioAsk>>()
        .write(CardioAsk::Timeline(Box::new(
            twin_ui::timeline::TimelineAction::Run(t.clone()),
        )));
    let frames = run_until(&mut a, Duration::from_mins(2), |a| {
        let v = &session(a).cardio.timeline;
        v.run.is_some() && !v.busy
    })
    .expect("the timeline ran");
    let v = &session(&a).cardio.timeline;
    let run = v.run.as_ref().unwrap();
    let hr = |i: usize| run.trend[i].heart_rate_bpm;
    assert!(hr(run.trend.len() - 1) > hr(0) + 2.0, "{}", v.status);
    // The cursor's beat is there for the beat pane.
    assert!(v.beat.is_some() && v.rest_beat.is_some());
    eprintln!("{} frames while it ran", frames.len());
    // A timeline that empties the circulation ends with a message, not a
    // crash, and the last run stays.
    t.parameters = Some(twin_cardio::Parameters {
        blood_volume_ml: 2000.0,
        ..twin_cardio::Parameters::default()
    });
    t.reflex = false;
    t.events[0].event = twin_cardio::Event::Haemorrhage {
        volume_ml: 3000.0,
        over_min: 0.0,
    };
    a.world_mut()
        .resource_mut::<Messages<CardioAsk>>()
        .write(CardioAsk::Timeline(Box::new(
            twin_ui::timeline::TimelineAction::Run(t),
        )));
    run_until(&mut a, Duration::from_mins(2), |a| {
        !session(a).cardio.timeline.busy && session(a).cardio.timeline.status.contains("emptied")
    })
    .expect("the failure was reported");
    assert!(session(&a).cardio.timeline.run.is_some());
}

/// The Predicted gait pane's search runs as a job (frames go on), the
/// walk shows when it ends; the device search waits for an intact walk.
#[test]
fn a_predicted_walk_runs_as_a_job_and_the_device_waits_for_the_intact_one() {
    use bevy::prelude::*;
    use clap::Parser;
    use twin_ui::predict::PredictAction;
    let Some(dir) = twin_core::testdata::require("msk/moco_2d_gait") else {
        return;
    };
    let files = format!(
        "{},{}",
        dir.join("2D_gait.osim").display(),
        dir.join("referenceCoordinates.sto").display()
    );
    let mut a = App::new();
    a.add_plugins(MinimalPlugins)
        .insert_resource(crate::Args::parse_from([
            "twinscope",
            "--no-study",
            "--predict",
            &files,
        ]))
        .add_plugins(crate::FeaturePlugins { detached: true });
    a.update();
    let ask = |a: &mut App, with_device: bool| {
        a.world_mut()
            .write_message(GaitAsk::Pane(twin_ui::GaitAction::Predict(
                PredictAction::Predict {
                    with_device,
                    generations: 1,
                },
            )));
    };
    ask(&mut a, true);
    a.update();
    let p = &session(&a).gait.ui.predict;
    assert!(
        !p.busy && p.status.contains("intact walk first"),
        "{}",
        p.status
    );
    ask(&mut a, false);
    let frames = run_until(&mut a, Duration::from_mins(5), |a| {
        let p = &session(a).gait.ui.predict;
        !p.busy && !p.walks.is_empty()
    })
    .expect("predicted");
    let p = &session(&a).gait.ui.predict;
    assert_eq!(p.walks.len(), 1);
    let w = &p.walks[0];
    assert_eq!((w.label.as_str(), w.generations), ("intact", 1));
    assert!(w.time_s > 0.0 && !w.figure.origins.is_empty());
    assert!(p.status.starts_with("intact: "), "{}", p.status);
    assert!(p.settled);
    // The search ran beside the frames, not in one of them.
    assert!(frames.len() > 1, "{frames:?}");
}

/// `--predict-landscape` reads a tuning's landscape in a job and shows it;
/// a file that is not one is named in the pane's status.
#[test]
fn a_tuning_landscape_is_read_in_a_job_and_a_bad_one_is_named() {
    use bevy::prelude::*;
    use clap::Parser;
    use twin_msk::predict::Outcome;
    use twin_session::predict::{Landscape, TuneCell};
    let dir = tempfile::tempdir().unwrap();
    let cell = |k: f64, seed: u64, cot: f64| TuneCell {
        stiffness: k,
        neutral_deg: 0.0,
        seed,
        outcome: Outcome {
            cost_of_transport: cot,
            ..Outcome::default()
        },
        stance_asymmetry_percent: 0.0,
        parameters: Vec::new(),
    };
    let good = Landscape {
        stiffness: vec![300.0, 400.0],
        neutral_deg: vec![0.0],
        seeds: vec![1],
        cells: vec![cell(300.0, 1, 9.5), cell(400.0, 1, 9.4)],
        optimum: vec![Some([1, 0])],
        stable: true,
    };
    let good_path = dir.path().join("landscape.json");
    std::fs::write(&good_path, serde_json::to_string(&good).unwrap()).unwrap();
    let bad_path = dir.path().join("short.json");
    let mut short = good.clone();
    short.cells.pop();
    std::fs::write(&bad_path, serde_json::to_string(&short).unwrap()).unwrap();
    for (path, ok) in [(&good_path, true), (&bad_path, false)] {
        let mut a = App::new();
        a.add_plugins(MinimalPlugins)
            .insert_resource(crate::Args::parse_from([
                "twinscope",
                "--no-study",
                "--predict-landscape",
                path.to_str().unwrap(),
            ]))
            .add_plugins(crate::FeaturePlugins { detached: true });
        run_until(&mut a, Duration::from_secs(30), |a| {
            session(a).gait.ui.predict.settled
        })
        .expect("read");
        let p = &session(&a).gait.ui.predict;
        if ok {
            assert_eq!(p.landscape.as_ref(), Some(&good));
        } else {
            assert!(p.landscape.is_none());
            assert!(
                p.status.contains("short.json") && p.status.contains("1 cells"),
                "{}",
                p.status
            );
        }
    }
}

/// A shown walk is kept in the twin as a variant: the prosthetic one with
/// its device, its summary, its solution and the tuning shown.
#[test]
fn a_predicted_walk_is_kept_in_the_twin_with_its_device_and_tuning() {
    use bevy::prelude::*;
    use clap::Parser;
    use twin_ui::predict::PredictAction;
    let Some(dir) = twin_core::testdata::require("msk/moco_2d_gait") else {
        return;
    };
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/gait");
    let files = format!(
        "{},{}",
        dir.join("2D_gait.osim").display(),
        dir.join("referenceCoordinates.sto").display()
    );
    let pros = format!(
        "prosthesis={}",
        examples.join("predicted-prosthesis-2d.json").display()
    );
    let tuning = examples.join("tuning-landscape-2d.json");
    let mut a = App::new();
    a.add_plugins(MinimalPlugins)
        .insert_resource(crate::Args::parse_from([
            "twinscope",
            "--no-study",
            "--predict",
            &files,
            "--predict-solution",
            &pros,
            "--predict-landscape",
            tuning.to_str().unwrap(),
        ]))
        .add_plugins(crate::FeaturePlugins { detached: true });
    run_until(&mut a, Duration::from_mins(5), |a| {
        let p = &session(a).gait.ui.predict;
        p.settled && !p.walks.is_empty() && p.landscape.is_some()
    })
    .expect("shown");
    a.world_mut()
        .write_message(GaitAsk::Pane(twin_ui::GaitAction::Predict(
            PredictAction::Keep(0),
        )));
    a.update();
    a.update();
    let s = session(&a);
    let v = s
        .twin
        .doc
        .variants
        .iter()
        .find(|v| v.name == "predicted: prosthesis")
        .expect("kept as a variant");
    assert_eq!(
        v.prosthesis.as_ref().map(|p| p.stiffness_nm_per_rad),
        Some(400.0)
    );
    let kept = v.predicted.as_ref().unwrap();
    let cot = kept.summary["cost_of_transport_j_per_kg_m"];
    assert!((cot - 9.48).abs() < 0.01, "{cot}");
    assert!(kept.summary["fell"].abs() < 1e-12);
    assert_eq!(kept.solution["integrator"], "semi_implicit_euler");
    assert!((kept.tuning.as_ref().unwrap().stiffness[3] - 800.0).abs() < 1e-12);
    assert!(
        s.gait.ui.predict.status.contains("kept"),
        "{}",
        s.gait.ui.predict.status
    );
}

/// The EP pane's Run activates the demo heart in a job, against sinus
/// rhythm; CRT shortens LBBB's QRS.
#[test]
fn an_ep_rhythm_runs_as_a_job_against_sinus_rhythm() {
    let mut a = crate::headless::app();
    let mut qrs = Vec::new();
    for rhythm in [twin_ui::ep::EpRhythm::Lbbb, twin_ui::ep::EpRhythm::Crt] {
        session_mut(&mut a).ep.rhythm = rhythm;
        ep_ask(&mut a, twin_ui::ep::EpAction::Run);
        run_until(&mut a, Duration::from_mins(2), |a| {
            let v = &session(a).ep;
            !v.busy && v.runs.len() == 2 && v.runs[1].name == rhythm.label()
        })
        .unwrap_or_else(|e| panic!("the rhythm ran: {e}; {}", session(&a).ep.status));
        let v = &session(&a).ep;
        assert_eq!(v.runs[0].name, "sinus");
        assert_eq!(v.runs[1].ecg.len(), 4);
        assert!(!v.runs[1].pv.is_empty());
        qrs.push(v.runs[1].qrs_ms);
    }
    assert!(qrs[1] < qrs[0] - 20.0, "{qrs:?}");
    assert!(session(&a).ep.runs[1].qlv_ms.is_some());
    // Keep: the CRT what-if becomes a twin variant (with undo) whose
    // activation drives its cardiac run.
    ep_ask(&mut a, twin_ui::ep::EpAction::Keep);
    run_until(&mut a, Duration::from_secs(5), |a| {
        !session(a).twin.doc.variants.is_empty()
    })
    .expect("the what-if was kept");
    let v = &session(&a).twin.doc.variants[0];
    assert_eq!(v.name, twin_ui::ep::EpRhythm::Crt.label());
    let ep = v.ep.as_ref().expect("its EP setting");
    assert_eq!(ep.rhythm.leads.len(), 2);
    assert!((v.results["ep_total_activation_ms"] - qrs[1]).abs() < 1e-9);
    assert!(v.results.contains_key("ep_qlv_ms"));
    assert!(matches!(
        v.cardio[..],
        [twin_cardio::Intervention::Activation(_)]
    ));
    assert!(session(&a).ep.status.contains("add variant “LBBB + CRT"));
}

/// What the EP pane asks, as its buttons and clicks would.
fn ep_ask(a: &mut bevy::app::App, act: twin_ui::ep::EpAction) {
    a.world_mut()
        .resource_mut::<Messages<crate::ep::EpAsk>>()
        .write(crate::ep::EpAsk::Pane(act));
}

/// The EP map's surface vertex farthest along +L (`sign` 1: the LV's
/// lateral wall in the demo patient) or −L (−1: the RV's free wall).
fn farthest_along_left(a: &bevy::app::App, sign: f32) -> u32 {
    let surface = session(a).ep.surface.clone().unwrap();
    (0..surface.positions.len())
        .max_by(|&i, &j| {
            (sign * surface.positions[i][0]).total_cmp(&(sign * surface.positions[j][0]))
        })
        .unwrap() as u32
}

/// A click on the map's LV puts the LV lead there and reruns; the RV is
/// refused with a message.
#[test]
fn a_click_on_the_map_places_the_lv_lead() {
    let mut a = crate::headless::app();
    ep_ask(&mut a, twin_ui::ep::EpAction::Run);
    run_until(&mut a, Duration::from_mins(2), |a| {
        !session(a).ep.busy && session(a).ep.surface.is_some()
    })
    .expect("the heart was built");
    let (lateral, rv_wall) = (farthest_along_left(&a, 1.0), farthest_along_left(&a, -1.0));
    ep_ask(&mut a, twin_ui::ep::EpAction::PlaceLead(lateral));
    run_until(&mut a, Duration::from_mins(2), |a| {
        let v = &session(a).ep;
        !v.busy && v.runs.len() == 2
    })
    .expect("the paced rhythm ran");
    let v = &session(&a).ep;
    assert_eq!(v.rhythm, twin_ui::ep::EpRhythm::Crt);
    assert!(v.runs[1].qlv_ms.is_some());
    let theta = v.lv_theta_deg;
    ep_ask(&mut a, twin_ui::ep::EpAction::PlaceLead(rv_wall));
    run_until(&mut a, Duration::from_secs(5), |a| {
        session(a).ep.status.contains("LV lead goes on the LV")
    })
    .expect("the RV was refused");
    assert!((session(&a).ep.lv_theta_deg - theta).abs() < 1e-12);
    // The RV lead goes on the RV's free wall (and the LV refuses it).
    let rv_before = session(&a).ep.rv_theta_deg;
    ep_ask(&mut a, twin_ui::ep::EpAction::PlaceRvLead(rv_wall));
    run_until(&mut a, Duration::from_mins(2), |a| {
        let v = &session(a).ep;
        !v.busy && (v.rv_theta_deg - rv_before).abs() > 1e-9
    })
    .expect("the RV lead moved");
    ep_ask(&mut a, twin_ui::ep::EpAction::PlaceRvLead(lateral));
    run_until(&mut a, Duration::from_secs(5), |a| {
        session(a).ep.status.contains("RV lead goes on the RV")
    })
    .expect("the LV was refused for the RV lead");
}

/// Scar clicked on the map is the patient's (in sinus rhythm too); an
/// ablation line of two clicks is the what-if's; Clear takes both away.
#[test]
fn scar_and_ablation_are_placed_on_the_map() {
    use twin_ui::ep::{ClickTool, EpAction};
    let mut a = crate::headless::app();
    let quiet = |a: &mut bevy::app::App| {
        run_until(a, Duration::from_mins(2), |a| {
            !session(a).ep.busy && session(a).ep.surface.is_some()
        })
        .expect("the run ended");
    };
    ep_ask(&mut a, EpAction::Run);
    quiet(&mut a);
    let (lateral, rv_wall) = (farthest_along_left(&a, 1.0), farthest_along_left(&a, -1.0));
    let unreached = |a: &bevy::app::App, run: usize| {
        session(a).ep.runs[run]
            .surface_ms
            .iter()
            .filter(|t| !t.is_finite())
            .count()
    };
    assert_eq!(unreached(&a, 0), 0);
    session_mut(&mut a).ep.tool = ClickTool::Scar;
    ep_ask(&mut a, EpAction::AddScar(lateral));
    quiet(&mut a);
    assert!(unreached(&a, 0) > 0, "the scar's core is not activated");
    ep_ask(&mut a, EpAction::AddAblationPoint(lateral));
    ep_ask(&mut a, EpAction::AddAblationPoint(rv_wall));
    run_until(&mut a, Duration::from_mins(2), |a| {
        let v = &session(a).ep;
        !v.busy && v.runs.len() == 2
    })
    .expect("the ablation ran");
    assert!(session(&a).ep.runs[1].name.contains("ablation"));
    ep_ask(&mut a, EpAction::ClearTissue);
    run_until(&mut a, Duration::from_mins(2), |a| {
        let v = &session(a).ep;
        !v.busy && v.scars.is_empty() && v.runs.len() == 1
    })
    .expect("cleared");
    assert_eq!(unreached(&a, 0), 0);
}
