//! A tiny burn trainer logged to W&B offline: an MLP learns `y = sin(x)` with burn's learner
//! (`SupervisedTraining`) on the CPU; [`wandb_burn::WandbMetricLogger`] logs `train/loss`,
//! `valid/loss` and their epoch values to an offline run that `wandb sync` uploads.
//!
//! ```sh
//! cargo run -p wandb-burn --example burn_train            # 8 epochs
//! cargo run -p wandb-burn --example burn_train -- 3       # 3 epochs
//! ```
#![expect(clippy::print_stdout, reason = "an example prints where its run went")]

use std::error::Error;
use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::InMemDataset;
use burn::lr_scheduler::constant::ConstantLr;
use burn::module::Module;
use burn::nn::loss::{MseLoss, Reduction};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use burn::train::metric::LossMetric;
use burn::train::{
    InferenceStep, Learner, RegressionOutput, SupervisedTraining, TrainOutput, TrainStep,
};
use wandb_burn::WandbMetricLogger;
use wandb_log::{Mode, Run};

/// Hyperparameters (the run's config).
#[derive(Debug, serde::Serialize)]
struct Params {
    lr: f64,
    hidden: usize,
    batch_size: usize,
    epochs: usize,
}

/// A one-hidden-layer perceptron.
#[derive(Module, Debug)]
struct Mlp {
    hidden: Linear,
    out: Linear,
    act: Relu,
}

impl Mlp {
    fn new(hidden: usize, device: &Device) -> Self {
        Mlp {
            hidden: LinearConfig::new(1, hidden).init(device),
            out: LinearConfig::new(hidden, 1).init(device),
            act: Relu::new(),
        }
    }

    fn regression(&self, batch: Points) -> RegressionOutput {
        let output = self
            .out
            .forward(self.act.forward(self.hidden.forward(batch.x)));
        let loss = MseLoss::new().forward(output.clone(), batch.y.clone(), Reduction::Mean);
        RegressionOutput::new(loss, output, batch.y)
    }
}

impl TrainStep for Mlp {
    type Input = Points;
    type Output = RegressionOutput;

    fn step(&self, batch: Points) -> TrainOutput<RegressionOutput> {
        let item = self.regression(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for Mlp {
    type Input = Points;
    type Output = RegressionOutput;

    fn step(&self, batch: Points) -> RegressionOutput {
        self.regression(batch)
    }
}

/// A batch of `(x, sin x)` points, as `[n, 1]` tensors.
#[derive(Clone, Debug)]
struct Points {
    x: Tensor<2>,
    y: Tensor<2>,
}

#[derive(Clone, Debug)]
struct PointBatcher;

impl Batcher<(f32, f32), Points> for PointBatcher {
    fn batch(&self, items: Vec<(f32, f32)>, device: &Device) -> Points {
        let n = items.len();
        let (xs, ys): (Vec<f32>, Vec<f32>) = items.into_iter().unzip();
        Points {
            x: Tensor::from_floats(TensorData::new(xs, [n, 1]), device),
            y: Tensor::from_floats(TensorData::new(ys, [n, 1]), device),
        }
    }
}

/// `n` points of `sin` on `[-3, 3]`, evenly spaced with an offset (no randomness needed).
fn sine(n: usize, offset: f32) -> Vec<(f32, f32)> {
    (0..n)
        .map(|i| {
            let x = -3.0 + 6.0 * (i as f32 + offset) / n as f32;
            (x, x.sin())
        })
        .collect()
}

fn loader(points: Vec<(f32, f32)>, batch_size: usize) -> Arc<dyn DataLoader<Points>> {
    DataLoaderBuilder::new(PointBatcher)
        .batch_size(batch_size)
        .shuffle(42)
        .build(InMemDataset::new(points))
}

fn main() -> Result<(), Box<dyn Error>> {
    let epochs = match std::env::args().nth(1) {
        Some(n) => n.parse().map_err(|e| format!("epochs `{n}`: {e}"))?,
        None => 8,
    };
    let params = Params {
        lr: 1e-2,
        hidden: 32,
        batch_size: 32,
        epochs,
    };
    // Offline: nothing leaves the machine; WANDB_DIR (default: ./wandb) holds the run.
    let run = Run::builder()
        .project("wandb-burn-example")
        .mode(Mode::Offline)
        .config(&params)
        .init()?;

    let device = Device::flex().autodiff();
    let optim: ModuleOptimizer = AdamConfig::new().init();
    let learner = Learner::new(
        Mlp::new(params.hidden, &device),
        optim,
        ConstantLr::new(params.lr),
    );
    let checkpoints = std::env::temp_dir().join(format!("wandb-burn-example-{}", run.id()));
    let result = SupervisedTraining::new(
        &checkpoints,
        loader(sine(512, 0.0), params.batch_size),
        loader(sine(128, 0.5), params.batch_size),
    )
    .metric_train_numeric(LossMetric::new())
    .metric_valid_numeric(LossMetric::new())
    .with_metric_logger(WandbMetricLogger::new(run.clone()))
    .with_application_logger(None)
    .num_epochs(params.epochs)
    .launch(learner);
    std::fs::remove_dir_all(&checkpoints).ok();

    let report = match result.error {
        Some(e) => run.fail(&format!("training failed: {e}"))?,
        None => run.finish(0)?,
    };
    println!(
        "{} rows; final summary valid/loss_epoch = {}",
        report.rows_written, report.summary["valid/loss_epoch"]
    );
    if let Some(dir) = report.dir {
        println!("run directory: {}", dir.display());
        println!("upload it with: wandb sync {}", dir.display());
    }
    Ok(())
}
