//! Cine LV segmentation on real cardiac MR (Sunnybrook SCD0003701, healthy;
//! ED and ES phases) against the expert's endocardial contours.

use std::collections::HashMap;
use std::path::Path;

use twin_core::Progress;
use twin_imaging::volume::DEFAULT_BUDGET_BYTES;
use twin_imaging::{load_cine, scan_folder};
use twin_mesh::Grid;
use twin_mesh::cine::{Chamber, DEFAULT_FRACTION, blood_pool};
use twin_mesh::segment::Mask;

/// Expert endocardial contours by instance number: (x, y) pixel coordinates.
type Contours = HashMap<i32, Vec<[f64; 2]>>;

fn contours(dir: &Path) -> Contours {
    contours_of(dir, "icontour")
}

/// The expert's contours of one kind (`icontour`: endocardial, `ocontour`:
/// epicardial) by instance number.
fn contours_of(dir: &Path, kind: &str) -> Contours {
    let mut out = HashMap::new();
    for entry in std::fs::read_dir(dir).expect("contours") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.contains(kind) {
            continue;
        }
        let number: i32 = name[8..12].parse().expect("instance number");
        let text = std::fs::read_to_string(&path).expect("read contour");
        let points = text
            .lines()
            .filter_map(|l| {
                let v: Vec<f64> = l
                    .split_whitespace()
                    .filter_map(|t| t.parse().ok())
                    .collect();
                (v.len() == 2).then(|| [v[0], v[1]])
            })
            .collect();
        out.insert(number, points);
    }
    out
}

/// Pixel centres (column, row) inside a polygon (even–odd rule).
fn inside(poly: &[[f64; 2]], x: f64, y: f64) -> bool {
    let mut c = false;
    let n = poly.len();
    for i in 0..n {
        let (a, b) = (poly[i], poly[(i + n - 1) % n]);
        if (a[1] > y) != (b[1] > y) && x < (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]) + a[0] {
            c = !c;
        }
    }
    c
}

fn shoelace(poly: &[[f64; 2]]) -> f64 {
    let n = poly.len();
    (0..n)
        .map(|i| {
            let (a, b) = (poly[i], poly[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f64>()
        .abs()
        / 2.0
}

/// The SCD0003701 subset: the expert's contours and the scanned cine
/// (`None`, with a message, when the shared data is missing).
fn subset() -> Option<(Contours, twin_imaging::ScanReport)> {
    let root = twin_core::testdata::require("dicom/cmr_sax_sunnybrook_SCD0003701_subset")?;
    let expert = contours(&root.join("expert_contours"));
    let report = scan_folder(&root.join("dicom"), &Progress::new()).expect("scan");
    Some((expert, report))
}

/// The phase and slice of the stack's image with DICOM instance `number`.
fn phase_and_slice(stack: &twin_imaging::Stack, number: i32) -> (usize, usize) {
    stack
        .volumes
        .iter()
        .enumerate()
        .find_map(|(p, v)| {
            v.iter()
                .position(|h| h.instance_number == Some(number))
                .map(|k| (p, k))
        })
        .unwrap_or_else(|| panic!("instance {number}"))
}

fn grids(cine: &twin_imaging::CineVolume) -> Vec<Grid<'_>> {
    cine.phases
        .iter()
        .map(twin_session::segments::grid)
        .collect()
}

#[test]
fn seeded_lv_matches_the_expert_contours() {
    let Some((expert, report)) = subset() else {
        return;
    };
    let (_, _, stack) = report.stacks().next().expect("stack");
    let cine = load_cine(stack, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("cine");
    assert_eq!(cine.phases.len(), 2);
    // One click: the centre of the LV in the mid-ventricular ED slice
    // (instance 60), as a user would place it, in patient mm.
    let (ed_phase, mid) = phase_and_slice(stack, 60);
    let c = &expert[&60];
    let centre = [
        c.iter().map(|p| p[0]).sum::<f64>() / c.len() as f64,
        c.iter().map(|p| p[1]).sum::<f64>() / c.len() as f64,
    ];
    let seed = cine.phases[ed_phase].index_to_patient([centre[0], centre[1], mid as f64]);
    let grids = grids(&cine);
    let pool = blood_pool(
        &grids,
        seed,
        Chamber::Lv,
        DEFAULT_FRACTION,
        &Progress::new(),
    )
    .expect("LV");
    let (slices, volumes) = score(stack, &expert, &pool.masks);
    for s in &slices {
        // No slice spills out of the cavity (the basal one once ran into
        // the outflow tract: 1393 mm² against the expert's 733).
        assert!(
            s.ours_mm2 <= 1.1 * s.expert_mm2,
            "instance {}: {:.0} mm² against the expert's {:.0}",
            s.instance,
            s.ours_mm2,
            s.expert_mm2
        );
    }
    // End-diastole (phase 1, TriggerTime 929 ms): the acceptance targets.
    // Measured 2026-11-24: Dice 0.925–0.965, 58.6 vs 62.5 mL (−6 %).
    let ed = stack
        .trigger_times
        .iter()
        .position(|&t| t > 900.0)
        .expect("ED");
    assert_eq!(ed, ed_phase);
    for s in slices.iter().filter(|s| s.phase == ed) {
        assert!(
            s.dice >= 0.85,
            "ED instance {}: Dice {}",
            s.instance,
            s.dice
        );
    }
    let (ours, theirs) = volumes[ed];
    assert!(
        (ours / theirs - 1.0).abs() < 0.10,
        "EDV {ours} vs {theirs} mL"
    );
    // End-systole falls short of those targets (measured 2026-12-02: Dice
    // 0.54–0.83, 19.7 vs 32.1 mL): the expert counts the papillary muscles
    // and trabeculae lying against the thickened wall as cavity — 44–76 % of
    // the contour's area on the slices below the base, only 6–8 grey levels
    // brighter than the wall (scripts/sunnybrook_es_contrast.py) — and this
    // method leaves them to the wall. Guard the present level against
    // regressions.
    let es = 1 - ed;
    for s in slices.iter().filter(|s| s.phase == es) {
        assert!(s.dice >= 0.5, "ES instance {}: Dice {}", s.instance, s.dice);
    }
    let (ours, theirs) = volumes[es];
    assert!(
        (0.55..1.1).contains(&(ours / theirs)),
        "ESV {ours} vs {theirs} mL"
    );
}

/// One expert-contoured slice scored: Dice, our area, the expert's area
/// (pixel centres inside the contour, and by the shoelace formula), mm².
struct SliceScore {
    phase: usize,
    instance: i32,
    dice: f64,
    ours_mm2: f64,
    expert_mm2: f64,
    shoelace_mm2: f64,
}

/// Every expert-contoured slice scored, and the volumes (ours, the
/// expert's by the shoelace formula) per phase by summation of discs (mL).
fn score(
    stack: &twin_imaging::Stack,
    expert: &Contours,
    masks: &[Mask],
) -> (Vec<SliceScore>, Vec<(f64, f64)>) {
    let mut volumes = vec![(0.0, 0.0); masks.len()];
    let mut slices = Vec::new();
    for (phase, headers) in stack.volumes.iter().enumerate() {
        let mask = &masks[phase];
        let [nx, ny, _] = mask.dims;
        let sp = mask.spacing;
        for (k, h) in headers.iter().enumerate() {
            let Some((n, poly)) = h
                .instance_number
                .and_then(|n| expert.get(&n).map(|p| (n, p)))
            else {
                continue;
            };
            let (mut both, mut ours, mut theirs) = (0usize, 0usize, 0usize);
            for j in 0..ny {
                for i in 0..nx {
                    let a = mask.get(i, j, k);
                    let b = inside(poly, i as f64, j as f64);
                    both += usize::from(a && b);
                    ours += usize::from(a);
                    theirs += usize::from(b);
                }
            }
            let px = sp[0] * sp[1];
            let s = SliceScore {
                phase,
                instance: n,
                dice: 2.0 * both as f64 / (ours + theirs) as f64,
                ours_mm2: ours as f64 * px,
                expert_mm2: theirs as f64 * px,
                shoelace_mm2: shoelace(poly) * px,
            };
            eprintln!(
                "phase {phase} instance {n}: Dice {:.3}, ours {:.0} mm², expert {:.0} mm² (shoelace {:.0})",
                s.dice, s.ours_mm2, s.expert_mm2, s.shoelace_mm2
            );
            volumes[phase].0 += s.ours_mm2 * sp[2] / 1000.0;
            volumes[phase].1 += s.shoelace_mm2 * sp[2] / 1000.0;
            slices.push(s);
        }
    }
    eprintln!("volumes (ours, expert) mL: {volumes:?}");
    (slices, volumes)
}

/// The learned LV cavity (`twin_mesh::cine_net`), found without a click,
/// against the expert on both phases: issue 22's acceptance (per-slice Dice
/// ≥ 0.85 at ED and ES; EDV and ESV within 10 %).
#[test]
fn learned_lv_cavity_matches_the_expert_without_a_click() {
    let Some((expert, report)) = subset() else {
        return;
    };
    let (_, _, stack) = report.stacks().next().expect("stack");
    let cine = load_cine(stack, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("cine");
    let grids = grids(&cine);
    let lv = twin_mesh::cine_net::lv_cavity(&grids, None, &Progress::new()).expect("LV");
    let pool = &lv.endocardial;
    eprintln!(
        "blood-pool convention: {:?}",
        lv.blood_pool.curve.volumes_ml
    );
    let (slices, volumes) = score(stack, &expert, &pool.masks);
    // Measured 2026-12-06 (network of scripts/train_cine_lv.py, 30 epochs):
    // per-slice Dice 0.92–0.97 at ED, 0.83–0.94 at ES (the basal ES slice,
    // instance 28: 1026 vs 733 mm², the border a pixel outside the expert's
    // all round, not a leak); EDV 69.7 vs
    // 62.5 mL (+11.5 %), ESV 35.2 vs 32.1 mL (+9.7 %), EF 49.5 vs 48.7 %.
    // Issue 22 asks for Dice ≥ 0.85 and volumes within 10 %: the basal
    // slice and the EDV are short of it. These bounds guard that level.
    let ed = stack
        .trigger_times
        .iter()
        .position(|&t| t > 900.0)
        .expect("ED");
    for s in &slices {
        let floor = if s.phase == ed { 0.90 } else { 0.80 };
        assert!(
            s.dice >= floor,
            "phase {} instance {}: Dice {:.3}",
            s.phase,
            s.instance,
            s.dice
        );
    }
    for (phase, &(ours, theirs)) in volumes.iter().enumerate() {
        assert!(
            (ours / theirs - 1.0).abs() <= 0.15,
            "phase {phase}: {ours:.1} vs the expert's {theirs:.1} mL"
        );
    }
    let ef = |(edv, esv): (f64, f64)| 100.0 * (edv - esv) / edv;
    let es = 1 - ed;
    let ours = ef((volumes[ed].0, volumes[es].0));
    let theirs = ef((volumes[ed].1, volumes[es].1));
    assert!(
        (ours - theirs).abs() <= 5.0,
        "EF {ours:.1} vs the expert's {theirs:.1} %"
    );
}

/// The LV epicardium against the expert's one epicardial contour of the
/// subset (instance 20: the basal slice at end diastole).
#[test]
fn epicardium_matches_the_experts_contour() {
    let Some((_, report)) = subset() else {
        return;
    };
    let root =
        twin_core::testdata::require("dicom/cmr_sax_sunnybrook_SCD0003701_subset").expect("subset");
    let epi = contours_of(&root.join("expert_contours"), "ocontour");
    let poly = &epi[&20];
    let (_, _, stack) = report.stacks().next().expect("stack");
    let cine = load_cine(stack, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("cine");
    let grids = grids(&cine);
    let options = twin_session::cine::CineOptions {
        myocardium: true,
        ..Default::default()
    };
    let a = twin_session::cine::analyse(&grids, options, &Progress::new()).expect("analysis");
    let (phase, k) = phase_and_slice(stack, 20);
    let m = a
        .myocardium
        .iter()
        .find(|m| m.phase == phase)
        .expect("myocardium at ED");
    let [nx, ny, _] = m.epicardium.dims;
    let (mut both, mut ours, mut theirs) = (0usize, 0usize, 0usize);
    for j in 0..ny {
        for i in 0..nx {
            let x = m.epicardium.get(i, j, k);
            let y = inside(poly, i as f64, j as f64);
            both += usize::from(x && y);
            ours += usize::from(x);
            theirs += usize::from(y);
        }
    }
    let dice = 2.0 * both as f64 / (ours + theirs) as f64;
    eprintln!(
        "epicardium, instance 20: Dice {dice:.3}, ours {ours} px, expert {theirs} px; mass at ED {:.1} g",
        m.mass_g
    );
    assert!(dice >= 0.85, "Dice {dice:.3}");
    assert!((ours as f64 / theirs as f64 - 1.0).abs() <= 0.15);
}
