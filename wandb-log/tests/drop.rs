//! A run's last handle dropped without `finish`: while its thread panics, the run ends as
//! failed with the panic's message in its console output; with the server down, the drop
//! returns within its bound ([`wandb_log::DROP_UPLOAD_WAIT`]) whatever `finish_timeout` is.

mod common;

use std::path::Path;
use std::time::Duration;

use common::mock_wandb::{MockWandb, Reply, Script};
use wandb_log::proto::record::RecordType;
use wandb_log::{LogReader, Mode, Run};

/// Every record of the one run under `root`.
fn records(root: &Path) -> Vec<RecordType> {
    let run_dir = std::fs::read_dir(root.join("wandb"))
        .expect("wandb dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("run dir");
    let log = std::fs::read_dir(&run_dir)
        .expect("run dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "wandb"))
        .expect("log");
    LogReader::new(std::fs::File::open(log).expect("open"))
        .expect("header")
        .filter_map(|r| r.expect("record").record_type)
        .collect()
}

fn exit_code(records: &[RecordType]) -> Option<i32> {
    records.iter().find_map(|r| match r {
        RecordType::Exit(e) => Some(e.exit_code),
        _ => None,
    })
}

#[test]
fn a_run_dropped_while_its_thread_panics_ends_failed_with_the_message() {
    let root = common::tmp("drop-panic");
    let dir = root.clone();
    let panicked = std::thread::spawn(move || {
        let run = Run::builder()
            .mode(Mode::Offline)
            .dir(&dir)
            .init_with(|_| None)
            .expect("init");
        run.log([("loss", 0.5)]).expect("log");
        panic!("loss exploded at step 1");
    })
    .join();
    assert!(panicked.is_err());
    let records = records(&root);
    assert_eq!(exit_code(&records), Some(1), "a crash is not a success");
    let console: String = records
        .iter()
        .filter_map(|r| match r {
            RecordType::OutputRaw(o) => Some(o.line.clone()),
            _ => None,
        })
        .collect();
    assert!(
        console.contains("the run ended in a panic: loss exploded at step 1 at "),
        "{console}"
    );
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn a_run_dropped_normally_still_ends_with_exit_code_0() {
    let root = common::tmp("drop-ok");
    {
        let run = Run::builder()
            .mode(Mode::Offline)
            .dir(&root)
            .init_with(|_| None)
            .expect("init");
        run.log([("loss", 0.5)]).expect("log");
    }
    assert_eq!(exit_code(&records(&root)), Some(0));
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn dropping_a_run_whose_server_is_down_returns_within_the_drop_bound() {
    let server = MockWandb::start(Script::ok(), Script::new([], Reply::Status(503)));
    let root = common::tmp("drop-down");
    let dir = root.clone();
    let settings = server.settings();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let run = Run::builder()
            .mode(Mode::Online)
            .api(settings)
            .dir(&dir)
            .finish_timeout(Duration::from_secs(600))
            .init_with(|_| None)
            .expect("init");
        run.log([("loss", 0.5)]).expect("log");
        drop(run);
        let _ = tx.send(());
    });
    // Far below the 600 s finish timeout, far above the drop's own bound.
    let bound = wandb_log::DROP_UPLOAD_WAIT * 10;
    rx.recv_timeout(bound)
        .expect("the drop returned without waiting for the finish timeout");
    assert_eq!(
        exit_code(&records(&root)),
        Some(0),
        "the local log is complete"
    );
    std::fs::remove_dir_all(&root).ok();
}
