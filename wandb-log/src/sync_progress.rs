//! Where a sync stands, told to the caller every few seconds (the library prints nothing; the
//! `wandb-rs sync` command prints it), so that a long upload, or one waiting for a server
//! that is down, is not silent.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a sync stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncProgress {
    /// The run id.
    pub run_id: String,
    /// History rows the server accepted in this sync so far.
    pub rows_uploaded: u64,
    /// History rows read from the log so far (those the server held already included).
    pub rows_read: u64,
    /// History rows the server held before this sync (not sent again).
    pub rows_on_server: u64,
    /// Why the upload waits, while a request that failed for a transient reason (a server
    /// error, a lost connection) waits for its retry.
    pub waiting: Option<String>,
    /// The last report of the sync, once the upload ended.
    pub done: bool,
}

/// A function told a sync's [`SyncProgress`] every `every`, and once at the end.
///
/// ```
/// use std::time::Duration;
/// let progress = wandb_log::SyncProgressFn::new(Duration::from_secs(5), |p| {
///     eprintln!("run {}: {} rows sent", p.run_id, p.rows_uploaded);
/// });
/// let options = wandb_log::SyncOptions { progress: Some(progress), ..Default::default() };
/// assert!(options.progress.is_some());
/// ```
#[derive(Clone)]
pub struct SyncProgressFn {
    every: Duration,
    report: Arc<dyn Fn(&SyncProgress) + Send + Sync>,
}

impl SyncProgressFn {
    /// `report`, called every `every` while the sync runs and once when it ends.
    pub fn new(every: Duration, report: impl Fn(&SyncProgress) + Send + Sync + 'static) -> Self {
        SyncProgressFn {
            every,
            report: Arc::new(report),
        }
    }
}

impl fmt::Debug for SyncProgressFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncProgressFn")
            .field("every", &self.every)
            .finish_non_exhaustive()
    }
}

/// Calls a [`SyncProgressFn`] when its interval has passed.
pub(crate) struct Reporter {
    report: Option<SyncProgressFn>,
    /// When the next report is due; `None`: no more before the end (an interval too long
    /// to add to a time, such as `Duration::MAX`).
    next: Option<Instant>,
}

impl Reporter {
    pub(crate) fn new(report: Option<SyncProgressFn>, now: Instant) -> Self {
        let next = report.as_ref().and_then(|r| now.checked_add(r.every));
        Reporter { report, next }
    }

    /// Tells `progress()` when the interval has passed (the last report is [`Reporter::done`]).
    pub(crate) fn tick(&mut self, now: Instant, progress: impl FnOnce() -> SyncProgress) {
        let (Some(report), Some(next)) = (&self.report, self.next) else {
            return;
        };
        if now < next {
            return;
        }
        self.next = now.checked_add(report.every);
        (report.report)(&progress());
    }

    /// The last report.
    pub(crate) fn done(&self, mut progress: SyncProgress) {
        if let Some(report) = &self.report {
            progress.done = true;
            (report.report)(&progress);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn at(run: &str, rows: u64) -> SyncProgress {
        SyncProgress {
            run_id: run.into(),
            rows_uploaded: rows,
            rows_read: rows,
            rows_on_server: 0,
            waiting: None,
            done: false,
        }
    }

    #[test]
    fn reports_come_once_per_interval_and_once_at_the_end() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        let every = Duration::from_secs(5);
        let f = SyncProgressFn::new(every, move |p| s.lock().unwrap().push(p.clone()));
        let t0 = Instant::now();
        let mut r = Reporter::new(Some(f), t0);
        r.tick(t0, || at("r", 1));
        r.tick(t0 + Duration::from_secs(5), || at("r", 2));
        r.tick(t0 + Duration::from_secs(6), || at("r", 3));
        r.tick(t0 + Duration::from_secs(10), || at("r", 4));
        r.done(at("r", 5));
        let seen = seen.lock().unwrap();
        let rows: Vec<(u64, bool)> = seen.iter().map(|p| (p.rows_uploaded, p.done)).collect();
        assert_eq!(rows, [(2, false), (4, false), (5, true)]);
    }

    /// An interval too long to add to a time ("never") is no panic: only the last report.
    #[test]
    fn an_endless_interval_reports_only_at_the_end() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        let f = SyncProgressFn::new(Duration::MAX, move |p| s.lock().unwrap().push(p.done));
        let t0 = Instant::now();
        let mut r = Reporter::new(Some(f), t0);
        r.tick(t0 + Duration::from_secs(3600), || at("r", 1));
        r.done(at("r", 2));
        assert_eq!(*seen.lock().unwrap(), [true]);
    }

    #[test]
    fn without_a_function_nothing_is_built() {
        let mut r = Reporter::new(None, Instant::now());
        r.tick(Instant::now() + Duration::from_secs(60), || {
            unreachable!("not built")
        });
        r.done(at("r", 1));
    }
}
