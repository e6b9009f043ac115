//! The run's metadata: the machine and the program, as the official client 0.31.0 records
//! them. Two `environment` records go into the `.wandb` log (the execution context: OS,
//! host, program, arguments, start time, executable, root directory, git; then the
//! resources: CPU counts and model, memory, disk, GPUs, Slurm variables), both with the
//! writer's id; `files/wandb-metadata.json` holds the two merged, in the JSON the official
//! client writes (protobuf's JSON mapping: its field names, 64-bit numbers as strings), and a
//! `files` record names it for upload.

use std::io;
use std::path::PathBuf;

use prost::Message;

use serde_json::{Map, Value as Json, json};

use crate::gpu::GpuInventory;
use crate::offline_run::OfflineRun;
use crate::offline_run::{civil_from_days, timestamp};
use crate::origin::Origin;
use crate::proto::files_item::{FileType, PolicyType};
use crate::proto::record::RecordType;
use crate::proto::{CpuInfo, DiskInfo, EnvironmentRecord, FilesItem, MemoryInfo, Timestamp};

/// The name of the metadata file in the run's `files/`.
pub(crate) const METADATA_FILE: &str = "wandb-metadata.json";

/// What the run knows when it starts, for its metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct MetadataInput {
    /// The run's start (Unix seconds).
    pub(crate) started_at: f64,
    /// The directory that holds `wandb/`.
    pub(crate) root: PathBuf,
    /// The host, program and git state.
    pub(crate) origin: Origin,
    /// `SLURM_*` variables, lower-cased without the prefix.
    pub(crate) slurm: Vec<(String, String)>,
}

/// What the machine offers, read once.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Resources {
    pub(crate) cpu_count: u32,
    pub(crate) cpu_count_logical: u32,
    pub(crate) cpu_model: String,
    pub(crate) memory_total: u64,
    /// Disk paths (`/`) with their total and used bytes.
    pub(crate) disks: Vec<(String, u64, u64)>,
    pub(crate) gpus: GpuInventory,
}

/// The two environment records of a run writer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Environment {
    pub(crate) context: EnvironmentRecord,
    pub(crate) resources: EnvironmentRecord,
}

impl Environment {
    /// The records for `input` and the machine's `resources`.
    pub(crate) fn new(input: &MetadataInput, resources: &Resources) -> Environment {
        let writer_id = writer_id();
        let context = EnvironmentRecord {
            os: os_name(),
            started_at: Some(timestamp(input.started_at)),
            // `std::env::args` would panic on an argument that is not UTF-8.
            args: std::env::args_os()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            program: input.origin.program.clone(),
            git: input.origin.git.clone(),
            root: std::path::absolute(&input.root)
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            host: input.origin.host.clone(),
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            writer_id: writer_id.clone(),
            ..EnvironmentRecord::default()
        };
        let gpus = &resources.gpus;
        let resources = EnvironmentRecord {
            cpu_count: resources.cpu_count,
            cpu_count_logical: resources.cpu_count_logical,
            gpu_type: gpus
                .devices
                .first()
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            gpu_count: u32::try_from(gpus.devices.len()).unwrap_or(u32::MAX),
            disk: resources
                .disks
                .iter()
                .map(|(path, total, used)| {
                    let info = DiskInfo {
                        total: *total,
                        used: *used,
                    };
                    (path.clone(), info)
                })
                .collect(),
            memory: (resources.memory_total > 0).then_some(MemoryInfo {
                total: resources.memory_total,
            }),
            cpu: (!resources.cpu_model.is_empty()).then(|| CpuInfo {
                model: resources.cpu_model.clone(),
                ..CpuInfo::default()
            }),
            gpu_nvidia: gpus.devices.clone(),
            cuda_version: gpus.cuda_version.clone().unwrap_or_default(),
            slurm: input.slurm.iter().cloned().collect(),
            writer_id,
            ..EnvironmentRecord::default()
        };
        Environment { context, resources }
    }

    /// `wandb-metadata.json`: both records merged, in protobuf's JSON mapping.
    pub(crate) fn metadata_json(&self) -> String {
        let merged = merge(&self.context, self.resources.clone());
        serde_json::to_string_pretty(&record_json(&merged)).unwrap_or_default()
    }
}

/// `from` merged into `into` as protobuf merges messages (set fields win, lists append, maps
/// merge): by decoding the two encodings one after the other.
pub(crate) fn merge(into: &EnvironmentRecord, from: EnvironmentRecord) -> EnvironmentRecord {
    let mut bytes = into.encode_to_vec();
    from.encode(&mut bytes).unwrap_or_default();
    EnvironmentRecord::decode(&bytes[..]).unwrap_or(from)
}

/// An environment record in protobuf's JSON mapping (the official client's
/// `wandb-metadata.json`, and config `_wandb.e.<writer id>`): its JSON field names, in field
/// order, 64-bit numbers as strings, unset fields left out.
pub(crate) fn record_json(e: &EnvironmentRecord) -> Json {
    let mut m = Map::new();
    let text = |m: &mut Map<String, Json>, key: &str, v: &str| {
        if !v.is_empty() {
            m.insert(key.into(), Json::String(v.to_owned()));
        }
    };
    text(&mut m, "os", &e.os);
    text(&mut m, "python", &e.python);
    if let Some(t) = &e.started_at {
        m.insert("startedAt".into(), Json::String(rfc3339(t)));
    }
    text(&mut m, "docker", &e.docker);
    if !e.args.is_empty() {
        m.insert("args".into(), json!(e.args));
    }
    text(&mut m, "program", &e.program);
    text(&mut m, "codePath", &e.code_path);
    text(&mut m, "codePathLocal", &e.code_path_local);
    if let Some(g) = &e.git {
        let mut git = Map::new();
        text(&mut git, "remote", &g.remote_url);
        text(&mut git, "commit", &g.commit);
        m.insert("git".into(), Json::Object(git));
    }
    text(&mut m, "email", &e.email);
    text(&mut m, "root", &e.root);
    text(&mut m, "host", &e.host);
    text(&mut m, "username", &e.username);
    text(&mut m, "executable", &e.executable);
    text(&mut m, "colab", &e.colab);
    let count = |m: &mut Map<String, Json>, key: &str, n: u32| {
        if n > 0 {
            m.insert(key.into(), json!(n));
        }
    };
    count(&mut m, "cpu_count", e.cpu_count);
    count(&mut m, "cpu_count_logical", e.cpu_count_logical);
    text(&mut m, "gpu", &e.gpu_type);
    count(&mut m, "gpu_count", e.gpu_count);
    if !e.disk.is_empty() {
        let disks = e
            .disk
            .iter()
            .map(|(path, d)| {
                let mut disk = Map::new();
                big(&mut disk, "total", d.total);
                big(&mut disk, "used", d.used);
                (path.clone(), Json::Object(disk))
            })
            .collect();
        m.insert("disk".into(), Json::Object(disks));
    }
    if let Some(mem) = &e.memory {
        let mut memory = Map::new();
        big(&mut memory, "total", mem.total);
        m.insert("memory".into(), Json::Object(memory));
    }
    if let Some(cpu) = &e.cpu {
        let mut info = Map::new();
        count(&mut info, "count", cpu.count);
        count(&mut info, "countLogical", cpu.count_logical);
        text(&mut info, "model", &cpu.model);
        m.insert("cpu".into(), Json::Object(info));
    }
    if !e.gpu_nvidia.is_empty() {
        let gpus = e
            .gpu_nvidia
            .iter()
            .map(|g| {
                let mut gpu = Map::new();
                text(&mut gpu, "name", &g.name);
                big(&mut gpu, "memoryTotal", g.memory_total);
                count(&mut gpu, "cudaCores", g.cuda_cores);
                text(&mut gpu, "architecture", &g.architecture);
                text(&mut gpu, "uuid", &g.uuid);
                Json::Object(gpu)
            })
            .collect();
        m.insert("gpu_nvidia".into(), Json::Array(gpus));
    }
    text(&mut m, "cudaVersion", &e.cuda_version);
    if !e.slurm.is_empty() {
        m.insert("slurm".into(), json!(e.slurm));
    }
    text(&mut m, "writerId", &e.writer_id);
    Json::Object(m)
}

/// A 64-bit number as protobuf's JSON writes it: a string, left out when zero.
fn big(m: &mut Map<String, Json>, key: &str, n: u64) {
    if n > 0 {
        m.insert(key.into(), Json::String(n.to_string()));
    }
}

/// The OS as the official client names it: `Linux-<kernel>-<arch>`, `macOS-<version>-<arch>`,
/// `Windows-<version>`.
fn os_name() -> String {
    let arch = std::env::consts::ARCH;
    match std::env::consts::OS {
        "linux" => format!(
            "Linux-{}-{arch}",
            sysinfo::System::kernel_version().unwrap_or_default()
        ),
        "macos" => format!(
            "macOS-{}-{arch}",
            sysinfo::System::os_version().unwrap_or_default()
        ),
        "windows" => format!(
            "Windows-{}",
            sysinfo::System::os_version().unwrap_or_default()
        ),
        other => format!(
            "{other}-{}-{arch}",
            sysinfo::System::kernel_version().unwrap_or_default()
        ),
    }
}

/// RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as protobuf's JSON writes times.
fn rfc3339(t: &Timestamp) -> String {
    let (days, secs) = (t.seconds.div_euclid(86_400), t.seconds.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let frac = match t.nanos {
        0 => String::new(),
        n if n % 1_000_000 == 0 => format!(".{:03}", n / 1_000_000),
        n if n % 1_000 == 0 => format!(".{:06}", n / 1_000),
        n => format!(".{n:09}"),
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A fresh writer id: a UUID version 7 (time-ordered), as the official client's.
fn writer_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let random =
        u128::from(crate::settings::random_u64()) << 64 | u128::from(crate::settings::random_u64());
    let millis = now.as_millis() & ((1 << 48) - 1);
    let bits = millis << 80
        | 0x7 << 76
        | (random & 0x0fff) << 64
        | 0b10 << 62
        | (random >> 64) & ((1 << 62) - 1);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `SLURM_*` variables of the process, as the official client records them (variables that
/// are not UTF-8 are skipped: `std::env::vars` would panic on them).
pub(crate) fn slurm_vars() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| {
            let name = k.to_str()?.strip_prefix("SLURM_")?.to_lowercase();
            Some((name, v.into_string().ok()?))
        })
        .collect()
}

/// Writes the metadata to the run: both `environment` records, `files/wandb-metadata.json`,
/// and a `files` record that names it for upload.
pub(crate) fn write(log: &mut OfflineRun, env: &Environment) -> io::Result<()> {
    for record in [&env.context, &env.resources] {
        log.record(RecordType::Environment(record.clone()))?;
    }
    let mut json = env.metadata_json();
    json.push('\n');
    std::fs::write(log.dir().join("files").join(METADATA_FILE), json)?;
    log.files(vec![FilesItem {
        path: METADATA_FILE.to_owned(),
        policy: PolicyType::Now.into(),
        r#type: FileType::Wandb.into(),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{GitRepoRecord, GpuNvidiaInfo};

    /// The reference run's two records (`media-records-0.31.0.txt`), with git, a GPU and a
    /// Slurm variable added.
    fn reference() -> Environment {
        let writer_id = "01a24e79-c84a-7ab8-ac14-615c8507b150".to_owned();
        Environment {
            context: EnvironmentRecord {
                os: "Linux-6.18.44-fc-v1300-x86_64-with-glibc2.36".into(),
                python: "CPython 3.11.7".into(),
                started_at: Some(Timestamp {
                    seconds: 1_796_612_933,
                    nanos: 495_590_000,
                }),
                args: vec!["OUT_DIR".into()],
                program: "media_reference.py".into(),
                root: "OUT_DIR".into(),
                host: "vm".into(),
                executable: "DIR/venv/bin/python".into(),
                git: Some(GitRepoRecord {
                    remote_url: "https://github.com/a/b.git".into(),
                    commit: "0123456789abcdef0123456789abcdef01234567".into(),
                }),
                writer_id: writer_id.clone(),
                ..EnvironmentRecord::default()
            },
            resources: EnvironmentRecord {
                cpu_count: 2,
                cpu_count_logical: 2,
                disk: [(
                    "/".to_owned(),
                    DiskInfo {
                        total: 270_553_174_016,
                        used: 24_767_012_864,
                    },
                )]
                .into_iter()
                .collect(),
                memory: Some(MemoryInfo {
                    total: 25_276_182_528,
                }),
                cpu: Some(CpuInfo {
                    model: "AMD EPYC".into(),
                    ..CpuInfo::default()
                }),
                gpu_type: "NVIDIA A100".into(),
                gpu_count: 1,
                gpu_nvidia: vec![GpuNvidiaInfo {
                    name: "NVIDIA A100".into(),
                    memory_total: 42_949_672_960,
                    cuda_cores: 6912,
                    architecture: "Ampere".into(),
                    uuid: "GPU-1".into(),
                }],
                cuda_version: "12.4".into(),
                slurm: [("job_id".to_owned(), "42".to_owned())]
                    .into_iter()
                    .collect(),
                writer_id,
                ..EnvironmentRecord::default()
            },
        }
    }

    /// The fixture is the official protobuf classes' JSON of the same records (wandb 0.31.0,
    /// `json_format.MessageToJson(record, indent=2)`), key for key and in the same order.
    #[test]
    fn metadata_json_is_the_official_json_of_the_records() {
        let expected = include_str!("../tests/fixtures/wandb-metadata-0.31.0.json");
        assert_eq!(reference().metadata_json(), expected.trim_end());
    }

    #[test]
    fn times_are_rfc3339_with_protobuf_precision() {
        let t = |seconds, nanos| rfc3339(&Timestamp { seconds, nanos });
        assert_eq!(t(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(t(1_796_612_933, 495_000_000), "2026-12-07T03:08:53.495Z");
        assert_eq!(t(1_796_612_933, 495_590_000), "2026-12-07T03:08:53.495590Z");
        assert_eq!(t(951_782_400, 1), "2000-02-29T00:00:00.000000001Z");
        assert_eq!(timestamp(f64::NAN), Timestamp::default());
    }

    #[test]
    fn writer_ids_are_uuid_v7() {
        let id = writer_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('7'), "{id}");
        assert!(
            matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{id}"
        );
    }

    #[test]
    fn the_context_names_the_program_git_and_start() {
        let input = MetadataInput {
            started_at: 1_796_612_933.5,
            root: std::env::temp_dir(),
            origin: Origin {
                host: "trainer-7".into(),
                program: "train".into(),
                git: Some(GitRepoRecord {
                    remote_url: "https://example.com/x.git".into(),
                    commit: "0123456789abcdef0123456789abcdef01234567".into(),
                }),
            },
            ..MetadataInput::default()
        };
        let env = Environment::new(&input, &Resources::default());
        let c = &env.context;
        assert_eq!(
            (c.host.as_str(), c.program.as_str()),
            ("trainer-7", "train")
        );
        assert_eq!(
            c.started_at,
            Some(Timestamp {
                seconds: 1_796_612_933,
                nanos: 500_000_000
            })
        );
        assert_eq!(env.context.git, input.origin.git);
        assert_eq!(c.writer_id, env.resources.writer_id);
        assert!(!c.os.is_empty() && !c.executable.is_empty());
        let json: Json = serde_json::from_str(&env.metadata_json()).expect("json");
        assert_eq!(json["startedAt"], "2026-12-07T03:08:53.500Z");
        assert_eq!(json["memory"], Json::Null, "no memory total: left out");
        assert_eq!(
            json["git"]["commit"],
            "0123456789abcdef0123456789abcdef01234567"
        );
    }
}
