//! The writer's side of history rows: key names, metric definitions, the summary, and each
//! row encoded once into `.wandb` record bytes (and, online, one file-stream line).

use std::io;

use indexmap::IndexMap;
use wandb_api::write_extended_json;
use wandb_sweep::Value;

use crate::history_record::RowEncoder;
use crate::keys::KeyId;
use crate::metric::MetricDefinition;
use crate::offline_run::OfflineRun;
use crate::outbox::{Batch, RowHeader};
use crate::summary::Summary;

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
    encoder: RowEncoder,
    /// The encoded record of the current row.
    bytes: Vec<u8>,
    row: Vec<(KeyId, Value)>,
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
            encoder: RowEncoder::default(),
            bytes: Vec::new(),
            row: Vec::new(),
            written: 0,
            last: None,
        }
    }

    /// History rows written so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
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
        // Step metrics are few; look each up once rather than scanning the names per key.
        let steps: std::collections::HashMap<&str, Option<KeyId>> = self
            .defs
            .iter()
            .filter_map(|d| d.step_metric.as_deref())
            .map(|s| {
                let id = self.names.iter().position(|n| &**n == s);
                (s, id.and_then(|i| KeyId::try_from(i).ok()))
            })
            .collect();
        self.step_of = self
            .rule
            .iter()
            .map(|r| {
                let def = &self.defs[(*r)?];
                let step = def.step_metric.as_deref().filter(|_| def.syncs_step())?;
                steps.get(step).copied().flatten()
            })
            .collect();
    }

    /// Writes the batch's rows to the log, updating the summary.
    pub(crate) fn write(&mut self, batch: &mut Batch, log: &mut OfflineRun) -> io::Result<()> {
        let mut cells = batch.cells.drain(..);
        let mut result = Ok(());
        for header in &batch.rows {
            self.row.clear();
            self.row.extend(cells.by_ref().take(header.cells));
            self.sync_steps();
            self.fill(header);
            if let Err(e) = log.write_payload(&self.bytes) {
                result = Err(e);
                break;
            }
            self.written += 1;
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

    /// Encodes the row with `_step`, `_runtime` and `_timestamp` first.
    fn fill(&mut self, header: &RowHeader) {
        let step = i64::try_from(header.step).unwrap_or(i64::MAX);
        let runtime = header.timestamp - self.t0;
        self.last = Some((header.step, header.timestamp));
        let row = &mut self.encoder;
        row.clear();
        row.push("_step", |o| o.push_str(itoa::Buffer::new().format(step)));
        row.push("_runtime", |o| {
            write_extended_json(&Value::from(runtime), o);
        });
        row.push("_timestamp", |o| {
            write_extended_json(&Value::from(header.timestamp), o);
        });
        for (id, value) in &self.row {
            let name = self.names.get(*id as usize).map_or("", |n| &**n);
            row.push(name, |o| write_extended_json(value, o));
        }
        self.bytes.clear();
        row.encode(step, &mut self.bytes);
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
