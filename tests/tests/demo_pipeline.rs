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

/// The demo cine as `Grid`s with its truth.
fn demo_cine() -> (twin_phantom::DemoPatient, twin_imaging::CineVolume) {
    let demo = twin_phantom::ensure_demo_patient().expect("demo patient");
    let report = scan_folder(&demo.cardiac_dir, &Progress::new()).expect("scan");
    let (_, _, stack) = report.stacks().next().expect("stack");
    let cine =
        twin_imaging::load_cine(stack, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("cine");
    (demo, cine)
}

fn grids(cine: &twin_imaging::CineVolume) -> Vec<Grid<'_>> {
    cine.phases
        .iter()
        .map(twin_session::segments::grid)
        .collect()
}

/// The demo cine's LV myocardium (mass, wall thickness per AHA segment) and
/// RV, found without a click, against the phantom's analytic anatomy (its
/// cavity has no papillary muscles: the blood-pool convention is the truth).
#[test]
fn demo_cine_myocardium_and_rv_match_the_analytic_truth() {
    let (demo, cine) = demo_cine();
    let grids = grids(&cine);
    let truth = &demo.cardiac;
    let options = twin_session::cine::CineOptions {
        convention: twin_mesh::cine_net::Convention::BloodPool,
        myocardium: true,
        rv: true,
        ..Default::default()
    };
    let a = twin_session::cine::analyse(&grids, options, &Progress::new()).expect("analysis");
    // Measured 2026-12-06: myocardium 128.5 mL at ED (+2.8 %), 125.9 mL at
    // ES (+0.7 %) against 125.0; RV −2.0 to −5.3 % per phase.
    for m in &a.myocardium {
        eprintln!(
            "phase {}: myocardium {:.1} mL (truth {:.1}), mass {:.1} g",
            m.phase, m.volume_ml, truth.myocardium_ml, m.mass_g
        );
        for w in &m.walls {
            let t = w.thickness_mm();
            eprintln!(
                "  slice {}: wall {:.1} mm (truth {:?}), seen {:.2}, min {:.1} max {:.1}",
                w.slice,
                t.iter().sum::<f64>() / t.len() as f64,
                truth.lv_wall_in_plane_mm(m.phase, truth.slice_depth_mm(w.slice)),
                w.seen,
                t.iter().copied().fold(f64::MAX, f64::min),
                t.iter().copied().fold(0.0, f64::max)
            );
        }
        assert!(
            (m.volume_ml / truth.myocardium_ml - 1.0).abs() < 0.05,
            "phase {}: {:.1} mL",
            m.phase,
            m.volume_ml
        );
        assert!((m.mass_g - 1.05 * m.volume_ml).abs() < 1e-9);
        // Wall thickness per slice within 1 mm where the slice cuts the
        // wall squarely (the base and mid-cavity; towards the apex a slice
        // cuts the wall obliquely).
        for w in &m.walls {
            let depth = truth.slice_depth_mm(w.slice);
            let Some(t) = truth.lv_wall_in_plane_mm(m.phase, depth) else {
                continue;
            };
            if depth > 0.7 * truth.lv_shape(truth.lv_volume_ml(m.phase)).length_mm {
                continue;
            }
            let mean = w.thickness_mm().iter().sum::<f64>() / w.thickness_mm().len() as f64;
            assert!(
                (mean - t).abs() < 1.0,
                "phase {} slice {}: {mean:.1} vs {t:.1} mm",
                m.phase,
                w.slice
            );
        }
    }
    assert_eq!(a.aha.len(), 16, "{:?}", a.aha);
    let (rv, _) = a.rv.as_ref().expect("RV found");
    for (p, v) in rv.curve.volumes_ml.iter().enumerate() {
        let t = truth.rv_volume_ml(p);
        assert!(
            (v / t - 1.0).abs() < 0.06,
            "RV phase {p}: {v:.1} vs {t:.1} mL"
        );
    }
    assert_eq!(
        (rv.curve.ed_phase, rv.curve.es_phase),
        (truth.ed_phase(), truth.es_phase())
    );
    assert!(a.quality_flags.is_empty(), "{:?}", a.quality_flags);
}

/// Review: a slice corrected by a polygon changes the volume by the pixels
/// it adds, the targets say it was corrected, propagation copies it to the
/// other phases, and putting the old pixels back restores the curve.
#[test]
fn a_corrected_slice_flows_into_the_targets_and_can_be_undone() {
    let (_, cine) = demo_cine();
    let grids = grids(&cine);
    let mut a = twin_session::cine::analyse(
        &grids,
        twin_session::cine::CineOptions::default(),
        &Progress::new(),
    )
    .expect("analysis");
    let before = a.lv.curve.clone();
    let ed = before.ed_phase;
    let m = a.lv.masks[ed].clone();
    let [nx, ny, nz] = m.dims;
    let k = (0..nz)
        .max_by_key(|&k| {
            m.data[k * nx * ny..(k + 1) * nx * ny]
                .iter()
                .filter(|&&v| v != 0)
                .count()
        })
        .expect("slice");
    let old = m.data[k * nx * ny..(k + 1) * nx * ny].to_vec();
    // A square of 20 × 20 pixels around the cavity's centre.
    let (mut cx, mut cy, mut n) = (0.0, 0.0, 0.0);
    for (i, &v) in old.iter().enumerate() {
        if v != 0 {
            cx += (i % nx) as f64;
            cy += (i / nx) as f64;
            n += 1.0;
        }
    }
    let (cx, cy) = (cx / n, cy / n);
    let square = [
        [cx - 10.0, cy - 10.0],
        [cx + 10.0, cy - 10.0],
        [cx + 10.0, cy + 10.0],
        [cx - 10.0, cy + 10.0],
    ];
    let undo = a
        .correct(&grids, ed, k, &square, &Progress::new())
        .expect("correct");
    assert_eq!(undo, old);
    let voxel_ml = m.spacing.iter().product::<f64>() / 1000.0;
    let change = a.lv.curve.volumes_ml[ed] - before.volumes_ml[ed];
    let expected = (400.0 - n) * voxel_ml;
    assert!((change - expected).abs() < 1e-6, "{change} vs {expected}");
    let t = a.targets(&cine.times_ms, "series 5.1");
    assert!(
        t.source.contains(&format!(
            "CORRECTED by the user: 1 slice(s) (phase {ed} slice {k})"
        )),
        "{}",
        t.source
    );
    // Propagated to the neighbours: both recorded, each keeps its own area.
    let next = (ed + 1) % grids.len();
    let area = |a: &twin_session::cine::CineAnalysis, p: usize| {
        a.lv.masks[p].data[k * nx * ny..(k + 1) * nx * ny]
            .iter()
            .filter(|&&v| v != 0)
            .count() as f64
    };
    let own = area(&a, next);
    let back = a
        .propagate(&grids, ed, k, &[next], &Progress::new())
        .expect("propagate");
    assert_eq!(back.len(), 1);
    assert!(a.corrected.contains(&(next, k)));
    assert!(
        (area(&a, next) / own - 1.0).abs() < 0.1,
        "{} vs {own}",
        area(&a, next)
    );
    // Undo, last first.
    a.set_slice(&grids, next, k, back[0].1.clone(), false, &Progress::new())
        .expect("undo");
    a.set_slice(&grids, ed, k, old, false, &Progress::new())
        .expect("undo");
    assert_eq!(a.lv.curve, before);
    assert!(a.corrected.is_empty());
    // A slice that is not there is refused by name.
    let e = a
        .correct(&grids, ed, nz + 3, &square, &Progress::new())
        .unwrap_err();
    assert!(e.to_string().contains(&format!("slice {}", nz + 3)), "{e}");
}
