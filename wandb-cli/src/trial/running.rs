//! A trial's child process while it runs: stopped with SIGTERM, then SIGKILL once the kill
//! delay has passed; its failure told with its exit and its last output.

use std::time::Duration;

use wandb_agent::{OutputTail, Stream, TrialCommand, TrialExit, TrialProcess};

use crate::output;

/// A running trial of `wandb-rs agent` or `wandb-rs sweep local`.
#[derive(Debug)]
pub(crate) struct RunningTrial {
    /// The trial's run id.
    pub(crate) run_id: String,
    process: TrialProcess,
    /// SIGTERM was sent (by a stop, an interrupt or the agent's limits).
    stopped: bool,
    /// SIGKILL was sent.
    killed: bool,
}

impl RunningTrial {
    /// Starts the trial's process.
    pub(crate) fn spawn(run_id: &str, command: &TrialCommand) -> Result<Self, wandb_agent::Error> {
        Ok(RunningTrial {
            run_id: run_id.to_owned(),
            process: TrialProcess::spawn(command)?,
            stopped: false,
            killed: false,
        })
    }

    /// The exit, once the child has ended; SIGKILL once `kill_delay` has passed since SIGTERM.
    pub(crate) fn poll(&mut self, kill_delay: Duration) -> Option<TrialExit> {
        if let Some(at) = self.process.terminated_at()
            && at.elapsed() >= kill_delay
        {
            self.kill();
        }
        match self.process.try_wait() {
            Ok(exit) => exit,
            Err(e) => {
                self.report(&e);
                None
            }
        }
    }

    /// SIGTERM to the trial's process group (once).
    pub(crate) fn terminate(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if let Err(e) = self.process.terminate() {
            self.report(&e);
        }
    }

    /// SIGKILL to the trial's process group (once).
    pub(crate) fn kill(&mut self) {
        if self.killed {
            return;
        }
        self.stopped = true;
        self.killed = true;
        if let Err(e) = self.process.kill() {
            self.report(&e);
        }
    }

    /// Whether the trial was stopped (a stop is not a failure of the trial).
    pub(crate) fn was_stopped(&self) -> bool {
        self.stopped
    }

    /// Why the trial failed: see [`failure_message`].
    pub(crate) fn failure(&self, exit: &TrialExit, lines: usize) -> String {
        failure_message(exit, &self.process.output_tail(), lines)
    }

    fn report(&self, e: &wandb_agent::Error) {
        output::error(&format!("wandb-rs: run {}: {e}", self.run_id));
    }
}

/// Why a trial failed, on one line: its exit and its last error line (`exit code 3: out of
/// memory`; the last line of any stream when stderr said nothing). With `lines > 0`, the
/// last `lines` output lines follow, indented (`; last output lines:` then `  | …`).
pub(crate) fn failure_message(exit: &TrialExit, tail: &OutputTail, lines: usize) -> String {
    let last = tail
        .lines
        .iter()
        .rev()
        .find(|l| l.stream == Stream::Stderr && !l.text.trim().is_empty())
        .or_else(|| tail.lines.iter().rev().find(|l| !l.text.trim().is_empty()));
    let mut message = match last {
        Some(line) => format!("{exit}: {}", line.text.trim()),
        None => exit.to_string(),
    };
    let shown = &tail.lines[tail.lines.len().saturating_sub(lines)..];
    if !shown.is_empty() {
        message.push_str("; last output lines:");
        for line in shown {
            message.push_str("\n  | ");
            message.push_str(&line.text);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use wandb_agent::OutputLine;

    fn tail(lines: &[(Stream, &str)]) -> OutputTail {
        OutputTail {
            lines: lines
                .iter()
                .map(|&(stream, text)| OutputLine {
                    stream,
                    text: text.to_owned(),
                })
                .collect(),
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_failure_names_the_last_error_line_and_shows_the_tail_on_request() {
        let mut child = TrialProcess::spawn(&TrialCommand::new(["sh", "-c", "exit 3"])).unwrap();
        let exit = child.wait().unwrap();
        let t = tail(&[
            (Stream::Stdout, "loading"),
            (Stream::Stderr, "out of memory"),
            (Stream::Stdout, "epoch 1"),
            (Stream::Stderr, "  "),
        ]);
        assert_eq!(failure_message(&exit, &t, 0), "exit code 3: out of memory");
        assert_eq!(
            failure_message(&exit, &t, 2),
            "exit code 3: out of memory; last output lines:\n  | epoch 1\n  |   "
        );
        let quiet = tail(&[(Stream::Stdout, "done 1"), (Stream::Stdout, "")]);
        assert_eq!(failure_message(&exit, &quiet, 0), "exit code 3: done 1");
        assert_eq!(failure_message(&exit, &tail(&[]), 5), "exit code 3");
    }
}
