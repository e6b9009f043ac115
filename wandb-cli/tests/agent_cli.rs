//! `wandb-rs agent` against a mock W&B: child argv and environment, the param file, stop
//! (SIGTERM then SIGKILL), failed trials' output, stdout metrics, GPU slots, exit codes.
#![cfg(unix)]

#[path = "../../wandb-api/tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use support::agent_server::{Script, mount_script, run_command, streamed_lines, sweep_server};
use support::{KEY, bodies, captured};
use wiremock::MockServer;

fn tmp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("wandb-cli-agent-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).expect("mkdir");
    p
}

/// `wandb-rs agent ARGS` with a clean environment pointed at the mock.
fn agent_command(server: &MockServer, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wandb-rs"));
    cmd.arg("agent")
        .args(["--heartbeat", "0.05"])
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("WANDB_BASE_URL", server.uri())
        .env("WANDB_API_KEY", KEY)
        .env("WANDB_ENTITY", "mock-entity")
        .env("WANDB_PROJECT", "proj")
        .env("WANDB_HOST", "vm")
        .env("WANDB_SERVICE", "must-not-reach-children")
        // A variable that is not UTF-8 must not stop the agent.
        .env("WANDB_RS_NOT_UTF8", std::ffi::OsStr::from_bytes(b"\xff"))
        .env("HOME", dir);
    cmd
}

fn run_agent(server: &MockServer, dir: &Path, args: &[&str]) -> Output {
    agent_command(server, dir, args)
        .output()
        .expect("wandb-rs runs")
}

/// Runs the agent; calls `on_ready` with its pid once a trial prints `ready`. Returns the
/// exit status, stdout and stderr.
fn run_until_ready(mut cmd: Command, on_ready: impl FnOnce(u32)) -> (ExitStatus, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = child.stderr.take().expect("stderr");
    let err = std::thread::spawn(move || {
        let mut err = String::new();
        stderr.read_to_string(&mut err).expect("stderr");
        err
    });
    let mut on_ready = Some(on_ready);
    let mut out = String::new();
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        let line = line.expect("line");
        if line.trim() == "ready"
            && let Some(f) = on_ready.take()
        {
            f(child.id());
        }
        out.push_str(&line);
        out.push('\n');
    }
    let status = child.wait().expect("wait");
    (status, out, err.join().expect("stderr thread"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A sweep config whose command is a shell script (then `${program} ${args}` as its
/// arguments).
fn sweep_config(script: &str) -> String {
    let command = json!(["sh", "-c", script, "trial", "${program}", "${args}"]);
    format!(
        "program: train.py\nmethod: grid\nparameters:\n  lr:\n    values: [0.01]\ncommand: {command}\n"
    )
}

async fn server_with(script: &str, idle: Vec<Value>) -> (MockServer, Script) {
    let server = sweep_server(&["RUNNING"], Some(&sweep_config(script))).await;
    let script = Script::idle(idle);
    mount_script(&server, script.clone()).await;
    (server, script)
}

#[tokio::test(flavor = "multi_thread")]
async fn children_get_the_official_argv_environment_and_param_file() {
    let script = r#"echo "argv: $*"; echo "run=$WANDB_RUN_ID sweep=$WANDB_SWEEP_ID entity=$WANDB_ENTITY project=$WANDB_PROJECT dir=$WANDB_DIR service=${WANDB_SERVICE-unset} gpu=${CUDA_VISIBLE_DEVICES-unset} cwd=$(pwd -P)"; echo "param-file=$WANDB_SWEEP_PARAM_PATH"; cat "$WANDB_SWEEP_PARAM_PATH""#;
    let run = json!([{ "type": "run", "run_id": "swrun001", "program": "train.py",
        "args": { "lr": { "value": 0.01 }, "tag": { "value": "a b" }, "opt": { "value": { "name": "adam" } } } }]);
    let (server, _script) = server_with(script, vec![run]).await;
    let dir = tmp("argv");
    let o = run_agent(&server, &dir, &["sw33p1d"]);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    let real = dir.canonicalize().expect("dir");
    let param_file = dir.join("wandb/sweep-sw33p1d/config-swrun001.yaml");
    let expected = [
        "argv: train.py --lr=0.01 --tag=a b --opt={'name': 'adam'}".to_owned(),
        format!(
            "run=swrun001 sweep=sw33p1d entity=mock-entity project=proj dir={} service=unset gpu=unset cwd={}",
            dir.display(),
            real.display()
        ),
        format!("param-file={}", param_file.display()),
        "wandb_version: 1\n\nlr:\n  value: 0.01\ntag:\n  value: \"a b\"\nopt:\n  value:\n    name: adam\n"
            .to_owned(),
    ];
    for e in &expected {
        assert!(out.contains(e.as_str()), "{e} in {out}");
    }
    assert!(err.contains("no runs left"), "{err}");
    assert!(
        err.contains("1 trials (1 succeeded, 0 failed, 0 stopped)"),
        "{err}"
    );
    // Registration and heartbeats as the official agent sends them.
    let (official, _) = captured("sweep_agent_stop.jsonl", "mutation CreateAgent").remove(0);
    assert_eq!(
        bodies(&server, "CreateAgent").await[0]["variables"],
        official["variables"]
    );
    let (official, _) = captured("sweep_agent_stop.jsonl", "mutation Heartbeat").remove(0);
    let beats = bodies(&server, "Heartbeat").await;
    assert!(beats.len() >= 2);
    for b in &beats {
        assert_eq!(b["variables"]["id"], official["variables"]["id"]);
        assert_eq!(b["variables"]["metrics"], "{}");
        let state = b["variables"]["runState"].as_str().expect("runState");
        assert!(state == "{}" || state == "{\"swrun001\": true}", "{state}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn children_keep_the_working_directory_and_get_an_absolute_wandb_dir() {
    // WANDB_DIR is relative and not the current directory: the child still starts in the
    // agent's directory, and its paths resolve from there.
    let script = r#"echo "cwd=$(pwd -P) dir=$WANDB_DIR"; echo "param-file=$WANDB_SWEEP_PARAM_PATH"; test -f "$WANDB_SWEEP_PARAM_PATH" && echo param-file-found"#;
    let (server, _script) = server_with(script, vec![run_command("swrun001", 0.01)]).await;
    let dir = tmp("cwd");
    std::fs::create_dir_all(dir.join("out")).expect("mkdir");
    let o = agent_command(&server, &dir, &["sw33p1d"])
        .env("WANDB_DIR", "out")
        .output()
        .expect("wandb-rs runs");
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    let wandb_dir = dir.join("out");
    let expected = [
        format!(
            "cwd={} dir={}",
            dir.canonicalize().expect("dir").display(),
            wandb_dir.display()
        ),
        format!(
            "param-file={}",
            wandb_dir
                .join("wandb/sweep-sw33p1d/config-swrun001.yaml")
                .display()
        ),
        "param-file-found".to_owned(),
    ];
    for e in &expected {
        assert!(out.contains(e.as_str()), "{e} in {out}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_key_while_running_exits_with_2() {
    let server = sweep_server(&["RUNNING"], Some(&sweep_config("true"))).await;
    wiremock::Mock::given(wiremock::matchers::body_partial_json(
        json!({ "operationName": "Heartbeat" }),
    ))
    .respond_with(wiremock::ResponseTemplate::new(401))
    .mount(&server)
    .await;
    let dir = tmp("unauthorized");
    let o = run_agent(&server, &dir, &["sw33p1d"]);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(2), "{out}\n{err}");
    assert!(err.contains("lost the connection to W&B"), "{err}");
    assert!(err.contains("WANDB_API_KEY"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_sends_sigterm_then_sigkill_after_the_delay() {
    // The child notes SIGTERM and carries on; only SIGKILL ends it (bounded: 30 s).
    let script = r#"trap "echo got-term" TERM; echo ready; i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done"#;
    let (server, script_state) = server_with(script, vec![run_command("swrun001", 0.01)]).await;
    // Busy heartbeats get `stop` once the child is ready (the gate opens below).
    script_state.gate.store(false, Ordering::SeqCst);
    script_state
        .busy
        .lock()
        .expect("busy")
        .push_back(json!([{ "type": "stop", "run_id": "swrun001" }]));
    let dir = tmp("stop");
    // The delay leaves the trap ample time to print, even on a slow machine.
    let cmd = agent_command(&server, &dir, &["sw33p1d", "--kill-delay", "3"]);
    let (status, out, err) = run_until_ready(cmd, |_| {
        script_state.gate.store(true, Ordering::SeqCst);
    });
    assert_eq!(status.code(), Some(0), "{out}\n{err}");
    assert!(err.contains("stopping run swrun001 (SIGTERM)"), "{err}");
    assert!(out.contains("got-term"), "SIGTERM came first: {out}");
    assert!(
        err.contains("run swrun001 stopped (killed by signal 9)"),
        "then SIGKILL: {err}"
    );
    assert!(
        err.contains("1 trials (0 succeeded, 0 failed, 1 stopped)"),
        "{err}"
    );
    // A trial the server stopped is not a failure of the sweep's program.
    assert!(err.contains("no runs left"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupt_stops_the_trials_and_exits_with_130() {
    let script = r#"trap "echo got-term; exit 0" TERM; echo ready; i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done"#;
    let (server, _script) = server_with(script, vec![run_command("i1", 0.1)]).await;
    let dir = tmp("interrupt");
    let cmd = agent_command(&server, &dir, &["sw33p1d"]);
    let (status, out, err) = run_until_ready(cmd, |pid| {
        let sent = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
    });
    assert_eq!(status.code(), Some(130), "{out}\n{err}");
    assert!(out.contains("got-term"), "the trial got SIGTERM: {out}");
    assert!(
        err.contains("interrupted: stopping the running trials"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_trials_report_their_output_tail_and_stop_the_agent() {
    let script = r#"echo "loading data"; echo "boom in $WANDB_RUN_ID" >&2; exit 3"#;
    let runs = (1..=5)
        .map(|i| run_command(&format!("f{i}"), 0.1))
        .collect();
    let (server, _script) = server_with(script, runs).await;
    let dir = tmp("failed");
    // Failures in a row, not the time-based flapping rule, stop it: deterministic.
    let o = agent_command(
        &server,
        &dir,
        &[
            "mock-entity/proj/sw33p1d",
            "--max-consecutive-failures",
            "3",
        ],
    )
    .env("WANDB_AGENT_DISABLE_FLAPPING", "true")
    .output()
    .expect("wandb-rs runs");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("run f1 failed: exit code 3: boom in f1; last output lines:"),
        "{err}"
    );
    assert!(err.contains("  | boom in f1"), "{err}");
    assert!(err.contains("  | loading data"), "{err}");
    assert!(err.contains("3 trials failed in a row"), "{err}");
    assert!(!err.contains("starting run f4"), "{err}");
    let kept = std::fs::read_to_string(dir.join("wandb/sweep-sw33p1d/output-f1.log"))
        .expect("the failed trial's tail is kept with its run's files");
    assert!(
        kept.contains("  | boom in f1") && kept.starts_with("exit code 3"),
        "{kept}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn stdout_metrics_are_logged_to_the_sweep_run() {
    let script =
        r#"echo "Epoch[1] Loss: 0.5 Acc: 0.7"; echo "noise"; echo "Epoch[2] Loss: 0.25 Acc: 0.8""#;
    let (server, _script) = server_with(script, vec![run_command("m1", 0.1)]).await;
    let dir = tmp("metrics");
    let o = run_agent(
        &server,
        &dir,
        &[
            "sw33p1d",
            "--metric",
            "loss=Loss: ([0-9.]+)",
            "--metric",
            "acc=Acc: ([0-9.]+)",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let upsert = &bodies(&server, "UpsertBucket").await[0]["variables"];
    assert_eq!(
        (&upsert["name"], &upsert["sweep"]),
        (&json!("m1"), &json!("sw33p1d"))
    );
    let rows: Vec<Value> = streamed_lines(&server, "wandb-history.jsonl")
        .await
        .iter()
        .map(|l| serde_json::from_str(l).expect("row"))
        .collect();
    let pairs: Vec<(f64, f64)> = rows
        .iter()
        .map(|r| {
            (
                r["loss"].as_f64().expect("loss"),
                r["acc"].as_f64().expect("acc"),
            )
        })
        .collect();
    assert_eq!(pairs, [(0.5, 0.7), (0.25, 0.8)]);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_metric_run_whose_program_cannot_start_is_failed() {
    let config = "program: train.py\nmethod: grid\nparameters:\n  lr:\n    values: [0.01]\ncommand: [\"./no-such-program\"]\n";
    let server = sweep_server(&["RUNNING"], Some(config)).await;
    mount_script(&server, Script::idle(vec![run_command("m1", 0.1)])).await;
    let dir = tmp("metric-spawn");
    let o = run_agent(
        &server,
        &dir,
        &["sw33p1d", "--metric", "loss=Loss: ([0-9.]+)"],
    );
    let err = text(&o.stderr);
    assert!(err.contains("run m1 could not start"), "{err}");
    let streams: Vec<Value> = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path().ends_with("/file_stream"))
        .map(|r| serde_json::from_slice(&r.body).expect("json"))
        .collect();
    let last = streams.last().expect("the run's final request");
    assert_eq!(
        (&last["complete"], &last["exitcode"]),
        (&json!(true), &json!(1)),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn gpu_slots_run_trials_in_parallel_with_their_own_device() {
    // Each trial waits (bounded) until both have started: they can only succeed in parallel.
    let script = r#"echo "gpu=$CUDA_VISIBLE_DEVICES run=$WANDB_RUN_ID"; touch "$WANDB_RUN_ID.started"; i=0; while [ $i -lt 400 ] && ! { [ -e g1.started ] && [ -e g2.started ]; }; do sleep 0.05; i=$((i+1)); done; [ -e g1.started ] && [ -e g2.started ]"#;
    let runs = vec![run_command("g1", 0.1), run_command("g2", 0.2)];
    let (server, _script) = server_with(script, runs).await;
    let dir = tmp("gpus");
    let o = run_agent(&server, &dir, &["sw33p1d", "--gpus", "0,1"]);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(
        err.contains("2 trials (2 succeeded, 0 failed, 0 stopped)"),
        "{err}"
    );
    for gpu in ["0", "1"] {
        let prefix = format!("[gpu {gpu}] gpu={gpu} run=g");
        assert!(out.contains(&prefix), "{prefix} in {out}");
    }
    assert_eq!(
        bodies(&server, "CreateAgent").await.len(),
        2,
        "one agent per slot"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn count_limits_the_trials() {
    let runs = vec![run_command("c1", 0.1), run_command("c2", 0.2)];
    let (server, _script) = server_with("echo trial $WANDB_RUN_ID", runs).await;
    let dir = tmp("count");
    let o = run_agent(&server, &dir, &["sw33p1d", "--count", "1"]);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        out.contains("trial c1") && !out.contains("trial c2"),
        "{out}"
    );
    assert!(err.contains("ran the 1 trials asked for"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_state_decides_the_exit_code() {
    let dir = tmp("states");
    for (state, code, says) in [
        ("PAUSED", 4, "paused"),
        ("FINISHED", 0, "the sweep is finished"),
        ("CANCELED", 3, "cancelled"),
    ] {
        let server = sweep_server(&[state], None).await;
        let o = run_agent(&server, &dir, &["sw33p1d"]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{state}: {err}");
        assert!(err.contains(says), "{state}: {err}");
        assert!(bodies(&server, "CreateAgent").await.is_empty());
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_paused_while_the_agent_waits_is_reported() {
    let server = sweep_server(&["RUNNING", "PAUSED"], None).await;
    mount_script(&server, Script::idle(vec![json!([]); 1000])).await;
    let dir = tmp("paused");
    let o = run_agent(&server, &dir, &["sw33p1d", "--state-check", "0"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("the sweep is paused: resume it"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_and_server_errors_exit_with_2() {
    let server = sweep_server(&["RUNNING"], None).await;
    let dir = tmp("usage");
    for (args, says) in [
        (&["a/b/c/d"][..], "not a sweep path"),
        (
            &["sw33p1d", "--metric", "loss=Loss: [0-9]+"][..],
            "one capture group",
        ),
        (&["sw33p1d", "--metric", "no-equals"][..], "NAME=REGEX"),
    ] {
        let o = run_agent(&server, &dir, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(text(&o.stderr).contains(says), "{}", text(&o.stderr));
    }
    let unknown = MockServer::start().await;
    let o = run_agent(&unknown, &dir, &["sw33p1d"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    std::fs::remove_dir_all(&dir).ok();
}
