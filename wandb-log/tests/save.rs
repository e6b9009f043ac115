//! Files saved with a run (`Run::save`): the `files` record offline (as the official client
//! writes it), and online the upload (`createRunFiles`, then a PUT of the file) without
//! holding up the run, retried on a 500, reported on a 403 or when the file is gone; `sync`
//! uploads the files of an offline run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

mod common;

use serde_json::{Value, json};
use wandb_log::proto::files_item::PolicyType;
use wandb_log::proto::record::RecordType;
use wandb_log::proto::{FilesItem, FilesRecord};
use wandb_log::{FinishReport, Mode, Run, SavePolicy, SyncOptions};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server(run_id: &str) -> MockServer {
    let server = MockServer::start().await;
    common::mount_upsert(&server, "mock-entity", "proj", run_id).await;
    common::mount_file_stream(&server, json!({})).await;
    common::mount_run_files(&server).await;
    server
}

fn files_records(run_dir: &Path) -> Vec<FilesRecord> {
    common::records(run_dir)
        .into_iter()
        .filter_map(|r| match r.record_type {
            Some(RecordType::Files(f)) => Some(f),
            _ => None,
        })
        .collect()
}

/// Runs `body` with an online run of id `run_id` writing under `dir`, and finishes it.
async fn online(
    server: &MockServer,
    dir: &Path,
    run_id: &str,
    body: impl FnOnce(&Run) + Send + 'static,
) -> FinishReport {
    let mut e = common::env(&server.uri(), dir);
    e.insert("WANDB_RUN_ID", run_id.to_owned());
    tokio::task::spawn_blocking(move || {
        let run = Run::builder()
            // The run's own wandb-metadata.json is left to its own test.
            .metadata(false)
            .upload_retry(wandb_api::RetryPolicy {
                max_retries: 3,
                min_wait: Duration::from_millis(10),
                max_wait: Duration::from_millis(50),
                timeout: Duration::from_secs(10),
            })
            .init_with(|k| e.get(k).cloned())
            .expect("init");
        body(&run);
        run.finish(0).expect("finish")
    })
    .await
    .expect("join")
}

/// Writes each `(name, bytes, policy)` into `dir` and saves it with an online run of id
/// `run_id`, which then finishes.
async fn save_online(
    server: &MockServer,
    dir: &Path,
    run_id: &str,
    files: &[(&str, &[u8], SavePolicy)],
) -> FinishReport {
    let saved: Vec<(PathBuf, SavePolicy)> = files
        .iter()
        .map(|(name, bytes, policy)| {
            std::fs::write(dir.join(name), bytes).expect("write");
            (dir.join(name), *policy)
        })
        .collect();
    online(server, dir, run_id, move |run| {
        for (path, policy) in saved {
            run.save(path, policy).expect("save");
        }
    })
    .await
}

/// PUTs of `name` answered `status` (`times` times, else always), before any other mock.
async fn fail_puts(server: &MockServer, name: &str, status: u16, times: Option<u64>) {
    let mock = Mock::given(method("PUT"))
        .and(path(format!("/upload/{name}")))
        .respond_with(ResponseTemplate::new(status).set_body_string("expired"))
        .with_priority(1);
    match times {
        Some(n) => mock.up_to_n_times(n).mount(server).await,
        None => mock.mount(server).await,
    }
}

fn last_stream_body(bodies: &[Value]) -> &Value {
    bodies
        .iter()
        .rev()
        .find(|b| b.get("complete").is_some())
        .expect("a final file-stream request")
}

/// The official client (0.31.0, `media-records-0.31.0.txt`) writes `wandb.save("notes.txt",
/// policy="now")` offline as `files files { path: "notes.txt" }`: policy NOW and type OTHER
/// are the protobuf defaults. `end` and `live` carry their policy.
#[test]
fn offline_files_records_have_the_official_shape() {
    let dir = common::tmp("save-offline");
    for name in ["notes.txt", "model.bin", "train.log"] {
        std::fs::write(dir.join(name), name).expect("write");
    }
    let run = Run::builder()
        .metadata(false)
        .mode(Mode::Offline)
        .dir(&dir)
        .init()
        .expect("init");
    run.save(dir.join("notes.txt"), SavePolicy::Now)
        .expect("save");
    run.save(dir.join("model.bin"), SavePolicy::End)
        .expect("save");
    run.save(dir.join("train.log"), SavePolicy::Live)
        .expect("save");
    std::fs::write(dir.join("train.log"), "the last version").expect("write");
    let report = run.finish(0).expect("finish");
    let run_dir = report.dir.expect("dir");
    let item = |path: &str, policy: PolicyType| FilesItem {
        path: path.into(),
        policy: policy.into(),
        r#type: 0,
    };
    assert_eq!(
        files_records(&run_dir),
        [
            FilesRecord {
                files: vec![item("notes.txt", PolicyType::Now)]
            },
            FilesRecord {
                files: vec![item("model.bin", PolicyType::End)]
            },
            FilesRecord {
                files: vec![item("train.log", PolicyType::Live)]
            },
        ]
    );
    assert_eq!(
        std::fs::read_to_string(run_dir.join("files/notes.txt")).expect("copied"),
        "notes.txt"
    );
    assert_eq!(
        std::fs::read_to_string(run_dir.join("files/train.log")).expect("copied"),
        "the last version",
        "a live file's last version is kept at the end"
    );
    assert!(report.file_errors.is_empty() && report.files_uploaded.is_empty());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn saving_a_missing_file_says_which() {
    let dir = common::tmp("save-missing");
    let run = Run::builder()
        .metadata(false)
        .mode(Mode::Offline)
        .dir(&dir)
        .init()
        .expect("init");
    let err = run
        .save(dir.join("nope.txt"), SavePolicy::Now)
        .expect_err("no such file");
    assert!(err.to_string().contains("nope.txt"), "{err}");
    run.finish(0).expect("finish");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn saved_files_upload_with_their_names_and_bytes() {
    let server = server("save0001").await;
    common::mount_puts(&server).await;
    let dir = common::tmp("save-online");
    std::fs::write(dir.join("notes.txt"), "notes").expect("write");
    std::fs::write(dir.join("model.bin"), [0u8, 1, 2, 255]).expect("write");
    let d = dir.clone();
    let report = online(&server, &dir, "save0001", move |run| {
        run.log([("loss", 1.0)]).expect("log");
        run.save(d.join("notes.txt"), SavePolicy::Now)
            .expect("save");
        run.save(d.join("model.bin"), SavePolicy::End)
            .expect("save");
        run.log([("loss", 0.5)]).expect("log");
    })
    .await;
    assert_eq!(report.upload_error, None);
    assert_eq!(report.rows_uploaded, Some(2));
    assert!(report.file_errors.is_empty(), "{:?}", report.file_errors);
    let mut uploaded = report.files_uploaded.clone();
    uploaded.sort();
    assert_eq!(uploaded, ["model.bin", "notes.txt"]);
    let mut asked = common::run_files_asked(&server).await;
    asked.sort();
    assert_eq!(asked, ["model.bin", "notes.txt"]);
    let mut puts = common::puts(&server).await;
    puts.sort();
    assert_eq!(
        puts,
        [
            ("/upload/model.bin".to_owned(), vec![0u8, 1, 2, 255]),
            ("/upload/notes.txt".to_owned(), b"notes".to_vec()),
        ]
    );
    let bodies = common::bodies(&server).await;
    let reported: Vec<&str> = bodies
        .iter()
        .filter_map(|b| b.get("uploaded"))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        reported.contains(&"model.bin") && reported.contains(&"notes.txt"),
        "the file stream names the uploaded files: {reported:?}"
    );
    assert_eq!(last_stream_body(&bodies)["exitcode"], 0);
    std::fs::remove_dir_all(&dir).ok();
}

/// A file of several MiB (many read chunks: files are read while they are sent, never held
/// whole) arrives byte for byte, with its length announced.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_saved_file_is_streamed_whole() {
    let server = server("save0005").await;
    common::mount_puts(&server).await;
    let dir = common::tmp("save-large");
    let data: Vec<u8> = (0..5 * 1024 * 1024 + 4_321)
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    let files = [("model.ckpt", data.as_slice(), SavePolicy::End)];
    let report = save_online(&server, &dir, "save0005", &files).await;
    assert_eq!(report.files_uploaded, ["model.ckpt"]);
    let put = server
        .received_requests()
        .await
        .expect("recorded")
        .into_iter()
        .find(|r| r.method.as_str() == "PUT")
        .expect("a PUT");
    assert_eq!(
        put.headers.get("content-length").expect("a Content-Length"),
        &data.len().to_string()
    );
    assert!(put.body == data, "the file arrived whole");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_500_on_a_put_is_retried_and_a_403_is_reported() {
    let server = server("save0002").await;
    fail_puts(&server, "flaky.txt", 500, Some(1)).await;
    fail_puts(&server, "refused.txt", 403, None).await;
    common::mount_puts(&server).await;
    let dir = common::tmp("save-errors");
    let files = [
        ("flaky.txt", b"flaky".as_slice(), SavePolicy::Now),
        ("refused.txt", b"refused".as_slice(), SavePolicy::Now),
    ];
    let report = save_online(&server, &dir, "save0002", &files).await;
    assert_eq!(report.files_uploaded, ["flaky.txt"]);
    assert_eq!(report.file_errors.len(), 1, "{:?}", report.file_errors);
    let (name, why) = &report.file_errors[0];
    assert_eq!(name, "refused.txt");
    assert!(why.contains("403"), "{why}");
    assert!(
        !why.contains("secret"),
        "the signed URL's signature is not in the report: {why}"
    );
    assert!(report.retries >= 1, "the 500 was retried");
    let flaky = common::puts(&server)
        .await
        .into_iter()
        .filter(|(p, _)| p == "/upload/flaky.txt")
        .count();
    assert_eq!(flaky, 2, "one 500, then the retry");
    assert_eq!(
        report.upload_error, None,
        "a refused file does not fail the run's upload"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_file_that_disappears_is_reported() {
    let server = server("save0003").await;
    common::mount_puts(&server).await;
    let dir = common::tmp("save-gone");
    std::fs::write(dir.join("gone.txt"), "soon gone").expect("write");
    let d = dir.clone();
    let report = online(&server, &dir, "save0003", move |run| {
        run.save(d.join("gone.txt"), SavePolicy::End).expect("save");
        std::fs::remove_file(d.join("gone.txt")).expect("rm source");
        let copy = run.dir().expect("dir").join("files/gone.txt");
        std::fs::remove_file(copy).expect("rm copy");
    })
    .await;
    assert_eq!(report.upload_error, None);
    assert_eq!(report.file_errors.len(), 1, "{:?}", report.file_errors);
    assert_eq!(report.file_errors[0].0, "gone.txt");
    assert!(
        report.file_errors[0].1.contains("gone"),
        "{:?}",
        report.file_errors
    );
    assert!(common::puts(&server).await.is_empty());
    assert_eq!(
        last_stream_body(&common::bodies(&server).await)["exitcode"],
        0
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A live file goes when saved and again at the end, with its last bytes.
#[tokio::test(flavor = "multi_thread")]
async fn a_live_file_uploads_again_with_its_last_version() {
    let server = server("save0004").await;
    let seen = Arc::new(AtomicUsize::new(0));
    Mock::given(method("PUT"))
        .respond_with(Counting(Arc::clone(&seen)))
        .mount(&server)
        .await;
    let dir = common::tmp("save-live");
    std::fs::write(dir.join("progress.txt"), "epoch 1").expect("write");
    let d = dir.clone();
    let report = online(&server, &dir, "save0004", move |run| {
        run.save(d.join("progress.txt"), SavePolicy::Live)
            .expect("save");
        wait_for_put(&seen);
        std::fs::write(d.join("progress.txt"), "epoch 2").expect("write");
    })
    .await;
    assert!(report.file_errors.is_empty(), "{:?}", report.file_errors);
    let bodies: Vec<Vec<u8>> = common::puts(&server)
        .await
        .into_iter()
        .filter(|(p, _)| p == "/upload/progress.txt")
        .map(|(_, b)| b)
        .collect();
    assert_eq!(bodies, [b"epoch 1".to_vec(), b"epoch 2".to_vec()]);
    std::fs::remove_dir_all(&dir).ok();
}

/// Answers PUTs with 200 and counts them.
struct Counting(Arc<AtomicUsize>);

impl wiremock::Respond for Counting {
    fn respond(&self, _request: &wiremock::Request) -> ResponseTemplate {
        self.0.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(200)
    }
}

/// Waits until a PUT was answered (the first upload of a live file).
fn wait_for_put(seen: &AtomicUsize) {
    // Bounded, so that a run that never uploads fails the test's assertion instead of hanging.
    for _ in 0..12_000 {
        if seen.load(Ordering::SeqCst) > 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_uploads_the_files_of_an_offline_run() {
    let server = server("save0005").await;
    common::mount_resume_status(&server, Value::Null).await;
    common::mount_puts(&server).await;
    let dir = common::tmp("save-sync");
    std::fs::write(dir.join("notes.txt"), "synced notes").expect("write");
    let run = Run::builder()
        .metadata(false)
        .mode(Mode::Offline)
        .dir(&dir)
        .id("save0005")
        .project("proj")
        .init()
        .expect("init");
    run.save(dir.join("notes.txt"), SavePolicy::Now)
        .expect("save");
    run.console("a console line").expect("console");
    let run_dir = run.finish(0).expect("finish").dir.expect("dir");
    let report = common::sync_to(&server, run_dir, SyncOptions::default()).await;
    assert_eq!(report.exit_code, 0);
    let mut uploaded = report.files_uploaded.clone();
    uploaded.sort();
    assert_eq!(uploaded, ["notes.txt", "output.log"]);
    assert!(report.file_errors.is_empty(), "{:?}", report.file_errors);
    let mut puts = common::puts(&server).await;
    puts.sort();
    assert_eq!(
        puts,
        [
            ("/upload/notes.txt".to_owned(), b"synced notes".to_vec()),
            (
                "/upload/output.log".to_owned(),
                b"a console line\n".to_vec()
            ),
        ]
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Any `files` record is an upload, whoever wrote it: here a media file under `files/media/`
/// and a missing one, in a log written with the format-level `OfflineRun`.
#[tokio::test(flavor = "multi_thread")]
async fn sync_uploads_the_file_of_any_files_record_and_reports_a_missing_one() {
    let server = server("save0006").await;
    common::mount_resume_status(&server, Value::Null).await;
    common::mount_puts(&server).await;
    let dir = common::tmp("save-media");
    let info = wandb_log::RunInfo {
        run_id: "save0006".into(),
        project: Some("proj".into()),
        ..wandb_log::RunInfo::default()
    };
    let mut log = wandb_log::OfflineRun::create(&dir, &info, 1_700_000_000).expect("create");
    let media = log.dir().join("files/media/images");
    std::fs::create_dir_all(&media).expect("mkdir");
    std::fs::write(media.join("sample_0.png"), [137u8, 80, 78, 71]).expect("write");
    let item = |path: &str| FilesItem {
        path: path.into(),
        policy: PolicyType::Now.into(),
        r#type: 2,
    };
    // Files outside the run's folder, named by a hostile log, must not be read.
    let secret = dir.join("secret.txt");
    std::fs::write(&secret, "top secret").expect("write");
    let outside = secret.display().to_string();
    log.files(vec![
        item("media/images/sample_0.png"),
        item("media/images/never_written.png"),
        item(&outside),
        item("../../secret.txt"),
    ])
    .expect("files record");
    log.exit(0, 1).expect("exit");
    let run_dir = log.dir().to_path_buf();
    drop(log);
    let report = common::sync_to(&server, run_dir, SyncOptions::default()).await;
    assert_eq!(report.files_uploaded, ["media/images/sample_0.png"]);
    let refused: Vec<&str> = report.file_errors.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        refused,
        [
            outside.as_str(),
            "../../secret.txt",
            "media/images/never_written.png"
        ],
        "{:?}",
        report.file_errors
    );
    assert_eq!(
        common::puts(&server).await,
        [(
            "/upload/media/images/sample_0.png".to_owned(),
            vec![137u8, 80, 78, 71]
        )]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_runs_metadata_file_uploads_online_even_when_the_run_ends_at_once() {
    let server = server("save0007").await;
    common::mount_puts(&server).await;
    let dir = common::tmp("save-metadata");
    let mut e = common::env(&server.uri(), &dir);
    e.insert("WANDB_RUN_ID", "save0007".to_owned());
    let report = tokio::task::spawn_blocking(move || {
        let run = Run::builder()
            .system_metrics(false)
            .init_with(|k| e.get(k).cloned())
            .expect("init");
        run.finish(0).expect("finish")
    })
    .await
    .expect("join");
    assert_eq!(report.files_uploaded, ["wandb-metadata.json"]);
    let puts = common::puts(&server).await;
    let (path, body) = puts.first().expect("one PUT");
    assert_eq!(path, "/upload/wandb-metadata.json");
    let metadata: Value = serde_json::from_slice(body).expect("JSON");
    assert!(
        metadata["os"].is_string() && metadata["cpu_count"].is_number(),
        "{metadata}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn saving_a_file_already_in_the_runs_files_folder_keeps_its_bytes() {
    let dir = common::tmp("save-in-place");
    let run = Run::builder()
        .metadata(false)
        .mode(Mode::Offline)
        .dir(&dir)
        .init()
        .expect("init");
    let files = run.dir().expect("dir").join("files");
    std::fs::create_dir_all(files.join("ckpt")).expect("mkdir");
    std::fs::write(files.join("model.bin"), [1u8, 2, 3]).expect("write");
    std::fs::write(files.join("ckpt/live.txt"), "epoch 1").expect("write");
    assert_eq!(
        run.save(files.join("model.bin"), SavePolicy::End)
            .expect("save"),
        "model.bin"
    );
    run.save_as(
        files.join("ckpt/live.txt"),
        "ckpt/live.txt",
        SavePolicy::Live,
    )
    .expect("save");
    run.finish(0).expect("finish");
    assert_eq!(
        std::fs::read(files.join("model.bin")).expect("read"),
        [1, 2, 3]
    );
    assert_eq!(
        std::fs::read_to_string(files.join("ckpt/live.txt")).expect("read"),
        "epoch 1"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_failing_past_its_requests_retries_is_tried_again_later() {
    let server = server("save0008").await;
    // More 500s than one attempt's policy retries (3): the file waits, then goes again.
    fail_puts(&server, "outage.txt", 500, Some(5)).await;
    common::mount_puts(&server).await;
    let dir = common::tmp("save-outage");
    let files = [(
        "outage.txt",
        b"after the outage".as_slice(),
        SavePolicy::Now,
    )];
    let report = save_online(&server, &dir, "save0008", &files).await;
    assert_eq!(report.files_uploaded, ["outage.txt"]);
    assert!(report.file_errors.is_empty(), "{:?}", report.file_errors);
    let puts: Vec<Vec<u8>> = common::puts(&server)
        .await
        .into_iter()
        .filter(|(p, _)| p == "/upload/outage.txt")
        .map(|(_, body)| body)
        .collect();
    assert_eq!(puts.len(), 6, "5 refused, then accepted");
    assert!(puts.iter().all(|b| b == b"after the outage"));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn many_files_go_in_requests_of_at_most_64_names_and_all_arrive_once() {
    let server = server("save0009").await;
    common::mount_puts(&server).await;
    let dir = common::tmp("save-many");
    let names: Vec<String> = (0..150).map(|i| format!("shard_{i:03}.bin")).collect();
    for name in &names {
        std::fs::write(dir.join(name), name).expect("write");
    }
    let (d, saved) = (dir.clone(), names.clone());
    let report = online(&server, &dir, "save0009", move |run| {
        for name in &saved {
            run.save(d.join(name), SavePolicy::Now).expect("save");
        }
    })
    .await;
    assert!(report.file_errors.is_empty(), "{:?}", report.file_errors);
    let mut uploaded = report.files_uploaded.clone();
    uploaded.sort();
    assert_eq!(uploaded, names);
    let requests: Vec<usize> = common::bodies(&server)
        .await
        .iter()
        .filter(|b| b["operationName"] == "CreateRunFiles")
        .map(|b| b["variables"]["files"].as_array().map_or(0, Vec::len))
        .collect();
    assert!(requests.iter().all(|&n| n <= 64), "{requests:?}");
    assert_eq!(
        requests.iter().sum::<usize>(),
        150,
        "each name asked for once"
    );
    let mut puts: Vec<String> = common::puts(&server)
        .await
        .into_iter()
        .map(|(p, _)| p.trim_start_matches("/upload/").to_owned())
        .collect();
    puts.sort();
    assert_eq!(puts, names, "each file PUT once");
    std::fs::remove_dir_all(&dir).ok();
}
