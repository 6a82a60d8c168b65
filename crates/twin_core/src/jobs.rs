//! One job system for all heavy work (loading, meshing, calibration,
//! simulation, gait): a queue served by a small pool of worker threads, each
//! job with its [`Progress`], state, elapsed time and estimated time left,
//! cancel, and error notices (toasts) for the UI.
//!
//! The owner of a job submits it with [`Jobs::submit`] and keeps the
//! [`Ticket`], whose channel carries the job's messages back; the UI thread
//! polls it once a frame and never waits. [`Jobs::list`] is what a jobs panel
//! and a status bar show.
//!
//! * **Queue.** Jobs start in submission order as workers come free;
//!   [`Priority::Interactive`] jobs (a what-if after a slider release) go to
//!   the front, so a long load never holds up an interactive answer for
//!   longer than a worker takes to come free — and there are at least two
//!   workers.
//! * **Groups.** [`Jobs::submit_replacing`] cancels the group's earlier jobs
//!   (queued ones never start): the newest what-if replaces the one running.
//! * **Failures.** A job that panics is marked failed with the panic's
//!   message and a notice; the thread lives on. Owners report their own
//!   failures with [`Jobs::fail`].

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::Progress;

/// A job's number, unique within its [`Jobs`].
pub type JobId = u64;

/// Where a job goes in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Behind the jobs already waiting.
    Background,
    /// In front of the waiting background jobs (answers the user is waiting for).
    Interactive,
}

/// What happened to a job so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    Finished,
    Cancelled,
    Failed(String),
}

impl JobState {
    /// Queued or running.
    #[must_use]
    pub fn is_active(&self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }
}

/// One row of the jobs panel.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInfo {
    pub id: JobId,
    pub group: String,
    pub label: String,
    pub state: JobState,
    /// The stage the work is in (from its progress).
    pub stage: String,
    /// 0–1.
    pub fraction: f32,
    /// Since it started (0 while queued); until it ended once it has.
    pub elapsed: Duration,
    /// Time left at the rate so far, once there is a rate to go by.
    pub eta: Option<Duration>,
}

/// An error notice for the UI (a toast).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub id: u64,
    pub text: String,
    pub at: Instant,
}

/// The owner's end of a job: its messages, its progress and cancel.
pub struct Ticket<T> {
    pub id: JobId,
    pub progress: Progress,
    rx: Mutex<Receiver<T>>,
}

impl<T> std::fmt::Debug for Ticket<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<T> Ticket<T> {
    /// The next message: `Empty` while the work goes on, `Disconnected`
    /// once it has ended and every message was read. Never blocks.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.rx.lock() {
            Ok(rx) => rx.try_recv(),
            Err(_) => Err(TryRecvError::Disconnected),
        }
    }

    /// Asks the work to stop (it checks its progress between units).
    pub fn cancel(&self) {
        self.progress.cancel();
    }
}

type Work = Box<dyn FnOnce() + Send>;

struct Entry {
    id: JobId,
    group: String,
    label: String,
    priority: Priority,
    progress: Progress,
    state: JobState,
    started: Option<Instant>,
    ended: Option<Instant>,
}

#[derive(Default)]
struct Inner {
    next_id: JobId,
    queue: VecDeque<(JobId, Work)>,
    entries: Vec<Entry>,
    notices: Vec<Notice>,
    next_notice: u64,
    workers: usize,
}

struct Shared {
    inner: Mutex<Inner>,
    wake: Condvar,
    max_workers: usize,
}

/// Finished jobs kept for the jobs panel.
const HISTORY: usize = 30;

/// The job system (cheap to clone; clones share the queue).
#[derive(Clone)]
pub struct Jobs {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("max_workers", &self.shared.max_workers)
            .finish_non_exhaustive()
    }
}

impl Default for Jobs {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self::with_workers(cores.max(2))
    }
}

impl Jobs {
    /// A job system with at most `workers` jobs running at once (at least 1;
    /// threads start when first needed and end when the last handle is
    /// dropped and the queue is empty).
    #[must_use]
    pub fn with_workers(workers: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    next_id: 1,
                    ..Inner::default()
                }),
                wake: Condvar::new(),
                max_workers: workers.max(1),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic never happens while the lock is held (work runs outside it),
        // so a poisoned lock still holds consistent data.
        self.shared
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `work`; it sends its messages with the function it is given.
    pub fn submit<T: Send + 'static>(
        &self,
        group: &str,
        label: &str,
        priority: Priority,
        work: impl FnOnce(&Progress, &dyn Fn(T)) + Send + 'static,
    ) -> Ticket<T> {
        let progress = Progress::new();
        let (tx, rx) = channel();
        let p = progress.clone();
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        let weak = Arc::downgrade(&self.shared);
        let run: Work = Box::new(move || {
            let send = |m| {
                let _ = tx.send(m);
            };
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| work(&p, &send)));
            if let Some(shared) = weak.upgrade() {
                let jobs = Jobs { shared };
                match outcome {
                    Ok(()) => jobs.end(id, None),
                    Err(panic) => jobs.end(id, Some(panic_text(panic.as_ref()))),
                }
            }
        });
        inner.entries.push(Entry {
            id,
            group: group.to_owned(),
            label: label.to_owned(),
            priority,
            progress: progress.clone(),
            state: JobState::Queued,
            started: None,
            ended: None,
        });
        match priority {
            Priority::Background => inner.queue.push_back((id, run)),
            Priority::Interactive => {
                // Behind other interactive jobs, in front of background ones.
                let at = inner
                    .queue
                    .iter()
                    .position(|(qid, _)| {
                        inner
                            .entries
                            .iter()
                            .any(|e| e.id == *qid && e.priority == Priority::Background)
                    })
                    .unwrap_or(inner.queue.len());
                inner.queue.insert(at, (id, run));
            }
        }
        trim_history(&mut inner);
        // A new worker when the idle ones cannot take every waiting job.
        let idle = inner.workers.saturating_sub(running(&inner));
        let spawn = inner.workers < self.shared.max_workers && inner.queue.len() > idle;
        if spawn {
            inner.workers += 1;
        }
        drop(inner);
        if spawn {
            let weak = Arc::downgrade(&self.shared);
            std::thread::Builder::new()
                .name("twinscope job worker".into())
                .spawn(move || worker(&weak))
                .expect("spawn a job worker thread");
        }
        self.shared.wake.notify_one();
        Ticket {
            id,
            progress,
            rx: Mutex::new(rx),
        }
    }

    /// As [`Self::submit`], first cancelling the group's earlier jobs.
    pub fn submit_replacing<T: Send + 'static>(
        &self,
        group: &str,
        label: &str,
        priority: Priority,
        work: impl FnOnce(&Progress, &dyn Fn(T)) + Send + 'static,
    ) -> Ticket<T> {
        self.cancel_group(group);
        self.submit(group, label, priority, work)
    }

    /// Cancels a job: a queued one never starts, a running one is asked to stop.
    pub fn cancel(&self, id: JobId) {
        let mut inner = self.lock();
        cancel_where(&mut inner, |e| e.id == id);
    }

    /// Cancels every active job of `group`.
    pub fn cancel_group(&self, group: &str) {
        let mut inner = self.lock();
        cancel_where(&mut inner, |e| e.group == group);
    }

    /// Marks a job failed (its owner read a failure from it) and posts a notice.
    pub fn fail(&self, id: JobId, message: &str) {
        let mut inner = self.lock();
        let text = match inner.entries.iter_mut().find(|e| e.id == id) {
            Some(e) => {
                e.state = JobState::Failed(message.to_owned());
                e.ended.get_or_insert_with(Instant::now);
                format!("{}: {message}", e.label)
            }
            None => message.to_owned(),
        };
        push_notice(&mut inner, text);
    }

    /// Posts an error notice not tied to a job.
    pub fn notify(&self, text: &str) {
        push_notice(&mut self.lock(), text.to_owned());
    }

    /// Notices posted in the last `within`.
    #[must_use]
    pub fn notices(&self, within: Duration) -> Vec<Notice> {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.notices.retain(|n| now.duration_since(n.at) < within);
        inner.notices.clone()
    }

    /// Removes a notice (the user closed it).
    pub fn dismiss(&self, notice: u64) {
        self.lock().notices.retain(|n| n.id != notice);
    }

    /// Every job still listed: active ones first (running, then queued in
    /// queue order), then the most recent finished ones.
    #[must_use]
    pub fn list(&self) -> Vec<JobInfo> {
        let inner = self.lock();
        let now = Instant::now();
        let mut out: Vec<JobInfo> = inner
            .entries
            .iter()
            .map(|e| {
                let fraction = match e.state {
                    JobState::Finished => 1.0,
                    JobState::Queued => 0.0,
                    _ => e.progress.fraction(),
                };
                let elapsed = e
                    .started
                    .map_or(Duration::ZERO, |s| e.ended.unwrap_or(now).duration_since(s));
                let eta = (e.state == JobState::Running && fraction > 0.01 && fraction < 1.0)
                    .then(|| elapsed.mul_f64(f64::from((1.0 - fraction) / fraction)));
                JobInfo {
                    id: e.id,
                    group: e.group.clone(),
                    label: e.label.clone(),
                    state: e.state.clone(),
                    stage: e.progress.stage(),
                    fraction,
                    elapsed,
                    eta,
                }
            })
            .collect();
        let queue_pos = |id: JobId| inner.queue.iter().position(|(q, _)| *q == id);
        out.sort_by_key(|j| match j.state {
            JobState::Running => (0, j.id as usize),
            JobState::Queued => (1, queue_pos(j.id).unwrap_or(usize::MAX)),
            _ => (2, usize::MAX - j.id as usize),
        });
        out
    }

    /// The active jobs (queued or running).
    #[must_use]
    pub fn active(&self) -> usize {
        self.lock()
            .entries
            .iter()
            .filter(|e| e.state.is_active())
            .count()
    }

    fn end(&self, id: JobId, panic: Option<String>) {
        let mut inner = self.lock();
        let Some(e) = inner.entries.iter_mut().find(|e| e.id == id) else {
            return;
        };
        e.ended.get_or_insert_with(Instant::now);
        let label = e.label.clone();
        match panic {
            Some(p) => {
                let message = format!("stopped by an internal error: {p}");
                e.state = JobState::Failed(message.clone());
                push_notice(&mut inner, format!("{label}: {message}"));
            }
            None if e.state == JobState::Running => {
                e.state = if e.progress.is_cancelled() {
                    JobState::Cancelled
                } else {
                    JobState::Finished
                };
            }
            None => {}
        }
    }
}

fn running(inner: &Inner) -> usize {
    inner
        .entries
        .iter()
        .filter(|e| e.state == JobState::Running)
        .count()
}

fn cancel_where(inner: &mut Inner, pick: impl Fn(&Entry) -> bool) {
    let mut dropped = Vec::new();
    for e in inner.entries.iter_mut().filter(|e| pick(e)) {
        match e.state {
            JobState::Queued => {
                e.progress.cancel();
                e.state = JobState::Cancelled;
                e.ended = Some(Instant::now());
                dropped.push(e.id);
            }
            JobState::Running => e.progress.cancel(),
            _ => {}
        }
    }
    inner.queue.retain(|(id, _)| !dropped.contains(id));
}

fn push_notice(inner: &mut Inner, text: String) {
    let id = inner.next_notice;
    inner.next_notice += 1;
    inner.notices.push(Notice {
        id,
        text,
        at: Instant::now(),
    });
    let extra = inner.notices.len().saturating_sub(8);
    inner.notices.drain(..extra);
}

fn trim_history(inner: &mut Inner) {
    let ended = inner
        .entries
        .iter()
        .filter(|e| !e.state.is_active())
        .count();
    let mut extra = ended.saturating_sub(HISTORY);
    inner.entries.retain(|e| {
        if extra > 0 && !e.state.is_active() {
            extra -= 1;
            false
        } else {
            true
        }
    });
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

fn worker(shared: &Weak<Shared>) {
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let work = {
            let mut inner = strong
                .inner
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            loop {
                if let Some((id, work)) = inner.queue.pop_front() {
                    if let Some(e) = inner.entries.iter_mut().find(|e| e.id == id) {
                        e.state = JobState::Running;
                        e.started = Some(Instant::now());
                    }
                    break Some(work);
                }
                // Idle: end when every handle is gone, else wait a while.
                if Arc::strong_count(&strong) <= 1 {
                    inner.workers -= 1;
                    break None;
                }
                let (guard, _) = strong
                    .wake
                    .wait_timeout(inner, Duration::from_millis(250))
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                inner = guard;
            }
        };
        drop(strong);
        match work {
            Some(w) => w(),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_until(jobs: &Jobs, what: impl Fn(&[JobInfo]) -> bool) -> Vec<JobInfo> {
        let t0 = Instant::now();
        loop {
            let list = jobs.list();
            if what(&list) {
                return list;
            }
            assert!(t0.elapsed() < Duration::from_secs(20), "{list:#?}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn state_of(list: &[JobInfo], id: JobId) -> JobState {
        list.iter().find(|j| j.id == id).unwrap().state.clone()
    }

    /// Work that runs until cancelled, reporting progress.
    fn spin(p: &Progress, send: &dyn Fn(u32)) {
        p.begin("spinning", 1000);
        while !p.is_cancelled() {
            if p.done() < 500 {
                p.advance(1);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        send(0);
    }

    #[test]
    fn jobs_queue_behind_busy_workers_and_interactive_ones_go_first() {
        let jobs = Jobs::with_workers(1);
        let long = jobs.submit("load", "Loading", Priority::Background, spin);
        wait_until(&jobs, |l| state_of(l, long.id) == JobState::Running);
        let queued = jobs.submit("mesh", "Meshing", Priority::Background, |_, send| {
            send(1u32);
        });
        let urgent = jobs.submit("whatif", "What-if", Priority::Interactive, |_, send| {
            send(2u32);
        });
        let list = jobs.list();
        assert_eq!(state_of(&list, queued.id), JobState::Queued);
        // The interactive job is listed (and will run) before the background one.
        let order: Vec<JobId> = list.iter().map(|j| j.id).collect();
        assert_eq!(order, vec![long.id, urgent.id, queued.id]);
        assert_eq!(list[1].group, "whatif");
        // Progress and an estimate of the time left.
        let list = wait_until(&jobs, |l| l[0].fraction > 0.1);
        assert_eq!(list[0].stage, "spinning");
        assert!(list[0].eta.is_some());
        long.cancel();
        let list = wait_until(&jobs, |l| l.iter().all(|j| !j.state.is_active()));
        assert_eq!(state_of(&list, long.id), JobState::Cancelled);
        assert_eq!(state_of(&list, urgent.id), JobState::Finished);
        assert_eq!(state_of(&list, queued.id), JobState::Finished);
        assert_eq!(urgent.try_recv(), Ok(2));
        assert_eq!(queued.try_recv(), Ok(1));
        assert_eq!(long.try_recv(), Ok(0));
        assert_eq!(long.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(jobs.active(), 0);
    }

    #[test]
    fn the_newest_job_of_a_group_replaces_the_older_ones() {
        let jobs = Jobs::with_workers(1);
        let first = jobs.submit("whatif", "What-if 1", Priority::Interactive, spin);
        wait_until(&jobs, |l| state_of(l, first.id) == JobState::Running);
        let second = jobs.submit("whatif", "What-if 2", Priority::Interactive, spin);
        let third = jobs.submit_replacing("whatif", "What-if 3", Priority::Interactive, |_, s| {
            s(3);
        });
        let list = wait_until(&jobs, |l| state_of(l, third.id) == JobState::Finished);
        assert_eq!(state_of(&list, first.id), JobState::Cancelled);
        // The queued one never ran: it sent nothing.
        assert_eq!(state_of(&list, second.id), JobState::Cancelled);
        assert_eq!(second.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(third.try_recv(), Ok(3));
    }

    #[test]
    fn a_job_that_panics_fails_with_a_notice_and_the_workers_go_on() {
        let jobs = Jobs::with_workers(1);
        let bad = jobs.submit(
            "calc",
            "Calibration",
            Priority::Background,
            |_, _: &dyn Fn(u8)| {
                panic!("matrix not positive definite");
            },
        );
        let good = jobs.submit("calc", "Next", Priority::Background, |_, s| s(7u8));
        let list = wait_until(&jobs, |l| l.iter().all(|j| !j.state.is_active()));
        match state_of(&list, bad.id) {
            JobState::Failed(m) => assert!(m.contains("matrix not positive definite"), "{m}"),
            s => panic!("{s:?}"),
        }
        assert_eq!(good.try_recv(), Ok(7));
        let notices = jobs.notices(Duration::from_mins(1));
        assert_eq!(notices.len(), 1);
        assert!(notices[0].text.starts_with("Calibration: "), "{notices:?}");
        // The owner's own failure report.
        jobs.fail(good.id, "no convergence");
        let notices = jobs.notices(Duration::from_mins(1));
        assert_eq!(notices[1].text, "Next: no convergence");
        jobs.dismiss(notices[0].id);
        assert_eq!(jobs.notices(Duration::from_mins(1)).len(), 1);
    }

    #[test]
    fn two_workers_run_two_jobs_at_once() {
        let jobs = Jobs::with_workers(2);
        let a = jobs.submit("a", "A", Priority::Background, spin);
        let b = jobs.submit("b", "B", Priority::Background, spin);
        wait_until(&jobs, |l| {
            l.iter().filter(|j| j.state == JobState::Running).count() == 2
        });
        jobs.cancel(a.id);
        jobs.cancel_group("b");
        wait_until(&jobs, |l| l.iter().all(|j| j.state == JobState::Cancelled));
        drop(b);
    }
}
