//! Online runs against a mock W&B: the run is created, rows stream with offsets, the final
//! request completes the run; a server that is down leaves everything in the local log; a
//! stop request reaches `should_stop`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

mod common;

use serde_json::{Value, json};
use wandb_log::proto::record::RecordType;
use wandb_log::{LogReader, Run};
use wiremock::MockServer;

fn tmp(name: &str) -> PathBuf {
    common::tmp(&format!("online-{name}"))
}

fn env(base: &str, dir: &std::path::Path, run_id: &str) -> HashMap<&'static str, String> {
    let mut e = common::env(base, dir);
    e.insert("WANDB_RUN_ID", run_id.to_owned());
    e
}

async fn server(stream_reply: Value) -> MockServer {
    let server = MockServer::start().await;
    common::mount_upsert(&server, "mock-entity", "proj", "onl1ne01").await;
    common::mount_file_stream(&server, stream_reply).await;
    server
}

fn local_rows(dir: &std::path::Path) -> usize {
    let file = std::fs::File::open(dir.join("run-onl1ne01.wandb")).expect("local log");
    LogReader::new(file)
        .expect("header")
        .filter(|r| {
            matches!(
                r.as_ref().map(|r| &r.record_type),
                Ok(Some(RecordType::History(_)))
            )
        })
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_stream_and_the_run_completes() {
    let server = server(json!({})).await;
    let dir = tmp("ok");
    let e = env(&server.uri(), &dir, "onl1ne01");
    let report = tokio::task::spawn_blocking(move || {
        let run = Run::builder()
            .config(&json!({ "lr": 0.01 }))
            .init_with(|k| e.get(k).cloned())
            .expect("init");
        for i in 0..5 {
            run.log([("loss", 1.0 / f64::from(i + 1))]).expect("log");
        }
        run.finish(0).expect("finish")
    })
    .await
    .expect("join");
    assert_eq!(report.upload_error, None);
    assert_eq!((report.rows_uploaded, report.retries), (Some(5), 0));
    let run_dir = report.dir.expect("dir");
    assert!(
        run_dir
            .file_name()
            .expect("name")
            .to_str()
            .expect("utf-8")
            .starts_with("run-")
    );
    assert_eq!(local_rows(&run_dir), 5, "the local log has every row too");
    let bodies: Vec<Value> = server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("json"))
        .collect();
    let upsert = bodies
        .iter()
        .find(|b| b["operationName"] == "UpsertBucket")
        .expect("run created");
    assert_eq!(upsert["variables"]["name"], "onl1ne01");
    let config: Value =
        serde_json::from_str(upsert["variables"]["config"].as_str().expect("JSONString"))
            .expect("json");
    assert_eq!(config["lr"]["value"], 0.01);
    let streams: Vec<&Value> = bodies
        .iter()
        .filter(|b| b.get("operationName").is_none())
        .collect();
    let mut steps = Vec::new();
    for b in &streams {
        if let Some(h) = b["files"].get("wandb-history.jsonl") {
            assert_eq!(
                h["offset"].as_u64().expect("offset") as usize,
                steps.len(),
                "offsets continue"
            );
            for line in h["content"].as_array().expect("lines") {
                let row: Value = serde_json::from_str(line.as_str().expect("line")).expect("row");
                steps.push(row["_step"].as_i64().expect("step"));
            }
        }
    }
    assert_eq!(steps, [0, 1, 2, 3, 4]);
    let last = streams.last().expect("final request");
    assert_eq!(
        (last["complete"].clone(), last["exitcode"].clone()),
        (json!(true), json!(0))
    );
    assert!(
        last["files"]["wandb-summary.json"]["content"][0]
            .as_str()
            .expect("summary")
            .contains("\"loss\":0.2")
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_is_down_leaves_everything_local() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let dir = tmp("down");
    let e = env(&format!("http://127.0.0.1:{port}"), &dir, "onl1ne01");
    let report = tokio::task::spawn_blocking(move || {
        let run = Run::builder()
            .finish_timeout(Duration::from_secs(3))
            .upload_retry(wandb_api::RetryPolicy {
                max_retries: 1,
                min_wait: Duration::from_millis(10),
                max_wait: Duration::from_millis(50),
                timeout: Duration::from_secs(1),
            })
            .init_with(|k| e.get(k).cloned())
            .expect("init never waits on the network");
        for i in 0..5 {
            run.log([("loss", f64::from(i))]).expect("log");
        }
        run.finish(0).expect("finish returns")
    })
    .await
    .expect("join");
    assert!(
        report
            .upload_error
            .as_deref()
            .is_some_and(|e| e.contains("cannot reach") && e.contains("wandb sync")),
        "{:?}",
        report.upload_error
    );
    assert_eq!(local_rows(report.dir.as_deref().expect("dir")), 5);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_request_reaches_should_stop() {
    // Not stopped at first; the stop answer is mounted once the run is seen running (a
    // stop answer mounted from the start may arrive before the first check).
    let server = std::sync::Arc::new(server(json!({})).await);
    let dir = tmp("stop");
    let e = env(&server.uri(), &dir, "onl1ne01");
    let (mock, rt) = (server.clone(), tokio::runtime::Handle::current());
    let stopped = tokio::task::spawn_blocking(move || {
        let run = Run::builder()
            .init_with(|k| e.get(k).cloned())
            .expect("init");
        run.log([("loss", 1.0)]).expect("log");
        run.flush(Duration::from_secs(30)).expect("flush");
        assert!(!run.should_stop());
        rt.block_on(
            wiremock::Mock::given(wiremock::matchers::method("POST"))
                .and(wiremock::matchers::path_regex("/file_stream$"))
                .respond_with(
                    wiremock::ResponseTemplate::new(200).set_body_json(json!({ "stopped": true })),
                )
                .with_priority(1)
                .mount(&mock),
        );
        // The upload runs beside the logging; the answer arrives within a few requests.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !run.should_stop() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let stopped = run.should_stop();
        run.finish(1).expect("finish");
        stopped
    })
    .await
    .expect("join");
    assert!(stopped);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn metric_definitions_reach_the_run_config() {
    let server = server(json!({})).await;
    let dir = tmp("metric");
    let e = env(&server.uri(), &dir, "onl1ne01");
    let report = tokio::task::spawn_blocking(move || {
        let run = Run::builder()
            .init_with(|k| e.get(k).cloned())
            .expect("init");
        run.define_metric(wandb_log::MetricDefinition::new("val/*").step_metric("epoch"))
            .expect("define");
        run.log([("epoch", 1.0), ("val/loss", 0.5)]).expect("log");
        run.finish(0).expect("finish")
    })
    .await
    .expect("join");
    assert_eq!(report.upload_error, None);
    let configs: Vec<Value> = server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|b| b["operationName"] == "UpsertBucket")
        .filter_map(|b| serde_json::from_str(b["variables"]["config"].as_str()?).ok())
        .collect();
    let m = configs
        .iter()
        .map(|c: &Value| c["_wandb"]["value"]["m"].clone())
        .find(|m| m.as_array().is_some_and(|a| !a.is_empty()))
        .expect("an upsert with _wandb.m");
    assert_eq!(
        m,
        json!([{"1": "epoch"}, {"2": "val/*", "5": 1, "6": [1, 3]}])
    );
    std::fs::remove_dir_all(&dir).ok();
}
