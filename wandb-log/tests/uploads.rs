//! Uploads at the sizes and faults users reach, against the scripted mock W&B on 127.0.0.1:
//! more rows than any in-memory backlog would hold, online and through `sync`; `sync` twice;
//! a server that holds part of the run already; a server down for the whole run, then
//! `sync`; permanent errors; a request too large for the server; a killed process's log.
//! The server's history is rebuilt from the accepted requests, by offset: every row exactly
//! once, in order.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::mock_wandb::{MockWandb, Reply, Route, Script, server_history};
use serde_json::{Value, json};
use wandb_api::RetryPolicy;
use wandb_log::{FinishReport, Mode, Run, RunBuilder, SyncOptions, SyncReport};

/// More rows than the old uploader kept in memory (200,000) before it gave up.
const MANY: usize = 250_000;

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        min_wait: Duration::from_millis(5),
        max_wait: Duration::from_millis(20),
        timeout: Duration::from_secs(10),
    }
}

fn scratch(name: &str) -> PathBuf {
    common::tmp(&format!("uploads-{name}"))
}

fn builder(server: &MockWandb, dir: &Path, id: &str, mode: Mode) -> RunBuilder {
    Run::builder()
        .mode(mode)
        .api(server.settings())
        .dir(dir)
        .id(id)
        .project("proj")
        .entity("mock-entity")
        .upload_retry(fast_retry())
        .finish_timeout(Duration::from_secs(60))
}

/// Logs `rows` rows `{i, loss}` and finishes with exit code 0.
fn log_rows(run: &Run, rows: usize) -> FinishReport {
    for i in 0..rows {
        run.log([
            (
                "i",
                wandb_sweep::Value::from(i64::try_from(i).expect("i64")),
            ),
            ("loss", wandb_sweep::Value::from(loss(i))),
        ])
        .expect("log");
    }
    run.finish(0).expect("finish")
}

fn loss(i: usize) -> f64 {
    i as f64 + 0.25
}

/// Rows `from..from + history.len()` as [`log_rows`] logged them.
fn assert_rows_from(from: usize, history: &[Value]) {
    for (k, row) in history.iter().enumerate() {
        let i = from + k;
        assert_eq!(row["_step"], json!(i), "row {i}: {row}");
        assert_eq!(row["loss"].as_f64(), Some(loss(i)), "row {i}: {row}");
    }
}

/// The exit codes the server was sent.
fn exit_codes(server: &MockWandb) -> Vec<i64> {
    server
        .stream()
        .iter()
        .filter(|e| e.accepted())
        .filter_map(|e| e.body.as_ref()?.get("exitcode")?.as_i64())
        .collect()
}

fn sync(server: &MockWandb, dir: &Path, options: &SyncOptions) -> SyncReport {
    wandb_log::sync(dir, server.settings(), options).expect("sync")
}

/// An offline run of `rows` rows; its directory.
fn offline_run(server: &MockWandb, root: &Path, id: &str, rows: usize) -> PathBuf {
    let run = builder(server, root, id, Mode::Offline)
        .init_with(|_| None)
        .expect("init");
    log_rows(&run, rows).dir.expect("run dir")
}

#[test]
fn a_quarter_million_rows_arrive_online_once_each_in_few_requests() {
    let server = MockWandb::start(Script::ok(), Script::ok());
    let dir = scratch("online-many");
    let run = builder(&server, &dir, "many0001", Mode::Online)
        .init_with(|_| None)
        .expect("init");
    let report = log_rows(&run, MANY);
    assert_eq!(report.upload_error, None);
    assert_eq!(report.rows_uploaded, Some(MANY as u64));
    let history = server_history(0, &server.stream());
    assert_eq!(history.len(), MANY);
    assert_rows_from(0, &history);
    assert_eq!(exit_codes(&server), [0]);
    let requests = server.stream().len();
    assert!(
        requests < 200,
        "requests grow with bytes and time, not rows: {requests}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sync_uploads_a_quarter_million_rows_and_a_second_sync_sends_nothing() {
    let server = MockWandb::start(Script::ok(), Script::ok());
    let root = scratch("sync-twice");
    let run_dir = offline_run(&server, &root, "twice001", MANY);

    let first = sync(&server, &run_dir, &SyncOptions::default());
    assert_eq!(
        (first.rows, first.rows_uploaded, first.already_synced),
        (MANY as u64, MANY as u64, false)
    );
    let history = server_history(0, &server.stream());
    assert_eq!(history.len(), MANY);
    assert_rows_from(0, &history);
    assert!(
        std::fs::read_dir(&run_dir)
            .expect("run dir")
            .filter_map(Result::ok)
            .any(|e| e.file_name() == "run-twice001.wandb.synced"),
        "the official client's marker"
    );

    let requests = server.stream().len();
    let second = sync(&server, &run_dir, &SyncOptions::default());
    assert!(second.already_synced);
    assert_eq!(
        server.stream().len(),
        requests,
        "a second sync sends nothing"
    );

    // Forced: the server's rows are not sent again, only the end of the run.
    let forced = sync(
        &server,
        &run_dir,
        &SyncOptions {
            include_synced: true,
            ..SyncOptions::default()
        },
    );
    assert_eq!(
        (forced.rows_on_server, forced.rows_uploaded),
        (MANY as u64, 0)
    );
    assert_eq!(server_history(0, &server.stream()).len(), MANY);
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn sync_sends_only_the_lines_the_server_does_not_hold() {
    let server = MockWandb::start(Script::ok(), Script::ok()).holding(1_000);
    let root = scratch("held");
    let run_dir = offline_run(&server, &root, "held0001", 3_000);
    let report = sync(&server, &run_dir, &SyncOptions::default());
    assert_eq!(
        (report.rows, report.rows_on_server, report.rows_uploaded),
        (3_000, 1_000, 2_000)
    );
    let sent = server_history(1_000, &server.stream());
    assert_eq!(sent.len(), 2_000);
    assert_rows_from(1_000, &sent);
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn a_server_down_for_the_whole_run_then_up_gets_every_row_by_sync() {
    let down = MockWandb::start(Script::ok(), Script::new([], Reply::Status(503)));
    let root = scratch("down");
    let run = builder(&down, &root, "down0001", Mode::Online)
        .finish_timeout(Duration::from_secs(2))
        .init_with(|_| None)
        .expect("init");
    let report = log_rows(&run, 20_000);
    let why = report.upload_error.expect("the upload did not finish");
    assert!(why.contains("wandb sync --include-online"), "{why}");
    assert!(server_history(0, &down.stream()).is_empty());

    let up = MockWandb::start(Script::ok(), Script::ok());
    let synced = sync(&up, &report.dir.expect("dir"), &SyncOptions::default());
    assert_eq!(synced.rows_uploaded, 20_000);
    let history = server_history(0, &up.stream());
    assert_eq!(history.len(), 20_000);
    assert_rows_from(0, &history);
    assert_eq!(exit_codes(&up), [0]);
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn permanent_errors_stop_the_upload_at_once_and_say_why() {
    for status in [400, 401, 403, 404, 409, 422] {
        let server = MockWandb::start(Script::ok(), Script::new([], Reply::Status(status)));
        let root = scratch(&format!("permanent-{status}"));
        let run = builder(&server, &root, "perm0001", Mode::Online)
            .init_with(|_| None)
            .expect("init");
        let report = log_rows(&run, 100);
        let why = report.upload_error.expect("an upload error");
        assert!(why.contains("refused"), "{status}: {why}");
        assert!(why.contains("wandb sync"), "{status}: {why}");
        assert_eq!(
            server.stream().len(),
            1,
            "{status} is not retried (the finish timeout is 60 s: a retry loop would show)"
        );
        assert_eq!(
            report.rows_written, 100,
            "{status}: every row is in the local log"
        );
        std::fs::remove_dir_all(&root).ok();
    }
}

#[test]
fn a_request_too_large_for_the_server_is_split_and_everything_arrives_once() {
    let server = MockWandb::start(
        Script::ok(),
        Script::new([Reply::Status(413), Reply::Status(413)], Reply::Ok),
    );
    let root = scratch("too-large");
    let run_dir = offline_run(&server, &root, "large001", 5_000);
    let report = sync(&server, &run_dir, &SyncOptions::default());
    assert_eq!(report.rows_uploaded, 5_000);
    let stream = server.stream();
    let sizes: Vec<usize> = stream
        .iter()
        .filter_map(|e| e.history().map(|(_, lines)| lines.len()))
        .collect();
    assert_eq!(sizes[0], 5_000, "one request at first: {sizes:?}");
    assert_eq!(sizes[1], 2_500, "then half of it: {sizes:?}");
    assert_eq!(sizes[2], 1_250, "and half again: {sizes:?}");
    let history = server_history(0, &stream);
    assert_eq!(history.len(), 5_000);
    assert_rows_from(0, &history);
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn a_killed_process_log_syncs_each_complete_row_once_and_ends_failed() {
    let server = MockWandb::start(Script::ok(), Script::ok());
    let root = scratch("killed");
    let run_dir = offline_run(&server, &root, "kill0001", 10_000);
    // The log as a process killed mid-write leaves it: cut inside a record, no exit record.
    let log = run_dir.join("run-kill0001.wandb");
    let bytes = std::fs::read(&log).expect("log");
    let cut = bytes.len() * 2 / 3 + 3;
    std::fs::write(&log, &bytes[..cut]).expect("cut");
    let complete = wandb_log::LogReader::new(&bytes[..cut])
        .expect("reader")
        .filter_map(Result::ok)
        .filter(|r| {
            matches!(
                r.record_type,
                Some(wandb_log::proto::record::RecordType::History(_))
            )
        })
        .count();
    assert!(complete > 1_000 && complete < 10_000, "{complete}");

    let report = sync(&server, &run_dir, &SyncOptions::default());
    assert_eq!(
        (report.rows_uploaded, report.exit_code),
        (complete as u64, 1)
    );
    let history = server_history(0, &server.stream());
    assert_eq!(history.len(), complete);
    assert_rows_from(0, &history);
    assert_eq!(exit_codes(&server), [1]);
    assert_eq!(
        server
            .received(&Route::GraphQl("UpsertBucket".into()))
            .len(),
        1
    );
    std::fs::remove_dir_all(&root).ok();
}

/// Ten metrics, as `log_rows` logs them.
const METRICS: [&str; 10] = [
    "metric_0", "metric_1", "metric_2", "metric_3", "metric_4", "metric_5", "metric_6", "metric_7",
    "metric_8", "metric_9",
];

/// Rows reach the server while the run logs them, not all at `finish`: logging without a
/// pause keeps the writer's loop busy with the outbox, and its runtime must still drive the
/// network between batches (it once did not: nothing left, not even the `upsertBucket`,
/// until logging stopped).
#[test]
fn a_run_that_logs_without_pause_uploads_while_it_logs() {
    let server = MockWandb::start(Script::ok(), Script::ok());
    let dir = scratch("while-logging");
    let run = builder(&server, &dir, "busy0001", Mode::Online)
        .init_with(|_| None)
        .expect("init");
    let arrived = || server_history(0, &server.stream()).len();
    // Logs without pause until rows have reached the server (or a bound far above what that
    // takes: with the old writer nothing arrived before `finish`).
    let start = Instant::now();
    let mut rows = 0;
    while arrived() == 0 && start.elapsed() < Duration::from_secs(60) {
        for _ in 0..1_000 {
            let row: Vec<(&str, f64)> = METRICS
                .iter()
                .enumerate()
                .map(|(k, name)| (*name, loss(rows + k)))
                .collect();
            run.log(row).expect("log");
            rows += 1;
        }
    }
    let while_logging = arrived();
    let report = run.finish(0).expect("finish");
    assert!(
        while_logging > 0,
        "rows reached the server while the run logged ({rows} rows logged)"
    );
    assert_eq!(report.rows_uploaded, Some(rows as u64));
    assert_eq!(arrived(), rows, "every row once");
    std::fs::remove_dir_all(&dir).ok();
}
