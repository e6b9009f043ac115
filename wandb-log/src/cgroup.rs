//! The CPU and memory limits of the cgroup the process runs in (containers, Kubernetes, Slurm),
//! so that `cpu` and `memory_percent` are shares of what the process may use, not of the host,
//! as the official client reports them since 0.27.
//!
//! The limits are read once at start from the process's own cgroup directory (its leaf
//! cgroup, found through `/proc/self/cgroup` and `/proc/self/mountinfo`): cgroup v2
//! `memory.max` and `cpu.max`, and the CPUs in `Cpus_allowed_list` of `/proc/self/status`
//! when they are fewer than the host's. Cgroup v1 (`memory.limit_in_bytes`,
//! `cpu.cfs_quota_us` / `cpu.cfs_period_us`) is read as a fallback where no v2 hierarchy is
//! mounted (the official client reads v2 only). Only the memory in use is read again at each
//! sample. Anything missing, unlimited (`max`, `-1`, v1's "no limit" page-rounded maximum) or
//! malformed means "no limit"; nothing here fails or panics. Outside Linux the files do not
//! exist, and there is no limit.

use std::path::{Path, PathBuf};

/// A v1 memory limit at or above this is the kernel's "unlimited" (`PAGE_COUNTER_MAX`
/// rounded to pages, about 2^63).
const V1_UNLIMITED: u64 = 1 << 62;
/// More CPUs than any machine has: a larger count in a file is not believed.
const MAX_CPUS: u64 = 1 << 20;

/// The limits in force for this process.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CgroupLimits {
    /// The memory limit in bytes, and the file with the memory in use beside it.
    memory: Option<(u64, PathBuf)>,
    /// The CPUs the process may use (a fraction for a quota such as 1.5 CPUs).
    cpus: Option<f64>,
}

impl CgroupLimits {
    /// The limits of this process (`None` when none applies, or outside Linux).
    pub(crate) fn detect(logical_cpus: usize) -> Option<CgroupLimits> {
        if cfg!(target_os = "linux") {
            Self::detect_in(Path::new("/"), logical_cpus)
        } else {
            None
        }
    }

    /// As [`CgroupLimits::detect`], with `/proc` and the cgroup mounts under `root` (a
    /// fixture tree in tests).
    pub(crate) fn detect_in(root: &Path, logical_cpus: usize) -> Option<CgroupLimits> {
        let proc_self = root.join("proc/self");
        let membership = std::fs::read_to_string(proc_self.join("cgroup")).ok()?;
        let mounts = std::fs::read_to_string(proc_self.join("mountinfo")).ok()?;
        let allowed = std::fs::read_to_string(proc_self.join("status"))
            .ok()
            .and_then(|s| cpus_allowed(&s));
        let allowed = allowed.filter(|&n| logical_cpus == 0 || n < logical_cpus as u64);
        let groups = Membership::parse(&membership);
        let mounts = parse_mountinfo(&mounts);
        let limits = match v2_dir(&groups, &mounts, root) {
            Some(dir) => CgroupLimits {
                memory: read_limit(&dir.join("memory.max"), parse_v2_memory_max)
                    .map(|l| (l, dir.join("memory.current"))),
                cpus: read_limit(&dir.join("cpu.max"), parse_v2_cpu_max),
            },
            None => {
                let memory = v1_dir(&groups, &mounts, root, "memory").and_then(|dir| {
                    read_limit(&dir.join("memory.limit_in_bytes"), parse_v1_memory_limit)
                        .map(|l| (l, dir.join("memory.usage_in_bytes")))
                });
                let cpus = v1_dir(&groups, &mounts, root, "cpu").and_then(|dir| {
                    let quota = std::fs::read_to_string(dir.join("cpu.cfs_quota_us")).ok()?;
                    let period = std::fs::read_to_string(dir.join("cpu.cfs_period_us")).ok()?;
                    parse_v1_cpu_quota(&quota, &period)
                });
                CgroupLimits { memory, cpus }
            }
        };
        #[expect(clippy::cast_precision_loss, reason = "CPU counts are small")]
        let cpus = min_limit(limits.cpus, allowed.map(|n| n as f64));
        let limits = CgroupLimits { cpus, ..limits };
        (limits.memory.is_some() || limits.cpus.is_some()).then_some(limits)
    }

    /// The CPUs the process may use, if limited.
    pub(crate) fn cpus(&self) -> Option<f64> {
        self.cpus
    }

    /// The memory limit in bytes, if limited.
    #[cfg(test)]
    pub(crate) fn memory_limit(&self) -> Option<u64> {
        self.memory.as_ref().map(|(limit, _)| *limit)
    }

    /// The memory in use now and the limit, in bytes (`None` without a memory limit, or
    /// when the usage cannot be read).
    pub(crate) fn memory_usage(&self) -> Option<(u64, u64)> {
        let (limit, current) = self.memory.as_ref()?;
        let text = std::fs::read_to_string(current).ok()?;
        let used = text.trim().parse::<u64>().ok()?;
        Some((used, *limit))
    }
}

/// The smaller of two limits, either of which may be absent.
fn min_limit(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn read_limit<T>(path: &Path, parse: fn(&str) -> Option<T>) -> Option<T> {
    parse(&std::fs::read_to_string(path).ok()?)
}

/// cgroup v2 `memory.max`: bytes, or `max` (no limit).
pub(crate) fn parse_v2_memory_max(text: &str) -> Option<u64> {
    text.trim().parse::<u64>().ok().filter(|&n| n > 0)
}

/// cgroup v2 `cpu.max`: `$quota $period` in microseconds, `$quota` being `max` without a
/// limit. The CPUs that allows.
pub(crate) fn parse_v2_cpu_max(text: &str) -> Option<f64> {
    let mut fields = text.split_whitespace();
    let (quota, period) = (fields.next()?, fields.next());
    if fields.next().is_some() {
        return None;
    }
    quota_cpus(quota, period.unwrap_or("100000"))
}

/// cgroup v1 `memory.limit_in_bytes`: bytes; the kernel's maximum means no limit.
pub(crate) fn parse_v1_memory_limit(text: &str) -> Option<u64> {
    parse_v2_memory_max(text).filter(|&n| n < V1_UNLIMITED)
}

/// cgroup v1 `cpu.cfs_quota_us` (`-1`: no limit) and `cpu.cfs_period_us`: the CPUs allowed.
pub(crate) fn parse_v1_cpu_quota(quota: &str, period: &str) -> Option<f64> {
    quota_cpus(quota.trim(), period.trim())
}

/// Quota over period, when both are positive whole numbers.
fn quota_cpus(quota: &str, period: &str) -> Option<f64> {
    let quota = quota.parse::<u64>().ok().filter(|&q| q > 0)?;
    let period = period.parse::<u64>().ok().filter(|&p| p > 0)?;
    #[expect(clippy::cast_precision_loss, reason = "microsecond counts")]
    let cpus = quota as f64 / period as f64;
    (cpus.is_finite() && cpus <= MAX_CPUS as f64).then_some(cpus)
}

/// The number of CPUs in `Cpus_allowed_list` of `/proc/<pid>/status` (e.g. `0-3,8`).
pub(crate) fn cpus_allowed(status: &str) -> Option<u64> {
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?;
    let mut count: u64 = 0;
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (
                lo.trim().parse::<u64>().ok()?,
                hi.trim().parse::<u64>().ok()?,
            ),
            None => {
                let n = part.trim().parse::<u64>().ok()?;
                (n, n)
            }
        };
        if hi < lo {
            return None;
        }
        count = count.checked_add((hi - lo).checked_add(1)?)?;
    }
    (count > 0 && count <= MAX_CPUS).then_some(count)
}

/// Where the process sits in each hierarchy (`/proc/self/cgroup`).
#[derive(Debug, Default)]
struct Membership {
    /// The v2 (unified) path: the `0::<path>` line.
    unified: Option<String>,
    /// v1 hierarchies: their controllers and the path.
    v1: Vec<(Vec<String>, String)>,
}

impl Membership {
    fn parse(text: &str) -> Membership {
        let mut m = Membership::default();
        for line in text.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(id), Some(controllers), Some(path)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if id == "0" && controllers.is_empty() {
                m.unified = Some(path.to_owned());
            } else if !controllers.is_empty() {
                let names = controllers.split(',').map(str::to_owned).collect();
                m.v1.push((names, path.to_owned()));
            }
        }
        m
    }
}

/// One line of `/proc/self/mountinfo` that matters here.
#[derive(Debug, PartialEq)]
struct Mount {
    /// The directory of the filesystem mounted (`/` unless a subtree is bind-mounted).
    root: String,
    mount_point: String,
    fs_type: String,
    /// The superblock options (v1 names its controllers there).
    options: Vec<String>,
}

/// The cgroup mounts of `/proc/self/mountinfo`.
fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let mut right = right.split(' ');
            let (fs_type, _source, options) = (right.next()?, right.next()?, right.next()?);
            if !fs_type.starts_with("cgroup") {
                return None;
            }
            Some(Mount {
                root: unescape(left.get(3)?),
                mount_point: unescape(left.get(4)?),
                fs_type: fs_type.to_owned(),
                options: options.split(',').map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok());
        match octal {
            Some(b) => {
                out.push(b);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The directory of the process's v2 cgroup.
fn v2_dir(groups: &Membership, mounts: &[Mount], root: &Path) -> Option<PathBuf> {
    let path = groups.unified.as_deref()?;
    let mount = mounts.iter().find(|m| m.fs_type == "cgroup2")?;
    cgroup_dir(mount, path, root)
}

/// The directory of the process's v1 cgroup of `controller`.
fn v1_dir(groups: &Membership, mounts: &[Mount], root: &Path, controller: &str) -> Option<PathBuf> {
    let (_, path) = groups
        .v1
        .iter()
        .find(|(names, _)| names.iter().any(|n| n == controller))?;
    let mount = mounts
        .iter()
        .find(|m| m.fs_type == "cgroup" && m.options.iter().any(|o| o == controller))?;
    cgroup_dir(mount, path, root)
}

/// The cgroup `path` (relative to the hierarchy's root) as a directory under `mount`: a
/// container sees only a bind-mounted subtree, whose own path is stripped first. Paths that
/// climb out (`..`) are refused.
fn cgroup_dir(mount: &Mount, path: &str, root: &Path) -> Option<PathBuf> {
    let path = path.trim_end_matches('/');
    let mount_root = mount.root.trim_end_matches('/');
    let rel = if mount_root.is_empty() {
        path
    } else if path == mount_root {
        ""
    } else {
        path.strip_prefix(mount_root)
            .filter(|r| r.starts_with('/'))
            .unwrap_or(path)
    };
    let mut dir = root.join(mount.mount_point.trim_start_matches('/'));
    for part in rel.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            return None;
        }
        dir.push(part);
    }
    Some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/cgroup")
            .join(name)
    }

    #[test]
    fn v2_limits_are_read_from_the_leaf_cgroup() {
        let limits = CgroupLimits::detect_in(&fixture("v2"), 64).expect("limited");
        assert_eq!(limits.cpus(), Some(1.5));
        assert_eq!(limits.memory_limit(), Some(2 * 1024 * 1024 * 1024));
        assert_eq!(
            limits.memory_usage(),
            Some((512 * 1024 * 1024, 2 * 1024 * 1024 * 1024))
        );
    }

    #[test]
    fn v2_max_means_no_limit_but_a_cpuset_still_limits() {
        // memory.max and cpu.max say "max"; Cpus_allowed_list has 4 of the host's 64 CPUs.
        let limits = CgroupLimits::detect_in(&fixture("v2-max"), 64).expect("cpuset");
        assert_eq!(limits.memory_limit(), None);
        assert_eq!(limits.cpus(), Some(4.0));
        // On a host with 4 CPUs the same list is no limit at all.
        assert_eq!(CgroupLimits::detect_in(&fixture("v2-max"), 4), None);
    }

    #[test]
    fn v2_in_a_container_strips_the_bind_mounted_root() {
        let limits = CgroupLimits::detect_in(&fixture("v2-container"), 8).expect("limited");
        assert_eq!(limits.memory_limit(), Some(1_000_000_000));
        assert_eq!(limits.cpus(), Some(2.0));
    }

    #[test]
    fn v1_limits_are_read_where_no_v2_is_mounted() {
        let limits = CgroupLimits::detect_in(&fixture("v1"), 16).expect("limited");
        assert_eq!(limits.cpus(), Some(0.5));
        assert_eq!(limits.memory_limit(), Some(268_435_456));
        assert_eq!(limits.memory_usage(), Some((134_217_728, 268_435_456)));
    }

    #[test]
    fn v1_unlimited_values_are_no_limit() {
        assert_eq!(CgroupLimits::detect_in(&fixture("v1-unlimited"), 16), None);
    }

    #[test]
    fn hostile_files_are_no_limit_and_never_a_panic() {
        assert_eq!(CgroupLimits::detect_in(&fixture("hostile"), 8), None);
        assert_eq!(CgroupLimits::detect_in(&fixture("does-not-exist"), 8), None);
    }

    #[test]
    fn values_parse_as_the_kernel_writes_them() {
        assert_eq!(parse_v2_cpu_max("max 100000\n"), None);
        assert_eq!(parse_v2_cpu_max("200000 100000\n"), Some(2.0));
        assert_eq!(parse_v2_cpu_max("50000"), Some(0.5));
        for bad in [
            "",
            "0 100000",
            "-1 100000",
            "100000 0",
            "1e9 1",
            "NaN 1",
            "1 2 3",
            "99999999999999999999999 1",
        ] {
            assert_eq!(parse_v2_cpu_max(bad), None, "{bad:?}");
        }
        assert_eq!(parse_v2_memory_max("max\n"), None);
        assert_eq!(parse_v2_memory_max("0"), None);
        assert_eq!(parse_v2_memory_max("-5"), None);
        assert_eq!(parse_v2_memory_max(" 1024\n"), Some(1024));
        assert_eq!(parse_v1_memory_limit("9223372036854771712\n"), None);
        assert_eq!(parse_v1_memory_limit("1048576"), Some(1_048_576));
        assert_eq!(parse_v1_cpu_quota("-1\n", "100000\n"), None);
        assert_eq!(parse_v1_cpu_quota("150000\n", "100000\n"), Some(1.5));
        assert_eq!(parse_v1_cpu_quota("150000", "garbage"), None);
        assert_eq!(
            cpus_allowed("Name:\tx\nCpus_allowed_list:\t0-3,8\n"),
            Some(5)
        );
        assert_eq!(cpus_allowed("Cpus_allowed_list:\t7\n"), Some(1));
        for bad in [
            "3-1",
            "0-99999999999999",
            "a-b",
            "",
            "0-18446744073709551615",
        ] {
            assert_eq!(
                cpus_allowed(&format!("Cpus_allowed_list:\t{bad}\n")),
                None,
                "{bad:?}"
            );
        }
        assert_eq!(unescape(r"/sys/fs/my\040cgroup"), "/sys/fs/my cgroup");
        assert_eq!(unescape(r"\9\"), r"\9\");
    }

    #[test]
    fn paths_that_climb_out_are_refused() {
        let mount = Mount {
            root: "/".into(),
            mount_point: "/sys/fs/cgroup".into(),
            fs_type: "cgroup2".into(),
            options: Vec::new(),
        };
        assert_eq!(cgroup_dir(&mount, "/../../etc", Path::new("/")), None);
        assert_eq!(
            cgroup_dir(&mount, "/a/b/", Path::new("/r")),
            Some(PathBuf::from("/r/sys/fs/cgroup/a/b"))
        );
    }
}
