//! Requests that create something are not sent again when W&B may have acted on them (a
//! lost reply would make a duplicate); idempotent ones still retry.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{bodies, client_for, fast_retry, reply};
use wandb_api::{Error, RetryPolicy, SweepState};
use wandb_sweep::SweepConfig;
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server answering `status` (after `delay`) to every request for `op`.
async fn failing(op: &str, status: u16, delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({ "operationName": op })))
        .respond_with(
            ResponseTemplate::new(status)
                .set_body_string("upstream failed")
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn create_agent_is_not_sent_again_after_a_5xx_or_a_timeout() {
    for (status, delay) in [(500, Duration::ZERO), (200, Duration::from_millis(800))] {
        let server = failing("CreateAgent", status, delay).await;
        let policy = RetryPolicy {
            timeout: Duration::from_millis(200),
            ..fast_retry(3)
        };
        let client = client_for(&server.uri(), policy);
        let err = client
            .create_agent("vm", None, None, "sw33p1d")
            .await
            .expect_err("failed");
        assert_eq!(
            bodies(&server, "CreateAgent").await.len(),
            1,
            "HTTP {status} after {delay:?}: sent again"
        );
        let text = err.to_string();
        assert!(
            matches!(&err, Error::NotRetried { operation, .. } if operation == "CreateAgent"),
            "{err:?}"
        );
        assert!(
            text.contains("not sent again") && text.contains("agents"),
            "the error says what to check: {text}"
        );
    }
}

#[tokio::test]
async fn create_sweep_is_not_sent_again_after_a_5xx() {
    let server = failing("UpsertSweep", 503, Duration::ZERO).await;
    let client = client_for(&server.uri(), fast_retry(3));
    let cfg = SweepConfig::from_yaml("method: random\nparameters:\n  lr: {min: 0.1, max: 1.0}\n")
        .expect("valid");
    let err = client
        .create_sweep(&cfg, None, None)
        .await
        .expect_err("failed");
    assert_eq!(bodies(&server, "UpsertSweep").await.len(), 1);
    let text = err.to_string();
    assert!(
        text.contains("not sent again") && text.contains("sweeps") && text.contains("503"),
        "{text}"
    );
}

#[tokio::test]
async fn creating_requests_are_retried_when_nothing_was_done() {
    // 429: the server turned the request away.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    reply(
        &server,
        "CreateAgent",
        json!({ "createAgent": { "agent": { "id": "QWdlbnQ6MQ==" } } }),
    )
    .await;
    let client = client_for(&server.uri(), fast_retry(3));
    let id = client
        .create_agent("vm", None, None, "sw33p1d")
        .await
        .expect("after a 429");
    assert_eq!(id, "QWdlbnQ6MQ==");
    // No connection at all: the request never left.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    let client = client_for(&closed, fast_retry(2));
    client
        .create_agent("vm", None, None, "sw33p1d")
        .await
        .expect_err("nobody listens");
    assert_eq!(client.retries(), 2, "connection refused is retried");
}

#[tokio::test]
async fn idempotent_requests_still_retry_5xx() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    reply(&server, "SweepWithRuns", json!({ "project": { "sweep": {
        "id": "U3dlZXA6MQ==", "name": "sw33p1d", "method": null, "state": "RUNNING", "description": null, "config": null,
        "createdAt": null, "heartbeatAt": null, "updatedAt": null, "earlyStopJobRunning": null, "bestLoss": null,
        "controller": null, "scheduler": null, "runs": { "edges": [] } } } })).await;
    reply(
        &server,
        "UpsertSweepState",
        json!({ "upsertSweep": { "sweep": { "state": "PAUSED" } } }),
    )
    .await;
    reply(
        &server,
        "Heartbeat",
        json!({ "agentHeartbeat": { "agent": null, "commands": "[]" } }),
    )
    .await;
    let client = client_for(&server.uri(), fast_retry(3));
    client
        .set_sweep_state(None, None, "sw33p1d", SweepState::Paused)
        .await
        .expect("an update by id is retried");
    client
        .heartbeat("QWdlbnQ6MQ==", &[])
        .await
        .expect("a heartbeat is retried");
    assert_eq!(client.retries(), 2);
}
