//! [`Histogram`]: counts over bin edges, computed as `np.histogram` does.

use indexmap::IndexMap;
use wandb_sweep::Value;

use crate::error::Error;

/// The bins of a histogram made from values, unless set (the official client's default).
///
/// ```
/// let h = wandb_log::Histogram::from_values(&[1.0, 2.0])?;
/// assert_eq!(h.counts().len(), wandb_log::media::DEFAULT_BINS);
/// # Ok::<(), wandb_log::Error>(())
/// ```
pub const DEFAULT_BINS: usize = 64;
/// The most bins W&B accepts (the official client's `Histogram.MAX_LENGTH`).
///
/// ```
/// use wandb_log::{Histogram, media::MAX_BINS};
/// assert!(Histogram::with_bins(&[1.0], MAX_BINS).is_ok());
/// assert!(Histogram::with_bins(&[1.0], MAX_BINS + 1).is_err());
/// ```
pub const MAX_BINS: usize = 512;

/// A histogram to log: the history value `{"_type": "histogram", "values": [counts…],
/// "bins": [edges…]}` (one more edge than counts), as the official client writes it. No
/// file is written. Made from values, its edges and counts are those of
/// `np.histogram(values, bins=num_bins)` for float64 input: `num_bins` equal bins from the
/// smallest to the largest value (±0.5 around a single value; 0 to 1 when there are no
/// values). NaN and infinite values are skipped and counted ([`Histogram::skipped`]).
///
/// ```
/// use wandb_log::{Histogram, Mode, Run};
/// let weights = [0.1, 0.2, 0.2, 0.9, f64::NAN];
/// let h = Histogram::with_bins(&weights, 4)?;
/// assert_eq!(h.counts(), [3, 0, 0, 1]);
/// assert_eq!(h.bins(), [0.1, 0.30000000000000004, 0.5, 0.7000000000000001, 0.9]);
/// assert_eq!(h.skipped(), 1);
///
/// let run = Run::builder().mode(Mode::Disabled).init()?;
/// run.log([("weights", Histogram::from_values(&[1.0_f32, 2.0, 3.0])?)])?;
/// # Ok::<(), wandb_log::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    counts: Vec<u64>,
    bins: Vec<f64>,
    skipped: u64,
}

impl Histogram {
    /// A histogram of `values` in [`DEFAULT_BINS`] (64) bins.
    ///
    /// ```
    /// let h = wandb_log::Histogram::from_values(&[1, 2, 3, 4])?;
    /// assert_eq!((h.counts().len(), h.bins().len()), (64, 65));
    /// assert_eq!(h.counts().iter().sum::<u64>(), 4);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Histogram::with_bins`].
    pub fn from_values<T: Copy + Into<f64>>(values: &[T]) -> Result<Self, Error> {
        Self::with_bins(values, DEFAULT_BINS)
    }

    /// A histogram of `values` in `num_bins` equal bins (1 to [`MAX_BINS`]).
    ///
    /// ```
    /// let h = wandb_log::Histogram::with_bins(&[5.0, 5.0], 2)?;
    /// assert_eq!((h.counts(), h.bins()), (&[0, 2][..], &[4.5, 5.0, 5.5][..]));
    /// assert!(wandb_log::Histogram::with_bins(&[1.0], 0).is_err());
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Media`] for `num_bins` of 0 or above [`MAX_BINS`], values that span more
    /// than an `f64` holds (e.g. `-1e308` and `1e308`), or a span too narrow for distinct
    /// edges (where `np.histogram` raises too).
    pub fn with_bins<T: Copy + Into<f64>>(values: &[T], num_bins: usize) -> Result<Self, Error> {
        check_bins(num_bins)?;
        let mut skipped = 0;
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &v in values {
            let x: f64 = v.into();
            if x.is_finite() {
                lo = lo.min(x);
                hi = hi.max(x);
            } else {
                skipped += 1;
            }
        }
        let (first, last) = match (lo, hi) {
            _ if lo > hi => (0.0, 1.0),
            _ if lo == hi => (lo - 0.5, hi + 0.5),
            _ => (lo, hi),
        };
        let span = last - first;
        if !span.is_finite() {
            return Err(Error::Media(format!(
                "histogram values from {first} to {last} span more than a float holds: scale them down before logging"
            )));
        }
        let bins = linspace(first, last, num_bins);
        if bins.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::Media(format!(
                "{num_bins} bins between {first} and {last} are too narrow to tell apart (np.histogram refuses too): use fewer bins"
            )));
        }
        let mut counts = vec![0; num_bins];
        #[expect(clippy::cast_precision_loss, reason = "num_bins is at most 512")]
        let n = num_bins as f64;
        for &v in values {
            let x: f64 = v.into();
            if !x.is_finite() {
                continue;
            }
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "x is within [first, last]: the index is within 0..=num_bins"
            )]
            let mut i = ((x - first) / span * n) as usize;
            i = i.min(num_bins - 1);
            // np.histogram's correction of rounding in the division, against the edges.
            if i > 0 && x < bins[i] {
                i -= 1;
            }
            if i + 1 < num_bins && x >= bins[i + 1] {
                i += 1;
            }
            counts[i] += 1;
        }
        Ok(Histogram {
            counts,
            bins,
            skipped,
        })
    }

    /// A histogram from explicit bin edges and counts (`np.histogram`'s result): one more
    /// edge than counts, edges finite and not decreasing, at most [`MAX_BINS`] counts.
    ///
    /// ```
    /// let h = wandb_log::Histogram::from_counts(vec![0.0, 1.0, 2.0], vec![3, 4])?;
    /// assert_eq!(h.counts(), [3, 4]);
    /// assert!(wandb_log::Histogram::from_counts(vec![0.0, 1.0], vec![3, 4]).is_err());
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Media`] when the lengths do not fit, there are no or too many bins, or an
    /// edge is not finite or below the one before.
    pub fn from_counts(bins: Vec<f64>, counts: Vec<u64>) -> Result<Self, Error> {
        check_bins(counts.len())?;
        if bins.len() != counts.len() + 1 {
            return Err(Error::Media(format!(
                "a histogram of {} counts needs {} bin edges, not {}: give one edge more than counts",
                counts.len(),
                counts.len() + 1,
                bins.len()
            )));
        }
        if let Some(i) = bins.iter().position(|b| !b.is_finite()) {
            return Err(Error::Media(format!(
                "histogram bin edge {i} is {}: give finite edges",
                bins[i]
            )));
        }
        if let Some(i) = bins.windows(2).position(|w| w[0] > w[1]) {
            return Err(Error::Media(format!(
                "histogram bin edges {i} and {} decrease ({} then {}): sort them",
                i + 1,
                bins[i],
                bins[i + 1]
            )));
        }
        Ok(Histogram {
            counts,
            bins,
            skipped: 0,
        })
    }

    /// The count of each bin.
    ///
    /// ```
    /// let h = wandb_log::Histogram::with_bins(&[0.0, 1.0], 2)?;
    /// assert_eq!(h.counts(), [1, 1]);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The bin edges (one more than counts).
    ///
    /// ```
    /// let h = wandb_log::Histogram::with_bins(&[0.0, 1.0], 2)?;
    /// assert_eq!(h.bins(), [0.0, 0.5, 1.0]);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn bins(&self) -> &[f64] {
        &self.bins
    }

    /// How many input values were NaN or infinite, and left out.
    ///
    /// ```
    /// let h = wandb_log::Histogram::from_values(&[f64::INFINITY, f64::NAN, 1.0])?;
    /// assert_eq!(h.skipped(), 2);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

impl From<Histogram> for Value {
    /// `{"_type": "histogram", "values": counts, "bins": edges}`.
    fn from(h: Histogram) -> Value {
        let mut m = IndexMap::with_capacity(3);
        m.insert("_type".to_owned(), Value::from("histogram"));
        m.insert("values".to_owned(), Value::from(h.counts));
        m.insert("bins".to_owned(), Value::from(h.bins));
        Value::Map(m)
    }
}

fn check_bins(n: usize) -> Result<(), Error> {
    if n == 0 || n > MAX_BINS {
        return Err(Error::Media(format!(
            "a histogram of {n} bins: give 1 to {MAX_BINS} bins (W&B shows no more)"
        )));
    }
    Ok(())
}

/// `np.linspace(first, last, n + 1)`: `i * step + first`, the last edge exactly `last`.
fn linspace(first: f64, last: f64, n: usize) -> Vec<f64> {
    #[expect(clippy::cast_precision_loss, reason = "n is at most 512")]
    let div = n as f64;
    let delta = last - first;
    let step = delta / div;
    let mut edges: Vec<f64> = (0..=n)
        .map(|i| {
            #[expect(clippy::cast_precision_loss, reason = "i is at most 512")]
            let i = i as f64;
            // numpy's handling of a step that underflows to 0.
            let offset = if step == 0.0 {
                i / div * delta
            } else {
                i * step
            };
            offset + first
        })
        .collect();
    edges[n] = last;
    edges
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_values_are_counted_or_refused_never_a_panic(
            values in proptest::collection::vec(
                prop_oneof![any::<f64>(), -1e3..1e3_f64, Just(f64::NAN), Just(f64::INFINITY)],
                0..300,
            ),
            bins in 1..=MAX_BINS,
        ) {
            match Histogram::with_bins(&values, bins) {
                Ok(h) => {
                    let finite = values.iter().filter(|x| x.is_finite()).count() as u64;
                    prop_assert_eq!(h.counts().iter().sum::<u64>(), finite);
                    prop_assert_eq!(h.skipped(), values.len() as u64 - finite);
                    prop_assert_eq!(h.bins().len(), bins + 1);
                    prop_assert!(h.bins().windows(2).all(|w| w[0] < w[1]));
                    for &x in values.iter().filter(|x| x.is_finite()) {
                        prop_assert!(h.bins()[0] <= x && x <= h.bins()[bins]);
                    }
                }
                Err(e) => prop_assert!(matches!(e, Error::Media(_)), "{e}"),
            }
        }
    }

    #[test]
    fn hostile_values_are_counted_or_refused_never_a_panic() {
        let empty = Histogram::from_values::<f64>(&[]).expect("empty");
        assert_eq!((empty.bins()[0], empty.bins()[64]), (0.0, 1.0));
        assert_eq!(empty.counts().iter().sum::<u64>(), 0);
        let all_bad = Histogram::from_values(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY])
            .expect("all skipped");
        assert_eq!((all_bad.skipped(), all_bad.bins()[64]), (3, 1.0));
        let same = Histogram::with_bins(&[7.0; 10], 3).expect("all equal");
        assert_eq!(
            same.bins(),
            [6.5, 6.833333333333333, 7.166666666666667, 7.5]
        );
        assert_eq!(same.counts(), [0, 10, 0]);
        assert!(matches!(
            Histogram::from_values(&[-1e308, 1e308]),
            Err(Error::Media(_))
        ));
        let huge = Histogram::from_values(&[f64::MAX, f64::MAX / 2.0]).expect("finite span");
        assert_eq!(huge.counts().iter().sum::<u64>(), 2);
        assert!(
            Histogram::with_bins(&[0.0, 5e-324], 4).is_err(),
            "edges not distinct"
        );
        let tiny = Histogram::with_bins(&[0.0, 5e-324], 1).expect("one bin");
        assert_eq!(tiny.counts(), [2]);
        assert!(Histogram::with_bins(&[1.0], MAX_BINS + 1).is_err());
        assert!(Histogram::with_bins(&[1.0], MAX_BINS).is_ok());
    }

    #[test]
    fn explicit_counts_are_checked() {
        assert!(Histogram::from_counts(vec![0.0, f64::NAN], vec![1]).is_err());
        assert!(Histogram::from_counts(vec![1.0, 0.5], vec![1]).is_err());
        assert!(Histogram::from_counts(vec![0.0], vec![]).is_err());
        let h = Histogram::from_counts(vec![0.0, 0.5, 1.0], vec![2, 0]).expect("valid");
        assert_eq!(
            Value::from(h).to_json(),
            serde_json::json!({"_type": "histogram", "values": [2, 0], "bins": [0.0, 0.5, 1.0]})
        );
    }
}
