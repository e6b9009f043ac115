//! Two interleaved half circles ("two moons"), a classic non-linear toy classification set.

/// A labelled point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Coordinates.
    pub xy: [f32; 2],
    /// Which moon (0 or 1).
    pub label: u32,
}

/// `n` points, alternately on each moon at random angles, with uniform jitter of amplitude
/// `noise`, from a fixed `seed` (the same points for the same arguments; any prefix is a fair
/// sample, so `points[..k]` and `points[k..]` make a training and a validation set).
///
/// ```
/// let points = wandb_candle_example::two_moons(10, 0.1, 7);
/// assert_eq!(points.len(), 10);
/// assert_eq!(points.iter().filter(|p| p.label == 1).count(), 5);
/// ```
#[must_use]
pub fn two_moons(n: usize, noise: f32, seed: u64) -> Vec<Point> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    // xorshift64*: a uniform number in [-1, 1)
    let mut jitter = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let bits = state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        (bits as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    (0..n)
        .map(|i| {
            let label = (i % 2) as u32;
            let t = std::f32::consts::FRAC_PI_2 * (jitter() + 1.0);
            let (x, y) = if label == 0 {
                (t.cos(), t.sin())
            } else {
                (1.0 - t.cos(), 0.5 - t.sin())
            };
            Point {
                xy: [x + noise * jitter(), y + noise * jitter()],
                label,
            }
        })
        .collect()
}
