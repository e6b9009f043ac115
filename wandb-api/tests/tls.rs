//! TLS: the client builds its own rustls configuration, so the process-wide crypto provider
//! stays the application's to choose. (Its own file: the provider is per process.)

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use wandb_api::{Client, Error, RetryPolicy, Settings};

#[test]
fn a_client_leaves_the_process_wide_crypto_provider_to_the_application() {
    let settings = Settings::builder()
        .base_url("https://api.wandb.ai")
        .api_key("local-0123456789012345678901234567890123456789")
        .resolve_with(|_| None, None)
        .expect("settings");
    let client = Client::builder()
        .settings(settings)
        .build()
        .expect("a client without a process-wide provider");
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_none(),
        "building a client installed a process-wide crypto provider"
    );
    rustls::crypto::ring::default_provider()
        .install_default()
        .expect("the application's own install_default still succeeds");
    // A second client after the application chose its provider builds too.
    let again = Client::builder()
        .settings(client.settings().clone())
        .build();
    assert!(again.is_ok());
}

/// An HTTPS server on 127.0.0.1 with a self-signed certificate (no client trusts it);
/// returns its URL and how many connections it accepted.
fn untrusted_https_server() -> (String, Arc<AtomicUsize>) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let cert = CertificateDer::from(include_bytes!("fixtures/tls/self-signed-cert.der").to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        include_bytes!("fixtures/tls/self-signed-key.der").to_vec(),
    ));
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("certificate"),
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("addr"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            count.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut conn) = rustls::ServerConnection::new(Arc::clone(&config)) {
                let _refused = conn.complete_io(&mut stream);
            }
        }
    });
    (url, accepted)
}

#[tokio::test]
async fn https_verifies_certificates_and_a_refused_one_is_not_retried() {
    let (url, accepted) = untrusted_https_server();
    let settings = Settings::builder()
        .base_url(&url)
        .api_key("local-0123456789012345678901234567890123456789")
        .resolve_with(|_| None, None)
        .expect("settings");
    let client = Client::builder()
        .settings(settings)
        .retry(RetryPolicy {
            max_retries: 3,
            min_wait: Duration::from_millis(1),
            max_wait: Duration::from_millis(5),
            timeout: Duration::from_secs(5),
        })
        .build()
        .expect("client");
    let err = client.viewer().await.expect_err("an untrusted certificate");
    assert!(
        matches!(&err, Error::Transport { message, .. } if message.contains("certificate")),
        "{err}"
    );
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "a certificate error is not retried"
    );
    assert_eq!(client.retries(), 0);
}
