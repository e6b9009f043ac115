//! Runs: upsertBucket with the official client's variables and encodings, 409 retried,
//! resume status, stop.

mod support;

use serde_json::{Value, json};
use support::{bodies, captured, client_for, fast_retry, reply, setup};
use wandb_api::{Error, RunUpsert};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn official_run() -> RunUpsert {
    let mut config = serde_json::Map::new();
    config.insert("lr".into(), json!(0.01));
    config.insert("nested".into(), json!({ "a": 1 }));
    RunUpsert {
        run_id: Some("nzal3ew1".into()),
        group: Some("g1".into()),
        notes: Some("hello".into()),
        host: Some("vm".into()),
        program: Some("/home/user/exp/online/run1.py".into()),
        job_type: Some("train".into()),
        tags: Some(vec!["t1".into()]),
        config: Some(config),
        ..RunUpsert::default()
    }
}

#[tokio::test]
async fn upsert_sends_what_the_official_client_sends() {
    let (server, client) = setup().await;
    let (official, data) = captured("online_run.jsonl", "mutation UpsertBucket").remove(0);
    reply(&server, "UpsertBucket", data).await;
    let run = client.upsert_run(&official_run()).await.expect("created");
    assert_eq!(
        (
            run.run_id.as_str(),
            run.entity.as_str(),
            run.project.as_str()
        ),
        ("nzal3ew1", "mock-entity", "proj")
    );
    assert!(run.storage_id.starts_with("UnVu"));
    let ours = &bodies(&server, "UpsertBucket").await[0]["variables"];
    let theirs = &official["variables"];
    for key in [
        "name",
        "project",
        "entity",
        "groupName",
        "notes",
        "host",
        "program",
        "repo",
        "commit",
        "jobType",
        "tags",
        "sweep",
        "id",
    ] {
        assert_eq!(ours[key], theirs[key], "{key}");
    }
    // config is a JSON *string* in {key: {value: v}} form, with _wandb.t for resumability.
    let decode =
        |v: &Value| serde_json::from_str::<Value>(v.as_str().expect("JSONString")).expect("json");
    let (ours_cfg, theirs_cfg) = (decode(&ours["config"]), decode(&theirs["config"]));
    assert_eq!(ours_cfg["lr"], theirs_cfg["lr"]);
    assert_eq!(ours_cfg["nested"], theirs_cfg["nested"]);
    assert!(ours_cfg["_wandb"]["value"]["t"]["5"].is_string());
}

#[tokio::test]
async fn upsert_names_the_code_by_repo_and_commit() {
    let (server, client) = setup().await;
    let (_, data) = captured("online_run.jsonl", "mutation UpsertBucket").remove(0);
    reply(&server, "UpsertBucket", data).await;
    let run = RunUpsert {
        repo: Some("https://github.com/acme/trainer.git".into()),
        commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        ..official_run()
    };
    client.upsert_run(&run).await.expect("created");
    let ours = &bodies(&server, "UpsertBucket").await[0]["variables"];
    assert_eq!(ours["repo"], "https://github.com/acme/trainer.git");
    assert_eq!(ours["commit"], "0123456789abcdef0123456789abcdef01234567");
}

#[tokio::test]
async fn conflict_is_retried_for_upsert_bucket_only() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(409))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let (_, data) = captured("online_run.jsonl", "mutation UpsertBucket").remove(0);
    reply(&server, "UpsertBucket", data).await;
    let client = client_for(&server.uri(), fast_retry(3));
    client
        .upsert_run(&official_run())
        .await
        .expect("retried past the 409");
    assert_eq!(server.received_requests().await.expect("recorded").len(), 2);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(409))
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retry(3));
    assert!(matches!(
        client.viewer().await,
        Err(Error::Http { status: 409, .. })
    ));
    assert_eq!(
        server.received_requests().await.expect("recorded").len(),
        1,
        "409 is final for other operations"
    );
}

#[tokio::test]
async fn sweep_runs_attach_with_the_sweep_id() {
    let (server, client) = setup().await;
    let (_, mut data) = captured("online_run.jsonl", "mutation UpsertBucket").remove(0);
    data["upsertBucket"]["bucket"]["sweepName"] = json!("sw33p1d");
    reply(&server, "UpsertBucket", data).await;
    let run = client
        .upsert_run(&RunUpsert {
            run_id: Some("swrun001".into()),
            sweep: Some("sw33p1d".into()),
            ..RunUpsert::default()
        })
        .await
        .expect("ok");
    assert_eq!(run.sweep.as_deref(), Some("sw33p1d"));
    assert_eq!(
        bodies(&server, "UpsertBucket").await[0]["variables"]["sweep"],
        "sw33p1d"
    );
}

fn bucket(wandb_config: Option<&str>) -> Value {
    json!({ "model": { "id": "UHJvamVjdDox", "name": "proj", "entity": { "id": "RW50aXR5OjE=", "name": "mock-entity" },
        "bucket": { "id": "UnVuOjE=", "name": "r1", "summaryMetrics": "{\"_step\": 4}", "displayName": "d",
            "logLineCount": 7, "historyLineCount": 5, "eventsLineCount": 3, "historyTail": "[]", "eventsTail": "[]",
            "config": "{\"lr\": {\"value\": 0.1}}", "tags": ["a"], "notes": "n", "wandbConfig": wandb_config } } })
}

#[tokio::test]
async fn resume_status_needs_a_started_run() {
    let (server, client) = setup().await;
    reply(
        &server,
        "RunResumeStatus",
        bucket(Some("{\"t\": {\"5\": \"0.31.0\"}}")),
    )
    .await;
    let state = client
        .resume_status(None, Some("proj"), "r1")
        .await
        .expect("ok")
        .expect("exists");
    assert_eq!(
        (
            state.history_line_count,
            state.events_line_count,
            state.log_line_count
        ),
        (5, 3, 7)
    );
    assert_eq!(state.summary["_step"], 4);
    assert_eq!(state.tags, ["a"]);

    let (server, client) = setup().await;
    reply(&server, "RunResumeStatus", bucket(Some("{}"))).await;
    assert_eq!(
        client
            .resume_status(None, Some("proj"), "r1")
            .await
            .expect("ok"),
        None,
        "pre-created sweep run"
    );
    let (server2, client2) = setup().await;
    reply(&server2, "RunResumeStatus", json!({ "model": { "id": "x", "name": "proj", "entity": { "id": "e", "name": "mock-entity" }, "bucket": null } })).await;
    assert_eq!(
        client2
            .resume_status(None, Some("proj"), "r1")
            .await
            .expect("ok"),
        None
    );
    drop(server);
}

#[tokio::test]
async fn stop_run_by_storage_id() {
    let (server, client) = setup().await;
    reply(
        &server,
        "StopRun",
        json!({ "stopRun": { "success": true } }),
    )
    .await;
    assert!(client.stop_run("UnVuOjE=").await.expect("ok"));
    assert_eq!(
        bodies(&server, "StopRun").await[0]["variables"],
        json!({ "id": "UnVuOjE=" })
    );
}
