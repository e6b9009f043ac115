//! Capture of the process's own stdout and stderr ([`Console::Capture`]), on unix: each
//! descriptor (1 and 2) is pointed at a pipe (`dup2`, through `nix`'s safe wrappers: the
//! workspace forbids unsafe code); a thread per stream reads the pipe, writes every byte on
//! to the original descriptor (the terminal sees the program's output unchanged and in order)
//! and sends each line to the run. Nothing is dropped: a program that writes faster than the
//! terminal takes it waits, as it would without capture. `finish` points the descriptors back
//! at the originals and waits for the threads to forward the rest, for at most 2 s: child
//! processes started while capturing write into the same pipe and keep it open, so past that
//! bound the threads go on forwarding their output to the terminal (not to the run) until they
//! exit or close it. A process that exits without `finish` (or dropping the run) may lose the
//! output still in the pipe.
//!
//! The descriptors belong to the process, so one run at a time captures: a run started while
//! another captures does not (local sweeps and in-process agents run trials this way; give
//! them [`Console::Off`]). Elsewhere than unix, [`Console::Capture`] is
//! [`Error::Unsupported`]: use [`crate::Run::console`], a [`crate::ConsoleWriter`] or the
//! tracing layer.

use crate::error::Error;

/// Whether a run captures the process's own stdout and stderr.
///
/// ```
/// use wandb_log::Console;
/// assert_eq!(Console::from_env(Some("wrap"))?, Console::Capture);
/// assert_eq!(Console::from_env(Some("off"))?, Console::Off);
/// assert_eq!(Console::from_env(None)?, Console::Off);
/// # Ok::<(), wandb_log::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Console {
    /// The run gets only what is written to it ([`crate::Run::console`], the tracing layer).
    #[default]
    Off,
    /// The run also gets everything the process writes to stdout and stderr (unix only).
    Capture,
}

impl Console {
    /// `WANDB_CONSOLE` as the official client reads it: `off` is [`Console::Off`]; `auto`,
    /// `wrap`, `redirect`, `wrap_raw` and `wrap_emu` are [`Console::Capture`]. Unset is
    /// [`Console::Off`] (the official client's default is `auto`: a library captures only
    /// when asked).
    ///
    /// ```
    /// use wandb_log::Console;
    /// assert_eq!(Console::from_env(Some("redirect"))?, Console::Capture);
    /// assert!(Console::from_env(Some("loud")).is_err());
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Configuration`] for another value.
    pub fn from_env(value: Option<&str>) -> Result<Console, Error> {
        match value.map(str::trim) {
            None | Some("" | "off") => Ok(Console::Off),
            Some("auto" | "wrap" | "redirect" | "wrap_raw" | "wrap_emu") => Ok(Console::Capture),
            Some(other) => Err(Error::Configuration(format!(
                "WANDB_CONSOLE `{other}` is not a console mode: use off, auto, wrap or redirect"
            ))),
        }
    }
}

#[cfg(unix)]
pub(crate) use unix::Capture;

#[cfg(unix)]
mod unix {
    use std::fs::File;
    use std::io::{self, Read, Write};
    use std::os::fd::{AsFd, OwnedFd};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    use tokio::sync::mpsc::UnboundedSender;

    use crate::console::{ConsoleLine, ConsoleStream};
    use crate::error::Error;
    use crate::offline_run::unix_now;
    use crate::writer::Message;

    /// Set while a run captures (the descriptors are the process's).
    static CAPTURING: AtomicBool = AtomicBool::new(false);

    /// How long `finish` waits for the captured output still in the pipes to be forwarded.
    const DRAIN_WAIT: Duration = Duration::from_secs(2);

    /// One redirected descriptor.
    #[derive(Debug)]
    struct Redirect {
        stream: ConsoleStream,
        /// The original descriptor.
        saved: OwnedFd,
        forward: Option<JoinHandle<()>>,
    }

    /// The capture of stdout and stderr; dropping it restores them.
    #[derive(Debug)]
    pub(crate) struct Capture {
        redirects: Vec<Redirect>,
    }

    impl Capture {
        /// Starts capturing into the writer behind `tx`; `None` when another run captures or
        /// the descriptors cannot be captured (a closed stdout or stderr).
        pub(crate) fn start(tx: &UnboundedSender<Message>) -> Result<Option<Capture>, Error> {
            if CAPTURING.swap(true, Ordering::AcqRel) {
                tracing::warn!(
                    "another run captures the console already: this run does not (use Console::Off where runs share a process)"
                );
                return Ok(None);
            }
            let mut capture = Capture {
                redirects: Vec::new(),
            };
            for stream in [ConsoleStream::Stdout, ConsoleStream::Stderr] {
                match redirect(stream, tx) {
                    Ok(r) => capture.redirects.push(r),
                    Err(e) => {
                        // A closed stdout or stderr, no descriptors or threads left: the run
                        // goes on without capture (dropping `capture` restores the rest).
                        tracing::warn!(error = %e, "cannot capture stdout and stderr; the run goes on without capturing them");
                        return Ok(None);
                    }
                }
            }
            Ok(Some(capture))
        }

        /// Restores the descriptors and waits until the captured output is forwarded.
        pub(crate) fn stop(self) {
            drop(self);
        }
    }

    impl Drop for Capture {
        fn drop(&mut self) {
            let _ = io::stdout().flush();
            let _ = io::stderr().flush();
            for r in &self.redirects {
                // Closes the pipe's write end: the forwarding thread reads to its end.
                let _ = point(r.stream, &r.saved);
            }
            // The forwarding threads end when every writer of their pipe is closed: a child
            // process that inherited stdout or stderr keeps it open, so they are waited for
            // at most `DRAIN_WAIT`, then left to forward to the terminal on their own.
            let deadline = Instant::now() + DRAIN_WAIT;
            for r in &mut self.redirects {
                let Some(t) = r.forward.take() else { continue };
                while !t.is_finished() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
                if t.is_finished() {
                    let _ = t.join();
                }
            }
            CAPTURING.store(false, Ordering::Release);
        }
    }

    /// Points `stream`'s descriptor at `fd`.
    fn point(stream: ConsoleStream, fd: impl AsFd) -> io::Result<()> {
        match stream {
            ConsoleStream::Stdout => nix::unistd::dup2_stdout(fd),
            ConsoleStream::Stderr => nix::unistd::dup2_stderr(fd),
        }
        .map_err(io::Error::from)
    }

    fn redirect(stream: ConsoleStream, tx: &UnboundedSender<Message>) -> Result<Redirect, Error> {
        let saved = match stream {
            ConsoleStream::Stdout => io::stdout().as_fd().try_clone_to_owned()?,
            ConsoleStream::Stderr => io::stderr().as_fd().try_clone_to_owned()?,
        };
        let terminal = File::from(saved.try_clone()?);
        let (reader, writer) = io::pipe()?;
        match stream {
            ConsoleStream::Stdout => io::stdout().flush()?,
            ConsoleStream::Stderr => io::stderr().flush()?,
        }
        point(stream, &writer)?;
        drop(writer);
        let tx = tx.clone();
        let forward = std::thread::Builder::new()
            .name("wandb-console".into())
            .spawn(move || forward(reader, terminal, stream, &tx));
        let forward = match forward {
            Ok(t) => t,
            Err(e) => {
                let _ = point(stream, &saved);
                return Err(e.into());
            }
        };
        Ok(Redirect {
            stream,
            saved,
            forward: Some(forward),
        })
    }

    /// Copies the pipe to the terminal and its lines to the run, to the pipe's end.
    fn forward(
        mut pipe: io::PipeReader,
        mut terminal: File,
        stream: ConsoleStream,
        tx: &UnboundedSender<Message>,
    ) {
        let mut buf = vec![0; 64 * 1024];
        let mut pending: Vec<u8> = Vec::new();
        let mut terminal_ok = true;
        loop {
            let n = match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            // A closed terminal does not stop the capture into the run.
            terminal_ok = terminal_ok && terminal.write_all(&buf[..n]).is_ok();
            pending.extend_from_slice(&buf[..n]);
            if let Some(complete) = crate::console::complete_lines(&mut pending) {
                send(tx, stream, &complete);
            }
        }
        if !pending.is_empty() {
            send(tx, stream, &pending);
        }
    }

    fn send(tx: &UnboundedSender<Message>, stream: ConsoleStream, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let timestamp = unix_now();
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let lines = text
            .split('\n')
            .map(|l| ConsoleLine {
                stderr: stream == ConsoleStream::Stderr,
                text: crate::console::visible(l).to_owned(),
                timestamp,
            })
            .collect();
        // After the writer is gone there is no run to keep them in.
        let _gone = tx.send(Message::Console(lines));
    }
}

#[cfg(not(unix))]
pub(crate) use other::Capture;

#[cfg(not(unix))]
mod other {
    use tokio::sync::mpsc::UnboundedSender;

    use crate::error::Error;
    use crate::writer::Message;

    /// No capture here.
    #[derive(Debug)]
    pub(crate) struct Capture;

    impl Capture {
        pub(crate) fn start(_tx: &UnboundedSender<Message>) -> Result<Option<Capture>, Error> {
            Err(Error::Unsupported(
                "capturing stdout and stderr (Console::Capture, WANDB_CONSOLE) works on unix only: use Console::Off with Run::console, a ConsoleWriter or the tracing layer",
            ))
        }

        pub(crate) fn stop(self) {}
    }
}
