//! Resuming online runs against a mock W&B that replays the official client's captured
//! resume (`online_run_resume_existing.jsonl`): the run continues at the next step and
//! offsets with its storage id, tags and notes; `must` and `never` refuse; `auto` remembers.

mod common;

use std::path::PathBuf;

use serde_json::{Value, json};
use wandb_log::{Error, Resume, Run};
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CAPTURE: &str = include_str!("fixtures/online_run_resume_existing.jsonl");

/// The captured response to an operation.
fn captured(operation: &str) -> Value {
    CAPTURE
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| r["body"]["operationName"] == operation)
        .map(|r| r["response"].clone())
        .expect("operation in the capture")
}

async fn server(exists: bool) -> MockServer {
    server_with(exists, |_| {}).await
}

/// The server, with the captured `RunResumeStatus` bucket changed by `edit`.
async fn server_with(exists: bool, edit: impl FnOnce(&mut Value)) -> MockServer {
    let server = MockServer::start().await;
    let mut status = captured("RunResumeStatus");
    edit(&mut status["data"]["model"]["bucket"]);
    if !exists {
        status["data"]["model"]["bucket"] = Value::Null;
    }
    for (op, reply) in [
        ("RunResumeStatus", status),
        ("UpsertBucket", captured("UpsertBucket")),
    ] {
        Mock::given(method("POST"))
            .and(body_partial_json(json!({ "operationName": op })))
            .respond_with(ResponseTemplate::new(200).set_body_json(reply))
            .mount(&server)
            .await;
    }
    common::mount_file_stream(&server, json!({})).await;
    server
}

fn tmp(name: &str) -> PathBuf {
    common::tmp(&format!("resume-{name}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_run_continues_at_its_next_step_and_offsets() {
    let server = server(true).await;
    let dir = tmp("existing");
    let e = common::env(&server.uri(), &dir);
    let (first_step, report) = tokio::task::spawn_blocking(move || {
        let run = Run::builder()
            .id("resum002")
            .resume(Resume::Allow)
            .init_with(|k| e.get(k).cloned())
            .expect("init");
        let first = run.log([("a", 4)]).expect("log");
        run.log([("a", 5)]).expect("log");
        (first, run.finish(0).expect("finish"))
    })
    .await
    .expect("join");
    assert_eq!(first_step, 5, "summary _step 4 → the next row is step 5");
    assert_eq!(report.upload_error, None);
    let all = common::bodies(&server).await;
    let upsert = all
        .iter()
        .find(|b| b["operationName"] == "UpsertBucket")
        .expect("upsert");
    let vars = &upsert["variables"];
    assert_eq!(
        vars["id"], "UnVuOnYxOnJlc3VtMDAy",
        "the stored run's storage id"
    );
    assert_eq!(
        (vars["tags"].clone(), vars["notes"].clone()),
        (json!(["oldtag"]), json!("old notes"))
    );
    let history: Vec<&Value> = all
        .iter()
        .filter_map(|b| b.get("files")?.get("wandb-history.jsonl"))
        .collect();
    assert_eq!(
        history[0]["offset"], 5,
        "history continues after the 5 stored lines"
    );
    let line: Value =
        serde_json::from_str(history[0]["content"][0].as_str().expect("line")).expect("json line");
    assert_eq!(line["_step"], 5);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_run_without_a_summary_step_continues_after_its_last_row() {
    // A killed run: the summary (sent at the end) has no `_step`; its 5 rows were logged at
    // sparse steps, the last at 40.
    let server = server_with(true, |bucket| {
        bucket["summaryMetrics"] = json!("{\"a\": 3}");
        bucket["historyTail"] =
            json!(r#"["{\"_step\": 30, \"a\": 2}", "{\"_step\": 40, \"a\": 3}"]"#);
    })
    .await;
    let dir = tmp("killed");
    let e = common::env(&server.uri(), &dir);
    let first_step = tokio::task::spawn_blocking(move || {
        let run = Run::builder()
            .id("resum002")
            .resume(Resume::Allow)
            .init_with(|k| e.get(k).cloned())
            .expect("init");
        let first = run.log([("a", 4)]).expect("log");
        run.finish(0).expect("finish");
        first
    })
    .await
    .expect("join");
    assert_eq!(
        first_step, 41,
        "one past the last row's _step, not the 5 stored lines"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn must_and_never_refuse_with_a_reason() {
    for (exists, mode, says) in [
        (false, Resume::Must, "does not exist"),
        (true, Resume::Never, "already exists"),
    ] {
        let server = server(exists).await;
        let dir = tmp("refuse");
        let e = common::env(&server.uri(), &dir);
        let result = tokio::task::spawn_blocking(move || {
            Run::builder()
                .id("resum002")
                .resume(mode)
                .init_with(|k| e.get(k).cloned())
                .map(|r| r.id().to_owned())
        })
        .await
        .expect("join");
        match result {
            Err(Error::Resume(why)) => assert!(why.contains(says), "{why}"),
            other => panic!("{mode:?}: expected a resume error, got {other:?}"),
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_remembers_the_run_id_until_a_clean_finish() {
    let server = server(false).await;
    let dir = tmp("auto");
    let e = common::env(&server.uri(), &dir);
    let file = dir.join("wandb").join("wandb-resume.json");
    let f = file.clone();
    tokio::task::spawn_blocking(move || {
        let start = |code: i32| {
            let run = Run::builder()
                .resume(Resume::Auto)
                .init_with(|k| e.get(k).cloned())
                .expect("init");
            let remembered: Value =
                serde_json::from_str(&std::fs::read_to_string(&f).expect("remembered"))
                    .expect("json");
            assert_eq!(remembered["run_id"], run.id());
            run.finish(code).expect("finish");
            run.id().to_owned()
        };
        let crashed = start(1);
        assert!(f.exists(), "a failed run stays resumable");
        assert_eq!(
            start(0),
            crashed,
            "the restarted program continues the same run"
        );
    })
    .await
    .expect("join");
    assert!(!file.exists(), "a clean finish forgets the run id");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_dropped_by_a_panic_stays_resumable() {
    let server = server(false).await;
    let dir = tmp("auto-panic");
    let e = common::env(&server.uri(), &dir);
    let file = dir.join("wandb").join("wandb-resume.json");
    let crashed = tokio::task::spawn_blocking(move || {
        std::thread::spawn(move || {
            let run = Run::builder()
                .resume(Resume::Auto)
                .init_with(|k| e.get(k).cloned())
                .expect("init");
            run.log([("a", 1)]).expect("log");
            panic!("training diverged in {}", run.id());
        })
        .join()
        .expect_err("the thread panicked")
    })
    .await
    .expect("join");
    let message = crashed.downcast_ref::<String>().expect("message");
    let remembered: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("remembered")).expect("json");
    let id = remembered["run_id"].as_str().expect("run id");
    assert!(
        message.ends_with(id),
        "the same run is remembered: {message}"
    );
    let exit_codes: Vec<i64> = common::bodies(&server)
        .await
        .iter()
        .filter_map(|b| b.get("exitcode")?.as_i64())
        .collect();
    assert_eq!(exit_codes, [1], "a panic is not a success");
    std::fs::remove_dir_all(&dir).ok();
}
