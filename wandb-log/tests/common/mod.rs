//! Shared by the online test files: a mock W&B that creates runs and accepts file streams,
//! scratch directories.
#![allow(dead_code, reason = "each test file uses part of it")]

pub(crate) mod mock_wandb;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A fresh scratch directory `wandb-log-<name>-<pid>`.
pub(crate) fn tmp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("wandb-log-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).expect("mkdir");
    p
}

/// An online run's environment: the mock server at `base`, entity `mock-entity`, project
/// `proj`, files under `dir`.
pub(crate) fn env(base: &str, dir: &Path) -> HashMap<&'static str, String> {
    [
        ("WANDB_MODE", "online".to_owned()),
        ("WANDB_BASE_URL", base.to_owned()),
        (
            "WANDB_API_KEY",
            "local-0123456789012345678901234567890123456789".to_owned(),
        ),
        ("WANDB_ENTITY", "mock-entity".to_owned()),
        ("WANDB_PROJECT", "proj".to_owned()),
        ("WANDB_DIR", dir.display().to_string()),
        ("HOME", dir.display().to_string()),
    ]
    .into_iter()
    .collect()
}

/// Answers `UpsertBucket` with a new run `run_id` in `entity/project`.
pub(crate) async fn mount_upsert(server: &MockServer, entity: &str, project: &str, run_id: &str) {
    let bucket = json!({
        "id": "UnVuOjE=", "name": run_id, "displayName": null, "description": null,
        "config": null, "sweepName": null, "historyLineCount": 0,
        "project": { "id": "UHJvamVjdDox", "name": project, "entity": { "id": "RW50aXR5OjE=", "name": entity } },
    });
    Mock::given(method("POST"))
        .and(body_partial_json(
            json!({ "operationName": "UpsertBucket" }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "data": { "upsertBucket": { "inserted": true, "bucket": bucket } } }),
        ))
        .mount(server)
        .await;
}

/// Answers `RunResumeStatus` as W&B does: `bucket` is null for a run it does not have (the
/// captured reply of the official client's resume), else the stored run.
pub(crate) async fn mount_resume_status(server: &MockServer, bucket: Value) {
    Mock::given(method("POST"))
        .and(body_partial_json(
            json!({ "operationName": "RunResumeStatus" }),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "data": { "model": {
            "id": "UHJvamVjdDox", "name": "proj",
            "entity": { "id": "RW50aXR5OjE=", "name": "mock-entity" },
            "bucket": bucket,
        } } })),
        )
        .mount(server)
        .await;
}

/// Answers every file-stream request with `reply`.
pub(crate) async fn mount_file_stream(server: &MockServer, reply: Value) {
    Mock::given(method("POST"))
        .and(path_regex("/file_stream$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply))
        .mount(server)
        .await;
}

/// The JSON bodies the server received, in order.
pub(crate) async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter_map(|r| serde_json::from_slice(&r.body).ok())
        .collect()
}

/// Answers `CreateRunFiles` as W&B does: an upload URL on this server (`/upload/<name>`) for
/// each name asked for.
/// The lines of `file` (`output.log`, `wandb-events.jsonl`, ...) in the file-stream requests
/// of `bodies`, each with its offset, in request order.
pub(crate) fn streamed_lines(bodies: &[Value], file: &str) -> Vec<(u64, String)> {
    let mut lines = Vec::new();
    for part in bodies.iter().filter_map(|b| b.get("files")?.get(file)) {
        let offset = part["offset"].as_u64().expect("offset");
        let content = part["content"].as_array().expect("content");
        for (line, at) in content.iter().zip(offset..) {
            lines.push((at, line.as_str().expect("a text line").to_owned()));
        }
    }
    lines
}

pub(crate) async fn mount_run_files(server: &MockServer) {
    struct UploadUrls(String);
    impl wiremock::Respond for UploadUrls {
        fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            let files: Vec<Value> = body["variables"]["files"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| {
                    let name = n.as_str().unwrap_or_default();
                    json!({ "name": name, "uploadUrl": format!("{}/upload/{name}?X-Signature=secret", self.0) })
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({ "data": { "createRunFiles": {
                "runID": "UnVuOjE=", "uploadHeaders": [], "files": files } } }))
        }
    }
    Mock::given(method("POST"))
        .and(body_partial_json(
            json!({ "operationName": "CreateRunFiles" }),
        ))
        .respond_with(UploadUrls(server.uri()))
        .mount(server)
        .await;
}

/// Answers every PUT of a file with 200.
pub(crate) async fn mount_puts(server: &MockServer) {
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200))
        .mount(server)
        .await;
}

/// The PUTs the server received: `(path, body)`, in order.
pub(crate) async fn puts(server: &MockServer) -> Vec<(String, Vec<u8>)> {
    server
        .received_requests()
        .await
        .expect("recorded")
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .map(|r| (r.url.path().to_owned(), r.body))
        .collect()
}

/// The file names of every `CreateRunFiles` request, in order.
pub(crate) async fn run_files_asked(server: &MockServer) -> Vec<String> {
    bodies(server)
        .await
        .iter()
        .filter(|b| b["operationName"] == "CreateRunFiles")
        .flat_map(|b| {
            b["variables"]["files"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect()
}

/// The records of a run directory's `.wandb` log.
pub(crate) fn records(run_dir: &Path) -> Vec<wandb_log::proto::Record> {
    let log = std::fs::read_dir(run_dir)
        .expect("run dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "wandb"))
        .expect("a .wandb log");
    wandb_log::LogReader::new(std::fs::File::open(log).expect("open"))
        .expect("header")
        .collect::<Result<_, _>>()
        .expect("records")
}

/// `(stderr, line)` of every `output_raw` record of a run directory's log.
pub(crate) fn output_lines(run_dir: &Path) -> Vec<(bool, String)> {
    records(run_dir)
        .into_iter()
        .filter_map(|r| match r.record_type {
            Some(wandb_log::proto::record::RecordType::OutputRaw(o)) => {
                Some((o.output_type == 0, o.line))
            }
            _ => None,
        })
        .collect()
}

/// An offline run writing under `dir`, every other setting from the environment.
pub(crate) fn offline_run(dir: &Path) -> wandb_log::Run {
    wandb_log::Run::builder()
        .mode(wandb_log::Mode::Offline)
        .dir(dir)
        .init()
        .expect("init")
}

/// `wandb_log::sync` of `run_dir` to the mock at `server` (entity `mock-entity`, project
/// `proj` unless the log names its own), off the async runtime.
pub(crate) async fn sync_to(
    server: &MockServer,
    run_dir: PathBuf,
    options: wandb_log::SyncOptions,
) -> wandb_log::SyncReport {
    let api = wandb_api::Settings::builder()
        .base_url(server.uri())
        .api_key("local-0123456789012345678901234567890123456789")
        .entity("mock-entity")
        .project("proj")
        .resolve_with(|_| None, None)
        .expect("settings");
    tokio::task::spawn_blocking(move || wandb_log::sync(&run_dir, api, &options))
        .await
        .expect("join")
        .expect("sync")
}

/// A mock W&B for an online run `run_id` in `mock-entity/proj` that accepts its file stream
/// and its files; and the run's environment with files under `dir`.
pub(crate) async fn online_run_server(
    run_id: &str,
    dir: &Path,
) -> (MockServer, HashMap<&'static str, String>) {
    let server = MockServer::start().await;
    mount_upsert(&server, "mock-entity", "proj", run_id).await;
    mount_file_stream(&server, json!({})).await;
    mount_run_files(&server).await;
    mount_puts(&server).await;
    let mut e = env(&server.uri(), dir);
    e.insert("WANDB_RUN_ID", run_id.to_owned());
    (server, e)
}
