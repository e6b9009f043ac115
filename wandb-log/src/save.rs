//! Saving files with a run ([`Run::save`]): the file is copied into the run's `files/`, a
//! `files` record goes into the `.wandb` log (so that `wandb sync` uploads it), and an online
//! run uploads it. Files saved with [`SavePolicy::End`] or [`SavePolicy::Live`] are copied
//! again at `finish` (their last version is the one kept); `Live` files are also copied and
//! uploaded again while the run runs whenever they change. As in the official client
//! (wandb-core's `runfiles`): a live file's size and modification time are polled every
//! 500 ms, and its uploads are at least 5 s apart (wandb-core batches uploads for 5 s).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::error::Error;
use crate::proto::FilesItem;
use crate::proto::files_item::PolicyType;
use crate::run::Run;
use crate::writer::Message;

/// How often a `Live` file is checked for changes (wandb-core polls every 500 ms).
pub(crate) const LIVE_POLL: Duration = Duration::from_millis(500);
/// The least time between two uploads of a `Live` file (wandb-core batches uploads for 5 s).
pub(crate) const LIVE_UPLOAD_INTERVAL: Duration = Duration::from_secs(5);

/// When a saved file is uploaded.
///
/// ```
/// assert_eq!(wandb_log::SavePolicy::default(), wandb_log::SavePolicy::Live);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SavePolicy {
    /// Now, once.
    Now,
    /// At the end of the run (its version then).
    End,
    /// Now, again whenever it changes (at most every 5 s), and at the end: the official
    /// client's default.
    #[default]
    Live,
}

impl SavePolicy {
    pub(crate) fn proto(self) -> PolicyType {
        match self {
            SavePolicy::Now => PolicyType::Now,
            SavePolicy::End => PolicyType::End,
            SavePolicy::Live => PolicyType::Live,
        }
    }
}

/// A file saved with the run, on its way to the writer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SavedFile {
    /// Where the program keeps it.
    pub(crate) source: PathBuf,
    /// Its path relative to the run's `files/`.
    pub(crate) name: String,
    pub(crate) policy: SavePolicy,
}

impl SavedFile {
    pub(crate) fn item(&self) -> FilesItem {
        FilesItem {
            path: self.name.clone(),
            policy: self.policy.proto().into(),
            r#type: 0,
        }
    }
}

impl Run {
    /// Saves the file at `path` with the run under its file name: copies it into the run's
    /// `files/` now, writes a `files` record (the official `wandb sync` uploads the file) and,
    /// online, uploads it without holding up `log`: `Now` once, `End` at `finish`, `Live` now
    /// and again when it changes. Returns the name it has in the run. A disabled run keeps
    /// nothing. Uploads that fail are reported in [`crate::FinishReport::file_errors`].
    ///
    /// ```
    /// use wandb_log::{LogReader, Mode, Run, SavePolicy, proto::record::RecordType};
    /// let dir = std::env::temp_dir().join(format!("wandb-log-save-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(dir.join("notes.txt"), "lr 0.1 diverged")?;
    /// let run = Run::builder().mode(Mode::Offline).dir(&dir).init()?;
    /// assert_eq!(run.save(dir.join("notes.txt"), SavePolicy::Now)?, "notes.txt");
    /// let report = run.finish(0)?;
    /// let run_dir = report.dir.unwrap();
    /// assert_eq!(std::fs::read_to_string(run_dir.join("files/notes.txt"))?, "lr 0.1 diverged");
    /// let log = std::fs::File::open(run_dir.join(format!("run-{}.wandb", run.id())))?;
    /// let saved = LogReader::new(log)?.filter_map(Result::ok).any(|r| {
    ///     matches!(r.record_type, Some(RecordType::Files(f)) if f.files[0].path == "notes.txt")
    /// });
    /// assert!(saved);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read or copied (the message names it);
    /// [`Error::Configuration`] for a path without a file name; [`Error::AlreadyFinished`].
    pub fn save(&self, path: impl AsRef<Path>, policy: SavePolicy) -> Result<String, Error> {
        let source = path.as_ref();
        let name = source
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                Error::Configuration(format!(
                    "cannot save `{}`: the path has no file name (give the path of a file)",
                    source.display()
                ))
            })?
            .to_owned();
        self.save_as(source, &name, policy)?;
        Ok(name)
    }

    /// As [`Run::save`], under `name` in the run: a relative path with `/` between its parts
    /// (`checkpoints/model.safetensors`), shown so in the W&B UI's Files tab.
    ///
    /// ```
    /// use wandb_log::{Mode, Run, SavePolicy};
    /// let dir = std::env::temp_dir().join(format!("wandb-log-save-as-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(dir.join("model.bin"), [1u8, 2, 3])?;
    /// let run = Run::builder().mode(Mode::Offline).dir(&dir).init()?;
    /// run.save_as(dir.join("model.bin"), "checkpoints/epoch-1.bin", SavePolicy::End)?;
    /// assert!(run.save_as(dir.join("model.bin"), "../outside.bin", SavePolicy::Now).is_err());
    /// let run_dir = run.finish(0)?.dir.unwrap();
    /// assert_eq!(std::fs::read(run_dir.join("files/checkpoints/epoch-1.bin"))?, [1, 2, 3]);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Run::save`]; [`Error::Configuration`] for a name that is empty, absolute, or has
    /// `.`, `..` or empty parts.
    pub fn save_as(
        &self,
        path: impl AsRef<Path>,
        name: &str,
        policy: SavePolicy,
    ) -> Result<(), Error> {
        let source = path.as_ref();
        if !is_run_file_name(name) {
            return Err(Error::Configuration(format!(
                "cannot save `{}` as `{name}`: give a relative name such as `notes.txt` or `checkpoints/model.bin` (parts separated by `/`, no `.` or `..`)",
                source.display()
            )));
        }
        let Some(dir) = self.dir() else {
            return Ok(());
        };
        copy_into(source, &dir.join("files"), name)?;
        self.send(Message::Files(vec![SavedFile {
            source: source.to_path_buf(),
            name: name.to_owned(),
            policy,
        }]))
    }
}

/// True when `name` is a path inside the run's `files/` folder: relative parts separated by
/// `/`, none empty, `.` or `..`, no `\\`, and nothing this platform reads as a root or a
/// drive (`C:x` on Windows).
pub(crate) fn is_run_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('\\')
        && name
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
        && Path::new(name)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// Copies `source` to `files/name` (creating the folders of `name`).
fn copy_into(source: &Path, files: &Path, name: &str) -> Result<(), Error> {
    let target = files.join(name);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if is_same_file(source, &target) {
        // Already in place (copying a file onto itself would empty it).
        return Ok(());
    }
    // Copied beside, then renamed: an upload reading the previous copy never sees half of
    // the new one.
    let mut partial = target.clone().into_os_string();
    partial.push(".wandb-partial");
    let partial = PathBuf::from(partial);
    std::fs::copy(source, &partial)
        .and_then(|_| std::fs::rename(&partial, &target))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&partial);
        })
        .map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!(
                "cannot save `{}` with the run ({e}): check that the file exists and is readable",
                source.display()
            ),
        ))
    })?;
    Ok(())
}

/// True when both paths name one existing file.
fn is_same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// What a file looked like when it was last copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    modified: Option<SystemTime>,
    len: u64,
}

fn seen(path: &Path) -> Option<Seen> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Seen {
        modified: meta.modified().ok(),
        len: meta.len(),
    })
}

/// The writer's record of the `End` and `Live` files: their sources, copied again at the end,
/// and (`Live`) whenever they change.
#[derive(Debug, Default)]
pub(crate) struct SavedFiles {
    /// Each file, how it looked when last copied, and when that was.
    files: Vec<(SavedFile, Option<Seen>, Option<Instant>)>,
    checked: Option<Instant>,
}

impl SavedFiles {
    /// Remembers a saved file (a file saved again under the same name replaces it).
    pub(crate) fn add(&mut self, file: SavedFile) {
        self.files.retain(|(f, _, _)| f.name != file.name);
        if file.policy != SavePolicy::Now {
            let state = seen(&file.source);
            self.files.push((file, state, None));
        }
    }

    /// The `Live` files that changed since they were last copied, copied again (checked at
    /// most every [`LIVE_POLL`], each copied at most every [`LIVE_UPLOAD_INTERVAL`], as often
    /// as it can be uploaded); a file that cannot be copied now is tried next time.
    pub(crate) fn changed(&mut self, files_dir: &Path, now: Instant) -> Vec<String> {
        if self
            .checked
            .is_some_and(|t| now.duration_since(t) < LIVE_POLL)
        {
            return Vec::new();
        }
        self.checked = Some(now);
        let mut changed = Vec::new();
        for (file, last, copied) in &mut self.files {
            let recent = copied.is_some_and(|t| now.duration_since(t) < LIVE_UPLOAD_INTERVAL);
            if file.policy != SavePolicy::Live || recent {
                continue;
            }
            let state = seen(&file.source);
            if state.is_some()
                && state != *last
                && copy_into(&file.source, files_dir, &file.name).is_ok()
            {
                *last = state;
                *copied = Some(now);
                changed.push(file.name.clone());
            }
        }
        changed
    }

    /// Copies every `End` and `Live` file again (the end of the run). A source that is gone
    /// keeps the copy made before.
    pub(crate) fn copy_final(&mut self, files_dir: &Path) {
        for (file, last, _) in &mut self.files {
            if copy_into(&file.source, files_dir, &file.name).is_ok() {
                *last = seen(&file.source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_file_names_stay_inside_the_files_folder() {
        for good in [
            "notes.txt",
            "checkpoints/model.bin",
            "media/images/a:b_0_ab.png",
        ] {
            assert!(is_run_file_name(good), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a/.",
            "a\\b",
            "..",
        ] {
            assert!(!is_run_file_name(bad), "{bad}");
        }
    }

    /// A live file is copied again when its size or modification time changed, polled at
    /// most every [`LIVE_POLL`] (the times are given, not waited for).
    #[test]
    fn live_files_are_copied_again_when_they_change() {
        let root = std::env::temp_dir().join(format!("wandb-log-live-{}", std::process::id()));
        let files = root.join("files");
        std::fs::create_dir_all(&files).expect("mkdir");
        let source = root.join("progress.txt");
        std::fs::write(&source, "1").expect("write");
        let mut saved = SavedFiles::default();
        let file = |name: &str, policy| SavedFile {
            source: source.clone(),
            name: name.into(),
            policy,
        };
        saved.add(file("progress.txt", SavePolicy::Live));
        saved.add(file("once.txt", SavePolicy::Now));
        let t0 = Instant::now();
        assert!(saved.changed(&files, t0).is_empty(), "unchanged");
        std::fs::write(&source, "12").expect("write");
        assert!(
            saved.changed(&files, t0 + LIVE_POLL / 2).is_empty(),
            "not polled again before LIVE_POLL"
        );
        assert_eq!(saved.changed(&files, t0 + LIVE_POLL), ["progress.txt"]);
        assert_eq!(
            std::fs::read_to_string(files.join("progress.txt")).expect("copy"),
            "12"
        );
        assert!(saved.changed(&files, t0 + LIVE_POLL * 2).is_empty());
        // A file that keeps changing is copied at most once per upload interval.
        std::fs::write(&source, "123").expect("write");
        assert!(
            saved.changed(&files, t0 + LIVE_POLL * 3).is_empty(),
            "copied {LIVE_POLL:?} ago: not again before {LIVE_UPLOAD_INTERVAL:?}"
        );
        assert_eq!(
            std::fs::read_to_string(files.join("progress.txt")).expect("copy"),
            "12"
        );
        let later = t0 + LIVE_POLL + LIVE_UPLOAD_INTERVAL;
        assert_eq!(saved.changed(&files, later), ["progress.txt"]);
        assert_eq!(
            std::fs::read_to_string(files.join("progress.txt")).expect("copy"),
            "123"
        );
        let names: Vec<_> = std::fs::read_dir(&files)
            .expect("files")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["progress.txt"], "no partial copy left behind");
        std::fs::remove_dir_all(&root).ok();
    }
}
