//! The demo patient through the whole imaging pipeline, checked against the
//! phantom's analytic anatomy: DICOM files → scan → HU volume → bone surface.

use twin_core::Progress;
use twin_imaging::volume::DEFAULT_BUDGET_BYTES;
use twin_imaging::{load_stack, scan_folder};
use twin_mesh::{Grid, marching_cubes};

/// The demo patient and its CT, loaded from the DICOM files.
fn demo_ct() -> (twin_phantom::DemoPatient, twin_imaging::Volume) {
    let demo = twin_phantom::ensure_demo_patient().expect("demo patient");
    let report = scan_folder(&demo.ct_dir, &Progress::new()).expect("scan");
    let (_, _, stack) = report.stacks().next().expect("stack");
    let vol = load_stack(stack, 0, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("load");
    (demo, vol)
}

#[test]
fn demo_ct_bone_surface_is_closed_and_lies_within_the_scan() {
    let (demo, vol) = demo_ct();
    let threshold = 200.0;
    let grid = Grid {
        dims: vol.dims,
        data: &vol.data,
        affine: &vol.affine,
    };
    let mesh = marching_cubes(grid, threshold, &Progress::new()).expect("surface");
    let stats = mesh.stats();
    // A closed, consistently oriented 2-manifold.
    assert!(stats.watertight(), "{stats:?}");
    assert!(stats.volume_mm3 > 0.0, "{stats:?}");
    eprintln!("bone surface: {stats:?}");
    // The surface lies where the bones are: its bounds sit inside the scanned range.
    let (lo, hi) = mesh.bounds().expect("bounds");
    assert!(
        lo[2] >= legs_bottom(&demo.legs) - 2.0 && hi[2] <= 2.0,
        "{lo:?} {hi:?}"
    );
}

fn legs_bottom(legs: &twin_phantom::legs::LegsPhantom) -> f32 {
    legs.slice_z(legs.slices - 1) as f32
}

#[test]
fn the_stump_side_has_less_bone_below_the_knee() {
    let (demo, vol) = demo_ct();
    let mesh = marching_cubes(
        Grid {
            dims: vol.dims,
            data: &vol.data,
            affine: &vol.affine,
        },
        200.0,
        &Progress::new(),
    )
    .expect("surface");
    // Lowest bone point on each side (patient right = −x).
    let lowest = |right: bool| {
        mesh.positions
            .iter()
            .filter(|p| (p[0] < 0.0) == right)
            .map(|p| p[2])
            .fold(f32::INFINITY, f32::min)
    };
    let (right, left) = (lowest(true), lowest(false));
    let cut = demo.legs.amputation_z as f32;
    assert!(
        (right - cut).abs() < 4.0,
        "right tibia ends at {right}, cut at {cut}"
    );
    assert!(
        left < cut - 100.0,
        "left leg bone should continue to {left}"
    );
}

#[test]
fn femoral_shaft_volume_matches_the_analytic_annulus() {
    // Mid-thigh slices hold only the two femoral shafts: cortical annuli of
    // radii 13.5 and 7.5 mm (marrow inside). At the iso-value half-way between
    // cortex (1300 HU) and its neighbours the surface is unbiased, so the
    // enclosed volume must match 2 · π(13.5² − 7.5²) · (slices × 3 mm).
    let (demo, vol) = demo_ct();
    let legs = &demo.legs;
    let [nx, ny, _] = vol.dims;
    // Volume slice k holds z = slice_z(slices - 1 - k) (ascending z). Keep z in [-110, -20].
    let ks: Vec<usize> = (0..vol.dims[2])
        .filter(|&k| {
            let z = vol.index_to_patient([0.0, 0.0, k as f64])[2];
            (-110.0..=-20.0).contains(&z)
        })
        .collect();
    let first = ks[0];
    let data = &vol.data[first * nx * ny..(first + ks.len()) * nx * ny];
    let mut affine = vol.affine;
    let origin = vol.index_to_patient([0.0, 0.0, first as f64]);
    for r in 0..3 {
        affine[(r, 3)] = origin[r];
    }
    let mesh = marching_cubes(
        Grid {
            dims: [nx, ny, ks.len()],
            data,
            affine: &affine,
        },
        650.0,
        &Progress::new(),
    )
    .expect("surface");
    let stats = mesh.stats();
    assert_eq!(stats.boundary_edges, 0, "{stats:?}");
    // Two closed tubes: each a torus-like shell (genus 1) -> Euler 0 each.
    assert_eq!(stats.euler, 0, "{stats:?}");
    let truth = 2.0
        * std::f64::consts::PI
        * (13.5f64.powi(2) - 7.5f64.powi(2))
        * ks.len() as f64
        * legs.slice_mm;
    let rel = stats.volume_mm3 / truth - 1.0;
    eprintln!(
        "femoral shafts: mesh {:.2} mL, analytic {:.2} mL ({:+.2} %)",
        stats.volume_mm3 / 1000.0,
        truth / 1000.0,
        rel * 100.0
    );
    assert!(
        rel.abs() < 0.03,
        "mesh {} vs analytic {truth}",
        stats.volume_mm3
    );
}

/// The demo cine's LV volume from one seed (at the LV centre in one phase),
/// propagated through all 20 phases, against the phantom's analytic volumes.
#[test]
fn demo_cine_lv_volumes_match_the_analytic_truth() {
    let demo = twin_phantom::ensure_demo_patient().expect("demo patient");
    let report = scan_folder(&demo.cardiac_dir, &Progress::new()).expect("scan");
    let (_, _, stack) = report.stacks().next().expect("stack");
    let cine =
        twin_imaging::load_cine(stack, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("cine");
    let grids: Vec<Grid> = cine
        .phases
        .iter()
        .map(|v| Grid {
            dims: v.dims,
            data: &v.data,
            affine: &v.affine,
        })
        .collect();
    // One click: the image centre (the LV axis) of a mid-ventricular slice.
    let seed = cine.phases[0].index_to_patient([96.0, 96.0, 5.0]);
    let c = twin_mesh::cine::lv_volumes(
        &grids,
        seed,
        twin_mesh::cine::DEFAULT_FRACTION,
        &Progress::new(),
    )
    .expect("LV volumes");
    let truth = &demo.cardiac;
    eprintln!(
        "demo cine LV: ED {:.1} mL (truth {:.1}), ES {:.1} mL (truth {:.1}), EF {:.1} %",
        c.edv_ml, truth.edv_ml, c.esv_ml, truth.esv_ml, c.ef_percent
    );
    for (p, v) in c.volumes_ml.iter().enumerate() {
        let t = truth.lv_volume_ml(p);
        assert!((v / t - 1.0).abs() < 0.03, "phase {p}: {v:.1} mL vs {t:.1}");
    }
    assert_eq!(
        (c.ed_phase, c.es_phase),
        (truth.ed_phase(), truth.es_phase())
    );
    let ef_truth = 100.0 * (truth.edv_ml - truth.esv_ml) / truth.edv_ml;
    assert!(
        (c.ef_percent - ef_truth).abs() < 2.0,
        "EF {} vs {ef_truth}",
        c.ef_percent
    );
    eprintln!("LV curve: {:?}", c.volumes_ml);
}

/// The demo cine's LV myocardium (mass, wall thickness per AHA segment) and
/// RV, found without a click, against the phantom's analytic anatomy.
#[test]
fn demo_cine_myocardium_and_rv_match_the_analytic_truth() {
    let demo = twin_phantom::ensure_demo_patient().expect("demo patient");
    let report = scan_folder(&demo.cardiac_dir, &Progress::new()).expect("scan");
    let (_, _, stack) = report.stacks().next().expect("stack");
    let cine =
        twin_imaging::load_cine(stack, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("cine");
    let grids: Vec<Grid> = cine
        .phases
        .iter()
        .map(|v| Grid {
            dims: v.dims,
            data: &v.data,
            affine: &v.affine,
        })
        .collect();
    let truth = &demo.cardiac;
    let lv = twin_mesh::cine_net::lv_cavity(&grids, None, &Progress::new()).expect("LV");
    for (name, pool) in [
        ("endocardial", &lv.endocardial),
        ("blood pool", &lv.blood_pool),
    ] {
        for phase in [truth.ed_phase(), truth.es_phase()] {
            let cavity = &pool.masks[phase];
            let m =
                twin_mesh::cine_wall::lv_myocardium(&grids[phase], cavity, phase, &Progress::new())
                    .expect("myocardium");
            eprintln!(
                "{name} phase {phase}: cavity {:.1} (truth {:.1}) myocardium {:.1} mL (truth {:.1}), mass {:.1} g, cap {:?}, seen {:?}",
                pool.curve.volumes_ml[phase],
                truth.lv_volume_ml(phase),
                m.volume_ml,
                truth.myocardium_ml,
                m.mass_g,
                m.apex_cap,
                m.walls
                    .iter()
                    .map(|w| (w.slice, (w.seen * 100.0).round()))
                    .collect::<Vec<_>>()
            );
            for w in &m.walls {
                let t = w.thickness_mm();
                let mean = t.iter().sum::<f64>() / t.len() as f64;
                eprintln!(
                    "  slice {}: wall {:.1} mm (truth {:?})",
                    w.slice,
                    mean,
                    truth.lv_wall_in_plane_mm(phase, truth.slice_depth_mm(w.slice))
                );
            }
            if let Some((rv, seed)) =
                twin_mesh::cine_wall::rv_pool(&grids, cavity, &m, &Progress::new()).expect("RV")
            {
                let rel: Vec<String> = rv
                    .curve
                    .volumes_ml
                    .iter()
                    .enumerate()
                    .map(|(p, v)| format!("{v:.1}/{:.1}", truth.rv_volume_ml(p)))
                    .collect();
                eprintln!("  RV from {seed:?}: {rel:?}");
                let aha = twin_mesh::cine_wall::aha_thickness(&grids[phase], &m, seed);
                eprintln!(
                    "  AHA {:?}",
                    aha.iter()
                        .map(|a| (a.number, (a.thickness_mm * 10.0).round() / 10.0))
                        .collect::<Vec<_>>()
                );
            } else {
                eprintln!("  no RV");
            }
        }
    }
}
