//! [`WandbMetricLogger`]: burn-train's `MetricLogger` writing to a W&B run.

use std::collections::{HashMap, HashSet};

use burn_train::logger::MetricLogger;
use burn_train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn_train::metric::{MetricDefinition as BurnDefinition, MetricEntry, MetricId, NumericEntry};
use wandb_log::{MetricDefinition, Run};
use wandb_sweep::Value;

use crate::key::{metric_key, split_prefix};
use crate::numeric_history::NumericHistory;

/// The suffix of a metric's epoch-level value (burn's final value for the epoch).
pub const EPOCH_SUFFIX: &str = "_epoch";

/// A burn-train [`MetricLogger`] that logs burn's metrics to a [`Run`].
///
/// * Each update burn logs is one history row at the run's next step: one global step across
///   the train and valid splits.
/// * Keys carry the split as a prefix ([`metric_key`]): `train/loss`, `valid/accuracy`.
///   Numeric metrics are logged as numbers (each batch's value); the value burn computes at the
///   end of an epoch is logged as `<key>_epoch` (`valid/loss_epoch`). Text metrics are logged
///   as text.
/// * Every row has `epoch`, and each split's keys are plotted against it
///   (`define_metric("train/*").step_metric("epoch")`, once per split).
/// * [`MetricLogger::read_numeric`] answers from memory, as burn's in-memory logger does, so
///   burn's checkpointing and early stopping work with this logger alone.
///
/// `log` cannot return an error to burn: the first logging error is kept ([`Self::error`])
/// and reported through `tracing`. The run is shared: keep a clone to `finish` it.
///
/// ```
/// use std::sync::Arc;
/// use burn_train::logger::MetricLogger;
/// use burn_train::metric::store::{MetricsUpdate, NumericMetricUpdate, Split};
/// use burn_train::metric::{MetricAttributes, MetricDefinition, MetricEntry, MetricId, NumericEntry, SerializedEntry};
/// use wandb_burn::WandbMetricLogger;
///
/// let run = wandb_log::Run::builder().mode(wandb_log::Mode::Disabled).init()?;
/// let mut logger = WandbMetricLogger::new(run.clone());
/// let name = Arc::new("Loss".to_string());
/// let id = MetricId::new(name.clone());
/// logger.log_metric_definition(MetricDefinition {
///     metric_id: id.clone(), name, description: None, attributes: MetricAttributes::None,
/// });
/// let loss = NumericEntry::Value(0.5);
/// let entry = MetricEntry::new(id, SerializedEntry::new("0.5".into(), loss.serialize()));
/// let update = MetricsUpdate::new(vec![], vec![NumericMetricUpdate::new(entry, Some(loss), None)]);
/// logger.log(update, 1, &Split::Train); // train/loss = 0.5, epoch = 1
/// assert_eq!(logger.read_numeric("Loss", 1, &Split::Train)?.len(), 1);
/// assert_eq!(logger.last_step(), Some(0));
/// run.finish(0)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct WandbMetricLogger {
    run: Run,
    names: HashMap<MetricId, String>,
    history: NumericHistory,
    /// Split prefixes whose metrics are already plotted against `epoch`.
    defined: HashSet<String>,
    last_step: Option<u64>,
    error: Option<wandb_log::Error>,
}

impl WandbMetricLogger {
    /// A logger writing to `run` (offline, online or disabled).
    #[must_use]
    pub fn new(run: Run) -> Self {
        WandbMetricLogger {
            run,
            names: HashMap::new(),
            history: NumericHistory::default(),
            defined: HashSet::new(),
            last_step: None,
            error: None,
        }
    }

    /// The run this logger writes to.
    #[must_use]
    pub fn run(&self) -> &Run {
        &self.run
    }

    /// The step of the last row logged (`None` before the first).
    #[must_use]
    pub fn last_step(&self) -> Option<u64> {
        self.last_step
    }

    /// The first error of logging to the run (e.g. the run was finished while burn still
    /// logged); later rows are still attempted.
    #[must_use]
    pub fn error(&self) -> Option<&wandb_log::Error> {
        self.error.as_ref()
    }

    fn keep_error(&mut self, error: wandb_log::Error) {
        tracing::warn!(%error, "wandb-burn: cannot log burn's metrics to the run");
        if self.error.is_none() {
            self.error = Some(error);
        }
    }

    /// Plots the split's metrics against `epoch` (once per split).
    fn define_split(&mut self, split: &Split) {
        let prefix = split_prefix(split);
        if self.defined.contains(&prefix) {
            return;
        }
        let definition = MetricDefinition::new(format!("{prefix}/*")).step_metric("epoch");
        match self.run.define_metric(definition) {
            Ok(()) => {
                self.defined.insert(prefix);
            }
            Err(e) => self.keep_error(e),
        }
    }

    /// The metric's name, from its definition (burn sends definitions before updates).
    fn name(&self, entry: &MetricEntry) -> Option<&str> {
        let name = self.names.get(&entry.metric_id).map(String::as_str);
        if name.is_none() {
            tracing::warn!(
                metric = ?entry.metric_id,
                "wandb-burn: an update for a metric without a definition is skipped"
            );
        }
        name
    }
}

impl MetricLogger for WandbMetricLogger {
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &Split) {
        self.define_split(split);
        let mut row: Vec<(String, Value)> =
            Vec::with_capacity(1 + update.entries.len() + update.entries_numeric.len());
        row.push(("epoch".to_owned(), Value::from(epoch)));
        for entry in &update.entries {
            let Some(name) = self.name(entry) else {
                continue;
            };
            let serialized = &entry.serialized_entry;
            if !serialized.is_not_available() {
                row.push((
                    metric_key(split, name),
                    Value::from(serialized.serialized.as_str()),
                ));
            }
        }
        for numeric in &update.entries_numeric {
            let entry = &numeric.entry;
            let Some(name) = self.name(entry) else {
                continue;
            };
            let name = name.to_owned();
            self.history
                .push(&name, epoch, split, &entry.serialized_entry.serialized);
            let value = numeric
                .numeric_entry
                .clone()
                .or_else(|| NumericEntry::deserialize(&entry.serialized_entry.serialized).ok());
            match value {
                Some(NumericEntry::Final(v)) => {
                    row.push((
                        format!("{}{EPOCH_SUFFIX}", metric_key(split, &name)),
                        v.into(),
                    ));
                }
                Some(v) => row.push((metric_key(split, &name), v.current().into())),
                None => {}
            }
        }
        if row.len() == 1 {
            return; // nothing but the epoch: no row
        }
        match self.run.log(row) {
            Ok(step) => self.last_step = Some(step),
            Err(e) => self.keep_error(e),
        }
    }

    fn read_numeric(
        &mut self,
        name: &str,
        epoch: usize,
        split: &Split,
    ) -> Result<Vec<NumericEntry>, String> {
        Ok(self.history.read(name, epoch, split))
    }

    fn log_metric_definition(&mut self, definition: BurnDefinition) {
        self.names
            .insert(definition.metric_id, definition.name.as_str().to_owned());
    }

    fn log_epoch_summary(&mut self, _summary: EpochSummary) {}
}
