//! The sweep state file: every trial's parameters, status, metric and run directory, kept in
//! `sweep-state.json` in the sweep directory so an interrupted sweep resumes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wandb_sweep::{Goal, RunState, SweepConfig, Value};

use crate::error::Error;

/// The state file's name inside the sweep directory.
pub const STATE_FILE: &str = "sweep-state.json";

/// The state file's format version.
const VERSION: u32 = 1;

/// Where a trial is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "lowercase")]
pub enum TrialStatus {
    /// Running now (or, in a file read back, interrupted: it is run again).
    Running,
    /// Ended normally.
    Finished,
    /// Stopped early by hyperband; its metric counts.
    Stopped,
    /// Returned an error or panicked; run again with `retry_failed`.
    Failed,
}

impl TrialStatus {
    /// The name used in tables and the state file.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TrialStatus::Running => "running",
            TrialStatus::Finished => "finished",
            TrialStatus::Stopped => "stopped",
            TrialStatus::Failed => "failed",
        }
    }

    /// The state W&B's search and hyperband see.
    fn run_state(self) -> RunState {
        match self {
            TrialStatus::Running => RunState::Running,
            TrialStatus::Finished | TrialStatus::Stopped => RunState::Finished,
            TrialStatus::Failed => RunState::Failed,
        }
    }
}

/// One trial of a local sweep, as the state file keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrialRecord {
    /// The trial's number, from 0 in the order trials were created.
    pub number: u64,
    /// The id of its (latest) run.
    pub run_id: String,
    /// The suggested parameters (a mapping; nested groups as mappings).
    pub params: Value,
    /// Where it is.
    pub status: TrialStatus,
    /// The last value of the sweep's metric (the run summary, as W&B shows it).
    pub metric: Option<f64>,
    /// Every `(step, value)` of the metric, in order.
    #[serde(default)]
    pub history: Vec<(u64, f64)>,
    /// The run directory, relative to the sweep directory when inside it.
    pub run_dir: Option<PathBuf>,
    /// Why it failed.
    pub error: Option<String>,
    /// How many times it was started.
    pub attempts: u32,
}

impl TrialRecord {
    /// The trial as W&B's search and hyperband see a run.
    pub(crate) fn to_search_run(&self, metric: Option<&str>) -> wandb_sweep::Run {
        let mut run = wandb_sweep::Run::new(
            self.run_id.clone(),
            self.status.run_state(),
            self.params.clone(),
        );
        if let Some(name) = metric {
            run.history = history_rows(name, &self.history);
        }
        run
    }
}

/// `{name: value}` rows for a metric history.
pub(crate) fn history_rows(name: &str, history: &[(u64, f64)]) -> Vec<Value> {
    history
        .iter()
        .map(|&(_, v)| Value::Map([(name.to_owned(), Value::from(v))].into_iter().collect()))
        .collect()
}

/// Everything a local sweep remembers between invocations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SweepState {
    version: u32,
    /// The local sweep id.
    pub(crate) sweep_id: String,
    /// The base seed of the search.
    pub(crate) seed: u64,
    /// The search-relevant part of the config (method, metric, parameters), to detect edits.
    search: serde_json::Value,
    /// The trials, by number.
    pub(crate) trials: Vec<TrialRecord>,
}

impl SweepState {
    /// A new state for a config.
    pub(crate) fn new(config: &SweepConfig, sweep_id: String, seed: u64) -> Self {
        SweepState {
            version: VERSION,
            sweep_id,
            seed,
            search: search_key(config),
            trials: Vec::new(),
        }
    }

    /// Reads the state of `dir`, if it has one.
    ///
    /// # Errors
    /// [`Error::SweepState`] for an unreadable file, [`Error::SweepChanged`] when the config's
    /// method, metric or parameters differ from the ones the sweep started with.
    pub(crate) fn load(dir: &Path, config: &SweepConfig) -> Result<Option<Self>, Error> {
        let path = dir.join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::Io(e)),
        };
        let state: SweepState = serde_json::from_str(&text).map_err(|e| Error::SweepState {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if state.search != search_key(config) {
            return Err(Error::SweepChanged { path });
        }
        Ok(Some(state))
    }

    /// Writes the state atomically (a temporary file, then a rename).
    ///
    /// # Errors
    /// I/O errors.
    pub(crate) fn save(&self, dir: &Path) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::SweepState {
            path: dir.join(STATE_FILE),
            message: e.to_string(),
        })?;
        let tmp = dir.join(format!("{STATE_FILE}.tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, dir.join(STATE_FILE))?;
        Ok(())
    }

    /// The trials as W&B's search sees runs.
    pub(crate) fn search_runs(&self, metric: Option<&str>) -> Vec<wandb_sweep::Run> {
        self.trials
            .iter()
            .map(|t| t.to_search_run(metric))
            .collect()
    }
}

/// The config keys that decide what a trial is: method, metric and parameters.
fn search_key(config: &SweepConfig) -> serde_json::Value {
    let metric = config.metric.as_ref().map(|m| {
        serde_json::json!({
            "name": m.name,
            "maximize": m.goal == Some(Goal::Maximize),
        })
    });
    serde_json::json!({
        "method": config.method.as_str(),
        "metric": metric,
        "parameters": serde_json::to_value(&config.parameters).unwrap_or_default(),
    })
}
