//! The file stream: request shape as the official client sends it, per-file offsets, exactly
//! once by offset under failures, the final request, `stopped`.

mod support;

use serde_json::{Value, json};
use support::{KEY, client_for, fast_retry};
use wandb_api::{Chunk, FileStream, Offsets, to_extended_json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const STREAM: &str = "/files/mock-entity/proj/nzal3ew1/file_stream";

async fn stream_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(STREAM))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "exitcode": null, "limits": {} })),
        )
        .mount(&server)
        .await;
    server
}

async fn sent(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("json"))
        .collect()
}

fn rows(from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| format!(r#"{{"_step":{i},"loss":{}}}"#, 1.0 / (i as f64 + 1.0)))
        .collect()
}

#[tokio::test]
async fn offsets_continue_per_file_and_the_final_request_matches_the_official_shape() {
    let server = stream_server().await;
    let client = client_for(&server.uri(), fast_retry(2));
    let mut stream = FileStream::new(
        client,
        "mock-entity",
        "proj",
        "nzal3ew1",
        Offsets::default(),
    )
    .with_retry(fast_retry(2));
    stream
        .send(&Chunk {
            events: vec![r#"{"_wandb":true,"system.cpu":1}"#.into()],
            ..Chunk::default()
        })
        .await
        .expect("1");
    stream
        .send(&Chunk {
            history: rows(0, 14),
            output: vec!["a".into(), "b".into()],
            ..Chunk::default()
        })
        .await
        .expect("2");
    stream
        .send(&Chunk {
            history: rows(14, 15),
            summary: Some(r#"{"loss":0.1}"#.into()),
            ..Chunk::default()
        })
        .await
        .expect("3");
    let last = Chunk {
        history: rows(29, 6),
        summary: Some(r#"{"loss":0.05}"#.into()),
        uploaded: vec!["config.yaml".into(), "wandb-summary.json".into()],
        exit_code: Some(0),
        ..Chunk::default()
    };
    stream.send(&last).await.expect("4");
    let bodies = sent(&server).await;
    assert_eq!(
        bodies[0],
        json!({ "files": { "wandb-events.jsonl": { "offset": 0, "content": [r#"{"_wandb":true,"system.cpu":1}"#] } } })
    );
    assert_eq!(bodies[1]["files"]["wandb-history.jsonl"]["offset"], 0);
    assert_eq!(bodies[1]["files"]["output.log"]["offset"], 0);
    assert_eq!(bodies[2]["files"]["wandb-history.jsonl"]["offset"], 14);
    assert_eq!(
        bodies[2]["files"]["wandb-summary.json"],
        json!({ "offset": 0, "content": [r#"{"loss":0.1}"#] })
    );
    assert_eq!(bodies[3]["files"]["wandb-history.jsonl"]["offset"], 29);
    assert!(
        bodies[3]["files"].get("output.log").is_none(),
        "files without lines are left out"
    );
    // The official client's final request has exactly these keys.
    let keys: Vec<&str> = bodies[3]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["files", "uploaded", "complete", "exitcode"]);
    assert_eq!(
        (bodies[3]["complete"].clone(), bodies[3]["exitcode"].clone()),
        (json!(true), json!(0))
    );
    assert_eq!(
        stream.offsets(),
        Offsets {
            history: 35,
            events: 1,
            output: 2
        }
    );
    let requests = server.received_requests().await.expect("recorded");
    let auth = requests[0]
        .headers
        .get("authorization")
        .expect("auth on the stream");
    assert!(auth.to_str().expect("ascii").starts_with("Basic "));
    assert!(!auth.to_str().expect("ascii").contains(KEY));
}

#[tokio::test]
async fn failures_resend_the_identical_request_and_advance_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(STREAM))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .with_priority(3)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retry(5));
    let mut stream = FileStream::new(
        client,
        "mock-entity",
        "proj",
        "nzal3ew1",
        Offsets {
            history: 5,
            events: 3,
            output: 7,
        },
    )
    .with_retry(fast_retry(5));
    stream
        .send(&Chunk {
            history: rows(5, 10),
            ..Chunk::default()
        })
        .await
        .expect("after retries");
    let raw: Vec<Vec<u8>> = server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .map(|r| r.body.clone())
        .collect();
    assert_eq!(raw.len(), 4);
    assert!(
        raw.windows(2).all(|w| w[0] == w[1]),
        "byte-identical retries"
    );
    let body: Value = serde_json::from_slice(&raw[0]).expect("json");
    assert_eq!(
        body["files"]["wandb-history.jsonl"]["offset"], 5,
        "a resumed run continues at the stored count"
    );
    assert_eq!(stream.offsets().history, 15);
}

#[tokio::test]
async fn a_failed_send_keeps_the_offsets_for_the_next_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retry(1));
    let mut stream = FileStream::new(
        client,
        "mock-entity",
        "proj",
        "nzal3ew1",
        Offsets::default(),
    )
    .with_retry(fast_retry(1));
    assert!(
        stream
            .send(&Chunk {
                history: rows(0, 3),
                ..Chunk::default()
            })
            .await
            .is_err()
    );
    assert_eq!(
        stream.offsets(),
        Offsets::default(),
        "nothing counted as sent"
    );
}

#[tokio::test]
async fn stopped_preempting_heartbeat_and_extended_json() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "stopped": true })))
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retry(1));
    let mut stream = FileStream::new(client, "my team", "p/q", "r1", Offsets::default())
        .with_retry(fast_retry(1));
    assert!(
        stream
            .send(&Chunk::default())
            .await
            .expect("heartbeat")
            .stopped
    );
    stream
        .send(&Chunk {
            preempting: true,
            ..Chunk::default()
        })
        .await
        .expect("preempting");
    let row: wandb_sweep::Value = serde_json::from_str(r#"{"_step": 0}"#).expect("row");
    let mut row = row;
    if let wandb_sweep::Value::Map(m) = &mut row {
        m.insert("nan".into(), wandb_sweep::Value::from(f64::NAN));
        m.insert("inf".into(), wandb_sweep::Value::from(f64::INFINITY));
    }
    stream
        .send(&Chunk {
            history: vec![to_extended_json(&row)],
            ..Chunk::default()
        })
        .await
        .expect("row");
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(
        requests[0].url.path(),
        "/files/my%20team/p%2Fq/r1/file_stream"
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&requests[0].body).expect("json"),
        json!({}),
        "a heartbeat"
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&requests[1].body).expect("json"),
        json!({ "preempting": true })
    );
    let text = String::from_utf8(requests[2].body.clone()).expect("utf-8");
    assert!(
        text.contains(r#"{\"_step\":0,\"nan\":NaN,\"inf\":Infinity}"#),
        "bare tokens inside the line: {text}"
    );
}

#[tokio::test]
async fn rate_limit_headers_reach_the_response_and_odd_ones_are_ignored() {
    let server = MockServer::start().await;
    for (run, remaining, reset) in [("good", "4", "8"), ("odd", "-1", "soon")] {
        Mock::given(method("POST"))
            .and(path(format!("/files/mock-entity/proj/{run}/file_stream")))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("RateLimit-Remaining", remaining)
                    .insert_header("RateLimit-Reset", reset)
                    .set_body_json(json!({})),
            )
            .mount(&server)
            .await;
    }
    let client = client_for(&server.uri(), fast_retry(0));
    let send = |run: &'static str| {
        let client = client.clone();
        async move {
            FileStream::new(client, "mock-entity", "proj", run, Offsets::default())
                .send(&Chunk::default())
                .await
                .expect("sent")
        }
    };
    let good = send("good").await.rate_limit.expect("a hint");
    assert_eq!(good.rate(), 0.5, "4 requests in 8 s");
    assert_eq!(send("odd").await.rate_limit, None);
}
