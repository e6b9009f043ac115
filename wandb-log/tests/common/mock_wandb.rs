//! A scripted mock W&B (plain HTTP/1.1 on 127.0.0.1) for failure injection: it answers each
//! request with a reply, an error status, a 429 with `Retry-After`, or a dropped connection,
//! and records what it received, so that a test can rebuild the server's history from the
//! accepted (2xx) file-stream requests, as the backend would (each line at its offset).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long the logging waits, between bursts, for the server to accept the rows so far.
const PACE_TIMEOUT: Duration = Duration::from_secs(3);

/// What the server does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
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

/// The replies to one route's requests: 503 during an outage that starts with the route's
/// first request, else `first` in order of arrival, then `then` for the rest.
#[derive(Debug, Clone)]
pub(crate) struct Script {
    first: Vec<Reply>,
    then: Reply,
    /// How long the outage lasts, and when it started (at the first request: a slow start of
    /// the client under load does not use it up).
    outage: Option<(Duration, Arc<OnceLock<Instant>>)>,
}

impl Script {
    pub(crate) fn ok() -> Script {
        Script::new([], Reply::Ok)
    }

    pub(crate) fn new(first: impl IntoIterator<Item = Reply>, then: Reply) -> Script {
        Script {
            first: first.into_iter().collect(),
            then,
            outage: None,
        }
    }

    /// 503 for `outage` from the first request, then 200.
    pub(crate) fn down_for(outage: Duration) -> Script {
        Script {
            outage: Some((outage, Arc::new(OnceLock::new()))),
            ..Script::ok()
        }
    }

    pub(crate) fn reply(&self, nth: usize) -> Reply {
        if let Some((outage, start)) = &self.outage
            && start.get_or_init(Instant::now).elapsed() < *outage
        {
            return Reply::Status(503);
        }
        self.first.get(nth).copied().unwrap_or(self.then)
    }
}

/// What a request asked for: a GraphQL operation (by name) or the file stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Route {
    GraphQl(String),
    FileStream,
    Other,
}

/// One request the server received and what it did with it.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    pub(crate) route: Route,
    /// `None` when the connection was reset before the body was read.
    pub(crate) body: Option<Value>,
    pub(crate) reply: Reply,
}

impl Exchange {
    /// Whether the server took the request (a 2xx).
    pub(crate) fn accepted(&self) -> bool {
        matches!(self.reply, Reply::Ok | Reply::Stopped)
    }

    /// The history lines of a file-stream request: `(offset, lines)`.
    pub(crate) fn history(&self) -> Option<(usize, Vec<String>)> {
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
pub(crate) struct MockWandb {
    url: String,
    log: Arc<Mutex<Vec<Exchange>>>,
    done: Arc<AtomicBool>,
    /// History lines the server holds before any request (a run uploaded in part).
    held: Arc<AtomicU64>,
}

impl MockWandb {
    pub(crate) fn start(upsert: Script, stream: Script) -> MockWandb {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let log: Arc<Mutex<Vec<Exchange>>> = Arc::default();
        let done = Arc::new(AtomicBool::new(false));
        let (shared, stop) = (Arc::clone(&log), Arc::clone(&done));
        let held = Arc::new(AtomicU64::new(0));
        let held_before = Arc::clone(&held);
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
                let held = held_before.load(Ordering::Relaxed);
                std::thread::spawn(move || serve(conn, &scripts, &log, held));
            }
        });
        MockWandb {
            url,
            log,
            done,
            held,
        }
    }

    /// The server holds the run with `lines` history lines already (answered by
    /// `RunResumeStatus`); they do not appear in [`MockWandb::stream`].
    pub(crate) fn holding(self, lines: u64) -> MockWandb {
        self.held.store(lines, Ordering::Relaxed);
        self
    }

    /// The requests to `route`, in order of arrival.
    pub(crate) fn received(&self, route: &Route) -> Vec<Exchange> {
        let log = self.log.lock().expect("log");
        log.iter().filter(|e| &e.route == route).cloned().collect()
    }

    /// The file-stream requests, in order of arrival.
    pub(crate) fn stream(&self) -> Vec<Exchange> {
        self.received(&Route::FileStream)
    }

    /// A pause for [`log_rows`] between bursts: until the server has accepted `rows` history
    /// lines, or [`PACE_TIMEOUT`]. Each burst then goes out (and meets the injected failures)
    /// while the run is running, not all at `finish`.
    pub(crate) fn pacer(&self) -> impl Fn(usize) + Send + 'static {
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
    pub(crate) fn settings(&self) -> wandb_api::Settings {
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
pub(crate) fn read_head(reader: &mut impl BufRead) -> Option<(String, usize)> {
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
pub(crate) fn read_body(reader: &mut impl Read, length: usize) -> Option<Value> {
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// Answers one request on `conn`; every answer closes the connection.
pub(crate) fn serve(
    conn: TcpStream,
    scripts: &HashMap<Route, Script>,
    log: &Mutex<Vec<Exchange>>,
    held: u64,
) {
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
    let stored = stored_lines(&received).max(held);
    received.push(Exchange {
        route,
        body: body.clone(),
        reply,
    });
    drop(received);
    let mut conn = reader.into_inner();
    if let Some(bytes) = body.and_then(|b| answer(reply, &b, stored)) {
        let _ = conn.write_all(&bytes);
    }
    let _ = conn.shutdown(Shutdown::Both);
}

/// The HTTP response for `reply` to a request with `body`, or `None` to hang up.
pub(crate) fn answer(reply: Reply, body: &Value, stored: u64) -> Option<Vec<u8>> {
    let (status, extra, payload) = match reply {
        Reply::Ok if body.get("operationName").is_some() => {
            (200, String::new(), graphql_answer(body, stored))
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

/// The history lines the accepted file-stream requests stored (the end of the furthest).
fn stored_lines(log: &[Exchange]) -> u64 {
    log.iter()
        .filter(|e| e.accepted())
        .filter_map(Exchange::history)
        .map(|(offset, lines)| (offset + lines.len()) as u64)
        .max()
        .unwrap_or(0)
}

/// The answer to a GraphQL operation: the run for `UpsertBucket` (named as asked), a viewer,
/// and for `RunResumeStatus` the run with the `stored` history lines (null when none, as W&B
/// answers for a run it does not have).
pub(crate) fn graphql_answer(body: &Value, stored: u64) -> Value {
    match body["operationName"].as_str() {
        Some("RunResumeStatus") if stored == 0 => json!({ "data": { "model": {
            "id": "UHJvamVjdDox", "name": "proj",
            "entity": { "id": "RW50aXR5OjE=", "name": "mock-entity" }, "bucket": null } } }),
        Some("RunResumeStatus") => json!({ "data": { "model": {
            "id": "UHJvamVjdDox", "name": "proj",
            "entity": { "id": "RW50aXR5OjE=", "name": "mock-entity" },
            "bucket": { "id": "UnVuOjE=", "name": body["variables"]["name"],
                "summaryMetrics": "{}", "displayName": null, "logLineCount": 0,
                "historyLineCount": stored, "eventsLineCount": 0, "historyTail": "[]",
                "eventsTail": "[]", "config": "{}", "tags": [], "notes": null,
                "wandbConfig": "{\"t\": {\"1\": []}}" } } } }),
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

/// The server-side history: the lines of every accepted file-stream request placed at its
/// offset. Fails on a gap (an offset past the end) and on a line sent twice.
pub(crate) fn server_history(held: usize, stream: &[Exchange]) -> Vec<Value> {
    let mut lines: Vec<Value> = vec![Value::Null; held];
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
    lines.split_off(held)
}
