//! `local-stack`: starts the whole invoicer stack locally (see the crate docs), prints what is
//! where, and stops everything on Ctrl-C; or, given `-- COMMAND`, runs the command against the
//! stack (with `INVOICER_STACK` set) and stops it afterwards, whatever the command's outcome.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use local_stack::stack::{self, Options, Sandbox, Stack};

const USAGE: &str = "usage: local-stack [--name NAME] [--port PORT] [--instances N] [--template FILE]
                   [--bin-dir DIR] [--runner PROGRAM_AND_ARGS] [--emulator PROGRAM] [--cargo-lambda PROGRAM]
                   [--sandbox PROGRAM --sandbox-url-parameter NAME... --sandbox-credentials SECRET
                    [--sandbox-rate-limit-parameter NAME]]
                   [--param NAME=VALUE]... [--log-level LEVEL] [-- COMMAND ARGS...]";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match run().await {
        Ok(code) => code,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<ExitCode> {
    let (options, command) = parse(std::env::args().skip(1).collect())?;
    let stack = Stack::start(&options).await?;
    describe(&stack);
    if command.is_empty() {
        wait_for_signal().await?;
        tracing::info!("stopping");
        stack.stop().await;
        return Ok(ExitCode::SUCCESS);
    }
    let status = stack::run_command(&stack, &command).await;
    stack.stop().await;
    let code = status?.code().unwrap_or(1);
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

fn parse(args: Vec<String>) -> anyhow::Result<(Options, Vec<String>)> {
    let workspace = std::env::current_dir()?;
    let mut options = Options {
        name: "dev".to_owned(),
        template: workspace.join("template.yaml"),
        port: 3000,
        instances: 2,
        bin_dir: workspace.join("target/debug"),
        runner: Vec::new(),
        emulator: workspace.join(".venv-emu/bin/ministack"),
        cargo_lambda: workspace.join(".venv-tools/bin/cargo-lambda"),
        sandbox: None,
        parameters: BTreeMap::new(),
        function_log_level: "info".to_owned(),
        workspace,
    };
    let mut args = args.into_iter();
    let mut command = Vec::new();
    let (mut sandbox, mut sandbox_credentials) = (None, None);
    let mut sandbox_url_parameters = Vec::new();
    let mut sandbox_rate_limit_parameter = None;
    while let Some(flag) = args.next() {
        if flag == "--" {
            command = args.collect();
            break;
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--name" => options.name = value,
            "--port" => options.port = value.parse().context("--port")?,
            "--instances" => options.instances = value.parse().context("--instances")?,
            "--template" => options.template = PathBuf::from(value),
            // Absolute: the state file hands it to tests, which run from another directory.
            "--bin-dir" => options.bin_dir = std::path::absolute(&value).context("--bin-dir")?,
            "--runner" => options.runner = value.split_whitespace().map(str::to_owned).collect(),
            "--emulator" => options.emulator = PathBuf::from(value),
            "--cargo-lambda" => options.cargo_lambda = PathBuf::from(value),
            "--log-level" => options.function_log_level = value,
            "--sandbox" => sandbox = Some(PathBuf::from(value)),
            "--sandbox-url-parameter" => sandbox_url_parameters.push(value),
            "--sandbox-credentials" => sandbox_credentials = Some(value),
            "--sandbox-rate-limit-parameter" => sandbox_rate_limit_parameter = Some(value),
            "--param" => {
                let (name, value) = value.split_once('=').context("--param takes NAME=VALUE")?;
                options.parameters.insert(name.to_owned(), value.to_owned());
            }
            other => bail!("unknown option {other}\n{USAGE}"),
        }
    }
    anyhow::ensure!(options.instances >= 1, "--instances must be at least 1");
    options.sandbox = match (sandbox, sandbox_url_parameters.is_empty(), sandbox_credentials) {
        (Some(program), false, Some(credentials_secret)) => Some(Sandbox {
            program,
            url_parameters: sandbox_url_parameters,
            credentials_secret,
            rate_limit_parameter: sandbox_rate_limit_parameter,
        }),
        (None, true, None) => None,
        _ => bail!("--sandbox, --sandbox-url-parameter and --sandbox-credentials go together\n{USAGE}"),
    };
    Ok((options, command))
}

#[allow(clippy::print_stdout, reason = "a developer tool's summary for the terminal")]
fn describe(stack: &Stack) {
    let state = &stack.state;
    println!("invoicer local stack \"{}\" is up", state.name);
    println!(
        "  HTTP API      {}   (try: curl {}/v1/health?deep=true)",
        state.api_url, state.api_url
    );
    println!(
        "  AWS emulator  {}   (AWS_ENDPOINT_URL for the aws CLI or SDKs)",
        state.emulator_url
    );
    println!("  Runtime API   {}", state.runtime_api_url);
    println!(
        "  control       {}   (delivery faults for tests)",
        state.control_url
    );
    for (name, url) in &state.services {
        println!("  {name:<13} {url}");
    }
    let functions: Vec<&str> = state.functions.iter().map(|f| f.name.as_str()).collect();
    println!("  functions     {}", functions.join(", "));
    for (id, resource) in state
        .resources
        .iter()
        .filter(|(_, r)| r.emulated && !r.kind.contains("Function"))
    {
        println!("  {id:<13} {}", resource.reference);
    }
    println!("  logs          {}", state.logs_dir.display());
    println!("  state         {}", stack.state_file.display());
    println!("Ctrl-C stops everything.");
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
    }
    Ok(())
}
