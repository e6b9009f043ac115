//! `wandb_log::sync`: an offline run uploaded to a mock W&B: the run with its config and
//! metric definitions, every row once at consecutive offsets, console lines, the summary and
//! the exit code; clear errors for a directory without a log.

mod common;

use serde_json::{Value, json};
use wandb_log::{Error, MetricDefinition, Mode, Run, SyncOptions};
use wiremock::MockServer;

fn tmp(name: &str) -> std::path::PathBuf {
    common::tmp(&format!("sync-{name}"))
}

async fn server() -> MockServer {
    let server = MockServer::start().await;
    common::mount_upsert(&server, "team", "proj", "sync0001").await;
    common::mount_resume_status(&server, Value::Null).await;
    common::mount_file_stream(&server, json!({})).await;
    server
}

fn api(base: &str) -> wandb_api::Settings {
    wandb_api::Settings::builder()
        .base_url(base)
        .api_key("local-0123456789012345678901234567890123456789")
        .resolve_with(|_| None, None)
        .expect("settings")
}

/// An offline run `team/proj/sync0001` under `dir`, with `lr` in its config.
fn offline_run(dir: &std::path::Path) -> Run {
    Run::builder()
        .project("proj")
        .entity("team")
        .id("sync0001")
        .mode(Mode::Offline)
        .dir(dir)
        .config(&json!({"lr": 0.01}))
        .init_with(|_| None)
        .expect("init")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offline_run_arrives_complete() {
    let dir = tmp("ok");
    let run = offline_run(&dir);
    run.define_metric(MetricDefinition::new("val/*").step_metric("epoch"))
        .expect("define");
    for i in 0..2_500 {
        run.log([("loss", f64::from(i)), ("epoch", f64::from(i / 100))])
            .expect("log");
    }
    let run_dir = run.fail("diverged").expect("fail").dir.expect("dir");
    let server = server().await;
    let report = common::sync_to(&server, run_dir, SyncOptions::default()).await;
    assert_eq!(
        (report.rows, report.rows_uploaded, report.exit_code),
        (2_500, 2_500, 1)
    );

    let bodies = common::bodies(&server).await;
    let upsert = bodies
        .iter()
        .find(|b| b["operationName"] == "UpsertBucket")
        .expect("upsert");
    let config: Value =
        serde_json::from_str(upsert["variables"]["config"].as_str().expect("config"))
            .expect("json");
    assert_eq!(config["lr"]["value"], 0.01);
    assert_eq!(config["_wandb"]["value"]["m"][1]["2"], "val/*");
    let stream: Vec<&Value> = bodies
        .iter()
        .filter(|b| b.get("files").is_some() || b.get("complete").is_some())
        .collect();
    let mut next = 0;
    for b in &stream {
        if let Some(h) = b["files"].get("wandb-history.jsonl") {
            assert_eq!(h["offset"], next, "consecutive offsets, each row once");
            next += h["content"].as_array().expect("lines").len();
        }
    }
    assert_eq!(next, 2_500);
    let last = stream.last().expect("requests");
    assert_eq!(
        (&last["complete"], &last["exitcode"]),
        (&json!(true), &json!(1))
    );
    let output = stream
        .iter()
        .find_map(|b| b["files"].get("output.log"))
        .expect("console lines");
    assert!(
        output["content"][0]
            .as_str()
            .expect("line")
            .starts_with("ERROR ")
            && output["content"][0]
                .as_str()
                .expect("line")
                .ends_with(" diverged")
    );
    let summary: Value = serde_json::from_str(
        last["files"]["wandb-summary.json"]["content"][0]
            .as_str()
            .expect("summary"),
    )
    .expect("json");
    assert_eq!(
        (summary["loss"].clone(), summary["_step"].clone()),
        (json!(2499.0), json!(2499))
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_directory_without_a_log_says_what_to_give() {
    let dir = tmp("empty");
    let err = wandb_log::sync(&dir, api("http://127.0.0.1:9"), &SyncOptions::default())
        .expect_err("no log");
    assert!(
        matches!(&err, Error::Sync(m) if m.contains("no .wandb file")),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A sync waiting for a failing server says so through its progress function, then ends with
/// a last report of every row sent.
#[tokio::test(flavor = "multi_thread")]
async fn progress_tells_rows_sent_and_why_the_upload_waits() {
    use std::sync::{Arc, Mutex};
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, ResponseTemplate};

    let dir = tmp("progress");
    let run = offline_run(&dir);
    for i in 0..1_000 {
        run.log([("loss", f64::from(i))]).expect("log");
    }
    let run_dir = run.finish(0).expect("finish").dir.expect("dir");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/file_stream$"))
        .respond_with(ResponseTemplate::new(500).set_body_string("overloaded"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    common::mount_upsert(&server, "team", "proj", "sync0001").await;
    common::mount_resume_status(&server, Value::Null).await;
    common::mount_file_stream(&server, json!({})).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let options = SyncOptions {
        // Both attempts of the first request fail; it waits 400 ms to be tried again.
        retry: wandb_api::RetryPolicy {
            max_retries: 1,
            min_wait: std::time::Duration::from_millis(200),
            max_wait: std::time::Duration::from_millis(200),
            timeout: std::time::Duration::from_secs(10),
        },
        progress: Some(wandb_log::SyncProgressFn::new(
            std::time::Duration::from_millis(50),
            move |p| s.lock().expect("lock").push(p.clone()),
        )),
        ..SyncOptions::default()
    };
    let report = common::sync_to(&server, run_dir, options).await;
    assert_eq!(report.rows_uploaded, 1_000);
    let seen = seen.lock().expect("lock");
    let waiting = seen
        .iter()
        .filter(|p| p.waiting.as_deref().is_some_and(|w| w.contains("500")))
        .count();
    assert!(
        waiting >= 3,
        "reports keep coming while the retry waits 400 ms (every 50 ms asked): {seen:?}"
    );
    let last = seen.last().expect("a last report");
    assert!(last.done && last.waiting.is_none(), "{last:?}");
    assert_eq!(
        (last.rows_uploaded, last.rows_read, last.run_id.as_str()),
        (1_000, 1_000, "sync0001")
    );
    assert_eq!(seen.iter().filter(|p| p.done).count(), 1);
    std::fs::remove_dir_all(&dir).ok();
}
