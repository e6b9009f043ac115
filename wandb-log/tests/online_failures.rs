//! Failure injection for online runs, through the public API only: a scripted mock W&B
//! (plain HTTP/1.1 on 127.0.0.1) answers each request with a reply, an error status, a 429
//! with `Retry-After`, or a dropped connection, and records what it received. The server's
//! history is rebuilt from the accepted (2xx) file-stream requests, as the backend would
//! (each line at its offset), and must equal the rows logged: exactly once, in order.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
/// How long the logging waits, between bursts, for the server to accept the rows so far.
const PACE_TIMEOUT: Duration = Duration::from_secs(3);

// ---------------------------------------------------------------------------------------
// The scripted mock server
// ---------------------------------------------------------------------------------------

/// What the server does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    /// 200 with the normal answer (the run for `UpsertBucket`, `{}` for the file stream).
    Ok,
    /// 200 with `{"stopped": true}` (someone pressed Stop in the UI).
    Stopped,
    /// This status, with a short body.
    Status(u16),
    /// 429 with `Retry-After: <seconds>`.
    RateLimited(u64),
    /// Reads the request line and headers, then closes without reading the body: the
    /// unread bytes make the kernel reset the connection.
    Reset,
    /// Reads the whole request, then closes without answering.
    Hangup,
}

/// The replies to one route's requests: 503 until `down_until`, else `first` in order of
/// arrival, then `then` for the rest.
#[derive(Debug, Clone)]
struct Script {
    first: Vec<Reply>,
    then: Reply,
    down_until: Option<Instant>,
}

impl Script {
    fn ok() -> Script {
        Script::new([], Reply::Ok)
    }

    fn new(first: impl IntoIterator<Item = Reply>, then: Reply) -> Script {
        Script {
            first: first.into_iter().collect(),
            then,
            down_until: None,
        }
    }

    /// 503 for `outage` from now, then 200.
    fn down_for(outage: Duration) -> Script {
        Script {
            down_until: Some(Instant::now() + outage),
            ..Script::ok()
        }
    }

    fn reply(&self, nth: usize) -> Reply {
        if self.down_until.is_some_and(|t| Instant::now() < t) {
            return Reply::Status(503);
        }
        self.first.get(nth).copied().unwrap_or(self.then)
    }
}

/// What a request asked for: a GraphQL operation (by name) or the file stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Route {
    GraphQl(String),
    FileStream,
    Other,
}

/// One request the server received and what it did with it.
#[derive(Debug, Clone)]
struct Exchange {
    route: Route,
    /// `None` when the connection was reset before the body was read.
    body: Option<Value>,
    reply: Reply,
}

impl Exchange {
    /// Whether the server took the request (a 2xx).
    fn accepted(&self) -> bool {
        matches!(self.reply, Reply::Ok | Reply::Stopped)
    }

    /// The history lines of a file-stream request: `(offset, lines)`.
    fn history(&self) -> Option<(usize, Vec<String>)> {
        let file = self
            .body
            .as_ref()?
            .get("files")?
            .get("wandb-history.jsonl")?;
        let offset =
            usize::try_from(file["offset"].as_u64().expect("history offset")).expect("offset fits");
        let lines = file["content"]
            .as_array()
            .expect("history content")
            .iter()
            .map(|l| l.as_str().expect("a line is a string").to_owned())
            .collect();
        Some((offset, lines))
    }
}

/// A mock W&B on 127.0.0.1: `UpsertBucket` and the file stream answer per their scripts,
/// other GraphQL operations succeed. Stops when dropped.
struct MockWandb {
    url: String,
    log: Arc<Mutex<Vec<Exchange>>>,
    done: Arc<AtomicBool>,
}

impl MockWandb {
    fn start(upsert: Script, stream: Script) -> MockWandb {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let log: Arc<Mutex<Vec<Exchange>>> = Arc::default();
        let done = Arc::new(AtomicBool::new(false));
        let (shared, stop) = (Arc::clone(&log), Arc::clone(&done));
        let scripts = Arc::new(HashMap::from([
            (Route::GraphQl("UpsertBucket".into()), upsert),
            (Route::FileStream, stream),
        ]));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (log, scripts) = (Arc::clone(&shared), Arc::clone(&scripts));
                std::thread::spawn(move || serve(conn, &scripts, &log));
            }
        });
        MockWandb { url, log, done }
    }

    /// The requests to `route`, in order of arrival.
    fn received(&self, route: &Route) -> Vec<Exchange> {
        let log = self.log.lock().expect("log");
        log.iter().filter(|e| &e.route == route).cloned().collect()
    }

    /// The file-stream requests, in order of arrival.
    fn stream(&self) -> Vec<Exchange> {
        self.received(&Route::FileStream)
    }

    /// A pause for [`log_rows`] between bursts: until the server has accepted `rows` history
    /// lines, or [`PACE_TIMEOUT`]. Each burst then goes out (and meets the injected failures)
    /// while the run is running, not all at `finish`.
    fn pacer(&self) -> impl Fn(usize) + Send + 'static {
        let log = Arc::clone(&self.log);
        move |rows| {
            let deadline = Instant::now() + PACE_TIMEOUT;
            while Instant::now() < deadline {
                let accepted = log
                    .lock()
                    .expect("log")
                    .iter()
                    .filter(|e| e.accepted())
                    .filter_map(Exchange::history)
                    .map(|(offset, lines)| offset + lines.len())
                    .max()
                    .unwrap_or(0);
                if accepted >= rows {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Backend settings pointing at this server.
    fn settings(&self) -> wandb_api::Settings {
        wandb_api::Settings::builder()
            .base_url(&self.url)
            .api_key("local-0123456789012345678901234567890123456789")
            .entity("mock-entity")
            .project("proj")
            .resolve_with(|_| None, None)
            .expect("settings")
    }
}

impl Drop for MockWandb {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        // Wakes the accept loop so that it sees `done`.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

/// Reads the request line and the headers: the path and the body's length.
fn read_head(reader: &mut impl BufRead) -> Option<(String, usize)> {
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let path = request_line.split_whitespace().nth(1)?.to_owned();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line.trim().is_empty() {
            return Some((path, length));
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
}

/// Reads a JSON body of `length` bytes.
fn read_body(reader: &mut impl Read, length: usize) -> Option<Value> {
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// Answers one request on `conn`; every answer closes the connection.
fn serve(conn: TcpStream, scripts: &HashMap<Route, Script>, log: &Mutex<Vec<Exchange>>) {
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut reader = BufReader::new(conn);
    let Some((path, length)) = read_head(&mut reader) else {
        return;
    };
    // GraphQL requests are told apart by their operation, so their body is read first (a
    // `Reset` of one is a `Hangup`). File-stream requests are scripted before their body is
    // read, so that a `Reset` leaves it unread.
    let mut body = None;
    let route = if path.starts_with("/files/") && path.ends_with("/file_stream") {
        Route::FileStream
    } else {
        let Some(graphql) = read_body(&mut reader, length) else {
            return;
        };
        let op = graphql["operationName"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        body = Some(graphql);
        if path == "/graphql" {
            Route::GraphQl(op)
        } else {
            Route::Other
        }
    };
    // Scripted and recorded under one lock: the n-th request to a route gets the n-th reply.
    let mut received = log.lock().expect("log");
    let nth = received.iter().filter(|e| e.route == route).count();
    let reply = match (scripts.get(&route), &route) {
        (Some(script), _) => script.reply(nth),
        (None, Route::GraphQl(_)) => Reply::Ok,
        (None, _) => Reply::Status(404),
    };
    if body.is_none() && reply != Reply::Reset {
        body = read_body(&mut reader, length);
        if body.is_none() {
            return;
        }
    }
    received.push(Exchange {
        route,
        body: body.clone(),
        reply,
    });
    drop(received);
    let mut conn = reader.into_inner();
    if let Some(bytes) = body.and_then(|b| answer(reply, &b)) {
        let _ = conn.write_all(&bytes);
    }
    let _ = conn.shutdown(Shutdown::Both);
}

/// The HTTP response for `reply` to a request with `body`, or `None` to hang up.
fn answer(reply: Reply, body: &Value) -> Option<Vec<u8>> {
    let (status, extra, payload) = match reply {
        Reply::Ok if body.get("operationName").is_some() => {
            (200, String::new(), graphql_answer(body))
        }
        Reply::Ok => (200, String::new(), json!({})),
        Reply::Stopped => (200, String::new(), json!({ "stopped": true })),
        Reply::Status(s) => (s, String::new(), json!({ "error": "injected failure" })),
        Reply::RateLimited(secs) => (
            429,
            format!("retry-after: {secs}\r\n"),
            json!({ "error": "rate limited" }),
        ),
        Reply::Reset | Reply::Hangup => return None,
    };
    let payload = payload.to_string();
    Some(
        format!(
            "HTTP/1.1 {status} Mock\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{payload}",
            payload.len()
        )
        .into_bytes(),
    )
}

/// The answer to a GraphQL operation: the run for `UpsertBucket` (named as asked), a viewer.
fn graphql_answer(body: &Value) -> Value {
    match body["operationName"].as_str() {
        Some("UpsertBucket") => json!({ "data": { "upsertBucket": { "inserted": true, "bucket": {
            "id": "UnVuOjE=", "name": body["variables"]["name"], "displayName": null,
            "description": null, "config": null, "sweepName": null,
            "project": { "id": "UHJvamVjdDox", "name": "proj",
                         "entity": { "id": "RW50aXR5OjE=", "name": "mock-entity" } },
            "historyLineCount": 0 } } } }),
        Some("Viewer") => json!({ "data": { "viewer": { "id": "VXNlcjox", "entity": "mock-entity",
            "username": "mock-user", "email": "", "flags": null, "teams": { "edges": [] } } } }),
        _ => json!({ "errors": [{ "message": "operation not mocked" }] }),
    }
}

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

/// The server-side history: the lines of every accepted file-stream request placed at its
/// offset. Fails on a gap (an offset past the end) and on a line sent twice.
fn server_history(stream: &[Exchange]) -> Vec<Value> {
    let mut lines: Vec<Value> = Vec::new();
    for (offset, content) in stream
        .iter()
        .filter(|e| e.accepted())
        .filter_map(Exchange::history)
    {
        assert!(
            offset <= lines.len(),
            "gap: a request at offset {offset} but the server holds {} lines",
            lines.len()
        );
        assert!(
            offset >= lines.len(),
            "duplicate: a request at offset {offset} re-sends lines {offset}..{} the server already accepted",
            lines.len()
        );
        lines.extend(
            content
                .iter()
                .map(|l| serde_json::from_str(l).expect("a history line is JSON")),
        );
    }
    lines
}

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
    assert_rows(&server_history(&stream), rows);
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
    // Down for two seconds (one request's policy gives up within milliseconds) while rows
    // keep coming: they join the failed rows, and everything goes once the server is back.
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
