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
