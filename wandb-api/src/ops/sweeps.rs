//! Sweeps: create from a typed config, read with their runs, change state.

use serde_json::Value as Json;
use wandb_sweep::{Run, RunState, SweepConfig, Value};

use crate::client::Client;
use crate::error::{Error, excerpt};
use crate::extended_json::{run_value, value_of};
use crate::graphql::{
    SweepWithRuns, UpsertSweep, UpsertSweepState, sweep_with_runs, upsert_sweep, upsert_sweep_state,
};
use crate::retry::RetrySafety;

/// A sweep the server created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedSweep {
    /// The sweep id (e.g. `sw33p1d`).
    pub sweep_id: String,
    /// The resolved entity.
    pub entity: Option<String>,
    /// The resolved project.
    pub project: Option<String>,
    /// The server's schema warnings about the config (the sweep is created anyway).
    pub warnings: Vec<String>,
}

impl CreatedSweep {
    /// `entity/project/sweep_id`, as `wandb agent` takes it.
    #[must_use]
    pub fn path(&self) -> String {
        [
            self.entity.as_deref(),
            self.project.as_deref(),
            Some(self.sweep_id.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("/")
    }
}

/// A sweep state change (`wandb sweep --stop|--cancel|--pause|--resume`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepState {
    /// Let running runs finish, start no new ones (`FINISHED`).
    Finished,
    /// Kill running runs (`CANCELED`).
    Canceled,
    /// Start no new runs for now (`PAUSED`).
    Paused,
    /// Start runs again (`RUNNING`).
    Running,
}

impl SweepState {
    /// The server's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SweepState::Finished => "FINISHED",
            SweepState::Canceled => "CANCELED",
            SweepState::Paused => "PAUSED",
            SweepState::Running => "RUNNING",
        }
    }
}

/// A sweep as the server stores it, with its runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// The storage id (for state changes).
    pub storage_id: String,
    /// The sweep id.
    pub sweep_id: String,
    /// `RUNNING`, `PAUSED`, `FINISHED`, `CANCELED`, …
    pub state: Option<String>,
    /// The config as stored (YAML text).
    pub config_yaml: Option<String>,
    /// The runs, with parameters, history samples and summary.
    pub runs: Vec<Run>,
}

/// `upsertSweep` without an id makes a new sweep each time it is carried out.
const CREATE_SWEEP: RetrySafety = RetrySafety::Creates {
    check: "the project's sweeps in the W&B app",
};

impl Client {
    /// Creates a sweep from a config (validated locally first, sent as YAML with explicit
    /// distributions, as `wandb sweep` sends it). `entity`/`project` fall back to the
    /// config's, then to the settings. Not sent again after a failure W&B may have acted on.
    ///
    /// # Errors
    /// [`Error::NotRetried`] after a timeout or 5xx, and any [`Error`].
    pub async fn create_sweep(
        &self,
        config: &SweepConfig,
        entity: Option<&str>,
        project: Option<&str>,
    ) -> Result<CreatedSweep, Error> {
        let settings = self.settings();
        let pick = |explicit: Option<&str>, cfg: &Option<String>, set: &Option<String>| {
            explicit
                .map(str::to_owned)
                .or_else(|| cfg.clone())
                .or_else(|| set.clone())
        };
        let vars = upsert_sweep::Variables {
            config: Some(config.to_yaml()?),
            description: config.description.clone(),
            entity_name: pick(entity, &config.entity, &settings.entity),
            project_name: pick(project, &config.project, &settings.project),
            display_name: config.name.clone(),
            ..Default::default()
        };
        let data = self.execute::<UpsertSweep>(vars, CREATE_SWEEP).await?;
        let payload = data
            .upsert_sweep
            .ok_or_else(|| Error::InvalidResponse("upsertSweep returned nothing".into()))?;
        let sweep = payload
            .sweep
            .ok_or_else(|| Error::InvalidResponse("upsertSweep returned no sweep".into()))?;
        let project = sweep.project;
        Ok(CreatedSweep {
            sweep_id: sweep.name,
            entity: project.as_ref().map(|p| p.entity.name.clone()),
            project: project.map(|p| p.name),
            warnings: payload.config_validation_warnings.unwrap_or_default(),
        })
    }

    /// A sweep with its runs (`None` when it does not exist). With `metric`, each run carries
    /// that metric's history (`_step` and the metric, up to 100,000 samples, as a controller
    /// needs for bayes and hyperband); without, the agent's empty spec. Every run is kept:
    /// an unknown state as [`RunState::Other`], integers beyond `i64` as floats.
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] naming the run whose config is not JSON, and any [`Error`].
    pub async fn sweep(
        &self,
        entity: Option<&str>,
        project: Option<&str>,
        sweep_id: &str,
        metric: Option<&str>,
    ) -> Result<Option<Sweep>, Error> {
        let spec = metric.map_or_else(
            || "{}".to_owned(),
            |m| serde_json::json!({ "keys": ["_step", m], "samples": 100_000 }).to_string(),
        );
        let vars = sweep_with_runs::Variables {
            entity: entity
                .map(str::to_owned)
                .or_else(|| self.settings().entity.clone()),
            project: project
                .map(str::to_owned)
                .or_else(|| self.settings().project.clone()),
            sweep: sweep_id.to_owned(),
            specs: vec![spec],
        };
        let data = self
            .execute::<SweepWithRuns>(vars, RetrySafety::Idempotent)
            .await?;
        let Some(s) = data.project.and_then(|p| p.sweep) else {
            return Ok(None);
        };
        let runs = s
            .runs
            .map(|r| {
                r.edges
                    .into_iter()
                    .filter_map(|e| e.node)
                    .map(run_of)
                    .collect::<Result<Vec<_>, Error>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(Some(Sweep {
            storage_id: s.id,
            sweep_id: s.name,
            state: s.state,
            config_yaml: s.config,
            runs,
        }))
    }

    /// Changes a sweep's state; `sweep_id` is looked up for its storage id first.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown sweep, and any [`Error`].
    pub async fn set_sweep_state(
        &self,
        entity: Option<&str>,
        project: Option<&str>,
        sweep_id: &str,
        state: SweepState,
    ) -> Result<(), Error> {
        let sweep = self
            .sweep(entity, project, sweep_id, None)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("sweep {sweep_id}"),
            })?;
        let vars = upsert_sweep_state::Variables {
            id: sweep.storage_id,
            state: state.as_str().to_owned(),
        };
        self.execute::<UpsertSweepState>(vars, RetrySafety::Idempotent)
            .await?;
        Ok(())
    }
}

/// A sweep run as the engine sees it. Nothing is dropped: an unknown state is kept as
/// [`RunState::Other`]; a summary that is not JSON is left out with a warning naming the
/// run (its history still counts); a config that is not JSON is an error naming the run,
/// since without its parameters a search could suggest them again.
fn run_of(node: sweep_with_runs::SweepWithRunsProjectSweepRunsEdgesNode) -> Result<Run, Error> {
    let name = node.name;
    let state = node.state.as_deref().map_or_else(
        || {
            tracing::warn!(run = %name, "W&B sent a sweep run without a state; it counts as taken, with no result");
            RunState::Other(String::new())
        },
        RunState::from_name,
    );
    let config = run_value(node.config.as_deref(), &name, "config")?;
    let summary = run_value(node.summary_metrics.as_deref(), &name, "summary")
        .unwrap_or_else(|e| {
            tracing::warn!(run = %name, error = %e, "a sweep run's summary is left out");
            None
        })
        .unwrap_or_else(|| Value::Map(Default::default()));
    let history = match node
        .sampled_history
        .and_then(|h| h.into_iter().next().flatten())
    {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(rows)) => rows
            .into_iter()
            .map(|row| value_of(row, &name, "sampled history"))
            .collect::<Result<_, Error>>()?,
        Some(other) => {
            return Err(Error::InvalidResponse(format!(
                "run {name}: its sampled history is not a list: {}",
                excerpt(&other.to_string())
            )));
        }
    };
    let mut run = Run::from_stored_config(name, state, config);
    run.history = history;
    run.summary = summary;
    Ok(run)
}
