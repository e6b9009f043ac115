//! When an agent gives up on a sweep whose trials keep failing, as the official agent does.

use std::fmt;
use std::time::{Duration, Instant};

/// Failures within this long after the agent starts count as flapping.
pub const FLAPPING_WINDOW: Duration = Duration::from_secs(60);

/// This many failures within [`FLAPPING_WINDOW`] stop the agent (unless flapping is off).
pub const FLAPPING_FAILURES: u32 = 3;

/// The official default of `WANDB_AGENT_MAX_INITIAL_FAILURES`.
pub const DEFAULT_MAX_INITIAL_FAILURES: u32 = 5;

/// When to stop after failed trials. The official agent's rules: stop when at least
/// `max_initial_failures` trials failed and no more succeeded than failed ("failing"), or
/// when [`FLAPPING_FAILURES`] failed within the first minute ("flapping"); plus, optionally,
/// after a number of failures in a row.
///
/// ```
/// use wandb_agent::agent::{FailurePolicy, FailureTracker};
/// let policy = FailurePolicy { max_consecutive_failures: Some(2), flapping: false, ..FailurePolicy::default() };
/// let mut tracker = FailureTracker::new(policy);
/// assert_eq!(tracker.record(false), None);
/// assert_eq!(tracker.record(true), None);
/// assert_eq!(tracker.record(false), None);
/// assert!(tracker.record(false).is_some()); // two in a row
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailurePolicy {
    /// Stop after this many failed trials in a row (`None`: no limit).
    pub max_consecutive_failures: Option<u32>,
    /// Stop once this many trials failed while failures are at least the successes
    /// (`WANDB_AGENT_MAX_INITIAL_FAILURES`, default 5).
    pub max_initial_failures: u32,
    /// Stop after [`FLAPPING_FAILURES`] failures within [`FLAPPING_WINDOW`] of the start
    /// (`WANDB_AGENT_DISABLE_FLAPPING=true` turns it off).
    pub flapping: bool,
}

impl Default for FailurePolicy {
    fn default() -> Self {
        FailurePolicy {
            max_consecutive_failures: None,
            max_initial_failures: DEFAULT_MAX_INITIAL_FAILURES,
            flapping: true,
        }
    }
}

impl FailurePolicy {
    /// The defaults, adjusted by `WANDB_AGENT_MAX_INITIAL_FAILURES` and
    /// `WANDB_AGENT_DISABLE_FLAPPING` as `env` gives them.
    ///
    /// ```
    /// use wandb_agent::agent::FailurePolicy;
    /// let p = FailurePolicy::from_env(|k| match k {
    ///     "WANDB_AGENT_MAX_INITIAL_FAILURES" => Some("2".into()),
    ///     "WANDB_AGENT_DISABLE_FLAPPING" => Some("true".into()),
    ///     _ => None,
    /// });
    /// assert_eq!((p.max_initial_failures, p.flapping), (2, false));
    /// ```
    #[must_use]
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Self {
        let mut policy = FailurePolicy::default();
        if let Some(n) = env("WANDB_AGENT_MAX_INITIAL_FAILURES").and_then(|v| v.trim().parse().ok())
        {
            policy.max_initial_failures = n;
        }
        if let Some(v) = env("WANDB_AGENT_DISABLE_FLAPPING") {
            let v = v.trim().to_ascii_lowercase();
            policy.flapping = !matches!(v.as_str(), "true" | "1" | "yes");
        }
        policy
    }
}

/// Why an agent stopped because of failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureStop {
    /// `n` trials failed in a row.
    Consecutive(u32),
    /// `failed` trials failed and only `succeeded` succeeded.
    Failing {
        /// Failed trials.
        failed: u32,
        /// Successful trials.
        succeeded: u32,
    },
    /// `failed` trials failed within the first minute.
    Flapping {
        /// Failed trials.
        failed: u32,
    },
}

impl fmt::Display for FailureStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureStop::Consecutive(n) => write!(f, "{n} trials failed in a row"),
            FailureStop::Failing { failed, succeeded } => write!(
                f,
                "{failed} trials failed and {succeeded} succeeded (raise WANDB_AGENT_MAX_INITIAL_FAILURES to keep going)"
            ),
            FailureStop::Flapping { failed } => write!(
                f,
                "{failed} trials failed within the first minute (set WANDB_AGENT_DISABLE_FLAPPING=true to keep going)"
            ),
        }
    }
}

/// Counts trial results against a [`FailurePolicy`].
#[derive(Debug, Clone)]
pub struct FailureTracker {
    policy: FailurePolicy,
    started: Instant,
    succeeded: u32,
    failed: u32,
    consecutive: u32,
}

impl FailureTracker {
    /// A tracker whose flapping window starts now.
    #[must_use]
    pub fn new(policy: FailurePolicy) -> Self {
        FailureTracker {
            policy,
            started: Instant::now(),
            succeeded: 0,
            failed: 0,
            consecutive: 0,
        }
    }

    /// Records one trial; returns why to stop, if the policy says so.
    pub fn record(&mut self, succeeded: bool) -> Option<FailureStop> {
        if succeeded {
            self.succeeded += 1;
            self.consecutive = 0;
            return None;
        }
        self.failed += 1;
        self.consecutive += 1;
        let p = self.policy;
        if p.max_consecutive_failures
            .is_some_and(|n| self.consecutive >= n)
        {
            return Some(FailureStop::Consecutive(self.consecutive));
        }
        if p.flapping
            && self.failed >= FLAPPING_FAILURES
            && self.started.elapsed() < FLAPPING_WINDOW
        {
            return Some(FailureStop::Flapping {
                failed: self.failed,
            });
        }
        if self.failed >= p.max_initial_failures && self.failed >= self.succeeded {
            return Some(FailureStop::Failing {
                failed: self.failed,
                succeeded: self.succeeded,
            });
        }
        None
    }

    /// Trials that succeeded so far.
    #[must_use]
    pub fn succeeded(&self) -> u32 {
        self.succeeded
    }

    /// Trials that failed so far.
    #[must_use]
    pub fn failed(&self) -> u32 {
        self.failed
    }
}
