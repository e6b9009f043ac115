//! Shared test setup: a wiremock server, a client pointed at it, replies from the captures.
#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file uses part of the support module"
)]

pub mod agent_server;

use std::time::Duration;

use serde_json::{Value, json};
use wandb_api::{Client, RetryPolicy, Settings};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The fake key of the captures.
pub const KEY: &str = "local-0123456789012345678901234567890123456789";

/// A retry policy in milliseconds.
pub fn fast_retry(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        min_wait: Duration::from_millis(1),
        max_wait: Duration::from_millis(5),
        timeout: Duration::from_secs(5),
    }
}

/// A mock server with a catch-all that fails loudly, and a client for it.
pub async fn setup() -> (MockServer, Client) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("no mock for this request"))
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retry(3));
    (server, client)
}

/// A client for `url` with entity `mock-entity` and project `proj`.
pub fn client_for(url: &str, retry: RetryPolicy) -> Client {
    let settings = Settings::builder()
        .base_url(url)
        .api_key(KEY)
        .entity("mock-entity")
        .project("proj")
        .resolve_with(|_| None, None)
        .expect("settings");
    Client::builder()
        .settings(settings)
        .retry(retry)
        .build()
        .expect("client")
}

/// Replies `data` to the GraphQL operation `op`.
pub async fn reply(server: &MockServer, op: &str, data: Value) {
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_partial_json(json!({ "operationName": op })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": data })))
        .mount(server)
        .await;
}

/// The JSON bodies of the requests the server received for `op`.
pub async fn bodies(server: &MockServer, op: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|b| b["operationName"] == op)
        .collect()
}

/// The exchanges (request body, response data) of the official client whose query
/// contains `op_marker`, in a capture file.
pub fn captured(file: &str, op_marker: &str) -> Vec<(Value, Value)> {
    // Through `..`, so that other crates' tests (which include this module) find them too.
    let text = std::fs::read_to_string(format!(
        "{}/../wandb-api/tests/fixtures/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("capture");
    let found: Vec<(Value, Value)> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| {
            l["body"]["query"]
                .as_str()
                .is_some_and(|q| q.contains(op_marker))
        })
        .map(|l| (l["body"].clone(), l["response"]["data"].clone()))
        .collect();
    assert!(!found.is_empty(), "{op_marker} in {file}");
    found
}
