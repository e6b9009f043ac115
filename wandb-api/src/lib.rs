//! A typed Weights & Biases backend client: settings and auth as the official SDK resolves
//! them, GraphQL operations over one retrying call, typed results.
//!
//! # Quick start
//!
//! ```no_run
//! # async fn demo() -> Result<(), wandb_api::Error> {
//! use wandb_api::{Client, SweepState};
//! use wandb_sweep::SweepConfig;
//!
//! let client = Client::from_env()?; // WANDB_API_KEY / netrc, WANDB_BASE_URL, WANDB_ENTITY …
//! let me = client.viewer().await?;  // verifies the key
//! let cfg = SweepConfig::from_yaml("method: random\nparameters:\n  lr: {min: 0.0001, max: 0.1}\n")?;
//! let sweep = client.create_sweep(&cfg, me.entity.as_deref(), Some("my-project")).await?;
//! println!("wandb agent {}", sweep.path());
//! client.set_sweep_state(sweep.entity.as_deref(), sweep.project.as_deref(), &sweep.sweep_id, SweepState::Paused).await?;
//! # Ok(()) }
//! ```
//!
//! # Settings
//!
//! [`Settings`] resolves once from explicit values, `WANDB_*` variables, netrc and the
//! settings file, in the official SDK's order (the table is on [`Settings`]). The key is an
//! [`ApiKey`]: never printed in `Debug`, `Display`, errors or logs.
//!
//! # Requests, retries, errors
//!
//! [`Client::execute`] sends every operation: `POST {base}/graphql` with the public client's
//! headers; `Authorization: Basic base64("api:" + key)` only for the base URL's origin (a
//! redirect elsewhere drops it). GraphQL `errors` in a 200 are returned as
//! [`Error::GraphQl`].
//!
//! One retry loop serves GraphQL, the file stream and uploads to signed URLs. Connection
//! errors, 408, 429 and 5xx (but 501) are retried with W&B's backoff
//! (`2 s · 2^n · (1 + 0.25·U)`); a server's `Retry-After` replaces it; every wait is capped at
//! the policy's `max_wait` (60 s). 400/401/403/404/409/410/413/422 and TLS certificate errors
//! are not retried, except 409 for `upsertBucket`. An operation that creates something
//! (`createAgent`, `upsertSweep` without an id, a run without a name) is sent again only when
//! W&B surely did not act on it (no connection, 429), never after a timeout or 5xx: that is
//! [`Error::NotRetried`], saying what to check (see [`RetrySafety`]). Every bound is in
//! [`RetryPolicy`].
//!
//! TLS is rustls with the `ring` provider configured per client: the crate never installs a
//! process-wide `CryptoProvider`, so the application's own `install_default` keeps working.
//!
//! # Operations so far
//!
//! Viewer; runs: `upsert_run` (config in `{key: {value}}` form with `_wandb.t`, `sweep` to
//! attach), `resume_status`, `stop_run`; sweeps: `create_sweep`, `sweep` (state, config, runs
//! with history samples and summary, as `wandb_sweep::Run`), `set_sweep_state`; agents:
//! `create_agent`, `heartbeat` (typed [`AgentCommand`]s).
mod client;
mod error;
mod extended_json;
mod file_body;
mod file_stream;
mod graphql;
mod netrc;
mod ops;
mod retry;
mod secret;
mod settings;

pub use client::{Client, ClientBuilder, RateLimit};
pub use error::{Error, Result};
pub use extended_json::{
    parse_extended_json, to_extended_json, write_extended_json, write_json_string,
};
pub use file_stream::{Chunk, FILE_STREAM_RETRY, FileStream, Offsets, StreamResponse};
pub use netrc::netrc_password;
pub use ops::agents::{AgentCommand, parse_commands};
pub use ops::files::UploadTargets;
pub use ops::history::{RunInfo, RunPage, RunQuery};
pub use ops::runs::{ResumeState, RunUpsert, UpsertedRun, config_json};
pub use ops::sweeps::{CreatedSweep, Sweep, SweepState};
pub use ops::viewer::Viewer;
pub use retry::{RetryPolicy, RetrySafety};
pub use secret::ApiKey;
pub use settings::{
    BaseUrl, DEFAULT_BASE_URL, ENV_API_KEY, ENV_BASE_URL, ENV_ENTITY, ENV_PROJECT, Settings,
    SettingsBuilder,
};
