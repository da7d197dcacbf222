//! What most API functions hold, built once per container: the table and the token service
//! (whose key ring is read lazily, on the first request that needs it).

use std::sync::Arc;
use std::time::Duration;

use crate::auth::{KeyRing, Tokens};
use crate::aws::SdkConfig;
use crate::bootstrap::State;
use crate::config::Config;
use crate::invoices::Invoice;
use crate::queue::{InvoiceMessage, Queue};
use crate::store::Store;

pub struct Services {
    pub store: Store,
    pub tokens: Tokens,
    /// The submissions queue, for the functions the template gives its URL.
    queue: Option<Queue>,
    /// How long an invoice may wait before the recovery path queues it again.
    pub recover_after: Duration,
    /// The provider account's pace for submissions: one every this many milliseconds.
    pub provider_interval_ms: i64,
    /// The NIT of the company of the deployment's own provider account, if it has one: the one
    /// organization that account serves.
    pub provider_account_nit: Option<String>,
}

impl Services {
    pub fn keyring(&self) -> &KeyRing {
        self.tokens.keyring()
    }

    /// Queues a stored invoice for submission. A failed send is logged, not returned: the
    /// invoice is stored `queued`, and the reconciler queues it once it waited too long.
    pub async fn queue_for_submission(&self, invoice: &Invoice) -> anyhow::Result<()> {
        let message = InvoiceMessage::new(&invoice.organization_id, &invoice.id);
        if let Err(error) = self.queue()?.send_invoice(&message).await {
            tracing::error!(
                cause = format!("{error:#}"),
                "the invoice is stored but not queued: the reconciler will queue it"
            );
        }
        Ok(())
    }

    /// Refuses with 409 `PROVIDER_NOT_CONFIGURED` an organization that no Factus account serves
    /// (neither its own, nor the deployment's for its NIT): nothing of it is to be stored.
    pub async fn require_provider(&self, org_id: &str) -> Result<(), crate::http::ApiError> {
        let organization = self
            .store
            .get_organization(org_id)
            .await?
            .ok_or(crate::http::ApiError::NotFound)?;
        let served = organization.provider.is_some()
            || self.provider_account_nit.as_deref() == Some(organization.nit.as_str());
        if served {
            Ok(())
        } else {
            Err(crate::http::ApiError::ProviderNotConfigured)
        }
    }

    /// The submissions queue; an error when this function was not given one.
    pub fn queue(&self) -> anyhow::Result<&Queue> {
        self.queue
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("this function has no SUBMISSIONS_QUEUE_URL"))
    }
}

impl State for Services {
    fn build(sdk: &SdkConfig, config: &Config) -> anyhow::Result<Self> {
        let keyring = KeyRing::new(
            crate::aws::secrets_manager(sdk),
            config.jwt_secret_id()?,
            config.key_ring_cache(),
        );
        Ok(Self {
            store: Store::new(sdk, config.table_name()?),
            tokens: Tokens::new(Arc::new(keyring)),
            queue: config
                .submissions_queue_url()
                .ok()
                .map(|url| Queue::new(sdk, url)),
            recover_after: config.recover_after(),
            provider_account_nit: config.provider_account_nit().map(str::to_owned),
            provider_interval_ms: crate::provider::pacer::lane_interval_ms(
                crate::submission::rate_limit(config)?,
                crate::provider::pacer::Lane::Submissions,
            ),
        })
    }
}
