//! A local sweep as its directory keeps it (`sweep-state.json`: each trial's parameters,
//! status, metric and run directory), and hyperband's bands from the sweep config.

use std::path::Path;

use serde::Deserialize;
use wandb_agent::local_sweep::{STATE_FILE, TrialRecord};
use wandb_sweep::{EarlyTerminate, Goal, SweepConfig};

/// A local sweep.
#[derive(Debug, Clone)]
pub(crate) struct LocalSweep {
    /// The local sweep id.
    pub(crate) id: String,
    /// The sweep's metric.
    pub(crate) metric: Option<String>,
    /// Whether larger metric values are better.
    pub(crate) maximize: bool,
    /// The search method.
    pub(crate) method: Option<String>,
    /// Every trial, by number.
    pub(crate) trials: Vec<TrialRecord>,
}

/// The parts of the state file a report reads.
#[derive(Debug, Deserialize)]
struct StateFile {
    sweep_id: String,
    #[serde(default)]
    search: Search,
    #[serde(default)]
    trials: Vec<TrialRecord>,
}

#[derive(Debug, Default, Deserialize)]
struct Search {
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    metric: Option<SearchMetric>,
}

#[derive(Debug, Deserialize)]
struct SearchMetric {
    name: String,
    #[serde(default)]
    maximize: bool,
}

impl LocalSweep {
    /// Reads the state file of `dir`.
    ///
    /// # Errors
    /// Why it cannot be read, in words.
    pub(crate) fn read(dir: &Path) -> Result<LocalSweep, String> {
        let path = dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read it: {e}"))?;
        let state: StateFile = serde_json::from_str(&text).map_err(|e| {
            format!("not a local sweep state this version reads ({e}); the runs are shown without the sweep")
        })?;
        let (metric, maximize) = state
            .search
            .metric
            .map_or((None, false), |m| (Some(m.name), m.maximize));
        Ok(LocalSweep {
            id: state.sweep_id,
            metric,
            maximize,
            method: state.search.method,
            trials: state.trials,
        })
    }

    /// Takes the metric and goal from the sweep config when the state file has none.
    pub(crate) fn with_config(mut self, config: &SweepConfig) -> LocalSweep {
        if self.metric.is_none()
            && let Some(m) = &config.metric
        {
            self.metric = Some(m.name.clone());
            self.maximize = m.goal == Some(Goal::Maximize);
        }
        self
    }

    /// The trial logged in `log_dir` (a run directory), matched by the directory's name
    /// (`offline-run-<time>-<id>`, unique in the sweep), else by run id.
    pub(crate) fn trial_of(&self, log_dir: &Path, run_id: &str) -> Option<&TrialRecord> {
        let name = log_dir.file_name()?;
        self.trials
            .iter()
            .find(|t| t.run_dir.as_ref().and_then(|d| d.file_name()) == Some(name))
            .or_else(|| self.trials.iter().rev().find(|t| t.run_id == run_id))
    }
}

/// Hyperband's bands, from a sweep config with hyperband early termination.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bands {
    /// The bands, ascending.
    pub(crate) bands: Vec<u64>,
    /// The schedule in words.
    pub(crate) describe: String,
}

impl Bands {
    pub(crate) fn of(config: &SweepConfig) -> Option<Bands> {
        let Some(EarlyTerminate::Hyperband(hb)) = &config.early_terminate else {
            return None;
        };
        Some(Bands {
            bands: hb.bands(),
            describe: hb.describe(),
        })
    }

    /// The band at which a trial that logged `steps` values of the metric was stopped: the
    /// last band it reached (hyperband looks at a trial when it reaches a band; a trial may
    /// log a value or two more before it sees the stop).
    pub(crate) fn band_of(&self, steps: usize) -> Option<u64> {
        self.bands
            .iter()
            .copied()
            .take_while(|&b| usize::try_from(b).is_ok_and(|b| b <= steps))
            .last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopped_trials_are_placed_at_the_last_band_they_reached() {
        let config = SweepConfig::from_yaml(
            "method: random\nmetric: {name: loss}\nearly_terminate: {type: hyperband, max_iter: 27, s: 2, eta: 3}\nparameters:\n  x: {min: 0.0, max: 1.0}\n",
        )
        .unwrap();
        let bands = Bands::of(&config).unwrap();
        assert_eq!(bands.bands, [3, 9]);
        assert_eq!(bands.band_of(2), None);
        assert_eq!(bands.band_of(3), Some(3));
        assert_eq!(bands.band_of(4), Some(3));
        assert_eq!(bands.band_of(9), Some(9));
        assert_eq!(bands.band_of(27), Some(9));
    }

    #[test]
    fn the_state_file_of_a_local_sweep_reads() {
        let dir = std::env::temp_dir().join(format!("report-sweep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let state = r#"{"version": 1, "sweep_id": "sw1", "seed": 3,
            "search": {"method": "bayes", "metric": {"name": "acc", "maximize": true}, "parameters": {}},
            "trials": [{"number": 0, "run_id": "r0", "params": {"lr": 0.1}, "status": "stopped",
                        "metric": 0.5, "history": [[0, 0.4], [1, 0.5]], "run_dir": "wandb/offline-run-x-r0",
                        "error": null, "attempts": 1}]}"#;
        std::fs::write(dir.join(STATE_FILE), state).unwrap();
        let sweep = LocalSweep::read(&dir).unwrap();
        assert_eq!(sweep.metric.as_deref(), Some("acc"));
        assert!(sweep.maximize);
        assert_eq!(sweep.trials.len(), 1);
        let trial = sweep.trial_of(&dir.join("wandb/offline-run-x-r0"), "other");
        assert_eq!(trial.map(|t| t.run_id.as_str()), Some("r0"));
        std::fs::write(dir.join(STATE_FILE), "{").unwrap();
        assert!(
            LocalSweep::read(&dir)
                .unwrap_err()
                .contains("not a local sweep state")
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
