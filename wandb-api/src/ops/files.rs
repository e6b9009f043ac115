//! Run files: signed upload URLs (`createRunFiles`) and the PUT, which never carries the
//! W&B credentials.

use reqwest::header::{HeaderName, HeaderValue, USER_AGENT};

use crate::client::{Client, Sending};
use crate::error::{Error, excerpt};
use crate::graphql::{CreateRunFiles, create_run_files};
use crate::retry::RetrySafety;

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
    /// honoured up to its `max_wait`): a PUT of the same bytes can be repeated.
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
                .body(bytes.clone());
            headers
                .iter()
                .fold(request, |r, (k, v)| r.header(k.clone(), v.clone()))
        };
        let sending = Sending {
            url,
            operation: "upload",
            safety: RetrySafety::Idempotent,
            policy: self.retry_policy(),
            status_error: upload_error,
        };
        self.send(request, &sending).await?;
        Ok(())
    }
}

/// A failed upload's status as an error: storage answers, not W&B's API.
fn upload_error(status: u16, body: &str, _retry_after: Option<std::time::Duration>) -> Error {
    Error::Http {
        status,
        body: excerpt(body),
    }
}
