//! What every test needs: the stack under test, HTTP access to it, the emulator's SDK
//! configuration, and each function's configuration as the template gives it.

pub mod accounts;
pub mod batches;
pub mod events;
pub mod invoices;
pub mod organizations;
pub mod receiver;
pub mod runtime;
pub mod sandbox;
pub mod tokens;

use std::path::PathBuf;
use std::sync::OnceLock;

use local_stack::state::StackState;

/// What the suite runs against: the local stack, or a deployed stage's API.
enum Target {
    Local(Box<StackState>),
    Remote { api_url: String },
}

/// `INVOICER_API_URL` (a deployed stage), else the stack of `INVOICER_STACK`, else the one
/// `make dev` started.
fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        if let Ok(api_url) = std::env::var("INVOICER_API_URL") {
            return Target::Remote { api_url: api_url.trim_end_matches('/').to_owned() };
        }
        let path = std::env::var_os("INVOICER_STACK").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/local-stack/dev/stack.json")
        });
        let state = StackState::read(&path).unwrap_or_else(|error| {
            panic!("no local stack to test against ({error:#}): run `make test`, or `make dev` in another terminal")
        });
        Target::Local(Box::new(state))
    })
}

/// The local stack, for what only it offers (its emulator, its sandbox, its logs); `None`, and
/// a line saying the test is skipped and why, against a deployed stage.
pub fn local_only(needs: &str) -> Option<&'static StackState> {
    match target() {
        Target::Local(state) => Some(state),
        Target::Remote { .. } => {
            let test = std::thread::current().name().unwrap_or("a test").to_owned();
            eprintln!("{test}: skipped against a deployed stage, it needs {needs}");
            None
        }
    }
}

/// Whether the suite runs against the local stack.
pub fn is_local() -> bool {
    matches!(target(), Target::Local(_))
}

/// The local stack; only for code that [`local_only`] guards.
pub fn stack() -> &'static StackState {
    match target() {
        Target::Local(state) => state,
        Target::Remote { .. } => panic!("a test needs the local stack but does not say so with local_only"),
    }
}

/// The URL of an API path.
pub fn api(path: &str) -> String {
    match target() {
        Target::Local(state) => format!("{}{path}", state.api_url),
        Target::Remote { api_url } => format!("{api_url}{path}"),
    }
}

/// The names of the stack's AWS resources (its table, queues, secrets), where they are known: an
/// answer that shows one gives the stack away.
pub fn resource_names() -> Vec<String> {
    match target() {
        Target::Local(state) => state
            .resources
            .values()
            .map(|resource| resource.reference.clone())
            .filter(|name| name.len() >= 8)
            .collect(),
        Target::Remote { .. } => Vec::new(),
    }
}

/// A fresh HTTP client (one per test: a client's connections belong to one test's runtime).
pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// SDK configuration for talking to the stack's AWS emulator directly.
pub async fn emulator_sdk() -> aws_config::SdkConfig {
    local_stack::stack::emulator_sdk(&stack().emulator_url).await
}

/// The configuration a function gets from the template, read as the function reads it.
pub fn function_config(name: &str) -> shared::config::Config {
    let function = stack()
        .function(name)
        .unwrap_or_else(|| panic!("no function {name} in the template"));
    shared::config::Config::from_lookup(|var| function.environment.get(var).cloned())
}

pub use local_stack::examples::unique;
