//! A mock W&B for sweep agents (used by the agent tests of wandb-log and wandb-cli): the
//! captured sweep in scripted states, agent registration, scripted heartbeats, online runs.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::captured;

/// The captured agent id.
pub const AGENT_ID: &str = "QWdlbnQ6MQ==";

/// Replies to `SweepWithRuns` with the captured sweep (its config replaced when given) in
/// the given states, one per read (the last one repeats).
struct SweepStates {
    states: Mutex<VecDeque<&'static str>>,
    config: Option<String>,
}

impl Respond for SweepStates {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut states = self.states.lock().expect("states");
        let state = if states.len() > 1 {
            states.pop_front().expect("state")
        } else {
            states[0]
        };
        let (_, mut data) = captured("sweep_agent_stop.jsonl", "SweepWithRuns").remove(0);
        data["project"]["sweep"]["state"] = json!(state);
        if let Some(c) = &self.config {
            data["project"]["sweep"]["config"] = json!(c);
        }
        ResponseTemplate::new(200).set_body_json(json!({ "data": data }))
    }
}

/// Heartbeat replies: an idle agent (`runState` `{}`) gets the next command list of `idle`
/// (then `exit`); a busy one gets the next of `busy` once `gate` is open, else `[]`.
/// Clones share the script.
#[derive(Clone)]
pub struct Script {
    /// Command lists for idle agents.
    pub idle: Arc<Mutex<VecDeque<Value>>>,
    /// Command lists for busy agents.
    pub busy: Arc<Mutex<VecDeque<Value>>>,
    /// Whether busy agents get their commands yet.
    pub gate: Arc<AtomicBool>,
}

impl Script {
    /// A script for idle agents only.
    pub fn idle(commands: Vec<Value>) -> Self {
        Script {
            idle: Arc::new(Mutex::new(commands.into())),
            busy: Arc::default(),
            gate: Arc::new(AtomicBool::new(true)),
        }
    }
}

impl Respond for Script {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).expect("json");
        let commands = if body["variables"]["runState"] == "{}" {
            let mut idle = self.idle.lock().expect("script");
            idle.pop_front().unwrap_or(json!([{ "type": "exit" }]))
        } else if self.gate.load(Ordering::SeqCst) {
            let mut busy = self.busy.lock().expect("script");
            busy.pop_front().unwrap_or(json!([]))
        } else {
            json!([])
        };
        heartbeat_reply(&commands)
    }
}

/// A heartbeat response with these commands.
pub fn heartbeat_reply(commands: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "data": { "agentHeartbeat": {
        "agent": { "id": AGENT_ID }, "commands": commands.to_string() } } }))
}

/// A `run` command list with one parameter `lr`.
pub fn run_command(id: &str, lr: f64) -> Value {
    json!([{ "type": "run", "run_id": id, "program": "train.py", "args": { "lr": { "value": lr } } }])
}

/// A mock W&B with the sweep (in `states`, with `config` as its YAML when given), agent
/// registration and online runs (`upsertBucket`, file stream).
pub async fn sweep_server(states: &[&'static str], config: Option<&str>) -> MockServer {
    let server = MockServer::start().await;
    let op = |name: &str| {
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .and(body_partial_json(json!({ "operationName": name })))
    };
    op("SweepWithRuns")
        .respond_with(SweepStates {
            states: Mutex::new(states.iter().copied().collect()),
            config: config.map(str::to_owned),
        })
        .mount(&server)
        .await;
    let (_, agent) = captured("sweep_agent_stop.jsonl", "mutation CreateAgent").remove(0);
    op("CreateAgent")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": agent })))
        .mount(&server)
        .await;
    let (_, bucket) = captured("sweep_agent_stop.jsonl", "UpsertBucket").remove(0);
    op("UpsertBucket")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": bucket })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/files/mock-entity/proj/[^/]+/file_stream$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    server
}

/// Answers heartbeats from `script`.
pub async fn mount_script(server: &MockServer, script: Script) {
    Mock::given(method("POST"))
        .and(body_partial_json(json!({ "operationName": "Heartbeat" })))
        .respond_with(script)
        .mount(server)
        .await;
}

/// Every line the runs sent for `file` (`output.log`, `wandb-history.jsonl`) through the
/// file stream.
pub async fn streamed_lines(server: &MockServer, file: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for r in server.received_requests().await.unwrap_or_default() {
        if r.url.path().ends_with("/file_stream") {
            let body: Value = serde_json::from_slice(&r.body).expect("json");
            if let Some(content) = body["files"][file]["content"].as_array() {
                lines.extend(content.iter().filter_map(|l| l.as_str().map(str::to_owned)));
            }
        }
    }
    lines
}
