//! `make bench`: cold starts (against a Python peer), warm latency (against the raw AWS calls),
//! a 10,000-invoice batch and peak memory, measured in one run against the local stack of
//! `INVOICER_STACK`. It reports; it asserts nothing. Writes `report.json` and `report.md` to
//! the directory given with `--out` (default `target/bench`).

mod batch;
mod cold;
mod fixtures;
mod heat;
mod logs;
mod procs;
mod report;
mod stats;
mod warm;

use std::path::{Path, PathBuf};

use anyhow::Context;
use local_stack::state::{FunctionSpec, StackState, binary_path};
use serde_json::{Value, json};

use cold::{Launch, start_once};
use fixtures::{Account, Api};
use stats::median;

/// How a run is sized, from the command line.
struct Options {
    out: PathBuf,
    python: PathBuf,
    starts: usize,
    requests: usize,
    levels: Vec<usize>,
    /// Which of `cold`, `warm`, `batch` to run (all by default): a part, while working on it.
    sections: Vec<String>,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut options = Self {
            out: PathBuf::from("target/bench"),
            python: PathBuf::from(".venv-bench/bin/python"),
            starts: 20,
            requests: 2_000,
            levels: vec![1, 8],
            sections: vec!["cold".to_owned(), "warm".to_owned(), "batch".to_owned()],
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args.next().with_context(|| format!("{flag} takes a value"))?;
            match flag.as_str() {
                "--out" => options.out = PathBuf::from(value),
                // Absolute, but not resolved: the virtualenv's python is a symbolic link.
                "--python" => options.python = std::env::current_dir()?.join(value),
                "--starts" => options.starts = value.parse()?,
                "--requests" => options.requests = value.parse()?,
                "--sections" => options.sections = value.split(',').map(str::to_owned).collect(),
                "--levels" => {
                    options.levels = value.split(',').map(str::parse).collect::<Result<_, _>>()?;
                }
                other => anyhow::bail!("unknown option {other}"),
            }
        }
        Ok(options)
    }
}

/// `count` starts of a function, each with a fresh event from `event`.
async fn cold_starts(
    launch: &Launch<'_>,
    count: usize,
    event: impl Fn() -> anyhow::Result<String>,
) -> anyhow::Result<Value> {
    let (mut inits, mut firsts, mut failed) = (Vec::new(), Vec::new(), 0);
    for _ in 0..count {
        let start = start_once(launch, &event()?).await?;
        inits.push(start.init);
        firsts.push(start.first_invocation);
        failed += usize::from(start.failed);
    }
    Ok(json!({
        "init_ms": median(inits),
        "first_invocation_ms": median(firsts),
        "first_invocations_failed": failed,
    }))
}

async fn measure_cold(
    state: &StackState,
    account: &Account,
    options: &Options,
    events_dir: &Path,
) -> anyhow::Result<Value> {
    let mut functions = Vec::new();
    for spec in &state.functions {
        let command = state.function_command(&spec.name);
        let environment = spec.lambda_environment(&state.emulator_url, "warn");
        let launch = Launch {
            command: &command,
            environment: &environment,
            directory: None,
            runtime_api_as_url: true,
        };
        let mut measured = cold_starts(&launch, options.starts, || {
            fixtures::event(events_dir, &spec.name, account)
        })
        .await
        .with_context(|| format!("cold starts of {}", spec.name))?;
        let size = std::fs::metadata(binary_path(&state.bin_dir, &spec.name)).map_or(0, |m| m.len());
        measured["function"] = json!(spec.name);
        measured["binary_mb"] = json!(size as f64 / 1_000_000.0);
        functions.push(measured);
    }
    let peer = measure_peer(state, account, options, events_dir).await?;
    let ours = functions
        .iter()
        .find(|f| f["function"] == "invoices-get")
        .context("no invoices-get function")?;
    let speedup =
        |field: &str| peer[field].as_f64().unwrap_or(f64::NAN) / ours[field].as_f64().unwrap_or(f64::NAN);
    Ok(json!({
        "starts": options.starts,
        "init_speedup": speedup("init_ms"),
        "first_invocation_speedup": speedup("first_invocation_ms"),
        "functions": functions,
        "python_peer": peer,
    }))
}

/// The Python peer of `invoices-get`, under awslambdaric in the same harness.
async fn measure_peer(
    state: &StackState,
    account: &Account,
    options: &Options,
    events_dir: &Path,
) -> anyhow::Result<Value> {
    let spec: &FunctionSpec = state
        .function("invoices-get")
        .context("no invoices-get function")?;
    let peer_dir = std::fs::canonicalize("infra/bench/peer")?;
    // The environment of invoices-get: the same table, key ring and emulator.
    let mut environment = spec.lambda_environment(&state.emulator_url, "warn");
    environment.insert("LAMBDA_TASK_ROOT".to_owned(), peer_dir.display().to_string());
    environment.insert("_HANDLER".to_owned(), "handler.handler".to_owned());
    environment.insert("PYTHONPATH".to_owned(), peer_dir.display().to_string());
    let command = [
        options.python.display().to_string(),
        "-m".to_owned(),
        "awslambdaric".to_owned(),
        "handler.handler".to_owned(),
    ];
    let launch = Launch {
        command: &command,
        environment: &environment,
        directory: Some(&peer_dir),
        runtime_api_as_url: false,
    };
    cold_starts(&launch, options.starts, || {
        fixtures::event(events_dir, "invoices-get", account)
    })
    .await
}

/// The peak memory of every function's processes.
fn measure_memory(state: &StackState) -> Value {
    let functions = state.functions.iter().map(|spec| {
        let peak = procs::pids_of(&binary_path(&state.bin_dir, &spec.name))
            .into_iter()
            .filter_map(procs::peak_rss_mib)
            .fold(f64::NAN, f64::max);
        json!({"function": spec.name, "peak_rss_mib": peak})
    });
    Value::Array(functions.collect())
}

/// The phases of the last `make test`, as it wrote them.
fn make_test_times() -> Value {
    let text = std::fs::read_to_string("target/make-test-times.txt").unwrap_or_default();
    let phases = text.lines().filter_map(|line| {
        let (phase, seconds) = line.rsplit_once(' ')?;
        Some(json!({"phase": phase, "seconds": seconds.parse::<u64>().ok()?}))
    });
    Value::Array(phases.collect())
}

/// The CPU model, its cores and the kernel.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map_or("an unknown CPU", |(_, model)| model.trim());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{model}, {cores} cores available, Linux {}", kernel.trim())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `bench --render report.json`: writes the run's report.md again, without measuring.
    if let [flag, path] = &std::env::args().skip(1).collect::<Vec<_>>()[..]
        && flag == "--render"
    {
        let run: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        std::fs::write(Path::new(path).with_extension("md"), report::markdown(&run))?;
        return Ok(());
    }
    let options = Options::parse()?;
    let state_file =
        std::env::var("INVOICER_STACK").context("INVOICER_STACK: run me inside the local stack")?;
    let state = StackState::read(Path::new(&state_file))?;
    let events_dir = state.workspace_dir.join("events");
    let sandbox_url = state
        .services
        .get("provider-sandbox")
        .context("no provider sandbox")?
        .clone();
    let api = Api::new(&state.api_url, &sandbox_url);
    let account = api.account().await?;
    for n in 0..30 {
        api.create_invoice(
            &account.access,
            &format!("WARM-LIST-{n}-{}", local_stack::examples::unique("x")),
        )
        .await?;
    }

    let run = |section: &str| options.sections.iter().any(|s| s == section);
    let cold = if run("cold") {
        eprintln!("bench: cold starts");
        measure_cold(&state, &account, &options, &events_dir).await?
    } else {
        Value::Null
    };

    let sdk = local_stack::stack::emulator_sdk(&state.emulator_url).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let raw_queue_url = sqs
        .create_queue()
        .queue_name("bench-raw-sends")
        .send()
        .await?
        .queue_url
        .context("no queue URL")?;
    let layers = warm::Layers {
        api: api.clone(),
        runtime_api_url: state.runtime_api_url.clone(),
        dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
        sqs: sqs.clone(),
        table: state.reference("Table").context("no Table")?.to_owned(),
        raw_queue_url,
        events_dir: events_dir.clone(),
        logs_dir: state.logs_dir.clone(),
        bin_dir: state.bin_dir.clone(),
    };
    let warm_rows = if run("warm") {
        eprintln!("bench: warm latency");
        warm::measure(&layers, &account, options.requests, &options.levels).await?
    } else {
        Value::Null
    };

    let batches = batch::Batches {
        api: &api,
        account: &account,
        logs_dir: state.logs_dir.clone(),
        sandbox_url,
        worker_binary: binary_path(&state.bin_dir, "submit-worker"),
        sqs,
        queue_url: state
            .reference("SubmissionsQueue")
            .context("no SubmissionsQueue")?
            .to_owned(),
        budget_per_minute: state
            .parameters
            .get("ProviderRateLimitPerMinute")
            .and_then(|limit| limit.parse().ok())
            .context("no ProviderRateLimitPerMinute parameter")?,
    };
    let mut batch_runs = Vec::new();
    if run("batch") {
        eprintln!("bench: 10,000-invoice batches");
        for latency_ms in [0, 200] {
            batch_runs.push(batches.run(latency_ms).await?);
        }
    }

    let run = json!({
        "date": time::OffsetDateTime::now_utc().date().to_string(),
        "machine": machine(),
        "cold_starts": cold,
        "warm": {"requests": options.requests, "rows": warm_rows},
        "batches": batch_runs,
        "memory": measure_memory(&state),
        "make_test": make_test_times(),
    });
    std::fs::create_dir_all(&options.out)?;
    std::fs::write(
        options.out.join("report.json"),
        serde_json::to_string_pretty(&run)?,
    )?;
    std::fs::write(options.out.join("report.md"), report::markdown(&run))?;
    eprintln!("bench: {}", options.out.join("report.md").display());
    Ok(())
}
