//! The provider sandbox's binary: reads its options, serves the sandbox on 127.0.0.1, logs to
//! stderr. Options: `--port N` (0, the default, picks a free one), `--credentials JSON`,
//! `--faults JSON`, `--token-ttl-seconds N` (3600), `--rate-limit-per-minute N` (80).

use std::time::Duration;

use anyhow::{Context, bail};
use provider_sandbox::{Settings, app};

fn options() -> anyhow::Result<(u16, Settings)> {
    let mut port = 0;
    let mut settings = Settings::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--port" => port = value.parse().context("--port")?,
            "--credentials" => settings.credentials = Some(value),
            "--faults" => settings.faults = Some(value),
            "--token-ttl-seconds" => {
                settings.token_ttl = Duration::from_secs(value.parse().context("--token-ttl-seconds")?);
            }
            "--rate-limit-per-minute" => {
                settings.rate_limit_per_minute = value.parse().context("--rate-limit-per-minute")?;
            }
            other => bail!(
                "unknown option {other} (options: --port, --credentials, --faults, --token-ttl-seconds, --rate-limit-per-minute)"
            ),
        }
    }
    Ok((port, settings))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let (port, settings) = options()?;
    let app = app(&settings)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!(
        "provider sandbox (Factus API v2) on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
