//! Ctrl-C and SIGTERM for commands that run trials. Trials run in their own process groups, so
//! the terminal's signals do not reach them; the command catches its own and stops them: the
//! first signal sends SIGTERM to every trial's group (SIGKILL follows after the kill delay),
//! a second one sends SIGKILL to every group at once. The command then exits with 130 once
//! its children have ended; it never exits with children alive.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::output;

/// The exit code of an interrupted command (128 + SIGINT, as shells report it).
pub(crate) const INTERRUPTED_EXIT: u8 = 130;

/// What the signals so far ask of the running trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// No signal: run on.
    Run,
    /// One signal: stop (SIGTERM, then SIGKILL after the kill delay); start no new trials.
    Stop,
    /// Two or more: SIGKILL now.
    Kill,
}

/// The signals a command received; shared by its threads.
#[derive(Debug)]
pub(crate) struct Interrupts {
    /// Set by the signal handler, cleared when counted.
    raw: Arc<AtomicBool>,
    /// Set by the signal handler, never cleared: "interrupted at least once".
    sticky: Arc<AtomicBool>,
    count: AtomicU8,
    /// The command's name, in the messages.
    command: &'static str,
}

impl Interrupts {
    /// Catches SIGINT and SIGTERM for `command` (on other platforms: nothing is caught).
    pub(crate) fn install(command: &'static str) -> Self {
        let interrupts = Self::new(command);
        register(&interrupts);
        interrupts
    }

    fn new(command: &'static str) -> Self {
        Interrupts {
            raw: Arc::new(AtomicBool::new(false)),
            sticky: Arc::new(AtomicBool::new(false)),
            count: AtomicU8::new(0),
            command,
        }
    }

    /// The level a signal since the last look raised it to (and says so on stderr), or
    /// `None` when no signal arrived.
    pub(crate) fn take(&self) -> Option<Level> {
        if !self.raw.swap(false, Ordering::SeqCst) {
            return None;
        }
        let previous = self
            .count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
                Some(c.saturating_add(1))
            });
        let count = previous.map_or(u8::MAX, |c| c.saturating_add(1));
        let level = level_of(count);
        let what = match level {
            Level::Kill => "interrupted again: killing the running trials (SIGKILL)",
            _ => "interrupted: stopping the running trials (SIGTERM); interrupt again to kill them",
        };
        output::error(&format!("wandb-rs {}: {what}", self.command));
        Some(level)
    }

    /// The level now (counting any new signal).
    pub(crate) fn level(&self) -> Level {
        self.take();
        level_of(self.count.load(Ordering::SeqCst))
    }

    /// A flag that turns true on the first signal and stays true (for `LocalSweep::cancel_flag`).
    pub(crate) fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.sticky)
    }

    /// Whether any signal arrived.
    pub(crate) fn interrupted(&self) -> bool {
        self.sticky.load(Ordering::SeqCst)
    }
}

fn level_of(count: u8) -> Level {
    match count {
        0 => Level::Run,
        1 => Level::Stop,
        _ => Level::Kill,
    }
}

#[cfg(unix)]
fn register(interrupts: &Interrupts) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for signal in [SIGINT, SIGTERM] {
        let registered = signal_hook::flag::register(signal, Arc::clone(&interrupts.raw))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&interrupts.sticky)));
        if let Err(e) = registered {
            output::error(&format!(
                "wandb-rs {}: cannot catch signal {signal}: {e}; an interrupt will leave trials running",
                interrupts.command
            ));
        }
    }
}

#[cfg(not(unix))]
fn register(_interrupts: &Interrupts) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_signal_stops_and_later_ones_kill() {
        let i = Interrupts::new("test");
        assert_eq!(
            (i.take(), i.level(), i.interrupted()),
            (None, Level::Run, false)
        );
        i.raw.store(true, Ordering::SeqCst);
        i.sticky.store(true, Ordering::SeqCst);
        assert_eq!(i.take(), Some(Level::Stop));
        assert_eq!((i.take(), i.level()), (None, Level::Stop));
        assert!(i.cancel_flag().load(Ordering::SeqCst));
        for _ in 0..300 {
            i.raw.store(true, Ordering::SeqCst);
            assert_eq!(i.level(), Level::Kill);
        }
    }
}
