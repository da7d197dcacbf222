//! The files a command reads and writes.

use std::path::Path;

use crate::api::Failure;

/// A file the command was given.
pub fn read(file: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(file).map_err(|error| Failure::Usage(format!("reading {}: {error}", file.display())))
}

/// Writes `bytes` to `out`, or to stdout.
pub fn write_out(out: Option<&Path>, bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write as _;
    match out {
        Some(path) => std::fs::write(path, bytes)
            .map_err(|error| Failure::Usage(format!("writing {}: {error}", path.display()))),
        None => std::io::stdout()
            .lock()
            .write_all(bytes)
            .map_err(|error| Failure::Failed(format!("writing: {error}"))),
    }
}
