//! Agents: registration and heartbeats replaying the captured run/stop/exit exchange.

mod support;

use serde_json::json;
use support::{bodies, captured, reply, setup};
use wandb_api::AgentCommand;
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn create_agent_sends_host_and_sweep() {
    let (server, client) = setup().await;
    let (official, data) = captured("sweep_agent.jsonl", "mutation CreateAgent").remove(0);
    reply(&server, "CreateAgent", data).await;
    let id = client
        .create_agent("vm", None, None, "sw33p1d")
        .await
        .expect("agent");
    assert_eq!(id, "QWdlbnQ6MQ==");
    let sent = &bodies(&server, "CreateAgent").await[0]["variables"];
    assert_eq!(sent, &official["variables"]);
}

#[tokio::test]
async fn heartbeats_replay_run_then_stop_then_exit() {
    let (server, client) = setup().await;
    let exchanges = captured("sweep_agent_stop.jsonl", "mutation Heartbeat");
    assert_eq!(exchanges.len(), 4);
    for (i, (_, data)) in exchanges.iter().enumerate() {
        Mock::given(method("POST"))
            .and(body_partial_json(json!({ "operationName": "Heartbeat" })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": data })))
            .up_to_n_times(1)
            .with_priority(u8::try_from(i + 1).expect("small"))
            .mount(&server)
            .await;
    }
    let agent = "QWdlbnQ6MQ==";
    let first = client.heartbeat(agent, &[]).await.expect("hb1");
    let AgentCommand::Run {
        run_id,
        program,
        params,
    } = &first[0]
    else {
        panic!("{first:?}")
    };
    assert_eq!(
        (run_id.as_str(), program.as_deref()),
        ("swrun001", Some("train.py"))
    );
    assert_eq!(
        params.to_json()["opt"],
        json!({ "name": "adam", "beta": 0.9 })
    );
    assert_eq!(params.to_json()["layers"], json!([64, 32]));
    let running = vec!["swrun001".to_owned()];
    assert!(
        client
            .heartbeat(agent, &running)
            .await
            .expect("hb2")
            .is_empty()
    );
    assert_eq!(
        client.heartbeat(agent, &running).await.expect("hb3"),
        [AgentCommand::Stop {
            run_ids: running.clone()
        }]
    );
    assert_eq!(
        client.heartbeat(agent, &[]).await.expect("hb4"),
        [AgentCommand::Exit]
    );
    let sent = bodies(&server, "Heartbeat").await;
    let official: Vec<serde_json::Value> = exchanges
        .iter()
        .map(|(b, _)| b["variables"].clone())
        .collect();
    for (ours, theirs) in sent.iter().zip(&official) {
        assert_eq!(
            &ours["variables"], theirs,
            "same id, metrics and runState as the official agent"
        );
    }
}

#[test]
fn unknown_commands_are_kept_not_fatal() {
    let cmds = wandb_api::parse_commands(
        r#"[{"type": "teleport"}, {"type": "resume", "run_id": "r2", "args": {}}]"#,
    )
    .expect("list");
    assert!(matches!(&cmds[0], AgentCommand::Unknown { .. }));
    assert!(matches!(&cmds[1], AgentCommand::Resume { run_id, .. } if run_id == "r2"));
    assert!(wandb_api::parse_commands("{}").is_err());
}
