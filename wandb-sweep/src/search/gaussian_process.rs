//! A Gaussian process with an isotropic Matérn ν = 3/2 kernel (unit amplitude), its length
//! scale fitted by maximum marginal likelihood, as W&B's bayes search configures
//! scikit-learn's `GaussianProcessRegressor`.

use nalgebra::{Cholesky, DMatrix, DVector, Dyn};

/// Noise added to the kernel diagonal (scikit-learn's `alpha`).
const ALPHA: f64 = 1e-7;
/// The length-scale bounds.
pub(crate) const LENGTH_BOUNDS: (f64, f64) = (1e-5, 1e5);

/// A fitted process over points in [0, 1]^d.
#[derive(Debug, Clone)]
pub(crate) struct GaussianProcess {
    x: Vec<Vec<f64>>,
    length: f64,
    chol: Cholesky<f64, Dyn>,
    weights: DVector<f64>,
}

fn matern(a: &[f64], b: &[f64], length: f64) -> f64 {
    let r: f64 = a
        .iter()
        .zip(b)
        .map(|(p, q)| (p - q) * (p - q))
        .sum::<f64>()
        .sqrt();
    let s = 3f64.sqrt() * r / length;
    (1.0 + s) * (-s).exp()
}

/// Pairwise distances, computed once per fit.
fn distances(x: &[Vec<f64>]) -> DMatrix<f64> {
    let n = x.len();
    let mut d = DMatrix::zeros(n, n);
    for i in 0..n {
        for j in 0..i {
            let r: f64 = x[i]
                .iter()
                .zip(&x[j])
                .map(|(p, q)| (p - q) * (p - q))
                .sum::<f64>()
                .sqrt();
            d[(i, j)] = r;
            d[(j, i)] = r;
        }
    }
    d
}

fn gram(dist: &DMatrix<f64>, length: f64) -> DMatrix<f64> {
    let c = 3f64.sqrt() / length;
    let mut k = dist.map(|r| {
        let s = c * r;
        (1.0 + s) * (-s).exp()
    });
    for i in 0..k.nrows() {
        k[(i, i)] += ALPHA;
    }
    k
}

/// The log marginal likelihood of `y` under length scale `length` (None if not positive definite).
fn log_likelihood(dist: &DMatrix<f64>, y: &DVector<f64>, length: f64) -> Option<f64> {
    let chol = Cholesky::new(gram(dist, length))?;
    let alpha = chol.solve(y);
    let log_det: f64 = chol.l_dirty().diagonal().iter().map(|d| d.ln()).sum();
    Some(-0.5 * y.dot(&alpha) - log_det - 0.5 * y.len() as f64 * (2.0 * std::f64::consts::PI).ln())
}

/// The maximiser of `f` on [a, b] by golden-section search (one new evaluation per step).
fn golden_max(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64, steps: usize) -> f64 {
    let phi = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - phi * (b - a), a + phi * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..steps {
        if fc >= fd {
            (b, d, fd) = (d, c, fc);
            c = b - phi * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + phi * (b - a);
            fd = f(d);
        }
    }
    (a + b) / 2.0
}

impl GaussianProcess {
    /// Fits the length scale (a log-spaced scan, then golden-section refinement) and the
    /// weights. `None` when no length scale gives a positive-definite kernel.
    pub(crate) fn fit(x: Vec<Vec<f64>>, y: &[f64]) -> Option<GaussianProcess> {
        let yv = DVector::from_column_slice(y);
        let dist = distances(&x);
        let (lo, hi) = (LENGTH_BOUNDS.0.ln(), LENGTH_BOUNDS.1.ln());
        let score = |t: f64| log_likelihood(&dist, &yv, t.exp()).unwrap_or(f64::NEG_INFINITY);
        let steps = 32u32;
        let grid: Vec<(f64, f64)> = (0..=steps)
            .map(|i| lo + (hi - lo) * f64::from(i) / f64::from(steps))
            .map(|t| (t, score(t)))
            .collect();
        let best = grid
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.1.total_cmp(&b.1.1))?
            .0;
        let (a, b) = (
            grid[best.saturating_sub(1)].0,
            grid[(best + 1).min(steps as usize)].0,
        );
        let length = golden_max(score, a, b, 24).exp();
        let chol = Cholesky::new(gram(&dist, length))?;
        let weights = chol.solve(&yv);
        Some(GaussianProcess {
            x,
            length,
            chol,
            weights,
        })
    }

    /// The fitted length scale.
    pub(crate) fn length(&self) -> f64 {
        self.length
    }

    /// The predictive mean and standard deviation at `point`.
    pub(crate) fn predict(&self, point: &[f64]) -> (f64, f64) {
        let k = DVector::from_iterator(
            self.x.len(),
            self.x.iter().map(|xi| matern(xi, point, self.length)),
        );
        let mean = k.dot(&self.weights);
        let v = self
            .chol
            .l_dirty()
            .solve_lower_triangular(&k)
            .unwrap_or_else(|| DVector::zeros(k.len()));
        let var = (1.0 - v.dot(&v)).max(0.0);
        (mean, var.sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_observations_and_is_uncertain_far_away() {
        let x: Vec<Vec<f64>> = (0..8).map(|i| vec![f64::from(i) / 8.0]).collect();
        let y: Vec<f64> = x.iter().map(|p| (6.0 * p[0]).sin()).collect();
        let gp = GaussianProcess::fit(x.clone(), &y).unwrap();
        for (p, want) in x.iter().zip(&y) {
            let (m, s) = gp.predict(p);
            assert!((m - want).abs() < 1e-3, "{m} vs {want}");
            assert!(s < 1e-2);
        }
        let (_, far) = gp.predict(&[5.0]);
        assert!(far > 0.9, "{far}");
        assert!(gp.length() > LENGTH_BOUNDS.0 && gp.length() < LENGTH_BOUNDS.1);
    }
}
