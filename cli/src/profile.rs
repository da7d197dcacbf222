//! The profile `invoicer login` writes: the API's URL, who logged in, and their tokens, in
//! `invoicer/profile.json` under the OS's configuration directory (`$XDG_CONFIG_HOME`, else
//! `~/.config`; `%APPDATA%` on Windows). Only its owner may read it (mode 0600, in a 0700
//! directory); it is replaced whole, never left half written. Its tokens are never printed.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
pub struct Profile {
    pub api_url: String,
    pub email: String,
    pub refresh_token: String,
    /// The last access token, reused until a minute before it expires.
    #[serde(default)]
    pub access_token: Option<String>,
    /// When it expires, in Unix seconds.
    #[serde(default)]
    pub access_expires_at: Option<u64>,
}

/// Where the profile is kept.
pub fn path() -> Result<PathBuf, String> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("APPDATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
        .ok_or("no configuration directory: set XDG_CONFIG_HOME or HOME")?;
    Ok(base.join("invoicer").join("profile.json"))
}

/// The profile, if someone logged in.
pub fn load(path: &Path) -> Result<Option<Profile>, String> {
    match std::fs::read(path) {
        // serde's message could quote a token: it is not shown.
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| format!("{} is not a profile: invoicer login again", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!("reading {}: {error}", path.display())),
    }
}

/// Writes the profile, readable by its owner only.
pub fn save(path: &Path, profile: &Profile) -> Result<(), String> {
    let failed = |error: std::io::Error| format!("writing {}: {error}", path.display());
    let dir = path.parent().ok_or("the profile has no directory")?;
    private_dir(dir).map_err(failed)?;
    let text = serde_json::to_vec_pretty(profile).map_err(|error| error.to_string())?;
    let temporary = dir.join(format!(".profile.{}.tmp", std::process::id()));
    // Made anew, so that its mode is the one given.
    let _ = std::fs::remove_file(&temporary);
    let mut file = private_file(&temporary).map_err(failed)?;
    file.write_all(&text).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    std::fs::rename(&temporary, path).map_err(failed)
}

/// Remembers which file a lot was submitted from (for `batches errors`), beside the profile;
/// best effort.
pub fn remember_source(batch_id: &str, source: &Path) {
    let Ok(profile) = path() else { return };
    if !batch_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return;
    }
    let Some(dir) = profile.parent().map(|dir| dir.join("batches")) else {
        return;
    };
    let (Some(stamp), Some(source)) = (stamp(source), source.to_str()) else {
        return;
    };
    if private_dir(&dir).is_ok() {
        let _ = std::fs::write(dir.join(batch_id), format!("{stamp}\n{source}"));
    }
}

/// The file a lot was submitted from on this machine, if it is known; `Err` when it changed
/// since (its rows would no longer be the lot's).
pub fn source_of(batch_id: &str) -> Option<Result<PathBuf, String>> {
    let safe = batch_id.chars().all(|c| c.is_ascii_alphanumeric());
    let dir = path().ok()?.parent()?.join("batches");
    let text = std::fs::read_to_string(dir.join(batch_id))
        .ok()
        .filter(|_| safe)?;
    let (recorded, source) = text.split_once('\n')?;
    let source = PathBuf::from(source);
    Some(if stamp(&source).as_deref() == Some(recorded) {
        Ok(source)
    } else {
        Err(format!(
            "{} changed since the lot was submitted from it: give the lot's file with --input",
            source.display()
        ))
    })
}

/// A file's size and modification time, to tell whether it changed.
fn stamp(file: &Path) -> Option<String> {
    let metadata = std::fs::metadata(file).ok()?;
    let modified = metadata
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!("{} {}", metadata.len(), modified.as_nanos()))
}

/// Forgets the profile.
pub fn remove(path: &Path) -> Result<(), String> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(format!("removing {}: {error}", path.display())),
    }
}

#[cfg(unix)]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}
