//! Robustness of the gait and twin readers against damaged real files: a
//! fixed number of mutations with a fixed seed (bit flips, truncations,
//! huge numbers, NaN and infinite values in the text formats, deleted
//! lines) of the shared OpenSim data and of a twin file. Each reader must
//! return (any result) without panicking, and its errors must name the
//! file; the heap is capped at 1.5 GiB (a reader that tries more aborts
//! the test).

use std::path::{Path, PathBuf};

use twin_e2e::hostile::survive;

#[global_allocator]
static HEAP: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, 1536 << 20);

/// Mutations per file (fixed seed: the same every run).
const ROUNDS: u64 = 60;

/// A reader under test: `Ok` or the error's message.
type Reader = Box<dyn Fn(&Path) -> Result<(), String>>;

fn data(rel: &str) -> Option<PathBuf> {
    twin_core::testdata::require(Path::new("msk").join(rel))
}

#[test]
fn damaged_gait_and_twin_files_never_panic_and_errors_name_the_file() {
    let Some(g2354) = data("gait2354_subject01") else {
        return;
    };
    let g10 = data("gait10dof18musc").unwrap();
    let scratch = twin_e2e::hostile::scratch("hostile-gait");
    let model = twin_msk::Model::read(&g10.join("gait10dof18musc_subject01.osim")).unwrap();
    let mut report = Vec::new();
    let cases: Vec<(PathBuf, Reader)> = vec![
        (
            g2354.join("subject01_walk1_ik.mot"),
            Box::new(|p| {
                twin_msk::Table::read(p)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            g2354.join("subject01_walk1.trc"),
            Box::new(|p| {
                twin_msk::Markers::read_trc(p)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            g10.join("gait10dof18musc_subject01.osim"),
            Box::new(|p| {
                twin_msk::Model::read(p)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            g2354.join("../c3d/walking2.c3d"),
            Box::new(|p| {
                twin_msk::C3dTrial::read(p)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            g10.join("gait10dof18musc_subject01_walk_grf.xml"),
            Box::new(move |p| {
                // The loads file names its data file: copy that beside it.
                let _ = std::fs::copy(
                    g10.join("gait10dof18musc_subject01_walk_grf.mot"),
                    p.with_file_name("gait10dof18musc_subject01_walk_grf.mot"),
                );
                twin_msk::loads::ExternalLoads::read(p, &model, None)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            g2354.join("../moco_2d_gait/2D_gait.osim"),
            Box::new(|p| {
                // Read, then simulate 10 ms: contact, muscles and the
                // integrator see whatever the damaged file holds.
                let m = twin_msk::Model::read(p).map_err(|e| e.to_string())?;
                let named = |e: twin_msk::MskError| format!("{}: {e}", p.display());
                let plant = twin_msk::forward::Plant::new(&m, &[]).map_err(named)?;
                let mut controls = twin_msk::Table::new("c", Vec::new(), false);
                controls.push_row(0.0, &[]);
                let mut c = twin_msk::forward::integrate::Prescribed::new(&plant, &controls, 0.1)
                    .map_err(named)?;
                let settings = twin_msk::forward::integrate::Settings {
                    min_step: 1e-7,
                    ..Default::default()
                };
                twin_msk::forward::integrate::simulate(
                    &plant,
                    &plant.default_state(),
                    0.01,
                    &mut c,
                    None,
                    &settings,
                    None,
                )
                .map(|_| ())
                .map_err(named)
            }),
        ),
    ];
    for (file, read) in &cases {
        let t = survive(file, &scratch, ROUNDS, read.as_ref());
        report.push(format!(
            "{}: {} read, {} refused",
            file.file_name().unwrap().to_string_lossy(),
            t.read,
            t.refused
        ));
    }
    // A twin file.
    let twin = scratch.join("seed.twin.json");
    let mut doc = twin_scenario::TwinDocument::new("robustness");
    doc.variants.push(twin_scenario::Variant {
        name: "severe AS".into(),
        cardio: vec![twin_cardio::Intervention::AorticStenosis {
            valve_area_cm2: 0.7,
        }],
        ..twin_scenario::Variant::default()
    });
    twin_scenario::store::save(&doc, &twin).unwrap();
    std::fs::create_dir_all(scratch.join("t")).unwrap();
    let t = survive(&twin, &scratch.join("t"), ROUNDS, &|p| {
        twin_scenario::TwinDocument::read(p)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    report.push(format!("twin file: {} read, {} refused", t.read, t.refused));
    eprintln!("{}", report.join("\n"));
    std::fs::remove_dir_all(&scratch).unwrap();
}
