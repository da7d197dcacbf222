//! The functions' JSON log lines, as the stack writes them: each invocation's last line says how
//! long its handler took and how many AWS calls it made.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

/// How far `log` has been written: read from here to see only what comes next.
pub fn length(log: &Path) -> usize {
    std::fs::metadata(log).map_or(0, |m| usize::try_from(m.len()).unwrap_or(0))
}

/// The JSON entries written to `log` after byte `from` whose message is `message`.
pub fn entries_after(log: &Path, from: usize, message: &str) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read(log).with_context(|| log.display().to_string())?;
    Ok(text
        .get(from..)
        .unwrap_or_default()
        .split(|byte| *byte == b'\n')
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
        .filter(|entry| entry["message"] == message)
        .collect())
}

/// The sum of a numeric field over `entries`.
pub fn total(entries: &[Value], field: &str) -> u64 {
    entries.iter().filter_map(|entry| entry[field].as_u64()).sum()
}
