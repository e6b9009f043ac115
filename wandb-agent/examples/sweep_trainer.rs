//! A toy trainer for W&B sweeps, two ways:
//!
//! * as the sweep's program, started by an agent (`wandb-rs agent SWEEP` or the official
//!   `wandb agent SWEEP`): it attaches to its sweep run from `WANDB_RUN_ID`, `WANDB_SWEEP_ID`
//!   and `WANDB_SWEEP_PARAM_PATH` with no code for it. Sweep config:
//!   `command: [cargo, run, -q, -p, wandb-agent, --example, sweep_trainer]`;
//! * as an in-process agent: `cargo run -p wandb-agent --example sweep_trainer -- SWEEP [COUNT]`
//!   runs COUNT trials (default 5) of `[ENTITY/][PROJECT/]SWEEP` in this process.
//!
//! The parameters it reads: `lr` (default 0.1) and `epochs` (default 20); it logs `loss`.
#![expect(clippy::print_stdout, reason = "an example program prints its result")]

use wandb_agent::Agent;
use wandb_log::Run;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(sweep) = args.first() else {
        // Started by an agent: the run attaches to its sweep run from the environment.
        let run = Run::builder().init()?;
        return match train(&run) {
            Ok(()) => Ok(run.finish(0).map(|_| ())?),
            Err(e) => {
                run.fail(&e.to_string())?;
                Err(e.into())
            }
        };
    };
    let count = args.get(1).and_then(|c| c.parse().ok()).unwrap_or(5);
    let client = wandb_api::Client::from_env()?;
    let report = Agent::new(client, sweep.as_str())
        .count(count)
        .run(|run| train(&run))?;
    for t in &report.trials {
        println!("{}: {:?}", t.run_id, t.status);
    }
    println!("{}", report.outcome);
    Ok(())
}

/// Minimises (w - 3)² by gradient descent with the sweep's learning rate.
fn train(run: &Run) -> Result<(), wandb_log::Error> {
    let config: serde_json::Value = run.config()?;
    let lr = config["lr"].as_f64().unwrap_or(0.1);
    let epochs = config["epochs"].as_u64().unwrap_or(20);
    let mut w = 0.0_f64;
    for _ in 0..epochs {
        if run.should_stop() {
            break; // the sweep's early termination
        }
        w -= lr * 2.0 * (w - 3.0);
        let loss = (w - 3.0) * (w - 3.0);
        if !loss.is_finite() {
            return Err(wandb_log::Error::Configuration(format!(
                "the loss diverged with lr={lr}: try a smaller learning rate"
            )));
        }
        run.log([("loss", loss)])?;
    }
    Ok(())
}
