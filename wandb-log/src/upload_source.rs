//! The `.wandb` log as the upload queue: what an upload sends is read back from the run's log
//! (following it while the run writes it), from the line the server holds on. Memory stays at
//! one block of the log and one request, whatever the backlog; live uploads, `sync` and
//! resumed runs read the same way.

use std::fs::File;
use std::io;
use std::path::Path;

use indexmap::IndexMap;
use prost::Message;
use wandb_api::{Chunk, Offsets, parse_extended_json, to_extended_json};
use wandb_sweep::Value;

use crate::history_record::RowEncoder;
use crate::metric::MetricDefinition;
use crate::offline_run::{console_line, unix_seconds};
use crate::proto::output_raw_record::OutputType;
use crate::proto::record::RecordType;
use crate::proto::{EnvironmentRecord, FilesItem, HistoryRecord, Record, RunRecord, StatsRecord};
use crate::transaction_log::LogReader;
use crate::wire::{Field, Wire};

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
        self.chunk.is_heartbeat()
    }
}

/// Reads a run's log for its upload.
#[derive(Debug)]
pub(crate) struct UploadSource {
    reader: LogReader<File>,
    encoder: RowEncoder,
    /// The line being built, reused: each line kept is copied out at its exact length (a
    /// line grown in place holds up to twice its bytes, for every line of two requests).
    scratch: String,
    /// Whether the log is complete (sync): its end is the end of the run.
    complete: bool,
    /// History and console lines of this log that the server holds already.
    skip_history: u64,
    skip_output: u64,
    skip_events: u64,
    /// The run record (the log's first record).
    pub(crate) run: Option<RunRecord>,
    summary: IndexMap<String, Value>,
    summary_changed: bool,
    metrics: Vec<MetricDefinition>,
    metrics_changed: bool,
    /// The run's metadata (its `environment` records merged), when it changed.
    environment: Option<EnvironmentRecord>,
    environment_changed: bool,
    /// The exit code, once the exit record is read (or the end of a complete log).
    exit_code: Option<i32>,
    /// History rows of the log read so far (sent or skipped).
    pub(crate) rows: u64,
    /// Lines too long to send (they stay in the log).
    pub(crate) too_long: u64,
    /// What was read before the run record was found, for the first batch.
    early: Batch,
    /// Files named by `files` records, not yet taken by the uploader.
    files: Vec<FilesItem>,
    /// The run's `files/` (beside the log).
    files_dir: std::path::PathBuf,
    /// The start of a console line without its newline yet, per stream (stdout, stderr):
    /// the official writer sends the text and its `\n` as separate records.
    partial: [Option<(String, f64)>; 2],
}

impl UploadSource {
    /// Opens the log at `path`; `complete` for a log whose run has ended (sync).
    pub(crate) fn open(path: &Path, complete: bool) -> io::Result<Self> {
        Ok(UploadSource {
            reader: LogReader::new(File::open(path)?)?,
            encoder: RowEncoder::default(),
            scratch: String::new(),
            complete,
            skip_history: 0,
            skip_output: 0,
            skip_events: 0,
            run: None,
            summary: IndexMap::new(),
            summary_changed: false,
            metrics: Vec::new(),
            metrics_changed: false,
            environment: None,
            environment_changed: false,
            exit_code: None,
            rows: 0,
            too_long: 0,
            early: Batch::default(),
            files: Vec::new(),
            files_dir: path
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join("files"),
            partial: [None, None],
        })
    }

    /// Skips the first history, console and system-metric lines of the log: the server
    /// holds `held` of each.
    pub(crate) fn skip(&mut self, held: Offsets) {
        self.skip_history = held.history;
        self.skip_output = held.output;
        self.skip_events = held.events;
    }

    /// Reads until the run record is known (sync needs it before creating the run).
    pub(crate) fn read_run(&mut self) -> io::Result<Option<&RunRecord>> {
        let mut early = std::mem::take(&mut self.early);
        while self.run.is_none() {
            if !self.read_next(&mut early)? {
                break;
            }
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
            batch.chunk.events.extend(early.chunk.events);
            batch.bytes += early.bytes;
        }
        while batch.bytes < max_bytes {
            if !self.read_next(batch)? {
                if self.complete && self.exit_code.is_none() {
                    // A log without an exit record (a killed process) ends as failed, as
                    // `wandb sync` ends it.
                    self.end_partial_lines(batch);
                    self.exit_code = Some(1);
                }
                self.finish_batch(batch);
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads the next record of the log into `batch`; `false` at the end of what is written
    /// so far. History records are read from their bytes straight into the row encoder
    /// ([`history_row`]); other records are decoded by prost.
    fn read_next(&mut self, batch: &mut Batch) -> io::Result<bool> {
        let Some(payload) = self.reader.try_next_payload()? else {
            return Ok(false);
        };
        if history_row(&payload, &mut self.encoder).is_some() {
            self.add_row(batch);
            return Ok(true);
        }
        let record = Record::decode(&payload[..])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.add(record, batch);
        Ok(true)
    }

    /// Adds the history row in the encoder to `batch`, unless the server holds it.
    fn add_row(&mut self, batch: &mut Batch) {
        self.rows += 1;
        if self.skip_history > 0 {
            self.skip_history -= 1;
            return;
        }
        self.scratch.clear();
        self.encoder.line(&mut self.scratch);
        let line = self.scratch.as_str().to_owned();
        self.push_history(batch, line);
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

    /// The run's metadata as config `_wandb.e` holds it (`{writer id: metadata}`), when it
    /// changed since the last call.
    pub(crate) fn changed_environment(&mut self) -> Option<(String, serde_json::Value)> {
        if !std::mem::take(&mut self.environment_changed) {
            return None;
        }
        let e = self.environment.as_ref()?;
        Some((e.writer_id.clone(), crate::metadata::record_json(e)))
    }

    /// The exit code, once read.
    pub(crate) fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    /// The run's `files/` directory.
    pub(crate) fn files_dir(&self) -> &Path {
        &self.files_dir
    }

    /// The files named by `files` records read since the last call.
    pub(crate) fn take_files(&mut self) -> Vec<FilesItem> {
        std::mem::take(&mut self.files)
    }

    /// Console text of one record: complete lines into `batch`, the rest kept for the next
    /// record of the same stream.
    fn add_output(&mut self, stderr: bool, text: &str, ts: f64, batch: &mut Batch) {
        let slot = usize::from(stderr);
        let mut rest = text;
        while let Some(end) = rest.find('\n') {
            let (head, ts) = match self.partial[slot].take() {
                Some((mut start, ts)) => {
                    start.push_str(&rest[..end]);
                    (start, ts)
                }
                None => (rest[..end].to_owned(), ts),
            };
            rest = &rest[end + 1..];
            self.push_output(stderr, crate::console::visible(&head), ts, batch);
        }
        let partial = &mut self.partial[slot];
        if !rest.is_empty() {
            match partial {
                Some((start, _)) => start.push_str(rest),
                None => *partial = Some((rest.to_owned(), ts)),
            }
        }
    }

    /// Lines left without a newline at the end of the run.
    fn end_partial_lines(&mut self, batch: &mut Batch) {
        for stderr in [false, true] {
            if let Some((text, ts)) = self.partial[usize::from(stderr)].take() {
                self.push_output(stderr, &text, ts, batch);
            }
        }
    }

    fn push_output(&mut self, stderr: bool, text: &str, ts: f64, batch: &mut Batch) {
        if self.skip_output > 0 {
            self.skip_output -= 1;
            return;
        }
        let mut line = console_line(stderr, text, ts);
        if line.len() > MAX_LINE_BYTES {
            // Cut, not left out: a request must fit W&B's limit, and the line still counts
            // for the offsets of those after it. The local log keeps the whole line.
            let mut end = MAX_LINE_BYTES - 64;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            line.truncate(end);
            line.push_str(" [cut: the whole line is in the local log]");
        }
        batch.bytes += line.len() + 8;
        batch.chunk.output.push(line);
    }

    fn add(&mut self, record: Record, batch: &mut Batch) {
        let Some(record) = record.record_type else {
            return;
        };
        match record {
            RecordType::Run(r) if self.run.is_none() => self.run = Some(r),
            RecordType::History(h) => {
                encode_row(&mut self.encoder, &h);
                self.add_row(batch);
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
                let ts = o.timestamp.as_ref().map_or(0.0, unix_seconds);
                self.add_output(stderr, &o.line, ts, batch);
            }
            RecordType::Files(f) => self.files.extend(f.files),
            RecordType::Stats(s) => self.push_events(batch, &s),
            RecordType::Environment(e) => {
                self.environment = Some(match &self.environment {
                    Some(before) => crate::metadata::merge(before, e),
                    None => e,
                });
                self.environment_changed = true;
            }
            RecordType::Metric(m) => {
                self.metrics.extend(MetricDefinition::from_record(&m));
                self.metrics_changed = true;
            }
            RecordType::Exit(e) => {
                self.end_partial_lines(batch);
                self.exit_code = Some(e.exit_code);
                self.finish_batch(batch);
            }
            _ => {}
        }
    }

    /// A `stats` record as a `wandb-events.jsonl` line, unless the server holds it.
    fn push_events(&mut self, batch: &mut Batch, stats: &StatsRecord) {
        if self.skip_events > 0 {
            self.skip_events -= 1;
            return;
        }
        let start = self
            .run
            .as_ref()
            .and_then(|r| r.start_time.as_ref())
            .map_or(0.0, unix_seconds);
        let line = crate::system_metrics::events_line(stats, start);
        if line.len() <= MAX_LINE_BYTES {
            batch.bytes += line.len() + 8;
            batch.chunk.events.push(line);
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

/// A history record's items into `row` (`_step` first, from the step, when missing).
fn encode_row(row: &mut RowEncoder, h: &HistoryRecord) {
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
}

/// Reads a `Record { history }` from its protobuf bytes straight into `row`, as
/// [`encode_row`] would from the decoded record, without building messages (keys and values
/// are borrowed from `payload`): the reader's counterpart of [`RowEncoder::encode`].
/// `None`, with `row` in an unspecified state, for anything else: other records, and
/// history records this reading does not cover (nested keys, a field given twice, fields
/// it does not know), which prost decodes.
fn history_row(payload: &[u8], row: &mut RowEncoder) -> Option<()> {
    /// `Record.num`, `Record.history` and `Record.uuid`.
    const NUM: u64 = 1;
    const HISTORY: u64 = 2;
    const UUID: u64 = 19;
    let mut history = None;
    let mut wire = Wire::new(payload);
    while let Some(field) = wire.field().ok()? {
        match field {
            (HISTORY, Field::Bytes(h)) if history.is_none() => history = Some(h),
            (NUM, Field::Varint(_)) | (UUID, Field::Bytes(_)) => {}
            _ => return None,
        }
    }
    let history = history?;
    let mut items: Vec<(&str, &str)> = Vec::with_capacity(16);
    let (mut step, mut has_step) = (None, false);
    let mut wire = Wire::new(history);
    while let Some(field) = wire.field().ok()? {
        match field {
            (1, Field::Bytes(item)) => {
                let (key, value) = history_item(item)?;
                has_step |= key == "_step";
                items.push((key, value));
            }
            (2, Field::Bytes(s)) if step.is_none() => step = Some(history_step(s)?),
            _ => return None,
        }
    }
    row.clear();
    if let (false, Some(step)) = (has_step, step) {
        row.push("_step", |o| o.push_str(itoa::Buffer::new().format(step)));
    }
    for (key, value) in items {
        row.push(key, |o| o.push_str(value));
    }
    Some(())
}

/// A `HistoryItem`'s key and value (`""` when absent, as proto3 leaves them out); `None`
/// for nested keys, a field given twice, unknown fields or text that is not UTF-8.
fn history_item(item: &[u8]) -> Option<(&str, &str)> {
    let (mut key, mut value) = (None, None);
    let mut wire = Wire::new(item);
    while let Some(field) = wire.field().ok()? {
        match field {
            (1, Field::Bytes(k)) if key.is_none() => key = Some(std::str::from_utf8(k).ok()?),
            (16, Field::Bytes(v)) if value.is_none() => {
                value = Some(std::str::from_utf8(v).ok()?);
            }
            _ => return None,
        }
    }
    Some((key.unwrap_or_default(), value.unwrap_or_default()))
}

/// A `HistoryStep`'s number (0 when absent).
fn history_step(step: &[u8]) -> Option<i64> {
    let mut num = None;
    let mut wire = Wire::new(step);
    while let Some(field) = wire.field().ok()? {
        match field {
            (1, Field::Varint(n)) if num.is_none() => num = Some(n.cast_signed()),
            _ => return None,
        }
    }
    Some(num.unwrap_or(0))
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::proto::{HistoryItem, HistoryStep, SummaryItem, SummaryRecord};

    fn record(history: HistoryRecord) -> Record {
        Record {
            record_type: Some(RecordType::History(history)),
            ..Record::default()
        }
    }

    /// The line of the bytes read directly, and of the record prost decodes.
    fn both(bytes: &[u8]) -> (Option<String>, String) {
        let mut row = RowEncoder::default();
        let direct = history_row(bytes, &mut row).map(|()| {
            let mut line = String::new();
            row.line(&mut line);
            line
        });
        let Some(RecordType::History(h)) = Record::decode(bytes).expect("decodes").record_type
        else {
            panic!("not a history record");
        };
        encode_row(&mut row, &h);
        let mut line = String::new();
        row.line(&mut line);
        (direct, line)
    }

    proptest! {
        #[test]
        fn history_bytes_read_directly_make_the_line_prost_makes(
            step in proptest::option::of(prop_oneof![Just(0i64), any::<i64>()]),
            items in proptest::collection::vec(
                (prop_oneof![Just("_step".to_owned()), ".{0,12}"], ".{0,40}"), 0..12),
            num in any::<i64>(),
            uuid in ".{0,8}",
        ) {
            let history = HistoryRecord {
                item: items
                    .iter()
                    .map(|(k, v)| HistoryItem { key: k.clone(), nested_key: Vec::new(), value_json: v.clone() })
                    .collect(),
                step: step.map(|num| HistoryStep { num }),
            };
            let bytes = Record { num, uuid, ..record(history) }.encode_to_vec();
            let (direct, decoded) = both(&bytes);
            prop_assert_eq!(direct, Some(decoded));
        }
    }

    #[test]
    fn the_writers_bytes_are_read_directly() {
        let mut row = RowEncoder::default();
        row.push("_runtime", |o| o.push_str("1.5"));
        row.push("loss", |o| o.push_str("NaN"));
        let mut bytes = Vec::new();
        row.encode(7, &mut bytes);
        let (direct, decoded) = both(&bytes);
        assert_eq!(
            direct.as_deref(),
            Some(r#"{"_step":7,"_runtime":1.5,"loss":NaN}"#)
        );
        assert_eq!(direct, Some(decoded));
    }

    #[test]
    fn other_records_and_nested_keys_are_left_to_prost() {
        let mut row = RowEncoder::default();
        let nested = record(HistoryRecord {
            item: vec![HistoryItem {
                key: String::new(),
                nested_key: vec!["a".into(), "b".into()],
                value_json: "1".into(),
            }],
            step: None,
        })
        .encode_to_vec();
        assert!(history_row(&nested, &mut row).is_none());
        assert_eq!(both(&nested).1, r#"{"a.b":1}"#);
        let summary = Record {
            record_type: Some(RecordType::Summary(SummaryRecord {
                update: vec![SummaryItem {
                    key: "loss".into(),
                    nested_key: Vec::new(),
                    value_json: "1".into(),
                }],
                remove: Vec::new(),
            })),
            ..Record::default()
        }
        .encode_to_vec();
        assert!(history_row(&summary, &mut row).is_none());
        // Cut short: left to prost, which says what is wrong.
        let mut cut = record(HistoryRecord::default()).encode_to_vec();
        cut.push(0x0a);
        assert!(history_row(&cut, &mut row).is_none());
        assert!(history_row(&[0xff; 11], &mut row).is_none());
    }
}
