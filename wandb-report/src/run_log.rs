//! One run's `.wandb` log, read into what a report shows: identity, config, summary, metric
//! definitions, exit state and each numeric metric's history (down-sampled).
//!
//! Logs from any client work: records this crate does not know (telemetry, environment,
//! stats, …) are passed over, damaged chunks are skipped as W&B's own reader skips them, and
//! what was lost is counted.

use std::fs::File;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use prost::Message;
use wandb_log::LogReader;
use wandb_log::proto::record::RecordType;
use wandb_log::proto::{ConfigItem, MetricRecord, Record, RunRecord, SummaryItem};
use wandb_sweep::Value;

use crate::history_record::{ItemValue, Malformed, history_field, read_items};
use crate::series::{Point, READ_BUCKETS, Series};

/// The default x axis.
pub(crate) const STEP: &str = "_step";

/// A run as its log tells it.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunLog {
    /// The `.wandb` file.
    pub(crate) path: PathBuf,
    /// The run id.
    pub(crate) run_id: String,
    /// The display name, if set.
    pub(crate) display_name: Option<String>,
    /// The config, nested keys joined by `.`.
    pub(crate) config: IndexMap<String, Value>,
    /// The summary (W&B's own `_…` keys left out), nested keys joined by `.`.
    pub(crate) summary: IndexMap<String, Value>,
    /// `define_metric` definitions.
    pub(crate) metrics: Vec<MetricDef>,
    /// Each numeric metric's history, in the order first logged.
    pub(crate) series: IndexMap<String, Series>,
    /// Logged keys that hold no numbers (media, text), with what they hold.
    pub(crate) non_numeric: IndexMap<String, String>,
    /// The exit record, if the run ended normally.
    pub(crate) exit: Option<Exit>,
    /// Whether the run was preempted.
    pub(crate) preempted: bool,
    /// The runtime in seconds: the exit record's, else the summary's, else the last row's.
    pub(crate) runtime: Option<f64>,
    /// History rows.
    pub(crate) rows: u64,
    /// Damaged chunks skipped by the reader.
    pub(crate) damaged_chunks: usize,
    /// Records that could not be decoded.
    pub(crate) damaged_records: usize,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exit {
    /// The exit code (0: success).
    pub(crate) code: i32,
}

/// A `define_metric`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct MetricDef {
    /// The metric, or a glob (`val/*`).
    pub(crate) name: String,
    /// Whether `name` is a glob.
    pub(crate) glob: bool,
    /// Its x axis; empty for `_step`.
    pub(crate) step_metric: String,
    /// Hidden from charts.
    pub(crate) hidden: bool,
}

impl MetricDef {
    fn of(r: &MetricRecord) -> Option<MetricDef> {
        let (name, glob) = match (r.name.is_empty(), r.glob_name.is_empty()) {
            (false, _) => (r.name.clone(), false),
            (true, false) => (r.glob_name.clone(), true),
            (true, true) => return None,
        };
        Some(MetricDef {
            name,
            glob,
            step_metric: r.step_metric.clone(),
            hidden: r.options.as_ref().is_some_and(|o| o.hidden),
        })
    }

    fn matches(&self, key: &str) -> bool {
        if self.glob {
            glob_match(&self.name, key)
        } else {
            self.name == key
        }
    }
}

impl RunLog {
    /// Reads a log.
    ///
    /// # Errors
    /// Why the run cannot be shown at all (unreadable, empty, not a `.wandb` log, no
    /// records), in words.
    pub(crate) fn read(path: &Path) -> Result<RunLog, String> {
        let file = File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len == 0 {
            return Err(
                "empty log (0 bytes): the process ended before it wrote anything".to_owned(),
            );
        }
        let mut reader = LogReader::new(file).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => {
                "not a .wandb log (it does not start with the :W&B header)".to_owned()
            }
            _ => format!("cannot read it: {e}"),
        })?;
        let mut reading = Reading::default();
        let mut records = 0usize;
        while let Some(payload) = reader.next_payload() {
            records += 1;
            match history_field(&payload) {
                Ok(Some(history)) => match reading.history(history) {
                    Ok(()) => reading.last_history = Some(payload),
                    Err(Malformed) => reading.log.damaged_records += 1,
                },
                Ok(None) => match Record::decode(&payload[..]) {
                    Ok(record) => reading.record(record),
                    Err(_) => reading.log.damaged_records += 1,
                },
                Err(Malformed) => reading.log.damaged_records += 1,
            }
        }
        reading.log.damaged_chunks = reader.skipped();
        if records == 0 {
            return Err(
                "no records: the log ends inside its first record (the process was killed while writing)"
                    .to_owned(),
            );
        }
        let mut log = reading.finish();
        if log.run_id.is_empty() {
            log.run_id = id_from_file_name(path);
        }
        log.path = path.to_path_buf();
        Ok(log)
    }

    /// The name shown: the display name, else the run id.
    pub(crate) fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.run_id)
    }
}

/// `run-<id>.wandb` → `<id>`.
fn id_from_file_name(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let stem = stem.unwrap_or_default();
    stem.strip_prefix("run-").unwrap_or(&stem).to_owned()
}

/// A log being read.
#[derive(Debug, Default)]
struct Reading {
    log: RunLog,
    columns: Columns,
    /// The step of each history row.
    steps: Vec<f64>,
    /// The last history record (its `_runtime` is read at the end).
    last_history: Option<Vec<u8>>,
    /// The summary's `_wandb.runtime`.
    summary_runtime: Option<f64>,
    exit_runtime: Option<f64>,
    seen_run: bool,
}

impl Reading {
    fn history(&mut self, history: &[u8]) -> Result<(), Malformed> {
        let row = u32::try_from(self.steps.len()).map_err(|_| Malformed)?;
        let mut position = 0;
        let mut step_item = None;
        let columns = &mut self.columns;
        let step = read_items(history, |name, value| {
            match name {
                b"_step" => step_item = Some(value),
                [b'_', ..] => {}
                _ => columns.add(row, position, name, value),
            }
            position += 1;
        })?;
        let previous = self.steps.last().copied();
        let step = step
            .map(|s| s as f64)
            .or_else(|| step_item.and_then(number))
            .unwrap_or_else(|| previous.map_or(0.0, |p| p + 1.0));
        self.steps.push(step);
        Ok(())
    }

    fn record(&mut self, record: Record) {
        match record.record_type {
            Some(RecordType::Run(run)) => self.run(run),
            Some(RecordType::Config(c)) => {
                config_update(&mut self.log.config, &c.update, &c.remove);
            }
            Some(RecordType::Summary(s)) => self.summary(&s.update, &s.remove),
            Some(RecordType::Metric(m)) => self.log.metrics.extend(MetricDef::of(&m)),
            Some(RecordType::Exit(e)) => {
                self.log.exit = Some(Exit { code: e.exit_code });
                self.exit_runtime = Some(f64::from(e.runtime));
            }
            Some(RecordType::Preempting(_)) => self.log.preempted = true,
            _ => {}
        }
    }

    fn run(&mut self, run: RunRecord) {
        let set = |field: &mut Option<String>, value: String| {
            if !value.is_empty() {
                *field = Some(value);
            }
        };
        if !self.seen_run || !run.run_id.is_empty() {
            self.log.run_id = run.run_id;
        }
        self.seen_run = true;
        set(&mut self.log.display_name, run.display_name);
        if let Some(c) = run.config {
            config_update(&mut self.log.config, &c.update, &c.remove);
        }
        if let Some(s) = run.summary {
            self.summary(&s.update, &s.remove);
        }
    }

    fn summary(&mut self, update: &[SummaryItem], remove: &[SummaryItem]) {
        for item in update {
            let key = item_key(&item.key, &item.nested_key);
            if key == "_wandb.runtime" {
                self.summary_runtime = item.value_json.trim().parse().ok();
            }
            if key.starts_with('_') {
                continue;
            }
            self.log.summary.insert(key, parse_json(&item.value_json));
        }
        for item in remove {
            self.log
                .summary
                .shift_remove(&item_key(&item.key, &item.nested_key));
        }
    }

    fn finish(mut self) -> RunLog {
        let mut log = std::mem::take(&mut self.log);
        log.rows = self.steps.len() as u64;
        let row_runtime = self.last_history.as_deref().and_then(runtime_of);
        // The exit record and the summary hold whole seconds, the last row a float: the
        // largest is the nearest to the run's end.
        log.runtime = [self.exit_runtime, self.summary_runtime, row_runtime]
            .into_iter()
            .flatten()
            .filter(|r| r.is_finite())
            .reduce(f64::max);
        log.non_numeric = std::mem::take(&mut self.columns.non_numeric);
        let mut step_values: IndexMap<String, Option<Vec<f64>>> = IndexMap::new();
        let mut points: Vec<Point> = Vec::new();
        for (name, column) in &self.columns.index {
            let def = log.metrics.iter().find(|d| !d.glob && d.name == *name);
            let def = def.or_else(|| log.metrics.iter().find(|d| d.matches(name)));
            if def.is_some_and(|d| d.hidden) {
                continue;
            }
            let step_metric = def.map(|d| d.step_metric.as_str()).unwrap_or_default();
            let by_row = if step_metric.is_empty() || step_metric == STEP {
                None
            } else {
                step_values
                    .entry(step_metric.to_owned())
                    .or_insert_with(|| self.columns.filled(step_metric, self.steps.len()))
                    .as_deref()
            };
            let (label, xs) = match by_row {
                Some(xs) => (step_metric, xs),
                None => (STEP, self.steps.as_slice()),
            };
            points.clear();
            points.extend(column.rows.iter().zip(&column.values).map(|(&row, &y)| {
                let x = xs.get(row as usize).copied().unwrap_or(f64::NAN);
                [x, y]
            }));
            log.series
                .insert(name.clone(), Series::new(label, &points, READ_BUCKETS));
        }
        log
    }
}

/// Logged numbers, one column per key.
#[derive(Debug, Default)]
struct Columns {
    index: IndexMap<String, Column>,
    /// The column of the item at each position of the previous row (rows usually repeat
    /// their keys in the same order).
    by_position: Vec<usize>,
    non_numeric: IndexMap<String, String>,
}

#[derive(Debug, Default)]
struct Column {
    rows: Vec<u32>,
    values: Vec<f64>,
}

impl Columns {
    fn add(&mut self, row: u32, position: usize, name: &[u8], value: ItemValue<'_>) {
        let text = match value {
            ItemValue::Number(v) => return self.push(row, position, name, v),
            ItemValue::Other => return self.note(name, "text or booleans"),
            ItemValue::Json(text) => text.trim_ascii_start(),
        };
        match text.first() {
            Some(b'{') => match std::str::from_utf8(text) {
                Ok(json) => self.object(row, &String::from_utf8_lossy(name), &parse_json(json)),
                Err(_) => self.note(name, "text that is not UTF-8"),
            },
            Some(b'"') => self.note(name, "text"),
            Some(b'[') => self.note(name, "lists"),
            Some(b't' | b'f') => self.note(name, "booleans"),
            Some(b'n') | None => {}
            Some(_) => match number(ItemValue::Json(text)) {
                Some(v) => self.push(row, position, name, v),
                None => self.note(name, "values that are not numbers"),
            },
        }
    }

    /// Appends a value to the column `name`; the column of the same position in the previous
    /// row is tried first (`position` `usize::MAX`: no position).
    fn push(&mut self, row: u32, position: usize, name: &[u8], v: f64) {
        let cached = self.by_position.get(position).copied().filter(|&i| {
            self.index
                .get_index(i)
                .is_some_and(|(k, _)| k.as_bytes() == name)
        });
        let i = match cached {
            Some(i) => i,
            None => {
                let Ok(name) = std::str::from_utf8(name) else {
                    return self.note(name, "a name that is not UTF-8");
                };
                let i = match self.index.get_index_of(name) {
                    Some(i) => i,
                    None => self.index.insert_full(name.to_owned(), Column::default()).0,
                };
                if position != usize::MAX {
                    if self.by_position.len() <= position {
                        self.by_position.resize(position + 1, usize::MAX);
                    }
                    self.by_position[position] = i;
                }
                i
            }
        };
        if let Some((_, column)) = self.index.get_index_mut(i) {
            column.rows.push(row);
            column.values.push(v);
        }
    }

    /// A logged mapping: W&B media (`_type`) are noted; nested numbers become `name.key`.
    fn object(&mut self, row: u32, name: &str, value: &Value) {
        let Value::Map(map) = value else {
            return self.note(name.as_bytes(), "values that are not numbers");
        };
        if let Some(kind) = map.get("_type").and_then(Value::as_str) {
            return self.note(name.as_bytes(), &format!("W&B media ({kind})"));
        }
        for (key, inner) in map {
            let nested = format!("{name}.{key}");
            match inner {
                Value::Number(n) => self.push(row, usize::MAX, nested.as_bytes(), n.as_f64()),
                Value::Map(_) => self.object(row, &nested, inner),
                _ => {}
            }
        }
    }

    fn note(&mut self, name: &[u8], what: &str) {
        let name = String::from_utf8_lossy(name);
        if !self.non_numeric.contains_key(name.as_ref()) {
            self.non_numeric.insert(name.into_owned(), what.to_owned());
        }
    }

    /// The values of `key` at each of `rows` rows, each row taking the latest value logged
    /// at or before it (NaN before the first); `None` when `key` was never logged.
    fn filled(&self, key: &str, rows: usize) -> Option<Vec<f64>> {
        let column = self.index.get(key)?;
        let mut out = vec![f64::NAN; rows];
        let mut next = column.rows.iter().zip(&column.values).peekable();
        let mut current = f64::NAN;
        for (row, slot) in out.iter_mut().enumerate() {
            while let Some(&(&r, &v)) = next.peek() {
                if r as usize > row {
                    break;
                }
                current = v;
                next.next();
            }
            *slot = current;
        }
        Some(out)
    }
}

/// A number from extended JSON (`0.5`, `NaN`, `-Infinity`) or a typed value.
fn number(value: ItemValue<'_>) -> Option<f64> {
    match value {
        ItemValue::Number(v) => Some(v),
        ItemValue::Json(bytes) => {
            let text = std::str::from_utf8(bytes).ok()?;
            text.parse().ok().or_else(|| text.trim().parse().ok())
        }
        ItemValue::Other => None,
    }
}

/// `_runtime` of a history record.
fn runtime_of(record: &[u8]) -> Option<f64> {
    let history = history_field(record).ok()??;
    let mut runtime = None;
    read_items(history, |name, value| {
        if name == b"_runtime" {
            runtime = number(value);
        }
    })
    .ok()?;
    runtime
}

fn item_key(key: &str, nested: &[String]) -> String {
    if nested.is_empty() {
        key.to_owned()
    } else {
        nested.join(".")
    }
}

/// Extended JSON (`NaN`, `Infinity`), or the text itself when it is not JSON.
fn parse_json(text: &str) -> Value {
    wandb_api::parse_extended_json(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// Config updates and removals; W&B's own `_wandb` entry is left out and nested mappings
/// are flattened to `a.b` keys.
fn config_update(
    config: &mut IndexMap<String, Value>,
    update: &[ConfigItem],
    remove: &[ConfigItem],
) {
    for item in update {
        let key = item_key(&item.key, &item.nested_key);
        if key == "_wandb" || key.starts_with("_wandb.") {
            continue;
        }
        let prefix = format!("{key}.");
        config.retain(|k, _| k != &key && !k.starts_with(&prefix));
        flatten(&key, parse_json(&item.value_json), config);
    }
    for item in remove {
        let key = item_key(&item.key, &item.nested_key);
        let prefix = format!("{key}.");
        config.retain(|k, _| k != &key && !k.starts_with(&prefix));
    }
}

/// `value` under `key`, nested mappings as `key.inner` entries.
pub(crate) fn flatten(key: &str, value: Value, out: &mut IndexMap<String, Value>) {
    match value {
        Value::Map(map) if !map.is_empty() => {
            for (k, v) in map {
                flatten(&format!("{key}.{k}"), v, out);
            }
        }
        other => {
            out.insert(key.to_owned(), other);
        }
    }
}

/// `*` matches any run of characters.
fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    if parts.len() == 1 {
        return pattern == text;
    }
    if text.len() < first.len() + last.len() || !text.starts_with(first) || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use wandb_log::{OfflineRun, RunInfo};

    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("report-run-log-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn row(text: &str) -> Value {
        wandb_sweep::parse_value(text).unwrap()
    }

    #[test]
    fn a_rust_offline_run_reads_back() {
        let dir = temp("rust");
        let info = RunInfo {
            run_id: "abc12345".into(),
            display_name: Some("first".into()),
            config: row("{lr: 0.01, model: {hidden: 8, act: relu}}"),
            ..RunInfo::default()
        };
        let mut run = OfflineRun::create(&dir, &info, 1_700_000_000).unwrap();
        run.metric(MetricRecord {
            name: "val_loss".into(),
            step_metric: "epoch".into(),
            ..MetricRecord::default()
        })
        .unwrap();
        for step in 0..6 {
            let loss = if step == 2 {
                f64::NAN
            } else {
                1.0 / f64::from(step + 1)
            };
            let mut r = format!("{{loss: {loss}, text: hi, img: {{_type: image-file}}}}");
            if step % 2 == 1 {
                r = format!(
                    "{{loss: {loss}, epoch: {}, val_loss: {}}}",
                    step / 2,
                    loss * 2.0
                );
            }
            let r = row(&r.replace("NaN", ".nan"));
            run.history(i64::from(step), &r, f64::from(step), 1.7e9)
                .unwrap();
        }
        run.summary(&row("{loss: 0.1}")).unwrap();
        run.exit(0, 9).unwrap();
        let path = run.dir().join("run-abc12345.wandb");
        drop(run);
        let log = RunLog::read(&path).unwrap();
        assert_eq!(log.name(), "first");
        assert_eq!(log.rows, 6);
        assert_eq!(log.exit, Some(Exit { code: 0 }));
        assert_eq!(log.runtime, Some(9.0));
        assert_eq!(
            log.config.keys().collect::<Vec<_>>(),
            ["lr", "model.hidden", "model.act"]
        );
        let loss = &log.series["loss"];
        assert_eq!((loss.x_label.as_str(), loss.non_finite), (STEP, 1));
        let val = &log.series["val_loss"];
        assert_eq!(val.x_label, "epoch");
        assert_eq!(val.points, [[0.0, 1.0], [1.0, 0.5], [2.0, 1.0 / 3.0]]);
        assert_eq!(log.non_numeric["text"], "text");
        assert_eq!(log.non_numeric["img"], "W&B media (image-file)");
        assert!(log.summary.contains_key("loss"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bad_logs_say_why() {
        let dir = temp("bad");
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("run-empty.wandb");
        std::fs::write(&empty, b"").unwrap();
        assert!(RunLog::read(&empty).unwrap_err().contains("empty log"));
        let foreign = dir.join("run-foreign.wandb");
        std::fs::write(&foreign, b"{\"not\": \"a log\"}").unwrap();
        assert!(
            RunLog::read(&foreign)
                .unwrap_err()
                .contains("not a .wandb log")
        );
        let header_only = dir.join("run-h.wandb");
        std::fs::write(&header_only, wandb_log::FILE_HEADER).unwrap();
        assert!(
            RunLog::read(&header_only)
                .unwrap_err()
                .contains("no records")
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn globs_match() {
        assert!(glob_match("val/*", "val/loss"));
        assert!(glob_match("*loss*", "train_loss_ema"));
        assert!(!glob_match("val/*", "train/loss"));
        assert!(!glob_match("a*a", "a"));
        assert!(glob_match("exact", "exact"));
    }
}
