//! Configuration read once from the environment the template gives each function.
//!
//! Every setting is optional here because each function receives only what it uses (least
//! privilege reaches the environment too); a function asks for what it needs and gets a clear
//! error naming the missing variable at start-up instead of a surprise at the first request.

use std::collections::HashMap;
use std::time::Duration;

/// The environment variables the template sets, by name.
pub mod vars {
    pub const TABLE_NAME: &str = "TABLE_NAME";
    pub const SUBMISSIONS_QUEUE_URL: &str = "SUBMISSIONS_QUEUE_URL";
    pub const JWT_SECRET_ID: &str = "JWT_SECRET_ID";
    pub const KEY_RING_CACHE_SECONDS: &str = "KEY_RING_CACHE_SECONDS";
    pub const RECOVER_AFTER_SECONDS: &str = "RECOVER_AFTER_SECONDS";
    pub const PROVIDER_SECRET_ID: &str = "PROVIDER_SECRET_ID";
    pub const PROVIDER_TIMEOUT_SECONDS: &str = "PROVIDER_TIMEOUT_SECONDS";
    pub const MAX_RECEIVE_COUNT: &str = "MAX_RECEIVE_COUNT";
    pub const RETRY_BASE_DELAY_SECONDS: &str = "RETRY_BASE_DELAY_SECONDS";
    pub const RETRY_MAX_DELAY_SECONDS: &str = "RETRY_MAX_DELAY_SECONDS";
    pub const LEASE_SECONDS: &str = "LEASE_SECONDS";
    pub const WORKER_CONCURRENCY: &str = "WORKER_CONCURRENCY";
    pub const PROVIDER_RATE_LIMIT_PER_MINUTE: &str = "PROVIDER_RATE_LIMIT_PER_MINUTE";
    pub const ACCOUNT_RETRY_SECONDS: &str = "ACCOUNT_RETRY_SECONDS";
    pub const PROVIDER_ACCOUNTS_PREFIX: &str = "PROVIDER_ACCOUNTS_PREFIX";
    pub const PROVIDER_SANDBOX_URL: &str = "PROVIDER_SANDBOX_URL";
    pub const PROVIDER_PRODUCTION_URL: &str = "PROVIDER_PRODUCTION_URL";
    pub const PROVIDER_ACCOUNT_NIT: &str = "PROVIDER_ACCOUNT_NIT";
    pub const PROVIDER_ACCOUNT_ORGANIZATION_ID: &str = "PROVIDER_ACCOUNT_ORGANIZATION_ID";
    pub const PROVIDER_ACCOUNT_CACHE_SECONDS: &str = "PROVIDER_ACCOUNT_CACHE_SECONDS";
    pub const DOCUMENTS_BUCKET: &str = "DOCUMENTS_BUCKET";
    pub const WEBHOOK_TARGETS: &str = "WEBHOOK_TARGETS";
    pub const WEBHOOKS_QUEUE_URL: &str = "WEBHOOKS_QUEUE_URL";
    pub const WEBHOOK_RETRY_BASE_SECONDS: &str = "WEBHOOK_RETRY_BASE_SECONDS";
    pub const WEBHOOK_RETRY_MAX_SECONDS: &str = "WEBHOOK_RETRY_MAX_SECONDS";
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the environment variable {0} is not set")]
pub struct MissingSetting(pub &'static str);

/// How long a container keeps the JWT key ring before reading it again, unless configured.
const DEFAULT_KEY_RING_CACHE: Duration = Duration::from_secs(300);
/// How long an invoice may wait for submission before the reconciler queues it again.
const DEFAULT_RECOVER_AFTER: Duration = Duration::from_secs(300);

/// The settings of one function.
#[derive(Clone, Debug, Default)]
pub struct Config {
    values: HashMap<&'static str, String>,
}

const ALL: [&str; 25] = [
    vars::TABLE_NAME,
    vars::SUBMISSIONS_QUEUE_URL,
    vars::JWT_SECRET_ID,
    vars::KEY_RING_CACHE_SECONDS,
    vars::RECOVER_AFTER_SECONDS,
    vars::PROVIDER_SECRET_ID,
    vars::PROVIDER_TIMEOUT_SECONDS,
    vars::MAX_RECEIVE_COUNT,
    vars::RETRY_BASE_DELAY_SECONDS,
    vars::RETRY_MAX_DELAY_SECONDS,
    vars::LEASE_SECONDS,
    vars::WORKER_CONCURRENCY,
    vars::PROVIDER_RATE_LIMIT_PER_MINUTE,
    vars::ACCOUNT_RETRY_SECONDS,
    vars::PROVIDER_ACCOUNTS_PREFIX,
    vars::PROVIDER_SANDBOX_URL,
    vars::PROVIDER_PRODUCTION_URL,
    vars::PROVIDER_ACCOUNT_NIT,
    vars::PROVIDER_ACCOUNT_ORGANIZATION_ID,
    vars::PROVIDER_ACCOUNT_CACHE_SECONDS,
    vars::DOCUMENTS_BUCKET,
    vars::WEBHOOK_TARGETS,
    vars::WEBHOOKS_QUEUE_URL,
    vars::WEBHOOK_RETRY_BASE_SECONDS,
    vars::WEBHOOK_RETRY_MAX_SECONDS,
];

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can build the configuration a template gives.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let values = ALL
            .iter()
            .filter_map(|name| {
                let value = lookup(name)?;
                (!value.trim().is_empty()).then_some((*name, value))
            })
            .collect();
        Self { values }
    }

    fn get(&self, name: &'static str) -> Result<&str, MissingSetting> {
        self.values
            .get(name)
            .map(String::as_str)
            .ok_or(MissingSetting(name))
    }

    pub fn table_name(&self) -> Result<&str, MissingSetting> {
        self.get(vars::TABLE_NAME)
    }

    pub fn submissions_queue_url(&self) -> Result<&str, MissingSetting> {
        self.get(vars::SUBMISSIONS_QUEUE_URL)
    }

    /// The webhooks queue: where the functions that write events announce them.
    pub fn webhooks_queue_url(&self) -> Result<&str, MissingSetting> {
        self.get(vars::WEBHOOKS_QUEUE_URL)
    }

    pub fn jwt_secret_id(&self) -> Result<&str, MissingSetting> {
        self.get(vars::JWT_SECRET_ID)
    }

    /// A whole number setting, or `default` when it is not set; an error when it is not a number.
    pub fn number(&self, name: &'static str, default: u64) -> anyhow::Result<u64> {
        match self.get(name) {
            Err(_) => Ok(default),
            Ok(text) => text
                .parse()
                .map_err(|_| anyhow::anyhow!("the environment variable {name} is not a whole number")),
        }
    }

    /// How long the JWT key ring is cached: `KEY_RING_CACHE_SECONDS`, else five minutes.
    pub fn key_ring_cache(&self) -> Duration {
        self.get(vars::KEY_RING_CACHE_SECONDS)
            .ok()
            .and_then(|seconds| seconds.parse().ok())
            .map_or(DEFAULT_KEY_RING_CACHE, Duration::from_secs)
    }

    /// How long an invoice may wait before the recovery path queues it again:
    /// `RECOVER_AFTER_SECONDS`, else five minutes.
    pub fn recover_after(&self) -> Duration {
        self.get(vars::RECOVER_AFTER_SECONDS)
            .ok()
            .and_then(|seconds| seconds.parse().ok())
            .map_or(DEFAULT_RECOVER_AFTER, Duration::from_secs)
    }

    pub fn provider_secret_id(&self) -> Result<&str, MissingSetting> {
        self.get(vars::PROVIDER_SECRET_ID)
    }

    /// Where organizations' own Factus accounts are: each environment's base URL.
    pub fn provider_urls(&self) -> Result<crate::provider::credentials::BaseUrls, MissingSetting> {
        Ok(crate::provider::credentials::BaseUrls::new(
            self.get(vars::PROVIDER_SANDBOX_URL)?,
            self.get(vars::PROVIDER_PRODUCTION_URL)?,
        ))
    }

    /// The one organization the deployment's own provider account serves, if it has one: its
    /// id and its NIT (the account's company's), both set (`PROVIDER_ACCOUNT_ORGANIZATION_ID`,
    /// `PROVIDER_ACCOUNT_NIT`).
    pub fn provider_account_holder(&self) -> Option<crate::provider::directory::AccountHolder> {
        Some(crate::provider::directory::AccountHolder {
            org_id: self.get(vars::PROVIDER_ACCOUNT_ORGANIZATION_ID).ok()?.to_owned(),
            nit: self.get(vars::PROVIDER_ACCOUNT_NIT).ok()?.to_owned(),
        })
    }

    /// The prefix of the names of organizations' provider account secrets.
    pub fn provider_accounts_prefix(&self) -> Result<&str, MissingSetting> {
        self.get(vars::PROVIDER_ACCOUNTS_PREFIX)
    }

    /// The bucket that keeps accepted documents' files.
    pub fn documents_bucket(&self) -> Result<&str, MissingSetting> {
        self.get(vars::DOCUMENTS_BUCKET)
    }

    /// Where webhook endpoints may point: `local` (the local stack) also allows plain `http`
    /// and loopback hosts; anything else, public `https` hosts only.
    pub fn webhook_targets(&self) -> crate::webhooks::Targets {
        crate::webhooks::Targets {
            local: self.get(vars::WEBHOOK_TARGETS) == Ok("local"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_blank_setting_is_named_in_the_error() {
        let config = Config::from_lookup(|name| match name {
            vars::TABLE_NAME => Some("invoicer".to_owned()),
            vars::SUBMISSIONS_QUEUE_URL => Some("  ".to_owned()),
            _ => None,
        });
        assert_eq!(config.table_name(), Ok("invoicer"));
        assert_eq!(
            config.submissions_queue_url(),
            Err(MissingSetting("SUBMISSIONS_QUEUE_URL"))
        );
        assert_eq!(
            config.jwt_secret_id().map_err(|e| e.to_string()),
            Err("the environment variable JWT_SECRET_ID is not set".to_owned())
        );
        assert_eq!(config.key_ring_cache(), Duration::from_secs(300));
        let short =
            Config::from_lookup(|name| (name == vars::KEY_RING_CACHE_SECONDS).then(|| "2".to_owned()));
        assert_eq!(short.key_ring_cache(), Duration::from_secs(2));
    }
}
