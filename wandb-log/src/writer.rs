//! The background writer: one named thread that writes the `.wandb` log first and, for
//! online runs, uploads through the file stream on its own current-thread runtime.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use wandb_api::{Chunk, Client, FileStream, Offsets, RetryPolicy, RunUpsert, to_extended_json};
use wandb_sweep::Value;

use crate::error::Error;
use crate::offline_run::{OfflineRun, RunInfo, console_line, history_row, unix_now};
use crate::settings::{Mode, RunSettings};
use crate::step::Committed;

/// Upload at least this often while rows come in.
const UPLOAD_INTERVAL: Duration = Duration::from_secs(15);
/// Upload as soon as this many rows are waiting.
const UPLOAD_ROWS: usize = 5_000;
/// Retries for a running upload: bounded, so that `finish` returns even when the server is
/// down (the local log keeps everything for `wandb sync`).
const ONLINE_RETRY: RetryPolicy = RetryPolicy {
    max_retries: 4,
    min_wait: Duration::from_millis(500),
    max_wait: Duration::from_secs(4),
    timeout: Duration::from_secs(10),
};

/// What the logging side sends the writer.
pub(crate) enum Message {
    /// A batch of rows is waiting in the outbox.
    Wake,
    Flush(Sender<std::io::Result<u64>>),
    Finish {
        exit_code: i32,
        /// Why the run failed: one stderr console line.
        error: Option<String>,
        summary: Value,
        runtime: i32,
        done: Sender<std::io::Result<Finished>>,
    },
}

/// What the writer reports at the end.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) written: u64,
    pub(crate) upload_error: Option<String>,
}

/// Committed rows with their timestamps, shared by the logging side and the writer.
pub(crate) type Outbox = Arc<Mutex<Vec<(Committed, f64)>>>;

/// How often the writer drains the outbox when no batch fills up.
const DRAIN_INTERVAL: Duration = Duration::from_millis(200);

/// The handle to the writer thread.
#[derive(Debug)]
pub(crate) struct WriterHandle {
    pub(crate) tx: Sender<Message>,
    pub(crate) outbox: Outbox,
    pub(crate) handle: JoinHandle<()>,
    pub(crate) dir: PathBuf,
}

/// Uploading state of an online run.
struct Upload {
    rt: Option<tokio::runtime::Runtime>,
    stream: Option<FileStream>,
    waiting: Vec<String>,
    /// Console lines waiting (`output.log`).
    output: Vec<String>,
    error: Option<String>,
    stop: Arc<AtomicBool>,
}

struct Writer {
    log: OfflineRun,
    t0: f64,
    written: u64,
    failed: Option<std::io::Error>,
    last: IndexMap<String, Value>,
    upload: Option<Upload>,
    outbox: Outbox,
    since_upload: Instant,
}

/// Starts the writer: creates the run directory and, online, the run on the server.
pub(crate) fn spawn(
    settings: &RunSettings,
    config: &Value,
    api: Option<wandb_api::Settings>,
    stop: Arc<AtomicBool>,
) -> Result<WriterHandle, Error> {
    let info = RunInfo {
        run_id: settings.run_id.clone(),
        entity: settings.entity.clone(),
        project: settings.project.clone(),
        display_name: settings.name.clone(),
        group: settings.group.clone(),
        job_type: settings.job_type.clone(),
        notes: settings.notes.clone(),
        tags: settings.tags.clone(),
        sweep_id: settings.sweep_id.clone(),
        config: config.clone(),
    };
    let t0 = unix_now();
    #[expect(
        clippy::cast_possible_truncation,
        reason = "seconds since 1970 fit i64"
    )]
    let start = t0 as i64;
    let log = if settings.mode == Mode::Online {
        OfflineRun::create_online(&settings.dir, &info, start)?
    } else {
        OfflineRun::create(&settings.dir, &info, start)?
    };
    let dir = log.dir().to_path_buf();
    let (tx, rx) = mpsc::channel::<Message>();
    let stop_flag = stop;
    let outbox: Outbox = Arc::default();
    let shared = Arc::clone(&outbox);
    let handle = std::thread::Builder::new()
        .name("wandb-writer".into())
        .spawn(move || {
            // The run is created on the server from this thread: `init` never waits on the network.
            let upload = api.map(|api| start_upload(api, &info, stop_flag));
            let mut writer = Writer {
                log,
                t0,
                written: 0,
                failed: None,
                last: IndexMap::new(),
                upload,
                outbox: shared,
                since_upload: Instant::now(),
            };
            writer.run(&rx);
        })?;
    Ok(WriterHandle {
        tx,
        outbox,
        handle,
        dir,
    })
}

fn start_upload(api: wandb_api::Settings, info: &RunInfo, stop: Arc<AtomicBool>) -> Upload {
    let failed = |rt, e: String| Upload {
        rt,
        stream: None,
        waiting: Vec::new(),
        output: Vec::new(),
        error: Some(e),
        stop: Arc::clone(&stop),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => return failed(None, format!("cannot start the upload runtime: {e}")),
    };
    let client = match Client::builder().settings(api).retry(ONLINE_RETRY).build() {
        Ok(c) => c,
        Err(e) => return failed(rt, e.to_string()),
    };
    let config = match &info.config {
        Value::Map(m) => Some(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        _ => None,
    };
    let upsert = RunUpsert {
        run_id: Some(info.run_id.clone()),
        entity: info.entity.clone(),
        project: info.project.clone(),
        display_name: info.display_name.clone(),
        notes: info.notes.clone(),
        tags: Some(info.tags.clone()),
        group: info.group.clone(),
        job_type: info.job_type.clone(),
        sweep: info.sweep_id.clone(),
        config,
        ..RunUpsert::default()
    };
    let Some(runtime) = &rt else {
        return failed(rt, "no runtime".into());
    };
    let (stream, error) = match runtime.block_on(client.upsert_run(&upsert)) {
        Ok(run) => {
            let offsets = Offsets {
                history: run.history_line_count,
                ..Offsets::default()
            };
            (
                Some(
                    FileStream::new(client, &run.entity, &run.project, &run.run_id, offsets)
                        .with_retry(ONLINE_RETRY),
                ),
                None,
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot create the run on W&B; logging locally only");
            (None, Some(e.to_string()))
        }
    };
    Upload {
        rt,
        stream,
        waiting: Vec::new(),
        output: Vec::new(),
        error,
        stop,
    }
}

impl Writer {
    fn run(&mut self, rx: &Receiver<Message>) {
        loop {
            let message = rx.recv_timeout(DRAIN_INTERVAL);
            self.drain();
            match message {
                Ok(Message::Wake) => {}
                Ok(Message::Flush(done)) => {
                    self.send(None, None);
                    let result = match self.failed.take() {
                        Some(e) => Err(e),
                        None => self.log.flush().map(|()| self.written),
                    };
                    let _ = done.send(result);
                }
                Ok(Message::Finish {
                    exit_code,
                    error,
                    summary,
                    runtime,
                    done,
                }) => {
                    let _ = done.send(self.finish(exit_code, error, summary, runtime));
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if self.since_upload.elapsed() >= UPLOAD_INTERVAL {
                        self.send(None, None);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Takes every row waiting in the outbox.
    fn drain(&mut self) {
        let rows = std::mem::take(
            &mut *self
                .outbox
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if !rows.is_empty() {
            self.rows(rows);
        }
    }

    fn rows(&mut self, rows: Vec<(Committed, f64)>) {
        for (row, ts) in rows {
            let step = i64::try_from(row.step).unwrap_or(i64::MAX);
            let values = Value::Map(row.values);
            match self.log.history(step, &values, ts - self.t0, ts) {
                Ok(()) => self.written += 1,
                Err(e) => self.failed = Some(e),
            }
            if let Some(up) = &mut self.upload {
                up.waiting
                    .push(history_row(step, &values, ts - self.t0, ts));
            }
            if let Value::Map(m) = values {
                self.last.extend(m);
            }
        }
        if self
            .upload
            .as_ref()
            .is_some_and(|u| u.waiting.len() >= UPLOAD_ROWS)
        {
            self.send(None, None);
        }
    }

    /// The local log first: summary and exit record, then the final upload.
    fn finish(
        &mut self,
        exit_code: i32,
        error: Option<String>,
        summary: Value,
        runtime: i32,
    ) -> std::io::Result<Finished> {
        if let Some(message) = error {
            let now = unix_now();
            self.log.output(true, &message, now)?;
            if let Some(up) = &mut self.upload {
                up.output.push(console_line(true, &message, now));
            }
        }
        if let Value::Map(explicit) = summary {
            self.last.extend(explicit);
        }
        let summary = Value::Map(self.last.clone());
        self.log.summary(&summary)?;
        self.log.exit(exit_code, runtime)?;
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.send(Some(to_extended_json(&summary)), Some(exit_code));
        Ok(Finished {
            written: self.written,
            upload_error: self.upload.as_mut().and_then(|u| u.error.take()),
        })
    }

    /// Sends the waiting rows (and the summary and exit code at the end) through the file
    /// stream. After a failure the stream is given up; the local log has everything.
    fn send(&mut self, summary: Option<String>, exit_code: Option<i32>) {
        let Some(up) = &mut self.upload else { return };
        let (Some(rt), Some(stream)) = (&up.rt, &mut up.stream) else {
            return;
        };
        if up.waiting.is_empty() && summary.is_none() && exit_code.is_none() {
            return;
        }
        let chunk = Chunk {
            history: std::mem::take(&mut up.waiting),
            output: std::mem::take(&mut up.output),
            summary,
            exit_code,
            ..Chunk::default()
        };
        match rt.block_on(stream.send(&chunk)) {
            Ok(response) => {
                if response.stopped {
                    up.stop.store(true, Ordering::Relaxed);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "upload failed; the run stays in its local log for `wandb sync`");
                up.error = Some(e.to_string());
                up.stream = None;
            }
        }
    }
}
