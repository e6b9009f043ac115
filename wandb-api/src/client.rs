//! The client: one generic GraphQL call that does transport, headers, error mapping and
//! retries; the typed operations in `ops` are thin methods over it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use graphql_client::{GraphQLQuery, Response};
use reqwest::header::{
    AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT,
};

use crate::error::{Error, excerpt};
use crate::retry::{
    Failure, RetryPolicy, RetrySafety, parse_retry_after, status_failure, transport_failure,
};
use crate::settings::Settings;

/// The `User-Agent` of the public-API traffic the server recognises.
const PUBLIC_USER_AGENT: &str = concat!(
    "W&B Public Client ",
    env!("CARGO_PKG_VERSION"),
    " (wandb-rs)"
);

/// A W&B API client. Cheap to clone; clones share one connection pool.
///
/// ```no_run
/// # async fn demo() -> Result<(), wandb_api::Error> {
/// let client = wandb_api::Client::from_env()?;
/// let viewer = client.viewer().await?;
/// println!("logged in as {:?}", viewer.entity);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    settings: Settings,
    retry: RetryPolicy,
    /// Attempts that failed and were tried again, by this client and its clones.
    retries: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.settings.base_url.as_str())
            .field("api_key_set", &self.inner.settings.api_key.is_some())
            .field("retry", &self.inner.retry)
            .finish()
    }
}

/// Builds a [`Client`].
#[derive(Debug, Clone, Default)]
pub struct ClientBuilder {
    settings: Option<Settings>,
    retry: Option<RetryPolicy>,
}

impl ClientBuilder {
    /// The settings to use (default: [`Settings::from_env`]).
    #[must_use]
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = Some(settings);
        self
    }

    /// The retry policy (default: W&B's, 20 retries from 2 s to 60 s).
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Configuration`] for unusable settings or when the HTTP stack cannot start.
    pub fn build(self) -> Result<Client, Error> {
        let settings = match self.settings {
            Some(s) => s,
            None => Settings::from_env()?,
        };
        let retry = self.retry.unwrap_or_default();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .timeout(retry.timeout)
            .gzip(true)
            .build()
            .map_err(|e| Error::Configuration(format!("cannot start the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                settings,
                retry,
                retries: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }
}

/// This client's TLS configuration: rustls with the `ring` provider given explicitly (never
/// installed process-wide, so the application's own `install_default` still works), the
/// platform's certificate verifier and ALPN for HTTP/2 and HTTP/1.1, as reqwest builds it.
fn tls_config() -> Result<rustls::ClientConfig, Error> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(BuilderVerifierExt::with_platform_verifier)
        .map_err(|e| {
            Error::Configuration(format!(
                "cannot set up TLS: {e}; check the system's certificate store"
            ))
        })?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// What one attempt ended with.
/// A 2xx reply.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) text: String,
    pub(crate) rate_limit: Option<RateLimit>,
}

/// What the server's `RateLimit-Remaining` and `RateLimit-Reset` headers say (IETF draft
/// `polli-ratelimit-headers-02`, as W&B's file stream sends them): `remaining` requests
/// allowed until the window resets in `reset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests left in the window.
    pub remaining: f64,
    /// Until the window resets.
    pub reset: Duration,
}

impl RateLimit {
    /// The hint of a response, when it has both headers as non-negative numbers.
    fn from_headers(headers: &reqwest::header::HeaderMap) -> Option<Self> {
        let number = |name: &str| -> Option<f64> {
            let n: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
            (n.is_finite() && n >= 0.0).then_some(n)
        };
        let reset = Duration::try_from_secs_f64(number("RateLimit-Reset")?).ok()?;
        Some(RateLimit {
            remaining: number("RateLimit-Remaining")?,
            reset,
        })
    }

    /// The request rate it allows, in requests per second (`remaining / reset`), clamped to
    /// W&B's bounds [0.1, 65536].
    ///
    /// ```
    /// use std::time::Duration;
    /// let hint = wandb_api::RateLimit { remaining: 5.0, reset: Duration::from_secs(10) };
    /// assert_eq!(hint.rate(), 0.5);
    /// ```
    #[must_use]
    pub fn rate(&self) -> f64 {
        let secs = self.reset.as_secs_f64().max(1e-3);
        (self.remaining / secs).clamp(0.1, 65_536.0)
    }
}

enum Attempt {
    /// A 2xx, with its body and the server's rate-limit hint.
    Done(Reply),
    /// A failure, how it failed, and the server's `Retry-After`.
    Failed(Error, Failure, Option<Duration>),
}

/// Maps a failed status (with the start of its body and `Retry-After`) to an [`Error`].
type StatusError = fn(u16, &str, Option<Duration>) -> Error;

/// What the retry loop needs besides the request itself.
pub(crate) struct Sending<'a> {
    /// Where the request goes (for transport errors).
    pub(crate) url: &'a str,
    /// The operation (`CreateAgent`, `upload`), for errors.
    pub(crate) operation: &'a str,
    /// What may be sent again.
    pub(crate) safety: RetrySafety,
    /// How often and how patiently.
    pub(crate) policy: RetryPolicy,
    /// The error for a failed status.
    pub(crate) status_error: StatusError,
}

/// `error`, or [`Error::NotRetried`] when only the operation's safety kept it from being
/// sent again.
fn not_retried(error: Error, failure: Failure, sending: &Sending<'_>) -> Error {
    match sending.safety {
        RetrySafety::Creates { check } if RetrySafety::Idempotent.allows(failure) => {
            Error::NotRetried {
                operation: sending.operation.to_owned(),
                check: check.to_owned(),
                error: Box::new(error),
            }
        }
        _ => error,
    }
}

impl Client {
    /// A builder.
    #[must_use]
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from the environment, the settings file and netrc.
    ///
    /// # Errors
    /// [`Error::Configuration`] for unusable settings.
    pub fn from_env() -> Result<Client, Error> {
        Client::builder().build()
    }

    /// The resolved settings.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Runs a GraphQL operation with retries as far as `safety` allows (see [`RetrySafety`]:
    /// an operation that creates something is not sent again when W&B may have acted on
    /// it). GraphQL `errors` in a 200 are returned, never retried.
    ///
    /// # Errors
    /// Any [`Error`]: unauthorized, not found, rate limited, GraphQL messages, HTTP status,
    /// timeout, transport, invalid response, not retried.
    pub async fn execute<Q: GraphQLQuery>(
        &self,
        variables: Q::Variables,
        safety: RetrySafety,
    ) -> Result<Q::ResponseData, Error> {
        let query = Q::build_query(variables);
        let body = serde_json::to_vec(&query).map_err(|e| Error::InvalidResponse(e.to_string()))?;
        let url = self.inner.settings.base_url.join("graphql");
        let text = self
            .post(&url, query.operation_name, body, safety, self.inner.retry)
            .await?
            .text;
        decode::<Q::ResponseData>(&text)
    }

    /// POSTs `body` (JSON) to `url` with retries under `retry`; returns the 2xx body. The same
    /// bytes are re-sent on every attempt, so a request that positions its data (the file
    /// stream's offsets) is idempotent.
    pub(crate) async fn post(
        &self,
        url: &str,
        operation: &str,
        body: impl Into<bytes::Bytes>,
        safety: RetrySafety,
        retry: RetryPolicy,
    ) -> Result<Reply, Error> {
        let auth = self.authorization(url);
        // Shared, not copied, by every attempt.
        let body: bytes::Bytes = body.into();
        let request = || {
            let request = self
                .inner
                .http
                .post(url)
                .headers(self.headers())
                .body(body.clone());
            Ok(match &auth {
                Some(auth) => request.header(AUTHORIZATION, auth.clone()),
                None => request,
            })
        };
        let sending = Sending {
            url,
            operation,
            safety,
            policy: retry,
            status_error,
        };
        self.send(request, &sending).await
    }

    /// The one retry loop of the crate (GraphQL, the file stream, uploads): sends what
    /// `request` builds until it succeeds, fails in a way `sending.safety` does not retry
    /// (see [`Failure`]), or the policy runs out; waits [`RetryPolicy::wait`] in between,
    /// the server's `Retry-After` included. Returns the 2xx reply, else the last error; an
    /// error building a request (a file to upload gone) ends it at once.
    pub(crate) async fn send(
        &self,
        request: impl Fn() -> Result<reqwest::RequestBuilder, Error>,
        sending: &Sending<'_>,
    ) -> Result<Reply, Error> {
        let policy = sending.policy;
        let mut attempt = 0;
        loop {
            let sent = request()?.timeout(policy.timeout);
            let (error, failure, after) = match self.attempt(sent, sending).await {
                Attempt::Done(reply) => return Ok(reply),
                Attempt::Failed(error, failure, after) => (error, failure, after),
            };
            if !sending.safety.allows(failure) {
                return Err(not_retried(error, failure, sending));
            }
            if attempt >= policy.max_retries {
                return Err(error);
            }
            self.inner
                .retries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let wait = policy.wait(attempt, after);
            tracing::debug!(attempt, ?wait, error = %error, "retrying W&B request");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// How many failed attempts this client (and its clones) tried again so far.
    ///
    /// ```
    /// # let s = wandb_api::Settings::builder().api_key("local-0123456789012345678901234567890123456789").resolve_with(|_| None, None).unwrap();
    /// let client = wandb_api::Client::builder().settings(s).build().unwrap();
    /// assert_eq!(client.retries(), 0);
    /// ```
    #[must_use]
    pub fn retries(&self) -> u64 {
        self.inner
            .retries
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The shared HTTP client (for signed-URL transfers, which carry no W&B credentials).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The client's retry policy.
    #[must_use]
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(USER_AGENT, HeaderValue::from_static(PUBLIC_USER_AGENT));
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.insert("X-Wandb-Username", HeaderValue::from_static(""));
        h.insert("X-Wandb-User-Email", HeaderValue::from_static(""));
        h.insert("Use-Admin-Privileges", HeaderValue::from_static("true"));
        h
    }

    /// `Authorization: Basic base64("api:" + key)`, for requests to the base URL only.
    fn authorization(&self, url: &str) -> Option<HeaderValue> {
        use base64::Engine;
        let key = self.inner.settings.api_key.as_ref()?;
        let target = reqwest::Url::parse(url).ok()?;
        if !self.inner.settings.base_url.owns(&target) {
            return None;
        }
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("api:{}", key.expose()));
        let mut value = HeaderValue::from_str(&format!("Basic {token}")).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    async fn attempt(&self, request: reqwest::RequestBuilder, sending: &Sending<'_>) -> Attempt {
        let (url, timeout) = (sending.url, sending.policy.timeout);
        let error = |e: &reqwest::Error| {
            if e.is_timeout() {
                Error::Timeout(timeout)
            } else {
                transport(url, e)
            }
        };
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Failed(error(&e), transport_failure(&e), None),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let rate_limit = RateLimit::from_headers(response.headers());
        let text = match response.text().await {
            Ok(t) => t,
            // The server answered, so it may have acted on the request.
            Err(e) => return Attempt::Failed(error(&e), Failure::Unknown, None),
        };
        if (200..300).contains(&status) {
            return Attempt::Done(Reply { text, rate_limit });
        }
        Attempt::Failed(
            (sending.status_error)(status, &text, retry_after),
            status_failure(status),
            retry_after,
        )
    }
}

fn transport(url: &str, e: &reqwest::Error) -> Error {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    // A signed upload URL carries its signature in the query: errors name the URL without it.
    if let Some(full) = e.url() {
        message = message.replace(full.as_str(), &redact_url(full.as_str()));
    }
    Error::Transport {
        url: redact_url(url),
        message,
    }
}

/// `url` without its query and fragment (where signed URLs carry their signature), for
/// errors and logs.
pub(crate) fn redact_url(url: &str) -> String {
    match url.find(['?', '#']) {
        Some(i) => format!("{}?…", &url[..i]),
        None => url.to_owned(),
    }
}

fn status_error(status: u16, text: &str, retry_after: Option<Duration>) -> Error {
    match status {
        401 | 403 => Error::Unauthorized,
        404 => Error::NotFound {
            what: excerpt(text),
        },
        429 => Error::RateLimited { retry_after },
        _ => Error::Http {
            status,
            body: excerpt(text),
        },
    }
}

fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Error> {
    let response: Response<T> = serde_json::from_str(text)
        .map_err(|e| Error::InvalidResponse(format!("{e}: {}", excerpt(text))))?;
    if let Some(errors) = response.errors.filter(|e| !e.is_empty()) {
        let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
        return Err(Error::GraphQl { messages });
    }
    response
        .data
        .ok_or_else(|| Error::InvalidResponse(format!("no data: {}", excerpt(text))))
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn signed_urls_lose_their_query_in_errors() {
        assert_eq!(
            redact_url("https://storage.example/bucket/f.txt?X-Goog-Signature=abc&x=1"),
            "https://storage.example/bucket/f.txt?…"
        );
        assert_eq!(
            redact_url("https://api.wandb.ai/graphql"),
            "https://api.wandb.ai/graphql"
        );
    }
}
