//! Run files: signed upload URLs (`createRunFiles`) and the PUT, which never carries the
//! W&B credentials.

use reqwest::header::{HeaderName, HeaderValue, USER_AGENT};

use crate::client::Client;
use crate::error::{Error, excerpt};
use crate::graphql::{CreateRunFiles, create_run_files};

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
        let data = self.execute::<CreateRunFiles>(vars, false).await?;
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

    /// PUTs `bytes` to a signed URL with the given headers and no W&B credentials, retrying
    /// transport errors, 429 and 5xx (but 501) under the client's policy.
    ///
    /// # Errors
    /// Any [`Error`] once retries are exhausted.
    pub async fn upload(
        &self,
        url: &str,
        headers: &[(String, String)],
        bytes: Vec<u8>,
    ) -> Result<(), Error> {
        let policy = self.retry_policy();
        let mut attempt = 0;
        loop {
            let mut request = self
                .http()
                .put(url)
                .header(USER_AGENT, "wandb-rs")
                .body(bytes.clone());
            for (k, v) in headers {
                if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v))
                {
                    request = request.header(k, v);
                }
            }
            let (error, retry) = match request.send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body = excerpt(&r.text().await.unwrap_or_default());
                    (
                        Error::Http { status, body },
                        status == 429 || (status >= 500 && status != 501),
                    )
                }
                Err(e) => (
                    Error::Transport {
                        url: url.to_owned(),
                        message: e.to_string(),
                    },
                    true,
                ),
            };
            if !retry || attempt >= policy.max_retries {
                return Err(error);
            }
            tokio::time::sleep(policy.wait(attempt, None)).await;
            attempt += 1;
        }
    }
}
