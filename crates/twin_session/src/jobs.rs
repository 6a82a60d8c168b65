//! Jobs of a session on the one job system ([`twin_core::jobs::Jobs`], one
//! per process): a [`Job`] owned by one feature (dropped = cancelled), and
//! [`KeyedRuns`], runs by key (what they run, e.g. a variant's settings as
//! JSON) so that only what changed reruns. The app's windows, its headless
//! tests and the session's own variant runs all use these.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::mpsc::TryRecvError;

use twin_core::Progress;
pub use twin_core::jobs::Priority;
use twin_core::jobs::{Jobs, Ticket};

/// The app's job system (one per process; the plugins and tests share it).
pub fn jobs() -> &'static Jobs {
    static JOBS: OnceLock<Jobs> = OnceLock::new();
    JOBS.get_or_init(Jobs::default)
}

/// A job owned by one feature: its ticket and its label.
pub struct Job<T> {
    pub label: String,
    pub progress: Progress,
    ticket: Ticket<T>,
}

impl<T: Send + 'static> Job<T> {
    /// Queues `work` in `group`, cancelling the group's earlier jobs (a new
    /// request replaces the old one); it sends its messages with the
    /// function it is given.
    pub fn start(
        group: &str,
        label: &str,
        priority: Priority,
        work: impl FnOnce(&Progress, &dyn Fn(T)) + Send + 'static,
    ) -> Self {
        let ticket = jobs().submit_replacing(group, label, priority, work);
        Self {
            label: label.to_owned(),
            progress: ticket.progress.clone(),
            ticket,
        }
    }

    /// As [`Self::start`] for work that answers once.
    pub fn once(
        group: &str,
        label: &str,
        priority: Priority,
        work: impl FnOnce(&Progress) -> T + Send + 'static,
    ) -> Self {
        Self::start(group, label, priority, move |p, send| send(work(p)))
    }

    /// The next message, `Empty` while the work goes on, `Disconnected`
    /// once it has ended and every message was read.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.ticket.try_recv()
    }

    /// Marks the job failed with `message` (shown as an error toast),
    /// unless it was cancelled.
    pub fn fail(&self, message: &str) {
        if !self.progress.is_cancelled() {
            jobs().fail(self.ticket.id, message);
        }
    }
}

/// Jobs by key (what they run, e.g. a variant's settings as JSON) and their
/// answers: each key runs once until [`KeyedRuns::clear`], so only what
/// changed reruns. The cardiac and gait variants keep theirs here.
pub struct KeyedRuns<T> {
    done: HashMap<String, T>,
    running: HashMap<String, Job<Result<T, String>>>,
    failed: HashMap<String, String>,
}

/// A key's place in [`KeyedRuns`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Running, or not started.
    Pending,
    Done,
    Failed,
}

impl<T> Default for KeyedRuns<T> {
    fn default() -> Self {
        Self {
            done: HashMap::new(),
            running: HashMap::new(),
            failed: HashMap::new(),
        }
    }
}

impl<T: Send + 'static> KeyedRuns<T> {
    /// The result for `key`, once it finished well.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&T> {
        self.done.get(key)
    }

    /// Why the run for `key` failed.
    #[must_use]
    pub fn error(&self, key: &str) -> Option<&String> {
        self.failed.get(key)
    }

    /// `key` has its answer (a result or an error).
    #[must_use]
    pub fn answered(&self, key: &str) -> bool {
        self.done.contains_key(key) || self.failed.contains_key(key)
    }

    /// `key` has neither an answer nor a run going.
    #[must_use]
    pub fn wanted(&self, key: &str) -> bool {
        !self.answered(key) && !self.running.contains_key(key)
    }

    /// Where `key` stands, for signatures of what was last shown.
    #[must_use]
    pub fn state(&self, key: &str) -> RunState {
        if self.done.contains_key(key) {
            RunState::Done
        } else if self.failed.contains_key(key) {
            RunState::Failed
        } else {
            RunState::Pending
        }
    }

    /// Every failed run's message.
    #[must_use]
    pub fn errors(&self) -> Vec<String> {
        self.failed.values().cloned().collect()
    }

    #[must_use]
    pub fn is_running(&self, key: &str) -> bool {
        self.running.contains_key(key)
    }

    /// Runs going now.
    #[must_use]
    pub fn running(&self) -> usize {
        self.running.len()
    }

    pub fn start(&mut self, key: String, job: Job<Result<T, String>>) {
        self.running.insert(key, job);
    }

    /// Takes `result` as `key`'s answer (no run needed).
    pub fn insert(&mut self, key: String, result: T) {
        self.done.insert(key, result);
    }

    /// Drops (and so cancels) the runs whose key is no longer wanted.
    pub fn keep_running(&mut self, wanted: impl Fn(&str) -> bool) {
        self.running.retain(|k, _| wanted(k));
    }

    /// Files the finished runs' answers (a failed one is marked so: an
    /// error toast) and returns their keys.
    pub fn collect(&mut self) -> Vec<String> {
        let finished: Vec<(String, Result<T, String>)> = self
            .running
            .iter()
            .filter_map(|(k, job)| {
                let r = job.try_recv().ok()?;
                if let Err(e) = &r {
                    job.fail(e);
                }
                Some((k.clone(), r))
            })
            .collect();
        finished
            .into_iter()
            .map(|(k, r)| {
                self.running.remove(&k);
                match r {
                    Ok(v) => {
                        self.done.insert(k.clone(), v);
                    }
                    Err(e) => {
                        self.failed.insert(k.clone(), e);
                    }
                }
                k
            })
            .collect()
    }

    /// Forgets every run and answer (a new baseline).
    pub fn clear(&mut self) {
        self.done.clear();
        self.running.clear();
        self.failed.clear();
    }
}

impl<T> Drop for Job<T> {
    /// A job its owner dropped is not wanted any more.
    fn drop(&mut self) {
        self.progress.cancel();
    }
}
