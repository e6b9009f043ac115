//! A disk that fills up under a run: `flush` and `finish` report it (every time, not once),
//! and the log on disk holds whole records only, each row once, readable by `wandb sync`.
//!
//! The full disk is a file-size limit (`ulimit -f`, with SIGXFSZ ignored so that writes
//! fail with EFBIG) on a child process: this test binary again, in child mode.
#![cfg(unix)]

use std::path::Path;
use std::process::Command;

use wandb_log::proto::record::RecordType;
use wandb_log::{LogReader, Mode, Run};

/// The child's run directory, when this process is the child.
const CHILD: &str = "WANDB_LOG_DISK_FULL_CHILD";
/// Rows the child logs at most: past the limit below, and past the 64 MiB the writer keeps
/// waiting for a failing disk, after which the log refuses rows and `log` says so.
const ROWS: u64 = 400_000;

/// In the child: logs until the disk is full; reports what `flush` and `finish` said.
fn child(root: &Path) {
    let run = Run::builder()
        .mode(Mode::Offline)
        .dir(root)
        .id("full0001")
        .init_with(|_| None)
        .expect("init: the limit leaves room for the run record");
    // Wide rows (a 500-byte note each) reach the limits in fewer rows.
    let note = wandb_sweep::Value::from("n".repeat(500));
    let mut log_error = None;
    for i in 0..ROWS {
        let row = [
            ("loss", wandb_sweep::Value::from(i as f64)),
            ("note", note.clone()),
        ];
        if let Err(e) = run.log(row) {
            log_error = Some(format!("row {i}: {e}"));
            break;
        }
    }
    let wait = std::time::Duration::from_secs(30);
    let first = run.flush(wait).map(|_| ()).map_err(|e| e.to_string());
    let second = run.flush(wait).map(|_| ()).map_err(|e| e.to_string());
    let finished = run.finish(0).map(|_| ()).map_err(|e| e.to_string());
    let report = serde_json::json!({
        "log": log_error,
        "first_flush": first.err(),
        "second_flush": second.err(),
        "finish": finished.err(),
    });
    std::fs::write(root.join("child-report.json"), report.to_string()).expect("report");
}

#[test]
fn a_full_disk_is_reported_by_every_flush_and_finish_and_the_log_stays_whole() {
    if let Some(root) = std::env::var_os(CHILD) {
        return child(Path::new(&root));
    }
    let root = std::env::temp_dir().join(format!("wandb-log-disk-full-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("mkdir");
    // Report files are written after the limit bites: give the limit to the log only by
    // keeping it above the report's size (4 MB; `ulimit -f` counts 512- or 1024-byte blocks).
    let status = Command::new("sh")
        .arg("-c")
        .arg(
            "trap '' XFSZ; ulimit -f 4000; exec \"$0\" --exact \"$1\" --nocapture --test-threads 1",
        )
        .arg(std::env::current_exe().expect("test binary"))
        .arg("a_full_disk_is_reported_by_every_flush_and_finish_and_the_log_stays_whole")
        .env(CHILD, &root)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("sh runs");
    assert!(status.success(), "the child ran to its end: {status}");

    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("child-report.json")).expect("child report"),
    )
    .expect("json");
    let log_error = report["log"].as_str().unwrap_or_default();
    assert!(
        log_error.contains("refused rows") && log_error.contains("free disk space"),
        "log says so once rows are refused: {report}"
    );
    for key in ["first_flush", "second_flush", "finish"] {
        let message = report[key].as_str().unwrap_or_default();
        assert!(
            message.contains("File too large") || message.contains("os error 27"),
            "{key} reports the full disk: {report}"
        );
    }

    let run_dir = std::fs::read_dir(root.join("wandb"))
        .expect("wandb dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("run dir");
    let log = std::fs::read(run_dir.join("run-full0001.wandb")).expect("log");
    let mut reader = LogReader::new(&log[..]).expect("header");
    let steps: Vec<i64> = reader
        .by_ref()
        .filter_map(|r| match r.expect("every record decodes").record_type {
            Some(RecordType::History(h)) => h.step.map(|s| s.num),
            _ => None,
        })
        .collect();
    assert_eq!(reader.skipped(), 0, "no torn record");
    assert_eq!(
        reader.position(),
        log.len() as u64,
        "the file ends on a record"
    );
    assert!(
        !steps.is_empty() && (steps.len() as u64) < ROWS,
        "{} rows",
        steps.len()
    );
    assert!(
        steps.iter().enumerate().all(|(i, &s)| s == i as i64),
        "each row once, in order"
    );
    std::fs::remove_dir_all(&root).ok();
}
