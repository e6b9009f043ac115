//! A one-hidden-layer perceptron (tanh, sigmoid output) trained by mini-batch SGD with
//! momentum on binary cross-entropy. Plain Rust, no dependencies.

use crate::moons::{Sample, SplitMix};

/// Samples per gradient step.
const BATCH: usize = 16;

/// The network: `hidden` tanh units between 2 inputs and one logit.
pub(crate) struct Mlp {
    hidden: usize,
    /// `w1` (hidden × 2), `b1` (hidden), `w2` (hidden), `b2` (1), flattened.
    weights: Vec<f64>,
    velocity: Vec<f64>,
    rng: SplitMix,
}

/// Loss and accuracy over a set of samples.
pub(crate) struct Evaluation {
    pub(crate) loss: f64,
    pub(crate) accuracy: f64,
}

impl Mlp {
    pub(crate) fn new(hidden: usize, seed: u64) -> Self {
        let mut rng = SplitMix(seed);
        let len = hidden * 4 + 1;
        let scale = 1.0 / (hidden as f64).sqrt();
        let weights = (0..len).map(|_| rng.normal() * scale).collect();
        Mlp {
            hidden,
            weights,
            velocity: vec![0.0; len],
            rng,
        }
    }

    /// Hidden activations and the logit.
    fn forward(&self, x: &[f64; 2], h: &mut [f64]) -> f64 {
        let n = self.hidden;
        let (w1, rest) = self.weights.split_at(2 * n);
        let (b1, rest) = rest.split_at(n);
        let (w2, b2) = rest.split_at(n);
        let mut logit = b2[0];
        for j in 0..n {
            h[j] = (w1[2 * j] * x[0] + w1[2 * j + 1] * x[1] + b1[j]).tanh();
            logit += w2[j] * h[j];
        }
        logit
    }

    /// Adds one sample's gradient of the loss to `grad`.
    fn backward(&self, s: &Sample, h: &mut [f64], grad: &mut [f64]) {
        let n = self.hidden;
        let d_logit = sigmoid(self.forward(&s.x, h)) - s.label;
        let w2 = &self.weights[3 * n..4 * n];
        for j in 0..n {
            let d_pre = d_logit * w2[j] * (1.0 - h[j] * h[j]);
            grad[2 * j] += d_pre * s.x[0];
            grad[2 * j + 1] += d_pre * s.x[1];
            grad[2 * n + j] += d_pre;
            grad[3 * n + j] += d_logit * h[j];
        }
        grad[4 * n] += d_logit;
    }

    /// One pass over `data` in a shuffled order.
    pub(crate) fn train_epoch(&mut self, data: &[Sample], lr: f64, momentum: f64) {
        let mut order: Vec<usize> = (0..data.len()).collect();
        for i in (1..order.len()).rev() {
            let j = (self.rng.uniform() * (i + 1) as f64) as usize;
            order.swap(i, j.min(i));
        }
        let mut h = vec![0.0; self.hidden];
        let mut grad = vec![0.0; self.weights.len()];
        for batch in order.chunks(BATCH) {
            grad.iter_mut().for_each(|g| *g = 0.0);
            for &i in batch {
                self.backward(&data[i], &mut h, &mut grad);
            }
            let scale = lr / batch.len() as f64;
            for ((w, v), g) in self.weights.iter_mut().zip(&mut self.velocity).zip(&grad) {
                *v = momentum * *v - scale * g;
                *w += *v;
            }
        }
    }

    /// Mean binary cross-entropy and accuracy.
    pub(crate) fn evaluate(&self, data: &[Sample]) -> Evaluation {
        let mut h = vec![0.0; self.hidden];
        let (mut loss, mut correct) = (0.0, 0usize);
        for s in data {
            let z = self.forward(&s.x, &mut h);
            // log(1 + e^z) - y·z, computed without overflow.
            loss += z.max(0.0) - z * s.label + (-z.abs()).exp().ln_1p();
            if (z > 0.0) == (s.label > 0.5) {
                correct += 1;
            }
        }
        let n = data.len() as f64;
        Evaluation {
            loss: loss / n,
            accuracy: correct as f64 / n,
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}
