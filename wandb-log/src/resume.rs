//! Resuming an online run (`resume` / `WANDB_RESUME`): the server says whether the run exists,
//! and an existing run continues at its next step and file-stream offsets.

use std::path::Path;

use wandb_api::{Client, ResumeState};

use crate::error::Error;

/// What to do when the run id may already exist on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Continue the run if it exists, else start it.
    Allow,
    /// Continue the run; an error if it does not exist.
    Must,
    /// Start the run; an error if it exists.
    Never,
    /// As `Allow`, with the run id kept in `<dir>/wandb/wandb-resume.json` so that a
    /// restarted program continues the same run (the file is removed when a run finishes
    /// with exit code 0).
    Auto,
}

impl Resume {
    /// `allow`, `must`, `never`, `auto` (also `true`), as `WANDB_RESUME` takes them.
    ///
    /// ```
    /// use wandb_log::Resume;
    /// assert_eq!(Resume::parse("must")?, Resume::Must);
    /// assert_eq!(Resume::parse("true")?, Resume::Auto);
    /// assert!(Resume::parse("sometimes").is_err());
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Configuration`] for other values.
    pub fn parse(text: &str) -> Result<Resume, Error> {
        match text.trim().to_ascii_lowercase().as_str() {
            "allow" => Ok(Resume::Allow),
            "must" => Ok(Resume::Must),
            "never" => Ok(Resume::Never),
            "auto" | "true" => Ok(Resume::Auto),
            other => Err(Error::Configuration(format!(
                "WANDB_RESUME `{other}` is not a resume mode: use allow, must, never or auto"
            ))),
        }
    }
}

/// The run id remembered by `Resume::Auto` in `root/wandb/wandb-resume.json`.
pub(crate) fn remembered_id(root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(resume_file(root)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("run_id")?.as_str().map(str::to_owned)
}

/// Remembers `run_id` for `Resume::Auto`.
pub(crate) fn remember(root: &Path, run_id: &str) -> Result<(), Error> {
    let file = resume_file(root);
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(file, serde_json::json!({ "run_id": run_id }).to_string())?;
    Ok(())
}

/// Forgets the remembered run id (a run that finished well is not resumed).
pub(crate) fn forget(root: &Path) {
    let _gone = std::fs::remove_file(resume_file(root));
}

fn resume_file(root: &Path) -> std::path::PathBuf {
    root.join("wandb").join("wandb-resume.json")
}

/// Asks the server about the run and applies `mode`: the state to continue from, if any.
/// Runs on its own thread and runtime, so it works inside a caller's tokio runtime too.
pub(crate) fn check(
    api: &wandb_api::Settings,
    mode: Resume,
    run_id: &str,
) -> Result<Option<ResumeState>, Error> {
    let (api, id) = (api.clone(), run_id.to_owned());
    let asked = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let client = Client::builder()
            .settings(api.clone())
            .build()
            .map_err(|e| Error::Resume(e.to_string()))?;
        rt.block_on(client.resume_status(api.entity.as_deref(), api.project.as_deref(), &id))
            .map_err(|e| Error::Resume(format!("cannot ask W&B whether run `{id}` exists: {e}")))
    })
    .join()
    .map_err(|_| Error::Resume("the resume check stopped unexpectedly".into()))??;
    match (mode, asked) {
        (Resume::Must, None) => Err(Error::Resume(format!(
            "run `{run_id}` does not exist, and resume is `must`: check the run id, or use resume `allow`"
        ))),
        (Resume::Never, Some(_)) => Err(Error::Resume(format!(
            "run `{run_id}` already exists, and resume is `never`: choose a new run id, or use resume `allow`"
        ))),
        (_, state) => Ok(state),
    }
}

/// The first step of a resumed run: one past the last stored `_step`, from the summary, else
/// from the last history row (a killed run's summary has none), else the row count.
pub(crate) fn starting_step(state: &ResumeState) -> u64 {
    if state.history_line_count == 0 {
        return 0;
    }
    state
        .summary
        .get("_step")
        .and_then(serde_json::Value::as_u64)
        .or(state.last_history_step)
        .map_or(state.history_line_count, |s| s + 1)
}

/// Makes `upsert` continue the stored run: its storage id, its tags and notes unless given,
/// and its config keys that the new config does not set.
pub(crate) fn continue_run(upsert: &mut wandb_api::RunUpsert, state: &ResumeState) {
    upsert.storage_id = Some(state.storage_id.clone());
    if upsert.tags.as_ref().is_none_or(Vec::is_empty) {
        upsert.tags = Some(state.tags.clone());
    }
    if upsert.notes.is_none() {
        upsert.notes.clone_from(&state.notes);
    }
    let config = upsert.config.get_or_insert_with(serde_json::Map::new);
    if let serde_json::Value::Object(old) = &state.config {
        for (key, v) in old {
            if key == "_wandb" || config.contains_key(key) {
                continue;
            }
            let value = v.get("value").cloned().unwrap_or_else(|| v.clone());
            config.insert(key.clone(), value);
        }
    }
}
