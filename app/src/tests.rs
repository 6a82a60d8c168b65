//! Headless app tests (Bevy's `MinimalPlugins`, no window): frames stay
//! short while the job system loads the demo patient and calibrates the
//! heart; the twin's variants run in the job system, only the changed one
//! reruns, and undo brings back what was there.

use std::time::Duration;

use twin_cardio::Intervention;
use twin_ui::twin::ScenarioAction;

use crate::cardio::Cardio;
use crate::headless::{app, run_until};
use crate::study::Workspace;
use crate::twin::Twin;

fn settled(a: &mut bevy::app::App) -> bool {
    let ws = a.world().resource::<Workspace>();
    let c = a.world().resource::<Cardio>();
    ws.settled && ws.job.is_none() && c.settled() && c.ui.baseline.is_some()
}

/// Acts on the twin as the scenario list would.
fn act(a: &mut bevy::app::App, action: &ScenarioAction) {
    a.world_mut()
        .resource_scope(|world, mut twin: bevy::prelude::Mut<Twin>| {
            let mut ws = world.resource_mut::<Workspace>();
            twin.act(action, &mut ws);
        });
}

#[test]
fn frames_stay_short_while_heavy_jobs_run_and_variants_rerun_only_when_changed() {
    let mut a = app();
    // Two heavy jobs at once: the demo patient (generated on first use,
    // scanned, loaded, meshed) and the heart's calibration.
    a.world_mut().resource_mut::<Workspace>().open(None);
    {
        let mut c = a.world_mut().resource_mut::<Cardio>();
        let t = c.ui.targets;
        c.calibrate(t);
    }
    let start = std::time::Instant::now();
    let mut frames = run_until(&mut a, Duration::from_mins(10), settled).expect("settles");
    // Then the cine: every phase loaded and a surface built for each.
    let cine = a
        .world()
        .resource::<Workspace>()
        .browser
        .studies
        .iter()
        .flat_map(|s| &s.series)
        .flat_map(|s| &s.stacks)
        .find(|k| k.phases > 1)
        .map(|k| k.id.clone())
        .expect("the demo has a cine");
    a.world_mut()
        .resource_mut::<Workspace>()
        .select_stack(&cine);
    frames.extend(run_until(&mut a, Duration::from_mins(10), settled).expect("cine loads"));
    // And the user drags the surface threshold: every phase's surface again.
    for k in 0..4 {
        let t = {
            let ws = a.world().resource::<Workspace>();
            let (lo, hi) = ws.browser.threshold_range;
            lo + (hi - lo) * (0.2 + 0.1 * k as f32)
        };
        a.world_mut().resource_mut::<Workspace>().remesh(t);
        frames.extend(run_until(&mut a, Duration::from_mins(10), settled).expect("remesh"));
    }
    let busy = start.elapsed();
    let worst = frames.iter().max().copied().unwrap_or_default();
    for (i, f) in frames
        .iter()
        .enumerate()
        .filter(|(_, f)| **f > Duration::from_millis(10))
    {
        eprintln!("frame {i}: {f:?}");
    }
    eprintln!(
        "{} frames in {busy:?} of background work; worst frame {worst:?}",
        frames.len()
    );
    assert!(
        busy > Duration::from_secs(1),
        "the jobs were too short to show anything ({busy:?})"
    );
    assert!(
        worst < Duration::from_millis(33),
        "a frame took {worst:?} while jobs ran"
    );
    assert!(
        a.world().resource::<Workspace>().volume.is_some(),
        "the demo study loaded: {:?}",
        a.world().resource::<Workspace>().browser.error
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
    let frames = run_until(&mut a, Duration::from_mins(5), settled).expect("variants run");
    let worst = frames.iter().max().copied().unwrap_or_default();
    assert!(worst < Duration::from_millis(33), "a frame took {worst:?}");
    let gradient = |a: &bevy::app::App, i: usize| {
        a.world().resource::<Twin>().state.doc.variants[i].results["aortic_mean_gradient_mmhg"]
    };
    let base = a.world().resource::<Twin>().state.baseline_results["aortic_mean_gradient_mmhg"];
    let (as_g, tavr_g) = (gradient(&a, 0), gradient(&a, 1));
    eprintln!(
        "mean aortic gradient: baseline {base:.1}, severe AS {as_g:.1}, TAVR {tavr_g:.1} mmHg"
    );
    assert!(
        as_g > 40.0 && as_g > 5.0 * base,
        "severe AS: {as_g} vs {base}"
    );
    assert!(tavr_g < as_g / 2.0 && tavr_g > base, "TAVR: {tavr_g}");
    let c = a.world().resource::<Cardio>();
    assert_eq!(c.ui.variants.len(), 2);
    assert!(c.ui.variants.iter().all(|v| v.result.is_some()));
    assert_ne!(c.ui.variants[0].colour, c.ui.variants[1].colour);

    // A control released on the TAVR variant: only it reruns.
    act(&mut a, &ScenarioAction::Select(Some(1)));
    a.update();
    a.world_mut()
        .resource_scope(|world, mut cardio: bevy::prelude::Mut<Cardio>| {
            world.resource_scope(|world, mut twin: bevy::prelude::Mut<Twin>| {
                let mut ws = world.resource_mut::<Workspace>();
                cardio.ui.controls.lvad_rpm = 6000.0;
                let s = cardio
                    .ui
                    .controls
                    .scenario(cardio.ui.targets.heart_rate_bpm);
                crate::cardio::apply_controls(&mut cardio, &mut twin, &mut ws, &s);
            });
        });
    a.update();
    let running = a.world().resource::<Cardio>().running();
    assert_eq!(running, 1, "only the changed variant reruns");
    let iv = a.world().resource::<Twin>().state.doc.variants[1]
        .cardio
        .clone();
    assert!(
        iv.contains(&Intervention::Tavr { eoa_cm2: 1.7 }),
        "the TAVR stays a TAVR when only the LVAD moves: {iv:?}"
    );
    assert!(iv.iter().any(|i| matches!(i, Intervention::Lvad { .. })));
    run_until(&mut a, Duration::from_mins(5), settled).expect("rerun");

    // Undo: the TAVR variant is as it was, and its result comes from the
    // cache (nothing reruns).
    a.world_mut()
        .resource_scope(|world, mut twin: bevy::prelude::Mut<Twin>| {
            let mut ws = world.resource_mut::<Workspace>();
            twin.undo(&mut ws);
        });
    a.update();
    assert_eq!(a.world().resource::<Cardio>().running(), 0);
    let twin = a.world().resource::<Twin>();
    assert_eq!(twin.state.doc.variants[1].cardio.len(), 2);
    assert_eq!(twin.history.redo_label(), Some("change “TAVR”"));
    // The calibration went into the twin with its provenance.
    let model = twin.state.doc.cardio.as_ref().expect("calibrated");
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
    let mut a = app();
    act(
        &mut a,
        &ScenarioAction::Add("in the app".into(), Vec::new()),
    );
    a.world_mut().resource_mut::<Twin>().open(broken.clone());
    run_until(&mut a, Duration::from_mins(1), |a| {
        a.world().resource::<Twin>().quiet()
    })
    .expect("the open job ends");
    let twin = a.world().resource::<Twin>();
    assert!(
        twin.status.contains("broken.twin.json"),
        "the error names the file: {}",
        twin.status
    );
    let names: Vec<&str> = twin
        .state
        .doc
        .variants
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names, ["in the app"], "the open twin is untouched");
    // The whole file opens.
    std::fs::write(&broken, &text).expect("write");
    a.world_mut().resource_mut::<Twin>().open(broken.clone());
    run_until(&mut a, Duration::from_mins(1), |a| {
        a.world().resource::<Twin>().quiet()
    })
    .expect("the open job ends");
    let twin = a.world().resource::<Twin>();
    assert_eq!(twin.state.doc.variants[0].name, "on file");
    assert_eq!(twin.state.path.as_deref(), Some(broken.as_path()));
    let _ = std::fs::remove_dir_all(&dir);
}
