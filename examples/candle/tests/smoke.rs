//! The trainer on an offline run: a few epochs on tiny data lower the loss and write rows.

use wandb_candle_example::{Data, Params, train, two_moons};
use wandb_log::proto::record::RecordType;
use wandb_log::{LogReader, Mode, Run};

#[test]
fn a_few_epochs_lower_the_loss_and_write_one_row_each() {
    let dir = std::env::temp_dir().join(format!("wandb-candle-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let params = Params {
        lr: 0.05,
        hidden: 16,
        epochs: 25,
    };
    let run = Run::builder()
        .project("candle-smoke")
        .mode(Mode::Offline)
        .dir(&dir)
        .config(&params)
        .watch_metric("val/loss")
        .init_with(|_| None)
        .expect("init");
    let from_config: Params = run.config().expect("config");
    assert_eq!(from_config, params);

    let points = two_moons(120, 0.1, 3);
    let data = Data::new(&points[..90], &points[90..]).expect("data");
    let last = train(&run, &from_config, &data).expect("train");
    let losses = run.watched();
    assert_eq!(losses.len(), 25);
    let first = losses[0].1;
    assert!(last < first * 0.8, "val/loss {first} -> {last}");

    let report = run.finish(0).expect("finish");
    assert_eq!(report.rows_written, 25);
    let log = report
        .dir
        .expect("dir")
        .join(format!("run-{}.wandb", run.id()));
    let rows = LogReader::new(std::fs::File::open(log).expect("log"))
        .expect("header")
        .filter(|r| {
            matches!(
                r.as_ref().expect("record").record_type,
                Some(RecordType::History(_))
            )
        })
        .count();
    assert_eq!(rows, 25);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_parameters_are_an_error_not_a_panic() {
    let run = Run::builder()
        .mode(Mode::Disabled)
        .init_with(|_| None)
        .expect("init");
    let points = two_moons(8, 0.1, 3);
    let data = Data::new(&points[..6], &points[6..]).expect("data");
    let err = train(
        &run,
        &Params {
            lr: 0.1,
            hidden: 0,
            epochs: 1,
        },
        &data,
    )
    .expect_err("no hidden units");
    assert!(err.to_string().contains("hidden must be > 0"), "{err}");
}
