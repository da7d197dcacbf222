//! What most API functions hold, built once per container: the table and the token service
//! (whose key ring is read lazily, on the first request that needs it).

use std::sync::Arc;
use std::time::Duration;

use crate::auth::{KeyRing, Tokens};
use crate::aws::SdkConfig;
use crate::bootstrap::State;
use crate::config::Config;
use crate::domain::invoice::InvoiceInput;
use crate::http::ApiError;
use crate::invoices::Invoice;
use crate::json::Json;
use crate::provider::directory::AccountHolder;
use crate::queue::{Queue, SubmissionMessage};
use crate::store::{OrganizationRecord, Store};
use crate::validation::{FieldError, Problems};

pub struct Services {
    pub store: Store,
    pub tokens: Tokens,
    /// The submissions queue, for the functions the template gives its URL.
    queue: Option<Queue>,
    /// The webhooks queue, likewise.
    webhooks_queue: Option<Queue>,
    /// How long an invoice may wait before the recovery path queues it again.
    pub recover_after: Duration,
    /// The provider account's pace for submissions: one every this many milliseconds.
    pub provider_interval_ms: i64,
    /// The one organization the deployment's own provider account serves, if it has one.
    pub provider_account_holder: Option<AccountHolder>,
}

impl Services {
    pub fn keyring(&self) -> &KeyRing {
        self.tokens.keyring()
    }

    /// Queues a stored invoice (or credit note) for submission. A failed send is logged, not
    /// returned: it is stored `queued`, and the reconciler queues it once it waited too long.
    pub async fn queue_for_submission(&self, invoice: &Invoice) -> anyhow::Result<()> {
        let message = SubmissionMessage::single(invoice.kind(), &invoice.organization_id, &invoice.id);
        if let Err(error) = self.queue()?.send(&message, 0).await {
            tracing::error!(
                cause = format!("{error:#}"),
                "the invoice is stored but not queued: the reconciler will queue it"
            );
        }
        Ok(())
    }

    /// The organization, if a Factus account serves it (its own, or the deployment's for its
    /// NIT); else 409 `PROVIDER_NOT_CONFIGURED`: nothing of it is to be stored.
    pub async fn organization_served(&self, org_id: &str) -> Result<OrganizationRecord, ApiError> {
        let organization = self
            .store
            .get_organization(org_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        let served = organization.provider.is_some()
            || self
                .provider_account_holder
                .as_ref()
                .is_some_and(|holder| holder.holds(&organization));
        if served {
            Ok(organization)
        } else {
            Err(ApiError::ProviderNotConfigured)
        }
    }

    /// An invoice of the organization `org_id` as `POST /v1/invoices` takes it: read from `body`
    /// with every problem named, for an organization an account serves, its numbering range
    /// settled (the one it names, if it is one of the account's, else the organization's default).
    pub async fn invoice_input(&self, org_id: &str, body: &Json) -> Result<InvoiceInput, ApiError> {
        let mut problems = Problems::new();
        let input = InvoiceInput::parse(body, "", &mut problems);
        let mut input = problems
            .finish(input)?
            .ok_or_else(|| anyhow::anyhow!("an invoice failed to parse without a reason"))?;
        let organization = self.organization_served(org_id).await?;
        let ranges = match input.numbering_range_id {
            Some(_) => self.store.get_ranges(org_id).await?,
            None => None,
        };
        input.numbering_range_id = crate::numbering::settle(
            input.numbering_range_id,
            &organization.default_numbering_ranges,
            ranges.as_ref(),
        )
        .map_err(|message| ApiError::Validation(vec![FieldError::new("numbering_range_id", message)]))?;
        Ok(input)
    }

    /// The numbering range of a credit note of the organization `org_id` that names `named` (one
    /// of the account's ranges of credit notes), else the organization's default one, if any.
    pub async fn credit_note_range(&self, org_id: &str, named: Option<u64>) -> Result<Option<u64>, ApiError> {
        let organization = self.organization_served(org_id).await?;
        let ranges = match named {
            Some(_) => self.store.get_ranges(org_id).await?,
            None => None,
        };
        crate::numbering::settle_for(
            crate::numbering::CREDIT_NOTE,
            named,
            &organization.default_numbering_ranges,
            ranges.as_ref(),
        )
        .map_err(|message| ApiError::Validation(vec![FieldError::new("numbering_range_id", message)]))
    }

    /// The webhooks queue; an error when this function was not given one.
    pub fn webhooks_queue(&self) -> anyhow::Result<Queue> {
        self.webhooks_queue
            .clone()
            .ok_or_else(|| anyhow::anyhow!("this function has no WEBHOOKS_QUEUE_URL"))
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
        let mut store = Store::new(sdk, config.table_name()?);
        if let Ok(url) = config.webhooks_queue_url() {
            store = store.announcing_to(Queue::new(sdk, url));
        }
        Ok(Self {
            store,
            tokens: Tokens::new(Arc::new(keyring)),
            queue: config
                .submissions_queue_url()
                .ok()
                .map(|url| Queue::new(sdk, url)),
            webhooks_queue: config.webhooks_queue_url().ok().map(|url| Queue::new(sdk, url)),
            recover_after: config.recover_after(),
            provider_account_holder: config.provider_account_holder(),
            provider_interval_ms: crate::provider::pacer::lane_interval_ms(
                crate::submission::rate_limit(config)?,
                crate::provider::pacer::Lane::Submissions,
            ),
        })
    }
}
