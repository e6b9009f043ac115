//! The step window: unsynchronised threads, sources with priorities, step jumps, rows below
//! the window under each policy, flush inside a window, a quiet run that drains, disabled
//! runs under the same rules; offline logs decoded and compared.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use wandb_log::proto::record::RecordType;
use wandb_log::{Error, LogReader, Mode, Run, RunBuilder, StepPolicy, StepStats, StepWindow};

const THREADS: u64 = 8;
const STEPS: u64 = 20_000;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p =
            std::env::temp_dir().join(format!("wandb-log-window-{name}-{}", std::process::id()));
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

fn offline(dir: &TempDir) -> RunBuilder {
    Run::builder().project("p").mode(Mode::Offline).dir(&dir.0)
}

/// A history row: its step and its other items (key to JSON text).
type Row = (u64, BTreeMap<String, String>);

/// The history rows of a run's log, in file order.
fn history(dir: &Path, run_id: &str) -> Vec<Row> {
    let file = std::fs::File::open(dir.join(format!("run-{run_id}.wandb"))).expect("log");
    LogReader::new(file)
        .expect("header")
        .filter_map(|r| match r.expect("record").record_type {
            Some(RecordType::History(h)) => {
                let mut items: BTreeMap<String, String> =
                    h.item.into_iter().map(|i| (i.key, i.value_json)).collect();
                let step = items.remove("_step").expect("_step").parse().expect("step");
                items.remove("_runtime");
                items.remove("_timestamp");
                Some((step, items))
            }
            _ => None,
        })
        .collect()
}

fn finished_history(run: &Run) -> (wandb_log::FinishReport, Vec<Row>) {
    let report = run.finish(0).expect("finish");
    let rows = history(report.dir.as_deref().expect("dir"), run.id());
    (report, rows)
}

fn row(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Eight threads log `t{i} = step` at every step without synchronising; each returns its
/// outcomes.
fn eight_threads(run: &Run) -> Vec<Vec<Result<u64, Error>>> {
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let run = run.clone();
            std::thread::spawn(move || {
                let key = format!("t{t}");
                (0..STEPS)
                    .map(|step| {
                        let value = i64::try_from(step).expect("small");
                        run.log_at(step, [(key.as_str(), value)])
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect()
}

#[test]
fn eight_unsynchronised_threads_lose_nothing_with_a_window_that_holds_their_spread() {
    let tmp = TempDir::new("eight");
    // A tight loop runs each thread for a whole time slice: on a 2-core machine the spread
    // between the threads is the whole run, so the window holds every step (BENCHMARKS.md).
    let run = offline(&tmp)
        .step_window(StepWindow::new(20_000, Duration::MAX))
        .init_with(|_| None)
        .expect("init");
    let outcomes = eight_threads(&run);
    for (t, outcomes) in outcomes.iter().enumerate() {
        for (step, outcome) in (0..).zip(outcomes) {
            assert_eq!(outcome.as_ref().ok(), Some(&step), "thread {t}");
        }
    }
    let (report, rows) = finished_history(&run);
    let stats = report.step_stats;
    assert_eq!(
        (
            stats.rows_logged,
            stats.refused,
            stats.commits,
            stats.merged
        ),
        (THREADS * STEPS, 0, STEPS, (THREADS - 1) * STEPS)
    );
    assert_eq!(report.rows_written, STEPS);
    let steps: Vec<u64> = rows.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        steps,
        (0..STEPS).collect::<Vec<_>>(),
        "each step once, in order"
    );
    for (step, items) in &rows {
        let want: BTreeMap<String, String> = (0..THREADS)
            .map(|t| (format!("t{t}"), step.to_string()))
            .collect();
        assert_eq!(items, &want, "every thread's value at step {step}");
    }
}

#[test]
fn eight_unsynchronised_threads_without_a_window_are_refused_as_before_and_never_silently() {
    let tmp = TempDir::new("eight-off");
    let run = offline(&tmp)
        .step_window(StepWindow::OFF)
        .init_with(|_| None)
        .expect("init");
    let outcomes = eight_threads(&run);
    let mut accepted = 0;
    let mut refused = 0;
    for outcomes in &outcomes {
        for (step, outcome) in (0..).zip(outcomes) {
            match outcome {
                Ok(s) => {
                    assert_eq!(*s, step);
                    accepted += 1;
                }
                Err(Error::StepConflict { step: s, current }) => {
                    assert!(*s == step && current > s, "{s} < {current}");
                    refused += 1;
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
    }
    assert_eq!(accepted + refused, THREADS * STEPS);
    let (report, rows) = finished_history(&run);
    assert_eq!(
        (
            report.step_conflicts,
            report.step_stats.refused,
            report.rows_logged
        ),
        (refused, refused, accepted)
    );
    assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "steps only go up");
    let values: u64 = rows.iter().map(|(_, items)| items.len() as u64).sum();
    assert_eq!(
        values, accepted,
        "every accepted value is in the log exactly once"
    );
    assert!(
        rows.iter()
            .all(|(step, items)| items.values().all(|v| *v == step.to_string())),
        "each value at its own step"
    );
}

#[test]
fn the_higher_priority_source_wins_a_key_and_the_loser_is_counted() {
    let tmp = TempDir::new("priority");
    let run = offline(&tmp).init_with(|_| None).expect("init");
    let eval = run.source("eval").priority(1);
    let inference = run.source("inference").priority(1);
    assert_eq!((eval.name(), eval.current_priority()), ("eval", 1));
    run.log_at(5, [("loss", 5)]).expect("trainer");
    eval.log_at(5, [("loss", 4)])
        .expect("eval wins over the trainer");
    run.log_at(5, [("loss", 6), ("acc", 1)])
        .expect("the trainer's loss loses");
    inference.log_at(6, [("x", 1)]).expect("inference");
    eval.log_at(6, [("x", 2)])
        .expect("equal priorities: the later call wins");
    let stats = run.step_stats();
    assert_eq!(
        (stats.overwritten, stats.rows_logged, stats.merged),
        (3, 5, 3)
    );
    let (_, rows) = finished_history(&run);
    assert_eq!(
        rows,
        [
            (5, row(&[("acc", "1"), ("loss", "4")])),
            (6, row(&[("x", "2")]))
        ]
    );
}

#[test]
fn sources_without_a_step_follow_their_own_counter_onto_the_runs_steps() {
    let tmp = TempDir::new("counters");
    let run = offline(&tmp).init_with(|_| None).expect("init");
    let callbacks = run.source("callbacks");
    let eval = run.source("eval");
    for i in 0..3 {
        assert_eq!(run.log([("loss", i)]).expect("trainer"), i as u64);
        assert_eq!(callbacks.log([("lr", i)]).expect("callback"), i as u64);
    }
    assert_eq!(
        eval.log([("eval/acc", 9)]).expect("eval"),
        2,
        "joins the newest step"
    );
    assert_eq!(
        run.source("callbacks")
            .log([("lr", 3)])
            .expect("same source"),
        3
    );
    let (_, rows) = finished_history(&run);
    assert_eq!(
        rows,
        [
            (0, row(&[("loss", "0"), ("lr", "0")])),
            (1, row(&[("loss", "1"), ("lr", "1")])),
            (2, row(&[("eval/acc", "9"), ("loss", "2"), ("lr", "2")])),
            (3, row(&[("lr", "3")])),
        ]
    );
}

#[test]
fn a_step_jump_is_accepted_counted_and_the_run_goes_on_from_it() {
    let tmp = TempDir::new("jump");
    let run = offline(&tmp).init_with(|_| None).expect("init");
    for epoch in 0..3 {
        run.log_at(epoch, [("epoch", epoch)]).expect("epoch");
    }
    assert_eq!(
        run.log_at(60_000, [("loss", 1)]).expect("a global step"),
        60_000
    );
    assert_eq!(run.log([("loss", 2)]).expect("next"), 60_001);
    run.log_at(200_000, [("loss", 3)]).expect("another jump");
    let (report, rows) = finished_history(&run);
    assert_eq!(report.step_stats.step_jumps, 2);
    let steps: Vec<u64> = rows.iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, [0, 1, 2, 60_000, 60_001, 200_000]);
}

/// Logs `a` at steps 0..=9 through a 4-step window, then a row for step 7 (in the window)
/// and one for step 2 (below it).
fn late_rows(run: &Run) -> (Result<u64, Error>, Result<u64, Error>) {
    for step in 0..10 {
        run.log_at(step, [("a", 1)]).expect("in order");
    }
    (run.log_at(7, [("late", 7)]), run.log_at(2, [("late", 2)]))
}

#[test]
fn a_late_row_beyond_the_window_follows_each_policy() {
    let window = StepWindow::new(4, Duration::MAX);
    let with = |policy, name| {
        let tmp = TempDir::new(name);
        let run = offline(&tmp)
            .step_window(window)
            .step_policy(policy)
            .init_with(|_| None)
            .expect("init");
        let (in_window, below) = late_rows(&run);
        assert_eq!(in_window.expect("step 7 is open"), 7);
        let (report, rows) = finished_history(&run);
        let late: Vec<(u64, String)> = rows
            .into_iter()
            .filter_map(|(s, mut items)| items.remove("late").map(|v| (s, v)))
            .collect();
        (below, report.step_stats, late)
    };
    let (below, stats, late) = with(StepPolicy::Reject, "reject");
    assert!(
        matches!(
            below,
            Err(Error::StepConflict {
                step: 2,
                current: 6
            })
        ),
        "{below:?}"
    );
    assert_eq!((stats.refused, stats.late), (1, 1));
    assert_eq!(late, [(7, "7".to_owned())]);

    let (below, stats, late) = with(StepPolicy::Drop, "drop");
    assert_eq!(below.expect("dropped"), 6);
    assert_eq!((stats.dropped, stats.refused), (1, 0));
    assert_eq!(late, [(7, "7".to_owned())]);

    let (below, stats, late) = with(StepPolicy::MergeIntoLatest, "merge");
    assert_eq!(below.expect("merged into the newest step"), 9);
    assert_eq!(stats.moved_to_latest, 1);
    assert_eq!(late, [(7, "7".to_owned()), (9, "2".to_owned())]);
}

#[test]
fn flush_in_the_middle_of_a_window_commits_it_and_closes_its_steps() {
    let tmp = TempDir::new("flush");
    let run = offline(&tmp)
        .step_window(StepWindow::new(100, Duration::MAX))
        .init_with(|_| None)
        .expect("init");
    for step in [0, 2, 4, 1, 3] {
        run.log_at(step, [("a", step)]).expect("open");
    }
    assert_eq!(run.step_stats().open_steps, 5);
    run.flush(Duration::from_secs(30)).expect("flush");
    let dir = run.dir().expect("dir");
    let steps: Vec<u64> = history(&dir, run.id()).iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, [0, 1, 2, 3, 4], "in the file, in step order");
    assert!(matches!(
        run.log_at(3, [("b", 1)]),
        Err(Error::StepConflict {
            step: 3,
            current: 5
        })
    ));
    assert_eq!(run.log([("a", 5)]).expect("next"), 5);
    let (report, rows) = finished_history(&run);
    assert_eq!((report.step_stats.commits, rows.len()), (6, 6));
}

#[test]
fn a_quiet_run_drains_its_window_without_flush() {
    let tmp = TempDir::new("quiet");
    let run = offline(&tmp)
        .step_window(StepWindow::new(1000, Duration::from_millis(20)))
        .init_with(|_| None)
        .expect("init");
    for i in 0..3 {
        run.log([("loss", i)]).expect("log");
    }
    // The writer's idle tick closes the aged steps; nothing else happens in this run.
    let dir = run.dir().expect("dir");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut seen = 0;
    while seen < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        seen = history(&dir, run.id()).len();
    }
    assert_eq!(
        seen, 2,
        "the superseded steps reached the file while the run was idle"
    );
    assert_eq!(
        run.step_stats().open_steps,
        1,
        "the newest step stays open, as without a window"
    );
    assert_eq!(run.log_at(2, [("acc", 1)]).expect("still merges"), 2);
    let (_, rows) = finished_history(&run);
    assert_eq!(rows.len(), 3);
}

/// A scenario with every rule: merges, late rows, a gap, a row below the window, a source
/// with priority, a step jump, a flush.
fn scenario(run: &Run) -> Vec<Result<u64, String>> {
    let eval = run.source("eval").priority(2);
    let calls: Vec<Box<dyn Fn() -> Result<u64, Error>>> = vec![
        Box::new(|| run.log([("a", 0)])),
        Box::new(|| run.log_at(3, [("a", 3)])),
        Box::new(|| run.log_at(1, [("a", 1)])),
        Box::new(|| eval.log_at(3, [("a", 9)])),
        Box::new(|| run.log_at(3, [("a", 4)])),
        Box::new(|| run.log_at(5, [("a", 5)])),
        Box::new(|| run.log_at(0, [("b", 0)])),
        Box::new(|| eval.log([("c", 1)])),
        Box::new(|| run.log_at(50_000, [("a", 6)])),
        Box::new(|| run.flush(Duration::from_secs(30)).map(|()| 0)),
        Box::new(|| run.log_at(49_999, [("a", 7)])),
        Box::new(|| run.log([("a", 8)])),
    ];
    calls
        .iter()
        .map(|call| call().map_err(|e| e.to_string()))
        .collect()
}

#[test]
fn disabled_runs_follow_the_same_rules() {
    let tmp = TempDir::new("disabled");
    let builder = |mode| {
        offline(&tmp)
            .mode(mode)
            .step_window(StepWindow::new(3, Duration::MAX))
            .step_jump_threshold(1000)
    };
    let (offline_run, disabled) = (
        builder(Mode::Offline).init_with(|_| None).expect("offline"),
        builder(Mode::Disabled)
            .init_with(|_| None)
            .expect("disabled"),
    );
    let outcomes = scenario(&offline_run);
    assert_eq!(outcomes, scenario(&disabled));
    assert_eq!(
        outcomes,
        [
            Ok(0),
            Ok(3),
            Ok(1),
            Ok(3),
            Ok(3),
            Ok(5),
            Err(Error::StepConflict {
                step: 0,
                current: 1
            }
            .to_string()),
            Ok(5),
            Ok(50_000),
            Ok(0),
            Err(Error::StepConflict {
                step: 49_999,
                current: 50_001
            }
            .to_string()),
            Ok(50_001),
        ]
    );
    let stats = |run: &Run| -> StepStats { run.finish(0).expect("finish").step_stats };
    let (a, b) = (stats(&offline_run), stats(&disabled));
    assert_eq!(a, b);
    assert_eq!(
        (
            a.rows_logged,
            a.refused,
            a.late,
            a.merged,
            a.overwritten,
            a.step_jumps,
            a.commits
        ),
        (9, 2, 1, 3, 2, 1, 6)
    );
    assert!(matches!(
        disabled.log([("a", 1)]),
        Err(Error::AlreadyFinished)
    ));
}
