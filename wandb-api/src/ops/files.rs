//! Run files: signed upload URLs (`createRunFiles`) and the PUT, which never carries the
//! W&B credentials.

use std::path::Path;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, USER_AGENT};

use crate::client::{Client, Sending};
use crate::error::{Error, excerpt};
use crate::file_body::FileBody;
use crate::graphql::{CreateRunFiles, create_run_files};
use crate::retry::{RetryPolicy, RetrySafety};

/// Where to upload run files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTargets {
    /// `(file name, signed upload URL)` in the order asked for.
    pub files: Vec<(String, String)>,
    /// Headers to add to every PUT, as `(name, value)`.
    pub headers: Vec<(String, String)>,
}

impl Client {
    /// Signed upload URLs for run files (paths relative to the run's files directory, such
    /// as `wandb-summary.json` or `config.yaml`).
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn create_run_files(
        &self,
        entity: &str,
        project: &str,
        run_id: &str,
        files: &[String],
    ) -> Result<UploadTargets, Error> {
        let vars = create_run_files::Variables {
            entity: entity.to_owned(),
            project: project.to_owned(),
            run: run_id.to_owned(),
            files: files.to_vec(),
        };
        let data = self
            .execute::<CreateRunFiles>(vars, RetrySafety::Idempotent)
            .await?;
        let payload = data
            .create_run_files
            .ok_or_else(|| Error::InvalidResponse("createRunFiles returned nothing".into()))?;
        let headers = payload
            .upload_headers
            .iter()
            .filter_map(|h| {
                h.split_once(':')
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            })
            .collect();
        let files = payload
            .files
            .into_iter()
            .filter_map(|f| f.upload_url.map(|u| (f.name, u)))
            .collect();
        Ok(UploadTargets { files, headers })
    }

    /// PUTs `bytes` to a signed URL with the given headers and no W&B credentials. Retried
    /// as every request of the client is (the same failures, the same policy, `Retry-After`
    /// honoured up to its `max_wait`): a PUT of the same bytes can be repeated. An attempt
    /// may take the policy's `timeout` plus the time the bytes need at 16 KiB/s (a large
    /// file on a slow link is not cut off and sent again from its start forever; the
    /// official client sets no limit on transfers).
    ///
    /// # Errors
    /// [`Error::Http`] for a refused upload (an expired URL is a 403 here, not a refused API
    /// key), and any [`Error`] once retries are exhausted.
    pub async fn upload(
        &self,
        url: &str,
        headers: &[(String, String)],
        bytes: impl Into<bytes::Bytes>,
    ) -> Result<(), Error> {
        // Shared, not copied, by every attempt.
        let bytes: bytes::Bytes = bytes.into();
        let len = bytes.len() as u64;
        self.put(url, headers, len, || Ok(reqwest::Body::from(bytes.clone())))
            .await
    }

    /// PUTs the file at `path` to a signed URL as [`Client::upload`] does, reading it while it
    /// is sent: memory stays at a few hundred KB whatever the file's size. The body has the
    /// file's length when the attempt starts (a `Content-Length`); each attempt opens the file
    /// again. An attempt during which the file was rewritten in place (modified and not
    /// longer, or shorter) fails and is retried, so that what arrives is not half of one
    /// version and half of another; a file that only grew sends its first bytes, as the
    /// official client does. A rewrite to a larger size in the meantime cannot be told from
    /// growth and is not caught: write a new file and rename it over the old one (as
    /// `wandb_log`'s `Run::save` does) to be safe. Timeouts as [`Client::upload`].
    ///
    /// ```no_run
    /// # async fn demo(client: wandb_api::Client) -> Result<(), wandb_api::Error> {
    /// let targets = client.create_run_files("team", "proj", "abc123", &["model.ckpt".into()]).await?;
    /// for (name, url) in &targets.files {
    ///     client.upload_file(url, &targets.headers, std::path::Path::new(name)).await?;
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::File`] when the file cannot be opened (not retried), else as
    /// [`Client::upload`]; a file that becomes shorter while it is sent fails the attempt,
    /// which is retried.
    pub async fn upload_file(
        &self,
        url: &str,
        headers: &[(String, String)],
        path: &Path,
    ) -> Result<(), Error> {
        let file_error = |source| Error::File {
            path: path.to_owned(),
            source,
        };
        // The first attempt's body gives the length; a retry opens the file again.
        let first = FileBody::open(path).map_err(file_error)?;
        let len = first.size();
        let first = std::sync::Mutex::new(Some(first));
        self.put(url, headers, len, || {
            let first = first
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            let body = match first {
                Some(body) => body,
                None => FileBody::open(path).map_err(file_error)?,
            };
            Ok(reqwest::Body::wrap(body))
        })
        .await
    }

    /// The PUT of an upload of about `len` bytes, with the body `body` makes for each
    /// attempt.
    async fn put(
        &self,
        url: &str,
        headers: &[(String, String)],
        len: u64,
        body: impl Fn() -> Result<reqwest::Body, Error>,
    ) -> Result<(), Error> {
        let headers: Vec<(HeaderName, HeaderValue)> = headers
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    HeaderName::try_from(k.as_str()).ok()?,
                    HeaderValue::from_str(v).ok()?,
                ))
            })
            .collect();
        let request = || {
            let request = self
                .http()
                .put(url)
                .header(USER_AGENT, "wandb-rs")
                .body(body()?);
            Ok(headers
                .iter()
                .fold(request, |r, (k, v)| r.header(k.clone(), v.clone())))
        };
        let sending = Sending {
            url,
            operation: "upload",
            safety: RetrySafety::Idempotent,
            policy: transfer_policy(self.retry_policy(), len),
            status_error: upload_error,
        };
        self.send(request, &sending).await?;
        Ok(())
    }
}

/// The slowest upload an attempt waits for, in bytes a second: 16 KiB/s (a 2 GiB file may
/// take 36 hours).
const MIN_TRANSFER_RATE: u64 = 16 * 1024;

/// `policy` with room in its timeout for `len` bytes at [`MIN_TRANSFER_RATE`].
fn transfer_policy(policy: RetryPolicy, len: u64) -> RetryPolicy {
    RetryPolicy {
        timeout: policy
            .timeout
            .saturating_add(Duration::from_secs(len / MIN_TRANSFER_RATE)),
        ..policy
    }
}

/// A failed upload's status as an error: storage answers, not W&B's API.
fn upload_error(status: u16, body: &str, _retry_after: Option<std::time::Duration>) -> Error {
    Error::Http {
        status,
        body: excerpt(body),
    }
}
