//! Sweeps: create (as `wandb sweep` does), read with runs, state changes.

mod support;

use serde_json::json;
use support::{bodies, captured, reply, setup};
use wandb_api::SweepState;
use wandb_sweep::SweepConfig;

const SWEEP: &str = "program: train.py\nmethod: grid\nmetric:\n  name: loss\n  goal: minimize\nparameters:\n  lr:\n    values: [0.01, 0.1]\n  opt:\n    parameters:\n      name: {values: [adam]}\n      beta: {value: 0.9}\n";

#[tokio::test]
async fn create_sends_the_config_as_yaml_and_returns_the_path_and_warnings() {
    let (server, client) = setup().await;
    let (official, mut data) = captured("sweep_create.jsonl", "mutation UpsertSweep").remove(0);
    data["upsertSweep"]["configValidationWarnings"] =
        json!(["Additional property x is not allowed"]);
    reply(&server, "UpsertSweep", data).await;
    let cfg = SweepConfig::from_yaml(SWEEP).expect("valid");
    let created = client
        .create_sweep(&cfg, None, None)
        .await
        .expect("created");
    assert_eq!(created.path(), "mock-entity/proj/sw33p1d");
    assert_eq!(created.warnings, ["Additional property x is not allowed"]);
    let sent = &bodies(&server, "UpsertSweep").await[0]["variables"];
    // The official client sends the same variables: config as a YAML string, names resolved.
    let theirs = &official["variables"];
    assert_eq!(sent["entityName"], theirs["entityName"]);
    assert_eq!(sent["projectName"], theirs["projectName"]);
    let ours_cfg =
        SweepConfig::from_yaml(sent["config"].as_str().expect("yaml string")).expect("our YAML");
    let their_cfg = SweepConfig::from_yaml(theirs["config"].as_str().expect("yaml string"))
        .expect("their YAML");
    assert_eq!(ours_cfg, their_cfg, "the same sweep reaches the server");
}

#[tokio::test]
async fn read_a_sweep_with_its_runs_for_the_engine() {
    let (server, client) = setup().await;
    let run_config = json!({ "lr": { "value": 0.01 } }).to_string();
    reply(&server, "SweepWithRuns", json!({ "project": { "sweep": {
        "id": "U3dlZXA6MQ==", "name": "sw33p1d", "method": "grid", "state": "RUNNING", "description": null,
        "config": SWEEP, "createdAt": null, "heartbeatAt": null, "updatedAt": null, "earlyStopJobRunning": false,
        "bestLoss": null, "controller": null, "scheduler": null,
        "runs": { "edges": [ { "node": { "name": "swrun001", "state": "finished", "config": run_config, "exitcode": 0,
            "heartbeatAt": null, "shouldStop": false, "failed": false, "stopped": false, "running": false,
            "summaryMetrics": "{\"loss\": 0.5}", "sampledHistory": [[{ "loss": 0.9 }, { "loss": 0.5 }]] } } ] } } } })).await;
    let sweep = client
        .sweep(None, None, "sw33p1d", None)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(sweep.state.as_deref(), Some("RUNNING"));
    let run = &sweep.runs[0];
    assert_eq!(run.name, "swrun001");
    assert_eq!(run.params.to_string(), "{lr: 0.01}");
    assert_eq!(run.metric_history("loss"), [0.9, 0.5]);
    assert_eq!(run.summary_metric("loss"), Some(0.5));
    let sent = &bodies(&server, "SweepWithRuns").await[0]["variables"];
    assert_eq!(sent["specs"], json!(["{}"]), "the agent's specs");
    client
        .sweep(None, None, "sw33p1d", Some("loss"))
        .await
        .expect("read");
    let sent = &bodies(&server, "SweepWithRuns").await[1]["variables"];
    assert_eq!(
        sent["specs"],
        json!([r#"{"keys":["_step","loss"],"samples":100000}"#]),
        "a controller's spec"
    );
}

#[tokio::test]
async fn state_changes_use_the_storage_id() {
    let (server, client) = setup().await;
    reply(&server, "SweepWithRuns", json!({ "project": { "sweep": {
        "id": "U3dlZXA6MQ==", "name": "sw33p1d", "method": null, "state": "RUNNING", "description": null, "config": null,
        "createdAt": null, "heartbeatAt": null, "updatedAt": null, "earlyStopJobRunning": null, "bestLoss": null,
        "controller": null, "scheduler": null, "runs": { "edges": [] } } } })).await;
    reply(
        &server,
        "UpsertSweepState",
        json!({ "upsertSweep": { "sweep": { "state": "FINISHED" } } }),
    )
    .await;
    client
        .set_sweep_state(None, None, "sw33p1d", SweepState::Finished)
        .await
        .expect("stopped");
    let sent = &bodies(&server, "UpsertSweepState").await[0]["variables"];
    assert_eq!(sent, &json!({ "id": "U3dlZXA6MQ==", "state": "FINISHED" }));
    for (s, name) in [
        (SweepState::Canceled, "CANCELED"),
        (SweepState::Paused, "PAUSED"),
        (SweepState::Running, "RUNNING"),
    ] {
        assert_eq!(s.as_str(), name);
    }
}

#[tokio::test]
async fn an_unknown_sweep_is_not_found() {
    let (server, client) = setup().await;
    reply(
        &server,
        "SweepWithRuns",
        json!({ "project": { "sweep": null } }),
    )
    .await;
    let err = client
        .set_sweep_state(None, None, "nope", SweepState::Paused)
        .await
        .expect_err("missing");
    assert!(matches!(err, wandb_api::Error::NotFound { .. }));
}
