//! The jobs panel, the status bar's job line and the error toasts, over the
//! list that [`twin_core::jobs::Jobs`] keeps.

use std::fmt::Write as _;
use std::time::Duration;

use egui::{Color32, RichText, Ui};
use twin_core::jobs::{JobId, JobInfo, JobState, Notice};

/// `1 min 05 s`, `12 s`, `0.4 s`.
#[must_use]
pub fn duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 60.0 {
        format!("{s:.0} s")
    } else {
        format!("{} min {:02} s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// The status bar's line: the running job (with %, ETA and how many wait)
/// or `None` when nothing runs.
#[must_use]
pub fn status_line(jobs: &[JobInfo]) -> Option<String> {
    let running: Vec<&JobInfo> = jobs
        .iter()
        .filter(|j| j.state == JobState::Running)
        .collect();
    let queued = jobs.iter().filter(|j| j.state == JobState::Queued).count();
    let first = running.first()?;
    let mut line = first.label.clone();
    if !first.stage.is_empty() {
        line.push_str(" — ");
        line.push_str(&first.stage);
    }
    let _ = write!(line, " ({:.0} %", first.fraction * 100.0);
    if let Some(eta) = first.eta {
        let _ = write!(line, ", about {} left", duration(eta));
    }
    line.push(')');
    if running.len() > 1 {
        let _ = write!(line, "; {} more running", running.len() - 1);
    }
    if queued > 0 {
        let _ = write!(line, "; {queued} queued");
    }
    Some(line)
}

fn state_text(j: &JobInfo) -> RichText {
    match &j.state {
        JobState::Queued => RichText::new("queued").weak(),
        JobState::Running => RichText::new("running"),
        JobState::Finished => RichText::new("done").color(Color32::from_rgb(110, 190, 120)),
        JobState::Cancelled => RichText::new("cancelled").weak(),
        JobState::Failed(_) => RichText::new("failed").color(crate::number::INVALID),
    }
}

/// The jobs panel: every queued, running and recent job with its progress,
/// time and ETA; returns the jobs the user cancelled.
pub fn jobs_panel(ui: &mut Ui, jobs: &[JobInfo]) -> Vec<JobId> {
    let mut cancel = Vec::new();
    if jobs.is_empty() {
        ui.label(RichText::new("No jobs yet.").weak());
        return cancel;
    }
    egui::Grid::new("jobs")
        .num_columns(5)
        .striped(true)
        .show(ui, |ui| {
            for h in ["job", "state", "progress", "time", ""] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for j in jobs {
                let r = ui.label(&j.label);
                if let JobState::Failed(m) = &j.state {
                    r.on_hover_text(m);
                } else if !j.stage.is_empty() {
                    r.on_hover_text(&j.stage);
                }
                ui.label(state_text(j));
                ui.add(
                    egui::ProgressBar::new(j.fraction)
                        .show_percentage()
                        .desired_width(120.0),
                );
                let time = match (&j.state, j.eta) {
                    (JobState::Queued, _) => "–".to_owned(),
                    (JobState::Running, Some(eta)) => {
                        format!("{} (≈ {} left)", duration(j.elapsed), duration(eta))
                    }
                    _ => duration(j.elapsed),
                };
                ui.label(time);
                if j.state.is_active() {
                    if ui.small_button("Cancel").clicked() {
                        cancel.push(j.id);
                    }
                } else {
                    ui.label("");
                }
                ui.end_row();
            }
        });
    cancel
}

/// Error toasts in the lower-right corner; returns the ones closed.
#[must_use]
pub fn toasts(ctx: &egui::Context, notices: &[Notice]) -> Vec<u64> {
    let mut closed = Vec::new();
    if notices.is_empty() {
        return closed;
    }
    egui::Area::new("toasts".into())
        .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-12.0, -36.0))
        .order(egui::Order::Foreground)
        .show(ctx, |ui| {
            ui.set_max_width(420.0);
            for n in notices {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.colored_label(crate::number::INVALID, "⚠");
                        ui.label(&n.text);
                        if ui.small_button("✕").clicked() {
                            closed.push(n.id);
                        }
                    });
                });
            }
        });
    closed
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_core::jobs::{Jobs, Priority};

    fn info(id: JobId, label: &str, state: JobState, fraction: f32) -> JobInfo {
        JobInfo {
            id,
            group: "g".into(),
            label: label.into(),
            state,
            stage: "decoding slices".into(),
            fraction,
            elapsed: Duration::from_secs(3),
            eta: Some(Duration::from_secs(75)),
        }
    }

    #[test]
    fn the_status_line_names_the_running_job_its_eta_and_the_queue() {
        assert_eq!(status_line(&[]), None);
        let list = [
            info(1, "Loading CT", JobState::Running, 0.25),
            info(2, "Meshing", JobState::Queued, 0.0),
            info(3, "Old", JobState::Finished, 1.0),
        ];
        assert_eq!(
            status_line(&list).unwrap(),
            "Loading CT — decoding slices (25 %, about 1 min 15 s left); 1 queued"
        );
        assert_eq!(duration(Duration::from_millis(420)), "0.4 s");
    }

    #[test]
    fn the_panel_lists_jobs_and_cancels_the_one_asked() {
        let jobs = Jobs::with_workers(1);
        let t = jobs.submit("load", "Loading CT", Priority::Background, |p, s| {
            p.begin("decoding", 10);
            while !p.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            s(());
        });
        let ctx = egui::Context::default();
        let list = jobs.list();
        let mut cancel = Vec::new();
        let out = crate::testing::frame(&ctx, [700.0, 300.0], Vec::new(), |ui| {
            cancel = jobs_panel(ui, &list);
        });
        let text = crate::painted_text(&out);
        assert!(text.contains("Loading CT"), "{text}");
        assert!(cancel.is_empty());
        let pos = crate::testing::text_position(&out, "Cancel").expect("a Cancel button");
        let out = crate::testing::frame(&ctx, [700.0, 300.0], crate::testing::click(pos), |ui| {
            cancel = jobs_panel(ui, &list);
        });
        drop(out);
        assert_eq!(cancel, vec![t.id]);
        jobs.cancel(t.id);
    }
}
