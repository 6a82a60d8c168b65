use super::*;

fn scenario(duration: f64) -> Option<Scenario> {
    let dir = twin_core::testdata::require("msk/moco_2d_gait")?;
    let model = crate::Model::read(&dir.join("2D_gait.osim")).unwrap();
    let coords = Table::read(&dir.join("referenceCoordinates.sto")).unwrap();
    Some(Scenario::walking(&model, &coords, duration).unwrap())
}

/// A probe's setting from the environment.
fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `PROBE_SET="index=value,…"` overrides some parameters.
fn overrides(x: &mut [f64]) {
    for pair in std::env::var("PROBE_SET").unwrap_or_default().split(',') {
        if let Some((i, v)) = pair.split_once('=') {
            x[i.trim().parse::<usize>().unwrap()] = v.trim().parse().unwrap();
        }
    }
}

#[test]
fn geyer_herr_parameters_give_a_measured_gait() {
    let Some(s) = scenario(1.0) else { return };
    let (traj, o) = s.simulate(&initial_parameters()).unwrap();
    assert!(traj.states.len() > 10);
    assert!(o.cost.is_finite() && o.time > 0.1, "{o:?}");
    // A wrong-length vector is refused by name.
    let e = s.simulate(&[0.1; 3]).unwrap_err().to_string();
    assert!(e.contains("48 or 96 parameters"), "{e}");
}

/// Optimisation probe (release, by hand).
#[test]
#[ignore = "optimisation probe, run by hand"]
fn predict_probe() {
    let Some(s) = scenario(env_or("PROBE_T", 5.0)) else {
        return;
    };
    let x0 = initial_parameters();
    let clock = std::time::Instant::now();
    let (_, o) = s.simulate(&x0).unwrap();
    eprintln!("initial: {o:?} in {:.3} s", clock.elapsed().as_secs_f64());
    let generations = env_or("PROBE_G", 20);
    let settings = cmaes::Settings {
        population: 16,
        generations,
        sigma: 1.0,
        seed: 1,
        restarts: env_or("PROBE_R", 4),
    };
    let (best, cost) = cmaes::minimise(
        &x0,
        &parameter_scale(&x0),
        &settings,
        &|x| s.cost(x),
        &mut |g| {
            // PROBE_OUT: the best parameters so far, one per line.
            if let Ok(path) = std::env::var("PROBE_OUT") {
                let text: Vec<String> = g.best.iter().map(f64::to_string).collect();
                std::fs::write(path, text.join("\n")).unwrap();
            }
            eprintln!(
                "gen {} (restart {}, λ {}) best {:.3} mean {:.3} sigma {:.3} at {:.1} s",
                g.index,
                g.restart,
                g.population,
                g.best_cost,
                g.mean_cost,
                g.sigma,
                clock.elapsed().as_secs_f64()
            );
            true
        },
    );
    let (_, o) = s.simulate(&best).unwrap();
    eprintln!("best {cost:.3}: {o:?}");
    eprintln!("params {best:?}");
}

#[test]
#[ignore = "debug trace, run by hand"]
fn predict_trace() {
    let Some(s) = scenario(env_or("PROBE_T", 1.5)) else {
        return;
    };
    // PROBE_PARAMS: a file of parameters (one per line) to start from;
    // PROBE_SET="index=value,…" overrides some.
    let mut x = match std::env::var("PROBE_PARAMS") {
        Ok(path) => std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| l.trim().parse().unwrap())
            .collect(),
        Err(_) => initial_parameters(),
    };
    overrides(&mut x);
    let (traj, o) = s.simulate(&x).unwrap();
    let m = &s.plant.model;
    let names = [
        "pelvis_tilt",
        "pelvis_tx",
        "pelvis_ty",
        "hip_flexion_r",
        "knee_angle_r",
        "ankle_angle_r",
        "hip_flexion_l",
        "knee_angle_l",
        "ankle_angle_l",
    ];
    let idx: Vec<usize> = names.iter().map(|n| m.coordinate(n).unwrap()).collect();
    let mus: Vec<&str> = m.muscles.iter().map(|x| &x.name[..4]).collect();
    eprintln!("{mus:?}");
    for (i, st) in traj.states.iter().enumerate().step_by(3) {
        let fy: Vec<f64> = traj.contacts[i].iter().map(|(f, _)| f.y.round()).collect();
        let q: Vec<String> = idx.iter().map(|&k| format!("{:.2}", st.q[k])).collect();
        let e: Vec<String> = traj.excitations[i]
            .iter()
            .map(|v| format!("{v:.2}"))
            .collect();
        eprintln!(
            "{:.2} q {} fy {:?}\n     e {}",
            st.t,
            q.join(" "),
            fy,
            e.join(" ")
        );
    }
    eprintln!("{o:?}");
}

/// Quiet standing under the reflexes (probe, by hand): the model upright
/// with both feet on the floor, lumbar held.
#[test]
#[ignore = "standing probe, run by hand"]
fn standing_probe() {
    let Some(mut s) = scenario(3.0) else { return };
    let m = s.plant.model.clone();
    let mut q = s.plant.default_state().q;
    let set = |q: &mut Vec<f64>, name: &str, v: f64| q[m.coordinate(name).unwrap()] = v;
    for (name, v) in [
        ("ankle_angle_r", 0.09),
        ("ankle_angle_l", 0.09),
        ("pelvis_tilt", -0.09),
        ("lumbar", 0.0),
        ("hip_flexion_r", 0.0),
        ("hip_flexion_l", 0.0),
        ("knee_angle_r", 0.0),
        ("knee_angle_l", 0.0),
    ] {
        set(&mut q, name, v);
    }
    for (name, v) in std::env::var("PROBE_POSE")
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.split_once('='))
    {
        set(&mut q, name.trim(), v.trim().parse().unwrap());
    }
    let poses = m.body_poses(&q);
    let low = m
        .contacts
        .iter()
        .map(|c| (poses[c.body] * nalgebra::Point3::from(c.location)).y - c.radius)
        .fold(f64::INFINITY, f64::min);
    q[m.coordinate("pelvis_ty").unwrap()] += 0.002 - low;
    s.start.q.clone_from(&q);
    s.start.u.fill(0.0);
    s.plant.locked_values.clone_from(&q);
    let mut x = initial_parameters();
    overrides(&mut x);
    let (traj, o) = s.simulate(&x).unwrap();
    let names = [
        "pelvis_tilt",
        "pelvis_tx",
        "pelvis_ty",
        "hip_flexion_r",
        "knee_angle_r",
        "ankle_angle_r",
    ];
    let idx: Vec<usize> = names.iter().map(|n| m.coordinate(n).unwrap()).collect();
    for (i, st) in traj.states.iter().enumerate().step_by(10) {
        let q: Vec<String> = idx.iter().map(|&k| format!("{:.2}", st.q[k])).collect();
        let fy: Vec<f64> = traj.contacts[i].iter().map(|(f, _)| f.y.round()).collect();
        let e: Vec<String> = traj.excitations[i][..9]
            .iter()
            .map(|v| format!("{v:.2}"))
            .collect();
        eprintln!("{:.2} q {} fy {fy:?} e {}", st.t, q.join(" "), e.join(" "));
    }
    eprintln!("{o:?}");
}

/// The parameters `twin gait predict` found for the 2D model (the file
/// says how): a regression check that the engine, controller and cost
/// still make them walk, and of the gait metrics on a real walk.
/// The parameters of the walk kept in `examples/gait/predicted-intact-2d.json`
/// (`twin gait predict --duration 10 --sigma 0.5 --restarts 2 --seed 1`,
/// warm-started from a 10 s search of 80 generations that was itself
/// warm-started from the 5 s search of Geyer & Herr's values; the best at
/// generation 14, cost 12.821 over 10 s; docs/models/predictive.md).
fn saved_walk() -> Vec<f64> {
    let saved: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../examples/gait/predicted-intact-2d.json"
    ))
    .unwrap();
    saved["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn a_found_walk_still_walks_and_its_metrics_read_as_a_gait() {
    // The stability test: 20 s of walking (the search saw 10 s).
    let Some(s) = scenario(20.0) else { return };
    let x = saved_walk();
    let (traj, o) = s.simulate(&x).unwrap();
    assert!(!o.fell && o.time > 19.99, "{o:?}");
    assert!((1.1..1.4).contains(&o.mean_speed), "{o:?}");
    // Over the 10 s the search saw: its cost (at the ground-force weight
    // of then).
    let ten = Scenario {
        duration: 10.0,
        grf_weight: GRF_WEIGHT_BEFORE,
        ..s.clone()
    };
    let (_, o10) = ten.simulate(&x).unwrap();
    assert!((o10.cost - 12.821).abs() < 0.05, "{o10:?}");
    let g = metrics::gait_metrics(&s.plant, &traj, 1.0);
    eprintln!("{g:#?}");
    for side in [&g.right, &g.left] {
        assert!(side.strikes >= 3, "{g:?}");
        assert!((45.0..85.0).contains(&side.stance_percent), "{g:?}");
        assert!((0.3..1.0).contains(&side.step_length_m), "{g:?}");
        assert!(side.peak_grf_bw > 0.8 && side.peak_grf_bw < 3.0, "{g:?}");
        assert!(side.hip_deg[1] - side.hip_deg[0] > 15.0, "{g:?}");
    }
    assert!((0.8..1.4).contains(&g.speed_m_per_s), "{g:?}");
    assert!((70.0..150.0).contains(&g.cadence_steps_per_min), "{g:?}");
    // Step length × cadence is the speed.
    let from_steps =
        0.5 * (g.right.step_length_m + g.left.step_length_m) * g.cadence_steps_per_min / 60.0;
    assert!(
        (from_steps - g.speed_m_per_s).abs() < 0.15 * g.speed_m_per_s,
        "{from_steps} {g:?}"
    );
}

/// A fall shorter than twice the start-up: the metrics cover it all and
/// stay finite.
#[test]
fn the_metrics_of_a_fall_are_finite() {
    let Some(s) = scenario(1.0) else { return };
    let (traj, o) = s.simulate(&initial_parameters()).unwrap();
    assert!(o.fell);
    let g = metrics::gait_metrics(&s.plant, &traj, 1.0);
    assert!(g.from_s.abs() < 1e-12, "{g:?}");
    for side in [&g.right, &g.left] {
        for v in side
            .hip_deg
            .iter()
            .chain(&side.knee_deg)
            .chain(&side.ankle_deg)
        {
            assert!(v.is_finite(), "{g:?}");
        }
    }
    assert!(serde_json::to_string(&g).unwrap().find("null").is_none());
}

/// subject01's measured walk (gait10dof18musc): its joint angles over the
/// strides of its force plates.
fn measured() -> Option<Vec<crate::gait::CycleSeries>> {
    let dir = twin_core::testdata::require("msk/gait10dof18musc")?;
    let model = crate::Model::read(&dir.join("gait10dof18musc_subject01.osim")).unwrap();
    let q = Table::read(&dir.join("subject01_walk_IK.mot")).unwrap();
    let loads = crate::loads::ExternalLoads::read(
        &dir.join("gait10dof18musc_subject01_walk_grf.xml"),
        &model,
        None,
    )
    .unwrap();
    Some(metrics::measured_angles(&model, &q, &loads))
}

#[test]
fn a_trial_agrees_with_itself_and_not_with_its_other_side_shifted() {
    let Some(m) = measured() else { return };
    let knee = m.iter().find(|s| s.name == "knee_angle").unwrap();
    assert!(!knee.angle[0].is_empty() && !knee.angle[1].is_empty());
    for a in metrics::agreement(&m, &m) {
        assert!((a.r - 1.0).abs() < 1e-12 && a.rms_deg < 1e-12, "{a:?}");
    }
    // The knee curve against itself half a cycle later: no longer alike.
    let band = crate::gait::Band::of(&knee.angle[0]).unwrap();
    let shifted: Vec<f64> = (0..101).map(|k| band.mean[(k + 50) % 101]).collect();
    assert!(metrics::pearson(&band.mean, &shifted) < 0.5);
    let negated: Vec<f64> = band.mean.iter().map(|v| -v).collect();
    assert!((metrics::pearson(&band.mean, &negated) + 1.0).abs() < 1e-12);
}

/// The saved walk's joint angles against subject01's: printed, with the
/// agreement's bookkeeping checked (the thresholds a human-like gait must
/// meet are the and docs/models/predictive.md reports them).
#[test]
fn a_found_walk_is_compared_with_the_measured_trial() {
    let (Some(s), Some(m)) = (scenario(10.0), measured()) else {
        return;
    };
    let x = saved_walk();
    let (traj, _) = s.simulate(&x).unwrap();
    let predicted = metrics::cycle_angles(&s.plant, &traj, 1.0);
    let table = metrics::agreement(&predicted, &m);
    for a in &table {
        eprintln!("{a}");
        assert!(a.r.abs() <= 1.0 && a.rms_deg.is_finite(), "{a:?}");
        assert!(a.predicted_strides >= 2 && a.measured_strides >= 1, "{a:?}");
    }
    for joint in ["hip_flexion", "knee_angle", "ankle_angle"] {
        assert!(
            table.iter().filter(|a| a.joint == joint).count() == 2,
            "{joint}: {table:?}"
        );
    }
    // Joint work per stride: the ankles push off (positive work) and the
    // knees absorb more than they give, as in walking (Winter 2009), in
    // J/kg of a plausible size; each side over its complete strides.
    let work = s.joint_work(&traj, 1.0);
    eprintln!("{work:?}");
    for w in &work {
        assert!(w.strides >= 5, "{w:?}");
        assert!((0.05..2.0).contains(&w.positive_j_per_kg[2]), "{w:?}");
        assert!(w.negative_j_per_kg[1] < -0.05, "{w:?}");
        assert!(-w.negative_j_per_kg[1] > w.positive_j_per_kg[1], "{w:?}");
    }
    // The hips already follow the measured pattern (the issue asks r ≥ 0.8;
    // the knees and ankles do not yet: docs/models/predictive.md).
    for a in table.iter().filter(|a| a.joint == "hip_flexion") {
        assert!(a.r >= 0.8, "{a:?}");
    }
}

fn f0(s: &Scenario, name: &str) -> Option<f64> {
    s.plant
        .model
        .muscles
        .iter()
        .find(|m| m.name == name)
        .and_then(|m| m.parameters.get("max_isometric_force").copied())
}

#[test]
fn strength_changes_scale_the_named_muscles_only() {
    let Some(s) = scenario(0.2) else { return };
    let weak = s
        .with_strength(&[("soleus".into(), 0.3), ("gastroc_r".into(), 0.5)])
        .unwrap();
    for (name, k) in [
        ("soleus_r", 0.3),
        ("soleus_l", 0.3),
        ("gastroc_r", 0.5),
        ("gastroc_l", 1.0),
        ("vasti_r", 1.0),
    ] {
        let (a, b) = (f0(&s, name).unwrap(), f0(&weak, name).unwrap());
        assert!((b - k * a).abs() < 1e-9 * a, "{name}: {a} → {b}");
    }
    // The plant follows the model: a weaker soleus pulls less.
    let i = weak
        .plant
        .model
        .muscles
        .iter()
        .position(|m| m.name == "soleus_r")
        .unwrap();
    assert!(
        (weak.plant.muscles[i].p.max_isometric_force - 0.3 * f0(&s, "soleus_r").unwrap()).abs()
            < 1e-9
    );
    let e = s
        .with_strength(&[("soleos".into(), 0.3)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("soleos") && e.contains("soleus_r"), "{e}");
    let e = s
        .with_strength(&[("soleus".into(), 0.0)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("soleus") && e.contains("(0, 10]"), "{e}");
}

/// The right transtibial device of the saved walks: 400 N·m/rad,
/// 2 N·m·s/rad, neutral 0°, 1.2 kg.
fn right_device() -> crate::prosthesis::Prosthesis {
    crate::prosthesis::Prosthesis {
        side: "right".into(),
        stiffness_nm_per_rad: 400.0,
        plantar_stiffness_nm_per_rad: None,
        damping_nms_per_rad: 2.0,
        neutral_angle_deg: 0.0,
        alignment_offset_deg: 0.0,
        mass_kg: Some(1.2),
    }
}

#[test]
fn a_residual_strength_keeps_the_device_sides_ankle_muscles_weakened() {
    let Some(s) = scenario(0.2) else { return };
    let device = right_device();
    let full = s.with_prosthesis(&device).unwrap();
    let half = s.with_prosthesis_and_residual(&device, 0.5).unwrap();
    assert_eq!(
        full.plant.model.muscles.len() + 3,
        s.plant.model.muscles.len()
    );
    assert_eq!(half.plant.model.muscles.len(), s.plant.model.muscles.len());
    assert!(half.device.is_some() && full.device.is_some());
    assert!((half.device_share - 0.5).abs() < 1e-12 && (full.device_share - 1.0).abs() < 1e-12);
    for name in ["soleus_r", "gastroc_r", "tib_ant_r"] {
        assert!(f0(&full, name).is_none(), "{name}");
        let (a, b) = (f0(&s, name).unwrap(), f0(&half, name).unwrap());
        assert!((b - 0.5 * a).abs() < 1e-9 * a, "{name}");
    }
    assert_eq!(f0(&half, "soleus_l"), f0(&s, "soleus_l"));
    // The foot is the device's in both.
    let mass = |x: &Scenario| x.plant.model.mass();
    assert!((mass(&half) - mass(&full)).abs() < 1e-12);
    assert!(half.simulate(&initial_parameters()).is_ok());
    let e = s
        .with_prosthesis_and_residual(&device, 1.5)
        .unwrap_err()
        .to_string();
    assert!(e.contains("residual strength"), "{e}");
}

#[test]
fn compliant_tendons_are_kept_through_a_prosthesis_and_a_weakening() {
    let Some(s) = scenario(0.2) else { return };
    let names = ["soleus".to_owned(), "gastroc".to_owned()];
    let c = s.with_compliant_tendons(&names).unwrap();
    let compliant = |x: &Scenario| -> Vec<String> {
        x.plant
            .compliant
            .iter()
            .map(|&i| x.plant.model.muscles[i].name.clone())
            .collect()
    };
    assert_eq!(
        compliant(&c),
        ["gastroc_r", "soleus_r", "gastroc_l", "soleus_l"]
    );
    assert_eq!(c.start.tendon.len(), 4);
    let device = right_device();
    // The device side's ankle muscles are gone; the other side's keep
    // their compliant tendons, in equilibrium at the start.
    let p = c.with_prosthesis(&device).unwrap();
    assert_eq!(compliant(&p), ["gastroc_l", "soleus_l"]);
    assert_eq!(p.start.tendon.len(), 2);
    let weak = c.with_strength(&[("soleus".to_owned(), 0.3)]).unwrap();
    assert_eq!(compliant(&weak), compliant(&c));
    // Tendon forces are in F0: the same share of a weaker muscle.
    assert!((weak.start.tendon[1] - c.start.tendon[1]).abs() < 1e-9);
    assert!(p.simulate(&initial_parameters()).is_ok());
    let e = s
        .with_compliant_tendons(&["achilles".to_owned()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("achilles"), "{e}");
}

/// Speed probe (release, by hand): the saved walk simulated for 10 s with
/// each integration method.
#[test]
#[ignore = "speed probe, run by hand"]
fn walk_speed_probe() {
    use crate::forward::integrate::Method;
    let Some(s) = scenario(10.0) else { return };
    let x = saved_walk();
    for (method, rtol) in [
        (Method::DormandPrince, 1e-3),
        (Method::SemiImplicitEuler, 1e-2),
        (Method::SemiImplicitEuler, 3e-2),
    ] {
        let mut sc = s.clone();
        sc.settings.method = method;
        sc.settings.rtol = rtol;
        sc.settings.atol = rtol * 0.1;
        let clock = std::time::Instant::now();
        let (traj, o) = sc.simulate(&x).unwrap();
        let wall = clock.elapsed().as_secs_f64();
        eprintln!(
            "{method:?} {rtol:e}: {:.2} s simulated in {wall:.3} s ({:.0}x real time), {} steps, {} evaluations ({:.2} us each), cost {:.3}, fell {}, {:.2} m/s",
            o.time,
            o.time / wall,
            traj.steps,
            traj.evaluations,
            wall * 1e6 / traj.evaluations as f64,
            o.cost,
            o.fell,
            o.mean_speed
        );
    }
}

/// The muscles a saved solution's walk has compliant tendons in (none in
/// files from before the choice).
fn saved_compliant(text: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    serde_json::from_value(v["compliant"].clone()).unwrap_or_default()
}

/// Pearson r of each side of `joint` in an agreement table.
fn correlations(table: &[metrics::Agreement], joint: &str) -> Vec<f64> {
    table
        .iter()
        .filter(|a| a.joint == joint)
        .map(|a| a.r)
        .collect()
}

/// A saved solution's parameters and device (`examples/gait/*.json`).
fn saved_solution(text: &str) -> (Vec<f64>, Option<crate::prosthesis::Prosthesis>) {
    let saved: serde_json::Value = serde_json::from_str(text).unwrap();
    let x = saved["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let device = serde_json::from_value(saved["prosthesis"].clone()).unwrap();
    (x, device)
}

/// A saved intact walk and a saved walk on a transtibial device (the
/// device in the file), each in its file's setting (compliant tendons,
/// semi-implicit Euler): both walk 10 s at `speed`; the device walk costs
/// more per metre, pushes off less with the device than with its intact
/// ankle, works the intact side's hip harder than the intact walk does,
/// and stands longer on the intact leg.
fn device_walk_compensates(intact_text: &str, device_text: &str, speed: std::ops::Range<f64>) {
    use crate::forward::integrate::Method;
    let Some(s) = scenario(10.0) else { return };
    let compliant = saved_compliant;
    let intact = s
        .with_method(Method::SemiImplicitEuler)
        .with_compliant_tendons(&compliant(intact_text))
        .unwrap();
    assert_eq!(compliant(intact_text), compliant(device_text));
    let (xi, none) = saved_solution(intact_text);
    let (xp, device) = saved_solution(device_text);
    assert!(none.is_none());
    let device = device.unwrap();
    assert_eq!(device.side, "right");
    let pros = intact.with_prosthesis(&device).unwrap();
    let (ti, oi) = intact.simulate(&xi).unwrap();
    let (tp, op) = pros.simulate(&xp).unwrap();
    for o in [&oi, &op] {
        assert!(!o.fell && o.time > 9.99, "{o:?}");
        assert!(speed.contains(&o.mean_speed), "{o:?}");
    }
    // Costlier than the intact walk.
    assert!(op.cost_of_transport > oi.cost_of_transport, "{op:?} {oi:?}");
    let wi = intact.joint_work(&ti, 1.0);
    let wp = pros.joint_work(&tp, 1.0);
    eprintln!("intact {wi:?}\nprosthesis {wp:?}");
    // [right, left] × [hip, knee, ankle]: less push-off from the device
    // than from the intact ankle, and the intact side's hip working more
    // than in the intact walk.
    assert!(
        wp[0].positive_j_per_kg[2] < wp[1].positive_j_per_kg[2],
        "{wp:?}"
    );
    assert!(
        wp[1].positive_j_per_kg[0] > wi[1].positive_j_per_kg[0],
        "{wp:?} {wi:?}"
    );
    // Asymmetric: the intact leg stands longer.
    let g = metrics::gait_metrics(&pros.plant, &tp, 1.0);
    assert!(g.left.stance_s > g.right.stance_s, "{g:?}");
}

/// The walks kept in `examples/gait/predicted-intact-2d-euler.json` (found
/// with semi-implicit Euler from Geyer & Herr's values: 60 generations of
/// 5 s, then 150 of 10 s) and `predicted-prosthesis-2d.json` (a right
/// transtibial device, 400 N·m/rad, 2 N·m·s/rad, 1.2 kg, alone: 60 then
/// 150 generations warm-started from the intact walk; docs/models/
/// predictive.md): a regression check of the engine, controller and cost
/// on the two, and of what the prosthetic gait changes.
#[test]
fn the_saved_prosthetic_walk_walks_on_the_device_alone_and_compensates_as_amputees_do() {
    device_walk_compensates(
        include_str!("../../../../examples/gait/predicted-intact-2d-euler.json"),
        include_str!("../../../../examples/gait/predicted-prosthesis-2d.json"),
        1.1..1.4,
    );
}

/// The same device searched from the compliant-tendon walk
/// (`predicted-intact-2d-compliant.json` → `predicted-prosthesis-2d-
/// compliant.json`: 60, 150 and 150 generations; docs/models/
/// predictive.md), which walks a little below the speed band.
#[test]
fn the_compliant_walk_on_the_device_compensates_as_amputees_do() {
    device_walk_compensates(
        include_str!("../../../../examples/gait/predicted-intact-2d-compliant.json"),
        include_str!("../../../../examples/gait/predicted-prosthesis-2d-compliant.json"),
        1.0..1.4,
    );
}

#[test]
fn the_saved_semi_implicit_walk_is_compared_with_the_measured_trial() {
    use crate::forward::integrate::Method;
    let (Some(s), Some(m)) = (scenario(10.0), measured()) else {
        return;
    };
    let s = s.with_method(Method::SemiImplicitEuler);
    let (x, _) = saved_solution(include_str!(
        "../../../../examples/gait/predicted-intact-2d-euler.json"
    ));
    let (traj, o) = s.simulate(&x).unwrap();
    assert!(!o.fell, "{o:?}");
    let table = metrics::agreement(&metrics::cycle_angles(&s.plant, &traj, 1.0), &m);
    let r = |joint: &str| correlations(&table, joint);
    for a in &table {
        eprintln!("{a}");
    }
    // Hips as the issue asks; knees closer than the Dormand–Prince walk's
    // (0.31–0.44) but short of 0.8; ankles still out of phase
    // (docs/models/predictive.md).
    assert!(r("hip_flexion").iter().all(|&v| v >= 0.8), "{table:?}");
    assert!(r("knee_angle").iter().all(|&v| v >= 0.6), "{table:?}");
    // Peak vertical ground force per foot below the 2.1 BW of the older walk.
    let g = metrics::gait_metrics(&s.plant, &traj, 1.0);
    assert!(
        g.right.peak_grf_bw < 1.9 && g.left.peak_grf_bw < 1.9,
        "{g:?}"
    );
}

/// The walk kept in `examples/gait/predicted-intact-2d-compliant.json`:
/// soleus and gastrocnemius with compliant tendons, the ground-force
/// penalty at [`GRF_WEIGHT`], refined in four searches from the
/// semi-implicit Euler walk (docs/models/predictive.md), 10 s against
/// subject01.
#[test]
fn the_saved_compliant_walk_bends_its_knees_and_lands_as_people_do() {
    use crate::forward::integrate::Method;
    let (Some(s), Some(m)) = (scenario(10.0), measured()) else {
        return;
    };
    let text = include_str!("../../../../examples/gait/predicted-intact-2d-compliant.json");
    let saved: serde_json::Value = serde_json::from_str(text).unwrap();
    let compliant = saved_compliant(text);
    assert_eq!(compliant, ["soleus", "gastroc"]);
    assert!((saved["grf_weight"].as_f64().unwrap() - GRF_WEIGHT).abs() < 1e-12);
    let s = s
        .with_method(Method::SemiImplicitEuler)
        .with_compliant_tendons(&compliant)
        .unwrap();
    let (x, _) = saved_solution(text);
    let (traj, o) = s.simulate(&x).unwrap();
    assert!(!o.fell, "{o:?}");
    assert!((1.1..1.4).contains(&o.mean_speed), "{o:?}");
    let table = metrics::agreement(&metrics::cycle_angles(&s.plant, &traj, 1.0), &m);
    for a in &table {
        eprintln!("{a}");
    }
    let r = |joint: &str| correlations(&table, joint);
    // Hips and knees as the issue asks; ankles not yet (positive, short of
    // 0.6: the foot is held dorsiflexed through swing).
    assert!(r("hip_flexion").iter().all(|&v| v >= 0.8), "{table:?}");
    assert!(r("knee_angle").iter().all(|&v| v >= 0.8), "{table:?}");
    assert!(r("ankle_angle").iter().all(|&v| v > 0.0), "{table:?}");
    // Peak vertical ground force per foot within walking's 1.0–1.4 BW.
    let g = metrics::gait_metrics(&s.plant, &traj, 1.0);
    eprintln!("{g:?}");
    for peak in [g.right.peak_grf_bw, g.left.peak_grf_bw] {
        assert!((1.0..=1.4).contains(&peak), "{g:?}");
    }
    // It pushes off: more positive ankle work than the rigid-tendon walk's
    // 0.05 J/kg per stride.
    let w = s.joint_work(&traj, 1.0);
    assert!(w.iter().all(|w| w.positive_j_per_kg[2] > 0.15), "{w:?}");
}

/// The walk with both plantarflexors (soleus, gastrocnemius) at 30 % of
/// their strength kept in `examples/gait/predicted-plantarflexors-30-2d.json`
/// (80 generations at 1.1–1.4 m/s from the intact walk, then 60 with the
/// speed left free, 0.5–2 m/s; docs/models/predictive.md) against the
/// intact walk: what Ong et al. (2019) predicted for severe plantarflexor
/// weakness — a slower, "heel-walking" gait.
#[test]
fn weak_plantarflexors_walk_slower_on_their_heels() {
    use crate::forward::integrate::Method;
    let Some(s) = scenario(10.0) else { return };
    let intact = s.with_method(Method::SemiImplicitEuler);
    let weak = intact
        .with_strength(&[("soleus".into(), 0.3), ("gastroc".into(), 0.3)])
        .unwrap();
    let (xi, _) = saved_solution(include_str!(
        "../../../../examples/gait/predicted-intact-2d-euler.json"
    ));
    let (xw, _) = saved_solution(include_str!(
        "../../../../examples/gait/predicted-plantarflexors-30-2d.json"
    ));
    let (ti, oi) = intact.simulate(&xi).unwrap();
    let (tw, ow) = weak.simulate(&xw).unwrap();
    assert!(!oi.fell && !ow.fell, "{oi:?} {ow:?}");
    // Slower, and costlier per metre.
    assert!(ow.mean_speed < oi.mean_speed - 0.1, "{ow:?} {oi:?}");
    assert!(ow.cost_of_transport > oi.cost_of_transport, "{ow:?} {oi:?}");
    let gi = metrics::gait_metrics(&intact.plant, &ti, 1.0);
    let gw = metrics::gait_metrics(&weak.plant, &tw, 1.0);
    let wi = intact.joint_work(&ti, 1.0);
    let ww = weak.joint_work(&tw, 1.0);
    for side in 0..2 {
        let (a, b) = if side == 0 {
            (&gw.right, &gi.right)
        } else {
            (&gw.left, &gi.left)
        };
        // On the heels: the ankle further dorsiflexed, shorter steps, less
        // push-off.
        assert!(a.ankle_deg[1] > b.ankle_deg[1] + 5.0, "{a:?} {b:?}");
        assert!(a.step_length_m < b.step_length_m, "{a:?} {b:?}");
        assert!(
            ww[side].positive_j_per_kg[2] < wi[side].positive_j_per_kg[2],
            "{ww:?} {wi:?}"
        );
    }
}
