//! Ctrl-C (or SIGTERM) during `sweep local`: the first one stops the running trials and ends
//! the sweep so that it resumes where it stopped; a second one exits at once.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// The exit code of an interrupted command (128 + SIGINT, as shells report it).
pub(crate) const INTERRUPTED_EXIT: u8 = 130;

/// A flag that turns true on the first SIGINT or SIGTERM.
pub(super) fn cancel_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    #[cfg(unix)]
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Registered first, so it sees the flag as it was before this signal.
        let again = signal_hook::flag::register_conditional_shutdown(
            signal,
            i32::from(INTERRUPTED_EXIT),
            Arc::clone(&flag),
        );
        let first = signal_hook::flag::register(signal, Arc::clone(&flag));
        if let Err(e) = again.and(first) {
            crate::output::error(&format!(
                "warning: Ctrl-C will not stop the trials cleanly ({e})"
            ));
        }
    }
    flag
}
