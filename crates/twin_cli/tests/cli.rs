//! The `twin` binary end to end.

use std::process::Command;

fn twin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_twin"))
}

/// Runs `cmd`, which must succeed (its stderr shown when not), and reads
/// its `--json` answer.
fn json_ok(cmd: &mut Command) -> serde_json::Value {
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Runs `twin cardio SUB FILE`, which must fail; its stderr.
fn cardio_fails(sub: &str, file: &std::path::Path) -> String {
    let o = twin().args(["cardio", sub]).arg(file).output().unwrap();
    assert!(!o.status.success());
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn phantom_then_ls_json_lists_both_demo_stacks() {
    let dir = tempfile::tempdir().unwrap();
    let out = twin().arg("phantom").arg(dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_ok(twin().args(["dicom", "ls", "--json"]).arg(dir.path()));
    let stacks = v["stacks"].as_array().unwrap();
    assert_eq!(stacks.len(), 2);
    let mr = stacks.iter().find(|s| s["modality"] == "MR").unwrap();
    assert_eq!(mr["dimensions"], serde_json::json!([192, 192, 14]));
    assert_eq!(mr["phases"], 20);
    let ct = stacks.iter().find(|s| s["modality"] == "CT").unwrap();
    assert_eq!(ct["dimensions"], serde_json::json!([320, 224, 150]));
    let sp = ct["spacing_mm"].as_array().unwrap();
    assert!((sp[2].as_f64().unwrap() - 3.0).abs() < 1e-6);
}

#[test]
fn ls_of_a_missing_folder_fails_with_its_name() {
    let out = twin()
        .args(["dicom", "ls", "/nonexistent/twin-study"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/twin-study"), "{err}");
}

#[test]
fn phantom_output_is_byte_identical_to_the_cached_demo_patient() {
    // Determinism across processes: the CLI writes the same bytes as the app's cache.
    let demo = twin_phantom::ensure_demo_patient().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = twin().arg("phantom").arg(dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut compared = 0;
    for sub in ["cardiac_mr_cine", "ct_lower_limbs"] {
        let mut names: Vec<_> = std::fs::read_dir(demo.root.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert!(!names.is_empty());
        for name in names.iter().step_by(17) {
            let a = std::fs::read(demo.root.join(sub).join(name)).unwrap();
            let b = std::fs::read(dir.path().join(sub).join(name)).unwrap();
            assert!(a == b, "{sub}/{name:?} differs between runs");
            compared += 1;
        }
    }
    assert!(compared > 20);
}

fn export(dir: &std::path::Path, series: &str, out: &std::path::Path) -> std::process::Output {
    twin()
        .args(["dicom", "export"])
        .arg(dir)
        .args(["--series", series, "--nifti"])
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn export_writes_nifti_outside_the_input_and_refuses_inside() {
    let demo = twin_phantom::ensure_demo_patient().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("legs.nii.gz");
    let o = export(&demo.ct_dir, "3.1", &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let back = twin_imaging::nifti_io::read_nifti(&out).unwrap();
    assert_eq!(back.dims, vec![320, 224, 150]);
    // Inside the input folder: refused, nothing written.
    let inside = demo.ct_dir.join("should-not-exist.nii");
    let o = export(&demo.ct_dir, "3.1", &inside);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("refusing to write"));
    assert!(!inside.exists());
    // Unknown stack: the error lists the stacks there are.
    let o = export(&demo.ct_dir, "9.9", &out);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("stacks: 3.1"));
}

/// `twin dicom ls ../shared/data/dicom --json` lists every series of the shared
/// data with the dimensions of its assembled volume (dcm2niix's for the dcm_qa
/// series, the MANIFEST's for the others) and its phases.
#[test]
fn ls_json_lists_every_shared_series_with_its_dimensions() {
    let Some(dir) = twin_core::testdata::require("dicom") else {
        return;
    };
    let v = json_ok(twin().args(["dicom", "ls", "--json"]).arg(&dir));
    assert_eq!(v["unreadable"].as_array().unwrap().len(), 0);
    let mut got: Vec<(String, [u64; 3], u64)> = v["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let d = s["dimensions"].as_array().unwrap();
            (
                s["series_description"].as_str().unwrap().trim().to_owned(),
                [0, 1, 2].map(|i| d[i].as_u64().unwrap()),
                s["phases"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, [u64; 3], u64)> = [
        ("DTI_PA-ALL_20d", [80, 80, 40], 13),
        // Gantry-tilt CT: 28 irregular slices resampled every 4.22 mm.
        ("", [512, 512, 37], 1),
        ("ThorRoutine  2.0  D40s", [512, 512, 154], 1),
        // One EPI mosaic in nine transfer syntaxes: nine volumes of 64×64×35.
        ("ax_asc_35sl", [64, 64, 35], 9),
        ("t1_fl2d_sag", [256, 256, 35], 1),
        ("t1_fl2d_sag", [256, 256, 35], 1),
        ("t1_fl2d_sag", [256, 256, 35], 1),
        ("t1_fl2d_sag", [256, 256, 35], 1),
        ("anat-T1w_acq-tfl", [128, 128, 96], 1),
        ("gre_field_mapping", [64, 64, 33], 2),
        ("gre_field_mapping", [64, 64, 33], 1),
        ("asl_2d_tra", [64, 64, 12], 7),
        ("REST1 w SMS PF7-8", [64, 64, 6], 4),
        ("B0 NS", [64, 64, 32], 2),
        ("3DpCASL", [96, 96, 40], 1),
        ("3DpCASL", [96, 96, 40], 1),
        ("fcMRI Field Mapping", [80, 80, 53], 4),
        ("fcMRI Field Mapping", [80, 80, 53], 4),
        // Sunnybrook: ED and ES, five slices each at their own positions.
        ("CINESAX", [256, 256, 5], 2),
        // Barré: 16 frames, no geometry.
        ("", [256, 256, 1], 16),
    ]
    .into_iter()
    .map(|(d, dims, p)| (d.to_owned(), dims, p))
    .collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn anonymize_writes_a_clean_copy_and_refuses_to_write_into_the_input() {
    let demo = twin_phantom::ensure_demo_patient().expect("demo");
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("anon");
    let v = json_ok(
        twin()
            .args(["dicom", "anonymize", "--json", "--shift-dates", "-30"])
            .arg(&demo.ct_dir)
            .arg(&dest),
    );
    assert_eq!(v["files_written"], 150);
    // The copy lists as the same stack, without the demo identity.
    let o = twin()
        .args(["dicom", "ls", "--json"])
        .arg(&dest)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(!text.contains("DEMO^PATIENT") && !text.contains("TWIN-DEMO"));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["stacks"][0]["dimensions"],
        serde_json::json!([320, 224, 150])
    );
    // Into the input: refused, nothing written.
    let o = twin()
        .args(["dicom", "anonymize"])
        .arg(&demo.ct_dir)
        .arg(demo.ct_dir.join("anon"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("outside the input"));
    assert!(!demo.ct_dir.join("anon").exists());
}

fn mesh_json(args: &[&str], dir: &std::path::Path, out: &std::path::Path) -> serde_json::Value {
    json_ok(
        twin()
            .arg("mesh")
            .arg(dir)
            .args(args)
            .arg("--out")
            .arg(out)
            .arg("--json"),
    )
}

#[test]
fn mesh_writes_watertight_bones_and_rejects_bad_requests() {
    let demo = twin_phantom::ensure_demo_patient().expect("demo");
    let out = tempfile::tempdir().unwrap();
    let stl = out.path().join("bones.stl");
    let v = mesh_json(
        &["--series", "3.1", "--threshold", "200", "--smooth", "10"],
        &demo.root,
        &stl,
    );
    assert_eq!(v["watertight"], true, "{v}");
    // The anti-aliased mask surface encloses 674.5 mL (measured 2026-11-24);
    // the grey-level surface at 200 HU 732 mL. Four closed bones.
    let ml = v["volume_ml"].as_f64().unwrap();
    assert!((650.0..760.0).contains(&ml), "{v}");
    assert_eq!(v["euler"], 8, "{v}");
    // The file holds the same mesh.
    let back = twin_mesh::io::read_mesh(&stl).unwrap().stats();
    assert!(back.watertight());
    assert!((back.volume_mm3 / 1000.0 / ml - 1.0).abs() < 1e-4);
    // Decimated to a sixth: same topology, same volume within 1 %.
    let target = v["triangles"].as_u64().unwrap() / 6;
    let d = mesh_json(
        &[
            "--series",
            "3.1",
            "--threshold",
            "200",
            "--smooth",
            "10",
            "--decimate",
            &target.to_string(),
        ],
        &demo.root,
        &out.path().join("bones-small.obj"),
    );
    assert!(d["triangles"].as_u64().unwrap() <= target, "{d}");
    assert_eq!(d["watertight"], true, "{d}");
    assert_eq!(d["euler"], 8, "{d}");
    assert!(
        (d["volume_ml"].as_f64().unwrap() / ml - 1.0).abs() < 0.01,
        "{d}"
    );
    // Nothing selected, and a seed outside the volume: clear errors.
    for (args, want) in [
        (vec!["--threshold", "5000"], "selects no voxel"),
        (vec!["--seed", "9999,0,0"], "outside the volume"),
        (
            vec!["--threshold", "200", "--decimate", "2"],
            "at least 4 triangles",
        ),
        (
            vec!["--threshold", "200", "--antialias", "-1"],
            "--antialias",
        ),
    ] {
        let o = twin()
            .arg("mesh")
            .arg(&demo.root)
            .args(["--series", "3.1"])
            .args(&args)
            .arg("--out")
            .arg(out.path().join("x.ply"))
            .output()
            .unwrap();
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn chest_ct_bone_mesh_is_watertight_after_processing() {
    let Some(dir) = twin_core::testdata::require("dicom/ct_chest_covidctmd_normal001/dicom") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let v = mesh_json(
        &["--series", "4.1", "--threshold", "250", "--smooth", "10"],
        &dir,
        &out.path().join("chest.ply"),
    );
    assert_eq!(v["watertight"], true, "{v}");
    assert!(v["triangles"].as_u64().unwrap() > 100_000, "{v}");
}

/// A seed in the demo cine's LV cavity (patient mm): its LV axis passes
/// through the image centre; this point is voxel (96, 96, 5) of the stack
/// (from the phantom's geometry).
fn demo_lv_seed(c: &twin_phantom::cardiac::CardiacPhantom) -> Vec<String> {
    let p0 = c.slice_position(5);
    let o = c.orientation();
    let half = 95.5 * c.pixel_mm;
    (0..3)
        .map(|a| {
            format!(
                "{:.3}",
                p0[a] + (o[a] + o[3 + a]) * (half + 0.5 * c.pixel_mm)
            )
        })
        .collect()
}

#[test]
fn twin_calibrate_takes_its_targets_from_the_cine() {
    let demo = twin_phantom::ensure_demo_patient().expect("demo");
    let c = &demo.cardiac;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.twin.json");
    let out = twin()
        .args(["twin", "new", "cine twin", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = twin()
        .args(["twin", "calibrate"])
        .arg(&file)
        .arg("--cine")
        .arg(&demo.root)
        .arg("5.1")
        .arg(demo_lv_seed(c).join(","))
        // The phantom has no papillary muscles: its blood pool is the truth.
        .args(["--convention", "blood-pool"])
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let cardio = &t["cardio"];
    let edv = cardio["targets"]["lv_edv_ml"].as_f64().unwrap();
    let esv = cardio["targets"]["lv_esv_ml"].as_f64().unwrap();
    assert!((edv / c.edv_ml - 1.0).abs() < 0.03, "{cardio}");
    assert!((esv / c.esv_ml - 1.0).abs() < 0.03, "{cardio}");
    let source = cardio["source"].as_str().unwrap();
    assert!(
        source.starts_with("LV curve of series 5.1 (learned blood pool): EDV"),
        "{source}"
    );
    assert!(source.ends_with("cuff 120/80 mmHg"), "{source}");
    // Volumes and a cine at once: refused.
    let out = twin()
        .args(["twin", "calibrate"])
        .arg(&file)
        .args(["--edv", "120", "--cine"])
        .arg(&demo.root)
        .args(["5.1", "0,0,0", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn cine_lv_reports_the_demo_hearts_volumes_and_ef() {
    let demo = twin_phantom::ensure_demo_patient().expect("demo");
    let c = &demo.cardiac;
    let seed = demo_lv_seed(c);
    // The phantom's cavity has no papillary muscles or trabeculae: its blood
    // pool is the truth. Found without a click, and with one.
    let run = |extra: &[&str]| {
        let out = twin()
            .args(["cine-lv", "--json", "--series", "5.1"])
            .args(extra)
            .arg(&demo.root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let v = run(&["--convention", "blood-pool"]);
    assert_eq!(v["method"], "learned", "{v}");
    assert_eq!(v["quality_flags"].as_array().unwrap().len(), 0, "{v}");
    // A confidence for every slice of every phase, high on the phantom's
    // crisp cavity wherever the LV was found, none past its apex. Measured
    // 2026-12-07: 0.65–0.91 elsewhere, 0.32–0.54 on seven
    // apical slices (11–12) where the cavity is a partial-volume cap.
    let confidence = v["confidence"].as_array().unwrap();
    assert_eq!(confidence.len(), 20);
    let low = v["low_confidence"].as_f64().unwrap();
    for phase in confidence {
        let slices = phase.as_array().unwrap();
        assert_eq!(slices.len(), 14);
        let found: Vec<f64> = slices
            .iter()
            .filter_map(serde_json::Value::as_f64)
            .collect();
        assert!(found.len() >= 8, "{phase}");
        assert!(found.iter().all(|&c| (0.0..=1.0).contains(&c)), "{phase}");
        // Sure of every slice but the apex's partial-volume ones.
        let sure = found.iter().filter(|&&c| c >= low).count();
        assert!(sure + 2 >= found.len(), "{phase}");
        assert!(slices.last().unwrap().is_null(), "{phase}");
    }
    // The unsure slices are named for review (the apical ones here).
    for r in v["review"].as_array().unwrap() {
        let r = r.as_str().unwrap();
        assert!(r.contains("slice 11") || r.contains("slice 12"), "{r}");
    }
    let volumes = v["volumes_ml"].as_array().unwrap();
    assert_eq!(volumes.len(), 20);
    for (p, got) in volumes.iter().enumerate() {
        let truth = c.lv_volume_ml(p);
        let got = got.as_f64().unwrap();
        assert!(
            (got / truth - 1.0).abs() < 0.03,
            "phase {p}: {got} vs {truth} mL"
        );
    }
    let seeded = run(&["--convention", "blood-pool", "--seed", &seed.join(",")]);
    assert_eq!(seeded["volumes_ml"], v["volumes_ml"], "{seeded}");
    // The expert's convention is reported beside it, never smaller.
    let other = v["other_convention"]["edv_ml"].as_f64().unwrap();
    assert!(other >= v["edv_ml"].as_f64().unwrap(), "{v}");
    let edv = v["edv_ml"].as_f64().unwrap();
    let esv = v["esv_ml"].as_f64().unwrap();
    assert!((edv / c.edv_ml - 1.0).abs() < 0.03, "{v}");
    assert!((esv / c.esv_ml - 1.0).abs() < 0.03, "{v}");
    let ef_truth = 100.0 * (c.edv_ml - c.esv_ml) / c.edv_ml;
    assert!(
        (v["ef_percent"].as_f64().unwrap() - ef_truth).abs() < 2.0,
        "{v}"
    );
    // The myocardium and the RV, found without a click, with every contour
    // written out (never into the input folder).
    let out_dir = tempfile::tempdir().unwrap();
    let contours = out_dir.path().join("contours.json");
    let full = run(&[
        "--convention",
        "blood-pool",
        "--myocardium",
        "--rv",
        "--contours",
        contours.to_str().unwrap(),
    ]);
    let myo = &full["lv_myocardium"];
    for key in ["ed_volume_ml", "es_volume_ml"] {
        let got = myo[key].as_f64().unwrap();
        assert!((got / c.myocardium_ml - 1.0).abs() < 0.05, "{key}: {full}");
    }
    assert_eq!(myo["aha"].as_array().unwrap().len(), 16, "{full}");
    let rv = &full["rv"];
    assert_eq!(rv["ed_phase"], v["ed_phase"], "{rv}");
    assert_eq!(rv["es_phase"], v["es_phase"], "{rv}");
    for (p, got) in rv["volumes_ml"].as_array().unwrap().iter().enumerate() {
        let truth = c.rv_volume_ml(p);
        let got = got.as_f64().unwrap();
        assert!(
            (got / truth - 1.0).abs() < 0.06,
            "RV phase {p}: {got} vs {truth} mL"
        );
    }
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&contours).unwrap()).unwrap();
    assert_eq!(file["affines"].as_array().unwrap().len(), 20);
    let kinds: std::collections::BTreeSet<&str> = file["contours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["lv-endocardium", "lv-epicardium", "rv-endocardium"]
    );
    // The RV from a seed in its cavity gives the same curve.
    let rv_seed: Vec<String> = rv["seed_mm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| format!("{}", x.as_f64().unwrap()))
        .collect();
    let seeded = run(&["--rv-seed", &rv_seed.join(",")]);
    assert_eq!(seeded["rv"]["volumes_ml"], rv["volumes_ml"], "{seeded}");
    // The contours may not go into the cine's folder.
    let out = twin()
        .args(["cine-lv", "--series", "5.1", "--contours"])
        .arg(demo.root.join("c.json"))
        .arg(&demo.root)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!demo.root.join("c.json").exists());
    // A seed outside the volume is an error.
    for method in ["learned", "threshold"] {
        let out = twin()
            .args(["cine-lv", "--series", "5.1", "--seed", "9999,9999,9999"])
            .args(["--method", method])
            .arg(&demo.root)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("outside the volume"),
            "{method}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The threshold method needs its seed.
    let out = twin()
        .args(["cine-lv", "--series", "5.1", "--method", "threshold"])
        .arg(&demo.root)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seed"));
}

#[test]
fn every_example_scenario_runs_and_cardio_calibrate_meets_its_targets() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let o = twin()
            .args(["cardio", "run", "--json", "--scenario"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(
            v["indices"]["cardiac_output_l_min"].as_f64().unwrap() > 1.0,
            "{v}"
        );
        assert!(v["blood_volume_drift"].as_f64().unwrap() < 1e-6, "{v}");
        n += 1;
    }
    assert!(n >= 12, "{n} scenarios");
    let o = twin()
        .args([
            "cardio",
            "calibrate",
            "--json",
            "--hr",
            "70",
            "--sbp",
            "120",
            "--dbp",
            "80",
            "--edv",
            "120.5",
            "--esv",
            "48",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for r in v["residuals"].as_array().unwrap() {
        assert!(r["error_percent"].as_f64().unwrap().abs() < 2.0, "{r}");
    }
    // Non-physiological targets are refused, naming the field.
    let o = twin()
        .args([
            "cardio",
            "calibrate",
            "--hr",
            "70",
            "--sbp",
            "80",
            "--dbp",
            "120",
            "--edv",
            "120",
            "--esv",
            "48",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("dbp_mmhg"));
    // A broken scenario names the file.
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        bad.path(),
        r#"{"name":"x","interventions":[{"kind":"tavr","eoa_cm2":9}]}"#,
    )
    .unwrap();
    let o = twin()
        .args(["cardio", "run", "--scenario"])
        .arg(bad.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("tavr.eoa_cm2"), "{err}");
}

#[test]
fn gait_ik_then_id_write_opensim_files_and_a_summary() {
    let Some(dir) = twin_core::testdata::require("msk/gait2354_subject01") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let v = json_ok(
        twin()
            .args(["gait", "ik", "--json", "--model"])
            .arg(dir.join("ik_check/subject01_simbody.osim"))
            .arg("--trc")
            .arg(dir.join("ik_check/subject01_synthetic_marker_data.trc"))
            .arg("--tasks")
            .arg(dir.join("ik_check/gait2354_IK_Tasks_uniform.xml"))
            .args(["--time", "0.4:1.6", "--out"])
            .arg(out.path().join("ik")),
    );
    assert_eq!(v["frames"], 73);
    assert!(v["marker_max_error_mm"].as_f64().unwrap() < 1.0, "{v}");
    let motion = out.path().join("ik/subject01_synthetic_marker_data_ik.mot");
    assert!(motion.exists());
    // ID on our own IK output, with the walk's loads.
    let v = json_ok(
        twin()
            .args(["gait", "id", "--json", "--model"])
            .arg(dir.join("subject01.osim"))
            .arg("--motion")
            .arg(&motion)
            .arg("--loads")
            .arg(dir.join("subject01_walk1_grf.xml"))
            .args(["--time", "0.5:1.6", "--out"])
            .arg(out.path().join("id")),
    );
    assert_eq!(v["frames"], 67);
    let ankle = v["peaks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["coordinate"] == "ankle_angle_r_moment")
        .unwrap();
    // MANIFEST §3.2: peak plantar-flexor moment −128.87 N·m (−1.775 N·m/kg)
    // at 1.2333 s in OpenSim's ID.
    assert!(
        (ankle["min"].as_f64().unwrap() + 128.9).abs() < 6.0,
        "{ankle}"
    );
    assert!(
        (ankle["min_at_s"].as_f64().unwrap() - 1.233).abs() < 0.02,
        "{ankle}"
    );
    let right = &v["feet"].as_array().unwrap()[0];
    assert!(
        (right["heel_strikes_s"][0].as_f64().unwrap() - 0.618).abs() < 2e-3,
        "{right}"
    );
    assert!(
        out.path()
            .join("id/subject01_synthetic_marker_data_ik_id.sto")
            .exists()
    );
    // Refusals: an output inside an input's folder, a missing model, GRF
    // without a loads file.
    let inside = twin()
        .args(["gait", "ik", "--model"])
        .arg(dir.join("subject01.osim"))
        .arg("--trc")
        .arg(dir.join("subject01_walk1.trc"))
        .arg("--out")
        .arg(dir.join("results"))
        .output()
        .unwrap();
    assert!(!inside.status.success());
    assert!(String::from_utf8_lossy(&inside.stderr).contains("inside the input"));
    assert!(!dir.join("results").exists());
    let missing = twin()
        .args(["gait", "ik", "--model", "/nonexistent/model.osim", "--trc"])
        .arg(dir.join("subject01_walk1.trc"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/model.osim"));
    let no_loads = twin()
        .args(["gait", "id", "--model"])
        .arg(dir.join("subject01.osim"))
        .arg("--motion")
        .arg(&motion)
        .arg("--grf")
        .arg(dir.join("subject01_walk1_grf.mot"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&no_loads.stderr).contains("--loads"));
}

#[test]
fn gait_c3d_writes_trc_and_grf_for_opensim() {
    let Some(dir) = twin_core::testdata::require("msk/c3d") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let v = json_ok(
        twin()
            .args(["gait", "c3d", "--json"])
            .arg(dir.join("walking2.c3d"))
            .arg("--out")
            .arg(out.path()),
    );
    assert_eq!(
        (v["markers"].as_u64(), v["frames"].as_u64()),
        (Some(44), Some(1249))
    );
    // One stance on each plate; plate 2's unzeroed baseline (about −20 N)
    // does not count as contact.
    let plates = v["plates"].as_array().unwrap();
    for (p, peak) in plates.iter().zip([951.0, 746.9]) {
        assert!(
            (p["peak_normal_force_n"].as_f64().unwrap() - peak).abs() < 0.1,
            "{p}"
        );
        assert_eq!(p["contacts_s"].as_array().unwrap().len(), 1, "{p}");
    }
    let markers = twin_msk::Markers::read_trc(&out.path().join("walking2.trc")).unwrap();
    assert_eq!(markers.frames(), 1249);
    let grf = twin_msk::Table::read(&out.path().join("walking2_grf.mot")).unwrap();
    assert_eq!((grf.rows(), grf.labels.len()), (9992, 18));
    // A file that is not C3D is refused by name, and nothing is written.
    let bad = out.path().join("notes.c3d");
    std::fs::write(&bad, "not a c3d").unwrap();
    let o = twin()
        .args(["gait", "c3d"])
        .arg(&bad)
        .arg("--out")
        .arg(out.path().join("bad"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("notes.c3d"));
    assert!(!out.path().join("bad").exists());
}

#[test]
fn gait_scale_measures_a_static_trial_and_ik_uses_it() {
    let Some(dir) = twin_core::testdata::require("msk/gait2354_subject01") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(out.path().join("setup")).unwrap();
    let setup = out.path().join("setup/scale.xml");
    std::fs::write(
        &setup,
        r#"<OpenSimDocument Version="40000"><ScaleTool name="subject01"><ModelScaler><MeasurementSet><objects>
             <Measurement name="pelvis">
               <MarkerPairSet><objects>
                 <MarkerPair><markers>R.ASIS L.ASIS</markers></MarkerPair>
                 <MarkerPair><markers>R.ASIS V.Sacral</markers></MarkerPair>
               </objects></MarkerPairSet>
               <BodyScaleSet><objects><BodyScale name="pelvis"><axes>X Y Z</axes></BodyScale></objects></BodyScaleSet>
             </Measurement>
           </objects></MeasurementSet></ModelScaler></ScaleTool></OpenSimDocument>"#,
    )
    .unwrap();
    // The first 0.1 s of the walk stand in for a static trial: the model
    // is already scaled to this subject, so the pelvis factor is near 1.
    let v = json_ok(
        twin()
            .args(["gait", "scale", "--json", "--model"])
            .arg(dir.join("subject01.osim"))
            .arg("--static")
            .arg(dir.join("subject01_walk1.trc"))
            .arg("--setup")
            .arg(&setup)
            .args(["--mass", "75", "--time", "0:0.1", "--out"])
            .arg(out.path().join("scale")),
    );
    let f = v["measurements"][0]["factor"].as_f64().unwrap();
    assert!((0.9..1.1).contains(&f), "{v}");
    let scale = out.path().join("scale/subject01_walk1_scale.json");
    let ik = twin()
        .args(["gait", "ik", "--json", "--model"])
        .arg(dir.join("subject01.osim"))
        .arg("--scale")
        .arg(&scale)
        .arg("--trc")
        .arg(dir.join("subject01_walk1.trc"))
        .args(["--time", "0:0.1", "--out"])
        .arg(out.path().join("ik"))
        .output()
        .unwrap();
    assert!(
        ik.status.success(),
        "{}",
        String::from_utf8_lossy(&ik.stderr)
    );
    // A scale file naming a body the model lacks is refused by name.
    std::fs::write(
        &scale,
        r#"{"factors": {"wing": [1, 1, 1]}, "mass_kg": null}"#,
    )
    .unwrap();
    let bad = twin()
        .args(["gait", "ik", "--model"])
        .arg(dir.join("subject01.osim"))
        .arg("--scale")
        .arg(&scale)
        .arg("--trc")
        .arg(dir.join("subject01_walk1.trc"))
        .arg("--out")
        .arg(out.path().join("ik2"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`wing`"));
}

#[test]
fn gait_id_writes_each_feet_stride_over_the_gait_cycle() {
    let Some(dir) = twin_core::testdata::require("msk/gait10dof18musc") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let v = json_ok(
        twin()
            .args(["gait", "id", "--json", "--model"])
            .arg(dir.join("gait10dof18musc_subject01.osim"))
            .arg("--motion")
            .arg(dir.join("subject01_walk_IK.mot"))
            .arg("--loads")
            .arg(dir.join("gait10dof18musc_subject01_walk_grf.xml"))
            .arg("--out")
            .arg(out.path()),
    );
    let cycles = v["cycles"].as_array().unwrap();
    assert_eq!(cycles.len(), 2, "{v}");
    // MANIFEST §3.1: right heel strikes at 0.6183 and 1.8533 s.
    let right = cycles.iter().find(|c| c["foot"] == "right").unwrap();
    assert!(
        (right["stride_s"][0].as_f64().unwrap() - 0.618).abs() < 2e-3,
        "{right}"
    );
    assert!(
        (right["stride_s"][1].as_f64().unwrap() - 1.853).abs() < 2e-3,
        "{right}"
    );
    // Stance 0.792 s (64.1 %) and swing the rest of the 1.235-s stride.
    let foot = v["feet"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "right")
        .unwrap();
    let (stance, swing) = (&foot["stance"][0], &foot["swing"][0]);
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    assert!((f(&stance[0]) - 0.792).abs() < 3e-3, "{foot}");
    assert!((f(&swing[0]) - 0.443).abs() < 3e-3, "{foot}");
    assert!(
        (f(&stance[1]) + f(&swing[1]) - 100.0).abs() < 1e-9,
        "{foot}"
    );
    let table =
        twin_msk::Table::read(std::path::Path::new(right["output"].as_str().unwrap())).unwrap();
    assert_eq!(table.rows(), 101);
    assert!((table.time[100] - 100.0).abs() < 1e-12);
    assert!(table.column("ankle_angle_r_moment").is_some());
}

#[test]
fn gait_norm_builds_a_reference_and_id_scores_against_it() {
    let (Some(s1), Some(g10)) = (
        twin_core::testdata::require("msk/gait2354_subject01"),
        twin_core::testdata::require("msk/gait10dof18musc"),
    ) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let trial = format!(
        "{},{},{}",
        s1.join("subject01.osim").display(),
        s1.join("subject01_walk1_ik.mot").display(),
        s1.join("subject01_walk1_grf.xml").display()
    );
    let v = json_ok(
        twin()
            .args([
                "gait",
                "norm",
                "--json",
                "--source",
                "subject01 walk1",
                "--trial",
            ])
            .arg(&trial)
            .arg("--out")
            .arg(out.path()),
    );
    assert_eq!(v["trials"][0]["strides"], serde_json::json!([2, 2]), "{v}");
    // Both sides pooled: four strides per sided variable.
    assert_eq!(v["variables"]["knee_angle"], 4, "{v}");
    assert_eq!(v["variables"]["ankle_angle_moment"], 4, "{v}");
    let reference = v["output"].as_str().unwrap().to_owned();
    let r = twin_msk::normative::Reference::read(std::path::Path::new(&reference)).unwrap();
    assert_eq!(r.source, "subject01 walk1");
    // The planar model's walk of the same subject, scored against it.
    let id = |reference: &str, extra: &[&str]| {
        let mut c = twin();
        c.args(["gait", "id", "--json", "--model"])
            .arg(g10.join("gait10dof18musc_subject01.osim"))
            .arg("--motion")
            .arg(g10.join("subject01_walk_IK.mot"))
            .args(["--reference", reference])
            .args(extra)
            .arg("--out")
            .arg(out.path().join("id"));
        c
    };
    let loads = g10.join("gait10dof18musc_subject01_walk_grf.xml");
    let v = json_ok(&mut id(&reference, &["--loads", loads.to_str().unwrap()]));
    let scores = &v["reference"];
    let gps = scores["gait_profile_score_deg"].as_f64().unwrap();
    assert!(gps > 0.5 && gps < 5.0, "{scores}");
    let knee = scores["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["variable"] == "knee_angle_moment" && s["side"] == "left")
        .unwrap();
    assert!(knee["gvs"].as_f64().unwrap() < 0.3, "{knee}");
    // Without loads there are no strides to score.
    let o = id(&reference, &[]).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs the strides"));
    // A malformed trial and a malformed reference are named.
    let o = twin()
        .args(["gait", "norm", "--source", "x", "--trial", "a.osim,b.mot"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("expected MODEL.osim,MOTION.mot,LOADS.xml")
    );
    let bad = out.path().join("bad.csv");
    std::fs::write(&bad, "# twinscope gait reference 1\nvariable,unit,percent,mean,sd,strides\nknee_angle,deg,0,1,1\n").unwrap();
    let o = id(bad.to_str().unwrap(), &["--loads", loads.to_str().unwrap()])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && e.contains("bad.csv") && e.contains("line 3"),
        "{e}"
    );
}

#[test]
fn gait_so_writes_activations_forces_and_reserve_use() {
    let Some(dir) = twin_core::testdata::require("msk/gait10dof18musc") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let v = json_ok(
        twin()
            .args([
                "gait",
                "so",
                "--json",
                "--moment-arms",
                "--time",
                "0.6:1.9",
                "--model",
            ])
            .arg(dir.join("gait10dof18musc_subject01.osim"))
            .arg("--motion")
            .arg(dir.join("subject01_walk_IK.mot"))
            .arg("--loads")
            .arg(dir.join("gait10dof18musc_subject01_walk_grf.xml"))
            .arg("--out")
            .arg(out.path()),
    );
    assert_eq!(v["frames"], 79, "{v}");
    let muscles = v["muscles"].as_array().unwrap();
    assert_eq!(muscles.len(), 18);
    let soleus = muscles.iter().find(|m| m["name"] == "soleus_r").unwrap();
    // Push-off: soleus well activated, under its limit.
    let peak = soleus["peak_activation"].as_f64().unwrap();
    assert!((0.2..1.0).contains(&peak), "{soleus}");
    // Reserves: tiny where muscles span, everything where none does.
    for r in v["reserves"].as_array().unwrap() {
        let share = r["share_percent"].as_f64().unwrap();
        if r["muscles"] == 0 {
            assert!((share - 100.0).abs() < 1e-6, "{r}");
        } else {
            assert!(share < 1.0, "{r}");
        }
    }
    let acts =
        twin_msk::Table::read(std::path::Path::new(v["activations"].as_str().unwrap())).unwrap();
    assert_eq!((acts.rows(), acts.labels.len()), (79, 18));
    let forces =
        twin_msk::Table::read(std::path::Path::new(v["forces"].as_str().unwrap())).unwrap();
    assert!(forces.column("ankle_angle_r_reserve").is_some());
    let arms =
        twin_msk::Table::read(std::path::Path::new(v["moment_arms"].as_str().unwrap())).unwrap();
    assert!(arms.column("soleus_r_ankle_angle_r_moment_arm").is_some());
    // Without muscles there is nothing to optimise; the error says so.
    let model = out.path().join("pendulum.osim");
    std::fs::write(
        &model,
        r#"<OpenSimDocument Version="30000"><Model name="pendulum">
            <gravity>0 -9.81 0</gravity>
            <BodySet><objects>
              <Body name="ground"><mass>0</mass></Body>
              <Body name="rod"><mass>2</mass><mass_center>0 -0.5 0</mass_center>
                <inertia_xx>0.1</inertia_xx><inertia_yy>0.01</inertia_yy><inertia_zz>0.1</inertia_zz>
                <Joint><PinJoint name="pin"><parent_body>ground</parent_body>
                  <location_in_parent>0 0 0</location_in_parent><orientation_in_parent>0 0 0</orientation_in_parent>
                  <location>0 0 0</location><orientation>0 0 0</orientation>
                  <CoordinateSet><objects><Coordinate name="theta"><motion_type>rotational</motion_type></Coordinate></objects></CoordinateSet>
                </PinJoint></Joint></Body>
            </objects></BodySet></Model></OpenSimDocument>"#,
    )
    .unwrap();
    let motion = out.path().join("swing.mot");
    let mut t = twin_msk::Table::new("swing", vec!["theta".into()], true);
    for i in 0..50 {
        t.push_row(f64::from(i) * 0.01, &[10.0 * (f64::from(i) * 0.1).sin()]);
    }
    t.write(&motion).unwrap();
    let o = twin()
        .args(["gait", "so", "--model"])
        .arg(&model)
        .arg("--motion")
        .arg(&motion)
        .arg("--out")
        .arg(out.path().join("so"))
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("has no muscles"), "{e}");
}

#[test]
fn gait_so_with_a_prosthesis_reports_the_device_and_asymmetry() {
    let Some(dir) = twin_core::testdata::require("msk/gait10dof18musc") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let device = tempfile::tempdir().unwrap();
    let run = |stiffness: f64| {
        let p = device.path().join(format!("p{stiffness}.json"));
        std::fs::write(
            &p,
            format!(r#"{{"side": "right", "stiffness_nm_per_rad": {stiffness}, "mass_kg": 1.2}}"#),
        )
        .unwrap();
        json_ok(
            twin()
                .args([
                    "gait", "so", "--json", "--time", "0.1:2.5", "--speed", "1.3", "--model",
                ])
                .arg(dir.join("gait10dof18musc_subject01.osim"))
                .arg("--motion")
                .arg(dir.join("subject01_walk_IK.mot"))
                .arg("--loads")
                .arg(dir.join("gait10dof18musc_subject01_walk_grf.xml"))
                .arg("--prosthesis")
                .arg(&p)
                .arg("--out")
                .arg(out.path().join(format!("k{stiffness}"))),
        )
    };
    let soft = run(200.0);
    let stiff = run(400.0);
    let peak = |v: &serde_json::Value| {
        v["device"]["peak_plantarflexor_moment_nm"]
            .as_f64()
            .unwrap()
    };
    assert!(
        peak(&stiff) > 1.5 * peak(&soft),
        "{} {}",
        peak(&stiff),
        peak(&soft)
    );
    // A pure spring gives back what it absorbs, less what the window cuts.
    let d = &stiff["device"];
    assert!(d["energy_return_percent"].as_f64().unwrap() > 50.0, "{d}");
    let muscles: Vec<&str> = stiff["muscles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(!muscles.contains(&"soleus_r") && muscles.contains(&"soleus_l"));
    let asym = stiff["asymmetry"].as_array().unwrap();
    let stance = asym
        .iter()
        .find(|a| a["quantity"] == "stance time")
        .unwrap();
    assert!(
        (stance["right"].as_f64().unwrap() - 0.79).abs() < 0.01,
        "{stance}"
    );
    assert!(stiff["metabolic"]["cost_of_transport"].as_f64().unwrap() > 1.0);
    let warnings = stiff["warnings"].to_string();
    assert!(warnings.contains("3 muscle(s) removed"), "{warnings}");
    // Out of range: refused, naming the field.
    let bad = device.path().join("bad.json");
    std::fs::write(&bad, r#"{"side": "right", "stiffness_nm_per_rad": 1e6}"#).unwrap();
    let o = twin()
        .args(["gait", "so", "--model"])
        .arg(dir.join("gait10dof18musc_subject01.osim"))
        .arg("--motion")
        .arg(dir.join("subject01_walk_IK.mot"))
        .arg("--prosthesis")
        .arg(&bad)
        .arg("--out")
        .arg(out.path().join("bad"))
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && e.contains("stiffness_nm_per_rad") && e.contains("bad.json"),
        "{e}"
    );
}

#[test]
fn twin_files_are_made_run_shown_and_bad_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.twin.json");
    let scenarios =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenarios");
    let o = twin()
        .args(["twin", "new", "Demo patient", "--scenario"])
        .arg(scenarios.join("severe-aortic-stenosis.json"))
        .arg("--scenario")
        .arg(scenarios.join("tavr.json"))
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Not replaced without --force.
    let o = twin()
        .args(["twin", "new", "other", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("--force"), "{e}");
    let ran = json_ok(
        twin()
            .args(["twin", "run", "--json", "--out"])
            .arg(&file)
            .arg(&file),
    );
    let g = |v: &serde_json::Value| v["aortic_mean_gradient_mmhg"].as_f64().unwrap();
    assert!(g(&ran["baseline"]) < 5.0, "{ran}");
    assert!(
        (g(&ran["variants"][0]["results"]) - 50.8).abs() < 1.5,
        "{ran}"
    );
    assert!(
        (g(&ran["variants"][1]["results"]) - 13.7).abs() < 1.0,
        "{ran}"
    );
    // The saved file holds the results.
    let shown = json_ok(twin().args(["twin", "show", "--json"]).arg(&file));
    assert_eq!(shown["version"], 1);
    assert_eq!(shown["variants"].as_array().unwrap().len(), 2);
    assert!(
        shown["variants"][1]["results"]["lv_ef_percent"]
            .as_f64()
            .unwrap()
            > 50.0
    );
    // A scenario file opens as a one-variant twin, said so.
    let shown = json_ok(
        twin()
            .args(["twin", "show", "--json"])
            .arg(scenarios.join("lvad-6000rpm.json")),
    );
    assert!(
        shown["notes"][0]
            .as_str()
            .unwrap()
            .contains("opened as a twin"),
        "{shown}"
    );
    // Newer and truncated files: refused naming the file.
    let text = std::fs::read_to_string(&file).unwrap();
    let newer = dir.path().join("newer.json");
    std::fs::write(&newer, text.replace("\"version\": 1", "\"version\": 9")).unwrap();
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &text[..text.len() / 3]).unwrap();
    for (path, expected) in [
        (
            &newer,
            "written by a newer Twinscope (twin format version 9)",
        ),
        (&cut, "truncated JSON"),
    ] {
        let o = twin().args(["twin", "show"]).arg(path).output().unwrap();
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && e.contains(expected), "{e}");
        assert!(e.contains(&path.display().to_string()), "{e}");
    }
}

#[test]
fn a_report_tables_the_variants_and_privacy_hides_the_identity() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jane.twin.json");
    // A twin whose name and study carry a (fake) identity.
    let text = r#"{"format": "twinscope-twin", "version": 1, "name": "DOE^JANE",
      "software": "Twinscope 0.1.0", "created_unix_s": 0, "modified_unix_s": 0,
      "study": {"path": "/data/DOE_JANE", "study_instance_uid": "1.2.840.99.1"},
      "variants": [{"name": "severe AS", "cardio": [{"kind": "aortic_stenosis", "valve_area_cm2": 0.7}]}]}"#;
    std::fs::write(&file, text).unwrap();
    let html = dir.path().join("report.html");
    let csv = dir.path().join("waves.csv");
    for privacy in [false, true] {
        let mut cmd = twin();
        cmd.arg("report")
            .arg(&file)
            .arg("--out")
            .arg(&html)
            .arg("--csv")
            .arg(&csv);
        if privacy {
            cmd.arg("--privacy");
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let page = std::fs::read_to_string(&html).unwrap();
        assert!(
            page.contains("<h2>severe AS</h2>") && page.contains("<svg"),
            "{page}"
        );
        assert!(page.contains("<td>aortic_mean_gradient_mmhg</td>"));
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        for leak in ["DOE", "JANE", "1.2.840.99.1"] {
            let found = page.contains(leak) || out.contains(leak);
            assert_eq!(found, !privacy, "{leak} (privacy {privacy})");
        }
        let waves = std::fs::read_to_string(&csv).unwrap();
        assert!(waves.starts_with("run,t_s,") && waves.contains("\nsevere AS,"));
    }
}

#[test]
fn cardio_timeline_runs_the_bundled_haemorrhage_and_writes_trend_and_waveforms() {
    let dir = tempfile::tempdir().unwrap();
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/timelines/haemorrhage-resuscitation.json"
    );
    let csv = dir.path().join("trend.csv");
    let wave = dir.path().join("beat.csv");
    let v = json_ok(
        twin()
            .args(["cardio", "timeline", file, "--json", "--csv"])
            .arg(&csv)
            .args(["--at", "12"])
            .arg("--waveforms")
            .arg(&wave),
    );
    let trend = v["trend"].as_array().unwrap();
    assert_eq!(v["beats"].as_u64().unwrap() as usize, trend.len());
    let hr = |i: usize| trend[i]["heart_rate_bpm"].as_f64().unwrap();
    let bled = trend
        .iter()
        .position(|p| p["t_min"].as_f64().unwrap() >= 12.0)
        .unwrap();
    // The bleed speeds the heart; the fluid brings it back towards rest.
    assert!(hr(bled) > hr(0) + 5.0, "{} vs {}", hr(bled), hr(0));
    assert!(hr(trend.len() - 1) < hr(bled));
    let lost = v["end"]["blood_volume_change_ml"].as_f64().unwrap();
    assert!((lost + 500.0).abs() < 2.0, "{lost}");
    let rows = std::fs::read_to_string(&csv).unwrap().lines().count();
    assert_eq!(rows, trend.len() + 1);
    assert!(std::fs::read_to_string(&wave).unwrap().lines().count() > 20);
}

#[test]
fn cardio_timeline_refuses_an_unknown_drug_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.json");
    std::fs::write(
        &file,
        r#"{"name":"x","duration_min":5,"events":[{"at_min":1,"kind":"infusion","drug":"vasopressin","rate_ug_kg_min":1}]}"#,
    )
    .unwrap();
    let err = cardio_fails("timeline", &file);
    assert!(
        err.contains("vasopressin") && err.contains("t.json"),
        "{err}"
    );
}

#[test]
fn cardio_validation_rates_every_row() {
    let v = json_ok(twin().args(["cardio", "validation", "--json"]));
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(v["dose_response"].as_array().unwrap().len(), 15);
    assert!(rows.len() >= 20);
    for r in rows {
        let rating = r["rating"].as_str().unwrap();
        assert!(["good", "fair", "poor"].contains(&rating), "{r}");
        assert!(!r["source"].as_str().unwrap().is_empty());
    }
    // The reflex directions: a vasoconstrictor slows the heart, a
    // vasodilator speeds it.
    let change = |case: &str, q: &str| {
        rows.iter()
            .find(|r| r["case"].as_str().unwrap().starts_with(case) && r["quantity"] == q)
            .unwrap()["twin"]
            .as_f64()
            .unwrap()
    };
    assert!(change("Phenylephrine", "heart rate change (%)") < 0.0);
    assert!(change("Nitroprusside", "heart rate change (%)") > 0.0);
}

#[test]
fn cardio_follow_reads_csv_and_fhir_alike_and_sees_the_hidden_bleed_and_pressor() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/vitals/");
    let run = |f: &str| json_ok(twin().args(["cardio", "follow", &format!("{dir}{f}"), "--json"]));
    let csv = run("bleed-then-pressor.csv");
    let fhir = run("bleed-then-pressor.json");
    let points = |v: &serde_json::Value| v["follow"]["points"].as_array().unwrap().clone();
    let (a, b) = (points(&csv), points(&fhir));
    assert_eq!(a.len(), 36);
    assert_eq!(a.len(), b.len());
    // The same samples give the same estimates.
    for (p, q) in a.iter().zip(&b) {
        let dv = p["volume_change_ml"].as_f64().unwrap() - q["volume_change_ml"].as_f64().unwrap();
        assert!(dv.abs() < 1e-6);
    }
    let at = |t: f64, key: &str| {
        a.iter()
            .find(|p| (p["t_min"].as_f64().unwrap() - t).abs() < 1e-6)
            .unwrap()[key]
            .as_f64()
            .unwrap()
    };
    assert!(at(8.0, "volume_change_ml").abs() < 300.0);
    assert!(at(68.0, "volume_change_ml") < -500.0);
    assert!(at(68.0, "resistance_scale") > 1.1);
    assert!(at(8.0, "resistance_scale") < 1.1);
}

#[test]
fn cardio_follow_names_a_bad_vitals_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v.csv");
    std::fs::write(&file, "t_min,hr,sbp,dbp\n0,72,16,10\n").unwrap();
    let err = cardio_fails("follow", &file);
    assert!(
        err.contains("v.csv") && err.contains("systolic") && err.contains("line 2"),
        "{err}"
    );
}

#[test]
fn a_report_shows_a_timeline_and_the_vitals_followed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.twin.json");
    std::fs::write(
        &file,
        r#"{"format": "twinscope-twin", "version": 1, "name": "demo",
      "software": "Twinscope 0.1.0", "created_unix_s": 0, "modified_unix_s": 0}"#,
    )
    .unwrap();
    let ex = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/");
    let html = dir.path().join("report.html");
    let o = twin()
        .arg("report")
        .arg(&file)
        .arg("--out")
        .arg(&html)
        .arg("--timeline")
        .arg(format!("{ex}timelines/haemorrhage-resuscitation.json"))
        .arg("--vitals")
        .arg(format!("{ex}vitals/bleed-then-pressor.json"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<h2>The heart over time</h2>"), "{page}");
    assert!(page.contains("haemorrhage 1500 mL over 10 min"));
    assert!(page.contains("Heart rate and cardiac output"));
    assert!(page.contains("<h3>Following the vitals</h3>"));
    assert!(page.contains("blood volume change"));
}

/// `twin gait predict` with a tiny budget: the search runs, repeats with a
/// seed, writes OpenSim states and a solution that warm-starts a
/// prosthesis run (each leg its own parameters); bad settings are refused
/// by name.
#[test]
fn gait_predict_writes_a_solution_that_warm_starts_a_prosthesis_run() {
    let Some(dir) = twin_core::testdata::require("msk/moco_2d_gait") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let predict = |name: &str, extra: &[&std::ffi::OsStr]| {
        json_ok(
            twin()
                .args([
                    "gait",
                    "predict",
                    "--json",
                    "--generations",
                    "2",
                    "--population",
                    "4",
                    "--duration",
                    "0.5",
                    "--model",
                ])
                .arg(dir.join("2D_gait.osim"))
                .arg("--start")
                .arg(dir.join("referenceCoordinates.sto"))
                .arg("--out")
                .arg(out.path().join(name))
                .args(extra),
        )
    };
    let intact = predict("intact", &[]);
    let again = predict("again", &[]);
    assert_eq!(intact["outcome"], again["outcome"], "not repeatable");
    assert_eq!(intact["generations"], 2);
    let solution: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(intact["solution"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let n = solution["parameters"].as_array().unwrap().len();
    assert_eq!(n, solution["names"].as_array().unwrap().len());
    // No temporary file of the saves left behind.
    let left: Vec<_> = std::fs::read_dir(out.path().join("intact"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            std::path::Path::new(n)
                .extension()
                .is_some_and(|e| e == "tmp")
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
    for side in ["right", "left"] {
        assert!(intact["gait"][side]["knee_deg"].is_array(), "{intact}");
    }
    assert!(std::path::Path::new(intact["grf"].as_str().unwrap()).exists());
    // No generations: the saved solution evaluated as it is (and compared
    // with subject01's walk when the data is there).
    let measured = twin_core::testdata::require("msk/gait10dof18musc").map(|g| {
        format!(
            "{},{},{}",
            g.join("gait10dof18musc_subject01.osim").display(),
            g.join("subject01_walk_IK.mot").display(),
            g.join("gait10dof18musc_subject01_walk_grf.xml").display()
        )
    });
    let inputs_dir = tempfile::tempdir().unwrap();
    let saved = inputs_dir.path().join("intact.json");
    std::fs::copy(intact["solution"].as_str().unwrap(), &saved).unwrap();
    let replay = json_ok(
        twin()
            .args([
                "gait",
                "predict",
                "--json",
                "--generations",
                "0",
                "--duration",
                "0.5",
                "--model",
            ])
            .arg(dir.join("2D_gait.osim"))
            .arg("--start")
            .arg(dir.join("referenceCoordinates.sto"))
            .arg("--init")
            .arg(&saved)
            .arg("--out")
            .arg(out.path().join("replay"))
            .args(
                measured
                    .as_ref()
                    .map(|m| ["--measured", m.as_str()])
                    .into_iter()
                    .flatten(),
            ),
    );
    assert_eq!(replay["outcome"], intact["outcome"]);
    // Half a second holds no complete stride: nothing to compare, said as
    // an empty list.
    assert_eq!(replay["agreement"], serde_json::json!([]), "{replay}");
    let states =
        twin_msk::Table::read(std::path::Path::new(intact["states"].as_str().unwrap())).unwrap();
    assert!(states.rows() > 10);
    assert!(
        states
            .labels
            .iter()
            .any(|l| l == "/jointset/knee_r/knee_angle_r/value"),
        "{:?}",
        states.labels
    );
    // Warm start with a right transtibial device (kept apart: an output
    // inside an input's folder is refused).
    let inputs = tempfile::tempdir().unwrap();
    let device = inputs.path().join("device.json");
    std::fs::write(
        &device,
        r#"{"side": "right", "stiffness_nm_per_rad": 300, "mass_kg": 1.2}"#,
    )
    .unwrap();
    let amputee = predict(
        "amputee",
        &[
            "--prosthesis".as_ref(),
            device.as_os_str(),
            "--init".as_ref(),
            std::path::Path::new(intact["solution"].as_str().unwrap()).as_os_str(),
        ],
    );
    let solution: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(amputee["solution"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let names = solution["names"].as_array().unwrap();
    assert_eq!(names.len(), 2 * n);
    assert!(names[0].as_str().unwrap().starts_with("right: "));
    assert!(names[n].as_str().unwrap().starts_with("left: "));
    assert_eq!(solution["prosthesis"]["side"], "right");
}

/// `twin gait predict` refuses bad settings and files by name.
#[test]
fn gait_predict_refuses_bad_settings_by_name() {
    let Some(dir) = twin_core::testdata::require("msk/moco_2d_gait") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let inputs = tempfile::tempdir().unwrap();
    let device = inputs.path().join("device.json");
    std::fs::write(&device, r#"{"side": "right"}"#).unwrap();
    let o = twin()
        .args(["gait", "predict", "--sigma", "0", "--model"])
        .arg(dir.join("2D_gait.osim"))
        .arg("--start")
        .arg(dir.join("referenceCoordinates.sto"))
        .arg("--out")
        .arg(out.path().join("bad"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--sigma"));
    let o = twin()
        .args(["gait", "predict", "--model"])
        .arg(dir.join("2D_gait.osim"))
        .arg("--start")
        .arg(dir.join("referenceCoordinates.sto"))
        .arg("--init")
        .arg(&device)
        .arg("--out")
        .arg(out.path().join("bad"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("device.json") && e.contains("not a saved solution"),
        "{e}"
    );
    let o = twin()
        .args(["gait", "predict", "--measured", "walk.mot", "--model"])
        .arg(dir.join("2D_gait.osim"))
        .arg("--start")
        .arg(dir.join("referenceCoordinates.sto"))
        .arg("--out")
        .arg(out.path().join("bad"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("--measured `walk.mot`"), "{e}");
    for (args, expected) in [
        (&["--strength", "soleus"][..], "--strength `soleus`"),
        (&["--strength", "soleus=weak"][..], "`weak` is not a number"),
        (&["--strength", "soleos=0.3"][..], "no muscle `soleos`"),
        (&["--residual-strength", "0.5"][..], "needs --prosthesis"),
        (&["--speed", "1.4,1.1"][..], "--speed `1.4,1.1`"),
        (
            &["--continuation", "0.5"][..],
            "--continuation needs --prosthesis",
        ),
        (&["--speed", "fast"][..], "--speed `fast`"),
        (
            &["--residual-strength", "2"][..],
            "--residual-strength must be in [0, 1]",
        ),
    ] {
        let o = twin()
            .args(["gait", "predict"])
            .args(args)
            .arg("--model")
            .arg(dir.join("2D_gait.osim"))
            .arg("--start")
            .arg(dir.join("referenceCoordinates.sto"))
            .arg("--out")
            .arg(out.path().join("bad"))
            .output()
            .unwrap();
        assert!(!o.status.success(), "{args:?}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(expected), "{args:?}: {e}");
    }
}

/// `twin gait tune` with a tiny budget: every stiffness × neutral angle ×
/// seed searched, the landscape as CSV and JSON, the optimum per seed;
/// without a device it says what is missing.
#[test]
fn gait_tune_writes_the_landscape_of_every_setting_and_seed() {
    let Some(dir) = twin_core::testdata::require("msk/moco_2d_gait") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let inputs = tempfile::tempdir().unwrap();
    let device = inputs.path().join("device.json");
    std::fs::write(
        &device,
        r#"{"side": "left", "stiffness_nm_per_rad": 400, "plantar_stiffness_nm_per_rad": 200}"#,
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut c = twin();
        c.args(["gait", "tune", "--model"])
            .arg(dir.join("2D_gait.osim"))
            .arg("--start")
            .arg(dir.join("referenceCoordinates.sto"))
            .args([
                "--generations",
                "1",
                "--population",
                "4",
                "--duration",
                "0.3",
                "--stiffness",
                "250,500",
                "--neutral",
                "-4,0,4",
                "--seeds",
                "7",
            ])
            .arg("--out")
            .arg(out.path())
            .args(extra);
        c
    };
    let dev = device.to_str().unwrap();
    let v = json_ok(&mut run(&["--json", "--prosthesis", dev]));
    let cells = v["landscape"]["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 6);
    assert_eq!(cells[0]["neutral_deg"], -4.0);
    assert_eq!(cells[5]["stiffness"], 500.0);
    assert_eq!(v["optimum"].as_array().unwrap().len(), 1);
    let csv = std::fs::read_to_string(v["table"].as_str().unwrap()).unwrap();
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(csv.starts_with("stiffness_nm_per_rad,neutral_deg,seed,fell"));
    let o = run(&[]).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs --prosthesis"));
    // An unknown integrator is named with the choices.
    let o = run(&["--prosthesis", dev, "--integrator", "rk4"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && e.contains("`rk4`") && e.contains("euler") && e.contains("dopri"),
        "{e}"
    );
    // --keep-in is for twin gait predict.
    let o = run(&["--prosthesis", dev, "--keep-in", "t.twin.json"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("--keep-in applies to twin gait predict"));
}

/// `twin gait predict --json` evaluating a saved walk (no search) for
/// `duration` s on the Moco 2D model in `dir`.
fn replay(dir: &std::path::Path, duration: f64) -> Command {
    let mut c = twin();
    c.args([
        "gait",
        "predict",
        "--json",
        "--generations",
        "0",
        "--duration",
    ])
    .arg(duration.to_string())
    .arg("--model")
    .arg(dir.join("2D_gait.osim"))
    .arg("--start")
    .arg(dir.join("referenceCoordinates.sto"));
    c
}

/// The example predicted walk (examples/gait) is a saved solution that
/// still walks.
#[test]
fn the_example_predicted_walk_still_walks() {
    let Some(dir) = twin_core::testdata::require("msk/moco_2d_gait") else {
        return;
    };
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/gait/predicted-intact-2d.json");
    let out = tempfile::tempdir().unwrap();
    let v = json_ok(
        replay(&dir, 3.0)
            .arg("--init")
            .arg(&example)
            .arg("--out")
            .arg(out.path()),
    );
    assert_eq!(v["outcome"]["fell"], false, "{v}");
    assert!(v["outcome"]["mean_speed"].as_f64().unwrap() > 0.9, "{v}");
}

/// `--keep-in` writes the twin with the predicted walk as a new variant
/// into the output folder; the twin given stays as it was.
#[test]
fn a_predicted_walk_is_kept_in_a_twin_from_the_command_line() {
    let Some(dir) = twin_core::testdata::require("msk/moco_2d_gait") else {
        return;
    };
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    let twin_file = inputs.join("patient.twin.json");
    let made = twin()
        .args(["twin", "new", "patient", "--out"])
        .arg(&twin_file)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let before = std::fs::read(&twin_file).unwrap();
    // The device the saved prosthetic walk was found with.
    let device = inputs.join("device.json");
    std::fs::write(
        &device,
        r#"{"side": "right", "stiffness_nm_per_rad": 400, "damping_nms_per_rad": 2,
            "neutral_angle_deg": 0, "alignment_offset_deg": 0, "mass_kg": 1.2}"#,
    )
    .unwrap();
    let out = work.path().join("out");
    let v = json_ok(
        replay(&dir, 3.0)
            .arg("--init")
            .arg(examples.join("gait/predicted-prosthesis-2d.json"))
            .arg("--prosthesis")
            .arg(&device)
            .arg("--keep-in")
            .arg(&twin_file)
            .arg("--out")
            .arg(&out),
    );
    let kept = std::path::PathBuf::from(v["twin"].as_str().unwrap());
    assert_eq!(kept, out.join("twin.json"));
    assert_eq!(
        std::fs::read(&twin_file).unwrap(),
        before,
        "the input twin changed"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&kept).unwrap()).unwrap();
    let variant = &doc["variants"][0];
    assert_eq!(variant["name"], "predicted: prosthesis 400 N·m/rad");
    assert_eq!(variant["prosthesis"]["stiffness_nm_per_rad"], 400.0);
    let summary = &variant["predicted"]["summary"];
    assert_eq!(summary["fell"], 0.0);
    assert!(
        (summary["walked_s"].as_f64().unwrap() - 3.0).abs() < 1e-6,
        "{summary}"
    );
    assert_eq!(
        variant["predicted"]["solution"]["integrator"],
        "semi_implicit_euler"
    );
    // The report tables it.
    let report = work.path().join("report.html");
    let r = twin()
        .args(["report"])
        .arg(&kept)
        .arg("--out")
        .arg(&report)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("<h2>Predicted gait</h2>")
            && html.contains("<th>predicted: prosthesis 400 N·m/rad</th>"),
        "no predicted walk in the report"
    );
}
