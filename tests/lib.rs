//! Cross-crate scenarios of wandb-rs, one test file each (`cargo test -p wandb-tests`):
//!
//! - `agent.rs`: the in-process sweep agent (`wandb-agent`), its runs (`wandb-log`) and the
//!   client (`wandb-api`) against one mock W&B server replaying the official agent's captured
//!   exchanges.
//!
//! Tests of one crate stay in that crate. The `wandb-rs` binary's end-to-end tests stay in
//! `wandb-cli/tests`, because Cargo gives the path of a binary (`CARGO_BIN_EXE_<name>`) only to
//! its own package's tests.

/// A fresh, empty scratch directory `wandb-tests-<name>-<pid>` in the system's temp dir.
///
/// ```
/// let dir = wandb_tests::scratch_dir("doc");
/// assert!(dir.is_dir());
/// assert_eq!(std::fs::read_dir(&dir).map(Iterator::count).ok(), Some(0));
/// # std::fs::remove_dir_all(dir).ok();
/// ```
pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wandb-tests-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    dir
}
