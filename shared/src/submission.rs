//! What the submission functions (the worker and the dead-letter handler) hold: the common
//! services, the directory of organizations' provider accounts, and their settings from the
//! template.

use std::time::Duration;

use crate::aws::SdkConfig;
use crate::bootstrap::State;
use crate::config::{Config, vars};
use crate::provider::directory::ProviderDirectory;
use crate::services::Services;

/// Settings of the submission path (template parameters, short locally).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Receives of a message before SQS moves it to the dead-letter queue.
    pub max_receive_count: u32,
    /// How long a claim holds an invoice: more than a provider call, less than the queue's
    /// visibility timeout.
    pub lease: Duration,
    pub provider_timeout: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Invoices worked at once by one invocation.
    pub concurrency: usize,
    /// How long an invoice waits when the provider account cannot work (subscription
    /// exhausted, credentials refused, blocked by a bill invoicer did not send).
    pub account_retry: Duration,
}

/// The provider account's requests a minute: `PROVIDER_RATE_LIMIT_PER_MINUTE`, else Factus's 80.
pub fn rate_limit(config: &Config) -> anyhow::Result<u32> {
    Ok(u32::try_from(config.number(vars::PROVIDER_RATE_LIMIT_PER_MINUTE, 80)?)?.max(1))
}

/// Time kept in hand at the end of an invocation, besides one provider call.
const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

impl Settings {
    /// When the last provider call of an invocation may start (epoch ms): a call's timeout and
    /// a margin before its deadline.
    pub fn last_call_ms(&self, context: &lambda_runtime::Context) -> i64 {
        deadline_ms(context, self.lease)
            - i64::try_from((self.provider_timeout + DEADLINE_MARGIN).as_millis()).unwrap_or(i64::MAX / 2)
    }
}

/// When this invocation must be done (epoch ms). A runtime that gives no usable deadline (the
/// local Runtime API emulator sends a relative one) gets the lease's length, which is at most
/// the function's timeout.
fn deadline_ms(context: &lambda_runtime::Context, fallback: Duration) -> i64 {
    crate::clock::deadline_ms(context).unwrap_or_else(|| {
        crate::clock::epoch_ms(crate::clock::now())
            + i64::try_from(fallback.as_millis()).unwrap_or(i64::MAX / 2)
    })
}

pub struct Submission {
    pub services: Services,
    /// The Factus account of each organization.
    pub providers: ProviderDirectory,
    pub settings: Settings,
}

impl State for Submission {
    fn build(sdk: &SdkConfig, config: &Config) -> anyhow::Result<Self> {
        let seconds = |name, default| config.number(name, default).map(Duration::from_secs);
        let settings = Settings {
            max_receive_count: u32::try_from(config.number(vars::MAX_RECEIVE_COUNT, 5)?)?,
            lease: seconds(vars::LEASE_SECONDS, 30)?,
            provider_timeout: seconds(vars::PROVIDER_TIMEOUT_SECONDS, 10)?,
            retry_base: seconds(vars::RETRY_BASE_DELAY_SECONDS, 10)?,
            retry_max: seconds(vars::RETRY_MAX_DELAY_SECONDS, 300)?,
            concurrency: usize::try_from(config.number(vars::WORKER_CONCURRENCY, 8)?)?.max(1),
            account_retry: seconds(vars::ACCOUNT_RETRY_SECONDS, 300)?,
        };
        anyhow::ensure!(
            settings.provider_timeout < settings.lease,
            "the provider timeout must be shorter than the lease"
        );
        let services = Services::build(sdk, config)?;
        let providers =
            ProviderDirectory::from_config(sdk, config, services.store.clone(), settings.provider_timeout)?;
        Ok(Self {
            services,
            providers,
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_deadline_is_kept_and_an_unusable_one_becomes_the_fallback() {
        let now = crate::clock::epoch_ms(crate::clock::now());
        let mut context = lambda_runtime::Context::default();
        context.deadline = u64::try_from(now + 20_000).unwrap_or_default();
        assert_eq!(deadline_ms(&context, Duration::from_secs(5)), now + 20_000);
        // The local Runtime API emulator sends a relative deadline, long past as an epoch time.
        context.deadline = 600_000;
        let fallback = deadline_ms(&context, Duration::from_secs(5));
        assert!((now + 4_900..=now + 6_000).contains(&fallback), "{fallback}");
    }
}
