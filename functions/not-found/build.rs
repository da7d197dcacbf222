//! Extracts the HTTP routes of `template.yaml` at build time, so that the `$default` function
//! can tell "no such path" (404) from "not with this method" (405) without a copy of the routes.

use std::path::PathBuf;

use serde_norway::Value;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let template_path = manifest.join("../../template.yaml");
    println!("cargo:rerun-if-changed={}", template_path.display());
    let template: Value = serde_norway::from_str(&std::fs::read_to_string(&template_path)?)?;
    let mut routes = Vec::new();
    if let Some(resources) = template.get("Resources").and_then(Value::as_mapping) {
        for resource in resources.values() {
            let Some(events) = resource.get("Properties").and_then(|p| p.get("Events")) else {
                continue;
            };
            for event in events.as_mapping().into_iter().flat_map(|m| m.values()) {
                if event.get("Type").and_then(Value::as_str) != Some("HttpApi") {
                    continue;
                }
                let properties = event.get("Properties");
                let path = properties.and_then(|p| p.get("Path")).and_then(Value::as_str);
                let method = properties.and_then(|p| p.get("Method")).and_then(Value::as_str);
                if let (Some(path), Some(method)) = (path, method) {
                    routes.push(format!("({method:?}, {path:?})"));
                }
            }
        }
    }
    routes.sort();
    let source = format!(
        "/// The (method, path) of every route in template.yaml.\npub const ROUTES: &[(&str, &str)] = &[{}];\n",
        routes.join(", ")
    );
    std::fs::write(PathBuf::from(std::env::var("OUT_DIR")?).join("routes.rs"), source)?;
    Ok(())
}
