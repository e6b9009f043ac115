//! Ctrl-C and SIGTERM for the agent: trials run in their own process groups, so the terminal's
//! signals do not reach them; the agent catches its own and stops them (first signal:
//! SIGTERM to every trial, second: SIGKILL).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::output;

/// Signals received since the last look.
#[derive(Debug)]
pub(crate) struct Interrupts {
    flag: Arc<AtomicBool>,
}

impl Interrupts {
    /// Catches SIGINT and SIGTERM (on other platforms: nothing is caught).
    pub(crate) fn install() -> Self {
        let flag = Arc::new(AtomicBool::new(false));
        register(&flag);
        Interrupts { flag }
    }

    /// Whether a signal arrived since the last call.
    pub(crate) fn take(&self) -> bool {
        self.flag.swap(false, Ordering::SeqCst)
    }
}

#[cfg(unix)]
fn register(flag: &Arc<AtomicBool>) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for signal in [SIGINT, SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(flag)) {
            output::error(&format!(
                "wandb-rs agent: cannot catch signal {signal}: {e}; an interrupt will leave trials running"
            ));
        }
    }
}

#[cfg(not(unix))]
fn register(_flag: &Arc<AtomicBool>) {}
