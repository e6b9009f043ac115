//! The capture of the process's own stdout and stderr (`Console::Capture`), in a child
//! process (this test binary run again): 10 MB to each stream reach the terminal side
//! unchanged and in order, and the run's output completely and in order; the descriptors
//! are restored at `finish`; a second run in the same process does not capture.
#![cfg(unix)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use wandb_log::{Console, Mode, Run};

const CHILD: &str = "WANDB_LOG_CAPTURE_CHILD";
/// 100-byte lines: 100,000 of them are 10 MB per stream.
const LINES: usize = 100_000;
const PAD: &str =
    "................................................................................";

fn line(stream: &str, i: usize) -> String {
    format!("{stream} {i:07} {PAD}")
}

fn run_dir(root: &Path, id: &str) -> PathBuf {
    std::fs::read_dir(root.join("wandb"))
        .expect("wandb dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(id))
        .expect("run dir")
}

/// The child's part: a capturing run, the output, a second run that must not capture, finish,
/// then output after the finish.
fn child(root: &Path) {
    // The test harness has written `test <name> ... ` without a newline.
    writeln!(std::io::stdout()).expect("stdout");
    let run = Run::builder()
        .mode(Mode::Offline)
        .dir(root)
        .id("capture1")
        .console(Console::Capture)
        .init()
        .expect("init");
    let second = Run::builder()
        .mode(Mode::Offline)
        .dir(root)
        .id("capture2")
        .console(Console::Capture)
        .init()
        .expect("init the second run");
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    for i in 0..LINES {
        writeln!(out, "{}", line("out", i)).expect("stdout");
        writeln!(err, "{}", line("err", i)).expect("stderr");
    }
    out.flush().expect("flush");
    second.finish(0).expect("finish the second run");
    run.finish(0).expect("finish");
    writeln!(out, "after finish: stdout").expect("stdout");
    writeln!(err, "after finish: stderr").expect("stderr");
}

#[test]
fn captured_output_reaches_the_terminal_and_the_run_in_order() {
    if let Some(root) = std::env::var_os(CHILD) {
        child(Path::new(&root));
        return;
    }
    let root = common::tmp("capture");
    let exe = std::env::current_exe().expect("test binary");
    let done = Command::new(exe)
        .args([
            "--exact",
            "captured_output_reaches_the_terminal_and_the_run_in_order",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &root)
        .output()
        .expect("child runs");
    let (stdout, stderr) = (
        String::from_utf8(done.stdout).expect("utf-8"),
        String::from_utf8(done.stderr).expect("utf-8"),
    );
    assert!(
        done.status.success(),
        "child failed: {}",
        &stderr[stderr.len().saturating_sub(2000)..]
    );
    let expected = |stream: &str| (0..LINES).map(|i| line(stream, i)).collect::<Vec<_>>();
    let terminal = |text: &str, stream: &str| {
        text.lines()
            .filter(|l| l.starts_with(stream))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert!(
        terminal(&stdout, "out ") == expected("out"),
        "the terminal got every stdout line, in order"
    );
    assert!(
        terminal(&stderr, "err ") == expected("err"),
        "the terminal got every stderr line, in order"
    );
    assert!(stdout.contains("after finish: stdout\n"));
    assert!(stderr.contains("after finish: stderr\n"));

    let lines = common::output_lines(&run_dir(&root, "capture1"));
    let recorded = |stderr: bool, stream: &str| {
        lines
            .iter()
            .filter(|(e, l)| *e == stderr && l.starts_with(stream))
            .map(|(_, l)| l.strip_suffix('\n').expect("a whole line").to_owned())
            .collect::<Vec<_>>()
    };
    assert!(
        recorded(false, "out ") == expected("out"),
        "the run got every stdout line, in order"
    );
    assert!(
        recorded(true, "err ") == expected("err"),
        "the run got every stderr line, in order"
    );
    assert!(
        !lines.iter().any(|(_, l)| l.starts_with("after finish")),
        "output after finish goes to the restored descriptors only"
    );
    assert!(
        common::output_lines(&run_dir(&root, "capture2")).is_empty(),
        "a second run in the process does not capture"
    );
    std::fs::remove_dir_all(&root).ok();
}

const HOLDER: &str = "WANDB_LOG_CAPTURE_HOLDER";

/// The child's part: a capturing run whose own child (a `sleep` that inherited stdout and
/// stderr) outlives it; `finish` must return while that child still holds the pipes.
fn holder_child(root: &Path) {
    writeln!(std::io::stdout()).expect("stdout");
    let run = Run::builder()
        .mode(Mode::Offline)
        .dir(root)
        .id("capture3")
        .console(Console::Capture)
        .init()
        .expect("init");
    let mut sleeper = Command::new("sleep")
        .arg("600")
        .spawn()
        .expect("sleep runs");
    writeln!(std::io::stdout(), "before finish").expect("stdout");
    run.finish(0).expect("finish");
    sleeper.kill().expect("kill");
    sleeper.wait().expect("wait");
    writeln!(std::io::stdout(), "finish returned").expect("stdout");
}

#[test]
fn finish_returns_while_a_child_process_holds_the_captured_output() {
    if let Some(root) = std::env::var_os(HOLDER) {
        holder_child(Path::new(&root));
        return;
    }
    let root = common::tmp("capture-holder");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "finish_returns_while_a_child_process_holds_the_captured_output",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HOLDER, &root)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("child runs");
    // Bounded: without the bound on the drain, `finish` waits for the 600 s sleep.
    let mut status = None;
    for _ in 0..1200 {
        status = child.try_wait().expect("wait");
        if status.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if status.is_none() {
        child.kill().ok();
        child.wait().ok();
    }
    assert!(
        status.is_some_and(|s| s.success()),
        "finish did not return while a child process held the pipes"
    );
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut stdout)
        .expect("read");
    assert!(stdout.contains("finish returned"), "{stdout}");
    let lines = common::output_lines(&run_dir(&root, "capture3"));
    assert!(
        lines.iter().any(|(_, l)| l == "before finish\n"),
        "{lines:?}"
    );
    std::fs::remove_dir_all(&root).ok();
}

const CLOSED: &str = "WANDB_LOG_CAPTURE_CLOSED";

#[test]
fn a_closed_stdout_leaves_the_run_without_capture_not_failed() {
    if let Some(root) = std::env::var_os(CLOSED) {
        // The child: stdout closed, then a capturing run, which must still log and finish.
        nix::unistd::close(1).expect("close stdout");
        let run = Run::builder()
            .mode(Mode::Offline)
            .dir(Path::new(&root))
            .id("capture4")
            .console(Console::Capture)
            .init()
            .expect("init with stdout closed");
        run.log([("loss", 0.5)]).expect("log");
        run.console("from Run::console").expect("console");
        run.finish(0).expect("finish");
        return;
    }
    let root = common::tmp("capture-closed");
    let exe = std::env::current_exe().expect("test binary");
    let done = Command::new(exe)
        .args([
            "--exact",
            "a_closed_stdout_leaves_the_run_without_capture_not_failed",
            "--test-threads=1",
        ])
        .env(CLOSED, &root)
        .output()
        .expect("child runs");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let lines = common::output_lines(&run_dir(&root, "capture4"));
    assert_eq!(lines, [(false, "from Run::console\n".to_owned())]);
    std::fs::remove_dir_all(&root).ok();
}
