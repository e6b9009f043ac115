//! Hyperband bands: the iteration counts at which runs are compared (engine 0.3.0).

use crate::config::Hyperband;
use crate::value::Number;

/// The number of bands built from `min_iter`.
const MIN_ITER_BANDS: usize = 100;

impl Hyperband {
    /// The bands, ascending. With `max_iter` (which wins when both are set): divide by `eta`
    /// `s` times, stopping below 1, never including `max_iter` itself. Else 100 bands
    /// `min_iter · eta^k`, saturating at `u64::MAX`. Empty when neither is usable.
    ///
    /// ```
    /// use wandb_sweep::{Hyperband, Number};
    /// let hb = Hyperband { min_iter: None, max_iter: Some(81), s: Some(3), eta: Some(Number::Int(3)), strict: None };
    /// assert_eq!(hb.bands(), [3, 9, 27]);
    /// let hb = Hyperband { min_iter: Some(3), max_iter: None, s: None, eta: None, strict: None };
    /// assert_eq!(&hb.bands()[..4], [3, 9, 27, 81]);
    /// ```
    #[must_use]
    pub fn bands(&self) -> Vec<u64> {
        let eta = self.eta.unwrap_or(Number::Int(3));
        if let Some(max_iter) = self.max_iter {
            return self
                .s
                .map_or_else(Vec::new, |s| from_max_iter(max_iter, s, eta.as_f64()));
        }
        self.min_iter
            .filter(|&m| m >= 1)
            .map_or_else(Vec::new, |m| from_min_iter(m, eta))
    }
}

fn from_max_iter(max_iter: i64, s: i64, eta: f64) -> Vec<u64> {
    let mut b = max_iter as f64;
    let mut out = Vec::new();
    for _ in 0..s.clamp(0, 64) {
        b /= eta;
        if b < 1.0 || !b.is_finite() {
            break;
        }
        out.push(b as u64);
    }
    out.sort_unstable();
    out
}

fn from_min_iter(min_iter: i64, eta: Number) -> Vec<u64> {
    let mut out = Vec::with_capacity(MIN_ITER_BANDS);
    match eta {
        Number::Int(e) if e > 1 => {
            let mut b = min_iter as u64;
            for _ in 0..MIN_ITER_BANDS {
                out.push(b);
                b = b.saturating_mul(e as u64);
            }
        }
        _ => {
            let mut b = min_iter as f64;
            for _ in 0..MIN_ITER_BANDS {
                out.push(if b >= u64::MAX as f64 {
                    u64::MAX
                } else {
                    b as u64
                });
                b *= eta.as_f64();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hb(min_iter: Option<i64>, max_iter: Option<i64>, s: Option<i64>, eta: Number) -> Hyperband {
        Hyperband {
            min_iter,
            max_iter,
            s,
            eta: Some(eta),
            strict: None,
        }
    }

    #[test]
    fn max_iter_bands_match_the_engine_examples() {
        let three = Number::Int(3);
        assert_eq!(hb(None, Some(27), Some(3), three).bands(), [1, 3, 9]);
        assert_eq!(hb(None, Some(18), Some(2), three).bands(), [2, 6]);
        assert_eq!(hb(None, Some(5), Some(2), Number::Int(2)).bands(), [1, 2]);
        assert_eq!(hb(None, Some(40), Some(2), three).bands(), [4, 13]);
        assert_eq!(hb(Some(2), Some(40), Some(2), three).bands(), [4, 13]);
    }

    #[test]
    fn min_iter_bands_accumulate_float_eta_and_saturate() {
        let b = hb(Some(30), None, None, Number::Float(1.5)).bands();
        assert_eq!(&b[..4], [30, 45, 67, 101]);
        let big = hb(Some(3), None, None, Number::Int(3)).bands();
        assert_eq!(big.len(), 100);
        assert_eq!(big[99], u64::MAX);
    }
}
