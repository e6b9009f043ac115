//! `wandb-rs report`: the HTML file, `open FILE` as the last line, skipped runs on stderr,
//! exit codes.

use std::path::PathBuf;
use std::process::{Command, Output};

const OFFICIAL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../wandb-report/tests/fixtures/official-0.31.0"
);

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("wandb-rs-report-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("mkdir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn report(args: &[&str], dir: &TempDir) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wandb-rs"))
        .arg("report")
        .args(args)
        .current_dir(&dir.0)
        .output()
        .expect("wandb-rs runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn writes_the_report_and_ends_with_open() {
    let tmp = TempDir::new("ok");
    let out = report(
        &[OFFICIAL, "-o", "runs.html", "--metric", "train_loss"],
        &tmp,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().last(), Some("open runs.html"));
    assert!(
        stdout.contains("wrote runs.html: 2 runs, 1 chart,"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(tmp.0.join("runs.html")).expect("the report");
    assert!(html.contains("<b>train_loss</b>") && !html.contains("<b>val_loss</b>"));
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
}

#[test]
fn the_default_file_is_report_html_and_skipped_runs_go_to_stderr() {
    let tmp = TempDir::new("default");
    let out = report(&[OFFICIAL], &tmp);
    assert_eq!(out.status.code(), Some(0));
    assert!(tmp.0.join("report.html").is_file());
    assert!(
        text(&out.stderr).contains("skipped: metric val_loss: not logged by 1 of 2 runs"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn no_runs_and_bad_configs_have_their_exit_codes() {
    let tmp = TempDir::new("errors");
    let out = report(&["missing-dir"], &tmp);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read missing-dir"));
    std::fs::create_dir_all(tmp.0.join("empty")).expect("mkdir");
    let out = report(&["empty"], &tmp);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no runs found in empty"));
    std::fs::write(tmp.0.join("sweep.yaml"), "method: grdi\n").expect("write");
    let out = report(&[OFFICIAL, "--config", "sweep.yaml"], &tmp);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!tmp.0.join("report.html").exists());
}
