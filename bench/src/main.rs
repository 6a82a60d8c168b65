//! `twin-bench TASK INPUT --repeat N`: times one Twinscope hot path on INPUT and
//! prints JSON (`{"task", "input", "seconds": [...], "items"}`) for bench/run.py.
//!
//! Tasks:
//! * `dicom-scan`: header scan of a folder (group into studies/series/stacks).
//! * `dicom-load`: scan + assemble the largest stack into a volume.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use twin_core::Progress;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        bail!("usage: twin-bench (dicom-scan|dicom-load) INPUT [--repeat N]");
    }
    let task = args[1].as_str();
    let input = PathBuf::from(&args[2]);
    let repeat: usize = match args.iter().position(|a| a == "--repeat") {
        Some(i) => args
            .get(i + 1)
            .context("--repeat needs a number")?
            .parse()?,
        None => 5,
    };
    let mut seconds = Vec::with_capacity(repeat);
    let mut items = 0usize;
    for _ in 0..repeat {
        let t = Instant::now();
        let progress = Progress::new();
        match task {
            "dicom-scan" => {
                let report = twin_imaging::scan_folder(&input, &progress)?;
                items = report.stacks().map(|(_, _, s)| s.instance_count()).sum();
            }
            "dicom-load" => {
                let vol = twin_imaging::volume::load_first_volume(&input, &progress)?;
                items = vol.data.len();
            }
            other => bail!("unknown task `{other}`"),
        }
        seconds.push(t.elapsed().as_secs_f64());
    }
    println!(
        "{}",
        serde_json::json!({ "task": task, "input": input, "seconds": seconds, "items": items })
    );
    Ok(())
}
