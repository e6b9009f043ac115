//! The message of a panic, for the run that its unwinding drops: a panic hook, installed once
//! and chained in front of the hook that was there, notes each panic's message and location
//! for its own thread. (An application that installs its own hook later replaces it; the
//! run then ends as failed with a generic message.)

use std::cell::RefCell;
use std::sync::Once;

thread_local! {
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

/// Installs the hook (once per process).
pub(crate) fn install() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-text panic payload".to_owned());
            let at = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let _ = LAST.try_with(|last| *last.borrow_mut() = Some(format!("{message}{at}")));
            previous(info);
        }));
    });
}

/// The message of this thread's panic, if the hook saw it.
pub(crate) fn take() -> Option<String> {
    LAST.try_with(|last| last.borrow_mut().take())
        .ok()
        .flatten()
}
