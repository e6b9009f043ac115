//! The background writer: one named thread with a current-thread tokio runtime. It takes
//! committed rows from the outbox, writes them to the `.wandb` log first and, for online
//! runs, hands them to the [`Uploader`] whose requests run on the same runtime.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use wandb_api::RetryPolicy;
use wandb_sweep::Value;

use crate::console::ConsoleLine;
use crate::error::Error;
use crate::file_upload::{FilesOutcome, OUTPUT_LOG};
use crate::history::HistoryWriter;
use crate::offline_run::{OfflineRun, RunInfo, run_record, unix_now};
use crate::origin::Origin;
use crate::outbox::{Batch, Outbox};
use crate::save::{SavedFile, SavedFiles};
use crate::settings::{Mode, RunSettings};
use crate::upload_source::UploadSource;
use crate::uploader::{Event, Uploader, upsert_of};

/// How often the writer looks at the outbox when no batch fills up.
const DRAIN_INTERVAL: Duration = Duration::from_millis(200);

/// What the logging side sends the writer.
#[derive(Debug)]
pub(crate) enum Message {
    /// A batch of rows is waiting in the outbox.
    Wake,
    Flush(Sender<io::Result<u64>>),
    Finish(Finish),
    /// Console output lines.
    Console(Vec<ConsoleLine>),
    /// Files saved with the run.
    Files(Vec<SavedFile>),
    /// A sample of the system metrics (from the `wandb-system` thread).
    Stats(crate::proto::StatsRecord),
    /// The run's metadata (from the `wandb-system` thread).
    Environment(Box<crate::metadata::Environment>),
}

/// The end of the run.
#[derive(Debug)]
pub(crate) struct Finish {
    pub(crate) exit_code: i32,
    /// Why the run failed: one stderr console line.
    pub(crate) error: Option<String>,
    /// Explicit summary values.
    pub(crate) summary: IndexMap<String, Value>,
    pub(crate) runtime: i32,
    /// When the upload must be over.
    pub(crate) deadline: Instant,
    pub(crate) done: Sender<io::Result<Finished>>,
}

/// What the writer reports at the end.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) written: u64,
    /// Online: history rows the server accepted, and failed requests tried again.
    pub(crate) uploaded: Option<(u64, u64)>,
    pub(crate) summary: serde_json::Value,
    pub(crate) upload_error: Option<String>,
    pub(crate) files: FilesOutcome,
}

/// How an online run reaches the server.
#[derive(Debug)]
pub(crate) struct Online {
    pub(crate) api: wandb_api::Settings,
    pub(crate) retry: RetryPolicy,
    /// The stored state of a resumed run.
    pub(crate) resumed: Option<wandb_api::ResumeState>,
}

/// A write the log refused, kept to be returned again.
#[derive(Debug)]
struct WriteFailure {
    kind: io::ErrorKind,
    message: String,
}

impl From<&io::Error> for WriteFailure {
    fn from(e: &io::Error) -> Self {
        WriteFailure {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl WriteFailure {
    /// The error again, with how many rows made it into the log.
    fn error(&self, written: u64) -> io::Error {
        io::Error::new(
            self.kind,
            format!(
                "{}; the log holds the first {written} rows, later rows were not written (free disk space and check the run directory)",
                self.message
            ),
        )
    }
}

/// The handle to the writer thread.
#[derive(Debug)]
pub(crate) struct WriterHandle {
    pub(crate) tx: UnboundedSender<Message>,
    pub(crate) handle: JoinHandle<()>,
    pub(crate) dir: PathBuf,
}

struct Writer {
    log: OfflineRun,
    history: HistoryWriter,
    /// The first record the log refused (a full disk): kept, and returned by every later
    /// `flush` and by `finish`, since what it refused is lost.
    failed: Option<WriteFailure>,
    upload: Option<Uploader>,
    outbox: Arc<Outbox>,
    spare: Batch,
    /// How many rows were written when the summary was last recorded.
    summarised: u64,
    /// The `End` and `Live` files saved with the run.
    saved: SavedFiles,
    /// `files/output.log`: the console text, once there is some.
    output_log: Option<io::BufWriter<std::fs::File>>,
    /// The run's `files/`.
    files_dir: PathBuf,
}

/// Starts the writer: creates the run directory and the thread (the run is created on the
/// server from the thread: `init` never waits on the network).
pub(crate) fn spawn(
    settings: &RunSettings,
    config: &Value,
    origin: &Origin,
    online: Option<Online>,
    stop: Arc<AtomicBool>,
    outbox: Arc<Outbox>,
) -> Result<WriterHandle, Error> {
    let info = run_info(settings, config, origin);
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
    // Requests run as tasks on the runtime's own worker thread, so that they move on while
    // this thread is busy writing rows (a run that logs without pause).
    let runtime = match online {
        Some(_) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("wandb-upload")
            .enable_all()
            .build()?,
        None => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
    };
    let (tx, rx) = unbounded_channel();
    let upload = match online {
        Some(o) => {
            let mut upsert = upsert_of(&run_record(&info, start));
            upsert.program = Some(origin.program.clone()).filter(|p| !p.is_empty());
            let mut stored = wandb_api::Offsets::default();
            if let Some(state) = &o.resumed {
                crate::resume::continue_run(&mut upsert, state);
                stored.history = state.history_line_count;
                stored.events = state.events_line_count;
                stored.output = state.log_line_count;
            }
            let up = Uploader::new(o.api, upsert, stop, o.retry).map_err(Error::Configuration)?;
            let source = UploadSource::open(log.log_path(), false)?;
            Some(up.with_stored(stored).with_source(source))
        }
        None => None,
    };
    let writer = Writer {
        log,
        history: HistoryWriter::new(t0),
        failed: None,
        upload,
        outbox: Arc::clone(&outbox),
        spare: Batch::default(),
        summarised: 0,
        saved: SavedFiles::default(),
        output_log: None,
        files_dir: dir.join("files"),
    };
    let handle = std::thread::Builder::new()
        .name("wandb-writer".into())
        .spawn(move || {
            let _closed = CloseOnExit(outbox);
            runtime.block_on(writer.run(rx));
        })?;
    Ok(WriterHandle { tx, handle, dir })
}

/// Closes the outbox when the writer thread ends, however it ends.
struct CloseOnExit(Arc<Outbox>);

impl Drop for CloseOnExit {
    fn drop(&mut self) {
        self.0.close();
    }
}

fn run_info(settings: &RunSettings, config: &Value, origin: &Origin) -> RunInfo {
    RunInfo {
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
        host: Some(origin.host.clone()).filter(|h| !h.is_empty()),
        git: origin.git.clone(),
    }
}

/// What woke the writer.
enum Wakeup {
    Message(Option<Message>),
    Upload(Event),
    Tick,
}

impl Writer {
    async fn run(mut self, mut rx: UnboundedReceiver<Message>) {
        loop {
            let mut flight = self.upload.as_mut().and_then(Uploader::take_flight);
            let wakeup = {
                let upload = async {
                    match flight.as_mut() {
                        Some(f) => f.await.unwrap_or(Event::Lost),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    m = rx.recv() => Wakeup::Message(m),
                    e = upload => Wakeup::Upload(e),
                    () = tokio::time::sleep(DRAIN_INTERVAL) => Wakeup::Tick,
                }
            };
            if matches!(wakeup, Wakeup::Upload(_)) {
                flight = None;
            }
            if let Some(up) = &mut self.upload {
                up.put_flight(flight);
            }
            self.drain();
            match wakeup {
                Wakeup::Message(Some(Message::Finish(finish))) => {
                    let done = finish.done.clone();
                    let _gone = done.send(self.finish(finish).await);
                    return;
                }
                Wakeup::Message(None) => return,
                Wakeup::Message(Some(Message::Flush(done))) => {
                    let _gone = done.send(self.flush());
                }
                Wakeup::Upload(event) => {
                    if let Some(up) = &mut self.upload {
                        up.on_event(event, Instant::now());
                    }
                }
                Wakeup::Message(Some(Message::Stats(stats))) => {
                    self.system(|log| crate::system_metrics::write(log, stats));
                }
                Wakeup::Message(Some(Message::Environment(env))) => {
                    self.system(|log| crate::metadata::write(log, &env));
                }
                Wakeup::Message(Some(Message::Wake)) => {}
                Wakeup::Message(Some(Message::Console(lines))) => self.console(&lines),
                Wakeup::Message(Some(Message::Files(files))) => self.files(files),
                Wakeup::Tick => self.checkpoint(),
            }
            self.live_files();
            if let Some(up) = &mut self.upload {
                up.start_due(Instant::now(), false);
            }
        }
    }

    /// Writes every row waiting in the outbox.
    fn drain(&mut self) {
        self.outbox.take(&mut self.spare);
        if self.spare.is_empty() {
            return;
        }
        let defined = self.history.learn(&mut self.spare);
        for def in &defined {
            self.keep(|w| w.log.metric(def.record()));
        }
        for path in std::mem::take(&mut self.spare.files) {
            self.keep(|w| w.log.media_file(path));
        }
        let Writer {
            log,
            history,
            failed,
            spare,
            ..
        } = self;
        if let Err(e) = history.write(spare, log)
            && failed.is_none()
        {
            let failure = WriteFailure::from(&e);
            self.outbox.set_refused(failure.message.clone());
            *failed = Some(failure);
        }
        if self.upload.is_some() {
            // The upload reads the log: what is written goes to the file now (a failed
            // write stays pending and is tried again).
            let _retried = self.log.flush();
        }
    }

    /// Console lines: `output_raw` records, and the text in `files/output.log`.
    fn console(&mut self, lines: &[ConsoleLine]) {
        for line in lines {
            self.keep(|w| w.log.output(line.stderr, &line.text, line.timestamp));
        }
        if self.output_log.is_none() {
            let path = self.files_dir.join(OUTPUT_LOG);
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                Ok(f) => self.output_log = Some(io::BufWriter::new(f)),
                Err(e) => return self.keep(|_| Err(e)),
            }
        }
        if let Some(out) = &mut self.output_log {
            let written = lines.iter().try_for_each(|l| {
                use io::Write;
                out.write_all(l.text.as_bytes())?;
                out.write_all(b"\n")
            });
            self.keep(|_| written);
        }
    }

    /// Files saved with the run: a `files` record; `End` and `Live` files are remembered.
    fn files(&mut self, files: Vec<SavedFile>) {
        let items = files.iter().map(SavedFile::item).collect();
        self.keep(|w| w.log.files(items));
        for file in files {
            self.saved.add(file);
        }
    }

    /// Copies the `Live` files that changed, for their upload.
    fn live_files(&mut self) {
        for name in self.saved.changed(&self.files_dir, Instant::now()) {
            if let Some(up) = &mut self.upload {
                up.file_changed(&name);
            }
        }
    }

    /// When idle: the summary so far, and everything buffered, go to the file, so that the
    /// log of a killed process syncs with its summary and all but its last moments.
    fn checkpoint(&mut self) {
        if self.summarised != self.history.written() {
            self.summarised = self.history.written();
            let summary = Value::Map(self.history.summary());
            self.keep(|w| w.log.summary(&summary));
        }
        // A failed write stays pending: it is tried again, and reported by `flush`.
        let _retried = self.log.flush();
        if let Some(out) = &mut self.output_log {
            let _retried_at_finish = io::Write::flush(out);
        }
    }

    /// Writes what the `wandb-system` thread sent; online, it goes to the file at once for
    /// the upload to read.
    fn system(&mut self, write: impl FnOnce(&mut OfflineRun) -> io::Result<()>) {
        self.keep(|w| write(&mut w.log));
        if self.upload.is_some() {
            let _retried = self.log.flush();
        }
    }

    /// Runs a local write, keeping its first error for the next flush or finish.
    fn keep(&mut self, write: impl FnOnce(&mut Self) -> io::Result<()>) {
        if let Err(e) = write(self)
            && self.failed.is_none()
        {
            self.failed = Some(WriteFailure::from(&e));
        }
    }

    fn flush(&mut self) -> io::Result<u64> {
        if let Some(failure) = &self.failed {
            return Err(failure.error(self.history.written()));
        }
        self.log.flush()?;
        Ok(self.history.written())
    }

    /// The local log first (console line, summary, exit record), then the last upload.
    async fn finish(&mut self, f: Finish) -> io::Result<Finished> {
        let now = unix_now();
        if let Some(message) = &f.error {
            // As console output: in the log and in `files/output.log`.
            let lines: Vec<ConsoleLine> = message
                .lines()
                .map(|text| ConsoleLine {
                    stderr: true,
                    text: text.to_owned(),
                    timestamp: now,
                })
                .collect();
            self.console(&lines);
        }
        let mut summary = self.history.summary();
        summary.extend(f.summary);
        let summary = Value::Map(summary);
        self.keep(|w| w.log.summary(&summary));
        if let Some(out) = &mut self.output_log {
            let flushed = io::Write::flush(out);
            self.keep(|_| flushed);
        }
        // The last version of the `End` and `Live` files, before the exit record.
        self.saved.copy_final(&self.files_dir);
        self.keep(|w| w.log.exit(f.exit_code, f.runtime));
        self.log.flush()?;
        if let Some(failure) = &self.failed {
            return Err(failure.error(self.history.written()));
        }
        let upload_error = match &mut self.upload {
            Some(up) => up.finish(f.deadline).await,
            None => None,
        };
        Ok(Finished {
            written: self.history.written(),
            uploaded: self.upload.as_ref().map(|u| (u.uploaded, u.retries())),
            summary: summary.to_json(),
            upload_error,
            files: self
                .upload
                .as_ref()
                .map(Uploader::files_outcome)
                .unwrap_or_default(),
        })
    }
}
