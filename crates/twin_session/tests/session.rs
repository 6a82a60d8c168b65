//! The twin session headless, as the app and the CLI drive it: open a
//! twin, edit it, undo and redo, run its variants (only a changed one
//! reruns), rebuild its segments from their recipes on the study, and
//! write its report — no Bevy, no window.

use std::time::{Duration, Instant};

use twin_cardio::Intervention;
use twin_core::Progress;
use twin_scenario::document::{Segment, SegmentRecipe, SegmentSource};
use twin_scenario::report::ReportOptions;
use twin_session::runs::VariantRuns;
use twin_session::{ScenarioAction, Session, segments};

/// A small lower-limb CT phantom written as DICOM and loaded back.
fn small_ct(dir: &std::path::Path) -> twin_imaging::Volume {
    let legs = twin_phantom::legs::LegsPhantom {
        rows: 96,
        cols: 128,
        pixel_mm: 3.0,
        slices: 40,
        slice_mm: 8.0,
        ..twin_phantom::legs::LegsPhantom::demo()
    };
    legs.write(dir, "1.2.826.0.1.3680043.10.1234.1").unwrap();
    let report = twin_imaging::scan_folder(dir, &Progress::new()).unwrap();
    let (_, _, stack) = report.stacks().next().unwrap();
    twin_imaging::load_stack(stack, 0, &Progress::new(), 1 << 30).unwrap()
}

fn bone_recipe() -> SegmentRecipe {
    SegmentRecipe {
        source: SegmentSource::Threshold {
            lo: 200.0,
            hi: 3000.0,
        },
        largest_only: false,
        min_island_mm3: 100.0,
        antialias: true,
        smooth_iterations: 5,
        target_triangles: 4000,
    }
}

/// Updates the runs until everything the twin asks has its answer; returns
/// how many runs were started on the way.
fn settle(runs: &mut VariantRuns, session: &mut Session) -> usize {
    let start = Instant::now();
    let mut started = 0;
    loop {
        started += runs.update(&mut session.doc);
        if runs.settled(&session.doc) {
            // One more pass files the last answers into the variants.
            started += runs.update(&mut session.doc);
            return started;
        }
        assert!(
            start.elapsed() < Duration::from_mins(5),
            "runs did not settle: {:?}",
            runs.errors(&session.doc)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn gradient(session: &Session, i: usize) -> f64 {
    session.doc.variants[i].results["aortic_mean_gradient_mmhg"]
}

#[test]
fn a_twin_is_edited_run_rebuilt_and_reported_without_a_window() {
    let dir = tempfile::tempdir().unwrap();
    let volume = small_ct(&dir.path().join("ct"));

    // A segment made from its recipe goes into the twin with undo.
    let mut session: Session = Session::default();
    let built = segments::build(&volume, &bone_recipe(), 1, &Progress::new()).unwrap();
    let stats = built.mesh.stats();
    assert!(stats.watertight(), "{stats:?}");
    assert!(built.volume_ml > 10.0, "{}", built.volume_ml);
    session.record("add segment “bones”", ());
    session.doc.segments.push(Segment {
        name: "bones".into(),
        colour: [230, 220, 200],
        method: built.name.clone(),
        series_instance_uid: None,
        mesh: None,
        volume_ml: Some(built.volume_ml),
        recipe: Some(bone_recipe()),
    });
    // Two presets as variants, then an edit and its undo.
    let preset = |name: &str| {
        twin_session::scenarios::presets()
            .iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
            .clone()
    };
    session.act(
        &ScenarioAction::Add("severe AS".into(), preset("severe AS")),
        &mut (),
    );
    session.act(&ScenarioAction::Add("TAVR".into(), preset("TAVR")), &mut ());
    session.act(&ScenarioAction::Rename(1, "new valve".into()), &mut ());
    assert_eq!(
        session.undo(&mut ()).as_deref(),
        Some("rename “TAVR” to “new valve”")
    );
    assert_eq!(session.doc.variants[1].name, "TAVR");
    assert_eq!(
        session.redo(&mut ()).as_deref(),
        Some("rename “TAVR” to “new valve”")
    );
    session.undo(&mut ());

    // Saved, and opened again as another session.
    let path = dir.path().join("patient.twin.json");
    session.save(&path).unwrap();
    let (mut session, notes): (Session, _) = Session::open(&path).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(session.doc.variants.len(), 2);
    assert!(session.history.undo_label().is_none());

    // The variants run against the baseline, each as its own job.
    let mut runs = VariantRuns::default();
    let started = settle(&mut runs, &mut session);
    assert_eq!(started, 3, "the baseline and two variants");
    assert!(runs.errors(&session.doc).is_empty());
    // docs/models/cardio.md: severe AS 50.8 mmHg, TAVR 13.7 mmHg.
    assert!(
        (gradient(&session, 0) - 50.8).abs() < 1.5,
        "{}",
        gradient(&session, 0)
    );
    assert!(
        (gradient(&session, 1) - 13.7).abs() < 1.0,
        "{}",
        gradient(&session, 1)
    );
    assert!(twin_session::runs::baseline_summary(&runs)["aortic_mean_gradient_mmhg"] < 5.0);

    // A changed variant reruns alone; its undo finds the old result again.
    let before = session.doc.clone();
    session.record("change “TAVR”", ());
    session.doc.variants[1].cardio = vec![Intervention::AorticStenosis {
        valve_area_cm2: 1.0,
    }];
    session.doc.variants[1].results.clear();
    assert_eq!(settle(&mut runs, &mut session), 1);
    let narrower = gradient(&session, 1);
    assert!(narrower > 20.0, "{narrower}");
    session.undo(&mut ());
    assert_eq!(session.doc.variants, before.variants);
    assert_eq!(settle(&mut runs, &mut session), 0);
    // A variant with an intervention out of range fails by name.
    session.doc.variants[0].cardio = vec![Intervention::AorticStenosis {
        valve_area_cm2: -1.0,
    }];
    settle(&mut runs, &mut session);
    let errors = runs.errors(&session.doc);
    assert!(
        errors.iter().any(|e| e.starts_with("severe AS: ")),
        "{errors:?}"
    );
    session.undo(&mut ());
    session.doc = before;
    settle(&mut runs, &mut session);

    // The reopened twin's segments are made again from their recipes.
    let rebuilt = segments::rebuild(&volume, &session.doc.segments, &Progress::new()).unwrap();
    assert_eq!(rebuilt.len(), 1);
    assert_eq!(rebuilt[0].name, "bones");
    assert!((rebuilt[0].volume_ml - built.volume_ml).abs() < 1e-9);
    assert_eq!(rebuilt[0].mesh.stats().triangles, stats.triangles);
    let mut listed = session.doc.segments.clone();
    listed[0].recipe = None;
    let e = segments::rebuild(&volume, &listed, &Progress::new())
        .unwrap_err()
        .to_string();
    assert!(e.contains("“bones”") && e.contains("not rebuilt"), "{e}");

    // The report: from the session's runs or run anew, the same tables.
    let (baseline, cardio, gait) = runs.for_report(&session.doc).unwrap();
    let from_session = twin_session::report::ReportRuns {
        baseline,
        cardio,
        gait,
    };
    let report = twin_session::report::assemble(
        &session.doc,
        &from_session,
        ReportOptions { privacy: true },
        &twin_scenario::report::ReportExtras::default(),
    );
    assert_eq!(report.variants, 2);
    let html_path = dir.path().join("report.html");
    let csv_path = twin_session::report::csv_beside(&html_path);
    twin_session::report::write(&report, &html_path, Some(&csv_path)).unwrap();
    let html = std::fs::read_to_string(&html_path).unwrap();
    for want in ["severe AS", "TAVR", "aortic_mean_gradient_mmhg", "bones"] {
        assert!(html.contains(want), "{want} not in the report");
    }
    assert!(
        !html.contains("Untitled"),
        "the twin's name in a private report"
    );
    assert!(std::fs::read_to_string(&csv_path).unwrap().lines().count() > 100);
    let anew = twin_session::report::ReportRuns::run(&session.doc, &Progress::new()).unwrap();
    let again = twin_session::report::assemble(
        &session.doc,
        &anew,
        ReportOptions { privacy: true },
        &twin_scenario::report::ReportExtras::default(),
    );
    assert_eq!(again.variants, report.variants);
    // A report cannot be written where no folder is.
    let e = twin_session::report::write(&report, &dir.path().join("no/such/report.html"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("report.html"), "{e}");
}

#[test]
fn prosthesis_variants_rerun_only_when_their_device_changes() {
    let Some(dir) = twin_core::testdata::require("msk/gait10dof18musc") else {
        return;
    };
    let mut session: Session = Session::default();
    session.doc.gait = Some(twin_scenario::document::GaitTrial {
        model: dir.join("gait10dof18musc_subject01.osim"),
        motion: dir.join("subject01_walk_IK.mot"),
        loads: Some(dir.join("gait10dof18musc_subject01_walk_grf.xml")),
    });
    let device = |k: f64| twin_msk::prosthesis::Prosthesis {
        side: "right".into(),
        stiffness_nm_per_rad: k,
        plantar_stiffness_nm_per_rad: None,
        damping_nms_per_rad: 2.0,
        neutral_angle_deg: 0.0,
        alignment_offset_deg: 0.0,
        mass_kg: Some(1.2),
    };
    for (name, k) in [("soft foot", 250.0), ("stiff foot", 900.0)] {
        session.add_variant(
            twin_scenario::Variant {
                name: name.into(),
                prosthesis: Some(device(k)),
                ..twin_scenario::Variant::default()
            },
            (),
        );
    }
    let mut runs = VariantRuns::default();
    // The cardiac baseline, the trial's case, the intact gait and two devices.
    assert_eq!(settle(&mut runs, &mut session), 5);
    let peak = |s: &Session, i: usize| s.doc.variants[i].results["gait_device_peak_plantarflexor_moment_nm"];
    assert!(peak(&session, 1) > 2.0 * peak(&session, 0));
    // The same runs as all at once.
    let all = twin_session::runs::run_gait(&session.doc, &Progress::new())
        .unwrap()
        .unwrap();
    let (_, _, gait) = runs.for_report(&session.doc).unwrap();
    let gait = gait.unwrap();
    assert_eq!(gait.variants.len(), 2);
    for ((_, a), (_, b)) in gait.variants.iter().zip(&all.variants) {
        assert!((a.metabolic_w_per_kg[0] - b.metabolic_w_per_kg[0]).abs() < 1e-9);
    }
    // A stiffer soft foot: one rerun.
    session.record("change the device of “soft foot”", ());
    session.doc.variants[0].prosthesis = Some(device(400.0));
    assert_eq!(settle(&mut runs, &mut session), 1);
    session.undo(&mut ());
    assert_eq!(settle(&mut runs, &mut session), 0);
}
