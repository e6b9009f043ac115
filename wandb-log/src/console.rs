//! Console output of a run (`output.log`, the W&B UI's Logs tab): [`Run::console`] for a
//! line, a [`ConsoleWriter`] (`io::Write`) for anything that writes text.

use std::io;

use crate::error::Error;
use crate::offline_run::unix_now;
use crate::run::Run;
use crate::writer::Message;

/// Which console stream a line belongs to: stderr lines show as errors in the W&B UI
/// (`ERROR ` before the line in `output.log`).
///
/// ```
/// assert_ne!(wandb_log::ConsoleStream::Stdout, wandb_log::ConsoleStream::Stderr);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsoleStream {
    /// Standard output.
    #[default]
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line of console output on its way to the writer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConsoleLine {
    pub(crate) stderr: bool,
    /// The text, without its newline.
    pub(crate) text: String,
    /// Unix seconds.
    pub(crate) timestamp: f64,
}

impl ConsoleLine {
    pub(crate) fn new(stream: ConsoleStream, text: &str) -> Self {
        ConsoleLine {
            stderr: stream == ConsoleStream::Stderr,
            text: text.to_owned(),
            timestamp: unix_now(),
        }
    }
}

/// The lines of `text` (split at `\n`, each as a terminal shows it: see [`visible`]); empty
/// text is one empty line.
pub(crate) fn lines(stream: ConsoleStream, text: &str) -> Vec<ConsoleLine> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n')
        .map(|l| ConsoleLine::new(stream, visible(l)))
        .collect()
}

/// The longest line kept waiting for its end: a longer one goes as it is.
const MAX_PARTIAL_LINE: usize = 1024 * 1024;

/// Takes the complete lines out of `pending` (bytes written so far). What stays is the start
/// of a line, bounded: a progress bar's overwritten states (before its last `\r`) are dropped,
/// and a line longer than [`MAX_PARTIAL_LINE`] is taken as it is.
pub(crate) fn complete_lines(pending: &mut Vec<u8>) -> Option<Vec<u8>> {
    let complete = match pending.iter().rposition(|&b| b == b'\n') {
        Some(end) => {
            let rest = pending.split_off(end + 1);
            Some(std::mem::replace(pending, rest))
        }
        None => None,
    };
    // A `\r` as the last byte may be half of a `\r\n`: the one before it counts.
    let last = pending.len().saturating_sub(1);
    if let Some(r) = pending[..last].iter().rposition(|&b| b == b'\r') {
        pending.drain(..r);
    }
    if complete.is_none() && pending.len() > MAX_PARTIAL_LINE {
        return Some(std::mem::take(pending));
    }
    complete
}

/// A line as a terminal leaves it: a `\r` (a progress bar's return to the start of the line)
/// starts it over; a `\r` at its end (a Windows line end) is dropped.
pub(crate) fn visible(line: &str) -> &str {
    let line = line.strip_suffix('\r').unwrap_or(line);
    line.rsplit('\r').next().unwrap_or(line)
}

impl Run {
    /// Writes `text` to the run's console output (stdout), one line per `\n`-separated line:
    /// the `.wandb` log gets `output_raw` records (which `wandb sync` uploads), an online run
    /// sends them as `output.log` lines, and `files/output.log` gets the text.
    /// A disabled run keeps nothing.
    ///
    /// ```
    /// use wandb_log::{Mode, Run};
    /// let dir = std::env::temp_dir().join(format!("wandb-log-console-doc-{}", std::process::id()));
    /// let run = Run::builder().mode(Mode::Offline).dir(&dir).init()?;
    /// run.console("epoch 1: loss 0.5")?;
    /// let report = run.finish(0)?;
    /// let text = std::fs::read_to_string(report.dir.unwrap().join("files/output.log"))?;
    /// assert_eq!(text, "epoch 1: loss 0.5\n");
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::AlreadyFinished`].
    pub fn console(&self, text: &str) -> Result<(), Error> {
        self.console_to(ConsoleStream::Stdout, text)
    }

    /// As [`Run::console`], to the given stream (stderr lines show as errors).
    ///
    /// ```
    /// use wandb_log::{ConsoleStream, Mode, Run};
    /// let run = Run::builder().mode(Mode::Disabled).init()?;
    /// run.console_to(ConsoleStream::Stderr, "warning: learning rate is high")?;
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::AlreadyFinished`].
    pub fn console_to(&self, stream: ConsoleStream, text: &str) -> Result<(), Error> {
        self.send_console(lines(stream, text))
    }

    pub(crate) fn send_console(&self, lines: Vec<ConsoleLine>) -> Result<(), Error> {
        if lines.is_empty() {
            return Ok(());
        }
        self.send(Message::Console(lines))
    }

    /// A `Write` handle to the run's console output: complete lines go to the run as they
    /// are written, a last line without `\n` when the handle is flushed or dropped.
    ///
    /// ```
    /// use std::io::Write;
    /// use wandb_log::{ConsoleStream, Mode, Run};
    /// let dir = std::env::temp_dir().join(format!("wandb-log-writer-doc-{}", std::process::id()));
    /// let run = Run::builder().mode(Mode::Offline).dir(&dir).init()?;
    /// let mut out = run.console_writer(ConsoleStream::Stdout);
    /// writeln!(out, "step {}: loss {:.2}", 1, 0.25)?;
    /// write!(out, "no newline")?;
    /// drop(out);
    /// let report = run.finish(0)?;
    /// let text = std::fs::read_to_string(report.dir.unwrap().join("files/output.log"))?;
    /// assert_eq!(text, "step 1: loss 0.25\nno newline\n");
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn console_writer(&self, stream: ConsoleStream) -> ConsoleWriter {
        ConsoleWriter {
            run: self.clone(),
            stream,
            pending: Vec::new(),
        }
    }
}

/// A `Write` handle to a run's console output (see [`Run::console_writer`]). Bytes that are
/// not UTF-8 are replaced with `�`.
///
/// ```
/// use std::io::Write;
/// let run = wandb_log::Run::builder().mode(wandb_log::Mode::Disabled).init()?;
/// let mut err = run.console_writer(wandb_log::ConsoleStream::Stderr);
/// err.write_all(b"a line\n")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ConsoleWriter {
    run: Run,
    stream: ConsoleStream,
    /// The start of a line not yet ended.
    pending: Vec<u8>,
}

impl ConsoleWriter {
    fn send(&mut self, complete: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(complete);
        self.run
            .console_to(self.stream, &text)
            .map_err(|e| io::Error::other(e.to_string()))
    }
}

impl io::Write for ConsoleWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(complete) = complete_lines(&mut self.pending) {
            self.send(&complete)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let line = std::mem::take(&mut self.pending);
        self.send(&line)
    }
}

impl Drop for ConsoleWriter {
    fn drop(&mut self) {
        // A finished run refuses the last line; nothing else can go wrong here.
        let _refused = io::Write::flush(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_splits_into_lines_without_their_newlines() {
        let texts: Vec<String> = lines(ConsoleStream::Stdout, "a\r\nb\n\nc\n")
            .into_iter()
            .map(|l| l.text)
            .collect();
        assert_eq!(texts, ["a", "b", "", "c"]);
        let bar: Vec<String> = lines(ConsoleStream::Stdout, "10%\r50%\r100%\r\ndone\n")
            .into_iter()
            .map(|l| l.text)
            .collect();
        assert_eq!(
            bar,
            ["100%", "done"],
            "a progress bar leaves its last state"
        );
        let mut pending = b"a\nb\r 1%\r 2%".to_vec();
        assert_eq!(complete_lines(&mut pending).as_deref(), Some(&b"a\n"[..]));
        assert_eq!(pending, b"\r 2%", "only the bar's last state waits");
        let mut crlf = b"done\r".to_vec();
        assert_eq!(complete_lines(&mut crlf), None);
        crlf.extend_from_slice(b"\n");
        let line = complete_lines(&mut crlf).expect("a line");
        assert_eq!(
            lines(ConsoleStream::Stdout, &String::from_utf8_lossy(&line))[0].text,
            "done"
        );
        let mut long = vec![b'x'; MAX_PARTIAL_LINE + 1];
        assert_eq!(
            complete_lines(&mut long).map(|l| l.len()),
            Some(MAX_PARTIAL_LINE + 1)
        );
        assert!(long.is_empty());
        let one = lines(ConsoleStream::Stderr, "");
        assert_eq!((one.len(), one[0].stderr), (1, true));
    }
}
