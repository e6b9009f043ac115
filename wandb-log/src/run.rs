//! The run handle: cheap, non-blocking logging from any thread; a background writer.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use wandb_sweep::{Number, Value};

use crate::error::Error;
use crate::keys::{KeyId, Keys};
use crate::metric::MetricDefinition;
use crate::outbox::{Batch, Outbox, WAKE_ROWS};
use crate::row::{IntoRow, RowWriter};
use crate::run_builder::{RunBuilder, Start};
use crate::settings::{Mode, RunSettings};
use crate::step::{Outcome, Steps};
use crate::writer::{Finish, Message, WriterHandle, spawn};

/// Extra time `finish` gives the writer beyond the upload deadline.
const FINISH_MARGIN: Duration = Duration::from_secs(5);

/// A run: log rows and summaries to it from any thread. `Clone` shares the run.
///
/// ```
/// use wandb_log::{Mode, Run};
/// let dir = std::env::temp_dir().join(format!("wandb-log-run-doc-{}", std::process::id()));
/// let run = Run::builder().project("demo").mode(Mode::Offline).dir(&dir).config(&serde_json::json!({"lr": 0.01})).init()?;
/// for i in 0..3 {
///     run.log([("loss", 1.0 / (i as f64 + 1.0)), ("acc", 0.5)])?;
/// }
/// let report = run.finish(0)?;
/// assert_eq!((report.rows_logged, report.rows_written), (3, 3));
/// assert_eq!(report.summary["loss"], serde_json::json!(1.0 / 3.0));
/// assert!(report.dir.unwrap().join(format!("run-{}.wandb", run.id())).exists());
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), wandb_log::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Run {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: RunSettings,
    config: Value,
    start: Instant,
    finish_timeout: Duration,
    /// The run directory (offline and online runs), also after `finish`.
    dir: Option<PathBuf>,
    state: Mutex<State>,
    outbox: Arc<Outbox>,
    worker: Mutex<Option<WriterHandle>>,
    rows_logged: AtomicU64,
    conflicts: AtomicU64,
    dropped: AtomicU64,
    /// Set by the server (file stream), a controller or [`Run::request_stop`].
    stop: Arc<AtomicBool>,
    /// Where `Resume::Auto` remembered the run id (forgotten after exit code 0).
    auto_resume: Option<PathBuf>,
    /// The metric whose history [`Run::watched`] returns.
    watch: Option<String>,
    watched: Mutex<Vec<(u64, f64)>>,
}

#[derive(Debug)]
struct State {
    steps: Steps,
    keys: Keys,
    /// The row being logged (reused).
    incoming: Vec<(KeyId, Value)>,
    /// Explicit summary values (the writer keeps the logged ones).
    summary: IndexMap<String, Value>,
    finished: bool,
}

/// What a finished run did.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishReport {
    /// Rows accepted by `log`.
    pub rows_logged: u64,
    /// History rows written to the `.wandb` log.
    pub rows_written: u64,
    /// Online: history rows the server accepted (`None` offline and disabled).
    pub rows_uploaded: Option<u64>,
    /// Online: upload requests that failed and were tried again.
    pub retries: u64,
    /// Rows below the current step that were dropped (policy `Drop`).
    pub dropped: u64,
    /// Rows below the current step, refused or dropped.
    pub step_conflicts: u64,
    /// From `init` to the end of `finish`.
    pub duration: Duration,
    /// The run directory (offline and online runs): `wandb sync <dir>` uploads it.
    pub dir: Option<PathBuf>,
    /// The final summary (each key's last value or its `define_metric` aggregations,
    /// explicit summary values, `_step`, `_runtime`, `_timestamp`); `null` when disabled.
    pub summary: serde_json::Value,
    /// Why the upload of an online run is incomplete, if it is; everything is in the local
    /// log: upload it with `wandb sync --include-online <dir>`.
    pub upload_error: Option<String>,
}

impl Run {
    /// A builder.
    #[must_use]
    pub fn builder() -> RunBuilder {
        RunBuilder::default()
    }

    pub(crate) fn start(start: Start) -> Result<Run, Error> {
        // A resumed run continues after its stored steps.
        let first_step = start
            .online
            .as_ref()
            .and_then(|o| o.resumed.as_ref())
            .map_or(0, crate::resume::starting_step);
        let stop = Arc::new(AtomicBool::new(false));
        let outbox = Arc::new(Outbox::default());
        let worker = match start.settings.mode {
            Mode::Disabled => None,
            Mode::Offline | Mode::Online => Some(spawn(
                &start.settings,
                &start.config,
                start.online,
                Arc::clone(&stop),
                Arc::clone(&outbox),
            )?),
        };
        let state = State {
            steps: Steps::new(start.policy, first_step),
            keys: Keys::default(),
            incoming: Vec::new(),
            summary: IndexMap::new(),
            finished: false,
        };
        let dir = worker.as_ref().map(|w| w.dir.clone());
        Ok(Run {
            inner: Arc::new(Inner {
                dir,
                settings: start.settings,
                config: start.config,
                start: Instant::now(),
                finish_timeout: start.finish_timeout,
                state: Mutex::new(state),
                outbox,
                worker: Mutex::new(worker),
                rows_logged: AtomicU64::new(0),
                conflicts: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                stop,
                auto_resume: start.auto_resume,
                watch: start.watch,
                watched: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The run id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.inner.settings.run_id
    }

    /// True once W&B asked the run to stop (the UI's Stop button, or a sweep's early
    /// termination); check it in the training loop and finish.
    #[must_use]
    pub fn should_stop(&self) -> bool {
        self.inner.stop.load(Ordering::Relaxed)
    }

    /// Asks the run to stop: [`Run::should_stop`] turns true (controllers use this for
    /// early termination; it works in every mode).
    ///
    /// ```
    /// let run = wandb_log::Run::builder().mode(wandb_log::Mode::Disabled).init()?;
    /// assert!(!run.should_stop());
    /// run.request_stop();
    /// assert!(run.should_stop());
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    pub fn request_stop(&self) {
        self.inner.stop.store(true, Ordering::Relaxed);
    }

    /// The `(step, value)` history of the metric named by [`RunBuilder::watch_metric`]
    /// (each numeric value logged for it; empty when no metric is watched).
    ///
    /// ```
    /// use wandb_log::{Mode, Run};
    /// let run = Run::builder().mode(Mode::Disabled).watch_metric("loss").init()?;
    /// run.log([("loss", 0.5)])?;
    /// run.log([("acc", 0.9)])?;
    /// run.log([("loss", 0.25)])?;
    /// assert_eq!(run.watched(), [(0, 0.5), (2, 0.25)]);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn watched(&self) -> Vec<(u64, f64)> {
        lock(&self.inner.watched).clone()
    }

    /// The run's mode.
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.inner.settings.mode
    }

    /// The run directory (offline and online runs).
    #[must_use]
    pub fn dir(&self) -> Option<PathBuf> {
        self.inner.dir.clone()
    }

    /// The merged config (code values, then sweep parameters) as your type. A mismatch names
    /// the key.
    ///
    /// # Errors
    /// [`Error::Config`] with the key path.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let json = self.inner.config.to_json();
        serde_path_to_error::deserialize(json).map_err(|e| Error::Config {
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })
    }

    /// Logs a row at the next step. Never waits on I/O (only, briefly, on a writer that is
    /// 16,384 rows behind).
    ///
    /// # Errors
    /// Only after `finish` ([`Error::AlreadyFinished`]).
    pub fn log(&self, row: impl IntoRow) -> Result<u64, Error> {
        self.inner.record(None, row)
    }

    /// Logs a row at `step`; rows for the same step merge (from any thread).
    ///
    /// # Errors
    /// [`Error::StepConflict`] for a step below the current one under the default policy;
    /// [`Error::AlreadyFinished`].
    pub fn log_at(&self, step: u64, row: impl IntoRow) -> Result<u64, Error> {
        self.inner.record(Some(step), row)
    }

    /// Defines how a metric (or a glob of metrics) is plotted and summarised; see
    /// [`MetricDefinition`]. It is written to the run (config `_wandb.m`).
    ///
    /// # Errors
    /// [`Error::Configuration`] for an invalid definition (e.g. `best` without a goal);
    /// [`Error::AlreadyFinished`].
    pub fn define_metric(&self, definition: MetricDefinition) -> Result<(), Error> {
        definition.validate()?;
        let state = lock(&self.inner.state);
        if state.finished {
            return Err(Error::AlreadyFinished);
        }
        if self.inner.settings.mode != Mode::Disabled {
            self.inner.outbox.lock().metrics.push(definition);
        }
        Ok(())
    }

    /// Sets summary values explicitly (they win over the logged values).
    pub fn summary(&self, values: impl IntoRow) {
        let mut state = lock(&self.inner.state);
        let State {
            keys,
            incoming,
            summary,
            ..
        } = &mut *state;
        incoming.clear();
        values.write_row(&mut RowWriter::new(keys, incoming));
        for (id, v) in incoming.drain(..) {
            summary.insert(keys.name(id).to_owned(), v);
        }
    }

    /// Commits the current row and waits until the writer has stored everything locally.
    ///
    /// # Errors
    /// [`Error::Timeout`], I/O errors of the writer.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        {
            let mut state = lock(&self.inner.state);
            let mut batch = self.inner.outbox.lock();
            state.steps.commit(&mut batch);
        }
        let (tx, rx) = mpsc::channel();
        let sent = lock(&self.inner.worker)
            .as_ref()
            .is_some_and(|w| w.tx.send(Message::Flush(tx)).is_ok());
        if sent {
            rx.recv_timeout(timeout)
                .map_err(|_| Error::Timeout(timeout))??;
        }
        Ok(())
    }

    /// Ends the run with `exit_code`: commits the last row, writes the summary and the exit
    /// record, uploads what is left (online), and reports what happened. A second call is
    /// an error.
    ///
    /// # Errors
    /// [`Error::AlreadyFinished`], [`Error::Timeout`], I/O errors.
    pub fn finish(&self, exit_code: i32) -> Result<FinishReport, Error> {
        self.inner.finish(exit_code, None)
    }

    /// Ends the run as failed (exit code 1) with `message` as a line of its console output
    /// (`output.log`, shown in the W&B UI's Logs tab).
    ///
    /// ```
    /// use wandb_log::{Mode, Run};
    /// let dir = std::env::temp_dir().join(format!("wandb-log-fail-doc-{}", std::process::id()));
    /// let run = Run::builder().mode(Mode::Offline).dir(&dir).init()?;
    /// run.log([("loss", f64::NAN)])?;
    /// let report = run.fail("loss became NaN")?;
    /// assert_eq!(report.rows_written, 1);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Run::finish`].
    pub fn fail(&self, message: &str) -> Result<FinishReport, Error> {
        self.inner.finish(1, Some(message.to_owned()))
    }

    /// As [`Run::fail`] with another exit code (e.g. 137 for a trial that was killed).
    ///
    /// # Errors
    /// As [`Run::finish`].
    pub fn fail_with(&self, exit_code: i32, message: &str) -> Result<FinishReport, Error> {
        self.inner.finish(exit_code, Some(message.to_owned()))
    }
}

impl Inner {
    fn record(&self, step: Option<u64>, row: impl IntoRow) -> Result<u64, Error> {
        if self.settings.mode == Mode::Disabled && self.watch.is_none() {
            return Ok(self.rows_logged.fetch_add(1, Ordering::Relaxed));
        }
        let mut state = lock(&self.state);
        if state.finished {
            return Err(Error::AlreadyFinished);
        }
        let State {
            steps,
            keys,
            incoming,
            ..
        } = &mut *state;
        incoming.clear();
        row.write_row(&mut RowWriter::new(keys, incoming));
        let watched = self.watched_value(keys, incoming);
        let outcome = if self.settings.mode == Mode::Disabled {
            Outcome::Logged(self.rows_logged.load(Ordering::Relaxed))
        } else {
            let mut batch = self.outbox.lock();
            keys.ship(&mut batch.names);
            let outcome = steps.log(step, incoming, &mut batch);
            self.wake_writer(batch);
            outcome
        };
        drop(state);
        self.account(outcome, watched)
    }

    /// The watched metric's value in the row being logged.
    fn watched_value(&self, keys: &Keys, cells: &[(KeyId, Value)]) -> Option<f64> {
        let id = keys.get(self.watch.as_deref()?)?;
        cells
            .iter()
            .rev()
            .find(|(k, _)| *k == id)
            .and_then(|(_, v)| v.as_number())
            .map(Number::as_f64)
    }

    /// Wakes the writer when a batch is ready, and waits while the outbox is full.
    fn wake_writer(&self, mut batch: MutexGuard<'_, Batch>) {
        if batch.rows.len() >= WAKE_ROWS && !batch.woken {
            batch.woken = true;
            if let Some(w) = lock(&self.worker).as_ref() {
                // The writer only stops at finish; a wake-up after that has nobody to wake.
                let _gone = w.tx.send(Message::Wake);
            }
        }
        drop(self.outbox.wait_for_room(batch));
    }

    fn account(&self, outcome: Outcome, watched: Option<f64>) -> Result<u64, Error> {
        match outcome {
            Outcome::Logged(s) => {
                self.rows_logged.fetch_add(1, Ordering::Relaxed);
                if let Some(v) = watched {
                    lock(&self.watched).push((s, v));
                }
                Ok(s)
            }
            Outcome::Dropped { step, current } => {
                self.conflicts.fetch_add(1, Ordering::Relaxed);
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!(
                        step,
                        current,
                        "dropping rows below the current step (StepPolicy::Drop)"
                    );
                }
                Ok(current)
            }
            Outcome::Rejected { step, current } => {
                self.conflicts.fetch_add(1, Ordering::Relaxed);
                Err(Error::StepConflict { step, current })
            }
        }
    }

    fn finish(&self, exit_code: i32, error: Option<String>) -> Result<FinishReport, Error> {
        let summary = {
            let mut state = lock(&self.state);
            if state.finished {
                return Err(Error::AlreadyFinished);
            }
            state.finished = true;
            state.steps.commit(&mut self.outbox.lock());
            std::mem::take(&mut state.summary)
        };
        let worker = lock(&self.worker).take();
        let runtime = i32::try_from(self.start.elapsed().as_secs()).unwrap_or(i32::MAX);
        let finished = match worker {
            Some(w) => {
                let (tx, rx) = mpsc::channel();
                let _gone = w.tx.send(Message::Finish(Finish {
                    exit_code,
                    error,
                    summary,
                    runtime,
                    deadline: Instant::now() + self.finish_timeout,
                    done: tx,
                }));
                let wait = self.finish_timeout + FINISH_MARGIN;
                let finished = rx.recv_timeout(wait).map_err(|_| Error::Timeout(wait))??;
                let _ = w.handle.join();
                Some((finished, w.dir))
            }
            None => None,
        };
        if exit_code == 0
            && let Some(root) = &self.auto_resume
        {
            crate::resume::forget(root);
        }
        let (rows_written, uploaded, dir, summary, upload_error) = match finished {
            Some((f, dir)) => (f.written, f.uploaded, Some(dir), f.summary, f.upload_error),
            None => (0, None, None, serde_json::Value::Null, None),
        };
        let upload_error = upload_error.map(|e| match &dir {
            Some(d) => format!(
                "{e}; every row is in the local log: upload it with `wandb sync --include-online {}`",
                d.display()
            ),
            None => e,
        });
        Ok(FinishReport {
            rows_logged: self.rows_logged.load(Ordering::Relaxed),
            rows_written,
            rows_uploaded: uploaded.map(|(rows, _)| rows),
            retries: uploaded.map_or(0, |(_, retries)| retries),
            dropped: self.dropped.load(Ordering::Relaxed),
            step_conflicts: self.conflicts.load(Ordering::Relaxed),
            duration: self.start.elapsed(),
            dir,
            summary,
            upload_error,
        })
    }
}

impl Drop for Inner {
    /// The last handle finishes the run (exit code 0) if nobody did.
    fn drop(&mut self) {
        let finished = lock(&self.state).finished;
        if !finished && let Err(e) = self.finish(0, None) {
            tracing::warn!(error = %e, "finishing a dropped run failed");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
