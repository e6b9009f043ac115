//! The run handle: cheap, non-blocking logging from any thread; a background writer.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use wandb_sweep::{Number, Value};

use crate::error::Error;
use crate::keys::{KeyId, Keys};
use crate::media::Pending;
use crate::metadata::MetadataInput;
use crate::metric::MetricDefinition;
use crate::offline_run::unix_now;
use crate::outbox::{Outbox, Shared};
use crate::row::{IntoRow, RowWriter};
use crate::run_builder::{RunBuilder, Start};
use crate::settings::{Mode, RunSettings};
use crate::source::{Origin, Source};
use crate::step::{At, Outcome, Steps};
use crate::step_stats::StepStats;
use crate::step_window::Clock;
use crate::system_metrics::Sampler;
use crate::writer::{Finish, Message, WriterHandle, spawn};

/// Extra time `finish` gives the writer beyond the upload deadline.
const FINISH_MARGIN: Duration = Duration::from_secs(5);
/// The longest a dropped run waits for its upload (it may be dropped on an async executor's
/// thread): the rest stays in the local log, for `wandb sync`.
pub const DROP_UPLOAD_WAIT: Duration = Duration::from_secs(2);

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
    /// `state.finished`, readable without the state's lock (a tracing event raised while a
    /// row is being built, under that lock, reaches the console layer).
    ended: AtomicBool,
    outbox: Arc<Outbox>,
    worker: Mutex<Option<WriterHandle>>,
    /// The system-metrics thread, stopped at finish.
    sampler: Mutex<Option<Sampler>>,
    /// Set by the server (file stream), a controller or [`Run::request_stop`].
    stop: Arc<AtomicBool>,
    /// Where `Resume::Auto` remembered the run id (forgotten after exit code 0).
    auto_resume: Option<PathBuf>,
    /// The metric whose history [`Run::watched`] returns.
    watch: Option<String>,
    watched: Mutex<Vec<(u64, f64)>>,
    /// The capture of the process's stdout and stderr, ended at `finish`.
    capture: Mutex<Option<crate::console_capture::Capture>>,
}

#[derive(Debug)]
struct State {
    keys: Keys,
    /// Source names by id - 1 (id 0 is the run itself).
    sources: Vec<Arc<str>>,
    /// The row being logged (reused).
    incoming: Vec<(KeyId, Value)>,
    /// The row's file-backed values (images, tables), placed once its step is known.
    media: Vec<Pending>,
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
    /// Rows below the step window that were dropped (policy `Drop`).
    pub dropped: u64,
    /// Rows below the step window, refused or dropped.
    pub step_conflicts: u64,
    /// How the rows became steps: merges, late rows, refusals, priority losses, step jumps,
    /// commits (see [`StepStats`]).
    pub step_stats: StepStats,
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
    /// Online: the run files uploaded (paths relative to the run's `files/`), in upload order.
    pub files_uploaded: Vec<String>,
    /// Online: the run files that did not upload, each with why (a file that disappeared,
    /// a refused upload, the finish timeout); they stay in the run's `files/` for
    /// `wandb sync --include-online <dir>`.
    pub file_errors: Vec<(String, String)>,
}

impl Run {
    /// A builder.
    #[must_use]
    pub fn builder() -> RunBuilder {
        RunBuilder::default()
    }

    pub(crate) fn start(start: Start) -> Result<Run, Error> {
        crate::panic_note::install();
        // A resumed run continues after its stored steps.
        let first_step = start
            .online
            .as_ref()
            .and_then(|o| o.resumed.as_ref())
            .map_or(0, crate::resume::starting_step);
        let stop = Arc::new(AtomicBool::new(false));
        let clock = Clock::default();
        let epoch = (clock.now(), unix_now());
        let steps = Steps::new(start.policy, start.window, start.jump, first_step, epoch);
        let outbox = Arc::new(Outbox::new(steps, clock));
        let worker = match start.settings.mode {
            Mode::Disabled => None,
            Mode::Offline | Mode::Online => Some(spawn(
                &start.settings,
                &start.config,
                &start.metadata.origin,
                start.online,
                Arc::clone(&stop),
                Arc::clone(&outbox),
            )?),
        };
        let state = State {
            keys: Keys::default(),
            sources: Vec::new(),
            incoming: Vec::new(),
            media: Vec::new(),
            summary: IndexMap::new(),
            finished: false,
        };
        let dir = worker.as_ref().map(|w| w.dir.clone());
        let capture = match (start.console, &worker) {
            (crate::Console::Capture, Some(w)) => crate::console_capture::Capture::start(&w.tx)?,
            _ => None,
        };
        let metadata = MetadataInput {
            started_at: epoch.1,
            ..start.metadata
        };
        let sampler = worker
            .as_ref()
            .and_then(|w| crate::system_metrics::spawn(start.system, &metadata, w.tx.clone()));
        Ok(Run {
            inner: Arc::new(Inner {
                dir,
                settings: start.settings,
                config: start.config,
                start: Instant::now(),
                finish_timeout: start.finish_timeout,
                state: Mutex::new(state),
                ended: AtomicBool::new(false),
                outbox,
                worker: Mutex::new(worker),
                sampler: Mutex::new(sampler),
                stop,
                auto_resume: start.auto_resume,
                watch: start.watch,
                watched: Mutex::new(Vec::new()),
                capture: Mutex::new(capture),
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

    /// Logs a row at the next step (the one after the newest step logged) and returns it.
    /// Never waits on I/O (only, briefly, on a writer that is 16,384 rows or 24,576 values
    /// behind).
    ///
    /// Rows may hold media values ([`crate::Image`], [`crate::Histogram`], [`crate::Table`]):
    /// their files are written under the run's `files/media/` in this call.
    ///
    /// # Errors
    /// [`Error::AlreadyFinished`] after `finish`; [`Error::Io`] when a media file cannot be
    /// written (nothing of the row is logged then).
    pub fn log(&self, row: impl IntoRow) -> Result<u64, Error> {
        self.record(At::Next, Origin::RUN, row)
    }

    /// Logs a row at `step` and returns the step it was stored at; rows for the same step
    /// merge (from any thread) while the step is open in the [`crate::StepWindow`], also
    /// when they arrive after rows of higher steps. A row for a step below the window
    /// follows the [`crate::StepPolicy`].
    ///
    /// ```
    /// use wandb_log::{Error, Mode, Run, StepWindow};
    /// use std::time::Duration;
    /// let run = Run::builder()
    ///     .mode(Mode::Disabled)
    ///     .step_window(StepWindow::new(2, Duration::from_secs(60)))
    ///     .init()?;
    /// run.log_at(1, [("train/loss", 0.5)])?;
    /// run.log_at(2, [("train/loss", 0.4)])?;
    /// run.log_at(1, [("eval/loss", 0.6)])?; // late: merged into step 1
    /// run.log_at(3, [("train/loss", 0.3)])?; // two newer steps: step 1 closes
    /// assert!(matches!(
    ///     run.log_at(1, [("eval/acc", 0.9)]),
    ///     Err(Error::StepConflict { step: 1, current: 2 })
    /// ));
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::StepConflict`] for a step below the window under the default policy;
    /// [`Error::AlreadyFinished`].
    pub fn log_at(&self, step: u64, row: impl IntoRow) -> Result<u64, Error> {
        self.record(At::Step(step), Origin::RUN, row)
    }

    /// A handle for one source of rows (a trainer's callbacks, an evaluation or an inference
    /// thread) with a priority and its own step counter; see [`Source`]. Handles with the
    /// same name are the same source.
    #[must_use]
    pub fn source(&self, name: &str) -> Source {
        let mut state = lock(&self.inner.state);
        let known = state.sources.iter().position(|n| &**n == name);
        let i = known.unwrap_or_else(|| {
            state.sources.push(Arc::from(name));
            state.sources.len() - 1
        });
        let name = Arc::clone(&state.sources[i]);
        drop(state);
        Source::new(self.clone(), name, u32::try_from(i + 1).unwrap_or(u32::MAX))
    }

    /// How the rows became steps so far: merges, late rows, refusals, priority losses, step
    /// jumps, commits and the steps open now.
    ///
    /// ```
    /// let run = wandb_log::Run::builder().mode(wandb_log::Mode::Disabled).init()?;
    /// run.log_at(3, [("loss", 0.5)])?;
    /// run.log_at(3, [("acc", 0.9)])?;
    /// let stats = run.step_stats();
    /// assert_eq!((stats.rows_logged, stats.merged, stats.open_steps), (2, 1, 1));
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn step_stats(&self) -> StepStats {
        self.inner.outbox.lock().steps.stats()
    }

    pub(crate) fn record(&self, at: At, origin: Origin, row: impl IntoRow) -> Result<u64, Error> {
        self.inner.record(at, origin, row)
    }

    /// Sends `message` to the writer (a disabled run has none: nothing is kept).
    pub(crate) fn send(&self, message: Message) -> Result<(), Error> {
        if self.inner.ended.load(Ordering::Acquire) {
            return Err(Error::AlreadyFinished);
        }
        if let Some(w) = lock(&self.inner.worker).as_ref() {
            w.tx.send(message).map_err(|_| Error::AlreadyFinished)?;
        }
        Ok(())
    }

    /// A handle that does not keep the run alive (the console layer's).
    pub(crate) fn downgrade(&self) -> WeakRun {
        WeakRun(Arc::downgrade(&self.inner))
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
            self.inner.outbox.lock().batch.metrics.push(definition);
        }
        Ok(())
    }

    /// Sets summary values explicitly (they win over the logged values). Media values are
    /// written as files named with `summary` in place of the step, as the official client
    /// does; one whose file cannot be written is left out, with a warning.
    pub fn summary(&self, values: impl IntoRow) {
        let mut state = lock(&self.inner.state);
        let State {
            keys,
            incoming,
            media,
            summary,
            ..
        } = &mut *state;
        incoming.clear();
        media.clear();
        values.write_row(&mut RowWriter::new(keys, incoming, media));
        if !media.is_empty() {
            let placeholders: Vec<usize> = media.iter().map(|p| p.cell).collect();
            let files = self.inner.dir.as_ref().map(|d| d.join("files"));
            let mut shared = self.inner.outbox.lock();
            let placed = crate::media::place(
                media,
                incoming,
                keys,
                "summary",
                files.as_deref(),
                &mut shared.batch.files,
            );
            if let Err(e) = placed {
                tracing::warn!(error = %e, "a media value of the summary could not be written; it is left out of the summary");
                for i in placeholders.into_iter().rev() {
                    if incoming.get(i).is_some_and(|(_, v)| *v == Value::Null) {
                        incoming.remove(i);
                    }
                }
            }
        }
        for (id, v) in incoming.drain(..) {
            summary.insert(keys.name(id).to_owned(), v);
        }
    }

    /// Closes the step window (every open step is committed; a later row for one of them
    /// is below the window) and waits until the writer has stored everything locally.
    ///
    /// # Errors
    /// [`Error::Timeout`], I/O errors of the writer.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        self.inner.close_window();
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

    /// Ends the run with `exit_code`: closes the step window, writes the summary and the exit
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

/// A [`Run`] that may be gone.
#[derive(Debug, Clone)]
pub(crate) struct WeakRun(Weak<Inner>);

impl WeakRun {
    pub(crate) fn upgrade(&self) -> Option<Run> {
        self.0.upgrade().map(|inner| Run { inner })
    }
}

impl Inner {
    fn record(&self, at: At, origin: Origin, row: impl IntoRow) -> Result<u64, Error> {
        if let Some(why) = self.outbox.refused() {
            return Err(Error::Io(std::io::Error::other(format!(
                "the run's log refused rows ({why}); free disk space: rows logged now are not written"
            ))));
        }
        let mut state = lock(&self.state);
        if state.finished {
            return Err(Error::AlreadyFinished);
        }
        let State {
            keys,
            incoming,
            media,
            ..
        } = &mut *state;
        incoming.clear();
        media.clear();
        row.write_row(&mut RowWriter::new(keys, incoming, media));
        let watched = self.watched_value(keys, incoming);
        // Read under the run's lock, so that the window's clock only goes forward.
        let now = self.outbox.now();
        let mut shared = self.outbox.lock();
        if !media.is_empty() {
            // Files are named with the row's step: placed under the lock that decides it.
            let Shared { steps, batch } = &mut *shared;
            if let Some(step) = steps.target(at, origin, now, batch) {
                let files = self.dir.as_ref().map(|d| d.join("files"));
                crate::media::place(
                    media,
                    incoming,
                    keys,
                    itoa::Buffer::new().format(step),
                    files.as_deref(),
                    &mut batch.files,
                )?;
            }
        }
        let outcome = if self.settings.mode == Mode::Disabled {
            let Shared { steps, batch } = &mut *shared;
            let outcome = steps.log(at, origin, incoming, now, batch);
            batch.clear();
            outcome
        } else {
            let Shared { steps, batch } = &mut *shared;
            keys.ship(&mut batch.names);
            let outcome = steps.log(at, origin, incoming, now, batch);
            self.wake_writer(shared);
            outcome
        };
        drop(state);
        self.account(outcome, watched)
    }

    /// Commits every open step (a disabled run keeps nothing).
    fn close_window(&self) {
        let mut shared = self.outbox.lock();
        let Shared { steps, batch } = &mut *shared;
        steps.close_all(batch);
        if self.settings.mode == Mode::Disabled {
            batch.clear();
        }
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
    fn wake_writer(&self, mut shared: MutexGuard<'_, Shared>) {
        let batch = &mut shared.batch;
        if batch.wants_writer() {
            batch.woken = true;
            if let Some(w) = lock(&self.worker).as_ref() {
                // The writer only stops at finish; a wake-up after that has nobody to wake.
                let _gone = w.tx.send(Message::Wake);
            }
        }
        drop(self.outbox.wait_for_room(shared));
    }

    fn account(&self, outcome: Outcome, watched: Option<f64>) -> Result<u64, Error> {
        match outcome {
            Outcome::Logged(s) => {
                if let Some(v) = watched {
                    lock(&self.watched).push((s, v));
                }
                Ok(s)
            }
            Outcome::Dropped { current, .. } => Ok(current),
            Outcome::Rejected { step, current } => Err(Error::StepConflict { step, current }),
        }
    }

    fn finish(&self, exit_code: i32, error: Option<String>) -> Result<FinishReport, Error> {
        self.finish_within(exit_code, error, self.finish_timeout)
    }

    /// Ends the run, waiting at most `timeout` for its upload.
    fn finish_within(
        &self,
        exit_code: i32,
        error: Option<String>,
        timeout: Duration,
    ) -> Result<FinishReport, Error> {
        // The process's own output goes back to its descriptors, and what was captured to
        // the writer, before the end of the run.
        if let Some(capture) = lock(&self.capture).take() {
            capture.stop();
        }
        let summary = {
            let mut state = lock(&self.state);
            if state.finished {
                return Err(Error::AlreadyFinished);
            }
            state.finished = true;
            self.ended.store(true, Ordering::Release);
            self.close_window();
            std::mem::take(&mut state.summary)
        };
        let worker = lock(&self.worker).take();
        if let Some(sampler) = lock(&self.sampler).take() {
            sampler.stop();
        }
        let runtime = i32::try_from(self.start.elapsed().as_secs()).unwrap_or(i32::MAX);
        let finished = match worker {
            Some(w) => {
                let (tx, rx) = mpsc::channel();
                let _gone = w.tx.send(Message::Finish(Finish {
                    exit_code,
                    error,
                    summary,
                    runtime,
                    deadline: Instant::now() + timeout,
                    done: tx,
                }));
                let wait = timeout + FINISH_MARGIN;
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
        let (rows_written, uploaded, dir, summary, upload_error, files) = match finished {
            Some((f, dir)) => (
                f.written,
                f.uploaded,
                Some(dir),
                f.summary,
                f.upload_error,
                f.files,
            ),
            None => (
                0,
                None,
                None,
                serde_json::Value::Null,
                None,
                crate::file_upload::FilesOutcome::default(),
            ),
        };
        let upload_error = upload_error.map(|e| match &dir {
            Some(d) => format!(
                "{e}; every row is in the local log: upload it with `wandb sync --include-online {}`",
                d.display()
            ),
            None => e,
        });
        let step_stats = self.outbox.lock().steps.stats();
        Ok(FinishReport {
            rows_logged: step_stats.rows_logged,
            rows_written,
            rows_uploaded: uploaded.map(|(rows, _)| rows),
            retries: uploaded.map_or(0, |(_, retries)| retries),
            dropped: step_stats.dropped,
            step_conflicts: step_stats.refused + step_stats.dropped,
            step_stats,
            duration: self.start.elapsed(),
            dir,
            summary,
            upload_error,
            files_uploaded: files.uploaded,
            file_errors: files.failed,
        })
    }
}

impl Drop for Inner {
    /// The last handle finishes the run if nobody did: with exit code 0, or as failed (exit
    /// code 1, the panic's message as a console line) when its thread is unwinding from a
    /// panic. It waits at most [`DROP_UPLOAD_WAIT`] for the upload.
    fn drop(&mut self) {
        if lock(&self.state).finished {
            return;
        }
        let (code, error) = match std::thread::panicking() {
            true => {
                let message =
                    crate::panic_note::take().unwrap_or_else(|| "the program panicked".to_owned());
                (1, Some(format!("the run ended in a panic: {message}")))
            }
            false => (0, None),
        };
        let wait = self.finish_timeout.min(DROP_UPLOAD_WAIT);
        if let Err(e) = self.finish_within(code, error, wait) {
            tracing::warn!(error = %e, "finishing a dropped run failed");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
