//! Retries: which failures are retried, and how long to wait (W&B's backoff).

use std::time::{Duration, SystemTime};

/// How many times and how patiently to retry a request.
///
/// ```
/// use std::time::Duration;
/// let quick = wandb_api::RetryPolicy { max_retries: 3, min_wait: Duration::from_millis(1), max_wait: Duration::from_secs(5), timeout: Duration::from_secs(1) };
/// assert!(quick.wait(10, None) <= Duration::from_secs(5));
/// // The server's Retry-After wins over the backoff, up to `max_wait`.
/// assert_eq!(quick.wait(0, Some(Duration::from_secs(2))), Duration::from_secs(2));
/// assert_eq!(quick.wait(0, Some(Duration::MAX)), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first wait.
    pub min_wait: Duration,
    /// The longest wait between attempts, a server's `Retry-After` included.
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
    /// given, else `min_wait · 2^attempt · (1 + 0.25·U[0,1))`; never more than `max_wait`
    /// (wandb-core would wait out any `Retry-After`; a far-off one here waits `max_wait`
    /// and tries again).
    #[must_use]
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let wait = retry_after.unwrap_or_else(|| {
            let factor = 2f64.powi(attempt.min(32) as i32) * (1.0 + 0.25 * rand::random::<f64>());
            seconds(self.min_wait.as_secs_f64() * factor)
        });
        wait.min(self.max_wait)
    }
}

/// Non-negative seconds as a `Duration`, saturating at `Duration::MAX` (never a panic).
fn seconds(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or(if secs > 0.0 {
        Duration::MAX
    } else {
        Duration::ZERO
    })
}

/// How an attempt failed: what decides whether it is sent again. One classification for
/// every request (GraphQL, the file stream, signed-URL uploads), after wandb-core's
/// "retry most failures".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The request never reached the server (no connection could be made).
    NotSent,
    /// The server turned the request away without acting on it (429).
    Throttled,
    /// The server may or may not have acted on it: a timeout, a lost connection, 408, a
    /// 5xx other than 501, any other unexpected status.
    Unknown,
    /// HTTP 409: retried only where W&B retries it (`upsertBucket`).
    Conflict,
    /// Trying again cannot help: 400, 401, 403, 404, 410, 413, 422, 501, a TLS certificate
    /// error, a bad URL, a redirect loop.
    Permanent,
}

/// Whether an operation may be sent again after a failure that leaves open whether W&B
/// acted on it. Each operation states its own, so that a lost reply never makes a
/// duplicate.
///
/// ```
/// use wandb_api::RetrySafety;
/// let create = RetrySafety::Creates { check: "the sweep's agents in the W&B app" };
/// assert_ne!(create, RetrySafety::Idempotent);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetrySafety {
    /// Sending it twice has the effect of sending it once (reads, updates by id,
    /// heartbeats, the file stream's positioned writes, uploads): retried after connection
    /// errors, timeouts, 408, 429 and 5xx (but 501).
    Idempotent,
    /// As [`RetrySafety::Idempotent`], and HTTP 409 is retried too (W&B does so for
    /// `upsertBucket` of a named run).
    IdempotentRetryConflict,
    /// Each send may create something new (`createAgent`, `upsertSweep` without an id, a run
    /// without a name): retried only when W&B surely did not act on it (no connection could
    /// be made, or HTTP 429); any other failure that would be retried is returned as
    /// [`crate::Error::NotRetried`], naming `check`.
    Creates {
        /// Where the user can see whether it was created anyway, e.g. "the sweep's agents
        /// in the W&B app".
        check: &'static str,
    },
}

impl RetrySafety {
    /// Whether a request that failed this way is sent again.
    pub(crate) fn allows(self, failure: Failure) -> bool {
        match (self, failure) {
            (_, Failure::Permanent) => false,
            (RetrySafety::Creates { .. }, f) => matches!(f, Failure::NotSent | Failure::Throttled),
            (RetrySafety::IdempotentRetryConflict, Failure::Conflict) => true,
            (_, Failure::Conflict) => false,
            (_, Failure::NotSent | Failure::Throttled | Failure::Unknown) => true,
        }
    }
}

/// The failure an HTTP status (not 2xx) stands for.
pub(crate) fn status_failure(status: u16) -> Failure {
    match status {
        409 => Failure::Conflict,
        429 => Failure::Throttled,
        400 | 401 | 403 | 404 | 410 | 413 | 422 | 501 => Failure::Permanent,
        _ => Failure::Unknown,
    }
}

/// The failure a transport error stands for.
pub(crate) fn transport_failure(e: &reqwest::Error) -> Failure {
    if e.is_builder() || e.is_redirect() || certificate_error(e) {
        Failure::Permanent
    } else if e.is_connect() {
        Failure::NotSent
    } else {
        Failure::Unknown
    }
}

/// True when a TLS certificate was refused somewhere in the error's chain. An `io::Error`
/// hides the error it wraps from `source` (and TLS errors come wrapped twice), so it is
/// looked into.
fn certificate_error(err: &(dyn std::error::Error + 'static)) -> bool {
    if let Some(rustls::Error::InvalidCertificate(_)) = err.downcast_ref::<rustls::Error>() {
        return true;
    }
    let wrapped = err
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref);
    if wrapped.is_some_and(|inner| certificate_error(inner)) {
        return true;
    }
    err.source().is_some_and(certificate_error)
}

/// A `Retry-After` header: seconds, or an HTTP date. Values beyond what a `Duration` holds
/// (`1e300`, infinity) saturate, and [`RetryPolicy::wait`] caps them; a negative or
/// unreadable value is `None` (the backoff applies); a date in the past is zero.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs >= 0.0).then(|| seconds(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_wandb_core() {
        let retried = |s: u16, conflict: bool| {
            let safety = if conflict {
                RetrySafety::IdempotentRetryConflict
            } else {
                RetrySafety::Idempotent
            };
            safety.allows(status_failure(s))
        };
        for s in [400, 401, 403, 404, 410, 413, 422, 501] {
            assert!(!retried(s, true), "{s}");
        }
        for s in [408, 429, 500, 502, 503, 504, 599, 0, 600, 418] {
            assert!(retried(s, false), "{s}");
        }
        assert!(!retried(409, false));
        assert!(retried(409, true));
        assert_eq!(status_failure(429), Failure::Throttled);
        assert_eq!(status_failure(503), Failure::Unknown);
    }

    #[test]
    fn creating_requests_are_retried_only_when_nothing_was_done() {
        let create = RetrySafety::Creates { check: "x" };
        assert!(create.allows(Failure::NotSent));
        assert!(create.allows(Failure::Throttled));
        for f in [Failure::Unknown, Failure::Conflict, Failure::Permanent] {
            assert!(!create.allows(f), "{f:?}");
        }
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
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("NaN"), None);
        assert_eq!(parse_retry_after("1e300"), Some(Duration::MAX));
        assert_eq!(parse_retry_after("inf"), Some(Duration::MAX));
        let far = parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT").expect("a date");
        assert!(far > Duration::from_secs(3_600 * 24 * 365 * 7_000));
        assert_eq!(
            RetryPolicy::default().wait(0, Some(far)),
            Duration::from_secs(60)
        );
    }

    mod prop {
        use proptest::prelude::*;

        use super::*;

        fn policy(max_ms: u64) -> RetryPolicy {
            RetryPolicy {
                max_wait: Duration::from_millis(max_ms),
                ..RetryPolicy::default()
            }
        }

        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];

        proptest! {
            #[test]
            fn any_text_parses_without_panic_and_waits_at_most_the_maximum(
                value in "\\PC{0,40}", attempt in any::<u32>(), max_ms in 0u64..10_000_000,
            ) {
                let p = policy(max_ms);
                prop_assert!(p.wait(attempt, parse_retry_after(&value)) <= p.max_wait);
            }

            #[test]
            fn any_number_of_seconds_is_read_and_capped(
                secs in any::<f64>(), attempt in any::<u32>(), max_ms in 0u64..10_000_000,
            ) {
                let p = policy(max_ms);
                for text in [secs.to_string(), format!("{secs:e}"), format!(" {secs} ")] {
                    let parsed = parse_retry_after(&text);
                    prop_assert_eq!(parsed.is_some(), secs >= 0.0, "{}", text);
                    prop_assert!(p.wait(attempt, parsed) <= p.max_wait);
                }
            }

            #[test]
            fn whole_seconds_are_exact(secs in any::<u32>()) {
                let parsed = parse_retry_after(&secs.to_string());
                prop_assert_eq!(parsed, Some(Duration::from_secs(u64::from(secs))));
            }

            #[test]
            fn any_date_shape_parses_without_panic_and_waits_at_most_the_maximum(
                day in 0usize..7, date in 0u32..100, month in 0usize..12, year in 0u32..100_000,
                h in 0u32..100, m in 0u32..100, s in 0u32..100, max_ms in 0u64..10_000_000,
            ) {
                let text = format!("{}, {date:02} {} {year} {h:02}:{m:02}:{s:02} GMT", DAYS[day], MONTHS[month]);
                let p = policy(max_ms);
                prop_assert!(p.wait(0, parse_retry_after(&text)) <= p.max_wait);
            }

            #[test]
            fn any_policy_backs_off_without_panic_within_its_maximum(
                min in any::<u64>(), max in any::<u64>(), nanos in 0u32..1_000_000_000,
                attempt in any::<u32>(),
            ) {
                let p = RetryPolicy {
                    min_wait: Duration::new(min, nanos),
                    max_wait: Duration::new(max, nanos),
                    ..RetryPolicy::default()
                };
                prop_assert!(p.wait(attempt, None) <= p.max_wait);
            }
        }
    }
}
