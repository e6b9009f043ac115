//! The `.wandb` log as the upload queue: what an upload sends is read back from the run's log
//! (following it while the run writes it), from the line the server holds on. Memory stays at
//! one block of the log and one request, whatever the backlog; live uploads, `sync` and
//! resumed runs read the same way.

use std::fs::File;
use std::io;
use std::path::Path;

use indexmap::IndexMap;
use wandb_api::{Chunk, parse_extended_json, to_extended_json};
use wandb_sweep::Value;

use crate::history_record::RowEncoder;
use crate::metric::MetricDefinition;
use crate::offline_run::console_line;
use crate::proto::output_raw_record::OutputType;
use crate::proto::record::RecordType;
use crate::proto::{HistoryRecord, Record, RunRecord};
use crate::transaction_log::LogReader;

/// The most a request carries, in bytes (W&B's `x_file_stream_max_bytes`).
pub(crate) const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// The longest line a request may carry (W&B's `x_file_stream_max_line_bytes`).
pub(crate) const MAX_LINE_BYTES: usize = MAX_REQUEST_BYTES - 100 * 1024;

/// A request being put together, and its size.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) chunk: Chunk,
    pub(crate) bytes: usize,
}

impl Batch {
    /// Whether nothing new is in it (a request of it would be a heartbeat).
    pub(crate) fn is_empty(&self) -> bool {
        self.chunk.history.is_empty()
            && self.chunk.output.is_empty()
            && self.chunk.summary.is_none()
            && self.chunk.exit_code.is_none()
    }
}

/// Reads a run's log for its upload.
#[derive(Debug)]
pub(crate) struct UploadSource {
    reader: LogReader<File>,
    encoder: RowEncoder,
    /// Whether the log is complete (sync): its end is the end of the run.
    complete: bool,
    /// History and console lines of this log that the server holds already.
    skip_history: u64,
    skip_output: u64,
    /// The run record (the log's first record).
    pub(crate) run: Option<RunRecord>,
    summary: IndexMap<String, Value>,
    summary_changed: bool,
    metrics: Vec<MetricDefinition>,
    metrics_changed: bool,
    /// The exit code, once the exit record is read (or the end of a complete log).
    exit_code: Option<i32>,
    /// History rows of the log read so far (sent or skipped).
    pub(crate) rows: u64,
    /// Lines too long to send (they stay in the log).
    pub(crate) too_long: u64,
    /// What was read before the run record was found, for the first batch.
    early: Batch,
}

impl UploadSource {
    /// Opens the log at `path`; `complete` for a log whose run has ended (sync).
    pub(crate) fn open(path: &Path, complete: bool) -> io::Result<Self> {
        Ok(UploadSource {
            reader: LogReader::new(File::open(path)?)?,
            encoder: RowEncoder::default(),
            complete,
            skip_history: 0,
            skip_output: 0,
            run: None,
            summary: IndexMap::new(),
            summary_changed: false,
            metrics: Vec::new(),
            metrics_changed: false,
            exit_code: None,
            rows: 0,
            too_long: 0,
            early: Batch::default(),
        })
    }

    /// Skips the first `history` and `output` lines of the log: the server holds them.
    pub(crate) fn skip(&mut self, history: u64, output: u64) {
        self.skip_history = history;
        self.skip_output = output;
    }

    /// Reads until the run record is known (sync needs it before creating the run).
    pub(crate) fn read_run(&mut self) -> io::Result<Option<&RunRecord>> {
        let mut early = std::mem::take(&mut self.early);
        while self.run.is_none() {
            let Some(record) = self.reader.next_record()? else {
                break;
            };
            self.add(record, &mut early);
        }
        self.early = early;
        Ok(self.run.as_ref())
    }

    /// Adds what the log holds now to `batch`, up to `max_bytes`. Returns whether the
    /// batch is full (more is waiting in the log).
    pub(crate) fn fill(&mut self, batch: &mut Batch, max_bytes: usize) -> io::Result<bool> {
        if !self.early.is_empty() {
            let early = std::mem::take(&mut self.early);
            batch.chunk.history.extend(early.chunk.history);
            batch.chunk.output.extend(early.chunk.output);
            batch.bytes += early.bytes;
        }
        while batch.bytes < max_bytes {
            let Some(record) = self.reader.next_record()? else {
                if self.complete && self.exit_code.is_none() {
                    // A log without an exit record (a killed process) ends as failed, as
                    // `wandb sync` ends it.
                    self.exit_code = Some(1);
                }
                self.finish_batch(batch);
                return Ok(false);
            };
            self.add(record, batch);
        }
        Ok(true)
    }

    /// Puts the summary and, once everything before it is in, the exit code into `batch`.
    fn finish_batch(&mut self, batch: &mut Batch) {
        if self.summary_changed {
            self.summary_changed = false;
            batch.chunk.summary = Some(to_extended_json(&Value::Map(self.summary.clone())));
        }
        if batch.chunk.exit_code.is_none() {
            batch.chunk.exit_code = self.exit_code;
        }
    }

    /// The metric definitions, when they changed since the last call.
    pub(crate) fn changed_metrics(&mut self) -> Option<&[MetricDefinition]> {
        std::mem::take(&mut self.metrics_changed).then_some(&self.metrics[..])
    }

    /// The exit code, once read.
    pub(crate) fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    fn add(&mut self, record: Record, batch: &mut Batch) {
        let Some(record) = record.record_type else {
            return;
        };
        match record {
            RecordType::Run(r) if self.run.is_none() => self.run = Some(r),
            RecordType::History(h) => {
                self.rows += 1;
                if self.skip_history > 0 {
                    self.skip_history -= 1;
                    return;
                }
                let line = line(&mut self.encoder, &h);
                self.push_history(batch, line);
            }
            RecordType::Summary(s) => {
                for item in s.update {
                    let value = parse_extended_json(&item.value_json).unwrap_or_default();
                    insert_nested(&mut self.summary, &item.key, &item.nested_key, value);
                }
                self.summary_changed = true;
            }
            RecordType::OutputRaw(o) => {
                let stderr = o.output_type == i32::from(OutputType::Stderr);
                let ts = o
                    .timestamp
                    .map_or(0.0, |t| t.seconds as f64 + f64::from(t.nanos) / 1e9);
                for text in o.line.lines() {
                    if self.skip_output > 0 {
                        self.skip_output -= 1;
                        continue;
                    }
                    let line = console_line(stderr, text, ts);
                    batch.bytes += line.len() + 8;
                    batch.chunk.output.push(line);
                }
            }
            RecordType::Metric(m) => {
                self.metrics.extend(MetricDefinition::from_record(&m));
                self.metrics_changed = true;
            }
            RecordType::Exit(e) => {
                self.exit_code = Some(e.exit_code);
                self.finish_batch(batch);
            }
            _ => {}
        }
    }

    fn push_history(&mut self, batch: &mut Batch, line: String) {
        if line.len() > MAX_LINE_BYTES {
            self.too_long += 1;
            tracing::warn!(
                bytes = line.len(),
                "a history row is larger than a file-stream request may be; it stays in the local log only"
            );
            return;
        }
        batch.bytes += line.len() + 8;
        batch.chunk.history.push(line);
    }
}

/// A history record as one file-stream line (`_step` added from the step when missing).
pub(crate) fn line(row: &mut RowEncoder, h: &HistoryRecord) -> String {
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

/// Sets `key` (or the `nested` path) in `map`, creating the maps on the way.
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
