//! Where a run comes from: its host, its program and the git state of its code, resolved
//! once at init. The run record and `upsertBucket` carry them as the official client sends
//! them (the runs table's Hostname and Commit, the run page's Git repository), and so does
//! the run's metadata.

use std::path::Path;

use crate::git_info::{GitInfo, without_credentials};
use crate::proto::GitRepoRecord;

/// The host, program and git state of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Origin {
    /// `WANDB_HOST`, else the machine's host name (empty when it has none).
    pub(crate) host: String,
    /// `WANDB_PROGRAM`, else the program as started (`argv[0]`).
    pub(crate) program: String,
    /// The remote URL (credentials removed) and commit; `None` outside a repository or with
    /// `WANDB_DISABLE_GIT`.
    pub(crate) git: Option<GitRepoRecord>,
}

/// What the settings say of the origin (each `None` is looked up).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct OriginInput<'a> {
    pub(crate) host: Option<String>,
    pub(crate) program: Option<String>,
    /// Where to look for the repository (`WANDB_GIT_ROOT`, else the current directory);
    /// `None` with `WANDB_DISABLE_GIT`.
    pub(crate) git_root: Option<&'a Path>,
    /// `WANDB_GIT_COMMIT` and `WANDB_GIT_REMOTE_URL`: they win over the repository's.
    pub(crate) git_commit: Option<String>,
    pub(crate) git_remote: Option<String>,
}

impl Origin {
    /// Resolves `input`: reads the repository (a few small files under `.git`) and the host
    /// name when they are not given.
    pub(crate) fn resolve(input: OriginInput<'_>) -> Origin {
        let git = input.git_root.and_then(GitInfo::discover);
        let known = |s: &String| !s.is_empty();
        let commit = (input.git_commit)
            .or_else(|| git.as_ref().and_then(|g| g.commit.clone()))
            .filter(known);
        // A remote from a variable may hold a token (CI sets them): never sent or recorded.
        let remote = (input.git_remote.as_deref().map(without_credentials))
            .or_else(|| git.as_ref().and_then(|g| g.remote_url.clone()))
            .filter(known);
        let git = (commit.is_some() || remote.is_some()).then(|| GitRepoRecord {
            remote_url: remote.unwrap_or_default(),
            commit: commit.unwrap_or_default(),
        });
        Origin {
            host: input
                .host
                .or_else(sysinfo::System::host_name)
                .unwrap_or_default(),
            // `std::env::args` would panic on an argument that is not UTF-8.
            program: input
                .program
                .or_else(|| {
                    std::env::args_os()
                        .next()
                        .map(|a| a.to_string_lossy().into_owned())
                })
                .unwrap_or_default(),
            git,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_is_read_and_the_variables_win() {
        let dir = std::env::temp_dir().join(format!("wandb-log-origin-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".git")).expect("mkdir");
        std::fs::write(
            dir.join(".git/HEAD"),
            "0123456789abcdef0123456789abcdef01234567\n",
        )
        .expect("write");
        let input = OriginInput {
            host: Some("trainer-7".into()),
            program: Some("train".into()),
            git_root: Some(&dir),
            git_remote: Some("https://ci:secret-token@example.com/x.git".into()),
            ..OriginInput::default()
        };
        let origin = Origin::resolve(input.clone());
        assert_eq!(
            (origin.host.as_str(), origin.program.as_str()),
            ("trainer-7", "train")
        );
        let git = origin.git.expect("git");
        assert_eq!(git.commit, "0123456789abcdef0123456789abcdef01234567");
        assert_eq!(
            git.remote_url, "https://ci:@example.com/x.git",
            "the token is never recorded"
        );
        let pinned = Origin::resolve(OriginInput {
            git_commit: Some("feedface".into()),
            ..input.clone()
        });
        assert_eq!(pinned.git.expect("git").commit, "feedface");
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A fresh `git init`: no commit, no remote, so no git state (whatever folders hold it).
    #[test]
    fn a_repository_without_commit_or_remote_is_no_git_and_the_program_is_argv0() {
        let dir =
            std::env::temp_dir().join(format!("wandb-log-origin-empty-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".git/refs/heads")).expect("mkdir");
        std::fs::write(dir.join(".git/HEAD"), "ref: refs/heads/main\n").expect("HEAD");
        let origin = Origin::resolve(OriginInput {
            git_root: Some(&dir),
            ..OriginInput::default()
        });
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(origin.git, None);
        let argv0 = std::env::args_os().next().expect("argv[0]");
        assert_eq!(origin.program, argv0.to_string_lossy());
    }
}
