//! Writes an offline run with media values (the values of openwandb's `media_reference.py`:
//! an image and a histogram at steps 0 and 1, a table at step 2; plus a list of images at
//! step 3) and prints its directory, for `wandb sync`.
//!
//! `cargo run -p wandb-log --example media_run -- ROOT [RUN_ID]`
#![expect(clippy::print_stdout, reason = "prints the run directory")]

use wandb_log::{Histogram, Image, Mode, RowValue, Run, Table, Value};

fn main() -> Result<(), wandb_log::Error> {
    let mut args = std::env::args().skip(1);
    let root = args.next().unwrap_or_else(|| ".".into());
    let mut builder = Run::builder()
        .project("media")
        .mode(Mode::Offline)
        .dir(&root);
    if let Some(id) = args.next() {
        builder = builder.id(id);
    }
    let run = builder.init()?;
    let pixels: Vec<u8> = (0..24 * 32 * 3).map(|i| (i % 256) as u8).collect();
    // A bell-shaped sample without a random generator: sums of evenly spread values.
    let values: Vec<f64> = (0..1000)
        .map(|i| f64::from(i % 10 + i % 7 + i % 13) / 10.0 - 1.4)
        .collect();
    for step in 0..2 {
        let row: Vec<(&str, RowValue)> = vec![
            (
                "samples",
                Image::from_pixels(&pixels, &[24, 32, 3])?
                    .with_caption("grad")
                    .into(),
            ),
            ("weights", Histogram::from_values(&values)?.into()),
            ("loss", (1.0 / f64::from(step + 1)).into()),
        ];
        run.log(row)?;
    }
    let table = Table::new(["id", "label", "score"])
        .with_row([Value::from(0), "cat".into(), 0.9.into()])?
        .with_row([Value::from(1), "dog".into(), 0.2.into()])?;
    run.log([("predictions", table)])?;
    let digits: Vec<Image> = [0_u8, 128, 255]
        .iter()
        .map(|&v| Image::from_gray(8, 8, &[v; 64]).map(|i| i.with_caption(format!("gray {v}"))))
        .collect::<Result<_, _>>()?;
    run.log([("digits", RowValue::Images(digits))])?;
    let report = run.finish(0)?;
    if let Some(dir) = report.dir {
        println!("{}", dir.display());
    }
    Ok(())
}
