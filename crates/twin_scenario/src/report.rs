//! The twin's report: one self-contained HTML file (no scripts, no links
//! out, plots as inline SVG) with the twin's provenance, the calibration
//! and its residuals, a delta table per variant (metric, baseline, variant,
//! Δ, Δ %), the LV pressure–volume loops and aortic pressures of the
//! baseline and every variant, and the CSV of those waveforms.
//!
//! With privacy on, the twin's name becomes a pseudonym and the study's
//! folder and UIDs are left out; every text from the file is escaped.

use std::fmt::Write as _;

use crate::TwinDocument;
use crate::runs::{CardioRun, GaitRuns, cardio_summary, gait_summary};

/// What the report leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportOptions {
    pub privacy: bool,
}

/// `text` safe inside HTML.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A stable pseudonym for `name` (privacy mode).
#[must_use]
pub fn pseudonym(name: &str) -> String {
    let h = twin_core::civil::fnv1a(name.as_bytes());
    format!("Twin {:04X}", h % 0x1_0000)
}

/// `YYYY-MM-DD HH:MM UTC` for seconds since 1970.
#[must_use]
pub fn utc(unix_s: u64) -> String {
    let (y, m, d) = twin_core::civil::civil_from_days((unix_s / 86_400) as i64);
    let secs = unix_s % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// The colour of variant `i` (0-based), in the report and the app alike.
#[must_use]
pub fn variant_colour(i: usize) -> [u8; 3] {
    crate::document::VARIANT_COLOURS[i % crate::document::VARIANT_COLOURS.len()]
}

fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// A named series of an SVG plot; no colour: grey (the baseline).
type Series<'a> = (&'a str, Option<[u8; 3]>, Vec<(f64, f64)>);

/// An SVG line plot of several (x, y) series.
fn svg_plot(title: &str, x_label: &str, y_label: &str, series: &[Series<'_>]) -> String {
    let (w, h, m) = (540.0, 360.0, 48.0);
    let pts = series.iter().flat_map(|(_, _, s)| s.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    let sx = |x: f64| m + (x - x0) / (x1 - x0) * (w - 1.5 * m);
    // The legend sits above the plotting area.
    let top = 30.0 + 14.0 * series.len() as f64;
    let sy = |y: f64| h - m - (y - y0) / (y1 - y0) * (h - m - top);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\
<rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>\
<text x=\"{}\" y=\"18\" font-size=\"14\" text-anchor=\"middle\">{}</text>\
<line x1=\"{m}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#444\"/>\
<line x1=\"{m}\" y1=\"{}\" x2=\"{m}\" y2=\"{}\" stroke=\"#444\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\
<text x=\"14\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\">{}</text>\
<text x=\"{m}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{x0:.0}</text>\
<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{x1:.0}</text>\
<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{y0:.0}</text>\
<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{y1:.0}</text>",
        w / 2.0,
        escape(title),
        h - m,
        w - m / 2.0,
        h - m,
        h - m,
        0.7 * m,
        w / 2.0,
        h - 12.0,
        escape(x_label),
        h / 2.0,
        h / 2.0,
        escape(y_label),
        h - m + 14.0,
        sx(x1),
        h - m + 14.0,
        m - 4.0,
        sy(y0) + 4.0,
        m - 4.0,
        sy(y1) + 4.0,
    );
    for (k, (name, rgb, s)) in series.iter().enumerate() {
        let colour = rgb.map_or_else(|| "#999".to_owned(), hex);
        let mut points = String::new();
        for &(x, y) in s {
            let _ = write!(points, "{:.1},{:.1} ", sx(x), sy(y));
        }
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{colour}\">{}</text>",
            points.trim_end(),
            m + 8.0,
            34.0 + 14.0 * k as f64,
            escape(name)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// What the app adds to a report: its 3D view and the gait analysis.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportExtras<'a> {
    /// A PNG of the 3D view, embedded in the page.
    pub screenshot_png: Option<&'a [u8]>,
    /// The gait analysis as text (already free of identity in privacy mode).
    pub gait: Option<&'a str>,
    /// The prosthesis variants run on the twin's gait trial.
    pub gait_runs: Option<&'a GaitRuns>,
    /// A timeline run (the app's, or `twin report --timeline`).
    pub timeline: Option<&'a twin_cardio::TimelineRun>,
    /// The vitals followed (the app's, or `twin report --vitals`).
    pub follow: Option<&'a twin_cardio::follow::Follow>,
}

/// The timeline's events, its trends (pressures; heart rate and cardiac
/// output) and a table of the state at rest, at each event and at the end.
fn timeline_section(h: &mut String, run: &twin_cardio::TimelineRun) {
    let _ = write!(
        h,
        "<h3>{} ({}, {} beats)</h3><table><tr><th>min</th><th>event</th></tr>",
        escape(&run.name),
        if run.reflex {
            "reflexes on"
        } else {
            "reflexes off"
        },
        run.beats()
    );
    for (t, e) in &run.events {
        let _ = write!(h, "<tr><td>{t:.1}</td><td>{}</td></tr>", escape(e));
    }
    h.push_str("</table>");
    let series = |f: fn(&twin_cardio::TrendPoint) -> f64| -> Vec<(f64, f64)> {
        let n = run.trend.len();
        let step = (n / 600).max(1);
        run.trend
            .iter()
            .step_by(step)
            .chain(run.trend.last())
            .map(|p| (p.t_min, f(p)))
            .collect()
    };
    h.push_str(&svg_plot(
        "Blood pressure",
        "time (min)",
        "mmHg",
        &[
            ("systolic", Some([200, 60, 50]), series(|p| p.sbp_mmhg)),
            ("mean", Some([220, 160, 40]), series(|p| p.map_mmhg)),
            ("diastolic", Some([60, 110, 200]), series(|p| p.dbp_mmhg)),
        ],
    ));
    h.push_str(&svg_plot(
        "Heart rate and cardiac output",
        "time (min)",
        "1/min, L/min × 10",
        &[
            (
                "heart rate (1/min)",
                Some([40, 160, 160]),
                series(|p| p.heart_rate_bpm),
            ),
            (
                "cardiac output (L/min × 10)",
                Some([60, 160, 60]),
                series(|p| 10.0 * p.cardiac_output_l_min),
            ),
        ],
    ));
    h.push_str(
        "<table><tr><th>min</th><th>HR</th><th>BP (mean) mmHg</th><th>CO L/min</th><th>LVEDP</th><th>blood volume change mL</th></tr>",
    );
    let mut times: Vec<f64> = vec![0.0];
    times.extend(run.events.iter().map(|(t, _)| *t));
    times.extend(run.trend.last().map(|p| p.t_min));
    for t in times {
        let Some(i) = run.beat_at(t) else { continue };
        let p = &run.trend[i];
        let _ = write!(
            h,
            "<tr><td>{:.1}</td><td>{:.0}</td><td>{:.0}/{:.0} ({:.0})</td><td>{:.2}</td><td>{:.1}</td><td>{:+.0}</td></tr>",
            p.t_min,
            p.heart_rate_bpm,
            p.sbp_mmhg,
            p.dbp_mmhg,
            p.map_mmhg,
            p.cardiac_output_l_min,
            p.lvedp_mmhg,
            p.blood_volume_change_ml
        );
    }
    h.push_str("</table>");
}

/// Measured against the twin, and the estimated parameters at the last
/// sample with their standard deviations.
fn follow_section(h: &mut String, f: &twin_cardio::follow::Follow) {
    let mut series: Vec<Series<'_>> = Vec::new();
    for (m, name, twin, rgb) in [
        (0, "HR measured", "HR twin", [40, 160, 160]),
        (1, "SBP measured", "SBP twin", [200, 60, 50]),
        (2, "DBP measured", "DBP twin", [60, 110, 200]),
    ] {
        series.push((
            twin,
            Some(rgb),
            f.points.iter().map(|p| (p.t_min, p.twin[m])).collect(),
        ));
        series.push((
            name,
            None,
            f.points
                .iter()
                .filter_map(|p| p.measured[m].map(|v| (p.t_min, v)))
                .collect(),
        ));
    }
    h.push_str(&svg_plot(
        "Vitals: measured (grey) and twin",
        "time (min)",
        "1/min, mmHg",
        &series,
    ));
    if let Some(p) = f.points.last() {
        let _ = write!(
            h,
            "<table><tr><th>at {:.1} min</th><th>estimate</th><th>± 1 SD</th></tr>\
<tr><td>systemic resistance</td><td>× {:.2}</td><td>× {:.2}</td></tr>\
<tr><td>contractility</td><td>× {:.2}</td><td>× {:.2}</td></tr>\
<tr><td>blood volume change</td><td>{:+.0} mL</td><td>{:.0} mL</td></tr></table>",
            p.t_min,
            p.resistance_scale,
            p.resistance_sd_log.exp(),
            p.contractility_scale,
            p.contractility_sd_log.exp(),
            p.volume_change_ml,
            p.volume_sd_ml
        );
    }
}

/// Each prosthesis variant's delta table against the intact baseline, and
/// the prosthetic ankle's moment over the gait cycle of every variant in
/// its colour (the moment the intact ankle makes in grey).
fn gait_section(h: &mut String, doc: &TwinDocument, g: &GaitRuns) {
    let base = gait_summary(&g.baseline);
    for (name, o) in &g.variants {
        delta_table(h, &format!("{name} (prosthesis)"), &base, &gait_summary(o));
    }
    let cycle = |b: &twin_msk::gait::Band| -> Vec<(f64, f64)> {
        let n = b.mean.len();
        b.mean
            .iter()
            .enumerate()
            .map(|(k, &y)| (100.0 * k as f64 / (n - 1).max(1) as f64, y))
            .collect()
    };
    let mut series: Vec<Series<'_>> = Vec::new();
    if let Some(b) = g
        .variants
        .first()
        .and_then(|(_, o)| o.ankle_needed.as_ref())
    {
        series.push(("needed (intact, inverse dynamics)", None, cycle(b)));
    }
    for (name, o) in &g.variants {
        let colour = doc
            .variants
            .iter()
            .position(|v| v.name == *name)
            .map(variant_colour);
        if let Some(b) = &o.ankle_device {
            series.push((name.as_str(), colour, cycle(b)));
        }
    }
    if series.len() > 1 {
        h.push_str("<div>");
        h.push_str(&svg_plot(
            "Prosthetic ankle moment",
            "% gait cycle",
            "moment (N·m/kg)",
            &series,
        ));
        h.push_str("</div><p>Grey: the moment the ankle needs (inverse dynamics of the trial); each variant's device moment in its colour. Each variant fits its device to the same motion and loads and reruns the static optimisation.</p>");
    }
}

/// A variant's table against the baseline: metric, baseline, variant, Δ,
/// Δ % (the metrics both have).
fn delta_table(
    h: &mut String,
    title: &str,
    base: &std::collections::BTreeMap<String, f64>,
    variant: &std::collections::BTreeMap<String, f64>,
) {
    let _ = write!(
        h,
        "<h2>{}</h2><table><tr><th>metric</th><th>baseline</th><th>variant</th><th>Δ</th><th>Δ %</th></tr>",
        escape(title)
    );
    for (k, b) in base {
        let Some(&x) = variant.get(k) else { continue };
        let d = x - b;
        let class = if d.abs() < 1e-9 {
            ""
        } else if d > 0.0 {
            " class=\"up\""
        } else {
            " class=\"down\""
        };
        let pct = if b.abs() > 1e-9 {
            format!("{:+.1}", 100.0 * d / b)
        } else {
            "–".into()
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{b:.2}</td><td>{x:.2}</td><td{class}>{d:+.2}</td><td{class}>{pct}</td></tr>",
            escape(k)
        );
    }
    h.push_str("</table>");
}

/// The report as HTML.
#[must_use]
pub fn html(
    doc: &TwinDocument,
    baseline: &CardioRun,
    runs: &[CardioRun],
    options: ReportOptions,
) -> String {
    html_with(doc, baseline, runs, options, &ReportExtras::default())
}

/// The report as HTML, with the app's 3D view and gait analysis.
#[must_use]
#[expect(
    clippy::too_many_lines,
    reason = "the report's sections in page order, each a short block"
)]
pub fn html_with(
    doc: &TwinDocument,
    baseline: &CardioRun,
    runs: &[CardioRun],
    options: ReportOptions,
    extras: &ReportExtras<'_>,
) -> String {
    let name = if options.privacy {
        pseudonym(&doc.name)
    } else {
        doc.name.clone()
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — Twinscope report</title>\
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}\
table{{border-collapse:collapse;margin:0.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\
td:first-child,th:first-child{{text-align:left}}.up{{color:#b5522a}}.down{{color:#2a6fb5}}svg{{margin:0 1em 1em 0}}</style></head><body>",
        escape(&name)
    );
    let _ = write!(h, "<h1>{}</h1>", escape(&name));
    // Provenance.
    h.push_str("<h2>Provenance</h2><table>");
    let mut row = |k: &str, v: &str| {
        let _ = write!(h, "<tr><td>{}</td><td>{}</td></tr>", escape(k), escape(v));
    };
    row("twin file written by", &doc.software);
    row("created", &utc(doc.created_unix_s));
    row("last saved", &utc(doc.modified_unix_s));
    row("report made by", &crate::document::software());
    match (&doc.study, options.privacy) {
        (Some(_), true) => row("study", "hidden (privacy mode)"),
        (Some(s), false) => {
            row("study folder", &s.path.display().to_string());
            row("StudyInstanceUID", &s.study_instance_uid);
        }
        (None, _) => row("study", "none"),
    }
    match &doc.cardio {
        Some(c) => {
            row("circulation", "calibrated to this patient");
            row("targets from", &c.source);
            row("calibrated", &utc(c.calibrated_unix_s));
            row("calibrated by", &c.software);
        }
        None => row(
            "circulation",
            "not calibrated: the healthy default (docs/models/cardio.md)",
        ),
    }
    h.push_str("</table>");
    if let Some(c) = doc.cardio.as_ref().filter(|c| !c.residuals.is_empty()) {
        h.push_str("<h2>Calibration</h2><table><tr><th>target</th><th>measured</th><th>model</th><th>error %</th></tr>");
        for r in &c.residuals {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{:+.2}</td></tr>",
                escape(&r.name),
                r.target,
                r.model,
                r.error_percent
            );
        }
        h.push_str("</table>");
    }
    h.push_str(
        "<p>Validation of the models, with every comparison and its measured number: \
docs/models/cardio.md (circulation) and docs/models/msk.md (gait) in the Twinscope sources.</p>",
    );
    // Delta tables.
    let base = cardio_summary(&baseline.indices);
    for r in runs {
        delta_table(&mut h, &r.name, &base, &cardio_summary(&r.indices));
    }
    // Plots.
    // Each variant in its colour of the app (by its place in the list).
    let colour = |r: &CardioRun| {
        doc.variants
            .iter()
            .position(|v| v.name == r.name)
            .filter(|_| !std::ptr::eq(r, baseline))
            .map(variant_colour)
    };
    let loops: Vec<Series<'_>> = std::iter::once(baseline)
        .chain(runs)
        .map(|r| {
            let w = &r.waveforms;
            (
                r.name.as_str(),
                colour(r),
                w.v_lv.iter().copied().zip(w.p_lv.iter().copied()).collect(),
            )
        })
        .collect();
    let aortic: Vec<Series<'_>> = std::iter::once(baseline)
        .chain(runs)
        .map(|r| {
            let w = &r.waveforms;
            (
                r.name.as_str(),
                colour(r),
                w.t.iter()
                    .map(|t| t * 1000.0)
                    .zip(w.p_ao.iter().copied())
                    .collect(),
            )
        })
        .collect();
    h.push_str("<h2>Waveforms</h2><div>");
    h.push_str(&svg_plot(
        "LV pressure–volume loop",
        "LV volume (mL)",
        "LV pressure (mmHg)",
        &loops,
    ));
    h.push_str(&svg_plot(
        "Aortic pressure",
        "time in the beat (ms)",
        "pressure (mmHg)",
        &aortic,
    ));
    h.push_str("</div><p>Grey: baseline. Each variant applies its interventions to the baseline and runs to periodic steady state; the last beat is shown.</p>");
    if !doc.segments.is_empty() {
        h.push_str("<h2>Segments</h2><table><tr><th>segment</th><th>volume (mL)</th></tr>");
        for s in &doc.segments {
            let vol = s
                .volume_ml
                .map_or_else(|| "–".into(), |v| format!("{v:.1}"));
            let _ = write!(h, "<tr><td>{}</td><td>{vol}</td></tr>", escape(&s.name));
        }
        h.push_str("</table>");
    }
    if let Some(png) = extras.screenshot_png {
        use base64::Engine as _;
        let _ = write!(
            h,
            "<h2>3D view</h2><img alt=\"the 3D view of the twin\" style=\"max-width:100%\" src=\"data:image/png;base64,{}\">",
            base64::engine::general_purpose::STANDARD.encode(png)
        );
    }
    if extras.timeline.is_some() || extras.follow.is_some() {
        h.push_str("<h2>The heart over time</h2>");
        if let Some(run) = extras.timeline {
            timeline_section(&mut h, run);
        }
        if let Some(f) = extras.follow {
            h.push_str("<h3>Following the vitals</h3>");
            follow_section(&mut h, f);
        }
    }
    let prostheses: Vec<&crate::Variant> = doc
        .variants
        .iter()
        .filter(|v| v.prosthesis.is_some())
        .collect();
    if extras.gait.is_some() || doc.gait.is_some() || !prostheses.is_empty() {
        h.push_str("<h2>Gait</h2>");
        if let (Some(g), false) = (&doc.gait, options.privacy) {
            let _ = write!(
                h,
                "<p>trial {} on model {}</p>",
                escape(&g.motion.display().to_string()),
                escape(&g.model.display().to_string())
            );
        }
        if let Some(text) = extras.gait {
            let _ = write!(h, "<pre>{}</pre>", escape(text));
        }
        match extras.gait_runs {
            Some(g) => gait_section(&mut h, doc, g),
            None => {
                for v in prostheses {
                    let _ = write!(
                        h,
                        "<h3>{} (prosthesis, not run in this report)</h3><table>",
                        escape(&v.name)
                    );
                    for (k, x) in v.results.iter().filter(|(k, _)| k.starts_with("gait_")) {
                        let _ = write!(h, "<tr><td>{}</td><td>{x:.3}</td></tr>", escape(k));
                    }
                    h.push_str("</table>");
                }
            }
        }
    }
    ep_section(&mut h, doc, options.privacy);
    predicted_section(&mut h, doc);
    h.push_str("</body></html>\n");
    h
}

/// The EP what-ifs kept as variants, side by side: the rhythm, leads,
/// scars and ablation lines, and the numbers of the run that kept them
/// (their cardiac beats are in the variants' table above).
fn ep_section(h: &mut String, doc: &TwinDocument, privacy: bool) {
    use crate::document::EpHeart;
    let eps: Vec<(&crate::Variant, &crate::document::EpSetting)> = doc
        .variants
        .iter()
        .filter_map(|v| v.ep.as_ref().map(|e| (v, e)))
        .collect();
    if eps.is_empty() {
        return;
    }
    h.push_str(
        "<h2>Electrophysiology</h2><p>Activation of the ventricles by the anisotropic \
         eikonal equation on a tetrahedral mesh with LDRB fibres (docs/models/ep.md); \
         the total activation time stands for the QRS duration. Each variant's \
         activation drives its ventricles' contraction in its cardiac run.</p>\
         <table><tr><th>what-if</th>",
    );
    for (v, _) in &eps {
        let _ = write!(h, "<th>{}</th>", escape(&v.name));
    }
    h.push_str("</tr>");
    let mut text_row = |label: &str, f: &dyn Fn(&crate::document::EpSetting) -> String| {
        let _ = write!(h, "<tr><td>{}</td>", escape(label));
        for (_, e) in &eps {
            let _ = write!(h, "<td>{}</td>", escape(&f(e)));
        }
        h.push_str("</tr>");
    };
    text_row("heart", &|e| match &e.heart {
        EpHeart::Demo { mesh_mm } => format!("demo heart, {mesh_mm} mm"),
        EpHeart::Mesh { .. } if privacy => "patient mesh (hidden)".to_owned(),
        EpHeart::Mesh { path } => path.display().to_string(),
    });
    text_row("rhythm", &|e| e.rhythm.to_string());
    text_row("leads (LPS mm)", &|e| {
        let leads: Vec<String> = e
            .rhythm
            .leads
            .iter()
            .map(|l| {
                format!(
                    "{} ({:.0}, {:.0}, {:.0})",
                    l.name, l.position[0], l.position[1], l.position[2]
                )
            })
            .collect();
        if leads.is_empty() {
            "none".to_owned()
        } else {
            leads.join("; ")
        }
    });
    text_row("scars, ablation lines", &|e| {
        format!("{}, {}", e.tissue.scars.len(), e.tissue.ablations.len())
    });
    for (key, label) in [
        ("ep_total_activation_ms", "total activation (QRS), ms"),
        ("ep_lv_activation_ms", "LV activation, ms"),
        ("ep_rv_activation_ms", "RV activation, ms"),
        ("ep_lv_rv_delay_ms", "LV − RV delay, ms"),
        ("ep_qlv_ms", "QLV at the LV lead, ms"),
        ("lv_ef_percent", "LV EF, %"),
        ("stroke_work_mmhg_ml", "stroke work, mmHg·mL"),
    ] {
        let _ = write!(h, "<tr><td>{}</td>", escape(label));
        for (v, _) in &eps {
            match v.results.get(key) {
                Some(x) => {
                    let _ = write!(h, "<td>{x:.1}</td>");
                }
                None => h.push_str("<td>—</td>"),
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
}

/// The predicted walks kept as variants, side by side, and the device
/// tunings kept with them.
fn predicted_section(h: &mut String, doc: &TwinDocument) {
    let walks: Vec<(&crate::Variant, &crate::document::PredictedGait)> = doc
        .variants
        .iter()
        .filter_map(|v| v.predicted.as_ref().map(|p| (v, p)))
        .collect();
    if walks.is_empty() {
        return;
    }
    h.push_str(
        "<h2>Predicted gait</h2><p>Forward simulations of the planar model under a \
         reflex controller searched by CMA-ES (docs/models/predictive.md): \
         predictions, not measurements.</p><table><tr><th>metric</th>",
    );
    for (v, _) in &walks {
        let _ = write!(h, "<th>{}</th>", escape(&v.name));
    }
    h.push_str("</tr><tr><td>device</td>");
    for (v, _) in &walks {
        let device = v.prosthesis.as_ref().map_or_else(
            || "none".to_owned(),
            |p| format!("{} side, {:.0} N·m/rad", p.side, p.stiffness_nm_per_rad),
        );
        let _ = write!(h, "<td>{}</td>", escape(&device));
    }
    h.push_str("</tr>");
    let rows: [(&str, &str, usize); 13] = [
        ("walked_s", "walked (s)", 1),
        ("speed_m_per_s", "speed (m/s)", 2),
        (
            "cost_of_transport_j_per_kg_m",
            "cost of transport (J/kg/m)",
            2,
        ),
        ("stance_asymmetry_percent", "stance-time asymmetry (%)", 1),
        ("step_length_m_r", "step length, right (m)", 2),
        ("step_length_m_l", "step length, left (m)", 2),
        ("peak_grf_bw_r", "peak vertical GRF, right (BW)", 2),
        ("peak_grf_bw_l", "peak vertical GRF, left (BW)", 2),
        (
            "ankle_work_j_per_kg_r",
            "ankle push-off, right (J/kg per stride)",
            2,
        ),
        (
            "ankle_work_j_per_kg_l",
            "ankle push-off, left (J/kg per stride)",
            2,
        ),
        (
            "hip_work_j_per_kg_r",
            "hip positive work, right (J/kg per stride)",
            2,
        ),
        (
            "hip_work_j_per_kg_l",
            "hip positive work, left (J/kg per stride)",
            2,
        ),
        ("fell", "fell (1 = yes)", 0),
    ];
    for (key, label, digits) in rows {
        let _ = write!(h, "<tr><td>{}</td>", escape(label));
        for (_, p) in &walks {
            match p.summary.get(key) {
                Some(x) => {
                    let _ = write!(h, "<td>{x:.digits$}</td>");
                }
                None => h.push_str("<td>–</td>"),
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    for (v, p) in &walks {
        let Some(t) = &p.tuning else { continue };
        let _ = write!(
            h,
            "<h3>Device tuning from “{}”</h3>{}",
            escape(&v.name),
            tuning_table(t)
        );
    }
}

/// A kept tuning as a table: the mean cost of transport per stiffness
/// and neutral angle over the seeds that walked, and whether the seeds'
/// optima hold.
fn tuning_table(t: &crate::tuning::Landscape) -> String {
    let ns = t.seeds.len();
    if t.stiffness.is_empty()
        || t.neutral_deg.is_empty()
        || t.cells.len() != t.stiffness.len() * t.neutral_deg.len() * ns
    {
        return "<p>(the kept tuning does not fill its grid)</p>".to_owned();
    }
    let mut h = String::from("<table><tr><th>stiffness (N·m/rad) \\ neutral</th>");
    for n in &t.neutral_deg {
        let _ = write!(h, "<th>{n:+.0}°</th>");
    }
    h.push_str("</tr>");
    for (i, k) in t.stiffness.iter().enumerate() {
        let _ = write!(h, "<tr><td>{k:.0}</td>");
        for j in 0..t.neutral_deg.len() {
            let start = (i * t.neutral_deg.len() + j) * ns;
            let walks = t.cells[start..start + ns]
                .iter()
                .filter(|c| c.walked())
                .count();
            match t.mean(i, j, |c| c.outcome.cost_of_transport) {
                Some(mean) => {
                    let _ = write!(h, "<td>{mean:.2} ({walks} of {ns})</td>");
                }
                None => h.push_str("<td>no walk</td>"),
            }
        }
        h.push_str("</tr>");
    }
    let _ = write!(
        h,
        "</table><p>Mean cost of transport (J/kg/m) over the seeds that walked. {}</p>",
        if t.stable {
            "The seeds' optima lie within one grid step."
        } else {
            "The seeds' optima do not lie within one grid step."
        }
    );
    h
}

/// The waveforms of the baseline and the runs as CSV: `run,t_s,p_lv_mmhg,
/// p_ao_mmhg,p_la_mmhg,v_lv_ml`.
#[must_use]
pub fn waveforms_csv(baseline: &CardioRun, runs: &[CardioRun]) -> String {
    let mut out = String::from("run,t_s,p_lv_mmhg,p_ao_mmhg,p_la_mmhg,v_lv_ml\n");
    for r in std::iter::once(baseline).chain(runs) {
        let w = &r.waveforms;
        let name = r.name.replace(['"', ',', '\n'], " ");
        for i in 0..w.t.len() {
            let _ = writeln!(
                out,
                "{name},{:.5},{:.3},{:.3},{:.3},{:.3}",
                w.t[i], w.p_lv[i], w.p_ao[i], w.p_la[i], w.v_lv[i]
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Variant;
    use crate::document::StudyRef;
    use twin_cardio::simulate::SimOptions;
    use twin_cardio::{Intervention, Scenario};
    use twin_core::Progress;

    /// The baseline and each cardiac variant simulated (as
    /// `twin_session::runs::run_cardio` does).
    fn run_cardio(doc: &TwinDocument, _: &Progress) -> Result<(CardioRun, Vec<CardioRun>), String> {
        let run = |name: &str, interventions: &[Intervention]| {
            let s = Scenario {
                name: name.to_owned(),
                description: String::new(),
                interventions: interventions.to_vec(),
            };
            let sim = s
                .simulate(
                    &crate::runs::baseline_parameters(doc),
                    None,
                    SimOptions::default(),
                    &Progress::new(),
                )
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(CardioRun {
                name: name.to_owned(),
                indices: sim.last().clone(),
                waveforms: sim.waveforms,
            })
        };
        let base = run("baseline", &[])?;
        let runs = doc
            .variants
            .iter()
            .filter(|v| !v.cardio.is_empty())
            .map(|v| run(&v.name, &v.cardio))
            .collect::<Result<_, _>>()?;
        Ok((base, runs))
    }

    #[test]
    fn predicted_walks_and_their_tuning_are_reported_side_by_side() {
        let mut doc = TwinDocument::new("gait");
        let summary = |cot: f64, push_r: f64| -> std::collections::BTreeMap<String, f64> {
            [
                ("cost_of_transport_j_per_kg_m".to_owned(), cot),
                ("speed_m_per_s".to_owned(), 1.11),
                ("ankle_work_j_per_kg_r".to_owned(), push_r),
                ("fell".to_owned(), 0.0),
            ]
            .into()
        };
        doc.variants.push(Variant {
            name: "predicted: intact".into(),
            predicted: Some(crate::document::PredictedGait {
                summary: summary(8.96, 0.05),
                solution: serde_json::json!({}),
                tuning: None,
            }),
            ..Variant::default()
        });
        // The tuning kept in examples/ (4 stiffnesses × 1 neutral angle ×
        // 3 seeds; 450 N·m/rad seed 3 ended at 0.23 m/s: no walk).
        let tuning: crate::tuning::Landscape = serde_json::from_str(include_str!(
            "../../../examples/gait/tuning-landscape-2d.json"
        ))
        .unwrap();
        doc.variants.push(Variant {
            name: "predicted: prosthesis <400>".into(),
            prosthesis: serde_json::from_str(
                r#"{"side": "right", "stiffness_nm_per_rad": 400.0, "damping_nms_per_rad": 2.0,
                    "neutral_angle_deg": 0.0, "alignment_offset_deg": 0.0, "mass_kg": 1.2}"#,
            )
            .unwrap(),
            predicted: Some(crate::document::PredictedGait {
                summary: summary(9.48, 0.11),
                solution: serde_json::json!({}),
                tuning: Some(tuning),
            }),
            ..Variant::default()
        });
        let (base, runs) = run_cardio(&doc, &Progress::new()).unwrap();
        let h = html(&doc, &base, &runs, ReportOptions::default());
        for expected in [
            "<h2>Predicted gait</h2>",
            "<th>predicted: intact</th><th>predicted: prosthesis &lt;400&gt;</th>",
            "<td>device</td><td>none</td><td>right side, 400 N·m/rad</td>",
            "<td>cost of transport (J/kg/m)</td><td>8.96</td><td>9.48</td>",
            "<td>ankle push-off, right (J/kg per stride)</td><td>0.05</td><td>0.11</td>",
            "<td>step length, right (m)</td><td>–</td><td>–</td>",
            "Device tuning from “predicted: prosthesis &lt;400&gt;”",
            "<td>450</td><td>10.88 (2 of 3)</td>",
            "<td>800</td><td>9.63 (2 of 3)</td>",
            "optima lie within one grid step",
        ] {
            assert!(h.contains(expected), "{expected} not in the report");
        }
    }

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        // 2026-12-01 00:00 UTC = 20 788 days.
        assert_eq!(utc(20_788 * 86_400 + 3_600 + 120), "2026-12-01 01:02 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn the_report_tables_each_variant_and_hides_identity_in_privacy_mode() {
        let mut doc = TwinDocument::new("DOE^JANE <b>");
        doc.study = Some(StudyRef {
            path: "/data/DOE_JANE".into(),
            study_instance_uid: "1.2.3.4.5.6".into(),
            series_instance_uids: Vec::new(),
        });
        doc.variants.push(Variant {
            name: "severe AS <script>".into(),
            cardio: vec![Intervention::AorticStenosis {
                valve_area_cm2: 0.7,
            }],
            ..Variant::default()
        });
        let (base, runs) = run_cardio(&doc, &Progress::new()).unwrap();
        let open = html(&doc, &base, &runs, ReportOptions::default());
        // The variant is drawn in its colour of the app; the baseline grey.
        let [r, g, b] = variant_colour(doc.variants.len() - 1);
        assert!(open.contains(&format!("stroke=\"#{r:02x}{g:02x}{b:02x}\"")));
        assert!(open.contains("stroke=\"#999\""));
        assert!(open.contains("DOE^JANE &lt;b&gt;") && !open.contains("<b>"));
        assert!(open.contains("severe AS &lt;script&gt;") && !open.contains("<script>"));
        assert!(open.contains("/data/DOE_JANE") && open.contains("1.2.3.4.5.6"));
        assert!(
            open.contains("<td>aortic_mean_gradient_mmhg</td>"),
            "{open}"
        );
        assert_eq!(open.matches("<polyline").count(), 4);
        let private = html(&doc, &base, &runs, ReportOptions { privacy: true });
        for leak in ["DOE", "JANE", "1.2.3.4.5.6"] {
            assert!(!private.contains(leak), "{leak} in the private report");
        }
        assert!(private.contains(&pseudonym(&doc.name)));
        let csv = waveforms_csv(&base, &runs);
        let lines = csv.lines().count();
        assert_eq!(
            lines,
            1 + base.waveforms.t.len() + runs[0].waveforms.t.len()
        );
    }

    #[test]
    fn ep_variants_are_reported_side_by_side_and_mesh_paths_stay_private() {
        use twin_ep::heart::{Block, Rhythm, Tissue};
        let mut doc = TwinDocument::new("DOE^JANE");
        let setting = |heart, rhythm| crate::document::EpSetting {
            heart,
            rhythm,
            tissue: Tissue::default(),
        };
        let mut lbbb = crate::Variant {
            name: "LBBB".into(),
            ep: Some(setting(
                crate::document::EpHeart::Mesh {
                    path: "/clinic/DOE_JANE/heart.vtk".into(),
                },
                Rhythm::blocked(Block::Lbbb),
            )),
            ..crate::Variant::default()
        };
        lbbb.results.insert("ep_total_activation_ms".into(), 179.46);
        let mut crt = crate::Variant {
            name: "CRT <VV 20>".into(),
            ep: Some(setting(
                crate::document::EpHeart::Demo { mesh_mm: 1.5 },
                Rhythm::crt(Block::Lbbb, [1.0, 2.0, 3.0], [40.0, 5.0, -6.0], 20.0),
            )),
            ..crate::Variant::default()
        };
        crt.results.insert("ep_qlv_ms".into(), 153.9);
        doc.variants = vec![lbbb, crt];
        let (base, runs) = run_cardio(&doc, &Progress::new()).unwrap();
        let open = html(&doc, &base, &runs, ReportOptions::default());
        assert!(open.contains("<h2>Electrophysiology</h2>"), "{open}");
        assert!(open.contains("<th>LBBB</th><th>CRT &lt;VV 20&gt;</th>"));
        assert!(open.contains("<td>179.5</td><td>—</td>"));
        assert!(open.contains("<td>—</td><td>153.9</td>"));
        assert!(open.contains("LBBB, no intrinsic conduction, paced: RV at +0 ms, LV at +20 ms"));
        assert!(open.contains("LV (40, 5, -6)"));
        assert!(open.contains("/clinic/DOE_JANE/heart.vtk"));
        let private = html(&doc, &base, &runs, ReportOptions { privacy: true });
        assert!(
            !private.contains("DOE"),
            "the mesh's folder in privacy mode"
        );
        assert!(private.contains("patient mesh (hidden)"));
    }

    #[test]
    fn the_apps_extras_are_embedded_and_escaped_and_gait_paths_stay_private() {
        let mut doc = TwinDocument::new("DOE^JANE");
        doc.segments.push(crate::document::Segment {
            name: "LV <blood pool>".into(),
            colour: [200, 50, 50],
            method: "grown".into(),
            series_instance_uid: None,
            mesh: None,
            volume_ml: Some(133.42),
            recipe: None,
        });
        doc.gait = Some(crate::document::GaitTrial {
            model: "/lab/DOE_JANE/model.osim".into(),
            motion: "/lab/DOE_JANE/walk.mot".into(),
            loads: None,
        });
        let (base, runs) = run_cardio(&doc, &Progress::new()).unwrap();
        let png = [0x89, b'P', b'N', b'G', 1, 2, 3];
        let extras = ReportExtras {
            screenshot_png: Some(&png),
            gait: Some("intact <baseline> 4.37 W/kg"),
            gait_runs: None,
            timeline: None,
            follow: None,
        };
        let open = html_with(&doc, &base, &runs, ReportOptions::default(), &extras);
        assert!(
            open.contains("data:image/png;base64,iVBORwECAw=="),
            "{open}"
        );
        assert!(open.contains("LV &lt;blood pool&gt;</td><td>133.4</td>"));
        assert!(open.contains("intact &lt;baseline&gt; 4.37 W/kg"));
        assert!(open.contains("/lab/DOE_JANE/walk.mot"));
        let private = html_with(&doc, &base, &runs, ReportOptions { privacy: true }, &extras);
        assert!(
            !private.contains("DOE"),
            "the gait files' folders in privacy mode"
        );
        assert!(private.contains("<h2>Gait</h2>") && private.contains("<h2>3D view</h2>"));
        // Without extras nothing is added.
        let plain = html(&doc, &base, &runs, ReportOptions::default());
        assert!(!plain.contains("<h2>3D view</h2>"));
    }
}
