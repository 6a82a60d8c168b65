//! `twin-bench TASK INPUT --repeat N`: times one Twinscope hot path on INPUT and
//! prints JSON (`{"task", "input", "seconds": [...], "items"}`) for bench/run.py.
//!
//! Tasks:
//! * `dicom-scan`: header scan of a folder (group into studies/series/stacks).
//! * `dicom-load`: scan + assemble the largest stack into a volume.
//! * `make-ct OUT [COLS ROWS SLICES]`: writes an uncompressed CT phantom
//!   (default 512×512×400) as DICOM into OUT, for the large-volume benchmark.
//! * `export-raw DICOMDIR OUT`, `make-field OUT [N]`: raw float32 volumes
//!   (`OUT.raw` + `OUT.json`) shared with the peers (see `surface.rs`).
//! * `isosurface|mask-surface|pipeline RAW@LEVEL`: surface extraction from a
//!   grey level, from the mask `value ≥ LEVEL`, and the Slicer-like pipeline
//!   (extract + 20 Taubin iterations + decimation to ¼); `items` = triangles.
//! * `export-cardio-timeline OUT.json`, `cardio-timeline MINUTES`: the
//!   living circulation (reflexes, a bleed) beat by beat over MINUTES, and
//!   what its scipy peer starts from.
//! * `export-cardio OUT.json`, `cardio-beats N`, `cardio-calibrate X`: the
//!   cardiac twin's periodic state for the peer, N beats from it, and a
//!   calibration to CircAdapt's reference (see `cardio.rs`).
//!
//! * `export-ep OUT [MM]`, `ep march@MM|graph@MM`: the demo heart's
//!   activation (docs/models/ep.md); the graph exported for scipy.
//! * `gait CASE@MSKDIR`: inverse kinematics or dynamics as a whole tool run
//!   (see `gait.rs`); `items` = frames.
//! * `demo-cine-dir -`: writes the demo patient if needed and prints its
//!   cine's folder; `cine-lv DIR`: the LV cavity of every slice and phase of
//!   the cine in DIR by the learned network, found without a click (the
//!   cine is loaded once, outside the timing); `items` = slices × phases.
//!
//! The JSON also carries `peak_rss_mib`, the process's peak resident memory
//! (VmHWM), for the memory goal.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use twin_core::Progress;

mod cardio;
mod ep;
mod gait;
mod surface;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        bail!("usage: twin-bench (dicom-scan|dicom-load) INPUT [--repeat N]");
    }
    let task = args[1].as_str();
    let input = PathBuf::from(&args[2]);
    if task == "export-raw" {
        let out = args.get(3).context("export-raw DICOMDIR OUT")?;
        return surface::export_dicom(&input, std::path::Path::new(out));
    }
    if task == "export-cardio" {
        return cardio::export(&input);
    }
    if task == "export-cardio-timeline" {
        return cardio::export_timeline(&input);
    }
    if task == "export-ep" {
        let mm = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(1.1);
        return ep::export(&input, mm);
    }
    if task == "make-field" {
        let n = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(256);
        return surface::make_field(&input, n);
    }
    if task == "demo-cine-dir" {
        let demo = twin_phantom::ensure_demo_patient()?;
        println!("{}", demo.cardiac_dir.display());
        return Ok(());
    }
    if task == "make-ct" {
        let n = |i: usize, d: u16| args.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
        return make_ct(&input, n(3, 512), n(4, 512), usize::from(n(5, 400)));
    }
    let repeat: usize = match args.iter().position(|a| a == "--repeat") {
        Some(i) => args
            .get(i + 1)
            .context("--repeat needs a number")?
            .parse()?,
        None => 5,
    };
    let mut seconds = Vec::with_capacity(repeat);
    let mut items = 0usize;
    if matches!(
        task,
        "cardio-beats" | "cardio-calibrate" | "cardio-timeline"
    ) {
        for _ in 0..repeat {
            let (s, n) = if task == "cardio-beats" {
                cardio::beats(args[2].parse().context("cardio-beats N")?)?
            } else if task == "cardio-timeline" {
                cardio::timeline(args[2].parse().context("cardio-timeline MINUTES")?)?
            } else {
                cardio::calibration()?
            };
            seconds.push(s);
            items = n;
        }
        report(task, &args[2], &seconds, items);
        return Ok(());
    }
    if task == "ep" {
        for _ in 0..repeat {
            let (s, n) = ep::run(&args[2])?;
            seconds.push(s);
            items = n;
        }
        report(task, &args[2], &seconds, items);
        return Ok(());
    }
    if task == "gait" {
        for _ in 0..repeat {
            let (s, n) = gait::run(&args[2])?;
            seconds.push(s);
            items = n;
        }
        report(task, &args[2], &seconds, items);
        return Ok(());
    }
    if task == "cine-lv" {
        let scan = twin_imaging::scan_folder(&input, &Progress::new())?;
        let (_, _, stack) = scan.stacks().next().context("no image stack")?;
        let cine = twin_imaging::load_cine(
            stack,
            &Progress::new(),
            twin_imaging::volume::DEFAULT_BUDGET_BYTES,
        )?;
        let grids: Vec<twin_mesh::Grid> = cine
            .phases
            .iter()
            .map(|v| twin_mesh::Grid {
                dims: v.dims,
                data: &v.data,
                affine: &v.affine,
            })
            .collect();
        for _ in 0..repeat {
            let t = Instant::now();
            twin_mesh::cine_net::lv_cavity(&grids, None, &Progress::new())?;
            seconds.push(t.elapsed().as_secs_f64());
            items = grids.len() * grids.first().map_or(0, |g| g.dims[2]);
        }
        report(task, &args[2], &seconds, items);
        return Ok(());
    }
    if matches!(task, "isosurface" | "mask-surface" | "pipeline") {
        let (path, level) = args[2]
            .rsplit_once('@')
            .context("surface tasks take RAW@LEVEL")?;
        let vol = surface::read_raw(std::path::Path::new(path))?;
        let level: f32 = level.parse()?;
        for _ in 0..repeat {
            let (s, n) = surface::run(task, &vol, level)?;
            seconds.push(s);
            items = n;
        }
        report(task, &args[2], &seconds, items);
        return Ok(());
    }
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
        serde_json::json!({
            "task": task,
            "input": input,
            "seconds": seconds,
            "items": items,
            "peak_rss_mib": peak_rss_mib(),
        })
    );
    Ok(())
}

/// Prints the timing JSON that bench/run.py reads.
fn report(task: &str, input: &str, seconds: &[f64], items: usize) {
    println!(
        "{}",
        serde_json::json!({
            "task": task, "input": input, "seconds": seconds, "items": items,
            "peak_rss_mib": peak_rss_mib(),
        })
    );
}

/// Peak resident set size of this process (MiB), from /proc/self/status.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// An axial CT of an elliptic body (soft tissue 40 HU, fat ring −100 HU) with
/// a spine-like bone disc (700 HU) in air (−1000 HU), 0.7 mm pixels, 1.25 mm
/// slices, written uncompressed (Explicit VR Little Endian), files in reverse
/// spatial order.
fn make_ct(dir: &std::path::Path, cols: u16, rows: u16, slices: usize) -> anyhow::Result<()> {
    use dicom::core::VR;
    use dicom::dictionary_std::{tags, uids};
    use twin_phantom::dicom_out::{ImageBuilder, ds, ds_multi};
    std::fs::create_dir_all(dir)?;
    let (px, dz) = (0.7, 1.25);
    let (cx, cy) = (f64::from(cols) / 2.0, f64::from(rows) / 2.0);
    let mut image = Vec::with_capacity(usize::from(cols) * usize::from(rows));
    for j in 0..rows {
        for i in 0..cols {
            let (x, y) = ((f64::from(i) - cx) * px, (f64::from(j) - cy) * px);
            let body = (x / 160.0).powi(2) + (y / 110.0).powi(2);
            let bone = (x.powi(2) + (y - 60.0).powi(2)).sqrt() < 18.0;
            let hu: f64 = if body > 1.0 {
                -1000.0
            } else if bone {
                700.0
            } else if body > 0.85 {
                -100.0
            } else {
                40.0
            };
            image.push((hu + 1024.0) as u16);
        }
    }
    let study = "2.25.318212765112030431139001190013290001";
    let series = "2.25.318212765112030431139001190013290002";
    for k in 0..slices {
        let z = -(k as f64) * dz;
        let mut b = ImageBuilder::new();
        b.common(study, "1", "Benchmark CT phantom", "20260101", "120000")
            .str(tags::MODALITY, VR::CS, "CT")
            .str(tags::SERIES_INSTANCE_UID, VR::UI, series)
            .str(tags::SERIES_NUMBER, VR::IS, "1")
            .str(tags::INSTANCE_NUMBER, VR::IS, &(k + 1).to_string())
            .str(tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\AXIAL")
            .str(
                tags::IMAGE_POSITION_PATIENT,
                VR::DS,
                &ds_multi(&[-cx * px, -cy * px, z]),
            )
            .str(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, "1\\0\\0\\0\\1\\0")
            .str(tags::PIXEL_SPACING, VR::DS, &ds_multi(&[px, px]))
            .str(tags::SLICE_THICKNESS, VR::DS, &ds(dz))
            .str(tags::RESCALE_INTERCEPT, VR::DS, "-1024")
            .str(tags::RESCALE_SLOPE, VR::DS, "1")
            .pixels_u16(rows, cols, 12, image.clone());
        b.write(
            &dir.join(format!("ct{:04}.dcm", slices - k)),
            uids::CT_IMAGE_STORAGE,
            &format!("{series}.{}", k + 1),
        )?;
    }
    println!("{}", serde_json::json!({ "written": slices, "dir": dir }));
    Ok(())
}
