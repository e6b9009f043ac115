//! Writing to stdout and stderr; a closed pipe (`| head`) ends output quietly.

use std::io::{self, Write};

/// Writes one line to stdout. Returns false when stdout is closed.
pub(crate) fn line(text: &str) -> bool {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}").is_ok()
}

/// Writes text (already ending in newlines) to stdout. Returns false when stdout is closed.
pub(crate) fn text(text: &str) -> bool {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes()).is_ok()
}

/// Writes one line to stderr.
pub(crate) fn error(text: &str) {
    let mut err = io::stderr().lock();
    let _ignored = writeln!(err, "{text}");
}
