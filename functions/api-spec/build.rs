//! Turns the repository's `openapi.yaml` into the JSON the function serves, at build time: the
//! served document is the checked one, not a second copy.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let spec_path = manifest.join("../../openapi.yaml");
    println!("cargo:rerun-if-changed={}", spec_path.display());
    let spec: serde_json::Value = serde_norway::from_str(&std::fs::read_to_string(&spec_path)?)?;
    let json = serde_json::to_string(&spec)?;
    std::fs::write(
        PathBuf::from(std::env::var("OUT_DIR")?).join("openapi.json"),
        json,
    )?;
    Ok(())
}
