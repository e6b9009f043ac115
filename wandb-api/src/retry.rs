//! Retries: which failures are retried, and how long to wait (W&B's backoff).

use std::time::{Duration, SystemTime};

/// How many times and how patiently to retry a request.
///
/// ```
/// use std::time::Duration;
/// let quick = wandb_api::RetryPolicy { max_retries: 3, min_wait: Duration::from_millis(1), max_wait: Duration::from_millis(5), timeout: Duration::from_secs(1) };
/// assert!(quick.wait(10, None) <= Duration::from_millis(5));
/// assert_eq!(quick.wait(0, Some(Duration::from_secs(2))), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first wait.
    pub min_wait: Duration,
    /// The longest computed wait (a server's `Retry-After` may be longer).
    pub max_wait: Duration,
    /// Each attempt's time limit.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// W&B's GraphQL policy: 20 retries, 2 s to 60 s, 30 s per attempt.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 20,
            min_wait: Duration::from_secs(2),
            max_wait: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (from 0): the server's `Retry-After` when
    /// given, else `min(max_wait, min_wait · 2^attempt · (1 + 0.25·U[0,1)))`.
    #[must_use]
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after;
        }
        let factor = 2f64.powi(attempt.min(32) as i32) * (1.0 + 0.25 * rand::random::<f64>());
        self.min_wait.mul_f64(factor).min(self.max_wait)
    }
}

/// Whether an HTTP status is worth retrying (`conflict_retried` for `upsertBucket`).
pub(crate) fn retryable_status(status: u16, conflict_retried: bool) -> bool {
    match status {
        409 => conflict_retried,
        400 | 401 | 403 | 404 | 410 | 413 | 422 | 501 => false,
        _ => !(200..300).contains(&status),
    }
}

/// A `Retry-After` header: seconds, or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(secs) = value.trim().parse::<f64>() {
        return (secs >= 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(value.trim()).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_wandb_core() {
        for s in [400, 401, 403, 404, 410, 413, 422, 501] {
            assert!(!retryable_status(s, false), "{s}");
        }
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert!(retryable_status(s, false), "{s}");
        }
        assert!(!retryable_status(409, false));
        assert!(retryable_status(409, true));
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let p = RetryPolicy::default();
        let w0 = p.wait(0, None);
        assert!(w0 >= Duration::from_secs(2) && w0 <= Duration::from_millis(2500));
        let w3 = p.wait(3, None);
        assert!(w3 >= Duration::from_secs(16) && w3 <= Duration::from_secs(20));
        assert_eq!(p.wait(30, None), Duration::from_secs(60));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
