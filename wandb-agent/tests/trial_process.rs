//! The trial process module: argv, environment, working directory, output tail and line
//! callback, SIGTERM then SIGKILL, process groups.
#![cfg(unix)]

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wandb_agent::{Error, Stream, TrialCommand, TrialProcess};

/// Long enough never to be reached in a passing test; bounds a broken one.
const BOUND: Duration = Duration::from_secs(20);

fn sh(script: &str) -> TrialCommand {
    TrialCommand::new(["sh", "-c", script])
}

/// Starts `cmd` and waits until it prints `ready` (so its signal handlers are in place).
fn spawn_ready(cmd: TrialCommand) -> TrialProcess {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let trial = TrialProcess::spawn(&cmd.on_line(move |_, line| {
        if line == "ready" {
            tx.lock().expect("sender").send(()).ok();
        }
    }))
    .expect("spawn");
    rx.recv_timeout(BOUND)
        .expect("the child never printed `ready`");
    trial
}

#[test]
fn every_argument_is_one_argv_element() {
    let cmd = TrialCommand::new([
        "sh",
        "-c",
        r#"for a in "$@"; do echo "<$a>"; done"#,
        "prog",
        "--tag=a b",
        "--opt={'name': 'adam'}",
        "",
    ]);
    let mut trial = TrialProcess::spawn(&cmd).unwrap();
    assert!(trial.wait().unwrap().success());
    assert_eq!(
        trial.output_tail().text(),
        "<--tag=a b>\n<--opt={'name': 'adam'}>\n<>"
    );
}

#[test]
fn environment_is_set_removed_and_inherited() {
    // PATH is inherited (sh is found, and echoed); HOME is removed; two are set.
    let cmd =
        sh(r#"echo "id=$WANDB_RUN_ID sweep=$WANDB_SWEEP_ID home=${HOME-unset} path=${PATH:+set}""#)
            .env("WANDB_RUN_ID", "r1")
            .envs([("WANDB_SWEEP_ID", "s1")])
            .env_remove("HOME");
    let mut trial = TrialProcess::spawn(&cmd).unwrap();
    trial.wait().unwrap();
    assert_eq!(
        trial.output_tail().text(),
        "id=r1 sweep=s1 home=unset path=set"
    );
}

#[test]
fn runs_in_the_given_directory() {
    let dir = std::env::temp_dir().join(format!("trial-process-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut trial = TrialProcess::spawn(&sh("pwd -P").current_dir(&dir)).unwrap();
    trial.wait().unwrap();
    let expected = dir.canonicalize().unwrap();
    assert_eq!(trial.output_tail().text(), expected.to_str().unwrap());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn stdin_is_closed() {
    let mut trial = TrialProcess::spawn(&sh("cat; echo eof")).unwrap();
    trial.wait().unwrap();
    assert_eq!(trial.output_tail().text(), "eof");
}

#[test]
fn exit_codes_are_reported() {
    let mut ok = TrialProcess::spawn(&sh("exit 0")).unwrap();
    let exit = ok.wait().unwrap();
    assert!(exit.success());
    assert_eq!(exit.to_string(), "exit code 0");
    let mut failed = TrialProcess::spawn(&sh("exit 42")).unwrap();
    let exit = failed.wait().unwrap();
    assert_eq!(
        (exit.code(), exit.signal(), exit.reported_code()),
        (Some(42), None, 42)
    );
    // try_wait after the end keeps answering.
    assert_eq!(failed.try_wait().unwrap(), Some(exit));
}

#[test]
fn the_tail_keeps_the_last_lines() {
    let script = "i=1; while [ $i -le 100 ]; do echo out$i; i=$((i+1)); done; exit 1";
    let mut trial = TrialProcess::spawn(&sh(script).tail_lines(3)).unwrap();
    assert_eq!(trial.wait().unwrap().code(), Some(1));
    assert_eq!(trial.output_tail().text(), "out98\nout99\nout100");
}

#[test]
fn the_tail_has_both_streams() {
    let mut trial = TrialProcess::spawn(&sh("echo to-out; echo to-err >&2")).unwrap();
    trial.wait().unwrap();
    let mut lines: Vec<(Stream, String)> = trial
        .output_tail()
        .lines
        .into_iter()
        .map(|l| (l.stream, l.text))
        .collect();
    // Across the two streams, arrival order is not writing order.
    lines.sort_by_key(|(_, text)| text.clone());
    assert_eq!(
        lines,
        [
            (Stream::Stderr, "to-err".to_owned()),
            (Stream::Stdout, "to-out".to_owned())
        ]
    );
}

#[test]
fn a_zero_tail_keeps_nothing() {
    let mut trial = TrialProcess::spawn(&sh("echo a").tail_lines(0)).unwrap();
    trial.wait().unwrap();
    assert!(trial.output_tail().lines.is_empty());
}

#[test]
fn the_callback_sees_every_line_with_its_stream() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let script = "i=1; while [ $i -le 500 ]; do echo line$i; i=$((i+1)); done; printf 'crlf\\r\\n'; printf 'no newline' >&2";
    let cmd = sh(script)
        .tail_lines(1)
        .on_line(move |stream, line| sink.lock().unwrap().push((stream, line.to_owned())));
    let mut trial = TrialProcess::spawn(&cmd).unwrap();
    trial.wait().unwrap();
    let seen = seen.lock().unwrap();
    let stdout: Vec<&str> = seen
        .iter()
        .filter(|(s, _)| *s == Stream::Stdout)
        .map(|(_, l)| l.as_str())
        .collect();
    assert_eq!(stdout.len(), 501);
    assert_eq!(stdout[0], "line1");
    assert_eq!(stdout[499], "line500");
    assert_eq!(stdout[500], "crlf");
    assert!(seen.contains(&(Stream::Stderr, "no newline".to_owned())));
}

#[test]
fn very_long_lines_are_cut_into_pieces() {
    // 200,000 bytes without a newline arrive as pieces of at most 64 KiB.
    let script = "head -c 200000 /dev/zero | tr '\\0' x";
    let pieces = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&pieces);
    let cmd = sh(script).on_line(move |_, line| sink.lock().unwrap().push(line.len()));
    let mut trial = TrialProcess::spawn(&cmd).unwrap();
    trial.wait().unwrap();
    let pieces = pieces.lock().unwrap();
    assert_eq!(pieces.iter().sum::<usize>(), 200_000);
    assert!(pieces.iter().all(|&n| n <= 64 * 1024), "{pieces:?}");
}

#[test]
fn stop_sends_sigterm_first() {
    let script = "trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done";
    let mut trial = spawn_ready(sh(script));
    let exit = trial.stop(BOUND).unwrap();
    assert_eq!(exit.code(), Some(7));
    assert!(trial.terminated_at().is_some());
    assert!(trial.output_tail().text().contains("got-term"));
}

#[test]
fn stop_sends_sigkill_when_sigterm_is_ignored() {
    let script = "trap '' TERM; echo ready; while :; do sleep 0.05; done";
    let mut trial = spawn_ready(sh(script));
    let exit = trial.stop(Duration::from_millis(300)).unwrap();
    assert_eq!(exit.signal(), Some(9));
    assert_eq!(exit.reported_code(), 137);
    assert_eq!(exit.to_string(), "killed by signal 9");
}

#[test]
fn terminate_then_kill_can_be_driven_step_by_step() {
    let script = "trap '' TERM; echo ready; while :; do sleep 0.05; done";
    let mut trial = spawn_ready(sh(script));
    trial.terminate().unwrap();
    let first = trial.terminated_at().unwrap();
    assert_eq!(
        trial.wait_timeout(Duration::from_millis(200)).unwrap(),
        None
    );
    trial.terminate().unwrap();
    assert_eq!(
        trial.terminated_at(),
        Some(first),
        "the first SIGTERM time is kept"
    );
    trial.kill().unwrap();
    assert_eq!(trial.wait().unwrap().signal(), Some(9));
    // Signals after the end are no-ops.
    trial.terminate().unwrap();
    trial.kill().unwrap();
}

/// Whether a process is gone (or a zombie waiting for a reaper).
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .expect("stat fields")
            .trim_start()
            .starts_with('Z'),
    }
}

#[test]
fn signals_reach_the_whole_process_group() {
    if !std::path::Path::new("/proc/self/stat").exists() {
        return; // no procfs to look at
    }
    let script = "sleep 60 & echo $!; echo ready; wait";
    let mut trial = spawn_ready(sh(script));
    let grandchild = trial.output_tail().lines[0].text.clone();
    assert!(!gone(&grandchild));
    trial.stop(BOUND).unwrap();
    // Reaping by init is asynchronous: poll (bounded).
    let deadline = std::time::Instant::now() + BOUND;
    while !gone(&grandchild) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(gone(&grandchild), "grandchild {grandchild} survived");
}

#[test]
fn dropping_the_handle_kills_the_child() {
    if !std::path::Path::new("/proc/self/stat").exists() {
        return;
    }
    let trial = spawn_ready(sh("echo ready; exec sleep 60"));
    let pid = trial.id().to_string();
    drop(trial);
    assert!(gone(&pid));
}

#[test]
fn a_missing_program_is_a_clear_error() {
    let err = TrialProcess::spawn(&TrialCommand::new(["/nonexistent/train-program"])).unwrap_err();
    assert!(matches!(
        err,
        Error::TrialProcess {
            action: "start",
            ..
        }
    ));
    let msg = err.to_string();
    assert!(msg.contains("/nonexistent/train-program"), "{msg}");
    let empty = TrialProcess::spawn(&TrialCommand::new(Vec::<String>::new())).unwrap_err();
    assert!(empty.to_string().contains("empty command"));
}

#[test]
fn debug_hides_environment_values() {
    let cmd = TrialCommand::new(["x"]).env("WANDB_API_KEY", "secret-key-value");
    let shown = format!("{cmd:?}");
    assert!(shown.contains("WANDB_API_KEY"));
    assert!(!shown.contains("secret-key-value"));
}
