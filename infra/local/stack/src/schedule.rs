//! Scheduled events (EventBridge `rate(...)` rules): the function is invoked with a real
//! "Scheduled Event" at the rule's rate, as AWS would.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::json;
use tokio::sync::watch;

/// The period of `rate(N minute|minutes|hour|hours|day|days)`.
pub fn parse_rate(expression: &str) -> anyhow::Result<Duration> {
    let inner = expression
        .strip_prefix("rate(")
        .and_then(|rest| rest.strip_suffix(')'))
        .with_context(|| format!("{expression}: only rate(...) schedules are emulated"))?;
    let (amount, unit) = inner.trim().split_once(' ').context("rate(N unit)")?;
    let amount: u64 = amount.parse().context("rate(N unit): N")?;
    let seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        other => bail!("rate(...): unknown unit {other}"),
    };
    anyhow::ensure!(amount > 0, "rate(...): N must be positive");
    Ok(Duration::from_secs(amount * seconds))
}

/// One `Schedule` event of one function.
pub struct Schedule {
    pub function: String,
    pub rule: String,
    pub period: Duration,
    pub http: reqwest::Client,
    pub runtime_api_url: String,
    pub region: String,
    pub account_id: String,
}

/// Invokes the function every period with a scheduled event, until `shutdown`.
pub async fn run(schedule: Schedule, mut shutdown: watch::Receiver<bool>) {
    let Schedule {
        function,
        rule,
        period,
        http,
        runtime_api_url,
        region,
        account_id,
    } = schedule;
    let url = format!("{runtime_api_url}/2015-03-31/functions/{function}/invocations");
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            () = tokio::time::sleep(period) => {}
        }
        let event = json!({
            "version": "0",
            "id": ulid::Ulid::generate().to_string(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": account_id,
            "time": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "region": region,
            "resources": [format!("arn:aws:events:{region}:{account_id}:rule/{rule}")],
            "detail": {},
        });
        match http.post(&url).json(&event).send().await {
            Ok(answer) if answer.status().is_success() => {}
            Ok(answer) => {
                tracing::warn!(%function, status = %answer.status(), "a scheduled invocation failed")
            }
            Err(error) => tracing::warn!(%function, "a scheduled invocation failed: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_eventbridge_writes_them() {
        assert_eq!(parse_rate("rate(1 minute)").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_rate("rate(5 minutes)").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_rate("rate(2 hours)").unwrap(), Duration::from_secs(7200));
        for bad in [
            "cron(0 12 * * ? *)",
            "rate(0 minutes)",
            "rate(5 weeks)",
            "rate(x minutes)",
        ] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }
}
