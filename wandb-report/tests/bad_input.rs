//! Logs a report must survive: torn by a killed process, empty, not `.wandb` logs at all,
//! damaged in the middle; a broken sweep state; paths that do not exist.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::{TempDir, offline_run, section, table_rows, training_rows};
use wandb_report::{Error, Report};

fn log_of(dir: &Path) -> PathBuf {
    fs::read_dir(dir)
        .expect("a run directory")
        .filter_map(|e| Some(e.ok()?.path()))
        .find(|p| p.extension().is_some_and(|e| e == "wandb"))
        .expect("a .wandb log in it")
}

fn cut(log: &Path, keep: usize) {
    let bytes = fs::read(log).expect("read the log");
    fs::write(log, &bytes[..keep]).expect("write the log");
}

/// Every reason given for `what`, joined.
fn reason(page: &wandb_report::Page, what: &str) -> String {
    page.skipped
        .iter()
        .filter(|s| s.what.contains(what))
        .map(|s| s.why.as_str())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn torn_empty_and_foreign_logs_are_listed_and_the_rest_is_shown() {
    let tmp = TempDir::new("bad");
    let root = tmp.path();
    offline_run(
        root,
        "good0001",
        1_700_000_001,
        "{}",
        &training_rows(20, 0),
        Some(0),
    );
    // Killed while writing its last record.
    let torn = offline_run(
        root,
        "torn0001",
        1_700_000_002,
        "{}",
        &training_rows(20, 1),
        Some(0),
    );
    let log = log_of(&torn);
    cut(&log, fs::metadata(&log).unwrap().len() as usize - 3);
    // Killed in the middle of a long log, inside a record that spans blocks.
    let long = offline_run(
        root,
        "long0001",
        1_700_000_003,
        "{}",
        &training_rows(2000, 2),
        None,
    );
    cut(&log_of(&long), 40_000);
    // Damaged in the middle (a disk error), but complete.
    let damaged = offline_run(
        root,
        "dmg00001",
        1_700_000_004,
        "{}",
        &training_rows(2000, 3),
        Some(0),
    );
    let log = log_of(&damaged);
    let mut bytes = fs::read(&log).unwrap();
    for b in &mut bytes[10_000..10_050] {
        *b ^= 0x5a;
    }
    fs::write(&log, bytes).unwrap();
    for (name, content) in [
        ("empty001", &b""[..]),
        ("foreign1", &b"{\"this\": \"is JSON\"}"[..]),
        ("header01", &wandb_log::FILE_HEADER[..]),
    ] {
        let dir = root.join(format!("wandb/offline-run-20240101_000000-{name}"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("run-{name}.wandb")), content).unwrap();
    }

    let page = Report::new([root]).render().unwrap();
    assert_eq!(page.runs, 4);
    let rows = table_rows(&page.html);
    assert_eq!(rows.len(), 4);
    let row = |id: &str| rows.iter().find(|r| r.contains(id)).copied().unwrap_or("");
    assert!(row("good0001").contains(">finished<"));
    assert!(row("torn0001").contains("crashed (no exit record)"));
    assert!(
        row("torn0001").contains(">20</td>"),
        "all 20 rows of the torn run are kept"
    );
    assert!(row("long0001").contains("crashed (no exit record)"));
    assert!(row("dmg00001").contains(">finished<"));

    assert!(reason(&page, "empty001").starts_with("empty log (0 bytes)"));
    assert!(reason(&page, "foreign1").starts_with("not a .wandb log"));
    assert!(reason(&page, "header01").starts_with("no records"));
    assert!(reason(&page, "torn0001").contains("without an exit record"));
    assert!(reason(&page, "long0001").contains("without an exit record"));
    assert!(reason(&page, "dmg00001").starts_with("damaged log"));
    assert!(!reason(&page, "dmg00001").contains("exit record"));
    assert!(reason(&page, "good0001").is_empty());
    // Every skipped item is on the page too.
    let listed = section(&page.html, "skipped");
    assert_eq!(listed.matches("<li>").count(), page.skipped.len());
}

#[test]
fn nothing_readable_is_an_error_that_says_why() {
    let tmp = TempDir::new("none");
    let dir = tmp
        .path()
        .join("wandb/offline-run-20240101_000000-empty001");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("run-empty001.wandb"), b"").unwrap();
    let err = Report::new([tmp.path()]).render().unwrap_err();
    assert!(matches!(err, Error::NoRuns { .. }));
    let text = err.to_string();
    assert!(
        text.contains("empty log") && text.contains("give a local sweep directory"),
        "{text}"
    );

    let nothing = TempDir::new("nothing");
    let err = Report::new([nothing.path()]).render().unwrap_err();
    assert!(err.to_string().starts_with("no runs found in"), "{err}");
}

#[test]
fn missing_paths_are_errors() {
    let tmp = TempDir::new("missing");
    let err = Report::new([tmp.path().join("nope")]).render().unwrap_err();
    assert!(matches!(err, Error::Read { .. }));
    assert!(err.to_string().contains("nope"));
    let none: [&str; 0] = [];
    assert!(matches!(Report::new(none).render(), Err(Error::NoPaths)));
    offline_run(
        tmp.path(),
        "good0001",
        1_700_000_000,
        "{}",
        &training_rows(3, 0),
        Some(0),
    );
    let err = Report::new([tmp.path()])
        .write(tmp.path().join("no/such/dir/report.html"))
        .unwrap_err();
    assert!(matches!(err, Error::Write { .. }), "{err}");
}

#[test]
fn a_broken_sweep_state_still_shows_the_runs() {
    let tmp = TempDir::new("state");
    offline_run(
        tmp.path(),
        "good0001",
        1_700_000_000,
        "{}",
        &training_rows(3, 0),
        Some(0),
    );
    fs::write(tmp.path().join("sweep-state.json"), "{\"sweep_id\": 3").unwrap();
    let page = Report::new([tmp.path()]).render().unwrap();
    assert_eq!(page.runs, 1);
    assert!(reason(&page, "sweep-state.json").contains("the runs are shown without the sweep"));
    assert!(section(&page.html, "parameters").is_empty());
}

/// Logs damaged at many places (bytes flipped in a valid log, garbage after a valid header):
/// every one is shown or listed as skipped, and nothing panics.
#[test]
fn damage_anywhere_is_shown_or_skipped() {
    let tmp = TempDir::new("damage");
    let source = offline_run(
        &tmp.path().join("source"),
        "src00001",
        1_700_000_000,
        "{lr: 0.1, model: {depth: 3}}",
        &training_rows(300, 0),
        Some(0),
    );
    let good = fs::read(log_of(&source)).expect("the log");
    let mut noise = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        noise ^= noise << 13;
        noise ^= noise >> 7;
        noise ^= noise << 17;
        noise
    };
    let root = tmp.path().join("damaged");
    let count = 60;
    for k in 0..count {
        let mut bytes = good.clone();
        if k % 3 == 0 {
            // Garbage after the header.
            let len = (next() % 4000) as usize;
            bytes.truncate(wandb_log::FILE_HEADER.len());
            bytes.extend((0..len).map(|_| next() as u8));
        } else {
            for _ in 0..1 + k % 7 {
                let at = 7 + (next() as usize) % (bytes.len() - 7);
                bytes[at] ^= 1 << (next() % 8);
            }
            if k % 5 == 0 {
                bytes.truncate((next() as usize) % bytes.len());
            }
        }
        let dir = root.join(format!("wandb/offline-run-20240101_000000-dmg{k:05}"));
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(dir.join(format!("run-dmg{k:05}.wandb")), bytes).expect("write");
    }
    match Report::new([&root]).render() {
        Ok(page) => {
            let skipped_runs = page
                .skipped
                .iter()
                .filter(|s| s.what.ends_with(".wandb") && !s.what.starts_with("run "))
                .count();
            assert_eq!(page.runs + skipped_runs, count);
            assert_eq!(table_rows(&page.html).len(), page.runs);
        }
        Err(e) => assert!(matches!(e, Error::NoRuns { .. }), "{e}"),
    }
}
