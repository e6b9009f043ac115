//! Console output: `Run::console` and the `Write` handle, the tracing layer (level, target,
//! message) in the log and in the file stream's `output.log` lines, and the capture of the
//! process's own stdout and stderr (a child process writing 10 MB to each).

use std::io::Write;

mod common;

use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;
use wandb_log::{ConsoleStream, Run};

#[test]
fn console_lines_and_the_write_handle_reach_the_log_and_output_log() {
    let dir = common::tmp("console-lines");
    let run = common::offline_run(&dir);
    run.console("first\nsecond").expect("console");
    run.console_to(ConsoleStream::Stderr, "oops")
        .expect("console");
    let mut out = run.console_writer(ConsoleStream::Stdout);
    write!(out, "half ").expect("write");
    writeln!(out, "a line").expect("write");
    write!(out, "tail").expect("write");
    drop(out);
    let report = run.finish(0).expect("finish");
    assert!(matches!(
        run.console("late"),
        Err(wandb_log::Error::AlreadyFinished)
    ));
    let run_dir = report.dir.expect("dir");
    let lines = common::output_lines(&run_dir);
    let expected = [
        (false, "first\n"),
        (false, "second\n"),
        (true, "oops\n"),
        (false, "half a line\n"),
        (false, "tail\n"),
    ];
    assert_eq!(
        lines,
        expected.map(|(e, l)| (e, l.to_owned())),
        "output_raw records, stderr marked"
    );
    assert_eq!(
        std::fs::read_to_string(run_dir.join("files/output.log")).expect("output.log"),
        "first\nsecond\noops\nhalf a line\ntail\n"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn tracing_events_become_lines_with_level_and_target() {
    let dir = common::tmp("console-tracing");
    let run = common::offline_run(&dir);
    let subscriber =
        tracing_subscriber::registry().with(run.console_layer().max_level(tracing::Level::DEBUG));
    tracing::subscriber::with_default(subscriber, || {
        tracing::trace!("above the layer's level");
        tracing::info!(target: "trainer", epoch = 2, "epoch done");
        tracing::error!(target: "trainer::data", path = "a.csv", "cannot read");
        tracing::debug!("plain");
        tracing::warn!(target: "wandb_log::uploader", "own diagnostics are left out");
    });
    let layer = run.console_layer();
    std::thread::Builder::new()
        .name("wandb-upload".into())
        .spawn(move || {
            let subscriber = tracing_subscriber::registry().with(layer);
            tracing::subscriber::with_default(subscriber, || {
                tracing::info!(target: "hyper_util", "an event on a run's own thread");
            });
        })
        .expect("thread")
        .join()
        .expect("join");
    let report = run.finish(0).expect("finish");
    assert_eq!(
        common::output_lines(&report.dir.expect("dir")),
        [
            (false, " INFO trainer: epoch done epoch=2\n".to_owned()),
            (
                true,
                "ERROR trainer::data: cannot read path=a.csv\n".to_owned()
            ),
            (false, "DEBUG console: plain\n".to_owned()),
        ]
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A console line as the file stream carries it: `[ERROR ]YYYY-MM-DDTHH:MM:SS.ffffff text`.
fn strip_timestamp(line: &str) -> (bool, &str) {
    let (stderr, rest) = match line.strip_prefix("ERROR ") {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let (stamp, text) = rest.split_at(27);
    let b = stamp.as_bytes();
    assert!(
        b[4] == b'-' && b[10] == b'T' && b[19] == b'.' && b[26] == b' ',
        "timestamp format: {line:?}"
    );
    (stderr, text)
}

#[tokio::test(flavor = "multi_thread")]
async fn console_and_tracing_lines_stream_as_output_log() {
    let dir = common::tmp("console-online");
    let (server, e) = common::online_run_server("cons0001", &dir).await;
    let report = tokio::task::spawn_blocking(move || {
        let run = Run::builder()
            .init_with(|k| e.get(k).cloned())
            .expect("init");
        run.console("hello stdout").expect("console");
        let subscriber = tracing_subscriber::registry().with(run.console_layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "trainer", "below the default level");
            tracing::warn!(target: "trainer", lr = 0.5, "lr is high");
            tracing::error!(target: "trainer", "diverged");
        });
        run.log([("loss", 1.0)]).expect("log");
        run.finish(0).expect("finish")
    })
    .await
    .expect("join");
    assert_eq!(report.upload_error, None);
    let lines = common::streamed_lines(&common::bodies(&server).await, "output.log");
    let offsets: Vec<u64> = lines.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, [0, 1, 2], "one line per offset, from 0");
    let texts: Vec<(bool, &str)> = lines.iter().map(|(_, l)| strip_timestamp(l)).collect();
    assert_eq!(
        texts,
        [
            (false, "hello stdout"),
            (false, " WARN trainer: lr is high lr=0.5"),
            (true, "ERROR trainer: diverged"),
        ]
    );
    let puts = common::puts(&server).await;
    let output_log: Vec<&Vec<u8>> = puts
        .iter()
        .filter(|(p, _)| p == "/upload/output.log")
        .map(|(_, b)| b)
        .collect();
    assert_eq!(
        output_log,
        [&b"hello stdout\n WARN trainer: lr is high lr=0.5\nERROR trainer: diverged\n".to_vec()],
        "the plain output.log is uploaded at the end"
    );
    assert!(report.files_uploaded.contains(&"output.log".to_owned()));
    let last = common::bodies(&server)
        .await
        .into_iter()
        .rev()
        .find(|b| b.get("complete").is_some())
        .expect("final request");
    assert_eq!(last["exitcode"], Value::from(0));
    std::fs::remove_dir_all(&dir).ok();
}

/// A row whose building logs through `tracing` (as a user's `IntoRow` may).
struct TracingRow;

impl wandb_log::IntoRow for TracingRow {
    fn write_row(self, row: &mut wandb_log::RowWriter<'_>) {
        tracing::info!(target: "trainer", "building a row");
        row.push("loss", 0.5);
    }
}

#[test]
fn an_event_raised_while_a_row_is_built_is_a_line_not_a_deadlock() {
    let dir = common::tmp("console-reentrant");
    let run = common::offline_run(&dir);
    let (done, finished) = std::sync::mpsc::channel();
    let logging = run.clone();
    std::thread::spawn(move || {
        let subscriber = tracing_subscriber::registry().with(logging.console_layer());
        let step =
            tracing::subscriber::with_default(subscriber, || logging.log(TracingRow).expect("log"));
        done.send(step).expect("send");
    });
    let step = finished
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("log returned (a deadlock would not)");
    assert_eq!(step, 0);
    let report = run.finish(0).expect("finish");
    assert_eq!(
        common::output_lines(&report.dir.expect("dir")),
        [(false, " INFO trainer: building a row\n".to_owned())]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_console_line_longer_than_a_request_is_cut_and_the_upload_goes_on() {
    let dir = common::tmp("console-long");
    let (server, e) = common::online_run_server("cons0002", &dir).await;
    let long = "x".repeat(11 * 1024 * 1024);
    let report = tokio::task::spawn_blocking(move || {
        let run = Run::builder()
            .metadata(false)
            .init_with(|k| e.get(k).cloned())
            .expect("init");
        run.console(&long).expect("console");
        run.console("after").expect("console");
        run.log([("loss", 1.0)]).expect("log");
        run.finish(0).expect("finish")
    })
    .await
    .expect("join");
    assert_eq!(report.upload_error, None);
    let lines = common::streamed_lines(&common::bodies(&server).await, "output.log");
    let offsets: Vec<u64> = lines.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, [0, 1], "the long line keeps its offset");
    assert!(lines[0].1.len() < 10 * 1024 * 1024, "{}", lines[0].1.len());
    assert!(
        lines[0]
            .1
            .ends_with("x [cut: the whole line is in the local log]")
    );
    assert_eq!(strip_timestamp(&lines[1].1), (false, "after"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_failed_runs_message_is_console_output_in_the_log_and_output_log() {
    let dir = common::tmp("console-fail");
    let run = common::offline_run(&dir);
    run.console("hello").expect("console");
    let report = run.fail("boom\nat epoch 3").expect("fail");
    let run_dir = report.dir.expect("dir");
    assert_eq!(
        common::output_lines(&run_dir),
        [
            (false, "hello\n".to_owned()),
            (true, "boom\n".to_owned()),
            (true, "at epoch 3\n".to_owned()),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(run_dir.join("files/output.log")).expect("output.log"),
        "hello\nboom\nat epoch 3\n"
    );
    std::fs::remove_dir_all(&dir).ok();
}
