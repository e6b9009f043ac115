//! The run handle: steps and policies, threads, env attach of a sweep run, typed config,
//! finish and drop, modes; offline files decoded and compared.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

use serde::Deserialize;
use wandb_log::proto::record::RecordType;
use wandb_log::{Error, LogReader, Mode, Run, StepPolicy, StepWindow};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("wandb-log-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("mkdir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn records(dir: &Path, run_id: &str) -> Vec<RecordType> {
    let file = std::fs::File::open(dir.join(format!("run-{run_id}.wandb"))).expect("log");
    LogReader::new(file)
        .expect("header")
        .map(|r| r.expect("record").record_type.expect("type"))
        .collect()
}

fn history(records: &[RecordType]) -> Vec<HashMap<String, String>> {
    records
        .iter()
        .filter_map(|r| match r {
            RecordType::History(h) => Some(
                h.item
                    .iter()
                    .map(|i| (i.key.clone(), i.value_json.clone()))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

fn offline(dir: &TempDir) -> wandb_log::RunBuilder {
    Run::builder().project("p").mode(Mode::Offline).dir(&dir.0)
}

#[test]
fn offline_rows_are_in_the_log_with_steps_and_non_finite_values() {
    let tmp = TempDir::new("rows");
    let run = offline(&tmp).init_with(|_| None).expect("init");
    run.log([("loss", f64::NAN), ("acc", 0.1)]).expect("0");
    run.log([("loss", 0.5), ("acc", f64::INFINITY)]).expect("1");
    let report = run.finish(0).expect("finish");
    let recs = records(report.dir.as_deref().expect("dir"), run.id());
    assert!(
        matches!(recs.first(), Some(RecordType::Run(r)) if r.run_id == run.id() && r.project == "p")
    );
    let rows = history(&recs);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["_step"].as_str(), rows[0]["loss"].as_str()),
        ("0", "NaN")
    );
    assert_eq!(
        (rows[1]["_step"].as_str(), rows[1]["acc"].as_str()),
        ("1", "Infinity")
    );
    assert!(rows[1].contains_key("_runtime") && rows[1].contains_key("_timestamp"));
    assert!(matches!(recs.last(), Some(RecordType::Exit(e)) if e.exit_code == 0));
    assert!(recs.iter().any(|r| matches!(r, RecordType::Summary(s) if s.update.iter().any(|i| i.key == "loss" && i.value_json == "0.5"))));
}

#[test]
fn threads_merge_rows_of_the_same_step() {
    let tmp = TempDir::new("threads");
    let run = offline(&tmp).init_with(|_| None).expect("init");
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let (run, barrier) = (run.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                for step in 0..50u64 {
                    run.log_at(step, [(format!("t{t}"), step as f64)])
                        .expect("same step merges");
                    barrier.wait();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    let report = run.finish(0).expect("finish");
    assert_eq!(
        (
            report.rows_logged,
            report.rows_written,
            report.step_conflicts
        ),
        (200, 50, 0)
    );
    let rows = history(&records(report.dir.as_deref().expect("dir"), run.id()));
    assert!(
        rows.iter()
            .all(|r| (0..4).all(|t| r.contains_key(&format!("t{t}")))),
        "4 keys in every row"
    );
}

#[test]
fn step_policies_never_drop_silently() {
    // Without a step window (tests/step_window.rs has the policies below a window).
    let offline = |dir| offline(dir).step_window(StepWindow::OFF);
    let tmp = TempDir::new("policies");
    let run = offline(&tmp).init_with(|_| None).expect("init");
    run.log_at(10, [("a", 1)]).expect("10");
    let err = run.log_at(3, [("a", 2)]).expect_err("below");
    assert!(
        matches!(
            err,
            Error::StepConflict {
                step: 3,
                current: 10
            }
        ),
        "{err}"
    );
    let report = run.finish(0).expect("finish");
    assert_eq!((report.step_conflicts, report.dropped), (1, 0));

    let tmp = TempDir::new("drop");
    let run = offline(&tmp)
        .step_policy(StepPolicy::Drop)
        .init_with(|_| None)
        .expect("init");
    run.log_at(10, [("a", 1)]).expect("10");
    assert_eq!(run.log_at(3, [("a", 2)]).expect("dropped, counted"), 10);
    assert_eq!(run.finish(0).expect("finish").dropped, 1);

    let tmp = TempDir::new("merge");
    let run = offline(&tmp)
        .step_policy(StepPolicy::MergeIntoLatest)
        .init_with(|_| None)
        .expect("init");
    run.log_at(10, [("a", 1)]).expect("10");
    assert_eq!(run.log_at(3, [("b", 2)]).expect("merged"), 10);
    let report = run.finish(0).expect("finish");
    let rows = history(&records(report.dir.as_deref().expect("dir"), run.id()));
    assert_eq!(rows.len(), 1);
    assert!(rows[0].contains_key("a") && rows[0].contains_key("b"));
}

#[derive(Debug, Deserialize, PartialEq)]
struct Hyper {
    lr: f64,
    layers: u32,
}

#[test]
fn a_run_started_by_wandb_agent_attaches_to_its_sweep() {
    let tmp = TempDir::new("sweep");
    let params = tmp.0.join("config-swrun001.yaml");
    std::fs::write(&params, "wandb_version: 1\n\nlr:\n  value: 0.1\n").expect("write");
    let env: HashMap<&str, String> = [
        ("WANDB_MODE", "offline".to_owned()),
        ("WANDB_RUN_ID", "swrun001".to_owned()),
        ("WANDB_SWEEP_ID", "sw33p1d".to_owned()),
        ("WANDB_SWEEP_PARAM_PATH", params.display().to_string()),
        ("WANDB_PROJECT", "proj".to_owned()),
        ("WANDB_DIR", tmp.0.display().to_string()),
        ("WANDB_TAGS", "a, b".to_owned()),
    ]
    .into_iter()
    .collect();
    let run = Run::builder()
        .config(&serde_json::json!({ "lr": 0.01, "layers": 4 }))
        .init_with(|k| env.get(k).cloned())
        .expect("init");
    assert_eq!(run.id(), "swrun001");
    assert_eq!(
        run.config::<Hyper>().expect("typed"),
        Hyper { lr: 0.1, layers: 4 },
        "sweep values win"
    );
    let report = run.finish(0).expect("finish");
    let recs = records(report.dir.as_deref().expect("dir"), "swrun001");
    let Some(RecordType::Run(r)) = recs.first() else {
        panic!("run record first")
    };
    assert_eq!(
        (r.sweep_id.as_str(), r.project.as_str(), r.tags.clone()),
        ("sw33p1d", "proj", vec!["a".to_owned(), "b".to_owned()])
    );
    let lr = r
        .config
        .as_ref()
        .expect("config")
        .update
        .iter()
        .find(|i| i.key == "lr")
        .expect("lr")
        .value_json
        .clone();
    assert_eq!(lr, "0.1");
}

#[test]
fn config_type_mismatch_names_the_key() {
    let run = Run::builder()
        .mode(Mode::Disabled)
        .config(&serde_json::json!({ "lr": "fast", "layers": 2 }))
        .init_with(|_| None)
        .expect("init");
    let err = run.config::<Hyper>().expect_err("mismatch");
    assert!(err.to_string().contains("`lr`"), "{err}");
}

#[test]
fn finish_twice_is_an_error_and_dropping_finishes() {
    let tmp = TempDir::new("drop-finish");
    let run = offline(&tmp)
        .id("dropme01")
        .init_with(|_| None)
        .expect("init");
    run.log([("a", 1)]).expect("log");
    let dir = run.dir().expect("dir");
    drop(run);
    let recs = records(&dir, "dropme01");
    assert!(
        matches!(recs.last(), Some(RecordType::Exit(e)) if e.exit_code == 0),
        "the last handle finished the run"
    );
    assert_eq!(history(&recs).len(), 1, "the pending row was committed");

    let tmp = TempDir::new("twice");
    let run = offline(&tmp).init_with(|_| None).expect("init");
    run.finish(1).expect("first");
    assert!(matches!(run.finish(1), Err(Error::AlreadyFinished)));
    assert!(matches!(run.log([("a", 1)]), Err(Error::AlreadyFinished)));
}

#[test]
fn disabled_mode_writes_nothing_and_bad_modes_are_refused() {
    let tmp = TempDir::new("disabled");
    let run = Run::builder()
        .dir(&tmp.0)
        .init_with(|k| (k == "WANDB_MODE").then(|| "disabled".to_owned()))
        .expect("init");
    run.log([("a", 1)]).expect("log");
    assert_eq!(run.finish(0).expect("finish").dir, None);
    assert!(!tmp.0.join("wandb").exists(), "disabled runs write nothing");
    assert!(matches!(
        Run::builder().init_with(|k| (k == "WANDB_MODE").then(|| "fast".to_owned())),
        Err(Error::Configuration(_))
    ));
}

#[test]
fn a_failed_run_keeps_its_message_and_exit_code() {
    let tmp = TempDir::new("fail");
    let run = offline(&tmp)
        .sweep_id("swp123")
        .init_with(|_| None)
        .expect("init");
    run.log([("loss", 1.0)]).expect("log");
    let report = run.fail("loss became NaN at step 1").expect("fail");
    let recs = records(&report.dir.expect("dir"), run.id());
    let Some(RecordType::Run(info)) = recs.first() else {
        panic!("the first record is the run")
    };
    assert_eq!(
        info.sweep_id, "swp123",
        "an explicit sweep id attaches the run"
    );
    let lines: Vec<_> = recs
        .iter()
        .filter_map(|r| match r {
            RecordType::OutputRaw(o) => Some((o.output_type, o.line.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(lines, [(0, "loss became NaN at step 1\n".to_owned())]);
    assert!(matches!(recs.last(), Some(RecordType::Exit(e)) if e.exit_code == 1));
}

#[test]
fn controllers_can_stop_a_run_and_read_its_watched_metric() {
    let tmp = TempDir::new("watch");
    let run = offline(&tmp)
        .watch_metric("val/loss")
        .init_with(|_| None)
        .expect("init");
    run.log([("val/loss", 0.9)]).expect("log");
    run.log_at(5, [("other", 1.0)]).expect("log");
    run.log_at(7, [("val/loss", 0.5)]).expect("log");
    run.log_at(7, [("val/loss", 0.4)]).expect("merge");
    assert_eq!(run.watched(), [(0, 0.9), (7, 0.5), (7, 0.4)]);
    assert!(!run.should_stop());
    let other = run.clone();
    std::thread::spawn(move || other.request_stop())
        .join()
        .expect("thread");
    assert!(run.should_stop(), "a stop request reaches every handle");
    run.finish(0).expect("finish");
}

#[test]
fn define_metric_sets_axes_summaries_and_is_recorded_for_sync() {
    use wandb_log::{Aggregation, Goal, MetricDefinition};
    let tmp = TempDir::new("metric");
    let run = offline(&tmp).init_with(|_| None).expect("init");
    run.define_metric(
        MetricDefinition::new("val/*")
            .step_metric("epoch")
            .summary(Aggregation::Min)
            .summary(Aggregation::Mean)
            .summary(Aggregation::Best)
            .goal(Goal::Minimize),
    )
    .expect("glob");
    run.define_metric(MetricDefinition::new("lr").summary(Aggregation::None))
        .expect("none");
    run.define_metric(MetricDefinition::new("acc").summary(Aggregation::First))
        .expect("first");
    let err = run
        .define_metric(MetricDefinition::new("acc").summary(Aggregation::Best))
        .expect_err("best without a goal");
    assert!(err.to_string().contains("goal"), "{err}");
    run.log([("epoch", 1.0), ("val/loss", 0.8), ("lr", 0.1), ("acc", 0.5)])
        .expect("log");
    run.log([("val/loss", 0.2), ("acc", 0.7)]).expect("log");
    run.log([("epoch", 2.0), ("val/loss", 0.5)]).expect("log");
    let report = run.finish(0).expect("finish");
    let s = &report.summary;
    assert_eq!(
        s["val/loss"],
        serde_json::json!({"min": 0.2, "mean": 0.5, "best": 0.2})
    );
    assert_eq!(s["acc"], serde_json::json!({"first": 0.5}));
    assert!(
        s.get("lr").is_none(),
        "summary none leaves the key out: {s}"
    );
    assert_eq!(
        (s["epoch"].clone(), s["_step"].clone()),
        (2.0.into(), 2.into())
    );

    let recs = records(&report.dir.expect("dir"), run.id());
    let rows = history(&recs);
    assert_eq!(
        rows[1]["epoch"], "1.0",
        "step sync adds the last epoch to a val row"
    );
    let metrics: Vec<_> = recs
        .iter()
        .filter_map(|r| match r {
            RecordType::Metric(m) => {
                Some((m.name.clone(), m.glob_name.clone(), m.step_metric.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        metrics,
        [
            (String::new(), "val/*".into(), "epoch".into()),
            ("lr".into(), String::new(), String::new()),
            ("acc".into(), String::new(), String::new()),
        ]
    );
    let summary: HashMap<String, String> = recs
        .iter()
        .rev()
        .find_map(|r| match r {
            RecordType::Summary(s) if s.update.iter().any(|i| i.key == "val/loss") => Some(
                s.update
                    .iter()
                    .map(|i| (i.key.clone(), i.value_json.clone()))
                    .collect(),
            ),
            _ => None,
        })
        .expect("a summary record for sync");
    assert_eq!(summary["val/loss"], r#"{"min":0.2,"mean":0.5,"best":0.2}"#);
}

#[test]
fn many_rows_from_many_threads_arrive_in_order_with_bounded_queueing() {
    let tmp = TempDir::new("many");
    let run = offline(&tmp)
        .step_policy(StepPolicy::MergeIntoLatest)
        .init_with(|_| None)
        .expect("init");
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let run = run.clone();
            std::thread::spawn(move || {
                for i in 0..20_000_u32 {
                    let key = format!("t{t}");
                    run.log_at(u64::from(i), [(key.as_str(), f64::from(i))])
                        .expect("log");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let report = run.finish(0).expect("finish");
    let rows = history(&records(&report.dir.expect("dir"), run.id()));
    assert_eq!(report.rows_written as usize, rows.len());
    let steps: Vec<u64> = rows
        .iter()
        .map(|r| r["_step"].parse().expect("step"))
        .collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "steps only go up");
    assert_eq!(steps.last(), Some(&19_999));
    let values: usize = rows.iter().map(|r| r.len() - 3).sum();
    assert!(
        values >= 20_000,
        "every row's values were kept or merged: {values}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_run_works_inside_the_callers_tokio_runtime() {
    let tmp = TempDir::new("tokio");
    let run = offline(&tmp).init_with(|_| None).expect("init");
    for i in 0..100 {
        run.log([("loss", f64::from(i))]).expect("log");
    }
    run.flush(std::time::Duration::from_secs(10))
        .expect("flush");
    let report = run.finish(0).expect("finish from async code");
    assert_eq!(report.rows_written, 100);
}

#[test]
fn committed_rows_reach_the_file_without_flush_or_finish() {
    let tmp = TempDir::new("crash");
    let run = offline(&tmp).init_with(|_| None).expect("init");
    for i in 0..10 {
        run.log([("loss", f64::from(i))]).expect("log");
    }
    // A process killed now keeps what the writer has written; the tenth row is still open.
    let dir = run.dir().expect("dir");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut seen = 0;
    while seen < 9 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let file = std::fs::File::open(dir.join(format!("run-{}.wandb", run.id()))).expect("log");
        seen = LogReader::new(file)
            .expect("header")
            .filter(
                |r| matches!(r, Ok(rec) if matches!(rec.record_type, Some(RecordType::History(_)))),
            )
            .count();
    }
    assert_eq!(
        seen, 9,
        "committed rows are in the file within a fraction of a second"
    );
    let has_summary = |rec: &wandb_log::proto::Record| matches!(&rec.record_type, Some(RecordType::Summary(s)) if s.update.iter().any(|i| i.key == "loss"));
    let file = std::fs::File::open(dir.join(format!("run-{}.wandb", run.id()))).expect("log");
    let summary = LogReader::new(file)
        .expect("header")
        .any(|r| r.is_ok_and(|rec| has_summary(&rec)));
    assert!(
        summary,
        "the summary so far is in the file too, for `wandb sync`"
    );
    run.finish(0).expect("finish");
}

#[test]
fn rows_wider_than_the_outbox_bound_are_all_written() {
    // The outbox holds at most 24,576 values: each of these rows alone is over it.
    let tmp = TempDir::new("wide");
    let run = offline(&tmp).init_with(|_| None).expect("init");
    let keys: Vec<String> = (0..30_000).map(|i| format!("w{i}")).collect();
    for step in 0..12_i64 {
        let row: Vec<(&str, i64)> = keys.iter().map(|k| (k.as_str(), step)).collect();
        assert_eq!(
            run.log(row).expect("log"),
            u64::try_from(step).expect("small")
        );
    }
    let report = run.finish(0).expect("finish");
    let rows = history(&records(report.dir.as_deref().expect("dir"), run.id()));
    assert_eq!(rows.len(), 12);
    for (step, row) in rows.iter().enumerate() {
        assert_eq!(
            row.get("w29999").map(String::as_str),
            Some(step.to_string().as_str())
        );
        assert_eq!(
            row.len(),
            30_000 + 3,
            "every value, plus _step, _runtime, _timestamp"
        );
    }
}
