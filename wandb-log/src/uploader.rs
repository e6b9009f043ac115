//! The upload of an online run, driven by the writer thread's runtime: the run is created
//! (upsertBucket) and rows stream out (file stream) while the writer keeps writing the
//! local log. One request is in flight at a time; rows that arrive meanwhile join the next
//! one, so requests grow with time, not with rows. A failed request is retried later with
//! the rows that joined it, at the same offsets; while the run is running it never gives up.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json};

use crate::proto::RunRecord;
use wandb_api::{
    Chunk, Client, Error as ApiError, FileStream, Offsets, RetryPolicy, RunUpsert, StreamResponse,
    UpsertedRun, parse_extended_json,
};

/// The default policy of each request: a few quick retries (the uploader retries later).
pub(crate) const REQUEST_RETRY: RetryPolicy = RetryPolicy {
    max_retries: 4,
    min_wait: Duration::from_millis(500),
    max_wait: Duration::from_secs(4),
    timeout: Duration::from_secs(10),
};
/// The shortest time between two requests while the run is running.
const INTERVAL: Duration = Duration::from_secs(1);
/// A request with nothing new keeps the stream alive (and hears stop requests).
const HEARTBEAT: Duration = Duration::from_secs(30);
/// The longest wait between attempts after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// History lines in one request.
const MAX_LINES: usize = 10_000;
/// Lines kept for a server that does not answer (about 40 MB of 10-metric rows); past this
/// the stream is given up, so memory stays bounded (everything stays in the local log for
/// `wandb sync`).
const MAX_WAITING: usize = 200_000;

type Flight = Pin<Box<dyn Future<Output = Event> + Send>>;

/// A finished request.
pub(crate) enum Event {
    /// The run was created (no stream yet) or its config updated.
    Upserted(Result<UpsertedRun, ApiError>),
    Sent(Box<FileStream>, Chunk, Result<StreamResponse, ApiError>),
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

/// The state of an online run's upload.
pub(crate) struct Uploader {
    client: Client,
    upsert: RunUpsert,
    stream: StreamState,
    /// The metric definitions changed: the config must be sent again.
    config_changed: bool,
    waiting: Vec<String>,
    output: Vec<String>,
    summary: Option<String>,
    exit_code: Option<i32>,
    flight: Option<Flight>,
    last_sent: Option<Instant>,
    retry_at: Option<Instant>,
    failures: u32,
    error: Option<String>,
    given_up: bool,
    stop: Arc<AtomicBool>,
    retry: RetryPolicy,
    /// Lines already stored (a resumed run continues after them).
    stored: Offsets,
    /// History rows the server accepted.
    pub(crate) uploaded: u64,
    /// Requests that failed after their own retries and were tried again later.
    requeued: u64,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("waiting", &self.waiting.len())
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
            waiting: Vec::new(),
            output: Vec::new(),
            summary: None,
            exit_code: None,
            flight: None,
            last_sent: None,
            retry_at: None,
            failures: 0,
            error: None,
            given_up: false,
            stop,
            retry,
            stored: Offsets::default(),
            uploaded: 0,
            requeued: 0,
        })
    }

    /// History and console lines continue after `stored` (a resumed run).
    pub(crate) fn with_stored(mut self, stored: Offsets) -> Self {
        self.stored = stored;
        self
    }

    /// A history line to send.
    pub(crate) fn push_line(&mut self, line: String) {
        if self.given_up {
            return;
        }
        self.waiting.push(line);
        if self.waiting.len() > MAX_WAITING {
            self.give_up(format!(
                "the server fell {MAX_WAITING} rows behind, so the upload stopped"
            ));
        }
    }

    /// A console line to send.
    pub(crate) fn push_output(&mut self, line: String) {
        self.output.push(line);
    }

    /// New metric definitions: config `_wandb.m` is sent again.
    pub(crate) fn set_metrics(&mut self, metrics: Json) {
        let config = self.upsert.config.get_or_insert_with(Map::new);
        let mut wandb = Map::new();
        wandb.insert("m".into(), metrics);
        config.insert("_wandb".into(), Json::Object(wandb));
        self.config_changed = true;
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
        if self.flight.is_some() || self.given_up || self.retry_at.is_some_and(|t| now < t) {
            return;
        }
        let idle = self.last_sent.map_or(Duration::MAX, |t| now - t);
        if matches!(self.stream, StreamState::NotCreated) || self.config_changed {
            self.flight = Some(self.upsert());
            return;
        }
        let StreamState::Ready(stream) = std::mem::replace(&mut self.stream, StreamState::InFlight)
        else {
            return;
        };
        let has_news = !self.waiting.is_empty() || !self.output.is_empty();
        let due = if finishing {
            has_news || self.exit_code.is_some()
        } else {
            (has_news && idle >= INTERVAL) || idle >= HEARTBEAT
        };
        if !due {
            self.stream = StreamState::Ready(stream);
            return;
        }
        self.flight = Some(self.send(stream, finishing));
        self.last_sent = Some(now);
    }

    /// Creates the run, or sends its changed config.
    fn upsert(&mut self) -> Flight {
        let (client, upsert) = (self.client.clone(), self.upsert.clone());
        self.config_changed = false;
        Box::pin(async move { Event::Upserted(client.upsert_run(&upsert).await) })
    }

    fn send(&mut self, mut stream: FileStream, finishing: bool) -> Flight {
        let rest = self.waiting.split_off(self.waiting.len().min(MAX_LINES));
        let history = std::mem::replace(&mut self.waiting, rest);
        let last = finishing && self.waiting.is_empty();
        let chunk = Chunk {
            history,
            output: std::mem::take(&mut self.output),
            summary: if last { self.summary.clone() } else { None },
            exit_code: if last { self.exit_code } else { None },
            ..Chunk::default()
        };
        Box::pin(async move {
            let result = stream.send(&chunk).await;
            Event::Sent(Box::new(stream), chunk, result)
        })
    }

    /// Failed attempts tried again: inside requests, and whole requests later.
    pub(crate) fn retries(&self) -> u64 {
        self.client.retries() + self.requeued
    }

    /// Handles a finished request.
    pub(crate) fn on_event(&mut self, event: Event, now: Instant) {
        match event {
            Event::Upserted(Ok(run)) if matches!(self.stream, StreamState::NotCreated) => {
                let offsets = Offsets {
                    history: run.history_line_count.max(self.stored.history),
                    ..self.stored
                };
                self.upsert.storage_id = Some(run.storage_id.clone());
                let stream = FileStream::new(
                    self.client.clone(),
                    &run.entity,
                    &run.project,
                    &run.run_id,
                    offsets,
                );
                self.stream = StreamState::Ready(stream.with_retry(self.retry));
                self.succeeded();
            }
            Event::Upserted(Ok(_)) => self.succeeded(),
            Event::Upserted(Err(e)) => {
                self.config_changed = true;
                self.failed(&e, now);
            }
            Event::Sent(stream, chunk, result) => {
                self.stream = StreamState::Ready(*stream);
                match result {
                    Ok(response) => {
                        self.uploaded += chunk.history.len() as u64;
                        if response.stopped {
                            self.stop.store(true, Ordering::Relaxed);
                        }
                        if chunk.exit_code.is_some() {
                            self.exit_code = None;
                            self.summary = None;
                        }
                        self.succeeded();
                    }
                    Err(e) => {
                        self.requeue(chunk);
                        self.failed(&e, now);
                    }
                }
            }
        }
    }

    /// Puts a failed request's lines back in front, to be sent again at the same offsets.
    fn requeue(&mut self, chunk: Chunk) {
        let mut history = chunk.history;
        history.append(&mut self.waiting);
        self.waiting = history;
        let mut output = chunk.output;
        output.append(&mut self.output);
        self.output = output;
    }

    fn succeeded(&mut self) {
        self.failures = 0;
        self.retry_at = None;
        self.error = None;
    }

    fn failed(&mut self, e: &ApiError, now: Instant) {
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

    fn give_up(&mut self, why: String) {
        tracing::warn!(reason = %why, "giving up the upload; the local log has every row");
        self.given_up = true;
        self.waiting = Vec::new();
        self.error = Some(why);
    }

    /// Sends everything left, then the summary and exit code, until `deadline`. Returns
    /// why the upload is incomplete, if it is.
    pub(crate) async fn finish(
        &mut self,
        summary: String,
        exit_code: i32,
        deadline: Instant,
    ) -> Option<String> {
        self.summary = Some(summary);
        self.exit_code = Some(exit_code);
        // Failures before finish must not delay the last attempt.
        self.retry_at = self.retry_at.map(|t| t.min(Instant::now()));
        while !self.given_up && (self.exit_code.is_some() || self.flight.is_some()) {
            let now = Instant::now();
            if now >= deadline {
                let why = self.error.as_deref().unwrap_or("the server did not answer");
                return Some(format!("the upload did not finish in time ({why})"));
            }
            self.start_due(now, true);
            let Some(flight) = self.flight.take() else {
                let wake = self.retry_at.unwrap_or(now).min(deadline);
                tokio::time::sleep_until(wake.into()).await;
                continue;
            };
            match tokio::time::timeout_at(deadline.into(), flight).await {
                Ok(event) => self.on_event(event, Instant::now()),
                Err(_) => continue,
            }
        }
        self.error.take().filter(|_| self.given_up)
    }
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
    fn a_server_too_far_behind_is_given_up_and_memory_freed() {
        let mut up = uploader();
        for i in 0..=MAX_WAITING {
            up.push_line(format!("{{\"_step\":{i}}}"));
        }
        assert!(up.given_up && up.waiting.is_empty());
        assert!(
            up.error
                .as_deref()
                .is_some_and(|e| e.contains("rows behind"))
        );
        up.push_line("{}".into());
        assert!(up.waiting.is_empty(), "nothing is kept after giving up");
    }

    #[test]
    fn the_run_is_created_first_and_a_failed_request_waits_for_its_retry() {
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
}
