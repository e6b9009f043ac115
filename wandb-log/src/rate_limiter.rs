//! The file stream's adaptive client-side limiter, as W&B's client has it: the server's
//! `RateLimit-Remaining` / `RateLimit-Reset` hints give a target rate (remaining / reset,
//! smoothed with an exponential moving average of weight 0.2, clamped to [0.1, 65536]
//! requests/s), spent from a token bucket with a burst of 10. Without a hint nothing is
//! limited.

use std::time::{Duration, Instant};

use wandb_api::RateLimit;

/// Weight of a new hint in the moving average.
const SMOOTHING: f64 = 0.2;
/// Requests that may go at once after a quiet spell.
const BURST: f64 = 10.0;

/// The limiter's state.
#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    /// Requests per second, once the server gave a hint.
    rate: Option<f64>,
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub(crate) fn new(now: Instant) -> Self {
        RateLimiter {
            rate: None,
            tokens: BURST,
            at: now,
        }
    }

    /// Takes in a response's hint.
    pub(crate) fn observe(&mut self, hint: RateLimit, now: Instant) {
        self.refill(now);
        let rate = hint.rate();
        self.rate = Some(match self.rate {
            Some(old) => old + SMOOTHING * (rate - old),
            None => rate,
        });
    }

    /// How long until a request may go (zero: now).
    pub(crate) fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        match self.rate {
            Some(rate) if self.tokens < 1.0 => {
                Duration::try_from_secs_f64((1.0 - self.tokens) / rate).unwrap_or(Duration::MAX)
            }
            _ => Duration::ZERO,
        }
    }

    /// Spends a token on a request sent now.
    pub(crate) fn spend(&mut self, now: Instant) {
        self.refill(now);
        if self.rate.is_some() {
            self.tokens = (self.tokens - 1.0).max(0.0);
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = self.at.max(now);
        if let Some(rate) = self.rate {
            self.tokens = (self.tokens + elapsed * rate).min(BURST);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(remaining: f64, reset_secs: u64) -> RateLimit {
        RateLimit {
            remaining,
            reset: Duration::from_secs(reset_secs),
        }
    }

    #[test]
    fn without_a_hint_nothing_waits() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(t0);
        for _ in 0..1_000 {
            assert_eq!(limiter.wait(t0), Duration::ZERO);
            limiter.spend(t0);
        }
    }

    #[test]
    fn a_hint_allows_a_burst_of_ten_then_its_rate() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(t0);
        limiter.observe(hint(2.0, 1), t0); // 2 requests/s
        for _ in 0..10 {
            assert_eq!(limiter.wait(t0), Duration::ZERO);
            limiter.spend(t0);
        }
        assert_eq!(limiter.wait(t0), Duration::from_millis(500));
        let later = t0 + Duration::from_millis(500);
        assert_eq!(limiter.wait(later), Duration::ZERO);
    }

    #[test]
    fn hints_are_smoothed_and_clamped() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(t0);
        limiter.observe(hint(0.0, 10), t0);
        assert_eq!(limiter.rate, Some(0.1), "never below 0.1 requests/s");
        limiter.observe(hint(1e9, 1), t0);
        let rate = limiter.rate.expect("rate");
        assert!(
            (rate - (0.1 + 0.2 * (65_536.0 - 0.1))).abs() < 1e-9,
            "{rate}"
        );
    }
}
