//! Nothing the server sends is dropped silently: runs with unknown states or integers above
//! i64::MAX are kept, agent commands whose parameters cannot be read are not run with none,
//! and what still cannot be read is an error naming the run.

mod support;

use serde_json::{Value, json};
use support::{reply, setup};
use wandb_api::{AgentCommand, Error, RunQuery};
use wandb_sweep::RunState;

fn sweep_run(name: &str, state: &str, config: &str, summary: &str) -> Value {
    json!({ "node": { "name": name, "state": state, "config": config, "exitcode": null,
        "heartbeatAt": null, "shouldStop": false, "failed": false, "stopped": false, "running": false,
        "summaryMetrics": summary, "sampledHistory": [[{ "loss": 0.5, "step": 18_446_744_073_709_551_615_u64 }]] } })
}

fn sweep_with(runs: &[Value]) -> Value {
    json!({ "project": { "sweep": {
        "id": "U3dlZXA6MQ==", "name": "sw33p1d", "method": "grid", "state": "RUNNING", "description": null,
        "config": null, "createdAt": null, "heartbeatAt": null, "updatedAt": null, "earlyStopJobRunning": false,
        "bestLoss": null, "controller": null, "scheduler": null, "runs": { "edges": runs } } } })
}

#[tokio::test]
async fn sweep_runs_with_unknown_states_big_integers_or_nan_are_kept() {
    let (server, client) = setup().await;
    let runs = [
        sweep_run("r-state", "zombie", r#"{"lr": {"value": 0.1}}"#, "{}"),
        sweep_run(
            "r-big",
            "finished",
            r#"{"seed": {"value": 18446744073709551615}}"#,
            r#"{"loss": 0.25, "count": 18446744073709551615}"#,
        ),
        sweep_run(
            "r-nan",
            "finished",
            r#"{"lr": {"value": NaN}}"#,
            r#"{"loss": NaN}"#,
        ),
    ];
    reply(&server, "SweepWithRuns", sweep_with(&runs)).await;
    let sweep = client
        .sweep(None, None, "sw33p1d", None)
        .await
        .expect("read")
        .expect("exists");
    let names: Vec<&str> = sweep.runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["r-state", "r-big", "r-nan"], "no run dropped");
    assert_eq!(sweep.runs[0].state, RunState::Other("zombie".into()));
    assert!(
        matches!(sweep.runs[2].params.to_json()["lr"].as_str(), Some("nan")),
        "NaN in a config is read: {}",
        sweep.runs[2].params
    );
    let big = &sweep.runs[1];
    assert_eq!(
        big.params.to_json()["seed"].as_f64(),
        Some(18_446_744_073_709_551_615_u64 as f64)
    );
    assert_eq!(big.summary_metric("loss"), Some(0.25));
    assert_eq!(big.metric_history("loss"), [0.5]);
}

#[tokio::test]
async fn a_sweep_run_whose_config_is_not_json_is_an_error_naming_it() {
    let (server, client) = setup().await;
    let runs = [
        sweep_run("r-ok", "finished", "{}", "{}"),
        sweep_run("r-bad", "finished", "{not json", "{}"),
    ];
    reply(&server, "SweepWithRuns", sweep_with(&runs)).await;
    let err = client
        .sweep(None, None, "sw33p1d", None)
        .await
        .expect_err("an unreadable run");
    assert!(
        matches!(&err, Error::InvalidResponse(m) if m.contains("r-bad") && m.contains("config")),
        "{err}"
    );
}

#[test]
fn agent_commands_with_big_integers_keep_their_parameters() {
    let cmds = wandb_api::parse_commands(
        r#"[{"type": "run", "run_id": "r1", "program": "train.py", "args": {"seed": {"value": 18446744073709551615}, "lr": {"value": 0.1}}}]"#,
    )
    .expect("list");
    let AgentCommand::Run { params, .. } = &cmds[0] else {
        panic!("{cmds:?}")
    };
    assert_eq!(params.to_json()["lr"], 0.1, "not run with no parameters");
    assert_eq!(
        params.to_json()["seed"].as_f64(),
        Some(18_446_744_073_709_551_615_u64 as f64)
    );
}

#[test]
fn a_run_command_whose_args_are_not_a_mapping_is_not_run_without_parameters() {
    for args in [r#""lr=0.1""#, "[1, 2]", "null"] {
        let text = format!(r#"[{{"type": "run", "run_id": "r1", "args": {args}}}]"#);
        let cmds = wandb_api::parse_commands(&text).expect("list");
        assert!(
            matches!(&cmds[0], AgentCommand::Unknown { .. }),
            "args {args}: {cmds:?}"
        );
    }
    let cmds = wandb_api::parse_commands(r#"[{"type": "run", "run_id": "r1"}]"#).expect("list");
    assert!(matches!(&cmds[0], AgentCommand::Unknown { .. }), "{cmds:?}");
}

#[tokio::test]
async fn summaries_and_configs_that_cannot_be_read_are_errors_naming_the_run() {
    let (server, client) = setup().await;
    reply(
        &server,
        "RunSummary",
        json!({ "project": { "run": { "id": "x", "name": "r1", "state": "finished",
        "summaryMetrics": "{\"count\": 18446744073709551615}" } } }),
    )
    .await;
    let summary = client
        .summary("mock-entity", "proj", "r1")
        .await
        .expect("a big integer is read");
    assert_eq!(
        summary.to_json()["count"].as_f64(),
        Some(18_446_744_073_709_551_615_u64 as f64)
    );

    let (server, client) = setup().await;
    reply(
        &server,
        "RunSummary",
        json!({ "project": { "run": { "id": "x", "name": "r1", "state": "finished",
        "summaryMetrics": "{broken" } } }),
    )
    .await;
    let err = client
        .summary("mock-entity", "proj", "r1")
        .await
        .expect_err("not JSON");
    assert!(
        err.to_string().contains("r1") && err.to_string().contains("summary"),
        "{err}"
    );

    let (server, client) = setup().await;
    reply(&server, "Runs", json!({ "project": { "runCount": 1, "runs": {
        "edges": [ { "cursor": "c1", "node": { "id": "UnVuOjE=", "name": "r7", "displayName": null, "sweepName": null,
            "state": "finished", "config": "{oops", "group": null, "jobType": null, "createdAt": null,
            "tags": [], "notes": null, "summaryMetrics": "{}", "historyLineCount": 1 } } ],
        "pageInfo": { "endCursor": "c1", "hasNextPage": false } } } })).await;
    let err = client
        .runs("mock-entity", "proj", &RunQuery::default())
        .await
        .expect_err("not JSON");
    assert!(
        err.to_string().contains("r7") && err.to_string().contains("config"),
        "{err}"
    );

    let (server, client) = setup().await;
    reply(&server, "RunResumeStatus", json!({ "model": { "id": "UHJvamVjdDox", "name": "proj",
        "entity": { "id": "RW50aXR5OjE=", "name": "mock-entity" },
        "bucket": { "id": "UnVuOjE=", "name": "r1", "summaryMetrics": "{\"_step\": 4", "displayName": "d",
            "logLineCount": 7, "historyLineCount": 5, "eventsLineCount": 3, "historyTail": "[]", "eventsTail": "[]",
            "config": "{}", "tags": [], "notes": null, "wandbConfig": "{\"t\": {}}" } } })).await;
    let err = client
        .resume_status(None, Some("proj"), "r1")
        .await
        .expect_err("a resumed run must not lose its summary");
    assert!(
        err.to_string().contains("r1") && err.to_string().contains("summary"),
        "{err}"
    );
    drop(server);
}
