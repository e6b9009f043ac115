//! The writer's side of history rows: key names, metric definitions, the summary, and each
//! row encoded once into a reused `.wandb` record (and, online, one file-stream line).

use std::fmt::Write as _;
use std::io;

use indexmap::IndexMap;
use wandb_api::{write_extended_json, write_json_string};
use wandb_sweep::Value;

use crate::keys::KeyId;
use crate::metric::MetricDefinition;
use crate::offline_run::OfflineRun;
use crate::outbox::{Batch, RowHeader};
use crate::proto::record::RecordType;
use crate::proto::{HistoryItem, HistoryRecord, HistoryStep, Record};
use crate::summary::Summary;
use crate::uploader::Uploader;

/// Rows, names, definitions and the summary as the writer knows them.
#[derive(Debug)]
pub(crate) struct HistoryWriter {
    t0: f64,
    names: Vec<Box<str>>,
    defs: Vec<MetricDefinition>,
    /// Per key id: the index of its definition in `defs`.
    rule: Vec<Option<usize>>,
    /// Per key id: the step metric whose last value joins its rows (step sync).
    step_of: Vec<Option<KeyId>>,
    summary: Summary,
    record: Record,
    row: Vec<(KeyId, Value)>,
    line: String,
    written: u64,
    last: Option<(u64, f64)>,
}

impl HistoryWriter {
    pub(crate) fn new(t0: f64) -> Self {
        HistoryWriter {
            t0,
            names: Vec::new(),
            defs: Vec::new(),
            rule: Vec::new(),
            step_of: Vec::new(),
            summary: Summary::default(),
            record: Record {
                record_type: Some(RecordType::History(HistoryRecord::default())),
                ..Record::default()
            },
            row: Vec::new(),
            line: String::new(),
            written: 0,
            last: None,
        }
    }

    /// History rows written so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// Every metric definition, in call order.
    pub(crate) fn definitions(&self) -> &[MetricDefinition] {
        &self.defs
    }

    /// Takes the batch's new key names and definitions; returns the new definitions.
    pub(crate) fn learn(&mut self, batch: &mut Batch) -> Vec<MetricDefinition> {
        let fresh_names = !batch.names.is_empty();
        self.names.append(&mut batch.names);
        let defined = std::mem::take(&mut batch.metrics);
        self.defs.extend(defined.iter().cloned());
        if !defined.is_empty() || (fresh_names && !self.defs.is_empty()) {
            self.resolve();
        }
        defined
    }

    /// Which definition applies to each key: the last exact one, else the last glob.
    fn resolve(&mut self) {
        let find = |key: &str| {
            let last = |glob: bool| {
                self.defs
                    .iter()
                    .rposition(|d| d.name.contains('*') == glob && d.matches(key))
            };
            last(false).or_else(|| last(true))
        };
        self.rule = self.names.iter().map(|n| find(n)).collect();
        let id_of = |name: &str| self.names.iter().position(|n| &**n == name);
        self.step_of = self
            .rule
            .iter()
            .map(|r| {
                let def = &self.defs[(*r)?];
                let step = def.step_metric.as_deref().filter(|_| def.syncs_step())?;
                id_of(step).and_then(|i| KeyId::try_from(i).ok())
            })
            .collect();
    }

    /// Writes the batch's rows to the log (and the uploader), updating the summary.
    pub(crate) fn write(
        &mut self,
        batch: &mut Batch,
        log: &mut OfflineRun,
        mut upload: Option<&mut Uploader>,
    ) -> io::Result<()> {
        let mut cells = batch.cells.drain(..);
        let mut result = Ok(());
        for header in &batch.rows {
            self.row.clear();
            self.row.extend(cells.by_ref().take(header.cells));
            self.sync_steps();
            self.fill(header);
            if let Err(e) = log.write_record(&self.record) {
                result = Err(e);
                break;
            }
            self.written += 1;
            if let Some(up) = upload.as_deref_mut() {
                up.push_line(self.line());
            }
            for (id, value) in self.row.drain(..) {
                self.summary.observe(id, value);
            }
        }
        result
    }

    /// Adds the last value of each step metric a row's keys are plotted against.
    fn sync_steps(&mut self) {
        if self.defs.is_empty() {
            return;
        }
        for i in 0..self.row.len() {
            let id = self.row[i].0 as usize;
            let Some(step) = self.step_of.get(id).copied().flatten() else {
                continue;
            };
            if self.row.iter().any(|(k, _)| *k == step) {
                continue;
            }
            if let Some(v) = self.summary.last(step) {
                self.row.push((step, v.clone()));
            }
        }
    }

    /// Fills the reused history record with `_step`, `_runtime`, `_timestamp` and the row.
    fn fill(&mut self, header: &RowHeader) {
        let Some(RecordType::History(h)) = &mut self.record.record_type else {
            return;
        };
        let step = i64::try_from(header.step).unwrap_or(i64::MAX);
        let runtime = header.timestamp - self.t0;
        self.last = Some((header.step, header.timestamp));
        h.step = Some(HistoryStep { num: step });
        let n = 3 + self.row.len();
        h.item.truncate(n);
        h.item.resize_with(n, HistoryItem::default);
        let (fixed, rest) = h.item.split_at_mut(3);
        set(&mut fixed[0], "_step", |o| {
            let _ = write!(o, "{step}");
        });
        set(&mut fixed[1], "_runtime", |o| {
            write_extended_json(&Value::from(runtime), o);
        });
        set(&mut fixed[2], "_timestamp", |o| {
            write_extended_json(&Value::from(header.timestamp), o);
        });
        for (item, (id, value)) in rest.iter_mut().zip(&self.row) {
            let name = self.names.get(*id as usize).map_or("", |n| &**n);
            set(item, name, |o| write_extended_json(value, o));
        }
    }

    /// The row just filled as one extended-JSON file-stream line.
    fn line(&mut self) -> String {
        let Some(RecordType::History(h)) = &self.record.record_type else {
            return String::new();
        };
        self.line.clear();
        self.line.push('{');
        for (i, item) in h.item.iter().enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            write_json_string(&item.key, &mut self.line);
            self.line.push(':');
            self.line.push_str(&item.value_json);
        }
        self.line.push('}');
        self.line.clone()
    }

    /// The summary: each key under its definition, then `_step`, `_runtime`, `_timestamp`.
    pub(crate) fn summary(&self) -> IndexMap<String, Value> {
        let def_of = |id: KeyId| {
            let i = self.rule.get(id as usize).copied().flatten()?;
            self.defs.get(i)
        };
        let mut out = self.summary.values(&self.names, def_of);
        if let Some((step, ts)) = self.last {
            out.insert("_step".into(), Value::from(step));
            out.insert("_runtime".into(), Value::from(ts - self.t0));
            out.insert("_timestamp".into(), Value::from(ts));
        }
        out
    }
}

fn set(item: &mut HistoryItem, key: &str, value: impl FnOnce(&mut String)) {
    item.key.clear();
    item.key.push_str(key);
    item.value_json.clear();
    value(&mut item.value_json);
}
