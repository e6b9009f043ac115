//! The in-process sweep agent against a mock W&B replaying the official agent's captured
//! exchanges: run, stop and exit; failures, limits and the sweep's end.

use std::time::Duration;

#[path = "../wandb-api/tests/support/mod.rs"]
mod support;

use serde_json::{Value, json};
use support::agent_server::{
    Script, heartbeat_reply, mount_script, run_command, streamed_lines, sweep_server,
};
use support::{bodies, captured};
use wandb_agent::agent::{
    Agent, AgentOutcome, FailurePolicy, FailureStop, SweepPath, TrialLaunch, TrialStatus,
};
use wandb_api::Client;
use wiremock::matchers::body_partial_json;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(url: &str) -> Client {
    support::client_for(url, support::fast_retry(2))
}

fn tmp(name: &str) -> std::path::PathBuf {
    wandb_tests::scratch_dir(&format!("agent-{name}"))
}

async fn server(states: &[&'static str]) -> MockServer {
    sweep_server(states, None).await
}

/// A running sweep whose agent gets `n` runs (`{prefix}1`, …), one at a time, then `exit`.
async fn server_with_runs(prefix: &str, n: usize) -> MockServer {
    let server = server(&["RUNNING"]).await;
    let runs = (1..=n)
        .map(|i| run_command(&format!("{prefix}{i}"), 0.1))
        .collect();
    script(&server, runs).await;
    server
}

async fn script(server: &MockServer, commands: Vec<Value>) {
    mount_script(server, Script::idle(commands)).await;
}

/// Everything the runs sent to `output.log` through the file stream.
async fn console_lines(server: &MockServer) -> String {
    streamed_lines(server, "output.log").await.join("\n")
}

/// Runs `agent` with trials that succeed, off the test's runtime.
async fn run_to_end(agent: Agent) -> wandb_agent::AgentReport {
    tokio::task::spawn_blocking(move || agent.run(|_| Ok::<(), String>(())))
        .await
        .expect("join")
        .expect("agent")
}

fn agent(server: &MockServer, dir: &std::path::Path) -> Agent {
    Agent::new(client(&server.uri()), "sw33p1d")
        .host("vm")
        .heartbeat_interval(Duration::from_millis(20))
        .state_check_interval(Duration::from_secs(3600))
        .runs(wandb_log::Run::builder().dir(dir))
        .failure_policy(FailurePolicy {
            flapping: false,
            ..FailurePolicy::default()
        })
}

/// Waits (bounded) until the run is asked to stop.
fn wait_for_stop(run: &wandb_log::Run) -> Result<(), String> {
    for _ in 0..2000 {
        if run.should_stop() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err("never asked to stop".into())
}

#[tokio::test(flavor = "multi_thread")]
async fn replays_the_captured_run_stop_exit_exchange() {
    let server = server(&["RUNNING"]).await;
    // The official agent's four heartbeats, matched by what the agent reports.
    let hb = captured("sweep_agent_stop.jsonl", "mutation Heartbeat");
    assert_eq!(hb.len(), 4);
    let busy = json!({ "variables": { "runState": "{\"swrun001\": true}" } });
    let idle = json!({ "variables": { "runState": "{}" } });
    for (i, (matcher, data)) in [
        (&idle, &hb[0].1),
        (&busy, &hb[1].1),
        (&busy, &hb[2].1),
        (&idle, &hb[3].1),
    ]
    .into_iter()
    .enumerate()
    {
        Mock::given(body_partial_json(json!({ "operationName": "Heartbeat" })))
            .and(body_partial_json(matcher))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": data })))
            .up_to_n_times(1)
            .with_priority(u8::try_from(i + 1).expect("small"))
            .mount(&server)
            .await;
    }
    // A busy agent that heartbeats again before its trial ends hears nothing new.
    Mock::given(body_partial_json(json!({ "operationName": "Heartbeat" })))
        .respond_with(heartbeat_reply(&json!([])))
        .with_priority(10)
        .mount(&server)
        .await;
    let dir = tmp("replay");
    let agent = agent(&server, &dir);
    let report = tokio::task::spawn_blocking(move || {
        agent.run(|run| {
            let config: Value = run.config().map_err(|e| e.to_string())?;
            assert_eq!(config["opt"], json!({ "name": "adam", "beta": 0.9 }));
            assert_eq!(config["layers"], json!([64, 32]));
            assert_eq!(config["tag"], "a b");
            run.log([("loss", 0.5)]).map_err(|e| e.to_string())?;
            wait_for_stop(&run)
        })
    })
    .await
    .expect("join")
    .expect("agent");
    assert_eq!(report.outcome, AgentOutcome::NoRunsLeft);
    assert_eq!(report.trials.len(), 1);
    let trial = &report.trials[0];
    assert_eq!(
        (trial.run_id.as_str(), &trial.status, trial.stop_requested),
        ("swrun001", &TrialStatus::Succeeded, true)
    );

    // Registration as the official agent sends it.
    let (official, _) = captured("sweep_agent_stop.jsonl", "mutation CreateAgent").remove(0);
    assert_eq!(
        bodies(&server, "CreateAgent").await[0]["variables"],
        official["variables"]
    );
    let read = &bodies(&server, "SweepWithRuns").await[0]["variables"];
    let (official, _) = captured("sweep_agent_stop.jsonl", "SweepWithRuns").remove(0);
    for key in ["entity", "project", "sweep"] {
        assert_eq!(read[key], official["variables"][key], "{key}");
    }
    // Heartbeats: same id and metrics; runState goes {} -> {"swrun001": true} -> {} as the
    // official agent's did.
    let sent = bodies(&server, "Heartbeat").await;
    let mut states: Vec<&str> = Vec::new();
    for b in &sent {
        assert_eq!(b["variables"]["id"], hb[0].0["variables"]["id"]);
        assert_eq!(b["variables"]["metrics"], hb[0].0["variables"]["metrics"]);
        let s = b["variables"]["runState"].as_str().expect("JSONString");
        if states.last() != Some(&s) {
            states.push(s);
        }
    }
    let official: Vec<&str> = [0, 1, 3]
        .iter()
        .map(|&i| hb[i].0["variables"]["runState"].as_str().expect("runState"))
        .collect();
    assert_eq!(states, official);
    // The run attached to the sweep with the command's parameters as its config.
    let upsert = &bodies(&server, "UpsertBucket").await[0]["variables"];
    assert_eq!(upsert["name"], "swrun001");
    assert_eq!(upsert["sweep"], "sw33p1d");
    assert_eq!(
        (&upsert["entity"], &upsert["project"]),
        (&json!("mock-entity"), &json!("proj"))
    );
    let config: Value =
        serde_json::from_str(upsert["config"].as_str().expect("config")).expect("json");
    assert_eq!(config["lr"]["value"], 0.01);
    assert_eq!(config["use_bn"]["value"], true);
    assert_eq!(
        config["opt"]["value"],
        json!({ "name": "adam", "beta": 0.9 })
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_and_panics_fail_their_runs_with_the_message() {
    let server = server(&["RUNNING"]).await;
    script(
        &server,
        vec![
            run_command("r1", 0.1),
            run_command("r2", 0.2),
            run_command("r3", 0.3),
        ],
    )
    .await;
    let dir = tmp("fail");
    let agent = agent(&server, &dir);
    let report = tokio::task::spawn_blocking(move || {
        agent.run(|run| match run.id() {
            "r1" => Err("loss diverged at step 3".to_owned()),
            "r2" => panic!("index out of bounds in the data loader"),
            _ => Ok(()),
        })
    })
    .await
    .expect("join")
    .expect("agent");
    assert_eq!(report.outcome, AgentOutcome::NoRunsLeft);
    let statuses: Vec<(&str, &TrialStatus)> = report
        .trials
        .iter()
        .map(|t| (t.run_id.as_str(), &t.status))
        .collect();
    assert_eq!(statuses.len(), 3);
    assert_eq!(
        statuses[0],
        (
            "r1",
            &TrialStatus::Failed {
                message: "loss diverged at step 3".into()
            }
        )
    );
    assert!(
        matches!(statuses[1].1, TrialStatus::Failed { message } if message.contains("panicked") && message.contains("data loader")),
        "{statuses:?}"
    );
    assert_eq!(statuses[2], ("r3", &TrialStatus::Succeeded));
    // The messages reach the runs' console output on W&B.
    let console = console_lines(&server).await;
    assert!(console.contains("loss diverged at step 3"), "{console}");
    assert!(console.contains("data loader"), "{console}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_trials_stop_the_agent_by_policy() {
    let consecutive = FailurePolicy {
        max_consecutive_failures: Some(2),
        flapping: false,
        ..FailurePolicy::default()
    };
    let initial = FailurePolicy {
        max_initial_failures: 4,
        flapping: false,
        ..FailurePolicy::default()
    };
    let cases = [
        (consecutive, FailureStop::Consecutive(2), 2),
        // Three failures within the first minute.
        (
            FailurePolicy::default(),
            FailureStop::Flapping { failed: 3 },
            3,
        ),
        (
            initial,
            FailureStop::Failing {
                failed: 4,
                succeeded: 0,
            },
            4,
        ),
    ];
    for (policy, why, trials) in cases {
        let server = server_with_runs("f", 6).await;
        let dir = tmp("failing");
        let agent = agent(&server, &dir).failure_policy(policy);
        let report = tokio::task::spawn_blocking(move || agent.run(|_| Err("always fails")))
            .await
            .expect("join")
            .expect("agent");
        assert_eq!(report.outcome, AgentOutcome::TooManyFailures(why));
        assert_eq!(report.trials.len(), trials);
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// Called from inside a (current-thread) tokio runtime: the agent never blocks on it.
#[tokio::test]
async fn count_limits_the_trials_even_inside_a_runtime() {
    let server = server_with_runs("c", 4).await;
    let dir = tmp("count");
    let mut seen = Vec::new();
    let report = agent(&server, &dir)
        .count(2)
        .run(|run| {
            seen.push(run.id().to_owned());
            run.log([("loss", 1.0)]).map(|_| ())
        })
        .expect("agent");
    assert_eq!(report.outcome, AgentOutcome::CountReached(2));
    assert_eq!(seen, ["c1", "c2"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_from_a_stopped_or_cancelled_sweep_says_so() {
    for (state, outcome) in [
        ("FINISHED", AgentOutcome::SweepFinished),
        ("CANCELED", AgentOutcome::SweepCanceled),
    ] {
        let server = server(&["RUNNING", state]).await;
        script(&server, vec![]).await;
        let dir = tmp("exit");
        let agent = agent(&server, &dir);
        let report = run_to_end(agent).await;
        assert_eq!(report.outcome, outcome);
        assert!(report.outcome.sweep_is_done());
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_sweep_is_reported() {
    // Paused at start: no agent is registered.
    let server = server(&["PAUSED"]).await;
    let dir = tmp("paused");
    let a = agent(&server, &dir);
    let report = run_to_end(a).await;
    assert_eq!(report.outcome, AgentOutcome::SweepPaused);
    assert!(report.outcome.to_string().contains("resume"));
    assert!(bodies(&server, "CreateAgent").await.is_empty());

    // Paused while the agent idles: found at a state check.
    let server = self::server(&["RUNNING", "PAUSED"]).await;
    Mock::given(body_partial_json(json!({ "operationName": "Heartbeat" })))
        .respond_with(heartbeat_reply(&json!([])))
        .mount(&server)
        .await;
    let a = agent(&server, &dir).state_check_interval(Duration::ZERO);
    let report = run_to_end(a).await;
    assert_eq!(report.outcome, AgentOutcome::SweepPaused);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_heartbeat_is_only_a_missed_beat() {
    let server = server_with_runs("h", 1).await;
    // Every attempt of the first heartbeat fails (the session retries each request 3 times).
    Mock::given(body_partial_json(json!({ "operationName": "Heartbeat" })))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(4)
        .with_priority(1)
        .mount(&server)
        .await;
    let dir = tmp("missed");
    let report = run_to_end(agent(&server, &dir)).await;
    assert_eq!(report.outcome, AgentOutcome::NoRunsLeft);
    assert_eq!(report.trials.len(), 1);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_key_or_failing_heartbeats_end_the_agent() {
    // 401 at once; 500s after the limit of failures in a row.
    for (status, says) in [
        (401, "WANDB_API_KEY"),
        (500, "3 heartbeats in a row failed"),
    ] {
        let server = server(&["RUNNING"]).await;
        Mock::given(body_partial_json(json!({ "operationName": "Heartbeat" })))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
        let dir = tmp("unreachable");
        let report = run_to_end(agent(&server, &dir).max_failed_heartbeats(3)).await;
        let AgentOutcome::ConnectionLost(why) = &report.outcome else {
            panic!("{status}: {:?}", report.outcome);
        };
        assert!(why.contains(says), "{status}: {why}");
        assert!(why.contains("WANDB_BASE_URL"), "{status}: {why}");
        assert!(!report.outcome.sweep_is_done());
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_sweep_ends_the_agent() {
    let server = server(&["RUNNING"]).await;
    Mock::given(body_partial_json(json!({ "operationName": "Heartbeat" })))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let dir = tmp("deleted");
    let a = agent(&server, &dir);
    let report = run_to_end(a).await;
    assert_eq!(report.outcome, AgentOutcome::SweepDeleted);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_sweep_or_a_bad_path_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(body_partial_json(
        json!({ "operationName": "SweepWithRuns" }),
    ))
    .respond_with(
        ResponseTemplate::new(200)
            .set_body_json(json!({ "data": { "project": { "sweep": null } } })),
    )
    .mount(&server)
    .await;
    let url = server.uri();
    let err = tokio::task::spawn_blocking(move || {
        Agent::new(client(&url), "nosuch").run(|_| Ok::<(), String>(()))
    })
    .await
    .expect("join")
    .unwrap_err();
    assert!(
        err.to_string().contains("sweep mock-entity/proj/nosuch"),
        "{err}"
    );
    let err = Agent::new(client(&server.uri()), "a/b/c/d")
        .run(|_| Ok::<(), String>(()))
        .unwrap_err();
    assert!(err.to_string().contains("not a sweep path"), "{err}");
}

#[test]
fn trial_launch_matches_the_official_argv_env_and_param_file() {
    let dir = tmp("launch");
    let (_, data) = captured("sweep_agent_stop.jsonl", "SweepWithRuns").remove(0);
    let yaml = data["project"]["sweep"]["config"].as_str().expect("config");
    let (_, hb) = captured("sweep_agent_stop.jsonl", "mutation Heartbeat").remove(0);
    let commands =
        wandb_api::parse_commands(hb["agentHeartbeat"]["commands"].as_str().expect("cmds"))
            .expect("commands");
    let wandb_api::AgentCommand::Run { run_id, params, .. } = &commands[0] else {
        panic!("{commands:?}")
    };
    let sweep: SweepPath = "mock-entity/proj/sw33p1d".parse().expect("path");
    let launch = TrialLaunch::new(sweep, run_id.clone(), params.clone(), &dir).program("train.py");
    let cmd = launch
        .command(Some(yaml), &Default::default())
        .expect("command");
    let json_file = dir.join("wandb/sweep-sw33p1d/config-swrun001.json");
    // The macros expand as wandb-sweep's CommandContext tests check against the captured
    // argv; here: the sweep's template is used, the program and the JSON file are the
    // launch's, and the file holds what `${args_json}` expands to.
    let argv = cmd.argv();
    assert_eq!(argv.len(), 22, "{argv:?}");
    assert_eq!(
        argv[..4],
        ["/usr/bin/env", "python", "train.py", "--lr=0.01"]
    );
    assert_eq!(argv[21], json_file.to_str().expect("utf-8"));
    let json_text = std::fs::read_to_string(&json_file).expect("json file");
    assert_eq!(json_text, argv[20]);
    assert!(
        json_text.starts_with(r#"{"lr": 0.01, "use_bn": true, "#),
        "{json_text}"
    );
    let yaml = std::fs::read_to_string(launch.param_file()).expect("param file");
    assert!(
        yaml.starts_with("wandb_version: 1\n\nlr:\n  value: 0.01\nuse_bn:\n  value: true\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("opt:\n  value:\n    name: adam\n    beta: 0.9\n"),
        "{yaml}"
    );
    // A wandb-log run started in the child's environment attaches to the sweep run with the
    // command's parameters (nested ones included) as its config.
    let env: std::collections::HashMap<String, String> = cmd.env_vars().iter().cloned().collect();
    assert_eq!(env["WANDB_SWEEP_ID"], "sw33p1d");
    assert_eq!(
        (env["WANDB_ENTITY"].as_str(), env["WANDB_PROJECT"].as_str()),
        ("mock-entity", "proj")
    );
    let run = wandb_log::Run::builder()
        .mode(wandb_log::Mode::Offline)
        .init_with(|k| env.get(k).cloned())
        .expect("run");
    assert_eq!(run.id(), "swrun001");
    assert_eq!(run.config::<Value>().expect("config"), params.to_json());
    run.finish(0).expect("finish");
    std::fs::remove_dir_all(&dir).ok();
}
