//! `Viewer`: the credential check, against the official client's captured exchange.

mod support;

use serde_json::json;
use support::{KEY, bodies, captured, reply, setup};
use wandb_api::Error;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn viewer_sends_the_official_headers_and_reads_the_entity() {
    let (server, client) = setup().await;
    let (official, data) = captured("sweep_create.jsonl", "query Viewer").remove(0);
    reply(&server, "Viewer", data).await;
    let viewer = client.viewer().await.expect("viewer");
    assert_eq!(viewer.entity.as_deref(), Some("mock-entity"));
    let requests = server.received_requests().await.expect("recorded");
    let r = &requests[0];
    let auth = r
        .headers
        .get("authorization")
        .expect("auth")
        .to_str()
        .expect("ascii");
    assert_eq!(
        auth,
        "Basic YXBpOmxvY2FsLTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODk="
    );
    assert!(
        r.headers
            .get("user-agent")
            .expect("ua")
            .to_str()
            .expect("ascii")
            .starts_with("W&B Public Client")
    );
    assert_eq!(
        r.headers.get("content-type").expect("ct"),
        "application/json"
    );
    let body = &bodies(&server, "Viewer").await[0];
    // Same document fields as the official client's Viewer query.
    for field in ["entity", "username", "email", "flags", "teams"] {
        assert!(official["query"].as_str().expect("query").contains(field));
        assert!(
            body["query"].as_str().expect("query").contains(field),
            "{field}"
        );
    }
    assert!(
        !format!("{client:?}").contains(KEY),
        "the key never shows in Debug"
    );
}

#[tokio::test]
async fn null_viewer_and_401_are_unauthorized_and_401_is_not_retried() {
    let (server, client) = setup().await;
    reply(&server, "Viewer", json!({ "viewer": null })).await;
    assert!(matches!(client.viewer().await, Err(Error::Unauthorized)));

    let server = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let client = support::client_for(&server.uri(), support::fast_retry(5));
    let err = client.viewer().await.expect_err("refused");
    assert!(matches!(err, Error::Unauthorized));
    assert!(!err.to_string().contains(KEY));
    assert_eq!(server.received_requests().await.expect("recorded").len(), 1);
}
