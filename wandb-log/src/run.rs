//! The run handle: cheap, non-blocking logging from any thread; a background writer.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wandb_sweep::Value;

use crate::error::Error;
use crate::offline_run::unix_now;
use crate::settings::{Mode, RunSettings, new_run_id};
use crate::step::{Committed, Outcome, StepPolicy, Steps};
use crate::writer::{Message, WriterHandle, spawn};

/// Rows that wake the writer.
const BATCH_ROWS: usize = 4096;

/// How long `flush` and `finish` wait for the writer by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

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
    state: Mutex<State>,
    worker: Mutex<Option<WriterHandle>>,
    rows_logged: AtomicU64,
    conflicts: AtomicU64,
    dropped: AtomicU64,
    /// Set by the server (file stream), a controller or [`Run::request_stop`].
    stop: Arc<AtomicBool>,
    /// The metric whose history [`Run::watched`] returns.
    watch: Option<String>,
    watched: Mutex<Vec<(u64, f64)>>,
}

#[derive(Debug)]
struct State {
    steps: Steps,
    /// Explicit summary values (the writer keeps each key's last logged value).
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
    /// Rows below the current step that were dropped (policy `Drop`).
    pub dropped: u64,
    /// Rows below the current step, refused or dropped.
    pub step_conflicts: u64,
    /// From `init` to the end of `finish`.
    pub duration: Duration,
    /// The run directory (offline and online runs): `wandb sync <dir>` uploads it.
    pub dir: Option<PathBuf>,
    /// Why the upload of an online run stopped, if it did; everything is in the local log:
    /// upload it with `wandb sync --include-online <dir>`.
    pub upload_error: Option<String>,
}

/// Builds a [`Run`]; every unset field falls back to its `WANDB_*` variable.
#[derive(Debug, Clone, Default)]
pub struct RunBuilder {
    project: Option<String>,
    entity: Option<String>,
    name: Option<String>,
    notes: Option<String>,
    tags: Option<Vec<String>>,
    group: Option<String>,
    job_type: Option<String>,
    id: Option<String>,
    mode: Option<Mode>,
    dir: Option<PathBuf>,
    config: Option<serde_json::Value>,
    policy: StepPolicy,
    sweep_id: Option<String>,
    api: Option<wandb_api::Settings>,
    watch: Option<String>,
}

macro_rules! setter {
    ($(#[$doc:meta] $name:ident),*) => {$(
        #[$doc]
        #[must_use]
        pub fn $name(mut self, value: impl Into<String>) -> Self {
            self.$name = Some(value.into());
            self
        }
    )*};
}

impl RunBuilder {
    setter!(
        /// The project (else `WANDB_PROJECT`).
        project,
        /// The entity (else `WANDB_ENTITY`).
        entity,
        /// The display name (else `WANDB_NAME`).
        name,
        /// Notes (else `WANDB_NOTES`).
        notes,
        /// The group (else `WANDB_RUN_GROUP`).
        group,
        /// The job type (else `WANDB_JOB_TYPE`).
        job_type,
        /// The run id (else `WANDB_RUN_ID`, else a fresh 8-character id).
        id,
        /// The sweep the run belongs to (else `WANDB_SWEEP_ID`).
        sweep_id
    );

    /// The backend of an online run (else `WANDB_BASE_URL`, `WANDB_API_KEY`, the settings
    /// file and netrc, as [`wandb_api::Settings::builder`] resolves them).
    #[must_use]
    pub fn api(mut self, settings: wandb_api::Settings) -> Self {
        self.api = Some(settings);
        self
    }

    /// Keeps the `(step, value)` history of one numeric metric in memory, for controllers
    /// that decide on it (hyperband, bayes): read it with [`Run::watched`].
    #[must_use]
    pub fn watch_metric(mut self, key: impl Into<String>) -> Self {
        self.watch = Some(key.into());
        self
    }

    /// Tags (else `WANDB_TAGS`, comma-separated).
    #[must_use]
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags = Some(tags.into_iter().map(Into::into).collect());
        self
    }

    /// Online, offline or disabled (else `WANDB_MODE`, else online).
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// The directory that holds `wandb/` (else `WANDB_DIR`, else the current directory).
    #[must_use]
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The config: any `Serialize` value that is a mapping. A sweep's parameters (from
    /// `WANDB_SWEEP_PARAM_PATH`) override its keys.
    #[must_use]
    pub fn config<T: Serialize>(mut self, config: &T) -> Self {
        self.config = serde_json::to_value(config).ok();
        self
    }

    /// What to do with rows for a step below the current one (default: reject).
    #[must_use]
    pub fn step_policy(mut self, policy: StepPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Starts the run (reading the process environment).
    ///
    /// # Errors
    /// [`Error::OnlineNotAvailable`] in online mode, [`Error::Configuration`] for a bad
    /// `WANDB_MODE`, I/O errors creating the run directory.
    pub fn init(self) -> Result<Run, Error> {
        self.init_with(|k| std::env::var(k).ok())
    }

    /// Starts the run with an environment given as a function (for tests and embedding).
    ///
    /// # Errors
    /// As [`RunBuilder::init`].
    pub fn init_with(self, env: impl Fn(&str) -> Option<String>) -> Result<Run, Error> {
        let (policy, watch, explicit_api) = (self.policy, self.watch.clone(), self.api.clone());
        let (settings, config) = self.resolve(&env)?;
        let api = match (settings.mode, explicit_api) {
            (Mode::Online, Some(api)) => Some(api),
            (Mode::Online, None) => Some(api_settings(&settings, &env)?),
            _ => None,
        };
        Run::start(settings, config, policy, api, watch)
    }

    fn resolve(self, env: &impl Fn(&str) -> Option<String>) -> Result<(RunSettings, Value), Error> {
        let var = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let mode = match (self.mode, var("WANDB_MODE")) {
            (Some(m), _) => m,
            (None, Some(text)) => Mode::parse(&text)?,
            (None, None) => Mode::Online,
        };
        let settings = RunSettings {
            mode,
            run_id: self
                .id
                .or_else(|| var("WANDB_RUN_ID"))
                .unwrap_or_else(new_run_id),
            project: self.project.or_else(|| var("WANDB_PROJECT")),
            entity: self.entity.or_else(|| var("WANDB_ENTITY")),
            name: self.name.or_else(|| var("WANDB_NAME")),
            notes: self.notes.or_else(|| var("WANDB_NOTES")),
            tags: self
                .tags
                .or_else(|| {
                    var("WANDB_TAGS").map(|t| {
                        t.split(',')
                            .map(|s| s.trim().to_owned())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                })
                .unwrap_or_default(),
            group: self.group.or_else(|| var("WANDB_RUN_GROUP")),
            job_type: self.job_type.or_else(|| var("WANDB_JOB_TYPE")),
            dir: self
                .dir
                .or_else(|| var("WANDB_DIR").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from(".")),
            sweep_id: self.sweep_id.or_else(|| var("WANDB_SWEEP_ID")),
            sweep_param_path: var("WANDB_SWEEP_PARAM_PATH").map(PathBuf::from),
        };
        let mut config: Value = match self.config {
            Some(json) => serde_json::from_value(json).map_err(|e| Error::Config {
                path: String::new(),
                message: e.to_string(),
            })?,
            None => Value::Map(IndexMap::new()),
        };
        if let Some(path) = &settings.sweep_param_path {
            merge_sweep_params(&mut config, path)?;
        }
        Ok((settings, config))
    }
}

/// The backend settings of an online run (base URL and key from `WANDB_*`, settings file, netrc).
fn api_settings(
    settings: &RunSettings,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<wandb_api::Settings, Error> {
    let mut b = wandb_api::Settings::builder();
    if let Some(e) = &settings.entity {
        b = b.entity(e.clone());
    }
    if let Some(p) = &settings.project {
        b = b.project(p.clone());
    }
    let home = env("HOME")
        .or_else(|| env("USERPROFILE"))
        .map(PathBuf::from);
    b.resolve_with(env, home.as_deref())
        .map_err(|e| Error::Configuration(e.to_string()))
}

/// Merges the agent's `config-<run>.yaml` (`{param: {value: v}}`, `wandb_version` skipped)
/// over the config: sweep values win.
fn merge_sweep_params(config: &mut Value, path: &Path) -> Result<(), Error> {
    let text = std::fs::read_to_string(path)?;
    let doc = wandb_sweep::parse_value(&text).map_err(|message| Error::Config {
        path: path.display().to_string(),
        message,
    })?;
    let (Value::Map(target), Value::Map(params)) = (config, doc) else {
        return Ok(());
    };
    for (key, v) in params {
        if key == "wandb_version" {
            continue;
        }
        let value = match v {
            Value::Map(mut m) if m.contains_key("value") => {
                m.shift_remove("value").unwrap_or_default()
            }
            other => other,
        };
        target.insert(key, value);
    }
    Ok(())
}

impl Run {
    /// A builder.
    #[must_use]
    pub fn builder() -> RunBuilder {
        RunBuilder::default()
    }

    fn start(
        settings: RunSettings,
        config: Value,
        policy: StepPolicy,
        api: Option<wandb_api::Settings>,
        watch: Option<String>,
    ) -> Result<Run, Error> {
        let stop = Arc::new(AtomicBool::new(false));
        let worker = match settings.mode {
            Mode::Disabled => None,
            Mode::Offline | Mode::Online => {
                Some(spawn(&settings, &config, api, Arc::clone(&stop))?)
            }
        };
        Ok(Run {
            inner: Arc::new(Inner {
                settings,
                config,
                start: Instant::now(),
                state: Mutex::new(State {
                    steps: Steps::new(policy, 0),
                    summary: IndexMap::new(),
                    finished: false,
                }),
                worker: Mutex::new(worker),
                rows_logged: AtomicU64::new(0),
                conflicts: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                stop,
                watch,
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
    /// (numeric values only; empty when no metric is watched).
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

    /// The run directory (offline runs).
    #[must_use]
    pub fn dir(&self) -> Option<PathBuf> {
        lock(&self.inner.worker).as_ref().map(|w| w.dir.clone())
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

    /// Logs a row at the next step. Never waits on I/O.
    ///
    /// # Errors
    /// Only after `finish` ([`Error::AlreadyFinished`]).
    pub fn log(&self, row: impl IntoRow) -> Result<u64, Error> {
        self.record(None, row.into_row())
    }

    /// Logs a row at `step`; rows for the same step merge (from any thread).
    ///
    /// # Errors
    /// [`Error::StepConflict`] for a step below the current one under the default policy;
    /// [`Error::AlreadyFinished`].
    pub fn log_at(&self, step: u64, row: impl IntoRow) -> Result<u64, Error> {
        self.record(Some(step), row.into_row())
    }

    fn record(&self, step: Option<u64>, values: IndexMap<String, Value>) -> Result<u64, Error> {
        let watched = self.inner.watch.as_ref().and_then(|k| {
            values
                .get(k)
                .and_then(Value::as_number)
                .map(wandb_sweep::Number::as_f64)
        });
        let result = self.commit_row(step, values);
        if let (Some(v), Ok(s)) = (watched, &result) {
            lock(&self.inner.watched).push((*s, v));
        }
        result
    }

    fn commit_row(&self, step: Option<u64>, values: IndexMap<String, Value>) -> Result<u64, Error> {
        if self.inner.settings.mode == Mode::Disabled {
            return Ok(self.inner.rows_logged.fetch_add(1, Ordering::Relaxed));
        }
        let mut committed = Vec::new();
        let outcome = {
            let mut state = lock(&self.inner.state);
            if state.finished {
                return Err(Error::AlreadyFinished);
            }
            let outcome = match step {
                Some(s) => state.steps.log_at(s, values, &mut committed),
                None => state.steps.log_next(values, &mut committed),
            };
            // Sent under the state lock, so `finish` (which takes it too) sees every row.
            self.inner.send(committed);
            outcome
        };
        match outcome {
            Outcome::Logged(s) => {
                self.inner.rows_logged.fetch_add(1, Ordering::Relaxed);
                Ok(s)
            }
            Outcome::Dropped { step, current } => {
                self.inner.conflicts.fetch_add(1, Ordering::Relaxed);
                if self.inner.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!(
                        step,
                        current,
                        "dropping rows below the current step (StepPolicy::Drop)"
                    );
                }
                Ok(current)
            }
            Outcome::Rejected { step, current } => {
                self.inner.conflicts.fetch_add(1, Ordering::Relaxed);
                Err(Error::StepConflict { step, current })
            }
        }
    }

    /// Sets summary values explicitly (they win over the last logged values).
    pub fn summary(&self, values: impl IntoRow) {
        lock(&self.inner.state).summary.extend(values.into_row());
    }

    /// Commits the current row and waits until the writer has stored everything.
    ///
    /// # Errors
    /// [`Error::Timeout`], I/O errors of the writer.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        {
            let mut state = lock(&self.inner.state);
            let mut committed = Vec::new();
            state.steps.commit(&mut committed);
            self.inner.send(committed);
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
    /// record, and reports what happened. A second call is an error.
    ///
    /// # Errors
    /// [`Error::AlreadyFinished`], [`Error::Timeout`], I/O errors.
    pub fn finish(&self, exit_code: i32) -> Result<FinishReport, Error> {
        self.inner.finish(exit_code, None, DEFAULT_TIMEOUT)
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
        self.inner
            .finish(1, Some(message.to_owned()), DEFAULT_TIMEOUT)
    }
}

impl Inner {
    /// Hands committed rows to the writer: they join the shared outbox, and the writer is
    /// woken once a batch is full (it also drains the outbox on a timer, flush and finish).
    /// Hands committed rows to the writer: they join the shared outbox, and the writer is
    /// woken once a batch is full (it also drains the outbox on a timer, flush and finish).
    fn send(&self, rows: Vec<Committed>) {
        if rows.is_empty() {
            return;
        }
        let now = unix_now();
        if let Some(w) = lock(&self.worker).as_ref() {
            let full = {
                let mut outbox = lock(&w.outbox);
                outbox.extend(rows.into_iter().map(|r| (r, now)));
                outbox.len() >= BATCH_ROWS
            };
            if full {
                // The writer only stops at finish; a wake-up after that has nobody to wake.
                let _gone = w.tx.send(Message::Wake);
            }
        }
    }

    fn finish(
        &self,
        exit_code: i32,
        error: Option<String>,
        timeout: Duration,
    ) -> Result<FinishReport, Error> {
        let (committed, summary) = {
            let mut state = lock(&self.state);
            if state.finished {
                return Err(Error::AlreadyFinished);
            }
            state.finished = true;
            let mut committed = Vec::new();
            state.steps.commit(&mut committed);
            // Explicit summary values only; the writer knows each key's last logged value.
            (committed, Value::Map(state.summary.clone()))
        };
        self.send(committed);
        let worker = lock(&self.worker).take();
        let runtime = i32::try_from(self.start.elapsed().as_secs()).unwrap_or(i32::MAX);
        let (rows_written, dir, upload_error) = match worker {
            Some(w) => {
                let (tx, rx) = mpsc::channel();
                let _gone = w.tx.send(Message::Finish {
                    exit_code,
                    error,
                    summary,
                    runtime,
                    done: tx,
                });
                let finished = rx
                    .recv_timeout(timeout)
                    .map_err(|_| Error::Timeout(timeout))??;
                let _ = w.handle.join();
                (finished.written, Some(w.dir), finished.upload_error)
            }
            None => (0, None, None),
        };
        let dropped = self.dropped.load(Ordering::Relaxed);
        Ok(FinishReport {
            rows_logged: self.rows_logged.load(Ordering::Relaxed),
            rows_written,
            dropped,
            step_conflicts: self.conflicts.load(Ordering::Relaxed),
            duration: self.start.elapsed(),
            dir,
            upload_error,
        })
    }
}

impl Drop for Inner {
    /// The last handle finishes the run (exit code 0) if nobody did.
    fn drop(&mut self) {
        let finished = lock(&self.state).finished;
        if !finished && let Err(e) = self.finish(0, None, DEFAULT_TIMEOUT) {
            tracing::warn!(error = %e, "finishing a dropped run failed");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Values a row can be made of: `[("loss", 0.5)]`, a `Vec` of pairs, or a mapping `Value`.
pub trait IntoRow {
    /// The row as a mapping.
    fn into_row(self) -> IndexMap<String, Value>;
}

impl<K: Into<String>, V: Into<Value>, const N: usize> IntoRow for [(K, V); N] {
    fn into_row(self) -> IndexMap<String, Value> {
        self.into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect()
    }
}

impl<K: Into<String>, V: Into<Value>> IntoRow for Vec<(K, V)> {
    fn into_row(self) -> IndexMap<String, Value> {
        self.into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect()
    }
}

impl IntoRow for IndexMap<String, Value> {
    fn into_row(self) -> IndexMap<String, Value> {
        self
    }
}

impl IntoRow for Value {
    fn into_row(self) -> IndexMap<String, Value> {
        match self {
            Value::Map(m) => m,
            _ => IndexMap::new(),
        }
    }
}
