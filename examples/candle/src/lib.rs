//! A candle trainer for W&B sweeps: [`train`] fits a small MLP (candle, CPU) on
//! [`two_moons`] and logs each epoch to a [`wandb_log::Run`]; the binary runs it as trials of
//! a local sweep (`cargo run -p wandb-candle-example`).

mod moons;
mod trainer;

pub use moons::{Point, two_moons};
pub use trainer::{Data, Params, TrainError, train};
