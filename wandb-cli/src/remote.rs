//! Commands that talk to W&B: `login`, `sweep create`, `sweep stop|pause|resume|cancel`.
//! Exit codes as in every command: 1 an invalid sweep config (`sweep create` validates
//! first), 2 any W&B error (a refused or missing API key, a rejected request, the network).

use std::future::Future;
use std::path::Path;

use wandb_api::{Client, Error, SweepState};

use crate::{Outcome, output};

/// Runs a future on a current-thread runtime.
fn block_on<T>(fut: impl Future<Output = T>) -> Option<T> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match rt {
        Ok(rt) => Some(rt.block_on(fut)),
        Err(e) => {
            output::error(&format!("error: cannot start the async runtime: {e}"));
            None
        }
    }
}

fn client() -> Result<Client, Outcome> {
    Client::from_env().map_err(|e| {
        output::error(&format!("error: {e}"));
        Outcome::IoError
    })
}

/// Every W&B error (a refused or missing key, a rejected request, the network) exits 2, as
/// in `wandb-rs agent`; 1 stays for an invalid sweep config.
fn failed(e: &Error) -> Outcome {
    output::error(&format!("error: {e}"));
    Outcome::IoError
}

/// `wandb-rs login [--verify]`.
pub(crate) fn login(verify: bool) -> Outcome {
    let client = match client() {
        Ok(c) => c,
        Err(o) => return o,
    };
    let base = client.settings().base_url.as_str().to_owned();
    if client.settings().api_key.is_none() {
        output::error(&format!(
            "error: no API key for {base}: set WANDB_API_KEY or add a netrc entry for {}",
            client.settings().base_url.netloc()
        ));
        return Outcome::IoError;
    }
    if !verify {
        output::line(&format!(
            "an API key is configured for {base}; add --verify to check it"
        ));
        return Outcome::Ok;
    }
    match block_on(client.viewer()) {
        Some(Ok(v)) => {
            output::line(&format!(
                "logged in to {base} as {}",
                v.entity.or(v.username).unwrap_or_default()
            ));
            Outcome::Ok
        }
        Some(Err(e)) => failed(&e),
        None => Outcome::IoError,
    }
}

/// `[entity/][project/]sweep_id` into its parts.
fn sweep_path(path: &str) -> (Option<&str>, Option<&str>, &str) {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [e, p, s] => (Some(e), Some(p), s),
        [p, s] => (None, Some(p), s),
        _ => (None, None, path),
    }
}

/// `wandb-rs sweep create FILE`: validated locally first, then created.
pub(crate) fn create_sweep(file: &Path, entity: Option<&str>, project: Option<&str>) -> Outcome {
    let config = match crate::sweep::load(file) {
        Ok(c) => c,
        Err(o) => return o,
    };
    let client = match client() {
        Ok(c) => c,
        Err(o) => return o,
    };
    match block_on(client.create_sweep(&config, entity, project)) {
        Some(Ok(sweep)) => {
            for w in &sweep.warnings {
                output::error(&format!("warning: W&B says: {w}"));
            }
            let app = std::env::var("WANDB_APP_URL")
                .unwrap_or_else(|_| client.settings().base_url.app_url());
            let (e, p) = (
                sweep.entity.clone().unwrap_or_default(),
                sweep.project.clone().unwrap_or_default(),
            );
            output::line(&format!("created sweep {}", sweep.sweep_id));
            output::line(&format!("view at {app}/{e}/{p}/sweeps/{}", sweep.sweep_id));
            output::line(&format!("run agents with: wandb agent {}", sweep.path()));
            Outcome::Ok
        }
        Some(Err(e)) => failed(&e),
        None => Outcome::IoError,
    }
}

/// `wandb-rs sweep stop|pause|resume|cancel SWEEP`.
pub(crate) fn set_state(sweep: &str, state: SweepState) -> Outcome {
    let client = match client() {
        Ok(c) => c,
        Err(o) => return o,
    };
    let (entity, project, id) = sweep_path(sweep);
    match block_on(client.set_sweep_state(entity, project, id, state)) {
        Some(Ok(())) => {
            output::line(&format!("sweep {id} is now {}", state.as_str()));
            Outcome::Ok
        }
        Some(Err(e)) => failed(&e),
        None => Outcome::IoError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_paths() {
        assert_eq!(sweep_path("e/p/s1"), (Some("e"), Some("p"), "s1"));
        assert_eq!(sweep_path("p/s1"), (None, Some("p"), "s1"));
        assert_eq!(sweep_path("s1"), (None, None, "s1"));
    }
}
