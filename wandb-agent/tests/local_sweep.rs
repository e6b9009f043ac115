//! The local sweep controller end to end: grid size, random count, hyperband stops, resume,
//! retry of failed points, panics, offline runs in the sweep directory.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use wandb_agent::local_sweep::{STATE_FILE, Trial, TrialExecutor, TrialProbe, TrialStatus};
use wandb_agent::{Error, LocalSweep};
use wandb_log::proto::record::RecordType;
use wandb_log::{LogReader, Run};
use wandb_sweep::{DoneReason, SweepConfig};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p =
            std::env::temp_dir().join(format!("wandb-local-sweep-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(yaml: &str) -> SweepConfig {
    SweepConfig::from_yaml(yaml).expect("valid sweep")
}

#[derive(Deserialize)]
struct A {
    a: i64,
}

/// Logs `loss = a` for `steps` steps.
fn steady(run: &Run, steps: usize) -> Result<(), Error> {
    let A { a } = run.config()?;
    for _ in 0..steps {
        run.log([("loss", a)])?;
    }
    Ok(())
}

const GRID6: &str = "method: grid\nmetric: {name: loss}\nparameters:\n  a: {values: [1, 2, 3]}\n  b: {values: [x, y]}\n";

fn params(report: &wandb_agent::SweepReport) -> BTreeSet<String> {
    report.trials.iter().map(|t| t.params.to_string()).collect()
}

#[test]
fn a_grid_runs_exactly_its_size_once() {
    let tmp = TempDir::new("grid");
    let sweep = LocalSweep::new(config(GRID6), &tmp.0).parallel(3);
    let report = sweep.run(|run: Run| steady(&run, 3)).expect("sweep");
    assert_eq!(report.trials.len(), 6);
    assert_eq!(params(&report).len(), 6, "every point once");
    assert_eq!(report.with_status(TrialStatus::Finished).len(), 6);
    assert_eq!(report.done, Some(DoneReason::GridExhausted { points: 6 }));
    assert!(
        report
            .trials
            .iter()
            .all(|t| t.metric.is_some() && t.history.len() == 3)
    );
    assert_eq!(report.best().expect("best").metric, Some(1.0));

    let again = sweep.run(|run: Run| steady(&run, 3)).expect("rerun");
    assert_eq!(
        (again.started, again.trials.len()),
        (0, 6),
        "nothing repeats"
    );
}

#[test]
fn random_honours_count_and_resumes_without_repeating() {
    let tmp = TempDir::new("random");
    let cfg = "method: random\nparameters:\n  x: {min: 0.0, max: 1.0}\n";
    let sweep = LocalSweep::new(config(cfg), &tmp.0).parallel(2).seed(7);
    let first = sweep
        .clone()
        .count(5)
        .run(|_run: Run| Ok::<(), Error>(()))
        .expect("first");
    assert_eq!((first.started, first.trials.len()), (5, 5));
    let second = sweep
        .count(3)
        .run(|_run: Run| Ok::<(), Error>(()))
        .expect("second");
    assert_eq!((second.started, second.trials.len()), (3, 8));
    assert_eq!(params(&second).len(), 8, "no point repeats");
    let numbers: Vec<u64> = second.trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..8).collect::<Vec<_>>());
}

#[test]
fn an_unbounded_random_sweep_is_refused() {
    let tmp = TempDir::new("unbounded");
    let cfg = "method: random\nparameters:\n  x: {min: 0.0, max: 1.0}\n";
    let err = LocalSweep::new(config(cfg), &tmp.0)
        .run(|_run: Run| Ok::<(), Error>(()))
        .expect_err("no count");
    assert!(matches!(err, Error::UnboundedSweep { .. }), "{err}");
    assert!(err.to_string().contains("count"), "{err}");
}

#[test]
fn hyperband_stops_a_trial_with_a_bad_metric() {
    let tmp = TempDir::new("hyperband");
    let cfg = "method: grid\nmetric: {name: loss}\nearly_terminate: {type: hyperband, min_iter: 2, eta: 3}\n\
               parameters:\n  a: {values: [1, 5]}\n";
    let report = LocalSweep::new(config(cfg), &tmp.0)
        .poll_interval(Duration::from_millis(5))
        .run(|run: Run| {
            let A { a } = run.config()?;
            for step in 0..10 {
                if run.should_stop() {
                    break;
                }
                run.log([("loss", a)])?;
                if a == 5 && step == 1 {
                    // Give the controller time to look (bounded: the assertion is on the status).
                    let until = Instant::now() + Duration::from_secs(30);
                    while !run.should_stop() && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
            }
            Ok::<(), Error>(())
        })
        .expect("sweep");
    let status: Vec<(String, TrialStatus, usize)> = report
        .trials
        .iter()
        .map(|t| (t.params.to_string(), t.status, t.history.len()))
        .collect();
    assert_eq!(
        status,
        [
            ("{a: 1}".to_owned(), TrialStatus::Finished, 10),
            ("{a: 5}".to_owned(), TrialStatus::Stopped, 2),
        ]
    );
    assert!(report.to_string().contains("1 stopped early"), "{report}");
}

#[test]
fn an_interrupted_trial_runs_again_and_the_grid_completes() {
    let tmp = TempDir::new("interrupted");
    let sweep = LocalSweep::new(config(GRID6), &tmp.0);
    let first = sweep
        .clone()
        .count(2)
        .run(|run: Run| steady(&run, 1))
        .expect("first");
    assert_eq!(first.trials.len(), 2);
    // A crash leaves the second trial `running` in the state file.
    let path = tmp.0.join(STATE_FILE);
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("state")).expect("json");
    state["trials"][1]["status"] = "running".into();
    std::fs::write(&path, state.to_string()).expect("write");

    let second = sweep
        .clone()
        .count(2)
        .run(|run: Run| steady(&run, 1))
        .expect("second");
    assert_eq!((second.started, second.trials.len()), (2, 3));
    assert_eq!(
        second.trials[1].attempts, 2,
        "the interrupted trial ran again"
    );
    assert_ne!(
        second.trials[1].run_id, first.trials[1].run_id,
        "as a new run"
    );
    assert_eq!(second.trials[1].status, TrialStatus::Finished);

    let rest = sweep.run(|run: Run| steady(&run, 1)).expect("rest");
    assert_eq!((rest.started, rest.trials.len()), (3, 6));
    assert_eq!(params(&rest).len(), 6, "no grid point repeated");
}

#[test]
fn a_cancelled_sweep_stops_its_trials_and_runs_them_again_on_resume() {
    let tmp = TempDir::new("cancel");
    let cancel = Arc::new(AtomicBool::new(false));
    let sweep = LocalSweep::new(config(GRID6), &tmp.0);
    let first = sweep
        .clone()
        .cancel_flag(cancel.clone())
        .run(|run: Run| {
            let A { a } = run.config()?;
            run.log([("loss", a)])?;
            if a == 2 {
                cancel.store(true, Ordering::Relaxed); // as a Ctrl-C handler would
                let until = Instant::now() + Duration::from_secs(30);
                while !run.should_stop() && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            Ok::<(), Error>(())
        })
        .expect("cancelled sweep");
    let last = first.trials.last().expect("trials");
    assert_eq!(
        last.params.to_string(),
        "{a: 2, b: x}",
        "nothing started after the cancel"
    );
    assert_eq!(
        last.status,
        TrialStatus::Running,
        "the stopped trial is interrupted, not done"
    );
    assert!(first.to_string().contains("1 interrupted"), "{first}");

    let rest = sweep.run(|run: Run| steady(&run, 1)).expect("resumed");
    assert_eq!(rest.trials.len(), 6);
    assert_eq!(rest.with_status(TrialStatus::Finished).len(), 6);
    assert_eq!(rest.trials[last.number as usize].attempts, 2);
}

#[test]
fn a_trial_that_returned_before_a_cancel_is_finished_not_run_again() {
    /// Done as soon as it starts; the cancel comes while it cleans up.
    struct DoneThenCancel(Arc<AtomicBool>);
    impl TrialExecutor for DoneThenCancel {
        fn execute(&self, trial: &Trial) -> Result<(), String> {
            let probe = Arc::new(StopSeen::default());
            trial.attach(probe.clone());
            trial.mark_returned();
            self.0.store(true, Ordering::Relaxed);
            // Long enough for the controller to see the cancel (bounded).
            let until = Instant::now() + Duration::from_secs(2);
            while !probe.0.load(Ordering::Relaxed) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(())
        }
    }
    #[derive(Default)]
    struct StopSeen(AtomicBool);
    impl TrialProbe for StopSeen {
        fn history(&self) -> Vec<(u64, f64)> {
            Vec::new()
        }
        fn request_stop(&self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let tmp = TempDir::new("returned");
    let cancel = Arc::new(AtomicBool::new(false));
    let report = LocalSweep::new(config(GRID6), &tmp.0)
        .cancel_flag(cancel.clone())
        .run_with(&DoneThenCancel(cancel))
        .expect("cancelled sweep");
    assert_eq!(report.trials.len(), 1, "nothing started after the cancel");
    assert_eq!(report.trials[0].status, TrialStatus::Finished);
}

#[test]
fn failed_points_are_kept_and_retried_on_request() {
    let tmp = TempDir::new("retry");
    let cfg = "method: grid\nmetric: {name: loss}\nparameters:\n  a: {values: [1, 2, 3]}\n";
    let broken = AtomicBool::new(true);
    let trial = |run: Run| {
        let A { a } = run.config().map_err(|e| e.to_string())?;
        if a == 2 && broken.load(Ordering::Relaxed) {
            return Err(format!("a = {a} diverged"));
        }
        run.log([("loss", a)]).map_err(|e| e.to_string())?;
        Ok(())
    };
    let sweep = LocalSweep::new(config(cfg), &tmp.0);
    let first = sweep.run(trial).expect("first");
    let failed = first.failures();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].error.as_deref(), Some("a = 2 diverged"));
    assert!(first.to_string().contains("a = 2 diverged"), "{first}");

    broken.store(false, Ordering::Relaxed);
    let without = sweep.run(trial).expect("no retry");
    assert_eq!((without.started, without.failures().len()), (0, 1));
    let retried = sweep.retry_failed(true).run(trial).expect("retry");
    assert_eq!(retried.started, 1);
    assert!(retried.failures().is_empty());
    let t = &retried.trials[1];
    assert_eq!(
        (t.status, t.attempts, t.metric),
        (TrialStatus::Finished, 2, Some(2.0))
    );
}

#[test]
fn a_panicking_trial_is_failed_and_its_run_ends_with_exit_code_1() {
    let tmp = TempDir::new("panic");
    let cfg = "method: grid\nparameters:\n  a: {values: [1, 2]}\n";
    let report = LocalSweep::new(config(cfg), &tmp.0)
        .parallel(2)
        .run(|run: Run| {
            let A { a } = run.config()?;
            assert!(a != 2, "trial a={a} blew up");
            Ok::<(), Error>(())
        })
        .expect("sweep");
    let failed = report.failures();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].error.as_deref(),
        Some("panicked: trial a=2 blew up")
    );
    let dir = tmp.0.join(failed[0].run_dir.as_ref().expect("run dir"));
    let log = dir.join(format!("run-{}.wandb", failed[0].run_id));
    let records: Vec<RecordType> = LogReader::new(std::fs::File::open(log).expect("log"))
        .expect("header")
        .map(|r| r.expect("record").record_type.expect("type"))
        .collect();
    let Some(RecordType::Run(run)) = records.first() else {
        panic!("run record first")
    };
    let a = run
        .config
        .as_ref()
        .expect("config")
        .update
        .iter()
        .find(|i| i.key == "a");
    assert_eq!(
        a.map(|i| i.value_json.as_str()),
        Some("2"),
        "the run's config holds the params"
    );
    assert!(matches!(records.last(), Some(RecordType::Exit(e)) if e.exit_code == 1));
}

#[test]
fn bayes_observes_trials_and_ranks_them() {
    let tmp = TempDir::new("bayes");
    let cfg = "method: bayes\nmetric: {name: loss, goal: minimize}\nparameters:\n  x: {min: 0.0, max: 1.0}\n";
    let report = LocalSweep::new(config(cfg), &tmp.0)
        .parallel(2)
        .count(8)
        .seed(3)
        .run(|run: Run| {
            let x: f64 = run.config::<serde_json::Value>()?["x"]
                .as_f64()
                .unwrap_or(0.0);
            run.log([("loss", (x - 0.3).powi(2))])?;
            Ok::<(), Error>(())
        })
        .expect("sweep");
    assert_eq!(report.trials.len(), 8);
    let board: Vec<f64> = report
        .leaderboard()
        .iter()
        .filter_map(|t| t.metric)
        .collect();
    assert_eq!(board.len(), 8);
    assert!(board.windows(2).all(|w| w[0] <= w[1]), "{board:?}");
    assert!(report.sync_command().starts_with("wandb sync "));
}

#[test]
fn a_changed_config_is_refused_on_resume() {
    let tmp = TempDir::new("changed");
    let cfg = "method: grid\nparameters:\n  a: {values: [1, 2]}\n";
    LocalSweep::new(config(cfg), &tmp.0)
        .run(|_run: Run| Ok::<(), Error>(()))
        .expect("first");
    let edited = "method: grid\nparameters:\n  a: {values: [1, 2, 3]}\n";
    let err = LocalSweep::new(config(edited), &tmp.0)
        .run(|_run: Run| Ok::<(), Error>(()))
        .expect_err("changed");
    assert!(matches!(err, Error::SweepChanged { .. }), "{err}");
}
