//! A run with console output and saved files: `tracing` events through the run's console
//! layer, `Run::console` lines, the process's own stdout and stderr captured (unix), and a
//! file saved with each policy. Mode and server come from `WANDB_*` (e.g. `WANDB_MODE=offline`,
//! then `wandb sync ROOT/wandb/offline-run-*`).
//!
//! `cargo run -p wandb-log --example console_and_files -- ROOT RUN_ID`
#![expect(clippy::print_stdout, reason = "an example program prints its result")]
#![expect(clippy::print_stderr, reason = "its output is what the run captures")]

use tracing_subscriber::layer::SubscriberExt;
use wandb_log::{Console, Run, SavePolicy};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = std::path::PathBuf::from(args.first().map_or(".", String::as_str));
    let run_id = args.get(1).cloned().unwrap_or_else(|| "rsconsl1".into());
    std::fs::create_dir_all(&root)?;
    let console = if cfg!(unix) {
        Console::Capture
    } else {
        Console::Off
    };
    let run = Run::builder()
        .project("console-e2e")
        .id(run_id)
        .dir(&root)
        .console(console)
        .init()?;
    let subscriber = tracing_subscriber::registry().with(run.console_layer());
    tracing::subscriber::set_global_default(subscriber)?;
    let notes = root.join("notes.txt");
    std::fs::write(&notes, "saved now")?;
    run.save(&notes, SavePolicy::Now)?;
    let progress = root.join("progress.txt");
    std::fs::write(&progress, "epoch 0")?;
    run.save(&progress, SavePolicy::Live)?;
    let model = root.join("model.bin");
    std::fs::write(&model, [0u8, 1, 2, 3])?;
    run.save_as(&model, "checkpoints/model.bin", SavePolicy::End)?;
    for epoch in 1..=3 {
        let loss = 1.0 / f64::from(epoch);
        run.log([("loss", loss)])?;
        tracing::info!(target: "trainer", epoch, loss, "epoch done");
        println!("stdout: epoch {epoch}");
        eprintln!("stderr: epoch {epoch}");
        std::fs::write(&progress, format!("epoch {epoch}"))?;
    }
    run.console("a line from Run::console")?;
    let report = run.finish(0)?;
    println!(
        "run {} in {}: files uploaded {:?}, file errors {:?}, upload error {:?}",
        run.id(),
        report
            .dir
            .as_deref()
            .map_or_else(String::new, |d| d.display().to_string()),
        report.files_uploaded,
        report.file_errors,
        report.upload_error
    );
    Ok(())
}
