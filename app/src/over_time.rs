//! The cardiac twin over time: timelines of events and drugs simulated beat
//! by beat with the reflexes, and a patient's vitals followed, both in the
//! job system (progress, cancel) on the twin's calibrated heart (the healthy
//! default before a calibration). The panes are `twin_ui::timeline`'s.

use std::path::{Path, PathBuf};

use bevy::prelude::*;
use twin_cardio::Parameters;
use twin_cardio::follow::{Follow, follow_patient};
use twin_cardio::timeline::{Timeline, TimelineRun};
use twin_session::jobs::{Job, Priority};
use twin_ui::timeline::TimelineAction;

use crate::Args;
use crate::session::{CardioAsk, Session};

pub struct OverTimePlugin {
    /// The edited timeline is not kept in the user's state folder (tests).
    pub detached: bool,
}

impl Plugin for OverTimePlugin {
    fn build(&self, app: &mut App) {
        let kept = (!self.detached).then(|| {
            twin_core::paths::user_dir("TWIN_STATE_DIR", "XDG_STATE_HOME", ".local/state")
                .join("timeline.json")
        });
        app.insert_resource(OverTime {
            kept,
            ..OverTime::default()
        })
        .add_systems(Startup, start)
        .add_systems(
            Update,
            (asks, poll, keep).chain().in_set(crate::Feature::Cardio),
        );
    }
}

enum Msg {
    Ran(Box<TimelineRun>),
    Opened(Box<Timeline>),
    Followed(Box<Follow>, String),
    Note(String),
    Failed(String),
}

#[derive(Resource, Default)]
struct OverTime {
    run: Option<Job<Msg>>,
    follow: Option<Job<Msg>>,
    /// Where the edited timeline is kept between runs of the app (so an
    /// edit is never lost), and what was last written there.
    kept: Option<PathBuf>,
    saved: String,
    checked: Option<std::time::Instant>,
}

/// Keeps the edited timeline in the state folder (checked once a second;
/// written to a temporary file, then renamed).
fn keep(mut over: ResMut<OverTime>, s: Res<Session>) {
    if over
        .checked
        .is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1))
    {
        return;
    }
    over.checked = Some(std::time::Instant::now());
    let Some(path) = over.kept.clone() else {
        return;
    };
    let Ok(json) = serde_json::to_string_pretty(&s.cardio.timeline.timeline) else {
        return;
    };
    if json == over.saved {
        return;
    }
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, &json)?;
        std::fs::rename(&tmp, &path)
    };
    match write() {
        Ok(()) => over.saved = json,
        Err(e) => {
            twin_session::jobs::jobs().notify(&format!("keeping the timeline: {e}"));
            over.kept = None;
        }
    }
}

/// The twin's calibrated heart, else the healthy default.
fn patient(s: &Session) -> Parameters {
    twin_scenario::runs::baseline_parameters(&s.twin.doc)
}

/// A timeline file read and checked, its errors naming it.
fn read_timeline(path: &Path) -> Result<Timeline, String> {
    Timeline::read(path)
        .and_then(|t| t.validate().map(|()| t))
        .map_err(|e| format!("timeline `{}`: {e}", path.display()))
}

/// How a file is named on screen: its path, or nothing in privacy mode (a
/// file name may carry the patient's identity).
fn shown(path: &Path, privacy: bool) -> String {
    if privacy {
        "the vitals file".into()
    } else {
        format!("`{}`", path.display())
    }
}

/// Reads the vitals `pick` gives and follows them on `p` (a job's work).
fn follow_vitals(
    p: &Parameters,
    privacy: bool,
    pick: impl FnOnce() -> Option<PathBuf>,
    progress: &twin_core::Progress,
) -> Msg {
    let Some(path) = pick() else {
        return Msg::Note(String::new());
    };
    let label = shown(&path, privacy);
    let vitals = match twin_cardio::follow::read_vitals(&path) {
        Ok(v) => v,
        Err(e) => return Msg::Failed(format!("vitals {label}: {e}")),
    };
    match follow_patient(p, &vitals, progress) {
        Ok(f) => Msg::Followed(Box::new(f), format!("{label}: {} samples", vitals.len())),
        Err(e) => Msg::Failed(format!("vitals {label}: {e}")),
    }
}

impl OverTime {
    fn run(&mut self, s: &mut Session, mut timeline: Timeline) {
        if timeline.parameters.is_none() {
            timeline.parameters = Some(patient(s));
        }
        let v = &mut s.cardio.timeline;
        v.busy = true;
        v.status = format!("running {}…", timeline.name);
        self.run = Some(Job::once(
            "timeline",
            "Timeline, beat by beat",
            Priority::Interactive,
            move |progress| match timeline.run(progress) {
                Ok(r) => Msg::Ran(Box::new(r)),
                Err(e) => Msg::Failed(format!("{}: {e}", timeline.name)),
            },
        ));
    }

    fn follow_file(&mut self, s: &mut Session, path: PathBuf, privacy: bool) {
        let p = patient(s);
        let privacy = privacy || s.twin.privacy;
        let v = &mut s.cardio.timeline;
        v.follow_busy = true;
        v.follow_status = format!("following {}…", shown(&path, privacy));
        self.follow = Some(Job::once(
            "vitals",
            "Following the vitals",
            Priority::Interactive,
            move |progress| follow_vitals(&p, privacy, || Some(path), progress),
        ));
    }
}

/// `--timeline` and `--vitals` at the start.
fn start(args: Res<Args>, mut over: ResMut<OverTime>, mut s: ResMut<Session>) {
    let s = &mut *s;
    // The timeline edited last time, unless one is asked for.
    if args.timeline.is_none()
        && let Some(path) = over.kept.clone()
        && path.exists()
    {
        match read_timeline(&path) {
            Ok(t) => {
                over.saved = serde_json::to_string_pretty(&t).unwrap_or_default();
                s.cardio.timeline.timeline = t;
                s.cardio.timeline.status = "your last timeline; Run to simulate".into();
            }
            Err(e) => {
                s.cardio.timeline.status = format!("the last timeline could not be read: {e}");
            }
        }
    }
    if let Some(path) = &args.timeline {
        match read_timeline(path) {
            Ok(t) => {
                s.cardio.timeline.timeline = t.clone();
                over.run(s, t);
            }
            Err(e) => {
                twin_session::jobs::jobs().notify(&e);
                s.cardio.timeline.status = e;
            }
        }
    }
    if let Some(path) = &args.vitals {
        over.follow_file(s, path.clone(), args.privacy);
    }
}

fn asks(mut asks: MessageReader<CardioAsk>, mut over: ResMut<OverTime>, mut s: ResMut<Session>) {
    let s = &mut *s;
    for ask in asks.read() {
        let a = match ask {
            CardioAsk::Timeline(a) => a,
            CardioAsk::ShowOverTime => {
                let v = &s.cardio.timeline;
                if v.run.is_none() && !v.busy {
                    let t = v.timeline.clone();
                    over.run(s, t);
                }
                continue;
            }
            _ => continue,
        };
        match (**a).clone() {
            TimelineAction::Run(t) => over.run(s, t),
            TimelineAction::Open => {
                over.run = Some(Job::once(
                    "timeline",
                    "Open a timeline",
                    Priority::Interactive,
                    |_| {
                        let Some(path) = rfd::FileDialog::new()
                            .set_title("Open timeline")
                            .add_filter("Timeline", &["json"])
                            .pick_file()
                        else {
                            return Msg::Note(String::new());
                        };
                        match read_timeline(&path) {
                            Ok(t) => Msg::Opened(Box::new(t)),
                            Err(e) => Msg::Failed(e),
                        }
                    },
                ));
            }
            TimelineAction::Save(t) => {
                over.run = Some(Job::once(
                    "timeline",
                    "Save the timeline",
                    Priority::Interactive,
                    move |_| {
                        let Some(path) = rfd::FileDialog::new()
                            .set_title("Save timeline")
                            .set_file_name(format!("{}.json", t.name))
                            .add_filter("Timeline", &["json"])
                            .save_file()
                        else {
                            return Msg::Note(String::new());
                        };
                        let json = match serde_json::to_string_pretty(&t) {
                            Ok(j) => j,
                            Err(e) => return Msg::Failed(e.to_string()),
                        };
                        match std::fs::write(&path, json) {
                            Ok(()) => Msg::Note(format!("saved {}", path.display())),
                            Err(e) => {
                                Msg::Failed(format!("cannot write `{}`: {e}", path.display()))
                            }
                        }
                    },
                ));
            }
            TimelineAction::OpenVitals => {
                let p = patient(s);
                let privacy = s.twin.privacy;
                s.cardio.timeline.follow_busy = true;
                over.follow = Some(Job::once(
                    "vitals",
                    "Open vitals",
                    Priority::Interactive,
                    move |progress| {
                        let pick = || {
                            rfd::FileDialog::new()
                                .set_title("Vitals: CSV, or a FHIR R4 Bundle (JSON)")
                                .add_filter("vitals", &["csv", "json"])
                                .pick_file()
                        };
                        follow_vitals(&p, privacy, pick, progress)
                    },
                ));
            }
        }
    }
}

fn poll(mut over: ResMut<OverTime>, mut s: ResMut<Session>) {
    let v = &mut s.cardio.timeline;
    for follow_job in [false, true] {
        let job = if follow_job {
            &mut over.follow
        } else {
            &mut over.run
        };
        let Some(msg) = job.as_ref().and_then(|j| j.try_recv().ok()) else {
            continue;
        };
        if let (Msg::Failed(e), Some(j)) = (&msg, job.as_ref()) {
            j.fail(e);
        }
        *job = None;
        if follow_job {
            v.follow_busy = false;
        } else {
            v.busy = false;
        }
        match msg {
            Msg::Ran(r) => {
                v.status = format!("{} beats", r.beats());
                v.set_run(*r);
            }
            Msg::Opened(t) => {
                v.timeline = *t;
                v.status = "opened; Run to simulate".into();
            }
            Msg::Followed(f, note) => {
                v.follow = Some(*f);
                v.follow_status = note;
            }
            Msg::Note(n) => {
                if follow_job {
                    v.follow_status = n;
                } else {
                    v.status = n;
                }
            }
            Msg::Failed(e) => {
                if follow_job {
                    v.follow_status = e;
                } else {
                    v.status = e;
                }
            }
        }
    }
}
