//! The commands that upload a report's runs to W&B: `wandb sync` (the official client) and
//! `wandb-rs sync`.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

/// The official client skips run directories whose name does not start with this unless
/// given `--include-online`.
const OFFLINE: &str = "offline-run-";

/// The commands, one per line.
pub(crate) fn sync_commands(logs: &[&Path]) -> Vec<String> {
    let (targets, online) = targets(logs);
    let args = targets.join(" ");
    let include = if online { " --include-online" } else { "" };
    vec![
        format!("wandb sync{include} {args}"),
        format!("wandb-rs sync {args}"),
    ]
}

/// The run directories to name: `parent/offline-run-*` when every offline run directory of a
/// parent is in the report (and there is more than one), else each directory; and whether
/// any is not an offline run directory.
fn targets(logs: &[&Path]) -> (Vec<String>, bool) {
    let mut by_parent: IndexMap<PathBuf, Vec<PathBuf>> = IndexMap::new();
    let mut online = false;
    for log in logs {
        let Some(dir) = log.parent() else { continue };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        online |= !is_offline(dir);
        let parent = dir.parent().unwrap_or(Path::new("")).to_path_buf();
        let list = by_parent.entry(parent).or_default();
        if !list.iter().any(|d| d == dir) {
            list.push(dir.to_path_buf());
        }
    }
    let mut out = Vec::new();
    for (parent, dirs) in by_parent {
        let offline: Vec<&PathBuf> = dirs.iter().filter(|d| is_offline(d)).collect();
        let all = offline_dirs_in(&parent);
        if offline.len() > 1 && offline.len() == all && offline.len() == dirs.len() {
            out.push(format!("{}{OFFLINE}*", prefix(&parent)));
        } else {
            out.extend(dirs.iter().map(|d| quote(&d.display().to_string())));
        }
    }
    (out, online)
}

fn is_offline(dir: &Path) -> bool {
    dir.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(OFFLINE))
}

/// How many offline run directories `parent` holds.
fn offline_dirs_in(parent: &Path) -> usize {
    let dir = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter(|e| e.file_name().to_string_lossy().starts_with(OFFLINE))
            .count()
    })
}

/// `parent/` quoted for a shell, or nothing for the current directory.
fn prefix(parent: &Path) -> String {
    if parent.as_os_str().is_empty() {
        String::new()
    } else {
        format!("{}/", quote(&parent.display().to_string()))
    }
}

/// `text` as one shell word.
fn quote(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:=@%+-,".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_sweep_is_one_glob_and_odd_paths_are_quoted() {
        let root = std::env::temp_dir().join(format!("report-upload-{}", std::process::id()));
        let runs = ["offline-run-1-a", "offline-run-2-b"].map(|n| root.join("wandb").join(n));
        for r in &runs {
            std::fs::create_dir_all(r).unwrap();
        }
        let logs: Vec<PathBuf> = runs.iter().map(|r| r.join("run-x.wandb")).collect();
        let refs: Vec<&Path> = logs.iter().map(PathBuf::as_path).collect();
        let commands = sync_commands(&refs);
        let glob = format!("{}/offline-run-*", root.join("wandb").display());
        assert_eq!(commands[0], format!("wandb sync {glob}"));
        assert_eq!(commands[1], format!("wandb-rs sync {glob}"));
        let one = sync_commands(&refs[..1]);
        assert!(one[0].ends_with("offline-run-1-a"), "{}", one[0]);
        let online = sync_commands(&[Path::new("my runs/run-20260101_000000-x/run-x.wandb")]);
        assert_eq!(
            online[0],
            "wandb sync --include-online 'my runs/run-20260101_000000-x'"
        );
        std::fs::remove_dir_all(&root).ok();
    }
}
