//! Run settings: explicit values first, then `WANDB_*` environment variables.

use std::path::PathBuf;

use crate::error::Error;

/// Where a run's data goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Upload while running (W&B's default); the `.wandb` log is written first.
    #[default]
    Online,
    /// Write the `.wandb` log locally; upload later with `wandb sync`.
    Offline,
    /// Do nothing: no thread, no files.
    Disabled,
}

impl Mode {
    /// `online`, `offline` (also `dryrun`) or `disabled`, as `WANDB_MODE` takes them.
    ///
    /// # Errors
    /// [`Error::Configuration`] for other values.
    pub fn parse(text: &str) -> Result<Mode, Error> {
        match text.trim() {
            "online" | "run" => Ok(Mode::Online),
            "offline" | "dryrun" => Ok(Mode::Offline),
            "disabled" => Ok(Mode::Disabled),
            other => Err(Error::Configuration(format!(
                "WANDB_MODE `{other}` is not a mode: use online, offline or disabled"
            ))),
        }
    }
}

/// Everything `init` resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RunSettings {
    pub(crate) mode: Mode,
    pub(crate) run_id: String,
    pub(crate) project: Option<String>,
    pub(crate) entity: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) notes: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) group: Option<String>,
    pub(crate) job_type: Option<String>,
    pub(crate) dir: PathBuf,
    pub(crate) sweep_id: Option<String>,
    pub(crate) sweep_param_path: Option<PathBuf>,
}

/// A fresh run id: 8 characters of `[a-z0-9]`, as the official client makes them.
///
/// ```
/// let id = wandb_log::new_run_id();
/// assert_eq!(id.len(), 8);
/// assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
/// ```
pub fn new_run_id() -> String {
    let mut x = random_u64();
    (0..8)
        .map(|_| {
            let c = b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize];
            x /= 36;
            char::from(c)
        })
        .collect()
}

/// 64 random bits (std's per-process random hash keys, mixed with the time): enough for ids,
/// not for secrets.
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}
