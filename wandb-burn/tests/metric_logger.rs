//! The logger against burn's own update types: keys, global step, epoch, definitions,
//! read_numeric; the offline `.wandb` log decoded.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use burn_train::logger::MetricLogger;
use burn_train::metric::store::{EpochSummary, MetricsUpdate, NumericMetricUpdate, Split};
use burn_train::metric::{
    MetricAttributes, MetricDefinition, MetricEntry, MetricId, NumericAttributes, NumericEntry,
    SerializedEntry,
};
use wandb_burn::WandbMetricLogger;
use wandb_log::proto::record::RecordType;
use wandb_log::{FinishReport, LogReader, Mode, Run};

/// An offline run in its own directory under the system's temp dir.
fn offline_run(name: &str) -> (Run, PathBuf) {
    let dir = std::env::temp_dir().join(format!("wandb-burn-{name}-{}", std::process::id()));
    let run = Run::builder()
        .project("p")
        .mode(Mode::Offline)
        .dir(&dir)
        .init_with(|_| None)
        .expect("init");
    (run, dir)
}

/// The finished run's `.wandb` log, decoded: history rows (key -> JSON text) and metric
/// definitions (glob, step metric).
#[derive(Default)]
struct Decoded {
    rows: Vec<HashMap<String, String>>,
    metrics: Vec<(String, String)>,
}

fn decode(run: &Run, report: &FinishReport) -> Decoded {
    let run_dir = report.dir.as_deref().expect("run dir");
    let file = std::fs::File::open(run_dir.join(format!("run-{}.wandb", run.id()))).expect("log");
    let mut decoded = Decoded::default();
    for record in LogReader::new(file).expect("header") {
        match record.expect("record").record_type {
            Some(RecordType::History(h)) => decoded
                .rows
                .push(h.item.into_iter().map(|i| (i.key, i.value_json)).collect()),
            Some(RecordType::Metric(m)) => decoded.metrics.push((m.glob_name, m.step_metric)),
            _ => {}
        }
    }
    decoded
}

/// Logs one `Loss` value in epoch 1 of the train split.
fn log_loss(logger: &mut WandbMetricLogger, loss: f64) {
    logger.log(
        MetricsUpdate::new(vec![], vec![numeric("Loss", NumericEntry::Value(loss))]),
        1,
        &Split::Train,
    );
}

fn id(name: &str) -> MetricId {
    MetricId::new(Arc::new(name.to_owned()))
}

fn define(logger: &mut WandbMetricLogger, name: &str, attributes: MetricAttributes) {
    logger.log_metric_definition(MetricDefinition {
        metric_id: id(name),
        name: Arc::new(name.to_owned()),
        description: None,
        attributes,
    });
}

/// A numeric update as burn's metric processor makes it (serialized entry + numeric value).
fn numeric(name: &str, value: NumericEntry) -> NumericMetricUpdate {
    let entry = MetricEntry::new(
        id(name),
        SerializedEntry::new(format!("{}", value.current()), value.serialize()),
    );
    NumericMetricUpdate::new(entry, Some(value), None)
}

fn text(name: &str, serialized: &str) -> MetricEntry {
    MetricEntry::new(
        id(name),
        SerializedEntry::new(serialized.into(), serialized.into()),
    )
}

fn defined_logger(run: &Run) -> WandbMetricLogger {
    let mut logger = WandbMetricLogger::new(run.clone());
    define(&mut logger, "Loss", MetricAttributes::None);
    define(
        &mut logger,
        "Accuracy",
        NumericAttributes {
            unit: Some("%".into()),
            higher_is_better: true,
        }
        .into(),
    );
    define(&mut logger, "Learning Rate", MetricAttributes::None);
    define(&mut logger, "Note", MetricAttributes::None);
    logger
}

/// Two epochs of train and valid batches, then each epoch's final values, as burn logs them.
fn train_two_epochs(logger: &mut WandbMetricLogger) {
    for epoch in 1..=2 {
        for batch in 0..3 {
            let loss = 1.0 / (epoch * 10 + batch) as f64;
            let update = MetricsUpdate::new(
                vec![text("Note", "warm")],
                vec![
                    numeric("Loss", NumericEntry::Value(loss)),
                    numeric("Learning Rate", NumericEntry::Value(0.01)),
                ],
            );
            logger.log(update, epoch, &Split::Train);
        }
        let update = MetricsUpdate::new(
            vec![],
            vec![numeric("Loss", NumericEntry::Final(0.5 / epoch as f64))],
        );
        logger.log(update, epoch, &Split::Train);
        logger.log_epoch_summary(EpochSummary::new(epoch, Split::Train));
        for batch in 0..2 {
            let update = MetricsUpdate::new(
                vec![],
                vec![
                    numeric(
                        "Loss",
                        NumericEntry::Aggregated {
                            aggregated_value: 0.4 + batch as f64,
                            count: 2,
                        },
                    ),
                    numeric("Accuracy", NumericEntry::Value(80.0 + epoch as f64)),
                ],
            );
            logger.log(update, epoch, &Split::Valid);
        }
        logger.log_epoch_summary(EpochSummary::new(epoch, Split::Valid));
    }
}

#[test]
fn keys_are_prefixed_by_split_with_one_global_step_and_the_epoch() {
    let (run, dir) = offline_run("keys");
    let mut logger = defined_logger(&run);
    train_two_epochs(&mut logger);
    assert_eq!(logger.last_step(), Some(11), "2 x (3 + 1 + 2) rows");
    assert!(logger.error().is_none());
    let report = run.finish(0).expect("finish");
    assert_eq!(report.rows_written, 12);

    let rows = decode(&run, &report).rows;
    std::fs::remove_dir_all(dir).ok();
    assert_eq!(rows.len(), 12);
    let steps: Vec<_> = rows.iter().map(|r| r["_step"].clone()).collect();
    let expected: Vec<_> = (0..12).map(|s| s.to_string()).collect();
    assert_eq!(steps, expected, "one step per update, across splits");

    let first = &rows[0];
    assert_eq!(first["epoch"], "1");
    assert_eq!(first["train/loss"], "0.1");
    assert_eq!(first["train/learning_rate"], "0.01");
    assert_eq!(first["train/note"], "\"warm\"", "text metrics as text");
    assert_eq!(rows[3]["train/loss_epoch"], "0.5", "burn's epoch value");
    assert!(!rows[3].contains_key("train/loss"));
    assert_eq!(
        rows[4]["valid/loss"], "0.4",
        "aggregated entries: their value"
    );
    assert_eq!(rows[4]["valid/accuracy"], "81.0");
    assert_eq!(rows[11]["epoch"], "2");
    assert_eq!(rows[11]["valid/accuracy"], "82.0");
    assert!(
        rows.iter().all(|r| r.keys().all(|k| k.starts_with("train/")
            || k.starts_with("valid/")
            || k == "epoch"
            || k.starts_with('_'))),
        "no key without a split: {rows:?}"
    );
    assert_eq!(report.summary["valid/accuracy"], serde_json::json!(82.0));
}

#[test]
fn each_split_is_plotted_against_epoch_once() {
    let (run, dir) = offline_run("definitions");
    let mut logger = defined_logger(&run);
    train_two_epochs(&mut logger);
    let test = Split::Test(Some(Arc::new("Hold Out".into())));
    logger.log(
        MetricsUpdate::new(vec![], vec![numeric("Loss", NumericEntry::Value(0.3))]),
        2,
        &test,
    );
    let report = run.finish(0).expect("finish");
    let Decoded { rows, metrics } = decode(&run, &report);
    std::fs::remove_dir_all(dir).ok();
    assert_eq!(
        metrics,
        [
            ("train/*".to_owned(), "epoch".to_owned()),
            ("valid/*".into(), "epoch".into()),
            ("test/hold-out/*".into(), "epoch".into()),
        ]
    );
    assert_eq!(rows.last().expect("row")["test/hold-out/loss"], "0.3");
}

#[test]
fn read_numeric_gives_burn_each_epochs_entries() {
    let run = Run::builder()
        .mode(Mode::Disabled)
        .init_with(|_| None)
        .expect("init");
    let mut logger = defined_logger(&run);
    train_two_epochs(&mut logger);
    let values = |logger: &mut WandbMetricLogger, name: &str, epoch, split: &Split| {
        logger
            .read_numeric(name, epoch, split)
            .expect("read")
            .iter()
            .map(|e| e.serialize())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        values(&mut logger, "Loss", 2, &Split::Train),
        [
            "0.05",
            "0.047619047619047616",
            "0.045454545454545456",
            "0.25,final"
        ]
    );
    assert_eq!(
        values(&mut logger, "Loss", 1, &Split::Valid),
        ["0.4,2", "1.4,2"]
    );
    assert_eq!(
        values(&mut logger, "Accuracy", 1, &Split::Valid),
        ["81", "81"]
    );
    assert!(
        values(&mut logger, "Note", 1, &Split::Train).is_empty(),
        "text is not numeric"
    );
    assert!(values(&mut logger, "Loss", 3, &Split::Train).is_empty());
    assert!(values(&mut logger, "Unknown", 1, &Split::Train).is_empty());
}

#[test]
fn updates_of_undefined_metrics_and_placeholders_are_skipped() {
    let run = Run::builder()
        .mode(Mode::Disabled)
        .watch_metric("train/loss")
        .init_with(|_| None)
        .expect("init");
    let mut logger = WandbMetricLogger::new(run.clone());
    log_loss(&mut logger, 1.0);
    assert_eq!(logger.last_step(), None, "no definition, no row");
    define(&mut logger, "Loss", MetricAttributes::None);
    define(&mut logger, "AUROC", MetricAttributes::None);
    let placeholder = MetricEntry::new(id("AUROC"), SerializedEntry::not_available(None));
    logger.log(
        MetricsUpdate::new(
            vec![placeholder.clone()],
            vec![NumericMetricUpdate::new(placeholder, None, None)],
        ),
        1,
        &Split::Train,
    );
    assert_eq!(logger.last_step(), None, "only placeholders: no row");
    log_loss(&mut logger, 0.5);
    assert_eq!(logger.last_step(), Some(0));
    assert_eq!(run.watched(), [(0, 0.5)]);
}

#[test]
fn logging_after_finish_keeps_the_error_instead_of_panicking() {
    let (run, dir) = offline_run("finished");
    let mut logger = defined_logger(&run);
    run.finish(0).expect("finish");
    std::fs::remove_dir_all(dir).ok();
    log_loss(&mut logger, 0.5);
    assert!(matches!(
        logger.error(),
        Some(wandb_log::Error::AlreadyFinished)
    ));
    assert_eq!(
        logger
            .read_numeric("Loss", 1, &Split::Train)
            .expect("read")
            .len(),
        1,
        "burn can still read what it logged"
    );
}
