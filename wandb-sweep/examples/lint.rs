//! Lints sweep files given on the command line (or a built-in example) and prints the findings.
//!
//! `cargo run -p wandb-sweep --example lint -- sweep.yaml`
#![expect(clippy::print_stdout, reason = "an example program prints its result")]

fn main() -> std::io::Result<()> {
    let files: Vec<String> = std::env::args().skip(1).collect();
    for file in &files {
        let text = std::fs::read_to_string(file)?;
        let report = wandb_sweep::check(&text);
        for d in report.diagnostics() {
            print!("{}", d.render(file, &text));
        }
        println!(
            "{file}: valid={} grid_size={:?}",
            report.is_valid(),
            report.grid_size()
        );
    }
    Ok(())
}
