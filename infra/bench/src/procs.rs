//! The function processes of the stack, read from `/proc`: their CPU time and peak memory.

use std::collections::BTreeMap;
use std::path::Path;

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ: 100 on Linux's x86-64 and arm64).
const TICKS_PER_SECOND: f64 = 100.0;

/// The processes running the binary `binary`.
pub fn pids_of(binary: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .ok()
                .and_then(|cmdline| {
                    let program = cmdline.split(|byte| *byte == 0).next()?.to_vec();
                    Some(Path::new(&String::from_utf8_lossy(&program).into_owned()) == binary)
                })
                .unwrap_or(false)
        })
        .collect()
}

/// The CPU time (user and system) each process has used so far, in seconds.
pub fn cpu_seconds(pids: &[u32]) -> BTreeMap<u32, f64> {
    pids.iter()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The fields after the command's closing parenthesis; utime and stime are 14 and 15.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
            Some((*pid, ticks / TICKS_PER_SECOND))
        })
        .collect()
}

/// The CPU seconds used between two readings, by the processes in both.
pub fn cpu_used(before: &BTreeMap<u32, f64>, after: &BTreeMap<u32, f64>) -> f64 {
    after
        .iter()
        .filter_map(|(pid, seconds)| Some(seconds - before.get(pid)?))
        .sum()
}

/// The peak resident memory (VmHWM) of a process, in MiB.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
