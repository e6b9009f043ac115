//! Uploading a run directory's `.wandb` log to W&B, as `wandb sync` does, with the same
//! uploader as live runs: it asks the server where the run's history stands, sends the rest
//! of the log as a stream (bounded memory at any size), exactly once by offset, and marks
//! the log synced (`run-<id>.wandb.synced`, as the official client does) so that both tools
//! skip it next time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use wandb_api::{Offsets, RetryPolicy};

use crate::error::Error;
use crate::proto::RunRecord;
use crate::sync_progress::{Reporter, SyncProgress, SyncProgressFn};
use crate::upload_source::UploadSource;
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
    /// History rows the server held already (a sync that was cut short, or a second one).
    pub rows_on_server: u64,
    /// The log was marked synced: nothing was sent (see [`SyncOptions::include_synced`]).
    pub already_synced: bool,
    /// The run files uploaded (those of the log's `files` records, and `output.log`).
    pub files_uploaded: Vec<String>,
    /// The run files that did not upload, each with why.
    pub file_errors: Vec<(String, String)>,
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
    /// How long the whole upload may take (default: a week, as W&B's file stream retries).
    pub timeout: Duration,
    /// Sync a log marked synced again (the server's rows are still not sent twice).
    pub include_synced: bool,
    /// Told where the upload stands every so often, and once at its end (default: none).
    pub progress: Option<SyncProgressFn>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            entity: None,
            project: None,
            retry: REQUEST_RETRY,
            timeout: Duration::from_secs(7 * 24 * 3600),
            include_synced: false,
            progress: None,
        }
    }
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
    let file = log_file(dir)?;
    let mut source = UploadSource::open(&file, true)?;
    let run = source
        .read_run()?
        .cloned()
        .ok_or_else(|| Error::Sync(format!("{} has no run record", dir.display())))?;
    let marker = synced_marker(&file);
    if marker.exists() && !options.include_synced {
        return Ok(SyncReport {
            run_id: run.run_id,
            rows: 0,
            rows_uploaded: 0,
            exit_code: 0,
            rows_on_server: 0,
            already_synced: true,
            files_uploaded: Vec::new(),
            file_errors: Vec::new(),
        });
    }
    let options = options.clone();
    let report = std::thread::spawn(move || upload(source, &run, api, &options))
        .join()
        .map_err(|_| Error::Sync("the upload stopped unexpectedly".into()))??;
    std::fs::write(&marker, b"")?;
    Ok(report)
}

/// `run-<id>.wandb.synced`, beside the log: the official client's mark of a synced log.
fn synced_marker(log: &Path) -> PathBuf {
    let mut name = log.file_name().unwrap_or_default().to_os_string();
    name.push(".synced");
    log.with_file_name(name)
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

fn upload(
    mut source: UploadSource,
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let up =
        Uploader::new(api.clone(), upsert, stop, options.retry).map_err(Error::Configuration)?;
    // Where the server stands: the lines it holds are not sent again.
    let held = rt
        .block_on(up.client().resume_status(
            api.entity.as_deref(),
            api.project.as_deref(),
            &run.run_id,
        ))
        .or_else(|e| match e {
            // No such project (or run) yet: the server holds nothing of it.
            wandb_api::Error::NotFound { .. } => Ok(None),
            e => Err(Error::Sync(format!(
                "cannot ask W&B where run `{}` stands: {e}",
                run.run_id
            ))),
        })?;
    let stored = held.map_or_else(Offsets::default, |s| Offsets {
        history: s.history_line_count,
        events: s.events_line_count,
        output: s.log_line_count,
    });
    source.skip(stored);
    let mut up = up.with_stored(stored).with_source(source);
    let deadline = Instant::now() + options.timeout;
    let mut reporter = Reporter::new(options.progress.clone(), Instant::now());
    let progress = |up: &Uploader| SyncProgress {
        run_id: run.run_id.clone(),
        rows_uploaded: up.uploaded,
        rows_read: up.source().map_or(0, |s| s.rows),
        rows_on_server: stored.history,
        waiting: up.waiting().map(str::to_owned),
        done: false,
    };
    let unfinished = rt.block_on(up.finish_with(deadline, |up, now| {
        reporter.tick(now, || progress(up));
    }));
    reporter.done(progress(&up));
    if let Some(e) = unfinished {
        return Err(Error::Sync(format!(
            "the upload of run `{}` did not finish: {e}",
            run.run_id
        )));
    }
    let source = up.source();
    let files = up.files_outcome();
    Ok(SyncReport {
        run_id: run.run_id.clone(),
        rows: source.map_or(0, |s| s.rows),
        rows_uploaded: up.uploaded,
        exit_code: source.and_then(UploadSource::exit_code).unwrap_or(1),
        rows_on_server: stored.history,
        already_synced: false,
        files_uploaded: files.uploaded,
        file_errors: files.failed,
    })
}
