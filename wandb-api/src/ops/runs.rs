//! Runs: create and update (`upsertBucket`), resume status, stop.

use serde_json::{Map, Value as Json, json};

use crate::client::Client;
use crate::error::Error;
use crate::extended_json::run_json;
use crate::graphql::{
    RunResumeStatus, StopRun, UpsertBucket, run_resume_status, stop_run, upsert_bucket,
};
use crate::retry::RetrySafety;

/// What to create or update. `None` fields are not sent, so an update never clears them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunUpsert {
    /// The run id (8 characters by convention); `None` lets the server pick one.
    pub run_id: Option<String>,
    /// The storage id of an existing run (from an earlier upsert or a resume).
    pub storage_id: Option<String>,
    /// The entity; `None` means the viewer's default entity.
    pub entity: Option<String>,
    /// The project; `None` means the server's default project.
    pub project: Option<String>,
    /// The display name.
    pub display_name: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// The group.
    pub group: Option<String>,
    /// The job type.
    pub job_type: Option<String>,
    /// The host name.
    pub host: Option<String>,
    /// The program path.
    pub program: Option<String>,
    /// The git remote URL of the code (the run page's "Git repository").
    pub repo: Option<String>,
    /// The git commit of the code.
    pub commit: Option<String>,
    /// The sweep id the run belongs to.
    pub sweep: Option<String>,
    /// The run config (plain values; see [`config_json`]).
    pub config: Option<Map<String, Json>>,
}

/// What the server made of an upsert.
#[derive(Debug, Clone, PartialEq)]
pub struct UpsertedRun {
    /// The storage id (keep it for updates).
    pub storage_id: String,
    /// The run id.
    pub run_id: String,
    /// The display name.
    pub display_name: Option<String>,
    /// The sweep the run is attached to.
    pub sweep: Option<String>,
    /// The resolved entity (use it for the file stream).
    pub entity: String,
    /// The resolved project.
    pub project: String,
    /// History rows already stored (a resumed run continues there).
    pub history_line_count: u64,
    /// True when the run was created by this call.
    pub inserted: bool,
}

/// A run config as W&B stores it: `{key: {value: v}}`, plus `_wandb.t` (the telemetry that
/// marks a run as started by a real client, so that it can be resumed) and `_wandb.m` (the
/// metric definitions). A `_wandb` object in `config` adds to these (e.g. its `m`).
///
/// ```
/// let mut c = serde_json::Map::new();
/// c.insert("lr".into(), serde_json::json!(0.01));
/// c.insert("_wandb".into(), serde_json::json!({"m": [{"1": "epoch"}]}));
/// let text = wandb_api::config_json(&c);
/// let v: serde_json::Value = serde_json::from_str(&text).unwrap();
/// assert_eq!(v["lr"]["value"], 0.01);
/// assert!(v["_wandb"]["value"]["t"].is_object());
/// assert_eq!(v["_wandb"]["value"]["m"][0]["1"], "epoch");
/// ```
#[must_use]
pub fn config_json(config: &Map<String, Json>) -> String {
    let mut out: Map<String, Json> = config
        .iter()
        .filter(|(k, _)| *k != "_wandb")
        .map(|(k, v)| (k.clone(), json!({ "value": v })))
        .collect();
    let version = env!("CARGO_PKG_VERSION");
    let platform = format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH);
    let mut wandb = json!({ "cli_version": version, "t": { "5": version, "12": version, "13": platform }, "m": [] });
    if let (Some(Json::Object(extra)), Json::Object(w)) = (config.get("_wandb"), &mut wandb) {
        w.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    out.insert("_wandb".into(), json!({ "value": wandb }));
    Json::Object(out).to_string()
}

/// An existing run that can be resumed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ResumeState {
    /// The storage id.
    pub storage_id: String,
    /// History rows stored (the next row goes at this offset).
    pub history_line_count: u64,
    /// Events rows stored.
    pub events_line_count: u64,
    /// Console lines stored.
    pub log_line_count: u64,
    /// The `_step` of the last stored history row (from `historyTail`), when it has one: a
    /// killed run's summary has no `_step` (the summary is sent at the end).
    pub last_history_step: Option<u64>,
    /// The summary (JSON object).
    pub summary: Json,
    /// The config in W&B's `{key: {value: v}}` form.
    pub config: Json,
    /// Tags.
    pub tags: Vec<String>,
    /// Notes.
    pub notes: Option<String>,
}

/// The `_step` of the last row of a `historyTail` (a JSON list of extended-JSON rows).
fn last_step(tail: Option<&str>) -> Option<u64> {
    let rows: Vec<String> = serde_json::from_str(tail?).ok()?;
    let last = crate::parse_extended_json(rows.last()?).ok()?;
    last.to_json().get("_step")?.as_u64()
}

fn count(n: Option<i64>) -> u64 {
    n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

impl Client {
    /// Creates or updates a run. A run with a run id or storage id is retried as W&B retries
    /// this mutation (HTTP 409 too); without either the server names a new run each time,
    /// so it is not sent again after a failure W&B may have acted on.
    ///
    /// # Errors
    /// Any [`Error`]; [`Error::InvalidResponse`] when the server returns no run;
    /// [`Error::NotRetried`] for an unnamed run after a timeout or 5xx.
    pub async fn upsert_run(&self, run: &RunUpsert) -> Result<UpsertedRun, Error> {
        let settings = self.settings();
        let safety = if run.run_id.is_some() || run.storage_id.is_some() {
            RetrySafety::IdempotentRetryConflict
        } else {
            RetrySafety::Creates {
                check: "the project's runs in the W&B app",
            }
        };
        let vars = upsert_bucket::Variables {
            id: run.storage_id.clone(),
            name: run.run_id.clone(),
            project: run.project.clone().or_else(|| settings.project.clone()),
            entity: run.entity.clone().or_else(|| settings.entity.clone()),
            group_name: run.group.clone(),
            display_name: run.display_name.clone(),
            notes: run.notes.clone(),
            config: run.config.as_ref().map(config_json),
            host: run.host.clone(),
            program: run.program.clone(),
            repo: run.repo.clone(),
            commit: run.commit.clone(),
            job_type: run.job_type.clone(),
            sweep: run.sweep.clone(),
            tags: run.tags.clone(),
            ..Default::default()
        };
        let data = self.execute::<UpsertBucket>(vars, safety).await?;
        let payload = data
            .upsert_bucket
            .ok_or_else(|| Error::InvalidResponse("upsertBucket returned nothing".into()))?;
        let b = payload
            .bucket
            .ok_or_else(|| Error::InvalidResponse("upsertBucket returned no run".into()))?;
        let project = b
            .project
            .ok_or_else(|| Error::InvalidResponse("the run has no project".into()))?;
        Ok(UpsertedRun {
            storage_id: b.id,
            run_id: b.name,
            display_name: b.display_name,
            sweep: b.sweep_name,
            entity: project.entity.name,
            project: project.name,
            history_line_count: count(b.history_line_count),
            inserted: payload.inserted.unwrap_or(false),
        })
    }

    /// The state of a run to resume, or `None` when it does not exist or was never started
    /// by a client (no `_wandb.t` in its config, e.g. a run the sweep pre-created).
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] naming the run when its summary or config is not JSON (a
    /// resumed run must not start over from an empty summary), and any [`Error`].
    pub async fn resume_status(
        &self,
        entity: Option<&str>,
        project: Option<&str>,
        run_id: &str,
    ) -> Result<Option<ResumeState>, Error> {
        let vars = run_resume_status::Variables {
            entity: entity.map(str::to_owned),
            project: project.map(str::to_owned),
            name: run_id.to_owned(),
        };
        let data = self
            .execute::<RunResumeStatus>(vars, RetrySafety::Idempotent)
            .await?;
        let Some(b) = data.model.and_then(|m| m.bucket) else {
            return Ok(None);
        };
        let field = |text: Option<&str>, name: &str| run_json(text, run_id, name);
        let started = field(b.wandb_config.as_deref(), "wandbConfig")?
            .get("t")
            .is_some();
        if !started {
            return Ok(None);
        }
        Ok(Some(ResumeState {
            summary: field(b.summary_metrics.as_deref(), "summary")?,
            config: field(b.config.as_deref(), "config")?,
            storage_id: b.id,
            history_line_count: count(b.history_line_count),
            events_line_count: count(b.events_line_count),
            log_line_count: count(b.log_line_count),
            last_history_step: last_step(b.history_tail.as_deref()),
            tags: b.tags.unwrap_or_default(),
            notes: b.notes,
        }))
    }

    /// Asks the server to stop a run (by storage id); the run learns it from the file stream.
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn stop_run(&self, storage_id: &str) -> Result<bool, Error> {
        let data = self
            .execute::<StopRun>(
                stop_run::Variables {
                    id: storage_id.to_owned(),
                },
                RetrySafety::Idempotent,
            )
            .await?;
        Ok(data.stop_run.and_then(|p| p.success).unwrap_or(false))
    }
}
