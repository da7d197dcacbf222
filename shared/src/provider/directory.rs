//! Which Factus account serves an organization: its own (its secret, see [`super::accounts`]),
//! or, for a single-company deployment, the deployment's account, which serves only the one
//! organization the operator names (`PROVIDER_ACCOUNT_ORGANIZATION_ID`), and only while its NIT
//! is the account's company's (`PROVIDER_ACCOUNT_NIT`): a stranger who signs up with that NIT
//! gets nothing of it. What was read is kept for
//! `PROVIDER_ACCOUNT_CACHE_SECONDS`, so a new `PUT /v1/organization/provider` takes effect within
//! that; an account whose credentials did not change keeps its client (its token, what its pacer
//! learned). Several organizations may share an account: its budget is kept by the account.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::Mutex;

use super::accounts::AccountSecrets;
use super::credentials::{BaseUrls, Credentials};
use super::{CallError, Provider};
use crate::store::Store;

/// How an organization's account was found.
#[derive(Clone)]
struct Found {
    read_at: Instant,
    /// The same, as epoch milliseconds (to compare with a time written in the table).
    read_at_ms: i64,
    /// The credentials' text (to tell a change) and their client; `None`: no account serves it.
    account: Option<(String, Arc<Provider>)>,
}

/// The one organization the deployment's own account serves.
#[derive(Clone, Debug)]
pub struct AccountHolder {
    pub org_id: String,
    /// The NIT of the account's company, which must be the organization's.
    pub nit: String,
}

impl AccountHolder {
    pub fn holds(&self, organization: &crate::store::OrganizationRecord) -> bool {
        organization.id == self.org_id && organization.nit == self.nit
    }
}

/// The deployment's own account, for a single-company deployment.
pub struct DeploymentAccount {
    pub secret_id: String,
    pub holder: AccountHolder,
}

pub struct ProviderDirectory {
    secrets: AccountSecrets,
    deployment: Option<DeploymentAccount>,
    sdk_secrets: aws_sdk_secretsmanager::Client,
    urls: BaseUrls,
    store: Store,
    timeout: Duration,
    limit_per_minute: u32,
    ttl: Duration,
    found: Mutex<HashMap<String, Found>>,
}

/// The settings of a [`ProviderDirectory`].
pub struct DirectorySettings {
    pub urls: BaseUrls,
    pub timeout: Duration,
    pub limit_per_minute: u32,
    pub ttl: Duration,
}

impl ProviderDirectory {
    /// The directory the template configures: organizations' secrets under
    /// `PROVIDER_ACCOUNTS_PREFIX`, the deployment's account when both `PROVIDER_SECRET_ID` and
    /// its holder are set, the two environments' URLs, the rate limit and how long
    /// an account is kept (`PROVIDER_ACCOUNT_CACHE_SECONDS`, five minutes by default).
    pub fn from_config(
        sdk: &crate::aws::SdkConfig,
        config: &crate::config::Config,
        store: Store,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let deployment = match (config.provider_secret_id(), config.provider_account_holder()) {
            (Ok(secret_id), Some(holder)) => Some(DeploymentAccount {
                secret_id: secret_id.to_owned(),
                holder,
            }),
            _ => None,
        };
        let ttl = config.number(crate::config::vars::PROVIDER_ACCOUNT_CACHE_SECONDS, 300)?;
        Ok(Self::new(
            crate::aws::secrets_manager(sdk),
            config.provider_accounts_prefix()?,
            deployment,
            store,
            DirectorySettings {
                urls: config.provider_urls()?,
                timeout,
                limit_per_minute: crate::submission::rate_limit(config)?,
                ttl: Duration::from_secs(ttl),
            },
        ))
    }

    /// How long what was read is kept.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The longest one provider call may take.
    pub fn call_timeout(&self) -> Duration {
        self.timeout
    }

    /// Forgets what was read of `org_id`'s account: it was just connected or disconnected here.
    pub async fn forget(&self, org_id: &str) {
        self.found.lock().await.remove(org_id);
    }

    pub fn new(
        sdk_secrets: aws_sdk_secretsmanager::Client,
        prefix: &str,
        deployment: Option<DeploymentAccount>,
        store: Store,
        settings: DirectorySettings,
    ) -> Self {
        Self {
            secrets: AccountSecrets::new(sdk_secrets.clone(), prefix),
            deployment,
            sdk_secrets,
            urls: settings.urls,
            store,
            timeout: settings.timeout,
            limit_per_minute: settings.limit_per_minute,
            ttl: settings.ttl,
            found: Mutex::new(HashMap::new()),
        }
    }

    /// The account that serves `org_id`; `None` when none does. A secret or the table that
    /// cannot be read is transient; a secret that cannot be understood is the account's problem.
    pub async fn of(&self, org_id: &str) -> Result<Option<Arc<Provider>>, CallError> {
        self.of_since(org_id, None).await
    }

    /// [`Self::of`], read again if what was read is older than `since_ms` (when the
    /// organization's account was last connected, as its profile says): another container's
    /// `PUT` takes effect here at once.
    pub async fn of_since(
        &self,
        org_id: &str,
        since_ms: Option<i64>,
    ) -> Result<Option<Arc<Provider>>, CallError> {
        // The lock is held only to read and to write down: never across a read of a secret.
        let known = self.found.lock().await.get(org_id).cloned();
        if let Some(known) = &known
            && known.read_at.elapsed() < self.ttl
            && since_ms.is_none_or(|since| known.read_at_ms >= since)
        {
            return Ok(known.account.as_ref().map(|(_, provider)| provider.clone()));
        }
        let credentials = self.credentials_of(org_id).await?;
        let account = match credentials {
            None => None,
            Some((credentials, issuer)) => {
                let text = format!("{}\n{issuer:?}", credentials.secret_text());
                match known.and_then(|known| known.account) {
                    Some((before, provider)) if before == text => Some((text, provider)),
                    _ => {
                        let provider = Provider::new(
                            self.urls.of(credentials.environment),
                            self.timeout,
                            credentials,
                            self.store.clone(),
                            self.limit_per_minute,
                        )
                        .map_err(|e| CallError::Transient(format!("{e:#}")))?
                        .with_issuer(issuer);
                        Some((text, Arc::new(provider)))
                    }
                }
            }
        };
        let provider = account.as_ref().map(|(_, provider)| provider.clone());
        self.found.lock().await.insert(
            org_id.to_owned(),
            Found {
                read_at: Instant::now(),
                read_at_ms: crate::clock::epoch_ms(crate::clock::now()),
                account,
            },
        );
        Ok(provider)
    }

    /// The credentials of the account that serves `org_id`: its own (verified when connected),
    /// else the deployment's for its holder, with the NIT its company must be found to have.
    async fn credentials_of(&self, org_id: &str) -> Result<Option<(Credentials, Option<String>)>, CallError> {
        let transient = |error: anyhow::Error| CallError::Transient(format!("{error:#}"));
        if let Some(own) = self.secrets.read(org_id).await.map_err(transient)? {
            return Ok(Some((own, None)));
        }
        let Some(deployment) = &self.deployment else {
            return Ok(None);
        };
        let organization = self.store.get_organization(org_id).await.map_err(transient)?;
        if !organization.is_some_and(|organization| deployment.holder.holds(&organization)) {
            return Ok(None);
        }
        let secret = self
            .sdk_secrets
            .get_secret_value()
            .secret_id(&deployment.secret_id)
            .send()
            .await
            .map_err(aws_sdk_secretsmanager::Error::from)
            .context("reading the deployment's provider credentials")
            .map_err(transient)?;
        serde_json::from_str(secret.secret_string().unwrap_or_default())
            .map(|credentials| Some((credentials, Some(deployment.holder.nit.clone()))))
            .map_err(|_| {
                CallError::AccountProblem(
                    "the deployment's provider secret is not {environment, client_id, client_secret, username, password}"
                        .to_owned(),
                )
            })
    }
}
