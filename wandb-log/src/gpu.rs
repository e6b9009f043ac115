//! NVIDIA GPUs through NVML, loaded at run time (`libnvidia-ml`): a machine without the
//! driver builds and runs the same, it just has no GPU metrics. Keys and units are the
//! official client's: `gpu.N.gpu` (utilization, %), `gpu.N.memory` (memory-controller
//! utilization, %), `gpu.N.memoryAllocated` (% of the memory), `gpu.N.memoryAllocatedBytes`,
//! `gpu.N.temp` (°C), `gpu.N.powerWatts`, `gpu.N.enforcedPowerLimitWatts` and
//! `gpu.N.powerPercent`. A query a device does not support is not asked again. Where NVML
//! cannot exist (targets other than Unix and Windows) there are no GPUs.

use crate::proto::GpuNvidiaInfo;

/// The GPUs of the machine, for the run's metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct GpuInventory {
    pub(crate) devices: Vec<GpuNvidiaInfo>,
    /// The CUDA version the driver supports (`12.4`).
    pub(crate) cuda_version: Option<String>,
}

#[cfg(any(unix, windows))]
pub(crate) use nvml::Gpus;

#[cfg(not(any(unix, windows)))]
pub(crate) use no_nvml::Gpus;

/// NVML through `nvml-wrapper`.
#[cfg(any(unix, windows))]
mod nvml {
    use nvml_wrapper::Nvml;
    use nvml_wrapper::enum_wrappers::device::TemperatureSensor;

    use super::{GpuInventory, GpuNvidiaInfo};

    /// Which queries each device answers (a failed query is not tried again).
    #[derive(Debug, Clone, Copy)]
    struct Supported {
        utilization: bool,
        memory: bool,
        temperature: bool,
        power: bool,
        power_limit: bool,
    }

    impl Default for Supported {
        fn default() -> Self {
            Supported {
                utilization: true,
                memory: true,
                temperature: true,
                power: true,
                power_limit: true,
            }
        }
    }

    /// NVML, opened.
    pub(crate) struct Gpus {
        nvml: Nvml,
        supported: Vec<Supported>,
    }

    impl std::fmt::Debug for Gpus {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Gpus")
                .field("count", &self.supported.len())
                .finish_non_exhaustive()
        }
    }

    impl Gpus {
        /// NVML with at least one GPU, or `None` (no driver, no library, no device).
        pub(crate) fn open() -> Option<Gpus> {
            let nvml = Nvml::init().ok()?;
            let count = nvml.device_count().ok().filter(|&n| n > 0)?;
            Some(Gpus {
                nvml,
                supported: vec![Supported::default(); count as usize],
            })
        }

        /// Names, memory, architecture and ids of the GPUs.
        pub(crate) fn inventory(&self) -> GpuInventory {
            let devices = (0..self.supported.len())
                .filter_map(|i| {
                    let d = self.nvml.device_by_index(u32::try_from(i).ok()?).ok()?;
                    Some(GpuNvidiaInfo {
                        name: d.name().unwrap_or_default(),
                        memory_total: d.memory_info().map_or(0, |m| m.total),
                        cuda_cores: d.num_cores().unwrap_or(0),
                        architecture: d.architecture().map(|a| a.to_string()).unwrap_or_default(),
                        uuid: d.uuid().unwrap_or_default(),
                    })
                })
                .collect();
            let cuda_version = self.nvml.sys_cuda_driver_version().ok().map(|v| {
                format!(
                    "{}.{}",
                    nvml_wrapper::cuda_driver_version_major(v),
                    nvml_wrapper::cuda_driver_version_minor(v)
                )
            });
            GpuInventory {
                devices,
                cuda_version,
            }
        }

        /// One sample of every GPU into `out`.
        pub(crate) fn sample(&mut self, out: &mut Vec<(String, f64)>) {
            for (i, supported) in self.supported.iter_mut().enumerate() {
                let Ok(index) = u32::try_from(i) else { break };
                let Ok(d) = self.nvml.device_by_index(index) else {
                    continue;
                };
                let mut put = |name: &str, v: f64| out.push((format!("gpu.{i}.{name}"), v));
                if supported.utilization {
                    match d.utilization_rates() {
                        Ok(u) => {
                            put("gpu", f64::from(u.gpu));
                            put("memory", f64::from(u.memory));
                        }
                        Err(_) => supported.utilization = false,
                    }
                }
                if supported.memory {
                    match d.memory_info() {
                        #[expect(clippy::cast_precision_loss, reason = "bytes as a float metric")]
                        Ok(m) if m.total > 0 => {
                            put("memoryAllocated", m.used as f64 / m.total as f64 * 100.0);
                            put("memoryAllocatedBytes", m.used as f64);
                        }
                        _ => supported.memory = false,
                    }
                }
                if supported.temperature {
                    match d.temperature(TemperatureSensor::Gpu) {
                        Ok(t) => put("temp", f64::from(t)),
                        Err(_) => supported.temperature = false,
                    }
                }
                let mut watts = None;
                if supported.power {
                    match d.power_usage() {
                        Ok(mw) => {
                            let w = f64::from(mw) / 1000.0;
                            watts = Some(w);
                            put("powerWatts", w);
                        }
                        Err(_) => supported.power = false,
                    }
                }
                if supported.power_limit {
                    match d.enforced_power_limit() {
                        Ok(mw) if mw > 0 => {
                            let limit = f64::from(mw) / 1000.0;
                            put("enforcedPowerLimitWatts", limit);
                            if let Some(w) = watts {
                                put("powerPercent", w / limit * 100.0);
                            }
                        }
                        _ => supported.power_limit = false,
                    }
                }
            }
        }
    }
}

/// No NVML on this target.
#[cfg(not(any(unix, windows)))]
mod no_nvml {
    use super::GpuInventory;

    /// No GPUs.
    #[derive(Debug)]
    pub(crate) struct Gpus;

    impl Gpus {
        pub(crate) fn open() -> Option<Gpus> {
            None
        }

        pub(crate) fn inventory(&self) -> GpuInventory {
            GpuInventory::default()
        }

        pub(crate) fn sample(&mut self, _out: &mut Vec<(String, f64)>) {}
    }
}
