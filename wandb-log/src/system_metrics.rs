//! System metrics: a sampler on its own thread (`wandb-system`) that measures the machine
//! and the process every 15 s (settable, as the official `x_stats_sampling_interval`) and
//! hands each sample to the writer as a `stats` record; online, the upload turns each into
//! a `wandb-events.jsonl` line. Before sampling it reads the run's metadata (see
//! [`crate::metadata`]).
//!
//! Keys and units are the official client's: `cpu` (the process's CPU use in % of the CPUs
//! it may use: the cgroup's limit, else the physical cores), `memory_percent` and
//! `proc.memory.availableMB` (of the cgroup's memory limit when there is one, else of the
//! machine), `proc.memory.rssMB`, `proc.memory.percent`, `proc.cpu.threads`,
//! `disk.<path>.usagePercent`, `disk.<path>.usageGB`, `disk.<device>.in` / `.out` (MB read
//! and written since the start), `network.sent` / `network.recv` (bytes since the start, all
//! interfaces), `network.tcpRetransmits` (Linux) and `gpu.N.*` ([`crate::gpu`]).
//!
//! The sampler never blocks `log` (it only sends to the writer's queue), never prints, and
//! stops at `finish` without waiting out its interval. Disabled runs start no sampler.

use std::collections::HashMap;

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use sysinfo::{
    CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, Networks, Pid, ProcessRefreshKind,
    ProcessesToUpdate, System,
};
use tokio::sync::mpsc::UnboundedSender;
use wandb_api::to_extended_json;
use wandb_sweep::Value;

use crate::cgroup::CgroupLimits;
use crate::gpu::Gpus;
use crate::metadata::{Environment, MetadataInput, Resources};
use crate::offline_run::OfflineRun;
use crate::proto::record::RecordType;
use crate::proto::{StatsItem, StatsRecord};
use crate::writer::Message;

/// The official client's sampling interval.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
/// The shortest interval the official client accepts (0.1 s).
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(100);
const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = MIB * 1024.0;

/// What a run measures, resolved from the builder and the `WANDB__*` variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SystemSettings {
    /// Sample system metrics (`stats` records).
    pub(crate) stats: bool,
    /// Record the run's metadata (`environment` records, `wandb-metadata.json`).
    pub(crate) metadata: bool,
    pub(crate) interval: Duration,
}

/// Where samples come from.
pub(crate) trait Probe {
    /// One sample: `(key, value)` pairs appended to `out`.
    fn sample(&mut self, out: &mut Vec<(String, f64)>);
}

/// The sampler's time: how long since it began, the wall clock, and waiting.
pub(crate) trait Clock {
    fn elapsed(&self) -> Duration;
    fn unix_now(&self) -> f64;
    /// Waits until `elapsed() >= at`; `false` when the sampler must stop instead.
    fn wait_until(&mut self, at: Duration) -> bool;
}

/// Real time; waiting ends early when the run stops the sampler (or drops its handle).
#[derive(Debug)]
pub(crate) struct StopClock {
    start: Instant,
    stop: Receiver<()>,
}

impl Clock for StopClock {
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn unix_now(&self) -> f64 {
        crate::offline_run::unix_now()
    }

    fn wait_until(&mut self, at: Duration) -> bool {
        let wait = at.saturating_sub(self.start.elapsed());
        matches!(self.stop.recv_timeout(wait), Err(RecvTimeoutError::Timeout))
    }
}

/// Samples every `interval` (the first after one interval, as the official client) until
/// the clock says stop or `emit` refuses (the writer is gone). Ticks missed while a sample
/// took long are skipped, not made up. Returns the number of samples emitted.
pub(crate) fn sample_loop(
    probe: &mut dyn Probe,
    clock: &mut dyn Clock,
    interval: Duration,
    mut emit: impl FnMut(StatsRecord) -> bool,
) -> u64 {
    let interval = interval.max(MIN_INTERVAL);
    let mut items = Vec::new();
    let (mut tick, mut emitted) = (1u32, 0);
    loop {
        let Some(at) = interval.checked_mul(tick) else {
            return emitted;
        };
        if !clock.wait_until(at) {
            return emitted;
        }
        items.clear();
        probe.sample(&mut items);
        if !items.is_empty() {
            if !emit(stats_record(&items, clock.unix_now())) {
                return emitted;
            }
            emitted += 1;
        }
        let done = clock.elapsed().as_nanos() / interval.as_nanos().max(1);
        tick = u32::try_from(done.saturating_add(1))
            .unwrap_or(u32::MAX)
            .max(tick.saturating_add(1));
    }
}

/// A `stats` record of one sample, values as the official client writes them (`4.0`).
pub(crate) fn stats_record(items: &[(String, f64)], unix: f64) -> StatsRecord {
    StatsRecord {
        stats_type: crate::proto::stats_record::StatsType::System.into(),
        timestamp: Some(crate::offline_run::timestamp(unix)),
        item: items
            .iter()
            .map(|(key, v)| StatsItem {
                key: key.clone(),
                value_json: to_extended_json(&Value::from(*v)),
            })
            .collect(),
    }
}

/// A `stats` record as a `wandb-events.jsonl` line: `{"_wandb":true,"_timestamp":…,
/// "_runtime":…,"system.<key>":…}`, the runtime counted from `start` (Unix seconds).
pub(crate) fn events_line(record: &StatsRecord, start: f64) -> String {
    let ts = (record.timestamp.as_ref()).map_or(0.0, crate::offline_run::unix_seconds);
    let runtime = (ts - start).max(0.0);
    let mut line = String::with_capacity(64 + record.item.len() * 40);
    line.push_str("{\"_wandb\":true,\"_timestamp\":");
    line.push_str(&to_extended_json(&Value::from(ts)));
    line.push_str(",\"_runtime\":");
    line.push_str(&to_extended_json(&Value::from(runtime)));
    for item in &record.item {
        line.push(',');
        line.push_str(&serde_json::Value::from(format!("system.{}", item.key)).to_string());
        line.push(':');
        line.push_str(if item.value_json.is_empty() {
            "null"
        } else {
            &item.value_json
        });
    }
    line.push('}');
    line
}

/// Writes a sample to the run's log.
pub(crate) fn write(log: &mut OfflineRun, stats: StatsRecord) -> std::io::Result<()> {
    log.record(RecordType::Stats(stats))
}

/// The machine and this process, measured with `sysinfo`, the cgroup's limits and NVML.
pub(crate) struct Machine {
    sys: System,
    pid: Option<Pid>,
    networks: Networks,
    disks: Disks,
    /// Monitored paths (`/`) and the index of the disk that holds each.
    disk_paths: Vec<(String, usize)>,
    /// Bytes read and written per device when sampling began.
    disk_start: HashMap<String, (u64, u64)>,
    net_start: (u64, u64),
    retransmits_start: Option<u64>,
    cgroup: Option<CgroupLimits>,
    physical_cores: usize,
    gpus: Option<Gpus>,
    /// Whether a sample was taken: the first sample has no `cpu`, as the official
    /// client's (the process's CPU use needs two reads apart).
    cpu_measured: bool,
}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("cgroup", &self.cgroup)
            .field("gpus", &self.gpus)
            .finish_non_exhaustive()
    }
}

impl Machine {
    /// Reads the machine once (and opens NVML when `gpus`); later samples measure from here.
    pub(crate) fn new(disk_paths: &[&str], gpus: bool) -> Machine {
        let mut sys = System::new();
        sys.refresh_cpu_list(CpuRefreshKind::nothing());
        let pid = sysinfo::get_current_pid().ok();
        let disks = Disks::new_with_refreshed_list_specifics(
            DiskRefreshKind::nothing().with_storage().with_io_usage(),
        );
        let disk_paths: Vec<(String, usize)> = disk_paths
            .iter()
            .filter_map(|p| Some(((*p).to_owned(), disk_of(&disks, Path::new(p))?)))
            .collect();
        let mut disk_start = HashMap::new();
        for d in disk_paths.iter().filter_map(|(_, i)| disks.list().get(*i)) {
            let u = d.usage();
            disk_start.insert(
                device(d.name()),
                (u.total_read_bytes, u.total_written_bytes),
            );
        }
        let networks = Networks::new_with_refreshed_list();
        let net_start = totals(&networks);
        let logical = sys.cpus().len();
        Machine {
            pid,
            networks,
            disks,
            disk_paths,
            disk_start,
            net_start,
            retransmits_start: tcp_retransmits(),
            cgroup: CgroupLimits::detect(logical),
            physical_cores: System::physical_core_count().unwrap_or(logical),
            gpus: if gpus { Gpus::open() } else { None },
            cpu_measured: false,
            sys,
        }
    }

    /// What the machine offers, for the run's metadata.
    pub(crate) fn resources(&self) -> Resources {
        let disks = self
            .disk_paths
            .iter()
            .filter_map(|(path, i)| {
                let space = disk_space(Path::new(path), self.disks.list().get(*i)?);
                Some((path.clone(), space.total, space.used))
            })
            .collect();
        let mut sys = System::new();
        sys.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        Resources {
            cpu_count: u32::try_from(self.physical_cores).unwrap_or(u32::MAX),
            cpu_count_logical: u32::try_from(self.sys.cpus().len()).unwrap_or(u32::MAX),
            cpu_model: self
                .sys
                .cpus()
                .first()
                .map(|c| c.brand().trim().to_owned())
                .unwrap_or_default(),
            memory_total: sys.total_memory(),
            disks,
            gpus: self.gpus.as_ref().map(Gpus::inventory).unwrap_or_default(),
        }
    }

    fn refresh_process(&mut self) {
        if let Some(pid) = self.pid {
            self.sys.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[pid]),
                false,
                ProcessRefreshKind::nothing().with_cpu().with_memory(),
            );
        }
    }

    /// The CPUs the process may use.
    #[expect(clippy::cast_precision_loss, reason = "CPU counts are small")]
    fn cpu_capacity(&self) -> f64 {
        self.cgroup
            .as_ref()
            .and_then(CgroupLimits::cpus)
            .unwrap_or(self.physical_cores.max(1) as f64)
    }
}

#[expect(
    clippy::cast_precision_loss,
    reason = "byte counts as float metrics, as the official client sends them"
)]
impl Probe for Machine {
    fn sample(&mut self, out: &mut Vec<(String, f64)>) {
        let put = |out: &mut Vec<(String, f64)>, k: &str, v: f64| {
            if v.is_finite() {
                out.push((k.to_owned(), v));
            }
        };
        self.refresh_process();
        let process = self.pid.and_then(|pid| self.sys.process(pid));
        let rss = process.map(sysinfo::Process::memory);
        let cpu = process.map(sysinfo::Process::cpu_usage);
        let threads = thread_count(process);
        if let Some(cpu) = cpu.filter(|_| self.cpu_measured) {
            put(out, "cpu", f64::from(cpu) / self.cpu_capacity());
        }
        self.cpu_measured = true;
        self.networks.refresh(true);
        let (sent, recv) = totals(&self.networks);
        put(
            out,
            "network.sent",
            sent.saturating_sub(self.net_start.0) as f64,
        );
        put(
            out,
            "network.recv",
            recv.saturating_sub(self.net_start.1) as f64,
        );
        if let (Some(start), Some(now)) = (self.retransmits_start, tcp_retransmits()) {
            put(
                out,
                "network.tcpRetransmits",
                now.saturating_sub(start) as f64,
            );
        }
        let kind = DiskRefreshKind::nothing().with_storage().with_io_usage();
        let mut seen = Vec::new();
        for (path, i) in &self.disk_paths {
            let Some(d) = self.disks.list_mut().get_mut(*i) else {
                continue;
            };
            d.refresh_specifics(kind);
            let name = device(d.name());
            if !seen.contains(&name) {
                let u = d.usage();
                let (read0, written0) = self.disk_start.get(&name).copied().unwrap_or_default();
                let read = u.total_read_bytes.saturating_sub(read0) as f64 / MIB;
                let written = u.total_written_bytes.saturating_sub(written0) as f64 / MIB;
                put(out, &format!("disk.{name}.in"), read);
                put(out, &format!("disk.{name}.out"), written);
                seen.push(name);
            }
            let space = disk_space(Path::new(path), d);
            if space.used + space.available > 0 {
                let percent = space.used as f64 / (space.used + space.available) as f64 * 100.0;
                put(out, &format!("disk.{path}.usagePercent"), percent);
                put(
                    out,
                    &format!("disk.{path}.usageGB"),
                    space.used as f64 / GIB,
                );
            }
        }
        let limited = self.cgroup.as_ref().and_then(CgroupLimits::memory_usage);
        let denominator = match limited {
            Some((used, limit)) => {
                put(out, "memory_percent", used as f64 / limit as f64 * 100.0);
                put(
                    out,
                    "proc.memory.availableMB",
                    limit.saturating_sub(used) as f64 / MIB,
                );
                limit
            }
            None => {
                self.sys
                    .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
                let (total, available) = (self.sys.total_memory(), self.sys.available_memory());
                if total > 0 {
                    let used = total.saturating_sub(available);
                    put(out, "memory_percent", used as f64 / total as f64 * 100.0);
                }
                put(out, "proc.memory.availableMB", available as f64 / MIB);
                total
            }
        };
        if let Some(rss) = rss {
            put(out, "proc.memory.rssMB", rss as f64 / MIB);
            if denominator > 0 {
                put(
                    out,
                    "proc.memory.percent",
                    rss as f64 / denominator as f64 * 100.0,
                );
            }
        }
        if let Some(threads) = threads {
            put(out, "proc.cpu.threads", threads as f64);
        }
        if let Some(gpus) = &mut self.gpus {
            gpus.sample(out);
        }
    }
}

/// A filesystem's size, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Space {
    total: u64,
    /// Not free (the official client's "used": total minus free blocks).
    used: u64,
    /// Free for unprivileged users.
    available: u64,
}

/// The space of the filesystem at `path` (statvfs on Unix, whose free-block count sysinfo
/// does not give; the disk's own figures elsewhere).
fn disk_space(path: &Path, disk: &sysinfo::Disk) -> Space {
    #[cfg(unix)]
    if let Ok(s) = nix::sys::statvfs::statvfs(path) {
        #[allow(
            clippy::useless_conversion,
            reason = "the block count types differ between platforms"
        )]
        let (size, blocks, free, available) = (
            u64::from(s.fragment_size()),
            u64::from(s.blocks()),
            u64::from(s.blocks_free()),
            u64::from(s.blocks_available()),
        );
        return Space {
            total: blocks.saturating_mul(size),
            used: blocks.saturating_sub(free).saturating_mul(size),
            available: available.saturating_mul(size),
        };
    }
    let _ = path;
    Space {
        total: disk.total_space(),
        used: disk.total_space().saturating_sub(disk.available_space()),
        available: disk.available_space(),
    }
}

/// The system metrics a run samples, on demand: the same keys and units as the `stats`
/// records of a run (see [`crate::RunBuilder::system_metrics`]), measured since
/// [`SystemSampler::new`]. The first sample has no `cpu` (it takes two reads).
///
/// ```
/// let mut sampler = wandb_log::SystemSampler::new();
/// let first = sampler.sample();
/// assert!(!first.iter().any(|(key, _)| key == "cpu"));
/// let second = sampler.sample();
/// if cfg!(any(target_os = "linux", target_os = "macos", target_os = "windows")) {
///     assert!(second.iter().any(|(key, _)| key == "cpu"));
///     assert!(second.iter().any(|(key, _)| key == "proc.memory.rssMB"));
/// }
/// ```
#[derive(Debug)]
pub struct SystemSampler {
    machine: Machine,
}

impl SystemSampler {
    /// Reads the machine once (cgroup limits, disks, network counters; NVIDIA GPUs when
    /// the driver's library loads).
    ///
    /// ```
    /// let mut sampler = wandb_log::SystemSampler::new();
    /// let sample = sampler.sample();
    /// assert!(sample.iter().all(|(_, value)| value.is_finite()));
    /// ```
    #[must_use]
    pub fn new() -> SystemSampler {
        SystemSampler {
            machine: Machine::new(&["/"], true),
        }
    }

    /// One sample: `(key, value)` pairs, e.g. `("proc.memory.rssMB", 12.5)`; counters
    /// (`network.sent`, `disk.<device>.in`) count from [`SystemSampler::new`].
    ///
    /// ```
    /// let mut sampler = wandb_log::SystemSampler::default();
    /// for (key, value) in sampler.sample() {
    ///     assert!(!key.is_empty() && value.is_finite());
    /// }
    /// ```
    pub fn sample(&mut self) -> Vec<(String, f64)> {
        let mut out = Vec::with_capacity(16);
        self.machine.sample(&mut out);
        out
    }
}

impl Default for SystemSampler {
    fn default() -> Self {
        SystemSampler::new()
    }
}

/// The disk whose mount point holds `path` (the longest such mount point).
fn disk_of(disks: &Disks, path: &Path) -> Option<usize> {
    disks
        .list()
        .iter()
        .enumerate()
        .filter(|(_, d)| path.starts_with(d.mount_point()))
        .max_by_key(|(_, d)| d.mount_point().as_os_str().len())
        .map(|(i, _)| i)
}

/// A device name without `/dev/` (`vda1`).
fn device(name: &std::ffi::OsStr) -> String {
    let name = name.to_string_lossy();
    name.strip_prefix("/dev/").unwrap_or(&name).to_owned()
}

/// Bytes sent and received, all interfaces.
fn totals(networks: &Networks) -> (u64, u64) {
    networks.list().values().fold((0u64, 0u64), |(s, r), n| {
        (
            s.saturating_add(n.total_transmitted()),
            r.saturating_add(n.total_received()),
        )
    })
}

/// The process's threads (`Threads:` of `/proc/self/status` on Linux; sysinfo's tasks
/// elsewhere, where it knows them).
fn thread_count(process: Option<&sysinfo::Process>) -> Option<u64> {
    if cfg!(target_os = "linux") {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok())
    } else {
        process?.tasks().map(|t| t.len() as u64)
    }
}

/// TCP segments retransmitted since boot (`RetransSegs` of `/proc/net/snmp`, Linux).
fn tcp_retransmits() -> Option<u64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    parse_retransmits(&std::fs::read_to_string("/proc/net/snmp").ok()?)
}

/// `RetransSegs` from the two `Tcp:` lines of `/proc/net/snmp` (names, then values).
pub(crate) fn parse_retransmits(snmp: &str) -> Option<u64> {
    let mut tcp = snmp.lines().filter_map(|l| l.strip_prefix("Tcp:"));
    let (names, values) = (tcp.next()?, tcp.next()?);
    let at = names.split_whitespace().position(|n| n == "RetransSegs")?;
    values.split_whitespace().nth(at)?.parse().ok()
}

/// The running sampler; dropping it (or [`Sampler::stop`]) ends it at once.
#[derive(Debug)]
pub(crate) struct Sampler {
    stop: Sender<()>,
}

impl Sampler {
    /// Stops the sampler: it ends without waiting out its interval (a sample being taken
    /// finishes first; whatever it sends after the run's end is dropped).
    pub(crate) fn stop(self) {
        let _gone = self.stop.send(());
    }
}

/// Sends the run's metadata to the writer at once (when `settings.metadata`: about 0.4 ms,
/// so that even a run finished right away has it), then starts the `wandb-system` thread
/// that sends samples (when `settings.stats`) through `tx`. `None` when sampling is off or
/// the thread cannot start (the run goes on without it).
pub(crate) fn spawn(
    settings: SystemSettings,
    input: &MetadataInput,
    tx: UnboundedSender<Message>,
) -> Option<Sampler> {
    if !settings.stats && !settings.metadata {
        return None;
    }
    let mut machine = Machine::new(&["/"], true);
    if settings.metadata {
        let env = Environment::new(input, &machine.resources());
        tx.send(Message::Environment(Box::new(env))).ok()?;
    }
    if !settings.stats {
        return None;
    }
    let (stop, stopped) = channel();
    let started = std::thread::Builder::new()
        .name("wandb-system".into())
        .spawn(move || {
            let mut clock = StopClock {
                start: Instant::now(),
                stop: stopped,
            };
            sample_loop(&mut machine, &mut clock, settings.interval, |record| {
                tx.send(Message::Stats(record)).is_ok()
            });
        });
    match started {
        Ok(_detached) => Some(Sampler { stop }),
        Err(e) => {
            tracing::warn!(error = %e, "cannot start the system-metrics thread; the run goes on without it");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Time that passes only when waited for: a sample every 15 s costs nothing.
    struct FakeClock {
        now: Duration,
        unix_start: f64,
        /// Waits allowed before the clock says stop.
        waits: u32,
    }

    impl Clock for FakeClock {
        fn elapsed(&self) -> Duration {
            self.now
        }
        fn unix_now(&self) -> f64 {
            self.unix_start + self.now.as_secs_f64()
        }
        fn wait_until(&mut self, at: Duration) -> bool {
            if self.waits == 0 {
                return false;
            }
            self.waits -= 1;
            self.now = self.now.max(at);
            true
        }
    }

    /// Counts its samples; `slow` makes each take that long on the fake clock.
    struct Counter {
        n: u32,
    }

    impl Probe for Counter {
        fn sample(&mut self, out: &mut Vec<(String, f64)>) {
            self.n += 1;
            out.push(("cpu".into(), f64::from(self.n)));
            out.push(("proc.cpu.threads".into(), 4.0));
        }
    }

    #[test]
    fn ten_samples_at_fifteen_seconds_take_no_time() {
        let mut clock = FakeClock {
            now: Duration::ZERO,
            unix_start: 1_000.0,
            waits: 10,
        };
        let mut records = Vec::new();
        let n = sample_loop(&mut Counter { n: 0 }, &mut clock, DEFAULT_INTERVAL, |r| {
            records.push(r);
            true
        });
        assert_eq!(n, 10);
        let times: Vec<i64> = records
            .iter()
            .map(|r| r.timestamp.as_ref().expect("timestamp").seconds)
            .collect();
        assert_eq!(times, (1..=10).map(|i| 1_000 + 15 * i).collect::<Vec<_>>());
        let first: Vec<(&str, &str)> = records[0]
            .item
            .iter()
            .map(|i| (i.key.as_str(), i.value_json.as_str()))
            .collect();
        assert_eq!(first, [("cpu", "1.0"), ("proc.cpu.threads", "4.0")]);
    }

    #[test]
    fn a_refused_record_ends_the_loop() {
        let mut clock = FakeClock {
            now: Duration::ZERO,
            unix_start: 0.0,
            waits: 100,
        };
        let mut calls = 0;
        let n = sample_loop(&mut Counter { n: 0 }, &mut clock, DEFAULT_INTERVAL, |_| {
            calls += 1;
            calls < 3
        });
        assert_eq!((n, calls), (2, 3));
    }

    /// A probe that takes 40 s on the fake clock: the ticks it overran are skipped.
    struct Slow<'a>(&'a std::cell::Cell<Duration>);

    impl Probe for Slow<'_> {
        fn sample(&mut self, out: &mut Vec<(String, f64)>) {
            self.0.set(self.0.get() + Duration::from_secs(40));
            out.push(("cpu".into(), 1.0));
        }
    }

    struct SharedClock<'a> {
        now: &'a std::cell::Cell<Duration>,
        waits: Vec<Duration>,
    }

    impl Clock for SharedClock<'_> {
        fn elapsed(&self) -> Duration {
            self.now.get()
        }
        fn unix_now(&self) -> f64 {
            self.now.get().as_secs_f64()
        }
        fn wait_until(&mut self, at: Duration) -> bool {
            if self.waits.len() == 3 {
                return false;
            }
            self.waits.push(at);
            self.now.set(self.now.get().max(at));
            true
        }
    }

    #[test]
    fn ticks_missed_by_a_slow_sample_are_skipped() {
        let now = std::cell::Cell::new(Duration::ZERO);
        let mut clock = SharedClock {
            now: &now,
            waits: Vec::new(),
        };
        sample_loop(&mut Slow(&now), &mut clock, DEFAULT_INTERVAL, |_| true);
        // 15 s: sample until 55 s; next tick 60 s: sample until 100 s; next tick 105 s.
        let secs: Vec<u64> = clock.waits.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [15, 60, 105]);
    }

    #[test]
    fn the_real_clock_stops_at_once() {
        let (stop, stopped) = channel();
        let mut clock = StopClock {
            start: Instant::now(),
            stop: stopped,
        };
        stop.send(()).expect("send");
        // Far in the future: returns false at once instead of waiting.
        assert!(!clock.wait_until(Duration::from_secs(3600)));
        drop(stop);
        assert!(!clock.wait_until(Duration::from_secs(3600)));
    }

    #[test]
    fn an_events_line_has_the_official_shape() {
        let record = stats_record(
            &[("cpu".into(), 9.5), ("disk./.usageGB".into(), 23.0)],
            1_796_612_934.75,
        );
        assert_eq!(
            events_line(&record, 1_796_612_933.5),
            r#"{"_wandb":true,"_timestamp":1796612934.75,"_runtime":1.25,"system.cpu":9.5,"system.disk./.usageGB":23.0}"#
        );
    }

    #[test]
    fn retransmits_are_read_from_snmp() {
        let snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm RtoMin ActiveOpens RetransSegs InErrs\nTcp: 1 200 33 17 0\nUdp: InDatagrams\nUdp: 5\n";
        assert_eq!(parse_retransmits(snmp), Some(17));
        assert_eq!(parse_retransmits("Tcp: RetransSegs\n"), None);
        assert_eq!(parse_retransmits("Tcp: RetransSegs\nTcp: x\n"), None);
    }
}
