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
