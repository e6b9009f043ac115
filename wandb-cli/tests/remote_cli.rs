//! `wandb-rs login` and `wandb-rs sweep create|stop|pause|resume|cancel` against a mock W&B.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "local-0123456789012345678901234567890123456789";

fn wandb_rs(server: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wandb-rs"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env_clear()
        .env("WANDB_BASE_URL", server)
        .env("WANDB_API_KEY", KEY)
        .env("WANDB_ENTITY", "mock-entity")
        .env("WANDB_PROJECT", "proj")
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("wandb-rs runs")
}

async fn reply(server: &MockServer, op: &str, data: Value) {
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_partial_json(json!({ "operationName": op })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": data })))
        .mount(server)
        .await;
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn login_verify_reports_the_user_or_a_refused_key() {
    let server = MockServer::start().await;
    reply(&server, "Viewer", json!({ "viewer": { "id": "u", "entity": "mock-entity", "username": "u", "email": "", "flags": null, "teams": null } })).await;
    let o = wandb_rs(&server.uri(), &["login", "--verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("as mock-entity"));
    assert!(!text(&o.stdout).contains(KEY) && !text(&o.stderr).contains(KEY));

    let refused = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&refused)
        .await;
    let o = wandb_rs(&refused.uri(), &["login", "--verify"]);
    assert_eq!(o.status.code(), Some(2), "a refused key is a W&B error");
    assert!(text(&o.stderr).contains("refused the API key"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_or_missing_key_exits_2_in_every_command() {
    let refused = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&refused)
        .await;
    let uri = refused.uri();
    let outputs = tokio::task::spawn_blocking(move || {
        [
            vec!["login", "--verify"],
            vec!["sweep", "create", "examples/sweeps/grid.yaml"],
            vec!["sweep", "stop", "mock-entity/proj/sw33p1d"],
            vec!["sweep", "pause", "mock-entity/proj/sw33p1d"],
            vec!["sweep", "resume", "mock-entity/proj/sw33p1d"],
            vec!["sweep", "cancel", "mock-entity/proj/sw33p1d"],
            vec!["agent", "mock-entity/proj/sw33p1d", "--count", "1"],
        ]
        .map(|args| (args.join(" "), wandb_rs(&uri, &args)))
    })
    .await
    .expect("join");
    for (cmd, o) in &outputs {
        assert_eq!(
            o.status.code(),
            Some(2),
            "wandb-rs {cmd}: {}",
            text(&o.stderr)
        );
        assert!(
            text(&o.stderr).contains("refused the API key"),
            "wandb-rs {cmd}: {}",
            text(&o.stderr)
        );
    }
    let no_key = Command::new(env!("CARGO_BIN_EXE_wandb-rs"))
        .arg("login")
        .env_clear()
        .env("WANDB_BASE_URL", refused.uri())
        .env("HOME", std::env::temp_dir().join("wandb-rs-no-home"))
        .output()
        .expect("wandb-rs runs");
    assert_eq!(no_key.status.code(), Some(2), "{}", text(&no_key.stderr));
    assert!(text(&no_key.stderr).contains("no API key"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sweep_create_validates_first_then_prints_id_and_url() {
    let server = MockServer::start().await;
    reply(&server, "UpsertSweep", json!({ "upsertSweep": { "sweep": { "name": "sw33p1d", "project": { "id": "p", "name": "proj", "entity": { "id": "e", "name": "mock-entity" } } }, "configValidationWarnings": [] } })).await;
    let o = wandb_rs(
        &server.uri(),
        &["sweep", "create", "examples/sweeps/grid.yaml"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("created sweep sw33p1d"), "{out}");
    assert!(
        out.contains(&format!("{}/mock-entity/proj/sweeps/sw33p1d", server.uri())),
        "{out}"
    );
    assert!(
        out.contains("wandb agent mock-entity/proj/sw33p1d"),
        "{out}"
    );

    let bad = MockServer::start().await;
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../wandb-sweep/tests/fixtures/cases/c07_invalid_many.yaml"
    );
    let o = wandb_rs(&bad.uri(), &["sweep", "create", file]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("metric.goal"));
    assert!(
        bad.received_requests().await.expect("recorded").is_empty(),
        "nothing sent for an invalid config"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn state_commands_send_the_state() {
    let server = MockServer::start().await;
    reply(&server, "SweepWithRuns", json!({ "project": { "sweep": { "id": "U3dlZXA6MQ==", "name": "sw33p1d", "method": null, "state": "RUNNING", "description": null, "config": null, "createdAt": null, "heartbeatAt": null, "updatedAt": null, "earlyStopJobRunning": null, "bestLoss": null, "controller": null, "scheduler": null, "runs": { "edges": [] } } } })).await;
    reply(
        &server,
        "UpsertSweepState",
        json!({ "upsertSweep": { "sweep": { "state": "X" } } }),
    )
    .await;
    for (cmd, state) in [
        ("stop", "FINISHED"),
        ("pause", "PAUSED"),
        ("resume", "RUNNING"),
        ("cancel", "CANCELED"),
    ] {
        let o = wandb_rs(&server.uri(), &["sweep", cmd, "mock-entity/proj/sw33p1d"]);
        assert_eq!(o.status.code(), Some(0), "{cmd}: {}", text(&o.stderr));
        assert!(text(&o.stdout).contains(state));
    }
    let states: Vec<Value> = server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|b| b["operationName"] == "UpsertSweepState")
        .map(|b| b["variables"]["state"].clone())
        .collect();
    assert_eq!(
        states,
        [
            json!("FINISHED"),
            json!("PAUSED"),
            json!("RUNNING"),
            json!("CANCELED")
        ]
    );
}

/// An offline run `run_id` of 10 rows in `team/project`, under a fresh scratch folder
/// `<name>-<pid>`: `(folder, run directory)`.
fn offline_run(name: &str, project: &str, run_id: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = wandb_log::Run::builder()
        .entity("team")
        .project(project)
        .id(run_id)
        .mode(wandb_log::Mode::Offline)
        .dir(&dir)
        .init_with(|_| None)
        .expect("init");
    for i in 0..10 {
        run.log([("loss", f64::from(i))]).expect("log");
    }
    let run_dir = run.finish(0).expect("finish").dir.expect("dir");
    (dir, run_dir)
}

/// Answers `UpsertBucket` with run `run_id` in `team/project`, and `RunResumeStatus` with
/// no such run.
async fn mount_new_run(server: &MockServer, project: &str, run_id: &str) {
    let project_json = json!({ "id": "UHJvamVjdDox", "name": project,
        "entity": { "id": "RW50aXR5OjE=", "name": "team" } });
    reply(
        server,
        "UpsertBucket",
        json!({ "upsertBucket": { "inserted": true, "bucket": {
        "id": "UnVuOjE=", "name": run_id, "displayName": null, "description": null, "config": null,
        "sweepName": null, "project": project_json, "historyLineCount": 0 } } }),
    )
    .await;
    let mut model = project_json;
    model["bucket"] = Value::Null;
    reply(server, "RunResumeStatus", json!({ "model": model })).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_uploads_an_offline_run_with_the_logs_entity_and_a_given_project() {
    let (dir, run_dir) = offline_run("wandb-rs-sync", "old-project", "cli0sync");
    let server = MockServer::start().await;
    mount_new_run(&server, "new-project", "cli0sync").await;
    Mock::given(method("POST"))
        .and(path("/files/team/new-project/cli0sync/file_stream"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let dir_arg = run_dir.display().to_string();
    let uri = server.uri();
    let sync_twice = move || {
        let args = ["sync", &dir_arg, "--project", "new-project"];
        (wandb_rs(&uri, &args), wandb_rs(&uri, &args))
    };
    let (out, again) = tokio::task::spawn_blocking(sync_twice).await.expect("join");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(
            "run cli0sync, 10 of 10 rows sent (0 held by the server already), exit code 0"
        ),
        "{}",
        text(&out.stdout)
    );
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("run cli0sync already synced"),
        "{}",
        text(&again.stdout)
    );
    let streams = server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|r| r.url.path().ends_with("/file_stream"))
        .count();
    assert_eq!(streams, 1, "the second sync sends nothing");
    let upsert: Value = server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .find(|b| b["operationName"] == "UpsertBucket")
        .expect("upsert");
    assert_eq!(
        (
            &upsert["variables"]["entity"],
            &upsert["variables"]["project"]
        ),
        (&json!("team"), &json!("new-project")),
        "the log's entity beats WANDB_ENTITY; --project beats the log's"
    );
    let missing = wandb_rs(&server.uri(), &["sync", "no-such-dir"]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing.stderr));
    std::fs::remove_dir_all(&dir).ok();
}

/// A sync that takes a while says how far it got on stderr, every `--progress` seconds.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_sync_prints_progress_lines() {
    let (dir, run_dir) = offline_run("wandb-rs-sync-progress", "proj", "cli0prog");
    let server = MockServer::start().await;
    mount_new_run(&server, "proj", "cli0prog").await;
    // A slow server: each file-stream request is answered after 400 ms.
    Mock::given(method("POST"))
        .and(path("/files/team/proj/cli0prog/file_stream"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({}))
                .set_delay(std::time::Duration::from_millis(400)),
        )
        .mount(&server)
        .await;
    let (uri, dir_arg) = (server.uri(), run_dir.display().to_string());
    let out = tokio::task::spawn_blocking(move || {
        wandb_rs(&uri, &["sync", &dir_arg, "--progress", "0.05"])
    })
    .await
    .expect("join");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.lines().any(|l| l.contains("run cli0prog,")
            && l.contains("rows sent")
            && l.contains("read from the log")),
        "progress lines on stderr: {err}"
    );
    assert!(
        text(&out.stdout).contains("run cli0prog, 10 of 10 rows sent"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        !text(&out.stdout).contains("read from the log"),
        "progress goes to stderr only"
    );
    let bad = wandb_rs(
        &server.uri(),
        &["sync", &run_dir.display().to_string(), "--progress", "nan"],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains("seconds"),
        "{}",
        text(&bad.stderr)
    );
    let quiet = wandb_rs(
        &server.uri(),
        &[
            "sync",
            &run_dir.display().to_string(),
            "--include-synced",
            "--progress",
            "0",
        ],
    );
    assert!(quiet.status.success(), "{}", text(&quiet.stderr));
    assert!(
        !text(&quiet.stderr).contains("rows sent"),
        "--progress 0: no lines"
    );
    std::fs::remove_dir_all(&dir).ok();
}
