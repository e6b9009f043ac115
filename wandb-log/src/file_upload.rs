//! The upload of run files: every file a `files` record of the log names (saved files,
//! media, metadata) is uploaded from the run's `files/` (`createRunFiles` for signed URLs,
//! then a PUT of the file, read while it is sent and retried by the API client), in tasks of
//! their own so that file uploads never hold up history rows. `Now` files go when their
//! record is read, `Live` files then and again when they change (at most every
//! [`LIVE_UPLOAD_INTERVAL`]), `End` and `Live` files once more when the exit record is read;
//! `output.log` goes at the end too. The file stream's next request names the files uploaded
//! (`uploaded`), as the official client does. At most 64 files go in one `createRunFiles`; a
//! file that fails for a transient reason (5xx, rate limit, lost connection) is tried again
//! with backoff (up to a minute apart) while the run lives, one refused for good is reported;
//! a name outside `files/` is never read.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indexmap::{IndexMap, IndexSet};
use tokio::sync::oneshot;
use wandb_api::Client;

use crate::error_class::{ErrorClass, classify};
use crate::proto::FilesItem;
use crate::proto::files_item::PolicyType;
use crate::save::LIVE_UPLOAD_INTERVAL;

/// The console text of the run, uploaded at the end when the run has one.
pub(crate) const OUTPUT_LOG: &str = "output.log";

/// What happened to the run's files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FilesOutcome {
    pub(crate) uploaded: Vec<String>,
    pub(crate) failed: Vec<(String, String)>,
}

/// The run on the server: `(entity, project, run id)`.
type Target = (String, String, String);
/// The result of one file's upload.
type Done = (String, Result<(), Failure>);

/// Why a file did not upload, and whether trying again later may help.
#[derive(Debug)]
struct Failure {
    why: String,
    /// A server error, a rate limit or a lost connection: tried again later.
    transient: bool,
}

impl Failure {
    fn permanent(why: String) -> Self {
        Failure {
            why,
            transient: false,
        }
    }

    fn of(what: &str, e: &wandb_api::Error) -> Self {
        Failure {
            why: format!("{what}: {e}"),
            transient: classify(e) == ErrorClass::Transient,
        }
    }
}

/// The most files in one `createRunFiles` request (and read at once).
const MAX_BATCH: usize = 64;
/// The longest wait before a file that failed for a transient reason is tried again.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

/// The run's file uploads.
#[derive(Debug)]
pub(crate) struct FileUploads {
    /// The run's `files/`.
    dir: PathBuf,
    target: Option<Target>,
    /// Names due for upload, in order.
    queue: IndexSet<String>,
    /// `End` and `Live` names, uploaded again at the end.
    at_end: IndexSet<String>,
    /// `Live` names, with when they were last uploaded.
    live: HashMap<String, Option<Instant>>,
    /// `Live` names that changed and wait for their interval.
    changed: HashSet<String>,
    /// The batch in flight: its results, when it is over.
    flight: Option<oneshot::Receiver<Vec<Done>>>,
    ended: bool,
    /// Names uploaded, in order (each once).
    uploaded: IndexSet<String>,
    /// Uploaded names the file stream has not reported yet.
    unreported: IndexSet<String>,
    failed: IndexMap<String, String>,
    /// Files that failed for a transient reason: when to try again, and how many attempts
    /// failed so far.
    retry: HashMap<String, (Instant, u32)>,
}

impl FileUploads {
    pub(crate) fn new(dir: PathBuf) -> Self {
        FileUploads {
            dir,
            target: None,
            queue: IndexSet::new(),
            at_end: IndexSet::new(),
            live: HashMap::new(),
            changed: HashSet::new(),
            flight: None,
            ended: false,
            uploaded: IndexSet::new(),
            unreported: IndexSet::new(),
            failed: IndexMap::new(),
            retry: HashMap::new(),
        }
    }

    /// The run exists on the server: uploads can start.
    pub(crate) fn set_target(&mut self, entity: &str, project: &str, run_id: &str) {
        self.target = Some((entity.to_owned(), project.to_owned(), run_id.to_owned()));
    }

    /// The files of `files` records read from the log.
    pub(crate) fn add(&mut self, items: Vec<FilesItem>) {
        for item in items {
            let name = item.path;
            if !crate::save::is_run_file_name(&name) {
                // A log from elsewhere must not make the upload read files outside `files/`.
                self.failed.insert(
                    name,
                    "not a path inside the run's `files` folder; not uploaded".to_owned(),
                );
                continue;
            }
            let policy = PolicyType::try_from(item.policy).unwrap_or(PolicyType::Now);
            if policy != PolicyType::End || self.ended {
                enqueue(&mut self.queue, &name);
            }
            if policy != PolicyType::Now {
                enqueue(&mut self.at_end, &name);
            }
            if policy == PolicyType::Live {
                self.live.entry(name).or_insert(None);
            }
        }
    }

    /// A `Live` file changed (the writer copied it again).
    pub(crate) fn changed(&mut self, name: &str) {
        if self.live.contains_key(name) {
            self.changed.insert(name.to_owned());
        }
    }

    /// The end of the run: `End` and `Live` files, and `output.log` when there is one.
    pub(crate) fn end(&mut self) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        for name in std::mem::take(&mut self.at_end) {
            self.changed.remove(&name);
            enqueue(&mut self.queue, &name);
        }
        if self.dir.join(OUTPUT_LOG).is_file() {
            enqueue(&mut self.queue, OUTPUT_LOG);
        }
    }

    /// Takes the results of a finished batch and starts the next one when files are due.
    pub(crate) fn poll(&mut self, client: &Client, now: Instant) {
        if let Some(flight) = &mut self.flight {
            let Ok(results) = flight.try_recv() else {
                return;
            };
            self.flight = None;
            self.record(results, now);
        }
        let due: Vec<String> = self
            .changed
            .iter()
            .filter(|n| {
                self.live
                    .get(*n)
                    .copied()
                    .flatten()
                    .is_none_or(|t| now.duration_since(t) >= LIVE_UPLOAD_INTERVAL)
            })
            .cloned()
            .collect();
        for name in due {
            self.changed.remove(&name);
            enqueue(&mut self.queue, &name);
        }
        let again: Vec<String> = (self.retry.iter())
            .filter(|(_, (at, _))| *at <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for name in again {
            enqueue(&mut self.queue, &name);
        }
        let Some(target) = self.target.clone() else {
            return;
        };
        if self.queue.is_empty() {
            return;
        }
        let names: Vec<String> = self
            .queue
            .drain(..self.queue.len().min(MAX_BATCH))
            .collect();
        let (done, flight) = oneshot::channel();
        self.flight = Some(flight);
        let (client, dir) = (client.clone(), self.dir.clone());
        tokio::spawn(async move {
            let _gone = done.send(upload(&client, &target, &dir, names).await);
        });
    }

    fn record(&mut self, results: Vec<Done>, now: Instant) {
        for (name, result) in results {
            if let Some(last) = self.live.get_mut(&name) {
                *last = Some(now);
            }
            match result {
                Ok(()) => {
                    self.failed.shift_remove(&name);
                    self.retry.remove(&name);
                    self.uploaded.insert(name.clone());
                    enqueue(&mut self.unreported, &name);
                }
                Err(Failure { why, transient }) => {
                    if transient {
                        let failures = self.retry.get(&name).map_or(1, |(_, n)| n + 1);
                        let wait = Duration::from_secs(1)
                            .saturating_mul(1 << failures.min(6))
                            .min(MAX_RETRY_WAIT);
                        tracing::warn!(file = %name, error = %why, "a run file did not upload; trying again later");
                        self.retry.insert(name.clone(), (now + wait, failures));
                    } else {
                        tracing::warn!(file = %name, error = %why, "a run file did not upload");
                        self.retry.remove(&name);
                    }
                    self.failed.insert(name, why);
                }
            }
        }
    }

    /// After the end: nothing left to upload (every file uploaded or failed).
    pub(crate) fn settled(&self) -> bool {
        self.ended
            && self.queue.is_empty()
            && self.flight.is_none()
            && self.changed.is_empty()
            && self.retry.is_empty()
    }

    /// Uploaded names for the file stream's next request.
    pub(crate) fn take_unreported(&mut self) -> Vec<String> {
        std::mem::take(&mut self.unreported).into_iter().collect()
    }

    /// Whether uploaded names wait to be reported.
    pub(crate) fn has_unreported(&self) -> bool {
        !self.unreported.is_empty()
    }

    /// What was uploaded and what was not (files still waiting count as not uploaded).
    pub(crate) fn outcome(&self) -> FilesOutcome {
        let mut failed: Vec<(String, String)> = self
            .failed
            .iter()
            .map(|(n, w)| (n.clone(), w.clone()))
            .collect();
        let waiting = self
            .queue
            .iter()
            .chain(&self.changed)
            .filter(|n| !self.failed.contains_key(*n));
        for name in waiting {
            failed.push((
                name.clone(),
                "not uploaded before the finish timeout (raise RunBuilder::finish_timeout)"
                    .to_owned(),
            ));
        }
        if self.flight.is_some() {
            failed.push((
                "(files being uploaded)".to_owned(),
                "the upload did not end before the finish timeout".to_owned(),
            ));
        }
        FilesOutcome {
            uploaded: self.uploaded.iter().cloned().collect(),
            failed,
        }
    }
}

/// Adds `name` at the end of `queue` unless it is waiting already (in constant time: a run
/// may log an image at each of a million steps).
fn enqueue(queue: &mut IndexSet<String>, name: &str) {
    if !queue.contains(name) {
        queue.insert(name.to_owned());
    }
}

/// Uploads `names` from `dir`: asks for their URLs, PUTs each, read while it is sent (a
/// file of many GB needs no more memory than a small one). A file that cannot be read fails
/// alone.
async fn upload(client: &Client, target: &Target, dir: &Path, names: Vec<String>) -> Vec<Done> {
    let mut results = Vec::new();
    let mut readable = Vec::new();
    for name in names {
        match tokio::fs::metadata(dir.join(&name)).await {
            Ok(meta) if meta.is_file() => readable.push(name),
            found => {
                let why = found
                    .err()
                    .map_or("not a file".to_owned(), |e| e.to_string());
                results.push((
                    name,
                    Err(Failure::permanent(format!(
                        "the file is gone from the run's files/ directory or unreadable ({why}); save it again"
                    ))),
                ));
            }
        }
    }
    if readable.is_empty() {
        return results;
    }
    let (entity, project, run_id) = target;
    let targets = match client
        .create_run_files(entity, project, run_id, &readable)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            results.extend(
                readable
                    .into_iter()
                    .map(|n| (n, Err(Failure::of("W&B gave no upload URL", &e)))),
            );
            return results;
        }
    };
    for name in readable {
        let url = targets.files.iter().find(|(n, _)| *n == name);
        let result = match url {
            Some((_, url)) => client
                .upload_file(url, &targets.headers, &dir.join(&name))
                .await
                .map_err(|e| Failure::of("the upload was refused or failed", &e)),
            None => Err(Failure::permanent(
                "W&B gave no upload URL for it".to_owned(),
            )),
        };
        results.push((name, result));
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(queue: &IndexSet<String>) -> Vec<&str> {
        queue.iter().map(String::as_str).collect()
    }

    fn item(path: &str, policy: PolicyType) -> FilesItem {
        FilesItem {
            path: path.into(),
            policy: policy.into(),
            r#type: 0,
        }
    }

    #[test]
    fn end_files_wait_for_the_end_and_live_files_go_twice() {
        let mut up = FileUploads::new(PathBuf::from("does-not-exist"));
        up.add(vec![
            item("now.txt", PolicyType::Now),
            item("end.txt", PolicyType::End),
            item("live.txt", PolicyType::Live),
        ]);
        assert_eq!(names(&up.queue), ["now.txt", "live.txt"]);
        up.queue.clear();
        assert!(!up.settled(), "not before the end");
        up.end();
        assert_eq!(names(&up.queue), ["end.txt", "live.txt"]);
        up.queue.clear();
        assert!(up.settled());
    }

    /// A changed live file waits until [`LIVE_UPLOAD_INTERVAL`] after its last upload (the
    /// times are given, not waited for).
    #[test]
    fn a_changed_live_file_goes_again_after_the_interval() {
        let api = wandb_api::Settings::builder()
            .base_url("http://127.0.0.1:9")
            .api_key("local-0123456789012345678901234567890123456789")
            .resolve_with(|_| None, None)
            .expect("settings");
        let client = Client::builder().settings(api).build().expect("client");
        let mut up = FileUploads::new(PathBuf::from("does-not-exist"));
        up.add(vec![item("live.txt", PolicyType::Live)]);
        up.queue.clear();
        let t0 = Instant::now();
        up.record(vec![("live.txt".into(), Ok(()))], t0);
        assert_eq!(up.take_unreported(), ["live.txt"]);
        up.changed("live.txt");
        up.changed("not-live.txt");
        up.poll(&client, t0 + LIVE_UPLOAD_INTERVAL / 2);
        assert!(up.queue.is_empty(), "too soon after the last upload");
        up.poll(&client, t0 + LIVE_UPLOAD_INTERVAL);
        assert_eq!(names(&up.queue), ["live.txt"], "only live files go again");
    }
}
