//! Uploading a run directory's `.wandb` log to W&B, as `wandb sync` does, with the same
//! uploader as live runs (exactly once by offset, retries, bounded by a deadline).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use wandb_api::{RetryPolicy, parse_extended_json, to_extended_json};
use wandb_sweep::Value;

use crate::error::Error;
use crate::history_record::RowEncoder;
use crate::metric::{MetricDefinition, config_metrics};
use crate::offline_run::console_line;
use crate::proto::output_raw_record::OutputType;
use crate::proto::record::RecordType;
use crate::proto::{HistoryRecord, Record, RunRecord};
use crate::transaction_log::LogReader;
use crate::uploader::{REQUEST_RETRY, Uploader, upsert_of};

/// What a sync sent.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncReport {
    /// The run id.
    pub run_id: String,
    /// History rows in the log.
    pub rows: u64,
    /// History rows the server accepted.
    pub rows_uploaded: u64,
    /// The exit code sent (1 when the log has no exit record, as `wandb sync` does).
    pub exit_code: i32,
}

/// How to sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Upload to this entity (else the log's, else the settings').
    pub entity: Option<String>,
    /// Upload to this project (else the log's, else the settings').
    pub project: Option<String>,
    /// The retry policy of each request.
    pub retry: RetryPolicy,
    /// How long the whole upload may take.
    pub timeout: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            entity: None,
            project: None,
            retry: REQUEST_RETRY,
            timeout: Duration::from_secs(600),
        }
    }
}

/// The parts of a log that a sync sends.
#[derive(Debug, Default)]
struct Contents {
    run: Option<RunRecord>,
    history: Vec<String>,
    summary: IndexMap<String, Value>,
    output: Vec<String>,
    metrics: Vec<MetricDefinition>,
    exit_code: Option<i32>,
    /// Reused to turn each history record into a line.
    encoder: RowEncoder,
}

/// Uploads the run in `dir` (a `wandb/offline-run-…` or `run-…` directory, or its `.wandb`
/// file) to the server of `api`. Blocks until the upload is done; works inside a caller's
/// tokio runtime too (it runs on its own thread).
///
/// ```no_run
/// let api = wandb_api::Settings::from_env()?;
/// let report = wandb_log::sync(std::path::Path::new("wandb/offline-run-20260101_000000-abc12345"), api, &Default::default())?;
/// println!("{} of {} rows uploaded", report.rows_uploaded, report.rows);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Sync`] for a directory without a readable log or an upload that did not finish;
/// I/O errors.
pub fn sync(
    dir: &Path,
    api: wandb_api::Settings,
    options: &SyncOptions,
) -> Result<SyncReport, Error> {
    let contents = read(&log_file(dir)?)?;
    let run = contents
        .run
        .clone()
        .ok_or_else(|| Error::Sync(format!("{} has no run record", dir.display())))?;
    let options = options.clone();
    std::thread::spawn(move || upload(contents, &run, api, &options))
        .join()
        .map_err(|_| Error::Sync("the upload stopped unexpectedly".into()))?
}

/// The `.wandb` file of a run directory (or the file itself).
fn log_file(dir: &Path) -> Result<PathBuf, Error> {
    if dir.is_file() {
        return Ok(dir.to_path_buf());
    }
    std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "wandb"))
        .ok_or_else(|| {
            Error::Sync(format!(
                "no .wandb file in {}: give a run directory such as wandb/offline-run-…",
                dir.display()
            ))
        })
}

fn read(file: &Path) -> Result<Contents, Error> {
    let mut contents = Contents::default();
    for record in LogReader::new(std::fs::File::open(file)?)? {
        let Record {
            record_type: Some(r),
            ..
        } = record?
        else {
            continue;
        };
        contents.add(r);
    }
    Ok(contents)
}

impl Contents {
    fn add(&mut self, record: RecordType) {
        match record {
            RecordType::Run(r) if self.run.is_none() => self.run = Some(r),
            RecordType::History(h) => self.history.push(line(&mut self.encoder, &h)),
            RecordType::Summary(s) => {
                for item in s.update {
                    let value = parse_extended_json(&item.value_json).unwrap_or_default();
                    insert_nested(&mut self.summary, &item.key, &item.nested_key, value);
                }
            }
            RecordType::OutputRaw(o) => {
                let stderr = o.output_type == i32::from(OutputType::Stderr);
                let ts = o
                    .timestamp
                    .map_or(0.0, |t| t.seconds as f64 + f64::from(t.nanos) / 1e9);
                for text in o.line.lines() {
                    self.output.push(console_line(stderr, text, ts));
                }
            }
            RecordType::Metric(m) => self.metrics.extend(MetricDefinition::from_record(&m)),
            RecordType::Exit(e) => self.exit_code = Some(e.exit_code),
            _ => {}
        }
    }
}

/// A history record as one file-stream line (`_step` added from the step when missing).
fn line(row: &mut RowEncoder, h: &HistoryRecord) -> String {
    row.clear();
    let has_step = h.item.iter().any(|i| i.key == "_step");
    if let (false, Some(step)) = (has_step, &h.step) {
        row.push("_step", |o| {
            o.push_str(itoa::Buffer::new().format(step.num));
        });
    }
    for item in &h.item {
        let key = if item.key.is_empty() {
            std::borrow::Cow::Owned(item.nested_key.join("."))
        } else {
            std::borrow::Cow::Borrowed(item.key.as_str())
        };
        row.push(&key, |o| o.push_str(&item.value_json));
    }
    let mut out = String::new();
    row.line(&mut out);
    out
}

fn insert_nested(map: &mut IndexMap<String, Value>, key: &str, nested: &[String], value: Value) {
    let path: Vec<&str> = if key.is_empty() {
        nested.iter().map(String::as_str).collect()
    } else {
        vec![key]
    };
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = map;
    for p in parents {
        let entry = at
            .entry((*p).to_owned())
            .or_insert_with(|| Value::Map(IndexMap::new()));
        if !matches!(entry, Value::Map(_)) {
            *entry = Value::Map(IndexMap::new());
        }
        let Value::Map(m) = entry else { return };
        at = m;
    }
    at.insert((*last).to_owned(), value);
}

fn upload(
    contents: Contents,
    run: &RunRecord,
    mut api: wandb_api::Settings,
    options: &SyncOptions,
) -> Result<SyncReport, Error> {
    let mut upsert = upsert_of(run);
    // The options' entity and project, else the log's, else the settings'.
    let pick = |option: &Option<String>, log: &Option<String>, settings: &Option<String>| {
        option
            .clone()
            .or_else(|| log.clone())
            .or_else(|| settings.clone())
    };
    api.entity = pick(&options.entity, &upsert.entity, &api.entity);
    api.project = pick(&options.project, &upsert.project, &api.project);
    upsert.entity.clone_from(&api.entity);
    upsert.project.clone_from(&api.project);
    let stop = Arc::new(AtomicBool::new(false));
    let mut up = Uploader::new(api, upsert, stop, options.retry).map_err(Error::Configuration)?;
    if !contents.metrics.is_empty() {
        up.set_metrics(config_metrics(&contents.metrics));
    }
    let rows = contents.history.len() as u64;
    for l in contents.history {
        up.push_line(l);
    }
    for l in contents.output {
        up.push_output(l);
    }
    let exit_code = contents.exit_code.unwrap_or(1);
    let summary = to_extended_json(&Value::Map(contents.summary));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let deadline = Instant::now() + options.timeout;
    if let Some(e) = rt.block_on(up.finish(summary, exit_code, deadline)) {
        return Err(Error::Sync(format!(
            "the upload of run `{}` did not finish: {e}",
            run.run_id
        )));
    }
    Ok(SyncReport {
        run_id: run.run_id.clone(),
        rows,
        rows_uploaded: up.uploaded,
        exit_code,
    })
}
