//! Reading runs back: project runs with filters and paging, history pages and scans, summary.

use serde_json::Value as Json;
use wandb_sweep::Value;

use crate::client::Client;
use crate::error::Error;
use crate::extended_json::{parse_extended_json, run_json, run_value};
use crate::graphql::{HistoryPage, RunSummary, Runs, history_page, run_summary, runs};
use crate::retry::RetrySafety;

/// A run as listed in a project.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// The storage id.
    pub storage_id: String,
    /// The run id.
    pub run_id: String,
    /// The display name.
    pub display_name: Option<String>,
    /// The sweep it belongs to.
    pub sweep: Option<String>,
    /// `running`, `finished`, `failed`, `crashed`, …
    pub state: Option<String>,
    /// The config, unwrapped from W&B's `{key: {value: v}}` form.
    pub config: Json,
    /// The summary.
    pub summary: Value,
    /// The group.
    pub group: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// History rows stored.
    pub history_line_count: u64,
}

/// One page of a project's runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPage {
    /// The runs.
    pub runs: Vec<RunInfo>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
    /// How many runs match the filters in all.
    pub total: Option<u64>,
}

/// Which runs to list (MongoDB-style filters as W&B takes them, e.g. `{"sweep": "abc"}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunQuery {
    /// Filters, e.g. `{"state": "finished"}`.
    pub filters: Option<Json>,
    /// `+created_at`, `-summary_metrics.loss`, …
    pub order: Option<String>,
    /// Page size (default 50).
    pub per_page: Option<i64>,
    /// The cursor from the previous page.
    pub cursor: Option<String>,
}

/// `found`, or [`Error::NotFound`] naming the run.
fn run_found<T>(found: Option<T>, entity: &str, project: &str, run_id: &str) -> Result<T, Error> {
    found.ok_or_else(|| Error::NotFound {
        what: format!("run {entity}/{project}/{run_id}"),
    })
}

/// A run's config, unwrapped from W&B's `{key: {value: v}}` form.
fn unwrap_config(text: Option<&str>, run: &str) -> Result<Json, Error> {
    Ok(match run_json(text, run, "config")? {
        Json::Object(m) => Json::Object(
            m.into_iter()
                .map(|(k, v)| (k, v.get("value").cloned().unwrap_or(v)))
                .collect(),
        ),
        other => other,
    })
}

/// A run's summary (extended JSON); `null` when it has none.
fn summary_of(text: Option<&str>, run: &str) -> Result<Value, Error> {
    Ok(run_value(text, run, "summary")?.unwrap_or_default())
}

impl Client {
    /// One page of a project's runs.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown project, [`Error::InvalidResponse`] naming the run
    /// whose config or summary is not JSON, and any [`Error`].
    pub async fn runs(
        &self,
        entity: &str,
        project: &str,
        query: &RunQuery,
    ) -> Result<RunPage, Error> {
        let vars = runs::Variables {
            entity: entity.to_owned(),
            project: project.to_owned(),
            cursor: query.cursor.clone(),
            per_page: Some(query.per_page.unwrap_or(50)),
            order: query.order.clone(),
            filters: query.filters.as_ref().map(Json::to_string),
        };
        let data = self.execute::<Runs>(vars, RetrySafety::Idempotent).await?;
        let p = data.project.ok_or_else(|| Error::NotFound {
            what: format!("project {entity}/{project}"),
        })?;
        let total = p.run_count.and_then(|n| u64::try_from(n).ok());
        let Some(conn) = p.runs else {
            return Ok(RunPage {
                runs: Vec::new(),
                next: None,
                total,
            });
        };
        let next = conn
            .page_info
            .has_next_page
            .then_some(conn.page_info.end_cursor)
            .flatten();
        let runs = conn
            .edges
            .into_iter()
            .filter_map(|e| e.node)
            .map(|n| {
                Ok(RunInfo {
                    config: unwrap_config(n.config.as_deref(), &n.name)?,
                    summary: summary_of(n.summary_metrics.as_deref(), &n.name)?,
                    storage_id: n.id,
                    run_id: n.name,
                    display_name: n.display_name,
                    sweep: n.sweep_name,
                    state: n.state,
                    group: n.group,
                    tags: n.tags.unwrap_or_default(),
                    history_line_count: n
                        .history_line_count
                        .and_then(|c| u64::try_from(c).ok())
                        .unwrap_or(0),
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(RunPage { runs, next, total })
    }

    /// History rows with `_step` in `[min_step, max_step)`, at most `page_size` of them.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown run, and any [`Error`].
    pub async fn history_page(
        &self,
        entity: &str,
        project: &str,
        run_id: &str,
        min_step: i64,
        max_step: i64,
        page_size: i64,
    ) -> Result<Vec<Value>, Error> {
        let vars = history_page::Variables {
            entity: entity.to_owned(),
            project: project.to_owned(),
            run: run_id.to_owned(),
            min_step,
            max_step,
            page_size,
        };
        let data = self
            .execute::<HistoryPage>(vars, RetrySafety::Idempotent)
            .await?;
        let run = run_found(data.project.and_then(|p| p.run), entity, project, run_id)?;
        run.history
            .unwrap_or_default()
            .iter()
            .map(|row| {
                parse_extended_json(row)
                    .map_err(|e| Error::InvalidResponse(format!("history row: {e}")))
            })
            .collect()
    }

    /// Every history row, paging by `_step` (`page_size` rows a request).
    ///
    /// # Errors
    /// Any [`Error`] of [`Client::history_page`].
    pub async fn history(
        &self,
        entity: &str,
        project: &str,
        run_id: &str,
        page_size: i64,
    ) -> Result<Vec<Value>, Error> {
        let mut rows = Vec::new();
        let mut min_step = 0;
        loop {
            let page = self
                .history_page(entity, project, run_id, min_step, i64::MAX, page_size)
                .await?;
            let last = page
                .iter()
                .filter_map(|r| r.to_json().get("_step").and_then(Json::as_i64))
                .max();
            let full = page.len() as i64 >= page_size;
            rows.extend(page);
            match last {
                Some(step) if full => min_step = step + 1,
                _ => return Ok(rows),
            }
        }
    }

    /// A run's summary (extended JSON: NaN and infinities kept).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown run, [`Error::InvalidResponse`] naming the run when
    /// its summary is not JSON, and any [`Error`].
    pub async fn summary(&self, entity: &str, project: &str, run_id: &str) -> Result<Value, Error> {
        let vars = run_summary::Variables {
            entity: entity.to_owned(),
            project: project.to_owned(),
            run: run_id.to_owned(),
        };
        let data = self
            .execute::<RunSummary>(vars, RetrySafety::Idempotent)
            .await?;
        let run = run_found(data.project.and_then(|p| p.run), entity, project, run_id)?;
        summary_of(run.summary_metrics.as_deref(), run_id)
    }
}
