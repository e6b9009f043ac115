//! The two-moons dataset: two interleaved half circles with Gaussian noise, generated from a
//! seed (no download).

/// A labelled point.
pub(crate) struct Sample {
    pub(crate) x: [f64; 2],
    pub(crate) label: f64,
}

/// `n` points, half of each moon, with noise of standard deviation `noise`.
pub(crate) fn two_moons(n: usize, noise: f64, seed: u64) -> Vec<Sample> {
    let mut rng = SplitMix(seed);
    (0..n)
        .map(|i| {
            let t = std::f64::consts::PI * rng.uniform();
            let upper = i % 2 == 0;
            let (x, y) = if upper {
                (t.cos(), t.sin())
            } else {
                (1.0 - t.cos(), 0.5 - t.sin())
            };
            Sample {
                x: [x + noise * rng.normal(), y + noise * rng.normal()],
                label: if upper { 0.0 } else { 1.0 },
            }
        })
        .collect()
}

/// SplitMix64: a tiny, good-enough generator for example data and weights.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u = self.uniform().max(f64::MIN_POSITIVE);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}
