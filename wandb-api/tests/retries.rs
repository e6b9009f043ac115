//! Failure injection: 500 then 200, 429 with Retry-After, non-retried statuses, connection
//! resets, a slow server, GraphQL errors, and where the API key may go.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{client_for, fast_retry, reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wandb_api::{Error, RetryPolicy};
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn viewer_data() -> serde_json::Value {
    json!({ "viewer": { "id": "VXNlcjox", "entity": "mock-entity", "username": "u", "email": "", "flags": null, "teams": { "edges": [] } } })
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    reply(&server, "Viewer", viewer_data()).await;
    let client = client_for(&server.uri(), fast_retry(5));
    assert_eq!(
        client.viewer().await.expect("third try").entity.as_deref(),
        Some("mock-entity")
    );
    assert_eq!(server.received_requests().await.expect("recorded").len(), 3);
}

#[tokio::test]
async fn retries_stop_at_the_limit_with_the_last_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string("down for maintenance"))
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retry(2));
    let err = client.viewer().await.expect_err("always 503");
    assert!(
        matches!(&err, Error::Http { status: 503, body } if body.contains("maintenance")),
        "{err}"
    );
    assert_eq!(server.received_requests().await.expect("recorded").len(), 3);
}

#[tokio::test]
async fn retry_after_is_honoured_instead_of_the_backoff() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    reply(&server, "Viewer", viewer_data()).await;
    let policy = RetryPolicy {
        max_wait: Duration::from_secs(2),
        ..fast_retry(3)
    };
    let client = client_for(&server.uri(), policy);
    let start = Instant::now();
    client.viewer().await.expect("after the wait");
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "waited {:?}, not the server's 1 s",
        start.elapsed()
    );
}

#[tokio::test]
async fn huge_or_far_retry_after_values_wait_at_most_the_policy_maximum() {
    for value in [
        "1e20",
        "1e300",
        "18446744073709551616",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", value))
            .up_to_n_times(2)
            .with_priority(1)
            .mount(&server)
            .await;
        reply(&server, "Viewer", viewer_data()).await;
        let policy = RetryPolicy {
            max_wait: Duration::from_millis(200),
            ..fast_retry(3)
        };
        let client = client_for(&server.uri(), policy);
        let start = Instant::now();
        let viewer = tokio::time::timeout(Duration::from_secs(10), client.viewer())
            .await
            .unwrap_or_else(|_| panic!("Retry-After: {value} was not capped"));
        assert!(viewer.is_ok(), "Retry-After: {value}: {viewer:?}");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "Retry-After: {value}: waited {:?}, more than the policy's 2 × 200 ms",
            start.elapsed()
        );
    }
}

#[tokio::test]
async fn rate_limited_to_the_end_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retry(1));
    assert!(
        matches!(client.viewer().await, Err(Error::RateLimited { retry_after: Some(d) }) if d == Duration::ZERO)
    );
}

#[tokio::test]
async fn graphql_errors_in_a_200_are_returned_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "errors": [{ "message": "project not found" }] })),
        )
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retry(5));
    let err = client.viewer().await.expect_err("errors");
    assert!(matches!(&err, Error::GraphQl { messages } if messages == &["project not found"]));
    assert_eq!(server.received_requests().await.expect("recorded").len(), 1);
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "data": viewer_data() }))
                .set_delay(Duration::from_millis(800)),
        )
        .mount(&server)
        .await;
    let policy = RetryPolicy {
        timeout: Duration::from_millis(100),
        ..fast_retry(1)
    };
    let client = client_for(&server.uri(), policy);
    assert!(
        matches!(client.viewer().await, Err(Error::Timeout(d)) if d == Duration::from_millis(100))
    );
}

/// A server that resets the first `resets` connections, then answers `body`.
async fn flaky_server(resets: usize, body: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        for i in 0..resets + 4 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            if i < resets {
                socket.set_zero_linger().ok();
                drop(socket);
                continue;
            }
            let mut buf = vec![0u8; 65536];
            let _ = socket.read(&mut buf).await;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn connection_resets_are_retried() {
    let url = flaky_server(2, json!({ "data": viewer_data() }).to_string()).await;
    let client = client_for(&url, fast_retry(4));
    assert_eq!(
        client
            .viewer()
            .await
            .expect("after two resets")
            .entity
            .as_deref(),
        Some("mock-entity")
    );
    let url = flaky_server(10, String::new()).await;
    let client = client_for(&url, fast_retry(1));
    assert!(matches!(
        client.viewer().await,
        Err(Error::Transport { .. })
    ));
}

#[tokio::test]
async fn the_key_does_not_follow_a_redirect_to_another_origin() {
    let other = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": viewer_data() })))
        .mount(&other)
        .await;
    let base = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header_exists("authorization"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("Location", format!("{}/graphql", other.uri())),
        )
        .mount(&base)
        .await;
    let client = client_for(&base.uri(), fast_retry(0));
    client.viewer().await.expect("followed");
    let received = other.received_requests().await.expect("recorded");
    assert_eq!(received.len(), 1);
    assert!(
        received[0].headers.get("authorization").is_none(),
        "Authorization leaked to another origin"
    );
}
