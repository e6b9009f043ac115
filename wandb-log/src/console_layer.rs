//! A `tracing` layer that writes events to a run's console output (`output.log`, the W&B
//! UI's Logs tab) as `LEVEL target: message key=value …` lines, for programs that log with
//! `tracing`. `ERROR` events go to the stderr stream (shown as errors), the rest to stdout.
//! Events above the layer's level (`INFO` unless set) and the run's own events are left out:
//! those of the crate's targets and of its background threads (the HTTP client's traces of
//! an upload would otherwise feed the upload they describe).

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;

use crate::console::ConsoleStream;
use crate::run::{Run, WeakRun};

/// Events of these targets (the run's own diagnostics, such as a failed upload) are not
/// written to the run: they would feed themselves.
const OWN_TARGETS: [&str; 2] = ["wandb_log", "wandb_api"];
/// Events on the threads of runs (named `wandb-writer`, `wandb-upload`, `wandb-console`) are
/// not written either: the HTTP client's events of an upload would feed the upload.
const OWN_THREADS: &str = "wandb-";

/// A `tracing_subscriber` layer that writes events to a run's console output. It does not
/// keep the run alive: after the run is finished or dropped, events are ignored.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// use wandb_log::{Mode, Run};
/// let dir = std::env::temp_dir().join(format!("wandb-log-layer-doc-{}", std::process::id()));
/// let run = Run::builder().mode(Mode::Offline).dir(&dir).init()?;
/// let subscriber = tracing_subscriber::registry().with(run.console_layer());
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info!(target: "train", epoch = 3, "loss went down");
/// });
/// let report = run.finish(0)?;
/// let text = std::fs::read_to_string(report.dir.unwrap().join("files/output.log"))?;
/// assert_eq!(text, " INFO train: loss went down epoch=3\n");
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ConsoleLayer {
    run: WeakRun,
    max_level: Level,
}

impl ConsoleLayer {
    /// Writes events up to `level` (`INFO` by default; `Level::DEBUG` adds debug events).
    ///
    /// ```
    /// let run = wandb_log::Run::builder().mode(wandb_log::Mode::Disabled).init()?;
    /// let _layer = run.console_layer().max_level(tracing::Level::DEBUG);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn max_level(mut self, level: Level) -> Self {
        self.max_level = level;
        self
    }
}

impl Run {
    /// A `tracing` layer writing events to this run's console output (see [`ConsoleLayer`]).
    ///
    /// ```
    /// use tracing_subscriber::layer::SubscriberExt;
    /// let run = wandb_log::Run::builder().mode(wandb_log::Mode::Disabled).init()?;
    /// let _subscriber = tracing_subscriber::registry().with(run.console_layer());
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn console_layer(&self) -> ConsoleLayer {
        ConsoleLayer {
            run: self.downgrade(),
            max_level: Level::INFO,
        }
    }
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for ConsoleLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() > self.max_level
            || std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with(OWN_THREADS))
        {
            return;
        }
        let target = meta.target();
        if OWN_TARGETS.iter().any(|own| {
            target
                .strip_prefix(own)
                .is_some_and(|r| r.is_empty() || r.starts_with("::"))
        }) {
            return;
        }
        let Some(run) = self.run.upgrade() else {
            return;
        };
        let level = *meta.level();
        let stream = if level == Level::ERROR {
            ConsoleStream::Stderr
        } else {
            ConsoleStream::Stdout
        };
        let mut text = Text::default();
        event.record(&mut text);
        let line = format!("{level:>5} {target}: {}{}", text.message, text.fields);
        let lines = crate::console::lines(stream, &line);
        // A finished run keeps nothing more.
        let _finished = run.send_console(lines);
    }
}

/// An event's message and its other fields as ` key=value`.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}
