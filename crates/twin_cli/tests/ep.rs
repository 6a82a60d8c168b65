//! `twin ep run` end to end on the demo heart.

use std::process::Command;

fn twin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_twin"))
}

fn run_json(args: &[&str]) -> serde_json::Value {
    let o = twin()
        .args(["ep", "run", "demo", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn fails(args: &[&str]) -> String {
    let o = twin().args(["ep", "run"]).args(args).output().unwrap();
    assert!(!o.status.success());
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn ep_run_reads_sinus_lbbb_and_crt_and_writes_its_maps() {
    let sinus = run_json(&[]);
    let lbbb = run_json(&["--block", "lbbb"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("crt");
    let crt = run_json(&[
        "--block",
        "lbbb",
        "--paced",
        "--lead",
        "RV,rv-endo,0.85,0",
        "--lead",
        "LV,lv-epi,0.5,180",
        "--coupled",
        "--out",
        out.to_str().unwrap(),
    ]);
    let qrs = |v: &serde_json::Value| v["total_ms"].as_f64().unwrap();
    assert!((60.0..=100.0).contains(&qrs(&sinus)), "{sinus}");
    assert!((140.0..=180.0).contains(&qrs(&lbbb)), "{lbbb}");
    assert!(qrs(&crt) < qrs(&lbbb));
    assert_eq!(crt["aha_ms"].as_array().unwrap().len(), 17);
    // QLV of the LV lead from the blocked intrinsic rhythm.
    let qlv = crt["qlv_ms"][0][1].as_f64().unwrap();
    assert!(qlv > 0.5 * qrs(&lbbb), "{qlv}");
    // The coupled beats: sinus first, then the paced one.
    let beats = crt["coupled"].as_array().unwrap();
    assert_eq!(beats[0]["name"], "sinus");
    assert!(beats[1]["beat"]["lv_ef_percent"].as_f64().is_some());
    // The activation map opens as a VTK grid; the ECG has its 12 leads.
    let vtk = std::fs::read_to_string(out.join("activation.vtk")).unwrap();
    assert!(vtk.contains("SCALARS activation_ms double 1"));
    let mesh = twin_ep_mesh_nodes(&vtk);
    assert_eq!(mesh, crt["nodes"].as_u64().unwrap() as usize);
    let ecg = std::fs::read_to_string(out.join("ecg.csv")).unwrap();
    assert!(ecg.starts_with("t_ms,I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6\n"));
    assert!(out.join("summary.json").exists());
}

/// The `POINTS n` count of a VTK text.
fn twin_ep_mesh_nodes(vtk: &str) -> usize {
    let line = vtk.lines().find(|l| l.starts_with("POINTS ")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn ep_run_names_what_is_wrong() {
    assert!(fails(&["demo", "--block", "xyz"]).contains("--block `xyz`"));
    assert!(fails(&["demo", "--paced"]).contains("pacing lead"));
    assert!(fails(&["demo", "--lead", "LV,lv-epi,1.5,180"]).contains("apex–base"));
    assert!(fails(&["demo", "--lead-at", "LV,1000,0,0"]).contains("from the heart"));
    assert!(fails(&["demo", "--ablation", "1,2,3"]).contains("--ablation"));
    assert!(fails(&["demo", "--fibre-velocity", "-1"]).contains("m/s"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.vtk");
    std::fs::write(&bad, "# vtk DataFile Version 3.0\nx\nBINARY\n").unwrap();
    assert!(fails(&[bad.to_str().unwrap()]).contains("only ASCII"));
    assert!(fails(&["/nonexistent/heart.vtk"]).contains("heart.vtk"));
}

#[test]
fn ep_runs_are_kept_in_a_twin_and_its_ep_variants_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let twin_file = input.join("patient.json");
    let doc = twin_scenario::TwinDocument::new("EP patient");
    twin_scenario::store::save(&doc, &twin_file).unwrap();
    let out = dir.path().join("out");
    let o = twin()
        .args(["ep", "run", "demo", "--block", "lbbb", "--add-to"])
        .arg(&twin_file)
        .args(["--name", "LBBB <intrinsic>", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("kept as variant “LBBB <intrinsic>”"));
    // The original twin is untouched; the new one has the variant.
    let (orig, _) = twin_scenario::TwinDocument::read(&twin_file).unwrap();
    assert!(orig.variants.is_empty());
    let kept = out.join("patient.json");
    let (doc, _) = twin_scenario::TwinDocument::read(&kept).unwrap();
    let v = &doc.variants[0];
    assert_eq!(v.name, "LBBB <intrinsic>");
    let qrs = v.results["ep_total_activation_ms"];
    assert!((140.0..=180.0).contains(&qrs), "{qrs}");
    assert!(matches!(
        v.cardio[..],
        [twin_cardio::Intervention::Activation(_)]
    ));
    // Rerun from the twin file: the same numbers.
    let o = twin()
        .args(["ep", "run"])
        .arg(&kept)
        .arg("--json")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows[0]["rhythm"], "LBBB");
    let again = rows[0]["results"]["ep_total_activation_ms"]
        .as_f64()
        .unwrap();
    assert!((again - qrs).abs() < 1e-9);
    // --add-to needs --out; a twin without EP variants is named; writing
    // into the twin's own folder is refused.
    let e = fails(&["demo", "--add-to", twin_file.to_str().unwrap()]);
    assert!(e.contains("--add-to needs --out"), "{e}");
    let e = fails(&[twin_file.to_str().unwrap()]);
    assert!(
        e.contains("no EP variant") && e.contains("patient.json"),
        "{e}"
    );
    let e = fails(&[
        kept.to_str().unwrap(),
        "--out",
        out.join("again").to_str().unwrap(),
    ]);
    assert!(e.contains("out"), "{e}");
}
