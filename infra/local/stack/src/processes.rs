//! The processes of the stack: the AWS emulator, cargo-lambda's Lambda Runtime API emulator, and
//! every function's own binary (several instances each, restarted when one exits, as Lambda
//! would start a new sandbox). Output goes to one log file per process kind.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// A port nobody listens on right now, for a child process to bind.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until something accepts connections on `port`, or `child` dies, or time runs out.
pub async fn wait_for_port(port: u16, child: &mut Child, what: &str, log: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "{what} exited ({status}) before it was ready; see {}",
                log.display()
            );
        }
        if Instant::now() > deadline {
            bail!(
                "{what} did not listen on port {port} within 60 s; see {}",
                log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn log_file(path: &Path) -> anyhow::Result<(File, File)> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    Ok((file.try_clone()?, file))
}

/// Starts a child with its output appended to `log`; it dies with the stack.
pub fn spawn_logged(mut command: Command, log: &Path) -> anyhow::Result<Child> {
    let (stdout, stderr) = log_file(log)?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        // Its own process group: Ctrl-C reaches the stack, which stops the children in order.
        .process_group(0)
        .kill_on_drop(true);
    let program = format!("{:?}", command.as_std().get_program());
    command.spawn().with_context(|| format!("starting {program}"))
}

/// Starts the AWS emulator (ministack) on loopback with only the services we use.
pub fn spawn_emulator(program: &Path, port: u16, data_dir: &Path, log: &Path) -> anyhow::Result<Child> {
    std::fs::create_dir_all(data_dir)?;
    let mut command = Command::new(program);
    command
        .env("BIND_HOST", "127.0.0.1")
        .env("GATEWAY_PORT", port.to_string())
        .env("SERVICES", "dynamodb,sqs,secretsmanager,s3")
        // The emulator's own key is the functions': S3 checks the signature of a presigned link.
        .env("AWS_ACCESS_KEY_ID", crate::stack::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", crate::stack::ACCESS_KEY)
        .env("LOG_LEVEL", "WARNING")
        .env("STATE_DIR", data_dir.join("state"))
        .env("S3_DATA_DIR", data_dir.join("s3"))
        .env("TMPDIR", data_dir);
    spawn_logged(command, log)
}

/// Starts cargo-lambda's Lambda Runtime API emulator; the functions' binaries are started by us.
pub fn spawn_runtime_api(
    program: &Path,
    workspace: &Path,
    port: u16,
    concurrency: u32,
    log: &Path,
) -> anyhow::Result<Child> {
    let mut command = Command::new(program);
    command
        .current_dir(workspace)
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "--ignore-changes",
            "--quiet",
        ])
        .args([
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ])
        .args(["--concurrency", &concurrency.to_string(), "--timeout", "900"]);
    spawn_logged(command, log)
}

/// How to start one function's binary as Lambda would.
#[derive(Clone, Debug)]
pub struct FunctionProcess {
    pub name: String,
    /// The program and its arguments (a runner such as qemu first, when there is one).
    pub command: Vec<String>,
    pub environment: BTreeMap<String, String>,
    pub log: PathBuf,
}

impl FunctionProcess {
    fn command(&self) -> Command {
        let (program, args) = self
            .command
            .split_first()
            .map_or(("", &[][..]), |(p, a)| (p.as_str(), a));
        let mut command = Command::new(program);
        command.args(args);
        // A Lambda sandbox starts from a clean environment: nothing of the developer's leaks in.
        command.env_clear().envs(&self.environment);
        if let Ok(path) = std::env::var("PATH") {
            command.env("PATH", path);
        }
        command
    }

    /// Keeps one instance running until `shutdown` says stop.
    pub async fn supervise(self, instance: u32, mut shutdown: watch::Receiver<bool>) {
        loop {
            let mut child = match spawn_logged(self.command(), &self.log) {
                Ok(child) => child,
                Err(error) => {
                    tracing::error!(function = %self.name, "cannot start: {error:#}");
                    return;
                }
            };
            tokio::select! {
                status = child.wait() => {
                    tracing::warn!(function = %self.name, instance, ?status, "function process exited; starting a new one");
                }
                _ = shutdown.changed() => {
                    let _ = child.kill().await;
                    return;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
