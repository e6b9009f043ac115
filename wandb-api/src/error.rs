//! The crate's error type.

use std::time::Duration;

/// Everything that can go wrong talking to W&B.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API key was refused (HTTP 401/403, or `viewer` is null).
    #[error(
        "W&B refused the API key: set WANDB_API_KEY (or the netrc entry for the server) to a valid key; `wandb-rs login --verify` checks it"
    )]
    Unauthorized,
    /// The entity, project, run or sweep does not exist.
    #[error("not found: {what}; check the entity, project and id")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// The server rate-limited every attempt.
    #[error("W&B is rate limiting requests; retry after {retry_after:?}")]
    RateLimited {
        /// The server's `Retry-After`, if it gave one.
        retry_after: Option<Duration>,
    },
    /// The server answered with GraphQL errors.
    #[error("W&B rejected the request: {}", .messages.join("; "))]
    GraphQl {
        /// The error messages.
        messages: Vec<String>,
    },
    /// An HTTP error status (after retries, where retried).
    #[error("W&B answered HTTP {status}: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// No response in time.
    #[error("no answer from W&B within {0:?}; check the network or raise the timeout")]
    Timeout(Duration),
    /// The connection failed (after retries).
    #[error("cannot reach W&B at {url}: {message}; check WANDB_BASE_URL and the network")]
    Transport {
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// A request that creates something failed in a way that leaves open whether W&B
    /// carried it out (a timeout, a lost connection, a 5xx); it was not sent again, since
    /// that could create a duplicate.
    #[error(
        "{operation} failed ({error}) and was not sent again: W&B may have carried it out, and repeating it could create a duplicate; check {check} before trying again"
    )]
    NotRetried {
        /// The operation (e.g. `CreateAgent`).
        operation: String,
        /// Where to look for what it may have created.
        check: String,
        /// How it failed.
        error: Box<Error>,
    },
    /// The response was not what the protocol says.
    #[error("unexpected response from W&B: {0}")]
    InvalidResponse(String),
    /// The settings are unusable (bad base URL, missing key).
    #[error("{0}")]
    Configuration(String),
    /// The sweep config is invalid.
    #[error(transparent)]
    Sweep(#[from] wandb_sweep::Error),
    /// A file to upload could not be opened or read.
    #[error("cannot read {} for upload: {source}; check that it exists and is readable", .path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// At most this many characters of a body go into an error.
const BODY_EXCERPT: usize = 300;

/// The start of a response body for an error message.
pub(crate) fn excerpt(body: &str) -> String {
    let mut s: String = body.chars().take(BODY_EXCERPT).collect();
    if body.chars().count() > BODY_EXCERPT {
        s.push('…');
    }
    s
}
