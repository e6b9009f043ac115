//! The upload of a run, driven by a current-thread runtime (the writer thread's for live
//! runs, its own for `sync`): the run is created (`upsertBucket`), then requests of the file
//! stream carry what the run's `.wandb` log holds ([`UploadSource`]), from the lines the
//! server holds on.
//!
//! One request is in flight at a time, and the next is read from the log meanwhile (so at
//! most two requests' lines are in memory, whatever the backlog). Requests are bounded by bytes as W&B bounds them
//! (10 MiB); while a backlog is waiting the next request leaves as soon as the previous one
//! is answered, otherwise at most once a second, and a heartbeat keeps an idle stream alive.
//! The server's `RateLimit-*` hints pace requests ([`RateLimiter`]).
//! Errors come in three classes: transient ones (5xx, 429, timeouts, lost connections) are
//! retried with capped backoff for as long as the uploader lives; a request too large for
//! the server (413) is split; permanent ones (400, 401, 403, 404, 409, 422) stop the upload
//! with an error that says what to do, and the log keeps everything for `wandb sync`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json};

use crate::error_class::{ErrorClass, classify};
use crate::file_upload::{FileUploads, FilesOutcome};
use crate::metric::config_metrics;
use crate::proto::RunRecord;
use crate::rate_limiter::RateLimiter;
use crate::upload_source::{Batch, MAX_REQUEST_BYTES, UploadSource};
use wandb_api::{
    Chunk, Client, Error as ApiError, FileStream, Offsets, RetryPolicy, RunUpsert, StreamResponse,
    UpsertedRun, parse_extended_json,
};

/// The longest time `finish_with` waits (on a request in flight, for a retry) before its
/// `tick` again.
const TICK: Duration = Duration::from_millis(100);

/// The default policy of each request: a few quick retries (the uploader retries later).
pub(crate) const REQUEST_RETRY: RetryPolicy = RetryPolicy {
    max_retries: 4,
    min_wait: Duration::from_millis(500),
    max_wait: Duration::from_secs(4),
    timeout: Duration::from_secs(180),
};
/// The shortest time between two requests that are not full, while the run is running.
const INTERVAL: Duration = Duration::from_secs(1);
/// A request with nothing new keeps the stream alive (and hears stop requests).
const HEARTBEAT: Duration = Duration::from_secs(30);
/// The longest wait between attempts after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A request in flight: a task on the runtime, so that it moves on whatever its caller is
/// busy with (the writer thread drains rows meanwhile).
pub(crate) type Flight = tokio::task::JoinHandle<Event>;

/// A finished request.
pub(crate) enum Event {
    /// The run was created or its config updated.
    Upserted(Result<UpsertedRun, ApiError>),
    Sent(Box<FileStream>, Chunk, Result<StreamResponse, ApiError>),
    /// The request's task ended without an answer (it panicked or was cancelled).
    Lost,
}

/// Where the run's file stream is.
enum StreamState {
    /// The run is not created yet: `upsertBucket` comes first.
    NotCreated,
    /// Created, and no request in flight.
    Ready(FileStream),
    /// A request is in flight; the stream travels with it and comes back in its
    /// [`Event::Sent`].
    InFlight,
}

/// The state of a run's upload.
pub(crate) struct Uploader {
    client: Client,
    upsert: RunUpsert,
    stream: StreamState,
    /// The metric definitions changed: the config must be sent again.
    config_changed: bool,
    source: Option<UploadSource>,
    /// Requests built and not yet accepted, oldest first (a failed one goes back in front).
    ready: VecDeque<Chunk>,
    /// The request being put together from the log.
    batch: Batch,
    /// The largest request, halved after each 413.
    max_bytes: usize,
    flight: Option<Flight>,
    /// The server's rate-limit hints, spent per file-stream request.
    limiter: RateLimiter,
    last_sent: Option<Instant>,
    retry_at: Option<Instant>,
    failures: u32,
    /// The last error (transient ones are cleared by a success).
    error: Option<String>,
    /// A permanent error stopped the upload.
    stopped_by: Option<String>,
    /// The exit code was accepted: the upload is complete.
    complete: bool,
    stop: Arc<AtomicBool>,
    retry: RetryPolicy,
    /// Lines the server stored before this log began (a resumed run continues after them).
    stored: Offsets,
    /// The run's files (those of the log's `files` records).
    files: Option<FileUploads>,
    /// At finish: when waiting for file uploads ends and the run is marked finished anyway.
    files_give_up: Option<Instant>,
    /// History rows the server accepted.
    pub(crate) uploaded: u64,
    /// Requests that failed after their own retries and were tried again later.
    requeued: u64,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("uploaded", &self.uploaded)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

impl Uploader {
    pub(crate) fn new(
        api: wandb_api::Settings,
        upsert: RunUpsert,
        stop: Arc<AtomicBool>,
        retry: RetryPolicy,
    ) -> Result<Self, String> {
        let client = Client::builder()
            .settings(api)
            .retry(retry)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Uploader {
            client,
            upsert,
            stream: StreamState::NotCreated,
            config_changed: false,
            source: None,
            ready: VecDeque::new(),
            batch: Batch::default(),
            max_bytes: MAX_REQUEST_BYTES,
            flight: None,
            limiter: RateLimiter::new(Instant::now()),
            last_sent: None,
            retry_at: None,
            failures: 0,
            error: None,
            stopped_by: None,
            complete: false,
            stop,
            retry,
            stored: Offsets::default(),
            files: None,
            files_give_up: None,
            uploaded: 0,
            requeued: 0,
        })
    }

    /// History and console lines continue after `stored` (a resumed run).
    pub(crate) fn with_stored(mut self, stored: Offsets) -> Self {
        self.stored = stored;
        self
    }

    /// Reads what to send from `source`.
    pub(crate) fn with_source(mut self, source: UploadSource) -> Self {
        self.files = Some(FileUploads::new(source.files_dir().to_path_buf()));
        self.source = Some(source);
        self
    }

    /// A `Live` file changed and was copied again.
    pub(crate) fn file_changed(&mut self, name: &str) {
        if let Some(files) = &mut self.files {
            files.changed(name);
        }
    }

    /// What became of the run's files.
    pub(crate) fn files_outcome(&self) -> FilesOutcome {
        self.files
            .as_ref()
            .map(FileUploads::outcome)
            .unwrap_or_default()
    }

    /// Reads the files of the log's `files` records, and moves file uploads on (in tasks of
    /// their own: they never hold up the file stream).
    fn move_files(&mut self, now: Instant) {
        let (Some(files), Some(source)) = (&mut self.files, &mut self.source) else {
            return;
        };
        files.add(source.take_files());
        if source.exit_code().is_some() {
            files.end();
        }
        files.poll(&self.client, now);
    }

    /// Whether the request with the exit code waits for file uploads (at most until the
    /// give-up time that `finish` sets).
    fn exit_waits_for_files(&self, now: Instant) -> bool {
        let exit_next = self
            .ready
            .front()
            .map_or(self.batch.chunk.exit_code.is_some(), |c| {
                c.exit_code.is_some()
            });
        exit_next
            && self.files.as_ref().is_some_and(|f| !f.settled())
            && self.files_give_up.is_none_or(|t| now < t)
    }

    /// The client (for questions such as `resume_status` before the upload starts).
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The source, once the upload is over.
    pub(crate) fn source(&self) -> Option<&UploadSource> {
        self.source.as_ref()
    }

    /// Takes the request in flight (the writer polls it next to its messages).
    pub(crate) fn take_flight(&mut self) -> Option<Flight> {
        self.flight.take()
    }

    /// Puts back a request that has not finished.
    pub(crate) fn put_flight(&mut self, flight: Option<Flight>) {
        self.flight = flight;
    }

    /// Starts the next request if one is due and none is in flight.
    pub(crate) fn start_due(&mut self, now: Instant, finishing: bool) {
        if self.stopped_by.is_some() {
            return;
        }
        // The log first: definitions read with the rows go to the config before the rows.
        // While a request is in flight, the next one is put together.
        let full = !self.complete && {
            let full = self.read_log();
            self.read_metrics();
            full
        };
        if !matches!(self.stream, StreamState::NotCreated) {
            // Files records read so far start their uploads (also after the exit code).
            self.move_files(now);
        }
        if self.complete || self.flight.is_some() || self.retry_at.is_some_and(|t| now < t) {
            return;
        }
        if matches!(self.stream, StreamState::NotCreated) || self.config_changed {
            self.flight = Some(self.upsert());
            return;
        }
        let idle = self.last_sent.map_or(Duration::MAX, |t| now - t);
        let unreported = self.files.as_ref().is_some_and(FileUploads::has_unreported);
        let news = !self.ready.is_empty() || !self.batch.is_empty() || unreported;
        if self.exit_waits_for_files(now) {
            return;
        }
        let due = full
            || !self.ready.is_empty()
            || (news && (finishing || idle >= INTERVAL))
            || idle >= HEARTBEAT;
        if !due || self.limiter.wait(now) > Duration::ZERO {
            return;
        }
        self.limiter.spend(now);
        let StreamState::Ready(stream) = std::mem::replace(&mut self.stream, StreamState::InFlight)
        else {
            return;
        };
        let mut chunk = match self.ready.pop_front() {
            Some(chunk) => chunk,
            None => std::mem::take(&mut self.batch).chunk,
        };
        if let Some(files) = &mut self.files {
            chunk.uploaded.extend(files.take_unreported());
        }
        self.flight = Some(send(stream, chunk));
        self.last_sent = Some(now);
    }

    /// New metric definitions or metadata in the log: config `_wandb.m` or `_wandb.e` is
    /// sent again.
    fn read_metrics(&mut self) {
        let Some(source) = self.source.as_mut() else {
            return;
        };
        let metrics = source.changed_metrics().map(config_metrics);
        let environment = source.changed_environment();
        if metrics.is_none() && environment.is_none() {
            return;
        }
        let config = self.upsert.config.get_or_insert_with(Map::new);
        // `_wandb` is only ever written here (the log's own is left out of the upsert).
        let Json::Object(wandb) = config
            .entry("_wandb")
            .or_insert_with(|| Json::Object(Map::new()))
        else {
            return;
        };
        if let Some(metrics) = metrics {
            wandb.insert("m".into(), metrics);
        }
        if let Some((writer, metadata)) = environment {
            let mut e = Map::new();
            e.insert(writer, metadata);
            wandb.insert("e".into(), Json::Object(e));
        }
        self.config_changed = true;
    }

    /// Reads the log into the batch; a full batch joins the ready requests. Returns whether
    /// more is waiting in the log.
    fn read_log(&mut self) -> bool {
        let Some(source) = &mut self.source else {
            return false;
        };
        if !self.ready.is_empty() {
            return false;
        }
        match source.fill(&mut self.batch, self.max_bytes) {
            Ok(full) => full,
            Err(e) => {
                self.stop_upload(format!(
                    "cannot read the run's log ({e}); the log may be damaged"
                ));
                false
            }
        }
    }

    /// Creates the run, or sends its changed config.
    fn upsert(&mut self) -> Flight {
        let (client, upsert) = (self.client.clone(), self.upsert.clone());
        self.config_changed = false;
        tokio::spawn(async move { Event::Upserted(client.upsert_run(&upsert).await) })
    }

    /// Failed attempts tried again: inside requests, and whole requests later.
    pub(crate) fn retries(&self) -> u64 {
        self.client.retries() + self.requeued
    }

    /// Handles a finished request.
    pub(crate) fn on_event(&mut self, event: Event, now: Instant) {
        match event {
            Event::Upserted(Ok(run)) if matches!(self.stream, StreamState::NotCreated) => {
                self.upsert.storage_id = Some(run.storage_id.clone());
                if let Some(files) = &mut self.files {
                    files.set_target(&run.entity, &run.project, &run.run_id);
                }
                let stream = FileStream::new(
                    self.client.clone(),
                    &run.entity,
                    &run.project,
                    &run.run_id,
                    self.stored,
                );
                self.stream = StreamState::Ready(stream.with_retry(self.retry));
                self.succeeded();
            }
            Event::Upserted(Ok(_)) => self.succeeded(),
            Event::Upserted(Err(e)) => {
                self.config_changed = true;
                self.failed(&e, None, now);
            }
            Event::Lost => self.stop_upload(
                "an upload request ended without an answer (its task failed)".to_owned(),
            ),
            Event::Sent(stream, chunk, result) => {
                self.stream = StreamState::Ready(*stream);
                match result {
                    Ok(response) => {
                        if let Some(hint) = response.rate_limit {
                            self.limiter.observe(hint, now);
                        }
                        self.uploaded += chunk.history.len() as u64;
                        if response.stopped {
                            self.stop.store(true, Ordering::Relaxed);
                        }
                        self.complete = chunk.exit_code.is_some();
                        self.succeeded();
                    }
                    Err(e) => self.failed(&e, Some(chunk), now),
                }
            }
        }
    }

    fn succeeded(&mut self) {
        self.failures = 0;
        self.retry_at = None;
        self.error = None;
    }

    /// A failed request: tried again later (the same lines at the same offsets), split
    /// (413), or the end of the upload (permanent errors).
    fn failed(&mut self, e: &ApiError, chunk: Option<Chunk>, now: Instant) {
        match classify(e) {
            ErrorClass::Permanent => {
                self.stop_upload(format!("W&B refused the upload: {e}"));
                return;
            }
            ErrorClass::TooLarge => match chunk.and_then(split) {
                Some((first, second)) => {
                    self.max_bytes = (self.max_bytes / 2).max(1);
                    self.ready.push_front(second);
                    self.ready.push_front(first);
                    return;
                }
                None => {
                    self.stop_upload(format!(
                        "W&B refused a request as too large even with one row in it: {e}"
                    ));
                    return;
                }
            },
            ErrorClass::Transient => {}
        }
        // A failed heartbeat carries nothing to send again: the next request is the rows.
        if let Some(chunk) = chunk.filter(|c| !c.is_heartbeat()) {
            self.ready.push_front(chunk);
        }
        tracing::warn!(error = %e, "upload failed; retrying later (the local log has every row)");
        self.failures += 1;
        self.requeued += 1;
        let wait = self
            .retry
            .min_wait
            .saturating_mul(1 << self.failures.min(10))
            .min(MAX_BACKOFF);
        self.retry_at = Some(now + wait);
        self.error = Some(e.to_string());
    }

    fn stop_upload(&mut self, why: String) {
        tracing::error!(reason = %why, "the upload stopped; the local log has every row: upload it later with `wandb sync`");
        self.stopped_by = Some(why);
    }

    /// Sends what the log holds up to its exit record, until `deadline`. Returns why the
    /// upload is incomplete, if it is.
    pub(crate) async fn finish(&mut self, deadline: Instant) -> Option<String> {
        self.finish_with(deadline, |_, _| {}).await
    }

    /// Why the upload waits: the last transient error while its retry is due.
    pub(crate) fn waiting(&self) -> Option<&str> {
        self.retry_at.and(self.error.as_deref())
    }

    /// As [`Uploader::finish`], showing `tick` the uploader at every turn of its loop (at
    /// least every [`TICK`], also while a request is in flight or a retry waits).
    pub(crate) async fn finish_with(
        &mut self,
        deadline: Instant,
        mut tick: impl FnMut(&Uploader, Instant),
    ) -> Option<String> {
        // Failures before finish must not delay the last attempt.
        let now = Instant::now();
        self.retry_at = self.retry_at.map(|t| t.min(now));
        // File uploads get three quarters of the time left; then the run is marked finished
        // and what did not upload is reported.
        self.files_give_up = Some(now + deadline.saturating_duration_since(now) / 4 * 3);
        while !self.complete && self.stopped_by.is_none() {
            let now = Instant::now();
            tick(self, now);
            if now >= deadline {
                let why = self
                    .error
                    .as_deref()
                    .unwrap_or("the server did not answer in time");
                return Some(format!("the upload did not finish in time ({why})"));
            }
            // Not while a request is in flight (back early for `tick` only): the next
            // request is read once this one is answered, so a sync holds one request's lines.
            if self.flight.is_none() {
                self.start_due(now, true);
            }
            let Some(mut flight) = self.flight.take() else {
                // Waiting for a retry, the rate limit, or the end of the log to be written.
                let soon = now + self.limiter.wait(now).max(Duration::from_millis(5));
                // Back at least every TICK for `tick`, also during a long backoff.
                let wake = self.retry_at.unwrap_or(soon).min(deadline).min(now + TICK);
                tokio::time::sleep_until(wake.into()).await;
                continue;
            };
            // Back at least every TICK while a request is in flight, for `tick`.
            let until = deadline.min(now + TICK);
            match tokio::time::timeout_at(until.into(), &mut flight).await {
                Ok(answer) => self.on_event(answer.unwrap_or(Event::Lost), Instant::now()),
                Err(_) => self.flight = Some(flight),
            }
        }
        self.stopped_by.clone()
    }
}

fn send(mut stream: FileStream, chunk: Chunk) -> Flight {
    tokio::spawn(async move {
        let result = stream.send(&chunk).await;
        Event::Sent(Box::new(stream), chunk, result)
    })
}

/// A request in two halves (the summary and exit code go with the second); `None` for a
/// request of one line or less.
fn split(mut chunk: Chunk) -> Option<(Chunk, Chunk)> {
    let lines = chunk.history.len() + chunk.output.len() + chunk.events.len();
    if lines <= 1 {
        return None;
    }
    let history = chunk.history.split_off(chunk.history.len() / 2);
    let output = chunk.output.split_off(chunk.output.len() / 2);
    let events = chunk.events.split_off(chunk.events.len() / 2);
    let second = Chunk {
        history,
        output,
        events,
        summary: chunk.summary.take(),
        exit_code: chunk.exit_code.take(),
        ..Chunk::default()
    };
    Some((chunk, second))
}

/// The `upsertBucket` that creates the run a `.wandb` run record describes.
pub(crate) fn upsert_of(run: &RunRecord) -> RunUpsert {
    let text = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let config = run.config.as_ref().map(|c| {
        c.update
            .iter()
            .filter(|i| !i.key.is_empty() && i.key != "_wandb")
            .map(|i| {
                let v = parse_extended_json(&i.value_json).unwrap_or_default();
                (i.key.clone(), v.to_json())
            })
            .collect()
    });
    RunUpsert {
        run_id: Some(run.run_id.clone()),
        entity: text(&run.entity),
        project: text(&run.project),
        display_name: text(&run.display_name),
        notes: text(&run.notes),
        tags: Some(run.tags.clone()),
        group: text(&run.run_group),
        job_type: text(&run.job_type),
        sweep: text(&run.sweep_id),
        host: text(&run.host),
        repo: run.git.as_ref().and_then(|g| text(&g.remote_url)),
        commit: run.git.as_ref().and_then(|g| text(&g.commit)),
        config,
        ..RunUpsert::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uploader() -> Uploader {
        let api = wandb_api::Settings::builder()
            .base_url("http://127.0.0.1:9")
            .api_key("local-0123456789012345678901234567890123456789")
            .resolve_with(|_| None, None)
            .expect("settings");
        let stop = Arc::new(AtomicBool::new(false));
        Uploader::new(api, RunUpsert::default(), stop, REQUEST_RETRY).expect("uploader")
    }

    #[test]
    fn the_run_is_created_first_and_a_failed_request_waits_for_its_retry() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let _inside = rt.enter();
        let mut up = uploader();
        let now = Instant::now();
        up.start_due(now, false);
        assert!(up.flight.is_some(), "the run is created first");
        up.flight = None;
        up.stream = StreamState::NotCreated;
        up.last_sent = Some(now);
        up.retry_at = Some(now + Duration::from_secs(5));
        up.start_due(now, false);
        assert!(up.flight.is_none(), "no request before a retry is due");
    }

    #[test]
    fn errors_fall_in_three_classes() {
        let http = |status| ApiError::Http {
            status,
            body: String::new(),
        };
        for status in [400, 401, 403, 404, 409, 422] {
            assert_eq!(classify(&http(status)), ErrorClass::Permanent, "{status}");
        }
        assert_eq!(classify(&http(413)), ErrorClass::TooLarge);
        for status in [408, 429, 500, 502, 503, 504] {
            assert_eq!(classify(&http(status)), ErrorClass::Transient, "{status}");
        }
        assert_eq!(
            classify(&ApiError::Timeout(Duration::from_secs(1))),
            ErrorClass::Transient
        );
        assert_eq!(classify(&ApiError::Unauthorized), ErrorClass::Permanent);
    }

    #[test]
    fn a_split_keeps_every_line_once_and_the_end_last() {
        let chunk = Chunk {
            history: (0..5).map(|i| format!("{{\"_step\":{i}}}")).collect(),
            output: vec!["a".into(), "b".into()],
            summary: Some("{}".into()),
            exit_code: Some(0),
            ..Chunk::default()
        };
        let (a, b) = split(chunk.clone()).expect("splits");
        assert_eq!(
            [a.history.clone(), b.history.clone()].concat(),
            chunk.history
        );
        assert_eq!([a.output.clone(), b.output.clone()].concat(), chunk.output);
        assert_eq!((a.exit_code, a.summary), (None, None));
        assert_eq!((b.exit_code, b.summary.as_deref()), (Some(0), Some("{}")));
        let one = Chunk {
            history: vec!["{}".into()],
            ..Chunk::default()
        };
        assert!(split(one).is_none());
    }
}
