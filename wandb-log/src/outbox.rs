//! The rows committed by the logging side and not yet taken by the writer: one columnar
//! batch (row headers plus one flat cell vector), bounded so memory does not grow with a
//! backlog.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use wandb_sweep::Value;

use crate::keys::KeyId;
use crate::metric::MetricDefinition;

/// Rows that wake the writer.
pub(crate) const WAKE_ROWS: usize = 1024;
/// Rows the outbox holds before `log` waits for the writer (the bound on memory).
pub(crate) const MAX_ROWS: usize = 16 * 1024;

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
    /// The writer was already woken for this batch.
    pub(crate) woken: bool,
}

impl Batch {
    /// Appends a row, moving its cells out of `cells`.
    pub(crate) fn push_row(&mut self, step: u64, timestamp: f64, cells: &mut Vec<(KeyId, Value)>) {
        self.rows.push(RowHeader {
            step,
            timestamp,
            cells: cells.len(),
        });
        self.cells.append(cells);
    }

    /// True when nothing is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.names.is_empty() && self.metrics.is_empty()
    }

    fn clear(&mut self) {
        self.names.clear();
        self.metrics.clear();
        self.rows.clear();
        self.cells.clear();
        self.woken = false;
    }
}

/// The batch shared by the logging side and the writer.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    batch: Mutex<Batch>,
    drained: Condvar,
    /// False once the writer thread has ended: nobody drains any more.
    closed: AtomicBool,
}

impl Outbox {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Batch> {
        self.batch.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits while the batch is full and the writer is alive (backpressure).
    pub(crate) fn wait_for_room<'a>(
        &self,
        mut batch: MutexGuard<'a, Batch>,
    ) -> MutexGuard<'a, Batch> {
        while batch.rows.len() >= MAX_ROWS && !self.closed.load(Ordering::Acquire) {
            batch = self
                .drained
                .wait_timeout(batch, Duration::from_millis(100))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        batch
    }

    /// Swaps the waiting batch with `spare` (which must be empty), waking waiting loggers.
    pub(crate) fn take(&self, spare: &mut Batch) {
        spare.clear();
        std::mem::swap(&mut *self.lock(), spare);
        self.drained.notify_all();
    }

    /// The writer has ended.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.drained.notify_all();
    }
}
