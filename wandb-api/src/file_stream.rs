//! The file stream (`POST {base}/files/{entity}/{project}/{run}/file_stream`): history,
//! events, summary and console lines positioned by per-file offsets, so that a retried
//! request is idempotent.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value as Json;

use crate::client::Client;
use crate::error::Error;
use crate::retry::{RetryPolicy, RetrySafety};

/// Where the next line of each file goes (a resumed run starts at the stored counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offsets {
    /// `wandb-history.jsonl`.
    pub history: u64,
    /// `wandb-events.jsonl`.
    pub events: u64,
    /// `output.log`.
    pub output: u64,
}

/// What one request carries. Empty parts are left out; an empty chunk is a heartbeat.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chunk {
    /// History rows, each one extended-JSON line (see [`crate::to_extended_json`]).
    pub history: Vec<String>,
    /// System-metric rows.
    pub events: Vec<String>,
    /// The whole current summary (one extended-JSON line), when it changed.
    pub summary: Option<String>,
    /// Console lines, continuing at the output offset.
    pub output: Vec<String>,
    /// Run files whose upload finished.
    pub uploaded: Vec<String>,
    /// The process may be suspended.
    pub preempting: bool,
    /// The run is over with this exit code (the last request).
    pub exit_code: Option<i32>,
}

impl Chunk {
    /// True when the chunk carries nothing: a request of it only keeps the stream alive.
    ///
    /// ```
    /// let mut chunk = wandb_api::Chunk::default();
    /// assert!(chunk.is_heartbeat());
    /// chunk.history.push(r#"{"_step":0}"#.into());
    /// assert!(!chunk.is_heartbeat());
    /// ```
    #[must_use]
    pub fn is_heartbeat(&self) -> bool {
        self.history.is_empty()
            && self.events.is_empty()
            && self.summary.is_none()
            && self.output.is_empty()
            && self.uploaded.is_empty()
            && !self.preempting
            && self.exit_code.is_none()
    }
}

/// What the server answered.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct StreamResponse {
    /// Someone asked the run to stop (the UI's Stop button).
    pub stopped: bool,
    /// The server's rate-limit hint (`RateLimit-Remaining`, `RateLimit-Reset`), if it sent one.
    pub rate_limit: Option<crate::RateLimit>,
}

/// A run's file stream: sends chunks one at a time and advances the offsets only after a
/// 2xx, so retries re-send byte-identical requests.
///
/// ```no_run
/// # async fn demo(client: wandb_api::Client) -> Result<(), wandb_api::Error> {
/// use wandb_api::{Chunk, FileStream, Offsets};
/// let mut stream = FileStream::new(client, "my-team", "my-project", "abc123", Offsets::default());
/// stream.send(&Chunk { history: vec![r#"{"_step":0,"loss":1.5}"#.into()], ..Chunk::default() }).await?;
/// stream.send(&Chunk { exit_code: Some(0), ..Chunk::default() }).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileStream {
    client: Client,
    url: String,
    offsets: Offsets,
    retry: RetryPolicy,
}

/// W&B's file-stream retry policy: about a week of retries, 2 s to 60 s, 180 s per request.
pub const FILE_STREAM_RETRY: RetryPolicy = RetryPolicy {
    max_retries: 10_085,
    min_wait: Duration::from_secs(2),
    max_wait: Duration::from_secs(60),
    timeout: Duration::from_secs(180),
};

impl FileStream {
    /// The stream of run `run_id` (the run name) in the resolved `entity`/`project`.
    #[must_use]
    pub fn new(
        client: Client,
        entity: &str,
        project: &str,
        run_id: &str,
        offsets: Offsets,
    ) -> Self {
        let path = format!(
            "files/{}/{}/{}/file_stream",
            escape(entity),
            escape(project),
            escape(run_id)
        );
        let url = client.settings().base_url.join(&path);
        FileStream {
            client,
            url,
            offsets,
            retry: FILE_STREAM_RETRY,
        }
    }

    /// Replaces the retry policy (tests use milliseconds; a finishing run may want less).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The offsets the next chunk will use.
    #[must_use]
    pub fn offsets(&self) -> Offsets {
        self.offsets
    }

    /// The request body for `chunk` at the current offsets (what [`FileStream::send`] posts).
    #[must_use]
    pub fn body(&self, chunk: &Chunk) -> Json {
        serde_json::to_value(Body::new(chunk, self.offsets)).unwrap_or(Json::Null)
    }

    /// Sends one chunk (retrying per the policy) and advances the offsets.
    ///
    /// # Errors
    /// Any [`Error`] once retries are exhausted; the offsets then stay where they were.
    pub async fn send(&mut self, chunk: &Chunk) -> Result<StreamResponse, Error> {
        // Written straight from the chunk's lines (no copy of them as JSON values) into one
        // buffer of about the right size (no doubling of a 10 MiB vector).
        let mut body = Vec::with_capacity(Body::size_hint(chunk));
        serde_json::to_writer(&mut body, &Body::new(chunk, self.offsets))
            .map_err(|e| Error::InvalidResponse(e.to_string()))?;
        let reply = self
            .client
            .post(
                &self.url,
                "file_stream",
                body,
                RetrySafety::Idempotent,
                self.retry,
            )
            .await?;
        self.offsets.history += chunk.history.len() as u64;
        self.offsets.events += chunk.events.len() as u64;
        self.offsets.output += chunk.output.len() as u64;
        let stopped = serde_json::from_str::<Json>(&reply.text)
            .ok()
            .and_then(|v| v.get("stopped").and_then(Json::as_bool))
            .unwrap_or(false);
        Ok(StreamResponse {
            stopped,
            rate_limit: reply.rate_limit,
        })
    }
}

/// A request body, borrowing the chunk's lines: `{"files": {name: {"offset", "content"}},
/// "uploaded", "preempting", "complete", "exitcode"}`, empty parts left out.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Files::is_empty")]
    files: Files<'a>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    uploaded: &'a [String],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    preempting: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    exitcode: Option<i32>,
}

impl<'a> Body<'a> {
    fn new(chunk: &'a Chunk, offsets: Offsets) -> Self {
        let part = |offset, content: &'a [String]| FilePart { offset, content };
        Body {
            files: Files {
                history: part(offsets.history, &chunk.history),
                events: part(offsets.events, &chunk.events),
                summary: part(0, chunk.summary.as_slice()),
                output: part(offsets.output, &chunk.output),
            },
            uploaded: &chunk.uploaded,
            preempting: chunk.preempting,
            complete: chunk.exit_code.is_some(),
            exitcode: chunk.exit_code,
        }
    }

    /// About the size of the body: each line quoted, with room for escapes.
    fn size_hint(chunk: &Chunk) -> usize {
        let lines = [
            &chunk.history,
            &chunk.events,
            &chunk.output,
            &chunk.uploaded,
        ]
        .into_iter()
        .flatten()
        .chain(&chunk.summary);
        lines.map(|l| l.len() + l.len() / 8 + 4).sum::<usize>() + 512
    }
}

/// The files of a body, each left out when it has no lines.
#[derive(Serialize)]
struct Files<'a> {
    #[serde(
        rename = "wandb-history.jsonl",
        skip_serializing_if = "FilePart::is_empty"
    )]
    history: FilePart<'a>,
    #[serde(
        rename = "wandb-events.jsonl",
        skip_serializing_if = "FilePart::is_empty"
    )]
    events: FilePart<'a>,
    #[serde(
        rename = "wandb-summary.json",
        skip_serializing_if = "FilePart::is_empty"
    )]
    summary: FilePart<'a>,
    #[serde(rename = "output.log", skip_serializing_if = "FilePart::is_empty")]
    output: FilePart<'a>,
}

impl Files<'_> {
    fn is_empty(&self) -> bool {
        [&self.history, &self.events, &self.summary, &self.output]
            .iter()
            .all(|part| part.is_empty())
    }
}

/// One file's lines and where they go.
#[derive(Serialize)]
struct FilePart<'a> {
    offset: u64,
    content: &'a [String],
}

impl FilePart<'_> {
    fn is_empty(&self) -> bool {
        self.content.is_empty()
    }
}

/// Percent-escapes a path segment.
fn escape(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
