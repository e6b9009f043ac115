//! The git commit and `origin` remote of the repository the program runs in, read from the
//! `.git` directory itself (no `git` binary): `HEAD`, loose refs, `packed-refs` and `config`.
//! Worktrees and submodules (a `.git` file with `gitdir:`) are followed. Credentials in the
//! remote URL are removed as the official client removes them (a password becomes empty, a
//! user name alone is dropped). Anything unreadable gives less information, never an error.

use std::path::{Path, PathBuf};

/// How many symbolic refs are followed before giving up (a loop).
const MAX_REF_DEPTH: usize = 8;
/// Files larger than this are not git metadata worth reading.
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// What the repository says about the code that runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GitInfo {
    /// The work tree's top directory.
    pub(crate) root: PathBuf,
    /// The commit `HEAD` points at (`None` in a repository without commits).
    pub(crate) commit: Option<String>,
    /// The `origin` remote's URL, without credentials.
    pub(crate) remote_url: Option<String>,
}

impl GitInfo {
    /// The repository that holds `dir` (or one of its parents); `None` outside a repository.
    pub(crate) fn discover(dir: &Path) -> Option<GitInfo> {
        let start = std::path::absolute(dir).ok()?;
        for root in start.ancestors() {
            let dot_git = root.join(".git");
            if let Some(git_dir) = git_dir(&dot_git) {
                return Some(GitInfo::read(root, &git_dir));
            }
        }
        None
    }

    fn read(root: &Path, git_dir: &Path) -> GitInfo {
        // A linked worktree keeps its own HEAD; refs, packed-refs and config are shared.
        let common = read_small(&git_dir.join("commondir"))
            .map(|c| git_dir.join(c.trim()))
            .unwrap_or_else(|| git_dir.to_path_buf());
        GitInfo {
            root: root.to_path_buf(),
            commit: head_commit(git_dir, &common),
            remote_url: read_small(&common.join("config"))
                .and_then(|c| origin_url(&c))
                .map(|u| without_credentials(&u)),
        }
    }
}

/// The git directory `.git` stands for: itself, or where a `gitdir:` file points.
fn git_dir(dot_git: &Path) -> Option<PathBuf> {
    let meta = std::fs::metadata(dot_git).ok()?;
    if meta.is_dir() {
        return dot_git
            .join("HEAD")
            .is_file()
            .then(|| dot_git.to_path_buf());
    }
    let text = read_small(dot_git)?;
    let target = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
    let dir = dot_git.parent()?.join(target);
    dir.join("HEAD").is_file().then_some(dir)
}

/// The commit `HEAD` resolves to.
fn head_commit(git_dir: &Path, common: &Path) -> Option<String> {
    let mut text = read_small(&git_dir.join("HEAD"))?;
    for _ in 0..MAX_REF_DEPTH {
        let value = text.trim();
        let Some(name) = value.strip_prefix("ref:") else {
            return is_object_id(value).then(|| value.to_owned());
        };
        let name = name.trim();
        if !is_ref_name(name) {
            return None;
        }
        text = match read_small(&git_dir.join(name)).or_else(|| read_small(&common.join(name))) {
            Some(t) => t,
            None => return packed_ref(common, name),
        };
    }
    None
}

/// A ref from `packed-refs` (`<id> <name>` lines; `#` and `^` lines are not refs).
fn packed_ref(common: &Path, name: &str) -> Option<String> {
    let text = read_small(&common.join("packed-refs"))?;
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('^'))
        .find_map(|l| {
            let (id, r) = l.split_once(' ')?;
            (r.trim() == name && is_object_id(id)).then(|| id.to_owned())
        })
}

/// A SHA-1 or SHA-256 object id in hex.
fn is_object_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A ref name that stays inside the git directory.
fn is_ref_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && name
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
}

/// `url` of `[remote "origin"]` in a git config.
fn origin_url(config: &str) -> Option<String> {
    let mut in_origin = false;
    let mut url = None;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            let header = line.trim_start_matches('[');
            let header = header.split(']').next().unwrap_or_default();
            let (section, sub) = header
                .split_once(char::is_whitespace)
                .unwrap_or((header, ""));
            in_origin =
                section.eq_ignore_ascii_case("remote") && sub.trim().trim_matches('"') == "origin";
            continue;
        }
        if !in_origin || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some((key, value)) = line.split_once('=')
            && key.trim().eq_ignore_ascii_case("url")
        {
            // The first url wins, as git's remote.origin.url does for fetching.
            url.get_or_insert_with(|| config_value(value));
        }
    }
    url.filter(|u| !u.is_empty())
}

/// A config value: quotes removed, a trailing comment dropped.
fn config_value(raw: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = raw.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(match n {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                }
            }
            '#' | ';' if !quoted => break,
            c => out.push(c),
        }
    }
    out.trim().to_owned()
}

/// A URL without its password (kept as `user:@host`) or lone user name (dropped), as the
/// official client reports remotes. `scp`-like `git@host:path` remotes have no URL syntax
/// and are kept as they are.
pub(crate) fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let Some((user_info, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match user_info.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:@{host}{path}"),
        None => format!("{scheme}://{host}{path}"),
    }
}

/// A small text file, or `None`.
fn read_small(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
    const OTHER: &str = "fedcba9876543210fedcba9876543210fedcba98";

    /// A scratch repository: `.git` with `HEAD` and the files given.
    fn repo(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wandb-log-git-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        std::fs::create_dir_all(dir.join("src/deep")).expect("mkdir");
        dir
    }

    const CONFIG: &str = "[core]\n\tbare = false\n[remote \"upstream\"]\n\turl = https://example.com/up.git\n[remote \"origin\"]\n\turl = https://user:s3cret@example.com/team/repo.git ; a comment\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n";

    #[test]
    fn a_loose_ref_and_the_origin_remote() {
        let dir = repo(
            "loose",
            &[
                (".git/HEAD", "ref: refs/heads/main\n"),
                (".git/refs/heads/main", &format!("{COMMIT}\n")),
                (".git/config", CONFIG),
            ],
        );
        let info = GitInfo::discover(&dir.join("src/deep")).expect("a repository");
        assert_eq!(info.root, dir);
        assert_eq!(info.commit.as_deref(), Some(COMMIT));
        assert_eq!(
            info.remote_url.as_deref(),
            Some("https://user:@example.com/team/repo.git")
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_packed_ref() {
        let packed = format!(
            "# pack-refs with: peeled fully-peeled sorted\n{OTHER} refs/heads/other\n{COMMIT} refs/heads/main\n^{OTHER}\n"
        );
        let dir = repo(
            "packed",
            &[
                (".git/HEAD", "ref: refs/heads/main\n"),
                (".git/packed-refs", &packed),
                (
                    ".git/config",
                    "[remote \"origin\"]\n\turl = git@example.com:team/repo.git\n",
                ),
            ],
        );
        let info = GitInfo::discover(&dir).expect("a repository");
        assert_eq!(info.commit.as_deref(), Some(COMMIT));
        assert_eq!(
            info.remote_url.as_deref(),
            Some("git@example.com:team/repo.git")
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_detached_head_and_no_remote() {
        let dir = repo("detached", &[(".git/HEAD", &format!("{OTHER}\n"))]);
        let info = GitInfo::discover(&dir).expect("a repository");
        assert_eq!(info.commit.as_deref(), Some(OTHER));
        assert_eq!(info.remote_url, None);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_new_repository_has_no_commit() {
        let dir = repo("empty", &[(".git/HEAD", "ref: refs/heads/main\n")]);
        let info = GitInfo::discover(&dir).expect("a repository");
        assert_eq!(info.commit, None);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_worktree_reads_the_shared_refs_and_config() {
        let dir = repo(
            "worktree",
            &[
                ("main/.git/HEAD", "ref: refs/heads/main\n"),
                ("main/.git/config", CONFIG),
                ("main/.git/refs/heads/feature", &format!("{OTHER}\n")),
                ("main/.git/worktrees/wt/HEAD", "ref: refs/heads/feature\n"),
                ("main/.git/worktrees/wt/commondir", "../..\n"),
                ("wt/.git", "gitdir: ../main/.git/worktrees/wt\n"),
            ],
        );
        let info = GitInfo::discover(&dir.join("wt")).expect("a repository");
        assert_eq!(info.root, dir.join("wt"));
        assert_eq!(info.commit.as_deref(), Some(OTHER));
        assert!(info.remote_url.is_some());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn outside_a_repository_or_with_hostile_refs_there_is_nothing() {
        let dir = repo("none", &[("src/main.rs", "fn main() {}\n")]);
        // The scratch directory is not in a repository unless the temp dir is (not usual):
        // compare with what its parent says.
        let parent = GitInfo::discover(&std::env::temp_dir());
        assert_eq!(GitInfo::discover(&dir), parent);
        std::fs::remove_dir_all(&dir).ok();
        let hostile = repo(
            "hostile",
            &[
                (".git/HEAD", "ref: ../../../etc/passwd\n"),
                (".git/config", "[remote \"origin\"\n url\n = \n"),
            ],
        );
        let info = GitInfo::discover(&hostile).expect("a repository");
        assert_eq!((info.commit, info.remote_url), (None, None));
        std::fs::remove_dir_all(&hostile).ok();
        let looped = repo(
            "loop",
            &[
                (".git/HEAD", "ref: refs/heads/a\n"),
                (".git/refs/heads/a", "ref: refs/heads/b\n"),
                (".git/refs/heads/b", "ref: refs/heads/a\n"),
            ],
        );
        assert_eq!(
            GitInfo::discover(&looped).expect("a repository").commit,
            None
        );
        std::fs::remove_dir_all(&looped).ok();
    }

    #[test]
    fn credentials_leave_remote_urls() {
        assert_eq!(
            without_credentials("https://token@github.com/a/b.git"),
            "https://github.com/a/b.git"
        );
        assert_eq!(
            without_credentials("https://u:p@w@host:8443/x?y=1"),
            "https://u:@host:8443/x?y=1"
        );
        assert_eq!(without_credentials("https://host/p@q"), "https://host/p@q");
        assert_eq!(without_credentials("git@host:a/b"), "git@host:a/b");
        assert_eq!(config_value(" \"a b\" # c"), "a b");
    }
}
