//! A background job: work on its own thread with progress and cancel, its
//! messages read back on the main thread without ever blocking a frame.

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

use twin_core::Progress;

pub struct Job<T> {
    pub label: String,
    pub progress: Progress,
    rx: Mutex<Receiver<T>>,
}

impl<T: Send + 'static> Job<T> {
    /// Runs `work` on a thread named after `label`; it sends its messages
    /// with the function it is given.
    pub fn start(label: &str, work: impl FnOnce(&Progress, &dyn Fn(T)) + Send + 'static) -> Self {
        let progress = Progress::new();
        let (tx, rx) = channel();
        let p = progress.clone();
        std::thread::Builder::new()
            .name(format!("job: {label}"))
            .spawn(move || {
                let send = |m| {
                    let _ = tx.send(m);
                };
                work(&p, &send);
            })
            .expect("spawn a worker thread");
        Self {
            label: label.to_owned(),
            progress,
            rx: Mutex::new(rx),
        }
    }

    /// As [`Self::start`] for work that answers once.
    pub fn once(label: &str, work: impl FnOnce(&Progress) -> T + Send + 'static) -> Self {
        Self::start(label, move |p, send| send(work(p)))
    }

    /// The next message, `Empty` while the work goes on, `Disconnected`
    /// once it has ended and every message was read.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.rx.lock() {
            Ok(rx) => rx.try_recv(),
            Err(_) => Err(TryRecvError::Disconnected),
        }
    }
}
