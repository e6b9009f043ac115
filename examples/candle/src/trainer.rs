//! The candle trainer: an MLP classifier, full-batch AdamW, one W&B history row per epoch.

use candle_core::{D, DType, Device, Tensor};
use candle_nn::{AdamW, Linear, Module, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use serde::{Deserialize, Serialize};
use wandb_log::Run;

use crate::moons::Point;

/// One trial's hyperparameters (the run's config; a sweep fills `lr` and `hidden`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// AdamW's learning rate.
    pub lr: f64,
    /// Width of the hidden layer.
    pub hidden: usize,
    /// Epochs (full passes over the training points).
    #[serde(default = "default_epochs")]
    pub epochs: usize,
}

fn default_epochs() -> usize {
    60
}

/// Why training failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A tensor operation failed (shapes, dtypes).
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// Logging to the run failed.
    #[error("logging: {0}")]
    Log(#[from] wandb_log::Error),
    /// The loss is no longer a number: the learning rate is too high.
    #[error("the loss diverged at epoch {epoch}; try a smaller learning rate than {lr}")]
    Diverged {
        /// The epoch.
        epoch: usize,
        /// The learning rate.
        lr: f64,
    },
    /// The parameters cannot be trained (e.g. no hidden units, no data).
    #[error("cannot train: {0}")]
    Invalid(String),
}

/// The training and validation points as tensors on the CPU.
#[derive(Debug, Clone)]
pub struct Data {
    train: (Tensor, Tensor),
    valid: (Tensor, Tensor),
}

impl Data {
    /// Puts the points on the CPU: inputs `[n, 2]` f32, labels `[n]` u32.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] for an empty set.
    pub fn new(train: &[Point], valid: &[Point]) -> Result<Self, TrainError> {
        Ok(Data {
            train: tensors(train)?,
            valid: tensors(valid)?,
        })
    }
}

fn tensors(points: &[Point]) -> Result<(Tensor, Tensor), TrainError> {
    if points.is_empty() {
        return Err(TrainError::Invalid("no points".into()));
    }
    let xs: Vec<f32> = points.iter().flat_map(|p| p.xy).collect();
    let ys: Vec<u32> = points.iter().map(|p| p.label).collect();
    Ok((
        Tensor::from_vec(xs, (points.len(), 2), &Device::Cpu)?,
        Tensor::from_vec(ys, points.len(), &Device::Cpu)?,
    ))
}

/// `2 -> hidden -> hidden -> 2`, ReLU.
struct Mlp {
    layers: [Linear; 3],
}

impl Mlp {
    fn new(hidden: usize, vb: &VarBuilder<'_>) -> candle_core::Result<Self> {
        Ok(Mlp {
            layers: [
                candle_nn::linear(2, hidden, vb.pp("in"))?,
                candle_nn::linear(hidden, hidden, vb.pp("hidden"))?,
                candle_nn::linear(hidden, 2, vb.pp("out"))?,
            ],
        })
    }
}

impl Module for Mlp {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let [a, b, c] = &self.layers;
        c.forward(&b.forward(&a.forward(xs)?.relu()?)?.relu()?)
    }
}

/// Loss and accuracy of `model` on `(xs, ys)`.
fn evaluate(model: &Mlp, (xs, ys): &(Tensor, Tensor)) -> Result<(f64, f64), TrainError> {
    let logits = model.forward(xs)?;
    let loss = candle_nn::loss::cross_entropy(&logits, ys)?.to_scalar::<f32>()?;
    let accuracy = logits
        .argmax(D::Minus1)?
        .eq(ys)?
        .to_dtype(DType::F32)?
        .mean_all()?
        .to_scalar::<f32>()?;
    Ok((f64::from(loss), f64::from(accuracy)))
}

/// Trains an MLP with `params` on `data`, logging `train/loss`, `val/loss` and
/// `val/accuracy` once per epoch (with `epoch`); stops early when the run is asked to
/// ([`Run::should_stop`], e.g. by hyperband). Returns the last validation loss.
///
/// ```
/// use wandb_candle_example::{Data, Params, train, two_moons};
/// let points = two_moons(64, 0.1, 1);
/// let data = Data::new(&points[..48], &points[48..])?;
/// let run = wandb_log::Run::builder().mode(wandb_log::Mode::Disabled).init()?;
/// let loss = train(&run, &Params { lr: 0.05, hidden: 8, epochs: 5 }, &data)?;
/// assert!(loss.is_finite());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`TrainError`]: a diverged loss, bad parameters, tensor or logging errors.
pub fn train(run: &Run, params: &Params, data: &Data) -> Result<f64, TrainError> {
    if params.hidden == 0 || params.lr.is_nan() || params.lr <= 0.0 {
        return Err(TrainError::Invalid(format!(
            "hidden must be > 0 and lr > 0 (got hidden {}, lr {})",
            params.hidden, params.lr
        )));
    }
    let vars = VarMap::new();
    let vb = VarBuilder::from_varmap(&vars, DType::F32, &Device::Cpu);
    let model = Mlp::new(params.hidden, &vb)?;
    let mut optimizer = AdamW::new(
        vars.all_vars(),
        ParamsAdamW {
            lr: params.lr,
            ..ParamsAdamW::default()
        },
    )?;
    let (xs, ys) = &data.train;
    let mut val_loss = f64::NAN;
    for epoch in 1..=params.epochs {
        if run.should_stop() {
            break;
        }
        let loss = candle_nn::loss::cross_entropy(&model.forward(xs)?, ys)?;
        optimizer.backward_step(&loss)?;
        let train_loss = f64::from(loss.to_scalar::<f32>()?);
        let (loss, accuracy) = evaluate(&model, &data.valid)?;
        if !loss.is_finite() {
            return Err(TrainError::Diverged {
                epoch,
                lr: params.lr,
            });
        }
        val_loss = loss;
        run.log([
            ("epoch", epoch as f64),
            ("train/loss", train_loss),
            ("val/loss", loss),
            ("val/accuracy", accuracy),
        ])?;
    }
    Ok(val_loss)
}
