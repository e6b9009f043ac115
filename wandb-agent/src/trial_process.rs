//! A trial's child process: started with an argv, an environment and a working directory in
//! its own process group, stdin closed, stdout/stderr read line by line (each line handed to an
//! optional callback, the last lines kept as the output tail), stopped with SIGTERM and, after a
//! grace period, SIGKILL. It knows nothing about W&B: the sweep agent and the local controller
//! both build on it.
//!
//! ```
//! # #[cfg(unix)] {
//! use std::time::Duration;
//! use wandb_agent::{TrialCommand, TrialProcess};
//! let mut trial = TrialProcess::spawn(
//!     &TrialCommand::new(["sh", "-c", "echo \"lr=$LR\"; echo diverged; exit 3"]).env("LR", "0.1"),
//! )?;
//! let exit = trial.wait()?;
//! assert_eq!(exit.code(), Some(3));
//! assert!(!exit.success());
//! assert_eq!(trial.output_tail().text(), "lr=0.1\ndiverged");
//! # }
//! # Ok::<(), wandb_agent::Error>(())
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::Error;

/// Lines kept in the output tail unless [`TrialCommand::tail_lines`] says otherwise.
pub const DEFAULT_TAIL_LINES: usize = 50;

/// The longest line handed on; longer lines are cut into pieces of this many bytes.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// How often a waiting call looks at the child.
const POLL: Duration = Duration::from_millis(20);

/// How long a finished child's output readers may still take while a process of its group
/// is alive (a grandchild may hold the pipes open for good).
const READER_GRACE: Duration = Duration::from_secs(2);

/// How long they may take once the whole group is gone (the output still in the pipes is
/// read to its end; the bound only guards against a grandchild that left the group).
const READER_LIMIT: Duration = Duration::from_secs(60);

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Called with every output line of the child (without its line ending), from a reader thread.
pub type LineCallback = Arc<dyn Fn(Stream, &str) + Send + Sync>;

/// What to start: argv, environment changes, working directory, output handling.
///
/// ```
/// use wandb_agent::TrialCommand;
/// let cmd = TrialCommand::new(["python", "train.py", "--lr=0.1"])
///     .env("WANDB_RUN_ID", "abc123")
///     .env_remove("WANDB_SERVICE")
///     .current_dir("/tmp")
///     .tail_lines(20);
/// assert_eq!(cmd.program(), "python");
/// ```
#[derive(Clone)]
pub struct TrialCommand {
    argv: Vec<String>,
    env: Vec<(String, String)>,
    env_remove: Vec<String>,
    dir: Option<PathBuf>,
    tail_lines: usize,
    on_line: Option<LineCallback>,
}

impl fmt::Debug for TrialCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Environment values may hold secrets (an API key): only their names are shown.
        let env: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("TrialCommand")
            .field("argv", &self.argv)
            .field("env", &env)
            .field("env_remove", &self.env_remove)
            .field("dir", &self.dir)
            .field("tail_lines", &self.tail_lines)
            .field("on_line", &self.on_line.is_some())
            .finish()
    }
}

impl TrialCommand {
    /// A command from its argv (program first); the child inherits this process's environment.
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Self {
        TrialCommand {
            argv: argv.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            env_remove: Vec::new(),
            dir: None,
            tail_lines: DEFAULT_TAIL_LINES,
            on_line: None,
        }
    }

    /// Sets an environment variable of the child.
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Sets several environment variables of the child.
    #[must_use]
    pub fn envs<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Removes an inherited environment variable from the child's environment.
    #[must_use]
    pub fn env_remove(mut self, key: impl Into<String>) -> Self {
        self.env_remove.push(key.into());
        self
    }

    /// The child's working directory (default: this process's).
    #[must_use]
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// How many of the last output lines (stdout and stderr together) to keep.
    #[must_use]
    pub fn tail_lines(mut self, lines: usize) -> Self {
        self.tail_lines = lines;
        self
    }

    /// Hands every output line to `callback` (from a reader thread, as it arrives).
    #[must_use]
    pub fn on_line(mut self, callback: impl Fn(Stream, &str) + Send + Sync + 'static) -> Self {
        self.on_line = Some(Arc::new(callback));
        self
    }

    /// The program (argv\[0\]), or `""` for an empty argv.
    #[must_use]
    pub fn program(&self) -> &str {
        self.argv.first().map_or("", String::as_str)
    }

    /// The full argv.
    #[must_use]
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// The environment variables set for the child (on top of the inherited ones).
    #[must_use]
    pub fn env_vars(&self) -> &[(String, String)] {
        &self.env
    }

    fn command(&self) -> Result<Command, Error> {
        let Some((program, args)) = self.argv.split_first() else {
            return Err(Error::TrialProcess {
                action: "start",
                program: String::new(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"),
            });
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for key in &self.env_remove {
            cmd.env_remove(key);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        own_process_group(&mut cmd);
        Ok(cmd)
    }
}

/// One line of a child's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// Where it came from.
    pub stream: Stream,
    /// The text, without its line ending (invalid UTF-8 replaced).
    pub text: String,
}

/// The last lines of a child's output, stdout and stderr interleaved in the order the
/// reader threads got them (each stream's own order is kept; across streams it is only
/// approximately the order of writing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputTail {
    /// The lines, oldest first.
    pub lines: Vec<OutputLine>,
}

impl OutputTail {
    /// The lines joined with `\n`.
    #[must_use]
    pub fn text(&self) -> String {
        let texts: Vec<&str> = self.lines.iter().map(|l| l.text.as_str()).collect();
        texts.join("\n")
    }
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrialExit {
    status: ExitStatus,
}

impl TrialExit {
    /// Whether it exited with code 0.
    #[must_use]
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The exit code, `None` when a signal ended it.
    #[must_use]
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The signal that ended it (POSIX only).
    #[must_use]
    pub fn signal(&self) -> Option<i32> {
        exit_signal(self.status)
    }

    /// An exit code for reporting: the code, or 128 + signal (as shells do), or 1.
    #[must_use]
    pub fn reported_code(&self) -> i32 {
        self.code()
            .or_else(|| self.signal().map(|s| 128 + s))
            .unwrap_or(1)
    }
}

impl fmt::Display for TrialExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code(), self.signal()) {
            (Some(code), _) => write!(f, "exit code {code}"),
            (None, Some(signal)) => write!(f, "killed by signal {signal}"),
            (None, None) => write!(f, "{}", self.status),
        }
    }
}

/// The bounded line buffer shared by the reader threads.
#[derive(Debug)]
struct TailBuffer {
    capacity: usize,
    lines: VecDeque<OutputLine>,
}

impl TailBuffer {
    fn push(&mut self, line: OutputLine) {
        if self.capacity == 0 {
            return;
        }
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
}

/// A running (or finished) child process of a trial.
#[derive(Debug)]
pub struct TrialProcess {
    child: Child,
    program: String,
    tail: Arc<Mutex<TailBuffer>>,
    readers_done: mpsc::Receiver<()>,
    exit: Option<TrialExit>,
    terminated_at: Option<Instant>,
}

impl TrialProcess {
    /// Starts the child in its own process group with stdin closed.
    ///
    /// # Errors
    /// [`Error::TrialProcess`] when the argv is empty or the program cannot be started.
    pub fn spawn(command: &TrialCommand) -> Result<Self, Error> {
        let program = command.program().to_owned();
        let mut child = command
            .command()?
            .spawn()
            .map_err(|source| Error::TrialProcess {
                action: "start",
                program: program.clone(),
                source,
            })?;
        let tail = Arc::new(Mutex::new(TailBuffer {
            capacity: command.tail_lines,
            lines: VecDeque::new(),
        }));
        let (done_tx, readers_done) = mpsc::channel();
        let pipes: [(Stream, Option<Box<dyn Read + Send>>); 2] = [
            (
                Stream::Stdout,
                child.stdout.take().map(|p| Box::new(p) as _),
            ),
            (
                Stream::Stderr,
                child.stderr.take().map(|p| Box::new(p) as _),
            ),
        ];
        for (stream, pipe) in pipes {
            let Some(pipe) = pipe else { continue };
            let reader = LineReader {
                stream,
                tail: Arc::clone(&tail),
                on_line: command.on_line.clone(),
                _done: done_tx.clone(),
            };
            let spawned = thread::Builder::new()
                .name(format!("trial-{stream:?}").to_lowercase())
                .spawn(move || reader.run(pipe));
            if let Err(source) = spawned {
                // No handle owns the child yet: it must not run on unwatched.
                if let Err(e) = signal_group(&mut child, Signal::Kill) {
                    tracing::warn!(program = %program, error = %e, "cannot kill trial process");
                }
                let _reaped = child.wait();
                return Err(Error::TrialProcess {
                    action: "read the output of",
                    program,
                    source,
                });
            }
        }
        Ok(TrialProcess {
            child,
            program,
            tail,
            readers_done,
            exit: None,
            terminated_at: None,
        })
    }

    /// The child's process id (also its process group id).
    #[must_use]
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The program (argv\[0\]).
    #[must_use]
    pub fn program(&self) -> &str {
        &self.program
    }

    /// When [`TrialProcess::terminate`] was first called.
    #[must_use]
    pub fn terminated_at(&self) -> Option<Instant> {
        self.terminated_at
    }

    /// The child's exit, if it has ended (never blocks).
    ///
    /// # Errors
    /// [`Error::TrialProcess`] when the child's status cannot be read.
    pub fn try_wait(&mut self) -> Result<Option<TrialExit>, Error> {
        if self.exit.is_some() {
            return Ok(self.exit);
        }
        let status = self
            .child
            .try_wait()
            .map_err(|e| self.error("wait for", e))?;
        Ok(status.map(|s| self.ended(s)))
    }

    /// Waits until the child ends, then (briefly) for the rest of its output.
    ///
    /// # Errors
    /// [`Error::TrialProcess`] when the child's status cannot be read.
    pub fn wait(&mut self) -> Result<TrialExit, Error> {
        if let Some(exit) = self.exit {
            return Ok(exit);
        }
        let status = self.child.wait().map_err(|e| self.error("wait for", e))?;
        Ok(self.ended(status))
    }

    /// Waits up to `timeout` for the child to end.
    ///
    /// # Errors
    /// [`Error::TrialProcess`] when the child's status cannot be read.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<TrialExit>, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(exit) = self.try_wait()? {
                return Ok(Some(exit));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            thread::sleep(POLL.min(deadline - now));
        }
    }

    /// Asks the child's process group to stop (SIGTERM; on other platforms: kills the child).
    /// Does nothing once the child has ended.
    ///
    /// # Errors
    /// [`Error::TrialProcess`] when the signal cannot be sent.
    pub fn terminate(&mut self) -> Result<(), Error> {
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        self.terminated_at.get_or_insert_with(Instant::now);
        signal_group(&mut self.child, Signal::Terminate).map_err(|e| self.error("signal", e))
    }

    /// Kills the child's process group (SIGKILL). Does nothing once the child has ended.
    ///
    /// # Errors
    /// [`Error::TrialProcess`] when the signal cannot be sent.
    pub fn kill(&mut self) -> Result<(), Error> {
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        signal_group(&mut self.child, Signal::Kill).map_err(|e| self.error("kill", e))
    }

    /// Stops the child: SIGTERM, then SIGKILL if it is still running after `grace`; returns
    /// how it ended.
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use std::time::Duration;
    /// use wandb_agent::{TrialCommand, TrialProcess};
    /// let mut trial = TrialProcess::spawn(&TrialCommand::new(["sleep", "30"]))?;
    /// let exit = trial.stop(Duration::from_secs(5))?;
    /// assert_eq!(exit.signal(), Some(15)); // SIGTERM was enough
    /// # }
    /// # Ok::<(), wandb_agent::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::TrialProcess`] when a signal cannot be sent or the status cannot be read.
    pub fn stop(&mut self, grace: Duration) -> Result<TrialExit, Error> {
        self.terminate()?;
        if let Some(exit) = self.wait_timeout(grace)? {
            return Ok(exit);
        }
        self.kill()?;
        self.wait()
    }

    /// The last output lines so far.
    #[must_use]
    pub fn output_tail(&self) -> OutputTail {
        let tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
        OutputTail {
            lines: tail.lines.iter().cloned().collect(),
        }
    }

    fn ended(&mut self, status: ExitStatus) -> TrialExit {
        // The readers end when the pipes close (no message is ever sent: the channel
        // disconnects). While a process of the child's group lives (a grandchild may keep
        // the pipes open) they get READER_GRACE; otherwise they read to the end.
        let start = Instant::now();
        while let Err(mpsc::RecvTimeoutError::Timeout) = self.readers_done.recv_timeout(POLL) {
            let limit = match group_alive(&self.child) {
                true => READER_GRACE,
                false => READER_LIMIT,
            };
            if start.elapsed() >= limit {
                break;
            }
        }
        let exit = TrialExit { status };
        self.exit = Some(exit);
        exit
    }

    fn error(&self, action: &'static str, source: std::io::Error) -> Error {
        Error::TrialProcess {
            action,
            program: self.program.clone(),
            source,
        }
    }
}

impl Drop for TrialProcess {
    /// A trial never outlives its handle: a still-running child is killed.
    fn drop(&mut self) {
        if self.exit.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            if let Err(e) = signal_group(&mut self.child, Signal::Kill) {
                tracing::warn!(program = %self.program, error = %e, "cannot kill trial process");
            }
            let _ = self.child.wait();
        }
    }
}

/// Reads one pipe line by line until it closes.
struct LineReader {
    stream: Stream,
    tail: Arc<Mutex<TailBuffer>>,
    on_line: Option<LineCallback>,
    /// Dropped when the reader ends, which tells [`TrialProcess::wait`] the output is complete.
    _done: mpsc::Sender<()>,
}

impl LineReader {
    fn run(self, pipe: Box<dyn Read + Send>) {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match (&mut reader)
                .take(MAX_LINE_BYTES as u64)
                .read_until(b'\n', &mut buf)
            {
                Ok(0) => return,
                Ok(_) => self.line(&buf),
                Err(e) => {
                    tracing::debug!(stream = ?self.stream, error = %e, "trial output closed");
                    return;
                }
            }
        }
    }

    fn line(&self, bytes: &[u8]) {
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let text = String::from_utf8_lossy(bytes).into_owned();
        if let Some(callback) = &self.on_line {
            callback(self.stream, &text);
        }
        let mut tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
        tail.push(OutputLine {
            stream: self.stream,
            text,
        });
    }
}

#[derive(Debug, Clone, Copy)]
enum Signal {
    Terminate,
    Kill,
}

#[cfg(unix)]
fn own_process_group(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
}

#[cfg(not(unix))]
fn own_process_group(_cmd: &mut Command) {}

#[cfg(unix)]
fn signal_group(child: &mut Child, signal: Signal) -> std::io::Result<()> {
    use rustix::process::{Pid, Signal as Sig, kill_process_group};
    let sig = match signal {
        Signal::Terminate => Sig::TERM,
        Signal::Kill => Sig::KILL,
    };
    match kill_process_group(Pid::from_child(child), sig) {
        Ok(()) => Ok(()),
        // The group is gone (the child ended between the check and the signal).
        Err(rustix::io::Errno::SRCH) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Whether a process of the child's group still exists (the child itself may be reaped).
#[cfg(unix)]
fn group_alive(child: &Child) -> bool {
    use rustix::process::{Pid, test_kill_process_group};
    test_kill_process_group(Pid::from_child(child)).is_ok()
}

#[cfg(not(unix))]
fn group_alive(_child: &Child) -> bool {
    false
}

#[cfg(not(unix))]
fn signal_group(child: &mut Child, _signal: Signal) -> std::io::Result<()> {
    child.kill()
}

#[cfg(unix)]
fn exit_signal(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn exit_signal(_status: ExitStatus) -> Option<i32> {
    None
}
