//! System metrics and run metadata, end to end: the records an offline run writes compared
//! with the official client's (`fixtures/stats-environment-0.31.0.txt`, the `environment`
//! and `stats` records of an offline run of wandb 0.31.0), `files/wandb-metadata.json`,
//! and the `wandb-events.jsonl` lines an online run sends (from the server's offset when
//! it resumes). The sampler runs every 0.1 s here; tests wait for samples, never on time.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use wandb_log::proto::record::RecordType;
use wandb_log::proto::{EnvironmentRecord, Record, StatsRecord};
use wandb_log::{LogReader, Mode, Resume, Run};
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REFERENCE: &str = include_str!("fixtures/stats-environment-0.31.0.txt");
const RESUME_CAPTURE: &str = include_str!("fixtures/online_run_resume_existing.jsonl");
/// How many times a test looks for samples before it gives up (0.1 s apart).
const PATIENCE: u32 = 600;

/// The records of a run's log (everything the writer has stored).
fn records(run: &Run) -> Vec<Record> {
    run.flush(Duration::from_secs(30)).expect("flush");
    let dir = run.dir().expect("dir");
    let log = dir.join(format!("run-{}.wandb", run.id()));
    LogReader::new(std::fs::File::open(log).expect("log"))
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("records")
}

fn stats(records: &[Record]) -> Vec<StatsRecord> {
    records
        .iter()
        .filter_map(|r| match &r.record_type {
            Some(RecordType::Stats(s)) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn environments(records: &[Record]) -> Vec<EnvironmentRecord> {
    records
        .iter()
        .filter_map(|r| match &r.record_type {
            Some(RecordType::Environment(e)) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// Waits until the run's log holds `n` stats records.
fn wait_for_stats(run: &Run, n: usize) -> Vec<Record> {
    for _ in 0..PATIENCE {
        let all = records(run);
        if stats(&all).len() >= n {
            return all;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("fewer than {n} samples");
}

/// The top-level field names of a record in protobuf text format.
fn text_fields(text: &str) -> BTreeSet<String> {
    let mut fields = BTreeSet::new();
    let (mut depth, mut quoted, mut escaped) = (0i32, false, false);
    // The identifier just read, and whether whitespace followed it.
    let (mut word, mut ended) = (String::new(), false);
    for c in text.chars() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                word.clear();
            }
            ':' | '{' => {
                if depth == 0 && !word.is_empty() {
                    fields.insert(word.clone());
                }
                word.clear();
                if c == '{' {
                    depth += 1;
                }
            }
            '}' => {
                depth -= 1;
                word.clear();
            }
            c if c.is_alphanumeric() || c == '_' => {
                if ended {
                    word.clear();
                }
                word.push(c);
            }
            c if c.is_whitespace() => {
                ended = !word.is_empty();
                continue;
            }
            _ => word.clear(),
        }
        ended = false;
    }
    fields
}

#[test]
fn the_reference_records_are_read_field_by_field() {
    let envs = reference("environment");
    let names = |i: usize| text_fields(envs[i]).into_iter().collect::<Vec<_>>();
    assert_eq!(
        names(0),
        [
            "args",
            "executable",
            "host",
            "os",
            "program",
            "python",
            "root",
            "started_at",
            "writer_id"
        ]
    );
    assert_eq!(
        names(1),
        [
            "cpu",
            "cpu_count",
            "cpu_count_logical",
            "disk",
            "memory",
            "writer_id"
        ]
    );
    assert!(reference_stats_keys().contains("disk.*.in"));
}

/// The fields an environment record sets.
fn set_fields(e: &EnvironmentRecord) -> BTreeSet<String> {
    let checks = [
        ("os", !e.os.is_empty()),
        ("python", !e.python.is_empty()),
        ("started_at", e.started_at.is_some()),
        ("args", !e.args.is_empty()),
        ("program", !e.program.is_empty()),
        ("root", !e.root.is_empty()),
        ("host", !e.host.is_empty()),
        ("executable", !e.executable.is_empty()),
        ("git", e.git.is_some()),
        ("cpu_count", e.cpu_count > 0),
        ("cpu_count_logical", e.cpu_count_logical > 0),
        ("disk", !e.disk.is_empty()),
        ("memory", e.memory.is_some()),
        ("cpu", e.cpu.is_some()),
        ("gpu_nvidia", !e.gpu_nvidia.is_empty()),
        ("writer_id", !e.writer_id.is_empty()),
    ];
    checks
        .iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| (*name).to_owned())
        .collect()
}

/// A stats key with its device name made generic (`disk.vda.in` -> `disk.*.in`).
fn generic(key: &str) -> String {
    match key.strip_prefix("disk.") {
        Some(rest) if !rest.starts_with("/.") => {
            let suffix = rest.rsplit('.').next().unwrap_or_default();
            format!("disk.*.{suffix}")
        }
        _ => key.to_owned(),
    }
}

/// The reference's records of one type, as text.
fn reference(kind: &str) -> Vec<&'static str> {
    REFERENCE
        .lines()
        .filter_map(|l| l.strip_prefix(kind)?.strip_prefix(' '))
        .collect()
}

/// The stats keys of the reference (made generic).
fn reference_stats_keys() -> BTreeSet<String> {
    reference("stats")
        .iter()
        .flat_map(|l| l.split("key: \"").skip(1))
        .filter_map(|s| s.split('"').next())
        .map(generic)
        .collect()
}

#[test]
fn an_offline_run_records_stats_and_metadata_as_the_official_client() {
    let dir = common::tmp("sysmetrics-offline");
    let run = Run::builder()
        .mode(Mode::Offline)
        .dir(&dir)
        .stats_interval(Duration::from_millis(100))
        .init()
        .expect("init");
    run.log([("loss", 0.5)]).expect("log");
    let all = wait_for_stats(&run, 3);
    let report = run.finish(0).expect("finish");
    assert_eq!(report.rows_written, 1);

    // Two environment records, as the official client writes them, with one writer id.
    let envs = environments(&all);
    assert_eq!(envs.len(), 2, "the context, then the resources");
    assert!(!envs[0].writer_id.is_empty());
    assert_eq!(envs[0].writer_id, envs[1].writer_id);
    let references = reference("environment");
    for (ours, theirs) in envs.iter().zip(&references) {
        let mut expected = text_fields(theirs);
        // Not a Python program; arguments only when the test runner has some.
        expected.remove("python");
        expected.remove("args");
        if !cfg!(target_os = "linux") {
            expected.remove("disk");
        }
        let set = set_fields(ours);
        let missing: Vec<_> = expected.difference(&set).collect();
        assert!(
            missing.is_empty(),
            "fields the official record has: {missing:?}"
        );
    }
    assert!(envs[0].started_at.as_ref().expect("start").seconds > 1_600_000_000);

    // files/wandb-metadata.json: both merged, named by a files record.
    let files: Vec<_> = all
        .iter()
        .filter_map(|r| match &r.record_type {
            Some(RecordType::Files(f)) => Some(f.files.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.path == "wandb-metadata.json" && f.r#type == 1),
        "a files record of type WANDB: {files:?}"
    );
    let run_dir = report.dir.expect("dir");
    let text = std::fs::read_to_string(run_dir.join("files/wandb-metadata.json")).expect("file");
    let metadata: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(metadata["writerId"], envs[0].writer_id.as_str());
    assert_eq!(metadata["host"], envs[0].host.as_str());
    assert_eq!(
        metadata["memory"]["total"],
        envs[1]
            .memory
            .as_ref()
            .expect("memory")
            .total
            .to_string()
            .as_str(),
        "64-bit numbers are strings, as in protobuf's JSON"
    );
    assert!(metadata["startedAt"].as_str().expect("time").ends_with('Z'));

    // Stats records: the official keys, values as the official client writes them.
    let samples = stats(&all);
    let theirs = reference_stats_keys();
    let mut ours = BTreeSet::new();
    for s in &samples {
        assert_eq!(s.stats_type, 0, "SYSTEM");
        assert!(s.timestamp.is_some());
        for item in &s.item {
            let v: f64 = item.value_json.parse().expect("a number");
            assert!(v.is_finite(), "{}: {}", item.key, item.value_json);
            assert!(
                item.value_json.contains(['.', 'e']),
                "a float, as `4.0`: {}",
                item.value_json
            );
            ours.insert(generic(&item.key));
        }
    }
    let unknown: Vec<_> = ours
        .iter()
        .filter(|k| !theirs.contains(*k) && !k.starts_with("gpu."))
        .collect();
    assert!(
        unknown.is_empty(),
        "keys the official client does not send: {unknown:?}"
    );
    let mut required = vec![
        "cpu",
        "memory_percent",
        "proc.memory.availableMB",
        "proc.memory.rssMB",
        "proc.memory.percent",
        "network.sent",
        "network.recv",
    ];
    if cfg!(target_os = "linux") {
        required.extend(["proc.cpu.threads", "network.tcpRetransmits"]);
    }
    for key in required {
        assert!(ours.contains(key), "{key} missing from {ours:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A mock W&B for an online run; `resumed` answers `RunResumeStatus` with the captured
/// stored run (3 events lines stored).
async fn server(resumed: bool) -> MockServer {
    let server = MockServer::start().await;
    if resumed {
        let captured = |op: &str| {
            RESUME_CAPTURE
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|r| r["body"]["operationName"] == op)
                .map(|r| r["response"].clone())
                .expect("operation in the capture")
        };
        for op in ["RunResumeStatus", "UpsertBucket"] {
            Mock::given(method("POST"))
                .and(body_partial_json(json!({ "operationName": op })))
                .respond_with(ResponseTemplate::new(200).set_body_json(captured(op)))
                .mount(&server)
                .await;
        }
    } else {
        common::mount_upsert(&server, "mock-entity", "proj", "events01").await;
    }
    common::mount_file_stream(&server, json!({})).await;
    server
}

/// Runs an online run until its log holds 3 samples; returns the events lines the server
/// received as `(offset, line)`, and how many samples the log held before finish.
async fn online_events(resumed: bool, id: &str) -> (Vec<(u64, String)>, usize) {
    let server = server(resumed).await;
    let dir = common::tmp(&format!("sysmetrics-{id}"));
    let mut e = common::env(&server.uri(), &dir);
    e.insert("WANDB__STATS_SAMPLING_INTERVAL", "0.1".to_owned());
    let id = id.to_owned();
    let samples = tokio::task::spawn_blocking(move || {
        let mut b = Run::builder().id(id);
        if resumed {
            b = b.resume(Resume::Allow);
        }
        let run = b.init_with(|k| e.get(k).cloned()).expect("init");
        run.log([("loss", 0.5)]).expect("log");
        let n = stats(&wait_for_stats(&run, 3)).len();
        let report = run.finish(0).expect("finish");
        assert_eq!(report.upload_error, None);
        n
    })
    .await
    .expect("join");
    let bodies = common::bodies(&server).await;
    // The metadata goes into config `_wandb.e.<writer id>`, as the official client sends it.
    let metadata: Vec<Value> = bodies
        .iter()
        .filter(|b| b["operationName"] == "UpsertBucket")
        .filter_map(|b| serde_json::from_str::<Value>(b["variables"]["config"].as_str()?).ok())
        .filter_map(|c| {
            c["_wandb"]["value"]["e"]
                .as_object()?
                .values()
                .next()
                .cloned()
        })
        .collect();
    assert_eq!(metadata.len(), 1, "sent once");
    assert!(metadata[0]["host"].is_string() && metadata[0]["writerId"].is_string());
    assert!(
        metadata[0]["memory"]["total"].is_string(),
        "{}",
        metadata[0]
    );
    let lines = common::streamed_lines(&bodies, "wandb-events.jsonl");
    std::fs::remove_dir_all(&dir).ok();
    (lines, samples)
}

#[tokio::test(flavor = "multi_thread")]
async fn online_samples_are_events_lines_in_the_file_stream() {
    let (lines, samples) = online_events(false, "events01").await;
    assert!(
        lines.len() >= samples,
        "every sample logged before finish is sent"
    );
    let offsets: Vec<u64> = lines.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, (0..lines.len() as u64).collect::<Vec<_>>());
    let mut last = 0.0;
    for (_, line) in &lines {
        let v: Value = serde_json::from_str(line).expect("a JSON line");
        assert_eq!(v["_wandb"], true);
        let (ts, runtime) = (
            v["_timestamp"].as_f64().expect("_timestamp"),
            v["_runtime"].as_f64().expect("_runtime"),
        );
        assert!(ts >= last && runtime >= 0.0);
        last = ts;
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert!(
            keys.iter()
                .all(|k| k.starts_with("system.") || k.starts_with('_')),
            "{keys:?}"
        );
        assert!(v["system.memory_percent"].is_number(), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resumed_run_sends_events_after_the_stored_lines() {
    let (lines, _) = online_events(true, "resum002").await;
    assert_eq!(
        lines.first().map(|(o, _)| *o),
        Some(3),
        "eventsLineCount is 3"
    );
}

#[test]
fn the_metadata_file_is_written_even_without_samples() {
    let dir = common::tmp("sysmetrics-meta-only");
    let run = Run::builder()
        .mode(Mode::Offline)
        .dir(&dir)
        .system_metrics(false)
        .init()
        .expect("init");
    let run_dir = run.dir().expect("dir");
    let mut envs = Vec::new();
    for _ in 0..PATIENCE {
        envs = environments(&records(&run));
        if envs.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(envs.len(), 2);
    run.finish(0).expect("finish");
    assert!(Path::new(&run_dir.join("files/wandb-metadata.json")).is_file());
    std::fs::remove_dir_all(&dir).ok();
}
