//! The rows on their way from the logging side to the writer: the open steps of the step
//! window, then the committed rows in one columnar batch (row headers plus one flat cell
//! vector), both bounded so memory does not grow with a backlog.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use wandb_sweep::Value;

use crate::keys::KeyId;
use crate::metric::MetricDefinition;
use crate::step::Steps;
use crate::step_window::Clock;

/// Rows that wake the writer.
pub(crate) const WAKE_ROWS: usize = 1024;
/// Rows the outbox holds before `log` waits for the writer (the bound on memory).
pub(crate) const MAX_ROWS: usize = 16 * 1024;
/// Cells (80 bytes each) the outbox holds before `log` waits for the writer: the
/// bound on memory for wide rows. Not a power of two, so that the vector's doubling stops
/// below twice the bound.
pub(crate) const MAX_CELLS: usize = 24 * 1024;

/// One committed history row: its step, time and how many cells follow in the batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RowHeader {
    pub(crate) step: u64,
    pub(crate) timestamp: f64,
    pub(crate) cells: usize,
}

/// Committed rows in commit order, with the key names they introduced.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// Key names new since the last batch, in id order.
    pub(crate) names: Vec<Box<str>>,
    /// Metric definitions, in call order (applied before this batch's rows).
    pub(crate) metrics: Vec<MetricDefinition>,
    pub(crate) rows: Vec<RowHeader>,
    pub(crate) cells: Vec<(KeyId, Value)>,
    /// Media files written since the last batch (paths under the run's `files/`), for
    /// the log's `files` records, which go before this batch's rows.
    pub(crate) files: Vec<String>,
    /// The writer was already woken for this batch.
    pub(crate) woken: bool,
}

impl Batch {
    /// Appends a row of `cells`.
    pub(crate) fn push_row(
        &mut self,
        step: u64,
        timestamp: f64,
        cells: impl IntoIterator<Item = (KeyId, Value)>,
    ) {
        let before = self.cells.len();
        self.cells.extend(cells);
        self.rows.push(RowHeader {
            step,
            timestamp,
            cells: self.cells.len() - before,
        });
    }

    /// True when the writer should be woken for this batch.
    pub(crate) fn wants_writer(&self) -> bool {
        !self.woken && (self.rows.len() >= WAKE_ROWS || self.cells.len() >= MAX_CELLS / 4)
    }

    /// True when `log` must wait for the writer: the rows or their cells reached the bound.
    pub(crate) fn is_full(&self) -> bool {
        self.rows.len() >= MAX_ROWS || self.cells.len() >= MAX_CELLS
    }

    /// True when nothing is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
            && self.names.is_empty()
            && self.metrics.is_empty()
            && self.files.is_empty()
    }

    /// Forgets everything (a disabled run keeps nothing).
    pub(crate) fn clear(&mut self) {
        self.names.clear();
        self.metrics.clear();
        self.rows.clear();
        self.cells.clear();
        self.files.clear();
        self.woken = false;
    }
}

/// The open steps and the committed rows, under one lock.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) steps: Steps,
    pub(crate) batch: Batch,
}

/// The window and the batch shared by the logging side and the writer.
#[derive(Debug)]
pub(crate) struct Outbox {
    shared: Mutex<Shared>,
    drained: Condvar,
    /// False once the writer thread has ended: nobody drains any more.
    closed: AtomicBool,
    clock: Clock,
    /// Why the log refused records (a full disk), once it did: `log` returns it.
    refused: std::sync::OnceLock<String>,
}

impl Outbox {
    pub(crate) fn new(steps: Steps, clock: Clock) -> Self {
        Outbox {
            shared: Mutex::new(Shared {
                steps,
                batch: Batch::default(),
            }),
            drained: Condvar::new(),
            closed: AtomicBool::new(false),
            clock,
            refused: std::sync::OnceLock::new(),
        }
    }

    /// Notes that the log refused records (the writer calls it; the first reason stays).
    pub(crate) fn set_refused(&self, why: String) {
        let _first_stays = self.refused.set(why);
    }

    /// Why the log refused records, if it did.
    pub(crate) fn refused(&self) -> Option<&str> {
        self.refused.get().map(String::as_str)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The time by the window's clock.
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Waits while the batch is full and the writer is alive (backpressure).
    pub(crate) fn wait_for_room<'a>(
        &self,
        mut shared: MutexGuard<'a, Shared>,
    ) -> MutexGuard<'a, Shared> {
        while shared.batch.is_full() && !self.closed.load(Ordering::Acquire) {
            shared = self
                .drained
                .wait_timeout(shared, Duration::from_millis(100))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        shared
    }

    /// Commits the steps the window has aged out (so that a quiet run drains on the
    /// writer's idle tick), then swaps the waiting batch with `spare` (which must be empty),
    /// waking waiting loggers.
    pub(crate) fn take(&self, spare: &mut Batch) {
        spare.clear();
        let now = self.now();
        let mut shared = self.lock();
        let Shared { steps, batch } = &mut *shared;
        steps.expire(now, batch);
        std::mem::swap(batch, spare);
        drop(shared);
        self.drained.notify_all();
    }

    /// The writer has ended.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.drained.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::source::Origin;
    use crate::step::{At, StepPolicy};
    use crate::step_window::StepWindow;

    #[test]
    fn wide_rows_fill_the_outbox_by_their_values_and_wake_the_writer_early() {
        let mut batch = Batch::default();
        let row = |n: usize| (0..n).map(|i| (u32::try_from(i).expect("small"), Value::from(1)));
        batch.push_row(0, 0.0, row(MAX_CELLS / 4 - 1));
        assert!(!batch.wants_writer() && !batch.is_full());
        batch.push_row(1, 0.0, row(1));
        assert!(
            batch.wants_writer(),
            "a quarter of the values wakes the writer"
        );
        batch.woken = true;
        assert!(!batch.wants_writer(), "once per batch");
        batch.push_row(2, 0.0, row(MAX_CELLS - batch.cells.len() - 1));
        assert!(!batch.is_full());
        batch.push_row(3, 0.0, row(1));
        assert!(batch.is_full(), "4 rows of {MAX_CELLS} values fill it");
        let mut narrow = Batch::default();
        for step in 0..MAX_ROWS as u64 {
            assert!(!narrow.is_full());
            narrow.push_row(step, 0.0, row(1));
        }
        assert!(narrow.is_full(), "so do {MAX_ROWS} rows of one value");
    }

    #[test]
    fn the_writers_take_commits_the_steps_the_window_aged_out() {
        let t0 = Instant::now();
        let now = Arc::new(Mutex::new(t0));
        let window = StepWindow::new(100, Duration::from_secs(1));
        let steps = Steps::new(StepPolicy::Reject, window, u64::MAX, 0, (t0, 0.0));
        let outbox = Outbox::new(steps, Clock::fake(Arc::clone(&now)));
        for step in 0..3 {
            let mut shared = outbox.lock();
            let Shared { steps, batch } = &mut *shared;
            let mut cells = vec![(0, Value::from(step))];
            steps.log(At::Step(step), Origin::RUN, &mut cells, outbox.now(), batch);
        }
        let mut spare = Batch::default();
        outbox.take(&mut spare);
        assert!(spare.rows.is_empty(), "the steps are still open");
        *now.lock().expect("clock") = t0 + Duration::from_secs(1);
        outbox.take(&mut spare);
        let steps: Vec<u64> = spare.rows.iter().map(|r| r.step).collect();
        assert_eq!(steps, [0, 1], "a quiet run drains in step order");
        assert_eq!(
            outbox.lock().steps.stats().open_steps,
            1,
            "the newest step stays open, as without a window"
        );
    }
}
