//! Building a run: explicit values first, then `WANDB_*` variables; a sweep's parameters
//! (from the agent's `WANDB_SWEEP_PARAM_PATH`) over the code's config.

use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use serde::Serialize;
use wandb_sweep::Value;

use crate::error::Error;
use crate::metadata::MetadataInput;
use crate::origin::{Origin, OriginInput};
use crate::resume::{self, Resume};
use crate::run::Run;
use crate::settings::{Mode, RunSettings, new_run_id};
use crate::step::StepPolicy;
use crate::step_window::StepWindow;
use crate::system_metrics::{DEFAULT_INTERVAL, MIN_INTERVAL, SystemSettings};
use crate::uploader::REQUEST_RETRY;
use crate::writer::Online;

/// How long `finish` waits by default.
const FINISH_TIMEOUT: Duration = Duration::from_secs(30);
/// How far ahead of the newest step a step counts as a jump, by default.
const STEP_JUMP_THRESHOLD: u64 = 10_000;

/// Everything a run starts with.
#[derive(Debug)]
pub(crate) struct Start {
    pub(crate) settings: RunSettings,
    pub(crate) config: Value,
    pub(crate) policy: StepPolicy,
    pub(crate) window: StepWindow,
    /// Steps further ahead of the newest one than this are jumps.
    pub(crate) jump: u64,
    pub(crate) online: Option<Online>,
    pub(crate) watch: Option<String>,
    pub(crate) finish_timeout: Duration,
    /// Where `Resume::Auto` remembers the run id.
    pub(crate) auto_resume: Option<PathBuf>,
    pub(crate) console: crate::Console,
    /// System metrics and metadata (online and offline runs).
    pub(crate) system: SystemSettings,
    pub(crate) metadata: MetadataInput,
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
    sweep_params: Option<serde_json::Value>,
    policy: StepPolicy,
    window: StepWindow,
    jump: Option<u64>,
    sweep_id: Option<String>,
    api: Option<wandb_api::Settings>,
    watch: Option<String>,
    upload_retry: Option<wandb_api::RetryPolicy>,
    finish_timeout: Option<Duration>,
    resume: Option<Resume>,
    console: Option<crate::Console>,
    system_metrics: Option<bool>,
    metadata: Option<bool>,
    stats_interval: Option<Duration>,
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

    /// The retry policy of each upload request of an online run (default: 4 retries, 0.5 s
    /// to 4 s apart, 10 s per attempt). A request that still fails is retried later
    /// with the rows that joined it; nothing is dropped.
    #[must_use]
    pub fn upload_retry(mut self, policy: wandb_api::RetryPolicy) -> Self {
        self.upload_retry = Some(policy);
        self
    }

    /// How long [`Run::finish`] waits for the writer (and, online, for the last upload)
    /// before it returns with everything kept in the local log (default 30 s).
    #[must_use]
    pub fn finish_timeout(mut self, timeout: Duration) -> Self {
        self.finish_timeout = Some(timeout);
        self
    }

    /// Resumes an existing online run (else `WANDB_RESUME`): `init` then asks the server
    /// (the only case in which it waits on the network), and the run continues at the
    /// step and file-stream offsets after the stored ones. Offline runs ignore it.
    #[must_use]
    pub fn resume(mut self, resume: Resume) -> Self {
        self.resume = Some(resume);
        self
    }

    /// Keeps the `(step, value)` history of one numeric metric in memory, for controllers
    /// that decide on it (hyperband, bayes): read it with [`Run::watched`].
    #[must_use]
    pub fn watch_metric(mut self, key: impl Into<String>) -> Self {
        self.watch = Some(key.into());
        self
    }

    /// Samples system metrics (CPU, memory, disk, network, NVIDIA GPUs) every
    /// [`RunBuilder::stats_interval`] into the run, as the official client does: on by
    /// default for online and offline runs (else `WANDB__DISABLE_STATS`); never in disabled
    /// mode.
    ///
    /// ```
    /// use wandb_log::{Mode, Run};
    /// let dir = std::env::temp_dir().join(format!("wandb-log-stats-off-{}", std::process::id()));
    /// let run = Run::builder().mode(Mode::Offline).dir(&dir).system_metrics(false).init()?;
    /// run.log([("loss", 0.5)])?;
    /// run.finish(0)?;
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn system_metrics(mut self, on: bool) -> Self {
        self.system_metrics = Some(on);
        self
    }

    /// How often system metrics are sampled (default 15 s, else
    /// `WANDB__STATS_SAMPLING_INTERVAL` in seconds, as the official
    /// `x_stats_sampling_interval`; at least 0.1 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let run = wandb_log::Run::builder()
    ///     .mode(wandb_log::Mode::Disabled)
    ///     .stats_interval(Duration::from_secs(5))
    ///     .init()?;
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn stats_interval(mut self, interval: Duration) -> Self {
        self.stats_interval = Some(interval);
        self
    }

    /// Records the run's metadata (OS, host, program, arguments, CPUs, memory, disk, GPUs,
    /// git commit and remote) as the official client does, in the run's log and in
    /// `files/wandb-metadata.json`: on by default for online and offline runs (else
    /// `WANDB__DISABLE_META`). `WANDB_HOST`, `WANDB_PROGRAM`, `WANDB_DISABLE_GIT`,
    /// `WANDB_GIT_ROOT`, `WANDB_GIT_COMMIT` and `WANDB_GIT_REMOTE_URL` are read. The host and
    /// the git remote and commit are also in the run record, and go to W&B with the run
    /// (`upsertBucket`: the runs table's Hostname and Commit), with the program, even when
    /// the metadata is off. `WANDB_DISABLE_GIT` keeps the repository unread (a commit or
    /// remote given in a variable is still sent, as the official client does).
    ///
    /// ```
    /// let run = wandb_log::Run::builder()
    ///     .mode(wandb_log::Mode::Disabled)
    ///     .metadata(false)
    ///     .init()?;
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn metadata(mut self, on: bool) -> Self {
        self.metadata = Some(on);
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

    /// A sweep's parameters (plain values): merged over the config, they win over its keys
    /// (controllers and agents use this; a program started by `wandb agent` gets them from
    /// `WANDB_SWEEP_PARAM_PATH`).
    ///
    /// ```
    /// use serde_json::json;
    /// let run = wandb_log::Run::builder()
    ///     .mode(wandb_log::Mode::Disabled)
    ///     .config(&json!({"lr": 0.1, "epochs": 10}))
    ///     .sweep_params(&json!({"lr": 0.01}))
    ///     .init()?;
    /// assert_eq!(run.config::<serde_json::Value>()?, json!({"lr": 0.01, "epochs": 10}));
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn sweep_params<T: Serialize>(mut self, params: &T) -> Self {
        self.sweep_params = serde_json::to_value(params).ok();
        self
    }

    /// What to do with rows for a step below the step window (default: reject).
    #[must_use]
    pub fn step_policy(mut self, policy: StepPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How long steps stay open for rows that arrive late (default
    /// [`StepWindow::DEFAULT`]: 1,024 steps or one second; [`StepWindow::OFF`]: a step
    /// closes as soon as a higher one is logged).
    ///
    /// ```
    /// use std::time::Duration;
    /// use wandb_log::{Mode, Run, StepWindow};
    /// let run = Run::builder()
    ///     .mode(Mode::Disabled)
    ///     .step_window(StepWindow::new(64, Duration::from_millis(200)))
    ///     .init()?;
    /// run.log_at(5, [("loss", 0.5)])?;
    /// assert_eq!(run.log_at(4, [("eval/loss", 0.7)])?, 4); // still open
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn step_window(mut self, window: StepWindow) -> Self {
        self.window = window;
        self
    }

    /// How far ahead of the newest step a row's step must be to count as a step jump
    /// (default 10,000 steps; `u64::MAX`: never). A jump (e.g. an epoch number, then a
    /// global step) is accepted, counted in [`crate::StepStats::step_jumps`] and warned
    /// about once, with both steps.
    ///
    /// ```
    /// let run = wandb_log::Run::builder()
    ///     .mode(wandb_log::Mode::Disabled)
    ///     .step_jump_threshold(100)
    ///     .init()?;
    /// run.log_at(3, [("loss", 0.5)])?;
    /// run.log_at(3_000, [("loss", 0.4)])?; // accepted, counted, warned about once
    /// assert_eq!(run.step_stats().step_jumps, 1);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn step_jump_threshold(mut self, steps: u64) -> Self {
        self.jump = Some(steps);
        self
    }

    /// Whether the run captures the process's own stdout and stderr (see
    /// [`crate::Console`]); by default `WANDB_CONSOLE` decides, and without it: off.
    ///
    /// ```
    /// use wandb_log::{Console, Mode, Run};
    /// let run = Run::builder().mode(Mode::Disabled).console(Console::Off).init()?;
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn console(mut self, console: crate::Console) -> Self {
        self.console = Some(console);
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
        let (window, jump) = (self.window, self.jump.unwrap_or(STEP_JUMP_THRESHOLD));
        let retry = self.upload_retry.unwrap_or(REQUEST_RETRY);
        let system = system_settings(
            self.system_metrics,
            self.metadata,
            self.stats_interval,
            &env,
        )?;
        let finish_timeout = self.finish_timeout.unwrap_or(FINISH_TIMEOUT);
        let console = match self.console {
            Some(c) => c,
            None => crate::Console::from_env(env("WANDB_CONSOLE").as_deref())?,
        };
        let id_given =
            self.id.is_some() || env("WANDB_RUN_ID").is_some_and(|v| !v.trim().is_empty());
        let resume = match (
            self.resume,
            env("WANDB_RESUME").filter(|v| !v.trim().is_empty()),
        ) {
            (Some(r), _) => Some(r),
            (None, Some(text)) => Some(Resume::parse(&text)?),
            (None, None) => None,
        };
        let (mut settings, config) = self.resolve(&env)?;
        let metadata = metadata_input(&settings, &env);
        let api = match (settings.mode, explicit_api) {
            (Mode::Online, Some(api)) => Some(api),
            (Mode::Online, None) => Some(api_settings(&settings, &env)?),
            _ => None,
        };
        let (mut resumed, mut auto_resume) = (None, None);
        if let (Some(mode), Some(api)) = (resume, &api) {
            if mode == Resume::Auto {
                if !id_given && let Some(id) = resume::remembered_id(&settings.dir) {
                    settings.run_id = id;
                }
                resume::remember(&settings.dir, &settings.run_id)?;
                auto_resume = Some(settings.dir.clone());
            }
            resumed = resume::check(api, mode, &settings.run_id)?;
        }
        Run::start(Start {
            settings,
            config,
            policy,
            window,
            jump,
            online: api.map(|api| Online {
                api,
                retry,
                resumed,
            }),
            watch,
            finish_timeout,
            auto_resume,
            console,
            system,
            metadata,
        })
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
        if let (Value::Map(target), Some(serde_json::Value::Object(params))) =
            (&mut config, self.sweep_params)
        {
            for (key, v) in params {
                let value = serde_json::from_value(v).map_err(|e| Error::Config {
                    path: key.clone(),
                    message: e.to_string(),
                })?;
                target.insert(key, value);
            }
        }
        Ok((settings, config))
    }
}

/// Whether a `WANDB_*` flag is set to true (as the official settings read booleans).
fn flag(env: &impl Fn(&str) -> Option<String>, name: &str) -> bool {
    env(name).is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "t" | "yes" | "y" | "on"
        )
    })
}

/// System metrics and metadata: the builder's switches, else `WANDB__DISABLE_STATS`,
/// `WANDB__DISABLE_META` and `WANDB__STATS_SAMPLING_INTERVAL`.
fn system_settings(
    stats: Option<bool>,
    metadata: Option<bool>,
    interval: Option<Duration>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<SystemSettings, Error> {
    let interval = match (interval, env("WANDB__STATS_SAMPLING_INTERVAL")) {
        (Some(i), _) => i,
        (None, Some(text)) if !text.trim().is_empty() => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= MIN_INTERVAL.as_secs_f64() && *s < 1e9)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| {
                Error::Configuration(format!(
                    "WANDB__STATS_SAMPLING_INTERVAL `{text}` is not a number of seconds of at least 0.1"
                ))
            })?,
        _ => DEFAULT_INTERVAL,
    };
    Ok(SystemSettings {
        stats: stats.unwrap_or_else(|| !flag(env, "WANDB__DISABLE_STATS")),
        metadata: metadata.unwrap_or_else(|| !flag(env, "WANDB__DISABLE_META")),
        interval: interval.max(MIN_INTERVAL),
    })
}

/// What the metadata takes from the settings and `WANDB_*` variables; the origin (host,
/// program, git) is resolved here, once, except for a disabled run, which records nothing.
fn metadata_input(settings: &RunSettings, env: &impl Fn(&str) -> Option<String>) -> MetadataInput {
    let var = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    // As the official client: `WANDB_DISABLE_GIT` keeps the repository unread; a commit or
    // remote given in a variable is still the run's.
    let git_root = (!flag(env, "WANDB_DISABLE_GIT")).then(|| {
        var("WANDB_GIT_ROOT")
            .map(PathBuf::from)
            .or_else(|| std::env::current_dir().ok())
    });
    let origin = match settings.mode {
        Mode::Disabled => Origin::default(),
        Mode::Online | Mode::Offline => Origin::resolve(OriginInput {
            host: var("WANDB_HOST"),
            program: var("WANDB_PROGRAM"),
            git_root: git_root.flatten().as_deref(),
            git_commit: var("WANDB_GIT_COMMIT"),
            git_remote: var("WANDB_GIT_REMOTE_URL"),
        }),
    };
    MetadataInput {
        started_at: 0.0,
        root: settings.dir.clone(),
        origin,
        slurm: crate::metadata::slurm_vars(),
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
