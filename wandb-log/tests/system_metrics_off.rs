//! When no sampler runs: disabled runs never start one, the builder's switches (or
//! `WANDB__DISABLE_STATS` / `WANDB__DISABLE_META`) turn it off, and `finish` ends it without
//! waiting out its interval. Observed directly, as the threads of this process named
//! `wandb-system` (Linux), in a test binary of its own so that no other test's sampler is
//! counted; and in the run's log.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use wandb_log::proto::record::RecordType;
use wandb_log::{LogReader, Mode, Run};

/// The tests here count threads of the whole process: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Threads of this process named `wandb-system` (`None` where threads cannot be listed).
fn samplers() -> Option<usize> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(
        tasks
            .filter_map(Result::ok)
            .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
            .filter(|name| name.trim() == "wandb-system")
            .count(),
    )
}

/// `stats` and `environment` records in the run's log so far.
fn system_records(run: &Run) -> (usize, usize) {
    run.flush(Duration::from_secs(30)).expect("flush");
    let log = run
        .dir()
        .expect("dir")
        .join(format!("run-{}.wandb", run.id()));
    let mut counts = (0, 0);
    for record in LogReader::new(std::fs::File::open(log).expect("log")).expect("reader") {
        match record.expect("record").record_type {
            Some(RecordType::Stats(_)) => counts.0 += 1,
            Some(RecordType::Environment(_)) => counts.1 += 1,
            _ => {}
        }
    }
    counts
}

#[test]
fn a_disabled_run_never_samples() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let env = |k: &str| (k == "WANDB__STATS_SAMPLING_INTERVAL").then(|| "0.1".to_owned());
    let run = Run::builder()
        .mode(Mode::Disabled)
        .system_metrics(true)
        .metadata(true)
        .init_with(env)
        .expect("init");
    run.log([("loss", 0.5)]).expect("log");
    if let Some(n) = samplers() {
        assert_eq!(n, 0, "no sampler thread in a disabled run");
    }
    assert_eq!(run.dir(), None, "nothing written");
    let report = run.finish(0).expect("finish");
    assert_eq!((report.rows_written, report.dir), (0, None));
}

#[test]
fn the_switches_turn_the_sampler_off() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for by_env in [false, true] {
        let dir = common::tmp(&format!("sysmetrics-off-{by_env}"));
        let env = |k: &str| match k {
            "WANDB__STATS_SAMPLING_INTERVAL" => Some("0.1".to_owned()),
            "WANDB__DISABLE_STATS" | "WANDB__DISABLE_META" if by_env => Some("true".to_owned()),
            _ => None,
        };
        let mut builder = Run::builder().mode(Mode::Offline).dir(&dir);
        if !by_env {
            builder = builder.system_metrics(false).metadata(false);
        }
        let run = builder.init_with(env).expect("init");
        if let Some(n) = samplers() {
            assert_eq!(n, 0, "no sampler thread (switched off by env: {by_env})");
        }
        run.log([("loss", 0.5)]).expect("log");
        assert_eq!(system_records(&run), (0, 0));
        let report = run.finish(0).expect("finish");
        let files = report.dir.expect("dir").join("files/wandb-metadata.json");
        assert!(!files.exists(), "no metadata file");
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn metadata_alone_starts_no_sampler() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = common::tmp("sysmetrics-meta-no-stats");
    let run = Run::builder()
        .mode(Mode::Offline)
        .dir(&dir)
        .system_metrics(false)
        .stats_interval(Duration::from_millis(100))
        .init()
        .expect("init");
    // The metadata is recorded at init, and no thread samples.
    let mut records = (0, 0);
    for _ in 0..600 {
        records = system_records(&run);
        if records.1 == 2 && samplers().is_none_or(|n| n == 0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(records, (0, 2), "two environment records, no stats");
    assert!(samplers().is_none_or(|n| n == 0), "the thread ended");
    run.log([("loss", 0.5)]).expect("log");
    let report = run.finish(0).expect("finish");
    assert!(
        report
            .dir
            .expect("dir")
            .join("files/wandb-metadata.json")
            .is_file()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn finish_ends_the_sampler_without_waiting_out_its_interval() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if samplers().is_none() {
        return; // threads cannot be listed on this platform
    }
    let dir = common::tmp("sysmetrics-stop");
    // An hour between samples: a sampler that only noticed the end at its next tick would
    // outlive this test by far.
    let run = Run::builder()
        .mode(Mode::Offline)
        .dir(&dir)
        .stats_interval(Duration::from_secs(3600))
        .init()
        .expect("init");
    // Wait until the thread has named itself (it starts after init returns).
    for _ in 0..600 {
        if samplers() == Some(1) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(samplers(), Some(1), "the sampler runs");
    run.finish(0).expect("finish");
    let mut alive = samplers();
    for _ in 0..600 {
        if alive == Some(0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        alive = samplers();
    }
    assert_eq!(alive, Some(0), "the sampler ended after finish");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_sampling_interval_that_is_not_seconds_is_refused() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for bad in ["abc", "0.05", "-1", "NaN", "inf"] {
        let env = |k: &str| (k == "WANDB__STATS_SAMPLING_INTERVAL").then(|| bad.to_owned());
        let result = Run::builder().mode(Mode::Disabled).init_with(env);
        assert!(
            matches!(result, Err(wandb_log::Error::Configuration(ref m)) if m.contains("WANDB__STATS_SAMPLING_INTERVAL")),
            "{bad}: {result:?}"
        );
    }
    let env = |k: &str| (k == "WANDB__STATS_SAMPLING_INTERVAL").then(|| " 2.5 ".to_owned());
    assert!(Run::builder().mode(Mode::Disabled).init_with(env).is_ok());
}
