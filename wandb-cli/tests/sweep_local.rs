//! `wandb-rs sweep local`: trials as child processes with the agent's environment, metrics
//! read back from the children's `.wandb` logs, hyperband stopping a child, failures, GPUs.
//!
//! The child trainer is this test binary itself (`child_trainer` below, which does nothing
//! unless started by the sweep): a real program using wandb-log.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde::Deserialize;
use wandb_log::Run;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("wandb-rs-local-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("mkdir");
        TempDir(p)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sweep_local(tmp: &TempDir, yaml: &str, extra: &[&str], program: &[&str]) -> Output {
    let file = tmp.file("sweep.yaml", yaml);
    let dir = tmp.0.join("sweep");
    let mut args: Vec<&str> = vec!["sweep", "local"];
    args.push(file.to_str().expect("utf-8 path"));
    args.extend(["--dir", dir.to_str().expect("utf-8 path")]);
    args.extend(extra);
    args.push("--");
    args.extend(program);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wandb-rs"));
    cmd.args(&args)
        .current_dir(&tmp.0)
        .env_remove("WANDB_SWEEP_ID")
        .env_remove("WANDB_RUN_ID");
    // A variable that is not UTF-8 must not stop the sweep.
    #[cfg(unix)]
    cmd.env(
        "WANDB_RS_NOT_UTF8",
        <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"\xff"),
    );
    cmd.output().expect("wandb-rs runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The sweep state file of a run of `sweep_local`.
fn state(tmp: &TempDir) -> serde_json::Value {
    let text = std::fs::read_to_string(tmp.0.join("sweep/sweep-state.json")).expect("state");
    serde_json::from_str(&text).expect("json")
}

#[derive(Deserialize)]
struct A {
    a: i64,
}

/// The trainer the sweeps start: logs `loss = a` four times; with `a = 5` it logs twice and
/// then waits to be stopped. Does nothing when run as an ordinary test.
#[test]
fn child_trainer() {
    if std::env::var("WANDB_RUN_ID").is_err() {
        return;
    }
    let run = Run::builder().init().expect("attaches to the sweep trial");
    let A { a } = run.config().expect("sweep parameters");
    println!("training with a={a}");
    for step in 0..4 {
        run.log([("loss", a)]).expect("log");
        run.flush(Duration::from_secs(10)).expect("flush");
        if a == 5 && step == 1 {
            let until = Instant::now() + Duration::from_secs(60);
            while Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    run.finish(0).expect("finish");
}

fn trainer() -> Vec<String> {
    let exe = std::env::current_exe().expect("test binary");
    vec![
        exe.to_str().expect("utf-8 path").to_owned(),
        "child_trainer".into(),
        "--exact".into(),
        "--nocapture".into(),
        // `a=1`: a test-name filter that matches nothing, so the sweep's macro is harmless.
        "${args_no_hyphens}".into(),
    ]
}

#[test]
fn a_grid_of_child_trainers_runs_offline_and_reports_their_metric() {
    let tmp = TempDir::new("grid");
    let program = trainer();
    let program: Vec<&str> = program.iter().map(String::as_str).collect();
    let yaml = "method: grid\nmetric: {name: loss}\nparameters:\n  a: {values: [3, 1, 2]}\n";
    let o = sweep_local(&tmp, yaml, &["--parallel", "2"], &program);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", text(&o.stderr));
    assert!(out.contains("3 trials (3 finished"), "{out}");
    assert!(out.contains("wandb sync "), "{out}");
    let state = state(&tmp);
    let trials = state["trials"].as_array().expect("trials");
    for t in trials {
        let a = t["params"]["a"].as_f64().expect("a");
        assert_eq!(
            t["metric"].as_f64(),
            Some(a),
            "metric read back from the child's log: {t}"
        );
        assert_eq!(t["history"].as_array().map(Vec::len), Some(4));
        let dir = tmp
            .0
            .join("sweep")
            .join(t["run_dir"].as_str().expect("run dir"));
        let run_id = t["run_id"].as_str().expect("run id");
        assert!(
            dir.join(format!("run-{run_id}.wandb")).exists(),
            "{}",
            dir.display()
        );
    }
    // The best run comes first in the leaderboard.
    let first_row = out
        .lines()
        .find(|l| l.trim_start().starts_with("1 "))
        .expect("a row");
    assert!(first_row.contains("a=1"), "{out}");
}

#[test]
fn hyperband_stops_a_child_with_a_bad_metric() {
    let tmp = TempDir::new("hyperband");
    let program = trainer();
    let program: Vec<&str> = program.iter().map(String::as_str).collect();
    let yaml = "method: grid\nmetric: {name: loss}\nearly_terminate: {type: hyperband, min_iter: 2, eta: 3}\n\
                parameters:\n  a: {values: [1, 5]}\n";
    let o = sweep_local(&tmp, yaml, &[], &program);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", text(&o.stderr));
    let state = state(&tmp);
    let statuses: Vec<(&str, usize)> = state["trials"]
        .as_array()
        .expect("trials")
        .iter()
        .map(|t| {
            let status = t["status"].as_str().expect("status");
            (status, t["history"].as_array().map_or(0, Vec::len))
        })
        .collect();
    assert_eq!(statuses, [("finished", 4), ("stopped", 2)], "{out}");
}

#[test]
fn failing_children_are_reported_with_their_last_error_line_and_exit_1() {
    let tmp = TempDir::new("fail");
    let yaml = "method: grid\nparameters:\n  a: {values: [1, 2]}\n";
    let script = "echo \"$1 $WANDB_MODE\"; echo \"no GPU memory\" >&2; exit 3";
    let o = sweep_local(&tmp, yaml, &[], &["sh", "-c", script, "sh", "${args}"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("2 failed"), "{out}");
    assert!(out.contains("a=1: exit code 3: no GPU memory"), "{out}");
    assert!(
        text(&o.stderr).contains("--a=1 offline"),
        "child output passes through"
    );
}

#[test]
fn children_get_the_agent_environment_and_one_gpu_each() {
    let tmp = TempDir::new("env");
    let yaml = "method: grid\nproject: demo\nparameters:\n  a: {values: [1, 2, 3, 4]}\n";
    let script = "f=\"$WANDB_DIR/env-$WANDB_RUN_ID\"; \
                  echo \"$WANDB_MODE|$WANDB_PROJECT|$CUDA_VISIBLE_DEVICES|${WANDB_SWEEP_ID:-none}|$WANDB_RUN_GROUP\" > \"$f\"; \
                  cat \"$WANDB_SWEEP_PARAM_PATH\" >> \"$f\"";
    let o = sweep_local(&tmp, yaml, &["--gpus", "0,1"], &["sh", "-c", script]);
    assert!(
        o.status.success(),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let state = state(&tmp);
    let group = format!("sweep-{}", state["sweep_id"].as_str().expect("id"));
    for t in state["trials"].as_array().expect("trials") {
        let run_id = t["run_id"].as_str().expect("run id");
        let env = std::fs::read_to_string(tmp.0.join("sweep").join(format!("env-{run_id}")))
            .expect("the child wrote its environment");
        let mut lines = env.lines();
        let fields: Vec<&str> = lines.next().expect("first line").split('|').collect();
        assert_eq!(fields[..2], ["offline", "demo"]);
        assert!(fields[2] == "0" || fields[2] == "1", "one GPU each: {env}");
        assert_eq!(
            fields[3..],
            ["none", group.as_str()],
            "no unknown sweep id for wandb sync"
        );
        let params: String = lines.collect::<Vec<_>>().join("\n");
        let a = t["params"]["a"].as_i64().expect("a");
        assert_eq!(params, format!("wandb_version: 1\n\na:\n  value: {a}"));
    }
}

#[test]
fn too_many_workers_for_the_gpus_is_a_usage_error() {
    let tmp = TempDir::new("gpus");
    let yaml = "method: grid\nparameters:\n  a: {values: [1]}\n";
    let o = sweep_local(&tmp, yaml, &["--gpus", "0", "--parallel", "2"], &["true"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("each trial gets one GPU"));
    assert!(!Path::new(&tmp.0.join("sweep/sweep-state.json")).exists());
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_children_and_the_sweep_resumes_them() {
    let tmp = TempDir::new("interrupt");
    let yaml = "method: grid\nparameters:\n  a: {values: [1, 2]}\n";
    let file = tmp.file("sweep.yaml", yaml);
    let dir = tmp.0.join("sweep");
    let marker =
        "touch \"$WANDB_DIR/started-$WANDB_RUN_ID\"; [ -e \"$WANDB_DIR/quick\" ] || sleep 60";
    let args = |extra: &[&str]| {
        let mut a: Vec<String> = ["sweep", "local", file.to_str().expect("path"), "--dir"]
            .map(str::to_owned)
            .to_vec();
        a.push(dir.to_str().expect("path").to_owned());
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a.extend(["--", "sh", "-c", marker].map(str::to_owned));
        a
    };
    let child = Command::new(env!("CARGO_BIN_EXE_wandb-rs"))
        .args(args(&["--parallel", "2"]))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wandb-rs starts");
    let started = |n: usize| {
        std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with("started-"))
                    .count()
                    >= n
            })
            .unwrap_or(false)
    };
    let until = Instant::now() + Duration::from_secs(30);
    while !started(2) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(started(2), "both trials started");
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let o = child.wait_with_output().expect("wandb-rs ends");
    assert_eq!(o.status.code(), Some(130), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("run the same command again to resume"));
    let statuses: Vec<String> = state(&tmp)["trials"]
        .as_array()
        .expect("trials")
        .iter()
        .map(|t| t["status"].as_str().expect("status").to_owned())
        .collect();
    assert_eq!(
        statuses,
        ["running", "running"],
        "interrupted, to run again"
    );

    std::fs::write(dir.join("quick"), "").expect("marker");
    let o = Command::new(env!("CARGO_BIN_EXE_wandb-rs"))
        .args(args(&[]))
        .output()
        .expect("wandb-rs runs");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("2 trials (2 finished"),
        "{}",
        text(&o.stdout)
    );
}

/// Two trials that note their pid and every SIGTERM, and ignore it (for up to 60 s), under
/// `wandb-rs sweep local` with `extra` options; returns the running command and its
/// sweep directory once both trials have started.
#[cfg(unix)]
fn stubborn_sweep(tmp: &TempDir, extra: &[&str]) -> (std::process::Child, PathBuf) {
    let file = tmp.file(
        "sweep.yaml",
        "method: grid\nparameters:\n  a: {values: [1, 2]}\n",
    );
    let dir = tmp.0.join("sweep");
    let script = r#"echo $$ > "$WANDB_DIR/pid-$WANDB_RUN_ID"; trap 'touch "$WANDB_DIR/term-$WANDB_RUN_ID"' TERM; i=0; while [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done"#;
    let mut args = vec!["sweep", "local", file.to_str().expect("path"), "--dir"];
    args.push(dir.to_str().expect("path"));
    args.extend(["--parallel", "2"]);
    args.extend(extra);
    args.extend(["--", "sh", "-c", script]);
    let child = Command::new(env!("CARGO_BIN_EXE_wandb-rs"))
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wandb-rs starts");
    assert!(files_appear(&dir, "pid-", 2), "both trials started");
    (child, dir)
}

/// Whether `n` files named `prefix…` exist in `dir` within 30 s.
fn files_appear(dir: &Path, prefix: &str, n: usize) -> bool {
    let count = || {
        std::fs::read_dir(dir).map_or(0, |d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                .count()
        })
    };
    let until = Instant::now() + Duration::from_secs(30);
    while count() < n && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    count() >= n
}

#[cfg(unix)]
fn interrupt(child: &std::process::Child) {
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
}

/// The trials' pids that are still alive.
#[cfg(unix)]
fn alive_trials(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("sweep dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("pid-"))
        .map(|e| {
            std::fs::read_to_string(e.path())
                .expect("pid")
                .trim()
                .to_owned()
        })
        .filter(|pid| {
            Command::new("kill")
                .args(["-0", pid])
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect()
}

#[cfg(unix)]
#[test]
fn a_second_ctrl_c_kills_every_trial_then_exits_130() {
    let tmp = TempDir::new("interrupt-twice");
    // A kill delay far beyond the test: only the second Ctrl-C can end the trials.
    let (child, dir) = stubborn_sweep(&tmp, &["--kill-delay", "600"]);
    interrupt(&child);
    assert!(
        files_appear(&dir, "term-", 2),
        "the first Ctrl-C sends SIGTERM"
    );
    assert_eq!(alive_trials(&dir).len(), 2, "the trials ignore SIGTERM");
    interrupt(&child);
    let o = child.wait_with_output().expect("wandb-rs ends");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted again: killing the running trials"),
        "{err}"
    );
    assert_eq!(
        alive_trials(&dir),
        Vec::<String>::new(),
        "no trial outlives wandb-rs"
    );
}

#[cfg(unix)]
#[test]
fn after_one_ctrl_c_the_kill_delay_ends_trials_that_ignore_sigterm() {
    let tmp = TempDir::new("kill-delay");
    let (child, dir) = stubborn_sweep(&tmp, &["--kill-delay", "0.3"]);
    interrupt(&child);
    let o = child.wait_with_output().expect("wandb-rs ends");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(files_appear(&dir, "term-", 2), "SIGTERM came first: {err}");
    assert!(!err.contains("interrupted again"), "{err}");
    assert_eq!(alive_trials(&dir), Vec::<String>::new(), "SIGKILL followed");
}
