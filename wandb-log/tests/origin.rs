//! Where a run comes from (host, program, git remote and commit): in the run record of the
//! log, so that the official `wandb sync` and ours send them, and in the `upsertBucket` of
//! an online run, as the official client 0.31.0 sends them (`online_run.jsonl`).

mod common;

use std::collections::HashMap;

use serde_json::{Value, json};
use wandb_log::proto::RunRecord;
use wandb_log::proto::record::RecordType;
use wandb_log::{Mode, Run, SyncOptions};
use wiremock::MockServer;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const REMOTE: &str = "https://github.com/acme/trainer.git";

/// The variables an official run sets: the captured host and program, and a git state.
fn origin_env() -> HashMap<&'static str, String> {
    [
        ("WANDB_HOST", "vm"),
        ("WANDB_PROGRAM", "/home/user/exp/online/run1.py"),
        ("WANDB_GIT_COMMIT", COMMIT),
        ("WANDB_GIT_REMOTE_URL", REMOTE),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

fn run_record(run_dir: &std::path::Path) -> RunRecord {
    common::records(run_dir)
        .into_iter()
        .find_map(|r| match r.record_type {
            Some(RecordType::Run(run)) => Some(run),
            _ => None,
        })
        .expect("a run record")
}

fn offline(name: &str, extra: &[(&'static str, &str)]) -> (std::path::PathBuf, RunRecord) {
    let dir = common::tmp(name);
    let mut env = origin_env();
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let run = Run::builder()
        .mode(Mode::Offline)
        .dir(&dir)
        .project("proj")
        .entity("team")
        .id("origin01")
        .metadata(false)
        .system_metrics(false)
        .init_with(|k| env.get(k).cloned())
        .expect("init");
    run.log([("loss", 1.0)]).expect("log");
    let run_dir = run.finish(0).expect("finish").dir.expect("dir");
    let record = run_record(&run_dir);
    (dir, record)
}

#[test]
fn the_run_record_names_the_host_and_the_git_state() {
    let (dir, record) = offline("origin-record", &[]);
    assert_eq!(record.host, "vm");
    let git = record.git.expect("git");
    assert_eq!(
        (git.remote_url.as_str(), git.commit.as_str()),
        (REMOTE, COMMIT)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A folder that is a git repository at a known commit.
fn repository(name: &str) -> std::path::PathBuf {
    let dir = common::tmp(name);
    std::fs::create_dir_all(dir.join(".git")).expect("mkdir");
    std::fs::write(dir.join(".git/HEAD"), format!("{COMMIT}\n")).expect("HEAD");
    dir
}

#[test]
fn with_git_disabled_the_repository_is_not_read_but_variables_still_count() {
    let repo = repository("origin-repo");
    let root = repo.display().to_string();
    let (dir, record) = offline(
        "origin-nogit",
        &[
            ("WANDB_DISABLE_GIT", "true"),
            ("WANDB_GIT_ROOT", &root),
            ("WANDB_GIT_COMMIT", ""),
            ("WANDB_GIT_REMOTE_URL", ""),
        ],
    );
    assert_eq!(record.host, "vm");
    assert_eq!(record.git, None, "the repository was not read");
    std::fs::remove_dir_all(&dir).ok();
    let (dir, record) = offline(
        "origin-nogit-vars",
        &[("WANDB_DISABLE_GIT", "true"), ("WANDB_GIT_ROOT", &root)],
    );
    let git = record
        .git
        .expect("the variables' git state, as the official client keeps it");
    assert_eq!(
        (git.remote_url.as_str(), git.commit.as_str()),
        (REMOTE, COMMIT)
    );
    std::fs::remove_dir_all(&dir).ok();
    let (dir, record) = offline(
        "origin-repo-read",
        &[
            ("WANDB_GIT_ROOT", &root),
            ("WANDB_GIT_COMMIT", ""),
            ("WANDB_GIT_REMOTE_URL", ""),
        ],
    );
    assert_eq!(record.git.expect("read from .git").commit, COMMIT);
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&repo).ok();
}

/// The first `UpsertBucket`'s variables.
async fn upsert_variables(server: &MockServer) -> Value {
    common::bodies(server)
        .await
        .into_iter()
        .find(|b| b["operationName"] == "UpsertBucket")
        .expect("an upsert")["variables"]
        .clone()
}

/// The official client's first `UpsertBucket` of the captured online run (the copy committed
/// with wandb-api's tests).
fn official_upsert() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../wandb-api/tests/fixtures/online_run.jsonl"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json line"))
        .find(|r| {
            r["body"]["query"]
                .as_str()
                .is_some_and(|q| q.contains("UpsertBucket"))
        })
        .expect("an UpsertBucket")["body"]["variables"]
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_online_run_upserts_host_program_repo_and_commit() {
    let server = MockServer::start().await;
    common::mount_upsert(&server, "mock-entity", "proj", "origin02").await;
    common::mount_file_stream(&server, json!({})).await;
    common::mount_run_files(&server).await;
    common::mount_puts(&server).await;
    let dir = common::tmp("origin-online");
    let mut env = common::env(&server.uri(), &dir);
    env.extend(origin_env());
    env.insert("WANDB_RUN_ID", "origin02".to_owned());
    tokio::task::spawn_blocking(move || {
        let run = Run::builder()
            .metadata(false)
            .system_metrics(false)
            .init_with(|k| env.get(k).cloned())
            .expect("init");
        run.log([("loss", 1.0)]).expect("log");
        run.finish(0).expect("finish");
    })
    .await
    .expect("join");
    let ours = upsert_variables(&server).await;
    let official = official_upsert();
    for key in ["host", "program"] {
        assert_eq!(
            ours[key], official[key],
            "{key} as the official client sends it"
        );
    }
    assert_eq!(ours["repo"], REMOTE);
    assert_eq!(ours["commit"], COMMIT);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_upserts_the_host_and_git_state_of_the_run_record() {
    let (dir, _) = offline("origin-sync", &[]);
    let run_dir = std::fs::read_dir(dir.join("wandb"))
        .expect("wandb/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("offline-run-"))
        })
        .expect("the run directory");
    let server = MockServer::start().await;
    common::mount_upsert(&server, "team", "proj", "origin01").await;
    common::mount_resume_status(&server, Value::Null).await;
    common::mount_file_stream(&server, json!({})).await;
    common::sync_to(&server, run_dir, SyncOptions::default()).await;
    let ours = upsert_variables(&server).await;
    assert_eq!(
        (&ours["host"], &ours["repo"], &ours["commit"]),
        (&json!("vm"), &json!(REMOTE), &json!(COMMIT))
    );
    std::fs::remove_dir_all(&dir).ok();
}
