//! A metric's history in one run as `(x, y)` points, and down-sampling that keeps every
//! bucket's minimum and maximum (so no spike or dip disappears) and every gap (a NaN or
//! infinite value, drawn as a break in the line).

/// A point; `y` NaN marks a gap.
pub(crate) type Point = [f64; 2];

/// Buckets a run's history is reduced to when it is read (the chart reduces again to its
/// width): bounds memory whatever the history's length.
pub(crate) const READ_BUCKETS: usize = 2048;

/// A metric's points in one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Series {
    /// The x axis: `_step` or the metric's step metric.
    pub(crate) x_label: String,
    /// The points in logged order, down-sampled; `y` NaN is a gap.
    pub(crate) points: Vec<Point>,
    /// Values that were NaN or infinite.
    pub(crate) non_finite: usize,
    /// The smallest and largest finite x.
    pub(crate) x_range: Option<(f64, f64)>,
    /// The smallest and largest finite y.
    pub(crate) y_range: Option<(f64, f64)>,
    /// The smallest positive y.
    pub(crate) y_min_positive: Option<f64>,
    /// The last finite y logged.
    pub(crate) last: Option<f64>,
}

impl Series {
    /// A series from logged points (non-finite `y` are gaps; points with a non-finite `x`
    /// cannot be placed and are dropped), reduced to at most about `4 × buckets` points.
    pub(crate) fn new(x_label: &str, points: &[Point], buckets: usize) -> Series {
        let mut series = Series {
            x_label: x_label.to_owned(),
            ..Series::default()
        };
        for &[x, y] in points {
            if !y.is_finite() {
                series.non_finite += 1;
            }
            if !x.is_finite() {
                continue;
            }
            series.x_range = Some(widen(series.x_range, x));
            if y.is_finite() {
                series.last = Some(y);
                series.y_range = Some(widen(series.y_range, y));
                if y > 0.0 {
                    series.y_min_positive = Some(series.y_min_positive.map_or(y, |m| m.min(y)));
                }
            }
        }
        if let Some((lo, hi)) = series.x_range {
            series.points = downsample(points, lo, hi, buckets);
        }
        series
    }
}

fn widen(range: Option<(f64, f64)>, v: f64) -> (f64, f64) {
    range.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v)))
}

/// The smallest and largest finite point of a run of points between gaps, with the order
/// in which they were logged.
#[derive(Debug, Clone, Copy)]
struct Piece {
    min: (usize, Point),
    max: (usize, Point),
}

impl Piece {
    fn of(i: usize, p: Point) -> Piece {
        Piece {
            min: (i, p),
            max: (i, p),
        }
    }

    fn add(&mut self, i: usize, p: Point) {
        if p[1] < self.min.1[1] {
            self.min = (i, p);
        }
        if p[1] > self.max.1[1] {
            self.max = (i, p);
        }
    }

    fn merge(self, other: Piece) -> Piece {
        let mut merged = self;
        merged.add(other.min.0, other.min.1);
        merged.add(other.max.0, other.max.1);
        merged
    }
}

/// Reduces points to their minimum and maximum per bucket of x (`buckets` buckets over
/// `lo..=hi`), in logged order. A gap stays a gap: inside one bucket, the first piece before
/// a gap, the pieces between gaps (merged into one) and the piece after the last gap are
/// kept apart. Points with a non-finite x are dropped.
pub(crate) fn downsample(points: &[Point], lo: f64, hi: f64, buckets: usize) -> Vec<Point> {
    let mut out = Downsampler {
        out: Vec::with_capacity(points.len().min(buckets * 4)),
        ..Downsampler::default()
    };
    let width = (hi - lo) / buckets.max(1) as f64;
    let last_bucket = buckets.saturating_sub(1);
    for (i, &p) in points.iter().enumerate() {
        if !p[0].is_finite() {
            continue;
        }
        let bucket = if width > 0.0 {
            (((p[0] - lo) / width).floor().max(0.0) as usize).min(last_bucket)
        } else {
            0
        };
        if out.bucket != Some(bucket) {
            out.end_bucket();
            out.bucket = Some(bucket);
        }
        if p[1].is_finite() {
            match out.current.as_mut() {
                Some(piece) => piece.add(i, p),
                None => out.current = Some(Piece::of(i, p)),
            }
        } else {
            out.gap(p[0]);
        }
    }
    out.end_bucket();
    out.out
}

#[derive(Debug, Default)]
struct Downsampler {
    out: Vec<Point>,
    bucket: Option<usize>,
    current: Option<Piece>,
    /// Whether this bucket has had a gap.
    gapped: bool,
    /// The pieces between this bucket's first and latest gap, merged.
    middle: Option<Piece>,
}

impl Downsampler {
    fn gap(&mut self, x: f64) {
        let piece = self.current.take();
        if self.gapped {
            self.middle = match (self.middle, piece) {
                (Some(m), Some(p)) => Some(m.merge(p)),
                (m, p) => m.or(p),
            };
        } else {
            self.emit(piece);
            self.push_gap(x);
            self.gapped = true;
        }
    }

    fn end_bucket(&mut self) {
        if let Some(middle) = self.middle.take() {
            let x = middle.max.1[0].max(middle.min.1[0]);
            self.emit(Some(middle));
            self.push_gap(x);
        }
        let piece = self.current.take();
        self.emit(piece);
        self.gapped = false;
    }

    fn emit(&mut self, piece: Option<Piece>) {
        let Some(Piece { min, max }) = piece else {
            return;
        };
        let (a, b) = if min.0 <= max.0 {
            (min, max)
        } else {
            (max, min)
        };
        self.out.push(a.1);
        if b.0 != a.0 {
            self.out.push(b.1);
        }
    }

    fn push_gap(&mut self, x: f64) {
        if self.out.last().is_some_and(|p| p[1].is_finite()) {
            self.out.push([x, f64::NAN]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finite(points: &[Point]) -> Vec<f64> {
        points
            .iter()
            .map(|p| p[1])
            .filter(|y| y.is_finite())
            .collect()
    }

    #[test]
    fn long_histories_keep_their_extremes_and_gaps() {
        let mut points: Vec<Point> = (0..100_000)
            .map(|i| [i as f64, (i as f64 * 0.01).sin()])
            .collect();
        points[31_337][1] = 40.0;
        points[77_000][1] = -9.0;
        points[50_000][1] = f64::NAN;
        points[50_001][1] = f64::INFINITY;
        let series = Series::new("_step", &points, 500);
        assert!(series.points.len() <= 2000, "{}", series.points.len());
        let ys = finite(&series.points);
        assert!(ys.contains(&40.0) && ys.contains(&-9.0));
        assert_eq!(series.y_range, Some((-9.0, 40.0)));
        assert_eq!(series.non_finite, 2);
        let gaps: Vec<f64> = series
            .points
            .iter()
            .filter(|p| p[1].is_nan())
            .map(|p| p[0])
            .collect();
        assert_eq!(gaps, [50_000.0]);
        assert_eq!(series.last, Some(points[99_999][1]));
    }

    #[test]
    fn short_histories_are_kept_whole_and_in_order() {
        let points = [[0.0, 3.0], [1.0, 2.0], [2.0, f64::NAN], [3.0, 1.0]];
        let series = Series::new("_step", &points, 2048);
        assert_eq!(series.points.len(), 4);
        assert_eq!(series.points[0], [0.0, 3.0]);
        assert!(series.points[2][1].is_nan());
        assert_eq!(series.points[3], [3.0, 1.0]);
    }

    #[test]
    fn many_gaps_in_one_bucket_collapse_to_two() {
        let points: Vec<Point> = (0..9)
            .map(|i| {
                [
                    f64::from(i),
                    if i % 2 == 1 { f64::NAN } else { f64::from(i) },
                ]
            })
            .collect();
        let reduced = downsample(&points, 0.0, 8.0, 1);
        let gaps = reduced.iter().filter(|p| p[1].is_nan()).count();
        assert_eq!(gaps, 2, "{reduced:?}");
        assert_eq!(finite(&reduced), [0.0, 2.0, 6.0, 8.0]);
    }

    #[test]
    fn points_without_a_placeable_x_are_dropped() {
        let series = Series::new("epoch", &[[f64::NAN, 1.0], [1.0, 2.0]], 10);
        assert_eq!(series.points, [[1.0, 2.0]]);
        assert_eq!(series.non_finite, 0);
    }
}
