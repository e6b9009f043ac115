//! Media values in runs: the records and files an offline run writes for images,
//! histograms and tables, compared with those of the official client 0.31.0
//! (`fixtures/media_reference_0.31.0.json`, from its printed records), and histograms
//! compared with numpy (`fixtures/histogram_numpy.json`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

mod common;

use serde_json::{Value as Json, json};
use wandb_log::proto::files_item::{FileType, PolicyType};
use wandb_log::proto::record::RecordType;
use wandb_log::proto::{FilesItem, Record};
use wandb_log::{
    Error, Histogram, Image, LogReader, Mode, RowValue, Run, StepPolicy, Table, Value,
};

fn fixture(name: &str) -> Json {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wandb-log-media-{name}-{}", std::process::id()));
    let _fresh = std::fs::remove_dir_all(&dir);
    dir
}

fn records(run_dir: &Path, run_id: &str) -> Vec<Record> {
    let log = std::fs::File::open(run_dir.join(format!("run-{run_id}.wandb"))).expect("log");
    LogReader::new(log)
        .expect("header")
        .collect::<Result<_, _>>()
        .expect("records")
}

/// A history record's items as one JSON object (each item's key, or its nested keys).
fn history_object(items: impl IntoIterator<Item = (String, Vec<String>, String)>) -> Json {
    let mut out = serde_json::Map::new();
    for (key, nested, value) in items {
        let path = if key.is_empty() { nested } else { vec![key] };
        let value: Json = serde_json::from_str(&value).expect("value JSON");
        let mut at = &mut out;
        for k in &path[..path.len() - 1] {
            at = at
                .entry(k.clone())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("object");
        }
        at.insert(path[path.len() - 1].clone(), value);
    }
    Json::Object(out)
}

enum Logged {
    Files(Vec<FilesItem>),
    History(Json),
    Summary(Json),
}

fn logged(records: Vec<Record>) -> Vec<Logged> {
    records
        .into_iter()
        .filter_map(|r| match r.record_type? {
            RecordType::Files(f) => Some(Logged::Files(f.files)),
            RecordType::History(h) => Some(Logged::History(history_object(
                h.item
                    .into_iter()
                    .map(|i| (i.key, i.nested_key, i.value_json)),
            ))),
            RecordType::Summary(s) => Some(Logged::Summary(history_object(
                s.update
                    .into_iter()
                    .map(|i| (i.key, i.nested_key, i.value_json)),
            ))),
            _ => None,
        })
        .collect()
}

fn keys(v: &Json) -> BTreeSet<&str> {
    v.as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// The reference script's image: 32x24 RGB, `(i % 256)` in row-major order.
fn reference_image() -> Image {
    let pixels: Vec<u8> = (0..24 * 32 * 3).map(|i| (i % 256) as u8).collect();
    Image::from_pixels(&pixels, &[24, 32, 3])
        .expect("valid")
        .with_caption("grad")
}

/// The reference script's histogram input: `np.random.default_rng(0).normal(size=1000)`
/// (the first case of the numpy fixture holds exactly these values).
fn reference_normal() -> Vec<f64> {
    let numpy = fixture("histogram_numpy.json");
    let case = &numpy["cases"][0];
    assert_eq!(case["name"], "normal_1000_default_bins");
    floats(&case["values"])
}

/// Floats written as strings, read exactly.
fn floats(v: &Json) -> Vec<f64> {
    v.as_array()
        .expect("list")
        .iter()
        .map(|x| x.as_str().expect("string").parse().expect("float"))
        .collect()
}

#[test]
fn histogram_edges_and_counts_equal_numpy() {
    let numpy = fixture("histogram_numpy.json");
    let cases = numpy["cases"].as_array().expect("cases");
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let values = floats(&case["values"]);
        let bins = case["num_bins"].as_u64().expect("bins") as usize;
        let ours = Histogram::with_bins(&values, bins);
        if case.get("error").is_some() {
            assert!(
                matches!(ours, Err(Error::Media(_))),
                "{name}: numpy refuses"
            );
            continue;
        }
        let ours = ours.unwrap_or_else(|e| panic!("{name}: {e}"));
        let edges = floats(&case["bins"]);
        let counts: Vec<u64> = serde_json::from_value(case["counts"].clone()).expect("counts");
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(ours.bins()), bits(&edges), "{name}: edges");
        assert_eq!(ours.counts(), counts, "{name}: counts");
    }
}

#[test]
fn offline_run_writes_media_records_and_files_as_the_official_client() {
    let reference = fixture("media_reference_0.31.0.json");
    let dir = temp_dir("reference");
    let run = Run::builder()
        .mode(Mode::Offline)
        .project("media")
        .dir(&dir)
        .init()
        .expect("init");
    let normal = reference_normal();
    for step in 0_u32..2 {
        let row: Vec<(&str, RowValue)> = vec![
            ("samples", reference_image().into()),
            (
                "weights",
                Histogram::from_values(&normal).expect("finite").into(),
            ),
            ("loss", (1.0 / (f64::from(step) + 1.0)).into()),
        ];
        assert_eq!(run.log(row).expect("log"), u64::from(step));
    }
    let table = Table::new(["id", "label", "score"])
        .with_row([Value::from(0), "cat".into(), 0.9.into()])
        .and_then(|t| t.with_row([Value::from(1), "dog".into(), 0.2.into()]))
        .expect("rows");
    run.log([("predictions", table)]).expect("log table");
    let report = run.finish(0).expect("finish");
    let run_dir = report.dir.expect("dir");
    let logged = logged(records(&run_dir, run.id()));

    // The files records: one per media file, path only (policy `now`, type `other`), each
    // before the history row that refers to it; the same paths as the official client's
    // but for the image hash (our PNG encoder's bytes differ from Pillow's).
    let want_files: Vec<&str> = reference["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| f["path"].as_str().is_some_and(|p| p.starts_with("media/")))
        .inspect(|f| {
            assert_eq!(
                f["fields"], "",
                "the reference's media files records have default fields"
            );
        })
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    let image = reference_image();
    let sha20 = &image.sha256()[..20];
    let mut files = Vec::new();
    let mut history = Vec::new();
    for entry in &logged {
        match entry {
            Logged::Files(items) => {
                // The run's own files (wandb-metadata.json) are not media.
                for item in items.iter().filter(|i| i.path.starts_with("media/")) {
                    assert_eq!(item.policy, i32::from(PolicyType::Now));
                    assert_eq!(item.r#type, i32::from(FileType::Other));
                    files.push((item.path.clone(), history.len()));
                }
            }
            Logged::History(row) => history.push(row.clone()),
            Logged::Summary(_) => {}
        }
    }
    let ours: Vec<String> = files.iter().map(|(p, _)| p.clone()).collect();
    let expected: Vec<String> = want_files
        .iter()
        .map(|p| p.replace("a67acea17b011c3ea1cb", sha20))
        .collect();
    assert_eq!(ours, expected);
    for (path, rows_before) in &files {
        let step: usize = path
            .split('_')
            .nth(1)
            .expect("step")
            .parse()
            .expect("number");
        assert!(
            *rows_before <= step,
            "{path} is recorded before the row of step {step}"
        );
        assert!(run_dir.join("files").join(path).is_file(), "{path} exists");
    }

    // The history rows: the same keys and media shapes as the reference's.
    let want_history = reference["history"].as_array().expect("history");
    assert_eq!(history.len(), want_history.len());
    for (step, (ours, want)) in history.iter().zip(want_history).enumerate() {
        assert_eq!(keys(ours), keys(want), "step {step}: keys");
        assert_eq!(ours["_step"], json!(step));
        if step < 2 {
            assert_eq!(ours["loss"].as_f64(), want["loss"].as_f64());
            assert_eq!(ours["weights"], want["weights"], "the histogram, exactly");
            let (s, w) = (&ours["samples"], &want["samples"]);
            assert_eq!(keys(s), keys(w), "image value keys");
            for k in ["_type", "format", "width", "height", "caption"] {
                assert_eq!(s[k], w[k], "image {k}");
            }
            let path = format!("media/images/samples_{step}_{sha20}.png");
            assert_eq!(s["path"], json!(path));
            let bytes = std::fs::read(run_dir.join("files").join(&path)).expect("png");
            assert_eq!(s["size"], json!(bytes.len()));
            assert_eq!(s["sha256"], json!(image.sha256()));
            assert_eq!(bytes, image.bytes());
        } else {
            let (t, w) = (&ours["predictions"], &want["predictions"]);
            let mut want_keys = keys(w);
            want_keys.remove("artifact_path");
            want_keys.remove("_latest_artifact_path");
            assert_eq!(
                keys(t),
                want_keys,
                "table value keys, without the artifact's"
            );
            for k in [
                "_type", "path", "sha256", "size", "ncols", "nrows", "log_mode",
            ] {
                assert_eq!(t[k], w[k], "table {k}: the same file, byte for byte");
            }
            let path = t["path"].as_str().expect("path");
            let bytes = std::fs::read(run_dir.join("files").join(path)).expect("table");
            assert_eq!(json!(bytes.len()), w["size"]);
        }
    }

    // The final summary holds the last value of each, as the reference's does.
    let Some(Logged::Summary(summary)) = logged
        .iter()
        .rev()
        .find(|l| matches!(l, Logged::Summary(s) if s.get("samples").is_some()))
    else {
        panic!("no summary with the media values");
    };
    let want = &reference["summary"];
    for key in ["samples", "weights", "predictions"] {
        assert_eq!(summary[key]["_type"], want[key]["_type"], "summary {key}");
    }
    assert_eq!(summary["samples"]["path"], history[1]["samples"]["path"]);
    assert_eq!(summary["weights"], want["weights"]);
    assert_eq!(summary["predictions"]["path"], want["predictions"]["path"]);
    assert_eq!(
        report.summary["samples"]["path"],
        history[1]["samples"]["path"]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_list_of_images_is_one_separated_value_with_a_file_each() {
    let dir = temp_dir("list");
    let run = Run::builder()
        .mode(Mode::Offline)
        .dir(&dir)
        .init()
        .expect("init");
    let images: Vec<Image> = [0_u8, 100, 200]
        .iter()
        .map(|&v| Image::from_gray(4, 3, &[v; 12]).expect("gray"))
        .collect();
    let captioned = vec![images[0].clone().with_caption("zero"), images[1].clone()];
    run.log([("digits", RowValue::Images(images.clone()))])
        .expect("log");
    run.log([("captioned", RowValue::Images(captioned))])
        .expect("log");
    run.log([("none", RowValue::Images(Vec::new()))])
        .expect("log");
    let report = run.finish(0).expect("finish");
    let run_dir = report.dir.expect("dir");
    let logged = logged(records(&run_dir, run.id()));
    let rows: Vec<&Json> = logged
        .iter()
        .filter_map(|l| match l {
            Logged::History(h) => Some(h),
            _ => None,
        })
        .collect();
    let filenames: Vec<String> = images
        .iter()
        .map(|i| format!("media/images/digits_0_{}.png", &i.sha256()[..20]))
        .collect();
    assert_eq!(
        rows[0]["digits"],
        json!({"_type": "images/separated", "width": 4, "height": 3, "format": "png",
               "count": 3, "filenames": filenames})
    );
    for f in &filenames {
        assert!(run_dir.join("files").join(f).is_file());
    }
    assert_eq!(rows[1]["captioned"]["captions"], json!(["zero", ""]));
    assert_eq!(rows[2]["none"], json!([]));
    let recorded: usize = logged
        .iter()
        .map(|l| match l {
            // The run's own files (wandb-metadata.json) are not media.
            Logged::Files(f) => f.iter().filter(|i| i.path.starts_with("media/")).count(),
            _ => 0,
        })
        .sum();
    assert_eq!(recorded, 5, "one files record per image file");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn disabled_runs_take_the_same_values_and_write_nothing() {
    let dir = temp_dir("disabled");
    let run = Run::builder()
        .mode(Mode::Disabled)
        .dir(&dir)
        .init()
        .expect("init");
    let table = Table::new(["x"]).with_row([1]).expect("row");
    let row: Vec<(&str, RowValue)> = vec![
        ("image", reference_image().into()),
        ("table", table.into()),
        (
            "weights",
            Histogram::from_values(&[1.0, 2.0]).expect("ok").into(),
        ),
        ("images", RowValue::Images(vec![reference_image()])),
    ];
    assert_eq!(run.log(row).expect("accepted"), 0);
    run.summary([("best", reference_image())]);
    let report = run.finish(0).expect("finish");
    assert_eq!(report.dir, None);
    assert!(!dir.exists(), "nothing written");
    assert!(matches!(
        Image::from_rgb(2, 2, &[0; 3]),
        Err(Error::Media(_))
    ));
}

#[test]
fn summary_media_are_named_summary_and_refused_rows_write_no_file() {
    let dir = temp_dir("summary");
    let run = Run::builder()
        .mode(Mode::Offline)
        .dir(&dir)
        .step_policy(StepPolicy::Reject)
        .init()
        .expect("init");
    run.log_at(5, [("loss", 1.0)]).expect("log");
    run.log_at(6, [("loss", 1.0)]).expect("log");
    run.flush(std::time::Duration::from_secs(10))
        .expect("flush closes the step window");
    let late = run.log_at(3, [("late", reference_image())]);
    assert!(matches!(late, Err(Error::StepConflict { step: 3, .. })));
    run.summary([("best", reference_image())]);
    let report = run.finish(0).expect("finish");
    let run_dir = report.dir.expect("dir");
    let path = format!(
        "media/images/best_summary_{}.png",
        &reference_image().sha256()[..20]
    );
    assert_eq!(report.summary["best"]["path"], json!(path));
    assert!(run_dir.join("files").join(&path).is_file());
    let images: Vec<_> = std::fs::read_dir(run_dir.join("files/media/images"))
        .expect("images")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(images.len(), 1, "no file for the refused row: {images:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_media_file_that_cannot_be_written_fails_the_row_and_keeps_the_rest() {
    let dir = temp_dir("unwritable");
    let run = Run::builder()
        .mode(Mode::Offline)
        .dir(&dir)
        .init()
        .expect("init");
    let run_dir = run.dir().expect("dir");
    // A file where the media folder should be.
    std::fs::write(run_dir.join("files/media"), b"in the way").expect("file");
    run.log([("loss", 0.5)]).expect("scalars");
    let err = run.log([("samples", reference_image())]).unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err}");
    run.log([("loss", 0.25)]).expect("the run goes on");
    let report = run.finish(0).expect("finish");
    assert_eq!(report.rows_written, 2);
    assert_eq!(report.summary["loss"], json!(0.25));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn keys_with_slashes_and_dots_stay_inside_the_media_folder() {
    let dir = temp_dir("keys");
    let run = Run::builder()
        .mode(Mode::Offline)
        .dir(&dir)
        .init()
        .expect("init");
    run.log([
        ("../../escape", reference_image()),
        ("val/img", reference_image()),
    ])
    .expect("log");
    let report = run.finish(0).expect("finish");
    let image = reference_image();
    let sha20 = &image.sha256()[..20];
    let escape = format!("media/images/_/_/escape_0_{sha20}.png");
    assert_eq!(report.summary["../../escape"]["path"], json!(escape));
    assert_eq!(
        report.summary["val/img"]["path"],
        json!(format!("media/images/val/img_0_{sha20}.png"))
    );
    let run_dir = report.dir.expect("dir");
    assert!(run_dir.join("files").join(&escape).is_file());
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn online_runs_write_media_files_and_stream_the_values_as_objects() {
    let server = wiremock::MockServer::start().await;
    common::mount_upsert(&server, "mock-entity", "proj", "med1a001").await;
    common::mount_file_stream(&server, json!({})).await;
    let dir = common::tmp("media-online");
    let mut e = common::env(&server.uri(), &dir);
    e.insert("WANDB_RUN_ID", "med1a001".to_owned());
    let report = tokio::task::spawn_blocking(move || {
        let run = Run::builder()
            .init_with(|k| e.get(k).cloned())
            .expect("init");
        let row: Vec<(&str, RowValue)> = vec![
            ("samples", reference_image().into()),
            (
                "weights",
                Histogram::with_bins(&[1.0, 2.0, 2.0], 2)
                    .expect("ok")
                    .into(),
            ),
        ];
        run.log(row).expect("log");
        run.finish(0).expect("finish")
    })
    .await
    .expect("join");
    assert_eq!(report.upload_error, None);
    let run_dir = report.dir.expect("dir");
    let path = format!(
        "media/images/samples_0_{}.png",
        &reference_image().sha256()[..20]
    );
    assert!(run_dir.join("files").join(&path).is_file());
    let lines: Vec<Json> = common::bodies(&server)
        .await
        .iter()
        .filter_map(|b| {
            b["files"]["wandb-history.jsonl"]["content"]
                .as_array()
                .cloned()
        })
        .flatten()
        .map(|l| serde_json::from_str(l.as_str().expect("line")).expect("row"))
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["samples"]["_type"], "image-file");
    assert_eq!(lines[0]["samples"]["path"], json!(path));
    assert_eq!(
        lines[0]["weights"],
        json!({"_type": "histogram", "values": [1, 2], "bins": [1.0, 1.5, 2.0]})
    );
}
