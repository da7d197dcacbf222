//! What every test needs: the stack under test, HTTP access to it, the emulator's SDK
//! configuration, and each function's configuration as the template gives it.

pub mod accounts;
pub mod batches;
pub mod events;
pub mod invoices;
pub mod runtime;
pub mod sandbox;
pub mod tokens;

use std::path::PathBuf;
use std::sync::OnceLock;

use local_stack::state::StackState;

/// The running stack: `INVOICER_STACK`, else the one `make dev` started.
pub fn stack() -> &'static StackState {
    static STACK: OnceLock<StackState> = OnceLock::new();
    STACK.get_or_init(|| {
        let path = std::env::var_os("INVOICER_STACK").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/local-stack/dev/stack.json")
        });
        StackState::read(&path).unwrap_or_else(|error| {
            panic!("no local stack to test against ({error:#}): run `make test`, or `make dev` in another terminal")
        })
    })
}

/// The URL of an API path on the stack.
pub fn api(path: &str) -> String {
    format!("{}{path}", stack().api_url)
}

/// A fresh HTTP client (one per test: a client's connections belong to one test's runtime).
pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// SDK configuration for talking to the stack's AWS emulator directly.
pub async fn emulator_sdk() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&stack().emulator_url)
        .region(aws_config::Region::new(stack().region.clone()))
        .test_credentials()
        .load()
        .await
}

/// The configuration a function gets from the template, read as the function reads it.
pub fn function_config(name: &str) -> shared::config::Config {
    let function = stack()
        .function(name)
        .unwrap_or_else(|| panic!("no function {name} in the template"));
    shared::config::Config::from_lookup(|var| function.environment.get(var).cloned())
}

/// A name no other test run uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::generate().to_string().to_lowercase())
}
