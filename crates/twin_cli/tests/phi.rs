//! Where a patient's identity goes (docs/SECURITY.md): a demo study written
//! with a known fake identity goes through every `twin` command that reads
//! images; no output file, no stdout and no stderr may contain any part of
//! that identity. (The CLI never shows identity: its listings carry UIDs,
//! dates and descriptions; the app shows it in its panels unless privacy
//! mode is on — tested in twin_ui and by scripts/ui-smoke's log check.)

use std::path::{Path, PathBuf};
use std::process::Command;

/// The fake identity, and every form of it that could leak: name parts,
/// the DICOM and display forms of the name, ID, birth date (DA and ISO),
/// accession number.
const IDENTITY: &str = "ZYGMUNTA^QUILLFEATHER,PHI-ID-827161,19010203,ACC-PHI-551277";
const LEAKS: [&str; 8] = [
    "ZYGMUNTA",
    "QUILLFEATHER",
    "zygmunta",
    "quillfeather",
    "PHI-ID-827161",
    "19010203",
    "1901-02-03",
    "ACC-PHI-551277",
];

fn twin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_twin"))
}

/// Runs `args`, which must succeed (or, with `fail`, fail); returns
/// stdout + stderr.
fn run_as(fail: bool, args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    let mut cmd = twin();
    for a in args {
        cmd.arg(a);
    }
    let o = cmd.output().unwrap();
    assert_eq!(
        o.status.success(),
        !fail,
        "{:?}: {}",
        cmd.get_args(),
        String::from_utf8_lossy(&o.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    run_as(false, args)
}

fn run_failing(args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    run_as(true, args)
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_owned()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn leaks_in(bytes: &[u8]) -> Vec<&'static str> {
    LEAKS
        .iter()
        .copied()
        .filter(|leak| bytes.windows(leak.len()).any(|w| w == leak.as_bytes()))
        .collect()
}

#[test]
fn no_output_of_the_cli_carries_the_patients_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("study");
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    run(&[&"phantom", &study, &"--identity", &IDENTITY]);
    // The input does carry it (else the test proves nothing).
    let sample = std::fs::read(
        study
            .join("ct_lower_limbs")
            .read_dir()
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
    )
    .unwrap();
    assert_eq!(
        leaks_in(&sample).len(),
        5,
        "the fake identity was not written"
    );

    let ct = study.join("ct_lower_limbs");
    let mut console = Vec::new();
    console.push(run(&[&"dicom", &"ls", &study]));
    console.push(run(&[&"dicom", &"ls", &"--json", &study]));
    console.push(run(&[
        &"dicom",
        &"export",
        &ct,
        &"--series",
        &"3.1",
        &"--nifti",
        &out.join("ct.nii"),
    ]));
    for ext in ["stl", "obj", "ply"] {
        console.push(run(&[
            &"mesh",
            &ct,
            &"--series",
            &"3.1",
            &"--threshold",
            &"200",
            &"--decimate",
            &"20000",
            &"--json",
            &"--out",
            &out.join(format!("bones.{ext}")),
        ]));
    }
    // The cine, seeded in the LV (voxel 96, 96, 5 of the stack).
    let c = twin_phantom::cardiac::CardiacPhantom::demo();
    let (p0, o, half) = (c.slice_position(5), c.orientation(), 96.0 * c.pixel_mm);
    let seed: Vec<String> = (0..3)
        .map(|a| format!("{:.3}", p0[a] + (o[a] + o[3 + a]) * half))
        .collect();
    console.push(run(&[
        &"cine-lv",
        &"--json",
        &"--series",
        &"5.1",
        &"--seed",
        &seed.join(","),
        &study,
    ]));
    console.push(run(&[
        &"dicom",
        &"anonymize",
        &"--json",
        &study,
        &out.join("anon"),
    ]));
    // A twin and its report (privacy on and off: the twin's own name is the
    // user's; nothing from the images enters it).
    let twin_file = out.join("case.twin.json");
    console.push(run(&[&"twin", &"new", &"case 7", &"--out", &twin_file]));
    console.push(run(&[&"twin", &"run", &twin_file, &"--out", &twin_file]));
    console.push(run(&[
        &"report",
        &twin_file,
        &"--out",
        &out.join("report.html"),
        &"--csv",
        &out.join("waves.csv"),
    ]));
    console.push(run(&[
        &"report",
        &twin_file,
        &"--privacy",
        &"--out",
        &out.join("private.html"),
    ]));
    // Errors name files and stacks, never the patient.
    console.push(run_failing(&[
        &"mesh",
        &ct,
        &"--series",
        &"9.9",
        &"--threshold",
        &"200",
        &"--out",
        &out.join("x.stl"),
    ]));
    console.push(run_failing(&[
        &"dicom",
        &"export",
        &ct,
        &"--series",
        &"3.1",
        &"--nifti",
        &ct.join("inside.nii"),
    ]));

    let mut found = Vec::new();
    for (k, text) in console.iter().enumerate() {
        for leak in leaks_in(text.as_bytes()) {
            found.push(format!("console output {k}: `{leak}`"));
        }
    }
    let written = files_under(&out);
    assert!(written.len() > 150, "{} files written", written.len());
    for file in &written {
        for leak in leaks_in(&std::fs::read(file).unwrap()) {
            found.push(format!("{}: `{leak}`", file.display()));
        }
    }
    assert!(
        found.is_empty(),
        "identity found in outputs:\n{}",
        found.join("\n")
    );
}
