//! The reorder window: how long a step stays open for rows that arrive late, the open steps
//! themselves, and the clock that ages them.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wandb_sweep::{Number, Value};

use crate::keys::KeyId;
use crate::outbox::Batch;
use crate::source::Origin;

/// How long a step stays open for rows that arrive late: until `steps` newer steps exist or
/// `age` has passed since the first newer step was logged, whichever comes first. The newest
/// step stays open until a newer one arrives, as without a window (a slow trainer's rows for
/// its current step always merge). Rows leave the window in step order, so the `.wandb` log
/// and the file stream see strictly increasing steps; [`crate::Run::flush`] and
/// [`crate::Run::finish`] close every open step. The age is checked when rows are logged and
/// on the writer's idle tick, so a quiet run's superseded steps still reach the log. A row
/// for a step below the window follows the [`crate::StepPolicy`].
///
/// The window is on by default: [`StepWindow::DEFAULT`] keeps up to 1,024 steps open, each
/// for at most one second after a newer step. A user of the official client expects a row for an earlier step to be
/// lost (it warns and drops it); with the window such a row is kept whenever it arrives in
/// time, at the cost of rows reaching the log up to a second later and a window of up to
/// 1,024 rows in memory (about 0.5 MB for rows of ten numbers); `log` costs the same. The
/// numbers come from the case that needs the window (BENCHMARKS.md): eight threads that log
/// the same steps without synchronising (a trainer, its callbacks, an evaluation and an
/// inference thread), on a loaded 2-core machine, arrived at most 30 steps behind the newest
/// step at 1,000 steps per second and 241 at 10,000, never more than 31 ms after the step's
/// first row, so the default keeps every row at training speeds with room to spare. Threads logging in a tight
/// loop are not covered: one runs a whole time slice before the next gets a core, and only a
/// window as long as the run (or 250 ms without a step bound) keeps every row.
/// [`StepWindow::OFF`] is the official client's rule: a step closes as soon as a higher one
/// is logged.
///
/// ```
/// use std::time::Duration;
/// use wandb_log::{Mode, Run, StepWindow};
/// let run = Run::builder()
///     .mode(Mode::Disabled)
///     .step_window(StepWindow::new(8, Duration::from_millis(500)))
///     .init()?;
/// run.log_at(10, [("loss", 0.5)])?;
/// run.log_at(9, [("acc", 0.9)])?; // late, but step 9 is still open: it is written before 10
/// assert_eq!(run.step_stats().late, 1);
/// # Ok::<(), wandb_log::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepWindow {
    steps: usize,
    age: Duration,
}

impl StepWindow {
    /// No reorder window: a step closes as soon as a higher step is logged, and a row for a
    /// closed step follows the [`crate::StepPolicy`] (the behaviour of the official client,
    /// and of this crate before windows).
    pub const OFF: StepWindow = StepWindow {
        steps: 1,
        age: Duration::MAX,
    };

    /// The default window: up to 1,024 open steps, each open for at most one second after a
    /// newer step was logged.
    pub const DEFAULT: StepWindow = StepWindow {
        steps: 1024,
        age: Duration::from_secs(1),
    };

    /// A window of up to `steps` open steps (at least 1), each open for at most `age` after
    /// a newer step was logged (`Duration::MAX`: no time bound).
    #[must_use]
    pub const fn new(steps: usize, age: Duration) -> StepWindow {
        StepWindow {
            steps: if steps == 0 { 1 } else { steps },
            age,
        }
    }

    /// How many steps can be open at once.
    #[must_use]
    pub const fn steps(&self) -> usize {
        self.steps
    }

    /// How long a step stays open at most once a newer step was logged.
    #[must_use]
    pub const fn age(&self) -> Duration {
        self.age
    }

    /// True when a step that a newer step superseded at `since` has been open for the whole
    /// window age at `now`.
    pub(crate) fn expired(&self, since: Instant, now: Instant) -> bool {
        now.saturating_duration_since(since) >= self.age
    }
}

impl Default for StepWindow {
    fn default() -> Self {
        StepWindow::DEFAULT
    }
}

/// Cells a step holds before it indexes them by key (a scan is faster below this).
const LINEAR: usize = 16;

/// A value as the window holds it: numbers (nearly every metric) inline, anything else
/// boxed, so that an open step of ten metrics takes 240 bytes rather than 800 and the
/// window stays in the cache.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Number(Number),
    Other(Box<Value>),
}

impl Cell {
    /// Takes `value`, leaving a number in place (copying it out is cheaper than moving the
    /// whole `Value`).
    fn take(value: &mut Value) -> Self {
        match value {
            Value::Number(n) => Cell::Number(*n),
            other => Cell::Other(Box::new(std::mem::take(other))),
        }
    }
}

impl From<Cell> for Value {
    fn from(cell: Cell) -> Self {
        match cell {
            Cell::Number(n) => Value::Number(n),
            Cell::Other(v) => *v,
        }
    }
}

/// One open step: its cells, which source wrote each, and since when a newer step exists.
#[derive(Debug)]
pub(crate) struct OpenStep {
    pub(crate) step: u64,
    /// When a newer step was first logged (never later than for the open steps above it);
    /// `None` for the newest step.
    pub(crate) superseded: Option<Instant>,
    /// When its last row arrived (the row's timestamp).
    pub(crate) last: Instant,
    cells: Vec<(KeyId, Cell)>,
    /// Per cell: who wrote it; empty while every cell is the run's own.
    origins: Vec<Origin>,
    /// Key id to cell index, once the step holds more than `LINEAR` cells.
    index: HashMap<KeyId, u32, foldhash::fast::RandomState>,
}

impl OpenStep {
    pub(crate) fn new(step: u64, now: Instant) -> Self {
        OpenStep {
            step,
            superseded: None,
            last: now,
            cells: Vec::new(),
            origins: Vec::new(),
            index: HashMap::default(),
        }
    }

    /// Reuses the step's buffers for another step.
    pub(crate) fn reopen(&mut self, step: u64, now: Instant) {
        self.cells.clear();
        self.origins.clear();
        self.index.clear();
        self.step = step;
        self.superseded = None;
        self.last = now;
    }

    /// True while no row has been merged.
    pub(crate) fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Commits the step to `out` as one row at `timestamp`, leaving it empty.
    pub(crate) fn commit(&mut self, timestamp: f64, out: &mut Batch) {
        let cells = self.cells.drain(..).map(|(id, c)| (id, Value::from(c)));
        out.push_row(self.step, timestamp, cells);
        self.origins.clear();
        self.index.clear();
    }

    /// Merges `cells` (leaving it empty): a key already in the step keeps the value of the
    /// higher priority, on a tie the later one. Returns how many values lost against a value
    /// of another source or priority.
    pub(crate) fn merge(
        &mut self,
        origin: Origin,
        cells: &mut Vec<(KeyId, Value)>,
        now: Instant,
    ) -> u64 {
        self.last = self.last.max(now);
        let mut lost = 0;
        for (id, value) in cells.iter_mut() {
            let Some(i) = self.find(*id) else {
                self.push(*id, Cell::take(value), origin);
                continue;
            };
            let held = self.origins.get(i).copied().unwrap_or(Origin::RUN);
            lost += u64::from(held != origin);
            if origin.priority >= held.priority {
                self.cells[i].1 = Cell::take(value);
                if held != origin {
                    self.origins_filled()[i] = origin;
                }
            }
        }
        cells.clear();
        lost
    }

    /// The origins, one per cell (filled with the run's own on first use).
    fn origins_filled(&mut self) -> &mut Vec<Origin> {
        self.origins.resize(self.cells.len(), Origin::RUN);
        &mut self.origins
    }

    fn find(&self, id: KeyId) -> Option<usize> {
        if self.cells.len() <= LINEAR {
            self.cells.iter().position(|(k, _)| *k == id)
        } else {
            self.index.get(&id).map(|&i| i as usize)
        }
    }

    fn push(&mut self, id: KeyId, cell: Cell, origin: Origin) {
        if origin != Origin::RUN || !self.origins.is_empty() {
            self.origins_filled().push(origin);
        }
        self.cells.push((id, cell));
        let n = self.cells.len();
        if n == LINEAR + 1 {
            let ids = self.cells.iter().map(|(k, _)| *k);
            self.index.extend(ids.zip(0..));
        } else if n > LINEAR + 1 {
            self.index
                .insert(id, u32::try_from(n - 1).unwrap_or(u32::MAX));
        }
    }
}

/// The window's clock: the system's monotonic clock, or a fake one in tests.
#[derive(Clone, Default)]
pub(crate) struct Clock(Option<Arc<dyn Fn() -> Instant + Send + Sync>>);

impl Clock {
    pub(crate) fn now(&self) -> Instant {
        match &self.0 {
            Some(fake) => fake(),
            None => Instant::now(),
        }
    }

    /// A clock that reads `now` from a shared cell the test moves forward.
    #[cfg(test)]
    pub(crate) fn fake(now: Arc<std::sync::Mutex<Instant>>) -> Self {
        Clock(Some(Arc::new(move || {
            *now.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        })))
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Clock(fake)"
        } else {
            "Clock(system)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Origin = Origin {
        source: 1,
        priority: 0,
    };
    const B: Origin = Origin {
        source: 2,
        priority: 1,
    };

    fn cells(pairs: &[(KeyId, i64)]) -> Vec<(KeyId, Value)> {
        pairs.iter().map(|&(k, v)| (k, Value::from(v))).collect()
    }

    fn held(s: &OpenStep) -> Vec<(KeyId, Value)> {
        let cells = s.cells.iter().cloned();
        cells.map(|(k, c)| (k, Value::from(c))).collect()
    }

    #[test]
    fn the_window_has_at_least_one_step_and_off_has_no_age() {
        assert_eq!(StepWindow::new(0, Duration::ZERO).steps(), 1);
        assert_eq!(StepWindow::default(), StepWindow::DEFAULT);
        let t = Instant::now();
        assert!(!StepWindow::OFF.expired(t, t + Duration::from_secs(1 << 40)));
        let w = StepWindow::new(4, Duration::from_millis(10));
        assert!(!w.expired(t, t + Duration::from_millis(9)));
        assert!(w.expired(t, t + Duration::from_millis(10)));
        assert!(
            !w.expired(t + Duration::from_secs(1), t),
            "a clock read before opening"
        );
    }

    #[test]
    fn higher_priority_wins_ties_go_to_the_later_value_and_losers_are_counted() {
        let t = Instant::now();
        let mut s = OpenStep::new(3, t);
        assert_eq!(s.merge(A, &mut cells(&[(0, 1), (1, 1), (1, 2)]), t), 0);
        assert_eq!(s.merge(B, &mut cells(&[(0, 5)]), t), 1, "A's value lost");
        assert_eq!(
            s.merge(A, &mut cells(&[(0, 9), (2, 9)]), t),
            1,
            "A's late value lost"
        );
        let other = Origin { source: 3, ..A };
        assert_eq!(
            s.merge(other, &mut cells(&[(1, 7)]), t),
            1,
            "tie: the later wins"
        );
        assert_eq!(held(&s), cells(&[(0, 5), (1, 7), (2, 9)]));
        assert_eq!(s.origins, [B, other, A]);
        let mut out = Batch::default();
        s.commit(1.5, &mut out);
        assert!(s.is_empty() && s.origins.is_empty());
        assert_eq!((out.rows[0].step, out.rows[0].cells), (3, 3));
    }

    #[test]
    fn numbers_stay_inline_and_other_values_round_trip() {
        let text = Value::from("a");
        for v in [Value::from(1.5), Value::from(2), text, Value::Null] {
            assert_eq!(Value::from(Cell::take(&mut v.clone())), v);
        }
        assert!(std::mem::size_of::<(KeyId, Cell)>() <= 24);
    }

    #[test]
    fn large_steps_are_indexed_and_merge_the_same() {
        let t = Instant::now();
        let mut s = OpenStep::new(0, t);
        let many: Vec<(KeyId, i64)> = (0..40).map(|k| (k, 1)).collect();
        s.merge(Origin::RUN, &mut cells(&many), t);
        let again: Vec<(KeyId, i64)> = (0..40).map(|k| (39 - k, 2)).collect();
        s.merge(Origin::RUN, &mut cells(&again), t);
        assert_eq!(s.cells.len(), 40);
        assert!(held(&s).iter().all(|(_, v)| *v == Value::from(2)));
        assert!(s.origins.is_empty(), "the run's own cells keep no origins");
        s.reopen(1, t);
        assert!(s.is_empty() && s.index.is_empty());
        s.merge(A, &mut cells(&[(5, 1)]), t);
        assert_eq!(s.find(5), Some(0));
    }
}
