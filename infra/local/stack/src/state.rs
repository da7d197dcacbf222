//! What a running stack writes down about itself, so that tests and tools can attach to it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::template::Physical;

/// The state file of a running stack (`stack.json` in its directory).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StackState {
    pub name: String,
    /// Where the HTTP API is served, e.g. `http://127.0.0.1:3000`.
    pub api_url: String,
    /// The AWS emulator's endpoint (what functions get as `AWS_ENDPOINT_URL`).
    pub emulator_url: String,
    /// The Lambda Runtime API emulator; invoke a function with
    /// `POST {runtime_api_url}/2015-03-31/functions/{name}/invocations`.
    pub runtime_api_url: String,
    /// The stack's own control API: `POST /poller/faults` and `DELETE /poller/faults/{org_id}`.
    pub control_url: String,
    pub region: String,
    pub workspace_dir: PathBuf,
    pub bin_dir: PathBuf,
    /// A program the functions' binaries run under (an emulator such as qemu), with its arguments.
    #[serde(default)]
    pub runner: Vec<String>,
    pub logs_dir: PathBuf,
    pub parameters: BTreeMap<String, String>,
    pub resources: BTreeMap<String, PhysicalResource>,
    pub functions: Vec<FunctionSpec>,
    /// Extra services the stack serves, by name (the provider sandbox).
    #[serde(default)]
    pub services: BTreeMap<String, String>,
}

impl StackState {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the stack state {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(&temporary, path)?;
        Ok(())
    }

    /// The command that starts function `name`'s binary: its runner's, if any, then the binary.
    pub fn function_command(&self, name: &str) -> Vec<String> {
        function_command(&self.runner, &self.bin_dir, name)
    }

    pub fn function(&self, name: &str) -> Option<&FunctionSpec> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// `Ref` of a resource: a table's name, a queue's URL, a secret's ARN.
    pub fn reference(&self, logical_id: &str) -> Option<&str> {
        self.resources.get(logical_id).map(|r| r.reference.as_str())
    }
}

/// The command that starts function `name`'s binary in `bin_dir` under `runner` (if any).
pub fn function_command(runner: &[String], bin_dir: &Path, name: &str) -> Vec<String> {
    let mut command = runner.to_vec();
    command.push(binary_path(bin_dir, name).display().to_string());
    command
}

/// A function's binary in `bin_dir`: `<name>`, as cargo builds it, or `<name>/bootstrap`, as
/// cargo-lambda lays out a `--lambda-dir`.
pub fn binary_path(bin_dir: &Path, name: &str) -> PathBuf {
    let lambda_layout = bin_dir.join(name).join("bootstrap");
    if lambda_layout.is_file() {
        lambda_layout
    } else {
        bin_dir.join(name)
    }
}

/// A resource as it exists locally: what `Ref` and `Fn::GetAtt` give.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PhysicalResource {
    pub kind: String,
    pub reference: String,
    pub attributes: BTreeMap<String, String>,
    /// False for resource types the stack records but does not emulate (alarms, log groups).
    pub emulated: bool,
}

/// The resources created so far, by logical id.
#[derive(Debug, Default)]
pub struct Created(pub BTreeMap<String, PhysicalResource>);

impl Physical for Created {
    fn reference(&self, id: &str) -> Option<String> {
        self.0.get(id).map(|r| r.reference.clone())
    }

    fn attribute(&self, id: &str, attribute: &str) -> Option<String> {
        self.0.get(id)?.attributes.get(attribute).cloned()
    }
}

/// One function of the template, resolved.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// The binary (its crate, from the logical id), which is also its local function name.
    pub name: String,
    /// The environment the template gives it, resolved to local resources.
    pub environment: BTreeMap<String, String>,
    pub memory_mb: u32,
    pub timeout_seconds: u32,
    /// `HttpApi` events with a path; `(method, path)`.
    pub routes: Vec<(String, String)>,
    /// Whether it is the HTTP API's `$default` route.
    pub default_route: bool,
    pub queues: Vec<QueueSource>,
    /// `Schedule` events: (rule name, rate expression).
    #[serde(default)]
    pub schedules: Vec<(String, String)>,
}

impl FunctionSpec {
    /// The function's environment on a stack whose AWS emulator is `emulator_url`: the
    /// template's variables and what Lambda sets itself, all but `AWS_LAMBDA_RUNTIME_API`
    /// (which depends on who serves the function its events).
    pub fn lambda_environment(&self, emulator_url: &str, log_level: &str) -> BTreeMap<String, String> {
        let mut environment = self.environment.clone();
        let region = crate::stack::REGION;
        environment.extend(
            [
                ("AWS_ENDPOINT_URL", emulator_url),
                ("AWS_REGION", region),
                ("AWS_DEFAULT_REGION", region),
                ("AWS_ACCESS_KEY_ID", crate::stack::ACCESS_KEY),
                ("AWS_SECRET_ACCESS_KEY", crate::stack::ACCESS_KEY),
                ("AWS_LAMBDA_FUNCTION_NAME", &self.name),
                ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", &self.memory_mb.to_string()),
                ("RUST_LOG", log_level),
            ]
            .map(|(name, value)| (name.to_owned(), value.to_owned())),
        );
        environment
    }
}

/// An SQS event source of a function.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueueSource {
    pub queue_url: String,
    pub queue_arn: String,
    pub batch_size: u32,
    pub maximum_concurrency: Option<u32>,
    pub report_batch_item_failures: bool,
}
