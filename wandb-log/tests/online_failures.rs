//! Failure injection for online runs, through the public API only: a scripted mock W&B
//! (plain HTTP/1.1 on 127.0.0.1) answers each request with a reply, an error status, a 429
//! with `Retry-After`, or a dropped connection, and records what it received. The server's
//! history is rebuilt from the accepted (2xx) file-stream requests, as the backend would
//! (each line at its offset), and must equal the rows logged: exactly once, in order.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::mock_wandb::{Exchange, MockWandb, Reply, Route, Script, server_history};

use serde_json::{Value, json};
use wandb_api::RetryPolicy;
use wandb_log::proto::record::RecordType;
use wandb_log::{FinishReport, LogReader, Mode, Run, RunBuilder};

/// The longest any test may take, even when the logger hangs.
const TEST_BOUND: Duration = Duration::from_secs(20);
/// How long `finish` may wait for the upload in these tests.
const FINISH_TIMEOUT: Duration = Duration::from_secs(4);
/// How long a `flush` may wait (for the local log: the upload may be failing).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------
// Running a run against the server
// ---------------------------------------------------------------------------------------

/// Each upload request's retries, in milliseconds: a few, so that a request's policy can be
/// exhausted quickly.
fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        min_wait: Duration::from_millis(5),
        max_wait: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
    }
}

/// A fresh scratch directory.
fn scratch(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!(
        "wandb-log-online-failures-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).expect("mkdir");
    p
}

/// An online run against `server`, independent of the process environment.
fn builder(server: &MockWandb, dir: &Path, id: &str) -> RunBuilder {
    Run::builder()
        .mode(Mode::Online)
        .api(server.settings())
        .dir(dir)
        .id(id)
        .upload_retry(fast_retry())
        .finish_timeout(FINISH_TIMEOUT)
}

/// Runs `work` on its own thread and fails the test if it takes longer than [`TEST_BOUND`].
fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    match rx.recv_timeout(TEST_BOUND) {
        Ok(value) => value,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("the run did not finish within {TEST_BOUND:?}")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            panic!("the run panicked (see its message above)")
        }
    }
}

/// The value of `loss` in row `i` (a float that any JSON parser reads back exactly).
fn loss(i: usize) -> f64 {
    i as f64 + 0.25
}

/// Logs `rows` rows (`i`, `loss`) in `bursts` bursts with `pause(rows so far)` between them,
/// then finishes with exit code 0.
fn log_rows(run: &Run, rows: usize, bursts: usize, pause: impl Fn(usize)) -> FinishReport {
    let per_burst = rows.div_ceil(bursts);
    for i in 0..rows {
        let step = run
            .log([
                ("i", i64::try_from(i).expect("i64").into()),
                ("loss", wandb_sweep::Value::from(loss(i))),
            ])
            .expect("log");
        assert_eq!(step, u64::try_from(i).expect("u64"));
        if (i + 1) % per_burst == 0 && i + 1 < rows {
            // Commits the burst's last row (a row is open until the next step begins).
            let _ = run.flush(FLUSH_TIMEOUT);
            pause(i + 1);
        }
    }
    run.finish(0).expect("finish")
}

// ---------------------------------------------------------------------------------------
// What the server holds
// ---------------------------------------------------------------------------------------

/// A failed request's rows are re-sent: the next file-stream request with history starts at
/// the same offset and begins with the same lines (the same request, or more rows merged in).
fn assert_failed_requests_are_resent(stream: &[Exchange]) {
    let with_history: Vec<(bool, (usize, Vec<String>))> = stream
        .iter()
        .filter_map(|e| e.history().map(|h| (e.accepted(), h)))
        .collect();
    for pair in with_history.windows(2) {
        let ((accepted, (offset, lines)), (_, (next_offset, next_lines))) = (&pair[0], &pair[1]);
        if !accepted {
            assert_eq!(
                next_offset, offset,
                "a failed request's rows must be re-sent at the same offset"
            );
            assert!(
                next_lines.starts_with(lines),
                "the retry at offset {offset} must begin with the failed request's lines"
            );
        }
    }
}

/// Rows `0..rows` as logged by [`log_rows`], each exactly once, in order.
fn assert_rows(history: &[Value], rows: usize) {
    assert_eq!(history.len(), rows, "rows on the server");
    for (i, row) in history.iter().enumerate() {
        assert_eq!(row["_step"], json!(i), "row {i}: {row}");
        assert_eq!(row["i"], json!(i), "row {i}: {row}");
        assert_eq!(row["loss"].as_f64(), Some(loss(i)), "row {i}: {row}");
    }
}

/// Everything arrived exactly once and the run was completed with exit code 0.
fn assert_uploaded(server: &MockWandb, report: &FinishReport, rows: usize) {
    assert_eq!(report.upload_error, None, "the upload succeeded in the end");
    assert_eq!(
        (report.rows_logged, report.rows_written),
        (rows as u64, rows as u64)
    );
    assert_eq!(
        report.rows_uploaded,
        Some(rows as u64),
        "the report counts accepted rows"
    );
    let stream = server.stream();
    let failed = stream.iter().filter(|e| !e.accepted()).count() as u64;
    assert!(
        report.retries >= failed.min(1),
        "retries are counted: {}",
        report.retries
    );
    assert_failed_requests_are_resent(&stream);
    assert_rows(&server_history(0, &stream), rows);
    let last = stream
        .iter()
        .rev()
        .find(|e| e.accepted())
        .and_then(|e| e.body.clone())
        .expect("an accepted file-stream request");
    assert_eq!(
        (&last["complete"], &last["exitcode"]),
        (&json!(true), &json!(0)),
        "the last accepted request completes the run"
    );
}

/// The `_step` of every history record in the run's local `.wandb` log.
fn local_steps(report: &FinishReport, id: &str) -> Vec<i64> {
    let dir = report.dir.as_deref().expect("the run directory");
    let file = std::fs::File::open(dir.join(format!("run-{id}.wandb"))).expect("local log");
    LogReader::new(file)
        .expect("header")
        .filter_map(|r| match r.expect("record").record_type {
            Some(RecordType::History(h)) => Some(h.step.expect("step").num),
            _ => None,
        })
        .collect()
}

/// Between bursts of rows: wait for the server to accept them ([`MockWandb::pacer`]), or
/// sleep (the server is down: rows pile up and join the next request).
#[derive(Debug, Clone, Copy)]
enum Pace {
    UntilAccepted,
    Sleep(Duration),
}

/// Logs 12,000 rows in 4 bursts against a server whose file stream answers per `stream`,
/// and checks that every row reached it exactly once.
fn exactly_once_under(name: &str, stream: Script, pace: Pace) {
    let rows = 12_000;
    let server = MockWandb::start(Script::ok(), stream);
    let dir = scratch(name);
    let run = builder(&server, &dir, "f4ilure1").init().expect("init");
    let until_accepted = server.pacer();
    let pause = move |n| match pace {
        Pace::UntilAccepted => until_accepted(n),
        Pace::Sleep(d) => std::thread::sleep(d),
    };
    let report = bounded(move || log_rows(&run, rows, 4, pause));
    assert_uploaded(&server, &report, rows);
    assert!(
        server
            .stream()
            .iter()
            .any(|e| !e.accepted() && e.history().is_some()),
        "no injected failure hit a request with rows: re-sending was not exercised"
    );
    std::fs::remove_dir_all(&dir).ok();
}

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

#[test]
fn server_errors_do_not_lose_or_repeat_rows() {
    use Reply::{Ok, Status};
    let stream = Script::new(
        [
            Status(500),
            Status(500),
            Ok,
            Status(503),
            Ok,
            Status(500),
            Status(502),
            Ok,
            Status(500),
        ],
        Ok,
    );
    exactly_once_under("5xx", stream, Pace::UntilAccepted);
}

#[test]
fn rate_limits_do_not_lose_or_repeat_rows() {
    use Reply::{Ok, RateLimited};
    let stream = Script::new([RateLimited(1), Ok, RateLimited(1)], Ok);
    exactly_once_under("429", stream, Pace::UntilAccepted);
}

#[test]
fn connection_resets_do_not_lose_or_repeat_rows() {
    use Reply::{Hangup, Ok, Reset};
    let stream = Script::new([Reset, Ok, Hangup, Ok, Reset, Hangup, Ok, Reset], Ok);
    exactly_once_under("reset", stream, Pace::UntilAccepted);
}

#[test]
fn a_file_stream_down_for_longer_than_a_request_retries_then_up_loses_nothing() {
    // Down for two seconds from the first request (one request's policy gives up within
    // milliseconds) while rows keep coming: they join the failed rows, and everything goes
    // once the server is back.
    let stream = Script::down_for(Duration::from_secs(2));
    exactly_once_under("down-up", stream, Pace::Sleep(Duration::from_millis(700)));
}

#[test]
fn upsert_bucket_failing_at_first_still_creates_the_run_and_uploads_everything() {
    let server = MockWandb::start(Script::new([Reply::Status(500)], Reply::Ok), Script::ok());
    let dir = scratch("upsert");
    let run = builder(&server, &dir, "ups3rt01").init().expect("init");
    let pause = server.pacer();
    let report = bounded(move || log_rows(&run, 3_000, 2, pause));
    let upserts = server.received(&Route::GraphQl("UpsertBucket".into()));
    assert!(
        upserts.len() >= 2 && upserts.last().is_some_and(Exchange::accepted),
        "upsertBucket retried until the run was created: {upserts:?}"
    );
    assert_uploaded(&server, &report, 3_000);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_server_down_until_finish_leaves_every_row_local_and_says_how_to_sync() {
    let server = MockWandb::start(Script::ok(), Script::new([], Reply::Status(503)));
    let dir = scratch("down");
    let run = builder(&server, &dir, "d0wn0001").init().expect("init");
    let rows = 3_000;
    // The server never accepts: a short pause lets uploads fail while the run is running.
    let pause = |_| std::thread::sleep(Duration::from_millis(1_200));
    let report = bounded(move || log_rows(&run, rows, 3, pause));
    let error = report
        .upload_error
        .as_deref()
        .expect("finish reports that the upload did not complete");
    assert!(
        error.contains("wandb sync"),
        "the upload error says how to upload the run later: {error}"
    );
    assert_eq!(
        (report.rows_logged, report.rows_written),
        (rows as u64, rows as u64)
    );
    let expected: Vec<i64> = (0..i64::try_from(rows).expect("i64")).collect();
    assert_eq!(local_steps(&report, "d0wn0001"), expected);
    assert!(
        !server.stream().is_empty(),
        "the upload was attempted (the server was reachable, only failing)"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_stop_request_from_the_server_reaches_should_stop() {
    let server = MockWandb::start(Script::ok(), Script::new([], Reply::Stopped));
    let dir = scratch("stop");
    let run = builder(&server, &dir, "st0p0001").init().expect("init");
    let stopped = bounded(move || {
        // A training loop: log, check `should_stop`, until told to stop or out of patience.
        let deadline = Instant::now() + Duration::from_secs(17);
        let mut stopped = false;
        while !stopped && Instant::now() < deadline {
            run.log([("loss", 0.5)]).expect("log");
            std::thread::sleep(Duration::from_millis(20));
            stopped = run.should_stop();
        }
        run.finish(1).expect("finish");
        stopped
    });
    assert!(
        stopped,
        "should_stop turned true after the server's stop request"
    );
    std::fs::remove_dir_all(&dir).ok();
}
