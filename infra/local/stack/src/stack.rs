//! Starts the whole local stack and stops it: emulator, provisioning from the template, the
//! provider sandbox, the Lambda Runtime API emulator, every function's processes, the HTTP
//! gateway, the queue pollers and the schedules.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitStatus;

use anyhow::Context;
use tokio::process::Child;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cors::Cors;
use crate::faults::Faults;
use crate::functions;
use crate::gateway::Gateway;
use crate::poller::Poller;
use crate::processes::{self, FunctionProcess};
use crate::provision::{self, Environment};
use crate::schedule::{self, Schedule};
use crate::state::{FunctionSpec, StackState};
use crate::template::{Resolver, Template};

pub const REGION: &str = "us-east-1";
/// The functions' AWS access key and secret, which the emulator also takes as its own.
pub const ACCESS_KEY: &str = "local";

/// SDK configuration for talking to the AWS emulator at `emulator_url` directly.
pub async fn emulator_sdk(emulator_url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(emulator_url)
        .region(aws_config::Region::new(REGION))
        .test_credentials()
        .load()
        .await
}
pub const ACCOUNT_ID: &str = "000000000000";

/// The provider sandbox, and how the template is wired to it.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub program: PathBuf,
    /// The template parameters that take the sandbox's URL (the provider's base URLs).
    pub url_parameters: Vec<String>,
    /// The template's secret whose credentials the sandbox accepts.
    pub credentials_secret: String,
    /// The template parameter of the provider account's requests a minute, which the sandbox
    /// enforces as Factus does.
    pub rate_limit_parameter: Option<String>,
}

/// How to start a stack.
#[derive(Debug, Clone)]
pub struct Options {
    pub name: String,
    pub workspace: PathBuf,
    pub template: PathBuf,
    /// Port of the HTTP API; 0 picks a free one.
    pub port: u16,
    /// Processes per function.
    pub instances: u32,
    pub bin_dir: PathBuf,
    /// A program to run the functions' binaries under (e.g. qemu for arm64), with its arguments.
    pub runner: Vec<String>,
    pub emulator: PathBuf,
    pub cargo_lambda: PathBuf,
    pub sandbox: Option<Sandbox>,
    pub parameters: BTreeMap<String, String>,
    /// `RUST_LOG` for the functions.
    pub function_log_level: String,
}

impl Options {
    pub fn state_dir(&self) -> PathBuf {
        self.workspace.join("target/local-stack").join(&self.name)
    }
}

/// A started stack; dropping it kills every process it started.
pub struct Stack {
    pub state: StackState,
    pub state_file: PathBuf,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    _children: Vec<Child>,
}

async fn serve(listener: tokio::net::TcpListener, router: axum::Router, mut shutdown: watch::Receiver<bool>) {
    let serving = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = shutdown.changed().await;
    });
    if let Err(error) = serving.await {
        tracing::error!("a server of the stack stopped: {error}");
    }
}

impl Stack {
    pub async fn start(options: &Options) -> anyhow::Result<Self> {
        let template = Template::load(&options.template)?;
        let state_dir = options.state_dir();
        let logs_dir = state_dir.join("logs");
        if state_dir.exists() {
            std::fs::remove_dir_all(&state_dir)
                .with_context(|| format!("clearing {}", state_dir.display()))?;
        }
        std::fs::create_dir_all(&logs_dir)?;
        for function in template.ids_of(provision::FUNCTION) {
            let binary = provision::function_binary(function)?;
            let path = crate::state::binary_path(&options.bin_dir, &binary);
            anyhow::ensure!(
                path.exists(),
                "{} is not built (cargo build --bins)",
                path.display()
            );
        }
        let mut children = Vec::new();
        let mut services = BTreeMap::new();

        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
            .await
            .with_context(|| format!("binding the HTTP API to 127.0.0.1:{}", options.port))?;
        let api_url = format!("http://{}", listener.local_addr()?);

        let mut overrides = options.parameters.clone();
        let sandbox_port = processes::free_port()?;
        if let Some(sandbox) = &options.sandbox {
            for parameter in &sandbox.url_parameters {
                overrides.insert(parameter.clone(), format!("http://127.0.0.1:{sandbox_port}"));
            }
        }
        let parameters = template.parameter_values(&overrides)?;

        let emulator_port = processes::free_port()?;
        let emulator_log = logs_dir.join("emulator.log");
        let mut emulator = processes::spawn_emulator(
            &options.emulator,
            emulator_port,
            &state_dir.join("emulator"),
            &emulator_log,
        )?;
        processes::wait_for_port(emulator_port, &mut emulator, "the AWS emulator", &emulator_log).await?;
        children.push(emulator);
        let emulator_url = format!("http://127.0.0.1:{emulator_port}");
        let sdk = emulator_sdk(&emulator_url).await;

        let environment = Environment {
            stack_name: format!("invoicer-{}", options.name),
            region: REGION.to_owned(),
            account_id: ACCOUNT_ID.to_owned(),
        };
        let created = provision::provision(&template, &parameters, &environment, &sdk).await?;
        let pseudo = environment.pseudo_parameters();
        let resolver = Resolver {
            template: &template,
            parameters: &parameters,
            pseudo: &pseudo,
            physical: &created,
        };
        let functions = functions::specs(&template, &resolver, &created)?;

        if let Some(sandbox) = &options.sandbox {
            let secret = created
                .0
                .get(&sandbox.credentials_secret)
                .with_context(|| format!("the template creates no secret {}", sandbox.credentials_secret))?;
            let credentials = aws_sdk_secretsmanager::Client::new(&sdk)
                .get_secret_value()
                .secret_id(&secret.reference)
                .send()
                .await
                .map_err(aws_sdk_secretsmanager::Error::from)?
                .secret_string
                .context("the provider secret holds no string")?;
            let mut command = tokio::process::Command::new(&sandbox.program);
            command.args(["--port", &sandbox_port.to_string(), "--credentials", &credentials]);
            if let Some(name) = &sandbox.rate_limit_parameter {
                let limit = parameters
                    .get(name)
                    .with_context(|| format!("the template has no parameter {name}"))?;
                command.args(["--rate-limit-per-minute", limit]);
            }
            let log = logs_dir.join("provider-sandbox.log");
            let mut child = processes::spawn_logged(command, &log)?;
            processes::wait_for_port(sandbox_port, &mut child, "the provider sandbox", &log).await?;
            children.push(child);
            services.insert(
                "provider-sandbox".to_owned(),
                format!("http://127.0.0.1:{sandbox_port}"),
            );
        }

        let runtime_port = processes::free_port()?;
        let runtime_log = logs_dir.join("runtime-api.log");
        let mut runtime_api = processes::spawn_runtime_api(
            &options.cargo_lambda,
            &options.workspace,
            runtime_port,
            options.instances,
            &runtime_log,
        )?;
        processes::wait_for_port(
            runtime_port,
            &mut runtime_api,
            "the Lambda Runtime API emulator",
            &runtime_log,
        )
        .await?;
        children.push(runtime_api);
        let runtime_api_url = format!("http://127.0.0.1:{runtime_port}");

        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        for function in &functions {
            let process = function_process(function, options, &emulator_url, runtime_port, &logs_dir);
            for instance in 0..options.instances {
                tasks.push(tokio::spawn(
                    process.clone().supervise(instance, shutdown_rx.clone()),
                ));
            }
        }

        let cors = Cors::of(&template, &resolver)?;
        let gateway = Gateway::new(&functions, &runtime_api_url, ACCOUNT_ID, cors).router();
        tasks.push(tokio::spawn(serve(listener, gateway, shutdown_rx.clone())));

        let faults = Faults::default();
        let control = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let control_url = format!("http://{}", control.local_addr()?);
        tasks.push(tokio::spawn(serve(
            control,
            faults.clone().router(),
            shutdown_rx.clone(),
        )));

        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let http = reqwest::Client::new();
        for function in &functions {
            for source in &function.queues {
                let pollers = source
                    .maximum_concurrency
                    .unwrap_or(options.instances)
                    .min(options.instances)
                    .max(1);
                for _ in 0..pollers {
                    let poller = Poller {
                        function: function.name.clone(),
                        source: source.clone(),
                        sqs: sqs.clone(),
                        http: http.clone(),
                        runtime_api_url: runtime_api_url.clone(),
                        region: REGION.to_owned(),
                        faults: faults.clone(),
                    };
                    tasks.push(tokio::spawn(poller.run(shutdown_rx.clone())));
                }
            }
            for (rule, expression) in &function.schedules {
                let schedule = Schedule {
                    function: function.name.clone(),
                    rule: rule.clone(),
                    period: schedule::parse_rate(expression)?,
                    http: http.clone(),
                    runtime_api_url: runtime_api_url.clone(),
                    region: REGION.to_owned(),
                    account_id: ACCOUNT_ID.to_owned(),
                };
                tasks.push(tokio::spawn(schedule::run(schedule, shutdown_rx.clone())));
            }
        }

        let state = StackState {
            name: options.name.clone(),
            api_url,
            emulator_url,
            runtime_api_url,
            control_url,
            region: REGION.to_owned(),
            workspace_dir: options.workspace.clone(),
            bin_dir: options.bin_dir.clone(),
            runner: options.runner.clone(),
            logs_dir,
            parameters,
            resources: created.0,
            functions,
            services,
        };
        let state_file = state_dir.join("stack.json");
        state.write(&state_file)?;
        Ok(Self {
            state,
            state_file,
            shutdown,
            tasks,
            _children: children,
        })
    }

    /// Stops the functions, the servers, the pollers and the schedules, then the emulators.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        let _ = std::fs::remove_file(&self.state_file);
        // Dropping the children kills the emulator, the sandbox and the runtime API.
    }
}

/// How a function's binary runs: the template's environment, plus what Lambda sets.
fn function_process(
    function: &FunctionSpec,
    options: &Options,
    emulator_url: &str,
    runtime_port: u16,
    logs_dir: &std::path::Path,
) -> FunctionProcess {
    let mut environment = function.lambda_environment(emulator_url, &options.function_log_level);
    environment.insert(
        "AWS_LAMBDA_RUNTIME_API".to_owned(),
        format!("http://127.0.0.1:{runtime_port}/.rt/{}", function.name),
    );
    FunctionProcess {
        name: function.name.clone(),
        command: crate::state::function_command(&options.runner, &options.bin_dir, &function.name),
        environment,
        log: logs_dir.join(format!("{}.log", function.name)),
    }
}

/// Runs `command` against a started stack, with `INVOICER_STACK` pointing at its state file.
pub async fn run_command(stack: &Stack, command: &[String]) -> anyhow::Result<ExitStatus> {
    let (program, args) = command.split_first().context("no command to run")?;
    let status = tokio::process::Command::new(program)
        .args(args)
        .env("INVOICER_STACK", &stack.state_file)
        .status()
        .await
        .with_context(|| format!("running {program}"))?;
    Ok(status)
}
