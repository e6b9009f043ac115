//! Run files: upload URLs from `createRunFiles`, and PUTs without W&B credentials.

mod support;

use serde_json::json;
use support::{bodies, captured, client_for, fast_retry, reply, setup};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn upload_urls_then_puts_without_authorization() {
    let (server, client) = setup().await;
    let (official, mut data) = captured("online_run.jsonl", "mutation CreateRunFiles").remove(0);
    let url = format!("{}/upload/config.yaml", server.uri());
    data["createRunFiles"]["files"] = json!([{ "name": "config.yaml", "uploadUrl": url }]);
    data["createRunFiles"]["uploadHeaders"] = json!(["X-Upload-Token: abc ", "Content-MD5:xyz"]);
    reply(&server, "CreateRunFiles", data).await;
    Mock::given(method("PUT"))
        .and(path("/upload/config.yaml"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let targets = client
        .create_run_files(
            "mock-entity",
            "proj",
            "nzal3ew1",
            &["config.yaml".to_owned()],
        )
        .await
        .expect("urls");
    assert_eq!(
        targets.headers,
        [
            ("X-Upload-Token".to_owned(), "abc".to_owned()),
            ("Content-MD5".to_owned(), "xyz".to_owned())
        ]
    );
    let sent = &bodies(&server, "CreateRunFiles").await[0]["variables"];
    assert_eq!(sent["entity"], official["variables"]["entity"]);
    assert_eq!(sent["run"], official["variables"]["run"]);
    let (name, url) = &targets.files[0];
    assert_eq!(name, "config.yaml");
    client
        .upload(url, &targets.headers, b"lr: 0.1\n".to_vec())
        .await
        .expect("uploaded");
    let puts: Vec<_> = server
        .received_requests()
        .await
        .expect("recorded")
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .collect();
    assert_eq!(puts.len(), 1);
    assert!(
        puts[0].headers.get("authorization").is_none(),
        "signed URLs never get the API key, even on the API host"
    );
    assert_eq!(
        puts[0].headers.get("x-upload-token").expect("header"),
        "abc"
    );
    assert_eq!(puts[0].body, b"lr: 0.1\n");
}

/// The first PUT (not yet answered by a mock of a higher priority) gets `answer`.
async fn put_fails_once(server: &MockServer, answer: ResponseTemplate, priority: u8) {
    Mock::given(method("PUT"))
        .respond_with(answer)
        .up_to_n_times(1)
        .with_priority(priority)
        .mount(server)
        .await;
}

#[tokio::test]
async fn uploads_retry_server_errors_but_not_client_errors() {
    let server = MockServer::start().await;
    put_fails_once(&server, ResponseTemplate::new(503), 1).await;
    Mock::given(method("PUT"))
        .and(path("/ok"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/denied"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retry(3));
    client
        .upload(&format!("{}/ok", server.uri()), &[], b"x".to_vec())
        .await
        .expect("after a 503");
    let err = client
        .upload(&format!("{}/denied", server.uri()), &[], b"x".to_vec())
        .await
        .expect_err("403");
    assert!(matches!(err, wandb_api::Error::Http { status: 403, .. }));
    assert_eq!(server.received_requests().await.expect("recorded").len(), 3);
}

#[tokio::test]
async fn uploads_follow_the_graphql_retry_rules_and_retry_after() {
    // One loop for both: the same statuses are retried (408 too), Retry-After is honoured
    // (up to max_wait), and the client counts the retries.
    let server = MockServer::start().await;
    put_fails_once(&server, ResponseTemplate::new(408), 1).await;
    put_fails_once(
        &server,
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
        2,
    )
    .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(3)
        .mount(&server)
        .await;
    let policy = wandb_api::RetryPolicy {
        max_wait: std::time::Duration::from_secs(2),
        ..fast_retry(3)
    };
    let client = client_for(&server.uri(), policy);
    let start = std::time::Instant::now();
    client
        .upload(&format!("{}/f", server.uri()), &[], b"x".to_vec())
        .await
        .expect("after a 408 and a 429");
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(950),
        "waited {:?}, not the server's Retry-After of 1 s",
        start.elapsed()
    );
    assert_eq!(server.received_requests().await.expect("recorded").len(), 3);
    assert_eq!(client.retries(), 2);
}

/// A scratch file `wandb-api-files-<name>-<pid>` holding `data`.
fn scratch_file(name: &str, data: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("wandb-api-files-{name}-{}", std::process::id()));
    std::fs::write(&path, data).expect("write scratch file");
    path
}

#[tokio::test]
async fn a_file_is_streamed_with_its_exact_length_and_sent_whole_again_on_retry() {
    let server = MockServer::start().await;
    put_fails_once(&server, ResponseTemplate::new(503), 1).await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    // Several read chunks and an odd tail.
    let data: Vec<u8> = (0..3 * 1024 * 1024 + 12_345)
        .map(|i| (i % 253) as u8)
        .collect();
    let file = scratch_file("stream", &data);
    let client = client_for(&server.uri(), fast_retry(3));
    let headers = [("X-Upload-Token".to_owned(), "abc".to_owned())];
    client
        .upload_file(
            &format!("{}/upload/model.ckpt", server.uri()),
            &headers,
            &file,
        )
        .await
        .expect("after a 503");
    std::fs::remove_file(&file).expect("cleanup");
    let puts = server.received_requests().await.expect("recorded");
    assert_eq!(puts.len(), 2, "one 503, then the retry");
    for put in &puts {
        // Signed storage URLs (S3, GCS) refuse chunked bodies: the length is announced.
        assert_eq!(
            put.headers.get("content-length").expect("a Content-Length"),
            &data.len().to_string()
        );
        assert!(put.headers.get("transfer-encoding").is_none());
        assert!(put.headers.get("authorization").is_none());
        assert_eq!(put.headers.get("x-upload-token").expect("header"), "abc");
    }
    assert!(puts[1].body == data, "the retry sent the whole file again");
}

#[tokio::test]
async fn a_file_that_cannot_be_opened_fails_at_once_without_a_request() {
    let server = MockServer::start().await;
    let client = client_for(&server.uri(), fast_retry(3));
    let missing =
        std::env::temp_dir().join(format!("wandb-api-files-missing-{}", std::process::id()));
    let err = client
        .upload_file(&format!("{}/upload/x", server.uri()), &[], &missing)
        .await
        .expect_err("no such file");
    assert!(
        matches!(&err, wandb_api::Error::File { path, .. } if *path == missing),
        "{err}"
    );
    assert!(err.to_string().contains("check that it exists"), "{err}");
    assert!(
        server
            .received_requests()
            .await
            .expect("recorded")
            .is_empty()
    );
    assert_eq!(client.retries(), 0);
}

/// A large upload on a slow link is not cut off at the policy's timeout (and sent again from
/// its start forever): an attempt has the timeout plus the bytes' time at 16 KiB/s.
#[tokio::test]
async fn an_upload_attempt_has_time_for_its_bytes_beyond_the_policy_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_millis(900)))
        .mount(&server)
        .await;
    let policy = wandb_api::RetryPolicy {
        timeout: std::time::Duration::from_millis(300),
        ..fast_retry(0)
    };
    let client = client_for(&server.uri(), policy);
    let url = format!("{}/upload/slow", server.uri());
    // 64 KiB: 4 s more than the 300 ms, so the answer after 900 ms is in time.
    client
        .upload(&url, &[], vec![0u8; 64 * 1024])
        .await
        .expect("in time");
    let file = scratch_file("slow", &[0u8; 64 * 1024]);
    let sent = client.upload_file(&url, &[], &file).await;
    std::fs::remove_file(&file).expect("cleanup");
    sent.expect("in time");
    // One byte: only the policy's 300 ms.
    let err = client
        .upload(&url, &[], vec![0u8])
        .await
        .expect_err("too slow");
    assert!(matches!(err, wandb_api::Error::Timeout(_)), "{err}");
}
